//! Times the fleet solver on a random zone, with a wall-clock budget backed by `Instant`.
//!
//! `cargo run -p resiflex-planner --release --example fleet [devices] [slots] [zone kW] [budget ms]`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use resiflex_planner::{FleetOptions, PlanReason, bench_fleet, plan_fleet};

fn main() {
    let arg = |i: usize, d: f64| -> f64 {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(d)
    };
    let (devices, slots) = (arg(1, 100.0) as usize, arg(2, 96.0) as usize);
    let zone_w = arg(3, 150.0) * 1000.0;
    let budget = Duration::from_millis(arg(4, 10_000.0) as u64);
    let req = bench_fleet(devices, slots, zone_w, 1);
    let opts = FleetOptions::default();
    let mut times = Vec::new();
    let mut plan = None;
    for _ in 0..5 {
        let t0 = Instant::now();
        let deadline = t0 + budget;
        let p = plan_fleet(&req, &opts, &mut || Instant::now() >= deadline);
        times.push(t0.elapsed());
        plan = Some(p);
    }
    let plan = plan.unwrap();
    times.sort();
    let reached = plan.devices.iter().filter(|d| d.target_reached).count();
    let limited = plan
        .devices
        .iter()
        .filter(|d| d.reason == PlanReason::ZoneLimited)
        .count();
    let binding = plan
        .zone_load_mwh
        .iter()
        .zip(&plan.zone_limit_mwh)
        .filter(|(l, z)| l == z)
        .count();
    println!(
        "{devices} devices x {slots} slots, zone {:.0} kW: median {:?} (min {:?}), {} augmentations, \
         optimal {}, fallback {}, cost {:.2}, {reached} reached, {limited} zone-limited, \
         {binding} slots at the limit",
        zone_w / 1000.0,
        times[times.len() / 2],
        times[0],
        plan.augmentations,
        plan.optimal,
        plan.fallback,
        plan.total_cost
    );
}
