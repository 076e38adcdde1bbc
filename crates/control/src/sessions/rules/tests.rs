#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeZone;
use resiflex_domain::tariff::Micros;

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 18, 0, 0).unwrap()
}

fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

/// A car of 60 kWh, read every `step` minutes, charging at the power it is given.
struct Car {
    readings: Vec<Reading>,
    minute: i64,
    soc: f64,
    meter: f64,
    limit: Option<f64>,
    home: Option<bool>,
    plugged: bool,
}

const CAPACITY_WH: f64 = 60_000.0;

impl Car {
    fn new(soc: f64) -> Car {
        let mut car = Car {
            readings: Vec::new(),
            minute: 0,
            soc,
            meter: 10_000.0,
            limit: Some(100.0),
            home: Some(true),
            plugged: true,
        };
        car.read();
        car
    }

    fn read(&mut self) {
        self.readings.push(Reading {
            at: at(self.minute),
            online: true,
            plugged_in: Some(self.plugged),
            at_home: self.home,
            soc_pct: Some((self.soc * 100.0).round() / 100.0),
            soc_limit_pct: self.limit,
            meter_wh: self.meter.round() as i64,
            export_meter_wh: 0,
        });
    }

    /// `minutes` of charging at `power_w` (capped by the limit), read every 10 minutes.
    fn run(&mut self, minutes: i64, power_w: f64) -> &mut Car {
        self.run_quietly(minutes, power_w, true)
    }

    fn run_quietly(&mut self, minutes: i64, power_w: f64, reading: bool) -> &mut Car {
        for _ in 0..minutes / 10 {
            let cap = self.limit.unwrap_or(100.0);
            let mut energy = power_w * 10.0 / 60.0;
            let room = ((cap - self.soc) / 100.0 * CAPACITY_WH / 0.9).max(0.0);
            energy = energy.min(room);
            self.meter += energy;
            self.soc += energy * 0.9 / CAPACITY_WH * 100.0;
            self.minute += 10;
            if reading {
                self.read();
            }
        }
        self
    }

    fn unplug(&mut self) -> &mut Car {
        self.minute += 10;
        self.plugged = false;
        self.read();
        self
    }
}

fn plan(version: i64, minute: i64, trigger: &str, kind: &str, achievable: f64) -> PlanView {
    PlanView {
        version,
        created_at: at(minute),
        trigger: PlanTrigger::parse(trigger).expect("a plan trigger"),
        kind: PlanKind::parse(kind).expect("a plan kind"),
        ready_by: Some(at(13 * 60)),
        start_soc_pct: Some(50.0),
        target_soc_pct: Some(80.0),
        achievable_soc_pct: Some(achievable),
        dispatches: Vec::new(),
    }
}

fn dispatch(from: i64, to: i64, kind: DispatchKind) -> PlanDispatch {
    PlanDispatch {
        start: at(from),
        end: at(to),
        kind,
        power_w: 7_000,
        energy_wh: 7_000 * (to - from) / 60,
        action: resiflex_domain::plan::DispatchAction::Charge,
        setpoint_c: None,
        activity: None,
    }
}

/// The usual smart plan at plug-in: 50 % to 80 % from 01:00 to 03:50 (7 kW, 90 % efficient).
fn smart_plan() -> PlanView {
    PlanView {
        dispatches: vec![dispatch(7 * 60, 7 * 60 + 170, DispatchKind::Smart)],
        ..plan(1, 0, "PLUGGED_IN", "SMART", 80.0)
    }
}

fn event(minute: i64, kind: &str) -> Event {
    Event {
        at: at(minute),
        kind: DeviceEventKind::parse(kind).expect("a device event"),
        seen_power_w: None,
    }
}

/// Analyses the first session of the readings at `now`.
fn outcome(readings: &[Reading], plans: &[PlanView], events: &[Event], now: i64) -> Outcome {
    let span = spans(readings, None)[0];
    analyse(&Facts {
        span,
        readings,
        pieces: &pieces(plans),
        plans,
        events,
        rates: None,
        preferences: None,
        time_zone: chrono_tz::UTC,
        now: at(now),
    })
}

fn problem_of(readings: &[Reading], plans: &[PlanView], events: &[Event]) -> Option<Problem> {
    outcome(readings, plans, events, 24 * 60).problem
}

fn error(cause: ErrorCause) -> Option<Problem> {
    Some(Problem::Error(cause))
}

