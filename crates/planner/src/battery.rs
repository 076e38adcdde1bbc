//! # Exact home-battery planner
//!
//! Plans a home battery's power slot by slot over a price horizon so that the household's bill
//! (import at the effective import price, export at the export price, plus wear) less the value
//! of the energy left stored at the end is as low as possible.
//!
//! ## Model
//! Per slot of `hours` length with net load `base_load_w − solar_w` (W) and battery AC power
//! `power_w` (W, charging positive): the household exchanges `grid_w = net + power_w` with the
//! grid, priced by [`GridConnection::cost`]; wear costs `degradation_per_kwh × |power_w| × hours`
//! (energy at the battery's terminals, kWh). Charging stores `power × charge_efficiency`;
//! discharging takes `|power| / discharge_efficiency` out of storage. Stored energy left at the
//! end is worth `end_value_per_kwh` per kWh stored.
//!
//! Constraints: SoC within [`BatteryModel::floor_pct`]..=[`BatteryModel::ceiling_pct`]; power
//! within `max_charge_w` / `max_discharge_w`; the exchange within `±grid.limit_w` (when the
//! household's own net load already exceeds the limit, the battery may not make it worse:
//! `grid_w` stays within `[min(−limit, net), max(limit, net)]`); without `battery_export` the
//! battery may not make the household export (discharge ≤ `max(0, net)`; solar surplus is
//! exported either way); at most `max_continuous_slots` consecutive slots with non-zero power;
//! the final SoC at least `end_soc_pct` (if that is unreachable, the plan gets as close as it
//! can, then is cheapest). One power per slot, so the battery never charges and discharges at
//! once, and never "burns" energy at negative prices.
//!
//! A start below the floor ([`BatteryOutcome::Recovering`]) may only charge or hold while below
//! the floor, and the plan brings the SoC back to at least the floor by the end (as far as the
//! limits allow). A start above the ceiling may only discharge or hold while above it.
//!
//! ## Algorithm
//! Dynamic programming over slots × a SoC lattice: `K` equal steps between floor and ceiling
//! (`soc_steps`, default [`BATTERY_DEFAULT_STEPS`], never finer than [`BATTERY_MIN_STEP_PCT`]),
//! extended by the same step below the floor / above the ceiling when the start lies outside,
//! plus the start SoC itself as a state that is only kept by holding from the start. A
//! transition's power follows from its SoC change, so the plan is exactly optimal over all plans
//! whose slot-end SoCs lie on these states (tested against enumeration of every path).
//!
//! Between lattice points the transition cost depends only on the step difference `d`, so each
//! slot's costs are one table `c_t[d]` and the slot's update is a (min, +) convolution
//! `V_t(i) = min(c_t[0] + V_{t+1}(i), min_{d≠0} c_t[d] + V_{t+1}(i + d))`, computed `d` by `d` as
//! an element-wise minimum over contiguous, infinity-padded rows (vectorised, branch-free, no
//! allocation once [`BatteryScratch`] has grown). The run-length cap adds a layer per run
//! length `r ≤ R` (`R + 1` layers, active moves go from layer `r` to `r + 1`, holding to 0), so
//! it costs a factor `R` only when set. The plan is recovered by a forward pass that re-derives
//! each slot's choice from the stored values (ties go to holding).
//!
//! The start state's moves and every slot's cost table are evaluated once per request, so the
//! extra passes for an unreachable end SoC (one penalised pass to find the highest reachable
//! end, one exact pass for it) only repeat the convolutions.
//!
//! Measured, one thread, 96 half-hour slots from [`crate::bench_battery_requests`] (200 steps,
//! about 94 moves per state for a 5 kW / 13.5 kWh battery), criterion median on a 2-core VM:
//! about 0.5 ms per plan without a run-length cap, about 2.2 ms with a cap of 6 slots, about
//! 1.1 ms for the generator's mix (a quarter capped at 4–8 slots).
//!
//! Invalid input yields [`BatteryOutcome::Hold`] with [`BatteryPlan::input_error`] set, never a
//! panic. A plan that gains nothing over holding (within 1e-9 currency units) is returned as
//! [`BatteryOutcome::Hold`] too.

use chrono::{DateTime, Utc};

