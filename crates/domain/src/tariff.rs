//! Tariffs and their half-hourly (or quarter-hourly) unit rates, the rules an import must follow, and a
//! seeded generator of realistic day-ahead prices for the sandbox.
//!
//! Rates are exact: a [`Micros`] is a whole number of millionths, so a unit rate of `24.567` (minor
//! units, such as pence, per kWh) is `24_567_000`. The same type carries carbon intensity in gCO2/kWh.
//! Floats appear only inside the generator's shape, and are rounded to whole hundredths before they
//! become a [`Micros`].

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc, Weekday};
use chrono_tz::Tz;

/// An exact decimal with six places, held as a whole number of millionths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Micros(pub i64);

/// The number of [`Micros`] in one whole unit.
pub const MICROS_PER_UNIT: i64 = 1_000_000;

impl Micros {
    /// Parses a plain decimal (`12`, `-0.5`, `+24.123456`). Refuses exponents, more than six
    /// significant decimal places and values beyond the range of `i64` millionths.
    pub fn parse(text: &str) -> Result<Micros, String> {
        let text = text.trim();
        let bad = || format!("{text:?} is not a decimal number");
        let (negative, digits) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if (whole.is_empty() && fraction.is_empty())
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let fraction = fraction.trim_end_matches('0');
        if fraction.len() > 6 {
            return Err(format!("{text:?} has more than six decimal places"));
        }
        let too_big = || format!("{text:?} is too large");
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| too_big())?
        };
        let mut frac: i64 = 0;
        for (i, b) in fraction.bytes().enumerate() {
            frac += i64::from(b - b'0') * 10_i64.pow(5 - u32::try_from(i).unwrap_or(5));
        }
        let value = whole
            .checked_mul(MICROS_PER_UNIT)
            .and_then(|w| w.checked_add(frac))
            .ok_or_else(too_big)?;
        Ok(Micros(if negative { -value } else { value }))
    }

    /// From a whole number of hundredths (`2450` is `24.5`).
    pub fn from_hundredths(hundredths: i64) -> Micros {
        Micros(hundredths.saturating_mul(MICROS_PER_UNIT / 100))
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl FromStr for Micros {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Micros::parse(s)
    }
}

/// The shortest exact form with at least one decimal place: `24.5`, `-3.0`, `0.000001`.
impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let unit = MICROS_PER_UNIT.unsigned_abs();
        let fraction = format!("{:06}", abs % unit);
        let fraction = fraction.trim_end_matches('0');
        let fraction = if fraction.is_empty() { "0" } else { fraction };
        write!(f, "{sign}{}.{fraction}", abs / unit)
    }
}

/// A tariff: what its rates are priced in, and the local time and slot length they follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tariff {
    pub code: String,
    pub name: String,
    /// ISO 4217, for example `GBP`; rates are in its minor unit (pence) per kWh.
    pub currency: String,
    /// IANA time zone, for example `Europe/London`.
    pub time_zone: String,
    /// 30 or 15.
    pub slot_minutes: u32,
}

/// The slot lengths a tariff may have.
pub const SLOT_MINUTES: [u32; 2] = [30, 15];

impl Tariff {
    /// Checks the code, currency, time zone and slot length.
    pub fn validate(&self) -> Result<(), String> {
        let code = self.code.trim();
        if code.is_empty() || code.len() > 64 {
            return Err("the tariff code must have 1 to 64 characters".into());
        }
        if !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err(format!(
                "the tariff code {code:?} may only hold letters, digits, '-', '_' and '.'"
            ));
        }
        if self.name.trim().is_empty() || self.name.len() > 200 {
            return Err("the tariff name must have 1 to 200 characters".into());
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "{:?} is not an ISO 4217 currency code",
                self.currency
            ));
        }
        self.tz()?;
        if !SLOT_MINUTES.contains(&self.slot_minutes) {
            return Err(format!(
                "slots must be 30 or 15 minutes long, not {}",
                self.slot_minutes
            ));
        }
        Ok(())
    }

    /// The tariff's time zone.
    pub fn tz(&self) -> Result<Tz, String> {
        parse_time_zone(&self.time_zone)
    }
}

