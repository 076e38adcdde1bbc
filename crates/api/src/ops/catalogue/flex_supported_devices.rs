//! `flexSupportedDevices`: the makes and models of one kind of device that customers can connect.

use async_graphql::{Enum, SimpleObject};
use resiflex_domain::catalogue::Catalogue;
use resiflex_domain::device::DeviceKind;

use super::{by_make, kraken_device_type, year_range};
use crate::enums::KrakenFlexDeviceTypes;
use crate::errors::{ApiResult, ErrorCode, KrakenError};

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

/// The `flexSupportedDevices` answer: exactly one of the two arguments must be given.
pub(super) fn run(
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

#[cfg(test)]
mod tests {
    use super::super::tests::c;
    use super::*;

    #[test]
    fn flex_supported_devices_needs_exactly_one_argument() {
        for (device_type, supported) in [
            (None, None),
            (
                Some(KrakenFlexDeviceTypes::HeatPumps),
                Some(FlexSupportedDeviceTypes::HeatPumps),
            ),
        ] {
            let err = run(c(), device_type, supported).expect_err("refused");
            assert_eq!(err.code, ErrorCode::SupportedDeviceArgument);
        }
    }

    #[test]
    fn flex_supported_devices_lists_only_live_models() {
        let chargers =
            run(c(), None, Some(FlexSupportedDeviceTypes::ChargePoints)).expect("charge points");
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
            run(c(), Some(KrakenFlexDeviceTypes::ElectricVehicles), None).expect("vehicles");
        let ranges: Vec<&str> = vehicles
            .supported_makes
            .iter()
            .flat_map(|m| &m.models)
            .filter_map(|m| m.model_year_range.as_deref())
            .collect();
        assert!(ranges.contains(&"2021-2023") && ranges.contains(&"2022-present"));

        let batteries = run(c(), Some(KrakenFlexDeviceTypes::Batteries), None).expect("batteries");
        assert_eq!(batteries.supported_device_type, None);
        assert!(!batteries.supported_makes.is_empty());

        let thermostats =
            run(c(), None, Some(FlexSupportedDeviceTypes::Thermostats)).expect("thermostats");
        assert!(
            thermostats
                .supported_makes
                .iter()
                .any(|m| m.make == "ecobee" && !m.models.is_empty())
        );
        assert!(
            !thermostats.supported_makes.iter().any(|m| m.make == "tado"),
            "only generally available models"
        );
    }
}
