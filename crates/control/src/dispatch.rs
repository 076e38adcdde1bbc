//! Carrying out plans: at every tick, the command the current plan wants now, sent once.
//!
//! A plan's timeline is cut into *segments* at its dispatch boundaries: inside a dispatch the device
//! should draw the dispatch's power (`Start`), between dispatches nothing (`Stop`). A command is
//! needed only when the segment's command differs from the last one the device acknowledged, so
//! adjacent dispatches or a re-plan that keeps the device doing the same thing send nothing.
//!
//! Each command is keyed `device:plan-version:segment-start`. The key is written to the ledger
//! before the provider is called and handed to the provider as the idempotency key, so:
//! - a command is sent once per plan version and segment, however many ticks see that segment;
//! - after a crash between the call and the ledger update, the next tick sends the same key again,
//!   and the provider answers with its first receipt without acting twice;
//! - a failed command is retried with exponential backoff up to `command_attempts` times, then
//!   abandoned with a COMMAND_FAILED event; an expired authorisation is not retried.
//!
//! Sending itself is the one command path of [`resiflex_devices::commands`], which a customer's
//! commands take too.
//!
//! Reconciliation: once a command has had `reconcile_after_minutes` to take effect, a fresh reading
//! that contradicts it (not charging although asked to, while plugged in, online and below its
//! limit; or charging although told to stop) is recorded as a DISCREPANCY and the command is
//! asserted once more for that segment.

use chrono::{DateTime, Duration, Utc};
use resiflex_devices::commands::{self as ledger, Outgoing, Retry, Sent};
use resiflex_devices::grants;
use resiflex_domain::command::CommandStatus;
use resiflex_domain::device::DeviceState;
use resiflex_domain::plan::{DeviceEventKind, PlanKind};
use resiflex_providers::{
    Command, Connection, PlanDelivery, ProviderRegistry, ScheduleWindow, Telemetry,
};
use resiflex_store::commands::{self, CommandRecord};
use resiflex_store::devices::{self as store, Device};
use resiflex_store::plans::PlanRecord;
use resiflex_store::{Db, StoreError, events};

use crate::ControlConfig;

/// What executing a plan did for one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Executed {
    pub commands_sent: usize,
    pub commands_failed: usize,
    pub discrepancies: usize,
}

/// The segment of the plan `now` falls in and the command it wants, or `None` when the plan asks
/// nothing of the device (an idle plan).
pub fn wanted(plan: &PlanRecord, now: DateTime<Utc>) -> Option<(DateTime<Utc>, Command)> {
    if !matches!(plan.kind, PlanKind::Smart | PlanKind::Boost) {
        return None;
    }
    let dispatches = &plan.dispatches;
    if let Some(dispatch) = dispatches.iter().find(|d| d.start <= now && now < d.end) {
        return Some((
            dispatch.start,
            Command::Start {
                power_limit_w: Some(dispatch.power_w),
            },
        ));
    }
    let segment = dispatches
        .iter()
        .filter(|d| d.end <= now)
        .map(|d| d.end)
        .max()
        .unwrap_or(plan.created_at)
        .max(plan.created_at);
    Some((segment, Command::Stop))
}

/// For providers that take a whole schedule: the plan's coming dispatches as one `Schedule`, keyed
/// by the plan's creation (one per plan version), or `None` for an idle plan.
pub fn wanted_schedule(plan: &PlanRecord, now: DateTime<Utc>) -> Option<(DateTime<Utc>, Command)> {
    if !matches!(plan.kind, PlanKind::Smart | PlanKind::Boost) {
        return None;
    }
    Some(schedule_of(plan, now))
}

/// For heat pumps and batteries, which always take a whole schedule: the plan's coming dispatches
/// (with their set-points, and negative power to discharge), and for an idle plan an empty
/// schedule, which hands the device back to its own control (a heat pump's thermostat, a
/// battery's hold).
pub fn wanted_day_ahead(plan: &PlanRecord, now: DateTime<Utc>) -> (DateTime<Utc>, Command) {
    schedule_of(plan, now)
}

