//! The controller vocabulary as the heat-pump operations publish it: its enums, and temperature,
//! power and energy values with their units.
//!
//! These enums are the controller API's, not the SmartFlex registry's: its `ZoneType` (`HEAT`,
//! `WATER`, `AUX`) is published as `ControllerZoneType`, since the schema already has the
//! SmartFlex `ZoneType`; clients name the values, never the type.

use async_graphql::{Enum, InputObject, SimpleObject};
use resiflex_domain::heat::{Zone as DomainZone, ZoneMode};
use resiflex_domain::heat_controller::{ControllerZoneType as DomainZoneType, ScheduleAction};
use rust_decimal::Decimal as RustDecimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

use super::invalid;
use crate::enums::EnergyUnit;
use crate::errors::ApiResult;
pub use crate::ops::values::Energy;
use crate::scalars::Decimal;

/// A zone of a heat-pump controller.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Zone {
    /// Domestic hot water.
    #[graphql(name = "WATER")]
    Water,
    /// The first heating zone.
    #[graphql(name = "ZONE_1")]
    Zone1,
    /// The second heating zone.
    #[graphql(name = "ZONE_2")]
    Zone2,
    /// An auxiliary output.
    #[graphql(name = "AUXILIARY")]
    Auxiliary,
}

impl From<Zone> for DomainZone {
    fn from(zone: Zone) -> Self {
        match zone {
            Zone::Water => DomainZone::Water,
            Zone::Zone1 => DomainZone::Zone1,
            Zone::Zone2 => DomainZone::Zone2,
            Zone::Auxiliary => DomainZone::Auxiliary,
        }
    }
}

impl From<DomainZone> for Zone {
    fn from(zone: DomainZone) -> Self {
        match zone {
            DomainZone::Water => Zone::Water,
            DomainZone::Zone1 => Zone::Zone1,
            DomainZone::Zone2 => Zone::Zone2,
            DomainZone::Auxiliary => Zone::Auxiliary,
        }
    }
}

/// How a zone is run.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Heat to the set-point all the time.
    #[graphql(name = "ON")]
    On,
    /// Do not heat.
    #[graphql(name = "OFF")]
    Off,
    /// Follow the zone's schedule and smart control.
    #[graphql(name = "AUTO")]
    Auto,
    /// Heat to the set-point until the boost ends.
    #[graphql(name = "BOOST")]
    Boost,
}

impl From<Mode> for ZoneMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::On => ZoneMode::On,
            Mode::Off => ZoneMode::Off,
            Mode::Auto => ZoneMode::Auto,
            Mode::Boost => ZoneMode::Boost,
        }
    }
}

impl From<ZoneMode> for Mode {
    fn from(mode: ZoneMode) -> Self {
        match mode {
            ZoneMode::On => Mode::On,
            ZoneMode::Off => Mode::Off,
            ZoneMode::Auto => Mode::Auto,
            ZoneMode::Boost => Mode::Boost,
        }
    }
}

/// What a controller zone heats.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ControllerZoneType {
    /// Space heating.
    #[graphql(name = "HEAT")]
    Heat,
    /// Domestic hot water.
    #[graphql(name = "WATER")]
    Water,
    /// An auxiliary output.
    #[graphql(name = "AUX")]
    Aux,
}

impl From<DomainZoneType> for ControllerZoneType {
    fn from(kind: DomainZoneType) -> Self {
        match kind {
            DomainZoneType::Heat => ControllerZoneType::Heat,
            DomainZoneType::Water => ControllerZoneType::Water,
            DomainZoneType::Aux => ControllerZoneType::Aux,
        }
    }
}

/// A state flag of a controller.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Running normally.
    #[graphql(name = "NORMAL_MODE")]
    NormalMode,
}

/// What a schedule step does.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ScheduleSettingAction {
    /// Heat to the step's set-point from the step's time.
    #[graphql(name = "SET_TEMPERATURE")]
    SetTemperature,
    /// Stop heating from the step's time.
    #[graphql(name = "TURN_OFF")]
    TurnOff,
}

impl From<ScheduleSettingAction> for ScheduleAction {
    fn from(action: ScheduleSettingAction) -> Self {
        match action {
            ScheduleSettingAction::SetTemperature => ScheduleAction::SetTemperature,
            ScheduleSettingAction::TurnOff => ScheduleAction::TurnOff,
        }
    }
}

