//! Measurements: a property's readings for one fuel and direction over a window, as received
//! (raw intervals), summed into calendar buckets of the property's time zone, as register reads,
//! or as the intervals between register reads, each with what it cost when asked.
//!
//! Gaps stay gaps: an interval with no reading has no measurement, and a bucket only sums the
//! readings it holds (its covered seconds say how much of it that is).

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use resiflex_domain::calendar::{self, CalendarError, Granularity};
use resiflex_domain::product::{ChargeKind, Fuel};
use resiflex_domain::reading::{
    DAY_SECONDS, ReadingDirection, ReadingQuality, ReadingSource, RegisterRead,
};
use resiflex_store::Db;
use resiflex_store::readings as store;

use super::pricing::{PriceCache, Pricing, gas_kwh_milli};
use crate::EnergyError;
use crate::supply::{Supply, supply_of_property};

/// The most measurements one query builds (a year of five-minute readings is more: ask for a
/// coarser frequency or a shorter window).
pub const MAX_MEASUREMENTS: usize = 50_000;
/// The longest window of a device's own meter, in days.
pub const MAX_DEVICE_DAYS: i64 = 31;

/// How readings are returned (the API's `ReadingFrequencyType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    /// Intervals as received.
    Raw,
    /// Summed into calendar buckets.
    Buckets(Granularity),
    /// Register reads.
    PointInTime,
    /// The intervals between consecutive register reads.
    Intervalized,
}

/// Which readings count (the API's `ReadingQualityType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualityFilter {
    Actual,
    Estimate,
    /// Actual readings, and estimates where there is no actual one.
    Combined,
}

impl QualityFilter {
    fn admits(self, quality: ReadingQuality) -> bool {
        match self {
            QualityFilter::Combined => true,
            QualityFilter::Actual => quality == ReadingQuality::Actual,
            QualityFilter::Estimate => quality == ReadingQuality::Estimate,
        }
    }
}

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub fuel: Fuel,
    pub direction: ReadingDirection,
    pub frequency: Frequency,
    pub quality: QualityFilter,
    /// Only this meter point (MPAN or MPRN).
    pub market_supply_point_id: Option<String>,
    /// Only the meter with this smart device id, or the SmartFlex device with this id.
    pub device_id: Option<String>,
    /// Only this register (register reads).
    pub register_id: Option<String>,
    /// Only the meter with this serial number.
    pub meter_serial: Option<String>,
}

/// When, and in which time zone buckets and days are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub zone: Tz,
}

/// An amount of money, exact: billionths of a minor unit before and with VAT, for a quantity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    pub exc_vat_nano: i128,
    pub inc_vat_nano: i128,
    /// The energy priced, thousandths of a kWh.
    pub kwh_milli: i64,
}

impl Cost {
    fn add(&mut self, other: Cost) {
        self.exc_vat_nano += other.exc_vat_nano;
        self.inc_vat_nano += other.inc_vat_nano;
        self.kwh_milli += other.kwh_milli;
    }

    /// The average price before VAT, millionths of a minor unit per kWh.
    pub fn price_per_kwh_micros(&self) -> Option<i128> {
        (self.kwh_milli != 0).then(|| self.exc_vat_nano / i128::from(self.kwh_milli))
    }
}

/// What a measurement cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statistics {
    /// Consumption cost or generation value of the readings that had a price.
    pub energy: Option<Cost>,
    /// The standing charge over the measurement's span.
    pub standing: Option<Cost>,
    /// The energy cost by time-of-use band (day and night rates).
    pub bands: Vec<(ChargeKind, Cost)>,
    /// Emissions, billionths of a gram, where the rates carry carbon intensity.
    pub co2_nano_grams: Option<i128>,
    /// A gas reading's energy, thousandths of a kWh.
    pub gas_kwh_milli: Option<i64>,
}

/// One measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measurement {
    /// The interval, `None` for a register read.
    pub interval: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// When it was read: the interval's end, or the register read's instant.
    pub read_at: DateTime<Utc>,
    /// Seconds of the interval that readings cover.
    pub covered_seconds: i64,
    /// Thousandths of the unit.
    pub milli: i64,
    pub unit: &'static str,
    pub source: ReadingSource,
    /// `Estimate` when any reading behind it is an estimate.
    pub quality: ReadingQuality,
    pub statistics: Option<Statistics>,
}

/// The unit measurements of a fuel are in.
pub fn unit_of(fuel: Fuel) -> &'static str {
    match fuel {
        Fuel::Electricity => "kWh",
        Fuel::Gas => "m3",
    }
}

/// One reading on its way into a measurement.
#[derive(Debug, Clone, Copy)]
struct Item {
    start: DateTime<Utc>,
    seconds: i64,
    milli: i64,
    quality: ReadingQuality,
    source: ReadingSource,
    /// Which supply it was read on.
    supply: usize,
}

