//! Devices, the vendor grants behind them, their latest telemetry, alerts, onboarding wizards and the
//! simulator's saved worlds. Structured settings (preferences, test-charge progress, wizard state) are
//! stored as JSON; the domain and API crates own their shape.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use std::collections::HashMap;

use crate::secrets::{grant_context, is_sealed};
use crate::{Db, StoreError, on_db, on_tx};

fn rows(done: u64) -> Result<(), StoreError> {
    if done == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// A vendor grant.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ProviderGrant {
    pub id: i64,
    pub account_id: i64,
    pub provider: String,
    pub subject: String,
    pub secret: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Stores a grant; its secret (the vendor's access and refresh tokens) is sealed with the handle's
/// master key, and comes back in plain text.
pub async fn insert_grant(
    db: &Db,
    account_id: i64,
    provider: &str,
    subject: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<ProviderGrant, StoreError> {
    let sealed = db
        .secret_keys()?
        .seal(&grant_context(account_id, provider, subject), secret);
    let stored = on_db!(db, |pool| {
        sqlx::query_as::<_, ProviderGrant>(
        "INSERT INTO provider_grants (account_id, provider, subject, secret, created_at) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, account_id, provider, subject, secret, created_at, revoked_at"
    )
    .bind(account_id)
    .bind(provider)
    .bind(subject)
    .bind(&sealed)
    .bind(now)
    .fetch_one(pool)
    .await
    })?;
    open_grant(db, stored)
}

pub async fn grant_by_id(db: &Db, id: i64) -> Result<Option<ProviderGrant>, StoreError> {
    let stored = on_db!(db, |pool| {
        sqlx::query_as::<_, ProviderGrant>(
        "SELECT id, account_id, provider, subject, secret, created_at, revoked_at FROM provider_grants WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    })?;
    stored.map(|grant| open_grant(db, grant)).transpose()
}

/// The grant with its secret decrypted (a plain secret from before encryption is returned as it is
/// until the start-up step seals it).
fn open_grant(db: &Db, mut grant: ProviderGrant) -> Result<ProviderGrant, StoreError> {
    if is_sealed(&grant.secret) {
        let context = grant_context(grant.account_id, &grant.provider, &grant.subject);
        grant.secret = db.secret_keys()?.open(&context, &grant.secret)?;
    }
    Ok(grant)
}

pub async fn revoke_grant(db: &Db, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
    rows(on_db!(db, |pool| sqlx::query(
        "UPDATE provider_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
    )
    .bind(now)
    .bind(id)
    .execute(pool)
    .await
    .map(|d| d.rows_affected()))?)
}

/// A registered device.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Device {
    pub id: String,
    pub account_id: i64,
    pub property_id: i64,
    pub kind: String,
    pub provider: String,
    pub grant_id: Option<i64>,
    pub integration_device_id: String,
    pub name: String,
    pub make: String,
    pub model: String,
    pub catalogue_id: Option<String>,
    pub vin: Option<String>,
    pub battery_capacity_wh: Option<i64>,
    pub max_power_w: Option<i64>,
    pub lifecycle: String,
    pub state: String,
    pub is_suspended: bool,
    pub grid_export: String,
    pub charging_duration_capped: String,
    pub preferences: Option<Json<Value>>,
    pub test_charge: Option<Json<Value>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    pub version: i64,
}

const DEVICE_COLUMNS: &str = "id, account_id, property_id, kind, provider, grant_id, integration_device_id, name, make, model, \
     catalogue_id, vin, battery_capacity_wh, max_power_w, lifecycle, state, is_suspended, grid_export, \
     charging_duration_capped, preferences, test_charge, created_at, updated_at, retired_at, version";

/// Inserts a device as given (its `version` starts at 0). A second registration (not retired) of
/// the same vendor device is [`StoreError::Conflict`].
pub async fn insert_device(db: &Db, d: &Device) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
        "INSERT INTO devices (id, account_id, property_id, kind, provider, grant_id, integration_device_id, name, make, model, \
         catalogue_id, vin, battery_capacity_wh, max_power_w, lifecycle, state, is_suspended, grid_export, \
         charging_duration_capped, preferences, test_charge, created_at, updated_at, retired_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, 0)"
    )
    .bind(&d.id)
    .bind(d.account_id)
    .bind(d.property_id)
    .bind(&d.kind)
    .bind(&d.provider)
    .bind(d.grant_id)
    .bind(&d.integration_device_id)
    .bind(&d.name)
    .bind(&d.make)
    .bind(&d.model)
    .bind(&d.catalogue_id)
    .bind(&d.vin)
    .bind(d.battery_capacity_wh)
    .bind(d.max_power_w)
    .bind(&d.lifecycle)
    .bind(&d.state)
    .bind(d.is_suspended)
    .bind(&d.grid_export)
    .bind(&d.charging_duration_capped)
    .bind(&d.preferences)
    .bind(&d.test_charge)
    .bind(d.created_at)
    .bind(d.updated_at)
    .bind(d.retired_at)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Writes back the mutable fields of a device if nobody changed it since it was read (`version`);
/// otherwise [`StoreError::Conflict`]. Returns the device with its new version.
pub async fn update_device(db: &Db, d: &Device) -> Result<Device, StoreError> {
    let changed = on_db!(db, |pool| {
        sqlx::query(
        "UPDATE devices SET lifecycle = $1, state = $2, is_suspended = $3, grid_export = $4, charging_duration_capped = $5, \
         preferences = $6, test_charge = $7, updated_at = $8, retired_at = $9, name = $10, vin = $11, version = version + 1 \
         WHERE id = $12 AND version = $13"
    )
    .bind(&d.lifecycle)
    .bind(&d.state)
    .bind(d.is_suspended)
    .bind(&d.grid_export)
    .bind(&d.charging_duration_capped)
    .bind(&d.preferences)
    .bind(&d.test_charge)
    .bind(d.updated_at)
    .bind(d.retired_at)
    .bind(&d.name)
    .bind(&d.vin)
    .bind(&d.id)
    .bind(d.version)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    if changed == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(Device {
        version: d.version + 1,
        ..d.clone()
    })
}

/// Inserts many devices in one transaction (each `version` starts at 0).
pub async fn insert_devices(db: &Db, devices: &[Device]) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    for chunk in devices.chunks(500) {
        on_tx!(&mut tx, |conn| {
            let mut query =
                sqlx::QueryBuilder::new(format!("INSERT INTO devices ({DEVICE_COLUMNS}) "));
            query.push_values(chunk, |mut row, d| {
                row.push_bind(&d.id)
                    .push_bind(d.account_id)
                    .push_bind(d.property_id)
                    .push_bind(&d.kind)
                    .push_bind(&d.provider)
                    .push_bind(d.grant_id)
                    .push_bind(&d.integration_device_id)
                    .push_bind(&d.name)
                    .push_bind(&d.make)
                    .push_bind(&d.model)
                    .push_bind(&d.catalogue_id)
                    .push_bind(&d.vin)
                    .push_bind(d.battery_capacity_wh)
                    .push_bind(d.max_power_w)
                    .push_bind(&d.lifecycle)
                    .push_bind(&d.state)
                    .push_bind(d.is_suspended)
                    .push_bind(&d.grid_export)
                    .push_bind(&d.charging_duration_capped)
                    .push_bind(&d.preferences)
                    .push_bind(&d.test_charge)
                    .push_bind(d.created_at)
                    .push_bind(d.updated_at)
                    .push_bind(d.retired_at)
                    .push_bind(0_i64);
            });
            query.build().execute(conn).await.map(|_| ())
        })?;
    }
    tx.commit().await
}

/// Stores the latest reading of many devices in one transaction: `(device_id, at, reading)`.
pub async fn save_latest_telemetry_many(
    db: &Db,
    readings: &[(String, DateTime<Utc>, Value)],
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    for chunk in readings.chunks(1000) {
        on_tx!(&mut tx, |conn| {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO device_telemetry_latest (device_id, at, reading) ",
            );
            query.push_values(chunk, |mut row, (id, at, reading)| {
                row.push_bind(id).push_bind(*at).push_bind(Json(reading));
            });
            query.push(
                " ON CONFLICT (device_id) DO UPDATE SET at = excluded.at, reading = excluded.reading",
            );
            query.build().execute(conn).await.map(|_| ())
        })?;
    }
    tx.commit().await
}

/// Moves a device to another vendor grant (after re-authentication).
pub async fn set_device_grant(
    db: &Db,
    device_id: &str,
    grant_id: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    rows(on_db!(db, |pool| sqlx::query(
        "UPDATE devices SET grant_id = $1, updated_at = $2, version = version + 1 WHERE id = $3"
    )
    .bind(grant_id)
    .bind(now)
    .bind(device_id)
    .execute(pool)
    .await
    .map(|d| d.rows_affected()))?)
}

pub async fn device_by_id(db: &Db, id: &str) -> Result<Option<Device>, StoreError> {
    let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Device>(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await)?)
}

/// The account's devices, oldest first, retired ones included.
pub async fn devices_of_account(db: &Db, account_id: i64) -> Result<Vec<Device>, StoreError> {
    let sql = format!(
        "SELECT {DEVICE_COLUMNS} FROM devices WHERE account_id = $1 ORDER BY created_at, id"
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Device>(&sql)
        .bind(account_id)
        .fetch_all(pool)
        .await)?)
}

/// Every device that is not retired (for the control loop).
pub async fn active_devices(db: &Db) -> Result<Vec<Device>, StoreError> {
    let sql =
        format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE lifecycle <> 'RETIRED' ORDER BY id");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Device>(&sql)
        .fetch_all(pool)
        .await)?)
}

