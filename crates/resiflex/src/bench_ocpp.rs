//! `resiflex bench ocpp`: a load benchmark of the OCPP central system. It starts a server on a
//! fresh temporary SQLite database on 127.0.0.1 and registers N charge points directly in the
//! store, each with its own random password. The charge points are simulated by a load generator
//! in a child process of the same binary (`resiflex bench ocpp-load`, hidden): it is given the
//! server's address, the pacing and the duration on its command line and the charge points' ids
//! and passwords on its standard input, opens N WebSocket connections (each a charge point that
//! boots, then sends a Heartbeat and a MeterValues every interval, staggered so that the load is
//! spread evenly), and reports its figures as one JSON line on its standard output: connections,
//! messages handled per second, the latency of the charge points' calls and its own memory.
//!
//! The server process thus holds only the server side of each connection, one file descriptor
//! each, and its own growth in resident memory divided by the connections it holds is the memory
//! per connection of the central system. The load generator keeps its connections open after its
//! report until the server has taken its measurements and closes the generator's standard input.
//!
//! `--in-process` runs the charge points in the server's process instead (two descriptors per
//! connection, and a memory figure that counts both sides), for small runs without the binary.
//!
//! Each process caps its connections by its open-file limit, with a margin for the database and
//! the runtime; a connection refused for lack of descriptors (EMFILE) ends the connection phase
//! instead of failing the run.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use rand::distr::{Alphanumeric, SampleString as _};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::config::Config;
use crate::server::{Server, system_clock};

/// Length of each charge point's random password.
const PASSWORD_LENGTH: usize = 24;
/// File descriptors kept free for the database, the listener and the runtime.
const FD_MARGIN: u64 = 48;
/// Connections being opened at the same time.
const CONNECT_CONCURRENCY: usize = 128;
/// How long one connection may take to open and boot.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the central system is given to probe the chargers it just accepted before the run.
const SETTLE: Duration = Duration::from_secs(2);
/// How long the charge points may take to hand in their latencies once the run ends.
const HAND_IN_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the load generator holds its connections after its report at most.
const HOLD_TIMEOUT: Duration = Duration::from_secs(120);
/// How long closing the connections may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// Simulate the charge points in the server's process instead of a child process (two
    /// descriptors per connection; the memory figures then count client and server together).
    #[arg(long)]
    pub in_process: bool,
}

/// The arguments of the load generator (`resiflex bench ocpp-load`); the charge points' ids and
/// passwords come as one JSON line on standard input.
#[derive(Debug, Clone, clap::Args)]
pub struct OcppLoadArgs {
    /// The central system's address (a loopback address).
    #[arg(long)]
    pub server: SocketAddr,
    /// How long to run once every charge point is connected, in seconds.
    #[arg(long)]
    pub seconds: u64,
    /// How often each charge point sends its Heartbeat and MeterValues, in seconds.
    #[arg(long)]
    pub interval_seconds: f64,
}

/// One charge point's credentials.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Login {
    id: String,
    password: String,
}

/// What the load generator reads on standard input.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Logins {
    charge_points: Vec<Login>,
}

/// The load generator's figures (its one line of standard output).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadReport {
    /// The connections attempted: the charge points given, capped by the open-file limit.
    pub planned: usize,
    pub established: usize,
    pub failed: usize,
    /// Connections still open at the end of the run.
    pub held: usize,
    pub first_error: Option<String>,
    pub open_file_limit: Option<u64>,
    pub connect_seconds: f64,
    pub boot_p50_ms: f64,
    pub boot_p99_ms: f64,
    pub run_seconds: f64,
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
    /// (RSS after - RSS before) / connections held.
    pub memory_per_connection_kib: f64,
}

/// The benchmark's figures (the last line of its output).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OcppBenchResult {
    /// Where the charge points ran: "child process" or "in process".
    pub load_generator: &'static str,
    pub connections_requested: usize,
    /// The charge points registered: the request, capped by the server's open-file limit.
    pub connections_planned: usize,
    pub connections_established: usize,
    pub connections_failed: usize,
    /// Connections the load generator still had open at the end of the run.
    pub connections_held: usize,
    /// Charge points the server counted as connected when it took its measurements.
    pub server_connected: usize,
    pub first_error: Option<String>,
    pub open_file_limit: Option<u64>,
    pub load_open_file_limit: Option<u64>,
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
    pub server_rss_before_kib: u64,
    pub server_rss_after_kib: u64,
    pub server_rss_peak_kib: u64,
    /// (the server process's RSS after - before) / connections the server holds.
    pub server_memory_per_connection_kib: f64,
    pub load_rss_before_kib: u64,
    pub load_rss_after_kib: u64,
    /// (the load generator's RSS after - before) / connections it holds.
    pub load_memory_per_connection_kib: f64,
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

