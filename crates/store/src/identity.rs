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
}

const ORGANISATION_COLUMNS: &str = "id, name, brand_code, created_at, updated_at";

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

/// Replaces an organisation's secret key; the old one stops working at once.
pub async fn rotate_organisation_key(
    db: &Db,
    id: i64,
    secret_key_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let changed = on_db!(db, |pool| sqlx::query(
        "UPDATE organisations SET secret_key_hash = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(secret_key_hash)
    .bind(now)
    .bind(id)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
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
}

const USER_COLUMNS: &str = "id, email, given_name, family_name, preferred_name, mobile, password_hash, created_at, updated_at, deleted_at";

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

pub async fn set_password_hash(
    db: &Db,
    user_id: i64,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let changed = on_db!(db, |pool| {
        sqlx::query(
        "UPDATE account_users SET password_hash = $1, updated_at = $2 WHERE id = $3 AND deleted_at IS NULL"
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

/// Revokes the user's API keys and stores a new one, atomically.
pub async fn replace_api_key(
    db: &Db,
    user_id: i64,
    key_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
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

/// Makes `key_hash` the user's one active API key, atomically: their other keys are revoked, and this
/// one is stored, or reinstated if it was revoked (for a key the server keeps, such as the demo's).
/// A key of another user is [`StoreError::Conflict`].
pub async fn set_api_key(
    db: &Db,
    user_id: i64,
    key_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |conn| {
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
        USER_COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
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

/// A stored refresh token (its hash and what it grants).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RefreshToken {
    pub id: i64,
    pub subject: String,
    pub grant_type: String,
    pub original_iat: i64,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn insert_refresh_token(
    db: &Db,
    token_hash: &str,
    subject: &str,
    grant_type: &str,
    original_iat: i64,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, subject, grant_type, original_iat, expires_at) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(token_hash)
    .bind(subject)
    .bind(grant_type)
    .bind(original_iat)
    .bind(expires_at)
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
        "SELECT id, subject, grant_type, original_iat, expires_at, revoked_at FROM refresh_tokens WHERE token_hash = $1"
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await
    })?)
}

/// A short-lived key a partner minted so its app can sign one of its customers in.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PreSignedKey {
    pub id: i64,
    pub user_id: i64,
    pub organisation_id: i64,
    pub expires_at: DateTime<Utc>,
    pub invalidated_at: Option<DateTime<Utc>>,
}

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
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, PreSignedKey>(
        "SELECT id, user_id, organisation_id, expires_at, invalidated_at FROM pre_signed_keys WHERE key_hash = $1"
    )
    .bind(key_hash)
    .fetch_optional(pool)
    .await
    })?)
}

/// Invalidates one pre-signed key; answers how many were invalidated (0 or 1).
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

/// Invalidates every live pre-signed key of a user minted by this organisation.
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

/// Records a failed sign-in under `scope` (`identity` or `address`) and `key`, and forgets failures
/// older than `forget_before`.
pub async fn record_sign_in_failure(
    db: &Db,
    scope: &str,
    key: &str,
    now: DateTime<Utc>,
    forget_before: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_db!(db, |pool| sqlx::query(
        "INSERT INTO sign_in_failures (scope, key, failed_at) VALUES ($1, $2, $3)"
    )
    .bind(scope)
    .bind(key)
    .bind(now)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    on_db!(db, |pool| sqlx::query(
        "DELETE FROM sign_in_failures WHERE failed_at < $1"
    )
    .bind(forget_before)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

pub async fn count_sign_in_failures(
    db: &Db,
    scope: &str,
    key: &str,
    since: DateTime<Utc>,
) -> Result<i64, StoreError> {
    Ok(on_db!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM sign_in_failures WHERE scope = $1 AND key = $2 AND failed_at >= $3"
    )
    .bind(scope)
    .bind(key)
    .bind(since)
    .fetch_one(pool)
    .await)?)
}

/// Forgets an identity's failures after it signs in successfully.
pub async fn clear_sign_in_failures(db: &Db, scope: &str, key: &str) -> Result<(), StoreError> {
    on_db!(db, |pool| sqlx::query(
        "DELETE FROM sign_in_failures WHERE scope = $1 AND key = $2"
    )
    .bind(scope)
    .bind(key)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
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
            "r1",
            "kraken|account-user:1",
            "API-KEY",
            100,
            now + Duration::days(7),
        )
        .await
        .unwrap();
        let stored = refresh_token_by_hash(&test.db, "r1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (stored.original_iat, stored.grant_type.as_str()),
            (100, "API-KEY")
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

        for minutes in [20, 3, 2, 1] {
            let at = now - Duration::minutes(minutes);
            record_sign_in_failure(
                &test.db,
                "identity",
                "email:ada",
                at,
                now - Duration::hours(1),
            )
            .await
            .unwrap();
        }
        assert_eq!(
            count_sign_in_failures(
                &test.db,
                "identity",
                "email:ada",
                now - Duration::minutes(15)
            )
            .await
            .unwrap(),
            3
        );
        clear_sign_in_failures(&test.db, "identity", "email:ada")
            .await
            .unwrap();
        assert_eq!(
            count_sign_in_failures(&test.db, "identity", "email:ada", now - Duration::hours(2))
                .await
                .unwrap(),
            0
        );
    }
}
