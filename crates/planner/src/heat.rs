//! A heat pump (or a thermostat's heating and cooling) in the household's plan: what it is, the
//! comfort band of each slot, and what the plan asks of it per slot. The plan itself is made by
//! the household planner ([`crate::household`]), alone or with the home's other devices; this
//! module holds the heat pump's own rules: the indoor temperature a slot's power leads to (the
//! building's exact 1R1C step, [`crate::thermal::Building`], with heat = COP × power), the
//! activity a slot's work is reported as, and the thermostat the planner falls back on.
//!
//! Units: power in W, temperatures in °C, comfort penalties in currency units per °C·h.

pub(crate) mod exact;

use chrono::{DateTime, Utc};
use resiflex_domain::heat::HeatPumpActivity;

use crate::energy::EnergySlot;
use crate::thermal::{Building, CopModel};

/// Whether the heat pump heats or cools the home.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThermalMode {
    Heat,
    Cool,
}

/// The comfort band of one slot and the outdoor temperature expected in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComfortSlot {
    /// The indoor temperature at the end of the slot must not be below this, °C.
    pub min_c: f64,
    /// ... nor above this, °C.
    pub max_c: f64,
    /// The customer's set-point: HEAT holds at least it (`min_c`), COOL at most it (`max_c`).
    pub setpoint_c: f64,
    pub outdoor_c: f64,
}

/// A heat pump and the home it heats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeatPumpModel {
    pub mode: ThermalMode,
    pub building: Building,
    pub cop: CopModel,
    /// The indoor temperature now, °C.
    pub indoor_c: f64,
    /// The most electrical power it draws, W.
    pub max_power_w: f64,
    /// The least electrical power it draws while running (its modulation floor), W.
    pub min_power_w: f64,
    /// Once started it runs at least this many slots; once stopped it rests at least this many.
    pub min_run_slots: usize,
    pub min_off_slots: usize,
    /// Positive: it has been running for this many slots; negative: resting for this many.
    pub running_for_slots: i64,
    /// What a degree outside the band for an hour costs, currency units: large, so that comfort
    /// is kept whenever the heat pump can keep it.
    pub comfort_penalty_per_c_h: f64,
}

impl HeatPumpModel {
    /// The heat (W, negative when cooling) one watt of electricity delivers at `outdoor_c`.
    pub fn heat_per_watt(&self, outdoor_c: f64) -> f64 {
        match self.mode {
            ThermalMode::Heat => self.cop.heating(outdoor_c),
            ThermalMode::Cool => -self.cop.cooling(outdoor_c),
        }
    }

    /// Whether every number is usable.
    pub fn is_valid(&self) -> bool {
        self.building.is_valid()
            && [
                self.indoor_c,
                self.max_power_w,
                self.min_power_w,
                self.comfort_penalty_per_c_h,
            ]
            .iter()
            .all(|v| v.is_finite())
            && self.max_power_w >= 0.0
            && (0.0..=self.max_power_w).contains(&self.min_power_w)
            && self.comfort_penalty_per_c_h >= 0.0
    }
}

/// What the plan asks of the heat pump in one slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeatSlotPlan {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Electrical power, W.
    pub power_w: f64,
    /// Heat delivered (negative: removed), W.
    pub heat_w: f64,
    /// The indoor temperature expected at the end of the slot, °C.
    pub indoor_end_c: f64,
    pub activity: HeatPumpActivity,
    /// The temperature the plan heats (cools) to in this slot: where it ends while running, the
    /// customer's set-point while resting, °C.
    pub setpoint_c: f64,
}

/// How far past the set-point the plan must go for its work to count as pre-heating, K.
const PRE_MARGIN_C: f64 = 0.1;

/// What a slot's work is reported as.
pub fn activity(
    mode: ThermalMode,
    power_w: f64,
    indoor_end_c: f64,
    setpoint_c: f64,
) -> HeatPumpActivity {
    if power_w <= 0.5 {
        return HeatPumpActivity::Pending;
    }
    match mode {
        ThermalMode::Heat if indoor_end_c > setpoint_c + PRE_MARGIN_C => {
            HeatPumpActivity::PreHeating
        }
        ThermalMode::Heat => HeatPumpActivity::ScheduledHeating,
        ThermalMode::Cool if indoor_end_c < setpoint_c - PRE_MARGIN_C => {
            HeatPumpActivity::PreCooling
        }
        ThermalMode::Cool => HeatPumpActivity::ScheduledCooling,
    }
}

/// Follows the building from `model.indoor_c` through `slots` with the given electrical power
/// per slot, W.
pub fn simulate(
    model: &HeatPumpModel,
    slots: &[EnergySlot],
    comfort: &[ComfortSlot],
    power_w: impl IntoIterator<Item = f64>,
) -> Vec<HeatSlotPlan> {
    let mut indoor = model.indoor_c;
    slots
        .iter()
        .zip(comfort)
        .zip(power_w)
        .map(|((slot, band), power_w)| {
            let heat_w = power_w * model.heat_per_watt(band.outdoor_c);
            indoor = model
                .building
                .step(indoor, band.outdoor_c, heat_w, slot.hours());
            HeatSlotPlan {
                start: slot.start,
                end: slot.end,
                power_w,
                heat_w,
                indoor_end_c: indoor,
                activity: activity(model.mode, power_w, indoor, band.setpoint_c),
                setpoint_c: if power_w > 0.5 {
                    indoor
                } else {
                    band.setpoint_c
                },
            }
        })
        .collect()
}

