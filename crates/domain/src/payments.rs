//! Payments in and repayments out, as pure rules: the state machines of payments, repayments,
//! repayment requests and payment instructions, the due dates of payment schedules, the retry rule
//! for failed collections, bank details (validated and masked), and the refund limits.
//!
//! Every amount is an integer number of minor units.

use chrono::{Datelike, Days, Months, NaiveDate};

/// A payment rule was broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PaymentRuleError(pub String);

named_enum!(PaymentRuleError;
    /// Where a payment is (`AccountPaymentStatusOptions`).
    PaymentStatus {
        /// Created, not yet booked with the provider.
        Requested = "REQUESTED",
        /// Booked for collection and the customer told; may still be deleted.
        Scheduled = "SCHEDULED",
        /// Submitted to the provider; can no longer change.
        Pending = "PENDING",
        /// Approved by the provider and posted to the ledger.
        Cleared = "CLEARED",
        /// Collected for good.
        Fulfilled = "FULFILLED",
        /// Failed for good (after clearing: a late failure, reversed on the ledger).
        Failed = "FAILED",
        /// A scheduled payment that was cancelled.
        Deleted = "DELETED",
        /// The customer promised to pay.
        Promised = "PROMISED",
        /// The promise was not kept.
        PromiseBroken = "PROMISE_BROKEN",
        /// Imported from a previous system.
        Historic = "HISTORIC",
        /// Taken in another system, recorded here.
        ThirdParty = "THIRD_PARTY",
    }
);

impl PaymentStatus {
    /// The states this one may move to. `HISTORIC`, `THIRD_PARTY`, `FAILED`, `DELETED` and
    /// `PROMISE_BROKEN` are final; a payment is only ever created as `REQUESTED`, `PROMISED`,
    /// `HISTORIC` or `THIRD_PARTY`.
    pub fn next(self) -> &'static [PaymentStatus] {
        use PaymentStatus::*;
        match self {
            Requested => &[Scheduled, Failed, Deleted],
            Scheduled => &[Pending, Failed, Deleted],
            Pending => &[Cleared, Failed],
            // A failure after clearing is a late failure: the ledger entry is reversed.
            Cleared => &[Fulfilled, Failed],
            Fulfilled => &[Failed],
            Promised => &[Cleared, PromiseBroken],
            Failed | Deleted | PromiseBroken | Historic | ThirdParty => &[],
        }
    }

    /// Whether the payment may move from this state to `to`.
    pub fn may_become(self, to: PaymentStatus) -> bool {
        self.next().contains(&to)
    }

    /// `to`, if the move is allowed.
    pub fn transition(self, to: PaymentStatus) -> Result<PaymentStatus, PaymentRuleError> {
        if self.may_become(to) {
            Ok(to)
        } else {
            Err(PaymentRuleError(format!(
                "a {self} payment cannot become {to}"
            )))
        }
    }

    /// Whether the payment's money is on the ledger (a Payment transaction posted, not reversed).
    pub fn is_on_ledger(self) -> bool {
        matches!(self, PaymentStatus::Cleared | PaymentStatus::Fulfilled)
    }

    /// The states a payment may be created in.
    pub fn is_initial(self) -> bool {
        matches!(
            self,
            PaymentStatus::Requested
                | PaymentStatus::Promised
                | PaymentStatus::Historic
                | PaymentStatus::ThirdParty
        )
    }
}

named_enum!(PaymentRuleError;
    /// How a payment is taken (a subset of `AccountPaymentTransactionTypeChoices`, same names).
    PaymentMethod {
        DdFirstCollection = "DD_FIRST_COLLECTION",
        DdRegularCollection = "DD_REGULAR_COLLECTION",
        DdRePresentation = "DD_RE_PRESENTATION",
        DdFinalCollection = "DD_FINAL_COLLECTION",
        CreditCard = "CREDIT_CARD",
        DebitCard = "DEBIT_CARD",
        BacsDeposit = "BACS_DEPOSIT",
        Cheque = "CHEQUE",
        Cash = "CASH",
        Unknown = "UNKNOWN",
    }
);

