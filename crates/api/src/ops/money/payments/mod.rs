//! Payments, repayments, direct debits and payment schedules over `resiflex_money::payments`:
//! the mutations, the `AccountType` fields, authorisation and error codes.

pub mod account;
mod approve_repayment;
mod cancel_repayment_request;
mod create_account_payment_schedule;
mod refund_payment;
mod set_up_direct_debit_instruction;
mod submit_repayment_request;
mod switch_account_to_variable_payment_schedule;
pub mod types;

use async_graphql::{Context, Object};
use resiflex_domain::money::{Ledger, LedgerKind};
use resiflex_domain::payments::{BankDetails, RefundRefusal, RepaymentMethod};
use resiflex_money::ledger;
use resiflex_money::payments::{self as money, PaymentError, SandboxProvider};
use resiflex_store::accounts::Account;
use resiflex_store::payments as store;

use self::types::*;
use super::money_error;
use crate::auth::access::{Caller, account_for};
use crate::auth::authorise;
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::{OperationErrors, api, protected_mutation};

/// A payment use case's failure as a Kraken error: `refused` for a missing or forbidden object,
/// `wrong_state` for a state that does not allow the operation.
pub(crate) fn payment_error(
    err: PaymentError,
    refused: ErrorCode,
    wrong_state: ErrorCode,
) -> KrakenError {
    use ErrorCode as C;
    match err {
        PaymentError::Money(e) => money_error(e, refused, C::InvalidLedger),
        PaymentError::NotFound(what) => {
            KrakenError::with_message(refused, format!("The {what} was not found."))
        }
        PaymentError::InvalidAmount(m) => KrakenError::with_message(C::InvalidAmount, m),
        PaymentError::IdempotencyKeyReused => KrakenError::new(C::IdempotencyKeyUsed),
        PaymentError::Refund(r) => KrakenError::new(match r {
            RefundRefusal::InvalidAmount => C::InvalidAmount,
            RefundRefusal::NotRefundable => C::PaymentNotRefundable,
            RefundRefusal::LargerThanPayment => C::RefundLargerThanPayment,
            RefundRefusal::NotEligible => C::PaymentNotEligibleForRefund,
            RefundRefusal::PartialNotAllowed => C::PartialRefundNotAllowed,
        }),
        PaymentError::InvalidBankDetails(m) => KrakenError::with_message(C::DirectDebitInvalid, m),
        PaymentError::InvalidPaymentDay(m) => KrakenError::with_message(C::InvalidPaymentDay, m),
        PaymentError::InvalidSchedule(m) => KrakenError::with_message(C::ScheduleInvalid, m),
        PaymentError::NoActiveSchedule => KrakenError::new(C::NoActivePaymentSchedule),
        PaymentError::NothingToChange => KrakenError::new(C::ScheduleNothingToChange),
        PaymentError::AlreadyApproved => KrakenError::new(C::RepaymentAlreadyApproved),
        PaymentError::WrongState(m) => KrakenError::with_message(wrong_state, m),
        PaymentError::CannotBePaid(m) => KrakenError::with_message(C::RepaymentCannotBePaid, m),
        PaymentError::Conflict => KrakenError::new(C::PaymentTemporaryError),
        PaymentError::Store(e) => KrakenError::internal("payments", &e),
    }
}

/// The account's ledger by number, or its main ledger; `invalid` when it has no such ledger.
pub(crate) async fn ledger_for(
    ctx: &Context<'_>,
    account: &Account,
    number: Option<&str>,
    invalid: ErrorCode,
) -> ApiResult<Ledger> {
    let api = api(ctx)?;
    let now = api.clock.now();
    let found = match number {
        Some(n) => ledger::ledger_by_number(&api.db, account, n, now).await,
        None => ledger::ledger_of(&api.db, account, LedgerKind::Main, now).await,
    };
    found.map_err(|e| money_error(e, invalid, invalid))
}

/// The account's date now.
pub(crate) async fn today(ctx: &Context<'_>, account: &Account) -> ApiResult<chrono::NaiveDate> {
    let api = api(ctx)?;
    money::today_of(&api.db, account.id, api.clock.now())
        .await
        .map_err(|e| payment_error(e, ErrorCode::Internal, ErrorCode::Internal))
}

fn organisation_only(caller: &Caller, refusal: ErrorCode) -> ApiResult<()> {
    match caller {
        Caller::Organisation(_) => Ok(()),
        Caller::AccountUser(_) => Err(KrakenError::new(refusal)),
    }
}

/// The payment mutations.
#[derive(Default)]
pub struct PaymentsMutation;

