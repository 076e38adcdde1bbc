//! Deterministic random requests for benchmarks (`resiflex bench planner` reuses them).

use chrono::{DateTime, Duration, Utc};

use crate::{EvPlanRequest, Slot};

/// xorshift64* — tiny, deterministic, good enough for benchmark inputs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// `n` random 96-slot (15-minute, 24 h) requests without taper, deterministic in `seed`.
/// `now` falls inside the first slot; `ready_by` is 16–24 h later; prices follow a day-shaped
/// curve plus noise, carbon is present; a third of the requests use hysteresis.
pub fn bench_plans(n: usize, seed: u64) -> Vec<EvPlanRequest> {
    let mut rng = XorShift::new(seed);
    let base = DateTime::<Utc>::from_timestamp(1_798_761_600, 0).unwrap_or(DateTime::UNIX_EPOCH); // 2027-01-01
    let powers = [3_700i64, 7_400, 11_000];
    (0..n)
        .map(|_| {
            let day = base + Duration::days(rng.below(365) as i64);
            let slots = (0..96)
                .map(|i| {
                    let start = day + Duration::minutes(15 * i);
                    let hour = i as f64 / 4.0;
                    let curve = 20.0 + 10.0 * ((hour - 18.0) / 24.0 * std::f64::consts::TAU).cos();
                    Slot {
                        start,
                        end: start + Duration::minutes(15),
                        import_price: (curve + rng.range(-5.0, 5.0) * 4.0).round() / 4.0,
                        carbon_g_per_kwh: Some(rng.range(50.0, 300.0)),
                    }
                })
                .collect();
            let current = rng.range(5.0, 60.0);
            EvPlanRequest {
                slots,
                now: day + Duration::seconds(rng.below(900) as i64),
                ready_by: day + Duration::minutes(960 + 15 * rng.below(33) as i64),
                battery_capacity_wh: 40_000 + 1_000 * rng.below(61) as i64,
                current_soc_pct: current,
                target_soc_pct: rng.range(current, 100.0),
                soc_limit_pct: rng.range(80.0, 100.0),
                max_power_w: powers[rng.below(3) as usize],
                charging_efficiency: rng.range(0.85, 0.95),
                taper: None,
                carbon_weight: if rng.below(2) == 0 { 0.0 } else { 0.01 },
                locked_goal: false,
                min_price_step: if rng.below(3) == 0 { 0.5 } else { 0.0 },
            }
        })
        .collect()
}

/// `n` random 48-hour requests of 96 half-hour slots for the battery planner, deterministic in
/// `seed`. Prices (currency units per kWh) follow a UK time-of-use shape: cheap nights (about
/// 0.07–0.12), a day rate (about 0.20–0.28), a 16:00–19:00 peak (about 0.33–0.45) and, in about
/// one day in three, a few negative slots (to −0.05); export pays about 0.04–0.15. Base load
/// 150–700 W with an evening rise, solar up to about 0–4 kW around midday; half the requests
/// allow battery export, a quarter cap continuous operation at 4–8 slots, a fifth ask for an end
/// SoC.
pub fn bench_battery_requests(n: usize, seed: u64) -> Vec<crate::battery::BatteryPlanRequest> {
    use crate::energy::{BatteryModel, EnergySlot, GridConnection};
    let mut rng = XorShift::new(seed);
    let base = DateTime::<Utc>::from_timestamp(1_798_761_600, 0).unwrap_or(DateTime::UNIX_EPOCH); // 2027-01-01
    (0..n)
        .map(|_| {
            let day = base + Duration::days(rng.below(365) as i64);
            let night = rng.range(0.07, 0.12);
            let dayp = rng.range(0.20, 0.28);
            let peak = rng.range(0.33, 0.45);
            let export_flat = rng.range(0.04, 0.15);
            let solar_peak = rng.range(0.0, 4_000.0);
            let negative_day = rng.below(3) == 0;
            let slots = (0..96)
                .map(|i| {
                    let start = day + Duration::minutes(30 * i);
                    let hour = (i % 48) as f64 / 2.0;
                    let mut import = if (16.0..19.0).contains(&hour) {
                        peak
                    } else if (0.5..4.5).contains(&hour) {
                        night
                    } else {
                        dayp
                    } + rng.range(-0.02, 0.02);
                    if negative_day && (12.0..14.5).contains(&hour) && rng.below(2) == 0 {
                        import = rng.range(-0.05, 0.0);
                    }
                    let solar = if (7.0..17.0).contains(&hour) {
                        let x = (hour - 12.0) / 5.0;
                        (solar_peak * (1.0 - x * x) * rng.range(0.6, 1.0)).max(0.0)
                    } else {
                        0.0
                    };
                    let evening = if (17.0..22.0).contains(&hour) {
                        400.0
                    } else {
                        0.0
                    };
                    EnergySlot {
                        start,
                        end: start + Duration::minutes(30),
                        import_price: (import * 1e4).round() / 1e4,
                        export_price: export_flat.min(import.max(0.0)),
                        carbon_g_per_kwh: Some(rng.range(50.0, 300.0)),
                        base_load_w: rng.range(150.0, 300.0) + evening + rng.range(0.0, 400.0),
                        solar_w: solar,
                    }
                })
                .collect();
            let capacity = [5_000.0, 9_500.0, 13_500.0][rng.below(3) as usize];
            let power = [2_500.0, 3_600.0, 5_000.0][rng.below(3) as usize];
            let battery = BatteryModel {
                capacity_wh: capacity,
                soc_pct: rng.range(5.0, 95.0),
                min_soc_pct: 5.0,
                max_soc_pct: rng.range(90.0, 100.0),
                reserve_pct: rng.range(10.0, 20.0),
                end_soc_pct: if rng.below(5) == 0 {
                    Some(rng.range(20.0, 60.0))
                } else {
                    None
                },
                max_charge_w: power,
                max_discharge_w: power,
                charge_efficiency: rng.range(0.92, 0.97),
                discharge_efficiency: rng.range(0.92, 0.97),
                degradation_per_kwh: rng.range(0.0, 0.04),
                end_value_per_kwh: rng.range(0.05, 0.12),
                max_continuous_slots: if rng.below(4) == 0 {
                    Some(4 + rng.below(5) as usize)
                } else {
                    None
                },
            };
            crate::battery::BatteryPlanRequest {
                slots,
                grid: GridConnection {
                    limit_w: 13_800.0,
                    battery_export: rng.below(2) == 0,
                    carbon_weight: 0.0,
                },
                battery,
                soc_steps: None,
            }
        })
        .collect()
}
