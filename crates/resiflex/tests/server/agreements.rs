//! Meter points, meters and agreements as a supplier app reads them: its first request (the
//! properties with their occupancy, the account's electricity and gas agreements in force, each
//! with its meter point, the meters in use and the agreement history, the tariff selected through
//! the `TariffType` interface), a change of tariff keeping the history, and another customer
//! seeing none of it.

use crate::harness;

use harness::scenario::{
    NewAccount, account_number_of, create_account_as, organisation_auth, user_auth,
};
use harness::supply::{MPAN, MPRN, supply};
use harness::{TestApp, error_code};
use serde_json::{Value, json};

/// The supplier app's first request, as it sends it.
const FIRST_REQUEST: &str = r#"query($n: String!) {
  properties(accountNumber: $n) { id occupancyPeriods { effectiveFrom effectiveTo } }
  account(accountNumber: $n) {
    electricityAgreements(active: true) {
      validFrom validTo
      meterPoint {
        mpan direction gspGroupId
        meters(includeInactive: false) {
          serialNumber activeFrom activeTo
          smartImportElectricityMeter { deviceId }
          smartExportElectricityMeter { deviceId }
        }
        agreements(includeInactive: true) {
          validFrom validTo
          tariff {
            __typename
            ... on TariffType { displayName fullName productCode tariffCode standingCharge preVatStandingCharge }
            ... on StandardTariff { unitRate preVatUnitRate }
            ... on HalfHourlyTariff { unitRates { validFrom validTo value preVatValue } }
          }
        }
      }
    }
    gasAgreements(active: true) {
      validFrom validTo
      meterPoint { mprn meters(includeInactive: false) { serialNumber smartGasMeter { deviceId } } }
      tariff { tariffCode unitRate preVatUnitRate standingCharge }
    }
  }
}"#;

