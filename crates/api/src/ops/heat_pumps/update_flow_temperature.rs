//! `heatPumpUpdateFlowTemperatureConfiguration`: the fixed flow temperature and the
//! weather-compensation curve.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use resiflex_devices::heat_pump;
use resiflex_domain::heat::FlowTemperature;

use super::types::{TemperatureInput, TemperatureRangeInput};
use super::{answer, change_error, controller_for};

/// The flow-temperature configuration to set. Values left out keep what the controller has.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct FlowTemperatureInput {
    pub use_weather_compensation: bool,
    /// The curve's flow temperature at the warm end (`minimum`) and the cold end (`maximum`).
    pub weather_compensation_values: Option<TemperatureRangeInput>,
    /// The flow temperature used without weather compensation.
    pub flow_temperature: Option<TemperatureInput>,
}

/// The transaction that changed one attribute.
#[derive(SimpleObject, Debug, Clone)]
pub struct AttributeUpdateTransactionId {
    pub attribute_name: String,
    pub transaction_id: String,
}

/// The changes the heat pump accepted.
#[derive(SimpleObject, Debug, Clone)]
pub struct UpdateFlowTemperatureConfiguration {
    pub transaction_ids: Vec<AttributeUpdateTransactionId>,
}

#[derive(Default)]
pub struct UpdateFlowTemperatureMutation;

#[Object]
impl UpdateFlowTemperatureMutation {
    /// Sets whether the flow temperature follows the weather, the fixed flow temperature and the
    /// curve's two ends, all within 25–65 °C (OE-0315 otherwise). The attributes given change in
    /// one transaction, listed once per attribute.
    async fn heat_pump_update_flow_temperature_configuration(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        euid: ID,
        flow_temperature_input: FlowTemperatureInput,
    ) -> Option<UpdateFlowTemperatureConfiguration> {
        answer(
            ctx,
            async {
                let (api, pump) = controller_for(ctx, &account_number, &euid).await?;
                let input = flow_temperature_input;
                let mut flow: FlowTemperature = pump.controller.configuration.flow;
                let mut attributes = vec!["useWeatherCompensation"];
                flow.weather_compensation = input.use_weather_compensation;
                if let Some(fixed) = input.flow_temperature {
                    flow.flow_c = fixed.celsius()?;
                    attributes.push("flowTemperature");
                }
                if let Some(curve) = input.weather_compensation_values {
                    flow.curve_min_c = curve.minimum.celsius()?;
                    flow.curve_max_c = curve.maximum.celsius()?;
                    attributes.push("weatherCompensationValues");
                }
                let accepted = heat_pump::set_flow_temperature(
                    &api.devices,
                    &pump.device,
                    flow,
                    api.clock.now(),
                )
                .await
                .map_err(change_error)?;
                let transaction_id = accepted.transaction_id.to_string();
                Ok(Some(UpdateFlowTemperatureConfiguration {
                    transaction_ids: attributes
                        .into_iter()
                        .map(|name| AttributeUpdateTransactionId {
                            attribute_name: name.to_owned(),
                            transaction_id: transaction_id.clone(),
                        })
                        .collect(),
                }))
            }
            .await,
        )
    }
}
