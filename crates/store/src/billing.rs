//! Billing rows: each account's billing options and trigger, the organisations' billing settings,
//! what each billing run charged (`billed_periods`), and statements (the `statements` table of
//! 0022): opened over a ledger's transactions up to its last sequence, then closed when issued.

use chrono::{DateTime, NaiveDate, Utc};
use resiflex_domain::billing::{
    BillingOptions, BillingPeriod, PeriodLength, StatementStatus, TriggerFrequency,
    TriggerOperation, TriggerSchedule, TriggerTarget,
};
use resiflex_domain::money::{Amounts, TransactionReason};

use crate::{Db, StoreError, Tx, corrupt, on_db, on_tx};

/// What starts a billing run for an account, and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trigger {
    pub frequency: TriggerFrequency,
    /// Every how many days, months or years it fires; `None` follows the billing options.
    pub multiplier: Option<u32>,
    /// The day of the month it fires on; `None` is the period start day.
    pub start_day: Option<u32>,
    /// The month a yearly trigger fires in; `None` is January.
    pub start_month: Option<u32>,
    pub operation: TriggerOperation,
    pub target: TriggerTarget,
}

impl Default for Trigger {
    fn default() -> Trigger {
        Trigger {
            frequency: TriggerFrequency::Monthly,
            multiplier: None,
            start_day: None,
            start_month: None,
            operation: TriggerOperation::ChargeTargetAndIssueStatement,
            target: TriggerTarget::Account,
        }
    }
}

impl Trigger {
    /// When the trigger fires, for an account billed by `options`.
    pub fn schedule(&self, options: BillingOptions) -> TriggerSchedule {
        TriggerSchedule::resolve(
            self.frequency,
            self.multiplier,
            self.start_day,
            self.start_month,
            options,
        )
    }
}

/// An account's billing set-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountBilling {
    pub account_id: i64,
    pub options: BillingOptions,
    pub trigger: Trigger,
    /// The first day not yet charged; `None` before the first run.
    pub billed_through: Option<NaiveDate>,
    /// The first day of the first period without a statement; `None` before the first one.
    pub stated_through: Option<NaiveDate>,
    /// When the set-up was first stored; `None` while the defaults apply.
    pub since: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct OptionsRow {
    account_id: i64,
    period_start_day: Option<i32>,
    period_length: Option<String>,
    period_length_multiplier: Option<i32>,
    is_fixed: Option<bool>,
    trigger_frequency: Option<String>,
    trigger_operation: Option<String>,
    trigger_target: Option<String>,
    trigger_multiplier: Option<i32>,
    trigger_start_day: Option<i32>,
    trigger_start_month: Option<i32>,
    billed_through: Option<NaiveDate>,
    stated_through: Option<NaiveDate>,
    created_at: Option<DateTime<Utc>>,
}

impl OptionsRow {
    fn into_billing(self) -> Result<AccountBilling, StoreError> {
        let defaults = BillingOptions::default();
        let trigger = Trigger::default();
        Ok(AccountBilling {
            account_id: self.account_id,
            options: BillingOptions {
                period_start_day: self
                    .period_start_day
                    .and_then(|d| u32::try_from(d).ok())
                    .unwrap_or(defaults.period_start_day),
                period_length: match self.period_length {
                    Some(text) => corrupt("billing period length", text.parse())?,
                    None => PeriodLength::Monthly,
                },
                multiplier: self
                    .period_length_multiplier
                    .and_then(|m| u32::try_from(m).ok())
                    .unwrap_or(defaults.multiplier),
                is_fixed: self.is_fixed.unwrap_or(defaults.is_fixed),
            },
            trigger: Trigger {
                frequency: match self.trigger_frequency {
                    Some(text) => corrupt("billing trigger frequency", text.parse())?,
                    None => trigger.frequency,
                },
                multiplier: self.trigger_multiplier.and_then(|m| u32::try_from(m).ok()),
                start_day: self.trigger_start_day.and_then(|d| u32::try_from(d).ok()),
                start_month: self.trigger_start_month.and_then(|m| u32::try_from(m).ok()),
                operation: match self.trigger_operation {
                    Some(text) => corrupt("billing trigger operation", text.parse())?,
                    None => trigger.operation,
                },
                target: match self.trigger_target {
                    Some(text) => corrupt("billing trigger target", text.parse())?,
                    None => trigger.target,
                },
            },
            billed_through: self.billed_through,
            stated_through: self.stated_through,
            since: self.created_at,
        })
    }
}

