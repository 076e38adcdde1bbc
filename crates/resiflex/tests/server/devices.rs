//! Devices over HTTP: the `devices` query and its objects per kind, the documents real clients send,
//! preferences and their validation, grid export and the charging-duration cap, smart control, boosts,
//! test charges and de-authentication, and who may do any of it.
//!
//! There is no onboarding in these tests: devices are put straight into the database for an account
//! created over HTTP. Devices that need their provider are linked to the server's simulated vendor
//! clouds (`app.sandbox`); the others have no vendor grant, and their telemetry is stored directly.

use crate::harness;

use harness::scenario::{open_account, organisation_auth as organisation, user_auth as user};

use chrono::{DateTime, Duration, Utc};
use harness::{TestApp, error_code, start_instant};
use resiflex_domain::Clock;
use resiflex_domain::device::{DeviceKind, DeviceState, Lifecycle, Provider};
use resiflex_providers::simulator::{Fault, SimDeviceSpec};
use resiflex_providers::{Connection, DeviceProvider, Grant, ProviderError, Telemetry};
use resiflex_store::devices::{self as store, Device};
use serde_json::{Value, json};

const NOT_FOUND: &str = "KT-CT-4301";
const UNAUTHORIZED: &str = "KT-CT-1111";
const HEADER_MISSING: &str = "KT-CT-1112";

// ----------------------------------------------------------------------------------------------
// The world: Org One with accounts A (user a) and B (user b), Org Two with account C.
// ----------------------------------------------------------------------------------------------

struct Account {
    number: String,
    id: i64,
    property_id: i64,
}

struct World {
    app: TestApp,
    org_one: String,
    org_two: String,
    a: String,
    b: String,
    account_a: Account,
    account_c: Account,
}

async fn account(app: &TestApp, org: &str, email: &str) -> Account {
    let number = open_account(app, org, email).await;
    let row = resiflex_store::accounts::account_by_number(&app.test_db.db, &number)
        .await
        .unwrap()
        .unwrap();
    let property = resiflex_store::accounts::properties_of_account(&app.test_db.db, row.id)
        .await
        .unwrap()
        .remove(0);
    Account {
        number,
        id: row.id,
        property_id: property.id,
    }
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let org_one = organisation(&app, "Org One").await;
    let org_two = organisation(&app, "Org Two").await;
    let account_a = account(&app, &org_one, "a@example.com").await;
    let _account_b = account(&app, &org_one, "b@example.com").await;
    let account_c = account(&app, &org_two, "c@example.com").await;
    let a = user(&app, "a@example.com").await;
    let b = user(&app, "b@example.com").await;
    World {
        app,
        org_one,
        org_two,
        a,
        b,
        account_a,
        account_c,
    }
}

impl World {
    async fn gql(&self, auth: &str, query: &str, variables: Value) -> Value {
        self.app.graphql_as(Some(auth), query, variables).await
    }

    /// As account A's user.
    async fn as_a(&self, query: &str, variables: Value) -> Value {
        self.gql(&self.a, query, variables).await
    }

    fn now(&self) -> DateTime<Utc> {
        self.app.clock.now()
    }

    /// Puts a device on account A as given and returns its id.
    async fn insert(&self, device: Device) -> String {
        store::insert_device(&self.app.test_db.db, &device)
            .await
            .unwrap();
        device.id
    }

    async fn stored(&self, id: &str) -> Device {
        store::device_by_id(&self.app.test_db.db, id)
            .await
            .unwrap()
            .unwrap()
    }

    async fn save_telemetry(&self, id: &str, telemetry: &Telemetry) {
        resiflex_store::telemetry::save_latest(&self.app.test_db.db, id, telemetry)
            .await
            .unwrap();
    }

    /// The device as `devices` lists it for user a, with the given selection.
    async fn device(&self, id: &str, selection: &str) -> Value {
        let body = self
            .as_a(
                &format!(
                    "query($n: String!, $d: String) {{ devices(accountNumber: $n, deviceId: $d) {{ {selection} }} }}"
                ),
                json!({ "n": self.account_a.number, "d": id }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["devices"][0].clone()
    }

    async fn state(&self, id: &str) -> Value {
        self.device(id, "status { current currentState isSuspended }")
            .await["status"]
            .clone()
    }
}

/// A device row with the usual values for its kind: live and capable, no vendor grant.
fn device(account: &Account, kind: DeviceKind, name: &str) -> Device {
    let (id, n) = numbered(name);
    // Created one second apart, so `devices` lists them in the order the test inserts them.
    let now = start_instant() - Duration::hours(1) + Duration::seconds(n.into());
    let (make, model, battery, power) = match kind {
        DeviceKind::ElectricVehicle => ("Tesla", "Model 3", Some(75_000), Some(7_400)),
        DeviceKind::ChargePoint => ("myenergi", "zappi", None, Some(7_000)),
        DeviceKind::HeatPump => ("Vaillant", "aroTHERM plus", None, Some(5_500)),
        DeviceKind::Battery => ("Tesla", "Powerwall 2", Some(13_500), Some(5_000)),
        DeviceKind::Inverter => ("SolarEdge", "SE5000H", None, Some(5_000)),
        DeviceKind::Thermostat => ("tado", "Smart Thermostat", None, None),
    };
    Device {
        name: name.to_owned(),
        make: make.to_owned(),
        model: model.to_owned(),
        battery_capacity_wh: battery,
        max_power_w: power,
        preferences: None,
        ..Device::live(
            id,
            (account.id, account.property_id),
            kind,
            resiflex_domain::device::Provider::Tesla,
            format!("remote-{name}"),
            now,
        )
    }
}

/// A unique id that still says which device it is (to read failures easily), and its number.
fn numbered(name: &str) -> (String, u32) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    (format!("{name}-{n:04}"), n)
}

fn in_state(mut d: Device, lifecycle: &str, state: &str) -> Device {
    d.lifecycle = Lifecycle::parse(lifecycle).expect("a life cycle");
    d.state = DeviceState::parse(state).expect("a state");
    d
}

/// A vehicle plugged in at home at half charge.
fn reading() -> Telemetry {
    Telemetry {
        soc_limit_pct: Some(90.0),
        power_w: 7_400,
        energy_imported_wh: 12_000,
        ..Telemetry::vehicle_at_home(start_instant(), 55.5)
    }
}

fn refusal(body: &Value, key: &str) -> Value {
    body["errors"][0]["extensions"][key].clone()
}

/// Links a simulated vendor login with these devices to account `owner`, as onboarding would: the
/// grant is stored, and the devices behind it are returned.
async fn simulated(
    w: &World,
    owner: &Account,
    provider: &str,
    login: &str,
    specs: Vec<SimDeviceSpec>,
) -> (i64, Grant, Vec<resiflex_providers::RemoteDevice>) {
    let cloud = w
        .app
        .sandbox
        .simulator(provider)
        .expect("simulated provider");
    let now = w.now();
    let code = cloud.simulator().approve(login, specs, now);
    let grant = cloud.complete_authorization(&code, now).await.unwrap();
    let remote = cloud.devices(&grant, now).await.unwrap();
    let stored = store::insert_grant(
        &w.app.test_db.db,
        owner.id,
        Provider::parse(provider).expect("a provider"),
        &grant.subject,
        &grant.secret,
        now,
    )
    .await
    .unwrap();
    (stored.id, grant, remote)
}

fn simulated_vehicle() -> SimDeviceSpec {
    SimDeviceSpec {
        initial_soc_pct: Some(40.0),
        ..SimDeviceSpec::vehicle("Tesla", "Model 3", 57_500, 7_400)
    }
}

/// A live vehicle of account A behind a simulated Tesla login.
async fn simulated_live_vehicle(w: &World, login: &str) -> (String, Grant, String) {
    let (grant_id, grant, remote) =
        simulated(w, &w.account_a, "TESLA", login, vec![simulated_vehicle()]).await;
    let mut d = device(&w.account_a, DeviceKind::ElectricVehicle, login);
    d.grant_id = Some(grant_id);
    d.integration_device_id = remote[0].remote_id.clone();
    let remote_id = d.integration_device_id.clone();
    (w.insert(d).await, grant, remote_id)
}

// ----------------------------------------------------------------------------------------------
// The devices query.
// ----------------------------------------------------------------------------------------------

const EVERY_KIND: &str = r#"query($n: String!) { devices(accountNumber: $n) {
    __typename id name deviceType provider integrationDeviceId propertyId
    status { __typename current currentState isSuspended
        ... on SmartFlexVehicleStatus { stateOfCharge { value timestamp } activePower { value timestamp }
            stateOfChargeLimit { upperSocLimit timestamp isLimitViolated } testDispatchFailureReason }
        ... on SmartFlexChargePointStatus { stateOfCharge { value } activePower { value } }
        ... on SmartFlexHeatPumpStatus { mode activity currentTemperatures { zone temperature timestamp } targetTemperature } }
    alerts { message publishedAt }
    preferences { mode unit targetType gridExport isChargingDurationCapped schedules { dayOfWeek time min max upperLimit } }
    preferenceSetting { id deviceType mode unit scheduleSettings { id timeFrom timeTo timeStep min max step } }
    reAuthenticationState { isEligible }
    ... on SmartFlexVehicle { make model vehicleBatterySize chargePointPowerOutput
        chargingPreferences { weekdayTargetTime weekdayTargetSoc weekendTargetTime weekendTargetSoc minimumSoc maximumSoc } }
    ... on SmartFlexChargePoint { make model chargePointPowerOutput chargingPreferences { weekdayTargetSoc } }
    ... on SmartFlexHeatPump { make model powerInKw zoneType }
    ... on SmartFlexBattery { make model }
    ... on SmartFlexInverter { make model telemetry { timestamp inverter { connectionStatus powerInKw }
        battery { connectionStatus powerInKw stateOfCharge } solar { powerInKw } grid { powerInKw }
        site { consumptionInKw exportInKw } } }
} }"#;