impl PaymentMethod {
    /// A direct debit collection.
    pub fn is_direct_debit(self) -> bool {
        matches!(
            self,
            PaymentMethod::DdFirstCollection
                | PaymentMethod::DdRegularCollection
                | PaymentMethod::DdRePresentation
                | PaymentMethod::DdFinalCollection
        )
    }

    /// A card payment.
    pub fn is_card(self) -> bool {
        matches!(self, PaymentMethod::CreditCard | PaymentMethod::DebitCard)
    }
}

named_enum!(PaymentRuleError;
    /// Why a payment was taken (`PaymentReasonOptions`).
    PaymentReason {
        BalanceThresholdCrossed = "BALANCE_THRESHOLD_CROSSED",
        BillIssued = "BILL_ISSUED",
        PaymentPlan = "PAYMENT_PLAN",
        RegularSchedule = "REGULAR_SCHEDULE",
    }
);

named_enum!(PaymentRuleError;
    /// Where money going back to the customer is (`AccountRepaymentStatusOptions`).
    RepaymentStatus {
        Requested = "REQUESTED",
        Approved = "APPROVED",
        Submitted = "SUBMITTED",
        /// Handed to the provider for payout; a Refund is on the ledger.
        Paid = "PAID",
        /// Failed for good (after payout: the Refund is reversed).
        Failed = "FAILED",
        ThirdParty = "THIRD_PARTY",
        Historic = "HISTORIC",
    }
);

impl RepaymentStatus {
    /// The states this one may move to.
    pub fn next(self) -> &'static [RepaymentStatus] {
        use RepaymentStatus::*;
        match self {
            Requested => &[Approved],
            Approved => &[Submitted, Failed],
            Submitted => &[Paid, Failed],
            // A payout that bounces after it was paid: the Refund entry is reversed.
            Paid => &[Failed],
            Failed | ThirdParty | Historic => &[],
        }
    }

    /// `to`, if the move is allowed.
    pub fn transition(self, to: RepaymentStatus) -> Result<RepaymentStatus, PaymentRuleError> {
        if self.next().contains(&to) {
            Ok(to)
        } else {
            Err(PaymentRuleError(format!(
                "a {self} repayment cannot become {to}"
            )))
        }
    }

    /// Money promised back but not yet on the ledger: it is held back from what may be requested.
    pub fn is_outstanding(self) -> bool {
        matches!(
            self,
            RepaymentStatus::Requested | RepaymentStatus::Approved | RepaymentStatus::Submitted
        )
    }
}

named_enum!(PaymentRuleError;
    /// A customer's request for money back (`RepaymentRequestStatus`).
    RepaymentRequestStatus {
        Requested = "REQUESTED",
        Accepted = "ACCEPTED",
        Cancelled = "CANCELLED",
        Rejected = "REJECTED",
    }
);

impl RepaymentRequestStatus {
    /// `to`, if the move is allowed: only a `REQUESTED` request moves, once.
    pub fn transition(
        self,
        to: RepaymentRequestStatus,
    ) -> Result<RepaymentRequestStatus, PaymentRuleError> {
        if self == RepaymentRequestStatus::Requested && to != RepaymentRequestStatus::Requested {
            Ok(to)
        } else {
            Err(PaymentRuleError(format!(
                "a {self} repayment request cannot become {to}"
            )))
        }
    }
}

named_enum!(PaymentRuleError;
    /// How a customer may ask to be paid (`RequestableRepaymentMethod`).
    RepaymentMethod {
        BankTransfer = "BANK_TRANSFER",
        Cheque = "CHEQUE",
        Card = "CARD",
    }
);

named_enum!(PaymentRuleError;
    /// A payment instruction's state (`PaymentInstructionStatus`).
    InstructionStatus {
        Provisional = "PROVISIONAL",
        Active = "ACTIVE",
        Failed = "FAILED",
    }
);

impl InstructionStatus {
    /// `to`, if the move is allowed: a provisional instruction becomes active or fails.
    pub fn transition(self, to: InstructionStatus) -> Result<InstructionStatus, PaymentRuleError> {
        if self == InstructionStatus::Provisional && to != InstructionStatus::Provisional {
            Ok(to)
        } else {
            Err(PaymentRuleError(format!(
                "a {self} instruction cannot become {to}"
            )))
        }
    }
}

