#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Duration, TimeZone, Timelike};
use proptest::prelude::*;
use resiflex_domain::heat::HeatPumpActivity;

use super::*;
use crate::heat::ThermalMode;
use crate::thermal::{Building, CopModel};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

/// Half-hours from midnight: 7p at night, 25p by day, 60p from 16:00 to 19:00.
fn day(n: usize) -> Vec<EnergySlot> {
    (0..n)
        .map(|i| {
            let start = t0() + Duration::minutes(30 * i as i64);
            let hour = start.hour();
            let import_price = match hour {
                0..=5 => 7.0,
                16..=18 => 60.0,
                _ => 25.0,
            };
            EnergySlot {
                start,
                end: start + Duration::minutes(30),
                import_price,
                export_price: 5.0,
                carbon_g_per_kwh: None,
                base_load_w: 400.0,
                solar_w: 0.0,
            }
        })
        .collect()
}

fn heat_pump(indoor_c: f64) -> HeatPumpModel {
    HeatPumpModel {
        mode: ThermalMode::Heat,
        building: Building {
            heat_loss_w_per_k: 180.0,
            thermal_mass_wh_per_k: 6_000.0,
        },
        cop: CopModel::default(),
        indoor_c,
        max_power_w: 3_000.0,
        min_power_w: 900.0,
        min_run_slots: 2,
        min_off_slots: 1,
        running_for_slots: -2,
        comfort_penalty_per_c_h: 1_000.0,
    }
}

fn band(slots: &[EnergySlot], outdoor_c: f64) -> Vec<ComfortSlot> {
    slots
        .iter()
        .map(|_| ComfortSlot {
            min_c: 20.0,
            max_c: 23.0,
            setpoint_c: 20.0,
            outdoor_c,
        })
        .collect()
}

fn request(slots: Vec<EnergySlot>) -> HouseholdRequest {
    HouseholdRequest {
        slots,
        grid: GridConnection::default(),
        ev: None,
        heat: None,
        battery: None,
        time_limit: Duration::seconds(5).to_std().unwrap(),
    }
}

#[test]
fn a_cold_evening_peak_is_pre_heated_for() {
    let slots = day(48);
    let comfort = band(&slots, 2.0);
    let plan = plan_household(&HouseholdRequest {
        heat: Some((heat_pump(20.5), comfort.clone())),
        ..request(slots.clone())
    });
    assert_eq!(plan.status, SolveStatus::Optimal);
    assert!(
        plan.comfort_violation_c_h < 1e-6,
        "{}",
        plan.comfort_violation_c_h
    );
    let drawn = |from: u32, to: u32| -> f64 {
        plan.heat
            .iter()
            .filter(|h| (from..to).contains(&h.start.hour()))
            .map(|h| h.power_w)
            .sum()
    };
    assert!(
        drawn(16, 19) < drawn(13, 16),
        "peak {} before {}",
        drawn(16, 19),
        drawn(13, 16)
    );
    assert!(
        plan.heat
            .iter()
            .any(|h| h.activity == HeatPumpActivity::PreHeating && h.end.hour() <= 16)
    );
    assert!(
        plan.cost < plan.baseline_cost,
        "{} vs {}",
        plan.cost,
        plan.baseline_cost
    );
}

#[test]
fn cooling_pre_cools_ahead_of_the_peak() {
    let slots = day(48);
    let comfort: Vec<ComfortSlot> = slots
        .iter()
        .map(|_| ComfortSlot {
            min_c: 22.0,
            max_c: 25.0,
            setpoint_c: 25.0,
            outdoor_c: 32.0,
        })
        .collect();
    let model = HeatPumpModel {
        mode: ThermalMode::Cool,
        ..heat_pump(24.5)
    };
    let plan = plan_household(&HouseholdRequest {
        heat: Some((model, comfort)),
        ..request(slots)
    });
    assert_eq!(plan.status, SolveStatus::Optimal);
    assert!(plan.comfort_violation_c_h < 1e-6);
    assert!(
        plan.heat
            .iter()
            .any(|h| h.activity == HeatPumpActivity::PreCooling)
    );
    assert!(plan.heat.iter().all(|h| h.heat_w <= 0.0));
}

