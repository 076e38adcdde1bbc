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
//!
//! One file per operation; `charging_session` holds the session objects `chargingSessions` lists.

mod charging_session;
mod charging_sessions;
mod completed_dispatches;

use async_graphql::{Context, Object};

pub use charging_session::{
    DeviceChargingSession, Energy, Money, PublicChargingSession, SmartFlexChargingError,
    SmartFlexChargingProblem, SmartFlexChargingSession, SmartFlexChargingTruncation,
};
pub use charging_sessions::{
    DateTimePageInfo, DeviceChargingSessionConnection, DeviceChargingSessionEdge,
};
pub(crate) use charging_sessions::{SessionArgs, run as charging_sessions};

use super::dispatches::UpsideDispatchType;
use super::{OperationErrors, OperationKind, protected as op};
use crate::errors::{ApiResult, ErrorCode};

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
        completed_dispatches::run(ctx, account_number).await
    }
}
