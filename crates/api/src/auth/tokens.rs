//! Kraken tokens: JWTs signed (HS256) with the server's persisted key, valid for 60 minutes. Expiry is
//! checked against the injected clock, not the system clock, so tests control it.

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

    /// Issues a token for `subject` at `now`. `orig_iat` is the first sign-in's time (now, unless
    /// refreshing).
    pub fn issue(
        &self,
        subject: Subject,
        grant_type: &str,
        now: DateTime<Utc>,
        orig_iat: Option<i64>,
    ) -> Result<(String, Claims), jsonwebtoken::errors::Error> {
        let iat = now.timestamp();
        let claims = Claims {
            sub: subject.claim(),
            gty: grant_type.to_owned(),
            token_use: "access".to_owned(),
            iss: ISSUER.to_owned(),
            iat,
            exp: iat + TOKEN_LIFETIME_SECS,
            orig_iat: orig_iat.unwrap_or(iat),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, claims))
    }

    /// Checks the signature, the algorithm (HS256 only; `none` and others are refused), the issuer
    /// and the expiry at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<(Subject, Claims), TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false; // checked below against the injected clock
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
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

    #[test]
    fn a_token_is_valid_for_sixty_minutes() {
        let keys = TokenKeys::from_secret(b"one key");
        let (token, claims) = keys
            .issue(Subject::AccountUser(7), "API-KEY", now(), None)
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
            .issue(
                Subject::Organisation(1),
                "ORGANIZATION-SECRET-KEY",
                now(),
                None,
            )
            .unwrap();
        assert_eq!(keys.verify(&token, now()).unwrap_err(), TokenError::Invalid);

        let (token, claims) = keys
            .issue(Subject::AccountUser(1), "API-KEY", now(), None)
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
    fn subjects_round_trip() {
        for subject in [Subject::AccountUser(42), Subject::Organisation(3)] {
            assert_eq!(Subject::parse(&subject.claim()), Some(subject));
        }
        assert_eq!(Subject::parse("kraken|account-user:x"), None);
    }
}