#[test]
fn a_household_shares_its_connection_and_the_battery_covers_the_peak() {
    let slots = day(48);
    let comfort = band(&slots, -3.0);
    let grid = GridConnection {
        limit_w: 9_000.0,
        ..GridConnection::default()
    };
    let plan = plan_household(&HouseholdRequest {
        grid,
        ev: Some(EvDemand {
            energy_wh: 30_000.0,
            ready_by: t0() + Duration::hours(7),
            max_power_w: 7_400.0,
        }),
        heat: Some((heat_pump(20.0), comfort)),
        battery: Some(BatteryModel {
            soc_pct: 20.0,
            ..BatteryModel::default()
        }),
        ..request(slots.clone())
    });
    assert_eq!(plan.status, SolveStatus::Optimal);
    assert!(plan.ev_shortfall_wh < 1e-3, "{}", plan.ev_shortfall_wh);
    assert!(
        plan.grid_w.iter().all(|g| *g <= 9_000.0 + 1e-3),
        "{:?}",
        plan.grid_w
    );
    let peak_discharge: f64 = plan
        .battery
        .iter()
        .zip(&slots)
        .filter(|(_, s)| (16..19).contains(&s.start.hour()))
        .map(|(b, _)| -b.power_w.min(0.0))
        .sum();
    assert!(peak_discharge > 1_000.0, "{:?}", plan.battery);
    assert!(plan.cost < plan.baseline_cost);
}

#[test]
fn no_time_is_no_proof_but_a_plan_all_the_same() {
    let slots = day(48);
    let comfort = band(&slots, 0.0);
    let plan = plan_household(&HouseholdRequest {
        heat: Some((heat_pump(20.0), comfort)),
        battery: Some(BatteryModel::default()),
        time_limit: std::time::Duration::ZERO,
        ..request(slots)
    });
    assert_ne!(plan.status, SolveStatus::Optimal);
    assert_eq!(plan.heat.len(), 48);
    assert_eq!(plan.battery.len(), 48);
}

#[test]
fn invalid_input_falls_back_without_panicking() {
    let mut slots = day(4);
    slots[1].import_price = f64::NAN;
    let plan = plan_household(&HouseholdRequest {
        heat: Some((heat_pump(20.0), band(&slots, 5.0))),
        ..request(slots)
    });
    assert_eq!(plan.status, SolveStatus::Fallback);
    assert_eq!(plan.heat.len(), 4);
    let empty = plan_household(&request(Vec::new()));
    assert_eq!(empty.status, SolveStatus::Fallback);
}

