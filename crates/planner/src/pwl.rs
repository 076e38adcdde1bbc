//! Continuous piecewise-linear functions of one variable on a closed interval, with the few
//! operations an exact dynamic programme over a continuous state needs: sums, the lower envelope
//! of two functions, the least value over a sliding window, and a change of variable by an
//! increasing affine map. Every operation is exact (up to floating point): the result's
//! breakpoints are the only places its slope changes.
//!
//! A function is stored as its breakpoints `(x, y)` with `x` strictly increasing; between two
//! breakpoints it is the straight line through them. A single breakpoint is a function on one
//! point. Evaluating outside the interval clamps to its ends (a guard against rounding, never
//! a way to extend a function).

/// Breakpoints closer than this (relative to the interval's scale) are merged.
const X_EPS: f64 = 1e-9;
/// A breakpoint whose value is within this (relative) of the line through its neighbours is
/// dropped by [`Pwl::simplify`].
const Y_EPS: f64 = 1e-10;

/// A continuous piecewise-linear function on `[points[0].0, points[last].0]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pwl {
    points: Vec<(f64, f64)>,
}

/// A straight line `y = slope · x + intercept`.
#[derive(Debug, Clone, Copy)]
struct Line {
    slope: f64,
    intercept: f64,
}

impl Line {
    fn through((x0, y0): (f64, f64), (x1, y1): (f64, f64)) -> Line {
        let slope = if x1 > x0 { (y1 - y0) / (x1 - x0) } else { 0.0 };
        Line {
            slope,
            intercept: y0 - slope * x0,
        }
    }

    fn constant(y: f64) -> Line {
        Line {
            slope: 0.0,
            intercept: y,
        }
    }

    fn at(&self, x: f64) -> f64 {
        self.slope * x + self.intercept
    }

    /// Where two lines cross, if they do strictly inside `(from, to)`.
    fn crossing(&self, other: &Line, from: f64, to: f64) -> Option<f64> {
        let ds = self.slope - other.slope;
        if ds == 0.0 {
            return None;
        }
        let x = (other.intercept - self.intercept) / ds;
        (x > from && x < to).then_some(x)
    }
}

/// Evaluates a function at rising `x` in amortised constant time.
struct Cursor<'a> {
    points: &'a [(f64, f64)],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn new(f: &'a Pwl) -> Cursor<'a> {
        Cursor {
            points: &f.points,
            i: 0,
        }
    }

    /// The value at `x`, which must not be left of the previous call's (clamped like
    /// [`Pwl::eval`]).
    fn at(&mut self, x: f64) -> f64 {
        let points = self.points;
        while self.i + 1 < points.len() && points[self.i + 1].0 < x {
            self.i += 1;
        }
        match (points.get(self.i), points.get(self.i + 1)) {
            (Some(&a), _) if x <= a.0 => a.1,
            (Some(&a), Some(&b)) => Line::through(a, b).at(x),
            (Some(&a), None) => a.1,
            (None, _) => f64::INFINITY,
        }
    }
}

impl Pwl {
    /// `y` everywhere on `[from, to]`.
    pub(crate) fn constant(from: f64, to: f64, y: f64) -> Pwl {
        Pwl::from_points(vec![(from, y), (to.max(from), y)])
    }

    /// The function through `points` (sorted by `x`; breakpoints that coincide are merged).
    pub(crate) fn from_points(points: Vec<(f64, f64)>) -> Pwl {
        let mut pwl = Pwl { points };
        pwl.dedup();
        pwl
    }

    pub(crate) fn from(&self) -> f64 {
        self.points.first().map_or(0.0, |p| p.0)
    }

    pub(crate) fn to(&self) -> f64 {
        self.points.last().map_or(0.0, |p| p.0)
    }

    pub(crate) fn points(&self) -> &[(f64, f64)] {
        &self.points
    }

    fn scale(&self) -> f64 {
        1.0 + self.from().abs().max(self.to().abs())
    }

    fn dedup(&mut self) {
        let eps = X_EPS * self.scale();
        let mut out: Vec<(f64, f64)> = Vec::with_capacity(self.points.len());
        for &(x, y) in &self.points {
            match out.last_mut() {
                Some(last) if x <= last.0 + eps => last.1 = last.1.min(y),
                _ => out.push((x, y)),
            }
        }
        self.points = out;
    }

