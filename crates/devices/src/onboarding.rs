//! The onboarding journey: the steps of the wizard that talk to the outside world, around the pure
//! state machine [`resiflex_domain::wizard::Wizard`]. The API's wizard operations load a journey,
//! call these, and map their answers; every read re-evaluates the steps that wait for the outside
//! world ([`advance`]: the test charge's outcome, a charger's connection, the registration), so a
//! journey interrupted by a restart carries on when it is next fetched. What the vendor requires
//! before the device can be controlled is asked and confirmed in [`crate::requirements`].
//!
//! A vendor device belongs to one account: a device registered on another account is refused
//! ([`OnboardingError::DeviceTaken`]) until it is de-authenticated there, and the database's unique
//! index settles two onboardings at the same moment.

use chrono::{DateTime, Duration, Utc};
use resiflex_domain::catalogue::Catalogue;
use resiflex_domain::device::{DeviceState, Lifecycle, Provider};
use resiflex_domain::telemetry::Telemetry;
use resiflex_domain::wizard::{
    FoundDevice, StepKind, TestOutcome, TestProgress, Wizard, WizardStatus,
};
use resiflex_providers::ProviderError;
use resiflex_store::StoreError;
use resiflex_store::devices::{self as store, Device};
use resiflex_store::wizards::WizardRow;

use crate::registration::{self, NewDevice};
use crate::rules::{self, TestChargeRefusal};
use crate::{Devices, grants};

/// The answer of an onboarding step.
pub type Outcome<T> = Result<T, OnboardingError>;

/// Why an onboarding step did not go ahead.
#[derive(Debug, thiserror::Error)]
pub enum OnboardingError {
    /// Someone else saved the wizard meanwhile.
    #[error("the wizard was changed at the same time")]
    ConcurrentUpdate,
    /// The step's input does not fit.
    #[error("{0}")]
    StepParameters(String),
    /// The step is not the wizard's current one.
    #[error("this step is not the current one")]
    StepNotFound,
    /// The vendor did not answer; the customer may try again.
    #[error("the vendor did not answer; try again later")]
    RetryLater,
    #[error("the device's provider is not available")]
    ProviderUnavailable,
    /// The vendor does not confirm what the step asked the customer to do.
    #[error("{0}")]
    NotConfirmed(String),
    /// The device cannot take a test charge now (see [`rules::reading_refusal`]).
    #[error("{message}")]
    NotReady {
        reason: Option<TestChargeRefusal>,
        message: String,
    },
    /// The vendor device is registered on another account.
    #[error(
        "This device is already connected to an account. It can be connected here once it has been disconnected there (deauthenticateFlexDevice)."
    )]
    DeviceTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// How long a test charge may take before it counts as failed.
const TEST_CHARGE_TIMEOUT_MINUTES: i64 = 10;

fn internal(err: impl std::fmt::Display) -> OnboardingError {
    OnboardingError::Internal(err.to_string())
}

fn catalogue() -> Outcome<&'static Catalogue> {
    Catalogue::get().map_err(internal)
}

/// An onboarding journey as loaded: the stored row and the wizard's state.
#[derive(Debug, Clone)]
pub struct Journey {
    pub row: WizardRow,
    pub wizard: Wizard,
}

impl Journey {
    /// The journey of a stored wizard.
    pub fn of(row: WizardRow) -> Journey {
        let wizard = row.state.clone();
        Journey { row, wizard }
    }

    /// Saves the wizard; someone else's update in between is [`OnboardingError::ConcurrentUpdate`].
    pub async fn save(mut self, devices: &Devices) -> Outcome<Journey> {
        self.wizard.refresh_completed(catalogue()?);
        self.row.state = self.wizard.clone();
        self.row.updated_at = devices.clock.now();
        match resiflex_store::wizards::update_wizard(&devices.db, &self.row).await {
            Ok(row) => Ok(Journey {
                row,
                wizard: self.wizard,
            }),
            Err(StoreError::Conflict) => Err(OnboardingError::ConcurrentUpdate),
            Err(err) => Err(internal(err)),
        }
    }
}

fn provider(
    devices: &Devices,
    name: Provider,
) -> Outcome<std::sync::Arc<dyn resiflex_providers::DeviceProvider>> {
    devices
        .providers
        .get(name)
        .ok_or(OnboardingError::ProviderUnavailable)
}

