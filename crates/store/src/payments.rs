//! Payments, repayments, repayment requests, payment instructions and payment schedules (see
//! `resiflex_domain::payments` for their rules). Status moves are compare-and-set (`WHERE status
//! = <the state read>`), each appended to an append-only history in the same transaction.
//! Bank details are stored masked only.

use chrono::{DateTime, NaiveDate, Utc};
use resiflex_domain::payments::{
    InstructionStatus, MaskedBankDetails, PaymentDay, PaymentDayDirection, PaymentFrequency,
    PaymentMethod, PaymentReason, PaymentStatus, RepaymentMethod, RepaymentRequestStatus,
    RepaymentStatus, ScheduleKind, ScheduleReason, ScheduleTrigger,
};

use crate::{Db, StoreError, Tx, corrupt, on_db, on_tx};

// ----------------------------------------------------------------------------------------------
// Payment instructions
// ----------------------------------------------------------------------------------------------

/// A direct debit instruction, with its bank details masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub id: i64,
    pub account_id: i64,
    pub ledger_id: i64,
    /// `DIRECT_DEBIT`.
    pub instruction_type: String,
    pub status: InstructionStatus,
    pub bank: MaskedBankDetails,
    /// The provider that holds the mandate.
    pub vendor: String,
    /// The provider's reference of the mandate.
    pub provider_reference: Option<String>,
    pub valid_from: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

const INSTRUCTION_COLUMNS: &str = "id, account_id, ledger_id, instruction_type, status, account_holder, sort_code, \
     masked_account_identifier, masked_iban, vendor, provider_reference, valid_from, created_at";

#[derive(sqlx::FromRow)]
struct InstructionRow {
    id: i64,
    account_id: i64,
    ledger_id: i64,
    instruction_type: String,
    status: String,
    account_holder: String,
    sort_code: Option<String>,
    masked_account_identifier: String,
    masked_iban: Option<String>,
    vendor: String,
    provider_reference: Option<String>,
    valid_from: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

impl TryFrom<InstructionRow> for Instruction {
    type Error = StoreError;

    fn try_from(row: InstructionRow) -> Result<Instruction, StoreError> {
        Ok(Instruction {
            id: row.id,
            account_id: row.account_id,
            ledger_id: row.ledger_id,
            instruction_type: row.instruction_type,
            status: corrupt("instruction status", row.status.parse())?,
            bank: MaskedBankDetails {
                account_holder: row.account_holder,
                sort_code: row.sort_code,
                masked_account_identifier: row.masked_account_identifier,
                masked_iban: row.masked_iban,
            },
            vendor: row.vendor,
            provider_reference: row.provider_reference,
            valid_from: row.valid_from,
            created_at: row.created_at,
        })
    }
}

/// A new, provisional instruction.
#[derive(Debug, Clone)]
pub struct NewInstruction<'a> {
    pub account_id: i64,
    pub ledger_id: i64,
    pub bank: &'a MaskedBankDetails,
    pub vendor: &'a str,
    pub valid_from: DateTime<Utc>,
}

/// Stores a provisional direct debit instruction.
pub async fn insert_instruction(
    db: &Db,
    new: &NewInstruction<'_>,
    now: DateTime<Utc>,
) -> Result<Instruction, StoreError> {
    let row: InstructionRow = on_db!(db, |pool| {
        sqlx::query_as(&format!(
        "INSERT INTO payment_instructions (account_id, ledger_id, instruction_type, status, account_holder, \
         sort_code, masked_account_identifier, masked_iban, vendor, valid_from, created_at, updated_at) \
         VALUES ($1, $2, 'DIRECT_DEBIT', $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {INSTRUCTION_COLUMNS}"
    ))
    .bind(new.account_id)
    .bind(new.ledger_id)
    .bind(InstructionStatus::Provisional.as_str())
    .bind(&new.bank.account_holder)
    .bind(new.bank.sort_code.as_deref())
    .bind(&new.bank.masked_account_identifier)
    .bind(new.bank.masked_iban.as_deref())
    .bind(new.vendor)
    .bind(new.valid_from)
    .bind(now)
    .fetch_one(pool)
    .await
    })?;
    row.try_into()
}

/// Moves an instruction from `from` to `to` with the provider's reference; `Conflict` if it was
/// no longer `from`.
pub async fn move_instruction(
    db: &Db,
    id: i64,
    from: InstructionStatus,
    to: InstructionStatus,
    provider_reference: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Instruction, StoreError> {
    let row: Option<InstructionRow> = on_db!(db, |pool| {
        sqlx::query_as(&format!(
        "UPDATE payment_instructions SET status = $1, provider_reference = COALESCE($2, provider_reference), \
         updated_at = $3 WHERE id = $4 AND status = $5 RETURNING {INSTRUCTION_COLUMNS}"
    ))
    .bind(to.as_str())
    .bind(provider_reference)
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .fetch_optional(pool)
    .await
    })?;
    row.ok_or(StoreError::Conflict)?.try_into()
}

/// The account's instructions, newest first.
pub async fn instructions_of_account(
    db: &Db,
    account_id: i64,
) -> Result<Vec<Instruction>, StoreError> {
    let rows: Vec<InstructionRow> = on_db!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT {INSTRUCTION_COLUMNS} FROM payment_instructions WHERE account_id = $1 ORDER BY id DESC"
    ))
    .bind(account_id)
    .fetch_all(pool)
    .await
    })?;
    rows.into_iter().map(Instruction::try_from).collect()
}