fn truncation(cause: TruncationCause) -> Option<Problem> {
    Some(Problem::Truncation(cause))
}

/// The usual evening: plugged in at 18:00, idle until 01:00, 7 kW until the target, plugged in
/// until 08:00.
fn usual_evening(car: &mut Car) {
    car.run(7 * 60, 0.0)
        .run(170, 7_000.0)
        .run(13 * 60 - 7 * 60 - 170, 0.0)
        .unplug();
}

// ------------------------------------------------------------------------------------------------
// Dispatches in force, the meter, completion.
// ------------------------------------------------------------------------------------------------

#[test]
fn a_new_version_cuts_the_dispatches_of_the_one_before() {
    let mut first = smart_plan();
    first
        .dispatches
        .push(dispatch(11 * 60, 12 * 60, DispatchKind::Smart));
    let mut second = plan(2, 8 * 60, "PREFERENCES_CHANGED", "SMART", 70.0);
    second.dispatches = vec![dispatch(7 * 60, 9 * 60, DispatchKind::Smart)];
    let found = pieces(&[second, first]);
    let spans: Vec<_> = found
        .iter()
        .map(|p| (p.start, p.end, p.plan_version))
        .collect();
    assert_eq!(
        spans,
        [(at(7 * 60), at(8 * 60), 1), (at(8 * 60), at(9 * 60), 2),],
        "version 1 ends when version 2 is made; version 2 starts no earlier than it was made"
    );
    assert!((found[0].planned_wh - 7_000.0).abs() < 1.0);
}

#[test]
fn the_meter_is_interpolated_between_readings() {
    let mut car = Car::new(50.0);
    car.run(20, 6_000.0);
    let r = &car.readings;
    assert_eq!(meter_at(r, at(0)), Some(10_000.0));
    assert_eq!(meter_at(r, at(5)), Some(10_500.0));
    assert_eq!(
        meter_at(r, at(-5)),
        Some(10_000.0),
        "before the series: its first value"
    );
    assert_eq!(
        meter_at(r, at(60)),
        Some(12_000.0),
        "after it: its last value"
    );
    assert_eq!(energy_between(r, at(5), at(15)), 1_000.0);
    assert_eq!(meter_at(&[], at(0)), None);
}

#[test]
fn a_stretch_is_completed_once_a_reading_after_its_end_arrived() {
    let mut car = Car::new(50.0);
    car.run(7 * 60, 0.0).run(60, 6_000.0);
    let plans = [PlanView {
        dispatches: vec![dispatch(7 * 60, 8 * 60, DispatchKind::Smart)],
        ..smart_plan()
    }];
    let found = pieces(&plans);
    let done = completed(&found, &car.readings, None, at(8 * 60));
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].energy_wh, 6_000);
    assert_eq!(done[0].location, Location::AtHome);
    // Not before its end; not again after the end already written.
    assert!(completed(&found, &car.readings, None, at(8 * 60 - 1)).is_empty());
    assert!(completed(&found, &car.readings, Some(at(8 * 60)), at(9 * 60)).is_empty());
    // Without a reading after the end it waits an hour.
    let early: Vec<Reading> = car.readings[..car.readings.len() - 1].to_vec();
    assert!(completed(&found, &early, None, at(8 * 60 + 30)).is_empty());
    assert_eq!(completed(&found, &early, None, at(9 * 60)).len(), 1);
}

#[test]
fn away_is_where_the_car_said_it_was() {
    let mut car = Car::new(50.0);
    car.home = Some(false);
    car.run(30, 7_000.0);
    assert_eq!(location(&car.readings, at(0), at(30)), Location::Away);
    let mut charger = Car::new(50.0);
    charger.home = None;
    charger.run(30, 7_000.0);
    assert_eq!(location(&charger.readings, at(0), at(30)), Location::AtHome);
}

#[test]
fn sessions_run_from_plug_in_to_unplug_or_retirement() {
    let mut car = Car::new(50.0);
    car.plugged = false;
    car.readings.clear();
    car.read();
    car.run(20, 0.0);
    car.plugged = true;
    car.run(30, 7_000.0);
    car.unplug();
    car.run(20, 0.0);
    car.plugged = true;
    car.run(20, 0.0);
    let found = spans(&car.readings, None);
    assert_eq!(found.len(), 2);
    assert_eq!(
        (found[0].start, found[0].end, found[0].ended_by),
        (at(30), Some(at(60)), Some(EndedBy::Unplugged))
    );
    assert_eq!((found[1].start, found[1].end), (at(90), None), "open");
    let retired = spans(&car.readings, Some(at(100)));
    assert_eq!(
        (retired[1].end, retired[1].ended_by),
        (Some(at(100)), Some(EndedBy::Retired))
    );
}

