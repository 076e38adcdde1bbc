//! Compact request form and the allocation-free fast path.
//!
//! [`CompactEvRequest`] carries the slots as a struct of arrays with integer millisecond
//! timestamps ([`SlotsMs`]), so building the candidate slots is a single branch-light pass with
//! no calendar arithmetic, and [`plan_compact_with`] writes [`DispatchMs`] records (milliseconds,
//! integer Wh) that become [`PlannedSlot`]s only when asked ([`DispatchMs::to_planned_slot`],
//! [`CompactPlan::to_plan`]). The `DateTime`-based [`crate::plan_with`] converts its request into
//! this form and delegates here, so both return the same plans.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{EvPlan, EvPlanRequest, PlanReason, PlanScratch, PlannedSlot, Taper};

/// When the slots are. Timestamps are milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SlotTimes {
    /// Slot `i` covers `first_start_ms + i × slot_ms .. first_start_ms + (i + 1) × slot_ms`
    /// (`slot_ms > 0`). Needs no per-slot timestamps and no ordering checks: the fastest form.
    Uniform { first_start_ms: i64, slot_ms: i64 },
    /// Slot `i` covers `start_ms[i]..end_ms[i]`. Slots may have different lengths, gaps, or come
    /// unsorted (they are sorted by start); they must not overlap where they are usable.
    Explicit {
        start_ms: Vec<i64>,
        end_ms: Vec<i64>,
    },
}

impl Default for SlotTimes {
    fn default() -> Self {
        Self::Explicit {
            start_ms: Vec::new(),
            end_ms: Vec::new(),
        }
    }
}

/// Slots as parallel arrays: slot `i` is priced `import_price[i]` minor units per kWh.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlotsMs {
    pub times: SlotTimes,
    pub import_price: Vec<f64>,
    /// Carbon intensity per slot, g/kWh. Empty = no carbon data; a missing value counts as 0.
    pub carbon_g_per_kwh: Vec<f64>,
}

impl SlotsMs {
    /// A uniform grid of `import_price.len()` slots of `slot_ms` from `first_start_ms`.
    /// `carbon_g_per_kwh` may be empty (no carbon data).
    pub fn uniform(
        first_start_ms: i64,
        slot_ms: i64,
        import_price: Vec<f64>,
        carbon_g_per_kwh: Vec<f64>,
    ) -> Self {
        Self {
            times: SlotTimes::Uniform {
                first_start_ms,
                slot_ms,
            },
            import_price,
            carbon_g_per_kwh,
        }
    }

    /// Slots with explicit start and end times.
    pub fn explicit(
        start_ms: Vec<i64>,
        end_ms: Vec<i64>,
        import_price: Vec<f64>,
        carbon_g_per_kwh: Vec<f64>,
    ) -> Self {
        Self {
            times: SlotTimes::Explicit { start_ms, end_ms },
            import_price,
            carbon_g_per_kwh,
        }
    }

    /// Number of slots (the number of prices).
    pub fn len(&self) -> usize {
        self.import_price.len()
    }

    /// No slots.
    pub fn is_empty(&self) -> bool {
        self.import_price.is_empty()
    }

    /// Start of slot `i`, ms (0 past the end of explicit arrays).
    #[inline]
    pub fn start_ms(&self, i: usize) -> i64 {
        match &self.times {
            SlotTimes::Uniform {
                first_start_ms,
                slot_ms,
            } => first_start_ms.saturating_add((i as i64).saturating_mul(*slot_ms)),
            SlotTimes::Explicit { start_ms, .. } => start_ms.get(i).copied().unwrap_or(0),
        }
    }

    /// End of slot `i`, ms (0 past the end of explicit arrays).
    #[inline]
    pub fn end_ms(&self, i: usize) -> i64 {
        match &self.times {
            SlotTimes::Uniform {
                first_start_ms,
                slot_ms,
            } => first_start_ms.saturating_add((i as i64 + 1).saturating_mul(*slot_ms)),
            SlotTimes::Explicit { end_ms, .. } => end_ms.get(i).copied().unwrap_or(0),
        }
    }
}

