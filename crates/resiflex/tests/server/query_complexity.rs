//! Query complexity as clients meet it: what real clients send stays within 200 (the documents in
//! `tests/clients/`, scored in `clients`), while documents built to be expensive are refused before
//! anything runs: huge pages on nested connections (KT-CT-1188), nested pages that would return too
//! many nodes (KT-CT-1189), deep nesting, many aliases, and type conditions spread into each other
//! to make validation expand them (KT-CT-1188). The server keeps answering after each.

use crate::harness;

use harness::scenario;
use harness::{TestApp, error_code, error_codes};
use serde_json::{Value, json};

fn message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or_default()
}

/// A statement's transactions inside the account's bills: a connection inside a connection.
fn nested_pages(bills: &str, transactions: &str) -> String {
    let mut variables = String::from("$n: String!");
    for page in [bills, transactions] {
        if page.starts_with('$') {
            variables.push_str(&format!(", {page}: Int"));
        }
    }
    format!(
        "query({variables}) {{ account(accountNumber: $n) {{ \
         bills(first: {bills}) {{ edges {{ node {{ ... on StatementType {{ \
         transactions(first: {transactions}) {{ edges {{ node {{ postedDate title }} }} }} }} }} }} }} }} }}"
    )
}

#[tokio::test]
async fn huge_pages_on_nested_connections_are_refused() {
    let app = TestApp::spawn().await;
    let customer = scenario::customer(&app, "Pages Org", "pages@example.com").await;
    let n = customer.account_number.as_str();
    let as_customer = |query: String, variables: Value| {
        let app = &app;
        let token = customer.token.clone();
        async move { app.graphql_as(Some(&token), &query, variables).await }
    };

    // What a client reads: one page of bills with a page of each statement's transactions.
    let body = as_customer(nested_pages("5", "50"), json!({ "n": n })).await;
    assert!(body["errors"].is_null(), "{body}");

    // A million bills, each with a million transactions: refused for its complexity, unrun.
    let body = as_customer(nested_pages("1000000", "1000000"), json!({ "n": n })).await;
    assert_eq!(error_code(&body), "KT-CT-1188", "{body}");
    assert!(message(&body).contains("complexity"), "{body}");
    assert!(body["data"].is_null(), "{body}");
    // The same through variables.
    let body = as_customer(
        nested_pages("$bills", "$transactions"),
        json!({ "n": n, "bills": 5000, "transactions": 5000 }),
    )
    .await;
    assert_eq!(error_code(&body), "KT-CT-1188", "{body}");
    // One huge page alone costs once per hundred items asked for.
    let body = as_customer(nested_pages("1", "100000"), json!({ "n": n })).await;
    assert_eq!(error_code(&body), "KT-CT-1188", "{body}");

    // Full pages inside full pages stay under the complexity limit but would return more than
    // 10,000 nodes.
    let body = as_customer(nested_pages("100", "100"), json!({ "n": n })).await;
    assert_eq!(error_code(&body), "KT-CT-1189", "{body}");
    app.assert_alive().await;
}

#[tokio::test]
async fn deep_nesting_is_refused() {
    let app = TestApp::spawn().await;
    // Eighteen levels of ordinary fields, each one that exists.
    let query = format!(
        "{{ viewer {{ {} id {} }} }}",
        "accounts { users { ".repeat(8),
        "} } ".repeat(8)
    );
    let body = app.graphql(&query, Value::Null).await;
    assert_eq!(error_codes(&body), vec!["KT-CT-1188".to_owned()], "{body}");
    assert!(message(&body).contains("levels deep"), "{body}");
    app.assert_alive().await;
}

#[tokio::test]
async fn many_aliases_are_refused() {
    let app = TestApp::spawn().await;
    // Sixty cheap aliases: over the alias limit.
    let cheap: String = (0..60).map(|i| format!("v{i}: viewer {{ id }} ")).collect();
    let body = app.graphql(&format!("{{ {cheap} }}"), Value::Null).await;
    assert_eq!(error_code(&body), "KT-CT-1188", "{body}");
    assert!(message(&body).contains("aliases"), "{body}");
    // Forty aliases of a device list with its sessions: within the alias limit, over 200.
    let devices: String = (0..40)
        .map(|i| {
            format!(
                "d{i}: devices(accountNumber: \"A-1\") {{ id status {{ current }} \
                 ... on SmartFlexVehicle {{ make model }} }} "
            )
        })
        .collect();
    let body = app.graphql(&format!("{{ {devices} }}"), Value::Null).await;
    assert_eq!(error_code(&body), "KT-CT-1188", "{body}");
    assert!(message(&body).contains("complexity"), "{body}");
    app.assert_alive().await;
}

/// Fragments on the device interface, each spreading the one below under two type conditions: one
/// device has one type, so the score counts one of them, but validation would expand both.
fn alternating_bomb(levels: usize) -> String {
    let mut query = format!(
        "{{ devices(accountNumber: \"A-1\") {{ ...F{levels} }} }}\n\
         fragment F0 on SmartFlexDeviceInterface {{ id }}\n"
    );
    for i in 1..=levels {
        query.push_str(&format!(
            "fragment F{i} on SmartFlexDeviceInterface {{ ... on SmartFlexVehicle {{ ...F{p} }} \
             ... on SmartFlexChargePoint {{ ...F{p} }} }}\n",
            p = i - 1
        ));
    }
    query
}

#[tokio::test]
async fn type_conditions_spread_into_each_other_are_refused() {
    let app = TestApp::spawn().await;
    for levels in [12, 30] {
        let body = app.graphql(&alternating_bomb(levels), Value::Null).await;
        assert_eq!(error_code(&body), "KT-CT-1188", "{levels}: {body}");
        assert!(message(&body).contains("expanded"), "{body}");
        assert!(body["data"].is_null(), "{body}");
    }
    // A few levels are an ordinary document.
    let body = app.graphql(&alternating_bomb(3), Value::Null).await;
    assert_ne!(error_code(&body), "KT-CT-1188", "{body}");
    app.assert_alive().await;
}

#[tokio::test]
async fn type_conditions_are_scored_by_the_costliest_type_they_apply_to() {
    let strict = TestApp::spawn_with(|config| config.limits.max_complexity = 1).await;
    let score = |query: &'static str| {
        let strict = &strict;
        async move {
            let body = strict.graphql(query, Value::Null).await;
            message(&body)
                .strip_prefix("The query has a complexity of ")
                .and_then(|rest| rest.split(';').next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("{body}"))
        }
    };
    // devices + id + (make model) on the costlier of the two types.
    let one =
        score("{ devices(accountNumber: \"A-1\") { id ... on SmartFlexVehicle { make model } } }")
            .await;
    let both = score(
        "{ devices(accountNumber: \"A-1\") { id ... on SmartFlexVehicle { make model } ... on SmartFlexChargePoint { make model } } }",
    )
    .await;
    assert_eq!((one, both), (4, 4));
    // A page of a hundred sessions costs its node once; a thousand, ten times.
    let hundred = score(
        "{ devices(accountNumber: \"A-1\") { ... on SmartFlexVehicle { chargingSessions(first: 100) { edges { node { start end } } } } } }",
    )
    .await;
    let thousand = score(
        "{ devices(accountNumber: \"A-1\") { ... on SmartFlexVehicle { chargingSessions(first: 1000) { edges { node { start end } } } } } }",
    )
    .await;
    assert_eq!((hundred, thousand), (6, 42));
}
