//! Tapered charging: closed-form SoC trajectory and the O(n·K) DP (see crate docs).

use crate::{Cand, CompactEvRequest, EPS_WH, TAPER_MAX_STEPS, TAPER_MIN_STEP_WH, Taper};

/// Battery-side charging model. Energies are battery Wh measured from empty.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Model {
    /// Current battery energy.
    pub x0: f64,
    /// Taper threshold.
    pub xa: f64,
    /// Fractional power loss per Wh above the threshold.
    pub k: f64,
    /// Battery power at full charger power, W.
    pub pb: f64,
    pub eta: f64,
}

impl Model {
    pub fn new(req: &CompactEvRequest, t: Taper) -> Self {
        let cap = req.battery_capacity_wh as f64;
        let xa = t.from_soc_pct / 100.0 * cap;
        let f = (t.power_at_full_pct / 100.0).clamp(0.0, 1.0);
        Self {
            x0: req.current_soc_pct / 100.0 * cap,
            xa,
            k: (1.0 - f) / (cap - xa),
            pb: req.charging_efficiency * req.max_power_w as f64,
            eta: req.charging_efficiency,
        }
    }

    /// Battery power available at battery energy `x`, W (grid power × efficiency).
    #[cfg(test)]
    pub fn power_at(&self, x: f64) -> f64 {
        if x <= self.xa {
            self.pb
        } else {
            self.pb * (1.0 - self.k * (x - self.xa)).max(0.0)
        }
    }

    /// Battery energy after charging at full available power for `h` hours from `x`.
    pub fn reach(&self, mut x: f64, mut h: f64) -> f64 {
        if x < self.xa {
            let t1 = (self.xa - x) / self.pb;
            if h <= t1 {
                return x + self.pb * h;
            }
            h -= t1;
            x = self.xa;
        }
        if self.k <= 0.0 {
            return x + self.pb * h;
        }
        let y0 = 1.0 - self.k * (x - self.xa);
        let y = y0 * (-self.k * self.pb * h).exp();
        self.xa + (1.0 - y) / self.k
    }

    /// Hours needed to charge from `a` to `b` at full available power.
    pub fn hours(&self, mut a: f64, b: f64) -> f64 {
        let mut t = 0.0;
        if a < self.xa {
            let m = b.min(self.xa);
            t += (m - a).max(0.0) / self.pb;
            a = self.xa;
        }
        if b > a {
            if self.k <= 0.0 {
                t += (b - a) / self.pb;
            } else {
                let ya = 1.0 - self.k * (a - self.xa);
                let yb = 1.0 - self.k * (b - self.xa);
                t += (ya / yb).ln() / (self.k * self.pb);
            }
        }
        t
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct TaperScratch {
    v: Vec<f64>,
    next: Vec<f64>,
    choice: Vec<u32>,
    dq: Vec<u32>,
}

fn set_segment(m: &Model, c: &mut Cand, a: f64, b: f64) {
    c.energy = (b - a) / m.eta;
    let h = if b > a { m.hours(a, b) } else { 0.0 };
    c.used_ms = if h.is_finite() {
        (h * 3.6e6).ceil() as i64
    } else {
        i64::MAX
    };
}

/// Charges every slot at full power as early as possible, stopping at `xt`. Returns the final
/// battery energy.
pub(crate) fn asap(m: &Model, cands: &mut [Cand], xt: f64) -> f64 {
    let mut x = m.x0;
    for c in cands.iter_mut() {
        let nx = m.reach(x, c.hours()).min(xt);
        set_segment(m, c, x, nx);
        x = nx;
    }
    x
}

/// The DP step count for a need of `need` battery Wh (`steps > 0` overrides it).
pub(crate) fn step_count(need: f64, steps: usize) -> usize {
    if steps > 0 {
        steps
    } else {
        ((need / TAPER_MIN_STEP_WH).ceil() as usize).clamp(1, TAPER_MAX_STEPS)
    }
}

/// The grid index reached from index `j` in a slot of `h` hours.
pub(crate) fn reach_index(m: &Model, j: usize, delta: f64, h: f64, k: usize) -> usize {
    let x = m.x0 + j as f64 * delta;
    let r = ((m.reach(x, h) - m.x0) / delta + 1e-9).floor();
    if r >= k as f64 {
        k
    } else {
        (r.max(0.0) as usize).max(j)
    }
}

/// Plans `need` battery Wh under taper. Returns whether the target is reached. `steps = 0` picks
/// the default resolution.
pub(crate) fn plan_taper(
    m: &Model,
    cands: &mut [Cand],
    s: &mut TaperScratch,
    need: f64,
    steps: usize,
) -> bool {
    let xt = m.x0 + need;
    let reached = asap(m, cands, xt);
    if reached < xt - EPS_WH {
        return false;
    }
    let k = step_count(need, steps);
    let delta = need / k as f64;
    let n = cands.len();
    s.next.clear();
    s.next.resize(k + 1, f64::INFINITY);
    s.next[k] = 0.0;
    s.v.clear();
    s.v.resize(k + 1, f64::INFINITY);
    s.choice.clear();
    s.choice.resize(n * (k + 1), 0);
    for i in (0..n).rev() {
        let c = &cands[i];
        let h = c.hours();
        let unit = c.eff * delta / m.eta / 1000.0;
        let w = |jp: usize, next: &[f64]| unit * jp as f64 + next[jp];
        s.dq.clear();
        let mut head = 0usize;
        let mut nxt = 0usize;
        for j in 0..=k {
            let r = reach_index(m, j, delta, h, k);
            while nxt <= r {
                let wn = w(nxt, &s.next);
                while s.dq.len() > head {
                    let Some(&last) = s.dq.last() else { break };
                    if w(last as usize, &s.next) > wn {
                        s.dq.pop();
                    } else {
                        break;
                    }
                }
                s.dq.push(nxt as u32);
                nxt += 1;
            }
            while head < s.dq.len() && (s.dq[head] as usize) < j {
                head += 1;
            }
            let best = s.dq.get(head).map_or(j, |&b| b as usize);
            s.v[j] = w(best, &s.next) - unit * j as f64;
            s.choice[i * (k + 1) + j] = best as u32;
        }
        std::mem::swap(&mut s.v, &mut s.next);
    }
    if !s.next[0].is_finite() {
        // Grid rounding lost the target; the ASAP plan (already set) reaches it.
        return true;
    }
    let mut j = 0usize;
    for (i, c) in cands.iter_mut().enumerate() {
        let jp = s.choice[i * (k + 1) + j] as usize;
        let a = m.x0 + j as f64 * delta;
        let b = if jp == k {
            xt
        } else {
            m.x0 + jp as f64 * delta
        };
        set_segment(m, c, a, b);
        j = jp;
    }
    true
}