/// [`EvPlanRequest`] with millisecond timestamps and the slots as arrays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompactEvRequest {
    pub slots: SlotsMs,
    /// Milliseconds since the Unix epoch.
    pub now_ms: i64,
    /// Milliseconds since the Unix epoch.
    pub ready_by_ms: i64,
    pub battery_capacity_wh: i64,
    pub current_soc_pct: f64,
    pub target_soc_pct: f64,
    pub soc_limit_pct: f64,
    pub max_power_w: i64,
    pub charging_efficiency: f64,
    pub taper: Option<Taper>,
    pub carbon_weight: f64,
    pub locked_goal: bool,
    pub min_price_step: f64,
}

impl Default for CompactEvRequest {
    fn default() -> Self {
        Self {
            slots: SlotsMs::default(),
            now_ms: 0,
            ready_by_ms: 0,
            battery_capacity_wh: 0,
            current_soc_pct: 0.0,
            target_soc_pct: 0.0,
            soc_limit_pct: 100.0,
            max_power_w: 0,
            charging_efficiency: 1.0,
            taper: None,
            carbon_weight: 0.0,
            locked_goal: false,
            min_price_step: 0.0,
        }
    }
}

impl CompactEvRequest {
    /// Converts a `DateTime`-based request (timestamps truncated to whole milliseconds, as the
    /// planner has always computed with them).
    pub fn from_request(req: &EvPlanRequest) -> Self {
        let mut c = Self::default();
        c.fill_from(req);
        c
    }

    /// Like [`CompactEvRequest::from_request`], reusing this value's allocations.
    pub fn fill_from(&mut self, req: &EvPlanRequest) {
        self.fill_with(req, &mut Default::default());
    }

    /// [`CompactEvRequest::fill_from`] keeping the timestamp vectors in `spare` while the slots
    /// form a uniform grid (which needs none), so repeated conversions do not allocate.
    pub(crate) fn fill_with(&mut self, req: &EvPlanRequest, spare: &mut [Vec<i64>; 2]) {
        self.now_ms = req.now.timestamp_millis();
        self.ready_by_ms = req.ready_by.timestamp_millis();
        self.battery_capacity_wh = req.battery_capacity_wh;
        self.current_soc_pct = req.current_soc_pct;
        self.target_soc_pct = req.target_soc_pct;
        self.soc_limit_pct = req.soc_limit_pct;
        self.max_power_w = req.max_power_w;
        self.charging_efficiency = req.charging_efficiency;
        self.taper = req.taper;
        self.carbon_weight = req.carbon_weight;
        self.locked_goal = req.locked_goal;
        self.min_price_step = req.min_price_step;
        let s = &mut self.slots;
        s.import_price.clear();
        s.carbon_g_per_kwh.clear();
        let any_carbon = req.slots.iter().any(|x| x.carbon_g_per_kwh.is_some());
        let (mut starts, mut ends) = match std::mem::take(&mut s.times) {
            SlotTimes::Explicit { start_ms, end_ms } => (start_ms, end_ms),
            SlotTimes::Uniform { .. } => {
                (std::mem::take(&mut spare[0]), std::mem::take(&mut spare[1]))
            }
        };
        starts.clear();
        ends.clear();
        let mut cache = MsCache::default();
        let mut prev: Option<(DateTime<Utc>, i64)> = None;
        let mut uniform = true;
        for x in &req.slots {
            // Contiguous slots: the start is the previous end, no conversion needed.
            let (start, contiguous) = match prev {
                Some((e, ms)) if e == x.start => (ms, true),
                _ => (cache.ms(&x.start), prev.is_none()),
            };
            let end = cache.ms(&x.end);
            prev = Some((x.end, end));
            if let (Some(&a), Some(&b)) = (starts.first(), ends.first()) {
                uniform &= contiguous && end - start == b - a;
            }
            starts.push(start);
            ends.push(end);
            s.import_price.push(x.import_price);
            if any_carbon {
                s.carbon_g_per_kwh.push(x.carbon_g_per_kwh.unwrap_or(0.0));
            }
        }
        s.times = match (starts.first(), ends.first()) {
            (Some(&a), Some(&b)) if uniform && b > a => {
                let t = SlotTimes::Uniform {
                    first_start_ms: a,
                    slot_ms: b - a,
                };
                *spare = [starts, ends];
                t
            }
            _ => SlotTimes::Explicit {
                start_ms: starts,
                end_ms: ends,
            },
        };
    }
}

/// Milliseconds since the epoch, computing the calendar part once per distinct date.
#[derive(Default)]
struct MsCache {
    date: Option<(chrono::NaiveDate, i64)>,
}

