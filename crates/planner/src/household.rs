//! One plan for a household's devices behind one connection: a car that must be charged by its
//! ready-by time, a heat pump that must keep the home in its comfort band, and a home battery,
//! sharing the grid connection's limit, the household's own load and its solar production.
//!
//! ## Model (per slot `t` of length `h_t` hours; powers in kW inside the solver)
//! - grid: `import_t − export_t = base_t − solar_t + curtail_t + ev_t + hp_t + charge_t − discharge_t`,
//!   `0 ≤ import_t ≤ max(limit, base_t − solar_t)` (the household's own load is never refused),
//!   `0 ≤ export_t ≤ limit`, and without battery export only the solar surplus may leave:
//!   `export_t ≤ max(0, solar_t − base_t)`. `0 ≤ curtail_t ≤ solar_t` lets panels be turned down
//!   when exporting costs money. Cost `Σ h_t (import_t · p_t − export_t · q_t)` with `q_t` taken as
//!   at most `p_t` (a tariff that pays more to export than it charges to import would make the
//!   relaxation import and export at once; it is treated as paying the import price).
//! - car: `0 ≤ ev_t ≤ P · share_t` where `share_t` is the part of the slot before the ready-by
//!   time, `Σ h_t ev_t + shortfall = E`; the shortfall costs [`EV_SHORTFALL_PENALTY`] per kWh.
//! - heat pump: `T_t = a_t T_{t−1} + b_t out_t + c_t · COP_t · hp_t` (the building's exact
//!   step), each degree-hour outside the comfort band costing the model's penalty. The
//!   temperature has no variable of its own: it is written `T_t = min_t + within_t + above_t −
//!   below_t` with `0 ≤ within_t ≤ max_t − min_t` and the penalty on `above_t` and `below_t`
//!   (the cheapest way to write a temperature is its true violation, so this is the soft band
//!   exactly, with one row per slot instead of three). With a modulation floor or minimum run
//!   or rest times: on/off binaries `u_t` and `hp_t = min·u_t + extra_t`,
//!   `0 ≤ extra_t ≤ (max − min)·u_t` (one row for `min·u_t ≤ hp_t ≤ max·u_t`, the same
//!   relaxation), and the classic minimum up/down inequalities (`u_t − u_{t−1} ≤ u_τ` for
//!   `τ < t + run`, `u_{t−1} − u_t ≤ 1 − u_τ` for `τ < t + rest`), honouring how long it has
//!   already run or rested.
//! - battery: `E_t = E_{t−1} + h_t (η_c charge_t − discharge_t / η_d)` within the floor (or the
//!   start, when it starts below it) and the ceiling, wear `deg · h_t (charge_t + discharge_t)`,
//!   the energy left at the end worth `end_value` per kWh, an end state of charge as a soft bound.
//!   Charging and discharging at once is ruled out by a binary per slot: the plan is first solved
//!   without them and a binary is added only to slots where the solution does both, until none
//!   does (a relaxation whose optimum is feasible for the whole problem is its optimum, so this is
//!   exact). `max_continuous_slots` is not modelled here: a battery with such a cap is planned by
//!   the exact battery planner alone ([`crate::battery`]).
//!
//! ## Solving
//! A heat pump with no car and no battery beside it is planned by its own exact dynamic
//! programme over the indoor temperature ([`crate::heat::exact`]): the same model, the same
//! optimum, about twenty-five times faster than branch and bound. Everything else is
//! a MILP through `microlp` (pure Rust, branch and bound, exact at a zero gap) with the request's
//! wall-clock limit. [`SolveStatus::Optimal`] is proven; [`SolveStatus::TimeLimit`] is the best
//! plan found when the limit struck; [`SolveStatus::Fallback`] (no solution in time, invalid input,
//! a solver error) is the unmanaged household: the car charging at once, the heat pump a
//! thermostat at the set-point, the battery idle. The planner never panics and never answers
//! "infeasible": every bound that could conflict is soft.
//!
//! The model is kept small (no temperature variables, no comfort rows, one floor row per slot, no
//! export variable where nothing can be exported), and the heat pump's on/off variables are
//! made dearest slot first, which is the order in which branch and bound breaks ties between
//! equally promising variables. Measured, one thread, 48-slot requests from
//! [`bench_household_requests`] (seeds 100 and 200, 64 requests each, the limit raised so that
//! every plan is proven): about 120 ms per plan on average, half of them under 35 ms, one in ten
//! over 290 ms, the slowest 1.8 s; the model as first written (temperature variables and comfort
//! rows, two floor rows, time order) took 250–350 ms on average (median 43 ms, one in ten over
//! 530 ms, the slowest 7.6 s), with the same optimum for every request.

