//! Energy products and their tariffs: what a supplier sells, per fuel, region and payment method,
//! with standing charges and unit rates that change over time.
//!
//! - A product (`AGILE-24-10-01`) has a code, names, flags (green, variable, tracker, prepay,
//!   business), who may take it ([`ProductAvailability`]) and when it is on sale.
//! - A product tariff is the product for one fuel, register count, region (GSP group `A` to `P`,
//!   written `_C`) and payment method; its code is `<fuel>-<registers>R-<product>-<region>`
//!   (`E-1R-AGILE-24-10-01-C`, `E-2R-...` for day/night, `G-1R-...` for gas).
//! - Its charges are exact: whole millionths of a minor unit ([`Micros`]) before VAT, per kWh for
//!   unit rates and per day for standing charges, each valid from an instant to an instant or
//!   without end. A dynamic tariff's unit rates are its half-hourly rates ([`crate::tariff`]).
//!   VAT is a rate in basis points (500 is 5 %), applied when a price is shown with VAT.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::tariff::{MICROS_PER_UNIT, Micros};

/// The longest product code.
pub const MAX_PRODUCT_CODE: usize = 64;
/// The longest display or full name and description.
pub const MAX_NAME: usize = 200;
pub const MAX_DESCRIPTION: usize = 2_000;
/// The highest VAT rate accepted, basis points.
pub const MAX_VAT_BASIS_POINTS: u32 = 10_000;

/// Why a product, a tariff or a charge was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProductError(pub String);

fn refuse<T>(message: impl Into<String>) -> Result<T, ProductError> {
    Err(ProductError(message.into()))
}

/// A product code: upper-case letters, digits and single hyphens (`AGILE-24-10-01`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProductCode(String);

impl ProductCode {
    pub fn parse(text: &str) -> Result<ProductCode, ProductError> {
        let ok = !text.is_empty()
            && text.len() <= MAX_PRODUCT_CODE
            && text
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
            && !text.starts_with('-')
            && !text.ends_with('-')
            && !text.contains("--");
        if ok {
            Ok(ProductCode(text.to_owned()))
        } else {
            refuse(format!(
                "{text:?} is not a product code (upper-case letters, digits and single hyphens, at most {MAX_PRODUCT_CODE})"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProductCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

named_enum!(
    ProductError;
    /// Who may take a product (the API's `ProductAvailability`).
    ProductAvailability {
        Everyone = "EVERYONE",
        Restricted = "RESTRICTED",
    }
);

named_enum!(
    ProductError;
    /// Whether a product is for energy taken from the grid or sent to it.
    Direction {
        Import = "IMPORT",
        Export = "EXPORT",
    }
);

named_enum!(
    ProductError;
    Fuel {
        Electricity = "ELECTRICITY",
        Gas = "GAS",
    }
);

named_enum!(
    ProductError;
    /// How the customer pays: the public API's `direct_debit_monthly` and `varying`.
    PaymentMethod {
        DirectDebitMonthly = "DIRECT_DEBIT_MONTHLY",
        Varying = "VARYING",
    }
);

named_enum!(
    ProductError;
    /// How a tariff's unit rate is set.
    TariffKind {
        /// One unit rate at a time.
        SingleRate = "SINGLE_RATE",
        /// A day rate and a night rate (two registers).
        DayNight = "DAY_NIGHT",
        /// A rate per half-hour (or quarter-hour), from the tariff's rate table.
        Dynamic = "DYNAMIC",
    }
);

named_enum!(
    ProductError;
    /// What a stored charge is.
    ChargeKind {
        Standing = "STANDING",
        Standard = "STANDARD",
        Day = "DAY",
        Night = "NIGHT",
    }
);

impl PaymentMethod {
    /// The key of the product detail's tariff map.
    pub fn rest_key(self) -> &'static str {
        match self {
            PaymentMethod::DirectDebitMonthly => "direct_debit_monthly",
            PaymentMethod::Varying => "varying",
        }
    }

    /// The `payment_method` of a rate row.
    pub fn rate_label(self) -> &'static str {
        match self {
            PaymentMethod::DirectDebitMonthly => "DIRECT_DEBIT",
            PaymentMethod::Varying => "NON_DIRECT_DEBIT",
        }
    }
}

impl TariffKind {
    /// How many registers the meter has for it (the `1R` or `2R` of the code).
    pub fn registers(self) -> u8 {
        match self {
            TariffKind::DayNight => 2,
            TariffKind::SingleRate | TariffKind::Dynamic => 1,
        }
    }

    /// The charges a tariff of this kind stores besides its standing charge.
    pub fn unit_charges(self) -> &'static [ChargeKind] {
        match self {
            TariffKind::SingleRate => &[ChargeKind::Standard],
            TariffKind::DayNight => &[ChargeKind::Day, ChargeKind::Night],
            TariffKind::Dynamic => &[],
        }
    }
}

/// A GSP group, `A` to `P` without `I` and `O`, shown as `_C`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(char);

impl Region {
    pub const LETTERS: &'static str = "ABCDEFGHJKLMNP";

    /// From `C` or `_C`.
    pub fn parse(text: &str) -> Result<Region, ProductError> {
        let letter = text.strip_prefix('_').unwrap_or(text);
        let mut chars = letter.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if Region::LETTERS.contains(c) => Ok(Region(c)),
            _ => refuse(format!(
                "{text:?} is not a region (one of {} or the same with a leading _)",
                Region::LETTERS
            )),
        }
    }

    pub fn letter(self) -> char {
        self.0
    }

    /// `_C`.
    pub fn key(self) -> String {
        format!("_{}", self.0)
    }
}

/// A tariff code: `E-1R-AGILE-24-10-01-C`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TariffCode {
    pub fuel: Fuel,
    pub registers: u8,
    pub product: ProductCode,
    pub region: Region,
}

