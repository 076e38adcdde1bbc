//! Attacks on devices, over HTTP and the OCPP WebSocket against the real server:
//! - a vendor device (or a charge point identity) registered on one account cannot be onboarded
//!   on another, of any organisation, until it is de-authenticated there, and the database
//!   refuses a second registration even when two onboardings race;
//! - commands and charging profiles stay within the charger's rating, a boost sends one profile,
//!   a StartTransaction the charger cannot mean is refused, and a boost cancelled at once leaves
//!   no empty completed dispatch.

use crate::charger;
use crate::harness;

use charger::{Charger, Script, connect};
use harness::onboarding::{Onboarding, allow};
use harness::scenario::{self, Customer};
use harness::{TestApp, error_code};
use resiflex_domain::Clock as _;
use resiflex_domain::device::{Lifecycle, Provider};
use resiflex_store::StoreError;
use resiflex_store::devices::{self as store, Device};
use serde_json::{Value, json};

const STEP_PARAMETERS: &str = "KT-CT-4375";
const HEAT_PUMP_MAKE: &str = "Daikin";
const HEAT_PUMP: &str = "hp-daikin-altherma-3-r-8kw";
/// The vendor login every customer in these tests claims at the simulated Daikin cloud: the
/// same heat pump behind it.
const SHARED_LOGIN: &str = "demo-home";

fn onboarding<'a>(app: &'a TestApp, customer: &Customer) -> Onboarding<'a> {
    Onboarding::new(app, &customer.token, &customer.account_number)
}

/// Brings a heat pump through the wizard with the shared vendor login; returns the answer to
/// `completeAuthFlowForSmartFlexOnboarding`.
async fn onboard_heat_pump(app: &TestApp, customer: &Customer) -> Value {
    let o = onboarding(app, customer);
    let w = o.heat_pump_to_auth_flow(HEAT_PUMP_MAKE, HEAT_PUMP).await;
    let uri = w["currentStep"]["authorizationUri"].as_str().unwrap();
    let back = allow(app, uri, SHARED_LOGIN).await;
    o.complete_auth(&w, &back).await
}

fn completed_device(body: &Value) -> String {
    assert!(body["errors"].is_null(), "{body}");
    let w = &body["data"]["completeAuthFlowForSmartFlexOnboarding"]["wizard"];
    assert_eq!(w["isComplete"], true, "{w}");
    w["deviceId"].as_str().unwrap().to_owned()
}

async fn device(app: &TestApp, id: &str) -> Device {
    store::device_by_id(&app.test_db.db, id)
        .await
        .unwrap()
        .unwrap()
}