use std::time::Duration;

use chrono::{DateTime, Utc};
use microlp::{
    ComparisonOp, LinearExpr, OptimizationDirection, Problem, SolveOptions, Status, Variable,
};

use crate::energy::{BatteryModel, EnergySlot, GridConnection};
use crate::heat::{ComfortSlot, HeatPumpModel, HeatSlotPlan, simulate, thermostat};

/// What a kWh the car misses by its ready-by time costs in a plan, currency units.
pub const EV_SHORTFALL_PENALTY: f64 = 1_000.0;
/// What a kWh the battery ends short of its end state of charge costs, currency units.
pub const END_SOC_PENALTY: f64 = 100.0;
/// Powers under this are treated as zero when reading a solution, kW.
const EPS_KW: f64 = 1e-6;

/// A car to charge by a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvDemand {
    /// The energy to draw from the grid by `ready_by`, Wh.
    pub energy_wh: f64,
    pub ready_by: DateTime<Utc>,
    pub max_power_w: f64,
}

/// A household to plan.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdRequest {
    pub slots: Vec<EnergySlot>,
    pub grid: GridConnection,
    pub ev: Option<EvDemand>,
    /// The heat pump and the comfort band of each slot (as many as `slots`).
    pub heat: Option<(HeatPumpModel, Vec<ComfortSlot>)>,
    pub battery: Option<BatteryModel>,
    /// How long the solver may take before the best plan found is used.
    pub time_limit: Duration,
}

/// How a plan was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolveStatus {
    /// Proven least-cost.
    Optimal,
    /// The best plan found when the time limit struck.
    TimeLimit,
    /// The unmanaged household (see the module documentation).
    Fallback,
}

/// A battery's part of one slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatteryStep {
    /// Power at the battery, W: charging positive.
    pub power_w: f64,
    pub soc_end_pct: f64,
}

/// A household's plan. Per-slot vectors are empty for a device the request does not have.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdPlan {
    /// The car's power per slot, W.
    pub ev_w: Vec<f64>,
    pub heat: Vec<HeatSlotPlan>,
    pub battery: Vec<BatteryStep>,
    /// The household's exchange with the grid per slot, W (import positive).
    pub grid_w: Vec<f64>,
    /// Solar production turned down per slot, W.
    pub curtail_w: Vec<f64>,
    /// What the household pays for the grid over the horizon, with the battery's wear, currency.
    pub cost: f64,
    /// The same for the unmanaged household (car at once, heat pump a thermostat, battery idle).
    pub baseline_cost: f64,
    /// The solver's objective: cost, penalties, less the value of the energy left stored.
    pub objective: f64,
    /// How far outside the comfort band the plan leaves the home, °C·h.
    pub comfort_violation_c_h: f64,
    /// What the car misses by its ready-by time, Wh.
    pub ev_shortfall_wh: f64,
    pub status: SolveStatus,
}

/// Plans the household (see the module documentation).
pub fn plan_household(request: &HouseholdRequest) -> HouseholdPlan {
    if !valid(request) {
        return fallback(request);
    }
    let deadline = std::time::Instant::now() + request.time_limit;
    if let Some(solved) = heat_alone(request, deadline) {
        return finish(request, solved);
    }
    let mut exclusive: Vec<usize> = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let Some(solved) = solve(request, &exclusive, left) else {
            return fallback(request);
        };
        let both: Vec<usize> = solved
            .charge
            .iter()
            .zip(&solved.discharge)
            .enumerate()
            .filter(|(t, (c, d))| **c > EPS_KW && **d > EPS_KW && !exclusive.contains(t))
            .map(|(t, _)| t)
            .collect();
        if both.is_empty() || solved.status != SolveStatus::Optimal {
            return finish(request, solved);
        }
        exclusive.extend(both);
    }
}

