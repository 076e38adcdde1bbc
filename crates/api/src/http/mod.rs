//! The HTTP surface: routes, body handling, request ids, timeouts, CORS and access logs. This is an
//! API boundary: everything that arrives here is untrusted, and every answer is JSON in the Kraken
//! error shape, never a panic or a bare 500.

mod graphql;
mod health;
pub mod observe;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tower_http::trace::TraceLayer;

use resiflex_store::Db;

pub use observe::Metrics;

/// Settings of the HTTP layer.
#[derive(Debug, Clone, serde::Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// How long one request may take before it is answered with 408.
    pub request_timeout_secs: u64,
    /// Origins allowed by CORS; `["*"]` allows any. Empty: no CORS headers.
    pub cors_allowed_origins: Vec<String>,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy you trust).
    pub trust_forwarded_for: bool,
    /// How long a client may take to send a request's headers (and how long an idle keep-alive
    /// connection stays open); then the connection is closed.
    pub header_read_timeout_secs: u64,
    /// How long a client may take to send a request's body; then the request fails.
    pub body_read_timeout_secs: u64,
    /// Connections open at once from one client address (0: no limit). Further ones are closed at
    /// once. Behind a proxy every connection comes from the proxy: raise it or set 0 there.
    pub max_connections_per_address: usize,
    /// Serve `/metrics` on this address instead of the main listener.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Require `Authorization: Bearer <token>` on `/metrics`.
    pub metrics_token: Option<MetricsToken>,
}

/// The bearer token `/metrics` requires; never printed.
#[derive(Clone, serde::Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct MetricsToken(String);

impl MetricsToken {
    pub fn new(token: impl Into<String>) -> MetricsToken {
        MetricsToken(token.into())
    }

    /// Compares in constant time.
    pub fn matches(&self, offered: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        self.0.as_bytes().ct_eq(offered.as_bytes()).into()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(***)")
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            cors_allowed_origins: Vec::new(),
            trust_forwarded_for: false,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 20,
            max_connections_per_address: 100,
            metrics_listen: None,
            metrics_token: None,
        }
    }
}

/// Anything that executes GraphQL requests: the ResiFlex schema in production, a small schema in
/// tests of the HTTP layer itself.
pub trait GraphQLExecutor: Send + Sync + 'static {
    fn execute(&self, request: async_graphql::Request) -> BoxFuture<'_, async_graphql::Response>;
}

impl<E: async_graphql::Executor> GraphQLExecutor for E {
    fn execute(&self, request: async_graphql::Request) -> BoxFuture<'_, async_graphql::Response> {
        Box::pin(async_graphql::Executor::execute(self, request))
    }
}

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub executor: Arc<dyn GraphQLExecutor>,
    pub db: Db,
    pub metrics: Metrics,
    pub config: Arc<HttpConfig>,
    /// The simulated vendors' consent page (sandbox mode); `None` serves no `/sandbox/` routes.
    pub sandbox: Option<Arc<dyn crate::sandbox::SandboxConsent>>,
    /// The server's clock.
    pub clock: resiflex_domain::SharedClock,
    /// Where clients reach this server (`https://api.example.com`, no trailing slash): the base
    /// of the REST API's absolute links.
    pub public_url: String,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP application. `/metrics` is on it unless `metrics_listen` puts it on its own
/// listener (see [`metrics_router`]).
pub fn router(state: AppState) -> Router {
    let cors = cors_layer(&state.config.cors_allowed_origins);
    let timeout = Duration::from_secs(state.config.request_timeout_secs.max(1));
    let body_timeout = Duration::from_secs(state.config.body_read_timeout_secs.max(1));
    let graphql_routes = get(graphql::graphiql)
        .post(graphql::graphql)
        .options(graphql::preflight);
    let metrics = state.metrics.clone();
    let mut routes = Router::new()
        .route("/v1/graphql/", graphql_routes.clone())
        .route("/v1/graphql", graphql_routes)
        .route("/healthz", get(health::healthz));
    if state.config.metrics_listen.is_none() {
        routes = routes.route("/metrics", metrics_route(&state));
    }
    routes
        .route(
            "/sandbox/{provider}/authorize",
            get(crate::sandbox::consent_page).post(crate::sandbox::consent_decision),
        )
        .route("/sandbox/return", get(crate::sandbox::returned))
        .route(
            crate::sandbox::vendor::ACCOUNT_PATH,
            get(crate::sandbox::vendor::account_page).post(crate::sandbox::vendor::account_devices),
        )
        .route(
            crate::sandbox::actions::PATH,
            get(crate::sandbox::actions::show).post(crate::sandbox::actions::perform),
        )
        .route(
            crate::ops::money::bills::download::PATH,
            get(crate::ops::money::bills::download::document),
        )
        .merge(crate::rest::routes())
        .fallback(health::not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            observe::track_http,
        ))
        .layer(cors)
        .layer(RequestBodyTimeoutLayer::new(body_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(observe::make_span))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// `/metrics` alone, for its own listener (`metrics_listen`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", metrics_route(&state))
        .fallback(health::not_found)
        .with_state(state)
}

fn metrics_route(state: &AppState) -> axum::routing::MethodRouter<AppState> {
    get(health::metrics).route_layer(axum::middleware::from_fn_with_state(
        state.config.metrics_token.clone(),
        observe::require_metrics_token,
    ))
}

fn cors_layer(origins: &[String]) -> CorsLayer {
    let base = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(3600));
    if origins.iter().any(|o| o == "*") {
        base.allow_origin(AllowOrigin::any())
    } else if origins.is_empty() {
        CorsLayer::new()
    } else {
        let list: Vec<HeaderValue> = origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        base.allow_origin(AllowOrigin::list(list))
    }
}
