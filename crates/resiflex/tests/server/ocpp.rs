//! The OCPP 1.6-J central system against the real server: a charger enrolled through the
//! onboarding wizard connects (and wrong credentials or a missing subprotocol are refused before
//! the upgrade), malformed messages get CALLERRORs without losing the connection, and commands
//! become charging profiles with their fallbacks, idempotently, asserted again after a restart.
//! A plan is one profile per version (a boost full power, a stop hands the charger back); a charger
//! onboarded through the wizard is smart-charged by the control loop as its planned dispatches say,
//! and its completed dispatches and charging session show over HTTP; unanswered calls are retried
//! and fail cleanly, one at a time; unavailable connectors are asked back into service and
//! operators can reset chargers.

use crate::charger;
use crate::harness;

use harness::onboarding::current;
use harness::scenario::{self, authorization as token_of};

use std::time::Duration as StdDuration;

use charger::{Charger, connect};
use chrono::Duration;
use harness::TestApp;
use resiflex_domain::Clock as _;
use resiflex_providers::{Command, Connection, DeviceProvider as _, Grant, ScheduleWindow};
use serde_json::{Value, json};

const STEP_FIELDS: &str = "id isComplete deviceId currentStep { __typename id \
    ... on SelectChargePointVariant { options { id } } \
    ... on OcppConnectionDetails { websocketUrl chargePointId password isConnected } } \
";

/// A signed-in customer with an account and a property.
struct Customer {
    token: String,
    api_key: String,
    account: String,
    property: i64,
}

async fn customer(app: &TestApp) -> Customer {
    let c = scenario::customer(app, "Org", "cp@example.com").await;
    Customer {
        token: format!("JWT {}", c.token),
        api_key: c.api_key,
        account: c.account_number,
        property: c.property_id,
    }
}

impl Customer {
    /// Signs in again (tokens last an hour of the server's clock).
    async fn renew(&mut self, app: &TestApp) {
        self.token = token_of(app, json!({"APIKey": self.api_key})).await;
    }

    async fn call(&self, app: &TestApp, query: &str, variables: Value) -> Value {
        let body = app.graphql_as(Some(&self.token), query, variables).await;
        assert!(body["errors"].is_null(), "{body}");
        body
    }

    async fn start(&self, app: &TestApp) -> Value {
        let body = self
            .call(
                app,
                &format!("mutation($a: String!, $p: Int!) {{ startSmartFlexOnboarding(input: {{accountNumber: $a, propertyId: $p}}) {{ wizard {{ {STEP_FIELDS} }} }} }}"),
                json!({"a": self.account, "p": self.property}),
            )
            .await;
        body["data"]["startSmartFlexOnboarding"]["wizard"].clone()
    }

    async fn select(&self, app: &TestApp, wizard: &Value, option: &str) -> Value {
        let body = self
            .call(
                app,
                &format!("mutation($i: SelectFromListInput!) {{ selectFromListForSmartFlexOnboarding(input: $i) {{ wizard {{ {STEP_FIELDS} }} }} }}"),
                json!({"i": {"wizardId": wizard["id"], "stepId": wizard["currentStep"]["id"], "selectedOption": option}}),
            )
            .await;
        body["data"]["selectFromListForSmartFlexOnboarding"]["wizard"].clone()
    }

    async fn fetch(&self, app: &TestApp, wizard: &Value) -> Value {
        let body = self
            .call(
                app,
                &format!("query($w: ID!) {{ smartFlexOnboardingWizard(wizardId: $w) {{ {STEP_FIELDS} }} }}"),
                json!({"w": wizard["id"]}),
            )
            .await;
        body["data"]["smartFlexOnboardingWizard"].clone()
    }
}

/// Takes a wizard to the OCPP connection details of a Wallbox charger (controlled, not the car).
async fn to_connection_details(app: &TestApp, c: &Customer) -> Value {
    to_connection_details_of(app, c, "Wallbox", "cp-wallbox-pulsar-plus-7kw").await
}

