//! The GraphQL types of the wizard: the wizard itself and its steps.

use super::*;

/// An onboarding journey.
pub struct SmartFlexOnboardingWizard {
    loaded: Journey,
    authorization_uri: Option<String>,
    test_ready: Option<bool>,
    redirect_uri: String,
    /// Where the customer fulfils each requirement of the device at the vendor.
    requirement_urls: Vec<(Requirement, String)>,
    /// The virtual key's name, as the vendor's app shows it (this server's host).
    virtual_key: String,
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
            Some(DeviceKind::Thermostat) => "Connect your thermostat",
            Some(DeviceKind::ChargePoint) => "Connect your charger",
            Some(DeviceKind::ElectricVehicle) => "Connect your electric vehicle",
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

    /// The current step as a server-driven screen: texts and buttons described with
    /// `TextStyleV1`, `Alignment`, `ButtonStyle` and `ButtonVariance`. Version 1 is a
    /// `ComponentListType` with typed `items`; from version 2 a `GenericBackendScreen` carries
    /// the same content in `screenData` only.
    async fn backend_screen(
        &self,
        #[graphql(default = 1)] max_version_supported: i32,
    ) -> ApiResult<BackendScreenType> {
        let catalogue = catalogue()?;
        let current = if self.loaded.wizard.status == WizardStatus::InProgress {
            self.loaded.wizard.current(catalogue)
        } else {
            None
        };
        let step = current.map(|kind| self.step(kind, catalogue));
        super::screen::screen(&self.loaded, step.as_ref(), max_version_supported)
    }
}

impl SmartFlexOnboardingWizard {
    pub(super) async fn build(
        api: &ApiContext,
        loaded: Journey,
    ) -> ApiResult<SmartFlexOnboardingWizard> {
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
        let mut requirement_urls = Vec::new();
        if let Some(name) = loaded.wizard.provider
            && let Some(provider) = api.providers.get(name)
            && let Some(remote_id) = requirement_device(api, &loaded).await?
            && let Some(state) = &loaded.row.oauth_state
        {
            for requirement in loaded.wizard.requirements.iter().flatten() {
                if let Some(url) = provider.requirement_url(&remote_id, *requirement) {
                    let mut params = vec![("state", state.as_str())];
                    if *requirement == Requirement::Scopes {
                        params.push(("redirect_uri", redirect.as_str()));
                    }
                    requirement_urls.push((*requirement, add_query(&url, &params)));
                }
            }
        }
        let virtual_key = api
            .public_url
            .split("://")
            .nth(1)
            .unwrap_or(&api.public_url)
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        Ok(SmartFlexOnboardingWizard {
            loaded,
            authorization_uri,
            test_ready,
            redirect_uri: redirect,
            requirement_urls,
            virtual_key,
        })
    }

    fn requirement_url(&self, requirement: Requirement) -> Option<String> {
        self.requirement_urls
            .iter()
            .find(|(r, _)| *r == requirement)
            .map(|(_, url)| url.clone())
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
            StepKind::SelectUserVehicle => list!(SelectUserVehicle),
            StepKind::TeslaRegistrationFailed => Step::TeslaRegistrationFailed(TeslaRegistrationFailed {
                id,
                modify_scopes_selected: wizard.modify_scopes_selected,
            }),
            StepKind::TeslaModifyScopes => Step::TeslaModifyScopes(TeslaModifyScopes {
                id,
                modify_scopes_uri: self.requirement_url(Requirement::Scopes),
                redirect_uri: Some(self.redirect_uri.clone()),
            }),
            StepKind::TeslaSetupVirtualKey => Step::TeslaSetupVirtualKey(TeslaSetupVirtualKey {
                id,
                key: Some(self.virtual_key.clone()),
                uri: self.requirement_url(Requirement::VirtualKey),
            }),
            StepKind::UserActionRequired => Step::UserActionRequired(UserActionRequired {
                id,
                user_actions: wizard
                    .user_actions()
                    .into_iter()
                    .map(|r| UserActionType {
                        key: r.as_str().to_owned(),
                        description: r.description().to_owned(),
                        uri: self.requirement_url(r),
                        is_completed: wizard.fulfilled.contains(&r),
                    })
                    .collect(),
            }),
            StepKind::WaitForLiveIntegration => Step::WaitForLiveIntegration(WaitForLiveIntegration {
                id,
                is_live: wizard.fulfilled.contains(&Requirement::Activation),
            }),
            StepKind::Retry => Step::Retry(Retry {
                id,
                message: wizard
                    .retry
                    .clone()
                    .unwrap_or_else(|| "The step can be tried again.".to_owned()),
            }),
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
                message: wizard.terminal_error.clone().unwrap_or_else(|| {
                    if wizard.modify_scopes_selected == Some(false) {
                        "ResiFlex cannot control the vehicle without the permissions it asked for. Choose to grant them to carry on."
                    } else {
                        "The onboarding cannot continue."
                    }
                    .to_owned()
                }),
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
        StepKind::SelectUserVehicle => item.vehicle = Some(option.label),
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
    /// A vehicle behind the customer's vendor login (`SelectUserVehicle`).
    pub vehicle: Option<String>,
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

/// A list item of a SmartFlex onboarding step.
#[derive(Interface, Debug, Clone)]
#[graphql(
    name = "SmartFlexListItemInterface",
    field(
        name = "id",
        ty = "&ID",
        desc = "A unique identifier for this list item."
    )
)]
pub enum SmartFlexListItemInterface {
    SmartFlexListItem(SmartFlexListItem),
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

