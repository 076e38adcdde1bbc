//! Billing: each account's billing options and trigger, the billing run that charges every ended
//! period and issues its statements, and the statements as the API lists them.
//!
//! A billing run ([`run`]) goes through the accounts a batch at a time. For an account whose
//! billing period has ended it first re-bills any earlier charge that rested on estimated readings
//! whose readings have changed since (a reversal and a new charge), then posts the period's
//! charges and credits to the main ledger, each under an idempotency key derived from its
//! agreement, part, period and revision, so a second run posts nothing twice; then it issues a
//! statement for each ledger. Every posting goes through [`crate::ledger`].

pub mod charges;
pub mod statements;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;

use resiflex_domain::billing::{
    BillingOptions, BillingPeriod, TriggerSchedule, charge_runs, payment_due, periods_ended_by,
};
use resiflex_domain::money::{Ledger, currency_of_country};
use resiflex_domain::money::{LedgerKind, NewTransaction};
use resiflex_domain::reading::ReadingDirection;
use resiflex_energy::readings::measurements::PreloadedDays;
use resiflex_energy::readings::pricing::PriceCache;
use resiflex_store::Db;
use resiflex_store::accounts::{self, Account};
use resiflex_store::billing::{
    self as store, AccountBilling, NewBilledPart, StatementToIssue, Trigger,
};
use resiflex_store::ledgers::{self, Posted};

use crate::MoneyError;
use crate::ledger;
use charges::{PeriodCharge, PlacedSupply, period_charges, zone_of};

pub use store::AccountBilling as Billing;

/// The most statements one run issues for one account (an account far behind catches up over
/// runs).
pub const MAX_PERIODS_PER_RUN: usize = 24;

/// The most runs of days one billing run charges for one account: a year and a month of daily
/// charges.
pub const MAX_CHARGE_RUNS_PER_RUN: usize = 400;

/// What a billing run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunReport {
    /// Accounts looked at.
    pub accounts: u64,
    /// Billing periods closed with their statements.
    pub periods: u64,
    /// Runs of days charged (a period, or a day of daily charging).
    pub charged_runs: u64,
    /// Transactions posted now.
    pub posted: u64,
    /// Postings that had been made before (a rerun).
    pub replayed: u64,
    /// Estimated charges re-billed because their readings changed.
    pub rebilled: u64,
    /// Statements issued.
    pub statements: u64,
    /// Accounts that could not be billed, with why.
    pub failures: Vec<(String, String)>,
}

/// An account's billing options with its current period worked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillingView {
    pub billing: AccountBilling,
    pub current: Option<BillingPeriod>,
    /// The account's local day the view was taken on.
    pub today: NaiveDate,
}

impl BillingView {
    /// When the account's trigger fires.
    pub fn schedule(&self) -> TriggerSchedule {
        self.billing.trigger.schedule(self.billing.options)
    }

    /// The trigger's next run after today.
    pub fn next_firing(&self) -> Option<NaiveDate> {
        self.schedule().next_firing(self.today.succ_opt()?)
    }

    /// The day the current period's statement is to be issued: the trigger's first run after
    /// the period ends; `None` when the trigger issues no statements.
    pub fn next_issue_date(&self) -> Option<NaiveDate> {
        if !self.billing.trigger.operation.issues_statement() {
            return None;
        }
        self.schedule().next_firing(self.current?.next_start())
    }
}

/// The time zone an account's periods are cut in: its first property's (UTC without one).
pub async fn zone_of_account(db: &Db, account: &Account) -> Result<Tz, MoneyError> {
    Ok(accounts::properties_of_account(db, account.id)
        .await?
        .first()
        .map_or(Tz::UTC, |p| zone_of(&p.time_zone)))
}

/// The account's billing options and trigger, with the period holding `now` in its time zone.
pub async fn options_of(
    db: &Db,
    account: &Account,
    now: DateTime<Utc>,
) -> Result<BillingView, MoneyError> {
    let billing = store::billing_of(db, account.id).await?;
    let zone = zone_of_account(db, account).await?;
    let today = now.with_timezone(&zone).date_naive();
    Ok(BillingView {
        billing,
        current: billing.options.period_containing(today),
        today,
    })
}

/// Sets the account's billing options and trigger.
pub async fn set_options(
    db: &Db,
    account: &Account,
    options: BillingOptions,
    trigger: Trigger,
    now: DateTime<Utc>,
) -> Result<(), MoneyError> {
    let options = options.check().map_err(|e| MoneyError::Invalid(e.0))?;
    trigger
        .schedule(options)
        .check()
        .map_err(|e| MoneyError::Invalid(e.0))?;
    store::set_billing(db, account.id, &options, &trigger, now).await?;
    Ok(())
}

