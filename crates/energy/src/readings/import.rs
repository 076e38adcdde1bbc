//! Readings from CSV files: interval readings (a start, optionally an end, and consumption
//! and/or generation) or register reads (an instant, a register and its total). A file is read
//! whole and checked row by row before anything is stored, so a bad row stores nothing and is
//! reported by its line number.
//!
//! Header names are matched without regard to case, spaces or a unit in brackets, so the files
//! that suppliers' portals export work as they are:
//!
//! | column | names |
//! |---|---|
//! | interval start | `interval_start`, `start`, `start_at`, `from` |
//! | interval end (optional) | `interval_end`, `end`, `end_at`, `to` |
//! | consumption | `consumption`, `import`, `value` (with an optional `direction`) |
//! | generation | `generation`, `export` |
//! | register read instant | `read_at`, `reading_date`, `date` |
//! | register | `register`, `register_id` (default `1`) |
//! | register value | `value`, `reading` |
//! | quality (optional) | `quality`: `ACTUAL`/`A` or `ESTIMATE`/`E` |

use chrono::{DateTime, Utc};
use resiflex_domain::reading::{
    IntervalLength, IntervalReading, ReadingDirection, ReadingQuality, ReadingSource, RegisterRead,
    Slot, parse_milli,
};
use resiflex_store::Db;
use resiflex_store::readings as store;
use resiflex_store::supply::StoredMeter;

use crate::EnergyError;

/// The most rows one file may hold (ten years of five-minute readings).
pub const MAX_ROWS: usize = 1_100_000;

/// How a file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// The interval length of files without an end column.
    pub default_length: Option<IntervalLength>,
    pub source: ReadingSource,
}

/// What a file held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub intervals: Vec<(ReadingDirection, IntervalReading)>,
    pub registers: Vec<RegisterRead>,
}

/// What an import stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub intervals: u64,
    pub registers: u64,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}

/// Parses the file, checks every reading falls within the meter's active period, and stores
/// them all in one transaction.
pub async fn import_csv(
    db: &Db,
    meter: &StoredMeter,
    input: impl std::io::Read,
    options: ImportOptions,
) -> Result<ImportSummary, EnergyError> {
    let parsed = parse_csv(input, options)?;
    let active = meter.meter.active;
    let instants = parsed
        .intervals
        .iter()
        .map(|(_, r)| r.start)
        .chain(parsed.registers.iter().map(|r| r.read_at));
    let mut summary = ImportSummary::default();
    for at in instants {
        if !active.contains(at) {
            return Err(EnergyError::Invalid(format!(
                "a reading at {} is outside the meter's active period",
                at.to_rfc3339()
            )));
        }
        summary.first = Some(summary.first.map_or(at, |first| first.min(at)));
        summary.last = Some(summary.last.map_or(at, |last| last.max(at)));
    }
    summary.registers = parsed.registers.len() as u64;
    if !parsed.registers.is_empty() {
        store::save_register_reads(db, meter.id, &parsed.registers).await?;
    }
    summary.intervals = super::store_intervals(
        db,
        parsed
            .intervals
            .into_iter()
            .map(|(direction, reading)| (meter.id, direction, reading)),
    )
    .await?;
    Ok(summary)
}

/// Which column holds what.
#[derive(Debug, Default)]
struct Columns {
    start: Option<usize>,
    end: Option<usize>,
    consumption: Option<usize>,
    generation: Option<usize>,
    direction: Option<usize>,
    read_at: Option<usize>,
    register: Option<usize>,
    value: Option<usize>,
    quality: Option<usize>,
}

