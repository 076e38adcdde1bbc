//! The heat-pump controller operations as home-automation clients send them, against the real
//! server and a simulated heat pump: discovery by property, the four reads in one document with
//! literal arguments (each key present, `null` beside its error when one fails), performance from
//! the heat pump's meters, and changes that answer with transaction ids, show in the next read
//! once the heat pump accepted them, and take a room zone run by hand out of smart control.

use crate::harness;

use chrono::Duration;
use harness::household::{commands, current_plan, heat_pump, household};
use harness::scenario::{open_account, organisation_auth, user_auth};
use harness::{TestApp, error_code, error_codes};
use resiflex_domain::Clock as _;
use resiflex_domain::command::Command;
use resiflex_domain::heat::{Zone, ZoneMode};
use resiflex_domain::plan::PlanKind;
use serde_json::{Value, json};

/// The four reads, as one widely used client sends them: one document, literal arguments.
fn four_reads(number: &str, euid: &str, status_euid: &str) -> String {
    format!(
        r#"query {{
  heatPumpControllerStatus(accountNumber: "{number}", euid: "{status_euid}") {{
    sensors {{ code
      connectivity {{ online retrievedAt }}
      telemetry {{ temperatureInCelsius humidityPercentage voltage retrievedAt }} }}
    zones {{ zone
      telemetry {{ setpointInCelsius mode relaySwitchedOn heatDemand retrievedAt }} }}
  }}
  heatPumpLivePerformance(accountNumber: "{number}", euid: "{euid}") {{
    coefficientOfPerformance
    outdoorTemperature {{ value unit }}
    heatOutput {{ value unit }}
    powerInput {{ value unit }}
    readAt
  }}
  heatPumpControllerConfiguration(accountNumber: "{number}", euid: "{euid}") {{
    controller {{ state heatPumpTimezone connected }}
    heatPump {{
      serialNumber model hardwareVersion maxWaterSetpoint minWaterSetpoint
      heatingFlowTemperature {{
        currentTemperature {{ value unit }}
        allowableRange {{ minimum {{ value unit }} maximum {{ value unit }} }} }}
      weatherCompensation {{
        enabled
        currentRange {{ minimum {{ value unit }} maximum {{ value unit }} }} }}
    }}
    zones {{ configuration {{
      code zoneType enabled displayName primarySensor
      currentOperation {{ mode setpointInCelsius action end }}
      callForHeat heatDemand emergency
      sensors {{
        ... on ADCSensorConfiguration {{ code displayName type enabled }}
        ... on ZigbeeSensorConfiguration {{ code displayName type firmwareVersion boostEnabled }} }} }} }}
  }}
  heatPumpLifetimePerformance(accountNumber: "{number}", euid: "{euid}") {{
    seasonalCoefficientOfPerformance
    heatOutput {{ value unit }}
    energyInput {{ value unit }}
    readAt
  }}
}}"#
    )
}

/// A household with one simulated heat pump that has been planned and has run for two and a half
/// hours, with a token of its user's made now (the household's first one has expired by then).
async fn running_heat_pump(app: &TestApp, email: &str) -> (harness::household::Household, String) {
    let home = household(app, email, &[heat_pump(3_000, 19.0)]).await;
    for _ in 0..5 {
        home.control.tick().await.unwrap();
        app.clock.advance(Duration::minutes(30));
    }
    home.control.tick().await.unwrap();
    let home = harness::household::Household {
        user: user_auth(app, email).await,
        ..home
    };
    let discovery = format!(
        r#"query {{ heatPumpControllersAtLocation(accountNumber: "{}", propertyId: "{}") {{ controller {{ euid }} heatPumpModel location {{ propertyId }} provisionedAt }} }}"#,
        home.number, home.property_id
    );
    let body = app
        .graphql_as(Some(&home.user), &discovery, Value::Null)
        .await;
    let found = body["data"]["heatPumpControllersAtLocation"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .clone();
    assert_eq!(found.len(), 1, "{body}");
    assert_eq!(
        found[0]["location"]["propertyId"],
        home.property_id.to_string()
    );
    let euid = found[0]["controller"]["euid"].as_str().unwrap().to_owned();
    (home, euid)
}

fn zone<'a>(zones: &'a Value, name: &str, key: &str) -> &'a Value {
    zones
        .as_array()
        .and_then(|zones| {
            zones.iter().find(|z| {
                let at = if key.is_empty() { *z } else { &z[key] };
                at["zone"] == name || at["code"] == name
            })
        })
        .unwrap_or_else(|| panic!("no zone {name} in {zones}"))
}

