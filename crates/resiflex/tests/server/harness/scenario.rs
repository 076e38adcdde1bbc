//! Scenario helpers shared by the test files: organisations, customers and signing in, each over
//! HTTP as a client would (operators' steps through the same functions the CLI calls).

use serde_json::{Value, json};

use super::TestApp;

/// The brand every test organisation's accounts are created under.
pub const BRAND: &str = "RESIFLEX_LIVE";

/// The `obtainKrakenToken` document taking its whole input as one variable.
pub const SIGN_IN: &str = "mutation SignIn($input: ObtainJSONWebTokenInput!) { obtainKrakenToken(input: $input) { token refreshToken refreshExpiresIn payload __typename } }";

/// Creates an organisation as an operator would and returns its id and secret key.
pub async fn create_organisation_with_id(app: &TestApp, name: &str) -> (i64, String) {
    let created = resiflex::admin::create_organisation(&app.test_db.db, name, BRAND)
        .await
        .expect("organisation created");
    let id = created["organisationId"]
        .as_i64()
        .unwrap_or_else(|| panic!("organisation id printed: {created}"));
    let key = created["secretKey"]
        .as_str()
        .expect("secret key printed")
        .to_owned();
    (id, key)
}

/// Creates an organisation as an operator would and returns its secret key.
pub async fn create_organisation(app: &TestApp, name: &str) -> String {
    create_organisation_with_id(app, name).await.1
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

/// Signs in with a pre-signed key and returns the whole answer.
pub async fn sign_in_pre_signed_key(app: &TestApp, key: &str) -> Value {
    try_sign_in(app, json!({ "preSignedKey": key })).await
}

/// Issues a user a fresh personal API key as an operator would and returns it.
pub async fn user_api_key(app: &TestApp, email: &str) -> String {
    resiflex::admin::user_api_key(&app.test_db.db, email)
        .await
        .expect("API key issued")["apiKey"]
        .as_str()
        .expect("API key printed")
        .to_owned()
}

/// Gives a user a password (`the password of <email>`), signs in with it and returns the token.
pub async fn password_session(app: &TestApp, email: &str) -> String {
    let password = format!("the password of {email}");
    resiflex::admin::set_password(&app.test_db.db, email, &password)
        .await
        .expect("password set");
    let body = sign_in_password(app, email, &password).await;
    token_of(&body, &format!("{email} signs in"))
}

/// Mints a pre-signed key for `email` as the organisation whose `Authorization` header value is
/// given; returns the whole answer.
pub async fn generate_pre_signed(app: &TestApp, authorization: &str, email: &str) -> Value {
    app.graphql_as(
        Some(authorization),
        "mutation($email: String!) { generatePreSignedToken(email: $email) { token tokenExpiryDatetime } }",
        json!({ "email": email }),
    )
    .await
}

/// The key of a successful `generatePreSignedToken`; panics with the body otherwise.
pub fn pre_signed_token_of(body: &Value) -> String {
    assert!(body["errors"].is_null(), "minting a pre-signed key: {body}");
    body["data"]["generatePreSignedToken"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no pre-signed key in {body}"))
        .to_owned()
}

/// Mints a pre-signed key for `email` (see [`generate_pre_signed`]) and returns it.
pub async fn mint_pre_signed(app: &TestApp, authorization: &str, email: &str) -> String {
    pre_signed_token_of(&generate_pre_signed(app, authorization, email).await)
}

/// An organisation and one of its customers, everyone signed in.
pub struct Customer {
    /// The organisation's secret key and a token signed in with it.
    pub org_key: String,
    pub org_token: String,
    pub account_number: String,
    /// The id of the account's property.
    pub property_id: i64,
    pub email: String,
    /// The customer's password (set by an operator) and personal API key.
    pub password: String,
    pub api_key: String,
    /// A token signed in with the API key.
    pub token: String,
}

/// The details of a new shell account; [`NewAccount::new`] gives the usual test customer's.
#[derive(Debug, Clone, Copy)]
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub street: &'a str,
    pub postcode: &'a str,
    /// The value of a `crm` reference to create the account with.
    pub crm_reference: Option<&'a str>,
}

impl<'a> NewAccount<'a> {
    pub fn new(email: &'a str) -> NewAccount<'a> {
        NewAccount {
            email,
            given_name: "Ada",
            family_name: "Tester",
            street: "10 Downing Street",
            postcode: "SW1A 2AA",
            crm_reference: None,
        }
    }
}

/// Creates a shell account for `email` under the organisation signed in as `org_token`; returns
/// the whole answer, which holds the account's number only (so that two answers compare alike).
pub async fn create_account(app: &TestApp, org_token: &str, email: &str) -> Value {
    let authorization = format!("JWT {org_token}");
    create_shell_account(app, &authorization, &NewAccount::new(email), "number").await
}

/// Creates the shell account `account` as the caller whose `Authorization` header value is given;
/// returns the whole answer (the account's number and its properties' ids).
pub async fn create_account_as(
    app: &TestApp,
    authorization: &str,
    account: &NewAccount<'_>,
) -> Value {
    create_shell_account(app, authorization, account, "number properties { id }").await
}

async fn create_shell_account(
    app: &TestApp,
    authorization: &str,
    account: &NewAccount<'_>,
    fields: &str,
) -> Value {
    let mut input = json!({
        "brandCode": BRAND,
        "email": account.email,
        "givenName": account.given_name,
        "familyName": account.family_name,
        "address": {"streetAddress": account.street, "postalCode": account.postcode, "country": "GB"},
    });
    if let Some(value) = account.crm_reference {
        input["accountReference"] = json!({"namespace": "crm", "value": value});
    }
    app.graphql_as(
        Some(authorization),
        &format!("mutation($input: CreateFlexShellAccountInput!) {{ createFlexShellAccount(input: $input) {{ account {{ {fields} }} }} }}"),
        json!({ "input": input }),
    )
    .await
}

/// Creates the usual test customer's account for `email` as the organisation whose
/// `Authorization` header value is given (see [`organisation_auth`]); returns its number.
pub async fn open_account(app: &TestApp, authorization: &str, email: &str) -> String {
    account_number_of(&create_account_as(app, authorization, &NewAccount::new(email)).await)
}

/// The account number of a successful `createFlexShellAccount`; panics with the body otherwise.
pub fn account_number_of(body: &Value) -> String {
    assert!(body["errors"].is_null(), "creating an account: {body}");
    body["data"]["createFlexShellAccount"]["account"]["number"]
        .as_str()
        .unwrap_or_else(|| panic!("no account number in {body}"))
        .to_owned()
}

/// The id of the first property of a successful `createFlexShellAccount`; panics otherwise.
pub fn property_id_of(body: &Value) -> i64 {
    assert!(body["errors"].is_null(), "creating an account: {body}");
    body["data"]["createFlexShellAccount"]["account"]["properties"][0]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no property id in {body}"))
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
    let authorization = format!("JWT {org_token}");
    let created = create_account_as(app, &authorization, &NewAccount::new(email)).await;
    let account_number = account_number_of(&created);
    let property_id = property_id_of(&created);
    let password = format!("correct horse {email}");
    resiflex::admin::set_password(&app.test_db.db, email, &password)
        .await
        .expect("password set");
    let api_key = user_api_key(app, email).await;
    let token = sign_in_api_key(app, &api_key).await;
    Customer {
        org_key,
        org_token,
        account_number,
        property_id,
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
    let key = user_api_key(app, email).await;
    authorization(app, json!({ "APIKey": key })).await
}
