//! Attacks on credentials, each against the real server over HTTP: concurrent password guessing,
//! locking an owner out from elsewhere, flooding the password hasher, guessing a charge point's
//! password, and sessions that outlive the credential that started them.

use crate::harness;

use std::net::{IpAddr, Ipv4Addr};

use futures::future::join_all;
use harness::scenario::{self, Customer};
use harness::{TestApp, error_code};
use resiflex_domain::Clock as _;
use resiflex_providers::DeviceProvider as _;
use serde_json::{Value, json};

const VIEWER: &str = "query { viewer { email } }";
const REGENERATE: &str = "mutation { regenerateSecretKey { key } }";

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

fn jwt(token: &str) -> String {
    format!("JWT {token}")
}

/// Sends many sign-ins at once and returns the answers in order.
async fn sign_in_all(app: &TestApp, inputs: Vec<Value>) -> Vec<Value> {
    let client = app.client.clone();
    let url = app.url("/v1/graphql/");
    let requests = inputs.into_iter().map(|input| {
        let client = client.clone();
        let url = url.clone();
        tokio::spawn(async move {
            client
                .post(url)
                .json(&json!({"query": scenario::SIGN_IN, "variables": {"input": input}}))
                .send()
                .await
                .expect("request sent")
                .json::<Value>()
                .await
                .expect("JSON body")
        })
    });
    join_all(requests)
        .await
        .into_iter()
        .map(|answer| answer.expect("request task"))
        .collect()
}

fn succeeded(body: &Value) -> bool {
    body["errors"].is_null() && body["data"]["obtainKrakenToken"]["token"].is_string()
}

async fn viewer_code(app: &TestApp, token: &str) -> Option<String> {
    let body = app.graphql_as(Some(&jwt(token)), VIEWER, json!({})).await;
    harness::error_codes(&body).into_iter().next()
}

async fn assert_viewer_ok(app: &TestApp, token: &str, email: &str) {
    let body = app.graphql_as(Some(&jwt(token)), VIEWER, json!({})).await;
    assert_eq!(body["data"]["viewer"]["email"], email, "{body}");
}

