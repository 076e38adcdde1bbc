//! Money on a test account: ledger entries posted straight through the money use cases, as a
//! billing run or a payment would post them.

use chrono::NaiveDate;
use resiflex_domain::Clock as _;
use resiflex_domain::money::{
    Amounts, LedgerKind, NewTransaction, Transaction, TransactionKind, TransactionReason,
    split_gross,
};
use resiflex_money::ledger;
use resiflex_store::accounts;

use super::TestApp;

/// A new transaction of `kind` for `gross` minor units on `on`: a charge at 5% VAT for electricity,
/// a flex reward, a payment or a repayment.
pub fn entry(kind: TransactionKind, gross: i64, on: &str, key: &str) -> NewTransaction {
    let (reason, amounts) = match kind {
        TransactionKind::Charge => (
            TransactionReason::ElectricityConsumption,
            split_gross(gross, 5),
        ),
        TransactionKind::Credit => (TransactionReason::FlexReward, Amounts::untaxed(gross)),
        TransactionKind::Payment => (TransactionReason::Payment, Amounts::untaxed(gross)),
        TransactionKind::Refund => (TransactionReason::Repayment, Amounts::untaxed(gross)),
    };
    NewTransaction {
        kind,
        reason,
        posted_date: on.parse::<NaiveDate>().expect("a date"),
        amounts,
        title: format!("{kind} of {gross}"),
        note: None,
        reverses: None,
        idempotency_key: key.to_owned(),
        consumption_milli: (kind == TransactionKind::Charge).then_some(gross * 40),
        imported: false,
    }
}

/// Posts `new` to the `kind` ledger of the account `number`.
pub async fn post(
    app: &TestApp,
    number: &str,
    kind: LedgerKind,
    new: NewTransaction,
) -> Transaction {
    let db = &app.test_db.db;
    let account = accounts::account_by_number(db, number)
        .await
        .expect("account lookup")
        .expect("the account exists");
    let now = app.clock.now();
    let target = ledger::ledger_of(db, &account, kind, now)
        .await
        .expect("the ledger");
    ledger::post(db, &target, new, now).await.expect("posted")
}
