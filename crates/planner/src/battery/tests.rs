#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use chrono::{Duration, TimeZone};
use proptest::prelude::*;

fn at(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 0, 0, 0).unwrap() + Duration::minutes(min)
}

/// Half-hour slots with the given import prices, export at `export`, constant base load.
fn slots(prices: &[f64], export: f64, load_w: f64, solar_w: f64) -> Vec<EnergySlot> {
    prices
        .iter()
        .enumerate()
        .map(|(i, &p)| EnergySlot {
            start: at(30 * i as i64),
            end: at(30 * (i as i64 + 1)),
            import_price: p,
            export_price: export,
            carbon_g_per_kwh: None,
            base_load_w: load_w,
            solar_w,
        })
        .collect()
}

fn request(slots: Vec<EnergySlot>) -> BatteryPlanRequest {
    BatteryPlanRequest {
        slots,
        grid: GridConnection::default(),
        battery: BatteryModel {
            capacity_wh: 10_000.0,
            ..BatteryModel::default()
        },
        soc_steps: None,
    }
}

fn objective(p: &BatteryPlan) -> f64 {
    p.cost - p.end_value
}

/// The minimum objective over every SoC path on the planner's states, by enumeration, with the
/// planner's end rule: if some path ends at or above the required SoC, the cheapest of those;
/// otherwise the cheapest among the paths ending highest.
fn brute_force(req: &BatteryPlanRequest) -> f64 {
    let b = &req.battery;
    let lat = Lattice::new(b, req.soc_steps.unwrap_or(BATTERY_DEFAULT_STEPS));
    let recovering = lat.start_side == Side::Below;
    let mut target = b.end_soc_pct.unwrap_or(0.0);
    if recovering {
        target = target.max(lat.floor);
    }
    let cap = b.max_continuous_slots;
    // Every finished path: (final SoC, objective).
    let mut ends: Vec<(f64, f64)> = Vec::new();
    #[allow(clippy::too_many_arguments)]
    fn go(
        req: &BatteryPlanRequest,
        lat: &Lattice,
        cap: Option<usize>,
        t: usize,
        state: Option<usize>,
        run: usize,
        acc: f64,
        ends: &mut Vec<(f64, f64)>,
    ) {
        let b = &req.battery;
        let soc = state.map_or(lat.start, |i| lat.soc(i));
        if t == req.slots.len() {
            let value = b.end_value_per_kwh * soc / 100.0 * b.capacity_wh / 1000.0;
            ends.push((soc, acc - value));
            return;
        }
        let slot = &req.slots[t];
        let info = SlotInfo::new(slot, &req.grid);
        // Hold.
        let (_, _, c) = evaluate(&info, &req.grid, b, 0.0).unwrap();
        go(req, lat, cap, t + 1, state, 0, acc + c, ends);
        if cap.is_some_and(|r| run + 1 > r) {
            return;
        }
        for j in 0..lat.len {
            let (ok, delta) = match state {
                None => (lat.allowed_from_start(j), start_delta_wh(lat, j)),
                Some(i) => (
                    i != j && lat.allowed(i, j),
                    (j as f64 - i as f64) * lat.step_wh(),
                ),
            };
            if !ok {
                continue;
            }
            if let Some((_, _, c)) = evaluate(&info, &req.grid, b, delta) {
                go(req, lat, cap, t + 1, Some(j), run + 1, acc + c, ends);
            }
        }
    }
    go(req, &lat, cap, 0, None, 0, 0.0, &mut ends);
    let feasible = ends
        .iter()
        .filter(|e| e.0 >= target - 1e-9)
        .map(|e| e.1)
        .fold(INF, f64::min);
    if feasible.is_finite() {
        return feasible;
    }
    let top = ends.iter().map(|e| e.0).fold(f64::NEG_INFINITY, f64::max);
    ends.iter()
        .filter(|e| e.0 >= top - 1e-9)
        .map(|e| e.1)
        .fold(INF, f64::min)
}

