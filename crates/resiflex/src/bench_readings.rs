//! `resiflex bench readings`: how fast meters' half-hourly readings are imported from CSV files,
//! and how long a year of one meter's readings takes to read back by local calendar month.
//!
//! A fresh database gets the benchmarks' customer with `--meters` properties, each with an import
//! meter point and a smart meter; every meter then imports `--days` days of half-hourly
//! consumption through the CSV import (each file generated in memory just before its import, with
//! the same values on every run), and one more meter a whole year. Only the import calls are
//! timed. Then the year is read back by month (combined quality, Europe/London, no statistics)
//! `--queries` times and the median kept.

use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use chrono::{DateTime, Duration as TimeDelta, TimeZone as _, Utc};
use resiflex_domain::calendar::Granularity;
use resiflex_domain::product::Fuel;
use resiflex_domain::reading::{IntervalLength, ReadingDirection, ReadingSource, format_milli};
use resiflex_domain::supply::MeterPointId;
use resiflex_energy::readings::import::{self, ImportOptions};
use resiflex_energy::readings::measurements::{self, Filter, Frequency, QualityFilter, Window};
use resiflex_energy::supply::{self, MeterDocument, MeterPointDocument};
use resiflex_store::Db;
use resiflex_store::accounts;
use serde::Serialize;

use crate::bench_fleet::{self, Draw};

/// Properties created (and meters imported) per batch.
const BATCH: usize = 1_000;
/// The days of the meter read back by month.
const YEAR_DAYS: u32 = 365;
/// The length of every generated reading.
const LENGTH: IntervalLength = IntervalLength::THIRTY_MINUTES;

#[derive(Debug, Clone, clap::Args)]
pub struct ReadingsBenchArgs {
    /// Meters importing `--days` days each (one property and meter point per meter).
    #[arg(long, default_value_t = 10_000)]
    pub meters: usize,
    /// Days of half-hourly readings per meter.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Database to store into (default: a new temporary SQLite file). Use an empty database: the
    /// benchmark adds an organisation, an account, its properties and their meters.
    #[arg(long)]
    pub database: Option<String>,
    /// How many times the year is read back by month; the median is reported.
    #[arg(long, default_value_t = 20)]
    pub queries: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadingsBenchResult {
    /// Readings stored per second of import calls (every meter's, the year's included).
    pub readings_imported_per_second: f64,
    /// The median time to read the year back by month, ms.
    pub year_by_month_millis: f64,
    pub meters: usize,
    /// Readings imported, the year's included.
    pub readings: u64,
}

/// The first reading's start: local midnight of New Year's Day in London.
fn first_start() -> anyhow::Result<DateTime<Utc>> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .context("the benchmark's first instant")
}

/// The `start,end,` of every row of `days` days from `from`, shared by every meter's file.
fn row_prefixes(from: DateTime<Utc>, days: u32) -> Vec<String> {
    let rows = i64::from(days) * (LENGTH.slots_per_day() as i64);
    (0..rows)
        .map(|i| {
            let start = from + TimeDelta::seconds(LENGTH.seconds() * i);
            let end = start + TimeDelta::seconds(LENGTH.seconds());
            format!(
                "{},{},",
                start.format("%Y-%m-%dT%H:%M:%SZ"),
                end.format("%Y-%m-%dT%H:%M:%SZ")
            )
        })
        .collect()
}

