#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeZone;
use resiflex_domain::product::PaymentMethod;
use resiflex_domain::reading::ReadingSource;
use resiflex_store::testing::{TestDb, household};

use super::*;
use crate::fixtures::single_rate;
use crate::products;
use crate::readings::find_meter;
use crate::readings::import::{ImportOptions, import_csv};
use crate::supply::{MeterPointDocument, agree, save_meter_point};

const MPAN: &str = "1200023305967";
const SERIAL: &str = "21L1234567";

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn london() -> Tz {
    "Europe/London".parse().unwrap()
}

/// A household with an import meter point on the single-rate product since 1 November 2026.
async fn home(db: &Db) -> i64 {
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let home = household(db, "m@example.com", now).await;
    products::save(db, None, &single_rate("FLEX-26-12-01"), now)
        .await
        .unwrap();
    let point: MeterPointDocument = serde_json::from_value(serde_json::json!({
        "mpan": MPAN,
        "meters": [{"serialNumber": SERIAL, "smartDeviceId": "12-34-5a-ff-ff-6b-c7-89", "activeFrom": "2024-01-01T00:00:00Z"}]
    }))
    .unwrap();
    save_meter_point(db, home.property_id, &point, now)
        .await
        .unwrap();
    agree(
        db,
        None,
        Fuel::Electricity,
        MPAN,
        "E-1R-FLEX-26-12-01-C",
        PaymentMethod::DirectDebitMonthly,
        at("2026-11-01T00:00:00Z"),
        None,
        now,
    )
    .await
    .unwrap();
    home.property_id
}

async fn import(db: &Db, file: &str) -> u64 {
    let (_, meter) = find_meter(db, SERIAL, None).await.unwrap();
    let options = ImportOptions {
        default_length: None,
        source: ReadingSource::Import,
    };
    import_csv(db, &meter, file.as_bytes(), options)
        .await
        .unwrap()
        .intervals
}

/// Half-hourly rows from `from` for `count` slots, each `wh` Wh, with a gap at slot `gap`.
fn rows(from: &str, count: i64, wh: i64, gap: Option<i64>) -> String {
    let mut file = String::from("interval_start,interval_end,consumption,quality\n");
    let start = at(from);
    for i in 0..count {
        if Some(i) == gap {
            continue;
        }
        let a = start + Duration::minutes(30 * i);
        let b = a + Duration::minutes(30);
        let quality = if i % 10 == 9 { "E" } else { "A" };
        file.push_str(&format!(
            "{},{},{}.{:03},{quality}\n",
            a.to_rfc3339(),
            b.to_rfc3339(),
            wh / 1000,
            wh % 1000
        ));
    }
    file
}

fn filter(frequency: Frequency) -> Filter {
    Filter {
        fuel: Fuel::Electricity,
        direction: ReadingDirection::Consumption,
        frequency,
        quality: QualityFilter::Combined,
        market_supply_point_id: None,
        device_id: None,
        register_id: None,
        meter_serial: None,
    }
}

#[tokio::test]
async fn raw_intervals_come_back_exactly_with_their_gaps() {
    let test = TestDb::new().await;
    let db = &test.db;
    let property = home(db).await;
    assert_eq!(
        import(db, &rows("2026-12-02T00:00:00Z", 48, 250, Some(5))).await,
        47
    );
    let window = Window {
        from: at("2026-12-02T01:00:00Z"),
        to: at("2026-12-02T04:00:00Z"),
        zone: london(),
    };
    let got = measurements(db, property, &filter(Frequency::Raw), &window, false)
        .await
        .unwrap();
    // Six half-hours in the window, one of them a gap.
    assert_eq!(got.len(), 5);
    assert_eq!(
        got[0].interval,
        Some((at("2026-12-02T01:00:00Z"), at("2026-12-02T01:30:00Z")))
    );
    assert!(
        got.iter()
            .all(|m| m.interval.unwrap().0 != at("2026-12-02T02:30:00Z"))
    );
    assert!(got.iter().all(|m| m.milli == 250 && m.unit == "kWh"));
    // Only actual readings: slot 9 is an estimate.
    let actual = Filter {
        quality: QualityFilter::Actual,
        ..filter(Frequency::Raw)
    };
    let window = Window {
        from: at("2026-12-02T00:00:00Z"),
        to: at("2026-12-03T00:00:00Z"),
        zone: london(),
    };
    let got = measurements(db, property, &actual, &window, false)
        .await
        .unwrap();
    assert_eq!(got.len(), 47 - 4);
    // A second import of the same slot replaces it; the others stay.
    import(db, &rows("2026-12-02T00:00:00Z", 1, 999, None)).await;
    let got = measurements(db, property, &filter(Frequency::Raw), &window, false)
        .await
        .unwrap();
    assert_eq!(got.len(), 47);
    assert_eq!(got[0].milli, 999);
    assert_eq!(got[1].milli, 250);
}

