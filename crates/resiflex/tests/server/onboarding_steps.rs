//! The wizard's vendor-driven steps over GraphQL against the running server: `SelectFromList` on
//! every list step, `SelectUserVehicle`, the Tesla steps (`TeslaRegistrationFailed`,
//! `TeslaModifyScopes`, `TeslaSetupVirtualKey`), `UserActionRequired`, `WaitForLiveIntegration`,
//! `Retry`, re-authentication with a user action, and `backendScreen`. What the customer does at
//! the vendor happens on the sandbox vendor's pages, and the wizard moves only once the vendor
//! confirms it; every refusal carries its Kraken error code.

use crate::harness;

use chrono::Duration;
use harness::onboarding::{allow, current};
use harness::{TestApp, error_code, scenario};
use resiflex_domain::Clock as _;
use resiflex_domain::wizard::Requirement;
use resiflex_providers::simulator::{Fault, SimulatorProvider};
use serde_json::{Value, json};

const FIELDS: &str = "id isComplete deviceId completedSteps { __typename } currentStep { __typename id \
    ... on SelectFromList { selectedOptionId options { id ... on SmartFlexListItem { label vehicle vehicleMake } } } \
    ... on AuthFlow { authorizationUri } \
    ... on TeslaRegistrationFailed { modifyScopesSelected } \
    ... on TeslaModifyScopes { modifyScopesUri redirectUri } \
    ... on TeslaSetupVirtualKey { key uri } \
    ... on UserActionRequired { userActions { key description uri isCompleted } } \
    ... on WaitForLiveIntegration { isLive } \
    ... on Retry { message } \
    ... on UserInputRequired { userInputs { key } } \
    ... on TerminalError { message } }";

struct Customer {
    app: TestApp,
    token: String,
    account: String,
    property: i64,
}

impl Customer {
    async fn new() -> Customer {
        let app = TestApp::spawn().await;
        let c = scenario::customer(&app, "Org", "steps@example.com").await;
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
                &format!("mutation($a: String!, $p: Int!) {{ startSmartFlexOnboarding(input: {{accountNumber: $a, propertyId: $p}}) {{ wizard {{ {FIELDS} }} }} }}"),
                json!({"a": self.account, "p": self.property}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["startSmartFlexOnboarding"]["wizard"].clone()
    }

    async fn fetch(&self, w: &Value) -> Value {
        let body = self
            .call(
                &format!(
                    "query($w: ID!) {{ smartFlexOnboardingWizard(wizardId: $w) {{ {FIELDS} }} }}"
                ),
                json!({"w": w["id"]}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["smartFlexOnboardingWizard"].clone()
    }

    /// Runs a step mutation with `input` (of GraphQL type `ty`); returns the whole answer.
    async fn step(&self, mutation: &str, ty: &str, input: Value) -> Value {
        self.call(
            &format!("mutation($i: {ty}!) {{ {mutation}(input: $i) {{ wizard {{ {FIELDS} }} }} }}"),
            json!({"i": input}),
        )
        .await
    }

    async fn ok_step(&self, mutation: &str, ty: &str, input: Value) -> Value {
        let body = self.step(mutation, ty, input).await;
        assert!(body["errors"].is_null(), "{mutation}: {body}");
        body["data"][mutation]["wizard"].clone()
    }

    async fn select(&self, w: &Value, option: &str) -> Value {
        self.ok_step(
            "selectFromListForSmartFlexOnboarding",
            "SelectFromListInput",
            json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "selectedOption": option}),
        )
        .await
    }

    /// The current step's ids, as the step mutations take them.
    fn ids(w: &Value) -> Value {
        json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"]})
    }

    async fn complete_auth(&self, w: &Value, redirect: &str) -> Value {
        self.ok_step(
            "completeAuthFlowForSmartFlexOnboarding",
            "CompleteAuthFlowInput",
            json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "continuationUri": redirect}),
        )
        .await
    }

    fn simulator(&self, provider: &str) -> std::sync::Arc<SimulatorProvider> {
        self.app
            .sandbox
            .simulator(provider)
            .unwrap()
            .simulator()
            .clone()
    }
}

