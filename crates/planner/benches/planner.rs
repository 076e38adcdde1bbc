//! Planner throughput on random 96-slot requests (no taper).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use resiflex_planner::{EvPlan, PlanScratch, Taper, bench_plans, plan_into, plan_with};

const N: usize = 1024;

fn bench(c: &mut Criterion) {
    let reqs = bench_plans(N, 42);
    let mut g = c.benchmark_group("planner_96_slots");
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

    let exact: Vec<_> = reqs
        .iter()
        .cloned()
        .map(|mut r| {
            r.min_price_step = 0.0;
            r
        })
        .collect();
    g.bench_function("plan_with exact greedy only", |b| {
        let mut s = PlanScratch::default();
        let mut out = EvPlan::default();
        b.iter(|| {
            for r in &exact {
                plan_with(black_box(r), &mut s, &mut out);
                black_box(&out);
            }
        })
    });
    g.finish();

    // Cache-resident working set: 64 requests (~300 KB of slots) instead of 1024 (~4.7 MB).
    let small: Vec<_> = exact.iter().take(64).cloned().collect();
    let mut g = c.benchmark_group("planner_96_slots_hot_cache");
    g.throughput(Throughput::Elements(small.len() as u64));
    g.bench_function("plan_with exact greedy only", |b| {
        let mut s = PlanScratch::default();
        let mut out = EvPlan::default();
        b.iter(|| {
            for r in &small {
                plan_with(black_box(r), &mut s, &mut out);
                black_box(&out);
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

criterion_group!(benches, bench);
criterion_main!(benches);
