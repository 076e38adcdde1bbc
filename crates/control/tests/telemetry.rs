//! The control loop against a simulated vendor cloud: telemetry is kept, and the device's state
//! follows what the car does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use resiflex_control::{ControlConfig, ControlLoop};
use resiflex_domain::{Clock as _, ManualClock};
use resiflex_providers::simulator::{Fault, SimDeviceSpec, SimulatorProvider};
use resiflex_providers::{DeviceProvider, ProviderRegistry};
use resiflex_store::devices::{self as store, Device};
use resiflex_store::testing::TestDb;

struct World {
    test: TestDb,
    clock: ManualClock,
    simulator: Arc<SimulatorProvider>,
    control: ControlLoop,
    device_id: String,
    car: String,
}

async fn world() -> World {
    let test = TestDb::new().await;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 27, 20, 0, 0).unwrap());
    let now = clock.now();
    let home = resiflex_store::testing::household(&test.db, "ev@example.com", now).await;

    let simulator = Arc::new(SimulatorProvider::new("TESLA", 7));
    let code = simulator.approve(
        "eve",
        vec![SimDeviceSpec::vehicle("Tesla", "Model 3", 57_500, 7_400)],
        now,
    );
    let grant = simulator.complete_authorization(&code, now).await.unwrap();
    let car = simulator
        .devices(&grant, now)
        .await
        .unwrap()
        .remove(0)
        .remote_id;
    let stored = store::insert_grant(
        &test.db,
        home.account_id,
        resiflex_domain::device::Provider::Tesla,
        &grant.subject,
        &grant.secret,
        now,
    )
    .await
    .unwrap();
    let device = Device {
        grant_id: Some(stored.id),
        ..resiflex_store::testing::vehicle(
            &home,
            "device-1",
            resiflex_domain::device::Provider::Tesla,
            &car,
            now,
        )
    };
    store::insert_device(&test.db, &device).await.unwrap();

    let mut registry = ProviderRegistry::default();
    registry.register(resiflex_domain::device::Provider::Tesla, simulator.clone());
    let control = ControlLoop::new(
        test.db.clone(),
        Arc::new(registry),
        Arc::new(clock.clone()),
        ControlConfig {
            enabled: false,
            ..ControlConfig::default()
        },
    );
    World {
        test,
        clock,
        simulator,
        control,
        device_id: device.id,
        car,
    }
}

impl World {
    async fn state(&self) -> String {
        store::device_by_id(&self.test.db, &self.device_id)
            .await
            .unwrap()
            .unwrap()
            .state
            .to_string()
    }

    async fn tick(&self) {
        self.control.tick().await.unwrap();
    }
}

#[tokio::test]
async fn the_state_follows_plug_connection_and_silence() {
    let w = world().await;
    let report = w.control.tick().await.unwrap();
    assert_eq!(
        (report.devices, report.readings, report.state_changes),
        (1, 1, 0)
    );
    assert_eq!(w.state().await, "SMART_CONTROL_CAPABLE");

    w.clock.advance(Duration::minutes(5));
    w.simulator
        .set_plugged_in("eve", &w.car, false, w.clock.now())
        .unwrap();
    w.tick().await;
    assert_eq!(w.state().await, "SMART_CONTROL_NOT_AVAILABLE", "unplugged");

    w.clock.advance(Duration::minutes(5));
    w.simulator
        .set_plugged_in("eve", &w.car, true, w.clock.now())
        .unwrap();
    w.tick().await;
    assert_eq!(w.state().await, "SMART_CONTROL_CAPABLE", "plugged in again");

    w.simulator
        .set_fault("eve", &w.car, Fault::Offline, w.clock.now())
        .unwrap();
    w.clock.advance(Duration::minutes(5));
    w.tick().await;
    assert_eq!(w.state().await, "LOST_CONNECTION", "offline");
    w.simulator
        .clear_fault("eve", &w.car, Fault::Offline)
        .unwrap();
    w.clock.advance(Duration::minutes(5));
    w.tick().await;
    assert_eq!(w.state().await, "SMART_CONTROL_CAPABLE", "back online");

    // Missed telemetry: nothing heard for longer than the limit.
    w.simulator
        .set_fault("eve", &w.car, Fault::NoTelemetry, w.clock.now())
        .unwrap();
    w.clock.advance(Duration::minutes(10));
    w.tick().await;
    assert_eq!(
        w.state().await,
        "SMART_CONTROL_CAPABLE",
        "ten minutes of silence is tolerated"
    );
    w.clock.advance(Duration::minutes(10));
    let report = w.control.tick().await.unwrap();
    assert_eq!(report.unreachable, 1);
    assert_eq!(
        w.state().await,
        "LOST_CONNECTION",
        "twenty minutes of silence is not"
    );
}

#[tokio::test]
async fn readings_are_kept_as_a_time_series_with_retention() {
    let mut w = world().await;
    let start = w.clock.now();
    for _ in 0..4 {
        w.tick().await;
        w.clock.advance(Duration::minutes(30));
    }
    let series = resiflex_store::telemetry::between(&w.test.db, &w.device_id, start, w.clock.now())
        .await
        .unwrap();
    assert_eq!(series.len(), 4);
    assert!(series.windows(2).all(|p| p[0].at < p[1].at));
    let latest_at = resiflex_store::telemetry::latest(&w.test.db, &w.device_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest_at.at, series[3].at);

    w.control.config.telemetry_retention_days = 1;
    w.clock.advance(Duration::days(2));
    w.tick().await;
    let kept = resiflex_store::telemetry::between(
        &w.test.db,
        &w.device_id,
        start,
        w.clock.now() + Duration::minutes(1),
    )
    .await
    .unwrap();
    assert_eq!(
        kept.len(),
        1,
        "only the newest reading is within the retention period"
    );
}
