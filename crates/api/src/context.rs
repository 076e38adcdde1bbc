//! What every resolver can reach: the database, the clock and the facts about the current request.

use std::net::IpAddr;

use std::sync::Arc;

use resiflex_domain::SharedClock;
use resiflex_providers::ProviderRegistry;
use resiflex_store::Db;
use tokio::sync::OnceCell;

use crate::auth::access::Session;
use crate::auth::tokens::TokenKeys;
use crate::errors::KrakenError;

/// Shared by all requests; put into the schema once.
#[derive(Debug, Clone)]
pub struct ApiContext {
    pub db: Db,
    pub clock: SharedClock,
    pub tokens: TokenKeys,
    /// The password pool and the sign-in throttle, shared with the OCPP endpoint.
    pub sign_in: Arc<resiflex_credentials::SignInGuard>,
    /// The device integrations, by `ProviderChoices` value.
    pub providers: Arc<ProviderRegistry>,
    /// The public base URL of this server (for redirect URIs), without a trailing slash.
    pub public_url: String,
    /// Planning settings, for re-planning a device right after a customer's command.
    pub control: resiflex_control::ControlConfig,
    /// The device use cases (customers' commands, registration), re-planning after each change.
    pub devices: resiflex_devices::Devices,
}

/// Facts about one HTTP request, handed to the resolvers.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// The `Authorization` header as sent (any header-name case).
    pub authorization: Option<String>,
    /// The client's address, for throttling.
    pub client_ip: Option<IpAddr>,
    pub request_id: Option<String>,
    /// The caller and how they signed in, resolved from `authorization` the first time a resolver
    /// asks.
    pub caller: Arc<OnceCell<Result<Session, KrakenError>>>,
}