#[test]
fn cost_prices_the_energy_by_the_rates_it_overlaps() {
    let mut car = Car::new(50.0);
    car.run(60, 6_000.0);
    let rate = |from: i64, to: i64, pence: &str| Rate {
        valid_from: at(from),
        valid_to: at(to),
        import_minor_per_kwh: Micros::parse(pence).unwrap(),
        export_minor_per_kwh: None,
        carbon_g_per_kwh: None,
    };
    // 3 kWh at 10p and 3 kWh at 20.5p: 91.5p.
    let rates = [rate(0, 30, "10"), rate(30, 60, "20.5")];
    let micros = cost(&car.readings, &rates).unwrap();
    assert_eq!(micros, 91_500_000);
    assert_eq!(round_minor(micros), 92);
    assert_eq!(round_minor(-1_500_000), -2);
    assert_eq!(
        cost(&car.readings, &rates[..1]),
        None,
        "energy without a rate"
    );
    let span = spans(&car.readings, None)[0];
    let priced = analyse(&Facts {
        span,
        readings: &car.readings,
        pieces: &[],
        plans: &[],
        events: &[],
        rates: Some(&rates),
        preferences: None,
        time_zone: chrono_tz::UTC,
        now: at(60),
    });
    assert_eq!(priced.cost_micros, Some(91_500_000));
    assert_eq!(priced.energy_added_wh, 6_000);
}

// ------------------------------------------------------------------------------------------------
// Types and a session without problems.
// ------------------------------------------------------------------------------------------------

#[test]
fn a_session_that_went_to_plan_has_no_problem() {
    let mut car = Car::new(50.0);
    usual_evening(&mut car);
    let o = outcome(&car.readings, &[smart_plan()], &[], 24 * 60);
    assert_eq!(o.problem, None, "{o:?}");
    assert_eq!(o.session_type, SessionType::Smart);
    assert_eq!(o.start_soc_pct, Some(50.0));
    assert!((o.final_soc_pct.unwrap() - 79.75).abs() < 0.1, "{o:?}");
    assert_eq!(o.dispatches.len(), 1);
    assert_eq!(o.dispatches[0].energy_wh, 19_833);
    assert_eq!(o.energy_added_wh, 19_833);
    assert_eq!(
        (o.original_achievable_soc_pct, o.achievable_soc_pct),
        (Some(80.0), Some(80.0))
    );
}

#[test]
fn types_are_public_away_then_boost_then_smart() {
    let mut car = Car::new(50.0);
    car.run(60, 7_000.0);
    let boosted = outcome(&car.readings, &[], &[event(10, "BOOST_STARTED")], 60);
    assert_eq!(boosted.session_type, SessionType::Boost);
    let mut away = Car::new(50.0);
    away.home = Some(false);
    away.run(60, 7_000.0).unplug();
    let public = outcome(&away.readings, &[], &[event(10, "BOOST_STARTED")], 80);
    assert_eq!(public.session_type, SessionType::Public);
    assert_eq!(public.problem, None, "public charging is not diagnosed");
}

// ------------------------------------------------------------------------------------------------
// Error causes, one per rule.
// ------------------------------------------------------------------------------------------------

#[test]
fn an_expired_authorisation_needs_the_customer() {
    let mut car = Car::new(50.0);
    usual_evening(&mut car);
    let events = [event(7 * 60, "AUTHORISATION_EXPIRED")];
    assert_eq!(
        problem_of(&car.readings, &[smart_plan()], &events),
        error(ErrorCause::CustomerActionRequired)
    );
}

#[test]
fn silence_over_a_dispatch_is_a_communication_error() {
    let mut car = Car::new(50.0);
    car.run(7 * 60, 0.0)
        .run_quietly(60, 7_000.0, false)
        .run(100, 7_000.0)
        .run(120, 0.0)
        .unplug();
    assert_eq!(
        problem_of(&car.readings, &[smart_plan()], &[]),
        error(ErrorCause::CommunicationError)
    );
    // Silence without a dispatch is not.
    let mut quiet = Car::new(50.0);
    quiet.run_quietly(60, 0.0, false).run(20, 0.0).unplug();
    assert_eq!(
        problem_of(&quiet.readings, &[], &[]),
        error(ErrorCause::NoScheduledCharge)
    );
}

