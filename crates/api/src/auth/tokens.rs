//! Kraken tokens: JWTs signed (HS256) with the server's persisted key, valid for 60 minutes. Expiry is
//! checked against the injected clock, not the system clock, so tests control it.
//!
//! Every token names the credential it was signed in with (`cred`) and that credential's
//! generation (`gen`); the caller is resolved only while that generation is current (see
//! [`crate::auth::access`]), so a new password, a new API key, a rotated organisation key or an
//! invalidated pre-signed key ends the sessions it had started. Each token has its own `jti`.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

/// How long a token is valid.
pub const TOKEN_LIFETIME_SECS: i64 = 60 * 60;
/// How long a refresh token is valid.
pub const REFRESH_LIFETIME_SECS: i64 = 7 * 24 * 60 * 60;
pub const ISSUER: &str = "resiflex";

/// Who a token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    AccountUser(i64),
    Organisation(i64),
}

impl Subject {
    /// The `sub` claim, in Kraken's form (`kraken|account-user:42`).
    pub fn claim(self) -> String {
        match self {
            Subject::AccountUser(id) => format!("kraken|account-user:{id}"),
            Subject::Organisation(id) => format!("kraken|organisation:{id}"),
        }
    }

    pub fn parse(claim: &str) -> Option<Subject> {
        let rest = claim.strip_prefix("kraken|")?;
        if let Some(id) = rest.strip_prefix("account-user:") {
            return id.parse().ok().map(Subject::AccountUser);
        }
        rest.strip_prefix("organisation:")?
            .parse()
            .ok()
            .map(Subject::Organisation)
    }
}

/// The credential a session was signed in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// The account user's password.
    Password,
    /// The account user's personal API key.
    ApiKey,
    /// The organisation's secret key.
    OrganisationKey,
    /// One pre-signed key, by its id.
    PreSigned(i64),
}

impl Credential {
    /// The `cred` claim: `password`, `api-key`, `organisation-key` or `pre-signed:<id>`.
    pub fn claim(self) -> String {
        match self {
            Credential::Password => "password".to_owned(),
            Credential::ApiKey => "api-key".to_owned(),
            Credential::OrganisationKey => "organisation-key".to_owned(),
            Credential::PreSigned(id) => format!("pre-signed:{id}"),
        }
    }

    pub fn parse(claim: &str) -> Option<Credential> {
        match claim {
            "password" => Some(Credential::Password),
            "api-key" => Some(Credential::ApiKey),
            "organisation-key" => Some(Credential::OrganisationKey),
            _ => claim
                .strip_prefix("pre-signed:")?
                .parse()
                .ok()
                .map(Credential::PreSigned),
        }
    }

    /// Whether a session signed in with this credential may change credentials (its own or the
    /// user's): not a pre-signed key's, which a partner minted for one visit.
    pub fn may_manage_credentials(self) -> bool {
        !matches!(self, Credential::PreSigned(_))
    }
}

/// The claims of a token, as `obtainKrakenToken` also returns them in `payload`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub sub: String,
    /// How the caller signed in (grant type), e.g. `EMAIL-AND-PASSWORD`.
    pub gty: String,
    pub token_use: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
    /// When the caller first signed in; kept across refreshes.
    pub orig_iat: i64,
    /// This token's unique id.
    pub jti: String,
    /// The credential signed in with ([`Credential::claim`]).
    pub cred: String,
    /// That credential's generation when the token was issued (the `gen` claim).
    #[serde(rename = "gen")]
    pub generation: i64,
}

impl Claims {
    pub fn credential(&self) -> Option<Credential> {
        Credential::parse(&self.cred)
    }
}

/// What a token is issued for.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    pub subject: Subject,
    pub credential: Credential,
    pub generation: i64,
    /// How the caller signed in (the `gty` claim).
    pub grant_type: &'a str,
}

/// Why a presented token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