#[Object]
impl PaymentsMutation {
    /// Refunds a cleared payment (organisations only).
    async fn refund_payment(
        &self,
        ctx: &Context<'_>,
        input: RefundPaymentInput,
    ) -> ApiResult<RefundPayment> {
        refund_payment::run(ctx, input).await
    }

    /// Asks for credit back, within `maximumRefund`.
    async fn submit_repayment_request(
        &self,
        ctx: &Context<'_>,
        input: RequestRepaymentInputType,
    ) -> ApiResult<SubmitRepaymentRequest> {
        submit_repayment_request::run(ctx, input).await
    }

    /// Cancels a repayment request that has not been acted on.
    async fn cancel_repayment_request(
        &self,
        ctx: &Context<'_>,
        input: CancelRepaymentRequestInputType,
    ) -> ApiResult<CancelRepaymentRequest> {
        cancel_repayment_request::run(ctx, input).await
    }

    /// Approves a requested repayment (organisations only).
    async fn approve_repayment(
        &self,
        ctx: &Context<'_>,
        input: ApproveRepaymentInput,
    ) -> ApiResult<ApproveRepayment> {
        approve_repayment::run(ctx, input).await
    }

    /// Sets up a direct debit with the payment provider; only masked details are kept.
    async fn set_up_direct_debit_instruction(
        &self,
        ctx: &Context<'_>,
        input: SetUpDirectDebitInstructionInput,
    ) -> ApiResult<SetUpDirectDebitInstruction> {
        set_up_direct_debit_instruction::run(ctx, input).await
    }

    /// Replaces the ledger's current schedule with one of a new day or amount.
    async fn create_account_payment_schedule(
        &self,
        ctx: &Context<'_>,
        input: CreateAccountPaymentScheduleInput,
    ) -> ApiResult<CreateAccountPaymentSchedule> {
        create_account_payment_schedule::run(ctx, input).await
    }

    /// Switches the ledger to a variable schedule from `targetChangeDate` (today by default).
    async fn switch_account_to_variable_payment_schedule(
        &self,
        ctx: &Context<'_>,
        input: SwitchAccountToVariablePaymentScheduleInput,
    ) -> ApiResult<SwitchAccountToVariablePaymentSchedule> {
        switch_account_to_variable_payment_schedule::run(ctx, input).await
    }
}

/// The error codes of the payment operations.
pub const ERRORS: &[OperationErrors] = &[
    protected_mutation(
        "refundPayment",
        &[
            ErrorCode::PaymentUnauthorized,
            ErrorCode::IdempotencyKeyUsed,
            ErrorCode::PaymentNotRefundable,
            ErrorCode::RefundLargerThanPayment,
            ErrorCode::PaymentNotEligibleForRefund,
            ErrorCode::PartialRefundNotAllowed,
            ErrorCode::InvalidAmount,
        ],
    ),
    protected_mutation(
        "submitRepaymentRequest",
        &[
            ErrorCode::InvalidLedger,
            ErrorCode::RepaymentUnauthorized,
            ErrorCode::InvalidAmount,
            ErrorCode::IdempotencyKeyUsed,
        ],
    ),
    protected_mutation(
        "cancelRepaymentRequest",
        &[
            ErrorCode::RepaymentRequestNotFound,
            ErrorCode::RepaymentRequestNotCancellable,
        ],
    ),
    protected_mutation(
        "approveRepayment",
        &[
            ErrorCode::RepaymentApprovalUnauthorized,
            ErrorCode::RepaymentNotFound,
            ErrorCode::RepaymentAlreadyApproved,
            ErrorCode::RepaymentCannotBePaid,
            ErrorCode::RepaymentNotApprovable,
        ],
    ),
    protected_mutation(
        "setUpDirectDebitInstruction",
        &[
            ErrorCode::DirectDebitInvalid,
            ErrorCode::InvalidLedgerIdentifier,
            ErrorCode::DirectDebitSetUpFailed,
        ],
    ),
    protected_mutation(
        "createAccountPaymentSchedule",
        &[
            ErrorCode::NoActivePaymentSchedule,
            ErrorCode::ScheduleUnauthorized,
            ErrorCode::ScheduleInvalid,
            ErrorCode::InvalidPaymentDay,
            ErrorCode::ScheduleNothingToChange,
        ],
    ),
    protected_mutation(
        "switchAccountToVariablePaymentSchedule",
        &[
            ErrorCode::SwitchScheduleAccountNotFound,
            ErrorCode::SwitchScheduleNoLedger,
            ErrorCode::ScheduleUnexpected,
        ],
    ),
];
