//! The heat-pump controller operations (`heatPump*`), one file per operation: discovery by
//! property, the controller's status, configuration and performance, and the changes a
//! customer makes on the controller (hush mode, flow temperature, zone modes, schedules, primary
//! sensors and display names).
//!
//! Every operation names an account and a controller EUID. The caller must be allowed to see the
//! account (KT-CT-1111 otherwise); an EUID that is unknown or belongs to another account is
//! OE-0315, so EUIDs cannot be probed. Every root field is nullable: a request that asks for
//! several of them gets each answer, or `null` beside its error, and never loses the others.
//!
//! Changes answer with a transaction id once the device has accepted them; the new value shows
//! in the next read.

mod bulk_update_zone_display_names;
mod controller_configuration;
mod controller_status;
mod controllers_at_location;
mod lifetime_performance;
mod live_performance;
mod set_hush_mode;
mod set_zone_mode;
mod set_zone_primary_sensor;
mod set_zone_schedules;
mod time_ranged_performance;
mod time_series_performance;
mod types;
mod update_flow_temperature;

use async_graphql::{Context, MergedObject};
use resiflex_devices::heat_pump::{
    self, ControlledHeatPump, HeatPumpError, MAX_BUCKETS, SeriesError,
};
use resiflex_domain::telemetry::Telemetry;

pub use bulk_update_zone_display_names::*;
pub use controller_configuration::*;
pub use controller_status::*;
pub use controllers_at_location::*;
pub use lifetime_performance::*;
pub use live_performance::*;
pub use set_hush_mode::*;
pub use set_zone_mode::*;
pub use set_zone_primary_sensor::*;
pub use set_zone_schedules::*;
pub use time_ranged_performance::*;
pub use time_series_performance::*;
pub use types::*;
pub use update_flow_temperature::*;

use super::{OperationErrors, OperationKind, api, protected, protected_mutation};
use crate::auth::access::account_for;
use crate::auth::authorise;
use crate::context::ApiContext;
use crate::errors::{ApiResult, ErrorCode, KrakenError};

const READ: &[ErrorCode] = &[ErrorCode::Unauthorized, ErrorCode::HeatPumpInvalidData];
const CHANGE: &[ErrorCode] = &[
    ErrorCode::Unauthorized,
    ErrorCode::HeatPumpInvalidData,
    ErrorCode::ProviderUnavailable,
];

pub const ERRORS: &[OperationErrors] = &[
    protected("heatPumpControllersAtLocation", OperationKind::Query, READ),
    protected("heatPumpControllerStatus", OperationKind::Query, READ),
    protected(
        "heatPumpControllerConfiguration",
        OperationKind::Query,
        READ,
    ),
    protected("heatPumpLivePerformance", OperationKind::Query, READ),
    protected("heatPumpLifetimePerformance", OperationKind::Query, READ),
    protected("heatPumpTimeRangedPerformance", OperationKind::Query, READ),
    protected("heatPumpTimeSeriesPerformance", OperationKind::Query, READ),
    protected_mutation("heatPumpSetHushMode", CHANGE),
    protected_mutation("heatPumpUpdateFlowTemperatureConfiguration", CHANGE),
    protected_mutation("heatPumpSetZoneMode", CHANGE),
    protected_mutation("heatPumpSetZoneSchedules", CHANGE),
    protected_mutation("heatPumpSetZonePrimarySensor", CHANGE),
    protected_mutation(
        "heatPumpBulkUpdateZoneDisplayNames",
        &[
            ErrorCode::Unauthorized,
            ErrorCode::HeatPumpInvalidData,
            ErrorCode::HeatPumpZoneDisplayName,
            ErrorCode::ProviderUnavailable,
        ],
    ),
];

/// The heat-pump queries.
#[derive(MergedObject, Default)]
pub struct HeatPumpsQuery(
    ControllersAtLocationQuery,
    ControllerStatusQuery,
    ControllerConfigurationQuery,
    LivePerformanceQuery,
    LifetimePerformanceQuery,
    TimeRangedPerformanceQuery,
    TimeSeriesPerformanceQuery,
);

