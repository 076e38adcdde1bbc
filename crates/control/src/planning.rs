//! The plan lifecycle: when a device is re-planned, and what its new plan is.
//!
//! Each plan records the inputs it was made from ([`PlanInputs`]). On every tick (and right after a
//! customer's command) the current inputs are compared with the current plan's; a re-plan is due
//! when one of them changed, named by the first that did ([`PlanTrigger`], in this order):
//! suspend or unsuspend, boost started or ended, plug-in or unplug (leaving home counts as
//! unplugging), a preference change, new prices, a change of the car's own limit, capacity or power,
//! another state change (connection lost or back), the ready-by time passing, and the state of
//! charge drifting more than `soc_tolerance_pct` from what the plan expected by now. Nothing else
//! re-plans, so a device that behaves as planned keeps its plan version.
//!
//! What the new plan is:
//! - not live, not plugged in, away, offline or suspended: an IDLE plan (nothing to draw);
//! - boosting: a BOOST plan, full power from now until the goal (the customer's target, or the car's
//!   own limit if lower);
//! - otherwise a SMART plan from the pure planner for the next ready-by time of the preferences (in
//!   the property's time zone), over the tariff's rates from now to then. Without a tariff every
//!   slot costs the same, so the planner charges as late as still reaches the goal.
//!
//! The goal is locked once a SMART plan has started charging: re-plans for new prices, a drifting
//! state of charge or a state change keep the locked target and ready-by time, so a goal never moves
//! under a charge in progress. A preference change, an unplug, a boost or the ready-by passing
//! unlock it.
//!
//! Overrun policy: when the ready-by time passes with the target not reached and the car still
//! plugged in, [`OverrunPolicy::Continue`] charges at full power at once until the target, for at
//! most `overrun_limit_minutes`; [`OverrunPolicy::Stop`] waits for the next ready-by time.
//!
//! Without a reported state of charge (a charge point that cannot see its car) the car is assumed
//! to be at [`ASSUMED_SOC_PCT`] with [`ASSUMED_CAPACITY_WH`] of battery: the charger stops by itself
//! when the car is full.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, Utc};
use resiflex_domain::device::{DeviceKind, DeviceState, Lifecycle};
use resiflex_domain::forecast::ForecastPoint;
use resiflex_domain::plan::{DeviceEventKind, DispatchKind, PlanDispatch, PlanKind, PlanTrigger};
use resiflex_domain::preferences::Preferences;
use resiflex_domain::tariff::Rate;
use resiflex_planner::thermal::Building;
use resiflex_planner::{EvPlan, EvPlanRequest, PlanReason, PlanScratch, PlannedSlot, Slot, Taper};
use resiflex_providers::{Connection, Telemetry};
use resiflex_store::devices::Device;
use resiflex_store::plans::PlanRecord;
use resiflex_store::tariffs::StoredTariff;
use resiflex_store::{Db, StoreError};
use serde::{Deserialize, Serialize};

use crate::ControlConfig;

/// The state of charge assumed when a device reports none.
pub const ASSUMED_SOC_PCT: f64 = 20.0;
/// The battery assumed behind a charge point that does not know its car.
pub const ASSUMED_CAPACITY_WH: i64 = 60_000;
/// How far ahead rates are read: the latest ready-by time is at most a week away, but day-ahead
/// prices rarely reach further than two days.
const RATES_AHEAD: Duration = Duration::hours(48);
/// The longest boost.
const BOOST_LIMIT: Duration = Duration::hours(12);

/// What happens when the ready-by time passes with the target not reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverrunPolicy {
    /// Keep charging at full power until the target (at most `overrun_limit_minutes`).
    #[default]
    Continue,
    /// Stop at the ready-by time and wait for the next one.
    Stop,
}

/// What a plan was made from. Two equal inputs need no re-plan (apart from the state of charge,
/// which is compared with a tolerance, and time passing the ready-by).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanInputs {
    pub live: bool,
    /// The device state, with work in progress counted as capable.
    pub state: String,
    pub suspended: bool,
    pub online: Option<bool>,
    /// Plugged in *at home* (away counts as unplugged).
    pub plugged_in: Option<bool>,
    /// A digest of the preferences (they are long; only a change matters here).
    pub preferences: Option<String>,
    pub tariff_id: Option<i64>,
    pub prices_updated_at: Option<DateTime<Utc>>,
    pub soc_limit_pct: Option<f64>,
    pub capacity_wh: Option<i64>,
    pub max_power_w: Option<i64>,
    /// Heat pumps and batteries: the settings that shape their plan (grid export, duration cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<String>,
    /// Heat pumps and batteries: where the plan's horizon ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon_end: Option<DateTime<Utc>>,
    /// Heat pumps and batteries: the indoor temperature (°C) or state of charge (%) the plan
    /// expects, from where it started at its creation to the end of each slot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected: Vec<(DateTime<Utc>, f64)>,
}

/// Everything known about one device when planning it.
#[derive(Debug, Clone)]
pub struct DeviceView<'a> {
    pub device: &'a Device,
    pub kind: DeviceKind,
    pub state: DeviceState,
    pub reading: Option<&'a Telemetry>,
    pub time_zone: chrono_tz::Tz,
    pub tariff: Option<&'a StoredTariff>,
    /// The tariff's rates from now on, in time order.
    pub rates: &'a [Rate],
    pub previous: Option<&'a PlanRecord>,
    /// The stored set of `rates`, for the plan to refer to.
    pub rate_set_id: Option<i64>,
    /// The property's forecast from now on (outdoor temperature, solar, base load), in time order.
    pub forecast: &'a [ForecastPoint],
    /// The building as learnt from the device's readings (heat pumps), if it has been.
    pub building: Option<Building>,
    /// Whether the customer runs the device by hand on its controller (a heat pump's room zone
    /// on, off or boosted): smart control leaves it alone, as if suspended.
    pub manual: bool,
}

impl PlanInputs {
    /// These inputs with a day-ahead plan's horizon and the path it expects (`start_value` now,
    /// then `path`), as a plan record stores them.
    pub fn with_expectation(
        &self,
        horizon_end: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        start_value: f64,
        path: impl IntoIterator<Item = (DateTime<Utc>, f64)>,
    ) -> serde_json::Value {
        let mut expected = vec![(now, start_value)];
        expected.extend(path);
        let inputs = PlanInputs {
            horizon_end,
            expected,
            ..self.clone()
        };
        serde_json::to_value(&inputs).unwrap_or_default()
    }
}

/// One slot's planned work, before runs of equal work are joined into dispatches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotWork {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// W; negative while discharging.
    pub power_w: f64,
    pub action: resiflex_domain::plan::DispatchAction,
    pub setpoint_c: Option<f64>,
    pub activity: Option<resiflex_domain::heat::HeatPumpActivity>,
}

