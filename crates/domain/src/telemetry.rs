//! What a device reports: one reading of its state, and the state a reading settles a device in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::device::{DeviceKind, DeviceState};

/// Whether the device's connection to its cloud is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Connection {
    Online,
    Offline,
}

/// One reading of a device's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Telemetry {
    pub at: DateTime<Utc>,
    pub connection: Connection,
    /// State of charge, 0–100 (vehicles, batteries).
    pub state_of_charge_pct: Option<f64>,
    /// The charge limit set on the device itself, 0–100.
    pub soc_limit_pct: Option<f64>,
    /// Power drawn from the grid (positive) or fed back (negative).
    pub power_w: i64,
    /// Energy imported since the device was first seen, a meter that only grows.
    pub energy_imported_wh: i64,
    /// Energy exported since the device was first seen.
    pub energy_exported_wh: i64,
    pub plugged_in: Option<bool>,
    pub at_home: Option<bool>,
    /// Inside temperature (heat pumps, thermostats).
    pub indoor_temperature_c: Option<f64>,
    /// Outside temperature, where the device measures it.
    pub outdoor_temperature_c: Option<f64>,
    /// The temperature the device is heating or cooling towards.
    pub target_temperature_c: Option<f64>,
    /// Solar production (inverters).
    pub solar_power_w: Option<i64>,
    /// Household consumption seen by the device (inverters).
    pub site_consumption_w: Option<i64>,
    /// Whether the device is charging (or heating) now.
    pub active: bool,
    /// Heat pumps: the temperature of the water leaving the heat pump.
    #[serde(default)]
    pub flow_temperature_c: Option<f64>,
    /// Heat pumps: the heat delivered now (electrical power × COP).
    #[serde(default)]
    pub heat_output_w: Option<i64>,
    /// Heat pumps: heat delivered since the device was first seen, a meter that only grows.
    #[serde(default)]
    pub heat_output_wh: Option<i64>,
    /// Heat pumps: the hot-water tank's temperature, where there is one.
    #[serde(default)]
    pub hot_water_temperature_c: Option<f64>,
    /// Inverters: the household's exchange with the grid, import positive.
    #[serde(default)]
    pub grid_power_w: Option<i64>,
    /// Batteries and inverters: the battery's own power, charging positive.
    #[serde(default)]
    pub battery_power_w: Option<i64>,
}

impl Telemetry {
    /// A vehicle's reading at `at`: online, plugged in at home, not charging, at `soc_pct` with no
    /// charge limit of its own and its meters at zero. Change what differs with struct update syntax.
    pub fn vehicle_at_home(at: DateTime<Utc>, soc_pct: f64) -> Telemetry {
        Telemetry {
            at,
            connection: Connection::Online,
            state_of_charge_pct: Some(soc_pct),
            soc_limit_pct: None,
            power_w: 0,
            energy_imported_wh: 0,
            energy_exported_wh: 0,
            plugged_in: Some(true),
            at_home: Some(true),
            indoor_temperature_c: None,
            outdoor_temperature_c: None,
            target_temperature_c: None,
            solar_power_w: None,
            site_consumption_w: None,
            active: false,
            flow_temperature_c: None,
            heat_output_w: None,
            heat_output_wh: None,
            hot_water_temperature_c: None,
            grid_power_w: None,
            battery_power_w: None,
        }
    }

    /// The state a set-up device settles in given this reading (or none: `reading` may be absent),
    /// by the domain's rule ([`DeviceState::settled`]): off when suspended, lost when offline, not
    /// available when a vehicle is unplugged or away, capable otherwise.
    pub fn settled_state(
        reading: Option<&Telemetry>,
        kind: DeviceKind,
        suspended: bool,
    ) -> DeviceState {
        DeviceState::settled(
            kind,
            suspended,
            reading.map(|t| t.connection == Connection::Online),
            reading.and_then(|t| t.plugged_in),
            reading.and_then(|t| t.at_home),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;

    use super::*;

    fn reading() -> Telemetry {
        Telemetry {
            soc_limit_pct: Some(90.0),
            energy_imported_wh: 1_000,
            ..Telemetry::vehicle_at_home(Utc.with_ymd_and_hms(2026, 1, 1, 22, 0, 0).unwrap(), 50.0)
        }
    }

    #[test]
    fn settled_state_follows_plug_home_and_connection() {
        let ev = DeviceKind::ElectricVehicle;
        assert_eq!(
            Telemetry::settled_state(Some(&reading()), ev, false),
            DeviceState::SmartControlCapable
        );
        assert_eq!(
            Telemetry::settled_state(None, ev, false),
            DeviceState::SmartControlCapable
        );
        let mut unplugged = reading();
        unplugged.plugged_in = Some(false);
        assert_eq!(
            Telemetry::settled_state(Some(&unplugged), ev, false),
            DeviceState::SmartControlNotAvailable
        );
        let mut away = reading();
        away.at_home = Some(false);
        assert_eq!(
            Telemetry::settled_state(Some(&away), ev, false),
            DeviceState::SmartControlNotAvailable
        );
        // Only vehicles and chargers depend on being plugged in.
        assert_eq!(
            Telemetry::settled_state(Some(&unplugged), DeviceKind::HeatPump, false),
            DeviceState::SmartControlCapable
        );
        let mut offline = reading();
        offline.connection = Connection::Offline;
        assert_eq!(
            Telemetry::settled_state(Some(&offline), ev, false),
            DeviceState::LostConnection
        );
    }

    #[test]
    fn a_suspended_device_settles_off() {
        assert_eq!(
            Telemetry::settled_state(Some(&reading()), DeviceKind::ElectricVehicle, true),
            DeviceState::SmartControlOff
        );
    }
}
