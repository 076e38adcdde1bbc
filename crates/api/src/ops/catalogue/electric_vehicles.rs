//! `electricVehicles`: electric vehicle models by make.

use async_graphql::{ID, SimpleObject};
use resiflex_domain::catalogue::{self as domain, Catalogue, same_make};

use super::{by_make, integration_status, kwh, providers, supported};
use crate::enums::{IntegrationStatus, ProviderChoices};
use crate::scalars::Decimal;

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

/// The `electricVehicles` answer.
pub(super) fn run(
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

#[cfg(test)]
mod tests {
    use super::super::tests::c;
    use super::*;

    #[test]
    fn vehicles_are_grouped_by_make_and_filtered() {
        let all = run(c(), None, None, None);
        let count: usize = all.iter().map(|m| m.models.len()).sum();
        assert_eq!(count, c().electric_vehicles.len());
        let makes: Vec<String> = all.iter().map(|m| m.make.to_lowercase()).collect();
        let mut sorted = makes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(makes, sorted, "makes are sorted and listed once");

        let teslas = run(c(), None, Some("TESLA"), None);
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

        let live = run(c(), Some(true), None, None);
        assert!(
            live.iter()
                .flat_map(|m| &m.models)
                .all(|m| m.is_integration_live
                    && m.integration_status == IntegrationStatus::GenerallyAvailable)
        );
        let not_live = run(c(), Some(false), None, None);
        assert!(!not_live.is_empty());
        assert!(
            not_live
                .iter()
                .flat_map(|m| &m.models)
                .all(|m| !m.is_integration_live)
        );

        let tesla_provider = run(c(), None, None, Some(ProviderChoices::Tesla));
        assert_eq!(
            tesla_provider.len(),
            1,
            "only Teslas use the TESLA provider"
        );
        assert!(run(c(), None, Some("Daikin"), None).is_empty());
    }
}
