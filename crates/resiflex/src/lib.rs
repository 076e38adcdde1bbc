//! The ResiFlex server: configuration, telemetry and the wiring of storage, providers and the API.
//! `main.rs` is only the command line on top of this.

pub mod admin;
pub mod bench;
pub mod bench_billing;
pub mod bench_fleet;
pub mod bench_ocpp;
pub mod bench_planner;
pub mod bench_readings;
pub mod billing;
pub mod config;
pub mod demo;
pub mod ledger;
pub mod payments;
pub mod prices;
pub mod products;
pub mod providers;
pub mod readings;
pub mod secrets;
pub mod server;
pub mod telemetry;
pub mod transport;
pub mod weather;
