#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::taper::{Model, TaperScratch, plan_taper, reach_index};
use chrono::{Duration, NaiveDate, NaiveTime, TimeZone};
use proptest::prelude::*;

fn day() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 0, 0, 0).unwrap()
}

fn at(min: i64) -> DateTime<Utc> {
    day() + Duration::minutes(min)
}

fn slots(minutes: i64, prices: &[f64]) -> Vec<Slot> {
    prices
        .iter()
        .enumerate()
        .map(|(i, &p)| Slot {
            start: at(minutes * i as i64),
            end: at(minutes * (i as i64 + 1)),
            import_price: p,
            carbon_g_per_kwh: None,
        })
        .collect()
}

/// 10 kWh battery, 50 % → 80 %: 3 kWh battery = 3 kWh grid at efficiency 1; 6 kW → 3 kWh per 30 min.
fn req(slots: Vec<Slot>, ready_by: DateTime<Utc>) -> EvPlanRequest {
    EvPlanRequest {
        slots,
        now: at(0),
        ready_by,
        battery_capacity_wh: 10_000,
        current_soc_pct: 50.0,
        target_soc_pct: 80.0,
        soc_limit_pct: 100.0,
        max_power_w: 6_000,
        charging_efficiency: 1.0,
        taper: None,
        carbon_weight: 0.0,
        locked_goal: false,
        min_price_step: 0.0,
    }
}

/// The plan and its exact effective cost (price + weight·carbon) from the unrounded energies.
fn plan_eff(r: &EvPlanRequest) -> (EvPlan, f64) {
    let mut s = PlanScratch::default();
    let p = plan_into(r, &mut s);
    let cost = if p.dispatches.is_empty() {
        0.0
    } else {
        s.lin
            .energies()
            .map(|(slot, e)| e * engine::eff_price(&s.req, slot as usize) / 1000.0)
            .sum()
    };
    (p, cost)
}

fn starts(p: &EvPlan) -> Vec<DateTime<Utc>> {
    p.dispatches.iter().map(|d| d.start).collect()
}

#[test]
fn target_already_reached() {
    let mut r = req(slots(30, &[1.0, 2.0]), at(60));
    r.current_soc_pct = 85.0;
    let p = plan(&r);
    assert_eq!(p.reason, PlanReason::AlreadyAtTarget);
    assert!(p.target_reached && p.dispatches.is_empty());
}

#[test]
fn soc_limit_caps_target() {
    let mut r = req(slots(30, &[1.0, 2.0, 3.0]), at(90));
    r.target_soc_pct = 100.0;
    r.soc_limit_pct = 80.0;
    let p = plan(&r);
    assert_eq!(p.effective_target_soc_pct, 80.0);
    assert!((p.expected_final_soc_pct - 80.0).abs() < 1e-9);
    assert_eq!(p.dispatches.len(), 1);
    r.current_soc_pct = 90.0;
    assert_eq!(plan(&r).reason, PlanReason::AlreadyAtTarget);
}

#[test]
fn cheapest_slots_with_partial_trim() {
    // Need 4.5 kWh: the 3 kWh slot at price 1 and half of the slot at price 2.
    let mut r = req(slots(30, &[5.0, 2.0, 9.0, 1.0]), at(120));
    r.target_soc_pct = 95.0;
    let p = plan(&r);
    assert_eq!(p.reason, PlanReason::TargetReached);
    assert_eq!(p.dispatches.len(), 2);
    // Partial slot isolated → charges at its end (as late as possible).
    assert_eq!(p.dispatches[0].start, at(45));
    assert_eq!(p.dispatches[0].end, at(60));
    assert_eq!(p.dispatches[0].energy_from_grid_wh, 1_500);
    assert_eq!(p.dispatches[1].start, at(90));
    assert!((p.total_cost - (1.5 * 2.0 + 3.0 * 1.0)).abs() < 1e-9);
}

#[test]
fn partial_slot_sits_next_to_chosen_neighbour() {
    // Chosen full slot at 30–60 precedes the partial slot 60–90 → partial charges at 60–75.
    let mut r = req(slots(30, &[9.0, 1.0, 2.0, 9.0]), at(120));
    r.target_soc_pct = 95.0;
    let p = plan(&r);
    assert_eq!(p.dispatches[1].start, at(60));
    assert_eq!(p.dispatches[1].end, at(75));
}

#[test]
fn prices_ending_before_ready_by() {
    // Prices cover 2 h; ready_by is 6 h out.
    let r = req(slots(30, &[4.0, 3.0, 2.0, 5.0]), at(360));
    let p = plan(&r);
    assert!(p.prices_incomplete);
    assert_eq!(p.reason, PlanReason::TargetReached);
    assert_eq!(starts(&p), vec![at(60)]);

    let mut r = req(slots(30, &[4.0, 3.0]), at(360));
    r.current_soc_pct = 0.0;
    let p = plan(&r);
    assert_eq!(p.reason, PlanReason::PriceHorizonTooShort);
    assert!(!p.target_reached);
    assert_eq!(p.shortfall_wh, 8_000 - 6_000);
}

