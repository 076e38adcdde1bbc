//! A supplied account: the sandbox's dynamic product and a fixed product, an electricity meter
//! point (an old meter and a smart one since 15 October 2026) and a gas meter point, on the
//! fixed tariff from 50 days before the start, then the dynamic one from 7 days before.

use chrono::Duration;
use resiflex::prices::{self, TariffOptions};
use resiflex_domain::product::Fuel;
use serde_json::json;

use super::{TestApp, start_instant};

pub const MPAN: &str = "1200023305967";
pub const MPRN: &str = "3456789012";
/// The smart electricity meter in use.
pub const ELECTRICITY_SERIAL: &str = "21L4380212";
pub const GAS_SERIAL: &str = "G4A00123";

/// Supplies the account `number` as above.
pub async fn supply(app: &TestApp, number: &str) {
    products(app).await;
    let db = &app.test_db.db;
    let electricity = json!({"mpan": MPAN, "meters": [
        {"serialNumber": "19L3000001", "activeFrom": "2020-01-01T00:00:00Z", "activeTo": "2026-10-15T00:00:00Z"},
        {"serialNumber": "21L4380212", "smartDeviceId": "00-1a-2b-ff-ff-3c-4d-5e", "activeFrom": "2026-10-15T00:00:00Z"}
    ]});
    resiflex::products::save_meter_point(
        db,
        number,
        None,
        &electricity.to_string(),
        start_instant(),
    )
    .await
    .unwrap();
    let gas = json!({"mprn": MPRN, "meters": [
        {"serialNumber": "G4A00123", "smartDeviceId": "00-1A-2B-FF-FF-3C-4D-5F", "activeFrom": "2026-10-15T00:00:00Z"}
    ]});
    resiflex::products::save_meter_point(db, number, None, &gas.to_string(), start_instant())
        .await
        .unwrap();
    let on = |fuel, point: &'static str, tariff: &'static str, from| async move {
        resiflex::products::add_agreement(
            db,
            fuel,
            point,
            tariff,
            "DIRECT_DEBIT_MONTHLY",
            from,
            None,
            start_instant(),
        )
        .await
        .unwrap()
    };
    // A fixed tariff from October, then the dynamic one from a week ago: a change of tariff.
    let first = on(
        Fuel::Electricity,
        MPAN,
        "E-1R-FIX-26-10-01-C",
        start_instant() - Duration::days(50),
    )
    .await;
    let change = on(
        Fuel::Electricity,
        MPAN,
        "E-1R-RESIFLEX-AGILE-26-01-01-C",
        start_instant() - Duration::days(7),
    )
    .await;
    assert_eq!(change["endedAgreementId"], first["agreementId"]);
    on(
        Fuel::Gas,
        MPRN,
        "G-1R-FIX-26-10-01-C",
        start_instant() - Duration::days(50),
    )
    .await;
}

/// The operator's products: the sandbox's dynamic one (`RESIFLEX-AGILE-26-01-01`, on sale since
/// 60 days before the start, its rates two days from the start) and a fixed one
/// (`FIX-26-10-01`: 20p/kWh and 40p/day before VAT, gas 6p and 30p).
pub async fn products(app: &TestApp) {
    let db = &app.test_db.db;
    prices::generate(
        db,
        "AGILE-RATES",
        start_instant().date_naive(),
        2,
        3,
        &TariffOptions::default(),
    )
    .await
    .unwrap();
    resiflex_energy::products::save_sandbox_product(
        db,
        None,
        "RESIFLEX-AGILE-26-01-01",
        "AGILE-RATES",
        'C',
        start_instant() - Duration::days(60),
        start_instant(),
    )
    .await
    .unwrap();
    let fixed = json!({
        "code": "FIX-26-10-01", "displayName": "Fixed", "fullName": "Fixed October 2026",
        "brand": "RESIFLEX_LIVE", "availableFrom": "2026-10-01T00:00:00Z",
        "tariffs": [
            {"kind": "SINGLE_RATE", "region": "C", "charges": [
                {"kind": "STANDING", "validFrom": "2026-10-01T00:00:00Z", "valueExcVat": "40"},
                {"kind": "STANDARD", "validFrom": "2026-10-01T00:00:00Z", "valueExcVat": "20"}]},
            {"fuel": "GAS", "kind": "SINGLE_RATE", "region": "C", "charges": [
                {"kind": "STANDING", "validFrom": "2026-10-01T00:00:00Z", "valueExcVat": "30"},
                {"kind": "STANDARD", "validFrom": "2026-10-01T00:00:00Z", "valueExcVat": "6"}]}
        ]
    });
    resiflex::products::save(db, &fixed.to_string(), start_instant())
        .await
        .unwrap();
}
