//! Accounts, the users who belong to them, their properties and the partners' references to them.

use chrono::{DateTime, Utc};
use rand::Rng as _;

use crate::identity::{AccountUser, NewUser, insert_user, user_by_email_tx};
use crate::{Db, StoreError, Tx, on_db, on_tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Account {
    pub id: i64,
    pub number: String,
    pub organisation_id: i64,
    pub status: String,
    pub account_type: String,
    pub brand_code: String,
    pub billing_name: String,
    pub billing_email: Option<String>,
    pub billing_street: Option<String>,
    pub billing_locality: Option<String>,
    pub billing_area: Option<String>,
    pub billing_postcode: Option<String>,
    pub billing_country: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ACCOUNT_COLUMNS: &str = "a.id, a.number, a.organisation_id, a.status, a.account_type, a.brand_code, a.billing_name, \
     a.billing_email, a.billing_street, a.billing_locality, a.billing_area, a.billing_postcode, a.billing_country, \
     a.created_at, a.updated_at";

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Property {
    pub id: i64,
    pub account_id: i64,
    pub street_address: Option<String>,
    pub locality: Option<String>,
    pub administrative_area: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
    pub time_zone: String,
    pub created_at: DateTime<Utc>,
}

const PROPERTY_COLUMNS: &str = "id, account_id, street_address, locality, administrative_area, postal_code, country, time_zone, created_at";

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AccountReference {
    pub id: i64,
    pub organisation_id: i64,
    pub account_id: i64,
    pub namespace: String,
    pub value: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const REFERENCE_COLUMNS: &str =
    "id, organisation_id, account_id, namespace, value, created_at, updated_at";

/// An address as given by a partner. `country` is an ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, Default)]
pub struct NewAddress<'a> {
    pub street_address: Option<&'a str>,
    pub locality: Option<&'a str>,
    pub administrative_area: Option<&'a str>,
    pub postal_code: Option<&'a str>,
    pub country: &'a str,
    pub time_zone: &'a str,
}

/// Everything `createFlexShellAccount` stores.
#[derive(Debug, Clone)]
pub struct NewShellAccount<'a> {
    pub organisation_id: i64,
    pub status: &'a str,
    pub account_type: &'a str,
    pub brand_code: &'a str,
    pub user: NewUser<'a>,
    pub address: NewAddress<'a>,
    pub reference: Option<(&'a str, &'a str)>,
}

/// The outcome of creating a shell account.
#[derive(Debug, Clone)]
pub struct ShellAccount {
    pub account: Account,
    /// False when an earlier call with the same external reference had already created it.
    pub created: bool,
}

fn random_number() -> String {
    let mut values = [0u8; 8];
    rand::rng().fill(&mut values);
    resiflex_domain::AccountNumber::from_random(values).to_string()
}

/// Creates an account with its user (or links the existing user with that email, if that user is a
/// customer of the same organisation only), a property at the address and, if given, the partner's
/// reference. Idempotent on the reference: a retry returns the account the first call created. A user
/// of another organisation's accounts (or a deleted user) is never linked: the account is created
/// without a user, exactly as it would be answered otherwise, so that the answer does not tell one
/// organisation which emails another organisation's customers use.
pub async fn create_shell_account(
    db: &Db,
    new: &NewShellAccount<'_>,
    now: DateTime<Utc>,
) -> Result<ShellAccount, StoreError> {
    if let Some((namespace, value)) = new.reference
        && let Some(existing) =
            account_by_reference(db, new.organisation_id, namespace, value).await?
    {
        return Ok(ShellAccount {
            account: existing,
            created: false,
        });
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_create_shell_account(db, new, &random_number(), now).await {
            Ok(account) => {
                return Ok(ShellAccount {
                    account,
                    created: true,
                });
            }
            Err(StoreError::Conflict) => {
                // Either the reference was taken by a concurrent retry, or the number collided.
                if let Some((namespace, value)) = new.reference
                    && let Some(existing) =
                        account_by_reference(db, new.organisation_id, namespace, value).await?
                {
                    return Ok(ShellAccount {
                        account: existing,
                        created: false,
                    });
                }
                if attempt >= 8 {
                    return Err(StoreError::Conflict);
                }
            }
            Err(other) => return Err(other),
        }
    }
}

async fn try_create_shell_account(
    db: &Db,
    new: &NewShellAccount<'_>,
    number: &str,
    now: DateTime<Utc>,
) -> Result<Account, StoreError> {
    let mut tx = db.begin().await?;
    let user = match user_by_email_tx(&mut tx, new.user.email).await? {
        Some(user) if user.deleted_at.is_none() => {
            // A person is the customer of one organisation: linking them to another partner's account
            // would let that partner act for them on the first partner's accounts.
            let elsewhere: i64 = on_tx!(&mut tx, |conn| {
                sqlx::query_scalar(
                "SELECT COUNT(*) FROM account_memberships m JOIN accounts a ON a.id = m.account_id \
                 WHERE m.user_id = $1 AND a.organisation_id <> $2"
            )
            .bind(user.id)
            .bind(new.organisation_id)
            .fetch_one(conn)
            .await
            })?;
            (elsewhere == 0).then_some(user)
        }
        Some(_) => None,
        None => Some(insert_user(&mut tx, &new.user, now).await?),
    };
    let billing_name = format!("{} {}", new.user.given_name, new.user.family_name);
    let account_id: i64 = on_tx!(&mut tx, |conn| {
        sqlx::query_scalar(
        "INSERT INTO accounts (number, organisation_id, status, account_type, brand_code, billing_name, billing_email, \
         billing_street, billing_locality, billing_area, billing_postcode, billing_country, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id"
    )
    .bind(number)
    .bind(new.organisation_id)
    .bind(new.status)
    .bind(new.account_type)
    .bind(new.brand_code)
    .bind(&billing_name)
    .bind(new.user.email)
    .bind(new.address.street_address)
    .bind(new.address.locality)
    .bind(new.address.administrative_area)
    .bind(new.address.postal_code)
    .bind(new.address.country)
    .bind(now)
    .fetch_one(conn)
    .await
    })?;
    if let Some(user) = &user {
        on_tx!(&mut tx, |conn| sqlx::query(
            "INSERT INTO account_memberships (account_id, user_id, created_at) VALUES ($1, $2, $3)"
        )
        .bind(account_id)
        .bind(user.id)
        .bind(now)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
    }
    insert_property(&mut tx, account_id, &new.address, now).await?;
    if let Some((namespace, value)) = new.reference {
        insert_reference(
            &mut tx,
            new.organisation_id,
            account_id,
            namespace,
            value,
            now,
        )
        .await?;
    }
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = $1");
    let account = on_tx!(&mut tx, |conn| sqlx::query_as::<_, Account>(&sql)
        .bind(account_id)
        .fetch_one(conn)
        .await)?;
    tx.commit().await?;
    Ok(account)
}

async fn insert_property(
    tx: &mut Tx,
    account_id: i64,
    address: &NewAddress<'_>,
    now: DateTime<Utc>,
) -> Result<Property, StoreError> {
    let sql = format!(
        "INSERT INTO properties (account_id, street_address, locality, administrative_area, postal_code, country, time_zone, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {PROPERTY_COLUMNS}"
    );
    Ok(on_tx!(tx, |conn| sqlx::query_as::<_, Property>(&sql)
        .bind(account_id)
        .bind(address.street_address)
        .bind(address.locality)
        .bind(address.administrative_area)
        .bind(address.postal_code)
        .bind(address.country)
        .bind(address.time_zone)
        .bind(now)
        .fetch_one(conn)
        .await)?)
}

async fn insert_reference(
    tx: &mut Tx,
    organisation_id: i64,
    account_id: i64,
    namespace: &str,
    value: &str,
    now: DateTime<Utc>,
) -> Result<AccountReference, StoreError> {
    let sql = format!(
        "INSERT INTO account_references (organisation_id, account_id, namespace, value, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {REFERENCE_COLUMNS}"
    );
    Ok(on_tx!(tx, |conn| sqlx::query_as::<_, AccountReference>(
        &sql
    )
    .bind(organisation_id)
    .bind(account_id)
    .bind(namespace)
    .bind(value)
    .bind(now)
    .fetch_one(conn)
    .await)?)
}

pub async fn account_by_number(db: &Db, number: &str) -> Result<Option<Account>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.number = $1");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Account>(&sql)
        .bind(number)
        .fetch_optional(pool)
        .await)?)
}

