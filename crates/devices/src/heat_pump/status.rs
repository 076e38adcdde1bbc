//! What a controller reports: its sensors (the room sensor, the flow and cylinder thermistors)
//! and each zone's mode, set-point and whether it is calling for and getting heat, from the
//! controller's configuration and the heat pump's latest reading.

use chrono::{DateTime, Duration, Utc};
use resiflex_domain::heat::{Zone, ZoneMode};
use resiflex_domain::heat_controller::{
    ControllerZoneType, HeatControllerConfiguration, ZoneConfiguration,
};
use resiflex_domain::telemetry::{Connection, Telemetry};

/// The wireless room sensor of the first zone.
pub const ROOM_SENSOR: &str = "SENSOR01";
/// The wired thermistor on the heat pump's flow.
pub const FLOW_SENSOR: &str = "ADC1";
/// The wired thermistor in the hot-water cylinder.
pub const CYLINDER_SENSOR: &str = "ADC2";
/// A reading older than this no longer counts as the sensor being online.
pub const STALE_AFTER_MINUTES: i64 = 30;

/// How a sensor is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SensorKind {
    /// A wired thermistor (`NTC`).
    Wired,
    /// A wireless room sensor (`ZIGBEE`).
    Wireless,
}

/// A sensor as configured on the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SensorConfiguration {
    pub code: &'static str,
    pub display_name: &'static str,
    pub kind: SensorKind,
}

/// The sensors that belong to a zone.
pub fn sensors_of(zone: Zone) -> &'static [SensorConfiguration] {
    const ROOM: SensorConfiguration = SensorConfiguration {
        code: ROOM_SENSOR,
        display_name: "Room sensor",
        kind: SensorKind::Wireless,
    };
    const CYLINDER: SensorConfiguration = SensorConfiguration {
        code: CYLINDER_SENSOR,
        display_name: "Hot water cylinder",
        kind: SensorKind::Wired,
    };
    match zone {
        Zone::Zone1 => &[ROOM],
        Zone::Water => &[CYLINDER],
        Zone::Zone2 | Zone::Auxiliary => &[],
    }
}

/// The sensor whose temperature counts as the zone's.
pub fn primary_sensor(zone: &ZoneConfiguration) -> Option<String> {
    zone.primary_sensor
        .clone()
        .or_else(|| sensors_of(zone.zone).first().map(|s| s.code.to_owned()))
}

/// One sensor now.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorStatus {
    pub code: &'static str,
    pub online: bool,
    pub retrieved_at: Option<DateTime<Utc>>,
    /// `None` when the sensor measures nothing (a cylinder thermistor with no cylinder).
    pub temperature_c: Option<f64>,
}

/// One zone now.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneStatus {
    pub zone: Zone,
    pub mode: ZoneMode,
    /// The set-point the zone holds now, °C: the plan's under smart control, else the zone's own.
    pub setpoint_c: Option<f64>,
    /// Whether the zone is being heated now.
    pub relay_switched_on: bool,
    /// Whether the zone is below its set-point and wants heat.
    pub heat_demand: bool,
    pub retrieved_at: Option<DateTime<Utc>>,
}

/// The controller now.
#[derive(Debug, Clone, PartialEq)]
pub struct ControllerStatus {
    /// Whether the controller reported recently and is online.
    pub connected: bool,
    pub sensors: Vec<SensorStatus>,
    pub zones: Vec<ZoneStatus>,
}

/// The status of a controller with `configuration` whose heat pump last read `latest`.
pub fn status_of(
    configuration: &HeatControllerConfiguration,
    latest: Option<&Telemetry>,
    now: DateTime<Utc>,
) -> ControllerStatus {
    let fresh = latest.filter(|r| {
        r.connection == Connection::Online && now - r.at <= Duration::minutes(STALE_AFTER_MINUTES)
    });
    let at = latest.map(|r| r.at);
    let sensor = |code: &'static str, value: Option<f64>| SensorStatus {
        code,
        online: fresh.is_some(),
        retrieved_at: at,
        temperature_c: value,
    };
    let sensors = vec![
        sensor(ROOM_SENSOR, latest.and_then(|r| r.indoor_temperature_c)),
        sensor(FLOW_SENSOR, latest.and_then(|r| r.flow_temperature_c)),
        sensor(
            CYLINDER_SENSOR,
            latest.and_then(|r| r.hot_water_temperature_c),
        ),
    ];
    let zones = configuration
        .zones
        .iter()
        .map(|zone| zone_status(zone, latest, now))
        .collect();
    ControllerStatus {
        connected: fresh.is_some(),
        sensors,
        zones,
    }
}