        impl $name {
            /// The options as `SelectFromList` serves them.
            async fn list_options(
                &self,
                _ctx: &Context<'_>,
            ) -> async_graphql::Result<Vec<SmartFlexListItemInterface>> {
                Ok(self.options.iter().cloned().map(Into::into).collect())
            }
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
    SelectUserVehicle,
);

/// A step where the customer selects one option from a list, with
/// `selectFromListForSmartFlexOnboarding`.
#[derive(Interface)]
#[graphql(
    name = "SelectFromList",
    field(
        name = "id",
        ty = "&ID",
        desc = "A unique identifier for this onboarding step."
    ),
    field(
        name = "options",
        ty = "Vec<SmartFlexListItemInterface>",
        method = "list_options",
        desc = "The options the user can select."
    ),
    field(
        name = "selected_option_id",
        ty = "&Option<ID>",
        desc = "The ID of the option that has been selected, if any."
    )
)]
pub enum SelectFromList {
    SelectDeviceType(SelectDeviceType),
    SelectVehicleMake(SelectVehicleMake),
    SelectVehicleVariant(SelectVehicleVariant),
    SelectChargePointMake(SelectChargePointMake),
    SelectChargePointVariant(SelectChargePointVariant),
    SelectHeatPumpMake(SelectHeatPumpMake),
    SelectHeatPumpVariant(SelectHeatPumpVariant),
    SelectBatteryMake(SelectBatteryMake),
    SelectBatteryVariant(SelectBatteryVariant),
    SelectInverterMake(SelectInverterMake),
    SelectInverterSystemType(SelectInverterSystemType),
    SelectSessionDevice(SelectSessionDevice),
    SelectUserVehicle(SelectUserVehicle),
}

/// The vendor refused the registration because the login did not grant every permission
/// ResiFlex needs. Answer with `completeTeslaRegistrationFailedForSmartFlexOnboarding`:
/// `modifyScopesSelected: true` goes on to `TeslaModifyScopes`, `false` ends the journey.
#[derive(SimpleObject, Debug, Clone)]
pub struct TeslaRegistrationFailed {
    pub id: ID,
    /// The customer's choice so far: true, false, or null before choosing.
    pub modify_scopes_selected: Option<bool>,
}

/// Send the customer to `modifyScopesUri` to grant the missing permissions; the vendor sends
/// them back to `redirectUri`. Then `completeUserActionForSmartFlexOnboarding`, which asks the
/// vendor whether the permissions were granted (KT-CT-4376 until they are).
#[derive(SimpleObject, Debug, Clone)]
pub struct TeslaModifyScopes {
    pub id: ID,
    pub modify_scopes_uri: Option<String>,
    pub redirect_uri: Option<String>,
}

/// Pair the virtual key `key` with the vehicle by opening `uri` (in the vendor's app), then
/// `completeTeslaSetupVirtualKeyForSmartFlexOnboarding`, which asks the vendor whether the key
/// is paired (KT-CT-4376 until it is).
#[derive(SimpleObject, Debug, Clone)]
pub struct TeslaSetupVirtualKey {
    pub id: ID,
    pub key: Option<String>,
    pub uri: Option<String>,
}

/// Something the customer must do at the vendor or on the device first.
#[derive(SimpleObject, Debug, Clone)]
pub struct UserActionType {
    /// `software-update`, `virtual-key` or `scopes`.
    pub key: String,
    pub description: String,
    /// Where to do it, when the vendor has a page for it.
    pub uri: Option<String>,
    /// Whether the vendor has confirmed it.
    pub is_completed: bool,
}

/// Do the `userActions`, then `completeUserActionForSmartFlexOnboarding`, which asks the vendor
/// whether they happened (KT-CT-4376 until they have).
#[derive(SimpleObject, Debug, Clone)]
pub struct UserActionRequired {
    pub id: ID,
    pub user_actions: Vec<UserActionType>,
}

/// The vendor has not switched the integration on yet; fetch the wizard again.
#[derive(SimpleObject, Debug, Clone)]
pub struct WaitForLiveIntegration {
    pub id: ID,
    pub is_live: bool,
}

/// The vendor could not be asked about the device; try again with
/// `completeRetryForSmartFlexOnboarding`.
#[derive(SimpleObject, Debug, Clone)]
pub struct Retry {
    pub id: ID,
    pub message: String,
}

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

/// Waiting for something outside ResiFlex (the vendor's answer about the device, the test
/// charge); fetch the wizard again.
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
    SelectUserVehicle(SelectUserVehicle),
    TeslaRegistrationFailed(TeslaRegistrationFailed),
    TeslaModifyScopes(TeslaModifyScopes),
    TeslaSetupVirtualKey(TeslaSetupVirtualKey),
    UserActionRequired(UserActionRequired),
    UserInputRequired(UserInputRequired),
    WaitForLiveIntegration(WaitForLiveIntegration),
    Retry(Retry),
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

/// The remote id of the device the vendor's requirements are about.
async fn requirement_device(api: &ApiContext, loaded: &Journey) -> ApiResult<Option<String>> {
    let wizard = &loaded.wizard;
    if let Some(device_id) = &wizard.reauthenticate_device {
        return Ok(store::device_by_id(&api.db, device_id)
            .await
            .map_err(internal)?
            .map(|d| d.integration_device_id));
    }
    Ok(wizard
        .chosen_device(catalogue()?)
        .map(|d| d.remote_id.clone()))
}

/// Adds `params` to a URL's query.
fn add_query(base: &str, params: &[(&str, &str)]) -> String {
    let encoded: Vec<String> = params
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                crate::sandbox::encode(k),
                crate::sandbox::encode(v)
            )
        })
        .collect();
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}{}", encoded.join("&"))
}