/// Checks every constraint a battery plan must keep; panics with a message otherwise.
fn check_plan(req: &BatteryPlanRequest, plan: &BatteryPlan) {
    let b = &req.battery;
    let (floor, ceiling) = (b.floor_pct(), b.ceiling_pct());
    assert_eq!(plan.slots.len(), req.slots.len());
    let mut soc = b.soc_pct;
    let mut run = 0usize;
    let mut cost = 0.0;
    let mut baseline = 0.0;
    for (s, p) in req.slots.iter().zip(&plan.slots) {
        let h = s.hours();
        let net = s.net_load_w();
        let tol = 1e-6;
        assert_eq!((p.start, p.end), (s.start, s.end));
        assert!(
            (p.grid_w - (net + p.power_w)).abs() < tol,
            "grid = net + power"
        );
        assert!(p.power_w <= b.max_charge_w + tol, "charge limit {p:?}");
        assert!(
            -p.power_w <= b.max_discharge_w + tol,
            "discharge limit {p:?}"
        );
        assert!(
            p.grid_w <= req.grid.limit_w.max(net) + tol
                && p.grid_w >= (-req.grid.limit_w).min(net) - tol,
            "grid limit {p:?}"
        );
        if !req.grid.battery_export && p.power_w < 0.0 {
            assert!(
                -p.power_w <= net.max(0.0) + tol,
                "battery export {p:?} net {net}"
            );
        }
        // SoC dynamics follow the efficiencies.
        let stored_wh = if p.power_w >= 0.0 {
            p.power_w * h * b.charge_efficiency
        } else {
            p.power_w * h / b.discharge_efficiency
        };
        let expect = soc + stored_wh / b.capacity_wh * 100.0;
        assert!((p.soc_end_pct - expect).abs() < 1e-6, "SoC dynamics {p:?}");
        // Bounds: inside the band, or moving towards it from outside.
        let inside = p.soc_end_pct >= floor - 1e-9 && p.soc_end_pct <= ceiling + 1e-9;
        let towards = (p.soc_end_pct < floor && p.soc_end_pct >= soc - 1e-9)
            || (p.soc_end_pct > ceiling && p.soc_end_pct <= soc + 1e-9);
        assert!(inside || towards, "SoC bounds {p:?} from {soc}");
        if p.power_w != 0.0 {
            run += 1;
            if let Some(r) = b.max_continuous_slots {
                assert!(run <= r, "run-length cap");
            }
        } else {
            run = 0;
        }
        soc = p.soc_end_pct;
        cost += req.grid.cost(s, p.grid_w) + b.degradation_per_kwh * p.power_w.abs() * h / 1000.0;
        baseline += req.grid.cost(s, net);
    }
    assert!(
        (cost - plan.cost).abs() < 1e-9 * (1.0 + cost.abs()),
        "cost {cost} vs {}",
        plan.cost
    );
    assert!((baseline - plan.baseline_cost).abs() < 1e-9 * (1.0 + baseline.abs()));
    let value = b.end_value_per_kwh * soc / 100.0 * b.capacity_wh / 1000.0;
    assert!((value - plan.end_value).abs() < 1e-9 * (1.0 + value.abs()));
    // Never worse than idling, when idling is allowed.
    let idle_ok = b.end_soc_pct.is_none_or(|e| b.soc_pct >= e) && b.soc_pct >= floor;
    if idle_ok {
        let idle = baseline - b.end_value_per_kwh * b.soc_pct / 100.0 * b.capacity_wh / 1000.0;
        assert!(objective(plan) <= idle + 1e-9, "worse than idle");
    }
}