/// Stores the grant the vendor gave for the journey's account (its secret sealed by the store).
async fn keep_grant(
    devices: &Devices,
    journey: &Journey,
    provider: Provider,
    granted: &resiflex_providers::Grant,
) -> Outcome<store::ProviderGrant> {
    Ok(store::insert_grant(
        &devices.db,
        journey.row.account_id,
        provider,
        &granted.subject,
        &granted.secret,
        devices.clock.now(),
    )
    .await?)
}

/// Picks the provider for the chosen device: the first of the catalogue's integrations this server has.
pub fn choose_provider(devices: &Devices, wizard: &mut Wizard, catalogue: &Catalogue) {
    if wizard.provider.is_none()
        && let Some(entry) = wizard.integrated_entry(catalogue)
    {
        wizard.provider = entry
            .providers()
            .iter()
            .find(|p| devices.providers.get(**p).is_some())
            .copied();
    }
}

async fn read_telemetry(devices: &Devices, device: &Device) -> Outcome<Option<Telemetry>> {
    Ok(
        crate::telemetry::read_now(&devices.db, &devices.providers, device, devices.clock.now())
            .await?,
    )
}

/// Moves a device along its machines; a refused transition is an internal inconsistency.
fn transition(
    device: &mut Device,
    lifecycle: Lifecycle,
    state: DeviceState,
    now: DateTime<Utc>,
) -> Outcome<()> {
    registration::transition(device, lifecycle, state, now).map_err(internal)
}

/// The device as the vendor listed it.
fn found_device(d: &resiflex_providers::RemoteDevice) -> FoundDevice {
    FoundDevice {
        remote_id: d.remote_id.clone(),
        kind: d.kind,
        make: d.make.clone(),
        model: d.model.clone(),
        vin: d.vin.clone(),
    }
}

/// Checks that the vendor device `remote_id` of `provider` is free for the wizard's account: no
/// registration (not retired) of it exists but the wizard's own. A registration of the same
/// account that never went live (an abandoned onboarding) is retired, so the new one replaces it;
/// any other is refused (KT-CT-4375). The database holds the same rule (one registration per
/// vendor device), so two onboardings at the same moment cannot both win.
async fn ensure_free(
    devices: &Devices,
    journey: &Journey,
    provider: Provider,
    remote_id: &str,
) -> Outcome<()> {
    let Some(mut existing) = store::live_device_by_integration_id(&devices.db, provider, remote_id)
        .await
        .map_err(internal)?
    else {
        return Ok(());
    };
    if journey.wizard.device_id.as_deref() == Some(existing.id.as_str()) {
        return Ok(());
    }
    let abandoned = existing.account_id == journey.row.account_id
        && !matches!(existing.lifecycle, Lifecycle::Live | Lifecycle::PendingLive);
    if !abandoned {
        return Err(OnboardingError::DeviceTaken);
    }
    retire_unfinished(devices, &mut existing).await
}

/// Retires a registration that never went live (an abandoned or cancelled onboarding).
pub async fn retire_unfinished(devices: &Devices, device: &mut Device) -> Outcome<()> {
    let now = devices.clock.now();
    transition(device, Lifecycle::Retired, DeviceState::Retired, now)?;
    device.retired_at = Some(now);
    match store::update_device(&devices.db, device).await {
        Ok(_) => Ok(()),
        Err(StoreError::Conflict) => Err(OnboardingError::ConcurrentUpdate),
        Err(err) => Err(internal(err)),
    }
}

/// Checks the device the wizard has chosen so far, if it has one.
pub async fn ensure_chosen_free(devices: &Devices, journey: &Journey) -> Outcome<()> {
    let catalogue = catalogue()?;
    if journey.wizard.reauthenticate_device.is_some() {
        return Ok(());
    }
    let (Some(found), Some(provider)) = (
        journey.wizard.chosen_device(catalogue),
        journey.wizard.provider,
    ) else {
        return Ok(());
    };
    ensure_free(devices, journey, provider, &found.remote_id).await
}

/// After the device turned out to be taken while registering: the wizard goes back to the
/// authorisation, which shows why, so the customer can try again once the device is free.
pub fn rewind_taken(wizard: &mut Wizard) {
    wizard.grant_id = None;
    wizard.found_devices.clear();
    wizard.answers.remove(&StepKind::SelectSessionDevice);
    wizard.answers.remove(&StepKind::SelectUserVehicle);
    wizard.forget_requirements();
    wizard.user_inputs.clear();
    wizard.test = None;
    wizard.device_id = None;
    wizard.auth_error = Some(
        "This device is already connected to an account; disconnect it there first.".to_owned(),
    );
}

