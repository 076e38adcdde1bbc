//! Operator commands for tariffs and prices: import unit rates from CSV, generate sandbox day-ahead
//! prices, and put an account's properties on a tariff. Each returns the one JSON line `main` prints.
//!
//! The CSV has a header naming its columns, in any order: `valid_from`, `valid_to` and `unit_rate` are
//! required, `export_rate` and `carbon_intensity` optional. Times are ISO-8601 with an offset (a time
//! without one is refused rather than guessed); rates are decimals in minor units (pence) per kWh, carbon
//! intensity in gCO2/kWh. A bad row fails the whole import with its line number, and nothing is written.

use anyhow::{Context as _, anyhow, bail};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use resiflex_domain::AccountNumber;
use resiflex_domain::tariff::{self, Micros, Rate, Tariff};
use resiflex_store::{Db, accounts, tariffs};
use serde_json::json;

/// The time zone and slot length of a tariff an import or generation creates.
#[derive(Debug, Clone, Default)]
pub struct TariffOptions {
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
        name: code.to_owned(),
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

fn instant(text: &str, column: &str) -> Result<DateTime<Utc>, String> {
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

/// Parses the CSV into rates, each with the line it came from (1-based, the header is line 1).
pub fn parse_rates_csv(text: &str) -> anyhow::Result<Vec<(usize, Rate)>> {
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
    let column = |name: &str| names.iter().position(|n| n == name);
    for name in &names {
        if ![
            "valid_from",
            "valid_to",
            "unit_rate",
            "export_rate",
            "carbon_intensity",
        ]
        .contains(&name.as_str())
        {
            bail!("line 1: unknown column {name:?}");
        }
    }
    let required = |name: &str| column(name).with_context(|| format!("line 1: no {name} column"));
    let (from_at, to_at, unit_at) = (
        required("valid_from")?,
        required("valid_to")?,
        required("unit_rate")?,
    );
    let (export_at, carbon_at) = (column("export_rate"), column("carbon_intensity"));
    let mut rates = Vec::new();
    for (number, line) in lines {
        let fields: Vec<&str> = line.split(',').map(field).collect();
        let row = || -> Result<Rate, String> {
            if fields.len() != names.len() {
                return Err(format!(
                    "{} fields where the header has {}",
                    fields.len(),
                    names.len()
                ));
            }
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
    let rates =
        tariff::generate_day_ahead(&tariff, from, days, seed).map_err(|e| anyhow!("{e}"))?;
    tariff::validate_rates(tariff.slot_minutes, &rates).map_err(|e| anyhow!("{e}"))?;
    let done = tariffs::import_rates(db, &tariff, None, &rates, Utc::now()).await?;
    let mut out = summary(&done.tariff.code, done.imported, &rates);
    out["seed"] = json!(seed);
    Ok(out)
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
