//! From a command to the charging profile that carries it out: the plan (power over time), the
//! charger's capabilities (units, stack level, number of periods, phases) and its quirks (purposes
//! it rejects, how it handles a limit of 0). Pure functions, so every rule is tested here.
//!
//! ResiFlex owns one profile per purpose, each with a fixed `chargingProfileId`: sending a new one
//! replaces the old (OCPP 1.6 section 3.13.2), so profiles never pile up, however often a command
//! is repeated or asserted again after a reconnect.

use chrono::{DateTime, Duration, Utc};
use resiflex_providers::ScheduleWindow;
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_ocpp::v1_6::types::{
    ChargingProfile, ChargingProfileKindType, ChargingProfilePurposeType, ChargingRateUnitType,
    ChargingSchedule, ChargingSchedulePeriod,
};
use serde::{Deserialize, Serialize};

/// The voltage per phase assumed when converting watts to amperes.
pub const VOLTS_PER_PHASE: f64 = 230.0;

/// The lowest current a charger can deliver (IEC 61851); a positive limit below it is raised to it.
pub const MINIMUM_AMPERES: f64 = 6.0;

/// The current asked for "full power": the most a home charger delivers; the charger caps it.
pub const FULL_AMPERES: f64 = 32.0;

/// How long a test charge runs at full power.
pub const TEST_CHARGE_SECONDS: i64 = 600;

/// The first of ResiFlex's charging profile ids; one id per purpose follows it.
pub const PROFILE_ID_BASE: i32 = 4_710_000;

/// A profile purpose, as ResiFlex uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Purpose {
    TxDefaultProfile,
    TxProfile,
    ChargePointMaxProfile,
}

impl Purpose {
    pub const fn as_str(self) -> &'static str {
        match self {
            Purpose::TxDefaultProfile => "TxDefaultProfile",
            Purpose::TxProfile => "TxProfile",
            Purpose::ChargePointMaxProfile => "ChargePointMaxProfile",
        }
    }

    pub fn parse(text: &str) -> Option<Purpose> {
        [
            Purpose::TxDefaultProfile,
            Purpose::TxProfile,
            Purpose::ChargePointMaxProfile,
        ]
        .into_iter()
        .find(|p| p.as_str() == text)
    }

    pub const fn profile_id(self) -> i32 {
        match self {
            Purpose::ChargePointMaxProfile => PROFILE_ID_BASE + 1,
            Purpose::TxDefaultProfile => PROFILE_ID_BASE + 2,
            Purpose::TxProfile => PROFILE_ID_BASE + 3,
        }
    }

    fn ocpp(self) -> ChargingProfilePurposeType {
        match self {
            Purpose::TxDefaultProfile => ChargingProfilePurposeType::TxDefaultProfile,
            Purpose::TxProfile => ChargingProfilePurposeType::TxProfile,
            Purpose::ChargePointMaxProfile => ChargingProfilePurposeType::ChargePointMaxProfile,
        }
    }
}

/// The unit a schedule's limits are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RateUnit {
    A,
    W,
}

/// What the charger reported about its smart charging (`GetConfiguration`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Capabilities {
    /// Whether the charger answered the probe at all.
    pub probed: bool,
    /// `ChargingScheduleAllowedChargingRateUnit`.
    pub units: Vec<RateUnit>,
    /// `ChargeProfileMaxStackLevel`.
    pub max_stack_level: u32,
    /// `ChargingScheduleMaxPeriods`.
    pub max_periods: usize,
    /// The phases the charger supplies (from `ConnectorPhaseRotation`, or seen in meter values).
    pub phases: u8,
    /// `NumberOfConnectors`, when the charger said.
    pub connectors: Option<u32>,
}

impl Default for Capabilities {
    fn default() -> Self {
        // OCPP 1.6's own minimums, for a charger that did not answer the probe.
        Capabilities {
            probed: false,
            units: vec![RateUnit::A],
            max_stack_level: 1,
            max_periods: 24,
            phases: 1,
            connectors: None,
        }
    }
}

