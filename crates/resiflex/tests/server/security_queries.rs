//! Hostile GraphQL documents and inputs: the cost of a document is bounded before anything expands
//! it, strings with control characters are refused on every backend, errors say what is wrong and
//! where, and instants leave the API in one format.

use crate::harness;

use harness::scenario::{self, BRAND};
use harness::{TestApp, error_code, error_codes};
use resiflex::bench::fragment_bomb;
use serde_json::{Value, json};

const GRAPHIQL_INTROSPECTION: &str = include_str!("fixtures/introspection_graphiql.graphql");
const GQL_INTROSPECTION: &str = include_str!("fixtures/introspection_gql.graphql");

fn message(body: &Value) -> String {
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_fragment_bomb_is_refused_before_it_is_expanded() {
    let app = TestApp::spawn().await;
    let bomb = fragment_bomb(27);
    assert!(bomb.len() < 1100, "about 1 KB: {}", bomb.len());
    let body = app.graphql(&bomb, Value::Null).await;
    assert_eq!(error_code(&body), "KT-CT-1188", "{body}");
    assert!(body["data"].is_null(), "{body}");
    // A small one (4096 fields once expanded) is refused for the same reason.
    let body = app.graphql(&fragment_bomb(12), Value::Null).await;
    assert_eq!(error_code(&body), "KT-CT-1188", "{body}");
    app.assert_alive().await;
}

#[tokio::test]
async fn alias_floods_are_refused() {
    let app = TestApp::spawn().await;
    let flood: String = (0..20_000).map(|i| format!("a{i}:__typename ")).collect();
    let body = app.graphql(&format!("{{{flood}}}"), Value::Null).await;
    assert_eq!(error_code(&body), "KT-CT-1188", "{body}");
    // Few enough to stay under the complexity limit, still too many aliases.
    let some: String = (0..60).map(|i| format!("a{i}:__typename ")).collect();
    let body = app.graphql(&format!("{{{some}}}"), Value::Null).await;
    assert_eq!(error_code(&body), "KT-CT-1188", "{body}");
    assert!(message(&body).contains("aliases"), "{body}");
    app.assert_alive().await;
}

#[tokio::test]
async fn deep_introspection_is_refused() {
    let app = TestApp::spawn().await;
    let query = format!(
        "{{ __type(name: \"Query\") {{ {} name {} }} }}",
        "fields { type { ".repeat(22),
        "} } ".repeat(22)
    );
    let body = app.graphql(&query, Value::Null).await;
    assert_eq!(error_code(&body), "KT-CT-1188", "{body}");
    assert!(body["data"].is_null(), "{body}");
    let query = format!(
        "{{ __schema {{ types {{ {} name {} }} }} }}",
        "ofType { ".repeat(45),
        "} ".repeat(45)
    );
    let body = app.graphql(&query, Value::Null).await;
    assert_eq!(error_code(&body), "KT-CT-1188", "{body}");
    app.assert_alive().await;
}

#[tokio::test]
async fn the_standard_introspection_queries_still_answer() {
    let app = TestApp::spawn().await;
    for query in [GRAPHIQL_INTROSPECTION, GQL_INTROSPECTION] {
        let body = app.graphql(query, Value::Null).await;
        assert!(body["errors"].is_null(), "{body}");
        let types = body["data"]["__schema"]["types"].as_array().unwrap();
        assert!(types.iter().any(|t| t["name"] == "AccountType"), "{body}");
        assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
    }
}

#[tokio::test]
async fn documents_too_large_or_with_too_many_tokens_are_refused_before_parsing() {
    let app = TestApp::spawn().await;
    // Many tokens in a small document.
    let tokens = format!("{{ __typename(x: [{}]) }}", "1 ".repeat(20_000));
    let body = app.graphql(&tokens, Value::Null).await;
    assert_eq!(error_code(&body), "KT-CT-1188", "{body}");
    assert!(message(&body).contains("tokens"), "{body}");
    // A document as large as the body limit allows, nearly all of it a comment.
    let limit = app.config.http.max_body_bytes;
    let huge = format!("{{ __typename }} #{}", "x".repeat(limit - 100));
    let body = app.graphql(&huge, Value::Null).await;
    assert_eq!(error_code(&body), "KT-CT-1188", "{body}");
    assert!(message(&body).contains("bytes"), "{body}");
    // The same as application/graphql.
    let (status, text) = app
        .post_raw("/v1/graphql/", Some("application/graphql"), huge)
        .await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("KT-CT-1188"), "{text}");
    app.assert_alive().await;
}

