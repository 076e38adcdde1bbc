//! Heat: a building that gains and loses heat (one thermal resistance, one capacitance), and a heat
//! pump whose coefficient of performance (COP) depends on the outdoor and flow temperatures.
//!
//! ## Building (1R1C)
//! `C · dT/dt = Q − UA · (T − T_out)`, with `UA` the heat loss in W/K (`1/R`), `C` the thermal
//! mass in Wh/K and `Q` the heat delivered (W, negative when cooling). Over a step of `h` hours
//! with `Q` and `T_out` constant the solution is exact:
//! `T(h) = T_eq + (T(0) − T_eq) · a` with `T_eq = T_out + Q / UA` and `a = exp(−h · UA / C)`.
//! It is linear in `T(0)`, `T_out` and `Q`, which is what a linear programme needs
//! ([`Building::step_coefficients`]).
//!
//! ## Learning the building
//! [`Building::fit`] estimates `UA` and `C` from readings (indoor and outdoor temperature and the
//! heat delivered between two readings): for short steps `ΔT/h ≈ Q/C − (UA/C)(T − T_out)`, two
//! unknowns `1/C` and `UA/C` fitted by least squares without an intercept. Too few readings, no
//! variation, or a fit without physical meaning give `None`, and the caller keeps its prior.
//!
//! ## COP
//! A fraction of the Carnot COP: heating `η · T_flow / (T_flow − T_out)` and cooling
//! `η · T_flow / (T_out − T_flow)` in kelvin, with the lift never below [`MIN_LIFT_K`], the COP
//! between 1 and `max_cop`, and a defrost loss around freezing (frost forms on the outdoor coil
//! between about −7 °C and +5 °C and melting it costs heat), largest at [`DEFROST_PEAK_C`].
//! The flow temperature comes from the heat pump's own setting ([`FlowTemperature`]): fixed, or a
//! weather-compensation curve, which is why a heat pump is more efficient in mild weather.

use resiflex_domain::heat::FlowTemperature;
use serde::{Deserialize, Serialize};

/// The smallest temperature lift a COP is computed for, K.
pub const MIN_LIFT_K: f64 = 5.0;
/// Where defrosting costs the most, °C outdoors.
pub const DEFROST_PEAK_C: f64 = 1.0;
/// How far either side of [`DEFROST_PEAK_C`] defrosting still costs something, K.
pub const DEFROST_HALF_WIDTH_K: f64 = 6.0;
const KELVIN: f64 = 273.15;

/// A building's heat loss and thermal mass.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Building {
    /// Heat lost per kelvin between inside and outside, W/K (`UA`, the inverse of `R`).
    pub heat_loss_w_per_k: f64,
    /// Heat needed to warm the building by one kelvin, Wh/K (`C`).
    pub thermal_mass_wh_per_k: f64,
}

impl Default for Building {
    /// A typical insulated semi-detached house: 150 W/K and about 2.8 kWh/K (a time constant of
    /// about 18.5 hours).
    fn default() -> Self {
        Building {
            heat_loss_w_per_k: 150.0,
            thermal_mass_wh_per_k: 2_778.0,
        }
    }
}

/// One stretch of readings to learn a building from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThermalSample {
    pub hours: f64,
    pub indoor_start_c: f64,
    pub indoor_end_c: f64,
    pub outdoor_c: f64,
    /// Heat delivered (average over the stretch), W; negative when cooling.
    pub heat_w: f64,
}

/// `T(end) = a · T(start) + b · T_out + c · Q` for one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepCoefficients {
    pub a: f64,
    pub b: f64,
    /// Per watt of heat delivered.
    pub c: f64,
}

impl Building {
    /// Whether the parameters describe a building (finite and positive).
    pub fn is_valid(&self) -> bool {
        self.heat_loss_w_per_k.is_finite()
            && self.heat_loss_w_per_k > 0.0
            && self.thermal_mass_wh_per_k.is_finite()
            && self.thermal_mass_wh_per_k > 0.0
    }

    /// The time constant `C / UA`, hours.
    pub fn time_constant_hours(&self) -> f64 {
        self.thermal_mass_wh_per_k / self.heat_loss_w_per_k
    }

    /// The exact step of `hours` as coefficients of a linear map.
    pub fn step_coefficients(&self, hours: f64) -> StepCoefficients {
        let a = (-hours.max(0.0) / self.time_constant_hours()).exp();
        StepCoefficients {
            a,
            b: 1.0 - a,
            c: (1.0 - a) / self.heat_loss_w_per_k,
        }
    }