#[test]
fn partial_first_slot_uses_only_remaining_time() {
    // 20 of 30 minutes past: the cheap first slot offers only 1 kWh.
    let mut r = req(slots(30, &[1.0, 5.0, 3.0]), at(90));
    r.now = at(20);
    let p = plan(&r);
    assert_eq!(p.dispatches[0].start, at(20));
    assert_eq!(p.dispatches[0].energy_from_grid_wh, 1_000);
    // Not adjacent to a chosen slot → charges at the end of its slot.
    assert_eq!(p.dispatches[1].start, at(70));
    assert_eq!(p.dispatches[1].end, at(90));
    assert_eq!(p.dispatches[1].energy_from_grid_wh, 2_000);
    assert!((p.total_cost - (1.0 + 6.0)).abs() < 1e-9);
}

#[test]
fn partial_last_slot_cut_at_ready_by() {
    let r = req(slots(30, &[5.0, 1.0]), at(45));
    let p = plan(&r);
    // Cheap slot usable 30–45 only: 1.5 kWh; the rest from slot 0.
    assert_eq!(p.dispatches.len(), 2);
    assert_eq!(p.dispatches[1].end, at(45));
    assert_eq!(p.dispatches[1].energy_from_grid_wh, 1_500);
    assert_eq!(p.dispatches[0].energy_from_grid_wh, 1_500);
}

#[test]
fn fifteen_minute_slots() {
    // 6 kW → 1.5 kWh per 15 min; need 3 kWh → two cheapest quarter hours.
    let r = req(slots(15, &[3.0, 1.0, 4.0, 1.5, 9.0, 2.0]), at(90));
    let p = plan(&r);
    assert_eq!(starts(&p), vec![at(15), at(45)]);
    assert!(p.dispatches.iter().all(|d| d.energy_from_grid_wh == 1_500));
}

#[test]
fn equal_prices_choose_later_slots() {
    let r = req(slots(30, &[2.0; 5]), at(150));
    let p = plan(&r);
    assert_eq!(starts(&p), vec![at(120)]);
    let mut r = req(slots(30, &[2.0; 5]), at(150));
    r.target_soc_pct = 95.0; // 4.5 kWh: last full slot + the half before it, adjacent.
    let p = plan(&r);
    assert_eq!(p.dispatches[0].start, at(105));
    assert_eq!(p.dispatches[0].end, at(120));
}

#[test]
fn not_enough_time_charges_everything_asap() {
    let mut r = req(slots(30, &[5.0, 1.0]), at(60));
    r.current_soc_pct = 0.0;
    let p = plan(&r);
    assert_eq!(p.reason, PlanReason::NotEnoughTime);
    assert!(!p.target_reached);
    assert_eq!(p.shortfall_wh, 2_000);
    assert_eq!(starts(&p), vec![at(0), at(30)]);
    assert!(p.dispatches.iter().all(|d| d.power_w == 6_000));
}

#[test]
fn no_prices_and_invalid_input() {
    let r = req(vec![], at(60));
    let p = plan(&r);
    assert_eq!(p.reason, PlanReason::NoPrices);
    assert_eq!(p.shortfall_wh, 3_000);
    let r = req(slots(30, &[f64::NAN]), at(60));
    assert_eq!(
        plan(&r).reason,
        PlanReason::InvalidInput(InputError::SlotValue)
    );
    let mut s = slots(30, &[1.0, 2.0]);
    s[1].start = at(15);
    assert_eq!(
        plan(&req(s, at(60))).reason,
        PlanReason::InvalidInput(InputError::OverlappingSlots)
    );
    let mut r = req(slots(30, &[1.0]), at(60));
    r.charging_efficiency = 0.0;
    assert_eq!(
        plan(&r).reason,
        PlanReason::InvalidInput(InputError::Efficiency)
    );
}

#[test]
fn unsorted_slots_are_sorted() {
    let mut s = slots(30, &[3.0, 1.0, 2.0]);
    s.reverse();
    let p = plan(&req(s, at(90)));
    assert_eq!(starts(&p), vec![at(30)]);
}

#[test]
fn efficiency_and_carbon() {
    let mut r = req(slots(30, &[1.0, 1.2]), at(60));
    r.charging_efficiency = 0.5; // 3 kWh battery needs 6 kWh grid: both slots.
    let p = plan(&r);
    assert_eq!(p.reason, PlanReason::TargetReached);
    assert_eq!(
        p.dispatches
            .iter()
            .map(|d| d.energy_from_grid_wh)
            .sum::<i64>(),
        6_000
    );
    let mut r = req(slots(30, &[1.0, 1.2]), at(60));
    r.slots[0].carbon_g_per_kwh = Some(300.0);
    r.slots[1].carbon_g_per_kwh = Some(100.0);
    r.carbon_weight = 0.01; // effective 4.0 vs 2.2 → the second slot.
    assert_eq!(starts(&plan(&r)), vec![at(30)]);
}