/// Sets the organisation's SmartFlex reward, millionths of a minor unit per kWh flexed.
pub async fn set_flex_reward(
    db: &Db,
    organisation_id: i64,
    micros_per_kwh: i64,
    now: DateTime<Utc>,
) -> Result<(), MoneyError> {
    if !(0..=100_000_000).contains(&micros_per_kwh) {
        return Err(MoneyError::Invalid(
            "the reward is 0 to 100,000,000 millionths of a minor unit per kWh".into(),
        ));
    }
    store::set_flex_reward_rate(db, organisation_id, micros_per_kwh, now).await?;
    Ok(())
}

/// Bills every account whose billing period ended before `today`, `batch` accounts at a time.
/// A failing account is reported and the run goes on.
///
/// A page of accounts is read with a few queries (accounts, properties, supplies, ledgers), each
/// tariff's prices once for the whole run, and the usual case (one period due, nothing to
/// re-bill) is written in one transaction per page: every charge, what was billed, every
/// statement and every account's billed-through date. An account that needs more (a catch-up
/// over several periods, a re-billed estimate, a trigger that only charges or only issues) is
/// billed on its own with [`bill_account`], by the same rules.
pub async fn run(
    db: &Db,
    today: NaiveDate,
    now: DateTime<Utc>,
    batch: i64,
) -> Result<RunReport, MoneyError> {
    let mut report = RunReport::default();
    let mut prices = PriceCache::default();
    let mut after = 0i64;
    loop {
        let page = store::billing_page(db, after, batch.max(1)).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.account_id;
        report.accounts += page.len() as u64;
        bill_page(db, &page, today, now, &mut prices, &mut report).await?;
    }
    Ok(report)
}

/// One account's period ready to be written with its page.
struct Planned {
    account: Account,
    period: BillingPeriod,
    charges: Vec<PeriodCharge>,
    main: Ledger,
    ledgers: Vec<Ledger>,
}

async fn bill_page(
    db: &Db,
    page: &[AccountBilling],
    today: NaiveDate,
    now: DateTime<Utc>,
    prices: &mut PriceCache,
    report: &mut RunReport,
) -> Result<(), MoneyError> {
    let ids: Vec<i64> = page.iter().map(|b| b.account_id).collect();
    let accounts: HashMap<i64, Account> = accounts::accounts_by_ids(db, &ids)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let estimated = store::accounts_with_open_estimates(db, &ids).await?;
    let mut organisations: Vec<i64> = accounts.values().map(|a| a.organisation_id).collect();
    organisations.sort_unstable();
    organisations.dedup();
    let flex_rates = store::flex_reward_rates(db, &organisations).await?;
    let properties = accounts::properties_of_accounts(db, &ids).await?;
    let property_ids: Vec<i64> = properties.iter().map(|p| p.id).collect();
    let mut supplies = resiflex_energy::supply::supplies_of_properties(db, &property_ids)
        .await
        .map_err(|e| MoneyError::State(e.to_string()))?;
    let mut placed: HashMap<i64, Vec<PlacedSupply>> = HashMap::new();
    for property in &properties {
        let zone = zone_of(&property.time_zone);
        let entry = placed.entry(property.account_id).or_default();
        for supply in supplies.remove(&property.id).unwrap_or_default() {
            entry.push((property.id, zone, supply));
        }
    }
    let mut zones: HashMap<i64, Tz> = HashMap::new();
    for property in &properties {
        zones
            .entry(property.account_id)
            .or_insert_with(|| zone_of(&property.time_zone));
    }
    let mut ledgers = ledgers::ledgers_of_accounts(db, &ids).await?;
    let unopened: Vec<(i64, &str, &str)> = accounts
        .values()
        .filter(|a| {
            ledgers
                .get(&a.id)
                .is_none_or(|l| l.len() < LedgerKind::ALL.len())
        })
        .map(|a| {
            (
                a.id,
                a.number.as_str(),
                currency_of_country(&a.billing_country),
            )
        })
        .collect();
    if !unopened.is_empty() {
        ledgers::ensure_ledgers_of_accounts(db, &unopened, now).await?;
        ledgers = ledgers::ledgers_of_accounts(db, &ids).await?;
    }

    let dues: Vec<Due> = page.iter().map(|billing| due(billing, today)).collect();
    let days = preload_days(db, &dues, &placed).await?;
    let mut planned = Vec::new();
    for (billing, due) in page.iter().zip(dues) {
        let Some(account) = accounts.get(&billing.account_id) else {
            continue;
        };
        // The usual case: one whole period to charge and to state.
        let simple =
            due.runs.len() == 1 && due.runs == due.statements && !estimated.contains(&account.id);
        if !simple {
            if due.is_empty() && !estimated.contains(&account.id) {
                continue;
            }
            if let Err(err) = bill_account_with(db, billing, today, now, prices, report).await {
                report
                    .failures
                    .push((account.number.clone(), err.to_string()));
            }
            continue;
        }
        let account_ledgers = match ledgers.remove(&account.id) {
            Some(found) if found.len() == LedgerKind::ALL.len() => found,
            _ => ledger::ledgers_of(db, account, now).await?,
        };
        let Some(main) = account_ledgers
            .iter()
            .find(|l| l.kind == LedgerKind::Main)
            .cloned()
        else {
            continue;
        };
        let zone = zones.get(&account.id).copied().unwrap_or(Tz::UTC);
        let flex = flex_rates
            .get(&account.organisation_id)
            .copied()
            .unwrap_or(0);
        let account_supplies = placed.remove(&account.id).unwrap_or_default();
        for period in due.runs {
            match period_charges(
                db,
                account,
                period,
                (zone, flex),
                &account_supplies,
                prices,
                Some(&days),
            )
            .await
            {
                Ok(charges) => planned.push(Planned {
                    account: account.clone(),
                    period,
                    charges,
                    main: main.clone(),
                    ledgers: account_ledgers.clone(),
                }),
                Err(err) => report
                    .failures
                    .push((account.number.clone(), err.to_string())),
            }
        }
    }
    write_page(db, planned, today, now, report).await
}

