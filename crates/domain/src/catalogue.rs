//! The device catalogue: the vehicles, chargers, heat pumps, home batteries, inverters and thermostats
//! that ResiFlex knows by make and model, with their published specifications, the providers that can connect each
//! one and how far each integration has been released.
//!
//! The catalogue is data, not code: it lives in `data/catalogue.json`, is compiled into the binary and
//! parsed once, on first use. Loading also checks what the rest of the code relies on (unique ids,
//! positive sizes and powers), so a broken file is reported as a [`CatalogueError`] rather than served.
//!
//! Provider names are kept as the strings of Kraken's `ProviderChoices` enum: this crate knows nothing
//! of GraphQL, and the API layer turns them into its enum.

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::device::{DeviceKind, Provider};
use crate::units::{Energy, Power};

const SOURCE: &str = include_str!("../data/catalogue.json");

static CATALOGUE: OnceLock<Result<Catalogue, CatalogueError>> = OnceLock::new();

/// Why the built-in catalogue could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// The file is not valid JSON or does not have the expected shape.
    #[error("the device catalogue is malformed: {0}")]
    Malformed(String),
    /// Two entries share an id.
    #[error("the device catalogue lists the id {0:?} more than once")]
    DuplicateId(String),
    /// An entry breaks a rule the catalogue must keep (an empty name, a size or power that is not positive, ...).
    #[error("the device catalogue entry {id:?} is invalid: {reason}")]
    InvalidEntry { id: String, reason: &'static str },
}

/// How far the integration of a catalogue entry has been released. The names are Kraken's
/// `IntegrationStatus` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IntegrationStatus {
    /// Released: any customer with the device may connect it.
    GenerallyAvailable,
    /// Open only to staff while it is tried out in-house.
    InternalTesting,
    /// Open to a limited group of customers as a trial.
    Testing,
    /// Cannot be connected.
    NotAvailable,
}

impl IntegrationStatus {
    pub const ALL: [IntegrationStatus; 4] = [
        IntegrationStatus::GenerallyAvailable,
        IntegrationStatus::InternalTesting,
        IntegrationStatus::Testing,
        IntegrationStatus::NotAvailable,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            IntegrationStatus::GenerallyAvailable => "GENERALLY_AVAILABLE",
            IntegrationStatus::InternalTesting => "INTERNAL_TESTING",
            IntegrationStatus::Testing => "TESTING",
            IntegrationStatus::NotAvailable => "NOT_AVAILABLE",
        }
    }

    pub fn parse(text: &str) -> Option<IntegrationStatus> {
        IntegrationStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    /// Whether every customer may connect the device ("the integration is live").
    pub const fn is_live(self) -> bool {
        matches!(self, IntegrationStatus::GenerallyAvailable)
    }
}

/// How a home battery is wired to the solar panels: behind its own inverter on the AC side, or on the
/// DC side of a hybrid inverter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Coupling {
    #[serde(rename = "AC")]
    Ac,
    #[serde(rename = "DC")]
    Dc,
}

impl Coupling {
    pub const fn as_str(self) -> &'static str {
        match self {
            Coupling::Ac => "AC",
            Coupling::Dc => "DC",
        }
    }
}

/// What every catalogue entry has, whatever its kind.
pub trait CatalogueEntry {
    /// The stable id, for example `ev-tesla-model-3-lr-2021`.
    fn id(&self) -> &str;
    fn kind(&self) -> DeviceKind;
    /// The manufacturer as it brands the device, for example `Tesla` or `myenergi`.
    fn make(&self) -> &str;
    fn model(&self) -> &str;
    /// The `ProviderChoices` names of the integrations that can connect the device.
    fn providers(&self) -> &[Provider];
    fn integration_status(&self) -> IntegrationStatus;
    /// The first and (unless still on sale) last model year. Only vehicles have one.
    fn years(&self) -> Option<(u16, Option<u16>)> {
        None
    }

    /// Whether this provider can connect the device.
    fn supported_by(&self, provider: Provider) -> bool {
        self.providers().contains(&provider)
    }
}

/// An electric vehicle model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ElectricVehicle {
    pub id: String,
    pub make: String,
    pub model: String,
    /// The first model year.
    pub available_from: u16,
    /// The last model year; `None` while the model is still sold.
    pub available_to: Option<u16>,
    /// Usable battery capacity, in kWh.
    pub battery_kwh: f64,
    /// The most the on-board charger takes from an AC charger, in kW.
    pub max_ac_charging_kw: f64,
    pub providers: Vec<Provider>,
    pub integration_status: IntegrationStatus,
}

