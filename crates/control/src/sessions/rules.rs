//! The pure rules of what happened: which stretches of plans were in force, what the meter shows
//! over them, where charging sessions begin and end, and what went wrong in each. No I/O, no clock:
//! everything comes in the arguments, so every rule is a unit test. The rule table is in the
//! documentation of the parent module.

use chrono::Datelike;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use resiflex_domain::plan::{DeviceEventKind, DispatchKind, PlanDispatch, PlanKind, PlanTrigger};
use resiflex_domain::preferences::Preferences;
use resiflex_domain::tariff::Rate;
use resiflex_providers::{Connection, Telemetry};
use serde::{Deserialize, Serialize};

/// Readings closer than this to the target (percentage points) count as reaching it.
pub const SOC_TOLERANCE: f64 = 1.0;
/// A fall of at least this many points after the target was reached is a drain.
pub const DRAIN_POINTS: f64 = 2.0;
/// Silence longer than this over a dispatch is a communication error.
pub const COMMUNICATION_GAP_MINUTES: i64 = 15;
/// Energy drawn this close to a dispatch, boost or test charge counts as theirs (commands land at
/// the next tick).
pub const EDGE_GRACE_MINUTES: i64 = 5;
/// Energy at home outside every schedule from which on it is interference, Wh.
pub const INTERFERENCE_WH: f64 = 250.0;
/// Less than this over a session's dispatches is no charging at all, Wh.
pub const NO_CHARGING_WH: f64 = 50.0;
/// Above this state of charge a car's battery accepts less power.
pub const TAPER_FROM_PCT: f64 = 80.0;
/// Measured power below this share of the asked power is far from it...
pub const POWER_LOW: f64 = 0.75;
/// ...and above this share too.
pub const POWER_HIGH: f64 = 1.25;
/// A dispatch is completed once a reading at or after its end arrived, or this long after its end.
pub const COMPLETION_WAIT_MINUTES: i64 = 60;

/// What the rules need of one reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub at: DateTime<Utc>,
    pub online: bool,
    pub plugged_in: Option<bool>,
    pub at_home: Option<bool>,
    pub soc_pct: Option<f64>,
    pub soc_limit_pct: Option<f64>,
    /// The import meter, Wh.
    pub meter_wh: i64,
    /// The export meter, Wh (a battery feeding the home or the grid).
    pub export_meter_wh: i64,
}

impl Reading {
    pub fn of(telemetry: &Telemetry) -> Reading {
        Reading {
            at: telemetry.at,
            online: telemetry.connection == Connection::Online,
            plugged_in: telemetry.plugged_in,
            at_home: telemetry.at_home,
            soc_pct: telemetry.state_of_charge_pct.filter(|v| v.is_finite()),
            soc_limit_pct: telemetry.soc_limit_pct.filter(|v| v.is_finite()),
            meter_wh: telemetry.energy_imported_wh,
            export_meter_wh: telemetry.energy_exported_wh,
        }
    }

    fn plugged(&self) -> bool {
        self.plugged_in == Some(true)
    }
}

/// What the rules need of one plan version.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanView {
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub trigger: PlanTrigger,
    pub kind: PlanKind,
    pub ready_by: Option<DateTime<Utc>>,
    pub start_soc_pct: Option<f64>,
    pub target_soc_pct: Option<f64>,
    pub achievable_soc_pct: Option<f64>,
    pub dispatches: Vec<PlanDispatch>,
}

impl PlanView {
    fn is_smart(&self) -> bool {
        self.kind == PlanKind::Smart
    }

    fn charges(&self) -> bool {
        matches!(self.kind, PlanKind::Smart | PlanKind::Boost)
    }

    /// The state of charge the smart optimisation stands to reach with this plan: a smart plan's
    /// achievable level; for a boost or an idle plan, the level when it was made (the smart plan
    /// delivers nothing more).
    fn smart_value(&self) -> Option<f64> {
        if self.is_smart() {
            self.achievable_soc_pct.or(self.start_soc_pct)
        } else {
            self.start_soc_pct.or(self.achievable_soc_pct)
        }
    }
}

/// A device event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub kind: DeviceEventKind,
    /// For a DISCREPANCY: the power the device was seen drawing, W.
    pub seen_power_w: Option<i64>,
}

/// A stretch of one plan version's dispatch while that version was in force.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub kind: DispatchKind,
    pub power_w: i64,
    /// The energy the plan expected over this stretch, Wh.
    pub planned_wh: f64,
    pub plan_version: i64,
    /// Whether a newer plan version cut the stretch short (a boost cancelled, a re-plan).
    pub superseded: bool,
}

impl Piece {
    /// A stretch a newer plan cut short before the meter showed any energy in it (a boost
    /// cancelled at once) did not happen: it is not a completed dispatch.
    pub fn happened(&self, energy_wh: i64) -> bool {
        !(self.superseded && energy_wh == 0)
    }
}