    /// The indoor temperature after `hours` with `heat_w` delivered and `outdoor_c` outside.
    pub fn step(&self, indoor_c: f64, outdoor_c: f64, heat_w: f64, hours: f64) -> f64 {
        let k = self.step_coefficients(hours);
        k.a * indoor_c + k.b * outdoor_c + k.c * heat_w
    }

    /// The heat that holds `indoor_c` with `outdoor_c` outside, W (negative: cooling).
    pub fn holding_heat_w(&self, indoor_c: f64, outdoor_c: f64) -> f64 {
        self.heat_loss_w_per_k * (indoor_c - outdoor_c)
    }

    /// The building that best explains `samples` (least squares), if they determine one.
    pub fn fit(samples: &[ThermalSample]) -> Option<Building> {
        // y = x1 · (1/C) + x2 · (UA/C), with x1 = Q and x2 = T_out − T (mid-step).
        let (mut s11, mut s12, mut s22, mut s1y, mut s2y, mut n) = (0.0, 0.0, 0.0, 0.0, 0.0, 0);
        for sample in samples {
            let values = [
                sample.hours,
                sample.indoor_start_c,
                sample.indoor_end_c,
                sample.outdoor_c,
                sample.heat_w,
            ];
            if values.iter().any(|v| !v.is_finite()) || sample.hours <= 0.0 || sample.hours > 2.0 {
                continue;
            }
            let y = (sample.indoor_end_c - sample.indoor_start_c) / sample.hours;
            let x1 = sample.heat_w;
            let x2 = sample.outdoor_c - (sample.indoor_start_c + sample.indoor_end_c) / 2.0;
            s11 += x1 * x1;
            s12 += x1 * x2;
            s22 += x2 * x2;
            s1y += x1 * y;
            s2y += x2 * y;
            n += 1;
        }
        let det = s11 * s22 - s12 * s12;
        if n < 8 || det.abs() <= 1e-9 * (s11 * s22).max(1e-12) {
            return None;
        }
        let inverse_mass = (s1y * s22 - s2y * s12) / det;
        let loss_over_mass = (s11 * s2y - s12 * s1y) / det;
        if !(inverse_mass > 0.0 && loss_over_mass > 0.0) {
            return None;
        }
        let building = Building {
            heat_loss_w_per_k: loss_over_mass / inverse_mass,
            thermal_mass_wh_per_k: 1.0 / inverse_mass,
        };
        // A fit outside any real house (a tent or a castle) is noise, not a building.
        let plausible = (10.0..=2_000.0).contains(&building.heat_loss_w_per_k)
            && (100.0..=100_000.0).contains(&building.thermal_mass_wh_per_k);
        plausible.then_some(building)
    }
}

/// How a heat pump turns electricity into heat (or cold).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CopModel {
    /// The share of the Carnot COP reached, typically 0.35–0.5.
    pub carnot_efficiency: f64,
    pub max_cop: f64,
    /// The flow temperature while heating.
    pub flow: FlowTemperature,
    /// The chilled-water temperature while cooling, °C.
    pub cooling_flow_c: f64,
    /// The share of heat lost to defrosting at [`DEFROST_PEAK_C`].
    pub defrost_loss: f64,
}

impl Default for CopModel {
    fn default() -> Self {
        CopModel {
            carnot_efficiency: 0.45,
            max_cop: 7.0,
            flow: FlowTemperature::default(),
            cooling_flow_c: 18.0,
            defrost_loss: 0.1,
        }
    }
}

impl CopModel {
    fn bounded(&self, cop: f64) -> f64 {
        if cop.is_finite() {
            cop.clamp(1.0, self.max_cop.max(1.0))
        } else {
            1.0
        }
    }

    /// The share of heat left after defrosting at `outdoor_c`.
    pub fn defrost_factor(&self, outdoor_c: f64) -> f64 {
        let distance = ((outdoor_c - DEFROST_PEAK_C) / DEFROST_HALF_WIDTH_K).abs();
        1.0 - self.defrost_loss.clamp(0.0, 0.5) * (1.0 - distance).max(0.0)
    }

    /// The heating COP at `outdoor_c` with a flow temperature of `flow_c`.
    pub fn heating_at_flow(&self, outdoor_c: f64, flow_c: f64) -> f64 {
        let flow_k = flow_c + KELVIN;
        let lift = (flow_c - outdoor_c).max(MIN_LIFT_K);
        self.bounded(self.carnot_efficiency * flow_k / lift * self.defrost_factor(outdoor_c))
    }

