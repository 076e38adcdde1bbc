//! Where a property takes its energy: meter points (an electricity MPAN, import or export, or a
//! gas MPRN), the meters installed on them over time, and the agreements that put a meter point on
//! a product's tariff for a period.
//!
//! - An MPAN core is 13 digits whose last is a check digit (each of the first twelve digits
//!   times 3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43, summed, modulo 11, modulo 10).
//! - An MPRN is 6 to 10 digits.
//! - A smart meter's device id is an EUI-64 written as eight hexadecimal pairs,
//!   `12-34-5A-FF-FF-6B-C7-89`.
//! - Periods are `[from, to)` with `to` open when `None`. A meter point's meters never overlap,
//!   nor do its agreements; a new agreement that starts while an open-ended one runs ends that
//!   one (a change of tariff), any other overlap is refused.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::product::{Direction, Fuel};

/// Why a meter point, a meter or an agreement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SupplyError(pub String);

fn refuse<T>(message: impl Into<String>) -> Result<T, SupplyError> {
    Err(SupplyError(message.into()))
}

const MPAN_WEIGHTS: [u32; 12] = [3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43];

/// A meter point's identifier: an MPAN core for electricity, an MPRN for gas.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MeterPointId(String);

impl MeterPointId {
    pub fn parse(fuel: Fuel, text: &str) -> Result<MeterPointId, SupplyError> {
        let text = text.trim();
        let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
        if digits.len() != text.len() {
            return refuse(format!("{text:?} must be digits only"));
        }
        match fuel {
            Fuel::Electricity => {
                if digits.len() != 13 {
                    return refuse(format!(
                        "an MPAN has 13 digits, {text:?} has {}",
                        digits.len()
                    ));
                }
                let sum: u32 = digits.iter().zip(MPAN_WEIGHTS).map(|(d, w)| d * w).sum();
                if sum % 11 % 10 != digits[12] {
                    return refuse(format!("{text:?} is not an MPAN: its check digit is wrong"));
                }
            }
            Fuel::Gas => {
                if !(6..=10).contains(&digits.len()) {
                    return refuse(format!(
                        "an MPRN has 6 to 10 digits, {text:?} has {}",
                        digits.len()
                    ));
                }
            }
        }
        Ok(MeterPointId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MeterPointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A smart meter's EUI-64 device id, upper case: `12-34-5A-FF-FF-6B-C7-89`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmartDeviceId(String);

impl SmartDeviceId {
    pub fn parse(text: &str) -> Result<SmartDeviceId, SupplyError> {
        let upper = text.trim().to_ascii_uppercase();
        let pairs: Vec<&str> = upper.split('-').collect();
        if pairs.len() == 8
            && pairs
                .iter()
                .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            Ok(SmartDeviceId(upper))
        } else {
            refuse(format!(
                "{text:?} is not a smart meter device id (eight hexadecimal pairs, 12-34-5A-FF-FF-6B-C7-89)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A period `[from, to)`, open-ended when `to` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
}

impl Period {
    pub fn new(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Result<Period, SupplyError> {
        if to.is_some_and(|to| to <= from) {
            return refuse("the end must be after the start");
        }
        Ok(Period { from, to })
    }

    pub fn overlaps(&self, other: &Period) -> bool {
        self.to.is_none_or(|to| other.from < to) && other.to.is_none_or(|to| self.from < to)
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && self.to.is_none_or(|to| at < to)
    }

    /// Whether it ends after `at` (or never): in force now or in the future.
    pub fn ends_after(&self, at: DateTime<Utc>) -> bool {
        self.to.is_none_or(|to| to > at)
    }
}

/// A meter point of a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterPoint {
    pub fuel: Fuel,
    pub id: MeterPointId,
    /// Gas is always [`Direction::Import`].
    pub direction: Direction,
}

impl MeterPoint {
    pub fn new(fuel: Fuel, id: &str, direction: Direction) -> Result<MeterPoint, SupplyError> {
        if fuel == Fuel::Gas && direction == Direction::Export {
            return refuse("a gas meter point only imports");
        }
        Ok(MeterPoint {
            fuel,
            id: MeterPointId::parse(fuel, id)?,
            direction,
        })
    }
}

/// The longest meter serial number.
pub const MAX_SERIAL: usize = 32;

/// A meter installed on a meter point for a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meter {
    pub serial_number: String,
    pub smart_device_id: Option<SmartDeviceId>,
    pub active: Period,
}

impl Meter {
    pub fn new(
        serial_number: &str,
        smart_device_id: Option<&str>,
        active: Period,
    ) -> Result<Meter, SupplyError> {
        let serial = serial_number.trim();
        if serial.is_empty()
            || serial.len() > MAX_SERIAL
            || !serial
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return refuse(format!(
                "{serial_number:?} is not a meter serial number (letters, digits and hyphens, at most {MAX_SERIAL})"
            ));
        }
        Ok(Meter {
            serial_number: serial.to_owned(),
            smart_device_id: smart_device_id
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(SmartDeviceId::parse)
                .transpose()?,
            active,
        })
    }
}

/// What a new agreement does to the agreements of its meter point: the open-ended one it ends, if
/// any (at the new agreement's start), or why it may not start.
pub fn place_agreement(
    existing: &[(i64, Period)],
    new: &Period,
) -> Result<Option<i64>, SupplyError> {
    let mut ended = None;
    for (id, period) in existing {
        if !period.overlaps(new) {
            continue;
        }
        if period.to.is_none() && period.from < new.from && ended.is_none() {
            ended = Some(*id);
            continue;
        }
        return refuse(format!(
            "the agreement overlaps another from {}",
            period.from.to_rfc3339()
        ));
    }
    Ok(ended)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;

    use super::*;

    fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, 0, 0, 0).unwrap()
    }

    #[test]
    fn mpans_carry_a_check_digit() {
        // 1·3 + 2·5 + 0 + 0 + 0 + 2·19 + 3·23 + 3·29 + 0 + 5·37 + 9·41 + 6·43 = 1019; 1019 % 11 = 7.
        assert!(MeterPointId::parse(Fuel::Electricity, "1200023305967").is_ok());
        assert!(MeterPointId::parse(Fuel::Electricity, "1200023305960").is_err());
        assert!(MeterPointId::parse(Fuel::Electricity, "120002330596").is_err());
        assert!(MeterPointId::parse(Fuel::Electricity, "12000233059a0").is_err());
        assert!(MeterPointId::parse(Fuel::Gas, "3456789012").is_ok());
        assert!(MeterPointId::parse(Fuel::Gas, "12345").is_err());
        assert!(MeterPoint::new(Fuel::Gas, "123456", Direction::Export).is_err());
    }

    #[test]
    fn smart_device_ids_are_eight_hexadecimal_pairs() {
        assert_eq!(
            SmartDeviceId::parse("12-34-5a-ff-ff-6b-c7-89")
                .unwrap()
                .as_str(),
            "12-34-5A-FF-FF-6B-C7-89"
        );
        for bad in [
            "12-34-5A-FF-FF-6B-C7",
            "12345AFFFF6BC789",
            "12-34-5A-FF-FF-6B-C7-8G",
        ] {
            assert!(SmartDeviceId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_new_agreement_ends_the_open_one_and_may_not_overlap_others() {
        let open = Period::new(t(1), None).unwrap();
        let from_10 = Period::new(t(10), None).unwrap();
        assert_eq!(place_agreement(&[(1, open)], &from_10), Ok(Some(1)));
        assert_eq!(place_agreement(&[], &from_10), Ok(None));
        let closed = Period::new(t(1), Some(t(5))).unwrap();
        assert_eq!(place_agreement(&[(1, closed)], &from_10), Ok(None));
        let overlapping = Period::new(t(3), Some(t(12))).unwrap();
        assert!(place_agreement(&[(1, closed)], &overlapping).is_err());
        // Starting at the same instant as the open one, or before it, is no change of tariff.
        assert!(place_agreement(&[(1, from_10)], &Period::new(t(10), None).unwrap()).is_err());
        assert!(place_agreement(&[(1, from_10)], &Period::new(t(1), None).unwrap()).is_err());
        assert!(Period::new(t(5), Some(t(5))).is_err());
    }
}
