//! The onboarding wizard as a pure state machine. It knows which step comes next from the answers
//! given so far; completing an earlier step again rewinds (the answers after it are dropped). The
//! orchestration (talking to providers, registering the device) lives outside; it records facts here
//! (`authorised`, `devices_found`, `test_outcome`, ...) and asks for the current step.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, CatalogueEntry, IntegrationStatus};
use crate::device::{DeviceKind, Provider};

/// The kinds of step, named as Kraken names their GraphQL types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StepKind {
    SelectDeviceType,
    SelectVehicleMake,
    SelectVehicleVariant,
    SelectChargePointMake,
    SelectChargePointVariant,
    SelectVehicleOrChargePoint,
    SelectHeatPumpMake,
    SelectHeatPumpVariant,
    SelectBatteryMake,
    SelectBatteryVariant,
    SelectInverterMake,
    SelectInverterSystemType,
    AuthFlow,
    /// What to enter in a charger that connects to ResiFlex itself (OCPP); completes when it
    /// connects and is accepted.
    OcppConnectionDetails,
    SelectSessionDevice,
    /// Which of the vehicles behind the customer's vendor login to connect.
    SelectUserVehicle,
    /// The vendor rejected the registration for missing permissions: does the customer want to
    /// grant them ([`Wizard::modify_scopes_selected`])?
    TeslaRegistrationFailed,
    /// Grant the missing permissions at the vendor.
    TeslaModifyScopes,
    /// Pair ResiFlex's virtual key with the vehicle, in the vendor's app.
    TeslaSetupVirtualKey,
    /// Something to do at the vendor or on the device first (a software update, for example).
    UserActionRequired,
    UserInputRequired,
    /// Waiting for the vendor to switch the integration on.
    WaitForLiveIntegration,
    /// The vendor could not be asked about the device; ask again.
    Retry,
    TestCharge,
    WaitForTransition,
    SmartFlexOnboardingDeviceRegistration,
    UnsupportedCombination,
    TerminalError,
}

impl StepKind {
    /// Every kind of step.
    pub const ALL: &'static [StepKind] = &[
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
        StepKind::SelectUserVehicle,
        StepKind::TeslaRegistrationFailed,
        StepKind::TeslaModifyScopes,
        StepKind::TeslaSetupVirtualKey,
        StepKind::UserActionRequired,
        StepKind::UserInputRequired,
        StepKind::WaitForLiveIntegration,
        StepKind::Retry,
        StepKind::TestCharge,
        StepKind::WaitForTransition,
        StepKind::SmartFlexOnboardingDeviceRegistration,
        StepKind::UnsupportedCombination,
        StepKind::TerminalError,
    ];

    /// The kind of step with this name (as in a step id).
    pub fn named(name: &str) -> Option<StepKind> {
        StepKind::ALL
            .iter()
            .copied()
            .find(|step| step.name() == name)
    }

    pub const fn name(self) -> &'static str {
        match self {
            StepKind::SelectDeviceType => "SelectDeviceType",
            StepKind::SelectVehicleMake => "SelectVehicleMake",
            StepKind::SelectVehicleVariant => "SelectVehicleVariant",
            StepKind::SelectChargePointMake => "SelectChargePointMake",
            StepKind::SelectChargePointVariant => "SelectChargePointVariant",
            StepKind::SelectVehicleOrChargePoint => "SelectVehicleOrChargePoint",
            StepKind::SelectHeatPumpMake => "SelectHeatPumpMake",
            StepKind::SelectHeatPumpVariant => "SelectHeatPumpVariant",
            StepKind::SelectBatteryMake => "SelectBatteryMake",
            StepKind::SelectBatteryVariant => "SelectBatteryVariant",
            StepKind::SelectInverterMake => "SelectInverterMake",
            StepKind::SelectInverterSystemType => "SelectInverterSystemType",
            StepKind::AuthFlow => "AuthFlow",
            StepKind::OcppConnectionDetails => "OcppConnectionDetails",
            StepKind::SelectSessionDevice => "SelectSessionDevice",
            StepKind::SelectUserVehicle => "SelectUserVehicle",
            StepKind::TeslaRegistrationFailed => "TeslaRegistrationFailed",
            StepKind::TeslaModifyScopes => "TeslaModifyScopes",
            StepKind::TeslaSetupVirtualKey => "TeslaSetupVirtualKey",
            StepKind::UserActionRequired => "UserActionRequired",
            StepKind::UserInputRequired => "UserInputRequired",
            StepKind::WaitForLiveIntegration => "WaitForLiveIntegration",
            StepKind::Retry => "Retry",
            StepKind::TestCharge => "TestCharge",
            StepKind::WaitForTransition => "WaitForTransition",
            StepKind::SmartFlexOnboardingDeviceRegistration => {
                "SmartFlexOnboardingDeviceRegistration"
            }
            StepKind::UnsupportedCombination => "UnsupportedCombination",
            StepKind::TerminalError => "TerminalError",
        }
    }

    /// Steps completed by choosing from a list (`selectFromListForSmartFlexOnboarding`).
    pub const fn is_list(self) -> bool {
        matches!(
            self,
            StepKind::SelectDeviceType
                | StepKind::SelectVehicleMake
                | StepKind::SelectVehicleVariant
                | StepKind::SelectChargePointMake
                | StepKind::SelectChargePointVariant
                | StepKind::SelectHeatPumpMake
                | StepKind::SelectHeatPumpVariant
                | StepKind::SelectBatteryMake
                | StepKind::SelectBatteryVariant
                | StepKind::SelectInverterMake
                | StepKind::SelectInverterSystemType
                | StepKind::SelectSessionDevice
                | StepKind::SelectUserVehicle
        )
    }

    /// Whether a customer can go back to this step and choose again.
    pub const fn is_rewindable(self) -> bool {
        self.is_list()
            || matches!(
                self,
                StepKind::SelectVehicleOrChargePoint
                    | StepKind::UserInputRequired
                    | StepKind::TeslaRegistrationFailed
            )
    }
}

