//! What happened: completed dispatches (every stretch of a plan whose slot has ended, with the energy
//! the meter showed imported over it) and charging sessions (plug-in periods with their outcome).
//!
//! Both are written by the control loop and may be written again with the same values: a completed
//! dispatch is keyed by its device and start, a session by its device and start, and writing a row
//! that exists replaces its values. Times are UTC; energy is in Wh, money in whole minor units.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{Db, StoreError, on_db, on_tx};

/// One stretch of a plan that was in force until it ended.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CompletedDispatch {
    pub device_id: String,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    /// A [`resiflex_domain::plan::DispatchKind`] name.
    pub kind: String,
    /// Imported over the stretch, Wh; negative for a battery's discharge (what it fed out).
    pub energy_wh: i64,
    /// `AT_HOME` or `AWAY`.
    pub location: String,
    pub plan_version: i64,
    pub recorded_at: DateTime<Utc>,
}

const DISPATCH_COLUMNS: &str =
    "device_id, start_at, end_at, kind, energy_wh, location, plan_version, recorded_at";

/// How many rows go into one INSERT statement.
const BATCH: usize = 500;

/// Writes completed dispatches; one that exists (same device and start) takes the new values but
/// keeps when it was first recorded.
pub async fn upsert_completed_dispatches(
    db: &Db,
    dispatches: &[CompletedDispatch],
) -> Result<(), StoreError> {
    if dispatches.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    for chunk in dispatches.chunks(BATCH) {
        on_tx!(&mut tx, |conn| {
            let mut query = sqlx::QueryBuilder::new(format!(
                "INSERT INTO completed_dispatches ({DISPATCH_COLUMNS}) "
            ));
            query.push_values(chunk, |mut row, d| {
                row.push_bind(&d.device_id)
                    .push_bind(d.start_at)
                    .push_bind(d.end_at)
                    .push_bind(&d.kind)
                    .push_bind(d.energy_wh)
                    .push_bind(&d.location)
                    .push_bind(d.plan_version)
                    .push_bind(d.recorded_at);
            });
            query.push(
                " ON CONFLICT (device_id, start_at) DO UPDATE SET end_at = excluded.end_at, \
                 kind = excluded.kind, energy_wh = excluded.energy_wh, location = excluded.location, \
                 plan_version = excluded.plan_version",
            );
            query.build().execute(conn).await.map(|_| ())
        })?;
    }
    tx.commit().await
}

/// The end of the device's latest completed dispatch.
pub async fn latest_completed_dispatch_end(
    db: &Db,
    device_id: &str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(on_db!(db, |pool| sqlx::query_scalar::<_, DateTime<Utc>>(
        "SELECT end_at FROM completed_dispatches WHERE device_id = $1 ORDER BY end_at DESC LIMIT 1"
    )
    .bind(device_id)
    .fetch_optional(pool)
    .await)?)
}

/// The completed dispatches of every device of the account, newest first, at most `limit`.
pub async fn completed_dispatches_of_account(
    db: &Db,
    account_id: i64,
    limit: i64,
) -> Result<Vec<CompletedDispatch>, StoreError> {
    let columns = DISPATCH_COLUMNS
        .split(", ")
        .map(|column| format!("c.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM completed_dispatches c JOIN devices d ON d.id = c.device_id \
         WHERE d.account_id = $1 ORDER BY c.start_at DESC, c.device_id LIMIT $2"
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, CompletedDispatch>(
        &sql
    )
    .bind(account_id)
    .bind(limit)
    .fetch_all(pool)
    .await)?)
}

/// The device's completed dispatches that end in `(after, until]`, oldest first.
pub async fn completed_dispatches_ending(
    db: &Db,
    device_id: &str,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<CompletedDispatch>, StoreError> {
    let sql = format!(
        "SELECT {DISPATCH_COLUMNS} FROM completed_dispatches WHERE device_id = $1 AND end_at > $2 \
         AND end_at <= $3 ORDER BY end_at"
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, CompletedDispatch>(
        &sql
    )
    .bind(device_id)
    .bind(after)
    .bind(until)
    .fetch_all(pool)
    .await)?)
}

/// Names of a session's problem kind.
pub mod problem_kind {
    pub const ERROR: &str = "ERROR";
    pub const TRUNCATION: &str = "TRUNCATION";
}

