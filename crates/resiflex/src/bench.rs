//! `resiflex bench http`: a load benchmark of the HTTP/GraphQL path. It starts a server (on a fresh
//! temporary SQLite database unless `--database` is given), drives it over keep-alive connections from
//! the same process, and reports requests per second and latency percentiles per scenario.
//!
//! `resiflex bench hostile`: the same server sent hostile documents (a fragment bomb, an alias flood,
//! deep introspection, a huge token count, a document as large as the body limit), each many times;
//! reports per document the latency percentiles, how many were refused, and the process's resident
//! memory before and after (and its peak).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::body::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;

use crate::config::Config;
use crate::server::{Server, system_clock};

#[derive(Debug, Clone, clap::Args)]
pub struct HttpBenchArgs {
    /// Requests per scenario.
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Database for the server under test (default: a new temporary SQLite file).
    #[arg(long)]
    pub database: Option<String>,
}

/// One scenario: an HTTP request sent over and over.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub method: hyper::Method,
    pub path: &'static str,
    pub body: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl Scenario {
    pub fn graphql(name: &'static str, query: &str) -> Scenario {
        Scenario {
            name,
            method: hyper::Method::POST,
            path: "/v1/graphql/",
            body: Some(serde_json::json!({ "query": query }).to_string()),
            headers: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioResult {
    pub name: &'static str,
    pub requests: usize,
    pub errors: usize,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

async fn one(client: &HttpClient, base: &str, scenario: &Scenario) -> bool {
    let mut builder = hyper::Request::builder()
        .method(scenario.method.clone())
        .uri(format!("{base}{}", scenario.path));
    builder = builder.header("content-type", "application/json");
    for (name, value) in &scenario.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let body = Full::new(Bytes::from(scenario.body.clone().unwrap_or_default()));
    let Ok(request) = builder.body(body) else {
        return false;
    };
    match client.request(request).await {
        Ok(response) => {
            let ok = response.status().is_success();
            let body = response.into_body().collect().await;
            ok && body.is_ok_and(|b| !b.to_bytes().windows(9).any(|w| w == b"\"errors\":"))
        }
        Err(_) => false,
    }
}

/// Runs one scenario against `base` (for example `http://127.0.0.1:8000`).
pub async fn run_scenario(
    base: &str,
    scenario: &Scenario,
    requests: usize,
    concurrency: usize,
) -> ScenarioResult {
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(concurrency)
        .build_http();
    // Warm up the connections and caches.
    for _ in 0..concurrency.min(requests) {
        one(&client, base, scenario).await;
    }
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, next, base, scenario) = (
            client.clone(),
            next.clone(),
            base.to_owned(),
            scenario.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests {
                let t = Instant::now();
                if !one(&client, &base, &scenario).await {
                    errors += 1;
                }
                latencies.push(t.elapsed());
            }
            (latencies, errors)
        }));
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(requests);
    let mut errors = 0;
    for worker in workers {
        if let Ok((l, e)) = worker.await {
            latencies.extend(l);
            errors += e;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let index = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index].as_secs_f64() * 1000.0
    };
    ScenarioResult {
        name: scenario.name,
        requests: latencies.len(),
        errors,
        requests_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
        max_ms: percentile(1.0),
    }
}

/// A signed-in world for the authenticated scenarios: an organisation, an account and its user's key.
pub struct BenchWorld {
    pub api_key: String,
    pub user_token: String,
}

async fn post_json(
    client: &HttpClient,
    base: &str,
    body: serde_json::Value,
    token: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    let mut builder = hyper::Request::builder()
        .method(hyper::Method::POST)
        .uri(format!("{base}/v1/graphql/"))
        .header("content-type", "application/json");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("JWT {token}"));
    }
    let response = client
        .request(builder.body(Full::new(Bytes::from(body.to_string())))?)
        .await?;
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok(serde_json::from_slice(&bytes)?)
}