/// An independent optimum for a heat pump and a battery over a few slots: every on/off pattern
/// of the heat pump that its run and rest times allow, times every charge-or-discharge choice of
/// the battery, each a small LP written out directly (temperatures and charge as sums of the
/// powers); the least objective of them all.
fn brute_force(request: &HouseholdRequest) -> f64 {
    let slots = &request.slots;
    let n = slots.len();
    let (model, comfort) = request.heat.as_ref().unwrap();
    let battery = request.battery.unwrap();
    let allowed = |pattern: u32| -> bool {
        // Run lengths against the minimum run and rest, with the history before the first slot.
        let mut state = model.running_for_slots > 0;
        let mut length = model.running_for_slots.unsigned_abs() as usize;
        for t in 0..n {
            let on = pattern >> t & 1 == 1;
            if on != state {
                let needed = if state {
                    model.min_run_slots
                } else {
                    model.min_off_slots
                };
                if length < needed {
                    return false;
                }
                state = on;
                length = 0;
            }
            length += 1;
        }
        true
    };
    let mut best = f64::INFINITY;
    for pattern in (0..1u32 << n).filter(|p| allowed(*p)) {
        for direction in 0..1u32 << n {
            let mut p = Problem::new(OptimizationDirection::Minimize);
            let mut temp_terms: Vec<Vec<(Variable, f64)>> = Vec::new();
            let mut energy_terms: Vec<(Variable, f64)> = Vec::new();
            let mut constant_t = model.indoor_c;
            let mut heat_vars: Vec<(Variable, f64)> = Vec::new();
            let start_kwh = battery.capacity_wh / 1000.0 * battery.soc_pct / 100.0;
            for (t, (slot, c)) in slots.iter().zip(comfort).enumerate() {
                let h = slot.hours();
                let on = pattern >> t & 1 == 1;
                let hp = if on {
                    p.add_var(
                        0.0,
                        (model.min_power_w / 1000.0, model.max_power_w / 1000.0),
                    )
                } else {
                    p.add_var(0.0, (0.0, 0.0))
                };
                let charging = direction >> t & 1 == 1;
                let wear = battery.degradation_per_kwh * h;
                let ch = p.add_var(
                    wear,
                    (
                        0.0,
                        if charging {
                            battery.max_charge_w / 1000.0
                        } else {
                            0.0
                        },
                    ),
                );
                let dis = p.add_var(
                    wear,
                    (
                        0.0,
                        if charging {
                            0.0
                        } else {
                            battery.max_discharge_w / 1000.0
                        },
                    ),
                );
                let price = request.grid.effective_import_price(slot);
                let imp = p.add_var(price * h, (0.0, request.grid.limit_w / 1000.0));
                let exp = p.add_var(
                    -slot.export_price.min(price) * h,
                    (0.0, request.grid.limit_w / 1000.0),
                );
                p.add_constraint(
                    expr(&[(imp, 1.0), (exp, -1.0), (hp, -1.0), (ch, -1.0), (dis, 1.0)]),
                    ComparisonOp::Eq,
                    (slot.base_load_w - slot.solar_w) / 1000.0,
                );
                // The temperature at the end of slot t as a sum over the powers so far.
                let step = model.building.step_coefficients(h);
                for (_, coefficient) in heat_vars.iter_mut() {
                    *coefficient *= step.a;
                }
                heat_vars.push((hp, 1000.0 * step.c * model.heat_per_watt(c.outdoor_c)));
                constant_t = step.a * constant_t + step.b * c.outdoor_c;
                let below = p.add_var(model.comfort_penalty_per_c_h * h, (0.0, f64::INFINITY));
                let above = p.add_var(model.comfort_penalty_per_c_h * h, (0.0, f64::INFINITY));
                let mut lower = heat_vars.clone();
                lower.push((below, 1.0));
                p.add_constraint(expr(&lower), ComparisonOp::Ge, c.min_c - constant_t);
                let mut upper = heat_vars.clone();
                upper.push((above, -1.0));
                p.add_constraint(expr(&upper), ComparisonOp::Le, c.max_c - constant_t);
                temp_terms.push(heat_vars.clone());
                // The stored energy after slot t.
                energy_terms.push((ch, h * battery.charge_efficiency));
                energy_terms.push((dis, -h / battery.discharge_efficiency));
                let capacity = battery.capacity_wh / 1000.0;
                p.add_constraint(
                    expr(&energy_terms),
                    ComparisonOp::Ge,
                    capacity * battery.floor_pct() / 100.0 - start_kwh,
                );
                p.add_constraint(
                    expr(&energy_terms),
                    ComparisonOp::Le,
                    capacity * battery.ceiling_pct() / 100.0 - start_kwh,
                );
            }
            if let Ok(solution) = p.solve() {
                best = best.min(solution.objective());
            }
        }
    }
    best
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_plan_is_as_cheap_as_every_pattern_tried_one_by_one(
        prices in proptest::collection::vec(-10.0f64..60.0, 4),
        export in 0.0f64..10.0,
        indoor in 19.0f64..22.0,
        outdoor in -5.0f64..12.0,
        soc in 15.0f64..90.0,
        history in -2i64..3,
    ) {
        let mut slots = day(4);
        for (slot, price) in slots.iter_mut().zip(&prices) {
            slot.import_price = *price;
            slot.export_price = export.min(*price);
        }
        let model = HeatPumpModel {
            running_for_slots: if history == 0 { -1 } else { history },
            ..heat_pump(indoor)
        };
        let battery = BatteryModel {
            capacity_wh: 5_000.0,
            soc_pct: soc,
            max_charge_w: 2_500.0,
            max_discharge_w: 2_500.0,
            degradation_per_kwh: 0.5,
            ..BatteryModel::default()
        };
        let req = HouseholdRequest {
            grid: GridConnection { battery_export: true, ..GridConnection::default() },
            heat: Some((model, band(&slots, outdoor))),
            battery: Some(battery),
            ..request(slots)
        };
        let plan = plan_household(&req);
        prop_assert_eq!(plan.status, SolveStatus::Optimal);
        let oracle = brute_force(&req);
        prop_assert!((plan.objective - oracle).abs() < 1e-6 * (1.0 + oracle.abs()), "plan {} oracle {}", plan.objective, oracle);
        // What the plan does is what the model says it does.
        for step in &plan.battery {
            prop_assert!(step.soc_end_pct >= battery.floor_pct().min(soc) - 1e-6);
            prop_assert!(step.soc_end_pct <= battery.ceiling_pct().max(soc) + 1e-6);
        }
        for h in &plan.heat {
            prop_assert!(h.power_w == 0.0 || h.power_w >= 900.0 - 1e-6);
        }
    }

    #[test]
    fn plans_keep_every_limit(
        seed in 0u64..1_000,
        limit in 6_000.0f64..14_000.0,
    ) {
        let mut req = bench_household_requests(1, seed).remove(0);
        req.grid.limit_w = limit;
        req.time_limit = std::time::Duration::from_secs(5);
        let plan = plan_household(&req);
        prop_assert!(plan.status != SolveStatus::Fallback);
        let (model, comfort) = req.heat.clone().unwrap();
        let battery = req.battery.unwrap();
        for (t, slot) in req.slots.iter().enumerate() {
            let own = slot.base_load_w - slot.solar_w;
            prop_assert!(plan.grid_w[t] <= limit.max(own) + 1e-3, "slot {t}: {} > {limit}", plan.grid_w[t]);
            prop_assert!(plan.ev_w[t] <= 7_400.0 + 1e-6);
            let soc = plan.battery[t].soc_end_pct;
            prop_assert!(soc >= battery.floor_pct().min(battery.soc_pct) - 1e-6 && soc <= battery.ceiling_pct().max(battery.soc_pct) + 1e-6);
            let h = &plan.heat[t];
            prop_assert!(h.power_w == 0.0 || (h.power_w >= model.min_power_w - 1e-6 && h.power_w <= model.max_power_w + 1e-6));
        }
        // Minimum run: no run of one slot (min run 2) except one still owed from before or cut by the horizon.
        let on: Vec<bool> = plan.heat.iter().map(|h| h.power_w > 0.0).collect();
        for t in 1..on.len().saturating_sub(1) {
            prop_assert!(!(on[t] && !on[t - 1] && !on[t + 1]), "a one-slot run at {t}: {on:?}");
        }
        // Comfort is kept wherever the heat pump is big enough to keep it.
        if plan.comfort_violation_c_h > 1e-6 {
            let full = crate::heat::simulate(&model, &req.slots, &comfort, vec![model.max_power_w; req.slots.len()]);
            prop_assert!(full.iter().zip(&comfort).any(|(f, c)| f.indoor_end_c < c.min_c - 1e-6 || f.indoor_end_c > c.max_c + 1e-6) || plan.status != SolveStatus::Optimal);
        }
    }
}