/// The stretches of dispatches that were in force: each version's dispatches, from when it was
/// made until the next version was. `plans` in any order.
pub fn pieces(plans: &[PlanView]) -> Vec<Piece> {
    let mut plans: Vec<&PlanView> = plans.iter().collect();
    plans.sort_by_key(|p| (p.created_at, p.version));
    let mut out = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        let until = plans.get(i + 1).map(|next| next.created_at);
        for dispatch in &plan.dispatches {
            let start = dispatch.start.max(plan.created_at);
            let end = until.map_or(dispatch.end, |until| dispatch.end.min(until));
            if end <= start {
                continue;
            }
            let whole = seconds(dispatch.start, dispatch.end);
            let share = if whole > 0.0 {
                seconds(start, end) / whole
            } else {
                0.0
            };
            out.push(Piece {
                start,
                end,
                kind: dispatch.kind,
                power_w: dispatch.power_w,
                planned_wh: dispatch.energy_wh as f64 * share,
                plan_version: plan.version,
                superseded: end < dispatch.end,
            });
        }
    }
    out.sort_by_key(|p| p.start);
    out
}

fn seconds(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_milliseconds() as f64 / 1000.0
}

fn overlap(a: (DateTime<Utc>, DateTime<Utc>), b: (DateTime<Utc>, DateTime<Utc>)) -> f64 {
    let start = a.0.max(b.0);
    let end = a.1.min(b.1);
    if end > start {
        seconds(start, end)
    } else {
        0.0
    }
}

/// The meter at `t`, interpolated between the readings around it; the first reading before the
/// series starts and the last one after it ends (no growth is assumed where nothing was heard).
/// `readings` oldest first.
pub fn meter_at(readings: &[Reading], t: DateTime<Utc>) -> Option<f64> {
    meter_of(readings, t, |r| r.meter_wh)
}

/// A meter of the readings (`meter` picks it) at `t`, as [`meter_at`] reads the import meter.
fn meter_of(
    readings: &[Reading],
    t: DateTime<Utc>,
    meter: impl Fn(&Reading) -> i64,
) -> Option<f64> {
    let after = readings.partition_point(|r| r.at <= t);
    match (
        after.checked_sub(1).and_then(|i| readings.get(i)),
        readings.get(after),
    ) {
        (Some(a), Some(b)) => {
            let span = seconds(a.at, b.at);
            let part = if span > 0.0 {
                seconds(a.at, t) / span
            } else {
                1.0
            };
            Some(meter(a) as f64 + (meter(b) - meter(a)) as f64 * part)
        }
        (Some(a), None) => Some(meter(a) as f64),
        (None, Some(b)) => Some(meter(b) as f64),
        (None, None) => None,
    }
}

/// What the export meter shows over `[from, to]`, Wh.
pub fn exported_between(readings: &[Reading], from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    let meter = |t| meter_of(readings, t, |r| r.export_meter_wh);
    match (meter(from), meter(to)) {
        (Some(a), Some(b)) if to > from => (b - a).max(0.0),
        _ => 0.0,
    }
}

/// What the meter shows imported over `[from, to]`, Wh.
pub fn energy_between(readings: &[Reading], from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    match (meter_at(readings, from), meter_at(readings, to)) {
        (Some(a), Some(b)) if to > from => (b - a).max(0.0),
        _ => 0.0,
    }
}

/// Where a device was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    AtHome,
    Away,
}

impl Location {
    pub const fn as_str(self) -> &'static str {
        match self {
            Location::AtHome => "AT_HOME",
            Location::Away => "AWAY",
        }
    }
}

/// Away when a reading inside the stretch (or the last one before it) says the car was not at
/// home; at home otherwise (chargers do not say, and are at home).
pub fn location(readings: &[Reading], from: DateTime<Utc>, to: DateTime<Utc>) -> Location {
    let before = readings.iter().rev().find(|r| r.at <= from);
    let away = readings
        .iter()
        .filter(|r| r.at >= from && r.at <= to)
        .chain(before)
        .any(|r| r.at_home == Some(false));
    if away {
        Location::Away
    } else {
        Location::AtHome
    }
}

/// A completed stretch with the energy imported over it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Completed {
    pub piece: Piece,
    pub energy_wh: i64,
    pub location: Location,
}