impl Capabilities {
    /// Reads the answer to the probe: `(key, value)` pairs as the charger sent them.
    pub fn from_configuration<'a>(keys: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut capabilities = Capabilities {
            probed: true,
            ..Capabilities::default()
        };
        for (key, value) in keys {
            match key {
                "ChargingScheduleAllowedChargingRateUnit" => {
                    let units: Vec<RateUnit> = value
                        .split(',')
                        .filter_map(|unit| match unit.trim() {
                            "Current" | "A" => Some(RateUnit::A),
                            "Power" | "W" => Some(RateUnit::W),
                            _ => None,
                        })
                        .collect();
                    if !units.is_empty() {
                        capabilities.units = units;
                    }
                }
                "ChargeProfileMaxStackLevel" => {
                    if let Ok(level) = value.trim().parse::<u32>() {
                        capabilities.max_stack_level = level;
                    }
                }
                "ChargingScheduleMaxPeriods" => {
                    if let Ok(periods) = value.trim().parse::<usize>() {
                        capabilities.max_periods = periods.max(1);
                    }
                }
                "NumberOfConnectors" => {
                    if let Ok(count) = value.trim().parse::<u32>() {
                        capabilities.connectors = Some(count);
                    }
                }
                "ConnectorPhaseRotation" => {
                    // For example "0.RST, 1.RST": three letters name three phases.
                    let three = value.split(',').any(|entry| {
                        let rotation = entry.rsplit('.').next().unwrap_or("").trim();
                        rotation.len() == 3 && rotation.chars().all(|c| "RST".contains(c))
                    });
                    if three {
                        capabilities.phases = 3;
                    }
                }
                _ => {}
            }
        }
        capabilities
    }

    /// Watts when the charger takes them, else amperes.
    pub fn unit(&self) -> RateUnit {
        if self.units.contains(&RateUnit::W) {
            RateUnit::W
        } else {
            RateUnit::A
        }
    }
}

/// How a charger handles a limit of 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ZeroLimit {
    /// As the specification says: no power.
    #[default]
    Supported,
    /// It mishandles 0 (suspends and cannot resume cleanly): stop the transaction instead.
    RemoteStop,
    /// It rejects 0: hold it at the minimum current instead.
    Minimum,
}

/// The fallbacks a charger needed, kept per charger.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Quirks {
    /// Purposes the charger refused; they are skipped from then on.
    pub rejected_purposes: Vec<Purpose>,
    pub zero_limit: ZeroLimit,
}

impl Quirks {
    /// The quirks a new charger starts with: Wallbox chargers are known to suspend on a limit of 0
    /// and not resume cleanly, so they are stopped instead.
    pub fn for_provider(provider: &str) -> Quirks {
        Quirks {
            zero_limit: if provider == "OCPP_WALLBOX" {
                ZeroLimit::RemoteStop
            } else {
                ZeroLimit::Supported
            },
            ..Quirks::default()
        }
    }

    /// The purposes to try, in order, for a profile that should apply now: the preferred ones first,
    /// then the whole station's maximum; purposes the charger refused before are left out.
    pub fn chain(&self, preferred: &[Purpose]) -> Vec<Purpose> {
        let mut chain: Vec<Purpose> = preferred.to_vec();
        if !chain.contains(&Purpose::ChargePointMaxProfile) {
            chain.push(Purpose::ChargePointMaxProfile);
        }
        chain.retain(|p| !self.rejected_purposes.contains(p));
        chain
    }
}

/// Power over time: from `start`, each `(offset in seconds, watts)` holds until the next one; the
/// last holds until `duration` (or for good).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub start: DateTime<Utc>,
    pub periods: Vec<(i64, Option<i64>)>,
    pub duration: Option<i64>,
}

impl Plan {
    /// One limit from now on; `None` is the charger's full power.
    pub fn constant(now: DateTime<Utc>, watts: Option<i64>) -> Plan {
        Plan {
            start: second(now),
            periods: vec![(0, watts)],
            duration: None,
        }
    }

    /// Full power for a while, then nothing.
    pub fn test_charge(now: DateTime<Utc>) -> Plan {
        Plan {
            start: second(now),
            periods: vec![(0, None), (TEST_CHARGE_SECONDS, Some(0))],
            duration: None,
        }
    }

