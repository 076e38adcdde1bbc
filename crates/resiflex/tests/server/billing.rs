//! Billing as clients see it: a billing run charges a supplied account's readings at its
//! agreements' rates and its standing charges, issues statements whose balances chain, re-bills an
//! estimate once actual readings arrive, never posts twice; `account { bills }` lists the
//! statements with their filters and order, and each statement's document is served behind a
//! short-lived signed link.

use crate::harness;

use harness::billing::{half_hours, run_billing};
use harness::scenario::{
    NewAccount, account_number_of, create_account_as, organisation_auth, user_auth,
};
use harness::supply::{ELECTRICITY_SERIAL, supply};
use harness::{TestApp, error_code};
use resiflex_domain::billing::{TriggerFrequency, TriggerOperation};
use resiflex_domain::money::{LedgerKind, TransactionKind};
use serde_json::{Value, json};

/// A supplied account (a@example.com) of the organisation, and another customer's account
/// (b@example.com): the organisation's and a's authorisations and a's account number.
async fn supplied(app: &TestApp) -> (String, String, String) {
    let org = organisation_auth(app, "Supplier").await;
    let number =
        account_number_of(&create_account_as(app, &org, &NewAccount::new("a@example.com")).await);
    supply(app, &number).await;
    create_account_as(app, &org, &NewAccount::new("b@example.com")).await;
    let customer = user_auth(app, "a@example.com").await;
    (org, customer, number)
}

/// 10 and 11 November: 95 half-hours of 0.5 kWh (one gap), on the fixed tariff (20p/kWh, 5% VAT).
async fn actual_readings(app: &TestApp) {
    half_hours(
        app,
        ELECTRICITY_SERIAL,
        "2026-11-10T00:00:00Z",
        96,
        "0.5",
        "ACTUAL",
        &[2],
    )
    .await;
}

const BILLS: &str = r#"query($n: String!, $order: BillsOrderBy, $from: Date, $to: Date, $issuedFrom: Date, $ledger: String, $first: Int) {
  account(accountNumber: $n) {
    billingOptions { periodStartDay periodLength periodLengthMultiplier isFixed currentBillingPeriodStartDate currentBillingPeriodEndDate nextBillingDate }
    billingTriggerConfiguration { isActive targetType nextIssueDate operationFrequencies { operationType targetType frequency } }
    bills(orderBy: $order, fromDate: $from, toDate: $to, issuedFromDate: $issuedFrom, ledgerNumber: $ledger, first: $first) {
      totalCount
      pageInfo { hasNextPage }
      edges { node { __typename id billType fromDate toDate issuedDate reversalsAfterClose
        attachments { edges { node { filename temporaryUrl temporaryUrlExpiresAt } } }
        ... on StatementType {
          identifier status openingBalance closingBalance paymentDueDate isFinal consumptionStartDate consumptionEndDate
          totalCharges { netTotal taxTotal grossTotal }
          totalCredits { netTotal taxTotal grossTotal }
          transactions(first: 50) { totalCount edges { node { __typename title postedDate amounts { net tax gross }
            ... on Charge { consumption { quantity unit } } } } }
        } } }
    }
  }
}"#;

async fn bills(app: &TestApp, auth: &str, variables: Value) -> Value {
    let body = app.graphql_as(Some(auth), BILLS, variables).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["account"].clone()
}

