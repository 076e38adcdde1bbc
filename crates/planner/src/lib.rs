//! # ResiFlex EV ready-by planner
//!
//! Pure: no I/O, no async, never reads a clock. `now` and `ready_by` arrive in the request.
//!
//! ## Problem
//! Charge a car from `current_soc_pct` to the *effective target* `min(target_soc_pct,
//! soc_limit_pct)` by `ready_by`, at the lowest *effective price* `import_price + carbon_weight ×
//! carbon_g_per_kwh` (missing carbon counts as 0). The battery needs
//! `(target − current) % × capacity` Wh; the grid supplies that divided by `charging_efficiency`.
//! We never plan more than the effective target, so the SoC limit is never exceeded (even at
//! negative prices: over-charging is the caller's decision, not the planner's).
//!
//! ## Slots
//! Each slot contributes only its *usable* part `[max(start, now), min(end, ready_by)]`: a partly
//! past first slot and a partial last slot are both handled; slots wholly outside are ignored.
//! 15- and 30-minute slots may be mixed. Slots must not overlap (they are sorted by start if
//! needed). Time without a price (gaps, or past the last price) is never planned.
//!
//! ## Linear case (no taper): greedy, exactly optimal
//! With fixed power `max_power_w` the cost is linear in energy and each slot is a bucket of
//! capacity `max_power × usable duration`. This is a fractional knapsack with unit weights, so
//! taking slots by ascending effective price and filling until the need is met (the last one
//! partially) is optimal: any plan that leaves energy in a cheaper slot while using a dearer one
//! can move that energy and not pay more (exchange argument). Ties go to the *later* slot (as in
//! evcc), so charging starts as late as possible. The order is never sorted: the greedy takes
//! every slot whose key is below one *marginal key* in full and shares the marginal key's slots
//! out latest first, so it is enough to find that key — the smallest `K` with
//! `Σ usable time [key ≤ K] ≥ need / max_power`. A weighted selection finds it in expected O(n)
//! with integer sums only (see `engine::marginal_key`): sample 9 keys, sort them with a sorting
//! network, bracket the quantile `need / total` between two of them, sum the time below and
//! within the bracket in one branch-free pass while copying the bracketed keys aside, and repeat
//! on that (about 2/9 of the set) until eight or fewer remain, which a quadratic branch-free
//! pass finishes. [`plan_with`] allocates nothing once its [`PlanScratch`] and output have grown.
//!
//! The partially used slot charges at full power for only part of its time. Which part:
//! adjacent to a chosen *following* slot (charge at its end), otherwise adjacent to a chosen
//! *preceding* slot (charge at its start), otherwise at its end (as late as possible). Placement
//! inside a slot never changes cost.
//!
//! ## Fast path and request forms
//! [`CompactEvRequest`] is the planner's native form: millisecond timestamps, slots as arrays
//! ([`SlotsMs`]), either a uniform grid ([`SlotTimes::Uniform`], no per-slot times at all) or
//! explicit start/end arrays. [`plan_compact_with`] plans it without calendar arithmetic and
//! writes [`DispatchMs`] records (ms, integer Wh), converted to [`PlannedSlot`] only on request.
//! Building the candidates is two passes: validity (finite prices; for explicit times, sorted
//! and non-overlapping) and one key loop over the usable index range, which a uniform grid gives
//! by arithmetic and sorted explicit slots by binary search; only its first and last slot can
//! be clipped by `now` / `ready_by` (anything unusual takes a general compacting pass). The
//! `DateTime` API ([`plan`], [`plan_into`], [`plan_with`]) converts to the compact form
//! (detecting uniform grids), runs the same core, and keeps the request's exact instants on
//! dispatch edges that coincide with a slot edge, `now` or `ready_by`, so both forms return the
//! same plans. They match the previous implementation (kept in the tests as a reference) up to
//! floating-point summation order; a price of `-0.0` now ties with `0.0`.
//!
//! Measured, one thread, 96-slot requests from [`bench_plans`] / [`bench_requests_compact`]
//! (no taper; 1024 requests per pass, about 1.5 MB, so not cache-resident), on a 2-core VM while
//! other builds ran (load average about 3): compact fast path about 1.4 M plans/s with hysteresis
//! off and 1.2 M plans/s with hysteresis on (step 0.5) by wall clock (criterion), about 1.65 M and
//! 1.27 M counting only time on CPU; hot cache (64 requests) about 2.0 M and 1.4 M. The `DateTime`
//! API, dominated by timestamp conversion, about 0.7 M plans/s. With taper (K ≤ 1000 steps) about
//! 2.4 k plans/s. Where the time goes (hysteresis off): weighted selection about 45 %, writing
//! dispatches 15 %, validity and range 15 %, keys 9 %; with hysteresis the bucket division and
//! the contiguity search in the marginal bucket add about a quarter.
//!
//! ## Fleets
//! [`fleet`] plans many EVs behind one grid-zone capacity limit jointly and exactly, as a
//! minimum-cost flow (see its module docs).
//!
//! ## Home batteries
//! [`battery`] plans a home battery against import and export prices, base load and solar,
//! exactly over a SoC lattice by dynamic programming (see its module docs).
//!
//! ## Hysteresis / anti-flapping (`min_price_step > 0`)
//! Effective prices are bucketed as `floor(price / step)`, so prices in one bucket differ by less
//! than `step`. Buckets are taken cheapest-first; a bucket that fits entirely is taken whole; in the
//! one *marginal* bucket that only partly fits, slots are taken one at a time, preferring a slot
//! adjacent (contiguous in time) to an already chosen slot, latest first, else the latest slot.
//! Cost bound: let `q(p) = step·floor(p/step)`, so `q ≤ p < q + step`. Our selection S is an exact
//! greedy for the prices `q` (any tie order is optimal), so
//! `cost_p(S) < cost_q(S) + step·E ≤ cost_q(S*) + step·E ≤ cost_p(S*) + step·E`, where `E` is the
//! grid energy in kWh and `S*` the exact optimum. Tested in `hysteresis_cost_bound`.
//! Bucket edges are arbitrary: two prices 0.01 apart may still fall into different buckets.
//! For a power-of-two step the division is done as a multiplication by its reciprocal, which
//! gives the same correctly rounded quotient.
//!
//! ## Taper
//! With [`Taper`], grid power is `max` up to `from_soc_pct` and then falls linearly to
//! `power_at_full_pct % × max` at 100 % SoC; the battery receives `efficiency ×` that. Charging
//! order now matters (energy late in the SoC curve is slower), so the greedy is not exact. We
//! solve a DP over slots in time order with the battery energy discretised into at most
//! [`TAPER_MAX_STEPS`] equal steps between current and target SoC. `reach(x, d)` — the SoC after
//! charging at full (tapered) power for `d` from `x` — has a closed form (linear, then
//! exponential approach). The value function is
//! `V_i(j) = min_{j ≤ j' ≤ reach_i(j)} price_i·(j'−j) + V_{i+1}(j')`, and because the window
//! `[j, reach_i(j)]` moves monotonically with `j`, a monotone deque gives each slot in O(K):
//! O(n·K) in all. The DP is exact over plans whose slot-boundary SoCs lie on the grid (tested
//! against enumeration of every such plan); if grid rounding makes the target unreachable although
//! charging as early as possible reaches it, that ASAP plan is used instead.
//!
//! ## Never infeasible; overrun policy
//! If the target cannot be met by `ready_by` within the priced slots, the plan charges every usable
//! slot at full power (as early as possible), `target_reached = false`, `shortfall_wh` is the
//! missing battery energy and the reason is [`PlanReason::NotEnoughTime`] (prices cover
//! `ready_by`) or [`PlanReason::PriceHorizonTooShort`] (prices end earlier; the caller may wait
//! for more prices, as evcc does). What happens after `ready_by` is the caller's policy (for
//! example: keep charging at the cheapest slots after the deadline, or stop); the plan only says
//! so. `locked_goal` is carried through to the plan: the caller locks the goal once a plan has
//! become active and re-plans with the locked target rather than a changed preference.
//!
//! Invalid input (non-finite numbers, non-positive capacity or power, overlapping slots) yields
//! an empty plan with [`PlanReason::InvalidInput`], never a panic.