fn schedule_of(plan: &PlanRecord, now: DateTime<Utc>) -> (DateTime<Utc>, Command) {
    let windows = plan
        .dispatches
        .iter()
        .filter(|d| d.end > now)
        .map(|d| ScheduleWindow {
            start: d.start.max(plan.created_at),
            end: d.end,
            power_w: d.power_w,
            setpoint_c: d.setpoint_c,
        })
        .collect();
    (plan.created_at, Command::Schedule { windows })
}

/// The setting a plan version gives a device before its schedule: a heat pump's mode
/// ([`heat_pump_mode`]), an inverter's export limit (the household's connection: what the battery
/// may feed is the plan's business, the limit protects the connection), or none.
pub fn setting_of(
    device: &Device,
    plan: &PlanRecord,
    now: DateTime<Utc>,
    config: &ControlConfig,
) -> Option<Command> {
    if plan.kind != PlanKind::Smart {
        return None;
    }
    if device.kind.heats() {
        heat_pump_mode(device, plan, now)
    } else if device.kind == resiflex_domain::device::DeviceKind::Inverter {
        Some(Command::SetExportLimit {
            power_w: config.connection_limit_w.max(0.0).round() as i64,
        })
    } else {
        None
    }
}

/// The mode a heat pump's plan runs it in, with the set-point it holds now: the preferences'
/// mode (heating or cooling), off while the plan is idle for a reason other than suspension (a
/// suspended heat pump keeps its own mode and thermostat).
pub fn heat_pump_mode(device: &Device, plan: &PlanRecord, now: DateTime<Utc>) -> Option<Command> {
    use resiflex_domain::heat::HeatPumpMode;
    use resiflex_domain::preferences::PreferenceMode;
    if device.is_suspended {
        return None;
    }
    let preferences = device.preferences.as_ref()?;
    let mode = match preferences.mode {
        PreferenceMode::Heat => HeatPumpMode::Heating,
        PreferenceMode::Cool => HeatPumpMode::Cooling,
        PreferenceMode::Charge => return None,
    };
    let setpoint_c = plan
        .dispatches
        .iter()
        .find(|d| d.end > now)
        .and_then(|d| d.setpoint_c);
    Some(Command::SetHeatPumpMode { mode, setpoint_c })
}