#[tokio::test]
async fn the_four_reads_answer_in_one_document_and_a_failing_one_stays_beside_its_error() {
    let app = TestApp::spawn().await;
    let (home, euid) = running_heat_pump(&app, "ada@example.com").await;

    // The property id as a number literal finds the same controller.
    let by_number = format!(
        r#"query {{ heatPumpControllersAtLocation(accountNumber: "{}", propertyId: {}) {{ controller {{ euid }} }} }}"#,
        home.number, home.property_id
    );
    let body = app
        .graphql_as(Some(&home.user), &by_number, Value::Null)
        .await;
    assert_eq!(
        body["data"]["heatPumpControllersAtLocation"][0]["controller"]["euid"],
        euid.as_str(),
        "{body}"
    );

    let body = app
        .graphql_as(
            Some(&home.user),
            &four_reads(&home.number, &euid, &euid),
            Value::Null,
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let data = &body["data"];
    let status = &data["heatPumpControllerStatus"];
    let room = zone(&status["zones"], "ZONE_1", "");
    assert_eq!(room["telemetry"]["mode"], "AUTO", "{status}");
    assert!(room["telemetry"]["setpointInCelsius"].as_f64().unwrap() >= 19.0);
    let sensor = status["sensors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "SENSOR01")
        .unwrap();
    assert_eq!(sensor["connectivity"]["online"], true, "{sensor}");
    assert!(
        sensor["telemetry"]["temperatureInCelsius"]
            .as_f64()
            .is_some()
    );

    let live = &data["heatPumpLivePerformance"];
    assert_eq!(live["powerInput"]["unit"], "KILOWATT", "{live}");
    assert_eq!(live["outdoorTemperature"]["unit"], "DEGREES_CELSIUS");
    assert!(live["readAt"].is_string());

    let config = &data["heatPumpControllerConfiguration"];
    assert_eq!(
        config["controller"]["heatPumpTimezone"],
        "GMT0BST,M3.5.0/1,M10.5.0"
    );
    assert_eq!(config["controller"]["state"], json!(["NORMAL_MODE"]));
    let pump = &config["heatPump"];
    assert_eq!(pump["maxWaterSetpoint"], 60.0);
    assert_eq!(pump["weatherCompensation"]["enabled"], true);
    assert_eq!(
        pump["weatherCompensation"]["currentRange"]["maximum"]["value"],
        "55.0"
    );
    let room = zone(&config["zones"], "ZONE_1", "configuration");
    assert_eq!(room["configuration"]["zoneType"], "HEAT");
    assert_eq!(room["configuration"]["primarySensor"], "SENSOR01");
    assert_eq!(
        room["configuration"]["currentOperation"]["end"],
        "1970-01-01T00:00:00+00:00"
    );
    assert_eq!(room["configuration"]["sensors"][0]["type"], "ZIGBEE");
    let water = zone(&config["zones"], "WATER", "configuration");
    assert_eq!(water["configuration"]["zoneType"], "WATER");
    assert_eq!(water["configuration"]["sensors"][0]["type"], "NTC");

    // The meters: two hours of heating, with more heat out than electricity in.
    let lifetime = &data["heatPumpLifetimePerformance"];
    let kwh = |v: &Value| v["value"].as_str().unwrap().parse::<f64>().unwrap();
    assert_eq!(lifetime["energyInput"]["unit"], "KILOWATT_HOUR");
    let input = kwh(&lifetime["energyInput"]);
    let output = kwh(&lifetime["heatOutput"]);
    assert!(input > 0.5 && output > input * 1.5, "{lifetime}");
    let scop: f64 = lifetime["seasonalCoefficientOfPerformance"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((scop - output / input).abs() < 0.02, "{lifetime}");

    // One root that fails keeps its key, as null, beside its error; the others still answer.
    let body = app
        .graphql_as(
            Some(&home.user),
            &four_reads(&home.number, &euid, "0000000000000000"),
            Value::Null,
        )
        .await;
    let data = body["data"].as_object().unwrap_or_else(|| panic!("{body}"));
    assert_eq!(data.len(), 4, "{body}");
    assert!(data["heatPumpControllerStatus"].is_null());
    assert!(data["heatPumpControllerConfiguration"].is_object());
    assert_eq!(error_codes(&body), vec!["OE-0315".to_owned()]);
}

#[tokio::test]
async fn performance_over_a_range_and_in_buckets_comes_from_the_meters() {
    let app = TestApp::spawn().await;
    let (home, euid) = running_heat_pump(&app, "ada@example.com").await;
    let start = harness::start_instant();
    let end = start + Duration::hours(2);
    let ranged = format!(
        r#"query {{ heatPumpTimeRangedPerformance(accountNumber: "{}", euid: "{euid}", startAt: "{}", endAt: "{}") {{ coefficientOfPerformance energyInput {{ value unit }} energyOutput {{ value unit }} }} }}"#,
        home.number,
        start.to_rfc3339(),
        end.to_rfc3339()
    );
    let body = app.graphql_as(Some(&home.user), &ranged, Value::Null).await;
    let range = &body["data"]["heatPumpTimeRangedPerformance"];
    let kwh = |v: &Value| v["value"].as_str().unwrap().parse::<f64>().unwrap();
    let input = kwh(&range["energyInput"]);
    assert!(input > 0.0, "{body}");
    assert!(kwh(&range["energyOutput"]) > input);

    let series = format!(
        r#"query {{ heatPumpTimeSeriesPerformance(accountNumber: "{}", euid: "{euid}", startAt: "{}", endAt: "{}", performanceGrouping: DAY) {{ startAt endAt energyInput {{ value }} energyOutput {{ value }} outdoorTemperature {{ value unit }} }} }}"#,
        home.number,
        start.to_rfc3339(),
        end.to_rfc3339()
    );
    let body = app.graphql_as(Some(&home.user), &series, Value::Null).await;
    let buckets = body["data"]["heatPumpTimeSeriesPerformance"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(buckets.len(), 2, "hourly buckets: {body}");
    let summed: f64 = buckets.iter().map(|b| kwh(&b["energyInput"])).sum();
    assert!((summed - input).abs() < 0.002, "{summed} vs {input}");

    // A backwards range and too many buckets are refused.
    let backwards = ranged.replace(
        &end.to_rfc3339(),
        &(start - Duration::hours(1)).to_rfc3339(),
    );
    let body = app
        .graphql_as(Some(&home.user), &backwards, Value::Null)
        .await;
    assert_eq!(error_code(&body), "OE-0315");
    let long = series
        .replace(
            &end.to_rfc3339(),
            &(start + Duration::days(30)).to_rfc3339(),
        )
        .replace("DAY", "LIVE");
    let body = app.graphql_as(Some(&home.user), &long, Value::Null).await;
    assert_eq!(error_code(&body), "OE-0315", "{body}");
    assert!(body["data"]["heatPumpTimeSeriesPerformance"].is_null());
}

#[tokio::test]
async fn changes_answer_with_transactions_and_show_in_the_next_read() {
    let app = TestApp::spawn().await;
    let (home, euid) = running_heat_pump(&app, "ada@example.com").await;
    let number = &home.number;
    let send = |doc: String| {
        let user = home.user.clone();
        let app = &app;
        async move { app.graphql_as(Some(&user), &doc, Value::Null).await }
    };
    let config = |number: &str| {
        format!(
            r#"query {{ heatPumpControllerConfiguration(accountNumber: "{number}", euid: "{euid}") {{ heatPump {{ quieterModeEnabled heatingFlowTemperature {{ currentTemperature {{ value }} }} weatherCompensation {{ enabled currentRange {{ minimum {{ value }} maximum {{ value }} }} }} }} zones {{ configuration {{ code currentOperation {{ mode setpointInCelsius action end }} }} }} }} }}"#
        )
    };

    // Hush mode: arguments with no commas, as the client sends them.
    let body = send(format!(
        r#"mutation {{ heatPumpSetHushMode(accountNumber: "{number}" euid: "{euid}" hushModeEnabled: true) {{ transactionId }} }}"#
    ))
    .await;
    let id = body["data"]["heatPumpSetHushMode"]["transactionId"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let read = send(config(number)).await;
    assert_eq!(
        read["data"]["heatPumpControllerConfiguration"]["heatPump"]["quieterModeEnabled"],
        true
    );
    // Off again: a second change is a transaction of its own and reaches the heat pump.
    let body = send(format!(
        r#"mutation {{ heatPumpSetHushMode(accountNumber: "{number}" euid: "{euid}" hushModeEnabled: false) {{ transactionId }} }}"#
    ))
    .await;
    assert_ne!(body["data"]["heatPumpSetHushMode"]["transactionId"], id);
    let sent: Vec<Command> = commands(&app, &home.device_ids[0]).await;
    let hush: Vec<bool> = sent
        .iter()
        .filter_map(|c| match c {
            Command::SetHushMode { enabled } => Some(*enabled),
            _ => None,
        })
        .collect();
    assert_eq!(hush, vec![true, false]);

    // Flow temperature with quoted decimal values.
    let flow = |maximum: &str| {
        format!(
            r#"mutation {{ heatPumpUpdateFlowTemperatureConfiguration(accountNumber: "{number}" euid: "{euid}"
  flowTemperatureInput: {{
    useWeatherCompensation: false,
    flowTemperature: {{ value: "42.5", unit: DEGREES_CELSIUS }},
    weatherCompensationValues: {{
      minimum: {{ value: "32.0", unit: DEGREES_CELSIUS }},
      maximum: {{ value: "{maximum}", unit: DEGREES_CELSIUS }} }} }}
) {{ transactionIds {{ attributeName transactionId }} }} }}"#
        )
    };
    let body = send(flow("52.0")).await;
    let ids = body["data"]["heatPumpUpdateFlowTemperatureConfiguration"]["transactionIds"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(ids.len(), 3);
    let read = send(config(number)).await;
    let pump = &read["data"]["heatPumpControllerConfiguration"]["heatPump"];
    assert_eq!(
        pump["heatingFlowTemperature"]["currentTemperature"]["value"],
        "42.5"
    );
    assert_eq!(pump["weatherCompensation"]["enabled"], false);
    assert_eq!(
        pump["weatherCompensation"]["currentRange"]["maximum"]["value"],
        "52.0"
    );
    // Out of range: refused, and nothing changes.
    let body = send(flow("70.0")).await;
    assert_eq!(error_code(&body), "OE-0315", "{body}");
    let again = send(config(number)).await;
    assert_eq!(again, read);

    // A room set-point out of range is refused.
    let mode = |params: &str| {
        format!(
            r#"mutation {{ heatPumpSetZoneMode(accountNumber: "{number}", euid: "{euid}", operationParameters: {params}) {{ transactionId }} }}"#
        )
    };
    let body = send(mode("{ zone: ZONE_1, mode: ON, setpointInCelsius: 35 }")).await;
    assert_eq!(error_code(&body), "OE-0315", "{body}");

    // The room zone off by hand: smart control leaves the heat pump alone, and it stays off.
    let body = send(mode("{ zone: ZONE_1, mode: OFF }")).await;
    assert!(
        body["data"]["heatPumpSetZoneMode"]["transactionId"].is_string(),
        "{body}"
    );
    let plan = current_plan(&app, &home.device_ids[0]).await;
    assert_eq!(plan.kind, PlanKind::Idle, "{plan:?}");
    for _ in 0..2 {
        app.clock.advance(Duration::minutes(30));
        home.control.tick().await.unwrap();
    }
    let user = user_auth(&app, "ada@example.com").await;
    let send = |doc: String| {
        let user = user.clone();
        let app = &app;
        async move { app.graphql_as(Some(&user), &doc, Value::Null).await }
    };
    let status = format!(
        r#"query {{ heatPumpControllerStatus(accountNumber: "{number}", euid: "{euid}") {{ zones {{ zone telemetry {{ mode relaySwitchedOn }} }} }} heatPumpLivePerformance(accountNumber: "{number}", euid: "{euid}") {{ powerInput {{ value }} }} }}"#
    );
    let body = send(status.clone()).await;
    let room = zone(
        &body["data"]["heatPumpControllerStatus"]["zones"],
        "ZONE_1",
        "",
    );
    assert_eq!(room["telemetry"]["mode"], "OFF");
    assert_eq!(room["telemetry"]["relaySwitchedOn"], false);
    assert_eq!(
        body["data"]["heatPumpLivePerformance"]["powerInput"]["value"], "0.0",
        "{body}"
    );
    assert_eq!(
        current_plan(&app, &home.device_ids[0]).await.kind,
        PlanKind::Idle
    );

    // A hot-water boost with an end, then the room back to AUTO: smart control again.
    let end = (app.clock.now() + Duration::hours(1)).to_rfc3339();
    let body = send(mode(&format!(
        r#"{{ zone: WATER, mode: BOOST, setpointInCelsius: 50, endAt: "{end}" }}"#
    )))
    .await;
    assert!(
        body["data"]["heatPumpSetZoneMode"]["transactionId"].is_string(),
        "{body}"
    );
    let body = send(mode(
        "{ zone: ZONE_1, mode: AUTO, setpointInCelsius: 21.5 }",
    ))
    .await;
    assert!(
        body["data"]["heatPumpSetZoneMode"]["transactionId"].is_string(),
        "{body}"
    );
    assert_eq!(
        current_plan(&app, &home.device_ids[0]).await.kind,
        PlanKind::Smart
    );
    let read = send(config(number)).await;
    let zones = &read["data"]["heatPumpControllerConfiguration"]["zones"];
    let water = zone(zones, "WATER", "configuration");
    assert_eq!(water["configuration"]["currentOperation"]["mode"], "BOOST");
    let room = zone(zones, "ZONE_1", "configuration");
    assert_eq!(
        room["configuration"]["currentOperation"]["setpointInCelsius"],
        21.5
    );
    let zone_modes: Vec<(Zone, ZoneMode)> = commands(&app, &home.device_ids[0])
        .await
        .iter()
        .filter_map(|c| match c {
            Command::SetZoneMode(op) => Some((op.zone, op.mode)),
            _ => None,
        })
        .collect();
    assert_eq!(
        zone_modes,
        vec![
            (Zone::Zone1, ZoneMode::Off),
            (Zone::Water, ZoneMode::Boost),
            (Zone::Zone1, ZoneMode::Auto)
        ]
    );

    // Schedules: checked, then shown.
    let schedules = |setpoint: &str| {
        format!(
            r#"mutation {{ heatPumpSetZoneSchedules(accountNumber: "{number}", euid: "{euid}", zoneScheduleParameters: {{ zone: ZONE_1, schedules: [{{ days: "1111100", settings: [{{ time: "06:30", action: SET_TEMPERATURE, setpointInCelsius: {setpoint} }}, {{ time: "22:00", action: TURN_OFF }}] }}] }}) {{ transactionId }} }}"#
        )
    };
    let body = send(schedules("21")).await;
    assert!(
        body["data"]["heatPumpSetZoneSchedules"]["transactionId"].is_string(),
        "{body}"
    );
    let body = send(schedules("21.3")).await;
    assert_eq!(error_code(&body), "OE-0315", "{body}");
    // More schedules than a zone takes: refused before anything is sent.
    let one = r#"{ days: "1111111", settings: [{ time: "07:00", action: TURN_OFF }] }"#;
    let eight = [one; 8].join(", ");
    let body = send(format!(
        r#"mutation {{ heatPumpSetZoneSchedules(accountNumber: "{number}", euid: "{euid}", zoneScheduleParameters: {{ zone: ZONE_1, schedules: [{eight}] }}) {{ transactionId }} }}"#
    ))
    .await;
    assert_eq!(error_code(&body), "OE-0315", "{body}");

    // Primary sensors: one of the zone's own, or refused before anything is sent.
    let primary = |zone: &str, code: &str| {
        format!(
            r#"mutation {{ heatPumpSetZonePrimarySensor(accountNumber: "{number}", euid: "{euid}", operationParameters: {{ zone: {zone}, sensorCode: "{code}" }}) {{ transactionId }} }}"#
        )
    };
    let body = send(primary("WATER", "ADC2")).await;
    assert!(
        body["data"]["heatPumpSetZonePrimarySensor"]["transactionId"].is_string(),
        "{body}"
    );
    for (zone, code) in [
        ("ZONE_1", "ADC2"),
        ("ZONE_1", "SENSOR99"),
        ("ZONE_2", "SENSOR01"),
    ] {
        let body = send(primary(zone, code)).await;
        assert_eq!(error_code(&body), "OE-0315", "{zone} {code}: {body}");
        assert!(body["data"]["heatPumpSetZonePrimarySensor"].is_null());
    }
    let sent: Vec<Command> = commands(&app, &home.device_ids[0]).await;
    let sensors: Vec<(Zone, String)> = sent
        .iter()
        .filter_map(|c| match c {
            Command::SetZonePrimarySensor { zone, sensor_code } => {
                Some((*zone, sensor_code.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(sensors, vec![(Zone::Water, "ADC2".to_owned())]);
    let read = send(format!(
        r#"query {{ heatPumpControllerConfiguration(accountNumber: "{number}", euid: "{euid}") {{ zones {{ configuration {{ code primarySensor }} }} }} }}"#
    ))
    .await;
    let zones = read["data"]["heatPumpControllerConfiguration"]["zones"]
        .as_array()
        .unwrap_or_else(|| panic!("{read}"));
    assert!(
        zones.iter().any(|z| z["configuration"]["code"] == "WATER"
            && z["configuration"]["primarySensor"] == "ADC2"),
        "{read}"
    );

    // Zone names: each rename a transaction of its own; any bad name renames nothing.
    let rename = |updates: &str| {
        format!(
            r#"mutation {{ heatPumpBulkUpdateZoneDisplayNames(accountNumber: "{number}", euid: "{euid}", updates: [{updates}]) {{ transactionIds {{ zoneCode transactionId }} }} }}"#
        )
    };
    let names = || async {
        let read = send(format!(
            r#"query {{ heatPumpControllerConfiguration(accountNumber: "{number}", euid: "{euid}") {{ zones {{ configuration {{ code displayName }} }} }} }}"#
        ))
        .await;
        read["data"]["heatPumpControllerConfiguration"]["zones"]
            .as_array()
            .unwrap_or_else(|| panic!("{read}"))
            .iter()
            .map(|z| {
                (
                    z["configuration"]["code"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    z["configuration"]["displayName"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let body = send(rename(
        r#"{ zoneCode: ZONE_1, newDisplayName: " Downstairs " }, { zoneCode: WATER, newDisplayName: "Cylinder" }"#,
    ))
    .await;
    let ids = body["data"]["heatPumpBulkUpdateZoneDisplayNames"]["transactionIds"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(ids.len(), 2, "{body}");
    assert_eq!(ids[0]["zoneCode"], "ZONE_1");
    assert_eq!(ids[1]["zoneCode"], "WATER");
    assert_ne!(ids[0]["transactionId"], ids[1]["transactionId"]);
    let renamed = names().await;
    assert!(
        renamed.contains(&("ZONE_1".to_owned(), "Downstairs".to_owned())),
        "{renamed:?}"
    );
    assert!(
        renamed.contains(&("WATER".to_owned(), "Cylinder".to_owned())),
        "{renamed:?}"
    );
    let long = "x".repeat(41);
    for bad in [
        r#"{ zoneCode: ZONE_1, newDisplayName: "Upstairs" }, { zoneCode: WATER, newDisplayName: "  " }"#.to_owned(),
        r#"{ zoneCode: ZONE_1, newDisplayName: "Upstairs" }, { zoneCode: ZONE_1, newDisplayName: "Again" }"#.to_owned(),
        format!(r#"{{ zoneCode: ZONE_1, newDisplayName: "{long}" }}"#),
        String::new(),
    ] {
        let body = send(rename(&bad)).await;
        assert_eq!(error_code(&body), "OE-0321", "{bad}: {body}");
        assert!(body["data"]["heatPumpBulkUpdateZoneDisplayNames"].is_null());
    }
    assert_eq!(names().await, renamed);
    let sent = commands(&app, &home.device_ids[0]).await;
    let renames = sent
        .iter()
        .filter(|c| matches!(c, Command::SetZoneDisplayName { .. }))
        .count();
    assert_eq!(renames, 2);
}

#[tokio::test]
async fn another_account_can_neither_read_nor_change_the_controller() {
    let app = TestApp::spawn().await;
    let (home, euid) = running_heat_pump(&app, "ada@example.com").await;
    let org = organisation_auth(&app, "Another supplier").await;
    let other_number = open_account(&app, &org, "eve@example.com").await;
    let other_user = user_auth(&app, "eve@example.com").await;
    let read = |number: &str| {
        format!(
            r#"query {{ heatPumpLifetimePerformance(accountNumber: "{number}", euid: "{euid}") {{ readAt }} }}"#
        )
    };
    // Eve names Ada's account: refused as unauthorised.
    let body = app
        .graphql_as(Some(&other_user), &read(&home.number), Value::Null)
        .await;
    assert_eq!(error_code(&body), "KT-CT-1111", "{body}");
    // Eve names her own account with Ada's controller: the controller is not found there.
    let body = app
        .graphql_as(Some(&other_user), &read(&other_number), Value::Null)
        .await;
    assert_eq!(error_code(&body), "OE-0315", "{body}");
    let change = format!(
        r#"mutation {{ heatPumpSetHushMode(accountNumber: "{}", euid: "{euid}", hushModeEnabled: true) {{ transactionId }} }}"#,
        other_number
    );
    let body = app
        .graphql_as(Some(&other_user), &change, Value::Null)
        .await;
    assert_eq!(error_code(&body), "OE-0315", "{body}");
    assert!(
        !commands(&app, &home.device_ids[0])
            .await
            .iter()
            .any(|c| matches!(c, Command::SetHushMode { .. }))
    );
    // Without credentials: the authentication error, and the key is still there.
    let body = app.graphql(&read(&home.number), Value::Null).await;
    assert!(
        body["data"]
            .as_object()
            .is_some_and(|d| d.contains_key("heatPumpLifetimePerformance")),
        "{body}"
    );
    assert!(!error_codes(&body).is_empty());
}