pub mod battery;
mod bench_gen;
mod compact;
pub mod energy;
mod engine;
pub mod fleet;
pub mod heat;
pub mod household;
mod pwl;
pub use household::{bench_heat_requests, bench_household_requests};
mod taper;
pub mod thermal;
mod time;

#[cfg(test)]
mod fleet_tests;
#[cfg(test)]
mod legacy;
#[cfg(test)]
mod tests;

pub use battery::{
    BatteryOutcome, BatteryPlan, BatteryPlanRequest, BatteryScratch, BatterySlotPlan, plan_battery,
    plan_battery_with,
};
pub use bench_gen::{bench_battery_requests, bench_plans};
pub use compact::{
    CompactEvRequest, CompactPlan, DispatchMs, SlotTimes, SlotsMs, bench_requests_compact,
    plan_compact, plan_compact_with,
};
pub use fleet::{
    FleetDevice, FleetDevicePlan, FleetDispatch, FleetOptions, FleetPlan, FleetRequest, ZoneLimit,
    bench_fleet, plan_fleet,
};
pub use time::ready_by_local;

use chrono::{DateTime, Utc};
use resiflex_domain::units::{Energy, Power};
use serde::{Deserialize, Serialize};

/// Upper bound on the number of energy steps in the taper DP.
pub const TAPER_MAX_STEPS: usize = 1000;
/// Finest energy step used by the taper DP, in battery Wh.
pub const TAPER_MIN_STEP_WH: f64 = 10.0;