/// The stretches that end in `(after, now]` and can be completed: a reading at or after their end
/// has arrived, or their end is [`COMPLETION_WAIT_MINUTES`] in the past.
pub fn completed(
    pieces: &[Piece],
    readings: &[Reading],
    after: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<Completed> {
    let heard_until = readings.last().map(|r| r.at);
    pieces
        .iter()
        .filter(|p| after.is_none_or(|after| p.end > after) && p.end <= now)
        .filter(|p| {
            heard_until.is_some_and(|at| at >= p.end)
                || now - p.end >= Duration::minutes(COMPLETION_WAIT_MINUTES)
        })
        .map(|p| Completed {
            piece: *p,
            // A discharge's energy is what the battery fed out, negative.
            energy_wh: if p.power_w < 0 {
                -exported_between(readings, p.start, p.end).round() as i64
            } else {
                energy_between(readings, p.start, p.end).round() as i64
            },
            location: location(readings, p.start, p.end),
        })
        .filter(|c| c.piece.happened(c.energy_wh))
        .collect()
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedBy {
    /// Unplugged, or the car left.
    Unplugged,
    /// The device was de-authenticated and retired.
    Retired,
}

/// A plug-in period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// The first reading that showed the device plugged in.
    pub start: DateTime<Utc>,
    /// The first reading that showed it unplugged (or away), or the retirement; `None` while open.
    pub end: Option<DateTime<Utc>>,
    pub ended_by: Option<EndedBy>,
}

/// The plug-in periods of a series of readings (oldest first); a device retired at `retired_at`
/// ends its open period there.
pub fn spans(readings: &[Reading], retired_at: Option<DateTime<Utc>>) -> Vec<Span> {
    let mut out = Vec::new();
    let mut open: Option<DateTime<Utc>> = None;
    for r in readings {
        if retired_at.is_some_and(|at| r.at > at) {
            break;
        }
        let connected = r.plugged() && r.online;
        let disconnected = r.plugged_in == Some(false);
        match open {
            None if connected => open = Some(r.at),
            Some(start) if disconnected => {
                out.push(Span {
                    start,
                    end: Some(r.at),
                    ended_by: Some(EndedBy::Unplugged),
                });
                open = None;
            }
            _ => {}
        }
    }
    if let Some(start) = open {
        out.push(match retired_at {
            Some(at) if at >= start => Span {
                start,
                end: Some(at),
                ended_by: Some(EndedBy::Retired),
            },
            _ => Span {
                start,
                end: None,
                ended_by: None,
            },
        });
    }
    out
}

/// Kraken's `ChargingSessionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionType {
    Smart,
    Boost,
    Public,
}

impl SessionType {
    pub const fn as_str(self) -> &'static str {
        match self {
            SessionType::Smart => "SMART",
            SessionType::Boost => "BOOST",
            SessionType::Public => "PUBLIC",
        }
    }
}

/// Kraken's `SmartFlexChargingErrorCause`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCause {
    SocLimitReached,
    CommunicationError,
    ThirdPartyChargingInterference,
    PowerDiscrepancy,
    PowerTapering,
    NoScheduledCharge,
    FailureCauseError,
    CustomerActionRequired,
    NoCharging,
    FullCharge,
    PostChargeBatteryDrain,
    UnknownChargingErrorCause,
}

impl ErrorCause {
    pub const ALL: [ErrorCause; 12] = [
        ErrorCause::SocLimitReached,
        ErrorCause::CommunicationError,
        ErrorCause::ThirdPartyChargingInterference,
        ErrorCause::PowerDiscrepancy,
        ErrorCause::PowerTapering,
        ErrorCause::NoScheduledCharge,
        ErrorCause::FailureCauseError,
        ErrorCause::CustomerActionRequired,
        ErrorCause::NoCharging,
        ErrorCause::FullCharge,
        ErrorCause::PostChargeBatteryDrain,
        ErrorCause::UnknownChargingErrorCause,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCause::SocLimitReached => "SOC_LIMIT_REACHED",
            ErrorCause::CommunicationError => "COMMUNICATION_ERROR",
            ErrorCause::ThirdPartyChargingInterference => "THIRD_PARTY_CHARGING_INTERFERENCE",
            ErrorCause::PowerDiscrepancy => "POWER_DISCREPANCY",
            ErrorCause::PowerTapering => "POWER_TAPERING",
            ErrorCause::NoScheduledCharge => "NO_SCHEDULED_CHARGE",
            ErrorCause::FailureCauseError => "FAILURE_CAUSE_ERROR",
            ErrorCause::CustomerActionRequired => "CUSTOMER_ACTION_REQUIRED",
            ErrorCause::NoCharging => "NO_CHARGING",
            ErrorCause::FullCharge => "FULL_CHARGE",
            ErrorCause::PostChargeBatteryDrain => "POST_CHARGE_BATTERY_DRAIN",
            ErrorCause::UnknownChargingErrorCause => "UNKNOWN_CHARGING_ERROR_CAUSE",
        }
    }
}

/// Kraken's `SmartFlexChargingTruncationCause`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TruncationCause {
    Disconnected,
    Suspended,
    BoostCharging,
    UnknownTruncationCause,
    ChargingOptimisationCreated,
    DeviceDeauthSuccess,
}