impl From<ScheduleAction> for ScheduleSettingAction {
    fn from(action: ScheduleAction) -> Self {
        match action {
            ScheduleAction::SetTemperature => ScheduleSettingAction::SetTemperature,
            ScheduleAction::TurnOff => ScheduleSettingAction::TurnOff,
        }
    }
}

/// How the buckets of a performance series are sized: `LIVE` five minutes, `DAY` an hour,
/// `WEEK` and `MONTH` a day, `YEAR` a month.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PerformanceGrouping {
    #[graphql(name = "LIVE")]
    Live,
    #[graphql(name = "DAY")]
    Day,
    #[graphql(name = "WEEK")]
    Week,
    #[graphql(name = "MONTH")]
    Month,
    #[graphql(name = "YEAR")]
    Year,
}

/// The unit of a temperature.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum TemperatureUnit {
    #[graphql(name = "DEGREES_CELSIUS")]
    DegreesCelsius,
}

/// The unit of a power.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PowerUnit {
    #[graphql(name = "KILOWATT")]
    Kilowatt,
}

/// A temperature, °C.
#[derive(SimpleObject, Debug, Clone)]
pub struct Temperature {
    pub value: Option<Decimal>,
    pub unit: TemperatureUnit,
}

/// A range of temperatures.
#[derive(SimpleObject, Debug, Clone)]
pub struct TemperatureRange {
    pub minimum: Temperature,
    pub maximum: Temperature,
}

/// A power, kW.
#[derive(SimpleObject, Debug, Clone)]
pub struct Power {
    pub value: Option<Decimal>,
    pub unit: PowerUnit,
}

/// A temperature given to a change.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct TemperatureInput {
    pub value: Decimal,
    pub unit: TemperatureUnit,
}

impl TemperatureInput {
    /// The temperature in °C; OE-0315 when it is not a usable number.
    pub fn celsius(&self) -> ApiResult<f64> {
        self.value
            .0
            .to_f64()
            .filter(|c| c.is_finite())
            .ok_or_else(|| invalid(format!("{} is not a temperature", self.value.0)))
    }
}

/// A range of temperatures given to a change.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct TemperatureRangeInput {
    pub minimum: TemperatureInput,
    pub maximum: TemperatureInput,
}

/// A number to at most `places` decimal places, with at least one.
pub(crate) fn decimal(value: f64, places: u32) -> Option<Decimal> {
    let mut decimal = RustDecimal::from_f64(value)?.round_dp(places).normalize();
    if decimal.scale() == 0 {
        decimal.rescale(1);
    }
    Some(Decimal(decimal))
}

pub(crate) fn celsius(value: f64) -> Temperature {
    Temperature {
        value: decimal(value, 2),
        unit: TemperatureUnit::DegreesCelsius,
    }
}

pub(crate) fn celsius_range(minimum: f64, maximum: f64) -> TemperatureRange {
    TemperatureRange {
        minimum: celsius(minimum),
        maximum: celsius(maximum),
    }
}

/// A power from W to kW.
pub(crate) fn kilowatts(watts: Option<f64>) -> Power {
    Power {
        value: watts.and_then(|w| decimal(w / 1000.0, 3)),
        unit: PowerUnit::Kilowatt,
    }
}

/// An energy from Wh to kWh.
pub(crate) fn kilowatt_hours(watt_hours: Option<f64>) -> Energy {
    Energy {
        value: watt_hours.and_then(|wh| decimal(wh / 1000.0, 3)),
        unit: EnergyUnit::KilowattHour,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_carry_their_units_and_a_decimal_place() {
        assert_eq!(
            celsius(45.0).value.map(|d| d.0.to_string()),
            Some("45.0".into())
        );
        assert_eq!(
            kilowatts(Some(1234.0)).value.map(|d| d.0.to_string()),
            Some("1.234".into())
        );
        assert_eq!(
            kilowatt_hours(Some(3_500.0)).value.map(|d| d.0.to_string()),
            Some("3.5".into())
        );
        assert!(kilowatts(None).value.is_none());
        assert!(celsius(f64::NAN).value.is_none());
    }
}