/// One instruction by id.
pub async fn instruction(db: &Db, id: i64) -> Result<Option<Instruction>, StoreError> {
    let row: Option<InstructionRow> = on_db!(db, |pool| sqlx::query_as(&format!(
        "SELECT {INSTRUCTION_COLUMNS} FROM payment_instructions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    row.map(Instruction::try_from).transpose()
}

/// Records the behaviour the sandbox provider gave a mandate.
pub async fn insert_sandbox_mandate(
    db: &Db,
    reference: &str,
    outcome: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_db!(db, |pool| sqlx::query(
        "INSERT INTO sandbox_payment_mandates (reference, outcome, created_at) VALUES ($1, $2, $3)"
    )
    .bind(reference)
    .bind(outcome)
    .bind(now)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// The behaviour of a sandbox mandate.
pub async fn sandbox_mandate(db: &Db, reference: &str) -> Result<Option<String>, StoreError> {
    Ok(on_db!(db, |pool| sqlx::query_scalar(
        "SELECT outcome FROM sandbox_payment_mandates WHERE reference = $1"
    )
    .bind(reference)
    .fetch_optional(pool)
    .await)?)
}

// ----------------------------------------------------------------------------------------------
// Payment schedules
// ----------------------------------------------------------------------------------------------

/// A payment schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub id: i64,
    pub account_id: i64,
    pub ledger_id: i64,
    pub instruction_id: Option<i64>,
    pub kind: ScheduleKind,
    pub trigger: ScheduleTrigger,
    pub reason: ScheduleReason,
    pub day: PaymentDay,
    /// The fixed amount; `None` for a variable schedule.
    pub payment_amount: Option<i64>,
    pub is_variable: bool,
    pub valid_from: NaiveDate,
    /// The first day it is no longer in force.
    pub valid_to: Option<NaiveDate>,
}

impl Schedule {
    /// Whether it is in force on `day`.
    pub fn in_force_on(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && self.valid_to.is_none_or(|to| day < to)
    }
}

const SCHEDULE_COLUMNS: &str = "id, account_id, ledger_id, instruction_id, schedule_type, trigger_kind, reason, \
     frequency, frequency_multiplier, payment_day, day_direction, payment_amount, is_variable, valid_from, valid_to";

#[derive(sqlx::FromRow)]
struct ScheduleRow {
    id: i64,
    account_id: i64,
    ledger_id: i64,
    instruction_id: Option<i64>,
    schedule_type: String,
    trigger_kind: String,
    reason: String,
    frequency: String,
    frequency_multiplier: i64,
    payment_day: i64,
    day_direction: String,
    payment_amount: Option<i64>,
    is_variable: bool,
    valid_from: NaiveDate,
    valid_to: Option<NaiveDate>,
}

impl TryFrom<ScheduleRow> for Schedule {
    type Error = StoreError;

    fn try_from(row: ScheduleRow) -> Result<Schedule, StoreError> {
        let frequency: PaymentFrequency = corrupt("payment frequency", row.frequency.parse())?;
        let direction: PaymentDayDirection = corrupt("payment day", row.day_direction.parse())?;
        Ok(Schedule {
            id: row.id,
            account_id: row.account_id,
            ledger_id: row.ledger_id,
            instruction_id: row.instruction_id,
            kind: corrupt("schedule type", row.schedule_type.parse())?,
            trigger: corrupt("schedule trigger", row.trigger_kind.parse())?,
            reason: corrupt("schedule reason", row.reason.parse())?,
            day: PaymentDay {
                frequency,
                day: corrupt("payment day", u32::try_from(row.payment_day))?,
                direction,
                multiplier: corrupt("multiplier", u32::try_from(row.frequency_multiplier))?,
            },
            payment_amount: row.payment_amount,
            is_variable: row.is_variable,
            valid_from: row.valid_from,
            valid_to: row.valid_to,
        })
    }
}

/// A schedule to start.
#[derive(Debug, Clone)]
pub struct NewSchedule {
    pub account_id: i64,
    pub ledger_id: i64,
    pub instruction_id: Option<i64>,
    pub kind: ScheduleKind,
    pub trigger: ScheduleTrigger,
    pub reason: ScheduleReason,
    pub day: PaymentDay,
    pub payment_amount: Option<i64>,
    pub valid_from: NaiveDate,
}

/// Ends the ledger's schedules in force on `from` (their `valid_to` becomes `from`), removes
/// those that would only have started later, and starts `new` from `from`, in one transaction.
pub async fn replace_schedule(
    db: &Db,
    new: &NewSchedule,
    now: DateTime<Utc>,
) -> Result<Schedule, StoreError> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |conn| sqlx::query(
        "UPDATE payment_schedules SET valid_to = $1 WHERE ledger_id = $2 AND valid_from < $1 \
         AND (valid_to IS NULL OR valid_to > $1)"
    )
    .bind(new.valid_from)
    .bind(new.ledger_id)
    .execute(conn)
    .await
    .map(|_| ()))?;
    // A schedule that had not started yet is superseded before it starts: it ends on its first day.
    on_tx!(&mut tx, |conn| {
        sqlx::query(
        "UPDATE payment_schedules SET valid_to = valid_from WHERE ledger_id = $1 AND valid_from >= $2 \
         AND (valid_to IS NULL OR valid_to > valid_from)"
    )
    .bind(new.ledger_id)
    .bind(new.valid_from)
    .execute(conn)
    .await
    .map(|_| ())
    })?;
    let row: ScheduleRow = on_tx!(&mut tx, |conn| {
        sqlx::query_as(&format!(
        "INSERT INTO payment_schedules (account_id, ledger_id, instruction_id, schedule_type, trigger_kind, reason, \
         frequency, frequency_multiplier, payment_day, day_direction, payment_amount, is_variable, valid_from, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING {SCHEDULE_COLUMNS}"
    ))
    .bind(new.account_id)
    .bind(new.ledger_id)
    .bind(new.instruction_id)
    .bind(new.kind.as_str())
    .bind(new.trigger.as_str())
    .bind(new.reason.as_str())
    .bind(new.day.frequency.as_str())
    .bind(i64::from(new.day.multiplier))
    .bind(i64::from(new.day.day))
    .bind(new.day.direction.as_str())
    .bind(new.payment_amount)
    .bind(new.payment_amount.is_none())
    .bind(new.valid_from)
    .bind(now)
    .fetch_one(conn)
    .await
    })?;
    tx.commit().await?;
    row.try_into()
}

/// The account's schedules, newest first.
pub async fn schedules_of_account(db: &Db, account_id: i64) -> Result<Vec<Schedule>, StoreError> {
    let rows: Vec<ScheduleRow> = on_db!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT {SCHEDULE_COLUMNS} FROM payment_schedules WHERE account_id = $1 ORDER BY valid_from DESC, id DESC"
    ))
    .bind(account_id)
    .fetch_all(pool)
    .await
    })?;
    rows.into_iter().map(Schedule::try_from).collect()
}