impl TruncationCause {
    pub const ALL: [TruncationCause; 6] = [
        TruncationCause::Disconnected,
        TruncationCause::Suspended,
        TruncationCause::BoostCharging,
        TruncationCause::UnknownTruncationCause,
        TruncationCause::ChargingOptimisationCreated,
        TruncationCause::DeviceDeauthSuccess,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            TruncationCause::Disconnected => "DISCONNECTED",
            TruncationCause::Suspended => "SUSPENDED",
            TruncationCause::BoostCharging => "BOOST_CHARGING",
            TruncationCause::UnknownTruncationCause => "UNKNOWN_TRUNCATION_CAUSE",
            TruncationCause::ChargingOptimisationCreated => "CHARGING_OPTIMISATION_CREATED",
            TruncationCause::DeviceDeauthSuccess => "DEVICE_DEAUTH_SUCCESS",
        }
    }
}

/// The one problem of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Error(ErrorCause),
    Truncation(TruncationCause),
}

/// One dispatch of a session with the energy it drew, as stored with the session.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionDispatch {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub kind: DispatchKind,
    pub energy_wh: i64,
}

/// What a session was, from everything known about it so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub session_type: SessionType,
    pub energy_added_wh: i64,
    /// Millionths of a minor unit; `None` when some energy fell outside the known rates.
    pub cost_micros: Option<i128>,
    pub start_soc_pct: Option<f64>,
    pub final_soc_pct: Option<f64>,
    pub target_soc_pct: Option<f64>,
    pub original_achievable_soc_pct: Option<f64>,
    pub achievable_soc_pct: Option<f64>,
    pub problem: Option<Problem>,
    pub dispatches: Vec<SessionDispatch>,
}

/// Everything known about one session. Each list may hold more than the session (the rules take
/// what falls inside it); all oldest first.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub span: Span,
    pub readings: &'a [Reading],
    /// Every stretch of dispatches in force (see [`pieces`]).
    pub pieces: &'a [Piece],
    /// Plan versions, including the one in force at the session's start.
    pub plans: &'a [PlanView],
    pub events: &'a [Event],
    /// The import rates of the device's tariff; `None` without a tariff.
    pub rates: Option<&'a [Rate]>,
    /// The customer's preferences and the property's time zone, for the target they asked for
    /// (a plan's target may already be capped at the device's own limit).
    pub preferences: Option<&'a Preferences>,
    pub time_zone: Tz,
    pub now: DateTime<Utc>,
}

type Interval = (DateTime<Utc>, DateTime<Utc>);

impl Facts<'_> {
    fn end(&self) -> DateTime<Utc> {
        self.span.end.unwrap_or(self.now)
    }

    fn inside(&self, t: DateTime<Utc>) -> bool {
        t >= self.span.start && t <= self.end()
    }

    fn readings(&self) -> Vec<Reading> {
        self.readings
            .iter()
            .filter(|r| self.inside(r.at))
            .copied()
            .collect()
    }

    fn events(&self) -> Vec<&Event> {
        self.events.iter().filter(|e| self.inside(e.at)).collect()
    }

    fn pieces(&self) -> Vec<Piece> {
        self.pieces
            .iter()
            .filter(|p| p.end > self.span.start && p.start < self.end())
            .map(|p| Piece {
                start: p.start.max(self.span.start),
                end: p.end.min(self.end()),
                ..*p
            })
            .collect()
    }

    /// The plans of the session: those made inside it (before it closed), or the one in force at
    /// its start when none was.
    fn plans(&self) -> Vec<&PlanView> {
        let mut made: Vec<&PlanView> = self
            .plans
            .iter()
            .filter(|p| {
                p.created_at >= self.span.start
                    && self.span.end.is_none_or(|end| p.created_at < end)
            })
            .collect();
        made.sort_by_key(|p| (p.created_at, p.version));
        if made.is_empty()
            && let Some(before) = self
                .plans
                .iter()
                .filter(|p| p.created_at < self.span.start)
                .max_by_key(|p| (p.created_at, p.version))
        {
            made.push(before);
        }
        made
    }

    /// The plans that work towards the session's first goal: those before the first one made
    /// because its ready-by time passed (which works towards the next goal).
    fn goal_plans(&self) -> Vec<&PlanView> {
        self.plans()
            .into_iter()
            .take_while(|p| p.trigger != PlanTrigger::ReadyByPassed)
            .collect()
    }

    /// Whether the plans moved on to a next goal during the session.
    fn goal_passed(&self) -> bool {
        self.plans()
            .iter()
            .any(|p| p.trigger == PlanTrigger::ReadyByPassed)
    }

    /// The target the customer asked for by the goal plan's ready-by time.
    fn wanted_target(&self, plan: Option<&PlanView>) -> Option<f64> {
        let ready_by = plan?.ready_by?;
        let day = ready_by.with_timezone(&self.time_zone).weekday();
        self.preferences?.target_for(day).map(|entry| entry.max)
    }

    /// Boosts by their events: from BOOST_STARTED to its cancellation, its end or the session's.
    fn boosts(&self) -> Vec<Interval> {
        let mut out = Vec::new();
        let mut open: Option<DateTime<Utc>> = None;
        for e in self.events.iter().filter(|e| e.at <= self.end()) {
            match e.kind {
                DeviceEventKind::BoostStarted => open = open.or(Some(e.at)),
                DeviceEventKind::BoostCancelled | DeviceEventKind::BoostFinished => {
                    if let Some(start) = open.take() {
                        out.push((start, e.at));
                    }
                }
                _ => {}
            }
        }
        if let Some(start) = open {
            out.push((start, self.end()));
        }
        out.retain(|(_, end)| *end >= self.span.start);
        out
    }
}