/// A plain thermostat: each slot, the power that brings the home to the set-point by its end
/// (within the heat pump's power; at least its modulation floor while running). What the
/// household planner falls back on, and the unmanaged baseline it is measured against.
pub fn thermostat(
    model: &HeatPumpModel,
    slots: &[EnergySlot],
    comfort: &[ComfortSlot],
) -> Vec<HeatSlotPlan> {
    let mut indoor = model.indoor_c;
    let mut powers = Vec::with_capacity(slots.len());
    for (slot, band) in slots.iter().zip(comfort) {
        let step = model.building.step_coefficients(slot.hours());
        let per_watt = model.heat_per_watt(band.outdoor_c);
        let drift = step.a * indoor + step.b * band.outdoor_c;
        let wanted = if step.c * per_watt != 0.0 {
            (band.setpoint_c - drift) / (step.c * per_watt)
        } else {
            0.0
        };
        let power = if wanted.is_finite() && wanted > 0.5 {
            wanted.clamp(model.min_power_w, model.max_power_w)
        } else {
            0.0
        };
        indoor = drift + step.c * per_watt * power;
        powers.push(power);
    }
    simulate(model, slots, comfort, powers)
}

/// How far outside its band each planned slot ends, °C·h.
pub fn comfort_violation_c_h(
    planned: &[HeatSlotPlan],
    comfort: &[ComfortSlot],
    slots: &[EnergySlot],
) -> f64 {
    planned
        .iter()
        .zip(comfort)
        .zip(slots)
        .map(|((plan, band), slot)| {
            let outside = (band.min_c - plan.indoor_end_c)
                .max(plan.indoor_end_c - band.max_c)
                .max(0.0);
            outside * slot.hours()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::{Duration, TimeZone};

    use super::*;

    fn slots(n: i64) -> Vec<EnergySlot> {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        (0..n)
            .map(|i| EnergySlot {
                start: t0 + Duration::minutes(30 * i),
                end: t0 + Duration::minutes(30 * (i + 1)),
                import_price: 20.0,
                export_price: 5.0,
                carbon_g_per_kwh: None,
                base_load_w: 300.0,
                solar_w: 0.0,
            })
            .collect()
    }

    fn model(indoor_c: f64) -> HeatPumpModel {
        HeatPumpModel {
            mode: ThermalMode::Heat,
            building: Building::default(),
            cop: CopModel::default(),
            indoor_c,
            max_power_w: 3_000.0,
            min_power_w: 900.0,
            min_run_slots: 2,
            min_off_slots: 1,
            running_for_slots: -1,
            comfort_penalty_per_c_h: 1_000.0,
        }
    }

    fn band(outdoor_c: f64) -> ComfortSlot {
        ComfortSlot {
            min_c: 20.0,
            max_c: 23.0,
            setpoint_c: 20.0,
            outdoor_c,
        }
    }

    #[test]
    fn a_thermostat_holds_the_set_point_when_it_can() {
        let slots = slots(8);
        let comfort = vec![band(2.0); 8];
        let planned = thermostat(&model(19.0), &slots, &comfort);
        // A cold start: more power first, then just what holds 20 °C.
        assert!(
            planned[0].power_w > planned[3].power_w + 500.0,
            "{planned:?}"
        );
        for plan in &planned {
            assert!((plan.indoor_end_c - 20.0).abs() < 1e-6, "{plan:?}");
            assert!(plan.power_w >= 900.0 && plan.power_w < 3_000.0);
            assert_eq!(plan.activity, HeatPumpActivity::ScheduledHeating);
        }
        assert!(comfort_violation_c_h(&planned, &comfort, &slots) < 1e-9);
    }

    #[test]
    fn a_warm_home_rests_and_cools_towards_the_set_point() {
        let slots = slots(2);
        let comfort = vec![band(10.0); 2];
        let planned = thermostat(&model(22.0), &slots, &comfort);
        assert_eq!(planned[0].power_w, 0.0);
        assert_eq!(planned[0].activity, HeatPumpActivity::Pending);
        assert_eq!(planned[0].setpoint_c, 20.0);
        assert!(planned[0].indoor_end_c < 22.0 && planned[0].indoor_end_c > 20.0);
    }

    #[test]
    fn activities_name_pre_heating_and_pre_cooling() {
        assert_eq!(
            activity(ThermalMode::Heat, 1_000.0, 21.0, 20.0),
            HeatPumpActivity::PreHeating
        );
        assert_eq!(
            activity(ThermalMode::Heat, 1_000.0, 20.05, 20.0),
            HeatPumpActivity::ScheduledHeating
        );
        assert_eq!(
            activity(ThermalMode::Cool, 1_000.0, 23.0, 24.0),
            HeatPumpActivity::PreCooling
        );
        assert_eq!(
            activity(ThermalMode::Cool, 1_000.0, 24.0, 24.0),
            HeatPumpActivity::ScheduledCooling
        );
        assert_eq!(
            activity(ThermalMode::Cool, 0.0, 24.0, 24.0),
            HeatPumpActivity::Pending
        );
    }

    #[test]
    fn cooling_removes_heat() {
        let mut cool = model(26.0);
        cool.mode = ThermalMode::Cool;
        let slots = slots(1);
        let comfort = [ComfortSlot {
            min_c: 22.0,
            max_c: 24.0,
            setpoint_c: 24.0,
            outdoor_c: 30.0,
        }];
        let planned = simulate(&cool, &slots, &comfort, [2_000.0]);
        assert!(planned[0].heat_w < 0.0);
        assert!(planned[0].indoor_end_c < 26.0);
    }
}