    /// The heating COP at `outdoor_c`, with the flow temperature the heat pump's setting gives.
    pub fn heating(&self, outdoor_c: f64) -> f64 {
        self.heating_at_flow(outdoor_c, self.flow.at(outdoor_c))
    }

    /// The cooling COP (cold delivered per unit of electricity) at `outdoor_c`.
    pub fn cooling(&self, outdoor_c: f64) -> f64 {
        let flow_k = self.cooling_flow_c + KELVIN;
        let lift = (outdoor_c - self.cooling_flow_c).max(MIN_LIFT_K);
        self.bounded(self.carnot_efficiency * flow_k / lift)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_step_matches_the_differential_equation() {
        let house = Building::default();
        // Integrate C dT/dt = Q − UA (T − Tout) in small Euler steps and compare.
        let (mut t, outdoor, heat) = (18.0, 2.0, 4_000.0);
        let dt = 1.0 / 3600.0;
        for _ in 0..3600 * 3 {
            t +=
                dt * (heat - house.heat_loss_w_per_k * (t - outdoor)) / house.thermal_mass_wh_per_k;
        }
        let exact = house.step(18.0, outdoor, heat, 3.0);
        assert!((exact - t).abs() < 1e-3, "{exact} vs {t}");
        // With the holding heat the temperature stays.
        let hold = house.holding_heat_w(20.0, 5.0);
        assert!((house.step(20.0, 5.0, hold, 7.0) - 20.0).abs() < 1e-9);
    }

    #[test]
    fn cop_follows_the_worked_example_and_its_bounds() {
        let fixed = CopModel {
            carnot_efficiency: 0.4,
            defrost_loss: 0.0,
            flow: FlowTemperature {
                weather_compensation: false,
                flow_c: 35.0,
                ..FlowTemperature::default()
            },
            ..CopModel::default()
        };
        // 35 °C flow at 5 °C outdoors: 0.4 × 308.15 / 30 ≈ 4.1.
        assert!((fixed.heating(5.0) - 4.108_666).abs() < 1e-3);
        // No lift below the minimum: never an infinite COP.
        assert_eq!(fixed.heating(34.0), fixed.max_cop);
        // Colder is worse; weather compensation helps in mild weather.
        let curve = CopModel::default();
        assert!(curve.heating(-5.0) < curve.heating(10.0));
        let hot_fixed = CopModel {
            flow: FlowTemperature {
                weather_compensation: false,
                flow_c: 55.0,
                ..FlowTemperature::default()
            },
            ..CopModel::default()
        };
        assert!(curve.heating(12.0) > hot_fixed.heating(12.0));
        // Defrosting costs most just above freezing.
        assert!(curve.defrost_factor(1.0) < curve.defrost_factor(10.0));
        assert_eq!(curve.defrost_factor(20.0), 1.0);
        // Cooling is easier when it is less hot outside.
        assert!(curve.cooling(30.0) > curve.cooling(40.0));
    }

    proptest! {
        #[test]
        fn the_fit_recovers_a_building_from_its_own_readings(
            loss in 60.0f64..400.0,
            mass in 1_000.0f64..8_000.0,
            seed in 0u64..1000,
        ) {
            let truth = Building { heat_loss_w_per_k: loss, thermal_mass_wh_per_k: mass };
            let mut samples = Vec::new();
            let mut indoor = 19.0;
            for i in 0..96u64 {
                let outdoor = 5.0 + ((i + seed) % 17) as f64 * 0.5;
                let heat = if (i + seed) % 3 == 0 { 6_000.0 } else { 500.0 };
                let end = truth.step(indoor, outdoor, heat, 0.25);
                samples.push(ThermalSample {
                    hours: 0.25, indoor_start_c: indoor, indoor_end_c: end, outdoor_c: outdoor, heat_w: heat,
                });
                indoor = end;
            }
            let fitted = Building::fit(&samples).unwrap();
            prop_assert!((fitted.heat_loss_w_per_k / loss - 1.0).abs() < 0.05, "{fitted:?} vs {truth:?}");
            prop_assert!((fitted.thermal_mass_wh_per_k / mass - 1.0).abs() < 0.05, "{fitted:?} vs {truth:?}");
        }
    }

    #[test]
    fn a_fit_without_variation_is_refused() {
        let flat = ThermalSample {
            hours: 0.25,
            indoor_start_c: 20.0,
            indoor_end_c: 20.0,
            outdoor_c: 20.0,
            heat_w: 0.0,
        };
        assert_eq!(Building::fit(&[flat; 50]), None);
        assert_eq!(Building::fit(&[]), None);
    }
}
