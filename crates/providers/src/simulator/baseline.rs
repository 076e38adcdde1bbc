//! The unmanaged household: what the same devices would draw over a day with nobody steering them.
//!
//! Heat pumps run as plain thermostats at their set-point, home batteries stay idle, and cars charge
//! at full power as soon as they are plugged in. Comparing the energy per half-hour against tariff
//! rates (currency per kWh) gives the cost a managed day saves.

use chrono::{DateTime, TimeDelta, Utc};

use resiflex_domain::device::DeviceKind;

use super::model;
use super::spec::SimDeviceSpec;
use crate::Command;

/// Length of one baseline interval, seconds (half an hour).
pub const BASELINE_STEP_SECONDS: i64 = 1800;

/// Number of half-hours in a baseline day.
pub const BASELINE_STEPS: usize = 48;

/// The energy one household draws from the grid in one half-hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselineInterval {
    /// Start of the half-hour.
    pub at: DateTime<Utc>,
    /// Net grid energy in the half-hour, Wh: import positive, export negative.
    pub grid_wh: f64,
}

/// Simulates `devices` unmanaged for the 48 half-hours from `start` and returns the net grid energy
/// (Wh, import positive) of the whole household per half-hour.
///
/// Heat pumps keep their set-point as thermostats, batteries are left idle, and vehicles and
/// chargers are told to start at full power, so they charge whenever plugged in (on arrival). The
/// result depends only on the specs, `seed` and `start`, so it is repeatable.
pub fn baseline(
    devices: &[SimDeviceSpec],
    seed: u64,
    start: DateTime<Utc>,
) -> Vec<BaselineInterval> {
    let mut totals = vec![0_i64; BASELINE_STEPS];
    for (index, spec) in devices.iter().enumerate() {
        let noise = seed.wrapping_add((index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (params, mut state) = model::create(spec, noise, start);
        if matches!(
            spec.kind,
            DeviceKind::ElectricVehicle | DeviceKind::ChargePoint
        ) {
            state.apply(
                &Command::Start {
                    power_limit_w: None,
                },
                start,
            );
        }
        let mut before = state.net_grid_uwh();
        for (step, total) in totals.iter_mut().enumerate() {
            let end = start + TimeDelta::seconds(BASELINE_STEP_SECONDS * (step as i64 + 1));
            state.advance(&params, end, true);
            let now = state.net_grid_uwh();
            *total += now - before;
            before = now;
        }
    }
    totals
        .iter()
        .enumerate()
        .map(|(step, uwh)| BaselineInterval {
            at: start + TimeDelta::seconds(BASELINE_STEP_SECONDS * step as i64),
            grid_wh: *uwh as f64 / 1_000_000.0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;

    use crate::simulator::DailySchedule;

    use super::*;

    fn midnight() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 12, 0, 0, 0).unwrap()
    }

    #[test]
    fn a_cold_day_with_a_heat_pump_imports_energy() {
        let days = baseline(&[SimDeviceSpec::new(DeviceKind::HeatPump)], 7, midnight());
        assert_eq!(days.len(), BASELINE_STEPS);
        assert!(days.iter().all(|i| i.grid_wh >= 0.0));
        assert!(days.iter().map(|i| i.grid_wh).sum::<f64>() > 1000.0);
        assert_eq!(days[1].at, midnight() + TimeDelta::minutes(30));
    }

    #[test]
    fn the_baseline_is_repeatable() {
        let pump = SimDeviceSpec::new(DeviceKind::HeatPump);
        let mut car = SimDeviceSpec::vehicle("Sim", "Car", 60_000, 7_400);
        car.presence = Some(DailySchedule::commuter());
        car.initial_soc_pct = Some(40.0);
        let both = baseline(&[pump.clone(), car.clone()], 3, midnight());
        assert_eq!(both, baseline(&[pump, car], 3, midnight()));
    }

    #[test]
    fn an_idle_battery_draws_nothing() {
        let days = baseline(&[SimDeviceSpec::new(DeviceKind::Battery)], 1, midnight());
        assert!(days.iter().all(|i| i.grid_wh.abs() < 1e-6));
    }
}
