//! Every integration of `ProviderChoices` end to end: for each of them a customer walks the wizard
//! over HTTP to the catalogue model that integration connects, authorises at the sandbox vendor in
//! the vendor's own style (OAuth consent, credentials or a pairing code; OCPP chargers connect
//! themselves), finishes the journey, and finds the device on the account under that provider.
//! The vendor's pages list the customer's devices with the identifiers a real vendor app shows (a
//! car's VIN, any other device's serial number), and ResiFlex shows the same identifier.

use chrono::Duration;
use resiflex_domain::catalogue::{Catalogue, CatalogueEntry};
use resiflex_domain::device::{DeviceKind, Provider};
use resiflex_providers::vendors::{AuthStyle, vendor};
use serde_json::{Value, json};

use crate::charger::connect;
use crate::harness;
use harness::TestApp;
use harness::onboarding::{Onboarding, attribute_values, authorise_at_vendor, current};
use harness::scenario;

const STEP: &str = "wizard { id isComplete deviceId currentStep { __typename id } }";

fn catalogue() -> &'static Catalogue {
    Catalogue::get().expect("the catalogue loads")
}

/// The model the wizard connects through `provider`: the first generally available one that lists
/// the provider first (the wizard takes a model's first integration).
fn entry_for(provider: Provider) -> &'static dyn CatalogueEntry {
    catalogue()
        .all()
        .find(|e| e.integration_status().is_live() && e.providers().first() == Some(&provider))
        .unwrap_or_else(|| panic!("no model is connected through {provider}"))
}

fn providers_of(kinds: &[DeviceKind]) -> Vec<Provider> {
    Provider::ALL
        .iter()
        .copied()
        .filter(|p| kinds.contains(&entry_for(*p).kind()))
        .collect()
}

const VEHICLES: &[DeviceKind] = &[DeviceKind::ElectricVehicle];
const CHARGERS: &[DeviceKind] = &[DeviceKind::ChargePoint];
const HEATING: &[DeviceKind] = &[DeviceKind::HeatPump, DeviceKind::Thermostat];
const STORAGE: &[DeviceKind] = &[DeviceKind::Battery, DeviceKind::Inverter];

fn password(provider: Provider) -> String {
    format!("sandbox secret of {provider}")
}

fn login(provider: Provider) -> String {
    format!("owner-{}", provider.as_str().to_lowercase())
}

/// Takes a new customer's wizard to the step after the list steps for `entry` (an `AuthFlow`, or
/// the connection details of an OCPP charger).
async fn to_access_step(o: &Onboarding<'_>, entry: &dyn CatalogueEntry) -> Value {
    let w = o.start().await;
    match entry.kind() {
        DeviceKind::ElectricVehicle => {
            let w = o.select(&w, "ELECTRIC_VEHICLES").await;
            let w = o.select(&w, entry.make()).await;
            let w = o.select(&w, entry.id()).await;
            o.select(&w, "NONE").await
        }
        DeviceKind::ChargePoint => {
            let car = catalogue()
                .entries(DeviceKind::ElectricVehicle)
                .into_iter()
                .find(|e| e.integration_status().is_live())
                .expect("a live vehicle");
            let w = o.select(&w, "ELECTRIC_VEHICLES").await;
            let w = o.select(&w, car.make()).await;
            let w = o.select(&w, car.id()).await;
            let w = o.select(&w, entry.make()).await;
            let w = o.select(&w, entry.id()).await;
            o.choose_charge_point(&w).await
        }
        kind => {
            let device_type = match kind {
                DeviceKind::HeatPump => "HEAT_PUMPS",
                DeviceKind::Battery => "BATTERIES",
                DeviceKind::Inverter => "INVERTERS",
                _ => "THERMOSTATS",
            };
            let w = o.select(&w, device_type).await;
            let w = o.select(&w, entry.make()).await;
            o.select(&w, entry.id()).await
        }
    }
}

async fn step(o: &Onboarding<'_>, mutation: &str, input_type: &str, input: Value) -> Value {
    let body = o
        .call(
            &format!("mutation($i: {input_type}) {{ {mutation}(input: $i) {{ {STEP} }} }}"),
            json!({"i": input}),
        )
        .await;
    assert!(body["errors"].is_null(), "{mutation}: {body}");
    body["data"][mutation]["wizard"].clone()
}

