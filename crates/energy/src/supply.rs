//! A property's meter points, their meters and their agreements: added from a document, and a
//! meter point put on a product's tariff for a period (a new open-ended agreement ends the one in
//! force at its start, so the history is kept).

use chrono::{DateTime, Utc};
use resiflex_domain::product::{Direction, Fuel, PaymentMethod};
use resiflex_domain::supply::{Meter, MeterPoint, Period, SupplyError};
use resiflex_store::products as product_store;
use resiflex_store::supply::{
    self as store, AgreementOutcome, StoredAgreement, StoredMeter, StoredMeterPoint,
};
use resiflex_store::{Db, StoreError};
use serde::Deserialize;

use crate::EnergyError;

/// The most meters one document may list.
pub const MAX_METERS: usize = 20;

impl From<SupplyError> for EnergyError {
    fn from(err: SupplyError) -> EnergyError {
        EnergyError::Invalid(err.0)
    }
}

fn default_direction() -> String {
    Direction::Import.as_str().to_owned()
}

/// A meter point with its meters: an electricity `mpan` (import or export) or a gas `mprn`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MeterPointDocument {
    #[serde(default)]
    pub mpan: Option<String>,
    #[serde(default)]
    pub mprn: Option<String>,
    #[serde(default = "default_direction")]
    pub direction: String,
    #[serde(default)]
    pub meters: Vec<MeterDocument>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MeterDocument {
    pub serial_number: String,
    /// A smart meter's EUI-64 (`12-34-5A-FF-FF-6B-C7-89`).
    #[serde(default)]
    pub smart_device_id: Option<String>,
    pub active_from: DateTime<Utc>,
    #[serde(default)]
    pub active_to: Option<DateTime<Utc>>,
}

impl MeterPointDocument {
    pub fn validate(&self) -> Result<(MeterPoint, Vec<Meter>), EnergyError> {
        let (fuel, id) = match (&self.mpan, &self.mprn) {
            (Some(mpan), None) => (Fuel::Electricity, mpan),
            (None, Some(mprn)) => (Fuel::Gas, mprn),
            _ => {
                return Err(EnergyError::Invalid(
                    "give either an mpan (electricity) or an mprn (gas)".into(),
                ));
            }
        };
        let point = MeterPoint::new(fuel, id, self.direction.parse()?)?;
        if self.meters.len() > MAX_METERS {
            return Err(EnergyError::Invalid(format!(
                "a meter point lists at most {MAX_METERS} meters"
            )));
        }
        let meters = self
            .meters
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let active = Period::new(m.active_from, m.active_to)
                    .map_err(|e| SupplyError(format!("meters[{i}]: {e}")))?;
                Meter::new(&m.serial_number, m.smart_device_id.as_deref(), active)
                    .map_err(|e| SupplyError(format!("meters[{i}]: {e}")))
            })
            .collect::<Result<Vec<_>, SupplyError>>()?;
        check_meters(&meters)?;
        Ok((point, meters))
    }
}

/// A meter point's meters may not be in use at the same time.
fn check_meters(meters: &[Meter]) -> Result<(), EnergyError> {
    for (i, meter) in meters.iter().enumerate() {
        for other in &meters[..i] {
            if other.serial_number == meter.serial_number {
                return Err(EnergyError::Invalid(format!(
                    "the meter {} is listed twice",
                    meter.serial_number
                )));
            }
            if other.active.overlaps(&meter.active) {
                return Err(EnergyError::Invalid(format!(
                    "the meters {} and {} would be in use at the same time",
                    other.serial_number, meter.serial_number
                )));
            }
        }
    }
    Ok(())
}

