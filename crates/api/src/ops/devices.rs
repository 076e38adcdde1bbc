//! The device registry: `devices`, the `SmartFlexDeviceInterface` objects every device operation
//! answers with, and what those operations share: finding a device the caller may see, its latest
//! telemetry, its provider and grant, and saving it against concurrent changes.
//!
//! A device is shown as the object of its kind: `SmartFlexVehicle`, `SmartFlexChargePoint`,
//! `SmartFlexHeatPump`, `SmartFlexBattery`, `SmartFlexInverter`, or the generic `SmartFlexDevice`
//! (thermostats). Live values (state of charge, power, temperatures) come from the device's latest
//! stored telemetry; a device that has none yet is read once from its provider, and the reading is
//! stored.
//!
//! Visibility: an unknown device and one on an account the caller may not see both answer KT-CT-4301,
//! so device ids cannot be probed.

use std::str::FromStr;
use std::sync::Arc;

use async_graphql::{Context, ID, Interface, Object, SimpleObject};
use chrono::Weekday;
use resiflex_domain::device::{DeviceKind, DeviceState, Lifecycle, Provider};
use resiflex_domain::preferences::{
    PreferenceMode, PreferenceSettings, PreferenceUnit, Preferences, weekday_name,
};
use resiflex_providers::{Connection, Telemetry};
use resiflex_store::StoreError;
use resiflex_store::accounts;
use resiflex_store::devices::{self as store, Device};
use rust_decimal::Decimal as RustDecimal;

use super::{OperationErrors, OperationKind, api};
use crate::auth::access::{account_for, may_see_account};
use crate::auth::{Caller, authorise};
use crate::context::ApiContext;
use crate::enums::{
    ConnectionStatus, DayOfWeek, FlexGridExportStatus, FlexIsChargingDurationCapped,
    HeatPumpActivity, HeatPumpMode, KrakenFlexDeviceTypes, PreferencesModeChoices,
    PreferencesTargetType, PreferencesUnitChoices, ProviderChoices, SmartFlexDeviceLifecycleStatus,
    SmartFlexDeviceState, TestDispatchAssessmentFailureReason, ZoneType,
};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::scalars::{DateTime, Decimal, Time};

pub const ERRORS: &[OperationErrors] = &[OperationErrors {
    name: "devices",
    kind: OperationKind::Query,
    codes: &[ErrorCode::Unauthorized],
    protected: true,
}];

/// How many alerts a device shows, newest first.
const ALERT_LIMIT: i64 = 20;

// ----------------------------------------------------------------------------------------------
// Shared by the device operations.
// ----------------------------------------------------------------------------------------------

pub(crate) fn internal(context: &str, err: &dyn std::fmt::Display) -> KrakenError {
    KrakenError::internal(context, err)
}

fn store_error(err: StoreError) -> KrakenError {
    internal("devices", &err)
}

/// KT-CT-4301, the one answer for a device that does not exist or that the caller may not see.
pub(crate) fn device_not_found() -> KrakenError {
    KrakenError::with_message(
        ErrorCode::DeviceNotFound,
        "Unable to find device for given account.",
    )
}

/// The device with this id, if it exists and the caller may see its account; KT-CT-4301 otherwise.
pub(crate) async fn visible_device(
    api: &ApiContext,
    caller: &Caller,
    device_id: &str,
) -> ApiResult<Device> {
    let device_id = device_id.trim();
    if device_id.is_empty() {
        return Err(device_not_found());
    }
    let device = store::device_by_id(&api.db, device_id)
        .await
        .map_err(store_error)?
        .ok_or_else(device_not_found)?;
    let account = accounts::account_by_id(&api.db, device.account_id)
        .await
        .map_err(store_error)?
        .ok_or_else(device_not_found)?;
    if may_see_account(api, caller, &account).await? {
        Ok(device)
    } else {
        Err(device_not_found())
    }
}

