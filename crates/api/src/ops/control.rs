//! Controlling a device: `updateDeviceSmartControl` (suspend and resume), `updateBoostCharge` (boost
//! and cancel), `triggerTestCharge` and `deauthenticateFlexDevice`.
//!
//! Every operation goes the same way: find the device the caller may see (KT-CT-4301 otherwise),
//! decide from its state and latest telemetry whether the request can be met (a refusal is the
//! operation's Kraken error), move the device's machines with the domain `transition` functions, send
//! the command through the device's provider, then save. The new state shows in `devices` at once.
//!
//! Boost refusals are checked in this order and reported as one string in
//! `extensions.boostChargeRefusalReasons`: BC_DEVICE_NOT_YET_LIVE (still onboarding),
//! BC_DEVICE_RETIRED, BC_DEVICE_SUSPENDED, BC_DEVICE_DISCONNECTED (unplugged, offline, or no reading
//! yet), BC_DEVICE_NOT_AT_HOME, BC_BOOST_CHARGE_IN_PROGRESS, BC_DEVICE_FULLY_CHARGED (at or above the
//! device's own charge limit, or 100 %). Test-charge refusals go the same way in
//! `extensions.testChargeRefusalReasons`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use resiflex_domain::device::{DeviceKind, DeviceState, DeviceTransitionError, Lifecycle};
use resiflex_domain::plan::DeviceEventKind;
use resiflex_providers::{Command, Connection, ProviderError, Telemetry};
use resiflex_store::StoreError;
use resiflex_store::devices::{self as store, Device};
use resiflex_store::sqlx::types::Json;

use super::devices::{
    ProviderLink, SmartFlexDeviceInterface, device_for, internal, machines, record_and_replan,
    respond, save_device, telemetry_of,
};
use super::{OperationErrors, protected_mutation as op};
use crate::context::ApiContext;
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
// The rules: pure functions of the device's machines and latest reading.
// ----------------------------------------------------------------------------------------------

/// The state a device under smart control settles in after a suspension or a boost ends: lost
/// connection when offline, not available when a vehicle is unplugged or away, capable otherwise
/// (also when there is no reading yet: the control loop corrects it with the next one).
pub(crate) fn settled_state(kind: DeviceKind, telemetry: Option<&Telemetry>) -> DeviceState {
    Telemetry::settled_state(telemetry, kind, false)
}

/// Why a boost cannot start, as clients compare it (`extensions.boostChargeRefusalReasons`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BoostRefusal {
    NotYetLive,
    Retired,
    Suspended,
    Disconnected,
    NotAtHome,
    InProgress,
    FullyCharged,
}

impl BoostRefusal {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            BoostRefusal::NotYetLive => "BC_DEVICE_NOT_YET_LIVE",
            BoostRefusal::Retired => "BC_DEVICE_RETIRED",
            BoostRefusal::Suspended => "BC_DEVICE_SUSPENDED",
            BoostRefusal::Disconnected => "BC_DEVICE_DISCONNECTED",
            BoostRefusal::NotAtHome => "BC_DEVICE_NOT_AT_HOME",
            BoostRefusal::InProgress => "BC_BOOST_CHARGE_IN_PROGRESS",
            BoostRefusal::FullyCharged => "BC_DEVICE_FULLY_CHARGED",
        }
    }

    const fn message(self) -> &'static str {
        match self {
            BoostRefusal::NotYetLive => "The device has not finished onboarding.",
            BoostRefusal::Retired => "The device has been retired.",
            BoostRefusal::Suspended => "Smart control of the device is suspended.",
            BoostRefusal::Disconnected => "The device is unplugged or not reachable.",
            BoostRefusal::NotAtHome => "The vehicle is not at home.",
            BoostRefusal::InProgress => "A boost charge is already in progress.",
            BoostRefusal::FullyCharged => "The battery is already charged to its limit.",
        }
    }
}

/// A state of charge at or above this far below the limit counts as full (readings are rounded).
const FULL_TOLERANCE_PCT: f64 = 0.05;

