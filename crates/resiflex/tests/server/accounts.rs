//! Accounts over HTTP: `createFlexShellAccount` and what `account` then shows, idempotent retries,
//! users shared between accounts, input validation, account references, `accountIoEligibility`, and
//! the account status life cycle as the operator CLI drives it.

use crate::harness;

use harness::scenario::{
    generate_pre_signed, mint_pre_signed, organisation_auth as org_auth, sign_in_pre_signed_key,
    token_of, user_auth,
};

use harness::{TestApp, error_code};
use serde_json::{Value, json};

const CREATE: &str = "mutation CreateAccount($input: CreateFlexShellAccountInput!) { \
    createFlexShellAccount(input: $input) { account { number } } }";

const ACCOUNT: &str = "query Account($n: String!) { account(accountNumber: $n) { \
    number status accountType brand billingName billingEmail billingCountryCode createdAt \
    users { email givenName familyName mobile } \
    properties { id address postcode timeZone richAddress { streetAddress locality postalCode country } } \
    references { namespace value } } }";

const SEARCH_BY_EMAIL: &str = "query($email: String!) { \
    accountsSearch(searchTerms: {email: $email}) { account { number } score } }";

const SEARCH_BY_POSTCODE: &str = "query($postcode: String!) { \
    accountsSearch(searchTerms: {postcode: $postcode}) { account { number } } }";

/// A server with one organisation signed in.
struct Org {
    app: TestApp,
    auth: String,
}

impl Org {
    async fn new() -> Org {
        let app = TestApp::spawn().await;
        let auth = org_auth(&app, "Org").await;
        Org { app, auth }
    }

    async fn gql(&self, query: &str, variables: Value) -> Value {
        self.app
            .graphql_as(Some(&self.auth), query, variables)
            .await
    }

    async fn create(&self, input: Value) -> Value {
        self.gql(CREATE, json!({ "input": input })).await
    }

    /// Creates an account and returns its number.
    async fn create_ok(&self, input: Value) -> String {
        let body = self.create(input).await;
        body["data"]["createFlexShellAccount"]["account"]["number"]
            .as_str()
            .unwrap_or_else(|| panic!("account created: {body}"))
            .to_owned()
    }

    async fn account(&self, number: &str) -> Value {
        let body = self.gql(ACCOUNT, json!({ "n": number })).await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["account"].clone()
    }

    async fn search_email(&self, email: &str) -> Vec<String> {
        numbers(
            &self.gql(SEARCH_BY_EMAIL, json!({ "email": email })).await,
            "accountsSearch",
        )
    }

    async fn eligibility(&self, number: &str, property_id: Option<i64>) -> Value {
        self.gql(
            "query($n: String!, $p: Int) { accountIoEligibility(accountNumber: $n, propertyId: $p) \
             { isEligibleForIo } }",
            json!({ "n": number, "p": property_id }),
        )
        .await
    }
}

/// The account numbers in a list of `{ account { number } }` under `data.<field>`.
fn numbers(body: &Value, field: &str) -> Vec<String> {
    body["data"][field]
        .as_array()
        .unwrap_or_else(|| panic!("{field} list: {body}"))
        .iter()
        .map(|item| item["account"]["number"].as_str().unwrap().to_owned())
        .collect()
}

fn input(email: &str, country: &str, reference: Option<&str>) -> Value {
    let mut input = json!({
        "brandCode": "RESIFLEX_LIVE",
        "email": email,
        "givenName": "Jane",
        "familyName": "Doe",
        "mobile": "+44 7700 900123",
        "address": {
            "streetAddress": "1 High Street",
            "locality": "London",
            "postalCode": "SW1A 1AA",
            "country": country
        }
    });
    if let Some(value) = reference {
        input["accountReference"] = json!({ "namespace": "crm", "value": value });
    }
    input
}

