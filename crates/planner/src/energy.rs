//! The household's side of a plan: time slots with their prices and the household's own flows
//! (base load, solar), the connection to the grid, and a home battery's parameters. Shared by the
//! battery planner ([`crate::battery`]) and the joint household planner ([`crate::household`]).
//!
//! Units: power in W, energy in Wh, prices in currency units per kWh (the caller turns minor
//! units into these), carbon in g/kWh. Powers are averages over a slot.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One stretch of time with constant prices and household flows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnergySlot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// What a kWh taken from the grid costs.
    pub import_price: f64,
    /// What a kWh fed into the grid earns (may be negative, never above the import price in a
    /// sensible tariff; the planners do not rely on that).
    pub export_price: f64,
    pub carbon_g_per_kwh: Option<f64>,
    /// What the rest of the household draws, W.
    pub base_load_w: f64,
    /// What the household's panels produce, W.
    pub solar_w: f64,
}

impl EnergySlot {
    /// The slot's length, hours (0 for a slot that ends before it starts).
    pub fn hours(&self) -> f64 {
        ((self.end - self.start).num_milliseconds().max(0) as f64) / 3.6e6
    }

    /// The base load less solar: positive when the household imports without any flexible device.
    pub fn net_load_w(&self) -> f64 {
        self.base_load_w - self.solar_w
    }
}

/// The household's connection to the grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GridConnection {
    /// The most the connection carries either way, W (a main fuse: 60 A × 230 V ≈ 13.8 kW).
    pub limit_w: f64,
    /// Whether a battery may discharge into the grid (the device's `FlexGridExportStatus` is
    /// ENABLED). Solar surplus is exported either way.
    pub battery_export: bool,
    /// Currency per gram of CO₂ added to the import price (0 ignores carbon).
    pub carbon_weight: f64,
}

impl Default for GridConnection {
    fn default() -> Self {
        GridConnection {
            limit_w: 13_800.0,
            battery_export: false,
            carbon_weight: 0.0,
        }
    }
}

impl GridConnection {
    /// The import price of `slot` with carbon weighed in.
    pub fn effective_import_price(&self, slot: &EnergySlot) -> f64 {
        slot.import_price + self.carbon_weight * slot.carbon_g_per_kwh.unwrap_or(0.0)
    }

    /// What the household pays over `slot` when it exchanges `grid_w` with the grid (import
    /// positive), currency units.
    pub fn cost(&self, slot: &EnergySlot, grid_w: f64) -> f64 {
        let kwh = grid_w * slot.hours() / 1000.0;
        if kwh >= 0.0 {
            kwh * self.effective_import_price(slot)
        } else {
            kwh * slot.export_price
        }
    }
}

/// A home battery (or the battery behind a hybrid inverter).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatteryModel {
    /// Usable capacity, Wh.
    pub capacity_wh: f64,
    /// The state of charge now, 0–100.
    pub soc_pct: f64,
    /// The lowest state of charge the battery may be taken to, 0–100.
    pub min_soc_pct: f64,
    /// The highest, 0–100.
    pub max_soc_pct: f64,
    /// The customer's reserve: kept for outages, never planned below, 0–100.
    pub reserve_pct: f64,
    /// The state of charge wanted at the end of the horizon (at least), 0–100; `None` leaves
    /// the end free (the energy left is valued at [`BatteryModel::end_value_per_kwh`]).
    pub end_soc_pct: Option<f64>,
    pub max_charge_w: f64,
    pub max_discharge_w: f64,
    /// Share of the energy drawn that is stored, 0–1.
    pub charge_efficiency: f64,
    /// Share of the energy taken out of storage that reaches the house, 0–1.
    pub discharge_efficiency: f64,
    /// Wear, currency units per kWh charged or discharged (measured at the battery's terminals).
    pub degradation_per_kwh: f64,
    /// What a kWh left stored at the end is worth, currency units.
    pub end_value_per_kwh: f64,
    /// The most slots in a row the battery may be driven (charging or discharging); `None` for
    /// no cap (`isChargingDurationCapped` DISABLED).
    pub max_continuous_slots: Option<usize>,
}

impl Default for BatteryModel {
    /// A 13.5 kWh, 5 kW battery at half charge, 95 % each way, with a 10 % reserve.
    fn default() -> Self {
        BatteryModel {
            capacity_wh: 13_500.0,
            soc_pct: 50.0,
            min_soc_pct: 0.0,
            max_soc_pct: 100.0,
            reserve_pct: 10.0,
            end_soc_pct: None,
            max_charge_w: 5_000.0,
            max_discharge_w: 5_000.0,
            charge_efficiency: 0.95,
            discharge_efficiency: 0.95,
            degradation_per_kwh: 0.0,
            end_value_per_kwh: 0.0,
            max_continuous_slots: None,
        }
    }
}

impl BatteryModel {
    /// The lowest state of charge a plan may reach: the larger of the minimum and the reserve.
    pub fn floor_pct(&self) -> f64 {
        self.min_soc_pct.max(self.reserve_pct).clamp(0.0, 100.0)
    }

    /// The highest state of charge a plan may reach.
    pub fn ceiling_pct(&self) -> f64 {
        self.max_soc_pct.clamp(self.floor_pct(), 100.0)
    }
}