use crate::energy::{BatteryModel, EnergySlot, GridConnection};

/// The SoC lattice resolution used when the request leaves it open: 200 steps between floor and
/// ceiling (under 0.5 % of capacity per step).
pub const BATTERY_DEFAULT_STEPS: usize = 200;
/// The finest SoC step, percent of capacity; requests for finer lattices are coarsened.
pub const BATTERY_MIN_STEP_PCT: f64 = 0.05;

/// What to plan: the slots (prices, base load, solar), the grid connection and the battery.
#[derive(Debug, Clone, PartialEq)]
pub struct BatteryPlanRequest {
    /// Consecutive slots in time order (gaps allowed, no overlaps).
    pub slots: Vec<EnergySlot>,
    /// The household's connection: limit (W), whether the battery may export, carbon weight.
    pub grid: GridConnection,
    /// The battery: capacity (Wh), SoC bounds (%), powers (W), efficiencies, wear and end value.
    pub battery: BatteryModel,
    /// SoC grid resolution (steps between floor and ceiling); `None` = a default giving < 0.5 %
    /// steps ([`BATTERY_DEFAULT_STEPS`]).
    pub soc_steps: Option<usize>,
}

/// The battery's plan for one slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatterySlotPlan {
    /// The slot's start and end, as in the request.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// AC power at the battery, W: charging positive, discharging negative.
    pub power_w: f64,
    /// The household's exchange with the grid in this slot, W (import positive).
    pub grid_w: f64,
    /// The state of charge at the end of the slot, percent of capacity.
    pub soc_end_pct: f64,
}

/// The outcome class of a battery plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatteryOutcome {
    /// The cheapest plan on the SoC lattice.
    Optimal,
    /// SoC starts below the floor: charges back up first.
    Recovering,
    /// Invalid input or nothing to gain: holds (power 0).
    Hold,
}

/// Why a request was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BatteryInputError {
    #[error("battery capacity must be finite and positive")]
    Capacity,
    #[error("SoC values must be finite and within 0..=100")]
    Soc,
    #[error("battery powers must be finite and non-negative")]
    Power,
    #[error("efficiencies must be in (0, 1]")]
    Efficiency,
    #[error("degradation must be finite and non-negative, end value finite")]
    Value,
    #[error("grid limit must be non-negative (infinite = none), carbon weight finite")]
    Grid,
    #[error("slot prices, loads and carbon must be finite, solar non-negative")]
    SlotValue,
    #[error("slots must be in time order, non-overlapping, each ending no earlier than it starts")]
    SlotOrder,
    #[error("soc_steps must be positive")]
    Steps,
}

/// A battery plan: one entry per request slot, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct BatteryPlan {
    pub slots: Vec<BatterySlotPlan>,
    /// Household bill over the horizon with the plan (incl. degradation), currency units.
    pub cost: f64,
    /// The same bill with the battery idle, currency units.
    pub baseline_cost: f64,
    /// Optimal, recovering from below the floor, or holding.
    pub outcome: BatteryOutcome,
    /// The SoC lattice resolution used (steps between floor and ceiling).
    pub soc_steps: usize,
    /// Value of the energy stored at the end, currency units (`end_value_per_kwh` × kWh).
    pub end_value: f64,
    /// The request's fault when the outcome is a hold because of invalid input.
    pub input_error: Option<BatteryInputError>,
}

impl Default for BatteryPlan {
    fn default() -> Self {
        BatteryPlan {
            slots: Vec::new(),
            cost: 0.0,
            baseline_cost: 0.0,
            outcome: BatteryOutcome::Hold,
            soc_steps: 0,
            end_value: 0.0,
            input_error: None,
        }
    }
}

/// Reusable buffers for [`plan_battery_with`].
#[derive(Debug, Default, Clone)]
pub struct BatteryScratch {
    /// Per slot: transition cost by step difference, `n × width`.
    costs: Vec<f64>,
    /// Value function, `(n + 1) × layers × states`.
    values: Vec<f64>,
    /// Value of the held start state, `n + 1`.
    start_values: Vec<f64>,
    /// Padded copies of the next slot's values: band states only / all states.
    band_row: Vec<f64>,
    full_row: Vec<f64>,
    /// Per slot: prices, flows and reach in steps.
    slot_info: Vec<SlotInfo>,
    /// Per slot: the held start's move costs to lattice points `start_lo..`, `n × start_width`.
    start_costs: Vec<f64>,
}

