//! The device registry: `devices`, the `SmartFlexDeviceInterface` objects every device operation
//! answers with, and what those operations share: finding a device the caller may see, its latest
//! telemetry, its provider and grant, and saving it against concurrent changes.
//!
//! A device is shown as the object of its kind: `SmartFlexVehicle`, `SmartFlexChargePoint`,
//! `SmartFlexHeatPump`, `SmartFlexBattery`, `SmartFlexInverter`, or the generic `SmartFlexDevice`
//! (thermostats). Live values (state of charge, power, temperatures) come from the device's latest
//! stored telemetry; a device that has none yet is read once from its provider, and the reading is
//! stored.
//!
//! Visibility: an unknown device and one on an account the caller may not see both answer KT-CT-4301,
//! so device ids cannot be probed.

use std::str::FromStr;
use std::sync::Arc;

use async_graphql::{Context, ID, Interface, Object, SimpleObject};
use chrono::Weekday;
use resiflex_domain::device::{DeviceKind, DeviceState, Lifecycle, Provider};
use resiflex_domain::preferences::{
    PreferenceMode, PreferenceSettings, PreferenceUnit, Preferences, weekday_name,
};
use resiflex_providers::{Connection, Telemetry};
use resiflex_store::StoreError;
use resiflex_store::accounts;
use resiflex_store::devices::{self as store, Device};
use rust_decimal::Decimal as RustDecimal;

use super::{OperationErrors, OperationKind, api};
use crate::auth::access::{account_for, may_see_account};
use crate::auth::{Caller, authorise};
use crate::context::ApiContext;
use crate::enums::{
    ConnectionStatus, DayOfWeek, FlexGridExportStatus, FlexIsChargingDurationCapped,
    HeatPumpActivity, HeatPumpMode, KrakenFlexDeviceTypes, PreferencesModeChoices,
    PreferencesTargetType, PreferencesUnitChoices, ProviderChoices, SmartFlexDeviceLifecycleStatus,
    SmartFlexDeviceState, TestDispatchAssessmentFailureReason, ZoneType,
};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::scalars::{DateTime, Decimal, Time};

mod inverter;
mod objects;
mod query;
mod settings;
mod status;
mod view;

pub use inverter::*;
pub use objects::*;
pub use query::*;
pub use settings::*;
pub use status::*;
pub(crate) use view::*;

pub const ERRORS: &[OperationErrors] = &[OperationErrors {
    name: "devices",
    kind: OperationKind::Query,
    codes: &[ErrorCode::Unauthorized],
    protected: true,
}];

/// How many alerts a device shows, newest first.
const ALERT_LIMIT: i64 = 20;

// ----------------------------------------------------------------------------------------------
// Shared by the device operations.
// ----------------------------------------------------------------------------------------------

pub(crate) fn internal(context: &str, err: &dyn std::fmt::Display) -> KrakenError {
    KrakenError::internal(context, err)
}

fn store_error(err: StoreError) -> KrakenError {
    internal("devices", &err)
}

/// KT-CT-4301, the one answer for a device that does not exist or that the caller may not see.
pub(crate) fn device_not_found() -> KrakenError {
    KrakenError::with_message(
        ErrorCode::DeviceNotFound,
        "Unable to find device for given account.",
    )
}

/// The device with this id, if it exists and the caller may see its account; KT-CT-4301 otherwise.
pub(crate) async fn visible_device(
    api: &ApiContext,
    caller: &Caller,
    device_id: &str,
) -> ApiResult<Device> {
    let device_id = device_id.trim();
    if device_id.is_empty() {
        return Err(device_not_found());
    }
    let device = store::device_by_id(&api.db, device_id)
        .await
        .map_err(store_error)?
        .ok_or_else(device_not_found)?;
    let account = accounts::account_by_id(&api.db, device.account_id)
        .await
        .map_err(store_error)?
        .ok_or_else(device_not_found)?;
    if may_see_account(api, caller, &account).await? {
        Ok(device)
    } else {
        Err(device_not_found())
    }
}

