//! The household's slots for a day-ahead plan: half-hours from now, each with the tariff's prices
//! and the property's forecast (outdoor temperature, solar production, base load).
//!
//! The horizon is [`ControlConfig::horizon_hours`] from now, cut where the tariff's rates end (a
//! plan never guesses prices), but never shorter than [`MIN_HORIZON`]: past the last rate its price
//! holds. Without a tariff every slot costs the same. Without a forecast point the outdoor
//! temperature is the latest reading's (or [`DEFAULT_OUTDOOR_C`]), there is no solar production and
//! the base load is [`ControlConfig::base_load_w`].

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use resiflex_domain::forecast::ForecastPoint;
use resiflex_domain::tariff::Rate;
use resiflex_planner::energy::EnergySlot;
use resiflex_providers::ProviderRegistry;
use resiflex_store::devices::Device;
use resiflex_store::{Db, StoreError};

use crate::ControlConfig;

/// How much further than the plans' horizon a forecast is fetched, so that it is fetched about
/// twice a day rather than on every tick.
pub const FETCH_BEYOND: Duration = Duration::hours(12);

/// Fetches the forecast of every property with a heat pump, battery or inverter whose stored
/// forecast no longer covers the plans' horizon, from the first such device's provider (the
/// simulator forecasts what its world will do; a real vendor may forecast nothing, and a CSV import
/// can fill the gap). Answers how many properties were refreshed. A provider that fails is logged
/// and tried again on the next tick.
pub async fn refresh(
    db: &Db,
    providers: &ProviderRegistry,
    devices: &[Device],
    now: DateTime<Utc>,
    config: &ControlConfig,
) -> Result<usize, StoreError> {
    let horizon = Duration::hours(config.horizon_hours.clamp(2, 48));
    let reach = resiflex_store::forecasts::horizons(db).await?;
    let mut seen = HashSet::new();
    let mut refreshed = 0;
    for device in devices {
        let wanted = device.kind.heats() || device.kind.stores_energy();
        if !wanted
            || !seen.insert(device.property_id)
            || reach
                .get(&device.property_id)
                .is_some_and(|end| *end >= now + horizon)
        {
            continue;
        }
        let Ok(link) = resiflex_devices::grants::link(db, providers, device).await? else {
            continue;
        };
        let points = match link
            .provider
            .forecast(
                &link.grant,
                &device.integration_device_id,
                now,
                now + horizon + FETCH_BEYOND,
                now,
            )
            .await
        {
            Ok(points) => points,
            Err(err) => {
                tracing::warn!(device = %device.id, error = %err, "the forecast could not be fetched");
                continue;
            }
        };
        if points.is_empty() {
            continue;
        }
        resiflex_store::forecasts::save(db, device.property_id, &points, now).await?;
        refreshed += 1;
    }
    Ok(refreshed)
}

/// The outdoor temperature assumed when nothing says otherwise, °C.
pub const DEFAULT_OUTDOOR_C: f64 = 10.0;
/// The shortest horizon of a day-ahead plan.
pub const MIN_HORIZON: Duration = Duration::hours(2);
const SLOT: Duration = Duration::minutes(30);

/// The slots of a day-ahead plan, and the outdoor temperature of each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HouseholdSlots {
    pub slots: Vec<EnergySlot>,
    pub outdoor_c: Vec<f64>,
}

impl HouseholdSlots {
    /// When the plan's horizon ends.
    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.slots.last().map(|s| s.end)
    }
}

