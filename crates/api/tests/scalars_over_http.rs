//! The scalars as a client meets them: through the real HTTP layer, as literals and as variables.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::net::SocketAddr;
use std::sync::Arc;

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
use resiflex_api::scalars::{DateTime, Decimal, Time};
use resiflex_api::{AppState, HttpConfig, Metrics, router};
use resiflex_store::testing::TestDb;
use serde_json::{Value, json};

struct Echo;

#[Object]
impl Echo {
    async fn date_time(&self, value: DateTime) -> DateTime {
        value
    }
    async fn decimal(&self, value: Decimal) -> Decimal {
        value
    }
    async fn time(&self, value: Time) -> Time {
        value
    }
}

async fn serve() -> (String, TestDb) {
    let test_db = TestDb::new().await;
    let schema = Schema::new(Echo, EmptyMutation, EmptySubscription);
    let state = AppState {
        executor: Arc::new(schema),
        db: test_db.db.clone(),
        metrics: Metrics::global(),
        config: Arc::new(HttpConfig::default()),
        sandbox: None,
        clock: Arc::new(resiflex_domain::SystemClock),
        public_url: "http://127.0.0.1".into(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (format!("http://{addr}/v1/graphql/"), test_db)
}

async fn post(url: &str, query: &str, variables: Value) -> Value {
    let response = reqwest::Client::new()
        .post(url)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["errorCode"]
        .as_str()
        .unwrap_or_else(|| panic!("an error code: {body}"))
}

#[tokio::test]
async fn a_datetime_without_an_offset_is_refused_with_1609() {
    let (url, _db) = serve().await;
    let body = post(
        &url,
        r#"{ dateTime(value: "2026-11-27T07:30:00") }"#,
        Value::Null,
    )
    .await;
    assert_eq!(code(&body), "KT-CT-1609", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["errorType"], "VALIDATION");

    let query = "query($v: DateTime!) { dateTime(value: $v) }";
    let body = post(&url, query, json!({"v": "2026-11-27T07:30:00"})).await;
    assert_eq!(code(&body), "KT-CT-1609", "as a variable: {body}");

    let body = post(&url, query, json!({"v": "2026-11-27T07:30:00+01:00"})).await;
    assert_eq!(
        body["data"]["dateTime"], "2026-11-27T06:30:00+00:00",
        "{body}"
    );
    let body = post(&url, query, json!({"v": "soon"})).await;
    assert_eq!(code(&body), "KT-CT-1605", "{body}");
}

#[tokio::test]
async fn decimals_and_times_arrive_in_every_client_form() {
    let (url, _db) = serve().await;
    for literal in ["\"80.0\"", "80", "80.0"] {
        let body = post(
            &url,
            &format!("{{ decimal(value: {literal}) }}"),
            Value::Null,
        )
        .await;
        assert_eq!(
            body["data"]["decimal"]
                .as_str()
                .map(|s| s.trim_end_matches(".0")),
            Some("80"),
            "{literal}: {body}"
        );
    }
    let body = post(
        &url,
        "query($v: Decimal!) { decimal(value: $v) }",
        json!({"v": 80.5}),
    )
    .await;
    assert_eq!(body["data"]["decimal"], "80.5");
    let body = post(&url, "{ time(value: \"07:30\") }", Value::Null).await;
    assert_eq!(body["data"]["time"], "07:30:00");
    let body = post(&url, "{ time(value: \"7 in the morning\") }", Value::Null).await;
    assert_eq!(code(&body), "KT-CT-1605");
}
