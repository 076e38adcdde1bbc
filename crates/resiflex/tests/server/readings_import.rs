//! `resiflex readings import` through its library function, on SQLite or (with
//! `TEST_DATABASE_URL`) PostgreSQL: a file stored on the meter in one go and read back, an
//! import repeated without doubling anything, files without an end column, register reads, and
//! refusals (a bad row by its line number, storing nothing; an unknown meter; a serial two meter
//! points share; an interval length that is not one).

use chrono::{DateTime, TimeZone, Utc};
use resiflex::readings::{ImportTarget, import};
use resiflex_domain::calendar::Granularity;
use resiflex_domain::product::Fuel;
use resiflex_domain::reading::ReadingDirection;
use resiflex_energy::readings::measurements::{
    Filter, Frequency, Measurement, QualityFilter, Window, measurements,
};
use resiflex_energy::supply::{MeterDocument, MeterPointDocument, save_meter_point};
use resiflex_store::Db;
use resiflex_store::testing::{TestDb, household};
use serde_json::json;

const MPAN: &str = "1200023305967";
const OTHER_MPAN: &str = "2000000000015";
const SERIAL: &str = "21L4381884";

fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, day, hour, minute, 0)
        .single()
        .unwrap()
}

/// A household with an import meter point `mpan` whose meter `SERIAL` is active from 2026.
async fn metered(db: &Db, email: &str, mpan: &str) -> i64 {
    let home = household(db, email, at(1, 0, 0)).await;
    let document = MeterPointDocument {
        mpan: Some(mpan.to_owned()),
        mprn: None,
        direction: "IMPORT".to_owned(),
        meters: vec![MeterDocument {
            serial_number: SERIAL.to_owned(),
            smart_device_id: None,
            active_from: at(1, 0, 0),
            active_to: None,
        }],
    };
    save_meter_point(db, home.property_id, &document, at(1, 0, 0))
        .await
        .unwrap();
    home.property_id
}

fn target(interval_minutes: Option<u32>) -> ImportTarget<'static> {
    ImportTarget {
        serial: SERIAL,
        meter_point: None,
        interval_minutes,
    }
}

/// The property's consumption in January, raw or by day.
async fn january(db: &Db, property_id: i64, frequency: Frequency) -> Vec<Measurement> {
    let filter = Filter {
        fuel: Fuel::Electricity,
        direction: ReadingDirection::Consumption,
        frequency,
        quality: QualityFilter::Combined,
        market_supply_point_id: None,
        device_id: None,
        register_id: None,
        meter_serial: None,
    };
    let window = Window {
        from: at(1, 0, 0),
        to: at(31, 0, 0),
        zone: "Europe/London".parse().unwrap(),
    };
    measurements(db, property_id, &filter, &window, false)
        .await
        .unwrap()
}

const HALF_HOURS: &str = "interval_start,interval_end,consumption,generation,quality\n\
    2026-01-02T00:00:00Z,2026-01-02T00:30:00Z,0.250,,ACTUAL\n\
    2026-01-02T00:30:00Z,2026-01-02T01:00:00Z,0.125,0.010,E\n\
    2026-01-02T01:00:00Z,2026-01-02T01:30:00Z,1.5,,\n";

#[tokio::test]
async fn a_file_is_stored_on_the_meter_and_a_second_import_replaces_it() {
    let test_db = TestDb::new().await;
    let db = &test_db.db;
    let property = metered(db, "import@example.com", MPAN).await;

    let summary = import(db, &target(None), HALF_HOURS.as_bytes())
        .await
        .unwrap();
    assert_eq!(
        summary,
        json!({
            "meter": SERIAL,
            "intervals": 4,
            "registers": 0,
            "first": "2026-01-02T00:00:00Z",
            "last": "2026-01-02T01:00:00Z",
        })
    );
    let raw = january(db, property, Frequency::Raw).await;
    let milli: Vec<i64> = raw.iter().map(|m| m.milli).collect();
    assert_eq!(milli, [250, 125, 1_500]);

    // The same file again replaces its readings rather than adding to them.
    let again = import(db, &target(None), HALF_HOURS.as_bytes())
        .await
        .unwrap();
    assert_eq!(again["intervals"], 4);
    let days = january(db, property, Frequency::Buckets(Granularity::Day)).await;
    assert_eq!(days.len(), 1, "{days:?}");
    assert_eq!(days[0].milli, 1_875);
}

