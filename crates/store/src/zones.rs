//! Grid zones and which properties are in them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::{Db, StoreError, on_db};

/// A part of the network whose capacity the devices of its properties share.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GridZone {
    pub id: i64,
    pub code: String,
    /// The power all the zone's planned devices may draw together, W.
    pub capacity_w: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Creates the zone, or changes its capacity if the code exists.
pub async fn upsert_zone(
    db: &Db,
    code: &str,
    capacity_w: i64,
    now: DateTime<Utc>,
) -> Result<GridZone, StoreError> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, GridZone>(
        "INSERT INTO grid_zones (code, capacity_w, created_at, updated_at) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (code) DO UPDATE SET capacity_w = excluded.capacity_w, updated_at = excluded.updated_at \
         RETURNING id, code, capacity_w, created_at, updated_at"
    )
    .bind(code)
    .bind(capacity_w)
    .bind(now)
    .fetch_one(pool)
    .await
    })?)
}

/// The zone with this code.
pub async fn zone_by_code(db: &Db, code: &str) -> Result<Option<GridZone>, StoreError> {
    Ok(on_db!(db, |pool| sqlx::query_as::<_, GridZone>(
        "SELECT id, code, capacity_w, created_at, updated_at FROM grid_zones WHERE code = $1"
    )
    .bind(code)
    .fetch_optional(pool)
    .await)?)
}

/// Puts every property of the account in the zone (`None`: in no zone). Answers how many.
pub async fn assign_zone_to_account(
    db: &Db,
    account_id: i64,
    zone_id: Option<i64>,
) -> Result<u64, StoreError> {
    Ok(on_db!(db, |pool| sqlx::query(
        "UPDATE properties SET grid_zone_id = $1 WHERE account_id = $2"
    )
    .bind(zone_id)
    .bind(account_id)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?)
}

/// The zone of every property that is in one, by property id.
pub async fn property_zones(db: &Db) -> Result<HashMap<i64, GridZone>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        property_id: i64,
        #[sqlx(flatten)]
        zone: GridZone,
    }
    let rows = on_db!(db, |pool| sqlx::query_as::<_, Row>(
        "SELECT p.id AS property_id, z.id, z.code, z.capacity_w, z.created_at, z.updated_at \
         FROM properties p JOIN grid_zones z ON z.id = p.grid_zone_id"
    )
    .fetch_all(pool)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|row| (row.property_id, row.zone))
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::testing::{TestDb, vehicle_fixture};

    #[tokio::test]
    async fn properties_join_zones() {
        let test = TestDb::new().await;
        let device = vehicle_fixture(&test.db, "zone@example.com", "z-1").await;
        let now = Utc::now();
        let zone = upsert_zone(&test.db, "FEEDER-7", 22_000, now)
            .await
            .unwrap();
        let again = upsert_zone(&test.db, "FEEDER-7", 11_000, now)
            .await
            .unwrap();
        assert_eq!((again.id, again.capacity_w), (zone.id, 11_000));
        assert_eq!(
            assign_zone_to_account(&test.db, device.account_id, Some(zone.id))
                .await
                .unwrap(),
            1
        );
        let zones = property_zones(&test.db).await.unwrap();
        assert_eq!(zones[&device.property_id].code, "FEEDER-7");
        assign_zone_to_account(&test.db, device.account_id, None)
            .await
            .unwrap();
        assert!(property_zones(&test.db).await.unwrap().is_empty());
    }
}
