//! The WebSocket endpoint and one charger's connection: the handshake (Basic authentication and
//! the `ocpp1.6` subprotocol, both checked before the upgrade), then the messages the charger
//! sends, each answered with a CALLRESULT or a CALLERROR.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt as _, StreamExt as _};
use resiflex_store::ocpp as store;
use rust_ocpp::v1_6::messages::authorize::{AuthorizeRequest, AuthorizeResponse};
use rust_ocpp::v1_6::messages::boot_notification::{
    BootNotificationRequest, BootNotificationResponse,
};
use rust_ocpp::v1_6::messages::data_transfer::{DataTransferRequest, DataTransferResponse};
use rust_ocpp::v1_6::messages::diagnostics_status_notification::DiagnosticsStatusNotificationRequest;
use rust_ocpp::v1_6::messages::firmware_status_notification::FirmwareStatusNotificationRequest;
use rust_ocpp::v1_6::messages::heart_beat::{HeartbeatRequest, HeartbeatResponse};
use rust_ocpp::v1_6::messages::meter_values::MeterValuesRequest;
use rust_ocpp::v1_6::messages::start_transaction::{
    StartTransactionRequest, StartTransactionResponse,
};
use rust_ocpp::v1_6::messages::status_notification::StatusNotificationRequest;
use rust_ocpp::v1_6::messages::stop_transaction::{
    StopTransactionRequest, StopTransactionResponse,
};
use rust_ocpp::v1_6::types::{
    AuthorizationStatus, ChargePointStatus, DataTransferStatus, IdTagInfo, RegistrationStatus,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::rpc::{self, ErrorCode, Frame, RpcError};
use crate::station::{self, ConnectorState, Station};
use crate::{CentralSystem, Inner, SUBPROTOCOL, auth};

/// The highest connector number accepted in a status notification.
const MAX_CONNECTOR: u32 = 64;

/// Actions a charge point may send.
const FROM_CHARGE_POINT: &[&str] = &[
    "Authorize",
    "BootNotification",
    "DataTransfer",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
];

/// Actions of OCPP 1.6 that only the central system sends.
const FROM_CENTRAL_SYSTEM: &[&str] = &[
    "CancelReservation",
    "ChangeAvailability",
    "ChangeConfiguration",
    "ClearCache",
    "ClearChargingProfile",
    "GetCompositeSchedule",
    "GetConfiguration",
    "GetDiagnostics",
    "GetLocalListVersion",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "ReserveNow",
    "Reset",
    "SendLocalList",
    "SetChargingProfile",
    "TriggerMessage",
    "UnlockConnector",
    "UpdateFirmware",
];

fn refuse(status: StatusCode, message: &str) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "error": message }).to_string(),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED
        && let Ok(value) = "Basic realm=\"ResiFlex OCPP\", charset=\"UTF-8\"".parse()
    {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Whether the handshake offers the `ocpp1.6` subprotocol.
fn offers_subprotocol(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == SUBPROTOCOL)
}

/// `GET /ocpp/{chargePointId}`: authenticates the charger, checks the subprotocol, then upgrades.
pub(crate) async fn upgrade(
    State(central): State<CentralSystem>,
    Path(charge_point_id): Path<String>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let inner = central.inner().clone();
    let unauthorised = || {
        refuse(
            StatusCode::UNAUTHORIZED,
            "unknown charge point or wrong password",
        )
    };
    if !auth::valid_identity(&charge_point_id) {
        return unauthorised();
    }
    let Some((user, password)) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(auth::basic_credentials)
    else {
        return unauthorised();
    };
    let address = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    let row = match auth::authenticate(&inner, &charge_point_id, &user, &password, address).await {
        auth::Verdict::Accepted(row) => row,
        auth::Verdict::Refused => {
            tracing::info!(charge_point = %charge_point_id, "refused a charge point's credentials");
            return unauthorised();
        }
        auth::Verdict::Throttled => {
            tracing::info!(charge_point = %charge_point_id, "throttled a charge point's sign-in");
            return refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed sign-ins; try again later",
            );
        }
        auth::Verdict::Busy => {
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "busy; try again later");
        }
        auth::Verdict::Unavailable => {
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "try again later");
        }
    };
    if !offers_subprotocol(&headers) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the WebSocket handshake must offer the ocpp1.6 subprotocol",
        );
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    let max = inner.config.max_message_bytes;
    let accepted_before = row.boot_accepted_at.is_some();
    ws.protocols([SUBPROTOCOL])
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| serve(inner, charge_point_id, accepted_before, socket))
}