/// Works out a session: its type, energy, cost, states of charge and its one problem, by the rule
/// table of the parent module.
pub fn analyse(facts: &Facts<'_>) -> Outcome {
    let readings = facts.readings();
    let pieces = facts.pieces();
    let plans = facts.goal_plans();
    let events = facts.events();
    let boosts = facts.boosts();
    let end = facts.end();

    let away = readings
        .iter()
        .any(|r| r.plugged() && r.at_home == Some(false));
    let boosted = !boosts.is_empty() || pieces.iter().any(|p| p.kind == DispatchKind::Boost);
    let session_type = if away {
        SessionType::Public
    } else if boosted {
        SessionType::Boost
    } else {
        SessionType::Smart
    };

    let energy_added_wh = match (readings.first(), readings.last()) {
        (Some(a), Some(b)) => (b.meter_wh - a.meter_wh).max(0),
        _ => 0,
    };
    let cost_micros = match (session_type, facts.rates) {
        (SessionType::Public, _) | (_, None) => None,
        (_, Some(rates)) => cost(&readings, rates),
    };
    let socs: Vec<f64> = readings.iter().filter_map(|r| r.soc_pct).collect();
    let start_soc_pct = socs.first().copied();
    let final_soc_pct = socs.last().copied();
    let best_soc = socs.iter().copied().fold(None, |best: Option<f64>, v| {
        Some(best.map_or(v, |b| b.max(v)))
    });

    let charging_plans: Vec<&PlanView> = plans.iter().copied().filter(|p| p.charges()).collect();
    let target_soc_pct = charging_plans.last().and_then(|p| p.target_soc_pct);
    let wanted = facts
        .wanted_target(charging_plans.last().copied())
        .or(target_soc_pct);
    let achievable = achievable(facts, &plans, final_soc_pct, best_soc);
    let (original, last) = match achievable {
        Some((original, last, _)) => (Some(original), Some(last)),
        None => (
            charging_plans.first().and_then(|p| p.achievable_soc_pct),
            charging_plans.last().and_then(|p| p.achievable_soc_pct),
        ),
    };

    let dispatches = pieces
        .iter()
        .map(|p| (p, energy_between(&readings, p.start, p.end).round() as i64))
        .filter(|(p, energy_wh)| p.happened(*energy_wh))
        .map(|(p, energy_wh)| SessionDispatch {
            start: p.start,
            end: p.end,
            kind: p.kind,
            energy_wh,
        })
        .collect();

    let problem = if session_type == SessionType::Public {
        // Charging away from home is outside ResiFlex's control: nothing to diagnose.
        None
    } else {
        problem(
            facts,
            &Observed {
                readings: &readings,
                pieces: &pieces,
                events: &events,
                boosts: &boosts,
                end,
                best_soc,
                final_soc: final_soc_pct,
                target: target_soc_pct,
                wanted,
                original,
                truncation: achievable.and_then(|(_, _, cause)| cause),
            },
        )
    };

    Outcome {
        session_type,
        energy_added_wh,
        cost_micros,
        start_soc_pct,
        final_soc_pct,
        target_soc_pct,
        original_achievable_soc_pct: original,
        achievable_soc_pct: last,
        problem,
        dispatches,
    }
}

/// The cost of what the meter shows between consecutive readings, each interval's energy spread
/// evenly over it and priced by the rates it overlaps; `None` when some energy has no rate.
pub fn cost(readings: &[Reading], rates: &[Rate]) -> Option<i128> {
    let mut total: i128 = 0;
    for pair in readings.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let energy = i128::from((b.meter_wh - a.meter_wh).max(0));
        let span = (b.at - a.at).num_milliseconds();
        if energy == 0 || span <= 0 {
            continue;
        }
        let mut covered: i64 = 0;
        for rate in rates {
            let from = rate.valid_from.max(a.at);
            let to = rate.valid_to.min(b.at);
            if to <= from {
                continue;
            }
            let ms = (to - from).num_milliseconds();
            covered += ms;
            // Wh × (micro-minor per kWh) / 1000 = micro-minor.
            total += energy * i128::from(rate.import_minor_per_kwh.0) * i128::from(ms)
                / (i128::from(span) * 1000);
        }
        if covered < span {
            return None;
        }
    }
    Some(total)
}