    /// The windows' power during each window and nothing outside them, from now on. Windows that
    /// are over are dropped; overlapping windows take the later one's power.
    pub fn schedule(now: DateTime<Utc>, windows: &[ScheduleWindow]) -> Plan {
        let start = second(now);
        let mut sorted: Vec<&ScheduleWindow> = windows
            .iter()
            .filter(|w| w.end > start && w.end > w.start)
            .collect();
        sorted.sort_by_key(|w| w.start);
        let mut periods: Vec<(i64, Option<i64>)> = vec![(0, Some(0))];
        let offset = |t: DateTime<Utc>| (t - start).num_seconds().max(0);
        for window in sorted {
            let from = offset(window.start);
            let to = offset(window.end);
            periods.retain(|(at, _)| *at < from);
            periods.push((from, Some(window.power_w.max(0))));
            periods.push((to, Some(0)));
        }
        Plan {
            start,
            periods: merge(periods),
            duration: None,
        }
    }

    /// Whether any period asks for no power.
    pub fn has_zero(&self) -> bool {
        self.periods.iter().any(|(_, w)| *w == Some(0))
    }

    /// How far ahead to look when checking the charger's composite schedule.
    pub fn horizon_seconds(&self) -> i64 {
        let last = self.periods.last().map_or(0, |(at, _)| *at);
        self.duration.unwrap_or(last + 1800).clamp(60, 24 * 3600)
    }
}

fn second(t: DateTime<Utc>) -> DateTime<Utc> {
    t - Duration::nanoseconds(i64::from(t.timestamp_subsec_nanos()))
}

/// Joins consecutive periods with the same limit (and periods that start at the same second).
fn merge(periods: Vec<(i64, Option<i64>)>) -> Vec<(i64, Option<i64>)> {
    let mut merged: Vec<(i64, Option<i64>)> = Vec::with_capacity(periods.len());
    for (at, watts) in periods {
        if let Some(last) = merged.last_mut() {
            if last.0 == at {
                last.1 = watts;
                continue;
            }
            if last.1 == watts {
                continue;
            }
        }
        merged.push((at, watts));
    }
    // Merging may leave neighbours equal after an overwrite.
    merged.dedup_by(|b, a| a.1 == b.1);
    merged
}

/// What a charger is rated for, as far as it is known: the most current per phase and its
/// phases (from the catalogue entry it was onboarded as).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rated {
    pub amperes: Option<f64>,
    pub phases: Option<u8>,
}

/// How a plan is turned into limits for one charger.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub unit: RateUnit,
    pub phases: u8,
    /// The most current per phase any limit may ask for.
    pub max_amperes: f64,
    /// Replace 0 by the minimum current (chargers that reject or mishandle 0).
    pub avoid_zero: bool,
}

impl Limits {
    /// The limits for a charger: the phases it reported, never more than it is rated for, and
    /// never more current per phase than its rating (or than a home charger's full current).
    pub fn of(capabilities: &Capabilities, quirks: &Quirks, rated: Rated) -> Limits {
        let phases = capabilities.phases.max(1);
        let phases = rated
            .phases
            .map_or(phases, |rated| phases.min(rated.max(1)));
        let max_amperes = rated
            .amperes
            .filter(|a| a.is_finite() && *a >= MINIMUM_AMPERES)
            .map_or(FULL_AMPERES, |a| a.min(FULL_AMPERES));
        Limits {
            unit: capabilities.unit(),
            phases,
            max_amperes,
            avoid_zero: quirks.zero_limit != ZeroLimit::Supported,
        }
    }

    /// The limit for `watts` (`None`: full power), in this unit, with one decimal, within the
    /// charger's rated current per phase.
    pub fn limit(&self, watts: Option<i64>) -> Decimal {
        let phases = f64::from(self.phases);
        let amperes = match watts {
            None => self.max_amperes,
            #[allow(clippy::cast_precision_loss)] // Watts of a home charger are far below 2^52.
            Some(w) => (w.max(0) as f64 / (VOLTS_PER_PHASE * phases)).min(self.max_amperes),
        };
        let amperes = if amperes <= 0.0 {
            if self.avoid_zero {
                MINIMUM_AMPERES
            } else {
                0.0
            }
        } else {
            amperes.max(MINIMUM_AMPERES)
        };
        let value = match self.unit {
            RateUnit::A => amperes,
            RateUnit::W => match watts {
                Some(w) if w > 0 => {
                    #[allow(clippy::cast_precision_loss)]
                    let w = w as f64;
                    w.max(MINIMUM_AMPERES * VOLTS_PER_PHASE * phases)
                        .min(self.max_amperes * VOLTS_PER_PHASE * phases)
                }
                _ => amperes * VOLTS_PER_PHASE * phases,
            },
        };
        Decimal::from_f64((value * 10.0).round() / 10.0)
            .unwrap_or_default()
            .normalize()
    }
}