/// Creates the device record for the wizard's chosen remote device (once).
pub async fn ensure_device(devices: &Devices, journey: &mut Journey) -> Outcome<Device> {
    let catalogue = catalogue()?;
    if let Some(id) = &journey.wizard.device_id
        && let Some(device) = store::device_by_id(&devices.db, id)
            .await
            .map_err(internal)?
        && device.lifecycle != Lifecycle::Retired
    {
        return Ok(device);
    }
    journey.wizard.device_id = None;
    let found = journey
        .wizard
        .chosen_device(catalogue)
        .cloned()
        .ok_or_else(|| {
            OnboardingError::StepParameters("The wizard has not chosen a device yet.".to_owned())
        })?;
    let provider = journey
        .wizard
        .provider
        .ok_or_else(|| internal("no provider"))?;
    ensure_free(devices, journey, provider, &found.remote_id).await?;
    let device = registration::device_record(
        catalogue,
        NewDevice {
            account_id: journey.row.account_id,
            property_id: journey.row.property_id,
            provider,
            grant_id: journey.wizard.grant_id,
            found: &found,
            entry: journey.wizard.integrated_entry(catalogue),
            vin: journey.wizard.user_inputs.get("vin").cloned(),
        },
        devices.clock.now(),
    );
    match store::insert_device(&devices.db, &device).await {
        Ok(()) => {}
        // Another onboarding registered the device at the same moment.
        Err(StoreError::Conflict) => return Err(OnboardingError::DeviceTaken),
        Err(err) => return Err(internal(err)),
    }
    journey.wizard.device_id = Some(device.id.clone());
    Ok(device)
}

/// What the charger the customer chose is rated for, from its catalogue entry.
fn charger_rating(wizard: &Wizard) -> Outcome<Option<resiflex_providers::Rating>> {
    let catalogue = catalogue()?;
    Ok(wizard
        .integrated_entry(catalogue)
        .and_then(|entry| catalogue.charge_point(entry.id()))
        .map(|c| resiflex_providers::Rating::of_charger(c.power().w, f64::from(c.amperage))))
}

/// The `OcppConnectionDetails` step: issues the charger's connection details (once per provider),
/// then checks whether the charger has connected and been accepted; if so, the wizard gets the
/// grant and the device found behind it. Returns whether the step is complete.
pub async fn enrol(devices: &Devices, journey: &mut Journey) -> Outcome<bool> {
    let Some(name) = journey.wizard.provider else {
        return Ok(false);
    };
    let provider = provider(devices, name)?;
    let Some(enrolment) = provider.enrolment() else {
        return Ok(false);
    };
    let now = devices.clock.now();
    let key = format!("{}:{name}", journey.row.id);
    if journey.wizard.enrolment.as_ref().map(|e| &e.key) != Some(&key) {
        let details = match enrolment.enrol(&key, now).await {
            Ok(details) => details,
            Err(err) => {
                tracing::warn!(provider = %name, error = %err, "enrolling a charger failed");
                return Ok(false);
            }
        };
        if let Some(rating) = charger_rating(&journey.wizard)?
            && let Err(err) = enrolment.rate(&key, rating).await
        {
            tracing::warn!(provider = %name, error = %err, "recording a charger's rating failed");
        }
        journey.wizard.enrolment = Some(resiflex_domain::wizard::Enrolment {
            provider: name,
            key: key.clone(),
            websocket_url: details.websocket_url,
            device_id: details.device_id,
            password: details.password,
        });
    }
    let Ok(Some(granted)) = enrolment.connected(&key, now).await else {
        return Ok(false);
    };
    let remote = match provider.devices(&granted, now).await {
        Ok(remote) if !remote.is_empty() => remote,
        _ => return Ok(false),
    };
    // One charge point identity, one account.
    for device in &remote {
        ensure_free(devices, journey, name, &device.remote_id).await?;
    }
    let stored = keep_grant(devices, journey, name, &granted).await?;
    journey.wizard.grant_id = Some(stored.id);
    journey.wizard.found_devices = remote.iter().map(found_device).collect();
    if let Some(enrolment) = journey.wizard.enrolment.as_mut() {
        enrolment.password = None;
    }
    Ok(true)
}

