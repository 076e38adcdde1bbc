//! Device events: what happened to each device (plans made, commands failed, boosts, plugs),
//! the history charging sessions are told from.

use chrono::{DateTime, Utc};
use resiflex_domain::plan::DeviceEventKind;
use serde_json::Value;
use sqlx::types::Json;

use crate::plans::{PG_BATCH, PLAN_BATCH};
use crate::{Db, StoreError, on_db, on_tx};

/// One thing that happened to a device.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceEvent {
    pub id: i64,
    pub device_id: String,
    pub at: DateTime<Utc>,
    pub kind: DeviceEventKind,
    /// What the event carries (its shape depends on the kind).
    pub detail: Value,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    device_id: String,
    at: DateTime<Utc>,
    kind: String,
    detail: Json<Value>,
}

impl TryFrom<EventRow> for DeviceEvent {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<DeviceEvent, StoreError> {
        Ok(DeviceEvent {
            kind: DeviceEventKind::parse(&row.kind).ok_or_else(|| {
                StoreError::Corrupt(format!("unknown device event {:?}", row.kind))
            })?,
            id: row.id,
            device_id: row.device_id,
            at: row.at,
            detail: row.detail.0,
        })
    }
}

/// Records one event.
pub async fn add(
    db: &Db,
    device_id: &str,
    at: DateTime<Utc>,
    kind: DeviceEventKind,
    detail: &Value,
) -> Result<(), StoreError> {
    on_db!(db, |pool| sqlx::query(
        "INSERT INTO device_events (device_id, at, kind, detail) VALUES ($1, $2, $3, $4)"
    )
    .bind(device_id)
    .bind(at)
    .bind(kind.as_str())
    .bind(Json(detail))
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Records many events at once: `(device_id, at, kind, detail)`.
pub async fn add_many(
    db: &Db,
    events: &[(String, DateTime<Utc>, DeviceEventKind, Value)],
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
            .bind(chunk.iter().map(|e| e.2.as_str()).collect::<Vec<_>>())
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
                    .push_bind(kind.as_str())
                    .push_bind(Json(detail));
            });
            query.build().execute(conn).await.map(|_| ())
        })?;
    }
    tx.commit().await
}

/// The device's events in `[from, to)`, oldest first.
pub async fn between(
    db: &Db,
    device_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<DeviceEvent>, StoreError> {
    on_db!(db, |pool| {
        sqlx::query_as::<_, EventRow>(
        "SELECT id, device_id, at, kind, detail FROM device_events WHERE device_id = $1 AND at >= $2 \
         AND at < $3 ORDER BY at, id"
    )
    .bind(device_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    })?
    .into_iter()
    .map(DeviceEvent::try_from)
    .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::testing::TestDb;
    use chrono::{Duration, TimeZone};

    async fn device(test: &TestDb) -> String {
        crate::testing::vehicle_fixture(&test.db, "events@example.com", "device-1")
            .await
            .id
    }

    #[tokio::test]
    async fn events_come_back_in_order() {
        let test = TestDb::new().await;
        let id = device(&test).await;
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 22, 0, 0).unwrap();
        add(
            &test.db,
            &id,
            t + Duration::minutes(1),
            DeviceEventKind::Suspended,
            &serde_json::json!({}),
        )
        .await
        .unwrap();
        add(
            &test.db,
            &id,
            t,
            DeviceEventKind::PluggedIn,
            &serde_json::json!({"soc": 40}),
        )
        .await
        .unwrap();
        let events = between(&test.db, &id, t, t + Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(
            events.iter().map(|e| e.kind).collect::<Vec<_>>(),
            [DeviceEventKind::PluggedIn, DeviceEventKind::Suspended]
        );
        assert_eq!(events[0].detail["soc"], 40);
    }
}
