//! The onboarding wizard end to end over HTTP: a customer brings a simulated EV through every step,
//! including the vendor's consent page and a test charge, and every wizard error code is produced.

use crate::harness;

use harness::onboarding::current;
use harness::scenario;

use chrono::Duration;
use harness::{TestApp, error_code};
use resiflex_domain::Clock as _;
use serde_json::{Value, json};

const WIZARD_FIELDS: &str = "wizard { id isComplete deviceId deviceType completedSteps { __typename id } currentStep { __typename id \
    ... on SelectDeviceType { options { id label } } \
    ... on SelectVehicleMake { options { id vehicleMake } } \
    ... on SelectVehicleVariant { options { id electricVehicleVariant { make model batterySize } } } \
    ... on SelectChargePointMake { options { id } } \
    ... on SelectChargePointVariant { options { id electricChargePointVariant { make model powerOutput } } } \
    ... on SelectBatteryMake { options { id } } \
    ... on SelectBatteryVariant { options { id } } \
    ... on SelectInverterMake { options { id } } \
    ... on SelectInverterSystemType { options { id } } \
    ... on SelectVehicleOrChargePoint { selectedIntegration } \
    ... on SelectHeatPumpMake { options { id } } \
    ... on SelectHeatPumpVariant { options { id } } \
    ... on SelectSessionDevice { options { id } } \
    ... on AuthFlow { authorizationUri redirectUri error { message } } \
    ... on UserInputRequired { userInputs { key isRequired regex } } \
    ... on TestCharge { isReady isStarted error { message errorType } } \
    ... on TerminalError { message } } }";

/// A customer with an account, signed in.
struct Customer {
    app: TestApp,
    token: String,
    account: String,
    property: i64,
}

impl Customer {
    async fn new() -> Customer {
        Self::on(TestApp::spawn().await).await
    }

    async fn on(app: TestApp) -> Customer {
        let c = scenario::customer(&app, "Org", "ev@example.com").await;
        Customer {
            app,
            token: format!("JWT {}", c.token),
            account: c.account_number,
            property: c.property_id,
        }
    }

    async fn call(&self, query: &str, variables: Value) -> Value {
        self.app
            .graphql_as(Some(&self.token), query, variables)
            .await
    }

