//! Organisations, account users and their credentials. Every secret arrives here already hashed:
//! this module never sees a key, password or token in the clear.

use chrono::{DateTime, Utc};

use crate::{Db, StoreError, Tx, on_db, on_tx};

/// A partner organisation.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Organisation {
    pub id: i64,
    pub name: String,
    pub brand_code: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Moves on when the secret key is rotated; tokens of an older generation are refused.
    pub key_generation: i64,
}

const ORGANISATION_COLUMNS: &str = "id, name, brand_code, created_at, updated_at, key_generation";

pub async fn create_organisation(
    db: &Db,
    name: &str,
    brand_code: &str,
    secret_key_hash: &str,
    now: DateTime<Utc>,
) -> Result<Organisation, StoreError> {
    let sql = format!(
        "INSERT INTO organisations (name, brand_code, secret_key_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING {ORGANISATION_COLUMNS}"
    );
    let org = on_db!(db, |pool| sqlx::query_as::<_, Organisation>(&sql)
        .bind(name)
        .bind(brand_code)
        .bind(secret_key_hash)
        .bind(now)
        .fetch_one(pool)
        .await)?;
    Ok(org)
}

pub async fn organisation_by_key_hash(
    db: &Db,
    secret_key_hash: &str,
) -> Result<Option<Organisation>, StoreError> {
    let sql =
        format!("SELECT {ORGANISATION_COLUMNS} FROM organisations WHERE secret_key_hash = $1");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Organisation>(&sql)
        .bind(secret_key_hash)
        .fetch_optional(pool)
        .await)?)
}

pub async fn organisation_by_id(db: &Db, id: i64) -> Result<Option<Organisation>, StoreError> {
    let sql = format!("SELECT {ORGANISATION_COLUMNS} FROM organisations WHERE id = $1");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Organisation>(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await)?)
}

/// Replaces an organisation's secret key; the old one, and every token signed in with it, stops
/// working at once (the key's generation moves on).
pub async fn rotate_organisation_key(
    db: &Db,
    id: i64,
    secret_key_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let changed = on_db!(db, |pool| {
        sqlx::query(
        "UPDATE organisations SET secret_key_hash = $1, updated_at = $2, key_generation = key_generation + 1 WHERE id = $3"
    )
    .bind(secret_key_hash)
    .bind(now)
    .bind(id)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    if changed == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// A person who can sign in.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AccountUser {
    pub id: i64,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    pub mobile: Option<String>,
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// Moves on with every password change; tokens of an older generation are refused.
    pub password_generation: i64,
    /// Moves on whenever the user's API key is replaced.
    pub api_key_generation: i64,
}

const USER_COLUMNS: &str = "id, email, given_name, family_name, preferred_name, mobile, password_hash, created_at, updated_at, deleted_at, password_generation, api_key_generation";

/// The columns of [`AccountUser`], each prefixed with a table alias (`u.id, u.email, ...`).
pub(crate) fn user_columns_of(alias: &str) -> String {
    USER_COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What is needed to create a user.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Already normalised (lower-cased).
    pub email: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub preferred_name: Option<&'a str>,
    pub mobile: Option<&'a str>,
    pub password_hash: Option<&'a str>,
}

pub async fn insert_user(
    tx: &mut Tx,
    user: &NewUser<'_>,
    now: DateTime<Utc>,
) -> Result<AccountUser, StoreError> {
    let sql = format!(
        "INSERT INTO account_users (email, given_name, family_name, preferred_name, mobile, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {USER_COLUMNS}"
    );
    Ok(on_tx!(tx, |conn| sqlx::query_as::<_, AccountUser>(&sql)
        .bind(user.email)
        .bind(user.given_name)
        .bind(user.family_name)
        .bind(user.preferred_name)
        .bind(user.mobile)
        .bind(user.password_hash)
        .bind(now)
        .fetch_one(conn)
        .await)?)
}

pub async fn create_user(
    db: &Db,
    user: &NewUser<'_>,
    now: DateTime<Utc>,
) -> Result<AccountUser, StoreError> {
    let mut tx = db.begin().await?;
    let created = insert_user(&mut tx, user, now).await?;
    tx.commit().await?;
    Ok(created)
}

pub async fn user_by_id(db: &Db, id: i64) -> Result<Option<AccountUser>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM account_users WHERE id = $1");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, AccountUser>(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await)?)
}

/// Looks a user up by (normalised) email, including deleted users.
pub async fn user_by_email(db: &Db, email: &str) -> Result<Option<AccountUser>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM account_users WHERE email = $1");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, AccountUser>(&sql)
        .bind(email)
        .fetch_optional(pool)
        .await)?)
}

