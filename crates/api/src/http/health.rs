//! `GET /healthz` and `GET /metrics`.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::graphql::error_response;
use crate::errors::ErrorCode;

/// Healthy when the database answers a query.
pub async fn healthz(State(state): State<AppState>) -> Response {
    let backend = state.db.backend().as_str();
    match tokio::time::timeout(std::time::Duration::from_secs(3), state.db.ping()).await {
        Ok(Ok(())) => {
            (StatusCode::OK, axum::Json(serde_json::json!({"status": "ok", "database": {"backend": backend, "reachable": true}})))
                .into_response()
        }
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "health check: database unreachable");
            unavailable(backend)
        }
        Err(_) => unavailable(backend),
    }
}

fn unavailable(backend: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(serde_json::json!({"status": "unavailable", "database": {"backend": backend, "reachable": false}})),
    )
        .into_response()
}

/// Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> Response {
    state.metrics.record_pool(state.db.pool_stats());
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

pub async fn not_found() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        ErrorCode::InvalidInput,
        "No such route. The GraphQL API is at /v1/graphql/.",
    )
}