    async fn start(&self) -> Value {
        let body = self
            .call(
                &format!("mutation($a: String!, $p: Int!) {{ startSmartFlexOnboarding(input: {{accountNumber: $a, propertyId: $p}}) {{ {WIZARD_FIELDS} }} }}"),
                json!({"a": self.account, "p": self.property}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["startSmartFlexOnboarding"]["wizard"].clone()
    }

    async fn fetch(&self, wizard: &Value) -> Value {
        let body = self
            .call(
                &format!(
                    "query($w: ID!) {{ smartFlexOnboardingWizard(wizardId: $w) {{ {} }} }}",
                    &WIZARD_FIELDS[9..WIZARD_FIELDS.len() - 2]
                ),
                json!({"w": wizard["id"]}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["smartFlexOnboardingWizard"].clone()
    }

    /// Runs a step mutation; returns the whole body (for error checks).
    async fn step(&self, mutation: &str, input: Value) -> Value {
        self.call(
            &format!(
                "mutation($i: {}) {{ {mutation}(input: $i) {{ {WIZARD_FIELDS} }} }}",
                input_type(mutation)
            ),
            json!({"i": input}),
        )
        .await
    }

    async fn ok_step(&self, mutation: &str, input: Value) -> Value {
        let body = self.step(mutation, input).await;
        assert!(body["errors"].is_null(), "{mutation}: {body}");
        body["data"][mutation]["wizard"].clone()
    }

    async fn select(&self, wizard: &Value, option: &str) -> Value {
        let step = &wizard["currentStep"];
        self.ok_step(
            "selectFromListForSmartFlexOnboarding",
            json!({"wizardId": wizard["id"], "stepId": step["id"], "selectedOption": option}),
        )
        .await
    }
}

fn input_type(mutation: &str) -> &'static str {
    match mutation {
        "selectFromListForSmartFlexOnboarding" => "SelectFromListInput!",
        "selectVehicleOrChargePointForSmartFlexOnboarding" => "SelectVehicleOrChargePointInput!",
        "completeAuthFlowForSmartFlexOnboarding" => "CompleteAuthFlowInput!",
        "completeUserInputRequiredForSmartFlexOnboarding" => "CompleteUserInputRequiredInput!",
        "cancelSmartFlexOnboarding" => "WizardInput!",
        _ => "StepInput!",
    }
}

/// Follows the vendor's consent page like a browser: open it, press a button, read the redirect.
async fn consent(app: &TestApp, authorization_uri: &str, decision: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client.get(authorization_uri).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Allow") && html.contains("Deny"), "{html}");
    let query: Vec<(String, String)> = authorization_uri
        .split_once('?')
        .unwrap()
        .1
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (k.to_owned(), percent_decode(v))
        })
        .collect();
    let get = |key: &str| query.iter().find(|(k, _)| k == key).unwrap().1.clone();
    let answer = client
        .post(authorization_uri.split('?').next().unwrap())
        .form(&[
            ("state", get("state")),
            ("redirect_uri", get("redirect_uri")),
            ("login", "eve".into()),
            ("decision", decision.into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&app.base),
        "the vendor sends the customer back to ResiFlex: {location}"
    );
    location
}

fn percent_decode(text: &str) -> String {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Takes a wizard from the start to the `AuthFlow` step for a generally available EV.
async fn to_auth_flow(c: &Customer) -> Value {
    let w = c.start().await;
    assert_eq!(current(&w), "SelectDeviceType");
    let w = c.select(&w, "ELECTRIC_VEHICLES").await;
    assert_eq!(current(&w), "SelectVehicleMake");
    assert!(
        w["currentStep"]["options"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["vehicleMake"] == "Tesla")
    );
    let w = c.select(&w, "Tesla").await;
    assert_eq!(current(&w), "SelectVehicleVariant");
    let variant = w["currentStep"]["options"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let w = c.select(&w, &variant).await;
    assert_eq!(current(&w), "SelectChargePointMake");
    let w = c.select(&w, "NONE").await;
    assert_eq!(current(&w), "AuthFlow", "{w}");
    w
}

fn vin_of(c: &Customer, provider: &str) -> String {
    let sim = c
        .app
        .sandbox
        .simulator(provider)
        .unwrap()
        .simulator()
        .clone();
    let devices = sim.login_devices("eve").unwrap();
    devices[0].vin.clone().unwrap()
}

#[tokio::test]
async fn an_ev_is_onboarded_through_every_step() {
    let c = Customer::new().await;
    let w = to_auth_flow(&c).await;
    let uri = w["currentStep"]["authorizationUri"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        uri.contains("/sandbox/TESLA/authorize") || uri.contains("/sandbox/"),
        "{uri}"
    );

    // Declining first shows an error on the same step.
    let declined = consent(&c.app, &uri, "deny").await;
    let w = c
        .ok_step("completeAuthFlowForSmartFlexOnboarding", json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "continuationUri": declined}))
        .await;
    assert_eq!(current(&w), "AuthFlow");
    assert!(w["currentStep"]["error"]["message"].is_string());

    let allowed = consent(&c.app, &uri, "allow").await;
    let w = c
        .ok_step("completeAuthFlowForSmartFlexOnboarding", json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "continuationUri": allowed}))
        .await;
    assert_eq!(current(&w), "UserInputRequired", "{w}");
    let provider = uri
        .split("/sandbox/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let vin = vin_of(&c, &provider);
    let w = c
        .ok_step(
            "completeUserInputRequiredForSmartFlexOnboarding",
            json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "userInput": [{"key": "vin", "value": vin.to_lowercase()}]}),
        )
        .await;
    assert_eq!(current(&w), "TestCharge");
    assert_eq!(w["currentStep"]["isReady"], true);
    let w = c
        .ok_step(
            "startTestChargeForSmartFlexOnboarding",
            json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"]}),
        )
        .await;
    assert_eq!(current(&w), "WaitForTransition", "{w}");

    c.app.clock.advance(Duration::minutes(1));
    let w = c.fetch(&w).await;
    assert_eq!(w["isComplete"], true, "{w}");
    assert!(w["currentStep"].is_null());
    let steps: Vec<&str> = w["completedSteps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["__typename"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "SelectDeviceType",
            "SelectVehicleMake",
            "SelectVehicleVariant",
            "SelectChargePointMake",
            "AuthFlow",
            "UserInputRequired",
            "TestCharge",
            "WaitForTransition",
            "SmartFlexOnboardingDeviceRegistration"
        ][..steps.len()]
    );
    let device = store_device(&c, w["deviceId"].as_str().unwrap()).await;
    assert_eq!(
        (device.lifecycle.as_str(), device.state.as_str()),
        ("LIVE", "SMART_CONTROL_CAPABLE")
    );
    assert_eq!(device.vin.as_deref(), Some(vin.as_str()));
    let id = device.id.clone();

    // The device as clients see it: live, and capable of smart control while plugged in at home.
    assert_eq!(
        c.state(&id).await,
        json!({"current": "LIVE", "currentState": "SMART_CONTROL_CAPABLE", "isSuspended": false})
    );

    // Preferences round-trip.
    let body = c
        .call(
            r#"mutation($d: ID!) { setDevicePreferences(input: {deviceId: $d, mode: CHARGE, unit: PERCENTAGE,
                schedules: [{dayOfWeek: MONDAY, time: "07:30", max: "80.0"}, {dayOfWeek: SATURDAY, time: "09:00", max: 60}]}) { id } }"#,
            json!({"d": id}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let body = c
        .call(
            "query($a: String!, $d: String) { devices(accountNumber: $a, deviceId: $d) { preferences { mode unit targetType schedules { dayOfWeek time max } } } }",
            json!({"a": c.account, "d": id}),
        )
        .await;
    let preferences = &body["data"]["devices"][0]["preferences"];
    assert_eq!(
        (preferences["mode"].as_str(), preferences["unit"].as_str()),
        (Some("CHARGE"), Some("PERCENTAGE"))
    );
    let schedules = preferences["schedules"].as_array().unwrap();
    assert!(
        schedules.iter().any(|s| s["dayOfWeek"] == "MONDAY"
            && s["time"] == "07:30:00"
            && s["max"].as_f64() == Some(80.0)),
        "{body}"
    );

    // Suspend: smart control off, and a boost is refused for that reason.
    c.control(&id, "SUSPEND").await;
    assert_eq!(c.state(&id).await["currentState"], "SMART_CONTROL_OFF");
    let body = c.boost(&id, "BOOST").await;
    assert_eq!(error_code(&body), "KT-CT-4357");
    assert_eq!(
        body["errors"][0]["extensions"]["boostChargeRefusalReasons"],
        "BC_DEVICE_SUSPENDED"
    );
    c.control(&id, "UNSUSPEND").await;
    assert_eq!(
        c.state(&id).await,
        json!({"current": "LIVE", "currentState": "SMART_CONTROL_CAPABLE", "isSuspended": false})
    );

    // A boost charges now: the simulated car draws power; cancel stops it.
    let body = c.boost(&id, "BOOST").await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(c.state(&id).await["currentState"], "BOOSTING");
    let body = c.boost(&id, "CANCEL").await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(c.state(&id).await["currentState"], "SMART_CONTROL_CAPABLE");

    // De-authentication retires the device and keeps its history.
    c.deauthenticate(&id).await;
    assert_eq!(c.state(&id).await["current"], "RETIRED");
    assert_eq!(c.state(&id).await["currentState"], "RETIRED");
}