pub async fn account_by_id(db: &Db, id: i64) -> Result<Option<Account>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = $1");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Account>(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await)?)
}

pub async fn account_by_reference(
    db: &Db,
    organisation_id: i64,
    namespace: &str,
    value: &str,
) -> Result<Option<Account>, StoreError> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts a JOIN account_references r ON r.account_id = a.id \
         WHERE r.organisation_id = $1 AND r.namespace = $2 AND r.value = $3"
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Account>(&sql)
        .bind(organisation_id)
        .bind(namespace)
        .bind(value)
        .fetch_optional(pool)
        .await)?)
}

/// The accounts a user belongs to, oldest first.
pub async fn accounts_of_user(db: &Db, user_id: i64) -> Result<Vec<Account>, StoreError> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts a JOIN account_memberships m ON m.account_id = a.id \
         WHERE m.user_id = $1 ORDER BY a.id"
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Account>(&sql)
        .bind(user_id)
        .fetch_all(pool)
        .await)?)
}

pub async fn is_member(db: &Db, account_id: i64, user_id: i64) -> Result<bool, StoreError> {
    let count: i64 = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM account_memberships WHERE account_id = $1 AND user_id = $2"
    )
    .bind(account_id)
    .bind(user_id)
    .fetch_one(pool)
    .await)?;
    Ok(count > 0)
}

