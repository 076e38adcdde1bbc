//! `generatePreSignedToken`: an organisation mints a short-lived key that signs a customer in.

use async_graphql::{Context, SimpleObject};
use chrono::Duration;
use resiflex_store::identity;

use super::{internal, organisation_user};
use crate::auth::credentials;
use crate::auth::{Caller, authorise};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::api;
use crate::scalars::DateTime;

#[derive(SimpleObject, Debug)]
pub struct GeneratePreSignedToken {
    /// The pre-signed key, to be exchanged with `obtainKrakenToken(input: {preSignedKey})`.
    pub token: String,
    /// When it stops working.
    pub token_expiry_datetime: DateTime,
}

/// The longest a pre-signed key may live.
const MAX_PRE_SIGNED_MINUTES: i32 = 7 * 24 * 60;

pub(super) async fn run(
    ctx: &Context<'_>,
    email: String,
    expiry_minutes: Option<i32>,
) -> ApiResult<GeneratePreSignedToken> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let Caller::Organisation(org) = &caller else {
        return Err(KrakenError::new(ErrorCode::PreSignedKeyUnauthorized));
    };
    let minutes = expiry_minutes.unwrap_or(15);
    if !(1..=MAX_PRE_SIGNED_MINUTES).contains(&minutes) {
        return Err(KrakenError::with_message(
            ErrorCode::InvalidInput,
            format!("`expiryMinutes` must be between 1 and {MAX_PRE_SIGNED_MINUTES}."),
        ));
    }
    let user = organisation_user(api, org.id, &email).await?;
    let now = api.clock.now();
    let key = credentials::generate("");
    let expires = now + Duration::minutes(i64::from(minutes));
    identity::insert_pre_signed_key(
        &api.db,
        &credentials::hash_secret(&key),
        user.id,
        org.id,
        expires,
        now,
    )
    .await
    .map_err(internal)?;
    Ok(GeneratePreSignedToken {
        token: key,
        token_expiry_datetime: DateTime(expires),
    })
}
