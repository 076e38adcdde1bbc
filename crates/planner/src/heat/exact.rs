//! The exact plan of a heat pump alone behind its connection: a dynamic programme over the indoor
//! temperature, which is continuous, with value functions that are piecewise linear.
//!
//! The problem is the household model's heat-pump part (see [`crate::household`]) with no car
//! and no battery: per slot the power is 0 or within `[min, max]` (the modulation floor), runs
//! and rests last at least their minimum, the building follows its exact linear step
//! `T' = a·T + b·out + k·p`, leaving the comfort band costs the penalty per degree-hour, and the
//! slot's grid cost is the convex piecewise-linear function of the power that import and export
//! prices, the connection's limit and the option to turn solar down make of it.
//!
//! The state before a slot is the indoor temperature and the *mode*: running for `r` slots
//! (`1..=run`, `run` meaning "long enough to stop") or resting for `s` slots (`0..=rest`). The
//! cost-to-go `V_t,mode(T)` is continuous and piecewise linear in `T` (a minimum of such
//! functions, not convex), and one step back is exact:
//! `V_t(T) = min over actions of min_{p in range} f_t(p) + pen_t(T') + V_t+1(T')`. On a piece of
//! `f_t` with slope `s` the inner minimum is, with `y = T'`, the least value of
//! `G(y) = W(y) + (s/k)·y` over a window of `y` of fixed width whose start moves with `T`: a
//! sliding-window minimum of a piecewise-linear function ([`Pwl::window_min`]) composed with an
//! affine map. No discretisation is involved, so the plan is optimal, not approximately so
//! (the property tests compare it with the MILP on random homes).

use std::time::Instant;

use crate::energy::{EnergySlot, GridConnection};
use crate::heat::{ComfortSlot, HeatPumpModel};
use crate::pwl::Pwl;

/// The plan: the heat pump's power and the solar turned down per slot, kW, and its cost with the
/// comfort penalties (the MILP's objective for the same home).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HeatSchedule {
    pub power_kw: Vec<f64>,
    pub curtail_kw: Vec<f64>,
    pub objective: f64,
}

/// What one slot costs at the grid as a function of the heat pump's power, and how much solar
/// is turned down for it.
struct SlotCost {
    /// Grid cost (currency) over `p` in kW, on the powers the connection allows.
    cost: Pwl,
    net_kw: f64,
    solar_kw: f64,
    /// Where the grid exchange is cheapest, kW (what curtailment aims for).
    best_kw: f64,
    cap_kw: f64,
    export_cap_kw: f64,
}

impl SlotCost {
    fn new(slot: &EnergySlot, grid: &GridConnection, max_kw: f64) -> Option<SlotCost> {
        let h = slot.hours();
        let net_kw = (slot.base_load_w - slot.solar_w) / 1000.0;
        let solar_kw = slot.solar_w.max(0.0) / 1000.0;
        let limit = grid.limit_w / 1000.0;
        let cap_kw = limit.max(net_kw);
        let export_cap_kw = limit;
        let import = grid.effective_import_price(slot);
        let export = slot.export_price.min(import);
        let best_kw = if import < 0.0 {
            cap_kw
        } else if export < 0.0 {
            0.0
        } else {
            -export_cap_kw
        };
        let lowest = (-export_cap_kw - solar_kw - net_kw).max(0.0);
        let highest = (cap_kw - net_kw).min(max_kw);
        if highest < lowest {
            return None;
        }
        let mut this = SlotCost {
            cost: Pwl::constant(0.0, 0.0, 0.0),
            net_kw,
            solar_kw,
            best_kw,
            cap_kw,
            export_cap_kw,
        };
        let grid_cost = |g: f64| h * if g >= 0.0 { import * g } else { export * g };
        let mut ps: Vec<f64> = vec![lowest, highest];
        for g in [
            0.0,
            -solar_kw,
            best_kw,
            best_kw - solar_kw,
            -export_cap_kw,
            -export_cap_kw - solar_kw,
            cap_kw,
            cap_kw - solar_kw,
        ] {
            let p = g - net_kw;
            if p > lowest && p < highest {
                ps.push(p);
            }
        }
        ps.sort_by(f64::total_cmp);
        this.cost = Pwl::from_points(
            ps.iter()
                .map(|&p| (p, grid_cost(net_kw + p + this.curtail_kw(p))))
                .collect(),
        );
        Some(this)
    }

