//! A payment's moves, each with its ledger effect in the same database transaction.

use chrono::{DateTime, NaiveDate, Utc};
use resiflex_domain::money::{Amounts, NewTransaction, TransactionKind, TransactionReason};
use resiflex_domain::payments::{PaymentMethod, PaymentReason, PaymentStatus};
use resiflex_store::Db;
use resiflex_store::ledgers::{self, Posted};
use resiflex_store::payments::{self as store, NewPayment, Payment, PaymentChange};

use super::{PaymentError, new_reference};
use crate::MoneyError;

/// The ledger entry of a payment that clears.
fn payment_transaction(payment: &Payment, on: NaiveDate) -> NewTransaction {
    let title = if payment.method.is_direct_debit() {
        "Direct debit payment"
    } else {
        "Payment"
    };
    NewTransaction {
        kind: TransactionKind::Payment,
        reason: TransactionReason::Payment,
        posted_date: on,
        amounts: Amounts::untaxed(payment.amount),
        title: title.into(),
        note: Some(payment.reference.clone()),
        reverses: None,
        idempotency_key: format!("payment:{}", payment.uuid),
        consumption_milli: None,
        imported: false,
    }
}

/// The one transaction a posting came to.
pub(crate) fn posted(result: Vec<Posted>) -> Result<i64, PaymentError> {
    match result.into_iter().next() {
        Some(Posted::New(t) | Posted::Replayed(t)) => Ok(t.id),
        Some(Posted::KeyReused) => Err(MoneyError::IdempotencyKeyReused.into()),
        Some(Posted::NotReversible) => Err(MoneyError::NotReversible.into()),
        None => Err(MoneyError::NotFound("transaction").into()),
    }
}

/// Moves a payment to `to` on `on`. Clearing posts its Payment transaction; failing after it
/// cleared (a late failure) posts the reversal. Both land with the status, or neither does.
pub async fn move_payment(
    db: &Db,
    payment: &Payment,
    to: PaymentStatus,
    on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Payment, PaymentError> {
    payment.status.transition(to)?;
    let mut change = PaymentChange::default();
    let mut tx = db.begin().await?;
    if to == PaymentStatus::Pending {
        change.submitted_on = Some(on);
    }
    if to == PaymentStatus::Cleared {
        let new = payment_transaction(payment, on);
        new.check()?;
        let id = posted(ledgers::post_in(&mut tx, &[(payment.ledger_id, new)], now).await?)?;
        change.transaction_id = Some(id);
    }
    if to == PaymentStatus::Failed && payment.status.is_on_ledger() {
        let original = match payment.transaction_id {
            Some(id) => ledgers::transaction(db, id).await?,
            None => None,
        }
        .ok_or(PaymentError::NotFound("payment transaction"))?;
        let reversal = NewTransaction::reversal_of(
            &original,
            on,
            format!("payment:{}:late-failure", payment.uuid),
        );
        let id = posted(ledgers::post_in(&mut tx, &[(payment.ledger_id, reversal)], now).await?)?;
        change.reversal_id = Some(id);
        change.late_failed = true;
    }
    let moved = store::move_payment(&mut tx, payment.id, payment.status, to, change, on, now).await;
    match moved {
        Ok(moved) => {
            tx.commit().await?;
            Ok(moved)
        }
        Err(err) => {
            tx.rollback().await?;
            Err(err.into())
        }
    }
}

/// Cancels a scheduled (or requested) payment: it becomes DELETED.
pub async fn cancel_scheduled(
    db: &Db,
    payment: &Payment,
    on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Payment, PaymentError> {
    move_payment(db, payment, PaymentStatus::Deleted, on, now).await
}

/// Records a payment taken elsewhere or promised: `HISTORIC`, `THIRD_PARTY` or `PROMISED` (a
/// promise clears, and posts, only when the money arrives).
#[allow(clippy::too_many_arguments)]
pub async fn record_payment(
    db: &Db,
    account_id: i64,
    ledger_id: i64,
    amount: i64,
    method: PaymentMethod,
    status: PaymentStatus,
    payment_date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Payment, PaymentError> {
    if !matches!(
        status,
        PaymentStatus::Historic | PaymentStatus::ThirdParty | PaymentStatus::Promised
    ) {
        return Err(PaymentError::WrongState(format!(
            "a payment cannot be recorded as {status}"
        )));
    }
    if amount <= 0 {
        return Err(PaymentError::InvalidAmount(
            "a payment is more than zero".into(),
        ));
    }
    let new = NewPayment {
        uuid: uuid::Uuid::new_v4().to_string(),
        account_id,
        ledger_id,
        instruction_id: None,
        schedule_id: None,
        due_date: None,
        attempt: 0,
        amount,
        payment_date,
        reference: new_reference("PAY-"),
        method,
        reason: PaymentReason::BillIssued,
        status,
    };
    store::insert_payment(db, &new, payment_date, now)
        .await?
        .ok_or(PaymentError::Conflict)
}
