//! The OCPP 1.6-J central system: the only code in ResiFlex that speaks OCPP.
//!
//! Charge points connect to `/ocpp/{chargePointId}` over WebSocket with the `ocpp1.6`
//! subprotocol and HTTP Basic authentication (Security Profile 1; TLS, when used, ends at a proxy
//! in front of ResiFlex). Each message is framed and validated strictly ([`rpc`]) and typed with
//! `rust-ocpp`; a malformed one gets a CALLERROR with its OCPP-J code, never a dropped connection.
//!
//! The rest of ResiFlex sees connected chargers only through [`OcppProvider`], a
//! `DeviceProvider`: commands become charging profiles ([`profiles`]) with a fallback chain per
//! charger, telemetry comes from the chargers' status notifications and meter values. Everything
//! that must survive a restart (identities, password hashes, capabilities, quirks, installed
//! profiles, transactions, command receipts) is kept through `resiflex_store::ocpp`; what a
//! charger last reported is kept in memory and asked for again when it reconnects.
//!
//! Time: every fact is stamped with the injected clock. Only the timeouts of calls to chargers run
//! on the runtime's timer, because they measure how long a charger takes to answer.

pub mod auth;
mod connection;
pub mod profiles;
mod provider;
pub mod rpc;
mod station;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration as StdDuration;

use resiflex_domain::SharedClock;
use resiflex_store::Db;
use tokio::sync::watch;

pub use provider::OcppProvider;
pub use station::CallFailure;

use rust_ocpp::v1_6::messages::change_availability::{
    ChangeAvailabilityRequest, ChangeAvailabilityResponse,
};
use rust_ocpp::v1_6::messages::reset::{ResetRequest, ResetResponse};
use rust_ocpp::v1_6::types::{
    AvailabilityStatus, AvailabilityType, ResetRequestStatus, ResetResponseStatus,
};

/// How a charge point is reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetKind {
    /// Transactions are stopped and the charger restarts its software.
    Soft,
    /// The charger restarts as after a power cycle.
    Hard,
}

/// A charger's answer to a change of availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvailabilityAnswer {
    Accepted,
    Rejected,
    /// Accepted, once the transaction in progress ends.
    Scheduled,
}

impl AvailabilityAnswer {
    pub const fn as_str(self) -> &'static str {
        match self {
            AvailabilityAnswer::Accepted => "Accepted",
            AvailabilityAnswer::Rejected => "Rejected",
            AvailabilityAnswer::Scheduled => "Scheduled",
        }
    }
}

/// The `ProviderChoices` values the central system answers for.
pub const PROVIDER_NAMES: [&str; 2] = ["OCPP", "OCPP_WALLBOX"];

/// The WebSocket subprotocol of OCPP 1.6-J.
pub const SUBPROTOCOL: &str = "ocpp1.6";

/// Settings of the central system.
#[derive(Debug, Clone)]
pub struct OcppConfig {
    /// The server's public base URL (`http://...` or `https://...`), from which chargers are told
    /// their `ws://` or `wss://` address.
    pub public_url: String,
    /// The heartbeat interval given to chargers at boot; a charger silent for twice as long is
    /// offline.
    pub heartbeat_interval_secs: u32,
    /// How long to wait for a charger's answer to one attempt of a call.
    pub call_timeout: StdDuration,
    /// How many times a call is sent before it counts as unanswered.
    pub call_attempts: u32,
    /// The id tag ResiFlex starts transactions with.
    pub id_tag: String,
    /// The meter value sample interval asked of chargers, in seconds (0 leaves theirs alone).
    pub meter_value_interval_secs: u32,
    /// The largest message accepted from a charger.
    pub max_message_bytes: usize,
}

impl OcppConfig {
    pub fn new(public_url: &str) -> OcppConfig {
        OcppConfig {
            public_url: public_url.trim_end_matches('/').to_owned(),
            heartbeat_interval_secs: 300,
            call_timeout: StdDuration::from_secs(30),
            call_attempts: 3,
            id_tag: "RESIFLEX".to_owned(),
            meter_value_interval_secs: 60,
            max_message_bytes: 256 * 1024,
        }
    }

    /// The address a charger with this identity connects to.
    pub fn websocket_url(&self, charge_point_id: &str) -> String {
        let base = &self.public_url;
        let base = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base.clone()
        };
        format!("{base}/ocpp/{charge_point_id}")
    }

    fn call_policy(&self) -> station::CallPolicy {
        station::CallPolicy {
            timeout: self.call_timeout,
            attempts: self.call_attempts,
        }
    }
}

/// What the connections and the provider share.
#[derive(Debug)]
pub(crate) struct Inner {
    db: Db,
    clock: SharedClock,
    config: OcppConfig,
    /// The password pool and the sign-in throttle, shared with the API.
    sign_in: Arc<resiflex_credentials::SignInGuard>,
    stations: Mutex<HashMap<String, Arc<station::Station>>>,
    generations: AtomicU64,
    shutdown: watch::Sender<bool>,
}

impl Inner {
    /// The station for an identity, created on first use.
    fn station(&self, id: &str) -> Arc<station::Station> {
        let mut stations = self.stations.lock().unwrap_or_else(PoisonError::into_inner);
        stations
            .entry(id.to_owned())
            .or_insert_with(|| Arc::new(station::Station::new(id)))
            .clone()
    }

