//! Heat pumps and batteries flexed like cars, through the real server and the simulated clouds:
//! the control loop plans them a day ahead (a heat pump pre-heats before the evening peak and
//! never leaves its comfort band; a battery charges in cheap hours and covers the peak), sends the
//! heat pump its mode and a schedule with set-points and the battery a schedule that discharges,
//! the devices follow, and the plans show in `flexPlannedDispatches` and `smartFlexDevicePlan`.
//! A home with a car, a heat pump and a battery is planned as one.

use crate::harness;

use chrono::{Duration, Timelike};
use harness::TestApp;
use harness::household::{battery, car, commands, current_plan, heat_pump, household};
use resiflex_domain::Clock as _;
use resiflex_domain::command::Command;
use resiflex_domain::heat::{HeatPumpActivity, HeatPumpMode};
use resiflex_domain::plan::{DispatchAction, PlanKind};
use serde_json::{Value, json};

const PLANNED: &str = "query($id: String!) { flexPlannedDispatches(deviceId: $id) { start end type energyAddedKwh action powerKw setpointInCelsius heatPumpActivity } }";

async fn planned(app: &TestApp, user: &str, device_id: &str) -> Vec<Value> {
    let body = app
        .graphql_as(Some(user), PLANNED, json!({ "id": device_id }))
        .await;
    body["data"]["flexPlannedDispatches"]
        .as_array()
        .unwrap_or_else(|| panic!("planned dispatches: {body}"))
        .clone()
}

/// The local (London, winter = UTC) hour of an instant.
fn hour(at: chrono::DateTime<chrono::Utc>) -> u32 {
    at.hour()
}

#[tokio::test]
async fn a_heat_pump_pre_heats_before_the_peak_and_keeps_the_band() {
    let app = TestApp::spawn().await;
    let home = household(&app, "ada@example.com", &[heat_pump(3_000, 20.5)]).await;
    let id = &home.device_ids[0];
    let report = home.control.tick().await.unwrap();
    assert_eq!(report.replanned, 1, "{report:?}");
    let plan = current_plan(&app, id).await;
    assert_eq!(plan.kind, PlanKind::Smart, "{plan:?}");
    assert!(plan.target_reached, "the comfort band is kept: {plan:?}");
    assert!(!plan.dispatches.is_empty());
    assert!(
        plan.dispatches
            .iter()
            .all(|d| d.action == DispatchAction::Heat)
    );
    // Some heating runs above the set-point (20 °C) before the 16:00–19:00 peak...
    assert!(
        plan.dispatches
            .iter()
            .any(|d| d.activity == Some(HeatPumpActivity::PreHeating)
                && d.setpoint_c.is_some_and(|c| c > 20.0)
                && hour(d.end) <= 16),
        "{:#?}",
        plan.dispatches
    );
    // ...and the peak itself draws less than the same hours before it.
    let drawn = |from: u32, to: u32| -> i64 {
        plan.dispatches
            .iter()
            .filter(|d| d.start.date_naive() == plan.created_at.date_naive())
            .filter(|d| (from..to).contains(&hour(d.start)))
            .map(|d| d.energy_wh)
            .sum()
    };
    assert!(
        drawn(16, 19) < drawn(13, 16),
        "peak {} vs before {}",
        drawn(16, 19),
        drawn(13, 16)
    );

    // The heat pump was told its mode, then its schedule with set-points.
    let sent = commands(&app, id).await;
    assert!(
        matches!(
            sent.first(),
            Some(Command::SetHeatPumpMode {
                mode: HeatPumpMode::Heating,
                ..
            })
        ),
        "{sent:?}"
    );
    let Some(Command::Schedule { windows }) = sent.last() else {
        panic!("a schedule: {sent:?}");
    };
    assert!(windows.iter().all(|w| w.setpoint_c.is_some()));

    // Clients see the dispatches with their action, power and set-point.
    let shown = planned(&app, &home.user, id).await;
    assert!(!shown.is_empty());
    assert!(
        shown
            .iter()
            .all(|d| d["action"] == "HEAT" && d["setpointInCelsius"].is_number())
    );
    assert!(shown.iter().any(|d| d["heatPumpActivity"] == "PRE_HEATING"));

    // The house follows: a few hours later it is still inside the band.
    for _ in 0..8 {
        app.clock.advance(Duration::minutes(30));
        home.control.tick().await.unwrap();
    }
    let reading = resiflex_store::telemetry::latest(&app.test_db.db, id)
        .await
        .unwrap()
        .unwrap();
    let indoor = reading.indoor_temperature_c.unwrap();
    assert!((19.5..=24.5).contains(&indoor), "indoor {indoor}");
}

