//! The money use cases of ResiFlex. Every amount is an integer number of minor units; nothing here
//! ever holds money as a float.
//!
//! - [`billing`]: billing options, the billing run (charges from readings, standing charges, the
//!   SmartFlex reward, re-billed estimates) and statements.
//! - [`documents`]: a statement as HTML and PDF, and the signed links to them.
//! - [`ledger`]: an account's ledgers, posting with idempotency keys, reversals, balances and the
//!   invariant check behind `resiflex ledger verify`.

pub mod billing;
pub mod documents;
pub mod ledger;
pub mod payments;

use resiflex_domain::money::MoneyRuleError;
use resiflex_store::StoreError;

/// Why a money operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum MoneyError {
    /// The request breaks a rule; the message says which.
    #[error("{0}")]
    Invalid(String),
    /// No such account, ledger, transaction or document (for this caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The idempotency key was used before for a different request.
    #[error("the idempotency key was already used for a different request")]
    IdempotencyKeyReused,
    /// The transaction cannot be reversed (it is on another ledger or already reversed).
    #[error("that transaction cannot be reversed")]
    NotReversible,
    /// The operation is not allowed in the current state; the message says why.
    #[error("{0}")]
    State(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<MoneyRuleError> for MoneyError {
    fn from(err: MoneyRuleError) -> MoneyError {
        MoneyError::Invalid(err.0)
    }
}