impl TariffCode {
    pub fn new(fuel: Fuel, kind: TariffKind, product: &ProductCode, region: Region) -> TariffCode {
        TariffCode {
            fuel,
            registers: kind.registers(),
            product: product.clone(),
            region,
        }
    }

    pub fn parse(text: &str) -> Result<TariffCode, ProductError> {
        let bad = || ProductError(format!("{text:?} is not a tariff code"));
        let (fuel, registers, rest) = if let Some(rest) = text.strip_prefix("E-1R-") {
            (Fuel::Electricity, 1, rest)
        } else if let Some(rest) = text.strip_prefix("E-2R-") {
            (Fuel::Electricity, 2, rest)
        } else if let Some(rest) = text.strip_prefix("G-1R-") {
            (Fuel::Gas, 1, rest)
        } else {
            return Err(bad());
        };
        let (product, region) = rest.rsplit_once('-').ok_or_else(bad)?;
        Ok(TariffCode {
            fuel,
            registers,
            product: ProductCode::parse(product).map_err(|_| bad())?,
            region: Region::parse(region).map_err(|_| bad())?,
        })
    }
}

impl fmt::Display for TariffCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fuel = match self.fuel {
            Fuel::Electricity => 'E',
            Fuel::Gas => 'G',
        };
        write!(
            f,
            "{fuel}-{}R-{}-{}",
            self.registers,
            self.product,
            self.region.letter()
        )
    }
}

/// A VAT rate in basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vat(pub u32);

impl Vat {
    pub fn new(basis_points: u32) -> Result<Vat, ProductError> {
        if basis_points <= MAX_VAT_BASIS_POINTS {
            Ok(Vat(basis_points))
        } else {
            refuse(format!(
                "VAT of {basis_points} basis points is more than {MAX_VAT_BASIS_POINTS}"
            ))
        }
    }

    /// `value` with VAT added, rounded half away from zero to a millionth.
    pub fn include(self, value: Micros) -> Micros {
        let scaled = i128::from(value.0) * i128::from(10_000 + self.0);
        let rounded = (scaled.abs() + 5_000) / 10_000 * scaled.signum();
        Micros(i64::try_from(rounded).unwrap_or(if scaled < 0 { i64::MIN } else { i64::MAX }))
    }
}