impl ElectricVehicle {
    pub fn battery(&self) -> Energy {
        Energy::from_wh(thousandths(self.battery_kwh))
    }

    pub fn max_ac_charging(&self) -> Power {
        Power::from_w(thousandths(self.max_ac_charging_kw))
    }
}

/// A home charger model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChargePoint {
    pub id: String,
    pub make: String,
    pub model: String,
    /// Rated output, in kW.
    pub power_kw: f64,
    /// Rated current per phase, in amperes.
    pub amperage: u16,
    pub providers: Vec<Provider>,
    pub integration_status: IntegrationStatus,
}

impl ChargePoint {
    pub fn power(&self) -> Power {
        Power::from_w(thousandths(self.power_kw))
    }
}

/// A heat pump model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeatPump {
    pub id: String,
    pub make: String,
    pub model: String,
    /// Nominal heat output, in kW.
    pub heating_power_kw: f64,
    pub providers: Vec<Provider>,
    pub integration_status: IntegrationStatus,
}

impl HeatPump {
    pub fn heating_power(&self) -> Power {
        Power::from_w(thousandths(self.heating_power_kw))
    }
}

/// A home battery model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Battery {
    pub id: String,
    pub make: String,
    pub model: String,
    /// Usable capacity, in kWh.
    pub capacity_kwh: f64,
    /// Continuous charge and discharge power, in kW.
    pub max_power_kw: f64,
    pub coupling: Coupling,
    /// Whether the model is no longer made; installed ones can still be connected.
    #[serde(default)]
    pub deprecated: bool,
    pub providers: Vec<Provider>,
    pub integration_status: IntegrationStatus,
}

impl Battery {
    pub fn capacity(&self) -> Energy {
        Energy::from_wh(thousandths(self.capacity_kwh))
    }

    pub fn max_power(&self) -> Power {
        Power::from_w(thousandths(self.max_power_kw))
    }
}

/// A solar or hybrid inverter model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Inverter {
    pub id: String,
    pub make: String,
    pub model: String,
    /// Rated AC output, in kW.
    pub rated_power_kw: f64,
    pub providers: Vec<Provider>,
    pub integration_status: IntegrationStatus,
}

impl Inverter {
    pub fn rated_power(&self) -> Power {
        Power::from_w(thousandths(self.rated_power_kw))
    }
}

/// A smart thermostat model: it switches the home's heating or cooling (an air conditioner, a
/// furnace fan, electric heaters), so what ResiFlex moves is the power of what it controls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Thermostat {
    pub id: String,
    pub make: String,
    pub model: String,
    /// The electrical power of the heating or cooling a typical installation switches, in kW.
    pub controlled_power_kw: f64,
    pub providers: Vec<Provider>,
    pub integration_status: IntegrationStatus,
}

impl Thermostat {
    pub fn controlled_power(&self) -> Power {
        Power::from_w(thousandths(self.controlled_power_kw))
    }
}

/// kW to W or kWh to Wh, rounded to the nearest unit.
fn thousandths(value: f64) -> i64 {
    (value * 1000.0).round() as i64
}

macro_rules! entry {
    ($ty:ty, $kind:expr) => {
        impl CatalogueEntry for $ty {
            fn id(&self) -> &str {
                &self.id
            }
            fn kind(&self) -> DeviceKind {
                $kind
            }
            fn make(&self) -> &str {
                &self.make
            }
            fn model(&self) -> &str {
                &self.model
            }
            fn providers(&self) -> &[Provider] {
                &self.providers
            }
            fn integration_status(&self) -> IntegrationStatus {
                self.integration_status
            }
        }
    };
}

