//! Plans (every version kept), the ledger of commands sent to devices, and device events.
//!
//! A command is written to the ledger under its idempotency key *before* the provider is called and
//! marked sent after, so a crash in between leaves a pending row that is sent again with the same
//! key (which the provider answers without acting twice), never a second command.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

use crate::{Db, StoreError, on_db, on_tx};

/// One stored plan version.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PlanRecord {
    pub device_id: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    /// A [`resiflex_domain::plan::PlanTrigger`] name.
    pub trigger_name: String,
    /// A [`resiflex_domain::plan::PlanKind`] name.
    pub kind: String,
    pub tariff_id: Option<i64>,
    pub ready_by: Option<DateTime<Utc>>,
    pub start_soc_pct: Option<f64>,
    pub target_soc_pct: Option<f64>,
    /// The state of charge the plan expects to reach by `ready_by`.
    pub achievable_soc_pct: Option<f64>,
    pub target_reached: bool,
    /// The planner's reason (TARGET_REACHED, NOT_ENOUGH_TIME, ...).
    pub outcome: String,
    pub locked_goal: bool,
    /// Expected cost in millionths of a minor unit.
    pub cost_micros: i64,
    /// What the plan was made from, to tell when a re-plan is due.
    pub inputs: Json<Value>,
    /// The rates the plan was made with (see [`rate_set`]).
    pub rate_set_id: Option<i64>,
    /// `[PlanDispatch]` in time order.
    pub dispatches: Json<Value>,
}

const PLAN_COLUMNS: &str = "device_id, version, created_at, trigger_name, kind, tariff_id, ready_by, \
     start_soc_pct, target_soc_pct, achievable_soc_pct, target_reached, outcome, locked_goal, \
     cost_micros, inputs, rate_set_id, dispatches";

/// How many plans go into one INSERT statement (SQLite binds each value separately).
const PLAN_BATCH: usize = 500;
/// How many rows go into one array INSERT on PostgreSQL.
const PG_BATCH: usize = 5_000;

/// Stores new plan versions, all or none. [`StoreError::Conflict`] if a version exists already
/// (someone else re-planned the device meanwhile).
pub async fn insert_plans(db: &Db, plans: &[PlanRecord]) -> Result<(), StoreError> {
    if plans.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    let claimed = claim_in(&mut tx, plans).await?;
    if claimed.len() != plans.len() {
        tx.rollback().await?;
        return Err(StoreError::Conflict);
    }
    tx.commit().await
}

/// Claims plan versions: each plan is stored only if its version is still free for its device
/// (a compare-and-set on `(device_id, version)`: a writer that read version `v` claims `v + 1`,
/// and loses when someone else claimed it first). Answers the devices whose plan was stored; the
/// others lost the race and should re-read their current plan.
pub async fn claim_plans(db: &Db, plans: &[PlanRecord]) -> Result<HashSet<String>, StoreError> {
    if plans.is_empty() {
        return Ok(HashSet::new());
    }
    let mut tx = db.begin().await?;
    let claimed = claim_in(&mut tx, plans).await?;
    tx.commit().await?;
    Ok(claimed.into_iter().collect())
}

