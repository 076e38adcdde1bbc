//! Passwords, which people choose (or, for charge points, which ResiFlex issued), are stored as
//! salted Argon2id hashes in PHC string form. These functions are slow on purpose: call them
//! through the [`crate::PasswordPool`] on request paths.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore as _;

pub use argon2::password_hash::Error;

fn argon2() -> Argon2<'static> {
    // OWASP's recommended Argon2id settings: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with Argon2id and a random salt (PHC string format).
pub fn hash_password(password: &str) -> Result<String, Error> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)?;
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether a stored hash is an Argon2 PHC string (and not some older form).
pub fn is_password_hash(stored: &str) -> bool {
    stored.starts_with("$argon2")
}

/// A hash of a random password nobody knows, verified against when a user does not exist or has no
/// password, so that an unknown email takes as long to refuse as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&crate::secrets::generate("")).unwrap_or_default())
}

/// Checks a password against a stored hash (or against a dummy hash when there is none).
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    let (hash, real) = match stored {
        Some(hash) => (hash, true),
        None => (dummy_hash(), false),
    };
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip_and_never_match_without_a_hash() {
        let hash = hash_password("correct horse battery staple").unwrap();
        assert!(hash.starts_with("$argon2id$") && is_password_hash(&hash));
        assert!(verify_password("correct horse battery staple", Some(&hash)));
        assert!(!verify_password(
            "Correct horse battery staple",
            Some(&hash)
        ));
        assert!(!verify_password("anything", None));
        assert!(
            PasswordHash::new(dummy_hash()).is_ok(),
            "the dummy hash parses, so refusals take full time"
        );
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        let a = hash_password("the same password").unwrap();
        let b = hash_password("the same password").unwrap();
        assert_ne!(a, b, "salted");
        assert!(verify_password("the same password", Some(&a)));
        assert!(verify_password("the same password", Some(&b)));
    }
}
