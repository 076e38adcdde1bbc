//! Meter readings: interval readings (how much went through the meter in each 5, 15 or 30
//! minutes, consumed or generated) and register reads (the meter's running total at an instant).
//!
//! Quantities are exact: whole thousandths of the meter's unit (Wh for a kWh meter, litres for a
//! m³ meter), parsed from decimal text without floating point.
//!
//! Interval readings are stored a day at a time: one [`DayBlock`] per meter, direction, interval
//! length and UTC day holds the day's slots, each empty (a gap) or a value with its quality and
//! source, packed into a few bytes per slot.

use chrono::{DateTime, Utc};

/// Why a reading was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReadingError(pub String);

fn refuse<T>(message: impl Into<String>) -> Result<T, ReadingError> {
    Err(ReadingError(message.into()))
}

/// Seconds in a UTC day.
pub const DAY_SECONDS: i64 = 86_400;
/// The largest quantity one interval may carry, in thousandths (2,000 MWh: far beyond any home).
pub const MAX_INTERVAL_MILLI: i64 = i32::MAX as i64;

named_enum!(
    ReadingError;
    /// Energy taken from the grid or sent to it (the API's `ReadingDirectionType`).
    ReadingDirection {
        Consumption = "CONSUMPTION",
        Generation = "GENERATION",
    }
);

named_enum!(
    ReadingError;
    /// Whether a reading was measured or worked out (the API's `ReadingQualityType` without its
    /// `COMBINED` filter).
    ReadingQuality {
        Actual = "ACTUAL",
        Estimate = "ESTIMATE",
    }
);

named_enum!(
    ReadingError;
    /// Where a reading came from.
    ReadingSource {
        /// Sent by the smart meter (in the sandbox, by the simulated one).
        SmartMeter = "SMART_METER",
        /// Imported from a file by the supplier.
        Import = "IMPORT",
        /// Read by the customer from the meter's display.
        Customer = "CUSTOMER",
        /// A SmartFlex device's own meter.
        Device = "DEVICE",
    }
);

/// How long one interval reading is: five, fifteen or thirty minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IntervalLength(u32);

impl IntervalLength {
    pub const FIVE_MINUTES: IntervalLength = IntervalLength(300);
    pub const FIFTEEN_MINUTES: IntervalLength = IntervalLength(900);
    pub const THIRTY_MINUTES: IntervalLength = IntervalLength(1_800);
    pub const ALL: [IntervalLength; 3] = [
        IntervalLength::FIVE_MINUTES,
        IntervalLength::FIFTEEN_MINUTES,
        IntervalLength::THIRTY_MINUTES,
    ];

    pub fn from_seconds(seconds: i64) -> Result<IntervalLength, ReadingError> {
        IntervalLength::ALL
            .into_iter()
            .find(|length| i64::from(length.0) == seconds)
            .map_or_else(
                || {
                    refuse(format!(
                        "an interval of {seconds} s is not 5, 15 or 30 minutes"
                    ))
                },
                Ok,
            )
    }

    pub fn seconds(self) -> i64 {
        i64::from(self.0)
    }

    /// Slots in a UTC day.
    pub fn slots_per_day(self) -> usize {
        (DAY_SECONDS / self.seconds()) as usize
    }
}

/// One interval's quantity, how good it is and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Thousandths of the meter's unit, never negative.
    pub milli: i64,
    pub quality: ReadingQuality,
    pub source: ReadingSource,
}

/// One interval reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntervalReading {
    pub start: DateTime<Utc>,
    pub length: IntervalLength,
    pub slot: Slot,
}

impl IntervalReading {
    /// Checks the reading starts on its interval's boundary and carries a quantity a meter can.
    pub fn new(
        start: DateTime<Utc>,
        length: IntervalLength,
        slot: Slot,
    ) -> Result<IntervalReading, ReadingError> {
        if start.timestamp().rem_euclid(length.seconds()) != 0
            || start.timestamp_subsec_nanos() != 0
        {
            return refuse(format!(
                "{start} is not on a {}-minute boundary",
                length.seconds() / 60
            ));
        }
        if !(0..=MAX_INTERVAL_MILLI).contains(&slot.milli) {
            return refuse(format!(
                "{} is outside 0 to {} per interval",
                format_milli(slot.milli),
                format_milli(MAX_INTERVAL_MILLI)
            ));
        }
        Ok(IntervalReading {
            start,
            length,
            slot,
        })
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::seconds(self.length.seconds())
    }

    /// The UTC day (days since 1970-01-01) and the slot of that day the reading falls in.
    pub fn day_and_slot(&self) -> (i64, usize) {
        let t = self.start.timestamp();
        (
            t.div_euclid(DAY_SECONDS),
            (t.rem_euclid(DAY_SECONDS) / self.length.seconds()) as usize,
        )
    }
}

/// The format version of an encoded [`DayBlock`].
const BLOCK_VERSION: u8 = 1;
const PRESENT: u8 = 0b0001;
const ESTIMATE: u8 = 0b0010;
const SOURCE_SHIFT: u8 = 2;

