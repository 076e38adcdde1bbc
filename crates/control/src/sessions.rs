//! What happened: completed dispatches and charging sessions with their problems.
//!
//! [`track`] runs once per device per tick. It re-derives, from the stored telemetry series, plan
//! versions, device events and tariff rates, the device's open charging session (or the ones that
//! began since the last one closed) and the dispatches whose slot has ended, and writes them. It
//! keeps no state of its own: calling it twice for the same `now` writes the same rows, and after
//! a restart it carries on from what is stored.
//!
//! # Completed dispatches
//!
//! The dispatches *in force* are each plan version's dispatches from when the version was made
//! until the next version was (a re-plan cuts the stretches of the one before). A stretch is
//! completed once its end has passed and a reading at or after its end has arrived (or an hour has
//! gone by without one). Its energy is what the import meter shows over it, the meter interpolated
//! linearly between readings; its location is AWAY when the car reported not being at home during
//! it, AT_HOME otherwise (charge points are at home). Adjacent stretches of the same source are
//! merged when they are shown.
//!
//! # Sessions
//!
//! A session is a plug-in period: from the first reading that shows the vehicle (or the charge
//! point's car) plugged in and online, to the first reading that shows it unplugged (a car that
//! leaves is unplugged), or to the device's retirement; it is open until then.
//!
//! - Type: PUBLIC when a reading shows it plugged in away from home, else BOOST when a boost ran
//!   in it (a BOOST_STARTED event or a BOOST dispatch), else SMART.
//! - Energy added: the meter at the session's last reading minus at its first. Cost: each interval
//!   between readings priced by the tariff's import rates it overlaps (its energy spread evenly
//!   over it), summed exactly and rounded to whole minor units; none without a tariff, for public
//!   sessions, or when some energy falls outside the known rates.
//! - States of charge: the first and last reported in the session.
//! - Achievable level: the session's plans are those made in it (before it closed), or the one in
//!   force at its start when none was. `originalAchievableStateOfCharge` is the achievable level of
//!   the first smart plan; each later plan moves the level to its own achievable level (a smart
//!   plan) or to the state of charge when it was made (a boost or an idle plan: the smart
//!   optimisation delivers nothing more); a session that ends before its last plan's ready-by time
//!   with the battery below the level moves it to the final state of charge.
//!   `achievableStateOfCharge` is the last level.
//!
//! # Problems
//!
//! One problem per session: the first rule of this table that holds. Levels compare with a
//! tolerance of 1 point; "settled" means the session has ended or its last plan's ready-by time
//! has passed (rules 8 to 13 wait for it); "dispatches" are the stretches in force during the
//! session. Public sessions have no problem.
//!
//! | # | problem | rule |
//! |---|---|---|
//! | 1 | CUSTOMER_ACTION_REQUIRED | an AUTHORISATION_EXPIRED event in the session: the customer must authorise the device again |
//! | 2 | COMMUNICATION_ERROR | more than 15 minutes without a reading overlapping a dispatch |
//! | 3 | truncation | the last achievable level is below the original; the cause below |
//! | 4 | THIRD_PARTY_CHARGING_INTERFERENCE | at least 250 Wh imported at home outside every dispatch and boost (5 minutes of grace at their edges) |
//! | 5 | SOC_LIMIT_REACHED | the lowest limit the device reported is below the target, and the battery reached that limit |
//! | 6 | POST_CHARGE_BATTERY_DRAIN | the target was reached, then the state of charge fell at least 2 points while plugged in |
//! | 7 | FULL_CHARGE | the battery reached 100 % (or its own limit, when that is lower) and the target asked for that much |
//! | 8 | NO_SCHEDULED_CHARGE | settled, and no dispatch or boost in the session |
//! | 9 | NO_CHARGING | settled, dispatches, less than 50 Wh imported during them, and the goal missed (or no state of charge reported) |
//! | 10 | FAILURE_CAUSE_ERROR | settled, dispatches, and too little data to judge: no state of charge reported, or fewer than two readings |
//! | 11 | POWER_TAPERING | settled, the goal missed, and during dispatches the power from 80 % up was below 75 % of the asked power while below 80 % it was not |
//! | 12 | POWER_DISCREPANCY | settled, the goal missed, and during dispatches below 80 % the power was below 75 % or above 125 % of the asked power, or a DISCREPANCY event |
//! | 13 | UNKNOWN_CHARGING_ERROR_CAUSE | settled, the goal missed, complete data, none of the above |
//!
//! The goal is the original achievable level (the target without a smart plan); it is missed when
//! the best state of charge of the session stayed below it. Rules 4 to 7 hold whether or not the
//! goal was met; rules 9 to 13 only explain a missed goal (or, 9 and 10, one that cannot be judged).
//!
//! Truncation causes, from what made the lowering that stuck (the first of the trailing levels below
//! the original) and the events since the level before it, first match:
//!
//! | cause | rule |
//! |---|---|
//! | DEVICE_DEAUTH_SUCCESS | the session ended with the device's retirement, or a DEAUTHENTICATED event |
//! | SUSPENDED | a plan made on suspension or resumption, or a SUSPENDED event |
//! | BOOST_CHARGING | a plan made on a boost's start or end, or a boost event |
//! | DISCONNECTED | the session ended (unplugged, the car left) before its plan finished, or a plan made on unplugging, or an UNPLUGGED event |
//! | CHARGING_OPTIMISATION_CREATED | a plan made on changed preferences, new prices or a passed ready-by time, or a PREFERENCES_CHANGED event |
//! | (none) | a plan made because the state of charge strayed or the device's own limit changed: not a truncation, the error rules explain it |
//! | UNKNOWN_TRUNCATION_CAUSE | any other lowering (a plan made for another reason, with no such event) |