/// The provider an authorisation URI belongs to (`…/sandbox/{provider}/authorize`).
fn provider_of(uri: &str) -> String {
    uri.split("/sandbox/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned()
}

/// A Tesla taken to `AuthFlow`, then through the vendor's consent as `login`: the wizard (still at
/// `AuthFlow`), the redirect to complete it with, the provider and the vehicle's remote id.
async fn tesla_consented(c: &Customer, login: &str) -> (Value, String, String, String) {
    let w = c.start().await;
    let w = c.select(&w, "ELECTRIC_VEHICLES").await;
    let w = c.select(&w, "Tesla").await;
    let variant = w["currentStep"]["options"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let w = c.select(&w, &variant).await;
    let w = c.select(&w, "NONE").await;
    assert_eq!(current(&w), "AuthFlow", "{w}");
    let uri = w["currentStep"]["authorizationUri"]
        .as_str()
        .unwrap()
        .to_owned();
    let provider = provider_of(&uri);
    assert!(provider.starts_with("TESLA"), "{provider}");
    let redirect = allow(&c.app, &uri, login).await;
    let remote_id = c.simulator(&provider).login_devices(login).unwrap()[0]
        .remote_id
        .clone();
    (w, redirect, provider, remote_id)
}

/// A browser on the sandbox vendor's page: opens it, presses "Confirm"; returns the answer.
async fn perform_at_vendor(uri: &str) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client.get(uri).send().await.unwrap();
    assert_eq!(page.status(), 200, "{uri}");
    assert!(page.text().await.unwrap().contains("Confirm"));
    let (base, query) = uri.split_once('?').unwrap();
    let form: Vec<(String, String)> = query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (k.to_owned(), decode(v))
        })
        .collect();
    client.post(base).form(&form).send().await.unwrap()
}