/// The WebSocket close code for a message over the size limit (RFC 6455, 7.4.1).
const MESSAGE_TOO_BIG: u16 = 1009;

/// Whether a read failed because a frame or message was over the size limit.
fn too_big(err: &axum::Error) -> bool {
    std::error::Error::source(err)
        .and_then(|inner| inner.downcast_ref::<tungstenite::Error>())
        .is_some_and(|inner| matches!(inner, tungstenite::Error::Capacity(_)))
}

/// One connection, until the charger leaves, a newer connection of the same charger takes over,
/// or the server stops.
async fn serve(inner: Arc<Inner>, id: String, accepted_before: bool, socket: WebSocket) {
    let station = inner.station(&id);
    let (mut sink, mut stream) = socket.split();
    let (outbox, mut queue) = mpsc::channel::<Message>(16);
    let generation = inner.next_generation();
    let (pending, mut kicked) = station.attach(generation, outbox.clone(), inner.clock.now());
    match store::open_transactions(&inner.db, &id).await {
        Ok(open) => station.update(|r| {
            r.transactions = open
                .iter()
                .filter_map(|t| {
                    Some((
                        u32::try_from(t.connector_id).ok()?,
                        i32::try_from(t.id).ok()?,
                    ))
                })
                .collect();
        }),
        Err(err) => {
            tracing::error!(charge_point = %id, error = %err, "reading open transactions failed")
        }
    }
    tracing::info!(charge_point = %id, "charge point connected");
    let writer = tokio::spawn(async move {
        while let Some(message) = queue.recv().await {
            let closing = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let mut session = Session {
        inner: inner.clone(),
        station: station.clone(),
        outbox: outbox.clone(),
        accepted: accepted_before,
    };
    if accepted_before {
        // A charger that was accepted before reconnects without booting again.
        tokio::spawn(crate::provider::settle(
            inner.clone(),
            station.clone(),
            false,
        ));
    }
    let mut shutdown = inner.shutdown.subscribe();
    if !*shutdown.borrow_and_update() {
        loop {
            tokio::select! {
                _ = kicked.changed() => break,
                _ = shutdown.changed() => break,
                message = stream.next() => match message {
                    Some(Ok(Message::Text(text))) => session.on_text(text.as_str(), &pending).await,
                    Some(Ok(Message::Binary(_))) => {
                        session
                            .send(rpc::encode_error(
                                rpc::UNKNOWN_ID,
                                &RpcError::new(ErrorCode::FormationViolation, "OCPP-J messages are text frames"),
                            ))
                            .await;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => session.touch(),
                    Some(Err(err)) if too_big(&err) => {
                        tracing::info!(charge_point = %id, limit = inner.config.max_message_bytes, "closed a connection: a message over the size limit");
                        let _ = outbox.try_send(Message::Close(Some(CloseFrame {
                            code: MESSAGE_TOO_BIG,
                            reason: "message too big".into(),
                        })));
                        break;
                    }
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                },
            }
        }
    }
    station.detach(generation);
    let _ = outbox.try_send(Message::Close(None));
    drop(outbox);
    drop(session);
    if tokio::time::timeout(StdDuration::from_secs(2), writer)
        .await
        .is_err()
    {
        tracing::debug!(charge_point = %id, "the connection's writer did not finish");
    }
    tracing::info!(charge_point = %id, "charge point disconnected");
}

struct Session {
    inner: Arc<Inner>,
    station: Arc<Station>,
    outbox: mpsc::Sender<Message>,
    /// Whether a BootNotification of this charger has been accepted (now or before).
    accepted: bool,
}

/// What to do once an answer is on its way.
enum FollowUp {
    None,
    /// The charger booted: probe it and assert ResiFlex's profiles.
    Booted,
}

impl Session {
    fn touch(&self) {
        let now = self.inner.clock.now();
        self.station.update(|r| r.last_seen = Some(now));
    }

    async fn send(&self, text: String) {
        let _ = self.outbox.send(Message::Text(text.into())).await;
    }

    async fn on_text(&mut self, text: &str, pending: &crate::station::PendingCalls) {
        self.touch();
        match rpc::parse(text) {
            Err(bad) if bad.answer => {
                tracing::debug!(charge_point = %self.station.id, error = %bad.error, "malformed message");
                self.send(rpc::encode_error(&bad.id, &bad.error)).await;
            }
            Err(bad) => {
                tracing::debug!(charge_point = %self.station.id, error = %bad.error, "malformed answer dropped");
            }
            Ok(Frame::Call {
                id,
                action,
                payload,
            }) => {
                let (answer, follow_up) = match self.handle(&action, &payload).await {
                    Ok((value, follow_up)) => (rpc::encode_result(&id, &value), follow_up),
                    Err(error) => {
                        tracing::debug!(charge_point = %self.station.id, action, %error, "call refused");
                        (rpc::encode_error(&id, &error), FollowUp::None)
                    }
                };
                self.send(answer).await;
                if let FollowUp::Booted = follow_up {
                    tokio::spawn(crate::provider::settle(
                        self.inner.clone(),
                        self.station.clone(),
                        true,
                    ));
                }
            }
            Ok(Frame::CallResult { id, payload }) => {
                station::deliver(pending, &id, Ok(payload));
            }
            Ok(Frame::CallError {
                id,
                code,
                description,
            }) => {
                station::deliver(pending, &id, Err(RpcError::new(code, description)));
            }
        }
    }

    async fn handle(
        &mut self,
        action: &str,
        payload: &Value,
    ) -> Result<(Value, FollowUp), RpcError> {
        if !FROM_CHARGE_POINT.contains(&action) {
            return Err(if FROM_CENTRAL_SYSTEM.contains(&action) {
                RpcError::new(
                    ErrorCode::NotSupported,
                    format!("{action} is sent by the central system, not to it"),
                )
            } else {
                RpcError::new(
                    ErrorCode::NotImplemented,
                    format!("{action} is not an OCPP 1.6 action this central system knows"),
                )
            });
        }
        if action != "BootNotification" && !self.accepted {
            return Err(RpcError::new(
                ErrorCode::SecurityError,
                "send a BootNotification first",
            ));
        }
        let now = self.inner.clock.now();
        let db = &self.inner.db;
        let id = self.station.id.clone();
        let internal = |err: resiflex_store::StoreError| {
            tracing::error!(charge_point = %id, error = %err, "storing an OCPP message failed");
            RpcError::new(
                ErrorCode::InternalError,
                "the central system could not store this",
            )
        };
        let answer = |value: Result<Value, serde_json::Error>| {
            value.map_err(|err| RpcError::new(ErrorCode::InternalError, err.to_string()))
        };
        match action {
            "BootNotification" => {
                let boot: BootNotificationRequest = rpc::decode_valid(payload)?;
                let record = store::BootRecord {
                    vendor: boot.charge_point_vendor,
                    model: boot.charge_point_model,
                    serial_number: boot.charge_point_serial_number,
                    firmware_version: boot.firmware_version,
                };
                store::record_boot(db, &id, &record, now)
                    .await
                    .map_err(internal)?;
                self.accepted = true;
                tracing::info!(charge_point = %id, vendor = %record.vendor, model = %record.model, "boot accepted");
                let response = BootNotificationResponse {
                    current_time: now,
                    interval: self.inner.config.heartbeat_interval_secs,
                    status: RegistrationStatus::Accepted,
                };
                Ok((answer(serde_json::to_value(response))?, FollowUp::Booted))
            }
            "Heartbeat" => {
                let _: HeartbeatRequest = rpc::decode(payload)?;
                let response = HeartbeatResponse { current_time: now };
                Ok((answer(serde_json::to_value(response))?, FollowUp::None))
            }
            "StatusNotification" => {
                let status: StatusNotificationRequest = rpc::decode_valid(payload)?;
                if status.connector_id > MAX_CONNECTOR {
                    return Err(RpcError::new(
                        ErrorCode::PropertyConstraintViolation,
                        format!("connector {} does not exist", status.connector_id),
                    ));
                }
                let at = status.timestamp.unwrap_or(now);
                if status.status == ChargePointStatus::Unavailable
                    && self.station.should_restore(status.connector_id)
                {
                    tokio::spawn(crate::restore_availability(
                        self.inner.clone(),
                        self.station.clone(),
                        status.connector_id,
                    ));
                }
                self.station.update(|r| {
                    r.connectors.insert(
                        status.connector_id,
                        ConnectorState {
                            status: status.status,
                            at,
                        },
                    );
                });
                Ok((json!({}), FollowUp::None))
            }
            "Authorize" => {
                let _: AuthorizeRequest = rpc::decode_valid(payload)?;
                let response = AuthorizeResponse {
                    id_tag_info: accepted_tag(),
                };
                Ok((answer(serde_json::to_value(response))?, FollowUp::None))
            }
            "StartTransaction" => {
                let start: StartTransactionRequest = rpc::decode_valid(payload)?;
                // A transaction on a connector the charger does not have, or from a meter below
                // zero, is not one the charger can mean: refused as an invalid value.
                if start.meter_start < 0 {
                    return Err(RpcError::new(
                        ErrorCode::PropertyConstraintViolation,
                        "meterStart cannot be negative",
                    ));
                }
                let said = store::charge_point(db, &id)
                    .await
                    .map_err(internal)?
                    .and_then(|row| {
                        serde_json::from_value::<crate::profiles::Capabilities>(row.capabilities)
                            .ok()
                    })
                    .and_then(|c| c.connectors);
                if !station::has_connector(
                    start.connector_id,
                    said,
                    &self.station.reported(),
                    MAX_CONNECTOR,
                ) {
                    return Err(RpcError::new(
                        ErrorCode::PropertyConstraintViolation,
                        format!("connector {} does not exist", start.connector_id),
                    ));
                }
                let transaction = store::start_transaction(
                    db,
                    &id,
                    i64::from(start.connector_id),
                    &start.id_tag,
                    i64::from(start.meter_start),
                    start.timestamp,
                )
                .await
                .map_err(internal)?;
                let transaction_id = i32::try_from(transaction.id).map_err(|_| {
                    RpcError::new(
                        ErrorCode::InternalError,
                        "transaction numbers are exhausted",
                    )
                })?;
                self.station.update(|r| {
                    r.transactions.insert(start.connector_id, transaction_id);
                    r.energy_wh = Some(r.energy_wh.unwrap_or(0).max(i64::from(start.meter_start)));
                });
                let response = StartTransactionResponse {
                    id_tag_info: accepted_tag(),
                    transaction_id,
                };
                Ok((answer(serde_json::to_value(response))?, FollowUp::None))
            }
            "StopTransaction" => {
                let stop: StopTransactionRequest = rpc::decode_valid(payload)?;
                let reason = stop
                    .reason
                    .as_ref()
                    .and_then(|r| serde_json::to_value(r).ok())
                    .and_then(|v| v.as_str().map(str::to_owned));
                store::stop_transaction(
                    db,
                    &id,
                    i64::from(stop.transaction_id),
                    i64::from(stop.meter_stop),
                    stop.timestamp,
                    reason.as_deref(),
                )
                .await
                .map_err(internal)?;
                let mut bad_data = None;
                self.station.update(|r| {
                    r.transactions.retain(|_, tx| *tx != stop.transaction_id);
                    if let Some(data) = &stop.transaction_data
                        && let Err(err) = station::take_meter_values(r, data)
                    {
                        bad_data = Some(err);
                    }
                    r.energy_wh = Some(r.energy_wh.unwrap_or(0).max(i64::from(stop.meter_stop)));
                });
                if let Some(err) = bad_data {
                    tracing::debug!(charge_point = %id, error = %err, "unreadable transaction data ignored");
                }
                let response = StopTransactionResponse {
                    id_tag_info: stop.id_tag.as_ref().map(|_| accepted_tag()),
                };
                Ok((answer(serde_json::to_value(response))?, FollowUp::None))
            }
            "MeterValues" => {
                let values: MeterValuesRequest = rpc::decode(payload)?;
                if values.meter_value.is_empty()
                    || values
                        .meter_value
                        .iter()
                        .any(|v| v.sampled_value.is_empty())
                {
                    return Err(RpcError::new(
                        ErrorCode::OccurenceConstraintViolation,
                        "meterValue and each sampledValue need at least one element",
                    ));
                }
                let mut result = Ok(());
                self.station.update(|r| {
                    result = station::take_meter_values(r, &values.meter_value);
                });
                result?;
                Ok((json!({}), FollowUp::None))
            }
            "DataTransfer" => {
                let _: DataTransferRequest = rpc::decode_valid(payload)?;
                let response = DataTransferResponse {
                    status: DataTransferStatus::UnknownVendorId,
                    data: None,
                };
                Ok((answer(serde_json::to_value(response))?, FollowUp::None))
            }
            "DiagnosticsStatusNotification" => {
                let _: DiagnosticsStatusNotificationRequest = rpc::decode(payload)?;
                Ok((json!({}), FollowUp::None))
            }
            "FirmwareStatusNotification" => {
                let _: FirmwareStatusNotificationRequest = rpc::decode(payload)?;
                Ok((json!({}), FollowUp::None))
            }
            _ => Err(RpcError::new(
                ErrorCode::NotImplemented,
                format!("{action} is not handled"),
            )),
        }
    }
}

fn accepted_tag() -> IdTagInfo {
    IdTagInfo {
        expiry_date: None,
        parent_id_tag: None,
        status: AuthorizationStatus::Accepted,
    }
}
