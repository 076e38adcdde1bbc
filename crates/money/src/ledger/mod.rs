//! An account's ledgers: opening them, posting to them, reading and checking them.

use chrono::{DateTime, Days, NaiveDate, Utc};
use resiflex_domain::money::{
    Ledger, LedgerKind, NewTransaction, Transaction, currency_of_country,
};
use resiflex_store::Db;
use resiflex_store::accounts::Account;
use resiflex_store::ledgers::{self, Posted, Verification};

use crate::MoneyError;

/// Days a charge may go unpaid before it counts as overdue.
pub const PAYMENT_TERMS_DAYS: u64 = 14;

/// The account's ledgers, main first, opened on first use.
pub async fn ledgers_of(
    db: &Db,
    account: &Account,
    now: DateTime<Utc>,
) -> Result<Vec<Ledger>, MoneyError> {
    let ledgers = ledgers::ledgers_of_account(db, account.id).await?;
    if ledgers.len() == LedgerKind::ALL.len() {
        return Ok(ledgers);
    }
    Ok(ledgers::ensure_ledgers(
        db,
        account.id,
        &account.number,
        currency_of_country(&account.billing_country),
        now,
    )
    .await?)
}

/// The account's ledger of a kind.
pub async fn ledger_of(
    db: &Db,
    account: &Account,
    kind: LedgerKind,
    now: DateTime<Utc>,
) -> Result<Ledger, MoneyError> {
    ledgers_of(db, account, now)
        .await?
        .into_iter()
        .find(|l| l.kind == kind)
        .ok_or(MoneyError::NotFound("ledger"))
}

/// The account's ledger with this number.
pub async fn ledger_by_number(
    db: &Db,
    account: &Account,
    number: &str,
    now: DateTime<Utc>,
) -> Result<Ledger, MoneyError> {
    let number = number.trim();
    ledgers_of(db, account, now)
        .await?
        .into_iter()
        .find(|l| l.number.eq_ignore_ascii_case(number))
        .ok_or(MoneyError::NotFound("ledger"))
}

/// Posts one transaction; a retry with the same key returns the first result.
pub async fn post(
    db: &Db,
    ledger: &Ledger,
    new: NewTransaction,
    now: DateTime<Utc>,
) -> Result<Transaction, MoneyError> {
    new.check()?;
    let mut posted = ledgers::post(db, &[(ledger.id, new)], now).await?;
    outcome(posted.pop())
}

/// What one posting came to, as a result.
pub fn outcome(posted: Option<Posted>) -> Result<Transaction, MoneyError> {
    match posted {
        Some(Posted::New(t) | Posted::Replayed(t)) => Ok(t),
        Some(Posted::KeyReused) => Err(MoneyError::IdempotencyKeyReused),
        Some(Posted::NotReversible) => Err(MoneyError::NotReversible),
        None => Err(MoneyError::NotFound("transaction")),
    }
}

/// Posts many transactions in one database transaction (each checked first; nothing is posted if
/// one is invalid). Results come in order.
pub async fn post_all(
    db: &Db,
    postings: Vec<(i64, NewTransaction)>,
    now: DateTime<Utc>,
) -> Result<Vec<Posted>, MoneyError> {
    for (_, new) in &postings {
        new.check()?;
    }
    Ok(ledgers::post(db, &postings, now).await?)
}

/// Reverses a transaction of the ledger: a new transaction of the opposite kind, posted on `on`.
pub async fn reverse(
    db: &Db,
    ledger: &Ledger,
    transaction_id: i64,
    on: NaiveDate,
    idempotency_key: String,
    now: DateTime<Utc>,
) -> Result<Transaction, MoneyError> {
    let original = ledgers::transaction(db, transaction_id)
        .await?
        .filter(|t| t.ledger_id == ledger.id)
        .ok_or(MoneyError::NotFound("transaction"))?;
    post(
        db,
        ledger,
        NewTransaction::reversal_of(&original, on, idempotency_key),
        now,
    )
    .await
}

/// The account's balance: the main ledger's, or with `all_ledgers` the sum of every ledger's.
/// Positive means the customer is in credit.
pub fn balance(ledgers: &[Ledger], all_ledgers: bool) -> i64 {
    ledgers
        .iter()
        .filter(|l| all_ledgers || l.kind == LedgerKind::Main)
        .map(|l| l.balance)
        .sum()
}

/// The part of what the customer owes on these ledgers that has been owed for longer than the
/// payment terms: the debt standing at `today − PAYMENT_TERMS_DAYS`, less everything paid or
/// credited since, never below zero nor above today's debt. Zero when in credit.
pub async fn overdue_balance(
    db: &Db,
    ledgers: &[Ledger],
    today: NaiveDate,
) -> Result<i64, MoneyError> {
    let debt_now: i64 = -ledgers.iter().map(|l| l.balance).sum::<i64>();
    if debt_now <= 0 {
        return Ok(0);
    }
    let Some(cutoff) = today.checked_sub_days(Days::new(PAYMENT_TERMS_DAYS)) else {
        return Ok(0);
    };
    let ids: Vec<i64> = ledgers.iter().map(|l| l.id).collect();
    let then: i64 = ledgers::balances_on(db, &ids, cutoff).await?.values().sum();
    let debt_then = -then;
    if debt_then <= 0 {
        return Ok(0);
    }
    // Money in since the cut-off goes to the oldest debt first.
    let money_in = ledgers::money_in_after(db, &ids, cutoff).await?;
    Ok((debt_then - money_in).clamp(0, debt_now))
}

/// Checks every ledger: stored balance = sum of transactions, sequences without gaps, and every
/// running balance right. `batch` ledgers are read at a time.
pub async fn verify(db: &Db, batch: i64) -> Result<Verification, MoneyError> {
    Ok(ledgers::verify(db, batch).await?)
}

#[cfg(test)]
mod tests;
