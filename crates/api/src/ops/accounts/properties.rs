//! `properties`: the properties of an account; `property(id)`: one property, for the caller
//! whose account (or whose organisation's account) it belongs to.

use async_graphql::Context;
use resiflex_store::accounts;

use super::internal;
use super::types::PropertyType;
use crate::auth::access::{account_for, may_see_account};
use crate::auth::authorise;
use crate::errors::{ApiResult, ErrorCode, KrakenError};
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

pub(super) async fn one(ctx: &Context<'_>, id: &str) -> ApiResult<PropertyType> {
    let caller = authorise(ctx).await?;
    let api = api(ctx)?;
    let refused = || KrakenError::new(ErrorCode::PropertyUnauthorized);
    let id: i64 = id.trim().parse().map_err(|_| refused())?;
    let property = accounts::property_by_id(&api.db, id)
        .await
        .map_err(internal)?
        .ok_or_else(refused)?;
    let account = accounts::account_by_id(&api.db, property.account_id)
        .await
        .map_err(internal)?
        .ok_or_else(refused)?;
    if !may_see_account(api, &caller, &account).await? {
        return Err(refused());
    }
    Ok(PropertyType(property))
}
