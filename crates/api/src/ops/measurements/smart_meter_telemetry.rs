//! `smartMeterTelemetry(deviceId, start, end, grouping)`: a smart meter's consumption, demand,
//! export and cost per bucket, from its readings (`resiflex_energy::readings::telemetry`). With
//! only `deviceId`, the latest reading; `start`, `end` and `grouping` come together (KT-GB-4040),
//! `end` after `start` (KT-GB-4041). A meter the caller may not see is not found (KT-GB-4050).

use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono_tz::Tz;
use resiflex_domain::supply::SmartDeviceId;
use resiflex_energy::readings::telemetry::{self as energy, TelemetryGrouping as Grouping};
use resiflex_store::accounts;
use resiflex_store::supply as supply_store;
use rust_decimal::Decimal as RustDecimal;

use super::DEFAULT_TIME_ZONE;
use super::types::nano;
use crate::auth::access::may_see_account;
use crate::auth::authorise;
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::api;
use crate::scalars::{DateTime, Decimal};

/// How long each bucket is.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum TelemetryGrouping {
    #[graphql(name = "TEN_SECONDS")]
    TenSeconds,
    #[graphql(name = "ONE_MINUTE")]
    OneMinute,
    #[graphql(name = "FIVE_MINUTES")]
    FiveMinutes,
    #[graphql(name = "HALF_HOURLY")]
    HalfHourly,
    #[graphql(name = "HOURLY")]
    Hourly,
}

/// One bucket of a smart meter's telemetry.
#[derive(SimpleObject, Debug, Clone)]
pub struct SmartMeterTelemetryType {
    /// The bucket's start.
    pub read_at: DateTime,
    /// The import register, Wh.
    pub consumption: Decimal,
    /// Wh used in the bucket.
    pub consumption_delta: Decimal,
    /// Mean demand, W.
    pub demand: Decimal,
    /// The export register, Wh.
    pub export: Decimal,
    /// The cost of `consumptionDelta` before VAT, minor units.
    pub cost_delta: Option<Decimal>,
    pub cost_delta_with_tax: Option<Decimal>,
}

#[derive(Default)]
pub struct MeasurementsQuery;

#[Object]
impl MeasurementsQuery {
    /// A smart meter's telemetry, by its device id (EUI-64), from its readings.
    async fn smart_meter_telemetry(
        &self,
        ctx: &Context<'_>,
        device_id: String,
        start: Option<DateTime>,
        end: Option<DateTime>,
        grouping: Option<TelemetryGrouping>,
    ) -> ApiResult<Vec<SmartMeterTelemetryType>> {
        let caller = authorise(ctx).await?;
        let api = api(ctx)?;
        let range = match (start, end, grouping) {
            (None, None, None) => None,
            (Some(start), Some(end), Some(grouping)) => {
                if end.0 <= start.0 {
                    return Err(KrakenError::new(ErrorCode::TelemetryEndBeforeStart));
                }
                let grouping = match grouping {
                    TelemetryGrouping::TenSeconds => Grouping::TenSeconds,
                    TelemetryGrouping::OneMinute => Grouping::OneMinute,
                    TelemetryGrouping::FiveMinutes => Grouping::FiveMinutes,
                    TelemetryGrouping::HalfHourly => Grouping::HalfHourly,
                    TelemetryGrouping::Hourly => Grouping::Hourly,
                };
                Some((start.0, end.0, grouping))
            }
            _ => return Err(KrakenError::new(ErrorCode::TelemetryArgumentsTogether)),
        };
        let not_found = || KrakenError::new(ErrorCode::SmartMeterNotFound);
        let id = SmartDeviceId::parse(&device_id).map_err(|_| not_found())?;
        let store_failed = |e: resiflex_store::StoreError| KrakenError::internal("telemetry", &e);
        let (point, meter) = supply_store::meter_by_smart_device_id(&api.db, id.as_str())
            .await
            .map_err(store_failed)?
            .ok_or_else(not_found)?;
        let property = accounts::property_by_id(&api.db, point.property_id)
            .await
            .map_err(store_failed)?
            .ok_or_else(not_found)?;
        let account = accounts::account_by_id(&api.db, property.account_id)
            .await
            .map_err(store_failed)?
            .ok_or_else(not_found)?;
        if !may_see_account(api, &caller, &account).await? {
            return Err(not_found());
        }
        let zone: Tz = property
            .time_zone
            .parse()
            .or_else(|_| DEFAULT_TIME_ZONE.parse())
            .unwrap_or(chrono_tz::Europe::London);
        let buckets =
            energy::smart_meter_telemetry(&api.db, &point, &meter, range, zone, api.clock.now())
                .await
                .map_err(super::energy_error)?;
        let wh = |milli: i64| Decimal(RustDecimal::from(milli));
        Ok(buckets
            .into_iter()
            .map(|b| SmartMeterTelemetryType {
                read_at: DateTime(b.read_at),
                consumption: wh(b.consumption_milli),
                consumption_delta: wh(b.consumption_delta_milli),
                demand: Decimal(RustDecimal::from(b.demand_w)),
                export: wh(b.export_milli),
                cost_delta: b.cost_delta_nano.map(|c| nano(c.0)),
                cost_delta_with_tax: b.cost_delta_nano.map(|c| nano(c.1)),
            })
            .collect())
    }
}
