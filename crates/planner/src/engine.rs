//! The planning core behind both request forms (see the crate docs for the method).
//!
//! Candidates are kept as parallel arrays ([`Cands`]); the linear case never sorts. Both the exact
//! greedy and the hysteresis greedy take every candidate whose key lies below one *marginal key*
//! in full and share out the marginal key's group; [`marginal_key`] finds that key by a weighted
//! selection (sampled brackets) in expected O(n).

use crate::compact::{CompactEvRequest, CompactPlan, DispatchMs, SlotTimes};
use crate::{Cand, EPS_WH, InputError, PlanReason, PlanScratch, taper};

/// Usable slot parts as parallel arrays, in time order once built; only `..len` is meaningful
/// and the vectors only ever grow. Candidate `p` is the usable part of slot `slot[p]`.
///
/// In the linear case the choice is kept as a threshold: a candidate whose key is below `kk` is
/// full, one with key `kk` (the marginal group) has `energy[p]`, the rest are unused. `energy`
/// holds every candidate's energy only when `explicit` (taper).
#[derive(Debug, Default, Clone)]
pub(crate) struct Cands {
    pub len: usize,
    /// `now` and `ready_by` of the request built from, ms.
    now: i64,
    rb: i64,
    /// Index of the source slot in the request.
    pub slot: Vec<u32>,
    /// `sel[0][p]` = (selection key, usable duration in ms) of candidate `p`: the key is the
    /// effective price (exact) or its bucket (hysteresis), totally ordered. `sel[1..]` are the
    /// selection's work buffers.
    pub sel: [Vec<(u64, i64)>; 3],
    energy: Vec<f64>,
    /// Charging time within the slot, ms (taper only).
    used_ms: Vec<i64>,
    explicit: bool,
    kk: u64,
    wh_per_ms: f64,
    /// Candidates that may carry energy, in time order: `chosen[..n_chosen]`.
    chosen: Vec<u32>,
    n_chosen: usize,
    group: Vec<u32>,
}

impl Cands {
    /// The usable part of candidate `p`, ms.
    #[inline]
    pub(crate) fn span(&self, req: &CompactEvRequest, p: usize) -> (i64, i64) {
        let i = self.slot[p] as usize;
        let s = &req.slots;
        (s.start_ms(i).max(self.now), s.end_ms(i).min(self.rb))
    }

    /// Grid energy at full power over candidate `p`, Wh.
    #[inline]
    fn cap(&self, p: usize) -> f64 {
        self.sel[0][p].1 as f64 * self.wh_per_ms
    }

    /// Chosen grid energy of candidate `p`, Wh.
    #[inline]
    pub(crate) fn energy_at(&self, p: usize) -> f64 {
        if self.explicit {
            return self.energy[p];
        }
        let key = self.sel[0][p].0;
        if key < self.kk {
            self.cap(p)
        } else if key == self.kk {
            self.energy[p]
        } else {
            0.0
        }
    }

    /// (slot index, chosen grid energy in Wh) of every candidate.
    #[cfg(test)]
    pub(crate) fn energies(&self) -> impl Iterator<Item = (u32, f64)> + '_ {
        (0..self.len).map(|p| (self.slot[p], self.energy_at(p)))
    }

    fn reserve(&mut self, n: usize) {
        if self.slot.len() < n {
            self.slot.resize(n, 0);
            self.energy.resize(n, 0.0);
            self.used_ms.resize(n, 0);
            self.chosen.resize(n, 0);
            for b in &mut self.sel {
                b.resize(n, (0, 0));
            }
        }
    }

    /// Every candidate may carry energy.
    fn choose_all(&mut self) {
        for (p, x) in self.chosen[..self.len].iter_mut().enumerate() {
            *x = p as u32;
        }
        self.n_chosen = self.len;
    }
}

/// `x.round() as i64` without the libm call (round half away from zero).
#[inline]
pub(crate) fn round_i64(x: f64) -> i64 {
    let t = x as i64;
    let f = x - t as f64;
    t.saturating_add(i64::from(f >= 0.5) - i64::from(f <= -0.5))
}