/// Whole minor units from millionths, rounded half away from zero.
pub fn round_minor(micros: i128) -> i64 {
    let half = if micros < 0 { -500_000 } else { 500_000 };
    i64::try_from((micros + half) / 1_000_000).unwrap_or(i64::MAX)
}

/// The smart optimisation's achievable level over the session: `(original, last, cause)`, where
/// the cause is set when the last is lower than the original by more than the tolerance and the
/// lowering is a truncation. `None` when no smart plan was in force in the session.
fn achievable(
    facts: &Facts<'_>,
    plans: &[&PlanView],
    final_soc: Option<f64>,
    best_soc: Option<f64>,
) -> Option<(f64, f64, Option<TruncationCause>)> {
    let first = plans
        .iter()
        .position(|p| p.is_smart() && p.achievable_soc_pct.is_some())?;
    let original = plans[first].achievable_soc_pct?;
    // Each later change of the level: when, to what, and what made it.
    let mut points: Vec<(DateTime<Utc>, f64, Via)> = plans[first + 1..]
        .iter()
        .filter_map(|p| Some((p.created_at, p.smart_value()?, Via::Plan(p.trigger))))
        .collect();
    let last_charging = plans.iter().rev().find(|p| p.charges());
    if let (Some(end), Some(ended_by), Some(final_soc), false) = (
        facts.span.end,
        facts.span.ended_by,
        final_soc,
        facts.goal_passed(),
    ) {
        let unfinished = last_charging.is_some_and(|p| p.ready_by.is_none_or(|at| end < at));
        let level = points.last().map_or(original, |(_, v, _)| *v);
        if unfinished && best_soc.unwrap_or(final_soc) < level - SOC_TOLERANCE {
            points.push((end, final_soc, Via::End(ended_by)));
        }
    }
    let last = points.last().map_or(original, |(_, v, _)| *v);
    if last >= original - SOC_TOLERANCE || best_soc.is_none() {
        // Not lowered, or the device reports no state of charge to compare with.
        return Some((original, last, None));
    }
    // The lowering that stuck: the first of the trailing points below the original.
    let stuck = points
        .iter()
        .rposition(|(_, v, _)| *v >= original - SOC_TOLERANCE)
        .map_or(0, |i| i + 1);
    let since = stuck
        .checked_sub(1)
        .and_then(|i| points.get(i))
        .map_or(plans[first].created_at, |(t, _, _)| *t);
    let (at, _, via) = &points[stuck];
    let window: Vec<DeviceEventKind> = facts
        .events
        .iter()
        .filter(|e| e.at >= since && e.at <= *at)
        .map(|e| e.kind)
        .collect();
    Some((original, last, truncation_cause(via, &window)))
}

/// What changed the achievable level.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Via {
    /// A new plan version with this trigger.
    Plan(PlanTrigger),
    /// The session ended before the plan finished.
    End(EndedBy),
}

/// The truncation cause of a lowering, from what made it and the events since the level before.
fn truncation_cause(via: &Via, events: &[DeviceEventKind]) -> Option<TruncationCause> {
    use DeviceEventKind as Seen;
    use PlanTrigger as Made;
    let trigger = match via {
        Via::Plan(trigger) => *trigger,
        Via::End(EndedBy::Retired) => return Some(TruncationCause::DeviceDeauthSuccess),
        // The session ended unplugged: as a plan made by the unplug would.
        Via::End(EndedBy::Unplugged) => Made::Unplugged,
    };
    let seen = |kinds: &[Seen]| events.iter().any(|e| kinds.contains(e));
    if seen(&[Seen::Deauthenticated]) {
        Some(TruncationCause::DeviceDeauthSuccess)
    } else if matches!(trigger, Made::Suspended | Made::Unsuspended) || seen(&[Seen::Suspended]) {
        Some(TruncationCause::Suspended)
    } else if matches!(trigger, Made::BoostStarted | Made::BoostEnded)
        || seen(&[
            Seen::BoostStarted,
            Seen::BoostCancelled,
            Seen::BoostFinished,
        ])
    {
        Some(TruncationCause::BoostCharging)
    } else if trigger == Made::Unplugged || seen(&[Seen::Unplugged]) {
        Some(TruncationCause::Disconnected)
    } else if matches!(trigger, Made::PreferencesChanged | Made::NewPrices)
        || seen(&[Seen::PreferencesChanged])
    {
        Some(TruncationCause::ChargingOptimisationCreated)
    } else if matches!(trigger, Made::StateOfChargeChanged | Made::DeviceChanged) {
        // The device delivered less than expected, or its own limit changed: the error rules say why.
        None
    } else {
        Some(TruncationCause::UnknownTruncationCause)
    }
}

