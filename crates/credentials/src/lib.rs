//! Secrets and sign-in, shared by the GraphQL API (account users and organisations) and the OCPP
//! endpoint (charge points):
//!
//! - [`secrets`]: long random secrets (keys, tokens) and their SHA-256 hashes, which allow lookup.
//! - [`password`]: Argon2id hashes of passwords, salted, in PHC form.
//! - [`pool`]: the bounded pool every password hash and check runs in, so a flood of sign-ins
//!   cannot take more memory or CPU than the pool's workers; a full queue answers
//!   [`PoolError::Busy`].
//! - [`throttle`]: attempts reserved in the database before a secret is checked, per identity and
//!   client address, so several servers count together and concurrency cannot overshoot a limit.
//!
//! Nothing here logs a secret.

pub mod password;
pub mod pool;
pub mod secrets;
pub mod settings;
pub mod throttle;

pub use pool::{PasswordPool, PoolError};
pub use settings::SignInSettings;
pub use throttle::{Attempt, Throttle, ThrottleError};

/// The name under which the key for remembering known sign-in addresses is kept in the server's
/// secret store.
pub const ADDRESS_KEY_SECRET: &str = "sign_in_address_key";

/// What every sign-in path of one server shares: the password pool and the throttle.
#[derive(Debug)]
pub struct SignInGuard {
    pub pool: PasswordPool,
    pub throttle: Throttle,
}

impl SignInGuard {
    /// A guard with these settings; `address_key` keys the hashes of known sign-in addresses (the
    /// same on every server sharing the database).
    pub fn new(settings: &SignInSettings, address_key: &[u8]) -> SignInGuard {
        SignInGuard {
            pool: PasswordPool::new(settings.workers(), settings.password_queue),
            throttle: Throttle::new(settings, address_key),
        }
    }
}

impl Default for SignInGuard {
    /// The default settings and a random address key (for tests and tools; a server passes the
    /// key it keeps in its database).
    fn default() -> Self {
        SignInGuard::new(&SignInSettings::default(), secrets::generate("").as_bytes())
    }
}