/// Stores the plans whose version is free; answers the device of each plan stored.
async fn claim_in(tx: &mut crate::Tx, plans: &[PlanRecord]) -> Result<Vec<String>, StoreError> {
    let mut claimed = Vec::with_capacity(plans.len());
    if let crate::Tx::Postgres(pg) = tx {
        // PostgreSQL takes each column as one array: a statement per 5,000 plans, not per 500.
        for chunk in plans.chunks(PG_BATCH) {
            let column = |f: fn(&PlanRecord) -> Value| chunk.iter().map(f).collect::<Vec<Value>>();
            let stored: Vec<String> = sqlx::query_scalar(&format!(
                "INSERT INTO device_plans ({PLAN_COLUMNS}) SELECT * FROM UNNEST($1::text[], $2::bigint[], \
                 $3::timestamptz[], $4::text[], $5::text[], $6::bigint[], $7::timestamptz[], \
                 $8::double precision[], $9::double precision[], $10::double precision[], $11::boolean[], \
                 $12::text[], $13::boolean[], $14::bigint[], $15::jsonb[], $16::bigint[], $17::jsonb[]) \
                 ON CONFLICT (device_id, version) DO NOTHING RETURNING device_id"
            ))
            .bind(chunk.iter().map(|p| p.device_id.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.version).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.created_at).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.trigger_name.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.kind.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.tariff_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.ready_by).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.start_soc_pct).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.target_soc_pct).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.achievable_soc_pct).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.target_reached).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.outcome.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.locked_goal).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.cost_micros).collect::<Vec<_>>())
            .bind(column(|p| p.inputs.0.clone()))
            .bind(chunk.iter().map(|p| p.rate_set_id).collect::<Vec<_>>())
            .bind(column(|p| p.dispatches.0.clone()))
            .fetch_all(&mut **pg)
            .await?;
            claimed.extend(stored);
        }
        return Ok(claimed);
    }
    for chunk in plans.chunks(PLAN_BATCH) {
        let stored: Vec<String> = on_tx!(&mut *tx, |conn| {
            let mut query =
                sqlx::QueryBuilder::new(format!("INSERT INTO device_plans ({PLAN_COLUMNS}) "));
            query.push_values(chunk, |mut row, plan| {
                row.push_bind(&plan.device_id)
                    .push_bind(plan.version)
                    .push_bind(plan.created_at)
                    .push_bind(&plan.trigger_name)
                    .push_bind(&plan.kind)
                    .push_bind(plan.tariff_id)
                    .push_bind(plan.ready_by)
                    .push_bind(plan.start_soc_pct)
                    .push_bind(plan.target_soc_pct)
                    .push_bind(plan.achievable_soc_pct)
                    .push_bind(plan.target_reached)
                    .push_bind(&plan.outcome)
                    .push_bind(plan.locked_goal)
                    .push_bind(plan.cost_micros)
                    .push_bind(&plan.inputs)
                    .push_bind(plan.rate_set_id)
                    .push_bind(&plan.dispatches);
            });
            query.push(" ON CONFLICT (device_id, version) DO NOTHING RETURNING device_id");
            query.build_query_scalar::<String>().fetch_all(conn).await
        })?;
        claimed.extend(stored);
    }
    Ok(claimed)
}

/// Stores one new plan version.
pub async fn insert_plan(db: &Db, plan: &PlanRecord) -> Result<(), StoreError> {
    insert_plans(db, std::slice::from_ref(plan)).await
}

/// The device's current (newest) plan.
pub async fn current_plan(db: &Db, device_id: &str) -> Result<Option<PlanRecord>, StoreError> {
    let sql = format!(
        "SELECT {PLAN_COLUMNS} FROM device_plans WHERE device_id = $1 ORDER BY version DESC LIMIT 1"
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, PlanRecord>(&sql)
        .bind(device_id)
        .fetch_optional(pool)
        .await)?)
}

/// One version of a device's plan.
pub async fn plan_version(
    db: &Db,
    device_id: &str,
    version: i64,
) -> Result<Option<PlanRecord>, StoreError> {
    let sql =
        format!("SELECT {PLAN_COLUMNS} FROM device_plans WHERE device_id = $1 AND version = $2");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, PlanRecord>(&sql)
        .bind(device_id)
        .bind(version)
        .fetch_optional(pool)
        .await)?)
}

