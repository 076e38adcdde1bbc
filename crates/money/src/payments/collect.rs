//! The collection run: on each account's clock it books the payments its schedules make due,
//! submits those due today, moves submitted payments and repayments on as the provider answers,
//! and presents failed collections again.
//!
//! The rules:
//! - A schedule in force with an ACTIVE instruction makes a payment for each payment date from
//!   today to [`NOTICE_DAYS`] ahead: SCHEDULED (the customer is told), for the fixed amount, or
//!   for a variable schedule the debt on the latest issued statement, no more than what the
//!   ledger owes now (nothing when nothing is owed). A payment is unique per (schedule, due
//!   date, attempt), so running twice books nothing twice.
//! - A SCHEDULED payment whose date has come is submitted (PENDING).
//! - PENDING and CLEARED payments move as the provider says; clearing posts the payment, a late
//!   failure reverses it.
//! - A collection that fails before clearing is presented again [`RETRY_AFTER_DAYS`] days later
//!   as a `DD_RE_PRESENTATION`, at most [`MAX_RETRIES`] times (see
//!   `resiflex_domain::payments::retry_date`); a late failure is not retried.
//! - APPROVED repayments are submitted; submitted ones become PAID (a Refund posted) or FAILED
//!   as the provider says, and a PAID one that bounces is FAILED with the Refund reversed.

use chrono::{DateTime, Days, NaiveDate, Utc};
use resiflex_domain::payments::{
    InstructionStatus, MAX_RETRIES, NOTICE_DAYS, PaymentMethod, PaymentReason, PaymentStatus,
    RETRY_AFTER_DAYS, RepaymentStatus, retry_date,
};
use resiflex_store::Db;
use resiflex_store::ledgers;
use resiflex_store::payments::{self as store, NewPayment, Payment, Repayment, Schedule};

use super::lifecycle::move_payment;
use super::provider::{CollectionState, PaymentProvider, PayoutState};
use super::repayments::move_repayment;
use super::{PaymentError, new_reference, today_of};

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectionReport {
    pub scheduled: u64,
    pub submitted: u64,
    pub cleared: u64,
    pub fulfilled: u64,
    pub failed: u64,
    pub late_failed: u64,
    pub re_presented: u64,
    pub repayments_submitted: u64,
    pub repayments_paid: u64,
    pub repayments_failed: u64,
}

// Keeps the documented constants linked from the module docs in use.
const _: (i64, u64) = (MAX_RETRIES, RETRY_AFTER_DAYS);

/// Runs collection. `today` fixes the date for every account (the `--date` of the command);
/// without it each account's own date at `now` is used. `batch` rows are read at a time.
pub async fn collect<P: PaymentProvider>(
    db: &Db,
    provider: &P,
    today: Option<NaiveDate>,
    now: DateTime<Utc>,
    batch: i64,
) -> Result<CollectionReport, PaymentError> {
    let batch = batch.max(1);
    let mut report = CollectionReport::default();
    book_scheduled(db, today, now, batch, &mut report).await?;
    submit_due(db, today, now, batch, &mut report).await?;
    advance_payments(db, provider, today, now, batch, &mut report).await?;
    advance_repayments(db, provider, today, now, batch, &mut report).await?;
    Ok(report)
}

async fn date_for(
    db: &Db,
    today: Option<NaiveDate>,
    account_id: i64,
    now: DateTime<Utc>,
) -> Result<NaiveDate, PaymentError> {
    match today {
        Some(day) => Ok(day),
        None => today_of(db, account_id, now).await,
    }
}

async fn book_scheduled(
    db: &Db,
    today: Option<NaiveDate>,
    now: DateTime<Utc>,
    batch: i64,
    report: &mut CollectionReport,
) -> Result<(), PaymentError> {
    // A day's margin either side of UTC covers every account's own date.
    let earliest = today
        .unwrap_or(now.date_naive())
        .pred_opt()
        .unwrap_or(now.date_naive());
    let mut after = 0;
    loop {
        let schedules = store::open_schedules(db, earliest, after, batch).await?;
        let Some(last) = schedules.last() else {
            break;
        };
        after = last.id;
        for schedule in &schedules {
            let day = date_for(db, today, schedule.account_id, now).await?;
            report.scheduled += book_schedule(db, schedule, day, now).await?;
        }
    }
    Ok(())
}