/// Answers the steps after the authorisation until the journey is complete: the VIN the vendor
/// showed, the test charge, and the waits.
async fn finish(o: &Onboarding<'_>, mut w: Value, vin: Option<&str>) -> Value {
    for _ in 0..12 {
        if w["isComplete"] == true {
            return w;
        }
        let at = json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"]});
        w = match current(&w) {
            "UserInputRequired" => {
                let vin = vin.expect("a vehicle's VIN from the vendor's page");
                let mut input = at.clone();
                input["userInput"] = json!([{"key": "vin", "value": vin}]);
                step(
                    o,
                    "completeUserInputRequiredForSmartFlexOnboarding",
                    "CompleteUserInputRequiredInput!",
                    input,
                )
                .await
            }
            "TestCharge" => {
                let w = step(o, "startTestChargeForSmartFlexOnboarding", "StepInput!", at).await;
                o.app.clock.advance(Duration::minutes(2));
                w
            }
            "WaitForTransition" | "SmartFlexOnboardingDeviceRegistration" => {
                o.app.clock.advance(Duration::minutes(1));
                w
            }
            other => panic!("unexpected step {other}: {w}"),
        };
        let fetched = o.fetch(&w).await;
        assert!(fetched["errors"].is_null(), "{fetched}");
        w = fetched["data"]["smartFlexOnboardingWizard"].clone();
    }
    panic!("the journey did not finish: {w}");
}

