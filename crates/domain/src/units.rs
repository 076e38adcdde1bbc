//! Quantities with explicit units. Money is kept in integer minor units (pence, cents); energy in
//! watt-hours and power in watts, both integers, so sums never drift.

use serde::{Deserialize, Serialize};

/// An amount of money in the currency's minor unit (for example pence or cents).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct MinorUnits(pub i64);

/// An amount of energy, in watt-hours.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Energy {
    pub wh: i64,
}

impl Energy {
    pub const fn from_wh(wh: i64) -> Self {
        Self { wh }
    }

    /// The energy in kilowatt-hours, as clients are shown it.
    pub fn kwh(self) -> f64 {
        self.wh as f64 / 1000.0
    }
}

/// A rate of energy flow, in watts. Positive is import (charging), negative is export.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Power {
    pub w: i64,
}

impl Power {
    pub const fn from_w(w: i64) -> Self {
        Self { w }
    }

    pub fn kw(self) -> f64 {
        self.w as f64 / 1000.0
    }

    /// The energy delivered at this power over `minutes`, rounded to the nearest watt-hour.
    pub fn over_minutes(self, minutes: i64) -> Energy {
        Energy::from_wh((self.w * minutes + 30).div_euclid(60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_over_time_is_energy() {
        assert_eq!(
            Power::from_w(7_400).over_minutes(30),
            Energy::from_wh(3_700)
        );
        assert_eq!(Power::from_w(11_000).over_minutes(15).kwh(), 2.75);
        assert_eq!(Power::from_w(1).over_minutes(1), Energy::from_wh(0));
    }
}
