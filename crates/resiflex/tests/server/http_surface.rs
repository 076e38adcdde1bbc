//! The HTTP surface: transport conventions every Kraken client relies on, and bad input that must be
//! answered clearly without harming the server.

use crate::harness;

use harness::{TestApp, error_code};
use serde_json::{Value, json};

#[tokio::test]
async fn both_endpoint_spellings_answer_without_redirect() {
    let app = TestApp::spawn().await;
    for path in ["/v1/graphql/", "/v1/graphql"] {
        let (status, body) = app
            .post_raw(
                path,
                Some("application/json"),
                r#"{"query":"{ __typename }"}"#,
            )
            .await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["data"]["__typename"],
            "Query"
        );
    }
}

#[tokio::test]
async fn variables_may_be_absent_null_or_empty_and_operation_name_optional() {
    let app = TestApp::spawn().await;
    for body in [
        json!({"query": "{ __typename }"}),
        json!({"query": "{ __typename }", "variables": null}),
        json!({"query": "{ __typename }", "variables": {}}),
        json!({"query": "query Ping { __typename }", "variables": {}, "operationName": "Ping"}),
        json!({"query": "query A { __typename } query B { __typename }", "operationName": "B"}),
        json!({"query": "query Ping { __typename }", "operationName": null}),
    ] {
        let (status, text) = app
            .post_raw("/v1/graphql/", Some("application/json"), body.to_string())
            .await;
        assert_eq!(status, 200, "{body}: {text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["data"]["__typename"], "Query", "{body}: {text}");
    }
}

#[tokio::test]
async fn a_json_body_with_charset_and_without_content_type_is_accepted() {
    let app = TestApp::spawn().await;
    let query = r#"{"query":"{ __typename }"}"#;
    assert_eq!(
        app.post_raw(
            "/v1/graphql/",
            Some("application/json; charset=utf-8"),
            query
        )
        .await
        .0,
        200
    );
    assert_eq!(app.post_raw("/v1/graphql/", None, query).await.0, 200);
    let (status, body) = app
        .post_raw(
            "/v1/graphql/",
            Some("application/graphql"),
            "{ __typename }",
        )
        .await;
    assert_eq!((status, body.contains("Query")), (200, true));
}

fn assert_kraken_error_body(text: &str) -> Value {
    let body: Value =
        serde_json::from_str(text).unwrap_or_else(|_| panic!("JSON error body: {text}"));
    assert_eq!(error_code(&body), "KT-CT-1605", "{text}");
    assert_eq!(body["errors"][0]["extensions"]["errorType"], "VALIDATION");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    body
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_400_with_a_json_error() {
    let app = TestApp::spawn().await;
    for bad in [
        "not json",
        "{\"query\": ",
        "",
        "[1, 2]",
        "{\"variables\": {}}",
        "{\"query\": \"{ __typename }\", \"variables\": [1]}",
    ] {
        let (status, text) = app
            .post_raw("/v1/graphql/", Some("application/json"), bad)
            .await;
        assert_eq!(status, 400, "{bad:?}: {text}");
        assert_kraken_error_body(&text);
    }
    let invalid_utf8: Vec<u8> = vec![0xff, 0xfe, 0xfd];
    let (status, text) = app
        .post_raw("/v1/graphql/", Some("application/json"), invalid_utf8)
        .await;
    assert_eq!(status, 400, "{text}");
    app.assert_alive().await;
}

#[tokio::test]
async fn wrong_content_types_are_a_415_with_a_json_error() {
    let app = TestApp::spawn().await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/html",
    ] {
        let (status, text) = app
            .post_raw(
                "/v1/graphql/",
                Some(content_type),
                r#"{"query":"{ __typename }"}"#,
            )
            .await;
        assert_eq!(status, 415, "{content_type}: {text}");
        assert_kraken_error_body(&text);
    }
    app.assert_alive().await;
}

#[tokio::test]
async fn an_oversized_body_is_a_413() {
    let app = TestApp::spawn_with(|config| config.http.max_body_bytes = 64 * 1024).await;
    let huge = format!(
        r#"{{"query":"{{ __typename }}","padding":"{}"}}"#,
        "x".repeat(200 * 1024)
    );
    let (status, text) = app
        .post_raw("/v1/graphql/", Some("application/json"), huge)
        .await;
    assert_eq!(status, 413, "{text}");
    assert_kraken_error_body(&text);

    // Without a Content-Length (chunked), the limit still holds.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..100).map(|_| Ok(vec![b' '; 4096])).collect();
    let stream = futures::stream::iter(chunks);
    let (status, _) = app
        .post_raw(
            "/v1/graphql/",
            Some("application/json"),
            reqwest::Body::wrap_stream(stream),
        )
        .await;
    assert_eq!(status, 413);
    app.assert_alive().await;
}

#[tokio::test]
async fn graphql_failures_are_http_200_with_kraken_extensions() {
    let app = TestApp::spawn().await;
    let body = app.graphql("{ noSuchField }", Value::Null).await;
    assert_eq!(error_code(&body), "KT-CT-1605");
    let body = app.graphql("{ __typename ", Value::Null).await;
    assert_eq!(error_code(&body), "KT-CT-1605", "a syntax error: {body}");
    let body = app
        .graphql("query A { __typename } query B { __typename }", Value::Null)
        .await;
    assert_eq!(
        error_code(&body),
        "KT-CT-1605",
        "two operations and no name: {body}"
    );
    let extensions = &body["errors"][0]["extensions"];
    assert!(extensions["errorType"].is_string() && extensions["errorDescription"].is_string());
    app.assert_alive().await;
}

#[tokio::test]
async fn deeply_nested_documents_are_refused_without_harm() {
    let app = TestApp::spawn().await;
    // Far deeper than any parser stack could take.
    let bomb = format!("{}{}", "{a".repeat(200_000), "}".repeat(200_000));
    let (status, text) = app
        .post_raw(
            "/v1/graphql/",
            Some("application/json"),
            json!({"query": bomb}).to_string(),
        )
        .await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(error_code(&body), "KT-CT-1188", "{body}");

    // Deep but within the text limit: refused by the depth limit. (The fields must exist: a
    // document with unknown fields is told about those first.)
    let nested = format!(
        "{{ __type(name: \"Query\") {{ {} name {} }} }}",
        "ofType { ".repeat(30),
        "} ".repeat(30)
    );
    assert_eq!(
        error_code(&app.graphql(&nested, Value::Null).await),
        "KT-CT-1188"
    );
    app.assert_alive().await;
}

#[tokio::test]
async fn over_complex_and_over_wide_documents_are_refused() {
    let app = TestApp::spawn().await;
    let aliases: String = (0..250)
        .map(|i| {
            format!("e{i}: possibleErrors(input: {{name: \"x\", type: \"query\"}}) {{ code }} ")
        })
        .collect();
    let body = app.graphql(&format!("{{ {aliases} }}"), Value::Null).await;
    assert_eq!(error_code(&body), "KT-CT-1188", "complexity over 200");

    let app = TestApp::spawn_with(|config| {
        config.limits.max_nodes = 50;
        config.limits.max_aliases = 100;
    })
    .await;
    let many: String = (0..60)
        .map(|i| {
            format!("e{i}: possibleErrors(input: {{name: \"x\", type: \"query\"}}) {{ code }} ")
        })
        .collect();
    let body = app.graphql(&format!("{{ {many} }}"), Value::Null).await;
    assert_eq!(
        error_code(&body),
        "KT-CT-1189",
        "node count over the limit: {body}"
    );
    app.assert_alive().await;
}

#[tokio::test]
async fn graphiql_is_served_on_get() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/v1/graphql/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(response.text().await.unwrap().contains("/v1/graphql/"));
}

