//! `properties`: the properties of an account.

use async_graphql::Context;
use resiflex_store::accounts;

use super::internal;
use super::types::PropertyType;
use crate::auth::access::account_for;
use crate::auth::authorise;
use crate::errors::{ApiResult, ErrorCode};
use crate::ops::api;

pub(super) async fn run(ctx: &Context<'_>, account_number: String) -> ApiResult<Vec<PropertyType>> {
    let caller = authorise(ctx).await?;
    let api = api(ctx)?;
    let account = account_for(api, &caller, &account_number, ErrorCode::Unauthorized).await?;
    let properties = accounts::properties_of_account(&api.db, account.id)
        .await
        .map_err(internal)?;
    Ok(properties.into_iter().map(PropertyType).collect())
}
