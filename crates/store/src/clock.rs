//! The scaled clock's mapping from wall time to server time, kept so that a restart (or a second
//! server) continues the same clock.

use chrono::{DateTime, Utc};
use resiflex_domain::clock::ClockAnchor;

use crate::{Db, StoreError, on_db};

/// The saved mapping, if a scaled clock ran on this database before.
pub async fn anchor(db: &Db) -> Result<Option<ClockAnchor>, StoreError> {
    let row: Option<(DateTime<Utc>, DateTime<Utc>, f64)> = on_db!(db, |pool| {
        sqlx::query_as("SELECT clock_at, wall_at, speed FROM server_clock WHERE id = 1")
            .fetch_optional(pool)
            .await
    })?;
    Ok(row.map(|(clock_at, wall_at, speed)| ClockAnchor {
        clock_at,
        wall_at,
        speed,
    }))
}

/// Saves the mapping, replacing the one before.
pub async fn save_anchor(db: &Db, anchor: &ClockAnchor) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO server_clock (id, clock_at, wall_at, speed) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET clock_at = excluded.clock_at, wall_at = excluded.wall_at, speed = excluded.speed",
        )
        .bind(anchor.clock_at)
        .bind(anchor.wall_at)
        .bind(anchor.speed)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(())
}
