//! What a customer asks of a device: a target per weekday, to be reached by a time of day.
//!
//! A [`Preferences`] value only exists once it has been checked against the device's
//! [`PreferenceSettings`] ([`Preferences::parse`]), so the planner and the API never re-check it. It is
//! stored as JSON in `devices.preferences`.
//!
//! # The settings per kind of device
//!
//! | kind | mode | unit | values | times |
//! |---|---|---|---|---|
//! | vehicle, charger | CHARGE | PERCENTAGE | 10–100 % in steps of 1 | 04:00–11:30 in 30-minute steps |
//! | home battery | CHARGE | PERCENTAGE | 10–100 % in steps of 1 | 00:00–23:30 in 30-minute steps |
//! | heat pump, thermostat | HEAT or COOL | CELSIUS | 5–30 °C in steps of 0.5 | 00:00–23:30 in 30-minute steps |
//! | inverter | takes no preferences | | | |
//!
//! The ready-by window of vehicles is a morning one, as in Kraken's Intelligent products: charging is
//! planned overnight, so a target must fall after the night's cheap hours start and before the working
//! day is well under way.
//!
//! # What the values mean
//!
//! - **Vehicles, chargers, batteries:** `max` is the state of charge to reach by `time` on that day.
//!   The optional `min` is a floor: below it the device charges straight away, whatever the price.
//! - **Heat pumps, thermostats** (Kraken's convention): `min` is the heating set-point and `max` the
//!   cooling set-point, so the home is kept between them from `time` on. In HEAT mode the heat pump
//!   heats towards `min` (towards `max` when no `min` is given); in COOL mode it cools towards `max`.
//!
//! In both cases `min` may not be above `max`.

use std::fmt;

use chrono::{Datelike, NaiveDateTime, NaiveTime, Timelike, Weekday};
use serde::{Deserialize, Serialize};

use crate::device::DeviceKind;

/// What the preference schedule aims for (Kraken's `PreferencesModeChoices`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PreferenceMode {
    /// Charge a battery to a level.
    Charge,
    /// Keep a space warm.
    Heat,
    /// Keep a space cool.
    Cool,
}

impl PreferenceMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            PreferenceMode::Charge => "CHARGE",
            PreferenceMode::Heat => "HEAT",
            PreferenceMode::Cool => "COOL",
        }
    }
}

impl fmt::Display for PreferenceMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The unit of `min` and `max` (Kraken's `PreferencesUnitChoices`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PreferenceUnit {
    /// Percent state of charge, of the full battery.
    Percentage,
    /// Degrees Celsius.
    Celsius,
}

impl PreferenceUnit {
    pub const fn as_str(self) -> &'static str {
        match self {
            PreferenceUnit::Percentage => "PERCENTAGE",
            PreferenceUnit::Celsius => "CELSIUS",
        }
    }
}

impl fmt::Display for PreferenceUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A weekday's name as Kraken's `DayOfWeek` spells it (`MONDAY`).
pub const fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MONDAY",
        Weekday::Tue => "TUESDAY",
        Weekday::Wed => "WEDNESDAY",
        Weekday::Thu => "THURSDAY",
        Weekday::Fri => "FRIDAY",
        Weekday::Sat => "SATURDAY",
        Weekday::Sun => "SUNDAY",
    }
}

/// The weekday named as [`weekday_name`] spells it.
pub fn parse_weekday(name: &str) -> Option<Weekday> {
    ALL_WEEKDAYS
        .into_iter()
        .find(|day| weekday_name(*day) == name)
}

/// Monday to Sunday.
pub const ALL_WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// Weekdays are stored by their Kraken names, so the JSON reads like the API.
mod weekday_serde {
    use chrono::Weekday;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(day: &Weekday, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(super::weekday_name(*day))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Weekday, D::Error> {
        let name = String::deserialize(deserializer)?;
        super::parse_weekday(&name)
            .ok_or_else(|| D::Error::custom(format!("{name:?} is not a day of the week")))
    }
}

/// The target of one weekday.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleEntry {
    #[serde(with = "weekday_serde")]
    pub day: Weekday,
    /// The local time (in the property's time zone) the target applies from.
    pub time: NaiveTime,
    /// See the module documentation for what `min` and `max` mean per kind of device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    pub max: f64,
}

