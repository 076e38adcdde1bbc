//! `GET /v1/products/`, `/v1/products/{code}/` and a tariff's price lists
//! (`.../electricity-tariffs/{tariff}/standard-unit-rates/`, `day-unit-rates`, `night-unit-rates`,
//! `standing-charges`, and the gas equivalents). Public: no authentication, as on the public API.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use resiflex_domain::product::{Fuel, PaymentMethod, TariffKind, Vat, as_number};
use resiflex_domain::tariff::Micros;
use resiflex_energy::products::{self as energy, PriceList, PriceRow, ProductDetail, TariffAt};
use resiflex_store::products::{ProductFilter, StoredProduct};
use serde_json::{Value, json};

use super::{Params, RestError, instant, page_body};
use crate::http::AppState;

type Answer = Result<Json<Value>, RestError>;

fn product_fields(state: &AppState, stored: &StoredProduct) -> serde_json::Map<String, Value> {
    let p = &stored.product;
    let mut fields = serde_json::Map::new();
    for (key, value) in [
        ("code", json!(p.code.as_str())),
        ("direction", json!(p.direction.as_str())),
        ("full_name", json!(p.full_name)),
        ("display_name", json!(p.display_name)),
        ("description", json!(p.description)),
        ("is_variable", json!(p.is_variable)),
        ("is_green", json!(p.is_green)),
        ("is_tracker", json!(p.is_tracker)),
        ("is_prepay", json!(p.is_prepay)),
        ("is_business", json!(p.is_business)),
        (
            "is_restricted",
            json!(p.availability == resiflex_domain::product::ProductAvailability::Restricted),
        ),
        ("term", json!(p.term_months)),
        ("available_from", json!(instant(p.available_from))),
        ("available_to", json!(p.available_to.map(instant))),
        (
            "links",
            json!([{
                "href": format!("{}/v1/products/{}/", state.public_url, p.code),
                "method": "GET",
                "rel": "self",
            }]),
        ),
        ("brand", json!(p.brand)),
    ] {
        fields.insert(key.to_owned(), value);
    }
    fields
}

/// `GET /v1/products/`: the products open to everyone at `available_at` (default now).
pub(super) async fn list(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let params = Params(query);
    let filter = ProductFilter {
        is_variable: params.bool("is_variable")?,
        is_green: params.bool("is_green")?,
        is_tracker: params.bool("is_tracker")?,
        is_prepay: params.bool("is_prepay")?,
        // As on the public API, business products only when asked for.
        is_business: Some(params.bool("is_business")?.unwrap_or(false)),
    };
    let at = params
        .instant("available_at")?
        .unwrap_or_else(|| state.clock.now());
    let paging = params.paging()?;
    let page = energy::list(&state.db, at, filter, paging)
        .await
        .map_err(|e| RestError::from_energy(e, "page"))?;
    Ok(Json(page_body(
        &state,
        "/v1/products/",
        &params,
        &page,
        |p| Value::Object(product_fields(&state, p)),
    )))
}

fn price(value: Option<Micros>, vat: Vat) -> (Value, Value) {
    match value {
        Some(v) => (json!(as_number(v)), json!(as_number(vat.include(v)))),
        None => (Value::Null, Value::Null),
    }
}

fn tariff_body(state: &AppState, product: &str, at: &TariffAt) -> Value {
    let tariff = &at.tariff.tariff;
    let vat = tariff.vat;
    let (fuel_path, lists): (&str, &[(&str, &str)]) = match (tariff.code.fuel, tariff.kind) {
        (Fuel::Gas, _) => (
            "gas-tariffs",
            &[
                ("standard_unit_rates", "standard-unit-rates"),
                ("standing_charges", "standing-charges"),
            ],
        ),
        (Fuel::Electricity, TariffKind::DayNight) => (
            "electricity-tariffs",
            &[
                ("day_unit_rates", "day-unit-rates"),
                ("night_unit_rates", "night-unit-rates"),
                ("standing_charges", "standing-charges"),
            ],
        ),
        (Fuel::Electricity, _) => (
            "electricity-tariffs",
            &[
                ("standard_unit_rates", "standard-unit-rates"),
                ("standing_charges", "standing-charges"),
            ],
        ),
    };
    let mut body = serde_json::Map::new();
    body.insert("code".into(), json!(tariff.code.to_string()));
    let (standing_exc, standing_inc) = price(at.standing, vat);
    body.insert("standing_charge_exc_vat".into(), standing_exc);
    body.insert("standing_charge_inc_vat".into(), standing_inc);
    for key in [
        "online_discount_exc_vat",
        "online_discount_inc_vat",
        "dual_fuel_discount_exc_vat",
        "dual_fuel_discount_inc_vat",
        "exit_fees_exc_vat",
        "exit_fees_inc_vat",
    ] {
        body.insert(key.into(), json!(0));
    }
    body.insert("exit_fees_type".into(), json!("NONE"));
    if tariff.kind == TariffKind::DayNight {
        let (day_exc, day_inc) = price(at.unit, vat);
        let (night_exc, night_inc) = price(at.night, vat);
        body.insert("day_unit_rate_exc_vat".into(), day_exc);
        body.insert("day_unit_rate_inc_vat".into(), day_inc);
        body.insert("night_unit_rate_exc_vat".into(), night_exc);
        body.insert("night_unit_rate_inc_vat".into(), night_inc);
    } else {
        let (exc, inc) = price(at.unit, vat);
        body.insert("standard_unit_rate_exc_vat".into(), exc);
        body.insert("standard_unit_rate_inc_vat".into(), inc);
    }
    let links: Vec<Value> = lists
        .iter()
        .map(|(rel, path)| {
            json!({
                "href": format!(
                    "{}/v1/products/{product}/{fuel_path}/{}/{path}/",
                    state.public_url, tariff.code
                ),
                "method": "GET",
                "rel": rel,
            })
        })
        .collect();
    body.insert("links".into(), Value::Array(links));
    Value::Object(body)
}