/// Schedules in force at some day from `from` on, with an id above `after`, `limit` at a time.
pub async fn open_schedules(
    db: &Db,
    from: NaiveDate,
    after: i64,
    limit: i64,
) -> Result<Vec<Schedule>, StoreError> {
    let rows: Vec<ScheduleRow> = on_db!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT {SCHEDULE_COLUMNS} FROM payment_schedules WHERE id > $1 AND (valid_to IS NULL OR valid_to > $2) \
         AND (valid_to IS NULL OR valid_to <> valid_from) ORDER BY id LIMIT $3"
    ))
    .bind(after)
    .bind(from)
    .bind(limit)
    .fetch_all(pool)
    .await
    })?;
    rows.into_iter().map(Schedule::try_from).collect()
}

// ----------------------------------------------------------------------------------------------
// Payments
// ----------------------------------------------------------------------------------------------

/// A payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: i64,
    pub uuid: String,
    pub account_id: i64,
    pub ledger_id: i64,
    pub instruction_id: Option<i64>,
    pub schedule_id: Option<i64>,
    pub due_date: Option<NaiveDate>,
    /// 0 for a first presentation, then 1, 2 for re-presentations.
    pub attempt: i64,
    pub amount: i64,
    pub payment_date: NaiveDate,
    pub reference: String,
    pub method: PaymentMethod,
    pub reason: PaymentReason,
    pub status: PaymentStatus,
    pub submitted_on: Option<NaiveDate>,
    /// The day of the last status change.
    pub changed_on: NaiveDate,
    /// The Payment transaction posted when it cleared.
    pub transaction_id: Option<i64>,
    /// The Refund transaction that reversed it after a late failure.
    pub reversal_id: Option<i64>,
    pub late_failed: bool,
    pub created_at: DateTime<Utc>,
}

const PAYMENT_COLUMNS: &str = "id, uuid, account_id, ledger_id, instruction_id, schedule_id, due_date, attempt, amount, \
     payment_date, reference, method, reason, status, submitted_on, changed_on, transaction_id, reversal_id, \
     late_failed, created_at";

#[derive(sqlx::FromRow)]
struct PaymentRow {
    id: i64,
    uuid: String,
    account_id: i64,
    ledger_id: i64,
    instruction_id: Option<i64>,
    schedule_id: Option<i64>,
    due_date: Option<NaiveDate>,
    attempt: i64,
    amount: i64,
    payment_date: NaiveDate,
    reference: String,
    method: String,
    reason: String,
    status: String,
    submitted_on: Option<NaiveDate>,
    changed_on: NaiveDate,
    transaction_id: Option<i64>,
    reversal_id: Option<i64>,
    late_failed: bool,
    created_at: DateTime<Utc>,
}

impl TryFrom<PaymentRow> for Payment {
    type Error = StoreError;

    fn try_from(row: PaymentRow) -> Result<Payment, StoreError> {
        Ok(Payment {
            id: row.id,
            uuid: row.uuid,
            account_id: row.account_id,
            ledger_id: row.ledger_id,
            instruction_id: row.instruction_id,
            schedule_id: row.schedule_id,
            due_date: row.due_date,
            attempt: row.attempt,
            amount: row.amount,
            payment_date: row.payment_date,
            reference: row.reference,
            method: corrupt("payment method", row.method.parse())?,
            reason: corrupt("payment reason", row.reason.parse())?,
            status: corrupt("payment status", row.status.parse())?,
            submitted_on: row.submitted_on,
            changed_on: row.changed_on,
            transaction_id: row.transaction_id,
            reversal_id: row.reversal_id,
            late_failed: row.late_failed,
            created_at: row.created_at,
        })
    }
}

