//! The server as an operator runs it: the real binary, its configuration, its persisted secrets and
//! its graceful shutdown.

use crate::harness;

use std::process::Stdio;
use std::time::Duration;

use harness::TestApp;
use resiflex_store::secrets::{TOKEN_SIGNING_KEY, get_or_create};
use serde_json::Value;

#[tokio::test]
async fn a_restart_keeps_the_generated_secrets() {
    let app = TestApp::spawn().await;
    let before = get_or_create(&app.test_db.db, TOKEN_SIGNING_KEY, harness::start_instant())
        .await
        .unwrap();
    let app = app.restart().await;
    app.assert_alive().await;
    let after = get_or_create(&app.test_db.db, TOKEN_SIGNING_KEY, harness::start_instant())
        .await
        .unwrap();
    assert_eq!(before, after);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_healthy(base: &str) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(response) = client.get(format!("{base}/healthz")).send().await
            && response.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not become healthy at {base}");
}

#[cfg(unix)]
#[tokio::test]
async fn the_binary_serves_on_its_defaults_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // The environment variable selects the address; the default database file appears in the working folder.
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_resiflex"))
        .arg("serve")
        .current_dir(dir.path())
        .env("RESIFLEX_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("RESIFLEX_DATABASE_URL")
        .env("RESIFLEX_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    assert!(
        dir.path().join("resiflex.db").exists(),
        "sqlite://resiflex.db is created in the working folder"
    );

    // A slow request in flight when the signal arrives still gets its answer.
    let client = reqwest::Client::new();
    let in_flight = tokio::spawn({
        let client = client.clone();
        let base = base.clone();
        async move {
            client
                .post(format!("{base}/v1/graphql/"))
                .json(&serde_json::json!({"query": "{ __typename }"}))
                .send()
                .await
        }
    });
    let pid = child.id().unwrap();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = in_flight.await.unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit.code(), Some(0), "a graceful stop exits 0");

    let mut stderr = String::new();
    use tokio::io::AsyncReadExt as _;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    let first: Value =
        serde_json::from_str(stderr.lines().next().unwrap()).expect("JSON log lines");
    assert!(
        first["message"].is_string() || first["fields"].is_object(),
        "{first}"
    );
}

#[tokio::test]
async fn flags_override_the_environment_and_migrate_and_schema_work() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("flag.db").display());
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_resiflex"))
        .args(["migrate", "--database", &url])
        .env(
            "RESIFLEX_DATABASE_URL",
            "sqlite:///nonexistent/dir/never.db",
        )
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(line["migrated"], true);
    assert!(dir.path().join("flag.db").exists());

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_resiflex"))
        .arg("schema")
        .output()
        .await
        .unwrap();
    let sdl = String::from_utf8(output.stdout).unwrap();
    assert!(
        sdl.contains("enum SmartFlexDeviceState"),
        "the SDL lists the enums"
    );
    assert!(sdl.contains("scalar DateTime"));
}
