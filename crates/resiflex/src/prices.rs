//! Operator commands for tariffs and prices: import unit rates from CSV, generate sandbox day-ahead
//! prices, and put an account's properties on a tariff. Each returns the one JSON line `main` prints.
//!
//! The CSV has a header naming its columns, in any order: `valid_from`, `valid_to` and `unit_rate` are
//! required, `export_rate` and `carbon_intensity` optional. Times are ISO-8601 with an offset (a time
//! without one is refused rather than guessed); rates are decimals in minor units (pence) per kWh, carbon
//! intensity in gCO2/kWh. A bad row fails the whole import with its line number, and nothing is written.

use anyhow::{Context as _, anyhow, bail};
use chrono::{DateTime, Datelike as _, Duration, FixedOffset, NaiveDate, Utc};
use resiflex_domain::AccountNumber;
use resiflex_domain::tariff::{self, Micros, Rate, Tariff};
use resiflex_store::{Db, accounts, tariffs};
use serde_json::json;

/// The name, time zone and slot length of a tariff an import or generation creates.
#[derive(Debug, Clone, Default)]
pub struct TariffOptions {
    /// Default: the code.
    pub name: Option<String>,
    /// Default `Europe/London`.
    pub time_zone: Option<String>,
    /// Default 30.
    pub slot_minutes: Option<u32>,
}

/// The tariff `code` as stored, or the one these options would create.
async fn tariff_for(db: &Db, code: &str, options: &TariffOptions) -> anyhow::Result<Tariff> {
    let code = code.trim();
    if let Some(stored) = tariffs::tariff_by_code(db, code).await? {
        return Ok(stored.tariff());
    }
    let tariff = Tariff {
        code: code.to_owned(),
        name: options.name.clone().unwrap_or_else(|| code.to_owned()),
        currency: "GBP".into(),
        time_zone: options
            .time_zone
            .clone()
            .unwrap_or_else(|| "Europe/London".into()),
        slot_minutes: options.slot_minutes.unwrap_or(30),
    };
    tariff.validate().map_err(|e| anyhow!("{e}"))?;
    Ok(tariff)
}

/// One CSV field, without surrounding quotes and spaces.
fn field(raw: &str) -> &str {
    let raw = raw.trim();
    raw.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw)
        .trim()
}

pub(crate) fn instant(text: &str, column: &str) -> Result<DateTime<Utc>, String> {
    DateTime::<FixedOffset>::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            if chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").is_ok()
                || chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").is_ok()
                || chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").is_ok()
            {
                format!("{column} {text:?} has no time zone offset; add one such as Z or +01:00")
            } else {
                format!("{column} {text:?} is not an ISO-8601 date and time")
            }
        })
}

/// A CSV file's column names and its rows, each with its line number.
pub(crate) type CsvRows<'a> = (Vec<String>, Vec<(usize, Vec<&'a str>)>);

