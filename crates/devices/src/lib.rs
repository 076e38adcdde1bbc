//! The device use cases of ResiFlex, with no GraphQL in them: what the API's resolvers, the control
//! loop and the sandbox demo do to devices, each written once.
//!
//! - [`actions`]: suspend and resume, boost and cancel, test charge, de-authentication, and the
//!   device's settings (preferences, grid export, charging-duration cap), on [`Devices`];
//! - [`rules`]: when a boost or a test charge may start, and why not (pure);
//! - [`commands`]: the one path a command takes to a device (ledger, idempotency key, retries,
//!   abandonment), for plans and customers alike;
//! - [`grants`]: the one lookup of a device's vendor grant, and giving it up;
//! - [`registration`]: the record of a newly found device and the step that makes it live;
//! - [`requirements`]: what a vendor requires before a device being onboarded can be controlled
//!   (a virtual key, permissions, an update, its activation), confirmed with the vendor;
//! - [`telemetry`]: a device's latest reading, stored or read once.
//!
//! After a change, [`Devices`] tells an [`AfterChange`] (the control loop re-plans the device), so
//! this crate does not depend on the planner.

pub mod actions;
pub mod commands;
pub mod grants;
pub mod heat_pump;
pub mod onboarding;
pub mod registration;
pub mod requirements;
pub mod rules;
pub mod telemetry;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use resiflex_domain::SharedClock;
use resiflex_domain::device::{DeviceKind, DeviceTransitionError};
use resiflex_providers::{ProviderError, ProviderRegistry};
use resiflex_store::{Db, StoreError};

pub use rules::{BoostRefusal, TestChargeRefusal};

/// What happens after a device was changed: the control loop re-plans it at once.
#[async_trait::async_trait]
pub trait AfterChange: Send + Sync + std::fmt::Debug {
    /// Reacts to a change of the device; failures are the reactor's to log (the change is saved).
    async fn changed(&self, device_id: &str, now: DateTime<Utc>);
}

/// An [`AfterChange`] that does nothing (for callers with no control loop).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReaction;

#[async_trait::async_trait]
impl AfterChange for NoReaction {
    async fn changed(&self, _device_id: &str, _now: DateTime<Utc>) {}
}

/// The device use cases and what they need.
#[derive(Debug, Clone)]
pub struct Devices {
    pub db: Db,
    pub providers: Arc<ProviderRegistry>,
    pub clock: SharedClock,
    pub after_change: Arc<dyn AfterChange>,
}

/// The actions a customer takes on a device, for their errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Suspend,
    Resume,
    Boost,
    CancelBoost,
    TestCharge,
    Deauthenticate,
    SetPreferences,
    SetGridExport,
    SetChargingDurationCap,
}

/// Why an action on a device did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The device's provider cannot be called.
    #[error("Unable to get provider details: {0}.")]
    Unavailable(grants::Unavailable),
    #[error("A {0} device cannot boost charge; only vehicles and chargers can.")]
    CannotBoost(DeviceKind),
    #[error("{}", .0.message())]
    BoostRefused(BoostRefusal),
    #[error("{}", .0.message())]
    TestChargeRefused(TestChargeRefusal),
    /// The action does not apply to the device as it is now.
    #[error("{1}")]
    NotAllowed(Operation, String),
    /// The provider refused or did not answer.
    #[error("The device's provider answered: {1}.")]
    Provider(Operation, ProviderError),
    /// The vendor authorisation could not be given up.
    #[error("{0}.")]
    Release(grants::ReleaseError),
    #[error("The device was changed at the same time; try again.")]
    Conflict(Operation),
    /// The device disappeared while it was being changed.
    #[error("the device no longer exists")]
    Gone,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DeviceError {
    /// A move the device's machines refuse.
    pub fn refused(op: Operation, err: &DeviceTransitionError) -> DeviceError {
        DeviceError::NotAllowed(op, format!("Not now: {err}."))
    }
}