/// One meter's file: a header and a consumption for every row, the same for the same meter on
/// every run. Answers the file and its consumption in thousandths of a kWh.
fn consumption_csv(meter: usize, prefixes: &[String]) -> (String, i64) {
    let mut draw = Draw::new((meter as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let mut csv = String::with_capacity(24 + prefixes.len() * 50);
    csv.push_str("interval_start,interval_end,consumption\n");
    let mut total = 0;
    for (slot, prefix) in prefixes.iter().enumerate() {
        // A household's half-hour: a base load, more in the evening, and some noise.
        let hour = (slot % LENGTH.slots_per_day()) / 2;
        let evening = if (17..21).contains(&hour) { 400 } else { 0 };
        let milli = 80 + evening + (draw.next() % 600) as i64;
        total += milli;
        csv.push_str(prefix);
        csv.push_str(&format_milli(milli));
        csv.push('\n');
    }
    (csv, total)
}

/// A valid MPAN core for the meter: twelve digits from its index and the check digit that fits.
fn mpan(meter: usize) -> anyhow::Result<String> {
    let base = format!("20{:010}", meter % 10_000_000_000);
    (0..10)
        .map(|digit| format!("{base}{digit}"))
        .find(|text| MeterPointId::parse(Fuel::Electricity, text).is_ok())
        .with_context(|| format!("no check digit fits {base}"))
}

fn serial(meter: usize) -> String {
    format!("BENCH-{meter:07}")
}

/// Timed imports and what they stored.
#[derive(Debug, Default)]
struct Imports {
    readings: u64,
    elapsed: Duration,
}

impl Imports {
    fn per_second(&self) -> f64 {
        self.readings as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Gives the property an import meter point with the meter `meter`, imports its file (timing only
/// the import) and answers the file's consumption.
async fn import_meter(
    db: &Db,
    property_id: i64,
    meter: usize,
    prefixes: &[String],
    imports: &mut Imports,
) -> anyhow::Result<i64> {
    let now = Utc::now();
    let document = MeterPointDocument {
        mpan: Some(mpan(meter)?),
        mprn: None,
        direction: "IMPORT".to_owned(),
        meters: vec![MeterDocument {
            serial_number: serial(meter),
            smart_device_id: None,
            active_from: first_start()?,
            active_to: None,
        }],
    };
    let point = supply::save_meter_point(db, property_id, &document, now)
        .await
        .map_err(|e| anyhow!("saving the meter point of meter {meter}: {e}"))?;
    let stored = resiflex_store::supply::meters_of(db, point.id)
        .await?
        .into_iter()
        .next()
        .with_context(|| format!("the meter point of meter {meter} has no meter"))?;
    let (csv, total) = consumption_csv(meter, prefixes);
    let options = ImportOptions {
        default_length: None,
        source: ReadingSource::Import,
    };
    let started = Instant::now();
    let summary = import::import_csv(db, &stored, csv.as_bytes(), options)
        .await
        .map_err(|e| anyhow!("importing meter {meter}: {e}"))?;
    imports.elapsed += started.elapsed();
    if summary.intervals != prefixes.len() as u64 {
        bail!(
            "meter {meter} stored {} of {} readings",
            summary.intervals,
            prefixes.len()
        );
    }
    imports.readings += summary.intervals;
    Ok(total)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

pub async fn readings(args: ReadingsBenchArgs) -> anyhow::Result<ReadingsBenchResult> {
    let (db, _dir) = crate::bench_fleet::open_database(args.database.clone()).await?;
    let customer = bench_fleet::account(&db, Utc::now()).await?;
    let from = first_start()?;

    let prefixes = row_prefixes(from, args.days);
    let mut imports = Imports::default();
    let started = Instant::now();
    let mut done = 0;
    while done < args.meters {
        let batch = (args.meters - done).min(BATCH);
        let properties = accounts::add_properties(
            &db,
            customer.account_id,
            batch,
            "GB",
            "Europe/London",
            Utc::now(),
        )
        .await
        .context("adding properties")?;
        for (offset, property_id) in properties.into_iter().enumerate() {
            import_meter(&db, property_id, done + offset, &prefixes, &mut imports).await?;
        }
        done += batch;
        eprintln!(
            "{done} of {} meters: {} readings imported in {:.1} s of imports ({:.0} readings/s), {:.1} s in all",
            args.meters,
            imports.readings,
            imports.elapsed.as_secs_f64(),
            imports.per_second(),
            started.elapsed().as_secs_f64()
        );
    }
    drop(prefixes);

    // One more meter, on the customer's first property, with a whole year.
    let year = row_prefixes(from, YEAR_DAYS);
    let before = imports.elapsed;
    let year_total =
        import_meter(&db, customer.property_id, args.meters, &year, &mut imports).await?;
    eprintln!(
        "a year of one meter ({} readings) imported in {:.1} ms",
        year.len(),
        (imports.elapsed - before).as_secs_f64() * 1e3
    );
    drop(year);

    let filter = Filter {
        fuel: Fuel::Electricity,
        direction: ReadingDirection::Consumption,
        frequency: Frequency::Buckets(Granularity::Month),
        quality: QualityFilter::Combined,
        market_supply_point_id: None,
        device_id: None,
        register_id: None,
        meter_serial: None,
    };
    let window = Window {
        from,
        to: from + TimeDelta::days(i64::from(YEAR_DAYS)),
        zone: "Europe/London"
            .parse()
            .map_err(|e| anyhow!("the time zone: {e}"))?,
    };
    let mut times = Vec::with_capacity(args.queries.max(1));
    for _ in 0..args.queries.max(1) {
        let started = Instant::now();
        let months = measurements::measurements(&db, customer.property_id, &filter, &window, false)
            .await
            .map_err(|e| anyhow!("reading the year by month: {e}"))?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        let total: i64 = months.iter().map(|m| m.milli).sum();
        if months.len() != 12 || total != year_total {
            bail!(
                "the year read back as {} months of {total} Wh, not 12 of {year_total} Wh",
                months.len()
            );
        }
    }
    let year_by_month_millis = median(times);
    eprintln!(
        "the year by month: median {year_by_month_millis:.2} ms over {} queries",
        args.queries.max(1)
    );
    db.close().await;
    Ok(ReadingsBenchResult {
        readings_imported_per_second: imports.per_second(),
        year_by_month_millis,
        meters: args.meters,
        readings: imports.readings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_mpans_are_valid_and_distinct() {
        let a = mpan(0).unwrap();
        let b = mpan(1).unwrap();
        assert_eq!(a.len(), 13);
        assert_ne!(a, b);
        assert!(MeterPointId::parse(Fuel::Electricity, &b).is_ok());
    }

    #[test]
    fn generated_files_parse_to_what_they_hold() {
        let from = first_start().unwrap();
        let prefixes = row_prefixes(from, 2);
        let (csv, total) = consumption_csv(3, &prefixes);
        assert_eq!(consumption_csv(3, &prefixes), (csv.clone(), total));
        let parsed = import::parse_csv(
            csv.as_bytes(),
            ImportOptions {
                default_length: None,
                source: ReadingSource::Import,
            },
        )
        .unwrap();
        assert_eq!(parsed.intervals.len(), 96);
        let sum: i64 = parsed.intervals.iter().map(|(_, r)| r.slot.milli).sum();
        assert_eq!(sum, total);
        assert_eq!(parsed.intervals[95].1.end(), from + TimeDelta::days(2));
    }
}
