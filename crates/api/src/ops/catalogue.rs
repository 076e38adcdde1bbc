//! The device catalogue: `electricVehicles`, `chargePointVariants`, `batteryVariants` and
//! `flexSupportedDevices`, which anyone may read (the catalogue holds public product facts), and
//! `eligibleDeviceTypes`, which needs a signed-in caller with access to the account.
//!
//! The data comes from [`resiflex_domain::catalogue`]; this module only filters it, groups it by make
//! and turns sizes and powers into `Decimal`s. Makes are listed alphabetically (ignoring case) and
//! the models of a make by name, then by first model year.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use resiflex_domain::AccountStatus as DomainStatus;
use resiflex_domain::catalogue::{
    self as domain, Catalogue, CatalogueEntry, CatalogueError, same_make,
};
use resiflex_domain::device::{DeviceKind, Provider};
use resiflex_domain::units::{Energy, Power};
use resiflex_store::accounts;
use rust_decimal::Decimal as RustDecimal;

use super::{OperationErrors, OperationKind, api};
use crate::auth::access::account_for;
use crate::auth::authorise;
use crate::enums::{IntegrationStatus, KrakenFlexDeviceTypes, ProviderChoices};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::scalars::Decimal;

pub const ERRORS: &[OperationErrors] = &[
    public("electricVehicles", &[]),
    public("chargePointVariants", &[]),
    public("batteryVariants", &[]),
    public(
        "flexSupportedDevices",
        &[ErrorCode::SupportedDeviceArgument],
    ),
    OperationErrors {
        name: "eligibleDeviceTypes",
        kind: OperationKind::Query,
        codes: &[ErrorCode::Unauthorized, ErrorCode::InvalidInput],
        protected: true,
    },
];

const fn public(name: &'static str, codes: &'static [ErrorCode]) -> OperationErrors {
    OperationErrors {
        name,
        kind: OperationKind::Query,
        codes,
        protected: false,
    }
}

fn catalogue() -> ApiResult<&'static Catalogue> {
    Catalogue::get().map_err(|err: CatalogueError| KrakenError::internal("catalogue", &err))
}

/// The kinds of device `flexSupportedDevices` can list.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FlexSupportedDeviceTypes {
    /// Home chargers for electric vehicles.
    ChargePoints,
    /// Electric vehicles controlled through the car maker's cloud.
    ElectricVehicles,
    /// Heat pumps for space heating or hot water.
    HeatPumps,
    /// Solar and hybrid inverters.
    Inverters,
    /// Smart thermostats.
    Thermostats,
}

impl FlexSupportedDeviceTypes {
    const fn device_kind(self) -> DeviceKind {
        match self {
            FlexSupportedDeviceTypes::ChargePoints => DeviceKind::ChargePoint,
            FlexSupportedDeviceTypes::ElectricVehicles => DeviceKind::ElectricVehicle,
            FlexSupportedDeviceTypes::HeatPumps => DeviceKind::HeatPump,
            FlexSupportedDeviceTypes::Inverters => DeviceKind::Inverter,
            FlexSupportedDeviceTypes::Thermostats => DeviceKind::Thermostat,
        }
    }
}

/// The Kraken device type a catalogue kind belongs to (vehicles and chargers are both
/// `ELECTRIC_VEHICLES`).
fn kraken_device_type(kind: DeviceKind) -> KrakenFlexDeviceTypes {
    match kind {
        DeviceKind::ElectricVehicle | DeviceKind::ChargePoint => {
            KrakenFlexDeviceTypes::ElectricVehicles
        }
        DeviceKind::HeatPump => KrakenFlexDeviceTypes::HeatPumps,
        DeviceKind::Battery => KrakenFlexDeviceTypes::Batteries,
        DeviceKind::Inverter => KrakenFlexDeviceTypes::Inverters,
        DeviceKind::Thermostat => KrakenFlexDeviceTypes::Thermostats,
    }
}

fn integration_status(status: domain::IntegrationStatus) -> IntegrationStatus {
    match status {
        domain::IntegrationStatus::GenerallyAvailable => IntegrationStatus::GenerallyAvailable,
        domain::IntegrationStatus::InternalTesting => IntegrationStatus::InternalTesting,
        domain::IntegrationStatus::Testing => IntegrationStatus::Testing,
        domain::IntegrationStatus::NotAvailable => IntegrationStatus::NotAvailable,
    }
}

