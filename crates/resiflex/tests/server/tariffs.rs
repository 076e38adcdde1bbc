//! Tariffs over HTTP: importing rates through GraphQL and through the operator CLI's function, assigning
//! a tariff to an account's properties and reading both back, refusing bad rows and other
//! organisations, replacing overlapping rates on re-import, and the sandbox price generator.

use crate::harness;

use harness::scenario::{
    NewAccount, account_number_of, create_account_as, organisation_auth as org_auth,
    property_id_of, user_auth,
};

use chrono::{NaiveDate, Timelike};
use harness::{TestApp, error_code, start_instant};
use resiflex::prices::{self, TariffOptions};
use serde_json::{Value, json};

const IMPORT: &str = "mutation($input: ImportTariffRatesInput!) { importTariffRates(input: $input) \
    { tariff { code name timeZone slotMinutes } importedCount } }";
const RATES: &str = "query($code: String!, $from: DateTime!, $to: DateTime!) { \
    tariffRates(tariffCode: $code, from: $from, to: $to) { validFrom validTo unitRate exportRate carbonIntensity } }";
const ASSIGN: &str = "mutation($n: String!, $code: String!) { assignTariff(input: {accountNumber: $n, tariffCode: $code}) \
    { accountNumber tariff { code } propertyCount } }";
const PROPERTY_TARIFF: &str = "query($n: String!, $p: ID!) { propertyTariff(accountNumber: $n, propertyId: $p) \
    { tariff { code } validFrom } }";

/// Creates an account for the organisation; returns its number and its property's id.
async fn account(app: &TestApp, auth: &str, email: &str) -> (String, String) {
    let body = create_account_as(app, auth, &NewAccount::new(email)).await;
    (account_number_of(&body), property_id_of(&body).to_string())
}

/// `count` consecutive half-hours from `start` (RFC 3339), priced `first`, `first + 1`, ...
fn half_hours(start: &str, count: i64, first: i64) -> Vec<Value> {
    let start = chrono::DateTime::parse_from_rfc3339(start).unwrap();
    (0..count)
        .map(|i| {
            let from = start + chrono::Duration::minutes(30 * i);
            json!({
                "validFrom": from.to_rfc3339(),
                "validTo": (from + chrono::Duration::minutes(30)).to_rfc3339(),
                "unitRate": format!("{}.25", first + i),
                "exportRate": "5",
                "carbonIntensity": 101.5,
            })
        })
        .collect()
}

async fn import(app: &TestApp, auth: &str, code: &str, rates: Vec<Value>) -> Value {
    app.graphql_as(
        Some(auth),
        IMPORT,
        json!({"input": {"tariffCode": code, "name": "Agile Test", "rates": rates}}),
    )
    .await
}