fn zone_status(
    zone: &ZoneConfiguration,
    latest: Option<&Telemetry>,
    now: DateTime<Utc>,
) -> ZoneStatus {
    let operation = zone.operation_at(now);
    let running = zone.enabled && operation.mode != ZoneMode::Off;
    let (setpoint_c, measured, heating) = match zone.zone_type {
        ControllerZoneType::Heat if zone.zone == Zone::Zone1 => {
            // The room the heat pump heats: under smart control it holds the plan's set-point.
            let held = match operation.mode {
                ZoneMode::Auto => latest
                    .and_then(|r| r.target_temperature_c)
                    .or(operation.setpoint_c),
                _ => operation.setpoint_c,
            };
            let heating = latest.is_some_and(|r| r.active && r.power_w > 0);
            (held, latest.and_then(|r| r.indoor_temperature_c), heating)
        }
        ControllerZoneType::Water => (
            operation.setpoint_c,
            latest.and_then(|r| r.hot_water_temperature_c),
            false,
        ),
        _ => (operation.setpoint_c, None, false),
    };
    let heat_demand =
        running && matches!((measured, setpoint_c), (Some(now_c), Some(target)) if now_c < target);
    ZoneStatus {
        zone: zone.zone,
        mode: operation.mode,
        setpoint_c,
        relay_switched_on: running && heating,
        heat_demand,
        retrieved_at: latest.map(|r| r.at),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, 7, 0, 0).unwrap()
    }

    fn heating(indoor_c: f64, target_c: f64, power_w: i64) -> Telemetry {
        Telemetry {
            power_w,
            active: power_w > 0,
            indoor_temperature_c: Some(indoor_c),
            target_temperature_c: Some(target_c),
            flow_temperature_c: Some(41.5),
            plugged_in: None,
            at_home: None,
            ..Telemetry::vehicle_at_home(now() - Duration::minutes(2), 0.0)
        }
    }

    fn zone(status: &ControllerStatus, zone: Zone) -> &ZoneStatus {
        status.zones.iter().find(|z| z.zone == zone).unwrap()
    }

    #[test]
    fn the_room_zone_shows_the_plans_setpoint_and_whether_it_heats() {
        let config = HeatControllerConfiguration::default();
        let status = status_of(&config, Some(&heating(19.5, 21.0, 1_800)), now());
        assert!(status.connected);
        let room = zone(&status, Zone::Zone1);
        assert_eq!(room.mode, ZoneMode::Auto);
        assert_eq!(room.setpoint_c, Some(21.0));
        assert!(room.relay_switched_on && room.heat_demand);
        let flow = status
            .sensors
            .iter()
            .find(|s| s.code == FLOW_SENSOR)
            .unwrap();
        assert_eq!(flow.temperature_c, Some(41.5));
        let cylinder = status
            .sensors
            .iter()
            .find(|s| s.code == CYLINDER_SENSOR)
            .unwrap();
        assert_eq!(cylinder.temperature_c, None);
        // Warm enough and idle: no demand, relay open.
        let idle = status_of(&config, Some(&heating(21.4, 21.0, 0)), now());
        let room = zone(&idle, Zone::Zone1);
        assert!(!room.relay_switched_on && !room.heat_demand);
        // Disabled zones never call for heat.
        assert!(!zone(&idle, Zone::Zone2).heat_demand);
    }

    #[test]
    fn a_zone_off_by_hand_shows_its_own_setpoint_and_no_demand() {
        let mut config = HeatControllerConfiguration::default();
        config
            .set_zone_mode(Zone::Zone1, ZoneMode::Off, Some(18.0), None, now())
            .unwrap();
        let status = status_of(&config, Some(&heating(15.0, 21.0, 0)), now());
        let room = zone(&status, Zone::Zone1);
        assert_eq!(room.mode, ZoneMode::Off);
        assert_eq!(room.setpoint_c, Some(18.0));
        assert!(!room.heat_demand && !room.relay_switched_on);
    }

    #[test]
    fn a_stale_or_missing_reading_is_offline() {
        let config = HeatControllerConfiguration::default();
        let old = heating(20.0, 21.0, 0);
        let later = now() + Duration::minutes(STALE_AFTER_MINUTES + 5);
        let status = status_of(&config, Some(&old), later);
        assert!(!status.connected);
        assert!(status.sensors.iter().all(|s| !s.online));
        let none = status_of(&config, None, now());
        assert!(!none.connected);
        assert!(none.zones.iter().all(|z| z.retrieved_at.is_none()));
    }
}
