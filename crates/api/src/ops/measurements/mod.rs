//! `measurements` on `PropertyType` and `AccountType`: a property's readings as a Relay
//! connection, raw or in calendar buckets of the requested time zone, with their costs in
//! `metaData.statistics`. The rules are in `resiflex_energy::readings::measurements`; this maps
//! the arguments and the answer.

pub mod meter_readings;
pub mod smart_meter_telemetry;
pub mod types;

use async_graphql::Context;
use chrono::{Duration, Utc};
use chrono_tz::Tz;
use resiflex_domain::calendar::{Granularity, local_midnight};
use resiflex_domain::product::Fuel;
use resiflex_domain::reading::ReadingDirection;
use resiflex_energy::EnergyError;
use resiflex_energy::readings::measurements::{
    self as energy, Filter, Frequency, Measurement, QualityFilter, Window,
};
use resiflex_store::accounts::Property;

use crate::connection::{KrakenConnection, PageArgs, connection};
use crate::enums::{ReadingDirectionType, ReadingFrequencyType, ReadingQualityType};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::{OperationErrors, OperationKind, api, protected as op};
use crate::scalars::{Date, DateTime};
use types::{
    ElectricityFiltersOutput, GasFiltersOutput, MeasurementInterface, UtilityFiltersInput,
    UtilityFiltersOutput, node,
};

/// The root operations on readings and prices, with their possible errors.
pub const ERRORS: &[OperationErrors] = &[
    op(
        "smartMeterTelemetry",
        OperationKind::Query,
        &[
            ErrorCode::TelemetryArgumentsTogether,
            ErrorCode::TelemetryEndBeforeStart,
            ErrorCode::SmartMeterNotFound,
        ],
    ),
    op(
        "electricityMeterReadings",
        OperationKind::Query,
        &[ErrorCode::AccountUnauthorized, ErrorCode::InvalidInput],
    ),
    op(
        "gasMeterReadings",
        OperationKind::Query,
        &[ErrorCode::AccountUnauthorized, ErrorCode::InvalidInput],
    ),
    op(
        "applicableRates",
        OperationKind::Query,
        &[
            ErrorCode::PaginationRequired,
            ErrorCode::AccountUnauthorized,
            ErrorCode::InvalidInput,
        ],
    ),
    op(
        "applicableStandingCharges",
        OperationKind::Query,
        &[
            ErrorCode::PaginationRequired,
            ErrorCode::AccountUnauthorized,
            ErrorCode::InvalidInput,
        ],
    ),
];

/// The largest page of measurements (a month of half-hours and more).
pub const MAX_MEASUREMENT_PAGE: usize = 1_500;
/// The time zone of an account without properties.
pub const DEFAULT_TIME_ZONE: &str = "Europe/London";

/// The arguments of a `measurements` field.
#[derive(Debug, Default)]
pub struct MeasurementArgs {
    pub start_at: Option<DateTime>,
    pub end_at: Option<DateTime>,
    pub start_on: Option<Date>,
    pub end_on: Option<Date>,
    pub timezone: Option<String>,
    pub utility_filters: Option<Vec<Option<UtilityFiltersInput>>>,
    pub page: PageArgs,
}

fn invalid(message: impl Into<String>) -> KrakenError {
    KrakenError::with_message(ErrorCode::InvalidInput, message)
}

pub(crate) fn energy_error(err: EnergyError) -> KrakenError {
    match err {
        EnergyError::Invalid(message) => invalid(message),
        EnergyError::NotFound | EnergyError::NotOwner => invalid("No such meter or device."),
        EnergyError::Store(err) => KrakenError::internal("measurements", &err),
    }
}

/// The currency a property's money is in, by its country.
pub fn currency_of(country: &str) -> &'static str {
    resiflex_domain::money::currency_of_country(country)
}

