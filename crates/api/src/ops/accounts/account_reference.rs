//! `accountReference`: the organisation's references with a value, in any namespace.

use async_graphql::Context;
use resiflex_store::accounts;

use super::internal;
use super::types::AccountReferenceType;
use crate::auth::authorise;
use crate::errors::ApiResult;
use crate::ops::api;

pub(super) async fn run(ctx: &Context<'_>, value: String) -> ApiResult<Vec<AccountReferenceType>> {
    let caller = authorise(ctx).await?;
    let org = caller.as_organisation()?;
    let references = accounts::references_by_value(&api(ctx)?.db, org.id, value.trim())
        .await
        .map_err(internal)?;
    Ok(references.into_iter().map(AccountReferenceType).collect())
}