/// The interval readings of every meter of the page's accounts, in both directions, over the
/// days the runs due (`dues`) can touch (a day either side, for any time zone): one query per
/// direction instead of one per meter.
async fn preload_days(
    db: &Db,
    dues: &[Due],
    placed: &HashMap<i64, Vec<PlacedSupply>>,
) -> Result<PreloadedDays, MoneyError> {
    let runs = dues.iter().flat_map(|due| &due.runs);
    let (Some(first), Some(last)) = (runs.clone().map(|p| p.from).min(), runs.map(|p| p.to).max())
    else {
        return Ok(PreloadedDays::new());
    };
    let epoch = NaiveDate::default();
    let first_day = first.signed_duration_since(epoch).num_days() - 1;
    let last_day = last.signed_duration_since(epoch).num_days() + 1;
    let meters: Vec<i64> = placed
        .values()
        .flatten()
        .flat_map(|(_, _, supply)| supply.meters.iter().map(|m| m.id))
        .collect();
    let mut days = PreloadedDays::new();
    for direction in [ReadingDirection::Consumption, ReadingDirection::Generation] {
        for (meter, found) in
            resiflex_store::readings::days_of_meters(db, &meters, direction, first_day, last_day)
                .await?
        {
            days.entry(meter).or_default().extend(found);
        }
    }
    for meter in meters {
        days.entry(meter).or_default();
    }
    Ok(days)
}

/// Writes a page's planned periods in one transaction: the charges, what was billed, the
/// statements and the billed-through dates. An account whose posting is refused (an
/// idempotency key reused) is reported and left unstated, as [`bill_account`] leaves it.
async fn write_page(
    db: &Db,
    planned: Vec<Planned>,
    today: NaiveDate,
    now: DateTime<Utc>,
    report: &mut RunReport,
) -> Result<(), MoneyError> {
    if planned.is_empty() {
        return Ok(());
    }
    let mut postings = Vec::new();
    for plan in &planned {
        for charge in &plan.charges {
            let new = new_transaction(charge, plan.period, 0);
            new.check()?;
            postings.push((plan.main.id, new));
        }
    }
    let mut tx = db.begin().await?;
    let posted = ledgers::post_in(&mut tx, &postings, now).await?;
    let mut results = posted.iter();
    let mut parts = Vec::new();
    let mut statements = Vec::new();
    let mut through = Vec::new();
    for plan in &planned {
        let mut failed = None;
        let mut account_parts = Vec::with_capacity(plan.charges.len());
        for charge in &plan.charges {
            let Some(result) = results.next() else {
                return Err(MoneyError::NotFound("posting"));
            };
            match count(result, report) {
                Ok(id) => account_parts.push(part_of(
                    &plan.account,
                    plan.main.id,
                    charge,
                    plan.period,
                    0,
                    id,
                )),
                Err(err) => failed = Some(err),
            }
        }
        if let Some(err) = failed {
            report
                .failures
                .push((plan.account.number.clone(), err.to_string()));
            continue;
        }
        parts.extend(account_parts);
        let key = statements::key(plan.period);
        for ledger in &plan.ledgers {
            statements.push(StatementToIssue {
                ledger_id: ledger.id,
                identifier: statements::identifier(ledger, plan.period),
                period: plan.period,
                key: key.clone(),
            });
        }
        through.push((plan.account.id, plan.period.next_start()));
        report.periods += 1;
        report.charged_runs += 1;
    }
    store::record_billed_in(&mut tx, &parts, now).await?;
    report.statements +=
        store::issue_statements_in(&mut tx, &statements, now, today, payment_due(today)).await?;
    store::set_billed_through_in(&mut tx, &through, now).await?;
    tx.commit().await?;
    Ok(())
}