prop_compose! {
    fn small_request(max_slots: usize, max_steps: usize)(
        n in 1..=max_slots,
        steps in 1..=max_steps,
        floor in 0.0..30.0f64,
        width in 20.0..70.0f64,
        start_off in -10.0..80.0f64,
        capacity in 1_000.0..20_000.0f64,
        max_ch in 0.0..8_000.0f64,
        max_dis in 0.0..8_000.0f64,
        eff_c in 0.8..1.0f64,
        eff_d in 0.8..1.0f64,
        degradation in 0.0..0.05f64,
        end_value in -0.05..0.3f64,
        end_soc in proptest::option::of(0.0..100.0f64),
        cap in proptest::option::of(0usize..4),
        limit in 500.0..15_000.0f64,
        export in any::<bool>(),
        prices in proptest::collection::vec(-0.1..0.5f64, 8),
        exports in proptest::collection::vec(-0.05..0.3f64, 8),
        loads in proptest::collection::vec(0.0..4_000.0f64, 8),
        solar in proptest::collection::vec(0.0..5_000.0f64, 8),
    ) -> BatteryPlanRequest {
        let ceiling = (floor + width).min(100.0);
        let mut slots = slots(&prices[..n], 0.0, 0.0, 0.0);
        for (i, s) in slots.iter_mut().enumerate() {
            s.export_price = exports[i];
            s.base_load_w = loads[i];
            s.solar_w = solar[i];
        }
        BatteryPlanRequest {
            slots,
            grid: GridConnection { limit_w: limit, battery_export: export, carbon_weight: 0.0 },
            battery: BatteryModel {
                capacity_wh: capacity,
                soc_pct: (floor + start_off).clamp(0.0, 100.0).min(ceiling + 10.0),
                min_soc_pct: floor,
                max_soc_pct: ceiling,
                reserve_pct: 0.0,
                end_soc_pct: end_soc,
                max_charge_w: max_ch,
                max_discharge_w: max_dis,
                charge_efficiency: eff_c,
                discharge_efficiency: eff_d,
                degradation_per_kwh: degradation,
                end_value_per_kwh: end_value,
                max_continuous_slots: cap,
            },
            soc_steps: Some(steps),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// (1) The DP's objective equals the enumerated minimum over every path on its states.
    #[test]
    fn dp_matches_brute_force(req in small_request(5, 6)) {
        let plan = plan_battery(&req);
        prop_assert!(plan.input_error.is_none());
        let best = brute_force(&req);
        let got = objective(&plan);
        prop_assert!((got - best).abs() <= 1e-9, "dp {got} brute force {best} ({:?})", plan.outcome);
        check_plan(&req, &plan);
    }

    /// (2) Every plan respects SoC bounds, power, grid and export limits and the run-length cap.
    #[test]
    fn plans_respect_constraints(req in small_request(8, 400), reps in 1usize..6) {
        // Longer horizons: repeat the slot pattern.
        let mut req = req;
        let base = req.slots.clone();
        for k in 1..reps {
            for s in &base {
                let mut s = *s;
                s.start += Duration::hours(4 * k as i64);
                s.end += Duration::hours(4 * k as i64);
                req.slots.push(s);
            }
        }
        req.soc_steps = if reps % 2 == 0 { None } else { req.soc_steps };
        let plan = plan_battery(&req);
        check_plan(&req, &plan);
    }
}

#[test]
fn generated_requests_plan_within_constraints() {
    for req in crate::bench_battery_requests(40, 7) {
        let plan = plan_battery(&req);
        assert!(plan.input_error.is_none());
        check_plan(&req, &plan);
    }
}

/// (3) Cheap night, expensive peak: charge at night, discharge at the peak, save money.
#[test]
fn charges_at_night_discharges_at_peak() {
    let mut prices = vec![0.20; 48];
    prices[..8].fill(0.05);
    prices[32..38].fill(0.40);
    let mut req = request(slots(&prices, 0.0, 800.0, 0.0));
    req.battery.soc_pct = 20.0;
    let plan = plan_battery(&req);
    check_plan(&req, &plan);
    assert_eq!(plan.outcome, BatteryOutcome::Optimal);
    assert!(plan.slots[..8].iter().any(|s| s.power_w > 0.0));
    assert!(plan.slots[..8].iter().all(|s| s.power_w >= 0.0));
    assert!(
        plan.slots[32..38].iter().all(|s| s.power_w < 0.0),
        "{:?}",
        &plan.slots[32..38]
    );
    // No battery export: the peak discharge covers the load up to one lattice step (45 Wh
    // stored per half hour, under 90 W).
    assert!(
        plan.slots[32..38]
            .iter()
            .all(|s| s.grid_w >= -1e-6 && s.grid_w < 90.0)
    );
    assert!(
        plan.cost < plan.baseline_cost - 0.5,
        "{} vs {}",
        plan.cost,
        plan.baseline_cost
    );
}

/// With export enabled and a high export price at the peak, the battery exports up to its limit.
#[test]
fn exports_at_peak_when_allowed() {
    let mut prices = vec![0.20; 48];
    prices[..8].fill(0.05);
    let mut req = request(slots(&prices, 0.0, 300.0, 0.0));
    for s in &mut req.slots[32..38] {
        s.export_price = 0.60;
    }
    req.grid.battery_export = true;
    let plan = plan_battery(&req);
    check_plan(&req, &plan);
    assert!(plan.slots[32..38].iter().any(|s| s.grid_w < -1_000.0));
    req.grid.battery_export = false;
    let plan = plan_battery(&req);
    check_plan(&req, &plan);
    assert!(plan.slots.iter().all(|s| s.grid_w >= -1e-6));
}

/// (4) Negative prices: charges then, and never discharges in those slots.
#[test]
fn negative_prices_charge() {
    let mut prices = vec![0.20; 24];
    prices[10..14].fill(-0.10);
    let mut req = request(slots(&prices, -0.12, 400.0, 0.0));
    req.battery.soc_pct = 30.0;
    req.grid.battery_export = true;
    let plan = plan_battery(&req);
    check_plan(&req, &plan);
    assert!(plan.slots[10..14].iter().all(|s| s.power_w >= 0.0));
    assert!(plan.slots[10..14].iter().any(|s| s.power_w > 0.0));
    assert!(plan.cost < plan.baseline_cost);
}

/// (5) Invalid input holds with a typed reason, never panics.
#[test]
fn invalid_input_holds() {
    let base = request(slots(&[0.1, 0.3, 0.1], 0.05, 500.0, 0.0));
    let mut cases = Vec::new();
    let mut r = base.clone();
    r.slots[1].import_price = f64::NAN;
    cases.push((r, BatteryInputError::SlotValue));
    let mut r = base.clone();
    r.battery.capacity_wh = 0.0;
    cases.push((r, BatteryInputError::Capacity));
    let mut r = base.clone();
    r.battery.soc_pct = f64::NAN;
    cases.push((r, BatteryInputError::Soc));
    let mut r = base.clone();
    r.battery.charge_efficiency = 0.0;
    cases.push((r, BatteryInputError::Efficiency));
    let mut r = base.clone();
    r.battery.max_charge_w = f64::INFINITY;
    cases.push((r, BatteryInputError::Power));
    let mut r = base.clone();
    r.grid.limit_w = f64::NAN;
    cases.push((r, BatteryInputError::Grid));
    let mut r = base.clone();
    r.slots.swap(0, 2);
    cases.push((r, BatteryInputError::SlotOrder));
    let mut r = base.clone();
    r.soc_steps = Some(0);
    cases.push((r, BatteryInputError::Steps));
    for (req, err) in cases {
        let plan = plan_battery(&req);
        assert_eq!(plan.outcome, BatteryOutcome::Hold);
        assert_eq!(plan.input_error, Some(err));
        assert_eq!(plan.slots.len(), req.slots.len());
        assert!(plan.slots.iter().all(|s| s.power_w == 0.0));
    }
}

#[test]
fn flat_prices_hold() {
    // Stored energy is worth what it saves, so cycling only loses.
    let mut req = request(slots(&[0.2; 12], 0.2, 500.0, 0.0));
    req.battery.end_value_per_kwh = 0.2;
    let plan = plan_battery(&req);
    assert_eq!(plan.outcome, BatteryOutcome::Hold);
    assert!(plan.slots.iter().all(|s| s.power_w == 0.0));
    assert_eq!(plan.cost, plan.baseline_cost);
    let empty = plan_battery(&request(Vec::new()));
    assert_eq!(empty.outcome, BatteryOutcome::Hold);
    assert!(empty.slots.is_empty());
}

#[test]
fn below_floor_recovers_without_discharging() {
    let mut prices = vec![0.30; 16];
    prices[6..10].fill(0.10);
    let mut req = request(slots(&prices, 0.0, 500.0, 0.0));
    req.battery.soc_pct = 3.0;
    req.battery.reserve_pct = 20.0;
    let plan = plan_battery(&req);
    check_plan(&req, &plan);
    assert_eq!(plan.outcome, BatteryOutcome::Recovering);
    let mut soc = 3.0;
    for s in &plan.slots {
        if soc < 20.0 - 1e-9 {
            assert!(s.power_w >= 0.0);
        }
        soc = s.soc_end_pct;
    }
    assert!(soc >= 20.0 - 1e-9);
    // The recovery charge goes into the cheap slots.
    assert!(plan.slots[..6].iter().all(|s| s.power_w <= 0.0));
}

#[test]
fn unreachable_end_soc_gets_as_close_as_possible() {
    let mut req = request(slots(&[0.2, 0.1, 0.3, 0.2], 0.0, 500.0, 0.0));
    req.battery.soc_pct = 20.0;
    req.battery.max_charge_w = 1_000.0;
    req.battery.charge_efficiency = 1.0;
    req.battery.end_soc_pct = Some(90.0);
    // 4 slots × 0.5 kWh = 2 kWh = 20 % of 10 kWh: the best is 40 %.
    let plan = plan_battery(&req);
    check_plan(&req, &plan);
    let end = plan.slots.last().unwrap().soc_end_pct;
    assert!((end - 40.0).abs() < 0.5, "{end}");
    assert!(plan.slots.iter().all(|s| s.power_w > 0.0));
}

#[test]
fn run_length_cap_splits_charging() {
    let mut prices = vec![0.30; 16];
    prices[2..10].fill(0.05);
    let mut req = request(slots(&prices, 0.0, 0.0, 0.0));
    req.battery.soc_pct = 10.0;
    req.battery.max_charge_w = 1_000.0;
    req.battery.end_soc_pct = Some(60.0);
    req.battery.max_continuous_slots = Some(3);
    let plan = plan_battery(&req);
    check_plan(&req, &plan);
    let uncapped = plan_battery(&BatteryPlanRequest {
        battery: BatteryModel {
            max_continuous_slots: None,
            ..req.battery
        },
        ..req.clone()
    });
    assert!(objective(&plan) > objective(&uncapped) + 1e-6);
}

/// Reused buffers give the same plans as fresh ones, whatever was planned before.
#[test]
fn scratch_reuse_matches_fresh_plans() {
    let mut reqs = crate::bench_battery_requests(24, 3);
    reqs[5].battery.max_continuous_slots = Some(2);
    reqs[7].battery.end_soc_pct = Some(100.0);
    reqs[9].slots.truncate(7);
    reqs[11].soc_steps = Some(37);
    let mut scratch = BatteryScratch::default();
    let mut out = BatteryPlan::default();
    for req in reqs.iter().chain(reqs.iter().rev()) {
        plan_battery_with(req, &mut scratch, &mut out);
        assert_eq!(out, plan_battery(req));
    }
}

#[test]
fn degenerate_band_and_slots_do_not_panic() {
    let mut prices = vec![0.30; 8];
    prices[2] = 0.05;
    let base = request(slots(&prices, 0.0, 500.0, 0.0));
    // Floor equals ceiling: at the band the battery can only hold.
    let mut r = base.clone();
    r.battery.min_soc_pct = 50.0;
    r.battery.max_soc_pct = 50.0;
    r.battery.reserve_pct = 0.0;
    let plan = plan_battery(&r);
    check_plan(&r, &plan);
    assert_eq!(plan.outcome, BatteryOutcome::Hold);
    // Below such a band it recovers to it.
    r.battery.soc_pct = 30.0;
    let plan = plan_battery(&r);
    check_plan(&r, &plan);
    assert_eq!(plan.outcome, BatteryOutcome::Recovering);
    assert!((plan.slots.last().unwrap().soc_end_pct - 50.0).abs() < 1e-9);
    // Above the ceiling it may only come down.
    let mut r = base.clone();
    r.battery.soc_pct = 100.0;
    r.battery.max_soc_pct = 80.0;
    let plan = plan_battery(&r);
    check_plan(&r, &plan);
    // Huge powers, a zero-length slot and a gap.
    let mut r = base.clone();
    r.battery.max_charge_w = 1e7;
    r.battery.max_discharge_w = 1e7;
    r.slots[4].end = r.slots[4].start;
    r.slots.remove(6);
    r.grid.battery_export = true;
    let plan = plan_battery(&r);
    check_plan(&r, &plan);
    assert_eq!(plan.slots[4].power_w, 0.0);
    // Very fine steps are coarsened to the minimum step.
    let mut r = base.clone();
    r.soc_steps = Some(1_000_000);
    let plan = plan_battery(&r);
    check_plan(&r, &plan);
    assert!(plan.soc_steps <= ((90.0 / BATTERY_MIN_STEP_PCT) as usize));
}