impl CatalogueEntry for ElectricVehicle {
    fn id(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> DeviceKind {
        DeviceKind::ElectricVehicle
    }
    fn make(&self) -> &str {
        &self.make
    }
    fn model(&self) -> &str {
        &self.model
    }
    fn providers(&self) -> &[Provider] {
        &self.providers
    }
    fn integration_status(&self) -> IntegrationStatus {
        self.integration_status
    }
    fn years(&self) -> Option<(u16, Option<u16>)> {
        Some((self.available_from, self.available_to))
    }
}

entry!(ChargePoint, DeviceKind::ChargePoint);
entry!(HeatPump, DeviceKind::HeatPump);
entry!(Battery, DeviceKind::Battery);
entry!(Inverter, DeviceKind::Inverter);
entry!(Thermostat, DeviceKind::Thermostat);

/// Every known device model, by kind, in the order of the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Catalogue {
    pub electric_vehicles: Vec<ElectricVehicle>,
    pub charge_points: Vec<ChargePoint>,
    pub heat_pumps: Vec<HeatPump>,
    pub batteries: Vec<Battery>,
    pub inverters: Vec<Inverter>,
    #[serde(default)]
    pub thermostats: Vec<Thermostat>,
}

/// Whether two makes name the same manufacturer: clients send them in their own capitalisation.
pub fn same_make(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

impl Catalogue {
    /// The built-in catalogue, parsed and checked on first use.
    pub fn get() -> Result<&'static Catalogue, CatalogueError> {
        CATALOGUE
            .get_or_init(|| Catalogue::parse(SOURCE))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Parses and checks a catalogue document.
    pub fn parse(json: &str) -> Result<Catalogue, CatalogueError> {
        let catalogue: Catalogue =
            serde_json::from_str(json).map_err(|err| CatalogueError::Malformed(err.to_string()))?;
        catalogue.check()?;
        Ok(catalogue)
    }

    fn check(&self) -> Result<(), CatalogueError> {
        let mut ids = HashSet::new();
        for entry in self.all() {
            let id = entry.id();
            let invalid = |reason| CatalogueError::InvalidEntry {
                id: id.to_owned(),
                reason,
            };
            if !ids.insert(id) {
                return Err(CatalogueError::DuplicateId(id.to_owned()));
            }
            if id.trim().is_empty() || entry.make().trim().is_empty() {
                return Err(invalid("the id and make must not be empty"));
            }
            if entry.model().trim().is_empty() {
                return Err(invalid("the model must not be empty"));
            }
        }
        let positive = |value: f64| value.is_finite() && value > 0.0;
        for ev in &self.electric_vehicles {
            if !positive(ev.battery_kwh) || !positive(ev.max_ac_charging_kw) {
                return Err(CatalogueError::InvalidEntry {
                    id: ev.id.clone(),
                    reason: "the battery size and charging power must be positive",
                });
            }
            if ev.available_to.is_some_and(|to| to < ev.available_from) {
                return Err(CatalogueError::InvalidEntry {
                    id: ev.id.clone(),
                    reason: "the model years end before they start",
                });
            }
        }
        let powers = self
            .charge_points
            .iter()
            .map(|c| (&c.id, c.power_kw))
            .chain(self.heat_pumps.iter().map(|h| (&h.id, h.heating_power_kw)))
            .chain(self.batteries.iter().map(|b| (&b.id, b.capacity_kwh)))
            .chain(self.batteries.iter().map(|b| (&b.id, b.max_power_kw)))
            .chain(self.inverters.iter().map(|i| (&i.id, i.rated_power_kw)))
            .chain(
                self.thermostats
                    .iter()
                    .map(|t| (&t.id, t.controlled_power_kw)),
            );
        for (id, value) in powers {
            if !positive(value) {
                return Err(CatalogueError::InvalidEntry {
                    id: id.clone(),
                    reason: "sizes and powers must be positive",
                });
            }
        }
        if let Some(cp) = self.charge_points.iter().find(|c| c.amperage == 0) {
            return Err(CatalogueError::InvalidEntry {
                id: cp.id.clone(),
                reason: "the amperage must be positive",
            });
        }
        Ok(())
    }

    /// Every entry of every kind.
    pub fn all(&self) -> impl Iterator<Item = &dyn CatalogueEntry> {
        DeviceKind::ALL
            .into_iter()
            .flat_map(move |kind| self.entries(kind))
    }

    /// The entries of one kind, in the order of the file.
    pub fn entries(&self, kind: DeviceKind) -> Vec<&dyn CatalogueEntry> {
        fn erase<T: CatalogueEntry>(items: &[T]) -> Vec<&dyn CatalogueEntry> {
            items
                .iter()
                .map(|item| item as &dyn CatalogueEntry)
                .collect()
        }
        match kind {
            DeviceKind::ElectricVehicle => erase(&self.electric_vehicles),
            DeviceKind::ChargePoint => erase(&self.charge_points),
            DeviceKind::HeatPump => erase(&self.heat_pumps),
            DeviceKind::Battery => erase(&self.batteries),
            DeviceKind::Inverter => erase(&self.inverters),
            DeviceKind::Thermostat => erase(&self.thermostats),
        }
    }

    /// Any entry by id.
    pub fn entry(&self, id: &str) -> Option<&dyn CatalogueEntry> {
        self.all().find(|entry| entry.id() == id)
    }

    pub fn vehicle(&self, id: &str) -> Option<&ElectricVehicle> {
        self.electric_vehicles.iter().find(|ev| ev.id == id)
    }

    pub fn charge_point(&self, id: &str) -> Option<&ChargePoint> {
        self.charge_points.iter().find(|cp| cp.id == id)
    }

    pub fn heat_pump(&self, id: &str) -> Option<&HeatPump> {
        self.heat_pumps.iter().find(|hp| hp.id == id)
    }

    pub fn battery(&self, id: &str) -> Option<&Battery> {
        self.batteries.iter().find(|b| b.id == id)
    }

    pub fn inverter(&self, id: &str) -> Option<&Inverter> {
        self.inverters.iter().find(|i| i.id == id)
    }

    pub fn thermostat(&self, id: &str) -> Option<&Thermostat> {
        self.thermostats.iter().find(|t| t.id == id)
    }

    /// The `ProviderChoices` values that some generally available entry lists first: the ones the
    /// onboarding wizard, which takes an entry's first integration, can reach.
    pub fn reachable_providers(&self) -> Vec<Provider> {
        Provider::ALL
            .iter()
            .copied()
            .filter(|provider| {
                self.all().any(|entry| {
                    entry.integration_status().is_live()
                        && entry.providers().first() == Some(provider)
                })
            })
            .collect()
    }

    /// The makes of one kind, each once, sorted without regard to case.
    pub fn makes(&self, kind: DeviceKind) -> Vec<&str> {
        let mut makes: Vec<&str> = Vec::new();
        for entry in self.entries(kind) {
            if !makes.iter().any(|make| same_make(make, entry.make())) {
                makes.push(entry.make());
            }
        }
        makes.sort_by_key(|make| make.to_lowercase());
        makes
    }

    /// The models of one kind by one make (matched without regard to case), in the order of the file.
    pub fn models(&self, kind: DeviceKind, make: &str) -> Vec<&dyn CatalogueEntry> {
        self.entries(kind)
            .into_iter()
            .filter(|entry| same_make(entry.make(), make))
            .collect()
    }

    /// The entries, of any kind, that this provider can connect.
    pub fn by_provider(&self, provider: Provider) -> Vec<&dyn CatalogueEntry> {
        self.all()
            .filter(|entry| entry.supported_by(provider))
            .collect()
    }

    /// The entries, of any kind, whose integration has reached this status.
    pub fn by_status(&self, status: IntegrationStatus) -> Vec<&dyn CatalogueEntry> {
        self.all()
            .filter(|entry| entry.integration_status() == status)
            .collect()
    }

    /// Whether this provider can connect at least one model of this kind by this make.
    pub fn supports(&self, provider: Provider, kind: DeviceKind, make: &str) -> bool {
        self.models(kind, make)
            .iter()
            .any(|entry| entry.supported_by(provider))
    }

    /// The kinds with at least one generally available model, in [`DeviceKind::ALL`] order.
    pub fn live_kinds(&self) -> Vec<DeviceKind> {
        DeviceKind::ALL
            .into_iter()
            .filter(|kind| {
                self.entries(*kind)
                    .iter()
                    .any(|entry| entry.integration_status().is_live())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kraken's `ProviderChoices` values, read from the seed list of enums.
    fn provider_choices() -> Vec<String> {
        let seed: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/data/seed-enums.json")).unwrap();
        let providers = seed["enums"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "ProviderChoices")
            .unwrap();
        providers["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    fn catalogue() -> &'static Catalogue {
        Catalogue::get().expect("the built-in catalogue loads")
    }

    #[test]
    fn the_built_in_catalogue_has_enough_of_every_kind() {
        let c = catalogue();
        assert!(
            c.electric_vehicles.len() >= 40,
            "{}",
            c.electric_vehicles.len()
        );
        assert!(c.charge_points.len() >= 20, "{}", c.charge_points.len());
        assert!(c.heat_pumps.len() >= 8, "{}", c.heat_pumps.len());
        assert!(c.batteries.len() >= 8, "{}", c.batteries.len());
        assert!(c.inverters.len() >= 6, "{}", c.inverters.len());
        assert!(c.thermostats.len() >= 8, "{}", c.thermostats.len());
    }

    #[test]
    fn ids_are_unique_and_carry_the_kind_prefix() {
        let mut seen = HashSet::new();
        for entry in catalogue().all() {
            assert!(seen.insert(entry.id()), "duplicate id {}", entry.id());
            let prefix = match entry.kind() {
                DeviceKind::ElectricVehicle => "ev-",
                DeviceKind::ChargePoint => "cp-",
                DeviceKind::HeatPump => "hp-",
                DeviceKind::Battery => "bat-",
                DeviceKind::Inverter => "inv-",
                DeviceKind::Thermostat => "th-",
            };
            assert!(entry.id().starts_with(prefix), "{}", entry.id());
            assert!(
                entry
                    .id()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                entry.id()
            );
        }
    }

    #[test]
    fn the_providers_are_the_provider_choices_and_every_entry_has_one() {
        let ours: Vec<String> = Provider::ALL
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect();
        assert_eq!(ours, provider_choices());
        for entry in catalogue().all() {
            assert!(
                !entry.providers().is_empty(),
                "{} has no provider",
                entry.id()
            );
            let distinct: HashSet<&Provider> = entry.providers().iter().collect();
            assert_eq!(distinct.len(), entry.providers().len(), "{}", entry.id());
        }
    }

    #[test]
    fn sizes_and_powers_are_positive_and_plausible() {
        let c = catalogue();
        for ev in &c.electric_vehicles {
            assert!(
                (15.0..=130.0).contains(&ev.battery_kwh),
                "{}: battery {}",
                ev.id,
                ev.battery_kwh
            );
            assert!(
                (3.0..=22.0).contains(&ev.max_ac_charging_kw),
                "{}: AC charging {}",
                ev.id,
                ev.max_ac_charging_kw
            );
            assert!((2010..=2030).contains(&ev.available_from), "{}", ev.id);
            assert!(
                ev.available_to.is_none_or(|to| to >= ev.available_from),
                "{}",
                ev.id
            );
        }
        for cp in &c.charge_points {
            assert!((3.0..=22.0).contains(&cp.power_kw), "{}", cp.id);
            assert!((6..=80).contains(&cp.amperage), "{}", cp.id);
        }
        for hp in &c.heat_pumps {
            assert!((3.0..=30.0).contains(&hp.heating_power_kw), "{}", hp.id);
        }
        for b in &c.batteries {
            assert!((2.0..=50.0).contains(&b.capacity_kwh), "{}", b.id);
            assert!((1.0..=20.0).contains(&b.max_power_kw), "{}", b.id);
        }
        for i in &c.inverters {
            assert!(
                i.rated_power_kw > 0.0 && i.rated_power_kw <= 30.0,
                "{}",
                i.id
            );
        }
        for t in &c.thermostats {
            assert!((0.5..=30.0).contains(&t.controlled_power_kw), "{}", t.id);
        }
    }

    #[test]
    fn every_status_occurs_so_filters_can_be_tested() {
        let c = catalogue();
        for status in IntegrationStatus::ALL {
            assert!(!c.by_status(status).is_empty(), "no entry is {status:?}");
        }
        let live = c.by_status(IntegrationStatus::GenerallyAvailable).len();
        assert!(
            live * 2 > c.all().count(),
            "most entries are generally available"
        );
    }

    #[test]
    fn lookups_find_entries_by_id_make_and_provider() {
        let c = catalogue();
        let model_3 = c.vehicle("ev-tesla-model-3-lr-2021").expect("Model 3 LR");
        assert_eq!(model_3.make, "Tesla");
        assert_eq!(model_3.battery(), Energy::from_wh(75_000));
        assert_eq!(model_3.max_ac_charging(), Power::from_w(11_000));
        assert_eq!(model_3.years(), Some((2021, Some(2023))));
        assert!(c.vehicle("cp-myenergi-zappi-v2-7kw").is_none());

        let zappi = c.charge_point("cp-myenergi-zappi-v2-7kw").expect("zappi");
        assert_eq!(zappi.power(), Power::from_w(7_000));
        assert_eq!(zappi.years(), None);
        assert_eq!(
            c.entry("bat-tesla-powerwall-2").map(|e| e.kind()),
            Some(DeviceKind::Battery)
        );
        assert!(c.entry("no-such-id").is_none());

        let makes = c.makes(DeviceKind::ElectricVehicle);
        assert!(makes.contains(&"Tesla") && makes.contains(&"Nissan"));
        let mut sorted = makes.clone();
        sorted.sort_by_key(|m| m.to_lowercase());
        assert_eq!(makes, sorted);
        assert_eq!(
            makes.iter().filter(|m| same_make(m, "tesla")).count(),
            1,
            "each make once"
        );

        let teslas = c.models(DeviceKind::ElectricVehicle, "  tesla ");
        assert!(teslas.len() >= 5);
        assert!(teslas.iter().all(|e| e.make() == "Tesla"));
        assert!(c.models(DeviceKind::HeatPump, "Tesla").is_empty());

        let myenergi = c.by_provider(Provider::Myenergi);
        assert!(!myenergi.is_empty());
        assert!(myenergi.iter().all(|e| e.kind() == DeviceKind::ChargePoint));
        let nest = c.by_provider(Provider::VpNest);
        assert!(!nest.is_empty());
        assert!(nest.iter().all(|e| e.kind() == DeviceKind::Thermostat));
        assert_eq!(
            c.thermostat("th-ecobee3-lite")
                .map(|t| t.controlled_power()),
            Some(Power::from_w(3_000))
        );
    }

    #[test]
    fn supports_matches_provider_kind_and_make() {
        let c = catalogue();
        assert!(c.supports(Provider::Tesla, DeviceKind::ElectricVehicle, "tesla"));
        assert!(c.supports(Provider::MyenergiV2, DeviceKind::ChargePoint, "myenergi"));
        assert!(c.supports(Provider::Givenergy, DeviceKind::Battery, "GivEnergy"));
        assert!(c.supports(Provider::Daikin, DeviceKind::HeatPump, "Daikin"));
        assert!(!c.supports(Provider::Tesla, DeviceKind::ElectricVehicle, "Nissan"));
        assert!(!c.supports(Provider::Myenergi, DeviceKind::ElectricVehicle, "myenergi"));
        assert!(!c.supports(Provider::Tesla, DeviceKind::Thermostat, "Tesla"));
    }

    #[test]
    fn every_kind_has_live_integrations() {
        assert_eq!(catalogue().live_kinds(), DeviceKind::ALL.to_vec());
    }

    #[test]
    fn the_wizard_can_reach_every_provider() {
        assert_eq!(catalogue().reachable_providers(), Provider::ALL.to_vec());
    }

    #[test]
    fn broken_documents_are_refused_not_served() {
        assert!(matches!(
            Catalogue::parse("{"),
            Err(CatalogueError::Malformed(_))
        ));
        let vehicle = r#"{"id": "ev-a", "make": "A", "model": "One", "availableFrom": 2020, "availableTo": null,
            "batteryKwh": 50.0, "maxAcChargingKw": 7.4, "providers": ["ENODE"], "integrationStatus": "TESTING"}"#;
        let document = |evs: &str| {
            format!(
                r#"{{"electricVehicles": [{evs}], "chargePoints": [], "heatPumps": [], "batteries": [], "inverters": []}}"#
            )
        };
        let one = Catalogue::parse(&document(vehicle)).expect("one vehicle is fine");
        assert_eq!(
            one.by_status(IntegrationStatus::Testing).len(),
            1,
            "statuses parse"
        );
        assert_eq!(
            Catalogue::parse(&document(&format!("{vehicle}, {vehicle}"))),
            Err(CatalogueError::DuplicateId("ev-a".to_owned()))
        );
        assert!(matches!(
            Catalogue::parse(&document(&vehicle.replace("50.0", "0"))),
            Err(CatalogueError::InvalidEntry { .. })
        ));
        assert!(matches!(
            Catalogue::parse(&document(&vehicle.replace("TESTING", "LIVE"))),
            Err(CatalogueError::Malformed(_))
        ));
        assert!(matches!(
            Catalogue::parse(&document(&vehicle.replace("\"model\"", "\"modle\""))),
            Err(CatalogueError::Malformed(_))
        ));
    }
}
