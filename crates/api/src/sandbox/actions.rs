//! The sandbox vendor's pages where a customer does what the vendor requires before ResiFlex can
//! control a device: pair the virtual key, grant the missing permissions, install a software
//! update. A real vendor has these in its app; the onboarding wizard links here
//! (`DeviceProvider::requirement_url`) and, when the customer continues, asks the vendor whether
//! it happened: the customer's word is never enough.
//!
//! Only devices of an onboarding ResiFlex started are answered: the page needs that onboarding's
//! `state`, and the device must be one the vendor listed for it.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use resiflex_providers::Requirement;

use super::{escape, known, page, with_query};
use crate::http::AppState;

/// Where the pages are served.
pub const PATH: &str = "/sandbox/{provider}/devices/{remote_id}/{requirement}";

fn title(requirement: Requirement) -> &'static str {
    match requirement {
        Requirement::VirtualKey => "Pair the ResiFlex virtual key",
        Requirement::Scopes => "Allow ResiFlex the missing permissions",
        Requirement::SoftwareUpdate => "Install the software update",
        Requirement::Activation => "Activation",
    }
}

fn refused(status: StatusCode, why: &str) -> Response {
    page(
        status,
        "Invalid request",
        &format!("<h1>{}</h1>", escape(why)),
    )
}

/// Checks a request: a vendor the sandbox answers for, a requirement the customer fulfils, and a
/// device the vendor listed for the onboarding behind `state`.
async fn check(
    state: &AppState,
    provider: &str,
    remote_id: &str,
    requirement: &str,
    oauth_state: Option<&String>,
) -> Result<Requirement, Response> {
    if !known(state, provider) {
        return Err(refused(StatusCode::NOT_FOUND, "Unknown vendor"));
    }
    let requirement = Requirement::parse(requirement)
        .filter(|r| r.by_customer())
        .ok_or_else(|| refused(StatusCode::NOT_FOUND, "Unknown action"))?;
    let oauth_state =
        oauth_state.ok_or_else(|| refused(StatusCode::BAD_REQUEST, "The request lacks state."))?;
    let row = resiflex_store::wizards::wizard_by_oauth_state(&state.db, oauth_state)
        .await
        .ok()
        .flatten()
        .ok_or_else(|| {
            refused(
                StatusCode::BAD_REQUEST,
                "This request is unknown or has expired.",
            )
        })?;
    if !row
        .state
        .found_devices
        .iter()
        .any(|d| d.remote_id == remote_id)
    {
        return Err(refused(
            StatusCode::NOT_FOUND,
            "This device is not part of the onboarding.",
        ));
    }
    Ok(requirement)
}

/// `GET`: what the customer is asked to do, with a button to do it.
pub async fn show(
    State(state): State<AppState>,
    Path((provider, remote_id, requirement)): Path<(String, String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let requirement = match check(
        &state,
        &provider,
        &remote_id,
        &requirement,
        params.get("state"),
    )
    .await
    {
        Ok(requirement) => requirement,
        Err(response) => return response,
    };
    let body = format!(
        "<h1>{title}</h1><p>{provider} (sandbox), device {device}.</p><p>{what}</p>\
         <form method=\"post\"><input type=\"hidden\" name=\"state\" value=\"{state}\">\
         <input type=\"hidden\" name=\"redirect_uri\" value=\"{redirect}\">\
         <button name=\"decision\" value=\"done\">Confirm</button></form>",
        title = escape(title(requirement)),
        provider = escape(&provider),
        device = escape(&remote_id),
        what = escape(requirement.description()),
        state = escape(params.get("state").map_or("", String::as_str)),
        redirect = escape(params.get("redirect_uri").map_or("", String::as_str)),
    );
    page(StatusCode::OK, title(requirement), &body)
}

/// `POST`: the customer does it. The vendor records it; then the customer goes back to the app
/// (to `redirect_uri` when it is one of ResiFlex's own addresses).
pub async fn perform(
    State(state): State<AppState>,
    Path((provider, remote_id, requirement)): Path<(String, String, String)>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let requirement = match check(
        &state,
        &provider,
        &remote_id,
        &requirement,
        form.get("state"),
    )
    .await
    {
        Ok(requirement) => requirement,
        Err(response) => return response,
    };
    let Some(sandbox) = state.sandbox.clone() else {
        return refused(StatusCode::NOT_FOUND, "Unknown vendor");
    };
    if let Err(err) = sandbox
        .fulfil(&provider, &remote_id, requirement, state.clock.now())
        .await
    {
        tracing::warn!(provider, error = %err, "a sandbox action failed");
        return refused(StatusCode::BAD_REQUEST, "The vendor could not do this.");
    }
    let back = form
        .get("redirect_uri")
        .filter(|uri| !state.public_url.is_empty() && uri.starts_with(&state.public_url));
    match (back, form.get("state")) {
        (Some(uri), Some(oauth_state)) => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, with_query(uri, &[("state", oauth_state)]))],
        )
            .into_response(),
        _ => page(
            StatusCode::OK,
            "Done",
            "<h1>Done</h1><p>You can return to your app now.</p>",
        ),
    }
}
