#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use resiflex_domain::billing::{
    BillingOptions, BillingPeriod, ReversalsAfterClose, StatementStatus,
};
use resiflex_domain::money::{
    LedgerKind, NewTransaction, TransactionKind, TransactionReason, split_gross,
};
use resiflex_store::accounts::{self, Account};
use resiflex_store::billing::{self as store, StatementQuery};
use resiflex_store::testing::{TestDb, household};

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 6, 0, 0).single().unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

async fn account(db: &Db) -> Account {
    let h = household(db, "bills@example.com", now()).await;
    accounts::account_by_id(db, h.account_id)
        .await
        .unwrap()
        .unwrap()
}

fn entry(kind: TransactionKind, gross: i64, key: &str, on: NaiveDate) -> NewTransaction {
    NewTransaction {
        kind,
        reason: match kind {
            TransactionKind::Charge => TransactionReason::ElectricityConsumption,
            _ => TransactionReason::Goodwill,
        },
        posted_date: on,
        amounts: split_gross(gross, 5),
        title: format!("{kind} {gross}"),
        note: None,
        reverses: None,
        idempotency_key: key.to_owned(),
        consumption_milli: None,
        imported: false,
    }
}

#[tokio::test]
async fn statements_chain_and_balance() {
    let test = TestDb::new().await;
    let db = &test.db;
    let account = account(db).await;
    let main = ledger::ledger_of(db, &account, LedgerKind::Main, now())
        .await
        .unwrap();
    let november = BillingPeriod {
        from: day(2026, 11, 1),
        to: day(2026, 11, 30),
    };
    let december = BillingOptions::default().next(november).unwrap();
    for (kind, gross, key) in [
        (TransactionKind::Charge, 10_500, "a"),
        (TransactionKind::Credit, 500, "b"),
        (TransactionKind::Charge, 2_100, "c"),
    ] {
        ledger::post(db, &main, entry(kind, gross, key, day(2026, 11, 30)), now())
            .await
            .unwrap();
    }
    assert_eq!(
        statements::issue(db, &account, november, day(2026, 12, 1), now())
            .await
            .unwrap(),
        1,
        "the main ledger's statement; the empty charging ledger has none"
    );
    assert_eq!(
        statements::issue(db, &account, november, day(2026, 12, 1), now())
            .await
            .unwrap(),
        0,
        "issuing again changes nothing"
    );
    let query = StatementQuery {
        ledger_ids: vec![main.id],
        ..StatementQuery::default()
    };
    let (total, first) = statements::list(db, &query, 0, 10).await.unwrap();
    assert_eq!(total, 1);
    let first = statements::view(db, first[0].clone()).await.unwrap();
    let s = &first.statement;
    assert_eq!(s.status, StatementStatus::Closed);
    assert_eq!((s.opening_sequence, s.closing_sequence), (0, 3));
    assert_eq!(s.opening_balance, 0);
    assert_eq!(s.closing_balance, -12_100);
    assert_eq!(
        s.opening_balance + first.figures.movement,
        s.closing_balance
    );
    assert_eq!(first.figures.charges.gross, 12_600);
    assert_eq!(
        first.figures.charges.net + first.figures.charges.tax,
        12_600
    );
    assert_eq!(first.figures.credits.gross, 500);
    assert_eq!(s.payment_due_date, Some(day(2026, 12, 15)));
    assert_eq!(s.identifier, format!("S-{}-20261101", &main.number[2..]));
    assert_eq!(first.reversals_after_close(), ReversalsAfterClose::None);

    // December: one charge of November is reversed, and a payment comes in.
    let charges = resiflex_store::ledgers::transactions(
        db,
        &resiflex_store::ledgers::TransactionQuery {
            ledger_ids: vec![main.id],
            kinds: vec![TransactionKind::Charge],
            ..Default::default()
        },
        0,
        10,
    )
    .await
    .unwrap();
    let main = ledger::ledger_of(db, &account, LedgerKind::Main, now())
        .await
        .unwrap();
    ledger::reverse(
        db,
        &main,
        charges[0].transaction.id,
        day(2026, 12, 10),
        "rev".into(),
        now(),
    )
    .await
    .unwrap();
    ledger::post(
        db,
        &main,
        entry(TransactionKind::Payment, 1_000, "p", day(2026, 12, 20)),
        now(),
    )
    .await
    .unwrap();
    statements::issue(db, &account, december, day(2027, 1, 1), now())
        .await
        .unwrap();
    let (total, page) = statements::list(db, &query, 0, 10).await.unwrap();
    assert_eq!(total, 2);
    assert_eq!(page[0].period, december, "latest period first");
    let second = statements::view(db, page[0].clone()).await.unwrap();
    assert_eq!(second.statement.opening_sequence, 3);
    assert_eq!(second.statement.opening_balance, -12_100);
    assert_eq!(
        second.statement.opening_balance + second.figures.movement,
        second.statement.closing_balance
    );
    let main = ledger::ledger_of(db, &account, LedgerKind::Main, now())
        .await
        .unwrap();
    assert_eq!(second.statement.closing_balance, main.balance);
    let first = statements::view(db, page[1].clone()).await.unwrap();
    assert_eq!(first.reversals_after_close(), ReversalsAfterClose::Some);

    // Filters: by issue date and period.
    let issued_in_january = StatementQuery {
        issued_from: Some(day(2027, 1, 1)),
        ..query.clone()
    };
    assert_eq!(
        store::count_statements(db, &issued_in_january)
            .await
            .unwrap(),
        1
    );
    let november_only = StatementQuery {
        to_date: Some(day(2026, 11, 30)),
        ..query.clone()
    };
    assert_eq!(
        store::count_statements(db, &november_only).await.unwrap(),
        1
    );
    let found = statements::find(
        db,
        std::slice::from_ref(&main),
        None,
        Some(&first.statement.identifier),
    )
    .await
    .unwrap();
    assert_eq!(found.id, first.statement.id);
    assert!(matches!(
        statements::find(db, &[], Some(found.id), None).await,
        Err(MoneyError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_run_bills_each_ended_period_once() {
    let test = TestDb::new().await;
    let db = &test.db;
    let account = account(db).await;
    let report = run(db, day(2026, 12, 1), now(), 1).await.unwrap();
    assert_eq!(report.accounts, 1);
    assert_eq!(report.periods, 1);
    assert_eq!(
        report.statements, 0,
        "an unused ledger has nothing to state"
    );
    let main = ledger::ledger_of(db, &account, LedgerKind::Main, now())
        .await
        .unwrap();
    ledger::post(
        db,
        &main,
        entry(TransactionKind::Charge, 100, "d", day(2026, 12, 5)),
        now(),
    )
    .await
    .unwrap();
    assert!(report.failures.is_empty(), "{report:?}");
    let billing = store::billing_of(db, account.id).await.unwrap();
    assert_eq!(billing.billed_through, Some(day(2026, 12, 1)));
    let again = run(db, day(2026, 12, 20), now(), 10).await.unwrap();
    assert_eq!((again.periods, again.statements), (0, 0), "{again:?}");
    // A month later the next period is billed, and only that one.
    let january = run(db, day(2027, 1, 2), now(), 10).await.unwrap();
    assert_eq!((january.periods, january.statements), (1, 1));
    let view = options_of(db, &account, now()).await.unwrap();
    assert_eq!(view.current.map(|p| p.from), Some(day(2026, 12, 1)));
}

#[tokio::test]
async fn options_are_stored_and_checked() {
    let test = TestDb::new().await;
    let db = &test.db;
    let account = account(db).await;
    let view = options_of(db, &account, now()).await.unwrap();
    assert_eq!(view.billing.options, BillingOptions::default());
    assert_eq!(view.billing.trigger, Trigger::default());
    let quarterly = BillingOptions {
        period_start_day: 15,
        period_length: resiflex_domain::billing::PeriodLength::Quarterly,
        multiplier: 1,
        is_fixed: true,
    };
    set_options(db, &account, quarterly, Trigger::default(), now())
        .await
        .unwrap();
    let view = options_of(db, &account, now()).await.unwrap();
    assert_eq!(view.billing.options, quarterly);
    assert_eq!(
        view.current.map(|p| (p.from, p.to)),
        Some((day(2026, 10, 15), day(2027, 1, 14)))
    );
    let bad = BillingOptions {
        multiplier: 0,
        ..quarterly
    };
    assert!(matches!(
        set_options(db, &account, bad, Trigger::default(), now()).await,
        Err(MoneyError::Invalid(_))
    ));
    assert!(
        set_flex_reward(db, account.organisation_id, -1, now())
            .await
            .is_err()
    );
    set_flex_reward(db, account.organisation_id, 5_000_000, now())
        .await
        .unwrap();
    assert_eq!(
        store::flex_reward_rate(db, account.organisation_id)
            .await
            .unwrap(),
        5_000_000
    );
}

#[tokio::test]
async fn smart_dispatches_earn_the_organisations_flex_reward() {
    use resiflex_store::sessions::{CompletedDispatch, upsert_completed_dispatches};
    let test = TestDb::new().await;
    let db = &test.db;
    let device = resiflex_store::testing::vehicle_fixture(db, "flex@example.com", "ev-1").await;
    let account = accounts::account_by_id(db, device.account_id)
        .await
        .unwrap()
        .unwrap();
    let dispatch = |start: &str, end: &str, kind: &str, wh: i64| CompletedDispatch {
        device_id: "ev-1".into(),
        start_at: start.parse().unwrap(),
        end_at: end.parse().unwrap(),
        kind: kind.into(),
        energy_wh: wh,
        location: "AT_HOME".into(),
        plan_version: 1,
        recorded_at: now(),
    };
    upsert_completed_dispatches(
        db,
        &[
            dispatch(
                "2026-11-10T01:00:00Z",
                "2026-11-10T03:00:00Z",
                "SMART",
                10_000,
            ),
            dispatch(
                "2026-11-11T01:00:00Z",
                "2026-11-11T02:00:00Z",
                "SMART",
                2_500,
            ),
            // A boost is the customer's own choice, and December is the next period.
            dispatch(
                "2026-11-12T18:00:00Z",
                "2026-11-12T19:00:00Z",
                "BOOST",
                7_000,
            ),
            dispatch(
                "2026-12-01T01:00:00Z",
                "2026-12-01T02:00:00Z",
                "SMART",
                4_000,
            ),
        ],
    )
    .await
    .unwrap();
    // 5p per kWh flexed.
    set_flex_reward(db, account.organisation_id, 5_000_000, now())
        .await
        .unwrap();
    let report = run(db, day(2026, 12, 1), now(), 10).await.unwrap();
    assert_eq!((report.posted, report.statements), (1, 1), "{report:?}");
    let main = ledger::ledger_of(db, &account, LedgerKind::Main, now())
        .await
        .unwrap();
    // 12.5 kWh at 5p: 62.5p, 63p.
    assert_eq!(main.balance, 63);
    let credits = resiflex_store::ledgers::transactions(
        db,
        &resiflex_store::ledgers::TransactionQuery {
            ledger_ids: vec![main.id],
            ..Default::default()
        },
        0,
        10,
    )
    .await
    .unwrap();
    let credit = &credits[0].transaction;
    assert_eq!(credit.kind, TransactionKind::Credit);
    assert_eq!(credit.reason, TransactionReason::FlexReward);
    assert_eq!(credit.consumption_milli, Some(12_500));
    assert_eq!(credit.posted_date, day(2026, 11, 30));
    let again = run(db, day(2026, 12, 2), now(), 10).await.unwrap();
    assert_eq!(again.posted, 0);
}

#[test]
fn the_trigger_decides_what_is_due() {
    use resiflex_domain::billing::{PeriodLength, TriggerFrequency, TriggerOperation};
    let billing = |frequency, operation, billed: Option<NaiveDate>| AccountBilling {
        account_id: 1,
        options: BillingOptions::default(),
        trigger: Trigger {
            frequency,
            operation,
            ..Trigger::default()
        },
        billed_through: billed,
        stated_through: billed,
        since: None,
    };
    // The default: the ended month, charged and stated whole.
    let monthly = due(
        &billing(
            TriggerFrequency::Monthly,
            TriggerOperation::ChargeTargetAndIssueStatement,
            None,
        ),
        day(2026, 12, 8),
    );
    let november = BillingPeriod {
        from: day(2026, 11, 1),
        to: day(2026, 11, 30),
    };
    assert_eq!(monthly.runs, vec![november]);
    assert_eq!(monthly.statements, vec![november]);
    // Daily: each day of the month so far, and no statement before the month ends.
    let daily = due(
        &billing(
            TriggerFrequency::Daily,
            TriggerOperation::ChargeTargetAndIssueStatement,
            None,
        ),
        day(2026, 12, 8),
    );
    assert_eq!(daily.runs.len(), 7);
    assert!(daily.statements.is_empty());
    // Charging only, or stating only.
    let charge = due(
        &billing(
            TriggerFrequency::Monthly,
            TriggerOperation::ChargeTarget,
            None,
        ),
        day(2026, 12, 8),
    );
    assert_eq!((charge.runs.len(), charge.statements.len()), (1, 0));
    let state = due(
        &billing(
            TriggerFrequency::Monthly,
            TriggerOperation::IssueStatementForTarget,
            None,
        ),
        day(2026, 12, 8),
    );
    assert_eq!((state.runs.len(), state.statements.len()), (0, 1));
    // Yearly: nothing after the year's run until the next one.
    let yearly = billing(
        TriggerFrequency::Annually,
        TriggerOperation::ChargeTargetAndIssueStatement,
        Some(day(2026, 1, 1)),
    );
    assert!(due(&yearly, day(2026, 12, 31)).runs.is_empty());
    let new_year = due(&yearly, day(2027, 1, 1));
    assert_eq!((new_year.runs.len(), new_year.statements.len()), (12, 12));
    // A monthly trigger over quarterly periods charges monthly and states quarterly.
    let mut quarterly = billing(
        TriggerFrequency::Monthly,
        TriggerOperation::ChargeTargetAndIssueStatement,
        Some(day(2026, 10, 1)),
    );
    quarterly.options.period_length = PeriodLength::Quarterly;
    quarterly.trigger.multiplier = Some(1);
    let november = due(&quarterly, day(2026, 12, 8));
    assert_eq!((november.runs.len(), november.statements.len()), (2, 0));
    let january = due(&quarterly, day(2027, 1, 1));
    assert_eq!((january.runs.len(), january.statements.len()), (3, 1));
}

#[tokio::test]
async fn a_trigger_is_checked_before_it_is_stored() {
    use resiflex_domain::billing::TriggerFrequency;
    let test = TestDb::new().await;
    let db = &test.db;
    let account = account(db).await;
    for (frequency, multiplier, start_month) in [
        (TriggerFrequency::Monthly, Some(13), None),
        (TriggerFrequency::Daily, Some(32), None),
        (TriggerFrequency::Annually, None, Some(13)),
    ] {
        let trigger = Trigger {
            frequency,
            multiplier,
            start_month,
            ..Trigger::default()
        };
        assert!(matches!(
            set_options(db, &account, BillingOptions::default(), trigger, now()).await,
            Err(MoneyError::Invalid(_))
        ));
    }
    let weekly = Trigger {
        frequency: TriggerFrequency::Daily,
        multiplier: Some(7),
        ..Trigger::default()
    };
    set_options(db, &account, BillingOptions::default(), weekly, now())
        .await
        .unwrap();
    let view = options_of(db, &account, now()).await.unwrap();
    assert_eq!(view.billing.trigger, weekly);
    assert_eq!(view.schedule().multiplier, 7);
    assert!(view.next_issue_date().is_some());
}
