//! Meter points, meters and agreements as supplier apps read them:
//! `account { electricityAgreements(active: true) { validFrom validTo meterPoint { mpan direction
//! meters(includeInactive: false) { serialNumber smartImportElectricityMeter { deviceId } }
//! agreements(includeInactive: true) { validFrom validTo tariff { ... on TariffType { ... } } } } } }`
//! and `property { electricityMeterPoints gasMeterPoints }`.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime as Instant, Utc};
use resiflex_domain::product::{Direction, Fuel};
use resiflex_energy::supply::{self as energy, Supply};
use resiflex_store::supply::{StoredAgreement, StoredMeter};

use super::tariffs::{GasTariffType, TariffInterface, tariff_now};
use crate::errors::{ApiResult, KrakenError};
use crate::ops::api;
use crate::scalars::DateTime;

/// A property's meter points with their meters and agreements.
pub async fn supply_of_property(
    ctx: &Context<'_>,
    property_id: i64,
) -> ApiResult<Vec<Arc<Supply>>> {
    let api = api(ctx)?;
    let supply = energy::supply_of_property(&api.db, property_id)
        .await
        .map_err(|e| KrakenError::internal("supply", &e))?;
    Ok(supply.into_iter().map(Arc::new).collect())
}

/// Which agreements a list shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct AgreementFilter {
    /// Ended ones too.
    pub include_inactive: bool,
    /// Not the ones that start later.
    pub exclude_future: bool,
    /// Only the ones in force now.
    pub active_only: bool,
    /// Only the ones in force at some instant after this one.
    pub valid_after: Option<Instant<Utc>>,
}

impl AgreementFilter {
    /// A meter point's `agreements(excludeFuture, includeInactive, validAfter)`.
    fn of_meter_point(
        exclude_future: bool,
        include_inactive: bool,
        valid_after: Option<DateTime>,
    ) -> AgreementFilter {
        AgreementFilter {
            include_inactive,
            exclude_future,
            active_only: false,
            valid_after: valid_after.map(|t| t.0),
        }
    }

    fn keeps(&self, agreement: &StoredAgreement, now: Instant<Utc>) -> bool {
        let period = agreement.period;
        if self.active_only && !period.contains(now) {
            return false;
        }
        if !self.include_inactive && !period.ends_after(now) {
            return false;
        }
        if self.exclude_future && period.from > now {
            return false;
        }
        self.valid_after
            .is_none_or(|after| period.ends_after(after))
    }
}

fn agreements(
    supply: &Arc<Supply>,
    filter: AgreementFilter,
    now: Instant<Utc>,
) -> Vec<(Arc<Supply>, StoredAgreement)> {
    supply
        .agreements
        .iter()
        .filter(|a| filter.keeps(a, now))
        .map(|a| (supply.clone(), a.clone()))
        .collect()
}

/// The agreements of every meter point of `fuel` among `supply`.
pub fn agreements_of(
    supply: &[Arc<Supply>],
    fuel: Fuel,
    filter: AgreementFilter,
    now: Instant<Utc>,
) -> Vec<(Arc<Supply>, StoredAgreement)> {
    supply
        .iter()
        .filter(|s| s.point.point.fuel == fuel)
        .flat_map(|s| agreements(s, filter, now))
        .collect()
}

fn meters(supply: &Supply, include_inactive: bool, now: Instant<Utc>) -> Vec<StoredMeter> {
    supply
        .meters
        .iter()
        .filter(|m| include_inactive || m.meter.active.contains(now))
        .cloned()
        .collect()
}

/// A smart meter's communications device.
#[derive(SimpleObject)]
pub struct SmartMeterDeviceType {
    /// EUI-64, `12-34-5A-FF-FF-6B-C7-89`.
    pub device_id: String,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub firmware_version: Option<String>,
}

fn smart_device(meter: &StoredMeter) -> Option<SmartMeterDeviceType> {
    meter
        .meter
        .smart_device_id
        .as_ref()
        .map(|id| SmartMeterDeviceType {
            device_id: id.as_str().to_owned(),
            manufacturer: None,
            model: None,
            firmware_version: None,
        })
}

/// An electricity meter point (MPAN), import or export.
pub struct ElectricityMeterPointType(pub Arc<Supply>);

#[Object(name = "ElectricityMeterPointType")]
impl ElectricityMeterPointType {
    async fn id(&self) -> ID {
        ID(self.0.point.id.to_string())
    }
    /// The 13-digit MPAN core.
    async fn mpan(&self) -> &str {
        self.0.point.point.id.as_str()
    }
    /// `IMPORT` or `EXPORT`.
    async fn direction(&self) -> &'static str {
        self.0.point.point.direction.as_str()
    }
    /// The GSP group of the tariff it is on now (`_C`), if any.
    async fn gsp_group_id(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let now = api(ctx)?.clock.now();
        let current = self.0.agreements.iter().find(|a| a.period.contains(now));
        Ok(match current {
            Some(a) => resiflex_domain::product::TariffCode::parse(&a.tariff_code)
                .ok()
                .map(|c| c.region.key()),
            None => None,
        })
    }
    /// Its meters: the one in use now, or every one with `includeInactive`.
    async fn meters(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] include_inactive: bool,
    ) -> ApiResult<Vec<ElectricityMeterType>> {
        let now = api(ctx)?.clock.now();
        let direction = self.0.point.point.direction;
        Ok(meters(&self.0, include_inactive, now)
            .into_iter()
            .map(|m| ElectricityMeterType(m, direction))
            .collect())
    }
    /// Its agreements, oldest first: those in force now and later, ended ones too with
    /// `includeInactive`, none that start later with `excludeFuture`, only those in force after
    /// `validAfter`.
    async fn agreements(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] exclude_future: bool,
        #[graphql(default)] include_inactive: bool,
        valid_after: Option<DateTime>,
    ) -> ApiResult<Vec<ElectricityAgreementType>> {
        let now = api(ctx)?.clock.now();
        let filter = AgreementFilter::of_meter_point(exclude_future, include_inactive, valid_after);
        Ok(agreements(&self.0, filter, now)
            .into_iter()
            .map(|(s, a)| ElectricityAgreementType(s, a))
            .collect())
    }
}

