//! `resiflex bench billing`: a monthly billing run over many accounts, then a verification of every
//! ledger.
//!
//! A fresh database gets `--accounts` supplied accounts (one property in London, an electricity
//! import meter point on a fixed tariff, a smart meter), each with a month of half-hourly
//! consumption (November 2026, the same values on every run), created in bulk and not timed. Then
//! the billing run of 1 December charges every account's November (consumption and standing
//! charge), issues its statement, and is timed; `resiflex ledger verify` is timed over the same
//! data. The last line printed is the JSON result.

use std::time::Instant;

use anyhow::{Context as _, anyhow, bail};
use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use resiflex_domain::AccountNumber;
use resiflex_domain::product::Fuel;
use resiflex_domain::reading::{DayBlock, IntervalLength, ReadingQuality, ReadingSource, Slot};
use resiflex_domain::supply::MeterPointId;
use resiflex_store::Db;
use resiflex_store::seed::{self, SeedAccount, SeedCommon};
use serde::Serialize;

use crate::bench_fleet::Draw;

/// Accounts created per transaction.
const SEED_BATCH: usize = 1_000;
/// Accounts the billing run reads per page.
const BILLING_BATCH: i64 = 1_000;
/// The product every account is on: 20p/kWh and 40p/day before VAT.
const PRODUCT: &str = r#"{
  "code": "BENCH-FIX-26-10-01", "displayName": "Fixed", "fullName": "Fixed October 2026",
  "brand": "RESIFLEX_LIVE", "availableFrom": "2026-10-01T00:00:00Z",
  "tariffs": [{"kind": "SINGLE_RATE", "region": "C", "charges": [
    {"kind": "STANDING", "validFrom": "2026-10-01T00:00:00Z", "valueExcVat": "40"},
    {"kind": "STANDARD", "validFrom": "2026-10-01T00:00:00Z", "valueExcVat": "20"}]}]
}"#;
const TARIFF: &str = "E-1R-BENCH-FIX-26-10-01-C";

