//! The SmartFlex onboarding wizard: `startSmartFlexOnboarding` (also `startSmartFlexOnboardingWizard`),
//! `smartFlexOnboardingWizard(s)`, the step mutations, `cancelSmartFlexOnboarding` and
//! `startReAuthentication`.
//!
//! The journey itself is the pure state machine `resiflex_domain::wizard::Wizard`; this module stores
//! it (with optimistic versions: a concurrent update is KT-CT-4372), talks to the provider at the
//! `AuthFlow` and `TestCharge` steps, registers the device, and maps everything to Kraken's types.
//! Every read re-evaluates the steps that wait for the outside world (`WaitForTransition`, the
//! registration), so a wizard interrupted by a restart carries on when it is next fetched.

use async_graphql::{Context, ID, InputObject, Interface, Object, SimpleObject};
use chrono::{DateTime, Duration, Utc};
use resiflex_domain::catalogue::Catalogue;
use resiflex_domain::device::{DeviceKind, DeviceState, Lifecycle};
use resiflex_domain::wizard::{
    FoundDevice, ListOption, StepKind, TestOutcome, TestProgress, Wizard, WizardError,
    WizardStatus, valid_vin,
};
use resiflex_providers::{Command, DeviceProvider, Grant, ProviderError, Telemetry};
use resiflex_store::StoreError;
use resiflex_store::devices::{self as store, Device, WizardRow};
use resiflex_store::sqlx::types::Json;

use super::{OperationErrors, OperationKind, api, protected as op};
use crate::auth::access::{account_for, may_see_account};
use crate::auth::{Caller, authorise};
use crate::context::ApiContext;
use crate::enums::{KrakenFlexDeviceTypes, SelectIntegrationChoices, TestChargeErrorType};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::registration::{self, NewDevice, settled_state};

const STEP_CODES: &[ErrorCode] = &[
    ErrorCode::WizardNotFound,
    ErrorCode::WizardConcurrentUpdate,
    ErrorCode::StepParameters,
    ErrorCode::StepRetryLater,
    ErrorCode::StepNotFound,
    ErrorCode::StepInputInvalid,
    ErrorCode::WizardCancelled,
    ErrorCode::Internal,
];

pub const ERRORS: &[OperationErrors] = &[
    op(
        "startSmartFlexOnboarding",
        OperationKind::Mutation,
        &[
            ErrorCode::SerializerValidation,
            ErrorCode::ReauthenticationUnsupported,
        ],
    ),
    op(
        "startSmartFlexOnboardingWizard",
        OperationKind::Mutation,
        &[ErrorCode::SerializerValidation],
    ),
    op(
        "startReAuthentication",
        OperationKind::Mutation,
        &[
            ErrorCode::SerializerValidation,
            ErrorCode::ReauthenticationUnsupported,
        ],
    ),
    op(
        "cancelSmartFlexOnboarding",
        OperationKind::Mutation,
        &[ErrorCode::WizardNotFound, ErrorCode::WizardConcurrentUpdate],
    ),
    op(
        "smartFlexOnboardingWizard",
        OperationKind::Query,
        &[ErrorCode::WizardNotFound],
    ),
    op(
        "smartFlexOnboardingWizards",
        OperationKind::Query,
        &[ErrorCode::SerializerValidation],
    ),
    op(
        "selectFromListForSmartFlexOnboarding",
        OperationKind::Mutation,
        STEP_CODES,
    ),
    op(
        "selectVehicleOrChargePointForSmartFlexOnboarding",
        OperationKind::Mutation,
        STEP_CODES,
    ),
    op(
        "completeAuthFlowForSmartFlexOnboarding",
        OperationKind::Mutation,
        STEP_CODES,
    ),
    op(
        "completeUserInputRequiredForSmartFlexOnboarding",
        OperationKind::Mutation,
        STEP_CODES,
    ),
    op(
        "completeUserActionForSmartFlexOnboarding",
        OperationKind::Mutation,
        STEP_CODES,
    ),
    op(
        "startTestChargeForSmartFlexOnboarding",
        OperationKind::Mutation,
        &[
            ErrorCode::WizardNotFound,
            ErrorCode::StepNotFound,
            ErrorCode::StepParameters,
            ErrorCode::VehicleNotReadyForTest,
            ErrorCode::StepRetryLater,
            ErrorCode::WizardCancelled,
        ],
    ),
];

/// How long a test charge may take before it counts as failed.
const TEST_CHARGE_TIMEOUT_MINUTES: i64 = 10;

fn internal(err: impl std::fmt::Display) -> KrakenError {
    KrakenError::internal("onboarding", &err)
}

fn catalogue() -> ApiResult<&'static Catalogue> {
    Catalogue::get().map_err(internal)
}

/// A wizard as loaded: the stored row and its decoded state.
struct Loaded {
    row: WizardRow,
    wizard: Wizard,
}

impl Loaded {
    fn decode(row: WizardRow) -> ApiResult<Loaded> {
        let wizard = serde_json::from_value(row.state.0.clone()).map_err(internal)?;
        Ok(Loaded { row, wizard })
    }

    /// Saves the wizard; someone else's update in between is KT-CT-4372.
    async fn save(mut self, api: &ApiContext) -> ApiResult<Loaded> {
        self.wizard.refresh_completed(catalogue()?);
        self.row.state = Json(serde_json::to_value(&self.wizard).map_err(internal)?);
        self.row.updated_at = api.clock.now();
        match store::update_wizard(&api.db, &self.row).await {
            Ok(row) => Ok(Loaded {
                row,
                wizard: self.wizard,
            }),
            Err(StoreError::Conflict) => Err(KrakenError::new(ErrorCode::WizardConcurrentUpdate)),
            Err(err) => Err(internal(err)),
        }
    }
}

/// Loads a wizard the caller may see; anything else is KT-CT-4371.
async fn load(api: &ApiContext, caller: &Caller, wizard_id: &str) -> ApiResult<Loaded> {
    let not_found = || KrakenError::new(ErrorCode::WizardNotFound);
    let row = store::wizard_by_id(&api.db, wizard_id.trim())
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    let account = resiflex_store::accounts::account_by_id(&api.db, row.account_id)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    if !may_see_account(api, caller, &account).await? {
        return Err(not_found());
    }
    Loaded::decode(row)
}

fn step_id(wizard_id: &str, step: StepKind) -> String {
    format!("{wizard_id}:{}", step.name())
}

/// The step a client names: it must belong to this wizard (KT-CT-4377 otherwise).
fn parse_step(wizard_id: &str, step_id: &str) -> ApiResult<StepKind> {
    let unknown = || KrakenError::new(ErrorCode::StepNotFound);
    let (wizard, name) = step_id.trim().rsplit_once(':').ok_or_else(unknown)?;
    if wizard != wizard_id {
        return Err(unknown());
    }
    ALL_STEPS
        .iter()
        .copied()
        .find(|s| s.name() == name)
        .ok_or_else(unknown)
}