async fn first_property_id(app: &TestApp, auth: &str, number: &str) -> String {
    let body = app
        .graphql_as(
            Some(auth),
            "query($n: String!) { properties(accountNumber: $n) { id } }",
            json!({"n": number}),
        )
        .await;
    body["data"]["properties"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_supplier_apps_first_request_finds_the_agreements_meters_and_tariffs() {
    let app = TestApp::spawn().await;
    let org = organisation_auth(&app, "Supplier").await;
    let number =
        account_number_of(&create_account_as(&app, &org, &NewAccount::new("a@example.com")).await);
    supply(&app, &number).await;
    let customer = user_auth(&app, "a@example.com").await;

    for auth in [&customer, &org] {
        let body = app
            .graphql_as(Some(auth), FIRST_REQUEST, json!({"n": number}))
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let data = &body["data"];
        assert_eq!(
            data["properties"][0]["occupancyPeriods"][0]["effectiveTo"],
            Value::Null
        );

        let electricity = data["account"]["electricityAgreements"].as_array().unwrap();
        assert_eq!(electricity.len(), 1, "only the agreement in force: {body}");
        let agreement = &electricity[0];
        assert_eq!(agreement["validTo"], Value::Null);
        let point = &agreement["meterPoint"];
        assert_eq!(point["mpan"], MPAN);
        assert_eq!(point["direction"], "IMPORT");
        assert_eq!(point["gspGroupId"], "_C");
        let meters = point["meters"].as_array().unwrap();
        assert_eq!(meters.len(), 1, "the meter in use: {point}");
        assert_eq!(meters[0]["serialNumber"], "21L4380212");
        assert_eq!(
            meters[0]["smartImportElectricityMeter"]["deviceId"],
            "00-1A-2B-FF-FF-3C-4D-5E"
        );
        assert_eq!(meters[0]["smartExportElectricityMeter"], Value::Null);

        // The history: the fixed tariff ended where the dynamic one began.
        let history = point["agreements"].as_array().unwrap();
        assert_eq!(history.len(), 2, "{point}");
        assert_eq!(history[0]["validTo"], history[1]["validFrom"]);
        let fixed = &history[0]["tariff"];
        assert_eq!(fixed["__typename"], "StandardTariff");
        assert_eq!(fixed["tariffCode"], "E-1R-FIX-26-10-01-C");
        assert_eq!(fixed["productCode"], "FIX-26-10-01");
        assert_eq!(fixed["displayName"], "Fixed");
        assert_eq!(fixed["standingCharge"], 42.0);
        assert_eq!(fixed["preVatStandingCharge"], 40.0);
        assert_eq!(fixed["unitRate"], 21.0);
        let dynamic = &history[1]["tariff"];
        assert_eq!(dynamic["__typename"], "HalfHourlyTariff");
        assert_eq!(dynamic["tariffCode"], "E-1R-RESIFLEX-AGILE-26-01-01-C");
        assert_eq!(dynamic["standingCharge"], 47.25);
        let rates = dynamic["unitRates"].as_array().unwrap();
        assert!(
            rates.len() >= 24,
            "the known half-hours ahead: {}",
            rates.len()
        );
        for rate in rates {
            let (value, pre) = (
                rate["value"].as_f64().unwrap(),
                rate["preVatValue"].as_f64().unwrap(),
            );
            assert!((value - pre * 1.05).abs() < 1e-6, "{rate}");
        }

        let gas = data["account"]["gasAgreements"].as_array().unwrap();
        assert_eq!(gas.len(), 1);
        assert_eq!(gas[0]["meterPoint"]["mprn"], MPRN);
        assert_eq!(
            gas[0]["meterPoint"]["meters"][0]["smartGasMeter"]["deviceId"],
            "00-1A-2B-FF-FF-3C-4D-5F"
        );
        assert_eq!(gas[0]["tariff"]["tariffCode"], "G-1R-FIX-26-10-01-C");
        assert_eq!(gas[0]["tariff"]["unitRate"], 6.3);
    }

    // Every agreement without `active`, and the property's meter points with every meter.
    let body = app
        .graphql_as(
            Some(&customer),
            r#"query($n: String!) { account(accountNumber: $n) { electricityAgreements { validFrom }
                properties { electricityMeterPoints { mpan meters(includeInactive: true) { serialNumber activeTo } } gasMeterPoints { mprn } } } }"#,
            json!({"n": number}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        body["data"]["account"]["electricityAgreements"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let property = &body["data"]["account"]["properties"][0];
    assert_eq!(
        property["electricityMeterPoints"][0]["meters"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        property["electricityMeterPoints"][0]["meters"][0]["activeTo"],
        "2026-10-15T00:00:00+00:00"
    );
    assert_eq!(property["gasMeterPoints"][0]["mprn"], MPRN);

    // `allProperties` and `property(id)` find the same property; another id finds none.
    let id = body["data"]["account"]["properties"][0].clone();
    let body = app
        .graphql_as(
            Some(&customer),
            r#"query($n: String!, $id: ID!) { account(accountNumber: $n) { allProperties { id }
                property(id: $id) { gasMeterPoints { mprn } } other: property(id: "999999") { id } } }"#,
            json!({"n": number, "id": first_property_id(&app, &customer, &number).await}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body} {id}");
    assert_eq!(
        body["data"]["account"]["allProperties"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        body["data"]["account"]["property"]["gasMeterPoints"][0]["mprn"],
        MPRN
    );
    assert_eq!(body["data"]["account"]["other"], Value::Null);

    // Another customer sees none of it.
    let other_org = organisation_auth(&app, "Other").await;
    create_account_as(&app, &other_org, &NewAccount::new("b@example.com")).await;
    let stranger = user_auth(&app, "b@example.com").await;
    let body = app
        .graphql_as(Some(&stranger), FIRST_REQUEST, json!({"n": number}))
        .await;
    assert!(!error_code(&body).is_empty(), "{body}");
    assert_eq!(body["data"]["account"], Value::Null, "{body}");
}

const SAVE_METER_POINT: &str = r#"mutation($input: SaveMeterPointInput!) { saveMeterPoint(input: $input) {
    property { electricityMeterPoints { mpan meters(includeInactive: true) { serialNumber smartImportElectricityMeter { deviceId } } } } } }"#;
const START: &str = r#"mutation($input: StartAgreementInput!) { startAgreement(input: $input) {
    agreementId tariffCode validFrom validTo endedAgreementId } }"#;
