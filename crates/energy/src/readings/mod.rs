//! Meter readings: imported from files, produced by the sandbox's smart meters, and read back
//! as measurements (raw intervals or calendar buckets in the property's time zone) with what
//! they cost under the meter point's agreements.

pub mod import;
pub mod measurements;
mod pricing;
pub mod sandbox;

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
