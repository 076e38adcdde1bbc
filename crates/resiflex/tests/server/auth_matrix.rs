//! The authorisation matrix: every query and mutation of the schema, called by five callers
//! (anonymous, the account's user, another account's user, the owning organisation and another
//! organisation), each either allowed, with its data checked, or refused with the exact Kraken error
//! code. The matrix is a table walked by one test; the calls whose order matters (regenerating an API
//! key, pre-signed keys) have their own tests; and a last test reads the schema by introspection so
//! that an operation without a row in the table fails the suite.

use crate::harness;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use harness::scenario::{
    BRAND, NewAccount, account_number_of, create_account_as, create_organisation,
    generate_pre_signed, password_session, pre_signed_token_of, property_id_of,
    sign_in_organisation, sign_in_pre_signed_key, token_of, try_sign_in, user_api_key,
};
use harness::{TestApp, error_codes};
use serde_json::{Value, json};

const A_EMAIL: &str = "a@example.com";
const B_EMAIL: &str = "b@example.com";
/// Org One's CRM reference of account A.
const A_REF: &str = "crm-a-0001";
const B_REF: &str = "crm-b-0001";
const A_POSTCODE: &str = "SW1A 2AA";
const B_POSTCODE: &str = "M1 1AE";

const HEADER_MISSING: &str = "KT-CT-1112";
const UNAUTHORIZED: &str = "KT-CT-1111";
const ACCOUNT_UNAUTHORIZED: &str = "KT-CT-4177";
const PROPERTY_UNAUTHORIZED: &str = "KT-CT-6622";
const INVALID_INPUT: &str = "KT-CT-1605";
const SMART_METER_NOT_FOUND: &str = "KT-GB-4050";
const PRE_SIGNED_ADMIN_UNAUTHORIZED: &str = "KT-CT-1128";
const PRE_SIGNED_INVALID: &str = "KT-CT-1129";
const PRE_SIGNED_UNAUTHORIZED: &str = "KT-CT-1131";
const AUTHENTICATION_FAILED: &str = "KT-CT-1139";
/// A heat-pump controller EUID that is not on the account.
const HEAT_PUMP_INVALID: &str = "OE-0315";

// ----------------------------------------------------------------------------------------------
// The world: two organisations, one account each, and a token for every caller.
// ----------------------------------------------------------------------------------------------

/// Everything the matrix needs to know about the data it runs against.
struct World {
    org_one_key: String,
    /// Tokens.
    org_one: String,
    org_two: String,
    /// The users' tokens, signed in with their passwords (so that replacing their API keys, which
    /// ends the sessions the keys started, leaves these working).
    a: String,
    b: String,
    /// The users' personal API keys.
    a_key: String,
    b_key: String,
    a_number: String,
    b_number: String,
    /// A live pre-signed key Org One minted for user a.
    pre_signed: String,
    /// The id of account A's property.
    a_property: i64,
}

/// The five callers of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    /// a@example.com, the user of account A.
    UserA,
    /// b@example.com, the user of account B (another account, another organisation).
    UserB,
    /// The organisation that owns account A.
    OrgOne,
    /// An organisation that does not own account A (it owns B).
    OrgTwo,
}

impl Caller {
    /// The order of the expectations in each row: `[anonymous, a, b, Org One, Org Two]`.
    const IN_TABLE_ORDER: [Caller; 5] = [
        Caller::Anonymous,
        Caller::UserA,
        Caller::UserB,
        Caller::OrgOne,
        Caller::OrgTwo,
    ];

    /// The order each row is called in: the owning organisation last, so that its successful
    /// mutations (invalidating the key, deleting the reference) run after every refused attempt.
    const WALK: [Caller; 5] = [
        Caller::Anonymous,
        Caller::UserA,
        Caller::UserB,
        Caller::OrgTwo,
        Caller::OrgOne,
    ];

    fn index(self) -> usize {
        Self::IN_TABLE_ORDER
            .iter()
            .position(|c| *c == self)
            .expect("every caller is in the table order")
    }

    fn name(self) -> &'static str {
        match self {
            Caller::Anonymous => "anonymous",
            Caller::UserA => "user a (account A's user)",
            Caller::UserB => "user b (another account's user)",
            Caller::OrgOne => "Org One (owns account A)",
            Caller::OrgTwo => "Org Two (another organisation)",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Caller::Anonymous => "anonymous",
            Caller::UserA => "user-a",
            Caller::UserB => "user-b",
            Caller::OrgOne => "org-one",
            Caller::OrgTwo => "org-two",
        }
    }
}

/// The valid forms of the `Authorization` header; the matrix rotates through them.
const HEADER_FORMS: [&str; 3] = ["JWT", "Bearer", "bare"];

/// The `Authorization` header value `Bearer <token>`.
fn bearer(token: &str) -> String {
    header("Bearer", token)
}

fn header(form: &str, token: &str) -> String {
    match form {
        "JWT" => format!("JWT {token}"),
        "Bearer" => format!("Bearer {token}"),
        _ => token.to_owned(),
    }
}

impl World {
    fn token(&self, caller: Caller) -> Option<&str> {
        match caller {
            Caller::Anonymous => None,
            Caller::UserA => Some(&self.a),
            Caller::UserB => Some(&self.b),
            Caller::OrgOne => Some(&self.org_one),
            Caller::OrgTwo => Some(&self.org_two),
        }
    }

    /// Replaces the placeholders a literal document may hold.
    fn fill(&self, document: &str) -> String {
        document
            .replace("%A%", &self.a_number)
            .replace("%B%", &self.b_number)
            .replace("%A_REF%", A_REF)
            .replace("%ORG_ONE_KEY%", &self.org_one_key)
            .replace("%B_KEY%", &self.b_key)
            .replace("%PRE_SIGNED%", &self.pre_signed)
            .replace("%A_PROPERTY%", &self.a_property.to_string())
    }
}

/// Two organisations, account A (user a) for Org One and account B (user b) for Org Two, everyone
/// signed in over HTTP, and a pre-signed key Org One minted for a.
async fn world(app: &TestApp) -> World {
    let org_one_key = create_organisation(app, "Org One").await;
    let org_two_key = create_organisation(app, "Org Two").await;
    let org_one = sign_in_organisation(app, &org_one_key).await;
    let org_two = sign_in_organisation(app, &org_two_key).await;

    let a_created = create_account_as(
        app,
        &format!("JWT {org_one}"),
        &NewAccount {
            crm_reference: Some(A_REF),
            postcode: A_POSTCODE,
            ..NewAccount::new(A_EMAIL)
        },
    )
    .await;
    let (a_number, a_property) = (account_number_of(&a_created), property_id_of(&a_created));
    let b_number = account_number_of(
        &create_account_as(
            app,
            &format!("JWT {org_two}"),
            &NewAccount {
                given_name: "Bea",
                street: "1 Piccadilly",
                postcode: B_POSTCODE,
                crm_reference: Some(B_REF),
                ..NewAccount::new(B_EMAIL)
            },
        )
        .await,
    );
    assert_ne!(a_number, b_number);

    let a_key = user_api_key(app, A_EMAIL).await;
    let b_key = user_api_key(app, B_EMAIL).await;
    let a = password_session(app, A_EMAIL).await;
    let b = password_session(app, B_EMAIL).await;

    let pre_signed =
        pre_signed_token_of(&generate_pre_signed(app, &bearer(&org_one), A_EMAIL).await);

    World {
        org_one_key,
        org_one,
        org_two,
        a,
        b,
        a_key,
        b_key,
        a_number,
        b_number,
        pre_signed,
        a_property,
    }
}

// ----------------------------------------------------------------------------------------------
// The matrix table.
// ----------------------------------------------------------------------------------------------

/// What a row's root field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Query,
    Mutation,
    /// `__schema` and friends: not a field of the query type, but must answer anonymous callers.
    Introspection,
}

/// Reads the meaningful part of an allowed answer's `data` and says what it should be:
/// `(actual, expected)`.
type Check = fn(&World, &Value) -> (Value, Value);