/// One slot's numbers for transition costs.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SlotInfo {
    /// Length, h.
    hours: f64,
    /// Base load less solar, W.
    net_w: f64,
    /// Effective import price and export price, currency units per kWh.
    import_price: f64,
    export_price: f64,
    /// Most lattice steps a charge / discharge can move in this slot (real-valued).
    up_steps: f64,
    down_steps: f64,
    /// First lattice point the held start may move to; its costs start at `t × start_width`.
    start_lo: usize,
}

impl SlotInfo {
    pub(crate) fn new(slot: &EnergySlot, grid: &GridConnection) -> SlotInfo {
        SlotInfo {
            hours: slot.hours(),
            net_w: slot.net_load_w(),
            import_price: grid.effective_import_price(slot),
            export_price: slot.export_price,
            ..SlotInfo::default()
        }
    }
}

/// Plans with fresh buffers.
pub fn plan_battery(request: &BatteryPlanRequest) -> BatteryPlan {
    let mut scratch = BatteryScratch::default();
    let mut out = BatteryPlan::default();
    plan_battery_with(request, &mut scratch, &mut out);
    out
}

const INF: f64 = f64::INFINITY;
/// Relative slack on power and grid limits (floating-point rounding of lattice energies).
const LIMIT_TOL: f64 = 1e-9;
/// A plan must beat holding by more than this (currency units) to be used.
const GAIN_TOL: f64 = 1e-9;

/// The problem's fixed numbers: lattice geometry and per-transition evaluation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lattice {
    /// Floor, ceiling, start SoC and step, percent.
    floor: f64,
    step: f64,
    start: f64,
    /// Index of the floor in the lattice, and of the ceiling.
    band_lo: usize,
    band_hi: usize,
    /// Number of lattice points.
    pub(crate) len: usize,
    /// Band steps between floor and ceiling.
    steps: usize,
    cap_wh: f64,
    /// Where the start lies relative to the band.
    start_side: Side,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Below,
    Inside,
    Above,
}

impl Lattice {
    fn new(b: &BatteryModel, soc_steps: usize) -> Lattice {
        let floor = b.floor_pct();
        let ceiling = b.ceiling_pct();
        let span = ceiling - floor;
        let mut steps = soc_steps.max(1);
        let step;
        if span <= 1e-9 {
            steps = 0;
            step = 100.0 / BATTERY_DEFAULT_STEPS as f64;
        } else {
            if span / steps as f64 <= BATTERY_MIN_STEP_PCT {
                steps = ((span / BATTERY_MIN_STEP_PCT).floor() as usize).max(1);
            }
            step = span / steps as f64;
        }
        let start = b.soc_pct;
        let eps = 1e-9;
        let extra = |gap: f64| -> usize {
            // Points strictly between the start and the band edge, one step apart.
            let x = gap / step;
            ((x - eps).ceil().max(1.0) as usize).saturating_sub(1)
        };
        let (side, below, above) = if start < floor - eps {
            (Side::Below, extra(floor - start), 0)
        } else if start > ceiling + eps {
            (Side::Above, 0, extra(start - ceiling))
        } else {
            (Side::Inside, 0, 0)
        };
        Lattice {
            floor,
            step,
            start,
            band_lo: below,
            band_hi: below + steps,
            len: below + steps + 1 + above,
            steps,
            cap_wh: b.capacity_wh,
            start_side: side,
        }
    }

    /// The SoC of lattice point `i`, percent.
    pub(crate) fn soc(&self, i: usize) -> f64 {
        self.floor + (i as f64 - self.band_lo as f64) * self.step
    }

    /// Stored energy per lattice step, Wh.
    fn step_wh(&self) -> f64 {
        self.step / 100.0 * self.cap_wh
    }

    fn in_band(&self, i: usize) -> bool {
        i >= self.band_lo && i <= self.band_hi
    }

