//! Local ready-by times across DST changes.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};

/// Resolves a local wall-clock ready-by time on `date` in `tz` to UTC.
///
/// * Normal: the single matching instant.
/// * Fold (clocks go back, the time occurs twice): the **earlier** instant, so the car is ready
///   in time whichever occurrence the user meant.
/// * Gap (clocks go forward, the time does not exist): the **next valid instant**, i.e. the first
///   whole local minute after the requested time that exists (the end of the gap).
pub fn ready_by_local(date: NaiveDate, time: NaiveTime, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let local = date.and_time(time);
    // Real zones have gaps of at most a few hours; search up to a day of minutes.
    for m in 0..=24 * 60 {
        let candidate = local + Duration::minutes(m);
        let t = if m == 0 {
            candidate
        } else {
            // Snap to the whole minute after the requested time.
            match candidate.with_second(0).and_then(|c| c.with_nanosecond(0)) {
                Some(c) => c,
                None => candidate,
            }
        };
        match tz.from_local_datetime(&t) {
            LocalResult::Single(dt) => return dt.with_timezone(&Utc),
            LocalResult::Ambiguous(a, b) => return a.min(b).with_timezone(&Utc),
            LocalResult::None => {}
        }
    }
    Utc.from_utc_datetime(&local)
}

use chrono::Timelike;