named_enum!(PaymentRuleError;
    /// How often a schedule collects (`PaymentFrequencyOptions`, mixed case as in the schema).
    PaymentFrequency {
        Weekly = "Weekly",
        Monthly = "Monthly",
        Planned = "Planned",
    }
);

named_enum!(PaymentRuleError;
    /// How a schedule's payment day counts (`PaymentDayDirectionType`).
    PaymentDayDirection {
        /// Day N of the month.
        OfMonth = "OF_MONTH",
        /// The N-th day counting back from the month's last (1 = the last day).
        BeforeEndOfMonth = "BEFORE_END_OF_MONTH",
    }
);

named_enum!(PaymentRuleError;
    /// Why a schedule exists (`PaymentScheduleReasonOptions`).
    ScheduleReason {
        GeneralAccountPayment = "GENERAL_ACCOUNT_PAYMENT",
        SsdPayment = "SSD_PAYMENT",
        FinalPayment = "FINAL_PAYMENT",
        DebtRepaymentPlan = "DEBT_REPAYMENT_PLAN",
    }
);

named_enum!(PaymentRuleError;
    /// How a schedule collects (`ScheduleType`).
    ScheduleKind {
        BacsTransfer = "BACS_TRANSFER",
        CardPayment = "CARD_PAYMENT",
        DirectDebit = "DIRECT_DEBIT",
        PaymentSlip = "PAYMENT_SLIP",
    }
);

named_enum!(PaymentRuleError;
    /// What causes a schedule's payment (`ScheduleTrigger`).
    ScheduleTrigger {
        Plan = "PLAN",
        Regular = "REGULAR",
        RegularPlan = "REGULAR_PLAN",
        Balance = "BALANCE",
        Bill = "BILL",
    }
);

/// The payment days a schedule may have: 1 to 28 (so every month has one).
pub const MAX_PAYMENT_DAY: u32 = 28;

/// The rule of a schedule's payment days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentDay {
    pub frequency: PaymentFrequency,
    /// Monthly: 1..=28 with `direction`; weekly: 1 (Monday) ..= 7 (Sunday).
    pub day: u32,
    pub direction: PaymentDayDirection,
    /// Every `multiplier` months or weeks (1 to 11).
    pub multiplier: u32,
}

impl PaymentDay {
    /// Checks the day and multiplier.
    pub fn check(self) -> Result<PaymentDay, PaymentRuleError> {
        let max = match self.frequency {
            PaymentFrequency::Weekly => 7,
            PaymentFrequency::Monthly => MAX_PAYMENT_DAY,
            PaymentFrequency::Planned => {
                return Err(PaymentRuleError(
                    "a planned schedule has no payment day".into(),
                ));
            }
        };
        if self.day == 0 || self.day > max {
            return Err(PaymentRuleError(format!(
                "the payment day must be 1 to {max}, not {}",
                self.day
            )));
        }
        if self.multiplier == 0 || self.multiplier > 11 {
            return Err(PaymentRuleError(
                "the frequency multiplier must be 1 to 11".into(),
            ));
        }
        Ok(self)
    }

    /// The payment date of the month of `any_day` (monthly schedules).
    pub fn date_in_month(self, any_day: NaiveDate) -> Option<NaiveDate> {
        let first = any_day.with_day(1)?;
        let last = first.checked_add_months(Months::new(1))?.pred_opt()?;
        let day = self.day.clamp(1, last.day());
        match self.direction {
            PaymentDayDirection::OfMonth => first.with_day(day),
            PaymentDayDirection::BeforeEndOfMonth => last.with_day(last.day() + 1 - day),
        }
    }

    /// Whether `date` is a payment date of a schedule in force from `valid_from`.
    pub fn is_due(self, valid_from: NaiveDate, date: NaiveDate) -> bool {
        if date < valid_from {
            return false;
        }
        match self.frequency {
            PaymentFrequency::Monthly => {
                let months = (date.year() - valid_from.year()) * 12 + date.month0() as i32
                    - valid_from.month0() as i32;
                months % self.multiplier.max(1) as i32 == 0
                    && self.date_in_month(date) == Some(date)
            }
            PaymentFrequency::Weekly => {
                let weeks = (date - valid_from).num_days() / 7;
                date.weekday().number_from_monday() == self.day
                    && weeks % i64::from(self.multiplier.max(1)) == 0
            }
            PaymentFrequency::Planned => false,
        }
    }