    /// Whether a move from lattice point `i` to `j` respects the SoC bounds.
    pub(crate) fn allowed(&self, i: usize, j: usize) -> bool {
        if j >= self.len {
            return false;
        }
        if self.in_band(i) {
            self.in_band(j)
        } else if i < self.band_lo {
            j >= i
        } else {
            j <= i
        }
    }

    /// Whether the held start may move to lattice point `j`.
    pub(crate) fn allowed_from_start(&self, j: usize) -> bool {
        j < self.len && (self.start_side != Side::Inside || self.in_band(j))
    }
}

/// Power, grid exchange and cost of storing `delta_wh` more (negative: taking it out) in the
/// slot `p`; `None` when a limit forbids it. The cost is [`GridConnection::cost`] plus wear.
pub(crate) fn evaluate(
    p: &SlotInfo,
    grid: &GridConnection,
    b: &BatteryModel,
    delta_wh: f64,
) -> Option<(f64, f64, f64)> {
    let (net, hours) = (p.net_w, p.hours);
    let power = if delta_wh == 0.0 {
        0.0
    } else if hours <= 0.0 {
        return None;
    } else if delta_wh > 0.0 {
        delta_wh / (b.charge_efficiency * hours)
    } else {
        delta_wh * b.discharge_efficiency / hours
    };
    if power > b.max_charge_w * (1.0 + LIMIT_TOL) + LIMIT_TOL
        || -power > b.max_discharge_w * (1.0 + LIMIT_TOL) + LIMIT_TOL
    {
        return None;
    }
    let grid_w = net + power;
    if power != 0.0 {
        let tol = LIMIT_TOL * (1.0 + grid.limit_w.min(1e12) + net.abs());
        if grid_w > grid.limit_w.max(net) + tol || grid_w < (-grid.limit_w).min(net) - tol {
            return None;
        }
        if !grid.battery_export && power < 0.0 && -power > net.max(0.0) * (1.0 + LIMIT_TOL) + tol {
            return None;
        }
    }
    // As `GridConnection::cost`, with the slot's numbers precomputed.
    let kwh = grid_w * hours / 1000.0;
    let money = if kwh >= 0.0 {
        kwh * p.import_price
    } else {
        kwh * p.export_price
    };
    let cost = money + b.degradation_per_kwh * power.abs() * hours / 1000.0;
    Some((power, grid_w, cost))
}

fn validate(req: &BatteryPlanRequest) -> Result<(), BatteryInputError> {
    let b = &req.battery;
    if !(b.capacity_wh.is_finite() && b.capacity_wh > 0.0) {
        return Err(BatteryInputError::Capacity);
    }
    let pct = |x: f64| x.is_finite() && (0.0..=100.0).contains(&x);
    if !(pct(b.soc_pct)
        && pct(b.min_soc_pct)
        && pct(b.max_soc_pct)
        && pct(b.reserve_pct)
        && b.end_soc_pct.is_none_or(pct))
    {
        return Err(BatteryInputError::Soc);
    }
    let power = |x: f64| x.is_finite() && x >= 0.0;
    if !(power(b.max_charge_w) && power(b.max_discharge_w)) {
        return Err(BatteryInputError::Power);
    }
    let eff = |x: f64| x > 0.0 && x <= 1.0;
    if !(eff(b.charge_efficiency) && eff(b.discharge_efficiency)) {
        return Err(BatteryInputError::Efficiency);
    }
    if !(b.degradation_per_kwh.is_finite()
        && b.degradation_per_kwh >= 0.0
        && b.end_value_per_kwh.is_finite())
    {
        return Err(BatteryInputError::Value);
    }
    let g = &req.grid;
    if !(g.limit_w >= 0.0 && g.carbon_weight.is_finite()) {
        return Err(BatteryInputError::Grid);
    }
    if req.soc_steps == Some(0) {
        return Err(BatteryInputError::Steps);
    }
    let mut prev_end: Option<DateTime<Utc>> = None;
    for s in &req.slots {
        let finite = s.import_price.is_finite()
            && s.export_price.is_finite()
            && s.base_load_w.is_finite()
            && s.solar_w.is_finite()
            && s.solar_w >= 0.0
            && s.carbon_g_per_kwh.is_none_or(f64::is_finite)
            && g.effective_import_price(s).is_finite();
        if !finite {
            return Err(BatteryInputError::SlotValue);
        }
        if s.end < s.start || prev_end.is_some_and(|e| s.start < e) {
            return Err(BatteryInputError::SlotOrder);
        }
        prev_end = Some(s.end);
    }
    Ok(())
}

