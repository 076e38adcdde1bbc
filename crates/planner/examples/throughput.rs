//! Single-thread planner throughput on the benchmark requests (96 slots, no taper).
//!
//! `cargo run -p resiflex-planner --release --example throughput [seconds]`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use resiflex_planner::{
    CompactEvRequest, CompactPlan, EvPlan, PlanScratch, bench_plans, bench_requests_compact,
    plan_compact_with, plan_with,
};

/// Requests per pass: 1024 (about 3 MB of slots, more than the L2 cache) unless `N` is set.
fn n() -> usize {
    std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024)
}

/// On-CPU time of this thread, ns (Linux); `None` elsewhere.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Plans per second of wall-clock time and of on-CPU time (the latter ignores time the thread
/// spent descheduled on a busy machine).
fn rate(min: Duration, mut one_pass: impl FnMut()) -> (f64, f64) {
    one_pass();
    let c0 = cpu_ns();
    let t0 = Instant::now();
    let mut passes = 0u64;
    while t0.elapsed() < min {
        one_pass();
        passes += 1;
    }
    let wall = t0.elapsed().as_secs_f64();
    let plans = (passes * n() as u64) as f64;
    let cpu = match (c0, cpu_ns()) {
        (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e9,
        _ => wall,
    };
    (plans / wall, plans / cpu)
}

fn show(name: &str, (wall, cpu): (f64, f64)) {
    println!("{name:<28} {wall:>10.0} plans/s wall, {cpu:>10.0} plans/s on-CPU");
}

fn with_step(reqs: &[CompactEvRequest], step: f64) -> Vec<CompactEvRequest> {
    reqs.iter()
        .cloned()
        .map(|mut r| {
            r.min_price_step = step;
            r
        })
        .collect()
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2.0);
    let min = Duration::from_secs_f64(secs);
    let compact = bench_requests_compact(n(), 42);
    let mut s = PlanScratch::default();
    let mut out = CompactPlan::default();
    for (name, reqs) in [
        ("compact, hysteresis off", with_step(&compact, 0.0)),
        ("compact, hysteresis on", with_step(&compact, 0.5)),
        ("compact, generator mix", compact.clone()),
    ] {
        if std::env::var("ONLY").is_ok_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        let r = rate(min, || {
            for q in &reqs {
                plan_compact_with(black_box(q), &mut s, &mut out);
                black_box(&out);
            }
        });
        show(name, r);
    }
    if std::env::var("ONLY").is_ok() {
        return;
    }
    let reqs = bench_plans(n(), 42);
    let mut out = EvPlan::default();
    let r = rate(min, || {
        for q in &reqs {
            plan_with(black_box(q), &mut s, &mut out);
            black_box(&out);
        }
    });
    show("plan_with (DateTime), mix", r);
}