/// A UTC day of one meter's interval readings in one direction and interval length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayBlock {
    length: IntervalLength,
    slots: Vec<Option<Slot>>,
}

impl DayBlock {
    /// A day with no readings.
    pub fn empty(length: IntervalLength) -> DayBlock {
        DayBlock {
            length,
            slots: vec![None; length.slots_per_day()],
        }
    }

    pub fn length(&self) -> IntervalLength {
        self.length
    }

    pub fn slots(&self) -> &[Option<Slot>] {
        &self.slots
    }

    /// Puts a reading in its slot, replacing what was there.
    pub fn set(&mut self, index: usize, slot: Slot) {
        if let Some(place) = self.slots.get_mut(index) {
            *place = Some(slot);
        }
    }

    /// Takes every reading of `newer`, keeping ours where it has a gap.
    pub fn merge(&mut self, newer: &DayBlock) {
        for (ours, theirs) in self.slots.iter_mut().zip(&newer.slots) {
            if theirs.is_some() {
                *ours = *theirs;
            }
        }
    }

    /// How many slots hold a reading.
    pub fn count(&self) -> usize {
        self.slots.iter().filter(|slot| slot.is_some()).count()
    }

    /// The day packed: a version byte, then per slot a flag byte (present, estimate, source)
    /// followed, when present, by the quantity as four little-endian bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(1 + self.slots.len() * 5);
        bytes.push(BLOCK_VERSION);
        for slot in &self.slots {
            match slot {
                None => bytes.push(0),
                Some(slot) => {
                    let mut flags = PRESENT;
                    if slot.quality == ReadingQuality::Estimate {
                        flags |= ESTIMATE;
                    }
                    let source = ReadingSource::ALL
                        .iter()
                        .position(|s| *s == slot.source)
                        .unwrap_or(0) as u8;
                    bytes.push(flags | (source << SOURCE_SHIFT));
                    let value = i32::try_from(slot.milli).unwrap_or(i32::MAX);
                    bytes.extend_from_slice(&value.to_le_bytes());
                }
            }
        }
        bytes
    }

    /// Reads a packed day back; anything that is not a whole day of this length is refused.
    pub fn decode(length: IntervalLength, bytes: &[u8]) -> Result<DayBlock, ReadingError> {
        let corrupt = || ReadingError("a stored day of readings is corrupt".to_owned());
        let (&version, mut rest) = bytes.split_first().ok_or_else(corrupt)?;
        if version != BLOCK_VERSION {
            return Err(corrupt());
        }
        let mut slots = Vec::with_capacity(length.slots_per_day());
        while let Some((&flags, tail)) = rest.split_first() {
            if flags & PRESENT == 0 {
                slots.push(None);
                rest = tail;
                continue;
            }
            let (value, tail) = tail.split_first_chunk::<4>().ok_or_else(corrupt)?;
            let source = *ReadingSource::ALL
                .get(usize::from(flags >> SOURCE_SHIFT))
                .ok_or_else(corrupt)?;
            slots.push(Some(Slot {
                milli: i64::from(i32::from_le_bytes(*value)),
                quality: if flags & ESTIMATE == 0 {
                    ReadingQuality::Actual
                } else {
                    ReadingQuality::Estimate
                },
                source,
            }));
            rest = tail;
        }
        if slots.len() != length.slots_per_day() {
            return Err(corrupt());
        }
        Ok(DayBlock { length, slots })
    }

    /// The day's readings, earliest first, for the UTC day `day` (days since 1970-01-01).
    pub fn readings(&self, day: i64) -> impl Iterator<Item = IntervalReading> + '_ {
        let base = day * DAY_SECONDS;
        let step = self.length.seconds();
        self.slots.iter().enumerate().filter_map(move |(i, slot)| {
            let slot = (*slot)?;
            Some(IntervalReading {
                start: DateTime::from_timestamp(base + i as i64 * step, 0)?,
                length: self.length,
                slot,
            })
        })
    }
}

/// A register read: the meter's running total on one register at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRead {
    /// The register (`1` on a single-register meter; `DAY` and `NIGHT` style names on others).
    pub register_id: String,
    pub read_at: DateTime<Utc>,
    /// Thousandths of the meter's unit.
    pub milli: i64,
    pub quality: ReadingQuality,
    pub source: ReadingSource,
}

/// The longest register id.
pub const MAX_REGISTER_ID: usize = 32;

impl RegisterRead {
    pub fn new(
        register_id: &str,
        read_at: DateTime<Utc>,
        milli: i64,
        quality: ReadingQuality,
        source: ReadingSource,
    ) -> Result<RegisterRead, ReadingError> {
        let register_id = register_id.trim();
        if register_id.is_empty()
            || register_id.len() > MAX_REGISTER_ID
            || !register_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return refuse(format!(
                "{register_id:?} is not a register id (letters, digits, - and _, at most {MAX_REGISTER_ID})"
            ));
        }
        if milli < 0 {
            return refuse("a register never reads below zero");
        }
        Ok(RegisterRead {
            register_id: register_id.to_owned(),
            read_at,
            milli,
            quality,
            source,
        })
    }
}