/// The registered device as the customer reads it over GraphQL.
async fn device_of(o: &Onboarding<'_>, device_id: &str, vin_field: bool) -> Value {
    let vin = if vin_field {
        "... on SmartFlexVehicle { vin }"
    } else {
        ""
    };
    let body = o
        .call(
            &format!(
                "query($a: String!, $d: String) {{ devices(accountNumber: $a, deviceId: $d) {{ \
                 __typename id provider deviceType integrationDeviceId status {{ current }} {vin} }} }}"
            ),
            json!({"a": o.account_number, "d": device_id}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["devices"][0].clone()
}

/// The sandbox vendor's app: the devices of `login`, as an HTTP status and page.
async fn vendor_account(
    app: &TestApp,
    provider: Provider,
    login: &str,
    password: &str,
) -> (u16, String) {
    let answer = app
        .client
        .post(app.url(&format!("/sandbox/{}/account", provider.as_str())))
        .form(&[("login", login), ("password", password)])
        .send()
        .await
        .expect("the vendor's app answers");
    let status = answer.status().as_u16();
    (status, answer.text().await.expect("a page"))
}

fn kraken_type(kind: DeviceKind) -> &'static str {
    kind.kraken_device_type()
}

/// Onboards one device through a vendor cloud and checks what the customer sees, at the vendor and
/// in ResiFlex.
async fn onboard_through_cloud(app: &TestApp, provider: Provider) {
    let entry = entry_for(provider);
    let email = format!("{}@example.com", login(provider));
    let customer = scenario::customer(app, &format!("Org {provider}"), &email).await;
    let o = Onboarding::new(app, &customer.token, &customer.account_number);
    let w = to_access_step(&o, entry).await;
    assert_eq!(current(&w), "AuthFlow", "{provider}: {w}");
    let uri = w["currentStep"]["authorizationUri"]
        .as_str()
        .unwrap_or_else(|| panic!("{provider}: no authorisation URI: {w}"))
        .to_owned();
    assert!(
        uri.contains(&format!("/sandbox/{}/authorize", provider.as_str())),
        "{provider}: {uri}"
    );
    let consent = authorise_at_vendor(app, &uri, &login(provider), &password(provider)).await;
    assert_eq!(consent.style, vendor(provider).auth.as_str(), "{provider}");
    assert_eq!(consent.identifiers.len(), 1, "{provider}: one device");
    let identifier = consent.identifiers[0].clone();
    let w = o.complete_auth(&w, &consent.location).await;
    assert!(w["errors"].is_null(), "{provider}: {w}");
    let w = w["data"]["completeAuthFlowForSmartFlexOnboarding"]["wizard"].clone();
    let is_vehicle = entry.kind() == DeviceKind::ElectricVehicle;
    let w = finish(&o, w, is_vehicle.then_some(identifier.as_str())).await;
    let device_id = w["deviceId"].as_str().expect("a device").to_owned();

    let device = device_of(&o, &device_id, is_vehicle).await;
    assert_eq!(device["provider"], provider.as_str(), "{device}");
    assert_eq!(device["deviceType"], kraken_type(entry.kind()), "{device}");
    assert_eq!(device["status"]["current"], "LIVE", "{provider}: {device}");
    let stored = resiflex_store::devices::device_by_id(&app.test_db.db, &device_id)
        .await
        .expect("device read")
        .expect("device stored");
    assert_eq!(stored.kind, entry.kind(), "{provider}");
    if is_vehicle {
        assert_eq!(identifier.len(), 17, "{provider}: a VIN, {identifier}");
        assert_eq!(
            stored.vin.as_deref(),
            Some(identifier.as_str()),
            "{provider}"
        );
        assert_eq!(
            device["vin"],
            identifier.as_str(),
            "{provider}: the VIN the vendor shows"
        );
    } else {
        assert_eq!(
            device["integrationDeviceId"],
            identifier.as_str(),
            "{provider}: the serial number the vendor shows"
        );
    }

    // The vendor's app lists the device with the same identifier.
    let (status, page) = vendor_account(app, provider, &login(provider), &password(provider)).await;
    assert_eq!(status, 200, "{provider}: {page}");
    assert_eq!(
        attribute_values(&page, "data-identifier"),
        vec![identifier],
        "{provider}"
    );
}

/// Onboards an OCPP charger, which connects to ResiFlex itself instead of being reached through a
/// vendor's cloud.
async fn onboard_over_ocpp(app: &TestApp, provider: Provider) {
    let entry = entry_for(provider);
    let email = format!("{}@example.com", login(provider));
    let customer = scenario::customer(app, &format!("Org {provider}"), &email).await;
    let o = Onboarding::new(app, &customer.token, &customer.account_number);
    let w = o
        .charger_to_connection_details(entry.make(), entry.id())
        .await;
    let step = w["currentStep"].clone();
    let identity = step["chargePointId"].as_str().expect("an identity");
    let mut charger = connect(
        step["websocketUrl"].as_str().expect("a URL"),
        Some((identity, step["password"].as_str().expect("a password"))),
        Some("ocpp1.6"),
    )
    .await
    .expect("the charger connects");
    assert_eq!(charger.boot().await["status"], "Accepted");
    charger
        .serve_until(|r| r.iter().any(|(a, _)| a == "ChangeConfiguration"))
        .await;
    charger.status(1, "Preparing").await;
    let done = charger.serve_during(o.fetch(&w)).await;
    let done = &done["data"]["smartFlexOnboardingWizard"];
    assert_eq!(done["isComplete"], true, "{provider}: {done}");
    let device = device_of(&o, done["deviceId"].as_str().expect("a device"), false).await;
    assert_eq!(device["provider"], provider.as_str(), "{device}");
    assert_eq!(device["integrationDeviceId"], identity, "{device}");
    assert_eq!(device["__typename"], "SmartFlexChargePoint", "{device}");
}

async fn onboard_each(kinds: &[DeviceKind]) {
    let app = TestApp::spawn().await;
    let providers = providers_of(kinds);
    assert!(!providers.is_empty());
    for provider in providers {
        if vendor(provider).auth == AuthStyle::DirectConnection {
            onboard_over_ocpp(&app, provider).await;
        } else {
            onboard_through_cloud(&app, provider).await;
        }
    }
}

#[test]
fn the_journeys_below_cover_every_provider() {
    let mut covered: Vec<Provider> = [VEHICLES, CHARGERS, HEATING, STORAGE]
        .iter()
        .flat_map(|kinds| providers_of(kinds))
        .collect();
    covered.sort();
    assert_eq!(covered, Provider::ALL.to_vec());
    assert_eq!(covered.len(), 39);
}

#[tokio::test]
async fn a_vehicle_is_onboarded_through_every_vehicle_provider() {
    onboard_each(VEHICLES).await;
}

#[tokio::test]
async fn a_charger_is_onboarded_through_every_charger_provider() {
    onboard_each(CHARGERS).await;
}

#[tokio::test]
async fn a_heat_pump_or_thermostat_is_onboarded_through_every_heating_provider() {
    onboard_each(HEATING).await;
}

#[tokio::test]
async fn a_battery_or_inverter_is_onboarded_through_every_storage_provider() {
    onboard_each(STORAGE).await;
}

/// Starts a wizard for `provider`'s model and returns the authorisation URI.
async fn authorisation_uri(app: &TestApp, provider: Provider) -> String {
    let customer = scenario::customer(
        app,
        &format!("Org {provider}"),
        &format!("{}@example.com", login(provider)),
    )
    .await;
    let o = Onboarding::new(app, &customer.token, &customer.account_number);
    let w = to_access_step(&o, entry_for(provider)).await;
    w["currentStep"]["authorizationUri"]
        .as_str()
        .expect("an authorisation URI")
        .to_owned()
}

fn query_of(uri: &str) -> (String, Vec<(String, String)>) {
    let (base, query) = uri.split_once('?').expect("a query");
    let decode = |v: &str| {
        let mut out = Vec::new();
        let bytes = v.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%'
                && let Some(byte) = v
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(byte);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    (
        base.to_owned(),
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), decode(v)))
            .collect(),
    )
}