/// A payment to create.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub uuid: String,
    pub account_id: i64,
    pub ledger_id: i64,
    pub instruction_id: Option<i64>,
    pub schedule_id: Option<i64>,
    pub due_date: Option<NaiveDate>,
    pub attempt: i64,
    pub amount: i64,
    pub payment_date: NaiveDate,
    pub reference: String,
    pub method: PaymentMethod,
    pub reason: PaymentReason,
    pub status: PaymentStatus,
}

/// Creates a payment and its first history row; `None` when the schedule already has a payment
/// for that due date and attempt.
pub async fn insert_payment(
    db: &Db,
    new: &NewPayment,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Option<Payment>, StoreError> {
    let mut tx = db.begin().await?;
    let row: Option<PaymentRow> = on_tx!(&mut tx, |conn| {
        sqlx::query_as(&format!(
        "INSERT INTO payments (uuid, account_id, ledger_id, instruction_id, schedule_id, due_date, attempt, amount, \
         payment_date, reference, method, reason, status, changed_on, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) \
         ON CONFLICT (schedule_id, due_date, attempt) DO NOTHING RETURNING {PAYMENT_COLUMNS}"
    ))
    .bind(&new.uuid)
    .bind(new.account_id)
    .bind(new.ledger_id)
    .bind(new.instruction_id)
    .bind(new.schedule_id)
    .bind(new.due_date)
    .bind(new.attempt)
    .bind(new.amount)
    .bind(new.payment_date)
    .bind(&new.reference)
    .bind(new.method.as_str())
    .bind(new.reason.as_str())
    .bind(new.status.as_str())
    .bind(today)
    .bind(now)
    .fetch_optional(conn)
    .await
    })?;
    let Some(row) = row else {
        tx.rollback().await?;
        return Ok(None);
    };
    append_payment_history(&mut tx, row.id, new.status, today, now).await?;
    tx.commit().await?;
    Ok(Some(row.try_into()?))
}

async fn append_payment_history(
    tx: &mut Tx,
    payment_id: i64,
    status: PaymentStatus,
    on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    append_history(tx, History::Payment, payment_id, status.as_str(), on, now).await
}

/// The two append-only status histories.
#[derive(Debug, Clone, Copy)]
enum History {
    Payment,
    Repayment,
}

impl History {
    fn insert_sql(self) -> &'static str {
        match self {
            History::Payment => {
                "INSERT INTO payment_status_history (payment_id, status, on_date, at) VALUES ($1, $2, $3, $4)"
            }
            History::Repayment => {
                "INSERT INTO repayment_status_history (repayment_id, status, on_date, at) VALUES ($1, $2, $3, $4)"
            }
        }
    }
}

/// Appends a status change to a payment's or a repayment's history.
async fn append_history(
    tx: &mut Tx,
    history: History,
    id: i64,
    status: &str,
    on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_tx!(&mut *tx, |conn| {
        sqlx::query(history.insert_sql())
            .bind(id)
            .bind(status)
            .bind(on)
            .bind(now)
            .execute(conn)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// What else changes with a payment's status.
#[derive(Debug, Clone, Copy, Default)]
pub struct PaymentChange {
    pub submitted_on: Option<NaiveDate>,
    pub transaction_id: Option<i64>,
    pub reversal_id: Option<i64>,
    pub late_failed: bool,
}

/// Moves a payment from `from` to `to` inside `tx` and appends the history row; `Conflict` if
/// it was no longer `from`.
pub async fn move_payment(
    tx: &mut Tx,
    id: i64,
    from: PaymentStatus,
    to: PaymentStatus,
    change: PaymentChange,
    on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Payment, StoreError> {
    let row: Option<PaymentRow> = on_tx!(&mut *tx, |conn| sqlx::query_as(&format!(
        "UPDATE payments SET status = $1, submitted_on = COALESCE($2, submitted_on), \
         transaction_id = COALESCE($3, transaction_id), reversal_id = COALESCE($4, reversal_id), \
         late_failed = (late_failed OR $5), changed_on = $6, updated_at = $7 \
         WHERE id = $8 AND status = $9 RETURNING {PAYMENT_COLUMNS}"
    ))
    .bind(to.as_str())
    .bind(change.submitted_on)
    .bind(change.transaction_id)
    .bind(change.reversal_id)
    .bind(change.late_failed)
    .bind(on)
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .fetch_optional(conn)
    .await)?;
    let row = row.ok_or(StoreError::Conflict)?;
    append_payment_history(tx, id, to, on, now).await?;
    row.try_into()
}

/// One payment by id.
pub async fn payment(db: &Db, id: i64) -> Result<Option<Payment>, StoreError> {
    let row: Option<PaymentRow> = on_db!(db, |pool| sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    row.map(Payment::try_from).transpose()
}

/// The account's payments, newest payment date first.
pub async fn payments_of_account(db: &Db, account_id: i64) -> Result<Vec<Payment>, StoreError> {
    let rows: Vec<PaymentRow> = on_db!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE account_id = $1 ORDER BY payment_date DESC, id DESC"
    ))
    .bind(account_id)
    .fetch_all(pool)
    .await
    })?;
    rows.into_iter().map(Payment::try_from).collect()
}

/// Payments in one of `statuses` with an id above `after`, `limit` at a time.
pub async fn payments_in(
    db: &Db,
    statuses: &[PaymentStatus],
    after: i64,
    limit: i64,
) -> Result<Vec<Payment>, StoreError> {
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<PaymentRow> = on_db!(db, |pool| {
        let mut query = sqlx::QueryBuilder::new(format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE id > "
        ));
        query.push_bind(after).push(" AND status IN (");
        let mut list = query.separated(", ");
        for status in statuses {
            list.push_bind(status.as_str());
        }
        query.push(") ORDER BY id LIMIT ").push_bind(limit);
        query.build_query_as().fetch_all(pool).await
    })?;
    rows.into_iter().map(Payment::try_from).collect()
}

