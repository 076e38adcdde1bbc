//! Values with units that several groups of operations answer with.

use async_graphql::SimpleObject;

use crate::enums::EnergyUnit;
use crate::scalars::Decimal;

/// An amount of energy.
#[derive(SimpleObject, Debug, Clone)]
pub struct Energy {
    /// Null when the amount is not known (a device that does not meter it).
    pub value: Option<Decimal>,
    pub unit: EnergyUnit,
}