async fn devices_of(app: &TestApp, customer: &Customer) -> Vec<Device> {
    let account =
        resiflex_store::accounts::account_by_number(&app.test_db.db, &customer.account_number)
            .await
            .unwrap()
            .unwrap();
    store::devices_of_account(&app.test_db.db, account.id)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_vendor_device_live_on_one_account_is_refused_on_every_other_until_it_is_let_go() {
    let app = TestApp::spawn().await;
    let owner = scenario::customer(&app, "Org One", "owner@example.com").await;
    let neighbour = scenario::customer_of(
        &app,
        owner.org_key.clone(),
        owner.org_token.clone(),
        "neighbour@example.com",
    )
    .await;
    let stranger = scenario::customer(&app, "Org Two", "stranger@example.com").await;

    let first = completed_device(&onboard_heat_pump(&app, &owner).await);
    let heat_pump = device(&app, &first).await;
    assert_eq!(heat_pump.lifecycle, Lifecycle::Live);

    // Another organisation's customer, and a customer of the same organisation, log in at the
    // vendor with the same login: the same heat pump. Both are refused, and get no device.
    for other in [&stranger, &neighbour] {
        let body = onboard_heat_pump(&app, other).await;
        assert_eq!(error_code(&body), STEP_PARAMETERS, "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("already connected"), "{message}");
        assert!(
            devices_of(&app, other).await.is_empty(),
            "{} got no registration",
            other.email
        );
    }
    assert_eq!(device(&app, &first).await.account_id, heat_pump.account_id);

    // Once the owner lets it go, the stranger may onboard it.
    let body = onboarding(&app, &owner).deauthenticate(&first).await;
    assert!(body["errors"].is_null(), "{body}");
    let second = completed_device(&onboard_heat_pump(&app, &stranger).await);
    let taken_over = device(&app, &second).await;
    assert_eq!(
        (
            taken_over.lifecycle.as_str(),
            taken_over.integration_device_id.as_str()
        ),
        ("LIVE", heat_pump.integration_device_id.as_str()),
        "the same vendor device, now on the stranger's account"
    );
    // And now the first owner is the one refused.
    let body = onboard_heat_pump(&app, &owner).await;
    assert_eq!(error_code(&body), STEP_PARAMETERS, "{body}");
}

#[tokio::test]
async fn two_onboardings_of_one_device_at_the_same_moment_cannot_both_win() {
    let app = TestApp::spawn().await;
    let one = scenario::customer(&app, "Org One", "one@example.com").await;
    let two = scenario::customer(&app, "Org Two", "two@example.com").await;
    let (o1, o2) = (onboarding(&app, &one), onboarding(&app, &two));
    let w1 = o1.heat_pump_to_auth_flow(HEAT_PUMP_MAKE, HEAT_PUMP).await;
    let w2 = o2.heat_pump_to_auth_flow(HEAT_PUMP_MAKE, HEAT_PUMP).await;
    let back1 = allow(
        &app,
        w1["currentStep"]["authorizationUri"].as_str().unwrap(),
        SHARED_LOGIN,
    )
    .await;
    let back2 = allow(
        &app,
        w2["currentStep"]["authorizationUri"].as_str().unwrap(),
        SHARED_LOGIN,
    )
    .await;
    let (a, b) = tokio::join!(o1.complete_auth(&w1, &back1), o2.complete_auth(&w2, &back2));
    let won: Vec<&Value> = [&a, &b]
        .into_iter()
        .filter(|body| body["errors"].is_null())
        .collect();
    assert_eq!(won.len(), 1, "exactly one wins: {a} {b}");
    let lost = if a["errors"].is_null() { &b } else { &a };
    assert_eq!(error_code(lost), STEP_PARAMETERS, "{lost}");
    let registered = devices_of(&app, &one).await.len() + devices_of(&app, &two).await.len();
    assert_eq!(registered, 1, "one registration of the heat pump");

    // The database itself refuses a second registration of the same vendor device.
    let mut copy = devices_of(&app, &one)
        .await
        .into_iter()
        .chain(devices_of(&app, &two).await)
        .next()
        .unwrap();
    copy.id = "copy".into();
    assert!(matches!(
        store::insert_device(&app.test_db.db, &copy).await,
        Err(StoreError::Conflict)
    ));
}

/// Onboards a charger of `make` and catalogue `variant` through the wizard: it connects with the
/// details shown, boots, reports a car plugged in; returns the device id, the charger and the
/// connection details.
async fn onboard_charger(
    app: &TestApp,
    customer: &Customer,
    make: &str,
    variant: &str,
) -> (String, Charger, Value) {
    onboard_charger_with(app, customer, make, variant, Script::default()).await
}

/// [`onboard_charger`] with a charger that answers as `script` says.
async fn onboard_charger_with(
    app: &TestApp,
    customer: &Customer,
    make: &str,
    variant: &str,
    script: Script,
) -> (String, Charger, Value) {
    let o = onboarding(app, customer);
    let w = o.charger_to_connection_details(make, variant).await;
    let step = w["currentStep"].clone();
    let mut charger = connect(
        step["websocketUrl"].as_str().unwrap(),
        Some((
            step["chargePointId"].as_str().unwrap(),
            step["password"].as_str().unwrap(),
        )),
        Some("ocpp1.6"),
    )
    .await
    .unwrap();
    charger.script = script;
    assert_eq!(charger.boot().await["status"], "Accepted");
    charger
        .serve_until(|r| r.iter().any(|(a, _)| a == "ChangeConfiguration"))
        .await;
    charger.status(1, "Preparing").await;
    let done = charger.serve_during(o.fetch(&w)).await;
    let done = &done["data"]["smartFlexOnboardingWizard"];
    assert_eq!(done["isComplete"], true, "{done}");
    (done["deviceId"].as_str().unwrap().to_owned(), charger, step)
}

#[tokio::test]
async fn a_charge_point_identity_belongs_to_one_account() {
    let app = TestApp::spawn().await;
    let owner = scenario::customer(&app, "Org One", "owner@example.com").await;
    let stranger = scenario::customer(&app, "Org Two", "stranger@example.com").await;
    let (device_id, charger, step) =
        onboard_charger(&app, &owner, "Wallbox", "cp-wallbox-pulsar-plus-7kw").await;
    drop(charger);
    let charger_device = device(&app, &device_id).await;
    let identity = step["chargePointId"].as_str().unwrap();
    assert_eq!(charger_device.integration_device_id, identity);

    // A second registration of the identity, on another account, under either OCPP provider, is
    // refused by the database.
    let stranger_account =
        resiflex_store::accounts::account_by_number(&app.test_db.db, &stranger.account_number)
            .await
            .unwrap()
            .unwrap();
    let property = harness::onboarding::property_of(&app, &stranger.account_number).await;
    for provider in [Provider::Ocpp, Provider::OcppWallbox] {
        let copy = Device {
            id: format!("copy-{provider}"),
            account_id: stranger_account.id,
            property_id: property,
            provider,
            grant_id: None,
            ..charger_device.clone()
        };
        assert!(
            matches!(
                store::insert_device(&app.test_db.db, &copy).await,
                Err(StoreError::Conflict)
            ),
            "{provider}"
        );
    }

    // De-authenticated by its owner, the identity stops working and the charger may be
    // registered elsewhere.
    let body = onboarding(&app, &owner).deauthenticate(&device_id).await;
    assert!(body["errors"].is_null(), "{body}");
    let refused = connect(
        step["websocketUrl"].as_str().unwrap(),
        Some((identity, step["password"].as_str().unwrap())),
        Some("ocpp1.6"),
    )
    .await
    .err();
    assert_eq!(refused, Some(401));
    let moved = Device {
        id: "moved".into(),
        account_id: stranger_account.id,
        property_id: property,
        ..charger_device.clone()
    };
    store::insert_device(&app.test_db.db, &moved).await.unwrap();
    // The stranger's own onboarding of a charger goes through, with its own identity.
    let (theirs, _charger, their_step) =
        onboard_charger(&app, &stranger, "Wallbox", "cp-wallbox-pulsar-plus-7kw").await;
    assert_ne!(their_step["chargePointId"].as_str().unwrap(), identity);
    assert_eq!(device(&app, &theirs).await.lifecycle, Lifecycle::Live);
}

/// A Wallbox Pulsar Plus 22 kW: rated 32 A per phase, three phases.
const RATED_32_A: &str = "cp-wallbox-pulsar-plus-22kw";

const BOOST: &str = "mutation($i: UpdateBoostChargeInput!) { updateBoostCharge(input: $i) { id } }";

/// The control loop over the server's OCPP chargers, as the server runs it.
fn control_loop(app: &TestApp) -> resiflex_control::ControlLoop {
    let mut registry = resiflex_providers::ProviderRegistry::default();
    resiflex::providers::register_ocpp(&mut registry, &app.ocpp);
    resiflex_control::ControlLoop::new(
        app.test_db.db.clone(),
        std::sync::Arc::new(registry),
        std::sync::Arc::new(app.clock.clone()),
        app.config.control,
    )
}

/// The profiles the central system sent, from the `from`-th call on.
fn profiles_sent(charger: &Charger, from: usize) -> Vec<Value> {
    charger.received[from..]
        .iter()
        .filter(|(action, _)| action == "SetChargingProfile")
        .map(|(_, payload)| payload["csChargingProfiles"].clone())
        .collect()
}

fn limit(value: &Value) -> f64 {
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .unwrap()
}

#[tokio::test]
async fn a_boost_sends_one_profile_within_the_chargers_rating() {
    let app = TestApp::spawn().await;
    let customer = scenario::customer(&app, "Org One", "ev@example.com").await;
    let (device_id, mut charger, _) = onboard_charger(&app, &customer, "Wallbox", RATED_32_A).await;
    let o = onboarding(&app, &customer);
    let control = control_loop(&app);
    charger.serve_during(control.tick()).await.unwrap();
    app.clock.advance(chrono::Duration::minutes(1));

    let before = charger.received.len();
    let body = charger
        .serve_during(o.call(
            BOOST,
            json!({"i": {"deviceId": device_id, "action": "BOOST"}}),
        ))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let sent = profiles_sent(&charger, before);
    assert_eq!(sent.len(), 1, "a boost is one SetChargingProfile: {sent:?}");

    // The next ticks carry the boost on without another profile.
    app.clock.advance(chrono::Duration::minutes(1));
    charger.serve_during(control.tick()).await.unwrap();
    let sent = profiles_sent(&charger, before);
    assert_eq!(sent.len(), 1, "still one: {sent:?}");

    // Every limit is within 32 A per phase, on no more phases than the charger has (it reported
    // none, so one).
    for profile in &sent {
        let schedule = &profile["chargingSchedule"];
        assert_eq!(schedule["chargingRateUnit"], "A", "{profile}");
        for period in schedule["chargingSchedulePeriod"].as_array().unwrap() {
            assert!(limit(&period["limit"]) <= 32.0, "{period}");
            assert!(
                period["numberPhases"].as_i64().unwrap_or(3) <= 1,
                "{period}"
            );
        }
    }
}

#[tokio::test]
async fn a_start_transaction_the_charger_cannot_mean_is_refused() {
    let app = TestApp::spawn().await;
    let customer = scenario::customer(&app, "Org One", "ev@example.com").await;
    let now = app.clock.now();
    let one_connector = Script {
        connectors: Some("1".into()),
        ..Script::default()
    };
    let (_, mut told, _) =
        onboard_charger_with(&app, &customer, "Wallbox", RATED_32_A, one_connector).await;
    let start = |connector: i64, meter: i64| json!({"connectorId": connector, "idTag": "TAG-1", "meterStart": meter, "timestamp": now});
    for (payload, why) in [
        (start(2, 0), "a connector it said it does not have"),
        (start(0, 0), "connector 0, the whole station"),
        (start(1, -5), "a negative meterStart"),
    ] {
        let answer = told.call("StartTransaction", payload).await;
        assert_eq!(answer[0], 4, "{why}: {answer}");
        assert_eq!(answer[2], "PropertyConstraintViolation", "{why}: {answer}");
    }
    let answer = told.call("StartTransaction", start(1, 120)).await;
    assert_eq!(answer[0], 3, "{answer}");
    assert_eq!(answer[2]["idTagInfo"]["status"], "Accepted");

    // A charger that did not say how many connectors it has: the ones it reported.
    let other = scenario::customer(&app, "Org Two", "other@example.com").await;
    let (_, mut quiet, _) = onboard_charger(&app, &other, "Wallbox", RATED_32_A).await;
    let answer = quiet.call("StartTransaction", start(3, 0)).await;
    assert_eq!(answer[0], 4, "{answer}");
    let answer = quiet.call("StartTransaction", start(1, 0)).await;
    assert_eq!(answer[0], 3, "{answer}");
}

#[tokio::test]
async fn a_boost_cancelled_at_once_leaves_no_empty_completed_dispatch() {
    let app = TestApp::spawn().await;
    let customer = scenario::customer(&app, "Org One", "ev@example.com").await;
    let (device_id, mut charger, _) = onboard_charger(&app, &customer, "Wallbox", RATED_32_A).await;
    let o = onboarding(&app, &customer);
    let control = control_loop(&app);
    charger.serve_during(control.tick()).await.unwrap();
    app.clock.advance(chrono::Duration::minutes(1));
    for action in ["BOOST", "CANCEL"] {
        let body = charger
            .serve_during(o.call(
                BOOST,
                json!({"i": {"deviceId": device_id, "action": action}}),
            ))
            .await;
        assert!(body["errors"].is_null(), "{action}: {body}");
        app.clock.advance(chrono::Duration::seconds(5));
    }
    for _ in 0..12 {
        app.clock.advance(chrono::Duration::minutes(10));
        charger.ok("Heartbeat", json!({})).await;
        charger.serve_during(control.tick()).await.unwrap();
    }
    // Tokens last an hour of the server's clock: sign in again.
    let o = Onboarding::new(
        &app,
        &scenario::sign_in_api_key(&app, &customer.api_key).await,
        &customer.account_number,
    );
    let body = o
        .call(
            "query($n: String!) { completedDispatches(accountNumber: $n) { start end delta meta { source } } }",
            json!({"n": customer.account_number}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let dispatches = body["data"]["completedDispatches"].as_array().unwrap();
    for dispatch in dispatches {
        assert_ne!(
            limit(&dispatch["delta"]),
            0.0,
            "an empty dispatch: {dispatch}"
        );
    }
}