/// A heat pump with no car and no battery beside it is planned exactly by its own dynamic
/// programme ([`crate::heat::exact`]), which is much faster than branch and bound.
fn heat_alone(request: &HouseholdRequest, deadline: std::time::Instant) -> Option<Solved> {
    let (model, comfort) = request.heat.as_ref()?;
    let car = request.ev.is_some_and(|ev| ev.energy_wh > 0.0);
    if car || request.battery.is_some() {
        return None;
    }
    let schedule =
        crate::heat::exact::plan_alone(model, &request.slots, comfort, &request.grid, deadline)?;
    let n = request.slots.len();
    Some(Solved {
        ev: vec![0.0; n],
        hp: schedule.power_kw,
        charge: vec![0.0; n],
        discharge: vec![0.0; n],
        curtail: schedule.curtail_kw,
        objective: schedule.objective,
        ev_short_kwh: 0.0,
        status: SolveStatus::Optimal,
    })
}

fn valid(request: &HouseholdRequest) -> bool {
    let finite = |v: f64| v.is_finite();
    let slots_ok = request.slots.iter().all(|s| {
        s.end > s.start
            && finite(s.import_price)
            && finite(s.export_price)
            && finite(s.base_load_w)
            && finite(s.solar_w)
            && s.carbon_g_per_kwh.is_none_or(finite)
    }) && request.slots.windows(2).all(|w| w[0].end <= w[1].start);
    let grid_ok = finite(request.grid.limit_w)
        && request.grid.limit_w >= 0.0
        && finite(request.grid.carbon_weight);
    let ev_ok = request
        .ev
        .is_none_or(|ev| finite(ev.energy_wh) && finite(ev.max_power_w) && ev.max_power_w >= 0.0);
    let heat_ok = request.heat.as_ref().is_none_or(|(model, comfort)| {
        model.is_valid()
            && comfort.len() == request.slots.len()
            && comfort.iter().all(|c| {
                finite(c.min_c) && finite(c.max_c) && finite(c.setpoint_c) && finite(c.outdoor_c)
            })
    });
    let battery_ok = request.battery.is_none_or(|b| {
        [
            b.capacity_wh,
            b.soc_pct,
            b.max_charge_w,
            b.max_discharge_w,
            b.charge_efficiency,
            b.discharge_efficiency,
            b.degradation_per_kwh,
            b.end_value_per_kwh,
            b.min_soc_pct,
            b.max_soc_pct,
            b.reserve_pct,
        ]
        .iter()
        .all(|v| v.is_finite())
            && b.capacity_wh > 0.0
            && b.max_charge_w >= 0.0
            && b.max_discharge_w >= 0.0
            && b.charge_efficiency > 0.0
            && b.charge_efficiency <= 1.0
            && b.discharge_efficiency > 0.0
            && b.discharge_efficiency <= 1.0
    });
    !request.slots.is_empty() && slots_ok && grid_ok && ev_ok && heat_ok && battery_ok
}

/// The solver's answer, in kW per slot.
struct Solved {
    ev: Vec<f64>,
    hp: Vec<f64>,
    charge: Vec<f64>,
    discharge: Vec<f64>,
    curtail: Vec<f64>,
    objective: f64,
    ev_short_kwh: f64,
    status: SolveStatus,
}