/// A gas meter point (MPRN).
pub struct GasMeterPointType(pub Arc<Supply>);

#[Object(name = "GasMeterPointType")]
impl GasMeterPointType {
    async fn id(&self) -> ID {
        ID(self.0.point.id.to_string())
    }
    async fn mprn(&self) -> &str {
        self.0.point.point.id.as_str()
    }
    /// Always `IMPORT`.
    async fn direction(&self) -> &'static str {
        Direction::Import.as_str()
    }
    async fn meters(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] include_inactive: bool,
    ) -> ApiResult<Vec<GasMeterType>> {
        let now = api(ctx)?.clock.now();
        Ok(meters(&self.0, include_inactive, now)
            .into_iter()
            .map(GasMeterType)
            .collect())
    }
    async fn agreements(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] exclude_future: bool,
        #[graphql(default)] include_inactive: bool,
        valid_after: Option<DateTime>,
    ) -> ApiResult<Vec<GasAgreementType>> {
        let now = api(ctx)?.clock.now();
        let filter = AgreementFilter::of_meter_point(exclude_future, include_inactive, valid_after);
        Ok(agreements(&self.0, filter, now)
            .into_iter()
            .map(|(s, a)| GasAgreementType(s, a))
            .collect())
    }
}

/// An electricity meter on a meter point for a period.
pub struct ElectricityMeterType(pub StoredMeter, pub Direction);

#[Object(name = "ElectricityMeterType")]
impl ElectricityMeterType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn serial_number(&self) -> &str {
        &self.0.meter.serial_number
    }
    async fn active_from(&self) -> DateTime {
        DateTime(self.0.meter.active.from)
    }
    /// None while it is in use.
    async fn active_to(&self) -> Option<DateTime> {
        self.0.meter.active.to.map(DateTime)
    }
    /// The smart meter of an import meter point; none for a meter that is not smart.
    async fn smart_import_electricity_meter(&self) -> Option<SmartMeterDeviceType> {
        (self.1 == Direction::Import)
            .then(|| smart_device(&self.0))
            .flatten()
    }
    /// The smart meter of an export meter point.
    async fn smart_export_electricity_meter(&self) -> Option<SmartMeterDeviceType> {
        (self.1 == Direction::Export)
            .then(|| smart_device(&self.0))
            .flatten()
    }
}

/// A gas meter on a meter point for a period.
pub struct GasMeterType(pub StoredMeter);

#[Object(name = "GasMeterType")]
impl GasMeterType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn serial_number(&self) -> &str {
        &self.0.meter.serial_number
    }
    async fn active_from(&self) -> DateTime {
        DateTime(self.0.meter.active.from)
    }
    async fn active_to(&self) -> Option<DateTime> {
        self.0.meter.active.to.map(DateTime)
    }
    async fn smart_gas_meter(&self) -> Option<SmartMeterDeviceType> {
        smart_device(&self.0)
    }
}

/// An electricity meter point on a tariff for a period.
pub struct ElectricityAgreementType(pub Arc<Supply>, pub StoredAgreement);

#[Object(name = "ElectricityAgreementType")]
impl ElectricityAgreementType {
    async fn id(&self) -> i64 {
        self.1.id
    }
    async fn valid_from(&self) -> DateTime {
        DateTime(self.1.period.from)
    }
    /// None: without end.
    async fn valid_to(&self) -> Option<DateTime> {
        self.1.period.to.map(DateTime)
    }
    async fn meter_point(&self) -> ElectricityMeterPointType {
        ElectricityMeterPointType(self.0.clone())
    }
    /// The tariff, as it is now.
    async fn tariff(&self, ctx: &Context<'_>) -> ApiResult<TariffInterface> {
        Ok(TariffInterface::new(
            tariff_now(ctx, self.1.product_tariff_id).await?,
        ))
    }
}

/// A gas meter point on a tariff for a period.
pub struct GasAgreementType(pub Arc<Supply>, pub StoredAgreement);

#[Object(name = "GasAgreementType")]
impl GasAgreementType {
    async fn id(&self) -> i64 {
        self.1.id
    }
    async fn valid_from(&self) -> DateTime {
        DateTime(self.1.period.from)
    }
    async fn valid_to(&self) -> Option<DateTime> {
        self.1.period.to.map(DateTime)
    }
    async fn meter_point(&self) -> GasMeterPointType {
        GasMeterPointType(self.0.clone())
    }
    async fn tariff(&self, ctx: &Context<'_>) -> ApiResult<GasTariffType> {
        Ok(GasTariffType(
            tariff_now(ctx, self.1.product_tariff_id).await?,
        ))
    }
}
