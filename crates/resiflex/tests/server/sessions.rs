//! What happened, over HTTP: `completedDispatches` and `chargingSessions` in the shapes Kraken's
//! clients read, sessions paged by their start times, and who may see them. Sessions and completed
//! dispatches are put straight into the database, as the control loop writes them.

use crate::harness;

use harness::scenario::{open_account, organisation_auth, user_auth};

use chrono::{DateTime, Duration, Utc};
use harness::{TestApp, error_code, start_instant};
use resiflex_store::devices::{self as store, Device};
use resiflex_store::sessions::{self, ChargingSessionRecord, CompletedDispatch};
use serde_json::{Value, json};

struct World {
    app: TestApp,
    user: String,
    stranger: String,
    number: String,
    device_id: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let org = organisation_auth(&app, "Org").await;
    let mut numbers = Vec::new();
    for email in ["a@example.com", "b@example.com"] {
        numbers.push(open_account(&app, &org, email).await);
    }
    let user = user_auth(&app, "a@example.com").await;
    let stranger = user_auth(&app, "b@example.com").await;
    let account = resiflex_store::accounts::account_by_number(&app.test_db.db, &numbers[0])
        .await
        .unwrap()
        .unwrap();
    let property = resiflex_store::accounts::properties_of_account(&app.test_db.db, account.id)
        .await
        .unwrap()
        .remove(0);
    let now = start_instant() - Duration::days(10);
    let device = Device {
        name: "Car".into(),
        make: "Tesla".into(),
        model: "Model 3".into(),
        battery_capacity_wh: Some(57_500),
        max_power_w: Some(7_400),
        preferences: None,
        ..Device::live(
            "car-1",
            (account.id, property.id),
            resiflex_domain::device::DeviceKind::ElectricVehicle,
            resiflex_domain::device::Provider::Tesla,
            "remote-car-1",
            now,
        )
    };
    store::insert_device(&app.test_db.db, &device)
        .await
        .unwrap();
    World {
        app,
        user,
        stranger,
        number: numbers.remove(0),
        device_id: device.id,
    }
}

/// Evening `day` (counting back from the server's start) at 20:00.
fn evening(day: i64) -> DateTime<Utc> {
    start_instant() - Duration::days(day) + Duration::hours(8)
}

fn session(device_id: &str, day: i64, kind: &str) -> ChargingSessionRecord {
    let start = evening(day);
    ChargingSessionRecord {
        device_id: device_id.into(),
        start_at: start,
        end_at: Some(start + Duration::hours(11)),
        session_type: kind.into(),
        target_type: "ABSOLUTE_STATE_OF_CHARGE".into(),
        energy_added_wh: 19_117,
        cost_minor: Some(287),
        currency: Some("GBP".into()),
        start_soc_pct: Some(50.0),
        final_soc_pct: Some(79.9),
        target_soc_pct: Some(80.0),
        original_achievable_soc_pct: Some(80.0),
        achievable_soc_pct: Some(80.0),
        problem_kind: None,
        problem_cause: None,
        dispatches: json!([{
            "start": start + Duration::hours(5),
            "end": start + Duration::hours(8),
            "kind": "SMART",
            "energyWh": 19_117,
        }]),
        updated_at: start + Duration::hours(11),
    }
}

const SESSIONS: &str = r#"query($n: String!, $first: Int, $last: Int, $before: DateTime, $after: DateTime, $types: [ChargingSessionType]) {
  devices(accountNumber: $n) {
    __typename
    ... on SmartFlexVehicle {
      chargingSessions(first: $first, last: $last, before: $before, after: $after, sessionTypes: $types) {
        edges { cursor node {
          __typename start end energyAdded { value unit } cost { amount currency }
          stateOfChargeChange stateOfChargeFinal
          ... on SmartFlexChargingSession {
            type targetType dispatches { start end type energyAddedKwh }
            problems {
              __typename
              ... on SmartFlexChargingError { cause }
              ... on SmartFlexChargingTruncation { truncationCause originalAchievableStateOfCharge achievableStateOfCharge }
            }
          }
        } }
        pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
      }
    }
  }
}"#;

