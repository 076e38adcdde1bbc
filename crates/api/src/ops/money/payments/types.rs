//! The GraphQL objects of payments, repayments, instructions and schedules.

use async_graphql::{ID, InputObject, Object, SimpleObject};
use resiflex_domain::payments::MaximumRefundReason;
use resiflex_store::payments::{Instruction, Payment, Repayment, RepaymentRequest, Schedule};

use crate::enums::{
    AccountPaymentStatusOptions, AccountPaymentTransactionTypeChoices,
    AccountRepaymentStatusOptions, DirectDebitInstructionStatus, MaximumRefundReasonChoices,
    PaymentDayDirectionType, PaymentFrequencyOptions, PaymentInstructionStatus,
    PaymentScheduleReasonOptions, RepaymentMethod, RepaymentRequestStatus, ScheduleTrigger,
    ScheduleType,
};
use crate::errors::{ApiResult, KrakenError};
use crate::ops::money::minor_int;
use crate::scalars::{Date, DateTime};

/// How a customer may ask to be repaid.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum RequestableRepaymentMethod {
    /// Paid into a bank account.
    #[graphql(name = "BANK_TRANSFER")]
    BankTransfer,
    /// Sent as a cheque.
    #[graphql(name = "CHEQUE")]
    Cheque,
}

/// One domain enum to its GraphQL twin of the same names.
pub(super) fn same<T: std::str::FromStr>(value: &str) -> ApiResult<T>
where
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|e| KrakenError::internal("stored payment value", &e))
}

/// A payment.
pub struct AccountPaymentType(pub Payment);

#[Object(name = "AccountPaymentType")]
impl AccountPaymentType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The stable id; a repayment's `paymentUuid` points at it.
    async fn uuid(&self) -> &str {
        &self.0.uuid
    }

    /// Minor units.
    async fn amount(&self) -> ApiResult<i32> {
        minor_int(self.0.amount)
    }

    /// The day it is (or was) due to be taken.
    async fn payment_date(&self) -> Date {
        Date(self.0.payment_date)
    }

    async fn reference(&self) -> &str {
        &self.0.reference
    }

    async fn transaction_type(&self) -> ApiResult<AccountPaymentTransactionTypeChoices> {
        same(self.0.method.as_str())
    }

    async fn status(&self) -> ApiResult<AccountPaymentStatusOptions> {
        same(self.0.status.as_str())
    }

    /// This platform charges no surcharges.
    async fn surcharge_amount(&self) -> i32 {
        0
    }

    /// Whether it failed after it had cleared (and was reversed on the ledger).
    async fn is_late_failed_payment(&self) -> bool {
        self.0.late_failed
    }
}

/// Money going back to the customer.
pub struct AccountRepaymentType(pub Repayment, pub Option<String>);

#[Object(name = "AccountRepaymentType")]
impl AccountRepaymentType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn amount(&self) -> ApiResult<i32> {
        minor_int(self.0.amount)
    }

    async fn payment_date(&self) -> Date {
        Date(self.0.payment_date)
    }

    async fn status(&self) -> ApiResult<AccountRepaymentStatusOptions> {
        same(self.0.status.as_str())
    }

    async fn reason(&self) -> &str {
        &self.0.reason
    }

    /// The uuid of the payment it refunds.
    async fn payment_uuid(&self) -> Option<&str> {
        self.1.as_deref()
    }
}

/// A customer's request for money back.
pub struct RepaymentRequestType(pub RepaymentRequest);

#[Object(name = "RepaymentRequestType")]
impl RepaymentRequestType {
    async fn request_id(&self) -> &str {
        &self.0.request_id
    }

    async fn amount(&self) -> ApiResult<i32> {
        minor_int(self.0.amount)
    }

    async fn reason_code(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }

    async fn method(&self) -> ApiResult<RepaymentMethod> {
        same(self.0.method.as_str())
    }

    async fn status(&self) -> ApiResult<RepaymentRequestStatus> {
        same(self.0.status.as_str())
    }
}

/// A direct debit instruction, masked.
pub struct DirectDebitInstructionType(pub Instruction);

