//! The demo account's money: the last complete calendar month billed from the smart meter's
//! readings with its statement issued on the 1st, and a direct debit with the sandbox payment
//! provider that collects a fixed amount on the 1st of every month, its collection run day by day
//! up to today.
//!
//! Everything goes through the billing run and the collection run, which post nothing twice, so
//! every start runs them again safely: a second start finds the direct debit and replays the rest.

use anyhow::{Context as _, anyhow, bail};
use chrono::{DateTime, Datelike as _, Days, NaiveDate, NaiveTime, TimeZone as _, Utc};
use chrono_tz::Tz;
use resiflex_domain::money::LedgerKind;
use resiflex_domain::payments::{BankDetails, InstructionStatus};
use resiflex_money::billing::{self, RunReport};
use resiflex_money::ledger;
use resiflex_money::payments::{self, PaymentProvider as _, SandboxProvider, ScheduleChange};
use resiflex_store::Db;
use resiflex_store::accounts::Account;
use resiflex_store::payments as payment_store;

/// The day of the month the demo's direct debit collects on.
pub const PAYMENT_DAY: u32 = 1;
/// The fixed monthly amount the demo's direct debit collects, in pence.
pub const PAYMENT_AMOUNT: i64 = 6000;
const ACCOUNT_HOLDER: &str = "Ada Lovelace";
const SORT_CODE: &str = "20-00-00";
/// Ends in `9911`: at the sandbox provider, every collection succeeds.
const BANK_ACCOUNT_NUMBER: &str = "55779911";
/// The direct debit was set up this many days before the collection it first makes.
const SET_UP_DAYS_BEFORE: u64 = 5;
/// Rows read per query by the collection run.
const COLLECT_BATCH: i64 = 500;
/// The local hour of a past day the demo's direct debit was set up at.
const SET_UP_HOUR: u32 = 9;

/// The first day of `day`'s month.
fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The first day of the month before `today`'s: the demo's readings and prices start there, so
/// the last complete month (and the current one so far) can be billed.
pub fn history_start(today: NaiveDate) -> NaiveDate {
    first_of_month(today)
        .pred_opt()
        .map_or(first_of_month(today), first_of_month)
}

/// `day` at local midnight in `zone`, as an instant.
pub fn local_start(zone: Tz, day: NaiveDate) -> Option<DateTime<Utc>> {
    at_local(zone, day, 0)
}

