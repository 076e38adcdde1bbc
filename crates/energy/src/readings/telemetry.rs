//! A smart meter's telemetry as the consumer access device reports it (the API's
//! `smartMeterTelemetry`), built from the meter's interval readings: per bucket the energy used
//! (`consumptionDelta`), the running import and export registers, the mean demand and the cost.
//! Buckets finer than the meter's readings have no data.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use resiflex_domain::calendar::Granularity;
use resiflex_domain::product::Fuel;
use resiflex_domain::reading::ReadingDirection;
use resiflex_store::Db;
use resiflex_store::readings as store;
use resiflex_store::supply::{StoredMeter, StoredMeterPoint};

use super::measurements::{Filter, Frequency, Measurement, QualityFilter, Window, measurements};
use crate::EnergyError;

/// How long a bucket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelemetryGrouping {
    TenSeconds,
    OneMinute,
    FiveMinutes,
    HalfHourly,
    Hourly,
}

/// One bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryBucket {
    /// The bucket's start.
    pub read_at: DateTime<Utc>,
    /// The import register at the bucket's end, thousandths of a kWh (Wh): the last register
    /// read at or before the window's start (zero without one) plus what the readings added.
    pub consumption_milli: i64,
    /// Thousandths of a kWh used in the bucket.
    pub consumption_delta_milli: i64,
    /// Mean demand over the time the readings cover, W.
    pub demand_w: i64,
    /// The export register the same way, thousandths of a kWh.
    pub export_milli: i64,
    /// The cost of `consumption_delta`, billionths of a minor unit, before and with VAT.
    pub cost_delta_nano: Option<(i128, i128)>,
}

/// The meter's buckets over `[from, to)`; with no range, the latest half-hour read in the last
/// two days.
pub async fn smart_meter_telemetry(
    db: &Db,
    point: &StoredMeterPoint,
    meter: &StoredMeter,
    range: Option<(DateTime<Utc>, DateTime<Utc>, TelemetryGrouping)>,
    zone: Tz,
    now: DateTime<Utc>,
) -> Result<Vec<TelemetryBucket>, EnergyError> {
    let (from, to, frequency) = match range {
        Some((from, to, grouping)) => {
            let granularity = match grouping {
                TelemetryGrouping::TenSeconds | TelemetryGrouping::OneMinute => {
                    return Ok(Vec::new());
                }
                TelemetryGrouping::FiveMinutes => Granularity::FiveMin,
                TelemetryGrouping::HalfHourly => Granularity::ThirtyMin,
                TelemetryGrouping::Hourly => Granularity::Hour,
            };
            (from, to, Frequency::Buckets(granularity))
        }
        None => (now - Duration::days(2), now, Frequency::Raw),
    };
    let filter = |direction| Filter {
        fuel: point.point.fuel,
        direction,
        frequency,
        quality: QualityFilter::Combined,
        market_supply_point_id: Some(point.point.id.as_str().to_owned()),
        device_id: None,
        register_id: None,
        meter_serial: Some(meter.meter.serial_number.clone()),
    };
    let window = Window { from, to, zone };
    let property = point.property_id;
    let used = measurements(
        db,
        property,
        &filter(ReadingDirection::Consumption),
        &window,
        true,
    )
    .await?;
    let sent: Vec<Measurement> = if point.point.fuel == Fuel::Electricity {
        measurements(
            db,
            property,
            &filter(ReadingDirection::Generation),
            &window,
            false,
        )
        .await?
    } else {
        Vec::new()
    };
    let register = store::register_reads(
        db,
        meter.id,
        None,
        from - Duration::days(3650),
        from + Duration::seconds(1),
        1,
    )
    .await?
    .first()
    .map_or(0, |read| read.milli);
    let mut consumption = register;
    let mut export = 0;
    let mut sent = sent.into_iter().peekable();
    let mut out: Vec<TelemetryBucket> = Vec::with_capacity(used.len());
    for m in used {
        let Some((start, _)) = m.interval else {
            continue;
        };
        while let Some(g) = sent.next_if(|g| g.interval.is_some_and(|(s, _)| s <= start)) {
            export += g.milli;
        }
        consumption += m.milli;
        out.push(TelemetryBucket {
            read_at: start,
            consumption_milli: consumption,
            consumption_delta_milli: m.milli,
            demand_w: if m.covered_seconds > 0 {
                m.milli * 3_600 / m.covered_seconds
            } else {
                0
            },
            export_milli: export,
            cost_delta_nano: m
                .statistics
                .as_ref()
                .and_then(|s| s.energy)
                .map(|c| (c.exc_vat_nano, c.inc_vat_nano)),
        });
    }
    if range.is_none() {
        return Ok(out.pop().into_iter().collect());
    }
    Ok(out)
}
