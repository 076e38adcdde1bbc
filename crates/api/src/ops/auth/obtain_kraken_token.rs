//! `obtainKrakenToken`: signing in with email and password, an API key, an organisation secret key,
//! a refresh token or a pre-signed key.

use async_graphql::{Context, InputObject, SimpleObject};
use chrono::Duration;
use resiflex_store::identity::{self, AccountUser};

use super::internal;
use crate::auth::access::{self, Refusal};
use crate::auth::credentials;
use crate::auth::throttle;
use crate::auth::tokens::{Credential, Grant, REFRESH_LIFETIME_SECS, Subject};
use crate::context::{ApiContext, RequestMeta};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::api;
use crate::scalars::GenericScalar;

/// How to sign in: exactly one of email and password, an API key, an organisation secret key, a
/// refresh token or a pre-signed key.
#[derive(InputObject, Debug, Default)]
#[graphql(name = "ObtainJSONWebTokenInput")]
pub struct ObtainJsonWebTokenInput {
    /// The account user's email address (with `password`).
    pub email: Option<String>,
    /// The account user's password (with `email`).
    pub password: Option<String>,
    /// Accepted for compatibility; ResiFlex does not ask for a captcha.
    pub captcha_response: Option<String>,
    /// The account user's personal API key.
    #[graphql(name = "APIKey")]
    pub api_key: Option<String>,
    /// The organisation's live secret key (`sk_live_...`).
    pub organization_secret_key: Option<String>,
    /// A refresh token from an earlier sign-in.
    pub refresh_token: Option<String>,
    /// A short-lived key minted by the user's organisation.
    pub pre_signed_key: Option<String>,
}

/// A signed-in session.
#[derive(SimpleObject, Debug)]
#[graphql(name = "ObtainKrakenJSONWebToken")]
pub struct ObtainKrakenJsonWebToken {
    /// The token to send as the `Authorization` header; valid for 60 minutes.
    pub token: String,
    /// The token's claims: `sub`, `gty`, `iat`, `exp`, `origIat`, ...
    pub payload: GenericScalar,
    /// Obtains a new token without signing in again; valid for 7 days from the first sign-in. None
    /// for a pre-signed key, whose session ends with its token.
    pub refresh_token: Option<String>,
    /// When the refresh token expires, as a Unix timestamp in seconds.
    pub refresh_expires_in: Option<i64>,
}

/// Grant types, as the `gty` claim names them.
mod grant {
    pub const PASSWORD: &str = "EMAIL-AND-PASSWORD";
    pub const API_KEY: &str = "API-KEY";
    pub const ORGANISATION: &str = "ORGANIZATION-SECRET-KEY";
    pub const PRE_SIGNED: &str = "PRE-SIGNED-KEY";
}