impl MsCache {
    fn ms(&mut self, dt: &DateTime<Utc>) -> i64 {
        use chrono::Timelike;
        let naive = dt.naive_utc();
        let date = naive.date();
        let day_ms = match self.date {
            Some((d, ms)) if d == date => ms,
            _ => {
                let ms = date
                    .and_time(chrono::NaiveTime::MIN)
                    .and_utc()
                    .timestamp_millis();
                self.date = Some((date, ms));
                ms
            }
        };
        let t = naive.time();
        day_ms
            + i64::from(t.num_seconds_from_midnight()) * 1000
            + i64::from(t.nanosecond() / 1_000_000)
    }
}

/// Charging in (part of) one slot, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchMs {
    /// Index of the slot in the request.
    pub slot: u32,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Charger power while charging (average over `start..end` under taper).
    pub power_w: i64,
    pub energy_from_grid_wh: i64,
    pub energy_into_battery_wh: i64,
}

impl DispatchMs {
    /// As a [`PlannedSlot`] (millisecond timestamps).
    pub fn to_planned_slot(&self) -> PlannedSlot {
        PlannedSlot {
            start: ms_to_dt(self.start_ms),
            end: ms_to_dt(self.end_ms),
            power_w: self.power_w,
            energy_from_grid_wh: self.energy_from_grid_wh,
            energy_into_battery_wh: self.energy_into_battery_wh,
        }
    }
}

pub(crate) fn ms_to_dt(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::UNIX_EPOCH)
}

/// [`EvPlan`] with [`DispatchMs`] records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompactPlan {
    pub dispatches: Vec<DispatchMs>,
    /// Money only (import price × grid energy), minor units.
    pub total_cost: f64,
    pub expected_final_soc_pct: f64,
    pub effective_target_soc_pct: f64,
    pub target_reached: bool,
    /// Missing battery energy at `ready_by`, Wh (0 when reached).
    pub shortfall_wh: i64,
    pub reason: PlanReason,
    pub prices_incomplete: bool,
    pub locked_goal: bool,
}

impl Default for CompactPlan {
    fn default() -> Self {
        Self {
            dispatches: Vec::new(),
            total_cost: 0.0,
            expected_final_soc_pct: 0.0,
            effective_target_soc_pct: 0.0,
            target_reached: false,
            shortfall_wh: 0,
            reason: PlanReason::NoPrices,
            prices_incomplete: false,
            locked_goal: false,
        }
    }
}

impl CompactPlan {
    /// As an [`EvPlan`] (millisecond timestamps).
    pub fn to_plan(&self) -> EvPlan {
        let mut p = EvPlan {
            dispatches: Vec::with_capacity(self.dispatches.len()),
            ..EvPlan::default()
        };
        self.copy_summary(&mut p);
        p.dispatches
            .extend(self.dispatches.iter().map(DispatchMs::to_planned_slot));
        p
    }

    pub(crate) fn copy_summary(&self, p: &mut EvPlan) {
        p.total_cost = self.total_cost;
        p.expected_final_soc_pct = self.expected_final_soc_pct;
        p.effective_target_soc_pct = self.effective_target_soc_pct;
        p.target_reached = self.target_reached;
        p.shortfall_wh = self.shortfall_wh;
        p.reason = self.reason;
        p.prices_incomplete = self.prices_incomplete;
        p.locked_goal = self.locked_goal;
    }
}

/// Plans with fresh buffers; see [`plan_compact_with`].
pub fn plan_compact(req: &CompactEvRequest) -> CompactPlan {
    let mut scratch = PlanScratch::default();
    let mut out = CompactPlan::default();
    plan_compact_with(req, &mut scratch, &mut out);
    out
}

/// The fast path: plans `req` into `out`, reusing `scratch` and `out.dispatches`; allocates
/// nothing once they have grown. Same semantics and results as [`crate::plan_with`].
pub fn plan_compact_with(req: &CompactEvRequest, scratch: &mut PlanScratch, out: &mut CompactPlan) {
    crate::engine::plan_core(req, scratch, out);
}

/// [`crate::bench_plans`] in compact form: the same requests, deterministic in `seed`.
pub fn bench_requests_compact(n: usize, seed: u64) -> Vec<CompactEvRequest> {
    crate::bench_plans(n, seed)
        .iter()
        .map(CompactEvRequest::from_request)
        .collect()
}