#[tokio::test]
async fn a_battery_charges_cheap_and_covers_the_peak() {
    let app = TestApp::spawn().await;
    let home = household(&app, "bo@example.com", &[battery(13_500, 50.0)]).await;
    let id = &home.device_ids[0];
    home.control.tick().await.unwrap();
    let plan = current_plan(&app, id).await;
    assert_eq!(plan.kind, PlanKind::Smart, "{plan:?}");
    let discharges: Vec<_> = plan
        .dispatches
        .iter()
        .filter(|d| d.action == DispatchAction::Discharge)
        .collect();
    assert!(!discharges.is_empty(), "{:#?}", plan.dispatches);
    // Discharging covers the evening peak; without grid export it never exceeds the home's load.
    let peak_start = plan
        .created_at
        .date_naive()
        .and_hms_opt(16, 0, 0)
        .unwrap()
        .and_utc();
    let peak_end = peak_start + Duration::hours(3);
    assert!(
        discharges
            .iter()
            .any(|d| d.start < peak_end && d.end > peak_start),
        "{discharges:#?}"
    );
    assert!(discharges.iter().all(|d| d.power_w < 0 && d.energy_wh < 0));
    assert!(
        plan.cost_micros < 0,
        "the battery saves money: {}",
        plan.cost_micros
    );
    let sent = commands(&app, id).await;
    let Some(Command::Schedule { windows }) = sent.last() else {
        panic!("a schedule: {sent:?}");
    };
    assert!(windows.iter().any(|w| w.power_w < 0));
    let shown = planned(&app, &home.user, id).await;
    assert!(shown.iter().any(|d| d["action"] == "DISCHARGE"));
    // Never below the 10 % reserve.
    let floor = plan.inputs["expected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert!(floor >= 10.0 - 1e-6, "{floor}");
}

#[tokio::test]
async fn a_home_with_a_car_a_heat_pump_and_a_battery_is_planned_as_one() {
    let app = TestApp::spawn().await;
    let home = household(
        &app,
        "cy@example.com",
        &[car(40.0), heat_pump(3_000, 20.0), battery(13_500, 40.0)],
    )
    .await;
    home.control.tick().await.unwrap();
    for id in &home.device_ids {
        let plan = current_plan(&app, id).await;
        assert_eq!(plan.kind, PlanKind::Smart, "{id}: {plan:?}");
        assert!(
            plan.outcome.starts_with("HOUSEHOLD_"),
            "{id}: {}",
            plan.outcome
        );
    }
    // Together they never draw more than the connection carries.
    let mut plans = Vec::new();
    for id in &home.device_ids {
        plans.push(current_plan(&app, id).await);
    }
    let now = app.clock.now();
    let mut at = now;
    while at < now + Duration::hours(24) {
        let total: i64 = plans
            .iter()
            .flat_map(|p| p.dispatches.iter())
            .filter(|d| d.start <= at && at < d.end)
            .map(|d| d.power_w)
            .sum();
        assert!(total <= 13_800, "{total} W at {at}");
        at += Duration::minutes(30);
    }
}

#[tokio::test]
async fn a_suspended_heat_pump_goes_back_to_its_own_thermostat() {
    let app = TestApp::spawn().await;
    let home = household(&app, "di@example.com", &[heat_pump(3_000, 20.0)]).await;
    let id = &home.device_ids[0];
    home.control.tick().await.unwrap();
    let body = app
        .graphql_as(
            Some(&home.user),
            "mutation($id: ID!) { updateDeviceSmartControl(input: { deviceId: $id, action: SUSPEND }) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    home.control.tick().await.unwrap();
    let plan = current_plan(&app, id).await;
    assert_eq!(plan.kind, PlanKind::Idle);
    assert_eq!(plan.outcome, "SUSPENDED");
    let sent = commands(&app, id).await;
    assert!(
        matches!(sent.last(), Some(Command::Schedule { windows }) if windows.is_empty()),
        "an empty schedule hands it back: {sent:?}"
    );
}
