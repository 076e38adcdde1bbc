//! `POST /v1/graphql/`: GraphQL over HTTP with JSON bodies. GraphQL-level failures are HTTP 200 with
//! `errors`; a body that cannot be a GraphQL request is a 400, an unsupported content type a 415 and an
//! oversized body a 413, each with a JSON body in the same error shape.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_graphql::http::GraphiQLSource;
use async_graphql::{Request, Variables};
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use tracing::Instrument as _;

use super::AppState;
use super::observe::OperationLabel;
use crate::context::RequestMeta;
use crate::errors::{ErrorCode, KrakenError, code_of, normalise_errors};

/// The JSON body of a GraphQL request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphQLBody {
    query: String,
    #[serde(default)]
    variables: Option<serde_json::Value>,
    #[serde(default)]
    operation_name: Option<String>,
}

pub async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/v1/graphql/")
            .title("ResiFlex GraphQL")
            .finish(),
    )
}

pub async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// An error answer outside GraphQL execution, in the Kraken shape.
pub fn error_response(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Response {
    let err = KrakenError::with_message(code, message).into_server_error();
    let body = serde_json::json!({ "errors": [err] });
    (status, axum::Json(body)).into_response()
}

enum BodyKind {
    Json,
    GraphQL,
}

fn body_kind(headers: &HeaderMap) -> Option<BodyKind> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Some(BodyKind::Json);
    };
    let mime = value
        .to_str()
        .ok()?
        .split(';')
        .next()?
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/json" | "application/graphql-response+json" | "application/graphql+json" => {
            Some(BodyKind::Json)
        }
        "application/graphql" => Some(BodyKind::GraphQL),
        _ => None,
    }
}

pub async fn graphql(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(kind) = body_kind(&headers) else {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::InvalidInput,
            "Send the request as application/json.",
        );
    };
    let limit = state.config.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return too_large(limit);
    }
    let bytes = match to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(err) if body_timed_out(&err) => {
            return error_response(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::InvalidInput,
                "The request body did not arrive in time.",
            );
        }
        Err(_) => return too_large(limit),
    };
    let parsed = match kind {
        BodyKind::GraphQL => match String::from_utf8(bytes.to_vec()) {
            Ok(query) => GraphQLBody {
                query,
                variables: None,
                operation_name: None,
            },
            Err(_) => return bad_request("The body is not valid UTF-8."),
        },
        BodyKind::Json => match serde_json::from_slice::<GraphQLBody>(&bytes) {
            Ok(body) => body,
            Err(err) if err.is_data() => {
                return bad_request(format!("The body is JSON but not a GraphQL request: {err}"));
            }
            Err(err) => return bad_request(format!("The body is not valid JSON: {err}")),
        },
    };
    let variables = match parsed.variables {
        None | Some(serde_json::Value::Null) => Variables::default(),
        Some(value @ serde_json::Value::Object(_)) => Variables::from_json(value),
        Some(_) => return bad_request("`variables` must be an object."),
    };

    let meta = RequestMeta {
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        client_ip: Some(client_ip(&state, &headers, peer)),
        request_id: headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        caller: Default::default(),
    };
    execute(&state, parsed.query, variables, parsed.operation_name, meta).await
}

async fn execute(
    state: &AppState,
    query: String,
    variables: Variables,
    operation_name: Option<String>,
    meta: RequestMeta,
) -> Response {
    let started = Instant::now();
    let label = OperationLabel::default();
    let mut request = Request::new(query)
        .variables(variables)
        .data(meta)
        .data(label.clone());
    if let Some(name) = operation_name.filter(|n| !n.is_empty()) {
        request = request.operation_name(name);
    }
    let mut response = run_with_deadline(state, request).await;
    normalise_errors(&mut response.errors);
    let operation = label.get();
    state.metrics.graphql_request(
        &operation,
        started.elapsed(),
        response.errors.iter().filter_map(code_of),
    );
    if !response.errors.is_empty() {
        let codes: Vec<&str> = response.errors.iter().filter_map(code_of).collect();
        tracing::info!(operation = %operation, ?codes, "graphql request answered with errors");
    }
    (StatusCode::OK, axum::Json(response)).into_response()
}

/// How long the execution of one document may take: a little less than the request timeout, so that
/// the client hears why its request was stopped rather than an empty 408.
fn execution_deadline(config: &super::HttpConfig) -> Duration {
    let timeout = Duration::from_secs(config.request_timeout_secs.max(1));
    timeout.saturating_sub((timeout / 10).max(Duration::from_millis(100)))
}

/// Parses, validates and executes the request in a task of its own, and aborts that task when the
/// deadline passes, so that work which never waits on I/O is stopped too and the caller is told why.
async fn run_with_deadline(state: &AppState, request: Request) -> async_graphql::Response {
    let executor = state.executor.clone();
    let span = tracing::info_span!("graphql");
    let task = tokio::spawn(async move { executor.execute(request).await }.instrument(span));
    let abort = task.abort_handle();
    let deadline = execution_deadline(&state.config);
    match tokio::time::timeout(deadline, task).await {
        Ok(Ok(response)) => response,
        Ok(Err(err)) => {
            tracing::error!(error = %err, "graphql execution task failed");
            async_graphql::Response::from_errors(vec![
                KrakenError::new(ErrorCode::Internal).into_server_error(),
            ])
        }
        Err(_) => {
            abort.abort();
            tracing::warn!(
                deadline_ms = deadline.as_millis() as u64,
                "graphql request stopped at its deadline"
            );
            async_graphql::Response::from_errors(vec![
                KrakenError::with_message(
                    ErrorCode::QueryTooComplex,
                    format!(
                        "The request did not finish within {} ms and was stopped; ask for less.",
                        deadline.as_millis()
                    ),
                )
                .into_server_error(),
            ])
        }
    }
}

fn client_ip(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> std::net::IpAddr {
    if state.config.trust_forwarded_for
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    peer.ip()
}

/// Whether reading the body failed because it did not arrive within the body read timeout.
fn body_timed_out(err: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(error) = cause {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = error.source();
    }
    false
}

fn bad_request(message: impl Into<String>) -> Response {
    error_response(StatusCode::BAD_REQUEST, ErrorCode::InvalidInput, message)
}

fn too_large(limit: usize) -> Response {
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::InvalidInput,
        format!("The request body is larger than {limit} bytes."),
    )
}