/// Authorises the caller and finds the device they name (KT-CT-4301 if they may not see it).
pub(crate) async fn device_for<'a>(
    ctx: &Context<'a>,
    device_id: &str,
) -> ApiResult<(&'a ApiContext, Device)> {
    let caller = authorise(ctx).await?;
    let api = api(ctx)?;
    let device = visible_device(api, &caller, device_id).await?;
    Ok((api, device))
}

/// The `ProviderChoices` value of a provider (the two lists are the same, see the domain's tests).
pub(crate) fn provider_choice(provider: Provider) -> ApiResult<ProviderChoices> {
    named("provider", provider.as_str())
}

/// The device as the API shows it, with its stored telemetry.
pub(crate) async fn respond(
    api: &ApiContext,
    device: Device,
) -> ApiResult<SmartFlexDeviceInterface> {
    let telemetry = api
        .devices
        .latest_telemetry(&device)
        .await
        .map_err(|err| internal("telemetry", &err))?;
    let view = DeviceView::new(api, device, telemetry);
    Ok(SmartFlexDeviceInterface::from_view(Arc::new(view)))
}

/// A value of a GraphQL enum from the same name stored in the database.
fn named<E: FromStr>(what: &str, text: &str) -> ApiResult<E> {
    text.parse().map_err(|_| internal(what, &text))
}

/// A number of thousandths (W for kW, Wh for kWh) as a `Decimal` with at least one decimal place.
fn thousandths(value: i64) -> Decimal {
    with_a_decimal_place(RustDecimal::new(value, 3))
}

fn with_a_decimal_place(value: RustDecimal) -> Decimal {
    let mut decimal = value.normalize();
    if decimal.scale() == 0 {
        decimal.rescale(1);
    }
    Decimal(decimal)
}

/// A measured value (percent, degrees) as a `Decimal`, to two decimal places at most.
fn measured(value: f64) -> Option<Decimal> {
    if !value.is_finite() {
        return None;
    }
    RustDecimal::from_str(&format!("{:.2}", value))
        .ok()
        .map(with_a_decimal_place)
}

// ----------------------------------------------------------------------------------------------
// The view of one device every object reads from.
// ----------------------------------------------------------------------------------------------

/// One device, parsed once: its row, its machines, its latest telemetry and its preferences.
#[derive(Debug)]
pub(crate) struct DeviceView {
    device: Device,
    kind: DeviceKind,
    lifecycle: Lifecycle,
    state: DeviceState,
    telemetry: Option<Telemetry>,
    /// The stored preferences, or the kind's default when none are stored (or they no longer fit).
    preferences: Option<Preferences>,
    /// Whether the customer could authorise the device again (see `reAuthenticationState`).
    reauthenticable: bool,
}

impl DeviceView {
    pub(crate) fn new(
        api: &ApiContext,
        device: Device,
        telemetry: Option<Telemetry>,
    ) -> DeviceView {
        let preferences = stored_preferences(&device);
        let reauthenticable = device.lifecycle != Lifecycle::Retired
            && api.providers.get(device.provider).is_some()
            && !device.provider.connects_itself();
        DeviceView {
            kind: device.kind,
            lifecycle: device.lifecycle,
            state: device.state,
            device,
            telemetry,
            preferences,
            reauthenticable,
        }
    }
}

/// The preferences stored on a device, checked against its kind; the kind's default otherwise.
pub(crate) fn stored_preferences(device: &Device) -> Option<Preferences> {
    let kind = device.kind;
    if let Some(stored) = &device.preferences {
        match stored.clone().revalidate(kind) {
            Ok(prefs) => return Some(prefs),
            Err(err) => {
                tracing::warn!(device = %device.id, error = %err, "stored preferences are not valid; showing the default");
            }
        }
    }
    Preferences::default_for(kind)
}

// ----------------------------------------------------------------------------------------------
// Statuses.
// ----------------------------------------------------------------------------------------------

/// A reading of a number at a time.
#[derive(SimpleObject, Debug, Clone)]
pub struct DecimalReading {
    pub value: Decimal,
    pub timestamp: DateTime,
}

