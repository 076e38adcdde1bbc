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
    UserInputRequired,
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
        StepKind::UserInputRequired,
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
            StepKind::UserInputRequired => "UserInputRequired",
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
        )
    }

    /// Whether a customer can go back to this step and choose again.
    pub const fn is_rewindable(self) -> bool {
        self.is_list()
            || matches!(
                self,
                StepKind::SelectVehicleOrChargePoint | StepKind::UserInputRequired
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

    /// The catalogue entry of the device that will be integrated, and its kind.
    pub fn integrated_entry<'c>(&self, catalogue: &'c Catalogue) -> Option<&'c dyn CatalogueEntry> {
        let id = match self.device_type()? {
            DeviceKind::ElectricVehicle | DeviceKind::ChargePoint => {
                match self.integration(catalogue)? {
                    Integration::Vehicle => self.answer(StepKind::SelectVehicleVariant)?,
                    Integration::ChargePoint => self.answer(StepKind::SelectChargePointVariant)?,
                }
            }
            DeviceKind::HeatPump => self.answer(StepKind::SelectHeatPumpVariant)?,
            DeviceKind::Battery => self.answer(StepKind::SelectBatteryVariant)?,
            DeviceKind::Inverter => self.answer(StepKind::SelectInverterSystemType)?,
            DeviceKind::Thermostat => return None,
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
                DeviceKind::HeatPump => {
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
                DeviceKind::Thermostat => return Some(StepKind::UnsupportedCombination),
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
        if self.reauthenticate_device.is_some() {
            return None;
        }
        let kind = self.registered_kind(catalogue);
        let candidates = self
            .found_devices
            .iter()
            .filter(|d| Some(d.kind) == kind)
            .count();
        if candidates > 1 {
            ask!(StepKind::SelectSessionDevice);
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
            StepKind::SelectHeatPumpMake => makes(DeviceKind::HeatPump),
            StepKind::SelectHeatPumpVariant => {
                models(DeviceKind::HeatPump, StepKind::SelectHeatPumpMake)
            }
            StepKind::SelectBatteryMake => makes(DeviceKind::Battery),
            StepKind::SelectBatteryVariant => {
                models(DeviceKind::Battery, StepKind::SelectBatteryMake)
            }
            StepKind::SelectInverterMake => makes(DeviceKind::Inverter),
            StepKind::SelectInverterSystemType => {
                models(DeviceKind::Inverter, StepKind::SelectInverterMake)
            }
            StepKind::SelectSessionDevice => {
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
        if step.is_list() && step != StepKind::SelectSessionDevice
            || step == StepKind::SelectVehicleOrChargePoint
        {
            self.provider = None;
        }
        Ok(())
    }

    fn forget_after_selection(&mut self, step: StepKind) {
        if step != StepKind::SelectSessionDevice {
            self.grant_id = None;
            self.auth_error = None;
            self.found_devices.clear();
            self.answers.remove(&StepKind::SelectSessionDevice);
        }
        self.user_inputs.clear();
        self.test = None;
        self.device_id = None;
    }

    /// The remote device that will be registered: the chosen one, or the only one of the kind.
    pub fn chosen_device(&self, catalogue: &Catalogue) -> Option<&FoundDevice> {
        let kind = self.registered_kind(catalogue);
        let candidates: Vec<&FoundDevice> = self
            .found_devices
            .iter()
            .filter(|d| Some(d.kind) == kind)
            .collect();
        match self.answer(StepKind::SelectSessionDevice) {
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
            Some(StepKind::UserInputRequired),
            "one car: no session device step"
        );
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
        assert_eq!(w.current(c), Some(StepKind::SelectSessionDevice));
        assert_eq!(
            w.answer_step(StepKind::SelectSessionDevice, "car-3", c),
            Err(WizardError::UnknownOption("car-3".into()))
        );
        w.answer_step(StepKind::SelectSessionDevice, "car-2", c)
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
        assert_eq!(
            w.current(c),
            Some(StepKind::SmartFlexOnboardingDeviceRegistration)
        );
        assert!(w.path(c).0.contains(&StepKind::OcppConnectionDetails));
    }

    #[test]
    fn vins_are_checked() {
        assert!(valid_vin("WVWZZZ1JZXW000001"));
        assert!(!valid_vin("WVWZZZ1JZXW00000"));
        assert!(!valid_vin("WVWZZZ1JZXW00000O"));
        assert!(!valid_vin("wvwzzz1jzxw000001"));
    }
}
