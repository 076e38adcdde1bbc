//! The sandbox vendor's consent page. In sandbox mode the simulated clouds send customers here to
//! authorise ResiFlex, exactly where a real vendor would show its own login and consent screen; "Allow"
//! redirects back with a one-time code, "Deny" with `error=access_denied`, so the `AuthFlow` step runs
//! end to end like a real OAuth consent.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use resiflex_domain::catalogue::{Catalogue, CatalogueEntry};
use resiflex_domain::device::DeviceKind;

use resiflex_providers::ProviderError;
use resiflex_providers::simulator::SimDeviceSpec;

use crate::http::AppState;

/// Approves a simulated login (implemented by the server's sandbox, which also saves the world).
#[async_trait::async_trait]
pub trait SandboxConsent: Send + Sync + std::fmt::Debug {
    /// Creates or reuses `login` with `devices` at `provider` and returns a one-time code.
    async fn approve(
        &self,
        provider: &str,
        login: &str,
        devices: Vec<SimDeviceSpec>,
        now: DateTime<Utc>,
    ) -> Result<String, ProviderError>;

    /// The providers the sandbox answers for.
    fn providers(&self) -> Vec<String>;

    /// Creates or updates `login` with `devices` at `provider`, as [`SandboxConsent::approve`]
    /// does, without issuing a code; returns the login's devices (for the consent screen).
    async fn prepare(
        &self,
        provider: &str,
        login: &str,
        devices: Vec<SimDeviceSpec>,
        now: DateTime<Utc>,
    ) -> Result<Vec<resiflex_providers::RemoteDevice>, ProviderError> {
        let _ = (provider, login, devices, now);
        Err(ProviderError::Unsupported("no simulated cloud".into()))
    }

    /// The devices of `login` at `provider`, if the login exists.
    fn login_devices(
        &self,
        provider: &str,
        login: &str,
    ) -> Option<Vec<resiflex_providers::RemoteDevice>> {
        let _ = (provider, login);
        None
    }

    /// Checks the password of `login` at a vendor whose customers sign in with one (a login gets
    /// its password at its first sign-in).
    async fn sign_in(
        &self,
        provider: &str,
        login: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<(), resiflex_providers::simulator::SignInError> {
        let _ = (provider, login, password, now);
        Err(resiflex_providers::simulator::SignInError::WrongPassword)
    }

    /// The pairing code the customer's device shows during the authorisation `oauth_state`.
    fn pairing_code(&self, provider: &str, oauth_state: &str) -> Option<String> {
        let _ = (provider, oauth_state);
        None
    }

    /// What the consent screen carries once `login` has signed in for `oauth_state`.
    fn session_ticket(&self, provider: &str, login: &str, oauth_state: &str) -> Option<String> {
        let _ = (provider, login, oauth_state);
        None
    }

    /// The customer fulfils `requirement` for the device `remote_id` at `provider` (the vendor's
    /// page of [`actions`]). Refused by default.
    async fn fulfil(
        &self,
        provider: &str,
        remote_id: &str,
        requirement: resiflex_providers::Requirement,
        now: DateTime<Utc>,
    ) -> Result<(), ProviderError> {
        let _ = (provider, remote_id, requirement, now);
        Err(ProviderError::Unsupported("no simulated cloud".into()))
    }
}

pub mod actions;
pub mod vendor;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}\
         button{{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem}}</style></head><body>{body}</body></html>",
        title = escape(title)
    );
    (status, Html(html)).into_response()
}

/// Where the redirect ends when no app intercepts it.
pub async fn returned(Query(params): Query<HashMap<String, String>>) -> Response {
    let outcome = if params.contains_key("code") {
        "You allowed access."
    } else {
        "You did not allow access."
    };
    page(
        StatusCode::OK,
        "Back to your app",
        &format!(
            "<h1>{}</h1><p>You can return to your app now.</p>",
            escape(outcome)
        ),
    )
}

/// Adds `params` to a URL's query.
fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    let encoded: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}{}", encoded.join("&"))
}

/// Percent-encodes everything but unreserved characters.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The devices the simulated login gets: the one the customer is onboarding (from the wizard behind
/// `state`), so the vendor account holds what they said they own.
async fn devices_for(state: &AppState, oauth_state: &str) -> Vec<SimDeviceSpec> {
    let Ok(Some(row)) =
        resiflex_store::wizards::wizard_by_oauth_state(&state.db, oauth_state).await
    else {
        return Vec::new();
    };
    let wizard = row.state;
    let Ok(catalogue) = Catalogue::get() else {
        return Vec::new();
    };
    let Some(entry) = wizard.integrated_entry(catalogue) else {
        return Vec::new();
    };
    vec![device_spec(catalogue, entry)]
}

