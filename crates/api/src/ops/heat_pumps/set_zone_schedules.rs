//! `heatPumpSetZoneSchedules`: a zone's weekly schedules.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use resiflex_devices::heat_pump;
use resiflex_domain::heat_controller::{ScheduleSetting, ZoneSchedule};

use super::types::{ScheduleSettingAction, Zone};
use super::{answer, change_error, controller_for, invalid};
use crate::scalars::Time;

/// The most schedules a zone may have, and the most steps in one.
const MAX_SCHEDULES: usize = 7;
const MAX_STEPS: usize = 48;

/// One step of a schedule.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct ZoneScheduleSettingInput {
    /// Local time on the controller's clock (`HH:MM` or `HH:MM:SS`).
    pub time: Time,
    pub action: ScheduleSettingAction,
    /// °C; needed for `SET_TEMPERATURE`.
    pub setpoint_in_celsius: Option<f64>,
}

/// A schedule: the weekdays it applies to and its steps in time order.
#[derive(InputObject, Debug, Clone)]
pub struct ZoneScheduleInput {
    /// Seven `0`/`1` characters, Monday first.
    pub days: String,
    pub settings: Vec<ZoneScheduleSettingInput>,
}

/// The schedules to give a zone (they replace the zone's schedules).
#[derive(InputObject, Debug, Clone)]
pub struct SetZoneSchedulesParameters {
    pub zone: Zone,
    pub schedules: Vec<ZoneScheduleInput>,
}

/// A change the heat pump accepted.
#[derive(SimpleObject, Debug, Clone)]
pub struct SetZoneSchedules {
    pub transaction_id: Option<String>,
}

#[derive(Default)]
pub struct SetZoneSchedulesMutation;

#[Object]
impl SetZoneSchedulesMutation {
    /// Replaces a zone's schedules (at most 7, of at most 48 steps each). Set-points follow the
    /// zone's range and 0.5 °C steps; steps are in increasing time order (OE-0315 otherwise).
    async fn heat_pump_set_zone_schedules(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        euid: ID,
        zone_schedule_parameters: SetZoneSchedulesParameters,
    ) -> Option<SetZoneSchedules> {
        answer(
            ctx,
            async {
            let params = zone_schedule_parameters;
            if params.schedules.len() > MAX_SCHEDULES
                || params
                    .schedules
                    .iter()
                    .any(|s| s.settings.len() > MAX_STEPS)
            {
                return Err(invalid(format!(
                    "A zone takes at most {MAX_SCHEDULES} schedules of at most {MAX_STEPS} steps."
                )));
            }
            let (api, pump) = controller_for(ctx, &account_number, &euid).await?;
            let schedules = params
                .schedules
                .into_iter()
                .map(|schedule| ZoneSchedule {
                    days: schedule.days,
                    settings: schedule
                        .settings
                        .into_iter()
                        .map(|step| ScheduleSetting {
                            time: step.time.0,
                            action: step.action.into(),
                            setpoint_c: step.setpoint_in_celsius,
                        })
                        .collect(),
                })
                .collect();
            let accepted = heat_pump::set_zone_schedules(
                &api.devices,
                &pump.device,
                params.zone.into(),
                schedules,
                api.clock.now(),
            )
            .await
            .map_err(change_error)?;
            Ok(Some(SetZoneSchedules {
                transaction_id: Some(accepted.transaction_id.to_string()),
            }))
            }
            .await,
        )
    }
}