/// Takes a wizard to the OCPP connection details of a charger of this make and catalogue entry.
async fn to_connection_details_of(
    app: &TestApp,
    c: &Customer,
    make: &str,
    variant_id: &str,
) -> Value {
    let w = c.start(app).await;
    let w = c.select(app, &w, "ELECTRIC_VEHICLES").await;
    let w = c.select(app, &w, "Tesla").await;
    let variant = {
        let body = c
            .call(
                app,
                "query($w: ID!) { smartFlexOnboardingWizard(wizardId: $w) { currentStep { ... on SelectVehicleVariant { options { id } } } } }",
                json!({"w": w["id"]}),
            )
            .await;
        body["data"]["smartFlexOnboardingWizard"]["currentStep"]["options"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let w = c.select(app, &w, &variant).await;
    let w = c.select(app, &w, make).await;
    assert_eq!(current(&w), "SelectChargePointVariant", "{w}");
    let w = c.select(app, &w, variant_id).await;
    let body = c
        .call(
            app,
            &format!("mutation($i: SelectVehicleOrChargePointInput!) {{ selectVehicleOrChargePointForSmartFlexOnboarding(input: $i) {{ wizard {{ {STEP_FIELDS} }} }} }}"),
            json!({"i": {"wizardId": w["id"], "stepId": w["currentStep"]["id"], "selectedIntegration": "CHARGE_POINT"}}),
        )
        .await;
    let w = body["data"]["selectVehicleOrChargePointForSmartFlexOnboarding"]["wizard"].clone();
    assert_eq!(current(&w), "OcppConnectionDetails", "{w}");
    w
}

/// Enrols a charger directly through the provider (without the wizard): its identity and password.
async fn enrol(app: &TestApp, provider: &str, key: &str) -> (String, String, String) {
    let provider = app.ocpp.provider(provider);
    let details = provider
        .enrolment()
        .unwrap()
        .enrol(key, app.clock.now())
        .await
        .unwrap();
    (
        details.websocket_url,
        details.device_id,
        details.password.unwrap(),
    )
}

/// A charger that connected and booted, with its grant and credentials.
struct Booted {
    charger: Charger,
    grant: Grant,
    url: String,
    password: String,
}

async fn booted(app: &TestApp, provider: &str, key: &str) -> Booted {
    let (url, id, password) = enrol(app, provider, key).await;
    let mut charger = connect(&url, Some((&id, &password)), Some("ocpp1.6"))
        .await
        .unwrap();
    let boot = charger.boot().await;
    assert_eq!(boot["status"], "Accepted");
    // The central system probes the charger and sets its meter value interval.
    charger
        .serve_until(|r| r.iter().any(|(a, _)| a == "ChangeConfiguration"))
        .await;
    Booted {
        charger,
        grant: Grant {
            subject: id,
            secret: String::new(),
        },
        url,
        password,
    }
}

async fn booted_charger(app: &TestApp, provider: &str, key: &str) -> (Charger, Grant) {
    let b = booted(app, provider, key).await;
    (b.charger, b.grant)
}

#[tokio::test]
async fn a_charger_from_the_wizard_is_refused_without_credentials_then_connects_and_goes_live() {
    let app = TestApp::spawn().await;
    let c = customer(&app).await;
    let w = to_connection_details(&app, &c).await;
    let step = w["currentStep"].clone();
    let url = step["websocketUrl"].as_str().unwrap().to_owned();
    let id = step["chargePointId"].as_str().unwrap().to_owned();
    let password = step["password"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("ws://{}/ocpp/{id}", app.addr));
    assert_eq!(step["isConnected"], false);
    assert!(password.len() >= 16 && password.len() <= 40);
    // Reading the wizard again shows the same details.
    let again = c.fetch(&app, &w).await;
    assert_eq!(again["currentStep"], step);

    // Refused before the upgrade: no credentials, a wrong password, another charger's name,
    // an unknown charger, no subprotocol.
    assert_eq!(connect(&url, None, Some("ocpp1.6")).await.err(), Some(401));
    assert_eq!(
        connect(&url, Some((&id, "wrong-password-123")), Some("ocpp1.6"))
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        connect(&url, Some(("RFX-OTHER", &password)), Some("ocpp1.6"))
            .await
            .err(),
        Some(401)
    );
    let unknown = format!("ws://{}/ocpp/RFX-UNKNOWN", app.addr);
    assert_eq!(
        connect(&unknown, Some(("RFX-UNKNOWN", &password)), Some("ocpp1.6"))
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        connect(&url, Some((&id, &password)), None).await.err(),
        Some(400)
    );
    assert_eq!(
        connect(&url, Some((&id, &password)), Some("ocpp2.0.1"))
            .await
            .err(),
        Some(400)
    );

    let mut charger = connect(&url, Some((&id, &password)), Some("ocpp2.0.1, ocpp1.6"))
        .await
        .unwrap();
    // Nothing before the boot.
    let early = charger.call("Heartbeat", json!({})).await;
    assert_eq!(early[2], "SecurityError", "{early}");
    let still_waiting = c.fetch(&app, &w).await;
    assert_eq!(current(&still_waiting), "OcppConnectionDetails");
    let boot = charger.boot().await;
    assert_eq!(boot["status"], "Accepted");
    assert_eq!(boot["interval"], 300);
    assert_eq!(boot["currentTime"], json!(app.clock.now()));
    charger
        .serve_until(|r| r.iter().any(|(a, _)| a == "ChangeConfiguration"))
        .await;
    let probe = &charger.received[0];
    assert_eq!(probe.0, "GetConfiguration");
    assert!(
        probe.1["key"]
            .as_array()
            .unwrap()
            .contains(&json!("ChargeProfileMaxStackLevel"))
    );

    let done = c.fetch(&app, &w).await;
    assert_eq!(done["isComplete"], true, "{done}");
    // Once connected, the wizard forgets the password (ResiFlex keeps only its hash).
    let row = resiflex_store::wizards::wizard_by_id(&app.test_db.db, w["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let enrolment = row.state.enrolment.expect("the charger was enrolled");
    assert_eq!(enrolment.device_id, id);
    assert!(enrolment.password.is_none(), "{enrolment:?}");
    let device =
        resiflex_store::devices::device_by_id(&app.test_db.db, done["deviceId"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        (
            device.kind.as_str(),
            device.provider.as_str(),
            device.lifecycle.as_str(),
            device.integration_device_id.as_str()
        ),
        ("CHARGE_POINT", "OCPP_WALLBOX", "LIVE", id.as_str())
    );
    // Only the hash is kept.
    let stored = resiflex_store::ocpp::charge_point(&app.test_db.db, &id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(stored.password_hash, password);
    assert_eq!(stored.vendor.as_deref(), Some("Wallbox"));
}

#[tokio::test]
async fn malformed_messages_and_unknown_actions_get_callerrors_and_the_connection_stays() {
    let app = TestApp::spawn().await;
    let (mut charger, _) = booted_charger(&app, "OCPP", "malformed").await;
    let cases = [
        ("this is not json", "-1", "FormationViolation"),
        (r#"{"not": "an array"}"#, "-1", "FormationViolation"),
        (r#"[2, "m1", "Heartbeat"]"#, "m1", "ProtocolError"),
        (r#"[2, "m2", "FlyToTheMoon", {}]"#, "m2", "NotImplemented"),
        (
            r#"[2, "m3", "Reset", {"type": "Soft"}]"#,
            "m3",
            "NotSupported",
        ),
        (
            r#"[2, "m4", "StatusNotification", {"connectorId": 1, "errorCode": "NoError"}]"#,
            "m4",
            "ProtocolError",
        ),
        (
            r#"[2, "m5", "StatusNotification", {"connectorId": "one", "errorCode": "NoError", "status": "Available"}]"#,
            "m5",
            "TypeConstraintViolation",
        ),
        (
            r#"[2, "m6", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"}]"#,
            "m6",
            "PropertyConstraintViolation",
        ),
        (
            r#"[2, "m7", "Heartbeat", {"extra": true}]"#,
            "m7",
            "FormationViolation",
        ),
        (
            r#"[2, "m8", "MeterValues", {"connectorId": 1, "meterValue": []}]"#,
            "m8",
            "OccurenceConstraintViolation",
        ),
        (
            r#"[2, "m9", "Authorize", {"idTag": "012345678901234567890"}]"#,
            "m9",
            "TypeConstraintViolation",
        ),
    ];
    for (text, id, code) in cases {
        charger.send_text(text).await;
        let answer = charger.next_answer().await;
        assert_eq!(
            (answer[0].as_i64(), answer[1].as_str(), answer[2].as_str()),
            (Some(4), Some(id), Some(code)),
            "{text} -> {answer}"
        );
    }
    let heartbeat = charger.ok("Heartbeat", json!({})).await;
    assert!(heartbeat["currentTime"].is_string(), "still connected");
    assert_eq!(
        charger
            .ok("DataTransfer", json!({"vendorId": "com.example"}))
            .await["status"],
        "UnknownVendorId"
    );
}

#[tokio::test]
async fn telemetry_follows_status_transactions_and_meter_values_and_heartbeats() {
    let app = TestApp::spawn().await;
    let (mut charger, grant) = booted_charger(&app, "OCPP", "telemetry").await;
    let provider = app.ocpp.provider("OCPP");
    let read = |now| {
        let provider = provider.clone();
        let grant = grant.clone();
        async move {
            provider
                .telemetry(&grant, &grant.subject, now)
                .await
                .unwrap()
        }
    };
    charger.status(1, "Available").await;
    let t = read(app.clock.now()).await;
    assert_eq!(
        (t.connection, t.plugged_in, t.active),
        (Connection::Online, Some(false), false)
    );
    charger.status(1, "Preparing").await;
    let started = charger
        .ok(
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "TAG1", "meterStart": 1000, "timestamp": app.clock.now()}),
        )
        .await;
    let tx = started["transactionId"].as_i64().unwrap();
    assert_eq!(started["idTagInfo"]["status"], "Accepted");
    // A StartTransaction sent again (its answer lost) gets the same number.
    let again = charger
        .ok(
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "TAG1", "meterStart": 1000, "timestamp": app.clock.now()}),
        )
        .await;
    assert_eq!(again["transactionId"].as_i64(), Some(tx));
    charger.status(1, "Charging").await;
    charger
        .ok(
            "MeterValues",
            json!({"connectorId": 1, "transactionId": tx, "meterValue": [{"timestamp": app.clock.now(), "sampledValue": [
                {"value": "1.5", "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
                {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"},
                {"value": "61", "measurand": "SoC", "unit": "Percent"}
            ]}]}),
        )
        .await;
    let t = read(app.clock.now()).await;
    assert_eq!(
        (
            t.power_w,
            t.energy_imported_wh,
            t.state_of_charge_pct,
            t.active,
            t.plugged_in
        ),
        (7_200, 1_500, Some(61.0), true, Some(true))
    );
    charger.status(1, "SuspendedEV").await;
    assert_eq!(read(app.clock.now()).await.power_w, 0);
    charger
        .ok(
            "StopTransaction",
            json!({"transactionId": tx, "meterStop": 2500, "timestamp": app.clock.now(), "reason": "EVDisconnected"}),
        )
        .await;
    let stored = resiflex_store::ocpp::transaction(&app.test_db.db, tx)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.meter_stop_wh, stored.stop_reason.as_deref()),
        (Some(2500), Some("EVDisconnected"))
    );
    assert_eq!(read(app.clock.now()).await.energy_imported_wh, 2_500);
    // Silent for more than two heartbeat intervals: offline; a heartbeat brings it back.
    app.clock.advance(Duration::seconds(601));
    assert_eq!(read(app.clock.now()).await.connection, Connection::Offline);
    charger.ok("Heartbeat", json!({})).await;
    assert_eq!(read(app.clock.now()).await.connection, Connection::Online);
    drop(charger);
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    assert_eq!(read(app.clock.now()).await.connection, Connection::Offline);
}

fn periods(profile: &Value) -> Vec<(i64, f64)> {
    profile["chargingSchedule"]["chargingSchedulePeriod"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["startPeriod"].as_i64().unwrap(),
                p["limit"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// Sends a command from a task while the charger answers the central system's calls.
async fn command(
    app: &TestApp,
    charger: &mut Charger,
    provider: &str,
    grant: &Grant,
    command: Command,
    key: &str,
) -> Result<resiflex_providers::CommandReceipt, resiflex_providers::ProviderError> {
    let provider = app.ocpp.provider(provider);
    let grant = grant.clone();
    let now = app.clock.now();
    let key = key.to_owned();
    let task = tokio::spawn(async move {
        provider
            .send(&grant, &grant.subject, &command, &key, now)
            .await
    });
    while !task.is_finished() {
        charger.serve_for(StdDuration::from_millis(50)).await;
    }
    task.await.unwrap()
}

#[tokio::test]
async fn commands_become_profiles_with_fallbacks_idempotently_and_are_asserted_after_a_restart() {
    let app = TestApp::spawn().await;
    let Booted {
        mut charger,
        grant,
        url,
        password,
    } = booted(&app, "OCPP", "commands").await;
    charger.status(1, "Preparing").await;
    let now = app.clock.now();

    // Start without a transaction: a default profile at full power, and a remote start.
    command(
        &app,
        &mut charger,
        "OCPP",
        &grant,
        Command::Start {
            power_limit_w: None,
        },
        "k1",
    )
    .await
    .unwrap();
    assert_eq!(
        periods(&charger.profiles["TxDefaultProfile"]),
        vec![(0, 32.0)]
    );
    assert_eq!(charger.count("RemoteStartTransaction"), 1);
    let tx = charger
        .ok(
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "RESIFLEX", "meterStart": 0, "timestamp": now}),
        )
        .await["transactionId"]
        .as_i64()
        .unwrap();
    charger.status(1, "Charging").await;

    // A power limit during the transaction: the transaction's own profile, in amperes.
    command(
        &app,
        &mut charger,
        "OCPP",
        &grant,
        Command::SetPowerLimit { power_w: 3_680 },
        "k2",
    )
    .await
    .unwrap();
    let tx_profile = charger.profiles["TxProfile"].clone();
    assert_eq!(tx_profile["transactionId"].as_i64(), Some(tx));
    assert_eq!(periods(&tx_profile), vec![(0, 16.0)]);
    // The same key again: the first receipt, and nothing sent.
    let sent = charger.count("SetChargingProfile");
    let first = command(
        &app,
        &mut charger,
        "OCPP",
        &grant,
        Command::SetPowerLimit { power_w: 3_680 },
        "k3",
    )
    .await
    .unwrap();
    let repeat = command(
        &app,
        &mut charger,
        "OCPP",
        &grant,
        Command::SetPowerLimit { power_w: 3_680 },
        "k3",
    )
    .await
    .unwrap();
    assert_eq!(first, repeat);
    assert_eq!(charger.count("SetChargingProfile"), sent + 1);

    // A schedule while the transaction runs: the transaction's own profile follows the windows
    // (it replaces the limit above: same id, same stack level), checked with the composite
    // schedule.
    let windows = vec![
        ScheduleWindow {
            start: now + Duration::minutes(30),
            end: now + Duration::minutes(90),
            power_w: 7_360,
            setpoint_c: None,
        },
        ScheduleWindow {
            start: now + Duration::minutes(120),
            end: now + Duration::minutes(150),
            power_w: 2_300,
            setpoint_c: None,
        },
    ];
    command(
        &app,
        &mut charger,
        "OCPP",
        &grant,
        Command::Schedule { windows },
        "k4",
    )
    .await
    .unwrap();
    let scheduled = charger.profiles["TxProfile"].clone();
    assert_eq!(
        periods(&scheduled),
        vec![
            (0, 0.0),
            (1800, 32.0),
            (5400, 0.0),
            (7200, 10.0),
            (9000, 0.0)
        ]
    );
    assert_eq!(scheduled["chargingProfileKind"], "Absolute");
    assert_eq!(scheduled["transactionId"].as_i64(), Some(tx));
    assert_eq!(
        scheduled["stackLevel"], 5,
        "the highest stack level the charger allows"
    );
    assert_eq!(
        scheduled["chargingProfileId"], tx_profile["chargingProfileId"],
        "the same profile, replaced"
    );
    assert_eq!(charger.count("GetCompositeSchedule"), 1);

    // A limit of 0 for the running transaction.
    command(
        &app,
        &mut charger,
        "OCPP",
        &grant,
        Command::SetPowerLimit { power_w: 0 },
        "k5",
    )
    .await
    .unwrap();
    assert_eq!(periods(&charger.profiles["TxProfile"]), vec![(0, 0.0)]);

    // After a restart the charger reconnects without booting: its profiles are asserted again and
    // its status asked for.
    let held = charger.profiles.clone();
    drop(charger);
    let app = app.restart().await;
    // The restarted server listens on another port.
    let url = url.replace(url.split('/').nth(2).unwrap(), &app.addr.to_string());
    let mut charger = connect(&url, Some((&grant.subject, &password)), Some("ocpp1.6"))
        .await
        .unwrap();
    charger
        .serve_until(|r| r.iter().filter(|(a, _)| a == "TriggerMessage").count() == 2)
        .await;
    assert_eq!(charger.count("GetConfiguration"), 1);
    assert_eq!(
        charger.count("ChangeConfiguration"),
        0,
        "no boot, no new settings"
    );
    assert_eq!(
        charger.profiles, held,
        "the same profiles (same ids) asserted again"
    );
    let triggered: Vec<&Value> = charger
        .received
        .iter()
        .filter(|(a, _)| a == "TriggerMessage")
        .map(|(_, p)| &p["requestedMessage"])
        .collect();
    assert_eq!(
        triggered,
        [&json!("StatusNotification"), &json!("MeterValues")]
    );
    // The open transaction survived the restart: a new limit still goes to it.
    command(
        &app,
        &mut charger,
        "OCPP",
        &grant,
        Command::SetPowerLimit { power_w: 2_300 },
        "k6",
    )
    .await
    .unwrap();
    assert_eq!(
        charger.profiles["TxProfile"]["transactionId"].as_i64(),
        Some(tx)
    );
    // Keys used before the restart still return their receipts without acting.
    let sent = charger.count("SetChargingProfile");
    command(
        &app,
        &mut charger,
        "OCPP",
        &grant,
        Command::SetPowerLimit { power_w: 0 },
        "k5",
    )
    .await
    .unwrap();
    assert_eq!(charger.count("SetChargingProfile"), sent);
}

#[tokio::test]
async fn a_charger_that_refuses_purposes_and_zero_gets_the_fallbacks_recorded() {
    let app = TestApp::spawn().await;
    let (mut charger, grant) = booted_charger(&app, "OCPP", "fallbacks").await;
    charger.script.reject_purposes = vec!["TxDefaultProfile".into()];
    charger.script.reject_zero = true;
    charger.status(1, "Available").await;
    // No transaction and the default profile refused: the station-wide maximum is used.
    command(
        &app,
        &mut charger,
        "OCPP",
        &grant,
        Command::SetPowerLimit { power_w: 2_300 },
        "f1",
    )
    .await
    .unwrap();
    assert_eq!(
        periods(&charger.profiles["ChargePointMaxProfile"]),
        vec![(0, 10.0)]
    );
    // A limit of 0 refused: held at the minimum current instead, and remembered.
    command(
        &app,
        &mut charger,
        "OCPP",
        &grant,
        Command::SetPowerLimit { power_w: 0 },
        "f2",
    )
    .await
    .unwrap();
    assert_eq!(
        periods(&charger.profiles["ChargePointMaxProfile"]),
        vec![(0, 6.0)]
    );
    let stored = resiflex_store::ocpp::charge_point(&app.test_db.db, &grant.subject)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.quirks["rejectedPurposes"],
        json!(["TxDefaultProfile"])
    );
    assert_eq!(stored.quirks["zeroLimit"], "Minimum");
    // The next command goes straight to the purpose that works.
    let before = charger.count("SetChargingProfile");
    command(
        &app,
        &mut charger,
        "OCPP",
        &grant,
        Command::SetPowerLimit { power_w: 4_600 },
        "f3",
    )
    .await
    .unwrap();
    assert_eq!(charger.count("SetChargingProfile"), before + 1);
}

#[tokio::test]
async fn a_wallbox_is_held_at_zero_by_ending_its_transaction() {
    let app = TestApp::spawn().await;
    let (mut charger, grant) = booted_charger(&app, "OCPP_WALLBOX", "wallbox").await;
    charger.status(1, "Preparing").await;
    let tx = charger
        .ok(
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": app.clock.now()}),
        )
        .await["transactionId"]
        .as_i64()
        .unwrap();
    charger.status(1, "Charging").await;
    command(
        &app,
        &mut charger,
        "OCPP_WALLBOX",
        &grant,
        Command::SetPowerLimit { power_w: 0 },
        "w1",
    )
    .await
    .unwrap();
    let stop = charger
        .received
        .iter()
        .find(|(a, _)| a == "RemoteStopTransaction")
        .expect("a remote stop instead of a limit of 0");
    assert_eq!(stop.1["transactionId"].as_i64(), Some(tx));
    assert!(
        !charger
            .profiles
            .values()
            .any(|p| periods(p).iter().any(|(_, l)| *l == 0.0))
    );
}

fn window(
    from: chrono::DateTime<chrono::Utc>,
    minutes: (i64, i64),
    power_w: i64,
) -> ScheduleWindow {
    ScheduleWindow {
        start: from + Duration::minutes(minutes.0),
        end: from + Duration::minutes(minutes.1),
        power_w,
        setpoint_c: None,
    }
}

/// The profiles the charger holds for one purpose.
fn held_of<'a>(charger: &'a Charger, purpose: &str) -> Vec<&'a Value> {
    charger
        .held
        .iter()
        .map(|(_, p)| p)
        .filter(|p| p["chargingProfilePurpose"] == purpose)
        .collect()
}

#[tokio::test]
async fn a_plan_is_one_profile_per_version_a_boost_is_full_power_and_a_stop_hands_the_charger_back()
{
    let app = TestApp::spawn().await;
    let (mut charger, grant) = booted_charger(&app, "OCPP", "delivery").await;
    let provider = app.ocpp.provider("OCPP");
    assert_eq!(
        provider.plan_delivery(),
        resiflex_providers::PlanDelivery::Schedule,
        "a charger holds a whole plan"
    );
    charger.status(1, "Preparing").await;
    let now = app.clock.now();

    // Plugged in, no transaction yet: the plan is the default profile of the next transaction.
    let v1 = vec![
        window(now, (60, 120), 7_360),
        window(now, (180, 210), 3_680),
    ];
    command(
        &app,
        &mut charger,
        "OCPP",
        &grant,
        Command::Schedule { windows: v1 },
        "cp:1:1",
    )
    .await
    .unwrap();
    let first = charger.profiles["TxDefaultProfile"].clone();
    assert_eq!(
        periods(&first),
        vec![
            (0, 0.0),
            (3600, 32.0),
            (7200, 0.0),
            (10800, 16.0),
            (12600, 0.0)
        ]
    );
    assert!(first["transactionId"].is_null());
    assert_eq!(charger.count("GetCompositeSchedule"), 1, "checked");
    assert_eq!(
        charger.count("RemoteStartTransaction"),
        1,
        "the waiting car's transaction is started, to follow the profile"
    );

    // A new plan version replaces it: the same id and stack level, one profile held.
    app.clock.advance(Duration::minutes(10));
    let later = app.clock.now();
    let v2 = vec![window(later, (20, 50), 7_360)];
    command(
        &app,
        &mut charger,
        "OCPP",
        &grant,
        Command::Schedule { windows: v2 },
        "cp:2:2",
    )
    .await
    .unwrap();
    let second = charger.profiles["TxDefaultProfile"].clone();
    assert_eq!(periods(&second), vec![(0, 0.0), (1200, 32.0), (3000, 0.0)]);
    assert_eq!(second["chargingProfileId"], first["chargingProfileId"]);
    assert_eq!(second["stackLevel"], first["stackLevel"]);
    assert_eq!(
        second["chargingSchedule"]["startSchedule"],
        json!(later),
        "the new profile starts when it is sent"
    );
    assert_eq!(
        charger.held.len(),
        1,
        "profiles do not pile up: {:?}",
        charger.held
    );

    // The same plan version again (a retried command): nothing is sent.
    let sent = charger.count("SetChargingProfile");
    command(
        &app,
        &mut charger,
        "OCPP",
        &grant,
        Command::Schedule {
            windows: vec![window(later, (20, 50), 7_360)],
        },
        "cp:2:2",
    )
    .await
    .unwrap();
    assert_eq!(charger.count("SetChargingProfile"), sent);

    // A boost: full power at once, and the transaction started remotely.
    command(
        &app,
        &mut charger,
        "OCPP",
        &grant,
        Command::Start {
            power_limit_w: None,
        },
        "boost",
    )
    .await
    .unwrap();
    let boost = charger.profiles["TxDefaultProfile"].clone();
    assert_eq!(periods(&boost), vec![(0, 32.0)]);
    assert_eq!(charger.count("RemoteStartTransaction"), 3);
    assert_eq!(charger.held.len(), 1);
    let tx = charger
        .ok(
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "RESIFLEX", "meterStart": 0, "timestamp": later}),
        )
        .await["transactionId"]
        .as_i64()
        .unwrap();
    charger.status(1, "Charging").await;

    // A plan during the transaction: the transaction's own profile, which the charger follows
    // over the default one.
    let v3 = vec![window(later, (30, 60), 3_680)];
    command(
        &app,
        &mut charger,
        "OCPP",
        &grant,
        Command::Schedule { windows: v3 },
        "cp:3:3",
    )
    .await
    .unwrap();
    let tx_plan = charger.profiles["TxProfile"].clone();
    assert_eq!(tx_plan["transactionId"].as_i64(), Some(tx));
    assert_eq!(periods(&tx_plan), vec![(0, 0.0), (1800, 16.0), (3600, 0.0)]);
    assert_eq!(charger.in_force(), Some(&tx_plan));
    assert_eq!(held_of(&charger, "TxProfile").len(), 1);
    // A boost during the transaction replaces the transaction's profile.
    command(
        &app,
        &mut charger,
        "OCPP",
        &grant,
        Command::Start {
            power_limit_w: None,
        },
        "boost-2",
    )
    .await
    .unwrap();
    assert_eq!(periods(&charger.profiles["TxProfile"]), vec![(0, 32.0)]);
    assert_eq!(held_of(&charger, "TxProfile").len(), 1);
    assert_eq!(
        charger.count("RemoteStartTransaction"),
        3,
        "the transaction runs already"
    );

    // Stop (a suspend, a cancelled boost): ResiFlex's profiles are cleared, nothing else.
    let cleared_before = charger.count("ClearChargingProfile");
    command(&app, &mut charger, "OCPP", &grant, Command::Stop, "suspend")
        .await
        .unwrap();
    assert!(charger.held.is_empty(), "{:?}", charger.held);
    let clears: Vec<&Value> = charger
        .received
        .iter()
        .filter(|(a, _)| a == "ClearChargingProfile")
        .skip(cleared_before)
        .map(|(_, p)| p)
        .collect();
    assert!(!clears.is_empty());
    for clear in clears {
        let id = clear["id"]
            .as_i64()
            .expect("only ResiFlex's own profiles, by id");
        assert!((4_710_001..=4_710_003).contains(&id), "{clear}");
    }
    assert_eq!(
        charger.count("RemoteStopTransaction"),
        0,
        "the transaction goes on"
    );
    assert!(
        resiflex_store::ocpp::profiles(&app.test_db.db, &grant.subject)
            .await
            .unwrap()
            .is_empty(),
        "nothing is asserted again after a reconnect"
    );
}

#[tokio::test]
async fn an_unanswered_call_is_retried_then_fails_cleanly_and_the_next_call_goes_through() {
    let app = TestApp::spawn_with(|config| {
        config.ocpp.call_timeout_secs = 1;
        config.ocpp.call_attempts = 3;
    })
    .await;
    let (mut charger, grant) = booted_charger(&app, "OCPP", "timeouts").await;
    charger.status(1, "Available").await;
    charger.script.silent = vec!["SetChargingProfile".into()];
    let provider = app.ocpp.provider("OCPP");
    let central = app.ocpp.clone();
    let now = app.clock.now();
    let limit = Command::SetPowerLimit { power_w: 2_300 };
    let started = std::time::Instant::now();
    let (sent, reset, reset_at) = charger
        .serve_during(async {
            let send = provider.send(&grant, &grant.subject, &limit, "t1", now);
            // A second call while the first waits: it queues behind it (one call in flight).
            let reset = async {
                tokio::time::sleep(StdDuration::from_millis(300)).await;
                let answer = central
                    .reset(&grant.subject, resiflex_ocpp::ResetKind::Soft)
                    .await;
                (answer, started.elapsed())
            };
            let (sent, (reset, reset_at)) = tokio::join!(send, reset);
            (sent, reset, reset_at)
        })
        .await;
    let failed_after = started.elapsed();
    assert_eq!(
        sent.unwrap_err(),
        resiflex_providers::ProviderError::Unreachable,
        "three unanswered attempts make an unreachable charger"
    );
    assert!(
        failed_after >= StdDuration::from_secs(3),
        "three attempts of one second: {failed_after:?}"
    );
    assert_eq!(reset, Ok(true), "the queued call went through afterwards");
    assert!(reset_at >= StdDuration::from_secs(3), "{reset_at:?}");
    let actions: Vec<&str> = charger.received.iter().map(|(a, _)| a.as_str()).collect();
    let tail = &actions[actions.len() - 4..];
    assert_eq!(
        tail,
        [
            "SetChargingProfile",
            "SetChargingProfile",
            "SetChargingProfile",
            "Reset"
        ],
        "each attempt once, and nothing else while one is in flight"
    );
    let ids = charger.unanswered.clone();
    assert_eq!(ids.len(), 3);
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2],
        "each attempt has its own message id: {ids:?}"
    );
    // A late answer to an abandoned attempt is ignored, and the connection stays.
    charger
        .send_text(&json!([3, ids[0], {"status": "Accepted"}]).to_string())
        .await;
    assert!(charger.ok("Heartbeat", json!({})).await["currentTime"].is_string());
    assert!(
        resiflex_store::ocpp::profiles(&app.test_db.db, &grant.subject)
            .await
            .unwrap()
            .is_empty(),
        "nothing was recorded for the failed call"
    );
    // The charger answers again: the same command (no receipt was kept) goes through.
    charger.script.silent.clear();
    command(&app, &mut charger, "OCPP", &grant, limit, "t1")
        .await
        .unwrap();
    assert_eq!(
        periods(&charger.profiles["TxDefaultProfile"]),
        vec![(0, 10.0)]
    );
    // A charger that is gone fails at once.
    drop(charger);
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    let quick = std::time::Instant::now();
    assert_eq!(
        app.ocpp
            .reset(&grant.subject, resiflex_ocpp::ResetKind::Soft)
            .await,
        Err(resiflex_ocpp::CallFailure::NotConnected)
    );
    assert!(quick.elapsed() < StdDuration::from_secs(1));
}

