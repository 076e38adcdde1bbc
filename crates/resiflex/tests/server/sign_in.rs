//! Signing in over HTTP with `obtainKrakenToken`, and what the server does with the tokens it hands
//! out: every input form real clients send, the JWT and its `payload`, the header forms, expiry and
//! refresh against the injected clock, rejected tokens, error codes, throttling, dormant accounts,
//! pre-signed keys and organisation key rotation.

use crate::harness;

use chrono::Duration;
use harness::scenario::{
    NewAccount, SIGN_IN, account_number_of, create_account_as, create_organisation_with_id,
    pre_signed_token_of, sign_in_organisation, sign_in_pre_signed_key, try_sign_in, user_api_key,
};
use harness::{TestApp, error_code};
use resiflex_domain::Clock as _;
use serde_json::{Value, json};

const EMAIL: &str = "Customer@Example.com";
const EMAIL_LOWER: &str = "customer@example.com";
const PASSWORD: &str = "a long password";
const SEVEN_DAYS: i64 = 7 * 24 * 60 * 60;

const VIEWER: &str = "query { viewer { id email } }";

/// An organisation with one account whose user has an API key (and, on request, a password).
struct World {
    app: TestApp,
    org_id: i64,
    org_key: String,
    org_token: String,
    number: String,
    api_key: String,
}

/// What a successful `obtainKrakenToken` returned.
#[derive(Debug, Clone)]
struct Session {
    token: String,
    refresh_token: String,
    refresh_expires_in: i64,
    payload: Value,
}

impl Session {
    fn jwt(&self) -> String {
        format!("JWT {}", self.token)
    }
}

fn session(body: &Value) -> Session {
    assert!(body["errors"].is_null(), "sign-in failed: {body}");
    let t = &body["data"]["obtainKrakenToken"];
    assert_eq!(t["__typename"], "ObtainKrakenJSONWebToken", "{body}");
    Session {
        token: t["token"].as_str().expect("token").to_owned(),
        refresh_token: t["refreshToken"].as_str().expect("refreshToken").to_owned(),
        refresh_expires_in: t["refreshExpiresIn"].as_i64().expect("refreshExpiresIn"),
        payload: t["payload"].clone(),
    }
}

async fn sign_in(app: &TestApp, input: Value) -> Session {
    session(&try_sign_in(app, input).await)
}

/// Asserts that a sign-in is refused with `code`, and returns the body.
async fn refused(app: &TestApp, input: Value, code: &str) -> Value {
    let body = try_sign_in(app, input.clone()).await;
    assert_eq!(error_code(&body), code, "{input}: {body}");
    assert!(
        body["data"].is_null() || body["data"]["obtainKrakenToken"].is_null(),
        "{body}"
    );
    body
}

async fn viewer(app: &TestApp, authorization: Option<&str>) -> Value {
    app.graphql_as(authorization, VIEWER, json!({})).await
}

/// Asserts that `authorization` reaches `viewer` as the world's user.
async fn assert_viewer_ok(app: &TestApp, authorization: &str) {
    let body = viewer(app, Some(authorization)).await;
    assert_eq!(
        body["data"]["viewer"]["email"], EMAIL_LOWER,
        "{authorization}: {body}"
    );
}

/// Asserts that an organisation's `authorization` reaches the world's account.
async fn assert_reaches_account(w: &World, authorization: &str, what: &str) {
    let body = w
        .app
        .graphql_as(
            Some(authorization),
            "query($n: String!) { account(accountNumber: $n) { number } }",
            json!({"n": w.number}),
        )
        .await;
    assert_eq!(
        body["data"]["account"]["number"], w.number,
        "{what}: {body}"
    );
}

async fn assert_viewer_refused(app: &TestApp, authorization: &str, code: &str) {
    let body = viewer(app, Some(authorization)).await;
    assert_eq!(error_code(&body), code, "{authorization}: {body}");
}

async fn world() -> World {
    world_on(TestApp::spawn().await).await
}

