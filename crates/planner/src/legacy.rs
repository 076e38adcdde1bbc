//! The planner as it was before the compact fast path, kept verbatim (apart from the types it
//! shares) as a reference: the tests check that the current planner returns the same plans.
#![allow(dead_code)]

use chrono::{DateTime, Utc};

use crate::{
    CompactEvRequest, EPS_WH, EvPlan, EvPlanRequest, InputError, PlanReason, PlannedSlot, taper,
};

/// The reference implementation's candidate.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cand {
    pub start_ms: i64,
    pub end_ms: i64,
    pub cap_wh: f64,
    pub eff: f64,
    pub energy: f64,
    pub used_ms: i64,
    pub slot: u32,
}

/// The reference implementation's buffers.
#[derive(Debug, Default, Clone)]
pub(crate) struct PlanScratch {
    pub(crate) cands: Vec<Cand>,
    order: Vec<(u64, u32)>,
    pub(crate) taper: taper::TaperScratch,
}

/// Totally ordered key for a finite f64.
fn f64_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

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
pub(crate) fn plan_with(req: &EvPlanRequest, scratch: &mut PlanScratch, out: &mut EvPlan) {
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
        let model = taper::Model::new(&CompactEvRequest::from_request(req), t);
        let mut tc: Vec<crate::Cand> = cands
            .iter()
            .map(|c| crate::Cand {
                start_ms: c.start_ms,
                end_ms: c.end_ms,
                eff: c.eff,
                energy: 0.0,
                used_ms: 0,
                slot: c.slot,
            })
            .collect();
        let r = taper::plan_taper(&model, &mut tc, &mut scratch.taper, need_batt, 0);
        for (c, t) in cands.iter_mut().zip(&tc) {
            c.energy = t.energy;
            c.used_ms = t.used_ms;
        }
        r
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
        out.total_cost += c.energy / 1000.0 * slot.import_price;
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