/// Whether the user belongs to any account of this organisation (what lets a partner act for them).
pub async fn user_belongs_to_organisation(
    db: &Db,
    user_id: i64,
    organisation_id: i64,
) -> Result<bool, StoreError> {
    let count: i64 = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM account_memberships m JOIN accounts a ON a.id = m.account_id \
         WHERE m.user_id = $1 AND a.organisation_id = $2"
    )
    .bind(user_id)
    .bind(organisation_id)
    .fetch_one(pool)
    .await)?;
    Ok(count > 0)
}

pub async fn users_of_account(db: &Db, account_id: i64) -> Result<Vec<AccountUser>, StoreError> {
    let sql = format!(
        "SELECT {} FROM account_users u JOIN account_memberships m ON m.user_id = u.id \
         WHERE m.account_id = $1 AND u.deleted_at IS NULL ORDER BY u.id",
        crate::identity::user_columns_of("u")
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, AccountUser>(&sql)
        .bind(account_id)
        .fetch_all(pool)
        .await)?)
}

pub async fn properties_of_account(db: &Db, account_id: i64) -> Result<Vec<Property>, StoreError> {
    let sql =
        format!("SELECT {PROPERTY_COLUMNS} FROM properties WHERE account_id = $1 ORDER BY id");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Property>(&sql)
        .bind(account_id)
        .fetch_all(pool)
        .await)?)
}

