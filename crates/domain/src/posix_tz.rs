//! A time zone as a POSIX `TZ` string (`GMT0BST,M3.5.0/1,M10.5.0`), the form small devices such as
//! heat-pump controllers keep their clock rules in, derived from the IANA zone's rules for a year.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone, Timelike, Utc};
use chrono_tz::{OffsetName, Tz};

/// One clock change: the instant and the offsets (seconds east of UTC) before and after it.
#[derive(Debug, Clone, Copy)]
struct Change {
    at: DateTime<Utc>,
    before: i32,
}

fn offset_at(zone: Tz, t: DateTime<Utc>) -> (i32, String) {
    let local = t.with_timezone(&zone);
    let offset = local.offset();
    let name = offset
        .abbreviation()
        .map(str::to_owned)
        .unwrap_or_else(|| hours_text(offset.fix().local_minus_utc()));
    (offset.fix().local_minus_utc(), name)
}

/// The clock changes of `year`: found hour by hour, then to the minute.
fn changes(zone: Tz, year: i32) -> Vec<Change> {
    let Some(start) = Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).single() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut previous = offset_at(zone, start).0;
    for hour in 1..=(366 * 24) {
        let t = start + Duration::hours(hour);
        if t.year() != year {
            break;
        }
        let now = offset_at(zone, t).0;
        if now != previous {
            let mut at = t - Duration::hours(1);
            while offset_at(zone, at).0 == previous {
                at += Duration::minutes(1);
            }
            out.push(Change {
                at,
                before: previous,
            });
            previous = now;
        }
    }
    out
}

/// A name POSIX accepts: letters as they are, anything else in angle brackets (`<+03>`).
fn quoted(name: &str) -> String {
    if name.len() >= 3 && name.chars().all(|c| c.is_ascii_alphabetic()) {
        name.to_owned()
    } else {
        format!("<{name}>")
    }
}

/// `+03`, `-0330`: an offset east of UTC as a zone name.
fn hours_text(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let (h, m) = (seconds.abs() / 3600, seconds.abs() % 3600 / 60);
    if m == 0 {
        format!("{sign}{h:02}")
    } else {
        format!("{sign}{h:02}{m:02}")
    }
}

/// A POSIX offset: hours *west* of UTC, as `0`, `5`, `-1`, `-5:30`.
fn posix_offset(seconds_east: i32) -> String {
    let west = -seconds_east;
    let sign = if west < 0 { "-" } else { "" };
    let (h, m) = (west.abs() / 3600, west.abs() % 3600 / 60);
    if m == 0 {
        format!("{sign}{h}")
    } else {
        format!("{sign}{h}:{m:02}")
    }
}

/// The rule `Mm.w.d[/time]` of a change: the month, the week of the month (5 for the last), the
/// weekday (0 Sunday) and the local wall time before the change (omitted when it is 02:00).
fn rule(change: &Change) -> String {
    let local = change.at + Duration::seconds(i64::from(change.before));
    let date = local.date_naive();
    let next_month = if date.month() == 12 {
        NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(date.year(), date.month() + 1, 1)
    };
    let last_week = next_month.is_some_and(|first| (first - date).num_days() <= 7);
    let week = if last_week {
        5
    } else {
        (date.day() - 1) / 7 + 1
    };
    let weekday = date.weekday().num_days_from_sunday();
    let (h, m) = (local.hour(), local.minute());
    let time = match (h, m) {
        (2, 0) => String::new(),
        (h, 0) => format!("/{h}"),
        (h, m) => format!("/{h}:{m:02}"),
    };
    format!("M{}.{week}.{weekday}{time}", date.month())
}

/// The zone's rules in `year` as a POSIX `TZ` string. A zone without daylight saving time is its
/// name and offset alone (`UTC0`, `<+03>-3`).
pub fn posix_tz(zone: Tz, year: i32) -> String {
    let found = changes(zone, year);
    let Some(january) = Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).single() else {
        return "UTC0".to_owned();
    };
    let (first_offset, first_name) = offset_at(zone, january);
    let [a, b] = found.as_slice() else {
        return format!("{}{}", quoted(&first_name), posix_offset(first_offset));
    };
    // Standard time is the smaller offset; the change into the larger one starts summer time.
    let (a_after, a_name) = offset_at(zone, a.at);
    let (b_after, b_name) = offset_at(zone, b.at);
    let (std, std_name, dst, dst_name, into_dst, out_of_dst) = if a_after > b_after {
        (b_after, b_name, a_after, a_name, a, b)
    } else {
        (a_after, a_name, b_after, b_name, b, a)
    };
    let dst_offset = if dst - std == 3600 {
        String::new()
    } else {
        posix_offset(dst)
    };
    format!(
        "{}{}{}{},{},{}",
        quoted(&std_name),
        posix_offset(std),
        quoted(&dst_name),
        dst_offset,
        rule(into_dst),
        rule(out_of_dst)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> Tz {
        name.parse().unwrap_or(Tz::UTC)
    }

    #[test]
    fn common_zones_give_their_usual_strings() {
        assert_eq!(
            posix_tz(tz("Europe/London"), 2026),
            "GMT0BST,M3.5.0/1,M10.5.0"
        );
        assert_eq!(
            posix_tz(tz("Europe/Berlin"), 2026),
            "CET-1CEST,M3.5.0,M10.5.0/3"
        );
        assert_eq!(
            posix_tz(tz("America/New_York"), 2026),
            "EST5EDT,M3.2.0,M11.1.0"
        );
        assert_eq!(
            posix_tz(tz("Australia/Sydney"), 2026),
            "AEST-10AEDT,M10.1.0,M4.1.0/3"
        );
        assert_eq!(posix_tz(tz("UTC"), 2026), "UTC0");
        assert_eq!(posix_tz(tz("Asia/Kolkata"), 2026), "IST-5:30");
        assert_eq!(posix_tz(tz("Europe/Istanbul"), 2026), "<+03>-3");
    }
}
