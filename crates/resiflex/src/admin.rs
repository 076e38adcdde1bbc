//! Operator commands: organisations, user keys and passwords, account status, charge point resets.
//! Each prints one JSON line, so scripts can read it.

use anyhow::{Context as _, bail};
use chrono::Utc;
use resiflex_api::auth::credentials::{self, LIVE_KEY_PREFIX};
use resiflex_api::auth::tokens::Subject;
use resiflex_api::enums::BrandChoices;
use resiflex_domain::{AccountNumber, AccountStatus, EmailAddress};
use resiflex_store::{Db, accounts, identity};
use serde_json::json;

/// Creates an organisation and returns its id and its secret key (shown only here).
pub async fn create_organisation(
    db: &Db,
    name: &str,
    brand_code: &str,
) -> anyhow::Result<serde_json::Value> {
    let name = name.trim();
    if name.is_empty() {
        bail!("the organisation needs a name");
    }
    let brand: BrandChoices = brand_code
        .trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let key = credentials::generate(LIVE_KEY_PREFIX);
    let org = identity::create_organisation(
        db,
        name,
        brand.as_str(),
        &credentials::hash_secret(&key),
        Utc::now(),
    )
    .await?;
    Ok(
        json!({"organisationId": org.id, "name": org.name, "brandCode": org.brand_code, "secretKey": key}),
    )
}

/// Gives an organisation a new secret key; the old one stops working.
pub async fn rotate_organisation_key(
    db: &Db,
    organisation_id: i64,
) -> anyhow::Result<serde_json::Value> {
    let key = credentials::generate(LIVE_KEY_PREFIX);
    identity::rotate_organisation_key(
        db,
        organisation_id,
        &credentials::hash_secret(&key),
        Utc::now(),
    )
    .await
    .with_context(|| format!("no organisation with id {organisation_id}"))?;
    // Refresh tokens issued to the old key die with it; signed-in sessions end within the hour.
    identity::revoke_refresh_tokens(
        db,
        &Subject::Organisation(organisation_id).claim(),
        Utc::now(),
    )
    .await?;
    Ok(json!({"organisationId": organisation_id, "secretKey": key}))
}

async fn user(db: &Db, email: &str) -> anyhow::Result<identity::AccountUser> {
    let email =
        EmailAddress::parse(email).with_context(|| format!("{email:?} is not an email address"))?;
    match identity::user_by_email(db, email.as_str()).await? {
        Some(user) if user.deleted_at.is_none() => Ok(user),
        _ => bail!("no user with the email {email}"),
    }
}

/// Issues a new personal API key for a user (their previous key stops working).
pub async fn user_api_key(db: &Db, email: &str) -> anyhow::Result<serde_json::Value> {
    let user = user(db, email).await?;
    let key = credentials::generate(LIVE_KEY_PREFIX);
    identity::replace_api_key(db, user.id, &credentials::hash_secret(&key), Utc::now()).await?;
    Ok(json!({"apiKey": key}))
}

/// Sets a user's password.
pub async fn set_password(
    db: &Db,
    email: &str,
    password: &str,
) -> anyhow::Result<serde_json::Value> {
    if password.chars().count() < 10 {
        bail!("a password needs at least 10 characters");
    }
    let user = user(db, email).await?;
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || credentials::hash_password(&password))
        .await?
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
    identity::set_password_hash(db, user.id, &hash, Utc::now()).await?;
    Ok(json!({"email": user.email, "passwordSet": true}))
}

/// Moves an account to another status, if the life cycle allows it.
pub async fn set_account_status(
    db: &Db,
    number: &str,
    to: &str,
) -> anyhow::Result<serde_json::Value> {
    let number = AccountNumber::parse(number)
        .with_context(|| format!("{number:?} is not an account number"))?;
    let to = AccountStatus::parse(&to.trim().to_ascii_uppercase())
        .with_context(|| format!("{to:?} is not an account status"))?;
    let account = accounts::account_by_number(db, number.as_str())
        .await?
        .with_context(|| format!("no account {number}"))?;
    let from = AccountStatus::parse(&account.status)
        .with_context(|| format!("stored status {:?} is unknown", account.status))?;
    from.transition(to)?;
    accounts::set_account_status(db, account.id, from.as_str(), to.as_str(), Utc::now())
        .await
        .context("the account changed at the same time; try again")?;
    Ok(json!({"accountNumber": account.number, "from": from.as_str(), "status": to.as_str()}))
}

/// Resets a connected OCPP charge point (an operator's tool: customers cannot reset chargers).
/// Returns `{"chargePointId", "type", "accepted"}`.
pub async fn reset_charge_point(
    central: &resiflex_ocpp::CentralSystem,
    charge_point_id: &str,
    hard: bool,
) -> anyhow::Result<serde_json::Value> {
    let kind = if hard {
        resiflex_ocpp::ResetKind::Hard
    } else {
        resiflex_ocpp::ResetKind::Soft
    };
    let accepted = central
        .reset(charge_point_id, kind)
        .await
        .with_context(|| format!("resetting the charge point {charge_point_id}"))?;
    Ok(json!({
        "chargePointId": charge_point_id,
        "type": if hard { "Hard" } else { "Soft" },
        "accepted": accepted,
    }))
}
