//! Money back to the customer: refunds of payments, customers' repayment requests, the
//! organisation's approval, and the limits of what may be asked for.

use chrono::{DateTime, NaiveDate, Utc};
use resiflex_domain::money::{
    Amounts, Ledger, NewTransaction, TransactionKind, TransactionReason, check_idempotency_key,
};
use resiflex_domain::payments::{
    InstructionStatus, MaximumRefund, RepaymentMethod, RepaymentRequestStatus, RepaymentStatus,
    check_refund, maximum_refund as limit,
};
use resiflex_store::Db;
use resiflex_store::ledgers;
use resiflex_store::payments::{
    self as store, Keyed, NewRepayment, NewRepaymentRequest, Payment, Repayment, RepaymentChange,
    RepaymentRequest,
};

use super::lifecycle::posted;
use super::schedules::current_schedule;
use super::{PaymentError, new_reference};

/// The most the customer may ask to have back from `ledger` now: its credit less what is
/// already promised back and less the recommended balance (one fixed payment of the schedule in
/// force, kept as a buffer), capped for the dashboard.
pub async fn maximum_refund(
    db: &Db,
    ledger: &Ledger,
    today: NaiveDate,
) -> Result<MaximumRefund, PaymentError> {
    let outstanding = store::outstanding_of_ledger(db, ledger.id).await?;
    let recommended = current_schedule(db, ledger, today)
        .await?
        .and_then(|s| s.payment_amount)
        .unwrap_or(0);
    Ok(limit(ledger.balance, outstanding, recommended))
}

/// Refunds `amount` of a cleared payment (organisations only; the caller checks). The refund
/// is a repayment, APPROVED at once, paid out by the collection run; the same key and request
/// give the first result.
pub async fn refund_payment(
    db: &Db,
    payment: &Payment,
    amount: i64,
    reason: &str,
    idempotency_key: &str,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Repayment, PaymentError> {
    check_idempotency_key(idempotency_key)?;
    let fingerprint = format!("refund|{}|{amount}|{reason}", payment.uuid);
    let new = NewRepayment {
        account_id: payment.account_id,
        ledger_id: payment.ledger_id,
        request_id: None,
        payment_id: Some(payment.id),
        instruction_id: payment.instruction_id,
        amount: amount.max(1),
        payment_date: today,
        status: RepaymentStatus::Approved,
        reason: reason.to_owned(),
        idempotency_key: Some(idempotency_key.to_owned()),
        fingerprint: Some(fingerprint.clone()),
    };
    // A replay is answered before the rules, which may no longer hold once it was made.
    let already = store::refunded_of_payment(db, payment.id).await?;
    if let Some(replayed) = replay(db, payment.account_id, idempotency_key, &fingerprint).await? {
        return Ok(replayed);
    }
    check_refund(
        payment.status,
        payment.method,
        payment.amount,
        already,
        amount,
        payment.payment_date,
        today,
    )
    .map_err(PaymentError::Refund)?;
    match store::insert_repayment(db, &new, today, now).await? {
        Keyed::New(r) => Ok(r),
        Keyed::Existing(r) if r.fingerprint.as_deref() == Some(fingerprint.as_str()) => Ok(r),
        Keyed::Existing(_) => Err(PaymentError::IdempotencyKeyReused),
        Keyed::OverLimit(max) => Err(over_limit(max.amount)),
    }
}

async fn replay(
    db: &Db,
    account_id: i64,
    key: &str,
    fingerprint: &str,
) -> Result<Option<Repayment>, PaymentError> {
    match store::repayment_by_key(db, account_id, key).await? {
        Some(r) if r.fingerprint.as_deref() == Some(fingerprint) => Ok(Some(r)),
        Some(_) => Err(PaymentError::IdempotencyKeyReused),
        None => Ok(None),
    }
}

/// What a customer asks for.
#[derive(Debug, Clone)]
pub struct RepaymentRequestInput<'a> {
    pub amount: i64,
    pub idempotency_key: &'a str,
    /// The id of an active instruction of the account to pay into.
    pub instruction_reference: Option<&'a str>,
    pub method: Option<RepaymentMethod>,
    pub reason: Option<&'a str>,
}

