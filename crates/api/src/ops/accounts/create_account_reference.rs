//! `createAccountReference`: adds the organisation's reference to one of its accounts.

use async_graphql::Context;
use resiflex_store::accounts;

use super::types::{AccountReferenceMutation, AccountReferenceMutationInput, AccountReferenceType};
use super::{internal, invalid, reference_part, reference_target};
use crate::errors::ApiResult;

pub(super) async fn run(
    ctx: &Context<'_>,
    input: AccountReferenceMutationInput,
) -> ApiResult<AccountReferenceMutation> {
    let (api, org_id, account) = reference_target(ctx, &input.account_number).await?;
    let namespace = reference_part(&input.namespace, "namespace")?;
    let value = reference_part(&input.value, "value")?;
    match accounts::create_reference(
        &api.db,
        org_id,
        account.id,
        namespace,
        value,
        api.clock.now(),
    )
    .await
    {
        Ok(reference) => Ok(AccountReferenceMutation {
            account_reference: AccountReferenceType(reference),
        }),
        Err(resiflex_store::StoreError::Conflict) => Err(invalid(
            "This namespace already has a reference on the account, or the value is taken in it.",
        )),
        Err(err) => Err(internal(err)),
    }
}
