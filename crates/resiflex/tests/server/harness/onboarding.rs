//! Onboarding helpers shared by the test files: a customer's wizard step by step over HTTP, the
//! sandbox vendor's consent page followed like a browser, and de-authentication.

use serde_json::{Value, json};

use super::TestApp;

/// The wizard fields the helpers read.
pub const WIZARD: &str = "id isComplete deviceId currentStep { __typename id \
    ... on SelectDeviceType { options { id } } \
    ... on SelectHeatPumpMake { options { id } } \
    ... on SelectHeatPumpVariant { options { id } } \
    ... on SelectVehicleVariant { options { id } } \
    ... on SelectChargePointVariant { options { id } } \
    ... on SelectSessionDevice { options { id } } \
    ... on AuthFlow { authorizationUri error { message } } \
    ... on OcppConnectionDetails { websocketUrl chargePointId password isConnected } \
    ... on TerminalError { message } }";

/// The first property of an account.
pub async fn property_of(app: &TestApp, account_number: &str) -> i64 {
    let account = resiflex_store::accounts::account_by_number(&app.test_db.db, account_number)
        .await
        .expect("account read")
        .expect("account exists");
    resiflex_store::accounts::properties_of_account(&app.test_db.db, account.id)
        .await
        .expect("properties read")
        .remove(0)
        .id
}

/// The `__typename` of the wizard's current step (`none` when there is none).
pub fn current(wizard: &Value) -> &str {
    wizard["currentStep"]["__typename"]
        .as_str()
        .unwrap_or("none")
}

/// A customer's wizard, driven over HTTP with their token.
pub struct Onboarding<'a> {
    pub app: &'a TestApp,
    pub token: String,
    pub account_number: String,
}

