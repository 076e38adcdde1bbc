//! A heat pump's performance: live (the latest reading), over its lifetime (its meters) and over
//! any stretch of time (the difference of its meters at the two ends), in totals or in buckets.
//!
//! Everything comes from the device's meters (electricity drawn, heat delivered, both only
//! growing), so a range costs two readings, however long it is, and a series one reading per
//! bucket edge.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use resiflex_domain::calendar::{self, CalendarError, Granularity};
use resiflex_domain::telemetry::Telemetry;
use resiflex_store::devices::Device;
use resiflex_store::{Db, StoreError};

/// The most buckets one series may have.
pub const MAX_BUCKETS: usize = 1_000;

/// Energy in and out, in Wh.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Performance {
    /// Electricity drawn, in Wh.
    pub energy_input_wh: f64,
    /// Heat delivered, in Wh; `None` when the device has no heat meter.
    pub heat_output_wh: Option<f64>,
}

impl Performance {
    /// Heat out over electricity in; `None` when nothing was drawn or heat is not metered.
    pub fn coefficient_of_performance(&self) -> Option<f64> {
        let heat = self.heat_output_wh?;
        (self.energy_input_wh > 0.0).then(|| heat / self.energy_input_wh)
    }

    /// The meters of one reading: what the device has drawn and delivered since it was first seen.
    pub fn of_meters(reading: &Telemetry) -> Performance {
        Performance {
            energy_input_wh: reading.energy_imported_wh.max(0) as f64,
            heat_output_wh: reading.heat_output_wh.map(|wh| wh.max(0) as f64),
        }
    }

    /// What the meters moved by from `first` to `last` (a meter that went backwards, after a
    /// reset, counts as nothing).
    pub fn between(first: &Telemetry, last: &Telemetry) -> Performance {
        let (a, b) = (Performance::of_meters(first), Performance::of_meters(last));
        Performance {
            energy_input_wh: (b.energy_input_wh - a.energy_input_wh).max(0.0),
            heat_output_wh: match (a.heat_output_wh, b.heat_output_wh) {
                (Some(a), Some(b)) => Some((b - a).max(0.0)),
                _ => None,
            },
        }
    }
}

/// The live performance: the COP now, heat output (W) over electrical power (W); `None` while
/// the pump draws nothing or reports no heat output.
pub fn live_cop(reading: &Telemetry) -> Option<f64> {
    let heat = reading.heat_output_w?;
    (reading.power_w > 0).then(|| heat as f64 / reading.power_w as f64)
}

/// Energy in and out of the device in `[from, to)`, from its meters at the two ends; `None` when
/// it has no reading in the range or before it. A range that does not end after it starts is
/// [`SeriesError::EmptyRange`].
pub async fn performance_between(
    db: &Db,
    device: &Device,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Result<Option<Performance>, SeriesError>, StoreError> {
    if to <= from {
        return Ok(Err(SeriesError::EmptyRange));
    }
    let Some(first) = resiflex_store::telemetry::reading_near(db, &device.id, from, to).await?
    else {
        return Ok(Ok(None));
    };
    let last = resiflex_store::telemetry::reading_near(db, &device.id, to, to)
        .await?
        .unwrap_or_else(|| first.clone());
    Ok(Ok(Some(Performance::between(&first, &last))))
}

/// How long the buckets of a series are (the controller API's `PerformanceGrouping`): `LIVE`
/// five minutes, `DAY` an hour, `WEEK` and `MONTH` a day, `YEAR` a calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Live,
    Day,
    Week,
    Month,
    Year,
}

/// Why a series cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SeriesError {
    #[error("the range must end after it starts")]
    EmptyRange,
    #[error("the range holds more than {MAX_BUCKETS} buckets of this grouping")]
    TooManyBuckets,
}

/// The bucket edges of `[from, to)` for `grouping`, in the property's time zone (days and months
/// start at local midnight, so a day across a clock change is 23 or 25 hours). The first bucket
/// starts at the edge at or before `from`; the last ends at the edge at or after `to`.
pub fn bucket_edges(
    grouping: Grouping,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    zone: Tz,
) -> Result<Vec<DateTime<Utc>>, SeriesError> {
    let granularity = match grouping {
        Grouping::Live => Granularity::FiveMin,
        Grouping::Day => Granularity::Hour,
        Grouping::Week | Grouping::Month => Granularity::Day,
        Grouping::Year => Granularity::Month,
    };
    calendar::bucket_edges(granularity, from, to, zone, MAX_BUCKETS).map_err(|err| match err {
        CalendarError::EmptyRange => SeriesError::EmptyRange,
        CalendarError::TooManyBuckets(_) => SeriesError::TooManyBuckets,
    })
}

/// One bucket of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `None` when the device had no reading by the bucket's end.
    pub performance: Option<Performance>,
    /// The outdoor temperature of the reading at the bucket's end, °C.
    pub outdoor_temperature_c: Option<f64>,
}

