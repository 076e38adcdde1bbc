//! The demo (`serve --demo`) and the accelerated clock (`--clock-speed`, `--clock-start`): the real
//! binary prints working credentials, a second start on the same database reuses everything, the
//! clock runs fast when asked and bad clock flags are refused. The demo's preparation is also run
//! in-process on the test server, on every backend.

use crate::harness;

use resiflex_store::testing::count_rows_in_file;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, Utc};
use harness::TestApp;
use harness::scenario::{SIGN_IN, try_sign_in};
use resiflex_domain::Clock as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const DEVICES: &str = "query($n: String!) { devices(accountNumber: $n) { __typename id name deviceType status { current currentState } } }";
const RATES: &str = "query($code: String!, $from: DateTime!, $to: DateTime!) { \
    tariffRates(tariffCode: $code, from: $from, to: $to) { validFrom validTo unitRate } }";

const MONEY: &str = "query($n: String!) { account(accountNumber: $n) { balance \
    transactions(first: 50) { totalCount edges { node { __typename title } } } \
    bills(first: 5) { edges { node { ... on StatementType { fromDate toDate issuedDate closingBalance } } } } \
    payments(first: 5) { edges { node { status amount } } } } }";

/// A running `resiflex serve` and the demo line it printed.
struct Running {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    demo: Value,
    client: reqwest::Client,
}

impl Running {
    /// Starts the binary with `args` (and the database) and waits for its demo line.
    async fn start(dir: &Path, args: &[&str]) -> Running {
        let database = format!("sqlite://{}", dir.join("demo.db").display());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_resiflex"))
            .arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0", "--database", &database])
            .env_remove("RESIFLEX_DATABASE_URL")
            .env_remove("RESIFLEX_LISTEN")
            .env_remove("RESIFLEX_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut json_lines = Vec::new();
        let read = async {
            while let Some(line) = lines.next_line().await.unwrap() {
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| panic!("standard output holds only JSON: {line:?}"));
                json_lines.push(value);
                if json_lines.last().is_some_and(|v| v.get("demo").is_some()) {
                    return;
                }
            }
        };
        if tokio::time::timeout(Duration::from_secs(90), read)
            .await
            .is_err()
        {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            panic!("no demo line within 90 s; the log:\n{log}");
        }
        assert_eq!(json_lines.len(), 1, "exactly one JSON line: {json_lines:?}");
        let demo = json_lines.remove(0)["demo"].clone();
        Running {
            child,
            stdout: lines,
            demo,
            client: reqwest::Client::new(),
        }
    }

    fn field(&self, name: &str) -> &str {
        self.demo[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} in {}", self.demo))
    }