/// The charge limit set on the vehicle or charger itself.
#[derive(SimpleObject, Debug, Clone)]
pub struct StateOfChargeLimit {
    /// The highest state of charge the device will charge to, in percent.
    pub upper_soc_limit: i32,
    /// When the limit was read.
    pub timestamp: DateTime,
    /// Whether a target in the device's preferences is above the limit, so cannot be reached.
    pub is_limit_violated: bool,
}

/// A temperature measured in one zone.
#[derive(SimpleObject, Debug, Clone)]
pub struct ZoneTemperature {
    pub zone: ZoneType,
    /// Degrees Celsius.
    pub temperature: Decimal,
    pub timestamp: DateTime,
}

/// The status every device has.
#[derive(Interface)]
#[graphql(
    name = "SmartFlexDeviceStatusInterface",
    field(
        name = "current",
        ty = "SmartFlexDeviceLifecycleStatus",
        desc = "Where the device's registration is in its life cycle."
    ),
    field(
        name = "current_state",
        ty = "SmartFlexDeviceState",
        desc = "What the device is doing for the customer now."
    ),
    field(
        name = "is_suspended",
        ty = "bool",
        desc = "Whether smart control of the device is suspended."
    )
)]
pub enum SmartFlexDeviceStatusInterface {
    SmartFlexVehicleStatus(SmartFlexVehicleStatus),
    SmartFlexChargePointStatus(SmartFlexChargePointStatus),
    SmartFlexHeatPumpStatus(SmartFlexHeatPumpStatus),
    SmartFlexDeviceStatus(SmartFlexDeviceStatus),
}