    fn known_station(&self, id: &str) -> Option<Arc<station::Station>> {
        self.stations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    fn next_generation(&self) -> u64 {
        self.generations.fetch_add(1, Ordering::Relaxed)
    }
}

/// Closes every connection when the last handle to the central system goes (the server stopped).
#[derive(Debug)]
struct Handle {
    inner: Arc<Inner>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = self.inner.shutdown.send(true);
    }
}

/// The central system: cheap to clone, one per server.
#[derive(Debug, Clone)]
pub struct CentralSystem {
    handle: Arc<Handle>,
}

impl CentralSystem {
    pub fn new(
        db: Db,
        clock: SharedClock,
        config: OcppConfig,
        sign_in: Arc<resiflex_credentials::SignInGuard>,
    ) -> CentralSystem {
        let (shutdown, _) = watch::channel(false);
        CentralSystem {
            handle: Arc::new(Handle {
                inner: Arc::new(Inner {
                    db,
                    clock,
                    config,
                    sign_in,
                    stations: Mutex::new(HashMap::new()),
                    generations: AtomicU64::new(1),
                    shutdown,
                }),
            }),
        }
    }

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.handle.inner
    }

    pub fn config(&self) -> &OcppConfig {
        &self.handle.inner.config
    }

    /// The WebSocket endpoint, `GET /ocpp/{chargePointId}`, to merge into the server's router.
    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .route(
                "/ocpp/{charge_point_id}",
                axum::routing::get(connection::upgrade),
            )
            .with_state(self.clone())
    }

    /// The provider answering for `name` (`OCPP` or `OCPP_WALLBOX`: the name chooses the quirks a
    /// new charger starts with).
    pub fn provider(&self, name: &str) -> Arc<OcppProvider> {
        Arc::new(OcppProvider::new(self.clone(), name))
    }

    /// How many chargers are connected now.
    pub fn connected_count(&self) -> usize {
        self.inner()
            .stations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|s| s.is_connected())
            .count()
    }

    /// Whether the charger with this identity is connected now.
    pub fn is_connected(&self, charge_point_id: &str) -> bool {
        self.inner()
            .known_station(charge_point_id)
            .is_some_and(|s| s.is_connected())
    }

    /// Takes a connector (0: the whole station) out of service or puts it back
    /// (`ChangeAvailability`). While an operator holds it inoperative, ResiFlex does not ask it
    /// back into service by itself.
    pub async fn change_availability(
        &self,
        charge_point_id: &str,
        connector: u32,
        operative: bool,
    ) -> Result<AvailabilityAnswer, CallFailure> {
        let station = self
            .inner()
            .known_station(charge_point_id)
            .ok_or(CallFailure::NotConnected)?;
        station.want_operative(connector, operative);
        change_availability(self.inner(), &station, connector, operative).await
    }

    /// Resets a charge point (`Reset`): an operator's tool, not a customer's. Answers whether the
    /// charger accepted; it then reconnects and boots, and ResiFlex asserts its profiles again.
    pub async fn reset(&self, charge_point_id: &str, kind: ResetKind) -> Result<bool, CallFailure> {
        let station = self
            .inner()
            .known_station(charge_point_id)
            .ok_or(CallFailure::NotConnected)?;
        let request = ResetRequest {
            kind: match kind {
                ResetKind::Soft => ResetRequestStatus::Soft,
                ResetKind::Hard => ResetRequestStatus::Hard,
            },
        };
        let answer: ResetResponse = station
            .call_typed("Reset", &request, self.config().call_policy())
            .await?;
        tracing::info!(charge_point = %charge_point_id, ?kind, status = ?answer.status, "reset asked");
        Ok(answer.status == ResetResponseStatus::Accepted)
    }

    /// Closes every connection (chargers will reconnect to whichever server answers next).
    pub fn close_all(&self) {
        let _ = self.inner().shutdown.send(true);
    }
}

/// Sends `ChangeAvailability` for one connector.
pub(crate) async fn change_availability(
    inner: &Inner,
    station: &station::Station,
    connector: u32,
    operative: bool,
) -> Result<AvailabilityAnswer, CallFailure> {
    let request = ChangeAvailabilityRequest {
        connector_id: connector,
        kind: if operative {
            AvailabilityType::Operative
        } else {
            AvailabilityType::Inoperative
        },
    };
    let answer: ChangeAvailabilityResponse = station
        .call_typed("ChangeAvailability", &request, inner.config.call_policy())
        .await?;
    Ok(match answer.status {
        AvailabilityStatus::Accepted => AvailabilityAnswer::Accepted,
        AvailabilityStatus::Rejected => AvailabilityAnswer::Rejected,
        AvailabilityStatus::Scheduled => AvailabilityAnswer::Scheduled,
    })
}

/// A connector of an onboarded charger reported itself unavailable without an operator asking:
/// ask it back into service, once per connection.
pub(crate) async fn restore_availability(
    inner: Arc<Inner>,
    station: Arc<station::Station>,
    connector: u32,
) {
    match change_availability(&inner, &station, connector, true).await {
        Ok(answer) => {
            tracing::info!(charge_point = %station.id, connector, answer = answer.as_str(), "asked an unavailable connector back into service")
        }
        Err(err) => {
            tracing::info!(charge_point = %station.id, connector, error = %err, "asking a connector back into service failed")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_urls_follow_the_public_scheme() {
        let plain = OcppConfig::new("http://127.0.0.1:8000/");
        assert_eq!(plain.websocket_url("CP-1"), "ws://127.0.0.1:8000/ocpp/CP-1");
        let tls = OcppConfig::new("https://flex.example.com");
        assert_eq!(
            tls.websocket_url("CP-1"),
            "wss://flex.example.com/ocpp/CP-1"
        );
    }
}