/// Adds the meter point (and its meters) to the property, or updates its meters.
pub async fn save_meter_point(
    db: &Db,
    property_id: i64,
    document: &MeterPointDocument,
    now: DateTime<Utc>,
) -> Result<StoredMeterPoint, EnergyError> {
    let (point, meters) = document.validate()?;
    // With the meters already there, none may be in use at the same time.
    if let Some(stored) = store::meter_point(db, point.fuel, point.id.as_str()).await? {
        let mut all: Vec<Meter> = store::meters_of(db, stored.id)
            .await?
            .into_iter()
            .map(|m| m.meter)
            .filter(|m| meters.iter().all(|n| n.serial_number != m.serial_number))
            .collect();
        all.extend(meters.iter().cloned());
        check_meters(&all)?;
    }
    store::save_meter_point(db, property_id, &point, &meters, now)
        .await
        .map_err(|e| match e {
            StoreError::Conflict => EnergyError::Invalid(format!(
                "the meter point {} belongs to another property or has another direction",
                point.id
            )),
            other => EnergyError::Store(other),
        })
}

/// Whose agreement it is, when an organisation asks: the meter point must be on one of the
/// account's properties and the product the organisation's own or the operator's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgreementScope {
    pub account_id: i64,
    pub organisation_id: i64,
}

/// Puts the meter point on the tariff `tariff_code` (paid by `payment_method`) from `from` to
/// `to` (open-ended when `None`); within `scope` when an organisation asks.
#[allow(clippy::too_many_arguments)]
pub async fn agree(
    db: &Db,
    scope: Option<AgreementScope>,
    fuel: Fuel,
    meter_point: &str,
    tariff_code: &str,
    payment_method: PaymentMethod,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(StoredAgreement, Option<i64>), EnergyError> {
    let period = Period::new(from, to)?;
    let no_point = || EnergyError::Invalid(format!("there is no meter point {meter_point:?}"));
    let point = store::meter_point(db, fuel, meter_point.trim())
        .await?
        .ok_or_else(no_point)?;
    if let Some(scope) = scope {
        let properties =
            resiflex_store::accounts::properties_of_account(db, scope.account_id).await?;
        if properties.iter().all(|p| p.id != point.property_id) {
            return Err(no_point());
        }
    }
    let tariff = usable_tariff(
        db,
        scope.map(|s| s.organisation_id),
        &point.point,
        tariff_code,
        payment_method,
    )
    .await?;
    match store::add_agreement(db, point.id, tariff.id, period, now).await? {
        AgreementOutcome::Added { agreement, ended } => Ok((agreement, ended)),
        AgreementOutcome::Refused(reason) => Err(EnergyError::Invalid(reason)),
    }
}

/// The tariff `tariff_code` paid by `payment_method`, if the meter point may take it: the
/// tariff's fuel and the product's direction must be the meter point's, and an organisation
/// (`organisation_id`) sells only its own products or the operator's.
async fn usable_tariff(
    db: &Db,
    organisation_id: Option<i64>,
    point: &MeterPoint,
    tariff_code: &str,
    payment_method: PaymentMethod,
) -> Result<resiflex_store::products::StoredProductTariff, EnergyError> {
    let fuel = point.fuel;
    let tariff = product_store::tariffs_by_code(db, tariff_code.trim())
        .await?
        .into_iter()
        .find(|t| t.tariff.payment_method == payment_method)
        .ok_or_else(|| {
            EnergyError::Invalid(format!(
                "there is no tariff {tariff_code:?} paid by {}",
                payment_method.as_str()
            ))
        })?;
    if tariff.tariff.code.fuel != fuel {
        return Err(EnergyError::Invalid(format!(
            "{} is not a tariff for {}",
            tariff.tariff.code,
            fuel.as_str().to_lowercase()
        )));
    }
    let product = product_store::product_by_code(db, tariff.tariff.code.product.as_str())
        .await?
        .ok_or(EnergyError::NotFound)?;
    if let Some(organisation) = organisation_id
        && product
            .organisation_id
            .is_some_and(|owner| owner != organisation)
    {
        return Err(EnergyError::NotOwner);
    }
    if product.product.direction != point.direction {
        return Err(EnergyError::Invalid(format!(
            "an {} meter point takes an {} product, and {} is for {}",
            point.direction.as_str().to_lowercase(),
            point.direction.as_str().to_lowercase(),
            product.product.code,
            product.product.direction.as_str().to_lowercase()
        )));
    }
    Ok(tariff)
}

/// A meter point for a new property, and the tariff it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct SupplyRequest {
    pub point: MeterPointDocument,
    /// The tariff code, how it is paid, and from when.
    pub tariff: Option<(String, PaymentMethod, DateTime<Utc>)>,
}

