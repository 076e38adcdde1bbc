//! The sandbox's smart meter, and the meters of SmartFlex devices.
//!
//! A simulated household's smart meter records, each half-hour, the household's base load (a
//! daily shape, deterministic for a seed) plus what every device of the property drew from the
//! grid by its own meter, and as generation what the devices sent back: the meter sees what the
//! devices did.

use chrono::{DateTime, Duration, Timelike, Utc};
use resiflex_domain::product::{Direction, Fuel};
use resiflex_domain::reading::{
    IntervalLength, IntervalReading, ReadingDirection, ReadingQuality, ReadingSource, Slot,
};
use resiflex_domain::telemetry::Telemetry;
use resiflex_store::Db;
use resiflex_store::devices as device_store;
use resiflex_store::telemetry as telemetry_store;

use super::measurements::{MAX_DEVICE_DAYS, Window};
use crate::EnergyError;
use crate::supply::supply_of_property;

const HALF_HOUR: i64 = 1_800;

/// The half-hour edges from the first at or after `from` to the last at or before `to`.
fn half_hours(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let first = from.timestamp() + (HALF_HOUR - from.timestamp().rem_euclid(HALF_HOUR)) % HALF_HOUR;
    (0..)
        .map(|i| first + i * HALF_HOUR)
        .take_while(|t| *t <= to.timestamp())
        .filter_map(|t| DateTime::from_timestamp(t, 0))
        .collect()
}

/// A device's meters (imported and exported Wh) at each edge: its last reading at or before it.
async fn meters_at(
    db: &Db,
    device_id: &str,
    edges: &[DateTime<Utc>],
) -> Result<Vec<Option<(i64, i64)>>, EnergyError> {
    let (Some(first), Some(last)) = (edges.first(), edges.last()) else {
        return Ok(Vec::new());
    };
    let before = telemetry_store::reading_near(db, device_id, *first, *first).await?;
    let series: Vec<Telemetry> =
        telemetry_store::between(db, device_id, *first, *last + Duration::seconds(1)).await?;
    let mut latest = before.filter(|r| r.at <= *first);
    let mut readings = series.into_iter().peekable();
    let mut out = Vec::with_capacity(edges.len());
    for edge in edges {
        while let Some(reading) = readings.next_if(|r| r.at <= *edge) {
            latest = Some(reading);
        }
        out.push(
            latest
                .as_ref()
                .map(|r| (r.energy_imported_wh, r.energy_exported_wh)),
        );
    }
    Ok(out)
}

/// What each half-hour of `edges` the device moved: `(imported, exported)` Wh, `None` where its
/// meters are unknown at either end; a meter that went backwards (a reset) counts nothing.
fn deltas(meters: &[Option<(i64, i64)>]) -> Vec<Option<(i64, i64)>> {
    meters
        .windows(2)
        .map(|pair| match (pair[0], pair[1]) {
            (Some(a), Some(b)) => Some(((b.0 - a.0).max(0), (b.1 - a.1).max(0))),
            _ => None,
        })
        .collect()
}

/// A SmartFlex device's own meter as half-hourly intervals `(start, seconds, Wh)` within the
/// window, for the property it belongs to: gaps where its meters are unknown.
pub(super) async fn device_series(
    db: &Db,
    property_id: i64,
    device_id: &str,
    direction: ReadingDirection,
    window: &Window,
) -> Result<Vec<(DateTime<Utc>, i64, i64)>, EnergyError> {
    let device = device_store::device_by_id(db, device_id).await?;
    if device.is_none_or(|d| d.property_id != property_id) {
        return Err(EnergyError::Invalid(format!(
            "the property has no meter or device {device_id:?}"
        )));
    }
    if window.to - window.from > Duration::days(MAX_DEVICE_DAYS) {
        return Err(EnergyError::Invalid(format!(
            "a device's meter is read at most {MAX_DEVICE_DAYS} days at a time"
        )));
    }
    let edges = half_hours(window.from, window.to);
    let moved = deltas(&meters_at(db, device_id, &edges).await?);
    Ok(edges
        .iter()
        .zip(moved)
        .filter_map(|(start, moved)| {
            let (imported, exported) = moved?;
            let wh = match direction {
                ReadingDirection::Consumption => imported,
                ReadingDirection::Generation => exported,
            };
            Some((*start, HALF_HOUR, wh))
        })
        .collect())
}