/// An IANA time zone by name.
pub fn parse_time_zone(name: &str) -> Result<Tz, String> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| format!("{name:?} is not an IANA time zone"))
}

/// The price and carbon intensity of one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    pub valid_from: DateTime<Utc>,
    pub valid_to: DateTime<Utc>,
    /// Minor units (such as pence) per kWh imported; may be negative.
    pub import_minor_per_kwh: Micros,
    /// Minor units per kWh exported, if the tariff pays for export.
    pub export_minor_per_kwh: Option<Micros>,
    /// gCO2 per kWh; never negative.
    pub carbon_g_per_kwh: Option<Micros>,
}

/// Why a batch of rates was refused: the index (0-based) of the first bad rate, and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate {index}: {reason}")]
pub struct RateError {
    pub index: usize,
    pub reason: String,
}

/// Checks one import: every rate ends after it starts, is exactly one slot long, starts on a slot
/// boundary (whole multiples of the slot length since the Unix epoch, which is local-time aligned for
/// every zone whose offset is a whole number of slots), has no negative carbon, and overlaps no other.
pub fn validate_rates(slot_minutes: u32, rates: &[Rate]) -> Result<(), RateError> {
    let slot = i64::from(slot_minutes) * 60;
    let fail = |index: usize, reason: String| Err(RateError { index, reason });
    if slot <= 0 {
        return fail(0, "the tariff has no slot length".into());
    }
    for (index, rate) in rates.iter().enumerate() {
        if rate.valid_to <= rate.valid_from {
            return fail(index, "validTo must be after validFrom".into());
        }
        if (rate.valid_to - rate.valid_from).num_seconds() != slot
            || rate.valid_to - rate.valid_from != Duration::seconds(slot)
        {
            return fail(
                index,
                format!("a rate must last exactly {slot_minutes} minutes"),
            );
        }
        if rate.valid_from.timestamp().rem_euclid(slot) != 0
            || rate.valid_from.timestamp_subsec_nanos() != 0
        {
            return fail(
                index,
                format!("validFrom must be on a {slot_minutes}-minute boundary"),
            );
        }
        if rate.carbon_g_per_kwh.is_some_and(Micros::is_negative) {
            return fail(index, "carbon intensity must not be negative".into());
        }
    }
    let mut order: Vec<usize> = (0..rates.len()).collect();
    order.sort_by_key(|&i| rates[i].valid_from);
    for pair in order.windows(2) {
        let (a, b) = (&rates[pair[0]], &rates[pair[1]]);
        if b.valid_from < a.valid_to {
            return fail(
                pair[0].max(pair[1]),
                format!(
                    "overlaps the rate starting at {}",
                    a.valid_from.to_rfc3339()
                ),
            );
        }
    }
    Ok(())
}

/// A small, stable pseudo-random generator (SplitMix64), so the same seed gives the same prices on
/// every platform and version.
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The weather of one generated day, drawn from the seed and the date.
#[derive(Debug, Clone, Copy)]
struct DayWeather {
    /// 0 (still) to 1 (gale).
    wind: f64,
    /// 0 (overcast) to 1 (clear).
    sun: f64,
    /// 0 at midwinter to 1 at midsummer (northern hemisphere).
    summer: f64,
}

fn weather(seed: u64, date: NaiveDate) -> DayWeather {
    let day = u64::try_from(date.num_days_from_ce()).unwrap_or(0);
    let mut rng = SplitMix(seed ^ day.wrapping_mul(0xA24B_AED4_963E_E407));
    let from_midsummer = f64::from(date.ordinal()) - 172.0;
    DayWeather {
        wind: rng.unit(),
        sun: rng.unit(),
        summer: 0.5 + 0.5 * (std::f64::consts::TAU * from_midsummer / 365.25).cos(),
    }
}

