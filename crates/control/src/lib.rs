//! The control loop. On every tick it reads each live device's telemetry through its provider, keeps
//! the readings (the latest on the device, and a time series with a retention period), and moves the
//! device's state to what the reading says: SMART_CONTROL_NOT_AVAILABLE when a vehicle is unplugged or
//! away, LOST_CONNECTION when the device is offline or has not answered for too long, back to
//! SMART_CONTROL_CAPABLE when it returns. A boost stays BOOSTING while the vehicle can charge.
//!
//! Then it keeps every device planned ([`planning`]: a new plan version when prices, plug, state of
//! charge, indoor temperature, preferences, boost, suspension or state change): cars and charge
//! points by their ready-by goal, heat pumps and thermostats by their comfort band ([`heat`]),
//! batteries and inverters by their prices and household ([`storage`]), and the devices of one home
//! together ([`household`]), with each property's forecast ([`forecast`]) and each heat pump's
//! building as learnt from its readings ([`learning`]). It carries out the current plan through the
//! provider ([`dispatch`]: one command per plan version and segment, or one schedule per version
//! with set-points and discharge for heat pumps and batteries, idempotent across restarts, retried
//! with backoff, reconciled with telemetry).
//!
//! It never reads the system clock: `tick` asks the injected clock, so tests and the accelerated demo
//! clock decide what "now" is.

pub mod dispatch;
pub mod forecast;
pub mod heat;
pub mod household;
pub mod learning;
pub mod planning;
pub mod sessions;
pub mod storage;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use resiflex_domain::SharedClock;
use resiflex_domain::device::{DeviceKind, DeviceState, Lifecycle};
use resiflex_providers::{ProviderError, ProviderRegistry, Telemetry};
use resiflex_store::devices::{self as store, Device};
use resiflex_store::{Db, StoreError};
use serde::Deserialize;

/// Settings of the control loop and of planning.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlConfig {
    /// Whether the server runs the loop (tests drive `tick` themselves).
    pub enabled: bool,
    /// Seconds of wall time between ticks.
    pub tick_seconds: u64,
    /// A device that has not answered for this long (by the server's clock) is LOST_CONNECTION.
    pub lost_after_minutes: i64,
    /// How long telemetry readings are kept.
    pub telemetry_retention_days: i64,
    /// A state of charge further than this (percentage points) from the plan's expectation re-plans.
    pub soc_tolerance_pct: f64,
    /// Share of the grid energy that reaches a car's battery.
    pub charging_efficiency: f64,
    /// Minor units added to the price per gCO2 of a kWh (0: cost only).
    pub carbon_weight: f64,
    /// Prices closer than this (minor units per kWh) count as equal, against start/stop churn.
    pub min_price_step: f64,
    /// Plan cars' taper above 80 % (slower, exact dynamic programme).
    pub model_taper: bool,
    /// What happens when the ready-by time passes with the target not reached.
    pub overrun: planning::OverrunPolicy,
    /// How long the overrun policy may keep charging after the ready-by time.
    pub overrun_limit_minutes: i64,
    /// How many times a command is tried before it is given up.
    pub command_attempts: i64,
    /// How long a command has to show in telemetry before a contradicting reading counts.
    pub reconcile_after_minutes: i64,
    /// Wall-clock limit of one grid zone's joint plan, ms; past it the fallback plan is used.
    pub zone_solve_millis: u64,
    /// How far ahead heat pumps, batteries and households are planned, hours.
    pub horizon_hours: i64,
    /// An indoor temperature further than this (K) from the plan's expectation re-plans.
    pub temperature_tolerance_c: f64,
    /// What a degree below (or above) the comfort band for an hour costs in a plan, minor units:
    /// large, so that comfort is never traded for money.
    pub comfort_penalty: f64,
    /// The shortest a heat pump runs once started, and the shortest it rests once stopped.
    pub heat_min_run_minutes: i64,
    pub heat_min_off_minutes: i64,
    /// A battery's wear, minor units per kWh charged or discharged.
    pub battery_degradation_per_kwh: f64,
    /// The state of charge a battery keeps for outages when its preferences give no floor, %.
    pub battery_reserve_pct: f64,
    /// The most a household draws from (or feeds into) the grid, W.
    pub connection_limit_w: f64,
    /// The household's own load when nothing better is known, W.
    pub base_load_w: f64,
    /// Wall-clock limit of one household's joint plan, ms; past it the best plan found is used.
    pub household_solve_millis: u64,
    /// With `isChargingDurationCapped` ENABLED: the longest a battery is driven without a break.
    pub duration_cap_minutes: i64,
}