/// Parses a non-negative decimal quantity (`1.25`, `0.1`, `3`) into thousandths, exactly; more
/// than three decimal places, signs, exponents or anything else is refused.
pub fn parse_milli(text: &str) -> Result<i64, ReadingError> {
    let text = text.trim();
    let bad = || {
        ReadingError(format!(
            "{text:?} is not a quantity (at most three decimals)"
        ))
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && fraction.is_empty()
        || fraction.len() > 3
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 15
    {
        return Err(bad());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let mut milli = 0i64;
    for (i, digit) in fraction.bytes().enumerate() {
        milli += i64::from(digit - b'0') * 10i64.pow(2 - i as u32);
    }
    whole
        .checked_mul(1_000)
        .and_then(|w| w.checked_add(milli))
        .ok_or_else(bad)
}

/// Thousandths written as a decimal with three places (`1250` is `1.250`).
pub fn format_milli(milli: i64) -> String {
    let sign = if milli < 0 { "-" } else { "" };
    let abs = milli.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1_000, abs % 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn slot(milli: i64, quality: ReadingQuality, source: ReadingSource) -> Slot {
        Slot {
            milli,
            quality,
            source,
        }
    }

    #[test]
    fn quantities_parse_exactly_and_refuse_what_is_not_one() {
        assert_eq!(parse_milli("1.25"), Ok(1_250));
        assert_eq!(parse_milli("0.001"), Ok(1));
        assert_eq!(parse_milli(".5"), Ok(500));
        assert_eq!(parse_milli("7"), Ok(7_000));
        assert_eq!(parse_milli(" 12.300 "), Ok(12_300));
        for bad in [
            "",
            ".",
            "-1",
            "1.2345",
            "1e3",
            "NaN",
            "1,5",
            "+2",
            "99999999999999999",
        ] {
            assert!(parse_milli(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_milli(1_250), "1.250");
        assert_eq!(format_milli(5), "0.005");
    }

    #[test]
    fn readings_must_start_on_their_boundary_and_stay_in_range() {
        let length = IntervalLength::THIRTY_MINUTES;
        let ok = slot(100, ReadingQuality::Actual, ReadingSource::Import);
        let on = "2026-01-01T00:30:00Z".parse().unwrap();
        let off = "2026-01-01T00:20:00Z".parse().unwrap();
        assert!(IntervalReading::new(on, length, ok).is_ok());
        assert!(IntervalReading::new(off, length, ok).is_err());
        assert!(IntervalReading::new(on, length, Slot { milli: -1, ..ok }).is_err());
        assert_eq!(
            IntervalReading::new(on, length, ok).unwrap().day_and_slot(),
            (20_454, 1)
        );
        assert!(IntervalLength::from_seconds(600).is_err());
    }

    #[test]
    fn newer_readings_override_and_gaps_stay_gaps() {
        let length = IntervalLength::THIRTY_MINUTES;
        let mut day = DayBlock::empty(length);
        day.set(0, slot(10, ReadingQuality::Estimate, ReadingSource::Import));
        day.set(1, slot(20, ReadingQuality::Actual, ReadingSource::Import));
        let mut newer = DayBlock::empty(length);
        newer.set(
            0,
            slot(11, ReadingQuality::Actual, ReadingSource::SmartMeter),
        );
        day.merge(&newer);
        assert_eq!(day.count(), 2);
        assert_eq!(day.slots()[0].map(|s| s.milli), Some(11));
        assert_eq!(day.slots()[1].map(|s| s.milli), Some(20));
        assert_eq!(day.slots()[2], None);
    }

    #[test]
    fn corrupt_blocks_are_refused() {
        let length = IntervalLength::THIRTY_MINUTES;
        let bytes = DayBlock::empty(length).encode();
        assert!(DayBlock::decode(length, &bytes[..bytes.len() - 1]).is_err());
        assert!(DayBlock::decode(IntervalLength::FIVE_MINUTES, &bytes).is_err());
        assert!(DayBlock::decode(length, &[2]).is_err());
        assert!(DayBlock::decode(length, &[1, 1, 0]).is_err());
        assert!(DayBlock::decode(length, &[]).is_err());
    }

    proptest! {
        #[test]
        fn blocks_round_trip(values in proptest::collection::vec(proptest::option::of((0i64..=MAX_INTERVAL_MILLI, any::<bool>(), 0usize..4)), 96)) {
            let length = IntervalLength::FIFTEEN_MINUTES;
            let mut day = DayBlock::empty(length);
            for (i, value) in values.iter().enumerate() {
                if let Some((milli, estimate, source)) = value {
                    let quality = if *estimate { ReadingQuality::Estimate } else { ReadingQuality::Actual };
                    day.set(i, slot(*milli, quality, ReadingSource::ALL[*source]));
                }
            }
            prop_assert_eq!(DayBlock::decode(length, &day.encode()).unwrap(), day);
        }
    }
}
