//! Heat pumps and thermostats: the day-ahead plan that keeps the home inside the customer's
//! comfort band at the least cost.
//!
//! The band of each half-hour comes from the preferences in the property's time zone
//! ([`Preferences::comfort_at`]): HEAT holds at least the set-point and may pre-heat up to the
//! band's top ahead of dearer hours; COOL holds at most the set-point and may pre-cool. The
//! outdoor temperature comes from the property's forecast. The building's heat loss and thermal
//! mass are the ones learnt from the device's readings ([`crate::learning`]), or a typical house.
//! The plan itself is the planner's ([`resiflex_planner::household`]), made for the heat pump
//! alone here, or with the household's other devices ([`crate::household`]).
//!
//! Each planned half-hour that runs becomes a dispatch with its power, its set-point (the
//! temperature the plan heats to, rounded to the 0.5 °C a controller takes) and its activity
//! (PRE_HEATING above the customer's set-point, SCHEDULED_HEATING to it; likewise for cooling).

use chrono::{DateTime, Duration, Utc};
use resiflex_domain::plan::PlanKind;
use resiflex_domain::plan::{DispatchAction, DispatchKind, PlanDispatch};
use resiflex_domain::preferences::{PreferenceMode, Preferences};
use resiflex_planner::energy::{EnergySlot, GridConnection};
use resiflex_planner::heat::{ComfortSlot, HeatPumpModel, HeatSlotPlan, ThermalMode};
use resiflex_planner::household::{HouseholdPlan, HouseholdRequest, SolveStatus, plan_household};
use resiflex_planner::thermal::{Building, CopModel};
use resiflex_store::plans::PlanRecord;

use crate::ControlConfig;
use crate::forecast::{HouseholdSlots, household_slots};
use crate::planning::{DeviceView, PlanInputs, SlotWork, dispatches_of};

/// A plan whose comfort shortfall stays under this (°C·h over the horizon) keeps the band.
const COMFORT_KEPT_C_H: f64 = 0.05;

/// The name a plan's outcome takes from how its solve ended.
pub fn status_name(status: SolveStatus) -> &'static str {
    match status {
        SolveStatus::Optimal => "OPTIMAL",
        SolveStatus::TimeLimit => "TIME_LIMIT",
        SolveStatus::Fallback => "FALLBACK",
    }
}

/// A heat pump planned on its own: fills `record` (an IDLE plan when the preferences give no band).
pub fn plan_alone(
    view: &DeviceView<'_>,
    inputs: &PlanInputs,
    record: &mut PlanRecord,
    now: DateTime<Utc>,
    config: &ControlConfig,
) {
    let slots = household_slots(
        view.rates,
        view.tariff.is_some(),
        view.forecast,
        view.reading.and_then(|t| t.outdoor_temperature_c),
        now,
        config,
    );
    let Some((model, comfort)) = heat_demand(view, &slots, view.building, config) else {
        record.outcome = "NO_PREFERENCES".into();
        return;
    };
    let grid = crate::storage::grid(view, config);
    let request = HouseholdRequest {
        slots: slots.slots.clone(),
        grid,
        ev: None,
        heat: Some((model, comfort)),
        battery: None,
        time_limit: std::time::Duration::from_millis(config.household_solve_millis),
    };
    let plan = plan_household(&request);
    fill_record(
        record,
        inputs,
        &plan.heat,
        &model_of(&request),
        &plan,
        &slots,
        &grid,
        now,
    );
}

fn model_of(request: &HouseholdRequest) -> Option<HeatPumpModel> {
    request.heat.as_ref().map(|(model, _)| *model)
}

/// What running at `planned` costs at the slots' import prices (carbon weighed in), minor units.
pub fn energy_cost(
    slots: &[EnergySlot],
    power_w: impl Iterator<Item = f64>,
    grid: &GridConnection,
) -> f64 {
    slots
        .iter()
        .zip(power_w)
        .map(|(slot, w)| w * slot.hours() / 1000.0 * grid.effective_import_price(slot))
        .sum()
}