/// The dispatches of planned slots from `now` on: slots under 10 W are left out, and neighbouring
/// slots of the same action, set-point and activity whose powers differ by at most 10 W become one
/// dispatch (a slot under way counts from `now`).
pub fn dispatches_of(
    work: impl IntoIterator<Item = SlotWork>,
    kind: DispatchKind,
    now: DateTime<Utc>,
) -> Vec<PlanDispatch> {
    let mut out: Vec<PlanDispatch> = Vec::new();
    for slot in work {
        let power_w = slot.power_w.round() as i64;
        if power_w.abs() < 10 || slot.end <= now {
            continue;
        }
        let start = slot.start.max(now);
        let energy = slot.power_w * (slot.end - start).num_milliseconds() as f64 / 3.6e6;
        if let Some(last) = out.last_mut()
            && last.end == start
            && (last.power_w - power_w).abs() <= 10
            && last.action == slot.action
            && last.setpoint_c == slot.setpoint_c
            && last.activity == slot.activity
        {
            last.end = slot.end;
            last.energy_wh += energy.round() as i64;
            continue;
        }
        out.push(PlanDispatch {
            start,
            end: slot.end,
            kind,
            power_w,
            energy_wh: energy.round() as i64,
            action: slot.action,
            setpoint_c: slot.setpoint_c,
            activity: slot.activity,
        });
    }
    out
}

impl DeviceView<'_> {
    pub fn inputs(&self) -> PlanInputs {
        let device = self.device;
        let reading = self.reading;
        let state = match self.state {
            DeviceState::SmartControlInProgress => DeviceState::SmartControlCapable,
            other => other,
        };
        let plugged_in = reading.and_then(|t| match (t.plugged_in, t.at_home) {
            (Some(plugged), Some(home)) => Some(plugged && home),
            (plugged, None) => plugged,
            (None, Some(false)) => Some(false),
            (None, Some(true)) => None,
        });
        PlanInputs {
            live: device.lifecycle == Lifecycle::Live,
            state: state.as_str().to_owned(),
            suspended: device.is_suspended || self.manual,
            online: reading.map(|t| t.connection == Connection::Online),
            plugged_in,
            // The digest of the document as it is stored, so it stays the same across versions.
            preferences: device
                .preferences
                .as_ref()
                .and_then(|p| serde_json::to_value(p).ok())
                .map(|p| digest(&p.to_string())),
            tariff_id: self.tariff.map(|t| t.id),
            prices_updated_at: self.tariff.map(|t| t.updated_at),
            soc_limit_pct: reading.and_then(|t| t.soc_limit_pct).map(tidy),
            capacity_wh: device.battery_capacity_wh,
            max_power_w: device.max_power_w,
            settings: (!self.kind.charges_vehicle()).then(|| {
                format!(
                    "{}/{}",
                    device.grid_export.as_str(),
                    device.charging_duration_capped.as_str()
                )
            }),
            horizon_end: None,
            expected: Vec::new(),
        }
    }
}

/// A short, stable digest of a text (hex of SHA-256's first 16 bytes).
fn digest(text: &str) -> String {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(text.as_bytes());
    hash[..16].iter().map(|b| format!("{b:02x}")).collect()
}

