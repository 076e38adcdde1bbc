//! `invalidatePreSignedToken`: an organisation invalidates one pre-signed key it minted.

use async_graphql::{Context, InputObject, SimpleObject};
use resiflex_store::identity;

use super::internal;
use crate::auth::authorise;
use crate::auth::credentials;
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::api;

#[derive(InputObject, Debug)]
pub struct InvalidatePreSignedTokenInput {
    pub token: String,
}

#[derive(SimpleObject, Debug)]
pub struct InvalidatePreSignedToken {
    /// Whether a live key was invalidated.
    pub invalidated: bool,
}

pub(super) async fn run(
    ctx: &Context<'_>,
    input: InvalidatePreSignedTokenInput,
) -> ApiResult<InvalidatePreSignedToken> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let org = caller.as_organisation()?;
    let count = identity::invalidate_pre_signed_key(
        &api.db,
        &credentials::hash_secret(&input.token),
        org.id,
        api.clock.now(),
    )
    .await
    .map_err(internal)?;
    if count == 0 {
        return Err(KrakenError::with_message(
            ErrorCode::PreSignedKeyInvalid,
            "No live pre-signed key matches.",
        ));
    }
    Ok(InvalidatePreSignedToken { invalidated: true })
}
