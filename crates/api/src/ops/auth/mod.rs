//! Signing in: `obtainKrakenToken`, personal API keys (`regenerateSecretKey`) and pre-signed keys
//! (`generatePreSignedToken`, `invalidatePreSignedToken`, `invalidatePreSignedTokensForUser`).
//!
//! One file per operation, with its input and payload types; this module keeps the resolvers and
//! the helpers several operations share.

mod generate_pre_signed_token;
mod invalidate_pre_signed_token;
mod invalidate_pre_signed_tokens_for_user;
mod obtain_kraken_token;
mod regenerate_secret_key;

use async_graphql::{Context, Object};
use resiflex_store::identity::{self, AccountUser};

pub use generate_pre_signed_token::GeneratePreSignedToken;
pub use invalidate_pre_signed_token::{InvalidatePreSignedToken, InvalidatePreSignedTokenInput};
pub use invalidate_pre_signed_tokens_for_user::{
    InvalidatePreSignedTokensForUser, InvalidatePreSignedTokensForUserInput,
};
pub use obtain_kraken_token::{ObtainJsonWebTokenInput, ObtainKrakenJsonWebToken};
pub use regenerate_secret_key::RegenerateSecretKey;

use super::{OperationErrors, OperationKind};
use crate::context::ApiContext;
use crate::errors::{ApiResult, ErrorCode, KrakenError};

pub const ERRORS: &[OperationErrors] = &[
    OperationErrors {
        name: "obtainKrakenToken",
        kind: OperationKind::Mutation,
        codes: &[
            ErrorCode::InvalidInput,
            ErrorCode::InvalidCredentials,
            ErrorCode::AuthenticationFailed,
            ErrorCode::RefreshTokenExpired,
            ErrorCode::RefreshTokenInvalid,
            ErrorCode::TooManyRequests,
        ],
        protected: false,
    },
    OperationErrors {
        name: "regenerateSecretKey",
        kind: OperationKind::Mutation,
        codes: &[ErrorCode::Unauthorized],
        protected: true,
    },
    OperationErrors {
        name: "generatePreSignedToken",
        kind: OperationKind::Mutation,
        codes: &[
            ErrorCode::PreSignedKeyAdminUnauthorized,
            ErrorCode::PreSignedKeyUnauthorized,
            ErrorCode::InvalidInput,
        ],
        protected: true,
    },
    OperationErrors {
        name: "invalidatePreSignedToken",
        kind: OperationKind::Mutation,
        codes: &[ErrorCode::PreSignedKeyInvalid],
        protected: true,
    },
    OperationErrors {
        name: "invalidatePreSignedTokensForUser",
        kind: OperationKind::Mutation,
        codes: &[ErrorCode::PreSignedKeyAdminUnauthorized],
        protected: true,
    },
];

fn internal(err: resiflex_store::StoreError) -> KrakenError {
    KrakenError::internal("sign-in", &err)
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Signs in and returns a token, its claims and a refresh token.
    async fn obtain_kraken_token(
        &self,
        ctx: &Context<'_>,
        input: ObtainJsonWebTokenInput,
    ) -> ApiResult<ObtainKrakenJsonWebToken> {
        obtain_kraken_token::run(ctx, input).await
    }

    /// Replaces the signed-in user's personal API key and returns the new one; the old one, and
    /// every token and refresh token signed in with it, stops working at once. Not from a session
    /// a pre-signed key started (KT-CT-1111).
    async fn regenerate_secret_key(&self, ctx: &Context<'_>) -> ApiResult<RegenerateSecretKey> {
        regenerate_secret_key::run(ctx).await
    }

    /// Mints a short-lived key (15 minutes unless `expiryMinutes` says otherwise, at most 7 days) that
    /// signs one of the organisation's customers in. Organisations only.
    async fn generate_pre_signed_token(
        &self,
        ctx: &Context<'_>,
        email: String,
        expiry_minutes: Option<i32>,
    ) -> ApiResult<GeneratePreSignedToken> {
        generate_pre_signed_token::run(ctx, email, expiry_minutes).await
    }

    /// Invalidates one pre-signed key the organisation minted, used or not; the session it started
    /// ends too.
    async fn invalidate_pre_signed_token(
        &self,
        ctx: &Context<'_>,
        input: InvalidatePreSignedTokenInput,
    ) -> ApiResult<InvalidatePreSignedToken> {
        invalidate_pre_signed_token::run(ctx, input).await
    }

    /// Invalidates every pre-signed key the organisation minted for a user that is not yet
    /// invalidated, and the sessions they started.
    async fn invalidate_pre_signed_tokens_for_user(
        &self,
        ctx: &Context<'_>,
        input: InvalidatePreSignedTokensForUserInput,
    ) -> ApiResult<InvalidatePreSignedTokensForUser> {
        invalidate_pre_signed_tokens_for_user::run(ctx, input).await
    }
}

/// A user of one of the organisation's accounts, by email; anyone else is refused with KT-CT-1128.
async fn organisation_user(
    api: &ApiContext,
    organisation_id: i64,
    email: &str,
) -> ApiResult<AccountUser> {
    let refused = || KrakenError::new(ErrorCode::PreSignedKeyAdminUnauthorized);
    let email = resiflex_domain::EmailAddress::parse(email).ok_or_else(refused)?;
    let user = identity::user_by_email(&api.db, email.as_str())
        .await
        .map_err(internal)?
        .ok_or_else(refused)?;
    let belongs =
        resiflex_store::accounts::user_belongs_to_organisation(&api.db, user.id, organisation_id)
            .await
            .map_err(internal)?;
    if belongs && user.deleted_at.is_none() {
        Ok(user)
    } else {
        Err(refused())
    }
}
