//! Device providers: the only code that talks to devices and to vendors' clouds.
//!
//! Every integration implements [`DeviceProvider`]: authorise (an OAuth-style consent that ends in a
//! redirect with a code), list the devices behind an authorisation, read telemetry, send commands,
//! de-authorise. The rest of ResiFlex sees only this trait, so a vendor adapter, the OCPP central
//! system and the [`simulator`] are interchangeable. [`vendors`] says what each integration of
//! `ProviderChoices` serves and how its customers authorise.
//!
//! Providers never read the system clock: every call takes `now`, so tests and the accelerated demo
//! clock decide what time it is.

pub mod simulator;
pub mod vendors;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use resiflex_domain::device::{DeviceKind, Provider};
use serde::{Deserialize, Serialize};

/// Why a provider call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The vendor refused the authorisation (the user declined, or the code is wrong or used).
    #[error("authorisation refused: {0}")]
    AuthorisationRefused(String),
    /// The grant is no longer valid; the customer must authorise again.
    #[error("the authorisation has expired or was revoked")]
    AuthorisationExpired,
    /// The device is not behind this grant.
    #[error("unknown device {0}")]
    UnknownDevice(String),
    /// The device or its cloud did not answer; try again later.
    #[error("the device could not be reached")]
    Unreachable,
    /// The device answered but refused the command.
    #[error("the device refused the command: {0}")]
    Refused(String),
    /// The provider does not support this for this device.
    #[error("not supported: {0}")]
    Unsupported(String),
}

/// What a completed authorisation gives: an opaque grant to use in later calls. It may hold tokens,
/// so it is stored encrypted or hashed by the caller and never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The provider's own id for the customer's login (for example a vendor account id).
    pub subject: String,
    /// Opaque credentials for later calls.
    pub secret: String,
}

/// A device as the provider reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteDevice {
    /// The provider's id for the device (`integrationDeviceId` in the API).
    pub remote_id: String,
    pub kind: DeviceKind,
    pub make: String,
    pub model: String,
    /// A vehicle's VIN, when the provider knows it.
    pub vin: Option<String>,
    /// Usable battery capacity, for vehicles and home batteries.
    pub battery_capacity_wh: Option<i64>,
    /// Largest charging (or heating) power.
    pub max_power_w: Option<i64>,
}

pub use resiflex_domain::command::{Command, ScheduleWindow};
pub use resiflex_domain::forecast::ForecastPoint;
pub use resiflex_domain::telemetry::{Connection, Telemetry};
pub use resiflex_domain::wizard::Requirement;

/// The provider's acknowledgement of a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandReceipt {
    /// The provider's id for the command, for reconciliation.
    pub command_id: String,
    pub accepted_at: DateTime<Utc>,
}

/// One integration with devices.
#[async_trait::async_trait]
pub trait DeviceProvider: Send + Sync + std::fmt::Debug {
    /// The URL to send the customer to for consent; the vendor redirects to `redirect_uri` with
    /// `code` and `state` query parameters.
    async fn authorization_url(
        &self,
        state: &str,
        redirect_uri: &str,
    ) -> Result<String, ProviderError>;

