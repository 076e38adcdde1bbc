//! Persistence for ResiFlex: the only crate that knows SQL.
//!
//! One [`Db`] handle speaks to either SQLite (the embedded default) or PostgreSQL (production). Queries are
//! written once, with `$1`-style placeholders that both engines accept, and run against whichever pool is
//! open through the [`on_db!`] and [`on_tx!`] macros. Each backend has its own versioned migrations under
//! `migrations/`, applied at start by [`Db::migrate`].

pub mod accounts;
pub mod billing;
pub mod clock;
pub mod commands;
mod db;
pub mod devices;
mod documents;
pub mod events;
pub mod forecasts;
pub mod heat_pumps;
pub mod identity;
pub mod ledgers;
pub mod ocpp;
pub mod payments;
pub mod plans;
pub mod products;
pub mod readings;
pub mod secrets;
pub mod seed;
pub mod sessions;
pub mod supply;
pub mod tariffs;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod thermal;
pub mod wizards;
pub mod zones;

pub use db::{Backend, Db, DbOptions, Pool, PoolStats, StoreError, Tx, redact_url};

/// A stored value that does not read back as its domain type: [`StoreError::Corrupt`] naming
/// `what`, never a guess.
pub(crate) fn corrupt<T, E: std::fmt::Display>(
    what: &str,
    result: Result<T, E>,
) -> Result<T, StoreError> {
    result.map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}
