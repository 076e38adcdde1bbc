//! `heatPumpTimeRangedPerformance`: what the heat pump drew and delivered between two instants.

use async_graphql::{Context, ID, Object, SimpleObject};
use resiflex_devices::heat_pump;

use super::types::{Energy, decimal, kilowatt_hours};
use super::{answer, controller_for, series_error, store_error};
use crate::scalars::{DateTime, Decimal};

/// Totals over a range.
#[derive(SimpleObject, Debug, Clone)]
pub struct HeatPumpTimeRangedPerformance {
    /// Heat delivered over electricity drawn in the range; null when none was drawn.
    pub coefficient_of_performance: Option<Decimal>,
    pub energy_input: Energy,
    pub energy_output: Energy,
}

#[derive(Default)]
pub struct TimeRangedPerformanceQuery;

#[Object]
impl TimeRangedPerformanceQuery {
    /// Electricity drawn and heat delivered from `startAt` to `endAt`, from the heat pump's meters
    /// at the two ends. Null values when it had not reported by then.
    async fn heat_pump_time_ranged_performance(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        euid: ID,
        start_at: DateTime,
        end_at: DateTime,
    ) -> Option<HeatPumpTimeRangedPerformance> {
        answer(
            ctx,
            async {
                let (api, pump) = controller_for(ctx, &account_number, &euid).await?;
                let found =
                    heat_pump::performance_between(&api.db, &pump.device, start_at.0, end_at.0)
                        .await
                        .map_err(store_error)?
                        .map_err(series_error)?;
                Ok(Some(HeatPumpTimeRangedPerformance {
                    coefficient_of_performance: found
                        .and_then(|p| p.coefficient_of_performance())
                        .and_then(|cop| decimal(cop, 2)),
                    energy_input: kilowatt_hours(found.map(|p| p.energy_input_wh)),
                    energy_output: kilowatt_hours(found.and_then(|p| p.heat_output_wh)),
                }))
            }
            .await,
        )
    }
}
