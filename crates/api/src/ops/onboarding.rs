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
use resiflex_domain::catalogue::Catalogue;
use resiflex_domain::device::{DeviceKind, Lifecycle};
use resiflex_domain::wizard::{
    ListOption, StepKind, TestOutcome, TestProgress, Wizard, WizardError, WizardStatus, valid_vin,
};
use resiflex_store::devices::{self as store};

use super::{OperationErrors, OperationKind, api, protected as op};
use crate::auth::access::{account_for, may_see_account};
use crate::auth::{Caller, authorise};
use crate::context::ApiContext;
use crate::enums::{KrakenFlexDeviceTypes, SelectIntegrationChoices, TestChargeErrorType};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use resiflex_devices::onboarding::{self as journey, Journey, OnboardingError};

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

fn catalogue() -> ApiResult<&'static Catalogue> {
    Catalogue::get().map_err(|err| KrakenError::internal("onboarding", &err))
}

fn internal(err: impl std::fmt::Display) -> KrakenError {
    KrakenError::internal("onboarding", &err)
}

/// The Kraken error of an onboarding step that did not go ahead.
fn onboarding_error(err: OnboardingError) -> KrakenError {
    match err {
        OnboardingError::ConcurrentUpdate => KrakenError::new(ErrorCode::WizardConcurrentUpdate),
        OnboardingError::StepParameters(message) => {
            KrakenError::with_message(ErrorCode::StepParameters, message)
        }
        OnboardingError::DeviceTaken => {
            KrakenError::with_message(ErrorCode::StepParameters, err.to_string())
        }
        OnboardingError::StepNotFound => KrakenError::new(ErrorCode::StepNotFound),
        OnboardingError::RetryLater => KrakenError::new(ErrorCode::StepRetryLater),
        OnboardingError::ProviderUnavailable => KrakenError::new(ErrorCode::ProviderUnavailable),
        OnboardingError::NotReady { reason, message } => {
            let refused = KrakenError::with_message(ErrorCode::VehicleNotReadyForTest, message);
            match reason {
                Some(reason) => refused.extension("testChargeRefusalReasons", reason.as_str()),
                None => refused,
            }
        }
        OnboardingError::Store(err) => internal(err),
        OnboardingError::Internal(why) => internal(why),
    }
}

/// Loads a wizard the caller may see; anything else is KT-CT-4371.
async fn load(api: &ApiContext, caller: &Caller, wizard_id: &str) -> ApiResult<Journey> {
    let not_found = || KrakenError::new(ErrorCode::WizardNotFound);
    let row = resiflex_store::wizards::wizard_by_id(&api.db, wizard_id.trim())
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
    Ok(Journey::of(row))
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

// ---------------------------------------------------------------------------------------------
// GraphQL types

/// An onboarding journey.
pub struct SmartFlexOnboardingWizard {
    loaded: Journey,
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
    async fn build(api: &ApiContext, loaded: Journey) -> ApiResult<SmartFlexOnboardingWizard> {
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
            && let Some(provider) = api.providers.get(*name)
        {
            authorization_uri = provider.authorization_url(state, &redirect).await.ok();
        }
        let test_ready = if current == Some(StepKind::TestCharge) {
            journey::test_readiness(&api.devices, &loaded)
                .await
                .map_err(onboarding_error)?
        } else {
            None
        };
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

async fn respond(api: &ApiContext, loaded: Journey) -> ApiResult<WizardPayload> {
    let loaded = journey::advance(&api.devices, loaded)
        .await
        .map_err(onboarding_error)?;
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
    let loaded = journey::start(
        &api.devices,
        account.id,
        property.id,
        crate::auth::credentials::generate("st_"),
        wizard,
    )
    .await
    .map_err(onboarding_error)?;
    Ok(WizardPayload {
        wizard: SmartFlexOnboardingWizard::build(api, loaded).await?,
    })
}

/// Loads an open wizard for a step mutation and checks the step id.
async fn for_step(
    ctx: &Context<'_>,
    wizard_id: &ID,
    step_id: &ID,
) -> ApiResult<(Journey, StepKind)> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let loaded = load(api, &caller, wizard_id).await?;
    ensure_open(&loaded.wizard)?;
    let step = parse_step(&loaded.row.id, step_id)?;
    Ok((loaded, step))
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
        let loaded = journey::advance(&api.devices, load(api, &caller, &wizard_id).await?)
            .await
            .map_err(onboarding_error)?;
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
        let rows = resiflex_store::wizards::wizards_of_account(
            &api.db,
            account.id,
            property_id.map(i64::from),
        )
        .await
        .map_err(internal)?;
        let mut wizards = Vec::with_capacity(rows.len());
        for row in rows {
            let loaded = journey::advance(&api.devices, Journey::of(row))
                .await
                .map_err(onboarding_error)?;
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
        let supported = device.lifecycle != Lifecycle::Retired
            && api.providers.get(device.provider).is_some()
            && !device.provider.connects_itself();
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
            Wizard::reauthentication(&device.id, device.provider),
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
        let loaded = load(api, &caller, &input.wizard_id).await?;
        if loaded.wizard.status == WizardStatus::Cancelled {
            return Err(KrakenError::new(ErrorCode::WizardCancelled));
        }
        let loaded = journey::cancel(&api.devices, loaded)
            .await
            .map_err(onboarding_error)?;
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
        journey::choose_provider(&api.devices, &mut loaded.wizard, catalogue()?);
        if step == StepKind::SelectSessionDevice {
            journey::ensure_chosen_free(&api.devices, &loaded)
                .await
                .map_err(onboarding_error)?;
        }
        respond(
            api,
            loaded.save(&api.devices).await.map_err(onboarding_error)?,
        )
        .await
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
        journey::choose_provider(&api.devices, &mut loaded.wizard, catalogue()?);
        respond(
            api,
            loaded.save(&api.devices).await.map_err(onboarding_error)?,
        )
        .await
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
        journey::complete_auth(&api.devices, &mut loaded, &input.continuation_uri)
            .await
            .map_err(onboarding_error)?;
        respond(
            api,
            loaded.save(&api.devices).await.map_err(onboarding_error)?,
        )
        .await
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
        respond(
            api,
            loaded.save(&api.devices).await.map_err(onboarding_error)?,
        )
        .await
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
        let (loaded, step) = for_step(ctx, &input.wizard_id, &input.step_id).await?;
        if step != StepKind::TestCharge {
            return Err(KrakenError::with_message(
                ErrorCode::StepParameters,
                "This step is not a test charge.",
            ));
        }
        let loaded = journey::start_test_charge(&api.devices, loaded)
            .await
            .map_err(onboarding_error)?;
        respond(api, loaded).await
    }
}
