//! A scripted OCPP 1.6-J charge point over tokio-tungstenite, for tests of the central system: it
//! sends calls, answers the central system's calls from a configurable script, and records them.

#![allow(dead_code)]

use base64::Engine as _;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How the charger answers the central system.
#[derive(Debug, Clone)]
pub struct Script {
    /// Purposes whose profiles the charger rejects.
    pub reject_purposes: Vec<String>,
    /// Reject profiles with a limit of 0.
    pub reject_zero: bool,
    /// `ChargingScheduleAllowedChargingRateUnit`.
    pub units: String,
    /// Actions the charger receives but never answers.
    pub silent: Vec<String>,
    /// `ChargingScheduleMaxPeriods`.
    pub max_periods: String,
    /// `NumberOfConnectors`, when the charger tells.
    pub connectors: Option<String>,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            reject_purposes: Vec::new(),
            reject_zero: false,
            units: "Current".into(),
            silent: Vec::new(),
            max_periods: "10".into(),
            connectors: None,
        }
    }
}

pub struct Charger {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next: u64,
    pub script: Script,
    /// Every call the central system made, as `(action, payload)`.
    pub received: Vec<(String, Value)>,
    /// The profiles accepted, by purpose.
    pub profiles: std::collections::BTreeMap<String, Value>,
    /// The profiles installed, as OCPP 1.6 keeps them: a new profile replaces one with the same
    /// id, or with the same purpose, stack level and connector.
    pub held: Vec<(i64, Value)>,
    /// The ids of the calls left unanswered, in order.
    pub unanswered: Vec<String>,
}

/// Opens a WebSocket to `url` with Basic credentials and the given subprotocol; on a refused
/// handshake returns the HTTP status.
pub async fn connect(
    url: &str,
    credentials: Option<(&str, &str)>,
    subprotocol: Option<&str>,
) -> Result<Charger, u16> {
    let mut request = url.into_client_request().expect("request");
    if let Some((user, password)) = credentials {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Basic {token}")).unwrap(),
        );
    }
    if let Some(protocol) = subprotocol {
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(protocol).unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, response)) => {
            if subprotocol.is_some() {
                assert_eq!(
                    response.headers()["sec-websocket-protocol"],
                    "ocpp1.6",
                    "the central system chose the OCPP subprotocol"
                );
            }
            Ok(Charger {
                ws,
                next: 1,
                script: Script::default(),
                received: Vec::new(),
                profiles: Default::default(),
                held: Vec::new(),
                unanswered: Vec::new(),
            })
        }
        Err(WsError::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("the handshake failed without an HTTP answer: {other}"),
    }
}

impl Charger {
    /// Waits (at most 10 s) for the central system to close the connection and returns the close
    /// code it sent; `None` when the connection ended without a close frame.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            let message = tokio::time::timeout(std::time::Duration::from_secs(10), self.ws.next())
                .await
                .expect("the connection closes within 10 s")?;
            match message {
                Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("sent");
    }

    /// The next frame that is not a call from the central system (those are answered on the way).
    pub async fn next_answer(&mut self) -> Value {
        loop {
            let frame = self.next_frame().await.expect("the connection stays open");
            if frame[0] == 2 {
                self.answer(&frame).await;
                continue;
            }
            return frame;
        }
    }