#[tokio::test]
async fn an_unavailable_charger_is_asked_back_into_service_and_an_operator_can_reset_it() {
    let app = TestApp::spawn().await;
    let Booted {
        mut charger,
        grant,
        url,
        password,
    } = booted(&app, "OCPP", "availability").await;
    let id = grant.subject.clone();
    // Unavailable by itself after onboarding: asked back into service, once per connection.
    charger.status(1, "Unavailable").await;
    charger
        .serve_until(|r| r.iter().any(|(a, _)| a == "ChangeAvailability"))
        .await;
    let asked = charger
        .received
        .iter()
        .find(|(a, _)| a == "ChangeAvailability")
        .unwrap()
        .1
        .clone();
    assert_eq!(asked, json!({"connectorId": 1, "type": "Operative"}));
    charger.status(1, "Unavailable").await;
    charger.serve_for(StdDuration::from_millis(300)).await;
    assert_eq!(charger.count("ChangeAvailability"), 1, "not asked twice");

    // An operator takes the station out of service: ResiFlex leaves it so.
    let central = app.ocpp.clone();
    let answer = charger
        .serve_during(central.change_availability(&id, 0, false))
        .await;
    assert_eq!(answer, Ok(resiflex_ocpp::AvailabilityAnswer::Accepted));
    assert_eq!(
        charger.received.last().unwrap(),
        &(
            "ChangeAvailability".to_owned(),
            json!({"connectorId": 0, "type": "Inoperative"})
        )
    );
    charger.status(0, "Unavailable").await;
    charger.status(1, "Unavailable").await;
    charger.serve_for(StdDuration::from_millis(300)).await;
    assert_eq!(charger.count("ChangeAvailability"), 2);
    let answer = charger
        .serve_during(central.change_availability(&id, 0, true))
        .await;
    assert_eq!(answer, Ok(resiflex_ocpp::AvailabilityAnswer::Accepted));
    assert_eq!(charger.received.last().unwrap().1["type"], "Operative");

    // An operator resets the charger; it reboots, and after the new connection an unavailable
    // connector is asked back again.
    let reset = charger
        .serve_during(resiflex::admin::reset_charge_point(&app.ocpp, &id, false))
        .await
        .unwrap();
    assert_eq!(
        reset,
        json!({"chargePointId": id, "type": "Soft", "accepted": true})
    );
    assert_eq!(
        charger.received.last().unwrap(),
        &("Reset".to_owned(), json!({"type": "Soft"}))
    );
    let hard = charger
        .serve_during(resiflex::admin::reset_charge_point(&app.ocpp, &id, true))
        .await
        .unwrap();
    assert_eq!(hard["type"], "Hard");
    assert_eq!(charger.received.last().unwrap().1, json!({"type": "Hard"}));
    drop(charger);
    let mut charger = connect(&url, Some((&id, &password)), Some("ocpp1.6"))
        .await
        .unwrap();
    assert_eq!(charger.boot().await["status"], "Accepted");
    charger.status(1, "Unavailable").await;
    charger
        .serve_until(|r| r.iter().any(|(a, _)| a == "ChangeAvailability"))
        .await;
    // A charger that is not connected cannot be reset.
    drop(charger);
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    assert!(
        resiflex::admin::reset_charge_point(&app.ocpp, &id, false)
            .await
            .is_err()
    );
    assert!(
        resiflex::admin::reset_charge_point(&app.ocpp, "RFX-NOBODY", false)
            .await
            .is_err()
    );
}

