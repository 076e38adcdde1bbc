//! What happened, against a simulated vendor cloud and the real control loop: each error cause and
//! each truncation cause of a charging session comes out of a scenario a customer could live
//! through, and completed dispatches show what the meter saw.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use resiflex_control::{ControlConfig, ControlLoop, planning::OverrunPolicy, sessions};
use resiflex_domain::device::DeviceKind;
use resiflex_domain::preferences::{PreferenceMode, PreferenceUnit, Preferences, ScheduleEntry};
use resiflex_domain::{Clock as _, ManualClock};
use resiflex_providers::simulator::{Fault, SimDeviceSpec, SimulatorProvider};
use resiflex_providers::{Command, DeviceProvider, Grant, ProviderRegistry};
use resiflex_store::devices::{self as store, Device};
use resiflex_store::sessions::{self as stored, ChargingSessionRecord};
use resiflex_store::testing::TestDb;

const LOGIN: &str = "eve";

struct World {
    test: TestDb,
    clock: ManualClock,
    simulator: Arc<SimulatorProvider>,
    control: ControlLoop,
    grant: Grant,
    device_id: String,
    car: String,
}

fn preferences(hour: u32, target: f64) -> Preferences {
    use chrono::Weekday::*;
    let schedules = [Mon, Tue, Wed, Thu, Fri, Sat, Sun]
        .into_iter()
        .map(|day| ScheduleEntry {
            day,
            time: NaiveTime::from_hms_opt(hour, 0, 0).unwrap(),
            min: None,
            max: target,
        })
        .collect();
    Preferences {
        mode: PreferenceMode::Charge,
        unit: PreferenceUnit::Percentage,
        schedules,
    }
}

/// A plugged-in car at 50 % (unless `spec` says otherwise), at home in London at 20:00 UTC, whose
/// customer wants `target` % by `hour`:00.
async fn world_with(spec: SimDeviceSpec, hour: u32, target: f64, config: ControlConfig) -> World {
    let test = TestDb::new().await;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 27, 20, 0, 0).unwrap());
    let now = clock.now();
    let home = resiflex_store::testing::household(&test.db, "ev@example.com", now).await;
    let kind = spec.kind;
    let simulator = Arc::new(SimulatorProvider::new("TESLA", 7));
    let code = simulator.approve(LOGIN, vec![spec], now);
    let grant = simulator.complete_authorization(&code, now).await.unwrap();
    let remote = simulator.devices(&grant, now).await.unwrap().remove(0);
    let stored_grant = store::insert_grant(
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
        kind,
        grant_id: Some(stored_grant.id),
        name: "Car".into(),
        make: remote.make.clone(),
        model: remote.model.clone(),
        battery_capacity_wh: remote.battery_capacity_wh,
        max_power_w: remote.max_power_w,
        preferences: Some(preferences(hour, target)),
        ..resiflex_store::testing::vehicle(
            &home,
            "device-1",
            resiflex_domain::device::Provider::Tesla,
            &remote.remote_id,
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
            ..config
        },
    );
    World {
        test,
        clock,
        simulator,
        control,
        grant,
        device_id: device.id,
        car: remote.remote_id,
    }
}

fn car(soc: f64) -> SimDeviceSpec {
    SimDeviceSpec {
        initial_soc_pct: Some(soc),
        ..SimDeviceSpec::vehicle("Tesla", "Model 3", 57_500, 7_400)
    }
}

async fn world(hour: u32, target: f64) -> World {
    world_with(car(50.0), hour, target, ControlConfig::default()).await
}

impl World {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Ticks every five minutes for `minutes`.
    async fn run(&self, minutes: i64) {
        for _ in 0..minutes / 5 {
            self.control.tick().await.unwrap();
            self.clock.advance(Duration::minutes(5));
        }
    }

    /// Ticks until the clock shows `hour:minute` (the next day for hours before 20).
    async fn run_until(&self, hour: u32, minute: u32) {
        let day = if hour < 20 { 28 } else { 27 };
        let until = Utc
            .with_ymd_and_hms(2026, 11, day, hour, minute, 0)
            .unwrap();
        let minutes = (until - self.now()).num_minutes();
        self.run(minutes).await;
    }

    async fn device(&self) -> Device {
        store::device_by_id(&self.test.db, &self.device_id)
            .await
            .unwrap()
            .unwrap()
    }

    async fn session(&self) -> ChargingSessionRecord {
        stored::latest_session(&self.test.db, &self.device_id)
            .await
            .unwrap()
            .expect("a session")
    }

    async fn problem(&self) -> (Option<String>, Option<String>) {
        let s = self.session().await;
        (s.problem_kind, s.problem_cause)
    }

    async fn unplug(&self) {
        self.simulator
            .set_plugged_in(LOGIN, &self.car, false, self.now())
            .unwrap();
        self.run(10).await;
    }

