//! `GET /v1/bills/{id}/document?format=pdf|html&expires=…&signature=…`: a bill's document, served
//! only with a valid, unexpired signature from `attachments { temporaryUrl }`. A link that is
//! malformed, tampered with or expired gets 403, an unknown bill 404; nothing here answers 500.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use resiflex_money::MoneyError;
use resiflex_money::documents::link::{self, Format, LinkError};
use resiflex_money::documents::{self, html, pdf};

use crate::http::AppState;

/// The route's path.
pub const PATH: &str = "/v1/bills/{id}/document";

fn refusal(status: StatusCode, detail: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        axum::Json(serde_json::json!({ "detail": detail })),
    )
        .into_response()
}

fn unavailable(err: &dyn std::fmt::Display) -> Response {
    tracing::warn!(error = %err, "a bill's document could not be served");
    refusal(
        StatusCode::SERVICE_UNAVAILABLE,
        "The document cannot be served just now; try again.",
    )
}

/// Serves the document if the link verifies.
pub async fn document(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Ok(id) = id.trim().parse::<i64>() else {
        return refusal(StatusCode::NOT_FOUND, "Not found.");
    };
    let format = match query.get("format").map(String::as_str) {
        None => Format::Pdf,
        Some(text) => match Format::parse(text) {
            Some(format) => format,
            None => return refusal(StatusCode::NOT_FOUND, "Not found."),
        },
    };
    let (Some(expires), Some(signature)) = (
        query
            .get("expires")
            .and_then(|e| e.trim().parse::<i64>().ok()),
        query.get("signature"),
    ) else {
        return refusal(StatusCode::FORBIDDEN, "The link is not valid.");
    };
    let now = state.clock.now();
    let key = match link::link_key(&state.db, now).await {
        Ok(key) => key,
        Err(err) => return unavailable(&err),
    };
    match link::verify(&key, id, expires, signature, now) {
        Ok(()) => {}
        Err(LinkError::Invalid) => {
            return refusal(StatusCode::FORBIDDEN, "The link is not valid.");
        }
        Err(LinkError::Expired) => {
            return refusal(StatusCode::FORBIDDEN, "The link has expired.");
        }
    }
    let doc = match documents::load(&state.db, id).await {
        Ok(doc) => doc,
        Err(MoneyError::NotFound(_)) => return refusal(StatusCode::NOT_FOUND, "Not found."),
        Err(err) => return unavailable(&err),
    };
    let (body, name) = match format {
        Format::Pdf => (pdf::render(&doc), doc.filename()),
        Format::Html => (
            html::render(&doc).into_bytes(),
            format!("{}.html", doc.identifier),
        ),
    };
    let disposition = HeaderValue::from_str(&format!("inline; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("inline"));
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        body,
    )
        .into_response()
}