/// A price as the public API shows it: a number of minor units (pence), exact to the millionth.
pub fn as_number(value: Micros) -> f64 {
    value.0 as f64 / MICROS_PER_UNIT as f64
}

/// A product as sold.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub code: ProductCode,
    pub display_name: String,
    pub full_name: String,
    pub description: String,
    pub availability: ProductAvailability,
    pub brand: String,
    pub direction: Direction,
    pub is_green: bool,
    pub is_variable: bool,
    pub is_tracker: bool,
    pub is_prepay: bool,
    pub is_business: bool,
    /// A fixed term in months; `None` for a product without one.
    pub term_months: Option<u32>,
    pub available_from: DateTime<Utc>,
    pub available_to: Option<DateTime<Utc>>,
}

fn text(field: &str, value: &str, max: usize, required: bool) -> Result<(), ProductError> {
    if required && value.trim().is_empty() {
        return refuse(format!("{field} must not be empty"));
    }
    if value.chars().count() > max {
        return refuse(format!("{field} is longer than {max} characters"));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return refuse(format!("{field} must not contain control characters"));
    }
    Ok(())
}

impl Product {
    pub fn validate(&self) -> Result<(), ProductError> {
        text("displayName", &self.display_name, MAX_NAME, true)?;
        text("fullName", &self.full_name, MAX_NAME, true)?;
        text("description", &self.description, MAX_DESCRIPTION, false)?;
        text("brand", &self.brand, MAX_NAME, true)?;
        if self
            .available_to
            .is_some_and(|to| to <= self.available_from)
        {
            return refuse("availableTo must be after availableFrom");
        }
        if self.term_months.is_some_and(|t| t == 0 || t > 120) {
            return refuse("term must be between 1 and 120 months");
        }
        Ok(())
    }

    /// Whether new customers can take it at `at`.
    pub fn available_at(&self, at: DateTime<Utc>) -> bool {
        self.available_from <= at && self.available_to.is_none_or(|to| at < to)
    }
}

/// When a day/night tariff's night rate applies: from 00:30 to 07:30 local time, seven hours
/// as on an Economy 7 meter.
pub const NIGHT_START: (u32, u32) = (0, 30);
pub const NIGHT_END: (u32, u32) = (7, 30);

/// Which unit rate of a day/night tariff applies at a local time of day.
pub fn day_night_rate(local: chrono::NaiveTime) -> ChargeKind {
    use chrono::Timelike;
    let minutes = local.hour() * 60 + local.minute();
    let (start, end) = (
        NIGHT_START.0 * 60 + NIGHT_START.1,
        NIGHT_END.0 * 60 + NIGHT_END.1,
    );
    if (start..end).contains(&minutes) {
        ChargeKind::Night
    } else {
        ChargeKind::Day
    }
}

/// One charge of a tariff over a period, before VAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub kind: ChargeKind,
    pub valid_from: DateTime<Utc>,
    pub valid_to: Option<DateTime<Utc>>,
    pub value_exc_vat: Micros,
}

impl Charge {
    /// Whether the charge applies at any instant of `[from, to)` (`to` open when `None`).
    pub fn overlaps(&self, from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> bool {
        to.is_none_or(|to| self.valid_from < to) && self.valid_to.is_none_or(|end| end > from)
    }
}

/// A product for one fuel, region and payment method.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductTariff {
    pub code: TariffCode,
    pub kind: TariffKind,
    pub payment_method: PaymentMethod,
    pub vat: Vat,
    /// A dynamic tariff's rate table (the [`crate::tariff::Tariff`] code its half-hourly rates
    /// are stored under).
    pub rates_tariff: Option<String>,
}

