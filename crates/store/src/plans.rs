//! Plans (every version kept) and the rate sets they were made with.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use resiflex_domain::plan::{PlanDispatch, PlanKind, PlanTrigger};
use serde_json::Value;
use sqlx::types::Json;

use crate::documents::{Document, decode, encode};
use crate::{Db, StoreError, on_db, on_tx};

/// One stored plan version.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRecord {
    pub device_id: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub trigger: PlanTrigger,
    pub kind: PlanKind,
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
    /// What the plan was made from, to tell when a re-plan is due: the control loop's own
    /// document, compared whole.
    pub inputs: Value,
    /// The rates the plan was made with (see [`rate_set`]).
    pub rate_set_id: Option<i64>,
    /// In time order.
    pub dispatches: Vec<PlanDispatch>,
}

/// A plan's dispatches, as one document.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
struct Dispatches(Vec<PlanDispatch>);

impl Document for Dispatches {
    const NAME: &'static str = "plan dispatches";
}

/// A plan as the database holds it.
#[derive(sqlx::FromRow)]
struct PlanRow {
    device_id: String,
    version: i64,
    created_at: DateTime<Utc>,
    trigger_name: String,
    kind: String,
    tariff_id: Option<i64>,
    ready_by: Option<DateTime<Utc>>,
    start_soc_pct: Option<f64>,
    target_soc_pct: Option<f64>,
    achievable_soc_pct: Option<f64>,
    target_reached: bool,
    outcome: String,
    locked_goal: bool,
    cost_micros: i64,
    inputs: Json<Value>,
    rate_set_id: Option<i64>,
    dispatches: Json<Value>,
}

impl TryFrom<PlanRow> for PlanRecord {
    type Error = StoreError;

    fn try_from(row: PlanRow) -> Result<PlanRecord, StoreError> {
        let unknown =
            |what: &str, text: &str| StoreError::Corrupt(format!("unknown plan {what} {text:?}"));
        Ok(PlanRecord {
            trigger: PlanTrigger::parse(&row.trigger_name)
                .ok_or_else(|| unknown("trigger", &row.trigger_name))?,
            kind: PlanKind::parse(&row.kind).ok_or_else(|| unknown("kind", &row.kind))?,
            dispatches: decode::<Dispatches>(row.dispatches.0)?.0,
            device_id: row.device_id,
            version: row.version,
            created_at: row.created_at,
            tariff_id: row.tariff_id,
            ready_by: row.ready_by,
            start_soc_pct: row.start_soc_pct,
            target_soc_pct: row.target_soc_pct,
            achievable_soc_pct: row.achievable_soc_pct,
            target_reached: row.target_reached,
            outcome: row.outcome,
            locked_goal: row.locked_goal,
            cost_micros: row.cost_micros,
            inputs: row.inputs.0,
            rate_set_id: row.rate_set_id,
        })
    }
}

fn plans(rows: Vec<PlanRow>) -> Result<Vec<PlanRecord>, StoreError> {
    rows.into_iter().map(PlanRecord::try_from).collect()
}

/// The dispatches of each plan, as written.
fn dispatch_documents(plans: &[PlanRecord]) -> Result<Vec<Value>, StoreError> {
    plans
        .iter()
        .map(|plan| encode(&Dispatches(plan.dispatches.clone())))
        .collect()
}

const PLAN_COLUMNS: &str = "device_id, version, created_at, trigger_name, kind, tariff_id, ready_by, \
     start_soc_pct, target_soc_pct, achievable_soc_pct, target_reached, outcome, locked_goal, \
     cost_micros, inputs, rate_set_id, dispatches";

