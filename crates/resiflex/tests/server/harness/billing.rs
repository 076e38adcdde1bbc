//! Billing scenarios: half-hourly readings of a supplied account's meters, and billing runs.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use resiflex_domain::reading::ReadingSource;
use resiflex_energy::readings::find_meter;
use resiflex_energy::readings::import::{ImportOptions, import_csv};

use super::TestApp;

/// Imports `count` half-hours of `kwh` each from `start` for the meter `serial`, `ACTUAL` or
/// `ESTIMATE`, skipping the half-hours whose index is in `gaps`.
pub async fn half_hours(
    app: &TestApp,
    serial: &str,
    start: &str,
    count: i64,
    kwh: &str,
    quality: &str,
    gaps: &[i64],
) {
    let start: DateTime<Utc> = start.parse().expect("an RFC 3339 start");
    let mut file = String::from("interval_start,interval_end,consumption,quality\n");
    for i in (0..count).filter(|i| !gaps.contains(i)) {
        let a = start + Duration::minutes(30 * i);
        let b = a + Duration::minutes(30);
        file.push_str(&format!(
            "{},{},{kwh},{quality}\n",
            a.to_rfc3339(),
            b.to_rfc3339()
        ));
    }
    let (_, meter) = find_meter(&app.test_db.db, serial, None)
        .await
        .expect("the meter");
    let options = ImportOptions {
        default_length: None,
        source: ReadingSource::SmartMeter,
    };
    import_csv(&app.test_db.db, &meter, file.as_bytes(), options)
        .await
        .expect("readings imported");
}

/// Runs the billing of `date` (at 06:00 UTC that day), as `resiflex billing run --date` does,
/// and returns its report.
pub async fn run_billing(app: &TestApp, date: &str) -> serde_json::Value {
    let today: NaiveDate = date.parse().expect("a date");
    let now = Utc.from_utc_datetime(&today.and_hms_opt(6, 0, 0).expect("06:00"));
    let (report, ok) = resiflex::billing::run(&app.test_db.db, today, now)
        .await
        .expect("the billing run");
    assert!(ok, "{report}");
    report
}
