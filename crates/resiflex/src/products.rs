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

/// `resiflex meter-point save --account A-... [--property ID] --file meter-point.json`: adds a
/// meter point with its meters to a property of the account (its first one by default), or
/// updates its meters.
pub async fn save_meter_point(
    db: &Db,
    account_number: &str,
    property_id: Option<i64>,
    json: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Value> {
    let document: resiflex_energy::supply::MeterPointDocument =
        serde_json::from_str(json).context("the file is not a meter point document")?;
    let account = resiflex_store::accounts::account_by_number(db, account_number.trim())
        .await?
        .with_context(|| format!("no account {account_number:?}"))?;
    let properties = resiflex_store::accounts::properties_of_account(db, account.id).await?;
    let property = match property_id {
        Some(id) => properties.iter().find(|p| p.id == id),
        None => properties.first(),
    }
    .with_context(|| format!("the account {account_number} has no such property"))?;
    let saved = resiflex_energy::supply::save_meter_point(db, property.id, &document, now)
        .await
        .map_err(failed)?;
    Ok(json!({
        "meterPoint": saved.point.id.as_str(),
        "fuel": saved.point.fuel.as_str(),
        "direction": saved.point.direction.as_str(),
        "propertyId": saved.property_id,
        "meters": document.meters.len(),
    }))
}

/// `resiflex agreement add --mpan|--mprn ID --tariff CODE --from T [--to T]`: puts the meter
/// point on the tariff; an open-ended agreement in force at `from` ends there.
#[allow(clippy::too_many_arguments)]
pub async fn add_agreement(
    db: &Db,
    fuel: resiflex_domain::product::Fuel,
    meter_point: &str,
    tariff: &str,
    payment_method: &str,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> anyhow::Result<Value> {
    let method = payment_method
        .parse()
        .map_err(|e| anyhow!("--payment-method: {e}"))?;
    let (agreement, ended) =
        resiflex_energy::supply::agree(db, None, fuel, meter_point, tariff, method, from, to, now)
            .await
            .map_err(failed)?;
    Ok(json!({
        "agreementId": agreement.id,
        "meterPoint": meter_point.trim(),
        "tariff": agreement.tariff_code,
        "validFrom": agreement.period.from,
        "validTo": agreement.period.to,
        "endedAgreementId": ended,
    }))
}
