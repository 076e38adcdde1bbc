//! `resiflex billing run`: bills every account whose billing trigger has fired (charges, credits,
//! re-billed estimates and statements); `resiflex billing options`: an account's billing period
//! and trigger; and `resiflex billing flex-reward`: an organisation's SmartFlex reward per kWh
//! flexed.

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use resiflex_domain::billing::{PeriodLength, TriggerFrequency, TriggerOperation};
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
            "chargedRuns": report.charged_runs,
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

/// Changes to an account's billing options and trigger; what is not given stays as it is, except
/// that a new trigger frequency starts from its own defaults for what it is not given.
#[derive(Debug, Clone, Default)]
pub struct OptionsChange {
    pub period_length: Option<PeriodLength>,
    pub period_start_day: Option<u32>,
    pub period_multiplier: Option<u32>,
    pub trigger_frequency: Option<TriggerFrequency>,
    pub trigger_multiplier: Option<u32>,
    pub trigger_start_day: Option<u32>,
    pub trigger_start_month: Option<u32>,
    pub trigger_operation: Option<TriggerOperation>,
}

impl OptionsChange {
    fn is_empty(&self) -> bool {
        self.period_length.is_none()
            && self.period_start_day.is_none()
            && self.period_multiplier.is_none()
            && self.trigger_frequency.is_none()
            && self.trigger_multiplier.is_none()
            && self.trigger_start_day.is_none()
            && self.trigger_start_month.is_none()
            && self.trigger_operation.is_none()
    }
}

/// Shows the account's billing options and trigger, after applying `change` when it says
/// anything.
pub async fn options(
    db: &Db,
    account_number: &str,
    change: OptionsChange,
    now: DateTime<Utc>,
) -> anyhow::Result<Value> {
    let account = resiflex_store::accounts::account_by_number(db, account_number)
        .await?
        .with_context(|| format!("no account {account_number}"))?;
    if !change.is_empty() {
        let view = resiflex_money::billing::options_of(db, &account, now).await?;
        let mut options = view.billing.options;
        let mut trigger = view.billing.trigger;
        options.period_length = change.period_length.unwrap_or(options.period_length);
        options.period_start_day = change.period_start_day.unwrap_or(options.period_start_day);
        options.multiplier = change.period_multiplier.unwrap_or(options.multiplier);
        if let Some(frequency) = change.trigger_frequency
            && frequency != trigger.frequency
        {
            trigger.frequency = frequency;
            trigger.multiplier = None;
            trigger.start_day = None;
            trigger.start_month = None;
        }
        trigger.multiplier = change.trigger_multiplier.or(trigger.multiplier);
        trigger.start_day = change.trigger_start_day.or(trigger.start_day);
        trigger.start_month = change.trigger_start_month.or(trigger.start_month);
        trigger.operation = change.trigger_operation.unwrap_or(trigger.operation);
        resiflex_money::billing::set_options(db, &account, options, trigger, now).await?;
    }
    let view = resiflex_money::billing::options_of(db, &account, now).await?;
    let schedule = view.schedule();
    let options = view.billing.options;
    Ok(json!({
        "account": account.number,
        "periodLength": options.period_length.as_str(),
        "periodStartDay": options.period_start_day,
        "periodLengthMultiplier": options.multiplier,
        "currentPeriod": view.current.map(|p| json!({"from": p.from.to_string(), "to": p.to.to_string()})),
        "trigger": {
            "frequency": schedule.frequency.as_str(),
            "multiplier": schedule.multiplier,
            "startDay": schedule.start_day,
            "startMonth": schedule.start_month,
            "operation": view.billing.trigger.operation.as_str(),
            "nextRun": view.next_firing().map(|d| d.to_string()),
            "nextIssueDate": view.next_issue_date().map(|d| d.to_string()),
        },
    }))
}
