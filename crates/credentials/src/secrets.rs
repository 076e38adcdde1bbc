//! Long random secrets (organisation keys, API keys, refresh tokens, pre-signed keys). They are
//! stored as SHA-256 hashes: a secret of 32 random bytes needs no slow hash, and a fast one allows
//! lookup by hash.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of organisation secret keys and personal API keys, as in Kraken.
pub const LIVE_KEY_PREFIX: &str = "sk_live_";

/// A new random secret: `prefix` followed by 32 random bytes in URL-safe base64.
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a random secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.trim().as_bytes()))
}

/// Compares two hashes in constant time.
pub fn hashes_match(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_unique_and_prefixed() {
        let a = generate(LIVE_KEY_PREFIX);
        let b = generate(LIVE_KEY_PREFIX);
        assert!(a.starts_with("sk_live_") && a.len() > 40);
        assert_ne!(a, b);
        assert_eq!(hash_secret(&a), hash_secret(&format!(" {a} ")));
        assert!(hashes_match(&hash_secret(&a), &hash_secret(&a)));
        assert!(!hashes_match(&hash_secret(&a), &hash_secret(&b)));
    }
}
