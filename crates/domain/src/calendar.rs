//! Calendar buckets in a property's time zone: five minutes up to a year, with days, weeks,
//! months, quarters and years starting at local midnight, so a day across a clock change is 23
//! or 25 hours long.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// How long one bucket is (the API's `TimeGranularities`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granularity {
    FiveMin,
    FifteenMin,
    ThirtyMin,
    Hour,
    Day,
    /// A week from Monday (ISO 8601).
    Week,
    Month,
    Quarter,
    Year,
}

impl Granularity {
    /// The length of a sub-day bucket, `None` for days and longer.
    pub fn fixed_seconds(self) -> Option<i64> {
        match self {
            Granularity::FiveMin => Some(300),
            Granularity::FifteenMin => Some(900),
            Granularity::ThirtyMin => Some(1_800),
            Granularity::Hour => Some(3_600),
            _ => None,
        }
    }
}

/// Why a range cannot be cut into buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("the range must end after it starts")]
    EmptyRange,
    #[error("the range holds more than {0} buckets")]
    TooManyBuckets(usize),
}

/// The instant a local day starts: midnight, or where midnight is skipped by a clock change, the
/// first instant after the gap.
pub fn local_midnight(date: NaiveDate, zone: Tz) -> Option<DateTime<Utc>> {
    let naive = date.and_hms_opt(0, 0, 0)?;
    zone.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
}

/// The first day of the bucket of `granularity` (days and longer) holding `date`.
fn bucket_start(granularity: Granularity, date: NaiveDate) -> NaiveDate {
    let first_of = |month: u32| NaiveDate::from_ymd_opt(date.year(), month, 1).unwrap_or(date);
    match granularity {
        Granularity::Week => {
            date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
        }
        Granularity::Month => first_of(date.month()),
        Granularity::Quarter => first_of((date.month0() / 3) * 3 + 1),
        Granularity::Year => first_of(1),
        _ => date,
    }
}

/// The first day of the next bucket after the one starting on `date`.
fn next_start(granularity: Granularity, date: NaiveDate) -> Option<NaiveDate> {
    match granularity {
        Granularity::Week => date.checked_add_days(chrono::Days::new(7)),
        Granularity::Month => date.checked_add_months(chrono::Months::new(1)),
        Granularity::Quarter => date.checked_add_months(chrono::Months::new(3)),
        Granularity::Year => date.checked_add_months(chrono::Months::new(12)),
        _ => date.succ_opt(),
    }
}

/// The bucket edges of `[from, to)`: the first is the bucket start at or before `from`, the last
/// the edge at or after `to`, so `n` buckets give `n + 1` edges. Sub-day buckets line up with the
/// local clock (an hour starts at a local full hour, also in zones half an hour off UTC).
pub fn bucket_edges(
    granularity: Granularity,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    zone: Tz,
    max_buckets: usize,
) -> Result<Vec<DateTime<Utc>>, CalendarError> {
    if to <= from {
        return Err(CalendarError::EmptyRange);
    }
    if let Some(step) = granularity.fixed_seconds() {
        let local = from
            .with_timezone(&zone)
            .naive_local()
            .and_utc()
            .timestamp();
        let start = from.timestamp() - local.rem_euclid(step);
        let count = (to.timestamp() - start + step - 1) / step;
        if count as usize > max_buckets {
            return Err(CalendarError::TooManyBuckets(max_buckets));
        }
        return Ok((0..=count)
            .filter_map(|i| DateTime::from_timestamp(start + i * step, 0))
            .collect());
    }
    let mut date = bucket_start(granularity, from.with_timezone(&zone).date_naive());
    let mut edges = Vec::new();
    while let Some(edge) = local_midnight(date, zone) {
        edges.push(edge);
        if edge >= to {
            break;
        }
        if edges.len() > max_buckets {
            return Err(CalendarError::TooManyBuckets(max_buckets));
        }
        match next_start(granularity, date) {
            Some(next) => date = next,
            None => break,
        }
    }
    Ok(edges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn days_across_the_clock_changes_are_23_and_25_hours() {
        let zone: Tz = "Europe/London".parse().unwrap();
        let spring = bucket_edges(
            Granularity::Day,
            at("2026-03-29T00:00:00Z"),
            at("2026-03-29T23:00:00Z"),
            zone,
            10,
        )
        .unwrap();
        assert_eq!(
            spring,
            vec![at("2026-03-29T00:00:00Z"), at("2026-03-29T23:00:00Z")]
        );
        assert_eq!(spring[1] - spring[0], Duration::hours(23));
        let autumn = bucket_edges(
            Granularity::Day,
            at("2026-10-24T23:00:00Z"),
            at("2026-10-26T00:00:00Z"),
            zone,
            10,
        )
        .unwrap();
        assert_eq!(autumn[1] - autumn[0], Duration::hours(25));
    }

    #[test]
    fn weeks_start_on_monday_and_quarters_on_the_first_of_their_month() {
        let zone: Tz = "Europe/Berlin".parse().unwrap();
        let weeks = bucket_edges(
            Granularity::Week,
            at("2026-12-09T12:00:00Z"),
            at("2026-12-10T00:00:00Z"),
            zone,
            10,
        )
        .unwrap();
        assert_eq!(
            weeks,
            vec![at("2026-12-06T23:00:00Z"), at("2026-12-13T23:00:00Z")]
        );
        let quarters = bucket_edges(
            Granularity::Quarter,
            at("2026-05-01T00:00:00Z"),
            at("2026-12-01T00:00:00Z"),
            zone,
            10,
        )
        .unwrap();
        assert_eq!(
            quarters,
            vec![
                at("2026-03-31T22:00:00Z"),
                at("2026-06-30T22:00:00Z"),
                at("2026-09-30T22:00:00Z"),
                at("2026-12-31T23:00:00Z"),
            ]
        );
    }

    #[test]
    fn hours_follow_the_local_clock_and_the_bucket_count_is_bounded() {
        let zone: Tz = "Asia/Kolkata".parse().unwrap();
        let hours = bucket_edges(
            Granularity::Hour,
            at("2026-01-01T00:10:00Z"),
            at("2026-01-01T01:00:00Z"),
            zone,
            10,
        )
        .unwrap();
        assert_eq!(
            hours,
            vec![
                at("2025-12-31T23:30:00Z"),
                at("2026-01-01T00:30:00Z"),
                at("2026-01-01T01:30:00Z")
            ]
        );
        assert_eq!(
            bucket_edges(
                Granularity::FiveMin,
                at("2026-01-01T00:00:00Z"),
                at("2026-01-02T00:00:00Z"),
                zone,
                100
            ),
            Err(CalendarError::TooManyBuckets(100))
        );
        assert_eq!(
            bucket_edges(
                Granularity::Year,
                at("2026-01-01T00:00:00Z"),
                at("2026-01-01T00:00:00Z"),
                zone,
                100
            ),
            Err(CalendarError::EmptyRange)
        );
    }
}