/// The device's performance in buckets of `grouping` over `[from, to)`: the meters are read once
/// at each bucket edge.
pub async fn series(
    db: &Db,
    device: &Device,
    grouping: Grouping,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    zone: Tz,
) -> Result<Result<Vec<Bucket>, SeriesError>, StoreError> {
    let edges = match bucket_edges(grouping, from, to, zone) {
        Ok(edges) => edges,
        Err(err) => return Ok(Err(err)),
    };
    let end = edges.last().copied().unwrap_or(to);
    let mut readings = Vec::with_capacity(edges.len());
    for edge in &edges {
        readings.push(resiflex_store::telemetry::reading_near(db, &device.id, *edge, end).await?);
    }
    let buckets = edges
        .windows(2)
        .zip(readings.windows(2))
        .filter_map(|(edge, pair)| match (edge, pair) {
            ([start, end], [first, last]) => Some(Bucket {
                start: *start,
                end: *end,
                performance: match (first, last) {
                    (Some(a), Some(b)) if b.at >= a.at => Some(Performance::between(a, b)),
                    _ => None,
                },
                outdoor_temperature_c: last.as_ref().and_then(|r| r.outdoor_temperature_c),
            }),
            _ => None,
        })
        .collect();
    Ok(Ok(buckets))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::{Duration, TimeZone};

    fn reading(minutes: i64, power_w: i64, imported_wh: i64, heat_wh: i64) -> Telemetry {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        Telemetry {
            power_w,
            energy_imported_wh: imported_wh,
            heat_output_w: Some(power_w * 3),
            heat_output_wh: Some(heat_wh),
            outdoor_temperature_c: Some(5.0),
            plugged_in: None,
            at_home: None,
            ..Telemetry::vehicle_at_home(start + Duration::minutes(minutes), 0.0)
        }
    }

    #[test]
    fn performance_is_what_the_meters_moved_by() {
        let p = Performance::between(&reading(0, 0, 1_000, 3_000), &reading(60, 0, 2_500, 7_500));
        assert_eq!(p.energy_input_wh, 1_500.0);
        assert_eq!(p.heat_output_wh, Some(4_500.0));
        assert_eq!(p.coefficient_of_performance(), Some(3.0));
        // A reset meter counts as nothing rather than as negative energy.
        let reset = Performance::between(&reading(0, 0, 2_500, 7_500), &reading(60, 0, 10, 30));
        assert_eq!(reset.energy_input_wh, 0.0);
        assert_eq!(reset.coefficient_of_performance(), None);
        let unmetered = Telemetry {
            heat_output_wh: None,
            ..reading(60, 0, 2_500, 0)
        };
        let p = Performance::between(&reading(0, 0, 1_000, 3_000), &unmetered);
        assert_eq!(p.heat_output_wh, None);
        assert_eq!(p.coefficient_of_performance(), None);
    }

    #[test]
    fn live_cop_is_heat_over_power() {
        assert_eq!(live_cop(&reading(0, 1000, 0, 0)), Some(3.0));
        assert_eq!(live_cop(&reading(0, 0, 0, 0)), None);
    }

    #[test]
    fn buckets_follow_the_grouping_and_local_days() {
        let london: Tz = "Europe/London".parse().unwrap();
        let t = |d: u32, h: u32, m: u32| Utc.with_ymd_and_hms(2026, 3, d, h, m, 0).unwrap();
        let live = bucket_edges(Grouping::Live, t(1, 10, 2), t(1, 10, 20), london).unwrap();
        assert_eq!(live.first(), Some(&t(1, 10, 0)));
        assert_eq!(live.last(), Some(&t(1, 10, 20)));
        assert_eq!(live.len(), 5);
        let day = bucket_edges(Grouping::Day, t(1, 0, 0), t(2, 0, 0), london).unwrap();
        assert_eq!(day.len(), 25);
        // The clocks go forward on 29 March 2026: that day is 23 hours long.
        let week = bucket_edges(Grouping::Week, t(28, 12, 0), t(30, 12, 0), london).unwrap();
        assert_eq!(
            week,
            vec![t(28, 0, 0), t(29, 0, 0), t(29, 23, 0), t(30, 23, 0)]
        );
        let year = bucket_edges(
            Grouping::Year,
            Utc.with_ymd_and_hms(2025, 11, 15, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap(),
            london,
        )
        .unwrap();
        assert_eq!(year.len(), 4);
        assert_eq!(year[1], Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap());
        assert_eq!(
            bucket_edges(Grouping::Day, t(2, 0, 0), t(1, 0, 0), london),
            Err(SeriesError::EmptyRange)
        );
        assert_eq!(
            bucket_edges(Grouping::Live, t(1, 0, 0), t(20, 0, 0), london),
            Err(SeriesError::TooManyBuckets)
        );
    }

    #[tokio::test]
    async fn stored_meters_give_ranges_and_buckets() {
        let test = resiflex_store::testing::TestDb::new().await;
        let device =
            resiflex_store::testing::vehicle_fixture(&test.db, "ada@example.com", "hp-1").await;
        for r in [
            reading(0, 1000, 0, 0),
            reading(30, 2000, 500, 1_500),
            reading(60, 2000, 1_500, 4_500),
            reading(90, 0, 2_500, 7_500),
        ] {
            resiflex_store::telemetry::append(&test.db, &device.id, &r)
                .await
                .unwrap();
        }
        let from = reading(0, 0, 0, 0).at;
        let p = performance_between(&test.db, &device, from, from + Duration::minutes(60))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(p.energy_input_wh, 1_500.0);
        assert_eq!(p.heat_output_wh, Some(4_500.0));
        let before = from - Duration::hours(5);
        assert_eq!(
            performance_between(&test.db, &device, before, before + Duration::hours(1))
                .await
                .unwrap(),
            Ok(None)
        );
        assert_eq!(
            performance_between(&test.db, &device, from, from)
                .await
                .unwrap(),
            Err(SeriesError::EmptyRange)
        );
        let utc: Tz = "UTC".parse().unwrap();
        let buckets = series(
            &test.db,
            &device,
            Grouping::Day,
            from,
            from + Duration::hours(2),
            utc,
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(buckets.len(), 2);
        assert_eq!(
            buckets[0].performance.map(|p| p.energy_input_wh),
            Some(1_500.0)
        );
        assert_eq!(
            buckets[1].performance.map(|p| p.energy_input_wh),
            Some(1_000.0)
        );
        assert_eq!(buckets[1].outdoor_temperature_c, Some(5.0));
    }
}