fn detail_body(state: &AppState, detail: &ProductDetail, at: DateTime<Utc>) -> Value {
    let code = detail.product.product.code.as_str();
    let mut fields = product_fields(state, &detail.product);
    fields.insert("tariffs_active_at".into(), json!(instant(at)));
    // Region → payment method → tariff, per kind of tariff.
    let mut maps: BTreeMap<&str, BTreeMap<String, serde_json::Map<String, Value>>> = [
        "single_register_electricity_tariffs",
        "dual_register_electricity_tariffs",
        "single_register_gas_tariffs",
    ]
    .into_iter()
    .map(|k| (k, BTreeMap::new()))
    .collect();
    for tariff in &detail.tariffs {
        let t = &tariff.tariff.tariff;
        let key = match (t.code.fuel, t.code.registers) {
            (Fuel::Gas, _) => "single_register_gas_tariffs",
            (Fuel::Electricity, 2) => "dual_register_electricity_tariffs",
            (Fuel::Electricity, _) => "single_register_electricity_tariffs",
        };
        if let Some(map) = maps.get_mut(key) {
            map.entry(t.code.region.key()).or_default().insert(
                t.payment_method.rest_key().into(),
                tariff_body(state, code, tariff),
            );
        }
    }
    for (key, regions) in maps {
        let regions: serde_json::Map<String, Value> = regions
            .into_iter()
            .map(|(region, methods)| (region, Value::Object(methods)))
            .collect();
        fields.insert(key.into(), Value::Object(regions));
    }
    Value::Object(fields)
}

/// `GET /v1/products/{code}/`: the product and its tariffs as they are at `tariffs_active_at`
/// (default now).
pub(super) async fn detail(
    State(state): State<AppState>,
    Path(product): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let params = Params(query);
    let at = params
        .instant("tariffs_active_at")?
        .unwrap_or_else(|| state.clock.now());
    let detail = energy::detail(&state.db, &product, at)
        .await
        .map_err(|e| RestError::from_energy(e, "tariffs_active_at"))?;
    Ok(Json(detail_body(&state, &detail, at)))
}

fn price_row(row: &PriceRow) -> Value {
    json!({
        "value_exc_vat": as_number(row.value_exc_vat),
        "value_inc_vat": as_number(row.value_inc_vat),
        "valid_from": row.valid_from.map(instant),
        "valid_to": row.valid_to.map(instant),
        "payment_method": row.payment_method.map(PaymentMethod::rate_label),
    })
}

async fn prices(
    state: AppState,
    fuel: Fuel,
    (product, tariff, list): (String, String, String),
    query: HashMap<String, String>,
) -> Answer {
    let list = match (fuel, list.as_str()) {
        (_, "standard-unit-rates") => PriceList::StandardUnitRates,
        (_, "standing-charges") => PriceList::StandingCharges,
        (Fuel::Electricity, "day-unit-rates") => PriceList::DayUnitRates,
        (Fuel::Electricity, "night-unit-rates") => PriceList::NightUnitRates,
        _ => return Err(RestError::NotFound),
    };
    let params = Params(query);
    let from = params.instant("period_from")?;
    let to = params.instant("period_to")?;
    let paging = params.paging()?;
    let page = energy::prices(&state.db, &product, fuel, &tariff, list, from, to, paging)
        .await
        .map_err(|e| RestError::from_energy(e, "period_to"))?;
    let fuel_path = match fuel {
        Fuel::Electricity => "electricity-tariffs",
        Fuel::Gas => "gas-tariffs",
    };
    let path = format!(
        "/v1/products/{product}/{fuel_path}/{tariff}/{}/",
        match list {
            PriceList::StandardUnitRates => "standard-unit-rates",
            PriceList::DayUnitRates => "day-unit-rates",
            PriceList::NightUnitRates => "night-unit-rates",
            PriceList::StandingCharges => "standing-charges",
        }
    );
    Ok(Json(page_body(&state, &path, &params, &page, price_row)))
}

pub(super) async fn electricity_prices(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    prices(state, Fuel::Electricity, path, query).await
}

pub(super) async fn gas_prices(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    prices(state, Fuel::Gas, path, query).await
}
