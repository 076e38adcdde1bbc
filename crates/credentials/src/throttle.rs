//! Sign-in throttling, kept in the database so that every server sharing it counts together and a
//! restart forgets nothing.
//!
//! Every attempt is *reserved* before the secret is checked, in one statement that also tests the
//! limit (see `resiflex_store::identity::reserve_sign_in_attempt`), so however many attempts
//! arrive at once, no more than the limit are ever evaluated. A successful or unevaluated attempt
//! gives its reservation back; a failed one keeps it until the window ends. Three counters:
//!
//! - per identity and client address (an email, or a charge point, from one address): the tight
//!   limit that stops guessing from one place;
//! - per identity from every address together: a ceiling on distributed guessing, which does not
//!   apply to an address that signed in as that identity before (remembered as a keyed hash of the
//!   pair), so an attacker elsewhere cannot lock the owner out;
//! - per client address, whatever it tries to sign in as (for the API's random keys and tokens,
//!   which have no identity to count).
//!
//! A window starts with its first attempt and lasts `window_minutes`; then the counter starts again.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use resiflex_store::{Db, StoreError, identity as store};
use sha2::Sha256;

use crate::settings::SignInSettings;

const ADDRESS: &str = "address";
const IDENTITY_ADDRESS: &str = "identity-address";
const IDENTITY: &str = "identity";

/// Why an attempt was not reserved.
#[derive(Debug, thiserror::Error)]
pub enum ThrottleError {
    /// A limit is reached: refuse without checking the secret.
    #[error("too many failed sign-ins")]
    TooMany,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counts sign-in attempts against the limits of its settings.
pub struct Throttle {
    settings: SignInSettings,
    address_key: Vec<u8>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A reserved attempt: hand it back with [`Throttle::succeeded`], [`Throttle::abandoned`] or
/// [`Throttle::failed`].
#[derive(Debug)]
#[must_use = "an attempt ends as succeeded, failed or abandoned"]
pub struct Attempt {
    reserved: Vec<(&'static str, String)>,
    /// The keyed hash of (identity, address), remembered when the attempt succeeds.
    known_key: Option<String>,
}

/// What an attempt is counted against.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    /// The identity signed in as (`email:...`, `charge-point:...`), if the credential names one.
    pub identity: Option<&'a str>,
    /// The client's address, when known.
    pub address: Option<IpAddr>,
    /// Whether the per-address counter applies.
    pub count_address: bool,
}

impl Throttle {
    pub fn new(settings: &SignInSettings, address_key: &[u8]) -> Throttle {
        Throttle {
            settings: *settings,
            address_key: address_key.to_vec(),
        }
    }

    pub fn settings(&self) -> &SignInSettings {
        &self.settings
    }

    fn window_cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::minutes(self.settings.window_minutes)
    }