fn tidy(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn previous_inputs(plan: &PlanRecord) -> Option<PlanInputs> {
    serde_json::from_value(plan.inputs.clone()).ok()
}

/// Whether the device needs a new plan, and why.
pub fn trigger(
    view: &DeviceView<'_>,
    inputs: &PlanInputs,
    now: DateTime<Utc>,
    config: &ControlConfig,
) -> Option<PlanTrigger> {
    let Some(plan) = view.previous else {
        return Some(PlanTrigger::FirstPlan);
    };
    let Some(before) = previous_inputs(plan) else {
        return Some(PlanTrigger::StateChanged);
    };
    let boosting = |state: &str| state == DeviceState::Boosting.as_str();
    if before.suspended != inputs.suspended {
        return Some(if inputs.suspended {
            PlanTrigger::Suspended
        } else {
            PlanTrigger::Unsuspended
        });
    }
    if boosting(&before.state) != boosting(&inputs.state) {
        return Some(if boosting(&inputs.state) {
            PlanTrigger::BoostStarted
        } else {
            PlanTrigger::BoostEnded
        });
    }
    if before.plugged_in != inputs.plugged_in && inputs.plugged_in.is_some() {
        return Some(if inputs.plugged_in == Some(true) {
            PlanTrigger::PluggedIn
        } else {
            PlanTrigger::Unplugged
        });
    }
    if before.preferences != inputs.preferences {
        return Some(PlanTrigger::PreferencesChanged);
    }
    if before.tariff_id != inputs.tariff_id || before.prices_updated_at != inputs.prices_updated_at
    {
        return Some(PlanTrigger::NewPrices);
    }
    if before.soc_limit_pct != inputs.soc_limit_pct
        || before.capacity_wh != inputs.capacity_wh
        || before.max_power_w != inputs.max_power_w
        || before.settings != inputs.settings
    {
        return Some(PlanTrigger::DeviceChanged);
    }
    if before.state != inputs.state || before.online != inputs.online || before.live != inputs.live
    {
        return Some(PlanTrigger::StateChanged);
    }
    let kind = plan.kind;
    if !view.kind.charges_vehicle() {
        return day_ahead_trigger(view, plan, &before, now, config);
    }
    if kind == PlanKind::Smart && plan.ready_by.is_some_and(|at| at <= now) {
        return Some(PlanTrigger::ReadyByPassed);
    }
    if kind != PlanKind::Idle
        && let (Some(expected), Some(actual)) = (
            expected_soc(plan, now, config),
            view.reading.and_then(|t| t.state_of_charge_pct),
        )
        && (expected - actual).abs() > config.soc_tolerance_pct
    {
        return Some(PlanTrigger::StateOfChargeChanged);
    }
    None
}

/// Why a heat pump's or battery's day-ahead plan is due, past the triggers all kinds share: its
/// horizon is half run out, or the indoor temperature (state of charge) has drifted from the path
/// the plan expected by more than the tolerance.
fn day_ahead_trigger(
    view: &DeviceView<'_>,
    plan: &PlanRecord,
    before: &PlanInputs,
    now: DateTime<Utc>,
    config: &ControlConfig,
) -> Option<PlanTrigger> {
    if plan.kind == PlanKind::Idle {
        return None;
    }
    if let Some(end) = before.horizon_end {
        let half = (end - plan.created_at) / 2;
        if now >= plan.created_at + half {
            return Some(PlanTrigger::HorizonReached);
        }
    }
    let (&(start, start_value), path) = before.expected.split_first()?;
    let expected = crate::heat::expected_at(path, start, start_value, now)?;
    let reading = view.reading?;
    if view.kind.heats() {
        let indoor = reading.indoor_temperature_c?;
        ((indoor - expected).abs() > config.temperature_tolerance_c)
            .then_some(PlanTrigger::TemperatureChanged)
    } else {
        let soc = reading.state_of_charge_pct?;
        ((soc - expected).abs() > config.soc_tolerance_pct)
            .then_some(PlanTrigger::StateOfChargeChanged)
    }
}

/// The state of charge the plan expects at `now`, if it knows where it started.
pub fn expected_soc(plan: &PlanRecord, now: DateTime<Utc>, config: &ControlConfig) -> Option<f64> {
    let start = plan.start_soc_pct?;
    let capacity = plan_capacity(plan)? as f64;
    let mut delivered = 0.0;
    for dispatch in &plan.dispatches {
        let from = dispatch.start.max(plan.created_at);
        let to = dispatch.end.min(now);
        let length = (dispatch.end - dispatch.start).num_milliseconds();
        if to > from && length > 0 {
            let part = (to - from).num_milliseconds() as f64 / length as f64;
            delivered += dispatch.energy_wh as f64 * part;
        }
    }
    let reached = start + delivered * config.charging_efficiency / capacity * 100.0;
    Some(match plan.target_soc_pct {
        Some(target) => reached.min(target.max(start)),
        None => reached,
    })
}

fn plan_capacity(plan: &PlanRecord) -> Option<i64> {
    previous_inputs(plan)
        .and_then(|inputs| inputs.capacity_wh)
        .or(Some(ASSUMED_CAPACITY_WH))
}

/// The next goal of the preferences after `now`: the ready-by instant and the target SoC.
pub fn next_goal(
    preferences: &Preferences,
    time_zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, f64)> {
    let today = now.with_timezone(&time_zone).date_naive();
    (0..8).find_map(|days| {
        let date = today.checked_add_signed(Duration::days(days))?;
        let entry = preferences.target_for(date.weekday())?;
        let ready_by = resiflex_planner::ready_by_local(date, entry.time, time_zone);
        (ready_by > now).then_some((ready_by, entry.max))
    })
}

/// A new plan for the device, as version `previous + 1`.
pub fn make_plan(
    view: &DeviceView<'_>,
    inputs: &PlanInputs,
    trigger: PlanTrigger,
    now: DateTime<Utc>,
    config: &ControlConfig,
    scratch: &mut PlanScratch,
) -> PlanRecord {
    let version = view.previous.map_or(1, |p| p.version + 1);
    let soc = view.reading.and_then(|t| t.state_of_charge_pct);
    let mut record = PlanRecord {
        device_id: view.device.id.clone(),
        version,
        created_at: now,
        trigger,
        kind: PlanKind::Idle,
        tariff_id: view.tariff.map(|t| t.id),
        ready_by: None,
        start_soc_pct: soc,
        target_soc_pct: None,
        achievable_soc_pct: soc,
        target_reached: false,
        outcome: String::new(),
        locked_goal: false,
        cost_micros: 0,
        inputs: serde_json::to_value(inputs).unwrap_or_default(),
        rate_set_id: view.rate_set_id,
        dispatches: Vec::new(),
    };
    if let Some(reason) = idle_reason(view, inputs) {
        record.outcome = reason.to_owned();
        return record;
    }
    if view.kind.heats() {
        crate::heat::plan_alone(view, inputs, &mut record, now, config);
        return record;
    }
    if view.kind.stores_energy() {
        crate::storage::plan_alone(view, inputs, &mut record, now, config);
        return record;
    }
    let Some(preferences) = view.device.preferences.as_ref() else {
        record.outcome = "NO_PREFERENCES".into();
        return record;
    };
    let capacity = view
        .device
        .battery_capacity_wh
        .unwrap_or(ASSUMED_CAPACITY_WH);
    let power = view.device.max_power_w.unwrap_or(7_400);
    let current = soc.unwrap_or(ASSUMED_SOC_PCT);
    record.start_soc_pct = Some(current);
    let limit = view
        .reading
        .and_then(|t| t.soc_limit_pct)
        .unwrap_or(100.0)
        .clamp(0.0, 100.0);

    if view.state == DeviceState::Boosting {
        let goal = preferences
            .schedules
            .iter()
            .map(|entry| entry.max)
            .fold(f64::NAN, f64::max);
        let target = if goal.is_nan() {
            limit
        } else {
            goal.min(limit)
        };
        let until = now + BOOST_LIMIT;
        full_power(
            &mut record,
            now,
            until,
            current,
            target,
            capacity,
            power,
            config,
            DispatchKind::Boost,
        );
        record.kind = PlanKind::Boost;
        return record;
    }

    // Overrun: the ready-by time has passed and the target is not reached.
    if let Some(previous) = view.previous
        && previous.kind == PlanKind::Smart
        && let (Some(ready_by), Some(target)) = (previous.ready_by, previous.target_soc_pct)
        && ready_by <= now
        && current + 0.5 < target.min(limit)
        && config.overrun == OverrunPolicy::Continue
        && now < ready_by + Duration::minutes(config.overrun_limit_minutes)
    {
        let until = ready_by + Duration::minutes(config.overrun_limit_minutes);
        full_power(
            &mut record,
            now,
            until,
            current,
            target.min(limit),
            capacity,
            power,
            config,
            DispatchKind::Smart,
        );
        record.kind = PlanKind::Smart;
        record.ready_by = Some(until);
        record.outcome = format!("OVERRUN_{}", record.outcome);
        return record;
    }

    // The goal: locked from the previous plan, or the next one of the preferences.
    let locked = view.previous.filter(|previous| {
        (previous.locked_goal || previous.dispatches.iter().any(|d| d.start <= now))
            && previous.kind == PlanKind::Smart
            && previous.ready_by.is_some_and(|at| at > now)
            && matches!(
                trigger,
                PlanTrigger::NewPrices
                    | PlanTrigger::StateOfChargeChanged
                    | PlanTrigger::StateChanged
                    | PlanTrigger::DeviceChanged
            )
    });
    let (ready_by, target) = match locked.and_then(|p| Some((p.ready_by?, p.target_soc_pct?))) {
        Some(goal) => goal,
        None => match next_goal(preferences, view.time_zone, now) {
            Some(goal) => goal,
            None => {
                record.outcome = "NO_PREFERENCES".into();
                return record;
            }
        },
    };
    record.ready_by = Some(ready_by);
    record.target_soc_pct = Some(target);

    let slots = slots_between(view, now, ready_by);
    let request = EvPlanRequest {
        slots,
        now,
        ready_by,
        battery_capacity_wh: capacity,
        current_soc_pct: current.clamp(0.0, 100.0),
        target_soc_pct: target.clamp(0.0, 100.0),
        soc_limit_pct: limit,
        max_power_w: power,
        charging_efficiency: config.charging_efficiency,
        taper: (config.model_taper && view.kind == DeviceKind::ElectricVehicle).then_some(Taper {
            from_soc_pct: 80.0,
            power_at_full_pct: 20.0,
        }),
        carbon_weight: config.carbon_weight,
        locked_goal: locked.is_some(),
        min_price_step: config.min_price_step,
    };
    let mut plan = EvPlan::default();
    resiflex_planner::plan_with(&request, scratch, &mut plan);
    record.kind = PlanKind::Smart;
    record.achievable_soc_pct = Some(plan.expected_final_soc_pct);
    record.target_reached = plan.target_reached;
    record.outcome = reason_name(plan.reason).to_owned();
    record.locked_goal = locked.is_some();
    record.cost_micros = (plan.total_cost * 1_000_000.0).round() as i64;
    record.dispatches = merge(plan.dispatches.iter().copied(), DispatchKind::Smart);
    record
}

/// Why the device draws nothing, if it should not.
fn idle_reason(view: &DeviceView<'_>, inputs: &PlanInputs) -> Option<&'static str> {
    if !inputs.live {
        Some("NOT_LIVE")
    } else if inputs.suspended {
        Some(if view.manual { "MANUAL" } else { "SUSPENDED" })
    } else if view.state == DeviceState::TestChargeInProgress {
        Some("TEST_CHARGE")
    } else if !view.state.is_operational() {
        Some("NOT_READY")
    } else if inputs.online == Some(false) || view.state == DeviceState::LostConnection {
        Some("OFFLINE")
    } else if inputs.plugged_in == Some(false) {
        Some("NOT_PLUGGED_IN")
    } else {
        None
    }
}

/// Fills `record` with one dispatch at full power from `now` until the target or `until`.
#[allow(clippy::too_many_arguments)]
fn full_power(
    record: &mut PlanRecord,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    current: f64,
    target: f64,
    capacity: i64,
    power: i64,
    config: &ControlConfig,
    kind: DispatchKind,
) {
    record.target_soc_pct = Some(target);
    let need_wh =
        ((target - current).max(0.0) / 100.0 * capacity as f64) / config.charging_efficiency;
    let needed = Duration::milliseconds((need_wh / power.max(1) as f64 * 3.6e6).ceil() as i64);
    let end = (now + needed).min(until);
    if need_wh <= 0.5 || end <= now {
        record.target_reached = true;
        record.outcome = "ALREADY_AT_TARGET".into();
        record.achievable_soc_pct = Some(current);
        return;
    }
    let energy = power as f64 * (end - now).num_milliseconds() as f64 / 3.6e6;
    let reached = current + energy * config.charging_efficiency / capacity as f64 * 100.0;
    record.achievable_soc_pct = Some(reached.min(target));
    record.target_reached = reached + 1e-6 >= target;
    record.outcome = if record.target_reached {
        "TARGET_REACHED".into()
    } else {
        "NOT_ENOUGH_TIME".into()
    };
    let dispatch = PlanDispatch {
        start: now,
        end,
        kind,
        power_w: power,
        energy_wh: energy.round() as i64,
        action: resiflex_domain::plan::DispatchAction::Charge,
        setpoint_c: None,
        activity: None,
    };
    record.dispatches = vec![dispatch];
}

/// The planner's slots between `now` and `until`: the tariff's rates, or one flat price where
/// there is no tariff.
fn slots_between(view: &DeviceView<'_>, now: DateTime<Utc>, until: DateTime<Utc>) -> Vec<Slot> {
    if view.tariff.is_none() {
        let mut slots = Vec::new();
        let mut start = now;
        while start < until {
            let end = (start + Duration::minutes(30)).min(until);
            slots.push(Slot {
                start,
                end,
                import_price: 0.0,
                carbon_g_per_kwh: None,
            });
            start = end;
        }
        return slots;
    }
    view.rates
        .iter()
        .filter(|rate| rate.valid_to > now && rate.valid_from < until)
        .map(|rate| Slot {
            start: rate.valid_from,
            end: rate.valid_to,
            import_price: rate.import_minor_per_kwh.0 as f64 / 1e6,
            carbon_g_per_kwh: rate.carbon_g_per_kwh.map(|c| c.0 as f64 / 1e6),
        })
        .collect()
}

/// The rates as stored with plans.
pub fn rates_json(rates: &[Rate], from: DateTime<Utc>, to: DateTime<Utc>) -> serde_json::Value {
    serde_json::Value::Array(
        rates
            .iter()
            .filter(|rate| rate.valid_to > from && rate.valid_from < to)
            .map(|rate| {
                serde_json::json!({
                    "validFrom": rate.valid_from,
                    "validTo": rate.valid_to,
                    "importMicros": rate.import_minor_per_kwh.0,
                    "carbonMicros": rate.carbon_g_per_kwh.map(|c| c.0),
                })
            })
            .collect(),
    )
}

/// The planner's slots as dispatches, adjacent slots at the same power merged into one.
fn merge(slots: impl IntoIterator<Item = PlannedSlot>, kind: DispatchKind) -> Vec<PlanDispatch> {
    let mut merged: Vec<PlanDispatch> = Vec::new();
    for slot in slots {
        if slot.energy_from_grid_wh <= 0 {
            continue;
        }
        if let Some(last) = merged.last_mut()
            && last.end == slot.start
            && last.power_w == slot.power_w
        {
            last.end = slot.end;
            last.energy_wh += slot.energy_from_grid_wh;
            continue;
        }
        merged.push(PlanDispatch {
            start: slot.start,
            end: slot.end,
            kind,
            power_w: slot.power_w,
            energy_wh: slot.energy_from_grid_wh,
            action: resiflex_domain::plan::DispatchAction::Charge,
            setpoint_c: None,
            activity: None,
        });
    }
    merged
}

fn reason_name(reason: PlanReason) -> &'static str {
    match reason {
        PlanReason::TargetReached => "TARGET_REACHED",
        PlanReason::AlreadyAtTarget => "ALREADY_AT_TARGET",
        PlanReason::NotEnoughTime => "NOT_ENOUGH_TIME",
        PlanReason::PriceHorizonTooShort => "PRICE_HORIZON_TOO_SHORT",
        PlanReason::NoPrices => "NO_PRICES",
        PlanReason::InvalidInput(_) => "INVALID_INPUT",
        PlanReason::ZoneLimited => "ZONE_LIMITED",
    }
}

/// Plans the SMART members of one grid zone jointly so that together they stay within the zone's
/// capacity in every half-hour, and puts the shared result into their plans: the new plans of
/// members that were due anyway, and a GRID_ZONE version for the others whose dispatches change.
/// The joint solve is exact (a min-cost flow) within `zone_solve_millis`; past that the planner's
/// fallback (devices one by one, earliest ready-by first, within what is left) is used.
fn share_zone(
    capacity_w: i64,
    members: &[(DeviceView<'_>, PlanInputs)],
    new_plans: &mut NewPlans,
    now: DateTime<Utc>,
    config: &ControlConfig,
    scratch: &mut PlanScratch,
) {
    use resiflex_planner::fleet::{FleetDevice, FleetOptions, FleetRequest, ZoneLimit, plan_fleet};
    // Each member's plan as it would be made now: the due ones as just made, the others afresh.
    let mut records: Vec<(usize, PlanRecord, bool)> = Vec::new();
    for (index, (view, inputs)) in members.iter().enumerate() {
        let (record, due) = match new_plans.get(&view.device.id) {
            Some(plan) => (plan.clone(), true),
            None => (
                make_plan(view, inputs, PlanTrigger::GridZone, now, config, scratch),
                false,
            ),
        };
        if record.kind == PlanKind::Smart
            && record.ready_by.is_some()
            && !record.outcome.starts_with("OVERRUN")
        {
            records.push((index, record, due));
        }
    }
    if records.is_empty() {
        return;
    }
    const SLOT_MS: i64 = 30 * 60 * 1000;
    let first = now.timestamp_millis().div_euclid(SLOT_MS) * SLOT_MS;
    let last = records
        .iter()
        .filter_map(|(_, r, _)| r.ready_by)
        .map(|t| t.timestamp_millis())
        .max()
        .unwrap_or(first);
    let slots = ((last - first + SLOT_MS - 1) / SLOT_MS).max(1) as usize;
    let starts: Vec<i64> = (0..slots as i64).map(|i| first + i * SLOT_MS).collect();
    let devices: Vec<FleetDevice> = records
        .iter()
        .map(|(index, record, _)| {
            let view = &members[*index].0;
            let price_at = |t: i64| {
                view.rates.iter().find(|r| {
                    r.valid_from.timestamp_millis() <= t && t < r.valid_to.timestamp_millis()
                })
            };
            let horizon = if view.tariff.is_some() {
                view.rates
                    .iter()
                    .map(|r| r.valid_to.timestamp_millis())
                    .max()
                    .unwrap_or(first)
            } else {
                i64::MAX
            };
            FleetDevice {
                id: *index as u64,
                now_ms: now.timestamp_millis(),
                ready_by_ms: record
                    .ready_by
                    .map_or(first, |t| t.timestamp_millis())
                    .min(horizon),
                battery_capacity_wh: view
                    .device
                    .battery_capacity_wh
                    .unwrap_or(ASSUMED_CAPACITY_WH),
                current_soc_pct: record.start_soc_pct.unwrap_or(ASSUMED_SOC_PCT),
                target_soc_pct: record.target_soc_pct.unwrap_or(0.0),
                soc_limit_pct: view
                    .reading
                    .and_then(|t| t.soc_limit_pct)
                    .unwrap_or(100.0)
                    .clamp(0.0, 100.0),
                max_power_w: view.device.max_power_w.unwrap_or(7_400),
                charging_efficiency: config.charging_efficiency,
                import_price: starts
                    .iter()
                    .map(|&t| price_at(t).map_or(0.0, |r| r.import_minor_per_kwh.0 as f64 / 1e6))
                    .collect(),
                carbon_g_per_kwh: starts
                    .iter()
                    .map(|&t| {
                        price_at(t)
                            .and_then(|r| r.carbon_g_per_kwh)
                            .map_or(0.0, |c| c.0 as f64 / 1e6)
                    })
                    .collect(),
                carbon_weight: config.carbon_weight,
                locked_goal: record.locked_goal,
            }
        })
        .collect();
    let request = FleetRequest::uniform(
        first,
        SLOT_MS,
        slots,
        Some(ZoneLimit::PowerW(vec![capacity_w as f64; slots])),
        devices,
    );
    let deadline =
        std::time::Instant::now() + std::time::Duration::from_millis(config.zone_solve_millis);
    let solved = plan_fleet(&request, &FleetOptions::default(), &mut || {
        std::time::Instant::now() >= deadline
    });
    if solved.fallback {
        tracing::warn!(
            devices = records.len(),
            "the grid zone's joint plan took too long; its fallback is used"
        );
    }
    for (position, (index, mut record, due)) in records.into_iter().enumerate() {
        let Some(shared) = solved.devices.get(position) else {
            continue;
        };
        let dispatches = merge(
            shared.dispatches.iter().map(|d| d.to_planned_slot()),
            DispatchKind::Smart,
        );
        record.achievable_soc_pct = Some(shared.expected_final_soc_pct);
        record.target_reached = shared.target_reached;
        record.outcome = reason_name(shared.reason).to_owned();
        record.cost_micros = (shared.total_cost * 1_000_000.0).round() as i64;
        if due {
            record.dispatches = dispatches;
            new_plans.put(record);
        } else {
            let previous = members.get(index).and_then(|(v, _)| v.previous);
            if previous.is_some_and(|p| p.dispatches == dispatches) {
                continue;
            }
            record.dispatches = dispatches;
            new_plans.put(record);
        }
    }
}

/// What one re-planning pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplanReport {
    /// Devices looked at.
    pub devices: usize,
    /// New plan versions stored.
    pub replanned: usize,
}

/// Which devices a pass looks at.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Every active device.
    All,
    /// One device (with the rest of its household when it shares a home with other flexible
    /// devices, which are planned together).
    Device(&'a str),
    /// The devices of one property.
    Household { account_id: i64, property_id: i64 },
}

/// How many times a device whose new plan version was claimed first by someone else (a customer's
/// command re-planning it during a tick, or the other way round) is re-read and planned again.
const CLAIM_ATTEMPTS: usize = 8;

/// Loads what planning needs for the devices in `scope` in a few queries, re-plans those that need
/// it (every one with `force`, naming `forced` as the trigger), and stores the new versions in one
/// transaction with a PLAN_CREATED event each. Answers the current plan of every device looked at.
///
/// Each new version is claimed with a compare-and-set on `(device, version)`: a pass that planned
/// a device from version `v` stores `v + 1` only if nobody stored it meanwhile. A device whose
/// claim was lost is re-read and planned again from the newer version (up to [`CLAIM_ATTEMPTS`]
/// times, then the stored plan stands), so concurrent passes never fail and versions stay
/// consecutive.
pub async fn replan(
    db: &Db,
    now: DateTime<Utc>,
    config: &ControlConfig,
    scope: Scope<'_>,
    forced: Option<PlanTrigger>,
) -> Result<(ReplanReport, HashMap<String, PlanRecord>), StoreError> {
    let (mut report, mut current, mut lost) = replan_once(db, now, config, scope, forced).await?;
    for _ in 0..CLAIM_ATTEMPTS {
        if lost.is_empty() {
            break;
        }
        tracing::debug!(
            devices = lost.len(),
            "plan versions claimed by another pass; planning them again"
        );
        let mut still = Vec::new();
        for id in lost {
            let (again, plans, lost_again) =
                Box::pin(replan_once(db, now, config, Scope::Device(&id), forced)).await?;
            report.replanned += again.replanned;
            current.extend(plans);
            still.extend(lost_again);
        }
        lost = still;
    }
    for id in lost {
        if let Some(plan) = resiflex_store::plans::current_plan(db, &id).await? {
            current.insert(id, plan);
        }
    }
    Ok((report, current))
}

/// Devices planned per worker thread at least: below this, one thread plans them all.
const PLANS_PER_THREAD: usize = 512;
/// Households planned together are worth a thread of their own from a few of them on.
const HOMES_PER_THREAD: usize = 8;

/// Makes the plans of `items` (each device's view, inputs and trigger), on every core when there
/// are many: planning is pure, so the devices are cut into one run per core, each with its own
/// scratch space, and the plans come back in the order of `items`.
/// The plans one pass makes, found by device id in constant time (a fleet-wide pass makes one per
/// device, and the household and grid-zone passes look each member up).
#[derive(Debug, Default)]
pub struct NewPlans {
    plans: Vec<PlanRecord>,
    index: HashMap<String, usize>,
}

impl NewPlans {
    /// The plan made for `device_id` in this pass, if any.
    pub fn get(&self, device_id: &str) -> Option<&PlanRecord> {
        self.index.get(device_id).and_then(|&i| self.plans.get(i))
    }

    pub fn contains(&self, device_id: &str) -> bool {
        self.index.contains_key(device_id)
    }

    /// Adds `plan`, or replaces the one made for its device earlier in the pass.
    pub fn put(&mut self, plan: PlanRecord) {
        match self.index.get(&plan.device_id) {
            Some(&i) => {
                if let Some(slot) = self.plans.get_mut(i) {
                    *slot = plan;
                }
            }
            None => {
                self.index.insert(plan.device_id.clone(), self.plans.len());
                self.plans.push(plan);
            }
        }
    }

    pub fn into_vec(self) -> Vec<PlanRecord> {
        self.plans
    }
}

fn plan_all(
    items: &[(DeviceView<'_>, PlanInputs, PlanTrigger)],
    now: DateTime<Utc>,
    config: &ControlConfig,
) -> Vec<PlanRecord> {
    in_threads(items, PLANS_PER_THREAD, |run| {
        let mut scratch = PlanScratch::default();
        run.iter()
            .map(|(view, inputs, reason)| {
                make_plan(view, inputs, *reason, now, config, &mut scratch)
            })
            .collect()
    })
}

/// `work` over `items` in chunks on every core (one thread when there are fewer than `per_thread`
/// items a core), results in the order of the items. A chunk whose thread failed yields nothing:
/// its devices keep the plans they have.
fn in_threads<T: Sync, R: Send>(
    items: &[T],
    per_thread: usize,
    work: impl Fn(&[T]) -> Vec<R> + Sync,
) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(items.len() / per_thread.max(1)).max(1);
    if threads == 1 {
        return work(items);
    }
    let chunk = items.len().div_ceil(threads);
    let work = &work;
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|run| (run, scope.spawn(move || work(run))))
            .collect();
        workers
            .into_iter()
            .flat_map(|(run, worker)| {
                worker.join().unwrap_or_else(|_| {
                    tracing::error!(
                        devices = run.len(),
                        "a planning thread failed; its devices keep their plans"
                    );
                    Vec::new()
                })
            })
            .collect()
    })
}