const OPTIONS_SELECT: &str = "SELECT a.id AS account_id, o.period_start_day, o.period_length, \
     o.period_length_multiplier, o.is_fixed, o.trigger_frequency, o.trigger_operation, o.trigger_target, \
     o.trigger_multiplier, o.trigger_start_day, o.trigger_start_month, o.billed_through, \
     o.stated_through, o.created_at FROM accounts a LEFT JOIN billing_options o ON o.account_id = a.id";

/// The account's billing set-up (the defaults when none was stored).
pub async fn billing_of(db: &Db, account_id: i64) -> Result<AccountBilling, StoreError> {
    let row: Option<OptionsRow> = on_db!(db, |pool| sqlx::query_as(&format!(
        "{OPTIONS_SELECT} WHERE a.id = $1"
    ))
    .bind(account_id)
    .fetch_optional(pool)
    .await)?;
    row.ok_or(StoreError::NotFound)?.into_billing()
}

/// A page of accounts by id (those after `after`, at most `limit`) with their billing set-up.
pub async fn billing_page(
    db: &Db,
    after: i64,
    limit: i64,
) -> Result<Vec<AccountBilling>, StoreError> {
    let rows: Vec<OptionsRow> = on_db!(db, |pool| sqlx::query_as(&format!(
        "{OPTIONS_SELECT} WHERE a.id > $1 ORDER BY a.id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await)?;
    rows.into_iter().map(OptionsRow::into_billing).collect()
}

/// Stores the account's billing options and trigger.
pub async fn set_billing(
    db: &Db,
    account_id: i64,
    options: &BillingOptions,
    trigger: &Trigger,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
        "INSERT INTO billing_options (account_id, period_start_day, period_length, period_length_multiplier, \
         is_fixed, trigger_frequency, trigger_operation, trigger_target, trigger_multiplier, \
         trigger_start_day, trigger_start_month, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) ON CONFLICT (account_id) DO UPDATE SET \
         period_start_day = excluded.period_start_day, period_length = excluded.period_length, \
         period_length_multiplier = excluded.period_length_multiplier, is_fixed = excluded.is_fixed, \
         trigger_frequency = excluded.trigger_frequency, trigger_operation = excluded.trigger_operation, \
         trigger_target = excluded.trigger_target, trigger_multiplier = excluded.trigger_multiplier, \
         trigger_start_day = excluded.trigger_start_day, trigger_start_month = excluded.trigger_start_month, \
         updated_at = excluded.updated_at"
    )
    .bind(account_id)
    .bind(i32::try_from(options.period_start_day).unwrap_or(1))
    .bind(options.period_length.as_str())
    .bind(i32::try_from(options.multiplier).unwrap_or(1))
    .bind(options.is_fixed)
    .bind(trigger.frequency.as_str())
    .bind(trigger.operation.as_str())
    .bind(trigger.target.as_str())
    .bind(trigger.multiplier.and_then(|m| i32::try_from(m).ok()))
    .bind(trigger.start_day.and_then(|d| i32::try_from(d).ok()))
    .bind(trigger.start_month.and_then(|m| i32::try_from(m).ok()))
    .bind(now)
    .execute(pool)
    .await
    .map(|_| ())
    })?;
    Ok(())
}

/// Records that the account is charged up to (not including) `billed`, and has statements for
/// the periods before `stated`.
pub async fn set_billed_through(
    db: &Db,
    account_id: i64,
    billed: Option<NaiveDate>,
    stated: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
        "INSERT INTO billing_options (account_id, billed_through, stated_through, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (account_id) DO UPDATE SET \
         billed_through = excluded.billed_through, stated_through = excluded.stated_through, \
         updated_at = excluded.updated_at"
    )
    .bind(account_id)
    .bind(billed)
    .bind(stated)
    .bind(now)
    .execute(pool)
    .await
    .map(|_| ())
    })?;
    Ok(())
}

/// The organisation's SmartFlex reward, millionths of a minor unit per kWh (0 when not set).
pub async fn flex_reward_rate(db: &Db, organisation_id: i64) -> Result<i64, StoreError> {
    let rate: Option<i64> = on_db!(db, |pool| {
        sqlx::query_scalar(
        "SELECT CAST(flex_reward_micros_per_kwh AS BIGINT) FROM billing_settings WHERE organisation_id = $1"
    )
    .bind(organisation_id)
    .fetch_optional(pool)
    .await
    })?;
    Ok(rate.unwrap_or(0))
}