/// A header name without case, spaces, underscores or a bracketed unit: `Consumption (kWh)` is
/// `consumption`, `interval_start` is `intervalstart`.
fn normalise(name: &str) -> String {
    let name = name.split('(').next().unwrap_or(name);
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl Columns {
    fn of(headers: &csv::StringRecord) -> Result<Columns, EnergyError> {
        let mut columns = Columns::default();
        for (i, name) in headers.iter().enumerate() {
            let slot = match normalise(name).as_str() {
                "intervalstart" | "start" | "startat" | "from" => &mut columns.start,
                "intervalend" | "end" | "endat" | "to" => &mut columns.end,
                "consumption" | "import" => &mut columns.consumption,
                "generation" | "export" => &mut columns.generation,
                "direction" => &mut columns.direction,
                "readat" | "readingdate" | "date" => &mut columns.read_at,
                "register" | "registerid" => &mut columns.register,
                "value" | "reading" => &mut columns.value,
                "quality" => &mut columns.quality,
                _ => continue,
            };
            if slot.is_some() {
                return Err(EnergyError::Invalid(format!(
                    "line 1: two columns are {name:?}"
                )));
            }
            *slot = Some(i);
        }
        let interval = columns.start.is_some();
        let register = columns.read_at.is_some();
        match (interval, register) {
            (true, true) => Err(EnergyError::Invalid(
                "line 1: a file holds interval readings or register reads, not both".into(),
            )),
            (false, false) => Err(EnergyError::Invalid(
                "line 1: no interval start (interval_start) or read instant (read_at) column"
                    .into(),
            )),
            (true, false)
                if columns.consumption.is_none()
                    && columns.generation.is_none()
                    && columns.value.is_none() =>
            {
                Err(EnergyError::Invalid(
                    "line 1: no consumption, generation or value column".into(),
                ))
            }
            (false, true) if columns.value.is_none() => Err(EnergyError::Invalid(
                "line 1: no value column for the register reads".into(),
            )),
            _ => Ok(columns),
        }
    }
}

/// An instant with its UTC offset (`2026-01-01T00:00:00Z`, `2026-01-01 01:00:00+01:00`);
/// one without an offset is refused rather than guessed.
pub fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%:z"))
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%#z"))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{text:?} is not a date and time with a UTC offset"))
}

fn parse_quality(text: &str) -> Result<ReadingQuality, String> {
    match text.trim().to_ascii_uppercase().as_str() {
        "" | "A" | "ACTUAL" => Ok(ReadingQuality::Actual),
        "E" | "ESTIMATE" | "ESTIMATED" => Ok(ReadingQuality::Estimate),
        other => Err(format!("{other:?} is not a quality (ACTUAL or ESTIMATE)")),
    }
}

/// Reads the whole file; the first bad row is an error naming its line.
pub fn parse_csv(input: impl std::io::Read, options: ImportOptions) -> Result<Parsed, EnergyError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| EnergyError::Invalid(format!("line 1: {e}")))?
        .clone();
    let columns = Columns::of(&headers)?;
    let mut parsed = Parsed::default();
    let mut record = csv::StringRecord::new();
    let mut rows = 0usize;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Err(EnergyError::Invalid(format!("line {line}: {e}")));
            }
        }
        rows += 1;
        if rows > MAX_ROWS {
            return Err(EnergyError::Invalid(format!(
                "a file holds at most {MAX_ROWS} rows; split it"
            )));
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        row(&columns, &record, options, &mut parsed)
            .map_err(|message| EnergyError::Invalid(format!("line {line}: {message}")))?;
    }
    Ok(parsed)
}

