//! Meter readings: imported from files, produced by the sandbox's smart meters, and read back
//! as measurements (raw intervals or calendar buckets in the property's time zone) with what
//! they cost under the meter point's agreements.

pub mod import;
pub mod measurements;
pub mod pricing;
pub mod sandbox;
pub mod telemetry;

use std::collections::BTreeMap;

use resiflex_domain::reading::{DayBlock, IntervalReading, ReadingDirection};
use resiflex_store::Db;
use resiflex_store::readings::{self as store, DayKey};
use resiflex_store::supply::{self as supply_store, StoredMeter, StoredMeterPoint};

use crate::EnergyError;

/// Stores interval readings of any meters, merged into what is stored (a reading replaces the
/// one of its meter, direction and interval; gaps stay gaps), in one transaction. Returns how
/// many readings were written.
pub async fn store_intervals(
    db: &Db,
    readings: impl IntoIterator<Item = (i64, ReadingDirection, IntervalReading)>,
) -> Result<u64, EnergyError> {
    let mut blocks: BTreeMap<DayKey, DayBlock> = BTreeMap::new();
    for (meter_id, direction, reading) in readings {
        let (day, slot) = reading.day_and_slot();
        let key = DayKey {
            meter_id,
            direction,
            length: reading.length,
            day,
        };
        blocks
            .entry(key)
            .or_insert_with(|| DayBlock::empty(reading.length))
            .set(slot, reading.slot);
    }
    Ok(store::merge_days(db, blocks.into_iter().collect()).await?)
}

/// The meter with this serial number, on the meter point `meter_point` when given (needed when
/// two meter points have meters of the same serial).
pub async fn find_meter(
    db: &Db,
    serial: &str,
    meter_point: Option<&str>,
) -> Result<(StoredMeterPoint, StoredMeter), EnergyError> {
    let mut found = supply_store::meters_with_serial(db, serial).await?;
    if let Some(point) = meter_point {
        found.retain(|(p, _)| p.point.id.as_str() == point);
    }
    match found.len() {
        0 => Err(EnergyError::NotFound),
        1 => Ok(found.remove(0)),
        _ => Err(EnergyError::Invalid(format!(
            "{} meter points have a meter {serial:?}; name the meter point",
            found.len()
        ))),
    }
}

/// The longest window of [`applicable_prices`], in days.
pub const MAX_PRICE_DAYS: i64 = 400;

/// The unit rates (or, with `standing`, standing charges) that apply to the meter point
/// `identifier` of `property_ids` over `[from, to)` under its agreements, in time order. A meter
/// point on none of the properties is [`EnergyError::NotFound`].
pub async fn applicable_prices(
    db: &Db,
    property_ids: &[i64],
    identifier: &str,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    zone: chrono_tz::Tz,
    standing: bool,
) -> Result<Vec<pricing::PricePeriod>, EnergyError> {
    if to <= from {
        return Err(EnergyError::Invalid("endAt must be after startAt".into()));
    }
    if to - from > chrono::Duration::days(MAX_PRICE_DAYS) {
        return Err(EnergyError::Invalid(format!(
            "the window may be at most {MAX_PRICE_DAYS} days long"
        )));
    }
    for property in property_ids {
        for supply in crate::supply::supply_of_property(db, *property).await? {
            if supply.point.point.id.as_str() == identifier {
                let prices = pricing::Pricing::load(db, &supply.agreements, from, to, zone).await?;
                return Ok(prices.periods(from, to, standing));
            }
        }
    }
    Err(EnergyError::NotFound)
}
