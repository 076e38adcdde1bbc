//! What happened: `completedDispatches` (an account's dispatches whose slot has ended, with the
//! energy the meter showed over each) and `chargingSessions` on `SmartFlexVehicle` and
//! `SmartFlexChargePoint` (plug-in periods with their energy, cost, states of charge and problem).
//! The control loop derives and stores both; these resolvers read them.
//!
//! `chargingSessions` lists sessions newest first. `after` (inclusive) and `before` (exclusive)
//! bound the sessions' start times, and `after` must be earlier than `before` (KT-CT-1605
//! otherwise). The cursors are the sessions' start times: the next, older page is
//! `before: pageInfo.endCursor`. `first` takes the newest of the range, `last` the oldest, at most
//! 100 either way.

use std::sync::Arc;

use async_graphql::{Context, Interface, Object, SimpleObject, Union};
use chrono::Utc;
use resiflex_domain::plan::DispatchKind;
use resiflex_store::devices::Device;
use resiflex_store::sessions::{self, ChargingSessionRecord, CompletedDispatch, problem_kind};
use rust_decimal::Decimal as RustDecimal;
use serde::Deserialize;

use super::dispatches::{SmartFlexDispatch, UpsideDispatchMetaType, UpsideDispatchType};
use super::{OperationErrors, OperationKind, api, protected as op};
use crate::auth::access::account_for;
use crate::auth::authorise;
use crate::connection::MAX_PAGE;
use crate::enums::{
    ChargingSessionType, EnergyUnit, PreferencesTargetType, SmartFlexChargingErrorCause,
    SmartFlexChargingTruncationCause, SmartFlexChargingType,
};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::scalars::{DateTime, Decimal};

pub const ERRORS: &[OperationErrors] = &[
    op(
        "completedDispatches",
        OperationKind::Query,
        &[
            ErrorCode::Unauthorized,
            ErrorCode::CompletedDispatchesUnavailable,
        ],
    ),
    op(
        "chargingSessions",
        OperationKind::Query,
        &[
            ErrorCode::InvalidInput,
            ErrorCode::ChargingSessionsUnavailable,
        ],
    ),
];

/// How many stored completed dispatches an account shows (before adjacent ones are merged).
const DISPATCH_LIMIT: i64 = 1_000;
/// How many sessions of a time range are looked at.
const SESSION_LIMIT: i64 = 10_000;

// ----------------------------------------------------------------------------------------------
// completedDispatches
// ----------------------------------------------------------------------------------------------

/// Merges a device's touching stretches of the same kind and location; `rows` oldest first.
fn merged(rows: Vec<CompletedDispatch>) -> Vec<CompletedDispatch> {
    let mut out: Vec<CompletedDispatch> = Vec::new();
    for row in rows {
        match out.last_mut() {
            Some(last)
                if last.device_id == row.device_id
                    && last.end_at == row.start_at
                    && last.kind == row.kind
                    && last.location == row.location =>
            {
                last.end_at = row.end_at;
                last.energy_wh += row.energy_wh;
            }
            _ => out.push(row),
        }
    }
    out
}

fn dispatches_unavailable(err: resiflex_store::StoreError) -> KrakenError {
    tracing::error!(error = %err, "completed dispatches could not be read");
    KrakenError::new(ErrorCode::CompletedDispatchesUnavailable)
}

#[derive(Default)]
pub struct SessionsQuery;

#[Object]
impl SessionsQuery {
    /// The account's dispatches whose slot has ended, newest first: when each ran, the energy the
    /// meter showed imported over it (`delta`, kWh, import negative), what kind of dispatch it was
    /// (`meta.source`) and where the device was (`meta.location`).
    async fn completed_dispatches(
        &self,
        ctx: &Context<'_>,
        account_number: String,
    ) -> ApiResult<Vec<UpsideDispatchType>> {
        let caller = authorise(ctx).await?;
        let api = api(ctx)?;
        let account = account_for(api, &caller, &account_number, ErrorCode::Unauthorized).await?;
        let mut rows =
            sessions::completed_dispatches_of_account(&api.db, account.id, DISPATCH_LIMIT)
                .await
                .map_err(dispatches_unavailable)?;
        rows.sort_by(|a, b| (&a.device_id, a.start_at).cmp(&(&b.device_id, b.start_at)));
        let mut shown: Vec<UpsideDispatchType> = merged(rows)
            .into_iter()
            .map(|row| UpsideDispatchType {
                start: row.start_at,
                end: row.end_at,
                delta_wh: -row.energy_wh,
                meta: UpsideDispatchMetaType {
                    source: DispatchKind::parse(&row.kind).map(|kind| kind.source().to_owned()),
                    location: Some(row.location),
                },
            })
            .collect();
        shown.sort_by_key(|d| std::cmp::Reverse(d.start));
        Ok(shown)
    }
}

