//! Secrets at rest against the real server: the token-signing key and the vendors' grant tokens
//! are encrypted in the database under a master key kept outside it; plain rows from before are
//! sealed at start; a restart with the same key still verifies old tokens and reads grants; a
//! wrong key stops the start with a clear error and changes nothing; a key file is created
//! readable by its owner only; `rotate-key` moves every secret to a new key.

use crate::harness;

use std::sync::Arc;

use harness::TestApp;
use harness::scenario;
use resiflex::config::MasterKeys;
use resiflex::server::Server;
use resiflex_domain::SharedClock;
use resiflex_store::Db;
use resiflex_store::devices as store;
use resiflex_store::secrets::{MasterKey, TOKEN_SIGNING_KEY, get_or_create};
use resiflex_store::testing::{raw_execute, raw_texts};
use serde_json::Value;

const VIEWER: &str = "query { viewer { email } }";

async fn raw_secret(db: &Db, name: &str) -> String {
    let mut values = raw_texts(
        db,
        "SELECT value FROM server_secrets WHERE name = $1",
        &[name],
    )
    .await;
    values.pop().expect("the secret is stored")
}

async fn all_raw_secrets(db: &Db) -> Vec<String> {
    raw_texts(db, "SELECT value FROM server_secrets ORDER BY name", &[]).await
}

async fn raw_grant(db: &Db, id: i64) -> String {
    let sql = format!("SELECT secret FROM provider_grants WHERE id = {id}");
    let mut values = raw_texts(db, &sql, &[]).await;
    values.pop().expect("the grant is stored")
}

async fn execute(db: &Db, sql: &str, a: &str, b: &str) {
    raw_execute(db, sql, &[a, b]).await;
}

async fn viewer_email(app: &TestApp, token: &str) -> Value {
    let body = app
        .graphql_as(Some(&format!("JWT {token}")), VIEWER, Value::Null)
        .await;
    body["data"]["viewer"]["email"].clone()
}

/// A vendor grant of the customer's account, stored as onboarding stores it.
async fn grant(app: &TestApp, account_number: &str, secret: &str) -> i64 {
    let account = resiflex_store::accounts::account_by_number(&app.test_db.db, account_number)
        .await
        .unwrap()
        .unwrap();
    store::insert_grant(
        &app.test_db.db,
        account.id,
        resiflex_domain::device::Provider::Tesla,
        "vendor-login",
        secret,
        harness::start_instant(),
    )
    .await
    .unwrap()
    .id
}

#[tokio::test]
async fn stored_secrets_are_encrypted_and_survive_a_restart_with_the_same_key() {
    let app = TestApp::spawn().await;
    let customer = scenario::customer(&app, "Sealed", "sealed@example.com").await;
    let signing_key = get_or_create(&app.test_db.db, TOKEN_SIGNING_KEY, harness::start_instant())
        .await
        .unwrap();
    let raw = raw_secret(&app.test_db.db, TOKEN_SIGNING_KEY).await;
    assert!(raw.starts_with("rfx1:"), "sealed with a key id: {raw}");
    assert!(!raw.contains(&signing_key), "no plain signing key in {raw}");
    let vendor_tokens = r#"{"access_token":"at-very-secret","refresh_token":"rt-very-secret"}"#;
    let id = grant(&app, &customer.account_number, vendor_tokens).await;
    let raw = raw_grant(&app.test_db.db, id).await;
    assert!(
        !raw.contains("very-secret") && raw.starts_with("rfx1:"),
        "no plain vendor token in {raw}"
    );

    let app = app.restart().await;
    assert_eq!(
        viewer_email(&app, &customer.token).await,
        "sealed@example.com",
        "a token from before the restart still verifies"
    );
    // A handle keyed as the server keys its own (the test database's URL alone misses the
    // PostgreSQL test schema, so it is reopened through the harness).
    let keys = resiflex::secrets::key_ring(&app.config).unwrap();
    let server_db = app.test_db.reopen().await.with_secret_keys(keys);
    let read = store::grant_by_id(&server_db, id).await.unwrap().unwrap();
    assert_eq!(read.secret, vendor_tokens, "the grant reads back");
    server_db.close().await;
}