    /// The solar turned down when the heat pump draws `p` kW.
    fn curtail_kw(&self, p: f64) -> f64 {
        let g = self.net_kw + p;
        let from = g.max(-self.export_cap_kw);
        let to = (g + self.solar_kw).min(self.cap_kw);
        (self.best_kw.clamp(from, to.max(from)) - g).clamp(0.0, self.solar_kw)
    }
}

/// The mode before a slot and what may follow it.
#[derive(Debug, Clone, Copy)]
struct Modes {
    run: usize,
    rest: usize,
    switching: bool,
}

impl Modes {
    fn count(&self) -> usize {
        if self.switching {
            self.run + self.rest + 1
        } else {
            1
        }
    }

    fn on(&self, r: usize) -> usize {
        r.clamp(1, self.run) - 1
    }

    fn off(&self, s: usize) -> usize {
        self.run + s.min(self.rest)
    }

    fn initial(&self, running_for_slots: i64) -> usize {
        if !self.switching {
            0
        } else if running_for_slots > 0 {
            self.on(running_for_slots.unsigned_abs() as usize)
        } else {
            self.off(running_for_slots.unsigned_abs() as usize)
        }
    }

    /// `(on, next mode)` for each action the mode allows.
    fn actions(&self, mode: usize) -> Vec<(bool, usize)> {
        if !self.switching {
            return vec![(true, 0)];
        }
        if mode < self.run {
            let r = mode + 1;
            let mut actions = vec![(true, self.on(r + 1))];
            if r >= self.run {
                actions.push((false, self.off(1)));
            }
            actions
        } else {
            let s = mode - self.run;
            let mut actions = vec![(false, self.off(s + 1))];
            if s >= self.rest {
                actions.push((true, self.on(1)));
            }
            actions
        }
    }
}

/// One slot's building step and power ranges.
struct Step {
    a: f64,
    b_out: f64,
    /// Temperature per kW over the slot.
    k: f64,
    on: (f64, f64),
    off: (f64, f64),
    cost: SlotCost,
    penalty: Pwl,
}