/// Re-evaluates the steps that wait for the outside world, then saves if anything changed.
pub async fn advance(devices: &Devices, mut journey: Journey) -> Outcome<Journey> {
    let catalogue = catalogue()?;
    let before = journey.wizard.clone();
    choose_provider(devices, &mut journey.wizard, catalogue);
    let now = devices.clock.now();
    for _ in 0..4 {
        match journey.wizard.current(catalogue) {
            Some(StepKind::WaitForTransition) => {
                let Some(test) = journey.wizard.test.clone() else {
                    if journey.wizard.requirements.is_none()
                        && crate::requirements::check(devices, &mut journey).await?
                    {
                        continue;
                    }
                    break;
                };
                let mut device = ensure_device(devices, &mut journey).await?;
                let reading = read_telemetry(devices, &device).await?;
                let charged = reading
                    .as_ref()
                    .is_some_and(|t| t.energy_imported_wh > test.meter_at_start_wh);
                let outcome = if charged {
                    Some(TestOutcome::Passed)
                } else if now - test.started_at >= Duration::minutes(TEST_CHARGE_TIMEOUT_MINUTES) {
                    Some(TestOutcome::Failed {
                        reason: "No charging was seen during the test charge.".to_owned(),
                    })
                } else {
                    None
                };
                let Some(outcome) = outcome else { break };
                match &outcome {
                    TestOutcome::Passed => transition(
                        &mut device,
                        Lifecycle::PendingLive,
                        DeviceState::SetupComplete,
                        now,
                    )?,
                    TestOutcome::Failed { .. } => transition(
                        &mut device,
                        Lifecycle::FailedOnboardingTest,
                        DeviceState::TestChargeFailed,
                        now,
                    )?,
                }
                store::update_device(&devices.db, &device)
                    .await
                    .map_err(internal)?;
                if let Some(test) = journey.wizard.test.as_mut() {
                    test.outcome = Some(outcome);
                }
            }
            Some(StepKind::OcppConnectionDetails) => {
                if !enrol(devices, &mut journey).await? {
                    break;
                }
            }
            Some(StepKind::WaitForLiveIntegration) => {
                if !crate::requirements::poll_activation(devices, &mut journey).await? {
                    break;
                }
            }
            Some(StepKind::SmartFlexOnboardingDeviceRegistration)
                if journey.wizard.reauthenticate_device.is_some() =>
            {
                let (Some(device_id), Some(grant_id)) = (
                    journey.wizard.reauthenticate_device.clone(),
                    journey.wizard.grant_id,
                ) else {
                    break;
                };
                reauthenticated(devices, &mut journey, &device_id, grant_id).await?;
            }
            Some(StepKind::SmartFlexOnboardingDeviceRegistration) => {
                let mut device = match ensure_device(devices, &mut journey).await {
                    Ok(device) => device,
                    Err(OnboardingError::DeviceTaken) => {
                        rewind_taken(&mut journey.wizard);
                        journey.save(devices).await?;
                        return Err(OnboardingError::DeviceTaken);
                    }
                    Err(err) => return Err(err),
                };
                let reading = read_telemetry(devices, &device).await?;
                registration::go_live(&mut device, reading.as_ref(), now).map_err(internal)?;
                store::update_device(&devices.db, &device)
                    .await
                    .map_err(internal)?;
                journey.wizard.status = WizardStatus::Complete;
            }
            _ => break,
        }
    }
    if journey.wizard != before {
        journey.wizard.refresh_completed(catalogue);
        return journey.save(devices).await;
    }
    Ok(journey)
}

