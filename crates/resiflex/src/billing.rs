//! `resiflex billing run`: bills every account whose billing period has ended (charges, credits,
//! re-billed estimates and statements), and `resiflex billing flex-reward`: an organisation's
//! SmartFlex reward per kWh flexed.

use chrono::{DateTime, NaiveDate, Utc};
use resiflex_store::Db;
use serde_json::{Value, json};

/// Accounts read per page: memory stays flat however many accounts there are.
pub const BILLING_BATCH: i64 = 500;

/// Runs the billing of `today`. The report is JSON; `ok` is false when any account failed.
pub async fn run(db: &Db, today: NaiveDate, now: DateTime<Utc>) -> anyhow::Result<(Value, bool)> {
    let started = std::time::Instant::now();
    let report = resiflex_money::billing::run(db, today, now, BILLING_BATCH).await?;
    let failures: Vec<Value> = report
        .failures
        .iter()
        .map(|(account, error)| json!({"account": account, "error": error}))
        .collect();
    let ok = failures.is_empty();
    Ok((
        json!({
            "date": today.to_string(),
            "accounts": report.accounts,
            "periods": report.periods,
            "posted": report.posted,
            "replayed": report.replayed,
            "rebilled": report.rebilled,
            "statements": report.statements,
            "failures": failures,
            "ok": ok,
            "seconds": started.elapsed().as_secs_f64(),
        }),
        ok,
    ))
}

/// Sets an organisation's SmartFlex reward, millionths of a minor unit per kWh flexed.
pub async fn set_flex_reward(
    db: &Db,
    organisation_id: i64,
    micros_per_kwh: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<Value> {
    resiflex_money::billing::set_flex_reward(db, organisation_id, micros_per_kwh, now).await?;
    Ok(json!({"organisation": organisation_id, "flexRewardMicrosPerKwh": micros_per_kwh}))
}