const ALL_STEPS: &[StepKind] = &[
    StepKind::SelectDeviceType,
    StepKind::SelectVehicleMake,
    StepKind::SelectVehicleVariant,
    StepKind::SelectChargePointMake,
    StepKind::SelectChargePointVariant,
    StepKind::SelectVehicleOrChargePoint,
    StepKind::SelectHeatPumpMake,
    StepKind::SelectHeatPumpVariant,
    StepKind::SelectBatteryMake,
    StepKind::SelectBatteryVariant,
    StepKind::SelectInverterMake,
    StepKind::SelectInverterSystemType,
    StepKind::AuthFlow,
    StepKind::OcppConnectionDetails,
    StepKind::SelectSessionDevice,
    StepKind::UserInputRequired,
    StepKind::TestCharge,
    StepKind::WaitForTransition,
    StepKind::SmartFlexOnboardingDeviceRegistration,
    StepKind::UnsupportedCombination,
    StepKind::TerminalError,
];

/// Checks that a mutation may act on the wizard at all.
fn ensure_open(wizard: &Wizard) -> ApiResult<()> {
    match wizard.status {
        WizardStatus::Cancelled => Err(KrakenError::new(ErrorCode::WizardCancelled)),
        WizardStatus::Complete => Err(KrakenError::with_message(
            ErrorCode::StepNotFound,
            "The wizard is complete; it has no steps left.",
        )),
        WizardStatus::InProgress => Ok(()),
    }
}

fn wizard_error(err: WizardError) -> KrakenError {
    match err {
        WizardError::Cancelled => KrakenError::new(ErrorCode::WizardCancelled),
        WizardError::Complete | WizardError::UnknownStep(_) => {
            KrakenError::new(ErrorCode::StepNotFound)
        }
        WizardError::WrongStepType | WizardError::UnknownOption(_) | WizardError::NotRewindable => {
            KrakenError::with_message(ErrorCode::StepParameters, err.to_string())
        }
    }
}

fn redirect_uri(api: &ApiContext) -> String {
    format!("{}/sandbox/return", api.public_url)
}

/// The grant behind a wizard or device, decoded for the provider.
async fn grant(api: &ApiContext, grant_id: i64) -> ApiResult<Grant> {
    let stored = store::grant_by_id(&api.db, grant_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| internal("grant missing"))?;
    Ok(Grant {
        subject: stored.subject,
        secret: stored.secret,
    })
}

fn provider(api: &ApiContext, name: &str) -> ApiResult<std::sync::Arc<dyn DeviceProvider>> {
    api.providers
        .get(name)
        .ok_or_else(|| KrakenError::new(ErrorCode::ProviderUnavailable))
}

/// Picks the provider for the chosen device: the first of the catalogue's integrations this server has.
fn choose_provider(api: &ApiContext, wizard: &mut Wizard, catalogue: &Catalogue) {
    if wizard.provider.is_none()
        && let Some(entry) = wizard.integrated_entry(catalogue)
    {
        wizard.provider = entry
            .providers()
            .iter()
            .find(|p| api.providers.get(p).is_some())
            .cloned();
    }
}

async fn read_telemetry(api: &ApiContext, device: &Device) -> Option<Telemetry> {
    let provider = api.providers.get(&device.provider)?;
    registration::read_telemetry(&api.db, provider.as_ref(), device, api.clock.now()).await
}

/// Moves a device along its machines; a refused transition is an internal inconsistency.
fn transition(
    device: &mut Device,
    lifecycle: Lifecycle,
    state: DeviceState,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    registration::transition(device, lifecycle, state, now).map_err(internal)
}

/// The refusal of a vendor device that is registered on an account already.
fn device_taken() -> KrakenError {
    KrakenError::with_message(
        ErrorCode::StepParameters,
        "This device is already connected to an account. It can be connected here once it has \
         been disconnected there (deauthenticateFlexDevice).",
    )
}

fn is_taken(err: &KrakenError) -> bool {
    let taken = device_taken();
    err.code == taken.code && err.message == taken.message
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
    api: &ApiContext,
    loaded: &Loaded,
    provider: &str,
    remote_id: &str,
) -> ApiResult<()> {
    let Some(mut existing) = store::live_device_by_integration_id(&api.db, provider, remote_id)
        .await
        .map_err(internal)?
    else {
        return Ok(());
    };
    if loaded.wizard.device_id.as_deref() == Some(existing.id.as_str()) {
        return Ok(());
    }
    let abandoned = existing.account_id == loaded.row.account_id
        && !matches!(
            Lifecycle::parse(&existing.lifecycle),
            Some(Lifecycle::Live | Lifecycle::PendingLive)
        );
    if !abandoned {
        return Err(device_taken());
    }
    retire_unfinished(api, &mut existing).await
}

/// Retires a registration that never went live (an abandoned or cancelled onboarding).
async fn retire_unfinished(api: &ApiContext, device: &mut Device) -> ApiResult<()> {
    let now = api.clock.now();
    transition(device, Lifecycle::Retired, DeviceState::Retired, now)?;
    device.retired_at = Some(now);
    match store::update_device(&api.db, device).await {
        Ok(_) => Ok(()),
        Err(StoreError::Conflict) => Err(KrakenError::new(ErrorCode::WizardConcurrentUpdate)),
        Err(err) => Err(internal(err)),
    }
}

/// Checks the device the wizard has chosen so far, if it has one.
async fn ensure_chosen_free(api: &ApiContext, loaded: &Loaded) -> ApiResult<()> {
    let catalogue = catalogue()?;
    if loaded.wizard.reauthenticate_device.is_some() {
        return Ok(());
    }
    let (Some(found), Some(provider)) = (
        loaded.wizard.chosen_device(catalogue),
        loaded.wizard.provider.as_deref(),
    ) else {
        return Ok(());
    };
    ensure_free(api, loaded, provider, &found.remote_id).await
}

/// After the device turned out to be taken while registering: the wizard goes back to the
/// authorisation, which shows why, so the customer can try again once the device is free.
fn rewind_taken(wizard: &mut Wizard) {
    wizard.grant_id = None;
    wizard.found_devices.clear();
    wizard.answers.remove(&StepKind::SelectSessionDevice);
    wizard.user_inputs.clear();
    wizard.test = None;
    wizard.device_id = None;
    wizard.auth_error = Some(
        "This device is already connected to an account; disconnect it there first.".to_owned(),
    );
}

/// Creates the device record for the wizard's chosen remote device (once).
async fn ensure_device(api: &ApiContext, loaded: &mut Loaded) -> ApiResult<Device> {
    let catalogue = catalogue()?;
    if let Some(id) = &loaded.wizard.device_id
        && let Some(device) = store::device_by_id(&api.db, id).await.map_err(internal)?
        && device.lifecycle != Lifecycle::Retired.as_str()
    {
        return Ok(device);
    }
    loaded.wizard.device_id = None;
    let found = loaded
        .wizard
        .chosen_device(catalogue)
        .cloned()
        .ok_or_else(|| KrakenError::new(ErrorCode::StepParameters))?;
    let provider = loaded
        .wizard
        .provider
        .clone()
        .ok_or_else(|| internal("no provider"))?;
    ensure_free(api, loaded, &provider, &found.remote_id).await?;
    let device = registration::device_record(
        catalogue,
        NewDevice {
            account_id: loaded.row.account_id,
            property_id: loaded.row.property_id,
            provider: &provider,
            grant_id: loaded.wizard.grant_id,
            found: &found,
            entry: loaded.wizard.integrated_entry(catalogue),
            vin: loaded.wizard.user_inputs.get("vin").cloned(),
        },
        api.clock.now(),
    );
    match store::insert_device(&api.db, &device).await {
        Ok(()) => {}
        // Another onboarding registered the device at the same moment.
        Err(StoreError::Conflict) => return Err(device_taken()),
        Err(err) => return Err(internal(err)),
    }
    loaded.wizard.device_id = Some(device.id.clone());
    Ok(device)
}