/// The share of `slot` before `ready_by`.
fn share_before(slot: &EnergySlot, ready_by: DateTime<Utc>) -> f64 {
    let length = (slot.end - slot.start).num_milliseconds() as f64;
    let before = (ready_by.min(slot.end) - slot.start)
        .num_milliseconds()
        .max(0) as f64;
    if length > 0.0 {
        (before / length).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

fn expr(terms: &[(Variable, f64)]) -> LinearExpr {
    let mut e = LinearExpr::empty();
    for &(v, c) in terms {
        e.add(v, c);
    }
    e
}

/// The household's MILP: the problem and the variables a plan is read from.
struct Model {
    problem: Problem,
    ev: Vec<Option<Variable>>,
    ev_short: Option<Variable>,
    /// The heat pump's power per slot as a sum of terms.
    hp: Vec<Vec<(Variable, f64)>>,
    charge: Vec<Option<Variable>>,
    discharge: Vec<Option<Variable>>,
    curtail: Vec<Option<Variable>>,
}

/// Builds the household's model (see the module documentation).
fn build(request: &HouseholdRequest, exclusive: &[usize]) -> Model {
    let slots = &request.slots;
    let n = slots.len();
    let grid = request.grid;
    let limit = grid.limit_w / 1000.0;
    let mut p = Problem::new(OptimizationDirection::Minimize);

    // The car.
    let ev: Vec<Option<Variable>> = match request.ev {
        Some(demand) if demand.energy_wh > 0.0 => slots
            .iter()
            .map(|s| {
                let cap = demand.max_power_w / 1000.0 * share_before(s, demand.ready_by);
                (cap > 0.0).then(|| p.add_var(0.0, (0.0, cap)))
            })
            .collect(),
        _ => vec![None; n],
    };
    let ev_short = request
        .ev
        .filter(|d| d.energy_wh > 0.0)
        .map(|_| p.add_var(EV_SHORTFALL_PENALTY, (0.0, f64::INFINITY)));
    if let (Some(demand), Some(short)) = (request.ev, ev_short) {
        let mut terms: Vec<(Variable, f64)> = slots
            .iter()
            .zip(&ev)
            .filter_map(|(s, v)| v.map(|v| (v, s.hours())))
            .collect();
        terms.push((short, 1.0));
        p.add_constraint(expr(&terms), ComparisonOp::Eq, demand.energy_wh / 1000.0);
    }

    // The heat pump.
    let mut hp: Vec<Vec<(Variable, f64)>> = vec![Vec::new(); n];
    if let Some((model, comfort)) = &request.heat {
        let max_kw = model.max_power_w / 1000.0;
        let min_kw = model.min_power_w / 1000.0;
        let switching =
            model.min_power_w > 0.0 || model.min_run_slots > 1 || model.min_off_slots > 1;
        let mut on: Vec<Variable> = Vec::new();
        // The on/off variables are made dearest slot first: branch and bound takes the first of
        // equally promising variables to branch on, and deciding the dear slots first proves
        // the optimum with far fewer nodes than deciding them in time order.
        let mut by_price: Vec<usize> = (0..n).collect();
        by_price.sort_by(|&a, &b| {
            grid.effective_import_price(&slots[b])
                .total_cmp(&grid.effective_import_price(&slots[a]))
        });
        let mut switch: Vec<Option<Variable>> = vec![None; n];
        if switching && max_kw > 0.0 {
            for t in by_price {
                switch[t] = Some(p.add_binary_var(0.0));
            }
        }
        let mut previous_t: Option<(Vec<(Variable, f64)>, f64)> = None;
        for (t, (slot, band)) in slots.iter().zip(comfort).enumerate() {
            let h = slot.hours();
            if let Some(u) = switch[t] {
                // On at `u` = 1: the floor and what is drawn above it, `0 ≤ extra ≤ (max − min)·u`.
                let extra = p.add_var(0.0, (0.0, max_kw - min_kw));
                p.add_constraint(
                    expr(&[(extra, 1.0), (u, -(max_kw - min_kw))]),
                    ComparisonOp::Le,
                    0.0,
                );
                hp[t] = vec![(u, min_kw), (extra, 1.0)];
                on.push(u);
            } else {
                hp[t] = vec![(p.add_var(0.0, (0.0, max_kw)), 1.0)];
            }
            let step = model.building.step_coefficients(h);
            let per_kw = 1000.0 * model.heat_per_watt(band.outdoor_c) * step.c;
            // The temperature at the end of the slot is `min + within + above − below`:
            // `0 ≤ within ≤ max − min` is where it sits in the band, and the degrees outside it
            // cost the penalty (the cheapest way to write a temperature is the true violation).
            let weight = model.comfort_penalty_per_c_h * h;
            let below = p.add_var(weight, (0.0, f64::INFINITY));
            let above = p.add_var(weight, (0.0, f64::INFINITY));
            let mut temperature = vec![(below, -1.0), (above, 1.0)];
            let width = band.max_c.max(band.min_c) - band.min_c;
            if width > 0.0 {
                temperature.push((p.add_var(0.0, (0.0, width)), 1.0));
            }
            // T_t − a T_{t−1} − c·COP·hp = b·out, with T_0 the indoor temperature now.
            let mut terms = temperature.clone();
            terms.extend(hp[t].iter().map(|&(v, c)| (v, -per_kw * c)));
            let mut rhs = step.b * band.outdoor_c - band.min_c;
            match previous_t.take() {
                Some((before, min_before)) => {
                    terms.extend(
                        before
                            .iter()
                            .map(|&(v, c): &(Variable, f64)| (v, -step.a * c)),
                    );
                    rhs += step.a * min_before;
                }
                None => rhs += step.a * model.indoor_c,
            }
            p.add_constraint(expr(&terms), ComparisonOp::Eq, rhs);
            previous_t = Some((temperature, band.min_c));
        }
        if !on.is_empty() {
            minimum_up_down(&mut p, &on, model);
        }
    }

    // The battery.
    let mut charge: Vec<Option<Variable>> = vec![None; n];
    let mut discharge: Vec<Option<Variable>> = vec![None; n];
    if let Some(b) = request.battery {
        let capacity_kwh = b.capacity_wh / 1000.0;
        let start = capacity_kwh * b.soc_pct.clamp(0.0, 100.0) / 100.0;
        let floor = (capacity_kwh * b.floor_pct() / 100.0).min(start);
        let ceiling = (capacity_kwh * b.ceiling_pct() / 100.0).max(start);
        let mut previous: Option<Variable> = None;
        for (t, slot) in slots.iter().enumerate() {
            let h = slot.hours();
            let wear = b.degradation_per_kwh.max(0.0) * h;
            let c = p.add_var(wear, (0.0, b.max_charge_w / 1000.0));
            let d = p.add_var(wear, (0.0, b.max_discharge_w / 1000.0));
            let last = t + 1 == n;
            let energy = p.add_var(
                if last { -b.end_value_per_kwh } else { 0.0 },
                (floor, ceiling),
            );
            let flows = [
                (energy, 1.0),
                (c, -h * b.charge_efficiency),
                (d, h / b.discharge_efficiency),
            ];
            match previous {
                Some(before) => {
                    let mut terms = flows.to_vec();
                    terms.push((before, -1.0));
                    p.add_constraint(expr(&terms), ComparisonOp::Eq, 0.0);
                }
                None => p.add_constraint(expr(&flows), ComparisonOp::Eq, start),
            }
            if exclusive.contains(&t) {
                let z = p.add_binary_var(0.0);
                p.add_constraint(
                    expr(&[(c, 1.0), (z, -b.max_charge_w / 1000.0)]),
                    ComparisonOp::Le,
                    0.0,
                );
                p.add_constraint(
                    expr(&[(d, 1.0), (z, b.max_discharge_w / 1000.0)]),
                    ComparisonOp::Le,
                    b.max_discharge_w / 1000.0,
                );
            }
            if last && let Some(end_pct) = b.end_soc_pct {
                let short = p.add_var(END_SOC_PENALTY, (0.0, f64::INFINITY));
                p.add_constraint(
                    expr(&[(energy, 1.0), (short, 1.0)]),
                    ComparisonOp::Ge,
                    (capacity_kwh * end_pct.clamp(0.0, 100.0) / 100.0).min(ceiling),
                );
            }
            charge[t] = Some(c);
            discharge[t] = Some(d);
            previous = Some(energy);
        }
    }

    // The grid.
    let mut curtail: Vec<Option<Variable>> = vec![None; n];
    for (t, slot) in slots.iter().enumerate() {
        let h = slot.hours();
        let net_kw = (slot.base_load_w - slot.solar_w) / 1000.0;
        let import_price = grid.effective_import_price(slot);
        let export_price = slot.export_price.min(import_price);
        let import = p.add_var(import_price * h, (0.0, limit.max(net_kw)));
        let export_cap = if grid.battery_export || request.battery.is_none() {
            limit
        } else {
            limit.min((-net_kw).max(0.0))
        };
        // A slot that can export nothing has no export variable.
        let mut terms = vec![(import, 1.0)];
        if export_cap > 0.0 {
            terms.push((p.add_var(-export_price * h, (0.0, export_cap)), -1.0));
        }
        if slot.solar_w > 0.0 {
            let cut = p.add_var(0.0, (0.0, slot.solar_w / 1000.0));
            terms.push((cut, -1.0));
            curtail[t] = Some(cut);
        }
        for v in [ev[t], charge[t]].into_iter().flatten() {
            terms.push((v, -1.0));
        }
        terms.extend(hp[t].iter().map(|&(v, c)| (v, -c)));
        if let Some(d) = discharge[t] {
            terms.push((d, 1.0));
        }
        p.add_constraint(expr(&terms), ComparisonOp::Eq, net_kw);
    }

    Model {
        problem: p,
        ev,
        ev_short,
        hp,
        charge,
        discharge,
        curtail,
    }
}

impl Model {
    /// The plan given each variable's `value`, found with `status`.
    fn read(&self, value: impl Fn(Variable) -> f64, objective: f64, status: SolveStatus) -> Solved {
        let value = |v: Option<Variable>| v.map_or(0.0, |v| value(v).max(0.0));
        let all = |vs: &[Option<Variable>]| vs.iter().map(|v| value(*v)).collect();
        let hp = self
            .hp
            .iter()
            .map(|terms| terms.iter().map(|&(v, c)| c * value(Some(v))).sum())
            .collect();
        Solved {
            ev: all(&self.ev),
            hp,
            charge: all(&self.charge),
            discharge: all(&self.discharge),
            curtail: all(&self.curtail),
            objective,
            ev_short_kwh: value(self.ev_short),
            status,
        }
    }
}

/// The household's MILP solved by `microlp`'s branch and bound.
fn solve(request: &HouseholdRequest, exclusive: &[usize], time_limit: Duration) -> Option<Solved> {
    let model = build(request, exclusive);
    let mut options = SolveOptions::default();
    options.time_limit = Some(time_limit);
    let solution = model.problem.solve_with(options).ok()?;
    let status = match solution.status() {
        Status::Optimal => SolveStatus::Optimal,
        Status::Feasible => SolveStatus::TimeLimit,
        Status::Interrupted => return None,
    };
    Some(model.read(|v| solution.var_value(v), solution.objective(), status))
}

/// Minimum run and rest times on the on/off binaries `on`, honouring how long the heat pump has
/// already run (or rested) before the first slot.
fn minimum_up_down(p: &mut Problem, on: &[Variable], model: &HeatPumpModel) {
    let n = on.len();
    let (run, rest) = (model.min_run_slots.max(1), model.min_off_slots.max(1));
    let was_on = model.running_for_slots > 0;
    let already = model.running_for_slots.unsigned_abs() as usize;
    // What came before: still owed run or rest slots at the start.
    let owed = if was_on {
        run.saturating_sub(already)
    } else {
        rest.saturating_sub(already)
    };
    for &u in on.iter().take(owed.min(n)) {
        p.add_constraint(
            expr(&[(u, 1.0)]),
            ComparisonOp::Eq,
            if was_on { 1.0 } else { 0.0 },
        );
    }
    for t in 0..n {
        // A start at t (u_t − u_{t−1} = 1) keeps it on through t + run − 1.
        for tau in t + 1..(t + run).min(n) {
            match t.checked_sub(1) {
                Some(prev) => p.add_constraint(
                    expr(&[(on[t], 1.0), (on[prev], -1.0), (on[tau], -1.0)]),
                    ComparisonOp::Le,
                    0.0,
                ),
                None if !was_on => p.add_constraint(
                    expr(&[(on[t], 1.0), (on[tau], -1.0)]),
                    ComparisonOp::Le,
                    0.0,
                ),
                None => {}
            }
        }
        // A stop at t (u_{t−1} − u_t = 1) keeps it off through t + rest − 1.
        for tau in t + 1..(t + rest).min(n) {
            match t.checked_sub(1) {
                Some(prev) => p.add_constraint(
                    expr(&[(on[prev], 1.0), (on[t], -1.0), (on[tau], 1.0)]),
                    ComparisonOp::Le,
                    1.0,
                ),
                None if was_on => p.add_constraint(
                    expr(&[(on[t], -1.0), (on[tau], 1.0)]),
                    ComparisonOp::Le,
                    0.0,
                ),
                None => {}
            }
        }
    }
}

/// The unmanaged household's power per slot: the car at once, the heat pump a thermostat.
fn unmanaged(request: &HouseholdRequest) -> (Vec<f64>, Vec<HeatSlotPlan>) {
    let mut ev_w = Vec::new();
    if let Some(demand) = request.ev {
        let mut left_wh = demand.energy_wh.max(0.0);
        for slot in &request.slots {
            let cap_w = demand.max_power_w.max(0.0) * share_before(slot, demand.ready_by);
            let power = if slot.hours() > 0.0 {
                cap_w.min(left_wh / slot.hours())
            } else {
                0.0
            };
            left_wh -= power * slot.hours();
            ev_w.push(power.max(0.0));
        }
    }
    let heat = request
        .heat
        .as_ref()
        .map(|(model, comfort)| thermostat(model, &request.slots, comfort))
        .unwrap_or_default();
    (ev_w, heat)
}

/// The household's bill for the given device powers (W per slot; battery charging positive).
fn bill(
    request: &HouseholdRequest,
    ev_w: &[f64],
    heat: &[HeatSlotPlan],
    battery_w: &[f64],
    curtail_w: &[f64],
) -> (f64, Vec<f64>) {
    let at = |v: &[f64], t: usize| v.get(t).copied().unwrap_or(0.0);
    let wear = request
        .battery
        .map_or(0.0, |b| b.degradation_per_kwh.max(0.0));
    let mut grid_w = Vec::with_capacity(request.slots.len());
    let mut cost = 0.0;
    for (t, slot) in request.slots.iter().enumerate() {
        let heat_w = heat.get(t).map_or(0.0, |h| h.power_w);
        let g = slot.base_load_w - slot.solar_w
            + at(curtail_w, t)
            + at(ev_w, t)
            + heat_w
            + at(battery_w, t);
        cost += request.grid.cost(slot, g) + wear * at(battery_w, t).abs() * slot.hours() / 1000.0;
        grid_w.push(g);
    }
    (cost, grid_w)
}

fn fallback(request: &HouseholdRequest) -> HouseholdPlan {
    let (ev_w, heat) = unmanaged(request);
    let battery: Vec<BatteryStep> = request
        .battery
        .map(|b| {
            vec![
                BatteryStep {
                    power_w: 0.0,
                    soc_end_pct: b.soc_pct
                };
                request.slots.len()
            ]
        })
        .unwrap_or_default();
    let (cost, grid_w) = bill(request, &ev_w, &heat, &[], &[]);
    let comfort_violation_c_h = request.heat.as_ref().map_or(0.0, |(_, comfort)| {
        crate::heat::comfort_violation_c_h(&heat, comfort, &request.slots)
    });
    let ev_shortfall_wh = request.ev.map_or(0.0, |d| {
        let drawn: f64 = request
            .slots
            .iter()
            .zip(&ev_w)
            .map(|(s, w)| w * s.hours())
            .sum();
        (d.energy_wh - drawn).max(0.0)
    });
    HouseholdPlan {
        curtail_w: vec![0.0; grid_w.len()],
        ev_w,
        heat,
        battery,
        grid_w,
        cost,
        baseline_cost: cost,
        objective: cost,
        comfort_violation_c_h,
        ev_shortfall_wh,
        status: SolveStatus::Fallback,
    }
}

/// The battery's steps from the solver's charge and discharge powers (kW per slot), and its power
/// per slot in W. A slot that does both (a plan cut short by the time limit can) keeps only the
/// net flow, and a charge or discharge that would take the battery past its ceiling or floor is
/// cut to what fits, so every step is one the battery can carry out.
fn battery_steps(
    b: &BatteryModel,
    slots: &[EnergySlot],
    charge: &[f64],
    discharge: &[f64],
) -> (Vec<BatteryStep>, Vec<f64>) {
    let start_wh = b.capacity_wh * b.soc_pct.clamp(0.0, 100.0) / 100.0;
    let floor_wh = (b.capacity_wh * b.floor_pct() / 100.0).min(start_wh);
    let ceiling_wh = (b.capacity_wh * b.ceiling_pct() / 100.0).max(start_wh);
    let mut stored_wh = start_wh;
    let mut steps = Vec::with_capacity(slots.len());
    let mut powers = Vec::with_capacity(slots.len());
    for ((slot, c), d) in slots.iter().zip(charge).zip(discharge) {
        let h = slot.hours();
        let net_kw = c.max(0.0) - d.max(0.0);
        let power_w = if net_kw > EPS_KW && h > 0.0 {
            let room_w = (ceiling_wh - stored_wh).max(0.0) / (h * b.charge_efficiency);
            (net_kw * 1000.0).min(room_w)
        } else if net_kw < -EPS_KW && h > 0.0 {
            let left_w = (stored_wh - floor_wh).max(0.0) * b.discharge_efficiency / h;
            (net_kw * 1000.0).max(-left_w)
        } else {
            0.0
        };
        stored_wh += if power_w >= 0.0 {
            h * power_w * b.charge_efficiency
        } else {
            h * power_w / b.discharge_efficiency
        };
        stored_wh = stored_wh.clamp(floor_wh, ceiling_wh);
        powers.push(power_w);
        steps.push(BatteryStep {
            power_w,
            soc_end_pct: 100.0 * stored_wh / b.capacity_wh,
        });
    }
    (steps, powers)
}

fn finish(request: &HouseholdRequest, solved: Solved) -> HouseholdPlan {
    let w = |v: &[f64]| -> Vec<f64> {
        v.iter()
            .map(|kw| if kw.abs() < EPS_KW { 0.0 } else { kw * 1000.0 })
            .collect()
    };
    let ev_w = if request.ev.is_some() {
        w(&solved.ev)
    } else {
        Vec::new()
    };
    let heat = request
        .heat
        .as_ref()
        .map(|(model, comfort)| simulate(model, &request.slots, comfort, w(&solved.hp)))
        .unwrap_or_default();
    let (battery, battery_w) = match request.battery {
        Some(b) => battery_steps(&b, &request.slots, &solved.charge, &solved.discharge),
        None => (Vec::new(), Vec::new()),
    };
    let curtail_w = w(&solved.curtail);
    let (cost, grid_w) = bill(request, &ev_w, &heat, &battery_w, &curtail_w);
    let (base_ev, base_heat) = unmanaged(request);
    let (baseline_cost, _) = bill(request, &base_ev, &base_heat, &[], &[]);
    let comfort_violation_c_h = request.heat.as_ref().map_or(0.0, |(_, comfort)| {
        crate::heat::comfort_violation_c_h(&heat, comfort, &request.slots)
    });
    HouseholdPlan {
        ev_w,
        heat,
        battery,
        grid_w,
        curtail_w,
        cost,
        baseline_cost,
        objective: solved.objective,
        comfort_violation_c_h,
        ev_shortfall_wh: solved.ev_short_kwh * 1000.0,
        status: solved.status,
    }
}

/// `n` heat pumps alone, 48 half-hours each, deterministic in `seed` (prices and loads from
/// [`crate::bench_battery_requests`]; outdoor −5 to 12 °C with a daily swing; a 20–21 °C set-point
/// with a 2–3 K band).
pub fn bench_heat_requests(n: usize, seed: u64) -> Vec<HouseholdRequest> {
    bench_household_requests(n, seed)
        .into_iter()
        .map(|r| HouseholdRequest {
            ev: None,
            battery: None,
            ..r
        })
        .collect()
}

/// `n` households with a car, a heat pump and a battery, 48 half-hours each, deterministic in
/// `seed`.
pub fn bench_household_requests(n: usize, seed: u64) -> Vec<HouseholdRequest> {
    use crate::bench_gen::XorShift;
    use crate::thermal::{Building, CopModel};
    let mut rng = XorShift::new(seed ^ 0x4845_4154);
    crate::bench_battery_requests(n, seed)
        .into_iter()
        .map(|r| {
            let slots: Vec<EnergySlot> = r.slots.into_iter().take(48).collect();
            let mean = rng.range(-5.0, 12.0);
            let setpoint = rng.range(20.0, 21.0);
            let band = rng.range(2.0, 3.0);
            let comfort: Vec<ComfortSlot> = slots
                .iter()
                .enumerate()
                .map(|(i, _)| {
                    let hour = i as f64 / 2.0;
                    ComfortSlot {
                        min_c: setpoint,
                        max_c: setpoint + band,
                        setpoint_c: setpoint,
                        outdoor_c: mean + 3.0 * (std::f64::consts::PI * (hour - 15.0) / 12.0).cos(),
                    }
                })
                .collect();
            let max_power_w = [3_000.0, 4_000.0, 5_000.0][rng.below(3) as usize];
            let heat = HeatPumpModel {
                mode: crate::heat::ThermalMode::Heat,
                building: Building {
                    heat_loss_w_per_k: rng.range(120.0, 250.0),
                    thermal_mass_wh_per_k: rng.range(3_000.0, 9_000.0),
                },
                cop: CopModel::default(),
                indoor_c: setpoint + rng.range(-0.5, 1.0),
                max_power_w,
                min_power_w: 0.3 * max_power_w,
                min_run_slots: 2,
                min_off_slots: 1,
                running_for_slots: if rng.below(2) == 0 { 3 } else { -3 },
                comfort_penalty_per_c_h: 1_000.0,
            };
            let ready_by = slots
                .get(14 + rng.below(20) as usize)
                .or(slots.last())
                .map_or(DateTime::UNIX_EPOCH, |s| s.end);
            HouseholdRequest {
                ev: Some(EvDemand {
                    energy_wh: rng.range(5_000.0, 30_000.0),
                    ready_by,
                    max_power_w: 7_400.0,
                }),
                heat: Some((heat, comfort)),
                battery: Some(BatteryModel {
                    max_continuous_slots: None,
                    ..r.battery
                }),
                grid: r.grid,
                slots,
                time_limit: Duration::from_millis(500),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
