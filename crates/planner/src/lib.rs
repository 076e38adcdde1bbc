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
//! evcc), so charging starts as late as possible. The order is never fully sorted: a weighted
//! selection with `select_nth_unstable` finds the marginal slot in expected O(n) (see `greedy`),
//! and [`plan_with`] allocates nothing once its [`PlanScratch`] and output have grown.
//! Measured (2-core VM shared with other builds): about 360 k plans/s for 96 slots without
//! taper and hysteresis, about 1 k plans/s with taper (K ≤ 1000 steps).
//!
//! The partially used slot charges at full power for only part of its time. Which part:
//! adjacent to a chosen *following* slot (charge at its end), otherwise adjacent to a chosen
//! *preceding* slot (charge at its start), otherwise at its end (as late as possible). Placement
//! inside a slot never changes cost.
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

mod bench_gen;
mod taper;
mod time;

#[cfg(test)]
mod tests;

pub use bench_gen::bench_plans;
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

/// A usable piece of a slot.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cand {
    pub start_ms: i64,
    pub end_ms: i64,
    /// Grid energy at full power over the usable part, Wh.
    pub cap_wh: f64,
    pub price: f64,
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

/// Reusable buffers for [`plan_into`] / [`plan_with`].
#[derive(Debug, Default, Clone)]
pub struct PlanScratch {
    pub(crate) cands: Vec<Cand>,
    order: Vec<(u64, u32)>,
    pub(crate) taper: taper::TaperScratch,
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

/// Totally ordered key for a finite f64.
fn f64_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

const EPS_WH: f64 = 1e-6;

fn validate(req: &EvPlanRequest) -> Result<(), InputError> {
    if req.battery_capacity_wh <= 0 {
        return Err(InputError::Capacity);
    }
    if req.max_power_w <= 0 {
        return Err(InputError::Power);
    }
    let e = req.charging_efficiency;
    if !(e.is_finite() && e > 0.0 && e <= 1.0) {
        return Err(InputError::Efficiency);
    }
    let ok = |x: f64| x.is_finite() && (0.0..=100.0).contains(&x);
    if !(ok(req.current_soc_pct) && ok(req.target_soc_pct) && ok(req.soc_limit_pct)) {
        return Err(InputError::Soc);
    }
    if !(req.carbon_weight.is_finite() && req.min_price_step.is_finite())
        || req.min_price_step < 0.0
    {
        return Err(InputError::Weights);
    }
    if let Some(t) = req.taper
        && !(t.from_soc_pct.is_finite()
            && (0.0..100.0).contains(&t.from_soc_pct)
            && ok(t.power_at_full_pct))
    {
        return Err(InputError::Taper);
    }
    Ok(())
}

/// Plans into `out`, reusing `scratch` and `out.dispatches`; no allocation once they have grown.
pub fn plan_with(req: &EvPlanRequest, scratch: &mut PlanScratch, out: &mut EvPlan) {
    out.dispatches.clear();
    out.total_cost = 0.0;
    out.target_reached = false;
    out.shortfall_wh = 0;
    out.prices_incomplete = false;
    out.locked_goal = req.locked_goal;
    out.expected_final_soc_pct = req.current_soc_pct;
    out.effective_target_soc_pct = req.target_soc_pct.min(req.soc_limit_pct);
    if let Err(e) = validate(req) {
        out.reason = PlanReason::InvalidInput(e);
        return;
    }
    let cap_wh = req.battery_capacity_wh as f64;
    let eta = req.charging_efficiency;
    let target = out.effective_target_soc_pct;
    let need_batt = (target - req.current_soc_pct) / 100.0 * cap_wh;
    if need_batt <= EPS_WH {
        out.reason = PlanReason::AlreadyAtTarget;
        out.target_reached = true;
        return;
    }
    let need_grid = need_batt / eta;

    // Usable candidates.
    let cands = &mut scratch.cands;
    cands.clear();
    let now_ms = req.now.timestamp_millis();
    let rb_ms = req.ready_by.timestamp_millis();
    let wh_per_ms = req.max_power_w as f64 / 3.6e6;
    let mut sorted = true;
    let mut overlap = false;
    let mut last_end = i64::MIN;
    let mut horizon_end = i64::MIN;
    let mut cache = MsCache::default();
    let mut prev_end_dt: Option<DateTime<Utc>> = None;
    let mut prev_end_raw = 0i64;
    for (idx, s) in req.slots.iter().enumerate() {
        let carbon = s.carbon_g_per_kwh.unwrap_or(0.0);
        if !(s.import_price.is_finite() && carbon.is_finite()) {
            out.reason = PlanReason::InvalidInput(InputError::SlotValue);
            return;
        }
        let raw_end = cache.ms(&s.end);
        horizon_end = horizon_end.max(raw_end);
        let en = raw_end.min(rb_ms);
        if en <= now_ms {
            prev_end_dt = Some(s.end);
            prev_end_raw = raw_end;
            continue;
        }
        // Contiguous slots: the start is the previous end, no conversion needed.
        let raw_start = if prev_end_dt == Some(s.start) {
            prev_end_raw
        } else {
            cache.ms(&s.start)
        };
        prev_end_dt = Some(s.end);
        prev_end_raw = raw_end;
        let st = raw_start.max(now_ms);
        if en <= st {
            continue;
        }
        if st < last_end {
            // Either unsorted (sorted and re-checked below) or overlapping.
            sorted = false;
            overlap = true;
        }
        last_end = en;
        cands.push(Cand {
            slot: idx as u32,
            start_ms: st,
            end_ms: en,
            cap_wh: (en - st) as f64 * wh_per_ms,
            price: s.import_price,
            eff: s.import_price + req.carbon_weight * carbon,
            energy: 0.0,
            used_ms: 0,
        });
    }
    out.prices_incomplete = horizon_end < rb_ms;
    if !sorted {
        cands.sort_unstable_by_key(|c| c.start_ms);
        overlap = cands.windows(2).any(|w| w[1].start_ms < w[0].end_ms);
    }
    if overlap {
        out.reason = PlanReason::InvalidInput(InputError::OverlappingSlots);
        return;
    }
    if cands.is_empty() {
        out.reason = PlanReason::NoPrices;
        out.shortfall_wh = need_batt.round().max(1.0) as i64;
        return;
    }

    let tapered = req
        .taper
        .filter(|t| t.power_at_full_pct < 100.0 && t.from_soc_pct < target);
    let reached = if let Some(t) = tapered {
        let model = taper::Model::new(req, t);
        taper::plan_taper(&model, cands, &mut scratch.taper, need_batt, 0)
    } else {
        let total: f64 = cands.iter().map(|c| c.cap_wh).sum();
        if total + EPS_WH < need_grid {
            for c in cands.iter_mut() {
                c.energy = c.cap_wh;
            }
            false
        } else {
            if req.min_price_step > 0.0 {
                greedy_hysteresis(cands, &mut scratch.order, need_grid, req.min_price_step);
            } else {
                greedy(cands, &mut scratch.order, need_grid);
            }
            true
        }
    };
    let batt = emit(req, &scratch.cands, tapered.is_some(), out) * eta;
    out.expected_final_soc_pct = (req.current_soc_pct + batt / cap_wh * 100.0).min(target);
    let short = (need_batt - batt).max(0.0);
    if reached {
        out.reason = PlanReason::TargetReached;
        out.target_reached = true;
    } else {
        out.reason = if out.prices_incomplete {
            PlanReason::PriceHorizonTooShort
        } else {
            PlanReason::NotEnoughTime
        };
        out.shortfall_wh = short.round().max(1.0) as i64;
    }
}

/// Exact greedy: cheapest effective price first, ties → later slot.
///
/// Equivalent to sorting by `(price, later first)` and filling, but sort-free: the greedy takes
/// every slot whose key is below some marginal key fully and the marginal one partly, so it is
/// enough to find that key. `m = ceil(remaining / max_cap)` slots are needed at least; one
/// `select_nth_unstable` puts the `m` smallest keys in front with the largest of them at `m − 1`.
/// If those `m` slots cover the need, the first `m − 1` are full and slot `m − 1` is the partial
/// one; otherwise all `m` are full and the search continues in the rest. Expected O(n).
fn greedy(cands: &mut [Cand], order: &mut Vec<(u64, u32)>, need: f64) {
    let n = cands.len();
    order.clear();
    let mut max_cap: f64 = 0.0;
    for (pos, c) in cands.iter().enumerate() {
        order.push((f64_key(c.eff), (n - 1 - pos) as u32));
        max_cap = max_cap.max(c.cap_wh);
    }
    let mut remaining = need;
    let mut rest: &mut [(u64, u32)] = order;
    while remaining > EPS_WH && !rest.is_empty() {
        let m = ((remaining / max_cap).ceil() as usize).clamp(1, rest.len());
        rest.select_nth_unstable(m - 1);
        let (front, tail) = rest.split_at_mut(m);
        let mut full = 0.0;
        for &(_, rev) in &front[..m - 1] {
            full += cands[n - 1 - rev as usize].cap_wh;
        }
        let last = &mut cands[n - 1 - front[m - 1].1 as usize];
        if full + last.cap_wh >= remaining {
            let part = remaining - full;
            last.energy = part;
            for &(_, rev) in &front[..m - 1] {
                let c = &mut cands[n - 1 - rev as usize];
                c.energy = c.cap_wh;
            }
            return;
        }
        for &(_, rev) in front.iter() {
            let c = &mut cands[n - 1 - rev as usize];
            c.energy = c.cap_wh;
            remaining -= c.cap_wh;
        }
        rest = tail;
    }
}

/// Milliseconds since the epoch, computing the calendar part once per distinct date.
#[derive(Default)]
struct MsCache {
    date: Option<(chrono::NaiveDate, i64)>,
}

impl MsCache {
    fn ms(&mut self, dt: &DateTime<Utc>) -> i64 {
        use chrono::Timelike;
        let naive = dt.naive_utc();
        let date = naive.date();
        let day_ms = match self.date {
            Some((d, ms)) if d == date => ms,
            _ => {
                let ms = date
                    .and_time(chrono::NaiveTime::MIN)
                    .and_utc()
                    .timestamp_millis();
                self.date = Some((date, ms));
                ms
            }
        };
        let t = naive.time();
        day_ms
            + i64::from(t.num_seconds_from_midnight()) * 1000
            + i64::from(t.nanosecond() / 1_000_000)
    }
}

fn adjacent_chosen(cands: &[Cand], p: usize) -> bool {
    (p > 0 && cands[p - 1].end_ms == cands[p].start_ms && cands[p - 1].energy > 0.0)
        || (p + 1 < cands.len()
            && cands[p + 1].start_ms == cands[p].end_ms
            && cands[p + 1].energy > 0.0)
}

/// Bucketed greedy with contiguity preference in the marginal bucket (see crate docs).
fn greedy_hysteresis(cands: &mut [Cand], order: &mut Vec<(u64, u32)>, need: f64, step: f64) {
    let n = cands.len();
    order.clear();
    for (pos, c) in cands.iter().enumerate() {
        order.push((f64_key((c.eff / step).floor()), (n - 1 - pos) as u32));
    }
    order.sort_unstable();
    let mut remaining = need;
    let mut i = 0;
    while i < n && remaining > EPS_WH {
        let key = order[i].0;
        let mut j = i;
        let mut group_cap = 0.0;
        while j < n && order[j].0 == key {
            group_cap += cands[n - 1 - order[j].1 as usize].cap_wh;
            j += 1;
        }
        if group_cap <= remaining + EPS_WH {
            for &(_, rev) in &order[i..j] {
                let c = &mut cands[n - 1 - rev as usize];
                c.energy = c.cap_wh;
                remaining -= c.cap_wh;
            }
        } else {
            // Marginal bucket: grow contiguous runs, latest first.
            while remaining > EPS_WH {
                let mut pick = None;
                for &(_, rev) in &order[i..j] {
                    let p = n - 1 - rev as usize;
                    if cands[p].energy > 0.0 {
                        continue;
                    }
                    if adjacent_chosen(cands, p) {
                        pick = Some(p);
                        break;
                    }
                    if pick.is_none() {
                        pick = Some(p);
                    }
                }
                let Some(p) = pick else { break };
                let take = cands[p].cap_wh.min(remaining);
                cands[p].energy = take;
                remaining -= take;
            }
        }
        i = j;
    }
}

/// Whether the partial charging in slot `p` should sit at the end of the slot.
fn place_late(cands: &[Cand], p: usize) -> bool {
    let next = p + 1 < cands.len()
        && cands[p + 1].start_ms == cands[p].end_ms
        && cands[p + 1].energy > 0.0;
    let prev = p > 0 && cands[p - 1].end_ms == cands[p].start_ms && cands[p - 1].energy > 0.0;
    next || !prev
}

/// Writes the dispatches; returns the total grid energy, Wh.
fn emit(req: &EvPlanRequest, cands: &[Cand], tapered: bool, out: &mut EvPlan) -> f64 {
    let pw = req.max_power_w as f64;
    let eta = req.charging_efficiency;
    let mut grid = 0.0;
    for (p, c) in cands.iter().enumerate() {
        if c.energy <= EPS_WH {
            continue;
        }
        grid += c.energy;
        let Some(slot) = req.slots.get(c.slot as usize) else {
            continue;
        };
        let (s0, e0) = (slot.start.max(req.now), slot.end.min(req.ready_by));
        let full = c.end_ms - c.start_ms;
        let used = if tapered {
            c.used_ms.clamp(1, full)
        } else if c.energy >= c.cap_wh - EPS_WH {
            full
        } else {
            ((c.energy / pw * 3.6e6).ceil() as i64).clamp(1, full)
        };
        let (s, e) = if used >= full {
            (s0, e0)
        } else if place_late(cands, p) {
            (e0 - chrono::Duration::milliseconds(used), e0)
        } else {
            (s0, s0 + chrono::Duration::milliseconds(used))
        };
        let power = if tapered {
            ((c.energy / (used as f64 / 3.6e6)).round() as i64).min(req.max_power_w)
        } else {
            req.max_power_w
        };
        out.total_cost += c.energy / 1000.0 * c.price;
        out.dispatches.push(PlannedSlot {
            start: s,
            end: e,
            power_w: power,
            energy_from_grid_wh: c.energy.round() as i64,
            energy_into_battery_wh: (c.energy * eta).round() as i64,
        });
    }
    grid
}
