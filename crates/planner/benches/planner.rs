//! Planner throughput on random 96-slot requests (no taper), one thread, the fleet solver, home
//! batteries and the household plan.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{BatchSize, Criterion, Throughput, black_box, criterion_group, criterion_main};
use resiflex_planner::{
    BatteryPlan, BatteryPlanRequest, BatteryScratch, CompactEvRequest, CompactPlan, EvPlan,
    FleetOptions, PlanScratch, Taper, bench_battery_requests, bench_fleet, bench_plans,
    bench_requests_compact, plan_compact_with, plan_fleet, plan_into, plan_with,
};

const N: usize = 1024;

fn with_step(reqs: &[CompactEvRequest], step: f64) -> Vec<CompactEvRequest> {
    reqs.iter()
        .cloned()
        .map(|mut r| {
            r.min_price_step = step;
            r
        })
        .collect()
}

fn compact_pass(reqs: &[CompactEvRequest], s: &mut PlanScratch, out: &mut CompactPlan) {
    for r in reqs {
        plan_compact_with(black_box(r), s, out);
        black_box(&*out);
    }
}

fn bench(c: &mut Criterion) {
    // The fast path: compact requests (uniform 15-minute grid, ms timestamps), 1024 of them
    // (about 1.5 MB of prices and carbon), so the working set does not sit in L1/L2.
    let compact = bench_requests_compact(N, 42);
    let mut g = c.benchmark_group("planner_96_slots_compact");
    g.throughput(Throughput::Elements(N as u64));
    for (name, reqs) in [
        ("hysteresis off", with_step(&compact, 0.0)),
        ("hysteresis on (step 0.5)", with_step(&compact, 0.5)),
        ("generator mix (1/3 hysteresis)", compact.clone()),
    ] {
        g.bench_function(name, |b| {
            let mut s = PlanScratch::default();
            let mut out = CompactPlan::default();
            b.iter(|| compact_pass(&reqs, &mut s, &mut out))
        });
    }
    g.finish();

    // Cache-resident working set: 64 requests.
    let mut g = c.benchmark_group("planner_96_slots_compact_hot_cache");
    g.throughput(Throughput::Elements(64));
    for (name, step) in [("hysteresis off", 0.0), ("hysteresis on (step 0.5)", 0.5)] {
        let reqs = with_step(&compact[..64], step);
        g.bench_function(name, |b| {
            let mut s = PlanScratch::default();
            let mut out = CompactPlan::default();
            b.iter(|| compact_pass(&reqs, &mut s, &mut out))
        });
    }
    g.finish();

    // The DateTime API (converts to the compact form and back).
    let reqs = bench_plans(N, 42);
    let mut g = c.benchmark_group("planner_96_slots_datetime");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("plan_with (no alloc)", |b| {
        let mut s = PlanScratch::default();
        let mut out = EvPlan::default();
        b.iter(|| {
            for r in &reqs {
                plan_with(black_box(r), &mut s, &mut out);
                black_box(&out);
            }
        })
    });
    g.bench_function("plan_into (one alloc)", |b| {
        let mut s = PlanScratch::default();
        b.iter(|| {
            for r in &reqs {
                black_box(plan_into(black_box(r), &mut s));
            }
        })
    });
    g.finish();

    let tapered: Vec<_> = reqs
        .iter()
        .take(64)
        .cloned()
        .map(|mut r| {
            r.taper = Some(Taper {
                from_soc_pct: 70.0,
                power_at_full_pct: 20.0,
            });
            r
        })
        .collect();
    let mut g = c.benchmark_group("planner_96_slots_taper");
    g.throughput(Throughput::Elements(tapered.len() as u64));
    g.bench_function("plan_with taper DP", |b| {
        let mut s = PlanScratch::default();
        let mut out = EvPlan::default();
        b.iter(|| {
            for r in &tapered {
                plan_with(black_box(r), &mut s, &mut out);
                black_box(&out);
            }
        })
    });
    g.finish();
}

fn fleet(c: &mut Criterion) {
    let mut g = c.benchmark_group("fleet_100_devices_96_slots");
    g.sample_size(20);
    let opts = FleetOptions::default();
    for (name, zone_w) in [
        ("zone 80 kW (most devices short)", 80_000.0),
        ("zone 150 kW (binding in cheap slots)", 150_000.0),
        ("zone 400 kW (never binding)", 400_000.0),
    ] {
        let req = bench_fleet(100, 96, zone_w, 1);
        g.bench_function(name, |b| {
            b.iter_batched(
                || (),
                |()| black_box(plan_fleet(black_box(&req), &opts, &mut || false)),
                BatchSize::SmallInput,
            )
        });
    }
    let req = bench_fleet(100, 96, 150_000.0, 1);
    g.bench_function("fallback only (stopped at once), zone 150 kW", |b| {
        b.iter(|| black_box(plan_fleet(black_box(&req), &opts, &mut || true)))
    });
    g.finish();
}

fn battery(c: &mut Criterion) {
    // 96 half-hour slots, 200 SoC steps; per-element time is one plan.
    let mixed = bench_battery_requests(64, 42);
    let with_cap = |cap: Option<usize>| -> Vec<BatteryPlanRequest> {
        mixed
            .iter()
            .cloned()
            .map(|mut r| {
                r.battery.max_continuous_slots = cap;
                r
            })
            .collect()
    };
    let mut g = c.benchmark_group("battery_96_slots");
    g.throughput(Throughput::Elements(mixed.len() as u64));
    for (name, reqs) in [
        ("generator mix (1/4 capped at 4-8 slots)", mixed.clone()),
        ("no run-length cap", with_cap(None)),
        ("run-length cap 6", with_cap(Some(6))),
    ] {
        g.bench_function(name, |b| {
            let mut s = BatteryScratch::default();
            let mut out = BatteryPlan::default();
            b.iter(|| {
                for r in &reqs {
                    resiflex_planner::plan_battery_with(black_box(r), &mut s, &mut out);
                    black_box(&out);
                }
            })
        });
    }
    g.finish();
}

fn household(c: &mut Criterion) {
    // A car, a heat pump and a battery over 48 half-hours (the MILP), and the heat pump alone
    // (its dynamic programme); per-element time is one plan. The time limit is raised so that
    // every plan is proven optimal and the figures are the solver's, not the limit's.
    let raise = |mut r: resiflex_planner::household::HouseholdRequest| {
        r.time_limit = std::time::Duration::from_secs(60);
        r
    };
    let joint: Vec<_> = resiflex_planner::bench_household_requests(32, 300)
        .into_iter()
        .map(raise)
        .collect();
    let heat: Vec<_> = resiflex_planner::bench_heat_requests(32, 300)
        .into_iter()
        .map(raise)
        .collect();
    let mut g = c.benchmark_group("household_48_slots");
    g.sample_size(10);
    for (name, reqs) in [
        ("car, heat pump and battery", &joint),
        ("heat pump alone", &heat),
    ] {
        g.throughput(Throughput::Elements(reqs.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                for r in reqs {
                    black_box(resiflex_planner::household::plan_household(black_box(r)));
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench, fleet, battery, household);
criterion_main!(benches);