#[Object(name = "DirectDebitInstructionType")]
impl DirectDebitInstructionType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn status(&self) -> ApiResult<DirectDebitInstructionStatus> {
        same(self.0.status.as_str())
    }

    async fn account_holder(&self) -> &str {
        &self.0.bank.account_holder
    }

    async fn instruction_type(&self) -> &str {
        &self.0.instruction_type
    }

    async fn sort_code(&self) -> Option<&str> {
        self.0.bank.sort_code.as_deref()
    }

    /// Masked: the full IBAN is never stored.
    async fn iban(&self) -> Option<&str> {
        self.0.bank.masked_iban.as_deref()
    }

    async fn masked_iban(&self) -> Option<&str> {
        self.0.bank.masked_iban.as_deref()
    }

    /// `****` and the last four digits.
    async fn masked_account_identifier(&self) -> &str {
        &self.0.bank.masked_account_identifier
    }
}

/// A payment instruction, as `paymentMethods` lists it.
pub struct PaymentInstructionType(pub Instruction);

#[Object(name = "PaymentInstructionType")]
impl PaymentInstructionType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn status(&self) -> ApiResult<PaymentInstructionStatus> {
        same(self.0.status.as_str())
    }

    async fn valid_from(&self) -> DateTime {
        DateTime(self.0.valid_from)
    }

    async fn account_holder(&self) -> &str {
        &self.0.bank.account_holder
    }

    async fn instruction_type(&self) -> &str {
        &self.0.instruction_type
    }

    async fn sort_code(&self) -> Option<&str> {
        self.0.bank.sort_code.as_deref()
    }

    async fn iban(&self) -> Option<&str> {
        self.0.bank.masked_iban.as_deref()
    }

    async fn vendor(&self) -> &str {
        &self.0.vendor
    }

    async fn masked_account_identifier(&self) -> &str {
        &self.0.bank.masked_account_identifier
    }
}

/// How a payment day counts.
#[derive(SimpleObject)]
pub struct PaymentDayDetailsType {
    pub direction: PaymentDayDirectionType,
    pub description: String,
}

/// A payment schedule.
pub struct PaymentScheduleType(pub Schedule, pub String);

#[Object(name = "PaymentScheduleType")]
impl PaymentScheduleType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn valid_from(&self) -> Date {
        Date(self.0.valid_from)
    }

    async fn valid_to(&self) -> Option<Date> {
        self.0.valid_to.map(Date)
    }

    async fn reason(&self) -> ApiResult<PaymentScheduleReasonOptions> {
        same(self.0.reason.as_str())
    }

    async fn payment_day(&self) -> i32 {
        i32::try_from(self.0.day.day).unwrap_or(0)
    }

    async fn payment_day_details(&self) -> ApiResult<PaymentDayDetailsType> {
        Ok(PaymentDayDetailsType {
            direction: same(self.0.day.direction.as_str())?,
            description: self.0.day.describe(),
        })
    }

    async fn payment_frequency(&self) -> ApiResult<PaymentFrequencyOptions> {
        same(self.0.day.frequency.as_str())
    }

    async fn payment_frequency_multiplier(&self) -> i32 {
        i32::try_from(self.0.day.multiplier).unwrap_or(1)
    }

    /// The fixed amount; none for a variable schedule.
    async fn payment_amount(&self) -> ApiResult<Option<i32>> {
        self.0.payment_amount.map(minor_int).transpose()
    }

    async fn is_variable_payment_amount(&self) -> bool {
        self.0.is_variable
    }

    async fn is_payment_holiday(&self) -> bool {
        false
    }

    async fn ledger_number(&self) -> &str {
        &self.1
    }

    async fn trigger(&self) -> ApiResult<ScheduleTrigger> {
        same(self.0.trigger.as_str())
    }

    /// How it collects.
    async fn schedule_type(&self) -> ApiResult<ScheduleType> {
        same(self.0.kind.as_str())
    }
}

/// The most the customer may ask to have back.
#[derive(SimpleObject)]
pub struct MaximumRefundType {
    pub amount: i32,
    pub reason_to_recommend_amount: MaximumRefundReasonChoices,
    pub recommended_balance: i32,
}

