//! `resiflex ledger verify`: proves every ledger's stored balance is the sum of its transactions.

use resiflex_store::Db;
use serde_json::{Value, json};

/// Ledgers read per query: memory stays flat however many accounts there are.
pub const VERIFY_BATCH: i64 = 2_000;

/// Checks every ledger. The report lists each ledger whose figures disagree; `Ok(report, true)`
/// when all agree.
pub async fn verify(db: &Db) -> anyhow::Result<(Value, bool)> {
    let started = std::time::Instant::now();
    let report = resiflex_money::ledger::verify(db, VERIFY_BATCH).await?;
    let discrepancies: Vec<Value> = report
        .discrepancies
        .iter()
        .map(|d| {
            json!({
                "ledger": d.number,
                "storedBalance": d.stored_balance,
                "sumOfTransactions": d.sum_of_transactions,
                "storedTransactionCount": d.stored_last_sequence,
                "transactions": d.transactions,
                "brokenRunningBalances": d.broken_running_balances,
            })
        })
        .collect();
    let ok = discrepancies.is_empty();
    Ok((
        json!({
            "ledgers": report.ledgers,
            "transactions": report.transactions,
            "discrepancies": discrepancies,
            "ok": ok,
            "seconds": started.elapsed().as_secs_f64(),
        }),
        ok,
    ))
}
