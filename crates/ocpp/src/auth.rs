//! OCPP Security Profile 1: HTTP Basic authentication with a per-charger password. Passwords are
//! long random strings, stored as SHA-256 hashes (like every random secret in ResiFlex) and
//! compared in constant time. The user name must be the charge point identity of the URL.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

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

/// The stored form of a password.
pub fn hash_password(password: &str) -> String {
    hex::encode(Sha256::digest(password.as_bytes()))
}

/// Whether `password` matches the stored hash (in constant time).
pub fn password_matches(password: &str, stored_hash: &str) -> bool {
    hash_password(password)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
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
        let hash = hash_password(&password);
        assert!(password_matches(&password, &hash));
        assert!(!password_matches("wrong", &hash));
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
