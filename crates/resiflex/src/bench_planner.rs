//! `resiflex bench planner`: how many EV plans per second the planner makes (96-slot horizons with
//! random prices, states of charge, targets and limits), on one thread and on every core, and how
//! many stored devices the control loop re-plans per second end to end: load their state, plan,
//! store the new plan versions with their events.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{Duration as TimeDelta, Utc};
use resiflex_control::ControlConfig;
use resiflex_control::planning::{self, Scope};
use resiflex_domain::device::DeviceKind;
use resiflex_domain::plan::PlanTrigger;
use resiflex_domain::preferences::Preferences;
use resiflex_domain::tariff::{self, Tariff};
use resiflex_planner::PlanScratch;
use resiflex_store::devices::{self as store, Device};
use resiflex_store::{Db, DbOptions};
use serde::Serialize;

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
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannerBenchResult {
    pub plans_per_second_one_thread: f64,
    pub plans_per_second_all_cores: f64,
    pub threads: usize,
    pub devices: usize,
    pub replan_seconds: f64,
    pub devices_replanned_per_second: f64,
}

/// Plans `requests` round and round on one thread for at least `budget`; answers plans per second.
/// The requests are the planner's compact form (millisecond times, prices as arrays), the form the
/// fleet-wide re-plan hands it.
fn plans_per_second(requests: &[resiflex_planner::CompactEvRequest], budget: Duration) -> f64 {
    let mut scratch = PlanScratch::default();
    let mut out = resiflex_planner::CompactPlan::default();
    let started = Instant::now();
    let mut planned = 0_u64;
    while started.elapsed() < budget {
        for request in requests {
            resiflex_planner::plan_compact_with(request, &mut scratch, &mut out);
            std::hint::black_box(&out);
        }
        planned += requests.len() as u64;
    }
    planned as f64 / started.elapsed().as_secs_f64()
}

pub async fn planner(args: PlannerBenchArgs) -> anyhow::Result<PlannerBenchResult> {
    let budget = Duration::from_secs_f64(args.seconds.clamp(0.1, 60.0));
    let requests = resiflex_planner::bench_requests_compact(4096, 42);
    // Warm up, then measure.
    plans_per_second(&requests, Duration::from_millis(200));
    let one = plans_per_second(&requests, budget);
    eprintln!("planner, one thread: {one:.0} plans/s");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let all: f64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| plans_per_second(&requests, budget)))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0.0)).sum()
    });
    eprintln!("planner, {threads} threads: {all:.0} plans/s");

    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let url = args
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let db = Db::connect(&url, &DbOptions::default())
        .await
        .with_context(|| format!("opening {}", resiflex_store::redact_url(&url)))?;
    db.migrate().await.context("migrating")?;
    let setup = Instant::now();
    seed_devices(&db, args.devices).await?;
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
        plans_per_second_one_thread: one,
        plans_per_second_all_cores: all,
        threads,
        devices: report.replanned,
        replan_seconds: seconds,
        devices_replanned_per_second: report.replanned as f64 / seconds.max(1e-9),
    })
}

/// An organisation, one account and property on a day-ahead tariff, and `count` plugged-in cars
/// with random states of charge and the default preferences.
async fn seed_devices(db: &Db, count: usize) -> anyhow::Result<()> {
    use resiflex_store::accounts::{self, NewAddress, NewShellAccount};
    use resiflex_store::identity::{self, NewUser};
    let now = Utc::now();
    let org = identity::create_organisation(db, "Bench", "RESIFLEX_LIVE", "bench", now).await?;
    let account = accounts::create_shell_account(
        db,
        &NewShellAccount {
            organisation_id: org.id,
            status: "ACTIVE",
            account_type: "DOMESTIC",
            brand_code: "RESIFLEX_LIVE",
            user: NewUser {
                email: "bench@example.com",
                given_name: "Bench",
                family_name: "Mark",
                preferred_name: None,
                mobile: None,
                password_hash: None,
            },
            address: NewAddress {
                country: "GB",
                time_zone: "Europe/London",
                ..NewAddress::default()
            },
            reference: None,
        },
        now,
    )
    .await?
    .account;
    let property = accounts::properties_of_account(db, account.id)
        .await?
        .into_iter()
        .next()
        .context("the account has no property")?;
    let tariff = Tariff {
        code: "BENCH-AGILE".into(),
        name: "Bench day-ahead".into(),
        currency: "GBP".into(),
        time_zone: "Europe/London".into(),
        slot_minutes: 30,
    };
    let today = now.date_naive();
    let rates = tariff::generate_day_ahead(&tariff, today - TimeDelta::days(1), 4, 7)
        .map_err(|e| anyhow::anyhow!("generating prices: {e}"))?;
    let imported = resiflex_store::tariffs::import_rates(db, &tariff, None, &rates, now).await?;
    resiflex_store::tariffs::assign_tariff_to_account(
        db,
        account.id,
        imported.tariff.id,
        now - TimeDelta::days(1),
        now,
    )
    .await?;
    let preferences = Preferences::default_for(DeviceKind::ElectricVehicle)
        .context("vehicles have default preferences")?;
    let mut rng = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut devices = Vec::with_capacity(count);
    let mut readings = Vec::with_capacity(count);
    for index in 0..count {
        let id = format!("bench-{index:07}");
        let capacity = [40_000, 57_500, 77_000, 100_000][(next() % 4) as usize];
        let power = [3_700, 7_400, 11_000][(next() % 3) as usize];
        let soc = 10.0 + (next() % 600) as f64 / 10.0;
        devices.push(Device {
            id: id.clone(),
            account_id: account.id,
            property_id: property.id,
            kind: DeviceKind::ElectricVehicle,
            provider: resiflex_domain::device::Provider::Tesla,
            grant_id: None,
            integration_device_id: format!("remote-{index}"),
            name: "Bench car".into(),
            make: "Bench".into(),
            model: "Car".into(),
            catalogue_id: None,
            vin: None,
            battery_capacity_wh: Some(capacity),
            max_power_w: Some(power),
            lifecycle: resiflex_domain::device::Lifecycle::Live,
            state: resiflex_domain::device::DeviceState::SmartControlCapable,
            is_suspended: false,
            grid_export: resiflex_domain::device::FlexSetting::NotApplicable,
            charging_duration_capped: resiflex_domain::device::FlexSetting::Disabled,
            preferences: Some(preferences.clone()),
            test_charge: None,
            created_at: now,
            updated_at: now,
            retired_at: None,
            version: 0,
        });
        let reading = resiflex_providers::Telemetry {
            connection: resiflex_providers::Connection::Online,
            soc_limit_pct: Some(100.0),
            ..resiflex_providers::Telemetry::vehicle_at_home(now, soc)
        };
        readings.push((id, reading));
    }
    store::insert_devices(db, &devices).await?;
    resiflex_store::telemetry::save_latest_many(db, &readings).await?;
    Ok(())
}
