//! `invalidatePreSignedTokensForUser`: an organisation invalidates every live pre-signed key it
//! minted for a user.

use async_graphql::{Context, InputObject, SimpleObject};
use resiflex_store::identity;

use super::{internal, organisation_user};
use crate::auth::authorise;
use crate::errors::ApiResult;
use crate::ops::api;

#[derive(InputObject, Debug)]
pub struct InvalidatePreSignedTokensForUserInput {
    pub email: String,
}

#[derive(SimpleObject, Debug)]
pub struct InvalidatePreSignedTokensForUser {
    /// How many live keys were invalidated.
    pub invalidated_count: i32,
}

pub(super) async fn run(
    ctx: &Context<'_>,
    input: InvalidatePreSignedTokensForUserInput,
) -> ApiResult<InvalidatePreSignedTokensForUser> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let org = caller.as_organisation()?;
    let user = organisation_user(api, org.id, &input.email).await?;
    let count =
        identity::invalidate_pre_signed_keys_for_user(&api.db, user.id, org.id, api.clock.now())
            .await
            .map_err(internal)?;
    Ok(InvalidatePreSignedTokensForUser {
        invalidated_count: i32::try_from(count).unwrap_or(i32::MAX),
    })
}