/// One priced time slot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Import price in minor units per kWh.
    pub import_price: f64,
    pub carbon_g_per_kwh: Option<f64>,
}

/// Charging power taper: full power up to `from_soc_pct`, then linear down to
/// `power_at_full_pct` percent of the maximum at 100 % SoC.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Taper {
    pub from_soc_pct: f64,
    /// Percent (0–100) of `max_power_w` still available at 100 % SoC.
    pub power_at_full_pct: f64,
}

/// Everything the planner needs; time comes in as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvPlanRequest {
    pub slots: Vec<Slot>,
    pub now: DateTime<Utc>,
    pub ready_by: DateTime<Utc>,
    pub battery_capacity_wh: i64,
    pub current_soc_pct: f64,
    pub target_soc_pct: f64,
    /// The car's own charge limit.
    pub soc_limit_pct: f64,
    pub max_power_w: i64,
    /// Grid → battery efficiency, in (0, 1].
    pub charging_efficiency: f64,
    pub taper: Option<Taper>,
    /// Effective price = import price + carbon_weight × g/kWh.
    pub carbon_weight: f64,
    /// The caller has locked the goal (plan active); carried into the plan.
    pub locked_goal: bool,
    /// Hysteresis: effective prices closer than this count as equal (0 = off).
    pub min_price_step: f64,
}

/// Charging in (part of) one slot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlannedSlot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Charger power while charging (average over `start..end` under taper).
    pub power_w: i64,
    pub energy_from_grid_wh: i64,
    pub energy_into_battery_wh: i64,
}

impl PlannedSlot {
    /// Grid energy as a domain quantity.
    pub fn grid_energy(&self) -> Energy {
        Energy::from_wh(self.energy_from_grid_wh)
    }
    /// Battery energy as a domain quantity.
    pub fn battery_energy(&self) -> Energy {
        Energy::from_wh(self.energy_into_battery_wh)
    }
    /// Charger power as a domain quantity.
    pub fn power(&self) -> Power {
        Power::from_w(self.power_w)
    }
}

/// Why the request was invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum InputError {
    #[error("battery capacity must be positive")]
    Capacity,
    #[error("max power must be positive")]
    Power,
    #[error("charging efficiency must be in (0, 1]")]
    Efficiency,
    #[error("SoC values must be finite and within 0..=100")]
    Soc,
    #[error("carbon weight and price step must be finite, step >= 0")]
    Weights,
    #[error("taper must have from in 0..100 and power_at_full in 0..=100")]
    Taper,
    #[error("slot prices and carbon must be finite")]
    SlotValue,
    #[error("slots overlap")]
    OverlappingSlots,
    #[error(
        "slot arrays must have equal lengths (carbon may be empty), uniform slots a positive length"
    )]
    SlotArrays,
    #[error("zone slots must be sorted, non-overlapping and of positive length")]
    ZoneSlots,
    #[error("zone limits must be one per slot, non-negative (infinite = no limit)")]
    ZoneLimit,
    #[error("fleet effective prices must lie within ±1e6 minor units per kWh")]
    PriceRange,
}

/// The outcome class of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanReason {
    /// The plan reaches the effective target by `ready_by`.
    TargetReached,
    /// Nothing to do: the SoC is already at or above the effective target.
    AlreadyAtTarget,
    /// Prices cover `ready_by` but there is not enough time: charge ASAP at full power.
    NotEnoughTime,
    /// Prices end before `ready_by` and the priced slots are not enough: charge them all ASAP.
    PriceHorizonTooShort,
    /// No priced time between `now` and `ready_by`.
    NoPrices,
    /// Fleet planning: the zone's capacity limit, shared with other devices, leaves this device
    /// less energy than it could take alone by `ready_by`.
    ZoneLimited,
    InvalidInput(InputError),
}