/// The first reason, in the documented order, why a vehicle or charger cannot boost now.
pub(crate) fn boost_refusal(
    lifecycle: Lifecycle,
    state: DeviceState,
    suspended: bool,
    telemetry: Option<&Telemetry>,
) -> Option<BoostRefusal> {
    match lifecycle {
        Lifecycle::Live => {}
        Lifecycle::Retired => return Some(BoostRefusal::Retired),
        _ => return Some(BoostRefusal::NotYetLive),
    }
    if suspended || state == DeviceState::SmartControlOff {
        return Some(BoostRefusal::Suspended);
    }
    let Some(t) = telemetry else {
        return Some(BoostRefusal::Disconnected);
    };
    if t.connection == Connection::Offline
        || t.plugged_in == Some(false)
        || state == DeviceState::LostConnection
    {
        return Some(BoostRefusal::Disconnected);
    }
    if t.at_home == Some(false) {
        return Some(BoostRefusal::NotAtHome);
    }
    if state == DeviceState::Boosting {
        return Some(BoostRefusal::InProgress);
    }
    let limit = t
        .soc_limit_pct
        .filter(|l| l.is_finite())
        .map_or(100.0, |l| l.min(100.0));
    if t.state_of_charge_pct
        .is_some_and(|soc| soc >= limit - FULL_TOLERANCE_PCT)
    {
        return Some(BoostRefusal::FullyCharged);
    }
    None
}

/// Why a test charge cannot start (`extensions.testChargeRefusalReasons`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TestChargeRefusal {
    Live,
    Retired,
    OnboardingInProgress,
    Suspended,
    Disconnected,
    AlreadyCharging,
    AwayFromHome,
    LocationMissing,
}

impl TestChargeRefusal {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            TestChargeRefusal::Live => "TC_DEVICE_LIVE",
            TestChargeRefusal::Retired => "TC_DEVICE_RETIRED",
            TestChargeRefusal::OnboardingInProgress => "TC_DEVICE_ONBOARDING_IN_PROGRESS",
            TestChargeRefusal::Suspended => "TC_DEVICE_SUSPENDED",
            TestChargeRefusal::Disconnected => "TC_DEVICE_DISCONNECTED",
            TestChargeRefusal::AlreadyCharging => "TC_DEVICE_ALREADY_CHARGING",
            TestChargeRefusal::AwayFromHome => "TC_DEVICE_AWAY_FROM_HOME",
            TestChargeRefusal::LocationMissing => "TC_DEVICE_LOCATION_MISSING",
        }
    }

    const fn message(self) -> &'static str {
        match self {
            TestChargeRefusal::Live => "The device is already live and needs no test charge.",
            TestChargeRefusal::Retired => "The device has been retired.",
            TestChargeRefusal::OnboardingInProgress => "A test charge is already running.",
            TestChargeRefusal::Suspended => "Smart control of the device is suspended.",
            TestChargeRefusal::Disconnected => "The device is unplugged or not reachable.",
            TestChargeRefusal::AlreadyCharging => "The device is already charging.",
            TestChargeRefusal::AwayFromHome => "The vehicle is not at home.",
            TestChargeRefusal::LocationMissing => "The vehicle has not reported where it is.",
        }
    }
}

/// The first reason why a test charge cannot start now. A device whose authorisation is not
/// complete is not refused here but is "not ready" (KT-CT-4362), see [`test_charge_ready`].
pub(crate) fn test_charge_refusal(
    kind: DeviceKind,
    lifecycle: Lifecycle,
    state: DeviceState,
    suspended: bool,
    telemetry: Option<&Telemetry>,
) -> Option<TestChargeRefusal> {
    match lifecycle {
        Lifecycle::Live | Lifecycle::PendingLive => return Some(TestChargeRefusal::Live),
        Lifecycle::Retired => return Some(TestChargeRefusal::Retired),
        Lifecycle::OnboardingTestInProgress => {
            return Some(TestChargeRefusal::OnboardingInProgress);
        }
        Lifecycle::Onboarding | Lifecycle::FailedOnboardingTest => {}
    }
    if suspended {
        return Some(TestChargeRefusal::Suspended);
    }
    if !test_charge_ready(state) {
        return None;
    }
    let Some(t) = telemetry else {
        return Some(TestChargeRefusal::Disconnected);
    };
    if t.connection == Connection::Offline || t.plugged_in == Some(false) {
        return Some(TestChargeRefusal::Disconnected);
    }
    if t.active {
        return Some(TestChargeRefusal::AlreadyCharging);
    }
    match (kind, t.at_home) {
        (_, Some(false)) => Some(TestChargeRefusal::AwayFromHome),
        (DeviceKind::ElectricVehicle, None) => Some(TestChargeRefusal::LocationMissing),
        _ => None,
    }
}