    /// The value at `x` (clamped into the interval).
    pub(crate) fn eval(&self, x: f64) -> f64 {
        let points = &self.points;
        let Some(&(first_x, first_y)) = points.first() else {
            return f64::INFINITY;
        };
        if x <= first_x {
            return first_y;
        }
        let i = points.partition_point(|p| p.0 < x);
        match (points.get(i.wrapping_sub(1)), points.get(i)) {
            (Some(&a), Some(&b)) => Line::through(a, b).at(x),
            (_, Some(&b)) => b.1,
            (Some(&a), None) => a.1,
            (None, None) => f64::INFINITY,
        }
    }

    /// `self + other` on the intersection of their intervals (`None` if it is empty).
    pub(crate) fn add(&self, other: &Pwl) -> Option<Pwl> {
        let (from, to) = (self.from().max(other.from()), self.to().min(other.to()));
        if from > to + X_EPS * self.scale() {
            return None;
        }
        let xs = merged_xs([self, other], from, to.max(from));
        let (mut a, mut b) = (Cursor::new(self), Cursor::new(other));
        Some(Pwl::from_points(
            xs.into_iter().map(|x| (x, a.at(x) + b.at(x))).collect(),
        ))
    }

    /// `self + slope · x + intercept`.
    pub(crate) fn add_line(&self, slope: f64, intercept: f64) -> Pwl {
        Pwl {
            points: self
                .points
                .iter()
                .map(|&(x, y)| (x, y + slope * x + intercept))
                .collect(),
        }
    }

    /// The lower envelope `min(self, other)` on the intersection of their intervals.
    pub(crate) fn min(&self, other: &Pwl) -> Option<Pwl> {
        let (from, to) = (self.from().max(other.from()), self.to().min(other.to()));
        if from > to + X_EPS * self.scale() {
            return None;
        }
        let xs = merged_xs([self, other], from, to.max(from));
        let (mut fa, mut fb) = (Cursor::new(self), Cursor::new(other));
        let values: Vec<(f64, f64, f64)> = xs.iter().map(|&x| (x, fa.at(x), fb.at(x))).collect();
        let mut points = Vec::with_capacity(xs.len() + 4);
        for (i, &(x, a, b)) in values.iter().enumerate() {
            points.push((x, a.min(b)));
            if let Some(&(next, na, nb)) = values.get(i + 1)
                && (a - b) * (na - nb) < 0.0
            {
                let (la, lb) = (
                    Line::through((x, a), (next, na)),
                    Line::through((x, b), (next, nb)),
                );
                if let Some(c) = la.crossing(&lb, x, next) {
                    points.push((c, la.at(c)));
                }
            }
        }
        Some(Pwl::from_points(points))
    }

    /// `H(x) = min { self(y) : x ≤ y ≤ x + width }` for `x` in `[from, to]`, the window cut to
    /// the function's interval.
    pub(crate) fn window_min(&self, width: f64, from: f64, to: f64) -> Pwl {
        let width = width.max(0.0);
        let to = to.max(from);
        let points = &self.points;
        if points.len() < 2 {
            let y = points.first().map_or(f64::INFINITY, |p| p.1);
            return Pwl::constant(from, to, y);
        }
        let end = self.to();
        let (mut left, mut right) = (Cursor::new(self), Cursor::new(self));
        // Where the window's left end, its right end or a breakpoint entering or leaving it
        // changes what the least value is made of.
        let eps = X_EPS * self.scale();
        let xs = merge_sorted(
            points.iter().map(|p| p.0),
            points.iter().map(|p| p.0 - width),
            from,
            to,
            eps,
        );

        // The breakpoints strictly inside the window, as a deque of rising values (the least in
        // front) over a window that only moves right.
        let mut deque: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
        let mut next_in = 0usize;
        let mut out: Vec<(f64, f64)> = Vec::with_capacity(xs.len() * 2);
        for (i, &u) in xs.iter().enumerate() {
            let Some(&v) = xs.get(i + 1) else {
                let inner = inner_min(points, &mut deque, &mut next_in, u, width, eps);
                let value = left.at(u).min(right.at((u + width).min(end)));
                out.push((u, value.min(inner)));
                break;
            };
            let mid = 0.5 * (u + v);
            let inner = inner_min(points, &mut deque, &mut next_in, mid, width, eps);
            let (lu, lv) = (left.at(u), left.at(v));
            let (ru, rv) = (
                right.at((u + width).min(end)),
                right.at((v + width).min(end)),
            );
            let lines = [
                Line::through((u, lu), (v, lv)),
                Line::through((u, ru), (v, rv)),
                Line::constant(inner),
            ];
            let envelope = |x: f64| lines.iter().map(|l| l.at(x)).fold(f64::INFINITY, f64::min);
            out.push((u, envelope(u)));
            let mut crossings: Vec<f64> = Vec::new();
            for (a, la) in lines.iter().enumerate() {
                for lb in &lines[a + 1..] {
                    if let Some(c) = la.crossing(lb, u, v) {
                        crossings.push(c);
                    }
                }
            }
            crossings.sort_by(f64::total_cmp);
            for c in crossings {
                out.push((c, envelope(c)));
            }
        }
        Pwl::from_points(out)
    }

