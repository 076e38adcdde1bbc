//! `accountsSearch`: searches the organisation's accounts.

use async_graphql::{Context, InputObject, SimpleObject};
use resiflex_domain::EmailAddress;
use resiflex_store::accounts::{self, AccountSearch};

use super::types::AccountType;
use super::{internal, invalid, trimmed};
use crate::auth::authorise;
use crate::errors::ApiResult;
use crate::ops::api;

#[derive(InputObject, Debug, Default)]
#[graphql(name = "AccountSearchInputType")]
pub struct AccountSearchInput {
    pub account_number: Option<String>,
    pub email: Option<String>,
    pub postcode: Option<String>,
    /// A partner reference value, in any namespace.
    pub reference: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(name = "AccountSearchItemType")]
pub struct AccountSearchItem {
    pub account: AccountType,
    /// How many of the given terms matched (all of them, as every term must match).
    pub score: f64,
}

pub(super) async fn run(
    ctx: &Context<'_>,
    search_terms: AccountSearchInput,
    max_results: Option<i32>,
) -> ApiResult<Vec<AccountSearchItem>> {
    let caller = authorise(ctx).await?;
    let org = caller.as_organisation()?;
    let email = match trimmed(&search_terms.email) {
        Some(email) => Some(
            EmailAddress::parse(email)
                .ok_or_else(|| invalid("`email` is not an email address."))?,
        ),
        None => None,
    };
    let search = AccountSearch {
        account_number: trimmed(&search_terms.account_number),
        email: email.as_ref().map(EmailAddress::as_str),
        postcode: trimmed(&search_terms.postcode),
        reference: trimmed(&search_terms.reference),
    };
    let terms = [
        search.account_number.is_some(),
        search.email.is_some(),
        search.postcode.is_some(),
        search.reference.is_some(),
    ];
    let term_count = terms.iter().filter(|t| **t).count();
    if term_count == 0 {
        return Err(invalid("Give at least one search term."));
    }
    let limit = i64::from(max_results.unwrap_or(20).clamp(1, 100));
    let found = accounts::search_accounts(&api(ctx)?.db, org.id, &search, limit)
        .await
        .map_err(internal)?;
    Ok(found
        .into_iter()
        .map(|account| AccountSearchItem {
            account: AccountType(account),
            score: term_count as f64,
        })
        .collect())
}