fn decode(text: &str) -> String {
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

#[tokio::test]
async fn every_list_step_implements_select_from_list() {
    let c = Customer::new().await;
    let body = c
        .call(
            r#"query {
                list: __type(name: "SelectFromList") { kind fields { name type { kind ofType { kind ofType { kind ofType { name } } } } } possibleTypes { name } }
                item: __type(name: "SmartFlexListItemInterface") { kind fields { name } possibleTypes { name } }
            }"#,
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let list = &body["data"]["list"];
    assert_eq!(list["kind"], "INTERFACE");
    let fields: Vec<&str> = list["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["id", "options", "selectedOptionId"]);
    assert_eq!(
        list["fields"][1]["type"]["ofType"]["ofType"]["ofType"]["name"],
        "SmartFlexListItemInterface"
    );
    let types: Vec<&str> = list["possibleTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for step in [
        "SelectDeviceType",
        "SelectVehicleMake",
        "SelectVehicleVariant",
        "SelectChargePointMake",
        "SelectChargePointVariant",
        "SelectHeatPumpMake",
        "SelectHeatPumpVariant",
        "SelectBatteryMake",
        "SelectBatteryVariant",
        "SelectInverterMake",
        "SelectInverterSystemType",
        "SelectSessionDevice",
        "SelectUserVehicle",
    ] {
        assert!(types.contains(&step), "{step} implements SelectFromList");
    }
    assert_eq!(body["data"]["item"]["kind"], "INTERFACE");
    assert_eq!(body["data"]["item"]["fields"][0]["name"], "id");

    // A client that knows only `SelectFromList` can walk the list steps.
    let w = c.start().await;
    assert_eq!(current(&w), "SelectDeviceType");
    let options = w["currentStep"]["options"].as_array().unwrap();
    assert!(
        options.iter().any(|o| o["id"] == "ELECTRIC_VEHICLES"),
        "{w}"
    );
    assert!(w["currentStep"]["selectedOptionId"].is_null());
    let w = c.select(&w, "ELECTRIC_VEHICLES").await;
    assert!(
        w["currentStep"]["options"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["vehicleMake"] == "Tesla")
    );
    assert_eq!(
        w["completedSteps"][0]["__typename"], "SelectDeviceType",
        "{w}"
    );

    // Bad input: an option that is not listed.
    let body = c
        .step(
            "selectFromListForSmartFlexOnboarding",
            "SelectFromListInput",
            json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "selectedOption": "Toaster"}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4375", "{body}");
}

#[tokio::test]
async fn the_virtual_key_is_confirmed_by_the_vendor_not_by_the_client() {
    let c = Customer::new().await;
    let (w, redirect, provider, car) = tesla_consented(&c, "kim").await;
    let sim = c.simulator(&provider);
    sim.require("kim", &car, Requirement::VirtualKey, c.app.clock.now())
        .unwrap();
    let w = c.complete_auth(&w, &redirect).await;
    assert_eq!(current(&w), "TeslaSetupVirtualKey", "{w}");
    let step = &w["currentStep"];
    assert!(step["key"].as_str().is_some_and(|k| !k.is_empty()), "{w}");
    let uri = step["uri"].as_str().unwrap().to_owned();
    assert!(
        uri.starts_with(&c.app.base) && uri.contains("/virtual-key?"),
        "{uri}"
    );

    // The client's word is not enough: the vendor does not report the key yet.
    let body = c
        .step(
            "completeTeslaSetupVirtualKeyForSmartFlexOnboarding",
            "CompleteSmartFlexOnboardingStepInput",
            Customer::ids(&w),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4376", "{body}");
    // The wrong mutation for the step, and a step of another wizard.
    let body = c
        .step(
            "completeUserActionForSmartFlexOnboarding",
            "StepInput",
            Customer::ids(&w),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4375", "{body}");
    let body = c
        .step(
            "completeRetryForSmartFlexOnboarding",
            "CompleteSmartFlexOnboardingStepInput",
            Customer::ids(&w),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4375", "{body}");
    let body = c
        .step(
            "completeTeslaSetupVirtualKeyForSmartFlexOnboarding",
            "CompleteSmartFlexOnboardingStepInput",
            json!({"wizardId": w["id"], "stepId": "another-wizard:TeslaSetupVirtualKey"}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4377", "{body}");
    let body = c
        .step(
            "completeTeslaSetupVirtualKeyForSmartFlexOnboarding",
            "CompleteSmartFlexOnboardingStepInput",
            json!({"wizardId": "no-such-wizard", "stepId": w["currentStep"]["id"]}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4371", "{body}");

    // The vendor's page answers only for the onboarding's own device.
    let forged = uri.replace(&car, "sim-tesla-000000000000");
    let answer = c.app.client.get(&forged).send().await.unwrap();
    assert_eq!(answer.status(), 404);
    let (base, _) = uri.split_once('?').unwrap();
    let answer = c
        .app
        .client
        .get(format!("{base}?state=st_unknown"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);

    // The server-driven screen of the step: a title, the text, the buttons.
    let body = c
        .call(
            "query($w: ID!) { smartFlexOnboardingWizard(wizardId: $w) { \
                v1: backendScreen { __typename ... on ComponentListType { name screenData items { __typename \
                    ... on TextType { value textStyle textAlignment } \
                    ... on RectangularButtonType { title buttonStyle buttonVariance url mutation } } } } \
                v2: backendScreen(maxVersionSupported: 2) { __typename ... on GenericBackendScreen { name screenData } } } }",
            json!({"w": w["id"]}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let v1 = &body["data"]["smartFlexOnboardingWizard"]["v1"];
    assert_eq!(v1["__typename"], "ComponentListType");
    let items = v1["items"].as_array().unwrap();
    assert_eq!(items[0]["textStyle"], "TITLE1");
    assert_eq!(items[0]["textAlignment"], "START");
    assert!(items.iter().any(|i| i["buttonStyle"] == "PRIMARY"
        && i["buttonVariance"] == "FILLED"
        && i["url"] == uri.as_str()));
    assert!(items.iter().any(|i| i["mutation"]
        == "completeTeslaSetupVirtualKeyForSmartFlexOnboarding"
        && i["buttonVariance"] == "OUTLINED"));
    assert!(items.iter().any(|i| i["buttonVariance"] == "TEXT_ONLY"));
    let data: Value = serde_json::from_str(v1["screenData"].as_str().unwrap()).unwrap();
    assert_eq!(data["stepId"], w["currentStep"]["id"]);
    let v2 = &body["data"]["smartFlexOnboardingWizard"]["v2"];
    assert_eq!(v2["__typename"], "GenericBackendScreen");
    assert_eq!(v2["name"], v1["name"]);
    let body = c
        .call(
            "query($w: ID!) { smartFlexOnboardingWizard(wizardId: $w) { backendScreen(maxVersionSupported: 0) { __typename } } }",
            json!({"w": w["id"]}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4375", "{body}");

    // The customer pairs the key at the vendor; now the vendor confirms it.
    let answer = perform_at_vendor(&uri).await;
    assert_eq!(answer.status(), 200);
    let done = c
        .ok_step(
            "completeTeslaSetupVirtualKeyForSmartFlexOnboarding",
            "CompleteSmartFlexOnboardingStepInput",
            Customer::ids(&w),
        )
        .await;
    assert_eq!(current(&done), "UserInputRequired", "{done}");
    assert!(
        done["completedSteps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["__typename"] == "TeslaSetupVirtualKey")
    );
    // The step is done: completing it again is not the current step.
    let body = c
        .step(
            "completeTeslaSetupVirtualKeyForSmartFlexOnboarding",
            "CompleteSmartFlexOnboardingStepInput",
            Customer::ids(&w),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4377", "{body}");
}

#[tokio::test]
async fn missing_permissions_and_a_software_update_are_done_at_the_vendor_then_the_integration_goes_live()
 {
    let c = Customer::new().await;
    let (w, redirect, provider, car) = tesla_consented(&c, "lee").await;
    let sim = c.simulator(&provider);
    let now = c.app.clock.now();
    for requirement in [Requirement::Scopes, Requirement::SoftwareUpdate] {
        sim.require("lee", &car, requirement, now).unwrap();
    }
    sim.require(
        "lee",
        &car,
        Requirement::Activation,
        now + Duration::minutes(10),
    )
    .unwrap();
    let w = c.complete_auth(&w, &redirect).await;
    assert_eq!(current(&w), "TeslaRegistrationFailed", "{w}");
    assert!(w["currentStep"]["modifyScopesSelected"].is_null());
    let failed = w.clone();

    // Bad input: the decision is a Boolean.
    let body = c
        .call(
            "mutation($i: CompleteTeslaRegistrationFailedInput!) { completeTeslaRegistrationFailedForSmartFlexOnboarding(input: $i) { wizard { id } } }",
            json!({"i": {"wizardId": w["id"], "stepId": w["currentStep"]["id"], "modifyScopesSelected": "maybe"}}),
        )
        .await;
    assert!(!body["errors"].is_null(), "{body}");
    // Declining ends the journey; changing the answer carries on.
    let declined = c
        .ok_step(
            "completeTeslaRegistrationFailedForSmartFlexOnboarding",
            "CompleteTeslaRegistrationFailedInput",
            json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "modifyScopesSelected": false}),
        )
        .await;
    assert_eq!(current(&declined), "TerminalError", "{declined}");
    let w = c
        .ok_step(
            "completeTeslaRegistrationFailedForSmartFlexOnboarding",
            "CompleteTeslaRegistrationFailedInput",
            json!({"wizardId": failed["id"], "stepId": failed["currentStep"]["id"], "modifyScopesSelected": true}),
        )
        .await;
    assert_eq!(current(&w), "TeslaModifyScopes", "{w}");
    let scopes_uri = w["currentStep"]["modifyScopesUri"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(w["currentStep"]["redirectUri"].is_string());
    // The decision mutation on a step that is not a decision.
    let body = c
        .step(
            "completeTeslaRegistrationFailedForSmartFlexOnboarding",
            "CompleteTeslaRegistrationFailedInput",
            json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "modifyScopesSelected": true}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4375", "{body}");

    let body = c
        .step(
            "completeUserActionForSmartFlexOnboarding",
            "StepInput",
            Customer::ids(&w),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4376", "{body}");
    // Granting at the vendor sends the customer back to ResiFlex.
    let answer = perform_at_vendor(&scopes_uri).await;
    assert_eq!(answer.status(), 303);
    let back = answer.headers()["location"].to_str().unwrap();
    assert!(back.starts_with(&c.app.base), "{back}");
    let w = c
        .ok_step(
            "completeUserActionForSmartFlexOnboarding",
            "StepInput",
            Customer::ids(&w),
        )
        .await;
    assert_eq!(current(&w), "UserActionRequired", "{w}");
    let action = &w["currentStep"]["userActions"][0];
    assert_eq!(action["key"], "software-update");
    assert_eq!(action["isCompleted"], false);
    let update_uri = action["uri"].as_str().unwrap().to_owned();

    let body = c
        .step(
            "completeUserActionForSmartFlexOnboarding",
            "StepInput",
            Customer::ids(&w),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4376", "{body}");
    assert_eq!(current(&c.fetch(&w).await), "UserActionRequired");
    assert_eq!(perform_at_vendor(&update_uri).await.status(), 200);
    let w = c
        .ok_step(
            "completeUserActionForSmartFlexOnboarding",
            "StepInput",
            Customer::ids(&w),
        )
        .await;
    // The vendor switches the integration on in its own time; the wizard is polled.
    assert_eq!(current(&w), "WaitForLiveIntegration", "{w}");
    assert_eq!(w["currentStep"]["isLive"], false);
    let body = c
        .step(
            "completeUserActionForSmartFlexOnboarding",
            "StepInput",
            Customer::ids(&w),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4375", "{body}");
    c.app.clock.advance(Duration::minutes(5));
    assert_eq!(current(&c.fetch(&w).await), "WaitForLiveIntegration");
    c.app.clock.advance(Duration::minutes(6));
    let w = c.fetch(&w).await;
    assert_eq!(current(&w), "UserInputRequired", "{w}");
    let steps: Vec<&str> = w["completedSteps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["__typename"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps[steps.len() - 5..],
        [
            "AuthFlow",
            "TeslaRegistrationFailed",
            "TeslaModifyScopes",
            "UserActionRequired",
            "WaitForLiveIntegration"
        ]
    );
}

#[tokio::test]
async fn a_vendor_that_does_not_answer_is_asked_again_at_retry() {
    let c = Customer::new().await;
    let (w, redirect, provider, car) = tesla_consented(&c, "max").await;
    let sim = c.simulator(&provider);
    sim.set_fault("max", &car, Fault::Offline, c.app.clock.now())
        .unwrap();
    let w = c.complete_auth(&w, &redirect).await;
    assert_eq!(current(&w), "Retry", "{w}");
    assert!(w["currentStep"]["message"].is_string());
    let body = c
        .step(
            "completeRetryForSmartFlexOnboarding",
            "CompleteSmartFlexOnboardingStepInput",
            Customer::ids(&w),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4376", "{body}");
    // Fetching does not move past a failed step by itself.
    assert_eq!(current(&c.fetch(&w).await), "Retry");
    sim.clear_fault("max", &car, Fault::Offline).unwrap();
    let w = c
        .ok_step(
            "completeRetryForSmartFlexOnboarding",
            "CompleteSmartFlexOnboardingStepInput",
            Customer::ids(&w),
        )
        .await;
    assert_eq!(current(&w), "UserInputRequired", "{w}");
}

#[tokio::test]
async fn several_vehicles_at_the_vendor_are_chosen_with_select_user_vehicle() {
    let c = Customer::new().await;
    let (w, redirect, provider, _) = tesla_consented(&c, "duo").await;
    // The customer's vendor account holds a second car.
    let sim = c.simulator(&provider);
    let catalogue = resiflex_domain::catalogue::Catalogue::get().unwrap();
    let wizard =
        resiflex_store::wizards::wizard_by_id(&c.app.test_db.db, w["id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
    let entry = wizard.state.integrated_entry(catalogue).unwrap();
    let first = resiflex_api::sandbox::device_spec(catalogue, entry);
    let second =
        resiflex_providers::simulator::SimDeviceSpec::vehicle("Tesla", "Model Y", 75_000, 11_000);
    sim.approve("duo", vec![first, second], c.app.clock.now());
    let w = c.complete_auth(&w, &redirect).await;
    assert_eq!(current(&w), "SelectUserVehicle", "{w}");
    let options = w["currentStep"]["options"].as_array().unwrap();
    assert_eq!(options.len(), 2, "{w}");
    assert!(options.iter().all(|o| o["vehicle"].is_string()), "{w}");
    let body = c
        .step(
            "selectFromListForSmartFlexOnboarding",
            "SelectFromListInput",
            json!({"wizardId": w["id"], "stepId": w["currentStep"]["id"], "selectedOption": "sim-elsewhere"}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4375", "{body}");
    let chosen = options[1]["id"].as_str().unwrap().to_owned();
    let w = c.select(&w, &chosen).await;
    assert_eq!(current(&w), "UserInputRequired", "{w}");
    let w = c.fetch(&w).await;
    let selection = w["completedSteps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["__typename"] == "SelectUserVehicle")
        .count();
    assert_eq!(selection, 1, "{w}");
}

#[tokio::test]
async fn re_authentication_waits_for_a_user_action_the_vendor_confirms() {
    let c = Customer::new().await;
    // A heat pump onboarded and live.
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
    assert_eq!(
        current(&w),
        "AuthFlow",
        "the first heat pump listed is integrated: {w}"
    );
    let uri = w["currentStep"]["authorizationUri"]
        .as_str()
        .unwrap()
        .to_owned();
    let provider = provider_of(&uri);
    let redirect = allow(&c.app, &uri, "hp").await;
    let w = c.complete_auth(&w, &redirect).await;
    assert_eq!(w["isComplete"], true, "{w}");
    let device_id = w["deviceId"].as_str().unwrap().to_owned();
    let remote_id = c.simulator(&provider).login_devices("hp").unwrap()[0]
        .remote_id
        .clone();

    // The vendor withdrew access; the customer authorises again and must update the device first.
    c.simulator(&provider).revoke_grants("hp");
    let body = c
        .call(
            &format!("mutation($a: String!, $d: String!, $p: Int!) {{ startReAuthentication(input: {{accountNumber: $a, deviceId: $d, propertyId: $p}}) {{ wizard {{ {FIELDS} }} }} }}"),
            json!({"a": c.account, "d": device_id, "p": c.property}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let w = body["data"]["startReAuthentication"]["wizard"].clone();
    assert_eq!(current(&w), "AuthFlow", "{w}");
    let uri = w["currentStep"]["authorizationUri"]
        .as_str()
        .unwrap()
        .to_owned();
    let redirect = allow(&c.app, &uri, "hp").await;
    c.simulator(&provider)
        .require(
            "hp",
            &remote_id,
            Requirement::SoftwareUpdate,
            c.app.clock.now(),
        )
        .unwrap();
    let w = c.complete_auth(&w, &redirect).await;
    assert_eq!(current(&w), "UserActionRequired", "{w}");
    assert_eq!(w["isComplete"], false);
    let body = c
        .step(
            "completeUserActionForSmartFlexOnboarding",
            "StepInput",
            Customer::ids(&w),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4376", "{body}");
    let update_uri = w["currentStep"]["userActions"][0]["uri"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(perform_at_vendor(&update_uri).await.status(), 200);
    let done = c
        .ok_step(
            "completeUserActionForSmartFlexOnboarding",
            "StepInput",
            Customer::ids(&w),
        )
        .await;
    assert_eq!(done["isComplete"], true, "{done}");
    assert!(done["currentStep"].is_null());
    // A finished wizard has no steps left.
    let body = c
        .step(
            "completeUserActionForSmartFlexOnboarding",
            "StepInput",
            Customer::ids(&w),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4377", "{body}");
}
