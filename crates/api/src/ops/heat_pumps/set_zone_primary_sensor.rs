//! `heatPumpSetZonePrimarySensor`: which sensor's temperature counts as a zone's.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use resiflex_devices::heat_pump;

use super::types::Zone;
use super::{answer, change_error, controller_for};

/// The zone and the sensor to take its temperature from.
#[derive(InputObject, Debug, Clone)]
pub struct SetZonePrimarySensorParameters {
    pub zone: Zone,
    /// One of the zone's sensor codes, as the controller's status lists them (e.g. `SENSOR01`).
    pub sensor_code: String,
}

/// A change the heat pump accepted.
#[derive(SimpleObject, Debug, Clone)]
pub struct SetZonePrimarySensor {
    pub transaction_id: Option<ID>,
}

#[derive(Default)]
pub struct SetZonePrimarySensorMutation;

#[Object]
impl SetZonePrimarySensorMutation {
    /// Takes one of a zone's sensors as the one whose temperature is the zone's. A sensor the
    /// zone does not have is OE-0315.
    async fn heat_pump_set_zone_primary_sensor(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        euid: ID,
        operation_parameters: SetZonePrimarySensorParameters,
    ) -> Option<SetZonePrimarySensor> {
        answer(
            ctx,
            async {
                let (api, pump) = controller_for(ctx, &account_number, &euid).await?;
                let params = operation_parameters;
                let accepted = heat_pump::set_primary_sensor(
                    &api.devices,
                    &pump.device,
                    params.zone.into(),
                    params.sensor_code.trim(),
                    api.clock.now(),
                )
                .await
                .map_err(change_error)?;
                Ok(Some(SetZonePrimarySensor {
                    transaction_id: Some(ID(accepted.transaction_id.to_string())),
                }))
            }
            .await,
        )
    }
}
