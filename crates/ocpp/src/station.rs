//! One charge point as the central system sees it: its live connection (if any), the calls
//! ResiFlex makes to it (one in flight at a time, each with a timeout and retries), and what it
//! last reported (connector status, meter values, transactions), from which telemetry is read.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration as StdDuration;

use axum::extract::ws::Message;
use chrono::{DateTime, Duration, Utc};
use resiflex_providers::{Connection, Telemetry};
use rust_ocpp::v1_6::types::{ChargePointStatus, Measurand, MeterValue, Phase, UnitOfMeasure};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use crate::rpc::{self, ErrorCode, RpcError};

/// Why a call to a charger did not get an answer it could use.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallFailure {
    #[error("the charge point is not connected")]
    NotConnected,
    #[error("the charge point did not answer in time")]
    Timeout,
    /// The charger answered with a CALLERROR.
    #[error("the charge point answered {0}")]
    Refused(RpcError),
    /// The charger's answer is not the message the action expects.
    #[error("the charge point's answer is malformed: {0}")]
    Malformed(String),
}

pub(crate) type PendingCalls =
    Arc<Mutex<HashMap<String, oneshot::Sender<Result<Value, RpcError>>>>>;

/// The WebSocket a charger is connected on.
#[derive(Debug)]
struct Link {
    generation: u64,
    outbox: mpsc::Sender<Message>,
    pending: PendingCalls,
    /// Tells the connection to close (a newer connection took over, or the charger was revoked).
    kick: watch::Sender<bool>,
}

/// The state of one connector.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorState {
    pub status: ChargePointStatus,
    pub at: DateTime<Utc>,
}

/// What the charger last reported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reported {
    /// When the charger was last heard from (any message).
    pub last_seen: Option<DateTime<Utc>>,
    pub connectors: BTreeMap<u32, ConnectorState>,
    /// Open transactions by connector.
    pub transactions: BTreeMap<u32, i32>,
    pub power_w: Option<i64>,
    pub energy_wh: Option<i64>,
    pub soc_pct: Option<f64>,
    /// The time of the newest meter value taken in.
    pub meter_at: Option<DateTime<Utc>>,
    /// Phases seen in meter values (L2 or L3 means three).
    pub three_phases_seen: bool,
}

/// Whether a transaction may start on `connector`: a real connector (1 or more), one of the
/// `NumberOfConnectors` the charger said it has or, when it did not say, one it reported a status
/// for (or any up to `max` before it reported any).
pub fn has_connector(connector: u32, said: Option<u32>, reported: &Reported, max: u32) -> bool {
    if connector == 0 {
        return false;
    }
    match said {
        Some(count) => connector <= count,
        None if reported.connectors.keys().any(|c| *c > 0) => {
            reported.connectors.contains_key(&connector)
        }
        None => connector <= max,
    }
}

/// What operators asked of a charger's availability.
#[derive(Debug, Default)]
struct AvailabilityWish {
    /// Connectors (0: the whole station) an operator set inoperative.
    inoperative: std::collections::BTreeSet<u32>,
    /// Connectors asked back into service on this connection.
    restored: std::collections::BTreeSet<u32>,
}

/// A charge point known to this server.
#[derive(Debug)]
pub struct Station {
    pub id: String,
    link: Mutex<Option<Link>>,
    reported: Mutex<Reported>,
    /// Held for the whole of a call: OCPP-J allows one call in flight per direction.
    turn: tokio::sync::Mutex<()>,
    availability: Mutex<AvailabilityWish>,
    next_message: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How calls are timed.
#[derive(Debug, Clone, Copy)]
pub struct CallPolicy {
    pub timeout: StdDuration,
    pub attempts: u32,
}

impl Station {
    pub fn new(id: &str) -> Station {
        Station {
            id: id.to_owned(),
            link: Mutex::new(None),
            reported: Mutex::new(Reported::default()),
            turn: tokio::sync::Mutex::new(()),
            availability: Mutex::new(AvailabilityWish::default()),
            next_message: AtomicU64::new(1),
        }
    }

    /// Records that an operator took a connector (0: the whole station) out of service, or put
    /// it back.
    pub fn want_operative(&self, connector: u32, operative: bool) {
        let mut wish = lock(&self.availability);
        if operative {
            wish.inoperative.remove(&connector);
        } else {
            wish.inoperative.insert(connector);
        }
    }

