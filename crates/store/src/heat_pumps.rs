//! Heat-pump controllers: one per heat-pump device, addressed by a stable EUID derived from the
//! device, holding the controller configuration (zones, flow temperature in °C, hush mode).

use chrono::{DateTime, Utc};
use resiflex_domain::heat::FlowTemperature;
use resiflex_domain::heat_controller::{HeatControllerConfiguration, ZoneConfiguration};
use sha2::{Digest, Sha256};

use crate::{Db, StoreError, on_db};

/// A stored controller.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatPumpController {
    /// The heat-pump device the controller drives.
    pub device_id: String,
    /// The controller's EUID (16 upper-case hex digits), stable for the device.
    pub euid: String,
    pub configuration: HeatControllerConfiguration,
    pub updated_at: DateTime<Utc>,
}

/// The EUID of the controller of `device_id`: the first eight bytes of a SHA-256 of the device id,
/// as 16 upper-case hex digits. The same device always has the same EUID.
pub fn euid_for_device(device_id: &str) -> String {
    let digest = Sha256::digest(format!("heat-pump-controller:{device_id}").as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02X}")).collect()
}

#[derive(sqlx::FromRow)]
struct Row {
    device_id: String,
    euid: String,
    hush_mode: bool,
    weather_compensation: bool,
    flow_c: f64,
    curve_min_c: f64,
    curve_max_c: f64,
    zones: String,
    updated_at: DateTime<Utc>,
}

impl Row {
    fn into_controller(self) -> Result<HeatPumpController, StoreError> {
        let zones: Vec<ZoneConfiguration> = serde_json::from_str(&self.zones)
            .map_err(|e| StoreError::Corrupt(format!("heat-pump controller zones: {e}")))?;
        Ok(HeatPumpController {
            device_id: self.device_id,
            euid: self.euid,
            configuration: HeatControllerConfiguration {
                zones,
                flow: FlowTemperature {
                    weather_compensation: self.weather_compensation,
                    flow_c: self.flow_c,
                    curve_min_c: self.curve_min_c,
                    curve_max_c: self.curve_max_c,
                },
                hush_mode: self.hush_mode,
            },
            updated_at: self.updated_at,
        })
    }
}

const COLUMNS: &str = "device_id, euid, hush_mode, weather_compensation, flow_c, curve_min_c, \
                       curve_max_c, zones, updated_at";

/// Stores (or replaces) the configuration of the controller of `device_id`, creating the
/// controller with its derived EUID on first save. Returns the stored controller.
pub async fn save_configuration(
    db: &Db,
    device_id: &str,
    configuration: &HeatControllerConfiguration,
    now: DateTime<Utc>,
) -> Result<HeatPumpController, StoreError> {
    let euid = euid_for_device(device_id);
    let zones = serde_json::to_string(&configuration.zones)
        .map_err(|e| StoreError::Corrupt(format!("heat-pump controller zones: {e}")))?;
    let flow = configuration.flow;
    on_db!(db, |pool| {
        sqlx::query(
        "INSERT INTO heat_pump_controllers (device_id, euid, hush_mode, weather_compensation, flow_c, \
         curve_min_c, curve_max_c, zones, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (device_id) DO UPDATE SET hush_mode = excluded.hush_mode, \
         weather_compensation = excluded.weather_compensation, flow_c = excluded.flow_c, \
         curve_min_c = excluded.curve_min_c, curve_max_c = excluded.curve_max_c, \
         zones = excluded.zones, updated_at = excluded.updated_at"
    )
    .bind(device_id)
    .bind(&euid)
    .bind(configuration.hush_mode)
    .bind(flow.weather_compensation)
    .bind(flow.flow_c)
    .bind(flow.curve_min_c)
    .bind(flow.curve_max_c)
    .bind(&zones)
    .bind(now)
    .execute(pool)
    .await
    .map(|_| ())
    })?;
    Ok(HeatPumpController {
        device_id: device_id.to_owned(),
        euid,
        configuration: configuration.clone(),
        updated_at: now,
    })
}

/// The controller of `device_id`, if one was stored.
pub async fn controller_of_device(
    db: &Db,
    device_id: &str,
) -> Result<Option<HeatPumpController>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM heat_pump_controllers WHERE device_id = $1");
    let row: Option<Row> = on_db!(db, |pool| sqlx::query_as(&sql)
        .bind(device_id)
        .fetch_optional(pool)
        .await)?;
    row.map(Row::into_controller).transpose()
}

/// The controller with `euid`, if any.
pub async fn controller_by_euid(
    db: &Db,
    euid: &str,
) -> Result<Option<HeatPumpController>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM heat_pump_controllers WHERE euid = $1");
    let row: Option<Row> = on_db!(db, |pool| sqlx::query_as(&sql)
        .bind(euid)
        .fetch_optional(pool)
        .await)?;
    row.map(Row::into_controller).transpose()
}

/// Every stored controller (one per heat pump that has been looked at).
pub async fn all_controllers(db: &Db) -> Result<Vec<HeatPumpController>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM heat_pump_controllers");
    let rows: Vec<Row> = on_db!(db, |pool| sqlx::query_as(&sql).fetch_all(pool).await)?;
    rows.into_iter().map(Row::into_controller).collect()
}

/// Removes the controller of `device_id`; returns whether there was one.
pub async fn delete_controller(db: &Db, device_id: &str) -> Result<bool, StoreError> {
    let done = on_db!(db, |pool| sqlx::query(
        "DELETE FROM heat_pump_controllers WHERE device_id = $1"
    )
    .bind(device_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done > 0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testing::{TestDb, vehicle_fixture};
    use resiflex_domain::heat::{Zone, ZoneMode};

    #[test]
    fn the_euid_is_stable_and_distinct_per_device() {
        assert_eq!(euid_for_device("d1"), euid_for_device("d1"));
        assert_ne!(euid_for_device("d1"), euid_for_device("d2"));
        assert_eq!(euid_for_device("d1").len(), 16);
    }

    #[tokio::test]
    async fn configuration_is_created_updated_read_and_deleted() {
        let test = TestDb::new().await;
        let device = vehicle_fixture(&test.db, "ada@example.com", "hp-1").await;
        assert_eq!(
            controller_of_device(&test.db, &device.id).await.unwrap(),
            None
        );
        let mut config = HeatControllerConfiguration::default();
        let now = Utc::now();
        let saved = save_configuration(&test.db, &device.id, &config, now)
            .await
            .unwrap();
        config.set_hush_mode(true);
        config
            .set_zone_mode(Zone::Zone1, ZoneMode::On, Some(21.5), None, now)
            .unwrap();
        save_configuration(&test.db, &device.id, &config, now)
            .await
            .unwrap();
        let read = controller_by_euid(&test.db, &saved.euid)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.device_id, device.id);
        assert_eq!(read.configuration, config);
        assert!(read.configuration.hush_mode);
        assert_eq!(
            read.configuration
                .zone(Zone::Zone1)
                .unwrap()
                .operation
                .setpoint_c,
            Some(21.5)
        );
        assert_eq!(all_controllers(&test.db).await.unwrap(), vec![read]);
        assert!(delete_controller(&test.db, &device.id).await.unwrap());
        assert_eq!(
            controller_by_euid(&test.db, &saved.euid).await.unwrap(),
            None
        );
    }
}