/// Checks a tariff's charges: only the kinds the tariff has, each period non-empty, and the
/// periods of one kind not overlapping.
pub fn validate_charges(kind: TariffKind, charges: &[Charge]) -> Result<(), ProductError> {
    for (i, charge) in charges.iter().enumerate() {
        if charge.kind != ChargeKind::Standing && !kind.unit_charges().contains(&charge.kind) {
            return refuse(format!(
                "charges[{i}]: a {} tariff has no {} rate",
                kind.as_str(),
                charge.kind.as_str()
            ));
        }
        if charge.valid_to.is_some_and(|to| to <= charge.valid_from) {
            return refuse(format!("charges[{i}]: validTo must be after validFrom"));
        }
        for (j, other) in charges.iter().enumerate().take(i) {
            if other.kind == charge.kind && other.overlaps(charge.valid_from, charge.valid_to) {
                return refuse(format!(
                    "charges[{i}] overlaps charges[{j}] ({} charges must not overlap)",
                    charge.kind.as_str()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;

    use super::*;

    #[test]
    fn tariff_codes_round_trip_and_refuse_what_is_not_one() {
        let code = TariffCode::parse("E-1R-AGILE-24-10-01-C").unwrap();
        assert_eq!(code.fuel, Fuel::Electricity);
        assert_eq!(code.registers, 1);
        assert_eq!(code.product.as_str(), "AGILE-24-10-01");
        assert_eq!(code.region.key(), "_C");
        assert_eq!(code.to_string(), "E-1R-AGILE-24-10-01-C");
        assert_eq!(
            TariffCode::parse("G-1R-VAR-22-11-01-P")
                .unwrap()
                .to_string(),
            "G-1R-VAR-22-11-01-P"
        );
        for bad in [
            "E-3R-AGILE-C",
            "G-2R-VAR-C",
            "E-1R-AGILE-I",
            "E-1R-agile-C",
            "E-1R--C",
            "E-1R-AGILE",
            "",
        ] {
            assert!(TariffCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regions_are_the_fourteen_gsp_groups() {
        assert_eq!(Region::parse("_A").unwrap().letter(), 'A');
        assert_eq!(Region::parse("P").unwrap().key(), "_P");
        for bad in ["I", "_O", "Q", "", "_", "AB"] {
            assert!(Region::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn vat_rounds_half_away_from_zero_to_a_millionth() {
        let vat = Vat::new(500).unwrap();
        assert_eq!(vat.include(Micros(20_000_000)), Micros(21_000_000));
        assert_eq!(vat.include(Micros(1)), Micros(1));
        assert_eq!(vat.include(Micros(10)), Micros(11));
        assert_eq!(vat.include(Micros(-10)), Micros(-11));
        assert!(Vat::new(10_001).is_err());
    }

    #[test]
    fn charges_of_one_kind_may_not_overlap() {
        let t = |h| Utc.with_ymd_and_hms(2026, 1, 1, h, 0, 0).unwrap();
        let charge = |kind, from, to: Option<u32>| Charge {
            kind,
            valid_from: t(from),
            valid_to: to.map(t),
            value_exc_vat: Micros(1),
        };
        let ok = [
            charge(ChargeKind::Standing, 0, Some(5)),
            charge(ChargeKind::Standing, 5, None),
            charge(ChargeKind::Standard, 0, None),
        ];
        assert!(validate_charges(TariffKind::SingleRate, &ok).is_ok());
        let overlapping = [
            charge(ChargeKind::Standing, 0, None),
            charge(ChargeKind::Standing, 5, Some(6)),
        ];
        assert!(validate_charges(TariffKind::SingleRate, &overlapping).is_err());
        let wrong_kind = [charge(ChargeKind::Night, 0, None)];
        assert!(validate_charges(TariffKind::SingleRate, &wrong_kind).is_err());
        assert!(validate_charges(TariffKind::DayNight, &wrong_kind).is_ok());
        let empty = [charge(ChargeKind::Standing, 5, Some(5))];
        assert!(validate_charges(TariffKind::Dynamic, &empty).is_err());
    }

    #[test]
    fn product_codes_are_upper_case_with_single_hyphens() {
        assert!(ProductCode::parse("AGILE-24-10-01").is_ok());
        for bad in ["agile", "-A", "A-", "A--B", "", "A B"] {
            assert!(ProductCode::parse(bad).is_err(), "{bad}");
        }
        assert!(ProductCode::parse(&"A".repeat(65)).is_err());
    }
}
