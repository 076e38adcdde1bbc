//! The one place that decides who the caller is and what they may reach.

use async_graphql::Context;
use resiflex_domain::AccountStatus;
use resiflex_store::accounts::{self, Account};
use resiflex_store::identity::{self, AccountUser, Organisation};

use super::tokens::{Credential, Subject, TokenError};
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

/// A signed-in caller and the credential their session came from.
#[derive(Debug, Clone)]
pub struct Session {
    pub caller: Caller,
    pub credential: Credential,
}

impl Session {
    /// Refuses (KT-CT-1111) a session that may not change credentials: one a pre-signed key
    /// started.
    pub fn require_credential_management(&self) -> Result<(), KrakenError> {
        if self.credential.may_manage_credentials() {
            Ok(())
        } else {
            Err(KrakenError::with_message(
                ErrorCode::Unauthorized,
                "A session signed in with a pre-signed key cannot change credentials.",
            ))
        }
    }
}

/// Why a credential no longer signs its subject in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The credential moved on (a new password or key, an invalidated pre-signed key), or does not
    /// belong to the subject.
    Stale,
    /// The subject is gone, or may not sign in (a deleted user, every account dormant or void).
    Locked,
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

/// Whether an account user may sign in: not when deleted, nor when every account they belong to is
/// dormant or void.
pub async fn user_may_sign_in(api: &ApiContext, user: &AccountUser) -> Result<bool, KrakenError> {
    if user.deleted_at.is_some() {
        return Ok(false);
    }
    let statuses = identity::account_statuses_of_user(&api.db, user.id)
        .await
        .map_err(store_error)?;
    Ok(statuses_allow_sign_in(&statuses))
}

/// The caller a credential of this generation signs in, if it is still current: the one check
/// behind every token and every refresh token.
pub async fn current_session(
    api: &ApiContext,
    subject: Subject,
    credential: Credential,
    generation: i64,
) -> Result<Result<Session, Refusal>, KrakenError> {
    let caller = match subject {
        Subject::AccountUser(id) => {
            let Some(user) = identity::user_by_id(&api.db, id)
                .await
                .map_err(store_error)?
            else {
                return Ok(Err(Refusal::Locked));
            };
            let current = match credential {
                Credential::Password => user.password_generation == generation,
                Credential::ApiKey => user.api_key_generation == generation,
                Credential::PreSigned(key_id) => identity::pre_signed_key_by_id(&api.db, key_id)
                    .await
                    .map_err(store_error)?
                    .is_some_and(|k| {
                        k.user_id == user.id && k.invalidated_at.is_none() && generation == 0
                    }),
                Credential::OrganisationKey => false,
            };
            if !current {
                return Ok(Err(Refusal::Stale));
            }
            if !user_may_sign_in(api, &user).await? {
                return Ok(Err(Refusal::Locked));
            }
            Caller::AccountUser(user)
        }
        Subject::Organisation(id) => {
            let Some(org) = identity::organisation_by_id(&api.db, id)
                .await
                .map_err(store_error)?
            else {
                return Ok(Err(Refusal::Locked));
            };
            if credential != Credential::OrganisationKey || org.key_generation != generation {
                return Ok(Err(Refusal::Stale));
            }
            Caller::Organisation(org)
        }
    };
    Ok(Ok(Session { caller, credential }))
}

async fn resolve(api: &ApiContext, meta: &RequestMeta) -> Result<Session, KrakenError> {
    let header = meta.authorization.as_deref().unwrap_or("");
    let Some(token) = token_from_header(header) else {
        return Err(KrakenError::new(ErrorCode::AuthorizationHeaderMissing));
    };
    let (subject, claims) = match api.tokens.verify(token, api.clock.now()) {
        Ok(verified) => verified,
        Err(TokenError::Expired) => return Err(KrakenError::new(ErrorCode::TokenExpired)),
        Err(TokenError::Invalid) => return Err(KrakenError::new(ErrorCode::AuthenticationFailed)),
    };
    let rejected = || KrakenError::new(ErrorCode::AuthenticationFailed);
    let credential = claims.credential().ok_or_else(rejected)?;
    current_session(api, subject, credential, claims.generation)
        .await?
        .map_err(|_| rejected())
}

/// The signed-in caller, or the Kraken error that refuses the request (KT-CT-1112 without a header,
/// KT-CT-1124 for an expired token, KT-CT-1139 for any other rejected token). Resolved once per request.
pub async fn authorise(ctx: &Context<'_>) -> Result<Caller, KrakenError> {
    Ok(authorise_session(ctx).await?.caller)
}

/// The signed-in caller with the credential of their session (see [`authorise`]).
pub async fn authorise_session(ctx: &Context<'_>) -> Result<Session, KrakenError> {
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