/// The statuses a payment went through, oldest first, with the day of each.
pub async fn payment_history(
    db: &Db,
    payment_id: i64,
) -> Result<Vec<(PaymentStatus, NaiveDate)>, StoreError> {
    let rows: Vec<(String, NaiveDate)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT status, on_date FROM payment_status_history WHERE payment_id = $1 ORDER BY id"
    )
    .bind(payment_id)
    .fetch_all(pool)
    .await)?;
    rows.into_iter()
        .map(|(s, d)| Ok((corrupt("payment status", s.parse())?, d)))
        .collect()
}

// ----------------------------------------------------------------------------------------------
// Repayment requests and repayments
// ----------------------------------------------------------------------------------------------

/// A customer's request for money back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepaymentRequest {
    pub id: i64,
    /// The public id, `RR-...`.
    pub request_id: String,
    pub account_id: i64,
    pub ledger_id: i64,
    pub amount: i64,
    pub method: RepaymentMethod,
    pub instruction_id: Option<i64>,
    pub reason: Option<String>,
    pub status: RepaymentRequestStatus,
    pub fingerprint: String,
}

const REQUEST_COLUMNS: &str = "id, request_id, account_id, ledger_id, amount, method, instruction_id, reason, status, fingerprint";

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: i64,
    request_id: String,
    account_id: i64,
    ledger_id: i64,
    amount: i64,
    method: String,
    instruction_id: Option<i64>,
    reason: Option<String>,
    status: String,
    fingerprint: String,
}

impl TryFrom<RequestRow> for RepaymentRequest {
    type Error = StoreError;

    fn try_from(row: RequestRow) -> Result<RepaymentRequest, StoreError> {
        Ok(RepaymentRequest {
            id: row.id,
            request_id: row.request_id,
            account_id: row.account_id,
            ledger_id: row.ledger_id,
            amount: row.amount,
            method: corrupt("repayment method", row.method.parse())?,
            instruction_id: row.instruction_id,
            reason: row.reason,
            status: corrupt("repayment request status", row.status.parse())?,
            fingerprint: row.fingerprint,
        })
    }
}

/// A request to store.
#[derive(Debug, Clone)]
pub struct NewRepaymentRequest<'a> {
    pub request_id: &'a str,
    pub account_id: i64,
    pub ledger_id: i64,
    pub amount: i64,
    pub method: RepaymentMethod,
    pub instruction_id: Option<i64>,
    pub reason: Option<&'a str>,
    pub idempotency_key: &'a str,
    pub fingerprint: &'a str,
    /// The balance the ledger keeps as a buffer (see `resiflex_domain::payments::maximum_refund`).
    pub recommended_balance: i64,
}

/// What storing a request under an idempotency key came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyed<T> {
    /// Stored now.
    New(T),
    /// Stored before under the same key (the caller compares the fingerprint).
    Existing(T),
    /// Refused: more than may be asked for, as worked out under the ledger's lock.
    OverLimit(resiflex_domain::payments::MaximumRefund),
}

/// The request stored under the account's idempotency key, if any.
pub async fn request_by_key(
    db: &Db,
    account_id: i64,
    key: &str,
) -> Result<Option<RepaymentRequest>, StoreError> {
    let row: Option<RequestRow> = on_db!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM repayment_requests WHERE account_id = $1 AND idempotency_key = $2"
    ))
    .bind(account_id)
    .bind(key)
    .fetch_optional(pool)
    .await
    })?;
    row.map(RepaymentRequest::try_from).transpose()
}

