//! Payments through the real server: a customer sets up a direct debit (kept masked), the
//! collection run takes the scheduled payment, the organisation refunds it, and customers can
//! neither approve repayments nor reach another account's payments.

use crate::harness;

use chrono::NaiveDate;
use harness::scenario::{
    NewAccount, account_number_of, create_account_as, organisation_auth, user_auth,
};
use harness::{TestApp, error_code};
use resiflex_domain::Clock;
use serde_json::{Value, json};

const SET_UP: &str = r#"mutation($n: String!, $s: String!, $a: String!) { setUpDirectDebitInstruction(input: {accountNumber: $n, bankDetails: {accountHolder: "Ada Lovelace", sortCode: $s, accountNumber: $a}, useForAutomatedPayments: true, validFrom: "2026-11-27T12:00:00Z"}) { paymentInstruction { id status sortCode maskedAccountIdentifier } } }"#;
const SCHEDULE: &str = r#"mutation($n: String!, $l: String!) { createAccountPaymentSchedule(input: {accountNumber: $n, ledgerNumber: $l, paymentDay: 28, paymentAmount: 4500}) { schedule { paymentDay paymentFrequency paymentAmount isVariablePaymentAmount paymentDayDetails { direction } } } }"#;
const ACCOUNT: &str = r#"query($n: String!) { account(accountNumber: $n) { ledgers { number } payments(first: 10) { totalCount edges { node { uuid amount status transactionType paymentDate isLateFailedPayment } } } directDebitInstructions(first: 5) { edges { node { status maskedAccountIdentifier sortCode } } } paymentSchedules(first: 5) { edges { node { paymentAmount isVariablePaymentAmount validTo } } } maximumRefund { amount reasonToRecommendAmount recommendedBalance } canRequestRefund repayments(first: 5) { edges { node { id status amount paymentUuid } } } } }"#;
const REFUND: &str = r#"mutation($n: ID!, $p: ID!, $amount: Int!, $k: String!) { refundPayment(input: {accountNumber: $n, amountInMinorUnit: $amount, idempotencyKey: $k, paymentId: $p, reason: "Moved out"}) { repayment { id status amount paymentUuid } } }"#;

async fn collect(app: &TestApp, d: u32) {
    let day = NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    resiflex::payments::collect(&app.test_db.db, Some(day), app.clock.now())
        .await
        .unwrap();
}

fn ok<'a>(body: &'a Value, what: &str) -> &'a Value {
    assert!(body["errors"].is_null(), "{what}: {body}");
    &body["data"]
}