/// The entry's providers as the enum. The domain tests keep every name a `ProviderChoices` value.
fn providers(entry: &dyn CatalogueEntry) -> Vec<ProviderChoices> {
    entry
        .providers()
        .iter()
        .filter_map(|provider| provider.as_str().parse().ok())
        .collect()
}

/// Whether the provider a client names can connect the entry.
fn supported(entry: &dyn CatalogueEntry, provider: ProviderChoices) -> bool {
    Provider::parse(provider.as_str()).is_some_and(|provider| entry.supported_by(provider))
}

/// A number of thousandths (W for kW, Wh for kWh) as a `Decimal` with at least one decimal place, so
/// that 11 kW reads `"11.0"` and 7.4 kW `"7.4"`.
fn decimal_from_thousandths(value: i64) -> Decimal {
    let mut decimal = RustDecimal::new(value, 3).normalize();
    if decimal.scale() == 0 {
        decimal.rescale(1);
    }
    Decimal(decimal)
}

fn kwh(energy: Energy) -> Decimal {
    decimal_from_thousandths(energy.wh)
}

fn kw(power: Power) -> Decimal {
    decimal_from_thousandths(power.w)
}

/// A vehicle's model years as one string: `2019-2023`, or `2022-present` while still on sale.
fn year_range(from: u16, to: Option<u16>) -> String {
    match to {
        Some(to) => format!("{from}-{to}"),
        None => format!("{from}-present"),
    }
}

/// The optional `make` argument: blank means no filter.
fn make_filter(make: &Option<String>) -> Option<&str> {
    make.as_deref()
        .map(str::trim)
        .filter(|make| !make.is_empty())
}

/// Sorts entries by make (ignoring case), model and first year, and groups them by make.
fn by_make<'a, E, M>(
    entries: impl IntoIterator<Item = &'a E>,
    to_model: impl Fn(&'a E) -> M,
) -> Vec<(String, Vec<M>)>
where
    E: CatalogueEntry + ?Sized + 'a,
{
    let mut entries: Vec<&'a E> = entries.into_iter().collect();
    entries.sort_by_cached_key(|entry| {
        (
            entry.make().to_lowercase(),
            entry.model().to_lowercase(),
            entry.years(),
        )
    });
    let mut groups: Vec<(String, Vec<M>)> = Vec::new();
    for entry in entries {
        match groups.last_mut() {
            Some((make, models)) if same_make(make, entry.make()) => models.push(to_model(entry)),
            _ => groups.push((entry.make().to_owned(), vec![to_model(entry)])),
        }
    }
    groups
}

/// The electric vehicle models of one make.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct ElectricVehicleType {
    /// The car maker, for example `Tesla`.
    pub make: String,
    pub models: Vec<ElectricVehicleModelType>,
}

/// One electric vehicle model, with the providers that can connect it.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct ElectricVehicleModelType {
    /// The stable catalogue id of the model, for example `ev-tesla-model-3-lr-2021`.
    pub vehicle_id: ID,
    /// The model name, for example `Model 3 Long Range AWD`.
    pub model: String,
    /// The model year the variant was introduced (the same as `availableFrom`).
    pub year: i32,
    /// The first model year.
    pub available_from: i32,
    /// The last model year; null while the model is still sold.
    pub available_to: Option<i32>,
    /// Usable battery capacity, in kWh.
    pub battery_size: Decimal,
    /// The integrations that can connect the vehicle.
    pub supported_providers: Vec<ProviderChoices>,
    /// Whether any customer may connect the vehicle (its integration is generally available).
    pub is_integration_live: bool,
    /// How far the integration has been released.
    pub integration_status: IntegrationStatus,
}

impl From<&domain::ElectricVehicle> for ElectricVehicleModelType {
    fn from(ev: &domain::ElectricVehicle) -> Self {
        ElectricVehicleModelType {
            vehicle_id: ID(ev.id.clone()),
            model: ev.model.clone(),
            year: i32::from(ev.available_from),
            available_from: i32::from(ev.available_from),
            available_to: ev.available_to.map(i32::from),
            battery_size: kwh(ev.battery()),
            supported_providers: providers(ev),
            is_integration_live: ev.integration_status.is_live(),
            integration_status: integration_status(ev.integration_status),
        }
    }
}