/// Stores a request and its repayment (REQUESTED) together, or finds the one stored under the
/// same key.
pub async fn insert_request(
    db: &Db,
    new: &NewRepaymentRequest<'_>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Keyed<RepaymentRequest>, StoreError> {
    let mut tx = db.begin().await?;
    // The limit is worked out again under the ledger's lock, so two requests at once can never
    // together ask for more than the ledger holds.
    let lock = if matches!(tx, crate::Tx::Postgres(_)) {
        " FOR UPDATE"
    } else {
        ""
    };
    let balance: i64 = on_tx!(&mut tx, |conn| {
        sqlx::query_scalar(&format!("SELECT balance FROM ledgers WHERE id = $1{lock}"))
            .bind(new.ledger_id)
            .fetch_one(conn)
            .await
    })?;
    let outstanding: Option<i64> = on_tx!(&mut tx, |conn| {
        sqlx::query_scalar(OUTSTANDING_SQL)
            .bind(new.ledger_id)
            .fetch_one(conn)
            .await
    })?;
    let max = resiflex_domain::payments::maximum_refund(
        balance,
        outstanding.unwrap_or(0),
        new.recommended_balance,
    );
    if new.amount > max.amount {
        if let Some(existing) = request_by_key(db, new.account_id, new.idempotency_key).await? {
            tx.rollback().await?;
            return Ok(Keyed::Existing(existing));
        }
        tx.rollback().await?;
        return Ok(Keyed::OverLimit(max));
    }
    let row: Option<RequestRow> = on_tx!(&mut tx, |conn| {
        sqlx::query_as(&format!(
        "INSERT INTO repayment_requests (request_id, account_id, ledger_id, amount, method, instruction_id, reason, \
         status, idempotency_key, fingerprint, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'REQUESTED', $8, $9, $10, $10) \
         ON CONFLICT (account_id, idempotency_key) DO NOTHING RETURNING {REQUEST_COLUMNS}"
    ))
    .bind(new.request_id)
    .bind(new.account_id)
    .bind(new.ledger_id)
    .bind(new.amount)
    .bind(new.method.as_str())
    .bind(new.instruction_id)
    .bind(new.reason)
    .bind(new.idempotency_key)
    .bind(new.fingerprint)
    .bind(now)
    .fetch_optional(conn)
    .await
    })?;
    let Some(row) = row else {
        tx.rollback().await?;
        return request_by_key(db, new.account_id, new.idempotency_key)
            .await?
            .map(Keyed::Existing)
            .ok_or(StoreError::Conflict);
    };
    let repayment = NewRepayment {
        account_id: new.account_id,
        ledger_id: new.ledger_id,
        request_id: Some(row.id),
        payment_id: None,
        instruction_id: new.instruction_id,
        amount: new.amount,
        payment_date: today,
        status: RepaymentStatus::Requested,
        reason: new.reason.unwrap_or("Customer request").to_owned(),
        idempotency_key: None,
        fingerprint: None,
    };
    insert_repayment_in(&mut tx, &repayment, today, now).await?;
    tx.commit().await?;
    Ok(Keyed::New(row.try_into()?))
}

/// One request by its public id.
pub async fn request(db: &Db, request_id: &str) -> Result<Option<RepaymentRequest>, StoreError> {
    let row: Option<RequestRow> = on_db!(db, |pool| sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM repayment_requests WHERE request_id = $1"
    ))
    .bind(request_id)
    .fetch_optional(pool)
    .await)?;
    row.map(RepaymentRequest::try_from).transpose()
}

/// One request by row id.
pub async fn request_by_id(db: &Db, id: i64) -> Result<Option<RepaymentRequest>, StoreError> {
    let row: Option<RequestRow> = on_db!(db, |pool| sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM repayment_requests WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    row.map(RepaymentRequest::try_from).transpose()
}

/// A ledger's requests, newest first.
pub async fn requests_of_ledger(
    db: &Db,
    ledger_id: i64,
) -> Result<Vec<RepaymentRequest>, StoreError> {
    let rows: Vec<RequestRow> = on_db!(db, |pool| sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM repayment_requests WHERE ledger_id = $1 ORDER BY id DESC"
    ))
    .bind(ledger_id)
    .fetch_all(pool)
    .await)?;
    rows.into_iter().map(RepaymentRequest::try_from).collect()
}

/// Moves a request inside `tx`; `Conflict` if it was no longer `from`.
pub async fn move_request(
    tx: &mut Tx,
    id: i64,
    from: RepaymentRequestStatus,
    to: RepaymentRequestStatus,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let moved = on_tx!(&mut *tx, |conn| {
        sqlx::query(
        "UPDATE repayment_requests SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4"
    )
    .bind(to.as_str())
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .execute(conn)
    .await
    .map(|done| done.rows_affected())
    })?;
    if moved == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

/// Money going back to the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repayment {
    pub id: i64,
    pub account_id: i64,
    pub ledger_id: i64,
    /// The request it answers.
    pub request_id: Option<i64>,
    /// The payment it refunds.
    pub payment_id: Option<i64>,
    pub instruction_id: Option<i64>,
    pub amount: i64,
    pub payment_date: NaiveDate,
    pub status: RepaymentStatus,
    pub reason: String,
    pub submitted_on: Option<NaiveDate>,
    pub transaction_id: Option<i64>,
    pub reversal_id: Option<i64>,
    pub fingerprint: Option<String>,
}

const REPAYMENT_COLUMNS: &str = "id, account_id, ledger_id, request_id, payment_id, instruction_id, amount, payment_date, \
     status, reason, submitted_on, transaction_id, reversal_id, fingerprint";

#[derive(sqlx::FromRow)]
struct RepaymentRow {
    id: i64,
    account_id: i64,
    ledger_id: i64,
    request_id: Option<i64>,
    payment_id: Option<i64>,
    instruction_id: Option<i64>,
    amount: i64,
    payment_date: NaiveDate,
    status: String,
    reason: String,
    submitted_on: Option<NaiveDate>,
    transaction_id: Option<i64>,
    reversal_id: Option<i64>,
    fingerprint: Option<String>,
}