pub(crate) async fn user_by_email_tx(
    tx: &mut Tx,
    email: &str,
) -> Result<Option<AccountUser>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM account_users WHERE email = $1");
    Ok(on_tx!(tx, |conn| sqlx::query_as::<_, AccountUser>(&sql)
        .bind(email)
        .fetch_optional(conn)
        .await)?)
}

/// Sets a user's password hash; tokens signed in with the previous password stop working.
pub async fn set_password_hash(
    db: &Db,
    user_id: i64,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let changed = on_db!(db, |pool| {
        sqlx::query(
        "UPDATE account_users SET password_hash = $1, updated_at = $2, password_generation = password_generation + 1 \
         WHERE id = $3 AND deleted_at IS NULL"
    )
    .bind(password_hash)
    .bind(now)
    .bind(user_id)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    if changed == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Marks a user deleted: their tokens and keys stop working, their history stays.
pub async fn delete_user(db: &Db, user_id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
    let changed = on_db!(db, |pool| {
        sqlx::query(
        "UPDATE account_users SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL"
    )
    .bind(now)
    .bind(user_id)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    if changed == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Revokes the user's API keys and stores a new one, atomically; tokens signed in with an earlier
/// key stop working.
pub async fn replace_api_key(
    db: &Db,
    user_id: i64,
    key_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    bump_api_key_generation(&mut tx, user_id).await?;
    on_tx!(&mut tx, |conn| sqlx::query(
        "UPDATE user_api_keys SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL"
    )
    .bind(now)
    .bind(user_id)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))?;
    on_tx!(&mut tx, |conn| sqlx::query(
        "INSERT INTO user_api_keys (user_id, key_hash, created_at) VALUES ($1, $2, $3)"
    )
    .bind(user_id)
    .bind(key_hash)
    .bind(now)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))?;
    tx.commit().await
}

async fn bump_api_key_generation(tx: &mut Tx, user_id: i64) -> Result<(), StoreError> {
    on_tx!(tx, |conn| sqlx::query(
        "UPDATE account_users SET api_key_generation = api_key_generation + 1 WHERE id = $1"
    )
    .bind(user_id)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Makes `key_hash` the user's one active API key, atomically: their other keys are revoked, and this
/// one is stored, or reinstated if it was revoked (for a key the server keeps, such as the demo's).
/// When another key was revoked, the tokens signed in with it stop working. A key of another user is
/// [`StoreError::Conflict`].
pub async fn set_api_key(
    db: &Db,
    user_id: i64,
    key_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let revoked = on_tx!(&mut tx, |conn| {
        sqlx::query(
        "UPDATE user_api_keys SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND key_hash <> $3"
    )
    .bind(now)
    .bind(user_id)
    .bind(key_hash)
    .execute(conn)
    .await
    .map(|done| done.rows_affected())
    })?;
    let kept = on_tx!(&mut tx, |conn| {
        sqlx::query(
        "INSERT INTO user_api_keys (user_id, key_hash, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key_hash) DO UPDATE SET revoked_at = NULL WHERE user_api_keys.user_id = excluded.user_id"
    )
    .bind(user_id)
    .bind(key_hash)
    .bind(now)
    .execute(conn)
    .await
    .map(|done| done.rows_affected())
    })?;
    if kept == 0 {
        return Err(StoreError::Conflict);
    }
    if revoked > 0 {
        bump_api_key_generation(&mut tx, user_id).await?;
    }
    tx.commit().await
}

/// The user owning an active (unrevoked) API key.
pub async fn user_by_api_key_hash(
    db: &Db,
    key_hash: &str,
) -> Result<Option<AccountUser>, StoreError> {
    let sql = format!(
        "SELECT {} FROM account_users u JOIN user_api_keys k ON k.user_id = u.id \
         WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        user_columns_of("u")
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, AccountUser>(&sql)
        .bind(key_hash)
        .fetch_optional(pool)
        .await)?)
}

/// The statuses of the accounts a user belongs to (the caller decides what they allow).
pub async fn account_statuses_of_user(db: &Db, user_id: i64) -> Result<Vec<String>, StoreError> {
    Ok(on_db!(db, |pool| {
        sqlx::query_scalar::<_, String>(
        "SELECT a.status FROM accounts a JOIN account_memberships m ON m.account_id = a.id WHERE m.user_id = $1"
    )
    .bind(user_id)
    .fetch_all(pool)
    .await
    })?)
}

/// A stored refresh token (its hash and what it grants): the credential and generation it came
/// from, which must still be current when it is used.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RefreshToken {
    pub id: i64,
    pub subject: String,
    pub grant_type: String,
    pub original_iat: i64,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub credential: String,
    pub generation: i64,
}

/// What a new refresh token grants.
#[derive(Debug, Clone)]
pub struct NewRefreshToken<'a> {
    pub token_hash: &'a str,
    pub subject: &'a str,
    pub grant_type: &'a str,
    pub credential: &'a str,
    pub generation: i64,
    pub original_iat: i64,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_refresh_token(db: &Db, token: &NewRefreshToken<'_>) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, subject, grant_type, credential, generation, original_iat, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token.token_hash)
        .bind(token.subject)
        .bind(token.grant_type)
        .bind(token.credential)
        .bind(token.generation)
        .bind(token.original_iat)
        .bind(token.expires_at)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Revokes every refresh token of a subject (after its key is rotated, for example).
pub async fn revoke_refresh_tokens(
    db: &Db,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(on_db!(db, |pool| sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE subject = $2 AND revoked_at IS NULL"
    )
    .bind(now)
    .bind(subject)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?)
}

pub async fn refresh_token_by_hash(
    db: &Db,
    token_hash: &str,
) -> Result<Option<RefreshToken>, StoreError> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, RefreshToken>(
            "SELECT id, subject, grant_type, original_iat, expires_at, revoked_at, credential, generation \
             FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await
    })?)
}

/// A short-lived key a partner minted so its app can sign one of its customers in, once.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PreSignedKey {
    pub id: i64,
    pub user_id: i64,
    pub organisation_id: i64,
    pub expires_at: DateTime<Utc>,
    pub invalidated_at: Option<DateTime<Utc>>,
    pub used_at: Option<DateTime<Utc>>,
}

const PRE_SIGNED_COLUMNS: &str =
    "id, user_id, organisation_id, expires_at, invalidated_at, used_at";

pub async fn insert_pre_signed_key(
    db: &Db,
    key_hash: &str,
    user_id: i64,
    organisation_id: i64,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
        "INSERT INTO pre_signed_keys (key_hash, user_id, organisation_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(key_hash)
    .bind(user_id)
    .bind(organisation_id)
    .bind(expires_at)
    .bind(now)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    Ok(())
}

pub async fn pre_signed_key_by_hash(
    db: &Db,
    key_hash: &str,
) -> Result<Option<PreSignedKey>, StoreError> {
    let sql = format!("SELECT {PRE_SIGNED_COLUMNS} FROM pre_signed_keys WHERE key_hash = $1");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, PreSignedKey>(&sql)
        .bind(key_hash)
        .fetch_optional(pool)
        .await)?)
}