/// Fills `out` with the idle plan (power 0 in every slot).
fn hold_plan(req: &BatteryPlanRequest, out: &mut BatteryPlan) {
    out.slots.clear();
    let mut cost = 0.0;
    for s in &req.slots {
        let net = s.net_load_w();
        cost += req.grid.cost(s, net);
        out.slots.push(BatterySlotPlan {
            start: s.start,
            end: s.end,
            power_w: 0.0,
            grid_w: net,
            soc_end_pct: req.battery.soc_pct,
        });
    }
    out.cost = cost;
    out.baseline_cost = cost;
    out.outcome = BatteryOutcome::Hold;
    out.end_value = req.battery.end_value_per_kwh * req.battery.soc_pct / 100.0
        * req.battery.capacity_wh
        / 1000.0;
}

/// How the final SoC is treated.
#[derive(Debug, Clone, Copy)]
enum Terminal {
    /// Final SoC must be at least this (percent).
    AtLeast(f64),
    /// Shortfall below this (percent) costs `penalty` per percent.
    Penalised { target: f64, penalty: f64 },
}

impl Terminal {
    fn value(&self, soc: f64, b: &BatteryModel) -> f64 {
        let stored = -b.end_value_per_kwh * soc / 100.0 * b.capacity_wh / 1000.0;
        match *self {
            Terminal::AtLeast(t) => {
                if soc >= t - 1e-9 {
                    stored
                } else {
                    INF
                }
            }
            Terminal::Penalised { target, penalty } => stored + penalty * (target - soc).max(0.0),
        }
    }
}

/// The geometry of one DP run.
#[derive(Debug, Clone, Copy)]
struct Dims {
    n: usize,
    /// Max lattice steps down over all slots; row width: steps down + steps up + 1.
    down: usize,
    width: usize,
    /// Row width of the held start's move costs.
    start_width: usize,
    pad: usize,
    layers: usize,
    /// Any move allowed at all (a run-length cap of 0 forbids them).
    active: bool,
}

impl Dims {
    fn val(&self, lat: &Lattice, t: usize, r: usize) -> usize {
        (t * self.layers + r) * lat.len
    }
    /// The layer an active move from layer `r` lands in, if allowed.
    fn next_layer(&self, r: usize) -> Option<usize> {
        if !self.active {
            None
        } else if self.layers == 1 {
            Some(0)
        } else if r + 1 < self.layers {
            Some(r + 1)
        } else {
            None
        }
    }
}

/// Plans into `out`, reusing `scratch` and `out.slots`; no allocation once they have grown.
pub fn plan_battery_with(
    req: &BatteryPlanRequest,
    scratch: &mut BatteryScratch,
    out: &mut BatteryPlan,
) {
    out.input_error = None;
    out.soc_steps = 0;
    if let Err(e) = validate(req) {
        hold_plan(req, out);
        out.input_error = Some(e);
        return;
    }
    let b = &req.battery;
    let lat = Lattice::new(b, req.soc_steps.unwrap_or(BATTERY_DEFAULT_STEPS));
    let recovering = lat.start_side == Side::Below;
    let baseline: f64 = req
        .slots
        .iter()
        .map(|s| req.grid.cost(s, s.net_load_w()))
        .sum();
    let dims = prepare(req, &lat, scratch);
    let mut target = b.end_soc_pct.unwrap_or(0.0);
    if recovering {
        target = target.max(lat.floor);
    }
    let mut best = run_dp(req, &lat, &dims, scratch, Terminal::AtLeast(target));
    if !best.is_finite() {
        // Unreachable end SoC: get as close as possible first, then plan cheapest for that.
        let penalty = penalty_per_pct(req, &lat, &dims, scratch);
        run_dp(
            req,
            &lat,
            &dims,
            scratch,
            Terminal::Penalised { target, penalty },
        );
        forward(req, &lat, &dims, scratch, out);
        let reached = out.slots.last().map_or(b.soc_pct, |s| s.soc_end_pct);
        target = target.min(reached);
        best = run_dp(req, &lat, &dims, scratch, Terminal::AtLeast(target));
    }
    if !best.is_finite() {
        hold_plan(req, out);
        out.soc_steps = lat.steps;
        return;
    }
    let hold_obj = baseline + Terminal::AtLeast(target).value(b.soc_pct, b);
    if !recovering && hold_obj.is_finite() && best >= hold_obj - GAIN_TOL {
        hold_plan(req, out);
        out.soc_steps = lat.steps;
        return;
    }
    forward(req, &lat, &dims, scratch, out);
    out.baseline_cost = baseline;
    out.soc_steps = lat.steps;
    out.outcome = if recovering {
        BatteryOutcome::Recovering
    } else {
        BatteryOutcome::Optimal
    };
}