fn token_of(answer: &serde_json::Value) -> anyhow::Result<String> {
    answer["data"]["obtainKrakenToken"]["token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("signing in failed: {answer}"))
}

/// Creates the organisation, account and user the authenticated scenarios use.
pub async fn prepare_world(db: &resiflex_store::Db, base: &str) -> anyhow::Result<BenchWorld> {
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let org = crate::admin::create_organisation(db, "Benchmark Energy", "RESIFLEX_LIVE").await?;
    let org_key = org["secretKey"].as_str().context("organisation key")?;
    let sign_in = serde_json::json!({
        "query": "mutation($k: String!) { obtainKrakenToken(input: {organizationSecretKey: $k}) { token } }",
        "variables": {"k": org_key},
    });
    let org_token = token_of(&post_json(&client, base, sign_in, None).await?)?;
    let create = serde_json::json!({
        "query": "mutation($i: CreateFlexShellAccountInput!) { createFlexShellAccount(input: $i) { account { number } } }",
        "variables": {"i": {"brandCode": "RESIFLEX_LIVE", "email": "bench@example.com", "givenName": "Bench",
            "familyName": "Mark", "address": {"streetAddress": "1 Load Street", "postalCode": "AB1 2CD", "country": "GB"}}},
    });
    let created = post_json(&client, base, create, Some(&org_token)).await?;
    anyhow::ensure!(
        created["errors"].is_null(),
        "creating the account failed: {created}"
    );
    let api_key = crate::admin::user_api_key(db, "bench@example.com").await?["apiKey"]
        .as_str()
        .context("API key")?
        .to_owned();
    let sign_in = serde_json::json!({
        "query": "mutation($k: String!) { obtainKrakenToken(input: {APIKey: $k}) { token } }",
        "variables": {"k": api_key},
    });
    let user_token = token_of(&post_json(&client, base, sign_in, None).await?)?;
    Ok(BenchWorld {
        api_key,
        user_token,
    })
}

/// The scenarios measured by `bench http`.
pub fn scenarios(world: &BenchWorld) -> Vec<Scenario> {
    let mut viewer = Scenario::graphql(
        "viewer_authenticated",
        "{ viewer { email accounts { number status } } }",
    );
    viewer.headers.push((
        "authorization".to_owned(),
        format!("JWT {}", world.user_token),
    ));
    let mut sign_in = Scenario::graphql("obtain_kraken_token_api_key", "");
    sign_in.body = Some(
        serde_json::json!({
            "query": "mutation($k: String!) { obtainKrakenToken(input: {APIKey: $k}) { token refreshToken } }",
            "variables": {"k": world.api_key},
        })
        .to_string(),
    );
    vec![
        Scenario::graphql("graphql_typename", "{ __typename }"),
        Scenario {
            name: "healthz",
            method: hyper::Method::GET,
            path: "/healthz",
            body: None,
            headers: Vec::new(),
        },
        viewer,
        sign_in,
    ]
}

/// A server started for a benchmark, on its own database.
struct BenchServer {
    base: String,
    db: resiflex_store::Db,
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn start_server(database: Option<String>) -> anyhow::Result<BenchServer> {
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        database: crate::config::DatabaseConfig {
            url: database
                .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display())),
            ..Default::default()
        },
        ..Config::default()
    };
    let db = crate::server::connect_database(&config).await?;
    let server = Server::with_database(&config, db, system_clock()).await?;
    let db = server.db().clone();
    let base = format!("http://{}", server.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    Ok(BenchServer {
        base,
        db,
        stop,
        serving,
        _dir: dir,
    })
}

impl BenchServer {
    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.serving.await.context("server task")?
    }
}