impl TryFrom<RepaymentRow> for Repayment {
    type Error = StoreError;

    fn try_from(row: RepaymentRow) -> Result<Repayment, StoreError> {
        Ok(Repayment {
            id: row.id,
            account_id: row.account_id,
            ledger_id: row.ledger_id,
            request_id: row.request_id,
            payment_id: row.payment_id,
            instruction_id: row.instruction_id,
            amount: row.amount,
            payment_date: row.payment_date,
            status: corrupt("repayment status", row.status.parse())?,
            reason: row.reason,
            submitted_on: row.submitted_on,
            transaction_id: row.transaction_id,
            reversal_id: row.reversal_id,
            fingerprint: row.fingerprint,
        })
    }
}

/// A repayment to store.
#[derive(Debug, Clone)]
pub struct NewRepayment {
    pub account_id: i64,
    pub ledger_id: i64,
    pub request_id: Option<i64>,
    pub payment_id: Option<i64>,
    pub instruction_id: Option<i64>,
    pub amount: i64,
    pub payment_date: NaiveDate,
    pub status: RepaymentStatus,
    pub reason: String,
    pub idempotency_key: Option<String>,
    pub fingerprint: Option<String>,
}

async fn insert_repayment_in(
    tx: &mut Tx,
    new: &NewRepayment,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Option<Repayment>, StoreError> {
    let row: Option<RepaymentRow> = on_tx!(&mut *tx, |conn| {
        sqlx::query_as(&format!(
        "INSERT INTO repayments (account_id, ledger_id, request_id, payment_id, instruction_id, amount, payment_date, \
         status, reason, idempotency_key, fingerprint, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) \
         ON CONFLICT (account_id, idempotency_key) DO NOTHING RETURNING {REPAYMENT_COLUMNS}"
    ))
    .bind(new.account_id)
    .bind(new.ledger_id)
    .bind(new.request_id)
    .bind(new.payment_id)
    .bind(new.instruction_id)
    .bind(new.amount)
    .bind(new.payment_date)
    .bind(new.status.as_str())
    .bind(&new.reason)
    .bind(new.idempotency_key.as_deref())
    .bind(new.fingerprint.as_deref())
    .bind(now)
    .fetch_optional(conn)
    .await
    })?;
    let Some(row) = row else {
        return Ok(None);
    };
    append_repayment_history(tx, row.id, new.status, today, now).await?;
    Ok(Some(row.try_into()?))
}

/// Stores a repayment (a refund of a payment) under its idempotency key, or finds the one stored
/// under the same key.
pub async fn insert_repayment(
    db: &Db,
    new: &NewRepayment,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Keyed<Repayment>, StoreError> {
    let mut tx = db.begin().await?;
    if let Some(stored) = insert_repayment_in(&mut tx, new, today, now).await? {
        tx.commit().await?;
        return Ok(Keyed::New(stored));
    }
    tx.rollback().await?;
    let key = new.idempotency_key.as_deref().ok_or(StoreError::Conflict)?;
    let row: Option<RepaymentRow> = on_db!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT {REPAYMENT_COLUMNS} FROM repayments WHERE account_id = $1 AND idempotency_key = $2"
    ))
    .bind(new.account_id)
    .bind(key)
    .fetch_optional(pool)
    .await
    })?;
    Ok(Keyed::Existing(
        row.ok_or(StoreError::Conflict)?.try_into()?,
    ))
}

async fn append_repayment_history(
    tx: &mut Tx,
    repayment_id: i64,
    status: RepaymentStatus,
    on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    append_history(
        tx,
        History::Repayment,
        repayment_id,
        status.as_str(),
        on,
        now,
    )
    .await
}

/// What else changes with a repayment's status.
#[derive(Debug, Clone, Copy, Default)]
pub struct RepaymentChange {
    pub submitted_on: Option<NaiveDate>,
    pub transaction_id: Option<i64>,
    pub reversal_id: Option<i64>,
}

/// Moves a repayment inside `tx` and appends the history row; `Conflict` if it was no longer
/// `from`.
pub async fn move_repayment(
    tx: &mut Tx,
    id: i64,
    from: RepaymentStatus,
    to: RepaymentStatus,
    change: RepaymentChange,
    on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Repayment, StoreError> {
    let row: Option<RepaymentRow> = on_tx!(&mut *tx, |conn| {
        sqlx::query_as(&format!(
        "UPDATE repayments SET status = $1, submitted_on = COALESCE($2, submitted_on), \
         transaction_id = COALESCE($3, transaction_id), reversal_id = COALESCE($4, reversal_id), updated_at = $5 \
         WHERE id = $6 AND status = $7 RETURNING {REPAYMENT_COLUMNS}"
    ))
    .bind(to.as_str())
    .bind(change.submitted_on)
    .bind(change.transaction_id)
    .bind(change.reversal_id)
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .fetch_optional(conn)
    .await
    })?;
    let row = row.ok_or(StoreError::Conflict)?;
    append_repayment_history(tx, id, to, on, now).await?;
    row.try_into()
}

/// The repayment stored under the account's idempotency key, if any.
pub async fn repayment_by_key(
    db: &Db,
    account_id: i64,
    key: &str,
) -> Result<Option<Repayment>, StoreError> {
    let row: Option<RepaymentRow> = on_db!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT {REPAYMENT_COLUMNS} FROM repayments WHERE account_id = $1 AND idempotency_key = $2"
    ))
    .bind(account_id)
    .bind(key)
    .fetch_optional(pool)
    .await
    })?;
    row.map(Repayment::try_from).transpose()
}

