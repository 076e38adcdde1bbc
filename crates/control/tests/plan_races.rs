//! Customers' commands that arrive while a tick re-plans the same devices: every tick and every
//! command succeeds, and each device's plan versions stay consecutive (no gap, no duplicate).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use resiflex_control::{ControlConfig, ControlLoop, react};
use resiflex_domain::device::DeviceKind;
use resiflex_domain::preferences::Preferences;
use resiflex_domain::tariff::{Micros, Rate, Tariff};
use resiflex_domain::{Clock as _, ManualClock};
use resiflex_providers::simulator::{SimDeviceSpec, SimulatorProvider};
use resiflex_providers::{DeviceProvider, ProviderRegistry};
use resiflex_store::devices as store;
use resiflex_store::testing::TestDb;
use resiflex_store::{StoreError, plans, tariffs};

const CARS: usize = 3;
const ROUNDS: usize = 12;

fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, hour, minute, 0).unwrap()
}

/// Changes the device's charging target, as `setDevicePreferences` does (retrying when the tick
/// saved the device in between, as a customer would).
async fn set_target(db: &resiflex_store::Db, device_id: &str, max: f64) {
    loop {
        let mut device = store::device_by_id(db, device_id).await.unwrap().unwrap();
        let mut preferences = Preferences::default_for(DeviceKind::ElectricVehicle).unwrap();
        for entry in &mut preferences.schedules {
            entry.max = max;
            entry.time = chrono::NaiveTime::from_hms_opt(7, 30, 0).unwrap();
        }
        device.preferences = Some(preferences.clone());
        match store::update_device(db, &device).await {
            Ok(_) => return,
            Err(StoreError::Conflict) => continue,
            Err(err) => panic!("{err}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commands_during_ticks_never_fail_and_versions_stay_consecutive() {
    let test = TestDb::new().await;
    let db = test.db.clone();
    let clock = ManualClock::new(at(20, 0));
    let now = clock.now();
    let simulator = Arc::new(SimulatorProvider::new("TESLA", 5));
    let mut cars = Vec::new();
    for n in 0..CARS {
        let login = format!("driver-{n}");
        let code = simulator.approve(
            &login,
            vec![SimDeviceSpec {
                initial_soc_pct: Some(30.0),
                ..SimDeviceSpec::vehicle("Tesla", "Model 3", 57_500, 7_400)
            }],
            now,
        );
        let grant = simulator.complete_authorization(&code, now).await.unwrap();
        let remote = simulator.devices(&grant, now).await.unwrap().remove(0);
        let fixture = resiflex_store::testing::granted_vehicle_fixture(
            &db,
            resiflex_store::testing::GrantedVehicle {
                email: &format!("{login}@example.com"),
                device_id: &format!("car-{n}"),
                provider: resiflex_domain::device::Provider::Tesla,
                remote_id: &remote.remote_id,
                subject: &grant.subject,
                secret: &grant.secret,
            },
            now,
        )
        .await;
        let tariff = Tariff {
            code: format!("NIGHT-{n}"),
            name: "Night saver".into(),
            currency: "GBP".into(),
            time_zone: "Europe/London".into(),
            slot_minutes: 30,
        };
        let rates: Vec<Rate> = (0..48)
            .map(|i| {
                let start = at(18, 0) + Duration::minutes(30 * i);
                Rate {
                    valid_from: start,
                    valid_to: start + Duration::minutes(30),
                    import_minor_per_kwh: Micros((5 + (i % 7)) * 1_000_000),
                    export_minor_per_kwh: None,
                    carbon_g_per_kwh: None,
                }
            })
            .collect();
        let imported = tariffs::import_rates(&db, &tariff, None, &rates, now)
            .await
            .unwrap();
        tariffs::assign_tariff_to_account(
            &db,
            fixture.account_id,
            imported.tariff.id,
            at(0, 0),
            now,
        )
        .await
        .unwrap();
        cars.push(fixture.id);
    }
    let mut registry = ProviderRegistry::default();
    registry.register(resiflex_domain::device::Provider::Tesla, simulator.clone());
    let registry = Arc::new(registry);
    let config = ControlConfig {
        enabled: false,
        ..ControlConfig::default()
    };
    let control = Arc::new(ControlLoop::new(
        db.clone(),
        registry.clone(),
        Arc::new(clock.clone()),
        config,
    ));
    control.tick().await.unwrap();

    // Ticks and customers' commands at the same time, on the same cars.
    let mut work = tokio::task::JoinSet::new();
    for round in 0..ROUNDS {
        let control = control.clone();
        work.spawn(async move { control.tick().await.map(|_| ()).map_err(|e| e.to_string()) });
        for car in &cars {
            let (db, registry, car) = (db.clone(), registry.clone(), car.clone());
            #[allow(clippy::cast_precision_loss)]
            let max = 60.0 + (round % 4) as f64 * 10.0;
            work.spawn(async move {
                set_target(&db, &car, max).await;
                react(&db, &registry, &car, now, &config)
                    .await
                    .map_err(|e| e.to_string())
            });
        }
    }
    let mut failures = Vec::new();
    while let Some(done) = work.join_next().await {
        if let Err(err) = done.unwrap() {
            failures.push(err);
        }
    }
    assert!(
        failures.is_empty(),
        "every tick and command succeeds: {failures:?}"
    );

    for car in &cars {
        let versions: Vec<i64> = plans::plans_between(&db, car, at(0, 0), at(23, 59))
            .await
            .unwrap()
            .iter()
            .map(|p| p.version)
            .collect();
        let expected: Vec<i64> = (1..=i64::try_from(versions.len()).unwrap()).collect();
        assert_eq!(versions, expected, "{car}: consecutive versions");
        assert!(versions.len() > 1, "{car} was re-planned");
        // The newest plan follows the last target set.
        let current = plans::current_plan(&db, car).await.unwrap().unwrap();
        assert_eq!(current.version, *versions.last().unwrap());
    }
}