#[derive(Debug, Clone, clap::Args)]
pub struct BillingBenchArgs {
    /// Supplied accounts, each with a month of half-hourly readings.
    #[arg(long, default_value_t = 100_000)]
    pub accounts: usize,
    /// Database to store into (default: a new temporary SQLite file). Use an empty database.
    #[arg(long)]
    pub database: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingBenchResult {
    pub accounts_billed_per_second: f64,
    pub ledger_verify_seconds: f64,
    pub accounts: usize,
    pub billing_run_seconds: f64,
    pub transactions_posted: u64,
    pub statements_issued: u64,
    pub seed_seconds: f64,
}

/// November 2026 in London is GMT throughout: its days start at UTC midnight.
fn month() -> anyhow::Result<(NaiveDate, u32)> {
    let first = NaiveDate::from_ymd_opt(2026, 11, 1).context("the first day")?;
    Ok((first, 30))
}

fn day_number(date: NaiveDate) -> i64 {
    date.signed_duration_since(NaiveDate::default()).num_days()
}

/// A valid MPAN core for account `index`.
fn mpan(index: usize) -> anyhow::Result<String> {
    let base = format!("21{:010}", index % 10_000_000_000);
    (0..10)
        .map(|digit| format!("{base}{digit}"))
        .find(|text| MeterPointId::parse(Fuel::Electricity, text).is_ok())
        .with_context(|| format!("no check digit fits {base}"))
}

/// A unique account number for `index`: its base-32 digits.
fn number(index: usize) -> String {
    let mut values = [0u8; 8];
    let mut rest = index;
    for value in values.iter_mut().rev() {
        *value = (rest % 32) as u8;
        rest /= 32;
    }
    AccountNumber::from_random(values).to_string()
}

/// The month of readings of account `index`, with their total in thousandths of a kWh.
fn readings(index: usize) -> anyhow::Result<(Vec<(i64, DayBlock)>, i64)> {
    let (first, days) = month()?;
    let length = IntervalLength::THIRTY_MINUTES;
    let mut draw = Draw::new((index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut out = Vec::with_capacity(days as usize);
    let mut total = 0;
    for d in 0..days {
        let date = first + chrono::Days::new(u64::from(d));
        let mut block = DayBlock::empty(length);
        for slot in 0..length.slots_per_day() {
            let hour = slot / 2;
            let evening = if (17..21).contains(&hour) { 400 } else { 0 };
            let milli = 80 + evening + (draw.next() % 600) as i64;
            total += milli;
            block.set(
                slot,
                Slot {
                    milli,
                    quality: ReadingQuality::Actual,
                    source: ReadingSource::SmartMeter,
                },
            );
        }
        out.push((day_number(date), block));
    }
    Ok((out, total))
}

async fn seed_accounts(db: &Db, count: usize, now: DateTime<Utc>) -> anyhow::Result<()> {
    let organisation = resiflex_store::identity::create_organisation(
        db,
        "Bench",
        "RESIFLEX_LIVE",
        "bench@example.com",
        now,
    )
    .await
    .context("creating the organisation")?;
    crate::products::save(db, PRODUCT, now).await?;
    let tariff = resiflex_store::products::tariffs_by_code(db, TARIFF)
        .await?
        .into_iter()
        .next()
        .with_context(|| format!("the tariff {TARIFF}"))?;
    let common = SeedCommon {
        organisation_id: organisation.id,
        brand_code: "RESIFLEX_LIVE",
        country: "GB",
        time_zone: "Europe/London",
        postal_code: "SW1A 1AA",
        product_tariff_id: tariff.id,
        supply_from: Utc
            .with_ymd_and_hms(2026, 10, 1, 0, 0, 0)
            .single()
            .context("the supply start")?,
    };
    let started = Instant::now();
    let mut done = 0;
    while done < count {
        let batch = (count - done).min(SEED_BATCH);
        let mut accounts = Vec::with_capacity(batch);
        for index in done..done + batch {
            let (days, _) = readings(index)?;
            accounts.push(SeedAccount {
                number: number(index),
                mpan: mpan(index)?,
                serial: format!("BILL-{index:07}"),
                days,
            });
        }
        seed::supplied_accounts(db, &common, &accounts, now)
            .await
            .context("creating accounts")?;
        done += batch;
        if done % 10_000 == 0 || done == count {
            eprintln!(
                "{done} of {count} accounts with a month of readings in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

pub async fn billing(args: BillingBenchArgs) -> anyhow::Result<BillingBenchResult> {
    let (db, _dir) = crate::bench_fleet::open_database(args.database.clone()).await?;
    let now = Utc
        .with_ymd_and_hms(2026, 12, 1, 6, 0, 0)
        .single()
        .context("the run's instant")?;
    let seeding = Instant::now();
    seed_accounts(&db, args.accounts, now).await?;
    let seed_seconds = seeding.elapsed().as_secs_f64();

    let today = now.date_naive();
    let started = Instant::now();
    let report = resiflex_money::billing::run(&db, today, now, BILLING_BATCH)
        .await
        .map_err(|e| anyhow!("the billing run: {e}"))?;
    let billing_run_seconds = started.elapsed().as_secs_f64();
    if let Some((account, error)) = report.failures.first() {
        bail!(
            "{} accounts failed to bill, the first {account}: {error}",
            report.failures.len()
        );
    }
    eprintln!(
        "billed {} accounts in {billing_run_seconds:.1} s: {} transactions, {} statements",
        report.accounts, report.posted, report.statements
    );

    let started = Instant::now();
    let verification = resiflex_money::ledger::verify(&db, crate::ledger::VERIFY_BATCH)
        .await
        .map_err(|e| anyhow!("verifying the ledgers: {e}"))?;
    let ledger_verify_seconds = started.elapsed().as_secs_f64();
    if !verification.discrepancies.is_empty() {
        bail!(
            "{} ledgers disagree with their transactions",
            verification.discrepancies.len()
        );
    }
    eprintln!(
        "verified {} ledgers and {} transactions in {ledger_verify_seconds:.1} s",
        verification.ledgers, verification.transactions
    );
    db.close().await;
    Ok(BillingBenchResult {
        accounts_billed_per_second: report.accounts as f64 / billing_run_seconds.max(1e-9),
        ledger_verify_seconds,
        accounts: args.accounts,
        billing_run_seconds,
        transactions_posted: report.posted,
        statements_issued: report.statements,
        seed_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_numbers_and_mpans_are_valid_and_distinct() {
        let numbers: std::collections::BTreeSet<String> = (0..2_000).map(number).collect();
        assert_eq!(numbers.len(), 2_000);
        assert!(numbers.iter().all(|n| AccountNumber::parse(n).is_some()));
        assert_ne!(mpan(0).unwrap(), mpan(1).unwrap());
    }

    #[test]
    fn a_month_of_readings_is_the_same_on_every_run() {
        let (days, total) = readings(7).unwrap();
        assert_eq!(days.len(), 30);
        assert!(days.iter().all(|(_, b)| b.count() == 48));
        assert_eq!(readings(7).unwrap().1, total);
    }
}
