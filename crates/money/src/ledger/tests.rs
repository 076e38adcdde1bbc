#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use resiflex_domain::money::{
    Amounts, LedgerKind, NewTransaction, TransactionKind, TransactionReason, split_gross,
};
use resiflex_store::accounts;
use resiflex_store::ledgers::{self, Selection, TransactionQuery};
use resiflex_store::testing::{TestDb, household, raw_execute, try_raw_execute};

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

fn new(kind: TransactionKind, gross: i64, on: NaiveDate, key: &str) -> NewTransaction {
    let reason = match kind {
        TransactionKind::Charge => TransactionReason::ElectricityConsumption,
        TransactionKind::Credit => TransactionReason::FlexReward,
        TransactionKind::Payment => TransactionReason::Payment,
        TransactionKind::Refund => TransactionReason::Repayment,
    };
    let amounts = if kind == TransactionKind::Charge {
        split_gross(gross, 5)
    } else {
        Amounts::untaxed(gross)
    };
    NewTransaction {
        kind,
        reason,
        posted_date: on,
        amounts,
        title: format!("{kind} {gross}"),
        note: None,
        reverses: None,
        idempotency_key: key.into(),
        consumption_milli: None,
        imported: false,
    }
}

async fn account(db: &Db) -> Account {
    let h = household(db, "money@example.com", now()).await;
    accounts::account_by_number(db, &h.account_number)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn every_account_gets_a_main_and_a_charging_ledger_once() {
    let test = TestDb::new().await;
    let account = account(&test.db).await;
    let first = ledgers_of(&test.db, &account, now()).await.unwrap();
    let again = ledgers_of(&test.db, &account, now()).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(
        first.iter().map(|l| l.kind).collect::<Vec<_>>(),
        vec![LedgerKind::Main, LedgerKind::Charging]
    );
    assert!(first.iter().all(|l| l.currency == "GBP" && l.balance == 0));
    assert!(first[0].number.starts_with("L-"));
    assert_ne!(first[0].number, first[1].number);
}

#[tokio::test]
async fn the_balance_is_the_signed_sum_and_a_retry_posts_once() {
    let test = TestDb::new().await;
    let db = &test.db;
    let account = account(db).await;
    let main = ledger_of(db, &account, LedgerKind::Main, now())
        .await
        .unwrap();
    let charge = post(
        db,
        &main,
        new(TransactionKind::Charge, 4_200, day(5), "c1"),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(charge.balance_after, -4_200);
    assert_eq!(charge.sequence, 1);
    // The same key and request: the first transaction back, nothing new.
    let again = post(
        db,
        &main,
        new(TransactionKind::Charge, 4_200, day(5), "c1"),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(again.id, charge.id);
    // The same key for a different request is refused.
    let reused = post(
        db,
        &main,
        new(TransactionKind::Charge, 4_201, day(5), "c1"),
        now(),
    )
    .await;
    assert!(matches!(reused, Err(MoneyError::IdempotencyKeyReused)));
    post(
        db,
        &main,
        new(TransactionKind::Payment, 5_000, day(6), "p1"),
        now(),
    )
    .await
    .unwrap();
    post(
        db,
        &main,
        new(TransactionKind::Credit, 150, day(7), "r1"),
        now(),
    )
    .await
    .unwrap();
    let refund = post(
        db,
        &main,
        new(TransactionKind::Refund, 900, day(8), "f1"),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(refund.balance_after, -4_200 + 5_000 + 150 - 900);
    let ledgers = ledgers_of(db, &account, now()).await.unwrap();
    assert_eq!(balance(&ledgers, false), 50);
    assert_eq!(ledgers[0].amount_owed_by_customer(), -50);
    assert_eq!(ledgers[0].last_sequence, 4);
    let report = verify(db, 1).await.unwrap();
    assert_eq!(report.ledgers, 2);
    assert_eq!(report.transactions, 4);
    assert!(report.discrepancies.is_empty(), "{report:?}");
}

#[tokio::test]
async fn a_batch_with_one_invalid_transaction_posts_nothing() {
    let test = TestDb::new().await;
    let db = &test.db;
    let account = account(db).await;
    let main = ledger_of(db, &account, LedgerKind::Main, now())
        .await
        .unwrap();
    let mut bad = new(TransactionKind::Charge, 100, day(1), "b2");
    bad.amounts.tax += 1;
    let result = post_all(
        db,
        vec![
            (main.id, new(TransactionKind::Charge, 100, day(1), "b1")),
            (main.id, bad),
        ],
        now(),
    )
    .await;
    assert!(matches!(result, Err(MoneyError::Invalid(_))));
    let ledgers = ledgers_of(db, &account, now()).await.unwrap();
    assert_eq!(ledgers[0].last_sequence, 0);
}

#[tokio::test]
async fn a_correction_is_a_reversal_and_stored_transactions_never_change() {
    let test = TestDb::new().await;
    let db = &test.db;
    let account = account(db).await;
    let main = ledger_of(db, &account, LedgerKind::Main, now())
        .await
        .unwrap();
    let charge = post(
        db,
        &main,
        new(TransactionKind::Charge, 1_050, day(3), "c"),
        now(),
    )
    .await
    .unwrap();
    let reversal = reverse(db, &main, charge.id, day(4), "undo".into(), now())
        .await
        .unwrap();
    assert_eq!(reversal.kind, TransactionKind::Credit);
    assert_eq!(reversal.reverses, Some(charge.id));
    assert_eq!(reversal.balance_after, 0);
    // Reversing twice is refused, even with a fresh key.
    let twice = reverse(db, &main, charge.id, day(4), "undo-2".into(), now()).await;
    assert!(matches!(twice, Err(MoneyError::NotReversible)));
    // Updates and deletes are refused by the database itself.
    let id = charge.id.to_string();
    for sql in [
        "UPDATE ledger_transactions SET gross = 1 WHERE id = CAST($1 AS BIGINT)",
        "DELETE FROM ledger_transactions WHERE id = CAST($1 AS BIGINT)",
    ] {
        let outcome = try_raw_execute(db, sql, &[&id]).await;
        let message = outcome.expect_err(sql).to_string();
        assert!(message.contains("append-only"), "{message}");
    }
    let read = ledgers::transactions(
        db,
        &TransactionQuery {
            ledger_ids: vec![main.id],
            newest_first: false,
            ..TransactionQuery::default()
        },
        0,
        10,
    )
    .await
    .unwrap();
    assert_eq!(read.len(), 2);
    assert!(read[0].reversed && !read[1].reversed);
    assert!(verify(db, 10).await.unwrap().discrepancies.is_empty());
}

#[tokio::test]
async fn verify_finds_a_balance_that_does_not_match_its_transactions() {
    let test = TestDb::new().await;
    let db = &test.db;
    let account = account(db).await;
    let main = ledger_of(db, &account, LedgerKind::Main, now())
        .await
        .unwrap();
    post(
        db,
        &main,
        new(TransactionKind::Charge, 700, day(3), "c"),
        now(),
    )
    .await
    .unwrap();
    raw_execute(
        db,
        "UPDATE ledgers SET balance = balance + 1 WHERE id = CAST($1 AS BIGINT)",
        &[&main.id.to_string()],
    )
    .await;
    let report = verify(db, 1).await.unwrap();
    assert_eq!(report.discrepancies.len(), 1);
    let found = &report.discrepancies[0];
    assert_eq!(
        (found.stored_balance, found.sum_of_transactions),
        (-699, -700)
    );
}

#[tokio::test]
async fn filters_select_energy_charges_imports_and_dates() {
    let test = TestDb::new().await;
    let db = &test.db;
    let account = account(db).await;
    let main = ledger_of(db, &account, LedgerKind::Main, now())
        .await
        .unwrap();
    let mut imported = new(TransactionKind::Payment, 300, day(2), "i");
    imported.imported = true;
    imported.reason = TransactionReason::Imported;
    post_all(
        db,
        vec![
            (main.id, new(TransactionKind::Charge, 1_000, day(1), "e")),
            (main.id, imported),
            (main.id, new(TransactionKind::Credit, 50, day(3), "r")),
        ],
        now(),
    )
    .await
    .unwrap();
    let query = |any_of: Vec<Selection>, none_of: Vec<Selection>| TransactionQuery {
        ledger_ids: vec![main.id],
        any_of,
        none_of,
        newest_first: true,
        ..TransactionQuery::default()
    };
    async fn grosses(db: &Db, q: TransactionQuery) -> Vec<i64> {
        ledgers::transactions(db, &q, 0, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.transaction.amounts.gross)
            .collect()
    }
    let titles = |q: TransactionQuery| grosses(db, q);
    assert_eq!(
        titles(query(vec![Selection::EnergyCharges], vec![])).await,
        vec![1_000]
    );
    assert_eq!(
        titles(query(
            vec![Selection::Imported(TransactionKind::Payment)],
            vec![]
        ))
        .await,
        vec![300]
    );
    assert_eq!(
        titles(query(vec![], vec![Selection::EnergyCharges])).await,
        vec![50, 300]
    );
    assert!(
        titles(query(vec![Selection::WaterCharges], vec![]))
            .await
            .is_empty()
    );
    assert_eq!(
        titles(query(vec![Selection::Unissued], vec![])).await.len(),
        3
    );
    let mut dated = query(vec![], vec![]);
    dated.from_date = Some(day(2));
    dated.to_date = Some(day(2));
    assert_eq!(titles(dated.clone()).await, vec![300]);
    assert_eq!(ledgers::count_transactions(db, &dated).await.unwrap(), 1);
}

#[tokio::test]
async fn overdue_is_the_debt_older_than_the_terms_less_what_came_in_since() {
    let test = TestDb::new().await;
    let db = &test.db;
    let account = account(db).await;
    let main = ledger_of(db, &account, LedgerKind::Main, now())
        .await
        .unwrap();
    post(
        db,
        &main,
        new(TransactionKind::Charge, 10_000, day(1), "old"),
        now(),
    )
    .await
    .unwrap();
    post(
        db,
        &main,
        new(TransactionKind::Charge, 2_000, day(25), "new"),
        now(),
    )
    .await
    .unwrap();
    let ledgers = ledgers_of(db, &account, now()).await.unwrap();
    let today = day(30);
    assert_eq!(overdue_balance(db, &ledgers, today).await.unwrap(), 10_000);
    post(
        db,
        &main,
        new(TransactionKind::Payment, 4_000, day(26), "pay"),
        now(),
    )
    .await
    .unwrap();
    let ledgers = ledgers_of(db, &account, now()).await.unwrap();
    assert_eq!(overdue_balance(db, &ledgers, today).await.unwrap(), 6_000);
    post(
        db,
        &main,
        new(TransactionKind::Payment, 9_000, day(27), "pay-2"),
        now(),
    )
    .await
    .unwrap();
    let ledgers = ledgers_of(db, &account, now()).await.unwrap();
    assert_eq!(overdue_balance(db, &ledgers, today).await.unwrap(), 0);
}

#[tokio::test]
async fn concurrent_posts_to_one_ledger_keep_the_balance_exact() {
    let test = TestDb::new().await;
    let db = test.db.clone();
    let account = account(&db).await;
    let main = ledger_of(&db, &account, LedgerKind::Main, now())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let db = db.clone();
        let main = main.clone();
        tasks.push(tokio::spawn(async move {
            // Every task also retries key 0, which must post once in all.
            post(
                &db,
                &main,
                new(TransactionKind::Charge, 100, day(1), "shared"),
                now(),
            )
            .await
            .unwrap();
            post(
                &db,
                &main,
                new(TransactionKind::Payment, 10 + i, day(2), &format!("p{i}")),
                now(),
            )
            .await
            .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let ledgers = ledgers_of(&db, &account, now()).await.unwrap();
    assert_eq!(
        ledgers[0].balance,
        -100 + (0..16).map(|i| 10 + i).sum::<i64>()
    );
    assert_eq!(ledgers[0].last_sequence, 17);
    assert!(verify(&db, 100).await.unwrap().discrepancies.is_empty());
}
