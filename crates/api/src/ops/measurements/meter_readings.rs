//! `electricityMeterReadings` and `gasMeterReadings(accountNumber, meterId)`: a meter's register
//! reads, newest first, as a connection (the German deployment's shape: `value`, `readAt`,
//! `registerObisCode`, `typeOfRead`, `origin`, `meterId`, `registerType`).

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::Duration;
use resiflex_domain::product::Fuel;
use resiflex_store::readings as readings_store;
use resiflex_store::{accounts, supply as supply_store};
use rust_decimal::Decimal as RustDecimal;

use crate::auth::access::account_for;
use crate::auth::authorise;
use crate::connection::{KrakenConnection, PageArgs, connection};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::api;
use crate::scalars::{DateTime, Decimal};

/// The most register reads one connection pages through.
pub const MAX_REGISTER_READS: i64 = 10_000;

/// A register read.
#[derive(SimpleObject, Debug, Clone)]
pub struct MeterReadingType {
    /// The register's total, in the meter's unit (kWh or m³).
    pub value: Decimal,
    pub read_at: DateTime,
    /// The register it was read on.
    pub register_obis_code: String,
    pub register_type: String,
    /// `ACTUAL` or `ESTIMATE`.
    pub type_of_read: String,
    /// Where it came from (`SMART_METER`, `IMPORT`, `CUSTOMER`).
    pub origin: String,
    pub meter_id: ID,
}

async fn reads(
    ctx: &Context<'_>,
    fuel: Fuel,
    account_number: String,
    meter_id: ID,
    page: PageArgs,
) -> ApiResult<KrakenConnection<MeterReadingType>> {
    let caller = authorise(ctx).await?;
    let api = api(ctx)?;
    let account = account_for(
        api,
        &caller,
        &account_number,
        ErrorCode::AccountUnauthorized,
    )
    .await?;
    let failed = |e: resiflex_store::StoreError| KrakenError::internal("meter readings", &e);
    let no_meter = || {
        KrakenError::with_message(
            ErrorCode::InvalidInput,
            format!(
                "The account has no {} meter {:?}.",
                fuel.as_str().to_lowercase(),
                meter_id.0
            ),
        )
    };
    let id: i64 = meter_id.0.trim().parse().map_err(|_| no_meter())?;
    let properties = accounts::properties_of_account(&api.db, account.id)
        .await
        .map_err(failed)?;
    let mut found = None;
    for property in &properties {
        for point in supply_store::meter_points_of_property(&api.db, property.id)
            .await
            .map_err(failed)?
            .into_iter()
            .filter(|p| p.point.fuel == fuel)
        {
            if supply_store::meters_of(&api.db, point.id)
                .await
                .map_err(failed)?
                .iter()
                .any(|m| m.id == id)
            {
                found = Some(id);
            }
        }
    }
    let meter = found.ok_or_else(no_meter)?;
    let now = api.clock.now();
    let all = readings_store::register_reads(
        &api.db,
        meter,
        None,
        now - Duration::days(365 * 30),
        now + Duration::days(1),
        MAX_REGISTER_READS,
    )
    .await
    .map_err(failed)?;
    let window = page.window(all.len())?;
    let nodes = all
        .iter()
        .skip(window.offset)
        .take(window.limit)
        .map(|r| MeterReadingType {
            value: Decimal(RustDecimal::new(r.milli, 3)),
            read_at: DateTime(r.read_at),
            register_obis_code: r.register_id.clone(),
            register_type: r.register_id.clone(),
            type_of_read: r.quality.as_str().to_owned(),
            origin: r.source.as_str().to_owned(),
            meter_id: ID(meter.to_string()),
        })
        .collect();
    Ok(connection(window, all.len(), nodes))
}

#[derive(Default)]
pub struct MeterReadingsQuery;

#[Object]
impl MeterReadingsQuery {
    /// An electricity meter's register reads, newest first.
    #[allow(clippy::too_many_arguments)]
    async fn electricity_meter_readings(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        meter_id: ID,
        first: Option<i32>,
        last: Option<i32>,
        before: Option<String>,
        after: Option<String>,
    ) -> ApiResult<KrakenConnection<MeterReadingType>> {
        let page = PageArgs {
            first,
            last,
            before,
            after,
        };
        reads(ctx, Fuel::Electricity, account_number, meter_id, page).await
    }

    /// A gas meter's register reads, newest first.
    #[allow(clippy::too_many_arguments)]
    async fn gas_meter_readings(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        meter_id: ID,
        first: Option<i32>,
        last: Option<i32>,
        before: Option<String>,
        after: Option<String>,
    ) -> ApiResult<KrakenConnection<MeterReadingType>> {
        let page = PageArgs {
            first,
            last,
            before,
            after,
        };
        reads(ctx, Fuel::Gas, account_number, meter_id, page).await
    }
}