pub async fn pre_signed_key_by_id(db: &Db, id: i64) -> Result<Option<PreSignedKey>, StoreError> {
    let sql = format!("SELECT {PRE_SIGNED_COLUMNS} FROM pre_signed_keys WHERE id = $1");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, PreSignedKey>(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await)?)
}

/// Uses a live pre-signed key, once: marks it used and answers it, in one statement, so two
/// concurrent sign-ins with the same key cannot both succeed. `None` when it is unknown, used,
/// invalidated or expired.
pub async fn use_pre_signed_key(
    db: &Db,
    key_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<PreSignedKey>, StoreError> {
    let sql = format!(
        "UPDATE pre_signed_keys SET used_at = $1 \
         WHERE key_hash = $2 AND used_at IS NULL AND invalidated_at IS NULL AND expires_at > $1 \
         RETURNING {PRE_SIGNED_COLUMNS}"
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, PreSignedKey>(&sql)
        .bind(now)
        .bind(key_hash)
        .fetch_optional(pool)
        .await)?)
}

/// Invalidates one pre-signed key (used or not: its session ends too); answers how many were
/// invalidated (0 or 1).
pub async fn invalidate_pre_signed_key(
    db: &Db,
    key_hash: &str,
    organisation_id: i64,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(on_db!(db, |pool| {
        sqlx::query(
        "UPDATE pre_signed_keys SET invalidated_at = $1 WHERE key_hash = $2 AND organisation_id = $3 AND invalidated_at IS NULL"
    )
    .bind(now)
    .bind(key_hash)
    .bind(organisation_id)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?)
}

/// Invalidates every live pre-signed key of a user minted by this organisation (and so their
/// sessions).
pub async fn invalidate_pre_signed_keys_for_user(
    db: &Db,
    user_id: i64,
    organisation_id: i64,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(on_db!(db, |pool| {
        sqlx::query(
        "UPDATE pre_signed_keys SET invalidated_at = $1 WHERE user_id = $2 AND organisation_id = $3 AND invalidated_at IS NULL"
    )
    .bind(now)
    .bind(user_id)
    .bind(organisation_id)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?)
}

/// Reserves one sign-in attempt under `scope` and `key`, in one statement that also tests the limit:
/// the counter is created at 1, or started again at 1 when its window began before
/// `window_cutoff`, or raised by one while it is below `limit`. Answers whether the attempt was
/// reserved (`false`: the limit is reached). Concurrent callers cannot overshoot the limit, on
/// SQLite (writes are serial) or PostgreSQL (the conflicting row is locked and the condition
/// evaluated again).
pub async fn reserve_sign_in_attempt(
    db: &Db,
    scope: &str,
    key: &str,
    limit: i64,
    now: DateTime<Utc>,
    window_cutoff: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let reserved = on_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO sign_in_attempts (scope, key, attempts, window_started_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (scope, key) DO UPDATE SET \
               attempts = CASE WHEN sign_in_attempts.window_started_at < $4 THEN 1 ELSE sign_in_attempts.attempts + 1 END, \
               window_started_at = CASE WHEN sign_in_attempts.window_started_at < $4 THEN $3 ELSE sign_in_attempts.window_started_at END \
             WHERE sign_in_attempts.window_started_at < $4 OR sign_in_attempts.attempts < $5 \
             RETURNING attempts",
        )
        .bind(scope)
        .bind(key)
        .bind(now)
        .bind(window_cutoff)
        .bind(limit)
        .fetch_optional(pool)
        .await
    })?;
    Ok(reserved.is_some())
}

/// Gives back an attempt that was reserved but did not count (it succeeded, or was never
/// evaluated).
pub async fn release_sign_in_attempt(db: &Db, scope: &str, key: &str) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
        "UPDATE sign_in_attempts SET attempts = attempts - 1 WHERE scope = $1 AND key = $2 AND attempts > 0"
    )
    .bind(scope)
    .bind(key)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Forgets a counter (after a successful sign-in), and every counter whose window began before
/// `stale_before`.
pub async fn clear_sign_in_attempts(
    db: &Db,
    scope: &str,
    key: &str,
    stale_before: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_db!(db, |pool| sqlx::query(
        "DELETE FROM sign_in_attempts WHERE (scope = $1 AND key = $2) OR window_started_at < $3"
    )
    .bind(scope)
    .bind(key)
    .bind(stale_before)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// The attempts counted under `scope` and `key` in a window that began at or after `since`.
pub async fn sign_in_attempts(
    db: &Db,
    scope: &str,
    key: &str,
    since: DateTime<Utc>,
) -> Result<i64, StoreError> {
    Ok(on_db!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT attempts FROM sign_in_attempts WHERE scope = $1 AND key = $2 AND window_started_at >= $3"
    )
    .bind(scope)
    .bind(key)
    .bind(since)
    .fetch_optional(pool)
    .await)?
    .unwrap_or(0))
}

/// Remembers that a client address signed in as an identity (`key_hash` is a keyed hash of the
/// pair, computed by the caller).
pub async fn remember_sign_in_address(
    db: &Db,
    key_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_db!(db, |pool| sqlx::query(
        "INSERT INTO known_sign_in_addresses (key_hash, last_seen_at) VALUES ($1, $2) \
         ON CONFLICT (key_hash) DO UPDATE SET last_seen_at = excluded.last_seen_at"
    )
    .bind(key_hash)
    .bind(now)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Whether the pair behind `key_hash` signed in successfully at or after `since`.
pub async fn is_known_sign_in_address(
    db: &Db,
    key_hash: &str,
    since: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(on_db!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM known_sign_in_addresses WHERE key_hash = $1 AND last_seen_at >= $2"
    )
    .bind(key_hash)
    .bind(since)
    .fetch_one(pool)
    .await)?
        > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;
    use chrono::Duration;

    fn user(email: &str) -> NewUser<'_> {
        NewUser {
            email,
            given_name: "Ada",
            family_name: "Lovelace",
            preferred_name: None,
            mobile: None,
            password_hash: None,
        }
    }

    #[tokio::test]
    async fn organisation_keys_rotate() {
        let test = TestDb::new().await;
        let org = create_organisation(&test.db, "Acme", "RESIFLEX_LIVE", "h1", Utc::now())
            .await
            .unwrap();
        assert_eq!(
            organisation_by_key_hash(&test.db, "h1").await.unwrap(),
            Some(org.clone())
        );
        rotate_organisation_key(&test.db, org.id, "h2", Utc::now())
            .await
            .unwrap();
        assert_eq!(
            organisation_by_key_hash(&test.db, "h1").await.unwrap(),
            None
        );
        assert_eq!(
            organisation_by_key_hash(&test.db, "h2")
                .await
                .unwrap()
                .map(|o| o.id),
            Some(org.id)
        );
        assert!(matches!(
            rotate_organisation_key(&test.db, 999, "h3", Utc::now()).await,
            Err(StoreError::NotFound)
        ));
    }

    #[tokio::test]
    async fn emails_are_unique_and_api_keys_replace_each_other() {
        let test = TestDb::new().await;
        let ada = create_user(&test.db, &user("ada@example.com"), Utc::now())
            .await
            .unwrap();
        assert!(matches!(
            create_user(&test.db, &user("ada@example.com"), Utc::now()).await,
            Err(StoreError::Conflict)
        ));
        replace_api_key(&test.db, ada.id, "k1", Utc::now())
            .await
            .unwrap();
        assert_eq!(
            user_by_api_key_hash(&test.db, "k1")
                .await
                .unwrap()
                .map(|u| u.id),
            Some(ada.id)
        );
        replace_api_key(&test.db, ada.id, "k2", Utc::now())
            .await
            .unwrap();
        assert_eq!(
            user_by_api_key_hash(&test.db, "k1").await.unwrap(),
            None,
            "the old key is revoked"
        );
        assert!(
            user_by_api_key_hash(&test.db, "k2")
                .await
                .unwrap()
                .is_some()
        );
        // A kept key is put back in force; the others stop working.
        set_api_key(&test.db, ada.id, "k1", Utc::now())
            .await
            .unwrap();
        assert_eq!(
            user_by_api_key_hash(&test.db, "k1")
                .await
                .unwrap()
                .map(|u| u.id),
            Some(ada.id)
        );
        assert_eq!(user_by_api_key_hash(&test.db, "k2").await.unwrap(), None);
        set_api_key(&test.db, ada.id, "k1", Utc::now())
            .await
            .unwrap();
        set_api_key(&test.db, ada.id, "k3", Utc::now())
            .await
            .unwrap();
        assert_eq!(user_by_api_key_hash(&test.db, "k1").await.unwrap(), None);
        let bob = create_user(&test.db, &user("bob@example.com"), Utc::now())
            .await
            .unwrap();
        assert!(matches!(
            set_api_key(&test.db, bob.id, "k3", Utc::now()).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(
            user_by_api_key_hash(&test.db, "k3")
                .await
                .unwrap()
                .map(|u| u.id),
            Some(ada.id),
            "another user's key stays theirs"
        );
        delete_user(&test.db, ada.id, Utc::now()).await.unwrap();
        assert!(
            user_by_id(&test.db, ada.id)
                .await
                .unwrap()
                .unwrap()
                .deleted_at
                .is_some()
        );
    }

    #[tokio::test]
    async fn tokens_keys_and_failures() {
        let test = TestDb::new().await;
        let now = Utc::now();
        let org = create_organisation(&test.db, "Acme", "RESIFLEX_LIVE", "h1", now)
            .await
            .unwrap();
        let ada = create_user(&test.db, &user("ada@example.com"), now)
            .await
            .unwrap();
        insert_refresh_token(
            &test.db,
            &NewRefreshToken {
                token_hash: "r1",
                subject: "kraken|account-user:1",
                grant_type: "API-KEY",
                credential: "api-key",
                generation: 3,
                original_iat: 100,
                expires_at: now + Duration::days(7),
            },
        )
        .await
        .unwrap();
        let stored = refresh_token_by_hash(&test.db, "r1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                stored.original_iat,
                stored.grant_type.as_str(),
                stored.credential.as_str(),
                stored.generation
            ),
            (100, "API-KEY", "api-key", 3)
        );

        insert_pre_signed_key(
            &test.db,
            "p1",
            ada.id,
            org.id,
            now + Duration::minutes(5),
            now,
        )
        .await
        .unwrap();
        assert_eq!(
            invalidate_pre_signed_key(&test.db, "p1", org.id + 1, now)
                .await
                .unwrap(),
            0,
            "only its minter"
        );
        assert_eq!(
            invalidate_pre_signed_key(&test.db, "p1", org.id, now)
                .await
                .unwrap(),
            1
        );
        assert!(
            pre_signed_key_by_hash(&test.db, "p1")
                .await
                .unwrap()
                .unwrap()
                .invalidated_at
                .is_some()
        );

        // A key used once is used up.
        insert_pre_signed_key(
            &test.db,
            "p2",
            ada.id,
            org.id,
            now + Duration::minutes(5),
            now,
        )
        .await
        .unwrap();
        assert!(
            use_pre_signed_key(&test.db, "p2", now)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            use_pre_signed_key(&test.db, "p2", now)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            use_pre_signed_key(&test.db, "p1", now)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn attempts_are_reserved_up_to_the_limit_and_windows_start_again() {
        let test = TestDb::new().await;
        let now = Utc::now();
        let cutoff = now - Duration::minutes(15);
        for _ in 0..3 {
            assert!(
                reserve_sign_in_attempt(&test.db, "identity", "ada", 3, now, cutoff)
                    .await
                    .unwrap()
            );
        }
        assert!(
            !reserve_sign_in_attempt(&test.db, "identity", "ada", 3, now, cutoff)
                .await
                .unwrap()
        );
        assert_eq!(
            sign_in_attempts(&test.db, "identity", "ada", cutoff)
                .await
                .unwrap(),
            3
        );
        release_sign_in_attempt(&test.db, "identity", "ada")
            .await
            .unwrap();
        assert!(
            reserve_sign_in_attempt(&test.db, "identity", "ada", 3, now, cutoff)
                .await
                .unwrap()
        );
        // Fifteen minutes later the window starts again.
        let later = now + Duration::minutes(16);
        assert!(
            reserve_sign_in_attempt(
                &test.db,
                "identity",
                "ada",
                3,
                later,
                later - Duration::minutes(15)
            )
            .await
            .unwrap()
        );
        assert_eq!(
            sign_in_attempts(&test.db, "identity", "ada", now)
                .await
                .unwrap(),
            1
        );
        clear_sign_in_attempts(&test.db, "identity", "ada", cutoff)
            .await
            .unwrap();
        assert_eq!(
            sign_in_attempts(&test.db, "identity", "ada", cutoff)
                .await
                .unwrap(),
            0
        );
        assert!(
            !is_known_sign_in_address(&test.db, "k", cutoff)
                .await
                .unwrap()
        );
        remember_sign_in_address(&test.db, "k", now).await.unwrap();
        remember_sign_in_address(&test.db, "k", now).await.unwrap();
        assert!(
            is_known_sign_in_address(&test.db, "k", cutoff)
                .await
                .unwrap()
        );
    }
}