/// What the error rules look at.
struct Observed<'a> {
    readings: &'a [Reading],
    pieces: &'a [Piece],
    events: &'a [&'a Event],
    boosts: &'a [Interval],
    end: DateTime<Utc>,
    best_soc: Option<f64>,
    final_soc: Option<f64>,
    target: Option<f64>,
    /// The customer's own target (the plan's may be capped at the device's limit).
    wanted: Option<f64>,
    original: Option<f64>,
    truncation: Option<TruncationCause>,
}

fn problem(facts: &Facts<'_>, o: &Observed<'_>) -> Option<Problem> {
    use ErrorCause::*;
    let error = |cause| Some(Problem::Error(cause));
    let seen = |kind: DeviceEventKind| o.events.iter().any(|e| e.kind == kind);

    // 1. The authorisation expired: nothing works until the customer authorises again.
    if seen(DeviceEventKind::AuthorisationExpired) {
        return error(CustomerActionRequired);
    }
    // 2. Silence over a dispatch.
    if silent_over_dispatch(facts.span.start, o) {
        return error(CommunicationError);
    }
    // 3. The achievable level was cut.
    if let Some(cause) = o.truncation {
        return Some(Problem::Truncation(cause));
    }
    // 4. Charging at home outside every schedule.
    if outside_schedules_wh(o) >= INTERFERENCE_WH || drawn_when_told_to_stop(o) {
        return error(ThirdPartyChargingInterference);
    }
    let limit = o
        .readings
        .iter()
        .filter_map(|r| r.soc_limit_pct)
        .fold(None, |low: Option<f64>, v| {
            Some(low.map_or(v, |l| l.min(v)))
        });
    let reached = |level: f64| o.best_soc.is_some_and(|best| best >= level - SOC_TOLERANCE);
    // 5. The device's own limit stood below the target, and the battery got there.
    if let (Some(limit), Some(target)) = (limit, o.wanted)
        && limit < target - SOC_TOLERANCE
        && reached(limit)
    {
        return error(SocLimitReached);
    }
    // 6. The target was reached, then the battery drained while plugged in.
    if let (Some(target), Some(best), Some(last)) = (o.target, o.best_soc, o.final_soc)
        && reached(target)
        && last <= best - DRAIN_POINTS
    {
        return error(PostChargeBatteryDrain);
    }
    // 7. The battery itself was full: at 100 %, or at its own limit when the target asked for that.
    let full = limit.map_or(100.0, |l| l.min(100.0));
    if o.target.is_some_and(|t| t >= full - SOC_TOLERANCE) && reached(full) {
        return error(FullCharge);
    }
    let settled = facts.span.end.is_some()
        || facts.goal_passed()
        || facts
            .goal_plans()
            .iter()
            .rev()
            .find(|p| p.charges())
            .and_then(|p| p.ready_by)
            .is_some_and(|at| at <= facts.now);
    if !settled {
        return None;
    }
    // 8. Nothing was planned in the session.
    if o.pieces.is_empty() && o.boosts.is_empty() {
        return error(NoScheduledCharge);
    }
    if o.pieces.is_empty() {
        return None;
    }
    let dispatched_wh: f64 = o
        .pieces
        .iter()
        .map(|p| energy_between(o.readings, p.start, p.end))
        .sum();
    let has_soc = o.best_soc.is_some();
    let goal = o.original.or(o.target);
    let missed = match (o.best_soc, goal) {
        (Some(best), Some(goal)) => best < goal - SOC_TOLERANCE,
        _ => false,
    };
    // 9. Dispatches, but the meter did not move.
    if dispatched_wh < NO_CHARGING_WH && (missed || !has_soc) {
        return error(NoCharging);
    }
    // 10. Not enough data to judge the goal.
    if !has_soc || o.readings.len() < 2 {
        return error(FailureCauseError);
    }
    if !missed {
        return None;
    }
    let (low, high) = power_ratios(o.readings, o.pieces);
    // 11. The power fell away at a high state of charge, and only there.
    if high.is_some_and(|r| r < POWER_LOW) && low.is_none_or(|r| r >= POWER_LOW) {
        return error(PowerTapering);
    }
    // 12. The power was far from what was asked, where taper does not explain it.
    if low.is_some_and(|r| !(POWER_LOW..=POWER_HIGH).contains(&r))
        || seen(DeviceEventKind::Discrepancy)
    {
        return error(PowerDiscrepancy);
    }
    // 13. The goal was missed with complete data and no known reason.
    error(UnknownChargingErrorCause)
}