#[test]
fn a_slot_that_charges_and_discharges_keeps_only_the_net_flow_and_the_bounds() {
    let slots = day(4);
    let b = BatteryModel {
        capacity_wh: 10_000.0,
        soc_pct: 85.0,
        max_soc_pct: 90.0,
        min_soc_pct: 10.0,
        charge_efficiency: 0.95,
        discharge_efficiency: 0.95,
        ..BatteryModel::default()
    };
    // kW per slot: both at once (net 1 kW charging), more charge than the 0.5 kWh of room,
    // a deep discharge, and both at once netting to nothing.
    let charge = [3.0, 5.0, 0.0, 2.0];
    let discharge = [2.0, 0.0, 30.0, 2.0];
    let (steps, powers) = battery_steps(&b, &slots, &charge, &discharge);
    assert_eq!(powers.len(), 4);
    assert!((powers[0] - 1_000.0).abs() < 1e-9, "{powers:?}");
    let after_first = 8_500.0 + 0.5 * 1_000.0 * 0.95;
    assert!((steps[0].soc_end_pct - after_first / 100.0).abs() < 1e-9);
    // Only what fits under 90 % is charged.
    let room = 9_000.0 - after_first;
    assert!((powers[1] - room / (0.5 * 0.95)).abs() < 1e-6, "{powers:?}");
    assert!((steps[1].soc_end_pct - 90.0).abs() < 1e-9);
    // The discharge stops at the 10 % floor.
    assert!((steps[2].soc_end_pct - 10.0).abs() < 1e-9, "{steps:?}");
    assert!(
        (powers[2] + 8_000.0 * 0.95 / 0.5).abs() < 1e-6,
        "{powers:?}"
    );
    assert_eq!(powers[3], 0.0);
    assert!(steps.iter().zip(&powers).all(|(s, p)| s.power_w == *p));
}

