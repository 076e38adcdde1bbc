//! `resiflex forecast import`: a property's forecast (outdoor temperature, solar production, the
//! household's other load) from a CSV file, for homes whose vendor forecasts nothing. The plans of
//! heat pumps, batteries and inverters read it as they read a vendor's forecast; each value holds
//! from its instant to the next row's.
//!
//! Header: `at` and at least one of `outdoor_temperature` (°C), `solar_power` (W) and `base_load`
//! (W), in any order; an empty cell is unknown. Instants are ISO 8601 with an offset.

use anyhow::{Context as _, anyhow, bail};
use chrono::Utc;
use resiflex_domain::forecast::ForecastPoint;
use resiflex_store::{Db, accounts, forecasts};
use serde_json::json;

use crate::prices::{csv_rows, instant};

const COLUMNS: [&str; 4] = ["at", "outdoor_temperature", "solar_power", "base_load"];
/// The most rows one file may hold (a year of quarter-hours).
pub const MAX_ROWS: usize = 35_136;

/// Parses the CSV into forecast points in time order.
pub fn parse_forecast_csv(text: &str) -> anyhow::Result<Vec<ForecastPoint>> {
    let (names, rows) = csv_rows(text, &COLUMNS)?;
    let column = |name: &str| names.iter().position(|n| n == name);
    let at = column("at").context("line 1: no at column")?;
    let values = [
        column("outdoor_temperature"),
        column("solar_power"),
        column("base_load"),
    ];
    if values.iter().all(Option::is_none) {
        bail!("line 1: no outdoor_temperature, solar_power or base_load column");
    }
    let mut points = Vec::new();
    if rows.len() > MAX_ROWS {
        bail!("a file holds at most {MAX_ROWS} rows");
    }
    for (number, fields) in rows {
        let row = || -> Result<ForecastPoint, String> {
            let number_at = |index: Option<usize>,
                             name: &str,
                             range: std::ops::RangeInclusive<f64>| {
                match index.map(|i| fields[i]).filter(|v| !v.is_empty()) {
                    None => Ok(None),
                    Some(text) => match text.parse::<f64>() {
                        Ok(value) if value.is_finite() && range.contains(&value) => Ok(Some(value)),
                        _ => Err(format!(
                            "{name} {text:?} is not a number between {} and {}",
                            range.start(),
                            range.end()
                        )),
                    },
                }
            };
            Ok(ForecastPoint {
                at: instant(fields[at], "at")?,
                outdoor_c: number_at(values[0], "outdoor_temperature", -60.0..=60.0)?,
                solar_w: number_at(values[1], "solar_power", 0.0..=1_000_000.0)?,
                base_load_w: number_at(values[2], "base_load", 0.0..=1_000_000.0)?,
            })
        };
        points.push(row().map_err(|e| anyhow!("line {number}: {e}"))?);
    }
    if points.is_empty() {
        bail!("the file has no rows");
    }
    points.sort_by_key(|p| p.at);
    if let Some(pair) = points.windows(2).find(|w| w[0].at == w[1].at) {
        bail!("{} appears twice", pair[0].at.to_rfc3339());
    }
    Ok(points)
}

/// Stores the forecast for every property of the account `number`.
pub async fn import_csv(db: &Db, number: &str, csv: &str) -> anyhow::Result<serde_json::Value> {
    let points = parse_forecast_csv(csv)?;
    let account = accounts::account_by_number(db, number)
        .await?
        .with_context(|| format!("no account {number}"))?;
    let properties = accounts::properties_of_account(db, account.id).await?;
    let now = Utc::now();
    for property in &properties {
        forecasts::save(db, property.id, &points, now).await?;
    }
    let text = |p: Option<&ForecastPoint>| p.map(|p| p.at.to_rfc3339());
    Ok(json!({
        "account": number,
        "properties": properties.len(),
        "imported": points.len(),
        "from": text(points.first()),
        "to": text(points.last()),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn columns_in_any_order_and_empty_cells_unknown() {
        let points = parse_forecast_csv(
            "solar_power,at,outdoor_temperature\n\
             ,2026-12-01T01:00:00Z,3.5\n\
             1200,2026-12-01T00:00:00+00:00,\n",
        )
        .unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].at.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(
            (points[0].solar_w, points[0].outdoor_c),
            (Some(1200.0), None)
        );
        assert_eq!((points[1].solar_w, points[1].outdoor_c), (None, Some(3.5)));
        assert_eq!(points[1].base_load_w, None);
    }

    #[test]
    fn bad_files_are_refused_with_the_line() {
        let err = |text: &str| parse_forecast_csv(text).unwrap_err().to_string();
        assert_eq!(err(""), "the file is empty: it needs a header");
        assert_eq!(err("at,wind\n"), "line 1: unknown column \"wind\"");
        assert_eq!(
            err("at\n2026-12-01T00:00:00Z\n"),
            "line 1: no outdoor_temperature, solar_power or base_load column"
        );
        assert!(err("at,outdoor_temperature\n2026-12-01T00:00:00,3\n").starts_with("line 2: at"));
        assert_eq!(
            err("at,outdoor_temperature\n2026-12-01T00:00:00Z,hot\n"),
            "line 2: outdoor_temperature \"hot\" is not a number between -60 and 60"
        );
        assert_eq!(
            err("at,base_load\n2026-12-01T00:00:00Z,-5\n"),
            "line 2: base_load \"-5\" is not a number between 0 and 1000000"
        );
        assert_eq!(
            err("at,base_load\n2026-12-01T00:00:00Z\n"),
            "line 2: 1 fields where the header has 2"
        );
        assert_eq!(err("at,base_load\n"), "the file has no rows");
        assert!(
            err("at,base_load\n2026-12-01T00:00:00Z,1\n2026-12-01T00:00:00Z,2\n")
                .ends_with("appears twice")
        );
    }
}
