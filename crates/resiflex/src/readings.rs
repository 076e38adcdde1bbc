//! `resiflex readings import`: an operator imports a meter's readings from a CSV file (interval
//! readings or register reads, as the energy crate's import reads them). The whole file is checked
//! before anything is stored, so a bad row stores nothing and is reported by its line number.

use anyhow::{anyhow, bail};
use resiflex_domain::reading::{IntervalLength, ReadingSource};
use resiflex_energy::EnergyError;
use resiflex_energy::readings::{self as energy, import};
use resiflex_store::Db;
use serde_json::{Value, json};

/// Which meter's readings a file holds, and how to read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportTarget<'a> {
    /// The meter's serial number.
    pub serial: &'a str,
    /// The meter point (MPAN or MPRN), needed when two meter points have meters of that serial.
    pub meter_point: Option<&'a str>,
    /// The interval length of a file without an end column: 5, 15 or 30 minutes.
    pub interval_minutes: Option<u32>,
}

fn failed(err: EnergyError, target: &ImportTarget<'_>) -> anyhow::Error {
    match err {
        EnergyError::Invalid(message) => anyhow!("the readings were not imported: {message}"),
        EnergyError::NotFound => match target.meter_point {
            Some(point) => anyhow!(
                "there is no meter {:?} on the meter point {point:?}",
                target.serial
            ),
            None => anyhow!("there is no meter {:?}", target.serial),
        },
        EnergyError::NotOwner => anyhow!("the meter belongs to another organisation"),
        EnergyError::Store(err) => anyhow!(err).context("storage"),
    }
}

/// The interval length `--interval-minutes` names.
fn interval_length(minutes: Option<u32>) -> anyhow::Result<Option<IntervalLength>> {
    let Some(minutes) = minutes else {
        return Ok(None);
    };
    match IntervalLength::from_seconds(i64::from(minutes) * 60) {
        Ok(length) => Ok(Some(length)),
        Err(_) => bail!("--interval-minutes is 5, 15 or 30, not {minutes}"),
    }
}

/// `resiflex readings import --meter SERIAL --file readings.csv [--meter-point ID]
/// [--interval-minutes 5|15|30]`: stores the file's readings on the meter, in one transaction,
/// and answers what was stored: `{"meter", "intervals", "registers", "first", "last"}`.
pub async fn import(
    db: &Db,
    target: &ImportTarget<'_>,
    input: impl std::io::Read,
) -> anyhow::Result<Value> {
    let options = import::ImportOptions {
        default_length: interval_length(target.interval_minutes)?,
        source: ReadingSource::Import,
    };
    let serial = target.serial.trim();
    let meter_point = target.meter_point.map(str::trim);
    let (_, meter) = energy::find_meter(db, serial, meter_point)
        .await
        .map_err(|e| failed(e, target))?;
    let summary = import::import_csv(db, &meter, input, options)
        .await
        .map_err(|e| failed(e, target))?;
    Ok(json!({
        "meter": meter.meter.serial_number,
        "intervals": summary.intervals,
        "registers": summary.registers,
        "first": summary.first,
        "last": summary.last,
    }))
}