/// Run and rest lengths of `on` against the model's minimums, with the history before the first
/// slot; a run or rest the horizon cuts short is allowed.
fn keeps_run_and_rest(model: &HeatPumpModel, on: &[bool]) -> bool {
    let mut state = model.running_for_slots > 0;
    let mut length = model.running_for_slots.unsigned_abs() as usize;
    for &now in on {
        if now != state {
            let needed = if state {
                model.min_run_slots
            } else {
                model.min_off_slots
            };
            if length < needed.max(1) {
                return false;
            }
            state = now;
            length = 0;
        }
        length += 1;
    }
    true
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A heat pump alone is planned by its dynamic programme; the MILP of the same home is the
    /// independent check.
    #[test]
    fn a_heat_pump_alone_costs_what_the_milp_proves_optimal(
        prices in proptest::collection::vec(-10.0f64..60.0, 16),
        export in -5.0f64..10.0,
        solar in proptest::collection::vec(0.0f64..4_000.0, 16),
        n in 6usize..16,
        indoor in 17.0f64..24.0,
        outdoor in -8.0f64..30.0,
        cooling in proptest::bool::ANY,
        history in -3i64..4,
        run in 1usize..4,
        rest in 1usize..3,
        floor in 0.0f64..0.6,
        limit in 2_000.0f64..14_000.0,
        carbon in 0.0f64..0.05,
    ) {
        let mut slots = day(n);
        for (t, slot) in slots.iter_mut().enumerate() {
            slot.import_price = prices[t];
            slot.export_price = export;
            slot.solar_w = solar[t];
            slot.carbon_g_per_kwh = Some(100.0 + 10.0 * t as f64);
        }
        let mode = if cooling { ThermalMode::Cool } else { ThermalMode::Heat };
        let model = HeatPumpModel {
            mode,
            min_power_w: floor * 3_000.0,
            min_run_slots: run,
            min_off_slots: rest,
            running_for_slots: history,
            ..heat_pump(indoor)
        };
        let comfort: Vec<ComfortSlot> = slots
            .iter()
            .enumerate()
            .map(|(t, _)| ComfortSlot {
                min_c: if t % 5 == 4 { 21.0 } else { 19.5 },
                max_c: 23.0,
                setpoint_c: if cooling { 23.0 } else { 19.5 },
                outdoor_c: outdoor + (t % 4) as f64,
            })
            .collect();
        let req = HouseholdRequest {
            grid: GridConnection { limit_w: limit, battery_export: false, carbon_weight: carbon },
            heat: Some((model, comfort.clone())),
            ..request(slots)
        };
        let plan = plan_household(&req);
        prop_assert_eq!(plan.status, SolveStatus::Optimal);
        let milp = solve(&req, &[], std::time::Duration::from_secs(20)).unwrap();
        prop_assume!(milp.status == SolveStatus::Optimal);
        prop_assert!(
            (plan.objective - milp.objective).abs() < 1e-6 * (1.0 + milp.objective.abs()),
            "dynamic programme {} MILP {}", plan.objective, milp.objective
        );
        let on: Vec<bool> = plan.heat.iter().map(|h| h.power_w > 0.0).collect();
        prop_assert!(keeps_run_and_rest(&model, &on), "{on:?}");
        for (t, h) in plan.heat.iter().enumerate() {
            prop_assert!(h.power_w <= model.max_power_w + 1e-6);
            if model.min_power_w > 0.0 || run > 1 || rest > 1 {
                prop_assert!(h.power_w == 0.0 || h.power_w >= model.min_power_w - 1e-6);
            }
            let own = req.slots[t].base_load_w - req.slots[t].solar_w;
            prop_assert!(plan.grid_w[t] <= limit.max(own) + 1e-6);
        }
    }
}

