//! `chargePointVariants`: home charger models by make.

use async_graphql::{ID, SimpleObject};
use resiflex_domain::catalogue::{self as domain, Catalogue, same_make};

use super::{by_make, integration_status, kw, providers, supported};
use crate::enums::{IntegrationStatus, ProviderChoices};
use crate::scalars::Decimal;

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

/// The `chargePointVariants` answer.
pub(super) fn run(
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

#[cfg(test)]
mod tests {
    use super::super::tests::c;
    use super::*;

    #[test]
    fn chargers_are_listed() {
        let myenergi = run(c(), Some("MyEnergi"), Some(ProviderChoices::MyenergiV2));
        assert_eq!(myenergi.len(), 1);
        let zappi_22 = myenergi[0]
            .models
            .iter()
            .find(|m| m.variant_id.0 == "cp-myenergi-zappi-v2-22kw")
            .expect("zappi 22kW");
        assert_eq!(zappi_22.power_in_kw.0.to_string(), "22.0");
        assert_eq!(zappi_22.amperage, 32);
        assert!(run(c(), None, Some(ProviderChoices::Tesla)).is_empty());
    }
}