    /// Whether a connector reported unavailable should be asked back into service: not when an
    /// operator took it (or the station) out, and once per connection.
    pub fn should_restore(&self, connector: u32) -> bool {
        let mut wish = lock(&self.availability);
        if wish.inoperative.contains(&connector) || wish.inoperative.contains(&0) {
            return false;
        }
        wish.restored.insert(connector)
    }

    /// Makes `outbox` the charger's connection, closing an older one. Returns its generation and
    /// the signal that tells it to close.
    pub fn attach(
        &self,
        generation: u64,
        outbox: mpsc::Sender<Message>,
        now: DateTime<Utc>,
    ) -> (PendingCalls, watch::Receiver<bool>) {
        let (kick, kicked) = watch::channel(false);
        let pending: PendingCalls = Arc::default();
        let old = lock(&self.link).replace(Link {
            generation,
            outbox,
            pending: pending.clone(),
            kick,
        });
        if let Some(old) = old {
            let _ = old.kick.send(true);
        }
        lock(&self.availability).restored.clear();
        lock(&self.reported).last_seen = Some(now);
        (pending, kicked)
    }

    /// Forgets the connection `generation` (if it is still the current one).
    pub fn detach(&self, generation: u64) {
        let mut link = lock(&self.link);
        if link.as_ref().is_some_and(|l| l.generation == generation) {
            *link = None;
        }
    }

    /// Closes the current connection, if any.
    pub fn kick(&self) {
        if let Some(link) = lock(&self.link).take() {
            let _ = link.kick.send(true);
        }
    }

    pub fn is_connected(&self) -> bool {
        lock(&self.link).is_some()
    }

    pub fn reported(&self) -> Reported {
        lock(&self.reported).clone()
    }

    pub fn update(&self, change: impl FnOnce(&mut Reported)) {
        change(&mut lock(&self.reported));
    }

    /// Sends a call and waits for its answer: one call at a time (others queue behind it), each
    /// attempt with a timeout, repeated `attempts` times under a new message id.
    pub async fn call(
        &self,
        action: &str,
        payload: Value,
        policy: CallPolicy,
    ) -> Result<Value, CallFailure> {
        let _turn = self.turn.lock().await;
        for _ in 0..policy.attempts.max(1) {
            let (outbox, pending) = {
                let link = lock(&self.link);
                let link = link.as_ref().ok_or(CallFailure::NotConnected)?;
                (link.outbox.clone(), link.pending.clone())
            };
            let id = format!("rfx-{}", self.next_message.fetch_add(1, Ordering::Relaxed));
            let (answer, answered) = oneshot::channel();
            lock(&pending).insert(id.clone(), answer);
            let frame = rpc::encode_call(&id, action, &payload);
            if outbox.send(Message::Text(frame.into())).await.is_err() {
                return Err(CallFailure::NotConnected);
            }
            match tokio::time::timeout(policy.timeout, answered).await {
                Ok(Ok(Ok(value))) => return Ok(value),
                Ok(Ok(Err(error))) => return Err(CallFailure::Refused(error)),
                // The connection closed while we waited.
                Ok(Err(_)) => return Err(CallFailure::NotConnected),
                Err(_) => {
                    lock(&pending).remove(&id);
                    tracing::debug!(charge_point = %self.id, action, "call timed out; trying again");
                }
            }
        }
        Err(CallFailure::Timeout)
    }

    /// A typed call: the request serialised, the answer read (leniently: chargers may add
    /// properties of their own to an answer).
    pub async fn call_typed<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        action: &str,
        request: &Req,
        policy: CallPolicy,
    ) -> Result<Resp, CallFailure> {
        let payload =
            serde_json::to_value(request).map_err(|err| CallFailure::Malformed(err.to_string()))?;
        let answer = self.call(action, payload, policy).await?;
        serde_json::from_value(answer).map_err(|err| CallFailure::Malformed(err.to_string()))
    }
}

/// Hands an answer (CALLRESULT or CALLERROR) to the call waiting for it; answers nobody waits for
/// (late, after a retry) are dropped.
pub fn deliver(pending: &PendingCalls, id: &str, answer: Result<Value, RpcError>) -> bool {
    match lock(pending).remove(id) {
        Some(waiting) => waiting.send(answer).is_ok(),
        None => false,
    }
}

