//! Planned dispatches over HTTP: `flexPlannedDispatches` (the documents clients send), the
//! deprecated `plannedDispatches`, and `smartFlexDevicePlan` with the rates a plan was made with;
//! a boost, a cancel and a suspension re-plan at once; other customers see nothing.

use crate::harness;

use harness::scenario::{open_account, organisation_auth, user_auth};

use std::sync::Arc;

use chrono::Duration;
use harness::{TestApp, error_code};
use resiflex_domain::Clock as _;
use resiflex_domain::device::DeviceKind;
use resiflex_domain::tariff::{self, Tariff};
use resiflex_providers::simulator::SimDeviceSpec;
use resiflex_providers::{DeviceProvider, ProviderRegistry};
use resiflex_store::devices::{self as store, Device};
use serde_json::{Value, json};

/// An account of a new organisation: its number, id and property id, and its user's token.
async fn customer(app: &TestApp, org_name: &str, email: &str) -> (String, i64, i64, String) {
    let org = organisation_auth(app, org_name).await;
    let number = open_account(app, &org, email).await;
    let account = resiflex_store::accounts::account_by_number(&app.test_db.db, &number)
        .await
        .unwrap()
        .unwrap();
    let property = resiflex_store::accounts::properties_of_account(&app.test_db.db, account.id)
        .await
        .unwrap()
        .remove(0);
    let user = user_auth(app, email).await;
    (number, account.id, property.id, user)
}

struct World {
    app: TestApp,
    number: String,
    user: String,
    other_user: String,
    device_id: String,
    control: resiflex_control::ControlLoop,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let now = app.clock.now();
    let (number, account_id, property_id, user) =
        customer(&app, "Org One", "ada@example.com").await;
    let (_, _, _, other_user) = customer(&app, "Org Two", "bob@example.com").await;

    // A car at 40 % behind the simulated Tesla cloud, registered on the account.
    let cloud = app.sandbox.simulator("TESLA").unwrap().clone();
    let code = cloud.simulator().approve(
        "ada",
        vec![SimDeviceSpec {
            initial_soc_pct: Some(40.0),
            ..SimDeviceSpec::vehicle("Tesla", "Model 3", 57_500, 7_400)
        }],
        now,
    );
    let grant = cloud.complete_authorization(&code, now).await.unwrap();
    let remote = cloud.devices(&grant, now).await.unwrap().remove(0);
    let stored = store::insert_grant(
        &app.test_db.db,
        account_id,
        resiflex_domain::device::Provider::Tesla,
        &grant.subject,
        &grant.secret,
        now,
    )
    .await
    .unwrap();
    let device = Device {
        grant_id: Some(stored.id),
        name: "Ada's car".into(),
        make: "Tesla".into(),
        model: "Model 3".into(),
        battery_capacity_wh: Some(57_500),
        max_power_w: Some(7_400),
        grid_export: resiflex_domain::device::FlexSetting::Disabled,
        preferences: None,
        ..Device::live(
            "ada-car",
            (account_id, property_id),
            DeviceKind::ElectricVehicle,
            resiflex_domain::device::Provider::Tesla,
            remote.remote_id,
            now,
        )
    };
    store::insert_device(&app.test_db.db, &device)
        .await
        .unwrap();

    // A day-ahead tariff for the property.
    let tariff = Tariff {
        code: "AGILE-TEST".into(),
        name: "Agile".into(),
        currency: "GBP".into(),
        time_zone: "Europe/London".into(),
        slot_minutes: 30,
    };
    let rates = tariff::generate_day_ahead(&tariff, now.date_naive(), 3, 5).unwrap();
    let imported =
        resiflex_store::tariffs::import_rates(&app.test_db.db, &tariff, None, &rates, now)
            .await
            .unwrap();
    resiflex_store::tariffs::assign_tariff_to_account(
        &app.test_db.db,
        account_id,
        imported.tariff.id,
        now - Duration::days(1),
        now,
    )
    .await
    .unwrap();

    let mut registry = ProviderRegistry::default();
    registry.register(resiflex_domain::device::Provider::Tesla, cloud);
    let control = resiflex_control::ControlLoop::new(
        app.test_db.db.clone(),
        Arc::new(registry),
        Arc::new(app.clock.clone()),
        app.config.control,
    );
    World {
        app,
        number,
        user,
        other_user,
        device_id: device.id,
        control,
    }
}

/// Exactly the document E.ON- and Italy-style clients send.
const FLEX_PLANNED: &str = "query getPlanned($deviceId: String!) { flexPlannedDispatches(deviceId: $deviceId) { start end type energyAddedKwh } }";

impl World {
    async fn planned(&self) -> Vec<Value> {
        let body = self
            .app
            .graphql_as(
                Some(&self.user),
                FLEX_PLANNED,
                json!({ "deviceId": self.device_id }),
            )
            .await;
        body["data"]["flexPlannedDispatches"]
            .as_array()
            .unwrap_or_else(|| panic!("planned dispatches: {body}"))
            .clone()
    }

    async fn set_preferences(&self, max: u32, time: &str) -> Value {
        let schedules: Vec<Value> = [
            "MONDAY",
            "TUESDAY",
            "WEDNESDAY",
            "THURSDAY",
            "FRIDAY",
            "SATURDAY",
            "SUNDAY",
        ]
        .iter()
        .map(|day| json!({ "dayOfWeek": day, "time": time, "max": max }))
        .collect();
        self.app
            .graphql_as(
                Some(&self.user),
                "mutation($input: SmartFlexDevicePreferencesInput!) { setDevicePreferences(input: $input) { id } }",
                json!({ "input": { "deviceId": self.device_id, "mode": "CHARGE", "unit": "PERCENTAGE", "schedules": schedules } }),
            )
            .await
    }
}