/// A penalty per percent of end-SoC shortfall that outweighs any cost difference.
fn penalty_per_pct(
    req: &BatteryPlanRequest,
    lat: &Lattice,
    dims: &Dims,
    scratch: &BatteryScratch,
) -> f64 {
    let mut bound = 1.0 + req.battery.end_value_per_kwh.abs() * req.battery.capacity_wh / 1000.0;
    for t in 0..dims.n {
        let row = &scratch.costs[t * dims.width..(t + 1) * dims.width];
        bound += row
            .iter()
            .filter(|c| c.is_finite())
            .fold(0.0f64, |m, c| m.max(c.abs()));
    }
    1e3 * bound / lat.step
}

/// Per-slot tables: reach in steps and transition costs by step difference.
fn prepare(req: &BatteryPlanRequest, lat: &Lattice, s: &mut BatteryScratch) -> Dims {
    let b = &req.battery;
    let n = req.slots.len();
    let step_wh = lat.step_wh();
    let max_d = lat.len.saturating_sub(1);
    s.slot_info.clear();
    let (mut up, mut down) = (0usize, 0usize);
    for slot in &req.slots {
        let mut info = SlotInfo::new(slot, &req.grid);
        let hours = info.hours;
        info.up_steps = (b.max_charge_w * b.charge_efficiency * hours / step_wh).min(max_d as f64);
        info.down_steps =
            (b.max_discharge_w / b.discharge_efficiency * hours / step_wh).min(max_d as f64);
        up = up.max((info.up_steps * (1.0 + 1e-9)).floor() as usize);
        down = down.max((info.down_steps * (1.0 + 1e-9)).floor() as usize);
        s.slot_info.push(info);
    }
    let (up, down) = (up.min(max_d), down.min(max_d));
    let cap = b.max_continuous_slots;
    let (layers, active) = match cap {
        Some(0) => (1, false),
        Some(r) if r < n => (r + 1, true),
        _ => (1, true),
    };
    let dims = Dims {
        n,
        down,
        width: down + up + 1,
        start_width: down + up + 5,
        pad: down.max(up),
        layers,
        active,
    };
    s.costs.clear();
    s.costs.resize(n * dims.width, INF);
    s.start_costs.clear();
    s.start_costs.resize(n * dims.start_width, INF);
    for t in 0..n {
        let info = s.slot_info[t];
        let row = &mut s.costs[t * dims.width..(t + 1) * dims.width];
        for (k, c) in row.iter_mut().enumerate() {
            let d = k as f64 - down as f64;
            if let Some((_, _, cost)) = evaluate(&info, &req.grid, b, d * step_wh) {
                *c = cost;
            }
        }
        let (lo, hi) = start_reach(lat, &info);
        s.slot_info[t].start_lo = lo;
        let row = &mut s.start_costs[t * dims.start_width..(t + 1) * dims.start_width];
        for (j, c) in (lo..=hi).zip(row.iter_mut()) {
            if !lat.allowed_from_start(j) {
                continue;
            }
            if let Some((_, _, cost)) = evaluate(&info, &req.grid, b, start_delta_wh(lat, j)) {
                *c = cost;
            }
        }
    }
    s.values.clear();
    s.values.resize((n + 1) * layers * lat.len, INF);
    s.start_values.clear();
    s.start_values.resize(n + 1, INF);
    let row_len = lat.len + 2 * dims.pad;
    s.band_row.clear();
    s.band_row.resize(row_len, INF);
    s.full_row.clear();
    s.full_row.resize(row_len, INF);
    dims
}