const SAVE_PRODUCT: &str = "mutation($input: EnergyProductInput!) { saveEnergyProduct(input: $input) { product { code } } }";

fn single_rate(code: &str) -> Value {
    json!({"input": {"code": code, "displayName": code, "fullName": code, "availableFrom": "2026-10-01T00:00:00Z",
        "tariffs": [{"kind": "SINGLE_RATE", "region": "C", "charges": [
            {"kind": "STANDARD", "validFrom": "2026-10-01T00:00:00Z", "valueExcVat": "20"}]}]}})
}

#[tokio::test]
async fn an_organisation_adds_meter_points_and_changes_tariffs_only_for_its_own_accounts() {
    let app = TestApp::spawn().await;
    let one = organisation_auth(&app, "One").await;
    let two = organisation_auth(&app, "Two").await;
    let number =
        account_number_of(&create_account_as(&app, &one, &NewAccount::new("a@example.com")).await);
    let theirs =
        account_number_of(&create_account_as(&app, &two, &NewAccount::new("b@example.com")).await);
    for (auth, code) in [(&one, "ONE-FLEX"), (&one, "ONE-FIXED"), (&two, "TWO-FLEX")] {
        let saved = app
            .graphql_as(Some(auth), SAVE_PRODUCT, single_rate(code))
            .await;
        assert!(saved["errors"].is_null(), "{saved}");
    }

    let point = json!({"input": {"accountNumber": number, "mpan": MPAN, "meters": [
        {"serialNumber": "21L4380212", "smartDeviceId": "00-1A-2B-FF-FF-3C-4D-5E", "activeFrom": "2026-10-01T00:00:00Z"}]}});
    let saved = app
        .graphql_as(Some(&one), SAVE_METER_POINT, point.clone())
        .await;
    let points = &saved["data"]["saveMeterPoint"]["property"]["electricityMeterPoints"];
    assert_eq!(points[0]["mpan"], MPAN, "{saved}");
    assert_eq!(
        points[0]["meters"][0]["smartImportElectricityMeter"]["deviceId"],
        "00-1A-2B-FF-FF-3C-4D-5E"
    );
    // Not on another organisation's account; a bad MPAN is named.
    let refused = app
        .graphql_as(Some(&two), SAVE_METER_POINT, point.clone())
        .await;
    assert_eq!(error_code(&refused), "KT-CT-1111", "{refused}");
    let mut bad = point.clone();
    bad["input"]["mpan"] = json!("1200023305960");
    let refused = app.graphql_as(Some(&one), SAVE_METER_POINT, bad).await;
    assert_eq!(error_code(&refused), "KT-CT-1605", "{refused}");
    assert!(refused.to_string().contains("check digit"), "{refused}");

    let start = |tariff: &str, from: &str| json!({"input": {"accountNumber": number, "mpan": MPAN, "tariffCode": tariff, "validFrom": from}});
    let first = app
        .graphql_as(
            Some(&one),
            START,
            start("E-1R-ONE-FIXED-C", "2026-10-01T00:00:00Z"),
        )
        .await;
    let first_id = first["data"]["startAgreement"]["agreementId"].clone();
    assert!(first_id.is_number(), "{first}");
    let change = app
        .graphql_as(
            Some(&one),
            START,
            start("E-1R-ONE-FLEX-C", "2026-11-20T00:00:00Z"),
        )
        .await;
    assert_eq!(
        change["data"]["startAgreement"]["endedAgreementId"], first_id,
        "{change}"
    );
    // Overlapping the history is refused; another organisation's tariff, or account, too.
    let overlap = app
        .graphql_as(
            Some(&one),
            START,
            start("E-1R-ONE-FIXED-C", "2026-11-20T00:00:00Z"),
        )
        .await;
    assert_eq!(error_code(&overlap), "KT-CT-1605", "{overlap}");
    let borrowed = app
        .graphql_as(
            Some(&one),
            START,
            start("E-1R-TWO-FLEX-C", "2026-12-01T00:00:00Z"),
        )
        .await;
    assert_eq!(error_code(&borrowed), "KT-CT-1111", "{borrowed}");
    let mut foreign = start("E-1R-ONE-FLEX-C", "2026-12-01T00:00:00Z");
    foreign["input"]["accountNumber"] = json!(theirs);
    let foreign = app.graphql_as(Some(&one), START, foreign).await;
    assert_eq!(error_code(&foreign), "KT-CT-1111", "{foreign}");

    // The customer sees the change of tariff.
    let customer = user_auth(&app, "a@example.com").await;
    let body = app
        .graphql_as(Some(&customer), FIRST_REQUEST, json!({"n": number}))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let agreements = &body["data"]["account"]["electricityAgreements"];
    assert_eq!(agreements.as_array().unwrap().len(), 1);
    assert_eq!(
        agreements[0]["meterPoint"]["agreements"][1]["tariff"]["tariffCode"],
        "E-1R-ONE-FLEX-C"
    );
}