pub mod rules;

use chrono::{DateTime, Duration, Utc};
use resiflex_domain::device::Lifecycle;
use resiflex_store::devices::Device;
use resiflex_store::plans::{self, PlanRecord};
use resiflex_store::sessions::{self, ChargingSessionRecord, CompletedDispatch, problem_kind};
use resiflex_store::{Db, StoreError, accounts, tariffs};

use rules::{Event, Facts, PlanView, Problem, Reading};

/// How far back a device without history is looked at.
const LOOKBACK_DAYS: i64 = 2;
/// How long before the window a dispatch that ends in it may have started.
const DISPATCH_REACH_HOURS: i64 = 24;
/// Readings this long before a stretch are read, to interpolate the meter at its start.
const READING_MARGIN_HOURS: i64 = 1;
/// The target type of every vehicle and charge point session.
const TARGET_TYPE: &str = "ABSOLUTE_STATE_OF_CHARGE";

fn plan_view(plan: &PlanRecord) -> PlanView {
    PlanView {
        version: plan.version,
        created_at: plan.created_at,
        trigger: plan.trigger,
        kind: plan.kind,
        ready_by: plan.ready_by,
        start_soc_pct: plan.start_soc_pct,
        target_soc_pct: plan.target_soc_pct,
        achievable_soc_pct: plan.achievable_soc_pct,
        dispatches: plan.dispatches.clone(),
    }
}

