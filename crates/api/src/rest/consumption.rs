//! `GET /v1/electricity-meter-points/{mpan}/`, and a meter's consumption:
//! `/v1/electricity-meter-points/{mpan}/meters/{serial}/consumption/` and
//! `/v1/gas-meter-points/{mprn}/meters/{serial}/consumption/`, with `period_from`, `period_to`,
//! `page_size` (up to 25,000), `order_by` (`-period`, the default, or `period`) and `group_by`
//! (`hour`, `day`, `week`, `month`, `quarter`, in the property's time zone).
//!
//! Authenticated as the public API is: HTTP basic with the customer's API key as the user name
//! and an empty password. A missing or wrong key is 401; a meter point or meter the key's user
//! may not see is 404, as one that does not exist.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use chrono_tz::Tz;
use resiflex_domain::calendar::Granularity;
use resiflex_domain::product::{Fuel, TariffCode};
use resiflex_domain::reading::ReadingDirection;
use resiflex_energy::products::Paging;
use resiflex_energy::readings::measurements::{
    self as energy, Filter, Frequency, QualityFilter, Window,
};
use resiflex_store::accounts;
use resiflex_store::identity::{self, AccountUser};
use resiflex_store::supply::{self as supply_store, StoredMeterPoint};
use serde_json::{Value, json};

use super::{Params, RestError, instant, page_body};
use crate::http::AppState;

/// The largest page of consumption: a year of half-hours.
pub const MAX_CONSUMPTION_PAGE: u32 = 25_000;

/// 401 with the challenge the public API sends.
fn unauthorised() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic realm=\"api\"")],
        Json(json!({"detail": "Authentication credentials were not provided or are not valid."})),
    )
        .into_response()
}

/// The user whose API key is the basic-auth user name, if it is a live key.
async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Option<AccountUser>, RestError> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return Ok(None);
    };
    let Some(decoded) = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        return Ok(None);
    };
    let key = decoded
        .split_once(':')
        .map_or(decoded.as_str(), |(user, _)| user);
    if key.is_empty() || key.len() > 256 {
        return Ok(None);
    }
    let user =
        identity::user_by_api_key_hash(&state.db, &crate::auth::credentials::hash_secret(key))
            .await
            .map_err(|err| {
                tracing::error!(error = %err, "REST authentication failed in storage");
                RestError::Internal
            })?;
    Ok(user.filter(|u| u.deleted_at.is_none()))
}

fn store_failed(err: impl std::fmt::Display) -> RestError {
    tracing::error!(error = %err, "REST request failed in storage");
    RestError::Internal
}

/// The meter point, if the user is a member of the account whose property it is on.
async fn visible_point(
    state: &AppState,
    user: &AccountUser,
    fuel: Fuel,
    identifier: &str,
) -> Result<(StoredMeterPoint, accounts::Property), RestError> {
    let point = supply_store::meter_point(&state.db, fuel, identifier)
        .await
        .map_err(store_failed)?
        .ok_or(RestError::NotFound)?;
    let property = accounts::property_by_id(&state.db, point.property_id)
        .await
        .map_err(store_failed)?
        .ok_or(RestError::NotFound)?;
    let member = accounts::is_member(&state.db, property.account_id, user.id)
        .await
        .map_err(store_failed)?;
    if !member {
        return Err(RestError::NotFound);
    }
    Ok((point, property))
}

/// `GET /v1/electricity-meter-points/{mpan}/`: `{gsp, mpan, profile_class}`.
pub(super) async fn electricity_meter_point(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(mpan): Path<String>,
) -> Result<Response, RestError> {
    let Some(user) = caller(&state, &headers).await? else {
        return Ok(unauthorised());
    };
    let (point, _) = visible_point(&state, &user, Fuel::Electricity, &mpan).await?;
    let agreements = supply_store::agreements_of(&state.db, point.id)
        .await
        .map_err(store_failed)?;
    let now = state.clock.now();
    let gsp = agreements
        .iter()
        .rev()
        .find(|a| a.period.contains(now))
        .or(agreements.last())
        .and_then(|a| TariffCode::parse(&a.tariff_code).ok())
        .map(|code| code.region.key());
    Ok(Json(json!({
        "gsp": gsp,
        "mpan": point.point.id.as_str(),
        "profile_class": 1,
    }))
    .into_response())
}