/// Puts a heat pump's share of a plan into its record.
#[allow(clippy::too_many_arguments)]
pub fn fill_record(
    record: &mut PlanRecord,
    inputs: &PlanInputs,
    planned: &[HeatSlotPlan],
    model: &Option<HeatPumpModel>,
    plan: &HouseholdPlan,
    slots: &HouseholdSlots,
    grid: &GridConnection,
    now: DateTime<Utc>,
) {
    let Some(model) = model else {
        return;
    };
    record.kind = PlanKind::Smart;
    record.start_soc_pct = None;
    record.achievable_soc_pct = None;
    record.target_reached = plan.comfort_violation_c_h < COMFORT_KEPT_C_H;
    record.outcome = if record.target_reached {
        status_name(plan.status).to_owned()
    } else {
        format!("COMFORT_AT_RISK_{}", status_name(plan.status))
    };
    record.cost_micros =
        (energy_cost(&slots.slots, planned.iter().map(|s| s.power_w), grid) * 1e6).round() as i64;
    record.dispatches = dispatches(planned, model.mode, DispatchKind::Smart, now);
    record.inputs =
        inputs.with_expectation(slots.end(), now, model.indoor_c, expected_path(planned));
}

/// The lowest a running heat pump modulates down to, as a share of its power.
pub const MIN_MODULATION: f64 = 0.3;

/// The electrical power of a heat pump whose record gives none, W.
pub const DEFAULT_HEAT_PUMP_W: i64 = 3_000;

/// The indoor temperature assumed when the device reports none: the first slot's set-point.
fn indoor_now(view: &DeviceView<'_>, comfort: &[ComfortSlot]) -> f64 {
    view.reading
        .and_then(|t| t.indoor_temperature_c)
        .filter(|c| c.is_finite())
        .or_else(|| comfort.first().map(|c| c.setpoint_c))
        .unwrap_or(20.0)
}

/// Rounds a set-point to the half degree a controller takes.
pub fn controller_setpoint(celsius: f64) -> f64 {
    (celsius * 2.0).round() / 2.0
}

/// The comfort band of every slot, or `None` when the preferences give none.
pub fn comfort_slots(
    preferences: &Preferences,
    time_zone: chrono_tz::Tz,
    slots: &HouseholdSlots,
) -> Option<Vec<ComfortSlot>> {
    slots
        .slots
        .iter()
        .zip(&slots.outdoor_c)
        .map(|(slot, outdoor)| {
            let band =
                preferences.comfort_at(slot.start.with_timezone(&time_zone).naive_local())?;
            Some(ComfortSlot {
                min_c: band.min_c,
                max_c: band.max_c,
                setpoint_c: band.setpoint_c,
                outdoor_c: *outdoor,
            })
        })
        .collect()
}

/// What the planner needs to know of a heat pump, or `None` when its preferences give no band.
pub fn heat_demand(
    view: &DeviceView<'_>,
    slots: &HouseholdSlots,
    building: Option<Building>,
    config: &ControlConfig,
) -> Option<(HeatPumpModel, Vec<ComfortSlot>)> {
    let preferences = view.device.preferences.as_ref()?;
    let mode = match preferences.mode {
        PreferenceMode::Cool => ThermalMode::Cool,
        PreferenceMode::Heat => ThermalMode::Heat,
        PreferenceMode::Charge => return None,
    };
    let comfort = comfort_slots(preferences, view.time_zone, slots)?;
    let slot_minutes = 30;
    let slots_of = |minutes: i64| (minutes.max(0) as usize).div_ceil(slot_minutes);
    let (min_run, min_off) = (
        slots_of(config.heat_min_run_minutes),
        slots_of(config.heat_min_off_minutes),
    );
    let running = view.reading.is_some_and(|t| t.active);
    let max_power_w = view
        .device
        .max_power_w
        .unwrap_or(DEFAULT_HEAT_PUMP_W)
        .max(0) as f64;
    let model = HeatPumpModel {
        mode,
        building: building.filter(Building::is_valid).unwrap_or_default(),
        cop: CopModel::default(),
        indoor_c: indoor_now(view, &comfort),
        max_power_w,
        min_power_w: max_power_w * MIN_MODULATION,
        min_run_slots: min_run,
        min_off_slots: min_off,
        // Free to start or stop at once: it has rested (or run) long enough already.
        running_for_slots: if running {
            min_run as i64
        } else {
            -(min_off as i64)
        },
        comfort_penalty_per_c_h: config.comfort_penalty,
    };
    Some((model, comfort))
}