async fn store_device(c: &Customer, id: &str) -> resiflex_store::devices::Device {
    resiflex_store::devices::device_by_id(&c.app.test_db.db, id)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_restart_resumes_a_wizard_and_a_test_charge() {
    let c = Customer::new().await;
    let w = to_auth_flow(&c).await;
    let uri = w["currentStep"]["authorizationUri"]
        .as_str()
        .unwrap()
        .to_owned();
    let allowed = consent(&c.app, &uri, "allow").await;
    let w = c
        .ok_step("completeAuthFlowForSmartFlexOnboarding", json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "continuationUri": allowed}))
        .await;
    let provider = uri
        .split("/sandbox/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let vin = vin_of(&c, &provider);

    // Restart in the middle of the wizard.
    let Customer {
        app,
        token,
        account,
        property,
    } = c;
    let c = Customer {
        app: app.restart().await,
        token,
        account,
        property,
    };
    let w = c.fetch(&w).await;
    assert_eq!(
        current(&w),
        "UserInputRequired",
        "resumed where it stopped: {w}"
    );
    let w = c
        .ok_step(
            "completeUserInputRequiredForSmartFlexOnboarding",
            json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "userInput": [{"key": "vin", "value": vin}]}),
        )
        .await;
    let w = c
        .ok_step(
            "startTestChargeForSmartFlexOnboarding",
            json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"]}),
        )
        .await;
    assert_eq!(current(&w), "WaitForTransition");

    // Restart in the middle of the test charge: the simulated car kept charging.
    let Customer {
        app,
        token,
        account,
        property,
    } = c;
    let c = Customer {
        app: app.restart().await,
        token,
        account,
        property,
    };
    c.app.clock.advance(Duration::minutes(1));
    let w = c.fetch(&w).await;
    assert_eq!(w["isComplete"], true, "{w}");
    let device = store_device(&c, w["deviceId"].as_str().unwrap()).await;
    assert_eq!(device.lifecycle, resiflex_domain::device::Lifecycle::Live);
}

