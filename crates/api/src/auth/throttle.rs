//! Throttling of failed sign-ins, per identity (an email address) and per client address. Failures
//! are kept in the database, so every server sharing it counts them together and a restart does not
//! reset them.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use resiflex_store::{Db, identity as store};

use crate::errors::{ErrorCode, KrakenError};

/// How far back failures count.
pub const WINDOW_MINUTES: i64 = 15;
/// Failed sign-ins allowed per identity within the window.
pub const MAX_PER_IDENTITY: i64 = 5;
/// Failed sign-ins allowed per client address within the window.
pub const MAX_PER_ADDRESS: i64 = 30;

const IDENTITY: &str = "identity";
const ADDRESS: &str = "address";

fn window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::minutes(WINDOW_MINUTES)
}

fn internal(err: resiflex_store::StoreError) -> KrakenError {
    KrakenError::internal("sign-in throttle", &err)
}

/// Refuses with KT-CT-1199 when the identity or the address has failed too often lately.
pub async fn check(
    db: &Db,
    identity: Option<&str>,
    address: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), KrakenError> {
    let since = window_start(now);
    if let Some(identity) = identity
        && store::count_sign_in_failures(db, IDENTITY, identity, since)
            .await
            .map_err(internal)?
            >= MAX_PER_IDENTITY
    {
        return Err(too_many());
    }
    if let Some(address) = address
        && store::count_sign_in_failures(db, ADDRESS, &address.to_string(), since)
            .await
            .map_err(internal)?
            >= MAX_PER_ADDRESS
    {
        return Err(too_many());
    }
    Ok(())
}

fn too_many() -> KrakenError {
    KrakenError::with_message(
        ErrorCode::TooManyRequests,
        format!("Too many failed sign-ins. Try again in {WINDOW_MINUTES} minutes."),
    )
}

/// Records a failed sign-in against the identity and the address.
pub async fn failed(
    db: &Db,
    identity: Option<&str>,
    address: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), KrakenError> {
    let forget = window_start(now);
    if let Some(identity) = identity {
        store::record_sign_in_failure(db, IDENTITY, identity, now, forget)
            .await
            .map_err(internal)?;
    }
    if let Some(address) = address {
        store::record_sign_in_failure(db, ADDRESS, &address.to_string(), now, forget)
            .await
            .map_err(internal)?;
    }
    Ok(())
}

/// Forgets an identity's failures once it signs in.
pub async fn succeeded(db: &Db, identity: Option<&str>) -> Result<(), KrakenError> {
    if let Some(identity) = identity {
        store::clear_sign_in_failures(db, IDENTITY, identity)
            .await
            .map_err(internal)?;
    }
    Ok(())
}
