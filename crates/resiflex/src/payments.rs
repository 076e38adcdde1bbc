//! `resiflex payments collect`: one collection run with the sandbox payment provider.

use chrono::{DateTime, NaiveDate, Utc};
use resiflex_money::payments::{SandboxProvider, collect as run};
use resiflex_store::Db;
use serde_json::{Value, json};

/// Rows read per query by the collection run.
pub const COLLECT_BATCH: i64 = 500;

/// Runs collection on `date` for every account (each account's own date at `now` without it)
/// and reports what it did as JSON.
pub async fn collect(
    db: &Db,
    date: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> anyhow::Result<Value> {
    let provider = SandboxProvider::new(db.clone());
    let r = run(db, &provider, date, now, COLLECT_BATCH).await?;
    Ok(json!({
        "scheduled": r.scheduled,
        "submitted": r.submitted,
        "cleared": r.cleared,
        "fulfilled": r.fulfilled,
        "failed": r.failed,
        "lateFailed": r.late_failed,
        "rePresented": r.re_presented,
        "repaymentsSubmitted": r.repayments_submitted,
        "repaymentsPaid": r.repayments_paid,
        "repaymentsFailed": r.repayments_failed,
    }))
}