/// The profile for `plan` under `purpose`. At most `max_periods` periods are sent: a longer plan
/// is cut there, its last period sent as no power (never full power for good), to be completed
/// by the next plan.
pub fn build(
    plan: &Plan,
    purpose: Purpose,
    limits: Limits,
    stack_level: u32,
    max_periods: usize,
    transaction_id: Option<i32>,
) -> ChargingProfile {
    let max_periods = max_periods.max(1);
    let mut kept: Vec<(i64, Option<i64>)> =
        plan.periods.iter().take(max_periods).copied().collect();
    if plan.periods.len() > max_periods
        && let Some(last) = kept.last_mut()
    {
        last.1 = Some(0);
    }
    let periods: Vec<ChargingSchedulePeriod> = kept
        .iter()
        .map(|(at, watts)| ChargingSchedulePeriod {
            start_period: i32::try_from(*at).unwrap_or(i32::MAX),
            limit: limits.limit(*watts),
            number_phases: (limits.unit == RateUnit::A).then_some(i32::from(limits.phases)),
        })
        .collect();
    ChargingProfile {
        charging_profile_id: purpose.profile_id(),
        transaction_id: if purpose == Purpose::TxProfile {
            transaction_id
        } else {
            None
        },
        stack_level,
        charging_profile_purpose: purpose.ocpp(),
        charging_profile_kind: ChargingProfileKindType::Absolute,
        recurrency_kind: None,
        valid_from: None,
        valid_to: None,
        charging_schedule: ChargingSchedule {
            duration: plan.duration.and_then(|d| i32::try_from(d).ok()),
            start_schedule: Some(plan.start),
            charging_rate_unit: match limits.unit {
                RateUnit::A => ChargingRateUnitType::A,
                RateUnit::W => ChargingRateUnitType::W,
            },
            charging_schedule_period: periods,
            min_charging_rate: None,
        },
    }
}

/// Whether the charger's composite schedule follows the profile: at the start of each of the
/// profile's periods within the composite's span, the charger allows no more than the profile, and
/// nothing where the profile asks for nothing. (A lower limit set by someone else is accepted.)
pub fn follows(
    profile: &ChargingProfile,
    composite: &ChargingSchedule,
    composite_start: DateTime<Utc>,
) -> bool {
    let tolerance = Decimal::new(1, 1);
    let Some(profile_start) = profile.charging_schedule.start_schedule else {
        return false;
    };
    let span = i64::from(composite.duration.unwrap_or(i32::MAX));
    let periods = &composite.charging_schedule_period;
    if periods.is_empty() {
        return false;
    }
    profile
        .charging_schedule
        .charging_schedule_period
        .iter()
        .all(|ours| {
            let at = (profile_start - composite_start).num_seconds() + i64::from(ours.start_period);
            // Probe just inside the period, so a boundary on the same second is not misread.
            let at = at.max(0) + 1;
            if at >= span {
                return true;
            }
            let theirs = periods
                .iter()
                .take_while(|p| i64::from(p.start_period) <= at)
                .last()
                .map(|p| p.limit);
            match theirs {
                Some(limit) => {
                    limit <= ours.limit + tolerance
                        && (ours.limit > Decimal::ZERO || limit <= tolerance)
                }
                None => false,
            }
        })
}