#[test]
fn hysteresis_prefers_contiguous_run() {
    // Near-equal prices alternate; exact greedy picks scattered slots.
    let prices = [10.0, 10.3, 10.1, 10.4, 10.2, 10.45, 20.0];
    let mut r = req(slots(30, &prices), at(210));
    r.current_soc_pct = 10.0; // 7 kWh: 2 full slots + 1 kWh.
    let exact = plan(&r);
    r.min_price_step = 1.0;
    let (hyst, cost) = plan_eff(&r);
    let mut r0 = r.clone();
    r0.min_price_step = 0.0;
    let (_, best) = plan_eff(&r0);
    assert!(exact.dispatches.len() == 3);
    let contiguous = hyst.dispatches.windows(2).all(|w| w[0].end == w[1].start);
    assert!(contiguous, "{:?}", hyst.dispatches);
    assert!(cost <= best + 1.0 * 7.0 + 1e-9);
}

#[test]
fn goal_lock_is_carried() {
    let mut r = req(slots(30, &[1.0]), at(30));
    r.locked_goal = true;
    assert!(plan(&r).locked_goal);
}

// ---- DST ------------------------------------------------------------------------------------

fn london(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    ready_by_local(
        NaiveDate::from_ymd_opt(y, m, d).unwrap(),
        NaiveTime::from_hms_opt(h, min, 0).unwrap(),
        chrono_tz::Europe::London,
    )
}

#[test]
fn ready_by_local_resolves_dst() {
    let utc = |m, d, h, min| Utc.with_ymd_and_hms(2026, m, d, h, min, 0).unwrap();
    // 07:30 BST on the spring-forward day = 06:30 UTC; 07:30 GMT on the fall-back day = 07:30 UTC.
    assert_eq!(london(2026, 3, 29, 7, 30), utc(3, 29, 6, 30));
    assert_eq!(london(2026, 10, 25, 7, 30), utc(10, 25, 7, 30));
    // Gap: 01:30 does not exist on 29 March → next valid instant 02:00 BST = 01:00 UTC.
    assert_eq!(london(2026, 3, 29, 1, 30), utc(3, 29, 1, 0));
    // Fold: 01:30 happens twice on 25 October → the earlier one (BST) = 00:30 UTC.
    assert_eq!(london(2026, 10, 25, 1, 30), utc(10, 25, 0, 30));
    // Ordinary winter day.
    assert_eq!(london(2026, 1, 15, 7, 30), utc(1, 15, 7, 30));
}

