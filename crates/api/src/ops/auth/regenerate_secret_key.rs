//! `regenerateSecretKey`: a new personal API key for the signed-in user.

use async_graphql::{Context, SimpleObject};
use resiflex_store::identity;

use super::internal;
use crate::auth::access;
use crate::auth::credentials::{self, LIVE_KEY_PREFIX};
use crate::errors::ApiResult;
use crate::ops::api;

/// A user's new personal API key, shown this once.
#[derive(SimpleObject, Debug)]
pub struct RegenerateSecretKey {
    /// The new key; the previous one no longer works.
    pub key: String,
}

pub(super) async fn run(ctx: &Context<'_>) -> ApiResult<RegenerateSecretKey> {
    let api = api(ctx)?;
    let session = access::authorise_session(ctx).await?;
    let user = session.caller.as_user()?;
    session.require_credential_management()?;
    let key = credentials::generate(LIVE_KEY_PREFIX);
    identity::replace_api_key(
        &api.db,
        user.id,
        &credentials::hash_secret(&key),
        api.clock.now(),
    )
    .await
    .map_err(internal)?;
    Ok(RegenerateSecretKey { key })
}