// ----------------------------------------------------------------------------------------------
// chargingSessions
// ----------------------------------------------------------------------------------------------

/// An amount of energy.
#[derive(SimpleObject, Debug, Clone)]
pub struct Energy {
    pub value: Decimal,
    pub unit: EnergyUnit,
}

/// An amount of money in minor units (such as pence).
#[derive(SimpleObject, Debug, Clone)]
pub struct Money {
    pub amount: i64,
    pub currency: String,
}

/// A charging session's problem: an error, or a cut to the level it could reach.
#[derive(Union, Debug, Clone)]
pub enum SmartFlexChargingProblem {
    SmartFlexChargingError(SmartFlexChargingError),
    SmartFlexChargingTruncation(SmartFlexChargingTruncation),
}

/// Why the session did not deliver what was planned.
#[derive(SimpleObject, Debug, Clone)]
pub struct SmartFlexChargingError {
    pub cause: SmartFlexChargingErrorCause,
}

/// The level the session could reach was cut.
#[derive(SimpleObject, Debug, Clone)]
pub struct SmartFlexChargingTruncation {
    pub truncation_cause: SmartFlexChargingTruncationCause,
    /// What the session's first plan expected to reach, percent.
    pub original_achievable_state_of_charge: Option<i32>,
    /// What it could reach in the end, percent.
    pub achievable_state_of_charge: Option<i32>,
}

fn percent(value: Option<f64>) -> Option<i32> {
    value
        .filter(|v| v.is_finite())
        .map(|v| v.round().clamp(-100.0, 100.0) as i32)
}

/// A session as stored, shared by its GraphQL objects.
#[derive(Debug)]
struct SessionView(ChargingSessionRecord);

impl SessionView {
    fn energy_added(&self) -> Energy {
        Energy {
            value: Decimal(
                RustDecimal::new(self.0.energy_added_wh, 3)
                    .round_dp(2)
                    .normalize(),
            ),
            unit: EnergyUnit::KilowattHour,
        }
    }

    fn cost(&self) -> Option<Money> {
        Some(Money {
            amount: self.0.cost_minor?,
            currency: self.0.currency.clone()?,
        })
    }

    fn state_of_charge_change(&self) -> Option<i32> {
        let (start, end) = (self.0.start_soc_pct?, self.0.final_soc_pct?);
        percent(Some(end - start))
    }
}

