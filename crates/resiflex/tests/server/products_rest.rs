//! The public REST API for products over HTTP: the product list with its filters and pages, a
//! product's tariffs by region and payment method, and each tariff's unit rates and standing
//! charges (newest first, with and without VAT), every path with and without the trailing slash,
//! unknown products and tariffs as 404 and bad parameters as 400.

use crate::harness;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use harness::{TestApp, start_instant};
use resiflex::prices::{self, TariffOptions};
use serde_json::{Value, json};

const AGILE: &str = "RESIFLEX-AGILE-26-01-01";
const AGILE_TARIFF: &str = "E-1R-RESIFLEX-AGILE-26-01-01-C";

async fn get(app: &TestApp, path_or_url: &str) -> (u16, Value) {
    let url = if path_or_url.starts_with("http") {
        path_or_url.to_owned()
    } else {
        app.url(path_or_url)
    };
    let response = app.client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// A fixed single-rate product with day/night and gas tariffs, and the sandbox's dynamic product
/// on two days of generated half-hourly prices.
async fn products(app: &TestApp) {
    let db = &app.test_db.db;
    let date = start_instant().date_naive();
    prices::generate(db, "AGILE-RATES", date, 2, 7, &TariffOptions::default())
        .await
        .unwrap();
    resiflex_energy::products::save_sandbox_product(
        db,
        None,
        AGILE,
        "AGILE-RATES",
        'C',
        start_instant() - Duration::days(30),
        start_instant(),
    )
    .await
    .unwrap();
    let fixed = json!({
        "code": "FIX-12M-26-11-01",
        "displayName": "Fixed 12M",
        "fullName": "Fixed 12 months November 2026",
        "brand": "RESIFLEX_LIVE",
        "term": 12,
        "availableFrom": "2026-11-01T00:00:00Z",
        "tariffs": [
            {"kind": "SINGLE_RATE", "region": "A", "vatBasisPoints": 500, "charges": [
                {"kind": "STANDING", "validFrom": "2026-11-01T00:00:00Z", "valueExcVat": "48.1"},
                {"kind": "STANDARD", "validFrom": "2026-11-01T00:00:00Z", "validTo": "2026-11-20T00:00:00Z", "valueExcVat": "25"},
                {"kind": "STANDARD", "validFrom": "2026-11-20T00:00:00Z", "valueExcVat": "23.5"}
            ]},
            {"kind": "DAY_NIGHT", "region": "A", "charges": [
                {"kind": "DAY", "validFrom": "2026-11-01T00:00:00Z", "valueExcVat": "28"},
                {"kind": "NIGHT", "validFrom": "2026-11-01T00:00:00Z", "valueExcVat": "12"}
            ]},
            {"fuel": "GAS", "kind": "SINGLE_RATE", "region": "A", "paymentMethod": "VARYING", "charges": [
                {"kind": "STANDARD", "validFrom": "2026-11-01T00:00:00Z", "valueExcVat": "6.2"}
            ]}
        ]
    });
    let saved = resiflex::products::save(db, &fixed.to_string(), start_instant())
        .await
        .unwrap();
    assert_eq!(saved["created"], true);
    let business = json!({
        "code": "BUSINESS-26-11-01", "displayName": "Business", "fullName": "Business",
        "brand": "RESIFLEX_LIVE", "isBusiness": true, "availableFrom": "2026-11-01T00:00:00Z"
    });
    resiflex::products::save(db, &business.to_string(), start_instant())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_product_list_pages_and_filters_like_the_public_api() {
    let app = TestApp::spawn().await;
    products(&app).await;

    for path in ["/v1/products/", "/v1/products"] {
        let (status, body) = get(&app, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["count"], 2, "{body}");
        assert_eq!(body["next"], Value::Null);
        let codes: Vec<&str> = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["FIX-12M-26-11-01", AGILE]);
    }
    let (_, body) = get(&app, "/v1/products/").await;
    let agile = &body["results"][1];
    for key in [
        "direction",
        "full_name",
        "display_name",
        "description",
        "is_variable",
        "is_green",
        "is_tracker",
        "is_prepay",
        "is_business",
        "is_restricted",
        "term",
        "available_from",
        "available_to",
        "links",
        "brand",
    ] {
        assert!(agile.get(key).is_some(), "{key} missing: {agile}");
    }
    assert_eq!(agile["is_variable"], true);
    assert_eq!(agile["direction"], "IMPORT");
    assert_eq!(
        agile["links"][0]["href"],
        app.url(&format!("/v1/products/{AGILE}/"))
    );

    // Filters: variable only, business only (left out unless asked for), on sale at an instant.
    let (_, body) = get(&app, "/v1/products/?is_variable=true").await;
    assert_eq!(body["count"], 1);
    let (_, body) = get(&app, "/v1/products/?is_business=true").await;
    assert_eq!(body["results"][0]["code"], "BUSINESS-26-11-01");
    let (_, body) = get(&app, "/v1/products/?available_at=2026-10-30T00:00:00Z").await;
    assert_eq!(
        body["count"], 1,
        "only the dynamic product was on sale: {body}"
    );

    // Pages, followed through the absolute links.
    let (_, first) = get(&app, "/v1/products/?page_size=1").await;
    assert_eq!(first["count"], 2);
    assert_eq!(first["previous"], Value::Null);
    let next = first["next"].as_str().unwrap().to_owned();
    assert!(
        next.starts_with(&app.base) && next.contains("page=2"),
        "{next}"
    );
    let (status, second) = get(&app, &next).await;
    assert_eq!(status, 200);
    assert_eq!(second["results"][0]["code"], AGILE);
    assert_eq!(second["next"], Value::Null);
    assert!(second["previous"].as_str().unwrap().contains("page=1"));
    let (status, body) = get(&app, "/v1/products/?page_size=1&page=3").await;
    assert_eq!((status, &body["detail"]), (404, &json!("Not found.")));

    // Bad parameters are named.
    for (query, parameter) in [
        ("is_green=perhaps", "is_green"),
        ("available_at=soon", "available_at"),
        ("page_size=0", "page_size"),
        ("page_size=100000", "page_size"),
        ("page=0", "page"),
        ("page=-1", "page"),
    ] {
        let (status, body) = get(&app, &format!("/v1/products/?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body[parameter].is_array(), "{query}: {body}");
    }
}

#[tokio::test]
async fn a_product_shows_its_tariffs_by_region_and_payment_method() {
    let app = TestApp::spawn().await;
    products(&app).await;

    let (status, body) = get(&app, "/v1/products/FIX-12M-26-11-01").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tariffs_active_at"], "2026-11-27T12:00:00Z");
    let single = &body["single_register_electricity_tariffs"]["_A"]["direct_debit_monthly"];
    assert_eq!(single["code"], "E-1R-FIX-12M-26-11-01-A");
    assert_eq!(single["standard_unit_rate_exc_vat"], 23.5);
    assert_eq!(single["standard_unit_rate_inc_vat"], 24.675);
    assert_eq!(single["standing_charge_exc_vat"], 48.1);
    assert_eq!(single["standing_charge_inc_vat"], 50.505);
    let rels: Vec<&str> = single["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    assert_eq!(rels, ["standard_unit_rates", "standing_charges"]);
    assert_eq!(
        single["links"][0]["href"],
        app.url("/v1/products/FIX-12M-26-11-01/electricity-tariffs/E-1R-FIX-12M-26-11-01-A/standard-unit-rates/")
    );
    let dual = &body["dual_register_electricity_tariffs"]["_A"]["direct_debit_monthly"];
    assert_eq!(dual["code"], "E-2R-FIX-12M-26-11-01-A");
    assert_eq!(dual["day_unit_rate_exc_vat"], 28.0);
    assert_eq!(dual["night_unit_rate_inc_vat"], 12.6);
    let gas = &body["single_register_gas_tariffs"]["_A"]["varying"];
    assert_eq!(gas["code"], "G-1R-FIX-12M-26-11-01-A");
    assert_eq!(gas["standing_charge_exc_vat"], Value::Null);

    // Earlier, the earlier rate.
    let (_, body) = get(
        &app,
        "/v1/products/FIX-12M-26-11-01/?tariffs_active_at=2026-11-10T00:00:00Z",
    )
    .await;
    assert_eq!(
        body["single_register_electricity_tariffs"]["_A"]["direct_debit_monthly"]["standard_unit_rate_exc_vat"],
        25.0
    );

    // The dynamic product: this half-hour's rate, on both payment methods.
    let (_, body) = get(&app, &format!("/v1/products/{AGILE}/")).await;
    let region = &body["single_register_electricity_tariffs"]["_C"];
    assert_eq!(region["direct_debit_monthly"]["code"], AGILE_TARIFF);
    assert!(
        region["direct_debit_monthly"]["standard_unit_rate_exc_vat"].is_number(),
        "{region}"
    );
    assert_eq!(region["varying"]["standing_charge_exc_vat"], 47.25);

    let (status, body) = get(&app, "/v1/products/NO-SUCH-PRODUCT/").await;
    assert_eq!((status, &body["detail"]), (404, &json!("Not found.")));
}

fn instant(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn tariff_prices_come_newest_first_with_vat_within_the_window() {
    let app = TestApp::spawn().await;
    products(&app).await;
    let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    let from = day.and_hms_opt(10, 0, 0).unwrap().and_utc();
    let rates =
        format!("/v1/products/{AGILE}/electricity-tariffs/{AGILE_TARIFF}/standard-unit-rates");
    for path in [format!("{rates}/"), rates.clone()] {
        let (status, body) = get(
            &app,
            &format!("{path}?period_from=2026-11-27T10:00:00Z&period_to=2026-11-27T14:00:00Z"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["count"], 8);
        let results = body["results"].as_array().unwrap();
        // Newest first, exactly the window, each half-hour once.
        assert_eq!(
            instant(&results[0]["valid_from"]),
            from + Duration::minutes(210)
        );
        assert_eq!(instant(&results[7]["valid_from"]), from);
        assert_eq!(
            instant(&results[7]["valid_to"]),
            from + Duration::minutes(30)
        );
        for row in results {
            let exc = row["value_exc_vat"].as_f64().unwrap();
            let inc = row["value_inc_vat"].as_f64().unwrap();
            assert!((inc - exc * 1.05).abs() < 1e-6, "{row}");
            assert_eq!(row["payment_method"], Value::Null);
        }
    }
    // Pages of three, followed to the end.
    let (_, first) = get(
        &app,
        &format!(
            "{rates}/?period_from=2026-11-27T10:00:00Z&period_to=2026-11-27T14:00:00Z&page_size=3"
        ),
    )
    .await;
    let mut seen = first["results"].as_array().unwrap().len();
    let mut next = first["next"].as_str().map(str::to_owned);
    while let Some(url) = next {
        let (status, page) = get(&app, &url).await;
        assert_eq!(status, 200);
        seen += page["results"].as_array().unwrap().len();
        next = page["next"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, 8);

    // Standing charges carry their payment method.
    let (status, body) = get(
        &app,
        &format!("/v1/products/{AGILE}/electricity-tariffs/{AGILE_TARIFF}/standing-charges/"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let methods: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["payment_method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["DIRECT_DEBIT", "NON_DIRECT_DEBIT"]);
    assert_eq!(body["results"][0]["valid_to"], Value::Null);

    // A fixed tariff's rate history and its day and night rates; gas.
    let fixed = "/v1/products/FIX-12M-26-11-01";
    let (_, body) = get(
        &app,
        &format!("{fixed}/electricity-tariffs/E-1R-FIX-12M-26-11-01-A/standard-unit-rates/"),
    )
    .await;
    assert_eq!(body["count"], 2);
    assert_eq!(body["results"][0]["value_exc_vat"], 23.5);
    assert_eq!(body["results"][1]["valid_to"], "2026-11-20T00:00:00Z");
    assert_eq!(body["results"][0]["payment_method"], "DIRECT_DEBIT");
    let (_, body) = get(
        &app,
        &format!("{fixed}/electricity-tariffs/E-2R-FIX-12M-26-11-01-A/night-unit-rates/"),
    )
    .await;
    assert_eq!(body["results"][0]["value_inc_vat"], 12.6);
    let (_, body) = get(&app, &format!("{fixed}/gas-tariffs/G-1R-FIX-12M-26-11-01-A/standard-unit-rates/?period_from=2026-11-27T00:00:00Z")).await;
    assert_eq!(body["results"][0]["value_exc_vat"], 6.2);

    // What is not there is 404; what is malformed is 400.
    for path in [
        format!(
            "/v1/products/{AGILE}/electricity-tariffs/E-1R-RESIFLEX-AGILE-26-01-01-A/standard-unit-rates/"
        ),
        format!(
            "/v1/products/FIX-12M-26-11-01/electricity-tariffs/{AGILE_TARIFF}/standard-unit-rates/"
        ),
        format!("/v1/products/{AGILE}/gas-tariffs/{AGILE_TARIFF}/standard-unit-rates/"),
        format!("/v1/products/{AGILE}/electricity-tariffs/{AGILE_TARIFF}/day-unit-rates/"),
        format!("/v1/products/{AGILE}/electricity-tariffs/{AGILE_TARIFF}/rates/"),
        format!("/v1/products/{AGILE}/electricity-tariffs/not-a-tariff/standard-unit-rates/"),
        format!("{fixed}/gas-tariffs/G-1R-FIX-12M-26-11-01-A/night-unit-rates/"),
    ] {
        let (status, body) = get(&app, &path).await;
        assert_eq!(
            (status, &body["detail"]),
            (404, &json!("Not found.")),
            "{path}"
        );
    }
    for (query, parameter) in [
        ("period_from=yesterday", "period_from"),
        ("period_to=2026-11-27T00:00:00Z", "period_to"),
        (
            "period_from=2026-11-27T12:00:00Z&period_to=2026-11-27T10:00:00Z",
            "period_to",
        ),
        ("page_size=1501", "page_size"),
    ] {
        let (status, body) = get(&app, &format!("{rates}/?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body[parameter].is_array(), "{query}: {body}");
    }
}

const SAVE: &str = "mutation($input: EnergyProductInput!) { saveEnergyProduct(input: $input) { \
    created tariffCount chargeCount product { code displayName availability isVariable term availableFrom tariffCodes } } }";
const IMPORT: &str = "mutation($input: ImportTariffRatesInput!) { importTariffRates(input: $input) { importedCount } }";

fn product_input(code: &str, rates: &str) -> Value {
    json!({"input": {
        "code": code,
        "displayName": "Partner Agile",
        "fullName": "Partner Agile November 2026",
        "isVariable": true,
        "term": 12,
        "availableFrom": "2026-11-01T00:00:00Z",
        "tariffs": [
            {"kind": "DYNAMIC", "region": "_B", "ratesTariff": rates, "charges": [
                {"kind": "STANDING", "validFrom": "2026-11-01T00:00:00Z", "valueExcVat": "41.3"}
            ]},
            {"kind": "DYNAMIC", "region": "B", "paymentMethod": "VARYING", "vatBasisPoints": 0, "ratesTariff": rates}
        ]
    }})
}

#[tokio::test]
async fn an_organisation_sells_its_own_rates_as_a_product_and_nobody_else_can_change_it() {
    use harness::error_code;
    use harness::scenario::organisation_auth;
    let app = TestApp::spawn().await;
    let one = organisation_auth(&app, "One").await;
    let two = organisation_auth(&app, "Two").await;
    let rates: Vec<Value> = (0..4)
        .map(|i| {
            let from = start_instant() + Duration::minutes(30 * i);
            json!({"validFrom": from.to_rfc3339(), "validTo": (from + Duration::minutes(30)).to_rfc3339(), "unitRate": format!("{}.5", 20 + i)})
        })
        .collect();
    let imported = app
        .graphql_as(
            Some(&one),
            IMPORT,
            json!({"input": {"tariffCode": "ONE-RATES", "rates": rates}}),
        )
        .await;
    assert_eq!(
        imported["data"]["importTariffRates"]["importedCount"], 4,
        "{imported}"
    );

    let saved = app
        .graphql_as(
            Some(&one),
            SAVE,
            product_input("PARTNER-AGILE-26-11-01", "ONE-RATES"),
        )
        .await;
    let done = &saved["data"]["saveEnergyProduct"];
    assert_eq!(done["created"], true, "{saved}");
    assert_eq!(
        (done["tariffCount"].as_i64(), done["chargeCount"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(done["product"]["availability"], "EVERYONE");
    assert_eq!(
        done["product"]["tariffCodes"],
        json!(["E-1R-PARTNER-AGILE-26-11-01-B"])
    );

    // The public API sells it at the organisation's half-hourly prices, with and without VAT.
    let (status, body) = get(
        &app,
        "/v1/products/PARTNER-AGILE-26-11-01/electricity-tariffs/E-1R-PARTNER-AGILE-26-11-01-B/standard-unit-rates/",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 4);
    assert_eq!(body["results"][0]["value_exc_vat"], 23.5);
    assert_eq!(body["results"][0]["value_inc_vat"], 24.675);

    // Saved again: an update.
    let again = app
        .graphql_as(
            Some(&one),
            SAVE,
            product_input("PARTNER-AGILE-26-11-01", "ONE-RATES"),
        )
        .await;
    assert_eq!(
        again["data"]["saveEnergyProduct"]["created"], false,
        "{again}"
    );

    // Another organisation may change neither the product nor sell One's rates.
    let taken = app
        .graphql_as(
            Some(&two),
            SAVE,
            product_input("PARTNER-AGILE-26-11-01", "ONE-RATES"),
        )
        .await;
    assert_eq!(error_code(&taken), "KT-CT-1111", "{taken}");
    let borrowed = app
        .graphql_as(
            Some(&two),
            SAVE,
            product_input("TWO-AGILE-26-11-01", "ONE-RATES"),
        )
        .await;
    assert_eq!(error_code(&borrowed), "KT-CT-1111", "{borrowed}");
    let (status, _) = get(&app, "/v1/products/TWO-AGILE-26-11-01/").await;
    assert_eq!(status, 404, "nothing was stored");

    // Broken rules are named, and nothing is stored.
    for (edit, needle) in [
        (json!({"code": "lower-case"}), "product code"),
        (
            json!({"tariffs": [{"kind": "DYNAMIC", "region": "I", "ratesTariff": "ONE-RATES"}]}),
            "region",
        ),
        (
            json!({"tariffs": [{"kind": "DYNAMIC", "region": "B", "ratesTariff": "NO-SUCH-RATES"}]}),
            "NO-SUCH-RATES",
        ),
        (
            json!({"tariffs": [{"kind": "SINGLE_RATE", "region": "B", "charges": [{"kind": "NIGHT", "validFrom": "2026-11-01T00:00:00Z", "valueExcVat": "1"}]}]}),
            "NIGHT",
        ),
        (
            json!({"tariffs": [{"kind": "SINGLE_RATE", "region": "B", "vatBasisPoints": -5}]}),
            "vatBasisPoints",
        ),
    ] {
        let mut input = product_input("BROKEN-26-11-01", "ONE-RATES");
        for (key, value) in edit.as_object().unwrap() {
            input["input"][key] = value.clone();
        }
        let refused = app.graphql_as(Some(&one), SAVE, input).await;
        assert_eq!(error_code(&refused), "KT-CT-1605", "{needle}: {refused}");
        assert!(refused.to_string().contains(needle), "{needle}: {refused}");
    }
    let (status, _) = get(&app, "/v1/products/BROKEN-26-11-01/").await;
    assert_eq!(status, 404);
}
