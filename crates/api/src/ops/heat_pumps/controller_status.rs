//! `heatPumpControllerStatus`: the controller's sensors and zones now.

use async_graphql::{Context, ID, Object, SimpleObject};
use resiflex_devices::heat_pump::{self, SensorStatus, ZoneStatus};

use super::types::{Mode, Zone};
use super::{answer, controller_for, latest};
use crate::scalars::DateTime;

/// Whether a sensor is reachable, and when that was checked.
#[derive(SimpleObject, Debug, Clone)]
pub struct SensorConnectivity {
    pub online: bool,
    pub retrieved_at: Option<DateTime>,
}

/// What a sensor measures.
#[derive(SimpleObject, Debug, Clone)]
pub struct SensorTelemetry {
    pub temperature_in_celsius: Option<f64>,
    /// Room sensors that measure humidity only; none here do.
    pub humidity_percentage: Option<i32>,
    /// The battery voltage of a wireless sensor; wired and mains sensors have none.
    pub voltage: Option<f64>,
    /// Signal strength, dBm, of a wireless sensor.
    pub rssi: Option<i32>,
    pub retrieved_at: Option<DateTime>,
}

/// One sensor of the controller.
#[derive(SimpleObject, Debug, Clone)]
pub struct ControllerSensor {
    pub code: String,
    pub connectivity: SensorConnectivity,
    pub telemetry: SensorTelemetry,
}

/// What a zone is doing.
#[derive(SimpleObject, Debug, Clone)]
pub struct ZoneTelemetry {
    /// The set-point held now, °C.
    pub setpoint_in_celsius: Option<f64>,
    pub mode: Mode,
    /// Whether the zone is being heated now.
    pub relay_switched_on: bool,
    /// Whether the zone wants heat.
    pub heat_demand: bool,
    pub retrieved_at: Option<DateTime>,
}

/// One zone of the controller.
#[derive(SimpleObject, Debug, Clone)]
pub struct ControllerZone {
    pub zone: Zone,
    pub telemetry: ZoneTelemetry,
}

/// The controller now.
#[derive(SimpleObject, Debug, Clone)]
pub struct ControllerStatus {
    pub sensors: Vec<ControllerSensor>,
    pub zones: Vec<ControllerZone>,
}

fn sensor(status: &SensorStatus) -> ControllerSensor {
    let at = status.retrieved_at.map(DateTime);
    ControllerSensor {
        code: status.code.to_owned(),
        connectivity: SensorConnectivity {
            online: status.online,
            retrieved_at: at,
        },
        telemetry: SensorTelemetry {
            temperature_in_celsius: status.temperature_c,
            humidity_percentage: None,
            voltage: None,
            rssi: None,
            retrieved_at: at,
        },
    }
}

fn zone(status: &ZoneStatus) -> ControllerZone {
    ControllerZone {
        zone: status.zone.into(),
        telemetry: ZoneTelemetry {
            setpoint_in_celsius: status.setpoint_c,
            mode: status.mode.into(),
            relay_switched_on: status.relay_switched_on,
            heat_demand: status.heat_demand,
            retrieved_at: status.retrieved_at.map(DateTime),
        },
    }
}

#[derive(Default)]
pub struct ControllerStatusQuery;

#[Object]
impl ControllerStatusQuery {
    /// The controller's sensors and zones, from the heat pump's latest reading.
    async fn heat_pump_controller_status(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        euid: ID,
    ) -> Option<ControllerStatus> {
        answer(
            ctx,
            async {
                let (api, pump) = controller_for(ctx, &account_number, &euid).await?;
                let reading = latest(api, &pump).await?;
                let status = heat_pump::status_of(
                    &pump.controller.configuration,
                    reading.as_ref(),
                    api.clock.now(),
                );
                Ok(Some(ControllerStatus {
                    sensors: status.sensors.iter().map(sensor).collect(),
                    zones: status.zones.iter().map(zone).collect(),
                }))
            }
            .await,
        )
    }
}
