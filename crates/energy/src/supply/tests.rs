#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Duration, TimeZone};
use resiflex_store::testing::{TestDb, household};

use super::*;
use crate::fixtures::single_rate;
use crate::products;

const MPAN: &str = "1200023305967";
const TARIFF: &str = "E-1R-FLEX-26-12-01-C";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

fn point(mpan: &str, meters: serde_json::Value) -> MeterPointDocument {
    serde_json::from_value(serde_json::json!({"mpan": mpan, "meters": meters})).unwrap()
}

async fn agree_from(
    db: &Db,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
) -> Result<(StoredAgreement, Option<i64>), EnergyError> {
    agree(
        db,
        None,
        Fuel::Electricity,
        MPAN,
        TARIFF,
        PaymentMethod::DirectDebitMonthly,
        from,
        to,
        t0(),
    )
    .await
}

#[tokio::test]
async fn a_meter_point_keeps_its_meters_and_the_history_of_its_agreements() {
    let test = TestDb::new().await;
    let db = &test.db;
    let home = household(db, "a@example.com", t0()).await;
    products::save(db, None, &single_rate("FLEX-26-12-01"), t0())
        .await
        .unwrap();
    let meters = serde_json::json!([
        {"serialNumber": "21L1234567", "smartDeviceId": "12-34-5a-ff-ff-6b-c7-89", "activeFrom": "2024-01-01T00:00:00Z"}
    ]);
    let saved = save_meter_point(db, home.property_id, &point(MPAN, meters.clone()), t0())
        .await
        .unwrap();
    assert_eq!(saved.point.direction, Direction::Import);
    // Saved again: the same meter point, the same meter.
    save_meter_point(db, home.property_id, &point(MPAN, meters), t0())
        .await
        .unwrap();

    let (first, ended) = agree_from(db, t0() - Duration::days(30), None)
        .await
        .unwrap();
    assert_eq!(ended, None);
    // A change of tariff ends the open agreement where the new one starts.
    let (second, ended) = agree_from(db, t0(), None).await.unwrap();
    assert_eq!(ended, Some(first.id));
    // Overlapping a closed agreement, or starting with the open one, is refused.
    assert!(matches!(
        agree_from(
            db,
            t0() - Duration::days(40),
            Some(t0() - Duration::days(20))
        )
        .await,
        Err(EnergyError::Invalid(_))
    ));
    assert!(matches!(
        agree_from(db, t0(), None).await,
        Err(EnergyError::Invalid(_))
    ));

    let supply = supply_of_property(db, home.property_id).await.unwrap();
    assert_eq!(supply.len(), 1);
    assert_eq!(supply[0].meters.len(), 1);
    assert_eq!(
        supply[0].meters[0]
            .meter
            .smart_device_id
            .as_ref()
            .unwrap()
            .as_str(),
        "12-34-5A-FF-FF-6B-C7-89"
    );
    let periods: Vec<(i64, Period)> = supply[0]
        .agreements
        .iter()
        .map(|a| (a.id, a.period))
        .collect();
    assert_eq!(
        periods,
        [
            (
                first.id,
                Period {
                    from: t0() - Duration::days(30),
                    to: Some(t0())
                }
            ),
            (
                second.id,
                Period {
                    from: t0(),
                    to: None
                }
            ),
        ]
    );
    assert_eq!(supply[0].agreements[1].tariff_code, TARIFF);
}

#[tokio::test]
async fn what_does_not_fit_is_refused_with_its_reason() {
    let test = TestDb::new().await;
    let db = &test.db;
    let home = household(db, "a@example.com", t0()).await;
    let other = household(db, "b@example.com", t0()).await;
    products::save(db, None, &single_rate("FLEX-26-12-01"), t0())
        .await
        .unwrap();
    save_meter_point(
        db,
        home.property_id,
        &point(MPAN, serde_json::json!([])),
        t0(),
    )
    .await
    .unwrap();

    let refused = |result: Result<StoredMeterPoint, EnergyError>, needle: &str| match result {
        Err(EnergyError::Invalid(message)) => assert!(message.contains(needle), "{message}"),
        other => panic!("{needle}: {other:?}"),
    };
    refused(
        save_meter_point(
            db,
            other.property_id,
            &point(MPAN, serde_json::json!([])),
            t0(),
        )
        .await,
        "another property",
    );
    refused(
        save_meter_point(
            db,
            home.property_id,
            &point("1200023305960", serde_json::json!([])),
            t0(),
        )
        .await,
        "check digit",
    );
    refused(
        save_meter_point(
            db,
            home.property_id,
            &point(
                MPAN,
                serde_json::json!([
                    {"serialNumber": "A1", "activeFrom": "2024-01-01T00:00:00Z"},
                    {"serialNumber": "B2", "activeFrom": "2025-01-01T00:00:00Z"}
                ]),
            ),
            t0(),
        )
        .await,
        "same time",
    );
    let both: MeterPointDocument =
        serde_json::from_value(serde_json::json!({"mpan": MPAN, "mprn": "123456"})).unwrap();
    refused(
        save_meter_point(db, home.property_id, &both, t0()).await,
        "either",
    );

    let agreement = |tariff: &'static str, method: PaymentMethod, fuel: Fuel, id: &'static str| async move {
        agree(db, None, fuel, id, tariff, method, t0(), None, t0()).await
    };
    for (result, needle) in [
        (
            agreement(
                "E-1R-NOPE-C",
                PaymentMethod::DirectDebitMonthly,
                Fuel::Electricity,
                MPAN,
            )
            .await,
            "no tariff",
        ),
        (
            agreement(
                "G-1R-FLEX-26-12-01-C",
                PaymentMethod::DirectDebitMonthly,
                Fuel::Electricity,
                MPAN,
            )
            .await,
            "not a tariff for electricity",
        ),
        (
            agreement(
                TARIFF,
                PaymentMethod::DirectDebitMonthly,
                Fuel::Electricity,
                "2000012345672",
            )
            .await,
            "no meter point",
        ),
    ] {
        match result {
            Err(EnergyError::Invalid(message)) => assert!(message.contains(needle), "{message}"),
            other => panic!("{needle}: {other:?}"),
        }
    }

    // An export meter point takes an export product.
    let export: MeterPointDocument =
        serde_json::from_value(serde_json::json!({"mpan": "2000012345681", "direction": "EXPORT"}))
            .unwrap();
    save_meter_point(db, home.property_id, &export, t0())
        .await
        .unwrap();
    match agree(
        db,
        None,
        Fuel::Electricity,
        "2000012345681",
        TARIFF,
        PaymentMethod::DirectDebitMonthly,
        t0(),
        None,
        t0(),
    )
    .await
    {
        Err(EnergyError::Invalid(message)) => assert!(message.contains("export"), "{message}"),
        other => panic!("export: {other:?}"),
    }
}