/// The household's base load in a half-hour starting at `start`, Wh: about 150 W overnight,
/// a morning peak and a larger evening one, with a deterministic wobble for `seed`.
pub fn base_load_wh(start: DateTime<Utc>, zone: chrono_tz::Tz, seed: u64) -> i64 {
    let local = start.with_timezone(&zone);
    let hour = f64::from(local.hour()) + f64::from(local.minute()) / 60.0;
    let bump =
        |centre: f64, width: f64, height: f64| height * (-((hour - centre) / width).powi(2)).exp();
    let watts = 150.0 + bump(7.5, 1.2, 350.0) + bump(13.0, 2.0, 120.0) + bump(19.0, 2.0, 650.0);
    // SplitMix64 of the seed and the slot: the same half-hour always has the same load.
    let mut z = seed ^ (start.timestamp() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let wobble = 0.85 + 0.3 * ((z >> 11) as f64 / (1u64 << 53) as f64);
    (watts * wobble * 0.5).round() as i64
}

/// Records the property's smart meters for every whole half-hour in `[from, to)`: consumption on
/// the smart meters of its import meter points (base load plus the devices' imports), generation
/// on those of its export meter points, or on the import meter when there is none. Readings are
/// merged, so recording a half-hour again changes nothing. Returns the readings written.
pub async fn record_smart_meters(
    db: &Db,
    property_id: i64,
    zone: chrono_tz::Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    seed: u64,
) -> Result<u64, EnergyError> {
    let edges = half_hours(from, to);
    if edges.len() < 2 {
        return Ok(0);
    }
    let supplies = supply_of_property(db, property_id).await?;
    let smart = |direction: Direction| {
        let supplies = &supplies;
        move |at: DateTime<Utc>| -> Option<i64> {
            supplies
                .iter()
                .filter(|s| {
                    s.point.point.fuel == Fuel::Electricity && s.point.point.direction == direction
                })
                .flat_map(|s| &s.meters)
                .find(|m| m.meter.smart_device_id.is_some() && m.meter.active.contains(at))
                .map(|m| m.id)
        }
    };
    let mut moved: Vec<Option<(i64, i64)>> = vec![Some((0, 0)); edges.len() - 1];
    for device in device_store::devices_of_property(db, property_id).await? {
        let device_moved = deltas(&meters_at(db, &device.id, &edges).await?);
        for (total, delta) in moved.iter_mut().zip(device_moved) {
            if let (Some(total), Some(delta)) = (total.as_mut(), delta) {
                total.0 += delta.0;
                total.1 += delta.1;
            }
        }
    }
    let import_meter = smart(Direction::Import);
    let export_meter = smart(Direction::Export);
    let mut readings = Vec::new();
    for (start, moved) in edges.iter().zip(moved) {
        let (imported, exported) = moved.unwrap_or((0, 0));
        let slot = |wh: i64| Slot {
            milli: wh.max(0),
            quality: ReadingQuality::Actual,
            source: ReadingSource::SmartMeter,
        };
        let Some(meter) = import_meter(*start) else {
            continue;
        };
        let consumption = base_load_wh(*start, zone, seed) + imported;
        if let Ok(reading) =
            IntervalReading::new(*start, IntervalLength::THIRTY_MINUTES, slot(consumption))
        {
            readings.push((meter, ReadingDirection::Consumption, reading));
        }
        if exported > 0 {
            let meter = export_meter(*start).unwrap_or(meter);
            if let Ok(reading) =
                IntervalReading::new(*start, IntervalLength::THIRTY_MINUTES, slot(exported))
            {
                readings.push((meter, ReadingDirection::Generation, reading));
            }
        }
    }
    super::store_intervals(db, readings).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_hours_are_whole_and_inside() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let edges = half_hours(at("2026-01-01T00:10:00Z"), at("2026-01-01T01:30:00Z"));
        assert_eq!(
            edges,
            vec![
                at("2026-01-01T00:30:00Z"),
                at("2026-01-01T01:00:00Z"),
                at("2026-01-01T01:30:00Z")
            ]
        );
        assert_eq!(
            deltas(&[Some((1, 0)), Some((5, 2)), None, Some((9, 9))]),
            vec![Some((4, 2)), None, None]
        );
    }

    #[test]
    fn the_base_load_peaks_in_the_evening_and_is_the_same_each_time() {
        let zone: chrono_tz::Tz = "Europe/London".parse().unwrap();
        let night = base_load_wh("2026-01-01T03:00:00Z".parse().unwrap(), zone, 7);
        let evening = base_load_wh("2026-01-01T19:00:00Z".parse().unwrap(), zone, 7);
        assert!(evening > 3 * night, "{night} {evening}");
        assert_eq!(
            night,
            base_load_wh("2026-01-01T03:00:00Z".parse().unwrap(), zone, 7)
        );
    }
}
