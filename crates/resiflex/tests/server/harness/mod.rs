//! Starts the real server on a random port with a fresh database (a temporary SQLite file, or a new
//! PostgreSQL schema when `TEST_DATABASE_URL` is set) and talks HTTP to it.

#![allow(dead_code)]

pub mod billing;
pub mod household;
pub mod money;
pub mod onboarding;
pub mod scenario;
pub mod supply;

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use resiflex::config::Config;
use resiflex::server::Server;
use resiflex_domain::{ManualClock, SharedClock};
use resiflex_store::testing::TestDb;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server. Dropping it drops the stop channel, which shuts the server down.
pub struct TestApp {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when `http.metrics_listen` gives it its own listener.
    pub metrics_addr: Option<SocketAddr>,
    pub base: String,
    pub client: reqwest::Client,
    pub clock: ManualClock,
    pub test_db: TestDb,
    pub config: Config,
    /// The server's simulated vendor clouds: switch faults, move cars, plug them in.
    pub sandbox: std::sync::Arc<resiflex::providers::Sandbox>,
    /// The server's OCPP central system: its providers, and the chargers connected to it.
    pub ocpp: resiflex_ocpp::CentralSystem,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The instant every test server's clock starts at.
pub fn start_instant() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .single()
        .expect("valid start instant")
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server whose configuration `adjust` may change first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let test_db = TestDb::new().await;
        let mut config = Config {
            listen: "127.0.0.1:0".parse().expect("address"),
            ..Config::default()
        };
        config.database.url = test_db.url.clone();
        // Tests drive time themselves; the control loop's own scenarios call its tick directly.
        config.control.enabled = false;
        // The key the test database's own handle seals with.
        config.secrets.master_key = Some(resiflex::config::MasterKeys(
            resiflex_store::testing::TEST_MASTER_KEY.to_owned(),
        ));
        adjust(&mut config);
        let clock = ManualClock::new(start_instant());
        Self::start(test_db, config, clock).await
    }

    async fn start(test_db: TestDb, config: Config, clock: ManualClock) -> TestApp {
        let shared: SharedClock = Arc::new(clock.clone());
        let db = test_db.reopen().await;
        let server = Server::with_database(&config, db, shared)
            .await
            .expect("server starts");
        let addr = server.local_addr().expect("bound");
        let metrics_addr = server.metrics_addr();
        let sandbox = server.sandbox.clone();
        let ocpp = server.ocpp.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            metrics_addr,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            clock,
            test_db,
            config,
            sandbox,
            ocpp,
            stop: Some(stop),
            serving: Some(serving),
        }
    }

    /// Stops the server gracefully and starts a new one on the same database and clock.
    pub async fn restart(mut self) -> TestApp {
        self.shutdown().await;
        let mut config = self.config.clone();
        config.listen = "127.0.0.1:0".parse().expect("address");
        let TestApp { test_db, clock, .. } = self;
        Self::start(test_db, config, clock).await
    }

    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            serving
                .await
                .expect("server task")
                .expect("server stops cleanly");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a GraphQL request and returns the JSON body; the status must be 200.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.graphql_as(None, query, variables).await
    }

    /// Sends a GraphQL request with an `Authorization` header value, as given.
    pub async fn graphql_as(
        &self,
        authorization: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        scenario::graphql_with(self, &self.client, authorization, query, variables).await
    }

    /// Sends raw bytes with a content type and returns the status and body text.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> (u16, String) {
        let mut request = self.client.post(self.url(path)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// Asserts that the server still answers a trivial query.
    pub async fn assert_alive(&self) {
        let body = self.graphql("{ __typename }", Value::Null).await;
        assert_eq!(
            body["data"]["__typename"], "Query",
            "server still serving: {body}"
        );
    }
}

/// The error codes of a GraphQL response, in order.
pub fn error_codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["extensions"]["errorCode"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The first error code of a response; panics with the body when there is none.
pub fn error_code(body: &Value) -> String {
    error_codes(body)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("expected an error: {body}"))
}