/// Checks every request (the meter point and its meters, and the tariff it may take) without
/// storing anything, so that an account is only created with a supply that will be accepted.
pub async fn check_supply(
    db: &Db,
    organisation_id: i64,
    requests: &[SupplyRequest],
) -> Result<(), EnergyError> {
    for (i, request) in requests.iter().enumerate() {
        let at = |e: EnergyError| match e {
            EnergyError::Invalid(message) => {
                EnergyError::Invalid(format!("meterPoints[{i}]: {message}"))
            }
            other => other,
        };
        let (point, _) = request.point.validate().map_err(at)?;
        if let Some((code, method, _)) = &request.tariff {
            usable_tariff(db, Some(organisation_id), &point, code, *method)
                .await
                .map_err(at)?;
        }
    }
    Ok(())
}

/// Saves the requests' meter points on the property and starts their agreements; an agreement
/// already there on the same tariff from the same instant is kept (a retried request changes
/// nothing).
pub async fn supply_property(
    db: &Db,
    scope: AgreementScope,
    property_id: i64,
    requests: &[SupplyRequest],
    now: DateTime<Utc>,
) -> Result<(), EnergyError> {
    check_supply(db, scope.organisation_id, requests).await?;
    for request in requests {
        let stored = save_meter_point(db, property_id, &request.point, now).await?;
        let Some((code, method, from)) = &request.tariff else {
            continue;
        };
        let existing = store::agreements_of(db, stored.id).await?;
        if existing
            .iter()
            .any(|a| a.tariff_code == code.trim() && a.period.from == *from)
        {
            continue;
        }
        agree(
            db,
            Some(scope),
            stored.point.fuel,
            stored.point.id.as_str(),
            code,
            *method,
            *from,
            None,
            now,
        )
        .await?;
    }
    Ok(())
}

/// A meter point with its meters and agreements (oldest first).
#[derive(Debug, Clone, PartialEq)]
pub struct Supply {
    pub point: StoredMeterPoint,
    pub meters: Vec<StoredMeter>,
    pub agreements: Vec<StoredAgreement>,
}

/// Every meter point of the property.
pub async fn supply_of_property(db: &Db, property_id: i64) -> Result<Vec<Supply>, EnergyError> {
    let mut out = Vec::new();
    for point in store::meter_points_of_property(db, property_id).await? {
        out.push(Supply {
            meters: store::meters_of(db, point.id).await?,
            agreements: store::agreements_of(db, point.id).await?,
            point,
        });
    }
    Ok(out)
}

/// Every meter point of many properties at once (three queries), by property: what
/// [`supply_of_property`] answers for each.
pub async fn supplies_of_properties(
    db: &Db,
    property_ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<Supply>>, EnergyError> {
    let points = store::meter_points_of_properties(db, property_ids).await?;
    let ids: Vec<i64> = points.iter().map(|p| p.id).collect();
    let mut meters: std::collections::HashMap<i64, Vec<StoredMeter>> = Default::default();
    for meter in store::meters_of_points(db, &ids).await? {
        meters.entry(meter.meter_point_id).or_default().push(meter);
    }
    let mut agreements: std::collections::HashMap<i64, Vec<StoredAgreement>> = Default::default();
    for agreement in store::agreements_of_points(db, &ids).await? {
        agreements
            .entry(agreement.meter_point_id)
            .or_default()
            .push(agreement);
    }
    let mut out: std::collections::HashMap<i64, Vec<Supply>> = Default::default();
    for point in points {
        out.entry(point.property_id).or_default().push(Supply {
            meters: meters.remove(&point.id).unwrap_or_default(),
            agreements: agreements.remove(&point.id).unwrap_or_default(),
            point,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
