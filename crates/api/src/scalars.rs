//! The scalars as Kraken has them. Each parses leniently where real clients differ (a `Decimal` may come
//! as `"80.0"`, `80` or `80.0`; a `Time` as `HH:MM` or `HH:MM:SS`) and always answers in one canonical
//! form.

use std::str::FromStr;

use async_graphql::{InputValueError, InputValueResult, Number, Scalar, ScalarType, Value};
use chrono::{
    DateTime as ChronoDateTime, FixedOffset, NaiveDate, NaiveTime, SecondsFormat, Timelike, Utc,
};
use rust_decimal::Decimal as RustDecimal;

use crate::errors::ErrorCode;

/// An instant, ISO-8601 with a time zone offset. A value without an offset is refused with KT-CT-1609:
/// guessing the zone would silently shift a ready-by time by hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime(pub ChronoDateTime<Utc>);

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        match ChronoDateTime::<FixedOffset>::parse_from_rfc3339(text.trim()) {
            Ok(dt) => Ok(DateTime(dt.with_timezone(&Utc))),
            Err(_) if looks_like_naive_datetime(text) => Err(coded(
                InputValueError::custom(format!(
                    "{text:?} has no time zone offset; add one such as Z or +01:00"
                )),
                ErrorCode::DateTimeWithoutOffset,
            )),
            Err(err) => Err(coded(
                InputValueError::custom(format!(
                    "{text:?} is not an ISO-8601 date and time: {err}"
                )),
                ErrorCode::InvalidInput,
            )),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(format_instant(&self.0))
    }
}

/// The one format every instant leaves the API in: RFC 3339 with the offset (`+00:00`), whole
/// seconds when the instant has no fraction (slot boundaries, ready-by times), otherwise exactly
/// six fractional digits (microseconds, which both databases keep). Never three digits in one
/// place and nine in another.
pub fn format_instant(instant: &ChronoDateTime<Utc>) -> String {
    let format = if instant.timestamp_subsec_nanos() == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::Micros
    };
    instant.to_rfc3339_opts(format, false)
}

fn looks_like_naive_datetime(text: &str) -> bool {
    let text = text.trim();
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .any(|format| chrono::NaiveDateTime::parse_from_str(text, format).is_ok())
}

fn coded<T: async_graphql::InputType>(
    err: InputValueError<T>,
    code: ErrorCode,
) -> InputValueError<T> {
    err.with_extension("errorType", code.error_type().as_str())
        .with_extension("errorCode", code.code())
        .with_extension("errorDescription", code.description())
}

impl From<ChronoDateTime<Utc>> for DateTime {
    fn from(value: ChronoDateTime<Utc>) -> Self {
        DateTime(value)
    }
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map(Date)
            .map_err(|_| {
                coded(
                    InputValueError::custom(format!("{text:?} is not a YYYY-MM-DD date")),
                    ErrorCode::InvalidInput,
                )
            })
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// A wall-clock time of day. Accepts `HH:MM` and `HH:MM:SS`; answers `HH:MM:SS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub NaiveTime);

#[Scalar(name = "Time")]
impl ScalarType for Time {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        let text = text.trim();
        NaiveTime::parse_from_str(text, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M"))
            .map(|t| Time(t.with_nanosecond(0).unwrap_or(t)))
            .map_err(|_| {
                coded(
                    InputValueError::custom(format!("{text:?} is not a time (HH:MM or HH:MM:SS)")),
                    ErrorCode::InvalidInput,
                )
            })
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%H:%M:%S").to_string())
    }
}

/// An exact decimal number. Accepts a string, an integer or a float; answers a string such as `"80.0"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Decimal(pub RustDecimal);

#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        let parsed = match &value {
            Value::String(text) => RustDecimal::from_str(text.trim())
                .or_else(|_| RustDecimal::from_scientific(text.trim()))
                .ok(),
            Value::Number(number) => decimal_from_number(number),
            _ => return Err(InputValueError::expected_type(value)),
        };
        parsed.map(Decimal).ok_or_else(|| {
            coded(
                InputValueError::custom(format!("{value} is not a decimal number")),
                ErrorCode::InvalidInput,
            )
        })
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_) | Value::Number(_))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

fn decimal_from_number(number: &Number) -> Option<RustDecimal> {
    if let Some(i) = number.as_i64() {
        Some(RustDecimal::from(i))
    } else if let Some(u) = number.as_u64() {
        Some(RustDecimal::from(u))
    } else {
        // Through the shortest text that round-trips, so 80.1 stays 80.1 rather than 80.09999…
        number
            .as_f64()
            .filter(|f| f.is_finite())
            .and_then(|f| RustDecimal::from_str(&f.to_string()).ok())
    }
}

/// A JSON document carried inside a string.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonString(pub serde_json::Value);

#[Scalar(name = "JSONString")]
impl ScalarType for JsonString {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        serde_json::from_str(text).map(JsonString).map_err(|err| {
            coded(
                InputValueError::custom(format!("not valid JSON: {err}")),
                ErrorCode::InvalidInput,
            )
        })
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// Any JSON value, passed through as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct GenericScalar(pub serde_json::Value);

#[Scalar(name = "GenericScalar")]
impl ScalarType for GenericScalar {
    fn parse(value: Value) -> InputValueResult<Self> {
        value
            .into_json()
            .map(GenericScalar)
            .map_err(|err| coded(InputValueError::custom(err), ErrorCode::InvalidInput))
    }

