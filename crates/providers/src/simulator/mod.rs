//! The simulated vendor cloud: vehicles, chargers, heat pumps, home batteries and inverters that
//! behave like real ones, for the sandbox, the demo and tests.
//!
//! Everything is deterministic: time is only ever the `now` callers pass, and the little randomness
//! there is (how far a car drives each day, clouds, the weather, VINs, tokens) comes from the world's
//! seed. The same seed, devices and calls give the same answers, and a world restored from a
//! [`SimulatorProvider::snapshot`] carries on exactly as the original would have.
//!
//! - `spec.rs`: what a simulated device is ([`SimDeviceSpec`]).
//! - `model.rs`: the physics of one device.
//! - `baseline.rs`: the same household unmanaged over a day ([`baseline`]).
//! - `cloud.rs`: the provider itself ([`SimulatorProvider`]): logins (with a password or a pairing
//!   code where the vendor signs customers in that way), consent, grants, serial numbers, faults.

mod baseline;
mod cloud;
mod model;
mod spec;

pub use baseline::{BASELINE_STEP_SECONDS, BASELINE_STEPS, BaselineInterval, baseline};
pub use cloud::{Fault, SignInError, SimulatorProvider, SnapshotError, identifier};
pub use spec::{DailySchedule, OutdoorProfile, SimDeviceSpec};

#[cfg(test)]
mod tests;