/// Whether the device's authorisation is complete, so a test charge may run.
pub(crate) fn test_charge_ready(state: DeviceState) -> bool {
    matches!(
        state,
        DeviceState::AuthenticationComplete
            | DeviceState::TestChargeNotAvailable
            | DeviceState::TestChargeFailed
    )
}

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

fn details(device: &Device, kind: DeviceKind) -> ApiResult<DeviceDetailsType> {
    Ok(DeviceDetailsType {
        krakenflex_device_id: ID(device.id.clone()),
        provider: device
            .provider
            .parse()
            .map_err(|_| internal("stored provider", &device.provider))?,
        device_type: kind
            .kraken_device_type()
            .parse()
            .map_err(|_| internal("device type", &kind))?,
    })
}

/// A refused change of state as the operation's error.
fn refused_transition(code: ErrorCode, err: &DeviceTransitionError) -> KrakenError {
    KrakenError::with_message(code, format!("{} Not now: {err}.", code.description()))
}

/// Moves the stored device to `to`, through the domain machine.
fn set_state(device: &mut Device, to: DeviceState, failure: ErrorCode) -> ApiResult<()> {
    let (_, _, state) = machines(device)?;
    let next = state
        .transition(to)
        .map_err(|err| refused_transition(failure, &err))?;
    device.state = next.as_str().to_owned();
    Ok(())
}

fn set_lifecycle(device: &mut Device, to: Lifecycle, failure: ErrorCode) -> ApiResult<()> {
    let (_, lifecycle, _) = machines(device)?;
    if lifecycle != to {
        let next = lifecycle
            .transition(to)
            .map_err(|err| refused_transition(failure, &err))?;
        device.lifecycle = next.as_str().to_owned();
    }
    Ok(())
}

// ----------------------------------------------------------------------------------------------
// The operations.
// ----------------------------------------------------------------------------------------------

async fn suspend(api: &ApiContext, device: Device) -> ApiResult<Device> {
    let failure = ErrorCode::SuspendFailed;
    let (_, _, state) = machines(&device)?;
    if device.is_suspended && state == DeviceState::SmartControlOff {
        return Ok(device);
    }
    // Check before sending anything.
    state
        .transition(DeviceState::SmartControlOff)
        .map_err(|err| refused_transition(failure, &err))?;
    let link = ProviderLink::of(api, &device).await?;
    link.send(api, &device, &Command::Stop, failure).await?;
    save_device(api, device, failure, |d| {
        set_state(d, DeviceState::SmartControlOff, failure)?;
        d.is_suspended = true;
        Ok(())
    })
    .await
}

async fn resume(api: &ApiContext, device: Device) -> ApiResult<Device> {
    let failure = ErrorCode::ResumeFailed;
    let (kind, lifecycle, state) = machines(&device)?;
    if lifecycle == Lifecycle::Retired {
        return Err(KrakenError::with_message(
            failure,
            format!("{} The device has been retired.", failure.description()),
        ));
    }
    if !device.is_suspended && state != DeviceState::SmartControlOff {
        return Ok(device);
    }
    let telemetry = telemetry_of(api, &device).await?;
    let to = settled_state(kind, telemetry.as_ref());
    save_device(api, device, failure, |d| {
        set_state(d, to, failure)?;
        d.is_suspended = false;
        Ok(())
    })
    .await
}

async fn boost(api: &ApiContext, device: Device) -> ApiResult<Device> {
    let failure = ErrorCode::BoostFailed;
    let (_, lifecycle, state) = machines(&device)?;
    let telemetry = telemetry_of(api, &device).await?;
    if let Some(reason) = boost_refusal(lifecycle, state, device.is_suspended, telemetry.as_ref()) {
        return Err(KrakenError::with_message(failure, reason.message())
            .extension("boostChargeRefusalReasons", reason.as_str()));
    }
    state
        .transition(DeviceState::Boosting)
        .map_err(|err| refused_transition(failure, &err))?;
    let link = ProviderLink::of(api, &device).await?;
    link.send(
        api,
        &device,
        &Command::Start {
            power_limit_w: None,
        },
        failure,
    )
    .await?;
    save_device(api, device, failure, |d| {
        set_state(d, DeviceState::Boosting, failure)
    })
    .await
}