async fn rates(app: &TestApp, auth: &str, code: &str, from: &str, to: &str) -> Vec<Value> {
    let body = app
        .graphql_as(
            Some(auth),
            RATES,
            json!({"code": code, "from": from, "to": to}),
        )
        .await;
    body["data"]["tariffRates"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .clone()
}

#[tokio::test]
async fn rates_imported_over_graphql_are_assigned_and_read_back() {
    let app = TestApp::spawn().await;
    let org = org_auth(&app, "One").await;
    let (number, property) = account(&app, &org, "ada@example.com").await;

    let body = import(
        &app,
        &org,
        "AGILE-1",
        half_hours("2026-11-27T00:00:00Z", 48, 10),
    )
    .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        body["data"]["importTariffRates"],
        json!({"tariff": {"code": "AGILE-1", "name": "Agile Test", "timeZone": "Europe/London", "slotMinutes": 30},
               "importedCount": 48})
    );
    let read = rates(
        &app,
        &org,
        "AGILE-1",
        "2026-11-27T01:00:00Z",
        "2026-11-27T02:00:00Z",
    )
    .await;
    assert_eq!(
        read,
        vec![
            json!({"validFrom": "2026-11-27T01:00:00+00:00", "validTo": "2026-11-27T01:30:00+00:00",
                   "unitRate": "12.25", "exportRate": "5", "carbonIntensity": "101.5"}),
            json!({"validFrom": "2026-11-27T01:30:00+00:00", "validTo": "2026-11-27T02:00:00+00:00",
                   "unitRate": "13.25", "exportRate": "5", "carbonIntensity": "101.5"}),
        ]
    );
    assert!(
        rates(
            &app,
            &org,
            "NO-SUCH",
            "2026-11-27T00:00:00Z",
            "2026-11-28T00:00:00Z"
        )
        .await
        .is_empty()
    );

    // Before assignment the property has no tariff; then it is on AGILE-1, for its organisation and user.
    let vars = json!({"n": number, "p": property});
    let before = app
        .graphql_as(Some(&org), PROPERTY_TARIFF, vars.clone())
        .await;
    assert_eq!(before["data"]["propertyTariff"], Value::Null, "{before}");
    let body = app
        .graphql_as(Some(&org), ASSIGN, json!({"n": number, "code": "AGILE-1"}))
        .await;
    assert_eq!(
        body["data"]["assignTariff"],
        json!({"accountNumber": number, "tariff": {"code": "AGILE-1"}, "propertyCount": 1}),
        "{body}"
    );
    let user = user_auth(&app, "ada@example.com").await;
    for auth in [&org, &user] {
        let body = app
            .graphql_as(Some(auth), PROPERTY_TARIFF, vars.clone())
            .await;
        assert_eq!(
            body["data"]["propertyTariff"],
            json!({"tariff": {"code": "AGILE-1"}, "validFrom": "2026-11-27T12:00:00+00:00"}),
            "{body}"
        );
    }
    // Users may not import or read raw rates; an unknown tariff cannot be assigned.
    assert_eq!(
        error_code(&import(&app, &user, "X", half_hours("2026-11-27T00:00:00Z", 1, 1)).await),
        "KT-CT-1111"
    );
    let body = app.graphql_as(Some(&user), RATES, json!({"code": "AGILE-1", "from": "2026-11-27T00:00:00Z", "to": "2026-11-27T01:00:00Z"})).await;
    assert_eq!(error_code(&body), "KT-CT-1111");
    let body = app
        .graphql_as(Some(&org), ASSIGN, json!({"n": number, "code": "NOPE"}))
        .await;
    assert_eq!(error_code(&body), "KT-CT-1605");
}