/// One repayment by id.
pub async fn repayment(db: &Db, id: i64) -> Result<Option<Repayment>, StoreError> {
    let row: Option<RepaymentRow> = on_db!(db, |pool| sqlx::query_as(&format!(
        "SELECT {REPAYMENT_COLUMNS} FROM repayments WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    row.map(Repayment::try_from).transpose()
}

/// The account's repayments whose request (if any) is still standing, newest first.
pub async fn repayments_of_account(db: &Db, account_id: i64) -> Result<Vec<Repayment>, StoreError> {
    let rows: Vec<RepaymentRow> = on_db!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT {REPAYMENT_COLUMNS} FROM repayments r WHERE account_id = $1 AND NOT EXISTS \
         (SELECT 1 FROM repayment_requests q WHERE q.id = r.request_id AND q.status IN ('CANCELLED', 'REJECTED')) \
         ORDER BY id DESC"
    ))
    .bind(account_id)
    .fetch_all(pool)
    .await
    })?;
    rows.into_iter().map(Repayment::try_from).collect()
}

/// The repayment of a request.
pub async fn repayment_of_request(
    db: &Db,
    request_id: i64,
) -> Result<Option<Repayment>, StoreError> {
    let row: Option<RepaymentRow> = on_db!(db, |pool| sqlx::query_as(&format!(
        "SELECT {REPAYMENT_COLUMNS} FROM repayments WHERE request_id = $1"
    ))
    .bind(request_id)
    .fetch_optional(pool)
    .await)?;
    row.map(Repayment::try_from).transpose()
}

/// Repayments in one of `statuses` (of standing requests) with an id above `after`, `limit` at
/// a time.
pub async fn repayments_in(
    db: &Db,
    statuses: &[RepaymentStatus],
    paid_since: Option<NaiveDate>,
    after: i64,
    limit: i64,
) -> Result<Vec<Repayment>, StoreError> {
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<RepaymentRow> = on_db!(db, |pool| {
        let mut query = sqlx::QueryBuilder::new(format!(
            "SELECT {REPAYMENT_COLUMNS} FROM repayments WHERE id > "
        ));
        query.push_bind(after).push(" AND status IN (");
        let mut list = query.separated(", ");
        for status in statuses {
            list.push_bind(status.as_str());
        }
        query.push(")");
        if let Some(since) = paid_since {
            query
                .push(" AND (status <> 'PAID' OR submitted_on >= ")
                .push_bind(since)
                .push(")");
        }
        query.push(" ORDER BY id LIMIT ").push_bind(limit);
        query.build_query_as().fetch_all(pool).await
    })?;
    rows.into_iter().map(Repayment::try_from).collect()
}

/// What has been or is being refunded of a payment (every repayment of it that has not failed).
pub async fn refunded_of_payment(db: &Db, payment_id: i64) -> Result<i64, StoreError> {
    let sum: Option<i64> = on_db!(db, |pool| {
        sqlx::query_scalar(
        "SELECT CAST(SUM(amount) AS BIGINT) FROM repayments WHERE payment_id = $1 AND status <> 'FAILED'"
    )
    .bind(payment_id)
    .fetch_one(pool)
    .await
    })?;
    Ok(sum.unwrap_or(0))
}

const OUTSTANDING_SQL: &str = "SELECT CAST(SUM(amount) AS BIGINT) FROM repayments r WHERE ledger_id = $1 \
     AND status IN ('REQUESTED', 'APPROVED', 'SUBMITTED') AND NOT EXISTS \
     (SELECT 1 FROM repayment_requests q WHERE q.id = r.request_id AND q.status IN ('CANCELLED', 'REJECTED'))";

/// What is promised back from a ledger but not yet on it (requested, approved or submitted
/// repayments of standing requests).
pub async fn outstanding_of_ledger(db: &Db, ledger_id: i64) -> Result<i64, StoreError> {
    let sum: Option<i64> = on_db!(db, |pool| {
        sqlx::query_scalar(OUTSTANDING_SQL)
            .bind(ledger_id)
            .fetch_one(pool)
            .await
    })?;
    Ok(sum.unwrap_or(0))
}

/// The closing balance of the ledger's latest issued statement (positive: in credit).
pub async fn latest_issued_closing_balance(
    db: &Db,
    ledger_id: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(on_db!(db, |pool| sqlx::query_scalar(
        "SELECT closing_balance FROM statements WHERE ledger_id = $1 AND issued_at IS NOT NULL \
         ORDER BY period_to DESC, id DESC LIMIT 1"
    )
    .bind(ledger_id)
    .fetch_optional(pool)
    .await)?)
}

/// The accounts' time zone: their first property's, for dates on the account's clock.
pub async fn time_zone_of_account(db: &Db, account_id: i64) -> Result<Option<String>, StoreError> {
    Ok(on_db!(db, |pool| sqlx::query_scalar(
        "SELECT time_zone FROM properties WHERE account_id = $1 ORDER BY id LIMIT 1"
    )
    .bind(account_id)
    .fetch_optional(pool)
    .await)?)
}