    async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(self.field("graphqlUrl"))
            .json(&json!({"query": query, "variables": variables}));
        if let Some(token) = token {
            request = request.header("Authorization", format!("JWT {token}"));
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Signs in; answers the token and its claims.
    async fn sign_in(&self, input: Value) -> (String, Value) {
        let body = self.graphql(None, SIGN_IN, json!({ "input": input })).await;
        let token = &body["data"]["obtainKrakenToken"];
        (
            token["token"]
                .as_str()
                .unwrap_or_else(|| panic!("signed in with {input}: {body}"))
                .to_owned(),
            token["payload"].clone(),
        )
    }

    async fn devices(&self, token: &str) -> Vec<Value> {
        let body = self
            .graphql(
                Some(token),
                DEVICES,
                json!({ "n": self.field("accountNumber") }),
            )
            .await;
        body["data"]["devices"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .clone()
    }

    /// The demo tariff's rates over `[from, to)`, as the organisation sees them.
    async fn rates(&self, org_token: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Value> {
        let body = self
            .graphql(
                Some(org_token),
                RATES,
                json!({"code": resiflex::demo::TARIFF_CODE, "from": from.to_rfc3339(), "to": to.to_rfc3339()}),
            )
            .await;
        body["data"]["tariffRates"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .clone()
    }

    /// The demo account's balance, transactions, bills and payments, as its customer sees them.
    async fn money(&self, token: &str) -> Value {
        let body = self
            .graphql(
                Some(token),
                MONEY,
                json!({ "n": self.field("accountNumber") }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["account"].clone()
    }

    /// Stops the server with SIGTERM; it must exit cleanly.
    #[cfg(unix)]
    async fn stop(mut self) {
        let pid = self.child.id().unwrap();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(exit.code(), Some(0), "a graceful stop exits 0");
        let rest = self.stdout.next_line().await.unwrap();
        assert_eq!(rest, None, "one line on standard output, no more");
    }
}

/// The token's `iat` as an instant of the server's clock.
fn issued_at(payload: &Value) -> DateTime<Utc> {
    DateTime::from_timestamp(payload["iat"].as_i64().unwrap(), 0).unwrap()
}

fn credentials(demo: &Value) -> Value {
    let mut demo = demo.clone();
    demo.as_object_mut().unwrap().remove("graphqlUrl");
    demo
}

fn assert_four_live_devices(devices: &[Value]) {
    assert_eq!(devices.len(), 4, "{devices:?}");
    let kinds: BTreeSet<&str> = devices
        .iter()
        .map(|d| d["__typename"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "SmartFlexVehicle",
            "SmartFlexChargePoint",
            "SmartFlexHeatPump",
            "SmartFlexBattery"
        ]),
        "an EV, a charger, a heat pump, a battery"
    );
    for device in devices {
        assert_eq!(device["status"]["current"], "LIVE", "{device}");
        let state = device["status"]["currentState"].as_str().unwrap();
        assert!(
            ["SMART_CONTROL_CAPABLE", "SMART_CONTROL_IN_PROGRESS"].contains(&state),
            "under smart control: {device}"
        );
    }
}

/// The demo account at `now` shows last month's consumption and standing charges, its statement
/// issued on the 1st, and a cleared direct debit payment of the month.
fn assert_demo_money_shows(money: &Value, now: DateTime<Utc>) {
    use chrono::Datelike as _;
    let today = now.with_timezone(&chrono_tz::Europe::London).date_naive();
    let this_month = today.with_day(1).unwrap();
    let last_day = this_month.pred_opt().unwrap();
    let month_start = last_day.with_day(1).unwrap();
    let nodes = |field: &str, connection: &Value| -> Vec<Value> {
        connection[field]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{field}: {connection}"))
            .iter()
            .map(|e| e["node"].clone())
            .collect()
    };
    let transactions = nodes("transactions", money);
    let charge = |starts: &str| {
        transactions.iter().any(|t| {
            t["__typename"] == "Charge" && t["title"].as_str().unwrap().starts_with(starts)
        })
    };
    assert!(charge("Electricity consumption, "), "{money}");
    assert!(charge("Electricity standing charge, "), "{money}");
    assert!(
        transactions.iter().any(|t| t["__typename"] == "Payment"),
        "the direct debit is on the ledger: {money}"
    );
    let bills = nodes("bills", money);
    assert!(
        bills
            .iter()
            .any(|b| b["fromDate"] == month_start.to_string()
                && b["toDate"] == last_day.to_string()
                && b["issuedDate"] == this_month.to_string()
                && b["closingBalance"].is_i64()),
        "a statement of {month_start} to {last_day}: {money}"
    );
    let payments = nodes("payments", money);
    assert!(
        payments.iter().any(
            |p| ["CLEARED", "FULFILLED"].contains(&p["status"].as_str().unwrap())
                && p["amount"] == resiflex::demo::money::PAYMENT_AMOUNT
        ),
        "{money}"
    );
    assert!(money["balance"].is_i64(), "{money}");
}

#[cfg(unix)]
#[tokio::test]
async fn the_demo_signs_in_three_ways_and_a_second_start_reuses_everything() {
    let dir = tempfile::tempdir().unwrap();
    let first = Running::start(dir.path(), &["--demo"]).await;
    let demo = first.demo.clone();
    assert_eq!(first.field("email"), resiflex::demo::EMAIL);
    assert!(first.field("accountNumber").starts_with("A-"), "{demo}");
    assert!(first.field("apiKey").starts_with("sk_live_"), "{demo}");
    assert!(
        first.field("organisationSecretKey").starts_with("sk_live_"),
        "{demo}"
    );
    assert!(first.field("password").chars().count() >= 10, "{demo}");

    let (by_password, _) = first
        .sign_in(json!({"email": demo["email"], "password": demo["password"]}))
        .await;
    let (by_key, _) = first.sign_in(json!({"APIKey": demo["apiKey"]})).await;
    let (org, _) = first
        .sign_in(json!({"organizationSecretKey": demo["organisationSecretKey"]}))
        .await;
    let devices = first.devices(&by_key).await;
    assert_four_live_devices(&devices);
    assert_eq!(first.devices(&by_password).await.len(), 4);
    assert_eq!(
        first.devices(&org).await.len(),
        4,
        "the organisation sees its customer's devices"
    );
    let ids: BTreeSet<String> = devices
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();

    // Prices reach at least a day and a half ahead of the server's clock.
    let (_, claims) = first.sign_in(json!({"APIKey": demo["apiKey"]})).await;
    let now = issued_at(&claims);
    let ahead = first
        .rates(&org, now, now + chrono::Duration::hours(36))
        .await;
    assert!(ahead.len() >= 72, "36 hours of half-hours: {}", ahead.len());
    // The tariff is sold as a product on the public REST API, at this half-hour's price.
    let base = first
        .field("graphqlUrl")
        .trim_end_matches('/')
        .trim_end_matches("/v1/graphql")
        .to_owned();
    let product: Value = first
        .client
        .get(format!(
            "{base}/v1/products/{}/",
            resiflex::demo::PRODUCT_CODE
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tariff = &product["single_register_electricity_tariffs"]["_C"]["direct_debit_monthly"];
    assert_eq!(
        tariff["code"], "E-1R-RESIFLEX-AGILE-26-01-01-C",
        "{product}"
    );
    assert!(
        tariff["standard_unit_rate_inc_vat"].is_number(),
        "{product}"
    );
    // The smart meter has days of readings: on the REST API with the customer's key, and
    // priced by the dynamic tariff in `measurements`.
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:", demo["apiKey"].as_str().unwrap()));
    let from = (now - chrono::Duration::days(2)).format("%Y-%m-%dT00:00:00Z");
    let consumption: Value = first
        .client
        .get(format!(
            "{base}/v1/electricity-meter-points/{}/meters/{}/consumption/?period_from={from}&page_size=200",
            resiflex::demo::MPAN,
            resiflex::demo::METER_SERIAL
        ))
        .header("Authorization", format!("Basic {basic}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        consumption["count"].as_i64().unwrap() >= 96,
        "two days of half-hours: {consumption}"
    );
    let properties = first
        .graphql(
            Some(&by_key),
            "query($n: String!) { properties(accountNumber: $n) { id } }",
            json!({"n": demo["accountNumber"]}),
        )
        .await;
    let measured = first
        .graphql(
            Some(&by_key),
            r#"query($p: ID!, $f: [UtilityFiltersInput!]) { property(id: $p) { measurements(first: 5, utilityFilters: $f) {
                edges { node { value ... on IntervalMeasurementType { startAt endAt }
                  metaData { statistics { type costInclTax { estimatedAmount } } } } } } } }"#,
            json!({"p": properties["data"]["properties"][0]["id"],
                   "f": [{"electricityFilters": {"readingFrequencyType": "DAY_INTERVAL"}}]}),
        )
        .await;
    let days = measured["data"]["property"]["measurements"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{measured}"));
    assert!(days.len() >= 2, "{measured}");
    assert!(
        days[0]["node"]["metaData"]["statistics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["type"] == "CONSUMPTION_COST"),
        "{measured}"
    );
    let money = first.money(&by_key).await;
    assert_demo_money_shows(&money, now);
    first.stop().await;

    let second = Running::start(dir.path(), &["--demo"]).await;
    assert_eq!(
        credentials(&second.demo),
        credentials(&demo),
        "a second start prints the same credentials"
    );
    let (by_key, _) = second.sign_in(json!({"APIKey": demo["apiKey"]})).await;
    let money_again = second.money(&by_key).await;
    assert_eq!(
        money_again["transactions"]["totalCount"], money["transactions"]["totalCount"],
        "a second start posts nothing new: {money_again}"
    );
    assert_eq!(money_again["balance"], money["balance"], "{money_again}");
    second
        .sign_in(json!({"email": demo["email"], "password": demo["password"]}))
        .await;
    second
        .sign_in(json!({"organizationSecretKey": demo["organisationSecretKey"]}))
        .await;
    let again = second.devices(&by_key).await;
    assert_four_live_devices(&again);
    let again: BTreeSet<String> = again
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(again, ids, "the same devices");
    second.stop().await;

    let file = dir.path().join("demo.db");
    for (table, expected) in [
        ("organisations", 1),
        ("accounts", 1),
        ("account_users", 1),
        ("properties", 1),
        ("devices", 4),
        ("provider_grants", 4),
        ("tariffs", 1),
        ("products", 1),
        ("product_tariffs", 2),
        ("meter_points", 1),
        ("meters", 1),
        ("agreements", 1),
    ] {
        assert_eq!(
            count_rows_in_file(&file, table, "").await,
            expected,
            "{table}"
        );
    }
    let active_keys = count_rows_in_file(&file, "user_api_keys", "WHERE revoked_at IS NULL").await;
    assert_eq!(active_keys, 1);
}

#[cfg(unix)]
#[tokio::test]
async fn an_accelerated_clock_runs_fast_and_starts_where_told() {
    let dir = tempfile::tempdir().unwrap();
    let start: DateTime<Utc> = "2026-11-27T18:00:00Z".parse().unwrap();
    let running = Running::start(
        dir.path(),
        &[
            "--demo",
            "--clock-speed",
            "600",
            "--clock-start",
            "2026-11-27T18:00:00Z",
        ],
    )
    .await;
    let key = json!({"APIKey": running.demo["apiKey"]});
    let (_, first) = running.sign_in(key.clone()).await;
    let wall = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (token, second) = running.sign_in(key).await;
    let wall = wall.elapsed().as_secs_f64();
    let (first, second) = (issued_at(&first), issued_at(&second));
    assert!(
        first >= start && first < start + chrono::Duration::hours(24),
        "the clock starts at --clock-start: {first}"
    );
    let clock = (second - first).num_seconds() as f64;
    assert!(
        clock >= 0.9 * 600.0 && clock <= (wall + 1.0) * 600.0,
        "{clock} s of clock time in {wall} s of wall time"
    );
    // The token is still good by the fast clock (it lasts 60 minutes of it, six seconds here).
    assert_four_live_devices(&running.devices(&token).await);
    // The demo's prices follow the clock: they start from its day, not the wall clock's.
    let (org, _) = running
        .sign_in(json!({"organizationSecretKey": running.demo["organisationSecretKey"]}))
        .await;
    let ahead = running
        .rates(&org, second, second + chrono::Duration::hours(36))
        .await;
    assert!(ahead.len() >= 72, "{}", ahead.len());
    running.stop().await;
}

#[tokio::test]
async fn bad_clock_flags_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("never.db").display());
    for args in [
        vec!["--clock-speed=0"],
        vec!["--clock-speed=-1"],
        vec!["--clock-speed=NaN"],
        vec!["--clock-speed=inf"],
        vec!["--clock-speed=100000"],
        vec!["--clock-speed=fast"],
        vec!["--clock-start=2026-11-27T18:00:00"],
        vec!["--clock-start=tomorrow"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_resiflex"))
            .arg("serve")
            .args(&args)
            .args(["--demo", "--listen", "127.0.0.1:0", "--database", &database])
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} is refused");
        let flag = args[0].split('=').next().unwrap();
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(
            output.stdout.is_empty(),
            "{args:?}: nothing on standard output"
        );
    }
    assert!(
        !dir.path().join("never.db").exists(),
        "refused before the database is opened"
    );
}

#[tokio::test]
async fn preparing_the_demo_twice_creates_nothing_new() {
    let app = TestApp::spawn().await;
    let db = &app.test_db.db;
    let now = app.clock.now();
    let demo = resiflex::demo::prepare(db, &app.sandbox, now)
        .await
        .unwrap();
    let again = resiflex::demo::prepare(db, &app.sandbox, now + chrono::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(demo.credentials, again.credentials);
    assert_eq!(demo.device_ids, again.device_ids);
    assert_eq!(demo.organisation_id, again.organisation_id);
    assert_eq!(demo.device_ids.len(), 4);
    assert_demo_money(db, &demo, &again).await;

    // Registered the way the wizard registers: live, with the kind's default preferences.
    let devices = resiflex_store::devices::devices_of_account(db, demo.account_id)
        .await
        .unwrap();
    assert_eq!(devices.len(), 4);
    for device in &devices {
        assert_eq!(
            device.lifecycle,
            resiflex_domain::device::Lifecycle::Live,
            "{device:?}"
        );
        assert_eq!(
            device.state,
            resiflex_domain::device::DeviceState::SmartControlCapable,
            "{device:?}"
        );
        assert!(device.preferences.is_some(), "{device:?}");
        assert!(device.catalogue_id.is_some() && device.grant_id.is_some());
    }
    let ev = devices
        .iter()
        .find(|d| d.kind == resiflex_domain::device::DeviceKind::ElectricVehicle)
        .unwrap();
    let prefs = ev.preferences.as_ref().unwrap();
    assert_eq!(prefs.schedules[0].time.to_string(), "07:30:00", "{prefs:?}");
    assert_eq!(prefs.schedules[0].max, 80.0, "{prefs:?}");
    let reading = resiflex_store::telemetry::latest(db, &ev.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reading.plugged_in, Some(true), "{reading:?}");
    assert_eq!(reading.at_home, Some(true), "{reading:?}");
    let soc = reading.state_of_charge_pct.unwrap();
    assert!((39.0..=40.0).contains(&soc), "{reading:?}");

    // The property is on the demo tariff, priced well ahead.
    let property = resiflex_store::accounts::properties_of_account(db, demo.account_id)
        .await
        .unwrap()
        .remove(0);
    let on = resiflex_store::tariffs::tariff_of_property(db, property.id, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(on.tariff.code, resiflex::demo::TARIFF_CODE);
    assert_eq!(on.tariff.organisation_id, Some(demo.organisation_id));
    let rates = resiflex_store::tariffs::rates_between(
        db,
        on.tariff.id,
        now,
        now + chrono::Duration::hours(36),
    )
    .await
    .unwrap();
    assert_eq!(rates.len(), 72, "every half-hour of the next 36 hours");

    // Changed credentials are put back; the demo prices keep up with the clock.
    let user = resiflex_store::identity::user_by_email(db, resiflex::demo::EMAIL)
        .await
        .unwrap()
        .unwrap();
    resiflex_store::identity::replace_api_key(db, user.id, "another", now)
        .await
        .unwrap();
    resiflex_store::identity::rotate_organisation_key(db, demo.organisation_id, "another", now)
        .await
        .unwrap();
    let later = now + chrono::Duration::days(3);
    let restored = resiflex::demo::prepare(db, &app.sandbox, later)
        .await
        .unwrap();
    assert_eq!(restored.credentials, demo.credentials);
    for input in [
        json!({"APIKey": demo.credentials.api_key}),
        json!({"organizationSecretKey": demo.credentials.organisation_secret_key}),
    ] {
        let auth = try_sign_in(&app, input).await;
        assert!(
            auth["data"]["obtainKrakenToken"]["token"].is_string(),
            "{auth}"
        );
    }
    let ahead = resiflex_store::tariffs::rates_between(
        db,
        on.tariff.id,
        later,
        later + chrono::Duration::hours(36),
    )
    .await
    .unwrap();
    assert_eq!(ahead.len(), 72);
    assert_eq!(
        resiflex_store::devices::devices_of_account(db, demo.account_id)
            .await
            .unwrap()
            .len(),
        4
    );
}

/// The demo's money after two preparations an hour apart, from the test clock's 27 November:
/// October billed (a consumption and a standing charge, a statement issued on 1 November), the
/// 1 November direct debit collected and posted, and nothing posted by the second preparation.
async fn assert_demo_money(
    db: &resiflex_store::Db,
    demo: &resiflex::demo::Demo,
    again: &resiflex::demo::Demo,
) {
    use resiflex_domain::money::TransactionKind;
    use resiflex_domain::payments::PaymentStatus;
    let ledgers = resiflex_store::ledgers::ledgers_of_account(db, demo.account_id)
        .await
        .unwrap();
    let posted: i64 = ledgers.iter().map(|l| l.last_sequence).sum();
    assert_eq!(posted, 3, "two charges and a payment: {ledgers:?}");
    assert_eq!(demo.balance, again.balance, "nothing posted twice");
    let balance: i64 = ledgers.iter().map(|l| l.balance).sum();
    assert_eq!(balance, demo.balance);
    let main = ledgers
        .iter()
        .find(|l| l.kind == resiflex_domain::money::LedgerKind::Main)
        .unwrap();
    let query = resiflex_store::ledgers::TransactionQuery {
        ledger_ids: vec![main.id],
        ..Default::default()
    };
    let transactions = resiflex_store::ledgers::transactions(db, &query, 0, 50)
        .await
        .unwrap();
    let titles: Vec<(TransactionKind, String)> = transactions
        .iter()
        .map(|t| (t.transaction.kind, t.transaction.title.clone()))
        .collect();
    for wanted in [
        "Electricity consumption, 2026-10-01 to 2026-10-31",
        "Electricity standing charge, 2026-10-01 to 2026-10-31",
    ] {
        assert!(
            titles
                .iter()
                .any(|(kind, title)| *kind == TransactionKind::Charge && title == wanted),
            "{wanted}: {titles:?}"
        );
    }
    assert!(
        titles
            .iter()
            .any(|(kind, _)| *kind == TransactionKind::Payment),
        "{titles:?}"
    );
    let payments = resiflex_store::payments::payments_of_account(db, demo.account_id)
        .await
        .unwrap();
    let collected: Vec<_> = payments
        .iter()
        .filter(|p| p.status == PaymentStatus::Fulfilled)
        .collect();
    assert_eq!(collected.len(), 1, "{payments:?}");
    assert_eq!(collected[0].amount, resiflex::demo::money::PAYMENT_AMOUNT);
    assert_eq!(
        collected[0].payment_date,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
    );
    let instructions = resiflex_store::payments::instructions_of_account(db, demo.account_id)
        .await
        .unwrap();
    assert_eq!(instructions.len(), 1, "one direct debit: {instructions:?}");
    assert_eq!(instructions[0].bank.masked_account_identifier, "****9911");
}

/// The demo household's heat pump and battery at work, as the README shows them: from a noon
/// start at 600 times real time, the heat pump's plan pre-heats before the evening peak and the
/// battery's discharges over it, both through `flexPlannedDispatches`.
#[cfg(unix)]
#[tokio::test]
async fn in_the_demo_the_heat_pump_pre_heats_and_the_battery_covers_the_peak() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(
        dir.path(),
        &[
            "--demo",
            "--clock-speed",
            "600",
            "--clock-start",
            "2026-11-27T12:00:00Z",
        ],
    )
    .await;
    let key = json!({"APIKey": running.demo["apiKey"]});
    let planned = "query($d: String!) { flexPlannedDispatches(deviceId: $d) { start end action powerKw energyAddedKwh setpointInCelsius heatPumpActivity } }";
    let wall = std::time::Instant::now();
    let (mut heat, mut battery) = (Vec::new(), Vec::new());
    // The first control tick plans them; give it up to a minute of wall time.
    while wall.elapsed() < Duration::from_secs(60) {
        let (token, _) = running.sign_in(key.clone()).await;
        let devices = running.devices(&token).await;
        let id = |kind: &str| {
            devices
                .iter()
                .find(|d| d["__typename"] == kind)
                .map(|d| d["id"].as_str().unwrap().to_owned())
                .unwrap()
        };
        let dispatches = |body: Value| {
            body["data"]["flexPlannedDispatches"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        };
        heat = dispatches(
            running
                .graphql(Some(&token), planned, json!({"d": id("SmartFlexHeatPump")}))
                .await,
        );
        battery = dispatches(
            running
                .graphql(Some(&token), planned, json!({"d": id("SmartFlexBattery")}))
                .await,
        );
        if !heat.is_empty() && !battery.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        heat.iter().any(|d| d["heatPumpActivity"] == "PRE_HEATING"
            && d["action"] == "HEAT"
            && d["setpointInCelsius"].as_f64().is_some_and(|c| c > 20.0)),
        "{heat:#?}"
    );
    assert!(
        battery.iter().any(|d| d["action"] == "CHARGE"),
        "{battery:#?}"
    );
    assert!(
        battery.iter().any(|d| d["action"] == "DISCHARGE"
            && d["energyAddedKwh"]
                .as_str()
                .is_some_and(|e| e.starts_with('-'))),
        "{battery:#?}"
    );
    running.stop().await;
}