/// Many accounts by id (those that exist), by id.
pub async fn accounts_by_ids(db: &Db, ids: &[i64]) -> Result<Vec<Account>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1_000) {
        let rows: Vec<Account> = on_db!(db, |pool| {
            let mut query = sqlx::QueryBuilder::new(format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.id IN ("
            ));
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(") ORDER BY a.id");
            query.build_query_as().fetch_all(pool).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// The properties of many accounts, each account's oldest first.
pub async fn properties_of_accounts(
    db: &Db,
    account_ids: &[i64],
) -> Result<Vec<Property>, StoreError> {
    let mut out = Vec::new();
    for chunk in account_ids.chunks(1_000) {
        let rows: Vec<Property> = on_db!(db, |pool| {
            let mut query = sqlx::QueryBuilder::new(format!(
                "SELECT {PROPERTY_COLUMNS} FROM properties WHERE account_id IN ("
            ));
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(") ORDER BY account_id, id");
            query.build_query_as().fetch_all(pool).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// Adds `count` properties without an address to an account (a fleet's homes, for load tests and
/// bulk imports), in batches; answers their ids in order.
pub async fn add_properties(
    db: &Db,
    account_id: i64,
    count: usize,
    country: &str,
    time_zone: &str,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::with_capacity(count);
    let mut left = count;
    while left > 0 {
        let batch = left.min(1_000);
        left -= batch;
        let rows: Vec<(i64,)> = on_db!(db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO properties (account_id, country, time_zone, created_at) ",
            );
            query.push_values(0..batch, |mut row, _| {
                row.push_bind(account_id)
                    .push_bind(country)
                    .push_bind(time_zone)
                    .push_bind(now);
            });
            query.push(" RETURNING id");
            query.build_query_as().fetch_all(pool).await
        })?;
        ids.extend(rows.into_iter().map(|(id,)| id));
    }
    ids.sort_unstable();
    Ok(ids)
}

pub async fn property_by_id(db: &Db, id: i64) -> Result<Option<Property>, StoreError> {
    let sql = format!("SELECT {PROPERTY_COLUMNS} FROM properties WHERE id = $1");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Property>(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await)?)
}

pub async fn references_of_account(
    db: &Db,
    account_id: i64,
) -> Result<Vec<AccountReference>, StoreError> {
    let sql = format!(
        "SELECT {REFERENCE_COLUMNS} FROM account_references WHERE account_id = $1 ORDER BY namespace"
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, AccountReference>(
        &sql
    )
    .bind(account_id)
    .fetch_all(pool)
    .await)?)
}

/// An organisation's references with this value, in any namespace.
pub async fn references_by_value(
    db: &Db,
    organisation_id: i64,
    value: &str,
) -> Result<Vec<AccountReference>, StoreError> {
    let sql = format!(
        "SELECT {REFERENCE_COLUMNS} FROM account_references WHERE organisation_id = $1 AND value = $2 ORDER BY namespace, id"
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, AccountReference>(
        &sql
    )
    .bind(organisation_id)
    .bind(value)
    .fetch_all(pool)
    .await)?)
}

pub async fn create_reference(
    db: &Db,
    organisation_id: i64,
    account_id: i64,
    namespace: &str,
    value: &str,
    now: DateTime<Utc>,
) -> Result<AccountReference, StoreError> {
    let mut tx = db.begin().await?;
    let reference =
        insert_reference(&mut tx, organisation_id, account_id, namespace, value, now).await?;
    tx.commit().await?;
    Ok(reference)
}

/// Sets a new value for the account's reference in `namespace`.
pub async fn update_reference(
    db: &Db,
    account_id: i64,
    namespace: &str,
    value: &str,
    now: DateTime<Utc>,
) -> Result<AccountReference, StoreError> {
    let sql = format!(
        "UPDATE account_references SET value = $1, updated_at = $2 WHERE account_id = $3 AND namespace = $4 \
         RETURNING {REFERENCE_COLUMNS}"
    );
    on_db!(db, |pool| sqlx::query_as::<_, AccountReference>(&sql)
        .bind(value)
        .bind(now)
        .bind(account_id)
        .bind(namespace)
        .fetch_optional(pool)
        .await)?
    .ok_or(StoreError::NotFound)
}

/// Deletes the account's reference in `namespace` and returns it.
pub async fn delete_reference(
    db: &Db,
    account_id: i64,
    namespace: &str,
) -> Result<AccountReference, StoreError> {
    let sql = format!(
        "DELETE FROM account_references WHERE account_id = $1 AND namespace = $2 RETURNING {REFERENCE_COLUMNS}"
    );
    on_db!(db, |pool| sqlx::query_as::<_, AccountReference>(&sql)
        .bind(account_id)
        .bind(namespace)
        .fetch_optional(pool)
        .await)?
    .ok_or(StoreError::NotFound)
}

/// What an organisation can search its accounts by; every given term must match.
#[derive(Debug, Clone, Default)]
pub struct AccountSearch<'a> {
    pub account_number: Option<&'a str>,
    /// Normalised (lower-cased).
    pub email: Option<&'a str>,
    /// Compared without spaces and case.
    pub postcode: Option<&'a str>,
    pub reference: Option<&'a str>,
}

/// Searches the accounts of one organisation.
pub async fn search_accounts(
    db: &Db,
    organisation_id: i64,
    search: &AccountSearch<'_>,
    limit: i64,
) -> Result<Vec<Account>, StoreError> {
    let postcode = search.postcode.map(|p| p.replace(' ', "").to_uppercase());
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.organisation_id = $1 \
         AND ($2 IS NULL OR a.number = $2) \
         AND ($3 IS NULL OR a.billing_email = $3 OR EXISTS (SELECT 1 FROM account_memberships m JOIN account_users u \
              ON u.id = m.user_id WHERE m.account_id = a.id AND u.email = $3)) \
         AND ($4 IS NULL OR EXISTS (SELECT 1 FROM properties p WHERE p.account_id = a.id \
              AND UPPER(REPLACE(p.postal_code, ' ', '')) = $4)) \
         AND ($5 IS NULL OR EXISTS (SELECT 1 FROM account_references r WHERE r.account_id = a.id \
              AND r.organisation_id = $1 AND r.value = $5)) \
         ORDER BY a.id LIMIT $6"
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Account>(&sql)
        .bind(organisation_id)
        .bind(search.account_number)
        .bind(search.email)
        .bind(postcode.as_deref())
        .bind(search.reference)
        .bind(limit)
        .fetch_all(pool)
        .await)?)
}