impl Default for ControlConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            tick_seconds: 30,
            lost_after_minutes: 15,
            telemetry_retention_days: 90,
            soc_tolerance_pct: 5.0,
            charging_efficiency: 0.9,
            carbon_weight: 0.0,
            min_price_step: 0.25,
            model_taper: false,
            overrun: planning::OverrunPolicy::Continue,
            overrun_limit_minutes: 120,
            command_attempts: 6,
            reconcile_after_minutes: 3,
            zone_solve_millis: 2_000,
            horizon_hours: 24,
            temperature_tolerance_c: 0.75,
            comfort_penalty: 1_000.0,
            heat_min_run_minutes: 60,
            heat_min_off_minutes: 30,
            battery_degradation_per_kwh: 1.0,
            battery_reserve_pct: 10.0,
            connection_limit_w: 13_800.0,
            base_load_w: 350.0,
            household_solve_millis: 500,
            duration_cap_minutes: 240,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    pub devices: usize,
    pub readings: usize,
    pub unreachable: usize,
    pub state_changes: usize,
    /// New plan versions made.
    pub replanned: usize,
    pub commands_sent: usize,
    pub commands_failed: usize,
    pub discrepancies: usize,
}

/// The loop's dependencies.
#[derive(Debug, Clone)]
pub struct ControlLoop {
    pub db: Db,
    pub providers: Arc<ProviderRegistry>,
    pub clock: SharedClock,
    pub config: ControlConfig,
}

/// Re-plans one device at once (after a customer's command or a preference change) and carries out
/// its plan, so the change shows without waiting for the next tick.
pub async fn react(
    db: &Db,
    providers: &ProviderRegistry,
    device_id: &str,
    now: DateTime<Utc>,
    config: &ControlConfig,
) -> Result<(), ControlError> {
    let (_, plans) =
        planning::replan(db, now, config, planning::Scope::Device(device_id), None).await?;
    let Some(plan) = plans.get(device_id) else {
        return Ok(());
    };
    let Some(device) = store::device_by_id(db, device_id).await? else {
        return Ok(());
    };
    if device.lifecycle == Lifecycle::Live {
        let reading = resiflex_store::telemetry::latest(db, device_id).await?;
        dispatch::execute(db, providers, &device, plan, reading.as_ref(), now, config).await?;
    }
    // A retired device's open session closes now; the loop no longer looks at it.
    sessions::track(db, &device, now).await?;
    Ok(())
}

/// Re-plans a device as soon as a customer's command or a preference change saved it, so its
/// planned dispatches show the change without waiting for the next tick (see [`react`]).
#[derive(Debug, Clone)]
pub struct Replanner {
    pub db: Db,
    pub providers: Arc<ProviderRegistry>,
    pub config: ControlConfig,
}

#[async_trait::async_trait]
impl resiflex_devices::AfterChange for Replanner {
    async fn changed(&self, device_id: &str, now: DateTime<Utc>) {
        if let Err(err) = react(&self.db, &self.providers, device_id, now, &self.config).await {
            tracing::warn!(device = %device_id, error = %err, "re-planning after a change failed; the next tick retries");
        }
    }
}

/// The state a live device should be in, given its current state and latest reading.
pub fn next_state(
    kind: DeviceKind,
    current: DeviceState,
    suspended: bool,
    reading: Option<&Telemetry>,
    silent_too_long: bool,
) -> DeviceState {
    if silent_too_long {
        return DeviceState::LostConnection;
    }
    let settled = Telemetry::settled_state(reading, kind, suspended);
    // Work in progress keeps its state while the device can still do it.
    match (current, settled) {
        (
            DeviceState::Boosting | DeviceState::SmartControlInProgress,
            DeviceState::SmartControlCapable,
        ) => current,
        _ => settled,
    }
}

impl ControlLoop {
    pub fn new(
        db: Db,
        providers: Arc<ProviderRegistry>,
        clock: SharedClock,
        config: ControlConfig,
    ) -> Self {
        Self {
            db,
            providers,
            clock,
            config,
        }
    }