fn invalid<T>(message: impl Into<String>) -> Result<T, EnergyError> {
    Err(EnergyError::Invalid(message.into()))
}

/// The property's measurements in the window, in time order.
pub async fn measurements(
    db: &Db,
    property_id: i64,
    filter: &Filter,
    window: &Window,
    with_statistics: bool,
) -> Result<Vec<Measurement>, EnergyError> {
    let supplies = supply_of_property(db, property_id).await?;
    let mut prices = PriceCache::default();
    measurements_of(
        db,
        property_id,
        supplies,
        filter,
        window,
        with_statistics.then_some(&mut prices),
        None,
    )
    .await
}

/// Interval readings loaded ahead for many meters (see `resiflex_store::readings::days_of_meters`):
/// by meter, the stored days of the filter's direction covering the window.
pub type PreloadedDays = std::collections::HashMap<i64, Vec<store::StoredDay>>;

/// [`measurements`] of a property whose supply the caller has loaded already; with `prices`,
/// with statistics, taking tariffs' prices from the cache where it holds them; with `days`, a
/// meter's interval readings from there when it holds the meter.
pub async fn measurements_of(
    db: &Db,
    property_id: i64,
    supplies: Vec<Supply>,
    filter: &Filter,
    window: &Window,
    prices: Option<&mut PriceCache>,
    days: Option<&PreloadedDays>,
) -> Result<Vec<Measurement>, EnergyError> {
    if window.to <= window.from {
        return invalid("the window must end after it starts");
    }
    if filter.fuel == Fuel::Gas && filter.direction == ReadingDirection::Generation {
        return invalid("gas has no generation readings");
    }
    let mut supplies: Vec<Supply> = supplies
        .into_iter()
        .filter(|s| s.point.point.fuel == filter.fuel)
        .filter(|s| {
            filter
                .market_supply_point_id
                .as_deref()
                .is_none_or(|id| s.point.point.id.as_str() == id)
        })
        .collect();
    if let Some(serial) = filter.meter_serial.as_deref() {
        for supply in &mut supplies {
            supply.meters.retain(|m| m.meter.serial_number == serial);
        }
        supplies.retain(|s| !s.meters.is_empty());
    }
    if let Some(device) = filter.device_id.as_deref() {
        for supply in &mut supplies {
            supply.meters.retain(|m| {
                m.meter
                    .smart_device_id
                    .as_ref()
                    .is_some_and(|d| d.as_str() == device)
            });
        }
        supplies.retain(|s| !s.meters.is_empty());
        if supplies.is_empty() {
            let series =
                super::sandbox::device_series(db, property_id, device, filter.direction, window)
                    .await?;
            let items = series
                .into_iter()
                .map(|(start, seconds, milli)| Item {
                    start,
                    seconds,
                    milli,
                    quality: ReadingQuality::Actual,
                    source: ReadingSource::Device,
                    supply: 0,
                })
                .collect();
            return build(items, &[], filter, window, None);
        }
    }
    let items = match filter.frequency {
        Frequency::PointInTime | Frequency::Intervalized => {
            register_items(db, &supplies, filter, window).await?
        }
        _ => interval_items(db, &supplies, filter, window, days).await?,
    };
    let pricing = if let Some(cache) = prices {
        let mut pricing = Vec::with_capacity(supplies.len());
        for supply in &supplies {
            pricing.push(
                Pricing::load_cached(
                    db,
                    &supply.agreements,
                    window.from,
                    window.to,
                    window.zone,
                    cache,
                )
                .await?,
            );
        }
        Some(pricing)
    } else {
        None
    };
    build(items, &supplies, filter, window, pricing.as_deref())
}

async fn interval_items(
    db: &Db,
    supplies: &[Supply],
    filter: &Filter,
    window: &Window,
    preloaded: Option<&PreloadedDays>,
) -> Result<Vec<Item>, EnergyError> {
    let first_day = window.from.timestamp().div_euclid(DAY_SECONDS);
    let last_day = (window.to.timestamp() - 1).div_euclid(DAY_SECONDS);
    let mut items = Vec::new();
    for (index, supply) in supplies.iter().enumerate() {
        for meter in &supply.meters {
            let loaded;
            let days: &[store::StoredDay] = match preloaded.and_then(|p| p.get(&meter.id)) {
                Some(found) => found,
                None if preloaded.is_some() => &[],
                None => {
                    loaded =
                        store::days(db, meter.id, filter.direction, first_day, last_day).await?;
                    &loaded
                }
            };
            for day in days
                .iter()
                .filter(|d| d.key.direction == filter.direction)
                .filter(|d| (first_day..=last_day).contains(&d.key.day))
            {
                for reading in day.block.readings(day.key.day) {
                    if reading.start < window.from
                        || reading.end() > window.to
                        || !meter.meter.active.contains(reading.start)
                        || !filter.quality.admits(reading.slot.quality)
                    {
                        continue;
                    }
                    items.push(Item {
                        start: reading.start,
                        seconds: reading.length.seconds(),
                        milli: reading.slot.milli,
                        quality: reading.slot.quality,
                        source: reading.slot.source,
                        supply: index,
                    });
                    if items.len() > MAX_MEASUREMENTS * 6 {
                        return invalid(format!(
                            "the window holds more than {} readings; ask for a shorter window",
                            MAX_MEASUREMENTS * 6
                        ));
                    }
                }
            }
        }
    }
    items.sort_by_key(|item| (item.start, item.supply));
    Ok(items)
}