/// How many of `wanted` connections the open-file limit leaves room for, at `per_connection`
/// descriptors each; tells on standard error when that is fewer.
fn capped_by_descriptors(wanted: usize, per_connection: u64, limit: Option<u64>) -> usize {
    let Some(limit) = limit else {
        return wanted;
    };
    let free = limit.saturating_sub(open_files() + FD_MARGIN) / per_connection.max(1);
    let planned = wanted.min(usize::try_from(free).unwrap_or(usize::MAX));
    if planned < wanted {
        eprintln!(
            "open-file limit {limit}: {planned} connections instead of {wanted} \
             ({per_connection} descriptor(s) each in this process)"
        );
    }
    planned
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

fn per_connection_kib(before: u64, after: u64, connections: usize) -> f64 {
    if connections == 0 {
        return 0.0;
    }
    round3(after.saturating_sub(before) as f64 / connections as f64)
}

fn validate_pacing(interval_seconds: f64) -> anyhow::Result<Duration> {
    anyhow::ensure!(
        interval_seconds.is_finite() && interval_seconds >= 0.01,
        "--interval-seconds must be at least 0.01"
    );
    Ok(Duration::from_secs_f64(interval_seconds))
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a connection could not be opened.
#[derive(Debug)]
enum OpenError {
    /// No file descriptor left (EMFILE or ENFILE).
    NoDescriptors(String),
    Other(String),
}

async fn open(url: &str, login: &Login) -> Result<Socket, OpenError> {
    let mut request = url
        .into_client_request()
        .map_err(|err| OpenError::Other(err.to_string()))?;
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", login.id, login.password));
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

/// What the connected charge points are told.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Connected, waiting for the run.
    Waiting,
    Run(Run),
    /// Close the connection.
    Release,
}

/// Where one charge point is in the run.
#[derive(Debug, Clone, Copy)]
enum Schedule {
    Waiting,
    Running {
        next_due: tokio::time::Instant,
        end: tokio::time::Instant,
    },
    /// The run is over: the connection stays open, answering the central system, until released.
    Done,
}

/// One connected charge point: its calls every interval from its offset during the run, the
/// central system's calls answered until it is released. It hands in the latencies of its calls
/// in microseconds when the run ends (or when its connection fails, if earlier).
async fn drive(
    mut socket: Socket,
    offset: Duration,
    interval: Duration,
    mut phase: watch::Receiver<Phase>,
    counters: Arc<Counters>,
    hand_in: mpsc::UnboundedSender<Vec<u32>>,
) {
    let mut latencies = Vec::new();
    let mut handed_in = false;
    let mut schedule = Schedule::Waiting;
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
        let (next_due, end, running) = match schedule {
            Schedule::Running { next_due, end } => (next_due, end, true),
            Schedule::Waiting | Schedule::Done => (far, far, false),
        };
        tokio::select! {
            changed = phase.changed() => {
                if changed.is_err() {
                    break;
                }
                let now = *phase.borrow_and_update();
                match now {
                    Phase::Run(run) if matches!(schedule, Schedule::Waiting) => {
                        schedule = Schedule::Running { next_due: run.start + offset, end: run.end };
                    }
                    Phase::Release => break,
                    Phase::Waiting | Phase::Run(_) => {}
                }
            }
            () = tokio::time::sleep_until(next_due), if running && next_due < end => {
                queue.push_back("Heartbeat");
                queue.push_back("MeterValues");
                schedule = Schedule::Running { next_due: next_due + interval, end };
            }
            () = tokio::time::sleep_until(end), if running => {
                schedule = Schedule::Done;
                queue.clear();
                if pending.take().is_some() {
                    counters.unfinished.fetch_add(1, Ordering::Relaxed);
                }
                handed_in = true;
                let _ = hand_in.send(std::mem::take(&mut latencies));
            }
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
                            if running {
                                counters.central_system_calls.fetch_add(1, Ordering::Relaxed);
                            }
                            if socket.send(Message::text(answer)).await.is_err() {
                                counters.errors.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    if !handed_in {
        if pending.is_some() {
            counters.unfinished.fetch_add(1, Ordering::Relaxed);
        }
        let _ = hand_in.send(latencies);
    }
    counters.open.fetch_sub(1, Ordering::Relaxed);
    let _ = socket.close(None).await;
}

/// The connections of a finished run, kept open until released.
struct Held {
    phase: watch::Sender<Phase>,
    drivers: Vec<JoinHandle<()>>,
}

impl Held {
    /// Closes every connection.
    async fn release(self) {
        let _ = self.phase.send(Phase::Release);
        let closing = async {
            for driver in self.drivers {
                let _ = driver.await;
            }
        };
        if tokio::time::timeout(CLOSE_TIMEOUT, closing).await.is_err() {
            eprintln!("closing the connections timed out");
        }
    }
}

/// Connects and boots the charge points, runs them for `seconds` and reports; the connections
/// stay open (answering the central system) until the returned [`Held`] is released.
async fn generate_load(
    server: SocketAddr,
    logins: Vec<Login>,
    seconds: u64,
    interval: Duration,
    descriptors_per_connection: u64,
) -> (LoadReport, Held) {
    let limit = open_file_limit();
    let planned = capped_by_descriptors(logins.len(), descriptors_per_connection, limit);
    let rss_before = proc_status_kib("VmRSS");

    // Connect and boot every charge point.
    let counters = Arc::new(Counters::default());
    let (phase_tx, phase_rx) = watch::channel(Phase::Waiting);
    let (hand_in_tx, mut hand_in_rx) = mpsc::unbounded_channel::<Vec<u32>>();
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Result<Duration, String>>();
    let connecting = Instant::now();
    let mut drivers = Vec::with_capacity(planned);
    let (failed_tx, failed_rx) = watch::channel(false);
    for (i, login) in logins.into_iter().take(planned).enumerate() {
        if *failed_rx.borrow() {
            break;
        }
        let Ok(permit) = gate.clone().acquire_owned().await else {
            break;
        };
        if *failed_rx.borrow() {
            break;
        }
        let url = format!("ws://{server}/ocpp/{}", login.id);
        let offset = interval.mul_f64(i as f64 / planned as f64);
        let counters = counters.clone();
        let phase_rx = phase_rx.clone();
        let done_tx = done_tx.clone();
        let failed_tx = failed_tx.clone();
        let hand_in_tx = hand_in_tx.clone();
        drivers.push(tokio::spawn(async move {
            let opened = tokio::time::timeout(CONNECT_TIMEOUT, async {
                let mut socket = match open(&url, &login).await {
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
                    drive(socket, offset, interval, phase_rx, counters, hand_in_tx).await;
                }
                Err(err) => {
                    let _ = done_tx.send(Err(err));
                }
            }
        }));
    }
    drop(done_tx);
    drop(hand_in_tx);
    let attempted = drivers.len();
    let mut boots_us: Vec<u32> = Vec::with_capacity(attempted);
    let mut failed = 0;
    let mut first_error = None;
    while boots_us.len() + failed < attempted {
        let Some(outcome) = done_rx.recv().await else {
            break;
        };
        match outcome {
            Ok(took) => boots_us.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX)),
            Err(err) => {
                failed += 1;
                first_error.get_or_insert(err);
            }
        }
    }
    let connect_seconds = connecting.elapsed().as_secs_f64();
    let established = boots_us.len();
    eprintln!(
        "{established} connected in {connect_seconds:.1} s ({failed} failed); running {seconds} s"
    );
    tokio::time::sleep(SETTLE).await;

    // The run.
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let end = start + Duration::from_secs(seconds);
    let _ = phase_tx.send(Phase::Run(Run { start, end }));
    tokio::time::sleep_until(end).await;
    let mut latencies: Vec<u32> = Vec::new();
    let mut handed_in = 0;
    let collecting = tokio::time::timeout(HAND_IN_TIMEOUT, async {
        while handed_in < established {
            let Some(mine) = hand_in_rx.recv().await else {
                break;
            };
            latencies.extend(mine);
            handed_in += 1;
        }
    })
    .await;
    if collecting.is_err() {
        eprintln!("{handed_in} of {established} charge points handed in their latencies");
    }
    let rss_after = proc_status_kib("VmRSS");
    let held = usize::try_from(counters.open.load(Ordering::Relaxed)).unwrap_or(0);
    latencies.sort_unstable();
    boots_us.sort_unstable();
    let run_seconds = seconds as f64;
    let calls = counters.calls.load(Ordering::Relaxed);
    let central_system_calls = counters.central_system_calls.load(Ordering::Relaxed);
    let report = LoadReport {
        planned,
        established,
        failed,
        held,
        first_error,
        open_file_limit: limit,
        connect_seconds: round3(connect_seconds),
        boot_p50_ms: percentile_ms(&boots_us, 50.0),
        boot_p99_ms: percentile_ms(&boots_us, 99.0),
        run_seconds,
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
        rss_peak_kib: proc_status_kib("VmHWM"),
        memory_per_connection_kib: per_connection_kib(rss_before, rss_after, held),
    };
    let held = Held {
        phase: phase_tx,
        drivers,
    };
    (report, held)
}

/// `resiflex bench ocpp-load`: the load generator run by `resiflex bench ocpp` in a child
/// process. Reads the charge points' credentials from the first line of standard input, prints
/// its [`LoadReport`] as one JSON line on standard output, then holds the connections until
/// standard input closes.
pub async fn ocpp_load(args: OcppLoadArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.server.ip().is_loopback(),
        "--server must be a loopback address"
    );
    let interval = validate_pacing(args.interval_seconds)?;
    let mut stdin = BufReader::new(tokio::io::stdin());
    let mut line = String::new();
    stdin
        .read_line(&mut line)
        .await
        .context("reading the charge points from standard input")?;
    let logins: Logins =
        serde_json::from_str(&line).context("parsing the charge points from standard input")?;
    drop(line);
    let (report, held) =
        generate_load(args.server, logins.charge_points, args.seconds, interval, 1).await;
    let mut stdout = tokio::io::stdout();
    let mut text = serde_json::to_string(&report)?;
    text.push('\n');
    stdout.write_all(text.as_bytes()).await?;
    stdout.flush().await?;
    // Hold the connections while the server measures; it closes standard input when done.
    let mut rest = Vec::new();
    if tokio::time::timeout(HOLD_TIMEOUT, stdin.read_to_end(&mut rest))
        .await
        .is_err()
    {
        eprintln!("standard input still open after the hold; closing the connections");
    }
    held.release().await;
    Ok(())
}

/// A running load generator: a child process or a task of this process.
enum Generator {
    Child {
        child: Box<tokio::process::Child>,
        stdin: Option<tokio::process::ChildStdin>,
        stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    },
    InProcess {
        report: oneshot::Receiver<LoadReport>,
        release: oneshot::Sender<()>,
        task: JoinHandle<()>,
    },
}

impl Generator {
    async fn child(
        server: SocketAddr,
        logins: Vec<Login>,
        seconds: u64,
        interval_seconds: f64,
    ) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("finding the resiflex binary")?;
        let mut child = tokio::process::Command::new(exe)
            .args(["bench", "ocpp-load", "--server"])
            .arg(server.to_string())
            .arg("--seconds")
            .arg(seconds.to_string())
            .arg("--interval-seconds")
            .arg(interval_seconds.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting the load generator")?;
        let mut stdin = child
            .stdin
            .take()
            .context("the load generator's standard input")?;
        let stdout = child
            .stdout
            .take()
            .context("the load generator's standard output")?;
        let mut text = serde_json::to_string(&Logins {
            charge_points: logins,
        })?;
        text.push('\n');
        stdin
            .write_all(text.as_bytes())
            .await
            .context("giving the load generator its charge points")?;
        stdin.flush().await?;
        Ok(Self::Child {
            child: Box::new(child),
            stdin: Some(stdin),
            stdout: BufReader::new(stdout).lines(),
        })
    }

    fn in_process(
        server: SocketAddr,
        logins: Vec<Login>,
        seconds: u64,
        interval: Duration,
    ) -> Self {
        let (report_tx, report) = oneshot::channel();
        let (release, released) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let (result, held) = generate_load(server, logins, seconds, interval, 2).await;
            let _ = report_tx.send(result);
            let _ = released.await;
            held.release().await;
        });
        Self::InProcess {
            report,
            release,
            task,
        }
    }

    /// Waits for the generator's report; its connections stay open.
    async fn report(&mut self) -> anyhow::Result<LoadReport> {
        match self {
            Self::Child { child, stdout, .. } => {
                while let Some(line) = stdout.next_line().await? {
                    if let Ok(report) = serde_json::from_str::<LoadReport>(&line) {
                        return Ok(report);
                    }
                    eprintln!("load generator: {line}");
                }
                let status = child.wait().await?;
                anyhow::bail!("the load generator ended without a report ({status})")
            }
            Self::InProcess { report, .. } => report
                .await
                .context("the load generator ended without a report"),
        }
    }

    /// Lets the generator close its connections, and waits for it to end.
    async fn release(self) -> anyhow::Result<()> {
        match self {
            Self::Child {
                mut child,
                mut stdin,
                ..
            } => {
                drop(stdin.take());
                let waited = tokio::time::timeout(CLOSE_TIMEOUT * 2, child.wait()).await;
                match waited {
                    Ok(status) => {
                        let status = status?;
                        anyhow::ensure!(status.success(), "the load generator failed ({status})");
                    }
                    Err(_) => {
                        eprintln!("the load generator did not end; stopping it");
                        child.start_kill()?;
                        let _ = child.wait().await;
                    }
                }
                Ok(())
            }
            Self::InProcess { release, task, .. } => {
                let _ = release.send(());
                task.await.context("the load generator task")?;
                Ok(())
            }
        }
    }
}