    /// A description of the day, as `paymentDayDetails.description` shows it.
    pub fn describe(self) -> String {
        match (self.frequency, self.direction) {
            (PaymentFrequency::Weekly, _) => format!("Day {} of the week", self.day),
            (_, PaymentDayDirection::OfMonth) => format!("Day {} of the month", self.day),
            (_, PaymentDayDirection::BeforeEndOfMonth) if self.day == 1 => {
                "The last day of the month".into()
            }
            (_, PaymentDayDirection::BeforeEndOfMonth) => {
                format!("{} days before the end of the month", self.day - 1)
            }
        }
    }
}

/// Days before its payment date that a scheduled collection is booked (and the customer told).
pub const NOTICE_DAYS: u64 = 3;

/// A failed direct debit collection is presented again [`RETRY_AFTER_DAYS`] days after it failed,
/// as a `DD_RE_PRESENTATION`, at most [`MAX_RETRIES`] times. A late failure (after clearing) is not
/// retried: the bank has returned the money, and the next regular collection takes it.
pub const RETRY_AFTER_DAYS: u64 = 3;
/// See [`RETRY_AFTER_DAYS`].
pub const MAX_RETRIES: i64 = 2;

/// When a collection that failed on `failed_on` is presented again, if it is: `attempt` is the
/// failed payment's attempt (0 for the first collection).
pub fn retry_date(
    method: PaymentMethod,
    attempt: i64,
    late: bool,
    failed_on: NaiveDate,
) -> Option<NaiveDate> {
    if !method.is_direct_debit() || late || attempt >= MAX_RETRIES {
        return None;
    }
    failed_on.checked_add_days(Days::new(RETRY_AFTER_DAYS))
}

/// Bank details as given, checked. Kept in memory only: what is stored is [`BankDetails::masked`].
#[derive(Clone, PartialEq, Eq)]
pub enum BankAccount {
    /// A GB sort code (6 digits) and account number (8 digits).
    SortCode {
        sort_code: String,
        account_number: String,
    },
    /// An IBAN (checked with ISO 13616 mod 97).
    Iban(String),
}

impl std::fmt::Debug for BankAccount {
    /// Never the full account number.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked_identifier())
    }
}

/// Bank details of an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankDetails {
    pub account_holder: String,
    pub account: BankAccount,
}

/// What is kept of bank details: never the full account number or IBAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedBankDetails {
    pub account_holder: String,
    pub sort_code: Option<String>,
    /// `****` and the last four characters.
    pub masked_account_identifier: String,
    pub masked_iban: Option<String>,
}

fn digits(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect::<String>()
}

impl BankDetails {
    /// Checks what a customer typed: a holder of 1 to 100 characters, and either a sort code and
    /// account number or an IBAN.
    pub fn parse(
        account_holder: &str,
        sort_code: Option<&str>,
        account_number: Option<&str>,
        iban: Option<&str>,
    ) -> Result<BankDetails, PaymentRuleError> {
        let holder = account_holder.trim();
        if holder.is_empty() || holder.chars().count() > 100 || holder.chars().any(char::is_control)
        {
            return Err(PaymentRuleError(
                "the account holder must be 1 to 100 printable characters".into(),
            ));
        }
        let account = match (sort_code, account_number, iban) {
            (Some(sort), Some(number), None) => {
                let sort = digits(sort);
                let number = digits(number);
                if sort.len() != 6 || !sort.chars().all(|c| c.is_ascii_digit()) {
                    return Err(PaymentRuleError("a sort code has 6 digits".into()));
                }
                if number.len() != 8 || !number.chars().all(|c| c.is_ascii_digit()) {
                    return Err(PaymentRuleError("an account number has 8 digits".into()));
                }
                BankAccount::SortCode {
                    sort_code: sort,
                    account_number: number,
                }
            }
            (None, None, Some(iban)) => BankAccount::Iban(check_iban(iban)?),
            (None, Some(_), Some(_)) | (Some(_), _, Some(_)) => {
                return Err(PaymentRuleError(
                    "give either a sort code and account number or an IBAN, not both".into(),
                ));
            }
            _ => {
                return Err(PaymentRuleError(
                    "give a sort code and account number, or an IBAN".into(),
                ));
            }
        };
        Ok(BankDetails {
            account_holder: holder.to_owned(),
            account,
        })
    }