/// Takes in meter values: energy (Wh or kWh), power (W or kW) and state of charge. Values older
/// than the newest already taken in (a charger emptying its queue after a reconnect) are kept only
/// for the energy meter, which never goes down.
pub fn take_meter_values(reported: &mut Reported, values: &[MeterValue]) -> Result<(), RpcError> {
    for value in values {
        let newest = reported.meter_at.is_none_or(|at| value.timestamp >= at);
        for sample in &value.sampled_value {
            let measurand = sample
                .measurand
                .clone()
                .unwrap_or(Measurand::EnergyActiveImportRegister);
            if matches!(
                sample.format,
                Some(rust_ocpp::v1_6::types::ValueFormat::SignedData)
            ) {
                continue;
            }
            if matches!(
                sample.phase,
                Some(Phase::L2 | Phase::L3 | Phase::L2N | Phase::L3N)
            ) {
                reported.three_phases_seen = true;
            }
            let per_phase = sample.phase.is_some()
                && !matches!(
                    measurand,
                    Measurand::SoC | Measurand::EnergyActiveImportRegister
                );
            let number: f64 = sample.value.trim().parse().map_err(|_| {
                RpcError::new(
                    ErrorCode::PropertyConstraintViolation,
                    format!("the sampled value {:?} is not a number", sample.value),
                )
            })?;
            if !number.is_finite() {
                return Err(RpcError::new(
                    ErrorCode::PropertyConstraintViolation,
                    "a sampled value is not a finite number",
                ));
            }
            #[allow(clippy::cast_possible_truncation)]
            match measurand {
                Measurand::EnergyActiveImportRegister if sample.phase.is_none() => {
                    let wh = match sample.unit {
                        Some(UnitOfMeasure::KWh) => number * 1000.0,
                        None | Some(UnitOfMeasure::Wh) => number,
                        _ => continue,
                    }
                    .round() as i64;
                    reported.energy_wh = Some(reported.energy_wh.map_or(wh, |old| old.max(wh)));
                }
                Measurand::PowerActiveImport if !per_phase && newest => {
                    let w = match sample.unit {
                        Some(UnitOfMeasure::Kw) => number * 1000.0,
                        None | Some(UnitOfMeasure::W) => number,
                        _ => continue,
                    };
                    reported.power_w = Some(w.round() as i64);
                }
                Measurand::SoC if newest => {
                    reported.soc_pct = Some(number.clamp(0.0, 100.0));
                }
                _ => {}
            }
        }
        if newest {
            reported.meter_at = Some(value.timestamp);
        }
    }
    Ok(())
}

/// The connector ResiFlex controls: the one with a transaction, else the first one that reported
/// a status, else connector 1.
pub fn main_connector(reported: &Reported) -> u32 {
    reported
        .transactions
        .keys()
        .next()
        .copied()
        .or_else(|| reported.connectors.keys().copied().find(|c| *c > 0))
        .unwrap_or(1)
}

/// Whether a car is plugged in, by the connector's status (unknown when the connector is out of
/// order or reserved).
pub fn plugged_in(status: &ChargePointStatus) -> Option<bool> {
    match status {
        ChargePointStatus::Available => Some(false),
        ChargePointStatus::Preparing
        | ChargePointStatus::Charging
        | ChargePointStatus::SuspendedEV
        | ChargePointStatus::SuspendedEVSE
        | ChargePointStatus::Finishing => Some(true),
        ChargePointStatus::Reserved
        | ChargePointStatus::Unavailable
        | ChargePointStatus::Faulted => None,
    }
}