/// What the charger the customer chose is rated for, from its catalogue entry.
fn charger_rating(wizard: &Wizard) -> ApiResult<Option<resiflex_providers::Rating>> {
    let catalogue = catalogue()?;
    Ok(wizard
        .integrated_entry(catalogue)
        .and_then(|entry| catalogue.charge_point(entry.id()))
        .map(|c| resiflex_providers::Rating::of_charger(c.power().w, f64::from(c.amperage))))
}

/// The `OcppConnectionDetails` step: issues the charger's connection details (once per provider),
/// then checks whether the charger has connected and been accepted; if so, the wizard gets the
/// grant and the device found behind it. Returns whether the step is complete.
async fn enrol(api: &ApiContext, loaded: &mut Loaded) -> ApiResult<bool> {
    let Some(name) = loaded.wizard.provider.clone() else {
        return Ok(false);
    };
    let provider = provider(api, &name)?;
    let Some(enrolment) = provider.enrolment() else {
        return Ok(false);
    };
    let now = api.clock.now();
    let key = format!("{}:{name}", loaded.row.id);
    if loaded.wizard.enrolment.as_ref().map(|e| &e.key) != Some(&key) {
        let details = match enrolment.enrol(&key, now).await {
            Ok(details) => details,
            Err(err) => {
                tracing::warn!(provider = %name, error = %err, "enrolling a charger failed");
                return Ok(false);
            }
        };
        if let Some(rating) = charger_rating(&loaded.wizard)?
            && let Err(err) = enrolment.rate(&key, rating).await
        {
            tracing::warn!(provider = %name, error = %err, "recording a charger's rating failed");
        }
        loaded.wizard.enrolment = Some(resiflex_domain::wizard::Enrolment {
            provider: name.clone(),
            key: key.clone(),
            websocket_url: details.websocket_url,
            device_id: details.device_id,
            password: details.password,
        });
    }
    let Ok(Some(granted)) = enrolment.connected(&key, now).await else {
        return Ok(false);
    };
    let devices = match provider.devices(&granted, now).await {
        Ok(devices) if !devices.is_empty() => devices,
        _ => return Ok(false),
    };
    // One charge point identity, one account.
    for device in &devices {
        ensure_free(api, loaded, &name, &device.remote_id).await?;
    }
    let stored = store::insert_grant(
        &api.db,
        loaded.row.account_id,
        &name,
        &granted.subject,
        &granted.secret,
        now,
    )
    .await
    .map_err(internal)?;
    loaded.wizard.grant_id = Some(stored.id);
    loaded.wizard.found_devices = devices.iter().map(found_device).collect();
    if let Some(enrolment) = loaded.wizard.enrolment.as_mut() {
        enrolment.password = None;
    }
    Ok(true)
}

/// Re-evaluates the steps that wait for the outside world, then saves if anything changed.
async fn advance(api: &ApiContext, mut loaded: Loaded) -> ApiResult<Loaded> {
    let catalogue = catalogue()?;
    let before = loaded.wizard.clone();
    choose_provider(api, &mut loaded.wizard, catalogue);
    let now = api.clock.now();
    for _ in 0..4 {
        match loaded.wizard.current(catalogue) {
            Some(StepKind::WaitForTransition) => {
                let Some(test) = loaded.wizard.test.clone() else {
                    break;
                };
                let mut device = ensure_device(api, &mut loaded).await?;
                let reading = read_telemetry(api, &device).await;
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
                store::update_device(&api.db, &device)
                    .await
                    .map_err(internal)?;
                if let Some(test) = loaded.wizard.test.as_mut() {
                    test.outcome = Some(outcome);
                }
            }
            Some(StepKind::OcppConnectionDetails) => {
                if !enrol(api, &mut loaded).await? {
                    break;
                }
            }
            Some(StepKind::SmartFlexOnboardingDeviceRegistration) => {
                let mut device = match ensure_device(api, &mut loaded).await {
                    Ok(device) => device,
                    Err(err) if is_taken(&err) => {
                        rewind_taken(&mut loaded.wizard);
                        loaded.save(api).await?;
                        return Err(err);
                    }
                    Err(err) => return Err(err),
                };
                let reading = read_telemetry(api, &device).await;
                registration::go_live(&mut device, reading.as_ref(), now).map_err(internal)?;
                store::update_device(&api.db, &device)
                    .await
                    .map_err(internal)?;
                loaded.wizard.status = WizardStatus::Complete;
            }
            _ => break,
        }
    }
    if loaded.wizard != before {
        loaded.wizard.refresh_completed(catalogue);
        return loaded.save(api).await;
    }
    Ok(loaded)
}

// ---------------------------------------------------------------------------------------------
// GraphQL types

/// An onboarding journey.
pub struct SmartFlexOnboardingWizard {
    loaded: Loaded,
    authorization_uri: Option<String>,
    test_ready: Option<bool>,
    redirect_uri: String,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct SmartFlexOnboardingResumable {
    pub is_resumable: bool,
    pub resumable_reasons: Vec<String>,
}

#[Object]
impl SmartFlexOnboardingWizard {
    async fn id(&self) -> ID {
        ID(self.loaded.row.id.clone())
    }

    /// The type of device being onboarded, once chosen.
    async fn device_type(&self) -> Option<KrakenFlexDeviceTypes> {
        let kind = self.loaded.wizard.device_type()?;
        kind.kraken_device_type().parse().ok()
    }

    async fn display_name(&self) -> String {
        match self.loaded.wizard.device_type() {
            Some(DeviceKind::HeatPump) => "Connect your heat pump",
            Some(DeviceKind::Battery) => "Connect your home battery",
            Some(DeviceKind::Inverter) => "Connect your solar inverter",
            Some(_) => "Connect your electric vehicle",
            None if self.loaded.wizard.reauthenticate_device.is_some() => "Reconnect your device",
            None => "Connect a device",
        }
        .to_owned()
    }

    /// True once the journey is over (`currentStep` is null).
    async fn is_complete(&self) -> bool {
        self.loaded.wizard.status == WizardStatus::Complete
    }

    async fn is_cancelled(&self) -> bool {
        self.loaded.wizard.status == WizardStatus::Cancelled
    }

    /// Whether the current step can be undone by completing an earlier step again.
    async fn is_rewindable(&self) -> bool {
        self.loaded
            .wizard
            .completed
            .iter()
            .any(|s| s.is_rewindable())
    }

    async fn resumable(&self) -> SmartFlexOnboardingResumable {
        let open = self.loaded.wizard.status == WizardStatus::InProgress;
        SmartFlexOnboardingResumable {
            is_resumable: open,
            resumable_reasons: if open {
                Vec::new()
            } else {
                vec!["The wizard is finished or cancelled.".to_owned()]
            },
        }
    }