/// Authorises the caller and finds the device they name (KT-CT-4301 if they may not see it).
pub(crate) async fn device_for<'a>(
    ctx: &Context<'a>,
    device_id: &str,
) -> ApiResult<(&'a ApiContext, Device)> {
    let caller = authorise(ctx).await?;
    let api = api(ctx)?;
    let device = visible_device(api, &caller, device_id).await?;
    Ok((api, device))
}

/// The `ProviderChoices` value of a provider (the two lists are the same, see the domain's tests).
pub(crate) fn provider_choice(provider: Provider) -> ApiResult<ProviderChoices> {
    named("provider", provider.as_str())
}

/// The device as the API shows it, with its stored telemetry.
pub(crate) async fn respond(
    api: &ApiContext,
    device: Device,
) -> ApiResult<SmartFlexDeviceInterface> {
    let telemetry = api
        .devices
        .latest_telemetry(&device)
        .await
        .map_err(|err| internal("telemetry", &err))?;
    let view = DeviceView::new(api, device, telemetry);
    Ok(SmartFlexDeviceInterface::from_view(Arc::new(view)))
}

/// A value of a GraphQL enum from the same name stored in the database.
fn named<E: FromStr>(what: &str, text: &str) -> ApiResult<E> {
    text.parse().map_err(|_| internal(what, &text))
}

/// A number of thousandths (W for kW, Wh for kWh) as a `Decimal` with at least one decimal place.
fn thousandths(value: i64) -> Decimal {
    with_a_decimal_place(RustDecimal::new(value, 3))
}

fn with_a_decimal_place(value: RustDecimal) -> Decimal {
    let mut decimal = value.normalize();
    if decimal.scale() == 0 {
        decimal.rescale(1);
    }
    Decimal(decimal)
}

/// A measured value (percent, degrees) as a `Decimal`, to two decimal places at most.
fn measured(value: f64) -> Option<Decimal> {
    if !value.is_finite() {
        return None;
    }
    RustDecimal::from_str(&format!("{:.2}", value))
        .ok()
        .map(with_a_decimal_place)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use chrono::{TimeZone, Utc};

    use super::*;

    fn telemetry(power_w: i64, solar: Option<i64>, load: Option<i64>) -> Telemetry {
        Telemetry {
            power_w,
            plugged_in: None,
            at_home: None,
            solar_power_w: solar,
            site_consumption_w: load,
            active: true,
            ..Telemetry::vehicle_at_home(
                Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap(),
                55.456,
            )
        }
    }

    #[test]
    fn inverter_power_flows_balance() {
        // 3 kW solar, 1 kW load, battery charging at 1.5 kW: 0.5 kW exported.
        let t = inverter_telemetry(&telemetry(-500, Some(3_000), Some(1_000)));
        assert_eq!(t.grid.power_in_kw.0.to_string(), "-0.5");
        assert_eq!(t.site.export_in_kw.0.to_string(), "0.5");
        assert_eq!(t.battery.power_in_kw.unwrap().0.to_string(), "-1.5");
        assert_eq!(t.inverter.power_in_kw.unwrap().0.to_string(), "1.5");
        assert_eq!(t.solar.power_in_kw.unwrap().0.to_string(), "3.0");
        assert_eq!(t.battery.state_of_charge.unwrap().0.to_string(), "55.46");
        // Evening: no solar, 2 kW load, battery gives 1.2 kW, grid 0.8 kW.
        let t = inverter_telemetry(&telemetry(800, Some(0), Some(2_000)));
        assert_eq!(t.battery.power_in_kw.unwrap().0.to_string(), "1.2");
        assert_eq!(t.site.export_in_kw.0.to_string(), "0.0");
    }

    #[test]
    fn decimals_have_a_decimal_place() {
        assert_eq!(thousandths(11_000).0.to_string(), "11.0");
        assert_eq!(thousandths(7_400).0.to_string(), "7.4");
        assert_eq!(measured(80.0).unwrap().0.to_string(), "80.0");
        assert_eq!(measured(20.5).unwrap().0.to_string(), "20.5");
        assert!(measured(f64::NAN).is_none());
    }
}