/// Half-hour UTC slots from `from` to `to`.
fn utc_slots(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Slot> {
    let mut v = Vec::new();
    let mut t = from;
    while t < to {
        v.push(Slot {
            start: t,
            end: t + Duration::minutes(30),
            import_price: 10.0,
            carbon_g_per_kwh: None,
        });
        t += Duration::minutes(30);
    }
    v
}

fn overnight_full_power_hours(y: i32, m: u32, d: u32) -> f64 {
    let start = london(y, m, d - 1, 18, 0);
    let ready = london(y, m, d, 7, 30);
    let mut r = req(utc_slots(start, ready + Duration::hours(2)), ready);
    r.now = start;
    r.battery_capacity_wh = 200_000;
    r.current_soc_pct = 0.0;
    r.target_soc_pct = 100.0; // impossible: charges all night
    let p = plan(&r);
    assert_eq!(p.reason, PlanReason::NotEnoughTime);
    assert_eq!(p.dispatches.last().unwrap().end, ready);
    p.dispatches
        .iter()
        .map(|d| (d.end - d.start).num_minutes() as f64 / 60.0)
        .sum()
}

#[test]
fn dst_nights_have_the_right_length() {
    // 18:00 → 07:30 local is 13.5 h normally, 12.5 h into the 23-hour day, 14.5 h into the 25-hour day.
    assert_eq!(overnight_full_power_hours(2026, 1, 15), 13.5);
    assert_eq!(overnight_full_power_hours(2026, 3, 29), 12.5);
    assert_eq!(overnight_full_power_hours(2026, 10, 25), 14.5);
}

// ---- Taper ------------------------------------------------------------------------------------

fn taper_model(from: f64, full_pct: f64, cur: f64) -> (EvPlanRequest, Model) {
    let mut r = req(vec![], at(60));
    r.battery_capacity_wh = 60_000;
    r.current_soc_pct = cur;
    r.max_power_w = 11_000;
    r.charging_efficiency = 0.9;
    let t = Taper {
        from_soc_pct: from,
        power_at_full_pct: full_pct,
    };
    r.taper = Some(t);
    let m = Model::new(&CompactEvRequest::from_request(&r), t);
    (r, m)
}

#[test]
fn taper_reach_matches_numeric_integration() {
    let (_, m) = taper_model(70.0, 20.0, 50.0);
    for h in [0.1, 0.5, 1.0, 2.0, 4.0, 10.0] {
        let mut x = m.x0;
        let steps = 200_000;
        let dt = h / steps as f64;
        for _ in 0..steps {
            // midpoint rule
            let k1 = m.power_at(x);
            let k2 = m.power_at(x + 0.5 * dt * k1);
            x += dt * k2;
        }
        let closed = m.reach(m.x0, h);
        assert!((closed - x).abs() < 1e-3, "h={h}: {closed} vs {x}");
        assert!((m.hours(m.x0, closed) - h).abs() < 1e-6);
    }
}

#[test]
fn taper_plan_respects_power_and_reaches_target() {
    let mut r = req(
        slots(30, &[5.0, 1.0, 3.0, 1.0, 2.0, 4.0, 1.0, 1.0]),
        at(240),
    );
    r.battery_capacity_wh = 20_000;
    r.current_soc_pct = 40.0;
    r.target_soc_pct = 100.0;
    r.max_power_w = 7_000;
    r.taper = Some(Taper {
        from_soc_pct: 60.0,
        power_at_full_pct: 30.0,
    });
    let p = plan(&r);
    assert_eq!(p.reason, PlanReason::TargetReached, "{p:?}");
    for d in &p.dispatches {
        assert!(d.power_w <= 7_000);
    }
    // Taper never beats the untapered optimum.
    let mut lin = r.clone();
    lin.taper = None;
    assert!(p.total_cost >= plan(&lin).total_cost - 1e-9);
}

/// Minimum cost over every plan whose slot-boundary SoCs lie on the grid of `k` steps.
fn brute_taper(m: &Model, hours: &[f64], eff: &[f64], need: f64, k: usize) -> f64 {
    fn rec(m: &Model, hours: &[f64], eff: &[f64], i: usize, j: usize, delta: f64, k: usize) -> f64 {
        if i == hours.len() {
            return if j == k { 0.0 } else { f64::INFINITY };
        }
        let r = reach_index(m, j, delta, hours[i], k);
        (j..=r)
            .map(|jp| {
                eff[i] * (jp - j) as f64 * delta / m.eta / 1000.0
                    + rec(m, hours, eff, i + 1, jp, delta, k)
            })
            .fold(f64::INFINITY, f64::min)
    }
    rec(m, hours, eff, 0, 0, need / k as f64, k)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn taper_dp_matches_brute_force(
        prices in prop::collection::vec(0u32..8, 1..=5),
        mins in prop::collection::vec(prop::sample::select(vec![15i64, 30]), 5),
        cur in 30.0f64..90.0,
        from in 40.0f64..95.0,
        full in 0.0f64..90.0,
        need_pct in 1.0f64..40.0,
        k in 1usize..=10,
    ) {
        let (_, m) = taper_model(from, full, cur);
        let need = (need_pct.min(100.0 - cur - 0.01)).max(0.5) / 100.0 * 60_000.0;
        let mut cands = Vec::new();
        let mut t = 0i64;
        for (i, &p) in prices.iter().enumerate() {
            let len = mins[i] * 60_000;
            cands.push(Cand { start_ms: t, end_ms: t + len, eff: p as f64, energy: 0.0, used_ms: 0, slot: 0 });
            t += len;
        }
        let hours: Vec<f64> = cands.iter().map(|c| c.hours()).collect();
        let eff: Vec<f64> = cands.iter().map(|c| c.eff).collect();
        let oracle = brute_taper(&m, &hours, &eff, need, k);
        let mut s = TaperScratch::default();
        let reached = plan_taper(&m, &mut cands, &mut s, need, k);
        let got: f64 = cands.iter().map(|c| c.energy * c.eff / 1000.0).sum();
        let delivered: f64 = cands.iter().map(|c| c.energy * m.eta).sum();
        if oracle.is_finite() {
            prop_assert!(reached);
            prop_assert!((got - oracle).abs() < 1e-6 * (1.0 + oracle.abs()), "dp {} oracle {}", got, oracle);
        }
        if reached {
            prop_assert!((delivered - need).abs() < 1e-6);
        }
        // Each slot's charging fits in its time at tapered power.
        for c in &cands {
            prop_assert!(c.energy <= 0.0 || c.used_ms <= c.end_ms - c.start_ms + 1);
        }
    }
}

// ---- Linear oracle ------------------------------------------------------------------------------

/// Brute force: every subset of fully used slots plus at most one partial slot.
fn oracle_linear(r: &EvPlanRequest) -> Option<f64> {
    let need = (r.target_soc_pct.min(r.soc_limit_pct) - r.current_soc_pct) / 100.0
        * r.battery_capacity_wh as f64
        / r.charging_efficiency;
    if need <= EPS_WH {
        return Some(0.0);
    }
    let items: Vec<(f64, f64)> = r
        .slots
        .iter()
        .filter_map(|s| {
            let st = s.start.max(r.now);
            let en = s.end.min(r.ready_by);
            (en > st).then(|| {
                let cap = r.max_power_w as f64 * (en - st).num_milliseconds() as f64 / 3.6e6;
                (
                    cap,
                    s.import_price + r.carbon_weight * s.carbon_g_per_kwh.unwrap_or(0.0),
                )
            })
        })
        .collect();
    let n = items.len();
    let mut best: Option<f64> = None;
    for mask in 0u32..(1 << n) {
        let (mut e, mut c) = (0.0, 0.0);
        for (i, it) in items.iter().enumerate() {
            if mask >> i & 1 == 1 {
                e += it.0;
                c += it.0 * it.1 / 1000.0;
            }
        }
        if e > need + EPS_WH {
            continue;
        }
        let rem = need - e;
        let mut consider = |v: f64| best = Some(best.map_or(v, |b: f64| b.min(v)));
        if rem <= EPS_WH {
            consider(c);
        } else {
            for (i, it) in items.iter().enumerate() {
                if mask >> i & 1 == 0 && it.0 + EPS_WH >= rem {
                    consider(c + rem * it.1 / 1000.0);
                }
            }
        }
    }
    best
}

fn arb_request() -> impl Strategy<Value = EvPlanRequest> {
    (
        prop::collection::vec(
            (
                prop::sample::select(vec![15i64, 30]),
                0i64..2,
                prop_oneof![(0u32..6).prop_map(f64::from), -5.0f64..40.0],
                prop::option::of(0.0f64..400.0),
            ),
            0..=8,
        ),
        0i64..25,
        0i64..300,
        (
            5_000i64..80_000,
            0.0f64..100.0,
            -10.0f64..60.0,
            40.0f64..100.0,
        ),
        (
            1_000i64..11_000,
            0.8f64..=1.0,
            prop::sample::select(vec![0.0, 0.02]),
        ),
    )
        .prop_map(
            |(raw, now_off, rb, (cap, cur, delta, lim), (pw, eta, cw))| {
                let tgt = (cur + delta).clamp(0.0, 100.0);
                let mut t = 0i64;
                let mut slots = Vec::new();
                for (len, gap, price, carbon) in raw {
                    t += gap * 15;
                    slots.push(Slot {
                        start: at(t),
                        end: at(t + len),
                        import_price: price,
                        carbon_g_per_kwh: carbon,
                    });
                    t += len;
                }
                EvPlanRequest {
                    slots,
                    now: at(0) + Duration::minutes(now_off) + Duration::seconds(7),
                    ready_by: at(rb),
                    battery_capacity_wh: cap,
                    current_soc_pct: cur,
                    target_soc_pct: tgt,
                    soc_limit_pct: lim,
                    max_power_w: pw,
                    charging_efficiency: eta,
                    taper: None,
                    carbon_weight: cw,
                    locked_goal: false,
                    min_price_step: 0.0,
                }
            },
        )
}

fn check_invariants(r: &EvPlanRequest, p: &EvPlan) -> Result<(), TestCaseError> {
    let limit = r.soc_limit_pct.min(r.target_soc_pct).max(r.current_soc_pct);
    prop_assert!(p.expected_final_soc_pct <= limit + 1e-9);
    for d in &p.dispatches {
        prop_assert!(d.power_w <= r.max_power_w);
        prop_assert!(d.start >= r.now && d.end <= r.ready_by && d.start < d.end);
        let max_e = r.max_power_w as f64 * (d.end - d.start).num_milliseconds() as f64 / 3.6e6;
        prop_assert!(d.energy_from_grid_wh as f64 <= max_e + 0.5);
    }
    for w in p.dispatches.windows(2) {
        prop_assert!(w[0].end <= w[1].start);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn linear_matches_oracle(r in arb_request()) {
        let (p, cost) = plan_eff(&r);
        check_invariants(&r, &p)?;
        let total: f64 = r.slots.iter().map(|s| {
            let st = s.start.max(r.now); let en = s.end.min(r.ready_by);
            if en > st { r.max_power_w as f64 * (en - st).num_milliseconds() as f64 / 3.6e6 } else { 0.0 }
        }).sum();
        let need = (r.target_soc_pct.min(r.soc_limit_pct) - r.current_soc_pct) / 100.0
            * r.battery_capacity_wh as f64 / r.charging_efficiency;
        if need <= EPS_WH {
            prop_assert_eq!(p.reason, PlanReason::AlreadyAtTarget);
        } else if total + EPS_WH >= need && total > 0.0 {
            let o = oracle_linear(&r).unwrap();
            prop_assert!(p.target_reached, "{:?}", p);
            prop_assert!((cost - o).abs() <= 1e-9 * (1.0 + o.abs()), "plan {} oracle {}", cost, o);
        } else {
            prop_assert!(!p.target_reached);
            prop_assert!(p.shortfall_wh > 0);
        }
    }

    #[test]
    fn hysteresis_cost_bound(r in arb_request(), step in 0.1f64..5.0) {
        let mut h = r.clone();
        h.min_price_step = step;
        let (p, cost) = plan_eff(&h);
        let (p0, best) = plan_eff(&r);
        check_invariants(&h, &p)?;
        prop_assert_eq!(p.target_reached, p0.target_reached);
        if p0.reason == PlanReason::TargetReached {
            let energy_kwh: f64 = (r.target_soc_pct.min(r.soc_limit_pct) - r.current_soc_pct)
                / 100.0 * r.battery_capacity_wh as f64 / r.charging_efficiency / 1000.0;
            prop_assert!(cost <= best + step * energy_kwh + 1e-9, "hyst {} best {}", cost, best);
            prop_assert!(cost >= best - 1e-9 * (1.0 + best.abs()));
        }
    }
}

// ---- Bench generator ----------------------------------------------------------------------------

#[test]
fn bench_plans_are_deterministic_and_valid() {
    let a = bench_plans(50, 7);
    assert_eq!(a, bench_plans(50, 7));
    assert_ne!(a, bench_plans(50, 8));
    let mut s = PlanScratch::default();
    let mut out = EvPlan::default();
    for r in &a {
        assert_eq!(r.slots.len(), 96);
        plan_with(r, &mut s, &mut out);
        assert!(
            !matches!(out.reason, PlanReason::InvalidInput(_)),
            "{:?}",
            out.reason
        );
    }
}

/// Guards the oracle tests against a strategy that only produces trivial cases.
#[test]
fn oracle_strategy_covers_all_branches() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strat = arb_request();
    let mut counts = [0usize; 3];
    for _ in 0..2000 {
        let r = strat.new_tree(&mut runner).unwrap().current();
        let p = plan(&r);
        let i = match p.reason {
            PlanReason::TargetReached => 0,
            PlanReason::AlreadyAtTarget => 1,
            _ => 2,
        };
        counts[i] += 1;
    }
    eprintln!("reached / already / short: {counts:?}");
    assert!(counts.iter().all(|&c| c >= 100), "{counts:?}");
}

#[test]
fn planned_slot_domain_units() {
    let p = plan(&req(slots(30, &[1.0]), at(30)));
    let d = p.dispatches[0];
    assert_eq!(d.grid_energy().wh, 3_000);
    assert_eq!(d.battery_energy().kwh(), 3.0);
    assert_eq!(d.power().w, 6_000);
}

// ---- Fast path vs the reference implementation ---------------------------------------------------

fn reference(r: &EvPlanRequest) -> EvPlan {
    let mut s = legacy::PlanScratch::default();
    let mut out = EvPlan::default();
    legacy::plan_with(r, &mut s, &mut out);
    out
}

/// Same plan up to floating-point summation order: times, power, reasons exact; energies within
/// 1 Wh (rounding of a value summed in another order); cost and SoC to 1e-9 relative.
fn assert_same_plan(a: &EvPlan, b: &EvPlan) -> Result<(), TestCaseError> {
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * (1.0 + x.abs().max(y.abs()));
    prop_assert_eq!(a.reason, b.reason, "{:?}\n{:?}", a, b);
    prop_assert_eq!(a.target_reached, b.target_reached);
    prop_assert_eq!(a.prices_incomplete, b.prices_incomplete);
    prop_assert_eq!(a.locked_goal, b.locked_goal);
    prop_assert!(
        (a.shortfall_wh - b.shortfall_wh).abs() <= 1,
        "{:?}\n{:?}",
        a,
        b
    );
    prop_assert!(close(a.total_cost, b.total_cost), "{:?}\n{:?}", a, b);
    prop_assert!(close(a.expected_final_soc_pct, b.expected_final_soc_pct));
    prop_assert_eq!(a.effective_target_soc_pct, b.effective_target_soc_pct);
    prop_assert_eq!(a.dispatches.len(), b.dispatches.len(), "{:?}\n{:?}", a, b);
    for (x, y) in a.dispatches.iter().zip(&b.dispatches) {
        prop_assert_eq!(
            (x.start, x.end, x.power_w),
            (y.start, y.end, y.power_w),
            "{:?}\n{:?}",
            a,
            b
        );
        prop_assert!((x.energy_from_grid_wh - y.energy_from_grid_wh).abs() <= 1);
        prop_assert!((x.energy_into_battery_wh - y.energy_into_battery_wh).abs() <= 1);
    }
    Ok(())
}

#[test]
fn fast_path_matches_reference_on_bench_requests() {
    let mut exact_matches = 0usize;
    let mut all = 0usize;
    for seed in 0..4 {
        for (i, mut r) in bench_plans(500, seed).into_iter().enumerate() {
            match i % 4 {
                0 => r.min_price_step = 0.0,
                1 => r.min_price_step = 0.5,
                2 => r.min_price_step = 2.0,
                _ => {}
            }
            if i % 50 == 0 {
                r.taper = Some(Taper {
                    from_soc_pct: 70.0,
                    power_at_full_pct: 30.0,
                });
            }
            let a = plan(&r);
            let b = reference(&r);
            assert_same_plan(&a, &b).unwrap();
            all += 1;
            exact_matches += usize::from(a == b);
            // Only the cost and SoC sums may differ, in the last bits.
            assert_eq!(a.dispatches, b.dispatches);
            let c = plan_compact(&CompactEvRequest::from_request(&r)).to_plan();
            assert_eq!(a, c, "DateTime and compact forms differ");
        }
    }
    eprintln!("bit-identical to the reference: {exact_matches} of {all}");
}

/// Requests with unsorted, overlapping, gapped and zero-length slots, hysteresis and sub-ms `now`.
fn arb_messy_request() -> impl Strategy<Value = EvPlanRequest> {
    (
        arb_request(),
        prop::collection::vec((0usize..8, 0usize..8), 0..3),
        prop::sample::select(vec![0.0, 0.0, 0.5, 1.0, 3.0]),
        0u32..1_000_000,
        prop::bool::ANY,
    )
        .prop_map(|(mut r, swaps, step, nanos, zero_len)| {
            let n = r.slots.len();
            if n > 0 {
                for (a, b) in swaps {
                    r.slots.swap(a % n, b % n);
                }
                if zero_len {
                    let s = r.slots[n / 2];
                    r.slots.insert(n / 2, Slot { end: s.start, ..s });
                }
            }
            r.min_price_step = step;
            r.now += Duration::nanoseconds(i64::from(nanos));
            r
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn fast_path_matches_reference(r in arb_messy_request()) {
        let a = plan(&r);
        let b = reference(&r);
        assert_same_plan(&a, &b)?;
    }

    #[test]
    fn compact_form_matches_datetime_form(r in arb_request(), step in prop::sample::select(vec![0.0, 0.5, 2.0])) {
        let mut r = r;
        r.min_price_step = step;
        let a = plan(&r);
        let cr = CompactEvRequest::from_request(&r);
        let c = plan_compact(&cr);
        prop_assert_eq!(&c.to_plan(), &a);
        // Explicit times give the same plan as a detected uniform grid.
        if let SlotTimes::Uniform { .. } = cr.slots.times {
            let mut e = cr.clone();
            let n = cr.slots.len();
            e.slots.times = SlotTimes::Explicit {
                start_ms: (0..n).map(|i| cr.slots.start_ms(i)).collect(),
                end_ms: (0..n).map(|i| cr.slots.end_ms(i)).collect(),
            };
            prop_assert_eq!(&plan_compact(&e), &c);
        }
        for (d, p) in c.dispatches.iter().zip(&a.dispatches) {
            prop_assert_eq!(d.to_planned_slot(), *p);
        }
    }
}

#[test]
fn compact_uniform_grid_and_array_errors() {
    let t0 = at(0).timestamp_millis();
    let slots = SlotsMs::uniform(t0, 1_800_000, vec![5.0, 2.0, 9.0, 1.0], vec![]);
    assert_eq!(slots.len(), 4);
    assert_eq!(slots.end_ms(3), t0 + 4 * 1_800_000);
    let r = req(self::slots(30, &[5.0, 2.0, 9.0, 1.0]), at(120));
    let mut c = CompactEvRequest::from_request(&r);
    assert_eq!(c.slots, slots);
    let p = plan_compact(&c);
    assert_eq!(p.to_plan(), plan(&r));
    // The same slots with explicit times plan the same.
    let explicit = SlotsMs::explicit(
        (0..4).map(|i| slots.start_ms(i)).collect(),
        (0..4).map(|i| slots.end_ms(i)).collect(),
        slots.import_price.clone(),
        vec![],
    );
    let mut e = c.clone();
    e.slots = explicit;
    assert_eq!(plan_compact(&e), p);
    // Uniform slots past `ready_by` and before `now`, partly used at both ends.
    let mut u = c.clone();
    u.now_ms = t0 + 20 * 60_000;
    u.ready_by_ms = t0 + 100 * 60_000;
    let mut x = e.clone();
    x.now_ms = u.now_ms;
    x.ready_by_ms = u.ready_by_ms;
    assert_eq!(plan_compact(&u), plan_compact(&x));
    c.slots.carbon_g_per_kwh = vec![1.0];
    assert_eq!(
        plan_compact(&c).reason,
        PlanReason::InvalidInput(InputError::SlotArrays)
    );
    e.slots.import_price.pop();
    assert_eq!(
        plan_compact(&e).reason,
        PlanReason::InvalidInput(InputError::SlotArrays)
    );
    c.slots = SlotsMs::uniform(t0, 0, vec![1.0], vec![]);
    assert_eq!(
        plan_compact(&c).reason,
        PlanReason::InvalidInput(InputError::SlotArrays)
    );
}

#[test]
fn compact_bench_requests_match_datetime_ones() {
    let a = bench_plans(20, 3);
    let b = bench_requests_compact(20, 3);
    assert!(b.iter().all(|r| matches!(
        r.slots.times,
        SlotTimes::Uniform {
            slot_ms: 900_000,
            ..
        }
    )));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(&CompactEvRequest::from_request(x), y);
        assert_eq!(plan_compact(y).to_plan(), plan(x));
    }
}

#[test]
fn branch_free_floor_and_round_match_std() {
    let mut xs = vec![
        0.0,
        -0.0,
        0.3,
        -0.3,
        0.5,
        -0.5,
        1.0,
        -1.0,
        2.5,
        -2.5,
        3.5,
        -3.5,
        2.7,
        -2.7,
        4_503_599_627_370_495.5,
        -4_503_599_627_370_495.5,
        4_503_599_627_370_496.0,
        1e300,
        -1e300,
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        0.49999999999999994,
        -0.49999999999999994,
    ];
    let mut rng = bench_gen::XorShift::new(5);
    for _ in 0..100_000 {
        let x = rng.range(-1e6, 1e6);
        xs.push(x);
        xs.push(x.round() + 0.5);
        xs.push((x * 1e-6).round() * 0.25);
    }
    for &x in &xs {
        assert_eq!(engine::floor_f64(x) + 0.0, x.floor() + 0.0, "floor {x}");
        assert_eq!(engine::round_i64(x), x.round() as i64, "round {x}");
    }
    assert!(engine::floor_f64(f64::NAN).is_nan());
    assert_eq!(engine::floor_f64(f64::INFINITY), f64::INFINITY);
}

#[test]
fn power_of_two_reciprocal_is_exact() {
    for step in [0.5, 1.0, 2.0, 0.25, 0.125, 1024.0, 2f64.powi(-20)] {
        let inv = engine::pow2_reciprocal(step).unwrap();
        let mut rng = bench_gen::XorShift::new(9);
        for _ in 0..20_000 {
            let x = rng.range(-1e4, 1e4);
            assert_eq!((x / step).to_bits(), (x * inv).to_bits(), "{x} / {step}");
        }
    }
    for step in [
        0.3,
        0.1,
        3.0,
        0.0,
        -0.5,
        f64::INFINITY,
        f64::NAN,
        f64::MIN_POSITIVE / 4.0,
        2f64.powi(1023),
    ] {
        assert_eq!(engine::pow2_reciprocal(step), None, "{step}");
    }
}

/// The weighted selection against a sort, on adversarial key patterns (sorted, reversed, few
/// distinct keys, all equal, organ pipe) and random weights.
#[test]
fn marginal_key_matches_sorting() {
    let mut rng = bench_gen::XorShift::new(11);
    for case in 0..4000 {
        let n = 1 + rng.below(300) as usize;
        let keys: Vec<u64> = (0..n)
            .map(|i| match case % 6 {
                0 => rng.next_u64(),
                1 => i as u64,
                2 => (n - i) as u64,
                3 => rng.below(4),
                4 => 7,
                _ => (i.min(n - i)) as u64,
            })
            .collect();
        let durs: Vec<i64> = (0..n)
            .map(|_| {
                if rng.below(4) == 0 {
                    1 + rng.below(900_000) as i64
                } else {
                    900_000
                }
            })
            .collect();
        let total: i64 = durs.iter().sum();
        let t = 1 + rng.below(total as u64 + total as u64 / 8) as i64;
        let mut pairs: Vec<(u64, i64)> = keys.iter().copied().zip(durs.iter().copied()).collect();
        pairs.sort_by_key(|e| e.0);
        let mut expect = (u64::MAX, total);
        let mut acc = 0;
        let mut i = 0;
        while i < n {
            let k = pairs[i].0;
            let before = acc;
            while i < n && pairs[i].0 == k {
                acc += pairs[i].1;
                i += 1;
            }
            if acc >= t {
                expect = (k, before);
                break;
            }
        }
        let mut bufs: [Vec<(u64, i64)>; 3] = Default::default();
        bufs[0] = keys.iter().copied().zip(durs.iter().copied()).collect();
        bufs[1] = vec![(0, 0); n];
        bufs[2] = vec![(0, 0); n];
        let orig = bufs[0].clone();
        assert_eq!(
            engine::marginal_key(&mut bufs, n, t, total),
            expect,
            "case {case}"
        );
        assert_eq!(bufs[0], orig, "input kept");
    }
}