/// Register reads as items: `seconds` 0 for a read (point in time), or the span since the
/// previous read of the same register (intervalized).
async fn register_items(
    db: &Db,
    supplies: &[Supply],
    filter: &Filter,
    window: &Window,
) -> Result<Vec<Item>, EnergyError> {
    let limit = MAX_MEASUREMENTS as i64 + 1;
    let mut items = Vec::new();
    for (index, supply) in supplies.iter().enumerate() {
        for meter in &supply.meters {
            // An interval needs the read before the window's first one.
            let from = match filter.frequency {
                Frequency::Intervalized => window.from - Duration::days(366),
                _ => window.from,
            };
            let mut reads: Vec<RegisterRead> = store::register_reads(
                db,
                meter.id,
                filter.register_id.as_deref(),
                from,
                window.to,
                limit,
            )
            .await?;
            if reads.len() as i64 >= limit {
                return invalid(format!(
                    "the window holds more than {MAX_MEASUREMENTS} register reads; ask for a shorter window"
                ));
            }
            reads.retain(|r| filter.quality.admits(r.quality));
            reads.reverse();
            if filter.frequency == Frequency::PointInTime {
                items.extend(reads.into_iter().map(|r| Item {
                    start: r.read_at,
                    seconds: 0,
                    milli: r.milli,
                    quality: r.quality,
                    source: r.source,
                    supply: index,
                }));
                continue;
            }
            let mut last: std::collections::HashMap<String, RegisterRead> = Default::default();
            for read in reads {
                if let Some(previous) = last.get(&read.register_id)
                    && read.milli >= previous.milli
                    && previous.read_at >= window.from
                {
                    items.push(Item {
                        start: previous.read_at,
                        seconds: (read.read_at - previous.read_at).num_seconds(),
                        milli: read.milli - previous.milli,
                        quality: if read.quality == ReadingQuality::Estimate
                            || previous.quality == ReadingQuality::Estimate
                        {
                            ReadingQuality::Estimate
                        } else {
                            ReadingQuality::Actual
                        },
                        source: read.source,
                        supply: index,
                    });
                }
                last.insert(read.register_id.clone(), read);
            }
        }
    }
    items.sort_by_key(|item| (item.start, item.supply));
    Ok(items)
}

/// Prices one item: its energy (and band and carbon) under its supply's agreements.
fn price_item(item: &Item, filter: &Filter, pricing: &Pricing, statistics: &mut Statistics) {
    let kwh_milli = match filter.fuel {
        Fuel::Electricity => item.milli,
        Fuel::Gas => gas_kwh_milli(item.milli),
    };
    if filter.fuel == Fuel::Gas {
        *statistics.gas_kwh_milli.get_or_insert(0) += kwh_milli;
    }
    let Some(price) = pricing.unit_price(item.start, filter.direction) else {
        return;
    };
    let cost = Cost {
        exc_vat_nano: i128::from(kwh_milli) * i128::from(price.exc_vat.0),
        inc_vat_nano: i128::from(kwh_milli) * i128::from(price.inc_vat.0),
        kwh_milli,
    };
    statistics
        .energy
        .get_or_insert_with(Cost::default)
        .add(cost);
    if let Some(band) = price.band.filter(|b| *b != ChargeKind::Standard) {
        match statistics.bands.iter_mut().find(|(b, _)| *b == band) {
            Some((_, total)) => total.add(cost),
            None => statistics.bands.push((band, cost)),
        }
    }
    if let Some(carbon) = price.carbon_g_per_kwh {
        *statistics.co2_nano_grams.get_or_insert(0) += i128::from(kwh_milli) * i128::from(carbon.0);
    }
}

