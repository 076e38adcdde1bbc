//! `chargingSessions` on `SmartFlexVehicle` and `SmartFlexChargePoint`: a device's sessions as a
//! connection (see the module documentation of `sessions`).

use async_graphql::{Context, SimpleObject};
use chrono::Utc;
use resiflex_store::devices::Device;
use resiflex_store::sessions;

use super::charging_session::DeviceChargingSession;
use crate::connection::MAX_PAGE;
use crate::enums::ChargingSessionType;
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::api;
use crate::scalars::DateTime;

/// How many sessions of a time range are looked at.
const SESSION_LIMIT: i64 = 10_000;

#[derive(SimpleObject, Debug, Clone)]
pub struct DeviceChargingSessionEdge {
    /// The session's start.
    pub cursor: DateTime,
    pub node: Option<DeviceChargingSession>,
}

/// Paging through sessions by their start times.
#[derive(SimpleObject, Debug, Clone)]
pub struct DateTimePageInfo {
    pub start_cursor: Option<DateTime>,
    pub end_cursor: Option<DateTime>,
    /// Whether older sessions are in the range.
    pub has_next_page: bool,
    /// Whether newer sessions are in the range.
    pub has_previous_page: bool,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct DeviceChargingSessionConnection {
    pub edges: Vec<DeviceChargingSessionEdge>,
    pub page_info: DateTimePageInfo,
}

/// The arguments of `chargingSessions`.
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionArgs {
    pub before: Option<DateTime>,
    pub after: Option<DateTime>,
    pub session_types: Option<Vec<Option<ChargingSessionType>>>,
    pub first: Option<i32>,
    pub last: Option<i32>,
}

fn invalid(message: &str) -> KrakenError {
    KrakenError::with_message(ErrorCode::InvalidInput, message)
}

fn page_size(value: Option<i32>, name: &str) -> ApiResult<Option<usize>> {
    match value {
        None => Ok(None),
        Some(n) if n < 0 => Err(invalid(&format!("`{name}` must not be negative."))),
        Some(n) => Ok(Some(usize::try_from(n).unwrap_or(MAX_PAGE).min(MAX_PAGE))),
    }
}

/// Which part of `total` sessions (newest first) the page holds: `offset .. offset + len`.
fn window(total: usize, first: Option<usize>, last: Option<usize>) -> (usize, usize) {
    match (first, last) {
        (Some(first), _) => (0, first.min(total)),
        (None, Some(last)) => {
            let len = last.min(total);
            (total - len, len)
        }
        (None, None) => (0, MAX_PAGE.min(total)),
    }
}

pub(crate) async fn run(
    ctx: &Context<'_>,
    device: &Device,
    args: SessionArgs,
) -> ApiResult<DeviceChargingSessionConnection> {
    let api = api(ctx)?;
    let (first, last) = (
        page_size(args.first, "first")?,
        page_size(args.last, "last")?,
    );
    // Open bounds are the widest instants both databases compare correctly.
    let from = args
        .after
        .map_or(chrono::DateTime::<Utc>::UNIX_EPOCH, |t| t.0);
    let to = args.before.map_or_else(
        || {
            chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map_or(chrono::DateTime::<Utc>::UNIX_EPOCH, |t| t.and_utc())
        },
        |t| t.0,
    );
    if from >= to {
        return Err(invalid("`after` must be earlier than `before`."));
    }
    let types: Vec<&str> = args
        .session_types
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .map(ChargingSessionType::as_str)
        .collect();
    let mut found = sessions::sessions_between(
        &api.db,
        &device.id,
        from,
        to,
        &types,
        SESSION_LIMIT,
    )
    .await
    .map_err(|err| {
        tracing::error!(device = %device.id, error = %err, "charging sessions could not be read");
        KrakenError::new(ErrorCode::ChargingSessionsUnavailable)
    })?;
    found.reverse();
    let total = found.len();
    let (offset, len) = window(total, first, last);
    let edges: Vec<DeviceChargingSessionEdge> = found
        .into_iter()
        .skip(offset)
        .take(len)
        .map(|record| DeviceChargingSessionEdge {
            cursor: DateTime(record.start_at),
            node: Some(DeviceChargingSession::of(record)),
        })
        .collect();
    Ok(DeviceChargingSessionConnection {
        page_info: DateTimePageInfo {
            start_cursor: edges.first().map(|e| e.cursor),
            end_cursor: edges.last().map(|e| e.cursor),
            has_next_page: offset + len < total,
            has_previous_page: offset > 0,
        },
        edges,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn pages_take_the_newest_with_first_and_the_oldest_with_last() {
        assert_eq!(window(10, Some(3), None), (0, 3));
        assert_eq!(window(10, None, Some(3)), (7, 3));
        assert_eq!(window(2, Some(5), None), (0, 2));
        assert_eq!(window(250, None, None), (0, MAX_PAGE));
        assert!(page_size(Some(-1), "first").is_err());
        assert_eq!(page_size(Some(1_000), "first").unwrap(), Some(MAX_PAGE));
    }
}