/// A limit in watts, for telemetry and logs.
pub fn watts_of(limit: Decimal, unit: RateUnit, phases: u8) -> i64 {
    let value = limit.to_f64().unwrap_or(0.0);
    #[allow(clippy::cast_possible_truncation)]
    match unit {
        RateUnit::W => value.round() as i64,
        RateUnit::A => (value * VOLTS_PER_PHASE * f64::from(phases)).round() as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 22, 0, 0).unwrap()
    }

    fn minutes(m: i64) -> Duration {
        Duration::minutes(m)
    }

    fn window(from: i64, to: i64, power_w: i64) -> ScheduleWindow {
        ScheduleWindow {
            start: t0() + minutes(from),
            end: t0() + minutes(to),
            power_w,
            setpoint_c: None,
        }
    }

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn schedules_follow_the_windows_and_are_off_outside_them() {
        let plan = Plan::schedule(
            t0(),
            &[
                window(60, 90, 7_000),
                window(30, 60, 7_000),
                window(120, 150, 3_000),
                window(-60, -30, 9_000),
            ],
        );
        assert_eq!(
            plan.periods,
            vec![
                (0, Some(0)),
                (1800, Some(7_000)),
                (5400, Some(0)),
                (7200, Some(3_000)),
                (9000, Some(0))
            ]
        );
        assert!(plan.has_zero());
        let running = Plan::schedule(t0(), &[window(-10, 20, 2_000)]);
        assert_eq!(running.periods, vec![(0, Some(2_000)), (1200, Some(0))]);
    }

    #[test]
    fn watts_become_amperes_with_the_phases_and_the_minimum() {
        let single = Limits {
            unit: RateUnit::A,
            phases: 1,
            max_amperes: FULL_AMPERES,
            avoid_zero: false,
        };
        assert_eq!(single.limit(Some(7_360)), dec("32"));
        assert_eq!(single.limit(Some(3_000)), dec("13"));
        assert_eq!(single.limit(Some(500)), dec("6"), "raised to the minimum");
        assert_eq!(single.limit(Some(0)), dec("0"));
        assert_eq!(single.limit(None), dec("32"));
        let three = Limits {
            phases: 3,
            ..single
        };
        assert_eq!(three.limit(Some(11_000)), dec("15.9"));
        let no_zero = Limits {
            avoid_zero: true,
            ..single
        };
        assert_eq!(no_zero.limit(Some(0)), dec("6"));
        let watts = Limits {
            unit: RateUnit::W,
            ..single
        };
        assert_eq!(watts.limit(Some(3_000)), dec("3000"));
        assert_eq!(watts.limit(Some(0)), dec("0"));
        assert_eq!(watts.limit(None), dec("7360"));
        assert_eq!(watts_of(dec("16"), RateUnit::A, 3), 11_040);
    }

    #[test]
    fn no_limit_exceeds_the_rated_current_or_phases() {
        // A 22 kW charger that reported one phase: 22 kW would be 95.7 A on that phase.
        let reported = Capabilities::default();
        let rated = Rated {
            amperes: Some(32.0),
            phases: Some(3),
        };
        let limits = Limits::of(&reported, &Quirks::default(), rated);
        assert_eq!(
            limits.phases, 1,
            "never more phases than the charger reported"
        );
        assert_eq!(limits.limit(Some(22_000)), dec("32"));
        assert_eq!(limits.limit(None), dec("32"));
        // A 16 A charger is held at 16 A, even at full power.
        let small = Limits::of(
            &Capabilities {
                phases: 3,
                ..Capabilities::default()
            },
            &Quirks::default(),
            Rated {
                amperes: Some(16.0),
                phases: Some(3),
            },
        );
        assert_eq!(small.limit(Some(22_000)), dec("16"));
        assert_eq!(small.limit(None), dec("16"));
        // Three phases reported but one rated: one.
        let one = Limits::of(
            &Capabilities {
                phases: 3,
                ..Capabilities::default()
            },
            &Quirks::default(),
            Rated {
                amperes: None,
                phases: Some(1),
            },
        );
        assert_eq!((one.phases, one.limit(Some(50_000))), (1, dec("32")));
        // In watts, the same ceiling.
        let watts = Limits {
            unit: RateUnit::W,
            ..small
        };
        assert_eq!(watts.limit(Some(50_000)), dec("11040"));
    }

    #[test]
    fn profiles_have_fixed_ids_and_respect_the_period_limit() {
        let plan = Plan::schedule(t0(), &[window(30, 60, 7_000), window(120, 150, 3_000)]);
        let limits = Limits {
            unit: RateUnit::A,
            phases: 1,
            max_amperes: FULL_AMPERES,
            avoid_zero: false,
        };
        let profile = build(&plan, Purpose::TxDefaultProfile, limits, 3, 3, Some(7));
        assert_eq!(profile.charging_profile_id, PROFILE_ID_BASE + 2);
        assert_eq!(
            profile.transaction_id, None,
            "only a TxProfile names its transaction"
        );
        assert_eq!(profile.stack_level, 3);
        assert_eq!(profile.charging_schedule.charging_schedule_period.len(), 3);
        assert_eq!(profile.charging_schedule.start_schedule, Some(t0()));
        let json = serde_json::to_value(&profile).unwrap();
        assert_eq!(json["chargingProfilePurpose"], "TxDefaultProfile");
        assert_eq!(json["chargingProfileKind"], "Absolute");
        assert_eq!(json["chargingSchedule"]["chargingRateUnit"], "A");
        assert_eq!(
            json["chargingSchedule"]["chargingSchedulePeriod"][1],
            serde_json::json!({"startPeriod": 1800, "limit": 30.4, "numberPhases": 1})
        );
        let tx = build(&plan, Purpose::TxProfile, limits, 1, 10, Some(7));
        assert_eq!(tx.transaction_id, Some(7));
        // Cut inside a window: the cut ends in no power, not in full power for good.
        let cut = build(&plan, Purpose::TxDefaultProfile, limits, 1, 4, None);
        let limits_sent: Vec<(i32, Decimal)> = cut
            .charging_schedule
            .charging_schedule_period
            .iter()
            .map(|p| (p.start_period, p.limit))
            .collect();
        assert_eq!(
            limits_sent,
            vec![
                (0, dec("0")),
                (1800, dec("30.4")),
                (3600, dec("0")),
                (7200, dec("0"))
            ]
        );
    }

    #[test]
    fn the_fallback_chain_skips_refused_purposes() {
        let quirks = Quirks {
            rejected_purposes: vec![Purpose::TxDefaultProfile],
            zero_limit: ZeroLimit::Supported,
        };
        assert_eq!(
            quirks.chain(&[Purpose::TxDefaultProfile, Purpose::TxProfile]),
            vec![Purpose::TxProfile, Purpose::ChargePointMaxProfile]
        );
        assert_eq!(
            Quirks::for_provider("OCPP_WALLBOX").zero_limit,
            ZeroLimit::RemoteStop
        );
        assert_eq!(
            Quirks::for_provider("OCPP").zero_limit,
            ZeroLimit::Supported
        );
    }

    #[test]
    fn capabilities_are_read_from_the_configuration() {
        let caps = Capabilities::from_configuration([
            ("ChargingScheduleAllowedChargingRateUnit", "Current,Power"),
            ("ChargeProfileMaxStackLevel", "8"),
            ("ChargingScheduleMaxPeriods", "48"),
            ("ConnectorPhaseRotation", "0.RST,1.RST"),
        ]);
        assert_eq!(caps.unit(), RateUnit::W);
        assert_eq!(
            (caps.max_stack_level, caps.max_periods, caps.phases),
            (8, 48, 3)
        );
        let current = Capabilities::from_configuration([
            ("ChargingScheduleAllowedChargingRateUnit", "Current"),
            ("ConnectorPhaseRotation", "1.Unknown"),
        ]);
        assert_eq!((current.unit(), current.phases), (RateUnit::A, 1));
    }

    #[test]
    fn composite_schedules_are_checked_against_the_profile() {
        let plan = Plan::schedule(t0(), &[window(30, 60, 6_900)]);
        let limits = Limits {
            unit: RateUnit::A,
            phases: 1,
            max_amperes: FULL_AMPERES,
            avoid_zero: false,
        };
        let profile = build(&plan, Purpose::TxDefaultProfile, limits, 1, 10, None);
        let composite = |periods: &[(i32, &str)]| ChargingSchedule {
            duration: Some(7200),
            start_schedule: Some(t0()),
            charging_rate_unit: ChargingRateUnitType::A,
            charging_schedule_period: periods
                .iter()
                .map(|(at, limit)| ChargingSchedulePeriod {
                    start_period: *at,
                    limit: dec(limit),
                    number_phases: None,
                })
                .collect(),
            min_charging_rate: None,
        };
        assert!(follows(
            &profile,
            &composite(&[(0, "0"), (1800, "30"), (3600, "0")]),
            t0()
        ));
        assert!(
            follows(
                &profile,
                &composite(&[(0, "0"), (1800, "16"), (3600, "0")]),
                t0()
            ),
            "a lower limit from elsewhere is fine"
        );
        assert!(
            !follows(&profile, &composite(&[(0, "32")]), t0()),
            "the charger ignores the profile"
        );
        assert!(!follows(&profile, &composite(&[]), t0()));
        // The composite starts a minute later (the charger asked for it then).
        assert!(follows(
            &profile,
            &composite(&[(0, "0"), (1740, "30"), (3540, "0")]),
            t0() + minutes(1)
        ));
    }
}
