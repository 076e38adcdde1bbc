//! Home batteries and the batteries behind hybrid inverters: the day-ahead plan that charges in
//! cheap (or sunny) hours and covers the dear ones, within the battery's limits.
//!
//! The battery's floor is the larger of its preferences' `min` and [`ControlConfig::battery_reserve_pct`]
//! (kept for outages, never planned below); its ceiling the preferences' `max` (the charge it is
//! kept under for its health, 100 % without preferences). It discharges into the grid only when its
//! grid-export setting is ENABLED; otherwise it only covers the household's own load. With the
//! charging-duration cap ENABLED it is driven for at most [`ControlConfig::duration_cap_minutes`] in a
//! row. The plan is the planner's exact battery plan ([`resiflex_planner::battery`]) for a battery
//! alone, or a share of the household's joint plan ([`crate::household`]).

use chrono::{DateTime, Utc};
use resiflex_domain::device::FlexSetting;
use resiflex_domain::plan::{DispatchAction, DispatchKind, PlanDispatch, PlanKind};
use resiflex_planner::battery::{BatteryOutcome, BatteryPlanRequest, plan_battery};
use resiflex_planner::energy::{BatteryModel, GridConnection};
use resiflex_store::plans::PlanRecord;

use crate::ControlConfig;
use crate::forecast::{HouseholdSlots, household_slots};
use crate::planning::{DeviceView, PlanInputs, SlotWork, dispatches_of};

/// A battery planned on its own: fills `record` (an IDLE plan without a state of charge, or
/// for an inverter without a battery).
pub fn plan_alone(
    view: &DeviceView<'_>,
    inputs: &PlanInputs,
    record: &mut PlanRecord,
    now: DateTime<Utc>,
    config: &ControlConfig,
) {
    if view.device.battery_capacity_wh.unwrap_or(0) <= 0
        && view.kind == resiflex_domain::device::DeviceKind::Inverter
    {
        record.outcome = "NO_BATTERY".into();
        return;
    }
    let Some(battery) = battery_model(view, config) else {
        record.outcome = "NO_STATE_OF_CHARGE".into();
        return;
    };
    let slots = household_slots(
        view.rates,
        view.tariff.is_some(),
        view.forecast,
        None,
        now,
        config,
    );
    let grid = grid(view, config);
    let plan = plan_battery(&BatteryPlanRequest {
        slots: slots.slots.clone(),
        grid,
        battery,
        soc_steps: None,
    });
    let steps: Vec<BatteryStep> = plan
        .slots
        .iter()
        .map(|s| BatteryStep {
            start: s.start,
            end: s.end,
            power_w: s.power_w,
            soc_end_pct: s.soc_end_pct,
        })
        .collect();
    let outcome = match plan.outcome {
        BatteryOutcome::Optimal => "OPTIMAL",
        BatteryOutcome::Recovering => "RECOVERING",
        BatteryOutcome::Hold => "HOLD",
    };
    fill_record(
        record, inputs, &battery, &steps, outcome, &slots, &grid, now,
    );
}

/// What the battery's steps change in the household's bill over `slots`, minor units (negative:
/// it saves money).
pub fn bill_change(
    slots: &[resiflex_planner::energy::EnergySlot],
    steps: &[BatteryStep],
    grid: &GridConnection,
) -> f64 {
    slots
        .iter()
        .zip(steps)
        .map(|(slot, step)| {
            let without = slot.net_load_w();
            grid.cost(slot, without + step.power_w) - grid.cost(slot, without)
        })
        .sum()
}

/// Puts a battery's share of a plan into its record.
#[allow(clippy::too_many_arguments)]
pub fn fill_record(
    record: &mut PlanRecord,
    inputs: &PlanInputs,
    battery: &BatteryModel,
    steps: &[BatteryStep],
    outcome: &str,
    slots: &HouseholdSlots,
    grid: &GridConnection,
    now: DateTime<Utc>,
) {
    record.kind = PlanKind::Smart;
    record.start_soc_pct = Some(battery.soc_pct);
    record.achievable_soc_pct = steps
        .last()
        .map(|s| s.soc_end_pct)
        .or(Some(battery.soc_pct));
    record.target_soc_pct = None;
    record.target_reached = true;
    record.outcome = outcome.to_owned();
    record.cost_micros = (bill_change(&slots.slots, steps, grid) * 1e6).round() as i64;
    record.dispatches = dispatches(steps, DispatchKind::Smart, now);
    record.inputs =
        inputs.with_expectation(slots.end(), now, battery.soc_pct, expected_path(steps));
}

