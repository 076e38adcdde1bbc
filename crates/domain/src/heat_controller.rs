//! A heat-pump controller's configuration: its zones (each with a mode, a set-point and
//! schedules), its flow-temperature configuration and its hush (quieter) mode, with the
//! validation rules the controller applies before it accepts a change.
//!
//! The vocabulary is the controller API's ([`Zone`], [`ZoneMode`], [`ControllerZoneType`]),
//! kept apart from the SmartFlex registry's zone vocabulary.

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::heat::{FlowTemperature, Zone, ZoneMode, ZoneOperation};

/// Lowest set-point of a room zone, in °C.
pub const ROOM_SETPOINT_MIN_C: f64 = 7.0;
/// Highest set-point of a room zone, in °C.
pub const ROOM_SETPOINT_MAX_C: f64 = 30.0;
/// Lowest set-point of a hot-water zone, in °C.
pub const WATER_SETPOINT_MIN_C: f64 = 40.0;
/// Highest set-point of a hot-water zone, in °C.
pub const WATER_SETPOINT_MAX_C: f64 = 60.0;
/// The step set-points move in, in °C.
pub const SETPOINT_STEP_C: f64 = 0.5;
/// Lowest flow temperature the controller accepts (fixed or either curve end), in °C.
pub const FLOW_MIN_C: f64 = 25.0;
/// Highest flow temperature the controller accepts (fixed or either curve end), in °C.
pub const FLOW_MAX_C: f64 = 65.0;
/// Default boost set-point of a hot-water zone when none is given, in °C.
pub const DEFAULT_WATER_BOOST_C: f64 = 50.0;
/// Default boost set-point of a room zone when none is given, in °C.
pub const DEFAULT_ROOM_BOOST_C: f64 = 30.0;
/// How long a boost lasts when no end is given, in minutes.
pub const DEFAULT_BOOST_MINUTES: i64 = 60;

/// What a controller zone heats (the controller API's `ZoneType`: `HEAT`, `WATER`, `AUX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ControllerZoneType {
    /// Space heating.
    Heat,
    /// Domestic hot water.
    Water,
    /// An auxiliary output.
    Aux,
}

impl ControllerZoneType {
    /// The type a zone has on a standard controller.
    pub const fn of(zone: Zone) -> Self {
        match zone {
            Zone::Water => ControllerZoneType::Water,
            Zone::Zone1 | Zone::Zone2 => ControllerZoneType::Heat,
            Zone::Auxiliary => ControllerZoneType::Aux,
        }
    }

    /// The set-point range of a zone of this type, in °C: 7–30 for `HEAT`, 40–60 otherwise.
    pub const fn setpoint_range_c(self) -> (f64, f64) {
        match self {
            ControllerZoneType::Heat => (ROOM_SETPOINT_MIN_C, ROOM_SETPOINT_MAX_C),
            ControllerZoneType::Water | ControllerZoneType::Aux => {
                (WATER_SETPOINT_MIN_C, WATER_SETPOINT_MAX_C)
            }
        }
    }
}

/// What a schedule step does (the controller API's `SET_TEMPERATURE | TURN_OFF`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScheduleAction {
    /// Heat to the step's set-point from the step's time.
    SetTemperature,
    /// Stop heating from the step's time.
    TurnOff,
}

/// One step of a zone schedule: from `time` (controller local time), do `action`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleSetting {
    pub time: NaiveTime,
    pub action: ScheduleAction,
    /// Target in °C; required for [`ScheduleAction::SetTemperature`].
    pub setpoint_c: Option<f64>,
}

/// A zone schedule: the weekdays it applies to and its steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneSchedule {
    /// Seven `0`/`1` characters, Monday first: the weekdays the schedule applies to.
    pub days: String,
    pub settings: Vec<ScheduleSetting>,
}

