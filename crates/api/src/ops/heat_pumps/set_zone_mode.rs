//! `heatPumpSetZoneMode`: a zone's mode, set-point and boost end.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use resiflex_devices::heat_pump::{self, ZoneModeChange};

use super::types::{Mode, Zone};
use super::{answer, change_error, controller_for};
use crate::scalars::DateTime;

/// The mode to set on a zone.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct SetZoneModeParameters {
    pub zone: Zone,
    pub mode: Mode,
    /// °C, in 0.5 °C steps: 7–30 for rooms, 40–60 for water. `ON` needs one (or keeps the last);
    /// a boost defaults to 30 °C for rooms and 50 °C for water.
    pub setpoint_in_celsius: Option<f64>,
    /// When a boost ends (an hour from now if not given).
    pub end_at: Option<DateTime>,
}

/// A change the heat pump accepted.
#[derive(SimpleObject, Debug, Clone)]
pub struct SetZoneMode {
    pub transaction_id: Option<ID>,
}

#[derive(Default)]
pub struct SetZoneModeMutation;

#[Object]
impl SetZoneModeMutation {
    /// Sets a zone to `ON`, `OFF`, `AUTO` or `BOOST`. A room zone set to anything but `AUTO` is
    /// run by hand: smart control leaves the heat pump alone until the zone is `AUTO` again or
    /// its boost ends.
    async fn heat_pump_set_zone_mode(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        euid: ID,
        operation_parameters: SetZoneModeParameters,
    ) -> Option<SetZoneMode> {
        answer(
            ctx,
            async {
                let (api, pump) = controller_for(ctx, &account_number, &euid).await?;
                let params = operation_parameters;
                let change = ZoneModeChange {
                    zone: params.zone.into(),
                    mode: params.mode.into(),
                    setpoint_c: params.setpoint_in_celsius,
                    end: params.end_at.map(|t| t.0),
                };
                let accepted =
                    heat_pump::set_zone_mode(&api.devices, &pump.device, change, api.clock.now())
                        .await
                        .map_err(change_error)?;
                Ok(Some(SetZoneMode {
                    transaction_id: Some(ID(accepted.transaction_id.to_string())),
                }))
            }
            .await,
        )
    }
}
