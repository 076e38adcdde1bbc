//! The server's integration tests, in one binary so that the server is linked once: each module
//! starts the real server on a random port (`harness::TestApp`) and speaks HTTP, WebSocket or OCPP
//! to it, on SQLite or, with `TEST_DATABASE_URL`, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

mod charger;
mod harness;

mod accounts;
mod agreements;
mod auth_matrix;
mod billing;
mod clients;
mod crash_restart;
mod demo;
mod devices;
mod flexibility;
mod heat_pumps;
mod http_surface;
mod introspection;
mod ledgers;
mod lifecycle;
mod measurements;
mod ocpp;
mod ocpp_interop;
mod onboarding;
mod onboarding_steps;
mod payments;
mod planned_dispatches;
mod products_rest;
mod providers;
mod query_complexity;
mod readings_import;
mod security_credentials;
mod security_devices;
mod security_queries;
mod security_secrets;
mod security_transport;
mod sessions;
mod sign_in;
mod tariffs;
