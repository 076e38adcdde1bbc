//! The control loop against a simulated vendor cloud: telemetry is kept, and the device's state
//! follows what the car does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use resiflex_control::{ControlConfig, ControlLoop};
use resiflex_domain::{Clock as _, ManualClock};
use resiflex_providers::simulator::{Fault, SimDeviceSpec, SimulatorProvider};
use resiflex_providers::{DeviceProvider, ProviderRegistry};
use resiflex_store::accounts::{self, NewAddress, NewShellAccount};
use resiflex_store::devices::{self as store, Device};
use resiflex_store::identity::{self, NewUser};
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
    let org = identity::create_organisation(&test.db, "Org", "RESIFLEX_LIVE", "hash", now)
        .await
        .unwrap();
    let account = accounts::create_shell_account(
        &test.db,
        &NewShellAccount {
            organisation_id: org.id,
            status: "ACTIVE",
            account_type: "DOMESTIC",
            brand_code: "RESIFLEX_LIVE",
            user: NewUser {
                email: "ev@example.com",
                given_name: "E",
                family_name: "V",
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
    .await
    .unwrap()
    .account;
    let property = accounts::properties_of_account(&test.db, account.id)
        .await
        .unwrap()
        .remove(0);

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
        account.id,
        "TESLA",
        &grant.subject,
        &grant.secret,
        now,
    )
    .await
    .unwrap();
    let device = Device {
        id: "device-1".into(),
        account_id: account.id,
        property_id: property.id,
        kind: "ELECTRIC_VEHICLE".into(),
        provider: "TESLA".into(),
        grant_id: Some(stored.id),
        integration_device_id: car.clone(),
        name: "Tesla Model 3".into(),
        make: "Tesla".into(),
        model: "Model 3".into(),
        catalogue_id: None,
        vin: None,
        battery_capacity_wh: Some(57_500),
        max_power_w: Some(7_400),
        lifecycle: "LIVE".into(),
        state: "SMART_CONTROL_CAPABLE".into(),
        is_suspended: false,
        grid_export: "NOT_APPLICABLE".into(),
        charging_duration_capped: "DISABLED".into(),
        preferences: None,
        test_charge: None,
        created_at: now,
        updated_at: now,
        retired_at: None,
        version: 0,
    };
    store::insert_device(&test.db, &device).await.unwrap();

    let mut registry = ProviderRegistry::default();
    registry.register("TESLA", simulator.clone());
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
    let series = store::telemetry_between(&w.test.db, &w.device_id, start, w.clock.now())
        .await
        .unwrap();
    assert_eq!(series.len(), 4);
    assert!(series.windows(2).all(|p| p[0].0 < p[1].0));
    let (latest_at, _) = store::latest_telemetry(&w.test.db, &w.device_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest_at, series[3].0);

    w.control.config.telemetry_retention_days = 1;
    w.clock.advance(Duration::days(2));
    w.tick().await;
    let kept = store::telemetry_between(
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