/// What an account's billing trigger has made due by `today`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Due {
    /// The runs of days to charge, oldest first (none when the trigger does not charge).
    pub runs: Vec<BillingPeriod>,
    /// The periods to issue statements for, oldest first (none when the trigger issues none).
    pub statements: Vec<BillingPeriod>,
}

impl Due {
    fn is_empty(&self) -> bool {
        self.runs.is_empty() && self.statements.is_empty()
    }
}

/// What is due for an account by `today`: its trigger acts on the days before its last firing,
/// from where the last run stopped (the first run starts with the billing period holding the
/// day before that firing). The days are charged in runs cut at every trigger interval and
/// billing period, and each ended period gets its statement.
pub fn due(billing: &AccountBilling, today: NaiveDate) -> Due {
    let options = billing.options;
    let schedule = billing.trigger.schedule(options);
    let Some(firing) = schedule.last_firing(today) else {
        return Due::default();
    };
    let first = firing
        .pred_opt()
        .and_then(|day| options.period_containing(day))
        .map(|p| p.from);
    let operation = billing.trigger.operation;
    let runs = match billing.billed_through.or(first) {
        Some(from) if operation.charges() => {
            charge_runs(options, schedule, from, firing, MAX_CHARGE_RUNS_PER_RUN)
        }
        _ => Vec::new(),
    };
    let statements = match billing.stated_through.or(first) {
        Some(from) if operation.issues_statement() => {
            periods_ended_by(options, from, firing, MAX_PERIODS_PER_RUN)
        }
        _ => Vec::new(),
    };
    Due { runs, statements }
}

/// Bills one account: re-bills changed estimates, then charges each due run of days and issues
/// each ended period's statement, in date order, so a statement holds its period's charges.
pub async fn bill_account(
    db: &Db,
    billing: &AccountBilling,
    today: NaiveDate,
    now: DateTime<Utc>,
    report: &mut RunReport,
) -> Result<(), MoneyError> {
    bill_account_with(db, billing, today, now, &mut PriceCache::default(), report).await
}

/// [`bill_account`], taking tariff prices from `prices` where it holds them.
pub async fn bill_account_with(
    db: &Db,
    billing: &AccountBilling,
    today: NaiveDate,
    now: DateTime<Utc>,
    prices: &mut PriceCache,
    report: &mut RunReport,
) -> Result<(), MoneyError> {
    let account = accounts::account_by_id(db, billing.account_id)
        .await?
        .ok_or(MoneyError::NotFound("account"))?;
    let due = due(billing, today);
    if billing.trigger.operation.charges() {
        rebill_estimates(db, &account, now, report).await?;
    }
    if due.is_empty() {
        return Ok(());
    }
    let zone = zone_of_account(db, &account).await?;
    let flex_rate = store::flex_reward_rate(db, account.organisation_id).await?;
    let supplies = charges::supplies_of(db, &account).await?;
    // Charges before statements on the same day, so a period's statement holds its charges.
    let mut steps: Vec<(NaiveDate, bool, BillingPeriod)> = due
        .runs
        .iter()
        .map(|r| (r.to, false, *r))
        .chain(due.statements.iter().map(|p| (p.to, true, *p)))
        .collect();
    steps.sort();
    let (mut billed, mut stated) = (billing.billed_through, billing.stated_through);
    for (_, is_statement, span) in steps {
        if is_statement {
            report.statements += statements::issue(db, &account, span, today, now).await? as u64;
            stated = Some(span.next_start());
            report.periods += 1;
        } else {
            let charges = period_charges(
                db,
                &account,
                span,
                (zone, flex_rate),
                &supplies,
                prices,
                None,
            )
            .await?;
            post_charges(db, &account, span, &charges, 0, now, report).await?;
            billed = Some(span.next_start());
            report.charged_runs += 1;
        }
        store::set_billed_through(db, account.id, billed, stated, now).await?;
    }
    Ok(())
}

