//! The public REST API beside GraphQL, in the shapes the public Kraken REST API uses: JSON lists
//! as `{count, next, previous, results}` with absolute `next`/`previous` links carrying `page`,
//! every path with and without its trailing slash, errors as `{"detail": ...}` (404) or
//! `{"<parameter>": ["..."]}` (400). This module maps HTTP to the energy crate and back; the
//! rules live there.

mod consumption;
mod products;

use std::collections::HashMap;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use resiflex_energy::EnergyError;
use resiflex_energy::products::{Page, Paging};
use serde_json::{Value, json};

use crate::http::AppState;

/// The REST routes, each with and without the trailing slash.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for (path, handler) in [
        ("/v1/products", get(products::list)),
        ("/v1/products/{product}", get(products::detail)),
        (
            "/v1/products/{product}/electricity-tariffs/{tariff}/{list}",
            get(products::electricity_prices),
        ),
        (
            "/v1/products/{product}/gas-tariffs/{tariff}/{list}",
            get(products::gas_prices),
        ),
        (
            "/v1/electricity-meter-points/{mpan}",
            get(consumption::electricity_meter_point),
        ),
        (
            "/v1/electricity-meter-points/{mpan}/meters/{serial}/consumption",
            get(consumption::electricity_consumption),
        ),
        (
            "/v1/gas-meter-points/{mprn}/meters/{serial}/consumption",
            get(consumption::gas_consumption),
        ),
    ] {
        router = router
            .route(path, handler.clone())
            .route(&format!("{path}/"), handler);
    }
    router
}

/// A REST failure.
#[derive(Debug)]
pub(crate) enum RestError {
    /// 400: the parameter and what is wrong with it.
    Parameter(&'static str, String),
    NotFound,
    Internal,
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        match self {
            RestError::Parameter(name, message) => {
                let mut body = serde_json::Map::new();
                body.insert(name.to_owned(), json!([message]));
                (StatusCode::BAD_REQUEST, axum::Json(Value::Object(body))).into_response()
            }
            RestError::NotFound => (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"detail": "Not found."})),
            )
                .into_response(),
            RestError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(json!({"detail": "The server could not answer; try again."})),
            )
                .into_response(),
        }
    }
}

impl RestError {
    /// From the energy crate: an invalid request names `parameter`.
    fn from_energy(err: EnergyError, parameter: &'static str) -> RestError {
        match err {
            EnergyError::Invalid(message) => RestError::Parameter(parameter, message),
            EnergyError::NotFound | EnergyError::NotOwner => RestError::NotFound,
            EnergyError::Store(err) => {
                tracing::error!(error = %err, "REST request failed in storage");
                RestError::Internal
            }
        }
    }
}

/// The query string's parameters, each checked as it is read.
pub(crate) struct Params(pub(crate) HashMap<String, String>);

impl Params {
    fn text(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn bool(&self, name: &'static str) -> Result<Option<bool>, RestError> {
        match self.text(name) {
            None => Ok(None),
            Some("true" | "True" | "1") => Ok(Some(true)),
            Some("false" | "False" | "0") => Ok(Some(false)),
            Some(_) => Err(RestError::Parameter(name, "Enter true or false.".into())),
        }
    }

    fn number(&self, name: &'static str) -> Result<Option<u32>, RestError> {
        self.text(name)
            .map(|v| {
                v.parse::<u32>()
                    .map_err(|_| RestError::Parameter(name, "Enter a whole number.".into()))
            })
            .transpose()
    }

    /// An ISO 8601 instant (`2026-12-01T00:00:00Z`, with any offset); without an offset, or a
    /// bare date, it is UTC.
    fn instant(&self, name: &'static str) -> Result<Option<DateTime<Utc>>, RestError> {
        let Some(text) = self.text(name) else {
            return Ok(None);
        };
        let parsed = DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .or_else(|_| {
                NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
            })
            .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").map(|t| t.and_utc()))
            .or_else(|_| {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
            });
        parsed
            .map(Some)
            .map_err(|_| RestError::Parameter(name, "Enter a valid date/time.".into()))
    }

    fn paging(&self) -> Result<Paging, RestError> {
        let page = self.number("page")?;
        let page_size = self.number("page_size")?;
        Paging::new(page, page_size).map_err(|e| {
            RestError::from_energy(e, if page == Some(0) { "page" } else { "page_size" })
        })
    }
}

/// An instant as the public API writes it: `2026-12-01T00:00:00Z`.
pub(crate) fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `{count, next, previous, results}` for one page at `path` (the query string kept, `page`
/// replaced).
pub(crate) fn page_body<T>(
    state: &AppState,
    path: &str,
    params: &Params,
    page: &Page<T>,
    result: impl Fn(&T) -> Value,
) -> Value {
    let link = |number: u32| {
        let mut pairs: Vec<(&str, String)> = params
            .0
            .iter()
            .filter(|(k, _)| k.as_str() != "page")
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        pairs.sort();
        pairs.push(("page", number.to_string()));
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        format!("{}{path}?{}", state.public_url, query.join("&"))
    };
    json!({
        "count": page.count,
        "next": page.has_next().then(|| link(page.page + 1)),
        "previous": page.has_previous().then(|| link(page.page - 1)),
        "results": page.items.iter().map(result).collect::<Vec<_>>(),
    })
}

/// Percent-encodes a query component (RFC 3986 unreserved characters stay).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn instants_are_read_with_or_without_an_offset() {
        let p = params(&[
            ("a", "2026-12-01T10:00:00Z"),
            ("b", "2026-12-01T11:00:00+01:00"),
            ("c", "2026-12-01T10:00:00"),
            ("d", "2026-12-01"),
            ("e", "yesterday"),
        ]);
        let ten = "2026-12-01T10:00:00Z".parse::<DateTime<Utc>>().ok();
        assert_eq!(p.instant("a").ok().flatten(), ten);
        assert_eq!(p.instant("b").ok().flatten(), ten);
        assert_eq!(p.instant("c").ok().flatten(), ten);
        assert_eq!(
            p.instant("d").ok().flatten().map(instant).as_deref(),
            Some("2026-12-01T00:00:00Z")
        );
        assert!(matches!(p.instant("e"), Err(RestError::Parameter("e", _))));
        assert_eq!(p.instant("absent").ok().flatten(), None);
    }

    #[test]
    fn query_components_are_percent_encoded() {
        assert_eq!(
            encode("2026-12-01T10:00:00+01:00"),
            "2026-12-01T10%3A00%3A00%2B01%3A00"
        );
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