enum Method<'a> {
    Password(&'a str, &'a str),
    ApiKey(&'a str),
    Organisation(&'a str),
    Refresh(&'a str),
    PreSigned(&'a str),
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.trim().is_empty())
}

fn method(input: &ObtainJsonWebTokenInput) -> ApiResult<Method<'_>> {
    let some = non_empty;
    let mut methods = Vec::new();
    match (some(&input.email), some(&input.password)) {
        (Some(email), Some(password)) => methods.push(Method::Password(email, password)),
        (None, None) => {}
        _ => {
            return Err(KrakenError::with_message(
                ErrorCode::InvalidInput,
                "`email` and `password` go together.",
            ));
        }
    }
    if let Some(key) = some(&input.api_key) {
        methods.push(Method::ApiKey(key));
    }
    if let Some(key) = some(&input.organization_secret_key) {
        methods.push(Method::Organisation(key));
    }
    if let Some(token) = some(&input.refresh_token) {
        methods.push(Method::Refresh(token));
    }
    if let Some(key) = some(&input.pre_signed_key) {
        methods.push(Method::PreSigned(key));
    }
    if methods.len() != 1 {
        return Err(KrakenError::with_message(
            ErrorCode::InvalidInput,
            "Give exactly one way of signing in: email and password, APIKey, organizationSecretKey, refreshToken or preSignedKey.",
        ));
    }
    Ok(methods.remove(0))
}

async fn user_may_sign_in(api: &ApiContext, user: &AccountUser) -> ApiResult<bool> {
    access::user_may_sign_in(api, user).await
}

/// Issues a token for a grant, and a refresh token naming the same credential and generation
/// unless `with_refresh` is false (a pre-signed key's session cannot outlive its token).
async fn issue(
    api: &ApiContext,
    grant: Grant<'_>,
    with_refresh: bool,
) -> ApiResult<ObtainKrakenJsonWebToken> {
    let now = api.clock.now();
    let (token, claims) = api
        .tokens
        .issue(grant, now, None)
        .map_err(|e| KrakenError::internal("signing a token", &e))?;
    if !with_refresh {
        return Ok(ObtainKrakenJsonWebToken {
            token,
            payload: payload(&claims),
            refresh_token: None,
            refresh_expires_in: None,
        });
    }
    let refresh_token = credentials::generate("");
    let expires = now + Duration::seconds(REFRESH_LIFETIME_SECS);
    identity::insert_refresh_token(
        &api.db,
        &identity::NewRefreshToken {
            token_hash: &credentials::hash_secret(&refresh_token),
            subject: &grant.subject.claim(),
            grant_type: grant.grant_type,
            credential: &grant.credential.claim(),
            generation: grant.generation,
            original_iat: claims.iat,
            expires_at: expires,
        },
    )
    .await
    .map_err(internal)?;
    Ok(ObtainKrakenJsonWebToken {
        token,
        payload: payload(&claims),
        refresh_token: Some(refresh_token),
        refresh_expires_in: Some(expires.timestamp()),
    })
}

fn payload(claims: &crate::auth::tokens::Claims) -> GenericScalar {
    GenericScalar(serde_json::to_value(claims).unwrap_or_default())
}

/// Email and password. The attempt is reserved before the password is checked, and the check runs
/// in the bounded password pool.
async fn with_password(
    api: &ApiContext,
    meta: &RequestMeta,
    email: &str,
    password: &str,
) -> ApiResult<ObtainKrakenJsonWebToken> {
    let normalised = resiflex_domain::EmailAddress::parse(email).map(|e| e.to_string());
    let identity_key = normalised.as_deref().map(|e| format!("email:{e}"));
    let attempt = throttle::begin(api, meta, identity_key.as_deref()).await?;
    let user = match &normalised {
        Some(email) => identity::user_by_email(&api.db, email)
            .await
            .map_err(internal)?,
        None => None,
    };
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let (matches, attempt) = throttle::verify_password(api, attempt, password, hash).await?;
    match user {
        Some(user) if matches => {
            throttle::succeeded(api, attempt).await?;
            if !user_may_sign_in(api, &user).await? {
                return Err(KrakenError::with_message(
                    ErrorCode::AuthenticationFailed,
                    "This user can no longer sign in.",
                ));
            }
            let grant = Grant {
                subject: Subject::AccountUser(user.id),
                credential: Credential::Password,
                generation: user.password_generation,
                grant_type: grant::PASSWORD,
            };
            issue(api, grant, true).await
        }
        _ => {
            throttle::failed(api, attempt);
            Err(KrakenError::new(ErrorCode::InvalidCredentials))
        }
    }
}

async fn with_api_key(
    api: &ApiContext,
    meta: &RequestMeta,
    key: &str,
) -> ApiResult<ObtainKrakenJsonWebToken> {
    let attempt = throttle::begin(api, meta, None).await?;
    match identity::user_by_api_key_hash(&api.db, &credentials::hash_secret(key))
        .await
        .map_err(internal)?
    {
        Some(user) if user_may_sign_in(api, &user).await? => {
            throttle::succeeded(api, attempt).await?;
            let grant = Grant {
                subject: Subject::AccountUser(user.id),
                credential: Credential::ApiKey,
                generation: user.api_key_generation,
                grant_type: grant::API_KEY,
            };
            issue(api, grant, true).await
        }
        _ => {
            throttle::failed(api, attempt);
            Err(KrakenError::new(ErrorCode::AuthenticationFailed))
        }
    }
}

async fn with_organisation_key(
    api: &ApiContext,
    meta: &RequestMeta,
    key: &str,
) -> ApiResult<ObtainKrakenJsonWebToken> {
    let attempt = throttle::begin(api, meta, None).await?;
    match identity::organisation_by_key_hash(&api.db, &credentials::hash_secret(key))
        .await
        .map_err(internal)?
    {
        Some(org) => {
            throttle::succeeded(api, attempt).await?;
            let grant = Grant {
                subject: Subject::Organisation(org.id),
                credential: Credential::OrganisationKey,
                generation: org.key_generation,
                grant_type: grant::ORGANISATION,
            };
            issue(api, grant, true).await
        }
        None => {
            throttle::failed(api, attempt);
            Err(KrakenError::new(ErrorCode::AuthenticationFailed))
        }
    }
}

/// A pre-signed key signs in once (it is used up in the same statement that finds it), and its
/// session gets no refresh token.
async fn with_pre_signed_key(
    api: &ApiContext,
    meta: &RequestMeta,
    key: &str,
) -> ApiResult<ObtainKrakenJsonWebToken> {
    let now = api.clock.now();
    let attempt = throttle::begin(api, meta, None).await?;
    let used = identity::use_pre_signed_key(&api.db, &credentials::hash_secret(key), now)
        .await
        .map_err(internal)?;
    if let Some(key) = used
        && let Some(user) = identity::user_by_id(&api.db, key.user_id)
            .await
            .map_err(internal)?
        && user_may_sign_in(api, &user).await?
    {
        throttle::succeeded(api, attempt).await?;
        let grant = Grant {
            subject: Subject::AccountUser(user.id),
            credential: Credential::PreSigned(key.id),
            generation: 0,
            grant_type: grant::PRE_SIGNED,
        };
        return issue(api, grant, false).await;
    }
    throttle::failed(api, attempt);
    Err(KrakenError::new(ErrorCode::AuthenticationFailed))
}

/// A refresh gives a new token for the same subject and credential, while that credential's
/// generation is current; the refresh token itself and its expiry stay as they were, so one
/// sign-in lasts at most seven days.
async fn with_refresh_token(
    api: &ApiContext,
    meta: &RequestMeta,
    token: &str,
) -> ApiResult<ObtainKrakenJsonWebToken> {
    let now = api.clock.now();
    let attempt = throttle::begin(api, meta, None).await?;
    let Some(stored) = identity::refresh_token_by_hash(&api.db, &credentials::hash_secret(token))
        .await
        .map_err(internal)?
    else {
        throttle::failed(api, attempt);
        return Err(KrakenError::new(ErrorCode::RefreshTokenInvalid));
    };
    throttle::succeeded(api, attempt).await?;
    if stored.revoked_at.is_some() {
        return Err(KrakenError::new(ErrorCode::RefreshTokenInvalid));
    }
    if stored.expires_at <= now {
        return Err(KrakenError::new(ErrorCode::RefreshTokenExpired));
    }
    let invalid = || KrakenError::new(ErrorCode::RefreshTokenInvalid);
    let subject = Subject::parse(&stored.subject).ok_or_else(invalid)?;
    // Refresh tokens from before credentials had generations name none, and are refused.
    let credential = Credential::parse(&stored.credential).ok_or_else(invalid)?;
    match access::current_session(api, subject, credential, stored.generation).await? {
        Ok(_) => {}
        Err(Refusal::Stale) => return Err(invalid()),
        Err(Refusal::Locked) => return Err(KrakenError::new(ErrorCode::AuthenticationFailed)),
    }
    let grant = Grant {
        subject,
        credential,
        generation: stored.generation,
        grant_type: &stored.grant_type,
    };
    let (new_token, claims) = api
        .tokens
        .issue(grant, now, Some(stored.original_iat))
        .map_err(|e| KrakenError::internal("signing a token", &e))?;
    Ok(ObtainKrakenJsonWebToken {
        token: new_token,
        payload: payload(&claims),
        refresh_token: Some(token.trim().to_owned()),
        refresh_expires_in: Some(stored.expires_at.timestamp()),
    })
}

pub(super) async fn run(
    ctx: &Context<'_>,
    input: ObtainJsonWebTokenInput,
) -> ApiResult<ObtainKrakenJsonWebToken> {
    let api = api(ctx)?;
    let meta = ctx
        .data::<RequestMeta>()
        .map_err(|_| KrakenError::new(ErrorCode::Internal))?;
    match method(&input)? {
        Method::Password(email, password) => with_password(api, meta, email, password).await,
        Method::ApiKey(key) => with_api_key(api, meta, key).await,
        Method::Organisation(key) => with_organisation_key(api, meta, key).await,
        Method::Refresh(token) => with_refresh_token(api, meta, token).await,
        Method::PreSigned(key) => with_pre_signed_key(api, meta, key).await,
    }
}
