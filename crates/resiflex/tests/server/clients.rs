//! Interoperability with third-party GraphQL clients. `tests/clients/` at the workspace root holds
//! the operation documents real Kraken clients send, one file each, named after the client and the
//! operation. The test here starts the server and has `tests/clients/validate.py` fetch the schema
//! by introspection with the `gql` package from PyPI (as gql-based clients do, without a token) and
//! validate every document against it with graphql-core: a schema change that breaks a known client
//! fails. The environment is the one `.ci/clients-venv` creates at `target/clients-venv`; without
//! it the validation is skipped with a message, unless `RESIFLEX_REQUIRE_INTEROP` is set, in which
//! case a missing environment fails it.
//!
//! The other tests need no Python: every document is scored within the complexity limit, and some
//! are executed for real against a seeded account with a vehicle.

use crate::harness;

use std::path::{Path, PathBuf};

use harness::scenario::{self, Customer};
use harness::{TestApp, error_codes};
use resiflex_domain::Clock as _;
use resiflex_domain::device::{DeviceKind, Provider};
use resiflex_store::devices::{self as store, Device};
use serde_json::{Value, json};

/// What the documents say where a client would put its own account number, device id and key.
const ACCOUNT: &str = "A-CLIENT01";
const DEVICE: &str = "client-device-id";
const API_KEY: &str = "sk_live_client_api_key";
/// The catalogue entry of the vehicle the seeded customer chose.
const VARIANT: &str = "ev-tesla-model-3-rwd-2021";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn clients_dir() -> PathBuf {
    workspace().join("tests/clients")
}

/// Every client document, by file name.
fn documents() -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = std::fs::read_dir(clients_dir())
        .expect("tests/clients exists")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "graphql"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).expect("document read"))
        })
        .collect();
    found.sort();
    assert!(found.len() >= 20, "the client documents: {found:?}");
    found
}