/// `x.floor()` without the libm call and without branches, for the hysteresis buckets: adding and
/// subtracting 2^52 rounds `|y| < 2^52` to an integer; larger values are integers already.
/// `-0.0` stays `-0.0` (callers add `0.0`).
#[inline]
pub(crate) fn floor_f64(y: f64) -> f64 {
    const M: f64 = 4_503_599_627_370_496.0; // 2^52
    let a = y.abs();
    let r = ((a + M) - M).copysign(y);
    let f = if r > y { r - 1.0 } else { r };
    if a < M { f } else { y }
}

/// `1 / x` when `x` is a power of two whose reciprocal is a normal number (then `y / x` and
/// `y * (1 / x)` are the same correctly rounded value), else `None`.
#[inline]
pub(crate) fn pow2_reciprocal(x: f64) -> Option<f64> {
    let b = x.to_bits();
    let exp = (b >> 52) & 0x7ff;
    // Positive, mantissa zero, and 2^-k normal: exponent field in 1..=2045.
    (b >> 63 == 0 && b & ((1 << 52) - 1) == 0 && (1..=2045).contains(&exp)).then(|| 1.0 / x)
}

/// The selection key of an effective price (`-0.0` and `+0.0` are the same price).
#[inline]
pub(crate) fn price_key(eff: f64, step: f64) -> u64 {
    if step > 0.0 {
        f64_key(floor_f64(eff / step) + 0.0)
    } else {
        f64_key(eff + 0.0)
    }
}

/// Totally ordered key for a finite f64.
#[inline]
pub(crate) fn f64_key(x: f64) -> u64 {
    let b = x.to_bits();
    // Negative: flip all bits; positive: set the sign bit.
    b ^ (((b as i64 >> 63) as u64) | (1 << 63))
}

/// Effective price of slot `i`: import price + carbon weight × carbon (missing = 0).
#[inline]
pub(crate) fn eff_price(req: &CompactEvRequest, i: usize) -> f64 {
    let s = &req.slots;
    let c = s.carbon_g_per_kwh.get(i).copied().unwrap_or(0.0);
    s.import_price.get(i).copied().unwrap_or(0.0) + req.carbon_weight * c
}