/// Signs and checks tokens with one key.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    pub fn from_secret(secret: &[u8]) -> TokenKeys {
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// Issues a token for a grant at `now`. `orig_iat` is the first sign-in's time (now, unless
    /// refreshing).
    pub fn issue(
        &self,
        grant: Grant<'_>,
        now: DateTime<Utc>,
        orig_iat: Option<i64>,
    ) -> Result<(String, Claims), jsonwebtoken::errors::Error> {
        let iat = now.timestamp();
        let claims = Claims {
            sub: grant.subject.claim(),
            gty: grant.grant_type.to_owned(),
            token_use: "access".to_owned(),
            iss: ISSUER.to_owned(),
            iat,
            exp: iat + TOKEN_LIFETIME_SECS,
            orig_iat: orig_iat.unwrap_or(iat),
            jti: uuid::Uuid::new_v4().to_string(),
            cred: grant.credential.claim(),
            generation: grant.generation,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, claims))
    }

    /// Checks the signature, the algorithm (HS256 only; `none` and others are refused), the issuer
    /// and the expiry at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<(Subject, Claims), TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false; // checked below against the injected clock
        validation.set_required_spec_claims(&["exp", "sub", "iat", "jti"]);
        validation.set_issuer(&[ISSUER]);
        let data = decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| TokenError::Invalid)?;
        let claims = data.claims;
        if claims.token_use != "access" {
            return Err(TokenError::Invalid);
        }
        if now.timestamp() >= claims.exp {
            return Err(TokenError::Expired);
        }
        let subject = Subject::parse(&claims.sub).ok_or(TokenError::Invalid)?;
        if claims.credential().is_none() {
            return Err(TokenError::Invalid);
        }
        Ok((subject, claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    fn grant(subject: Subject) -> Grant<'static> {
        Grant {
            subject,
            credential: Credential::ApiKey,
            generation: 1,
            grant_type: "API-KEY",
        }
    }

    #[test]
    fn a_token_is_valid_for_sixty_minutes() {
        let keys = TokenKeys::from_secret(b"one key");
        let (token, claims) = keys
            .issue(grant(Subject::AccountUser(7)), now(), None)
            .unwrap();
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(claims.exp - claims.iat, 3600);
        assert_eq!(
            keys.verify(&token, now() + Duration::minutes(59))
                .unwrap()
                .0,
            Subject::AccountUser(7)
        );
        assert_eq!(
            keys.verify(&token, now() + Duration::minutes(60))
                .unwrap_err(),
            TokenError::Expired
        );
    }

    #[test]
    fn foreign_tampered_and_unsigned_tokens_are_invalid() {
        let keys = TokenKeys::from_secret(b"one key");
        let other = TokenKeys::from_secret(b"another key");
        let (token, _) = other
            .issue(grant(Subject::Organisation(1)), now(), None)
            .unwrap();
        assert_eq!(keys.verify(&token, now()).unwrap_err(), TokenError::Invalid);

        let (token, claims) = keys
            .issue(grant(Subject::AccountUser(1)), now(), None)
            .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims.clone();
        forged.sub = Subject::AccountUser(2).claim();
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            keys.verify(&format!("{}.{body}.{}", parts[0], parts[2]), now())
                .unwrap_err(),
            TokenError::Invalid
        );

        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            keys.verify(&format!("{none_header}.{}.", parts[1]), now())
                .unwrap_err(),
            TokenError::Invalid
        );
        assert_eq!(
            keys.verify("not a token", now()).unwrap_err(),
            TokenError::Invalid
        );
    }

    #[test]
    fn tokens_of_one_second_differ_and_name_their_credential() {
        let keys = TokenKeys::from_secret(b"one key");
        let (a, claims_a) = keys
            .issue(grant(Subject::AccountUser(7)), now(), None)
            .unwrap();
        let (b, claims_b) = keys
            .issue(grant(Subject::AccountUser(7)), now(), None)
            .unwrap();
        assert_ne!(a, b);
        assert_ne!(claims_a.jti, claims_b.jti);
        let (_, verified) = keys.verify(&a, now()).unwrap();
        assert_eq!(
            (verified.credential(), verified.generation),
            (Some(Credential::ApiKey), 1)
        );
        for credential in [
            Credential::Password,
            Credential::ApiKey,
            Credential::OrganisationKey,
            Credential::PreSigned(9),
        ] {
            assert_eq!(Credential::parse(&credential.claim()), Some(credential));
        }
        assert_eq!(Credential::parse("pre-signed:x"), None);
        assert!(!Credential::PreSigned(9).may_manage_credentials());
        assert!(Credential::Password.may_manage_credentials());
    }

    #[test]
    fn subjects_round_trip() {
        for subject in [Subject::AccountUser(42), Subject::Organisation(3)] {
            assert_eq!(Subject::parse(&subject.claim()), Some(subject));
        }
        assert_eq!(Subject::parse("kraken|account-user:x"), None);
    }
}
