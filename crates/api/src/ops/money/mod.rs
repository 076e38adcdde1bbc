//! The account's money: ledgers and transactions, bills and their documents, payments, repayments,
//! direct debits and payment schedules. Each submodule maps GraphQL onto `resiflex_money`; the rules
//! live there.

pub mod bills;
pub mod ledgers;
pub mod payments;

use resiflex_money::MoneyError;

use crate::errors::{ErrorCode, KrakenError};

/// The error a money use case's failure is reported as. `not_found` is the code for a missing or
/// forbidden object (the two get the same answer), `invalid` the one for a broken rule.
pub fn money_error(err: MoneyError, not_found: ErrorCode, invalid: ErrorCode) -> KrakenError {
    match err {
        MoneyError::Invalid(message) => KrakenError::with_message(invalid, message),
        MoneyError::NotFound(what) => {
            KrakenError::with_message(not_found, format!("The {what} was not found."))
        }
        MoneyError::IdempotencyKeyReused => KrakenError::new(ErrorCode::IdempotencyKeyUsed),
        MoneyError::NotReversible => KrakenError::with_message(
            invalid,
            "That transaction is on another ledger or has been reversed already.",
        ),
        MoneyError::State(message) => KrakenError::with_message(invalid, message),
        MoneyError::Store(err) => KrakenError::internal("money", &err),
    }
}

/// An amount in minor units as the GraphQL `Int` it is served as. Kraken's money fields are 32-bit,
/// so an amount beyond ±21 million major units is refused rather than cut short.
pub fn minor_int(amount: i64) -> Result<i32, KrakenError> {
    i32::try_from(amount).map_err(|_| {
        KrakenError::with_message(
            ErrorCode::Internal,
            "An amount is too large for the GraphQL Int type.",
        )
    })
}
