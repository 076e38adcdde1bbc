//! A household's devices planned together: a car, a heat pump and a battery behind one connection
//! share its limit, and the battery can cover the heat pump's and the car's draw in dear hours. One
//! joint plan ([`resiflex_planner::household`], exact within
//! [`ControlConfig::household_solve_millis`]) replaces their separate plans whenever one of them
//! is re-planned.
//!
//! Who takes part: the household's first car with a SMART plan whose ready-by falls inside the
//! horizon, its first heat pump with a comfort band, and its first battery with a state of
//! charge. What the others draw (a boosting car, a second car) is part of the household's load. A
//! member that was due gets the joint plan as its new version; the others get a HOUSEHOLD version
//! when their dispatches change.

use chrono::{DateTime, Utc};
use resiflex_domain::plan::{DispatchAction, DispatchKind, PlanDispatch, PlanKind, PlanTrigger};
use resiflex_planner::PlanScratch;
use resiflex_planner::household::{EvDemand, HouseholdRequest, plan_household};
use resiflex_store::plans::PlanRecord;

use crate::ControlConfig;
use crate::forecast::household_slots;
use crate::planning::{DeviceView, NewPlans, PlanInputs, SlotWork, dispatches_of, make_plan};
use crate::storage::BatteryStep;

/// Plans `members` (the devices of one property) together: the plans to put in place of (or
/// beside) `new_plans`, the pass's plans so far. None when fewer than two members take part.
pub fn plan_together(
    members: &[(DeviceView<'_>, PlanInputs)],
    new_plans: &NewPlans,
    now: DateTime<Utc>,
    config: &ControlConfig,
    scratch: &mut PlanScratch,
) -> Vec<PlanRecord> {
    // Each member's plan as it would be made now: the due ones as just made, the others afresh.
    let mut records: Vec<(usize, PlanRecord, bool)> = members
        .iter()
        .enumerate()
        .map(
            |(index, (view, inputs))| match new_plans.get(&view.device.id) {
                Some(plan) => (index, plan.clone(), true),
                None => (
                    index,
                    make_plan(view, inputs, PlanTrigger::Household, now, config, scratch),
                    false,
                ),
            },
        )
        .collect();
    let Some((first_view, _)) = members.first() else {
        return Vec::new();
    };
    let mut slots = household_slots(
        first_view.rates,
        first_view.tariff.is_some(),
        first_view.forecast,
        members
            .iter()
            .find_map(|(v, _)| v.reading.and_then(|t| t.outdoor_temperature_c)),
        now,
        config,
    );
    let Some(horizon_end) = slots.end() else {
        return Vec::new();
    };
    let smart = |record: &PlanRecord| record.kind == PlanKind::Smart;
    let ev = records.iter().position(|(i, r, _)| {
        members[*i].0.kind.charges_vehicle()
            && smart(r)
            && r.ready_by.is_some_and(|at| at <= horizon_end)
            && !r.outcome.starts_with("OVERRUN")
    });
    let heat = records
        .iter()
        .position(|(i, r, _)| members[*i].0.kind.heats() && smart(r));
    let battery = records
        .iter()
        .position(|(i, r, _)| members[*i].0.kind.stores_energy() && smart(r));
    let taking_part = [ev, heat, battery].iter().flatten().count();
    if taking_part < 2 {
        return Vec::new();
    }
    // What the others draw is the household's load.
    for (position, (_, record, _)) in records.iter().enumerate() {
        if [ev, heat, battery].contains(&Some(position)) {
            continue;
        }
        for slot in &mut slots.slots {
            slot.base_load_w += drawn_during(&record.dispatches, slot.start, slot.end);
        }
    }
    let ev_demand = ev.and_then(|p| {
        let (index, record, _) = &records[p];
        Some(EvDemand {
            energy_wh: record
                .dispatches
                .iter()
                .map(|d| d.energy_wh.max(0))
                .sum::<i64>() as f64,
            ready_by: record.ready_by?,
            max_power_w: members[*index].0.device.max_power_w.unwrap_or(7_400).max(0) as f64,
        })
    });
    let heat_demand = heat.and_then(|p| {
        let view = &members[records[p].0].0;
        crate::heat::heat_demand(view, &slots, view.building, config)
    });
    let battery_model =
        battery.and_then(|p| crate::storage::battery_model(&members[records[p].0].0, config));
    let grid = battery.map_or_else(
        || crate::storage::grid(first_view, config),
        |p| crate::storage::grid(&members[records[p].0].0, config),
    );
    let request = HouseholdRequest {
        slots: slots.slots.clone(),
        grid,
        ev: ev_demand,
        heat: heat_demand.clone(),
        battery: battery_model,
        time_limit: std::time::Duration::from_millis(config.household_solve_millis),
    };
    let plan = plan_household(&request);
    let outcome = crate::heat::status_name(plan.status);
    if let (Some(p), Some(_)) = (ev, &request.ev) {
        let record = &mut records[p].1;
        record.dispatches = ev_dispatches(&slots.slots, &plan.ev_w, now);
        record.cost_micros = (crate::heat::energy_cost(
            &slots.slots,
            plan.ev_w.iter().copied(),
            &grid,
        ) * 1e6)
            .round() as i64;
        record.outcome = format!("HOUSEHOLD_{outcome}");
    }
    if let (Some(p), Some(_)) = (heat, &heat_demand) {
        let (index, record, _) = &mut records[p];
        let inputs = &members[*index].1;
        let model = heat_demand.as_ref().map(|(m, _)| *m);
        crate::heat::fill_record(
            record, inputs, &plan.heat, &model, &plan, &slots, &grid, now,
        );
        record.outcome = format!("HOUSEHOLD_{}", record.outcome);
    }
    if let (Some(p), Some(model)) = (battery, &battery_model) {
        let (index, record, _) = &mut records[p];
        let inputs = &members[*index].1;
        let steps: Vec<BatteryStep> = slots
            .slots
            .iter()
            .zip(&plan.battery)
            .map(|(slot, step)| BatteryStep {
                start: slot.start,
                end: slot.end,
                power_w: step.power_w,
                soc_end_pct: step.soc_end_pct,
            })
            .collect();
        crate::storage::fill_record(
            record,
            inputs,
            model,
            &steps,
            &format!("HOUSEHOLD_{outcome}"),
            &slots,
            &grid,
            now,
        );
    }
    let mut out = Vec::new();
    for position in [ev, heat, battery].into_iter().flatten() {
        let (index, record, due) = records[position].clone();
        if !due {
            let previous = members[index].0.previous;
            if previous.is_some_and(|p| p.dispatches == record.dispatches) {
                continue;
            }
        }
        out.push(record);
    }
    out
}

/// The average power `dispatches` draw over `[start, end)`, W.
fn drawn_during(dispatches: &[PlanDispatch], start: DateTime<Utc>, end: DateTime<Utc>) -> f64 {
    let length = (end - start).num_milliseconds();
    if length <= 0 {
        return 0.0;
    }
    dispatches
        .iter()
        .map(|d| {
            let overlap = (d.end.min(end) - d.start.max(start))
                .num_milliseconds()
                .max(0);
            d.power_w as f64 * overlap as f64 / length as f64
        })
        .sum()
}

/// A car's dispatches from the joint plan's power per slot.
fn ev_dispatches(
    slots: &[resiflex_planner::energy::EnergySlot],
    power_w: &[f64],
    now: DateTime<Utc>,
) -> Vec<PlanDispatch> {
    let work = slots.iter().zip(power_w).map(|(slot, &power_w)| SlotWork {
        start: slot.start,
        end: slot.end,
        power_w: power_w.max(0.0),
        action: DispatchAction::Charge,
        setpoint_c: None,
        activity: None,
    });
    dispatches_of(work, DispatchKind::Smart, now)
}