/// One zone of a controller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneConfiguration {
    pub zone: Zone,
    pub zone_type: ControllerZoneType,
    pub enabled: bool,
    pub display_name: String,
    /// The sensor code whose temperature counts as the zone temperature (e.g. `SENSOR01`).
    pub primary_sensor: Option<String>,
    pub operation: ZoneOperation,
    pub schedules: Vec<ZoneSchedule>,
}

impl ZoneConfiguration {
    /// The operation in force at `now`: a boost that has ended is back to AUTO.
    pub fn operation_at(&self, now: DateTime<Utc>) -> ZoneOperation {
        let operation = self.operation;
        match operation.end {
            Some(end) if operation.mode == ZoneMode::Boost && end <= now => ZoneOperation {
                mode: ZoneMode::Auto,
                end: None,
                ..operation
            },
            _ => operation,
        }
    }

    /// Whether the zone heats rooms and is run by hand (on, off or boosted) at `now`, so that
    /// smart control must leave it alone.
    pub fn overrides_smart_control(&self, now: DateTime<Utc>) -> bool {
        self.zone_type == ControllerZoneType::Heat
            && self.enabled
            && self.operation_at(now).mode != ZoneMode::Auto
    }

    /// A zone as a controller is delivered: enabled, following its schedule, at a typical
    /// set-point (21 °C for rooms, 50 °C for water), with no schedules.
    pub fn standard(zone: Zone) -> Self {
        let zone_type = ControllerZoneType::of(zone);
        let setpoint = match zone_type {
            ControllerZoneType::Heat => 21.0,
            ControllerZoneType::Water | ControllerZoneType::Aux => DEFAULT_WATER_BOOST_C,
        };
        let display_name = match zone {
            Zone::Water => "Hot water",
            Zone::Zone1 => "Zone 1",
            Zone::Zone2 => "Zone 2",
            Zone::Auxiliary => "Auxiliary",
        };
        ZoneConfiguration {
            zone,
            zone_type,
            enabled: !matches!(zone, Zone::Zone2 | Zone::Auxiliary),
            display_name: display_name.to_owned(),
            primary_sensor: None,
            operation: ZoneOperation {
                zone,
                mode: ZoneMode::Auto,
                setpoint_c: Some(setpoint),
                end: None,
            },
            schedules: Vec::new(),
        }
    }
}

/// The configuration of one heat-pump controller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeatControllerConfiguration {
    pub zones: Vec<ZoneConfiguration>,
    pub flow: FlowTemperature,
    /// The quieter mode (`quieterModeEnabled`).
    pub hush_mode: bool,
}

impl Default for HeatControllerConfiguration {
    fn default() -> Self {
        HeatControllerConfiguration {
            zones: Zone::ALL
                .iter()
                .map(|zone| ZoneConfiguration::standard(*zone))
                .collect(),
            flow: FlowTemperature::default(),
            hush_mode: false,
        }
    }
}

/// Why a controller change was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HeatControllerError {
    #[error("the controller has no zone {0:?}")]
    UnknownZone(Zone),
    #[error("set-point {setpoint_c} °C is outside {min_c}–{max_c} °C for this zone")]
    SetpointOutOfRange {
        setpoint_c: f64,
        min_c: f64,
        max_c: f64,
    },
    #[error("set-point {0} °C is not a multiple of 0.5 °C")]
    SetpointStep(f64),
    #[error("mode {0:?} needs a set-point")]
    SetpointRequired(ZoneMode),
    #[error("flow temperature {0} °C is outside 25–65 °C")]
    FlowOutOfRange(f64),
    #[error("the weather-compensation minimum {min_c} °C is above its maximum {max_c} °C")]
    CurveInverted { min_c: f64, max_c: f64 },
    #[error("a boost must end after it starts")]
    BoostEndInPast,
    #[error("schedule days must be seven 0/1 characters, got {0:?}")]
    ScheduleDays(String),
    #[error("schedule steps must be in strictly increasing time order")]
    ScheduleOrder,
    #[error("zone {zone:?} has no sensor {code:?}")]
    UnknownSensor { zone: Zone, code: String },
    #[error(
        "a zone's display name must have 1 to {MAX_DISPLAY_NAME} characters, none of them control characters"
    )]
    DisplayName,
}