impl World {
    async fn sessions(&self, variables: Value) -> Value {
        let mut variables = variables;
        variables["n"] = json!(self.number);
        let body = self
            .app
            .graphql_as(Some(&self.user), SESSIONS, variables)
            .await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["devices"][0]["chargingSessions"].clone()
    }
}

fn starts(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["start"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn charging_sessions_come_newest_first_in_kraken_shapes_and_page_by_start() {
    let w = world().await;
    let db = &w.app.test_db.db;
    let mut truncated = session(&w.device_id, 3, "SMART");
    truncated.problem_kind = Some("TRUNCATION".into());
    truncated.problem_cause = Some("DISCONNECTED".into());
    truncated.achievable_soc_pct = Some(61.4);
    truncated.final_soc_pct = Some(61.4);
    let mut failed = session(&w.device_id, 2, "BOOST");
    failed.problem_kind = Some("ERROR".into());
    failed.problem_cause = Some("SOC_LIMIT_REACHED".into());
    let mut public = session(&w.device_id, 1, "PUBLIC");
    public.cost_minor = None;
    public.currency = None;
    let mut open = session(&w.device_id, 0, "SMART");
    open.end_at = None;
    for s in [&truncated, &failed, &public, &open] {
        sessions::upsert_session(db, s).await.unwrap();
    }

    let all = w.sessions(json!({"first": 10})).await;
    assert_eq!(all["edges"].as_array().unwrap().len(), 4, "{all}");
    let newest = &all["edges"][0]["node"];
    assert_eq!(newest["end"], Value::Null, "open: {all}");
    assert_eq!(all["edges"][0]["cursor"], newest["start"]);
    let first = &all["edges"][3]["node"];
    assert_eq!(first["__typename"], "SmartFlexChargingSession");
    assert_eq!(
        first["energyAdded"],
        json!({"value": "19.12", "unit": "KILOWATT_HOUR"})
    );
    assert_eq!(first["cost"], json!({"amount": 287, "currency": "GBP"}));
    assert_eq!(first["stateOfChargeChange"], 11);
    assert_eq!(first["stateOfChargeFinal"], 61);
    assert_eq!(first["type"], "SMART");
    assert_eq!(first["targetType"], "ABSOLUTE_STATE_OF_CHARGE");
    assert_eq!(first["dispatches"][0]["type"], "SMART");
    assert_eq!(first["dispatches"][0]["energyAddedKwh"], "19.117");
    assert_eq!(
        first["problems"],
        json!({"__typename": "SmartFlexChargingTruncation", "truncationCause": "DISCONNECTED",
               "originalAchievableStateOfCharge": 80, "achievableStateOfCharge": 61})
    );
    let boost = &all["edges"][2]["node"];
    assert_eq!(boost["type"], "BOOST");
    assert_eq!(
        boost["problems"],
        json!({"__typename": "SmartFlexChargingError", "cause": "SOC_LIMIT_REACHED"})
    );
    let away = &all["edges"][1]["node"];
    assert_eq!(away["__typename"], "PublicChargingSession");
    assert_eq!(away["cost"], Value::Null);
    assert_eq!(
        all["pageInfo"],
        json!({"startCursor": newest["start"], "endCursor": first["start"],
               "hasNextPage": false, "hasPreviousPage": false})
    );

    // Pages of two, following endCursor with `before`.
    let page = w.sessions(json!({"first": 2})).await;
    assert_eq!(starts(&page), starts(&all)[..2]);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let next = w
        .sessions(json!({"first": 2, "before": page["pageInfo"]["endCursor"]}))
        .await;
    assert_eq!(starts(&next), starts(&all)[2..]);
    assert_eq!(next["pageInfo"]["hasNextPage"], false);
    // `after` is inclusive; `last` takes the oldest.
    let since = w
        .sessions(json!({"first": 10, "after": all["edges"][1]["cursor"]}))
        .await;
    assert_eq!(starts(&since), starts(&all)[..2]);
    let oldest = w.sessions(json!({"last": 1})).await;
    assert_eq!(starts(&oldest), starts(&all)[3..]);
    assert_eq!(oldest["pageInfo"]["hasPreviousPage"], true);
    // By type.
    let boosts = w
        .sessions(json!({"first": 10, "types": ["BOOST", "PUBLIC"]}))
        .await;
    assert_eq!(
        starts(&boosts),
        [starts(&all)[1].clone(), starts(&all)[2].clone()]
    );

    // `after` must be earlier than `before`.
    let body = w
        .app
        .graphql_as(
            Some(&w.user),
            SESSIONS,
            json!({"n": w.number, "first": 5, "after": "2026-11-20T00:00:00Z", "before": "2026-11-20T00:00:00Z"}),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-1605", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("`after` must be earlier than `before`"),
        "{body}"
    );
}

#[tokio::test]
async fn completed_dispatches_are_newest_first_merged_with_import_negative() {
    let w = world().await;
    let db = &w.app.test_db.db;
    let slot = |day: i64, hour: i64, minutes: i64, kind: &str, wh: i64| {
        let start = evening(day) + Duration::hours(hour);
        CompletedDispatch {
            device_id: w.device_id.clone(),
            start_at: start,
            end_at: start + Duration::minutes(minutes),
            kind: kind.into(),
            energy_wh: wh,
            location: "AT_HOME".into(),
            plan_version: 1,
            recorded_at: start + Duration::minutes(minutes),
        }
    };
    let mut second_half = slot(1, 6, 30, "SMART", 1_700);
    second_half.start_at += Duration::minutes(30);
    second_half.end_at += Duration::minutes(30);
    sessions::upsert_completed_dispatches(
        db,
        &[
            slot(2, 5, 30, "SMART", 1_700),
            slot(1, 6, 30, "SMART", 1_670),
            second_half,
            slot(0, 1, 45, "BOOST", 5_550),
        ],
    )
    .await
    .unwrap();

    let query = r#"query($n: String!) { completedDispatches(accountNumber: $n) {
        start end delta deltaKwh startDt endDt meta { source location } } }"#;
    let body = w
        .app
        .graphql_as(Some(&w.user), query, json!({"n": w.number}))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let list = body["data"]["completedDispatches"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(list.len(), 3, "two touching half hours are one: {body}");
    assert_eq!(
        list[0]["meta"],
        json!({"source": "bump-charge", "location": "AT_HOME"})
    );
    assert_eq!(list[0]["delta"], "-5.55");
    assert_eq!(list[1]["delta"], "-3.37");
    assert_eq!(list[1]["meta"]["source"], "smart-charge");
    assert_eq!(list[1]["start"], list[1]["startDt"]);
    let span = |d: &Value| {
        let at = |f: &str| DateTime::parse_from_rfc3339(d[f].as_str().unwrap()).unwrap();
        at("end") - at("start")
    };
    assert_eq!(span(&list[1]), Duration::hours(1));
    assert!(
        list.windows(2)
            .all(|p| p[0]["start"].as_str() > p[1]["start"].as_str()),
        "newest first"
    );

    // Another account's user is refused like a stranger to any account.
    let body = w
        .app
        .graphql_as(Some(&w.stranger), query, json!({"n": w.number}))
        .await;
    assert_eq!(error_code(&body), "KT-CT-1111", "{body}");
    let body = w
        .app
        .graphql_as(Some(&w.user), query, json!({"n": "A-00000000"}))
        .await;
    assert_eq!(error_code(&body), "KT-CT-1111", "{body}");
}
