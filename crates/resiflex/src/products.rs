//! `resiflex product`: an operator saves a product with its tariffs from a JSON document (the
//! same document the organisation mutation takes) and reads one back.

use anyhow::{Context as _, anyhow};
use chrono::{DateTime, Utc};
use resiflex_domain::product::as_number;
use resiflex_energy::EnergyError;
use resiflex_energy::products::{self as energy, ProductDocument};
use resiflex_store::Db;
use serde_json::{Value, json};

fn failed(err: EnergyError) -> anyhow::Error {
    match err {
        EnergyError::Invalid(message) => anyhow!("the product was not saved: {message}"),
        EnergyError::NotFound => anyhow!("no such product"),
        EnergyError::NotOwner => anyhow!("the product belongs to another organisation"),
        EnergyError::Store(err) => anyhow!(err).context("storage"),
    }
}

/// `resiflex product save --file product.json`: creates or updates the product (as the operator).
pub async fn save(db: &Db, json: &str, now: DateTime<Utc>) -> anyhow::Result<Value> {
    let document: ProductDocument =
        serde_json::from_str(json).context("the file is not a product document")?;
    let saved = energy::save(db, None, &document, now)
        .await
        .map_err(failed)?;
    Ok(json!({
        "code": saved.product.product.code.as_str(),
        "created": saved.created,
        "tariffs": saved.tariffs,
        "charges": saved.charges,
    }))
}

/// `resiflex product show CODE`: the product and its tariffs' prices now.
pub async fn show(db: &Db, code: &str, now: DateTime<Utc>) -> anyhow::Result<Value> {
    let detail = energy::detail(db, code, now).await.map_err(failed)?;
    let p = &detail.product.product;
    let tariffs: Vec<Value> = detail
        .tariffs
        .iter()
        .map(|t| {
            let vat = t.tariff.tariff.vat;
            let shown = |v: Option<resiflex_domain::tariff::Micros>| {
                v.map(|v| json!({"excVat": as_number(v), "incVat": as_number(vat.include(v))}))
            };
            json!({
                "code": t.tariff.tariff.code.to_string(),
                "kind": t.tariff.tariff.kind.as_str(),
                "paymentMethod": t.tariff.tariff.payment_method.as_str(),
                "vatBasisPoints": vat.0,
                "ratesTariff": t.tariff.tariff.rates_tariff,
                "standingCharge": shown(t.standing),
                "unitRate": shown(t.unit),
                "nightRate": shown(t.night),
            })
        })
        .collect();
    Ok(json!({
        "code": p.code.as_str(),
        "displayName": p.display_name,
        "fullName": p.full_name,
        "availability": p.availability.as_str(),
        "availableFrom": p.available_from,
        "availableTo": p.available_to,
        "tariffs": tariffs,
    }))
}