pub async fn complete_auth(
    devices: &Devices,
    journey: &mut Journey,
    continuation_uri: &str,
) -> Outcome<()> {
    let params = query_params(continuation_uri).ok_or_else(|| {
        OnboardingError::StepParameters("`continuationUri` is not a URI with a query.".to_owned())
    })?;
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    if get("state") != journey.row.oauth_state.as_deref() {
        return Err(OnboardingError::StepParameters(
            "The URI does not belong to this authorisation.".to_owned(),
        ));
    }
    if let Some(error) = get("error") {
        journey.wizard.auth_error = Some(match error {
            "access_denied" => "You did not allow access at the vendor.".to_owned(),
            _ => "The vendor could not complete the authorisation.".to_owned(),
        });
        return Ok(());
    }
    let code = get("code")
        .ok_or_else(|| OnboardingError::StepParameters("The URI carries no code.".to_owned()))?;
    let name = journey
        .wizard
        .provider
        .ok_or_else(|| OnboardingError::ProviderUnavailable)?;
    let provider = provider(devices, name)?;
    let now = devices.clock.now();
    let granted = match provider.complete_authorization(code, now).await {
        Ok(grant) => grant,
        Err(ProviderError::AuthorisationRefused(reason)) => {
            journey.wizard.auth_error =
                Some(format!("The vendor refused the authorisation: {reason}"));
            return Ok(());
        }
        Err(err) => {
            tracing::warn!(provider = %name, error = %err, "completing an authorisation failed");
            return Err(OnboardingError::RetryLater);
        }
    };
    let remote = provider
        .devices(&granted, now)
        .await
        .map_err(|_| OnboardingError::RetryLater)?;
    // A device that is registered on an account already is refused before anything is kept.
    let mut candidate = Journey {
        row: journey.row.clone(),
        wizard: journey.wizard.clone(),
    };
    candidate.wizard.found_devices = remote.iter().map(found_device).collect();
    ensure_chosen_free(devices, &candidate).await?;
    let stored = keep_grant(devices, journey, name, &granted).await?;
    journey.wizard.auth_error = None;
    journey.wizard.grant_id = Some(stored.id);
    journey.wizard.found_devices = remote.iter().map(found_device).collect();
    // A new login: what the vendor requires is asked again.
    journey.wizard.forget_requirements();
    let catalogue = catalogue()?;
    if let Some(device_id) = journey.wizard.reauthenticate_device.clone() {
        // The device moves to the new grant once the vendor's requirements are met (at the
        // registration step); a login without the device ends here.
        let device = store::device_by_id(&devices.db, &device_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| internal("device gone"))?;
        if !journey
            .wizard
            .found_devices
            .iter()
            .any(|d| d.remote_id == device.integration_device_id)
        {
            journey.wizard.terminal_error =
                Some("This vendor login does not have the device.".to_owned());
        }
        return Ok(());
    }
    let kind = journey.wizard.registered_kind(catalogue);
    if !journey
        .wizard
        .found_devices
        .iter()
        .any(|d| Some(d.kind) == kind)
    {
        journey.wizard.terminal_error =
            Some("No device of the chosen kind was found at the vendor for this login.".to_owned());
    }
    Ok(())
}

/// Re-authentication: the device moves to the new grant and back to its settled state.
pub async fn reauthenticated(
    devices: &Devices,
    journey: &mut Journey,
    device_id: &str,
    grant_id: i64,
) -> Outcome<()> {
    let mut device = store::device_by_id(&devices.db, device_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| internal("device gone"))?;
    if !journey
        .wizard
        .found_devices
        .iter()
        .any(|d| d.remote_id == device.integration_device_id)
    {
        journey.wizard.terminal_error =
            Some("This vendor login does not have the device.".to_owned());
        return Ok(());
    }
    let now = devices.clock.now();
    store::set_device_grant(&devices.db, &device.id, grant_id, now)
        .await
        .map_err(internal)?;
    device = store::device_by_id(&devices.db, device_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| internal("device gone"))?;
    let (kind, lifecycle, state) = (device.kind, device.lifecycle, device.state);
    if matches!(
        state,
        DeviceState::LostConnection | DeviceState::AuthenticationFailed
    ) {
        if state == DeviceState::LostConnection {
            transition(
                &mut device,
                lifecycle,
                DeviceState::AuthenticationPending,
                now,
            )?;
        }
        transition(
            &mut device,
            lifecycle,
            DeviceState::AuthenticationComplete,
            now,
        )?;
        if lifecycle == Lifecycle::Live {
            // A live device goes straight back to work.
            transition(&mut device, lifecycle, DeviceState::SetupComplete, now)?;
            let reading = read_telemetry(devices, &device).await?;
            let settled = Telemetry::settled_state(reading.as_ref(), kind, device.is_suspended);
            transition(&mut device, lifecycle, settled, now)?;
        }
        store::update_device(&devices.db, &device)
            .await
            .map_err(internal)?;
    }
    journey.wizard.status = WizardStatus::Complete;
    Ok(())
}