#[tokio::test]
async fn days_are_local_and_dst_days_hold_their_own_number_of_half_hours() {
    let test = TestDb::new().await;
    let db = &test.db;
    let property = home(db).await;
    // 24 October 2026 (BST) to 26 October (GMT): the 25th has 50 half-hours.
    import(db, &rows("2026-10-23T23:00:00Z", 48 + 50 + 48, 100, None)).await;
    let window = Window {
        from: at("2026-10-23T23:00:00Z"),
        to: at("2026-10-27T00:00:00Z"),
        zone: london(),
    };
    let got = measurements(
        db,
        property,
        &filter(Frequency::Buckets(Granularity::Day)),
        &window,
        false,
    )
    .await
    .unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[1].interval,
        Some((at("2026-10-24T23:00:00Z"), at("2026-10-26T00:00:00Z")))
    );
    assert_eq!(got[1].milli, 50 * 100);
    assert_eq!(got[1].covered_seconds, 25 * 3_600);
    assert_eq!(got[1].quality, ReadingQuality::Estimate);
    // Buckets finer than the readings are refused, not invented.
    let fine = measurements(
        db,
        property,
        &filter(Frequency::Buckets(Granularity::FifteenMin)),
        &window,
        false,
    )
    .await;
    assert!(matches!(fine, Err(EnergyError::Invalid(_))));
}

#[tokio::test]
async fn statistics_price_each_reading_at_its_rate_and_add_the_standing_charge() {
    let test = TestDb::new().await;
    let db = &test.db;
    let property = home(db).await;
    // A day either side of the change of unit rate on 1 December (24.5 to 22.123456).
    import(db, &rows("2026-11-30T00:00:00Z", 96, 500, None)).await;
    let window = Window {
        from: at("2026-11-30T00:00:00Z"),
        to: at("2026-12-02T00:00:00Z"),
        zone: london(),
    };
    let got = measurements(
        db,
        property,
        &filter(Frequency::Buckets(Granularity::Day)),
        &window,
        true,
    )
    .await
    .unwrap();
    assert_eq!(got.len(), 2);
    let first = got[0].statistics.clone().unwrap();
    let energy = first.energy.unwrap();
    // 24 kWh at 24.5p: 588p before VAT, 617.4p with 5 %.
    assert_eq!(energy.kwh_milli, 24_000);
    assert_eq!(energy.exc_vat_nano, 588_000_000_000);
    assert_eq!(energy.inc_vat_nano, 617_400_000_000);
    assert_eq!(energy.price_per_kwh_micros(), Some(24_500_000));
    // A whole day's standing charge: 40p, 42p with VAT.
    let standing = first.standing.unwrap();
    assert_eq!(
        (standing.exc_vat_nano, standing.inc_vat_nano),
        (40_000_000_000, 42_000_000_000)
    );
    let second = got[1].statistics.clone().unwrap().energy.unwrap();
    assert_eq!(second.exc_vat_nano, 24_000 * 22_123_456);
    // Summing the raw intervals' costs gives the day's cost to the billionth.
    let raw = measurements(db, property, &filter(Frequency::Raw), &window, true)
        .await
        .unwrap();
    let sum: i128 = raw
        .iter()
        .take(48)
        .map(|m| m.statistics.as_ref().unwrap().energy.unwrap().inc_vat_nano)
        .sum();
    assert_eq!(sum, energy.inc_vat_nano);
}

