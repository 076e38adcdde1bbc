//! A device's alerts, preferences and the preferences it accepts.

use super::*;

/// A message about the device for the customer.
#[derive(SimpleObject, Debug, Clone)]
pub struct SmartFlexDeviceAlert {
    pub message: String,
    pub published_at: DateTime,
}

/// The target of one weekday.
#[derive(SimpleObject, Debug, Clone)]
pub struct SmartFlexDevicePreferenceSchedule {
    pub day_of_week: DayOfWeek,
    /// The local time the target applies from (`HH:MM:SS`).
    pub time: Time,
    /// Vehicles: the level to charge to straight away; heat pumps: the heating set-point.
    pub min: Option<f64>,
    /// Vehicles: the state of charge to reach by `time`; heat pumps: the cooling set-point.
    pub max: Option<f64>,
    /// A level never to exceed (vehicle-to-grid); not used yet, always null.
    pub upper_limit: Option<f64>,
}

/// What the customer asked of the device.
#[derive(SimpleObject, Debug, Clone)]
pub struct SmartFlexDevicePreferences {
    /// Null only for devices that take no preferences (inverters).
    pub mode: Option<PreferencesModeChoices>,
    pub unit: Option<PreferencesUnitChoices>,
    /// Derived from the unit: a state of charge or a temperature.
    pub target_type: Option<PreferencesTargetType>,
    pub grid_export: FlexGridExportStatus,
    pub is_charging_duration_capped: FlexIsChargingDurationCapped,
    /// One entry per weekday with a target, Monday first.
    pub schedules: Vec<SmartFlexDevicePreferenceSchedule>,
}

/// The limits of one preference schedule entry.
#[derive(SimpleObject, Debug, Clone)]
pub struct FlexDevicePreferenceScheduleSetting {
    pub id: i32,
    /// The earliest time allowed (inclusive).
    pub time_from: Option<Time>,
    /// The latest time allowed (inclusive).
    pub time_to: Option<Time>,
    /// Times must be `timeFrom` plus a whole number of these minutes.
    pub time_step: i32,
    /// The lowest value allowed (inclusive).
    pub min: Option<Decimal>,
    /// The highest value allowed (inclusive).
    pub max: Option<Decimal>,
    /// Values must be `min` plus a whole number of these.
    pub step: Decimal,
}

/// The preferences a device accepts: read these rather than hard-coding limits.
#[derive(SimpleObject, Debug, Clone)]
pub struct FlexDevicePreferenceSetting {
    pub id: i32,
    /// The Kraken device type, such as `ELECTRIC_VEHICLES`.
    pub device_type: String,
    pub mode: PreferencesModeChoices,
    pub unit: PreferencesUnitChoices,
    pub schedule_settings: Vec<FlexDevicePreferenceScheduleSetting>,
}

/// Whether the device could be authorised again with its vendor.
#[derive(SimpleObject, Debug, Clone)]
pub struct DeviceReAuthentication {
    /// False when re-authentication is not supported: remove the device and add it again instead.
    pub is_eligible: bool,
}

pub(crate) fn mode_choice(mode: PreferenceMode) -> PreferencesModeChoices {
    match mode {
        PreferenceMode::Charge => PreferencesModeChoices::Charge,
        PreferenceMode::Heat => PreferencesModeChoices::Heat,
        PreferenceMode::Cool => PreferencesModeChoices::Cool,
    }
}

pub(crate) fn unit_choice(unit: PreferenceUnit) -> PreferencesUnitChoices {
    match unit {
        PreferenceUnit::Percentage => PreferencesUnitChoices::Percentage,
        PreferenceUnit::Celsius => PreferencesUnitChoices::Celsius,
    }
}

pub(super) fn target_type(unit: PreferenceUnit) -> PreferencesTargetType {
    match unit {
        PreferenceUnit::Percentage => PreferencesTargetType::AbsoluteStateOfCharge,
        PreferenceUnit::Celsius => PreferencesTargetType::AbsoluteTemperature,
    }
}

pub(super) fn day_of_week(day: Weekday) -> ApiResult<DayOfWeek> {
    named("weekday", weekday_name(day))
}

