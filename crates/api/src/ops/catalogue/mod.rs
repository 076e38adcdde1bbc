//! The device catalogue: `electricVehicles`, `chargePointVariants`, `batteryVariants` and
//! `flexSupportedDevices`, which anyone may read (the catalogue holds public product facts), and
//! `eligibleDeviceTypes`, which needs a signed-in caller with access to the account.
//!
//! The data comes from [`resiflex_domain::catalogue`]; this module only filters it, groups it by make
//! and turns sizes and powers into `Decimal`s. Makes are listed alphabetically (ignoring case) and
//! the models of a make by name, then by first model year.
//!
//! One file per operation, with the types it answers with; this module keeps the resolvers and the
//! helpers several operations share.

mod battery_variants;
mod charge_point_variants;
mod electric_vehicles;
mod eligible_device_types;
mod flex_supported_devices;

use async_graphql::{Context, Object};
use resiflex_domain::catalogue::{
    self as domain, Catalogue, CatalogueEntry, CatalogueError, same_make,
};
use resiflex_domain::device::{DeviceKind, Provider};
use resiflex_domain::units::{Energy, Power};
use rust_decimal::Decimal as RustDecimal;

pub use battery_variants::{BatteryVariantModelType, BatteryVariantsType};
pub use charge_point_variants::{ChargePointVariantModelType, ChargePointVariantType};
pub use electric_vehicles::{ElectricVehicleModelType, ElectricVehicleType};
pub use flex_supported_devices::{
    FlexSupportedDeviceTypes, FlexSupportedDevices, FlexSupportedMakeType, FlexSupportedModelType,
};

use super::{OperationErrors, OperationKind};
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
        Ok(electric_vehicles::run(
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
        Ok(charge_point_variants::run(
            catalogue()?,
            make_filter(&make),
            supported_provider,
        ))
    }

    /// Home battery models by make. Public.
    async fn battery_variants(&self) -> ApiResult<Vec<BatteryVariantsType>> {
        Ok(battery_variants::run(catalogue()?))
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
        flex_supported_devices::run(catalogue()?, device_type, supported_device_type).map(Some)
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
        eligible_device_types::run(ctx, account_number, property_id).await
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Request, Schema, Value};
    use serde_json::json;

    use super::*;

    pub(super) fn c() -> &'static Catalogue {
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
                "supportedProviders": ["NISSAN", "ENODE", "SMARTCAR", "JEDLIX", "JEDLIX_V2"],
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
    async fn every_enode_vendor_has_a_live_vehicle_through_enode_and_thermostats_are_listed() {
        let body = run(r#"{
                electricVehicles(isIntegrationLive: true, supportedProvider: ENODE) { make }
                flexSupportedDevices(supportedDeviceType: THERMOSTATS) {
                    deviceType supportedMakes { make models { modelName } }
                }
            }"#)
        .await;
        assert!(body["errors"].is_null(), "{body}");
        let data = &body["data"];
        let makes: Vec<String> = data["electricVehicles"]
            .as_array()
            .expect("makes")
            .iter()
            .map(|m| m["make"].as_str().unwrap_or_default().to_ascii_uppercase())
            .collect();
        let vendors = crate::enums::EnodeVendors::ALL;
        assert_eq!(vendors.len(), 24);
        for vendor in vendors {
            let make = resiflex_providers::vendors::ENODE_VENDORS
                .iter()
                .find(|(v, _)| *v == vendor.as_str())
                .map(|(_, make)| make.to_ascii_uppercase())
                .unwrap_or_default();
            assert!(makes.contains(&make), "{vendor}: {makes:?}");
        }
        assert_eq!(makes.len(), vendors.len(), "Enode serves its vendors only");
        let thermostats = &data["flexSupportedDevices"];
        assert_eq!(thermostats["deviceType"], "THERMOSTATS");
        let makes: Vec<&str> = thermostats["supportedMakes"]
            .as_array()
            .expect("makes")
            .iter()
            .filter_map(|m| m["make"].as_str())
            .collect();
        for make in [
            "ecobee",
            "Google Nest",
            "Honeywell",
            "Honeywell Home",
            "Sensi",
            "Amazon",
        ] {
            assert!(makes.contains(&make), "{make} in {makes:?}");
        }
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