pub(super) async fn electricity_consumption(
    state: State<AppState>,
    headers: HeaderMap,
    Path((mpan, serial)): Path<(String, String)>,
    query: Query<HashMap<String, String>>,
) -> Result<Response, RestError> {
    consumption(state, headers, Fuel::Electricity, mpan, serial, query).await
}

pub(super) async fn gas_consumption(
    state: State<AppState>,
    headers: HeaderMap,
    Path((mprn, serial)): Path<(String, String)>,
    query: Query<HashMap<String, String>>,
) -> Result<Response, RestError> {
    consumption(state, headers, Fuel::Gas, mprn, serial, query).await
}

async fn consumption(
    State(state): State<AppState>,
    headers: HeaderMap,
    fuel: Fuel,
    identifier: String,
    serial: String,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, RestError> {
    let Some(user) = caller(&state, &headers).await? else {
        return Ok(unauthorised());
    };
    let (point, property) = visible_point(&state, &user, fuel, &identifier).await?;
    let meters = supply_store::meters_of(&state.db, point.id)
        .await
        .map_err(store_failed)?;
    let meter = meters
        .iter()
        .find(|m| m.meter.serial_number == serial)
        .ok_or(RestError::NotFound)?;
    let params = Params(query);
    let from = params.instant("period_from")?;
    let to = params.instant("period_to")?;
    if to.is_some() && from.is_none() {
        return Err(RestError::Parameter(
            "period_to",
            "period_to needs period_from.".into(),
        ));
    }
    let now = state.clock.now();
    let to = to.unwrap_or_else(|| now + Duration::minutes(30));
    let from = from
        .unwrap_or(meter.meter.active.from)
        .max(meter.meter.active.from);
    let newest_first = match params.text("order_by") {
        None | Some("-period") => true,
        Some("period") => false,
        Some(_) => {
            return Err(RestError::Parameter(
                "order_by",
                "Enter period or -period.".into(),
            ));
        }
    };
    let frequency = match params.text("group_by") {
        None => Frequency::Raw,
        Some("hour") => Frequency::Buckets(Granularity::Hour),
        Some("day") => Frequency::Buckets(Granularity::Day),
        Some("week") => Frequency::Buckets(Granularity::Week),
        Some("month") => Frequency::Buckets(Granularity::Month),
        Some("quarter") => Frequency::Buckets(Granularity::Quarter),
        Some(_) => {
            return Err(RestError::Parameter(
                "group_by",
                "Enter hour, day, week, month or quarter.".into(),
            ));
        }
    };
    let paging = Paging::up_to(
        params.number("page")?,
        params.number("page_size")?,
        MAX_CONSUMPTION_PAGE,
    )
    .map_err(|e| RestError::from_energy(e, "page_size"))?;
    let zone: Tz = property
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Europe::London);
    if to <= from {
        return Ok(
            Json(json!({"count": 0, "next": null, "previous": null, "results": []}))
                .into_response(),
        );
    }
    let filter = Filter {
        fuel,
        direction: ReadingDirection::Consumption,
        frequency,
        quality: QualityFilter::Combined,
        market_supply_point_id: Some(point.point.id.as_str().to_owned()),
        device_id: None,
        register_id: None,
        meter_serial: Some(serial),
    };
    let mut found = energy::measurements(
        &state.db,
        property.id,
        &filter,
        &Window { from, to, zone },
        false,
    )
    .await
    .map_err(|e| RestError::from_energy(e, "period_from"))?;
    if newest_first {
        found.reverse();
    }
    let page = paging
        .slice(found)
        .map_err(|e| RestError::from_energy(e, "page"))?;
    let path = match fuel {
        Fuel::Electricity => format!(
            "/v1/electricity-meter-points/{identifier}/meters/{}/consumption/",
            meter.meter.serial_number
        ),
        Fuel::Gas => format!(
            "/v1/gas-meter-points/{identifier}/meters/{}/consumption/",
            meter.meter.serial_number
        ),
    };
    let body: Value = page_body(&state, &path, &params, &page, |m| {
        let (start, end) = m.interval.unwrap_or((m.read_at, m.read_at));
        json!({
            "consumption": m.milli as f64 / 1_000.0,
            "interval_start": instant(start),
            "interval_end": instant(end),
        })
    });
    Ok(Json(body).into_response())
}