    /// One pass over every live device: read, re-plan where due, carry out the plans.
    pub async fn tick(&self) -> Result<TickReport, ControlError> {
        let now = self.clock.now();
        let mut report = TickReport::default();
        let mut readings: HashMap<String, Telemetry> = HashMap::new();
        // The live devices as they are after their readings, for the rest of the pass.
        let mut live: Vec<Device> = Vec::new();
        for device in store::active_devices(&self.db).await? {
            if device.lifecycle != Lifecycle::Live {
                continue;
            }
            report.devices += 1;
            match self.observe(&device, now, &mut report).await {
                Ok((seen, reading)) => {
                    if let Some(reading) = reading {
                        readings.insert(device.id.clone(), reading);
                    }
                    live.push(seen);
                }
                Err(ControlError::Store(StoreError::Conflict)) => {
                    // Someone changed the device meanwhile (a customer's command): carry on with
                    // what they saved; the next tick reads it again.
                    if let Some(saved) = store::device_by_id(&self.db, &device.id).await?
                        && saved.lifecycle == Lifecycle::Live
                    {
                        live.push(saved);
                    }
                }
                Err(err) => {
                    tracing::warn!(device = %device.id, error = %err, "control tick failed for a device");
                    live.push(device);
                }
            }
        }
        // What the homes of heat pumps and batteries expect: outdoor temperature, sun, load.
        if let Err(err) =
            forecast::refresh(&self.db, &self.providers, &live, now, &self.config).await
        {
            tracing::warn!(error = %err, "forecasts could not be refreshed");
        }
        // Heat pumps' buildings, learnt again once a day from their readings.
        let models = resiflex_store::thermal::all_models(&self.db).await?;
        for device in live.iter().filter(|d| d.kind.heats()) {
            if learning::due(models.get(&device.id), now)
                && let Err(err) = learning::refresh(&self.db, &device.id, now).await
            {
                tracing::warn!(device = %device.id, error = %err, "the building could not be learnt");
            }
        }
        let (replanned, plans) =
            planning::replan(&self.db, now, &self.config, planning::Scope::All, None).await?;
        report.replanned = replanned.replanned;
        for device in live {
            if let Some(plan) = plans.get(&device.id) {
                match dispatch::execute(
                    &self.db,
                    &self.providers,
                    &device,
                    plan,
                    readings.get(&device.id),
                    now,
                    &self.config,
                )
                .await
                {
                    Ok(done) => {
                        report.commands_sent += done.commands_sent;
                        report.commands_failed += done.commands_failed;
                        report.discrepancies += done.discrepancies;
                    }
                    Err(err) => {
                        tracing::warn!(device = %device.id, error = %err, "carrying out the plan failed")
                    }
                }
            }
            // What happened: sessions and completed dispatches.
            if let Err(err) = sessions::track(&self.db, &device, now).await {
                tracing::warn!(device = %device.id, error = %err, "sessions could not be tracked");
            }
        }
        let forget = now - Duration::days(self.config.telemetry_retention_days.max(1));
        resiflex_store::telemetry::prune(&self.db, forget).await?;
        resiflex_store::forecasts::prune(&self.db, now - Duration::days(2)).await?;
        Ok(report)
    }

