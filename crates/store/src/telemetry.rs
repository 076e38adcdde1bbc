//! Devices' readings: the latest one of each device, and a time series kept for a retention period.
//! Readings are the domain's [`Telemetry`], stored as versioned documents.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use resiflex_domain::telemetry::Telemetry;
use serde_json::Value;
use sqlx::types::Json;

use crate::documents::{Document, decode, encode};
use crate::{Db, StoreError, on_db, on_tx};

impl Document for Telemetry {
    const NAME: &'static str = "reading";
}

/// A stored reading, or `None` (with a warning) when it cannot be read: a reading is an
/// observation that the next one replaces, so one that no longer decodes is skipped, not fatal.
fn reading(device_id: &str, stored: Value) -> Option<Telemetry> {
    match decode(stored) {
        Ok(reading) => Some(reading),
        Err(err) => {
            tracing::warn!(device = %device_id, error = %err, "a stored reading cannot be read");
            None
        }
    }
}

/// Stores the latest reading of a device.
pub async fn save_latest(db: &Db, device_id: &str, reading: &Telemetry) -> Result<(), StoreError> {
    let doc = Json(encode(reading)?);
    on_db!(db, |pool| sqlx::query(
        "INSERT INTO device_telemetry_latest (device_id, at, reading) VALUES ($1, $2, $3) \
         ON CONFLICT (device_id) DO UPDATE SET at = excluded.at, reading = excluded.reading"
    )
    .bind(device_id)
    .bind(reading.at)
    .bind(&doc)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Stores the latest reading of many devices in one transaction: `(device_id, reading)`.
pub async fn save_latest_many(db: &Db, readings: &[(String, Telemetry)]) -> Result<(), StoreError> {
    let docs = readings
        .iter()
        .map(|(id, reading)| encode(reading).map(|doc| (id, reading.at, Json(doc))))
        .collect::<Result<Vec<_>, _>>()?;
    let mut tx = db.begin().await?;
    for chunk in docs.chunks(1000) {
        on_tx!(&mut tx, |conn| {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO device_telemetry_latest (device_id, at, reading) ",
            );
            query.push_values(chunk, |mut row, (id, at, doc)| {
                row.push_bind(*id).push_bind(*at).push_bind(doc);
            });
            query.push(
                " ON CONFLICT (device_id) DO UPDATE SET at = excluded.at, reading = excluded.reading",
            );
            query.build().execute(conn).await.map(|_| ())
        })?;
    }
    tx.commit().await
}

/// The device's latest reading, if it has one that can be read.
pub async fn latest(db: &Db, device_id: &str) -> Result<Option<Telemetry>, StoreError> {
    let row: Option<Json<Value>> = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT reading FROM device_telemetry_latest WHERE device_id = $1"
    )
    .bind(device_id)
    .fetch_optional(pool)
    .await)?;
    Ok(row.and_then(|doc| reading(device_id, doc.0)))
}

/// The latest reading of every device that has one, by device id.
pub async fn all_latest(db: &Db) -> Result<HashMap<String, Telemetry>, StoreError> {
    let rows: Vec<(String, Json<Value>)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT device_id, reading FROM device_telemetry_latest"
    )
    .fetch_all(pool)
    .await)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, doc)| reading(&id, doc.0).map(|reading| (id, reading)))
        .collect())
}

/// Appends a reading to the device's time series (a repeated instant is kept once).
pub async fn append(db: &Db, device_id: &str, reading: &Telemetry) -> Result<(), StoreError> {
    let doc = Json(encode(reading)?);
    on_db!(db, |pool| {
        sqlx::query(
        "INSERT INTO device_telemetry (device_id, at, reading) VALUES ($1, $2, $3) ON CONFLICT (device_id, at) DO NOTHING"
    )
    .bind(device_id)
    .bind(reading.at)
    .bind(&doc)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// The device's readings in `[from, to)`, oldest first (unreadable ones skipped).
pub async fn between(
    db: &Db,
    device_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Telemetry>, StoreError> {
    let rows: Vec<Json<Value>> = on_db!(db, |pool| {
        sqlx::query_scalar(
        "SELECT reading FROM device_telemetry WHERE device_id = $1 AND at >= $2 AND at < $3 ORDER BY at"
    )
    .bind(device_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    })?;
    Ok(rows
        .into_iter()
        .filter_map(|doc| reading(device_id, doc.0))
        .collect())
}

/// The device's last reading at or before `at`, or, when the series holds none that early (it
/// was pruned, or the device was first seen later), its first reading after `at` but before
/// `until`. Meter readings at two instants give the energy between them without loading the
/// series.
pub async fn reading_near(
    db: &Db,
    device_id: &str,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Option<Telemetry>, StoreError> {
    let before: Option<Json<Value>> = on_db!(db, |pool| {
        sqlx::query_scalar(
        "SELECT reading FROM device_telemetry WHERE device_id = $1 AND at <= $2 ORDER BY at DESC LIMIT 1"
    )
    .bind(device_id)
    .bind(at)
    .fetch_optional(pool)
    .await
    })?;
    if let Some(found) = before.and_then(|doc| reading(device_id, doc.0)) {
        return Ok(Some(found));
    }
    let after: Option<Json<Value>> = on_db!(db, |pool| {
        sqlx::query_scalar(
        "SELECT reading FROM device_telemetry WHERE device_id = $1 AND at > $2 AND at < $3 ORDER BY at LIMIT 1"
    )
    .bind(device_id)
    .bind(at)
    .bind(until)
    .fetch_optional(pool)
    .await
    })?;
    Ok(after.and_then(|doc| reading(device_id, doc.0)))
}

/// Forgets readings older than `before`; answers how many were removed.
pub async fn prune(db: &Db, before: DateTime<Utc>) -> Result<u64, StoreError> {
    Ok(on_db!(db, |pool| sqlx::query(
        "DELETE FROM device_telemetry WHERE at < $1"
    )
    .bind(before)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testing::{TestDb, vehicle_fixture};
    use chrono::{Duration, TimeZone};

    #[tokio::test]
    async fn the_reading_near_an_instant_is_the_last_before_it_else_the_first_after() {
        let test = TestDb::new().await;
        let device = vehicle_fixture(&test.db, "ada@example.com", "ev-1").await;
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        for (minutes, wh) in [(10, 100), (20, 200), (30, 300)] {
            let reading = Telemetry {
                energy_imported_wh: wh,
                ..Telemetry::vehicle_at_home(t0 + Duration::minutes(minutes), 50.0)
            };
            append(&test.db, &device.id, &reading).await.unwrap();
        }
        let near = |minutes: i64, until: i64| {
            let db = test.db.clone();
            let id = device.id.clone();
            async move {
                reading_near(
                    &db,
                    &id,
                    t0 + Duration::minutes(minutes),
                    t0 + Duration::minutes(until),
                )
                .await
                .unwrap()
                .map(|r| r.energy_imported_wh)
            }
        };
        assert_eq!(near(25, 60).await, Some(200));
        assert_eq!(near(20, 60).await, Some(200));
        assert_eq!(near(45, 60).await, Some(300));
        // Nothing before: the first reading after, if it comes before `until`.
        assert_eq!(near(0, 60).await, Some(100));
        assert_eq!(near(0, 5).await, None);
    }
}
