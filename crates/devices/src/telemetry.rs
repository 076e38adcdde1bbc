//! A device's latest reading: the stored one, or one read from its provider now and kept.

use chrono::{DateTime, Utc};
use resiflex_domain::device::Lifecycle;
use resiflex_domain::telemetry::Telemetry;
use resiflex_providers::{DeviceProvider, ProviderRegistry};
use resiflex_store::devices::Device;
use resiflex_store::{Db, StoreError, telemetry};

use crate::grants;

/// Reads the device through its provider now and keeps the reading as its latest; `None` when the
/// device has no provider or grant in force, or does not answer (that is not an error).
pub async fn read_now(
    db: &Db,
    providers: &ProviderRegistry,
    device: &Device,
    now: DateTime<Utc>,
) -> Result<Option<Telemetry>, StoreError> {
    match providers.get(device.provider) {
        Some(provider) => read_through(db, provider.as_ref(), device, now).await,
        None => Ok(None),
    }
}

/// [`read_now`] through a provider at hand (the sandbox demo registers before a registry exists).
pub async fn read_through(
    db: &Db,
    provider: &dyn DeviceProvider,
    device: &Device,
    now: DateTime<Utc>,
) -> Result<Option<Telemetry>, StoreError> {
    let Some(grant) = grants::live_grant(db, device).await? else {
        return Ok(None);
    };
    match provider
        .telemetry(&grant, &device.integration_device_id, now)
        .await
    {
        Ok(reading) => {
            telemetry::save_latest(db, &device.id, &reading).await?;
            Ok(Some(reading))
        }
        Err(err) => {
            tracing::info!(device = %device.id, error = %err, "no telemetry from the provider");
            Ok(None)
        }
    }
}

/// The device's latest reading: the stored one, or, when there is none yet (and the device is not
/// retired), one read from the provider now and stored.
pub async fn latest(
    db: &Db,
    providers: &ProviderRegistry,
    device: &Device,
    now: DateTime<Utc>,
) -> Result<Option<Telemetry>, StoreError> {
    if let Some(reading) = telemetry::latest(db, &device.id).await? {
        return Ok(Some(reading));
    }
    if device.lifecycle == Lifecycle::Retired {
        return Ok(None);
    }
    read_now(db, providers, device, now).await
}