/// Range of lattice points the held start can reach in slot `t` (inclusive bounds, may be
/// empty).
fn start_reach(lat: &Lattice, info: &SlotInfo) -> (usize, usize) {
    let pos = (lat.start - lat.floor) / lat.step + lat.band_lo as f64;
    let lo = (pos - info.down_steps - 1.0).ceil().max(0.0) as usize;
    let hi = (pos + info.up_steps + 1.0).floor().max(0.0) as usize;
    (lo, hi.min(lat.len.saturating_sub(1)))
}

fn start_delta_wh(lat: &Lattice, j: usize) -> f64 {
    (lat.soc(j) - lat.start) / 100.0 * lat.cap_wh
}

/// Backward pass; returns the optimal objective from the start (bill − end value).
fn run_dp(
    req: &BatteryPlanRequest,
    lat: &Lattice,
    dims: &Dims,
    s: &mut BatteryScratch,
    term: Terminal,
) -> f64 {
    let b = &req.battery;
    let n = dims.n;
    let len = lat.len;
    // Terminal values.
    for r in 0..dims.layers {
        let base = dims.val(lat, n, r);
        for i in 0..len {
            s.values[base + i] = term.value(lat.soc(i), b);
        }
    }
    s.start_values[n] = term.value(lat.start, b);
    let (blo, bhi) = (lat.band_lo, lat.band_hi);
    let pad = dims.pad;
    for t in (0..n).rev() {
        let costs = &s.costs[t * dims.width..(t + 1) * dims.width];
        let hold = costs[dims.down];
        let (cur_all, next_all) = s.values.split_at_mut(dims.val(lat, t + 1, 0));
        let cur_all = &mut cur_all[dims.val(lat, t, 0)..];
        for r in 0..dims.layers {
            let cur = &mut cur_all[r * len..(r + 1) * len];
            let next_hold = &next_all[..len];
            for (c, &v) in cur.iter_mut().zip(next_hold) {
                *c = hold + v;
            }
            let Some(nl) = dims.next_layer(r) else {
                continue;
            };
            let next = &next_all[nl * len..(nl + 1) * len];
            s.band_row[pad + blo..=pad + bhi].copy_from_slice(&next[blo..=bhi]);
            s.full_row[pad..pad + len].copy_from_slice(next);
            // Band rows take four moves per pass over the row (fewer loads and stores).
            let mut pending = [(0usize, 0.0f64); 4];
            let mut np = 0;
            for (k, &cd) in costs.iter().enumerate() {
                if !cd.is_finite() || k == dims.down {
                    continue;
                }
                // Offset of target i + d in the padded rows: pad + i + d.
                let off = pad + k - dims.down;
                pending[np] = (off, cd);
                np += 1;
                if np == 4 {
                    min_plus4(&mut cur[blo..=bhi], &s.band_row[blo..], &pending);
                    np = 0;
                }
                if k > dims.down && blo > 0 {
                    min_plus(&mut cur[..blo], &s.full_row[off..off + blo], cd);
                } else if k < dims.down && bhi + 1 < len {
                    min_plus(
                        &mut cur[bhi + 1..],
                        &s.full_row[off + bhi + 1..off + len],
                        cd,
                    );
                }
            }
            for &(off, cd) in &pending[..np] {
                min_plus(&mut cur[blo..=bhi], &s.band_row[off + blo..=off + bhi], cd);
            }
        }
        // The held start state (run length 0 while held).
        let mut v = hold + s.start_values[t + 1];
        if let Some(nl) = dims.next_layer(0) {
            let next = &s.values[dims.val(lat, t + 1, nl)..dims.val(lat, t + 1, nl) + len];
            let lo = s.slot_info[t].start_lo;
            let row = &s.start_costs[t * dims.start_width..(t + 1) * dims.start_width];
            for (&c, &nv) in row.iter().zip(next.iter().skip(lo)) {
                let x = c + nv;
                if x < v {
                    v = x;
                }
            }
        }
        s.start_values[t] = v;
    }
    s.start_values[0]
}

