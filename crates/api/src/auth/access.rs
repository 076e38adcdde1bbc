//! The one place that decides who the caller is and what they may reach.

use async_graphql::Context;
use resiflex_domain::AccountStatus;
use resiflex_store::accounts::{self, Account};
use resiflex_store::identity::{self, AccountUser, Organisation};

use super::tokens::{Subject, TokenError};
use crate::context::{ApiContext, RequestMeta};
use crate::errors::{ErrorCode, KrakenError};

/// The signed-in caller of a request.
#[derive(Debug, Clone)]
pub enum Caller {
    AccountUser(AccountUser),
    Organisation(Organisation),
}

impl Caller {
    pub fn as_organisation(&self) -> Result<&Organisation, KrakenError> {
        match self {
            Caller::Organisation(org) => Ok(org),
            Caller::AccountUser(_) => Err(KrakenError::new(ErrorCode::Unauthorized)),
        }
    }

    pub fn as_user(&self) -> Result<&AccountUser, KrakenError> {
        match self {
            Caller::AccountUser(user) => Ok(user),
            Caller::Organisation(_) => Err(KrakenError::new(ErrorCode::Unauthorized)),
        }
    }
}

/// The token from an `Authorization` header: `JWT <token>`, `Bearer <token>` or the bare token.
pub fn token_from_header(value: &str) -> Option<&str> {
    let is_scheme =
        |word: &str| word.eq_ignore_ascii_case("jwt") || word.eq_ignore_ascii_case("bearer");
    let value = value.trim();
    let token = match value.split_once(char::is_whitespace) {
        Some((scheme, rest)) if is_scheme(scheme) => rest.trim(),
        // A scheme word alone carries no token.
        None if is_scheme(value) => "",
        _ => value,
    };
    (!token.is_empty()).then_some(token)
}

/// Whether the accounts with these statuses let their user sign in: refused only when the user has
/// accounts and every one of them is dormant or void.
pub fn statuses_allow_sign_in(statuses: &[String]) -> bool {
    statuses.is_empty()
        || statuses
            .iter()
            .any(|s| AccountStatus::parse(s).is_none_or(AccountStatus::allows_sign_in))
}

fn store_error(err: resiflex_store::StoreError) -> KrakenError {
    KrakenError::internal("resolving the caller", &err)
}

async fn resolve(api: &ApiContext, meta: &RequestMeta) -> Result<Caller, KrakenError> {
    let header = meta.authorization.as_deref().unwrap_or("");
    let Some(token) = token_from_header(header) else {
        return Err(KrakenError::new(ErrorCode::AuthorizationHeaderMissing));
    };
    let subject = match api.tokens.verify(token, api.clock.now()) {
        Ok((subject, _)) => subject,
        Err(TokenError::Expired) => return Err(KrakenError::new(ErrorCode::TokenExpired)),
        Err(TokenError::Invalid) => return Err(KrakenError::new(ErrorCode::AuthenticationFailed)),
    };
    let rejected = || KrakenError::new(ErrorCode::AuthenticationFailed);
    match subject {
        Subject::AccountUser(id) => {
            let user = identity::user_by_id(&api.db, id)
                .await
                .map_err(store_error)?
                .ok_or_else(rejected)?;
            if user.deleted_at.is_some() {
                return Err(rejected());
            }
            let statuses = identity::account_statuses_of_user(&api.db, id)
                .await
                .map_err(store_error)?;
            if !statuses_allow_sign_in(&statuses) {
                return Err(rejected());
            }
            Ok(Caller::AccountUser(user))
        }
        Subject::Organisation(id) => {
            let org = identity::organisation_by_id(&api.db, id)
                .await
                .map_err(store_error)?
                .ok_or_else(rejected)?;
            Ok(Caller::Organisation(org))
        }
    }
}

/// The signed-in caller, or the Kraken error that refuses the request (KT-CT-1112 without a header,
/// KT-CT-1124 for an expired token, KT-CT-1139 for any other rejected token). Resolved once per request.
pub async fn authorise(ctx: &Context<'_>) -> Result<Caller, KrakenError> {
    let api = ctx
        .data::<ApiContext>()
        .map_err(|_| KrakenError::new(ErrorCode::Internal))?;
    let meta = ctx
        .data::<RequestMeta>()
        .map_err(|_| KrakenError::new(ErrorCode::Internal))?;
    meta.caller.get_or_init(|| resolve(api, meta)).await.clone()
}

/// The account with this number if the caller may see it. An unknown account and a forbidden one
/// get the same answer (`refusal`), so account numbers cannot be probed.
pub async fn account_for(
    api: &ApiContext,
    caller: &Caller,
    number: &str,
    refusal: ErrorCode,
) -> Result<Account, KrakenError> {
    let refused = || {
        KrakenError::with_message(
            refusal,
            format!("You are not allowed to access the account {number:?}."),
        )
    };
    let number = resiflex_domain::AccountNumber::parse(number).ok_or_else(refused)?;
    let account = accounts::account_by_number(&api.db, number.as_str())
        .await
        .map_err(store_error)?
        .ok_or_else(refused)?;
    let allowed = match caller {
        Caller::Organisation(org) => account.organisation_id == org.id,
        Caller::AccountUser(user) => accounts::is_member(&api.db, account.id, user.id)
            .await
            .map_err(store_error)?,
    };
    if allowed { Ok(account) } else { Err(refused()) }
}

/// Whether the caller may see everything about this account (used where the account is already loaded).
pub async fn may_see_account(
    api: &ApiContext,
    caller: &Caller,
    account: &Account,
) -> Result<bool, KrakenError> {
    Ok(match caller {
        Caller::Organisation(org) => account.organisation_id == org.id,
        Caller::AccountUser(user) => accounts::is_member(&api.db, account.id, user.id)
            .await
            .map_err(store_error)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_header_form_yields_the_token() {
        for value in [
            "abc.def.ghi",
            "JWT abc.def.ghi",
            "jwt abc.def.ghi",
            "Bearer abc.def.ghi",
            "  bearer   abc.def.ghi ",
        ] {
            assert_eq!(token_from_header(value), Some("abc.def.ghi"), "{value:?}");
        }
        assert_eq!(token_from_header(""), None);
        assert_eq!(token_from_header("JWT "), None);
        assert_eq!(token_from_header("Bearer"), None);
    }

    #[test]
    fn dormant_and_void_accounts_lock_their_users_out() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(statuses_allow_sign_in(&[]));
        assert!(statuses_allow_sign_in(&s(&["ACTIVE"])));
        assert!(statuses_allow_sign_in(&s(&["VOID", "ACTIVE"])));
        assert!(!statuses_allow_sign_in(&s(&["DORMANT"])));
        assert!(!statuses_allow_sign_in(&s(&["VOID", "DORMANT"])));
    }
}