/// The namespace of a provider's vendor device ids: OCPP and OCPP_WALLBOX share the charge point
/// identity, every other provider has its own. The unique index `devices_one_registration`
/// (migration 0013) spells the same rule in SQL.
pub fn device_namespace(provider: &str) -> &str {
    match provider {
        "OCPP" | "OCPP_WALLBOX" => "OCPP",
        other => other,
    }
}

const NAMESPACE_SQL: &str =
    "(CASE WHEN provider IN ('OCPP', 'OCPP_WALLBOX') THEN 'OCPP' ELSE provider END)";

/// The registration (not retired) of this vendor device, on any account: a vendor device belongs
/// to one account at a time, which the database enforces (inserting a second is
/// [`StoreError::Conflict`]).
pub async fn live_device_by_integration_id(
    db: &Db,
    provider: &str,
    integration_device_id: &str,
) -> Result<Option<Device>, StoreError> {
    let sql = format!(
        "SELECT {DEVICE_COLUMNS} FROM devices WHERE {NAMESPACE_SQL} = $1 AND integration_device_id = $2 \
         AND lifecycle <> 'RETIRED' ORDER BY created_at, id LIMIT 1"
    );
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Device>(&sql)
        .bind(device_namespace(provider))
        .bind(integration_device_id)
        .fetch_optional(pool)
        .await)?)
}