/// Whether two commands ask the same of a device whose full power is `max_w`.
fn same_effect(a: &Command, b: &Command, max_w: i64) -> bool {
    let power = |command: &Command| match command {
        Command::Start { power_limit_w } => Some(power_limit_w.unwrap_or(max_w).min(max_w)),
        Command::Stop => Some(0),
        _ => None,
    };
    match (power(a), power(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Whether the boost already sent (`last`, a `Start`) carries out what a boost plan wants now: a
/// schedule of one window, running now, at the power the `Start` asked for. A boost is then one
/// command, not the customer's `Start` followed by the plan's own schedule.
fn boost_carries(
    last: &Command,
    wanted: &Command,
    plan: &PlanRecord,
    now: DateTime<Utc>,
    max_w: i64,
) -> bool {
    if plan.kind != PlanKind::Boost {
        return false;
    }
    let (Command::Start { power_limit_w }, Command::Schedule { windows }) = (last, wanted) else {
        return false;
    };
    let started = power_limit_w.unwrap_or(max_w).min(max_w);
    match windows.as_slice() {
        [only] => only.start <= now && now < only.end && only.power_w.min(max_w) == started,
        _ => false,
    }
}

/// Carries out the device's current plan at `now`.
#[allow(clippy::too_many_arguments)]
pub async fn execute(
    db: &Db,
    providers: &ProviderRegistry,
    device: &Device,
    plan: &PlanRecord,
    reading: Option<&Telemetry>,
    now: DateTime<Utc>,
    config: &ControlConfig,
) -> Result<Executed, StoreError> {
    let mut done = Executed::default();
    // An inverter without a battery has nothing to control.
    if device.kind == resiflex_domain::device::DeviceKind::Inverter
        && device.battery_capacity_wh.unwrap_or(0) <= 0
    {
        return Ok(done);
    }
    let state = device.state;
    finish_boost(db, device, state, plan, reading, now).await?;
    let delivery = providers
        .get(device.provider)
        .map_or(PlanDelivery::Segments, |p| p.plan_delivery());
    let wanted_now = if device.kind.charges_vehicle() {
        match delivery {
            PlanDelivery::Segments => wanted(plan, now),
            PlanDelivery::Schedule => wanted_schedule(plan, now),
        }
    } else {
        Some(wanted_day_ahead(plan, now))
    };
    // A heat pump is told its mode, an inverter its export limit, once per plan version before
    // the schedule.
    if let Some(setting) = setting_of(device, plan, now, config) {
        let outgoing = Outgoing {
            key: format!(
                "{}:setting",
                ledger::plan_key(&device.id, plan.version, plan.created_at)
            ),
            ..Outgoing::planned(&device.id, plan.version, plan.created_at, setting)
        };
        if commands::by_key(db, &outgoing.key).await?.is_none() {
            let link = grants::link(db, providers, device).await?;
            let retry = Retry::Backoff {
                attempts: config.command_attempts,
            };
            match ledger::send(db, &link, device, outgoing, retry, now).await? {
                Sent::Acknowledged(_) => done.commands_sent += 1,
                Sent::Failed { .. } => done.commands_failed += 1,
                Sent::AlreadyDone => {}
            }
        }
    }
    let Some((segment, command)) = wanted_now else {
        return Ok(done);
    };
    // Never more than the device is rated for.
    let command = command.within(device.max_power_w);
    let max_w = device.max_power_w.unwrap_or(i64::MAX);
    let outgoing = Outgoing::planned(&device.id, plan.version, segment, command.clone());
    let key = outgoing.key.clone();
    let last = commands::last_sent(db, &device.id).await?;
    let last_command = last.as_ref().map(|c| c.command.clone());
    let existing = commands::by_key(db, &key).await?;
    let due = match &existing {
        Some(row) => match row.status {
            CommandStatus::Pending => true,
            CommandStatus::Failed => row.next_attempt_at <= now,
            _ => false,
        },
        None => !last_command.as_ref().is_some_and(|last| {
            same_effect(last, &command, max_w) || boost_carries(last, &command, plan, now, max_w)
        }),
    };
    let retry = Retry::Backoff {
        attempts: config.command_attempts,
    };
    if due {
        let link = grants::link(db, providers, device).await?;
        match ledger::send(db, &link, device, outgoing, retry, now).await? {
            Sent::Acknowledged(_) => {
                done.commands_sent += 1;
                follow_command(db, device, state, plan, &command, now).await?;
            }
            Sent::Failed { .. } => done.commands_failed += 1,
            Sent::AlreadyDone => {}
        }
        return Ok(done);
    }
    // Nothing new to send: does the device do what it was last asked?
    if let (Some(last), Some(last_command), Some(reading)) = (&last, &last_command, reading)
        && same_effect(last_command, &command, max_w)
        && contradicts(last, last_command, reading, now, config)
    {
        let reassert = Outgoing {
            key: format!("{key}:reassert"),
            ..outgoing
        };
        if commands::by_key(db, &reassert.key).await?.is_none() {
            done.discrepancies += 1;
            events::add(
                db,
                &device.id,
                now,
                DeviceEventKind::Discrepancy,
                &serde_json::json!({
                    "asked": last_command,
                    "seenPowerW": reading.power_w,
                    "seenAt": reading.at,
                }),
            )
            .await?;
            tracing::warn!(device = %device.id, power_w = reading.power_w, "the device does not follow its command; asserting it again");
            let link = grants::link(db, providers, device).await?;
            if let Sent::Acknowledged(_) =
                ledger::send(db, &link, device, reassert, retry, now).await?
            {
                done.commands_sent += 1;
            }
        }
    }
    let followed = match &command {
        Command::Stop => last_command
            .as_ref()
            .is_some_and(|last| same_effect(last, &command, max_w)),
        // A schedule sent for this plan version (or an identical one) is what the device follows.
        Command::Schedule { .. } => last.as_ref().is_some_and(|row| {
            row.plan_version == Some(plan.version)
                || last_command.as_ref().is_some_and(|last| {
                    same_effect(last, &command, max_w)
                        || boost_carries(last, &command, plan, now, max_w)
                })
        }),
        _ => false,
    };
    if followed {
        follow_command(db, device, state, plan, &command, now).await?;
    }
    Ok(done)
}

/// Whether a fresh reading contradicts the command the device acknowledged.
fn contradicts(
    last: &CommandRecord,
    command: &Command,
    reading: &Telemetry,
    now: DateTime<Utc>,
    config: &ControlConfig,
) -> bool {
    let settle = Duration::minutes(config.reconcile_after_minutes);
    let Some(sent_at) = last.sent_at else {
        return false;
    };
    if now < sent_at + settle
        || reading.at < sent_at + settle
        || reading.connection != Connection::Online
    {
        return false;
    }
    match command {
        Command::Start { power_limit_w } => {
            let asked = power_limit_w.unwrap_or(0).max(1);
            let full = match (reading.state_of_charge_pct, reading.soc_limit_pct) {
                (Some(soc), Some(limit)) => soc >= limit - 1.0,
                (Some(soc), None) => soc >= 99.0,
                _ => false,
            };
            reading.plugged_in == Some(true) && !full && reading.power_w * 10 < asked
        }
        Command::Stop => reading.active && reading.power_w > 500,
        _ => false,
    }
}

/// Moves the device between capable and in progress as smart charging starts and stops.
async fn follow_command(
    db: &Db,
    device: &Device,
    state: DeviceState,
    plan: &PlanRecord,
    command: &Command,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let smart = plan.kind == PlanKind::Smart;
    // A schedule charges when the plan says so: the state follows the plan's timeline.
    let charging = match command {
        Command::Start { .. } => true,
        Command::Schedule { windows } => windows.iter().any(|w| w.start <= now && now < w.end),
        _ => false,
    };
    let to = match state {
        DeviceState::SmartControlCapable if smart && charging => {
            DeviceState::SmartControlInProgress
        }
        DeviceState::SmartControlInProgress if !charging => DeviceState::SmartControlCapable,
        _ => return Ok(()),
    };
    set_state(db, device, state, to, now).await
}

/// Ends a boost whose goal is reached (or whose dispatch is over): the device settles back to
/// capable and the next pass makes a smart plan.
async fn finish_boost(
    db: &Db,
    device: &Device,
    state: DeviceState,
    plan: &PlanRecord,
    reading: Option<&Telemetry>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if state != DeviceState::Boosting || plan.kind != PlanKind::Boost {
        return Ok(());
    }
    let over = plan.dispatches.iter().all(|d| d.end <= now);
    let full = match (
        reading.and_then(|t| t.state_of_charge_pct),
        plan.target_soc_pct,
    ) {
        (Some(soc), Some(target)) => soc + 0.5 >= target,
        _ => false,
    } || reading.is_some_and(|t| match (t.state_of_charge_pct, t.soc_limit_pct) {
        (Some(soc), Some(limit)) => soc + 0.5 >= limit,
        _ => false,
    });
    if !(over || full) {
        return Ok(());
    }
    set_state(db, device, state, DeviceState::SmartControlCapable, now).await?;
    events::add(
        db,
        &device.id,
        now,
        DeviceEventKind::BoostFinished,
        &serde_json::json!({
            "planVersion": plan.version,
            "stateOfCharge": reading.and_then(|t| t.state_of_charge_pct),
        }),
    )
    .await
}

async fn set_state(
    db: &Db,
    device: &Device,
    from: DeviceState,
    to: DeviceState,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if from.transition(to).is_err() {
        return Ok(());
    }
    // Read the newest row: a tick may already have changed it.
    let Some(mut current) = store::device_by_id(db, &device.id).await? else {
        return Ok(());
    };
    if current.state != from {
        return Ok(());
    }
    current.state = to;
    current.updated_at = now;
    match store::update_device(db, &current).await {
        Ok(_) => {
            tracing::info!(device = %device.id, from = %from, to = %to, "device state follows its plan");
            Ok(())
        }
        // A customer's command in between wins; the next tick looks again.
        Err(StoreError::Conflict) => Ok(()),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use chrono::TimeZone;
    use resiflex_domain::plan::{DispatchKind, PlanDispatch};

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, hour, minute, 0).unwrap()
    }

    fn plan(kind: PlanKind, dispatches: &[(DateTime<Utc>, DateTime<Utc>)]) -> PlanRecord {
        let dispatches: Vec<PlanDispatch> = dispatches
            .iter()
            .map(|&(start, end)| PlanDispatch {
                start,
                end,
                kind: DispatchKind::Smart,
                power_w: 7_000,
                energy_wh: 7_000,
                action: resiflex_domain::plan::DispatchAction::Charge,
                setpoint_c: None,
                activity: None,
            })
            .collect();
        PlanRecord {
            device_id: "d".into(),
            version: 3,
            created_at: at(22, 0),
            trigger: resiflex_domain::plan::PlanTrigger::FirstPlan,
            kind,
            tariff_id: None,
            ready_by: Some(at(23, 59)),
            start_soc_pct: Some(40.0),
            target_soc_pct: Some(80.0),
            achievable_soc_pct: Some(80.0),
            target_reached: true,
            outcome: "TARGET_REACHED".into(),
            locked_goal: false,
            cost_micros: 0,
            inputs: serde_json::json!({}),
            rate_set_id: None,
            dispatches,
        }
    }

    #[test]
    fn segments_follow_the_dispatches() {
        let p = plan(
            PlanKind::Smart,
            &[(at(22, 30), at(23, 0)), (at(23, 30), at(23, 45))],
        );
        assert_eq!(wanted(&p, at(22, 10)), Some((at(22, 0), Command::Stop)));
        assert_eq!(
            wanted(&p, at(22, 30)),
            Some((
                at(22, 30),
                Command::Start {
                    power_limit_w: Some(7_000)
                }
            ))
        );
        assert_eq!(wanted(&p, at(23, 0)), Some((at(23, 0), Command::Stop)));
        assert_eq!(wanted(&p, at(23, 50)), Some((at(23, 45), Command::Stop)));
        assert_eq!(wanted(&plan(PlanKind::Idle, &[]), at(22, 10)), None);
    }

    #[test]
    fn a_start_without_a_limit_is_a_start_at_full_power() {
        let full = Command::Start {
            power_limit_w: None,
        };
        assert!(same_effect(
            &full,
            &Command::Start {
                power_limit_w: Some(7_400)
            },
            7_400
        ));
        assert!(!same_effect(
            &full,
            &Command::Start {
                power_limit_w: Some(3_000)
            },
            7_400
        ));
        assert!(!same_effect(&full, &Command::Stop, 7_400));
        assert!(same_effect(&Command::Stop, &Command::Stop, 7_400));
    }

    #[test]
    fn a_boost_already_started_carries_the_boost_plans_schedule() {
        let boost = plan(PlanKind::Boost, &[(at(22, 0), at(23, 0))]);
        let start = Command::Start {
            power_limit_w: None,
        };
        let (_, wanted_now) = wanted_schedule(&boost, at(22, 0)).unwrap();
        assert!(boost_carries(&start, &wanted_now, &boost, at(22, 0), 7_000));
        // At another power, outside the window, or for a smart plan: a new command.
        assert!(!boost_carries(
            &Command::Start {
                power_limit_w: Some(3_000)
            },
            &wanted_now,
            &boost,
            at(22, 0),
            7_000
        ));
        assert!(!boost_carries(
            &start,
            &wanted_now,
            &boost,
            at(23, 30),
            7_000
        ));
        let smart = plan(PlanKind::Smart, &[(at(22, 0), at(23, 0))]);
        assert!(!boost_carries(
            &start,
            &wanted_now,
            &smart,
            at(22, 0),
            7_000
        ));
        assert!(!boost_carries(
            &Command::Stop,
            &wanted_now,
            &boost,
            at(22, 0),
            7_000
        ));
    }
}