/// Books the schedule's payments due from `today` to `NOTICE_DAYS` ahead.
async fn book_schedule(
    db: &Db,
    schedule: &Schedule,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<u64, PaymentError> {
    let Some(instruction_id) = schedule.instruction_id else {
        return Ok(0);
    };
    let active = store::instruction(db, instruction_id)
        .await?
        .is_some_and(|i| i.status == InstructionStatus::Active);
    if !active {
        return Ok(0);
    }
    let mut booked = 0;
    for ahead in 0..=NOTICE_DAYS {
        let Some(due) = today.checked_add_days(Days::new(ahead)) else {
            continue;
        };
        if !schedule.in_force_on(due) || !schedule.day.is_due(schedule.valid_from, due) {
            continue;
        }
        let Some(amount) = amount_due(db, schedule).await? else {
            continue;
        };
        let first = !store::payments_of_account(db, schedule.account_id)
            .await?
            .iter()
            .any(|p| p.instruction_id == Some(instruction_id) && p.method.is_direct_debit());
        let method = if first {
            PaymentMethod::DdFirstCollection
        } else {
            PaymentMethod::DdRegularCollection
        };
        let new = NewPayment {
            uuid: uuid::Uuid::new_v4().to_string(),
            account_id: schedule.account_id,
            ledger_id: schedule.ledger_id,
            instruction_id: Some(instruction_id),
            schedule_id: Some(schedule.id),
            due_date: Some(due),
            attempt: 0,
            amount,
            payment_date: due,
            reference: new_reference("DD-"),
            method,
            reason: PaymentReason::RegularSchedule,
            status: PaymentStatus::Requested,
        };
        if let Some(payment) = store::insert_payment(db, &new, today, now).await? {
            move_payment(db, &payment, PaymentStatus::Scheduled, today, now).await?;
            booked += 1;
        }
    }
    Ok(booked)
}

/// The amount a schedule collects now: its fixed amount, or for a variable schedule the debt on
/// the latest issued statement, no more than the ledger owes now. `None`: nothing to collect.
async fn amount_due(db: &Db, schedule: &Schedule) -> Result<Option<i64>, PaymentError> {
    if let Some(amount) = schedule.payment_amount {
        return Ok(Some(amount));
    }
    let owed_now = ledgers::ledger(db, schedule.ledger_id)
        .await?
        .map_or(0, |l| l.amount_owed_by_customer());
    let on_statement = store::latest_issued_closing_balance(db, schedule.ledger_id)
        .await?
        .map(|closing| -closing);
    let amount = on_statement.map_or(owed_now, |debt| debt.min(owed_now));
    Ok((amount > 0).then_some(amount))
}

async fn submit_due(
    db: &Db,
    today: Option<NaiveDate>,
    now: DateTime<Utc>,
    batch: i64,
    report: &mut CollectionReport,
) -> Result<(), PaymentError> {
    let mut after = 0;
    loop {
        let payments = store::payments_in(db, &[PaymentStatus::Scheduled], after, batch).await?;
        let Some(last) = payments.last() else {
            break;
        };
        after = last.id;
        for payment in &payments {
            let day = date_for(db, today, payment.account_id, now).await?;
            if payment.payment_date <= day {
                move_payment(db, payment, PaymentStatus::Pending, day, now).await?;
                report.submitted += 1;
            }
        }
    }
    Ok(())
}

async fn mandate_of(db: &Db, instruction_id: Option<i64>) -> Result<Option<String>, PaymentError> {
    Ok(match instruction_id {
        Some(id) => store::instruction(db, id)
            .await?
            .and_then(|i| i.provider_reference),
        None => None,
    })
}

async fn advance_payments<P: PaymentProvider>(
    db: &Db,
    provider: &P,
    today: Option<NaiveDate>,
    now: DateTime<Utc>,
    batch: i64,
    report: &mut CollectionReport,
) -> Result<(), PaymentError> {
    let mut after = 0;
    loop {
        let payments = store::payments_in(
            db,
            &[PaymentStatus::Pending, PaymentStatus::Cleared],
            after,
            batch,
        )
        .await?;
        let Some(last) = payments.last() else {
            break;
        };
        after = last.id;
        for payment in &payments {
            let Some(mandate) = mandate_of(db, payment.instruction_id).await? else {
                continue;
            };
            let day = date_for(db, today, payment.account_id, now).await?;
            let state = provider.collection_state(&mandate, payment, day).await?;
            advance_payment(db, payment, state, day, now, report).await?;
        }
    }
    Ok(())
}

/// Moves one payment as far as the provider's answer takes it.
async fn advance_payment(
    db: &Db,
    payment: &Payment,
    state: CollectionState,
    day: NaiveDate,
    now: DateTime<Utc>,
    report: &mut CollectionReport,
) -> Result<(), PaymentError> {
    use PaymentStatus::{Cleared, Failed, Fulfilled, Pending};
    let mut current = payment.clone();
    let clears = matches!(
        state,
        CollectionState::Cleared | CollectionState::Collected | CollectionState::FailedLate
    );
    if current.status == Pending && clears {
        current = move_payment(db, &current, Cleared, day, now).await?;
        report.cleared += 1;
    }
    match (current.status, state) {
        (Pending, CollectionState::Failed) => {
            current = move_payment(db, &current, Failed, day, now).await?;
            report.failed += 1;
            report.re_presented += re_present(db, &current, day, now).await?;
        }
        (Cleared, CollectionState::Collected) => {
            move_payment(db, &current, Fulfilled, day, now).await?;
            report.fulfilled += 1;
        }
        (Cleared, CollectionState::FailedLate | CollectionState::Failed) => {
            move_payment(db, &current, Failed, day, now).await?;
            report.late_failed += 1;
        }
        _ => {}
    }
    Ok(())
}

/// Books the re-presentation of a collection that failed on `day`, if the retry rule allows.
async fn re_present(
    db: &Db,
    failed: &Payment,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<u64, PaymentError> {
    let Some(on) = retry_date(failed.method, failed.attempt, failed.late_failed, day) else {
        return Ok(0);
    };
    let new = NewPayment {
        uuid: uuid::Uuid::new_v4().to_string(),
        account_id: failed.account_id,
        ledger_id: failed.ledger_id,
        instruction_id: failed.instruction_id,
        schedule_id: failed.schedule_id,
        due_date: failed.due_date,
        attempt: failed.attempt + 1,
        amount: failed.amount,
        payment_date: on,
        reference: new_reference("DD-"),
        method: PaymentMethod::DdRePresentation,
        reason: failed.reason,
        status: PaymentStatus::Requested,
    };
    match store::insert_payment(db, &new, day, now).await? {
        Some(payment) => {
            move_payment(db, &payment, PaymentStatus::Scheduled, day, now).await?;
            Ok(1)
        }
        None => Ok(0),
    }
}

/// Days after submission during which a PAID payout may still bounce.
pub const PAYOUT_SETTLEMENT_DAYS: u64 = 10;

async fn advance_repayments<P: PaymentProvider>(
    db: &Db,
    provider: &P,
    today: Option<NaiveDate>,
    now: DateTime<Utc>,
    batch: i64,
    report: &mut CollectionReport,
) -> Result<(), PaymentError> {
    let mut after = 0;
    // A payout that has been PAID for longer than the settlement window can no longer bounce,
    // so it is not asked about again (a day's margin for accounts whose clocks differ).
    let paid_since = today
        .unwrap_or_else(|| now.date_naive())
        .checked_sub_days(chrono::Days::new(PAYOUT_SETTLEMENT_DAYS + 1))
        .unwrap_or(NaiveDate::MIN);
    loop {
        let repayments = store::repayments_in(
            db,
            &[
                RepaymentStatus::Approved,
                RepaymentStatus::Submitted,
                RepaymentStatus::Paid,
            ],
            Some(paid_since),
            after,
            batch,
        )
        .await?;
        let Some(last) = repayments.last() else {
            break;
        };
        after = last.id;
        for repayment in &repayments {
            let day = date_for(db, today, repayment.account_id, now).await?;
            advance_repayment(db, provider, repayment, day, now, report).await?;
        }
    }
    Ok(())
}

async fn advance_repayment<P: PaymentProvider>(
    db: &Db,
    provider: &P,
    repayment: &Repayment,
    day: NaiveDate,
    now: DateTime<Utc>,
    report: &mut CollectionReport,
) -> Result<(), PaymentError> {
    use RepaymentStatus::{Approved, Failed, Paid, Submitted};
    if repayment.status == Approved {
        move_repayment(db, repayment, Submitted, day, now).await?;
        report.repayments_submitted += 1;
        return Ok(());
    }
    let mandate = mandate_of(db, repayment.instruction_id).await?;
    let state = provider
        .payout_state(mandate.as_deref(), repayment, day)
        .await?;
    match (repayment.status, state) {
        (Submitted, PayoutState::Paid) => {
            move_repayment(db, repayment, Paid, day, now).await?;
            report.repayments_paid += 1;
        }
        (Submitted | Paid, PayoutState::Failed) => {
            move_repayment(db, repayment, Failed, day, now).await?;
            report.repayments_failed += 1;
        }
        _ => {}
    }
    Ok(())
}
