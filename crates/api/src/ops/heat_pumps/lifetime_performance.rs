//! `heatPumpLifetimePerformance`: what the heat pump has drawn and delivered since it was first
//! seen, from its meters.

use async_graphql::{Context, ID, Object, SimpleObject};
use resiflex_devices::heat_pump::Performance;

use super::types::{Energy, decimal, kilowatt_hours};
use super::{answer, latest_of};
use crate::scalars::{DateTime, Decimal};

/// The heat pump's meters.
#[derive(SimpleObject, Debug, Clone)]
pub struct LifetimeTelemetry {
    pub read_at: DateTime,
    /// Heat delivered over electricity drawn since the meters started; null before any was drawn.
    pub seasonal_coefficient_of_performance: Option<Decimal>,
    /// Electricity drawn.
    pub energy_input: Energy,
    /// Heat delivered.
    pub heat_output: Energy,
}

#[derive(Default)]
pub struct LifetimePerformanceQuery;

#[Object]
impl LifetimePerformanceQuery {
    /// The heat pump's meters as last read; null before it has reported anything.
    async fn heat_pump_lifetime_performance(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        euid: ID,
    ) -> Option<LifetimeTelemetry> {
        answer(
            ctx,
            async {
                let Some(reading) = latest_of(ctx, &account_number, &euid).await? else {
                    return Ok(None);
                };
                let meters = Performance::of_meters(&reading);
                Ok(Some(LifetimeTelemetry {
                    read_at: DateTime(reading.at),
                    seasonal_coefficient_of_performance: meters
                        .coefficient_of_performance()
                        .and_then(|cop| decimal(cop, 2)),
                    energy_input: kilowatt_hours(Some(meters.energy_input_wh)),
                    heat_output: kilowatt_hours(meters.heat_output_wh),
                }))
            }
            .await,
        )
    }
}