pub(super) fn preferences_of(view: &DeviceView) -> ApiResult<SmartFlexDevicePreferences> {
    let grid_export = named("grid export", view.device.grid_export.as_str())?;
    let is_charging_duration_capped = named(
        "charging duration cap",
        view.device.charging_duration_capped.as_str(),
    )?;
    let Some(prefs) = &view.preferences else {
        return Ok(SmartFlexDevicePreferences {
            mode: None,
            unit: None,
            target_type: None,
            grid_export,
            is_charging_duration_capped,
            schedules: Vec::new(),
        });
    };
    let schedules = prefs
        .schedules
        .iter()
        .map(|entry| {
            Ok(SmartFlexDevicePreferenceSchedule {
                day_of_week: day_of_week(entry.day)?,
                time: Time(entry.time),
                min: entry.min,
                max: Some(entry.max),
                upper_limit: None,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(SmartFlexDevicePreferences {
        mode: Some(mode_choice(prefs.mode)),
        unit: Some(unit_choice(prefs.unit)),
        target_type: Some(target_type(prefs.unit)),
        grid_export,
        is_charging_duration_capped,
        schedules,
    })
}

pub(super) fn setting_of(view: &DeviceView) -> Option<FlexDevicePreferenceSetting> {
    let settings = PreferenceSettings::for_kind(view.device.kind)?;
    let mode = view
        .preferences
        .as_ref()
        .map(|p| p.mode)
        .filter(|mode| settings.modes.contains(mode))
        .unwrap_or(settings.modes[0]);
    // Stable ids: one setting per kind of device.
    let id = DeviceKind::ALL
        .iter()
        .position(|kind| *kind == view.device.kind)
        .map_or(0, |i| i as i32 + 1);
    let limits = settings.schedule;
    let decimal = |value: f64| measured(value);
    Some(FlexDevicePreferenceSetting {
        id,
        device_type: view.device.kind.kraken_device_type().to_owned(),
        mode: mode_choice(mode),
        unit: unit_choice(settings.unit),
        schedule_settings: vec![FlexDevicePreferenceScheduleSetting {
            id: id * 10 + 1,
            time_from: Some(Time(limits.time_from)),
            time_to: Some(Time(limits.time_to)),
            time_step: i32::try_from(limits.time_step_minutes).unwrap_or(i32::MAX),
            min: decimal(limits.min),
            max: decimal(limits.max),
            step: decimal(limits.step).unwrap_or_default(),
        }],
    })
}

/// The old single pair of weekday and weekend targets, derived from the preferences.
#[derive(SimpleObject, Debug, Clone)]
pub struct SmartFlexVehicleChargingPreferences {
    pub weekday_target_time: Time,
    /// Percent.
    pub weekday_target_soc: i32,
    pub weekend_target_time: Time,
    /// Percent.
    pub weekend_target_soc: i32,
    /// The lowest target allowed, in percent.
    pub minimum_soc: Option<i32>,
    /// The highest target allowed, in percent.
    pub maximum_soc: Option<i32>,
}

pub(super) fn legacy_charging_preferences(
    view: &DeviceView,
) -> Option<SmartFlexVehicleChargingPreferences> {
    let prefs = view.preferences.as_ref()?;
    let settings = PreferenceSettings::for_kind(view.device.kind)?;
    let first_of = |days: &[Weekday]| days.iter().find_map(|day| prefs.target_for(*day));
    let weekdays = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ];
    let weekend = [Weekday::Sat, Weekday::Sun];
    let weekday = first_of(&weekdays).or_else(|| first_of(&weekend))?;
    let weekend = first_of(&weekend).unwrap_or(weekday);
    let percent = |value: f64| value.round().clamp(0.0, 100.0) as i32;
    Some(SmartFlexVehicleChargingPreferences {
        weekday_target_time: Time(weekday.time),
        weekday_target_soc: percent(weekday.max),
        weekend_target_time: Time(weekend.time),
        weekend_target_soc: percent(weekend.max),
        minimum_soc: Some(percent(settings.schedule.min)),
        maximum_soc: Some(percent(settings.schedule.max)),
    })
}