impl<'a> Onboarding<'a> {
    pub fn new(app: &'a TestApp, token: &str, account_number: &str) -> Onboarding<'a> {
        Onboarding {
            app,
            token: format!("JWT {token}"),
            account_number: account_number.to_owned(),
        }
    }

    pub async fn call(&self, query: &str, variables: Value) -> Value {
        self.app
            .graphql_as(Some(&self.token), query, variables)
            .await
    }

    /// Starts a wizard at the account's first property.
    pub async fn start(&self) -> Value {
        let property = property_of(self.app, &self.account_number).await;
        let body = self
            .call(
                &format!("mutation($a: String!, $p: Int!) {{ startSmartFlexOnboarding(input: {{accountNumber: $a, propertyId: $p}}) {{ wizard {{ {WIZARD} }} }} }}"),
                json!({"a": self.account_number, "p": property}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["startSmartFlexOnboarding"]["wizard"].clone()
    }

    /// Answers the current list step; returns the whole answer.
    pub async fn try_select(&self, wizard: &Value, option: &str) -> Value {
        self.call(
            &format!("mutation($i: SelectFromListInput!) {{ selectFromListForSmartFlexOnboarding(input: $i) {{ wizard {{ {WIZARD} }} }} }}"),
            json!({"i": {"wizardId": wizard["id"], "stepId": wizard["currentStep"]["id"], "selectedOption": option}}),
        )
        .await
    }

    /// Answers the current list step, which must succeed.
    pub async fn select(&self, wizard: &Value, option: &str) -> Value {
        let body = self.try_select(wizard, option).await;
        assert!(body["errors"].is_null(), "selecting {option}: {body}");
        body["data"]["selectFromListForSmartFlexOnboarding"]["wizard"].clone()
    }

    /// Chooses the charger (not the car) at `SelectVehicleOrChargePoint`.
    pub async fn choose_charge_point(&self, wizard: &Value) -> Value {
        let body = self
            .call(
                &format!("mutation($i: SelectVehicleOrChargePointInput!) {{ selectVehicleOrChargePointForSmartFlexOnboarding(input: $i) {{ wizard {{ {WIZARD} }} }} }}"),
                json!({"i": {"wizardId": wizard["id"], "stepId": wizard["currentStep"]["id"], "selectedIntegration": "CHARGE_POINT"}}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["selectVehicleOrChargePointForSmartFlexOnboarding"]["wizard"].clone()
    }

    pub async fn fetch(&self, wizard: &Value) -> Value {
        self.call(
            &format!("query($w: ID!) {{ smartFlexOnboardingWizard(wizardId: $w) {{ {WIZARD} }} }}"),
            json!({"w": wizard["id"]}),
        )
        .await
    }

    /// Completes `AuthFlow` with the URI the vendor redirected to; returns the whole answer.
    pub async fn complete_auth(&self, wizard: &Value, continuation_uri: &str) -> Value {
        self.call(
            &format!("mutation($i: CompleteAuthFlowInput!) {{ completeAuthFlowForSmartFlexOnboarding(input: $i) {{ wizard {{ {WIZARD} }} }} }}"),
            json!({"i": {"wizardId": wizard["id"], "stepId": wizard["currentStep"]["id"], "continuationUri": continuation_uri}}),
        )
        .await
    }

    /// Takes a wizard to `AuthFlow` for the catalogue's heat pump `variant` of `make`.
    pub async fn heat_pump_to_auth_flow(&self, make: &str, variant: &str) -> Value {
        let w = self.start().await;
        let w = self.select(&w, "HEAT_PUMPS").await;
        let w = self.select(&w, make).await;
        let w = self.select(&w, variant).await;
        assert_eq!(current(&w), "AuthFlow", "{w}");
        w
    }

    /// Takes a wizard to the OCPP connection details of the charger `variant` of `make` (the
    /// charger controlled, not the car).
    pub async fn charger_to_connection_details(&self, make: &str, variant: &str) -> Value {
        let w = self.start().await;
        let w = self.select(&w, "ELECTRIC_VEHICLES").await;
        let w = self.select(&w, "Tesla").await;
        let car = w["currentStep"]["options"][0]["id"]
            .as_str()
            .expect("a Tesla variant")
            .to_owned();
        let w = self.select(&w, &car).await;
        let w = self.select(&w, make).await;
        let w = self.select(&w, variant).await;
        let w = self.choose_charge_point(&w).await;
        assert_eq!(current(&w), "OcppConnectionDetails", "{w}");
        w
    }

    /// De-authenticates a device; returns the whole answer.
    pub async fn deauthenticate(&self, device_id: &str) -> Value {
        self.call(
            "mutation($d: String!) { deauthenticateFlexDevice(input: {deviceId: $d}) { krakenflexDevice { krakenflexDeviceId } } }",
            json!({"d": device_id}),
        )
        .await
    }
}

/// Follows the sandbox vendor's consent page like a browser: opens it, logs in as `login`, presses
/// "Allow", and returns the URI the vendor redirected back to.
pub async fn allow(app: &TestApp, authorization_uri: &str, login: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let (base, query) = authorization_uri
        .split_once('?')
        .expect("an authorisation URI with a query");
    let params: Vec<(String, String)> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), percent_decode(v)))
        .collect();
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let answer = client
        .post(base)
        .form(&[
            ("state", get("state")),
            ("redirect_uri", get("redirect_uri")),
            ("login", login.to_owned()),
            ("decision", "allow".to_owned()),
        ])
        .send()
        .await
        .expect("consent sent");
    assert_eq!(answer.status(), 303, "the vendor redirects back");
    let location = answer.headers()["location"]
        .to_str()
        .expect("a location")
        .to_owned();
    assert!(location.starts_with(&app.base), "{location}");
    location
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What the sandbox vendor showed and answered while a customer authorised ResiFlex there.
pub struct VendorConsent {
    /// The vendor's way of authorising, from its sign-in page (`oauth-consent`, `credentials` or
    /// `pairing-code`).
    pub style: String,
    /// The identifiers (VINs, serial numbers) the consent screen listed.
    pub identifiers: Vec<String>,
    /// The URI the vendor redirected back to.
    pub location: String,
}

/// The values of an HTML attribute on a page, in order.
pub fn attribute_values(html: &str, attribute: &str) -> Vec<String> {
    let marker = format!("{attribute}=\"");
    html.split(&marker)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|value| value.replace("&amp;", "&").replace("&quot;", "\""))
        .collect()
}

/// Authorises at the sandbox vendor like a browser, in the vendor's own style: opens the sign-in
/// page, signs in as `login` (with `password` where the vendor asks for one, with the code the
/// device shows where it pairs devices), reads the consent screen and presses "Allow".
pub async fn authorise_at_vendor(
    app: &TestApp,
    authorization_uri: &str,
    login: &str,
    password: &str,
) -> VendorConsent {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let sign_in = client
        .get(authorization_uri)
        .send()
        .await
        .expect("sign-in page");
    assert_eq!(sign_in.status(), 200, "the vendor's sign-in page");
    let sign_in = sign_in.text().await.expect("sign-in page");
    let style = attribute_values(&sign_in, "data-auth-style")
        .pop()
        .expect("a sign-in form");
    let (base, query) = authorization_uri
        .split_once('?')
        .expect("an authorisation URI with a query");
    let params: Vec<(String, String)> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), percent_decode(v)))
        .collect();
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut form = vec![
        ("state".to_owned(), get("state")),
        ("redirect_uri".to_owned(), get("redirect_uri")),
        ("login".to_owned(), login.to_owned()),
        ("decision".to_owned(), "sign-in".to_owned()),
    ];
    match style.as_str() {
        "credentials" => form.push(("password".to_owned(), password.to_owned())),
        "pairing-code" => {
            let code = attribute_values(&sign_in, "data-pairing-code")
                .pop()
                .expect("the device's pairing code");
            form.push(("pairing_code".to_owned(), code.to_lowercase()));
        }
        _ => {}
    }
    let consent = client
        .post(base)
        .form(&form)
        .send()
        .await
        .expect("signed in");
    assert_eq!(consent.status(), 200, "the consent screen");
    let consent = consent.text().await.expect("consent screen");
    let identifiers = attribute_values(&consent, "data-identifier");
    let ticket = attribute_values(&consent, "name=\"ticket\" value")
        .pop()
        .expect("a ticket");
    let answer = client
        .post(base)
        .form(&[
            ("state", get("state")),
            ("redirect_uri", get("redirect_uri")),
            ("login", login.to_owned()),
            ("ticket", ticket),
            ("decision", "allow".to_owned()),
        ])
        .send()
        .await
        .expect("consent sent");
    assert_eq!(answer.status(), 303, "the vendor redirects back");
    let location = answer.headers()["location"]
        .to_str()
        .expect("a location")
        .to_owned();
    assert!(location.starts_with(&app.base), "{location}");
    VendorConsent {
        style,
        identifiers,
        location,
    }
}