/// The current plan of every device that has one, by device id.
pub async fn current_plans(db: &Db) -> Result<HashMap<String, PlanRecord>, StoreError> {
    let sql = format!(
        "SELECT {} FROM device_plans p JOIN (SELECT device_id AS d, MAX(version) AS v FROM device_plans \
         GROUP BY device_id) newest ON p.device_id = newest.d AND p.version = newest.v",
        PLAN_COLUMNS
            .split(", ")
            .map(|column| format!("p.{column}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let rows = on_db!(db, |pool| sqlx::query_as::<_, PlanRecord>(&sql)
        .fetch_all(pool)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|plan| (plan.device_id.clone(), plan))
        .collect())
}

/// Every plan version of the device made in `[from, to)`, oldest first.
pub async fn plans_between(
    db: &Db,
    device_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<PlanRecord>, StoreError> {
    let sql = format!(
        "SELECT {PLAN_COLUMNS} FROM device_plans WHERE device_id = $1 AND created_at >= $2 \
         AND created_at < $3 ORDER BY version"
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, PlanRecord>(&sql)
        .bind(device_id)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await)?)
}

/// Stores a set of rates (`[{validFrom, validTo, importMicros, carbonMicros}]`) under its digest,
/// once; answers its id (the existing one if the same set was stored before).
pub async fn save_rate_set(
    db: &Db,
    digest: &str,
    tariff_id: Option<i64>,
    rates: &Value,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    on_db!(db, |pool| sqlx::query(
        "INSERT INTO plan_rate_sets (digest, tariff_id, created_at, rates) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (digest) DO NOTHING"
    )
    .bind(digest)
    .bind(tariff_id)
    .bind(now)
    .bind(Json(rates))
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(on_db!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT id FROM plan_rate_sets WHERE digest = $1"
    )
    .bind(digest)
    .fetch_one(pool)
    .await)?)
}

/// A stored set of rates.
pub async fn rate_set(db: &Db, id: i64) -> Result<Option<Value>, StoreError> {
    let row: Option<Json<Value>> = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT rates FROM plan_rate_sets WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    Ok(row.map(|json| json.0))
}

// ----------------------------------------------------------------------------------------------
// The command ledger.
// ----------------------------------------------------------------------------------------------

/// Where a command is in its life.
pub mod command_status {
    /// Written, not yet acknowledged by the provider (or the answer was lost).
    pub const PENDING: &str = "PENDING";
    /// The provider acknowledged it.
    pub const SENT: &str = "SENT";
    /// The provider refused it or could not be reached; retried at `next_attempt_at`.
    pub const FAILED: &str = "FAILED";
    /// Given up: a newer command replaced it, or it was refused for good.
    pub const ABANDONED: &str = "ABANDONED";
}

/// One command in the ledger.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CommandRecord {
    pub idempotency_key: String,
    pub device_id: String,
    /// The plan version it carries out (`None` for a customer's direct command).
    pub plan_version: Option<i64>,
    /// The start of the stretch of the plan it carries out.
    pub segment_start: Option<DateTime<Utc>>,
    /// The provider command, as JSON.
    pub command: Json<Value>,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub receipt_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

const COMMAND_COLUMNS: &str = "idempotency_key, device_id, plan_version, segment_start, command, status, \
     attempts, next_attempt_at, last_error, receipt_id, created_at, sent_at";