#[tokio::test]
async fn a_vendor_of_credentials_refuses_a_wrong_password_and_a_pairing_vendor_a_wrong_code() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    // Sensi: the login gets its password at its first sign-in; a wrong one is refused, and
    // "Allow" without signing in does not give a code.
    let uri = authorisation_uri(&app, Provider::Sensi).await;
    let (base, query) = query_of(&uri);
    let field = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let answer = client.post(&base).form(&fields).send().await.expect("sent");
            let status = answer.status().as_u16();
            (status, answer.text().await.expect("a page"))
        }
    };
    let with = |extra: Vec<(&'static str, String)>| {
        let mut fields = vec![
            ("state", field("state")),
            ("redirect_uri", field("redirect_uri")),
            ("login", "eve".to_owned()),
        ];
        fields.extend(extra);
        fields
    };
    let (status, _) = post(with(vec![("decision", "allow".into())])).await;
    assert_eq!(status, 401, "no password, no code");
    let (status, page) = post(with(vec![
        ("decision", "sign-in".into()),
        ("password", "first".into()),
    ]))
    .await;
    assert_eq!(status, 200, "{page}");
    let (status, page) = post(with(vec![
        ("decision", "sign-in".into()),
        ("password", "second".into()),
    ]))
    .await;
    assert_eq!(status, 401);
    assert!(page.contains("wrong"), "{page}");
    let (status, _) = post(with(vec![
        ("decision", "allow".into()),
        ("ticket", "made-up".into()),
    ]))
    .await;
    assert_eq!(status, 401, "a made-up ticket is no sign-in");
    let (status, _) = vendor_account(&app, Provider::Sensi, "eve", "second").await;
    assert_eq!(status, 401, "the vendor's app needs the password too");
    let (status, page) = vendor_account(&app, Provider::Sensi, "eve", "first").await;
    assert_eq!(status, 200);
    let serials = attribute_values(&page, "data-identifier");
    assert_eq!(serials.len(), 1, "{page}");
    assert!(
        serials[0].starts_with("SN"),
        "a Sensi serial number: {serials:?}"
    );

    // ecobee (v1) pairs by the code the thermostat shows; another code is refused.
    let uri = authorisation_uri(&app, Provider::Ecobee).await;
    let page = client
        .get(&uri)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("a page");
    let code = attribute_values(&page, "data-pairing-code")
        .pop()
        .expect("the code on the display");
    let (base, query) = query_of(&uri);
    let fields = |code: &str| {
        vec![
            ("state", query[0].1.clone()),
            ("redirect_uri", query[1].1.clone()),
            ("login", "eve".to_owned()),
            ("pairing_code", code.to_owned()),
            ("decision", "allow".to_owned()),
        ]
    };
    assert_eq!(query[0].0, "state");
    let wrong = client
        .post(&base)
        .form(&fields("AAAA-AAAA"))
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong.status(), 400);
    let right = client
        .post(&base)
        .form(&fields(&code))
        .send()
        .await
        .expect("sent");
    assert_eq!(right.status(), 303, "the right code authorises");

    // The vendor's app of an OCPP provider does not exist: those chargers have no vendor cloud.
    let (status, _) = vendor_account(&app, Provider::Ocpp, "eve", "").await;
    assert_eq!(status, 404);
}