/// Plans the heat pump alone, exactly; `None` when `deadline` passes first or the input has no
/// plan (a connection too small for even the heat pump at rest).
pub(crate) fn plan_alone(
    model: &HeatPumpModel,
    slots: &[EnergySlot],
    comfort: &[ComfortSlot],
    grid: &GridConnection,
    deadline: Instant,
) -> Option<HeatSchedule> {
    let n = slots.len();
    if n == 0 || comfort.len() != n {
        return None;
    }
    let max_kw = model.max_power_w / 1000.0;
    let min_kw = model.min_power_w / 1000.0;
    let modes = Modes {
        run: model.min_run_slots.max(1),
        rest: model.min_off_slots.max(1),
        switching: max_kw > 0.0
            && (model.min_power_w > 0.0 || model.min_run_slots > 1 || model.min_off_slots > 1),
    };
    let on_range = if modes.switching {
        (min_kw, max_kw)
    } else {
        (0.0, max_kw)
    };

    // Every temperature reachable before each slot.
    let mut domains = Vec::with_capacity(n + 1);
    domains.push((model.indoor_c, model.indoor_c));
    let mut steps = Vec::with_capacity(n);
    for (slot, band) in slots.iter().zip(comfort) {
        let h = slot.hours();
        let coefficients = model.building.step_coefficients(h);
        let k = 1000.0 * model.heat_per_watt(band.outdoor_c) * coefficients.c;
        let b_out = coefficients.b * band.outdoor_c;
        let (lo, hi) = domains[domains.len() - 1];
        let next = (
            coefficients.a * lo + b_out + (k * max_kw).min(0.0),
            coefficients.a * hi + b_out + (k * max_kw).max(0.0),
        );
        domains.push(next);
        let cost = SlotCost::new(slot, grid, max_kw)?;
        let weight = model.comfort_penalty_per_c_h * h;
        let (min_c, max_c) = (band.min_c, band.max_c.max(band.min_c));
        let penalty = penalty(next, min_c, max_c, weight);
        steps.push(Step {
            a: coefficients.a,
            b_out,
            k,
            on: on_range,
            off: (0.0, 0.0),
            cost,
            penalty,
        });
    }

    // Backwards: the cost-to-go before each slot, per mode.
    let count = modes.count();
    let mut values: Vec<Vec<Option<Pwl>>> = vec![Vec::new(); n + 1];
    let (last_lo, last_hi) = domains[n];
    values[n] = vec![Some(Pwl::constant(last_lo, last_hi, 0.0)); count];
    // Which modes can be the state before each slot (a rest owed at the start, say, only at
    // the start): the others are never computed.
    let mut reachable = vec![vec![false; count]; n + 1];
    reachable[0][modes.initial(model.running_for_slots)] = true;
    for t in 0..n {
        for mode in 0..count {
            if reachable[t][mode] {
                for (_, next) in modes.actions(mode) {
                    reachable[t + 1][next] = true;
                }
            }
        }
    }
    for t in (0..n).rev() {
        if Instant::now() > deadline {
            return None;
        }
        let step = &steps[t];
        let after: Vec<Option<Pwl>> = values[t + 1]
            .iter()
            .zip(&reachable[t + 1])
            .map(|(v, &r)| v.as_ref().filter(|_| r).and_then(|v| v.add(&step.penalty)))
            .collect();
        let mut by_action: Vec<[Option<Pwl>; 2]> = vec![[None, None]; count];
        let mut current = Vec::with_capacity(count);
        for (mode, &reached) in reachable[t].iter().enumerate() {
            let mut best: Option<Pwl> = None;
            if !reached {
                current.push(None);
                continue;
            }
            for (on, next) in modes.actions(mode) {
                let slot = &mut by_action[next][usize::from(on)];
                if slot.is_none() {
                    let range = if on { step.on } else { step.off };
                    *slot = after[next]
                        .as_ref()
                        .and_then(|w| backward(step, range, w, domains[t]));
                }
                if let Some(candidate) = slot.as_ref() {
                    best = Some(match best {
                        None => candidate.clone(),
                        Some(b) => b.min(candidate).unwrap_or(b),
                    });
                }
            }
            if let Some(b) = best.as_mut() {
                b.simplify();
            }
            current.push(best);
        }
        values[t] = current;
    }

    // Forwards: follow the cheapest action from the temperature now.
    let mut temperature = model.indoor_c;
    let mut mode = modes.initial(model.running_for_slots);
    let mut power_kw = Vec::with_capacity(n);
    let mut curtail_kw = Vec::with_capacity(n);
    let mut objective = 0.0;
    for (t, step) in steps.iter().enumerate() {
        let alpha = step.a * temperature + step.b_out;
        let mut best: Option<(f64, f64, usize)> = None;
        for (on, next) in modes.actions(mode) {
            let Some(w) = values[t + 1][next]
                .as_ref()
                .and_then(|v| v.add(&step.penalty))
            else {
                continue;
            };
            let range = if on { step.on } else { step.off };
            for p in candidates(step, range, &w, alpha) {
                let total = step.cost.cost.eval(p) + w.eval(alpha + step.k * p);
                if best.is_none_or(|(b, _, _)| total < b) {
                    best = Some((total, p, next));
                }
            }
        }
        let (_, p, next) = best?;
        temperature = alpha + step.k * p;
        objective += step.cost.cost.eval(p) + step.penalty.eval(temperature);
        power_kw.push(p);
        curtail_kw.push(step.cost.curtail_kw(p));
        mode = next;
    }
    Some(HeatSchedule {
        power_kw,
        curtail_kw,
        objective,
    })
}