/// The answer meaning "my charger is not listed / I have none".
pub const NO_CHARGER: &str = "NONE";

/// The device types a customer can start with, as `KrakenFlexDeviceTypes` values.
pub const DEVICE_TYPES: &[(&str, DeviceKind)] = &[
    ("ELECTRIC_VEHICLES", DeviceKind::ElectricVehicle),
    ("HEAT_PUMPS", DeviceKind::HeatPump),
    ("BATTERIES", DeviceKind::Battery),
    ("INVERTERS", DeviceKind::Inverter),
    ("THERMOSTATS", DeviceKind::Thermostat),
];

/// The connection details issued to a device that connects to ResiFlex itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    /// The provider the device was enrolled with, and the key of the enrolment.
    pub provider: Provider,
    pub key: String,
    pub websocket_url: String,
    pub device_id: String,
    /// Shown to the customer until the device has connected, then forgotten (ResiFlex keeps only
    /// a hash of it).
    pub password: Option<String>,
}

/// Which integration controls an EV set-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Integration {
    Vehicle,
    ChargePoint,
}

impl Integration {
    pub const fn as_str(self) -> &'static str {
        match self {
            Integration::Vehicle => "ELECTRIC_VEHICLE",
            Integration::ChargePoint => "CHARGE_POINT",
        }
    }
}

/// Something the vendor needs before ResiFlex can control a device. The vendor reports them
/// (`DeviceProvider::requirements`); the customer fulfils the first three at the vendor, in its app
/// or on the device, and the vendor itself the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Requirement {
    /// ResiFlex's virtual key is not paired with the vehicle (Tesla's vehicle command protocol).
    VirtualKey,
    /// The login did not grant every permission (scope) ResiFlex needs.
    Scopes,
    /// The device needs a software update first.
    SoftwareUpdate,
    /// The vendor has not switched the integration on yet.
    Activation,
}

impl Requirement {
    pub const ALL: &'static [Requirement] = &[
        Requirement::VirtualKey,
        Requirement::Scopes,
        Requirement::SoftwareUpdate,
        Requirement::Activation,
    ];

    /// The requirement's name in URLs and user actions.
    pub const fn as_str(self) -> &'static str {
        match self {
            Requirement::VirtualKey => "virtual-key",
            Requirement::Scopes => "scopes",
            Requirement::SoftwareUpdate => "software-update",
            Requirement::Activation => "activation",
        }
    }

    pub fn parse(text: &str) -> Option<Requirement> {
        Requirement::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == text)
    }

    /// Whether the customer fulfils it (rather than the vendor, in its own time).
    pub const fn by_customer(self) -> bool {
        !matches!(self, Requirement::Activation)
    }

    /// What the customer is asked to do.
    pub const fn description(self) -> &'static str {
        match self {
            Requirement::VirtualKey => {
                "Pair the ResiFlex virtual key with your vehicle in the vendor's app."
            }
            Requirement::Scopes => {
                "Allow ResiFlex every permission it needs to read and control your device."
            }
            Requirement::SoftwareUpdate => {
                "Install the latest software update on your device in the vendor's app."
            }
            Requirement::Activation => "The vendor is switching the integration on.",
        }
    }
}

/// A device found behind the customer's vendor login.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoundDevice {
    pub remote_id: String,
    pub kind: DeviceKind,
    pub make: String,
    pub model: String,
    pub vin: Option<String>,
}

/// How a test charge ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TestOutcome {
    Passed,
    Failed { reason: String },
}

/// A test charge under way or finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestProgress {
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub meter_at_start_wh: i64,
    pub outcome: Option<TestOutcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WizardStatus {
    InProgress,
    Complete,
    Cancelled,
}

/// Everything a wizard knows. Stored as JSON; every field has a default so older rows still load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Wizard {
    pub status: WizardStatus,
    /// Answers to the list steps and the integration choice, by step.
    pub answers: BTreeMap<StepKind, String>,
    /// The provider chosen for the integration.
    pub provider: Option<Provider>,
    /// The vendor grant, once the customer authorised.
    pub grant_id: Option<i64>,
    /// What went wrong at the vendor, to show on the `AuthFlow` step.
    pub auth_error: Option<String>,
    pub found_devices: Vec<FoundDevice>,
    /// Validated user inputs by key (for example `vin`).
    pub user_inputs: BTreeMap<String, String>,
    /// The registered device.
    pub device_id: Option<String>,
    pub test: Option<TestProgress>,
    /// Set when the journey cannot finish.
    pub terminal_error: Option<String>,
    /// Re-authentication of an existing device: only `AuthFlow` is asked.
    pub reauthenticate_device: Option<String>,
    /// The connection details of a device that connects to ResiFlex itself.
    pub enrolment: Option<Enrolment>,
    /// What the vendor required for the chosen device when it was asked; `None` until then.
    pub requirements: Option<Vec<Requirement>>,
    /// The requirements the vendor has confirmed as fulfilled since.
    pub fulfilled: std::collections::BTreeSet<Requirement>,
    /// The customer's answer at `TeslaRegistrationFailed`: grant the missing permissions or not.
    pub modify_scopes_selected: Option<bool>,
    /// Why the vendor could not be asked about the device (the `Retry` step until asked again).
    pub retry: Option<String>,
    /// Steps completed, oldest first (rebuilt on every change).
    pub completed: Vec<StepKind>,
}