/// Signs in with an email and password through `client` (see `scenario::client_from`).
async fn password_from(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> Value {
    scenario::try_sign_in_with(app, client, json!({"email": email, "password": password})).await
}

async fn refresh(app: &TestApp, refresh_token: &str) -> Value {
    scenario::try_sign_in(app, json!({ "refreshToken": refresh_token })).await
}

// ---------------------------------------------------------------------------------------------
// Throttling that holds under concurrency
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn concurrent_wrong_guesses_never_exceed_the_limit_and_a_late_right_one_is_refused() {
    let app = TestApp::spawn().await;
    let c = scenario::customer(&app, "Acme", "ada@example.com").await;
    let limit = app.config.sign_in.max_failures_per_identity_and_address;
    let mut inputs: Vec<Value> = (0..99)
        .map(|i| json!({"email": c.email, "password": format!("wrong guess {i}")}))
        .collect();
    inputs.insert(50, json!({"email": c.email, "password": c.password}));
    let answers = sign_in_all(&app, inputs).await;

    let wrong = answers
        .iter()
        .filter(|b| harness::error_codes(b).first().map(String::as_str) == Some("KT-CT-1138"))
        .count();
    let accepted = answers.iter().filter(|b| succeeded(b)).count();
    let throttled = answers
        .iter()
        .filter(|b| harness::error_codes(b).first().map(String::as_str) == Some("KT-CT-1199"))
        .count();
    assert_eq!(
        wrong + accepted + throttled,
        100,
        "every answer is a wrong password, a sign-in or a refusal: {answers:?}"
    );
    assert!(
        (wrong + accepted) as i64 <= limit,
        "{wrong} wrong and {accepted} right guesses were evaluated; the limit is {limit}"
    );
    assert!(wrong >= 1, "some guesses were evaluated");
    // The limit is spent: now even the right password is refused from this address.
    if accepted == 0 {
        let body = scenario::sign_in_password(&app, &c.email, &c.password).await;
        assert_eq!(error_code(&body), "KT-CT-1199", "{body}");
    }
}

#[tokio::test]
async fn the_owner_signs_in_from_home_while_an_attacker_is_throttled_elsewhere() {
    let app = TestApp::spawn().await;
    let c = scenario::customer(&app, "Acme", "ada@example.com").await;
    let home = scenario::client_from(loopback(1));
    let owner = password_from(&app, &home, &c.email, &c.password).await;
    assert!(succeeded(&owner), "{owner}");

    // An attacker guesses from one address until refused there, even with the right password.
    let attacker = scenario::client_from(loopback(2));
    let per_pair = app.config.sign_in.max_failures_per_identity_and_address;
    for i in 0..per_pair {
        let body = password_from(&app, &attacker, &c.email, &format!("guess {i}")).await;
        assert_eq!(error_code(&body), "KT-CT-1138", "{body}");
    }
    let body = password_from(&app, &attacker, &c.email, &c.password).await;
    assert_eq!(error_code(&body), "KT-CT-1199", "{body}");

    // The owner, at home, is not locked out.
    let body = password_from(&app, &home, &c.email, &c.password).await;
    assert!(succeeded(&body), "the owner is locked out: {body}");

    // Guessing from many addresses reaches the email's ceiling: new addresses are refused...
    let ceiling = app.config.sign_in.max_failures_per_identity;
    let mut failures = per_pair;
    let mut last = 3u8;
    while failures < ceiling {
        let from = scenario::client_from(loopback(last));
        for i in 0..per_pair.min(ceiling - failures) {
            let body = password_from(&app, &from, &c.email, &format!("guess {last} {i}")).await;
            assert_eq!(error_code(&body), "KT-CT-1138", "{body}");
            failures += 1;
        }
        last += 1;
    }
    let stranger = scenario::client_from(loopback(last));
    let body = password_from(&app, &stranger, &c.email, &c.password).await;
    assert_eq!(error_code(&body), "KT-CT-1199", "{body}");
    // ...but the owner's own address still signs in.
    let body = password_from(&app, &home, &c.email, &c.password).await;
    assert!(succeeded(&body), "the owner is locked out: {body}");
}

#[tokio::test]
async fn a_flood_of_password_checks_is_answered_busy_and_the_pool_recovers() {
    let app = TestApp::spawn_with(|config| {
        config.sign_in.password_workers = 1;
        config.sign_in.password_queue = 2;
        config.sign_in.max_failures_per_address = 10_000;
    })
    .await;
    let c = scenario::customer(&app, "Acme", "ada@example.com").await;
    // Different emails, so no per-email limit applies: only the pool can refuse.
    let inputs = (0..60)
        .map(|i| json!({"email": format!("guess{i}@example.com"), "password": "wrong password"}))
        .collect();
    let answers = sign_in_all(&app, inputs).await;
    let busy: Vec<&Value> = answers
        .iter()
        .filter(|b| harness::error_codes(b).first().map(String::as_str) == Some("KT-CT-1199"))
        .collect();
    assert!(
        !busy.is_empty(),
        "a flood of password checks is refused, not queued without bound"
    );
    for body in &busy {
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("busy"), "{body}");
    }
    for body in &answers {
        let code = error_code(body);
        assert!(code == "KT-CT-1138" || code == "KT-CT-1199", "{body}");
    }
    // Refused checks were never evaluated, and the pool serves again once the flood is over.
    let body = scenario::sign_in_password(&app, &c.email, &c.password).await;
    assert!(succeeded(&body), "{body}");
}

/// The status of an OCPP WebSocket handshake as charge point `id` with `password`, from `from`.
async fn ocpp_handshake(app: &TestApp, from: &reqwest::Client, id: &str, password: &str) -> u16 {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{password}"));
    from.get(app.url(&format!("/ocpp/{id}")))
        .header("Authorization", format!("Basic {basic}"))
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("Sec-WebSocket-Protocol", "ocpp1.6")
        .send()
        .await
        .expect("handshake sent")
        .status()
        .as_u16()
}