/// Brings the device's sessions and completed dispatches up to `now` (see the module documentation).
pub async fn track(db: &Db, device: &Device, now: DateTime<Utc>) -> Result<(), StoreError> {
    let lookback = now - Duration::days(LOOKBACK_DAYS);
    let after_now = now + Duration::milliseconds(1);
    let charges = device.kind.charges_vehicle();
    let retired_at = if device.lifecycle == Lifecycle::Retired {
        Some(device.retired_at.unwrap_or(device.updated_at))
    } else {
        None
    };

    let latest = if charges {
        sessions::latest_session(db, &device.id).await?
    } else {
        None
    };
    let session_from = match &latest {
        Some(open) if open.end_at.is_none() => open.start_at,
        Some(closed) => closed.end_at.unwrap_or(closed.start_at).max(lookback),
        None => device.created_at.max(lookback),
    };
    let dispatch_after = sessions::latest_completed_dispatch_end(db, &device.id)
        .await?
        .map_or(lookback, |end| end.max(lookback));

    let plans_from = session_from.min(dispatch_after) - Duration::hours(DISPATCH_REACH_HOURS);
    let mut plan_records = plans::plans_between(db, &device.id, plans_from, after_now).await?;
    if let Some(before) = plans::plan_in_force_at(db, &device.id, plans_from).await?
        && !plan_records.iter().any(|p| p.version == before.version)
    {
        plan_records.insert(0, before);
    }
    let plan_views: Vec<PlanView> = plan_records.iter().map(plan_view).collect();
    let pieces = rules::pieces(&plan_views);

    let earliest_piece = pieces
        .iter()
        .filter(|p| p.end > dispatch_after)
        .map(|p| p.start)
        .min()
        .unwrap_or(now);
    let readings_from = session_from.min(earliest_piece) - Duration::hours(READING_MARGIN_HOURS);
    let readings: Vec<Reading> =
        resiflex_store::telemetry::between(db, &device.id, readings_from, after_now)
            .await?
            .iter()
            .map(Reading::of)
            .collect();

    let completed = rules::completed(&pieces, &readings, Some(dispatch_after), now);
    let rows: Vec<CompletedDispatch> = completed
        .iter()
        .map(|c| CompletedDispatch {
            device_id: device.id.clone(),
            start_at: c.piece.start,
            end_at: c.piece.end,
            kind: c.piece.kind.as_str().to_owned(),
            energy_wh: c.energy_wh,
            location: c.location.as_str().to_owned(),
            plan_version: c.piece.plan_version,
            recorded_at: now,
        })
        .collect();
    sessions::upsert_completed_dispatches(db, &rows).await?;

    if !charges {
        return Ok(());
    }
    let session_readings: Vec<Reading> = readings
        .iter()
        .filter(|r| r.at >= session_from)
        .copied()
        .collect();
    let spans = rules::spans(&session_readings, retired_at);
    if spans.is_empty() {
        return Ok(());
    }
    let events: Vec<Event> = resiflex_store::events::between(db, &device.id, plans_from, after_now)
        .await?
        .into_iter()
        .map(|e| Event {
            at: e.at,
            seen_power_w: e
                .detail
                .get("seenPowerW")
                .and_then(serde_json::Value::as_i64),
            kind: e.kind,
        })
        .collect();
    let preferences = device.preferences.as_ref();
    let time_zone = accounts::property_by_id(db, device.property_id)
        .await?
        .and_then(|p| p.time_zone.parse::<chrono_tz::Tz>().ok())
        .unwrap_or(chrono_tz::UTC);
    for span in spans {
        let until = span.end.unwrap_or(now);
        let tariff = tariffs::tariff_of_property(db, device.property_id, span.start).await?;
        let rates = match &tariff {
            Some(assigned) => {
                Some(tariffs::rates_between(db, assigned.tariff.id, span.start, until).await?)
            }
            None => None,
        };
        let outcome = rules::analyse(&Facts {
            span,
            readings: &readings,
            pieces: &pieces,
            plans: &plan_views,
            events: &events,
            rates: rates.as_deref(),
            preferences,
            time_zone,
            now,
        });
        let (kind, cause) = match outcome.problem {
            Some(Problem::Error(cause)) => (Some(problem_kind::ERROR), Some(cause.as_str())),
            Some(Problem::Truncation(cause)) => {
                (Some(problem_kind::TRUNCATION), Some(cause.as_str()))
            }
            None => (None, None),
        };
        let record = ChargingSessionRecord {
            device_id: device.id.clone(),
            start_at: span.start,
            end_at: span.end,
            session_type: outcome.session_type.as_str().to_owned(),
            target_type: TARGET_TYPE.to_owned(),
            energy_added_wh: outcome.energy_added_wh,
            cost_minor: outcome.cost_micros.map(rules::round_minor),
            currency: outcome
                .cost_micros
                .and(tariff.as_ref().map(|t| t.tariff.currency.clone())),
            start_soc_pct: outcome.start_soc_pct,
            final_soc_pct: outcome.final_soc_pct,
            target_soc_pct: outcome.target_soc_pct,
            original_achievable_soc_pct: outcome.original_achievable_soc_pct,
            achievable_soc_pct: outcome.achievable_soc_pct,
            problem_kind: kind.map(str::to_owned),
            problem_cause: cause.map(str::to_owned),
            dispatches: serde_json::to_value(&outcome.dispatches).unwrap_or_default(),
            updated_at: now,
        };
        sessions::upsert_session(db, &record).await?;
    }
    Ok(())
}