/// `cur[i] = min(cur[i], c_m + row[o_m + i])` for the four `(o_m, c_m)` in `moves`.
#[inline]
fn min_plus4(cur: &mut [f64], row: &[f64], moves: &[(usize, f64); 4]) {
    let m = cur.len();
    let [(o0, c0), (o1, c1), (o2, c2), (o3, c3)] = *moves;
    let (Some(a), Some(b), Some(c), Some(d)) = (
        row.get(o0..o0 + m),
        row.get(o1..o1 + m),
        row.get(o2..o2 + m),
        row.get(o3..o3 + m),
    ) else {
        return;
    };
    let sel = |p: f64, q: f64| if p < q { p } else { q };
    for ((((o, &va), &vb), &vc), &vd) in cur.iter_mut().zip(a).zip(b).zip(c).zip(d) {
        let x = sel(c0 + va, c1 + vb);
        let y = sel(c2 + vc, c3 + vd);
        *o = sel(sel(x, y), *o);
    }
}

/// `cur[i] = min(cur[i], cd + next[i])`, element-wise (vectorises to packed min).
#[inline]
fn min_plus(cur: &mut [f64], next: &[f64], cd: f64) {
    for (c, &v) in cur.iter_mut().zip(next) {
        let x = cd + v;
        *c = if x < *c { x } else { *c };
    }
}

/// Forward pass: re-derives each slot's optimal choice from the stored values.
fn forward(
    req: &BatteryPlanRequest,
    lat: &Lattice,
    dims: &Dims,
    s: &BatteryScratch,
    out: &mut BatteryPlan,
) {
    let b = &req.battery;
    let len = lat.len;
    out.slots.clear();
    let mut cost = 0.0;
    // None = the held start.
    let mut state: Option<usize> = None;
    let mut r = 0usize;
    let step_wh = lat.step_wh();
    for (t, slot) in req.slots.iter().enumerate() {
        let info = &s.slot_info[t];
        let costs = &s.costs[t * dims.width..(t + 1) * dims.width];
        let hold = costs[dims.down];
        let hold_next = dims.val(lat, t + 1, 0);
        let mut best_v = hold
            + match state {
                None => s.start_values[t + 1],
                Some(i) => s.values[hold_next + i],
            };
        let mut best_j: Option<usize> = None;
        if let Some(nl) = dims.next_layer(r) {
            let base = dims.val(lat, t + 1, nl);
            match state {
                None => {
                    let lo = info.start_lo;
                    let row = &s.start_costs[t * dims.start_width..(t + 1) * dims.start_width];
                    for (j, &c) in (lo..len).zip(row) {
                        let x = c + s.values[base + j];
                        if x < best_v {
                            best_v = x;
                            best_j = Some(j);
                        }
                    }
                }
                Some(i) => {
                    for (k, &cd) in costs.iter().enumerate() {
                        if k == dims.down || !cd.is_finite() {
                            continue;
                        }
                        let Some(j) = (i + k).checked_sub(dims.down) else {
                            continue;
                        };
                        if !lat.allowed(i, j) {
                            continue;
                        }
                        let x = cd + s.values[base + j];
                        if x < best_v {
                            best_v = x;
                            best_j = Some(j);
                        }
                    }
                }
            }
        }
        let delta_wh = match (state, best_j) {
            (_, None) => 0.0,
            (None, Some(j)) => start_delta_wh(lat, j),
            (Some(i), Some(j)) => (j as f64 - i as f64) * step_wh,
        };
        let (power, grid_w, c) = evaluate(info, &req.grid, b, delta_wh).unwrap_or((
            0.0,
            info.net_w,
            req.grid.cost(slot, info.net_w),
        ));
        cost += c;
        if let Some(j) = best_j {
            state = Some(j);
            r = dims.next_layer(r).unwrap_or(0);
        } else {
            r = 0;
        }
        out.slots.push(BatterySlotPlan {
            start: slot.start,
            end: slot.end,
            power_w: power,
            grid_w,
            soc_end_pct: state.map_or(lat.start, |i| lat.soc(i)),
        });
    }
    out.cost = cost;
    let end_soc = state.map_or(lat.start, |i| lat.soc(i));
    out.end_value = b.end_value_per_kwh * end_soc / 100.0 * b.capacity_wh / 1000.0;
}

#[cfg(test)]
mod tests;