/// A CSV file's header (names lower-cased, each one of `known`) and its non-empty lines, each with
/// its number (1-based, the header is line 1) and as many fields as the header has names.
pub(crate) fn csv_rows<'a>(text: &'a str, known: &[&str]) -> anyhow::Result<CsvRows<'a>> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim_start_matches('\u{feff}')))
        .filter(|(_, line)| !line.trim().is_empty());
    let (_, header) = lines
        .next()
        .context("the file is empty: it needs a header")?;
    let names: Vec<String> = header
        .split(',')
        .map(|h| field(h).to_ascii_lowercase())
        .collect();
    if let Some(unknown) = names.iter().find(|n| !known.contains(&n.as_str())) {
        bail!("line 1: unknown column {unknown:?}");
    }
    let rows = lines
        .map(|(number, line)| {
            let fields: Vec<&str> = line.split(',').map(field).collect();
            if fields.len() != names.len() {
                bail!(
                    "line {number}: {} fields where the header has {}",
                    fields.len(),
                    names.len()
                );
            }
            Ok((number, fields))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok((names, rows))
}

/// Parses the CSV into rates, each with the line it came from (1-based, the header is line 1).
pub fn parse_rates_csv(text: &str) -> anyhow::Result<Vec<(usize, Rate)>> {
    let (names, rows) = csv_rows(
        text,
        &[
            "valid_from",
            "valid_to",
            "unit_rate",
            "export_rate",
            "carbon_intensity",
        ],
    )?;
    let column = |name: &str| names.iter().position(|n| n == name);
    let required = |name: &str| column(name).with_context(|| format!("line 1: no {name} column"));
    let (from_at, to_at, unit_at) = (
        required("valid_from")?,
        required("valid_to")?,
        required("unit_rate")?,
    );
    let (export_at, carbon_at) = (column("export_rate"), column("carbon_intensity"));
    let mut rates = Vec::new();
    for (number, fields) in rows {
        let row = || -> Result<Rate, String> {
            let optional = |at: Option<usize>, name: &str| -> Result<Option<Micros>, String> {
                match at.map(|i| fields[i]).filter(|v| !v.is_empty()) {
                    Some(value) => Micros::parse(value)
                        .map(Some)
                        .map_err(|e| format!("{name}: {e}")),
                    None => Ok(None),
                }
            };
            Ok(Rate {
                valid_from: instant(fields[from_at], "valid_from")?,
                valid_to: instant(fields[to_at], "valid_to")?,
                import_minor_per_kwh: Micros::parse(fields[unit_at])
                    .map_err(|e| format!("unit_rate: {e}"))?,
                export_minor_per_kwh: optional(export_at, "export_rate")?,
                carbon_g_per_kwh: optional(carbon_at, "carbon_intensity")?,
            })
        };
        rates.push((number, row().map_err(|e| anyhow!("line {number}: {e}"))?));
    }
    if rates.is_empty() {
        bail!("the file has no rates");
    }
    Ok(rates)
}

fn summary(code: &str, imported: u64, rates: &[Rate]) -> serde_json::Value {
    let from = rates.iter().map(|r| r.valid_from).min();
    let to = rates.iter().map(|r| r.valid_to).max();
    let text = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    };
    json!({"tariff": code, "imported": imported, "from": text(from), "to": text(to)})
}

/// `resiflex prices import`: imports the CSV text into the tariff `code` (created if new).
pub async fn import_csv(
    db: &Db,
    code: &str,
    csv: &str,
    options: &TariffOptions,
) -> anyhow::Result<serde_json::Value> {
    let tariff = tariff_for(db, code, options).await?;
    let numbered = parse_rates_csv(csv)?;
    let rates: Vec<Rate> = numbered.iter().map(|(_, r)| r.clone()).collect();
    tariff::validate_rates(tariff.slot_minutes, &rates)
        .map_err(|e| anyhow!("line {}: {}", numbered[e.index].0, e.reason))?;
    let done = tariffs::import_rates(db, &tariff, None, &rates, Utc::now()).await?;
    Ok(summary(&done.tariff.code, done.imported, &rates))
}

/// `resiflex prices generate`: writes seeded, realistic day-ahead rates for `days` local days.
pub async fn generate(
    db: &Db,
    code: &str,
    from: NaiveDate,
    days: u32,
    seed: u64,
    options: &TariffOptions,
) -> anyhow::Result<serde_json::Value> {
    if days == 0 || days > 366 {
        bail!("--days must be between 1 and 366");
    }
    let tariff = tariff_for(db, code, options).await?;
    let (done, rates) = generate_and_store(db, &tariff, None, from, days, seed, Utc::now()).await?;
    let mut out = summary(&done.tariff.code, done.imported, &rates);
    out["seed"] = json!(seed);
    Ok(out)
}

/// Generates the day-ahead rates of `days` local days from `from` and stores them (creating the
/// tariff, owned by `owner`, if it is new).
async fn generate_and_store(
    db: &Db,
    tariff: &Tariff,
    owner: Option<i64>,
    from: NaiveDate,
    days: u32,
    seed: u64,
    now: DateTime<Utc>,
) -> anyhow::Result<(tariffs::Imported, Vec<Rate>)> {
    let rates = tariff::generate_day_ahead(tariff, from, days, seed).map_err(|e| anyhow!("{e}"))?;
    tariff::validate_rates(tariff.slot_minutes, &rates).map_err(|e| anyhow!("{e}"))?;
    let done = tariffs::import_rates(db, tariff, owner, &rates, now).await?;
    Ok((done, rates))
}