/// Sets the organisation's SmartFlex reward.
pub async fn set_flex_reward_rate(
    db: &Db,
    organisation_id: i64,
    micros_per_kwh: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
        "INSERT INTO billing_settings (organisation_id, flex_reward_micros_per_kwh, updated_at) \
         VALUES ($1, $2, $3) ON CONFLICT (organisation_id) DO UPDATE SET \
         flex_reward_micros_per_kwh = excluded.flex_reward_micros_per_kwh, updated_at = excluded.updated_at"
    )
    .bind(organisation_id)
    .bind(micros_per_kwh)
    .bind(now)
    .execute(pool)
    .await
    .map(|_| ())
    })?;
    Ok(())
}

/// Energy the account's devices drew in smart dispatches that ended in `(from, to]`, Wh.
pub async fn flexed_energy_wh(
    db: &Db,
    account_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let wh: Option<i64> = on_db!(db, |pool| {
        sqlx::query_scalar(
        "SELECT CAST(SUM(c.energy_wh) AS BIGINT) FROM completed_dispatches c JOIN devices d ON d.id = c.device_id \
         WHERE d.account_id = $1 AND c.kind = 'SMART' AND c.energy_wh > 0 AND c.end_at > $2 AND c.end_at <= $3"
    )
    .bind(account_id)
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await
    })?;
    Ok(wh.unwrap_or(0))
}

/// One charged part of a billed period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilledPart {
    pub id: i64,
    pub account_id: i64,
    pub ledger_id: i64,
    /// What was charged, e.g. `agreement:12:consumption` or `flex`.
    pub subject: String,
    pub agreement_id: Option<i64>,
    pub reason: TransactionReason,
    pub period: BillingPeriod,
    pub revision: i32,
    pub transaction_id: i64,
    pub amounts: Amounts,
    pub consumption_milli: Option<i64>,
    /// Whether any reading behind it was an estimate.
    pub estimated: bool,
    pub superseded: bool,
}

/// A charged part to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBilledPart {
    pub account_id: i64,
    pub ledger_id: i64,
    pub subject: String,
    pub agreement_id: Option<i64>,
    pub reason: TransactionReason,
    pub period: BillingPeriod,
    pub revision: i32,
    pub transaction_id: i64,
    pub amounts: Amounts,
    pub consumption_milli: Option<i64>,
    pub estimated: bool,
}

#[derive(sqlx::FromRow)]
struct BilledRow {
    id: i64,
    account_id: i64,
    ledger_id: i64,
    subject: String,
    agreement_id: Option<i64>,
    reason: String,
    period_from: NaiveDate,
    period_to: NaiveDate,
    revision: i32,
    transaction_id: i64,
    net: i64,
    tax: i64,
    gross: i64,
    consumption_milli: Option<i64>,
    estimated: bool,
    superseded: bool,
}

impl TryFrom<BilledRow> for BilledPart {
    type Error = StoreError;

    fn try_from(row: BilledRow) -> Result<BilledPart, StoreError> {
        Ok(BilledPart {
            id: row.id,
            account_id: row.account_id,
            ledger_id: row.ledger_id,
            subject: row.subject,
            agreement_id: row.agreement_id,
            reason: corrupt("billed reason", row.reason.parse())?,
            period: BillingPeriod {
                from: row.period_from,
                to: row.period_to,
            },
            revision: row.revision,
            transaction_id: row.transaction_id,
            amounts: Amounts {
                net: row.net,
                tax: row.tax,
                gross: row.gross,
            },
            consumption_milli: row.consumption_milli,
            estimated: row.estimated,
            superseded: row.superseded,
        })
    }
}

const BILLED_COLUMNS: &str = "id, account_id, ledger_id, subject, agreement_id, reason, period_from, period_to, \
     revision, transaction_id, net, tax, gross, consumption_milli, estimated, superseded";

/// Records charged parts; a part already recorded (same account, subject, period and revision)
/// is left as it is.
pub async fn record_billed(
    db: &Db,
    parts: &[NewBilledPart],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if parts.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    record_billed_in(&mut tx, parts, now).await?;
    tx.commit().await?;
    Ok(())
}