/// Writes the three fields every status type has, then the type's own.
macro_rules! status_object {
    ($(#[$doc:meta])* $ty:ident { $($extra:tt)* }) => {
        $(#[$doc])*
        pub struct $ty(Arc<DeviceView>);

        #[Object]
        impl $ty {
            /// Where the device's registration is in its life cycle.
            async fn current(&self) -> Result<SmartFlexDeviceLifecycleStatus, KrakenError> {
                named("stored device lifecycle", self.0.lifecycle.as_str())
            }

            /// What the device is doing for the customer now.
            async fn current_state(&self) -> Result<SmartFlexDeviceState, KrakenError> {
                named("stored device state", self.0.state.as_str())
            }

            /// Whether smart control of the device is suspended.
            async fn is_suspended(&self) -> bool {
                self.0.device.is_suspended
            }

            $($extra)*
        }
    };
}

/// Writes a vehicle-or-charger status type.
macro_rules! charging_status {
    ($(#[$doc:meta])* $ty:ident) => {
        status_object! {
            $(#[$doc])*
            $ty {
                /// The latest state of charge, 0–100.
                async fn state_of_charge(&self) -> Option<DecimalReading> {
                    charging::state_of_charge(&self.0)
                }

                /// The latest power, in kW: positive while charging, negative while discharging.
                async fn active_power(&self) -> Option<DecimalReading> {
                    charging::active_power(&self.0)
                }

                /// The charge limit set on the device itself, when it reports one.
                async fn state_of_charge_limit(&self) -> Option<StateOfChargeLimit> {
                    charging::limit(&self.0)
                }

                /// Why the latest test charge failed: UNKNOWN after a failed test, NONE otherwise.
                async fn test_dispatch_failure_reason(
                    &self,
                ) -> Option<TestDispatchAssessmentFailureReason> {
                    Some(if self.0.state == DeviceState::TestChargeFailed {
                        TestDispatchAssessmentFailureReason::Unknown
                    } else {
                        TestDispatchAssessmentFailureReason::None
                    })
                }
            }
        }
    };
}

mod charging {
    use super::*;

    pub(super) fn state_of_charge(view: &DeviceView) -> Option<DecimalReading> {
        let telemetry = view.telemetry.as_ref()?;
        Some(DecimalReading {
            value: measured(telemetry.state_of_charge_pct?)?,
            timestamp: DateTime(telemetry.at),
        })
    }

    pub(super) fn active_power(view: &DeviceView) -> Option<DecimalReading> {
        let telemetry = view.telemetry.as_ref()?;
        Some(DecimalReading {
            value: thousandths(telemetry.power_w),
            timestamp: DateTime(telemetry.at),
        })
    }

    /// The limit, and whether any day's target is above it.
    pub(super) fn limit(view: &DeviceView) -> Option<StateOfChargeLimit> {
        let telemetry = view.telemetry.as_ref()?;
        let limit = telemetry.soc_limit_pct.filter(|l| l.is_finite())?;
        let violated = view
            .preferences
            .as_ref()
            .is_some_and(|p| p.schedules.iter().any(|entry| entry.max > limit));
        Some(StateOfChargeLimit {
            upper_soc_limit: limit.round().clamp(0.0, 100.0) as i32,
            timestamp: DateTime(telemetry.at),
            is_limit_violated: violated,
        })
    }
}

charging_status! {
    /// The status of an electric vehicle.
    SmartFlexVehicleStatus
}

charging_status! {
    /// The status of a vehicle charger.
    SmartFlexChargePointStatus
}

status_object! {
    /// The status of a heat pump.
    SmartFlexHeatPumpStatus {
        /// The mode the heat pump is in: off while suspended, otherwise its preferences' mode.
        async fn mode(&self) -> Option<HeatPumpMode> {
            heat_pump_mode(&self.0)
        }

        /// What the heat pump is doing now.
        async fn activity(&self) -> Option<HeatPumpActivity> {
            let telemetry = self.0.telemetry.as_ref()?;
            Some(match (heat_pump_mode(&self.0)?, telemetry.active) {
                (HeatPumpMode::Heating, true) => HeatPumpActivity::ScheduledHeating,
                (HeatPumpMode::Cooling, true) => HeatPumpActivity::ScheduledCooling,
                _ => HeatPumpActivity::Pending,
            })
        }

        /// The latest temperature of each zone.
        async fn current_temperatures(&self) -> Vec<ZoneTemperature> {
            self.0
                .telemetry
                .as_ref()
                .and_then(|t| {
                    Some(ZoneTemperature {
                        zone: ZoneType::Climate,
                        temperature: measured(t.indoor_temperature_c?)?,
                        timestamp: DateTime(t.at),
                    })
                })
                .into_iter()
                .collect()
        }

        /// The temperature the heat pump is working towards, in degrees Celsius.
        async fn target_temperature(&self) -> Option<Decimal> {
            measured(self.0.telemetry.as_ref()?.target_temperature_c?)
        }
    }
}

fn heat_pump_mode(view: &DeviceView) -> Option<HeatPumpMode> {
    if view.device.is_suspended || view.lifecycle == Lifecycle::Retired {
        return Some(HeatPumpMode::Off);
    }
    match view.preferences.as_ref()?.mode {
        PreferenceMode::Heat => Some(HeatPumpMode::Heating),
        PreferenceMode::Cool => Some(HeatPumpMode::Cooling),
        PreferenceMode::Charge => None,
    }
}

status_object! {
    /// The status of any other device.
    SmartFlexDeviceStatus {}
}

fn status_of(view: &Arc<DeviceView>) -> SmartFlexDeviceStatusInterface {
    let view = Arc::clone(view);
    match view.kind {
        DeviceKind::ElectricVehicle => SmartFlexVehicleStatus(view).into(),
        DeviceKind::ChargePoint => SmartFlexChargePointStatus(view).into(),
        DeviceKind::HeatPump => SmartFlexHeatPumpStatus(view).into(),
        DeviceKind::Battery | DeviceKind::Inverter | DeviceKind::Thermostat => {
            SmartFlexDeviceStatus(view).into()
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Alerts, preferences, settings.
// ----------------------------------------------------------------------------------------------

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

fn target_type(unit: PreferenceUnit) -> PreferencesTargetType {
    match unit {
        PreferenceUnit::Percentage => PreferencesTargetType::AbsoluteStateOfCharge,
        PreferenceUnit::Celsius => PreferencesTargetType::AbsoluteTemperature,
    }
}

fn day_of_week(day: Weekday) -> ApiResult<DayOfWeek> {
    named("weekday", weekday_name(day))
}

fn preferences_of(view: &DeviceView) -> ApiResult<SmartFlexDevicePreferences> {
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

fn setting_of(view: &DeviceView) -> Option<FlexDevicePreferenceSetting> {
    let settings = PreferenceSettings::for_kind(view.kind)?;
    let mode = view
        .preferences
        .as_ref()
        .map(|p| p.mode)
        .filter(|mode| settings.modes.contains(mode))
        .unwrap_or(settings.modes[0]);
    // Stable ids: one setting per kind of device.
    let id = DeviceKind::ALL
        .iter()
        .position(|kind| *kind == view.kind)
        .map_or(0, |i| i as i32 + 1);
    let limits = settings.schedule;
    let decimal = |value: f64| measured(value);
    Some(FlexDevicePreferenceSetting {
        id,
        device_type: view.kind.kraken_device_type().to_owned(),
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

fn legacy_charging_preferences(view: &DeviceView) -> Option<SmartFlexVehicleChargingPreferences> {
    let prefs = view.preferences.as_ref()?;
    let settings = PreferenceSettings::for_kind(view.kind)?;
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

// ----------------------------------------------------------------------------------------------
// Inverter telemetry.
// ----------------------------------------------------------------------------------------------

#[derive(SimpleObject, Debug, Clone)]
pub struct InverterTelemetry {
    pub connection_status: ConnectionStatus,
    /// The inverter's AC output in kW: what it supplies to the home from solar and battery.
    pub power_in_kw: Option<Decimal>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct BatteryTelemetry {
    pub connection_status: ConnectionStatus,
    /// Positive while the battery discharges, negative while it charges.
    pub power_in_kw: Option<Decimal>,
    /// Percent.
    pub state_of_charge: Option<Decimal>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct SolarTelemetry {
    pub power_in_kw: Option<Decimal>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct GridTelemetry {
    /// Positive while importing, negative while exporting.
    pub power_in_kw: Decimal,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct SiteTelemetry {
    pub consumption_in_kw: Option<Decimal>,
    pub export_in_kw: Decimal,
}

/// What an inverter site is doing, from its latest reading.
#[derive(SimpleObject, Debug, Clone)]
pub struct SmartFlexInverterTelemetry {
    pub timestamp: DateTime,
    pub inverter: InverterTelemetry,
    pub battery: BatteryTelemetry,
    pub solar: SolarTelemetry,
    pub grid: GridTelemetry,
    pub site: SiteTelemetry,
}

/// The energy balance of the site: solar + battery discharge + grid import = consumption.
fn inverter_telemetry(telemetry: &Telemetry) -> SmartFlexInverterTelemetry {
    let connection_status = match telemetry.connection {
        Connection::Online => ConnectionStatus::Online,
        Connection::Offline => ConnectionStatus::Offline,
    };
    let grid_w = telemetry.power_w;
    let consumption_w = telemetry.site_consumption_w;
    let solar_w = telemetry.solar_power_w;
    let inverter_w = consumption_w.map(|load| load - grid_w);
    let battery_w = consumption_w.map(|load| load - solar_w.unwrap_or(0) - grid_w);
    SmartFlexInverterTelemetry {
        timestamp: DateTime(telemetry.at),
        inverter: InverterTelemetry {
            connection_status,
            power_in_kw: inverter_w.map(thousandths),
        },
        battery: BatteryTelemetry {
            connection_status,
            power_in_kw: battery_w.map(thousandths),
            state_of_charge: telemetry.state_of_charge_pct.and_then(measured),
        },
        solar: SolarTelemetry {
            power_in_kw: solar_w.map(thousandths),
        },
        grid: GridTelemetry {
            power_in_kw: thousandths(grid_w),
        },
        site: SiteTelemetry {
            consumption_in_kw: consumption_w.map(thousandths),
            export_in_kw: thousandths((-grid_w).max(0)),
        },
    }
}

// ----------------------------------------------------------------------------------------------
// The device objects.
// ----------------------------------------------------------------------------------------------

/// A device registered for smart control.
// Several fields share a type, which the lint mistakes for repeated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface)]
#[graphql(
    name = "SmartFlexDeviceInterface",
    field(
        name = "id",
        ty = "ID",
        desc = "The registration's id; registering the device again gives a new one."
    ),
    field(name = "name", ty = "String", desc = "The device's name."),
    field(
        name = "device_type",
        ty = "KrakenFlexDeviceTypes",
        desc = "The kind of device."
    ),
    field(
        name = "provider",
        ty = "ProviderChoices",
        desc = "The integration the device is controlled through."
    ),
    field(
        name = "integration_device_id",
        ty = "String",
        desc = "The provider's id for the device."
    ),
    field(
        name = "property_id",
        ty = "Option<ID>",
        desc = "The property the device is at."
    ),
    field(
        name = "status",
        ty = "SmartFlexDeviceStatusInterface",
        desc = "Where the device is in its life cycle and what it is doing."
    ),
    field(
        name = "alerts",
        ty = "Vec<SmartFlexDeviceAlert>",
        desc = "Messages about the device, newest first."
    ),
    field(
        name = "preferences",
        ty = "Option<SmartFlexDevicePreferences>",
        desc = "What the customer asked of the device."
    ),
    field(
        name = "preference_setting",
        ty = "Option<FlexDevicePreferenceSetting>",
        desc = "The preferences the device accepts."
    ),
    field(
        name = "re_authentication_state",
        ty = "DeviceReAuthentication",
        desc = "Whether the device could be authorised again with its vendor."
    )
)]
pub enum SmartFlexDeviceInterface {
    SmartFlexVehicle(SmartFlexVehicle),
    SmartFlexChargePoint(SmartFlexChargePoint),
    SmartFlexHeatPump(SmartFlexHeatPump),
    SmartFlexBattery(SmartFlexBattery),
    SmartFlexInverter(SmartFlexInverter),
    SmartFlexDevice(SmartFlexDevice),
}

impl SmartFlexDeviceInterface {
    /// The object of the device's kind.
    pub(crate) fn from_view(view: Arc<DeviceView>) -> SmartFlexDeviceInterface {
        match view.kind {
            DeviceKind::ElectricVehicle => SmartFlexVehicle(view).into(),
            DeviceKind::ChargePoint => SmartFlexChargePoint(view).into(),
            DeviceKind::HeatPump => SmartFlexHeatPump(view).into(),
            DeviceKind::Battery => SmartFlexBattery(view).into(),
            DeviceKind::Inverter => SmartFlexInverter(view).into(),
            DeviceKind::Thermostat => SmartFlexDevice(view).into(),
        }
    }
}

/// Writes the fields every device object has, then the object's own.
///
/// Fields the interface declares return `Result<_, KrakenError>` spelled out: the `Object` derive only
/// recognises a fallible field by the name `Result`, and the interface calls the field methods directly.
macro_rules! device_object {
    ($(#[$doc:meta])* $ty:ident { $($extra:tt)* }) => {
        $(#[$doc])*
        pub struct $ty(Arc<DeviceView>);

        #[Object]
        impl $ty {
            /// The registration's id; registering the device again gives a new one.
            async fn id(&self) -> ID {
                ID(self.0.device.id.clone())
            }

            /// The device's name.
            async fn name(&self) -> String {
                self.0.device.name.clone()
            }

            /// The kind of device.
            async fn device_type(&self) -> Result<KrakenFlexDeviceTypes, KrakenError> {
                named("device type", self.0.kind.kraken_device_type())
            }

            /// The integration the device is controlled through.
            async fn provider(&self) -> Result<ProviderChoices, KrakenError> {
                provider_choice(self.0.device.provider)
            }

            /// The provider's id for the device.
            async fn integration_device_id(&self) -> String {
                self.0.device.integration_device_id.clone()
            }

            /// The property the device is at.
            async fn property_id(&self) -> Option<ID> {
                Some(ID(self.0.device.property_id.to_string()))
            }

            /// Where the device is in its life cycle and what it is doing.
            async fn status(&self) -> SmartFlexDeviceStatusInterface {
                status_of(&self.0)
            }

            /// Messages about the device, newest first.
            async fn alerts(&self, ctx: &Context<'_>) -> Result<Vec<SmartFlexDeviceAlert>, KrakenError> {
                let alerts = store::alerts_of_device(&api(ctx)?.db, &self.0.device.id, ALERT_LIMIT)
                    .await
                    .map_err(store_error)?;
                Ok(alerts
                    .into_iter()
                    .map(|alert| SmartFlexDeviceAlert {
                        message: alert.message,
                        published_at: DateTime(alert.published_at),
                    })
                    .collect())
            }

            /// What the customer asked of the device.
            async fn preferences(&self) -> Result<Option<SmartFlexDevicePreferences>, KrakenError> {
                preferences_of(&self.0).map(Some)
            }

            /// The preferences the device accepts.
            async fn preference_setting(&self) -> Option<FlexDevicePreferenceSetting> {
                setting_of(&self.0)
            }

            /// Whether the device could be authorised again with its vendor.
            async fn re_authentication_state(&self) -> DeviceReAuthentication {
                DeviceReAuthentication {
                    is_eligible: self.0.reauthenticable,
                }
            }

            $($extra)*
        }
    };
}

/// Writes an object for a device that charges a vehicle.
macro_rules! charging_device {
    ($(#[$doc:meta])* $ty:ident, $legacy:meta) => {
        device_object! {
            $(#[$doc])*
            $ty {
                async fn make(&self) -> String {
                    self.0.device.make.clone()
                }

                async fn model(&self) -> String {
                    self.0.device.model.clone()
                }

                /// The usable battery capacity, in kWh.
                async fn vehicle_battery_size(&self) -> Option<Decimal> {
                    self.0.device.battery_capacity_wh.map(thousandths)
                }

                /// The highest charging power, in kW.
                async fn charge_point_power_output(&self) -> Option<Decimal> {
                    self.0.device.max_power_w.map(thousandths)
                }

                /// The device's charging sessions, newest first; `after` (inclusive) and `before`
                /// bound their start times, which are the cursors.
                #[allow(clippy::too_many_arguments)]
                async fn charging_sessions(
                    &self,
                    ctx: &Context<'_>,
                    before: Option<DateTime>,
                    after: Option<DateTime>,
                    session_types: Option<Vec<Option<crate::enums::ChargingSessionType>>>,
                    first: Option<i32>,
                    last: Option<i32>,
                ) -> Result<Option<super::sessions::DeviceChargingSessionConnection>, KrakenError> {
                    let args = super::sessions::SessionArgs { before, after, session_types, first, last };
                    super::sessions::charging_sessions(ctx, &self.0.device, args).await.map(Some)
                }

                /// One weekday and one weekend target, derived from `preferences`.
                #[$legacy]
                async fn charging_preferences(&self) -> Option<SmartFlexVehicleChargingPreferences> {
                    legacy_charging_preferences(&self.0)
                }
            }
        }
    };
}

charging_device! {
    /// An electric vehicle controlled through the car maker's cloud.
    SmartFlexVehicle,
    graphql(deprecation = "Use `preferences` instead (since 2024-11-01).")
}

charging_device! {
    /// A vehicle charger.
    SmartFlexChargePoint,
    graphql()
}

device_object! {
    /// A heat pump.
    SmartFlexHeatPump {
        async fn make(&self) -> String {
            self.0.device.make.clone()
        }

        async fn model(&self) -> String {
            self.0.device.model.clone()
        }

        /// The heat pump's electrical power, in kW.
        async fn power_in_kw(&self) -> Option<Decimal> {
            self.0.device.max_power_w.map(thousandths)
        }

        /// What the heat pump serves.
        async fn zone_type(&self) -> Option<ZoneType> {
            Some(ZoneType::Climate)
        }
    }
}

device_object! {
    /// A home battery.
    SmartFlexBattery {
        async fn make(&self) -> String {
            self.0.device.make.clone()
        }

        async fn model(&self) -> String {
            self.0.device.model.clone()
        }
    }
}

device_object! {
    /// A solar or hybrid inverter.
    SmartFlexInverter {
        async fn make(&self) -> String {
            self.0.device.make.clone()
        }

        async fn model(&self) -> String {
            self.0.device.model.clone()
        }

        /// The site's power flows, from the latest reading.
        async fn telemetry(&self) -> Option<SmartFlexInverterTelemetry> {
            self.0.telemetry.as_ref().map(inverter_telemetry)
        }
    }
}

device_object! {
    /// Any other device, such as a thermostat.
    SmartFlexDevice {}
}

// ----------------------------------------------------------------------------------------------
// The query.
// ----------------------------------------------------------------------------------------------

#[derive(Default)]
pub struct DevicesQuery;

#[Object]
impl DevicesQuery {
    /// The account's devices, oldest first, retired ones included; optionally only the one with this
    /// id, the one with this provider id, or those at this property. No match is an empty list.
    async fn devices(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        device_id: Option<String>,
        integration_device_id: Option<String>,
        property_id: Option<ID>,
    ) -> ApiResult<Vec<SmartFlexDeviceInterface>> {
        let caller = authorise(ctx).await?;
        let api = api(ctx)?;
        let account = account_for(api, &caller, &account_number, ErrorCode::Unauthorized).await?;
        let device_id = device_id.as_deref().map(str::trim);
        let integration_device_id = integration_device_id.as_deref().map(str::trim);
        // An id that is not a number matches no property.
        let property_id = property_id.as_ref().map(|id| id.trim().parse::<i64>().ok());
        let mut shown = Vec::new();
        for device in store::devices_of_account(&api.db, account.id)
            .await
            .map_err(store_error)?
        {
            let wanted = device_id.is_none_or(|id| device.id == id)
                && integration_device_id.is_none_or(|id| device.integration_device_id == id)
                && property_id.is_none_or(|p| p == Some(device.property_id));
            if wanted {
                shown.push(respond(api, device).await?);
            }
        }
        Ok(shown)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use chrono::{TimeZone, Utc};

    use super::*;

    fn telemetry(power_w: i64, solar: Option<i64>, load: Option<i64>) -> Telemetry {
        Telemetry {
            at: Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap(),
            connection: Connection::Online,
            state_of_charge_pct: Some(55.456),
            soc_limit_pct: None,
            power_w,
            energy_imported_wh: 0,
            energy_exported_wh: 0,
            plugged_in: None,
            at_home: None,
            indoor_temperature_c: None,
            outdoor_temperature_c: None,
            target_temperature_c: None,
            solar_power_w: solar,
            site_consumption_w: load,
            active: true,
        }
    }

    #[test]
    fn inverter_power_flows_balance() {
        // 3 kW solar, 1 kW load, battery charging at 1.5 kW: 0.5 kW exported.
        let t = inverter_telemetry(&telemetry(-500, Some(3_000), Some(1_000)));
        assert_eq!(t.grid.power_in_kw.0.to_string(), "-0.5");
        assert_eq!(t.site.export_in_kw.0.to_string(), "0.5");
        assert_eq!(t.battery.power_in_kw.unwrap().0.to_string(), "-1.5");
        assert_eq!(t.inverter.power_in_kw.unwrap().0.to_string(), "1.5");
        assert_eq!(t.solar.power_in_kw.unwrap().0.to_string(), "3.0");
        assert_eq!(t.battery.state_of_charge.unwrap().0.to_string(), "55.46");
        // Evening: no solar, 2 kW load, battery gives 1.2 kW, grid 0.8 kW.
        let t = inverter_telemetry(&telemetry(800, Some(0), Some(2_000)));
        assert_eq!(t.battery.power_in_kw.unwrap().0.to_string(), "1.2");
        assert_eq!(t.site.export_in_kw.0.to_string(), "0.0");
    }

    #[test]
    fn decimals_have_a_decimal_place() {
        assert_eq!(thousandths(11_000).0.to_string(), "11.0");
        assert_eq!(thousandths(7_400).0.to_string(), "7.4");
        assert_eq!(measured(80.0).unwrap().0.to_string(), "80.0");
        assert_eq!(measured(20.5).unwrap().0.to_string(), "20.5");
        assert!(measured(f64::NAN).is_none());
    }
}