#[tokio::test]
async fn a_heat_pump_is_onboarded_without_a_test_charge() {
    let c = Customer::new().await;
    let w = c.start().await;
    let w = c.select(&w, "HEAT_PUMPS").await;
    let make = w["currentStep"]["options"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let w = c.select(&w, &make).await;
    let variant = w["currentStep"]["options"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let w = c.select(&w, &variant).await;
    if current(&w) == "UnsupportedCombination" {
        return; // The first heat pump listed has no live integration.
    }
    assert_eq!(current(&w), "AuthFlow", "{w}");
    let uri = w["currentStep"]["authorizationUri"]
        .as_str()
        .unwrap()
        .to_owned();
    let allowed = consent(&c.app, &uri, "allow").await;
    let w = c
        .ok_step("completeAuthFlowForSmartFlexOnboarding", json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "continuationUri": allowed}))
        .await;
    assert_eq!(w["isComplete"], true, "{w}");
    let device = store_device(&c, w["deviceId"].as_str().unwrap()).await;
    assert_eq!(
        (device.kind.as_str(), device.lifecycle.as_str()),
        ("HEAT_PUMP", "LIVE")
    );
    assert_eq!(c.state(&device.id).await["current"], "LIVE");
    let body = c
        .call(
            r#"mutation($d: ID!) { setDevicePreferences(input: {deviceId: $d, mode: HEAT, unit: CELSIUS,
                schedules: [{dayOfWeek: MONDAY, time: "07:00", min: 20, max: 24}]}) { id } }"#,
            json!({"d": device.id}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    c.control(&device.id, "SUSPEND").await;
    assert_eq!(
        c.state(&device.id).await["currentState"],
        "SMART_CONTROL_OFF"
    );
    c.deauthenticate(&device.id).await;
    assert_eq!(c.state(&device.id).await["current"], "RETIRED");
}