/// Writes the fields every session object has, then the object's own.
macro_rules! session_object {
    ($(#[$doc:meta])* $ty:ident { $($extra:tt)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $ty(Arc<SessionView>);

        #[Object]
        impl $ty {
            /// When the vehicle was plugged in.
            async fn start(&self) -> Option<DateTime> {
                Some(DateTime(self.0.0.start_at))
            }

            /// When it was unplugged; null while the session goes on.
            async fn end(&self) -> Option<DateTime> {
                self.0.0.end_at.map(DateTime)
            }

            /// The energy imported in the session.
            async fn energy_added(&self) -> Option<Energy> {
                Some(self.0.energy_added())
            }

            /// What the energy cost at the tariff's rates.
            async fn cost(&self) -> Option<Money> {
                self.0.cost()
            }

            /// Percentage points gained (negative when the battery lost charge).
            async fn state_of_charge_change(&self) -> Option<i32> {
                self.0.state_of_charge_change()
            }

            /// The state of charge at the end (so far), percent.
            async fn state_of_charge_final(&self) -> Option<i32> {
                percent(self.0.0.final_soc_pct)
            }

            $($extra)*
        }
    };
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredDispatch {
    start: chrono::DateTime<Utc>,
    end: chrono::DateTime<Utc>,
    kind: DispatchKind,
    energy_wh: i64,
}

session_object! {
    /// A charging session at home under ResiFlex's control.
    SmartFlexChargingSession {
        /// SMART, or BOOST when the customer boosted in it.
        #[graphql(name = "type")]
        async fn kind(&self) -> SmartFlexChargingType {
            if self.0.0.session_type == "BOOST" {
                SmartFlexChargingType::Boost
            } else {
                SmartFlexChargingType::Smart
            }
        }

        async fn target_type(&self) -> PreferencesTargetType {
            self.0.0.target_type.parse().unwrap_or(PreferencesTargetType::AbsoluteStateOfCharge)
        }

        /// The dispatches of the session, with the energy each drew.
        async fn dispatches(&self) -> Vec<SmartFlexDispatch> {
            serde_json::from_value::<Vec<StoredDispatch>>(self.0.0.dispatches.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|d| SmartFlexDispatch {
                    start: DateTime(d.start),
                    end: DateTime(d.end),
                    kind: match d.kind {
                        DispatchKind::Smart => SmartFlexChargingType::Smart,
                        DispatchKind::Boost => SmartFlexChargingType::Boost,
                        DispatchKind::Test => SmartFlexChargingType::Test,
                    },
                    energy_added_kwh: Some(Decimal(RustDecimal::new(d.energy_wh, 3).normalize())),
                })
                .collect()
        }

        /// What went wrong, if anything.
        async fn problems(&self) -> Option<SmartFlexChargingProblem> {
            let record = &self.0.0;
            let cause = record.problem_cause.as_deref()?;
            match record.problem_kind.as_deref()? {
                problem_kind::ERROR => Some(SmartFlexChargingProblem::SmartFlexChargingError(
                    SmartFlexChargingError { cause: cause.parse().ok()? },
                )),
                problem_kind::TRUNCATION => Some(SmartFlexChargingProblem::SmartFlexChargingTruncation(
                    SmartFlexChargingTruncation {
                        truncation_cause: cause.parse().ok()?,
                        original_achievable_state_of_charge: percent(record.original_achievable_soc_pct),
                        achievable_state_of_charge: percent(record.achievable_soc_pct),
                    },
                )),
                _ => None,
            }
        }
    }
}

session_object! {
    /// A charging session away from home, at a public charger.
    PublicChargingSession {
        /// Where the charger is, when known.
        async fn location(&self) -> Option<String> {
            None
        }

        /// The charge point operator's logo, when known.
        async fn operator_image_url(&self) -> Option<String> {
            None
        }
    }
}

/// A charging session of a vehicle or charger.
// Several fields share a type, which the lint mistakes for repeated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface, Debug, Clone)]
#[graphql(
    name = "DeviceChargingSession",
    field(
        name = "start",
        ty = "Option<DateTime>",
        desc = "When the vehicle was plugged in."
    ),
    field(
        name = "end",
        ty = "Option<DateTime>",
        desc = "When it was unplugged; null while the session goes on."
    ),
    field(
        name = "energy_added",
        ty = "Option<Energy>",
        desc = "The energy imported in the session."
    ),
    field(
        name = "cost",
        ty = "Option<Money>",
        desc = "What the energy cost at the tariff's rates."
    ),
    field(
        name = "state_of_charge_change",
        ty = "Option<i32>",
        desc = "Percentage points gained (negative when the battery lost charge)."
    ),
    field(
        name = "state_of_charge_final",
        ty = "Option<i32>",
        desc = "The state of charge at the end (so far), percent."
    )
)]
pub enum DeviceChargingSession {
    SmartFlexChargingSession(SmartFlexChargingSession),
    PublicChargingSession(PublicChargingSession),
}

impl DeviceChargingSession {
    fn of(record: ChargingSessionRecord) -> DeviceChargingSession {
        let public = record.session_type == "PUBLIC";
        let view = Arc::new(SessionView(record));
        if public {
            PublicChargingSession(view).into()
        } else {
            SmartFlexChargingSession(view).into()
        }
    }
}

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

/// The device's sessions as a connection (see the module documentation).
pub(crate) async fn charging_sessions(
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

    use chrono::{Duration, TimeZone};

    use super::*;

    fn row(minute: i64, length: i64, kind: &str, wh: i64) -> CompletedDispatch {
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 1, 0, 0).unwrap() + Duration::minutes(minute);
        CompletedDispatch {
            device_id: "d".into(),
            start_at: t,
            end_at: t + Duration::minutes(length),
            kind: kind.into(),
            energy_wh: wh,
            location: "AT_HOME".into(),
            plan_version: 1,
            recorded_at: t,
        }
    }

    #[test]
    fn touching_stretches_of_the_same_source_are_merged() {
        let merged = merged(vec![
            row(0, 30, "SMART", 3_000),
            row(30, 30, "SMART", 3_370),
            row(60, 30, "BOOST", 1_000),
            row(120, 30, "BOOST", 1_000),
        ]);
        assert_eq!(merged.len(), 3);
        assert_eq!(merged[0].energy_wh, 6_370);
        assert_eq!(merged[0].end_at - merged[0].start_at, Duration::hours(1));
    }

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
