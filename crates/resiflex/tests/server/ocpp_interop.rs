//! Interoperability with an independent OCPP 1.6-J implementation: the charge point is the `ocpp`
//! package from PyPI (`crates/ocpp/tests/interop/charge_point.py`), run in the virtual environment
//! `.ci/ocpp-venv` creates at `target/ocpp-venv`. It is refused with a wrong password, boots,
//! reports status, runs a transaction with meter values and receives the charging profile of a
//! schedule sent through the provider; its own schema checks validate every message ResiFlex sends.
//!
//! Without the environment the test is skipped with a message, unless `RESIFLEX_REQUIRE_INTEROP` is
//! set, in which case a missing environment fails it.

use crate::harness;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration as StdDuration;

use chrono::Duration;
use harness::TestApp;
use resiflex_domain::Clock as _;
use resiflex_providers::{Command, DeviceProvider as _, Grant, ScheduleWindow};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, BufReader};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The virtual environment's Python, or `None` (after saying why) when the test should be skipped.
fn python() -> Option<PathBuf> {
    let python = workspace().join("target/ocpp-venv/bin/python");
    let required = std::env::var("RESIFLEX_REQUIRE_INTEROP")
        .ok()
        .is_some_and(|v| !v.trim().is_empty() && v.trim() != "0");
    if python.exists() {
        return Some(python);
    }
    assert!(
        !required,
        "RESIFLEX_REQUIRE_INTEROP is set but {} does not exist; run .ci/ocpp-venv",
        python.display()
    );
    eprintln!(
        "SKIPPED: the OCPP interoperability test needs the Python environment at {}; run .ci/ocpp-venv \
         (set RESIFLEX_REQUIRE_INTEROP=1 to make its absence a failure)",
        python.display()
    );
    None
}

/// Reads the script's lines until one starts with `word`, answering nothing; returns that line and
/// keeps every line in `seen`.
async fn until(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    seen: &mut Vec<String>,
    word: &str,
) -> String {
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(60);
    loop {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("no {word} from the charge point; it said: {seen:#?}"))
            .expect("read the charge point's output")
            .unwrap_or_else(|| panic!("the charge point ended before {word}; it said: {seen:#?}"));
        seen.push(line.clone());
        if line.starts_with(word) {
            return line;
        }
    }
}

#[tokio::test]
async fn the_pypi_ocpp_charge_point_boots_charges_and_follows_a_schedule() {
    let Some(python) = python() else {
        return;
    };
    let app = TestApp::spawn().await;
    let provider = app.ocpp.provider("OCPP");
    let details = provider
        .enrolment()
        .unwrap()
        .enrol("interop", app.clock.now())
        .await
        .unwrap();
    let grant = Grant {
        subject: details.device_id.clone(),
        secret: String::new(),
    };
    let script = workspace().join("crates/ocpp/tests/interop/charge_point.py");
    let mut child = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(&details.websocket_url)
        .arg(&details.device_id)
        .arg(details.password.as_deref().unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the charge point");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();

    assert_eq!(until(&mut lines, &mut seen, "REFUSED").await, "REFUSED 401");
    assert_eq!(
        until(&mut lines, &mut seen, "BOOT").await,
        "BOOT Accepted 300"
    );
    let transaction: i64 = until(&mut lines, &mut seen, "TRANSACTION")
        .await
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    until(&mut lines, &mut seen, "METERED").await;

    let now = app.clock.now();
    let reading = provider
        .telemetry(&grant, &grant.subject, now)
        .await
        .unwrap();
    assert_eq!(
        (
            reading.active,
            reading.power_w,
            reading.energy_imported_wh,
            reading.state_of_charge_pct
        ),
        (true, 7_200, 1_500, Some(40.0))
    );

    // A schedule for a charger whose phase rotation names three phases.
    let windows = vec![ScheduleWindow {
        start: now + Duration::minutes(30),
        end: now + Duration::minutes(90),
        power_w: 11_040,
        setpoint_c: None,
    }];
    let sent = provider
        .send(
            &grant,
            &grant.subject,
            &Command::Schedule { windows },
            "interop-schedule",
            now,
        )
        .await;
    assert!(sent.is_ok(), "{sent:?}; the charge point said: {seen:#?}");

    // The transaction runs: the plan is the transaction's own profile.
    let profile_line = loop {
        let line = until(&mut lines, &mut seen, "PROFILE").await;
        if line.contains("\"TxProfile\"") {
            break line;
        }
    };
    let profile: Value = serde_json::from_str(profile_line.trim_start_matches("PROFILE ")).unwrap();
    assert_eq!(profile["transaction_id"].as_i64(), Some(transaction));
    assert_eq!(profile["charging_profile_kind"], "Absolute");
    assert_eq!(profile["stack_level"], 3);
    let schedule = &profile["charging_schedule"];
    assert_eq!(schedule["charging_rate_unit"], "A");
    let periods: Vec<(i64, f64, i64)> = schedule["charging_schedule_period"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["start_period"].as_i64().unwrap(),
                p["limit"].as_f64().unwrap(),
                p["number_phases"].as_i64().unwrap(),
            )
        })
        .collect();
    // 11 040 W on three phases at 230 V is 16 A, from minute 30 to minute 90; nothing otherwise.
    assert_eq!(periods, vec![(0, 0.0, 3), (1800, 16.0, 3), (5400, 0.0, 3)]);
    until(&mut lines, &mut seen, "COMPOSITE").await;
    until(&mut lines, &mut seen, "STOPPED").await;

    let status = tokio::time::timeout(StdDuration::from_secs(30), child.wait())
        .await
        .expect("the charge point finishes")
        .unwrap();
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        use tokio::io::AsyncReadExt as _;
        let _ = err.read_to_string(&mut stderr).await;
    }
    assert!(status.success(), "exit {status}: {stderr}");
    let stored = resiflex_store::ocpp::transaction(&app.test_db.db, transaction)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.meter_start_wh, stored.meter_stop_wh),
        (1_000, Some(2_500))
    );
}