/// The dispatches of a heat pump's planned slots: runs of equal power, set-point and activity.
pub fn dispatches(
    planned: &[HeatSlotPlan],
    mode: ThermalMode,
    kind: DispatchKind,
    now: DateTime<Utc>,
) -> Vec<PlanDispatch> {
    let action = match mode {
        ThermalMode::Heat => DispatchAction::Heat,
        ThermalMode::Cool => DispatchAction::Cool,
    };
    let work = planned.iter().map(|slot| SlotWork {
        start: slot.start,
        end: slot.end,
        power_w: slot.power_w,
        action,
        setpoint_c: Some(controller_setpoint(slot.setpoint_c)),
        activity: Some(slot.activity),
    });
    dispatches_of(work, kind, now)
}

/// The indoor temperature the plan expects at the end of each slot.
pub fn expected_path(planned: &[HeatSlotPlan]) -> Vec<(DateTime<Utc>, f64)> {
    planned.iter().map(|s| (s.end, s.indoor_end_c)).collect()
}

/// The value a plan's expected path gives at `at`: linear between its points, the start value
/// before the first (it starts at `start_value` at `start`), `None` past the last.
pub fn expected_at(
    path: &[(DateTime<Utc>, f64)],
    start: DateTime<Utc>,
    start_value: f64,
    at: DateTime<Utc>,
) -> Option<f64> {
    let mut from = (start, start_value);
    for &(to_at, to_value) in path {
        if at <= to_at {
            let span = (to_at - from.0).num_milliseconds();
            if span <= 0 {
                return Some(to_value);
            }
            let part = (at - from.0).num_milliseconds().max(0) as f64 / span as f64;
            return Some(from.1 + (to_value - from.1) * part);
        }
        from = (to_at, to_value);
    }
    None
}

/// How long a dispatch list runs, for reports.
pub fn running_time(dispatches: &[PlanDispatch]) -> Duration {
    dispatches
        .iter()
        .map(|d| d.end - d.start)
        .fold(Duration::zero(), |a, b| a + b)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;
    use resiflex_domain::heat::HeatPumpActivity;

    use super::*;

    fn slot(
        from_min: i64,
        power_w: f64,
        setpoint_c: f64,
        activity: HeatPumpActivity,
    ) -> HeatSlotPlan {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        HeatSlotPlan {
            start: t0 + Duration::minutes(from_min),
            end: t0 + Duration::minutes(from_min + 30),
            power_w,
            heat_w: power_w * 3.0,
            indoor_end_c: setpoint_c,
            activity,
            setpoint_c,
        }
    }

    #[test]
    fn runs_of_equal_work_become_one_dispatch() {
        let pre = HeatPumpActivity::PreHeating;
        let planned = [
            slot(0, 2_000.0, 21.2, pre),
            slot(30, 2_004.0, 20.9, pre),
            slot(60, 0.0, 20.0, HeatPumpActivity::Pending),
            slot(90, 1_000.0, 20.0, HeatPumpActivity::ScheduledHeating),
        ];
        let now = planned[0].start + Duration::minutes(10);
        let out = dispatches(&planned, ThermalMode::Heat, DispatchKind::Smart, now);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].start, now);
        assert_eq!(out[0].end, planned[1].end);
        assert_eq!(out[0].setpoint_c, Some(21.0));
        assert_eq!(out[0].activity, Some(pre));
        assert_eq!(out[0].action, DispatchAction::Heat);
        // 20 minutes at 2 kW and 30 at 2.004 kW.
        assert_eq!(out[0].energy_wh, 667 + 1_002);
        assert_eq!(out[1].activity, Some(HeatPumpActivity::ScheduledHeating));
    }

    #[test]
    fn the_expected_path_interpolates() {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let path = [
            (t0 + Duration::minutes(30), 21.0),
            (t0 + Duration::minutes(60), 20.0),
        ];
        assert_eq!(
            expected_at(&path, t0, 20.0, t0 + Duration::minutes(15)),
            Some(20.5)
        );
        assert_eq!(
            expected_at(&path, t0, 20.0, t0 + Duration::minutes(45)),
            Some(20.5)
        );
        assert_eq!(
            expected_at(&path, t0, 20.0, t0 + Duration::minutes(61)),
            None
        );
    }
}
