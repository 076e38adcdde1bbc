//! Scenario helpers shared by the test files: organisations, customers and signing in, each over
//! HTTP as a client would (operators' steps through the same functions the CLI calls).

use serde_json::{Value, json};

use super::TestApp;

/// The brand every test organisation's accounts are created under.
pub const BRAND: &str = "RESIFLEX_LIVE";

/// The `obtainKrakenToken` document taking its whole input as one variable.
pub const SIGN_IN: &str = "mutation SignIn($input: ObtainJSONWebTokenInput!) { obtainKrakenToken(input: $input) { token refreshToken refreshExpiresIn payload } }";

/// Creates an organisation as an operator would and returns its secret key.
pub async fn create_organisation(app: &TestApp, name: &str) -> String {
    let created = resiflex::admin::create_organisation(&app.test_db.db, name, BRAND)
        .await
        .expect("organisation created");
    created["secretKey"]
        .as_str()
        .expect("secret key printed")
        .to_owned()
}

/// Signs in with `obtainKrakenToken` and returns the whole answer.
pub async fn try_sign_in(app: &TestApp, input: Value) -> Value {
    app.graphql(SIGN_IN, json!({ "input": input })).await
}

/// The token of a successful sign-in; panics with the body otherwise.
pub fn token_of(body: &Value, what: &str) -> String {
    assert!(body["errors"].is_null(), "{what}: {body}");
    body["data"]["obtainKrakenToken"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no token in {body}"))
        .to_owned()
}

/// The refresh token of a successful sign-in; panics with the body otherwise.
pub fn refresh_token_of(body: &Value, what: &str) -> String {
    assert!(body["errors"].is_null(), "{what}: {body}");
    body["data"]["obtainKrakenToken"]["refreshToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no refresh token in {body}"))
        .to_owned()
}

/// Signs in with an organisation's secret key and returns the token.
pub async fn sign_in_organisation(app: &TestApp, secret_key: &str) -> String {
    let body = try_sign_in(app, json!({ "organizationSecretKey": secret_key })).await;
    token_of(&body, "organisation sign-in")
}

/// Signs in with a personal API key and returns the token.
pub async fn sign_in_api_key(app: &TestApp, key: &str) -> String {
    let body = try_sign_in(app, json!({ "APIKey": key })).await;
    token_of(&body, "API key sign-in")
}

/// Signs in with email and password and returns the whole answer.
pub async fn sign_in_password(app: &TestApp, email: &str, password: &str) -> Value {
    try_sign_in(app, json!({ "email": email, "password": password })).await
}

/// An organisation and one of its customers, everyone signed in.
pub struct Customer {
    /// The organisation's secret key and a token signed in with it.
    pub org_key: String,
    pub org_token: String,
    pub account_number: String,
    pub email: String,
    /// The customer's password (set by an operator) and personal API key.
    pub password: String,
    pub api_key: String,
    /// A token signed in with the API key.
    pub token: String,
}

/// Creates a shell account for `email` under the organisation signed in as `org_token`; returns
/// the whole answer.
pub async fn create_account(app: &TestApp, org_token: &str, email: &str) -> Value {
    app.graphql_as(
        Some(&format!("JWT {org_token}")),
        "mutation($input: CreateFlexShellAccountInput!) { createFlexShellAccount(input: $input) { account { number } } }",
        json!({"input": {
            "brandCode": BRAND,
            "email": email,
            "givenName": "Ada",
            "familyName": "Tester",
            "address": {"streetAddress": "10 Downing Street", "postalCode": "SW1A 2AA", "country": "GB"},
        }}),
    )
    .await
}

/// The account number of a successful `createFlexShellAccount`; panics with the body otherwise.
pub fn account_number_of(body: &Value) -> String {
    assert!(body["errors"].is_null(), "creating an account: {body}");
    body["data"]["createFlexShellAccount"]["account"]["number"]
        .as_str()
        .unwrap_or_else(|| panic!("no account number in {body}"))
        .to_owned()
}

/// A new organisation called `org` with one customer, `email`, who has a password and an API key.
pub async fn customer(app: &TestApp, org: &str, email: &str) -> Customer {
    let org_key = create_organisation(app, org).await;
    let org_token = sign_in_organisation(app, &org_key).await;
    customer_of(app, org_key, org_token, email).await
}

/// Another customer, `email`, of an organisation that already exists.
pub async fn customer_of(
    app: &TestApp,
    org_key: String,
    org_token: String,
    email: &str,
) -> Customer {
    let account_number = account_number_of(&create_account(app, &org_token, email).await);
    let password = format!("correct horse {email}");
    resiflex::admin::set_password(&app.test_db.db, email, &password)
        .await
        .expect("password set");
    let api_key = resiflex::admin::user_api_key(&app.test_db.db, email)
        .await
        .expect("API key issued")["apiKey"]
        .as_str()
        .expect("API key printed")
        .to_owned();
    let token = sign_in_api_key(app, &api_key).await;
    Customer {
        org_key,
        org_token,
        account_number,
        email: email.to_owned(),
        password,
        api_key,
        token,
    }
}

/// An HTTP client whose connections come from `address` (any 127.x.y.z works on loopback), for
/// tests that need callers at different client addresses.
pub fn client_from(address: std::net::IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address)
        .build()
        .expect("client bound to a local address")
}

/// Sends a GraphQL request through `client` (see [`client_from`]) and returns the JSON body.
pub async fn graphql_with(
    app: &TestApp,
    client: &reqwest::Client,
    authorization: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = client
        .post(app.url("/v1/graphql/"))
        .json(&json!({"query": query, "variables": variables}));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let response = request.send().await.expect("request sent");
    assert_eq!(response.status(), 200, "GraphQL answers are HTTP 200");
    response.json().await.expect("JSON body")
}

/// Signs in through `client` (see [`client_from`]) and returns the whole answer.
pub async fn try_sign_in_with(app: &TestApp, client: &reqwest::Client, input: Value) -> Value {
    graphql_with(app, client, None, SIGN_IN, json!({ "input": input })).await
}

/// Signs in with `input` and returns the `Authorization` header value (`JWT <token>`).
pub async fn authorization(app: &TestApp, input: Value) -> String {
    let body = try_sign_in(app, input).await;
    format!("JWT {}", token_of(&body, "signing in"))
}

/// Creates an organisation and returns the `Authorization` header value of its signed-in session.
pub async fn organisation_auth(app: &TestApp, name: &str) -> String {
    let key = create_organisation(app, name).await;
    authorization(app, json!({ "organizationSecretKey": key })).await
}

/// Issues a user a fresh API key, signs in with it, and returns the `Authorization` header value.
pub async fn user_auth(app: &TestApp, email: &str) -> String {
    let issued = resiflex::admin::user_api_key(&app.test_db.db, email)
        .await
        .expect("API key issued");
    authorization(app, json!({ "APIKey": issued["apiKey"] })).await
}
