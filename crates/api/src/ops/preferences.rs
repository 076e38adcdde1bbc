//! Preferences: `setDevicePreferences`, `updateDeviceGridExport` and `updateIsChargingDurationCapped`.
//!
//! The input is checked by the domain ([`Preferences::parse`]) against the device's settings (the
//! same ones `preferenceSetting` shows). Malformed input (a mode or unit the device does not have, no
//! schedules, a weekday twice, `min` above `max`) answers KT-CT-4321; values or times outside the
//! settings or off their steps answer KT-CT-4374. Either message names the field and the reason.

use async_graphql::{Context, ID, InputObject, Object};
use resiflex_domain::device::{DeviceKind, Lifecycle};
use resiflex_domain::preferences::{
    PreferenceError, PreferenceMode, PreferenceUnit, Preferences, ScheduleEntry, parse_weekday,
};
use rust_decimal::prelude::ToPrimitive;

use resiflex_devices::{DeviceError, Operation};

use super::control::device_error;
use super::devices::{SmartFlexDeviceInterface, device_for, respond};
use super::{OperationErrors, protected_mutation as op};
use crate::enums::{DayOfWeek, PreferencesModeChoices, PreferencesUnitChoices};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::scalars::{Decimal, Time};

pub const ERRORS: &[OperationErrors] = &[
    op(
        "setDevicePreferences",
        &[
            ErrorCode::DeviceNotFound,
            ErrorCode::SerializerValidation,
            ErrorCode::PreferencesFailed,
        ],
    ),
    op(
        "updateDeviceGridExport",
        &[ErrorCode::DeviceNotFound, ErrorCode::GridExportFailed],
    ),
    op(
        "updateIsChargingDurationCapped",
        &[
            ErrorCode::DeviceNotFound,
            ErrorCode::ChargingDurationCapFailed,
        ],
    ),
];

/// The target of one weekday.
#[derive(InputObject, Debug)]
pub struct PreferencesScheduleInput {
    pub day_of_week: DayOfWeek,
    /// `HH:MM` (or `HH:MM:SS`), local time at the property.
    pub time: Time,
    /// Vehicles: the state of charge to reach by `time`. Heat pumps: the cooling set-point.
    pub max: Decimal,
    /// Vehicles: a level to charge to straight away. Heat pumps: the heating set-point.
    pub min: Option<Decimal>,
}

#[derive(InputObject, Debug)]
pub struct SmartFlexDevicePreferencesInput {
    pub device_id: ID,
    pub mode: PreferencesModeChoices,
    pub unit: PreferencesUnitChoices,
    /// At most one entry per weekday.
    pub schedules: Vec<PreferencesScheduleInput>,
}

#[derive(InputObject, Debug)]
pub struct UpdateDeviceGridExportInput {
    pub device_id: String,
    pub enabled: bool,
}

#[derive(InputObject, Debug)]
pub struct UpdateIsChargingDurationCappedInput {
    pub device_id: String,
    pub enabled: bool,
}

fn malformed(message: impl Into<String>) -> KrakenError {
    KrakenError::with_message(ErrorCode::SerializerValidation, message)
}

fn refused(err: &PreferenceError) -> KrakenError {
    let code = if err.is_outside_settings() {
        ErrorCode::PreferencesFailed
    } else {
        ErrorCode::SerializerValidation
    };
    KrakenError::with_message(code, err.to_string())
}

fn mode_of(mode: PreferencesModeChoices) -> PreferenceMode {
    match mode {
        PreferencesModeChoices::Charge => PreferenceMode::Charge,
        PreferencesModeChoices::Heat => PreferenceMode::Heat,
        PreferencesModeChoices::Cool => PreferenceMode::Cool,
    }
}