async fn world_on(app: TestApp) -> World {
    let (org_id, org_key) = create_organisation_with_id(&app, "Org").await;
    let org_token = sign_in_organisation(&app, &org_key).await;
    let created = create_account_as(
        &app,
        &format!("JWT {org_token}"),
        &NewAccount {
            given_name: "Casey",
            family_name: "Customer",
            street: "1 High Street",
            postcode: "SW1A 1AA",
            crm_reference: Some("CRM-1"),
            ..NewAccount::new(EMAIL)
        },
    )
    .await;
    let number = account_number_of(&created);
    let api_key = user_api_key(&app, EMAIL).await;
    World {
        app,
        org_id,
        org_key,
        org_token,
        number,
        api_key,
    }
}

async fn give_password(world: &World) {
    resiflex::admin::set_password(&world.app.test_db.db, EMAIL, PASSWORD)
        .await
        .unwrap();
}

fn password_input() -> Value {
    json!({ "email": EMAIL_LOWER, "password": PASSWORD })
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64url_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let value = B64URL
            .iter()
            .position(|&a| a == c)
            .unwrap_or_else(|| panic!("not base64url: {text}"));
        acc = (acc << 6) | u32::try_from(value).unwrap();
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap());
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn b64url_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(B64URL[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// The claims in the middle part of a JWT.
fn claims_of(token: &str) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a three-part JWT: {token}");
    serde_json::from_slice(&b64url_decode(parts[1])).expect("JSON claims")
}

#[test]
fn the_base64url_helpers_round_trip() {
    for text in ["", "a", "ab", "abc", r#"{"alg":"none","typ":"JWT"}"#] {
        assert_eq!(
            b64url_decode(&b64url_encode(text.as_bytes())),
            text.as_bytes()
        );
    }
    assert_eq!(
        b64url_encode(br#"{"alg":"none","typ":"JWT"}"#),
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"
    );
}

#[tokio::test]
async fn every_input_form_signs_in() {
    let w = world().await;
    give_password(&w).await;
    let app = &w.app;
    let key = &w.api_key;
    let first = sign_in(app, json!({ "APIKey": key })).await;
    let fields = "token refreshToken refreshExpiresIn payload __typename";
    let literal =
        |input: String| format!("mutation {{ obtainKrakenToken(input: {input}) {{ {fields} }} }}");
    let forms: Vec<(&str, String, Value, &str)> = vec![
        (
            "APIKey literal",
            literal(format!(r#"{{APIKey: "{key}"}}"#)),
            json!({}),
            "API-KEY",
        ),
        (
            "email and password literals",
            literal(format!(
                r#"{{email: "{EMAIL_LOWER}", password: "{PASSWORD}"}}"#
            )),
            json!({}),
            "EMAIL-AND-PASSWORD",
        ),
        (
            "refreshToken literal",
            literal(format!(r#"{{refreshToken: "{}"}}"#, first.refresh_token)),
            json!({}),
            "API-KEY",
        ),
        (
            "organizationSecretKey literal",
            literal(format!(r#"{{organizationSecretKey: "{}"}}"#, w.org_key)),
            json!({}),
            "ORGANIZATION-SECRET-KEY",
        ),
        (
            "whole $input with APIKey",
            SIGN_IN.to_owned(),
            json!({"input": {"APIKey": key}}),
            "API-KEY",
        ),
        (
            "whole $input with email and password",
            SIGN_IN.to_owned(),
            json!({"input": {"email": EMAIL_LOWER, "password": PASSWORD}}),
            "EMAIL-AND-PASSWORD",
        ),
        (
            "whole $input with refreshToken",
            SIGN_IN.to_owned(),
            json!({"input": {"refreshToken": first.refresh_token}}),
            "API-KEY",
        ),
        (
            "inline {APIKey: $apiKey}",
            format!(
                "mutation krakenTokenAuthentication($apiKey: String!) {{ \
                 obtainKrakenToken(input: {{APIKey: $apiKey}}) {{ {fields} }} }}"
            ),
            json!({"apiKey": key}),
            "API-KEY",
        ),
        (
            "inline {APIKey: $key}",
            format!(
                "mutation($key: String!) {{ obtainKrakenToken(input: {{APIKey: $key}}) {{ {fields} }} }}"
            ),
            json!({"key": key}),
            "API-KEY",
        ),
        (
            "inline {email: $email, password: $password}",
            format!(
                "mutation Login($email: String!, $password: String!) {{ \
                 obtainKrakenToken(input: {{email: $email, password: $password}}) {{ {fields} }} }}"
            ),
            // Any case of the email address signs in.
            json!({"email": EMAIL, "password": PASSWORD}),
            "EMAIL-AND-PASSWORD",
        ),
    ];
    for (name, query, variables, grant) in forms {
        let body = app.graphql(&query, variables).await;
        let s = session(&body);
        assert_eq!(s.payload["gty"], grant, "{name}: {body}");
        assert!(!s.refresh_token.is_empty(), "{name}: {body}");
        if grant == "ORGANIZATION-SECRET-KEY" {
            // An organisation is not a user: it reaches its accounts, not `viewer`.
            assert_reaches_account(&w, &s.jwt(), name).await;
            assert_eq!(error_code(&viewer(app, Some(&s.jwt())).await), "KT-CT-1111");
        } else {
            assert_viewer_ok(app, &s.jwt()).await;
        }
    }
}

#[tokio::test]
async fn the_token_is_a_jwt_and_the_payload_holds_its_claims() {
    let w = world().await;
    let app = &w.app;
    let s = sign_in(app, json!({ "APIKey": w.api_key })).await;
    let user_id = viewer(app, Some(&s.token)).await["data"]["viewer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let claims = claims_of(&s.token);
    let now = harness::start_instant().timestamp();
    for name in ["exp", "iat", "origIat"] {
        assert!(claims[name].is_i64(), "{name} in {claims}");
        assert_eq!(s.payload[name], claims[name], "{name}");
    }
    assert_eq!(claims["sub"], format!("kraken|account-user:{user_id}"));
    assert_eq!(s.payload["sub"], claims["sub"]);
    assert!(
        s.payload.is_object(),
        "payload is a JSON object: {}",
        s.payload
    );
    assert_eq!(claims["iat"], now, "issued at the server clock");
    assert_eq!(claims["origIat"], now);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(
        s.refresh_expires_in,
        now + SEVEN_DAYS,
        "refreshExpiresIn is an epoch timestamp seven days on"
    );

    // Later sign-ins follow the server clock, not the wall clock.
    app.clock.advance(Duration::hours(5));
    let later = sign_in(app, json!({ "APIKey": w.api_key })).await;
    let later_now = app.clock.now().timestamp();
    assert_eq!(later.payload["iat"], later_now);
    assert_eq!(later.payload["exp"], later_now + 3600);
    assert_eq!(later.refresh_expires_in, later_now + SEVEN_DAYS);
    assert_ne!(later.refresh_token, s.refresh_token);
}

#[tokio::test]
async fn the_token_works_in_every_header_form() {
    let w = world().await;
    let app = &w.app;
    let t = sign_in(app, json!({ "APIKey": w.api_key })).await.token;
    for value in [
        t.clone(),
        format!("JWT {t}"),
        format!("Bearer {t}"),
        format!("jwt {t}"),
        format!("  JWT   {t}  "),
    ] {
        assert_viewer_ok(app, &value).await;
    }
    for name in ["authorization", "AUTHORIZATION"] {
        for value in [t.clone(), format!("JWT {t}")] {
            let response = app
                .client
                .post(app.url("/v1/graphql/"))
                .header(name, value.as_str())
                .json(&json!({"query": VIEWER}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body["data"]["viewer"]["email"], EMAIL_LOWER,
                "{name}: {body}"
            );
        }
    }
}

#[tokio::test]
async fn tokens_expire_after_an_hour_and_refresh_for_seven_days() {
    let w = world().await;
    let app = &w.app;
    let first = sign_in(app, json!({ "APIKey": w.api_key })).await;

    app.clock.advance(Duration::minutes(59));
    assert_viewer_ok(app, &first.jwt()).await;
    app.clock.advance(Duration::minutes(1));
    assert_viewer_refused(app, &first.jwt(), "KT-CT-1124").await;
    assert_viewer_refused(app, &first.token, "KT-CT-1124").await;

    let refreshed = sign_in(app, json!({ "refreshToken": first.refresh_token })).await;
    assert_viewer_ok(app, &refreshed.jwt()).await;
    assert_ne!(refreshed.token, first.token);
    assert_eq!(refreshed.refresh_token, first.refresh_token);
    assert_eq!(refreshed.refresh_expires_in, first.refresh_expires_in);
    assert_eq!(refreshed.payload["origIat"], first.payload["origIat"]);
    assert_eq!(refreshed.payload["sub"], first.payload["sub"]);
    assert_eq!(refreshed.payload["gty"], "API-KEY");
    assert_eq!(refreshed.payload["iat"], app.clock.now().timestamp());
    let claims = claims_of(&refreshed.token);
    assert_eq!(claims["origIat"], first.payload["origIat"]);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    // The old token stays expired after a refresh.
    assert_viewer_refused(app, &first.jwt(), "KT-CT-1124").await;

    // Shortly before the refresh token's end it still works...
    app.clock
        .set(harness::start_instant() + Duration::seconds(SEVEN_DAYS - 60));
    let late = sign_in(app, json!({ "refreshToken": first.refresh_token })).await;
    assert_eq!(late.refresh_expires_in, first.refresh_expires_in);
    assert_viewer_ok(app, &late.jwt()).await;
    // ...and past seven days it does not.
    app.clock.advance(Duration::minutes(2));
    refused(
        app,
        json!({ "refreshToken": first.refresh_token }),
        "KT-CT-1134",
    )
    .await;

    refused(
        app,
        json!({ "refreshToken": "not-a-refresh-token-we-ever-issued" }),
        "KT-CT-1135",
    )
    .await;
    // A fresh sign-in still works.
    assert_viewer_ok(
        app,
        &sign_in(app, json!({ "APIKey": w.api_key })).await.jwt(),
    )
    .await;
}

#[tokio::test]
async fn forged_foreign_and_orphaned_tokens_are_rejected() {
    let w = world().await;
    let app = &w.app;
    let s = sign_in(app, json!({ "APIKey": w.api_key })).await;
    let parts: Vec<&str> = s.token.split('.').collect();

    // A tampered signature (the first character, so the decoded bytes certainly change).
    let mut signature: Vec<char> = parts[2].chars().collect();
    signature[0] = if signature[0] == 'A' { 'B' } else { 'A' };
    let signature: String = signature.into_iter().collect();
    let tampered = format!("{}.{}.{signature}", parts[0], parts[1]);
    assert_viewer_refused(app, &format!("JWT {tampered}"), "KT-CT-1139").await;

    // Claims changed under the original signature.
    let mut claims = claims_of(&s.token);
    claims["sub"] = json!("kraken|organisation:1");
    let forged_body = b64url_encode(claims.to_string().as_bytes());
    let forged = format!("{}.{forged_body}.{}", parts[0], parts[2]);
    assert_viewer_refused(app, &format!("JWT {forged}"), "KT-CT-1139").await;

    // `alg: none` with an empty signature.
    let none_header = b64url_encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{}.", parts[1]);
    assert_viewer_refused(app, &format!("JWT {unsigned}"), "KT-CT-1139").await;

    // Garbage.
    assert_viewer_refused(app, "JWT not-a-token", "KT-CT-1139").await;

    // A token from another server: its own database, so its own signing key, and the same ids.
    let other = world_on(TestApp::spawn().await).await;
    let foreign = sign_in(&other.app, json!({ "APIKey": other.api_key })).await;
    assert_viewer_ok(&other.app, &foreign.jwt()).await;
    assert_eq!(
        foreign.payload["sub"], s.payload["sub"],
        "same subject id on both servers, so only the signature tells them apart"
    );
    assert_viewer_refused(app, &foreign.jwt(), "KT-CT-1139").await;
    assert_viewer_refused(app, &foreign.token, "KT-CT-1139").await;
    // The other server's refresh token means nothing here either.
    refused(
        app,
        json!({ "refreshToken": foreign.refresh_token }),
        "KT-CT-1135",
    )
    .await;

    // A token for a user who has since been deleted.
    assert_viewer_ok(app, &s.jwt()).await;
    let user_id: i64 = viewer(app, Some(&s.jwt())).await["data"]["viewer"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    resiflex_store::identity::delete_user(&app.test_db.db, user_id, app.clock.now())
        .await
        .unwrap();
    assert_viewer_refused(app, &s.jwt(), "KT-CT-1139").await;
    refused(app, json!({ "APIKey": w.api_key }), "KT-CT-1139").await;
    refused(
        app,
        json!({ "refreshToken": s.refresh_token }),
        "KT-CT-1139",
    )
    .await;
}

#[tokio::test]
async fn missing_headers_bad_credentials_and_bad_input_have_their_codes() {
    let w = world().await;
    give_password(&w).await;
    let app = &w.app;

    assert_eq!(error_code(&viewer(app, None).await), "KT-CT-1112");
    assert_eq!(error_code(&viewer(app, Some("")).await), "KT-CT-1112");

    let body = refused(
        app,
        json!({ "email": EMAIL_LOWER, "password": "the wrong password" }),
        "KT-CT-1138",
    )
    .await;
    assert_eq!(body["errors"][0]["extensions"]["errorType"], "VALIDATION");
    let body = refused(
        app,
        json!({ "email": "nobody@example.com", "password": PASSWORD }),
        "KT-CT-1138",
    )
    .await;
    assert_eq!(body["errors"][0]["extensions"]["errorType"], "VALIDATION");
    refused(
        app,
        json!({ "email": "not an email", "password": PASSWORD }),
        "KT-CT-1138",
    )
    .await;

    let body = refused(app, json!({ "APIKey": "sk_live_wrong" }), "KT-CT-1139").await;
    assert_eq!(
        body["errors"][0]["extensions"]["errorType"],
        "AUTHORIZATION"
    );
    refused(
        app,
        json!({ "organizationSecretKey": "sk_live_wrong" }),
        "KT-CT-1139",
    )
    .await;
    refused(app, json!({ "preSignedKey": "wrong" }), "KT-CT-1139").await;

    let first = sign_in(app, json!({ "APIKey": w.api_key })).await;
    for input in [
        json!({}),
        json!({ "APIKey": "" }),
        json!({ "APIKey": w.api_key, "refreshToken": first.refresh_token }),
        json!({ "APIKey": w.api_key, "organizationSecretKey": w.org_key }),
        json!({ "email": EMAIL_LOWER, "password": PASSWORD, "APIKey": w.api_key }),
        json!({ "email": EMAIL_LOWER }),
        json!({ "password": PASSWORD }),
        json!({ "email": EMAIL_LOWER, "password": "" }),
    ] {
        let body = refused(app, input, "KT-CT-1605").await;
        assert_eq!(body["errors"][0]["extensions"]["errorType"], "VALIDATION");
    }
    // A literal without any field is refused the same way.
    let body = app
        .graphql(
            "mutation { obtainKrakenToken(input: {}) { token } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-1605", "{body}");

    // None of this locked the user out.
    sign_in(app, password_input()).await;
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_email_for_fifteen_minutes() {
    let w = world().await;
    give_password(&w).await;
    let app = &w.app;
    for attempt in 1..=5 {
        let body = refused(
            app,
            json!({ "email": EMAIL_LOWER, "password": format!("wrong password {attempt}") }),
            "KT-CT-1138",
        )
        .await;
        assert!(body["errors"][1].is_null(), "{body}");
    }
    // The sixth attempt is refused even with the right password, whatever the case of the address.
    let body = refused(app, password_input(), "KT-CT-1199").await;
    assert_eq!(
        body["errors"][0]["extensions"]["errorType"],
        "SERVICE_AVAILABILITY"
    );
    refused(
        app,
        json!({ "email": EMAIL, "password": PASSWORD }),
        "KT-CT-1199",
    )
    .await;
    // The lock is on the email: the same user's API key, from the same address, still works.
    sign_in(app, json!({ "APIKey": w.api_key })).await;

    app.clock.advance(Duration::minutes(14));
    refused(app, password_input(), "KT-CT-1199").await;
    app.clock.advance(Duration::minutes(2));
    let s = sign_in(app, password_input()).await;
    assert_viewer_ok(app, &s.jwt()).await;
    // A success forgets the failures: one more wrong password is just wrong.
    refused(
        app,
        json!({ "email": EMAIL_LOWER, "password": "wrong again" }),
        "KT-CT-1138",
    )
    .await;
    sign_in(app, password_input()).await;
}

#[tokio::test]
async fn thirty_failures_from_one_address_lock_it_for_fifteen_minutes() {
    let w = world().await;
    let app = &w.app;
    for attempt in 0..30 {
        refused(
            app,
            json!({ "APIKey": format!("sk_live_wrong{attempt}") }),
            "KT-CT-1139",
        )
        .await;
    }
    // The next attempt from that address is refused, whatever it carries.
    refused(app, json!({ "APIKey": w.api_key }), "KT-CT-1199").await;
    refused(
        app,
        json!({ "organizationSecretKey": w.org_key }),
        "KT-CT-1199",
    )
    .await;
    refused(
        app,
        json!({ "email": EMAIL_LOWER, "password": PASSWORD }),
        "KT-CT-1199",
    )
    .await;
    // A forged `X-Forwarded-For` does not get round it (the server does not trust it by default).
    let response = app
        .client
        .post(app.url("/v1/graphql/"))
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({"query": SIGN_IN, "variables": {"input": {"APIKey": w.api_key}}}))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "KT-CT-1199", "{body}");
    // Tokens already issued are not affected.
    assert_reaches_account(&w, &format!("JWT {}", w.org_token), "the issued token").await;

    app.clock.advance(Duration::minutes(16));
    let s = sign_in(app, json!({ "APIKey": w.api_key })).await;
    assert_viewer_ok(app, &s.jwt()).await;
}

#[tokio::test]
async fn users_of_a_dormant_account_cannot_sign_in() {
    let w = world().await;
    give_password(&w).await;
    let app = &w.app;
    let db = &app.test_db.db;
    let before = sign_in(app, json!({ "APIKey": w.api_key })).await;
    assert_viewer_ok(app, &before.jwt()).await;

    resiflex::admin::set_account_status(db, &w.number, "DORMANT")
        .await
        .unwrap();
    refused(app, json!({ "APIKey": w.api_key }), "KT-CT-1139").await;
    refused(app, password_input(), "KT-CT-1139").await;
    refused(
        app,
        json!({ "refreshToken": before.refresh_token }),
        "KT-CT-1139",
    )
    .await;
    assert_viewer_refused(app, &before.jwt(), "KT-CT-1139").await;
    // The organisation still reaches the account.
    let body = app
        .graphql_as(
            Some(&format!("JWT {}", w.org_token)),
            "query($n: String!) { account(accountNumber: $n) { status } }",
            json!({"n": w.number}),
        )
        .await;
    assert_eq!(body["data"]["account"]["status"], "DORMANT", "{body}");

    resiflex::admin::set_account_status(db, &w.number, "ACTIVE")
        .await
        .unwrap();
    assert_viewer_ok(app, &before.jwt()).await;
    let after = sign_in(app, json!({ "APIKey": w.api_key })).await;
    assert_viewer_ok(app, &after.jwt()).await;
    sign_in(app, password_input()).await;
    sign_in(app, json!({ "refreshToken": before.refresh_token })).await;
}

#[tokio::test]
async fn pre_signed_keys_sign_in_until_they_expire() {
    let w = world().await;
    let app = &w.app;
    let org = format!("JWT {}", w.org_token);
    let mint = "mutation($email: String!) { \
                generatePreSignedToken(email: $email, expiryMinutes: 5) { token tokenExpiryDatetime } }";
    let body = app
        .graphql_as(Some(&org), mint, json!({"email": EMAIL_LOWER}))
        .await;
    let minted = &body["data"]["generatePreSignedToken"];
    let key = minted["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let expiry =
        chrono::DateTime::parse_from_rfc3339(minted["tokenExpiryDatetime"].as_str().unwrap())
            .unwrap();
    assert_eq!(expiry, harness::start_instant() + Duration::minutes(5));

    // A pre-signed key signs in once, and its session gets no refresh token.
    let body = sign_in_pre_signed_key(app, &key).await;
    assert!(body["errors"].is_null(), "{body}");
    let t = &body["data"]["obtainKrakenToken"];
    assert_eq!(t["payload"]["gty"], "PRE-SIGNED-KEY");
    assert!(t["refreshToken"].is_null(), "{body}");
    assert_viewer_ok(app, &format!("JWT {}", t["token"].as_str().unwrap())).await;
    refused(app, json!({ "preSignedKey": key }), "KT-CT-1139").await;

    // Only organisations mint keys, and only for their own customers.
    let user = format!(
        "JWT {}",
        sign_in(app, json!({ "APIKey": w.api_key })).await.token
    );
    let body = app
        .graphql_as(Some(&user), mint, json!({"email": EMAIL_LOWER}))
        .await;
    assert_eq!(error_code(&body), "KT-CT-1131", "{body}");
    let body = app
        .graphql_as(Some(&org), mint, json!({"email": "stranger@example.com"}))
        .await;
    assert_eq!(error_code(&body), "KT-CT-1128", "{body}");

    let mint_key = || async {
        let body = app
            .graphql_as(Some(&org), mint, json!({"email": EMAIL_LOWER}))
            .await;
        pre_signed_token_of(&body)
    };
    let (early, late) = (mint_key().await, mint_key().await);
    app.clock.advance(Duration::minutes(4));
    let body = sign_in_pre_signed_key(app, &early).await;
    assert!(body["errors"].is_null(), "before expiry: {body}");
    app.clock.advance(Duration::minutes(2));
    refused(app, json!({ "preSignedKey": late }), "KT-CT-1139").await;
    // A fresh key minted now works again.
    let body = app
        .graphql_as(Some(&org), mint, json!({"email": EMAIL_LOWER}))
        .await;
    let fresh = pre_signed_token_of(&body);
    let body = sign_in_pre_signed_key(app, &fresh).await;
    assert!(body["errors"].is_null(), "a fresh key: {body}");
}

#[tokio::test]
async fn a_rotated_organisation_key_replaces_the_old_one() {
    let w = world().await;
    let app = &w.app;
    let rotated = resiflex::admin::rotate_organisation_key(&app.test_db.db, w.org_id)
        .await
        .unwrap();
    let new_key = rotated["secretKey"].as_str().unwrap().to_owned();
    assert_ne!(new_key, w.org_key);
    refused(
        app,
        json!({ "organizationSecretKey": w.org_key }),
        "KT-CT-1139",
    )
    .await;
    let s = sign_in(app, json!({ "organizationSecretKey": new_key })).await;
    assert_eq!(s.payload["gty"], "ORGANIZATION-SECRET-KEY");
    assert_eq!(
        s.payload["sub"],
        format!("kraken|organisation:{}", w.org_id)
    );
    assert_reaches_account(&w, &s.jwt(), "the new key's session").await;
    assert!(
        resiflex::admin::rotate_organisation_key(&app.test_db.db, w.org_id + 1000)
            .await
            .is_err(),
        "an unknown organisation is an error"
    );
}