#[tokio::test]
async fn register_reads_come_back_as_points_and_as_the_intervals_between_them() {
    let test = TestDb::new().await;
    let db = &test.db;
    let property = home(db).await;
    let (_, meter) = find_meter(db, SERIAL, Some(MPAN)).await.unwrap();
    let file = "read_at,register,value\n\
                2026-12-01T00:00:00Z,1,1000\n\
                2026-12-02T00:00:00Z,1,1012.5\n\
                2026-12-03T00:00:00Z,1,1020\n";
    let options = ImportOptions {
        default_length: None,
        source: ReadingSource::Customer,
    };
    let summary = import_csv(db, &meter, file.as_bytes(), options)
        .await
        .unwrap();
    assert_eq!(summary.registers, 3);
    let window = Window {
        from: at("2026-12-01T00:00:00Z"),
        to: at("2026-12-04T00:00:00Z"),
        zone: london(),
    };
    let points = measurements(
        db,
        property,
        &filter(Frequency::PointInTime),
        &window,
        false,
    )
    .await
    .unwrap();
    assert_eq!(points.len(), 3);
    assert_eq!(points[1].milli, 1_012_500);
    assert_eq!(points[1].interval, None);
    let between = measurements(
        db,
        property,
        &filter(Frequency::Intervalized),
        &window,
        true,
    )
    .await
    .unwrap();
    assert_eq!(between.len(), 2);
    assert_eq!(between[0].milli, 12_500);
    assert_eq!(
        between[1].interval,
        Some((at("2026-12-02T00:00:00Z"), at("2026-12-03T00:00:00Z")))
    );
    // A reading outside the meter's active period is refused, and nothing is stored.
    let early = "read_at,value\n2026-12-05T00:00:00Z,1\n2023-01-01T00:00:00Z,5\n";
    assert!(matches!(
        import_csv(db, &meter, early.as_bytes(), options).await,
        Err(EnergyError::Invalid(_))
    ));
    let points = measurements(
        db,
        property,
        &filter(Frequency::PointInTime),
        &Window {
            to: at("2026-12-06T00:00:00Z"),
            ..window
        },
        false,
    )
    .await
    .unwrap();
    assert_eq!(points.len(), 3);
}

#[tokio::test]
async fn applicable_prices_follow_the_agreements_charges() {
    let test = TestDb::new().await;
    let db = &test.db;
    let property = home(db).await;
    let rates = crate::readings::applicable_prices(
        db,
        &[property],
        MPAN,
        at("2026-11-30T00:00:00Z"),
        at("2026-12-02T00:00:00Z"),
        london(),
        false,
    )
    .await
    .unwrap();
    // 24.5 until 1 December, then 22.123456: two periods, with 5 % VAT.
    assert_eq!(rates.len(), 2);
    assert_eq!(rates[0].valid_to, at("2026-12-01T00:00:00Z"));
    assert_eq!(rates[0].exc_vat.0, 24_500_000);
    assert_eq!(rates[0].inc_vat.0, 25_725_000);
    assert_eq!(rates[1].exc_vat.0, 22_123_456);
    let standing = crate::readings::applicable_prices(
        db,
        &[property],
        MPAN,
        at("2026-11-30T00:00:00Z"),
        at("2026-12-02T00:00:00Z"),
        london(),
        true,
    )
    .await
    .unwrap();
    assert_eq!(standing.len(), 1);
    assert_eq!(standing[0].exc_vat.0, 40_000_000);
    // Before the agreement there is no price; an unknown meter point is not found.
    let before = crate::readings::applicable_prices(
        db,
        &[property],
        MPAN,
        at("2026-10-01T00:00:00Z"),
        at("2026-10-02T00:00:00Z"),
        london(),
        false,
    )
    .await
    .unwrap();
    assert!(before.is_empty());
    assert!(matches!(
        crate::readings::applicable_prices(
            db,
            &[property],
            "1000000000009",
            at("2026-10-01T00:00:00Z"),
            at("2026-10-02T00:00:00Z"),
            london(),
            false
        )
        .await,
        Err(EnergyError::NotFound)
    ));
}
