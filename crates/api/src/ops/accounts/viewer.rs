//! `viewer`: the signed-in account user.

use async_graphql::Context;

use super::types::AccountUserType;
use crate::auth::authorise;
use crate::errors::ApiResult;

pub(super) async fn run(ctx: &Context<'_>) -> ApiResult<AccountUserType> {
    let caller = authorise(ctx).await?;
    Ok(AccountUserType(caller.as_user()?.clone()))
}