#[tokio::test]
async fn every_wizard_error_code_is_produced() {
    let c = Customer::new().await;

    // 4321: a property that is not the account's.
    let body = c
        .call(
            "mutation($a: String!) { startSmartFlexOnboarding(input: {accountNumber: $a, propertyId: 999999}) { wizard { id } } }",
            json!({"a": c.account}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4321");

    // 4371: an unknown wizard.
    let body = c
        .call(
            "{ smartFlexOnboardingWizard(wizardId: \"nope\") { id } }",
            Value::Null,
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4371");

    let w = c.start().await;
    // 4377: a step id that is not this wizard's.
    let body = c
        .step("selectFromListForSmartFlexOnboarding", json!({"wizardId": w["id"], "stepId": "other:SelectDeviceType", "selectedOption": "HEAT_PUMPS"}))
        .await;
    assert_eq!(error_code(&body), "KT-CT-4377");
    let body = c
        .step("selectFromListForSmartFlexOnboarding", json!({"wizardId": w["id"], "stepId": format!("{}:AuthFlow", w["id"].as_str().unwrap()), "selectedOption": "x"}))
        .await;
    assert_eq!(
        error_code(&body),
        "KT-CT-4375",
        "a list answer to a step that is not a list: {body}"
    );
    // 4375: an option that is not offered.
    let body = c
        .step("selectFromListForSmartFlexOnboarding", json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "selectedOption": "TOASTERS"}))
        .await;
    assert_eq!(error_code(&body), "KT-CT-4375");

    // 4372: many updates of one wizard at once; those that lose the race are told so. A round may
    // happen to run them one after another, so try a few fresh wizards.
    let mut conflicts = 0;
    for _ in 0..10 {
        let w = c.start().await;
        let step = w["currentStep"]["id"].clone();
        let calls = (0..8).map(|i| {
            let option = if i % 2 == 0 {
                "HEAT_PUMPS"
            } else {
                "ELECTRIC_VEHICLES"
            };
            c.step(
                "selectFromListForSmartFlexOnboarding",
                json!({"wizardId": w["id"], "stepId": step, "selectedOption": option}),
            )
        });
        let answers = futures::future::join_all(calls).await;
        let codes: Vec<String> = answers
            .iter()
            .filter(|b| !b["errors"].is_null())
            .map(error_code)
            .collect();
        assert!(codes.iter().all(|code| code == "KT-CT-4372"), "{codes:?}");
        conflicts += codes.len();
        if conflicts > 0 {
            break;
        }
    }
    assert!(
        conflicts > 0,
        "concurrent updates of one wizard produce KT-CT-4372"
    );

    // 4378 and 4379 on the EV path.
    let w = to_auth_flow(&c).await;
    let uri = w["currentStep"]["authorizationUri"]
        .as_str()
        .unwrap()
        .to_owned();
    let allowed = consent(&c.app, &uri, "allow").await;
    let w = c
        .ok_step("completeAuthFlowForSmartFlexOnboarding", json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "continuationUri": allowed}))
        .await;
    let body = c
        .step(
            "completeUserInputRequiredForSmartFlexOnboarding",
            json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "userInput": [{"key": "vin", "value": "NOT-A-VIN"}]}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4378");
    let provider = uri
        .split("/sandbox/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let vin = vin_of(&c, &provider);
    let w = c
        .ok_step(
            "completeUserInputRequiredForSmartFlexOnboarding",
            json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "userInput": [{"key": "vin", "value": vin}]}),
        )
        .await;
    let sim = c
        .app
        .sandbox
        .simulator(&provider)
        .unwrap()
        .simulator()
        .clone();
    let car = sim.login_devices("eve").unwrap()[0].remote_id.clone();
    sim.set_plugged_in("eve", &car, false, c.app.clock.now())
        .unwrap();
    let body = c
        .step(
            "startTestChargeForSmartFlexOnboarding",
            json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"]}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4379");

    // 4376: the vendor refuses the command; try again later.
    sim.set_plugged_in("eve", &car, true, c.app.clock.now())
        .unwrap();
    sim.set_fault(
        "eve",
        &car,
        resiflex_providers::simulator::Fault::RefuseCommands,
        c.app.clock.now(),
    )
    .unwrap();
    let body = c
        .step(
            "startTestChargeForSmartFlexOnboarding",
            json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"]}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4376");

    // 4391: any step of a cancelled wizard.
    let cancelled = c
        .ok_step("cancelSmartFlexOnboarding", json!({"wizardId": w["id"]}))
        .await;
    assert!(cancelled["currentStep"].is_null());
    let body = c
        .step(
            "startTestChargeForSmartFlexOnboarding",
            json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"]}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4391");

    // 4385: re-authentication of a device whose provider cannot do it.
    let device_id = cancelled["deviceId"]
        .as_str()
        .expect("the test charge attempt registered the device")
        .to_owned();
    let mut device = store_device(&c, &device_id).await;
    device.id = "ocpp-device".into();
    device.provider = resiflex_domain::device::Provider::Ocpp;
    resiflex_store::devices::insert_device(&c.app.test_db.db, &device)
        .await
        .unwrap();
    let body = c
        .call(
            "mutation($a: String!, $p: Int!) { startReAuthentication(input: {accountNumber: $a, deviceId: \"ocpp-device\", propertyId: $p}) { wizard { id } } }",
            json!({"a": c.account, "p": c.property}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4385");
}

#[tokio::test]
async fn rewinding_goes_back_and_another_customer_cannot_see_the_wizard() {
    let c = Customer::new().await;
    let w = to_auth_flow(&c).await;
    // Back to the device type: the EV answers are dropped.
    let first = w["completedSteps"][0]["id"].clone();
    let w = c
        .ok_step(
            "selectFromListForSmartFlexOnboarding",
            json!({"wizardId": w["id"], "stepId": first, "selectedOption": "HEAT_PUMPS"}),
        )
        .await;
    assert_eq!(current(&w), "SelectHeatPumpMake");
    assert_eq!(w["completedSteps"].as_array().unwrap().len(), 1);

    let other = Customer::new().await;
    let body = other
        .call(
            "query($w: ID!) { smartFlexOnboardingWizard(wizardId: $w) { id } }",
            json!({"w": w["id"]}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4371");
    let body = c.call("query($a: String!) { smartFlexOnboardingWizards(accountNumber: $a) { id isComplete } }", json!({"a": c.account})).await;
    assert_eq!(
        body["data"]["smartFlexOnboardingWizards"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Onboards through the sandbox: answers the list steps with `choices` (the first option when `None`),
/// then allows access at the vendor. Returns the wizard after the authorisation.
async fn through_auth(c: &Customer, choices: &[Option<&str>]) -> (Value, String) {
    let mut w = c.start().await;
    for choice in choices {
        let option = match choice {
            Some(option) => (*option).to_owned(),
            None => w["currentStep"]["options"][0]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        };
        w = if current(&w) == "SelectVehicleOrChargePoint" {
            c.ok_step(
                "selectVehicleOrChargePointForSmartFlexOnboarding",
                json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "selectedIntegration": option}),
            )
            .await
        } else {
            c.select(&w, &option).await
        };
    }
    assert_eq!(current(&w), "AuthFlow", "{w}");
    let uri = w["currentStep"]["authorizationUri"]
        .as_str()
        .unwrap()
        .to_owned();
    let provider = uri
        .split("/sandbox/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let allowed = consent(&c.app, &uri, "allow").await;
    let w = c
        .ok_step("completeAuthFlowForSmartFlexOnboarding", json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "continuationUri": allowed}))
        .await;
    (w, provider)
}

#[tokio::test]
async fn a_charge_point_is_onboarded_with_a_test_charge() {
    let c = Customer::new().await;
    // A Tesla and a Zappi both have integrations: the customer chooses the charger.
    let (w, provider) = through_auth(
        &c,
        &[
            Some("ELECTRIC_VEHICLES"),
            Some("Tesla"),
            None,
            Some("myenergi"),
            None,
            Some("CHARGE_POINT"),
        ],
    )
    .await;
    assert!(provider.starts_with("MYENERGI"), "{provider}");
    assert_eq!(current(&w), "TestCharge", "no VIN for a charger: {w}");
    let w = c
        .ok_step(
            "startTestChargeForSmartFlexOnboarding",
            json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"]}),
        )
        .await;
    c.app.clock.advance(Duration::minutes(2));
    let w = c.fetch(&w).await;
    assert_eq!(w["isComplete"], true, "{w}");
    let device = store_device(&c, w["deviceId"].as_str().unwrap()).await;
    assert_eq!(
        (device.kind.as_str(), device.lifecycle.as_str()),
        ("CHARGE_POINT", "LIVE")
    );
    assert_eq!(
        c.state(&device.id).await["currentState"],
        "SMART_CONTROL_CAPABLE"
    );
    assert!(c.boost(&device.id, "BOOST").await["errors"].is_null());
    assert_eq!(c.state(&device.id).await["currentState"], "BOOSTING");
    assert!(c.boost(&device.id, "CANCEL").await["errors"].is_null());
    c.control(&device.id, "SUSPEND").await;
    assert_eq!(c.state(&device.id).await["isSuspended"], true);
    c.deauthenticate(&device.id).await;
    assert_eq!(c.state(&device.id).await["current"], "RETIRED");
}

#[tokio::test]
async fn a_home_battery_is_onboarded() {
    let c = Customer::new().await;
    let (w, _) = through_auth(&c, &[Some("BATTERIES"), Some("GivEnergy"), None]).await;
    assert_eq!(w["isComplete"], true, "{w}");
    let device = store_device(&c, w["deviceId"].as_str().unwrap()).await;
    assert_eq!(
        (
            device.kind.as_str(),
            device.lifecycle.as_str(),
            device.state.as_str()
        ),
        ("BATTERY", "LIVE", "SMART_CONTROL_CAPABLE")
    );
    c.control(&device.id, "SUSPEND").await;
    c.control(&device.id, "UNSUSPEND").await;
    assert_eq!(
        c.state(&device.id).await["currentState"],
        "SMART_CONTROL_CAPABLE"
    );
    c.deauthenticate(&device.id).await;
    assert_eq!(c.state(&device.id).await["current"], "RETIRED");
}

impl Customer {
    async fn state(&self, device: &str) -> Value {
        let body = self
            .call(
                "query($a: String!, $d: String) { devices(accountNumber: $a, deviceId: $d) { status { current currentState isSuspended } } }",
                json!({"a": self.account, "d": device}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["devices"][0]["status"].clone()
    }

    async fn control(&self, device: &str, action: &str) {
        let body = self
            .call(
                "mutation($d: ID!, $a: SmartControlAction!) { updateDeviceSmartControl(input: {deviceId: $d, action: $a}) { id } }",
                json!({"d": device, "a": action}),
            )
            .await;
        assert!(body["errors"].is_null(), "{action}: {body}");
    }

    async fn boost(&self, device: &str, action: &str) -> Value {
        self.call(
            "mutation($i: UpdateBoostChargeInput!) { updateBoostCharge(input: $i) { id } }",
            json!({"i": {"deviceId": device, "action": action}}),
        )
        .await
    }

    async fn deauthenticate(&self, device: &str) {
        let body = self
            .call(
                "mutation($d: String!) { deauthenticateFlexDevice(input: {deviceId: $d}) { krakenflexDevice { krakenflexDeviceId } } }",
                json!({"d": device}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }
}

#[tokio::test]
async fn the_consent_page_answers_only_authorisations_resiflex_started() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = client
        .post(app.url("/sandbox/TESLA/authorize"))
        .form(&[
            ("state", "made-up"),
            ("redirect_uri", "https://attacker.example/steal"),
            ("decision", "allow"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let unknown = client
        .get(app.url("/sandbox/NO_SUCH_VENDOR/authorize?state=x&redirect_uri=https://x"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}