/// The heat-pump mutations.
#[derive(MergedObject, Default)]
pub struct HeatPumpsMutation(
    SetHushModeMutation,
    UpdateFlowTemperatureMutation,
    SetZoneModeMutation,
    SetZoneSchedulesMutation,
    SetZonePrimarySensorMutation,
    BulkUpdateZoneDisplayNamesMutation,
);

/// OE-0315 with a message for people.
pub(crate) fn invalid(message: impl Into<String>) -> KrakenError {
    KrakenError::with_message(ErrorCode::HeatPumpInvalidData, message)
}

/// A range the meters cannot be read over, as the API reports it.
pub(crate) fn series_error(err: SeriesError) -> KrakenError {
    match err {
        SeriesError::EmptyRange => invalid("`endAt` must be after `startAt`."),
        SeriesError::TooManyBuckets => invalid(format!(
            "The range holds more than {MAX_BUCKETS} buckets; ask for a shorter range or a coarser grouping."
        )),
    }
}

fn store_error(err: impl std::fmt::Display) -> KrakenError {
    KrakenError::internal("heat pumps", &err)
}

/// Authorises the caller for the account and finds the account's controller with this EUID.
pub(crate) async fn controller_for<'a>(
    ctx: &Context<'a>,
    account_number: &str,
    euid: &str,
) -> ApiResult<(&'a ApiContext, ControlledHeatPump)> {
    let caller = authorise(ctx).await?;
    let api = api(ctx)?;
    let account = account_for(api, &caller, account_number, ErrorCode::Unauthorized).await?;
    let found = heat_pump::controller_on_account(&api.db, account.id, euid, api.clock.now())
        .await
        .map_err(store_error)?
        .ok_or_else(|| invalid(format!("No heat pump controller {euid:?} on this account.")))?;
    Ok((api, found))
}

/// The heat pump's latest reading (stored, or read once from its provider).
pub(crate) async fn latest(
    api: &ApiContext,
    pump: &ControlledHeatPump,
) -> ApiResult<Option<Telemetry>> {
    api.devices
        .latest_telemetry(&pump.device)
        .await
        .map_err(|err| KrakenError::internal("telemetry", &err))
}

/// The caller's controller and its latest reading; `None` before it has reported anything.
pub(crate) async fn latest_of(
    ctx: &Context<'_>,
    account_number: &str,
    euid: &str,
) -> ApiResult<Option<Telemetry>> {
    let (api, pump) = controller_for(ctx, account_number, euid).await?;
    latest(api, &pump).await
}

/// The time zone of the heat pump's property (UTC if it names none that is known).
pub(crate) async fn property_zone(
    api: &ApiContext,
    pump: &ControlledHeatPump,
) -> ApiResult<chrono_tz::Tz> {
    Ok(
        resiflex_store::accounts::property_by_id(&api.db, pump.device.property_id)
            .await
            .map_err(store_error)?
            .and_then(|p| p.time_zone.parse::<chrono_tz::Tz>().ok())
            .unwrap_or(chrono_tz::UTC),
    )
}

/// A change that failed, as the API reports it.
pub(crate) fn change_error(err: HeatPumpError) -> KrakenError {
    match err {
        HeatPumpError::Invalid(why) => invalid(why.to_string()),
        HeatPumpError::Unavailable(why) => KrakenError::with_message(
            ErrorCode::ProviderUnavailable,
            format!("Unable to get provider details: {why}."),
        ),
        HeatPumpError::Refused(why) => {
            invalid(format!("The heat pump did not accept the change: {why}."))
        }
        HeatPumpError::Store(err) => store_error(err),
    }
}

/// A root field's answer: its value, or `null` with its error added to the response, so the key
/// stays in `data` beside the other roots of the document.
pub(crate) fn answer<T>(ctx: &Context<'_>, result: ApiResult<Option<T>>) -> Option<T> {
    match result {
        Ok(value) => value,
        Err(err) => {
            let err: async_graphql::Error = err.into();
            ctx.add_error(ctx.set_error_path(err.into_server_error(ctx.item.pos)));
            None
        }
    }
}
