//! `updateAccountReference`: changes the value of the account's reference in a namespace.

use async_graphql::Context;
use resiflex_store::accounts;

use super::types::{AccountReferenceMutation, AccountReferenceMutationInput, AccountReferenceType};
use super::{internal, invalid, reference_part, reference_target};
use crate::errors::ApiResult;

pub(super) async fn run(
    ctx: &Context<'_>,
    input: AccountReferenceMutationInput,
) -> ApiResult<AccountReferenceMutation> {
    let (api, _, account) = reference_target(ctx, &input.account_number).await?;
    let namespace = reference_part(&input.namespace, "namespace")?;
    let value = reference_part(&input.value, "value")?;
    match accounts::update_reference(&api.db, account.id, namespace, value, api.clock.now()).await {
        Ok(reference) => Ok(AccountReferenceMutation {
            account_reference: AccountReferenceType(reference),
        }),
        Err(resiflex_store::StoreError::NotFound) => {
            Err(invalid("The account has no reference in this namespace."))
        }
        Err(resiflex_store::StoreError::Conflict) => {
            Err(invalid("The value is already used in this namespace."))
        }
        Err(err) => Err(internal(err)),
    }
}
