//! OCPP-J framing: the RPC messages carried in WebSocket text frames, and strict decoding of their
//! payloads into the typed messages of `rust-ocpp`.
//!
//! - CALL `[2, "<id>", "<Action>", {payload}]`
//! - CALLRESULT `[3, "<id>", {payload}]`
//! - CALLERROR `[4, "<id>", "<code>", "<description>", {details}]`
//!
//! Anything malformed gets a CALLERROR with the code OCPP-J 1.6 names for it (section 4.2.3), never
//! a dropped connection: a frame that is not an RPC message is a `FormationViolation`, a payload
//! with a missing required field a `ProtocolError`, a value of the wrong JSON type (or a string too
//! long for its type) a `TypeConstraintViolation`, a value outside its enumeration or range a
//! `PropertyConstraintViolation`, an empty list that must hold at least one element an
//! `OccurenceConstraintViolation`, and an unknown action `NotImplemented`.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The longest message id OCPP-J allows.
pub const MAX_MESSAGE_ID: usize = 36;

/// The id answered when a frame is too broken to carry one.
pub const UNKNOWN_ID: &str = "-1";

/// The error codes of a CALLERROR (OCPP-J 1.6, section 4.2.3). The spelling of
/// `OccurenceConstraintViolation` and `FormationViolation` is the specification's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    NotImplemented,
    NotSupported,
    InternalError,
    ProtocolError,
    SecurityError,
    FormationViolation,
    PropertyConstraintViolation,
    OccurenceConstraintViolation,
    TypeConstraintViolation,
    GenericError,
}

impl ErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotImplemented => "NotImplemented",
            ErrorCode::NotSupported => "NotSupported",
            ErrorCode::InternalError => "InternalError",
            ErrorCode::ProtocolError => "ProtocolError",
            ErrorCode::SecurityError => "SecurityError",
            ErrorCode::FormationViolation => "FormationViolation",
            ErrorCode::PropertyConstraintViolation => "PropertyConstraintViolation",
            ErrorCode::OccurenceConstraintViolation => "OccurenceConstraintViolation",
            ErrorCode::TypeConstraintViolation => "TypeConstraintViolation",
            ErrorCode::GenericError => "GenericError",
        }
    }

    pub fn parse(code: &str) -> ErrorCode {
        const ALL: [ErrorCode; 10] = [
            ErrorCode::NotImplemented,
            ErrorCode::NotSupported,
            ErrorCode::InternalError,
            ErrorCode::ProtocolError,
            ErrorCode::SecurityError,
            ErrorCode::FormationViolation,
            ErrorCode::PropertyConstraintViolation,
            ErrorCode::OccurenceConstraintViolation,
            ErrorCode::TypeConstraintViolation,
            ErrorCode::GenericError,
        ];
        // OCPP 2.0 spells two codes differently; chargers mixing versions send them too.
        match code {
            "FormatViolation" => ErrorCode::FormationViolation,
            "OccurrenceConstraintViolation" => ErrorCode::OccurenceConstraintViolation,
            _ => ALL
                .into_iter()
                .find(|c| c.as_str() == code)
                .unwrap_or(ErrorCode::GenericError),
        }
    }
}

/// An error to answer with (or that the other side answered with).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct RpcError {
    pub code: ErrorCode,
    pub description: String,
}

impl RpcError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> RpcError {
        RpcError {
            code,
            description: description.into(),
        }
    }
}

/// One decoded OCPP-J message.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Call {
        id: String,
        action: String,
        payload: Value,
    },
    CallResult {
        id: String,
        payload: Value,
    },
    CallError {
        id: String,
        code: ErrorCode,
        description: String,
    },
}

/// A frame that could not be decoded: answer `error` under `id` (when `answer` is set; results and
/// errors are never answered).
#[derive(Debug, Clone, PartialEq)]
pub struct BadFrame {
    pub id: String,
    pub error: RpcError,
    pub answer: bool,
}

fn bad(id: &str, code: ErrorCode, description: impl Into<String>) -> BadFrame {
    BadFrame {
        id: id.to_owned(),
        error: RpcError::new(code, description),
        answer: true,
    }
}

