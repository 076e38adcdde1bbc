//! `resiflex bench planner`: how many plans per second the planner makes for one kind of device
//! (`--kind`: cars, heat pumps, batteries or whole households, 96-slot horizons with random prices
//! and states), on one thread and on every core, and how many stored devices the control loop
//! re-plans per second end to end (`--fleet`: cars only, or a mix of every kind in their homes):
//! load their state, plan, store the new plan versions with their events.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use resiflex_control::ControlConfig;
use resiflex_control::planning::{self, Scope};
use resiflex_domain::plan::PlanTrigger;
use resiflex_planner::PlanScratch;
use serde::Serialize;

use crate::bench_fleet::Fleet;

#[derive(Debug, Clone, clap::Args)]
pub struct PlannerBenchArgs {
    /// Stored devices to re-plan end to end.
    #[arg(long, default_value_t = 100_000)]
    pub devices: usize,
    /// Database to re-plan on (default: a new temporary SQLite file). Use an empty database: the
    /// benchmark adds an organisation, an account and the devices.
    #[arg(long)]
    pub database: Option<String>,
    /// Seconds to measure the planner alone, per measurement.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Which planner to measure alone.
    #[arg(long, value_enum, default_value_t = Kind::Ev)]
    pub kind: Kind,
    /// Which stored fleet to re-plan end to end.
    #[arg(long, value_enum, default_value_t = Fleet::Mixed)]
    pub fleet: Fleet,
}

/// A planner to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A car's ready-by plan.
    Ev,
    /// A heat pump's comfort plan.
    HeatPump,
    /// A home battery's plan.
    Battery,
    /// A household's joint plan: a car, a heat pump and a battery behind one connection.
    Household,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannerBenchResult {
    pub kind: Kind,
    pub fleet: Fleet,
    pub plans_per_second_one_thread: f64,
    /// How long one plan takes on one thread, µs.
    pub micros_per_plan: f64,
    /// What the benchmark's plans cost, and the same households unmanaged, currency units.
    pub planned_cost: Option<f64>,
    pub unmanaged_cost: Option<f64>,
    pub plans_per_second_all_cores: f64,
    pub threads: usize,
    pub devices: usize,
    pub replan_seconds: f64,
    pub devices_replanned_per_second: f64,
}

/// Plans `requests` round and round on one thread for at least `budget`; answers plans per second.
/// The requests are the planner's compact form (millisecond times, prices as arrays), the form the
/// fleet-wide re-plan hands it.
fn plans_per_second(kind: Kind, budget: Duration) -> f64 {
    match kind {
        Kind::Ev => {
            let requests = resiflex_planner::bench_requests_compact(4096, 42);
            let mut scratch = PlanScratch::default();
            let mut out = resiflex_planner::CompactPlan::default();
            rounds(budget, requests.len(), |i| {
                resiflex_planner::plan_compact_with(&requests[i], &mut scratch, &mut out);
                std::hint::black_box(&out);
            })
        }
        Kind::Battery => {
            let requests = resiflex_planner::bench_battery_requests(256, 42);
            rounds(budget, requests.len(), |i| {
                std::hint::black_box(resiflex_planner::battery::plan_battery(&requests[i]));
            })
        }
        Kind::HeatPump => {
            let requests = resiflex_planner::bench_heat_requests(64, 42);
            rounds(budget, requests.len(), |i| {
                std::hint::black_box(resiflex_planner::household::plan_household(&requests[i]));
            })
        }
        Kind::Household => {
            let requests = resiflex_planner::bench_household_requests(32, 42);
            rounds(budget, requests.len(), |i| {
                std::hint::black_box(resiflex_planner::household::plan_household(&requests[i]));
            })
        }
    }
}

/// What the planner's plans cost against the unmanaged household's (cars charging at once, heat
/// pumps holding the set-point, batteries idle) over the benchmark's requests, currency units
/// summed: `(planned, unmanaged)`. `None` for cars, whose plans have no unmanaged twin here.
fn costs(kind: Kind) -> Option<(f64, f64)> {
    let sum = |pairs: Vec<(f64, f64)>| {
        pairs
            .iter()
            .fold((0.0, 0.0), |(a, b), (c, d)| (a + c, b + d))
    };
    match kind {
        Kind::Ev => None,
        Kind::Battery => Some(sum(resiflex_planner::bench_battery_requests(256, 42)
            .iter()
            .map(|r| {
                let plan = resiflex_planner::battery::plan_battery(r);
                (plan.cost, plan.baseline_cost)
            })
            .collect())),
        Kind::HeatPump | Kind::Household => {
            let requests = if kind == Kind::HeatPump {
                resiflex_planner::bench_heat_requests(64, 42)
            } else {
                resiflex_planner::bench_household_requests(32, 42)
            };
            Some(sum(requests
                .iter()
                .map(|r| {
                    let plan = resiflex_planner::household::plan_household(r);
                    (plan.cost, plan.baseline_cost)
                })
                .collect()))
        }
    }
}

/// Runs `plan(i)` over `0..count` round and round for at least `budget`; answers plans per second.
fn rounds(budget: Duration, count: usize, mut plan: impl FnMut(usize)) -> f64 {
    let started = Instant::now();
    let mut planned = 0_u64;
    while started.elapsed() < budget && count > 0 {
        for i in 0..count {
            plan(i);
        }
        planned += count as u64;
    }
    planned as f64 / started.elapsed().as_secs_f64().max(1e-9)
}

pub async fn planner(args: PlannerBenchArgs) -> anyhow::Result<PlannerBenchResult> {
    let budget = Duration::from_secs_f64(args.seconds.clamp(0.1, 60.0));
    let kind = args.kind;
    // Warm up, then measure.
    plans_per_second(kind, Duration::from_millis(200));
    let one = plans_per_second(kind, budget);
    eprintln!(
        "planner ({kind:?}), one thread: {one:.0} plans/s, {:.1} µs a plan",
        1e6 / one.max(1e-9)
    );
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let all: f64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| plans_per_second(kind, budget)))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0.0)).sum()
    });
    eprintln!("planner, {threads} threads: {all:.0} plans/s");
    let costs = costs(kind);
    if let Some((planned, unmanaged)) = costs {
        eprintln!(
            "plans cost {planned:.1} against {unmanaged:.1} unmanaged ({:.1} % less)",
            100.0 * (unmanaged - planned) / unmanaged.abs().max(1e-9)
        );
    }

    let (db, _dir) = crate::bench_fleet::open_database(args.database.clone()).await?;
    let setup = Instant::now();
    crate::bench_fleet::seed(&db, args.fleet, args.devices).await?;
    eprintln!(
        "stored {} devices in {:.1} s",
        args.devices,
        setup.elapsed().as_secs_f64()
    );
    let config = ControlConfig::default();
    let now = Utc::now();
    let started = Instant::now();
    let (report, _) = planning::replan(&db, now, &config, Scope::All, Some(PlanTrigger::NewPrices))
        .await
        .context("re-planning")?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "re-planned {} of {} devices end to end in {seconds:.2} s",
        report.replanned, report.devices
    );
    db.close().await;
    Ok(PlannerBenchResult {
        kind,
        fleet: args.fleet,
        plans_per_second_one_thread: one,
        micros_per_plan: 1e6 / one.max(1e-9),
        planned_cost: costs.map(|c| c.0),
        unmanaged_cost: costs.map(|c| c.1),
        plans_per_second_all_cores: all,
        threads,
        devices: report.replanned,
        replan_seconds: seconds,
        devices_replanned_per_second: report.replanned as f64 / seconds.max(1e-9),
    })
}
