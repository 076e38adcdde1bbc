//! Payments in and repayments out: direct debit instructions, payment schedules, the payments
//! they collect, refunds, repayment requests and the collection run.
//!
//! Every status moves as `resiflex_domain::payments` allows, compare-and-set in the store, and
//! every ledger effect is posted in the same database transaction as the status it goes with:
//! a Payment transaction when a payment clears, its reversal when it fails late, a Refund when a
//! repayment is paid, and its reversal when the payout bounces.

mod collect;
mod instructions;
mod lifecycle;
pub mod provider;
mod repayments;
mod schedules;

pub use collect::{CollectionReport, collect};
pub use instructions::{DirectDebitSetUp, set_up_direct_debit};
pub use lifecycle::{cancel_scheduled, move_payment, record_payment};
pub use provider::{PaymentProvider, SandboxOutcome, SandboxProvider};
pub use repayments::{
    RepaymentRequestInput, approve_repayment, cancel_repayment_request, maximum_refund,
    refund_payment, submit_repayment_request,
};
pub use schedules::{ScheduleChange, change_schedule, switch_to_variable};

use chrono::{DateTime, NaiveDate, Utc};
use resiflex_domain::money::MoneyRuleError;
use resiflex_domain::payments::{PaymentRuleError, RefundRefusal};
use resiflex_store::payments as store;
use resiflex_store::{Db, StoreError};

use crate::MoneyError;

/// Why a payment operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// A ledger operation failed.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// No such payment, repayment, request, instruction or ledger (for this account).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The amount is not one that may be asked for; the message says why.
    #[error("{0}")]
    InvalidAmount(String),
    /// The idempotency key was used before for a different request.
    #[error("the idempotency key was already used for a different request")]
    IdempotencyKeyReused,
    /// A refund of a payment is refused.
    #[error("the refund is refused: {0:?}")]
    Refund(RefundRefusal),
    /// The bank details are not valid.
    #[error("{0}")]
    InvalidBankDetails(String),
    /// The schedule's payment day is not valid.
    #[error("{0}")]
    InvalidPaymentDay(String),
    /// The schedule change is not valid.
    #[error("{0}")]
    InvalidSchedule(String),
    /// The ledger has no schedule in force.
    #[error("the ledger has no active payment schedule")]
    NoActiveSchedule,
    /// Neither a new day nor a new amount.
    #[error("nothing to change")]
    NothingToChange,
    /// The repayment was approved already.
    #[error("the repayment was approved already")]
    AlreadyApproved,
    /// The repayment (or request) is not in a state that allows this; the message says why.
    #[error("{0}")]
    WrongState(String),
    /// The repayment is more than the ledger can pay back now.
    #[error("the repayment cannot be paid: {0}")]
    CannotBePaid(String),
    /// Two writers raced; the other one won.
    #[error("the payment changed meanwhile; try again")]
    Conflict,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for PaymentError {
    fn from(err: StoreError) -> PaymentError {
        match err {
            StoreError::Conflict => PaymentError::Conflict,
            other => PaymentError::Store(other),
        }
    }
}

impl From<PaymentRuleError> for PaymentError {
    fn from(err: PaymentRuleError) -> PaymentError {
        PaymentError::WrongState(err.0)
    }
}

impl From<MoneyRuleError> for PaymentError {
    fn from(err: MoneyRuleError) -> PaymentError {
        PaymentError::Money(MoneyError::Invalid(err.0))
    }
}

/// Today on the account's clock: the date at `now` in its first property's time zone (London
/// when it has none).
pub async fn today_of(
    db: &Db,
    account_id: i64,
    now: DateTime<Utc>,
) -> Result<NaiveDate, PaymentError> {
    let zone = store::time_zone_of_account(db, account_id).await?;
    let tz: chrono_tz::Tz = zone
        .as_deref()
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::Europe::London);
    Ok(now.with_timezone(&tz).date_naive())
}

/// A new public id: `prefix` and twelve upper-case hex digits.
pub(crate) fn new_reference(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .to_ascii_uppercase();
    format!("{prefix}{}", &id[..12])
}

#[cfg(test)]
mod tests;