fn at_local(zone: Tz, day: NaiveDate, hour: u32) -> Option<DateTime<Utc>> {
    let time = NaiveTime::from_hms_opt(hour, 0, 0)?;
    zone.from_local_datetime(&day.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The 1st whose collection has had time to clear by `today` (it clears a day after it is
/// submitted): this month's, or on the 1st itself last month's.
fn payment_month(today: NaiveDate) -> NaiveDate {
    first_of_month(today.pred_opt().unwrap_or(today))
}

/// What the demo's money came to on this start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoMoney {
    /// The account's balance over all its ledgers, in pence (positive in credit).
    pub balance: i64,
    /// Whether the direct debit was set up on this start.
    pub direct_debit_created: bool,
}

/// Bills the demo account's last complete month as of the 1st of this month, sets up its direct
/// debit once, and runs the collection for every day from before this month's collection up to
/// today, all by the server's clock time `now` in the property's time zone `zone`.
pub async fn prepare(
    db: &Db,
    account: &Account,
    zone: Tz,
    now: DateTime<Utc>,
) -> anyhow::Result<DemoMoney> {
    let today = now.with_timezone(&zone).date_naive();
    let billing_day = first_of_month(today);
    let provider = SandboxProvider::new(db.clone());
    let first_collection = payment_month(today);
    let set_up_day = first_collection
        .checked_sub_days(Days::new(SET_UP_DAYS_BEFORE))
        .unwrap_or(first_collection);
    let direct_debit_created = direct_debit(db, &provider, account, zone, set_up_day, now).await?;
    let mut billed = false;
    for day in set_up_day.iter_days().take_while(|day| *day <= today) {
        // Billed on the 1st before that day's collection, so the ledger reads in date order.
        if day == billing_day {
            bill(db, account.id, billing_day, now).await?;
            billed = true;
        }
        payments::collect(db, &provider, Some(day), now, COLLECT_BATCH)
            .await
            .with_context(|| format!("collecting the demo's payments of {day}"))?;
    }
    if !billed {
        bill(db, account.id, billing_day, now).await?;
    }
    let ledgers = ledger::ledgers_of(db, account, now).await?;
    Ok(DemoMoney {
        balance: ledger::balance(&ledgers, true),
        direct_debit_created,
    })
}

/// Bills every period of the account that ended before `day` (the statement is issued on it).
async fn bill(
    db: &Db,
    account_id: i64,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<RunReport> {
    let options = resiflex_store::billing::billing_of(db, account_id).await?;
    let mut report = RunReport::default();
    billing::bill_account(db, &options, day, now, &mut report)
        .await
        .context("billing the demo account")?;
    if report.posted > 0 || report.statements > 0 {
        tracing::info!(
            posted = report.posted,
            statements = report.statements,
            "demo account billed"
        );
    }
    Ok(report)
}

/// Sets up the demo's direct debit on its main ledger, as on `set_up_day`, with a fixed monthly
/// schedule, unless it has one with the provider already. Answers whether it set one up.
async fn direct_debit(
    db: &Db,
    provider: &SandboxProvider,
    account: &Account,
    zone: Tz,
    set_up_day: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let existing = payment_store::instructions_of_account(db, account.id).await?;
    if existing
        .iter()
        .any(|i| i.vendor == provider.name() && i.status == InstructionStatus::Active)
    {
        return Ok(false);
    }
    let at = at_local(zone, set_up_day, SET_UP_HOUR)
        .unwrap_or(now)
        .min(now);
    let ledger = ledger::ledger_of(db, account, LedgerKind::Main, now).await?;
    let bank = BankDetails::parse(
        ACCOUNT_HOLDER,
        Some(SORT_CODE),
        Some(BANK_ACCOUNT_NUMBER),
        None,
    )
    .map_err(|e| anyhow!("the demo's bank details: {}", e.0))?;
    let set_up = payments::set_up_direct_debit(db, provider, &ledger, &bank, true, at, at)
        .await
        .context("setting up the demo's direct debit")?;
    if set_up.instruction.status != InstructionStatus::Active || set_up.schedule.is_none() {
        bail!("the sandbox refused the demo's direct debit");
    }
    let change = ScheduleChange {
        payment_day: Some(PAYMENT_DAY),
        direction: None,
        payment_amount: Some(PAYMENT_AMOUNT),
    };
    payments::change_schedule(db, &ledger, change, set_up_day, now)
        .await
        .context("the demo's payment schedule")?;
    tracing::info!(account = %account.number, "demo direct debit set up");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn the_history_starts_on_the_first_of_the_month_before() {
        assert_eq!(history_start(day(2026, 12, 8)), day(2026, 11, 1));
        assert_eq!(history_start(day(2026, 12, 1)), day(2026, 11, 1));
        assert_eq!(history_start(day(2027, 1, 31)), day(2026, 12, 1));
    }

    #[test]
    fn the_collection_shown_has_had_a_day_to_clear() {
        assert_eq!(payment_month(day(2026, 12, 8)), day(2026, 12, 1));
        assert_eq!(payment_month(day(2026, 12, 2)), day(2026, 12, 1));
        assert_eq!(payment_month(day(2026, 12, 1)), day(2026, 11, 1));
    }

    #[test]
    fn local_midnight_follows_summer_time() {
        let london = chrono_tz::Europe::London;
        assert_eq!(
            local_start(london, day(2026, 7, 1)).map(|t| t.to_rfc3339()),
            Some("2026-06-30T23:00:00+00:00".to_owned())
        );
    }
}