fn new_transaction(charge: &PeriodCharge, period: BillingPeriod, revision: i32) -> NewTransaction {
    NewTransaction {
        kind: charge.kind,
        reason: charge.reason,
        // The period's last day, so the same charge is the same request on any later run.
        posted_date: period.to,
        amounts: charge.amounts,
        title: charge.title.clone(),
        note: None,
        reverses: None,
        idempotency_key: charge.key(period, revision),
        consumption_milli: charge.consumption_milli,
        imported: false,
    }
}

fn count(posted: &Posted, report: &mut RunReport) -> Result<i64, MoneyError> {
    match posted {
        Posted::New(t) => {
            report.posted += 1;
            Ok(t.id)
        }
        Posted::Replayed(t) => {
            report.replayed += 1;
            Ok(t.id)
        }
        Posted::KeyReused => Err(MoneyError::IdempotencyKeyReused),
        Posted::NotReversible => Err(MoneyError::NotReversible),
    }
}

/// Posts a period's charges (revision `revision`) to the main ledger and records what they were.
async fn post_charges(
    db: &Db,
    account: &Account,
    period: BillingPeriod,
    charges: &[PeriodCharge],
    revision: i32,
    now: DateTime<Utc>,
    report: &mut RunReport,
) -> Result<(), MoneyError> {
    if charges.is_empty() {
        return Ok(());
    }
    let main = ledger::ledger_of(db, account, LedgerKind::Main, now).await?;
    let postings: Vec<(i64, NewTransaction)> = charges
        .iter()
        .map(|c| (main.id, new_transaction(c, period, revision)))
        .collect();
    let posted = ledger::post_all(db, postings, now).await?;
    let mut parts = Vec::with_capacity(charges.len());
    for (charge, posted) in charges.iter().zip(&posted) {
        let transaction_id = count(posted, report)?;
        parts.push(part_of(
            account,
            main.id,
            charge,
            period,
            revision,
            transaction_id,
        ));
    }
    store::record_billed(db, &parts, now).await?;
    Ok(())
}

fn part_of(
    account: &Account,
    ledger_id: i64,
    charge: &PeriodCharge,
    period: BillingPeriod,
    revision: i32,
    transaction_id: i64,
) -> NewBilledPart {
    NewBilledPart {
        account_id: account.id,
        ledger_id,
        subject: charge.subject(),
        agreement_id: charge.agreement_id,
        reason: charge.reason,
        period,
        revision,
        transaction_id,
        amounts: charge.amounts,
        consumption_milli: charge.consumption_milli,
        estimated: charge.estimated,
    }
}

/// Re-bills each current charge that rested on estimates whose readings have changed: the old
/// charge is reversed and the new one posted, under keys of the next revision.
async fn rebill_estimates(
    db: &Db,
    account: &Account,
    now: DateTime<Utc>,
    report: &mut RunReport,
) -> Result<(), MoneyError> {
    for part in store::open_estimates(db, account.id).await? {
        let Some(agreement_id) = part.agreement_id else {
            continue;
        };
        let fresh = charges::agreement_energy(db, account, agreement_id, part.period).await?;
        let same = fresh.as_ref().is_some_and(|f| {
            f.amounts == part.amounts && f.consumption_milli == part.consumption_milli
        });
        if same {
            if fresh.as_ref().is_some_and(|f| !f.estimated) {
                // The actual readings came to what was estimated: the charge stands.
                store::settle_estimate(db, part.id).await?;
            }
            continue;
        }
        let Some(original) = ledgers::transaction(db, part.transaction_id).await? else {
            return Err(MoneyError::NotFound("transaction"));
        };
        let revision = part.revision + 1;
        let reversal_key = format!(
            "rebill:{}:{}:r{revision}",
            part.subject,
            part.period.from.format("%Y%m%d")
        );
        let mut postings = vec![(
            part.ledger_id,
            NewTransaction::reversal_of(&original, part.period.to, reversal_key),
        )];
        if let Some(fresh) = &fresh {
            postings.push((
                part.ledger_id,
                new_transaction(fresh, part.period, revision),
            ));
        }
        let posted = ledger::post_all(db, postings, now).await?;
        let mut ids = Vec::with_capacity(posted.len());
        for p in &posted {
            ids.push(count(p, report)?);
        }
        if let (Some(fresh), Some(id)) = (&fresh, ids.get(1)) {
            let new_part = part_of(account, part.ledger_id, fresh, part.period, revision, *id);
            store::record_billed(db, &[new_part], now).await?;
        }
        store::supersede(db, part.id).await?;
        report.rebilled += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