/// Writes a command as pending, or returns the row already written under the same key.
pub async fn claim_command(db: &Db, command: &CommandRecord) -> Result<CommandRecord, StoreError> {
    let inserted = on_db!(db, |pool| {
        sqlx::query(&format!(
        "INSERT INTO device_commands ({COMMAND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (idempotency_key) DO NOTHING"
    ))
    .bind(&command.idempotency_key)
    .bind(&command.device_id)
    .bind(command.plan_version)
    .bind(command.segment_start)
    .bind(&command.command)
    .bind(&command.status)
    .bind(command.attempts)
    .bind(command.next_attempt_at)
    .bind(&command.last_error)
    .bind(&command.receipt_id)
    .bind(command.created_at)
    .bind(command.sent_at)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    if inserted == 1 {
        return Ok(command.clone());
    }
    command_by_key(db, &command.idempotency_key)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn command_by_key(db: &Db, key: &str) -> Result<Option<CommandRecord>, StoreError> {
    let sql = format!("SELECT {COMMAND_COLUMNS} FROM device_commands WHERE idempotency_key = $1");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, CommandRecord>(&sql)
        .bind(key)
        .fetch_optional(pool)
        .await)?)
}

/// Records the provider's acknowledgement.
pub async fn mark_command_sent(
    db: &Db,
    key: &str,
    receipt_id: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
        "UPDATE device_commands SET status = $2, receipt_id = $3, sent_at = $4, attempts = attempts + 1, \
         last_error = NULL WHERE idempotency_key = $1"
    )
    .bind(key)
    .bind(command_status::SENT)
    .bind(receipt_id)
    .bind(at)
    .execute(pool)
    .await
    .map(|_| ())
    })?;
    Ok(())
}

/// Records a failed attempt and when to try again (or `ABANDONED` when `retry_at` is `None`).
pub async fn mark_command_failed(
    db: &Db,
    key: &str,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let status = if retry_at.is_some() {
        command_status::FAILED
    } else {
        command_status::ABANDONED
    };
    on_db!(db, |pool| sqlx::query(
        "UPDATE device_commands SET status = $2, last_error = $3, next_attempt_at = $4, \
         attempts = attempts + 1 WHERE idempotency_key = $1"
    )
    .bind(key)
    .bind(status)
    .bind(error)
    .bind(retry_at.unwrap_or(now))
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Gives up every unfinished command of the device except `keep` (a newer one replaced them).
pub async fn abandon_unfinished_commands(
    db: &Db,
    device_id: &str,
    keep: &str,
) -> Result<u64, StoreError> {
    Ok(on_db!(db, |pool| sqlx::query(
        "UPDATE device_commands SET status = $3 WHERE device_id = $1 AND idempotency_key <> $2 \
         AND status IN ('PENDING', 'FAILED')"
    )
    .bind(device_id)
    .bind(keep)
    .bind(command_status::ABANDONED)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?)
}

/// The device's newest command that the provider acknowledged.
pub async fn last_sent_command(
    db: &Db,
    device_id: &str,
) -> Result<Option<CommandRecord>, StoreError> {
    let sql = format!(
        "SELECT {COMMAND_COLUMNS} FROM device_commands WHERE device_id = $1 AND status = 'SENT' \
         ORDER BY sent_at DESC, created_at DESC LIMIT 1"
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, CommandRecord>(&sql)
        .bind(device_id)
        .fetch_optional(pool)
        .await)?)
}

/// The device's newest command of any status.
pub async fn last_command(db: &Db, device_id: &str) -> Result<Option<CommandRecord>, StoreError> {
    let sql = format!(
        "SELECT {COMMAND_COLUMNS} FROM device_commands WHERE device_id = $1 \
         ORDER BY created_at DESC LIMIT 1"
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, CommandRecord>(&sql)
        .bind(device_id)
        .fetch_optional(pool)
        .await)?)
}

/// The device's commands created in `[from, to)`, oldest first.
pub async fn commands_between(
    db: &Db,
    device_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<CommandRecord>, StoreError> {
    let sql = format!(
        "SELECT {COMMAND_COLUMNS} FROM device_commands WHERE device_id = $1 AND created_at >= $2 \
         AND created_at < $3 ORDER BY created_at"
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, CommandRecord>(&sql)
        .bind(device_id)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await)?)
}

// ----------------------------------------------------------------------------------------------
// Device events.
// ----------------------------------------------------------------------------------------------

/// One thing that happened to a device.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeviceEvent {
    pub id: i64,
    pub device_id: String,
    pub at: DateTime<Utc>,
    /// A [`resiflex_domain::plan::DeviceEventKind`] name.
    pub kind: String,
    pub detail: Json<Value>,
}

