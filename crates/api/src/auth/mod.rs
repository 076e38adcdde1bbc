//! Who is calling, and what they may see. Every resolver goes through [`authorise`] and the account
//! guards in [`access`]; nothing else decides access.
//!
//! - An organisation (signed in with its secret key) sees only the accounts it created, and their
//!   users, properties and devices.
//! - An account user (signed in with a password, API key, pre-signed key or refresh token) sees only
//!   the accounts they belong to.
//! - An anonymous caller reaches only `obtainKrakenToken` and introspection.

pub mod access;
pub mod credentials;
pub mod throttle;
pub mod tokens;

pub use access::{Caller, authorise};