fn frequency(value: ReadingFrequencyType) -> Frequency {
    match value {
        ReadingFrequencyType::RawInterval => Frequency::Raw,
        ReadingFrequencyType::FiveMinInterval => Frequency::Buckets(Granularity::FiveMin),
        ReadingFrequencyType::FifteenMinInterval => Frequency::Buckets(Granularity::FifteenMin),
        ReadingFrequencyType::ThirtyMinInterval => Frequency::Buckets(Granularity::ThirtyMin),
        ReadingFrequencyType::HourInterval => Frequency::Buckets(Granularity::Hour),
        ReadingFrequencyType::DayInterval | ReadingFrequencyType::Daily => {
            Frequency::Buckets(Granularity::Day)
        }
        ReadingFrequencyType::WeekInterval => Frequency::Buckets(Granularity::Week),
        ReadingFrequencyType::MonthInterval => Frequency::Buckets(Granularity::Month),
        ReadingFrequencyType::QuarterInterval => Frequency::Buckets(Granularity::Quarter),
        ReadingFrequencyType::PointInTime => Frequency::PointInTime,
        ReadingFrequencyType::Intervalized => Frequency::Intervalized,
    }
}

/// One filter of the list: what to read, and what its nodes say they answer.
fn filter_of(input: UtilityFiltersInput) -> ApiResult<(Filter, UtilityFiltersOutput)> {
    match (input.electricity_filters, input.gas_filters) {
        (Some(e), None) => {
            let freq = e
                .reading_frequency_type
                .unwrap_or(ReadingFrequencyType::RawInterval);
            let direction = e
                .reading_direction
                .unwrap_or(ReadingDirectionType::Consumption);
            let quality = e.reading_quality.unwrap_or(ReadingQualityType::Combined);
            Ok((
                Filter {
                    fuel: Fuel::Electricity,
                    direction: match direction {
                        ReadingDirectionType::Consumption => ReadingDirection::Consumption,
                        ReadingDirectionType::Generation => ReadingDirection::Generation,
                    },
                    frequency: frequency(freq),
                    quality: match quality {
                        ReadingQualityType::Actual => QualityFilter::Actual,
                        ReadingQualityType::Estimate => QualityFilter::Estimate,
                        ReadingQualityType::Combined => QualityFilter::Combined,
                    },
                    market_supply_point_id: e.market_supply_point_id.clone(),
                    device_id: e.device_id.clone(),
                    register_id: e.register_id.clone(),
                    meter_serial: None,
                },
                UtilityFiltersOutput::ElectricityFiltersOutput(ElectricityFiltersOutput {
                    reading_direction: direction,
                    reading_quality: quality,
                    reading_frequency_type: freq,
                    market_supply_point_id: e.market_supply_point_id,
                    device_id: e.device_id,
                    register_id: e.register_id,
                }),
            ))
        }
        (None, Some(g)) => {
            let freq = g
                .reading_frequency_type
                .unwrap_or(ReadingFrequencyType::RawInterval);
            Ok((
                Filter {
                    fuel: Fuel::Gas,
                    direction: ReadingDirection::Consumption,
                    frequency: frequency(freq),
                    quality: QualityFilter::Combined,
                    market_supply_point_id: g.market_supply_point_id.clone(),
                    device_id: g.device_id.clone(),
                    register_id: g.register_id.clone(),
                    meter_serial: None,
                },
                UtilityFiltersOutput::GasFiltersOutput(GasFiltersOutput {
                    reading_frequency_type: freq,
                    market_supply_point_id: g.market_supply_point_id,
                    device_id: g.device_id,
                    register_id: g.register_id,
                }),
            ))
        }
        _ => Err(invalid(
            "Each utility filter needs exactly one of `electricityFilters` and `gasFilters`.",
        )),
    }
}

