//! The sandbox vendor's own pages, in the vendor's way of authorising (`vendors::AuthStyle`):
//!
//! - the sign-in of `/sandbox/{provider}/authorize`: an OAuth vendor asks for the login only, a
//!   vendor of credentials for the login and its password (a sandbox login gets its password at its
//!   first sign-in), a vendor that pairs devices for the code the device's display shows;
//! - the consent screen that follows: the login's devices with their identifiers (a vehicle's VIN,
//!   any other device's serial number) and "Allow" or "Deny";
//! - `/sandbox/{provider}/account`: the vendor's app, where the customer looks their devices and
//!   identifiers up at any time (the VIN the wizard asks for, for example).
//!
//! An OAuth vendor still accepts the login and "Allow" in one request, as before.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use resiflex_domain::device::DeviceKind;
use resiflex_providers::RemoteDevice;
use resiflex_providers::simulator::identifier;
use resiflex_providers::vendors::{AuthStyle, vendor_named};

use super::{SandboxConsent, devices_for, escape, known, page, with_query};
use crate::http::AppState;

/// Where the vendor's app is served.
pub const ACCOUNT_PATH: &str = "/sandbox/{provider}/account";

fn style(provider: &str) -> AuthStyle {
    vendor_named(provider).map_or(AuthStyle::OAuthConsent, |v| v.auth)
}

fn name(provider: &str) -> String {
    vendor_named(provider).map_or_else(|| provider.to_owned(), |v| v.name.to_owned())
}

fn kind_label(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::ElectricVehicle => "Electric vehicle",
        DeviceKind::ChargePoint => "Charger",
        DeviceKind::HeatPump => "Heat pump",
        DeviceKind::Battery => "Home battery",
        DeviceKind::Inverter => "Solar inverter",
        DeviceKind::Thermostat => "Thermostat",
    }
}

fn refused(status: StatusCode, why: &str) -> Response {
    page(
        status,
        "Invalid request",
        &format!("<h1>{}</h1>", escape(why)),
    )
}

fn unknown_vendor() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Unknown vendor",
        "<h1>Unknown vendor</h1>",
    )
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}

/// The devices as a table: kind, make and model, and the identifier the customer knows them by.
fn device_table(devices: &[RemoteDevice]) -> String {
    if devices.is_empty() {
        return "<p>There are no devices on this account.</p>".to_owned();
    }
    let rows: String = devices
        .iter()
        .map(|device| {
            let (label, value) = identifier(device);
            format!(
                "<tr data-remote-id=\"{id}\"><td>{kind}</td><td>{make} {model}</td>\
                 <td>{label} <code data-identifier=\"{value}\">{value}</code></td></tr>",
                id = escape(&device.remote_id),
                kind = kind_label(device.kind),
                make = escape(&device.make),
                model = escape(&device.model),
                label = escape(label),
                value = escape(&value),
            )
        })
        .collect();
    format!(
        "<table><thead><tr><th>Device</th><th>Make and model</th><th>Identifier</th></tr></thead>\
         <tbody>{rows}</tbody></table>"
    )
}

/// The vendor's sign-in for the authorisation `oauth_state`, with `error` above it when the last
/// attempt failed.
pub(super) fn sign_in_page(
    sandbox: &dyn SandboxConsent,
    provider: &str,
    oauth_state: &str,
    redirect_uri: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let style = style(provider);
    let vendor = escape(&name(provider));
    let secret = match style {
        AuthStyle::Credentials => "<p><label>Password <input type=\"password\" name=\"password\"></label></p>\
             <p><small>In the sandbox a login gets its password the first time it signs in.</small></p>"
            .to_owned(),
        AuthStyle::PairingCode => {
            let code = sandbox.pairing_code(provider, oauth_state).unwrap_or_default();
            format!(
                "<p>Put your device in pairing mode and enter the code its display shows.</p>\
                 <div class=\"device-display\"><small>Your device's display (simulated)</small> \
                 <strong data-pairing-code=\"{code}\">{code}</strong></div>\
                 <p><label>Pairing code <input name=\"pairing_code\" autocomplete=\"off\"></label></p>",
                code = escape(&code)
            )
        }
        AuthStyle::OAuthConsent | AuthStyle::DirectConnection => String::new(),
    };
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>{vendor} (sandbox)</h1><p>ResiFlex asks to read and control your devices. Sign in to \
         your {vendor} account first.</p>{error}\
         <form method=\"post\" data-auth-style=\"{style}\">{state}{redirect}\
         <p><label>Username <input name=\"login\" value=\"demo\"></label></p>{secret}\
         <button name=\"decision\" value=\"allow\">Allow</button>\
         <button name=\"decision\" value=\"sign-in\">Sign in and review the devices</button>\
         <button name=\"decision\" value=\"deny\">Deny</button></form>",
        style = style.as_str(),
        state = hidden("state", oauth_state),
        redirect = hidden("redirect_uri", redirect_uri),
    );
    page(status, &format!("Sign in to {}", name(provider)), &body)
}