fn row(
    columns: &Columns,
    record: &csv::StringRecord,
    options: ImportOptions,
    parsed: &mut Parsed,
) -> Result<(), String> {
    let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("");
    let quality = parse_quality(cell(columns.quality))?;
    if let Some(at) = columns.read_at {
        let read_at = parse_instant(cell(Some(at)))?;
        let register = match cell(columns.register) {
            "" => "1",
            register => register,
        };
        let milli = parse_milli(cell(columns.value)).map_err(|e| e.0)?;
        let read = RegisterRead::new(register, read_at, milli, quality, options.source)
            .map_err(|e| e.0)?;
        parsed.registers.push(read);
        return Ok(());
    }
    let start = parse_instant(cell(columns.start))?;
    let length = match columns.end {
        Some(_) => {
            let end = parse_instant(cell(columns.end))?;
            IntervalLength::from_seconds((end - start).num_seconds()).map_err(|e| e.0)?
        }
        None => options
            .default_length
            .ok_or("the file has no end column; give the interval length")?,
    };
    let mut values: Vec<(ReadingDirection, &str)> = Vec::with_capacity(2);
    if columns.consumption.is_some() {
        values.push((ReadingDirection::Consumption, cell(columns.consumption)));
    }
    if columns.generation.is_some() {
        values.push((ReadingDirection::Generation, cell(columns.generation)));
    }
    if columns.value.is_some() {
        let direction = match cell(columns.direction) {
            "" => ReadingDirection::Consumption,
            text => text
                .to_ascii_uppercase()
                .parse()
                .map_err(|e: resiflex_domain::reading::ReadingError| e.0)?,
        };
        values.push((direction, cell(columns.value)));
    }
    for (direction, text) in values {
        // An empty cell is a gap: nothing is stored for it.
        if text.is_empty() {
            continue;
        }
        let slot = Slot {
            milli: parse_milli(text).map_err(|e| e.0)?,
            quality,
            source: options.source,
        };
        let reading = IntervalReading::new(start, length, slot).map_err(|e| e.0)?;
        parsed.intervals.push((direction, reading));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: ImportOptions = ImportOptions {
        default_length: None,
        source: ReadingSource::Import,
    };

    #[test]
    fn portal_exports_with_units_and_offsets_parse() {
        let file = "Consumption (kWh), Estimated Cost Inc. Tax (p), Start, End\n\
                    0.201,5.1,2026-03-29T00:00:00+00:00,2026-03-29T00:30:00+00:00\n\
                    0.25,5.2,2026-03-29T03:00:00+01:00,2026-03-29T03:30:00+01:00\n";
        let parsed = parse_csv(file.as_bytes(), OPTIONS).unwrap();
        assert_eq!(parsed.intervals.len(), 2);
        assert_eq!(
            parsed.intervals[1].1.start.to_rfc3339(),
            "2026-03-29T02:00:00+00:00"
        );
        assert_eq!(parsed.intervals[0].1.slot.milli, 201);
    }

    #[test]
    fn consumption_and_generation_share_a_row_and_empty_cells_are_gaps() {
        let file = "interval_start,interval_end,consumption,generation,quality\n\
                    2026-01-01T00:00:00Z,2026-01-01T00:15:00Z,0.1,,E\n\
                    2026-01-01T00:15:00Z,2026-01-01T00:30:00Z,0.2,0.3,ACTUAL\n";
        let parsed = parse_csv(file.as_bytes(), OPTIONS).unwrap();
        assert_eq!(parsed.intervals.len(), 3);
        assert_eq!(parsed.intervals[0].1.slot.quality, ReadingQuality::Estimate);
        assert_eq!(parsed.intervals[2].0, ReadingDirection::Generation);
        assert_eq!(
            parsed.intervals[2].1.length,
            IntervalLength::FIFTEEN_MINUTES
        );
    }

    #[test]
    fn bad_rows_are_refused_by_line() {
        let cases = [
            (
                "start,end,consumption\n2026-01-01T00:00:00,2026-01-01T00:30:00Z,1\n",
                "line 2",
            ),
            (
                "start,end,consumption\n2026-01-01T00:00:00Z,2026-01-01T00:30:00Z,1.2345\n",
                "line 2",
            ),
            (
                "start,end,consumption\n2026-01-01T00:00:00Z,2026-01-01T00:30:00Z,1\n2026-01-01T00:10:00Z,2026-01-01T00:40:00Z,1\n",
                "line 3",
            ),
            (
                "start,end,consumption\n2026-01-01T00:00:00Z,2026-01-01T00:20:00Z,1\n",
                "line 2",
            ),
            (
                "start,end,consumption\n2026-01-01T00:00:00Z,2026-01-01T00:30:00Z,-1\n",
                "line 2",
            ),
            (
                "start,end,consumption\n2026-01-01T00:00:00Z,2026-01-01T00:30:00Z\n",
                "line 2",
            ),
            ("when,how much\n1,2\n", "line 1"),
            ("start,consumption\n2026-01-01T00:00:00Z,1\n", "line 2"),
        ];
        for (file, line) in cases {
            match parse_csv(file.as_bytes(), OPTIONS) {
                Err(EnergyError::Invalid(message)) => {
                    assert!(message.starts_with(line), "{file:?}: {message}")
                }
                other => panic!("{file:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn register_reads_parse_with_their_register() {
        let file = "read_at,register,value,quality\n\
                    2026-01-01T00:00:00Z,DAY,12345.6,A\n\
                    2026-01-01T00:00:00Z,NIGHT,2345,E\n";
        let parsed = parse_csv(file.as_bytes(), OPTIONS).unwrap();
        assert_eq!(parsed.registers.len(), 2);
        assert_eq!(parsed.registers[0].milli, 12_345_600);
        assert_eq!(parsed.registers[1].register_id, "NIGHT");
    }
}