    async fn next_frame(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(std::time::Duration::from_secs(10), self.ws.next())
                .await
                .expect("a message within 10 s")?;
            match message.ok()? {
                Message::Text(text) => return serde_json::from_str(&text).ok(),
                Message::Close(_) => return None,
                _ => {}
            }
        }
    }

    /// Sends a call and returns the central system's answer (`[3, id, payload]` or `[4, ...]`).
    pub async fn call(&mut self, action: &str, payload: Value) -> Value {
        let id = format!("cp-{}", self.next);
        self.next += 1;
        let frame = json!([2, id, action, payload]).to_string();
        self.send_text(&frame).await;
        loop {
            let answer = self.next_answer().await;
            if answer[1] == id.as_str() {
                return answer;
            }
        }
    }

    /// Sends a call that must succeed and returns the answer's payload.
    pub async fn ok(&mut self, action: &str, payload: Value) -> Value {
        let answer = self.call(action, payload).await;
        assert_eq!(answer[0], 3, "{action} answered {answer}");
        answer[2].clone()
    }

    pub async fn boot(&mut self) -> Value {
        self.ok(
            "BootNotification",
            json!({"chargePointVendor": "Wallbox", "chargePointModel": "Pulsar Plus"}),
        )
        .await
    }

    pub async fn status(&mut self, connector: u32, status: &str) {
        self.ok(
            "StatusNotification",
            json!({"connectorId": connector, "errorCode": "NoError", "status": status}),
        )
        .await;
    }

    /// Answers the central system's calls until `done` holds for what was received (or panics
    /// after 10 s without a message).
    pub async fn serve_until(&mut self, done: impl Fn(&[(String, Value)]) -> bool) {
        while !done(&self.received) {
            let frame = self.next_frame().await.expect("the connection stays open");
            if frame[0] == 2 {
                self.answer(&frame).await;
            }
        }
    }

    /// Answers the central system's calls for a while.
    pub async fn serve_for(&mut self, duration: std::time::Duration) {
        let until = tokio::time::Instant::now() + duration;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match tokio::time::timeout(left, self.ws.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    let frame: Value = serde_json::from_str(&text).unwrap();
                    if frame[0] == 2 {
                        self.answer(&frame).await;
                    }
                }
                Ok(Some(Ok(_))) => {}
                _ => return,
            }
        }
    }

    /// Answers the central system's calls while `work` runs (an HTTP request, a control tick, a
    /// command), and returns its result.
    pub async fn serve_during<F: std::future::Future>(&mut self, work: F) -> F::Output {
        tokio::pin!(work);
        loop {
            tokio::select! {
                output = &mut work => return output,
                message = self.ws.next() => match message {
                    Some(Ok(Message::Text(text))) => {
                        let frame: Value = serde_json::from_str(&text).unwrap();
                        if frame[0] == 2 {
                            self.answer(&frame).await;
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => return work.await,
                },
            }
        }
    }

    /// The profile in force for the connector's transaction (or the next one), OCPP 1.6 style:
    /// a transaction's own profile first, then the default, then the station's maximum.
    pub fn in_force(&self) -> Option<&Value> {
        ["TxProfile", "TxDefaultProfile", "ChargePointMaxProfile"]
            .iter()
            .find_map(|purpose| self.profiles.get(*purpose))
    }

    /// How many calls of `action` the central system made.
    pub fn count(&self, action: &str) -> usize {
        self.received.iter().filter(|(a, _)| a == action).count()
    }

    async fn answer(&mut self, frame: &Value) {
        let id = frame[1].as_str().unwrap().to_owned();
        let action = frame[2].as_str().unwrap().to_owned();
        let payload = frame[3].clone();
        self.received.push((action.clone(), payload.clone()));
        if self.script.silent.contains(&action) {
            self.unanswered.push(id);
            return;
        }
        let reply = match action.as_str() {
            "GetConfiguration" => {
                let mut keys = vec![
                    json!({"key": "ChargingScheduleAllowedChargingRateUnit", "readonly": true, "value": self.script.units}),
                    json!({"key": "ChargeProfileMaxStackLevel", "readonly": true, "value": "5"}),
                    json!({"key": "ChargingScheduleMaxPeriods", "readonly": true, "value": self.script.max_periods}),
                ];
                if let Some(count) = &self.script.connectors {
                    keys.push(
                        json!({"key": "NumberOfConnectors", "readonly": true, "value": count}),
                    );
                }
                json!({"configurationKey": keys})
            }
            "SetChargingProfile" => {
                let profile = &payload["csChargingProfiles"];
                let purpose = profile["chargingProfilePurpose"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let zero = profile["chargingSchedule"]["chargingSchedulePeriod"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["limit"].as_f64() == Some(0.0));
                if self.script.reject_purposes.contains(&purpose)
                    || (zero && self.script.reject_zero)
                {
                    json!({"status": "Rejected"})
                } else {
                    let connector = payload["connectorId"].as_i64().unwrap();
                    self.held.retain(|(c, held)| {
                        held["chargingProfileId"] != profile["chargingProfileId"]
                            && !(held["chargingProfilePurpose"]
                                == profile["chargingProfilePurpose"]
                                && held["stackLevel"] == profile["stackLevel"]
                                && *c == connector)
                    });
                    self.held.push((connector, profile.clone()));
                    self.profiles.insert(purpose, profile.clone());
                    json!({"status": "Accepted"})
                }
            }
            "GetCompositeSchedule" => {
                // The composite of the profiles held: the transaction's own profile wins.
                let held = self
                    .profiles
                    .get("TxProfile")
                    .or_else(|| self.profiles.get("TxDefaultProfile"))
                    .or_else(|| self.profiles.get("ChargePointMaxProfile"));
                match held {
                    Some(profile) => json!({
                        "status": "Accepted",
                        "connectorId": payload["connectorId"],
                        "scheduleStart": profile["chargingSchedule"]["startSchedule"],
                        "chargingSchedule": {
                            "duration": payload["duration"],
                            "startSchedule": profile["chargingSchedule"]["startSchedule"],
                            "chargingRateUnit": profile["chargingSchedule"]["chargingRateUnit"],
                            "chargingSchedulePeriod": profile["chargingSchedule"]["chargingSchedulePeriod"],
                        }
                    }),
                    None => json!({"status": "Rejected"}),
                }
            }
            "ClearChargingProfile" => {
                let id = payload["id"].as_i64();
                let before = self.profiles.len();
                self.profiles
                    .retain(|_, p| Some(p["chargingProfileId"].as_i64().unwrap()) != id);
                self.held
                    .retain(|(_, p)| Some(p["chargingProfileId"].as_i64().unwrap()) != id);
                json!({"status": if self.profiles.len() < before { "Accepted" } else { "Unknown" }})
            }
            "ChangeConfiguration"
            | "RemoteStartTransaction"
            | "RemoteStopTransaction"
            | "TriggerMessage"
            | "ChangeAvailability"
            | "Reset" => json!({"status": "Accepted"}),
            _ => {
                let error = json!([4, id, "NotImplemented", "not in this script", {}]);
                self.send_text(&error.to_string()).await;
                return;
            }
        };
        let text = json!([3, id, reply]).to_string();
        self.send_text(&text).await;
    }
}