    async fn observe(
        &self,
        device: &Device,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(Device, Option<Telemetry>), ControlError> {
        let (kind, current) = (device.kind, device.state);
        let reading = self.read(device, now).await?;
        let previous = resiflex_store::telemetry::latest(&self.db, &device.id).await?;
        let last_heard = reading
            .as_ref()
            .or(previous.as_ref())
            .map(|t| t.at)
            .unwrap_or(device.updated_at);
        let reading = match reading {
            Some(reading) => {
                report.readings += 1;
                resiflex_store::telemetry::save_latest(&self.db, &device.id, &reading).await?;
                resiflex_store::telemetry::append(&self.db, &device.id, &reading).await?;
                Some(reading)
            }
            None => {
                report.unreachable += 1;
                previous
            }
        };
        let silent_too_long = now - last_heard >= Duration::minutes(self.config.lost_after_minutes);
        let next = next_state(
            kind,
            current,
            device.is_suspended,
            reading.as_ref(),
            silent_too_long,
        );
        let mut seen = device.clone();
        if next != current {
            match current.transition(next) {
                Ok(_) => {
                    let mut changed = device.clone();
                    changed.state = next;
                    changed.updated_at = now;
                    seen = store::update_device(&self.db, &changed).await?;
                    report.state_changes += 1;
                    tracing::info!(device = %device.id, from = %current, to = %next, "device state follows its telemetry");
                }
                Err(err) => {
                    tracing::warn!(device = %device.id, error = %err, "telemetry suggests a state the device cannot reach")
                }
            }
        }
        Ok((seen, reading))
    }

    /// The device's reading now, or `None` when it cannot be had.
    async fn read(
        &self,
        device: &Device,
        now: DateTime<Utc>,
    ) -> Result<Option<Telemetry>, ControlError> {
        let Ok(link) = resiflex_devices::grants::link(&self.db, &self.providers, device).await?
        else {
            return Ok(None);
        };
        match link
            .provider
            .telemetry(&link.grant, &device.integration_device_id, now)
            .await
        {
            Ok(reading) => Ok(Some(reading)),
            Err(ProviderError::AuthorisationExpired) => {
                // Recorded once an hour at most: the customer must authorise the device again.
                let recent = resiflex_store::events::between(
                    &self.db,
                    &device.id,
                    now - Duration::hours(1),
                    now + Duration::seconds(1),
                )
                .await?;
                let kind = resiflex_domain::plan::DeviceEventKind::AuthorisationExpired;
                if !recent.iter().any(|event| event.kind == kind) {
                    resiflex_store::events::add(
                        &self.db,
                        &device.id,
                        now,
                        kind,
                        &serde_json::json!({"error": "the vendor no longer accepts the authorisation"}),
                    )
                    .await?;
                    tracing::warn!(device = %device.id, "the vendor withdrew the authorisation; the customer must authorise again");
                }
                Ok(None)
            }
            Err(_) => Ok(None),
        }
    }

    /// Runs `tick` every `tick_seconds` of wall time until `shutdown` resolves.
    pub fn spawn(
        self,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let period = StdDuration::from_secs(self.config.tick_seconds.max(1));
        self.spawn_every(period, shutdown)
    }

    /// Runs `tick` every `period` of wall time until `shutdown` resolves (an accelerated clock ticks
    /// more often in wall time, so that the same clock time passes between ticks).
    pub fn spawn_every(
        self,
        period: StdDuration,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut shutdown = shutdown;
            let period = period.max(StdDuration::from_millis(20));
            loop {
                if let Err(err) = self.tick().await {
                    tracing::error!(error = %err, "control tick failed");
                }
                tokio::select! {
                    () = tokio::time::sleep(period) => {}
                    _ = shutdown.changed() => break,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resiflex_providers::Connection;

    fn reading(online: bool, plugged: bool, home: bool) -> Telemetry {
        Telemetry {
            at: Utc::now(),
            connection: if online {
                Connection::Online
            } else {
                Connection::Offline
            },
            state_of_charge_pct: Some(50.0),
            soc_limit_pct: None,
            power_w: 0,
            energy_imported_wh: 0,
            energy_exported_wh: 0,
            plugged_in: Some(plugged),
            at_home: Some(home),
            indoor_temperature_c: None,
            outdoor_temperature_c: None,
            target_temperature_c: None,
            solar_power_w: None,
            site_consumption_w: None,
            active: false,
            flow_temperature_c: None,
            heat_output_w: None,
            heat_output_wh: None,
            hot_water_temperature_c: None,
            grid_power_w: None,
            battery_power_w: None,
        }
    }

    #[test]
    fn states_follow_the_reading() {
        use DeviceState::*;
        let ev = DeviceKind::ElectricVehicle;
        assert_eq!(
            next_state(
                ev,
                SmartControlCapable,
                false,
                Some(&reading(true, false, true)),
                false
            ),
            SmartControlNotAvailable
        );
        assert_eq!(
            next_state(
                ev,
                SmartControlNotAvailable,
                false,
                Some(&reading(true, true, true)),
                false
            ),
            SmartControlCapable
        );
        assert_eq!(
            next_state(ev, Boosting, false, Some(&reading(true, true, true)), false),
            Boosting
        );
        assert_eq!(
            next_state(
                ev,
                Boosting,
                false,
                Some(&reading(true, false, true)),
                false
            ),
            SmartControlNotAvailable
        );
        assert_eq!(
            next_state(
                ev,
                SmartControlCapable,
                false,
                Some(&reading(false, true, true)),
                false
            ),
            LostConnection
        );
        assert_eq!(
            next_state(ev, SmartControlCapable, false, None, true),
            LostConnection
        );
        assert_eq!(
            next_state(
                ev,
                LostConnection,
                false,
                Some(&reading(true, true, true)),
                false
            ),
            SmartControlCapable
        );
        assert_eq!(
            next_state(
                ev,
                SmartControlOff,
                true,
                Some(&reading(true, false, true)),
                false
            ),
            SmartControlOff
        );
    }
}
