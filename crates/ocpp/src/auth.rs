//! OCPP Security Profile 1: HTTP Basic authentication with a per-charger password. The user name
//! must be the charge point identity of the URL.
//!
//! Passwords are stored as salted Argon2id hashes, computed and checked in the server's bounded
//! password pool (shared with the API's sign-ins), so two chargers with the same password have
//! different stored hashes and a flood of handshakes cannot take more than the pool's workers.
//! Rows from before hold an unsalted SHA-256; they still sign in (compared in constant time) and
//! are replaced by an Argon2id hash on their next successful sign-in. Attempts are throttled like
//! the API's (`resiflex_credentials::throttle`): per charge point and client address, and per
//! charge point from every address except those it signed in from before; past a limit the
//! handshake is refused with 429 before the password is checked.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore as _;
use resiflex_credentials::throttle::Who;
use resiflex_credentials::{PoolError, ThrottleError};
use resiflex_store::ocpp::{self as store, ChargePoint};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::Inner;

/// The longest charge point identity accepted.
pub const MAX_IDENTITY: usize = 48;

/// A new password: 24 random bytes in URL-safe base64, 32 characters (OCPP allows 16 to 40).
pub fn new_password() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new charge point identity: `RFX-` and twelve random hexadecimal digits.
pub fn new_identity() -> String {
    let mut bytes = [0u8; 6];
    rand::rng().fill_bytes(&mut bytes);
    format!("RFX-{}", hex::encode_upper(bytes))
}

/// The stored form of a password: a salted Argon2id hash. Slow on purpose; on request paths the
/// central system hashes through its password pool.
pub fn hash_password(password: &str) -> Result<String, resiflex_credentials::password::Error> {
    resiflex_credentials::password::hash_password(password)
}

/// The unsalted SHA-256 (hex) that charge point passwords were once stored as.
pub fn legacy_hash(password: &str) -> String {
    hex::encode(Sha256::digest(password.as_bytes()))
}

/// Whether `password` matches a legacy SHA-256 hash (in constant time).
fn legacy_matches(password: &str, stored_hash: &str) -> bool {
    legacy_hash(password)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

/// The outcome of a charge point's handshake credentials.
#[derive(Debug)]
pub(crate) enum Verdict {
    Accepted(Box<ChargePoint>),
    /// Unknown, revoked, a user name that is not the identity, or a wrong password.
    Refused,
    /// Too many failed attempts lately: refused without checking the password.
    Throttled,
    /// The password pool is full: try again shortly.
    Busy,
    /// The database did not answer.
    Unavailable,
}

/// Checks a charge point's Basic credentials: reserves the attempt, checks the password (Argon2id
/// in the pool, or a legacy SHA-256, which is then upgraded), and counts the outcome.
pub(crate) async fn authenticate(
    inner: &Inner,
    charge_point_id: &str,
    user: &str,
    password: &str,
    address: Option<IpAddr>,
) -> Verdict {
    let guard = &inner.sign_in;
    let identity = format!("charge-point:{charge_point_id}");
    let who = Who {
        identity: Some(&identity),
        address,
        count_address: false,
    };
    let attempt = match guard
        .throttle
        .begin(&inner.db, who, inner.clock.now())
        .await
    {
        Ok(attempt) => attempt,
        Err(ThrottleError::TooMany) => return Verdict::Throttled,
        Err(ThrottleError::Store(err)) => {
            tracing::error!(error = %err, "reserving a charge point's sign-in failed");
            return Verdict::Unavailable;
        }
    };
    let row = match store::charge_point(&inner.db, charge_point_id).await {
        Ok(row) => row.filter(|r| r.revoked_at.is_none() && user == charge_point_id),
        Err(err) => {
            tracing::error!(error = %err, "reading a charge point failed");
            if let Err(err) = guard.throttle.abandoned(&inner.db, attempt).await {
                tracing::error!(error = %err, "giving back a charge point's sign-in failed");
            }
            return Verdict::Unavailable;
        }
    };
    let stored = row.as_ref().map(|r| r.password_hash.clone());
    let legacy = stored
        .as_deref()
        .is_some_and(|h| !resiflex_credentials::password::is_password_hash(h));
    let matches = match stored {
        Some(hash) if legacy => legacy_matches(password, &hash),
        stored => {
            match guard
                .pool
                .verify_password(password.to_owned(), stored)
                .await
            {
                Ok(matches) => matches,
                Err(err) => {
                    if let Err(err) = guard.throttle.abandoned(&inner.db, attempt).await {
                        tracing::error!(error = %err, "giving back a charge point's sign-in failed");
                    }
                    return match err {
                        PoolError::Busy => Verdict::Busy,
                        PoolError::Failed => Verdict::Unavailable,
                    };
                }
            }
        }
    };
    let Some(row) = row.filter(|_| matches) else {
        guard.throttle.failed(attempt);
        return Verdict::Refused;
    };
    if let Err(err) = guard
        .throttle
        .succeeded(&inner.db, attempt, inner.clock.now())
        .await
    {
        tracing::error!(error = %err, "recording a charge point's sign-in failed");
    }
    if legacy {
        upgrade(inner, &row, password).await;
    }
    Verdict::Accepted(Box::new(row))
}

/// Replaces a legacy hash by an Argon2id one; on failure (a busy pool, a database error) the
/// legacy hash stays and the next sign-in tries again.
async fn upgrade(inner: &Inner, row: &ChargePoint, password: &str) {
    let hash = match inner.sign_in.pool.hash_password(password.to_owned()).await {
        Ok(hash) => hash,
        Err(err) => {
            tracing::info!(charge_point = %row.id, error = %err, "a charge point's password hash was not upgraded yet");
            return;
        }
    };
    match store::upgrade_password_hash(&inner.db, &row.id, &row.password_hash, &hash).await {
        Ok(true) => {
            tracing::info!(charge_point = %row.id, "upgraded a charge point's password hash")
        }
        Ok(false) => {}
        Err(err) => {
            tracing::error!(charge_point = %row.id, error = %err, "upgrading a charge point's password hash failed")
        }
    }
}

/// Whether an identity from a URL is one ResiFlex can have issued or accepted: printable ASCII
/// without separators, at most [`MAX_IDENTITY`] characters.
pub fn valid_identity(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_IDENTITY
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:*".contains(&b))
}

/// The user name and password of an `Authorization: Basic ...` header value.
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_identities_are_random_and_checked() {
        let password = new_password();
        assert_eq!(password.len(), 32);
        assert_ne!(password, new_password());
        let hash = legacy_hash(&password);
        assert!(legacy_matches(&password, &hash));
        assert!(!legacy_matches("wrong", &hash));
        let salted = hash_password(&password).unwrap();
        assert!(salted.starts_with("$argon2id$"));
        assert_ne!(salted, hash_password(&password).unwrap(), "salted");
        let id = new_identity();
        assert!(id.starts_with("RFX-") && valid_identity(&id), "{id}");
        assert!(!valid_identity(""));
        assert!(!valid_identity("a/b"));
        assert!(!valid_identity(&"x".repeat(49)));
    }

    #[test]
    fn basic_headers_are_parsed() {
        let header = format!("Basic {}", STANDARD.encode("CP-1:s3cret:with:colons"));
        assert_eq!(
            basic_credentials(&header),
            Some(("CP-1".into(), "s3cret:with:colons".into()))
        );
        assert_eq!(basic_credentials("Bearer abc"), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
    }
}