fn nodes(account: &Value) -> Vec<Value> {
    account["bills"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn transactions(bill: &Value) -> Vec<Value> {
    bill["transactions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn effect(t: &Value) -> i64 {
    let gross = t["amounts"]["gross"].as_i64().unwrap();
    match t["__typename"].as_str().unwrap() {
        "Credit" | "Payment" => gross,
        _ => -gross,
    }
}

/// The statement's opening balance plus its transactions is its closing balance.
fn assert_balances(bill: &Value) {
    let sum: i64 = transactions(bill).iter().map(effect).sum();
    assert_eq!(
        bill["openingBalance"].as_i64().unwrap() + sum,
        bill["closingBalance"].as_i64().unwrap(),
        "{bill}"
    );
}

fn find<'a>(lines: &'a [Value], title_start: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|t| t["title"].as_str().unwrap().starts_with(title_start))
        .collect()
}

#[tokio::test]
async fn a_billing_run_charges_readings_at_the_rates_and_reruns_post_nothing_twice() {
    let app = TestApp::spawn().await;
    let (_, customer, number) = supplied(&app).await;
    actual_readings(&app).await;

    let report = run_billing(&app, "2026-12-01").await;
    // Both accounts' November is billed; the one without a supply has nothing to state.
    assert_eq!(report["periods"], 2, "{report}");
    assert_eq!(report["statements"], 1, "{report}");
    let posted = report["posted"].as_i64().unwrap();
    assert!(posted >= 3, "{report}");

    let account = bills(&app, &customer, json!({"n": number})).await;
    let options = &account["billingOptions"];
    assert_eq!(options["periodStartDay"], 1);
    assert_eq!(options["periodLength"], "MONTHLY");
    assert_eq!(options["periodLengthMultiplier"], 1);
    assert_eq!(options["isFixed"], true);
    // The server's clock is at 27 November.
    assert_eq!(options["currentBillingPeriodStartDate"], "2026-11-01");
    assert_eq!(options["currentBillingPeriodEndDate"], "2026-11-30");
    assert_eq!(options["nextBillingDate"], "2026-12-01");
    let trigger = &account["billingTriggerConfiguration"];
    assert_eq!(trigger["targetType"], "ACCOUNT");
    assert_eq!(
        trigger["operationFrequencies"][0]["operationType"],
        "CHARGE_TARGET_AND_ISSUE_STATEMENT"
    );
    assert_eq!(trigger["operationFrequencies"][0]["frequency"], "MONTHLY");

    let list = nodes(&account);
    assert_eq!(list.len(), 1);
    let bill = &list[0];
    assert_eq!(bill["__typename"], "StatementType");
    assert_eq!(bill["billType"], "STATEMENT");
    assert_eq!(
        (bill["fromDate"].as_str(), bill["toDate"].as_str()),
        (Some("2026-11-01"), Some("2026-11-30"))
    );
    assert_eq!(bill["issuedDate"], "2026-12-01");
    assert_eq!(bill["paymentDueDate"], "2026-12-15");
    assert_eq!(bill["status"], "CLOSED");
    assert_eq!(bill["reversalsAfterClose"], "NONE");
    assert_eq!(bill["openingBalance"], 0);
    assert_balances(bill);
    let lines = transactions(bill);
    assert_eq!(bill["transactions"]["totalCount"].as_i64(), Some(posted));
    // 47.5 kWh at 20p: 950p, 997.5p with VAT, rounded once to 998p.
    let consumption = find(&lines, "Electricity consumption");
    assert_eq!(consumption.len(), 1, "{lines:?}");
    assert_eq!(consumption[0]["__typename"], "Charge");
    assert_eq!(
        consumption[0]["amounts"],
        json!({"net": 950, "tax": 48, "gross": 998})
    );
    assert_eq!(consumption[0]["consumption"]["quantity"], "47.500");
    assert_eq!(consumption[0]["postedDate"], "2026-11-30");
    // The fixed tariff's standing charge until the change of tariff on 20 November at noon:
    // 19.5 days at 40p, 780p, 819p with VAT; gas all month at 30p, 900p, 945p with VAT.
    let standing = find(&lines, "Electricity standing charge");
    assert!(
        standing
            .iter()
            .any(|t| t["amounts"] == json!({"net": 780, "tax": 39, "gross": 819})),
        "{standing:?}"
    );
    let gas = find(&lines, "Gas standing charge");
    assert_eq!(gas.len(), 1);
    assert_eq!(
        gas[0]["amounts"],
        json!({"net": 900, "tax": 45, "gross": 945})
    );
    let charges: i64 = lines
        .iter()
        .filter(|t| t["__typename"] == "Charge")
        .map(|t| t["amounts"]["gross"].as_i64().unwrap())
        .sum();
    assert_eq!(bill["totalCharges"]["grossTotal"].as_i64(), Some(charges));
    assert_eq!(
        bill["totalCharges"]["netTotal"].as_i64().unwrap()
            + bill["totalCharges"]["taxTotal"].as_i64().unwrap(),
        charges
    );

    // Running again, the same day or later in the month, posts nothing.
    let again = run_billing(&app, "2026-12-01").await;
    assert_eq!(
        (again["posted"].as_i64(), again["statements"].as_i64()),
        (Some(0), Some(0)),
        "{again}"
    );
    let later = run_billing(&app, "2026-12-20").await;
    assert_eq!(later["posted"], 0, "{later}");
    let account = bills(&app, &customer, json!({"n": number})).await;
    assert_eq!(account["bills"]["totalCount"], 1);
    assert_eq!(transactions(&nodes(&account)[0]).len(), lines.len());
    let verified = resiflex::ledger::verify(&app.test_db.db).await.unwrap();
    assert!(verified.1, "{}", verified.0);
}

/// Sets the account's billing trigger as `resiflex billing options` does.
async fn set_trigger(
    app: &TestApp,
    number: &str,
    frequency: TriggerFrequency,
    operation: TriggerOperation,
) -> Value {
    let change = resiflex::billing::OptionsChange {
        trigger_frequency: Some(frequency),
        trigger_operation: Some(operation),
        ..Default::default()
    };
    let now = "2026-11-27T09:00:00Z".parse().unwrap();
    resiflex::billing::options(&app.test_db.db, number, change, now)
        .await
        .unwrap()
}

const LEDGER: &str = r#"query($n: String!) {
  account(accountNumber: $n) {
    billingTriggerConfiguration { nextIssueDate operationFrequencies { operationType frequency multiplier triggerAtStartDay } }
    bills { totalCount edges { node { fromDate toDate ... on StatementType { transactions(first: 1) { totalCount } } } } }
    transactions(first: 100, orderBy: POSTED_DATE_ASC) { totalCount edges { node { __typename title postedDate amounts { net tax gross } } } }
  }
}"#;