async fn enrol(app: &TestApp, key: &str) -> (String, String) {
    let details = app
        .ocpp
        .provider("OCPP")
        .enrolment()
        .expect("OCPP enrols chargers")
        .enrol(key, app.clock.now())
        .await
        .expect("enrolled");
    (details.device_id, details.password.expect("a new password"))
}

async fn stored_hash(app: &TestApp, id: &str) -> String {
    resiflex_store::ocpp::charge_point(&app.test_db.db, id)
        .await
        .expect("read")
        .expect("enrolled")
        .password_hash
}

#[tokio::test]
async fn a_charge_point_guessed_at_is_throttled_but_still_connects_from_elsewhere() {
    let app = TestApp::spawn().await;
    let (id, password) = enrol(&app, "enrolment-1").await;
    let attacker = scenario::client_from(loopback(2));
    for i in 0..app.config.sign_in.max_failures_per_identity_and_address {
        let status = ocpp_handshake(&app, &attacker, &id, &format!("wrong-password-{i:04}")).await;
        assert_eq!(status, 401);
    }
    assert_eq!(
        ocpp_handshake(&app, &attacker, &id, &password).await,
        429,
        "the next attempt is refused before its password is checked"
    );
    let charger = scenario::client_from(loopback(1));
    assert_eq!(ocpp_handshake(&app, &charger, &id, &password).await, 101);
}

#[tokio::test]
async fn charge_point_passwords_are_salted_and_old_hashes_are_upgraded() {
    let app = TestApp::spawn().await;
    let (id, password) = enrol(&app, "enrolment-1").await;
    let hash = stored_hash(&app, &id).await;
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(&password));

    // Two chargers with the same password have different stored hashes, and both connect.
    let (other, _) = enrol(&app, "enrolment-2").await;
    let db = &app.test_db.db;
    let same = "the-same-password-for-both";
    for cp in [&id, &other] {
        let salted = resiflex_ocpp::auth::hash_password(same).expect("hashed");
        let old = stored_hash(&app, cp).await;
        assert!(
            resiflex_store::ocpp::upgrade_password_hash(db, cp, &old, &salted)
                .await
                .expect("stored")
        );
    }
    assert_ne!(
        stored_hash(&app, &id).await,
        stored_hash(&app, &other).await
    );
    let from = scenario::client_from(loopback(1));
    assert_eq!(ocpp_handshake(&app, &from, &id, same).await, 101);
    assert_eq!(ocpp_handshake(&app, &from, &other, same).await, 101);

    // A charger stored before salting (an unsalted SHA-256) still connects, and is upgraded.
    let legacy = resiflex_ocpp::auth::legacy_hash(same);
    let current = stored_hash(&app, &id).await;
    resiflex_store::ocpp::upgrade_password_hash(db, &id, &current, &legacy)
        .await
        .expect("stored");
    assert_eq!(
        ocpp_handshake(&app, &from, &id, "wrong-password-0000").await,
        401
    );
    assert_eq!(
        stored_hash(&app, &id).await,
        legacy,
        "a wrong password changes nothing"
    );
    assert_eq!(ocpp_handshake(&app, &from, &id, same).await, 101);
    let upgraded = stored_hash(&app, &id).await;
    assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
    assert_eq!(ocpp_handshake(&app, &from, &id, same).await, 101);
}

// ---------------------------------------------------------------------------------------------
// Credentials revoke what they issued
// ---------------------------------------------------------------------------------------------

fn answer(body: &Value) -> &Value {
    assert!(body["errors"].is_null(), "{body}");
    &body["data"]["obtainKrakenToken"]
}

async fn password_session(app: &TestApp, c: &Customer) -> (String, String) {
    let body = scenario::sign_in_password(app, &c.email, &c.password).await;
    (
        scenario::token_of(&body, "password sign-in"),
        scenario::refresh_token_of(&body, "password sign-in"),
    )
}

async fn api_key_session(app: &TestApp, key: &str) -> (String, String) {
    let body = scenario::try_sign_in(app, json!({ "APIKey": key })).await;
    (
        scenario::token_of(&body, "API key sign-in"),
        scenario::refresh_token_of(&body, "API key sign-in"),
    )
}

