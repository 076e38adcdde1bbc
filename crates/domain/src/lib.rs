//! Pure domain types of ResiFlex: clocks, units and the state machines of accounts and devices.
//!
//! Nothing in this crate performs I/O or reads the system clock directly: time always comes in through a
//! [`Clock`], so tests and the simulator decide what "now" is.

#[macro_use]
mod named;

pub mod account;
pub mod billing;
pub mod calendar;
pub mod catalogue;
pub mod clock;
pub mod command;
pub mod device;
pub mod forecast;
pub mod heat;
pub mod heat_controller;
pub mod identity;
pub mod money;
pub mod payments;
pub mod plan;
pub mod posix_tz;
pub mod preferences;
pub mod product;
pub mod reading;
pub mod supply;
pub mod tariff;
pub mod telemetry;
pub mod units;
pub mod wizard;

pub use account::{AccountNumber, AccountStatus, StatusTransitionError};
pub use clock::{Clock, ManualClock, ScaledClock, SharedClock, SystemClock};
pub use identity::{Country, EmailAddress};
pub use units::{Energy, MinorUnits, Power};