    /// What the customer must do next; null once the journey is complete or cancelled.
    async fn current_step(&self) -> ApiResult<Option<Step>> {
        if self.loaded.wizard.status != WizardStatus::InProgress {
            return Ok(None);
        }
        let catalogue = catalogue()?;
        Ok(self
            .loaded
            .wizard
            .current(catalogue)
            .map(|kind| self.step(kind, catalogue)))
    }

    /// The steps completed so far, the most recent last.
    async fn completed_steps(&self) -> ApiResult<Vec<Step>> {
        let catalogue = catalogue()?;
        Ok(self
            .loaded
            .wizard
            .completed
            .iter()
            .map(|kind| self.step(*kind, catalogue))
            .collect())
    }

    /// The registered device, once there is one.
    async fn device_id(&self) -> Option<ID> {
        self.loaded.wizard.device_id.clone().map(ID)
    }

    async fn created_at(&self) -> crate::scalars::DateTime {
        crate::scalars::DateTime(self.loaded.row.created_at)
    }
}

impl SmartFlexOnboardingWizard {
    async fn build(api: &ApiContext, loaded: Loaded) -> ApiResult<SmartFlexOnboardingWizard> {
        let catalogue = catalogue()?;
        let current = if loaded.wizard.status == WizardStatus::InProgress {
            loaded.wizard.current(catalogue)
        } else {
            None
        };
        let redirect = redirect_uri(api);
        let mut authorization_uri = None;
        if current == Some(StepKind::AuthFlow)
            && let (Some(name), Some(state)) = (&loaded.wizard.provider, &loaded.row.oauth_state)
            && let Some(provider) = api.providers.get(name)
        {
            authorization_uri = provider.authorization_url(state, &redirect).await.ok();
        }
        let mut test_ready = None;
        if current == Some(StepKind::TestCharge)
            && let Some(found) = loaded.wizard.chosen_device(catalogue)
            && let (Some(name), Some(grant_id)) = (&loaded.wizard.provider, loaded.wizard.grant_id)
            && let Some(provider) = api.providers.get(name)
        {
            let grant = grant(api, grant_id).await?;
            test_ready = Some(
                match provider
                    .telemetry(&grant, &found.remote_id, api.clock.now())
                    .await
                {
                    Ok(t) => ready_for_test(&t),
                    Err(_) => false,
                },
            );
        }
        Ok(SmartFlexOnboardingWizard {
            loaded,
            authorization_uri,
            test_ready,
            redirect_uri: redirect,
        })
    }