fn kwh(value: &Value) -> f64 {
    value
        .as_str()
        .map_or_else(|| value.as_f64().unwrap(), |s| s.parse().unwrap())
}

#[tokio::test]
async fn planned_dispatches_follow_the_plan_and_its_changes() {
    let w = world().await;
    // The first tick reads the car and plans it.
    w.control.tick().await.unwrap();
    let body = w.set_preferences(80, "07:30").await;
    assert!(body["errors"].is_null(), "{body}");

    let planned = w.planned().await;
    assert!(!planned.is_empty(), "the car is planned");
    let mut total = 0.0;
    let mut previous_end = String::new();
    for dispatch in &planned {
        assert_eq!(dispatch["type"], "SMART");
        let start = dispatch["start"].as_str().unwrap();
        let end = dispatch["end"].as_str().unwrap();
        assert!(
            start.ends_with('Z') || start.contains('+'),
            "times carry an offset: {start}"
        );
        assert!(
            start >= previous_end.as_str() && end > start,
            "time order: {planned:?}"
        );
        previous_end = end.to_owned();
        total += kwh(&dispatch["energyAddedKwh"]);
    }
    // 40 % → 80 % of 57.5 kWh through a 90 % efficient charger.
    assert!((total - 25.556).abs() < 0.05, "{total}");
    assert!(
        planned
            .iter()
            .all(|d| d["end"].as_str().unwrap() <= "2026-11-28T07:30:00+00:00"),
        "{planned:?}"
    );

    // The deprecated account-wide form: the same dispatches, import negative.
    let body = w
        .app
        .graphql_as(
            Some(&w.user),
            "query($n: String!) { plannedDispatches(accountNumber: $n) { start end delta meta { source location } } }",
            json!({ "n": w.number }),
        )
        .await;
    let account_wide = body["data"]["plannedDispatches"].as_array().unwrap();
    assert_eq!(account_wide.len(), planned.len());
    assert_eq!(account_wide[0]["meta"]["source"], "smart-charge");
    assert!(kwh(&account_wide[0]["delta"]) < 0.0);

    // The plan itself: why, the goal and the rates it was made with.
    let body = w
        .app
        .graphql_as(
            Some(&w.user),
            "query($d: String!) { smartFlexDevicePlan(deviceId: $d) { version trigger kind outcome readyBy targetStateOfCharge achievableStateOfCharge targetReached rates { validFrom validTo unitRate carbonIntensity } dispatches { start type } } }",
            json!({ "d": w.device_id }),
        )
        .await;
    let plan = &body["data"]["smartFlexDevicePlan"];
    assert_eq!(plan["trigger"], "PREFERENCES_CHANGED", "{body}");
    assert_eq!(plan["kind"], "SMART");
    assert_eq!(plan["targetReached"], true);
    assert_eq!(plan["readyBy"], "2026-11-28T07:30:00+00:00");
    let rates = plan["rates"].as_array().unwrap();
    assert!(
        rates.len() >= 38,
        "every half-hour from noon to 07:30: {}",
        rates.len()
    );
    assert!(rates[0]["carbonIntensity"].is_string() || rates[0]["carbonIntensity"].is_number());

    // A boost replaces the plan at once with a full-power dispatch from now.
    let body = w
        .app
        .graphql_as(
            Some(&w.user),
            "mutation($input: UpdateBoostChargeInput!) { updateBoostCharge(input: $input) { id } }",
            json!({ "input": { "deviceId": w.device_id, "action": "BOOST" } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let planned = w.planned().await;
    assert_eq!(planned.len(), 1, "{planned:?}");
    assert_eq!(planned[0]["type"], "BOOST");
    assert_eq!(planned[0]["start"], "2026-11-27T12:00:00+00:00");

    // Cancelling goes back to smart charging.
    w.app
        .graphql_as(
            Some(&w.user),
            "mutation($input: UpdateBoostChargeInput!) { updateBoostCharge(input: $input) { id } }",
            json!({ "input": { "deviceId": w.device_id, "action": "CANCEL" } }),
        )
        .await;
    assert!(w.planned().await.iter().all(|d| d["type"] == "SMART"));

    // Suspended devices plan nothing; resumed ones are planned again.
    let suspend = |action: &str| json!({ "input": { "deviceId": w.device_id, "action": action } });
    w.app
        .graphql_as(Some(&w.user), "mutation($input: SmartControlInput!) { updateDeviceSmartControl(input: $input) { id } }", suspend("SUSPEND"))
        .await;
    assert!(w.planned().await.is_empty());
    w.app
        .graphql_as(Some(&w.user), "mutation($input: SmartControlInput!) { updateDeviceSmartControl(input: $input) { id } }", suspend("UNSUSPEND"))
        .await;
    assert!(!w.planned().await.is_empty());
}

#[tokio::test]
async fn another_customer_cannot_read_the_plan() {
    let w = world().await;
    w.control.tick().await.unwrap();
    let body = w
        .app
        .graphql_as(
            Some(&w.other_user),
            FLEX_PLANNED,
            json!({ "deviceId": w.device_id }),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4301");
    let body = w
        .app
        .graphql_as(
            Some(&w.other_user),
            "query($n: String!) { plannedDispatches(accountNumber: $n) { start } }",
            json!({ "n": w.number }),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-1111");
    let body = w
        .app
        .graphql_as(None, FLEX_PLANNED, json!({ "deviceId": w.device_id }))
        .await;
    assert_eq!(error_code(&body), "KT-CT-1112");
    // An unknown device reads as not found, like one that is not yours.
    let body = w
        .app
        .graphql_as(Some(&w.user), FLEX_PLANNED, json!({ "deviceId": "nope" }))
        .await;
    assert_eq!(error_code(&body), "KT-CT-4301");
}
