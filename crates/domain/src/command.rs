//! What a device is asked to do, and where a command is in the ledger that sends it once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::heat::{FlowTemperature, HeatPumpMode, Zone, ZoneOperation};

/// A command to a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Start drawing power now (at the given limit, or the device's maximum).
    Start { power_limit_w: Option<i64> },
    /// Stop drawing power.
    Stop,
    /// Limit the power drawn while active.
    SetPowerLimit { power_w: i64 },
    /// Follow a schedule: draw `power_w` during each window, nothing outside them.
    Schedule { windows: Vec<ScheduleWindow> },
    /// A short charge to prove that ResiFlex can control the device.
    TestCharge,
    /// Heat or cool towards a temperature (heat pumps, thermostats).
    SetTargetTemperature { celsius: f64 },
    /// Run a heat pump or thermostat in a mode, towards a set-point when one is given.
    SetHeatPumpMode {
        mode: HeatPumpMode,
        setpoint_c: Option<f64>,
    },
    /// Change one zone of a heat-pump controller.
    SetZoneMode(ZoneOperation),
    /// Set the flow temperature of a heat pump's water circuit.
    SetFlowTemperature(FlowTemperature),
    /// Run a heat pump quietly (lower compressor speed) or normally.
    SetHushMode { enabled: bool },
    /// Take the temperature of one sensor as a controller zone's (e.g. `SENSOR01`).
    SetZonePrimarySensor { zone: Zone, sensor_code: String },
    /// Rename a controller zone, as the controller shows it.
    SetZoneDisplayName { zone: Zone, display_name: String },
    /// Limit what an inverter feeds into the grid; 0 keeps everything behind the meter.
    SetExportLimit { power_w: i64 },
}

impl Command {
    /// The command held within a device rated `max_power_w` (when known): no power above it and
    /// none below 0. `Start` without a limit stays the device's own full power.
    #[must_use]
    pub fn within(&self, max_power_w: Option<i64>) -> Command {
        let clamp = |w: i64| match max_power_w {
            Some(max) => w.min(max.max(0)).max(0),
            None => w.max(0),
        };
        match self {
            Command::Start { power_limit_w } => Command::Start {
                power_limit_w: power_limit_w.map(clamp),
            },
            Command::SetPowerLimit { power_w } => Command::SetPowerLimit {
                power_w: clamp(*power_w),
            },
            // A battery's discharge is held within the same rating as its charge.
            Command::Schedule { windows } => Command::Schedule {
                windows: windows
                    .iter()
                    .map(|w| ScheduleWindow {
                        power_w: if w.power_w < 0 {
                            -clamp(-w.power_w)
                        } else {
                            clamp(w.power_w)
                        },
                        ..w.clone()
                    })
                    .collect(),
            },
            Command::SetExportLimit { power_w } => Command::SetExportLimit {
                power_w: (*power_w).max(0),
            },
            other => other.clone(),
        }
    }
}

/// One window of a schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Positive to draw (charge, heat, cool), negative to feed back (a battery discharging).
    pub power_w: i64,
    /// Heat pumps and thermostats: the temperature to hold during the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setpoint_c: Option<f64>,
}

/// Where a command is in the command ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandStatus {
    /// Written, not yet acknowledged by the provider (or the answer was lost).
    Pending,
    /// The provider acknowledged it.
    Sent,
    /// The provider refused it or could not be reached; retried at its next attempt time.
    Failed,
    /// Given up: a newer command replaced it, or it was refused for good.
    Abandoned,
}

impl CommandStatus {
    pub const ALL: [CommandStatus; 4] = [
        CommandStatus::Pending,
        CommandStatus::Sent,
        CommandStatus::Failed,
        CommandStatus::Abandoned,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            CommandStatus::Pending => "PENDING",
            CommandStatus::Sent => "SENT",
            CommandStatus::Failed => "FAILED",
            CommandStatus::Abandoned => "ABANDONED",
        }
    }

    pub fn parse(text: &str) -> Option<CommandStatus> {
        CommandStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use chrono::TimeZone;

    #[test]
    fn commands_stay_within_the_rating() {
        let max = Some(7_400);
        assert_eq!(
            Command::Start {
                power_limit_w: Some(22_000)
            }
            .within(max),
            Command::Start {
                power_limit_w: Some(7_400)
            }
        );
        assert_eq!(
            Command::Start {
                power_limit_w: None
            }
            .within(max),
            Command::Start {
                power_limit_w: None
            }
        );
        assert_eq!(
            Command::SetPowerLimit { power_w: -5 }.within(max),
            Command::SetPowerLimit { power_w: 0 }
        );
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        let window = |power_w| ScheduleWindow {
            start: at,
            end: at + chrono::Duration::hours(1),
            power_w,
            setpoint_c: None,
        };
        assert_eq!(
            Command::Schedule {
                windows: vec![window(22_000), window(3_000)]
            }
            .within(max),
            Command::Schedule {
                windows: vec![window(7_400), window(3_000)]
            }
        );
        assert_eq!(Command::Stop.within(max), Command::Stop);
    }
}