/// The household's model as first written, kept as an independent formulation: temperature
/// variables with the comfort band as two soft bounds per slot, the floor as
/// `min·u ≤ hp ≤ max·u`, and an export variable in every slot. Its optimum with the same
/// slots made exclusive for the battery.
fn reference_objective(request: &HouseholdRequest, exclusive: &[usize]) -> Option<f64> {
    let slots = &request.slots;
    let n = slots.len();
    let grid = request.grid;
    let limit = grid.limit_w / 1000.0;
    let mut p = Problem::new(OptimizationDirection::Minimize);
    let ev: Vec<Option<Variable>> = match request.ev {
        Some(demand) if demand.energy_wh > 0.0 => slots
            .iter()
            .map(|s| {
                let cap = demand.max_power_w / 1000.0 * share_before(s, demand.ready_by);
                (cap > 0.0).then(|| p.add_var(0.0, (0.0, cap)))
            })
            .collect(),
        _ => vec![None; n],
    };
    if let Some(demand) = request.ev.filter(|d| d.energy_wh > 0.0) {
        let short = p.add_var(EV_SHORTFALL_PENALTY, (0.0, f64::INFINITY));
        let mut terms: Vec<(Variable, f64)> = slots
            .iter()
            .zip(&ev)
            .filter_map(|(s, v)| v.map(|v| (v, s.hours())))
            .collect();
        terms.push((short, 1.0));
        p.add_constraint(expr(&terms), ComparisonOp::Eq, demand.energy_wh / 1000.0);
    }
    let mut hp: Vec<Option<Variable>> = vec![None; n];
    if let Some((model, comfort)) = &request.heat {
        let max_kw = model.max_power_w / 1000.0;
        let min_kw = model.min_power_w / 1000.0;
        let switching =
            model.min_power_w > 0.0 || model.min_run_slots > 1 || model.min_off_slots > 1;
        let mut on: Vec<Variable> = Vec::new();
        let mut previous: Option<Variable> = None;
        for (t, (slot, band)) in slots.iter().zip(comfort).enumerate() {
            let h = slot.hours();
            let power = p.add_var(0.0, (0.0, max_kw));
            hp[t] = Some(power);
            if switching && max_kw > 0.0 {
                let u = p.add_binary_var(0.0);
                p.add_constraint(expr(&[(power, 1.0), (u, -max_kw)]), ComparisonOp::Le, 0.0);
                p.add_constraint(expr(&[(power, 1.0), (u, -min_kw)]), ComparisonOp::Ge, 0.0);
                on.push(u);
            }
            let step = model.building.step_coefficients(h);
            let per_kw = 1000.0 * model.heat_per_watt(band.outdoor_c) * step.c;
            let temperature = p.add_var(0.0, (f64::NEG_INFINITY, f64::INFINITY));
            let below = p.add_var(model.comfort_penalty_per_c_h * h, (0.0, f64::INFINITY));
            let above = p.add_var(model.comfort_penalty_per_c_h * h, (0.0, f64::INFINITY));
            match previous {
                Some(before) => p.add_constraint(
                    expr(&[(temperature, 1.0), (before, -step.a), (power, -per_kw)]),
                    ComparisonOp::Eq,
                    step.b * band.outdoor_c,
                ),
                None => p.add_constraint(
                    expr(&[(temperature, 1.0), (power, -per_kw)]),
                    ComparisonOp::Eq,
                    step.b * band.outdoor_c + step.a * model.indoor_c,
                ),
            }
            p.add_constraint(
                expr(&[(temperature, 1.0), (below, 1.0)]),
                ComparisonOp::Ge,
                band.min_c,
            );
            p.add_constraint(
                expr(&[(temperature, 1.0), (above, -1.0)]),
                ComparisonOp::Le,
                band.max_c.max(band.min_c),
            );
            previous = Some(temperature);
        }
        if !on.is_empty() {
            minimum_up_down(&mut p, &on, model);
        }
    }
    let mut charge: Vec<Option<Variable>> = vec![None; n];
    let mut discharge: Vec<Option<Variable>> = vec![None; n];
    if let Some(b) = request.battery {
        let capacity_kwh = b.capacity_wh / 1000.0;
        let start = capacity_kwh * b.soc_pct.clamp(0.0, 100.0) / 100.0;
        let floor = (capacity_kwh * b.floor_pct() / 100.0).min(start);
        let ceiling = (capacity_kwh * b.ceiling_pct() / 100.0).max(start);
        let mut previous: Option<Variable> = None;
        for (t, slot) in slots.iter().enumerate() {
            let h = slot.hours();
            let wear = b.degradation_per_kwh.max(0.0) * h;
            let c = p.add_var(wear, (0.0, b.max_charge_w / 1000.0));
            let d = p.add_var(wear, (0.0, b.max_discharge_w / 1000.0));
            let last = t + 1 == n;
            let energy = p.add_var(
                if last { -b.end_value_per_kwh } else { 0.0 },
                (floor, ceiling),
            );
            let mut terms = vec![
                (energy, 1.0),
                (c, -h * b.charge_efficiency),
                (d, h / b.discharge_efficiency),
            ];
            match previous {
                Some(before) => {
                    terms.push((before, -1.0));
                    p.add_constraint(expr(&terms), ComparisonOp::Eq, 0.0);
                }
                None => p.add_constraint(expr(&terms), ComparisonOp::Eq, start),
            }
            if exclusive.contains(&t) {
                let z = p.add_binary_var(0.0);
                p.add_constraint(
                    expr(&[(c, 1.0), (z, -b.max_charge_w / 1000.0)]),
                    ComparisonOp::Le,
                    0.0,
                );
                p.add_constraint(
                    expr(&[(d, 1.0), (z, b.max_discharge_w / 1000.0)]),
                    ComparisonOp::Le,
                    b.max_discharge_w / 1000.0,
                );
            }
            if last && let Some(end_pct) = b.end_soc_pct {
                let short = p.add_var(END_SOC_PENALTY, (0.0, f64::INFINITY));
                p.add_constraint(
                    expr(&[(energy, 1.0), (short, 1.0)]),
                    ComparisonOp::Ge,
                    (capacity_kwh * end_pct.clamp(0.0, 100.0) / 100.0).min(ceiling),
                );
            }
            charge[t] = Some(c);
            discharge[t] = Some(d);
            previous = Some(energy);
        }
    }
    for (t, slot) in slots.iter().enumerate() {
        let h = slot.hours();
        let net_kw = (slot.base_load_w - slot.solar_w) / 1000.0;
        let import_price = grid.effective_import_price(slot);
        let export_price = slot.export_price.min(import_price);
        let import = p.add_var(import_price * h, (0.0, limit.max(net_kw)));
        let export_cap = if grid.battery_export || request.battery.is_none() {
            limit
        } else {
            limit.min((-net_kw).max(0.0))
        };
        let export = p.add_var(-export_price * h, (0.0, export_cap));
        let mut terms = vec![(import, 1.0), (export, -1.0)];
        if slot.solar_w > 0.0 {
            terms.push((p.add_var(0.0, (0.0, slot.solar_w / 1000.0)), -1.0));
        }
        for v in [ev[t], hp[t], charge[t]].into_iter().flatten() {
            terms.push((v, -1.0));
        }
        if let Some(d) = discharge[t] {
            terms.push((d, 1.0));
        }
        p.add_constraint(expr(&terms), ComparisonOp::Eq, net_kw);
    }
    let solution = p.solve().ok()?;
    (solution.status() == Status::Optimal).then(|| solution.objective())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The model as solved has the optimum of the model as first written, on random homes with
    /// a car, a heat pump and a battery (some slots made exclusive for the battery).
    #[test]
    fn the_compact_model_has_the_optimum_of_the_first_one(
        n in 4usize..11,
        prices in proptest::collection::vec(-10.0f64..60.0, 10),
        export in -5.0f64..10.0,
        solar in proptest::collection::vec(0.0f64..6_000.0, 10),
        indoor in 17.0f64..24.0,
        outdoor in -8.0f64..30.0,
        cooling in proptest::bool::ANY,
        history in -3i64..4,
        run in 1usize..4,
        rest in 1usize..3,
        floor in 0.0f64..0.6,
        width in 0.0f64..3.0,
        limit in 3_000.0f64..14_000.0,
        car in 0.0f64..20_000.0,
        ready in 1usize..10,
        soc in 0.0f64..100.0,
        battery_export in proptest::bool::ANY,
        exclusive in proptest::collection::vec(0usize..10, 0..3),
    ) {
        let mut slots = day(n);
        for (t, slot) in slots.iter_mut().enumerate() {
            slot.import_price = prices[t];
            slot.export_price = export;
            slot.solar_w = solar[t];
        }
        let mode = if cooling { ThermalMode::Cool } else { ThermalMode::Heat };
        let model = HeatPumpModel {
            mode,
            min_power_w: floor * 3_000.0,
            min_run_slots: run,
            min_off_slots: rest,
            running_for_slots: history,
            ..heat_pump(indoor)
        };
        let comfort: Vec<ComfortSlot> = slots
            .iter()
            .enumerate()
            .map(|(t, _)| ComfortSlot {
                min_c: if t % 5 == 4 { 21.0 } else { 19.5 },
                max_c: 19.5 + width,
                setpoint_c: 20.0,
                outdoor_c: outdoor + (t % 4) as f64,
            })
            .collect();
        let req = HouseholdRequest {
            grid: GridConnection { limit_w: limit, battery_export, carbon_weight: 0.0 },
            ev: Some(EvDemand {
                energy_wh: car,
                ready_by: slots[ready.min(n - 1)].end,
                max_power_w: 7_400.0,
            }),
            heat: Some((model, comfort)),
            battery: Some(BatteryModel {
                capacity_wh: 5_000.0,
                soc_pct: soc,
                max_charge_w: 2_500.0,
                max_discharge_w: 2_500.0,
                degradation_per_kwh: 0.01,
                end_soc_pct: Some(40.0),
                ..BatteryModel::default()
            }),
            ..request(slots)
        };
        let exclusive: Vec<usize> = exclusive.into_iter().filter(|&t| t < n).collect();
        let solved = solve(&req, &exclusive, std::time::Duration::from_secs(20)).unwrap();
        prop_assert_eq!(solved.status, SolveStatus::Optimal);
        let reference = reference_objective(&req, &exclusive).unwrap();
        prop_assert!(
            (solved.objective - reference).abs() < 1e-6 * (1.0 + reference.abs()),
            "model {} first model {}", solved.objective, reference
        );
        // The heat pump's power is 0 or within its range, and the plan keeps the connection.
        let plan = plan_household(&req);
        prop_assert_eq!(plan.status, SolveStatus::Optimal);
        for (t, h) in plan.heat.iter().enumerate() {
            prop_assert!(h.power_w <= model.max_power_w + 1e-6);
            if model.min_power_w > 0.0 || run > 1 || rest > 1 {
                prop_assert!(h.power_w == 0.0 || h.power_w >= model.min_power_w - 1e-6, "{}", h.power_w);
            }
            let own = req.slots[t].base_load_w - req.slots[t].solar_w;
            prop_assert!(plan.grid_w[t] <= limit.max(own) + 1e-3);
        }
        let on: Vec<bool> = plan.heat.iter().map(|h| h.power_w > 0.0).collect();
        if model.min_power_w > 0.0 || run > 1 || rest > 1 {
            prop_assert!(keeps_run_and_rest(&model, &on), "{on:?}");
        }
    }
}
