//! Controlling a device: `updateDeviceSmartControl` (suspend and resume), `updateBoostCharge` (boost
//! and cancel), `triggerTestCharge` and `deauthenticateFlexDevice`.
//!
//! Each resolver finds the device the caller may see (KT-CT-4301 otherwise), hands it to the use case
//! in `resiflex_devices` (which decides, sends the command and saves), and maps the outcome: a
//! refusal becomes the operation's Kraken error, with `extensions.boostChargeRefusalReasons` or
//! `extensions.testChargeRefusalReasons` where the rules gave a reason. The new state shows in
//! `devices` at once.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use resiflex_devices::{DeviceError, Operation};
use resiflex_store::devices::Device;

use super::devices::{
    SmartFlexDeviceInterface, device_for, device_not_found, internal, provider_choice, respond,
};
use super::{OperationErrors, protected_mutation as op};
use crate::enums::{
    KrakenFlexDeviceTypes, ProviderChoices, SmartControlAction, UpdateBoostChargeAction,
};
use crate::errors::{ApiResult, ErrorCode, KrakenError};

pub const ERRORS: &[OperationErrors] = &[
    op(
        "updateDeviceSmartControl",
        &[
            ErrorCode::DeviceNotFound,
            ErrorCode::ProviderUnavailable,
            ErrorCode::SuspendFailed,
            ErrorCode::ResumeFailed,
        ],
    ),
    op(
        "updateBoostCharge",
        &[
            ErrorCode::DeviceNotFound,
            ErrorCode::ProviderUnavailable,
            ErrorCode::BoostCancelFailed,
            ErrorCode::BoostNotPossible,
            ErrorCode::BoostFailed,
        ],
    ),
    op(
        "triggerTestCharge",
        &[
            ErrorCode::DeviceNotFound,
            ErrorCode::ProviderUnavailable,
            ErrorCode::TestChargeFailed,
            ErrorCode::TestChargeNotReady,
        ],
    ),
    op(
        "deauthenticateFlexDevice",
        &[
            ErrorCode::DeviceNotFound,
            ErrorCode::DeauthenticationFailed,
            ErrorCode::DeauthenticationNotAllowed,
        ],
    ),
];

// ----------------------------------------------------------------------------------------------
// Inputs and payloads.
// ----------------------------------------------------------------------------------------------

#[derive(InputObject, Debug)]
pub struct SmartControlInput {
    pub device_id: ID,
    pub action: SmartControlAction,
}

#[derive(InputObject, Debug)]
pub struct UpdateBoostChargeInput {
    pub device_id: String,
    pub action: UpdateBoostChargeAction,
}

#[derive(InputObject, Debug)]
pub struct TriggerTestChargeInput {
    pub device_id: ID,
}

#[derive(InputObject, Debug)]
pub struct DeauthenticateFlexDeviceInput {
    pub device_id: String,
}