#[test]
fn charging_at_home_outside_the_schedule_is_interference() {
    let mut car = Car::new(50.0);
    car.run(60, 0.0)
        .run(30, 7_000.0)
        .run(330, 0.0)
        .run(170, 7_000.0)
        .run(120, 0.0)
        .unplug();
    assert_eq!(
        problem_of(&car.readings, &[smart_plan()], &[]),
        error(ErrorCause::ThirdPartyChargingInterference)
    );
    // A boost is a schedule.
    let events = [event(60, "BOOST_STARTED"), event(90, "BOOST_FINISHED")];
    assert_ne!(
        problem_of(&car.readings, &[smart_plan()], &events),
        error(ErrorCause::ThirdPartyChargingInterference)
    );
}

#[test]
fn a_limit_below_the_target_that_the_battery_reached_blocked_it() {
    let mut car = Car::new(50.0);
    car.limit = Some(70.0);
    usual_evening(&mut car);
    let mut limited = smart_plan();
    limited.achievable_soc_pct = Some(70.0);
    assert_eq!(
        problem_of(&car.readings, &[limited], &[]),
        error(ErrorCause::SocLimitReached)
    );
}

#[test]
fn a_fall_after_reaching_the_target_is_a_drain() {
    let mut car = Car::new(50.0);
    car.run(7 * 60, 0.0).run(170, 7_000.0);
    car.soc -= 3.0;
    car.run(60, 0.0).unplug();
    assert_eq!(
        problem_of(&car.readings, &[smart_plan()], &[]),
        error(ErrorCause::PostChargeBatteryDrain)
    );
}

#[test]
fn reaching_100_or_the_cars_own_limit_when_asked_is_a_full_charge() {
    let mut car = Car::new(70.0);
    car.run(7 * 60, 0.0).run(8 * 60, 7_000.0).unplug();
    let mut full = smart_plan();
    full.target_soc_pct = Some(100.0);
    full.achievable_soc_pct = Some(100.0);
    full.dispatches = vec![dispatch(7 * 60, 15 * 60, DispatchKind::Smart)];
    full.ready_by = Some(at(15 * 60));
    assert_eq!(
        problem_of(&car.readings, &[full.clone()], &[]),
        error(ErrorCause::FullCharge),
        "{:?}",
        outcome(&car.readings, &[full], &[], 24 * 60)
    );
    let mut at_limit = Car::new(50.0);
    at_limit.limit = Some(80.0);
    at_limit.run(7 * 60, 0.0).run(200, 7_000.0).unplug();
    assert_eq!(
        problem_of(&at_limit.readings, &[smart_plan()], &[]),
        error(ErrorCause::FullCharge)
    );
}

#[test]
fn nothing_planned_is_no_scheduled_charge_once_settled() {
    let mut car = Car::new(80.0);
    car.run(60, 0.0);
    let mut at_target = plan(1, 0, "PLUGGED_IN", "SMART", 80.0);
    at_target.start_soc_pct = Some(80.0);
    assert_eq!(
        outcome(&car.readings, &[at_target.clone()], &[], 60).problem,
        None,
        "open, before its ready-by time: not yet"
    );
    car.unplug();
    assert_eq!(
        problem_of(&car.readings, &[at_target], &[]),
        error(ErrorCause::NoScheduledCharge)
    );
}

#[test]
fn dispatches_without_any_import_are_no_charging() {
    let mut car = Car::new(50.0);
    car.run(13 * 60, 0.0).unplug();
    assert_eq!(
        problem_of(&car.readings, &[smart_plan()], &[]),
        error(ErrorCause::NoCharging)
    );
}

#[test]
fn a_charge_without_a_state_of_charge_cannot_be_judged() {
    let mut car = Car::new(50.0);
    usual_evening(&mut car);
    for r in &mut car.readings {
        r.soc_pct = None;
        r.soc_limit_pct = None;
    }
    assert_eq!(
        problem_of(&car.readings, &[smart_plan()], &[]),
        error(ErrorCause::FailureCauseError)
    );
    // ...unless nothing was imported at all.
    let mut idle = Car::new(50.0);
    idle.run(13 * 60, 0.0).unplug();
    for r in &mut idle.readings {
        r.soc_pct = None;
    }
    assert_eq!(
        problem_of(&idle.readings, &[smart_plan()], &[]),
        error(ErrorCause::NoCharging)
    );
}