    fn is_valid(_: &Value) -> bool {
        true
    }

    fn to_value(&self) -> Value {
        Value::from_json(self.0.clone()).unwrap_or(Value::Null)
    }
}

/// A 64-bit integer. Accepts a number or a string of digits; answers a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BigInt(pub i64);

#[Scalar(name = "BigInt")]
impl ScalarType for BigInt {
    fn parse(value: Value) -> InputValueResult<Self> {
        let parsed = match &value {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => return Err(InputValueError::expected_type(value)),
        };
        parsed.map(BigInt).ok_or_else(|| {
            coded(
                InputValueError::custom(format!("{value} is not a 64-bit integer")),
                ErrorCode::InvalidInput,
            )
        })
    }

    fn to_value(&self) -> Value {
        Value::Number(self.0.into())
    }
}

/// Registers the scalars that no field uses yet, so introspection always shows the whole set.
pub fn register_all<Q, M, S>(
    builder: async_graphql::SchemaBuilder<Q, M, S>,
) -> async_graphql::SchemaBuilder<Q, M, S> {
    builder
        .register_output_type::<DateTime>()
        .register_output_type::<Date>()
        .register_output_type::<Time>()
        .register_output_type::<Decimal>()
        .register_output_type::<JsonString>()
        .register_output_type::<GenericScalar>()
        .register_output_type::<BigInt>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::String(text.to_owned())
    }

    fn code_of<T: async_graphql::InputType>(err: InputValueError<T>) -> Option<String> {
        let server = err.into_server_error(Default::default());
        match server.extensions?.get("errorCode")? {
            Value::String(code) => Some(code.clone()),
            _ => None,
        }
    }

    #[test]
    fn datetime_needs_an_offset() {
        let parsed = <DateTime as ScalarType>::parse(s("2026-03-29T01:30:00+01:00")).unwrap();
        assert_eq!(parsed.to_value(), s("2026-03-29T00:30:00+00:00"));
        assert!(<DateTime as ScalarType>::parse(s("2026-03-29T01:30:00Z")).is_ok());
        let err = <DateTime as ScalarType>::parse(s("2026-03-29T01:30:00")).unwrap_err();
        assert_eq!(code_of(err).as_deref(), Some("KT-CT-1609"));
        let err = <DateTime as ScalarType>::parse(s("yesterday")).unwrap_err();
        assert_eq!(code_of(err).as_deref(), Some("KT-CT-1605"));
    }

    #[test]
    fn instants_have_one_format() {
        let at = |text: &str| <DateTime as ScalarType>::parse(s(text)).unwrap().to_value();
        assert_eq!(at("2026-11-27T12:30:00Z"), s("2026-11-27T12:30:00+00:00"));
        assert_eq!(
            at("2026-11-27T12:30:00.5Z"),
            s("2026-11-27T12:30:00.500000+00:00")
        );
        assert_eq!(
            at("2026-11-27T12:30:00.123456789+01:00"),
            s("2026-11-27T11:30:00.123456+00:00")
        );
        assert_eq!(
            at("2026-11-27T12:30:00.120Z"),
            s("2026-11-27T12:30:00.120000+00:00")
        );
    }

    #[test]
    fn time_accepts_minutes_and_seconds() {
        assert_eq!(
            <Time as ScalarType>::parse(s("07:30")).unwrap().to_value(),
            s("07:30:00")
        );
        assert_eq!(
            <Time as ScalarType>::parse(s("07:30:15"))
                .unwrap()
                .to_value(),
            s("07:30:15")
        );
        assert!(<Time as ScalarType>::parse(s("25:00")).is_err());
    }

    #[test]
    fn decimal_accepts_three_forms_and_answers_a_string() {
        for input in [
            s("80.0"),
            Value::Number(80.into()),
            Value::Number(Number::from_f64(80.0).unwrap()),
        ] {
            let parsed = <Decimal as ScalarType>::parse(input.clone()).unwrap();
            assert_eq!(parsed.0, RustDecimal::from(80), "{input}");
        }
        let tenth =
            <Decimal as ScalarType>::parse(Value::Number(Number::from_f64(80.1).unwrap())).unwrap();
        assert_eq!(tenth.to_value(), s("80.1"));
        assert!(<Decimal as ScalarType>::parse(s("eighty")).is_err());
        assert!(<Decimal as ScalarType>::parse(Value::Boolean(true)).is_err());
    }

    #[test]
    fn bigint_json_and_date() {
        assert_eq!(
            <BigInt as ScalarType>::parse(s("9007199254740993"))
                .unwrap()
                .0,
            9_007_199_254_740_993
        );
        assert!(<JsonString as ScalarType>::parse(s("{\"a\": 1}")).is_ok());
        assert!(<JsonString as ScalarType>::parse(s("{a}")).is_err());
        assert_eq!(
            <Date as ScalarType>::parse(s("2026-10-25"))
                .unwrap()
                .to_value(),
            s("2026-10-25")
        );
        let generic = <GenericScalar as ScalarType>::parse(
            Value::from_json(serde_json::json!({"exp": 1})).unwrap(),
        );
        assert_eq!(generic.unwrap().0, serde_json::json!({"exp": 1}));
    }
}