/// The active devices of a device's home (itself included).
async fn household_of(db: &Db, device: &Device) -> Result<Vec<Device>, StoreError> {
    Ok(
        resiflex_store::devices::devices_of_account(db, device.account_id)
            .await?
            .into_iter()
            .filter(|d| d.property_id == device.property_id && d.retired_at.is_none())
            .collect(),
    )
}

/// One pass of [`replan`]; also answers the devices whose new version someone else claimed first.
async fn replan_once(
    db: &Db,
    now: DateTime<Utc>,
    config: &ControlConfig,
    scope: Scope<'_>,
    forced: Option<PlanTrigger>,
) -> Result<(ReplanReport, HashMap<String, PlanRecord>, Vec<String>), StoreError> {
    use resiflex_store::{accounts, devices as store_devices, plans, tariffs, zones};
    // A device in a grid zone shares the zone's capacity: re-plan it with the whole zone, so that
    // a customer's command never gives it a plan that ignores the others.
    if let Scope::Device(id) = scope
        && forced.is_none()
        && let Some(device) = store_devices::device_by_id(db, id).await?
        && zones::property_zones(db)
            .await?
            .contains_key(&device.property_id)
    {
        let (report, mut current) = Box::pin(replan(db, now, config, Scope::All, None)).await?;
        current.retain(|key, _| key == id);
        return Ok((report, current, Vec::new()));
    }
    // A device sharing a home with other devices is planned with its household.
    if let Scope::Device(id) = scope
        && forced.is_none()
        && let Some(device) = store_devices::device_by_id(db, id).await?
    {
        let household = household_of(db, &device).await?;
        if household.len() > 1 {
            let (report, mut current, lost) = Box::pin(replan_once(
                db,
                now,
                config,
                Scope::Household {
                    account_id: device.account_id,
                    property_id: device.property_id,
                },
                None,
            ))
            .await?;
            current.retain(|key, _| key == id);
            return Ok((report, current, lost));
        }
    }
    let clock = std::time::Instant::now();
    let mut phases: Vec<(&str, std::time::Duration)> = Vec::new();
    let devices: Vec<Device> = match scope {
        Scope::All => store_devices::active_devices(db).await?,
        Scope::Device(id) => store_devices::device_by_id(db, id)
            .await?
            .into_iter()
            .collect(),
        Scope::Household {
            account_id,
            property_id,
        } => store_devices::devices_of_account(db, account_id)
            .await?
            .into_iter()
            .filter(|d| d.property_id == property_id && d.retired_at.is_none())
            .collect(),
    };
    phases.push(("devices", clock.elapsed()));
    let (readings, mut current, zones, tariffs_now) = match scope {
        Scope::All => (
            resiflex_store::telemetry::all_latest(db).await?,
            plans::current_plans(db).await?,
            accounts::property_time_zones(db).await?,
            tariffs::property_tariffs_at(db, now).await?,
        ),
        Scope::Device(_) | Scope::Household { .. } => {
            let mut readings = HashMap::new();
            let mut current = HashMap::new();
            for device in &devices {
                let id = device.id.as_str();
                if let Some(reading) = resiflex_store::telemetry::latest(db, id).await? {
                    readings.insert(id.to_owned(), reading);
                }
                if let Some(plan) = plans::current_plan(db, id).await? {
                    current.insert(id.to_owned(), plan);
                }
            }
            let mut zones = HashMap::new();
            let mut tariffs_now = HashMap::new();
            for device in &devices {
                if let Some(property) = accounts::property_by_id(db, device.property_id).await? {
                    zones.insert(property.id, property.time_zone);
                }
                if let Some(assigned) =
                    tariffs::tariff_of_property(db, device.property_id, now).await?
                {
                    tariffs_now.insert(device.property_id, assigned.tariff);
                }
            }
            (readings, current, zones, tariffs_now)
        }
    };
    let mut rates: HashMap<i64, Vec<Rate>> = HashMap::new();
    let mut rate_sets: HashMap<i64, i64> = HashMap::new();
    for tariff in tariffs_now.values() {
        if let std::collections::hash_map::Entry::Vacant(slot) = rates.entry(tariff.id) {
            let found = tariffs::rates_between(db, tariff.id, now, now + RATES_AHEAD).await?;
            let json = rates_json(&found, now, now + RATES_AHEAD);
            let key = digest(&format!("{}:{json}", tariff.id));
            rate_sets.insert(
                tariff.id,
                plans::save_rate_set(db, &key, Some(tariff.id), &json, now).await?,
            );
            slot.insert(found);
        }
    }
    // Forecasts reach as far as the longest horizon (and the point in force now).
    let forecasts: HashMap<i64, Vec<ForecastPoint>> = match scope {
        Scope::All => {
            resiflex_store::forecasts::all_between(db, now, now + Duration::hours(49)).await?
        }
        _ => {
            let mut out = HashMap::new();
            for device in &devices {
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    out.entry(device.property_id)
                {
                    slot.insert(
                        resiflex_store::forecasts::between(
                            db,
                            device.property_id,
                            now,
                            now + Duration::hours(49),
                        )
                        .await?,
                    );
                }
            }
            out
        }
    };
    let buildings = resiflex_store::thermal::all_models(db).await?;
    let manual: HashSet<String> = resiflex_store::heat_pumps::all_controllers(db)
        .await?
        .into_iter()
        .filter(|c| c.configuration.overrides_smart_control(now))
        .map(|c| c.device_id)
        .collect();
    phases.push(("readings, plans, zones, tariffs", clock.elapsed()));
    let parsed: HashMap<&str, &Telemetry> = readings
        .iter()
        .map(|(id, reading)| (id.as_str(), reading))
        .collect();

    phases.push(("rates, parse", clock.elapsed()));
    let mut scratch = PlanScratch::default();
    let mut new_plans = NewPlans::default();
    let empty: Vec<Rate> = Vec::new();
    let zone_of = zones::property_zones(db).await?;
    let no_forecast: Vec<ForecastPoint> = Vec::new();
    let mut zoned: HashMap<i64, Vec<(DeviceView<'_>, PlanInputs)>> = HashMap::new();
    let mut homes: HashMap<i64, Vec<(DeviceView<'_>, PlanInputs)>> = HashMap::new();
    let mut due_items: Vec<(DeviceView<'_>, PlanInputs, PlanTrigger)> = Vec::new();
    for device in &devices {
        let (kind, state) = (device.kind, device.state);
        let time_zone = zones
            .get(&device.property_id)
            .and_then(|name| name.parse::<chrono_tz::Tz>().ok())
            .unwrap_or(chrono_tz::UTC);
        let tariff = tariffs_now.get(&device.property_id);
        let view = DeviceView {
            device,
            kind,
            state,
            reading: parsed.get(device.id.as_str()).copied(),
            time_zone,
            tariff,
            rates: tariff.and_then(|t| rates.get(&t.id)).unwrap_or(&empty),
            previous: current.get(&device.id),
            rate_set_id: tariff.and_then(|t| rate_sets.get(&t.id).copied()),
            forecast: forecasts.get(&device.property_id).unwrap_or(&no_forecast),
            building: buildings
                .get(&device.id)
                .filter(|m| crate::learning::learnt(m))
                .map(|m| Building {
                    heat_loss_w_per_k: m.heat_loss_w_per_k,
                    thermal_mass_wh_per_k: m.thermal_mass_wh_per_k,
                }),
            manual: manual.contains(&device.id),
        };
        let inputs = view.inputs();
        let due = match forced {
            Some(reason) => Some(reason),
            None => trigger(&view, &inputs, now, config),
        };
        if let Some(reason) = due {
            due_items.push((view.clone(), inputs.clone(), reason));
        }
        if !matches!(scope, Scope::Device(_)) {
            homes
                .entry(device.property_id)
                .or_default()
                .push((view.clone(), inputs.clone()));
        }
        if let Some(zone) = zone_of.get(&device.property_id) {
            zoned.entry(zone.id).or_default().push((view, inputs));
        }
    }
    for plan in plan_all(&due_items, now, config) {
        new_plans.put(plan);
    }
    // A household's devices are planned together whenever one of them was re-planned.
    let due_homes: Vec<&Vec<(DeviceView<'_>, PlanInputs)>> = homes
        .values()
        .filter(|members| {
            members.len() > 1
                && members
                    .iter()
                    .any(|(view, _)| new_plans.contains(&view.device.id))
        })
        .collect();
    let together = in_threads(&due_homes, HOMES_PER_THREAD, |run| {
        let mut scratch = PlanScratch::default();
        run.iter()
            .flat_map(|members| {
                crate::household::plan_together(members, &new_plans, now, config, &mut scratch)
            })
            .collect()
    });
    for plan in together {
        new_plans.put(plan);
    }
    // Devices that share a grid zone are planned together whenever one of them was re-planned.
    if matches!(scope, Scope::All) {
        for (zone_id, members) in &zoned {
            let Some(zone) = zone_of.values().find(|z| z.id == *zone_id) else {
                continue;
            };
            if members
                .iter()
                .any(|(view, _)| new_plans.contains(&view.device.id))
            {
                share_zone(
                    zone.capacity_w,
                    members,
                    &mut new_plans,
                    now,
                    config,
                    &mut scratch,
                );
            }
        }
    }
    phases.push(("plan", clock.elapsed()));
    let mut new_plans = new_plans.into_vec();
    let claimed = plans::claim_plans(db, &new_plans).await?;
    let mut lost = Vec::new();
    new_plans.retain(|plan| {
        let won = claimed.contains(&plan.device_id);
        if !won {
            lost.push(plan.device_id.clone());
        }
        won
    });
    let events: Vec<_> = new_plans
        .iter()
        .map(|plan| {
            (
                plan.device_id.clone(),
                now,
                DeviceEventKind::PlanCreated,
                serde_json::json!({
                    "version": plan.version,
                    "trigger": plan.trigger.as_str(),
                    "kind": plan.kind.as_str(),
                    "achievableSocPct": plan.achievable_soc_pct,
                    "targetSocPct": plan.target_soc_pct,
                    "readyBy": plan.ready_by,
                }),
            )
        })
        .collect();
    phases.push(("store plans", clock.elapsed()));
    resiflex_store::events::add_many(db, &events).await?;
    phases.push(("store events", clock.elapsed()));
    if new_plans.len() >= 1000 {
        tracing::info!(devices = devices.len(), replanned = new_plans.len(), phases = ?phases, "re-planned");
    }
    let report = ReplanReport {
        devices: devices.len(),
        replanned: new_plans.len(),
    };
    for plan in new_plans {
        current.insert(plan.device_id.clone(), plan);
    }
    let looked_at: std::collections::HashSet<&str> =
        devices.iter().map(|d| d.id.as_str()).collect();
    current.retain(|id, _| looked_at.contains(id.as_str()) && !lost.contains(id));
    Ok((report, current, lost))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::{NaiveTime, TimeZone};
    use resiflex_domain::preferences::{
        ALL_WEEKDAYS, PreferenceMode, PreferenceUnit, ScheduleEntry,
    };

    use super::*;

    fn every_day(hour: u32, minute: u32, max: f64) -> Preferences {
        Preferences {
            mode: PreferenceMode::Charge,
            unit: PreferenceUnit::Percentage,
            schedules: ALL_WEEKDAYS
                .into_iter()
                .map(|day| ScheduleEntry {
                    day,
                    time: NaiveTime::from_hms_opt(hour, minute, 0).unwrap(),
                    min: None,
                    max,
                })
                .collect(),
        }
    }

    fn device(preferences: &Preferences) -> Device {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        Device {
            name: "Car".into(),
            make: "Tesla".into(),
            model: "Model 3".into(),
            battery_capacity_wh: Some(60_000),
            max_power_w: Some(7_000),
            preferences: Some(preferences.clone()),
            ..Device::live(
                "car",
                (1, 1),
                resiflex_domain::device::DeviceKind::ElectricVehicle,
                resiflex_domain::device::Provider::Tesla,
                "r",
                t,
            )
        }
    }

    fn reading(at: DateTime<Utc>, soc: f64) -> Telemetry {
        Telemetry {
            soc_limit_pct: Some(100.0),
            ..Telemetry::vehicle_at_home(at, soc)
        }
    }

    fn view<'a>(
        device: &'a Device,
        reading: &'a Telemetry,
        previous: Option<&'a PlanRecord>,
    ) -> DeviceView<'a> {
        DeviceView {
            device,
            kind: DeviceKind::ElectricVehicle,
            state: device.state,
            reading: Some(reading),
            time_zone: chrono_tz::Europe::London,
            tariff: None,
            rates: &[],
            previous,
            rate_set_id: None,
            forecast: &[],
            building: None,
            manual: false,
        }
    }

    #[test]
    fn the_next_goal_is_local_time_also_on_short_and_long_days() {
        let prefs = every_day(7, 30, 80.0);
        let london = chrono_tz::Europe::London;
        // The night the clocks go forward (23-hour day) and back (25-hour day): 07:30 local is
        // 06:30 UTC in summer time and 07:30 UTC in winter time.
        let spring = Utc.with_ymd_and_hms(2026, 3, 28, 22, 0, 0).unwrap();
        assert_eq!(
            next_goal(&prefs, london, spring),
            Some((Utc.with_ymd_and_hms(2026, 3, 29, 6, 30, 0).unwrap(), 80.0))
        );
        let autumn = Utc.with_ymd_and_hms(2026, 10, 24, 22, 0, 0).unwrap();
        assert_eq!(
            next_goal(&prefs, london, autumn),
            Some((Utc.with_ymd_and_hms(2026, 10, 25, 7, 30, 0).unwrap(), 80.0))
        );
        // After today's ready-by the next one is tomorrow's.
        let morning = Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap();
        assert_eq!(
            next_goal(&prefs, london, morning).map(|g| g.0),
            Some(Utc.with_ymd_and_hms(2026, 1, 6, 7, 30, 0).unwrap())
        );
        // No entry for any day: no goal.
        let none = Preferences {
            schedules: Vec::new(),
            ..prefs
        };
        assert_eq!(next_goal(&none, london, morning), None);
    }

    #[test]
    fn an_unchanged_device_keeps_its_plan_and_a_drifting_one_is_replanned() {
        let config = ControlConfig::default();
        let prefs = every_day(7, 30, 80.0);
        let car = device(&prefs);
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 20, 0, 0).unwrap();
        let first_reading = reading(t, 40.0);
        let first_view = view(&car, &first_reading, None);
        let inputs = first_view.inputs();
        assert_eq!(
            trigger(&first_view, &inputs, t, &config),
            Some(PlanTrigger::FirstPlan)
        );
        let plan = make_plan(
            &first_view,
            &inputs,
            PlanTrigger::FirstPlan,
            t,
            &config,
            &mut PlanScratch::default(),
        );
        assert_eq!(plan.kind, PlanKind::Smart);
        assert!(plan.target_reached);

        // Before any dispatch the state of charge should still be 40 %.
        let later = t + Duration::minutes(30);
        let same = reading(later, 40.5);
        let v = view(&car, &same, Some(&plan));
        assert_eq!(trigger(&v, &v.inputs(), later, &config), None);
        let drifted = reading(later, 47.0);
        let v = view(&car, &drifted, Some(&plan));
        assert_eq!(
            trigger(&v, &v.inputs(), later, &config),
            Some(PlanTrigger::StateOfChargeChanged)
        );
        // Unplugged beats everything after it in the order.
        let mut away = reading(later, 47.0);
        away.plugged_in = Some(false);
        let v = view(&car, &away, Some(&plan));
        assert_eq!(
            trigger(&v, &v.inputs(), later, &config),
            Some(PlanTrigger::Unplugged)
        );
        let idle = make_plan(
            &v,
            &v.inputs(),
            PlanTrigger::Unplugged,
            later,
            &config,
            &mut PlanScratch::default(),
        );
        assert_eq!(
            (idle.kind.as_str(), idle.outcome.as_str()),
            ("IDLE", "NOT_PLUGGED_IN")
        );
    }

    #[test]
    fn a_goal_locks_once_charging_has_started_and_a_preference_change_unlocks_it() {
        let config = ControlConfig::default();
        let car = device(&every_day(7, 30, 80.0));
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 20, 0, 0).unwrap();
        let r = reading(t, 40.0);
        let v = view(&car, &r, None);
        let first = make_plan(
            &v,
            &v.inputs(),
            PlanTrigger::FirstPlan,
            t,
            &config,
            &mut PlanScratch::default(),
        );
        let start = first.dispatches[0].start;

        // Charging has started; the customer's schedule now says 90 % by 06:00 (say the stored
        // preferences were changed behind the plan's back): a re-plan for new prices keeps the goal.
        let moved = device(&every_day(6, 0, 90.0));
        let during = start + Duration::minutes(10);
        let r = reading(during, 41.0);
        let v = view(&moved, &r, Some(&first));
        let kept = make_plan(
            &v,
            &v.inputs(),
            PlanTrigger::NewPrices,
            during,
            &config,
            &mut PlanScratch::default(),
        );
        assert!(kept.locked_goal);
        assert_eq!(
            (kept.ready_by, kept.target_soc_pct),
            (first.ready_by, first.target_soc_pct)
        );
        // A preference change is the customer's word: the new goal applies.
        let changed = make_plan(
            &v,
            &v.inputs(),
            PlanTrigger::PreferencesChanged,
            during,
            &config,
            &mut PlanScratch::default(),
        );
        assert!(!changed.locked_goal);
        assert_eq!(changed.target_soc_pct, Some(90.0));
        // Before charging started nothing was locked.
        let before = start - Duration::minutes(10);
        let r = reading(before, 40.0);
        let v = view(&moved, &r, Some(&first));
        let free = make_plan(
            &v,
            &v.inputs(),
            PlanTrigger::NewPrices,
            before,
            &config,
            &mut PlanScratch::default(),
        );
        assert!(!free.locked_goal);
        assert_eq!(free.target_soc_pct, Some(90.0));
    }

    #[test]
    fn past_the_ready_by_time_the_overrun_policy_decides() {
        let mut config = ControlConfig::default();
        let car = device(&every_day(7, 30, 80.0));
        let t = Utc.with_ymd_and_hms(2026, 1, 6, 5, 0, 0).unwrap();
        let r = reading(t, 40.0);
        let v = view(&car, &r, None);
        let short = make_plan(
            &v,
            &v.inputs(),
            PlanTrigger::FirstPlan,
            t,
            &config,
            &mut PlanScratch::default(),
        );
        assert!(
            !short.target_reached,
            "2.5 hours at 7 kW cannot add 40 % of 60 kWh"
        );
        assert_eq!(short.outcome, "NOT_ENOUGH_TIME");
        let after = Utc.with_ymd_and_hms(2026, 1, 6, 7, 31, 0).unwrap();
        let r = reading(after, 65.0);
        let v = view(&car, &r, Some(&short));
        assert_eq!(
            trigger(&v, &v.inputs(), after, &config),
            Some(PlanTrigger::ReadyByPassed)
        );
        let overrun = make_plan(
            &v,
            &v.inputs(),
            PlanTrigger::ReadyByPassed,
            after,
            &config,
            &mut PlanScratch::default(),
        );
        assert!(
            overrun.outcome.starts_with("OVERRUN"),
            "{}",
            overrun.outcome
        );
        let d = overrun.dispatches.clone();
        assert_eq!((d.len(), d[0].start, d[0].power_w), (1, after, 7_000));
        config.overrun = OverrunPolicy::Stop;
        let waits = make_plan(
            &v,
            &v.inputs(),
            PlanTrigger::ReadyByPassed,
            after,
            &config,
            &mut PlanScratch::default(),
        );
        assert_eq!(
            waits.ready_by,
            Some(Utc.with_ymd_and_hms(2026, 1, 7, 7, 30, 0).unwrap())
        );
    }
}