/// Checks the sign-in a form carries, in the vendor's style: a ticket of an earlier sign-in, a
/// password or a pairing code. `Err` holds why it failed, for the sign-in page.
async fn signed_in(
    state: &AppState,
    sandbox: &dyn SandboxConsent,
    provider: &str,
    login: &str,
    oauth_state: &str,
    form: &HashMap<String, String>,
) -> Result<(), (StatusCode, String)> {
    let given = |key: &str| form.get(key).map(|v| v.trim()).unwrap_or_default();
    if let Some(ticket) = sandbox.session_ticket(provider, login, oauth_state)
        && !given("ticket").is_empty()
        && given("ticket") == ticket
    {
        return Ok(());
    }
    match style(provider) {
        AuthStyle::OAuthConsent => Ok(()),
        AuthStyle::Credentials => sandbox
            .sign_in(provider, login, given("password"), state.clock.now())
            .await
            .map_err(|why| (StatusCode::UNAUTHORIZED, why.to_string())),
        AuthStyle::PairingCode => {
            let expected = sandbox
                .pairing_code(provider, oauth_state)
                .map(|code| normalised(&code))
                .unwrap_or_default();
            let typed = normalised(given("pairing_code"));
            if typed.is_empty() {
                Err((
                    StatusCode::BAD_REQUEST,
                    "Enter the pairing code.".to_owned(),
                ))
            } else if typed == expected {
                Ok(())
            } else {
                Err((
                    StatusCode::BAD_REQUEST,
                    "The pairing code does not match the one your device shows.".to_owned(),
                ))
            }
        }
        AuthStyle::DirectConnection => Err((
            StatusCode::BAD_REQUEST,
            "These devices connect to ResiFlex themselves.".to_owned(),
        )),
    }
}

fn normalised(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The answer to `POST /sandbox/{provider}/authorize` once the request itself has been checked:
/// a denial goes straight back; otherwise the sign-in must hold, then the consent screen lists
/// the login's devices, and "Allow" goes back with a one-time code.
pub(super) async fn decide(
    state: &AppState,
    sandbox: &dyn SandboxConsent,
    provider: &str,
    oauth_state: &str,
    redirect_uri: &str,
    form: &HashMap<String, String>,
) -> Response {
    let decision = form.get("decision").map(String::as_str).unwrap_or_default();
    let back = |params: &[(&str, &str)]| {
        (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, with_query(redirect_uri, params))],
        )
            .into_response()
    };
    if decision == "deny" {
        return back(&[("error", "access_denied"), ("state", oauth_state)]);
    }
    let login = form
        .get("login")
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .unwrap_or("demo");
    if let Err((status, why)) = signed_in(state, sandbox, provider, login, oauth_state, form).await
    {
        return sign_in_page(
            sandbox,
            provider,
            oauth_state,
            redirect_uri,
            Some(&why),
            status,
        );
    }
    let devices = devices_for(state, oauth_state).await;
    let now = state.clock.now();
    if decision == "allow" {
        return match sandbox.approve(provider, login, devices, now).await {
            Ok(code) => back(&[("code", &code), ("state", oauth_state)]),
            Err(err) => {
                tracing::warn!(provider, error = %err, "sandbox consent failed");
                back(&[("error", "server_error"), ("state", oauth_state)])
            }
        };
    }
    let listed = match sandbox.prepare(provider, login, devices, now).await {
        Ok(listed) => listed,
        Err(err) => {
            tracing::warn!(provider, error = %err, "sandbox sign-in failed");
            return back(&[("error", "server_error"), ("state", oauth_state)]);
        }
    };
    let ticket = sandbox
        .session_ticket(provider, login, oauth_state)
        .unwrap_or_default();
    let vendor = escape(&name(provider));
    let body = format!(
        "<h1>{vendor} (sandbox)</h1><p>Signed in as <strong>{login}</strong>. ResiFlex asks to read \
         and control these devices on your account:</p>{table}\
         <form method=\"post\">{state}{redirect}{login_field}{ticket}\
         <button name=\"decision\" value=\"allow\">Allow</button>\
         <button name=\"decision\" value=\"deny\">Deny</button></form>\
         <p>Your devices and their identifiers are always in <a href=\"{account}\">your {vendor} \
         account</a>.</p>",
        login = escape(login),
        table = device_table(&listed),
        state = hidden("state", oauth_state),
        redirect = hidden("redirect_uri", redirect_uri),
        login_field = hidden("login", login),
        ticket = hidden("ticket", &ticket),
        account = escape(&ACCOUNT_PATH.replace("{provider}", &super::encode(provider))),
    );
    page(StatusCode::OK, "Authorise ResiFlex", &body)
}