#[tokio::test]
async fn plain_secrets_from_before_are_encrypted_at_start() {
    let app = TestApp::spawn().await;
    let customer = scenario::customer(&app, "Legacy", "legacy@example.com").await;
    let signing_key = get_or_create(&app.test_db.db, TOKEN_SIGNING_KEY, harness::start_instant())
        .await
        .unwrap();
    let id = grant(&app, &customer.account_number, "legacy-vendor-token").await;
    // As a database written before encryption holds them.
    execute(
        &app.test_db.db,
        "UPDATE server_secrets SET value = $1 WHERE name = $2",
        &signing_key,
        TOKEN_SIGNING_KEY,
    )
    .await;
    raw_execute(
        &app.test_db.db,
        &format!("UPDATE provider_grants SET secret = 'legacy-vendor-token' WHERE id = {id}"),
        &[],
    )
    .await;

    let app = app.restart().await;
    let raw = raw_secret(&app.test_db.db, TOKEN_SIGNING_KEY).await;
    assert!(
        raw.starts_with("rfx1:") && !raw.contains(&signing_key),
        "{raw}"
    );
    let raw = raw_grant(&app.test_db.db, id).await;
    assert!(raw.starts_with("rfx1:") && !raw.contains("legacy"), "{raw}");
    assert_eq!(
        viewer_email(&app, &customer.token).await,
        "legacy@example.com",
        "the same signing key, now sealed"
    );
    let read = store::grant_by_id(&app.test_db.db, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.secret, "legacy-vendor-token");
}

#[tokio::test]
async fn a_wrong_master_key_stops_the_start_and_changes_nothing() {
    let mut app = TestApp::spawn().await;
    let before = raw_secret(&app.test_db.db, TOKEN_SIGNING_KEY).await;
    app.shutdown().await;
    let mut config = app.config.clone();
    config.listen = "127.0.0.1:0".parse().unwrap();
    let wrong = MasterKey::generate();
    config.secrets.master_key = Some(MasterKeys(wrong.to_text()));
    let clock: SharedClock = Arc::new(app.clock.clone());
    let err = match Server::with_database(&config, app.test_db.reopen().await, clock).await {
        Ok(_) => panic!("a server with the wrong master key started"),
        Err(err) => format!("{err:#}"),
    };
    assert!(err.contains("not among the configured keys"), "{err}");
    assert!(err.contains(wrong.id()), "names the configured key: {err}");
    assert_eq!(
        raw_secret(&app.test_db.db, TOKEN_SIGNING_KEY).await,
        before,
        "the signing key is never regenerated"
    );
    let keyed = app
        .test_db
        .reopen()
        .await
        .with_secret_keys(resiflex::secrets::key_ring(&config).unwrap());
    let err = resiflex::secrets::prepare(&keyed)
        .await
        .expect_err("the start-up step of every command refuses too");
    assert!(format!("{err:#}").contains("master key"), "{err:#}");
}

#[tokio::test]
async fn a_key_file_is_created_for_its_owner_only_and_used_again() {
    let folder = tempfile::tempdir().unwrap();
    let key_file = folder.path().join("master.key");
    let app = TestApp::spawn_with(|c| {
        c.secrets.master_key = None;
        c.secrets.key_file = Some(key_file.clone());
    })
    .await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let text = std::fs::read_to_string(&key_file).unwrap();
    let key_line = text.lines().find(|l| !l.starts_with('#')).unwrap();
    let key = MasterKey::from_text(key_line).unwrap();
    let raw = raw_secret(&app.test_db.db, TOKEN_SIGNING_KEY).await;
    assert!(
        raw.starts_with(&format!("rfx1:{}:", key.id())),
        "sealed with the file's key: {raw}"
    );
    let customer = scenario::customer(&app, "Filed", "filed@example.com").await;
    let app = app.restart().await;
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        text,
        "the same key file"
    );
    assert_eq!(
        viewer_email(&app, &customer.token).await,
        "filed@example.com"
    );
}

#[tokio::test]
async fn rotating_the_key_file_re_encrypts_every_secret() {
    let folder = tempfile::tempdir().unwrap();
    let key_file = folder.path().join("master.key");
    let mut app = TestApp::spawn_with(|c| {
        c.secrets.master_key = None;
        c.secrets.key_file = Some(key_file.clone());
    })
    .await;
    let customer = scenario::customer(&app, "Rotated", "rotated@example.com").await;
    let old = raw_secret(&app.test_db.db, TOKEN_SIGNING_KEY).await;
    app.shutdown().await;
    let report = resiflex::secrets::rotate(&app.config, app.test_db.reopen().await)
        .await
        .unwrap();
    let new_id = report["keyId"].as_str().unwrap();
    let rows = all_raw_secrets(&app.test_db.db).await;
    assert_eq!(
        report["resealed"],
        rows.len(),
        "every server secret: {report}"
    );
    for raw in &rows {
        assert!(raw.starts_with(&format!("rfx1:{new_id}:")), "{raw}");
    }
    let text = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(
        text.lines().filter(|l| !l.starts_with('#')).count(),
        1,
        "only the new key is left: {text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let raw = raw_secret(&app.test_db.db, TOKEN_SIGNING_KEY).await;
    assert_ne!(raw, old);
    assert!(raw.starts_with(&format!("rfx1:{new_id}:")), "{raw}");
    let app = app.restart().await;
    assert_eq!(
        viewer_email(&app, &customer.token).await,
        "rotated@example.com",
        "the signing key is the same, under the new master key"
    );
}