    /// What may be stored and shown.
    pub fn masked(&self) -> MaskedBankDetails {
        MaskedBankDetails {
            account_holder: self.account_holder.clone(),
            sort_code: match &self.account {
                BankAccount::SortCode { sort_code, .. } => Some(format!(
                    "{}-{}-{}",
                    &sort_code[0..2],
                    &sort_code[2..4],
                    &sort_code[4..6]
                )),
                BankAccount::Iban(_) => None,
            },
            masked_account_identifier: self.account.masked_identifier(),
            masked_iban: match &self.account {
                BankAccount::Iban(iban) => Some(format!(
                    "{}{}{}",
                    &iban[..4],
                    "*".repeat(iban.len().saturating_sub(8)),
                    last_four(iban)
                )),
                BankAccount::SortCode { .. } => None,
            },
        }
    }
}

fn last_four(text: &str) -> &str {
    &text[text.len().saturating_sub(4)..]
}

impl BankAccount {
    /// `****` and the last four digits of the account number or IBAN.
    pub fn masked_identifier(&self) -> String {
        match self {
            BankAccount::SortCode { account_number, .. } => {
                format!("****{}", last_four(account_number))
            }
            BankAccount::Iban(iban) => format!("****{}", last_four(iban)),
        }
    }

    /// The last four digits, which the sandbox provider reads its conventions from.
    pub fn last_four(&self) -> &str {
        match self {
            BankAccount::SortCode { account_number, .. } => last_four(account_number),
            BankAccount::Iban(iban) => last_four(iban),
        }
    }
}

/// An IBAN without spaces, upper case, if its check digits are right.
pub fn check_iban(text: &str) -> Result<String, PaymentRuleError> {
    let iban: String = digits(text).to_ascii_uppercase();
    let bad = || PaymentRuleError("the IBAN is not valid".into());
    if iban.len() < 15 || iban.len() > 34 || !iban.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad());
    }
    if !iban[..2].chars().all(|c| c.is_ascii_uppercase())
        || !iban[2..4].chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let rearranged = format!("{}{}", &iban[4..], &iban[..4]);
    let mut remainder: u32 = 0;
    for c in rearranged.chars() {
        let value = c.to_digit(36).ok_or_else(bad)?;
        let width = if value >= 10 { 100 } else { 10 };
        remainder = (remainder * width + value) % 97;
    }
    if remainder == 1 { Ok(iban) } else { Err(bad()) }
}

/// The most a customer may ask for in one request through the dashboard: £500.
pub const DASHBOARD_REFUND_CAP: i64 = 50_000;

/// Why the maximum refund is what it is (`MaximumRefundReasonChoices`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaximumRefundReason {
    /// The credit balance less the recommended balance.
    MaxAvailableAmount,
    /// Capped by what the dashboard lets a customer ask for.
    MaxAllowedToRequestViaDashboard,
}

/// The most a customer may ask to have back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaximumRefund {
    pub amount: i64,
    pub reason: MaximumRefundReason,
    /// What should stay on the ledger.
    pub recommended_balance: i64,
}

/// The maximum refund of a ledger whose balance is `balance` (positive: in credit), with
/// `outstanding` already promised back and `recommended_balance` to keep: never below zero,
/// never above [`DASHBOARD_REFUND_CAP`].
pub fn maximum_refund(balance: i64, outstanding: i64, recommended_balance: i64) -> MaximumRefund {
    let available = balance
        .saturating_sub(outstanding)
        .saturating_sub(recommended_balance)
        .max(0);
    if available > DASHBOARD_REFUND_CAP {
        MaximumRefund {
            amount: DASHBOARD_REFUND_CAP,
            reason: MaximumRefundReason::MaxAllowedToRequestViaDashboard,
            recommended_balance,
        }
    } else {
        MaximumRefund {
            amount: available,
            reason: MaximumRefundReason::MaxAvailableAmount,
            recommended_balance,
        }
    }
}