/// One caller's expected outcome.
#[derive(Clone, Copy)]
enum Expect {
    Allow(Check),
    Deny(&'static str),
}

use Expect::{Allow, Deny};

/// One operation called five times.
struct Row {
    root: Root,
    /// The root field called (introspection: the meta field).
    field: &'static str,
    /// What distinguishes this row from other rows on the same field.
    case: &'static str,
    /// The document; `%A%`, `%B%`, `%A_REF%`, `%ORG_ONE_KEY%`, `%B_KEY%` and `%PRE_SIGNED%` are
    /// replaced with the world's values.
    document: &'static str,
    variables: fn(&World, Caller) -> Value,
    /// In [`Caller::IN_TABLE_ORDER`]: anonymous, a, b, Org One, Org Two.
    expect: [Expect; 5],
}

fn no_variables(_: &World, _: Caller) -> Value {
    Value::Null
}

fn number_a(w: &World, _: Caller) -> Value {
    json!({"n": w.a_number})
}

fn number_b(w: &World, _: Caller) -> Value {
    json!({"n": w.b_number})
}

fn length(value: &Value) -> Value {
    json!(value.as_array().map(Vec::len))
}

fn numbers_found(value: &Value) -> Value {
    json!(value.as_array().map(|items| {
        items
            .iter()
            .map(|i| i["account"]["number"].clone())
            .collect::<Vec<_>>()
    }))
}

fn sees_account_a(w: &World, d: &Value) -> (Value, Value) {
    let account = &d["account"];
    (
        json!([
            account["number"],
            account["users"],
            length(&account["properties"])
        ]),
        json!([w.a_number, [{"email": A_EMAIL}], 1]),
    )
}

fn sees_number_a(w: &World, d: &Value) -> (Value, Value) {
    (d["account"]["number"].clone(), json!(w.a_number))
}

fn sees_billing_trigger_of_a(w: &World, d: &Value) -> (Value, Value) {
    (
        d["billingTriggerConfigurations"]["edges"][0]["node"].clone(),
        json!({"target": {"number": w.a_number, "targetType": "ACCOUNT"}, "configurations": [{"isActive": true}]}),
    )
}

fn sees_number_b(w: &World, d: &Value) -> (Value, Value) {
    (d["account"]["number"].clone(), json!(w.b_number))
}

fn viewer_is_a(w: &World, d: &Value) -> (Value, Value) {
    (
        d["viewer"].clone(),
        json!({"email": A_EMAIL, "accounts": [{"number": w.a_number}]}),
    )
}

fn viewer_is_b(w: &World, d: &Value) -> (Value, Value) {
    (
        d["viewer"].clone(),
        json!({"email": B_EMAIL, "accounts": [{"number": w.b_number}]}),
    )
}

fn properties_of_a(_: &World, d: &Value) -> (Value, Value) {
    let properties = &d["properties"];
    (
        json!([
            length(properties),
            properties[0]["timeZone"],
            properties[0]["id"].is_string()
        ]),
        json!([1, "Europe/London", true]),
    )
}

fn property_a_measured(w: &World, d: &Value) -> (Value, Value) {
    (
        json!([
            d["property"]["id"],
            d["property"]["measurements"]["totalCount"]
        ]),
        json!([w.a_property.to_string(), 0]),
    )
}

fn reference_of_a(w: &World, d: &Value) -> (Value, Value) {
    (
        d["accountReference"].clone(),
        json!([{"namespace": "crm", "value": A_REF, "account": {"number": w.a_number}}]),
    )
}

fn no_references(_: &World, d: &Value) -> (Value, Value) {
    (d["accountReference"].clone(), json!([]))
}

fn finds_a(w: &World, d: &Value) -> (Value, Value) {
    (numbers_found(&d["accountsSearch"]), json!([w.a_number]))
}

fn finds_b(w: &World, d: &Value) -> (Value, Value) {
    (numbers_found(&d["accountsSearch"]), json!([w.b_number]))
}

fn finds_nothing(_: &World, d: &Value) -> (Value, Value) {
    (d["accountsSearch"].clone(), json!([]))
}

fn eligible(_: &World, d: &Value) -> (Value, Value) {
    (
        d["accountIoEligibility"].clone(),
        json!({"isEligibleForIo": true}),
    )
}

fn lists_account_errors(_: &World, d: &Value) -> (Value, Value) {
    let codes: Vec<&str> = d["possibleErrors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["code"].as_str()).collect())
        .unwrap_or_default();
    (
        json!([
            codes.contains(&ACCOUNT_UNAUTHORIZED),
            codes.contains(&HEADER_MISSING)
        ]),
        json!([true, true]),
    )
}

fn lists_account_statuses(_: &World, d: &Value) -> (Value, Value) {
    let statuses = &d["enumerations"]["accountStatus"];
    let has_active = statuses
        .as_array()
        .is_some_and(|s| s.iter().any(|v| v == "ACTIVE"));
    (json!(has_active), json!(true))
}

fn schema_answers(_: &World, d: &Value) -> (Value, Value) {
    (d["__schema"]["queryType"]["name"].clone(), json!("Query"))
}

fn organisation_token(_: &World, d: &Value) -> (Value, Value) {
    let answer = &d["obtainKrakenToken"];
    (
        json!([answer["token"].is_string(), answer["payload"]["gty"]]),
        json!([true, "ORGANIZATION-SECRET-KEY"]),
    )
}

fn api_key_token(_: &World, d: &Value) -> (Value, Value) {
    let answer = &d["obtainKrakenToken"];
    (
        json!([answer["token"].is_string(), answer["payload"]["gty"]]),
        json!([true, "API-KEY"]),
    )
}

fn new_api_key(w: &World, d: &Value) -> (Value, Value) {
    let key = d["regenerateSecretKey"]["key"].as_str().unwrap_or_default();
    (
        json!([
            key.starts_with("sk_live_"),
            key != w.a_key && key != w.b_key
        ]),
        json!([true, true]),
    )
}

fn pre_signed_minted(_: &World, d: &Value) -> (Value, Value) {
    let minted = &d["generatePreSignedToken"];
    let expiry = minted["tokenExpiryDatetime"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    (
        json!([
            minted["token"].as_str().is_some_and(|t| !t.is_empty()),
            expiry.map(|t| t.to_rfc3339())
        ]),
        json!([
            true,
            (harness::start_instant() + Duration::minutes(15)).to_rfc3339()
        ]),
    )
}

fn pre_signed_invalidated(_: &World, d: &Value) -> (Value, Value) {
    (
        d["invalidatePreSignedToken"].clone(),
        json!({"invalidated": true}),
    )
}

fn pre_signed_for_user_invalidated(_: &World, d: &Value) -> (Value, Value) {
    // The key the `generatePreSignedToken` row minted is still live; the world's key was invalidated
    // by the `invalidatePreSignedToken` row.
    (
        d["invalidatePreSignedTokensForUser"].clone(),
        json!({"invalidatedCount": 1}),
    )
}

fn new_account_input(_: &World, caller: Caller) -> Value {
    json!({"input": {
        "brandCode": BRAND,
        "email": format!("new-{}@example.com", caller.slug()),
        "givenName": "New",
        "familyName": "Customer",
        "address": {"streetAddress": "1 New Street", "postalCode": "EC1A 1BB", "country": "GB"},
        "accountReference": {"namespace": "crm", "value": format!("new-{}", caller.slug())},
    }})
}

fn account_created(w: &World, d: &Value) -> (Value, Value) {
    let account = &d["createFlexShellAccount"]["account"];
    let number = account["number"].as_str().unwrap_or_default();
    let new = number.starts_with("A-") && number != w.a_number && number != w.b_number;
    (json!([new, length(&account["users"])]), json!([true, 1]))
}

fn billing_reference(d: &Value, field: &str, value: &str) -> (Value, Value) {
    (
        d[field]["accountReference"].clone(),
        json!({"namespace": "billing", "value": value}),
    )
}

fn reference_created(_: &World, d: &Value) -> (Value, Value) {
    billing_reference(d, "createAccountReference", "bill-a-1")
}

fn reference_updated(_: &World, d: &Value) -> (Value, Value) {
    billing_reference(d, "updateAccountReference", "bill-a-2")
}

fn reference_deleted(_: &World, d: &Value) -> (Value, Value) {
    billing_reference(d, "deleteAccountReference", "bill-a-2")
}

/// A heat-pump controller operation on account A naming a controller that is not on it: the
/// callers who may see the account get OE-0315, the others the usual refusals.
fn foreign_controller(root: Root, field: &'static str, document: &'static str) -> Row {
    Row {
        root,
        field,
        case: "account A, a controller not on it",
        document,
        variables: number_a,
        expect: [
            Deny(HEADER_MISSING),
            Deny(HEAT_PUMP_INVALID),
            Deny(UNAUTHORIZED),
            Deny(HEAT_PUMP_INVALID),
            Deny(UNAUTHORIZED),
        ],
    }
}

/// The matrix. Rows run in this order; within a row the callers run in [`Caller::WALK`] order.
fn matrix() -> Vec<Row> {
    vec![
        // ---------------------------------------------------------------- queries
        Row {
            root: Root::Query,
            field: "account",
            case: "account A, by variable",
            document: "query Account($n: String!) { account(accountNumber: $n) { number users { email } properties { id } } }",
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Allow(sees_account_a),
                Deny(ACCOUNT_UNAUTHORIZED),
                Allow(sees_account_a),
                Deny(ACCOUNT_UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "account",
            case: "account A, literal",
            document: r#"{ account(accountNumber: "%A%") { number users { email } properties { id } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Allow(sees_account_a),
                Deny(ACCOUNT_UNAUTHORIZED),
                Allow(sees_account_a),
                Deny(ACCOUNT_UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "account",
            case: "account A, number in lower case",
            document: "query($n: String!) { account(accountNumber: $n) { number } }",
            variables: |w, _| json!({"n": w.a_number.to_lowercase()}),
            expect: [
                Deny(HEADER_MISSING),
                Allow(sees_number_a),
                Deny(ACCOUNT_UNAUTHORIZED),
                Allow(sees_number_a),
                Deny(ACCOUNT_UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "account",
            case: "account B (the mirror image: Org Two and b are not just refused everything)",
            document: "query($n: String!) { account(accountNumber: $n) { number } }",
            variables: number_b,
            expect: [
                Deny(HEADER_MISSING),
                Deny(ACCOUNT_UNAUTHORIZED),
                Allow(sees_number_b),
                Deny(ACCOUNT_UNAUTHORIZED),
                Allow(sees_number_b),
            ],
        },
        Row {
            root: Root::Query,
            field: "account",
            case: "unknown number A-ZZZZZZZZ (no probing: same code as a forbidden account)",
            document: r#"{ account(accountNumber: "A-ZZZZZZZZ") { number } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny(ACCOUNT_UNAUTHORIZED),
                Deny(ACCOUNT_UNAUTHORIZED),
                Deny(ACCOUNT_UNAUTHORIZED),
                Deny(ACCOUNT_UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "account",
            case: "malformed number",
            document: r#"{ account(accountNumber: "not-a-number") { number } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny(ACCOUNT_UNAUTHORIZED),
                Deny(ACCOUNT_UNAUTHORIZED),
                Deny(ACCOUNT_UNAUTHORIZED),
                Deny(ACCOUNT_UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "viewer",
            case: "the signed-in user",
            document: "{ viewer { email accounts { number } } }",
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Allow(viewer_is_a),
                Allow(viewer_is_b),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "properties",
            case: "account A's properties",
            document: "query($n: String!) { properties(accountNumber: $n) { id timeZone } }",
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Allow(properties_of_a),
                Deny(UNAUTHORIZED),
                Allow(properties_of_a),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "property",
            case: "account A's property and its measurements",
            document: "query($p: ID!) { property(id: $p) { id measurements(first: 10) { totalCount } } }",
            variables: |w, _| json!({"p": w.a_property.to_string()}),
            expect: [
                Deny(HEADER_MISSING),
                Allow(property_a_measured),
                Deny(PROPERTY_UNAUTHORIZED),
                Allow(property_a_measured),
                Deny(PROPERTY_UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "applicableRates",
            case: "a meter point account A does not have (1605 once the account is seen)",
            document: "query($n: String!) { applicableRates(accountNumber: $n, mpxn: \"1200023305967\", startAt: \"2026-11-10T00:00:00Z\", endAt: \"2026-11-11T00:00:00Z\", first: 5) { edges { node { value } } } }",
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Deny(INVALID_INPUT),
                Deny(ACCOUNT_UNAUTHORIZED),
                Deny(INVALID_INPUT),
                Deny(ACCOUNT_UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "applicableStandingCharges",
            case: "a meter point account A does not have (1605 once the account is seen)",
            document: "query($n: String!) { applicableStandingCharges(accountNumber: $n, mpxn: \"1200023305967\", startAt: \"2026-11-10T00:00:00Z\", endAt: \"2026-11-11T00:00:00Z\", first: 5) { edges { node { value } } } }",
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Deny(INVALID_INPUT),
                Deny(ACCOUNT_UNAUTHORIZED),
                Deny(INVALID_INPUT),
                Deny(ACCOUNT_UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "smartMeterTelemetry",
            case: "a smart meter nobody may see is not found",
            document: "{ smartMeterTelemetry(deviceId: \"00-1A-2B-FF-FF-3C-4D-5E\") { readAt } }",
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny(SMART_METER_NOT_FOUND),
                Deny(SMART_METER_NOT_FOUND),
                Deny(SMART_METER_NOT_FOUND),
                Deny(SMART_METER_NOT_FOUND),
            ],
        },
        Row {
            root: Root::Query,
            field: "electricityMeterReadings",
            case: "a meter account A does not have (1605 once the account is seen)",
            document: "query($n: String!) { electricityMeterReadings(accountNumber: $n, meterId: \"1\", first: 5) { totalCount } }",
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Deny(INVALID_INPUT),
                Deny(ACCOUNT_UNAUTHORIZED),
                Deny(INVALID_INPUT),
                Deny(ACCOUNT_UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "gasMeterReadings",
            case: "a meter account A does not have (1605 once the account is seen)",
            document: "query($n: String!) { gasMeterReadings(accountNumber: $n, meterId: \"1\", first: 5) { totalCount } }",
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Deny(INVALID_INPUT),
                Deny(ACCOUNT_UNAUTHORIZED),
                Deny(INVALID_INPUT),
                Deny(ACCOUNT_UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "accountReference",
            case: "A's CRM reference, by variable",
            document: "query($v: String!) { accountReference(value: $v) { namespace value account { number } } }",
            variables: |_, _| json!({"v": A_REF}),
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(reference_of_a),
                Allow(no_references),
            ],
        },
        Row {
            root: Root::Query,
            field: "accountReference",
            case: "A's CRM reference, literal",
            document: r#"{ accountReference(value: "%A_REF%") { namespace value account { number } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(reference_of_a),
                Allow(no_references),
            ],
        },
        Row {
            root: Root::Query,
            field: "accountsSearch",
            case: "by account number",
            document: "query($n: String) { accountsSearch(searchTerms: {accountNumber: $n}) { account { number } } }",
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(finds_a),
                Allow(finds_nothing),
            ],
        },
        Row {
            root: Root::Query,
            field: "accountsSearch",
            case: "by email, in another case",
            document: r#"{ accountsSearch(searchTerms: {email: "A@Example.COM"}) { account { number } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(finds_a),
                Allow(finds_nothing),
            ],
        },
        Row {
            root: Root::Query,
            field: "accountsSearch",
            case: "by postcode without its space, lower case",
            document: "query($p: String) { accountsSearch(searchTerms: {postcode: $p}) { account { number } } }",
            variables: |_, _| json!({"p": "sw1a2aa"}),
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(finds_a),
                Allow(finds_nothing),
            ],
        },
        Row {
            root: Root::Query,
            field: "accountsSearch",
            case: "by postcode with extra spaces, mixed case",
            document: r#"{ accountsSearch(searchTerms: {postcode: " Sw1A  2aA "}) { account { number } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(finds_a),
                Allow(finds_nothing),
            ],
        },
        Row {
            root: Root::Query,
            field: "accountsSearch",
            case: "B's postcode (the mirror image)",
            document: "query($p: String) { accountsSearch(searchTerms: {postcode: $p}) { account { number } } }",
            variables: |_, _| json!({"p": B_POSTCODE}),
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(finds_nothing),
                Allow(finds_b),
            ],
        },
        Row {
            root: Root::Query,
            field: "accountIoEligibility",
            case: "account A",
            document: "query($n: String!) { accountIoEligibility(accountNumber: $n) { isEligibleForIo } }",
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Allow(eligible),
                Deny(UNAUTHORIZED),
                Allow(eligible),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "possibleErrors",
            case: "of the account query",
            document: r#"{ possibleErrors(input: {name: "account", type: "query"}) { code } }"#,
            variables: no_variables,
            expect: [
                Allow(lists_account_errors),
                Allow(lists_account_errors),
                Allow(lists_account_errors),
                Allow(lists_account_errors),
                Allow(lists_account_errors),
            ],
        },
        Row {
            root: Root::Query,
            field: "enumerations",
            case: "account statuses",
            document: "query { enumerations { accountStatus } }",
            variables: no_variables,
            expect: [
                Allow(lists_account_statuses),
                Allow(lists_account_statuses),
                Allow(lists_account_statuses),
                Allow(lists_account_statuses),
                Allow(lists_account_statuses),
            ],
        },
        Row {
            root: Root::Query,
            field: "billingTriggerConfigurations",
            case: "account A's billing trigger",
            document: "query($n: String!) { billingTriggerConfigurations(accountNumber: $n, first: 5) { edges { node { target { number targetType } configurations { isActive } } } } }",
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Allow(sees_billing_trigger_of_a),
                Deny(ACCOUNT_UNAUTHORIZED),
                Allow(sees_billing_trigger_of_a),
                Deny(ACCOUNT_UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Introspection,
            field: "__schema",
            case: "the query type's name",
            document: "{ __schema { queryType { name } } }",
            variables: no_variables,
            expect: [
                Allow(schema_answers),
                Allow(schema_answers),
                Allow(schema_answers),
                Allow(schema_answers),
                Allow(schema_answers),
            ],
        },
        // ---------------------------------------------------------------- mutations
        Row {
            root: Root::Mutation,
            field: "obtainKrakenToken",
            case: "with Org One's secret key, by variable (how everyone signs in)",
            document: "mutation($k: String!) { obtainKrakenToken(input: {organizationSecretKey: $k}) { token payload } }",
            variables: |w, _| json!({"k": w.org_one_key}),
            expect: [
                Allow(organisation_token),
                Allow(organisation_token),
                Allow(organisation_token),
                Allow(organisation_token),
                Allow(organisation_token),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "obtainKrakenToken",
            case: "with b's API key, literal",
            document: r#"mutation { obtainKrakenToken(input: {APIKey: "%B_KEY%"}) { token payload } }"#,
            variables: no_variables,
            expect: [
                Allow(api_key_token),
                Allow(api_key_token),
                Allow(api_key_token),
                Allow(api_key_token),
                Allow(api_key_token),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "regenerateSecretKey",
            case: "the caller's own key",
            document: "mutation { regenerateSecretKey { key } }",
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Allow(new_api_key),
                Allow(new_api_key),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "generatePreSignedToken",
            case: "for user a",
            document: "mutation($e: String!) { generatePreSignedToken(email: $e) { token tokenExpiryDatetime } }",
            variables: |_, _| json!({"e": A_EMAIL}),
            expect: [
                Deny(HEADER_MISSING),
                Deny(PRE_SIGNED_UNAUTHORIZED),
                Deny(PRE_SIGNED_UNAUTHORIZED),
                Allow(pre_signed_minted),
                Deny(PRE_SIGNED_ADMIN_UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "invalidatePreSignedToken",
            case: "the key Org One minted for a",
            document: "mutation($t: String!) { invalidatePreSignedToken(input: {token: $t}) { invalidated } }",
            variables: |w, _| json!({"t": w.pre_signed}),
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(pre_signed_invalidated),
                Deny(PRE_SIGNED_INVALID),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "invalidatePreSignedTokensForUser",
            case: "every key of user a",
            document: r#"mutation { invalidatePreSignedTokensForUser(input: {email: "a@example.com"}) { invalidatedCount } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(pre_signed_for_user_invalidated),
                Deny(PRE_SIGNED_ADMIN_UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "createFlexShellAccount",
            case: "a new customer (a different one per caller)",
            document: "mutation($input: CreateFlexShellAccountInput!) { createFlexShellAccount(input: $input) { account { number users { email } } } }",
            variables: new_account_input,
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(account_created),
                Allow(account_created),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "createAccountReference",
            case: "billing reference on A",
            document: "mutation($n: String!, $v: String!) { createAccountReference(input: {accountNumber: $n, namespace: \"billing\", value: $v}) { accountReference { namespace value } } }",
            variables: |w, _| json!({"n": w.a_number, "v": "bill-a-1"}),
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(reference_created),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "updateAccountReference",
            case: "billing reference on A, literal",
            document: r#"mutation { updateAccountReference(input: {accountNumber: "%A%", namespace: "billing", value: "bill-a-2"}) { accountReference { namespace value } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(reference_updated),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "deleteAccountReference",
            case: "billing reference on A",
            document: "mutation($input: DeleteAccountReferenceInput!) { deleteAccountReference(input: $input) { accountReference { namespace value } } }",
            variables: |w, _| json!({"input": {"accountNumber": w.a_number, "namespace": "billing"}}),
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(reference_deleted),
                Deny(UNAUTHORIZED),
            ],
        },
        // ---------------------------------------------------------------- devices
        // The world has no devices; tests/devices.rs checks each caller against real ones.
        Row {
            root: Root::Query,
            field: "devices",
            case: "account A's devices (none yet)",
            document: "query($n: String!) { devices(accountNumber: $n) { id } }",
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Allow(|_, d| (d["devices"].clone(), json!([]))),
                Deny(UNAUTHORIZED),
                Allow(|_, d| (d["devices"].clone(), json!([]))),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "flexPlannedDispatches",
            case: "an unknown device",
            document: r#"query { flexPlannedDispatches(deviceId: "no-such-device") { start } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
            ],
        },
        Row {
            root: Root::Query,
            field: "smartFlexDevicePlan",
            case: "an unknown device",
            document: r#"query { smartFlexDevicePlan(deviceId: "no-such-device") { version } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
            ],
        },
        Row {
            root: Root::Query,
            field: "plannedDispatches",
            case: "account A's planned dispatches (none yet)",
            document: "query($n: String!) { plannedDispatches(accountNumber: $n) { start } }",
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Allow(|_, d| (d["plannedDispatches"].clone(), json!([]))),
                Deny(UNAUTHORIZED),
                Allow(|_, d| (d["plannedDispatches"].clone(), json!([]))),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "setDevicePreferences",
            case: "an unknown device (no probing: every caller gets KT-CT-4301)",
            document: r#"mutation { setDevicePreferences(input: {deviceId: "no-such-device", mode: CHARGE, unit: PERCENTAGE, schedules: [{dayOfWeek: MONDAY, time: "07:30", max: "80.0"}]}) { id } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "updateDeviceGridExport",
            case: "an unknown device",
            document: r#"mutation { updateDeviceGridExport(input: {deviceId: "no-such-device", enabled: true}) { id } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "updateIsChargingDurationCapped",
            case: "an unknown device",
            document: r#"mutation { updateIsChargingDurationCapped(input: {deviceId: "no-such-device", enabled: true}) { id } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "updateDeviceSmartControl",
            case: "an unknown device",
            document: r#"mutation { updateDeviceSmartControl(input: {deviceId: "no-such-device", action: SUSPEND}) { id } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "updateBoostCharge",
            case: "an unknown device",
            document: r#"mutation { updateBoostCharge(input: {deviceId: "no-such-device", action: BOOST}) { id } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "triggerTestCharge",
            case: "an unknown device",
            document: r#"mutation { triggerTestCharge(input: {deviceId: "no-such-device"}) { krakenflexDevice { krakenflexDeviceId } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "deauthenticateFlexDevice",
            case: "an unknown device",
            document: r#"mutation { deauthenticateFlexDevice(input: {deviceId: "no-such-device"}) { krakenflexDevice { krakenflexDeviceId } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
                Deny("KT-CT-4301"),
            ],
        },
        // ---------------------------------------------------------------- catalogue and onboarding
        Row {
            root: Root::Query,
            field: "electricVehicles",
            case: "the public catalogue",
            document: r#"{ electricVehicles { make } }"#,
            variables: no_variables,
            expect: [
                Allow(|_, d| {
                    (
                        json!(
                            d["electricVehicles"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Allow(|_, d| {
                    (
                        json!(
                            d["electricVehicles"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Allow(|_, d| {
                    (
                        json!(
                            d["electricVehicles"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Allow(|_, d| {
                    (
                        json!(
                            d["electricVehicles"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Allow(|_, d| {
                    (
                        json!(
                            d["electricVehicles"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
            ],
        },
        Row {
            root: Root::Query,
            field: "chargePointVariants",
            case: "the public catalogue",
            document: r#"{ chargePointVariants { make } }"#,
            variables: no_variables,
            expect: [
                Allow(|_, d| {
                    (
                        json!(
                            d["chargePointVariants"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Allow(|_, d| {
                    (
                        json!(
                            d["chargePointVariants"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Allow(|_, d| {
                    (
                        json!(
                            d["chargePointVariants"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Allow(|_, d| {
                    (
                        json!(
                            d["chargePointVariants"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Allow(|_, d| {
                    (
                        json!(
                            d["chargePointVariants"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
            ],
        },
        Row {
            root: Root::Query,
            field: "batteryVariants",
            case: "the public catalogue",
            document: r#"{ batteryVariants { make } }"#,
            variables: no_variables,
            expect: [
                Allow(|_, d| {
                    (
                        json!(
                            d["batteryVariants"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Allow(|_, d| {
                    (
                        json!(
                            d["batteryVariants"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Allow(|_, d| {
                    (
                        json!(
                            d["batteryVariants"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Allow(|_, d| {
                    (
                        json!(
                            d["batteryVariants"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Allow(|_, d| {
                    (
                        json!(
                            d["batteryVariants"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
            ],
        },
        Row {
            root: Root::Query,
            field: "flexSupportedDevices",
            case: "the public catalogue",
            document: r#"{ flexSupportedDevices(supportedDeviceType: CHARGE_POINTS) { supportedMakes { make } } }"#,
            variables: no_variables,
            expect: [
                Allow(|_, d| {
                    (
                        json!(
                            d["flexSupportedDevices"]["supportedMakes"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Allow(|_, d| {
                    (
                        json!(
                            d["flexSupportedDevices"]["supportedMakes"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Allow(|_, d| {
                    (
                        json!(
                            d["flexSupportedDevices"]["supportedMakes"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Allow(|_, d| {
                    (
                        json!(
                            d["flexSupportedDevices"]["supportedMakes"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Allow(|_, d| {
                    (
                        json!(
                            d["flexSupportedDevices"]["supportedMakes"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
            ],
        },
        Row {
            root: Root::Query,
            field: "eligibleDeviceTypes",
            case: "account A",
            document: r#"query($n: String!) { eligibleDeviceTypes(accountNumber: $n) }"#,
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Allow(|_, d| {
                    (
                        json!(
                            d["eligibleDeviceTypes"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Deny(UNAUTHORIZED),
                Allow(|_, d| {
                    (
                        json!(
                            d["eligibleDeviceTypes"]
                                .as_array()
                                .is_some_and(|l| !l.is_empty())
                        ),
                        json!(true),
                    )
                }),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "smartFlexOnboardingWizards",
            case: "account A",
            document: r#"query($n: String!) { smartFlexOnboardingWizards(accountNumber: $n) { id } }"#,
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Allow(|_, d| {
                    (
                        json!(d["smartFlexOnboardingWizards"].is_array()),
                        json!(true),
                    )
                }),
                Deny(UNAUTHORIZED),
                Allow(|_, d| {
                    (
                        json!(d["smartFlexOnboardingWizards"].is_array()),
                        json!(true),
                    )
                }),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "smartFlexOnboardingWizard",
            case: "an unknown wizard (no probing)",
            document: r#"{ smartFlexOnboardingWizard(wizardId: "no-such-wizard") { id } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "startSmartFlexOnboarding",
            case: "a property of account A",
            document: r#"mutation { startSmartFlexOnboarding(input: {accountNumber: "%A%", propertyId: %A_PROPERTY%}) { wizard { id } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Allow(|_, d| {
                    (
                        json!(d["startSmartFlexOnboarding"]["wizard"]["id"].is_string()),
                        json!(true),
                    )
                }),
                Deny(UNAUTHORIZED),
                Allow(|_, d| {
                    (
                        json!(d["startSmartFlexOnboarding"]["wizard"]["id"].is_string()),
                        json!(true),
                    )
                }),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "startSmartFlexOnboardingWizard",
            case: "a property of account A",
            document: r#"mutation { startSmartFlexOnboardingWizard(input: {accountNumber: "%A%", propertyId: %A_PROPERTY%}) { wizard { id } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Allow(|_, d| {
                    (
                        json!(d["startSmartFlexOnboardingWizard"]["wizard"]["id"].is_string()),
                        json!(true),
                    )
                }),
                Deny(UNAUTHORIZED),
                Allow(|_, d| {
                    (
                        json!(d["startSmartFlexOnboardingWizard"]["wizard"]["id"].is_string()),
                        json!(true),
                    )
                }),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "startReAuthentication",
            case: "an unknown device of account A",
            document: r#"mutation { startReAuthentication(input: {accountNumber: "%A%", deviceId: "no-such-device", propertyId: %A_PROPERTY%}) { wizard { id } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4301"),
                Deny(UNAUTHORIZED),
                Deny("KT-CT-4301"),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "cancelSmartFlexOnboarding",
            case: "an unknown wizard (no probing)",
            document: r#"mutation { cancelSmartFlexOnboarding(input: {wizardId: "no-such-wizard"}) { wizard { id } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "selectFromListForSmartFlexOnboarding",
            case: "an unknown wizard (no probing)",
            document: r#"mutation { selectFromListForSmartFlexOnboarding(input: {wizardId: "no-such-wizard", stepId: "x", selectedOption: "y"}) { wizard { id } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "selectVehicleOrChargePointForSmartFlexOnboarding",
            case: "an unknown wizard (no probing)",
            document: r#"mutation { selectVehicleOrChargePointForSmartFlexOnboarding(input: {wizardId: "no-such-wizard", stepId: "x", selectedIntegration: ELECTRIC_VEHICLE}) { wizard { id } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "completeAuthFlowForSmartFlexOnboarding",
            case: "an unknown wizard (no probing)",
            document: r#"mutation { completeAuthFlowForSmartFlexOnboarding(input: {wizardId: "no-such-wizard", stepId: "x", continuationUri: "https://x/?code=1"}) { wizard { id } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "completeUserInputRequiredForSmartFlexOnboarding",
            case: "an unknown wizard (no probing)",
            document: r#"mutation { completeUserInputRequiredForSmartFlexOnboarding(input: {wizardId: "no-such-wizard", stepId: "x", userInput: [{key: "vin", value: "1"}]}) { wizard { id } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "completeUserActionForSmartFlexOnboarding",
            case: "an unknown wizard (no probing)",
            document: r#"mutation { completeUserActionForSmartFlexOnboarding(input: {wizardId: "no-such-wizard", stepId: "x"}) { wizard { id } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "completeTeslaSetupVirtualKeyForSmartFlexOnboarding",
            case: "an unknown wizard (no probing)",
            document: r#"mutation { completeTeslaSetupVirtualKeyForSmartFlexOnboarding(input: {wizardId: "no-such-wizard", stepId: "x"}) { wizard { id } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "completeTeslaRegistrationFailedForSmartFlexOnboarding",
            case: "an unknown wizard (no probing)",
            document: r#"mutation { completeTeslaRegistrationFailedForSmartFlexOnboarding(input: {wizardId: "no-such-wizard", stepId: "x", modifyScopesSelected: true}) { wizard { id } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "completeRetryForSmartFlexOnboarding",
            case: "an unknown wizard (no probing)",
            document: r#"mutation { completeRetryForSmartFlexOnboarding(input: {wizardId: "no-such-wizard", stepId: "x"}) { wizard { id } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "startTestChargeForSmartFlexOnboarding",
            case: "an unknown wizard (no probing)",
            document: r#"mutation { startTestChargeForSmartFlexOnboarding(input: {wizardId: "no-such-wizard", stepId: "x"}) { wizard { id } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
                Deny("KT-CT-4371"),
            ],
        },
        // ---------------------------------------------------------------- tariffs
        Row {
            root: Root::Mutation,
            field: "importTariffRates",
            case: "one half-hour, each organisation into its own tariff",
            document: r#"mutation($c: String!) { importTariffRates(input: {tariffCode: $c, rates: [{validFrom: "2026-11-27T00:00:00Z", validTo: "2026-11-27T00:30:00Z", unitRate: "12.5"}]}) { tariff { code } importedCount } }"#,
            variables: |_, caller| json!({"c": if caller == Caller::OrgTwo { "MATRIX-TWO" } else { "MATRIX" }}),
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(tariff_imported),
                Allow(tariff_imported),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "importTariffRates",
            case: "Org One's tariff: only Org One may re-import it",
            document: r#"mutation { importTariffRates(input: {tariffCode: "MATRIX", rates: [{validFrom: "2026-11-27T00:00:00Z", validTo: "2026-11-27T00:30:00Z", unitRate: "12.5"}]}) { tariff { code } importedCount } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(tariff_imported),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "saveEnergyProduct",
            case: "each organisation its own product",
            document: r#"mutation($c: String!) { saveEnergyProduct(input: {code: $c, displayName: "Matrix", fullName: "Matrix", availableFrom: "2026-11-01T00:00:00Z", tariffs: [{kind: "SINGLE_RATE", region: "C", charges: [{kind: "STANDARD", validFrom: "2026-11-01T00:00:00Z", valueExcVat: "20"}]}]}) { product { code } } }"#,
            variables: |_, caller| json!({"c": if caller == Caller::OrgTwo { "MATRIX-PRODUCT-TWO" } else { "MATRIX-PRODUCT" }}),
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(product_saved),
                Allow(product_saved),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "saveEnergyProduct",
            case: "Org One's product: only Org One may change it",
            document: r#"mutation { saveEnergyProduct(input: {code: "MATRIX-PRODUCT", displayName: "Matrix", fullName: "Matrix", availableFrom: "2026-11-01T00:00:00Z"}) { product { code } } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(product_saved),
                Deny(UNAUTHORIZED),
            ],
        },
        // ---------------------------------------------------------------- meter points and agreements
        Row {
            root: Root::Mutation,
            field: "saveMeterPoint",
            case: "a meter point on account A's property",
            document: r#"mutation($n: String!) { saveMeterPoint(input: {accountNumber: $n, mpan: "1200023305967", meters: [{serialNumber: "21L4380212", activeFrom: "2026-11-01T00:00:00Z"}]}) { property { electricityMeterPoints { mpan } } } }"#,
            variables: |w, _| json!({"n": w.a_number}),
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(meter_point_saved),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "startAgreement",
            case: "account A's meter point on Org One's tariff",
            document: r#"mutation($n: String!) { startAgreement(input: {accountNumber: $n, mpan: "1200023305967", tariffCode: "E-1R-MATRIX-PRODUCT-C", validFrom: "2026-11-01T00:00:00Z"}) { tariffCode validTo endedAgreementId } }"#,
            variables: |w, _| json!({"n": w.a_number}),
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(agreement_started),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "tariffRates",
            case: "the imported half-hour (organisations only)",
            document: r#"{ tariffRates(tariffCode: "MATRIX", from: "2026-11-27T00:00:00Z", to: "2026-11-28T00:00:00Z") { validFrom unitRate } }"#,
            variables: no_variables,
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(tariff_rates_read),
                // Another organisation's tariff is not there for Org Two.
                Allow(|_, d| (d["tariffRates"].clone(), json!([]))),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "assignTariff",
            case: "account A (its organisation only)",
            document: r#"mutation($n: String!) { assignTariff(input: {accountNumber: $n, tariffCode: "MATRIX"}) { accountNumber propertyCount } }"#,
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Deny(UNAUTHORIZED),
                Deny(UNAUTHORIZED),
                Allow(tariff_assigned),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "propertyTariff",
            case: "account A's property (its user and organisation)",
            document: "query($n: String!, $p: ID!) { propertyTariff(accountNumber: $n, propertyId: $p) { tariff { code } } }",
            variables: |w, _| json!({"n": w.a_number, "p": w.a_property.to_string()}),
            expect: [
                Deny(HEADER_MISSING),
                Allow(property_on_matrix_tariff),
                Deny(UNAUTHORIZED),
                Allow(property_on_matrix_tariff),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "refundPayment",
            case: "a payment account A does not have (organisations only)",
            document: r#"mutation($n: ID!) { refundPayment(input: {accountNumber: $n, amountInMinorUnit: 100, idempotencyKey: "matrix", paymentId: "none", reason: "matrix"}) { repayment { id } } }"#,
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-3924"),
                Deny("KT-CT-1111"),
                Deny("KT-CT-3924"),
                Deny("KT-CT-1111"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "submitRepaymentRequest",
            case: "more than account A's credit",
            document: r#"mutation($n: String!) { submitRepaymentRequest(input: {accountNumber: $n, amountInMinorUnit: 100, idempotencyKey: "matrix"}) { repaymentRequest { requestId } } }"#,
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-3927"),
                Deny("KT-CT-1111"),
                Deny("KT-CT-3927"),
                Deny("KT-CT-1111"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "cancelRepaymentRequest",
            case: "a request account A does not have",
            document: r#"mutation($n: String!) { cancelRepaymentRequest(input: {accountNumber: $n, requestId: "RR-NONE"}) { repaymentRequest { requestId } } }"#,
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-3930"),
                Deny("KT-CT-1111"),
                Deny("KT-CT-3930"),
                Deny("KT-CT-1111"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "approveRepayment",
            case: "a repayment account A does not have (organisations only)",
            document: r#"mutation($n: String!) { approveRepayment(input: {accountNumber: $n, repaymentId: "999999"}) { repayment { id } } }"#,
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-3959"),
                Deny("KT-CT-1111"),
                Deny("KT-CT-3944"),
                Deny("KT-CT-1111"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "setUpDirectDebitInstruction",
            case: "invalid bank details on account A",
            document: r#"mutation($n: String!) { setUpDirectDebitInstruction(input: {accountNumber: $n, bankDetails: {accountHolder: "A", sortCode: "12", accountNumber: "1"}, validFrom: "2026-11-27T12:00:00Z"}) { paymentInstruction { id } } }"#,
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-3940"),
                Deny("KT-CT-1111"),
                Deny("KT-CT-3940"),
                Deny("KT-CT-1111"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "createAccountPaymentSchedule",
            case: "a ledger account A does not have",
            document: r#"mutation($n: String!) { createAccountPaymentSchedule(input: {accountNumber: $n, ledgerNumber: "L-NONE", paymentDay: 5}) { schedule { id } } }"#,
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-3941"),
                Deny("KT-CT-1111"),
                Deny("KT-CT-3941"),
                Deny("KT-CT-1111"),
            ],
        },
        Row {
            root: Root::Mutation,
            field: "switchAccountToVariablePaymentSchedule",
            case: "a ledger account A does not have",
            document: r#"mutation($n: String!) { switchAccountToVariablePaymentSchedule(input: {accountNumber: $n, ledgerNumber: "L-NONE"}) { schedule { id } } }"#,
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Deny("KT-CT-3922"),
                Deny("KT-CT-3921"),
                Deny("KT-CT-3922"),
                Deny("KT-CT-3921"),
            ],
        },
        Row {
            root: Root::Query,
            field: "completedDispatches",
            case: "account A",
            document: "query($n: String!) { completedDispatches(accountNumber: $n) { start delta } }",
            variables: number_a,
            expect: [
                Deny(HEADER_MISSING),
                Allow(|_, d| (json!(d["completedDispatches"].is_array()), json!(true))),
                Deny(UNAUTHORIZED),
                Allow(|_, d| (json!(d["completedDispatches"].is_array()), json!(true))),
                Deny(UNAUTHORIZED),
            ],
        },
        Row {
            root: Root::Query,
            field: "heatPumpControllersAtLocation",
            case: "account A's property, which has no heat pump",
            document: r#"query($n: String!, $p: ID!) { heatPumpControllersAtLocation(accountNumber: $n, propertyId: $p) { controller { euid } } }"#,
            variables: |w, _| json!({"n": w.a_number, "p": w.a_property.to_string()}),
            expect: [
                Deny(HEADER_MISSING),
                Allow(|_, d| (d["heatPumpControllersAtLocation"].clone(), json!([]))),
                Deny(UNAUTHORIZED),
                Allow(|_, d| (d["heatPumpControllersAtLocation"].clone(), json!([]))),
                Deny(UNAUTHORIZED),
            ],
        },
        foreign_controller(
            Root::Query,
            "heatPumpControllerStatus",
            r#"query($n: String!) { heatPumpControllerStatus(accountNumber: $n, euid: "0000000000000000") { zones { zone } } }"#,
        ),
        foreign_controller(
            Root::Query,
            "heatPumpControllerConfiguration",
            r#"query($n: String!) { heatPumpControllerConfiguration(accountNumber: $n, euid: "0000000000000000") { controller { connected } } }"#,
        ),
        foreign_controller(
            Root::Query,
            "heatPumpLivePerformance",
            r#"query($n: String!) { heatPumpLivePerformance(accountNumber: $n, euid: "0000000000000000") { readAt } }"#,
        ),
        foreign_controller(
            Root::Query,
            "heatPumpLifetimePerformance",
            r#"query($n: String!) { heatPumpLifetimePerformance(accountNumber: $n, euid: "0000000000000000") { readAt } }"#,
        ),
        foreign_controller(
            Root::Query,
            "heatPumpTimeRangedPerformance",
            r#"query($n: String!) { heatPumpTimeRangedPerformance(accountNumber: $n, euid: "0000000000000000", startAt: "2026-11-27T00:00:00Z", endAt: "2026-11-27T12:00:00Z") { energyInput { value } } }"#,
        ),
        foreign_controller(
            Root::Query,
            "heatPumpTimeSeriesPerformance",
            r#"query($n: String!) { heatPumpTimeSeriesPerformance(accountNumber: $n, euid: "0000000000000000", startAt: "2026-11-27T00:00:00Z", endAt: "2026-11-27T12:00:00Z", performanceGrouping: DAY) { startAt } }"#,
        ),
        foreign_controller(
            Root::Mutation,
            "heatPumpSetHushMode",
            r#"mutation($n: String!) { heatPumpSetHushMode(accountNumber: $n, euid: "0000000000000000", hushModeEnabled: true) { transactionId } }"#,
        ),
        foreign_controller(
            Root::Mutation,
            "heatPumpUpdateFlowTemperatureConfiguration",
            r#"mutation($n: String!) { heatPumpUpdateFlowTemperatureConfiguration(accountNumber: $n, euid: "0000000000000000", flowTemperatureInput: { useWeatherCompensation: true }) { transactionIds { transactionId } } }"#,
        ),
        foreign_controller(
            Root::Mutation,
            "heatPumpSetZoneMode",
            r#"mutation($n: String!) { heatPumpSetZoneMode(accountNumber: $n, euid: "0000000000000000", operationParameters: { zone: ZONE_1, mode: AUTO }) { transactionId } }"#,
        ),
        foreign_controller(
            Root::Mutation,
            "heatPumpSetZoneSchedules",
            r#"mutation($n: String!) { heatPumpSetZoneSchedules(accountNumber: $n, euid: "0000000000000000", zoneScheduleParameters: { zone: ZONE_1, schedules: [] }) { transactionId } }"#,
        ),
        foreign_controller(
            Root::Mutation,
            "heatPumpSetZonePrimarySensor",
            r#"mutation($n: String!) { heatPumpSetZonePrimarySensor(accountNumber: $n, euid: "0000000000000000", operationParameters: { zone: ZONE_1, sensorCode: "SENSOR01" }) { transactionId } }"#,
        ),
        foreign_controller(
            Root::Mutation,
            "heatPumpBulkUpdateZoneDisplayNames",
            r#"mutation($n: String!) { heatPumpBulkUpdateZoneDisplayNames(accountNumber: $n, euid: "0000000000000000", updates: [{ zoneCode: ZONE_1, newDisplayName: "Downstairs" }]) { transactionIds { transactionId } } }"#,
        ),
    ]
}

fn tariff_imported(_: &World, d: &Value) -> (Value, Value) {
    let code = d["importTariffRates"]["tariff"]["code"]
        .as_str()
        .unwrap_or_default();
    if code == "MATRIX-TWO" {
        return (
            d["importTariffRates"].clone(),
            json!({"tariff": {"code": "MATRIX-TWO"}, "importedCount": 1}),
        );
    }
    (
        d["importTariffRates"].clone(),
        json!({"tariff": {"code": "MATRIX"}, "importedCount": 1}),
    )
}

fn meter_point_saved(_: &World, d: &Value) -> (Value, Value) {
    (
        d["saveMeterPoint"].clone(),
        json!({"property": {"electricityMeterPoints": [{"mpan": "1200023305967"}]}}),
    )
}

fn agreement_started(_: &World, d: &Value) -> (Value, Value) {
    (
        d["startAgreement"].clone(),
        json!({"tariffCode": "E-1R-MATRIX-PRODUCT-C", "validTo": null, "endedAgreementId": null}),
    )
}

fn product_saved(_: &World, d: &Value) -> (Value, Value) {
    let code = d["saveEnergyProduct"]["product"]["code"]
        .as_str()
        .unwrap_or_default();
    let expected = if code == "MATRIX-PRODUCT-TWO" {
        "MATRIX-PRODUCT-TWO"
    } else {
        "MATRIX-PRODUCT"
    };
    (
        d["saveEnergyProduct"].clone(),
        json!({"product": {"code": expected}}),
    )
}

fn tariff_rates_read(_: &World, d: &Value) -> (Value, Value) {
    (
        d["tariffRates"].clone(),
        json!([{"validFrom": "2026-11-27T00:00:00+00:00", "unitRate": "12.5"}]),
    )
}

fn tariff_assigned(w: &World, d: &Value) -> (Value, Value) {
    (
        d["assignTariff"].clone(),
        json!({"accountNumber": w.a_number, "propertyCount": 1}),
    )
}

fn property_on_matrix_tariff(_: &World, d: &Value) -> (Value, Value) {
    (
        d["propertyTariff"].clone(),
        json!({"tariff": {"code": "MATRIX"}}),
    )
}

/// Root fields deliberately left out of the matrix, each with its reason. Empty: every operation
/// has a row.
const NOT_IN_MATRIX: &[(Root, &str, &str)] = &[];

#[tokio::test]
async fn every_operation_answers_each_caller_as_the_matrix_says() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let rows = matrix();
    let mut failures = Vec::new();
    let mut calls = 0;
    for (row_index, row) in rows.iter().enumerate() {
        let document = w.fill(row.document);
        for caller in Caller::WALK {
            let form = HEADER_FORMS[(row_index + caller.index()) % HEADER_FORMS.len()];
            let authorization = w.token(caller).map(|token| header(form, token));
            let variables = (row.variables)(&w, caller);
            let body = app
                .graphql_as(authorization.as_deref(), &document, variables)
                .await;
            calls += 1;
            let what = format!(
                "{:?} `{}` ({}) as {} [{}]",
                row.root,
                row.field,
                row.case,
                caller.name(),
                if authorization.is_some() {
                    form
                } else {
                    "no header"
                },
            );
            match row.expect[caller.index()] {
                Allow(check) => {
                    if !body["errors"].is_null() {
                        failures.push(format!("{what}: expected to be allowed, got {body}"));
                        continue;
                    }
                    let (actual, expected) = check(&w, &body["data"]);
                    if actual != expected {
                        failures.push(format!(
                            "{what}: allowed, but expected {expected}, got {actual}; body {body}"
                        ));
                    }
                }
                Deny(code) => {
                    let codes = error_codes(&body);
                    if codes.first().map(String::as_str) != Some(code) {
                        failures.push(format!("{what}: expected {code}, got {body}"));
                    } else if !body["data"].is_null() && !body["data"][row.field].is_null() {
                        failures.push(format!("{what}: refused, yet data came back: {body}"));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {calls} calls did not answer as the matrix says:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(calls, rows.len() * 5);

    // The refused mutations changed nothing: A still has exactly its CRM reference (the billing one
    // was created, updated and deleted by Org One alone), and Org Two's accounts are B and its new one.
    let body = app
        .graphql_as(
            Some(&format!("JWT {}", w.org_one)),
            "query($n: String!) { account(accountNumber: $n) { references { namespace value } users { email } } }",
            json!({"n": w.a_number}),
        )
        .await;
    assert_eq!(
        body["data"]["account"],
        json!({"references": [{"namespace": "crm", "value": A_REF}], "users": [{"email": A_EMAIL}]}),
        "{body}"
    );
    let body = app
        .graphql_as(
            Some(&w.org_two),
            r#"{ accountsSearch(searchTerms: {email: "new-org-two@example.com"}) { account { number } } }"#,
            Value::Null,
        )
        .await;
    assert_eq!(length(&body["data"]["accountsSearch"]), json!(1), "{body}");
    let body = app
        .graphql_as(
            Some(&w.org_two),
            r#"{ accountsSearch(searchTerms: {email: "new-org-one@example.com"}) { account { number } } }"#,
            Value::Null,
        )
        .await;
    assert_eq!(body["data"]["accountsSearch"], json!([]), "{body}");
}

/// The names of the root fields of the query and mutation types, read by introspection.
async fn root_fields(app: &TestApp) -> (BTreeSet<String>, BTreeSet<String>) {
    let body = app
        .graphql(
            "{ __schema { queryType { fields(includeDeprecated: true) { name } } mutationType { fields(includeDeprecated: true) { name } } } }",
            Value::Null,
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let names = |kind: &str| -> BTreeSet<String> {
        body["data"]["__schema"][kind]["fields"]
            .as_array()
            .unwrap_or_else(|| panic!("no {kind} fields in {body}"))
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect()
    };
    (names("queryType"), names("mutationType"))
}

#[tokio::test]
async fn every_root_field_of_the_schema_has_a_matrix_row() {
    let app = TestApp::spawn().await;
    let (queries, mutations) = root_fields(&app).await;
    assert!(queries.contains("account") && mutations.contains("obtainKrakenToken"));
    let rows = matrix();
    for (root, served) in [(Root::Query, &queries), (Root::Mutation, &mutations)] {
        let in_matrix: BTreeSet<String> = rows
            .iter()
            .filter(|r| r.root == root)
            .map(|r| r.field.to_owned())
            .collect();
        let excluded: BTreeSet<String> = NOT_IN_MATRIX
            .iter()
            .filter(|(r, _, _)| *r == root)
            .map(|(_, field, reason)| {
                assert!(
                    !reason.trim().is_empty(),
                    "{field} is excluded without a reason"
                );
                (*field).to_owned()
            })
            .collect();
        let missing: Vec<&String> = served
            .iter()
            .filter(|f| !in_matrix.contains(*f) && !excluded.contains(*f))
            .collect();
        assert!(
            missing.is_empty(),
            "{root:?} fields without a row in the authorisation matrix: {missing:?}"
        );
        let stale: Vec<&String> = in_matrix
            .iter()
            .chain(&excluded)
            .filter(|f| !served.contains(*f))
            .collect();
        assert!(
            stale.is_empty(),
            "{root:?} fields in the matrix (or its exclusions) that the schema does not serve: {stale:?}"
        );
    }
}

// ----------------------------------------------------------------------------------------------
// Calls whose order matters.
// ----------------------------------------------------------------------------------------------

const REGENERATE: &str = "mutation { regenerateSecretKey { key } }";
const VIEWER_EMAIL: &str = "{ viewer { email } }";

fn regenerated_key(body: &Value, what: &str) -> String {
    assert!(body["errors"].is_null(), "{what}: {body}");
    body["data"]["regenerateSecretKey"]["key"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no key in {body}"))
        .to_owned()
}

async fn assert_key_signs_in_as(app: &TestApp, key: &str, email: &str, what: &str) {
    let token = token_of(&try_sign_in(app, json!({ "APIKey": key })).await, what);
    let body = app
        .graphql_as(Some(&token), VIEWER_EMAIL, Value::Null)
        .await;
    assert_eq!(body["data"]["viewer"]["email"], email, "{what}: {body}");
}

async fn assert_key_refused(app: &TestApp, key: &str, what: &str) {
    let body = try_sign_in(app, json!({ "APIKey": key })).await;
    assert_eq!(
        error_codes(&body).first().map(String::as_str),
        Some(AUTHENTICATION_FAILED),
        "{what}: {body}"
    );
    assert!(body["data"].is_null(), "{what}: {body}");
}

#[tokio::test]
async fn regenerating_an_api_key_retires_the_old_one_at_once() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;

    // Refused callers change nothing: a's key still signs in afterwards.
    let body = app.graphql(REGENERATE, Value::Null).await;
    assert_eq!(error_codes(&body), [HEADER_MISSING], "anonymous: {body}");
    for (name, token) in [("Org One", &w.org_one), ("Org Two", &w.org_two)] {
        let body = app
            .graphql_as(Some(&format!("JWT {token}")), REGENERATE, Value::Null)
            .await;
        assert_eq!(error_codes(&body), [UNAUTHORIZED], "{name}: {body}");
    }
    assert_key_signs_in_as(&app, &w.a_key, A_EMAIL, "a's key before regenerating").await;

    // a regenerates: the old key fails at once, the new one signs a in; b's key is untouched.
    let body = app
        .graphql_as(Some(&format!("Bearer {}", w.a)), REGENERATE, Value::Null)
        .await;
    let a_new = regenerated_key(&body, "a regenerates");
    assert!(a_new.starts_with("sk_live_"), "{a_new}");
    assert_ne!(a_new, w.a_key);
    assert_key_refused(&app, &w.a_key, "a's old key after regenerating").await;
    assert_key_signs_in_as(&app, &a_new, A_EMAIL, "a's new key").await;
    assert_key_signs_in_as(&app, &w.b_key, B_EMAIL, "b's key after a regenerated").await;

    // b does the same with a bare token; a's new key keeps working.
    let body = app.graphql_as(Some(&w.b), REGENERATE, Value::Null).await;
    let b_new = regenerated_key(&body, "b regenerates");
    assert_ne!(b_new, a_new);
    assert_key_refused(&app, &w.b_key, "b's old key after regenerating").await;
    assert_key_signs_in_as(&app, &b_new, B_EMAIL, "b's new key").await;
    assert_key_signs_in_as(&app, &a_new, A_EMAIL, "a's new key after b regenerated").await;

    // Regenerating again retires the previous new key too.
    let body = app
        .graphql_as(Some(&format!("JWT {}", w.a)), REGENERATE, Value::Null)
        .await;
    let a_newer = regenerated_key(&body, "a regenerates again");
    assert_key_refused(&app, &a_new, "a's second key after regenerating again").await;
    assert_key_signs_in_as(&app, &a_newer, A_EMAIL, "a's third key").await;
}

const INVALIDATE: &str =
    "mutation($t: String!) { invalidatePreSignedToken(input: {token: $t}) { invalidated } }";
const INVALIDATE_FOR_USER: &str = "mutation($e: String!) { invalidatePreSignedTokensForUser(input: {email: $e}) { invalidatedCount } }";

async fn assert_pre_signed_signs_in_as_a(app: &TestApp, key: &str, what: &str) {
    pre_signed_session_of_a(app, key, what).await;
}

/// Signs in with a pre-signed key, checks the session is user a's, and returns its token.
async fn pre_signed_session_of_a(app: &TestApp, key: &str, what: &str) -> String {
    let body = sign_in_pre_signed_key(app, key).await;
    let token = token_of(&body, what);
    assert_eq!(
        body["data"]["obtainKrakenToken"]["payload"]["gty"], "PRE-SIGNED-KEY",
        "{what}: {body}"
    );
    assert_viewer_is_a(app, &token, what).await;
    token
}

async fn assert_viewer_is_a(app: &TestApp, token: &str, what: &str) {
    let body = app.graphql_as(Some(token), VIEWER_EMAIL, Value::Null).await;
    assert_eq!(body["data"]["viewer"]["email"], A_EMAIL, "{what}: {body}");
}

async fn assert_pre_signed_refused(app: &TestApp, key: &str, what: &str) {
    let body = sign_in_pre_signed_key(app, key).await;
    assert_eq!(
        error_codes(&body).first().map(String::as_str),
        Some(AUTHENTICATION_FAILED),
        "{what}: {body}"
    );
}

#[tokio::test]
async fn only_the_minting_organisation_can_invalidate_a_pre_signed_key() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let key = json!({"t": w.pre_signed});
    let session = pre_signed_session_of_a(&app, &w.pre_signed, "the fresh key").await;

    let body = app.graphql(INVALIDATE, key.clone()).await;
    assert_eq!(error_codes(&body), [HEADER_MISSING], "anonymous: {body}");
    for (name, authorization) in [
        ("user a", format!("JWT {}", w.a)),
        ("user b", format!("Bearer {}", w.b)),
    ] {
        let body = app
            .graphql_as(Some(&authorization), INVALIDATE, key.clone())
            .await;
        assert_eq!(error_codes(&body), [UNAUTHORIZED], "{name}: {body}");
    }
    let body = app
        .graphql_as(Some(&w.org_two), INVALIDATE, key.clone())
        .await;
    assert_eq!(error_codes(&body), [PRE_SIGNED_INVALID], "Org Two: {body}");
    // A key signs in once; the refused attempts left its session alone.
    assert_pre_signed_refused(&app, &w.pre_signed, "the key used again").await;
    assert_viewer_is_a(&app, &session, "the session after the refused attempts").await;

    let body = app
        .graphql_as(Some(&format!("JWT {}", w.org_one)), INVALIDATE, key.clone())
        .await;
    assert!(body["errors"].is_null(), "Org One: {body}");
    assert_eq!(
        body["data"]["invalidatePreSignedToken"]["invalidated"],
        true
    );
    assert_pre_signed_refused(&app, &w.pre_signed, "after Org One invalidated it").await;
    let body = app
        .graphql_as(Some(&session), VIEWER_EMAIL, Value::Null)
        .await;
    assert_eq!(
        error_codes(&body).first().map(String::as_str),
        Some(AUTHENTICATION_FAILED),
        "the session ends with its key: {body}"
    );

    // A key invalidated already, or one that never existed, is no live key.
    for token in [w.pre_signed.as_str(), "no-such-key"] {
        let body = app
            .graphql_as(
                Some(&format!("JWT {}", w.org_one)),
                INVALIDATE,
                json!({"t": token}),
            )
            .await;
        assert_eq!(error_codes(&body), [PRE_SIGNED_INVALID], "{token}: {body}");
    }
}

#[tokio::test]
async fn only_the_users_organisation_manages_their_pre_signed_keys() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let for_a = json!({"e": A_EMAIL});

    // Minting: users may not, Org Two may not for a (but may for its own b), Org One may not for b.
    for (name, token, email, code) in [
        ("user a", &w.a, A_EMAIL, PRE_SIGNED_UNAUTHORIZED),
        ("user b", &w.b, A_EMAIL, PRE_SIGNED_UNAUTHORIZED),
        (
            "Org Two",
            &w.org_two,
            A_EMAIL,
            PRE_SIGNED_ADMIN_UNAUTHORIZED,
        ),
        (
            "Org One",
            &w.org_one,
            B_EMAIL,
            PRE_SIGNED_ADMIN_UNAUTHORIZED,
        ),
        (
            "Org One",
            &w.org_one,
            "nobody@example.com",
            PRE_SIGNED_ADMIN_UNAUTHORIZED,
        ),
    ] {
        let body = generate_pre_signed(&app, &bearer(token), email).await;
        assert_eq!(
            error_codes(&body),
            [code],
            "{name} mints for {email}: {body}"
        );
    }
    let body = app
        .graphql(
            "mutation { generatePreSignedToken(email: \"a@example.com\") { token } }",
            Value::Null,
        )
        .await;
    assert_eq!(error_codes(&body), [HEADER_MISSING], "anonymous: {body}");
    let for_b = pre_signed_token_of(&generate_pre_signed(&app, &bearer(&w.org_two), B_EMAIL).await);

    // Two more keys for a, so a has three live ones (with the world's).
    let first = pre_signed_token_of(&generate_pre_signed(&app, &bearer(&w.org_one), A_EMAIL).await);
    let second =
        pre_signed_token_of(&generate_pre_signed(&app, &bearer(&w.org_one), A_EMAIL).await);

    let body = app.graphql(INVALIDATE_FOR_USER, for_a.clone()).await;
    assert_eq!(error_codes(&body), [HEADER_MISSING], "anonymous: {body}");
    for (name, token) in [("user a", &w.a), ("user b", &w.b)] {
        let body = app
            .graphql_as(Some(token), INVALIDATE_FOR_USER, for_a.clone())
            .await;
        assert_eq!(error_codes(&body), [UNAUTHORIZED], "{name}: {body}");
    }
    let body = app
        .graphql_as(
            Some(&format!("Bearer {}", w.org_two)),
            INVALIDATE_FOR_USER,
            for_a.clone(),
        )
        .await;
    assert_eq!(
        error_codes(&body),
        [PRE_SIGNED_ADMIN_UNAUTHORIZED],
        "Org Two: {body}"
    );
    for key in [&w.pre_signed, &first, &second] {
        assert_pre_signed_signs_in_as_a(&app, key, "after the refused attempts").await;
    }

    let body = app
        .graphql_as(
            Some(&format!("JWT {}", w.org_one)),
            INVALIDATE_FOR_USER,
            for_a.clone(),
        )
        .await;
    assert!(body["errors"].is_null(), "Org One: {body}");
    assert_eq!(
        body["data"]["invalidatePreSignedTokensForUser"]["invalidatedCount"],
        3
    );
    for key in [&w.pre_signed, &first, &second] {
        assert_pre_signed_refused(&app, key, "after Org One invalidated a's keys").await;
    }
    let body = app
        .graphql_as(Some(&w.org_one), INVALIDATE_FOR_USER, for_a.clone())
        .await;
    assert_eq!(
        body["data"]["invalidatePreSignedTokensForUser"]["invalidatedCount"], 0,
        "nothing left to invalidate: {body}"
    );
    let body = app
        .graphql_as(Some(&w.org_one), INVALIDATE_FOR_USER, json!({"e": B_EMAIL}))
        .await;
    assert_eq!(
        error_codes(&body),
        [PRE_SIGNED_ADMIN_UNAUTHORIZED],
        "Org One for b: {body}"
    );

    // Org Two's key for its own user was not touched.
    let body = sign_in_pre_signed_key(&app, &for_b).await;
    let token = token_of(&body, "b's pre-signed key");
    let body = app
        .graphql_as(Some(&token), VIEWER_EMAIL, Value::Null)
        .await;
    assert_eq!(body["data"]["viewer"]["email"], B_EMAIL, "{body}");
}

#[tokio::test]
async fn a_pre_signed_key_stops_working_when_it_expires() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let body = app
        .graphql_as(
            Some(&w.org_one),
            "mutation { generatePreSignedToken(email: \"a@example.com\", expiryMinutes: 1) { token tokenExpiryDatetime } }",
            Value::Null,
        )
        .await;
    let key = pre_signed_token_of(&body);
    assert_pre_signed_signs_in_as_a(&app, &key, "before expiry").await;
    app.clock.advance(Duration::seconds(61));
    assert_pre_signed_refused(&app, &key, "after expiry").await;
}

// ----------------------------------------------------------------------------------------------
// Server bugs found while writing the matrix. Each test asserts the correct behaviour and is ignored
// until the server is fixed; run them with `cargo test -p resiflex --test auth_matrix -- --ignored`.
// ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn another_organisation_cannot_reach_account_a_by_reusing_its_users_email() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    // Org Two cannot take Org One's customer as its own (its account is created without them, so
    // the answer does not reveal that the email is taken) ...
    let created = create_account_as(
        &app,
        &format!("JWT {}", w.org_two),
        &NewAccount {
            given_name: "Mallory",
            street: "1 Elsewhere",
            postcode: B_POSTCODE,
            crm_reference: Some("hijack-1"),
            ..NewAccount::new(A_EMAIL)
        },
    )
    .await;
    assert!(error_codes(&created).is_empty(), "{created}");
    // ... and so cannot mint a key that signs them in.
    let body = generate_pre_signed(&app, &bearer(&w.org_two), A_EMAIL).await;
    assert_eq!(
        error_codes(&body),
        ["KT-CT-1128"],
        "Org Two may not act for Org One's customer: {body}"
    );
}

#[tokio::test]
async fn a_scheme_without_a_token_counts_as_no_header() {
    let app = TestApp::spawn().await;
    for value in ["JWT", "Bearer", "JWT ", "bearer   "] {
        let body = app.graphql_as(Some(value), VIEWER_EMAIL, Value::Null).await;
        assert_eq!(error_codes(&body), [HEADER_MISSING], "{value:?}: {body}");
    }
}