#[tokio::test]
async fn a_direct_debit_is_collected_refunded_and_kept_to_its_account() {
    let app = TestApp::spawn().await;
    let org = organisation_auth(&app, "Supplier").await;
    let a =
        account_number_of(&create_account_as(&app, &org, &NewAccount::new("a@example.com")).await);
    create_account_as(&app, &org, &NewAccount::new("b@example.com")).await;
    let customer = user_auth(&app, "a@example.com").await;
    let other = user_auth(&app, "b@example.com").await;

    // Invalid details are refused; valid ones are kept masked only.
    let bad = app
        .graphql_as(
            Some(&customer),
            SET_UP,
            json!({"n": a, "s": "20-00", "a": "55779911"}),
        )
        .await;
    assert_eq!(error_code(&bad), "KT-CT-3940");
    let body = app
        .graphql_as(
            Some(&customer),
            SET_UP,
            json!({"n": a, "s": "20-00-00", "a": "55779911"}),
        )
        .await;
    let instruction = &ok(&body, "set up")["setUpDirectDebitInstruction"]["paymentInstruction"];
    assert_eq!(instruction["status"], "ACTIVE");
    assert_eq!(instruction["maskedAccountIdentifier"], "****9911");
    assert!(!body.to_string().contains("55779911"));
    let refused = app
        .graphql_as(
            Some(&customer),
            SET_UP,
            json!({"n": a, "s": "20-00-00", "a": "12340000"}),
        )
        .await;
    assert_eq!(
        ok(&refused, "refused mandate")["setUpDirectDebitInstruction"]["paymentInstruction"]["status"],
        "FAILED"
    );

    let body = app
        .graphql_as(Some(&customer), ACCOUNT, json!({"n": a}))
        .await;
    let ledger = ok(&body, "account")["account"]["ledgers"][0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = app
        .graphql_as(Some(&customer), SCHEDULE, json!({"n": a, "l": ledger}))
        .await;
    assert_eq!(
        ok(&body, "schedule")["createAccountPaymentSchedule"]["schedule"],
        json!({"paymentDay": 28, "paymentFrequency": "Monthly", "paymentAmount": 4500, "isVariablePaymentAmount": false, "paymentDayDetails": {"direction": "OF_MONTH"}})
    );

    collect(&app, 27).await;
    collect(&app, 28).await;
    collect(&app, 29).await;
    let body = app
        .graphql_as(Some(&customer), ACCOUNT, json!({"n": a}))
        .await;
    let account = &ok(&body, "account after collection")["account"];
    let payment = &account["payments"]["edges"][0]["node"];
    assert_eq!(account["payments"]["totalCount"], 1);
    assert_eq!(
        (
            &payment["amount"],
            &payment["status"],
            &payment["transactionType"],
            &payment["paymentDate"]
        ),
        (
            &json!(4500),
            &json!("CLEARED"),
            &json!("DD_FIRST_COLLECTION"),
            &json!("2026-11-28")
        )
    );
    assert_eq!(
        account["maximumRefund"],
        json!({"amount": 0, "reasonToRecommendAmount": "MAX_AVAILABLE_AMOUNT", "recommendedBalance": 4500})
    );
    assert_eq!(account["canRequestRefund"], false);
    let uuid = payment["uuid"].as_str().unwrap().to_owned();

    // Another customer sees nothing of it.
    let foreign = app.graphql_as(Some(&other), ACCOUNT, json!({"n": a})).await;
    assert_eq!(error_code(&foreign), "KT-CT-4177");
    // Only the organisation refunds, once per key.
    let vars = |amount: i64, key: &str| json!({"n": a, "p": uuid, "amount": amount, "k": key});
    assert_eq!(
        error_code(
            &app.graphql_as(Some(&customer), REFUND, vars(4500, "k1"))
                .await
        ),
        "KT-CT-3924"
    );
    assert_eq!(
        error_code(&app.graphql_as(Some(&org), REFUND, vars(100, "k1")).await),
        "KT-CT-3938"
    );
    assert_eq!(
        error_code(&app.graphql_as(Some(&org), REFUND, vars(9000, "k1")).await),
        "KT-CT-3933"
    );
    let first = app.graphql_as(Some(&org), REFUND, vars(4500, "k1")).await;
    let repayment = ok(&first, "refund")["refundPayment"]["repayment"].clone();
    assert_eq!(
        (&repayment["status"], &repayment["paymentUuid"]),
        (&json!("APPROVED"), &json!(uuid))
    );
    let again = app.graphql_as(Some(&org), REFUND, vars(4500, "k1")).await;
    assert_eq!(
        ok(&again, "replay")["refundPayment"]["repayment"],
        repayment
    );
    assert_eq!(
        error_code(&app.graphql_as(Some(&org), REFUND, vars(4400, "k1")).await),
        "KT-CT-3928"
    );

    // Customers may not approve repayments, nor ask for more than their credit.
    let approve = r#"mutation($n: String!, $r: ID!) { approveRepayment(input: {accountNumber: $n, repaymentId: $r}) { repayment { status } } }"#;
    let r = repayment["id"].clone();
    assert_eq!(
        error_code(
            &app.graphql_as(Some(&customer), approve, json!({"n": a, "r": r}))
                .await
        ),
        "KT-CT-3959"
    );
    assert_eq!(
        error_code(
            &app.graphql_as(Some(&org), approve, json!({"n": a, "r": r}))
                .await
        ),
        "KT-CT-3934"
    );
    let ask = r#"mutation($n: String!) { submitRepaymentRequest(input: {accountNumber: $n, amountInMinorUnit: 100, idempotencyKey: "ask-1"}) { repaymentRequest { requestId status } } }"#;
    assert_eq!(
        error_code(&app.graphql_as(Some(&customer), ask, json!({"n": a})).await),
        "KT-CT-3927"
    );
    assert_eq!(
        error_code(&app.graphql_as(Some(&other), ask, json!({"n": a})).await),
        "KT-CT-1111"
    );

    collect(&app, 30).await;
    let body = app
        .graphql_as(Some(&customer), ACCOUNT, json!({"n": a}))
        .await;
    let account = &ok(&body, "account after the refund")["account"];
    assert_eq!(
        account["repayments"]["edges"][0]["node"]["status"],
        "SUBMITTED"
    );
}