/// A plan: per-slot dispatches in time order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvPlan {
    pub dispatches: Vec<PlannedSlot>,
    /// Money only (import price × grid energy), minor units.
    pub total_cost: f64,
    pub expected_final_soc_pct: f64,
    pub effective_target_soc_pct: f64,
    pub target_reached: bool,
    /// Missing battery energy at `ready_by`, Wh (0 when reached).
    pub shortfall_wh: i64,
    pub reason: PlanReason,
    /// The prices end before `ready_by` (more may come; a later re-plan may be cheaper).
    pub prices_incomplete: bool,
    pub locked_goal: bool,
}

impl Default for EvPlan {
    fn default() -> Self {
        Self {
            dispatches: Vec::new(),
            total_cost: 0.0,
            expected_final_soc_pct: 0.0,
            effective_target_soc_pct: 0.0,
            target_reached: false,
            shortfall_wh: 0,
            reason: PlanReason::NoPrices,
            prices_incomplete: false,
            locked_goal: false,
        }
    }
}

/// A usable piece of a slot (taper DP and rare re-sorting).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cand {
    pub start_ms: i64,
    pub end_ms: i64,
    pub eff: f64,
    /// Chosen grid energy, Wh.
    pub energy: f64,
    /// Charging time within the slot, ms (taper; linear derives it).
    pub used_ms: i64,
    /// Index of the source slot in the request.
    pub slot: u32,
}

impl Cand {
    fn hours(&self) -> f64 {
        (self.end_ms - self.start_ms) as f64 / 3.6e6
    }
}

/// Reusable buffers for [`plan_into`] / [`plan_with`] / [`plan_compact_with`].
#[derive(Debug, Default, Clone)]
pub struct PlanScratch {
    pub(crate) lin: engine::Cands,
    pub(crate) cands: Vec<Cand>,
    pub(crate) taper: taper::TaperScratch,
    req: CompactEvRequest,
    out: CompactPlan,
    spare: [Vec<i64>; 2],
}

/// Plans with fresh buffers. Convenience; see [`plan_with`] for the allocation-free form.
pub fn plan(req: &EvPlanRequest) -> EvPlan {
    let mut scratch = PlanScratch::default();
    plan_into(req, &mut scratch)
}

/// Plans reusing `scratch`; allocates only the returned dispatch vector.
pub fn plan_into(req: &EvPlanRequest, scratch: &mut PlanScratch) -> EvPlan {
    let mut out = EvPlan::default();
    plan_with(req, scratch, &mut out);
    out
}

const EPS_WH: f64 = 1e-6;

/// Plans into `out`, reusing `scratch` and `out.dispatches`; no allocation once they have grown.
///
/// Converts the request to [`CompactEvRequest`] and runs [`plan_compact_with`]; dispatch edges
/// that coincide with a slot edge, `now` or `ready_by` keep the request's exact instants.
pub fn plan_with(req: &EvPlanRequest, scratch: &mut PlanScratch, out: &mut EvPlan) {
    let mut creq = std::mem::take(&mut scratch.req);
    let mut cout = std::mem::take(&mut scratch.out);
    creq.fill_with(req, &mut scratch.spare);
    engine::plan_core(&creq, scratch, &mut cout);
    cout.copy_summary(out);
    out.dispatches.clear();
    let ms = chrono::Duration::milliseconds;
    for d in &cout.dispatches {
        let i = d.slot as usize;
        let Some(slot) = req.slots.get(i) else {
            continue;
        };
        let (st_ms, en_ms) = (creq.slots.start_ms(i), creq.slots.end_ms(i));
        let (s0, e0) = (slot.start.max(req.now), slot.end.min(req.ready_by));
        let (us, ue) = (st_ms.max(creq.now_ms), en_ms.min(creq.ready_by_ms));
        let used = d.end_ms - d.start_ms;
        let (start, end) = if d.start_ms == us && d.end_ms == ue {
            (s0, e0)
        } else if d.end_ms == ue {
            (e0 - ms(used), e0)
        } else {
            (s0, s0 + ms(used))
        };
        out.dispatches.push(PlannedSlot {
            start,
            end,
            power_w: d.power_w,
            energy_from_grid_wh: d.energy_from_grid_wh,
            energy_into_battery_wh: d.energy_into_battery_wh,
        });
    }
    scratch.req = creq;
    scratch.out = cout;
}