#[test]
fn power_falling_away_above_80_is_tapering() {
    let mut car = Car::new(70.0);
    // Full power to 80 %, then a third of it.
    car.run(7 * 60, 0.0)
        .run(60, 7_000.0)
        .run(110, 2_300.0)
        .run(3 * 60, 0.0)
        .unplug();
    let mut high = smart_plan();
    high.target_soc_pct = Some(95.0);
    high.achievable_soc_pct = Some(95.0);
    assert_eq!(
        problem_of(&car.readings, &[high], &[]),
        error(ErrorCause::PowerTapering)
    );
}

#[test]
fn power_far_from_the_asked_below_80_is_a_discrepancy() {
    let mut car = Car::new(50.0);
    car.run(7 * 60, 0.0)
        .run(170, 2_000.0)
        .run(3 * 60, 0.0)
        .unplug();
    assert_eq!(
        problem_of(&car.readings, &[smart_plan()], &[]),
        error(ErrorCause::PowerDiscrepancy)
    );
    // A DISCREPANCY event says so too, whatever the power.
    let mut short = Car::new(50.0);
    short
        .run(7 * 60, 0.0)
        .run(100, 7_000.0)
        .run(5 * 60, 0.0)
        .unplug();
    assert_eq!(
        problem_of(
            &short.readings,
            &[smart_plan()],
            &[event(9 * 60, "DISCREPANCY")]
        ),
        error(ErrorCause::PowerDiscrepancy)
    );
}

#[test]
fn a_missed_goal_with_complete_data_and_no_reason_is_unknown() {
    let mut car = Car::new(50.0);
    // Charged as asked, but only for an hour of the plan's stretch.
    car.run(7 * 60, 0.0)
        .run(60, 7_000.0)
        .run(5 * 60, 0.0)
        .unplug();
    let mut short = smart_plan();
    short.dispatches = vec![dispatch(7 * 60, 8 * 60, DispatchKind::Smart)];
    assert_eq!(
        problem_of(&car.readings, &[short], &[]),
        error(ErrorCause::UnknownChargingErrorCause)
    );
}

#[test]
fn every_error_cause_has_a_kraken_name() {
    let names: Vec<&str> = ErrorCause::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(names.len(), 12);
    assert!(names.contains(&"UNKNOWN_CHARGING_ERROR_CAUSE"));
    assert_eq!(TruncationCause::ALL.len(), 6);
}

// ------------------------------------------------------------------------------------------------
// Truncation causes.
// ------------------------------------------------------------------------------------------------

/// Charging from 01:00 until `minute`, then whatever `then` does.
fn cut_at(minute: i64) -> Car {
    let mut car = Car::new(50.0);
    car.run(7 * 60, 0.0).run(minute - 7 * 60, 7_000.0);
    car
}

#[test]
fn unplugging_before_the_plan_finished_is_disconnected() {
    let mut car = cut_at(8 * 60);
    car.unplug();
    let o = outcome(&car.readings, &[smart_plan()], &[], 24 * 60);
    assert_eq!(o.problem, truncation(TruncationCause::Disconnected));
    assert_eq!(o.original_achievable_soc_pct, Some(80.0));
    assert!(o.achievable_soc_pct.unwrap() < 65.0, "{o:?}");
}

#[test]
fn a_suspension_is_suspended() {
    let mut car = cut_at(8 * 60);
    car.run(5 * 60, 0.0).unplug();
    let mut idle = plan(2, 8 * 60, "SUSPENDED", "IDLE", 60.5);
    idle.start_soc_pct = Some(60.5);
    assert_eq!(
        problem_of(
            &car.readings,
            &[smart_plan(), idle],
            &[event(8 * 60, "SUSPENDED")]
        ),
        truncation(TruncationCause::Suspended)
    );
}

#[test]
fn a_boost_that_replaced_the_smart_plan_is_boost_charging() {
    let mut car = cut_at(8 * 60);
    car.unplug();
    let mut boost = plan(2, 7 * 60 + 30, "BOOST_STARTED", "BOOST", 80.0);
    boost.start_soc_pct = Some(55.0);
    boost.dispatches = vec![dispatch(7 * 60 + 30, 10 * 60, DispatchKind::Boost)];
    let o = outcome(
        &car.readings,
        &[smart_plan(), boost],
        &[event(7 * 60 + 30, "BOOST_STARTED")],
        24 * 60,
    );
    assert_eq!(o.session_type, SessionType::Boost);
    assert_eq!(o.problem, truncation(TruncationCause::BoostCharging));
}