/// The control characters tried on every operation: NUL first, then an escape and a C1 control.
const CONTROLS: [&str; 3] = ["a\u{0}b", "a\u{1b}[31m", "a\u{85}"];

fn assert_refused(body: &Value, path: &str) {
    assert_eq!(error_codes(body), vec!["KT-CT-1605".to_owned()], "{body}");
    let text = message(body);
    assert!(text.contains(&format!("`{path}`")), "names {path}: {body}");
    assert!(text.contains("control character"), "{body}");
}

#[tokio::test]
async fn control_characters_are_refused_on_every_operation() {
    let app = TestApp::spawn().await;
    let customer = scenario::customer(&app, "Controls", "controls@example.com").await;
    let org = format!("JWT {}", customer.org_token);
    let user = format!("JWT {}", customer.token);
    for bad in CONTROLS {
        let body = app
            .graphql_as(
                Some(&org),
                "query($v: String!) { accountReference(value: $v) { value } }",
                json!({ "v": bad }),
            )
            .await;
        assert_refused(&body, "$v");
        let body = app
            .graphql_as(
                Some(&org),
                "query($t: AccountSearchInput!) { accountsSearch(searchTerms: $t) { account { number } } }",
                json!({ "t": { "reference": bad } }),
            )
            .await;
        assert_refused(&body, "$t.reference");
        let body = app
            .graphql_as(
                Some(&org),
                "mutation($input: CreateFlexShellAccountInput!) { createFlexShellAccount(input: $input) { account { number } } }",
                json!({"input": {
                    "brandCode": BRAND, "email": "new@example.com", "givenName": bad, "familyName": "Tester",
                    "address": {"country": "GB"},
                }}),
            )
            .await;
        assert_refused(&body, "$input.givenName");
        let body = app
            .graphql_as(
                Some(&org),
                "query($c: String!) { tariffRates(tariffCode: $c, from: \"2026-11-27T00:00:00Z\", to: \"2026-11-28T00:00:00Z\") { validFrom } }",
                json!({ "c": bad }),
            )
            .await;
        assert_refused(&body, "$c");
        let body = app
            .graphql_as(
                Some(&user),
                "query($w: ID!) { smartFlexOnboardingWizard(wizardId: $w) { id } }",
                json!({ "w": bad }),
            )
            .await;
        assert_refused(&body, "$w");
    }
    // In the document itself, the argument's path is named and the error sits on the field.
    let body = app
        .graphql_as(
            Some(&org),
            "{ accountsSearch(searchTerms: {email: \"x\\u0000@example.com\"}) { account { number } } }",
            Value::Null,
        )
        .await;
    assert_refused(&body, "searchTerms.email");
    assert_eq!(
        body["errors"][0]["path"],
        json!(["accountsSearch"]),
        "{body}"
    );
    // Tabs and line breaks are text, not controls: a name with a tab is still an account.
    let body = scenario::create_account(&app, &customer.org_token, "tab@example.com").await;
    assert!(body["errors"].is_null(), "{body}");
    app.assert_alive().await;
}