/// The simulated device a catalogue entry stands for: its make, model and nameplate (battery and
/// power); every other parameter at the kind's default.
pub fn device_spec(catalogue: &Catalogue, entry: &dyn CatalogueEntry) -> SimDeviceSpec {
    let mut spec = SimDeviceSpec::new(entry.kind());
    spec.make = entry.make().to_owned();
    spec.model = entry.model().to_owned();
    match entry.kind() {
        DeviceKind::ElectricVehicle => {
            if let Some(vehicle) = catalogue.vehicle(entry.id()) {
                spec.battery_capacity_wh = Some(vehicle.battery().wh);
                spec.max_power_w = Some(vehicle.max_ac_charging().w);
            }
        }
        DeviceKind::ChargePoint => {
            if let Some(charger) = catalogue.charge_point(entry.id()) {
                spec.max_power_w = Some(charger.power().w);
            }
        }
        DeviceKind::HeatPump => {
            if let Some(pump) = catalogue.heat_pump(entry.id()) {
                spec.max_power_w = Some(pump.heating_power().w);
            }
        }
        DeviceKind::Battery => {
            if let Some(battery) = catalogue.battery(entry.id()) {
                spec.battery_capacity_wh = Some(battery.capacity().wh);
                spec.max_power_w = Some(battery.max_power().w);
            }
        }
        DeviceKind::Inverter => {
            if let Some(inverter) = catalogue.inverter(entry.id()) {
                spec.max_power_w = Some(inverter.rated_power().w);
            }
        }
        DeviceKind::Thermostat => {
            if let Some(thermostat) = catalogue.thermostat(entry.id()) {
                spec.max_power_w = Some(thermostat.controlled_power().w);
            }
        }
    }
    spec
}

fn known(state: &AppState, provider: &str) -> bool {
    state
        .sandbox
        .as_ref()
        .is_some_and(|s| s.providers().iter().any(|p| p == provider))
}

/// `GET /sandbox/{provider}/authorize`: the vendor's login and consent screen.
pub async fn consent_page(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if !known(&state, &provider) {
        return page(
            StatusCode::NOT_FOUND,
            "Unknown vendor",
            "<h1>Unknown vendor</h1>",
        );
    }
    let (Some(oauth_state), Some(redirect_uri)) = (params.get("state"), params.get("redirect_uri"))
    else {
        return page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "<h1>The request lacks state or redirect_uri.</h1>",
        );
    };
    let Some(sandbox) = state.sandbox.as_ref() else {
        return page(
            StatusCode::NOT_FOUND,
            "Unknown vendor",
            "<h1>Unknown vendor</h1>",
        );
    };
    vendor::sign_in_page(
        sandbox.as_ref(),
        &provider,
        oauth_state,
        redirect_uri,
        None,
        StatusCode::OK,
    )
}

/// `POST /sandbox/{provider}/authorize`: the customer's decision; redirects back to the app.
pub async fn consent_decision(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let Some(sandbox) = state.sandbox.clone().filter(|_| known(&state, &provider)) else {
        return page(
            StatusCode::NOT_FOUND,
            "Unknown vendor",
            "<h1>Unknown vendor</h1>",
        );
    };
    let (Some(oauth_state), Some(redirect_uri)) = (form.get("state"), form.get("redirect_uri"))
    else {
        return page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "<h1>The request lacks state or redirect_uri.</h1>",
        );
    };
    if !(redirect_uri.starts_with("http://") || redirect_uri.starts_with("https://")) {
        return page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "<h1>The redirect URI is not a web address.</h1>",
        );
    }
    // Only authorisations ResiFlex started are answered, so the page cannot be used to send codes
    // to arbitrary addresses.
    if !matches!(
        resiflex_store::wizards::wizard_by_oauth_state(&state.db, oauth_state).await,
        Ok(Some(_))
    ) {
        return page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "<h1>This authorisation request is unknown or has expired.</h1>",
        );
    }
    vendor::decide(
        &state,
        sandbox.as_ref(),
        &provider,
        oauth_state,
        redirect_uri,
        &form,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_building_encodes_values() {
        assert_eq!(
            with_query("http://x/return", &[("code", "a b&c"), ("state", "s/1")]),
            "http://x/return?code=a%20b%26c&state=s%2F1"
        );
        assert_eq!(
            with_query("http://x/r?a=1", &[("b", "2")]),
            "http://x/r?a=1&b=2"
        );
        assert_eq!(escape("<a href=\"x\">"), "&lt;a href=&quot;x&quot;&gt;");
    }
}