fn document(name: &str) -> String {
    std::fs::read_to_string(clients_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The virtual environment's Python, or `None` (after saying why) when the test should be skipped.
fn python() -> Option<PathBuf> {
    let python = workspace().join("target/clients-venv/bin/python");
    let required = std::env::var("RESIFLEX_REQUIRE_INTEROP")
        .ok()
        .is_some_and(|v| !v.trim().is_empty() && v.trim() != "0");
    if python.exists() {
        return Some(python);
    }
    assert!(
        !required,
        "RESIFLEX_REQUIRE_INTEROP is set but {} does not exist; run .ci/clients-venv",
        python.display()
    );
    eprintln!(
        "SKIPPED: the GraphQL client interoperability test needs the Python environment at {}; run \
         .ci/clients-venv (set RESIFLEX_REQUIRE_INTEROP=1 to make its absence a failure)",
        python.display()
    );
    None
}

async fn run_validator(python: &Path, url: &str) -> (bool, String) {
    let output = tokio::process::Command::new(python)
        .arg(clients_dir().join("validate.py"))
        .arg(url)
        .arg(clients_dir())
        .kill_on_drop(true)
        .output()
        .await
        .expect("the validator runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn every_client_document_validates_against_the_schema_gql_fetches() {
    let Some(python) = python() else {
        return;
    };
    let app = TestApp::spawn().await;
    let (ok, output) = run_validator(&python, &app.url("/v1/graphql/")).await;
    let invalid: Vec<&str> = output
        .lines()
        .filter(|line| line.starts_with("INVALID"))
        .collect();
    assert!(
        ok && invalid.is_empty(),
        "client documents that no longer validate against the served schema:\n{}\n\nfull output:\n{output}",
        invalid.join("\n")
    );
    // Every document was checked, against a schema that was really fetched.
    let checked = output
        .lines()
        .filter(|line| line.starts_with("OK "))
        .count();
    assert_eq!(checked, documents().len(), "{output}");
    assert!(output.contains("SCHEMA "), "{output}");
}

/// Documents real clients send that the schema does not serve yet, in `tests/clients/pending/`:
/// each must still fail (and say why), so that one which starts to validate is moved up and
/// guarded from then on.
#[tokio::test]
async fn pending_client_documents_still_name_what_is_missing() {
    let Some(python) = python() else {
        return;
    };
    let app = TestApp::spawn().await;
    let pending = clients_dir().join("pending");
    let output = tokio::process::Command::new(&python)
        .arg(clients_dir().join("validate.py"))
        .arg(app.url("/v1/graphql/"))
        .arg(&pending)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let validating: Vec<&str> = text.lines().filter(|l| l.starts_with("OK ")).collect();
    assert!(
        validating.is_empty(),
        "these pending documents now validate; move them to tests/clients/: {validating:?}\n{text}"
    );
    assert!(
        text.contains(
            "INVALID bottlecapdave_account.graphql: Cannot query field 'octoplusAccountInfo'"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn the_validator_names_a_document_the_schema_does_not_serve() {
    let Some(python) = python() else {
        return;
    };
    let app = TestApp::spawn().await;
    let dir = std::env::temp_dir().join(format!("resiflex-clients-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("some_client_renamed_field.graphql"),
        "query { devices(accountNumber: \"A-1\") { id ... on SmartFlexVehicle { batteryKwh } } }",
    )
    .unwrap();
    std::fs::write(
        dir.join("some_client_devices.graphql"),
        "query { devices(accountNumber: \"A-1\") { id } }",
    )
    .unwrap();
    let output = tokio::process::Command::new(&python)
        .arg(clients_dir().join("validate.py"))
        .arg(app.url("/v1/graphql/"))
        .arg(&dir)
        .output()
        .await
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("INVALID some_client_renamed_field.graphql")
            && text.contains("batteryKwh")
            && text.contains("OK some_client_devices.graphql"),
        "{text}"
    );
}

/// The complexity the server gives a document, read from the refusal of a server whose limit is 1.
async fn score(strict: &TestApp, name: &str, query: &str) -> u64 {
    let body = strict.graphql(query, json!({})).await;
    assert_eq!(error_codes(&body), vec!["KT-CT-1188"], "{name}: {body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    message
        .strip_prefix("The query has a complexity of ")
        .and_then(|rest| rest.split(';').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{name}: no complexity in {message}"))
}

#[tokio::test]
async fn every_client_document_is_scored_within_the_complexity_limit() {
    let strict = TestApp::spawn_with(|config| config.limits.max_complexity = 1).await;
    let mut scores = Vec::new();
    for (name, query) in documents() {
        scores.push((score(&strict, &name, &query).await, name));
    }
    scores.sort();
    for (score, name) in &scores {
        eprintln!("complexity {score:>4}  {name}");
    }
    let over: Vec<_> = scores.iter().filter(|(score, _)| *score > 200).collect();
    assert!(over.is_empty(), "client documents over 200: {over:?}");
    // The account-wide document is the costliest a client sends, and is scored by its parts.
    let (top, name) = scores.last().unwrap();
    assert_eq!(name, "octopus_germany_comprehensive_data_query.graphql");
    assert!(*top > 50, "{scores:?}");

    // And the server with the default limit refuses none of them for their cost.
    let app = TestApp::spawn().await;
    for (name, query) in documents() {
        let body = app
            .graphql(
                &query,
                json!({ "accountNumber": "A-00000000", "includeIntelligent": true }),
            )
            .await;
        let codes = error_codes(&body);
        assert!(
            !codes.iter().any(|c| c == "KT-CT-1188" || c == "KT-CT-1189"),
            "{name}: {body}"
        );
    }
}

/// A customer with a vehicle registered as the catalogue variant they chose.
async fn seeded(app: &TestApp) -> (Customer, String) {
    let customer = scenario::customer(app, "Client Org", "client@example.com").await;
    let account =
        resiflex_store::accounts::account_by_number(&app.test_db.db, &customer.account_number)
            .await
            .unwrap()
            .unwrap();
    let id = format!("ev-{}", uuid::Uuid::new_v4());
    let device = Device {
        name: "Tesla Model 3".to_owned(),
        make: "Tesla".to_owned(),
        model: "Model 3".to_owned(),
        catalogue_id: Some(VARIANT.to_owned()),
        battery_capacity_wh: Some(57_500),
        max_power_w: Some(11_000),
        ..Device::live(
            id.clone(),
            (account.id, customer.property_id),
            DeviceKind::ElectricVehicle,
            Provider::Tesla,
            "remote-client-ev",
            app.clock.now(),
        )
    };
    store::insert_device(&app.test_db.db, &device)
        .await
        .unwrap();
    (customer, id)
}

fn as_sent(query: &str, customer: &Customer, device: &str) -> String {
    query
        .replace(ACCOUNT, &customer.account_number)
        .replace(DEVICE, device)
        .replace(API_KEY, &customer.api_key)
}

#[tokio::test]
async fn client_documents_answer_for_a_seeded_account() {
    let app = TestApp::spawn().await;
    let (customer, ev) = seeded(&app).await;
    let auth = customer.token.clone();
    let run = |name: &'static str, variables: Value, token: Option<String>| {
        let query = as_sent(&document(name), &customer, &ev);
        let app = &app;
        async move {
            let body = app.graphql_as(token.as_deref(), &query, variables).await;
            assert!(body["errors"].is_null(), "{name}: {body}");
            body["data"].clone()
        }
    };

    // Signing in, with the key as a literal, as a variable, and with email and password.
    let data = run(
        "bottlecapdave_obtain_kraken_token_api_key.graphql",
        json!({}),
        None,
    )
    .await;
    assert_eq!(
        data["obtainKrakenToken"]["token"]
            .as_str()
            .unwrap()
            .split('.')
            .count(),
        3
    );
    assert!(data["obtainKrakenToken"]["refreshExpiresIn"].is_i64());
    let data = run(
        "evcc_obtain_kraken_token.graphql",
        json!({ "apiKey": customer.api_key }),
        None,
    )
    .await;
    assert!(data["obtainKrakenToken"]["token"].is_string());
    let data = run(
        "octopus_germany_kraken_token_authentication.graphql",
        json!({ "email": customer.email, "password": customer.password }),
        None,
    )
    .await;
    assert!(data["obtainKrakenToken"]["payload"]["exp"].is_i64());

    // predbat's device list: the vehicle, its make and model.
    let data = run(
        "predbat_kraken_devices.graphql",
        json!({}),
        Some(auth.clone()),
    )
    .await;
    let device = &data["devices"][0];
    assert_eq!(device["__typename"], "SmartFlexVehicle");
    assert_eq!(
        (device["make"].as_str(), device["model"].as_str()),
        (Some("Tesla"), Some("Model 3"))
    );

    // octopus_germany's SmartFlex document: the variant the customer chose, sized as stored.
    let data = run(
        "octopus_germany_intelligent_data_query.graphql",
        json!({ "accountNumber": customer.account_number }),
        Some(auth.clone()),
    )
    .await;
    let vehicle = &data["devices"][0];
    assert_eq!(vehicle["id"], ev.as_str());
    assert_eq!(
        vehicle["vehicleVariant"],
        json!({ "model": "Model 3", "batterySize": "57.5" })
    );
    assert!(vehicle["chargingSessions"]["edges"].is_array(), "{vehicle}");
    assert!(data["completedDispatches"].is_array());

    // The account-wide document, with and without its SmartFlex half.
    let data = run(
        "octopus_germany_comprehensive_data_query.graphql",
        json!({ "accountNumber": customer.account_number, "includeIntelligent": true }),
        Some(auth.clone()),
    )
    .await;
    assert!(data["account"]["ledgers"].is_array(), "{data}");
    assert_eq!(data["devices"][0]["vehicleVariant"]["model"], "Model 3");
    let data = run(
        "octopus_germany_comprehensive_data_query.graphql",
        json!({ "accountNumber": customer.account_number, "includeIntelligent": false }),
        Some(auth.clone()),
    )
    .await;
    assert!(data.get("devices").is_none(), "{data}");

    // Spain's state document, with `$deviceID` spelt with a capital ID.
    let data = run(
        "spain_get_smart_flex_device_state.graphql",
        json!({ "accountNumber": customer.account_number, "deviceID": ev }),
        Some(auth.clone()),
    )
    .await;
    assert_eq!(data["devices"][0]["status"]["current"], "LIVE");

    // BottlecapDave's dispatch document: the device, and the dispatch lists.
    let data = run(
        "bottlecapdave_intelligent_dispatches.graphql",
        json!({}),
        Some(auth.clone()),
    )
    .await;
    assert_eq!(data["devices"][0]["id"], ev.as_str());
    assert!(data["flexPlannedDispatches"].is_array() && data["completedDispatches"].is_array());
}

#[tokio::test]
async fn a_vehicle_registered_without_a_catalogue_entry_has_no_variant() {
    let app = TestApp::spawn().await;
    let customer = scenario::customer(&app, "Plain Org", "plain@example.com").await;
    let account =
        resiflex_store::accounts::account_by_number(&app.test_db.db, &customer.account_number)
            .await
            .unwrap()
            .unwrap();
    let device = Device {
        make: "Polestar".to_owned(),
        model: "2".to_owned(),
        ..Device::live(
            format!("ev-{}", uuid::Uuid::new_v4()),
            (account.id, customer.property_id),
            DeviceKind::ElectricVehicle,
            Provider::Tesla,
            "remote-plain-ev",
            app.clock.now(),
        )
    };
    store::insert_device(&app.test_db.db, &device)
        .await
        .unwrap();
    let body = app
        .graphql_as(
            Some(&customer.token),
            &document("octopus_germany_intelligent_data_query.graphql"),
            json!({ "accountNumber": customer.account_number }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(body["data"]["devices"][0]["id"], device.id.as_str());
    assert!(
        body["data"]["devices"][0]["vehicleVariant"].is_null(),
        "{body}"
    );
}