    fn step(&self, kind: StepKind, catalogue: &Catalogue) -> Step {
        let wizard = &self.loaded.wizard;
        let id = ID(step_id(&self.loaded.row.id, kind));
        let selected = wizard.answers.get(&kind).cloned().map(ID);
        let options = |step: StepKind| -> Vec<SmartFlexListItem> {
            wizard
                .options(step, catalogue)
                .into_iter()
                .map(|o| list_item(step, o, catalogue))
                .collect()
        };
        macro_rules! list {
            ($variant:ident) => {
                Step::$variant($variant {
                    id,
                    options: options(kind),
                    selected_option_id: selected,
                })
            };
        }
        match kind {
            StepKind::SelectDeviceType => list!(SelectDeviceType),
            StepKind::SelectVehicleMake => list!(SelectVehicleMake),
            StepKind::SelectVehicleVariant => list!(SelectVehicleVariant),
            StepKind::SelectChargePointMake => list!(SelectChargePointMake),
            StepKind::SelectChargePointVariant => list!(SelectChargePointVariant),
            StepKind::SelectHeatPumpMake => list!(SelectHeatPumpMake),
            StepKind::SelectHeatPumpVariant => list!(SelectHeatPumpVariant),
            StepKind::SelectBatteryMake => list!(SelectBatteryMake),
            StepKind::SelectBatteryVariant => list!(SelectBatteryVariant),
            StepKind::SelectInverterMake => list!(SelectInverterMake),
            StepKind::SelectInverterSystemType => list!(SelectInverterSystemType),
            StepKind::SelectSessionDevice => list!(SelectSessionDevice),
            StepKind::SelectVehicleOrChargePoint => Step::SelectVehicleOrChargePoint(SelectVehicleOrChargePoint {
                id,
                selected_integration: match wizard.answers.get(&kind).map(String::as_str) {
                    Some("CHARGE_POINT") => Some(SelectIntegrationChoices::ChargePoint),
                    Some(_) => Some(SelectIntegrationChoices::ElectricVehicle),
                    None => None,
                },
            }),
            StepKind::OcppConnectionDetails => {
                let enrolment = wizard.enrolment.as_ref();
                Step::OcppConnectionDetails(OcppConnectionDetails {
                    id,
                    websocket_url: enrolment.map(|e| e.websocket_url.clone()),
                    charge_point_id: enrolment.map(|e| e.device_id.clone()),
                    password: enrolment.and_then(|e| e.password.clone()),
                    is_connected: wizard.grant_id.is_some(),
                })
            }
            StepKind::AuthFlow => Step::AuthFlow(AuthFlow {
                id,
                authorization_uri: self.authorization_uri.clone(),
                redirect_uri: Some(self.redirect_uri.clone()),
                error: wizard.auth_error.clone().map(|message| AuthFlowError {
                    description: Some("Start the authorisation again.".to_owned()),
                    message,
                }),
            }),
            StepKind::UserInputRequired => {
                let vin = wizard.user_inputs.get("vin").cloned();
                let known_vin = wizard.chosen_device(catalogue).and_then(|d| d.vin.clone());
                Step::UserInputRequired(UserInputRequired {
                    id,
                    user_inputs: vec![UserInputType {
                        key: "vin".to_owned(),
                        description: "The vehicle identification number (17 characters, on the registration document)".to_owned(),
                        is_verified: vin.is_some() && known_vin.is_some(),
                        is_validated: vin.is_some(),
                        value: vin,
                        is_required: true,
                        regex: Some("^[A-HJ-NPR-Z0-9]{17}$".to_owned()),
                    }],
                    error: None,
                })
            }
            StepKind::TestCharge => {
                let failure = match &wizard.test {
                    Some(TestProgress { outcome: Some(TestOutcome::Failed { reason }), .. }) => Some(TestChargeError {
                        message: reason.clone(),
                        reasons: vec!["NO_CHARGING_OBSERVED".to_owned()],
                        error_type: TestChargeErrorType::UnableToCompleteTestCharge,
                        descriptions: vec!["Check that the vehicle is plugged in at home, then try again.".to_owned()],
                    }),
                    _ => None,
                };
                Step::TestCharge(TestCharge {
                    id,
                    is_ready: self.test_ready.unwrap_or(false),
                    is_started: wizard.test.as_ref().is_some_and(|t| t.outcome.is_none()),
                    error: failure,
                })
            }
            StepKind::WaitForTransition => Step::WaitForTransition(WaitForTransition { id }),
            StepKind::SmartFlexOnboardingDeviceRegistration => {
                Step::SmartFlexOnboardingDeviceRegistration(SmartFlexOnboardingDeviceRegistration {
                    id,
                    device_registered: wizard.status == WizardStatus::Complete,
                })
            }
            StepKind::UnsupportedCombination => Step::UnsupportedCombination(UnsupportedCombination {
                id,
                message: "ResiFlex cannot control this combination of devices yet. Go back and choose differently.".to_owned(),
            }),
            StepKind::TerminalError => Step::TerminalError(TerminalError {
                id,
                message: wizard.terminal_error.clone().unwrap_or_else(|| "The onboarding cannot continue.".to_owned()),
            }),
        }
    }
}

fn ready_for_test(t: &Telemetry) -> bool {
    t.connection == resiflex_providers::Connection::Online
        && t.plugged_in != Some(false)
        && t.at_home != Some(false)
}

fn list_item(step: StepKind, option: ListOption, catalogue: &Catalogue) -> SmartFlexListItem {
    let mut item = SmartFlexListItem {
        id: ID(option.id.clone()),
        label: option.label.clone(),
        ..SmartFlexListItem::default()
    };
    match step {
        StepKind::SelectVehicleMake => item.vehicle_make = Some(option.label),
        StepKind::SelectChargePointMake => item.charge_point_make = Some(option.label),
        StepKind::SelectSessionDevice => item.session_device = Some(option.label),
        StepKind::SelectVehicleVariant => {
            item.electric_vehicle_variant =
                catalogue
                    .vehicle(&option.id)
                    .map(|v| ElectricVehicleVariant {
                        make: v.make.clone(),
                        model: v.model.clone(),
                        available_from: i32::from(v.available_from),
                        available_to: v.available_to.map(i32::from),
                        battery_size: crate::scalars::Decimal(decimal(v.battery_kwh)),
                    })
        }
        StepKind::SelectChargePointVariant => {
            item.electric_charge_point_variant =
                catalogue
                    .charge_point(&option.id)
                    .map(|c| ElectricChargePointVariant {
                        make: c.make.clone(),
                        model: c.model.clone(),
                        power_output: crate::scalars::Decimal(decimal(c.power_kw)),
                        amperage: i32::from(c.amperage),
                    })
        }
        _ => {}
    }
    item
}

fn decimal(value: f64) -> rust_decimal::Decimal {
    rust_decimal::Decimal::from_f64_retain(value)
        .map(|d| d.round_dp(2).normalize())
        .unwrap_or_default()
}

/// An option of a list step.
#[derive(SimpleObject, Debug, Clone, Default)]
pub struct SmartFlexListItem {
    /// Send this as `selectedOption`.
    pub id: ID,
    pub label: String,
    pub vehicle_make: Option<String>,
    pub charge_point_make: Option<String>,
    pub session_device: Option<String>,
    pub electric_vehicle_variant: Option<ElectricVehicleVariant>,
    pub electric_charge_point_variant: Option<ElectricChargePointVariant>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct ElectricVehicleVariant {
    pub make: String,
    pub model: String,
    pub available_from: i32,
    pub available_to: Option<i32>,
    /// Usable battery, kWh.
    pub battery_size: crate::scalars::Decimal,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct ElectricChargePointVariant {
    pub make: String,
    pub model: String,
    /// kW.
    pub power_output: crate::scalars::Decimal,
    pub amperage: i32,
}

macro_rules! list_steps {
    ($($name:ident),+ $(,)?) => {$(
        /// A step answered by choosing one option (`selectFromListForSmartFlexOnboarding`).
        #[derive(SimpleObject, Debug, Clone)]
        pub struct $name {
            pub id: ID,
            pub options: Vec<SmartFlexListItem>,
            pub selected_option_id: Option<ID>,
        }
    )+};
}

list_steps!(
    SelectDeviceType,
    SelectVehicleMake,
    SelectVehicleVariant,
    SelectChargePointMake,
    SelectChargePointVariant,
    SelectHeatPumpMake,
    SelectHeatPumpVariant,
    SelectBatteryMake,
    SelectBatteryVariant,
    SelectInverterMake,
    SelectInverterSystemType,
    SelectSessionDevice,
);

/// Both the vehicle and the charger can be controlled: which one should ResiFlex use?
#[derive(SimpleObject, Debug, Clone)]
pub struct SelectVehicleOrChargePoint {
    pub id: ID,
    pub selected_integration: Option<SelectIntegrationChoices>,
}

/// Send the customer to `authorizationUri`; the vendor redirects to `redirectUri`; pass that whole URI
/// to `completeAuthFlowForSmartFlexOnboarding`.
#[derive(SimpleObject, Debug, Clone)]
pub struct AuthFlow {
    pub id: ID,
    pub authorization_uri: Option<String>,
    pub redirect_uri: Option<String>,
    pub error: Option<AuthFlowError>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct AuthFlowError {
    pub message: String,
    pub description: Option<String>,
}

/// Details ResiFlex needs from the customer.
#[derive(SimpleObject, Debug, Clone)]
pub struct UserInputRequired {
    pub id: ID,
    pub user_inputs: Vec<UserInputType>,
    pub error: Option<AuthFlowError>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct UserInputType {
    pub key: String,
    pub description: String,
    pub value: Option<String>,
    pub is_required: bool,
    pub is_validated: bool,
    pub regex: Option<String>,
    /// Whether the value matched what the vendor reports.
    pub is_verified: bool,
}

/// A short charge that proves ResiFlex can control the vehicle.
#[derive(SimpleObject, Debug, Clone)]
pub struct TestCharge {
    pub id: ID,
    /// Whether the vehicle is plugged in at home and reachable.
    pub is_ready: bool,
    pub is_started: bool,
    pub error: Option<TestChargeError>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct TestChargeError {
    pub message: String,
    pub reasons: Vec<String>,
    pub error_type: TestChargeErrorType,
    pub descriptions: Vec<String>,
}

/// Waiting for something outside ResiFlex (the test charge); fetch the wizard again.
#[derive(SimpleObject, Debug, Clone)]
pub struct WaitForTransition {
    pub id: ID,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct SmartFlexOnboardingDeviceRegistration {
    pub id: ID,
    pub device_registered: bool,
}

/// What to enter in a charger that connects to ResiFlex itself (OCPP 1.6-J, Security Profile 1):
/// its central system URL, charge point identity and password. The step completes by itself once
/// the charger has connected and its BootNotification was accepted; fetch the wizard to follow it.
/// The password is shown until then, and ResiFlex keeps only its hash.
#[derive(SimpleObject, Debug, Clone)]
pub struct OcppConnectionDetails {
    pub id: ID,
    pub websocket_url: Option<String>,
    pub charge_point_id: Option<String>,
    pub password: Option<String>,
    pub is_connected: bool,
}

/// The choices made cannot be controlled; go back and choose differently.
#[derive(SimpleObject, Debug, Clone)]
pub struct UnsupportedCombination {
    pub id: ID,
    pub message: String,
}

/// The journey cannot finish.
#[derive(SimpleObject, Debug, Clone)]
pub struct TerminalError {
    pub id: ID,
    pub message: String,
}

/// A step of the onboarding wizard.
#[derive(Interface)]
#[graphql(
    name = "SmartFlexOnboardingStepInterface",
    field(name = "id", ty = "&ID")
)]
pub enum Step {
    SelectDeviceType(SelectDeviceType),
    SelectVehicleMake(SelectVehicleMake),
    SelectVehicleVariant(SelectVehicleVariant),
    SelectChargePointMake(SelectChargePointMake),
    SelectChargePointVariant(SelectChargePointVariant),
    SelectVehicleOrChargePoint(SelectVehicleOrChargePoint),
    SelectHeatPumpMake(SelectHeatPumpMake),
    SelectHeatPumpVariant(SelectHeatPumpVariant),
    SelectBatteryMake(SelectBatteryMake),
    SelectBatteryVariant(SelectBatteryVariant),
    SelectInverterMake(SelectInverterMake),
    SelectInverterSystemType(SelectInverterSystemType),
    AuthFlow(AuthFlow),
    OcppConnectionDetails(OcppConnectionDetails),
    SelectSessionDevice(SelectSessionDevice),
    UserInputRequired(UserInputRequired),
    TestCharge(TestCharge),
    WaitForTransition(WaitForTransition),
    SmartFlexOnboardingDeviceRegistration(SmartFlexOnboardingDeviceRegistration),
    UnsupportedCombination(UnsupportedCombination),
    TerminalError(TerminalError),
}

/// The answer to every wizard mutation.
#[derive(SimpleObject)]
pub struct WizardPayload {
    pub wizard: SmartFlexOnboardingWizard,
}

// ---------------------------------------------------------------------------------------------
// Inputs

#[derive(InputObject, Debug)]
pub struct StartSmartFlexOnboardingInput {
    pub account_number: String,
    pub property_id: i32,
}

#[derive(InputObject, Debug)]
pub struct StartReAuthenticationInput {
    pub account_number: String,
    pub device_id: String,
    pub property_id: i32,
}

#[derive(InputObject, Debug)]
pub struct WizardInput {
    pub wizard_id: ID,
}

#[derive(InputObject, Debug)]
pub struct StepInput {
    pub wizard_id: ID,
    pub step_id: ID,
}

#[derive(InputObject, Debug)]
pub struct SelectFromListInput {
    pub wizard_id: ID,
    pub step_id: ID,
    pub selected_option: ID,
}

#[derive(InputObject, Debug)]
pub struct SelectVehicleOrChargePointInput {
    pub wizard_id: ID,
    pub step_id: ID,
    pub selected_integration: SelectIntegrationChoices,
}

#[derive(InputObject, Debug)]
pub struct CompleteAuthFlowInput {
    pub wizard_id: ID,
    pub step_id: ID,
    /// The whole URI the vendor redirected to, with its query.
    pub continuation_uri: String,
}

#[derive(InputObject, Debug)]
pub struct UserInput {
    pub key: String,
    pub value: String,
}

#[derive(InputObject, Debug)]
pub struct CompleteUserInputRequiredInput {
    pub wizard_id: ID,
    pub step_id: ID,
    pub user_input: Vec<UserInput>,
}

// ---------------------------------------------------------------------------------------------
// Operations

async fn respond(api: &ApiContext, loaded: Loaded) -> ApiResult<WizardPayload> {
    let loaded = advance(api, loaded).await?;
    Ok(WizardPayload {
        wizard: SmartFlexOnboardingWizard::build(api, loaded).await?,
    })
}

/// Starts a wizard for a property of the account.
async fn start(
    ctx: &Context<'_>,
    input: StartSmartFlexOnboardingInput,
    wizard: Wizard,
) -> ApiResult<WizardPayload> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let account = account_for(api, &caller, &input.account_number, ErrorCode::Unauthorized).await?;
    let property = resiflex_store::accounts::property_by_id(&api.db, i64::from(input.property_id))
        .await
        .map_err(internal)?
        .filter(|p| p.account_id == account.id)
        .ok_or_else(|| {
            KrakenError::with_message(
                ErrorCode::SerializerValidation,
                "`propertyId` is not a property of this account.",
            )
        })?;
    let now = api.clock.now();
    let row = WizardRow {
        id: uuid::Uuid::new_v4().to_string(),
        account_id: account.id,
        property_id: property.id,
        oauth_state: Some(crate::auth::credentials::generate("st_")),
        state: Json(serde_json::to_value(&wizard).map_err(internal)?),
        version: 0,
        created_at: now,
        updated_at: now,
    };
    store::insert_wizard(&api.db, &row)
        .await
        .map_err(internal)?;
    respond(api, Loaded { row, wizard }).await
}

/// Loads an open wizard for a step mutation and checks the step id.
async fn for_step(
    ctx: &Context<'_>,
    wizard_id: &ID,
    step_id: &ID,
) -> ApiResult<(Loaded, StepKind)> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let loaded = load(api, &caller, wizard_id).await?;
    ensure_open(&loaded.wizard)?;
    let step = parse_step(&loaded.row.id, step_id)?;
    Ok((loaded, step))
}

async fn complete_auth(
    api: &ApiContext,
    loaded: &mut Loaded,
    continuation_uri: &str,
) -> ApiResult<()> {
    let params = query_params(continuation_uri).ok_or_else(|| {
        KrakenError::with_message(
            ErrorCode::StepParameters,
            "`continuationUri` is not a URI with a query.",
        )
    })?;
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    if get("state") != loaded.row.oauth_state.as_deref() {
        return Err(KrakenError::with_message(
            ErrorCode::StepParameters,
            "The URI does not belong to this authorisation.",
        ));
    }
    if let Some(error) = get("error") {
        loaded.wizard.auth_error = Some(match error {
            "access_denied" => "You did not allow access at the vendor.".to_owned(),
            _ => "The vendor could not complete the authorisation.".to_owned(),
        });
        return Ok(());
    }
    let code = get("code").ok_or_else(|| {
        KrakenError::with_message(ErrorCode::StepParameters, "The URI carries no code.")
    })?;
    let name = loaded
        .wizard
        .provider
        .clone()
        .ok_or_else(|| KrakenError::new(ErrorCode::ProviderUnavailable))?;
    let provider = provider(api, &name)?;
    let now = api.clock.now();
    let granted = match provider.complete_authorization(code, now).await {
        Ok(grant) => grant,
        Err(ProviderError::AuthorisationRefused(reason)) => {
            loaded.wizard.auth_error =
                Some(format!("The vendor refused the authorisation: {reason}"));
            return Ok(());
        }
        Err(err) => {
            tracing::warn!(provider = %name, error = %err, "completing an authorisation failed");
            return Err(KrakenError::new(ErrorCode::StepRetryLater));
        }
    };
    let devices = provider
        .devices(&granted, now)
        .await
        .map_err(|_| KrakenError::new(ErrorCode::StepRetryLater))?;
    // A device that is registered on an account already is refused before anything is kept.
    let mut candidate = Loaded {
        row: loaded.row.clone(),
        wizard: loaded.wizard.clone(),
    };
    candidate.wizard.found_devices = devices.iter().map(found_device).collect();
    ensure_chosen_free(api, &candidate).await?;
    let stored = store::insert_grant(
        &api.db,
        loaded.row.account_id,
        &name,
        &granted.subject,
        &granted.secret,
        now,
    )
    .await
    .map_err(internal)?;
    loaded.wizard.auth_error = None;
    loaded.wizard.grant_id = Some(stored.id);
    loaded.wizard.found_devices = devices.iter().map(found_device).collect();
    let catalogue = catalogue()?;
    if let Some(device_id) = loaded.wizard.reauthenticate_device.clone() {
        return reauthenticated(api, loaded, &device_id, stored.id).await;
    }
    let kind = loaded.wizard.registered_kind(catalogue);
    if !loaded
        .wizard
        .found_devices
        .iter()
        .any(|d| Some(d.kind) == kind)
    {
        loaded.wizard.terminal_error =
            Some("No device of the chosen kind was found at the vendor for this login.".to_owned());
    }
    Ok(())
}

/// Re-authentication: the device moves to the new grant and back to its settled state.
async fn reauthenticated(
    api: &ApiContext,
    loaded: &mut Loaded,
    device_id: &str,
    grant_id: i64,
) -> ApiResult<()> {
    let mut device = store::device_by_id(&api.db, device_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| internal("device gone"))?;
    if !loaded
        .wizard
        .found_devices
        .iter()
        .any(|d| d.remote_id == device.integration_device_id)
    {
        loaded.wizard.terminal_error =
            Some("This vendor login does not have the device.".to_owned());
        return Ok(());
    }
    let now = api.clock.now();
    store::set_device_grant(&api.db, &device.id, grant_id, now)
        .await
        .map_err(internal)?;
    device = store::device_by_id(&api.db, device_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| internal("device gone"))?;
    let kind = DeviceKind::parse(&device.kind).ok_or_else(|| internal("stored kind"))?;
    let lifecycle =
        Lifecycle::parse(&device.lifecycle).ok_or_else(|| internal("stored lifecycle"))?;
    let state = DeviceState::parse(&device.state).ok_or_else(|| internal("stored state"))?;
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
            let reading = read_telemetry(api, &device).await;
            let settled = settled_state(reading.as_ref(), kind, device.is_suspended);
            transition(&mut device, lifecycle, settled, now)?;
        }
        store::update_device(&api.db, &device)
            .await
            .map_err(internal)?;
    }
    loaded.wizard.status = WizardStatus::Complete;
    Ok(())
}

fn query_params(uri: &str) -> Option<Vec<(String, String)>> {
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

#[derive(Default)]
pub struct OnboardingQuery;

#[Object]
impl OnboardingQuery {
    /// One wizard (KT-CT-4371 when it does not exist or is not the caller's).
    async fn smart_flex_onboarding_wizard(
        &self,
        ctx: &Context<'_>,
        wizard_id: ID,
    ) -> ApiResult<SmartFlexOnboardingWizard> {
        let api = api(ctx)?;
        let caller = authorise(ctx).await?;
        let loaded = advance(api, load(api, &caller, &wizard_id).await?).await?;
        SmartFlexOnboardingWizard::build(api, loaded).await
    }

    /// The account's wizards, newest first, optionally for one property.
    async fn smart_flex_onboarding_wizards(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        property_id: Option<i32>,
    ) -> ApiResult<Vec<SmartFlexOnboardingWizard>> {
        let api = api(ctx)?;
        let caller = authorise(ctx).await?;
        let account = account_for(api, &caller, &account_number, ErrorCode::Unauthorized).await?;
        let rows = store::wizards_of_account(&api.db, account.id, property_id.map(i64::from))
            .await
            .map_err(internal)?;
        let mut wizards = Vec::with_capacity(rows.len());
        for row in rows {
            let loaded = advance(api, Loaded::decode(row)?).await?;
            wizards.push(SmartFlexOnboardingWizard::build(api, loaded).await?);
        }
        Ok(wizards)
    }
}

#[derive(Default)]
pub struct OnboardingMutation;

#[Object]
impl OnboardingMutation {
    /// Starts onboarding a device at a property of the account.
    async fn start_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: StartSmartFlexOnboardingInput,
    ) -> ApiResult<WizardPayload> {
        start(ctx, input, Wizard::default()).await
    }

    /// The same as `startSmartFlexOnboarding` (the name some guides use).
    async fn start_smart_flex_onboarding_wizard(
        &self,
        ctx: &Context<'_>,
        input: StartSmartFlexOnboardingInput,
    ) -> ApiResult<WizardPayload> {
        start(ctx, input, Wizard::default()).await
    }

    /// Starts a wizard that authorises an existing device again (after its vendor access was lost).
    async fn start_re_authentication(
        &self,
        ctx: &Context<'_>,
        input: StartReAuthenticationInput,
    ) -> ApiResult<WizardPayload> {
        let api = api(ctx)?;
        let caller = authorise(ctx).await?;
        let account =
            account_for(api, &caller, &input.account_number, ErrorCode::Unauthorized).await?;
        let device = store::device_by_id(&api.db, input.device_id.trim())
            .await
            .map_err(internal)?
            .filter(|d| d.account_id == account.id)
            .ok_or_else(|| KrakenError::new(ErrorCode::DeviceNotFound))?;
        let supported = device.lifecycle != Lifecycle::Retired.as_str()
            && api.providers.get(&device.provider).is_some()
            && !device.provider.starts_with("OCPP");
        if !supported {
            return Err(KrakenError::new(ErrorCode::ReauthenticationUnsupported));
        }
        let input = StartSmartFlexOnboardingInput {
            account_number: input.account_number,
            property_id: input.property_id,
        };
        start(
            ctx,
            input,
            Wizard::reauthentication(&device.id, &device.provider),
        )
        .await
    }

    /// Cancels a wizard. A device it already registered stays (use `deauthenticateFlexDevice`).
    async fn cancel_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: WizardInput,
    ) -> ApiResult<WizardPayload> {
        let api = api(ctx)?;
        let caller = authorise(ctx).await?;
        let mut loaded = load(api, &caller, &input.wizard_id).await?;
        if loaded.wizard.status == WizardStatus::Cancelled {
            return Err(KrakenError::new(ErrorCode::WizardCancelled));
        }
        // A device this wizard registered that never went live is let go, so that the vendor
        // device is free again; a live one stays (use `deauthenticateFlexDevice`).
        if let Some(id) = &loaded.wizard.device_id
            && let Some(mut device) = store::device_by_id(&api.db, id).await.map_err(internal)?
            && !matches!(
                Lifecycle::parse(&device.lifecycle),
                Some(Lifecycle::Live | Lifecycle::PendingLive | Lifecycle::Retired)
            )
        {
            retire_unfinished(api, &mut device).await?;
        }
        loaded.wizard.status = WizardStatus::Cancelled;
        let loaded = loaded.save(api).await?;
        Ok(WizardPayload {
            wizard: SmartFlexOnboardingWizard::build(api, loaded).await?,
        })
    }

