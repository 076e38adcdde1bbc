//! Metrics and request tracing. Metric names start with `resiflex_`; labels only ever hold values the
//! server chose (schema field names, error codes, routes), never what a client typed, so their number
//! stays bounded.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use resiflex_store::PoolStats;

/// The process's metrics registry.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    /// The process-wide registry, installed as the `metrics` recorder on first use.
    pub fn global() -> Metrics {
        let handle = HANDLE.get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics will be empty");
            }
            handle
        });
        Metrics {
            handle: handle.clone(),
        }
    }

    pub fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }

    pub fn graphql_request<'a>(
        &self,
        operation: &str,
        took: Duration,
        error_codes: impl Iterator<Item = &'a str>,
    ) {
        let operation = operation.to_owned();
        metrics::counter!("resiflex_graphql_requests_total", "operation" => operation.clone())
            .increment(1);
        metrics::histogram!("resiflex_graphql_request_duration_seconds", "operation" => operation)
            .record(took.as_secs_f64());
        for code in error_codes {
            metrics::counter!("resiflex_graphql_errors_total", "code" => code.to_owned())
                .increment(1);
        }
    }

    pub fn record_pool(&self, stats: PoolStats) {
        metrics::gauge!("resiflex_db_pool_connections", "state" => "open")
            .set(f64::from(stats.size));
        metrics::gauge!("resiflex_db_pool_connections", "state" => "idle")
            .set(f64::from(stats.idle));
        metrics::gauge!("resiflex_db_pool_connections", "state" => "in_use")
            .set(f64::from(stats.size.saturating_sub(stats.idle)));
        metrics::gauge!("resiflex_db_pool_max_connections").set(f64::from(stats.max));
    }
}

/// The label a GraphQL request is counted under: the root fields it selects, once the document has
/// passed validation ("invalid" before that).
#[derive(Clone, Default)]
pub struct OperationLabel(Arc<Mutex<Option<String>>>);

impl OperationLabel {
    pub fn set(&self, label: String) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(label);
    }

    pub fn get(&self) -> String {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_else(|| "invalid".to_owned())
    }
}

/// Counts HTTP requests by route and status.
pub async fn track_http(State(_metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("resiflex_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("resiflex_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Refuses `/metrics` with 401 unless the request carries `Authorization: Bearer <token>` with the
/// configured token (when one is configured).
pub async fn require_metrics_token(
    State(token): State<Option<super::MetricsToken>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = token else {
        return next.run(request).await;
    };
    let offered = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if offered.is_some_and(|offered| token.matches(offered)) {
        return next.run(request).await;
    }
    use axum::response::IntoResponse as _;
    (
        axum::http::StatusCode::UNAUTHORIZED,
        [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
        "/metrics needs the configured bearer token\n",
    )
        .into_response()
}

/// The tracing span of one HTTP request, carrying its request id.
pub fn make_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("http", method = %request.method(), path = %request.uri().path(), request_id = %request_id)
}