/// One charging session.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ChargingSessionRecord {
    pub device_id: String,
    pub start_at: DateTime<Utc>,
    /// `None` while the session is open.
    pub end_at: Option<DateTime<Utc>>,
    /// `SMART`, `BOOST` or `PUBLIC`.
    pub session_type: String,
    /// A `PreferencesTargetType` name.
    pub target_type: String,
    pub energy_added_wh: i64,
    /// Whole minor units of `currency`; `None` when the rates of some of the energy are unknown.
    pub cost_minor: Option<i64>,
    pub currency: Option<String>,
    pub start_soc_pct: Option<f64>,
    pub final_soc_pct: Option<f64>,
    pub target_soc_pct: Option<f64>,
    pub original_achievable_soc_pct: Option<f64>,
    pub achievable_soc_pct: Option<f64>,
    /// [`problem_kind`]: `ERROR` or `TRUNCATION`; `None` when nothing went wrong.
    pub problem_kind: Option<String>,
    /// A `SmartFlexChargingErrorCause` or `SmartFlexChargingTruncationCause` name.
    pub problem_cause: Option<String>,
    /// `[{start, end, kind, energyWh}]`, in time order.
    pub dispatches: Value,
    pub updated_at: DateTime<Utc>,
}

const SESSION_COLUMNS: &str = "device_id, start_at, end_at, session_type, target_type, energy_added_wh, \
     cost_minor, currency, start_soc_pct, final_soc_pct, target_soc_pct, original_achievable_soc_pct, \
     achievable_soc_pct, problem_kind, problem_cause, dispatches, updated_at";

/// Writes a session; one that exists (same device and start) takes the new values.
pub async fn upsert_session(db: &Db, s: &ChargingSessionRecord) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO charging_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT (device_id, start_at) DO UPDATE SET \
         end_at = excluded.end_at, session_type = excluded.session_type, \
         target_type = excluded.target_type, energy_added_wh = excluded.energy_added_wh, \
         cost_minor = excluded.cost_minor, currency = excluded.currency, \
         start_soc_pct = excluded.start_soc_pct, final_soc_pct = excluded.final_soc_pct, \
         target_soc_pct = excluded.target_soc_pct, \
         original_achievable_soc_pct = excluded.original_achievable_soc_pct, \
         achievable_soc_pct = excluded.achievable_soc_pct, problem_kind = excluded.problem_kind, \
         problem_cause = excluded.problem_cause, dispatches = excluded.dispatches, \
         updated_at = excluded.updated_at"
    );
    on_db!(db, |pool| sqlx::query(&sql)
        .bind(&s.device_id)
        .bind(s.start_at)
        .bind(s.end_at)
        .bind(&s.session_type)
        .bind(&s.target_type)
        .bind(s.energy_added_wh)
        .bind(s.cost_minor)
        .bind(&s.currency)
        .bind(s.start_soc_pct)
        .bind(s.final_soc_pct)
        .bind(s.target_soc_pct)
        .bind(s.original_achievable_soc_pct)
        .bind(s.achievable_soc_pct)
        .bind(&s.problem_kind)
        .bind(&s.problem_cause)
        .bind(&s.dispatches)
        .bind(s.updated_at)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// The device's newest session (open or not).
pub async fn latest_session(
    db: &Db,
    device_id: &str,
) -> Result<Option<ChargingSessionRecord>, StoreError> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM charging_sessions WHERE device_id = $1 \
         ORDER BY start_at DESC LIMIT 1"
    );
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, ChargingSessionRecord>(&sql)
            .bind(device_id)
            .fetch_optional(pool)
            .await
    })?)
}

