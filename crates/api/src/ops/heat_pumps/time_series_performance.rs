//! `heatPumpTimeSeriesPerformance`: what the heat pump drew and delivered, in buckets.

use async_graphql::{Context, ID, Object, SimpleObject};
use resiflex_devices::heat_pump::{self, Grouping};

use super::types::{Energy, PerformanceGrouping, Temperature, celsius, kilowatt_hours};
use super::{answer, controller_for, property_zone, series_error, store_error};
use crate::scalars::DateTime;

/// One bucket of a series.
#[derive(SimpleObject, Debug, Clone)]
pub struct HeatPumpPerformanceGroupingNode {
    pub start_at: DateTime,
    pub end_at: DateTime,
    pub energy_input: Option<Energy>,
    pub energy_output: Option<Energy>,
    /// The outdoor temperature at the bucket's end.
    pub outdoor_temperature: Option<Temperature>,
}

fn grouping(value: PerformanceGrouping) -> Grouping {
    match value {
        PerformanceGrouping::Live => Grouping::Live,
        PerformanceGrouping::Day => Grouping::Day,
        PerformanceGrouping::Week => Grouping::Week,
        PerformanceGrouping::Month => Grouping::Month,
        PerformanceGrouping::Year => Grouping::Year,
    }
}

#[derive(Default)]
pub struct TimeSeriesPerformanceQuery;

#[Object]
impl TimeSeriesPerformanceQuery {
    /// Electricity drawn and heat delivered from `startAt` to `endAt` in buckets the grouping
    /// sizes (`LIVE` five minutes, `DAY` an hour, `WEEK` and `MONTH` a day, `YEAR` a month, in the
    /// property's time zone), at most 1,000 of them.
    async fn heat_pump_time_series_performance(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        euid: ID,
        start_at: DateTime,
        end_at: DateTime,
        performance_grouping: PerformanceGrouping,
    ) -> Option<Vec<HeatPumpPerformanceGroupingNode>> {
        answer(
            ctx,
            async {
                let (api, pump) = controller_for(ctx, &account_number, &euid).await?;
                let zone = property_zone(api, &pump).await?;
                let buckets = heat_pump::series(
                    &api.db,
                    &pump.device,
                    grouping(performance_grouping),
                    start_at.0,
                    end_at.0,
                    zone,
                )
                .await
                .map_err(store_error)?
                .map_err(series_error)?;
                Ok(Some(
                    buckets
                        .into_iter()
                        .map(|bucket| HeatPumpPerformanceGroupingNode {
                            start_at: DateTime(bucket.start),
                            end_at: DateTime(bucket.end),
                            energy_input: bucket
                                .performance
                                .map(|p| kilowatt_hours(Some(p.energy_input_wh))),
                            energy_output: bucket
                                .performance
                                .map(|p| kilowatt_hours(p.heat_output_wh)),
                            outdoor_temperature: bucket.outdoor_temperature_c.map(celsius),
                        })
                        .collect(),
                ))
            }
            .await,
        )
    }
}
