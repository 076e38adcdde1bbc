//! `resiflex bench ocpp`: a load benchmark of the OCPP central system. It starts a server on a
//! fresh temporary SQLite database on 127.0.0.1, registers N charge points directly in the store,
//! opens N WebSocket connections from the same process (each a charge point that boots, then sends
//! a Heartbeat and a MeterValues every interval, staggered so that the load is spread evenly), and
//! reports the connections held, the messages handled per second, the latency of the charge
//! points' calls and the memory the connections take (client and server side together, since both
//! live in this process).
//!
//! Each connection needs two file descriptors here (the client's socket and the server's), so the
//! number of connections is capped by the process's open-file limit, with a margin for the
//! database and the runtime; a connection refused for lack of descriptors (EMFILE) ends the
//! connection phase instead of failing the run.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::config::Config;
use crate::server::{Server, system_clock};

/// The password every benchmark charge point uses.
const PASSWORD: &str = "bench-password-0123456789";
/// File descriptors kept free for the database, the listener and the runtime.
const FD_MARGIN: u64 = 48;
/// Connections being opened at the same time.
const CONNECT_CONCURRENCY: usize = 128;
/// How long one connection may take to open and boot.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, clap::Args)]
pub struct OcppBenchArgs {
    /// Charge points to connect.
    #[arg(long, default_value_t = 1_000)]
    pub connections: usize,
    /// How long to run once every charge point is connected, in seconds.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// How often each charge point sends its Heartbeat and MeterValues, in seconds (60 is what a
    /// real fleet does; less compresses time).
    #[arg(long, default_value_t = 60.0)]
    pub interval_seconds: f64,
}

/// The benchmark's figures (the last line of its output).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OcppBenchResult {
    pub connections_requested: usize,
    /// The connections attempted: the request, capped by the open-file limit.
    pub connections_planned: usize,
    pub connections_established: usize,
    pub connections_failed: usize,
    /// Connections still open at the end of the run.
    pub connections_held: usize,
    pub first_error: Option<String>,
    pub open_file_limit: Option<u64>,
    pub connect_seconds: f64,
    pub boot_p50_ms: f64,
    pub boot_p99_ms: f64,
    pub run_seconds: f64,
    pub interval_seconds: f64,
    /// Calls of the charge points answered during the run.
    pub calls: u64,
    /// Calls of the central system answered by the charge points during the run.
    pub central_system_calls: u64,
    /// Both directions, per second of the run.
    pub messages_per_second: f64,
    pub call_p50_ms: f64,
    pub call_p99_ms: f64,
    pub call_max_ms: f64,
    /// Calls that got a CALLERROR, and connections that failed during the run.
    pub errors: u64,
    /// Calls still in flight when the run ended (not counted in the latencies).
    pub unfinished: u64,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub rss_peak_kib: u64,
    /// (RSS after - RSS before) / connections held, client and server side together.
    pub memory_per_connection_kib: f64,
    /// Charge points the server counted as connected at the end.
    pub server_connected: usize,
}

/// Counters shared by the connections.
#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    central_system_calls: AtomicU64,
    errors: AtomicU64,
    /// Calls still waiting for their answer when the run ended.
    unfinished: AtomicU64,
    open: AtomicU64,
}

/// A value of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`).
fn proc_status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let rest = line.strip_prefix(key)?.strip_prefix(':')?;
                rest.split_whitespace().next()?.parse().ok()
            })
        })
        .unwrap_or(0)
}

/// The soft limit on open files, from `/proc/self/limits`.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn open_files() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count() as u64)
}

fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted_us.len() - 1) as f64).round() as usize;
    let us = sorted_us[rank.min(sorted_us.len() - 1)];
    (f64::from(us) / 1000.0 * 1000.0).round() / 1000.0
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a connection could not be opened.
#[derive(Debug)]
enum OpenError {
    /// No file descriptor left (EMFILE or ENFILE).
    NoDescriptors(String),
    Other(String),
}