async fn cancel_boost(api: &ApiContext, device: Device) -> ApiResult<Device> {
    let failure = ErrorCode::BoostCancelFailed;
    let (kind, _, state) = machines(&device)?;
    if state != DeviceState::Boosting {
        return Err(KrakenError::with_message(
            failure,
            "The device is not boosting, so there is no boost charge to cancel.",
        ));
    }
    let link = ProviderLink::of(api, &device).await?;
    link.send(api, &device, &Command::Stop, failure).await?;
    let telemetry = telemetry_of(api, &device).await?;
    let to = settled_state(kind, telemetry.as_ref());
    save_device(api, device, failure, |d| {
        let (_, _, now) = machines(d)?;
        if now != DeviceState::Boosting {
            // Someone else ended the boost meanwhile; it is over either way.
            return Ok(());
        }
        set_state(d, to, failure)
    })
    .await
}

async fn test_charge(api: &ApiContext, device: Device) -> ApiResult<Device> {
    let failure = ErrorCode::TestChargeFailed;
    let not_ready = ErrorCode::TestChargeNotReady;
    let (kind, lifecycle, state) = machines(&device)?;
    if !kind.needs_test_charge() {
        return Err(KrakenError::with_message(
            not_ready,
            format!("A {kind} device needs no test charge."),
        ));
    }
    let telemetry = telemetry_of(api, &device).await?;
    if let Some(reason) = test_charge_refusal(
        kind,
        lifecycle,
        state,
        device.is_suspended,
        telemetry.as_ref(),
    ) {
        return Err(KrakenError::with_message(failure, reason.message())
            .extension("testChargeRefusalReasons", reason.as_str()));
    }
    if !test_charge_ready(state) {
        return Err(KrakenError::with_message(
            not_ready,
            "The device's authorisation is not complete yet.",
        ));
    }
    lifecycle
        .transition(Lifecycle::OnboardingTestInProgress)
        .map_err(|err| refused_transition(not_ready, &err))?;
    state
        .transition(DeviceState::TestChargeInProgress)
        .map_err(|err| refused_transition(not_ready, &err))?;
    let link = ProviderLink::of(api, &device).await?;
    let receipt = link
        .send(api, &device, &Command::TestCharge, failure)
        .await?;
    let record = serde_json::json!({
        "startedAt": receipt.accepted_at,
        "commandId": receipt.command_id,
        "meterAtStartWh": telemetry.as_ref().map(|t| t.energy_imported_wh),
    });
    save_device(api, device, failure, |d| {
        set_lifecycle(d, Lifecycle::OnboardingTestInProgress, not_ready)?;
        set_state(d, DeviceState::TestChargeInProgress, not_ready)?;
        d.test_charge = Some(Json(record.clone()));
        Ok(())
    })
    .await
}

/// Gives up the vendor grant behind a device when no other live device uses it.
async fn release_grant(api: &ApiContext, device: &Device) -> ApiResult<()> {
    let failure = ErrorCode::DeauthenticationFailed;
    let Some(grant_id) = device.grant_id else {
        return Ok(());
    };
    let grant = store::grant_by_id(&api.db, grant_id)
        .await
        .map_err(|err| internal("grant", &err))?;
    let Some(grant) = grant.filter(|g| g.revoked_at.is_none()) else {
        return Ok(());
    };
    let shared = store::devices_of_account(&api.db, grant.account_id)
        .await
        .map_err(|err| internal("devices of the grant", &err))?
        .into_iter()
        .any(|other| {
            other.id != device.id
                && other.grant_id == Some(grant_id)
                && other.lifecycle != Lifecycle::Retired.as_str()
        });
    if shared {
        return Ok(());
    }
    let provider = api.providers.get(&device.provider).ok_or_else(|| {
        KrakenError::with_message(
            failure,
            format!(
                "{} The device's provider is not available.",
                failure.description()
            ),
        )
    })?;
    let now = api.clock.now();
    let credentials = resiflex_providers::Grant {
        subject: grant.subject.clone(),
        secret: grant.secret.clone(),
    };
    match provider.deauthorize(&credentials, now).await {
        // A grant the vendor no longer honours is as good as given up.
        Ok(()) | Err(ProviderError::AuthorisationExpired) => {}
        Err(err) => {
            return Err(KrakenError::with_message(
                failure,
                format!(
                    "{} The device's provider answered: {err}.",
                    failure.description()
                ),
            ));
        }
    }
    match store::revoke_grant(&api.db, grant_id, now).await {
        Ok(()) | Err(StoreError::NotFound) => Ok(()),
        Err(err) => Err(internal("revoking a grant", &err)),
    }
}

