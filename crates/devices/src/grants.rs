//! The vendor grant behind a device: the one lookup every caller of a provider uses, and giving it
//! up when the last device that used it is retired.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use resiflex_domain::device::Lifecycle;
use resiflex_providers::{DeviceProvider, Grant, ProviderError, ProviderRegistry};
use resiflex_store::devices::{self as store, Device};
use resiflex_store::{Db, StoreError};

/// The grant with this id as the provider takes it, if it is still in force.
pub async fn grant(db: &Db, grant_id: i64) -> Result<Option<Grant>, StoreError> {
    Ok(store::live_grant(db, grant_id).await?.map(|grant| Grant {
        subject: grant.subject,
        secret: grant.secret,
    }))
}

/// The device's grant, if it has one in force.
pub async fn live_grant(db: &Db, device: &Device) -> Result<Option<Grant>, StoreError> {
    match device.grant_id {
        Some(id) => grant(db, id).await,
        None => Ok(None),
    }
}

/// Why a device's provider cannot be called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error("the device's provider is not available")]
    NoProvider,
    #[error("the device has no vendor authorisation")]
    NoGrant,
    #[error("the device's vendor authorisation was revoked")]
    Revoked,
}

/// A device's provider and the grant to call it with.
pub struct Link {
    pub provider: Arc<dyn DeviceProvider>,
    pub grant: Grant,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The grant's secret stays out of logs.
        f.debug_struct("Link")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// The provider of a device and its grant in force.
pub async fn link(
    db: &Db,
    providers: &ProviderRegistry,
    device: &Device,
) -> Result<Result<Link, Unavailable>, StoreError> {
    let Some(provider) = providers.get(device.provider) else {
        return Ok(Err(Unavailable::NoProvider));
    };
    let Some(grant_id) = device.grant_id else {
        return Ok(Err(Unavailable::NoGrant));
    };
    Ok(match grant(db, grant_id).await? {
        Some(grant) => Ok(Link { provider, grant }),
        None => Err(Unavailable::Revoked),
    })
}

/// Why a grant could not be given up.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("the device's provider is not available")]
    NoProvider,
    #[error("the device's provider answered: {0}")]
    Provider(ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Gives up the vendor grant behind a device when no other device that is not retired uses it: the
/// vendor is told first, then the grant is revoked. A grant the vendor no longer honours counts as
/// given up.
pub async fn release(
    db: &Db,
    providers: &ProviderRegistry,
    device: &Device,
    now: DateTime<Utc>,
) -> Result<(), ReleaseError> {
    let Some(grant_id) = device.grant_id else {
        return Ok(());
    };
    let Some(grant) = store::live_grant(db, grant_id).await? else {
        return Ok(());
    };
    let shared = store::devices_of_account(db, grant.account_id)
        .await?
        .into_iter()
        .any(|other| {
            other.id != device.id
                && other.grant_id == Some(grant_id)
                && other.lifecycle != Lifecycle::Retired
        });
    if shared {
        return Ok(());
    }
    let provider = providers
        .get(device.provider)
        .ok_or(ReleaseError::NoProvider)?;
    let credentials = Grant {
        subject: grant.subject,
        secret: grant.secret,
    };
    match provider.deauthorize(&credentials, now).await {
        Ok(()) | Err(ProviderError::AuthorisationExpired) => {}
        Err(err) => return Err(ReleaseError::Provider(err)),
    }
    match store::revoke_grant(db, grant_id, now).await {
        Ok(()) | Err(StoreError::NotFound) => Ok(()),
        Err(err) => Err(err.into()),
    }
}