/// [`record_billed`] inside the caller's transaction.
pub async fn record_billed_in(
    tx: &mut Tx,
    parts: &[NewBilledPart],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for chunk in parts.chunks(200) {
        on_tx!(&mut *tx, |conn| {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO billed_periods (account_id, ledger_id, subject, agreement_id, reason, period_from, \
                 period_to, revision, transaction_id, net, tax, gross, consumption_milli, estimated, superseded, created_at) ",
            );
            query.push_values(chunk, |mut row, p| {
                row.push_bind(p.account_id)
                    .push_bind(p.ledger_id)
                    .push_bind(p.subject.as_str())
                    .push_bind(p.agreement_id)
                    .push_bind(p.reason.as_str())
                    .push_bind(p.period.from)
                    .push_bind(p.period.to)
                    .push_bind(p.revision)
                    .push_bind(p.transaction_id)
                    .push_bind(p.amounts.net)
                    .push_bind(p.amounts.tax)
                    .push_bind(p.amounts.gross)
                    .push_bind(p.consumption_milli)
                    .push_bind(p.estimated)
                    .push_bind(false)
                    .push_bind(now);
            });
            query.push(" ON CONFLICT (account_id, subject, period_from, revision) DO NOTHING");
            query.build().execute(conn).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Which of these accounts have charged parts that rested on estimates and are still current.
pub async fn accounts_with_open_estimates(
    db: &Db,
    account_ids: &[i64],
) -> Result<std::collections::HashSet<i64>, StoreError> {
    let mut out = std::collections::HashSet::new();
    for chunk in account_ids.chunks(1_000) {
        let rows: Vec<i64> = on_db!(db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT DISTINCT account_id FROM billed_periods WHERE estimated = TRUE AND superseded = FALSE \
                 AND account_id IN (",
            );
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(")");
            query.build_query_scalar().fetch_all(pool).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// The reward rates of these organisations (0 where none is set).
pub async fn flex_reward_rates(
    db: &Db,
    organisation_ids: &[i64],
) -> Result<std::collections::HashMap<i64, i64>, StoreError> {
    let mut out: std::collections::HashMap<i64, i64> =
        organisation_ids.iter().map(|id| (*id, 0)).collect();
    for chunk in organisation_ids.chunks(1_000) {
        let rows: Vec<(i64, i64)> = on_db!(db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT organisation_id, CAST(flex_reward_micros_per_kwh AS BIGINT) FROM billing_settings \
                 WHERE organisation_id IN (",
            );
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(")");
            query.build_query_as().fetch_all(pool).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// [`set_billed_through`] for many accounts inside the caller's transaction, each charged and
/// stated up to the same day.
pub async fn set_billed_through_in(
    tx: &mut Tx,
    through: &[(i64, NaiveDate)],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for chunk in through.chunks(500) {
        on_tx!(&mut *tx, |conn| {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO billing_options (account_id, billed_through, stated_through, created_at, updated_at) ",
            );
            query.push_values(chunk, |mut row, (account, date)| {
                row.push_bind(*account)
                    .push_bind(*date)
                    .push_bind(*date)
                    .push_bind(now)
                    .push_bind(now);
            });
            query.push(
                " ON CONFLICT (account_id) DO UPDATE SET billed_through = excluded.billed_through, \
                 stated_through = excluded.stated_through, updated_at = excluded.updated_at",
            );
            query.build().execute(conn).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// A statement to issue: the ledger, its identifier and period, and its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementToIssue {
    pub ledger_id: i64,
    pub identifier: String,
    pub period: BillingPeriod,
    pub key: String,
}

/// Issues statements in the caller's transaction, all at once: each opens where its ledger's
/// previous statement closed and closes at the ledger's last transaction (as
/// [`open_statement`] and [`close_statement`] do one by one); a ledger with no transactions, or
/// one whose statement under the key exists already, gets none. Answers how many were issued.
pub async fn issue_statements_in(
    tx: &mut Tx,
    statements: &[StatementToIssue],
    issued_at: DateTime<Utc>,
    issued_date: NaiveDate,
    payment_due_date: NaiveDate,
) -> Result<u64, StoreError> {
    let mut issued = 0u64;
    let lock = if matches!(tx, Tx::Postgres(_)) {
        " FOR UPDATE"
    } else {
        ""
    };
    for chunk in statements.chunks(500) {
        let ids: Vec<i64> = chunk.iter().map(|s| s.ledger_id).collect();
        let ledgers: Vec<(i64, i64, i64)> = on_tx!(&mut *tx, |conn| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT id, balance, last_sequence FROM ledgers WHERE id IN (",
            );
            let mut list = query.separated(", ");
            for id in &ids {
                list.push_bind(*id);
            }
            query.push(") ORDER BY id").push(lock);
            query.build_query_as().fetch_all(conn).await
        })?;
        let ledgers: std::collections::HashMap<i64, (i64, i64)> =
            ledgers.into_iter().map(|(id, b, s)| (id, (b, s))).collect();
        let previous: Vec<(i64, i64, i64, String)> = on_tx!(&mut *tx, |conn| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT ledger_id, closing_sequence, closing_balance, idempotency_key FROM statements \
                 WHERE ledger_id IN (",
            );
            let mut list = query.separated(", ");
            for id in &ids {
                list.push_bind(*id);
            }
            query.push(") ORDER BY ledger_id, closing_sequence DESC, id DESC");
            query.build_query_as().fetch_all(conn).await
        })?;
        let mut last: std::collections::HashMap<i64, (i64, i64)> = Default::default();
        let mut keys: std::collections::HashSet<(i64, String)> = Default::default();
        for (ledger, sequence, balance, key) in previous {
            last.entry(ledger).or_insert((sequence, balance));
            keys.insert((ledger, key));
        }
        let rows: Vec<(&StatementToIssue, i64, i64, i64, i64)> = chunk
            .iter()
            .filter(|s| !keys.contains(&(s.ledger_id, s.key.clone())))
            .filter_map(|s| {
                let (balance, sequence) = *ledgers.get(&s.ledger_id)?;
                let (opening_sequence, opening_balance) =
                    last.get(&s.ledger_id).copied().unwrap_or((0, 0));
                (sequence > 0).then_some((
                    s,
                    opening_sequence,
                    sequence.max(opening_sequence),
                    opening_balance,
                    balance,
                ))
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        issued += rows.len() as u64;
        on_tx!(&mut *tx, |conn| {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO statements (ledger_id, identifier, bill_type, period_from, period_to, opening_sequence, \
                 closing_sequence, opening_balance, closing_balance, status, held, reversals_after_close, \
                 idempotency_key, created_at, issued_at, issued_date, payment_due_date) ",
            );
            query.push_values(&rows, |mut row, (s, opening_sequence, closing_sequence, opening_balance, closing_balance)| {
                row.push_bind(s.ledger_id)
                    .push_bind(s.identifier.as_str())
                    .push_bind("STATEMENT")
                    .push_bind(s.period.from)
                    .push_bind(s.period.to)
                    .push_bind(*opening_sequence)
                    .push_bind(*closing_sequence)
                    .push_bind(*opening_balance)
                    .push_bind(*closing_balance)
                    .push_bind("CLOSED")
                    .push_bind(false)
                    .push_bind("NONE")
                    .push_bind(s.key.as_str())
                    .push_bind(issued_at)
                    .push_bind(issued_at)
                    .push_bind(issued_date)
                    .push_bind(payment_due_date);
            });
            query.build().execute(conn).await.map(|_| ())
        })?;
    }
    Ok(issued)
}

/// The account's charged parts that rested on estimates and are still current.
pub async fn open_estimates(db: &Db, account_id: i64) -> Result<Vec<BilledPart>, StoreError> {
    let rows: Vec<BilledRow> = on_db!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT {BILLED_COLUMNS} FROM billed_periods WHERE account_id = $1 AND estimated = TRUE \
         AND superseded = FALSE ORDER BY period_from, id"
    ))
    .bind(account_id)
    .fetch_all(pool)
    .await
    })?;
    rows.into_iter().map(BilledPart::try_from).collect()
}

/// The account's charged parts of one period, every revision, oldest first.
pub async fn billed_in_period(
    db: &Db,
    account_id: i64,
    period_from: NaiveDate,
) -> Result<Vec<BilledPart>, StoreError> {
    let rows: Vec<BilledRow> = on_db!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT {BILLED_COLUMNS} FROM billed_periods WHERE account_id = $1 AND period_from = $2 ORDER BY id"
    ))
    .bind(account_id)
    .bind(period_from)
    .fetch_all(pool)
    .await
    })?;
    rows.into_iter().map(BilledPart::try_from).collect()
}

/// Records that a charged part's readings are all actual now (its amount stood).
pub async fn settle_estimate(db: &Db, id: i64) -> Result<(), StoreError> {
    on_db!(db, |pool| sqlx::query(
        "UPDATE billed_periods SET estimated = FALSE WHERE id = $1"
    )
    .bind(id)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Marks a charged part as replaced by a later revision.
pub async fn supersede(db: &Db, id: i64) -> Result<(), StoreError> {
    on_db!(db, |pool| sqlx::query(
        "UPDATE billed_periods SET superseded = TRUE WHERE id = $1"
    )
    .bind(id)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// A statement of a ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub id: i64,
    pub ledger_id: i64,
    pub identifier: String,
    pub period: BillingPeriod,
    /// It covers the ledger's transactions with `opening_sequence < sequence <= closing_sequence`.
    pub opening_sequence: i64,
    pub closing_sequence: i64,
    pub opening_balance: i64,
    pub closing_balance: i64,
    pub status: StatementStatus,
    pub held: bool,
    pub issued_at: Option<DateTime<Utc>>,
    pub issued_date: Option<NaiveDate>,
    pub payment_due_date: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct StatementRow {
    id: i64,
    ledger_id: i64,
    identifier: String,
    period_from: NaiveDate,
    period_to: NaiveDate,
    opening_sequence: i64,
    closing_sequence: i64,
    opening_balance: i64,
    closing_balance: i64,
    status: String,
    held: bool,
    issued_at: Option<DateTime<Utc>>,
    issued_date: Option<NaiveDate>,
    payment_due_date: Option<NaiveDate>,
    created_at: DateTime<Utc>,
}

impl TryFrom<StatementRow> for Statement {
    type Error = StoreError;

    fn try_from(row: StatementRow) -> Result<Statement, StoreError> {
        Ok(Statement {
            id: row.id,
            ledger_id: row.ledger_id,
            identifier: row.identifier,
            period: BillingPeriod {
                from: row.period_from,
                to: row.period_to,
            },
            opening_sequence: row.opening_sequence,
            closing_sequence: row.closing_sequence,
            opening_balance: row.opening_balance,
            closing_balance: row.closing_balance,
            status: corrupt("statement status", row.status.parse())?,
            held: row.held,
            issued_at: row.issued_at,
            issued_date: row.issued_date,
            payment_due_date: row.payment_due_date,
            created_at: row.created_at,
        })
    }
}

const STATEMENT_COLUMNS: &str = "s.id, s.ledger_id, s.identifier, s.period_from, s.period_to, s.opening_sequence, \
     s.closing_sequence, s.opening_balance, s.closing_balance, s.status, s.held, s.issued_at, s.issued_date, \
     s.payment_due_date, s.created_at";

async fn statement_by_key(
    tx: &mut Tx,
    ledger_id: i64,
    key: &str,
) -> Result<Option<Statement>, StoreError> {
    let row: Option<StatementRow> = on_tx!(&mut *tx, |conn| {
        sqlx::query_as(&format!(
        "SELECT {STATEMENT_COLUMNS} FROM statements s WHERE s.ledger_id = $1 AND s.idempotency_key = $2"
    ))
    .bind(ledger_id)
    .bind(key)
    .fetch_optional(conn)
    .await
    })?;
    row.map(Statement::try_from).transpose()
}

/// Opens a statement of the ledger for `period` under `key` (once: the same key returns the
/// first statement). It starts where the ledger's previous statement closed (sequence 0 and
/// balance 0 for the first) and covers every transaction up to the ledger's last one.
pub async fn open_statement(
    db: &Db,
    ledger_id: i64,
    identifier: &str,
    period: BillingPeriod,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Statement, StoreError> {
    let mut tx = db.begin().await?;
    let lock = if matches!(tx, Tx::Postgres(_)) {
        " FOR UPDATE"
    } else {
        ""
    };
    let ledger: Option<(i64, i64)> = on_tx!(&mut tx, |conn| sqlx::query_as(&format!(
        "SELECT balance, last_sequence FROM ledgers WHERE id = $1{lock}"
    ))
    .bind(ledger_id)
    .fetch_optional(conn)
    .await)?;
    let (balance, last_sequence) = ledger.ok_or(StoreError::NotFound)?;
    if let Some(existing) = statement_by_key(&mut tx, ledger_id, key).await? {
        tx.rollback().await?;
        return Ok(existing);
    }
    let previous: Option<(i64, i64)> = on_tx!(&mut tx, |conn| sqlx::query_as(
        "SELECT closing_sequence, closing_balance FROM statements WHERE ledger_id = $1 \
         ORDER BY closing_sequence DESC, id DESC LIMIT 1"
    )
    .bind(ledger_id)
    .fetch_optional(conn)
    .await)?;
    let (opening_sequence, opening_balance) = previous.unwrap_or((0, 0));
    on_tx!(&mut tx, |conn| {
        sqlx::query(
        "INSERT INTO statements (ledger_id, identifier, bill_type, period_from, period_to, opening_sequence, \
         closing_sequence, opening_balance, closing_balance, status, held, reversals_after_close, \
         idempotency_key, created_at) VALUES ($1, $2, 'STATEMENT', $3, $4, $5, $6, $7, $8, 'OPEN', FALSE, \
         'NOT_CLOSED', $9, $10)"
    )
    .bind(ledger_id)
    .bind(identifier)
    .bind(period.from)
    .bind(period.to)
    .bind(opening_sequence)
    .bind(last_sequence.max(opening_sequence))
    .bind(opening_balance)
    .bind(balance)
    .bind(key)
    .bind(now)
    .execute(conn)
    .await
    .map(|_| ())
    })?;
    let created = statement_by_key(&mut tx, ledger_id, key)
        .await?
        .ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(created)
}

/// Closes and issues an open statement; a closed one is left as it is.
pub async fn close_statement(
    db: &Db,
    id: i64,
    issued_at: DateTime<Utc>,
    issued_date: NaiveDate,
    payment_due_date: NaiveDate,
) -> Result<Option<Statement>, StoreError> {
    on_db!(db, |pool| sqlx::query(
        "UPDATE statements SET status = 'CLOSED', reversals_after_close = 'NONE', issued_at = $2, \
         issued_date = $3, payment_due_date = $4 WHERE id = $1 AND status = 'OPEN'"
    )
    .bind(id)
    .bind(issued_at)
    .bind(issued_date)
    .bind(payment_due_date)
    .execute(pool)
    .await
    .map(|_| ()))?;
    statement(db, id).await
}

/// One statement by id.
pub async fn statement(db: &Db, id: i64) -> Result<Option<Statement>, StoreError> {
    let row: Option<StatementRow> = on_db!(db, |pool| sqlx::query_as(&format!(
        "SELECT {STATEMENT_COLUMNS} FROM statements s WHERE s.id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    row.map(Statement::try_from).transpose()
}

/// One statement by its identifier.
pub async fn statement_by_identifier(
    db: &Db,
    identifier: &str,
) -> Result<Option<Statement>, StoreError> {
    let row: Option<StatementRow> = on_db!(db, |pool| sqlx::query_as(&format!(
        "SELECT {STATEMENT_COLUMNS} FROM statements s WHERE s.identifier = $1"
    ))
    .bind(identifier)
    .fetch_optional(pool)
    .await)?;
    row.map(Statement::try_from).transpose()
}

/// How statements are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatementOrder {
    /// Latest period first.
    #[default]
    FromDateDesc,
    /// Latest issued first (unissued last).
    IssuedDateDesc,
}

/// Which statements to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementQuery {
    pub ledger_ids: Vec<i64>,
    pub include_open: bool,
    pub include_held: bool,
    /// Periods ending on or after this day.
    pub from_date: Option<NaiveDate>,
    /// Periods starting on or before this day.
    pub to_date: Option<NaiveDate>,
    pub issued_from: Option<NaiveDate>,
    pub issued_to: Option<NaiveDate>,
    pub order: StatementOrder,
}

fn push_statement_filters<'a, DB: sqlx::Database>(
    query: &mut sqlx::QueryBuilder<'a, DB>,
    filter: &'a StatementQuery,
) where
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    NaiveDate: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    query.push(" WHERE s.ledger_id IN (");
    let mut list = query.separated(", ");
    for id in &filter.ledger_ids {
        list.push_bind(*id);
    }
    query.push(")");
    if !filter.include_open {
        query.push(" AND s.status = 'CLOSED'");
    }
    if !filter.include_held {
        query.push(" AND s.held = FALSE");
    }
    if let Some(from) = filter.from_date {
        query.push(" AND s.period_to >= ").push_bind(from);
    }
    if let Some(to) = filter.to_date {
        query.push(" AND s.period_from <= ").push_bind(to);
    }
    if let Some(from) = filter.issued_from {
        query.push(" AND s.issued_date >= ").push_bind(from);
    }
    if let Some(to) = filter.issued_to {
        query.push(" AND s.issued_date <= ").push_bind(to);
    }
}

/// How many statements match.
pub async fn count_statements(db: &Db, filter: &StatementQuery) -> Result<i64, StoreError> {
    if filter.ledger_ids.is_empty() {
        return Ok(0);
    }
    on_db!(db, |pool| {
        let mut query = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM statements s");
        push_statement_filters(&mut query, filter);
        query
            .build_query_scalar::<i64>()
            .fetch_one(pool)
            .await
            .map_err(StoreError::from)
    })
}

/// A page of the matching statements.
pub async fn statements(
    db: &Db,
    filter: &StatementQuery,
    offset: i64,
    limit: i64,
) -> Result<Vec<Statement>, StoreError> {
    if filter.ledger_ids.is_empty() || limit <= 0 {
        return Ok(Vec::new());
    }
    let order = match filter.order {
        StatementOrder::FromDateDesc => " ORDER BY s.period_from DESC, s.id DESC",
        StatementOrder::IssuedDateDesc => {
            " ORDER BY CASE WHEN s.issued_date IS NULL THEN 1 ELSE 0 END, s.issued_date DESC, s.id DESC"
        }
    };
    let rows: Vec<StatementRow> = on_db!(db, |pool| {
        let mut query =
            sqlx::QueryBuilder::new(format!("SELECT {STATEMENT_COLUMNS} FROM statements s"));
        push_statement_filters(&mut query, filter);
        query.push(order);
        query.push(" LIMIT ").push_bind(limit);
        query.push(" OFFSET ").push_bind(offset);
        query
            .build_query_as()
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)
    })?;
    rows.into_iter().map(Statement::try_from).collect()
}

/// Sums over a statement's transactions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatementFigures {
    pub charges: Amounts,
    pub credits: Amounts,
    /// The signed sum of every covered transaction (closing − opening balance).
    pub movement: i64,
    pub charge_count: i64,
    /// Charges on it that a transaction after it reversed.
    pub reversed_after_close: i64,
}

/// The figures of a statement, from its transactions.
pub async fn statement_figures(db: &Db, s: &Statement) -> Result<StatementFigures, StoreError> {
    type Row = (i64, i64, i64, i64, i64, i64, i64, i64, i64);
    let row: Row = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT \
           CAST(COALESCE(SUM(CASE WHEN t.kind = 'CHARGE' THEN t.net ELSE 0 END), 0) AS BIGINT), \
           CAST(COALESCE(SUM(CASE WHEN t.kind = 'CHARGE' THEN t.tax ELSE 0 END), 0) AS BIGINT), \
           CAST(COALESCE(SUM(CASE WHEN t.kind = 'CHARGE' THEN t.gross ELSE 0 END), 0) AS BIGINT), \
           CAST(COALESCE(SUM(CASE WHEN t.kind = 'CREDIT' THEN t.net ELSE 0 END), 0) AS BIGINT), \
           CAST(COALESCE(SUM(CASE WHEN t.kind = 'CREDIT' THEN t.tax ELSE 0 END), 0) AS BIGINT), \
           CAST(COALESCE(SUM(CASE WHEN t.kind = 'CREDIT' THEN t.gross ELSE 0 END), 0) AS BIGINT), \
           CAST(COALESCE(SUM(CASE WHEN t.kind IN ('CREDIT', 'PAYMENT') THEN t.gross ELSE -t.gross END), 0) AS BIGINT), \
           CAST(COALESCE(SUM(CASE WHEN t.kind = 'CHARGE' THEN 1 ELSE 0 END), 0) AS BIGINT), \
           CAST(COALESCE(SUM(CASE WHEN t.kind = 'CHARGE' AND EXISTS (SELECT 1 FROM ledger_transactions r \
                WHERE r.reverses = t.id AND r.sequence > $3) THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM ledger_transactions t WHERE t.ledger_id = $1 AND t.sequence > $2 AND t.sequence <= $3"
    )
    .bind(s.ledger_id)
    .bind(s.opening_sequence)
    .bind(s.closing_sequence)
    .fetch_one(pool)
    .await
    })?;
    Ok(StatementFigures {
        charges: Amounts {
            net: row.0,
            tax: row.1,
            gross: row.2,
        },
        credits: Amounts {
            net: row.3,
            tax: row.4,
            gross: row.5,
        },
        movement: row.6,
        charge_count: row.7,
        reversed_after_close: row.8,
    })
}