#[tokio::test]
async fn files_without_an_end_column_take_the_interval_length_given() {
    let test_db = TestDb::new().await;
    let db = &test_db.db;
    let property = metered(db, "quarters@example.com", MPAN).await;
    let file = "start,consumption\n\
                2026-01-03T10:00:00Z,0.1\n\
                2026-01-03T10:15:00Z,0.2\n";

    let refused = import(db, &target(None), file.as_bytes())
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("line 2"), "{refused}");
    let refused = import(db, &target(Some(20)), file.as_bytes())
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("--interval-minutes"), "{refused}");

    let summary = import(db, &target(Some(15)), file.as_bytes())
        .await
        .unwrap();
    assert_eq!(summary["intervals"], 2);
    assert_eq!(summary["last"], "2026-01-03T10:15:00Z");
    let raw = january(db, property, Frequency::Raw).await;
    let intervals: Vec<_> = raw.iter().filter_map(|m| m.interval).collect();
    assert_eq!(
        intervals,
        [
            (at(3, 10, 0), at(3, 10, 15)),
            (at(3, 10, 15), at(3, 10, 30))
        ]
    );
}

#[tokio::test]
async fn register_reads_are_counted_apart() {
    let test_db = TestDb::new().await;
    let db = &test_db.db;
    metered(db, "registers@example.com", MPAN).await;
    let file = "read_at,register,value\n\
                2026-01-05T00:00:00Z,DAY,12345.6\n\
                2026-01-05T00:00:00Z,NIGHT,2345\n";
    let summary = import(db, &target(None), file.as_bytes()).await.unwrap();
    assert_eq!(summary["intervals"], 0);
    assert_eq!(summary["registers"], 2);
    assert_eq!(summary["first"], "2026-01-05T00:00:00Z");
}

#[tokio::test]
async fn a_bad_row_is_named_by_its_line_and_stores_nothing() {
    let test_db = TestDb::new().await;
    let db = &test_db.db;
    let property = metered(db, "bad-row@example.com", MPAN).await;
    let file = "interval_start,interval_end,consumption\n\
                2026-01-02T00:00:00Z,2026-01-02T00:30:00Z,0.250\n\
                2026-01-02T00:30:00Z,2026-01-02T01:00:00Z,lots\n";
    let refused = import(db, &target(None), file.as_bytes())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.starts_with("the readings were not imported: line 3"),
        "{refused}"
    );
    // Before the meter's active period.
    let early = "interval_start,interval_end,consumption\n\
                 2025-12-31T23:30:00Z,2026-01-01T00:00:00Z,0.250\n";
    let refused = import(db, &target(None), early.as_bytes())
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("active period"), "{refused}");
    assert!(january(db, property, Frequency::Raw).await.is_empty());
}

#[tokio::test]
async fn the_meter_must_exist_and_a_shared_serial_needs_its_meter_point() {
    let test_db = TestDb::new().await;
    let db = &test_db.db;
    let unknown = ImportTarget {
        serial: "NO-SUCH-METER",
        ..target(None)
    };
    let refused = import(db, &unknown, HALF_HOURS.as_bytes())
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("no meter \"NO-SUCH-METER\""), "{refused}");

    let first = metered(db, "first@example.com", MPAN).await;
    let second = metered(db, "second@example.com", OTHER_MPAN).await;
    let refused = import(db, &target(None), HALF_HOURS.as_bytes())
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("name the meter point"), "{refused}");
    let on_other = ImportTarget {
        meter_point: Some(OTHER_MPAN),
        ..target(None)
    };
    let summary = import(db, &on_other, HALF_HOURS.as_bytes()).await.unwrap();
    assert_eq!(summary["intervals"], 4);
    assert!(january(db, first, Frequency::Raw).await.is_empty());
    assert_eq!(january(db, second, Frequency::Raw).await.len(), 3);
    let nowhere = ImportTarget {
        meter_point: Some("1111111111111"),
        ..target(None)
    };
    let refused = import(db, &nowhere, HALF_HOURS.as_bytes())
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("on the meter point"), "{refused}");
}