    /// Answers a list step (the current one, or an earlier one to go back).
    async fn select_from_list_for_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: SelectFromListInput,
    ) -> ApiResult<WizardPayload> {
        let api = api(ctx)?;
        let (mut loaded, step) = for_step(ctx, &input.wizard_id, &input.step_id).await?;
        if !step.is_list() {
            return Err(KrakenError::with_message(
                ErrorCode::StepParameters,
                "This step is not answered from a list.",
            ));
        }
        loaded
            .wizard
            .answer_step(step, input.selected_option.trim(), catalogue()?)
            .map_err(wizard_error)?;
        choose_provider(api, &mut loaded.wizard, catalogue()?);
        if step == StepKind::SelectSessionDevice {
            ensure_chosen_free(api, &loaded).await?;
        }
        respond(api, loaded.save(api).await?).await
    }

    /// Chooses whether the vehicle or the charger is controlled.
    async fn select_vehicle_or_charge_point_for_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: SelectVehicleOrChargePointInput,
    ) -> ApiResult<WizardPayload> {
        let api = api(ctx)?;
        let (mut loaded, step) = for_step(ctx, &input.wizard_id, &input.step_id).await?;
        if step != StepKind::SelectVehicleOrChargePoint {
            return Err(KrakenError::with_message(
                ErrorCode::StepParameters,
                "This step is not a choice of integration.",
            ));
        }
        loaded
            .wizard
            .answer_step(step, input.selected_integration.as_str(), catalogue()?)
            .map_err(wizard_error)?;
        choose_provider(api, &mut loaded.wizard, catalogue()?);
        respond(api, loaded.save(api).await?).await
    }

    /// Completes the vendor authorisation with the URI the vendor redirected to.
    async fn complete_auth_flow_for_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: CompleteAuthFlowInput,
    ) -> ApiResult<WizardPayload> {
        let api = api(ctx)?;
        let (mut loaded, step) = for_step(ctx, &input.wizard_id, &input.step_id).await?;
        if step != StepKind::AuthFlow
            || loaded.wizard.current(catalogue()?) != Some(StepKind::AuthFlow)
        {
            return Err(if step == StepKind::AuthFlow {
                KrakenError::with_message(
                    ErrorCode::StepParameters,
                    "The authorisation is already complete.",
                )
            } else {
                KrakenError::with_message(
                    ErrorCode::StepParameters,
                    "This step is not an authorisation.",
                )
            });
        }
        complete_auth(api, &mut loaded, &input.continuation_uri).await?;
        respond(api, loaded.save(api).await?).await
    }

    /// Gives the details the `UserInputRequired` step asks for.
    async fn complete_user_input_required_for_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: CompleteUserInputRequiredInput,
    ) -> ApiResult<WizardPayload> {
        let api = api(ctx)?;
        let (mut loaded, step) = for_step(ctx, &input.wizard_id, &input.step_id).await?;
        let catalogue = catalogue()?;
        let (path, current) = loaded.wizard.path(catalogue);
        if step != StepKind::UserInputRequired || !(current == Some(step) || path.contains(&step)) {
            return Err(KrakenError::new(ErrorCode::StepNotFound));
        }
        let mut vin = None;
        for item in &input.user_input {
            match item.key.trim() {
                "vin" => vin = Some(item.value.trim().to_ascii_uppercase()),
                other => {
                    return Err(KrakenError::with_message(
                        ErrorCode::StepInputInvalid,
                        format!("{other:?} is not an input of this step."),
                    ));
                }
            }
        }
        let vin = vin.ok_or_else(|| {
            KrakenError::with_message(ErrorCode::StepParameters, "The `vin` input is required.")
        })?;
        if !valid_vin(&vin) {
            return Err(KrakenError::with_message(
                ErrorCode::StepInputInvalid,
                "`vin` must be 17 letters and digits (no I, O or Q).",
            ));
        }
        if let Some(known) = loaded
            .wizard
            .chosen_device(catalogue)
            .and_then(|d| d.vin.clone())
            && known != vin
        {
            return Err(KrakenError::with_message(
                ErrorCode::StepInputInvalid,
                "`vin` does not match the vehicle the vendor reports.",
            ));
        }
        // Answering again rewinds the test charge.
        loaded.wizard.test = None;
        loaded.wizard.user_inputs.insert("vin".to_owned(), vin);
        respond(api, loaded.save(api).await?).await
    }

    /// Completes a `UserActionRequired` step. ResiFlex's journeys have none today, so any step id is
    /// refused (KT-CT-4377) or, for another step type, KT-CT-4375.
    async fn complete_user_action_for_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: StepInput,
    ) -> ApiResult<WizardPayload> {
        let (_loaded, _step) = for_step(ctx, &input.wizard_id, &input.step_id).await?;
        Err(KrakenError::with_message(
            ErrorCode::StepParameters,
            "This step needs no user action.",
        ))
    }

    /// Starts the test charge; fetch the wizard to follow it.
    async fn start_test_charge_for_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: StepInput,
    ) -> ApiResult<WizardPayload> {
        let api = api(ctx)?;
        let (mut loaded, step) = for_step(ctx, &input.wizard_id, &input.step_id).await?;
        let catalogue = catalogue()?;
        if step != StepKind::TestCharge {
            return Err(KrakenError::with_message(
                ErrorCode::StepParameters,
                "This step is not a test charge.",
            ));
        }
        if loaded.wizard.current(catalogue) != Some(StepKind::TestCharge) {
            return Err(KrakenError::new(ErrorCode::StepNotFound));
        }
        let mut device = ensure_device(api, &mut loaded).await?;
        let grant = grant(
            api,
            device
                .grant_id
                .ok_or_else(|| internal("device without grant"))?,
        )
        .await?;
        let provider = provider(api, &device.provider)?;
        let now = api.clock.now();
        let reading = provider
            .telemetry(&grant, &device.integration_device_id, now)
            .await
            .map_err(|_| KrakenError::new(ErrorCode::VehicleNotReadyForTest))?;
        if !ready_for_test(&reading) {
            if device.state == DeviceState::AuthenticationComplete.as_str() {
                transition(
                    &mut device,
                    Lifecycle::Onboarding,
                    DeviceState::TestChargeNotAvailable,
                    now,
                )?;
                store::update_device(&api.db, &device)
                    .await
                    .map_err(internal)?;
            }
            // The device record is kept, so the wizard is saved with it.
            let _ = loaded.save(api).await?;
            return Err(KrakenError::with_message(
                ErrorCode::VehicleNotReadyForTest,
                "Plug the vehicle in at home, then start the test charge again.",
            ));
        }
        if let Err(err) = provider
            .send(
                &grant,
                &device.integration_device_id,
                &Command::TestCharge,
                &uuid::Uuid::new_v4().to_string(),
                now,
            )
            .await
        {
            tracing::warn!(device = %device.id, error = %err, "the test charge could not be started");
            let _ = loaded.save(api).await?;
            return Err(KrakenError::new(ErrorCode::StepRetryLater));
        }
        transition(
            &mut device,
            Lifecycle::OnboardingTestInProgress,
            DeviceState::TestChargeInProgress,
            now,
        )?;
        store::update_device(&api.db, &device)
            .await
            .map_err(internal)?;
        loaded.wizard.test = Some(TestProgress {
            started_at: now,
            meter_at_start_wh: reading.energy_imported_wh,
            outcome: None,
        });
        respond(api, loaded.save(api).await?).await
    }
}
