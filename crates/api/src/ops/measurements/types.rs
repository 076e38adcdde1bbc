//! The measurement node types: `MeasurementInterface`, implemented by `IntervalMeasurementType`
//! (consumption or generation over an interval) and `MeasurementType` (a register read), with
//! their metadata (the filter that produced them) and statistics (what they cost).

use async_graphql::{InputObject, Interface, SimpleObject, Union};
use resiflex_energy::readings::measurements::{Cost, Measurement, Statistics};
use rust_decimal::Decimal as RustDecimal;

use crate::enums::{
    ReadingDirectionType, ReadingFrequencyType, ReadingQualityType, ReadingStatisticTypeEnum,
};
use crate::scalars::{DateTime, Decimal};

/// Which electricity readings to return.
#[derive(InputObject, Debug, Clone, Default)]
pub struct ElectricityFiltersInput {
    pub reading_frequency_type: Option<ReadingFrequencyType>,
    pub reading_direction: Option<ReadingDirectionType>,
    pub reading_quality: Option<ReadingQualityType>,
    /// The meter point (MPAN).
    pub market_supply_point_id: Option<String>,
    /// A smart meter's device id, or a SmartFlex device's id for its own meter.
    pub device_id: Option<String>,
    pub register_id: Option<String>,
}

/// Which gas readings to return.
#[derive(InputObject, Debug, Clone, Default)]
pub struct GasFiltersInput {
    pub reading_frequency_type: Option<ReadingFrequencyType>,
    /// The meter point (MPRN).
    pub market_supply_point_id: Option<String>,
    pub device_id: Option<String>,
    pub register_id: Option<String>,
}