/// A device in short.
#[derive(SimpleObject, Debug, Clone)]
pub struct DeviceDetailsType {
    pub krakenflex_device_id: ID,
    pub provider: ProviderChoices,
    pub device_type: KrakenFlexDeviceTypes,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct PerformTestCharge {
    pub krakenflex_device: Option<DeviceDetailsType>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct DeauthenticateFlexDevice {
    pub krakenflex_device: Option<DeviceDetailsType>,
}

fn details(device: &Device) -> ApiResult<DeviceDetailsType> {
    Ok(DeviceDetailsType {
        krakenflex_device_id: ID(device.id.clone()),
        provider: provider_choice(device.provider)?,
        device_type: device
            .kind
            .kraken_device_type()
            .parse()
            .map_err(|_| internal("device type", &device.kind))?,
    })
}

/// The Kraken error of an action that did not happen.
pub(crate) fn device_error(err: DeviceError) -> KrakenError {
    let failure = |op: Operation| match op {
        Operation::Suspend => ErrorCode::SuspendFailed,
        Operation::Resume => ErrorCode::ResumeFailed,
        Operation::Boost => ErrorCode::BoostFailed,
        Operation::CancelBoost => ErrorCode::BoostCancelFailed,
        Operation::TestCharge => ErrorCode::TestChargeFailed,
        Operation::Deauthenticate => ErrorCode::DeauthenticationFailed,
        Operation::SetPreferences => ErrorCode::PreferencesFailed,
        Operation::SetGridExport => ErrorCode::GridExportFailed,
        Operation::SetChargingDurationCap => ErrorCode::ChargingDurationCapFailed,
    };
    let not_allowed = |op: Operation| match op {
        Operation::TestCharge => ErrorCode::TestChargeNotReady,
        Operation::Deauthenticate => ErrorCode::DeauthenticationNotAllowed,
        other => failure(other),
    };
    let described = |code: ErrorCode, err: &DeviceError| {
        KrakenError::with_message(code, format!("{} {err}", code.description()))
    };
    match &err {
        DeviceError::Unavailable(_) => {
            KrakenError::with_message(ErrorCode::ProviderUnavailable, err.to_string())
        }
        DeviceError::CannotBoost(_) => {
            KrakenError::with_message(ErrorCode::BoostNotPossible, err.to_string())
        }
        DeviceError::BoostRefused(reason) => {
            KrakenError::with_message(ErrorCode::BoostFailed, reason.message())
                .extension("boostChargeRefusalReasons", reason.as_str())
        }
        DeviceError::TestChargeRefused(reason) => {
            KrakenError::with_message(ErrorCode::TestChargeFailed, reason.message())
                .extension("testChargeRefusalReasons", reason.as_str())
        }
        DeviceError::NotAllowed(
            op @ (Operation::SetPreferences
            | Operation::SetGridExport
            | Operation::SetChargingDurationCap),
            message,
        ) if message == "The device is retired." => described(not_allowed(*op), &err),
        DeviceError::NotAllowed(op, message) if message.starts_with("Not now") => {
            described(not_allowed(*op), &err)
        }
        DeviceError::NotAllowed(op, message) => {
            KrakenError::with_message(not_allowed(*op), message.clone())
        }
        DeviceError::Provider(op, _) => described(failure(*op), &err),
        DeviceError::Conflict(Operation::Deauthenticate) => {
            described(ErrorCode::DeauthenticationNotAllowed, &err)
        }
        DeviceError::Conflict(op) => described(failure(*op), &err),
        DeviceError::Release(_) => described(ErrorCode::DeauthenticationFailed, &err),
        DeviceError::Gone => device_not_found(),
        DeviceError::Store(store) => internal("devices", store),
    }
}

#[derive(Default)]
pub struct ControlMutation;

#[Object]
impl ControlMutation {
    /// Suspends smart control of a device (it stops drawing power and is left alone until resumed),
    /// or resumes it.
    async fn update_device_smart_control(
        &self,
        ctx: &Context<'_>,
        input: SmartControlInput,
    ) -> ApiResult<Option<SmartFlexDeviceInterface>> {
        let (api, device) = device_for(ctx, &input.device_id).await?;
        let saved = match input.action {
            SmartControlAction::Suspend => api.devices.suspend(device).await,
            SmartControlAction::Unsuspend => api.devices.resume(device).await,
        }
        .map_err(device_error)?;
        tracing::info!(device = %saved.id, action = %input.action, state = %saved.state, "smart control updated");
        respond(api, saved).await.map(Some)
    }

    /// Starts charging a vehicle now, ignoring the smart schedule (BOOST), or stops a running boost
    /// (CANCEL). Only vehicles and chargers can boost.
    async fn update_boost_charge(
        &self,
        ctx: &Context<'_>,
        input: UpdateBoostChargeInput,
    ) -> ApiResult<Option<SmartFlexDeviceInterface>> {
        let (api, device) = device_for(ctx, &input.device_id).await?;
        let saved = match input.action {
            UpdateBoostChargeAction::Boost => api.devices.boost(device).await,
            UpdateBoostChargeAction::Cancel => api.devices.cancel_boost(device).await,
        }
        .map_err(device_error)?;
        tracing::info!(device = %saved.id, action = %input.action, state = %saved.state, "boost updated");
        respond(api, saved).await.map(Some)
    }

    /// Starts the short charge that proves a vehicle or charger can be controlled (onboarding).
    async fn trigger_test_charge(
        &self,
        ctx: &Context<'_>,
        input: TriggerTestChargeInput,
    ) -> ApiResult<PerformTestCharge> {
        let (api, device) = device_for(ctx, &input.device_id).await?;
        let saved = api
            .devices
            .test_charge(device)
            .await
            .map_err(device_error)?;
        tracing::info!(device = %saved.id, "test charge started");
        Ok(PerformTestCharge {
            krakenflex_device: Some(details(&saved)?),
        })
    }

    /// Retires a device: it is no longer controlled, its history stays, and `devices` still lists it
    /// as RETIRED. The vendor authorisation is given up when no other live device uses it.
    async fn deauthenticate_flex_device(
        &self,
        ctx: &Context<'_>,
        input: DeauthenticateFlexDeviceInput,
    ) -> ApiResult<DeauthenticateFlexDevice> {
        let (api, device) = device_for(ctx, &input.device_id).await?;
        let saved = api
            .devices
            .deauthenticate(device)
            .await
            .map_err(device_error)?;
        tracing::info!(device = %saved.id, "device de-authenticated");
        Ok(DeauthenticateFlexDevice {
            krakenflex_device: Some(details(&saved)?),
        })
    }
}