/// The charger models of one make.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct ChargePointVariantType {
    /// The charger maker, for example `myenergi`.
    pub make: String,
    pub models: Vec<ChargePointVariantModelType>,
}

/// One charger model, with the providers that can connect it.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct ChargePointVariantModelType {
    /// The stable catalogue id of the model, for example `cp-myenergi-zappi-v2-7kw`.
    pub variant_id: ID,
    /// The model name, for example `zappi v2 7kW`.
    pub model: String,
    /// Rated output, in kW.
    pub power_in_kw: Decimal,
    /// Rated current per phase, in amperes.
    pub amperage: i32,
    /// The integrations that can connect the charger.
    pub supported_providers: Vec<ProviderChoices>,
    /// Whether any customer may connect the charger (its integration is generally available).
    pub is_integration_live: bool,
    /// How far the integration has been released.
    pub integration_status: IntegrationStatus,
}

impl From<&domain::ChargePoint> for ChargePointVariantModelType {
    fn from(cp: &domain::ChargePoint) -> Self {
        ChargePointVariantModelType {
            variant_id: ID(cp.id.clone()),
            model: cp.model.clone(),
            power_in_kw: kw(cp.power()),
            amperage: i32::from(cp.amperage),
            supported_providers: providers(cp),
            is_integration_live: cp.integration_status.is_live(),
            integration_status: integration_status(cp.integration_status),
        }
    }
}

/// The home battery models of one make.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct BatteryVariantsType {
    /// The battery maker, for example `GivEnergy`.
    pub make: String,
    pub models: Vec<BatteryVariantModelType>,
}

/// One home battery model.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct BatteryVariantModelType {
    /// The stable catalogue id of the model, for example `bat-tesla-powerwall-2`.
    pub variant_id: ID,
    /// The model name, for example `Powerwall 2`.
    pub model: String,
    /// Usable capacity, in kWh.
    pub battery_capacity_in_kwh: Decimal,
    /// `AC` when the battery has its own inverter, `DC` when it sits behind a hybrid inverter.
    pub coupling_type: String,
    /// Continuous charge and discharge power, in kW.
    pub max_power_in_kw: Decimal,
    /// Whether the model is no longer made; installed ones can still be connected.
    pub is_deprecated: bool,
    /// Whether any customer may connect the battery (its integration is generally available).
    pub is_integration_live: bool,
}

impl From<&domain::Battery> for BatteryVariantModelType {
    fn from(battery: &domain::Battery) -> Self {
        BatteryVariantModelType {
            variant_id: ID(battery.id.clone()),
            model: battery.model.clone(),
            battery_capacity_in_kwh: kwh(battery.capacity()),
            coupling_type: battery.coupling.as_str().to_owned(),
            max_power_in_kw: kw(battery.max_power()),
            is_deprecated: battery.deprecated,
            is_integration_live: battery.integration_status.is_live(),
        }
    }
}

/// The makes and models of one kind of device that customers can connect.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct FlexSupportedDevices {
    /// The Kraken device type of the listed devices (chargers count as `ELECTRIC_VEHICLES`).
    pub device_type: Option<KrakenFlexDeviceTypes>,
    /// The kind that was listed; null when asked by a `deviceType` that has no such kind (`BATTERIES`).
    pub supported_device_type: Option<FlexSupportedDeviceTypes>,
    /// The makes with at least one generally available model.
    pub supported_makes: Vec<FlexSupportedMakeType>,
}

/// A make and its supported models.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct FlexSupportedMakeType {
    pub make: String,
    /// The supported models; an empty list would mean every model of the make.
    pub models: Vec<FlexSupportedModelType>,
}

/// One supported model.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct FlexSupportedModelType {
    pub model_name: String,
    /// The model years, such as `2019-2023` or `2022-present`; null for devices other than vehicles.
    pub model_year_range: Option<String>,
}

/// The `electricVehicles` answer.
fn electric_vehicles(
    catalogue: &Catalogue,
    is_integration_live: Option<bool>,
    make: Option<&str>,
    provider: Option<ProviderChoices>,
) -> Vec<ElectricVehicleType> {
    let matching = catalogue.electric_vehicles.iter().filter(|ev| {
        is_integration_live.is_none_or(|live| ev.integration_status.is_live() == live)
            && make.is_none_or(|make| same_make(&ev.make, make))
            && provider.is_none_or(|provider| supported(&**ev, provider))
    });
    by_make(matching, ElectricVehicleModelType::from)
        .into_iter()
        .map(|(make, models)| ElectricVehicleType { make, models })
        .collect()
}

