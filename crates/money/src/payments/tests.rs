//! Tests of the payment use cases with the sandbox provider, on either backend.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use resiflex_domain::money::{Ledger, LedgerKind, TransactionKind};
use resiflex_domain::payments::{
    BankDetails, DASHBOARD_REFUND_CAP, InstructionStatus, MaximumRefundReason, PaymentMethod,
    PaymentStatus, RefundRefusal, RepaymentStatus,
};
use resiflex_store::accounts;
use resiflex_store::ledgers;
use resiflex_store::payments as store;
use resiflex_store::testing::{TestDb, household, raw_texts, try_raw_execute};

use super::*;
use crate::ledger::{ledger_of, post};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap()
}

fn day(m: u32, d: u32) -> NaiveDate {
    let y = if m >= 11 { 2026 } else { 2027 };
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

struct World {
    test: TestDb,
    ledger: Ledger,
    provider: SandboxProvider,
}

async fn world(email: &str) -> World {
    let test = TestDb::new().await;
    let h = household(&test.db, email, now()).await;
    let account = accounts::account_by_id(&test.db, h.account_id)
        .await
        .unwrap()
        .unwrap();
    let ledger = ledger_of(&test.db, &account, LedgerKind::Main, now())
        .await
        .unwrap();
    let provider = SandboxProvider::new(test.db.clone());
    World {
        test,
        ledger,
        provider,
    }
}

async fn ledger_now(w: &World) -> Ledger {
    ledgers::ledger(&w.test.db, w.ledger.id)
        .await
        .unwrap()
        .unwrap()
}

fn bank(last_four: &str) -> BankDetails {
    BankDetails::parse(
        "Ada Lovelace",
        Some("20-00-00"),
        Some(&format!("5577{last_four}")),
        None,
    )
    .unwrap()
}

/// A direct debit on the sandbox with a fixed monthly schedule on day `payment_day`.
async fn direct_debit(
    w: &World,
    last_four: &str,
    payment_day: u32,
    amount: Option<i64>,
) -> DirectDebitSetUp {
    let set_up = set_up_direct_debit(
        &w.test.db,
        &w.provider,
        &w.ledger,
        &bank(last_four),
        true,
        now(),
        now(),
    )
    .await
    .unwrap();
    if let (Some(amount), Some(_)) = (amount, &set_up.schedule) {
        change_schedule(
            &w.test.db,
            &w.ledger,
            ScheduleChange {
                payment_day: Some(payment_day),
                direction: None,
                payment_amount: Some(amount),
            },
            day(11, 20),
            now(),
        )
        .await
        .unwrap();
    }
    set_up
}

async fn run(w: &World, on: NaiveDate) -> CollectionReport {
    collect(&w.test.db, &w.provider, Some(on), now(), 2)
        .await
        .unwrap()
}

async fn payments(w: &World) -> Vec<store::Payment> {
    let mut all = store::payments_of_account(&w.test.db, w.ledger.account_id)
        .await
        .unwrap();
    all.sort_by_key(|p| p.id);
    all
}

#[tokio::test]
async fn a_direct_debit_is_stored_masked_and_the_mandate_decides_its_status() {
    let w = world("dd@example.com").await;
    let ok = direct_debit(&w, "9911", 28, None).await;
    assert_eq!(ok.instruction.status, InstructionStatus::Active);
    assert_eq!(ok.instruction.bank.masked_account_identifier, "****9911");
    let schedule = ok.schedule.expect("a schedule for automated payments");
    assert!(schedule.is_variable);
    let refused = set_up_direct_debit(
        &w.test.db,
        &w.provider,
        &w.ledger,
        &bank("0000"),
        true,
        now(),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(refused.instruction.status, InstructionStatus::Failed);
    assert!(refused.schedule.is_none());
    // The full account number is nowhere in the database.
    let texts = raw_texts(
        &w.test.db,
        "SELECT account_holder || '|' || COALESCE(sort_code, '') || '|' || masked_account_identifier || '|' || COALESCE(provider_reference, '') FROM payment_instructions",
        &[],
    )
    .await;
    assert_eq!(texts.len(), 2);
    assert!(
        texts
            .iter()
            .all(|t| !t.contains("55779911") && !t.contains("55770000")),
        "{texts:?}"
    );
}

#[tokio::test]
async fn a_fixed_collection_goes_from_scheduled_to_fulfilled_and_posts_once() {
    let w = world("fixed@example.com").await;
    direct_debit(&w, "9911", 28, Some(4_500)).await;
    // Three days' notice: booked on the 25th, not before.
    assert_eq!(run(&w, day(11, 24)).await.scheduled, 0);
    let report = run(&w, day(11, 25)).await;
    assert_eq!(report.scheduled, 1);
    assert_eq!(
        run(&w, day(11, 25)).await.scheduled,
        0,
        "idempotent per schedule and date"
    );
    let p = &payments(&w).await[0];
    assert_eq!(
        (p.status, p.method, p.payment_date),
        (
            PaymentStatus::Scheduled,
            PaymentMethod::DdFirstCollection,
            day(11, 28)
        )
    );
    run(&w, day(11, 28)).await;
    assert_eq!(payments(&w).await[0].status, PaymentStatus::Pending);
    assert_eq!(
        ledger_now(&w).await.balance,
        0,
        "nothing posted before clearing"
    );
    run(&w, day(11, 29)).await;
    let p = payments(&w).await.remove(0);
    assert_eq!(p.status, PaymentStatus::Cleared);
    assert_eq!(ledger_now(&w).await.balance, 4_500);
    run(&w, day(12, 1)).await;
    run(&w, day(12, 2)).await;
    let p = payments(&w).await.remove(0);
    assert_eq!(p.status, PaymentStatus::Fulfilled);
    assert_eq!(ledger_now(&w).await.balance, 4_500, "posted once");
    let history: Vec<PaymentStatus> = store::payment_history(&w.test.db, p.id)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.0)
        .collect();
    use PaymentStatus::*;
    assert_eq!(history, [Requested, Scheduled, Pending, Cleared, Fulfilled]);
    // History rows are append-only.
    assert!(
        try_raw_execute(&w.test.db, "DELETE FROM payment_status_history", &[])
            .await
            .is_err()
    );
    assert!(
        try_raw_execute(
            &w.test.db,
            "UPDATE payment_status_history SET status = 'FAILED'",
            &[]
        )
        .await
        .is_err()
    );
    // The next month's collection is a regular one.
    run(&w, day(12, 28)).await;
    assert_eq!(
        payments(&w).await[1].method,
        PaymentMethod::DdRegularCollection
    );
}

#[tokio::test]
async fn a_late_failure_reverses_the_payment() {
    let w = world("late@example.com").await;
    direct_debit(&w, "2222", 28, Some(3_000)).await;
    run(&w, day(11, 28)).await;
    run(&w, day(11, 29)).await;
    assert_eq!(ledger_now(&w).await.balance, 3_000);
    run(&w, day(12, 1)).await;
    let p = payments(&w).await.remove(0);
    assert_eq!(p.status, PaymentStatus::Failed);
    assert!(p.late_failed);
    assert_eq!(ledger_now(&w).await.balance, 0);
    let reversal = ledgers::transaction(&w.test.db, p.reversal_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (reversal.kind, reversal.reverses),
        (TransactionKind::Refund, p.transaction_id)
    );
    assert_eq!(
        payments(&w).await.len(),
        1,
        "a late failure is not presented again"
    );
}

#[tokio::test]
async fn failed_collections_are_presented_again_twice_then_left() {
    let w = world("fail@example.com").await;
    direct_debit(&w, "1111", 28, Some(2_000)).await;
    for d in [
        (11, 28),
        (11, 29),
        (12, 2),
        (12, 3),
        (12, 6),
        (12, 7),
        (12, 10),
        (12, 11),
    ] {
        run(&w, day(d.0, d.1)).await;
    }
    let all = payments(&w).await;
    let summary: Vec<_> = all
        .iter()
        .filter(|p| p.due_date == Some(day(11, 28)))
        .map(|p| (p.attempt, p.method, p.status, p.payment_date))
        .collect();
    use PaymentMethod::*;
    use PaymentStatus::*;
    assert_eq!(
        summary,
        [
            (0, DdFirstCollection, Failed, day(11, 28)),
            (1, DdRePresentation, Failed, day(12, 2)),
            (2, DdRePresentation, Failed, day(12, 6)),
        ]
    );
    assert_eq!(ledger_now(&w).await.balance, 0);

    let w = world("first@example.com").await;
    direct_debit(&w, "3333", 28, Some(2_000)).await;
    for d in [(11, 28), (11, 29), (12, 2), (12, 3), (12, 5)] {
        run(&w, day(d.0, d.1)).await;
    }
    let statuses: Vec<_> = payments(&w).await.iter().map(|p| p.status).collect();
    assert_eq!(
        statuses,
        [Failed, Fulfilled],
        "the re-presentation succeeds"
    );
    assert_eq!(ledger_now(&w).await.balance, 2_000);
}

#[tokio::test]
async fn payment_days_follow_month_ends() {
    let w = world("end@example.com").await;
    direct_debit(&w, "9911", 1, Some(1_000)).await;
    change_schedule(
        &w.test.db,
        &w.ledger,
        ScheduleChange {
            payment_day: Some(1),
            direction: Some(resiflex_domain::payments::PaymentDayDirection::BeforeEndOfMonth),
            payment_amount: None,
        },
        day(11, 20),
        now(),
    )
    .await
    .unwrap();
    for d in [(11, 27), (12, 28), (1, 28), (2, 25)] {
        run(&w, day(d.0, d.1)).await;
    }
    let dates: Vec<_> = payments(&w).await.iter().map(|p| p.payment_date).collect();
    assert_eq!(dates, [day(11, 30), day(12, 31), day(1, 31), day(2, 28)]);
    let err = change_schedule(
        &w.test.db,
        &w.ledger,
        ScheduleChange {
            payment_day: Some(29),
            ..Default::default()
        },
        day(11, 20),
        now(),
    )
    .await;
    assert!(matches!(err, Err(PaymentError::InvalidPaymentDay(_))));
    let err = change_schedule(
        &w.test.db,
        &w.ledger,
        ScheduleChange::default(),
        day(11, 20),
        now(),
    )
    .await;
    assert!(matches!(err, Err(PaymentError::NothingToChange)));
}

#[tokio::test]
async fn a_variable_schedule_collects_what_is_owed() {
    let w = world("variable@example.com").await;
    direct_debit(&w, "9911", 28, None).await;
    // Nothing owed: nothing booked.
    assert_eq!(run(&w, day(11, 25)).await.scheduled, 0);
    let charge = resiflex_domain::money::NewTransaction {
        kind: TransactionKind::Charge,
        reason: resiflex_domain::money::TransactionReason::ElectricityConsumption,
        posted_date: day(11, 21),
        amounts: resiflex_domain::money::split_gross(6_300, 5),
        title: "Electricity".into(),
        note: None,
        reverses: None,
        idempotency_key: "charge-1".into(),
        consumption_milli: None,
        imported: false,
    };
    post(&w.test.db, &w.ledger, charge, now()).await.unwrap();
    let schedule_day = set_up_direct_debit(
        &w.test.db,
        &w.provider,
        &w.ledger,
        &bank("9911"),
        true,
        now(),
        now(),
    )
    .await
    .unwrap()
    .schedule
    .unwrap()
    .day
    .day;
    assert_eq!(schedule_day, 20, "the day of validFrom");
    assert_eq!(run(&w, day(12, 18)).await.scheduled, 1);
    assert_eq!(payments(&w).await[0].amount, 6_300);
}

#[tokio::test]
async fn every_payment_status_is_reachable() {
    let w = world("all@example.com").await;
    direct_debit(&w, "9911", 28, Some(1_000)).await;
    run(&w, day(11, 25)).await;
    let scheduled = payments(&w).await.remove(0);
    let deleted = cancel_scheduled(&w.test.db, &scheduled, day(11, 25), now())
        .await
        .unwrap();
    assert_eq!(deleted.status, PaymentStatus::Deleted);
    assert!(
        cancel_scheduled(&w.test.db, &deleted, day(11, 25), now())
            .await
            .is_err()
    );
    let mut seen = vec![
        PaymentStatus::Requested,
        PaymentStatus::Scheduled,
        PaymentStatus::Deleted,
    ];
    for status in [
        PaymentStatus::Historic,
        PaymentStatus::ThirdParty,
        PaymentStatus::Promised,
    ] {
        let p = record_payment(
            &w.test.db,
            w.ledger.account_id,
            w.ledger.id,
            700,
            PaymentMethod::Cash,
            status,
            day(11, 20),
            now(),
        )
        .await
        .unwrap();
        seen.push(p.status);
        if status == PaymentStatus::Promised {
            let broken = move_payment(
                &w.test.db,
                &p,
                PaymentStatus::PromiseBroken,
                day(11, 21),
                now(),
            )
            .await
            .unwrap();
            seen.push(broken.status);
        }
    }
    assert!(
        record_payment(
            &w.test.db,
            w.ledger.account_id,
            w.ledger.id,
            700,
            PaymentMethod::Cash,
            PaymentStatus::Cleared,
            day(11, 20),
            now()
        )
        .await
        .is_err()
    );
    // Pending, cleared, fulfilled and failed come from the collection tests above; here once more.
    let w2 = world("all2@example.com").await;
    direct_debit(&w2, "2222", 28, Some(1_000)).await;
    for d in [(11, 28), (11, 29), (12, 1)] {
        run(&w2, day(d.0, d.1)).await;
    }
    let p = payments(&w2).await.remove(0);
    for (status, _) in store::payment_history(&w2.test.db, p.id).await.unwrap() {
        seen.push(status);
    }
    let w3 = world("all3@example.com").await;
    direct_debit(&w3, "9911", 28, Some(1_000)).await;
    for d in [(11, 28), (11, 29), (12, 1)] {
        run(&w3, day(d.0, d.1)).await;
    }
    seen.push(payments(&w3).await.remove(0).status);
    for status in PaymentStatus::ALL {
        assert!(seen.contains(status), "{status} was not reached");
    }
}

#[tokio::test]
async fn refunds_are_checked_idempotent_and_paid_out_as_a_refund() {
    let w = world("refund@example.com").await;
    direct_debit(&w, "9911", 28, Some(5_000)).await;
    run(&w, day(11, 28)).await;
    let pending = payments(&w).await.remove(0);
    let refused = refund_payment(&w.test.db, &pending, 5_000, "x", "k0", day(11, 28), now()).await;
    assert!(matches!(
        refused,
        Err(PaymentError::Refund(RefundRefusal::NotRefundable))
    ));
    run(&w, day(11, 29)).await;
    let cleared = payments(&w).await.remove(0);
    let partial = refund_payment(&w.test.db, &cleared, 1_000, "x", "k1", day(11, 29), now()).await;
    assert!(matches!(
        partial,
        Err(PaymentError::Refund(RefundRefusal::PartialNotAllowed))
    ));
    let more = refund_payment(&w.test.db, &cleared, 6_000, "x", "k1", day(11, 29), now()).await;
    assert!(matches!(
        more,
        Err(PaymentError::Refund(RefundRefusal::LargerThanPayment))
    ));
    let first = refund_payment(
        &w.test.db,
        &cleared,
        5_000,
        "Moved out",
        "k2",
        day(11, 29),
        now(),
    )
    .await
    .unwrap();
    let again = refund_payment(
        &w.test.db,
        &cleared,
        5_000,
        "Moved out",
        "k2",
        day(11, 29),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(first, again, "same key, same request: the first result");
    let other = refund_payment(
        &w.test.db,
        &cleared,
        4_000,
        "Moved out",
        "k2",
        day(11, 29),
        now(),
    )
    .await;
    assert!(matches!(other, Err(PaymentError::IdempotencyKeyReused)));
    let twice = refund_payment(
        &w.test.db,
        &cleared,
        5_000,
        "again",
        "k3",
        day(11, 29),
        now(),
    )
    .await;
    assert!(matches!(
        twice,
        Err(PaymentError::Refund(RefundRefusal::NotEligible))
    ));
    assert_eq!(first.status, RepaymentStatus::Approved);
    run(&w, day(11, 30)).await;
    run(&w, day(12, 1)).await;
    let paid = store::repayment(&w.test.db, first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(paid.status, RepaymentStatus::Paid);
    let refund = ledgers::transaction(&w.test.db, paid.transaction_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refund.kind, TransactionKind::Refund);
    assert_eq!(ledger_now(&w).await.balance, 0);
}

#[tokio::test]
async fn repayment_requests_keep_to_the_limits_and_approval_pays_them() {
    let w = world("repay@example.com").await;
    direct_debit(&w, "5555", 28, Some(2_000)).await;
    let credit = resiflex_domain::money::NewTransaction {
        kind: TransactionKind::Credit,
        reason: resiflex_domain::money::TransactionReason::Goodwill,
        posted_date: day(11, 20),
        amounts: resiflex_domain::money::Amounts::untaxed(10_000),
        title: "Goodwill".into(),
        note: None,
        reverses: None,
        idempotency_key: "credit-1".into(),
        consumption_milli: None,
        imported: false,
    };
    post(&w.test.db, &w.ledger, credit, now()).await.unwrap();
    let ledger = ledger_now(&w).await;
    let max = maximum_refund(&w.test.db, &ledger, day(11, 20))
        .await
        .unwrap();
    assert_eq!(
        (max.amount, max.recommended_balance, max.reason),
        (8_000, 2_000, MaximumRefundReason::MaxAvailableAmount)
    );
    let input = |amount, key| RepaymentRequestInput {
        amount,
        idempotency_key: key,
        instruction_reference: None,
        method: None,
        reason: Some("Too much credit"),
    };
    for amount in [0, -1, 8_001] {
        let err = submit_repayment_request(
            &w.test.db,
            &ledger,
            &input(amount, "bad"),
            day(11, 20),
            now(),
        )
        .await;
        assert!(
            matches!(err, Err(PaymentError::InvalidAmount(_))),
            "{amount}"
        );
    }
    let request =
        submit_repayment_request(&w.test.db, &ledger, &input(5_000, "r1"), day(11, 20), now())
            .await
            .unwrap();
    let replay =
        submit_repayment_request(&w.test.db, &ledger, &input(5_000, "r1"), day(11, 20), now())
            .await
            .unwrap();
    assert_eq!(request, replay);
    let reused =
        submit_repayment_request(&w.test.db, &ledger, &input(4_000, "r1"), day(11, 20), now())
            .await;
    assert!(matches!(reused, Err(PaymentError::IdempotencyKeyReused)));
    assert_eq!(
        maximum_refund(&w.test.db, &ledger, day(11, 20))
            .await
            .unwrap()
            .amount,
        3_000,
        "the request is held back"
    );
    // A second request, cancelled: it frees its amount again.
    let second =
        submit_repayment_request(&w.test.db, &ledger, &input(1_000, "r2"), day(11, 20), now())
            .await
            .unwrap();
    cancel_repayment_request(&w.test.db, ledger.account_id, &second.request_id, now())
        .await
        .unwrap();
    assert!(
        cancel_repayment_request(&w.test.db, ledger.account_id, &second.request_id, now())
            .await
            .is_err()
    );
    assert_eq!(
        maximum_refund(&w.test.db, &ledger, day(11, 20))
            .await
            .unwrap()
            .amount,
        3_000
    );
    let repayment = store::repayment_of_request(&w.test.db, request.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(repayment.status, RepaymentStatus::Requested);
    let approved = approve_repayment(
        &w.test.db,
        ledger.account_id,
        repayment.id,
        day(11, 20),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(approved.status, RepaymentStatus::Approved);
    assert!(matches!(
        approve_repayment(
            &w.test.db,
            ledger.account_id,
            repayment.id,
            day(11, 20),
            now()
        )
        .await,
        Err(PaymentError::AlreadyApproved)
    ));
    let second_repayment = store::repayment_of_request(&w.test.db, second.id)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        approve_repayment(
            &w.test.db,
            ledger.account_id,
            second_repayment.id,
            day(11, 20),
            now()
        )
        .await,
        Err(PaymentError::WrongState(_))
    ));
    // The payout goes to no instruction (no reference given), so it is paid and stays paid.
    run(&w, day(11, 20)).await;
    run(&w, day(11, 21)).await;
    assert_eq!(
        store::repayment(&w.test.db, repayment.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        RepaymentStatus::Paid
    );
    assert_eq!(ledger_now(&w).await.balance, 5_000);
    // A payout to the 5555 instruction bounces after it was paid: the Refund is reversed.
    let instruction = store::instructions_of_account(&w.test.db, ledger.account_id)
        .await
        .unwrap()
        .remove(0);
    let reference = instruction.id.to_string();
    let to_bank = RepaymentRequestInput {
        instruction_reference: Some(&reference),
        ..input(1_000, "r3")
    };
    let ledger = ledger_now(&w).await;
    let request = submit_repayment_request(&w.test.db, &ledger, &to_bank, day(11, 21), now())
        .await
        .unwrap();
    let repayment = store::repayment_of_request(&w.test.db, request.id)
        .await
        .unwrap()
        .unwrap();
    approve_repayment(
        &w.test.db,
        ledger.account_id,
        repayment.id,
        day(11, 21),
        now(),
    )
    .await
    .unwrap();
    for d in [21, 22, 24] {
        run(&w, day(11, d)).await;
    }
    let bounced = store::repayment(&w.test.db, repayment.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bounced.status, RepaymentStatus::Failed);
    assert!(bounced.reversal_id.is_some());
    assert_eq!(ledger_now(&w).await.balance, 5_000);
    // The dashboard cap.
    assert_eq!(
        resiflex_domain::payments::maximum_refund(10_000_000, 0, 0).amount,
        DASHBOARD_REFUND_CAP
    );
}

#[tokio::test]
async fn requests_at_the_same_moment_never_ask_for_more_than_the_credit() {
    let w = world("race@example.com").await;
    let credit = resiflex_domain::money::NewTransaction {
        kind: TransactionKind::Credit,
        reason: resiflex_domain::money::TransactionReason::Goodwill,
        posted_date: day(11, 20),
        amounts: resiflex_domain::money::Amounts::untaxed(10_000),
        title: "Goodwill".into(),
        note: None,
        reverses: None,
        idempotency_key: "credit-race".into(),
        consumption_milli: None,
        imported: false,
    };
    post(&w.test.db, &w.ledger, credit, now()).await.unwrap();
    let ledger = ledger_now(&w).await;
    // Each asks for 6,000 of the 10,000 credit: together they would ask for too much.
    let mut tasks = Vec::new();
    for i in 0..6 {
        let db = w.test.db.clone();
        let ledger = ledger.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("race-{i}");
            let input = RepaymentRequestInput {
                amount: 6_000,
                idempotency_key: &key,
                instruction_reference: None,
                method: None,
                reason: None,
            };
            submit_repayment_request(&db, &ledger, &input, day(11, 20), now())
                .await
                .is_ok()
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        accepted += usize::from(task.await.unwrap());
    }
    assert_eq!(accepted, 1);
    assert_eq!(
        maximum_refund(&w.test.db, &ledger, day(11, 20))
            .await
            .unwrap()
            .amount,
        4_000
    );
}