    async fn event(&self, kind: &str) {
        resiflex_store::events::add(
            &self.test.db,
            &self.device_id,
            self.now(),
            resiflex_domain::plan::DeviceEventKind::parse(kind).unwrap(),
            &serde_json::json!({}),
        )
        .await
        .unwrap();
    }

    /// What the API does for a customer's command: the device row, the event and the command.
    async fn customer(
        &self,
        event: &str,
        command: Option<Command>,
        change: impl FnOnce(&mut Device),
    ) {
        let mut device = self.device().await;
        change(&mut device);
        device.updated_at = self.now();
        store::update_device(&self.test.db, &device).await.unwrap();
        self.event(event).await;
        if let Some(command) = command {
            let key = format!("customer-{event}-{}", self.now().timestamp());
            self.simulator
                .send(&self.grant, &self.car, &command, &key, self.now())
                .await
                .unwrap();
        }
    }

    async fn soc(&self) -> f64 {
        self.simulator
            .telemetry(&self.grant, &self.car, self.now())
            .await
            .unwrap()
            .state_of_charge_pct
            .unwrap()
    }
}

fn error(cause: &str) -> (Option<String>, Option<String>) {
    (Some("ERROR".into()), Some(cause.into()))
}

fn truncation(cause: &str) -> (Option<String>, Option<String>) {
    (Some("TRUNCATION".into()), Some(cause.into()))
}

// ------------------------------------------------------------------------------------------------
// A session that went to plan, and completed dispatches.
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_smart_charge_that_went_to_plan_is_recorded_with_its_dispatches() {
    let w = world(1, 80.0).await;
    w.run_until(1, 30).await;
    w.unplug().await;
    let s = w.session().await;
    assert_eq!(
        (s.problem_kind.clone(), s.problem_cause.clone()),
        (None, None),
        "{s:?}"
    );
    assert_eq!(s.session_type, "SMART");
    assert!(s.end_at.is_some());
    assert!((s.final_soc_pct.unwrap() - 80.0).abs() < 1.0, "{s:?}");
    assert!(
        (18_500..=20_500).contains(&s.energy_added_wh),
        "30 % of 57.5 kWh at 90 %: {s:?}"
    );
    let completed =
        stored::completed_dispatches_of_account(&w.test.db, w.device().await.account_id, 100)
            .await
            .unwrap();
    assert!(!completed.is_empty());
    let total: i64 = completed.iter().map(|d| d.energy_wh).sum();
    assert!((total - s.energy_added_wh).abs() < 200, "{total} vs {s:?}");
    assert!(
        completed
            .iter()
            .all(|d| d.location == "AT_HOME" && d.kind == "SMART")
    );

    // Idempotent: the same `now` again changes nothing, and a restarted tracker carries on.
    let before = (w.session().await, completed.clone());
    let device = w.device().await;
    sessions::track(&w.test.db, &device, w.now()).await.unwrap();
    let db = w.test.reopen().await;
    sessions::track(&db, &device, w.now()).await.unwrap();
    let after = (
        w.session().await,
        stored::completed_dispatches_of_account(&w.test.db, device.account_id, 100)
            .await
            .unwrap(),
    );
    assert_eq!(before, after);
}

// ------------------------------------------------------------------------------------------------
// Error causes.
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_limit_set_on_the_car_below_the_target_is_soc_limit_reached() {
    let w = world(23, 80.0).await;
    w.simulator
        .set_soc_limit(LOGIN, &w.car, 70.0, w.now())
        .unwrap();
    w.run_until(23, 30).await;
    w.unplug().await;
    assert_eq!(
        w.problem().await,
        error("SOC_LIMIT_REACHED"),
        "{:?}",
        w.session().await
    );
}

#[tokio::test]
async fn no_telemetry_during_the_dispatches_is_a_communication_error() {
    let w = world(23, 80.0).await;
    w.run_until(21, 0).await;
    w.simulator
        .set_fault(LOGIN, &w.car, Fault::NoTelemetry, w.now())
        .unwrap();
    w.run_until(22, 30).await;
    w.simulator
        .clear_fault(LOGIN, &w.car, Fault::NoTelemetry)
        .unwrap();
    w.run_until(23, 15).await;
    w.unplug().await;
    assert_eq!(
        w.problem().await,
        error("COMMUNICATION_ERROR"),
        "{:?}",
        w.session().await
    );
}

#[tokio::test]
async fn charging_started_in_the_cars_app_outside_the_plan_is_interference() {
    let w = world(1, 80.0).await;
    w.run_until(20, 10).await;
    w.simulator
        .local_command(
            LOGIN,
            &w.car,
            &Command::Start {
                power_limit_w: None,
            },
            w.now(),
        )
        .unwrap();
    w.run_until(1, 15).await;
    w.unplug().await;
    assert_eq!(
        w.problem().await,
        error("THIRD_PARTY_CHARGING_INTERFERENCE"),
        "{:?}",
        w.session().await
    );
}

