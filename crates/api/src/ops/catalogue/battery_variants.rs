//! `batteryVariants`: home battery models by make.

use async_graphql::{ID, SimpleObject};
use resiflex_domain::catalogue::{self as domain, Catalogue};

use super::{by_make, kw, kwh};
use crate::scalars::Decimal;

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

/// The `batteryVariants` answer.
pub(super) fn run(catalogue: &Catalogue) -> Vec<BatteryVariantsType> {
    by_make(&catalogue.batteries, BatteryVariantModelType::from)
        .into_iter()
        .map(|(make, models)| BatteryVariantsType { make, models })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::c;
    use super::*;

    #[test]
    fn batteries_are_listed() {
        let batteries = run(c());
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
}