/// The `chargePointVariants` answer.
fn charge_point_variants(
    catalogue: &Catalogue,
    make: Option<&str>,
    provider: Option<ProviderChoices>,
) -> Vec<ChargePointVariantType> {
    let matching = catalogue.charge_points.iter().filter(|cp| {
        make.is_none_or(|make| same_make(&cp.make, make))
            && provider.is_none_or(|provider| supported(&**cp, provider))
    });
    by_make(matching, ChargePointVariantModelType::from)
        .into_iter()
        .map(|(make, models)| ChargePointVariantType { make, models })
        .collect()
}

/// The `batteryVariants` answer.
fn battery_variants(catalogue: &Catalogue) -> Vec<BatteryVariantsType> {
    by_make(&catalogue.batteries, BatteryVariantModelType::from)
        .into_iter()
        .map(|(make, models)| BatteryVariantsType { make, models })
        .collect()
}

/// The `flexSupportedDevices` answer: exactly one of the two arguments must be given.
fn flex_supported_devices(
    catalogue: &Catalogue,
    device_type: Option<KrakenFlexDeviceTypes>,
    supported_device_type: Option<FlexSupportedDeviceTypes>,
) -> ApiResult<FlexSupportedDevices> {
    let (device_type, supported_device_type, kind) = match (device_type, supported_device_type) {
        (None, Some(supported)) => {
            let kind = supported.device_kind();
            (kraken_device_type(kind), Some(supported), Some(kind))
        }
        (Some(device_type), None) => {
            let supported = match device_type {
                KrakenFlexDeviceTypes::ElectricVehicles => {
                    Some(FlexSupportedDeviceTypes::ElectricVehicles)
                }
                KrakenFlexDeviceTypes::HeatPumps => Some(FlexSupportedDeviceTypes::HeatPumps),
                KrakenFlexDeviceTypes::Inverters => Some(FlexSupportedDeviceTypes::Inverters),
                KrakenFlexDeviceTypes::Thermostats => Some(FlexSupportedDeviceTypes::Thermostats),
                KrakenFlexDeviceTypes::Batteries
                | KrakenFlexDeviceTypes::ElectricityMeters
                | KrakenFlexDeviceTypes::StorageHeaters => None,
            };
            let kind = match device_type {
                KrakenFlexDeviceTypes::Batteries => Some(DeviceKind::Battery),
                _ => supported.map(FlexSupportedDeviceTypes::device_kind),
            };
            (device_type, supported, kind)
        }
        _ => return Err(KrakenError::new(ErrorCode::SupportedDeviceArgument)),
    };
    let live = kind
        .map(|kind| catalogue.entries(kind))
        .unwrap_or_default()
        .into_iter()
        .filter(|entry| entry.integration_status().is_live());
    let supported_makes = by_make(live, |entry| FlexSupportedModelType {
        model_name: entry.model().to_owned(),
        model_year_range: entry.years().map(|(from, to)| year_range(from, to)),
    })
    .into_iter()
    .map(|(make, models)| FlexSupportedMakeType { make, models })
    .collect();
    Ok(FlexSupportedDevices {
        device_type: Some(device_type),
        supported_device_type,
        supported_makes,
    })
}

/// The Kraken device types with at least one generally available model, each once.
fn live_device_types(catalogue: &Catalogue) -> Vec<KrakenFlexDeviceTypes> {
    let mut types = Vec::new();
    for kind in catalogue.live_kinds() {
        let device_type = kraken_device_type(kind);
        if !types.contains(&device_type) {
            types.push(device_type);
        }
    }
    types
}

#[derive(Default)]
pub struct CatalogueQuery;

