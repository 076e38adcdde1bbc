//! Readings as clients read them: `property(id) { measurements(...) }` with the variable types
//! different clients declare, raw half-hours with their gaps, local days with their costs, and
//! the public REST consumption endpoint with the customer's API key as HTTP basic auth.

use crate::harness;

use base64::Engine as _;
use harness::scenario::{
    NewAccount, account_number_of, create_account_as, organisation_auth, user_api_key, user_auth,
};
use harness::supply::{ELECTRICITY_SERIAL, MPAN, supply};
use harness::{TestApp, error_code};
use resiflex_domain::reading::ReadingSource;
use resiflex_energy::readings::find_meter;
use resiflex_energy::readings::import::{ImportOptions, import_csv};
use serde_json::{Value, json};

/// Two days of half-hours from 10 November 2026 (on the fixed tariff: 20p/kWh, 40p/day), each
/// 0.5 kWh, but for a gap at 01:00 on the first day.
async fn readings(app: &TestApp) {
    let mut file = String::from("interval_start,interval_end,consumption\n");
    let start: chrono::DateTime<chrono::Utc> = "2026-11-10T00:00:00Z".parse().unwrap();
    for i in 0..96 {
        if i == 2 {
            continue;
        }
        let a = start + chrono::Duration::minutes(30 * i);
        let b = a + chrono::Duration::minutes(30);
        file.push_str(&format!("{},{},0.5\n", a.to_rfc3339(), b.to_rfc3339()));
    }
    let (_, meter) = find_meter(&app.test_db.db, ELECTRICITY_SERIAL, None)
        .await
        .unwrap();
    let options = ImportOptions {
        default_length: None,
        source: ReadingSource::SmartMeter,
    };
    let summary = import_csv(&app.test_db.db, &meter, file.as_bytes(), options)
        .await
        .unwrap();
    assert_eq!(summary.intervals, 95);
}

/// The supplied account of a@example.com with its readings, and another customer's account
/// (b@example.com): the organisation's and a's authorisations and a's property id.
async fn supplied(app: &TestApp) -> (String, String, String) {
    let org = organisation_auth(app, "Supplier").await;
    let number =
        account_number_of(&create_account_as(app, &org, &NewAccount::new("a@example.com")).await);
    supply(app, &number).await;
    readings(app).await;
    create_account_as(app, &org, &NewAccount::new("b@example.com")).await;
    let customer = user_auth(app, "a@example.com").await;
    let body = app
        .graphql_as(
            Some(&customer),
            "query($n: String!) { properties(accountNumber: $n) { id } }",
            json!({"n": number}),
        )
        .await;
    let property = body["data"]["properties"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (org, customer, property)
}

const RAW: &str = r#"query($id: ID!, $filters: [UtilityFiltersInput!]) {
  property(id: $id) {
    measurements(first: 48, startOn: "2026-11-10", endOn: "2026-11-10", utilityFilters: $filters) {
      totalCount
      pageInfo { hasNextPage }
      edges { node { __typename value unit readAt source
        ... on IntervalMeasurementType { startAt endAt durationInSeconds } } }
    }
  }
}"#;

const DAYS: &str = r#"query($id: ID!, $filters: [UtilityFiltersInput]!) {
  property(id: $id) {
    measurements(first: 10, startAt: "2026-11-10T00:00:00Z", endAt: "2026-11-12T00:00:00Z", timezone: "Europe/London", utilityFilters: $filters) {
      edges { node { value
        ... on IntervalMeasurementType { startAt endAt durationInSeconds }
        metaData {
          utilityFilters { __typename ... on ElectricityFiltersOutput { readingFrequencyType readingDirection } }
          statistics { type costExclTax { estimatedAmount costCurrency pricePerUnit { amount } } costInclTax { estimatedAmount } }
        } } }
    }
  }
}"#;

