//! Heat pumps' buildings as learnt from their readings.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::{Db, StoreError, on_db};

/// A building's fitted heat loss and thermal mass.
#[derive(Debug, Clone, Copy, PartialEq, sqlx::FromRow)]
pub struct ThermalModel {
    pub heat_loss_w_per_k: f64,
    pub thermal_mass_wh_per_k: f64,
    /// Readings the fit used.
    pub samples: i64,
    pub fitted_at: DateTime<Utc>,
}

/// Stores (or replaces) the device's fitted building.
pub async fn save_model(db: &Db, device_id: &str, model: &ThermalModel) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
        "INSERT INTO thermal_models (device_id, heat_loss_w_per_k, thermal_mass_wh_per_k, samples, fitted_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (device_id) DO UPDATE SET \
         heat_loss_w_per_k = excluded.heat_loss_w_per_k, thermal_mass_wh_per_k = excluded.thermal_mass_wh_per_k, \
         samples = excluded.samples, fitted_at = excluded.fitted_at"
    )
    .bind(device_id)
    .bind(model.heat_loss_w_per_k)
    .bind(model.thermal_mass_wh_per_k)
    .bind(model.samples)
    .bind(model.fitted_at)
    .execute(pool)
    .await
    .map(|_| ())
    })?;
    Ok(())
}

/// The device's fitted building, if it has one.
pub async fn model(db: &Db, device_id: &str) -> Result<Option<ThermalModel>, StoreError> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT heat_loss_w_per_k, thermal_mass_wh_per_k, samples, fitted_at FROM thermal_models WHERE device_id = $1"
    )
    .bind(device_id)
    .fetch_optional(pool)
    .await
    })?)
}

#[derive(sqlx::FromRow)]
struct ModelRow {
    device_id: String,
    #[sqlx(flatten)]
    model: ThermalModel,
}

/// Every fitted building, by device id.
pub async fn all_models(db: &Db) -> Result<HashMap<String, ThermalModel>, StoreError> {
    let rows: Vec<ModelRow> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT device_id, heat_loss_w_per_k, thermal_mass_wh_per_k, samples, fitted_at FROM thermal_models"
    )
    .fetch_all(pool)
    .await
    })?;
    Ok(rows.into_iter().map(|r| (r.device_id, r.model)).collect())
}