/// Stores a customer's request for money back from `ledger` (with its repayment, REQUESTED),
/// within [`maximum_refund`]; the same key and request give the first request.
pub async fn submit_repayment_request(
    db: &Db,
    ledger: &Ledger,
    input: &RepaymentRequestInput<'_>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<RepaymentRequest, PaymentError> {
    check_idempotency_key(input.idempotency_key)?;
    if input.reason.is_some_and(|r| r.chars().count() > 500) {
        return Err(PaymentError::InvalidAmount("the reason is too long".into()));
    }
    let instruction_id = match input.instruction_reference {
        Some(reference) => Some(instruction_of(db, ledger, reference).await?),
        None => None,
    };
    // The instruction wins over the method.
    let method = if instruction_id.is_some() {
        RepaymentMethod::BankTransfer
    } else {
        input.method.unwrap_or(RepaymentMethod::BankTransfer)
    };
    let fingerprint = format!(
        "{}|{}|{method}|{instruction_id:?}|{:?}",
        ledger.number, input.amount, input.reason
    );
    if let Some(existing) =
        store::request_by_key(db, ledger.account_id, input.idempotency_key).await?
    {
        return if existing.fingerprint == fingerprint {
            Ok(existing)
        } else {
            Err(PaymentError::IdempotencyKeyReused)
        };
    }
    if input.amount <= 0 {
        return Err(PaymentError::InvalidAmount(
            "the amount must be more than zero".into(),
        ));
    }
    let max = maximum_refund(db, ledger, today).await?;
    if input.amount > max.amount {
        return Err(over_limit(max.amount));
    }
    let request_id = new_reference("RR-");
    let stored = store::insert_request(
        db,
        &NewRepaymentRequest {
            request_id: &request_id,
            account_id: ledger.account_id,
            ledger_id: ledger.id,
            amount: input.amount,
            method,
            instruction_id,
            reason: input.reason,
            idempotency_key: input.idempotency_key,
            fingerprint: &fingerprint,
            recommended_balance: max.recommended_balance,
        },
        today,
        now,
    )
    .await?;
    match stored {
        Keyed::New(r) => Ok(r),
        Keyed::Existing(r) if r.fingerprint == fingerprint => Ok(r),
        Keyed::Existing(_) => Err(PaymentError::IdempotencyKeyReused),
        Keyed::OverLimit(max) => Err(over_limit(max.amount)),
    }
}

fn over_limit(amount: i64) -> PaymentError {
    PaymentError::InvalidAmount(format!("at most {amount} may be requested now"))
}

async fn instruction_of(db: &Db, ledger: &Ledger, reference: &str) -> Result<i64, PaymentError> {
    let id: i64 = reference
        .trim()
        .parse()
        .map_err(|_| PaymentError::NotFound("payment instruction"))?;
    match store::instruction(db, id).await? {
        Some(i) if i.account_id == ledger.account_id && i.status == InstructionStatus::Active => {
            Ok(i.id)
        }
        _ => Err(PaymentError::NotFound("payment instruction")),
    }
}