pub(crate) fn validate(req: &CompactEvRequest) -> Result<(), InputError> {
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

/// Result of the candidate pass.
struct Built {
    /// Total usable time, ms.
    total_ms: i64,
    horizon_end: i64,
    unsorted: bool,
}

/// Keys and durations of the slots `lo..lo + out.len()`, all usable (durations not yet
/// clipped): `times` holds explicit start and end arrays, or is `None` for a uniform grid of
/// slots of `slot_ms`.
#[inline]
fn key_loop<const HYST: bool, const CARBON: bool>(
    req: &CompactEvRequest,
    lo: usize,
    times: Option<(&[i64], &[i64])>,
    slot_ms: i64,
    out: &mut [(u64, i64)],
    slot: &mut [u32],
) {
    let s = &req.slots;
    let m = out.len();
    let pr = &s.import_price[lo..lo + m];
    let cb = if CARBON {
        &s.carbon_g_per_kwh[lo..lo + m]
    } else {
        &[][..]
    };
    let (cw, step) = (req.carbon_weight, req.min_price_step);
    let slot = &mut slot[..m];
    // Dividing by a power of two is exactly multiplying by its reciprocal (same rounded result).
    let inv = pow2_reciprocal(step);
    for p in 0..m {
        let eff = if CARBON { pr[p] + cw * cb[p] } else { pr[p] };
        let key = if HYST {
            let q = match inv {
                Some(inv) => eff * inv,
                None => eff / step,
            };
            f64_key(floor_f64(q) + 0.0)
        } else {
            f64_key(eff + 0.0)
        };
        out[p].0 = key;
        slot[p] = (lo + p) as u32;
    }
    match times {
        Some((st, en)) => {
            for (o, (&a, &b)) in out
                .iter_mut()
                .zip(st[lo..lo + m].iter().zip(&en[lo..lo + m]))
            {
                o.1 = b - a;
            }
        }
        None => {
            for o in out.iter_mut() {
                o.1 = slot_ms;
            }
        }
    }
}

/// Validates the slots and builds the candidates.
///
/// A uniform grid, and explicit slots that are sorted, non-overlapping and of positive length
/// (the usual case, checked in one pass), have their usable slots in one index range, found by
/// arithmetic or binary search; only its first and last slot can be clipped by `now` /
/// `ready_by`. Anything else takes a general compacting pass.
fn build(req: &CompactEvRequest, c: &mut Cands) -> Result<Built, InputError> {
    let s = &req.slots;
    let n = s.import_price.len();
    let has_carbon = !s.carbon_g_per_kwh.is_empty();
    if has_carbon && s.carbon_g_per_kwh.len() != n {
        return Err(InputError::SlotArrays);
    }
    let explicit = match &s.times {
        SlotTimes::Explicit { start_ms, end_ms } => {
            if start_ms.len() != n || end_ms.len() != n {
                return Err(InputError::SlotArrays);
            }
            Some((&start_ms[..n], &end_ms[..n]))
        }
        SlotTimes::Uniform { slot_ms, .. } => {
            if *slot_ms <= 0 {
                return Err(InputError::SlotArrays);
            }
            None
        }
    };
    let mut bad = false;
    for &p in &s.import_price {
        bad |= !p.is_finite();
    }
    for &x in &s.carbon_g_per_kwh {
        bad |= !x.is_finite();
    }
    if bad {
        return Err(InputError::SlotValue);
    }
    c.reserve(n);
    let now = req.now_ms;
    let rb = req.ready_by_ms;
    c.now = now;
    c.rb = rb;
    let hyst = req.min_price_step > 0.0;
    let (range, horizon_end, slot_ms) = match (explicit, &s.times) {
        (
            None,
            &SlotTimes::Uniform {
                first_start_ms: f,
                slot_ms: d,
            },
        ) => {
            // Slot i is usable iff f + (i + 1)·d > now and f + i·d < ready_by.
            let (f, d, nn) = (i128::from(f), i128::from(d), n as i128);
            let lo = (i128::from(now) - f).div_euclid(d).clamp(0, nn);
            let hi = if rb > now {
                (-(f - i128::from(rb)).div_euclid(d)).clamp(lo, nn)
            } else {
                lo
            };
            let end = if n == 0 {
                i64::MIN
            } else {
                (f + nn * d).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
            };
            (Some((lo as usize, hi as usize)), end, d as i64)
        }
        (Some((starts, ends)), _) => {
            let mut horizon_end = i64::MIN;
            let mut well_formed = true;
            let mut prev_end = i64::MIN;
            for (&a, &b) in starts.iter().zip(ends) {
                horizon_end = horizon_end.max(b);
                well_formed &= (a < b) & (prev_end <= a);
                prev_end = b;
            }
            let range = well_formed.then(|| {
                let lo = ends.partition_point(|&e| e <= now);
                let hi = if rb > now {
                    starts.partition_point(|&x| x < rb).max(lo)
                } else {
                    lo
                };
                (lo, hi)
            });
            (range, horizon_end, 0)
        }
        (None, _) => (None, i64::MIN, 0),
    };
    if let Some((lo, hi)) = range {
        let m = hi - lo;
        let (out, slot) = (&mut c.sel[0][..m], &mut c.slot[..m]);
        match (hyst, has_carbon) {
            (false, false) => key_loop::<false, false>(req, lo, explicit, slot_ms, out, slot),
            (false, true) => key_loop::<false, true>(req, lo, explicit, slot_ms, out, slot),
            (true, false) => key_loop::<true, false>(req, lo, explicit, slot_ms, out, slot),
            (true, true) => key_loop::<true, true>(req, lo, explicit, slot_ms, out, slot),
        }
        if m > 0 {
            out[0].1 = s.end_ms(lo).min(rb) - s.start_ms(lo).max(now);
            out[m - 1].1 = s.end_ms(hi - 1).min(rb) - s.start_ms(hi - 1).max(now);
        }
        c.len = m;
        return Ok(Built {
            total_ms: out.iter().map(|e| e.1).sum(),
            horizon_end,
            unsorted: false,
        });
    }
    let Some((starts, ends)) = explicit else {
        return Err(InputError::SlotArrays);
    };
    let step = req.min_price_step;
    let (ck, cl) = (&mut c.sel[0][..n], &mut c.slot[..n]);
    let mut unsorted = false;
    let mut last_end = i64::MIN;
    let mut total_ms = 0i64;
    let mut k = 0usize;
    for i in 0..n {
        let en = ends[i].min(rb);
        let st = starts[i].max(now);
        // `st >= now`, so a non-empty usable part also ends after `now`.
        let usable = en > st;
        unsorted |= usable & (st < last_end);
        last_end = if usable { en } else { last_end };
        let d = if usable { en - st } else { 0 };
        total_ms += d;
        let key = price_key(eff_price(req, i), step);
        // `k <= i < n`: always in bounds; the write is kept only when `usable`.
        if let (Some(y), Some(z)) = (ck.get_mut(k), cl.get_mut(k)) {
            *y = (key, d);
            *z = i as u32;
        }
        k += usable as usize;
    }
    c.len = k;
    Ok(Built {
        total_ms,
        horizon_end,
        unsorted,
    })
}

/// Sorts the candidates by start (rare: the slots came unsorted). Returns whether any overlap.
fn sort_cands(req: &CompactEvRequest, c: &mut Cands, tmp: &mut Vec<Cand>) -> bool {
    tmp.clear();
    for p in 0..c.len {
        let (start_ms, end_ms) = c.span(req, p);
        tmp.push(Cand {
            start_ms,
            end_ms,
            eff: 0.0,
            energy: 0.0,
            used_ms: 0,
            slot: c.slot[p],
        });
    }
    tmp.sort_unstable_by_key(|x| x.start_ms);
    let overlap = tmp.windows(2).any(|w| w[1].start_ms < w[0].end_ms);
    for (p, x) in tmp.iter().enumerate() {
        c.slot[p] = x.slot;
        c.sel[0][p] = (
            price_key(eff_price(req, x.slot as usize), req.min_price_step),
            x.end_ms - x.start_ms,
        );
    }
    overlap
}

pub(crate) fn plan_core(req: &CompactEvRequest, scratch: &mut PlanScratch, out: &mut CompactPlan) {
    out.dispatches.clear();
    out.total_cost = 0.0;
    out.target_reached = false;
    out.shortfall_wh = 0;
    out.prices_incomplete = false;
    out.locked_goal = req.locked_goal;
    out.expected_final_soc_pct = req.current_soc_pct;
    out.effective_target_soc_pct = req.target_soc_pct.min(req.soc_limit_pct);
    scratch.lin.len = 0;
    scratch.lin.n_chosen = 0;
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

    let c = &mut scratch.lin;
    let built = match build(req, c) {
        Ok(b) => b,
        Err(e) => {
            c.len = 0;
            out.reason = PlanReason::InvalidInput(e);
            return;
        }
    };
    out.prices_incomplete = built.horizon_end < req.ready_by_ms;
    if built.unsorted && sort_cands(req, c, &mut scratch.cands) {
        c.len = 0;
        out.reason = PlanReason::InvalidInput(InputError::OverlappingSlots);
        return;
    }
    let k = c.len;
    if k == 0 {
        out.reason = PlanReason::NoPrices;
        out.shortfall_wh = need_batt.round().max(1.0) as i64;
        return;
    }

    let wh_per_ms = req.max_power_w as f64 / 3.6e6;
    c.wh_per_ms = wh_per_ms;
    c.explicit = false;
    let tapered = req
        .taper
        .filter(|t| t.power_at_full_pct < 100.0 && t.from_soc_pct < target);
    let reached = if let Some(t) = tapered {
        let model = taper::Model::new(req, t);
        let tmp = &mut scratch.cands;
        tmp.clear();
        for p in 0..k {
            let slot = c.slot[p];
            let (start_ms, end_ms) = c.span(req, p);
            tmp.push(Cand {
                start_ms,
                end_ms,
                eff: eff_price(req, slot as usize),
                energy: 0.0,
                used_ms: 0,
                slot,
            });
        }
        let r = taper::plan_taper(&model, tmp, &mut scratch.taper, need_batt, 0);
        for (p, x) in tmp.iter().enumerate() {
            c.energy[p] = x.energy;
            c.used_ms[p] = x.used_ms;
        }
        c.explicit = true;
        c.choose_all();
        r
    } else if built.total_ms as f64 * wh_per_ms + EPS_WH < need_grid {
        c.kk = u64::MAX;
        c.choose_all();
        false
    } else {
        let hyst = req.min_price_step > 0.0;
        // Threshold on total time: Σ cap ≥ need (exact) or Σ cap > need + ε (hysteresis).
        let t = if hyst {
            ((need_grid + EPS_WH) / wh_per_ms).floor() as i64 + 1
        } else {
            (need_grid / wh_per_ms).ceil() as i64
        };
        let (kk, below_ms) = marginal_key(&mut c.sel, k, t.max(1), built.total_ms);
        c.kk = kk;
        list_chosen(c);
        let rem = need_grid - below_ms as f64 * wh_per_ms;
        if hyst {
            share_marginal_hysteresis(req, c, rem);
        } else {
            share_marginal(c, rem);
        }
        true
    };
    let batt = emit(req, c, tapered.is_some(), out) * eta;
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

/// Largest set finished by the quadratic pass.
const SMALL: usize = 8;
/// Bracketing rounds before the selection falls back to sorting.
const MAX_ROUNDS: u32 = 6;

/// The smallest key `K` with `Σ dur[key ≤ K] ≥ t` over the first `n` `(key, duration)` pairs of
/// `bufs[0]` (left unchanged), or `u64::MAX` if their total is below `t`, with `Σ dur[key < K]`.
/// `total` is their total duration; requires `t > 0`. `bufs[1]` and `bufs[2]` are work space of
/// at least `n` pairs.
///
/// Weighted selection by bracketing: each round sorts 9 evenly spaced sample keys (a sorting
/// network), takes the two around the quantile `t / total` as `p1 ≤ p2`, and in one pass sums the
/// durations below `p1` and within `[p1, p2]` while copying the pairs within `[p1, p2]` aside.
/// Usually the answer lies there (about 2/9 of the set); otherwise a second pass copies the side
/// that holds it. Eight pairs or fewer are finished by a quadratic, branch-free pass. Expected
/// O(n); integer sums, so there are no floating-point dependency chains.
pub(crate) fn marginal_key(
    bufs: &mut [Vec<(u64, i64)>; 3],
    n: usize,
    mut t: i64,
    mut total: i64,
) -> (u64, i64) {
    let mut below = 0i64;
    let mut src = 0usize;
    let mut m = n.min(bufs.iter().map(Vec::len).min().unwrap_or(0));
    let mut rounds = 0u32;
    loop {
        let dst = if src == 1 { 2 } else { 1 };
        let (v, w) = src_dst(bufs, src, dst);
        let v = &v[..m];
        if m <= SMALL {
            return small_marginal(v, t, below);
        }
        rounds += 1;
        if rounds > MAX_ROUNDS {
            // Unlucky samples round after round: sort what is left (O(n log n) worst case).
            w[..m].copy_from_slice(v);
            return sorted_marginal(&mut w[..m], t, below);
        }
        let (p1, p2) = bracket(v, t as f64 / total.max(1) as f64);
        let (mut sl, mut sm, mut j) = (0i64, 0i64, 0usize);
        for &e in v {
            let mid = (e.0 >= p1) & (e.0 <= p2);
            w[j] = e;
            j += usize::from(mid);
            sl += if e.0 < p1 { e.1 } else { 0 };
            sm += if mid { e.1 } else { 0 };
        }
        if sl >= t {
            total = sl;
            j = keep(v, w, 0, p1.saturating_sub(1));
        } else if sl + sm >= t {
            below += sl;
            if p1 == p2 {
                return (p1, below);
            }
            t -= sl;
            total = sm;
            if j == m {
                // No progress (many equal keys): sort what is left.
                return sorted_marginal(&mut w[..m], t, below);
            }
        } else {
            below += sl + sm;
            t -= sl + sm;
            total -= sl + sm;
            if total <= 0 || p2 == u64::MAX {
                return (u64::MAX, below);
            }
            j = keep(v, w, p2 + 1, u64::MAX);
        }
        m = j;
        src = dst;
    }
}

/// A `(key, duration ms)` pair of the selection.
type Pair = (u64, i64);

/// Buffer `src` for reading and buffer `dst` for writing (`src != dst`).
fn src_dst(bufs: &mut [Vec<Pair>; 3], src: usize, dst: usize) -> (&[Pair], &mut [Pair]) {
    let [a, b, c] = bufs;
    match (src, dst) {
        (0, 1) => (a, b),
        (0, _) => (a, c),
        (1, 0) => (b, a),
        (1, _) => (b, c),
        (2, 0) => (c, a),
        _ => (c, b),
    }
}

/// Copies the pairs with `lo ≤ key ≤ hi` from `v` to `w`; returns how many.
fn keep(v: &[(u64, i64)], w: &mut [(u64, i64)], lo: u64, hi: u64) -> usize {
    let mut j = 0usize;
    for &e in v {
        w[j] = e;
        j += usize::from((e.0 >= lo) & (e.0 <= hi));
    }
    j
}

/// [`marginal_key`] for a handful of pairs: O(m²), no branches on the data.
fn small_marginal(v: &[(u64, i64)], t: i64, below: i64) -> (u64, i64) {
    let mut best = u64::MAX;
    for &(ki, _) in v {
        let mut s = 0i64;
        for &(kj, d) in v {
            s += if kj <= ki { d } else { 0 };
        }
        best = if (s >= t) & (ki < best) { ki } else { best };
    }
    let mut b = below;
    for &(k, d) in v {
        b += if k < best { d } else { 0 };
    }
    (best, b)
}

fn sorted_marginal(v: &mut [(u64, i64)], t: i64, below: i64) -> (u64, i64) {
    v.sort_unstable_by_key(|e| e.0);
    let mut acc = 0i64;
    let mut i = 0;
    while i < v.len() {
        let key = v[i].0;
        let before = acc;
        while i < v.len() && v[i].0 == key {
            acc += v[i].1;
            i += 1;
        }
        if acc >= t {
            return (key, below + before);
        }
    }
    (u64::MAX, below + acc)
}

/// A 25-comparator sorting network for 9 keys.
const NET9: [(usize, usize); 25] = [
    (0, 1),
    (3, 4),
    (6, 7),
    (1, 2),
    (4, 5),
    (7, 8),
    (0, 1),
    (3, 4),
    (6, 7),
    (0, 3),
    (3, 6),
    (0, 3),
    (1, 4),
    (4, 7),
    (1, 4),
    (2, 5),
    (5, 8),
    (2, 5),
    (1, 3),
    (5, 7),
    (2, 6),
    (4, 6),
    (2, 4),
    (2, 3),
    (5, 6),
];

/// Two sample keys bracketing quantile `q` of `v` (`p1 = 0` / `p2 = MAX` at the ends).
fn bracket(v: &[(u64, i64)], q: f64) -> (u64, u64) {
    let m = v.len();
    let stride = m / 9;
    let first = stride / 2;
    let mut s = [0u64; 9];
    for (j, x) in s.iter_mut().enumerate() {
        *x = v.get(first + j * stride).map_or(0, |e| e.0);
    }
    for &(a, b) in &NET9 {
        let (x, y) = (s[a], s[b]);
        s[a] = x.min(y);
        s[b] = x.max(y);
    }
    let j = ((q.clamp(0.0, 1.0) * 9.0) as usize).min(8);
    let p1 = if j == 0 { 0 } else { s[j - 1] };
    let p2 = if j == 8 { u64::MAX } else { s[j + 1] };
    (p1, p2)
}

/// Lists the candidates with a key up to the threshold (full ones and the marginal group), in
/// time order.
fn list_chosen(c: &mut Cands) {
    let k = c.len;
    let kk = c.kk;
    let mut j = 0usize;
    let chosen = &mut c.chosen[..k];
    for (p, &(key, _)) in c.sel[0][..k].iter().enumerate() {
        if let Some(x) = chosen.get_mut(j) {
            *x = p as u32;
        }
        j += usize::from(key <= kk);
    }
    c.n_chosen = j;
}

/// Exact greedy, marginal group: latest first.
fn share_marginal(c: &mut Cands, mut rem: f64) {
    let kk = c.kk;
    for i in (0..c.n_chosen).rev() {
        let p = c.chosen[i] as usize;
        if c.sel[0][p].0 == kk {
            let take = if rem > EPS_WH { c.cap(p).min(rem) } else { 0.0 };
            c.energy[p] = take;
            rem -= take;
        }
    }
}

/// Whether the previous / next candidate is contiguous with `p` and chosen.
fn chosen_neighbours(req: &CompactEvRequest, c: &Cands, p: usize) -> (bool, bool) {
    let (s, e) = c.span(req, p);
    let prev = p > 0 && c.energy_at(p - 1) > 0.0 && c.span(req, p - 1).1 == s;
    let next = p + 1 < c.len && c.energy_at(p + 1) > 0.0 && c.span(req, p + 1).0 == e;
    (prev, next)
}

/// Hysteresis, marginal bucket: grow contiguous runs, latest first (see crate docs).
fn share_marginal_hysteresis(req: &CompactEvRequest, c: &mut Cands, mut remaining: f64) {
    let kk = c.kk;
    let mut group = std::mem::take(&mut c.group);
    group.clear();
    for i in (0..c.n_chosen).rev() {
        let p = c.chosen[i];
        if c.sel[0][p as usize].0 == kk {
            c.energy[p as usize] = 0.0;
            group.push(p);
        }
    }
    while remaining > EPS_WH {
        let mut pick = None;
        for &p in &group {
            let p = p as usize;
            if c.energy[p] > 0.0 {
                continue;
            }
            let (prev, next) = chosen_neighbours(req, c, p);
            if prev || next {
                pick = Some(p);
                break;
            }
            if pick.is_none() {
                pick = Some(p);
            }
        }
        let Some(p) = pick else { break };
        let take = c.cap(p).min(remaining);
        c.energy[p] = take;
        remaining -= take;
    }
    c.group = group;
}

/// Whether the partial charging in candidate `p` should sit at the end of its slot.
fn place_late(req: &CompactEvRequest, c: &Cands, p: usize) -> bool {
    let (prev, next) = chosen_neighbours(req, c, p);
    next || !prev
}

/// Writes the dispatches of the chosen candidates; returns the total grid energy, Wh.
fn emit(req: &CompactEvRequest, c: &Cands, tapered: bool, out: &mut CompactPlan) -> f64 {
    let pw = req.max_power_w as f64;
    let eta = req.charging_efficiency;
    let prices = &req.slots.import_price;
    let mut grid = 0.0;
    let mut cost = 0.0;
    // Full candidates of one duration have the same energies: round them once.
    let mut last = (-1i64, 0.0, 0.0, 0i64, 0i64);
    out.dispatches.reserve(c.n_chosen);
    for &p in &c.chosen[..c.n_chosen] {
        let p = p as usize;
        let slot = c.slot[p];
        let price = prices.get(slot as usize).copied().unwrap_or(0.0);
        let (key, d) = c.sel[0][p];
        if !c.explicit && key < c.kk {
            if d != last.0 {
                let energy = d as f64 * c.wh_per_ms;
                last = (
                    d,
                    energy,
                    energy / 1000.0,
                    round_i64(energy),
                    round_i64(energy * eta),
                );
            }
            let (_, energy, kwh, grid_wh, batt_wh) = last;
            grid += energy;
            cost += kwh * price;
            let (s0, e0) = c.span(req, p);
            out.dispatches.push(DispatchMs {
                slot,
                start_ms: s0,
                end_ms: e0,
                power_w: req.max_power_w,
                energy_from_grid_wh: grid_wh,
                energy_into_battery_wh: batt_wh,
            });
            continue;
        }
        let energy = c.energy_at(p);
        if energy <= EPS_WH {
            continue;
        }
        grid += energy;
        let (s0, e0) = c.span(req, p);
        let full = e0 - s0;
        let used = if tapered {
            c.used_ms[p].clamp(1, full)
        } else if energy >= c.cap(p) - EPS_WH {
            full
        } else {
            ((energy / pw * 3.6e6).ceil() as i64).clamp(1, full)
        };
        let (s, e) = if used >= full {
            (s0, e0)
        } else if place_late(req, c, p) {
            (e0 - used, e0)
        } else {
            (s0, s0 + used)
        };
        let power = if tapered {
            round_i64(energy / (used as f64 / 3.6e6)).min(req.max_power_w)
        } else {
            req.max_power_w
        };
        cost += energy / 1000.0 * price;
        out.dispatches.push(DispatchMs {
            slot,
            start_ms: s,
            end_ms: e,
            power_w: power,
            energy_from_grid_wh: round_i64(energy),
            energy_into_battery_wh: round_i64(energy * eta),
        });
    }
    out.total_cost += cost;
    grid
}