async fn deauthenticate(api: &ApiContext, device: Device) -> ApiResult<Device> {
    let not_allowed = ErrorCode::DeauthenticationNotAllowed;
    let (_, lifecycle, state) = machines(&device)?;
    if lifecycle == Lifecycle::Retired {
        return Err(KrakenError::with_message(
            not_allowed,
            "The device has already been de-authenticated.",
        ));
    }
    lifecycle
        .transition(Lifecycle::Retired)
        .map_err(|err| refused_transition(not_allowed, &err))?;
    state
        .transition(DeviceState::Retired)
        .map_err(|err| refused_transition(not_allowed, &err))?;
    if matches!(
        state,
        DeviceState::Boosting
            | DeviceState::SmartControlInProgress
            | DeviceState::TestChargeInProgress
    ) {
        // Whatever we started should not outlive our control. Best effort: the device is retired
        // whether or not it answers.
        let stopped = match ProviderLink::of(api, &device).await {
            Ok(link) => link
                .send(api, &device, &Command::Stop, not_allowed)
                .await
                .map(|_| ()),
            Err(err) => Err(err),
        };
        if let Err(err) = stopped {
            tracing::warn!(device = %device.id, error = %err.message, "could not stop the device before retiring it");
        }
    }
    release_grant(api, &device).await?;
    let now = api.clock.now();
    save_device(api, device, not_allowed, |d| {
        set_lifecycle(d, Lifecycle::Retired, not_allowed)?;
        set_state(d, DeviceState::Retired, not_allowed)?;
        d.retired_at = Some(now);
        Ok(())
    })
    .await
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
        let (saved, event) = match input.action {
            SmartControlAction::Suspend => {
                (suspend(api, device).await?, DeviceEventKind::Suspended)
            }
            SmartControlAction::Unsuspend => {
                (resume(api, device).await?, DeviceEventKind::Unsuspended)
            }
        };
        record_and_replan(api, &saved.id, event, serde_json::json!({})).await;
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
        let (kind, _, _) = machines(&device)?;
        if !kind.charges_vehicle() {
            return Err(KrakenError::with_message(
                ErrorCode::BoostNotPossible,
                format!("A {kind} device cannot boost charge; only vehicles and chargers can."),
            ));
        }
        let (saved, event) = match input.action {
            UpdateBoostChargeAction::Boost => {
                (boost(api, device).await?, DeviceEventKind::BoostStarted)
            }
            UpdateBoostChargeAction::Cancel => (
                cancel_boost(api, device).await?,
                DeviceEventKind::BoostCancelled,
            ),
        };
        record_and_replan(api, &saved.id, event, serde_json::json!({})).await;
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
        let saved = test_charge(api, device).await?;
        record_and_replan(
            api,
            &saved.id,
            DeviceEventKind::TestChargeStarted,
            serde_json::json!({}),
        )
        .await;
        let (kind, _, _) = machines(&saved)?;
        tracing::info!(device = %saved.id, "test charge started");
        Ok(PerformTestCharge {
            krakenflex_device: Some(details(&saved, kind)?),
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
        let saved = deauthenticate(api, device).await?;
        record_and_replan(
            api,
            &saved.id,
            DeviceEventKind::Deauthenticated,
            serde_json::json!({}),
        )
        .await;
        let (kind, _, _) = machines(&saved)?;
        tracing::info!(device = %saved.id, "device de-authenticated");
        Ok(DeauthenticateFlexDevice {
            krakenflex_device: Some(details(&saved, kind)?),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use chrono::{TimeZone, Utc};

    use super::*;

    fn reading() -> Telemetry {
        Telemetry {
            at: Utc.with_ymd_and_hms(2026, 1, 1, 22, 0, 0).unwrap(),
            connection: Connection::Online,
            state_of_charge_pct: Some(50.0),
            soc_limit_pct: Some(90.0),
            power_w: 0,
            energy_imported_wh: 1_000,
            energy_exported_wh: 0,
            plugged_in: Some(true),
            at_home: Some(true),
            indoor_temperature_c: None,
            outdoor_temperature_c: None,
            target_temperature_c: None,
            solar_power_w: None,
            site_consumption_w: None,
            active: false,
        }
    }

    fn boost(
        lifecycle: Lifecycle,
        state: DeviceState,
        suspended: bool,
        t: Option<Telemetry>,
    ) -> Option<&'static str> {
        boost_refusal(lifecycle, state, suspended, t.as_ref()).map(BoostRefusal::as_str)
    }

    #[test]
    fn a_plugged_in_vehicle_at_home_below_its_limit_may_boost() {
        let capable = DeviceState::SmartControlCapable;
        assert_eq!(
            boost(Lifecycle::Live, capable, false, Some(reading())),
            None
        );
        assert_eq!(
            boost(
                Lifecycle::Live,
                DeviceState::SmartControlInProgress,
                false,
                Some(reading())
            ),
            None
        );
    }

    #[test]
    fn boost_refusals_come_in_the_documented_order() {
        use DeviceState::*;
        let mut everything_wrong = reading();
        everything_wrong.plugged_in = Some(false);
        everything_wrong.at_home = Some(false);
        everything_wrong.state_of_charge_pct = Some(100.0);
        let cases = [
            (
                Lifecycle::Onboarding,
                AuthenticationComplete,
                true,
                "BC_DEVICE_NOT_YET_LIVE",
            ),
            (
                Lifecycle::PendingLive,
                SetupComplete,
                true,
                "BC_DEVICE_NOT_YET_LIVE",
            ),
            (Lifecycle::Retired, Retired, true, "BC_DEVICE_RETIRED"),
            (
                Lifecycle::Live,
                SmartControlOff,
                true,
                "BC_DEVICE_SUSPENDED",
            ),
            (Lifecycle::Live, Boosting, false, "BC_DEVICE_DISCONNECTED"),
        ];
        for (lifecycle, state, suspended, expected) in cases {
            assert_eq!(
                boost(lifecycle, state, suspended, Some(everything_wrong.clone())),
                Some(expected),
                "{lifecycle} {state}"
            );
        }
        let mut t = everything_wrong.clone();
        t.plugged_in = Some(true);
        assert_eq!(
            boost(Lifecycle::Live, Boosting, false, Some(t.clone())),
            Some("BC_DEVICE_NOT_AT_HOME")
        );
        t.at_home = Some(true);
        assert_eq!(
            boost(Lifecycle::Live, Boosting, false, Some(t.clone())),
            Some("BC_BOOST_CHARGE_IN_PROGRESS")
        );
        assert_eq!(
            boost(Lifecycle::Live, SmartControlCapable, false, Some(t)),
            Some("BC_DEVICE_FULLY_CHARGED")
        );
    }

    #[test]
    fn disconnection_covers_offline_unplugged_lost_and_unknown() {
        let live = Lifecycle::Live;
        let capable = DeviceState::SmartControlCapable;
        assert_eq!(
            boost(live, capable, false, None),
            Some("BC_DEVICE_DISCONNECTED")
        );
        let mut offline = reading();
        offline.connection = Connection::Offline;
        assert_eq!(
            boost(live, capable, false, Some(offline)),
            Some("BC_DEVICE_DISCONNECTED")
        );
        assert_eq!(
            boost(live, DeviceState::LostConnection, false, Some(reading())),
            Some("BC_DEVICE_DISCONNECTED")
        );
        // A flag alone (state not yet SMART_CONTROL_OFF) counts as suspended too.
        assert_eq!(
            boost(live, capable, true, Some(reading())),
            Some("BC_DEVICE_SUSPENDED")
        );
    }

    #[test]
    fn full_means_at_the_devices_own_limit_or_at_100() {
        let live = Lifecycle::Live;
        let capable = DeviceState::SmartControlCapable;
        let with = |soc: f64, limit: Option<f64>| {
            let mut t = reading();
            t.state_of_charge_pct = Some(soc);
            t.soc_limit_pct = limit;
            boost(live, capable, false, Some(t))
        };
        assert_eq!(with(90.0, Some(90.0)), Some("BC_DEVICE_FULLY_CHARGED"));
        assert_eq!(with(89.99, Some(90.0)), Some("BC_DEVICE_FULLY_CHARGED"));
        assert_eq!(with(89.0, Some(90.0)), None);
        assert_eq!(with(100.0, None), Some("BC_DEVICE_FULLY_CHARGED"));
        assert_eq!(with(99.0, None), None);
        assert_eq!(with(100.0, Some(120.0)), Some("BC_DEVICE_FULLY_CHARGED"));
    }

    #[test]
    fn settled_state_follows_plug_home_and_connection() {
        let ev = DeviceKind::ElectricVehicle;
        assert_eq!(
            settled_state(ev, Some(&reading())),
            DeviceState::SmartControlCapable
        );
        assert_eq!(settled_state(ev, None), DeviceState::SmartControlCapable);
        let mut unplugged = reading();
        unplugged.plugged_in = Some(false);
        assert_eq!(
            settled_state(ev, Some(&unplugged)),
            DeviceState::SmartControlNotAvailable
        );
        let mut away = reading();
        away.at_home = Some(false);
        assert_eq!(
            settled_state(ev, Some(&away)),
            DeviceState::SmartControlNotAvailable
        );
        // Only vehicles and chargers depend on being plugged in.
        assert_eq!(
            settled_state(DeviceKind::HeatPump, Some(&unplugged)),
            DeviceState::SmartControlCapable
        );
        let mut offline = reading();
        offline.connection = Connection::Offline;
        assert_eq!(
            settled_state(ev, Some(&offline)),
            DeviceState::LostConnection
        );
    }

    #[test]
    fn test_charge_refusals_come_in_order() {
        use DeviceState::*;
        let ev = DeviceKind::ElectricVehicle;
        let refusal = |lifecycle, state, suspended, t: Option<Telemetry>| {
            test_charge_refusal(ev, lifecycle, state, suspended, t.as_ref())
                .map(TestChargeRefusal::as_str)
        };
        let ready = AuthenticationComplete;
        assert_eq!(
            refusal(Lifecycle::Onboarding, ready, false, Some(reading())),
            None
        );
        assert_eq!(
            refusal(
                Lifecycle::FailedOnboardingTest,
                TestChargeFailed,
                false,
                Some(reading())
            ),
            None
        );
        assert_eq!(
            refusal(Lifecycle::Live, SmartControlCapable, true, None),
            Some("TC_DEVICE_LIVE")
        );
        assert_eq!(
            refusal(Lifecycle::Retired, Retired, true, None),
            Some("TC_DEVICE_RETIRED")
        );
        assert_eq!(
            refusal(
                Lifecycle::OnboardingTestInProgress,
                TestChargeInProgress,
                true,
                None
            ),
            Some("TC_DEVICE_ONBOARDING_IN_PROGRESS")
        );
        assert_eq!(
            refusal(Lifecycle::Onboarding, ready, true, None),
            Some("TC_DEVICE_SUSPENDED")
        );
        // Not yet authorised: not a refusal but "not ready" (checked by the caller).
        assert_eq!(
            refusal(Lifecycle::Onboarding, AuthenticationPending, false, None),
            None
        );
        assert!(!test_charge_ready(AuthenticationPending));
        assert_eq!(
            refusal(Lifecycle::Onboarding, ready, false, None),
            Some("TC_DEVICE_DISCONNECTED")
        );
        let mut charging = reading();
        charging.active = true;
        assert_eq!(
            refusal(Lifecycle::Onboarding, ready, false, Some(charging)),
            Some("TC_DEVICE_ALREADY_CHARGING")
        );
        let mut away = reading();
        away.at_home = Some(false);
        away.plugged_in = None;
        assert_eq!(
            refusal(Lifecycle::Onboarding, ready, false, Some(away)),
            Some("TC_DEVICE_AWAY_FROM_HOME")
        );
        let mut unknown = reading();
        unknown.at_home = None;
        assert_eq!(
            refusal(Lifecycle::Onboarding, ready, false, Some(unknown.clone())),
            Some("TC_DEVICE_LOCATION_MISSING")
        );
        // Chargers do not report where they are: they are at home.
        assert_eq!(
            test_charge_refusal(
                DeviceKind::ChargePoint,
                Lifecycle::Onboarding,
                ready,
                false,
                Some(&unknown)
            ),
            None
        );
    }
}