/// Decodes one text frame.
pub fn parse(text: &str) -> Result<Frame, BadFrame> {
    let value: Value = serde_json::from_str(text).map_err(|err| {
        bad(
            UNKNOWN_ID,
            ErrorCode::FormationViolation,
            format!("the message is not JSON: {err}"),
        )
    })?;
    let Value::Array(items) = value else {
        return Err(bad(
            UNKNOWN_ID,
            ErrorCode::FormationViolation,
            "a message is a JSON array",
        ));
    };
    let id = match items.get(1) {
        Some(Value::String(id)) if !id.is_empty() && id.len() <= MAX_MESSAGE_ID => id.clone(),
        Some(Value::String(_)) => {
            return Err(bad(
                UNKNOWN_ID,
                ErrorCode::FormationViolation,
                "the message id must be 1 to 36 characters",
            ));
        }
        _ => {
            return Err(bad(
                UNKNOWN_ID,
                ErrorCode::FormationViolation,
                "the second element must be the message id, a string",
            ));
        }
    };
    match items.first().and_then(Value::as_u64) {
        Some(2) => {
            if items.len() < 4 {
                return Err(bad(
                    &id,
                    ErrorCode::ProtocolError,
                    "a CALL has four elements: 2, id, action, payload",
                ));
            }
            if items.len() > 4 {
                return Err(bad(
                    &id,
                    ErrorCode::FormationViolation,
                    "a CALL has four elements: 2, id, action, payload",
                ));
            }
            let Some(action) = items[2].as_str() else {
                return Err(bad(
                    &id,
                    ErrorCode::FormationViolation,
                    "the action must be a string",
                ));
            };
            if !items[3].is_object() {
                return Err(bad(
                    &id,
                    ErrorCode::FormationViolation,
                    "the payload must be a JSON object",
                ));
            }
            Ok(Frame::Call {
                id,
                action: action.to_owned(),
                payload: items[3].clone(),
            })
        }
        Some(3) => match items.get(2) {
            Some(payload @ Value::Object(_)) if items.len() == 3 => Ok(Frame::CallResult {
                id,
                payload: payload.clone(),
            }),
            _ => Err(BadFrame {
                answer: false,
                ..bad(
                    &id,
                    ErrorCode::FormationViolation,
                    "a CALLRESULT has three elements: 3, id, payload",
                )
            }),
        },
        Some(4) => match (items.get(2), items.get(3)) {
            (Some(Value::String(code)), Some(Value::String(description)))
                if (4..=5).contains(&items.len()) =>
            {
                Ok(Frame::CallError {
                    id,
                    code: ErrorCode::parse(code),
                    description: description.clone(),
                })
            }
            _ => Err(BadFrame {
                answer: false,
                ..bad(
                    &id,
                    ErrorCode::FormationViolation,
                    "a CALLERROR has five elements: 4, id, code, description, details",
                )
            }),
        },
        _ => Err(bad(
            &id,
            ErrorCode::FormationViolation,
            "the first element must be the message type: 2, 3 or 4",
        )),
    }
}

pub fn encode_call(id: &str, action: &str, payload: &Value) -> String {
    Value::Array(vec![
        Value::from(2),
        Value::from(id),
        Value::from(action),
        payload.clone(),
    ])
    .to_string()
}

pub fn encode_result(id: &str, payload: &Value) -> String {
    Value::Array(vec![Value::from(3), Value::from(id), payload.clone()]).to_string()
}

pub fn encode_error(id: &str, error: &RpcError) -> String {
    Value::Array(vec![
        Value::from(4),
        Value::from(id),
        Value::from(error.code.as_str()),
        Value::from(error.description.as_str()),
        Value::Object(serde_json::Map::new()),
    ])
    .to_string()
}

/// Decodes a payload into its typed message, strictly: besides serde's checks, a property the
/// message does not define is a `FormationViolation` and a `null` a `TypeConstraintViolation`.
pub fn decode<T: DeserializeOwned + Serialize>(payload: &Value) -> Result<T, RpcError> {
    let typed: T = serde_json::from_value(payload.clone()).map_err(|err| classify(&err))?;
    let known = serde_json::to_value(&typed)
        .map_err(|err| RpcError::new(ErrorCode::InternalError, err.to_string()))?;
    check_shape(payload, &known, "")?;
    Ok(typed)
}

/// Like [`decode`], then the length limits of the message's string types.
pub fn decode_valid<T: DeserializeOwned + Serialize + validator::Validate>(
    payload: &Value,
) -> Result<T, RpcError> {
    let typed: T = decode(payload)?;
    typed.validate().map_err(|errors| {
        RpcError::new(
            ErrorCode::TypeConstraintViolation,
            format!("a value is too long or too short for its type: {errors}"),
        )
    })?;
    Ok(typed)
}