/// [`top_up_day_ahead`] fills in when fewer hours of future rates than this remain.
pub const KEEP_AHEAD_HOURS: i64 = 36;
/// [`top_up_day_ahead`] fills every local day up to the one this many hours ahead.
pub const FILL_AHEAD_HOURS: i64 = 48;

/// Whether `rates` (in time order) cover `[from, to)` without a gap.
fn covers(rates: &[Rate], from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    let mut reached = from;
    for rate in rates {
        if rate.valid_from > reached {
            return false;
        }
        reached = reached.max(rate.valid_to);
        if reached >= to {
            return true;
        }
    }
    reached >= to
}

/// The seed of one generated day: the same day always gets the same prices, whenever it is generated.
fn day_seed(seed: u64, date: NaiveDate) -> u64 {
    let day = u64::try_from(date.num_days_from_ce()).unwrap_or(0);
    seed ^ day.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Keeps sandbox day-ahead rates ahead of `now` for the tariff `code` (created with `options` and
/// owned by `owner` if it is new): when the rates from `now` no longer reach [`KEEP_AHEAD_HOURS`]
/// ahead without a gap, every local day from `back_days` before today to the day
/// [`FILL_AHEAD_HOURS`] ahead that lacks rates is generated and stored. Each day is seeded from `seed` and its date, so running this again,
/// or from another starting day, gives the same prices. Answers how many days it generated.
pub async fn top_up_day_ahead(
    db: &Db,
    code: &str,
    options: &TariffOptions,
    owner: Option<i64>,
    seed: u64,
    back_days: u32,
    now: DateTime<Utc>,
) -> anyhow::Result<u32> {
    let tariff = tariff_for(db, code, options).await?;
    let stored = tariffs::tariff_by_code(db, &tariff.code).await?;
    if let Some(stored) = &stored {
        let ahead =
            tariffs::rates_between(db, stored.id, now, now + Duration::hours(FILL_AHEAD_HOURS))
                .await?;
        if covers(&ahead, now, now + Duration::hours(KEEP_AHEAD_HOURS)) {
            return Ok(0);
        }
    }
    let tz = tariff.tz().map_err(|e| anyhow!("{e}"))?;
    let today = now.with_timezone(&tz).date_naive();
    let first = today
        .checked_sub_days(chrono::Days::new(u64::from(back_days)))
        .unwrap_or(today);
    let last = (now + Duration::hours(FILL_AHEAD_HOURS))
        .with_timezone(&tz)
        .date_naive();
    let mut generated = 0;
    for date in first.iter_days().take_while(|date| *date <= last) {
        let seed = day_seed(seed, date);
        if let Some(stored) = &stored {
            let day =
                tariff::generate_day_ahead(&tariff, date, 1, seed).map_err(|e| anyhow!("{e}"))?;
            let (Some(from), Some(to)) = (day.first(), day.last()) else {
                continue;
            };
            let have = tariffs::rates_between(db, stored.id, from.valid_from, to.valid_to).await?;
            if covers(&have, from.valid_from, to.valid_to) {
                continue;
            }
        }
        generate_and_store(db, &tariff, owner, date, 1, seed, now).await?;
        generated += 1;
    }
    Ok(generated)
}

/// `resiflex tariff assign`: puts every property of the account on the tariff from `valid_from`.
pub async fn assign(
    db: &Db,
    account_number: &str,
    code: &str,
    valid_from: DateTime<Utc>,
) -> anyhow::Result<serde_json::Value> {
    let number = AccountNumber::parse(account_number)
        .with_context(|| format!("{account_number:?} is not an account number"))?;
    let account = accounts::account_by_number(db, number.as_str())
        .await?
        .with_context(|| format!("no account {number}"))?;
    let tariff = tariffs::tariff_by_code(db, code.trim())
        .await?
        .with_context(|| format!("no tariff {:?}", code.trim()))?;
    let count =
        tariffs::assign_tariff_to_account(db, account.id, tariff.id, valid_from, Utc::now())
            .await?;
    Ok(json!({"accountNumber": account.number, "tariff": tariff.code, "properties": count}))
}

/// Creates a grid zone of `capacity_kw`, or changes its capacity.
pub async fn set_zone(db: &Db, code: &str, capacity_kw: f64) -> anyhow::Result<serde_json::Value> {
    let code = code.trim();
    anyhow::ensure!(!code.is_empty(), "a zone needs a code");
    anyhow::ensure!(
        capacity_kw.is_finite() && capacity_kw > 0.0 && capacity_kw <= 1_000_000.0,
        "the capacity must be a positive number of kW"
    );
    let zone = resiflex_store::zones::upsert_zone(
        db,
        code,
        (capacity_kw * 1000.0).round() as i64,
        Utc::now(),
    )
    .await?;
    Ok(json!({"zone": zone.code, "capacityW": zone.capacity_w}))
}

/// Puts every property of an account in a grid zone.
pub async fn assign_zone(
    db: &Db,
    account_number: &str,
    code: &str,
) -> anyhow::Result<serde_json::Value> {
    let number = AccountNumber::parse(account_number)
        .with_context(|| format!("{account_number:?} is not an account number"))?;
    let account = accounts::account_by_number(db, number.as_str())
        .await?
        .with_context(|| format!("no account {number}"))?;
    let zones = resiflex_store::zones::zone_by_code(db, code.trim())
        .await?
        .with_context(|| format!("no grid zone {:?}", code.trim()))?;
    let count =
        resiflex_store::zones::assign_zone_to_account(db, account.id, Some(zones.id)).await?;
    Ok(json!({"accountNumber": account.number, "zone": zones.code, "properties": count}))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn csv_columns_come_in_any_order() {
        let rates = parse_rates_csv(
            "carbon_intensity,valid_to,unit_rate,valid_from\n\
             120,2026-01-01T00:30:00Z,\"24.5\",2026-01-01T00:00:00+00:00\n\n\
             ,2026-01-01T01:00:00Z,-1.25,2026-01-01T00:30:00Z\n",
        )
        .unwrap();
        assert_eq!(rates.len(), 2);
        assert_eq!(rates[0].0, 2);
        assert_eq!(rates[1].0, 4);
        assert_eq!(rates[0].1.import_minor_per_kwh, Micros(24_500_000));
        assert_eq!(rates[0].1.carbon_g_per_kwh, Some(Micros(120_000_000)));
        assert_eq!(rates[1].1.carbon_g_per_kwh, None);
    }

    #[test]
    fn coverage_needs_every_instant() {
        let at = |h: i64| {
            DateTime::parse_from_rfc3339("2026-11-27T00:00:00Z")
                .unwrap()
                .to_utc()
                + Duration::hours(h)
        };
        let rate = |from: i64, to: i64| Rate {
            valid_from: at(from),
            valid_to: at(to),
            import_minor_per_kwh: Micros(1),
            export_minor_per_kwh: None,
            carbon_g_per_kwh: None,
        };
        let rates = [rate(0, 1), rate(1, 2), rate(3, 4)];
        assert!(covers(&rates, at(0), at(2)));
        assert!(covers(&rates[..1], at(0), at(1)));
        assert!(!covers(&rates, at(0), at(4)), "a gap from 2 to 3");
        assert!(!covers(&rates, at(0), at(5)));
        assert!(!covers(&[], at(0), at(1)));
        assert!(covers(&[], at(1), at(1)), "an empty span is covered");
        assert_ne!(
            day_seed(1, NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()),
            day_seed(1, NaiveDate::from_ymd_opt(2026, 11, 28).unwrap())
        );
    }

    #[test]
    fn bad_rows_name_their_line() {
        let header = "valid_from,valid_to,unit_rate\n";
        let naive = format!(
            "{header}2026-01-01T00:00:00Z,2026-01-01T00:30:00Z,1\n2026-01-01T00:30:00,2026-01-01T01:00:00Z,1\n"
        );
        let err = parse_rates_csv(&naive).unwrap_err().to_string();
        assert!(
            err.starts_with("line 3:") && err.contains("offset"),
            "{err}"
        );
        let err = parse_rates_csv(&format!(
            "{header}2026-01-01T00:00:00Z,2026-01-01T00:30:00Z,x\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("line 2:"), "{err}");
        assert!(parse_rates_csv("valid_from,unit_rate\n").is_err());
        assert!(parse_rates_csv("valid_from,valid_to,unit_rate,price\n").is_err());
    }
}
