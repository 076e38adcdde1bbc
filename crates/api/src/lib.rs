//! The Kraken-compatible GraphQL API of ResiFlex: the only crate that knows GraphQL.
//!
//! Conventions live in one place each: error codes in [`errors`], scalars in [`scalars`], pagination in
//! [`connection`], request limits in [`limits`], the enums in [`enums`]. Operations live in [`ops`],
//! one module per group, and the HTTP surface in [`http`].

pub mod auth;
pub mod connection;
pub mod context;
pub mod enums;
pub mod errors;
pub mod http;
pub mod limits;
pub mod ops;
pub mod rest;
pub mod sandbox;
pub mod scalars;
pub mod schema;

pub use context::{ApiContext, RequestMeta};
pub use http::{AppState, HttpConfig, Metrics, router};
pub use limits::QueryLimits;
pub use schema::ResiflexSchema;