/// The longest display name a zone may have, in characters.
pub const MAX_DISPLAY_NAME: usize = 40;

/// Checks a set-point for a zone of `zone_type`: finite, in range and on the 0.5 °C grid.
pub fn validate_setpoint(
    zone_type: ControllerZoneType,
    setpoint_c: f64,
) -> Result<(), HeatControllerError> {
    let (min_c, max_c) = zone_type.setpoint_range_c();
    if !setpoint_c.is_finite() || setpoint_c < min_c || setpoint_c > max_c {
        return Err(HeatControllerError::SetpointOutOfRange {
            setpoint_c,
            min_c,
            max_c,
        });
    }
    let steps = setpoint_c / SETPOINT_STEP_C;
    if (steps - steps.round()).abs() > 1e-9 {
        return Err(HeatControllerError::SetpointStep(setpoint_c));
    }
    Ok(())
}

/// Checks a flow-temperature configuration: every value within 25–65 °C and the curve's
/// minimum no higher than its maximum.
pub fn validate_flow(flow: &FlowTemperature) -> Result<(), HeatControllerError> {
    for value in [flow.flow_c, flow.curve_min_c, flow.curve_max_c] {
        if !value.is_finite() || !(FLOW_MIN_C..=FLOW_MAX_C).contains(&value) {
            return Err(HeatControllerError::FlowOutOfRange(value));
        }
    }
    if flow.curve_min_c > flow.curve_max_c {
        return Err(HeatControllerError::CurveInverted {
            min_c: flow.curve_min_c,
            max_c: flow.curve_max_c,
        });
    }
    Ok(())
}

/// Checks schedules for a zone of `zone_type`.
pub fn validate_schedules(
    zone_type: ControllerZoneType,
    schedules: &[ZoneSchedule],
) -> Result<(), HeatControllerError> {
    for schedule in schedules {
        if schedule.days.len() != 7 || !schedule.days.chars().all(|c| c == '0' || c == '1') {
            return Err(HeatControllerError::ScheduleDays(schedule.days.clone()));
        }
        for pair in schedule.settings.windows(2) {
            if let [a, b] = pair
                && a.time >= b.time
            {
                return Err(HeatControllerError::ScheduleOrder);
            }
        }
        for setting in &schedule.settings {
            match (setting.action, setting.setpoint_c) {
                (ScheduleAction::SetTemperature, None) => {
                    return Err(HeatControllerError::SetpointRequired(ZoneMode::On));
                }
                (ScheduleAction::SetTemperature, Some(setpoint)) => {
                    validate_setpoint(zone_type, setpoint)?;
                }
                (ScheduleAction::TurnOff, _) => {}
            }
        }
    }
    Ok(())
}

impl HeatControllerConfiguration {
    /// Whether any room zone is run by hand at `now` (see
    /// [`ZoneConfiguration::overrides_smart_control`]).
    pub fn overrides_smart_control(&self, now: DateTime<Utc>) -> bool {
        self.zones.iter().any(|z| z.overrides_smart_control(now))
    }

    /// The zone's configuration, if the controller has it.
    pub fn zone(&self, zone: Zone) -> Option<&ZoneConfiguration> {
        self.zones.iter().find(|z| z.zone == zone)
    }

    fn zone_mut(&mut self, zone: Zone) -> Result<&mut ZoneConfiguration, HeatControllerError> {
        self.zones
            .iter_mut()
            .find(|z| z.zone == zone)
            .ok_or(HeatControllerError::UnknownZone(zone))
    }