    /// Exchanges the code from the redirect for a grant.
    async fn complete_authorization(
        &self,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Grant, ProviderError>;

    /// The devices the grant gives access to.
    async fn devices(
        &self,
        grant: &Grant,
        now: DateTime<Utc>,
    ) -> Result<Vec<RemoteDevice>, ProviderError>;

    /// The device's latest reading.
    async fn telemetry(
        &self,
        grant: &Grant,
        remote_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Telemetry, ProviderError>;

    /// Sends a command. `idempotency_key` names this one request: sending again with the same key
    /// (after a timeout, or after a restart that lost the answer) returns the first receipt and does
    /// not carry the command out twice.
    async fn send(
        &self,
        grant: &Grant,
        remote_id: &str,
        command: &Command,
        idempotency_key: &str,
        now: DateTime<Utc>,
    ) -> Result<CommandReceipt, ProviderError>;

    /// Gives up the grant; its devices can no longer be read or controlled.
    async fn deauthorize(&self, grant: &Grant, now: DateTime<Utc>) -> Result<(), ProviderError>;

    /// What the vendor expects at the device's home between `from` and `to`: outdoor temperature,
    /// solar production and the household's other load. A vendor that forecasts nothing answers
    /// with no points (the default); the planner then falls back on the latest reading.
    async fn forecast(
        &self,
        grant: &Grant,
        remote_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<ForecastPoint>, ProviderError> {
        let _ = (grant, remote_id, from, to, now);
        Ok(Vec::new())
    }

    /// What the vendor still needs before ResiFlex can control the device (a paired virtual key,
    /// missing permissions, a software update, its own activation). None by default.
    async fn requirements(
        &self,
        grant: &Grant,
        remote_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Requirement>, ProviderError> {
        let _ = (grant, remote_id, now);
        Ok(Vec::new())
    }

    /// Where the customer fulfils `requirement` for the device: the vendor's page or app link.
    /// `None` (the default) when the vendor offers none.
    fn requirement_url(&self, remote_id: &str, requirement: Requirement) -> Option<String> {
        let _ = (remote_id, requirement);
        None
    }

    /// For providers whose devices connect to ResiFlex themselves (OCPP charge points) instead of
    /// being reached through a vendor's cloud: how they are enrolled. `None` (the default) means
    /// the customer authorises at the vendor instead.
    fn enrolment(&self) -> Option<&dyn Enrolment> {
        None
    }

    /// How the provider is best given a plan: as a command at each dispatch boundary (the
    /// default), or as one schedule per plan version that the device follows by itself.
    fn plan_delivery(&self) -> PlanDelivery {
        PlanDelivery::Segments
    }
}

/// How plans reach a provider's devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanDelivery {
    /// `Start` at each dispatch's power when it begins, `Stop` when it ends.
    Segments,
    /// One `Schedule` with every coming dispatch, sent when a plan version is made (chargers that
    /// hold a charging profile, such as OCPP ones).
    Schedule,
}

/// What a customer enters in a device that connects to ResiFlex itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentDetails {
    /// Where the device connects (for OCPP, `ws://` or `wss://` ending in the device's identity).
    pub websocket_url: String,
    /// The identity the device announces (the OCPP charge point id).
    pub device_id: String,
    /// The device's password. Only the enrolment that issues it returns it: ResiFlex keeps a hash.
    pub password: Option<String>,
}

/// Enrolment of devices that connect to ResiFlex themselves: the onboarding issues connection
/// details, the customer enters them in the device, and the enrolment completes when the device
/// connects and is accepted.
#[async_trait::async_trait]
pub trait Enrolment: Send + Sync {
    /// Issues the connection details for the enrolment named `key` (an onboarding's id). The
    /// first call creates the identity and its password; later calls with the same key return
    /// the same identity without the password.
    async fn enrol(&self, key: &str, now: DateTime<Utc>)
    -> Result<EnrolmentDetails, ProviderError>;

    /// The grant for the enrolled device once it has connected and been accepted; `None` while
    /// ResiFlex is still waiting for it.
    async fn connected(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Grant>, ProviderError>;

    /// Records what the enrolled device is rated for (from the catalogue entry the customer
    /// chose), so that no command asks it for more. Providers that cannot use it ignore it.
    async fn rate(&self, key: &str, rating: Rating) -> Result<(), ProviderError> {
        let _ = (key, rating);
        Ok(())
    }
}

/// What a device is rated for: its nameplate power, the most current per phase and its phases.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    pub max_power_w: i64,
    pub max_current_a: f64,
    pub phases: u8,
}

impl Rating {
    /// The rating of a charger of `power_w` and `current_a` per phase at 230 V: one phase, or
    /// three when the power needs them.
    pub fn of_charger(power_w: i64, current_a: f64) -> Rating {
        #[allow(clippy::cast_precision_loss)] // Watts of a home charger are far below 2^52.
        let phases = if current_a > 0.0 && power_w as f64 > current_a * 230.0 * 1.5 {
            3
        } else {
            1
        };
        Rating {
            max_power_w: power_w,
            max_current_a: current_a,
            phases,
        }
    }
}

/// The providers a server has, by the `ProviderChoices` value they answer for.
#[derive(Debug, Default)]
pub struct ProviderRegistry {
    providers: BTreeMap<Provider, std::sync::Arc<dyn DeviceProvider>>,
}

impl ProviderRegistry {
    pub fn register(&mut self, name: Provider, provider: std::sync::Arc<dyn DeviceProvider>) {
        self.providers.insert(name, provider);
    }

    pub fn get(&self, name: Provider) -> Option<std::sync::Arc<dyn DeviceProvider>> {
        self.providers.get(&name).cloned()
    }

    pub fn names(&self) -> impl Iterator<Item = Provider> + '_ {
        self.providers.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_charger_needs_three_phases_only_when_its_power_does() {
        assert_eq!(Rating::of_charger(7_400, 32.0).phases, 1);
        assert_eq!(Rating::of_charger(22_000, 32.0).phases, 3);
        assert_eq!(Rating::of_charger(11_000, 16.0).phases, 3);
    }
}
