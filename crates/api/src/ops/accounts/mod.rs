//! Accounts: `createFlexShellAccount`, `account`, `viewer`, `properties`, account references,
//! `accountsSearch` and `accountIoEligibility`.
//!
//! One file per operation; `types` holds the object types several of them answer with.

mod account;
mod account_io_eligibility;
mod account_reference;
mod accounts_search;
mod create_account_reference;
mod create_flex_shell_account;
mod delete_account_reference;
mod properties;
pub mod types;
mod update_account_reference;
mod viewer;

use async_graphql::{Context, ID, Object};
use resiflex_store::accounts::Account;

pub use account_io_eligibility::AccountIoEligibility;
pub use accounts_search::{AccountSearchInput, AccountSearchItem};
pub use create_flex_shell_account::{
    AccountReferenceInput, CreateFlexShellAccount, CreateFlexShellAccountInput, RichAddressInput,
};
pub use delete_account_reference::DeleteAccountReferenceInput;
pub use types::{
    AccountReferenceMutation, AccountReferenceMutationInput, AccountReferenceType, AccountType,
    AccountUserType, PropertyRichAddressType, PropertyType,
};

use super::{OperationErrors, OperationKind, api, protected as op};
use crate::auth::access::account_for;
use crate::auth::{Caller, authorise};
use crate::context::ApiContext;
use crate::errors::{ApiResult, ErrorCode, KrakenError};

pub const ERRORS: &[OperationErrors] = &[
    op(
        "createFlexShellAccount",
        OperationKind::Mutation,
        &[ErrorCode::InvalidInput],
    ),
    op(
        "account",
        OperationKind::Query,
        &[ErrorCode::AccountUnauthorized],
    ),
    op("viewer", OperationKind::Query, &[]),
    op("properties", OperationKind::Query, &[]),
    op(
        "property",
        OperationKind::Query,
        &[ErrorCode::PropertyUnauthorized, ErrorCode::InvalidInput],
    ),
    op("accountReference", OperationKind::Query, &[]),
    op(
        "createAccountReference",
        OperationKind::Mutation,
        &[ErrorCode::InvalidInput],
    ),
    op(
        "updateAccountReference",
        OperationKind::Mutation,
        &[ErrorCode::InvalidInput],
    ),
    op(
        "deleteAccountReference",
        OperationKind::Mutation,
        &[ErrorCode::InvalidInput],
    ),
    op(
        "accountsSearch",
        OperationKind::Query,
        &[ErrorCode::InvalidInput],
    ),
    op("accountIoEligibility", OperationKind::Query, &[]),
];

fn internal(err: resiflex_store::StoreError) -> KrakenError {
    KrakenError::internal("accounts", &err)
}

fn invalid(message: impl Into<String>) -> KrakenError {
    KrakenError::with_message(ErrorCode::InvalidInput, message)
}

fn trimmed(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn required<'a>(value: &'a str, field: &str, max: usize) -> ApiResult<&'a str> {
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid(format!("`{field}` must not be empty.")));
    }
    if value.chars().count() > max {
        return Err(invalid(format!(
            "`{field}` is longer than {max} characters."
        )));
    }
    Ok(value)
}

fn reference_part<'a>(value: &'a str, field: &str) -> ApiResult<&'a str> {
    required(value, field, 128)
}

#[derive(Default)]
pub struct AccountsQuery;

#[Object]
impl AccountsQuery {
    /// One account, if the caller may see it (KT-CT-4177 otherwise, also for unknown numbers).
    async fn account(&self, ctx: &Context<'_>, account_number: String) -> ApiResult<AccountType> {
        account::run(ctx, account_number).await
    }

    /// The signed-in account user. Organisations are not users: they get KT-CT-1111.
    async fn viewer(&self, ctx: &Context<'_>) -> ApiResult<AccountUserType> {
        viewer::run(ctx).await
    }

    /// The properties of an account.
    async fn properties(
        &self,
        ctx: &Context<'_>,
        account_number: String,
    ) -> ApiResult<Vec<PropertyType>> {
        properties::run(ctx, account_number).await
    }

    /// One property of an account the caller may see: KT-CT-6622 for any other, or none.
    async fn property(&self, ctx: &Context<'_>, id: ID) -> ApiResult<PropertyType> {
        properties::one(ctx, &id).await
    }

    /// The organisation's references with this value, in any namespace. Organisations only.
    async fn account_reference(
        &self,
        ctx: &Context<'_>,
        value: String,
    ) -> ApiResult<Vec<AccountReferenceType>> {
        account_reference::run(ctx, value).await
    }

    /// Searches the organisation's accounts; every given term must match. Organisations only.
    async fn accounts_search(
        &self,
        ctx: &Context<'_>,
        search_terms: AccountSearchInput,
        max_results: Option<i32>,
    ) -> ApiResult<Vec<AccountSearchItem>> {
        accounts_search::run(ctx, search_terms, max_results).await
    }

    /// Whether the account may register smart devices: it must be active, and the property, when
    /// given, must be one of its own.
    async fn account_io_eligibility(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        property_id: Option<i32>,
    ) -> ApiResult<AccountIoEligibility> {
        account_io_eligibility::run(ctx, account_number, property_id).await
    }
}

#[derive(Default)]
pub struct AccountsMutation;

#[Object]
impl AccountsMutation {
    /// Creates an account for a partner's customer, with its user (or links the existing user with
    /// that email) and a property at the address. Organisations only.
    async fn create_flex_shell_account(
        &self,
        ctx: &Context<'_>,
        input: CreateFlexShellAccountInput,
    ) -> ApiResult<CreateFlexShellAccount> {
        create_flex_shell_account::run(ctx, input).await
    }

    /// Adds the organisation's reference to one of its accounts. Organisations only.
    async fn create_account_reference(
        &self,
        ctx: &Context<'_>,
        input: AccountReferenceMutationInput,
    ) -> ApiResult<AccountReferenceMutation> {
        create_account_reference::run(ctx, input).await
    }

    /// Changes the value of the account's reference in a namespace. Organisations only.
    async fn update_account_reference(
        &self,
        ctx: &Context<'_>,
        input: AccountReferenceMutationInput,
    ) -> ApiResult<AccountReferenceMutation> {
        update_account_reference::run(ctx, input).await
    }

    /// Removes the account's reference in a namespace. Organisations only.
    async fn delete_account_reference(
        &self,
        ctx: &Context<'_>,
        input: DeleteAccountReferenceInput,
    ) -> ApiResult<AccountReferenceMutation> {
        delete_account_reference::run(ctx, input).await
    }
}

/// The organisation and one of its accounts, for the reference mutations.
async fn reference_target<'a>(
    ctx: &Context<'a>,
    account_number: &str,
) -> ApiResult<(&'a ApiContext, i64, Account)> {
    let caller = authorise(ctx).await?;
    let org_id = caller.as_organisation()?.id;
    let api = api(ctx)?;
    let account = account_for(
        api,
        &Caller::Organisation(caller.as_organisation()?.clone()),
        account_number,
        ErrorCode::Unauthorized,
    )
    .await?;
    Ok((api, org_id, account))
}