/// Builds the slots from `now` for a property with `rates` (empty without a tariff, in time
/// order), `forecast` (sorted) and the latest `outdoor_reading_c`.
pub fn household_slots(
    rates: &[Rate],
    has_tariff: bool,
    forecast: &[ForecastPoint],
    outdoor_reading_c: Option<f64>,
    now: DateTime<Utc>,
    config: &ControlConfig,
) -> HouseholdSlots {
    let wanted_end = now + Duration::hours(config.horizon_hours.clamp(2, 48));
    let rates: Vec<&Rate> = rates.iter().filter(|r| r.valid_to > now).collect();
    let end = if has_tariff {
        rates
            .iter()
            .map(|r| r.valid_to)
            .max()
            .unwrap_or(now)
            .min(wanted_end)
            .max(now + MIN_HORIZON)
    } else {
        wanted_end
    };
    let minor = |micros: i64| micros as f64 / 1e6;
    let mut out = HouseholdSlots::default();
    let mut start = now;
    while start < end {
        // Half-hours on the clock: the first slot runs to the next boundary.
        let boundary_ms =
            (start.timestamp_millis() / SLOT.num_milliseconds() + 1) * SLOT.num_milliseconds();
        let slot_end = DateTime::from_timestamp_millis(boundary_ms)
            .unwrap_or(end)
            .min(end);
        let rate = rates
            .iter()
            .find(|r| r.valid_from <= start && start < r.valid_to)
            .or_else(|| rates.last().filter(|r| r.valid_to <= start));
        let point = ForecastPoint::at(forecast, start);
        out.slots.push(EnergySlot {
            start,
            end: slot_end,
            import_price: rate.map_or(0.0, |r| minor(r.import_minor_per_kwh.0)),
            export_price: rate
                .and_then(|r| r.export_minor_per_kwh)
                .map_or(0.0, |p| minor(p.0)),
            carbon_g_per_kwh: rate.and_then(|r| r.carbon_g_per_kwh).map(|c| minor(c.0)),
            base_load_w: point
                .and_then(|p| p.base_load_w)
                .unwrap_or(config.base_load_w)
                .max(0.0),
            solar_w: point.and_then(|p| p.solar_w).unwrap_or(0.0).max(0.0),
        });
        out.outdoor_c.push(
            point
                .and_then(|p| p.outdoor_c)
                .or(outdoor_reading_c)
                .unwrap_or(DEFAULT_OUTDOOR_C),
        );
        start = slot_end;
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;
    use resiflex_domain::tariff::Micros;

    use super::*;

    fn rate(from: DateTime<Utc>, hours: i64, pence: i64) -> Rate {
        Rate {
            valid_from: from,
            valid_to: from + Duration::hours(hours),
            import_minor_per_kwh: Micros(pence * 1_000_000),
            export_minor_per_kwh: Some(Micros(5_000_000)),
            carbon_g_per_kwh: None,
        }
    }

    #[test]
    fn slots_follow_the_clock_the_rates_and_the_forecast() {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        let now = t0 + Duration::minutes(10);
        let rates = [rate(t0, 2, 20), rate(t0 + Duration::hours(2), 2, 35)];
        let forecast = [ForecastPoint {
            at: t0 + Duration::hours(1),
            outdoor_c: Some(3.0),
            solar_w: Some(1_200.0),
            base_load_w: None,
        }];
        let config = ControlConfig::default();
        let out = household_slots(&rates, true, &forecast, Some(7.0), now, &config);
        // 10:10–10:30, then half-hours to 14:00 where the rates end.
        assert_eq!(out.slots.len(), 8);
        assert_eq!(out.slots[0].end, t0 + Duration::minutes(30));
        assert_eq!(out.end(), Some(t0 + Duration::hours(4)));
        assert_eq!(out.slots[0].import_price, 20.0);
        assert_eq!(out.slots[4].import_price, 35.0);
        assert_eq!(out.slots[0].export_price, 5.0);
        // Before the first point: the first point holds (it is the earliest known).
        assert_eq!(out.outdoor_c[0], 3.0);
        assert_eq!(out.slots[3].solar_w, 1_200.0);
        assert_eq!(out.slots[3].base_load_w, config.base_load_w);
        // No tariff: a full horizon at one price, outdoor from the reading.
        let flat = household_slots(&[], false, &[], Some(7.0), now, &config);
        assert_eq!(
            flat.end(),
            Some(now + Duration::hours(config.horizon_hours))
        );
        assert!(flat.slots.iter().all(|s| s.import_price == 0.0));
        assert_eq!(flat.outdoor_c[0], 7.0);
    }
}
