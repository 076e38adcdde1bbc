//! Properties' forecasts ([`ForecastPoint`]): outdoor temperature, solar production and base load.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use resiflex_domain::forecast::ForecastPoint;

use crate::{Db, StoreError, on_db, on_tx};

/// Rows per insert statement (five values each, well under both engines' parameter limits).
const BATCH: usize = 500;

#[derive(sqlx::FromRow)]
struct PointRow {
    property_id: i64,
    at: DateTime<Utc>,
    outdoor_c: Option<f64>,
    solar_w: Option<f64>,
    base_load_w: Option<f64>,
}

impl PointRow {
    fn point(&self) -> ForecastPoint {
        ForecastPoint {
            at: self.at,
            outdoor_c: self.outdoor_c.filter(|v| v.is_finite()),
            solar_w: self.solar_w.filter(|v| v.is_finite()),
            base_load_w: self.base_load_w.filter(|v| v.is_finite()),
        }
    }
}

/// Stores a property's forecast points, replacing earlier ones for the same instants. Values
/// that are not finite numbers are stored as unknown.
pub async fn save(
    db: &Db,
    property_id: i64,
    points: &[ForecastPoint],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
    let mut tx = db.begin().await?;
    for chunk in points.chunks(BATCH) {
        on_tx!(&mut tx, |conn| {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO property_forecasts (property_id, at, outdoor_c, solar_w, base_load_w, saved_at) ",
            );
            query.push_values(chunk, |mut row, point| {
                row.push_bind(property_id)
                    .push_bind(point.at)
                    .push_bind(finite(point.outdoor_c))
                    .push_bind(finite(point.solar_w))
                    .push_bind(finite(point.base_load_w))
                    .push_bind(now);
            });
            query.push(
                " ON CONFLICT (property_id, at) DO UPDATE SET outdoor_c = excluded.outdoor_c, \
                 solar_w = excluded.solar_w, base_load_w = excluded.base_load_w, saved_at = excluded.saved_at",
            );
            query.build().execute(conn).await.map(|_| ())
        })?;
    }
    tx.commit().await
}

/// Every property's forecast points in `[from, to)`, oldest first, with the last point before
/// `from` (it is still in force at `from`).
pub async fn all_between(
    db: &Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<HashMap<i64, Vec<ForecastPoint>>, StoreError> {
    let rows: Vec<PointRow> = on_db!(db, |pool| sqlx::query_as(
        "SELECT property_id, at, outdoor_c, solar_w, base_load_w FROM property_forecasts f \
         WHERE at < $2 AND at >= COALESCE((SELECT MAX(at) FROM property_forecasts p \
             WHERE p.property_id = f.property_id AND p.at <= $1), $1) \
         ORDER BY property_id, at"
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await)?;
    let mut out: HashMap<i64, Vec<ForecastPoint>> = HashMap::new();
    for row in &rows {
        out.entry(row.property_id).or_default().push(row.point());
    }
    Ok(out)
}

/// One property's forecast points in `[from, to)` (with the one in force at `from`).
pub async fn between(
    db: &Db,
    property_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ForecastPoint>, StoreError> {
    let rows: Vec<PointRow> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT property_id, at, outdoor_c, solar_w, base_load_w FROM property_forecasts \
         WHERE property_id = $1 AND at < $3 AND at >= COALESCE((SELECT MAX(at) FROM property_forecasts \
             WHERE property_id = $1 AND at <= $2), $2) \
         ORDER BY at"
    )
    .bind(property_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    })?;
    Ok(rows.iter().map(PointRow::point).collect())
}

/// How far ahead each property's forecast reaches (its latest point).
pub async fn horizons(db: &Db) -> Result<HashMap<i64, DateTime<Utc>>, StoreError> {
    let rows: Vec<(i64, DateTime<Utc>)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT property_id, MAX(at) FROM property_forecasts GROUP BY property_id"
    )
    .fetch_all(pool)
    .await)?;
    Ok(rows.into_iter().collect())
}

/// Forgets forecast points older than `before`; answers how many were removed.
pub async fn prune(db: &Db, before: DateTime<Utc>) -> Result<u64, StoreError> {
    Ok(on_db!(db, |pool| sqlx::query(
        "DELETE FROM property_forecasts WHERE at < $1"
    )
    .bind(before)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?)
}