/// One fuel's filter: exactly one of the two.
#[derive(InputObject, Debug, Clone, Default)]
pub struct UtilityFiltersInput {
    pub electricity_filters: Option<ElectricityFiltersInput>,
    pub gas_filters: Option<GasFiltersInput>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct ElectricityFiltersOutput {
    pub reading_direction: ReadingDirectionType,
    pub reading_quality: ReadingQualityType,
    pub reading_frequency_type: ReadingFrequencyType,
    pub market_supply_point_id: Option<String>,
    pub device_id: Option<String>,
    pub register_id: Option<String>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct GasFiltersOutput {
    pub reading_frequency_type: ReadingFrequencyType,
    pub market_supply_point_id: Option<String>,
    pub device_id: Option<String>,
    pub register_id: Option<String>,
}

/// The filter a measurement answers.
#[derive(Union, Debug, Clone)]
pub enum UtilityFiltersOutput {
    ElectricityFiltersOutput(ElectricityFiltersOutput),
    GasFiltersOutput(GasFiltersOutput),
}

/// A price per unit, in minor units.
#[derive(SimpleObject, Debug, Clone)]
pub struct PricePerUnitType {
    pub amount: Decimal,
}

/// An estimated amount of money: minor units, with the fractions energy prices carry.
#[derive(SimpleObject, Debug, Clone)]
pub struct EstimatedMoneyType {
    pub estimated_amount: Decimal,
    /// ISO 4217.
    pub cost_currency: String,
    /// The average net price per kWh.
    pub price_per_unit: Option<PricePerUnitType>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct StatisticOutput {
    #[graphql(name = "type")]
    pub kind: ReadingStatisticTypeEnum,
    pub label: Option<String>,
    pub description: Option<String>,
    pub cost_excl_tax: Option<EstimatedMoneyType>,
    pub cost_incl_tax: Option<EstimatedMoneyType>,
    pub value: Option<Decimal>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct MeasurementsMetadataOutput {
    pub utility_filters: UtilityFiltersOutput,
    pub statistics: Vec<StatisticOutput>,
}

/// Consumption or generation over an interval.
#[derive(SimpleObject, Debug, Clone)]
pub struct IntervalMeasurementType {
    pub value: Decimal,
    pub unit: String,
    pub read_at: DateTime,
    pub source: String,
    pub meta_data: Option<MeasurementsMetadataOutput>,
    pub start_at: DateTime,
    pub end_at: DateTime,
    /// Seconds of the interval that readings cover (less than its length where there are gaps).
    pub duration_in_seconds: i32,
    #[graphql(deprecation = "Use `value`.")]
    pub accumulation: Option<Decimal>,
}

/// A register read.
#[derive(SimpleObject, Debug, Clone)]
pub struct MeasurementType {
    pub value: Decimal,
    pub unit: String,
    pub read_at: DateTime,
    pub source: String,
    pub meta_data: Option<MeasurementsMetadataOutput>,
}

// The derive's repeated `ty = "&String"` is not a duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface, Debug, Clone)]
#[graphql(
    field(name = "value", ty = "&Decimal"),
    field(name = "unit", ty = "&String"),
    field(name = "read_at", ty = "&DateTime"),
    field(name = "source", ty = "&String"),
    field(name = "meta_data", ty = "&Option<MeasurementsMetadataOutput>")
)]
pub enum MeasurementInterface {
    IntervalMeasurementType(IntervalMeasurementType),
    MeasurementType(MeasurementType),
}

/// Thousandths as an exact decimal with three places.
fn milli(value: i64) -> Decimal {
    Decimal(RustDecimal::new(value, 3))
}

/// Billionths of a minor unit as minor units, to six places.
pub(crate) fn nano(value: i128) -> Decimal {
    let rounded = (value.abs() + 500) / 1_000 * value.signum();
    Decimal(
        RustDecimal::try_from_i128_with_scale(rounded, 6)
            .unwrap_or(RustDecimal::MAX)
            .normalize(),
    )
}

fn money(cost: &Cost, nano_amount: i128, currency: &str) -> EstimatedMoneyType {
    EstimatedMoneyType {
        estimated_amount: nano(nano_amount),
        cost_currency: currency.to_owned(),
        price_per_unit: cost.price_per_kwh_micros().map(|micros| PricePerUnitType {
            amount: nano(micros * 1_000),
        }),
    }
}

fn cost_statistic(
    kind: ReadingStatisticTypeEnum,
    label: &str,
    cost: &Cost,
    currency: &str,
) -> StatisticOutput {
    StatisticOutput {
        kind,
        label: Some(label.to_owned()),
        description: None,
        cost_excl_tax: Some(money(cost, cost.exc_vat_nano, currency)),
        cost_incl_tax: Some(money(cost, cost.inc_vat_nano, currency)),
        value: (cost.kwh_milli != 0).then(|| milli(cost.kwh_milli)),
    }
}

/// The statistics of a measurement, as the API lists them.
fn statistics(stats: &Statistics, generation: bool, currency: &str) -> Vec<StatisticOutput> {
    let mut out = Vec::new();
    if let Some(cost) = &stats.energy {
        let (kind, label) = if generation {
            (
                ReadingStatisticTypeEnum::GenerationValue,
                "Generation value",
            )
        } else {
            (
                ReadingStatisticTypeEnum::ConsumptionCost,
                "Consumption cost",
            )
        };
        out.push(cost_statistic(kind, label, cost, currency));
    }
    if let Some(cost) = &stats.standing {
        out.push(cost_statistic(
            ReadingStatisticTypeEnum::StandingChargeCost,
            "Standing charge",
            cost,
            currency,
        ));
    }
    for (band, cost) in &stats.bands {
        out.push(cost_statistic(
            ReadingStatisticTypeEnum::TouBucketCost,
            band.as_str(),
            cost,
            currency,
        ));
    }
    if let Some(grams) = stats.co2_nano_grams {
        out.push(StatisticOutput {
            kind: ReadingStatisticTypeEnum::Co2EmissionStatistic,
            label: Some("gCO2".to_owned()),
            description: Some("Emissions of the energy, in grams of CO2".to_owned()),
            cost_excl_tax: None,
            cost_incl_tax: None,
            value: Some(nano(grams)),
        });
    }
    if let Some(kwh) = stats.gas_kwh_milli {
        out.push(StatisticOutput {
            kind: ReadingStatisticTypeEnum::GasReadingInformation,
            label: Some("kWh".to_owned()),
            description: Some("Energy of the gas: volume × 1.02264 × 39.2 MJ/m³ ÷ 3.6".to_owned()),
            cost_excl_tax: None,
            cost_incl_tax: None,
            value: Some(milli(kwh)),
        });
    }
    out
}

/// A measurement as the API answers it, with the filter that produced it.
pub fn node(
    measurement: &Measurement,
    filters: &UtilityFiltersOutput,
    generation: bool,
    currency: &str,
) -> MeasurementInterface {
    let meta_data = Some(MeasurementsMetadataOutput {
        utility_filters: filters.clone(),
        statistics: measurement
            .statistics
            .as_ref()
            .map(|s| statistics(s, generation, currency))
            .unwrap_or_default(),
    });
    let value = milli(measurement.milli);
    let source = measurement.source.as_str().to_owned();
    match measurement.interval {
        Some((start, end)) => {
            MeasurementInterface::IntervalMeasurementType(IntervalMeasurementType {
                value,
                unit: measurement.unit.to_owned(),
                read_at: DateTime(measurement.read_at),
                source,
                meta_data,
                start_at: DateTime(start),
                end_at: DateTime(end),
                duration_in_seconds: i32::try_from(measurement.covered_seconds).unwrap_or(i32::MAX),
                accumulation: None,
            })
        }
        None => MeasurementInterface::MeasurementType(MeasurementType {
            value,
            unit: measurement.unit.to_owned(),
            read_at: DateTime(measurement.read_at),
            source,
            meta_data,
        }),
    }
}