/// The telemetry of a charger: online while connected and heard from within two heartbeat
/// intervals.
pub fn telemetry(
    reported: &Reported,
    connected: bool,
    heartbeat_interval_secs: u32,
    now: DateTime<Utc>,
) -> Telemetry {
    let fresh = reported.last_seen.is_some_and(|seen| {
        now - seen <= Duration::seconds(2 * i64::from(heartbeat_interval_secs))
    });
    let connector = main_connector(reported);
    let status = reported.connectors.get(&connector).map(|c| &c.status);
    let charging = status == Some(&ChargePointStatus::Charging);
    let online = connected && fresh;
    Telemetry {
        at: now,
        connection: if online {
            Connection::Online
        } else {
            Connection::Offline
        },
        state_of_charge_pct: reported.soc_pct,
        soc_limit_pct: None,
        power_w: if charging {
            reported.power_w.unwrap_or(0).max(0)
        } else {
            0
        },
        energy_imported_wh: reported.energy_wh.unwrap_or(0),
        energy_exported_wh: 0,
        plugged_in: status.and_then(plugged_in),
        at_home: None,
        indoor_temperature_c: None,
        outdoor_temperature_c: None,
        target_temperature_c: None,
        solar_power_w: None,
        site_consumption_w: None,
        active: charging,
        flow_temperature_c: None,
        heat_output_w: None,
        heat_output_wh: None,
        hot_water_temperature_c: None,
        grid_power_w: None,
        battery_power_w: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_ocpp::v1_6::types::SampledValue;

    fn t(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap() + Duration::minutes(minute)
    }

    #[test]
    fn transactions_start_only_on_connectors_the_charger_has() {
        let mut reported = Reported::default();
        assert!(
            !has_connector(0, None, &reported, 64),
            "0 is the whole station"
        );
        assert!(has_connector(1, None, &reported, 64));
        assert!(!has_connector(65, None, &reported, 64));
        assert!(has_connector(1, Some(1), &reported, 64));
        assert!(!has_connector(2, Some(1), &reported, 64));
        reported.connectors.insert(
            1,
            ConnectorState {
                status: ChargePointStatus::Available,
                at: t(0),
            },
        );
        assert!(has_connector(1, None, &reported, 64));
        assert!(!has_connector(2, None, &reported, 64), "never reported");
    }

    fn sample(measurand: Measurand, value: &str, unit: UnitOfMeasure) -> SampledValue {
        SampledValue {
            value: value.into(),
            measurand: Some(measurand),
            unit: Some(unit),
            ..SampledValue::default()
        }
    }

    #[test]
    fn meter_values_feed_energy_power_and_soc() {
        let mut reported = Reported::default();
        let values = vec![MeterValue {
            timestamp: t(1),
            sampled_value: vec![
                sample(
                    Measurand::EnergyActiveImportRegister,
                    "12.5",
                    UnitOfMeasure::KWh,
                ),
                sample(Measurand::PowerActiveImport, "7.2", UnitOfMeasure::Kw),
                sample(Measurand::SoC, "55", UnitOfMeasure::Percent),
            ],
        }];
        take_meter_values(&mut reported, &values).unwrap();
        assert_eq!(reported.energy_wh, Some(12_500));
        assert_eq!(reported.power_w, Some(7_200));
        assert_eq!(reported.soc_pct, Some(55.0));
        // An older value (a queue emptied after a reconnect) does not turn the clock back.
        let old = vec![MeterValue {
            timestamp: t(0),
            sampled_value: vec![
                sample(Measurand::PowerActiveImport, "100", UnitOfMeasure::W),
                sample(
                    Measurand::EnergyActiveImportRegister,
                    "12000",
                    UnitOfMeasure::Wh,
                ),
            ],
        }];
        take_meter_values(&mut reported, &old).unwrap();
        assert_eq!(
            (reported.power_w, reported.energy_wh),
            (Some(7_200), Some(12_500))
        );
        let bad = vec![MeterValue {
            timestamp: t(2),
            sampled_value: vec![sample(Measurand::SoC, "lots", UnitOfMeasure::Percent)],
        }];
        assert_eq!(
            take_meter_values(&mut reported, &bad).unwrap_err().code,
            ErrorCode::PropertyConstraintViolation
        );
    }

    #[test]
    fn telemetry_follows_status_and_goes_offline_after_two_missed_heartbeats() {
        let mut reported = Reported {
            last_seen: Some(t(0)),
            power_w: Some(7_000),
            energy_wh: Some(1_000),
            ..Reported::default()
        };
        reported.connectors.insert(
            1,
            ConnectorState {
                status: ChargePointStatus::Charging,
                at: t(0),
            },
        );
        let live = telemetry(&reported, true, 60, t(2));
        assert_eq!(live.connection, Connection::Online);
        assert_eq!(
            (live.power_w, live.plugged_in, live.active),
            (7_000, Some(true), true)
        );
        assert_eq!(
            telemetry(&reported, true, 60, t(3)).connection,
            Connection::Offline
        );
        assert_eq!(
            telemetry(&reported, false, 60, t(1)).connection,
            Connection::Offline
        );
        reported.connectors.insert(
            1,
            ConnectorState {
                status: ChargePointStatus::SuspendedEVSE,
                at: t(1),
            },
        );
        let suspended = telemetry(&reported, true, 60, t(1));
        assert_eq!((suspended.power_w, suspended.active), (0, false));
        assert_eq!(suspended.plugged_in, Some(true));
        reported.connectors.insert(
            1,
            ConnectorState {
                status: ChargePointStatus::Available,
                at: t(1),
            },
        );
        assert_eq!(telemetry(&reported, true, 60, t(1)).plugged_in, Some(false));
    }
}