    /// The keyed hash under which an (identity, address) pair that signed in is remembered.
    fn known_key(&self, identity: &str, address: IpAddr) -> Option<String> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.address_key).ok()?;
        mac.update(identity.as_bytes());
        mac.update(b"\0");
        mac.update(address.to_string().as_bytes());
        Some(hex::encode(mac.finalize().into_bytes()))
    }

    /// Reserves an attempt against every counter that applies, or refuses with
    /// [`ThrottleError::TooMany`] (giving back what it had reserved) when one is at its limit.
    pub async fn begin(
        &self,
        db: &Db,
        who: Who<'_>,
        now: DateTime<Utc>,
    ) -> Result<Attempt, ThrottleError> {
        let mut attempt = Attempt {
            reserved: Vec::new(),
            known_key: None,
        };
        let result = self.reserve_all(db, who, now, &mut attempt).await;
        match result {
            Ok(()) => Ok(attempt),
            Err(err) => {
                self.release(db, &attempt.reserved).await?;
                Err(err)
            }
        }
    }

    async fn reserve_all(
        &self,
        db: &Db,
        who: Who<'_>,
        now: DateTime<Utc>,
        attempt: &mut Attempt,
    ) -> Result<(), ThrottleError> {
        let s = &self.settings;
        if who.count_address
            && let Some(address) = who.address
        {
            self.reserve(
                db,
                ADDRESS,
                address.to_string(),
                s.max_failures_per_address,
                now,
                attempt,
            )
            .await?;
        }
        let Some(identity) = who.identity else {
            return Ok(());
        };
        let place = who
            .address
            .map_or_else(|| "-".to_owned(), |a| a.to_string());
        self.reserve(
            db,
            IDENTITY_ADDRESS,
            format!("{identity}|{place}"),
            s.max_failures_per_identity_and_address,
            now,
            attempt,
        )
        .await?;
        attempt.known_key = who.address.and_then(|a| self.known_key(identity, a));
        let known = match &attempt.known_key {
            Some(key) => {
                store::is_known_sign_in_address(db, key, now - Duration::days(s.known_address_days))
                    .await?
            }
            None => false,
        };
        if !known {
            self.reserve(
                db,
                IDENTITY,
                identity.to_owned(),
                s.max_failures_per_identity,
                now,
                attempt,
            )
            .await?;
        }
        Ok(())
    }

    async fn reserve(
        &self,
        db: &Db,
        scope: &'static str,
        key: String,
        limit: i64,
        now: DateTime<Utc>,
        attempt: &mut Attempt,
    ) -> Result<(), ThrottleError> {
        if store::reserve_sign_in_attempt(db, scope, &key, limit, now, self.window_cutoff(now))
            .await?
        {
            attempt.reserved.push((scope, key));
            Ok(())
        } else {
            Err(ThrottleError::TooMany)
        }
    }

    async fn release(
        &self,
        db: &Db,
        reserved: &[(&'static str, String)],
    ) -> Result<(), StoreError> {
        for (scope, key) in reserved {
            store::release_sign_in_attempt(db, scope, key).await?;
        }
        Ok(())
    }

    /// The secret was right: the reservations are given back, the identity's failures from this
    /// address forgotten, and the address remembered as one the identity signs in from.
    pub async fn succeeded(
        &self,
        db: &Db,
        attempt: Attempt,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for (scope, key) in &attempt.reserved {
            if *scope == IDENTITY_ADDRESS {
                store::clear_sign_in_attempts(db, scope, key, self.window_cutoff(now)).await?;
            } else {
                store::release_sign_in_attempt(db, scope, key).await?;
            }
        }
        if let Some(key) = &attempt.known_key {
            store::remember_sign_in_address(db, key, now).await?;
        }
        Ok(())
    }

    /// The secret was never checked (the password pool was busy): the reservations are given back.
    pub async fn abandoned(&self, db: &Db, attempt: Attempt) -> Result<(), StoreError> {
        self.release(db, &attempt.reserved).await
    }

    /// The secret was wrong: the reservations stay counted until their window ends.
    pub fn failed(&self, attempt: Attempt) {
        drop(attempt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resiflex_store::testing::TestDb;

    fn settings() -> SignInSettings {
        SignInSettings {
            max_failures_per_identity_and_address: 2,
            max_failures_per_identity: 3,
            max_failures_per_address: 4,
            ..SignInSettings::default()
        }
    }

    fn who(address: [u8; 4]) -> Who<'static> {
        Who {
            identity: Some("email:ada@example.com"),
            address: Some(IpAddr::from(address)),
            count_address: true,
        }
    }

    #[tokio::test]
    async fn limits_per_pair_identity_and_address_and_the_owner_stays_in() {
        let test = TestDb::new().await;
        let throttle = Throttle::new(&settings(), b"key");
        let now = Utc::now();
        // The owner signs in once from home.
        let home = [10, 0, 0, 1];
        let attempt = throttle.begin(&test.db, who(home), now).await.unwrap();
        throttle.succeeded(&test.db, attempt, now).await.unwrap();
        // An attacker fails twice from one address, then is refused there.
        for _ in 0..2 {
            let attempt = throttle
                .begin(&test.db, who([10, 0, 0, 9]), now)
                .await
                .unwrap();
            throttle.failed(attempt);
        }
        assert!(matches!(
            throttle.begin(&test.db, who([10, 0, 0, 9]), now).await,
            Err(ThrottleError::TooMany)
        ));
        // One more failure from elsewhere reaches the identity's ceiling of three.
        let attempt = throttle
            .begin(&test.db, who([10, 0, 0, 8]), now)
            .await
            .unwrap();
        throttle.failed(attempt);
        assert!(matches!(
            throttle.begin(&test.db, who([10, 0, 0, 7]), now).await,
            Err(ThrottleError::TooMany)
        ));
        // The owner's address is exempt from the ceiling.
        let attempt = throttle.begin(&test.db, who(home), now).await.unwrap();
        throttle.succeeded(&test.db, attempt, now).await.unwrap();
        // An abandoned attempt gives its place back.
        let attempt = throttle.begin(&test.db, who(home), now).await.unwrap();
        throttle.abandoned(&test.db, attempt).await.unwrap();
        // After the window everything starts again.
        let later = now + Duration::minutes(16);
        let attempt = throttle
            .begin(&test.db, who([10, 0, 0, 9]), later)
            .await
            .unwrap();
        throttle.failed(attempt);
    }

    #[tokio::test]
    async fn the_address_limit_counts_every_identity() {
        let test = TestDb::new().await;
        let throttle = Throttle::new(&settings(), b"key");
        let now = Utc::now();
        let anonymous = Who {
            identity: None,
            address: Some(IpAddr::from([10, 0, 0, 5])),
            count_address: true,
        };
        for _ in 0..4 {
            let attempt = throttle.begin(&test.db, anonymous, now).await.unwrap();
            throttle.failed(attempt);
        }
        assert!(matches!(
            throttle.begin(&test.db, anonymous, now).await,
            Err(ThrottleError::TooMany)
        ));
        // A refused attempt reserved nothing, so a charge point (no address counter) still gets in.
        let charger = Who {
            identity: Some("charge-point:CP-1"),
            address: anonymous.address,
            count_address: false,
        };
        let attempt = throttle.begin(&test.db, charger, now).await.unwrap();
        throttle.succeeded(&test.db, attempt, now).await.unwrap();
    }
}