async fn ledger_view(app: &TestApp, auth: &str, number: &str) -> Value {
    let body = app
        .graphql_as(Some(auth), LEDGER, json!({"n": number}))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["account"].clone()
}

fn lines_of(account: &Value) -> Vec<Value> {
    account["transactions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test]
async fn the_billing_trigger_decides_when_charges_are_posted_and_statements_issued() {
    let app = TestApp::spawn().await;
    let (_, customer, number) = supplied(&app).await;
    actual_readings(&app).await;

    // Daily charging with a monthly statement.
    let shown = set_trigger(
        &app,
        &number,
        TriggerFrequency::Daily,
        TriggerOperation::ChargeTargetAndIssueStatement,
    )
    .await;
    assert_eq!(shown["trigger"]["frequency"], "DAILY", "{shown}");
    assert_eq!(shown["trigger"]["nextIssueDate"], "2026-12-01", "{shown}");
    let account = ledger_view(&app, &customer, &number).await;
    let trigger = &account["billingTriggerConfiguration"];
    assert_eq!(trigger["nextIssueDate"], "2026-12-01");
    assert_eq!(
        trigger["operationFrequencies"][0],
        json!({"operationType": "CHARGE_TARGET_AND_ISSUE_STATEMENT", "frequency": "DAILY",
               "multiplier": 1, "triggerAtStartDay": 1})
    );

    // On 12 November the days from the 1st to the 11th are charged, each on its own.
    let report = run_billing(&app, "2026-11-12").await;
    assert_eq!(report["statements"], 0, "{report}");
    let account = ledger_view(&app, &customer, &number).await;
    assert_eq!(account["bills"]["totalCount"], 0);
    let lines = lines_of(&account);
    let consumption: Vec<&Value> = find(&lines, "Electricity consumption");
    // 23.5 kWh on the 10th (a half-hour is missing) and 24 kWh on the 11th at 20p + 5 % VAT,
    // each day rounded once.
    assert_eq!(
        consumption
            .iter()
            .map(|t| (
                t["postedDate"].as_str().unwrap(),
                t["amounts"]["gross"].as_i64().unwrap()
            ))
            .filter(|(_, gross)| *gross > 0)
            .collect::<Vec<_>>(),
        vec![("2026-11-10", 494), ("2026-11-11", 504)],
        "{lines:?}"
    );
    let gas: Vec<&Value> = find(&lines, "Gas standing charge");
    assert_eq!(
        gas.len(),
        11,
        "a day's gas standing charge a day: {lines:?}"
    );
    assert!(
        gas.iter()
            .all(|t| t["amounts"] == json!({"net": 30, "tax": 2, "gross": 32})),
        "{gas:?}"
    );
    assert_eq!(
        run_billing(&app, "2026-11-12").await["posted"],
        0,
        "a second run the same day posts nothing"
    );

    // On 1 December the rest of November is charged day by day and its statement issued,
    // holding every day of the month.
    let report = run_billing(&app, "2026-12-01").await;
    assert_eq!(report["statements"], 1, "{report}");
    let account = ledger_view(&app, &customer, &number).await;
    assert_eq!(account["bills"]["totalCount"], 1);
    let bill = &account["bills"]["edges"][0]["node"];
    assert_eq!(
        (bill["fromDate"].as_str(), bill["toDate"].as_str()),
        (Some("2026-11-01"), Some("2026-11-30"))
    );
    let lines = lines_of(&account);
    assert_eq!(
        bill["transactions"]["totalCount"],
        account["transactions"]["totalCount"]
    );
    assert_eq!(find(&lines, "Gas standing charge").len(), 30);
    let days: std::collections::BTreeSet<&str> = lines
        .iter()
        .map(|t| t["postedDate"].as_str().unwrap())
        .collect();
    assert_eq!(days.len(), 30, "a charge on every day of November");

    // A yearly trigger that only charges: nothing until 1 January, then December in one run
    // and no statement.
    set_trigger(
        &app,
        &number,
        TriggerFrequency::Annually,
        TriggerOperation::ChargeTarget,
    )
    .await;
    let december = run_billing(&app, "2026-12-31").await;
    assert_eq!(
        (december["posted"].as_i64(), december["statements"].as_i64()),
        (Some(0), Some(0)),
        "{december}"
    );
    let january = run_billing(&app, "2027-01-02").await;
    assert_eq!(january["statements"], 0, "{january}");
    // December in one run for this account, and for the other account (billed monthly).
    assert_eq!(january["chargedRuns"], 2, "{january}");
    let account = ledger_view(&app, &customer, &number).await;
    assert_eq!(account["bills"]["totalCount"], 1);
    let lines = lines_of(&account);
    let gas_december: Vec<&Value> = find(&lines, "Gas standing charge")
        .into_iter()
        .filter(|t| t["postedDate"] == "2026-12-31")
        .collect();
    assert_eq!(gas_december.len(), 1, "December's gas in one charge");
    assert_eq!(gas_december[0]["amounts"]["net"], 930, "31 days at 30p");

    // A monthly trigger that only issues statements states December's charges.
    set_trigger(
        &app,
        &number,
        TriggerFrequency::Monthly,
        TriggerOperation::IssueStatementForTarget,
    )
    .await;
    let stated = run_billing(&app, "2027-01-03").await;
    assert_eq!(
        (stated["posted"].as_i64(), stated["statements"].as_i64()),
        (Some(0), Some(1)),
        "{stated}"
    );
    let account = ledger_view(&app, &customer, &number).await;
    assert_eq!(account["bills"]["totalCount"], 2);
    let verified = resiflex::ledger::verify(&app.test_db.db).await.unwrap();
    assert!(verified.1, "{}", verified.0);
}

#[tokio::test]
async fn an_estimated_charge_is_rebilled_when_actual_readings_arrive() {
    let app = TestApp::spawn().await;
    let (_, customer, number) = supplied(&app).await;
    actual_readings(&app).await;
    // 12 November estimated at 0.25 kWh a half-hour: 12 kWh.
    half_hours(
        &app,
        ELECTRICITY_SERIAL,
        "2026-11-12T00:00:00Z",
        48,
        "0.25",
        "ESTIMATE",
        &[],
    )
    .await;
    run_billing(&app, "2026-12-01").await;
    let account = bills(&app, &customer, json!({"n": number})).await;
    let november = nodes(&account)[0].clone();
    let lines = transactions(&november);
    let estimated = find(&lines, "Electricity consumption");
    assert_eq!(estimated.len(), 1);
    // 59.5 kWh at 20p: 1190p, 1249.5p with VAT.
    assert_eq!(
        estimated[0]["amounts"],
        json!({"net": 1190, "tax": 60, "gross": 1250})
    );
    assert!(
        estimated[0]["title"]
            .as_str()
            .unwrap()
            .ends_with("(estimated)")
    );

    // Nothing changed: the next run leaves the estimate alone.
    let unchanged = run_billing(&app, "2026-12-02").await;
    assert_eq!(
        (unchanged["rebilled"].as_i64(), unchanged["posted"].as_i64()),
        (Some(0), Some(0)),
        "{unchanged}"
    );

    // The actual readings of 12 November: 24 kWh.
    half_hours(
        &app,
        ELECTRICITY_SERIAL,
        "2026-11-12T00:00:00Z",
        48,
        "0.5",
        "ACTUAL",
        &[],
    )
    .await;
    let rebill = run_billing(&app, "2026-12-03").await;
    assert_eq!(rebill["rebilled"], 1, "{rebill}");
    assert_eq!(
        rebill["posted"], 2,
        "a reversal and the new charge: {rebill}"
    );
    let again = run_billing(&app, "2026-12-04").await;
    assert_eq!(
        (again["rebilled"].as_i64(), again["posted"].as_i64()),
        (Some(0), Some(0)),
        "{again}"
    );

    // January's run issues December's statement, which holds the correction.
    let january = run_billing(&app, "2027-01-01").await;
    assert_eq!(january["statements"], 1, "{january}");
    let account = bills(&app, &customer, json!({"n": number})).await;
    let list = nodes(&account);
    assert_eq!(list.len(), 2);
    let (december, november) = (&list[0], &list[1]);
    assert_eq!(december["fromDate"], "2026-12-01");
    assert_eq!(december["openingBalance"], november["closingBalance"]);
    assert_balances(december);
    assert_balances(november);
    let lines = transactions(december);
    let reversal = find(&lines, "Reversal: Electricity consumption");
    assert_eq!(reversal.len(), 1, "{lines:?}");
    assert_eq!(reversal[0]["__typename"], "Credit");
    assert_eq!(reversal[0]["amounts"]["gross"], 1250);
    let actual = find(&lines, "Electricity consumption");
    assert_eq!(actual.len(), 1);
    // 71.5 kWh at 20p: 1430p, 1501.5p with VAT.
    assert_eq!(
        actual[0]["amounts"],
        json!({"net": 1430, "tax": 72, "gross": 1502})
    );
    assert_eq!(actual[0]["consumption"]["quantity"], "71.500");
    // November's charge was reversed after November's statement closed.
    assert_eq!(november["reversalsAfterClose"], "SOME");
}

#[tokio::test]
async fn bills_are_filtered_ordered_paged_and_refused_to_strangers() {
    let app = TestApp::spawn().await;
    let (org, customer, number) = supplied(&app).await;
    actual_readings(&app).await;
    // October is billed on 1 November, November on 3 December.
    run_billing(&app, "2026-11-01").await;
    harness::money::post(
        &app,
        &number,
        LedgerKind::Main,
        harness::money::entry(TransactionKind::Payment, 2_000, "2026-11-15", "pay-1"),
    )
    .await;
    run_billing(&app, "2026-12-03").await;

    let account = bills(&app, &customer, json!({"n": number})).await;
    let list = nodes(&account);
    assert_eq!(account["bills"]["totalCount"], 2);
    assert_eq!(list[0]["fromDate"], "2026-11-01", "latest period first");
    assert_eq!(list[1]["fromDate"], "2026-10-01");
    assert_eq!(list[0]["openingBalance"], list[1]["closingBalance"]);
    for bill in &list {
        assert_balances(bill);
    }
    assert!(
        find(&transactions(&list[0]), "PAYMENT").len()
            + transactions(&list[0])
                .iter()
                .filter(|t| t["__typename"] == "Payment")
                .count()
            >= 1
    );

    let by_issue = bills(
        &app,
        &org,
        json!({"n": number, "order": "ISSUED_DATE_DESC"}),
    )
    .await;
    assert_eq!(nodes(&by_issue)[0]["issuedDate"], "2026-12-03");
    let page = bills(&app, &customer, json!({"n": number, "first": 1})).await;
    assert_eq!(nodes(&page).len(), 1);
    assert_eq!(page["bills"]["pageInfo"]["hasNextPage"], true);
    let october = bills(&app, &customer, json!({"n": number, "to": "2026-10-31"})).await;
    assert_eq!(october["bills"]["totalCount"], 1);
    assert_eq!(nodes(&october)[0]["fromDate"], "2026-10-01");
    let november = bills(&app, &customer, json!({"n": number, "from": "2026-11-01"})).await;
    assert_eq!(nodes(&november)[0]["fromDate"], "2026-11-01");
    assert_eq!(november["bills"]["totalCount"], 1);
    let issued = bills(
        &app,
        &customer,
        json!({"n": number, "issuedFrom": "2026-12-01"}),
    )
    .await;
    assert_eq!(issued["bills"]["totalCount"], 1);

    // One ledger by number; the charging ledger has no statements.
    let ledgers = app
        .graphql_as(
            Some(&customer),
            "query($n: String!) { account(accountNumber: $n) { ledgers { number ledgerType } } }",
            json!({"n": number}),
        )
        .await;
    let charging = ledgers["data"]["account"]["ledgers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["ledgerType"] == "CHARGING_LEDGER")
        .unwrap()["number"]
        .clone();
    let none = bills(&app, &customer, json!({"n": number, "ledger": charging})).await;
    assert_eq!(none["bills"]["totalCount"], 0);

    // One bill by id or identifier.
    let identifier = list[1]["identifier"].as_str().unwrap();
    let one = app
        .graphql_as(
            Some(&customer),
            "query($n: String!, $i: String, $id: ID) { account(accountNumber: $n) { bill(identifier: $i, id: $id) { id fromDate ... on StatementType { identifier } } } }",
            json!({"n": number, "i": identifier}),
        )
        .await;
    assert!(one["errors"].is_null(), "{one}");
    assert_eq!(one["data"]["account"]["bill"]["fromDate"], "2026-10-01");
    let by_id = app
        .graphql_as(
            Some(&customer),
            "query($n: String!, $id: ID) { account(accountNumber: $n) { bill(id: $id) { fromDate } } }",
            json!({"n": number, "id": list[0]["id"]}),
        )
        .await;
    assert_eq!(
        by_id["data"]["account"]["bill"]["fromDate"], "2026-11-01",
        "{by_id}"
    );

    // Another customer's bill by id: the same answer as no such bill.
    let other_org = organisation_auth(&app, "Other supplier").await;
    let other = account_number_of(
        &create_account_as(&app, &other_org, &NewAccount::new("c@example.com")).await,
    );
    let refused = app
        .graphql_as(
            Some(&other_org),
            "query($n: String!, $id: ID) { account(accountNumber: $n) { bill(id: $id) { fromDate } } }",
            json!({"n": other, "id": list[0]["id"]}),
        )
        .await;
    assert_eq!(error_code(&refused), "KT-CT-3824", "{refused}");
    // Strangers cannot reach the account at all.
    for auth in [user_auth(&app, "b@example.com").await, other_org] {
        let body = app
            .graphql_as(Some(&auth), BILLS, json!({"n": number}))
            .await;
        assert!(body["data"]["account"].is_null(), "{body}");
        assert!(!error_code(&body).is_empty());
    }
}

#[tokio::test]
async fn documents_are_served_only_behind_a_valid_unexpired_link() {
    let app = TestApp::spawn().await;
    let (_, customer, number) = supplied(&app).await;
    actual_readings(&app).await;
    run_billing(&app, "2026-12-01").await;
    let account = bills(&app, &customer, json!({"n": number})).await;
    let bill = nodes(&account)[0].clone();
    let files: Vec<Value> = bill["attachments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    let identifier = bill["identifier"].as_str().unwrap();
    assert_eq!(files[0]["filename"], format!("{identifier}.pdf"));
    assert_eq!(
        files[0]["temporaryUrlExpiresAt"], "2026-11-27T13:00:00+00:00",
        "an hour from the server's clock"
    );
    let path = |url: &Value| {
        let url = url.as_str().unwrap();
        url[url.find("/v1/bills/").unwrap()..].to_owned()
    };
    let pdf_path = path(&files[0]["temporaryUrl"]);
    let response = app.client.get(app.url(&pdf_path)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert!(String::from_utf8_lossy(&bytes).contains(identifier));

    let html_path = path(&files[1]["temporaryUrl"]);
    let response = app.client.get(app.url(&html_path)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains(&format!("Statement {identifier}")));
    assert!(page.contains("Electricity consumption"));
    assert!(
        page.contains(">9.50<"),
        "net amounts from minor units: {page}"
    );

    let status = |path: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url(&path))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Tampered: another signature, another bill, another expiry, or parts missing.
    let signature_at = pdf_path.find("signature=").unwrap() + "signature=".len();
    let mut tampered = pdf_path.clone();
    let flipped = if &tampered[signature_at..signature_at + 1] == "0" {
        "1"
    } else {
        "0"
    };
    tampered.replace_range(signature_at..signature_at + 1, flipped);
    assert_eq!(status(tampered).await, 403);
    let other_bill = pdf_path.replacen(
        &format!("/v1/bills/{}/", bill["id"].as_str().unwrap()),
        "/v1/bills/999999/",
        1,
    );
    assert_eq!(status(other_bill).await, 403);
    let expires_at = pdf_path.find("expires=").unwrap() + "expires=".len();
    let mut longer = pdf_path.clone();
    longer.insert(expires_at, '9');
    assert_eq!(status(longer).await, 403);
    assert_eq!(
        status(pdf_path[..pdf_path.find('?').unwrap()].to_owned()).await,
        403
    );
    assert_eq!(
        status("/v1/bills/not-a-number/document".to_owned()).await,
        404
    );
    assert_eq!(
        status(pdf_path.replace("format=pdf", "format=docx")).await,
        404
    );

    // Expired: an hour later the same link is refused.
    app.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(status(pdf_path.clone()).await, 403);
    assert_eq!(status(html_path).await, 403);
}
