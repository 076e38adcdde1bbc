//! `deleteAccountReference`: removes the account's reference in a namespace.

use async_graphql::{Context, InputObject};
use resiflex_store::accounts;

use super::types::{AccountReferenceMutation, AccountReferenceType};
use super::{internal, invalid, reference_part, reference_target};
use crate::errors::ApiResult;

#[derive(InputObject, Debug)]
pub struct DeleteAccountReferenceInput {
    pub account_number: String,
    pub namespace: String,
}

pub(super) async fn run(
    ctx: &Context<'_>,
    input: DeleteAccountReferenceInput,
) -> ApiResult<AccountReferenceMutation> {
    let (api, _, account) = reference_target(ctx, &input.account_number).await?;
    let namespace = reference_part(&input.namespace, "namespace")?;
    match accounts::delete_reference(&api.db, account.id, namespace).await {
        Ok(reference) => Ok(AccountReferenceMutation {
            account_reference: AccountReferenceType(reference),
        }),
        Err(resiflex_store::StoreError::NotFound) => {
            Err(invalid("The account has no reference in this namespace."))
        }
        Err(err) => Err(internal(err)),
    }
}