pub async fn add_event(
    db: &Db,
    device_id: &str,
    at: DateTime<Utc>,
    kind: &str,
    detail: &Value,
) -> Result<(), StoreError> {
    on_db!(db, |pool| sqlx::query(
        "INSERT INTO device_events (device_id, at, kind, detail) VALUES ($1, $2, $3, $4)"
    )
    .bind(device_id)
    .bind(at)
    .bind(kind)
    .bind(Json(detail))
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Records many events at once: `(device_id, at, kind, detail)`.
pub async fn add_events(
    db: &Db,
    events: &[(String, DateTime<Utc>, String, Value)],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    if let crate::Tx::Postgres(pg) = &mut tx {
        for chunk in events.chunks(PG_BATCH) {
            sqlx::query(
                "INSERT INTO device_events (device_id, at, kind, detail) \
                 SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::text[], $4::jsonb[])",
            )
            .bind(chunk.iter().map(|e| e.0.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|e| e.1).collect::<Vec<_>>())
            .bind(chunk.iter().map(|e| e.2.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|e| e.3.clone()).collect::<Vec<_>>())
            .execute(&mut **pg)
            .await?;
        }
        return tx.commit().await;
    }
    for chunk in events.chunks(PLAN_BATCH) {
        on_tx!(&mut tx, |conn| {
            let mut query =
                sqlx::QueryBuilder::new("INSERT INTO device_events (device_id, at, kind, detail) ");
            query.push_values(chunk, |mut row, (device_id, at, kind, detail)| {
                row.push_bind(device_id)
                    .push_bind(*at)
                    .push_bind(kind)
                    .push_bind(Json(detail));
            });
            query.build().execute(conn).await.map(|_| ())
        })?;
    }
    tx.commit().await
}

/// The device's events in `[from, to)`, oldest first.
pub async fn events_between(
    db: &Db,
    device_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<DeviceEvent>, StoreError> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, DeviceEvent>(
        "SELECT id, device_id, at, kind, detail FROM device_events WHERE device_id = $1 AND at >= $2 \
         AND at < $3 ORDER BY at, id"
    )
    .bind(device_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    })?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::testing::TestDb;
    use chrono::{Duration, TimeZone};

    async fn device(test: &TestDb) -> String {
        crate::testing::vehicle_fixture(&test.db, "plans@example.com", "device-1")
            .await
            .id
    }

    fn plan(device_id: &str, version: i64, at: DateTime<Utc>) -> PlanRecord {
        PlanRecord {
            device_id: device_id.to_owned(),
            version,
            created_at: at,
            trigger_name: "FIRST_PLAN".into(),
            kind: "SMART".into(),
            tariff_id: None,
            ready_by: Some(at + Duration::hours(8)),
            start_soc_pct: Some(40.0),
            target_soc_pct: Some(80.0),
            achievable_soc_pct: Some(80.0),
            target_reached: true,
            outcome: "TARGET_REACHED".into(),
            locked_goal: false,
            cost_micros: 1_234_000_000,
            inputs: Json(serde_json::json!({"soc": 40})),
            rate_set_id: None,
            dispatches: Json(serde_json::json!([{"start": at, "end": at}])),
        }
    }

    #[tokio::test]
    async fn plans_are_versioned_and_kept() {
        let test = TestDb::new().await;
        let id = device(&test).await;
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 22, 0, 0).unwrap();
        insert_plan(&test.db, &plan(&id, 1, t)).await.unwrap();
        insert_plan(&test.db, &plan(&id, 2, t + Duration::minutes(5)))
            .await
            .unwrap();
        assert!(matches!(
            insert_plan(&test.db, &plan(&id, 2, t)).await,
            Err(StoreError::Conflict)
        ));
        let current = current_plan(&test.db, &id).await.unwrap().unwrap();
        assert_eq!(current.version, 2);
        assert_eq!(current.cost_micros, 1_234_000_000);
        assert_eq!(current_plans(&test.db).await.unwrap()[&id].version, 2);
        assert_eq!(
            plans_between(&test.db, &id, t, t + Duration::hours(1))
                .await
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            plan_version(&test.db, &id, 1)
                .await
                .unwrap()
                .unwrap()
                .version,
            1
        );
        // Many at once, in batches.
        let many: Vec<_> = (3..1203).map(|v| plan(&id, v, t)).collect();
        insert_plans(&test.db, &many).await.unwrap();
        assert_eq!(
            current_plan(&test.db, &id).await.unwrap().unwrap().version,
            1202
        );
    }

    #[tokio::test]
    async fn a_version_claimed_by_someone_else_is_reported_lost() {
        let test = TestDb::new().await;
        let id = crate::testing::vehicle_fixture(&test.db, "a@example.com", "car-1")
            .await
            .id;
        let other = crate::testing::vehicle_fixture(&test.db, "b@example.com", "car-2")
            .await
            .id;
        let t = Utc::now();
        insert_plan(&test.db, &plan(&id, 1, t)).await.unwrap();
        let claimed = claim_plans(&test.db, &[plan(&id, 1, t), plan(&other, 1, t)])
            .await
            .unwrap();
        assert_eq!(claimed, HashSet::from([other.clone()]));
        assert_eq!(
            current_plan(&test.db, &other)
                .await
                .unwrap()
                .unwrap()
                .version,
            1
        );
    }

    #[tokio::test]
    async fn a_command_is_claimed_once() {
        let test = TestDb::new().await;
        let id = device(&test).await;
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 22, 0, 0).unwrap();
        let command = CommandRecord {
            idempotency_key: format!("{id}:1:0"),
            device_id: id.clone(),
            plan_version: Some(1),
            segment_start: Some(t),
            command: Json(serde_json::json!("Stop")),
            status: command_status::PENDING.into(),
            attempts: 0,
            next_attempt_at: t,
            last_error: None,
            receipt_id: None,
            created_at: t,
            sent_at: None,
        };
        claim_command(&test.db, &command).await.unwrap();
        mark_command_failed(
            &test.db,
            &command.idempotency_key,
            "offline",
            Some(t + Duration::seconds(30)),
            t,
        )
        .await
        .unwrap();
        let again = claim_command(&test.db, &command).await.unwrap();
        assert_eq!(again.status, command_status::FAILED);
        assert_eq!(again.attempts, 1);
        assert!(last_sent_command(&test.db, &id).await.unwrap().is_none());
        mark_command_sent(
            &test.db,
            &command.idempotency_key,
            "r-1",
            t + Duration::seconds(31),
        )
        .await
        .unwrap();
        let sent = last_sent_command(&test.db, &id).await.unwrap().unwrap();
        assert_eq!(sent.receipt_id.as_deref(), Some("r-1"));
        assert_eq!(sent.attempts, 2);
        assert_eq!(
            last_command(&test.db, &id)
                .await
                .unwrap()
                .unwrap()
                .idempotency_key,
            command.idempotency_key
        );
        assert_eq!(
            commands_between(&test.db, &id, t, t + Duration::hours(1))
                .await
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn events_come_back_in_order() {
        let test = TestDb::new().await;
        let id = device(&test).await;
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 22, 0, 0).unwrap();
        add_event(
            &test.db,
            &id,
            t + Duration::minutes(1),
            "SUSPENDED",
            &serde_json::json!({}),
        )
        .await
        .unwrap();
        add_event(
            &test.db,
            &id,
            t,
            "PLUGGED_IN",
            &serde_json::json!({"soc": 40}),
        )
        .await
        .unwrap();
        let events = events_between(&test.db, &id, t, t + Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(
            events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
            ["PLUGGED_IN", "SUSPENDED"]
        );
        assert_eq!(events[0].detail.0["soc"], 40);
    }
}
