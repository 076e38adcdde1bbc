//! `heatPumpSetHushMode`: turns the quieter mode on or off.

use async_graphql::{Context, ID, Object, SimpleObject};
use resiflex_devices::heat_pump;

use super::{answer, change_error, controller_for};

/// A change the heat pump accepted.
#[derive(SimpleObject, Debug, Clone)]
pub struct SetHushMode {
    pub transaction_id: Option<ID>,
}

#[derive(Default)]
pub struct SetHushModeMutation;

#[Object]
impl SetHushModeMutation {
    /// Turns the quieter mode on or off (read back as `heatPump.quieterModeEnabled`); quieter,
    /// the compressor runs at a reduced share of its power.
    async fn heat_pump_set_hush_mode(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        euid: ID,
        hush_mode_enabled: bool,
    ) -> Option<SetHushMode> {
        answer(
            ctx,
            async {
                let (api, pump) = controller_for(ctx, &account_number, &euid).await?;
                let accepted = heat_pump::set_hush_mode(
                    &api.devices,
                    &pump.device,
                    hush_mode_enabled,
                    api.clock.now(),
                )
                .await
                .map_err(change_error)?;
                Ok(Some(SetHushMode {
                    transaction_id: Some(ID(accepted.transaction_id.to_string())),
                }))
            }
            .await,
        )
    }
}