#[tokio::test]
async fn a_power_limit_set_in_the_cars_app_is_a_power_discrepancy() {
    let w = world(1, 80.0).await;
    w.simulator
        .local_command(
            LOGIN,
            &w.car,
            &Command::SetPowerLimit { power_w: 2_000 },
            w.now(),
        )
        .unwrap();
    w.run_until(1, 15).await;
    w.unplug().await;
    assert_eq!(
        w.problem().await,
        error("POWER_DISCREPANCY"),
        "{:?}",
        w.session().await
    );
}

#[tokio::test]
async fn a_target_of_100_from_85_with_little_time_is_power_tapering() {
    let w = world_with(car(85.0), 22, 100.0, ControlConfig::default()).await;
    w.run_until(22, 15).await;
    w.unplug().await;
    assert_eq!(
        w.problem().await,
        error("POWER_TAPERING"),
        "{:?}",
        w.session().await
    );
}

#[tokio::test]
async fn charging_from_70_to_the_cars_own_limit_is_a_full_charge() {
    // The car's own limit is 90 % and the customer asks for 90 %: the battery, not the plan, ends
    // the charge. (A planned charge to 100 % stops short of it: the last percent is slower than
    // the planner's taper model.)
    let config = ControlConfig {
        model_taper: true,
        ..ControlConfig::default()
    };
    let spec = SimDeviceSpec {
        soc_limit_pct: Some(90.0),
        ..car(70.0)
    };
    let w = world_with(spec, 3, 90.0, config).await;
    w.run_until(4, 0).await;
    w.unplug().await;
    assert_eq!(
        w.problem().await,
        error("FULL_CHARGE"),
        "{:?}",
        w.session().await
    );
}

#[tokio::test]
async fn a_battery_that_loses_charge_after_reaching_the_target_is_post_charge_drain() {
    let config = ControlConfig {
        overrun: OverrunPolicy::Stop,
        ..ControlConfig::default()
    };
    let w = world_with(car(50.0), 23, 80.0, config).await;
    w.run_until(23, 10).await;
    assert!(w.soc().await >= 79.0);
    // The car heats its cabin for the morning, plugged in but not charging.
    w.simulator
        .set_state_of_charge(LOGIN, &w.car, 76.5, w.now())
        .unwrap();
    w.run_until(23, 30).await;
    w.unplug().await;
    assert_eq!(
        w.problem().await,
        error("POST_CHARGE_BATTERY_DRAIN"),
        "{:?}",
        w.session().await
    );
}

#[tokio::test]
async fn plugging_in_at_the_target_is_no_scheduled_charge() {
    let w = world_with(car(80.0), 23, 80.0, ControlConfig::default()).await;
    w.run(30).await;
    w.unplug().await;
    assert_eq!(
        w.problem().await,
        error("NO_SCHEDULED_CHARGE"),
        "{:?}",
        w.session().await
    );
}

#[tokio::test]
async fn a_car_that_ignores_its_commands_is_no_charging() {
    let w = world(23, 80.0).await;
    w.simulator
        .set_fault(LOGIN, &w.car, Fault::IgnoreCommands, w.now())
        .unwrap();
    w.run_until(23, 15).await;
    w.unplug().await;
    assert_eq!(
        w.problem().await,
        error("NO_CHARGING"),
        "{:?}",
        w.session().await
    );
}

#[tokio::test]
async fn a_charger_that_reports_no_state_of_charge_cannot_be_judged() {
    let charger = SimDeviceSpec::new(DeviceKind::ChargePoint);
    let w = world_with(charger, 23, 80.0, ControlConfig::default()).await;
    w.run_until(23, 15).await;
    w.unplug().await;
    let s = w.session().await;
    assert!(s.energy_added_wh > 0, "{s:?}");
    assert_eq!(
        (s.problem_kind.clone(), s.problem_cause.clone()),
        error("FAILURE_CAUSE_ERROR"),
        "{s:?}"
    );
}

#[tokio::test]
async fn a_withdrawn_authorisation_needs_the_customer() {
    let w = world(1, 80.0).await;
    // Just before the charge starts, the customer changes their password at the car maker.
    w.run_until(22, 20).await;
    w.simulator.revoke_grants(LOGIN);
    w.run_until(1, 15).await;
    // Nothing is heard from the car any more, so the session stays open; its problem is known.
    let s = w.session().await;
    assert_eq!(s.end_at, None);
    assert_eq!(
        (s.problem_kind.clone(), s.problem_cause.clone()),
        error("CUSTOMER_ACTION_REQUIRED"),
        "{s:?}"
    );
}