pub fn query_params(uri: &str) -> Option<Vec<(String, String)>> {
    let (_, query) = uri.trim().split_once('?')?;
    let query = query.split('#').next().unwrap_or("");
    Some(
        query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(k), decode(v))
            })
            .collect(),
    )
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let escaped = (byte == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (byte, escaped) {
            (_, Some(value)) => {
                out.push(value);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (other, None) => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `TestCharge` step: with a fresh reading that passes the readiness rule
/// ([`rules::reading_refusal`], the same one `triggerTestCharge` asks), the test charge is sent
/// through the one command path and the journey waits for its outcome. A device that is not ready
/// is marked TEST_CHARGE_NOT_AVAILABLE and the journey is saved with its device record.
pub async fn start_test_charge(devices: &Devices, mut journey: Journey) -> Outcome<Journey> {
    let catalogue = catalogue()?;
    if journey.wizard.current(catalogue) != Some(StepKind::TestCharge) {
        return Err(OnboardingError::StepNotFound);
    }
    let mut device = ensure_device(devices, &mut journey).await?;
    let now = devices.clock.now();
    let reading = read_telemetry(devices, &device).await?;
    if let Some(reason) = rules::reading_refusal(device.kind, reading.as_ref()) {
        if device.state == DeviceState::AuthenticationComplete {
            transition(
                &mut device,
                Lifecycle::Onboarding,
                DeviceState::TestChargeNotAvailable,
                now,
            )?;
            store::update_device(&devices.db, &device).await?;
        }
        // The device record is kept, so the wizard is saved with it.
        journey.save(devices).await?;
        return Err(OnboardingError::NotReady {
            reason: Some(reason),
            message: format!(
                "{} Plug the vehicle in at home, then start the test charge again.",
                reason.message()
            ),
        });
    }
    let meter_at_start_wh = reading.as_ref().map_or(0, |t| t.energy_imported_wh);
    if let Err(err) = devices.start_test_charge(device, reading.as_ref()).await {
        tracing::warn!(error = %err, "the test charge could not be started");
        journey.save(devices).await?;
        return Err(OnboardingError::RetryLater);
    }
    journey.wizard.test = Some(TestProgress {
        started_at: now,
        meter_at_start_wh,
        outcome: None,
    });
    journey.save(devices).await
}

/// Cancels the journey. A device it registered that never went live is let go, so that the vendor
/// device is free again; a live one stays (it is de-authenticated on its own).
pub async fn cancel(devices: &Devices, mut journey: Journey) -> Outcome<Journey> {
    if let Some(id) = &journey.wizard.device_id
        && let Some(mut device) = store::device_by_id(&devices.db, id).await?
        && !matches!(
            device.lifecycle,
            Lifecycle::Live | Lifecycle::PendingLive | Lifecycle::Retired
        )
    {
        retire_unfinished(devices, &mut device).await?;
    }
    journey.wizard.status = WizardStatus::Cancelled;
    journey.save(devices).await
}

/// Starts a journey for a property of an account (the caller has checked both).
pub async fn start(
    devices: &Devices,
    account_id: i64,
    property_id: i64,
    oauth_state: String,
    wizard: Wizard,
) -> Outcome<Journey> {
    let now = devices.clock.now();
    let row = WizardRow {
        id: uuid::Uuid::new_v4().to_string(),
        account_id,
        property_id,
        oauth_state: Some(oauth_state),
        state: wizard.clone(),
        version: 0,
        created_at: now,
        updated_at: now,
    };
    resiflex_store::wizards::insert_wizard(&devices.db, &row).await?;
    advance(devices, Journey { row, wizard }).await
}

/// The journey's chosen device read through its provider now, for the `TestCharge` step's
/// readiness; `None` when it cannot be read.
pub async fn test_readiness(devices: &Devices, journey: &Journey) -> Outcome<Option<bool>> {
    let catalogue = catalogue()?;
    let (Some(found), Some(name), Some(grant_id)) = (
        journey.wizard.chosen_device(catalogue),
        journey.wizard.provider,
        journey.wizard.grant_id,
    ) else {
        return Ok(None);
    };
    let Some(provider) = devices.providers.get(name) else {
        return Ok(None);
    };
    let Some(grant) = grants::grant(&devices.db, grant_id).await? else {
        return Ok(Some(false));
    };
    Ok(Some(
        match provider
            .telemetry(&grant, &found.remote_id, devices.clock.now())
            .await
        {
            Ok(reading) => rules::reading_refusal(found.kind, Some(&reading)).is_none(),
            Err(_) => false,
        },
    ))
}