#[Object]
impl CatalogueQuery {
    /// Electric vehicle models by make, with the providers that can connect each. Public.
    #[graphql(deprecation = "Deprecated on 2026-04-15: use `flexSupportedDevices` instead.")]
    async fn electric_vehicles(
        &self,
        #[graphql(
            desc = "Only models whose integration is (true) or is not (false) generally available."
        )]
        is_integration_live: Option<bool>,
        #[graphql(desc = "Only this make, compared without regard to case.")] make: Option<String>,
        #[graphql(desc = "Only models this provider can connect.")] supported_provider: Option<
            ProviderChoices,
        >,
    ) -> ApiResult<Vec<ElectricVehicleType>> {
        Ok(electric_vehicles(
            catalogue()?,
            is_integration_live,
            make_filter(&make),
            supported_provider,
        ))
    }

    /// Home charger models by make, with the providers that can connect each. Public.
    #[graphql(deprecation = "Deprecated on 2026-04-15: use `flexSupportedDevices` instead.")]
    async fn charge_point_variants(
        &self,
        #[graphql(desc = "Only this make, compared without regard to case.")] make: Option<String>,
        #[graphql(desc = "Only models this provider can connect.")] supported_provider: Option<
            ProviderChoices,
        >,
    ) -> ApiResult<Vec<ChargePointVariantType>> {
        Ok(charge_point_variants(
            catalogue()?,
            make_filter(&make),
            supported_provider,
        ))
    }

    /// Home battery models by make. Public.
    async fn battery_variants(&self) -> ApiResult<Vec<BatteryVariantsType>> {
        Ok(battery_variants(catalogue()?))
    }

    /// The makes and models of one kind of device that customers can connect today. Give exactly one
    /// argument (KT-CT-4342 otherwise). Public.
    async fn flex_supported_devices(
        &self,
        #[graphql(
            desc = "The kind of device, as a Kraken device type.",
            deprecation = "Deprecated on 2026-06-01: use `supportedDeviceType` instead."
        )]
        device_type: Option<KrakenFlexDeviceTypes>,
        #[graphql(desc = "The kind of device.")] supported_device_type: Option<
            FlexSupportedDeviceTypes,
        >,
    ) -> ApiResult<Option<FlexSupportedDevices>> {
        flex_supported_devices(catalogue()?, device_type, supported_device_type).map(Some)
    }

    /// The kinds of device the account may connect: every kind with a generally available
    /// integration while the account is active, none otherwise. Needs access to the account.
    async fn eligible_device_types(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        #[graphql(desc = "A property of the account; the answer is the same for all of them.")]
        property_id: Option<i32>,
    ) -> ApiResult<Vec<KrakenFlexDeviceTypes>> {
        let caller = authorise(ctx).await?;
        let api = api(ctx)?;
        let account = account_for(api, &caller, &account_number, ErrorCode::Unauthorized).await?;
        if let Some(property_id) = property_id {
            let property = accounts::property_by_id(&api.db, i64::from(property_id))
                .await
                .map_err(|err| KrakenError::internal("catalogue property", &err))?;
            if property.is_none_or(|property| property.account_id != account.id) {
                return Err(KrakenError::with_message(
                    ErrorCode::InvalidInput,
                    format!("The account has no property {property_id}."),
                ));
            }
        }
        if DomainStatus::parse(&account.status) != Some(DomainStatus::Active) {
            return Ok(Vec::new());
        }
        Ok(live_device_types(catalogue()?))
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Request, Schema, Value};
    use serde_json::json;

    use super::*;

    fn c() -> &'static Catalogue {
        Catalogue::get().expect("the built-in catalogue loads")
    }

    fn schema() -> Schema<CatalogueQuery, EmptyMutation, EmptySubscription> {
        Schema::build(CatalogueQuery, EmptyMutation, EmptySubscription).finish()
    }

    async fn run(query: &str) -> serde_json::Value {
        let response = schema().execute(Request::new(query)).await;
        serde_json::to_value(&response).expect("a response serialises")
    }

    #[test]
    fn decimals_keep_one_decimal_place_at_least() {
        assert_eq!(kw(Power::from_w(11_000)).0.to_string(), "11.0");
        assert_eq!(kw(Power::from_w(7_400)).0.to_string(), "7.4");
        assert_eq!(kwh(Energy::from_wh(10_240)).0.to_string(), "10.24");
        assert_eq!(kw(Power::from_w(290)).0.to_string(), "0.29");
    }

    #[test]
    fn every_catalogue_provider_is_a_provider_choice() {
        for entry in c().all() {
            assert_eq!(
                providers(entry).len(),
                entry.providers().len(),
                "{}",
                entry.id()
            );
        }
    }

    #[test]
    fn vehicles_are_grouped_by_make_and_filtered() {
        let all = electric_vehicles(c(), None, None, None);
        let count: usize = all.iter().map(|m| m.models.len()).sum();
        assert_eq!(count, c().electric_vehicles.len());
        let makes: Vec<String> = all.iter().map(|m| m.make.to_lowercase()).collect();
        let mut sorted = makes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(makes, sorted, "makes are sorted and listed once");

        let teslas = electric_vehicles(c(), None, Some("TESLA"), None);
        assert_eq!(teslas.len(), 1);
        assert_eq!(teslas[0].make, "Tesla");
        let model_3 = teslas[0]
            .models
            .iter()
            .find(|m| m.vehicle_id.0 == "ev-tesla-model-3-lr-2021")
            .expect("Model 3 LR");
        assert_eq!(model_3.battery_size.0.to_string(), "75.0");
        assert_eq!(
            (model_3.available_from, model_3.available_to),
            (2021, Some(2023))
        );
        assert!(
            model_3
                .supported_providers
                .contains(&ProviderChoices::TeslaV2)
        );

        let live = electric_vehicles(c(), Some(true), None, None);
        assert!(
            live.iter()
                .flat_map(|m| &m.models)
                .all(|m| m.is_integration_live
                    && m.integration_status == IntegrationStatus::GenerallyAvailable)
        );
        let not_live = electric_vehicles(c(), Some(false), None, None);
        assert!(!not_live.is_empty());
        assert!(
            not_live
                .iter()
                .flat_map(|m| &m.models)
                .all(|m| !m.is_integration_live)
        );

        let tesla_provider = electric_vehicles(c(), None, None, Some(ProviderChoices::Tesla));
        assert_eq!(
            tesla_provider.len(),
            1,
            "only Teslas use the TESLA provider"
        );
        assert!(electric_vehicles(c(), None, Some("Daikin"), None).is_empty());
    }

    #[test]
    fn chargers_and_batteries_are_listed() {
        let myenergi =
            charge_point_variants(c(), Some("MyEnergi"), Some(ProviderChoices::MyenergiV2));
        assert_eq!(myenergi.len(), 1);
        let zappi_22 = myenergi[0]
            .models
            .iter()
            .find(|m| m.variant_id.0 == "cp-myenergi-zappi-v2-22kw")
            .expect("zappi 22kW");
        assert_eq!(zappi_22.power_in_kw.0.to_string(), "22.0");
        assert_eq!(zappi_22.amperage, 32);
        assert!(charge_point_variants(c(), None, Some(ProviderChoices::Tesla)).is_empty());

        let batteries = battery_variants(c());
        let count: usize = batteries.iter().map(|m| m.models.len()).sum();
        assert_eq!(count, c().batteries.len());
        let all: Vec<&BatteryVariantModelType> = batteries.iter().flat_map(|m| &m.models).collect();
        assert!(
            all.iter()
                .all(|m| m.coupling_type == "AC" || m.coupling_type == "DC")
        );
        assert!(all.iter().any(|m| m.is_deprecated));
        assert!(all.iter().any(|m| !m.is_integration_live));
    }

    #[test]
    fn flex_supported_devices_needs_exactly_one_argument() {
        for (device_type, supported) in [
            (None, None),
            (
                Some(KrakenFlexDeviceTypes::HeatPumps),
                Some(FlexSupportedDeviceTypes::HeatPumps),
            ),
        ] {
            let err = flex_supported_devices(c(), device_type, supported).expect_err("refused");
            assert_eq!(err.code, ErrorCode::SupportedDeviceArgument);
        }
    }

    #[test]
    fn flex_supported_devices_lists_only_live_models() {
        let chargers =
            flex_supported_devices(c(), None, Some(FlexSupportedDeviceTypes::ChargePoints))
                .expect("charge points");
        assert_eq!(
            chargers.device_type,
            Some(KrakenFlexDeviceTypes::ElectricVehicles)
        );
        assert_eq!(
            chargers.supported_device_type,
            Some(FlexSupportedDeviceTypes::ChargePoints)
        );
        let models: Vec<&FlexSupportedModelType> = chargers
            .supported_makes
            .iter()
            .flat_map(|m| &m.models)
            .collect();
        let live = c()
            .charge_points
            .iter()
            .filter(|cp| cp.integration_status.is_live())
            .count();
        assert_eq!(models.len(), live);
        assert!(models.iter().all(|m| m.model_year_range.is_none()));
        assert!(
            !chargers
                .supported_makes
                .iter()
                .any(|m| m.make == "Pod Point")
        );

        let vehicles =
            flex_supported_devices(c(), Some(KrakenFlexDeviceTypes::ElectricVehicles), None)
                .expect("vehicles");
        let ranges: Vec<&str> = vehicles
            .supported_makes
            .iter()
            .flat_map(|m| &m.models)
            .filter_map(|m| m.model_year_range.as_deref())
            .collect();
        assert!(ranges.contains(&"2021-2023") && ranges.contains(&"2022-present"));

        let batteries = flex_supported_devices(c(), Some(KrakenFlexDeviceTypes::Batteries), None)
            .expect("batteries");
        assert_eq!(batteries.supported_device_type, None);
        assert!(!batteries.supported_makes.is_empty());

        let thermostats =
            flex_supported_devices(c(), None, Some(FlexSupportedDeviceTypes::Thermostats))
                .expect("thermostats");
        assert!(thermostats.supported_makes.is_empty());
    }

    #[test]
    fn the_live_device_types_are_the_catalogued_kinds() {
        assert_eq!(
            live_device_types(c()),
            vec![
                KrakenFlexDeviceTypes::ElectricVehicles,
                KrakenFlexDeviceTypes::HeatPumps,
                KrakenFlexDeviceTypes::Batteries,
                KrakenFlexDeviceTypes::Inverters,
            ]
        );
    }

    #[tokio::test]
    async fn the_public_queries_answer_without_sign_in() {
        let body = run(
            r#"{
                electricVehicles(make: "nissan", isIntegrationLive: true, supportedProvider: NISSAN) {
                    make models { vehicleId model year availableFrom availableTo batterySize
                                  supportedProviders isIntegrationLive integrationStatus }
                }
                chargePointVariants(make: "Ohme") { make models { variantId model powerInKw amperage
                                                                supportedProviders isIntegrationLive integrationStatus } }
                batteryVariants { make models { variantId model batteryCapacityInKwh couplingType
                                                maxPowerInKw isDeprecated isIntegrationLive } }
                flexSupportedDevices(supportedDeviceType: HEAT_PUMPS) {
                    deviceType supportedDeviceType supportedMakes { make models { modelName modelYearRange } }
                }
            }"#,
        )
        .await;
        assert!(body["errors"].is_null(), "{body}");
        let data = &body["data"];
        assert_eq!(data["electricVehicles"][0]["make"], "Nissan");
        let leaf = &data["electricVehicles"][0]["models"][0];
        assert_eq!(
            leaf,
            &json!({
                "vehicleId": "ev-nissan-ariya-63-2022",
                "model": "Ariya 63 kWh",
                "year": 2022,
                "availableFrom": 2022,
                "availableTo": null,
                "batterySize": "63.0",
                "supportedProviders": ["ENODE", "SMARTCAR", "JEDLIX", "NISSAN"],
                "isIntegrationLive": true,
                "integrationStatus": "GENERALLY_AVAILABLE"
            })
        );
        assert_eq!(
            data["chargePointVariants"][0]["models"][0]["powerInKw"],
            "7.4"
        );
        assert!(
            data["batteryVariants"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        );
        let heat_pumps = &data["flexSupportedDevices"];
        assert_eq!(heat_pumps["deviceType"], "HEAT_PUMPS");
        assert_eq!(heat_pumps["supportedDeviceType"], "HEAT_PUMPS");
        assert!(
            heat_pumps["supportedMakes"]
                .as_array()
                .is_some_and(|makes| makes.iter().any(|m| m["make"] == "Daikin"))
        );
    }

    #[tokio::test]
    async fn flex_supported_devices_without_an_argument_is_kt_ct_4342() {
        let response = schema()
            .execute(Request::new(
                "{ flexSupportedDevices { supportedMakes { make } } }",
            ))
            .await;
        assert_eq!(response.errors.len(), 1, "{:?}", response.errors);
        assert_eq!(
            response.errors[0].path,
            vec![async_graphql::PathSegment::Field(
                "flexSupportedDevices".to_owned()
            )]
        );
        let ext = response.errors[0].extensions.as_ref().expect("extensions");
        assert_eq!(ext.get("errorCode"), Some(&Value::from("KT-CT-4342")));
    }
}