#[tokio::test]
async fn a_battery_that_lost_charge_while_charging_missed_for_no_known_reason() {
    let config = ControlConfig {
        overrun: OverrunPolicy::Stop,
        ..ControlConfig::default()
    };
    let w = world_with(car(50.0), 23, 80.0, config).await;
    w.run_until(22, 30).await;
    // Something in the car drew from the battery: three points gone, within the re-plan tolerance.
    let soc = w.soc().await;
    w.simulator
        .set_state_of_charge(LOGIN, &w.car, soc - 3.0, w.now())
        .unwrap();
    w.run_until(23, 0).await;
    w.simulator
        .set_plugged_in(LOGIN, &w.car, false, w.now())
        .unwrap();
    w.run(10).await;
    assert_eq!(
        w.problem().await,
        error("UNKNOWN_CHARGING_ERROR_CAUSE"),
        "{:?}",
        w.session().await
    );
}

// ------------------------------------------------------------------------------------------------
// Truncation causes.
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn unplugging_mid_plan_is_disconnected() {
    let w = world(23, 80.0).await;
    w.run_until(21, 30).await;
    w.unplug().await;
    let s = w.session().await;
    assert_eq!(
        (s.problem_kind.clone(), s.problem_cause.clone()),
        truncation("DISCONNECTED"),
        "{s:?}"
    );
    assert!(s.achievable_soc_pct.unwrap() < s.original_achievable_soc_pct.unwrap());
}

#[tokio::test]
async fn suspending_mid_plan_is_suspended() {
    let w = world(23, 80.0).await;
    w.run_until(21, 30).await;
    w.customer("SUSPENDED", Some(Command::Stop), |d| {
        d.is_suspended = true;
        d.state = resiflex_domain::device::DeviceState::SmartControlOff;
    })
    .await;
    w.run_until(23, 15).await;
    w.unplug().await;
    assert_eq!(
        w.problem().await,
        truncation("SUSPENDED"),
        "{:?}",
        w.session().await
    );
}

#[tokio::test]
async fn a_boost_that_replaced_the_smart_plan_is_boost_charging() {
    let w = world(1, 80.0).await;
    w.run_until(21, 0).await;
    w.customer(
        "BOOST_STARTED",
        Some(Command::Start {
            power_limit_w: None,
        }),
        |d| d.state = resiflex_domain::device::DeviceState::Boosting,
    )
    .await;
    w.run_until(21, 45).await;
    w.unplug().await;
    let s = w.session().await;
    assert_eq!(s.session_type, "BOOST");
    assert_eq!(
        (s.problem_kind.clone(), s.problem_cause.clone()),
        truncation("BOOST_CHARGING"),
        "{s:?}"
    );
}

#[tokio::test]
async fn a_lower_target_is_a_new_charging_optimisation() {
    let w = world(1, 80.0).await;
    w.run_until(21, 0).await;
    w.customer("PREFERENCES_CHANGED", None, |d| {
        d.preferences = Some(preferences(1, 60.0));
    })
    .await;
    w.run_until(1, 15).await;
    w.unplug().await;
    assert_eq!(
        w.problem().await,
        truncation("CHARGING_OPTIMISATION_CREATED"),
        "{:?}",
        w.session().await
    );
}

#[tokio::test]
async fn de_authenticating_mid_plan_is_deauth_success() {
    let w = world(23, 80.0).await;
    w.run_until(21, 30).await;
    let now = w.now();
    w.customer("DEAUTHENTICATED", Some(Command::Stop), |d| {
        d.lifecycle = resiflex_domain::device::Lifecycle::Retired;
        d.state = resiflex_domain::device::DeviceState::Retired;
        d.retired_at = Some(now);
    })
    .await;
    // The loop no longer looks at a retired device; its session is closed once more.
    sessions::track(&w.test.db, &w.device().await, now)
        .await
        .unwrap();
    let s = w.session().await;
    assert_eq!(s.end_at, Some(now));
    assert_eq!(
        (s.problem_kind.clone(), s.problem_cause.clone()),
        truncation("DEVICE_DEAUTH_SUCCESS"),
        "{s:?}"
    );
}

#[tokio::test]
async fn a_plan_cut_while_the_car_was_unreachable_is_an_unknown_truncation() {
    let w = world(1, 80.0).await;
    w.run_until(20, 30).await;
    w.simulator
        .set_fault(LOGIN, &w.car, Fault::Offline, w.now())
        .unwrap();
    w.run_until(0, 50).await;
    w.simulator
        .clear_fault(LOGIN, &w.car, Fault::Offline)
        .unwrap();
    w.run_until(1, 15).await;
    w.unplug().await;
    assert_eq!(
        w.problem().await,
        truncation("UNKNOWN_TRUNCATION_CAUSE"),
        "{:?}",
        w.session().await
    );
}