const CREATE_SUPPLIED: &str = r#"mutation($tariff: String!, $ref: String!) {
  createFlexShellAccount(input: {
    brandCode: "RESIFLEX_LIVE", email: "s@example.com", givenName: "Sam", familyName: "Supplied",
    address: {country: "GB", postalCode: "N1 1AA"},
    accountReference: {namespace: "crm", value: $ref},
    meterPoints: [{mpan: "1200023305967", meters: [{serialNumber: "21L4380212", activeFrom: "2026-10-15T00:00:00Z"}],
                   tariffCode: $tariff, agreementValidFrom: "2026-11-01T00:00:00Z"}]
  }) { account { number electricityAgreements(active: true) { validFrom tariff { ... on TariffType { tariffCode } } meterPoint { mpan } } } }
}"#;

#[tokio::test]
async fn a_shell_account_can_be_created_with_its_meter_point_on_a_tariff() {
    let app = TestApp::spawn().await;
    harness::supply::products(&app).await;
    let org = organisation_auth(&app, "Supplier").await;
    // A tariff that does not exist: refused, and no account is created.
    let body = app
        .graphql_as(
            Some(&org),
            CREATE_SUPPLIED,
            json!({"tariff": "E-1R-NOPE-26-01-01-C", "ref": "r1"}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-1605", "{body}");
    let accounts =
        resiflex_store::testing::raw_texts(&app.test_db.db, "SELECT number FROM accounts", &[])
            .await;
    assert!(accounts.is_empty(), "{accounts:?}");
    for _ in 0..2 {
        // Created, then a retry with the same reference: the same account, one agreement.
        let body = app
            .graphql_as(
                Some(&org),
                CREATE_SUPPLIED,
                json!({"tariff": "E-1R-FIX-26-10-01-C", "ref": "r1"}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let agreements = body["data"]["createFlexShellAccount"]["account"]["electricityAgreements"]
            .as_array()
            .unwrap();
        assert_eq!(agreements.len(), 1, "{body}");
        assert_eq!(agreements[0]["tariff"]["tariffCode"], "E-1R-FIX-26-10-01-C");
        assert_eq!(agreements[0]["meterPoint"]["mpan"], MPAN);
        assert_eq!(agreements[0]["validFrom"], "2026-11-01T00:00:00+00:00");
    }
}