/// A device's checked preferences: one mode, one unit, at most one entry per weekday, Monday first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preferences {
    pub mode: PreferenceMode,
    pub unit: PreferenceUnit,
    pub schedules: Vec<ScheduleEntry>,
}

/// How far below a cooling set-point a plan may pre-cool when the customer gave no `min`, K.
pub const COOLING_BAND_C: f64 = 2.0;

/// The temperatures a heat pump or thermostat keeps the home between at one time, °C.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComfortBand {
    /// What the customer asked for: heat to it (HEAT) or cool to it (COOL).
    pub setpoint_c: f64,
    pub min_c: f64,
    pub max_c: f64,
}

/// The limits a schedule entry must keep (Kraken's `scheduleSettings`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduleSettings {
    /// Earliest allowed time, inclusive.
    pub time_from: NaiveTime,
    /// Latest allowed time, inclusive.
    pub time_to: NaiveTime,
    /// Allowed times are `time_from` plus a whole number of these.
    pub time_step_minutes: u32,
    /// Lowest allowed value, inclusive.
    pub min: f64,
    /// Highest allowed value, inclusive.
    pub max: f64,
    /// Allowed values are `min` plus a whole number of these.
    pub step: f64,
}

/// What preferences a kind of device takes (Kraken's `preferenceSetting`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PreferenceSettings {
    /// The modes allowed; the first one is the default.
    pub modes: &'static [PreferenceMode],
    pub unit: PreferenceUnit,
    pub schedule: ScheduleSettings,
}

const fn hm(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(time) => time,
        None => NaiveTime::MIN,
    }
}

const CHARGE_ONLY: &[PreferenceMode] = &[PreferenceMode::Charge];
const HEAT_OR_COOL: &[PreferenceMode] = &[PreferenceMode::Heat, PreferenceMode::Cool];

const VEHICLE_SETTINGS: PreferenceSettings = PreferenceSettings {
    modes: CHARGE_ONLY,
    unit: PreferenceUnit::Percentage,
    schedule: ScheduleSettings {
        time_from: hm(4, 0),
        time_to: hm(11, 30),
        time_step_minutes: 30,
        min: 10.0,
        max: 100.0,
        step: 1.0,
    },
};

const BATTERY_SETTINGS: PreferenceSettings = PreferenceSettings {
    modes: CHARGE_ONLY,
    unit: PreferenceUnit::Percentage,
    schedule: ScheduleSettings {
        time_from: hm(0, 0),
        time_to: hm(23, 30),
        time_step_minutes: 30,
        min: 10.0,
        max: 100.0,
        step: 1.0,
    },
};

const HEAT_SETTINGS: PreferenceSettings = PreferenceSettings {
    modes: HEAT_OR_COOL,
    unit: PreferenceUnit::Celsius,
    schedule: ScheduleSettings {
        time_from: hm(0, 0),
        time_to: hm(23, 30),
        time_step_minutes: 30,
        min: 5.0,
        max: 30.0,
        step: 0.5,
    },
};

impl PreferenceSettings {
    /// The settings of a kind of device, or `None` when it takes no preferences (inverters).
    pub const fn for_kind(kind: DeviceKind) -> Option<PreferenceSettings> {
        match kind {
            DeviceKind::ElectricVehicle | DeviceKind::ChargePoint => Some(VEHICLE_SETTINGS),
            DeviceKind::Battery => Some(BATTERY_SETTINGS),
            DeviceKind::HeatPump | DeviceKind::Thermostat => Some(HEAT_SETTINGS),
            DeviceKind::Inverter => None,
        }
    }

