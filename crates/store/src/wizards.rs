//! Onboarding wizards: each journey's state (the domain's [`Wizard`]) as a versioned document,
//! saved with optimistic versions.

use chrono::{DateTime, Utc};
use resiflex_domain::wizard::Wizard;
use serde_json::Value;
use sqlx::types::Json;

use crate::documents::{Document, decode, encode};
use crate::{Db, StoreError, on_db};

/// A stored onboarding wizard.
#[derive(Debug, Clone, PartialEq)]
pub struct WizardRow {
    pub id: String,
    pub account_id: i64,
    pub property_id: i64,
    pub oauth_state: Option<String>,
    /// Where the journey is.
    pub state: Wizard,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Document for Wizard {
    const NAME: &'static str = "onboarding wizard";
}

/// A wizard as the database holds it.
#[derive(sqlx::FromRow)]
struct StoredWizard {
    id: String,
    account_id: i64,
    property_id: i64,
    oauth_state: Option<String>,
    state: Json<Value>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<StoredWizard> for WizardRow {
    type Error = StoreError;

    fn try_from(row: StoredWizard) -> Result<WizardRow, StoreError> {
        Ok(WizardRow {
            state: decode(row.state.0)?,
            id: row.id,
            account_id: row.account_id,
            property_id: row.property_id,
            oauth_state: row.oauth_state,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

const WIZARD_COLUMNS: &str =
    "id, account_id, property_id, oauth_state, state, version, created_at, updated_at";

pub async fn insert_wizard(db: &Db, w: &WizardRow) -> Result<(), StoreError> {
    let state = Json(encode(&w.state)?);
    on_db!(db, |pool| {
        sqlx::query(
        "INSERT INTO onboarding_wizards (id, account_id, property_id, oauth_state, state, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 0, $6, $7)"
    )
    .bind(&w.id)
    .bind(w.account_id)
    .bind(w.property_id)
    .bind(&w.oauth_state)
    .bind(&state)
    .bind(w.created_at)
    .bind(w.updated_at)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Saves a wizard if it is still at the version it was read at; [`StoreError::Conflict`] means
/// someone else updated it meanwhile.
pub async fn update_wizard(db: &Db, w: &WizardRow) -> Result<WizardRow, StoreError> {
    let state = Json(encode(&w.state)?);
    let changed = on_db!(db, |pool| {
        sqlx::query(
        "UPDATE onboarding_wizards SET state = $1, oauth_state = $2, updated_at = $3, version = version + 1 \
         WHERE id = $4 AND version = $5"
    )
    .bind(&state)
    .bind(&w.oauth_state)
    .bind(w.updated_at)
    .bind(&w.id)
    .bind(w.version)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    if changed == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(WizardRow {
        version: w.version + 1,
        ..w.clone()
    })
}

pub async fn wizard_by_id(db: &Db, id: &str) -> Result<Option<WizardRow>, StoreError> {
    let sql = format!("SELECT {WIZARD_COLUMNS} FROM onboarding_wizards WHERE id = $1");
    on_db!(db, |pool| sqlx::query_as::<_, StoredWizard>(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await)?
    .map(WizardRow::try_from)
    .transpose()
}

pub async fn wizard_by_oauth_state(
    db: &Db,
    oauth_state: &str,
) -> Result<Option<WizardRow>, StoreError> {
    let sql = format!("SELECT {WIZARD_COLUMNS} FROM onboarding_wizards WHERE oauth_state = $1");
    on_db!(db, |pool| sqlx::query_as::<_, StoredWizard>(&sql)
        .bind(oauth_state)
        .fetch_optional(pool)
        .await)?
    .map(WizardRow::try_from)
    .transpose()
}

/// The account's wizards (optionally for one property), newest first.
pub async fn wizards_of_account(
    db: &Db,
    account_id: i64,
    property_id: Option<i64>,
) -> Result<Vec<WizardRow>, StoreError> {
    let sql = format!(
        "SELECT {WIZARD_COLUMNS} FROM onboarding_wizards WHERE account_id = $1 AND ($2 IS NULL OR property_id = $2) \
         ORDER BY created_at DESC, id"
    );
    on_db!(db, |pool| sqlx::query_as::<_, StoredWizard>(&sql)
        .bind(account_id)
        .bind(property_id)
        .fetch_all(pool)
        .await)?
    .into_iter()
    .map(WizardRow::try_from)
    .collect()
}