/// Turns items into measurements: one per item, or one per bucket holding any.
fn build(
    items: Vec<Item>,
    supplies: &[Supply],
    filter: &Filter,
    window: &Window,
    pricing: Option<&[Pricing]>,
) -> Result<Vec<Measurement>, EnergyError> {
    let unit = unit_of(filter.fuel);
    let standing = |from: DateTime<Utc>, to: DateTime<Utc>, used: &[bool]| -> Option<Cost> {
        let pricing = pricing?;
        let mut total: Option<Cost> = None;
        for (index, p) in pricing.iter().enumerate() {
            if !used.get(index).copied().unwrap_or(false) {
                continue;
            }
            if let Some((exc, inc)) = p.standing(from, to) {
                total.get_or_insert_with(Cost::default).add(Cost {
                    exc_vat_nano: exc,
                    inc_vat_nano: inc,
                    kwh_milli: 0,
                });
            }
        }
        total
    };
    let granularity = match filter.frequency {
        Frequency::Buckets(granularity) => granularity,
        _ => {
            if items.len() > MAX_MEASUREMENTS {
                return invalid(format!(
                    "the window holds more than {MAX_MEASUREMENTS} measurements; ask for a coarser frequency or a shorter window"
                ));
            }
            let measurements = items
                .iter()
                .map(|item| {
                    let statistics = pricing.map(|pricing| {
                        let mut statistics = Statistics::default();
                        if let Some(p) = pricing.get(item.supply) {
                            price_item(item, filter, p, &mut statistics);
                        }
                        let end = item.start + Duration::seconds(item.seconds);
                        if item.seconds > 0 {
                            let mut used = vec![false; supplies.len()];
                            if let Some(u) = used.get_mut(item.supply) {
                                *u = true;
                            }
                            statistics.standing = standing(item.start, end, &used);
                        }
                        statistics
                    });
                    let end = item.start + Duration::seconds(item.seconds);
                    Measurement {
                        interval: (item.seconds > 0).then_some((item.start, end)),
                        read_at: end,
                        covered_seconds: item.seconds,
                        milli: item.milli,
                        unit,
                        source: item.source,
                        quality: item.quality,
                        statistics,
                    }
                })
                .collect();
            return Ok(measurements);
        }
    };
    if let (Some(step), Some(longest)) = (
        granularity.fixed_seconds(),
        items.iter().map(|i| i.seconds).max(),
    ) && longest > step
    {
        return invalid(format!(
            "the readings are {}-minute intervals; ask for buckets of at least that length",
            longest / 60
        ));
    }
    let edges = calendar::bucket_edges(
        granularity,
        window.from,
        window.to,
        window.zone,
        MAX_MEASUREMENTS,
    )
    .map_err(|err| match err {
        CalendarError::EmptyRange => {
            EnergyError::Invalid("the window must end after it starts".into())
        }
        CalendarError::TooManyBuckets(max) => EnergyError::Invalid(format!(
            "the window holds more than {max} buckets; ask for a coarser frequency or a shorter window"
        )),
    })?;
    let mut measurements: Vec<Measurement> = Vec::new();
    let mut current: Option<(usize, Measurement, Vec<bool>)> = None;
    let finish = |bucket: usize, mut m: Measurement, used: Vec<bool>| -> Measurement {
        let start = edges
            .get(bucket)
            .map_or(window.from, |e| (*e).max(window.from));
        let end = edges
            .get(bucket + 1)
            .map_or(window.to, |e| (*e).min(window.to));
        m.interval = Some((start, end));
        m.read_at = end;
        if let Some(statistics) = m.statistics.as_mut() {
            statistics.standing = standing(start, end, &used);
        }
        m
    };
    for item in &items {
        let bucket = edges
            .partition_point(|edge| *edge <= item.start)
            .saturating_sub(1);
        if bucket + 1 >= edges.len() {
            continue;
        }
        if current.as_ref().is_some_and(|(b, _, _)| *b != bucket)
            && let Some((b, m, used)) = current.take()
        {
            measurements.push(finish(b, m, used));
        }
        let (_, m, used) = current.get_or_insert_with(|| {
            (
                bucket,
                Measurement {
                    interval: None,
                    read_at: item.start,
                    covered_seconds: 0,
                    milli: 0,
                    unit,
                    source: item.source,
                    quality: ReadingQuality::Actual,
                    statistics: pricing.map(|_| Statistics::default()),
                },
                vec![false; supplies.len()],
            )
        });
        m.milli += item.milli;
        m.covered_seconds += item.seconds;
        if item.quality == ReadingQuality::Estimate {
            m.quality = ReadingQuality::Estimate;
        }
        if let Some(u) = used.get_mut(item.supply) {
            *u = true;
        }
        if let (Some(statistics), Some(p)) = (
            m.statistics.as_mut(),
            pricing.and_then(|pricing| pricing.get(item.supply)),
        ) {
            price_item(item, filter, p, statistics);
        }
    }
    if let Some((b, m, used)) = current.take() {
        measurements.push(finish(b, m, used));
    }
    Ok(measurements)
}

#[cfg(test)]
mod tests;