async fn open(url: &str, id: &str) -> Result<Socket, OpenError> {
    let mut request = url
        .into_client_request()
        .map_err(|err| OpenError::Other(err.to_string()))?;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{PASSWORD}"));
    let headers = request.headers_mut();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Basic {token}"))
            .map_err(|err| OpenError::Other(err.to_string()))?,
    );
    headers.insert(
        "sec-websocket-protocol",
        HeaderValue::from_static(resiflex_ocpp::SUBPROTOCOL),
    );
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    match tokio_tungstenite::connect_async_with_config(request, Some(config), true).await {
        Ok((socket, _)) => Ok(socket),
        Err(WsError::Io(err)) if matches!(err.raw_os_error(), Some(23 | 24)) => {
            Err(OpenError::NoDescriptors(err.to_string()))
        }
        Err(err) => Err(OpenError::Other(err.to_string())),
    }
}

/// Answers a call of the central system (the probe after boot, settings, triggers).
fn answer_to(frame: &Value) -> Option<String> {
    let id = frame.get(1)?.as_str()?;
    let action = frame.get(2)?.as_str()?;
    let payload = match action {
        "GetConfiguration" => json!({"configurationKey": [], "unknownKey": []}),
        "GetCompositeSchedule" => json!({"status": "Rejected"}),
        "ClearChargingProfile" => json!({"status": "Unknown"}),
        "TriggerMessage" => json!({"status": "Rejected"}),
        _ => json!({"status": "Accepted"}),
    };
    Some(json!([3, id, payload]).to_string())
}

/// Sends the BootNotification and waits for its answer, answering the central system meanwhile.
async fn boot(socket: &mut Socket, counters: &Counters) -> Result<Duration, String> {
    let sent = Instant::now();
    let frame = json!([2, "boot", "BootNotification", {
        "chargePointVendor": "ResiFlex", "chargePointModel": "Bench"
    }]);
    socket
        .send(Message::text(frame.to_string()))
        .await
        .map_err(|err| err.to_string())?;
    loop {
        let message = socket
            .next()
            .await
            .ok_or_else(|| "closed during boot".to_owned())?
            .map_err(|err| err.to_string())?;
        let Message::Text(text) = message else {
            continue;
        };
        let frame: Value = serde_json::from_str(&text).map_err(|err| err.to_string())?;
        match frame.get(0).and_then(Value::as_i64) {
            Some(3) if frame[1] == "boot" => {
                if frame[2]["status"] != "Accepted" {
                    return Err(format!("boot answered {frame}"));
                }
                return Ok(sent.elapsed());
            }
            Some(4) if frame[1] == "boot" => return Err(format!("boot answered {frame}")),
            Some(2) => {
                if let Some(answer) = answer_to(&frame) {
                    counters
                        .central_system_calls
                        .fetch_add(1, Ordering::Relaxed);
                    socket
                        .send(Message::text(answer))
                        .await
                        .map_err(|err| err.to_string())?;
                }
            }
            _ => {}
        }
    }
}

/// When the run starts and ends.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: tokio::time::Instant,
    end: tokio::time::Instant,
}