    /// `x ↦ self(a · x + b)` for `x` in `[from, to]`, with `a > 0`.
    pub(crate) fn compose(&self, a: f64, b: f64, from: f64, to: f64) -> Pwl {
        let to = to.max(from);
        let mut points = Vec::with_capacity(self.points.len() + 2);
        points.push((from, self.eval(a * from + b)));
        for &(y, value) in &self.points {
            let x = (y - b) / a;
            if x > from && x < to {
                points.push((x, value));
            }
        }
        points.push((to, self.eval(a * to + b)));
        Pwl::from_points(points)
    }

    /// Drops breakpoints where the slope does not change.
    pub(crate) fn simplify(&mut self) {
        if self.points.len() < 3 {
            return;
        }
        let mut out: Vec<(f64, f64)> = Vec::with_capacity(self.points.len());
        for i in 0..self.points.len() {
            let p = self.points[i];
            if let (Some(&before), Some(&after)) = (out.last(), self.points.get(i + 1)) {
                let line = Line::through(before, after);
                let tolerance = Y_EPS * (1.0 + p.1.abs());
                if (line.at(p.0) - p.1).abs() <= tolerance {
                    continue;
                }
            }
            out.push(p);
        }
        self.points = out;
    }
}

/// The least value among `points` strictly inside `(x, x + width)`, keeping `deque` and
/// `next_in` for the next, further right, window.
fn inner_min(
    points: &[(f64, f64)],
    deque: &mut std::collections::VecDeque<usize>,
    next_in: &mut usize,
    x: f64,
    width: f64,
    eps: f64,
) -> f64 {
    while let Some(&(px, py)) = points.get(*next_in) {
        if px >= x + width - eps {
            break;
        }
        while deque.back().is_some_and(|&j| points[j].1 >= py) {
            deque.pop_back();
        }
        deque.push_back(*next_in);
        *next_in += 1;
    }
    while deque.front().is_some_and(|&j| points[j].0 <= x + eps) {
        deque.pop_front();
    }
    deque.front().map_or(f64::INFINITY, |&j| points[j].1)
}

/// The breakpoints of `a` and `b` inside `[from, to]`, with both ends, sorted and merged.
fn merged_xs([a, b]: [&Pwl; 2], from: f64, to: f64) -> Vec<f64> {
    let eps = X_EPS * (1.0 + from.abs().max(to.abs()));
    merge_sorted(
        a.points.iter().map(|p| p.0),
        b.points.iter().map(|p| p.0),
        from,
        to,
        eps,
    )
}

