//! The GraphQL types of the wizard: the wizard itself and its steps.

use super::*;

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