#[tokio::test]
async fn measurements_come_raw_with_gaps_or_as_priced_local_days() {
    let app = TestApp::spawn().await;
    let (org, customer, property) = supplied(&app).await;
    let raw_filter = json!([{"electricityFilters": {"readingFrequencyType": "RAW_INTERVAL", "readingDirection": "CONSUMPTION"}}]);
    for auth in [&customer, &org] {
        let body = app
            .graphql_as(
                Some(auth),
                RAW,
                json!({"id": property, "filters": raw_filter}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let connection = &body["data"]["property"]["measurements"];
        // 48 half-hours of the local day, one of them a gap.
        assert_eq!(connection["totalCount"], 47, "{body}");
        assert_eq!(connection["pageInfo"]["hasNextPage"], false);
        let edges = connection["edges"].as_array().unwrap();
        let first = &edges[0]["node"];
        assert_eq!(first["__typename"], "IntervalMeasurementType");
        assert_eq!(first["value"], "0.500");
        assert_eq!(first["unit"], "kWh");
        assert_eq!(first["startAt"], "2026-11-10T00:00:00+00:00");
        assert_eq!(first["durationInSeconds"], 1800);
        assert_eq!(
            edges[2]["node"]["startAt"], "2026-11-10T01:30:00+00:00",
            "the gap stays a gap"
        );
    }

    let day_filter = json!([{"electricityFilters": {"readingFrequencyType": "DAY_INTERVAL"}}]);
    let body = app
        .graphql_as(
            Some(&customer),
            DAYS,
            json!({"id": property, "filters": day_filter}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let edges = body["data"]["property"]["measurements"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(edges.len(), 2);
    let day = &edges[0]["node"];
    assert_eq!(day["value"], "23.500");
    assert_eq!(day["durationInSeconds"], 47 * 1800);
    assert_eq!(
        day["metaData"]["utilityFilters"]["readingFrequencyType"],
        "DAY_INTERVAL"
    );
    let stats = day["metaData"]["statistics"].as_array().unwrap();
    let of = |kind: &str| stats.iter().find(|s| s["type"] == kind).unwrap().clone();
    // 23.5 kWh at 20p: 470p, 493.5p with VAT; a day's standing charge 40p.
    let consumption = of("CONSUMPTION_COST");
    assert_eq!(consumption["costExclTax"]["estimatedAmount"], "470");
    assert_eq!(consumption["costExclTax"]["costCurrency"], "GBP");
    assert_eq!(consumption["costExclTax"]["pricePerUnit"]["amount"], "20");
    assert_eq!(consumption["costInclTax"]["estimatedAmount"], "493.5");
    assert_eq!(
        of("STANDING_CHARGE_COST")["costExclTax"]["estimatedAmount"],
        "40"
    );
}

#[tokio::test]
async fn bad_filters_and_other_customers_are_refused() {
    let app = TestApp::spawn().await;
    let (org, _, property) = supplied(&app).await;
    let both = json!([{"electricityFilters": {}, "gasFilters": {}}]);
    let body = app
        .graphql_as(Some(&org), RAW, json!({"id": property, "filters": both}))
        .await;
    assert_eq!(error_code(&body), "KT-CT-1605", "{body}");
    // Half-hours cannot be cut into five-minute buckets.
    let fine = json!([{"electricityFilters": {"readingFrequencyType": "FIVE_MIN_INTERVAL"}}]);
    let body = app
        .graphql_as(Some(&org), RAW, json!({"id": property, "filters": fine}))
        .await;
    assert_eq!(error_code(&body), "KT-CT-1605", "{body}");
    // The misspelling one client sends is not a value.
    let misspelt = json!([{"electricityFilters": {"readingFrequencyType": "FIVE_MIN_INTEVAL"}}]);
    let body = app
        .graphql_as(
            Some(&org),
            RAW,
            json!({"id": property, "filters": misspelt}),
        )
        .await;
    assert!(!body["errors"].is_null(), "{body}");
    let stranger = user_auth(&app, "b@example.com").await;
    let body = app
        .graphql_as(
            Some(&stranger),
            RAW,
            json!({"id": property, "filters": null}),
        )
        .await;
    assert!(body["data"]["property"].is_null(), "{body}");
    assert!(!error_code(&body).is_empty(), "{body}");
}

async fn get(app: &TestApp, path: &str, key: Option<&str>) -> (u16, Value) {
    let mut request = app.client.get(app.url(path));
    if let Some(key) = key {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
        request = request.header("Authorization", format!("Basic {basic}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn rest_consumption_needs_the_customers_key_and_returns_exactly_the_window() {
    let app = TestApp::spawn().await;
    supplied(&app).await;
    let key = user_api_key(&app, "a@example.com").await;
    let path = format!(
        "/v1/electricity-meter-points/{MPAN}/meters/{ELECTRICITY_SERIAL}/consumption/?period_from=2026-11-10T00:00:00Z&period_to=2026-11-10T03:00:00Z"
    );
    assert_eq!(get(&app, &path, None).await.0, 401);
    assert_eq!(get(&app, &path, Some("sk_live_wrong")).await.0, 401);
    let (status, body) = get(&app, &path, Some(&key)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 5, "six half-hours, one a gap: {body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(
        results[0]["interval_start"], "2026-11-10T02:30:00Z",
        "newest first"
    );
    assert_eq!(results[0]["interval_end"], "2026-11-10T03:00:00Z");
    assert_eq!(results[0]["consumption"], 0.5);
    let (_, oldest) = get(
        &app,
        &format!("{path}&order_by=period&page_size=2"),
        Some(&key),
    )
    .await;
    assert_eq!(
        oldest["results"][0]["interval_start"],
        "2026-11-10T00:00:00Z"
    );
    assert!(
        oldest["next"].as_str().unwrap().contains("page=2"),
        "{oldest}"
    );
    let (_, days) = get(
        &app,
        &format!(
            "/v1/electricity-meter-points/{MPAN}/meters/{ELECTRICITY_SERIAL}/consumption?period_from=2026-11-10T00:00:00Z&period_to=2026-11-12T00:00:00Z&group_by=day"
        ),
        Some(&key),
    )
    .await;
    assert_eq!(days["count"], 2, "{days}");
    assert_eq!(days["results"][1]["consumption"], 23.5);
    // Unknown meters and meter points, or another customer's, are 404.
    let other = user_api_key(&app, "b@example.com").await;
    assert_eq!(get(&app, &path, Some(&other)).await.0, 404);
    let unknown = path.replace(ELECTRICITY_SERIAL, "00X0000000");
    assert_eq!(get(&app, &unknown, Some(&key)).await.0, 404);
    let (status, point) = get(
        &app,
        &format!("/v1/electricity-meter-points/{MPAN}/"),
        Some(&key),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(point["mpan"], MPAN);
    assert_eq!(point["gsp"], "_C");
    let (status, _) = get(&app, &format!("{path}&group_by=fortnight"), Some(&key)).await;
    assert_eq!(status, 400);
}

const APPLICABLE: &str = r#"query($n: String!, $m: String!, $first: Int) {
  applicableRates(accountNumber: $n, mpxn: $m, startAt: "2026-11-10T00:00:00Z", endAt: "2026-11-11T00:00:00Z", first: $first) {
    pageInfo { hasNextPage endCursor }
    edges { node { value preVatValue validFrom validTo } }
  }
  applicableStandingCharges(accountNumber: $n, mpxn: $m, startAt: "2026-11-10T00:00:00Z", endAt: "2026-11-11T00:00:00Z", first: 10) {
    edges { node { value validFrom validTo } }
  }
}"#;

#[tokio::test]
async fn applicable_rates_are_paged_with_vat_and_need_first() {
    let app = TestApp::spawn().await;
    let (org, customer, _) = supplied(&app).await;
    let number = {
        let body = app
            .graphql_as(
                Some(&customer),
                "{ viewer { accounts { number } } }",
                json!({}),
            )
            .await;
        body["data"]["viewer"]["accounts"][0]["number"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let body = app
        .graphql_as(
            Some(&customer),
            APPLICABLE,
            json!({"n": number, "m": MPAN, "first": 5}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    // The fixed tariff: 20p, 21p with VAT, the whole day; 40p a day standing.
    let rates = &body["data"]["applicableRates"];
    assert_eq!(rates["pageInfo"]["hasNextPage"], false);
    assert_eq!(rates["edges"][0]["node"]["value"], 21.0);
    assert_eq!(rates["edges"][0]["node"]["preVatValue"], 20.0);
    assert_eq!(
        rates["edges"][0]["node"]["validFrom"],
        "2026-11-10T00:00:00+00:00"
    );
    assert_eq!(
        body["data"]["applicableStandingCharges"]["edges"][0]["node"]["value"],
        42.0
    );
    // Without first or last: KT-CT-1201; another organisation's account: refused.
    let body = app
        .graphql_as(Some(&customer), APPLICABLE, json!({"n": number, "m": MPAN}))
        .await;
    assert_eq!(error_code(&body), "KT-CT-1201", "{body}");
    let other = organisation_auth(&app, "Other").await;
    let body = app
        .graphql_as(
            Some(&other),
            APPLICABLE,
            json!({"n": number, "m": MPAN, "first": 5}),
        )
        .await;
    assert!(
        body["data"].is_null() || body["data"]["applicableRates"].is_null(),
        "{body}"
    );
    assert!(!error_code(&body).is_empty());
    let _ = org;
}

const TELEMETRY: &str = r#"query($d: String!, $s: DateTime, $e: DateTime, $g: TelemetryGrouping) {
  smartMeterTelemetry(deviceId: $d, start: $s, end: $e, grouping: $g) {
    readAt consumption consumptionDelta demand export costDelta costDeltaWithTax
  }
}"#;

#[tokio::test]
async fn smart_meter_telemetry_comes_from_the_meters_readings() {
    let app = TestApp::spawn().await;
    let (_, customer, _) = supplied(&app).await;
    let device = "00-1a-2b-ff-ff-3c-4d-5e";
    let vars = |g: &str| json!({"d": device, "s": "2026-11-10T00:00:00Z", "e": "2026-11-10T03:00:00Z", "g": g});
    let body = app
        .graphql_as(Some(&customer), TELEMETRY, vars("HALF_HOURLY"))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let buckets = body["data"]["smartMeterTelemetry"].as_array().unwrap();
    assert_eq!(buckets.len(), 5, "six half-hours, one a gap: {body}");
    assert_eq!(buckets[0]["readAt"], "2026-11-10T00:00:00+00:00");
    assert_eq!(buckets[0]["consumptionDelta"], "500");
    assert_eq!(buckets[0]["demand"], "1000");
    assert_eq!(buckets[1]["consumption"], "1000");
    assert_eq!(buckets[0]["costDelta"], "10");
    assert_eq!(buckets[0]["costDeltaWithTax"], "10.5");
    let hourly = app
        .graphql_as(Some(&customer), TELEMETRY, vars("HOURLY"))
        .await;
    let hours = hourly["data"]["smartMeterTelemetry"].as_array().unwrap();
    assert_eq!(hours.len(), 3);
    assert_eq!(
        hours[1]["consumptionDelta"], "500",
        "the hour with the gap: {hourly}"
    );
    // Nothing is finer than the readings.
    let fine = app
        .graphql_as(Some(&customer), TELEMETRY, vars("TEN_SECONDS"))
        .await;
    assert_eq!(fine["data"]["smartMeterTelemetry"], json!([]));
    // The arguments come together, end after start; someone else's meter is not found.
    let body = app
        .graphql_as(
            Some(&customer),
            TELEMETRY,
            json!({"d": device, "s": "2026-11-10T00:00:00Z"}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-GB-4040", "{body}");
    let body = app
        .graphql_as(
            Some(&customer),
            TELEMETRY,
            json!({"d": device, "s": "2026-11-10T03:00:00Z", "e": "2026-11-10T00:00:00Z", "g": "HOURLY"}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-GB-4041", "{body}");
    let stranger = user_auth(&app, "b@example.com").await;
    let body = app
        .graphql_as(Some(&stranger), TELEMETRY, vars("HOURLY"))
        .await;
    assert_eq!(error_code(&body), "KT-GB-4050", "{body}");
    let body = app
        .graphql(
            r#"{ possibleErrors(input: {name: "smartMeterTelemetry", type: "query"}) { code } }"#,
            json!({}),
        )
        .await;
    let codes: Vec<&str> = body["data"]["possibleErrors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    for code in ["KT-GB-4040", "KT-GB-4041", "KT-GB-4050"] {
        assert!(codes.contains(&code), "{body}");
    }
}

#[tokio::test]
async fn meter_readings_are_a_connection_of_register_reads() {
    let app = TestApp::spawn().await;
    let (_, customer, _) = supplied(&app).await;
    let (_, meter) = find_meter(&app.test_db.db, ELECTRICITY_SERIAL, None)
        .await
        .unwrap();
    let file = "read_at,register,value,quality\n\
                2026-11-10T00:00:00Z,1,1000.5,A\n\
                2026-11-11T00:00:00Z,1,1024,E\n";
    let options = ImportOptions {
        default_length: None,
        source: ReadingSource::Customer,
    };
    import_csv(&app.test_db.db, &meter, file.as_bytes(), options)
        .await
        .unwrap();
    let number = {
        let body = app
            .graphql_as(
                Some(&customer),
                "{ viewer { accounts { number } } }",
                json!({}),
            )
            .await;
        body["data"]["viewer"]["accounts"][0]["number"].clone()
    };
    let query = r#"query($n: String!, $m: ID!) { electricityMeterReadings(accountNumber: $n, meterId: $m, first: 1) {
        totalCount pageInfo { hasNextPage }
        edges { node { value readAt registerObisCode typeOfRead origin meterId } } } }"#;
    let body = app
        .graphql_as(
            Some(&customer),
            query,
            json!({"n": number, "m": meter.id.to_string()}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let connection = &body["data"]["electricityMeterReadings"];
    assert_eq!(connection["totalCount"], 2);
    assert_eq!(connection["pageInfo"]["hasNextPage"], true);
    let node = &connection["edges"][0]["node"];
    assert_eq!(node["value"], "1024.000", "newest first: {body}");
    assert_eq!(node["typeOfRead"], "ESTIMATE");
    assert_eq!(node["origin"], "CUSTOMER");
    // A meter of another fuel, or not the account's, is refused.
    let body = app
        .graphql_as(
            Some(&customer),
            &query.replace("electricityMeterReadings", "gasMeterReadings"),
            json!({"n": number, "m": meter.id.to_string()}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-1605", "{body}");
}