/// The unit; the deprecated PERCENTAGE_ABSOLUTE means PERCENTAGE, and relative targets are refused.
fn unit_of(unit: PreferencesUnitChoices) -> ApiResult<PreferenceUnit> {
    match unit {
        PreferencesUnitChoices::Percentage | PreferencesUnitChoices::PercentageAbsolute => {
            Ok(PreferenceUnit::Percentage)
        }
        PreferencesUnitChoices::Celsius => Ok(PreferenceUnit::Celsius),
        PreferencesUnitChoices::PercentageRelative => Err(malformed(
            "`unit`: PERCENTAGE_RELATIVE is not supported; send PERCENTAGE with the state of charge to reach.",
        )),
    }
}

fn number(value: &Decimal, field: String) -> ApiResult<f64> {
    value
        .0
        .to_f64()
        .ok_or_else(|| malformed(format!("`{field}`: {} is not a usable number.", value.0)))
}

/// Turns the input into checked preferences for a kind of device.
fn parse_input(
    kind: DeviceKind,
    input: &SmartFlexDevicePreferencesInput,
) -> ApiResult<Preferences> {
    let unit = unit_of(input.unit)?;
    let mut schedules = Vec::with_capacity(input.schedules.len());
    for (index, entry) in input.schedules.iter().enumerate() {
        let day = parse_weekday(entry.day_of_week.as_str())
            .ok_or_else(|| KrakenError::internal("weekday", &entry.day_of_week))?;
        schedules.push(ScheduleEntry {
            day,
            time: entry.time.0,
            min: entry
                .min
                .as_ref()
                .map(|min| number(min, format!("schedules[{index}].min")))
                .transpose()?,
            max: number(&entry.max, format!("schedules[{index}].max"))?,
        });
    }
    Preferences::parse(kind, mode_of(input.mode), unit, schedules).map_err(|err| refused(&err))
}

#[derive(Default)]
pub struct PreferencesMutation;

#[Object]
impl PreferencesMutation {
    /// Sets the targets of a device, one per weekday, replacing the previous ones. Read the limits
    /// from the device's `preferenceSetting`.
    async fn set_device_preferences(
        &self,
        ctx: &Context<'_>,
        input: SmartFlexDevicePreferencesInput,
    ) -> ApiResult<Option<SmartFlexDeviceInterface>> {
        let (api, device) = device_for(ctx, &input.device_id).await?;
        if device.lifecycle == Lifecycle::Retired {
            return Err(device_error(DeviceError::NotAllowed(
                Operation::SetPreferences,
                "The device is retired.".to_owned(),
            )));
        }
        let preferences = parse_input(device.kind, &input)?;
        let saved = api
            .devices
            .set_preferences(device, preferences)
            .await
            .map_err(device_error)?;
        tracing::info!(device = %saved.id, "device preferences set");
        respond(api, saved).await.map(Some)
    }

    /// Lets a battery or inverter export to the grid, or stops it. Devices that cannot export
    /// (NOT_APPLICABLE) refuse with KT-CT-4386.
    async fn update_device_grid_export(
        &self,
        ctx: &Context<'_>,
        input: UpdateDeviceGridExportInput,
    ) -> ApiResult<Option<SmartFlexDeviceInterface>> {
        let (api, device) = device_for(ctx, &input.device_id).await?;
        let saved = api
            .devices
            .set_grid_export(device, input.enabled)
            .await
            .map_err(device_error)?;
        respond(api, saved).await.map(Some)
    }

    /// Caps the length of the device's charging sessions, or lifts the cap. Devices without the
    /// setting (NOT_APPLICABLE) refuse with KT-CT-4389.
    async fn update_is_charging_duration_capped(
        &self,
        ctx: &Context<'_>,
        input: UpdateIsChargingDurationCappedInput,
    ) -> ApiResult<Option<SmartFlexDeviceInterface>> {
        let (api, device) = device_for(ctx, &input.device_id).await?;
        let saved = api
            .devices
            .set_charging_duration_cap(device, input.enabled)
            .await
            .map_err(device_error)?;
        respond(api, saved).await.map(Some)
    }
}