/// Payments older than this many days are past refunding (use a repayment instead).
pub const REFUND_WINDOW_DAYS: i64 = 395;

/// Why a payment refund is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundRefusal {
    /// The amount is zero or negative.
    InvalidAmount,
    /// The payment is not on the ledger (not cleared, or failed).
    NotRefundable,
    /// More than is left to refund.
    LargerThanPayment,
    /// Too old, or refunded in full already.
    NotEligible,
    /// Direct debit refunds are in full only.
    PartialNotAllowed,
}

/// Checks a refund of `amount` of a payment of `payment_amount` (`already` refunded), taken by
/// `method` on `paid_on`, now `status`, asked for on `today`.
pub fn check_refund(
    status: PaymentStatus,
    method: PaymentMethod,
    payment_amount: i64,
    already: i64,
    amount: i64,
    paid_on: NaiveDate,
    today: NaiveDate,
) -> Result<(), RefundRefusal> {
    if amount <= 0 {
        return Err(RefundRefusal::InvalidAmount);
    }
    if !status.is_on_ledger() {
        return Err(RefundRefusal::NotRefundable);
    }
    let left = payment_amount - already;
    if left <= 0 || (today - paid_on).num_days() > REFUND_WINDOW_DAYS {
        return Err(RefundRefusal::NotEligible);
    }
    if amount > left {
        return Err(RefundRefusal::LargerThanPayment);
    }
    if method.is_direct_debit() && amount != left {
        return Err(RefundRefusal::PartialNotAllowed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn every_payment_edge_is_allowed_and_nothing_else() {
        use PaymentStatus::*;
        let allowed = [
            (Requested, Scheduled),
            (Requested, Failed),
            (Requested, Deleted),
            (Scheduled, Pending),
            (Scheduled, Failed),
            (Scheduled, Deleted),
            (Pending, Cleared),
            (Pending, Failed),
            (Cleared, Fulfilled),
            (Cleared, Failed),
            (Fulfilled, Failed),
            (Promised, Cleared),
            (Promised, PromiseBroken),
        ];
        for from in PaymentStatus::ALL {
            for to in PaymentStatus::ALL {
                let expected = allowed.contains(&(*from, *to));
                assert_eq!(from.may_become(*to), expected, "{from} -> {to}");
                assert_eq!(from.transition(*to).is_ok(), expected, "{from} -> {to}");
            }
        }
        for last in [Failed, Deleted, PromiseBroken, Historic, ThirdParty] {
            assert!(last.next().is_empty(), "{last} is final");
        }
        assert!(Cleared.is_on_ledger() && Fulfilled.is_on_ledger() && !Pending.is_on_ledger());
        let initial: Vec<_> = PaymentStatus::ALL
            .iter()
            .filter(|s| s.is_initial())
            .collect();
        assert_eq!(initial, [&Requested, &Promised, &Historic, &ThirdParty]);
    }

    #[test]
    fn every_repayment_edge_is_allowed_and_nothing_else() {
        use RepaymentStatus::*;
        let allowed = [
            (Requested, Approved),
            (Approved, Submitted),
            (Approved, Failed),
            (Submitted, Paid),
            (Submitted, Failed),
            (Paid, Failed),
        ];
        for from in RepaymentStatus::ALL {
            for to in RepaymentStatus::ALL {
                assert_eq!(
                    from.transition(*to).is_ok(),
                    allowed.contains(&(*from, *to)),
                    "{from} -> {to}"
                );
            }
        }
        assert!(Requested.is_outstanding() && Submitted.is_outstanding());
        assert!(!Paid.is_outstanding() && !Failed.is_outstanding());
    }

    #[test]
    fn requests_and_instructions_move_once() {
        use RepaymentRequestStatus as R;
        for to in [R::Accepted, R::Cancelled, R::Rejected] {
            assert!(R::Requested.transition(to).is_ok());
            for from in [R::Accepted, R::Cancelled, R::Rejected] {
                assert!(from.transition(to).is_err(), "{from} -> {to}");
            }
        }
        assert!(R::Requested.transition(R::Requested).is_err());
        use InstructionStatus as I;
        assert!(I::Provisional.transition(I::Active).is_ok());
        assert!(I::Provisional.transition(I::Failed).is_ok());
        assert!(I::Provisional.transition(I::Provisional).is_err());
        assert!(I::Active.transition(I::Failed).is_err());
        assert!(I::Failed.transition(I::Active).is_err());
    }

    fn monthly(day: u32, direction: PaymentDayDirection) -> PaymentDay {
        PaymentDay {
            frequency: PaymentFrequency::Monthly,
            day,
            direction,
            multiplier: 1,
        }
    }

    #[test]
    fn payment_days_fall_on_the_right_dates_at_month_ends() {
        let of = PaymentDayDirection::OfMonth;
        let before = PaymentDayDirection::BeforeEndOfMonth;
        assert_eq!(
            monthly(28, of).date_in_month(date(2027, 2, 3)),
            Some(date(2027, 2, 28))
        );
        assert_eq!(
            monthly(28, of).date_in_month(date(2028, 2, 3)),
            Some(date(2028, 2, 28))
        );
        assert_eq!(
            monthly(1, before).date_in_month(date(2027, 2, 3)),
            Some(date(2027, 2, 28))
        );
        assert_eq!(
            monthly(1, before).date_in_month(date(2028, 2, 3)),
            Some(date(2028, 2, 29))
        );
        assert_eq!(
            monthly(1, before).date_in_month(date(2026, 12, 1)),
            Some(date(2026, 12, 31))
        );
        assert_eq!(
            monthly(3, before).date_in_month(date(2026, 4, 1)),
            Some(date(2026, 4, 28))
        );
        assert_eq!(
            monthly(28, before).date_in_month(date(2027, 2, 1)),
            Some(date(2027, 2, 1))
        );
        let from = date(2026, 11, 1);
        assert!(monthly(28, of).is_due(from, date(2026, 11, 28)));
        assert!(!monthly(28, of).is_due(from, date(2026, 11, 27)));
        assert!(
            !monthly(28, of).is_due(from, date(2026, 10, 28)),
            "before it starts"
        );
        assert!(monthly(1, before).is_due(from, date(2027, 2, 28)));
        let quarterly = PaymentDay {
            multiplier: 3,
            ..monthly(5, of)
        };
        assert!(quarterly.is_due(from, date(2026, 11, 5)));
        assert!(!quarterly.is_due(from, date(2026, 12, 5)));
        assert!(quarterly.is_due(from, date(2027, 2, 5)));
        let weekly = PaymentDay {
            frequency: PaymentFrequency::Weekly,
            day: 1,
            direction: of,
            multiplier: 1,
        };
        assert!(weekly.is_due(from, date(2026, 11, 2)), "a Monday");
        assert!(!weekly.is_due(from, date(2026, 11, 3)));
    }

    #[test]
    fn payment_days_are_checked() {
        let of = PaymentDayDirection::OfMonth;
        assert!(monthly(0, of).check().is_err());
        assert!(monthly(29, of).check().is_err());
        assert!(monthly(28, of).check().is_ok());
        assert!(
            PaymentDay {
                multiplier: 12,
                ..monthly(1, of)
            }
            .check()
            .is_err()
        );
        let weekly = PaymentDay {
            frequency: PaymentFrequency::Weekly,
            ..monthly(8, of)
        };
        assert!(weekly.check().is_err());
        assert_eq!(
            monthly(1, PaymentDayDirection::BeforeEndOfMonth).describe(),
            "The last day of the month"
        );
    }

    #[test]
    fn failed_collections_are_presented_again_twice_at_most() {
        let failed = date(2026, 11, 28);
        let dd = PaymentMethod::DdRegularCollection;
        assert_eq!(retry_date(dd, 0, false, failed), Some(date(2026, 12, 1)));
        assert_eq!(
            retry_date(PaymentMethod::DdRePresentation, 1, false, failed),
            Some(date(2026, 12, 1))
        );
        assert_eq!(
            retry_date(PaymentMethod::DdRePresentation, 2, false, failed),
            None
        );
        assert_eq!(
            retry_date(dd, 0, true, failed),
            None,
            "a late failure is not retried"
        );
        assert_eq!(retry_date(PaymentMethod::DebitCard, 0, false, failed), None);
    }

    #[test]
    fn bank_details_are_checked_and_never_shown_in_full() {
        let details = BankDetails::parse("Ada Lovelace", Some("20-00-00"), Some("55779911"), None)
            .unwrap_or_else(|e| panic!("{e}"));
        let masked = details.masked();
        assert_eq!(masked.sort_code.as_deref(), Some("20-00-00"));
        assert_eq!(masked.masked_account_identifier, "****9911");
        assert!(!format!("{details:?}").contains("55779911"));
        for (holder, sort, number) in [
            ("", "200000", "55779911"),
            ("Ada", "20000", "55779911"),
            ("Ada", "200000", "5577991"),
            ("Ada", "2000a0", "55779911"),
        ] {
            assert!(BankDetails::parse(holder, Some(sort), Some(number), None).is_err());
        }
        assert!(BankDetails::parse("Ada", None, None, None).is_err());
        let iban = BankDetails::parse("Ada", None, None, Some("GB82 WEST 1234 5698 7654 32"))
            .unwrap_or_else(|e| panic!("{e}"));
        let masked = iban.masked();
        assert_eq!(
            masked.masked_iban.as_deref(),
            Some("GB82**************5432")
        );
        assert_eq!(masked.masked_account_identifier, "****5432");
        assert!(check_iban("GB82WEST12345698765433").is_err());
        assert!(
            BankDetails::parse(
                "Ada",
                Some("200000"),
                Some("55779911"),
                Some("GB82WEST12345698765432")
            )
            .is_err()
        );
    }

    #[test]
    fn the_maximum_refund_keeps_the_recommended_balance_and_the_cap() {
        let m = maximum_refund(10_000, 1_000, 2_000);
        assert_eq!(
            (m.amount, m.reason),
            (7_000, MaximumRefundReason::MaxAvailableAmount)
        );
        assert_eq!(maximum_refund(-500, 0, 0).amount, 0);
        assert_eq!(maximum_refund(1_000, 0, 2_000).amount, 0);
        let m = maximum_refund(1_000_000, 0, 0);
        assert_eq!(
            (m.amount, m.reason),
            (
                DASHBOARD_REFUND_CAP,
                MaximumRefundReason::MaxAllowedToRequestViaDashboard
            )
        );
    }

    #[test]
    fn refunds_follow_their_rules() {
        use PaymentStatus::*;
        let dd = PaymentMethod::DdRegularCollection;
        let card = PaymentMethod::DebitCard;
        let on = date(2026, 11, 1);
        let today = date(2026, 11, 27);
        assert_eq!(
            check_refund(Cleared, dd, 5_000, 0, 5_000, on, today),
            Ok(())
        );
        assert_eq!(
            check_refund(Fulfilled, card, 5_000, 0, 2_000, on, today),
            Ok(())
        );
        assert_eq!(
            check_refund(Cleared, dd, 5_000, 0, 0, on, today),
            Err(RefundRefusal::InvalidAmount)
        );
        assert_eq!(
            check_refund(Pending, dd, 5_000, 0, 5_000, on, today),
            Err(RefundRefusal::NotRefundable)
        );
        assert_eq!(
            check_refund(Failed, dd, 5_000, 0, 5_000, on, today),
            Err(RefundRefusal::NotRefundable)
        );
        assert_eq!(
            check_refund(Cleared, card, 5_000, 0, 6_000, on, today),
            Err(RefundRefusal::LargerThanPayment)
        );
        assert_eq!(
            check_refund(Cleared, dd, 5_000, 0, 2_000, on, today),
            Err(RefundRefusal::PartialNotAllowed)
        );
        assert_eq!(
            check_refund(Cleared, dd, 5_000, 5_000, 1, on, today),
            Err(RefundRefusal::NotEligible)
        );
        assert_eq!(
            check_refund(Cleared, dd, 5_000, 0, 5_000, date(2025, 1, 1), today),
            Err(RefundRefusal::NotEligible)
        );
    }
}