/// The power a charger draws at `at` under the profile in force, with a car that takes 7.4 kW.
fn drawn_w(charger: &Charger, at: chrono::DateTime<chrono::Utc>) -> i64 {
    let Some(profile) = charger.in_force() else {
        return 7_400;
    };
    let schedule = &profile["chargingSchedule"];
    let start: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(schedule["startSchedule"].clone()).unwrap();
    let offset = (at - start).num_seconds();
    let limit = periods(profile)
        .into_iter()
        .take_while(|(from, _)| *from <= offset)
        .last()
        .map_or(0.0, |(_, limit)| limit);
    let watts = if schedule["chargingRateUnit"] == "W" {
        limit
    } else {
        limit * 230.0
    };
    (watts.round() as i64).min(7_400)
}

/// Start and end times of the windows where a profile allows power, adjacent ones joined.
fn charging_windows(profile: &Value) -> Vec<(String, String)> {
    let start: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(profile["chargingSchedule"]["startSchedule"].clone()).unwrap();
    let at = |offset: i64| {
        (start + Duration::seconds(offset)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let list = periods(profile);
    let mut windows: Vec<(String, String)> = Vec::new();
    for (i, (from, limit)) in list.iter().enumerate() {
        if *limit <= 0.0 {
            continue;
        }
        let to = list
            .get(i + 1)
            .map(|(next, _)| *next)
            .expect("a plan ends in no power");
        match windows.last_mut() {
            Some(last) if last.1 == at(*from) => last.1 = at(to),
            _ => windows.push((at(*from), at(to))),
        }
    }
    windows
}

/// Planned dispatches as windows, adjacent ones joined (times normalised to whole seconds, UTC).
fn dispatch_windows(dispatches: &[Value]) -> Vec<(String, String)> {
    let norm = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let mut windows: Vec<(String, String)> = Vec::new();
    for d in dispatches {
        let (start, end) = (norm(&d["start"]), norm(&d["end"]));
        match windows.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => windows.push((start, end)),
        }
    }
    windows
}

fn decimal(value: &Value) -> f64 {
    value
        .as_str()
        .map_or_else(|| value.as_f64().unwrap(), |s| s.parse().unwrap())
}

#[tokio::test]
async fn a_charger_onboarded_through_the_wizard_is_smart_charged_by_its_plan() {
    let app = TestApp::spawn().await;
    let db = app.test_db.db.clone();
    let mut c = customer(&app).await;

    // Onboarding: an Easee One (plain OCPP) through the wizard; it connects, boots and reports
    // a car plugged in.
    let w = to_connection_details_of(&app, &c, "Easee", "cp-easee-one").await;
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
    charger.script.max_periods = "48".into();
    assert_eq!(charger.boot().await["status"], "Accepted");
    charger
        .serve_until(|r| r.iter().any(|(a, _)| a == "ChangeConfiguration"))
        .await;
    charger.status(1, "Preparing").await;
    let done = c.fetch(&app, &w).await;
    assert_eq!(done["isComplete"], true, "{done}");
    let device_id = done["deviceId"].as_str().unwrap().to_owned();
    let device = resiflex_store::devices::device_by_id(&db, &device_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(device.provider, resiflex_domain::device::Provider::Ocpp);

    // A day-ahead tariff for the home, and the control loop over the server's chargers.
    let now = app.clock.now();
    let account = resiflex_store::accounts::account_by_number(&db, &c.account)
        .await
        .unwrap()
        .unwrap();
    let tariff = resiflex_domain::tariff::Tariff {
        code: "AGILE-OCPP".into(),
        name: "Agile".into(),
        currency: "GBP".into(),
        time_zone: "Europe/London".into(),
        slot_minutes: 30,
    };
    let rates =
        resiflex_domain::tariff::generate_day_ahead(&tariff, now.date_naive(), 3, 11).unwrap();
    let imported = resiflex_store::tariffs::import_rates(&db, &tariff, None, &rates, now)
        .await
        .unwrap();
    resiflex_store::tariffs::assign_tariff_to_account(
        &db,
        account.id,
        imported.tariff.id,
        now - Duration::days(1),
        now,
    )
    .await
    .unwrap();
    let mut registry = resiflex_providers::ProviderRegistry::default();
    resiflex::providers::register_ocpp(&mut registry, &app.ocpp);
    let control = resiflex_control::ControlLoop::new(
        db.clone(),
        std::sync::Arc::new(registry),
        std::sync::Arc::new(app.clock.clone()),
        app.config.control,
    );
    charger.serve_during(control.tick()).await.unwrap();

    // The customer's preferences: 80 % by 07:30 every day. The plan goes to the charger at once.
    let schedules: Vec<Value> = [
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
        "SUNDAY",
    ]
    .iter()
    .map(|day| json!({"dayOfWeek": day, "time": "07:30", "max": 80}))
    .collect();
    charger
        .serve_during(c.call(
            &app,
            "mutation($i: SmartFlexDevicePreferencesInput!) { setDevicePreferences(input: $i) { id } }",
            json!({"i": {"deviceId": device_id, "mode": "CHARGE", "unit": "PERCENTAGE", "schedules": schedules}}),
        ))
        .await;
    charger.serve_during(control.tick()).await.unwrap();

    const PLANNED: &str = "query($d: String!) { flexPlannedDispatches(deviceId: $d) { start end type energyAddedKwh } }";
    let planned =
        c.call(&app, PLANNED, json!({"d": device_id})).await["data"]["flexPlannedDispatches"]
            .as_array()
            .unwrap()
            .clone();
    assert!(!planned.is_empty(), "the charger is planned");
    assert!(planned.iter().all(|d| d["type"] == "SMART"), "{planned:?}");
    let planned_kwh: f64 = planned.iter().map(|d| decimal(&d["energyAddedKwh"])).sum();

    // The charger holds one profile that follows the plan: power in the planned windows, none
    // outside them; the car's transaction was started to follow it.
    assert_eq!(charger.held.len(), 1, "{:?}", charger.held);
    let profile = charger.profiles["TxDefaultProfile"].clone();
    assert_eq!(charging_windows(&profile), dispatch_windows(&planned));
    assert!(charger.count("GetCompositeSchedule") >= 1);
    assert_eq!(charger.count("RemoteStartTransaction"), 1);
    let tx = charger
        .ok(
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "RESIFLEX", "meterStart": 0, "timestamp": now}),
        )
        .await["transactionId"]
        .as_i64()
        .unwrap();

    // The night: every quarter of an hour the charger reports its meter and the loop ticks. It
    // draws power only where its profile allows, and that is where the plan's dispatches are.
    let last_end =
        chrono::DateTime::parse_from_rfc3339(planned.last().unwrap()["end"].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc);
    let mut energy_wh = 0_i64;
    let mut status = "";
    let mut charged_quarters = 0;
    let mut seen_in_progress = false;
    while app.clock.now() < last_end + Duration::minutes(30) {
        let t = app.clock.now();
        let power = drawn_w(&charger, t);
        let now_status = if power > 0 {
            "Charging"
        } else {
            "SuspendedEVSE"
        };
        if now_status != status {
            charger.status(1, now_status).await;
            status = now_status;
        }
        charger
            .ok(
                "MeterValues",
                json!({"connectorId": 1, "transactionId": tx, "meterValue": [{"timestamp": t, "sampledValue": [
                    {"value": energy_wh.to_string(), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                    {"value": power.to_string(), "measurand": "Power.Active.Import", "unit": "W"}
                ]}]}),
            )
            .await;
        charger.serve_during(control.tick()).await.unwrap();
        c.renew(&app).await;
        let power = drawn_w(&charger, t);
        if power > 0 {
            charged_quarters += 1;
            let planned = c.call(&app, PLANNED, json!({"d": device_id})).await["data"]
                ["flexPlannedDispatches"]
                .as_array()
                .unwrap()
                .clone();
            let within = planned.iter().any(|d| {
                let at =
                    |f: &str| chrono::DateTime::parse_from_rfc3339(d[f].as_str().unwrap()).unwrap();
                at("start") <= t && t < at("end")
            });
            assert!(within, "charging at {t} outside the plan: {planned:?}");
            let state = c
                .call(
                    &app,
                    "query($n: String!, $d: String) { devices(accountNumber: $n, deviceId: $d) { status { currentState } } }",
                    json!({"n": c.account, "d": device_id}),
                )
                .await;
            seen_in_progress |= state["data"]["devices"][0]["status"]["currentState"]
                == "SMART_CONTROL_IN_PROGRESS";
        }
        app.clock.advance(Duration::minutes(15));
        energy_wh += power / 4;
    }
    assert!(charged_quarters > 0);
    assert!(
        seen_in_progress,
        "the device shows smart control in progress"
    );
    let charged_kwh = energy_wh as f64 / 1000.0;
    assert!(
        (charged_kwh - planned_kwh).abs() <= 0.05 * planned_kwh + 0.5,
        "charged {charged_kwh} kWh, planned {planned_kwh} kWh"
    );

    // The car leaves: the transaction ends and the session closes.
    let end = app.clock.now();
    charger
        .ok(
            "MeterValues",
            json!({"connectorId": 1, "transactionId": tx, "meterValue": [{"timestamp": end, "sampledValue": [
                {"value": energy_wh.to_string(), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                {"value": "0", "measurand": "Power.Active.Import", "unit": "W"}
            ]}]}),
        )
        .await;
    charger
        .ok(
            "StopTransaction",
            json!({"transactionId": tx, "meterStop": energy_wh, "timestamp": end, "reason": "EVDisconnected"}),
        )
        .await;
    charger.status(1, "Available").await;
    charger.serve_during(control.tick()).await.unwrap();
    app.clock.advance(Duration::minutes(15));
    charger.ok("Heartbeat", json!({})).await;
    charger.serve_during(control.tick()).await.unwrap();
    c.renew(&app).await;

    // What happened, over HTTP: the completed dispatches carry the energy the meter showed ...
    let completed = c
        .call(
            &app,
            "query($n: String!) { completedDispatches(accountNumber: $n) { start end delta meta { source location } } }",
            json!({"n": c.account}),
        )
        .await["data"]["completedDispatches"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!completed.is_empty(), "dispatches completed");
    for d in &completed {
        assert_eq!(
            d["meta"],
            json!({"source": "smart-charge", "location": "AT_HOME"})
        );
    }
    let delivered: f64 = completed.iter().map(|d| -decimal(&d["delta"])).sum();
    assert!(
        (delivered - charged_kwh).abs() < 0.05,
        "completed {delivered} kWh, metered {charged_kwh} kWh: {completed:?}"
    );
    assert_eq!(
        dispatch_windows(&completed.iter().rev().cloned().collect::<Vec<_>>()),
        dispatch_windows(&planned),
        "the plan was carried out as planned"
    );
    // ... and the charging session the energy of the night.
    let sessions = c
        .call(
            &app,
            "query($n: String!, $d: String) { devices(accountNumber: $n, deviceId: $d) { __typename ... on SmartFlexChargePoint { chargingSessions(first: 5) { edges { node { start end energyAdded { value unit } ... on SmartFlexChargingSession { type } } } } } } }",
            json!({"n": c.account, "d": device_id}),
        )
        .await;
    let device = &sessions["data"]["devices"][0];
    assert_eq!(device["__typename"], "SmartFlexChargePoint", "{sessions}");
    let edges = device["chargingSessions"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1, "{sessions}");
    let session = &edges[0]["node"];
    assert_eq!(session["type"], "SMART", "{session}");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(session["start"].as_str().unwrap()).unwrap(),
        now
    );
    assert!(session["end"].is_string(), "closed: {session}");
    assert!(
        (decimal(&session["energyAdded"]["value"]) - charged_kwh).abs() < 0.05,
        "{session}"
    );
}