/// Whether a stretch of more than [`COMMUNICATION_GAP_MINUTES`] without a reading overlapped one of
/// the session's dispatches.
fn silent_over_dispatch(start: DateTime<Utc>, o: &Observed<'_>) -> bool {
    let gap = Duration::minutes(COMMUNICATION_GAP_MINUTES);
    let mut heard: Vec<DateTime<Utc>> = o
        .readings
        .iter()
        .filter(|r| r.online)
        .map(|r| r.at)
        .collect();
    heard.insert(0, start);
    heard.push(o.end);
    heard.windows(2).any(|w| {
        w[1] - w[0] > gap
            && o.pieces
                .iter()
                .any(|p| overlap((w[0], w[1]), (p.start, p.end)) > 0.0)
    })
}

/// The intervals in which the device was meant to draw, widened by the grace at each edge.
fn scheduled(o: &Observed<'_>) -> Vec<Interval> {
    let grace = Duration::minutes(EDGE_GRACE_MINUTES);
    o.pieces
        .iter()
        .map(|p| (p.start, p.end))
        .chain(o.boosts.iter().copied())
        .map(|(a, b)| (a - grace, b + grace))
        .collect()
}

/// Whether the control loop saw the device drawing power at home outside every schedule (a
/// DISCREPANCY with power seen), which it then stopped.
fn drawn_when_told_to_stop(o: &Observed<'_>) -> bool {
    let covered = scheduled(o);
    let away = |t: DateTime<Utc>| {
        o.readings
            .iter()
            .rev()
            .find(|r| r.at <= t)
            .is_some_and(|r| r.at_home == Some(false))
    };
    o.events.iter().any(|e| {
        e.kind == DeviceEventKind::Discrepancy
            && e.seen_power_w.is_some_and(|w| w > 0)
            && !away(e.at)
            && !covered.iter().any(|(a, b)| *a <= e.at && e.at <= *b)
    })
}

/// Energy drawn at home outside the dispatches and boosts (with their grace at each edge), Wh.
fn outside_schedules_wh(o: &Observed<'_>) -> f64 {
    let covered = scheduled(o);
    let mut outside = 0.0;
    for pair in o.readings.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if a.at_home == Some(false) || b.at_home == Some(false) {
            continue;
        }
        let energy = (b.meter_wh - a.meter_wh).max(0) as f64;
        let span = seconds(a.at, b.at);
        if energy == 0.0 || span <= 0.0 {
            continue;
        }
        let inside: f64 = union_overlap(&covered, (a.at, b.at));
        outside += energy * (1.0 - (inside / span).min(1.0));
    }
    outside
}

/// How much of `window` the intervals cover, seconds (overlapping intervals counted once).
fn union_overlap(intervals: &[Interval], window: Interval) -> f64 {
    let mut clipped: Vec<Interval> = intervals
        .iter()
        .map(|(a, b)| ((*a).max(window.0), (*b).min(window.1)))
        .filter(|(a, b)| b > a)
        .collect();
    clipped.sort();
    let mut total = 0.0;
    let mut current: Option<Interval> = None;
    for (a, b) in clipped {
        current = match current {
            Some((ca, cb)) if a <= cb => Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                total += seconds(ca, cb);
                Some((a, b))
            }
            None => Some((a, b)),
        };
    }
    if let Some((a, b)) = current {
        total += seconds(a, b);
    }
    total
}

/// Measured over asked energy during the dispatches, for reading intervals that lie inside one
/// dispatch and start below [`TAPER_FROM_PCT`] (first) or at or above it (second). The interval in
/// which the battery reached its limit is left out: it stopped for another reason.
fn power_ratios(readings: &[Reading], pieces: &[Piece]) -> (Option<f64>, Option<f64>) {
    let (mut low, mut high) = ((0.0, 0.0), (0.0, 0.0));
    for pair in readings.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let Some(piece) = pieces.iter().find(|p| p.start <= a.at && b.at <= p.end) else {
            continue;
        };
        let (Some(soc), true) = (a.soc_pct, piece.power_w > 0) else {
            continue;
        };
        if let (Some(limit), Some(after)) = (b.soc_limit_pct, b.soc_pct)
            && after >= limit - SOC_TOLERANCE
        {
            continue;
        }
        let asked = piece.power_w as f64 * seconds(a.at, b.at) / 3600.0;
        let measured = (b.meter_wh - a.meter_wh).max(0) as f64;
        let bucket = if soc >= TAPER_FROM_PCT {
            &mut high
        } else {
            &mut low
        };
        bucket.0 += measured;
        bucket.1 += asked;
    }
    let ratio = |(measured, asked): (f64, f64)| (asked > 0.0).then(|| measured / asked);
    (ratio(low), ratio(high))
}

#[cfg(test)]
mod tests;
