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