#[tokio::test]
async fn devices_shows_each_kind_as_its_object_with_status_preferences_and_settings() {
    let w = world().await;
    let a = &w.account_a;
    let ev = w.insert(device(a, DeviceKind::ElectricVehicle, "ev")).await;
    w.save_telemetry(&ev, &reading()).await;
    store::add_alert(&w.app.test_db.db, &ev, "Plug in to charge", w.now())
        .await
        .unwrap();
    let charger = w
        .insert(device(a, DeviceKind::ChargePoint, "charger"))
        .await;
    let heat_pump = w.insert(device(a, DeviceKind::HeatPump, "hp")).await;
    w.save_telemetry(
        &heat_pump,
        &Telemetry {
            indoor_temperature_c: Some(19.456),
            target_temperature_c: Some(21.0),
            active: true,
            plugged_in: None,
            at_home: None,
            state_of_charge_pct: None,
            soc_limit_pct: None,
            power_w: 1_200,
            ..reading()
        },
    )
    .await;
    let battery = w.insert(device(a, DeviceKind::Battery, "battery")).await;
    let inverter = w.insert(device(a, DeviceKind::Inverter, "inverter")).await;
    w.save_telemetry(
        &inverter,
        &Telemetry {
            power_w: -500,
            solar_power_w: Some(3_000),
            site_consumption_w: Some(1_000),
            state_of_charge_pct: Some(64.0),
            plugged_in: None,
            at_home: None,
            ..reading()
        },
    )
    .await;
    let thermostat = w
        .insert(device(a, DeviceKind::Thermostat, "thermostat"))
        .await;

    let body = w.as_a(EVERY_KIND, json!({ "n": a.number })).await;
    assert!(body["errors"].is_null(), "{body}");
    let devices = body["data"]["devices"].as_array().unwrap();
    let summary: Vec<Value> = devices
        .iter()
        .map(|d| {
            json!([
                d["id"],
                d["__typename"],
                d["deviceType"],
                d["status"]["__typename"]
            ])
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            json!([
                ev,
                "SmartFlexVehicle",
                "ELECTRIC_VEHICLES",
                "SmartFlexVehicleStatus"
            ]),
            json!([
                charger,
                "SmartFlexChargePoint",
                "ELECTRIC_VEHICLES",
                "SmartFlexChargePointStatus"
            ]),
            json!([
                heat_pump,
                "SmartFlexHeatPump",
                "HEAT_PUMPS",
                "SmartFlexHeatPumpStatus"
            ]),
            json!([
                battery,
                "SmartFlexBattery",
                "BATTERIES",
                "SmartFlexDeviceStatus"
            ]),
            json!([
                inverter,
                "SmartFlexInverter",
                "INVERTERS",
                "SmartFlexDeviceStatus"
            ]),
            json!([
                thermostat,
                "SmartFlexDevice",
                "THERMOSTATS",
                "SmartFlexDeviceStatus"
            ]),
        ]
    );

    let vehicle = &devices[0];
    let at = "2026-11-27T12:00:00+00:00";
    assert_eq!(
        vehicle["status"],
        json!({
            "__typename": "SmartFlexVehicleStatus", "current": "LIVE", "currentState": "SMART_CONTROL_CAPABLE",
            "isSuspended": false,
            "stateOfCharge": { "value": "55.5", "timestamp": at },
            "activePower": { "value": "7.4", "timestamp": at },
            "stateOfChargeLimit": { "upperSocLimit": 90, "timestamp": at, "isLimitViolated": false },
            "testDispatchFailureReason": "NONE",
        })
    );
    assert_eq!(
        [
            &vehicle["name"],
            &vehicle["provider"],
            &vehicle["integrationDeviceId"],
            &vehicle["propertyId"]
        ],
        [
            &json!("ev"),
            &json!("TESLA"),
            &json!("remote-ev"),
            &json!(a.property_id.to_string())
        ]
    );
    assert_eq!(
        vehicle["alerts"],
        json!([{ "message": "Plug in to charge", "publishedAt": at }])
    );
    // Preferences nobody set are the default: 80 % by 07:30 every day.
    let prefs = &vehicle["preferences"];
    assert_eq!(
        [
            &prefs["mode"],
            &prefs["unit"],
            &prefs["targetType"],
            &prefs["gridExport"],
            &prefs["isChargingDurationCapped"]
        ],
        [
            &json!("CHARGE"),
            &json!("PERCENTAGE"),
            &json!("ABSOLUTE_STATE_OF_CHARGE"),
            &json!("NOT_APPLICABLE"),
            &json!("DISABLED")
        ]
    );
    let days: Vec<&str> = prefs["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["dayOfWeek"].as_str().unwrap())
        .collect();
    assert_eq!(
        days,
        [
            "MONDAY",
            "TUESDAY",
            "WEDNESDAY",
            "THURSDAY",
            "FRIDAY",
            "SATURDAY",
            "SUNDAY"
        ]
    );
    assert_eq!(
        prefs["schedules"][0],
        json!({ "dayOfWeek": "MONDAY", "time": "07:30:00", "min": null, "max": 80.0, "upperLimit": null })
    );
    assert_eq!(
        vehicle["preferenceSetting"],
        json!({ "id": 1, "deviceType": "ELECTRIC_VEHICLES", "mode": "CHARGE", "unit": "PERCENTAGE",
            "scheduleSettings": [{ "id": 11, "timeFrom": "04:00:00", "timeTo": "11:30:00", "timeStep": 30,
                "min": "10.0", "max": "100.0", "step": "1.0" }] })
    );
    assert_eq!(
        [
            &vehicle["make"],
            &vehicle["model"],
            &vehicle["vehicleBatterySize"],
            &vehicle["chargePointPowerOutput"]
        ],
        [
            &json!("Tesla"),
            &json!("Model 3"),
            &json!("75.0"),
            &json!("7.4")
        ]
    );
    assert_eq!(
        vehicle["chargingPreferences"],
        json!({ "weekdayTargetTime": "07:30:00", "weekdayTargetSoc": 80, "weekendTargetTime": "07:30:00",
            "weekendTargetSoc": 80, "minimumSoc": 10, "maximumSoc": 100 })
    );
    assert_eq!(
        vehicle["reAuthenticationState"],
        json!({ "isEligible": true })
    );

    // A charger without telemetry yet (and no grant to read it with) has no readings.
    let charger = &devices[1];
    assert_eq!(charger["status"]["stateOfCharge"], Value::Null);
    assert_eq!(charger["chargePointPowerOutput"], "7.0");
    assert_eq!(charger["chargingPreferences"]["weekdayTargetSoc"], 80);

    let heat_pump = &devices[2];
    assert_eq!(
        heat_pump["status"],
        json!({ "__typename": "SmartFlexHeatPumpStatus", "current": "LIVE", "currentState": "SMART_CONTROL_CAPABLE",
            "isSuspended": false, "mode": "HEATING", "activity": "SCHEDULED_HEATING",
            "currentTemperatures": [{ "zone": "CLIMATE", "temperature": "19.46", "timestamp": at }],
            "targetTemperature": "21.0" })
    );
    assert_eq!(
        [&heat_pump["powerInKw"], &heat_pump["zoneType"]],
        [&json!("5.5"), &json!("CLIMATE")]
    );
    assert_eq!(
        [
            &heat_pump["preferences"]["mode"],
            &heat_pump["preferences"]["unit"],
            &heat_pump["preferences"]["targetType"]
        ],
        [
            &json!("HEAT"),
            &json!("CELSIUS"),
            &json!("ABSOLUTE_TEMPERATURE")
        ]
    );
    assert_eq!(
        heat_pump["preferences"]["schedules"][6],
        json!({ "dayOfWeek": "SUNDAY", "time": "07:00:00", "min": 20.0, "max": 24.0, "upperLimit": null })
    );
    assert_eq!(
        heat_pump["preferenceSetting"]["scheduleSettings"][0]["step"],
        "0.5"
    );

    let battery = &devices[3];
    assert_eq!(battery["preferences"]["gridExport"], "DISABLED");
    assert_eq!(battery["make"], "Tesla");

    let inverter = &devices[4];
    assert_eq!(
        inverter["telemetry"],
        json!({ "timestamp": at,
            "inverter": { "connectionStatus": "ONLINE", "powerInKw": "1.5" },
            "battery": { "connectionStatus": "ONLINE", "powerInKw": "-1.5", "stateOfCharge": "64.0" },
            "solar": { "powerInKw": "3.0" }, "grid": { "powerInKw": "-0.5" },
            "site": { "consumptionInKw": "1.0", "exportInKw": "0.5" } })
    );
    // Inverters take no preferences but have a grid export setting and, driving a battery, the
    // charging-duration cap.
    assert_eq!(
        inverter["preferences"],
        json!({ "mode": null, "unit": null, "targetType": null, "gridExport": "DISABLED",
            "isChargingDurationCapped": "DISABLED", "schedules": [] })
    );
    assert_eq!(inverter["preferenceSetting"], Value::Null);

    let thermostat = &devices[5];
    assert_eq!(thermostat["preferences"]["mode"], "HEAT");
}

#[tokio::test]
async fn devices_filters_by_device_provider_id_and_property() {
    let w = world().await;
    let a = &w.account_a;
    let ev = w.insert(device(a, DeviceKind::ElectricVehicle, "ev")).await;
    let battery = w.insert(device(a, DeviceKind::Battery, "battery")).await;
    let ids = |body: &Value| -> Vec<String> {
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let query = "query($n: String!, $d: String, $i: String, $p: ID) { devices(accountNumber: $n, deviceId: $d, integrationDeviceId: $i, propertyId: $p) { id } }";
    let n = &a.number;
    for (variables, expected) in [
        (json!({ "n": n }), vec![ev.clone(), battery.clone()]),
        (json!({ "n": n, "d": battery }), vec![battery.clone()]),
        (json!({ "n": n, "d": format!(" {ev} ") }), vec![ev.clone()]),
        (
            json!({ "n": n, "i": "remote-battery" }),
            vec![battery.clone()],
        ),
        (
            json!({ "n": n, "p": a.property_id.to_string() }),
            vec![ev.clone(), battery.clone()],
        ),
        (
            json!({ "n": n, "p": a.property_id }),
            vec![ev.clone(), battery.clone()],
        ),
        (json!({ "n": n, "p": "999999" }), vec![]),
        (json!({ "n": n, "p": "not-a-number" }), vec![]),
        (json!({ "n": n, "d": "no-such-device" }), vec![]),
        (json!({ "n": n, "d": ev, "i": "remote-battery" }), vec![]),
    ] {
        assert_eq!(
            ids(&w.as_a(query, variables.clone()).await),
            expected,
            "{variables}"
        );
    }
    // Another account's device is not listed under account A.
    let c_device = w
        .insert(device(&w.account_c, DeviceKind::Battery, "c-battery"))
        .await;
    assert_eq!(
        ids(&w.as_a(query, json!({ "n": n, "d": c_device })).await),
        Vec::<String>::new()
    );
}

/// Spain's `GetSmartFlexDevices` and `GetSmartFlexDeviceState`, Germany's `Vehicle`, and the
/// BottlecapDave device selection.
#[tokio::test]
async fn the_documents_clients_send_are_accepted() {
    let w = world().await;
    let a = &w.account_a;
    let ev = w.insert(device(a, DeviceKind::ElectricVehicle, "ev")).await;
    w.save_telemetry(&ev, &reading()).await;

    // `$deviceId: String`.
    let body = w
        .as_a(
            "query GetSmartFlexDevices($accountNumber: String!, $deviceId: String) { devices(accountNumber: $accountNumber, deviceId: $deviceId) { id deviceType status { currentState } } }",
            json!({ "accountNumber": a.number, "deviceId": ev }),
        )
        .await;
    assert_eq!(body["data"]["devices"][0]["id"], ev.as_str(), "{body}");
    let body = w
        .as_a(
            "query GetSmartFlexDevices($accountNumber: String!, $deviceId: String) { devices(accountNumber: $accountNumber, deviceId: $deviceId) { id } }",
            json!({ "accountNumber": a.number, "deviceId": null }),
        )
        .await;
    assert_eq!(body["data"]["devices"][0]["id"], ev.as_str(), "{body}");

    // `$deviceID: String!`, spelt with a capital ID.
    let body = w
        .as_a(
            "query GetSmartFlexDeviceState($accountNumber: String!, $deviceID: String!) { devices(accountNumber: $accountNumber, deviceId: $deviceID) { status { current currentState isSuspended } } }",
            json!({ "accountNumber": a.number, "deviceID": ev }),
        )
        .await;
    assert_eq!(
        body["data"]["devices"][0]["status"],
        json!({ "current": "LIVE", "currentState": "SMART_CONTROL_CAPABLE", "isSuspended": false }),
        "{body}"
    );

    // Germany: `$accountNumber: String = ""`. Without the variable the default "" is a clean refusal.
    let germany = r#"query Vehicle($accountNumber: String = "") { devices(accountNumber: $accountNumber) { id name status { current currentState isSuspended } ... on SmartFlexVehicle { make model } } }"#;
    let body = w.as_a(germany, json!({})).await;
    assert_eq!(error_code(&body), UNAUTHORIZED, "{body}");
    assert!(
        body["data"].is_null() || body["data"]["devices"].is_null(),
        "{body}"
    );
    w.app.assert_alive().await;
    let body = w.as_a(germany, json!({ "accountNumber": a.number })).await;
    assert_eq!(body["data"]["devices"][0]["make"], "Tesla", "{body}");

    // BottlecapDave: the status type condition, the preferences with every schedule field, make/model.
    let bottlecap = r#"query($accountNumber: String!) { devices(accountNumber: $accountNumber) {
        id provider deviceType
        status { current currentState isSuspended
            ... on SmartFlexVehicleStatus { stateOfCharge { value timestamp }
                stateOfChargeLimit { upperSocLimit timestamp isLimitViolated } } }
        preferences { targetType unit mode gridExport schedules { dayOfWeek time min max upperLimit } }
        ... on SmartFlexVehicle { make model }
        ... on SmartFlexChargePoint { make model }
    } }"#;
    let body = w
        .as_a(bottlecap, json!({ "accountNumber": a.number }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let d = &body["data"]["devices"][0];
    // What BottlecapDave keeps, and what its pydantic model requires.
    assert_eq!(d["deviceType"], "ELECTRIC_VEHICLES");
    assert_eq!(d["status"]["current"], "LIVE");
    assert!(d["status"]["isSuspended"].is_boolean());
    for field in ["targetType", "unit", "mode"] {
        assert!(d["preferences"][field].is_string(), "{field}: {d}");
    }
    for schedule in d["preferences"]["schedules"].as_array().unwrap() {
        for field in ["dayOfWeek", "time", "min", "max", "upperLimit"] {
            assert!(schedule.get(field).is_some(), "{field} missing: {schedule}");
        }
    }
    assert_eq!(d["status"]["stateOfCharge"]["value"], "55.5");
    assert_eq!(d["model"], "Model 3");
}

// ----------------------------------------------------------------------------------------------
// Preferences.
// ----------------------------------------------------------------------------------------------

const SET_PREFERENCES: &str = "mutation($input: SmartFlexDevicePreferencesInput!) { setDevicePreferences(input: $input) { id ... on SmartFlexVehicle { preferences { mode unit targetType schedules { dayOfWeek time min max } } } } }";

fn week(time: &str, max: Value) -> Value {
    json!(
        [
            "MONDAY",
            "TUESDAY",
            "WEDNESDAY",
            "THURSDAY",
            "FRIDAY",
            "SATURDAY",
            "SUNDAY"
        ]
        .iter()
        .map(|day| json!({ "dayOfWeek": day, "time": time, "max": max }))
        .collect::<Vec<_>>()
    )
}

#[tokio::test]
async fn preferences_accept_every_form_of_max_and_answer_times_with_seconds() {
    let w = world().await;
    let ev = w
        .insert(device(&w.account_a, DeviceKind::ElectricVehicle, "ev"))
        .await;
    // The three literal forms clients send, with enum literals unquoted.
    for (max, expected) in [
        (r#""80.0""#, 80.0),
        ("80", 80.0),
        ("80.0", 80.0),
        ("90", 90.0),
    ] {
        let document = format!(
            r#"mutation {{ setDevicePreferences(input: {{deviceId: "{ev}", mode: CHARGE, unit: PERCENTAGE,
                schedules: [{{dayOfWeek: MONDAY, time: "07:30", max: {max}}}, {{dayOfWeek: SATURDAY, time: "09:00", max: 70}}]}})
                {{ id ... on SmartFlexVehicle {{ preferences {{ schedules {{ dayOfWeek time max }} }} }} }} }}"#
        );
        let body = w.as_a(&document, json!({})).await;
        assert!(body["errors"].is_null(), "{max}: {body}");
        assert_eq!(
            body["data"]["setDevicePreferences"]["preferences"]["schedules"],
            json!([{ "dayOfWeek": "MONDAY", "time": "07:30:00", "max": expected },
                { "dayOfWeek": "SATURDAY", "time": "09:00:00", "max": 70.0 }]),
            "{max}"
        );
    }
    // A whole-input variable with JSON numbers and strings (Italy, octopus_germany: all 7 days).
    let body = w
        .as_a(
            SET_PREFERENCES,
            json!({ "input": { "deviceId": ev, "mode": "CHARGE", "unit": "PERCENTAGE", "schedules": week("06:00", json!(85.0)) } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let prefs = &body["data"]["setDevicePreferences"]["preferences"];
    assert_eq!(prefs["targetType"], "ABSOLUTE_STATE_OF_CHARGE");
    assert_eq!(prefs["schedules"].as_array().unwrap().len(), 7);
    assert_eq!(
        prefs["schedules"][6],
        json!({ "dayOfWeek": "SUNDAY", "time": "06:00:00", "min": null, "max": 85.0 })
    );

    // Saved: `devices` shows it, and so does the legacy field.
    let shown = w
        .device(&ev, "... on SmartFlexVehicle { preferences { schedules { time max } } chargingPreferences { weekdayTargetSoc weekdayTargetTime } }")
        .await;
    assert_eq!(
        shown["preferences"]["schedules"][3],
        json!({ "time": "06:00:00", "max": 85.0 })
    );
    assert_eq!(
        shown["chargingPreferences"],
        json!({ "weekdayTargetSoc": 85, "weekdayTargetTime": "06:00:00" })
    );
    let stored = w.stored(&ev).await;
    assert_eq!(
        stored.preferences.unwrap().schedules[0].day,
        chrono::Weekday::Mon
    );

    // Out of order with a min; the answer is Monday first. `max: "80"` as a JSON string variable.
    let body = w
        .as_a(
            SET_PREFERENCES,
            json!({ "input": { "deviceId": ev, "mode": "CHARGE", "unit": "PERCENTAGE", "schedules": [
                { "dayOfWeek": "FRIDAY", "time": "08:00:00", "max": "80", "min": "20" },
                { "dayOfWeek": "MONDAY", "time": "04:00", "max": 100 } ] } }),
        )
        .await;
    assert_eq!(
        body["data"]["setDevicePreferences"]["preferences"]["schedules"],
        json!([{ "dayOfWeek": "MONDAY", "time": "04:00:00", "min": null, "max": 100.0 },
            { "dayOfWeek": "FRIDAY", "time": "08:00:00", "min": 20.0, "max": 80.0 }]),
        "{body}"
    );

    // A heat pump takes HEAT or COOL in degrees, on half degrees.
    let hp = w
        .insert(device(&w.account_a, DeviceKind::HeatPump, "hp"))
        .await;
    let body = w
        .as_a(
            "mutation($input: SmartFlexDevicePreferencesInput!) { setDevicePreferences(input: $input) { ... on SmartFlexHeatPump { preferences { mode unit targetType schedules { min max } } status { ... on SmartFlexHeatPumpStatus { mode } } } } }",
            json!({ "input": { "deviceId": hp, "mode": "COOL", "unit": "CELSIUS",
                "schedules": [{ "dayOfWeek": "MONDAY", "time": "18:30", "min": 19.5, "max": "24.5" }] } }),
        )
        .await;
    assert_eq!(
        body["data"]["setDevicePreferences"],
        json!({ "preferences": { "mode": "COOL", "unit": "CELSIUS", "targetType": "ABSOLUTE_TEMPERATURE",
            "schedules": [{ "min": 19.5, "max": 24.5 }] }, "status": { "mode": "COOLING" } }),
        "{body}"
    );
}

#[tokio::test]
async fn preferences_that_do_not_fit_are_refused_naming_the_field() {
    let w = world().await;
    let ev = w
        .insert(device(&w.account_a, DeviceKind::ElectricVehicle, "ev"))
        .await;
    let inverter = w
        .insert(device(&w.account_a, DeviceKind::Inverter, "inverter"))
        .await;
    let good = |max: Value| json!([{ "dayOfWeek": "MONDAY", "time": "07:30", "max": max }]);
    let input = |device: &str, mode: &str, unit: &str, schedules: Value| json!({ "input": { "deviceId": device, "mode": mode, "unit": unit, "schedules": schedules } });
    let malformed = "KT-CT-4321";
    let outside = "KT-CT-4374";
    let cases = [
        (
            input(&ev, "HEAT", "PERCENTAGE", good(json!(80))),
            malformed,
            "`mode`",
        ),
        (
            input(&ev, "CHARGE", "CELSIUS", good(json!(80))),
            malformed,
            "`unit`",
        ),
        (
            input(&ev, "CHARGE", "PERCENTAGE_RELATIVE", good(json!(80))),
            malformed,
            "`unit`",
        ),
        (
            input(&ev, "CHARGE", "PERCENTAGE", json!([])),
            malformed,
            "`schedules`",
        ),
        (
            input(
                &ev,
                "CHARGE",
                "PERCENTAGE",
                json!([
                { "dayOfWeek": "MONDAY", "time": "07:30", "max": 80 },
                { "dayOfWeek": "MONDAY", "time": "08:00", "max": 90 }]),
            ),
            malformed,
            "`schedules[1].dayOfWeek`",
        ),
        (
            input(
                &ev,
                "CHARGE",
                "PERCENTAGE",
                json!([{ "dayOfWeek": "MONDAY", "time": "07:30", "max": 50, "min": 60 }]),
            ),
            malformed,
            "`schedules[0].min`",
        ),
        (
            input(&inverter, "CHARGE", "PERCENTAGE", good(json!(80))),
            malformed,
            "takes no preferences",
        ),
        (
            input(&ev, "CHARGE", "PERCENTAGE", good(json!(101))),
            outside,
            "`schedules[0].max`",
        ),
        (
            input(&ev, "CHARGE", "PERCENTAGE", good(json!("5"))),
            outside,
            "`schedules[0].max`",
        ),
        (
            input(&ev, "CHARGE", "PERCENTAGE", good(json!(80.5))),
            outside,
            "`schedules[0].max`",
        ),
        (
            input(
                &ev,
                "CHARGE",
                "PERCENTAGE",
                json!([{ "dayOfWeek": "MONDAY", "time": "12:00", "max": 80 }]),
            ),
            outside,
            "`schedules[0].time`",
        ),
        (
            input(
                &ev,
                "CHARGE",
                "PERCENTAGE",
                json!([{ "dayOfWeek": "MONDAY", "time": "07:15", "max": 80 }]),
            ),
            outside,
            "`schedules[0].time`",
        ),
    ];
    for (variables, code, field) in cases {
        let body = w.as_a(SET_PREFERENCES, variables.clone()).await;
        assert_eq!(error_code(&body), code, "{variables}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(field), "{field} not in {message:?}");
    }
    // Values that are not decimals or times at all fail input coercion (KT-CT-1605).
    for schedules in [
        json!([{ "dayOfWeek": "MONDAY", "time": "07:30", "max": "eighty" }]),
        json!([{ "dayOfWeek": "MONDAY", "time": "25:00", "max": 80 }]),
        json!([{ "dayOfWeek": "FUNDAY", "time": "07:30", "max": 80 }]),
    ] {
        let body = w
            .as_a(
                SET_PREFERENCES,
                input(&ev, "CHARGE", "PERCENTAGE", schedules),
            )
            .await;
        assert_eq!(error_code(&body), "KT-CT-1605", "{body}");
    }
    // Nothing was saved.
    assert!(w.stored(&ev).await.preferences.is_none());
    // A retired device takes no preferences.
    let retired = w
        .insert(in_state(
            device(&w.account_a, DeviceKind::ElectricVehicle, "retired"),
            "RETIRED",
            "RETIRED",
        ))
        .await;
    let body = w
        .as_a(
            SET_PREFERENCES,
            input(&retired, "CHARGE", "PERCENTAGE", good(json!(80))),
        )
        .await;
    assert_eq!(error_code(&body), outside, "{body}");
}

#[tokio::test]
async fn grid_export_and_the_charging_duration_cap_apply_only_where_they_exist() {
    let w = world().await;
    let battery = w
        .insert(device(&w.account_a, DeviceKind::Battery, "battery"))
        .await;
    let ev = w
        .insert(device(&w.account_a, DeviceKind::ElectricVehicle, "ev"))
        .await;
    let export = "mutation($d: String!, $e: Boolean!) { updateDeviceGridExport(input: {deviceId: $d, enabled: $e}) { id preferences { gridExport isChargingDurationCapped } } }";
    let cap = "mutation($d: String!, $e: Boolean!) { updateIsChargingDurationCapped(input: {deviceId: $d, enabled: $e}) { id preferences { gridExport isChargingDurationCapped } } }";

    let body = w.as_a(export, json!({ "d": battery, "e": true })).await;
    assert_eq!(
        body["data"]["updateDeviceGridExport"]["preferences"]["gridExport"], "ENABLED",
        "{body}"
    );
    assert_eq!(
        w.stored(&battery).await.grid_export,
        resiflex_domain::device::FlexSetting::Enabled
    );
    let body = w.as_a(export, json!({ "d": battery, "e": false })).await;
    assert_eq!(
        body["data"]["updateDeviceGridExport"]["preferences"]["gridExport"],
        "DISABLED"
    );
    let body = w.as_a(export, json!({ "d": ev, "e": true })).await;
    assert_eq!(error_code(&body), "KT-CT-4386", "{body}");
    assert_eq!(
        w.stored(&ev).await.grid_export,
        resiflex_domain::device::FlexSetting::NotApplicable
    );

    let body = w.as_a(cap, json!({ "d": ev, "e": true })).await;
    assert_eq!(
        body["data"]["updateIsChargingDurationCapped"]["preferences"],
        json!({ "gridExport": "NOT_APPLICABLE", "isChargingDurationCapped": "ENABLED" }),
        "{body}"
    );
    // A battery is driven too, so the cap applies to it; a heat pump runs to keep the home warm.
    let body = w.as_a(cap, json!({ "d": battery, "e": true })).await;
    assert_eq!(
        body["data"]["updateIsChargingDurationCapped"]["preferences"],
        json!({ "gridExport": "DISABLED", "isChargingDurationCapped": "ENABLED" }),
        "{body}"
    );
    let heat_pump = w
        .insert(device(&w.account_a, DeviceKind::HeatPump, "heat-pump"))
        .await;
    let body = w.as_a(cap, json!({ "d": heat_pump, "e": true })).await;
    assert_eq!(error_code(&body), "KT-CT-4389", "{body}");
    assert_eq!(
        w.device(&ev, "preferences { isChargingDurationCapped }")
            .await["preferences"]["isChargingDurationCapped"],
        "ENABLED"
    );
}

// ----------------------------------------------------------------------------------------------
// Smart control and boosts.
// ----------------------------------------------------------------------------------------------

const BOOST: &str = "mutation($input: UpdateBoostChargeInput!) { updateBoostCharge(input: $input) { id status { currentState isSuspended } } }";

fn boost_input(id: &str, action: &str) -> Value {
    json!({ "input": { "deviceId": id, "action": action } })
}

/// octopus_germany's `ChangeDeviceSuspension`, as it is written.
const CHANGE_DEVICE_SUSPENSION: &str = r#"mutation ChangeDeviceSuspension($deviceId: ID = "", $action: SmartControlAction!) { updateDeviceSmartControl(input: {deviceId: $deviceId, action: $action}) { id } }"#;

#[tokio::test]
async fn boost_refusals_carry_one_reason_string_in_order() {
    let w = world().await;
    let a = &w.account_a;
    let ev = |name: &str| device(a, DeviceKind::ElectricVehicle, name);
    let with_reading = |changes: &dyn Fn(&mut Telemetry)| {
        let mut t = reading();
        changes(&mut t);
        t
    };
    let cases: Vec<(Device, Option<Telemetry>, &str)> = vec![
        (
            in_state(ev("onboarding"), "ONBOARDING", "AUTHENTICATION_COMPLETE"),
            Some(reading()),
            "BC_DEVICE_NOT_YET_LIVE",
        ),
        (
            in_state(ev("pending"), "PENDING_LIVE", "SETUP_COMPLETE"),
            Some(reading()),
            "BC_DEVICE_NOT_YET_LIVE",
        ),
        (
            in_state(ev("retired"), "RETIRED", "RETIRED"),
            Some(reading()),
            "BC_DEVICE_RETIRED",
        ),
        (
            Device {
                is_suspended: true,
                ..in_state(ev("suspended"), "LIVE", "SMART_CONTROL_OFF")
            },
            Some(reading()),
            "BC_DEVICE_SUSPENDED",
        ),
        (
            ev("unplugged"),
            Some(with_reading(&|t| t.plugged_in = Some(false))),
            "BC_DEVICE_DISCONNECTED",
        ),
        (
            ev("offline"),
            Some(with_reading(&|t| t.connection = Connection::Offline)),
            "BC_DEVICE_DISCONNECTED",
        ),
        (ev("unknown"), None, "BC_DEVICE_DISCONNECTED"),
        (
            ev("away"),
            Some(with_reading(&|t| t.at_home = Some(false))),
            "BC_DEVICE_NOT_AT_HOME",
        ),
        (
            in_state(ev("boosting"), "LIVE", "BOOSTING"),
            Some(reading()),
            "BC_BOOST_CHARGE_IN_PROGRESS",
        ),
        (
            ev("at-limit"),
            Some(with_reading(&|t| t.state_of_charge_pct = Some(90.0))),
            "BC_DEVICE_FULLY_CHARGED",
        ),
        (
            ev("full"),
            Some(with_reading(&|t| {
                t.state_of_charge_pct = Some(100.0);
                t.soc_limit_pct = None;
            })),
            "BC_DEVICE_FULLY_CHARGED",
        ),
    ];
    for (row, telemetry, reason) in cases {
        let before = (row.lifecycle, row.state);
        let id = w.insert(row).await;
        if let Some(t) = &telemetry {
            w.save_telemetry(&id, t).await;
        }
        let body = w.as_a(BOOST, boost_input(&id, "BOOST")).await;
        assert_eq!(error_code(&body), "KT-CT-4357", "{id}: {body}");
        assert_eq!(
            refusal(&body, "boostChargeRefusalReasons"),
            json!(reason),
            "{id}: {body}"
        );
        assert_eq!(body["errors"][0]["extensions"]["errorType"], "APPLICATION");
        let after = w.stored(&id).await;
        assert_eq!((after.lifecycle, after.state), before, "{id} unchanged");
    }

    // Only vehicles and chargers boost.
    let hp = w.insert(device(a, DeviceKind::HeatPump, "hp")).await;
    let body = w.as_a(BOOST, boost_input(&hp, "BOOST")).await;
    assert_eq!(error_code(&body), "KT-CT-4356", "{body}");
    assert!(refusal(&body, "boostChargeRefusalReasons").is_null());

    // Nothing to cancel.
    let ready = w.insert(ev("ready")).await;
    let body = w.as_a(BOOST, boost_input(&ready, "CANCEL")).await;
    assert_eq!(error_code(&body), "KT-CT-4354", "{body}");

    // A boost that would be allowed needs the device's vendor authorisation.
    w.save_telemetry(&ready, &reading()).await;
    let body = w.as_a(BOOST, boost_input(&ready, "BOOST")).await;
    assert_eq!(error_code(&body), "KT-CT-4314", "{body}");
    assert_eq!(
        w.stored(&ready).await.state,
        resiflex_domain::device::DeviceState::SmartControlCapable
    );
}

#[tokio::test]
async fn boost_cancel_suspend_and_resume_go_through_the_provider() {
    let w = world().await;
    let (ev, grant, remote_id) = simulated_live_vehicle(&w, "driver@example.com").await;
    let cloud = w.app.sandbox.simulator("TESLA").unwrap();
    let power = |t: Telemetry| (t.power_w, t.active);

    // Boost: the car starts charging and the state is BOOSTING at once.
    let body = w.as_a(BOOST, boost_input(&ev, "BOOST")).await;
    assert_eq!(
        body["data"]["updateBoostCharge"],
        json!({ "id": ev, "status": { "currentState": "BOOSTING", "isSuspended": false } }),
        "{body}"
    );
    assert_eq!(w.state(&ev).await["currentState"], "BOOSTING");
    w.app.clock.advance(Duration::minutes(1));
    let (power_w, active) = power(cloud.telemetry(&grant, &remote_id, w.now()).await.unwrap());
    assert!(
        active && power_w > 0,
        "charging after the boost: {power_w} W"
    );
    // Boosting twice is refused as in progress.
    let body = w.as_a(BOOST, boost_input(&ev, "BOOST")).await;
    assert_eq!(
        refusal(&body, "boostChargeRefusalReasons"),
        "BC_BOOST_CHARGE_IN_PROGRESS",
        "{body}"
    );

    // Cancel: it stops and goes back to capable.
    let body = w.as_a(BOOST, boost_input(&ev, "CANCEL")).await;
    assert_eq!(
        body["data"]["updateBoostCharge"]["status"]["currentState"], "SMART_CONTROL_CAPABLE",
        "{body}"
    );
    w.app.clock.advance(Duration::minutes(1));
    assert!(!power(cloud.telemetry(&grant, &remote_id, w.now()).await.unwrap()).1);

    // Suspend with octopus_germany's document; the device is stopped and SMART_CONTROL_OFF.
    w.as_a(BOOST, boost_input(&ev, "BOOST")).await;
    let body = w
        .as_a(
            CHANGE_DEVICE_SUSPENSION,
            json!({ "deviceId": ev, "action": "SUSPEND" }),
        )
        .await;
    assert_eq!(
        body["data"]["updateDeviceSmartControl"],
        json!({ "id": ev }),
        "{body}"
    );
    assert_eq!(
        w.state(&ev).await,
        json!({ "current": "LIVE", "currentState": "SMART_CONTROL_OFF", "isSuspended": true })
    );
    w.app.clock.advance(Duration::minutes(1));
    assert!(!power(cloud.telemetry(&grant, &remote_id, w.now()).await.unwrap()).1);
    let body = w.as_a(BOOST, boost_input(&ev, "BOOST")).await;
    assert_eq!(
        refusal(&body, "boostChargeRefusalReasons"),
        "BC_DEVICE_SUSPENDED",
        "{body}"
    );
    // Suspending again changes nothing.
    let body = w
        .as_a(
            CHANGE_DEVICE_SUSPENSION,
            json!({ "deviceId": ev, "action": "SUSPEND" }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");

    // Resume: back to capable (plugged in at home).
    let body = w
        .as_a(
            "mutation($input: SmartControlInput!) { updateDeviceSmartControl(input: $input) { status { currentState isSuspended } } }",
            json!({ "input": { "deviceId": ev, "action": "UNSUSPEND" } }),
        )
        .await;
    assert_eq!(
        body["data"]["updateDeviceSmartControl"]["status"],
        json!({ "currentState": "SMART_CONTROL_CAPABLE", "isSuspended": false }),
        "{body}"
    );

    // Germany's default `""` for the device id is an unknown device, not a crash.
    let body = w
        .as_a(CHANGE_DEVICE_SUSPENSION, json!({ "action": "SUSPEND" }))
        .await;
    assert_eq!(error_code(&body), NOT_FOUND, "{body}");
}

#[tokio::test]
async fn resuming_an_unplugged_vehicle_makes_it_not_available() {
    let w = world().await;
    let mut row = in_state(
        device(&w.account_a, DeviceKind::ElectricVehicle, "suspended"),
        "LIVE",
        "SMART_CONTROL_OFF",
    );
    row.is_suspended = true;
    let ev = w.insert(row).await;
    let mut unplugged = reading();
    unplugged.plugged_in = Some(false);
    w.save_telemetry(&ev, &unplugged).await;
    let body = w
        .as_a(
            CHANGE_DEVICE_SUSPENSION,
            json!({ "deviceId": ev, "action": "UNSUSPEND" }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        w.state(&ev).await,
        json!({ "current": "LIVE", "currentState": "SMART_CONTROL_NOT_AVAILABLE", "isSuspended": false })
    );
    // A retired device cannot be resumed.
    let retired = w
        .insert(in_state(
            device(&w.account_a, DeviceKind::ElectricVehicle, "gone"),
            "RETIRED",
            "RETIRED",
        ))
        .await;
    let body = w
        .as_a(
            CHANGE_DEVICE_SUSPENSION,
            json!({ "deviceId": retired, "action": "UNSUSPEND" }),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4359", "{body}");
    let body = w
        .as_a(
            CHANGE_DEVICE_SUSPENSION,
            json!({ "deviceId": retired, "action": "SUSPEND" }),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4358", "{body}");
    // A device still being authorised cannot be suspended (a refused transition, not a panic).
    let pending = w
        .insert(in_state(
            device(&w.account_a, DeviceKind::ElectricVehicle, "pending"),
            "ONBOARDING",
            "AUTHENTICATION_PENDING",
        ))
        .await;
    let body = w
        .as_a(
            CHANGE_DEVICE_SUSPENSION,
            json!({ "deviceId": pending, "action": "SUSPEND" }),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4358", "{body}");
    assert_eq!(
        w.stored(&pending).await.state,
        resiflex_domain::device::DeviceState::AuthenticationPending
    );
}

#[tokio::test]
async fn a_provider_that_refuses_leaves_the_device_as_it_was() {
    let w = world().await;
    let (ev, _, remote_id) = simulated_live_vehicle(&w, "refused@example.com").await;
    let cloud = w.app.sandbox.simulator("TESLA").unwrap();
    // Read the telemetry once (stored), then make the car refuse commands.
    assert_eq!(w.state(&ev).await["currentState"], "SMART_CONTROL_CAPABLE");
    cloud
        .simulator()
        .set_fault(
            "refused@example.com",
            &remote_id,
            Fault::RefuseCommands,
            w.now(),
        )
        .unwrap();
    let body = w.as_a(BOOST, boost_input(&ev, "BOOST")).await;
    assert_eq!(error_code(&body), "KT-CT-4357", "{body}");
    assert!(
        refusal(&body, "boostChargeRefusalReasons").is_null(),
        "{body}"
    );
    let body = w
        .as_a(
            CHANGE_DEVICE_SUSPENSION,
            json!({ "deviceId": ev, "action": "SUSPEND" }),
        )
        .await;
    assert_eq!(error_code(&body), "KT-CT-4358", "{body}");
    assert_eq!(
        w.state(&ev).await,
        json!({ "current": "LIVE", "currentState": "SMART_CONTROL_CAPABLE", "isSuspended": false })
    );
}

// ----------------------------------------------------------------------------------------------
// Test charges.
// ----------------------------------------------------------------------------------------------

const TEST_CHARGE: &str = "mutation($d: ID!) { triggerTestCharge(input: {deviceId: $d}) { krakenflexDevice { krakenflexDeviceId provider deviceType } } }";

#[tokio::test]
async fn a_test_charge_starts_through_the_provider_or_says_why_not() {
    let w = world().await;
    let a = &w.account_a;
    let (grant_id, _, remote) = simulated(
        &w,
        a,
        "TESLA",
        "tester@example.com",
        vec![simulated_vehicle()],
    )
    .await;
    let mut row = in_state(
        device(a, DeviceKind::ElectricVehicle, "onboarding"),
        "ONBOARDING",
        "AUTHENTICATION_COMPLETE",
    );
    row.grant_id = Some(grant_id);
    row.integration_device_id = remote[0].remote_id.clone();
    let ev = w.insert(row).await;
    let body = w.as_a(TEST_CHARGE, json!({ "d": ev })).await;
    assert_eq!(
        body["data"]["triggerTestCharge"],
        json!({ "krakenflexDevice": { "krakenflexDeviceId": ev, "provider": "TESLA", "deviceType": "ELECTRIC_VEHICLES" } }),
        "{body}"
    );
    assert_eq!(
        w.state(&ev).await,
        json!({ "current": "ONBOARDING_TEST_IN_PROGRESS", "currentState": "TEST_CHARGE_IN_PROGRESS", "isSuspended": false })
    );
    assert!(w.stored(&ev).await.test_charge.is_some());
    let body = w.as_a(TEST_CHARGE, json!({ "d": ev })).await;
    assert_eq!(error_code(&body), "KT-CT-4355");
    assert_eq!(
        refusal(&body, "testChargeRefusalReasons"),
        "TC_DEVICE_ONBOARDING_IN_PROGRESS"
    );

    let ev_row = |name: &str| device(a, DeviceKind::ElectricVehicle, name);
    let mut unplugged = reading();
    unplugged.plugged_in = Some(false);
    let mut charging = reading();
    charging.active = true;
    for (row, telemetry, reason) in [
        (ev_row("live"), Some(reading()), "TC_DEVICE_LIVE"),
        (
            in_state(ev_row("retired"), "RETIRED", "RETIRED"),
            None,
            "TC_DEVICE_RETIRED",
        ),
        (
            in_state(ev_row("unplugged"), "ONBOARDING", "AUTHENTICATION_COMPLETE"),
            Some(unplugged),
            "TC_DEVICE_DISCONNECTED",
        ),
        (
            in_state(
                ev_row("charging"),
                "FAILED_ONBOARDING_TEST",
                "TEST_CHARGE_FAILED",
            ),
            Some(charging),
            "TC_DEVICE_ALREADY_CHARGING",
        ),
    ] {
        let id = w.insert(row).await;
        if let Some(t) = &telemetry {
            w.save_telemetry(&id, t).await;
        }
        let body = w.as_a(TEST_CHARGE, json!({ "d": id })).await;
        assert_eq!(error_code(&body), "KT-CT-4355", "{id}: {body}");
        assert_eq!(
            refusal(&body, "testChargeRefusalReasons"),
            reason,
            "{id}: {body}"
        );
    }
    // Not ready: authorisation incomplete, or a kind that needs no test.
    let pending = w
        .insert(in_state(
            ev_row("pending"),
            "ONBOARDING",
            "AUTHENTICATION_PENDING",
        ))
        .await;
    let body = w.as_a(TEST_CHARGE, json!({ "d": pending })).await;
    assert_eq!(error_code(&body), "KT-CT-4362", "{body}");
    let hp = w
        .insert(in_state(
            device(a, DeviceKind::HeatPump, "hp"),
            "ONBOARDING",
            "AUTHENTICATION_COMPLETE",
        ))
        .await;
    let body = w.as_a(TEST_CHARGE, json!({ "d": hp })).await;
    assert_eq!(error_code(&body), "KT-CT-4362", "{body}");
}

// ----------------------------------------------------------------------------------------------
// De-authentication.
// ----------------------------------------------------------------------------------------------

const DEAUTHENTICATE: &str = "mutation($d: String!) { deauthenticateFlexDevice(input: {deviceId: $d}) { krakenflexDevice { krakenflexDeviceId provider deviceType } } }";

#[tokio::test]
async fn deauthentication_retires_the_device_and_gives_up_the_grant_with_its_last_device() {
    let w = world().await;
    let a = &w.account_a;
    let battery_spec = SimDeviceSpec {
        make: "Tesla".into(),
        model: "Powerwall 2".into(),
        ..SimDeviceSpec::new(DeviceKind::Battery)
    };
    let (grant_id, grant, remote) = simulated(
        &w,
        a,
        "TESLA",
        "family@example.com",
        vec![simulated_vehicle(), battery_spec],
    )
    .await;
    let cloud = w.app.sandbox.simulator("TESLA").unwrap();
    let mut ids = Vec::new();
    for (kind, remote) in [DeviceKind::ElectricVehicle, DeviceKind::Battery]
        .into_iter()
        .zip(&remote)
    {
        let mut row = device(a, kind, kind.as_str());
        row.grant_id = Some(grant_id);
        row.integration_device_id = remote.remote_id.clone();
        ids.push(w.insert(row).await);
    }

    // The first device goes while boosting: it is stopped, and the grant stays for the second.
    let body = w.as_a(BOOST, boost_input(&ids[0], "BOOST")).await;
    assert!(body["errors"].is_null(), "{body}");
    w.app.clock.advance(Duration::minutes(1));
    assert!(
        cloud
            .telemetry(&grant, &remote[0].remote_id, w.now())
            .await
            .unwrap()
            .active
    );
    let body = w.as_a(DEAUTHENTICATE, json!({ "d": ids[0] })).await;
    assert_eq!(
        body["data"]["deauthenticateFlexDevice"]["krakenflexDevice"],
        json!({ "krakenflexDeviceId": ids[0], "provider": "TESLA", "deviceType": "ELECTRIC_VEHICLES" }),
        "{body}"
    );
    let retired = w.stored(&ids[0]).await;
    assert_eq!(
        (retired.lifecycle.as_str(), retired.state.as_str()),
        ("RETIRED", "RETIRED")
    );
    assert_eq!(retired.retired_at, Some(w.now()));
    let stored_grant = store::grant_by_id(&w.app.test_db.db, grant_id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored_grant.revoked_at.is_none());
    assert!(
        cloud
            .telemetry(&grant, &remote[1].remote_id, w.now())
            .await
            .is_ok()
    );
    w.app.clock.advance(Duration::minutes(1));
    assert!(
        !cloud
            .telemetry(&grant, &remote[0].remote_id, w.now())
            .await
            .unwrap()
            .active,
        "the retired car stopped charging"
    );
    // Still listed, as retired.
    let body = w
        .as_a(
            "query($n: String!) { devices(accountNumber: $n) { id status { current currentState } } }",
            json!({ "n": a.number }),
        )
        .await;
    assert_eq!(
        body["data"]["devices"][0],
        json!({ "id": ids[0], "status": { "current": "RETIRED", "currentState": "RETIRED" } }),
        "{body}"
    );
    assert_eq!(body["data"]["devices"].as_array().unwrap().len(), 2);
    // Twice is refused.
    let body = w.as_a(DEAUTHENTICATE, json!({ "d": ids[0] })).await;
    assert_eq!(error_code(&body), "KT-CT-4352", "{body}");
    // A retired device cannot boost.
    let body = w.as_a(BOOST, boost_input(&ids[0], "BOOST")).await;
    assert_eq!(
        refusal(&body, "boostChargeRefusalReasons"),
        "BC_DEVICE_RETIRED"
    );

    // The last device takes the grant with it: revoked here, and the vendor forgets it.
    let body = w.as_a(DEAUTHENTICATE, json!({ "d": ids[1] })).await;
    assert!(body["errors"].is_null(), "{body}");
    let stored_grant = store::grant_by_id(&w.app.test_db.db, grant_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored_grant.revoked_at, Some(w.now()));
    assert_eq!(
        cloud
            .telemetry(&grant, &remote[1].remote_id, w.now())
            .await
            .unwrap_err(),
        ProviderError::AuthorisationExpired
    );
}

#[tokio::test]
async fn a_device_without_a_grant_is_deauthenticated_with_nothing_to_give_up() {
    // (A vendor that refuses to give up a grant is the devices crate's test: the device stays.)
    let w = world().await;
    let a = &w.account_a;
    let plain = w.insert(device(a, DeviceKind::Thermostat, "plain")).await;
    let body = w.as_a(DEAUTHENTICATE, json!({ "d": plain })).await;
    assert_eq!(
        body["data"]["deauthenticateFlexDevice"]["krakenflexDevice"]["deviceType"], "THERMOSTATS",
        "{body}"
    );
}

// ----------------------------------------------------------------------------------------------
// Who may do what.
// ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn devices_of_an_account_are_reached_only_by_its_users_and_its_organisation() {
    let w = world().await;
    let a = &w.account_a;
    let ev = w.insert(device(a, DeviceKind::ElectricVehicle, "ev")).await;
    w.save_telemetry(&ev, &reading()).await;
    let devices = "query($n: String!) { devices(accountNumber: $n) { id } }";
    let body = w.app.graphql(devices, json!({ "n": a.number })).await;
    assert_eq!(error_code(&body), HEADER_MISSING, "{body}");
    for (who, auth) in [("user a", &w.a), ("Org One", &w.org_one)] {
        let body = w.gql(auth, devices, json!({ "n": a.number })).await;
        assert_eq!(
            body["data"]["devices"],
            json!([{ "id": ev }]),
            "{who}: {body}"
        );
    }
    for (who, auth) in [("user b", &w.b), ("Org Two", &w.org_two)] {
        let body = w.gql(auth, devices, json!({ "n": a.number })).await;
        assert_eq!(error_code(&body), UNAUTHORIZED, "{who}: {body}");
    }

    // Every device operation answers KT-CT-4301 to those who may not see the device, exactly as for
    // a device that does not exist, and changes nothing.
    let operations: Vec<(&str, Value)> = vec![
        (
            SET_PREFERENCES,
            json!({ "input": { "deviceId": ev, "mode": "CHARGE", "unit": "PERCENTAGE", "schedules": week("07:30", json!(90)) } }),
        ),
        (
            "mutation($d: String!) { updateDeviceGridExport(input: {deviceId: $d, enabled: true}) { id } }",
            json!({ "d": ev }),
        ),
        (
            "mutation($d: String!) { updateIsChargingDurationCapped(input: {deviceId: $d, enabled: true}) { id } }",
            json!({ "d": ev }),
        ),
        (
            CHANGE_DEVICE_SUSPENSION,
            json!({ "deviceId": ev, "action": "SUSPEND" }),
        ),
        (BOOST, boost_input(&ev, "BOOST")),
        (BOOST, boost_input(&ev, "CANCEL")),
        (TEST_CHARGE, json!({ "d": ev })),
        (DEAUTHENTICATE, json!({ "d": ev })),
    ];
    let unknown = |variables: &Value| {
        serde_json::from_str::<Value>(&variables.to_string().replace(&ev, "no-such-device"))
            .unwrap()
    };
    for (document, variables) in &operations {
        let body = w.app.graphql(document, variables.clone()).await;
        assert_eq!(
            error_code(&body),
            HEADER_MISSING,
            "anonymous {document}: {body}"
        );
        for (who, auth) in [("user b", &w.b), ("Org Two", &w.org_two)] {
            let body = w.gql(auth, document, variables.clone()).await;
            assert_eq!(error_code(&body), NOT_FOUND, "{who} {document}: {body}");
            assert_eq!(
                body["errors"][0]["message"], "Unable to find device for given account.",
                "{body}"
            );
            assert_eq!(body["errors"][0]["extensions"]["errorType"], "NOT_FOUND");
        }
        let body = w.as_a(document, unknown(variables)).await;
        assert_eq!(
            error_code(&body),
            NOT_FOUND,
            "unknown device {document}: {body}"
        );
    }
    let untouched = w.stored(&ev).await;
    assert_eq!(
        (
            untouched.lifecycle.as_str(),
            untouched.state.as_str(),
            untouched.is_suspended,
            untouched.version
        ),
        ("LIVE", "SMART_CONTROL_CAPABLE", false, 0)
    );
    assert!(untouched.preferences.is_none());

    // The organisation may act on its customer's device.
    let body = w
        .gql(&w.org_one, "mutation($d: String!) { updateIsChargingDurationCapped(input: {deviceId: $d, enabled: true}) { id } }", json!({ "d": ev }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
}

#[tokio::test]
async fn possible_errors_lists_the_device_codes() {
    let w = world().await;
    let body = w
        .app
        .graphql(
            r#"{ possibleErrors(input: {name: "updateBoostCharge", type: "mutation"}) { code } }"#,
            json!({}),
        )
        .await;
    let codes: Vec<&str> = body["data"]["possibleErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .filter_map(|e| e["code"].as_str())
        .collect();
    for code in ["KT-CT-4301", "KT-CT-4354", "KT-CT-4356", "KT-CT-4357"] {
        assert!(codes.contains(&code), "{code} in {codes:?}");
    }
}
