//! Heat-pump controller use cases: finding an account's controllers, their status and
//! performance from stored telemetry ([`status`], [`performance`]), and changes (hush mode, flow
//! temperature, zone modes and schedules) that are validated, sent to the device's provider and
//! kept once the device has accepted them ([`changes`]).
//!
//! Every heat pump has one controller, created with the standard configuration the first time it
//! is looked at, and addressed by an EUID derived from the device.

pub mod changes;
pub mod performance;
pub mod status;

use chrono::{DateTime, Utc};
use resiflex_domain::device::DeviceKind;
use resiflex_domain::heat_controller::{HeatControllerConfiguration, HeatControllerError};
use resiflex_providers::ProviderError;
use resiflex_store::devices::{self as store, Device};
use resiflex_store::heat_pumps::{self, HeatPumpController};
use resiflex_store::{Db, StoreError};

pub use changes::*;
pub use performance::*;
pub use status::*;

use crate::grants::Unavailable;

/// Why a controller operation failed.
#[derive(Debug, thiserror::Error)]
pub enum HeatPumpError {
    /// The change breaks the controller's rules.
    #[error(transparent)]
    Invalid(#[from] HeatControllerError),
    /// The device's provider cannot be called.
    #[error("Unable to get provider details: {0}.")]
    Unavailable(Unavailable),
    /// The provider refused the change or did not answer; nothing was changed.
    #[error("The heat pump did not accept the change: {0}.")]
    Refused(ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A heat pump together with its controller.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlledHeatPump {
    pub device: Device,
    pub controller: HeatPumpController,
}

/// The controller of a heat-pump device, created with the standard configuration on first use.
pub async fn controller(
    db: &Db,
    device: &Device,
    now: DateTime<Utc>,
) -> Result<HeatPumpController, StoreError> {
    match heat_pumps::controller_of_device(db, &device.id).await? {
        Some(found) => Ok(found),
        None => {
            heat_pumps::save_configuration(
                db,
                &device.id,
                &HeatControllerConfiguration::default(),
                now,
            )
            .await
        }
    }
}

/// Whether a device has a controller: a heat pump that has not been removed.
fn controlled(device: &Device) -> bool {
    device.kind == DeviceKind::HeatPump && device.retired_at.is_none()
}

/// The heat pumps of an account at one property, with their controllers, oldest first.
pub async fn controllers_at_property(
    db: &Db,
    account_id: i64,
    property_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<ControlledHeatPump>, StoreError> {
    let mut out = Vec::new();
    for device in store::devices_of_account(db, account_id).await? {
        if controlled(&device) && device.property_id == property_id {
            let controller = controller(db, &device, now).await?;
            out.push(ControlledHeatPump { device, controller });
        }
    }
    Ok(out)
}

/// The heat pump of an account whose controller has this EUID; `None` for an unknown EUID and for
/// one on another account alike.
pub async fn controller_on_account(
    db: &Db,
    account_id: i64,
    euid: &str,
    now: DateTime<Utc>,
) -> Result<Option<ControlledHeatPump>, StoreError> {
    let euid = euid.trim().to_ascii_uppercase();
    if euid.is_empty() {
        return Ok(None);
    }
    // Controllers are created on first sight, so look at the account's heat pumps rather than
    // only at the stored controllers.
    for device in store::devices_of_account(db, account_id).await? {
        if controlled(&device) && heat_pumps::euid_for_device(&device.id) == euid {
            let controller = controller(db, &device, now).await?;
            return Ok(Some(ControlledHeatPump { device, controller }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use resiflex_domain::device::Provider;
    use resiflex_store::testing::{TestDb, household, vehicle, vehicle_fixture};

    #[tokio::test]
    async fn controllers_are_found_by_property_and_by_euid_on_their_account_only() {
        let test = TestDb::new().await;
        let now = Utc::now();
        let car = vehicle_fixture(&test.db, "bob@example.com", "ev-1").await;
        assert!(
            controllers_at_property(&test.db, car.account_id, car.property_id, now)
                .await
                .unwrap()
                .is_empty(),
            "a car has no controller"
        );
        let home = household(&test.db, "ada@example.com", now).await;
        let device = Device {
            kind: DeviceKind::HeatPump,
            ..vehicle(&home, "hp-1", Provider::Daikin, "daikin-hp-1", now)
        };
        store::insert_device(&test.db, &device).await.unwrap();
        let found = controllers_at_property(&test.db, device.account_id, device.property_id, now)
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        let euid = found[0].controller.euid.clone();
        let same = controller_on_account(&test.db, device.account_id, &euid.to_lowercase(), now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(same.device.id, device.id);
        assert_eq!(
            controller_on_account(&test.db, car.account_id, &euid, now)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            controller_on_account(&test.db, device.account_id, "", now)
                .await
                .unwrap(),
            None
        );
        assert!(
            controllers_at_property(&test.db, device.account_id, device.property_id + 99, now)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