fn account_sign_in(provider: &str, error: Option<&str>, status: StatusCode) -> Response {
    let vendor = escape(&name(provider));
    let password = if style(provider) == AuthStyle::Credentials {
        "<p><label>Password <input type=\"password\" name=\"password\"></label></p>"
    } else {
        ""
    };
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    page(
        status,
        &format!("{} account", name(provider)),
        &format!(
            "<h1>{vendor} (sandbox)</h1><p>Sign in to see the devices on your account.</p>{error}\
             <form method=\"post\"><p><label>Username <input name=\"login\" value=\"demo\"></label></p>\
             {password}<button>Sign in</button></form>"
        ),
    )
}

/// `GET /sandbox/{provider}/account`: the vendor app's sign-in.
pub async fn account_page(State(state): State<AppState>, Path(provider): Path<String>) -> Response {
    if !known(&state, &provider) || style(&provider) == AuthStyle::DirectConnection {
        return unknown_vendor();
    }
    account_sign_in(&provider, None, StatusCode::OK)
}

/// `POST /sandbox/{provider}/account`: the devices of the login, with their identifiers.
pub async fn account_devices(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let Some(sandbox) = state.sandbox.clone().filter(|_| known(&state, &provider)) else {
        return unknown_vendor();
    };
    if style(&provider) == AuthStyle::DirectConnection {
        return unknown_vendor();
    }
    let Some(login) = form
        .get("login")
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
    else {
        return refused(StatusCode::BAD_REQUEST, "Enter your username.");
    };
    let devices = sandbox.login_devices(&provider, login);
    if style(&provider) == AuthStyle::Credentials {
        let password = form.get("password").map(String::as_str).unwrap_or_default();
        // A login that does not exist yet is not created here.
        let checked = match &devices {
            Some(_) => sandbox
                .sign_in(&provider, login, password, state.clock.now())
                .await
                .map_err(|why| why.to_string()),
            None => Err("the username or password is wrong".to_owned()),
        };
        if let Err(why) = checked {
            return account_sign_in(&provider, Some(&why), StatusCode::UNAUTHORIZED);
        }
    }
    let vendor = escape(&name(&provider));
    page(
        StatusCode::OK,
        &format!("{} account", name(&provider)),
        &format!(
            "<h1>{vendor} (sandbox)</h1><p>The devices of <strong>{login}</strong>:</p>{table}",
            login = escape(login),
            table = device_table(&devices.unwrap_or_default()),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_listed_with_their_identifiers() {
        let car = RemoteDevice {
            remote_id: "sim-ford-1".into(),
            kind: DeviceKind::ElectricVehicle,
            make: "Ford".into(),
            model: "Mustang Mach-E".into(),
            vin: Some("WF0AXXTTGAKA12345".into()),
            battery_capacity_wh: None,
            max_power_w: None,
        };
        let thermostat = RemoteDevice {
            remote_id: "EB12345ABCDE".into(),
            kind: DeviceKind::Thermostat,
            vin: None,
            make: "ecobee".into(),
            model: "<Premium>".into(),
            ..car.clone()
        };
        let table = device_table(&[car, thermostat]);
        assert!(table.contains("VIN <code data-identifier=\"WF0AXXTTGAKA12345\">"));
        assert!(table.contains("Serial number <code data-identifier=\"EB12345ABCDE\">"));
        assert!(table.contains("ecobee &lt;Premium&gt;"), "{table}");
        assert!(device_table(&[]).contains("no devices"));
        assert_eq!(normalised(" 7k3m-92qa "), "7K3M92QA");
        assert_eq!(style("SENSI"), AuthStyle::Credentials);
        assert_eq!(style("VP_NEST"), AuthStyle::OAuthConsent);
        assert_eq!(name("HUAWEI"), "Huawei FusionSolar");
    }
}