impl MaximumRefundType {
    pub fn from_domain(max: resiflex_domain::payments::MaximumRefund) -> ApiResult<Self> {
        Ok(MaximumRefundType {
            amount: minor_int(max.amount)?,
            reason_to_recommend_amount: match max.reason {
                MaximumRefundReason::MaxAvailableAmount => {
                    MaximumRefundReasonChoices::MaxAvailableAmount
                }
                MaximumRefundReason::MaxAllowedToRequestViaDashboard => {
                    MaximumRefundReasonChoices::MaxAllowedToRequestViaDashboard
                }
            },
            recommended_balance: minor_int(max.recommended_balance)?,
        })
    }
}

/// Whether the customer may ask for credit back, and why not.
#[derive(SimpleObject)]
pub struct RequestRefundEligibilityType {
    pub can_request_refund: bool,
    pub reason: Option<String>,
}

/// `refundPayment`'s input.
#[derive(InputObject)]
pub struct RefundPaymentInput {
    pub account_number: ID,
    pub amount_in_minor_unit: i32,
    pub idempotency_key: String,
    /// The payment's uuid (or id).
    pub payment_id: ID,
    pub reason: String,
}

#[derive(SimpleObject)]
pub struct RefundPayment {
    pub repayment: AccountRepaymentType,
}

/// `submitRepaymentRequest`'s input.
#[derive(InputObject)]
pub struct RequestRepaymentInputType {
    pub account_number: String,
    pub amount_in_minor_unit: i32,
    pub idempotency_key: String,
    /// An active payment instruction's id; it wins over `method`.
    pub instruction_reference: Option<String>,
    pub ledger_number: Option<String>,
    pub method: Option<RequestableRepaymentMethod>,
    pub reason: Option<String>,
}

#[derive(SimpleObject)]
pub struct SubmitRepaymentRequest {
    pub repayment_request: RepaymentRequestType,
}

/// `cancelRepaymentRequest`'s input.
#[derive(InputObject)]
pub struct CancelRepaymentRequestInputType {
    pub account_number: String,
    pub request_id: String,
}

#[derive(SimpleObject)]
pub struct CancelRepaymentRequest {
    pub repayment_request: RepaymentRequestType,
}

/// `approveRepayment`'s input.
#[derive(InputObject)]
pub struct ApproveRepaymentInput {
    pub account_number: String,
    pub repayment_id: ID,
}

#[derive(SimpleObject)]
pub struct ApproveRepayment {
    pub repayment: AccountRepaymentType,
}

/// Bank details: a GB sort code and account number, or an IBAN.
#[derive(InputObject)]
pub struct BankDetailsInput {
    pub account_holder: String,
    pub account_number: Option<String>,
    pub sort_code: Option<String>,
    pub iban: Option<String>,
}

/// `setUpDirectDebitInstruction`'s input.
#[derive(InputObject)]
pub struct SetUpDirectDebitInstructionInput {
    pub account_number: String,
    pub bank_details: BankDetailsInput,
    pub ledger_number: Option<String>,
    pub use_for_automated_payments: Option<bool>,
    pub valid_from: DateTime,
}

#[derive(SimpleObject)]
pub struct SetUpDirectDebitInstruction {
    pub payment_instruction: DirectDebitInstructionType,
}

/// `createAccountPaymentSchedule`'s input: at least one of the day or the amount.
#[derive(InputObject)]
pub struct CreateAccountPaymentScheduleInput {
    pub account_number: String,
    pub ledger_number: String,
    pub payment_day: Option<i32>,
    pub payment_day_direction: Option<PaymentDayDirectionType>,
    pub payment_amount: Option<i32>,
}

#[derive(SimpleObject)]
pub struct CreateAccountPaymentSchedule {
    pub schedule: PaymentScheduleType,
}

/// `switchAccountToVariablePaymentSchedule`'s input.
#[derive(InputObject)]
pub struct SwitchAccountToVariablePaymentScheduleInput {
    pub account_number: String,
    pub ledger_number: String,
    #[graphql(default = false)]
    pub cancel_conflicting_schedules: bool,
    pub note: Option<String>,
    pub target_change_date: Option<Date>,
}

#[derive(SimpleObject)]
pub struct SwitchAccountToVariablePaymentSchedule {
    pub schedule: PaymentScheduleType,
}