/// The price (minor units per kWh) and carbon intensity (gCO2/kWh) of a slot, before rounding, from
/// its local time of day, the day of the week and the day's weather.
fn shape(local_hour: f64, weekday: Weekday, weather: DayWeather, noise: f64) -> (f64, f64) {
    let bump = |centre: f64, width: f64| (-((local_hour - centre) / width).powi(2)).exp();
    let weekend = matches!(weekday, Weekday::Sat | Weekday::Sun);
    let (morning, evening) = if weekend { (3.0, 10.0) } else { (9.0, 17.0) };
    // A base that dips through the night (trough around 03:30) and a day-time plateau.
    let mut price = 14.0
        + 10.0 * (1.0 - bump(3.5, 3.0))
        + morning * bump(if weekend { 9.5 } else { 8.0 }, 1.3)
        + evening * bump(18.0, 1.6)
        - 4.0 * weather.wind;
    // Sunshine (strong in summer, weak in winter) pushes the middle of the day down; on sunny and
    // windy days below zero.
    let sun = weather.sun * (0.2 + 0.8 * weather.summer);
    let solar = sun * bump(13.0, 2.2);
    price -= 6.0 * solar;
    if sun > 0.6 && weather.wind > 0.7 {
        price -= 22.0 * bump(13.0, 1.8);
    }
    price += noise;
    let carbon = (40.0 + 7.0 * price.max(0.0) - 60.0 * weather.wind - 80.0 * solar).max(15.0);
    (price, carbon)
}