    /// Sets a zone's mode. `ON` and `BOOST` take a set-point (a boost defaults to 50 °C for
    /// water, 30 °C otherwise, and to one hour from `now`); `OFF` and `AUTO` keep the last one
    /// unless a new one is given. Returns the operation now in force.
    pub fn set_zone_mode(
        &mut self,
        zone: Zone,
        mode: ZoneMode,
        setpoint_c: Option<f64>,
        end: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<ZoneOperation, HeatControllerError> {
        let config = self.zone_mut(zone)?;
        let zone_type = config.zone_type;
        let setpoint = match (mode, setpoint_c) {
            (_, Some(value)) => Some(value),
            (ZoneMode::Boost, None) => Some(match zone_type {
                ControllerZoneType::Heat => DEFAULT_ROOM_BOOST_C,
                ControllerZoneType::Water | ControllerZoneType::Aux => DEFAULT_WATER_BOOST_C,
            }),
            (ZoneMode::On, None) => config.operation.setpoint_c,
            (ZoneMode::Off | ZoneMode::Auto, None) => config.operation.setpoint_c,
        };
        if mode == ZoneMode::On && setpoint.is_none() {
            return Err(HeatControllerError::SetpointRequired(mode));
        }
        if let Some(value) = setpoint_c {
            validate_setpoint(zone_type, value)?;
        }
        let end = if mode == ZoneMode::Boost {
            let end = end.unwrap_or(now + chrono::Duration::minutes(DEFAULT_BOOST_MINUTES));
            if end <= now {
                return Err(HeatControllerError::BoostEndInPast);
            }
            Some(end)
        } else {
            None
        };
        config.operation = ZoneOperation {
            zone,
            mode,
            setpoint_c: setpoint,
            end,
        };
        Ok(config.operation)
    }

    /// Replaces a zone's schedules after validating them.
    pub fn set_zone_schedules(
        &mut self,
        zone: Zone,
        schedules: Vec<ZoneSchedule>,
    ) -> Result<(), HeatControllerError> {
        let config = self.zone_mut(zone)?;
        validate_schedules(config.zone_type, &schedules)?;
        config.schedules = schedules;
        Ok(())
    }

    /// Replaces the flow-temperature configuration after validating it.
    pub fn set_flow(&mut self, flow: FlowTemperature) -> Result<(), HeatControllerError> {
        validate_flow(&flow)?;
        self.flow = flow;
        Ok(())
    }

    /// Turns the quieter mode on or off.
    pub fn set_hush_mode(&mut self, enabled: bool) {
        self.hush_mode = enabled;
    }

    /// Renames a zone; the name is trimmed and must keep 1 to [`MAX_DISPLAY_NAME`] characters
    /// with no control characters. Returns the name kept.
    pub fn set_display_name(
        &mut self,
        zone: Zone,
        name: &str,
    ) -> Result<String, HeatControllerError> {
        let configuration = self.zone_mut(zone)?;
        let name = name.trim();
        let length = name.chars().count();
        if length == 0 || length > MAX_DISPLAY_NAME || name.chars().any(char::is_control) {
            return Err(HeatControllerError::DisplayName);
        }
        configuration.display_name = name.to_owned();
        Ok(name.to_owned())
    }

    /// Takes sensor `code`, one of `sensors` (the codes the zone has), as the zone's primary
    /// sensor.
    pub fn set_primary_sensor(
        &mut self,
        zone: Zone,
        code: &str,
        sensors: &[&str],
    ) -> Result<(), HeatControllerError> {
        let configuration = self.zone_mut(zone)?;
        if !sensors.contains(&code) {
            return Err(HeatControllerError::UnknownSensor {
                zone,
                code: code.to_owned(),
            });
        }
        configuration.primary_sensor = Some(code.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 18, 16, 0, 0).unwrap()
    }

    #[test]
    fn a_room_zone_run_by_hand_overrides_smart_control_until_its_boost_ends() {
        let mut config = HeatControllerConfiguration::default();
        assert!(!config.overrides_smart_control(now()));
        config
            .set_zone_mode(Zone::Water, ZoneMode::On, Some(55.0), None, now())
            .unwrap();
        assert!(
            !config.overrides_smart_control(now()),
            "water is not a room"
        );
        config
            .set_zone_mode(Zone::Zone1, ZoneMode::Boost, Some(23.0), None, now())
            .unwrap();
        assert!(config.overrides_smart_control(now()));
        let after = now() + chrono::Duration::minutes(DEFAULT_BOOST_MINUTES);
        assert!(!config.overrides_smart_control(after));
        let zone = config.zone(Zone::Zone1).unwrap();
        assert_eq!(zone.operation_at(after).mode, ZoneMode::Auto);
        assert_eq!(zone.operation_at(after).setpoint_c, Some(23.0));
        config
            .set_zone_mode(Zone::Zone1, ZoneMode::Off, None, None, now())
            .unwrap();
        assert!(config.overrides_smart_control(after));
    }

    #[test]
    fn room_and_water_ranges_differ() {
        assert!(validate_setpoint(ControllerZoneType::Heat, 21.5).is_ok());
        assert!(validate_setpoint(ControllerZoneType::Heat, 31.0).is_err());
        assert!(validate_setpoint(ControllerZoneType::Heat, 6.5).is_err());
        assert!(validate_setpoint(ControllerZoneType::Water, 21.5).is_err());
        assert!(validate_setpoint(ControllerZoneType::Water, 50.0).is_ok());
        assert_eq!(
            validate_setpoint(ControllerZoneType::Heat, 21.3),
            Err(HeatControllerError::SetpointStep(21.3))
        );
        assert!(validate_setpoint(ControllerZoneType::Heat, f64::NAN).is_err());
    }

    #[test]
    fn a_boost_defaults_to_an_hour_and_fifty_degrees_for_water() {
        let mut config = HeatControllerConfiguration::default();
        let op = config
            .set_zone_mode(Zone::Water, ZoneMode::Boost, None, None, now())
            .unwrap();
        assert_eq!(op.setpoint_c, Some(50.0));
        assert_eq!(op.end, Some(now() + chrono::Duration::hours(1)));
        let op = config
            .set_zone_mode(Zone::Zone1, ZoneMode::Boost, None, None, now())
            .unwrap();
        assert_eq!(op.setpoint_c, Some(30.0));
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        let mut config = HeatControllerConfiguration::default();
        assert_eq!(
            config.set_display_name(Zone::Zone1, "  Downstairs "),
            Ok("Downstairs".to_owned())
        );
        assert_eq!(config.zone(Zone::Zone1).unwrap().display_name, "Downstairs");
        let before = config.clone();
        for bad in ["", "   ", "a\u{7}b", &"x".repeat(MAX_DISPLAY_NAME + 1)] {
            assert_eq!(
                config.set_display_name(Zone::Zone1, bad),
                Err(HeatControllerError::DisplayName),
                "{bad:?}"
            );
        }
        assert_eq!(config, before);
        assert!(
            config
                .set_display_name(Zone::Zone1, &"é".repeat(MAX_DISPLAY_NAME))
                .is_ok()
        );
    }

    #[test]
    fn a_primary_sensor_must_be_one_of_the_zone_s_own() {
        let mut config = HeatControllerConfiguration::default();
        let before = config.clone();
        assert_eq!(
            config.set_primary_sensor(Zone::Zone1, "ADC2", &["SENSOR01"]),
            Err(HeatControllerError::UnknownSensor {
                zone: Zone::Zone1,
                code: "ADC2".to_owned()
            })
        );
        assert_eq!(config, before);
        config
            .set_primary_sensor(Zone::Zone1, "SENSOR01", &["SENSOR01"])
            .unwrap();
        assert_eq!(
            config.zone(Zone::Zone1).unwrap().primary_sensor.as_deref(),
            Some("SENSOR01")
        );
    }

    #[test]
    fn out_of_range_and_unknown_zones_are_refused_and_change_nothing() {
        let mut config = HeatControllerConfiguration::default();
        config.zones.retain(|z| z.zone != Zone::Zone2);
        let before = config.clone();
        assert_eq!(
            config.set_zone_mode(Zone::Zone2, ZoneMode::On, Some(20.0), None, now()),
            Err(HeatControllerError::UnknownZone(Zone::Zone2))
        );
        assert!(matches!(
            config.set_zone_mode(Zone::Zone1, ZoneMode::On, Some(35.0), None, now()),
            Err(HeatControllerError::SetpointOutOfRange { .. })
        ));
        assert_eq!(
            config.set_zone_mode(Zone::Water, ZoneMode::Boost, Some(50.0), Some(now()), now()),
            Err(HeatControllerError::BoostEndInPast)
        );
        assert_eq!(config, before);
    }

    #[test]
    fn flow_configuration_is_checked() {
        let mut config = HeatControllerConfiguration::default();
        let good = FlowTemperature {
            weather_compensation: false,
            flow_c: 40.0,
            curve_min_c: 30.0,
            curve_max_c: 55.0,
        };
        assert!(config.set_flow(good).is_ok());
        assert_eq!(config.flow, good);
        assert_eq!(
            config.set_flow(FlowTemperature {
                flow_c: 80.0,
                ..good
            }),
            Err(HeatControllerError::FlowOutOfRange(80.0))
        );
        assert!(matches!(
            config.set_flow(FlowTemperature {
                curve_min_c: 56.0,
                ..good
            }),
            Err(HeatControllerError::CurveInverted { .. })
        ));
        assert_eq!(config.flow, good);
    }

    #[test]
    fn schedules_are_checked() {
        let mut config = HeatControllerConfiguration::default();
        let at = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
        let good = ZoneSchedule {
            days: "1111100".into(),
            settings: vec![
                ScheduleSetting {
                    time: at(6),
                    action: ScheduleAction::SetTemperature,
                    setpoint_c: Some(20.0),
                },
                ScheduleSetting {
                    time: at(22),
                    action: ScheduleAction::TurnOff,
                    setpoint_c: None,
                },
            ],
        };
        assert!(
            config
                .set_zone_schedules(Zone::Zone1, vec![good.clone()])
                .is_ok()
        );
        let mut bad_days = good.clone();
        bad_days.days = "11111".into();
        assert!(matches!(
            config.set_zone_schedules(Zone::Zone1, vec![bad_days]),
            Err(HeatControllerError::ScheduleDays(_))
        ));
        let mut unordered = good.clone();
        unordered.settings.reverse();
        assert_eq!(
            config.set_zone_schedules(Zone::Zone1, vec![unordered]),
            Err(HeatControllerError::ScheduleOrder)
        );
        // A room set-point is out of range for hot water.
        assert!(config.set_zone_schedules(Zone::Water, vec![good]).is_err());
    }

    #[test]
    fn configuration_round_trips_through_json() {
        let config = HeatControllerConfiguration::default();
        let json = serde_json::to_string(&config).unwrap();
        let back: HeatControllerConfiguration = serde_json::from_str(&json).unwrap();
        assert_eq!(back, config);
        assert!(json.contains("\"zoneType\":\"HEAT\""));
    }

    proptest! {
        #[test]
        fn accepted_setpoints_are_in_range_on_the_grid(value in -10.0f64..80.0) {
            for zone_type in [ControllerZoneType::Heat, ControllerZoneType::Water] {
                let (min, max) = zone_type.setpoint_range_c();
                if validate_setpoint(zone_type, value).is_ok() {
                    prop_assert!(value >= min && value <= max);
                    prop_assert!(((value * 2.0) - (value * 2.0).round()).abs() < 1e-9);
                }
                let snapped = (value * 2.0).round() / 2.0;
                if snapped >= min && snapped <= max {
                    prop_assert!(validate_setpoint(zone_type, snapped).is_ok());
                }
            }
        }
    }
}
