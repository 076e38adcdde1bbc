//! `accountIoEligibility`: whether the account may register smart devices.

use async_graphql::{Context, SimpleObject};
use resiflex_domain::AccountStatus as DomainStatus;
use resiflex_store::accounts;

use super::internal;
use crate::auth::access::account_for;
use crate::auth::authorise;
use crate::errors::{ApiResult, ErrorCode};
use crate::ops::api;

#[derive(SimpleObject, Debug)]
pub struct AccountIoEligibility {
    /// Whether the account may register smart devices.
    pub is_eligible_for_io: bool,
}

pub(super) async fn run(
    ctx: &Context<'_>,
    account_number: String,
    property_id: Option<i32>,
) -> ApiResult<AccountIoEligibility> {
    let caller = authorise(ctx).await?;
    let api = api(ctx)?;
    let account = account_for(api, &caller, &account_number, ErrorCode::Unauthorized).await?;
    let active = DomainStatus::parse(&account.status) == Some(DomainStatus::Active);
    let property_ok = match property_id {
        None => true,
        Some(id) => accounts::property_by_id(&api.db, i64::from(id))
            .await
            .map_err(internal)?
            .is_some_and(|p| p.account_id == account.id),
    };
    Ok(AccountIoEligibility {
        is_eligible_for_io: active && property_ok,
    })
}