/// Cancels a request of the account that is still REQUESTED.
pub async fn cancel_repayment_request(
    db: &Db,
    account_id: i64,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<RepaymentRequest, PaymentError> {
    let request = store::request(db, request_id.trim())
        .await?
        .filter(|r| r.account_id == account_id)
        .ok_or(PaymentError::NotFound("repayment request"))?;
    request
        .status
        .transition(RepaymentRequestStatus::Cancelled)?;
    let mut tx = db.begin().await?;
    store::move_request(
        &mut tx,
        request.id,
        RepaymentRequestStatus::Requested,
        RepaymentRequestStatus::Cancelled,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(RepaymentRequest {
        status: RepaymentRequestStatus::Cancelled,
        ..request
    })
}

/// Approves a REQUESTED repayment of the account (organisations only; the caller checks): its
/// request becomes ACCEPTED and the repayment APPROVED, if the ledger can still pay it.
pub async fn approve_repayment(
    db: &Db,
    account_id: i64,
    repayment_id: i64,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Repayment, PaymentError> {
    let repayment = store::repayment(db, repayment_id)
        .await?
        .filter(|r| r.account_id == account_id)
        .ok_or(PaymentError::NotFound("repayment"))?;
    if repayment.status != RepaymentStatus::Requested {
        return Err(PaymentError::AlreadyApproved);
    }
    let request = match repayment.request_id {
        Some(id) => store::request_by_id(db, id).await?,
        None => None,
    };
    if let Some(request) = &request
        && request.status != RepaymentRequestStatus::Requested
    {
        return Err(PaymentError::WrongState(format!(
            "the request is {}",
            request.status
        )));
    }
    let ledger = ledgers::ledger(db, repayment.ledger_id)
        .await?
        .ok_or(PaymentError::NotFound("ledger"))?;
    // The repayment is part of what is outstanding: the credit must cover all of it.
    let outstanding = store::outstanding_of_ledger(db, ledger.id).await?;
    if ledger.balance < outstanding {
        return Err(PaymentError::CannotBePaid(
            "the ledger's credit is less than the repayment".into(),
        ));
    }
    let mut tx = db.begin().await?;
    if let Some(request) = &request {
        store::move_request(
            &mut tx,
            request.id,
            RepaymentRequestStatus::Requested,
            RepaymentRequestStatus::Accepted,
            now,
        )
        .await?;
    }
    let approved = store::move_repayment(
        &mut tx,
        repayment.id,
        RepaymentStatus::Requested,
        RepaymentStatus::Approved,
        RepaymentChange::default(),
        today,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(approved)
}

/// Moves a repayment to `to`. Becoming PAID posts its Refund transaction; failing after PAID
/// posts the reversal. Both land with the status, or neither does.
pub async fn move_repayment(
    db: &Db,
    repayment: &Repayment,
    to: RepaymentStatus,
    on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Repayment, PaymentError> {
    repayment.status.transition(to)?;
    let mut change = RepaymentChange::default();
    let mut tx = db.begin().await?;
    if to == RepaymentStatus::Submitted {
        change.submitted_on = Some(on);
    }
    if to == RepaymentStatus::Paid {
        let reason = if repayment.payment_id.is_some() {
            TransactionReason::PaymentRefund
        } else {
            TransactionReason::Repayment
        };
        let new = NewTransaction {
            kind: TransactionKind::Refund,
            reason,
            posted_date: on,
            amounts: Amounts::untaxed(repayment.amount),
            title: "Repayment".into(),
            note: Some(repayment.reason.chars().take(200).collect()),
            reverses: None,
            idempotency_key: format!("repayment:{}", repayment.id),
            consumption_milli: None,
            imported: false,
        };
        new.check()?;
        let id = posted(ledgers::post_in(&mut tx, &[(repayment.ledger_id, new)], now).await?)?;
        change.transaction_id = Some(id);
    }
    if to == RepaymentStatus::Failed && repayment.status == RepaymentStatus::Paid {
        let original = match repayment.transaction_id {
            Some(id) => ledgers::transaction(db, id).await?,
            None => None,
        }
        .ok_or(PaymentError::NotFound("repayment transaction"))?;
        let reversal = NewTransaction::reversal_of(
            &original,
            on,
            format!("repayment:{}:failure", repayment.id),
        );
        let id = posted(ledgers::post_in(&mut tx, &[(repayment.ledger_id, reversal)], now).await?)?;
        change.reversal_id = Some(id);
    }
    let moved =
        store::move_repayment(&mut tx, repayment.id, repayment.status, to, change, on, now).await;
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