fn check_shape(given: &Value, known: &Value, path: &str) -> Result<(), RpcError> {
    match (given, known) {
        (Value::Object(given), Value::Object(known)) => {
            for (key, value) in given {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if value.is_null() {
                    return Err(RpcError::new(
                        ErrorCode::TypeConstraintViolation,
                        format!("`{here}` is null; leave an absent value out"),
                    ));
                }
                let Some(expected) = known.get(key) else {
                    return Err(RpcError::new(
                        ErrorCode::FormationViolation,
                        format!("`{here}` is not a property of this message"),
                    ));
                };
                check_shape(value, expected, &here)?;
            }
            Ok(())
        }
        (Value::Array(given), Value::Array(known)) => {
            for (index, (value, expected)) in given.iter().zip(known).enumerate() {
                check_shape(value, expected, &format!("{path}[{index}]"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Maps serde's complaint to the OCPP-J error code that names it.
fn classify(err: &serde_json::Error) -> RpcError {
    let message = err.to_string();
    let code = if message.starts_with("missing field") {
        ErrorCode::ProtocolError
    } else if message.starts_with("unknown field") {
        ErrorCode::FormationViolation
    } else if message.starts_with("unknown variant") || message.starts_with("invalid value") {
        ErrorCode::PropertyConstraintViolation
    } else if message.starts_with("invalid type")
        || message.starts_with("invalid length")
        || message.contains("input contains invalid characters")
        || message.contains("premature end of input")
        || message.contains("input is out of range")
        || message.contains("trailing input")
        || message.contains("Invalid decimal")
        || message.starts_with("invalid number")
    {
        ErrorCode::TypeConstraintViolation
    } else {
        ErrorCode::FormationViolation
    };
    RpcError::new(code, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_ocpp::v1_6::messages::boot_notification::BootNotificationRequest;
    use rust_ocpp::v1_6::messages::heart_beat::HeartbeatRequest;
    use rust_ocpp::v1_6::messages::meter_values::MeterValuesRequest;
    use rust_ocpp::v1_6::messages::status_notification::StatusNotificationRequest;
    use serde_json::json;

    fn code_of(text: &str) -> (String, ErrorCode, bool) {
        let bad = parse(text).unwrap_err();
        (bad.id, bad.error.code, bad.answer)
    }

    #[test]
    fn calls_results_and_errors_are_framed() {
        let call = parse(r#"[2,"19223201","BootNotification",{"chargePointVendor":"VendorX","chargePointModel":"SingleSocketCharger"}]"#).unwrap();
        assert_eq!(
            call,
            Frame::Call {
                id: "19223201".into(),
                action: "BootNotification".into(),
                payload: json!({"chargePointVendor": "VendorX", "chargePointModel": "SingleSocketCharger"}),
            }
        );
        assert_eq!(
            parse(r#"[3,"a",{"status":"Accepted"}]"#).unwrap(),
            Frame::CallResult {
                id: "a".into(),
                payload: json!({"status": "Accepted"})
            }
        );
        assert_eq!(
            parse(r#"[4,"a","NotSupported","no",{}]"#).unwrap(),
            Frame::CallError {
                id: "a".into(),
                code: ErrorCode::NotSupported,
                description: "no".into()
            }
        );
        let text = encode_call("1", "Heartbeat", &json!({}));
        assert_eq!(text, r#"[2,"1","Heartbeat",{}]"#);
        assert_eq!(
            encode_error("1", &RpcError::new(ErrorCode::ProtocolError, "x")),
            r#"[4,"1","ProtocolError","x",{}]"#
        );
        assert_eq!(encode_result("1", &json!({})), r#"[3,"1",{}]"#);
    }

    #[test]
    fn malformed_frames_get_the_right_code() {
        let fv = ErrorCode::FormationViolation;
        assert_eq!(code_of("not json"), ("-1".into(), fv, true));
        assert_eq!(code_of(r#"{"a":1}"#), ("-1".into(), fv, true));
        assert_eq!(code_of("[]"), ("-1".into(), fv, true));
        assert_eq!(
            code_of(r#"[2, 17, "Heartbeat", {}]"#),
            ("-1".into(), fv, true)
        );
        assert_eq!(
            code_of(&format!(r#"[2, "{}", "Heartbeat", {{}}]"#, "x".repeat(37))),
            ("-1".into(), fv, true)
        );
        assert_eq!(
            code_of(r#"[2, "7", "Heartbeat"]"#),
            ("7".into(), ErrorCode::ProtocolError, true)
        );
        assert_eq!(
            code_of(r#"[2, "7", "Heartbeat", {}, 1]"#),
            ("7".into(), fv, true)
        );
        assert_eq!(code_of(r#"[2, "7", 5, {}]"#), ("7".into(), fv, true));
        assert_eq!(
            code_of(r#"[2, "7", "Heartbeat", []]"#),
            ("7".into(), fv, true)
        );
        assert_eq!(
            code_of(r#"[9, "7", "Heartbeat", {}]"#),
            ("7".into(), fv, true)
        );
        assert_eq!(code_of(r#"[3, "7", "x"]"#), ("7".into(), fv, false));
        assert_eq!(code_of(r#"[4, "7"]"#), ("7".into(), fv, false));
    }

    #[test]
    fn payloads_are_decoded_strictly() {
        let boot = json!({"chargePointVendor": "V", "chargePointModel": "M"});
        let typed: BootNotificationRequest = decode_valid(&boot).unwrap();
        assert_eq!(typed.charge_point_vendor, "V");

        let missing = json!({"chargePointVendor": "V"});
        assert_eq!(
            decode_valid::<BootNotificationRequest>(&missing)
                .unwrap_err()
                .code,
            ErrorCode::ProtocolError
        );
        let wrong_type = json!({"chargePointVendor": 5, "chargePointModel": "M"});
        assert_eq!(
            decode_valid::<BootNotificationRequest>(&wrong_type)
                .unwrap_err()
                .code,
            ErrorCode::TypeConstraintViolation
        );
        let extra = json!({"chargePointVendor": "V", "chargePointModel": "M", "colour": "red"});
        assert_eq!(
            decode_valid::<BootNotificationRequest>(&extra)
                .unwrap_err()
                .code,
            ErrorCode::FormationViolation
        );
        let too_long = json!({"chargePointVendor": "V".repeat(21), "chargePointModel": "M"});
        assert_eq!(
            decode_valid::<BootNotificationRequest>(&too_long)
                .unwrap_err()
                .code,
            ErrorCode::TypeConstraintViolation
        );
        let null = json!({"chargePointVendor": "V", "chargePointModel": "M", "iccid": null});
        assert_eq!(
            decode_valid::<BootNotificationRequest>(&null)
                .unwrap_err()
                .code,
            ErrorCode::TypeConstraintViolation
        );
        let status = json!({"connectorId": 1, "errorCode": "NoError", "status": "Dancing"});
        assert_eq!(
            decode_valid::<StatusNotificationRequest>(&status)
                .unwrap_err()
                .code,
            ErrorCode::PropertyConstraintViolation
        );
        let negative = json!({"connectorId": -1, "errorCode": "NoError", "status": "Available"});
        assert_eq!(
            decode_valid::<StatusNotificationRequest>(&negative)
                .unwrap_err()
                .code,
            ErrorCode::TypeConstraintViolation,
            "connectorId is a non-negative integer"
        );
        let bad_time = json!({"connectorId": 1, "meterValue": [{"timestamp": "yesterday", "sampledValue": [{"value": "1"}]}]});
        assert_eq!(
            decode::<MeterValuesRequest>(&bad_time).unwrap_err().code,
            ErrorCode::TypeConstraintViolation
        );
        let nested_extra = json!({"connectorId": 1, "meterValue": [{"timestamp": "2026-11-27T12:00:00Z", "sampledValue": [{"value": "1", "colour": "red"}]}]});
        let err = decode::<MeterValuesRequest>(&nested_extra).unwrap_err();
        assert_eq!(err.code, ErrorCode::FormationViolation);
        assert!(
            err.description
                .contains("meterValue[0].sampledValue[0].colour"),
            "{err}"
        );
        assert_eq!(
            decode::<HeartbeatRequest>(&json!({"x": 1}))
                .unwrap_err()
                .code,
            ErrorCode::FormationViolation
        );
    }

    #[test]
    fn error_codes_round_trip() {
        for code in [
            ErrorCode::NotImplemented,
            ErrorCode::OccurenceConstraintViolation,
            ErrorCode::TypeConstraintViolation,
        ] {
            assert_eq!(ErrorCode::parse(code.as_str()), code);
        }
        assert_eq!(
            ErrorCode::parse("FormatViolation"),
            ErrorCode::FormationViolation
        );
        assert_eq!(ErrorCode::parse("Whatever"), ErrorCode::GenericError);
    }
}