/// Changes an account's status if it is still `from` (the caller has checked the transition).
pub async fn set_account_status(
    db: &Db,
    account_id: i64,
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let changed = on_db!(db, |pool| sqlx::query(
        "UPDATE accounts SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4"
    )
    .bind(to)
    .bind(now)
    .bind(account_id)
    .bind(from)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    if changed == 0 {
        Err(StoreError::Conflict)
    } else {
        Ok(())
    }
}

/// The time zone of every property, by property id.
pub async fn property_time_zones(
    db: &Db,
) -> Result<std::collections::HashMap<i64, String>, StoreError> {
    let rows: Vec<(i64, String)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, time_zone FROM properties"
    )
    .fetch_all(pool)
    .await)?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity;
    use crate::testing::TestDb;

    async fn organisation(db: &Db, name: &str) -> i64 {
        identity::create_organisation(
            db,
            name,
            "RESIFLEX_LIVE",
            &format!("hash-{name}"),
            Utc::now(),
        )
        .await
        .unwrap()
        .id
    }

    fn shell<'a>(
        org: i64,
        email: &'a str,
        reference: Option<(&'a str, &'a str)>,
    ) -> NewShellAccount<'a> {
        NewShellAccount {
            organisation_id: org,
            status: "ACTIVE",
            account_type: "DOMESTIC",
            brand_code: "RESIFLEX_LIVE",
            user: NewUser {
                email,
                given_name: "Ada",
                family_name: "Lovelace",
                preferred_name: None,
                mobile: None,
                password_hash: None,
            },
            address: NewAddress {
                street_address: Some("1 Main Street"),
                postal_code: Some("SW1A 1AA"),
                country: "GB",
                time_zone: "Europe/London",
                ..NewAddress::default()
            },
            reference,
        }
    }

    #[tokio::test]
    async fn a_shell_account_brings_its_user_property_and_reference() {
        let test = TestDb::new().await;
        let org = organisation(&test.db, "one").await;
        let created = create_shell_account(
            &test.db,
            &shell(org, "ada@example.com", Some(("crm", "42"))),
            Utc::now(),
        )
        .await
        .unwrap();
        assert!(created.created);
        let account = created.account;
        assert!(resiflex_domain::AccountNumber::parse(&account.number).is_some());
        assert_eq!(account.billing_name, "Ada Lovelace");
        let users = users_of_account(&test.db, account.id).await.unwrap();
        assert_eq!(users.len(), 1);
        assert!(is_member(&test.db, account.id, users[0].id).await.unwrap());
        let properties = properties_of_account(&test.db, account.id).await.unwrap();
        assert_eq!(properties[0].time_zone, "Europe/London");
        assert_eq!(
            references_of_account(&test.db, account.id).await.unwrap()[0].value,
            "42"
        );
        assert_eq!(
            account_by_number(&test.db, &account.number).await.unwrap(),
            Some(account.clone())
        );
    }

    #[tokio::test]
    async fn a_retry_with_the_same_reference_returns_the_same_account() {
        let test = TestDb::new().await;
        let org = organisation(&test.db, "one").await;
        let new = shell(org, "ada@example.com", Some(("crm", "42")));
        let first = create_shell_account(&test.db, &new, Utc::now())
            .await
            .unwrap();
        let second = create_shell_account(&test.db, &new, Utc::now())
            .await
            .unwrap();
        assert!(!second.created);
        assert_eq!(first.account.id, second.account.id);
        // The same email under another reference links the existing user.
        let third = create_shell_account(
            &test.db,
            &shell(org, "ada@example.com", Some(("crm", "43"))),
            Utc::now(),
        )
        .await
        .unwrap();
        let user = users_of_account(&test.db, third.account.id)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(accounts_of_user(&test.db, user.id).await.unwrap().len(), 2);
        // Another organisation cannot take over the same person: its account is created without
        // them, and nothing in the answer tells it the email is in use.
        let other = organisation(&test.db, "two").await;
        let foreign = create_shell_account(
            &test.db,
            &shell(other, "ada@example.com", Some(("crm", "1"))),
            Utc::now(),
        )
        .await
        .unwrap();
        assert!(foreign.created);
        assert!(
            users_of_account(&test.db, foreign.account.id)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(accounts_of_user(&test.db, user.id).await.unwrap().len(), 2);
        // Another organisation may use the same reference for its own account.
        let theirs = create_shell_account(
            &test.db,
            &shell(other, "bob@example.com", Some(("crm", "42"))),
            Utc::now(),
        )
        .await
        .unwrap();
        assert!(theirs.created);
        assert_ne!(theirs.account.id, first.account.id);
    }

    #[tokio::test]
    async fn concurrent_retries_create_one_account() {
        let test = TestDb::new().await;
        let org = organisation(&test.db, "one").await;
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let db = test.db.clone();
                tokio::spawn(async move {
                    create_shell_account(
                        &db,
                        &shell(org, "ada@example.com", Some(("crm", "7"))),
                        Utc::now(),
                    )
                    .await
                })
            })
            .collect();
        let mut ids = Vec::new();
        for task in tasks {
            ids.push(task.await.unwrap().unwrap().account.id);
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "every retry got the same account");
    }

    #[tokio::test]
    async fn references_search_and_status() {
        let test = TestDb::new().await;
        let org = organisation(&test.db, "one").await;
        let account =
            create_shell_account(&test.db, &shell(org, "ada@example.com", None), Utc::now())
                .await
                .unwrap()
                .account;
        create_reference(&test.db, org, account.id, "crm", "c-1", Utc::now())
            .await
            .unwrap();
        assert!(matches!(
            create_reference(&test.db, org, account.id, "crm", "c-2", Utc::now()).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(
            update_reference(&test.db, account.id, "crm", "c-9", Utc::now())
                .await
                .unwrap()
                .value,
            "c-9"
        );
        assert_eq!(
            references_by_value(&test.db, org, "c-9")
                .await
                .unwrap()
                .len(),
            1
        );

        let by = |search: AccountSearch<'static>| {
            let db = test.db.clone();
            async move { search_accounts(&db, org, &search, 10).await.unwrap().len() }
        };
        assert_eq!(
            by(AccountSearch {
                postcode: Some("sw1a1aa"),
                ..Default::default()
            })
            .await,
            1
        );
        assert_eq!(
            by(AccountSearch {
                email: Some("ada@example.com"),
                ..Default::default()
            })
            .await,
            1
        );
        assert_eq!(
            by(AccountSearch {
                reference: Some("c-9"),
                ..Default::default()
            })
            .await,
            1
        );
        assert_eq!(
            by(AccountSearch {
                reference: Some("c-1"),
                ..Default::default()
            })
            .await,
            0
        );
        assert_eq!(
            by(AccountSearch {
                email: Some("ada@example.com"),
                postcode: Some("XX1"),
                ..Default::default()
            })
            .await,
            0
        );

        delete_reference(&test.db, account.id, "crm").await.unwrap();
        assert!(matches!(
            delete_reference(&test.db, account.id, "crm").await,
            Err(StoreError::NotFound)
        ));

        set_account_status(&test.db, account.id, "ACTIVE", "DORMANT", Utc::now())
            .await
            .unwrap();
        assert!(
            matches!(
                set_account_status(&test.db, account.id, "ACTIVE", "VOID", Utc::now()).await,
                Err(StoreError::Conflict)
            ),
            "a stale status is refused"
        );
    }
}
