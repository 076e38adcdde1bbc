//! Changing a ledger's payment schedule: a new day or amount, or a switch to variable amounts.
//! A schedule is never edited: the current one ends and a new one starts.

use chrono::{DateTime, NaiveDate, Utc};
use resiflex_domain::money::Ledger;
use resiflex_domain::payments::{PaymentDay, PaymentDayDirection, ScheduleTrigger};
use resiflex_store::Db;
use resiflex_store::payments::{self as store, NewSchedule, Schedule};

use super::PaymentError;

/// What to change in a schedule.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScheduleChange {
    pub payment_day: Option<u32>,
    pub direction: Option<PaymentDayDirection>,
    /// A fixed amount in minor units.
    pub payment_amount: Option<i64>,
}

/// The ledger's schedule in force on `day`.
pub async fn current_schedule(
    db: &Db,
    ledger: &Ledger,
    day: NaiveDate,
) -> Result<Option<Schedule>, PaymentError> {
    Ok(store::schedules_of_account(db, ledger.account_id)
        .await?
        .into_iter()
        .find(|s| s.ledger_id == ledger.id && s.in_force_on(day)))
}

/// Replaces the ledger's current schedule from `today` with one of a new day or amount.
pub async fn change_schedule(
    db: &Db,
    ledger: &Ledger,
    change: ScheduleChange,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Schedule, PaymentError> {
    if change.payment_day.is_none() && change.payment_amount.is_none() && change.direction.is_none()
    {
        return Err(PaymentError::NothingToChange);
    }
    let current = current_schedule(db, ledger, today)
        .await?
        .ok_or(PaymentError::NoActiveSchedule)?;
    if matches!(
        current.trigger,
        ScheduleTrigger::Plan | ScheduleTrigger::RegularPlan
    ) {
        return Err(PaymentError::InvalidSchedule(
            "a schedule tied to a payment plan cannot be changed".into(),
        ));
    }
    let day = PaymentDay {
        day: change.payment_day.unwrap_or(current.day.day),
        direction: change.direction.unwrap_or(current.day.direction),
        ..current.day
    }
    .check()
    .map_err(|e| PaymentError::InvalidPaymentDay(e.0))?;
    if let Some(amount) = change.payment_amount
        && !(1..=resiflex_domain::money::MAX_TRANSACTION_MINOR).contains(&amount)
    {
        return Err(PaymentError::InvalidSchedule(
            "the payment amount must be more than zero".into(),
        ));
    }
    let amount = change.payment_amount.or(current.payment_amount);
    if day == current.day && amount == current.payment_amount {
        return Err(PaymentError::NothingToChange);
    }
    replace(db, &current, day, amount, today, now).await
}

/// Switches the ledger to a variable schedule from `from`, keeping its type, day and
/// instruction.
pub async fn switch_to_variable(
    db: &Db,
    ledger: &Ledger,
    from: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Schedule, PaymentError> {
    let current = current_schedule(db, ledger, from)
        .await?
        .ok_or(PaymentError::NoActiveSchedule)?;
    if current.is_variable {
        return Ok(current);
    }
    replace(db, &current, current.day, None, from, now).await
}

async fn replace(
    db: &Db,
    current: &Schedule,
    day: PaymentDay,
    amount: Option<i64>,
    from: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Schedule, PaymentError> {
    Ok(store::replace_schedule(
        db,
        &NewSchedule {
            account_id: current.account_id,
            ledger_id: current.ledger_id,
            instruction_id: current.instruction_id,
            kind: current.kind,
            trigger: current.trigger,
            reason: current.reason,
            day,
            payment_amount: amount,
            valid_from: from,
        },
        now,
    )
    .await?)
}