#[tokio::test]
async fn an_unknown_argument_is_reported_on_its_field() {
    let app = TestApp::spawn().await;
    let body = app
        .graphql("{ viewer { accounts(bogus: 1) { number } } }", Value::Null)
        .await;
    assert_eq!(error_code(&body), "KT-CT-1605", "{body}");
    let err = &body["errors"][0];
    assert!(
        err["message"].as_str().unwrap().contains("\"bogus\""),
        "{body}"
    );
    assert_eq!(err["path"], json!(["viewer", "accounts"]), "{body}");
    assert!(err["locations"][0]["line"].is_number(), "{body}");
    // In a fragment, the path is where the fragment is first spread.
    let body = app
        .graphql(
            "{ me: viewer { ...A } } fragment A on AccountUserType { accounts { nope } }",
            Value::Null,
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-1605", "{body}");
    assert_eq!(
        body["errors"][0]["path"],
        json!(["me", "accounts", "nope"]),
        "{body}"
    );
}

#[tokio::test]
async fn an_invalid_and_expensive_document_is_told_what_is_invalid() {
    let app = TestApp::spawn().await;
    let expensive: String = (0..250)
        .map(|i| format!("v{i}: viewer {{ id }} "))
        .collect();
    let body = app
        .graphql(&format!("{{ {expensive} nope }}"), Value::Null)
        .await;
    assert_eq!(error_codes(&body), vec!["KT-CT-1605".to_owned()], "{body}");
    assert!(message(&body).contains("\"nope\""), "{body}");
    // Valid but expensive: the cost is what it hears about.
    let body = app
        .graphql(&format!("{{ {expensive} }}"), Value::Null)
        .await;
    assert_eq!(error_code(&body), "KT-CT-1188", "{body}");
}

#[tokio::test]
async fn instants_leave_the_api_in_one_format() {
    let app = TestApp::spawn().await;
    let org_key = scenario::create_organisation(&app, "Instants").await;
    let org = scenario::sign_in_organisation(&app, &org_key).await;
    let created_at = |number: String| {
        let app = &app;
        let org = org.clone();
        async move {
            let body = app
                .graphql_as(
                    Some(&format!("JWT {org}")),
                    "query($n: String!) { account(accountNumber: $n) { createdAt } }",
                    json!({ "n": number }),
                )
                .await;
            body["data"]["account"]["createdAt"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
                .to_owned()
        }
    };
    let whole = scenario::account_number_of(
        &scenario::create_account(&app, &org, "whole@example.com").await,
    );
    assert_eq!(created_at(whole).await, "2026-11-27T12:00:00+00:00");
    app.clock
        .set(harness::start_instant() + chrono::Duration::nanoseconds(123_456_789));
    let fine = scenario::account_number_of(
        &scenario::create_account(&app, &org, "fine@example.com").await,
    );
    assert_eq!(created_at(fine).await, "2026-11-27T12:00:00.123456+00:00");
    app.clock
        .set(harness::start_instant() + chrono::Duration::milliseconds(120));
    let milli = scenario::account_number_of(
        &scenario::create_account(&app, &org, "milli@example.com").await,
    );
    assert_eq!(created_at(milli).await, "2026-11-27T12:00:00.120000+00:00");
}

/// `createFlexShellAccount` must not tell one organisation that an email belongs to another
/// organisation's customer: the answer is the same as for an email nobody uses, and the customer is
/// not linked to the new account.
#[tokio::test]
async fn creating_an_account_does_not_reveal_another_organisations_customer() {
    let app = TestApp::spawn().await;
    let victim = scenario::customer(&app, "Owner", "victim@example.com").await;
    let attacker_key = scenario::create_organisation(&app, "Curious").await;
    let attacker = scenario::sign_in_organisation(&app, &attacker_key).await;
    let shape = |body: &Value| {
        let mut body = body.clone();
        body["data"]["createFlexShellAccount"]["account"]["number"] = json!("A-?");
        body
    };
    let taken = scenario::create_account(&app, &attacker, "victim@example.com").await;
    let fresh = scenario::create_account(&app, &attacker, "nobody@example.com").await;
    assert!(taken["errors"].is_null(), "{taken}");
    assert_eq!(shape(&taken), shape(&fresh));
    // The attacker's new account does not reach the victim.
    let number = scenario::account_number_of(&taken);
    let body = app
        .graphql_as(
            Some(&format!("JWT {attacker}")),
            "query($n: String!) { account(accountNumber: $n) { users { email } } }",
            json!({ "n": number }),
        )
        .await;
    assert_eq!(body["data"]["account"]["users"], json!([]), "{body}");
    let body = app
        .graphql_as(
            Some(&format!("JWT {}", victim.token)),
            "{ viewer { accounts { number } } }",
            Value::Null,
        )
        .await;
    let accounts = body["data"]["viewer"]["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1, "{body}");
    assert_eq!(accounts[0]["number"], json!(victim.account_number));
}
