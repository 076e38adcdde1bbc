//! The energy-data use cases of ResiFlex: what the supplier sells (products and their tariffs,
//! standing charges and unit rates), with every rule checked before anything is stored. The API
//! maps GraphQL and REST onto this crate; the command line and the demo call it directly.

#[cfg(test)]
mod fixtures;
pub mod products;
pub mod readings;
pub mod supply;

pub use products::EnergyError;