/// A battery whose record gives no capacity, Wh.
pub const DEFAULT_CAPACITY_WH: i64 = 13_500;
/// A battery whose record gives no power, W.
pub const DEFAULT_POWER_W: i64 = 5_000;
/// One-way efficiency assumed for home batteries.
pub const EFFICIENCY: f64 = 0.95;

/// The household's connection as a device's settings see it.
pub fn grid(view: &DeviceView<'_>, config: &ControlConfig) -> GridConnection {
    GridConnection {
        limit_w: config.connection_limit_w,
        battery_export: view.device.grid_export == FlexSetting::Enabled,
        carbon_weight: config.carbon_weight,
    }
}

/// What the planner needs to know of a battery, or `None` when it reports no state of charge.
pub fn battery_model(view: &DeviceView<'_>, config: &ControlConfig) -> Option<BatteryModel> {
    let soc = view
        .reading
        .and_then(|t| t.state_of_charge_pct)
        .filter(|s| s.is_finite())?;
    let entries = view
        .device
        .preferences
        .as_ref()
        .map(|p| p.schedules.as_slice())
        .unwrap_or_default();
    let floor = entries
        .iter()
        .filter_map(|e| e.min)
        .fold(config.battery_reserve_pct, f64::max);
    let ceiling = entries.iter().map(|e| e.max).fold(f64::NAN, f64::max);
    let ceiling = if ceiling.is_nan() { 100.0 } else { ceiling };
    let power = view.device.max_power_w.unwrap_or(DEFAULT_POWER_W).max(0) as f64;
    let slots = (config.duration_cap_minutes.max(30) / 30) as usize;
    Some(BatteryModel {
        capacity_wh: view
            .device
            .battery_capacity_wh
            .unwrap_or(DEFAULT_CAPACITY_WH)
            .max(0) as f64,
        soc_pct: soc.clamp(0.0, 100.0),
        min_soc_pct: 0.0,
        max_soc_pct: ceiling.clamp(0.0, 100.0),
        reserve_pct: floor.clamp(0.0, 100.0),
        end_soc_pct: None,
        max_charge_w: power,
        max_discharge_w: power,
        charge_efficiency: EFFICIENCY,
        discharge_efficiency: EFFICIENCY,
        degradation_per_kwh: config.battery_degradation_per_kwh.max(0.0),
        end_value_per_kwh: 0.0,
        max_continuous_slots: (view.device.charging_duration_capped == FlexSetting::Enabled)
            .then_some(slots),
    })
}

/// One planned battery step: its slot, its power (charging positive) and the charge after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatteryStep {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub power_w: f64,
    pub soc_end_pct: f64,
}

/// The dispatches of a battery's steps: runs of equal power, charging or discharging.
pub fn dispatches(
    steps: &[BatteryStep],
    kind: DispatchKind,
    now: DateTime<Utc>,
) -> Vec<PlanDispatch> {
    let work = steps.iter().map(|step| SlotWork {
        start: step.start,
        end: step.end,
        power_w: step.power_w,
        action: if step.power_w > 0.0 {
            DispatchAction::Charge
        } else {
            DispatchAction::Discharge
        },
        setpoint_c: None,
        activity: None,
    });
    dispatches_of(work, kind, now)
}

/// The state of charge the plan expects at the end of each step.
pub fn expected_path(steps: &[BatteryStep]) -> Vec<(DateTime<Utc>, f64)> {
    steps.iter().map(|s| (s.end, s.soc_end_pct)).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::{Duration, TimeZone};

    use super::*;

    #[test]
    fn charge_and_discharge_become_separate_dispatches() {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let step = |i: i64, power_w: f64| BatteryStep {
            start: t0 + Duration::minutes(30 * i),
            end: t0 + Duration::minutes(30 * (i + 1)),
            power_w,
            soc_end_pct: 50.0,
        };
        let steps = [
            step(0, 3_000.0),
            step(1, 3_000.0),
            step(2, 0.0),
            step(3, -2_000.0),
            step(4, 1_000.0),
        ];
        let out = dispatches(&steps, DispatchKind::Smart, t0);
        assert_eq!(out.len(), 3);
        assert_eq!(
            (out[0].action, out[0].energy_wh, out[0].end),
            (DispatchAction::Charge, 3_000, steps[1].end)
        );
        assert_eq!(
            (out[1].action, out[1].power_w, out[1].energy_wh),
            (DispatchAction::Discharge, -2_000, -1_000)
        );
        assert_eq!(out[2].action, DispatchAction::Charge);
    }
}