/// Realistic day-ahead rates for `days` local days from `from` (local midnight to local midnight) in the
/// tariff's time zone: one rate per UTC slot, shaped by local time, so a clock-change day has 46 or 50
/// half-hours. Deterministic for a seed. Prices and carbon are rounded to hundredths; export pays 60%
/// of the import price, never less than zero.
pub fn generate_day_ahead(
    tariff: &Tariff,
    from: NaiveDate,
    days: u32,
    seed: u64,
) -> Result<Vec<Rate>, String> {
    let tz = tariff.tz()?;
    if !SLOT_MINUTES.contains(&tariff.slot_minutes) {
        return Err(format!("slots of {} minutes", tariff.slot_minutes));
    }
    let local_midnight = |date: NaiveDate| -> Result<DateTime<Utc>, String> {
        crate::calendar::local_midnight(date, tz)
            .ok_or_else(|| format!("{date} has no local midnight"))
    };
    let end_date = from
        .checked_add_days(chrono::Days::new(u64::from(days)))
        .ok_or("too many days")?;
    let start = local_midnight(from)?;
    let end = local_midnight(end_date)?;
    let slot = Duration::minutes(i64::from(tariff.slot_minutes));
    let mut rates = Vec::new();
    let mut at = start;
    let mut noise_rng = SplitMix(seed.rotate_left(17) ^ 0x5EED);
    while at < end {
        let local = at.with_timezone(&tz);
        let hour = f64::from(local.hour()) + f64::from(local.minute()) / 60.0;
        let noise = (noise_rng.unit() - 0.5) * 1.5;
        let (price, carbon) = shape(
            hour,
            local.weekday(),
            weather(seed, local.date_naive()),
            noise,
        );
        let hundredths = |v: f64| (v * 100.0).round() as i64;
        let import = Micros::from_hundredths(hundredths(price));
        rates.push(Rate {
            valid_from: at,
            valid_to: at + slot,
            import_minor_per_kwh: import,
            export_minor_per_kwh: Some(Micros::from_hundredths(hundredths(price * 0.6).max(0))),
            carbon_g_per_kwh: Some(Micros::from_hundredths(hundredths(carbon))),
        });
        at += slot;
    }
    Ok(rates)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn london(slot_minutes: u32) -> Tariff {
        Tariff {
            code: "AGILE-TEST".into(),
            name: "Agile test".into(),
            currency: "GBP".into(),
            time_zone: "Europe/London".into(),
            slot_minutes,
        }
    }

    #[test]
    fn micros_parse_and_print_exactly() {
        assert_eq!(Micros::parse("24.567").unwrap(), Micros(24_567_000));
        assert_eq!(Micros::parse("-0.5").unwrap(), Micros(-500_000));
        assert_eq!(Micros::parse("+3").unwrap(), Micros(3_000_000));
        assert_eq!(Micros::parse(".25").unwrap(), Micros(250_000));
        assert_eq!(Micros::parse("1.1000000").unwrap(), Micros(1_100_000));
        for bad in [
            "",
            "-",
            ".",
            "1e3",
            "1.2.3",
            "abc",
            "1.0000001",
            "99999999999999999",
        ] {
            assert!(Micros::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Micros(24_567_000).to_string(), "24.567");
        assert_eq!(Micros(-3_000_000).to_string(), "-3.0");
        assert_eq!(Micros(1).to_string(), "0.000001");
        assert_eq!(Micros(-1).to_string(), "-0.000001");
    }

    fn rate(from: &str, minutes: i64) -> Rate {
        let valid_from = DateTime::parse_from_rfc3339(from).unwrap().to_utc();
        Rate {
            valid_from,
            valid_to: valid_from + Duration::minutes(minutes),
            import_minor_per_kwh: Micros(1),
            export_minor_per_kwh: None,
            carbon_g_per_kwh: None,
        }
    }

    #[test]
    fn rates_are_validated() {
        let good = [
            rate("2026-01-01T00:00:00Z", 30),
            rate("2026-01-01T00:30:00Z", 30),
        ];
        assert!(validate_rates(30, &good).is_ok());
        assert_eq!(
            validate_rates(30, &[rate("2026-01-01T00:00:00Z", 15)])
                .unwrap_err()
                .index,
            0
        );
        assert!(validate_rates(30, &[rate("2026-01-01T00:10:00Z", 30)]).is_err());
        assert!(validate_rates(30, &[rate("2026-01-01T00:00:00Z", 0)]).is_err());
        let overlap = [good[0].clone(), good[1].clone(), good[0].clone()];
        assert_eq!(validate_rates(30, &overlap).unwrap_err().index, 2);
        let mut negative = good[0].clone();
        negative.carbon_g_per_kwh = Some(Micros(-1));
        assert!(validate_rates(30, &[negative]).is_err());
        assert!(validate_rates(15, &[rate("2026-01-01T00:45:00+01:00", 15)]).is_ok());
    }

    #[test]
    fn tariffs_are_validated() {
        assert!(london(30).validate().is_ok());
        assert!(london(20).validate().is_err());
        let mut bad_zone = london(30);
        bad_zone.time_zone = "Mars/Olympus".into();
        assert!(bad_zone.validate().is_err());
    }

    #[test]
    fn the_generator_is_deterministic_and_dst_correct() {
        let tariff = london(30);
        let day = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        let a = generate_day_ahead(&tariff, day, 1, 7).unwrap();
        assert_eq!(a.len(), 46, "spring forward");
        assert_eq!(a, generate_day_ahead(&tariff, day, 1, 7).unwrap());
        assert_ne!(a, generate_day_ahead(&tariff, day, 1, 8).unwrap());
        let autumn = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
        assert_eq!(generate_day_ahead(&tariff, autumn, 1, 7).unwrap().len(), 50);
        assert_eq!(
            generate_day_ahead(&london(15), autumn, 2, 7).unwrap().len(),
            100 + 96
        );
        assert!(validate_rates(30, &a).is_ok());
    }

    #[test]
    fn generated_prices_have_a_realistic_shape() {
        let tariff = london(30);
        let tz = tariff.tz().unwrap();
        let from = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        let rates = generate_day_ahead(&tariff, from, 60, 42).unwrap();
        let mut negative_days = 0;
        for day in rates.chunks(48) {
            let cheapest = day.iter().min_by_key(|r| r.import_minor_per_kwh).unwrap();
            if cheapest.import_minor_per_kwh.is_negative() {
                negative_days += 1;
                continue;
            }
            let hour = cheapest.valid_from.with_timezone(&tz).hour();
            let dearest = day.iter().max_by_key(|r| r.import_minor_per_kwh).unwrap();
            let peak = dearest.valid_from.with_timezone(&tz).hour();
            assert!(hour < 7, "cheapest at {hour}h");
            assert!((6..=21).contains(&peak), "peak at {peak}h");
        }
        assert!(
            (1..30).contains(&negative_days),
            "{negative_days} negative days"
        );
    }
}