pub async fn ocpp(args: OcppBenchArgs) -> anyhow::Result<OcppBenchResult> {
    anyhow::ensure!(args.connections > 0, "--connections must be above 0");
    let interval = validate_pacing(args.interval_seconds)?;
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let mut config = Config {
        listen: "127.0.0.1:0".parse()?,
        ..Config::default()
    };
    config.database.url = format!("sqlite://{}", dir.path().join("bench.db").display());
    config.database.max_connections = 4;
    config.control.enabled = false;
    // Every simulated charge point connects from loopback.
    config.http.max_connections_per_address = 0;
    // Every charge point's handshake checks its password in the pool: let them all wait their turn.
    config.sign_in.password_queue = 10_000;
    let db = crate::server::connect_database(&config).await?;
    let clock = system_clock();
    let server = Server::with_database(&config, db, clock.clone()).await?;
    let db = server.db().clone();
    let addr = server.local_addr()?;
    anyhow::ensure!(
        addr.ip().is_loopback(),
        "the server must listen on loopback"
    );
    let central = server.ocpp.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));

    // As many charge points as this process's open-file limit allows: one descriptor each for
    // the server side, two when the charge points run here too.
    let limit = open_file_limit();
    let per_connection = if args.in_process { 2 } else { 1 };
    let planned = capped_by_descriptors(args.connections, per_connection, limit);
    let now = clock.now();
    let mut logins = Vec::with_capacity(planned);
    // One password for all (a salted Argon2id hash takes tens of milliseconds to make); each
    // handshake still checks it in full.
    let password = Alphanumeric.sample_string(&mut rand::rng(), PASSWORD_LENGTH);
    let password_hash = {
        let password = password.clone();
        tokio::task::spawn_blocking(move || resiflex_ocpp::auth::hash_password(&password))
            .await?
            .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?
    };
    for i in 0..planned {
        let login = Login {
            id: format!("BENCH-{i:05}"),
            password: password.clone(),
        };
        let row = resiflex_store::ocpp::ChargePoint {
            id: login.id.clone(),
            password_hash: password_hash.clone(),
            provider: "OCPP".to_owned(),
            enrolment_key: None,
            vendor: None,
            model: None,
            serial_number: None,
            firmware_version: None,
            boot_accepted_at: None,
            capabilities: json!({}),
            quirks: json!({}),
            created_at: now,
            revoked_at: None,
        };
        resiflex_store::ocpp::insert_charge_point(&db, &row)
            .await
            .context("registering a charge point")?;
        logins.push(login);
    }
    eprintln!("{planned} charge points registered");
    // Let the database settle (its pool opened) before the baseline.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = proc_status_kib("VmRSS");

    let mut generator = if args.in_process {
        Generator::in_process(addr, logins, args.seconds, interval)
    } else {
        Generator::child(addr, logins, args.seconds, args.interval_seconds).await?
    };
    let report = generator.report().await;
    // Measured while the generator still holds its connections.
    let rss_after = proc_status_kib("VmRSS");
    let rss_peak = proc_status_kib("VmHWM");
    let server_connected = central.connected_count();
    let released = generator.release().await;
    let _ = stop.send(());
    serving.await.context("server task")??;
    let report = report?;
    released?;
    Ok(OcppBenchResult {
        load_generator: if args.in_process {
            "in process"
        } else {
            "child process"
        },
        connections_requested: args.connections,
        connections_planned: planned,
        connections_established: report.established,
        connections_failed: report.failed,
        connections_held: report.held,
        server_connected,
        first_error: report.first_error,
        open_file_limit: limit,
        load_open_file_limit: report.open_file_limit,
        connect_seconds: report.connect_seconds,
        boot_p50_ms: report.boot_p50_ms,
        boot_p99_ms: report.boot_p99_ms,
        run_seconds: report.run_seconds,
        interval_seconds: args.interval_seconds,
        calls: report.calls,
        central_system_calls: report.central_system_calls,
        messages_per_second: report.messages_per_second,
        call_p50_ms: report.call_p50_ms,
        call_p99_ms: report.call_p99_ms,
        call_max_ms: report.call_max_ms,
        errors: report.errors,
        unfinished: report.unfinished,
        server_rss_before_kib: rss_before,
        server_rss_after_kib: rss_after,
        server_rss_peak_kib: rss_peak,
        server_memory_per_connection_kib: per_connection_kib(
            rss_before,
            rss_after,
            server_connected,
        ),
        load_rss_before_kib: report.rss_before_kib,
        load_rss_after_kib: report.rss_after_kib,
        load_memory_per_connection_kib: report.memory_per_connection_kib,
    })
}

