//! Ledgers and transactions as clients read them: `account { balance ledgers transactions }`, with
//! the filters, orders and pages of the Kraken schema, and the signs customers' tools rely on.

use crate::harness;

use harness::money::{entry, post};
use harness::scenario::{
    NewAccount, account_number_of, create_account_as, organisation_auth, user_auth,
};
use harness::{TestApp, error_code};
use resiflex_domain::money::{LedgerKind, NewTransaction, TransactionKind};
use serde_json::{Value, json};

const ACCOUNT: &str = r#"query($n: String!) {
  account(accountNumber: $n) {
    balance
    allBalance: balance(includeAllLedgers: true)
    overdueBalance
    ledgers { number name ledgerType balance amountOwedByCustomer currency
      transactions(first: 10) { totalCount edges { node { __typename } } } }
  }
}"#;

const TRANSACTIONS: &str = r#"query($n: String!, $types: [TransactionTypeFilter], $excluded: [TransactionTypeFilter],
    $order: TransactionsOrderBy, $first: Int, $offset: Int, $after: String, $all: Boolean, $from: Date, $to: Date) {
  account(accountNumber: $n) {
    transactions(transactionTypes: $types, transactionTypesExcluded: $excluded, orderBy: $order,
        first: $first, offset: $offset, after: $after, includeAllLedgers: $all, fromDate: $from, toDate: $to) {
      totalCount edgeCount
      pageInfo { hasNextPage endCursor }
      edges { node {
        __typename id postedDate title reasonCode isReversed hasStatement isIssued
        amounts { net tax gross } amount balanceCarriedForward accountNumber
        ... on Charge { consumption { quantity unit } }
      } }
    }
  }
}"#;

/// An account of a@example.com (and one of b@example.com) with a month of money: a charge, a
/// payment, a reward, a charge reversed, and a charging-ledger charge.
async fn with_money(app: &TestApp) -> (String, String, String) {
    let org = organisation_auth(app, "Supplier").await;
    let number =
        account_number_of(&create_account_as(app, &org, &NewAccount::new("a@example.com")).await);
    create_account_as(app, &org, &NewAccount::new("b@example.com")).await;
    let main = LedgerKind::Main;
    post(
        app,
        &number,
        main,
        entry(TransactionKind::Charge, 4_200, "2026-10-31", "oct"),
    )
    .await;
    post(
        app,
        &number,
        main,
        entry(TransactionKind::Payment, 3_000, "2026-11-05", "dd"),
    )
    .await;
    post(
        app,
        &number,
        main,
        entry(TransactionKind::Credit, 125, "2026-11-10", "reward"),
    )
    .await;
    let wrong = post(
        app,
        &number,
        main,
        entry(TransactionKind::Charge, 999, "2026-11-12", "x"),
    )
    .await;
    post(
        app,
        &number,
        main,
        NewTransaction::reversal_of(&wrong, "2026-11-13".parse().unwrap(), "x-undo".into()),
    )
    .await;
    post(
        app,
        &number,
        LedgerKind::Charging,
        entry(TransactionKind::Charge, 700, "2026-11-20", "public-charge"),
    )
    .await;
    let customer = user_auth(app, "a@example.com").await;
    (org, customer, number)
}