/// Stores the latest reading of a device.
pub async fn save_latest_telemetry(
    db: &Db,
    device_id: &str,
    at: DateTime<Utc>,
    reading: &Value,
) -> Result<(), StoreError> {
    on_db!(db, |pool| sqlx::query(
        "INSERT INTO device_telemetry_latest (device_id, at, reading) VALUES ($1, $2, $3) \
         ON CONFLICT (device_id) DO UPDATE SET at = excluded.at, reading = excluded.reading"
    )
    .bind(device_id)
    .bind(at)
    .bind(Json(reading))
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

pub async fn latest_telemetry(
    db: &Db,
    device_id: &str,
) -> Result<Option<(DateTime<Utc>, Value)>, StoreError> {
    let row: Option<(DateTime<Utc>, Json<Value>)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT at, reading FROM device_telemetry_latest WHERE device_id = $1"
    )
    .bind(device_id)
    .fetch_optional(pool)
    .await)?;
    Ok(row.map(|(at, reading)| (at, reading.0)))
}

/// The latest reading of every device that has one, by device id.
pub async fn all_latest_telemetry(
    db: &Db,
) -> Result<HashMap<String, (DateTime<Utc>, Value)>, StoreError> {
    let rows: Vec<(String, DateTime<Utc>, Json<Value>)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT device_id, at, reading FROM device_telemetry_latest"
    )
    .fetch_all(pool)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|(id, at, reading)| (id, (at, reading.0)))
        .collect())
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Alert {
    pub id: i64,
    pub device_id: String,
    pub message: String,
    pub published_at: DateTime<Utc>,
}