/// The human-readable summary printed before the JSON line.
pub fn summary(result: &OcppBenchResult) -> String {
    format!(
        "connections {} of {} ({} failed), held {}, server holds {} (load generator: {})\n\
         messages {:.0}/s   call p50 {:.3} ms   p99 {:.3} ms   errors {}\n\
         server RSS {} KiB -> {} KiB (peak {} KiB): {:.1} KiB per connection\n\
         load generator RSS {} KiB -> {} KiB: {:.1} KiB per connection",
        result.connections_established,
        result.connections_requested,
        result.connections_failed,
        result.connections_held,
        result.server_connected,
        result.load_generator,
        result.messages_per_second,
        result.call_p50_ms,
        result.call_p99_ms,
        result.errors,
        result.server_rss_before_kib,
        result.server_rss_after_kib,
        result.server_rss_peak_kib,
        result.server_memory_per_connection_kib,
        result.load_rss_before_kib,
        result.load_rss_after_kib,
        result.load_memory_per_connection_kib,
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
        assert_eq!(per_connection_kib(1000, 3000, 1000), 2.0);
        assert_eq!(per_connection_kib(3000, 1000, 1000), 0.0);
        assert_eq!(per_connection_kib(1000, 3000, 0), 0.0);
    }

    #[test]
    fn central_system_calls_are_answered() {
        let answer = answer_to(&json!([2, "x1", "GetConfiguration", {"key": []}])).unwrap();
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer[0], 3);
        assert_eq!(answer[1], "x1");
        assert!(answer[2]["configurationKey"].is_array());
    }

    #[test]
    fn the_load_report_round_trips_as_one_json_line() {
        let report = LoadReport {
            established: 7,
            held: 7,
            call_p99_ms: 1.5,
            ..LoadReport::default()
        };
        let line = serde_json::to_string(&report).unwrap();
        assert!(!line.contains('\n'));
        let back: LoadReport = serde_json::from_str(&line).unwrap();
        assert_eq!(back.established, 7);
        assert_eq!(back.call_p99_ms, 1.5);
    }

    #[tokio::test]
    async fn a_small_run_holds_its_connections_and_counts_its_calls() {
        let result = ocpp(OcppBenchArgs {
            connections: 20,
            seconds: 2,
            interval_seconds: 0.5,
            in_process: true,
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
