//! Secrets the server generates for itself (for example the key that signs its tokens). They are created
//! once, on first use, and kept in the database so that a restart, or a second server on the same
//! database, uses the same ones.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;

use crate::{Db, StoreError, on_db};

/// The name under which the token-signing key is stored.
pub const TOKEN_SIGNING_KEY: &str = "token_signing_key";

/// Returns the secret called `name`, generating 32 random bytes (URL-safe base64) the first time.
/// Concurrent first calls agree on one value: the insert is conditional and everybody reads back.
pub async fn get_or_create(db: &Db, name: &str, now: DateTime<Utc>) -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let candidate = URL_SAFE_NO_PAD.encode(bytes);
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(&candidate)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    let value: String = on_db!(db, |pool| {
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(pool)
            .await
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;

    #[tokio::test]
    async fn a_secret_is_generated_once_and_kept() {
        let test = TestDb::new().await;
        let now = Utc::now();
        let first = get_or_create(&test.db, TOKEN_SIGNING_KEY, now)
            .await
            .unwrap();
        assert!(first.len() >= 43, "32 random bytes in base64");
        let again = get_or_create(&test.db, TOKEN_SIGNING_KEY, now)
            .await
            .unwrap();
        assert_eq!(first, again);
        let other = get_or_create(&test.db, "another", now).await.unwrap();
        assert_ne!(first, other);
    }

    #[tokio::test]
    async fn a_secret_survives_reopening_the_database() {
        let test = TestDb::new().await;
        let first = get_or_create(&test.db, TOKEN_SIGNING_KEY, Utc::now())
            .await
            .unwrap();
        let reopened = test.reopen().await;
        let again = get_or_create(&reopened, TOKEN_SIGNING_KEY, Utc::now())
            .await
            .unwrap();
        assert_eq!(first, again);
    }
}