fn nodes(body: &Value) -> Vec<Value> {
    body["data"]["account"]["transactions"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test]
async fn balances_ledgers_and_signs_follow_the_customer_side() {
    let app = TestApp::spawn().await;
    let (_, customer, number) = with_money(&app).await;
    let body = app
        .graphql_as(Some(&customer), ACCOUNT, json!({"n": number}))
        .await;
    let account = &body["data"]["account"];
    // -4200 + 3000 + 125 - 999 + 999 on the main ledger; -700 on the charging ledger.
    assert_eq!(account["balance"], -1_075, "{body}");
    assert_eq!(account["allBalance"], -1_775);
    let ledgers = account["ledgers"].as_array().unwrap();
    assert_eq!(ledgers.len(), 2);
    assert_eq!(ledgers[0]["ledgerType"], "MAIN_LEDGER");
    assert_eq!(ledgers[0]["amountOwedByCustomer"], 1_075);
    assert_eq!(ledgers[0]["currency"], "GBP");
    assert_eq!(ledgers[0]["transactions"]["totalCount"], 5);
    assert_eq!(ledgers[1]["ledgerType"], "CHARGING_LEDGER");
    assert_eq!(ledgers[1]["balance"], -700);
    assert!(ledgers[0]["number"].as_str().unwrap().starts_with("L-"));
    // The clock is at 27 November, so the debt of 13 November (1075, after the payment, the
    // reward and the reversal) is overdue; the charging ledger's charge of the 20th is not yet.
    assert_eq!(account["overdueBalance"], 1_075);
}

#[tokio::test]
async fn transactions_are_typed_ordered_filtered_and_paged() {
    let app = TestApp::spawn().await;
    let (_, customer, number) = with_money(&app).await;
    let ask = |vars: Value| {
        let mut vars = vars;
        vars["n"] = json!(number);
        let app = &app;
        let customer = customer.clone();
        async move { app.graphql_as(Some(&customer), TRANSACTIONS, vars).await }
    };
    let newest_first = nodes(&ask(json!({})).await);
    let kinds: Vec<&str> = newest_first
        .iter()
        .map(|n| n["__typename"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Credit", "Charge", "Credit", "Payment", "Charge"]);
    let oldest = &newest_first[4];
    assert_eq!(
        oldest["amounts"],
        json!({"net": 4_000, "tax": 200, "gross": 4_200})
    );
    assert_eq!(oldest["amount"], 4_200);
    assert_eq!(oldest["balanceCarriedForward"], -4_200);
    assert_eq!(oldest["consumption"]["unit"], "kWh");
    assert_eq!(oldest["consumption"]["quantity"], "168.000");
    assert_eq!(oldest["accountNumber"], json!(number));
    assert_eq!(
        newest_first[3]["amounts"],
        json!({"net": 3_000, "tax": 0, "gross": 3_000})
    );
    // The reversed charge says so, and its reversal says why it was posted.
    assert_eq!(newest_first[1]["isReversed"], true);
    assert_eq!(newest_first[0]["reasonCode"], "REVERSAL");
    assert_eq!(newest_first[0]["hasStatement"], false);

    let ascending = nodes(&ask(json!({"order": "POSTED_DATE_ASC"})).await);
    assert_eq!(ascending[0]["postedDate"], "2026-10-31");

    let energy = ask(json!({"types": ["ENERGY_CHARGES"]})).await;
    assert_eq!(
        energy["data"]["account"]["transactions"]["totalCount"], 2,
        "{energy}"
    );
    let no_energy = ask(json!({"excluded": ["ENERGY_CHARGES"]})).await;
    assert_eq!(
        no_energy["data"]["account"]["transactions"]["totalCount"],
        3
    );
    let unissued = ask(json!({"types": ["UNISSUED_TRANSACTIONS"]})).await;
    assert_eq!(unissued["data"]["account"]["transactions"]["totalCount"], 5);
    let all = ask(json!({"all": true})).await;
    assert_eq!(all["data"]["account"]["transactions"]["totalCount"], 6);
    let november = ask(json!({"from": "2026-11-01", "to": "2026-11-10"})).await;
    assert_eq!(november["data"]["account"]["transactions"]["totalCount"], 2);
    let backwards = ask(json!({"from": "2026-11-10", "to": "2026-11-01"})).await;
    assert_eq!(error_code(&backwards), "KT-CT-1605");

    // Pages: two at a time by cursor, and by offset.
    let first = ask(json!({"first": 2})).await;
    let page = &first["data"]["account"]["transactions"];
    assert_eq!(page["edgeCount"], 2);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let after = page["pageInfo"]["endCursor"].clone();
    let second = nodes(&ask(json!({"first": 2, "after": after})).await);
    assert_eq!(second[0]["id"], newest_first[2]["id"]);
    let by_offset = nodes(&ask(json!({"first": 2, "offset": 2})).await);
    assert_eq!(by_offset[0]["id"], newest_first[2]["id"]);
    let negative = ask(json!({"offset": -1})).await;
    assert_eq!(error_code(&negative), "KT-CT-1605");
}

#[tokio::test]
async fn one_customer_never_sees_another_customers_money() {
    let app = TestApp::spawn().await;
    let (org, _, number) = with_money(&app).await;
    let other = user_auth(&app, "b@example.com").await;
    let body = app
        .graphql_as(Some(&other), ACCOUNT, json!({"n": number}))
        .await;
    assert_eq!(error_code(&body), "KT-CT-4177", "{body}");
    assert!(body["data"]["account"].is_null());
    // The organisation sees its customer's money; another organisation does not.
    let body = app
        .graphql_as(Some(&org), ACCOUNT, json!({"n": number}))
        .await;
    assert_eq!(body["data"]["account"]["balance"], -1_075, "{body}");
    let stranger = organisation_auth(&app, "Another supplier").await;
    let body = app
        .graphql_as(Some(&stranger), ACCOUNT, json!({"n": number}))
        .await;
    assert_eq!(error_code(&body), "KT-CT-4177");
}

#[tokio::test]
async fn an_unknown_ledger_number_is_a_clear_error() {
    let app = TestApp::spawn().await;
    let (_, customer, number) = with_money(&app).await;
    let body = app
        .graphql_as(
            Some(&customer),
            r#"query($n: String!) { account(accountNumber: $n) {
                 transactions(ledgerNumber: "L-NOPE", first: 5) { totalCount } } }"#,
            json!({"n": number}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-3979", "{body}");
}

#[tokio::test]
async fn ledger_verify_proves_the_balances_and_names_a_ledger_that_disagrees() {
    use resiflex_store::testing::{household, raw_execute};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("money.db").display());
    let db = resiflex_store::Db::connect(&url, &resiflex_store::DbOptions::default())
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let now = harness::start_instant();
    let home = household(&db, "verify@example.com", now).await;
    let account = resiflex_store::accounts::account_by_number(&db, &home.account_number)
        .await
        .unwrap()
        .unwrap();
    let main = resiflex_money::ledger::ledger_of(&db, &account, LedgerKind::Main, now)
        .await
        .unwrap();
    for (i, gross) in [1_200, 300, 4_500].into_iter().enumerate() {
        let new = entry(
            TransactionKind::Charge,
            gross,
            "2026-11-01",
            &format!("c{i}"),
        );
        resiflex_money::ledger::post(&db, &main, new, now)
            .await
            .unwrap();
    }
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_resiflex"))
            .args(["ledger", "verify", "--database", &url])
            .env_remove("RESIFLEX_DATABASE_URL")
            .output()
            .unwrap()
    };
    let good = run();
    assert!(good.status.success(), "{good:?}");
    let report: Value = serde_json::from_slice(&good.stdout).unwrap();
    assert_eq!(report["ledgers"], 2);
    assert_eq!(report["transactions"], 3);
    assert_eq!(report["ok"], true);
    raw_execute(
        &db,
        "UPDATE ledgers SET balance = balance - 1 WHERE id = CAST($1 AS BIGINT)",
        &[&main.id.to_string()],
    )
    .await;
    let bad = run();
    assert_eq!(bad.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["discrepancies"][0]["ledger"], json!(main.number));
    assert_eq!(report["discrepancies"][0]["storedBalance"], -6_001);
    assert_eq!(report["discrepancies"][0]["sumOfTransactions"], -6_000);
}