impl Default for Wizard {
    fn default() -> Self {
        Wizard {
            status: WizardStatus::InProgress,
            answers: BTreeMap::new(),
            provider: None,
            grant_id: None,
            auth_error: None,
            found_devices: Vec::new(),
            user_inputs: BTreeMap::new(),
            device_id: None,
            test: None,
            terminal_error: None,
            reauthenticate_device: None,
            enrolment: None,
            requirements: None,
            fulfilled: std::collections::BTreeSet::new(),
            modify_scopes_selected: None,
            retry: None,
            completed: Vec::new(),
        }
    }
}

/// An option of a list step.
#[derive(Debug, Clone, PartialEq)]
pub struct ListOption {
    pub id: String,
    pub label: String,
}

/// Why a wizard refused an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WizardError {
    #[error("the wizard has been cancelled")]
    Cancelled,
    #[error("the wizard is complete")]
    Complete,
    #[error("{0} is not a step of this wizard")]
    UnknownStep(String),
    #[error("this step is not answered that way")]
    WrongStepType,
    #[error("{0:?} is not one of the options")]
    UnknownOption(String),
    #[error("this step cannot be changed any more")]
    NotRewindable,
}

/// A VIN: 17 characters, digits and capital letters except I, O and Q.
pub fn valid_vin(vin: &str) -> bool {
    vin.len() == 17
        && vin.chars().all(|c| {
            c.is_ascii_digit() || (c.is_ascii_uppercase() && !matches!(c, 'I' | 'O' | 'Q'))
        })
}

fn live(status: IntegrationStatus) -> bool {
    status == IntegrationStatus::GenerallyAvailable
}

impl Wizard {
    /// A wizard that only re-authenticates an existing device through `provider`.
    pub fn reauthentication(device_id: &str, provider: Provider) -> Wizard {
        Wizard {
            reauthenticate_device: Some(device_id.to_owned()),
            provider: Some(provider),
            ..Wizard::default()
        }
    }

    /// Whether the chosen provider's devices connect to ResiFlex themselves.
    pub fn self_connecting(&self) -> bool {
        self.provider.is_some_and(Provider::connects_itself)
    }

    /// The step that gives ResiFlex access to the device: the vendor's consent, or the connection
    /// details of a device that connects itself.
    fn access_step(&self) -> StepKind {
        if self.self_connecting() {
            StepKind::OcppConnectionDetails
        } else {
            StepKind::AuthFlow
        }
    }

    fn answer(&self, step: StepKind) -> Option<&str> {
        self.answers.get(&step).map(String::as_str)
    }

    /// The device kind chosen at the first step.
    pub fn device_type(&self) -> Option<DeviceKind> {
        let chosen = self.answer(StepKind::SelectDeviceType)?;
        DEVICE_TYPES
            .iter()
            .find(|(id, _)| *id == chosen)
            .map(|(_, kind)| *kind)
    }

    /// What the heating steps list: thermostats when the customer connects a thermostat, heat
    /// pumps otherwise.
    fn heating_kind(&self) -> DeviceKind {
        match self.device_type() {
            Some(DeviceKind::Thermostat) => DeviceKind::Thermostat,
            _ => DeviceKind::HeatPump,
        }
    }