/// How many plans go into one INSERT statement (SQLite binds each value separately).
pub(crate) const PLAN_BATCH: usize = 500;
/// How many rows go into one array INSERT on PostgreSQL.
pub(crate) const PG_BATCH: usize = 5_000;

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
    let dispatches = dispatch_documents(plans)?;
    if let crate::Tx::Postgres(pg) = tx {
        // PostgreSQL takes each column as one array: a statement per 5,000 plans, not per 500.
        for (chunk, dispatches) in plans.chunks(PG_BATCH).zip(dispatches.chunks(PG_BATCH)) {
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
            .bind(chunk.iter().map(|p| p.trigger.as_str()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.kind.as_str()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.tariff_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.ready_by).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.start_soc_pct).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.target_soc_pct).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.achievable_soc_pct).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.target_reached).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.outcome.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.locked_goal).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.cost_micros).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.inputs.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.rate_set_id).collect::<Vec<_>>())
            .bind(dispatches.to_vec())
            .fetch_all(&mut **pg)
            .await?;
            claimed.extend(stored);
        }
        return Ok(claimed);
    }
    for (chunk, dispatches) in plans.chunks(PLAN_BATCH).zip(dispatches.chunks(PLAN_BATCH)) {
        let stored: Vec<String> = on_tx!(&mut *tx, |conn| {
            let mut query =
                sqlx::QueryBuilder::new(format!("INSERT INTO device_plans ({PLAN_COLUMNS}) "));
            query.push_values(
                chunk.iter().zip(dispatches),
                |mut row, (plan, dispatches)| {
                    row.push_bind(&plan.device_id)
                        .push_bind(plan.version)
                        .push_bind(plan.created_at)
                        .push_bind(plan.trigger.as_str())
                        .push_bind(plan.kind.as_str())
                        .push_bind(plan.tariff_id)
                        .push_bind(plan.ready_by)
                        .push_bind(plan.start_soc_pct)
                        .push_bind(plan.target_soc_pct)
                        .push_bind(plan.achievable_soc_pct)
                        .push_bind(plan.target_reached)
                        .push_bind(&plan.outcome)
                        .push_bind(plan.locked_goal)
                        .push_bind(plan.cost_micros)
                        .push_bind(Json(&plan.inputs))
                        .push_bind(plan.rate_set_id)
                        .push_bind(Json(dispatches));
                },
            );
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
    on_db!(db, |pool| sqlx::query_as::<_, PlanRow>(&sql)
        .bind(device_id)
        .fetch_optional(pool)
        .await)?
    .map(PlanRecord::try_from)
    .transpose()
}

/// One version of a device's plan.
pub async fn plan_version(
    db: &Db,
    device_id: &str,
    version: i64,
) -> Result<Option<PlanRecord>, StoreError> {
    let sql =
        format!("SELECT {PLAN_COLUMNS} FROM device_plans WHERE device_id = $1 AND version = $2");
    on_db!(db, |pool| sqlx::query_as::<_, PlanRow>(&sql)
        .bind(device_id)
        .bind(version)
        .fetch_optional(pool)
        .await)?
    .map(PlanRecord::try_from)
    .transpose()
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
    let rows = plans(on_db!(db, |pool| sqlx::query_as::<_, PlanRow>(&sql)
        .fetch_all(pool)
        .await)?)?;
    Ok(rows
        .into_iter()
        .map(|plan| (plan.device_id.clone(), plan))
        .collect())
}

/// The device's plan in force at `at`: the newest version made by then.
pub async fn plan_in_force_at(
    db: &Db,
    device_id: &str,
    at: DateTime<Utc>,
) -> Result<Option<PlanRecord>, StoreError> {
    let sql = format!(
        "SELECT {PLAN_COLUMNS} FROM device_plans WHERE device_id = $1 AND created_at <= $2 \
         ORDER BY version DESC LIMIT 1"
    );
    on_db!(db, |pool| sqlx::query_as::<_, PlanRow>(&sql)
        .bind(device_id)
        .bind(at)
        .fetch_optional(pool)
        .await)?
    .map(PlanRecord::try_from)
    .transpose()
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
    plans(on_db!(db, |pool| sqlx::query_as::<_, PlanRow>(&sql)
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
            trigger: PlanTrigger::FirstPlan,
            kind: PlanKind::Smart,
            tariff_id: None,
            ready_by: Some(at + Duration::hours(8)),
            start_soc_pct: Some(40.0),
            target_soc_pct: Some(80.0),
            achievable_soc_pct: Some(80.0),
            target_reached: true,
            outcome: "TARGET_REACHED".into(),
            locked_goal: false,
            cost_micros: 1_234_000_000,
            inputs: serde_json::json!({"soc": 40}),
            rate_set_id: None,
            dispatches: vec![PlanDispatch {
                start: at,
                end: at + Duration::hours(1),
                kind: resiflex_domain::plan::DispatchKind::Smart,
                power_w: 7_000,
                energy_wh: 7_000,
                action: resiflex_domain::plan::DispatchAction::Charge,
                setpoint_c: None,
                activity: None,
            }],
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
}