#[test]
fn a_new_plan_for_changed_preferences_is_an_optimisation() {
    let mut car = cut_at(8 * 60);
    car.run(5 * 60, 0.0).unplug();
    let mut lower = plan(2, 8 * 60, "PREFERENCES_CHANGED", "SMART", 60.0);
    lower.target_soc_pct = Some(60.0);
    assert_eq!(
        problem_of(&car.readings, &[smart_plan(), lower], &[]),
        truncation(TruncationCause::ChargingOptimisationCreated)
    );
}

#[test]
fn retirement_is_deauthentication() {
    let car = cut_at(8 * 60);
    let span = spans(&car.readings, Some(at(8 * 60 + 5)))[0];
    let o = analyse(&Facts {
        span,
        readings: &car.readings,
        pieces: &pieces(&[smart_plan()]),
        plans: &[smart_plan()],
        events: &[event(8 * 60 + 5, "DEAUTHENTICATED")],
        rates: None,
        preferences: None,
        time_zone: chrono_tz::UTC,
        now: at(9 * 60),
    });
    assert_eq!(o.problem, truncation(TruncationCause::DeviceDeauthSuccess));
}

#[test]
fn a_lowering_with_no_identifiable_event_is_unknown() {
    let mut car = cut_at(8 * 60);
    car.run(5 * 60, 0.0).unplug();
    let lower = plan(2, 8 * 60, "STATE_CHANGED", "SMART", 65.0);
    assert_eq!(
        problem_of(&car.readings, &[smart_plan(), lower.clone()], &[]),
        truncation(TruncationCause::UnknownTruncationCause)
    );
    // A re-plan because the battery strayed is not a truncation: the error rules explain it.
    let strayed = PlanView {
        trigger: PlanTrigger::StateOfChargeChanged,
        ..lower
    };
    assert!(matches!(
        problem_of(&car.readings, &[smart_plan(), strayed], &[]),
        Some(Problem::Error(_))
    ));
}

#[test]
fn a_level_that_recovered_is_not_a_truncation() {
    let mut car = Car::new(50.0);
    usual_evening(&mut car);
    let mut idle = plan(2, 60, "SUSPENDED", "IDLE", 50.0);
    idle.start_soc_pct = Some(50.0);
    let resumed = PlanView {
        dispatches: smart_plan().dispatches,
        ..plan(3, 120, "UNSUSPENDED", "SMART", 80.0)
    };
    let o = outcome(&car.readings, &[smart_plan(), idle, resumed], &[], 24 * 60);
    assert_eq!(o.problem, None, "{o:?}");
}

// ------------------------------------------------------------------------------------------------
// Precedence.
// ------------------------------------------------------------------------------------------------

#[test]
fn rules_apply_in_the_documented_order() {
    // An expired authorisation outranks the silence it causes.
    let mut car = Car::new(50.0);
    car.run(7 * 60, 0.0)
        .run_quietly(120, 0.0, false)
        .run(60, 0.0)
        .unplug();
    assert_eq!(
        problem_of(
            &car.readings,
            &[smart_plan()],
            &[event(7 * 60, "AUTHORISATION_EXPIRED")]
        ),
        error(ErrorCause::CustomerActionRequired)
    );
    assert_eq!(
        problem_of(&car.readings, &[smart_plan()], &[]),
        error(ErrorCause::CommunicationError)
    );
    // A truncation outranks interference.
    let mut both = Car::new(50.0);
    both.run(60, 0.0)
        .run(30, 7_000.0)
        .run(6 * 60 - 30, 0.0)
        .run(60, 7_000.0)
        .unplug();
    assert_eq!(
        problem_of(&both.readings, &[smart_plan()], &[]),
        truncation(TruncationCause::Disconnected)
    );
    // The car's limit outranks "nothing planned" (the planner knew the car could take no more).
    let mut blocked = Car::new(75.0);
    blocked.limit = Some(70.0);
    blocked.run(60, 0.0).unplug();
    let mut nothing = plan(1, 0, "PLUGGED_IN", "SMART", 75.0);
    nothing.start_soc_pct = Some(75.0);
    assert_eq!(
        problem_of(&blocked.readings, &[nothing], &[]),
        error(ErrorCause::SocLimitReached)
    );
}

