//! Changes to a controller: hush mode, flow temperature, a zone's mode, schedules, primary
//! sensor and display name.
//!
//! Each change is validated against the controller's rules, sent to the device through the one
//! command path under a key of its own (its transaction), and kept in the stored configuration
//! only once the device has accepted it: a refused or unanswered change leaves the configuration
//! as it was, so reads never show a value the device does not have.

use chrono::{DateTime, Utc};
use resiflex_domain::command::Command;
use resiflex_domain::heat::{FlowTemperature, Zone, ZoneMode};
use resiflex_domain::heat_controller::{
    HeatControllerConfiguration, HeatControllerError, ZoneSchedule,
};
use resiflex_store::devices::Device;
use resiflex_store::heat_pumps;
use uuid::Uuid;

use super::{HeatPumpError, controller};
use crate::commands::{self, Outgoing, Retry, Sent};
use crate::{Devices, grants};

/// A change the device accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The change's transaction id, as clients get it back.
    pub transaction_id: Uuid,
}

/// Sends `command` to the device as transaction `transaction_id` and, once the device accepts
/// it, stores `configuration` as the controller's.
async fn apply(
    devices: &Devices,
    device: &Device,
    configuration: &HeatControllerConfiguration,
    command: Command,
    now: DateTime<Utc>,
) -> Result<Accepted, HeatPumpError> {
    let db = &devices.db;
    let link = grants::link(db, &devices.providers, device).await?;
    if let Err(why) = &link {
        return Err(HeatPumpError::Unavailable(*why));
    }
    let transaction_id = Uuid::new_v4();
    let outgoing = Outgoing::transaction(device, transaction_id, command);
    match commands::send(db, &link, device, outgoing, Retry::Never, now).await? {
        Sent::Acknowledged(_) | Sent::AlreadyDone => {
            heat_pumps::save_configuration(db, &device.id, configuration, now).await?;
            // The plan follows: a zone run by hand leaves smart control, a new flow temperature
            // or hush mode changes what the heat pump can do.
            devices.after_change.changed(&device.id, now).await;
            Ok(Accepted { transaction_id })
        }
        Sent::Failed { error, .. } => Err(HeatPumpError::Refused(error)),
    }
}

/// Turns the quieter mode on or off ([`Command::SetHushMode`]).
pub async fn set_hush_mode(
    devices: &Devices,
    device: &Device,
    enabled: bool,
    now: DateTime<Utc>,
) -> Result<Accepted, HeatPumpError> {
    let mut configuration = controller(&devices.db, device, now).await?.configuration;
    configuration.set_hush_mode(enabled);
    let command = Command::SetHushMode { enabled };
    apply(devices, device, &configuration, command, now).await
}

/// Changes the flow-temperature configuration, °C ([`Command::SetFlowTemperature`]).
pub async fn set_flow_temperature(
    devices: &Devices,
    device: &Device,
    flow: FlowTemperature,
    now: DateTime<Utc>,
) -> Result<Accepted, HeatPumpError> {
    let mut configuration = controller(&devices.db, device, now).await?.configuration;
    configuration.set_flow(flow)?;
    let command = Command::SetFlowTemperature(flow);
    apply(devices, device, &configuration, command, now).await
}

/// A zone's new mode, set-point (°C) and boost end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZoneModeChange {
    pub zone: Zone,
    pub mode: ZoneMode,
    pub setpoint_c: Option<f64>,
    pub end: Option<DateTime<Utc>>,
}

/// Changes a zone's mode ([`Command::SetZoneMode`]). A room zone run by hand (on, off, boost)
/// takes the heat pump out of smart control until it is back to AUTO or its boost ends.
pub async fn set_zone_mode(
    devices: &Devices,
    device: &Device,
    change: ZoneModeChange,
    now: DateTime<Utc>,
) -> Result<Accepted, HeatPumpError> {
    let mut configuration = controller(&devices.db, device, now).await?.configuration;
    let operation = configuration.set_zone_mode(
        change.zone,
        change.mode,
        change.setpoint_c,
        change.end,
        now,
    )?;
    let command = Command::SetZoneMode(operation);
    apply(devices, device, &configuration, command, now).await
}

/// Takes one of the zone's sensors as its primary sensor ([`Command::SetZonePrimarySensor`]).
pub async fn set_primary_sensor(
    devices: &Devices,
    device: &Device,
    zone: Zone,
    sensor_code: &str,
    now: DateTime<Utc>,
) -> Result<Accepted, HeatPumpError> {
    let mut configuration = controller(&devices.db, device, now).await?.configuration;
    let codes: Vec<&str> = super::sensors_of(zone).iter().map(|s| s.code).collect();
    configuration.set_primary_sensor(zone, sensor_code, &codes)?;
    let command = Command::SetZonePrimarySensor {
        zone,
        sensor_code: sensor_code.to_owned(),
    };
    apply(devices, device, &configuration, command, now).await
}

/// Renames zones, each as a transaction of its own ([`Command::SetZoneDisplayName`]). Every name
/// is checked before any is sent; a refusal part way keeps the renames already accepted, and
/// the error says which zone it stopped at.
pub async fn rename_zones(
    devices: &Devices,
    device: &Device,
    updates: &[(Zone, String)],
    now: DateTime<Utc>,
) -> Result<Vec<(Zone, Accepted)>, (Zone, HeatPumpError)> {
    let first = updates.first().map_or(Zone::Zone1, |u| u.0);
    let mut configuration = controller(&devices.db, device, now)
        .await
        .map_err(|err| (first, err.into()))?
        .configuration;
    let mut checked = configuration.clone();
    for (zone, name) in updates {
        checked
            .set_display_name(*zone, name)
            .map_err(|err| (*zone, err.into()))?;
    }
    // Each accepted rename is stored with the ones before it.
    let mut accepted = Vec::with_capacity(updates.len());
    for (zone, name) in updates {
        let display_name = configuration
            .set_display_name(*zone, name)
            .map_err(|err| (*zone, err.into()))?;
        let command = Command::SetZoneDisplayName {
            zone: *zone,
            display_name,
        };
        let done = apply(devices, device, &configuration, command, now)
            .await
            .map_err(|err| (*zone, err))?;
        accepted.push((*zone, done));
    }
    Ok(accepted)
}

/// Replaces a zone's schedules; the zone's current operation is sent again
/// ([`Command::SetZoneMode`]) so the device follows the new schedules.
pub async fn set_zone_schedules(
    devices: &Devices,
    device: &Device,
    zone: Zone,
    schedules: Vec<ZoneSchedule>,
    now: DateTime<Utc>,
) -> Result<Accepted, HeatPumpError> {
    let mut configuration = controller(&devices.db, device, now).await?.configuration;
    configuration.set_zone_schedules(zone, schedules)?;
    let operation = configuration
        .zone(zone)
        .map(|z| z.operation_at(now))
        .ok_or(HeatControllerError::UnknownZone(zone))?;
    let command = Command::SetZoneMode(operation);
    apply(devices, device, &configuration, command, now).await
}