    /// The catalogue entry of the device that will be integrated, and its kind.
    pub fn integrated_entry<'c>(&self, catalogue: &'c Catalogue) -> Option<&'c dyn CatalogueEntry> {
        let id = match self.device_type()? {
            DeviceKind::ElectricVehicle | DeviceKind::ChargePoint => {
                match self.integration(catalogue)? {
                    Integration::Vehicle => self.answer(StepKind::SelectVehicleVariant)?,
                    Integration::ChargePoint => self.answer(StepKind::SelectChargePointVariant)?,
                }
            }
            // A thermostat is chosen on the heating steps, from the thermostats.
            DeviceKind::HeatPump | DeviceKind::Thermostat => {
                self.answer(StepKind::SelectHeatPumpVariant)?
            }
            DeviceKind::Battery => self.answer(StepKind::SelectBatteryVariant)?,
            DeviceKind::Inverter => self.answer(StepKind::SelectInverterSystemType)?,
        };
        catalogue.entry(id)
    }

    /// For an EV set-up: which integration controls it, once that is decided.
    pub fn integration(&self, catalogue: &Catalogue) -> Option<Integration> {
        let vehicle_live = catalogue
            .entry(self.answer(StepKind::SelectVehicleVariant)?)
            .is_some_and(|e| live(e.integration_status()));
        let charger = self.answer(StepKind::SelectChargePointMake)?;
        let charger_live = charger != NO_CHARGER
            && catalogue
                .entry(self.answer(StepKind::SelectChargePointVariant)?)
                .is_some_and(|e| live(e.integration_status()));
        match (vehicle_live, charger_live) {
            (true, true) => match self.answer(StepKind::SelectVehicleOrChargePoint)? {
                "CHARGE_POINT" => Some(Integration::ChargePoint),
                _ => Some(Integration::Vehicle),
            },
            (true, false) => Some(Integration::Vehicle),
            (false, true) => Some(Integration::ChargePoint),
            (false, false) => None,
        }
    }

    /// The kind of the device that will be registered.
    pub fn registered_kind(&self, catalogue: &Catalogue) -> Option<DeviceKind> {
        self.integrated_entry(catalogue).map(|e| e.kind())
    }

    /// The path of steps from the first to the current one (included), given the answers and facts so
    /// far. The current step is the last; `None` as current means the wizard is complete.
    pub fn path(&self, catalogue: &Catalogue) -> (Vec<StepKind>, Option<StepKind>) {
        let mut path = Vec::new();
        let current = self.walk(catalogue, &mut path);
        (path, current)
    }

    fn walk(&self, catalogue: &Catalogue, path: &mut Vec<StepKind>) -> Option<StepKind> {
        macro_rules! ask {
            ($step:expr) => {{
                if self.answer($step).is_none() {
                    return Some($step);
                }
                path.push($step);
            }};
        }
        if self.status == WizardStatus::Complete {
            return None;
        }
        if let Some(error) = &self.terminal_error {
            let _ = error;
            return Some(StepKind::TerminalError);
        }
        if self.reauthenticate_device.is_none() {
            ask!(StepKind::SelectDeviceType);
            let Some(kind) = self.device_type() else {
                return Some(StepKind::SelectDeviceType);
            };
            match kind {
                DeviceKind::ElectricVehicle | DeviceKind::ChargePoint => {
                    ask!(StepKind::SelectVehicleMake);
                    ask!(StepKind::SelectVehicleVariant);
                    ask!(StepKind::SelectChargePointMake);
                    if self.answer(StepKind::SelectChargePointMake) != Some(NO_CHARGER) {
                        ask!(StepKind::SelectChargePointVariant);
                    }
                    let vehicle_live = self
                        .answer(StepKind::SelectVehicleVariant)
                        .and_then(|id| catalogue.entry(id))
                        .is_some_and(|e| live(e.integration_status()));
                    let charger_live = self.answer(StepKind::SelectChargePointMake)
                        != Some(NO_CHARGER)
                        && self
                            .answer(StepKind::SelectChargePointVariant)
                            .and_then(|id| catalogue.entry(id))
                            .is_some_and(|e| live(e.integration_status()));
                    if vehicle_live && charger_live {
                        ask!(StepKind::SelectVehicleOrChargePoint);
                    }
                    if self.integration(catalogue).is_none() {
                        return Some(StepKind::UnsupportedCombination);
                    }
                }
                DeviceKind::HeatPump | DeviceKind::Thermostat => {
                    ask!(StepKind::SelectHeatPumpMake);
                    ask!(StepKind::SelectHeatPumpVariant);
                }
                DeviceKind::Battery => {
                    ask!(StepKind::SelectBatteryMake);
                    ask!(StepKind::SelectBatteryVariant);
                }
                DeviceKind::Inverter => {
                    ask!(StepKind::SelectInverterMake);
                    ask!(StepKind::SelectInverterSystemType);
                }
            }
            match self.integrated_entry(catalogue) {
                Some(entry) if live(entry.integration_status()) && self.provider.is_some() => {}
                _ => return Some(StepKind::UnsupportedCombination),
            }
        }
        if self.grant_id.is_none() {
            return Some(self.access_step());
        }
        path.push(self.access_step());
        let reauthenticating = self.reauthenticate_device.is_some();
        let kind = self.registered_kind(catalogue);
        if !reauthenticating {
            let candidates = self
                .found_devices
                .iter()
                .filter(|d| Some(d.kind) == kind)
                .count();
            if candidates > 1 {
                ask!(self.selection_step(catalogue));
            }
        }
        if let Some(step) = self.requirement_steps(path) {
            return Some(step);
        }
        if reauthenticating {
            // The device moves to the new grant at the registration step.
            return Some(StepKind::SmartFlexOnboardingDeviceRegistration);
        }
        if kind == Some(DeviceKind::ElectricVehicle) {
            if !self.user_inputs.contains_key("vin") {
                return Some(StepKind::UserInputRequired);
            }
            path.push(StepKind::UserInputRequired);
        }
        if kind.is_some_and(DeviceKind::needs_test_charge) && !self.self_connecting() {
            match &self.test {
                None => return Some(StepKind::TestCharge),
                Some(TestProgress { outcome: None, .. }) => {
                    path.push(StepKind::TestCharge);
                    return Some(StepKind::WaitForTransition);
                }
                Some(TestProgress {
                    outcome: Some(TestOutcome::Failed { .. }),
                    ..
                }) => return Some(StepKind::TestCharge),
                Some(TestProgress {
                    outcome: Some(TestOutcome::Passed),
                    ..
                }) => {
                    path.push(StepKind::TestCharge);
                    path.push(StepKind::WaitForTransition);
                }
            }
        }
        Some(StepKind::SmartFlexOnboardingDeviceRegistration)
    }

    /// The step that chooses one of several devices behind the login: `SelectUserVehicle` for
    /// vehicles, `SelectSessionDevice` for anything else.
    pub fn selection_step(&self, catalogue: &Catalogue) -> StepKind {
        if self.registered_kind(catalogue) == Some(DeviceKind::ElectricVehicle) {
            StepKind::SelectUserVehicle
        } else {
            StepKind::SelectSessionDevice
        }
    }

    /// Whether the integration is Tesla's, whose requirements have steps of their own.
    pub fn tesla(&self) -> bool {
        matches!(self.provider, Some(Provider::Tesla | Provider::TeslaV2))
    }

    /// The requirements the `UserActionRequired` step lists: those the customer fulfils that no
    /// vendor-specific step covers.
    pub fn user_actions(&self) -> Vec<Requirement> {
        let tesla = self.tesla();
        self.requirements
            .iter()
            .flatten()
            .copied()
            .filter(|r| {
                r.by_customer()
                    && !(tesla && matches!(r, Requirement::VirtualKey | Requirement::Scopes))
            })
            .collect()
    }

    /// The requirements a step waits for, once the vendor has been asked.
    pub fn requirements_of(&self, step: StepKind) -> Vec<Requirement> {
        let required = |r: Requirement| {
            self.requirements
                .as_ref()
                .is_some_and(|all| all.contains(&r))
        };
        match step {
            StepKind::TeslaModifyScopes if required(Requirement::Scopes) => {
                vec![Requirement::Scopes]
            }
            StepKind::TeslaSetupVirtualKey if required(Requirement::VirtualKey) => {
                vec![Requirement::VirtualKey]
            }
            StepKind::UserActionRequired => self.user_actions(),
            StepKind::WaitForLiveIntegration if required(Requirement::Activation) => {
                vec![Requirement::Activation]
            }
            _ => Vec::new(),
        }
    }

    /// The steps of what the vendor requires for the device, in order; the first one not done is
    /// current (`WaitForTransition` while the vendor has not been asked, `Retry` when asking failed).
    fn requirement_steps(&self, path: &mut Vec<StepKind>) -> Option<StepKind> {
        if self.retry.is_some() {
            return Some(StepKind::Retry);
        }
        let Some(required) = &self.requirements else {
            return Some(StepKind::WaitForTransition);
        };
        let done = |r: &Requirement| self.fulfilled.contains(r);
        let tesla = self.tesla();
        if tesla && required.contains(&Requirement::Scopes) {
            match self.modify_scopes_selected {
                None => return Some(StepKind::TeslaRegistrationFailed),
                Some(false) => {
                    path.push(StepKind::TeslaRegistrationFailed);
                    return Some(StepKind::TerminalError);
                }
                Some(true) => {
                    path.push(StepKind::TeslaRegistrationFailed);
                    if !done(&Requirement::Scopes) {
                        return Some(StepKind::TeslaModifyScopes);
                    }
                    path.push(StepKind::TeslaModifyScopes);
                }
            }
        }
        if tesla && required.contains(&Requirement::VirtualKey) {
            if !done(&Requirement::VirtualKey) {
                return Some(StepKind::TeslaSetupVirtualKey);
            }
            path.push(StepKind::TeslaSetupVirtualKey);
        }
        let actions = self.user_actions();
        if !actions.is_empty() {
            if !actions.iter().all(done) {
                return Some(StepKind::UserActionRequired);
            }
            path.push(StepKind::UserActionRequired);
        }
        if required.contains(&Requirement::Activation) {
            if !done(&Requirement::Activation) {
                return Some(StepKind::WaitForLiveIntegration);
            }
            path.push(StepKind::WaitForLiveIntegration);
        }
        None
    }

    /// The customer's answer at `TeslaRegistrationFailed` (the current step, or an earlier one to
    /// change it): `true` goes on to `TeslaModifyScopes`, `false` ends the journey.
    pub fn decide_scopes(
        &mut self,
        modify: bool,
        catalogue: &Catalogue,
    ) -> Result<(), WizardError> {
        match self.status {
            WizardStatus::Cancelled => return Err(WizardError::Cancelled),
            WizardStatus::Complete => return Err(WizardError::Complete),
            WizardStatus::InProgress => {}
        }
        let (path, current) = self.path(catalogue);
        let step = StepKind::TeslaRegistrationFailed;
        if current != Some(step) && !path.contains(&step) {
            return Err(WizardError::UnknownStep(step.name().to_owned()));
        }
        if self.modify_scopes_selected != Some(modify) {
            self.modify_scopes_selected = Some(modify);
            self.fulfilled.remove(&Requirement::Scopes);
            self.fulfilled.remove(&Requirement::VirtualKey);
            self.user_inputs.clear();
            self.test = None;
        }
        Ok(())
    }

    /// The vendor confirmed `fulfilled` for the chosen device.
    pub fn confirm(&mut self, fulfilled: &[Requirement]) {
        self.fulfilled.extend(fulfilled.iter().copied());
    }

    /// The current step, or `None` when the journey is complete.
    pub fn current(&self, catalogue: &Catalogue) -> Option<StepKind> {
        self.path(catalogue).1
    }

    /// The options of a list step, given the answers before it.
    pub fn options(&self, step: StepKind, catalogue: &Catalogue) -> Vec<ListOption> {
        let makes = |kind: DeviceKind| -> Vec<ListOption> {
            catalogue
                .makes(kind)
                .into_iter()
                .map(|m| ListOption {
                    id: m.to_owned(),
                    label: m.to_owned(),
                })
                .collect()
        };
        let models = |kind: DeviceKind, make_step: StepKind| -> Vec<ListOption> {
            let Some(make) = self.answer(make_step) else {
                return Vec::new();
            };
            catalogue
                .models(kind, make)
                .into_iter()
                .map(|e| ListOption {
                    id: e.id().to_owned(),
                    label: e.model().to_owned(),
                })
                .collect()
        };
        match step {
            StepKind::SelectDeviceType => DEVICE_TYPES
                .iter()
                .filter(|(_, kind)| !catalogue.entries(*kind).is_empty())
                .map(|(id, _)| ListOption {
                    id: (*id).to_owned(),
                    label: (*id).to_owned(),
                })
                .collect(),
            StepKind::SelectVehicleMake => makes(DeviceKind::ElectricVehicle),
            StepKind::SelectVehicleVariant => {
                models(DeviceKind::ElectricVehicle, StepKind::SelectVehicleMake)
            }
            StepKind::SelectChargePointMake => {
                let mut options = makes(DeviceKind::ChargePoint);
                options.push(ListOption {
                    id: NO_CHARGER.to_owned(),
                    label: "My charger is not listed".to_owned(),
                });
                options
            }
            StepKind::SelectChargePointVariant => {
                models(DeviceKind::ChargePoint, StepKind::SelectChargePointMake)
            }
            StepKind::SelectHeatPumpMake => makes(self.heating_kind()),
            StepKind::SelectHeatPumpVariant => {
                models(self.heating_kind(), StepKind::SelectHeatPumpMake)
            }
            StepKind::SelectBatteryMake => makes(DeviceKind::Battery),
            StepKind::SelectBatteryVariant => {
                models(DeviceKind::Battery, StepKind::SelectBatteryMake)
            }
            StepKind::SelectInverterMake => makes(DeviceKind::Inverter),
            StepKind::SelectInverterSystemType => {
                models(DeviceKind::Inverter, StepKind::SelectInverterMake)
            }
            StepKind::SelectSessionDevice | StepKind::SelectUserVehicle => {
                let kind = self.registered_kind(catalogue);
                self.found_devices
                    .iter()
                    .filter(|d| Some(d.kind) == kind)
                    .map(|d| ListOption {
                        id: d.remote_id.clone(),
                        label: format!("{} {}", d.make, d.model),
                    })
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// Answers a step (the current one, or an earlier one to rewind). Answers after it are dropped.
    pub fn answer_step(
        &mut self,
        step: StepKind,
        value: &str,
        catalogue: &Catalogue,
    ) -> Result<(), WizardError> {
        match self.status {
            WizardStatus::Cancelled => return Err(WizardError::Cancelled),
            WizardStatus::Complete => return Err(WizardError::Complete),
            WizardStatus::InProgress => {}
        }
        let (path, current) = self.path(catalogue);
        let position = if current == Some(step) {
            path.len()
        } else {
            let Some(position) = path.iter().position(|s| *s == step) else {
                return Err(WizardError::UnknownStep(step.name().to_owned()));
            };
            if !step.is_rewindable() {
                return Err(WizardError::NotRewindable);
            }
            position
        };
        let valid = match step {
            StepKind::SelectVehicleOrChargePoint => {
                matches!(value, "ELECTRIC_VEHICLE" | "CHARGE_POINT")
            }
            s if s.is_list() => self.options(s, catalogue).iter().any(|o| o.id == value),
            _ => return Err(WizardError::WrongStepType),
        };
        if !valid {
            return Err(WizardError::UnknownOption(value.to_owned()));
        }
        // Rewind: forget every answer and fact that came after this step.
        for later in path.iter().skip(position) {
            self.answers.remove(later);
        }
        if position < path.len() {
            self.forget_after_selection(step);
        }
        self.answers.insert(step, value.to_owned());
        if step.is_list()
            && !matches!(
                step,
                StepKind::SelectSessionDevice | StepKind::SelectUserVehicle
            )
            || step == StepKind::SelectVehicleOrChargePoint
        {
            self.provider = None;
        }
        Ok(())
    }

    fn forget_after_selection(&mut self, step: StepKind) {
        if !matches!(
            step,
            StepKind::SelectSessionDevice | StepKind::SelectUserVehicle
        ) {
            self.grant_id = None;
            self.auth_error = None;
            self.found_devices.clear();
            self.answers.remove(&StepKind::SelectSessionDevice);
            self.answers.remove(&StepKind::SelectUserVehicle);
        }
        self.forget_requirements();
        self.user_inputs.clear();
        self.test = None;
        self.device_id = None;
    }

    /// Forgets what the vendor required for the device chosen before.
    pub fn forget_requirements(&mut self) {
        self.requirements = None;
        self.fulfilled.clear();
        self.modify_scopes_selected = None;
        self.retry = None;
    }

    /// The remote device that will be registered: the chosen one, or the only one of the kind.
    pub fn chosen_device(&self, catalogue: &Catalogue) -> Option<&FoundDevice> {
        let kind = self.registered_kind(catalogue);
        let candidates: Vec<&FoundDevice> = self
            .found_devices
            .iter()
            .filter(|d| Some(d.kind) == kind)
            .collect();
        let chosen = self
            .answer(StepKind::SelectSessionDevice)
            .or_else(|| self.answer(StepKind::SelectUserVehicle));
        match chosen {
            Some(id) => candidates.into_iter().find(|d| d.remote_id == id),
            None if candidates.len() == 1 => candidates.into_iter().next(),
            None => None,
        }
    }

    /// Rebuilds `completed` from the path, so clients can show the journey so far.
    pub fn refresh_completed(&mut self, catalogue: &Catalogue) {
        let (path, _) = self.path(catalogue);
        self.completed = path;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> &'static Catalogue {
        Catalogue::get().unwrap()
    }

    fn first_live(kind: DeviceKind) -> &'static dyn CatalogueEntry {
        catalogue()
            .entries(kind)
            .into_iter()
            .find(|e| live(e.integration_status()))
            .unwrap()
    }

    fn ev_wizard() -> Wizard {
        let c = catalogue();
        let vehicle = first_live(DeviceKind::ElectricVehicle);
        let mut w = Wizard::default();
        w.answer_step(StepKind::SelectDeviceType, "ELECTRIC_VEHICLES", c)
            .unwrap();
        w.answer_step(StepKind::SelectVehicleMake, vehicle.make(), c)
            .unwrap();
        w.answer_step(StepKind::SelectVehicleVariant, vehicle.id(), c)
            .unwrap();
        w.answer_step(StepKind::SelectChargePointMake, NO_CHARGER, c)
            .unwrap();
        w.provider = vehicle.providers().first().copied();
        w
    }

    #[test]
    fn every_step_is_found_by_its_name() {
        let names: std::collections::BTreeSet<&str> =
            StepKind::ALL.iter().map(|step| step.name()).collect();
        assert_eq!(names.len(), StepKind::ALL.len());
        for step in StepKind::ALL {
            assert_eq!(StepKind::named(step.name()), Some(*step));
        }
        assert_eq!(StepKind::named("NoSuchStep"), None);
    }

    #[test]
    fn an_ev_journey_goes_step_by_step() {
        let c = catalogue();
        let mut w = Wizard::default();
        assert_eq!(w.current(c), Some(StepKind::SelectDeviceType));
        w = ev_wizard();
        assert_eq!(w.current(c), Some(StepKind::AuthFlow));
        w.grant_id = Some(1);
        let vehicle = first_live(DeviceKind::ElectricVehicle);
        w.found_devices.push(FoundDevice {
            remote_id: "car-1".into(),
            kind: DeviceKind::ElectricVehicle,
            make: vehicle.make().into(),
            model: vehicle.model().into(),
            vin: None,
        });
        assert_eq!(
            w.current(c),
            Some(StepKind::WaitForTransition),
            "one car: no selection step; the vendor is asked what it requires"
        );
        w.requirements = Some(Vec::new());
        assert_eq!(w.current(c), Some(StepKind::UserInputRequired));
        w.user_inputs
            .insert("vin".into(), "WVWZZZ1JZXW000001".into());
        assert_eq!(w.current(c), Some(StepKind::TestCharge));
        w.test = Some(TestProgress {
            started_at: chrono::Utc::now(),
            meter_at_start_wh: 0,
            outcome: None,
        });
        assert_eq!(w.current(c), Some(StepKind::WaitForTransition));
        w.test.as_mut().unwrap().outcome = Some(TestOutcome::Passed);
        assert_eq!(
            w.current(c),
            Some(StepKind::SmartFlexOnboardingDeviceRegistration)
        );
        w.status = WizardStatus::Complete;
        assert_eq!(w.current(c), None);
    }

    #[test]
    fn two_cars_ask_which_one_and_rewinding_drops_later_answers() {
        let c = catalogue();
        let mut w = ev_wizard();
        w.grant_id = Some(1);
        for id in ["car-1", "car-2"] {
            w.found_devices.push(FoundDevice {
                remote_id: id.into(),
                kind: DeviceKind::ElectricVehicle,
                make: "X".into(),
                model: "Y".into(),
                vin: None,
            });
        }
        assert_eq!(w.current(c), Some(StepKind::SelectUserVehicle));
        assert_eq!(
            w.answer_step(StepKind::SelectUserVehicle, "car-3", c),
            Err(WizardError::UnknownOption("car-3".into()))
        );
        w.answer_step(StepKind::SelectUserVehicle, "car-2", c)
            .unwrap();
        assert_eq!(w.chosen_device(c).unwrap().remote_id, "car-2");
        // Back to the make: everything after it, including the authorisation, is forgotten.
        let other_make = c
            .makes(DeviceKind::ElectricVehicle)
            .into_iter()
            .nth(1)
            .unwrap()
            .to_owned();
        w.answer_step(StepKind::SelectVehicleMake, &other_make, c)
            .unwrap();
        assert_eq!(w.current(c), Some(StepKind::SelectVehicleVariant));
        assert!(w.grant_id.is_none() && w.found_devices.is_empty());
    }

    #[test]
    fn errors_for_wrong_steps_and_states() {
        let c = catalogue();
        let mut w = Wizard::default();
        assert_eq!(
            w.answer_step(StepKind::SelectVehicleMake, "Tesla", c),
            Err(WizardError::UnknownStep("SelectVehicleMake".into()))
        );
        assert_eq!(
            w.answer_step(StepKind::SelectDeviceType, "TOASTERS", c),
            Err(WizardError::UnknownOption("TOASTERS".into()))
        );
        w.status = WizardStatus::Cancelled;
        assert_eq!(
            w.answer_step(StepKind::SelectDeviceType, "HEAT_PUMPS", c),
            Err(WizardError::Cancelled)
        );
    }

    #[test]
    fn an_unsupported_variant_is_an_unsupported_combination() {
        let c = catalogue();
        let Some(dead) = c
            .entries(DeviceKind::ElectricVehicle)
            .into_iter()
            .find(|e| e.integration_status() == IntegrationStatus::NotAvailable)
        else {
            return;
        };
        let mut w = Wizard::default();
        w.answer_step(StepKind::SelectDeviceType, "ELECTRIC_VEHICLES", c)
            .unwrap();
        w.answer_step(StepKind::SelectVehicleMake, dead.make(), c)
            .unwrap();
        w.answer_step(StepKind::SelectVehicleVariant, dead.id(), c)
            .unwrap();
        w.answer_step(StepKind::SelectChargePointMake, NO_CHARGER, c)
            .unwrap();
        assert_eq!(w.current(c), Some(StepKind::UnsupportedCombination));
    }

    #[test]
    fn heat_pumps_need_no_test_charge() {
        let c = catalogue();
        let pump = first_live(DeviceKind::HeatPump);
        let mut w = Wizard::default();
        w.answer_step(StepKind::SelectDeviceType, "HEAT_PUMPS", c)
            .unwrap();
        w.answer_step(StepKind::SelectHeatPumpMake, pump.make(), c)
            .unwrap();
        w.answer_step(StepKind::SelectHeatPumpVariant, pump.id(), c)
            .unwrap();
        w.provider = pump.providers().first().copied();
        w.grant_id = Some(3);
        w.found_devices.push(FoundDevice {
            remote_id: "hp".into(),
            kind: DeviceKind::HeatPump,
            make: "a".into(),
            model: "b".into(),
            vin: None,
        });
        w.requirements = Some(Vec::new());
        assert_eq!(
            w.current(c),
            Some(StepKind::SmartFlexOnboardingDeviceRegistration)
        );
    }

    #[test]
    fn a_self_connecting_charger_is_enrolled_without_authorisation_or_test_charge() {
        let c = catalogue();
        let vehicle = first_live(DeviceKind::ElectricVehicle);
        let charger = c
            .entries(DeviceKind::ChargePoint)
            .into_iter()
            .find(|e| {
                live(e.integration_status()) && e.providers().iter().any(|p| p.connects_itself())
            })
            .unwrap();
        let mut w = Wizard::default();
        w.answer_step(StepKind::SelectDeviceType, "ELECTRIC_VEHICLES", c)
            .unwrap();
        w.answer_step(StepKind::SelectVehicleMake, vehicle.make(), c)
            .unwrap();
        w.answer_step(StepKind::SelectVehicleVariant, vehicle.id(), c)
            .unwrap();
        w.answer_step(StepKind::SelectChargePointMake, charger.make(), c)
            .unwrap();
        w.answer_step(StepKind::SelectChargePointVariant, charger.id(), c)
            .unwrap();
        w.answer_step(StepKind::SelectVehicleOrChargePoint, "CHARGE_POINT", c)
            .unwrap();
        w.provider = Some(Provider::Ocpp);
        assert_eq!(w.current(c), Some(StepKind::OcppConnectionDetails));
        w.grant_id = Some(9);
        w.found_devices.push(FoundDevice {
            remote_id: "RFX-1".into(),
            kind: DeviceKind::ChargePoint,
            make: "Easee".into(),
            model: "One".into(),
            vin: None,
        });
        w.requirements = Some(Vec::new());
        assert_eq!(
            w.current(c),
            Some(StepKind::SmartFlexOnboardingDeviceRegistration)
        );
        assert!(w.path(c).0.contains(&StepKind::OcppConnectionDetails));
    }

    fn authorised_car(provider: Provider) -> Wizard {
        let mut w = ev_wizard();
        w.provider = Some(provider);
        w.grant_id = Some(1);
        w.found_devices.push(FoundDevice {
            remote_id: "car-1".into(),
            kind: DeviceKind::ElectricVehicle,
            make: "Tesla".into(),
            model: "Model 3".into(),
            vin: None,
        });
        w
    }

    #[test]
    fn a_tesla_asks_for_permissions_and_the_virtual_key_then_waits_for_the_integration() {
        let c = catalogue();
        let mut w = authorised_car(Provider::Tesla);
        w.requirements = Some(vec![
            Requirement::Scopes,
            Requirement::VirtualKey,
            Requirement::SoftwareUpdate,
            Requirement::Activation,
        ]);
        assert_eq!(w.current(c), Some(StepKind::TeslaRegistrationFailed));
        w.decide_scopes(false, c).unwrap();
        assert_eq!(w.current(c), Some(StepKind::TerminalError));
        w.decide_scopes(true, c).unwrap();
        assert_eq!(w.current(c), Some(StepKind::TeslaModifyScopes));
        w.confirm(&[Requirement::Scopes]);
        assert_eq!(w.current(c), Some(StepKind::TeslaSetupVirtualKey));
        w.confirm(&[Requirement::VirtualKey]);
        assert_eq!(w.current(c), Some(StepKind::UserActionRequired));
        assert_eq!(w.user_actions(), vec![Requirement::SoftwareUpdate]);
        w.confirm(&[Requirement::SoftwareUpdate]);
        assert_eq!(w.current(c), Some(StepKind::WaitForLiveIntegration));
        w.confirm(&[Requirement::Activation]);
        assert_eq!(w.current(c), Some(StepKind::UserInputRequired));
        let (path, _) = w.path(c);
        for step in [
            StepKind::TeslaRegistrationFailed,
            StepKind::TeslaModifyScopes,
            StepKind::TeslaSetupVirtualKey,
            StepKind::UserActionRequired,
            StepKind::WaitForLiveIntegration,
        ] {
            assert!(path.contains(&step), "{step:?} in {path:?}");
        }
    }

    #[test]
    fn other_vendors_list_every_requirement_as_a_user_action_and_a_failed_check_is_retried() {
        let c = catalogue();
        let mut w = authorised_car(Provider::Enode);
        w.retry = Some("unreachable".into());
        assert_eq!(w.current(c), Some(StepKind::Retry));
        w.retry = None;
        w.requirements = Some(vec![Requirement::VirtualKey, Requirement::Scopes]);
        assert_eq!(w.current(c), Some(StepKind::UserActionRequired));
        w.confirm(&[Requirement::VirtualKey]);
        assert_eq!(w.current(c), Some(StepKind::UserActionRequired));
        w.confirm(&[Requirement::Scopes]);
        assert_eq!(w.current(c), Some(StepKind::UserInputRequired));
        assert_eq!(
            w.decide_scopes(true, c),
            Err(WizardError::UnknownStep("TeslaRegistrationFailed".into()))
        );
    }

    #[test]
    fn requirements_have_names() {
        for r in Requirement::ALL {
            assert_eq!(Requirement::parse(r.as_str()), Some(*r));
        }
        assert!(!Requirement::Activation.by_customer());
    }

    #[test]
    fn a_thermostat_is_chosen_on_the_heating_steps() {
        let c = catalogue();
        let thermostat = first_live(DeviceKind::Thermostat);
        let mut w = Wizard::default();
        w.answer_step(StepKind::SelectDeviceType, "THERMOSTATS", c)
            .unwrap();
        assert_eq!(w.current(c), Some(StepKind::SelectHeatPumpMake));
        let makes = w.options(StepKind::SelectHeatPumpMake, c);
        assert!(makes.iter().any(|m| m.id == thermostat.make()));
        assert!(!makes.iter().any(|m| m.id == "Daikin"), "no heat pumps");
        w.answer_step(StepKind::SelectHeatPumpMake, thermostat.make(), c)
            .unwrap();
        w.answer_step(StepKind::SelectHeatPumpVariant, thermostat.id(), c)
            .unwrap();
        assert_eq!(w.registered_kind(c), Some(DeviceKind::Thermostat));
        w.provider = thermostat.providers().first().copied();
        assert_eq!(w.current(c), Some(StepKind::AuthFlow));
        w.grant_id = Some(4);
        w.found_devices.push(FoundDevice {
            remote_id: "th".into(),
            kind: DeviceKind::Thermostat,
            make: "a".into(),
            model: "b".into(),
            vin: None,
        });
        w.requirements = Some(Vec::new());
        assert_eq!(
            w.current(c),
            Some(StepKind::SmartFlexOnboardingDeviceRegistration),
            "no VIN and no test charge"
        );
    }

    #[test]
    fn vins_are_checked() {
        assert!(valid_vin("WVWZZZ1JZXW000001"));
        assert!(!valid_vin("WVWZZZ1JZXW00000"));
        assert!(!valid_vin("WVWZZZ1JZXW00000O"));
        assert!(!valid_vin("wvwzzz1jzxw000001"));
    }
}
