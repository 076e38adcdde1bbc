//! Learning each heat pump's building (heat loss and thermal mass) from its own readings, so that
//! its plans use the house it really heats rather than a typical one.
//!
//! Once a day per heat pump, the last [`WINDOW`] of readings is cut into stretches of about
//! [`STRETCH`] (a reading every few seconds is far too noisy for a temperature difference), each
//! giving the indoor temperature at its ends, the mean outdoor temperature and the mean heat
//! delivered ([`Telemetry::heat_output_w`]; readings without it are skipped). The planner's
//! least-squares fit ([`Building::fit`]) turns them into a building; a fit it refuses (too few
//! stretches, no variation, nothing physical) leaves the previous model, or the typical house.

use chrono::{DateTime, Duration, Utc};
use resiflex_planner::thermal::{Building, ThermalSample};
use resiflex_providers::Telemetry;
use resiflex_store::thermal::{self, ThermalModel};
use resiflex_store::{Db, StoreError};

/// How far back readings are used.
pub const WINDOW: Duration = Duration::hours(48);
/// The length of one stretch.
pub const STRETCH: Duration = Duration::minutes(15);
/// How often a heat pump's building is fitted again.
pub const EVERY: Duration = Duration::hours(24);

/// The stretches of `readings` (oldest first) to fit a building to.
pub fn samples(readings: &[Telemetry]) -> Vec<ThermalSample> {
    let usable: Vec<(DateTime<Utc>, f64, f64, f64)> = readings
        .iter()
        .filter_map(|t| {
            Some((
                t.at,
                t.indoor_temperature_c.filter(|c| c.is_finite())?,
                t.outdoor_temperature_c.filter(|c| c.is_finite())?,
                t.heat_output_w? as f64,
            ))
        })
        .collect();
    let mut out = Vec::new();
    let mut first = 0;
    while first < usable.len() {
        let (start, indoor_start, ..) = usable[first];
        let mut last = first;
        while last + 1 < usable.len() && usable[last + 1].0 - start <= STRETCH {
            last += 1;
        }
        let (end, indoor_end, ..) = usable[last];
        let hours = (end - start).num_milliseconds() as f64 / 3.6e6;
        // A stretch with a gap or a single reading tells nothing.
        if last > first && hours >= STRETCH.num_minutes() as f64 / 120.0 {
            // The heat of each reading holds until the next one.
            let within = &usable[first..last];
            let n = within.len() as f64;
            out.push(ThermalSample {
                hours,
                indoor_start_c: indoor_start,
                indoor_end_c: indoor_end,
                outdoor_c: within.iter().map(|r| r.2).sum::<f64>() / n,
                heat_w: within.iter().map(|r| r.3).sum::<f64>() / n,
            });
        }
        first = last.max(first + 1);
    }
    out
}

/// Whether a stored model was learnt (a model with no samples records an attempt that failed).
pub fn learnt(model: &ThermalModel) -> bool {
    model.samples > 0
}

/// Whether the device's building is due to be fitted again.
pub fn due(model: Option<&ThermalModel>, now: DateTime<Utc>) -> bool {
    model.is_none_or(|m| now - m.fitted_at >= EVERY)
}

/// Fits the device's building again (when [`due`]) from its readings and stores the result.
/// Answers the model now in force.
pub async fn refresh(
    db: &Db,
    device_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<ThermalModel>, StoreError> {
    let current = thermal::model(db, device_id).await?.filter(learnt);
    if !due(current.as_ref(), now) {
        return Ok(current);
    }
    let readings = resiflex_store::telemetry::between(db, device_id, now - WINDOW, now).await?;
    let stretches = samples(&readings);
    let Some(building) = Building::fit(&stretches) else {
        // Remember the attempt (with no samples) so that it is not made again before tomorrow;
        // a model learnt before stays in force.
        let attempt = match current {
            Some(model) => ThermalModel {
                fitted_at: now,
                ..model
            },
            None => {
                let typical = Building::default();
                ThermalModel {
                    heat_loss_w_per_k: typical.heat_loss_w_per_k,
                    thermal_mass_wh_per_k: typical.thermal_mass_wh_per_k,
                    samples: 0,
                    fitted_at: now,
                }
            }
        };
        thermal::save_model(db, device_id, &attempt).await?;
        return Ok(current);
    };
    let model = ThermalModel {
        heat_loss_w_per_k: building.heat_loss_w_per_k,
        thermal_mass_wh_per_k: building.thermal_mass_wh_per_k,
        samples: stretches.len() as i64,
        fitted_at: now,
    };
    thermal::save_model(db, device_id, &model).await?;
    tracing::info!(device = %device_id, heat_loss_w_per_k = model.heat_loss_w_per_k, thermal_mass_wh_per_k = model.thermal_mass_wh_per_k, samples = model.samples, "learnt the building");
    Ok(Some(model))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;

    use super::*;

    #[test]
    fn readings_of_a_known_house_give_it_back() {
        let truth = Building {
            heat_loss_w_per_k: 180.0,
            thermal_mass_wh_per_k: 3_500.0,
        };
        let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let mut indoor = 19.0;
        let mut readings = Vec::new();
        // A reading a minute for two days, heating on for 20 minutes of each hour.
        for minute in 0..(48 * 60) {
            let outdoor = 4.0 + 3.0 * ((minute as f64) / 1440.0 * std::f64::consts::TAU).sin();
            let heat = if minute % 60 < 20 { 7_000.0 } else { 0.0 };
            readings.push(Telemetry {
                indoor_temperature_c: Some(indoor),
                outdoor_temperature_c: Some(outdoor),
                heat_output_w: Some(heat as i64),
                ..Telemetry::vehicle_at_home(t0 + Duration::minutes(minute), 0.0)
            });
            indoor = truth.step(indoor, outdoor, heat, 1.0 / 60.0);
        }
        let stretches = samples(&readings);
        assert!(stretches.len() > 150, "{}", stretches.len());
        let fitted = Building::fit(&stretches).unwrap();
        assert!(
            (fitted.heat_loss_w_per_k / 180.0 - 1.0).abs() < 0.1,
            "{fitted:?}"
        );
        assert!(
            (fitted.thermal_mass_wh_per_k / 3_500.0 - 1.0).abs() < 0.1,
            "{fitted:?}"
        );
        // Readings without a heat meter give nothing to learn from.
        let blind: Vec<Telemetry> = readings
            .iter()
            .map(|t| Telemetry {
                heat_output_w: None,
                ..t.clone()
            })
            .collect();
        assert!(samples(&blind).is_empty());
    }
}