/// The window the arguments name: `startAt`/`endAt` instants or `startOn`/`endOn` local dates
/// (`endOn` inclusive). Without a start, a year before the end; without an end, the end of today.
fn window(args: &MeasurementArgs, zone: Tz, now: chrono::DateTime<Utc>) -> ApiResult<Window> {
    if args.start_at.is_some() && args.start_on.is_some()
        || args.end_at.is_some() && args.end_on.is_some()
    {
        return Err(invalid(
            "Give `startAt` or `startOn`, and `endAt` or `endOn`, not both.",
        ));
    }
    let day_start = |date: chrono::NaiveDate| {
        local_midnight(date, zone).ok_or_else(|| invalid(format!("{date} has no local midnight")))
    };
    let to = match (args.end_at, args.end_on) {
        (Some(at), _) => at.0,
        (None, Some(on)) => day_start(
            on.0.succ_opt()
                .ok_or_else(|| invalid("`endOn` is too late"))?,
        )?,
        (None, None) => {
            let today = now.with_timezone(&zone).date_naive();
            day_start(today.succ_opt().unwrap_or(today))?
        }
    };
    let from = match (args.start_at, args.start_on) {
        (Some(at), _) => at.0,
        (None, Some(on)) => day_start(on.0)?,
        (None, None) => to - Duration::days(366),
    };
    if to <= from {
        return Err(invalid("The window must end after it starts."));
    }
    Ok(Window { from, to, zone })
}

/// The measurements of `properties` (one for `PropertyType`, all of the account's for
/// `AccountType`), filter by filter, each in time order, paged.
pub async fn resolve(
    ctx: &Context<'_>,
    properties: &[Property],
    args: MeasurementArgs,
) -> ApiResult<KrakenConnection<MeasurementInterface>> {
    let api = api(ctx)?;
    let zone_name = match (&args.timezone, properties.first()) {
        (Some(zone), _) => zone.clone(),
        (None, Some(property)) => property.time_zone.clone(),
        (None, None) => DEFAULT_TIME_ZONE.to_owned(),
    };
    let zone: Tz = zone_name
        .parse()
        .map_err(|_| invalid(format!("{zone_name:?} is not an IANA time zone.")))?;
    let window = window(&args, zone, api.clock.now())?;
    let filters = match args.utility_filters {
        Some(list) if list.iter().any(Option::is_some) => list.into_iter().flatten().collect(),
        _ => vec![UtilityFiltersInput {
            electricity_filters: Some(Default::default()),
            gas_filters: None,
        }],
    };
    if filters.len() > 8 {
        return Err(invalid("At most 8 utility filters may be given."));
    }
    let with_statistics = ctx
        .look_ahead()
        .field("edges")
        .field("node")
        .field("metaData")
        .field("statistics")
        .exists();
    let mut all: Vec<(Measurement, usize, usize)> = Vec::new();
    let mut outputs = Vec::with_capacity(filters.len());
    for (index, input) in filters.into_iter().enumerate() {
        let (filter, output) = filter_of(input)?;
        for (p, property) in properties.iter().enumerate() {
            let found =
                energy::measurements(&api.db, property.id, &filter, &window, with_statistics)
                    .await
                    .map_err(energy_error)?;
            all.extend(found.into_iter().map(|m| (m, index, p)));
            if all.len() > energy::MAX_MEASUREMENTS {
                return Err(invalid(format!(
                    "The window holds more than {} measurements; ask for a coarser frequency or a shorter window.",
                    energy::MAX_MEASUREMENTS
                )));
            }
        }
        outputs.push((output, filter.direction == ReadingDirection::Generation));
    }
    let page = args.page.window_up_to(all.len(), MAX_MEASUREMENT_PAGE)?;
    let nodes = all
        .iter()
        .skip(page.offset)
        .take(page.limit)
        .filter_map(|(m, filter, p)| {
            let (output, generation) = outputs.get(*filter)?;
            let currency = currency_of(&properties.get(*p)?.country);
            Some(node(m, output, *generation, currency))
        })
        .collect();
    Ok(connection(page, all.len(), nodes))
}