pub async fn add_alert(
    db: &Db,
    device_id: &str,
    message: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_db!(db, |pool| sqlx::query(
        "INSERT INTO device_alerts (device_id, message, published_at) VALUES ($1, $2, $3)"
    )
    .bind(device_id)
    .bind(message)
    .bind(now)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// The device's alerts, newest first.
pub async fn alerts_of_device(
    db: &Db,
    device_id: &str,
    limit: i64,
) -> Result<Vec<Alert>, StoreError> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, Alert>(
        "SELECT id, device_id, message, published_at FROM device_alerts WHERE device_id = $1 ORDER BY published_at DESC, id DESC LIMIT $2"
    )
    .bind(device_id)
    .bind(limit)
    .fetch_all(pool)
    .await
    })?)
}

/// A stored onboarding wizard.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WizardRow {
    pub id: String,
    pub account_id: i64,
    pub property_id: i64,
    pub oauth_state: Option<String>,
    pub state: Json<Value>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const WIZARD_COLUMNS: &str =
    "id, account_id, property_id, oauth_state, state, version, created_at, updated_at";

pub async fn insert_wizard(db: &Db, w: &WizardRow) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
        "INSERT INTO onboarding_wizards (id, account_id, property_id, oauth_state, state, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 0, $6, $7)"
    )
    .bind(&w.id)
    .bind(w.account_id)
    .bind(w.property_id)
    .bind(&w.oauth_state)
    .bind(&w.state)
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
    let changed = on_db!(db, |pool| {
        sqlx::query(
        "UPDATE onboarding_wizards SET state = $1, oauth_state = $2, updated_at = $3, version = version + 1 \
         WHERE id = $4 AND version = $5"
    )
    .bind(&w.state)
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
    Ok(on_db!(db, |pool| sqlx::query_as::<_, WizardRow>(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await)?)
}

pub async fn wizard_by_oauth_state(
    db: &Db,
    oauth_state: &str,
) -> Result<Option<WizardRow>, StoreError> {
    let sql = format!("SELECT {WIZARD_COLUMNS} FROM onboarding_wizards WHERE oauth_state = $1");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, WizardRow>(&sql)
        .bind(oauth_state)
        .fetch_optional(pool)
        .await)?)
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
    Ok(on_db!(db, |pool| sqlx::query_as::<_, WizardRow>(&sql)
        .bind(account_id)
        .bind(property_id)
        .fetch_all(pool)
        .await)?)
}

/// Saves a simulated world.
pub async fn save_simulator_world(
    db: &Db,
    provider: &str,
    snapshot: &Value,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
        "INSERT INTO simulator_worlds (provider, snapshot, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (provider) DO UPDATE SET snapshot = excluded.snapshot, updated_at = excluded.updated_at"
    )
    .bind(provider)
    .bind(Json(snapshot))
    .bind(now)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    Ok(())
}

pub async fn simulator_world(db: &Db, provider: &str) -> Result<Option<Value>, StoreError> {
    let row: Option<Json<Value>> = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT snapshot FROM simulator_worlds WHERE provider = $1"
    )
    .bind(provider)
    .fetch_optional(pool)
    .await)?;
    Ok(row.map(|json| json.0))
}

/// Appends a reading to the device's time series (a repeated instant is kept once).
pub async fn append_telemetry(
    db: &Db,
    device_id: &str,
    at: DateTime<Utc>,
    reading: &Value,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
        "INSERT INTO device_telemetry (device_id, at, reading) VALUES ($1, $2, $3) ON CONFLICT (device_id, at) DO NOTHING"
    )
    .bind(device_id)
    .bind(at)
    .bind(Json(reading))
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// The device's readings in `[from, to)`, oldest first.
pub async fn telemetry_between(
    db: &Db,
    device_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, Value)>, StoreError> {
    let rows: Vec<(DateTime<Utc>, Json<Value>)> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT at, reading FROM device_telemetry WHERE device_id = $1 AND at >= $2 AND at < $3 ORDER BY at"
    )
    .bind(device_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(at, reading)| (at, reading.0))
        .collect())
}

/// Forgets readings older than `before`; answers how many were removed.
pub async fn prune_telemetry(db: &Db, before: DateTime<Utc>) -> Result<u64, StoreError> {
    Ok(on_db!(db, |pool| sqlx::query(
        "DELETE FROM device_telemetry WHERE at < $1"
    )
    .bind(before)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?)
}
