//! `heatPumpLivePerformance`: what the heat pump is doing now.

use async_graphql::{Context, ID, Object, SimpleObject};
use resiflex_devices::heat_pump;

use super::types::{Power, Temperature, celsius, decimal, kilowatts};
use super::{answer, latest_of};
use crate::scalars::{DateTime, Decimal};

/// The heat pump now.
#[derive(SimpleObject, Debug, Clone)]
pub struct LivePerformance {
    /// Heat output over electrical power now; null while the heat pump draws nothing.
    pub coefficient_of_performance: Option<Decimal>,
    pub outdoor_temperature: Option<Temperature>,
    pub heat_output: Power,
    pub power_input: Power,
    pub read_at: DateTime,
}

#[derive(Default)]
pub struct LivePerformanceQuery;

#[Object]
impl LivePerformanceQuery {
    /// The heat pump's latest reading: its COP, the outdoor temperature, heat output and power
    /// drawn. Null before the heat pump has reported anything.
    async fn heat_pump_live_performance(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        euid: ID,
    ) -> Option<LivePerformance> {
        answer(
            ctx,
            async {
                let Some(reading) = latest_of(ctx, &account_number, &euid).await? else {
                    return Ok(None);
                };
                Ok(Some(LivePerformance {
                    coefficient_of_performance: heat_pump::live_cop(&reading)
                        .and_then(|cop| decimal(cop, 2)),
                    outdoor_temperature: reading.outdoor_temperature_c.map(celsius),
                    heat_output: kilowatts(reading.heat_output_w.map(|w| w as f64)),
                    power_input: kilowatts(Some(reading.power_w.max(0) as f64)),
                    read_at: DateTime(reading.at),
                }))
            }
            .await,
        )
    }
}