#[test]
fn drawing_power_when_told_to_stop_is_interference() {
    let mut car = Car::new(50.0);
    usual_evening(&mut car);
    let mut seen = event(60, "DISCREPANCY");
    seen.seen_power_w = Some(7_400);
    assert_eq!(
        problem_of(&car.readings, &[smart_plan()], &[seen.clone()]),
        error(ErrorCause::ThirdPartyChargingInterference)
    );
    // Inside a dispatch (or its grace) it is not.
    seen.at = at(7 * 60 + 172);
    assert_eq!(problem_of(&car.readings, &[smart_plan()], &[seen]), None);
}

#[test]
fn the_limit_is_compared_with_the_customers_own_target() {
    use resiflex_domain::preferences::{PreferenceMode, PreferenceUnit, ScheduleEntry};
    let mut car = Car::new(50.0);
    car.limit = Some(70.0);
    usual_evening(&mut car);
    // The plan's target is already capped at the car's limit.
    let mut capped = smart_plan();
    capped.target_soc_pct = Some(70.0);
    capped.achievable_soc_pct = Some(70.0);
    let preferences = Preferences {
        mode: PreferenceMode::Charge,
        unit: PreferenceUnit::Percentage,
        schedules: vec![ScheduleEntry {
            day: at(13 * 60).weekday(),
            time: chrono::NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
            min: None,
            max: 80.0,
        }],
    };
    let plans = [capped];
    let in_force = pieces(&plans);
    let facts = |preferences| Facts {
        span: spans(&car.readings, None)[0],
        readings: &car.readings,
        pieces: &in_force,
        plans: &plans,
        events: &[],
        rates: None,
        preferences,
        time_zone: chrono_tz::Europe::London,
        now: at(24 * 60),
    };
    assert_eq!(
        analyse(&facts(Some(&preferences))).problem,
        error(ErrorCause::SocLimitReached)
    );
    assert_eq!(
        analyse(&facts(None)).problem,
        error(ErrorCause::FullCharge),
        "without the customer's target the car's limit was the target"
    );
}

#[test]
fn plans_for_the_next_goal_do_not_cut_this_one() {
    let mut car = Car::new(50.0);
    car.run(7 * 60, 0.0)
        .run(170, 7_000.0)
        .run(13 * 60 - 7 * 60 - 170, 0.0);
    car.soc -= 5.0;
    car.run(60, 0.0).unplug();
    let next = PlanView {
        ready_by: Some(at(37 * 60)),
        ..plan(2, 13 * 60, "READY_BY_PASSED", "SMART", 80.0)
    };
    assert_eq!(
        problem_of(&car.readings, &[smart_plan(), next], &[]),
        error(ErrorCause::PostChargeBatteryDrain),
        "unplugged before the next goal, yet this session's goal was met"
    );
}

#[test]
fn a_boost_cancelled_before_it_delivered_anything_is_no_completed_dispatch() {
    let mut car = Car::new(50.0);
    car.run(60, 0.0);
    let boost = PlanView {
        dispatches: vec![dispatch(0, 120, DispatchKind::Boost)],
        ..plan(1, 0, "BOOST_STARTED", "BOOST", 80.0)
    };
    // Cancelled at once: the next plan is made a few seconds later.
    let mut cancelled = plan(2, 0, "BOOST_ENDED", "SMART", 80.0);
    cancelled.created_at = at(0) + Duration::seconds(5);
    let cut_at_once = pieces(&[boost.clone(), cancelled.clone()]);
    assert_eq!(cut_at_once.len(), 1);
    assert!(cut_at_once[0].superseded);
    assert!(completed(&cut_at_once, &car.readings, None, at(60)).is_empty());

    // A boost that ran its course, even without energy (a full car), is kept; so is a cut
    // boost that delivered energy.
    let whole = pieces(std::slice::from_ref(&boost));
    assert_eq!(completed(&whole, &car.readings, None, at(180)).len(), 1);
    let mut charging = Car::new(50.0);
    charging.run(60, 7_000.0);
    let mut later = cancelled;
    later.created_at = at(30);
    let cut = pieces(&[boost, later]);
    let done = completed(&cut, &charging.readings, None, at(60));
    assert_eq!(done.len(), 1);
    assert!(done[0].energy_wh > 0);
}