#[tokio::test]
async fn another_organisation_may_not_assign_or_read_a_property_tariff() {
    let app = TestApp::spawn().await;
    let one = org_auth(&app, "One").await;
    let two = org_auth(&app, "Two").await;
    let (number, property) = account(&app, &one, "ada@example.com").await;
    let body = import(
        &app,
        &two,
        "THEIRS",
        half_hours("2026-11-27T00:00:00Z", 2, 1),
    )
    .await;
    assert!(body["errors"].is_null(), "{body}");
    let body = app
        .graphql_as(Some(&two), ASSIGN, json!({"n": number, "code": "THEIRS"}))
        .await;
    assert_eq!(error_code(&body), "KT-CT-1111");
    let body = app
        .graphql_as(
            Some(&two),
            PROPERTY_TARIFF,
            json!({"n": number, "p": property}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-1111");
    // Another account's property id under one's own account number is refused too.
    let (own, _) = account(&app, &two, "bea@example.com").await;
    let body = app
        .graphql_as(
            Some(&two),
            PROPERTY_TARIFF,
            json!({"n": own, "p": property}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-1111");
}

#[tokio::test]
async fn bad_rates_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let org = org_auth(&app, "One").await;
    let mut bad = half_hours("2026-11-27T00:00:00Z", 4, 1);
    bad[2]["validTo"] = json!("2026-11-27T01:15:00Z");
    let body = import(&app, &org, "BAD", bad).await;
    assert_eq!(error_code(&body), "KT-CT-1605", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("rates[2]"),
        "{body}"
    );
    let mut overlapping = half_hours("2026-11-27T00:00:00Z", 3, 1);
    overlapping.push(overlapping[0].clone());
    assert_eq!(
        error_code(&import(&app, &org, "BAD", overlapping).await),
        "KT-CT-1605"
    );
    let mut negative = half_hours("2026-11-27T00:00:00Z", 1, 1);
    negative[0]["carbonIntensity"] = json!("-1");
    assert_eq!(
        error_code(&import(&app, &org, "BAD", negative).await),
        "KT-CT-1605"
    );
    let mut naive = half_hours("2026-11-27T00:00:00Z", 1, 1);
    naive[0]["validFrom"] = json!("2026-11-27T00:00:00");
    assert_eq!(
        error_code(&import(&app, &org, "BAD", naive).await),
        "KT-CT-1609"
    );
    assert!(
        rates(
            &app,
            &org,
            "BAD",
            "2026-11-26T00:00:00Z",
            "2026-11-28T00:00:00Z"
        )
        .await
        .is_empty()
    );
    assert!(
        resiflex_store::tariffs::tariff_by_code(&app.test_db.db, "BAD")
            .await
            .unwrap()
            .is_none()
    );

    // The CLI refuses a bad row with its line number, and writes nothing.
    let csv = "valid_from,valid_to,unit_rate\n\
               2026-11-27T00:00:00Z,2026-11-27T00:30:00Z,10\n\
               2026-11-27T00:30:00Z,2026-11-27T01:00:00Z,ten\n";
    let err = prices::import_csv(&app.test_db.db, "CSV-BAD", csv, &TariffOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 3"), "{err}");
    let csv = "valid_from,valid_to,unit_rate\n\
               2026-11-27T00:00:00Z,2026-11-27T00:30:00Z,10\n\
               2026-11-27T00:10:00Z,2026-11-27T00:40:00Z,10\n";
    let err = prices::import_csv(&app.test_db.db, "CSV-BAD", csv, &TariffOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 3"), "{err}");
    assert!(
        resiflex_store::tariffs::tariff_by_code(&app.test_db.db, "CSV-BAD")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn the_cli_imports_csv_and_a_reimport_replaces_overlapping_rates() {
    let app = TestApp::spawn().await;
    let org = org_auth(&app, "One").await;
    let csv = "carbon_intensity,valid_from,valid_to,unit_rate,export_rate\n\
               150,2026-11-27T00:00:00+00:00,2026-11-27T00:30:00+00:00,20.5,\n\
               140,2026-11-27T00:30:00Z,2026-11-27T01:00:00Z,19.123456,4\n\
               130,2026-11-27T01:00:00Z,2026-11-27T01:30:00Z,-2,4\n";
    let out = prices::import_csv(&app.test_db.db, "CSV-1", csv, &TariffOptions::default())
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({"tariff": "CSV-1", "imported": 3, "from": "2026-11-27T00:00:00Z", "to": "2026-11-27T01:30:00Z"})
    );
    let read = rates(
        &app,
        &org,
        "CSV-1",
        "2026-11-27T00:00:00Z",
        "2026-11-27T02:00:00Z",
    )
    .await;
    let units: Vec<&Value> = read.iter().map(|r| &r["unitRate"]).collect();
    assert_eq!(units, [&json!("20.5"), &json!("19.123456"), &json!("-2")]);
    assert_eq!(read[0]["exportRate"], Value::Null);

    // An organisation may read and use the operator's tariff, but not change it over GraphQL.
    let body = import(
        &app,
        &org,
        "CSV-1",
        half_hours("2026-11-27T00:30:00Z", 1, 99),
    )
    .await;
    assert_eq!(error_code(&body), "KT-CT-1111", "{body}");

    // The operator re-imports the middle half-hour: it replaces only what it overlaps.
    let csv = "valid_from,valid_to,unit_rate\n2026-11-27T00:30:00Z,2026-11-27T01:00:00Z,99.25\n";
    prices::import_csv(&app.test_db.db, "CSV-1", csv, &TariffOptions::default())
        .await
        .unwrap();
    let read = rates(
        &app,
        &org,
        "CSV-1",
        "2026-11-27T00:00:00Z",
        "2026-11-27T02:00:00Z",
    )
    .await;
    let units: Vec<&Value> = read.iter().map(|r| &r["unitRate"]).collect();
    assert_eq!(units, [&json!("20.5"), &json!("99.25"), &json!("-2")]);

    // The CLI's assignment, read back over GraphQL.
    let (number, property) = account(&app, &org, "ada@example.com").await;
    let out = prices::assign(&app.test_db.db, &number, "CSV-1", start_instant())
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({"accountNumber": number, "tariff": "CSV-1", "properties": 1})
    );
    let body = app
        .graphql_as(
            Some(&org),
            PROPERTY_TARIFF,
            json!({"n": number, "p": property}),
        )
        .await;
    assert_eq!(
        body["data"]["propertyTariff"]["tariff"]["code"], "CSV-1",
        "{body}"
    );
    assert!(
        prices::assign(&app.test_db.db, &number, "NOPE", start_instant())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn generated_prices_have_a_realistic_dst_correct_shape() {
    let app = TestApp::spawn().await;
    let org = org_auth(&app, "One").await;
    let db = &app.test_db.db;
    let london = resiflex_domain::tariff::parse_time_zone("Europe/London").unwrap();
    // The autumn clock change: 25 hours, 50 half-hours; spring: 46.
    let autumn = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
    let out = prices::generate(db, "SANDBOX", autumn, 1, 7, &TariffOptions::default())
        .await
        .unwrap();
    assert_eq!(out["imported"], 50, "{out}");
    assert_eq!(out["from"], "2026-10-24T23:00:00Z");
    assert_eq!(out["to"], "2026-10-26T00:00:00Z");
    let spring = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
    let out = prices::generate(db, "SANDBOX", spring, 1, 7, &TariffOptions::default())
        .await
        .unwrap();
    assert_eq!(out["imported"], 46, "{out}");
    // Deterministic: the same seed writes the same prices again.
    let first = rates(
        &app,
        &org,
        "SANDBOX",
        "2026-03-28T00:00:00Z",
        "2026-03-30T00:00:00Z",
    )
    .await;
    prices::generate(db, "SANDBOX", spring, 1, 7, &TariffOptions::default())
        .await
        .unwrap();
    let again = rates(
        &app,
        &org,
        "SANDBOX",
        "2026-03-28T00:00:00Z",
        "2026-03-30T00:00:00Z",
    )
    .await;
    assert_eq!(first, again);
    assert_eq!(first.len(), 46);

    // A winter week: the cheapest half-hours of every day are at night, the dearest in the day.
    let week = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    prices::generate(db, "SANDBOX", week, 7, 3, &TariffOptions::default())
        .await
        .unwrap();
    let tariff = resiflex_store::tariffs::tariff_by_code(db, "SANDBOX")
        .await
        .unwrap()
        .unwrap();
    let stored = resiflex_store::tariffs::rates_between(
        db,
        tariff.id,
        "2026-11-30T00:00:00Z".parse().unwrap(),
        "2026-12-07T00:00:00Z".parse().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(stored.len(), 7 * 48);
    for day in stored.chunks(48) {
        let cheapest = day.iter().min_by_key(|r| r.import_minor_per_kwh).unwrap();
        let dearest = day.iter().max_by_key(|r| r.import_minor_per_kwh).unwrap();
        let hour = |r: &resiflex_domain::tariff::Rate| r.valid_from.with_timezone(&london).hour();
        assert!(hour(cheapest) < 7, "cheapest at {}h", hour(cheapest));
        assert!(
            (6..22).contains(&hour(dearest)),
            "dearest at {}h",
            hour(dearest)
        );
        assert!(day.iter().all(|r| r.carbon_g_per_kwh.is_some()));
    }
}

#[tokio::test]
async fn an_organisation_cannot_touch_another_organisations_tariff() {
    let app = TestApp::spawn().await;
    let tokens = [org_auth(&app, "One").await, org_auth(&app, "Two").await];
    let import =
        "mutation($i: ImportTariffRatesInput!) { importTariffRates(input: $i) { importedCount } }";
    let rates = |price: &str| {
        serde_json::json!({"i": {"tariffCode": "ONE-AGILE", "rates": [
            {"validFrom": "2026-12-01T00:00:00Z", "validTo": "2026-12-01T00:30:00Z", "unitRate": price}]}})
    };
    let body = app
        .graphql_as(Some(&tokens[0]), import, rates("12.5"))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let body = app.graphql_as(Some(&tokens[1]), import, rates("99")).await;
    assert_eq!(
        body["errors"][0]["extensions"]["errorCode"], "KT-CT-1111",
        "{body}"
    );
    let read = "query { tariffRates(tariffCode: \"ONE-AGILE\", from: \"2026-12-01T00:00:00Z\", to: \"2026-12-02T00:00:00Z\") { unitRate } }";
    let theirs = app
        .graphql_as(Some(&tokens[1]), read, serde_json::Value::Null)
        .await;
    assert_eq!(
        theirs["data"]["tariffRates"],
        serde_json::json!([]),
        "{theirs}"
    );
    let ours = app
        .graphql_as(Some(&tokens[0]), read, serde_json::Value::Null)
        .await;
    assert_eq!(ours["data"]["tariffRates"][0]["unitRate"], "12.5", "{ours}");
}