    fn modes_text(&self) -> String {
        self.modes
            .iter()
            .map(|mode| mode.as_str())
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// Why preferences were refused. Each names the input field (as the API spells it) and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PreferenceError {
    #[error("a {kind} device takes no preferences")]
    NotSupported { kind: DeviceKind },
    #[error("`mode`: {mode} is not a mode of a {kind} device; use {expected}")]
    WrongMode {
        kind: DeviceKind,
        mode: PreferenceMode,
        expected: String,
    },
    #[error("`unit`: {unit} is not the unit of a {kind} device; use {expected}")]
    WrongUnit {
        kind: DeviceKind,
        unit: PreferenceUnit,
        expected: PreferenceUnit,
    },
    #[error("`schedules`: give at least one schedule")]
    NoSchedules,
    #[error("`schedules[{index}].dayOfWeek`: {} is given more than once", weekday_name(*.day))]
    DuplicateDay { index: usize, day: Weekday },
    #[error("`schedules[{index}].{field}`: not a finite number")]
    NotANumber { index: usize, field: &'static str },
    #[error("`schedules[{index}].{field}`: {value} is outside {min}–{max}")]
    OutOfRange {
        index: usize,
        field: &'static str,
        value: f64,
        min: f64,
        max: f64,
    },
    #[error("`schedules[{index}].{field}`: {value} is not a multiple of {step} from {min}")]
    OffStep {
        index: usize,
        field: &'static str,
        value: f64,
        min: f64,
        step: f64,
    },
    #[error("`schedules[{index}].min`: {min} is above `max` ({max})")]
    MinAboveMax { index: usize, min: f64, max: f64 },
    #[error("`schedules[{index}].time`: {} is outside {}–{}", hhmm(*.time), hhmm(*.from), hhmm(*.to))]
    TimeOutsideWindow {
        index: usize,
        time: NaiveTime,
        from: NaiveTime,
        to: NaiveTime,
    },
    #[error("`schedules[{index}].time`: {} is not on a {step_minutes}-minute step from {}", hhmm_ss(*.time), hhmm(*.from))]
    TimeOffStep {
        index: usize,
        time: NaiveTime,
        from: NaiveTime,
        step_minutes: u32,
    },
}

fn hhmm(time: NaiveTime) -> String {
    time.format("%H:%M").to_string()
}

fn hhmm_ss(time: NaiveTime) -> String {
    if time.second() == 0 && time.nanosecond() == 0 {
        hhmm(time)
    } else {
        time.format("%H:%M:%S%.f").to_string()
    }
}

impl PreferenceError {
    /// The input field at fault, as the API spells it (`mode`, `schedules[2].max`, ...).
    pub fn field(&self) -> String {
        match self {
            PreferenceError::NotSupported { .. } => "deviceId".to_owned(),
            PreferenceError::WrongMode { .. } => "mode".to_owned(),
            PreferenceError::WrongUnit { .. } => "unit".to_owned(),
            PreferenceError::NoSchedules => "schedules".to_owned(),
            PreferenceError::DuplicateDay { index, .. } => format!("schedules[{index}].dayOfWeek"),
            PreferenceError::NotANumber { index, field }
            | PreferenceError::OutOfRange { index, field, .. }
            | PreferenceError::OffStep { index, field, .. } => {
                format!("schedules[{index}].{field}")
            }
            PreferenceError::MinAboveMax { index, .. } => format!("schedules[{index}].min"),
            PreferenceError::TimeOutsideWindow { index, .. }
            | PreferenceError::TimeOffStep { index, .. } => format!("schedules[{index}].time"),
        }
    }

    /// Whether the input is well formed but asks for more than the device's settings allow (a value or
    /// a time outside the limits or off their steps), as opposed to malformed input (a mode or unit
    /// the device does not have, no schedules, a day twice, `min` above `max`).
    pub fn is_outside_settings(&self) -> bool {
        matches!(
            self,
            PreferenceError::OutOfRange { .. }
                | PreferenceError::OffStep { .. }
                | PreferenceError::TimeOutsideWindow { .. }
                | PreferenceError::TimeOffStep { .. }
        )
    }
}

/// How close to a step a value must be to count as on it (decimal input converted to `f64`).
const STEP_TOLERANCE: f64 = 1e-6;

fn check_value(
    settings: &ScheduleSettings,
    index: usize,
    field: &'static str,
    value: f64,
) -> Result<(), PreferenceError> {
    if !value.is_finite() {
        return Err(PreferenceError::NotANumber { index, field });
    }
    if value < settings.min - STEP_TOLERANCE || value > settings.max + STEP_TOLERANCE {
        return Err(PreferenceError::OutOfRange {
            index,
            field,
            value,
            min: settings.min,
            max: settings.max,
        });
    }
    let steps = (value - settings.min) / settings.step;
    if (steps - steps.round()).abs() > STEP_TOLERANCE {
        return Err(PreferenceError::OffStep {
            index,
            field,
            value,
            min: settings.min,
            step: settings.step,
        });
    }
    Ok(())
}

fn check_time(
    settings: &ScheduleSettings,
    index: usize,
    time: NaiveTime,
) -> Result<(), PreferenceError> {
    if time < settings.time_from || time > settings.time_to {
        return Err(PreferenceError::TimeOutsideWindow {
            index,
            time,
            from: settings.time_from,
            to: settings.time_to,
        });
    }
    let from_minutes = settings.time_from.num_seconds_from_midnight() / 60;
    let minutes = time.num_seconds_from_midnight() / 60;
    let step = settings.time_step_minutes.max(1);
    if time.second() != 0
        || time.nanosecond() != 0
        || !(minutes - from_minutes).is_multiple_of(step)
    {
        return Err(PreferenceError::TimeOffStep {
            index,
            time,
            from: settings.time_from,
            step_minutes: step,
        });
    }
    Ok(())
}

impl Preferences {
    /// Checks preferences for a kind of device. On success the entries are sorted Monday first.
    ///
    /// The checks run in this order, and the first failure is reported: the kind takes preferences,
    /// the mode, the unit, at least one entry; then entry by entry: its weekday is new, its time, its
    /// `max`, its `min`, and `min ≤ max`.
    pub fn parse(
        kind: DeviceKind,
        mode: PreferenceMode,
        unit: PreferenceUnit,
        schedules: Vec<ScheduleEntry>,
    ) -> Result<Preferences, PreferenceError> {
        let settings =
            PreferenceSettings::for_kind(kind).ok_or(PreferenceError::NotSupported { kind })?;
        if !settings.modes.contains(&mode) {
            return Err(PreferenceError::WrongMode {
                kind,
                mode,
                expected: settings.modes_text(),
            });
        }
        if unit != settings.unit {
            return Err(PreferenceError::WrongUnit {
                kind,
                unit,
                expected: settings.unit,
            });
        }
        if schedules.is_empty() {
            return Err(PreferenceError::NoSchedules);
        }
        let limits = &settings.schedule;
        let mut seen = Vec::with_capacity(schedules.len());
        for (index, entry) in schedules.iter().enumerate() {
            if seen.contains(&entry.day) {
                return Err(PreferenceError::DuplicateDay {
                    index,
                    day: entry.day,
                });
            }
            seen.push(entry.day);
            check_time(limits, index, entry.time)?;
            check_value(limits, index, "max", entry.max)?;
            if let Some(min) = entry.min {
                check_value(limits, index, "min", min)?;
                if min > entry.max {
                    return Err(PreferenceError::MinAboveMax {
                        index,
                        min,
                        max: entry.max,
                    });
                }
            }
        }
        let mut schedules = schedules;
        schedules.sort_by_key(|entry| entry.day.num_days_from_monday());
        Ok(Preferences {
            mode,
            unit,
            schedules,
        })
    }

    /// What a newly registered device starts with, or `None` for kinds without preferences:
    /// vehicles and chargers 80 % by 07:30, home batteries 90 % by 16:00 (ready for the evening
    /// peak), heat pumps and thermostats heating to 20 °C (cooling above 24 °C) from 07:00, every day.
    pub fn default_for(kind: DeviceKind) -> Option<Preferences> {
        let settings = PreferenceSettings::for_kind(kind)?;
        let (time, min, max) = match kind {
            DeviceKind::ElectricVehicle | DeviceKind::ChargePoint => (hm(7, 30), None, 80.0),
            DeviceKind::Battery => (hm(16, 0), None, 90.0),
            DeviceKind::HeatPump | DeviceKind::Thermostat => (hm(7, 0), Some(20.0), 24.0),
            DeviceKind::Inverter => return None,
        };
        Some(Preferences {
            mode: settings.modes[0],
            unit: settings.unit,
            schedules: ALL_WEEKDAYS
                .into_iter()
                .map(|day| ScheduleEntry {
                    day,
                    time,
                    min,
                    max,
                })
                .collect(),
        })
    }

    /// The comfort band of a heat pump or thermostat at a local time (in the property's time zone):
    /// the entry of the latest weekday-and-time at or before it (looking back a week, so an entry
    /// holds until the next one), or `None` without entries or for a CHARGE schedule.
    ///
    /// HEAT: the set-point is `min` (or `max` without a `min`) and the band reaches up to `max`,
    /// which a plan may pre-heat to. COOL: the set-point is `max` and the band reaches down to
    /// `min` (or [`COOLING_BAND_C`] below `max`), which a plan may pre-cool to.
    pub fn comfort_at(&self, local: NaiveDateTime) -> Option<ComfortBand> {
        if self.mode == PreferenceMode::Charge {
            return None;
        }
        let minute_of_week = |day: Weekday, time: NaiveTime| {
            i64::from(day.num_days_from_monday()) * 1440
                + i64::from(time.hour()) * 60
                + i64::from(time.minute())
        };
        let now = minute_of_week(local.weekday(), local.time());
        let entry = self.schedules.iter().min_by_key(|entry| {
            (now - minute_of_week(entry.day, entry.time)).rem_euclid(7 * 1440)
        })?;
        Some(match self.mode {
            PreferenceMode::Cool => ComfortBand {
                setpoint_c: entry.max,
                min_c: entry
                    .min
                    .unwrap_or(entry.max - COOLING_BAND_C)
                    .min(entry.max),
                max_c: entry.max,
            },
            _ => {
                let setpoint = entry.min.unwrap_or(entry.max);
                ComfortBand {
                    setpoint_c: setpoint,
                    min_c: setpoint,
                    max_c: entry.max.max(setpoint),
                }
            }
        })
    }

    /// The entry for a weekday, if the customer set one.
    pub fn target_for(&self, day: Weekday) -> Option<&ScheduleEntry> {
        self.schedules.iter().find(|entry| entry.day == day)
    }

    /// Checks stored preferences again against the current settings of the kind (for example after
    /// reading them back from the database).
    pub fn revalidate(self, kind: DeviceKind) -> Result<Preferences, PreferenceError> {
        Preferences::parse(kind, self.mode, self.unit, self.schedules)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn entry(day: Weekday, time: NaiveTime, max: f64) -> ScheduleEntry {
        ScheduleEntry {
            day,
            time,
            min: None,
            max,
        }
    }

    fn ev(schedules: Vec<ScheduleEntry>) -> Result<Preferences, PreferenceError> {
        Preferences::parse(
            DeviceKind::ElectricVehicle,
            PreferenceMode::Charge,
            PreferenceUnit::Percentage,
            schedules,
        )
    }

    fn heat(schedules: Vec<ScheduleEntry>) -> Result<Preferences, PreferenceError> {
        Preferences::parse(
            DeviceKind::HeatPump,
            PreferenceMode::Heat,
            PreferenceUnit::Celsius,
            schedules,
        )
    }

    fn every_day(time: NaiveTime, max: f64) -> Vec<ScheduleEntry> {
        ALL_WEEKDAYS
            .into_iter()
            .map(|day| entry(day, time, max))
            .collect()
    }

    #[test]
    fn a_full_week_within_the_settings_is_accepted_and_sorted() {
        let mut week = every_day(hm(7, 30), 80.0);
        week.reverse();
        week[0].time = hm(4, 0);
        week[1].time = hm(11, 30);
        week[2].max = 10.0;
        week[3].max = 100.0;
        let prefs = ev(week).unwrap();
        let days: Vec<Weekday> = prefs.schedules.iter().map(|e| e.day).collect();
        assert_eq!(days, ALL_WEEKDAYS);
        assert_eq!(prefs.target_for(Weekday::Sun).unwrap().time, hm(4, 0));
        assert_eq!(prefs.target_for(Weekday::Sat).unwrap().time, hm(11, 30));
    }

    #[test]
    fn a_partial_week_leaves_the_other_days_without_a_target() {
        let prefs = ev(vec![entry(Weekday::Wed, hm(8, 0), 90.0)]).unwrap();
        assert_eq!(prefs.target_for(Weekday::Wed).unwrap().max, 90.0);
        assert!(prefs.target_for(Weekday::Thu).is_none());
    }

    #[test]
    fn inverters_take_no_preferences() {
        let err = Preferences::parse(
            DeviceKind::Inverter,
            PreferenceMode::Charge,
            PreferenceUnit::Percentage,
            every_day(hm(7, 30), 80.0),
        )
        .unwrap_err();
        assert_eq!(
            err,
            PreferenceError::NotSupported {
                kind: DeviceKind::Inverter
            }
        );
        assert!(!err.is_outside_settings());
        assert!(Preferences::default_for(DeviceKind::Inverter).is_none());
        assert!(PreferenceSettings::for_kind(DeviceKind::Inverter).is_none());
    }

    #[test]
    fn the_mode_must_be_one_of_the_kind() {
        let err = Preferences::parse(
            DeviceKind::ElectricVehicle,
            PreferenceMode::Heat,
            PreferenceUnit::Percentage,
            every_day(hm(7, 30), 80.0),
        )
        .unwrap_err();
        assert!(matches!(err, PreferenceError::WrongMode { .. }), "{err}");
        assert_eq!(err.field(), "mode");
        assert!(err.to_string().contains("CHARGE"), "{err}");
        assert!(!err.is_outside_settings());
        let err = Preferences::parse(
            DeviceKind::HeatPump,
            PreferenceMode::Charge,
            PreferenceUnit::Celsius,
            every_day(hm(7, 0), 21.0),
        )
        .unwrap_err();
        assert!(err.to_string().contains("HEAT or COOL"), "{err}");
        // Both heat-pump modes are accepted.
        assert!(
            Preferences::parse(
                DeviceKind::HeatPump,
                PreferenceMode::Cool,
                PreferenceUnit::Celsius,
                every_day(hm(7, 0), 24.0),
            )
            .is_ok()
        );
    }

    #[test]
    fn the_unit_must_be_the_kinds() {
        let err = Preferences::parse(
            DeviceKind::ChargePoint,
            PreferenceMode::Charge,
            PreferenceUnit::Celsius,
            every_day(hm(7, 30), 80.0),
        )
        .unwrap_err();
        assert_eq!(
            err,
            PreferenceError::WrongUnit {
                kind: DeviceKind::ChargePoint,
                unit: PreferenceUnit::Celsius,
                expected: PreferenceUnit::Percentage
            }
        );
        assert_eq!(err.field(), "unit");
        let err = heat_with_unit(PreferenceUnit::Percentage);
        assert_eq!(err.field(), "unit");
    }

    fn heat_with_unit(unit: PreferenceUnit) -> PreferenceError {
        Preferences::parse(
            DeviceKind::Thermostat,
            PreferenceMode::Heat,
            unit,
            every_day(hm(7, 0), 21.0),
        )
        .unwrap_err()
    }

    #[test]
    fn an_empty_list_is_refused() {
        let err = ev(vec![]).unwrap_err();
        assert_eq!(err, PreferenceError::NoSchedules);
        assert_eq!(err.field(), "schedules");
        assert!(!err.is_outside_settings());
    }

    #[test]
    fn a_weekday_given_twice_is_refused() {
        let err = ev(vec![
            entry(Weekday::Mon, hm(7, 30), 80.0),
            entry(Weekday::Tue, hm(7, 30), 80.0),
            entry(Weekday::Mon, hm(8, 0), 90.0),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            PreferenceError::DuplicateDay {
                index: 2,
                day: Weekday::Mon
            }
        );
        assert_eq!(err.field(), "schedules[2].dayOfWeek");
        assert!(err.to_string().contains("MONDAY"), "{err}");
        assert!(!err.is_outside_settings());
    }

    #[test]
    fn values_outside_the_range_are_refused() {
        for value in [9.0, 100.5, 101.0, 0.0, -5.0] {
            let mut week = every_day(hm(7, 30), 80.0);
            week[3].max = value;
            let err = ev(week).unwrap_err();
            assert!(
                matches!(
                    err,
                    PreferenceError::OutOfRange {
                        index: 3,
                        field: "max",
                        ..
                    }
                ),
                "{value}: {err}"
            );
            assert_eq!(err.field(), "schedules[3].max");
            assert!(err.is_outside_settings());
            assert!(err.to_string().contains("10–100"), "{err}");
        }
        let err = heat(every_day(hm(7, 0), 31.0)).unwrap_err();
        assert!(matches!(err, PreferenceError::OutOfRange { .. }), "{err}");
        let err = heat(every_day(hm(7, 0), 4.5)).unwrap_err();
        assert!(matches!(err, PreferenceError::OutOfRange { .. }), "{err}");
    }

    #[test]
    fn values_off_the_step_are_refused() {
        let mut week = every_day(hm(7, 30), 80.0);
        week[1].max = 80.5;
        let err = ev(week).unwrap_err();
        assert!(
            matches!(
                err,
                PreferenceError::OffStep {
                    index: 1,
                    field: "max",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.is_outside_settings());
        let err = heat(every_day(hm(7, 0), 20.25)).unwrap_err();
        assert!(matches!(err, PreferenceError::OffStep { .. }), "{err}");
        // Half degrees are on the heat-pump step; a decimal converted to f64 still counts as on it.
        assert!(heat(every_day(hm(7, 0), 20.5)).is_ok());
        assert!(ev(every_day(hm(7, 30), 0.1 * 800.0)).is_ok());
    }

    #[test]
    fn values_that_are_not_numbers_are_refused() {
        let err = ev(every_day(hm(7, 30), f64::NAN)).unwrap_err();
        assert_eq!(
            err,
            PreferenceError::NotANumber {
                index: 0,
                field: "max"
            }
        );
        assert!(!err.is_outside_settings());
        let mut week = every_day(hm(7, 30), 80.0);
        week[0].min = Some(f64::INFINITY);
        assert_eq!(ev(week).unwrap_err().field(), "schedules[0].min");
    }

    #[test]
    fn min_is_checked_like_max_and_may_not_exceed_it() {
        let mut week = every_day(hm(7, 30), 80.0);
        week[2].min = Some(5.0);
        let err = ev(week).unwrap_err();
        assert!(
            matches!(
                err,
                PreferenceError::OutOfRange {
                    index: 2,
                    field: "min",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(err.field(), "schedules[2].min");

        let mut week = every_day(hm(7, 30), 80.0);
        week[2].min = Some(20.5);
        let err = ev(week).unwrap_err();
        assert!(
            matches!(err, PreferenceError::OffStep { field: "min", .. }),
            "{err}"
        );

        let mut week = every_day(hm(7, 30), 80.0);
        week[4].min = Some(90.0);
        let err = ev(week).unwrap_err();
        assert_eq!(
            err,
            PreferenceError::MinAboveMax {
                index: 4,
                min: 90.0,
                max: 80.0
            }
        );
        assert_eq!(err.field(), "schedules[4].min");
        assert!(!err.is_outside_settings());

        let mut week = every_day(hm(7, 0), 24.0);
        for e in &mut week {
            e.min = Some(19.5);
        }
        assert_eq!(heat(week).unwrap().schedules[6].min, Some(19.5));
    }

    #[test]
    fn times_outside_the_window_are_refused() {
        for time in [hm(3, 30), hm(12, 0), hm(0, 0), hm(23, 30)] {
            let err = ev(every_day(time, 80.0)).unwrap_err();
            assert!(
                matches!(err, PreferenceError::TimeOutsideWindow { index: 0, .. }),
                "{time}: {err}"
            );
            assert_eq!(err.field(), "schedules[0].time");
            assert!(err.is_outside_settings());
            assert!(err.to_string().contains("04:00–11:30"), "{err}");
        }
        // Heat pumps take any time of day on the half hour.
        assert!(heat(every_day(hm(0, 0), 21.0)).is_ok());
        assert!(heat(every_day(hm(23, 30), 21.0)).is_ok());
    }

    #[test]
    fn times_off_the_step_are_refused() {
        let with_seconds = NaiveTime::from_hms_opt(7, 30, 15).unwrap();
        for time in [hm(7, 15), hm(7, 1), with_seconds] {
            let err = ev(every_day(time, 80.0)).unwrap_err();
            assert!(
                matches!(
                    err,
                    PreferenceError::TimeOffStep {
                        step_minutes: 30,
                        ..
                    }
                ),
                "{time}: {err}"
            );
            assert_eq!(err.field(), "schedules[0].time");
            assert!(err.is_outside_settings());
        }
        assert!(heat(every_day(hm(6, 45), 21.0)).is_err());
    }

    #[test]
    fn defaults_are_valid_for_their_kind() {
        let ev_default = Preferences::default_for(DeviceKind::ElectricVehicle).unwrap();
        assert_eq!(ev_default.mode, PreferenceMode::Charge);
        assert_eq!(ev_default.unit, PreferenceUnit::Percentage);
        assert_eq!(ev_default.schedules.len(), 7);
        for day in ALL_WEEKDAYS {
            let target = ev_default.target_for(day).unwrap();
            assert_eq!(
                (target.time, target.max, target.min),
                (hm(7, 30), 80.0, None)
            );
        }
        for kind in DeviceKind::ALL {
            if let Some(prefs) = Preferences::default_for(kind) {
                assert_eq!(prefs.clone().revalidate(kind), Ok(prefs), "{kind}");
            }
        }
        assert_eq!(
            Preferences::default_for(DeviceKind::HeatPump).unwrap().mode,
            PreferenceMode::Heat
        );
    }

    #[test]
    fn preferences_round_trip_through_json_with_kraken_names() {
        let mut prefs = Preferences::default_for(DeviceKind::ChargePoint).unwrap();
        prefs.schedules[0].min = Some(20.0);
        let json = serde_json::to_value(&prefs).unwrap();
        assert_eq!(json["mode"], "CHARGE");
        assert_eq!(json["unit"], "PERCENTAGE");
        assert_eq!(json["schedules"][0]["day"], "MONDAY");
        assert_eq!(json["schedules"][0]["time"], "07:30:00");
        assert_eq!(json["schedules"][0]["min"], 20.0);
        assert!(json["schedules"][1].get("min").is_none());
        let back: Preferences = serde_json::from_value(json).unwrap();
        assert_eq!(back, prefs);
        let bad = serde_json::json!({"mode": "CHARGE", "unit": "PERCENTAGE",
            "schedules": [{"day": "FUNDAY", "time": "07:30:00", "max": 80.0}]});
        assert!(serde_json::from_value::<Preferences>(bad).is_err());
    }

    #[test]
    fn weekday_names_round_trip() {
        for day in ALL_WEEKDAYS {
            assert_eq!(parse_weekday(weekday_name(day)), Some(day));
        }
        assert_eq!(parse_weekday("monday"), None);
    }

    #[test]
    fn the_comfort_band_follows_the_latest_entry_of_the_week() {
        let at = |day: Weekday, h: u32, m: u32| {
            chrono::NaiveDate::from_isoywd_opt(2026, 10, day)
                .unwrap()
                .and_hms_opt(h, m, 0)
                .unwrap()
        };
        let heat = Preferences {
            mode: PreferenceMode::Heat,
            unit: PreferenceUnit::Celsius,
            schedules: vec![
                ScheduleEntry {
                    day: Weekday::Mon,
                    time: hm(7, 0),
                    min: Some(20.0),
                    max: 23.0,
                },
                ScheduleEntry {
                    day: Weekday::Wed,
                    time: hm(22, 0),
                    min: Some(17.0),
                    max: 19.0,
                },
            ],
        };
        let band = heat.comfort_at(at(Weekday::Tue, 12, 0)).unwrap();
        assert_eq!(
            (band.setpoint_c, band.min_c, band.max_c),
            (20.0, 20.0, 23.0)
        );
        // Monday before 07:00 is still last Wednesday's entry, across the week's end.
        let early = heat.comfort_at(at(Weekday::Mon, 6, 59)).unwrap();
        assert_eq!((early.setpoint_c, early.max_c), (17.0, 19.0));
        assert_eq!(
            heat.comfort_at(at(Weekday::Mon, 7, 0)).unwrap().setpoint_c,
            20.0
        );
        let cool = Preferences {
            mode: PreferenceMode::Cool,
            ..heat.clone()
        };
        let band = cool.comfort_at(at(Weekday::Tue, 12, 0)).unwrap();
        assert_eq!(
            (band.setpoint_c, band.min_c, band.max_c),
            (23.0, 20.0, 23.0)
        );
        let charge = Preferences {
            mode: PreferenceMode::Charge,
            ..heat
        };
        assert_eq!(charge.comfort_at(at(Weekday::Tue, 12, 0)), None);
    }
}