pub async fn http(args: HttpBenchArgs) -> anyhow::Result<()> {
    let server = start_server(args.database.clone()).await?;
    let (base, db) = (server.base.clone(), server.db.clone());
    let world = prepare_world(&db, &base).await?;
    let mut results = Vec::new();
    for scenario in scenarios(&world) {
        let result = run_scenario(&base, &scenario, args.requests, args.concurrency).await;
        println!(
            "{:<24} {:>9.0} req/s   p50 {:>7.3} ms   p99 {:>7.3} ms   errors {}",
            result.name, result.requests_per_second, result.p50_ms, result.p99_ms, result.errors
        );
        results.push(result);
    }
    server.stop().await?;

    let rate = |name: &str| {
        results
            .iter()
            .find(|r| r.name == name)
            .map_or(0.0, |r| r.requests_per_second)
    };
    let ratio = rate("graphql_typename") / rate("healthz").max(f64::MIN_POSITIVE);
    println!(
        "{}",
        serde_json::json!({
            "concurrency": args.concurrency,
            "scenarios": results,
            "graphqlToHealthzThroughputRatio": (ratio * 1000.0).round() / 1000.0,
        })
    );
    Ok(())
}

#[derive(Debug, Clone, clap::Args)]
pub struct HostileBenchArgs {
    /// Requests per document.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Database for the server under test (default: a new temporary SQLite file).
    #[arg(long)]
    pub database: Option<String>,
}

/// Anonymous fragments that each spread the one before twice: 2^`levels` `__typename` fields once
/// expanded, in about 40 bytes a level.
pub fn fragment_bomb(levels: usize) -> String {
    let mut query = format!("{{...F{levels}}}fragment F0 on Query{{__typename}}");
    for i in 1..=levels {
        query.push_str(&format!(
            "fragment F{i} on Query{{...F{p} ...F{p}}}",
            p = i - 1
        ));
    }
    query
}

/// The hostile documents of `bench hostile`, each with its name. `body_limit` is the server's
/// largest request body.
pub fn hostile_documents(body_limit: usize) -> Vec<Scenario> {
    let aliases: String = (0..20_000).map(|i| format!("a{i}:__typename ")).collect();
    let deep = format!(
        "{{ __schema {{ types {{ {} name {} }} }} }}",
        "fields { type { ".repeat(22),
        "} } ".repeat(22)
    );
    let tokens = format!("{{ __typename(x: [{}]) }}", "1 ".repeat(30_000));
    let mut largest = Scenario::graphql("max_size_document", "");
    let padding = body_limit.saturating_sub(64);
    largest.body = Some(
        serde_json::json!({ "query": format!("{{ __typename }} #{}", "x".repeat(padding)) })
            .to_string(),
    );
    vec![
        Scenario::graphql("fragment_bomb_27", &fragment_bomb(27)),
        Scenario::graphql("alias_flood_20000", &format!("{{{aliases}}}")),
        Scenario::graphql("deep_introspection_45", &deep),
        Scenario::graphql("token_flood_30000", &tokens),
        largest,
    ]
}

/// The resident set size of this process and its peak, in KiB (Linux; `None` elsewhere).
fn memory_kib() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

pub async fn hostile(args: HostileBenchArgs) -> anyhow::Result<()> {
    let server = start_server(args.database.clone()).await?;
    let base = server.base.clone();
    let baseline = Scenario::graphql("graphql_typename", "{ __typename }");
    run_scenario(&base, &baseline, 200, args.concurrency).await;
    let before = memory_kib();
    let mut results = Vec::new();
    for scenario in hostile_documents(crate::config::Config::default().http.max_body_bytes) {
        let result = run_scenario(&base, &scenario, args.requests, args.concurrency).await;
        println!(
            "{:<24} refused {:>5}/{:<5} p50 {:>8.3} ms   p99 {:>8.3} ms   max {:>8.3} ms",
            result.name,
            result.errors,
            result.requests,
            result.p50_ms,
            result.p99_ms,
            result.max_ms
        );
        results.push(result);
    }
    // The server still answers an ordinary document afterwards.
    let after_ok = run_scenario(&base, &baseline, 200, args.concurrency).await;
    let after = memory_kib();
    server.stop().await?;
    println!(
        "{}",
        serde_json::json!({
            "concurrency": args.concurrency,
            "documents": results,
            "ordinaryAfterwards": after_ok,
            "rssKibBefore": before.map(|m| m.0),
            "peakRssKibBefore": before.map(|m| m.1),
            "rssKibAfter": after.map(|m| m.0),
            "peakRssKibAfter": after.map(|m| m.1),
        })
    );
    Ok(())
}