/// The device's sessions that started in `[from, to)`, oldest first, of the given types (all when
/// `types` is empty), at most `limit`.
pub async fn sessions_between(
    db: &Db,
    device_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    types: &[&str],
    limit: i64,
) -> Result<Vec<ChargingSessionRecord>, StoreError> {
    let filter = if types.is_empty() {
        String::new()
    } else {
        let placeholders: Vec<String> = (0..types.len()).map(|i| format!("${}", i + 5)).collect();
        format!(" AND session_type IN ({})", placeholders.join(", "))
    };
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM charging_sessions WHERE device_id = $1 AND start_at >= $2 \
         AND start_at < $3{filter} ORDER BY start_at LIMIT $4"
    );
    Ok(on_db!(db, |pool| {
        let mut query = sqlx::query_as::<_, ChargingSessionRecord>(&sql)
            .bind(device_id)
            .bind(from)
            .bind(to)
            .bind(limit);
        for name in types {
            query = query.bind(*name);
        }
        query.fetch_all(pool).await
    })?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::testing::TestDb;

    fn session(device_id: &str, start: DateTime<Utc>, kind: &str) -> ChargingSessionRecord {
        ChargingSessionRecord {
            device_id: device_id.to_owned(),
            start_at: start,
            end_at: None,
            session_type: kind.to_owned(),
            target_type: "ABSOLUTE_STATE_OF_CHARGE".into(),
            energy_added_wh: 1_000,
            cost_minor: Some(25),
            currency: Some("GBP".into()),
            start_soc_pct: Some(40.0),
            final_soc_pct: Some(41.5),
            target_soc_pct: Some(80.0),
            original_achievable_soc_pct: Some(80.0),
            achievable_soc_pct: Some(80.0),
            problem_kind: None,
            problem_cause: None,
            dispatches: serde_json::json!([]),
            updated_at: start,
        }
    }

    #[tokio::test]
    async fn sessions_are_written_again_in_place_and_filtered_by_type() {
        let test = TestDb::new().await;
        let id = crate::testing::vehicle_fixture(&test.db, "sessions@example.com", "device-1")
            .await
            .id;
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 22, 0, 0).unwrap();
        upsert_session(&test.db, &session(&id, t, "SMART"))
            .await
            .unwrap();
        let mut closed = session(&id, t, "SMART");
        closed.end_at = Some(t + Duration::hours(3));
        closed.energy_added_wh = 7_400;
        closed.problem_kind = Some(problem_kind::TRUNCATION.into());
        closed.problem_cause = Some("DISCONNECTED".into());
        upsert_session(&test.db, &closed).await.unwrap();
        upsert_session(&test.db, &session(&id, t + Duration::days(1), "BOOST"))
            .await
            .unwrap();

        let all = sessions_between(&test.db, &id, t, t + Duration::days(2), &[], 100)
            .await
            .unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], closed, "the second write replaced the first");
        let boosts = sessions_between(
            &test.db,
            &id,
            t,
            t + Duration::days(2),
            &["BOOST", "PUBLIC"],
            100,
        )
        .await
        .unwrap();
        assert_eq!(boosts.len(), 1);
        assert_eq!(boosts[0].session_type, "BOOST");
        assert_eq!(
            latest_session(&test.db, &id)
                .await
                .unwrap()
                .unwrap()
                .start_at,
            t + Duration::days(1)
        );
    }

    #[tokio::test]
    async fn completed_dispatches_are_kept_once_and_listed_newest_first() {
        let test = TestDb::new().await;
        let device =
            crate::testing::vehicle_fixture(&test.db, "dispatches@example.com", "device-1").await;
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 22, 0, 0).unwrap();
        let dispatch = |hours: i64, wh: i64| CompletedDispatch {
            device_id: device.id.clone(),
            start_at: t + Duration::hours(hours),
            end_at: t + Duration::hours(hours) + Duration::minutes(30),
            kind: "SMART".into(),
            energy_wh: wh,
            location: "AT_HOME".into(),
            plan_version: 1,
            recorded_at: t + Duration::hours(hours + 1),
        };
        upsert_completed_dispatches(&test.db, &[dispatch(0, 3_000), dispatch(1, 3_500)])
            .await
            .unwrap();
        let mut again = dispatch(1, 3_600);
        again.recorded_at = t + Duration::hours(9);
        upsert_completed_dispatches(&test.db, &[again])
            .await
            .unwrap();
        let listed = completed_dispatches_of_account(&test.db, device.account_id, 10)
            .await
            .unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].start_at, t + Duration::hours(1), "newest first");
        assert_eq!(listed[0].energy_wh, 3_600);
        assert_eq!(
            listed[0].recorded_at,
            t + Duration::hours(2),
            "first recording kept"
        );
        assert_eq!(
            latest_completed_dispatch_end(&test.db, &device.id)
                .await
                .unwrap(),
            Some(t + Duration::minutes(90))
        );
        let ending =
            completed_dispatches_ending(&test.db, &device.id, t, t + Duration::minutes(30))
                .await
                .unwrap();
        assert_eq!(ending.len(), 1);
    }
}
