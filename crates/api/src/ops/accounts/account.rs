//! `account`: one account, if the caller may see it.

use async_graphql::Context;

use super::types::AccountType;
use crate::auth::access::account_for;
use crate::auth::authorise;
use crate::errors::{ApiResult, ErrorCode};
use crate::ops::api;

pub(super) async fn run(ctx: &Context<'_>, account_number: String) -> ApiResult<AccountType> {
    let caller = authorise(ctx).await?;
    let account = account_for(
        api(ctx)?,
        &caller,
        &account_number,
        ErrorCode::AccountUnauthorized,
    )
    .await?;
    Ok(AccountType(account))
}