fn is_account_number(number: &str) -> bool {
    number.len() == 10
        && number.starts_with("A-")
        && number[2..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[tokio::test]
async fn a_shell_account_shows_its_details() {
    let org = Org::new().await;
    let number = org
        .create_ok(input(" Jane.Doe@Example.COM ", "GB", Some("CRM-1")))
        .await;
    assert!(is_account_number(&number), "{number}");

    let account = org.account(&number).await;
    assert_eq!(account["number"], number);
    assert_eq!(account["status"], "ACTIVE");
    assert_eq!(account["accountType"], "DOMESTIC");
    assert_eq!(account["brand"], "RESIFLEX_LIVE");
    assert_eq!(account["billingName"], "Jane Doe");
    assert_eq!(account["billingEmail"], "jane.doe@example.com");
    assert_eq!(account["billingCountryCode"], "GB");
    assert_eq!(
        account["users"],
        json!([{ "email": "jane.doe@example.com", "givenName": "Jane", "familyName": "Doe", "mobile": "+44 7700 900123" }])
    );
    let properties = account["properties"].as_array().unwrap();
    assert_eq!(properties.len(), 1, "{account}");
    let property = &properties[0];
    assert!(
        property["address"]
            .as_str()
            .unwrap()
            .contains("1 High Street"),
        "{property}"
    );
    assert_eq!(property["address"], "1 High Street, London, SW1A 1AA");
    assert_eq!(property["postcode"], "SW1A 1AA");
    assert_eq!(property["timeZone"], "Europe/London");
    assert_eq!(property["richAddress"]["country"], "GB");
    assert_eq!(
        account["references"],
        json!([{ "namespace": "crm", "value": "CRM-1" }])
    );
    let created_at = account["createdAt"].as_str().unwrap();
    let parsed = chrono::DateTime::parse_from_rfc3339(created_at)
        .unwrap_or_else(|e| panic!("{created_at:?} is not ISO-8601 with an offset: {e}"));
    assert_eq!(
        parsed,
        harness::start_instant(),
        "created at the server clock"
    );
    assert!(
        created_at.ends_with("+00:00") || created_at.ends_with('Z'),
        "{created_at}"
    );

    // Spain plans in Madrid time; the country code's case does not matter.
    for country in ["ES", "es"] {
        let spanish = org
            .create_ok(input(&format!("{country}@example.es"), country, None))
            .await;
        let account = org.account(&spanish).await;
        assert_eq!(
            account["properties"][0]["timeZone"], "Europe/Madrid",
            "{account}"
        );
        assert_eq!(account["billingCountryCode"], "ES");
        assert_eq!(account["references"], json!([]));
    }

    // The user sees their own account; another organisation sees nothing.
    let user = user_auth(&org.app, "jane.doe@example.com").await;
    let body = org
        .app
        .graphql_as(Some(&user), ACCOUNT, json!({ "n": number }))
        .await;
    assert_eq!(body["data"]["account"]["number"], number, "{body}");
    let stranger = org_auth(&org.app, "Other").await;
    let body = org
        .app
        .graphql_as(Some(&stranger), ACCOUNT, json!({ "n": number }))
        .await;
    assert_eq!(error_code(&body), "KT-CT-4177", "{body}");
    let body = org
        .app
        .graphql_as(Some(&org.auth), ACCOUNT, json!({ "n": "A-ZZZZZZZZ" }))
        .await;
    assert_eq!(error_code(&body), "KT-CT-4177", "{body}");
}

#[tokio::test]
async fn a_retry_with_the_same_reference_returns_the_same_account() {
    let org = Org::new().await;
    let email = "retry@example.com";
    let first = org.create_ok(input(email, "GB", Some("CRM-7"))).await;
    let again = org.create_ok(input(email, "GB", Some("CRM-7"))).await;
    assert_eq!(first, again);
    // Even with other details, the reference decides.
    let other_details = org
        .create_ok(input("someone.else@example.com", "ES", Some("CRM-7")))
        .await;
    assert_eq!(first, other_details);
    assert_eq!(org.search_email(email).await, vec![first.clone()]);
    assert!(
        org.search_email("someone.else@example.com")
            .await
            .is_empty()
    );
    // References belong to an organisation: another one reusing the value gets its own account.
    let stranger = org_auth(&org.app, "Other").await;
    let body = org
        .app
        .graphql_as(
            Some(&stranger),
            CREATE,
            json!({ "input": input("stranger.customer@example.com", "GB", Some("CRM-7")) }),
        )
        .await;
    let theirs = body["data"]["createFlexShellAccount"]["account"]["number"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    assert_ne!(theirs, first);
    let account = org.account(&first).await;
    assert_eq!(account["properties"].as_array().unwrap().len(), 1);
    assert_eq!(account["users"].as_array().unwrap().len(), 1);

    // A second reference with the same email: a second account, one user for both.
    let second = org
        .create_ok(input("RETRY@example.com", "GB", Some("CRM-8")))
        .await;
    assert_ne!(first, second);
    let mut found = org.search_email(email).await;
    found.sort();
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort();
    assert_eq!(found, expected);
    // Without a reference, every call makes a new account.
    let third = org.create_ok(input(email, "GB", None)).await;
    assert_ne!(third, first);
    assert_ne!(third, second);
    expected.push(third);
    expected.sort();

    let user = user_auth(&org.app, email).await;
    let body = org
        .app
        .graphql_as(
            Some(&user),
            "query { viewer { email accounts { number } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["viewer"]["email"], email, "{body}");
    let mut listed: Vec<String> = body["data"]["viewer"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["number"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, expected);
    for number in &expected {
        let users = &org.account(number).await["users"];
        assert_eq!(
            users,
            &json!([{ "email": email, "givenName": "Jane", "familyName": "Doe", "mobile": "+44 7700 900123" }])
        );
    }
}

#[tokio::test]
async fn invalid_input_is_refused_and_creates_nothing() {
    let org = Org::new().await;
    let postcode = "ZZ9 9ZZ";
    let base = || {
        let mut input = input("valid@example.com", "GB", Some("CRM-BAD"));
        input["address"]["postalCode"] = json!(postcode);
        input
    };
    let mut cases: Vec<(&str, Value)> = Vec::new();
    for country in ["UK", "GBR", "", "G", "XX"] {
        let mut i = base();
        i["address"]["country"] = json!(country);
        cases.push(("country", i));
    }
    for email in [
        "not an email",
        "no-at-sign.example.com",
        "a@b",
        "@example.com",
        "",
    ] {
        let mut i = base();
        i["email"] = json!(email);
        cases.push(("email", i));
    }
    for given_name in ["", "   "] {
        let mut i = base();
        i["givenName"] = json!(given_name);
        cases.push(("givenName", i));
    }
    {
        let mut i = base();
        i["familyName"] = json!("");
        cases.push(("familyName", i));
    }
    for brand in ["OTHER", "resiflex_live_x", ""] {
        let mut i = base();
        i["brandCode"] = json!(brand);
        cases.push(("brandCode", i));
    }
    for mobile in ["call me", "+44 7700 900123 ext 5"] {
        let mut i = base();
        i["mobile"] = json!(mobile);
        cases.push(("mobile", i));
    }
    {
        let mut i = base();
        i["accountReference"]["namespace"] = json!("");
        cases.push(("accountReference.namespace", i));
    }
    for (what, bad) in cases {
        let body = org.create(bad.clone()).await;
        assert_eq!(error_code(&body), "KT-CT-1605", "{what}: {bad}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["errorType"], "VALIDATION",
            "{body}"
        );
        assert!(
            body["data"].is_null() || body["data"]["createFlexShellAccount"].is_null(),
            "{body}"
        );
    }
    // Nothing was created: no account at the postcode, for the email or with the reference.
    let body = org
        .gql(SEARCH_BY_POSTCODE, json!({ "postcode": postcode }))
        .await;
    assert_eq!(numbers(&body, "accountsSearch"), Vec::<String>::new());
    assert!(org.search_email("valid@example.com").await.is_empty());
    let body = org
        .gql(
            "query { accountReference(value: \"CRM-BAD\") { value } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["accountReference"], json!([]), "{body}");
    assert!(
        resiflex::admin::user_api_key(&org.app.test_db.db, "valid@example.com")
            .await
            .is_err(),
        "no user was created"
    );

    // Only organisations create accounts.
    let number = org.create_ok(base()).await;
    let user = user_auth(&org.app, "valid@example.com").await;
    let body = org
        .app
        .graphql_as(
            Some(&user),
            CREATE,
            json!({ "input": input("x@example.com", "GB", None) }),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-1111", "{body}");
    let body = org
        .gql(SEARCH_BY_POSTCODE, json!({ "postcode": "zz99zz" }))
        .await;
    assert_eq!(numbers(&body, "accountsSearch"), vec![number]);
}

#[tokio::test]
async fn account_references_are_created_found_updated_and_deleted() {
    let org = Org::new().await;
    let number = org
        .create_ok(input("refs@example.com", "GB", Some("CRM-1")))
        .await;
    let other = org
        .create_ok(input("other@example.com", "GB", Some("CRM-2")))
        .await;
    let find = |value: &str| {
        let value = value.to_owned();
        let org = &org;
        async move {
            let body = org
                .gql(
                    "query($v: String!) { accountReference(value: $v) { namespace value account { number } } }",
                    json!({ "v": value }),
                )
                .await;
            assert!(body["errors"].is_null(), "{body}");
            body["data"]["accountReference"].clone()
        }
    };
    let create = "mutation($input: AccountReferenceMutationInput!) { createAccountReference(input: $input) \
                  { accountReference { namespace value account { number } } } }";
    let update = "mutation($input: AccountReferenceMutationInput!) { updateAccountReference(input: $input) \
                  { accountReference { namespace value account { number } } } }";
    let delete = "mutation($input: DeleteAccountReferenceInput!) { deleteAccountReference(input: $input) \
                  { accountReference { namespace value } } }";

    let body = org
        .gql(
            create,
            json!({ "input": { "accountNumber": number, "namespace": "billing", "value": "B-1" } }),
        )
        .await;
    assert_eq!(
        body["data"]["createAccountReference"]["accountReference"],
        json!({ "namespace": "billing", "value": "B-1", "account": { "number": number } }),
        "{body}"
    );
    assert_eq!(
        find("B-1").await,
        json!([{ "namespace": "billing", "value": "B-1", "account": { "number": number } }])
    );
    assert_eq!(
        org.account(&number).await["references"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // One reference per namespace on an account.
    let body = org
        .gql(
            create,
            json!({ "input": { "accountNumber": number, "namespace": "billing", "value": "B-9" } }),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-1605", "{body}");
    let body = org
        .gql(
            create,
            json!({ "input": { "accountNumber": number, "namespace": "crm", "value": "CRM-3" } }),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-1605", "{body}");
    // A value is unique within a namespace.
    let body = org
        .gql(
            create,
            json!({ "input": { "accountNumber": other, "namespace": "billing", "value": "B-1" } }),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-1605", "{body}");
    assert_eq!(find("B-9").await, json!([]));
    // Empty parts are refused.
    let body = org
        .gql(
            create,
            json!({ "input": { "accountNumber": number, "namespace": "  ", "value": "V" } }),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-1605", "{body}");

    let body = org
        .gql(
            update,
            json!({ "input": { "accountNumber": number, "namespace": "billing", "value": "B-2" } }),
        )
        .await;
    assert_eq!(
        body["data"]["updateAccountReference"]["accountReference"]["value"], "B-2",
        "{body}"
    );
    assert_eq!(find("B-1").await, json!([]));
    assert_eq!(find("B-2").await[0]["account"]["number"], number);
    let body = org
        .gql(
            update,
            json!({ "input": { "accountNumber": number, "namespace": "nowhere", "value": "X" } }),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-1605", "{body}");

    let body = org
        .gql(
            delete,
            json!({ "input": { "accountNumber": number, "namespace": "billing" } }),
        )
        .await;
    assert_eq!(
        body["data"]["deleteAccountReference"]["accountReference"],
        json!({ "namespace": "billing", "value": "B-2" }),
        "{body}"
    );
    assert_eq!(find("B-2").await, json!([]));
    let body = org
        .gql(
            delete,
            json!({ "input": { "accountNumber": number, "namespace": "billing" } }),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-1605", "{body}");
    assert_eq!(
        org.account(&number).await["references"],
        json!([{ "namespace": "crm", "value": "CRM-1" }])
    );
    // The namespace is free again.
    let body = org
        .gql(
            create,
            json!({ "input": { "accountNumber": number, "namespace": "billing", "value": "B-1" } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");

    // Another organisation neither sees nor touches these references.
    let stranger = org_auth(&org.app, "Other").await;
    let body = org
        .app
        .graphql_as(
            Some(&stranger),
            "query { accountReference(value: \"B-1\") { value } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["accountReference"], json!([]), "{body}");
    let body = org
        .app
        .graphql_as(
            Some(&stranger),
            delete,
            json!({ "input": { "accountNumber": number, "namespace": "billing" } }),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-1111", "{body}");
    assert_eq!(find("B-1").await[0]["account"]["number"], number);
}

#[tokio::test]
async fn io_eligibility_needs_an_active_account_and_its_own_property() {
    let org = Org::new().await;
    let number = org
        .create_ok(input("io@example.com", "GB", Some("IO-1")))
        .await;
    let other = org
        .create_ok(input("io2@example.com", "GB", Some("IO-2")))
        .await;
    let property_of = |account: &Value| -> i64 {
        account["properties"][0]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let own = property_of(&org.account(&number).await);
    let foreign = property_of(&org.account(&other).await);
    assert_ne!(own, foreign);

    let eligible = |body: Value| {
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["accountIoEligibility"]["isEligibleForIo"]
            .as_bool()
            .unwrap_or_else(|| panic!("{body}"))
    };
    assert!(eligible(org.eligibility(&number, None).await));
    assert!(eligible(org.eligibility(&number, Some(own)).await));
    assert!(!eligible(org.eligibility(&number, Some(foreign)).await));
    assert!(!eligible(org.eligibility(&number, Some(own + 1000)).await));

    // The user may ask too.
    let user = user_auth(&org.app, "io@example.com").await;
    let body = org
        .app
        .graphql_as(
            Some(&user),
            "query($n: String!) { accountIoEligibility(accountNumber: $n) { isEligibleForIo } }",
            json!({ "n": number }),
        )
        .await;
    assert!(eligible(body));

    resiflex::admin::set_account_status(&org.app.test_db.db, &number, "DORMANT")
        .await
        .unwrap();
    assert!(!eligible(org.eligibility(&number, None).await));
    assert!(!eligible(org.eligibility(&number, Some(own)).await));
    assert!(eligible(org.eligibility(&other, None).await));

    resiflex::admin::set_account_status(&org.app.test_db.db, &number, "ACTIVE")
        .await
        .unwrap();
    assert!(eligible(org.eligibility(&number, Some(own)).await));
}

#[tokio::test]
async fn the_status_life_cycle_is_enforced_by_the_cli() {
    let org = Org::new().await;
    let db = &org.app.test_db.db;
    let number = org.create_ok(input("life@example.com", "GB", None)).await;
    let status = |number: String| {
        let org = &org;
        async move { org.account(&number).await["status"].clone() }
    };

    let moved = resiflex::admin::set_account_status(db, &number, "DORMANT")
        .await
        .unwrap();
    assert_eq!(
        moved,
        json!({ "accountNumber": number, "from": "ACTIVE", "status": "DORMANT" })
    );
    assert_eq!(status(number.clone()).await, "DORMANT");
    resiflex::admin::set_account_status(db, &number, "active")
        .await
        .unwrap();
    assert_eq!(status(number.clone()).await, "ACTIVE");

    for refused in [
        "PENDING",
        "INCOMPLETE",
        "WITHDRAWN",
        "ACTIVE",
        "SLEEPING",
        "",
    ] {
        assert!(
            resiflex::admin::set_account_status(db, &number, refused)
                .await
                .is_err(),
            "ACTIVE -> {refused:?} is refused"
        );
        assert_eq!(status(number.clone()).await, "ACTIVE", "after {refused:?}");
    }
    assert!(
        resiflex::admin::set_account_status(db, "A-ZZZZZZZZ", "DORMANT")
            .await
            .is_err()
    );
    assert!(
        resiflex::admin::set_account_status(db, "not a number", "DORMANT")
            .await
            .is_err()
    );

    resiflex::admin::set_account_status(db, &number, "VOID")
        .await
        .unwrap();
    assert_eq!(status(number.clone()).await, "VOID");
    for to in ["ACTIVE", "DORMANT", "PENDING", "VOID"] {
        assert!(
            resiflex::admin::set_account_status(db, &number, to)
                .await
                .is_err(),
            "VOID is final, not -> {to}"
        );
    }
    assert_eq!(status(number.clone()).await, "VOID");

    // DORMANT -> VOID is allowed too.
    let second = org.create_ok(input("life2@example.com", "GB", None)).await;
    resiflex::admin::set_account_status(db, &second, "DORMANT")
        .await
        .unwrap();
    resiflex::admin::set_account_status(db, &second, "VOID")
        .await
        .unwrap();
    assert_eq!(status(second).await, "VOID");
}

/// A person is the customer of one organisation. Another organisation cannot link them to an account
/// of its own, and so cannot mint a key that signs them in and reads the first organisation's account.
#[tokio::test]
async fn another_organisation_cannot_reach_a_customer_through_a_pre_signed_key() {
    let org = Org::new().await;
    let number = org
        .create_ok(input("victim@example.com", "GB", Some("V-1")))
        .await;
    let attacker = org_auth(&org.app, "Attacker").await;
    let body = org
        .app
        .graphql_as(
            Some(&attacker),
            CREATE,
            json!({ "input": input("victim@example.com", "GB", None) }),
        )
        .await;
    // The answer does not tell the attacker that the email is taken: an account is created, but
    // the other organisation's customer is not linked to it.
    assert!(
        body["errors"].is_null(),
        "answered as for any new email: {body}"
    );
    let body = generate_pre_signed(&org.app, &attacker, "victim@example.com").await;
    assert_eq!(error_code(&body), "KT-CT-1128", "{body}");
    // The owning organisation still can, and its key reaches its own account only.
    let key = mint_pre_signed(&org.app, &org.auth, "victim@example.com").await;
    let body = sign_in_pre_signed_key(&org.app, &key).await;
    let token = token_of(&body, "the owner's pre-signed key");
    let body = org
        .app
        .graphql_as(
            Some(&format!("JWT {token}")),
            "query($n: String!) { account(accountNumber: $n) { number } }",
            json!({ "n": number }),
        )
        .await;
    assert_eq!(body["data"]["account"]["number"], number.as_str(), "{body}");
}