/// `weight · (max(0, min − T) + max(0, T − max))` on `domain`.
fn penalty((lo, hi): (f64, f64), min_c: f64, max_c: f64, weight: f64) -> Pwl {
    let value = |t: f64| weight * ((min_c - t).max(0.0) + (t - max_c).max(0.0));
    let mut xs = vec![lo, hi.max(lo)];
    xs.extend([min_c, max_c].into_iter().filter(|&x| x > lo && x < hi));
    xs.sort_by(f64::total_cmp);
    Pwl::from_points(xs.into_iter().map(|x| (x, value(x))).collect())
}

/// The power range `range` cut to what the slot's connection allows, if anything is left.
fn allowed(step: &Step, (lo, hi): (f64, f64)) -> Option<(f64, f64)> {
    let (from, to) = (lo.max(step.cost.cost.from()), hi.min(step.cost.cost.to()));
    (from <= to).then_some((from, to))
}

/// The cost of one action from every temperature of `domain`: the least, over `range`, of the
/// slot's grid cost plus `w` (penalty and cost-to-go) at the temperature the power leads to.
fn backward(step: &Step, range: (f64, f64), w: &Pwl, domain: (f64, f64)) -> Option<Pwl> {
    let (from, to) = allowed(step, range)?;
    let (lo, hi) = domain;
    let mut best: Option<Pwl> = None;
    let pieces = pieces(&step.cost.cost, from, to);
    for (p1, p2, f1, slope) in pieces {
        let candidate = if p2 - p1 <= 1e-12 || step.k == 0.0 {
            // No choice of temperature: the cheaper end of the piece.
            let cheapest = f1.min(f1 + slope * (p2 - p1));
            w.compose(step.a, step.b_out + step.k * p1, lo, hi)
                .add_line(0.0, cheapest)
        } else {
            let ratio = slope / step.k;
            let g = w.add_line(ratio, 0.0);
            let start = if step.k > 0.0 { p1 } else { p2 };
            let shift = step.b_out + step.k * start;
            let width = step.k.abs() * (p2 - p1);
            let h = g.window_min(width, step.a * lo + shift, step.a * hi + shift);
            h.compose(step.a, shift, lo, hi)
                .add_line(-ratio * step.a, f1 - slope * p1 - ratio * step.b_out)
        };
        best = Some(match best {
            None => candidate,
            Some(b) => b.min(&candidate).unwrap_or(b),
        });
    }
    best
}

/// The linear pieces of `f` within `[from, to]`: `(p1, p2, f(p1), slope)`.
fn pieces(f: &Pwl, from: f64, to: f64) -> Vec<(f64, f64, f64, f64)> {
    let mut xs: Vec<f64> = vec![from];
    xs.extend(
        f.points()
            .iter()
            .map(|p| p.0)
            .filter(|&x| x > from && x < to),
    );
    xs.push(to);
    if to <= from {
        return vec![(from, from, f.eval(from), 0.0)];
    }
    xs.windows(2)
        .map(|w| {
            let (y1, y2) = (f.eval(w[0]), f.eval(w[1]));
            let slope = if w[1] > w[0] {
                (y2 - y1) / (w[1] - w[0])
            } else {
                0.0
            };
            (w[0], w[1], y1, slope)
        })
        .collect()
}

/// The powers at which the cost of an action from temperature `alpha` (before the heat) can be
/// least: the ends of the range, the grid cost's kinks, and the powers that reach a kink of `w`.
fn candidates(step: &Step, range: (f64, f64), w: &Pwl, alpha: f64) -> Vec<f64> {
    let Some((from, to)) = allowed(step, range) else {
        return Vec::new();
    };
    let mut ps = vec![from, to];
    ps.extend(
        step.cost
            .cost
            .points()
            .iter()
            .map(|p| p.0)
            .filter(|&p| p > from && p < to),
    );
    if step.k != 0.0 {
        ps.extend(
            w.points()
                .iter()
                .map(|&(y, _)| (y - alpha) / step.k)
                .filter(|&p| p > from && p < to),
        );
    }
    ps
}
