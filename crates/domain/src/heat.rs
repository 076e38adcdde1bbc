//! Heat pumps and thermostats: what they are asked to do and what they report doing, and the
//! controller vocabulary (zones, zone modes, flow temperature) of a heat-pump controller.
//!
//! Two vocabularies meet here and stay apart: the SmartFlex one ([`HeatPumpMode`],
//! [`HeatPumpActivity`]) that describes the device as a flexible load, and the controller one
//! ([`Zone`], [`ZoneMode`]) of the heat-pump controller's own operations.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What the heat pump is doing as a machine (Kraken's `HeatPumpMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HeatPumpMode {
    /// Producing heat.
    Heating,
    /// Producing cold (reversible units).
    Cooling,
    /// Not running.
    Off,
}

/// Why the heat pump is doing it (Kraken's `HeatPumpActivity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HeatPumpActivity {
    /// Nothing decided yet.
    Pending,
    /// Heating above the customer's set-point ahead of an expensive or dirty stretch.
    PreHeating,
    /// Heating to the customer's set-point.
    ScheduledHeating,
    /// Cooling below the customer's set-point ahead of an expensive or dirty stretch.
    PreCooling,
    /// Cooling to the customer's set-point.
    ScheduledCooling,
}

/// A zone of a heat-pump controller (the controller API's `Zone`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Zone {
    Water,
    #[serde(rename = "ZONE_1")]
    Zone1,
    #[serde(rename = "ZONE_2")]
    Zone2,
    Auxiliary,
}

impl Zone {
    pub const ALL: [Zone; 4] = [Zone::Water, Zone::Zone1, Zone::Zone2, Zone::Auxiliary];

    /// Whether the zone heats water (set-points 40–60 °C) rather than rooms (7–30 °C).
    pub const fn is_water(self) -> bool {
        matches!(self, Zone::Water)
    }
}

/// How a zone is run (the controller API's `Mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ZoneMode {
    /// Heat to the set-point all the time.
    On,
    /// Do not heat.
    Off,
    /// Follow the zone's schedule (and the SmartFlex plan).
    Auto,
    /// Heat to the set-point until the boost ends.
    Boost,
}

/// The flow temperature a heat pump heats its water circuit to: fixed, or following a
/// weather-compensation curve from `curve_min_c` (warm outside) to `curve_max_c` (cold outside).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowTemperature {
    pub weather_compensation: bool,
    pub flow_c: f64,
    pub curve_min_c: f64,
    pub curve_max_c: f64,
}

impl Default for FlowTemperature {
    fn default() -> Self {
        FlowTemperature {
            weather_compensation: true,
            flow_c: 45.0,
            curve_min_c: 30.0,
            curve_max_c: 55.0,
        }
    }
}

/// The outdoor temperatures at which a weather-compensation curve reaches its two ends.
pub const CURVE_WARM_OUTDOOR_C: f64 = 15.0;
pub const CURVE_COLD_OUTDOOR_C: f64 = -5.0;

impl FlowTemperature {
    /// The flow temperature at `outdoor_c`: the fixed value, or the curve's, linear between
    /// [`CURVE_WARM_OUTDOOR_C`] and [`CURVE_COLD_OUTDOOR_C`] and flat beyond them.
    pub fn at(&self, outdoor_c: f64) -> f64 {
        if !self.weather_compensation {
            return self.flow_c;
        }
        let span = CURVE_WARM_OUTDOOR_C - CURVE_COLD_OUTDOOR_C;
        let cold = ((CURVE_WARM_OUTDOOR_C - outdoor_c) / span).clamp(0.0, 1.0);
        self.curve_min_c + (self.curve_max_c - self.curve_min_c) * cold
    }
}

/// A zone's operation as last asked for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneOperation {
    pub zone: Zone,
    pub mode: ZoneMode,
    pub setpoint_c: Option<f64>,
    /// When a boost ends.
    pub end: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_is_flat_beyond_its_ends_and_linear_between() {
        let flow = FlowTemperature::default();
        assert_eq!(flow.at(20.0), 30.0);
        assert_eq!(flow.at(-10.0), 55.0);
        assert!((flow.at(5.0) - 42.5).abs() < 1e-9);
        let fixed = FlowTemperature {
            weather_compensation: false,
            ..flow
        };
        assert_eq!(fixed.at(-10.0), 45.0);
    }

    #[test]
    fn zones_use_the_controller_names() {
        assert_eq!(
            serde_json::to_string(&Zone::Zone1).ok().as_deref(),
            Some("\"ZONE_1\"")
        );
        assert_eq!(
            serde_json::to_string(&Zone::Water).ok().as_deref(),
            Some("\"WATER\"")
        );
    }
}