#[tokio::test]
async fn regenerating_the_api_key_ends_the_old_keys_tokens_and_refresh_tokens() {
    let app = TestApp::spawn().await;
    let c = scenario::customer(&app, "Acme", "ada@example.com").await;
    let (key_token, key_refresh) = api_key_session(&app, &c.api_key).await;
    let (password_token, _) = password_session(&app, &c).await;

    let body = app
        .graphql_as(Some(&jwt(&password_token)), REGENERATE, json!({}))
        .await;
    let new_key = body["data"]["regenerateSecretKey"]["key"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();

    for token in [&key_token, &c.token] {
        assert_eq!(
            viewer_code(&app, token).await.as_deref(),
            Some("KT-CT-1139")
        );
    }
    assert_eq!(error_code(&refresh(&app, &key_refresh).await), "KT-CT-1135");
    let body = scenario::try_sign_in(&app, json!({ "APIKey": c.api_key })).await;
    assert_eq!(error_code(&body), "KT-CT-1139", "{body}");
    // The password's session and the new key are unaffected.
    assert_viewer_ok(&app, &password_token, &c.email).await;
    let (token, _) = api_key_session(&app, &new_key).await;
    assert_viewer_ok(&app, &token, &c.email).await;
}

#[tokio::test]
async fn a_password_change_ends_the_old_passwords_sessions() {
    let app = TestApp::spawn().await;
    let c = scenario::customer(&app, "Acme", "ada@example.com").await;
    let (token, refresh_token) = password_session(&app, &c).await;
    assert_viewer_ok(&app, &token, &c.email).await;

    resiflex::admin::set_password(&app.test_db.db, &c.email, "a brand new password")
        .await
        .expect("password set");
    assert_eq!(
        viewer_code(&app, &token).await.as_deref(),
        Some("KT-CT-1139")
    );
    assert_eq!(
        error_code(&refresh(&app, &refresh_token).await),
        "KT-CT-1135"
    );
    let body = scenario::sign_in_password(&app, &c.email, &c.password).await;
    assert_eq!(error_code(&body), "KT-CT-1138", "{body}");
    let body = scenario::sign_in_password(&app, &c.email, "a brand new password").await;
    let fresh = scenario::token_of(&body, "new password");
    assert_viewer_ok(&app, &fresh, &c.email).await;
    // Another credential's session lives on.
    assert_viewer_ok(&app, &c.token, &c.email).await;
}

#[tokio::test]
async fn a_pre_signed_key_signs_in_once_without_a_refresh_token_and_cannot_change_credentials() {
    let app = TestApp::spawn().await;
    let c = scenario::customer(&app, "Acme", "ada@example.com").await;
    let key = scenario::mint_pre_signed(&app, &jwt(&c.org_token), &c.email).await;

    let body = scenario::try_sign_in(&app, json!({ "preSignedKey": key })).await;
    let signed_in = answer(&body);
    assert_eq!(signed_in["payload"]["gty"], "PRE-SIGNED-KEY");
    assert!(signed_in["refreshToken"].is_null(), "{body}");
    assert!(signed_in["refreshExpiresIn"].is_null(), "{body}");
    let token = signed_in["token"].as_str().expect("token").to_owned();
    assert_viewer_ok(&app, &token, &c.email).await;

    let again = scenario::try_sign_in(&app, json!({ "preSignedKey": key })).await;
    assert_eq!(
        error_code(&again),
        "KT-CT-1139",
        "a key signs in once: {again}"
    );

    let body = app
        .graphql_as(Some(&jwt(&token)), REGENERATE, json!({}))
        .await;
    assert_eq!(error_code(&body), "KT-CT-1111", "{body}");
    // The user's own key was not replaced.
    assert_viewer_ok(&app, &c.token, &c.email).await;
}

#[tokio::test]
async fn invalidating_a_pre_signed_key_ends_its_session() {
    let app = TestApp::spawn().await;
    let c = scenario::customer(&app, "Acme", "ada@example.com").await;
    let key = scenario::mint_pre_signed(&app, &jwt(&c.org_token), &c.email).await;
    let body = scenario::try_sign_in(&app, json!({ "preSignedKey": key })).await;
    let token = scenario::token_of(&body, "pre-signed sign-in");
    assert_viewer_ok(&app, &token, &c.email).await;

    let body = app
        .graphql_as(
            Some(&jwt(&c.org_token)),
            "mutation($t: String!) { invalidatePreSignedToken(input: {token: $t}) { invalidated } }",
            json!({"t": key}),
        )
        .await;
    assert_eq!(
        body["data"]["invalidatePreSignedToken"]["invalidated"], true,
        "{body}"
    );
    assert_eq!(
        viewer_code(&app, &token).await.as_deref(),
        Some("KT-CT-1139")
    );

    // invalidatePreSignedTokensForUser ends a session the same way.
    let key = scenario::mint_pre_signed(&app, &jwt(&c.org_token), &c.email).await;
    let body = scenario::try_sign_in(&app, json!({ "preSignedKey": key })).await;
    let token = scenario::token_of(&body, "pre-signed sign-in");
    let body = app
        .graphql_as(
            Some(&jwt(&c.org_token)),
            "mutation($e: String!) { invalidatePreSignedTokensForUser(input: {email: $e}) { invalidatedCount } }",
            json!({"e": c.email}),
        )
        .await;
    assert_eq!(
        body["data"]["invalidatePreSignedTokensForUser"]["invalidatedCount"], 1,
        "{body}"
    );
    assert_eq!(
        viewer_code(&app, &token).await.as_deref(),
        Some("KT-CT-1139")
    );
    assert_viewer_ok(&app, &c.token, &c.email).await;
}

#[tokio::test]
async fn two_tokens_minted_in_the_same_second_differ() {
    let app = TestApp::spawn().await;
    let c = scenario::customer(&app, "Acme", "ada@example.com").await;
    // The test clock stands still: both are issued at the same instant.
    let first = scenario::try_sign_in(&app, json!({ "APIKey": c.api_key })).await;
    let second = scenario::try_sign_in(&app, json!({ "APIKey": c.api_key })).await;
    assert_eq!(
        answer(&first)["payload"]["iat"],
        answer(&second)["payload"]["iat"]
    );
    assert_ne!(answer(&first)["token"], answer(&second)["token"]);
    let jti = |b: &Value| answer(b)["payload"]["jti"].as_str().map(str::to_owned);
    assert!(jti(&first).is_some());
    assert_ne!(jti(&first), jti(&second));
}

#[tokio::test]
async fn rotating_the_organisation_key_ends_its_tokens_and_refresh_tokens() {
    let app = TestApp::spawn().await;
    let c = scenario::customer(&app, "Acme", "ada@example.com").await;
    let body = scenario::try_sign_in(&app, json!({ "organizationSecretKey": c.org_key })).await;
    let refresh_token = scenario::refresh_token_of(&body, "organisation sign-in");
    let account = "query($n: String!) { account(accountNumber: $n) { number } }";
    let reach = |token: String| {
        let app = &app;
        let number = c.account_number.clone();
        async move {
            app.graphql_as(Some(&jwt(&token)), account, json!({"n": number}))
                .await
        }
    };
    let body = reach(c.org_token.clone()).await;
    assert_eq!(
        body["data"]["account"]["number"], c.account_number,
        "{body}"
    );

    let org_id = resiflex_store::identity::organisation_by_key_hash(
        &app.test_db.db,
        &resiflex_api::auth::credentials::hash_secret(&c.org_key),
    )
    .await
    .expect("read")
    .expect("organisation")
    .id;
    let rotated = resiflex::admin::rotate_organisation_key(&app.test_db.db, org_id)
        .await
        .expect("rotated");
    let body = reach(c.org_token.clone()).await;
    assert_eq!(error_code(&body), "KT-CT-1139", "{body}");
    assert_eq!(
        error_code(&refresh(&app, &refresh_token).await),
        "KT-CT-1135"
    );
    let new_key = rotated["secretKey"].as_str().expect("new key");
    let token = scenario::sign_in_organisation(&app, new_key).await;
    let body = reach(token).await;
    assert_eq!(
        body["data"]["account"]["number"], c.account_number,
        "{body}"
    );
}
