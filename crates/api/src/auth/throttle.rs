//! Sign-in throttling and the password pool, as the API uses them (the rules live in
//! `resiflex_credentials::throttle`, shared with the OCPP endpoint). An attempt is reserved in the
//! database before any secret is checked, so concurrent guesses cannot exceed a limit:
//!
//! - an email from one client address: `sign_in.max_failures_per_identity_and_address` (5) failed
//!   passwords per window;
//! - an email from every address together: `sign_in.max_failures_per_identity` (20), except from
//!   addresses that signed in as that email before, so the owner is not locked out by others;
//! - a client address, whatever it presents (passwords, API keys, organisation keys, refresh tokens,
//!   pre-signed keys): `sign_in.max_failures_per_address` (30).
//!
//! Past a limit, and when the password pool is full, the answer is KT-CT-1199.

use resiflex_credentials::throttle::Who;
use resiflex_credentials::{Attempt, PoolError, ThrottleError};

use crate::context::{ApiContext, RequestMeta};
use crate::errors::{ErrorCode, KrakenError};

fn internal(err: resiflex_store::StoreError) -> KrakenError {
    KrakenError::internal("sign-in throttle", &err)
}

fn too_many(api: &ApiContext) -> KrakenError {
    let minutes = api.sign_in.throttle.settings().window_minutes;
    KrakenError::with_message(
        ErrorCode::TooManyRequests,
        format!("Too many failed sign-ins. Try again in {minutes} minutes."),
    )
}

/// The answer when the password pool is full.
pub fn busy() -> KrakenError {
    KrakenError::with_message(
        ErrorCode::TooManyRequests,
        "The server is busy checking other sign-ins. Try again in a moment.",
    )
}

/// Reserves a sign-in attempt for `identity` (an email, `email:...`, or none for random secrets)
/// from the request's address, or refuses with KT-CT-1199.
pub async fn begin(
    api: &ApiContext,
    meta: &RequestMeta,
    identity: Option<&str>,
) -> Result<Attempt, KrakenError> {
    let who = Who {
        identity,
        address: meta.client_ip,
        count_address: true,
    };
    match api
        .sign_in
        .throttle
        .begin(&api.db, who, api.clock.now())
        .await
    {
        Ok(attempt) => Ok(attempt),
        Err(ThrottleError::TooMany) => Err(too_many(api)),
        Err(ThrottleError::Store(err)) => Err(internal(err)),
    }
}

/// The credential was right.
pub async fn succeeded(api: &ApiContext, attempt: Attempt) -> Result<(), KrakenError> {
    api.sign_in
        .throttle
        .succeeded(&api.db, attempt, api.clock.now())
        .await
        .map_err(internal)
}

/// The credential was wrong: the attempt stays counted.
pub fn failed(api: &ApiContext, attempt: Attempt) {
    api.sign_in.throttle.failed(attempt);
}

/// Checks a password in the bounded pool (against a dummy hash when `stored` is `None`). A full
/// pool gives the attempt back and answers KT-CT-1199.
pub async fn verify_password(
    api: &ApiContext,
    attempt: Attempt,
    password: &str,
    stored: Option<String>,
) -> Result<(bool, Attempt), KrakenError> {
    match api
        .sign_in
        .pool
        .verify_password(password.to_owned(), stored)
        .await
    {
        Ok(matches) => Ok((matches, attempt)),
        Err(err) => {
            api.sign_in
                .throttle
                .abandoned(&api.db, attempt)
                .await
                .map_err(internal)?;
            Err(match err {
                PoolError::Busy => busy(),
                PoolError::Failed => KrakenError::new(ErrorCode::Internal),
            })
        }
    }
}