/// `from`, the values of two rising sequences strictly between `from` and `to`, and `to`, in
/// order, values closer than `eps` to the previous one left out.
fn merge_sorted(
    a: impl Iterator<Item = f64>,
    b: impl Iterator<Item = f64>,
    from: f64,
    to: f64,
    eps: f64,
) -> Vec<f64> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    let mut xs = Vec::with_capacity(a.size_hint().0 + b.size_hint().0 + 2);
    xs.push(from);
    loop {
        let x = match (a.peek(), b.peek()) {
            (Some(&x), Some(&y)) if x <= y => a.next(),
            (Some(_), Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => None,
        };
        let Some(x) = x else { break };
        if x >= to - eps {
            break;
        }
        if x > xs[xs.len() - 1] + eps {
            xs.push(x);
        }
    }
    if to > xs[xs.len() - 1] + eps {
        xs.push(to);
    }
    xs
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    fn random_pwl(from: f64, ys: &[f64], steps: &[f64]) -> Pwl {
        let mut x = from;
        let mut points = Vec::new();
        for (y, step) in ys.iter().zip(steps) {
            points.push((x, *y));
            x += step;
        }
        Pwl::from_points(points)
    }

    fn grid(from: f64, to: f64, n: usize) -> impl Iterator<Item = f64> {
        (0..=n).map(move |i| from + (to - from) * i as f64 / n as f64)
    }

    #[test]
    fn evaluates_between_and_beyond_breakpoints() {
        let f = Pwl::from_points(vec![(0.0, 0.0), (1.0, 2.0), (3.0, 0.0)]);
        assert_eq!(f.eval(0.5), 1.0);
        assert_eq!(f.eval(2.0), 1.0);
        assert_eq!(f.eval(-1.0), 0.0);
        assert_eq!(f.eval(9.0), 0.0);
    }

    #[test]
    fn a_window_over_a_valley_finds_its_floor() {
        let f = Pwl::from_points(vec![(0.0, 5.0), (2.0, 1.0), (4.0, 5.0)]);
        let h = f.window_min(1.0, 0.0, 3.0);
        assert!((h.eval(0.0) - 3.0).abs() < 1e-12);
        assert!((h.eval(1.5) - 1.0).abs() < 1e-12);
        assert!((h.eval(3.0) - 3.0).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn operations_agree_with_pointwise_evaluation(
            ys in prop::collection::vec(-10.0f64..10.0, 2..12),
            steps in prop::collection::vec(0.05f64..2.0, 12),
            zs in prop::collection::vec(-10.0f64..10.0, 2..12),
            width in 0.0f64..3.0,
            a in 0.2f64..1.0,
            b in -2.0f64..2.0,
        ) {
            let f = random_pwl(0.0, &ys, &steps);
            let g = random_pwl(-1.0, &zs, &steps[1..]);
            let (from, to) = (f.from().max(g.from()), f.to().min(g.to()));
            if let (Some(sum), Some(low)) = (f.add(&g), f.min(&g)) {
                for x in grid(from, to, 97) {
                    prop_assert!((sum.eval(x) - (f.eval(x) + g.eval(x))).abs() < 1e-9);
                    prop_assert!((low.eval(x) - f.eval(x).min(g.eval(x))).abs() < 1e-9);
                }
            }
            // The windowed minimum against a fine scan of each window (the scan also visits
            // every breakpoint inside it).
            let (wf, wt) = (f.from(), (f.to() - width).max(f.from()));
            let h = f.window_min(width, wf, wt);
            for x in grid(wf, wt, 41) {
                let hi = (x + width).min(f.to());
                let mut best = f.eval(x).min(f.eval(hi));
                for &(px, py) in f.points() {
                    if px >= x && px <= hi {
                        best = best.min(py);
                    }
                }
                prop_assert!((h.eval(x) - best).abs() < 1e-9, "x {x}: {} vs {best}", h.eval(x));
            }
            let (cf, ct) = ((f.from() - b) / a, (f.to() - b) / a);
            let c = f.compose(a, b, cf, ct);
            for x in grid(cf, ct, 53) {
                prop_assert!((c.eval(x) - f.eval(a * x + b)).abs() < 1e-9);
            }
            let mut s = sum_or(&f, &g);
            let before: Vec<f64> = grid(s.from(), s.to(), 31).map(|x| s.eval(x)).collect();
            s.simplify();
            for (x, y) in grid(s.from(), s.to(), 31).zip(before) {
                prop_assert!((s.eval(x) - y).abs() < 1e-8);
            }
        }
    }

    fn sum_or(f: &Pwl, g: &Pwl) -> Pwl {
        f.add(g).unwrap_or_else(|| f.clone())
    }
}