#[tokio::test]
async fn health_metrics_and_request_ids() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().contains_key("x-request-id"),
        "every answer carries a request id"
    );
    let health: Value = response.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"]["reachable"], true);

    app.graphql("{ __typename }", Value::Null).await;
    app.graphql("{ nope }", Value::Null).await;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("resiflex_graphql_requests_total{operation=\"__typename\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("resiflex_graphql_request_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains("resiflex_graphql_errors_total{code=\"KT-CT-1605\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("resiflex_db_pool_connections{state=\"idle\"}"),
        "{metrics}"
    );

    let given = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(
        given.headers()["x-request-id"],
        "trace-me-42",
        "a caller's request id is kept"
    );
}

#[tokio::test]
async fn cors_is_configurable() {
    let closed = TestApp::spawn().await;
    let response = closed
        .client
        .post(closed.url("/v1/graphql/"))
        .header("origin", "https://app.example")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );

    let open = TestApp::spawn_with(|config| {
        config.http.cors_allowed_origins = vec!["https://app.example".into()]
    })
    .await;
    let response = open
        .client
        .request(reqwest::Method::OPTIONS, open.url("/v1/graphql/"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
}

#[tokio::test]
async fn unknown_routes_are_a_json_404() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/v1/nothing")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert!(body["errors"][0]["message"].is_string());
}
