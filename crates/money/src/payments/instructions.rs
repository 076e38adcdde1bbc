//! Direct debit instructions: validated, sent to the provider, stored masked.

use chrono::{DateTime, Datelike, Utc};
use resiflex_domain::money::Ledger;
use resiflex_domain::payments::{
    BankDetails, InstructionStatus, MAX_PAYMENT_DAY, PaymentDay, PaymentDayDirection,
    PaymentFrequency, ScheduleKind, ScheduleReason, ScheduleTrigger,
};
use resiflex_store::Db;
use resiflex_store::payments::{self as store, Instruction, NewInstruction, NewSchedule, Schedule};

use super::provider::PaymentProvider;
use super::{PaymentError, today_of};

/// What setting up a direct debit came to.
#[derive(Debug, Clone)]
pub struct DirectDebitSetUp {
    pub instruction: Instruction,
    /// The schedule started with it, when it is used for automated payments.
    pub schedule: Option<Schedule>,
}

/// Sets up a direct debit on `ledger`: the details are checked (never stored in full), the
/// provider sets up the mandate, and the instruction becomes ACTIVE or FAILED. With
/// `use_for_automated_payments` an active instruction gets a monthly schedule (the current
/// schedule's day and amount if there is one, otherwise variable on the day of `valid_from`).
pub async fn set_up_direct_debit<P: PaymentProvider>(
    db: &Db,
    provider: &P,
    ledger: &Ledger,
    bank: &BankDetails,
    use_for_automated_payments: bool,
    valid_from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<DirectDebitSetUp, PaymentError> {
    let masked = bank.masked();
    let provisional = store::insert_instruction(
        db,
        &NewInstruction {
            account_id: ledger.account_id,
            ledger_id: ledger.id,
            bank: &masked,
            vendor: provider.name(),
            valid_from,
        },
        now,
    )
    .await?;
    let mandate = provider.create_mandate(bank, now).await?;
    let status = if mandate.active {
        InstructionStatus::Active
    } else {
        InstructionStatus::Failed
    };
    InstructionStatus::Provisional.transition(status)?;
    let instruction = store::move_instruction(
        db,
        provisional.id,
        InstructionStatus::Provisional,
        status,
        Some(&mandate.reference),
        now,
    )
    .await?;
    let schedule = if mandate.active && use_for_automated_payments {
        Some(schedule_for(db, ledger, &instruction, valid_from, now).await?)
    } else {
        None
    };
    Ok(DirectDebitSetUp {
        instruction,
        schedule,
    })
}

async fn schedule_for(
    db: &Db,
    ledger: &Ledger,
    instruction: &Instruction,
    valid_from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Schedule, PaymentError> {
    let today = today_of(db, ledger.account_id, now).await?;
    let starts = today_of(db, ledger.account_id, valid_from)
        .await?
        .max(today);
    let current = store::schedules_of_account(db, ledger.account_id)
        .await?
        .into_iter()
        .find(|s| s.ledger_id == ledger.id && s.in_force_on(starts));
    let (day, amount, reason) = match &current {
        Some(s) => (s.day, s.payment_amount, s.reason),
        None => (
            PaymentDay {
                frequency: PaymentFrequency::Monthly,
                day: starts.day().min(MAX_PAYMENT_DAY),
                direction: PaymentDayDirection::OfMonth,
                multiplier: 1,
            },
            None,
            ScheduleReason::GeneralAccountPayment,
        ),
    };
    Ok(store::replace_schedule(
        db,
        &NewSchedule {
            account_id: ledger.account_id,
            ledger_id: ledger.id,
            instruction_id: Some(instruction.id),
            kind: ScheduleKind::DirectDebit,
            trigger: ScheduleTrigger::Regular,
            reason,
            day,
            payment_amount: amount,
            valid_from: starts,
        },
        now,
    )
    .await?)
}