/// One connected charge point during the run: its calls every interval from its offset, the
/// central system's calls answered. Returns the latencies of its calls in microseconds.
async fn drive(
    mut socket: Socket,
    offset: Duration,
    interval: Duration,
    mut run: watch::Receiver<Option<Run>>,
    counters: Arc<Counters>,
) -> Vec<u32> {
    let mut latencies = Vec::new();
    let mut schedule: Option<(tokio::time::Instant, tokio::time::Instant)> = None;
    let mut queue: VecDeque<&'static str> = VecDeque::new();
    let mut pending: Option<(String, Instant)> = None;
    let mut next_id = 0_u64;
    let mut energy_wh = 0_u64;
    let far = tokio::time::Instant::now() + Duration::from_secs(365 * 24 * 3600);
    loop {
        if pending.is_none()
            && let Some(action) = queue.pop_front()
        {
            next_id += 1;
            let id = format!("c{next_id}");
            let payload = if action == "Heartbeat" {
                json!({})
            } else {
                energy_wh += 150;
                json!({"connectorId": 1, "meterValue": [{
                    "timestamp": chrono::Utc::now(),
                    "sampledValue": [
                        {"value": energy_wh.to_string(), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                        {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"}
                    ]
                }]})
            };
            let frame = json!([2, id, action, payload]).to_string();
            let sent = Instant::now();
            if socket.send(Message::text(frame)).await.is_err() {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                break;
            }
            pending = Some((id, sent));
        }
        let (next_due, end) = schedule.unwrap_or((far, far));
        tokio::select! {
            changed = run.changed(), if schedule.is_none() => {
                if changed.is_err() {
                    break;
                }
                if let Some(r) = *run.borrow() {
                    schedule = Some((r.start + offset, r.end));
                }
            }
            () = tokio::time::sleep_until(next_due), if next_due < end => {
                queue.push_back("Heartbeat");
                queue.push_back("MeterValues");
                schedule = Some((next_due + interval, end));
            }
            () = tokio::time::sleep_until(end), if schedule.is_some() => break,
            message = socket.next() => {
                let Some(Ok(message)) = message else {
                    counters.errors.fetch_add(1, Ordering::Relaxed);
                    break;
                };
                let Message::Text(text) = message else { continue };
                let Ok(frame) = serde_json::from_str::<Value>(&text) else { continue };
                match frame.get(0).and_then(Value::as_i64) {
                    Some(kind @ (3 | 4)) => {
                        if let Some((id, sent)) = &pending
                            && frame[1] == id.as_str()
                        {
                            if kind == 3 {
                                let us = sent.elapsed().as_micros().min(u128::from(u32::MAX));
                                latencies.push(u32::try_from(us).unwrap_or(u32::MAX));
                                counters.calls.fetch_add(1, Ordering::Relaxed);
                            } else {
                                counters.errors.fetch_add(1, Ordering::Relaxed);
                            }
                            pending = None;
                        }
                    }
                    Some(2) => {
                        if let Some(answer) = answer_to(&frame) {
                            if schedule.is_some() {
                                counters.central_system_calls.fetch_add(1, Ordering::Relaxed);
                            }
                            if socket.send(Message::text(answer)).await.is_err() {
                                break;
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    if pending.is_some() {
        counters.unfinished.fetch_add(1, Ordering::Relaxed);
    }
    counters.open.fetch_sub(1, Ordering::Relaxed);
    let _ = socket.close(None).await;
    latencies
}

pub async fn ocpp(args: OcppBenchArgs) -> anyhow::Result<OcppBenchResult> {
    anyhow::ensure!(args.connections > 0, "--connections must be above 0");
    anyhow::ensure!(
        args.interval_seconds.is_finite() && args.interval_seconds >= 0.01,
        "--interval-seconds must be at least 0.01"
    );
    let interval = Duration::from_secs_f64(args.interval_seconds);
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let mut config = Config {
        listen: "127.0.0.1:0".parse()?,
        ..Config::default()
    };
    config.database.url = format!("sqlite://{}", dir.path().join("bench.db").display());
    config.database.max_connections = 4;
    config.control.enabled = false;
    let db = crate::server::open_database(&config).await?;
    let clock = system_clock();
    let server = Server::with_database(&config, db.clone(), clock.clone()).await?;
    let addr = server.local_addr()?;
    let central = server.ocpp.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));

    // As many charge points as the open-file limit allows (two descriptors each).
    let limit = open_file_limit();
    let planned = match limit {
        Some(limit) => {
            let free = limit.saturating_sub(open_files() + FD_MARGIN) / 2;
            args.connections
                .min(usize::try_from(free).unwrap_or(usize::MAX))
        }
        None => args.connections,
    };
    if planned < args.connections {
        eprintln!(
            "open-file limit {}: {} connections instead of {} (two descriptors each)",
            limit.unwrap_or(0),
            planned,
            args.connections
        );
    }
    let now = clock.now();
    let hash = resiflex_ocpp::auth::hash_password(PASSWORD);
    for i in 0..planned {
        let row = resiflex_store::ocpp::ChargePoint {
            id: format!("BENCH-{i:05}"),
            password_hash: hash.clone(),
            provider: "OCPP".to_owned(),
            enrolment_key: None,
            vendor: None,
            model: None,
            serial_number: None,
            firmware_version: None,
            boot_accepted_at: None,
            capabilities: resiflex_store::sqlx::types::Json(json!({})),
            quirks: resiflex_store::sqlx::types::Json(json!({})),
            created_at: now,
            revoked_at: None,
        };
        resiflex_store::ocpp::insert_charge_point(&db, &row)
            .await
            .context("registering a charge point")?;
    }
    eprintln!("{planned} charge points registered");
    // Let the database settle (its pool opened) before the baseline.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = proc_status_kib("VmRSS");

    // Connect and boot every charge point.
    let counters = Arc::new(Counters::default());
    let (run_tx, run_rx) = watch::channel::<Option<Run>>(None);
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Result<Duration, String>>();
    let connecting = Instant::now();
    let mut drivers = Vec::with_capacity(planned);
    let (failed_tx, failed_rx) = watch::channel(false);
    for i in 0..planned {
        if *failed_rx.borrow() {
            break;
        }
        let Ok(permit) = gate.clone().acquire_owned().await else {
            break;
        };
        if *failed_rx.borrow() {
            break;
        }
        let url = format!("ws://{addr}/ocpp/BENCH-{i:05}");
        let id = format!("BENCH-{i:05}");
        let offset = interval.mul_f64(i as f64 / planned as f64);
        let counters = counters.clone();
        let run_rx = run_rx.clone();
        let done_tx = done_tx.clone();
        let failed_tx = failed_tx.clone();
        drivers.push(tokio::spawn(async move {
            let opened = tokio::time::timeout(CONNECT_TIMEOUT, async {
                let mut socket = match open(&url, &id).await {
                    Ok(socket) => socket,
                    Err(OpenError::NoDescriptors(text)) => {
                        let _ = failed_tx.send(true);
                        return Err(format!("no file descriptor left: {text}"));
                    }
                    Err(OpenError::Other(text)) => return Err(text),
                };
                let took = boot(&mut socket, &counters).await?;
                Ok((socket, took))
            })
            .await
            .unwrap_or_else(|_| Err("connecting timed out".to_owned()));
            drop(permit);
            match opened {
                Ok((socket, took)) => {
                    counters.open.fetch_add(1, Ordering::Relaxed);
                    let _ = done_tx.send(Ok(took));
                    drive(socket, offset, interval, run_rx, counters).await
                }
                Err(err) => {
                    let _ = done_tx.send(Err(err));
                    Vec::new()
                }
            }
        }));
    }
    drop(done_tx);
    let attempted = drivers.len();
    let mut boots_us: Vec<u32> = Vec::with_capacity(attempted);
    let mut failed = 0;
    let mut first_error = None;
    while let Some(outcome) = done_rx.recv().await {
        match outcome {
            Ok(took) => boots_us.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX)),
            Err(err) => {
                failed += 1;
                first_error.get_or_insert(err);
            }
        }
        if boots_us.len() + failed == attempted {
            break;
        }
    }
    let connect_seconds = connecting.elapsed().as_secs_f64();
    let established = boots_us.len();
    eprintln!(
        "{established} connected in {connect_seconds:.1} s ({failed} failed); running {} s",
        args.seconds
    );
    // Give the central system time to finish probing the chargers it just accepted.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The run.
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let end = start + Duration::from_secs(args.seconds);
    let central_before = counters.central_system_calls.load(Ordering::Relaxed);
    let _ = run_tx.send(Some(Run { start, end }));
    tokio::time::sleep_until(
        end - Duration::from_millis(50).min(Duration::from_secs(args.seconds)),
    )
    .await;
    let rss_after = proc_status_kib("VmRSS");
    let server_connected = central.connected_count();
    let held = usize::try_from(counters.open.load(Ordering::Relaxed)).unwrap_or(0);
    let mut latencies: Vec<u32> = Vec::new();
    for driver in drivers {
        if let Ok(mine) = driver.await {
            latencies.extend(mine);
        }
    }
    let run_seconds = args.seconds as f64;
    let calls = counters.calls.load(Ordering::Relaxed);
    let central_system_calls = counters
        .central_system_calls
        .load(Ordering::Relaxed)
        .saturating_sub(central_before);
    latencies.sort_unstable();
    boots_us.sort_unstable();
    let rss_peak = proc_status_kib("VmHWM");
    let _ = stop.send(());
    serving.await.context("server task")??;
    let memory_per_connection = if held > 0 {
        rss_after.saturating_sub(rss_before) as f64 / held as f64
    } else {
        0.0
    };
    Ok(OcppBenchResult {
        connections_requested: args.connections,
        connections_planned: planned,
        connections_established: established,
        connections_failed: failed,
        connections_held: held,
        first_error,
        open_file_limit: limit,
        connect_seconds: round3(connect_seconds),
        boot_p50_ms: percentile_ms(&boots_us, 50.0),
        boot_p99_ms: percentile_ms(&boots_us, 99.0),
        run_seconds,
        interval_seconds: args.interval_seconds,
        calls,
        central_system_calls,
        messages_per_second: round3((calls + central_system_calls) as f64 / run_seconds.max(1e-9)),
        call_p50_ms: percentile_ms(&latencies, 50.0),
        call_p99_ms: percentile_ms(&latencies, 99.0),
        call_max_ms: percentile_ms(&latencies, 100.0),
        errors: counters.errors.load(Ordering::Relaxed),
        unfinished: counters.unfinished.load(Ordering::Relaxed),
        rss_before_kib: rss_before,
        rss_after_kib: rss_after,
        rss_peak_kib: rss_peak,
        memory_per_connection_kib: round3(memory_per_connection),
        server_connected,
    })
}

/// The human-readable summary printed before the JSON line.
pub fn summary(result: &OcppBenchResult) -> String {
    format!(
        "connections {} of {} ({} failed), held {}, server sees {}\n\
         messages {:.0}/s   call p50 {:.3} ms   p99 {:.3} ms   errors {}\n\
         RSS {} KiB -> {} KiB (peak {} KiB): {:.1} KiB per connection (client and server)",
        result.connections_established,
        result.connections_requested,
        result.connections_failed,
        result.connections_held,
        result.server_connected,
        result.messages_per_second,
        result.call_p50_ms,
        result.call_p99_ms,
        result.errors,
        result.rss_before_kib,
        result.rss_after_kib,
        result.rss_peak_kib,
        result.memory_per_connection_kib,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_proc_readings() {
        let sorted: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile_ms(&sorted, 50.0), 51.0);
        assert_eq!(percentile_ms(&sorted, 99.0), 99.0);
        assert_eq!(percentile_ms(&sorted, 100.0), 100.0);
        assert_eq!(percentile_ms(&[], 50.0), 0.0);
        assert!(proc_status_kib("VmRSS") > 0);
        assert!(open_file_limit().is_some_and(|l| l > 0));
        assert!(open_files() > 0);
    }

    #[test]
    fn central_system_calls_are_answered() {
        let answer = answer_to(&json!([2, "x1", "GetConfiguration", {"key": []}])).unwrap();
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer[0], 3);
        assert_eq!(answer[1], "x1");
        assert!(answer[2]["configurationKey"].is_array());
    }

    #[tokio::test]
    async fn a_small_run_holds_its_connections_and_counts_its_calls() {
        let result = ocpp(OcppBenchArgs {
            connections: 20,
            seconds: 2,
            interval_seconds: 0.5,
        })
        .await
        .unwrap();
        assert_eq!(result.connections_established, 20, "{result:?}");
        assert_eq!(result.connections_held, 20, "{result:?}");
        assert_eq!(result.server_connected, 20, "{result:?}");
        assert_eq!(result.errors, 0, "{result:?}");
        // Four rounds of two calls per charge point, give or take one at the edges.
        assert!(result.calls >= 20 * 6, "{result:?}");
        assert!(result.call_p50_ms > 0.0 && result.call_p99_ms >= result.call_p50_ms);
    }
}
