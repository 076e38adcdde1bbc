//! Devices, the vendor grants behind them, their latest telemetry, alerts, onboarding wizards and the
//! simulator's saved worlds. Structured settings (preferences, test-charge progress, wizard state) are
//! stored as JSON; the domain and API crates own their shape.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

use resiflex_domain::device::{
    DeviceKind, DeviceState, FlexSetting, Lifecycle, Provider, TestChargeStart,
};
use resiflex_domain::preferences::Preferences;

use crate::documents::{Document, decode, encode};
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
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderGrant {
    pub id: i64,
    pub account_id: i64,
    pub provider: Provider,
    pub subject: String,
    pub secret: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A grant as the database holds it (its secret sealed).
#[derive(sqlx::FromRow)]
struct GrantRow {
    id: i64,
    account_id: i64,
    provider: String,
    subject: String,
    secret: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

/// Stores a grant; its secret (the vendor's access and refresh tokens) is sealed with the handle's
/// master key, and comes back in plain text.
pub async fn insert_grant(
    db: &Db,
    account_id: i64,
    provider: Provider,
    subject: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<ProviderGrant, StoreError> {
    let sealed = db.secret_keys()?.seal(
        &grant_context(account_id, provider.as_str(), subject),
        secret,
    );
    let stored = on_db!(db, |pool| {
        sqlx::query_as::<_, GrantRow>(
        "INSERT INTO provider_grants (account_id, provider, subject, secret, created_at) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, account_id, provider, subject, secret, created_at, revoked_at"
    )
    .bind(account_id)
    .bind(provider.as_str())
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
        sqlx::query_as::<_, GrantRow>(
        "SELECT id, account_id, provider, subject, secret, created_at, revoked_at FROM provider_grants WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    })?;
    stored.map(|grant| open_grant(db, grant)).transpose()
}

/// The grant with this id if it is still in force (not revoked).
pub async fn live_grant(db: &Db, id: i64) -> Result<Option<ProviderGrant>, StoreError> {
    Ok(grant_by_id(db, id)
        .await?
        .filter(|grant| grant.revoked_at.is_none()))
}

/// The grant with its secret decrypted (a plain secret from before encryption is returned as it is
/// until the start-up step seals it).
fn open_grant(db: &Db, grant: GrantRow) -> Result<ProviderGrant, StoreError> {
    let mut secret = grant.secret;
    if is_sealed(&secret) {
        let context = grant_context(grant.account_id, &grant.provider, &grant.subject);
        secret = db.secret_keys()?.open(&context, &secret)?;
    }
    Ok(ProviderGrant {
        provider: named("provider", &grant.provider, Provider::parse)?,
        id: grant.id,
        account_id: grant.account_id,
        subject: grant.subject,
        secret,
        created_at: grant.created_at,
        revoked_at: grant.revoked_at,
    })
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

/// A registered device, typed: its kind, machines, provider and settings are the domain's enums, its
/// preferences and test-charge progress the domain's structs.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub id: String,
    pub account_id: i64,
    pub property_id: i64,
    pub kind: DeviceKind,
    pub provider: Provider,
    pub grant_id: Option<i64>,
    pub integration_device_id: String,
    pub name: String,
    pub make: String,
    pub model: String,
    pub catalogue_id: Option<String>,
    pub vin: Option<String>,
    pub battery_capacity_wh: Option<i64>,
    pub max_power_w: Option<i64>,
    pub lifecycle: Lifecycle,
    pub state: DeviceState,
    pub is_suspended: bool,
    pub grid_export: FlexSetting,
    pub charging_duration_capped: FlexSetting,
    pub preferences: Option<Preferences>,
    pub test_charge: Option<TestChargeStart>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    pub version: i64,
}

impl Device {
    /// A live, smart-control-capable device of `kind` on the account's property, known to its
    /// provider as `remote_id`, with the kind's default settings and preferences and nothing else
    /// yet (no grant, catalogue entry, VIN, capacity or power; name, make and model empty). Set
    /// what differs with struct update syntax.
    pub fn live(
        id: impl Into<String>,
        (account_id, property_id): (i64, i64),
        kind: DeviceKind,
        provider: Provider,
        remote_id: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Device {
        Device {
            id: id.into(),
            account_id,
            property_id,
            kind,
            provider,
            grant_id: None,
            integration_device_id: remote_id.into(),
            name: String::new(),
            make: String::new(),
            model: String::new(),
            catalogue_id: None,
            vin: None,
            battery_capacity_wh: None,
            max_power_w: None,
            lifecycle: Lifecycle::Live,
            state: DeviceState::SmartControlCapable,
            is_suspended: false,
            grid_export: kind.default_grid_export(),
            charging_duration_capped: kind.default_charging_duration_capped(),
            preferences: Preferences::default_for(kind),
            test_charge: None,
            created_at: now,
            updated_at: now,
            retired_at: None,
            version: 0,
        }
    }
}

impl Document for Preferences {
    const NAME: &'static str = "device preferences";
}

impl Document for TestChargeStart {
    const NAME: &'static str = "test charge";
}

/// A device as the database holds it.
#[derive(sqlx::FromRow)]
struct DeviceRow {
    id: String,
    account_id: i64,
    property_id: i64,
    kind: String,
    provider: String,
    grant_id: Option<i64>,
    integration_device_id: String,
    name: String,
    make: String,
    model: String,
    catalogue_id: Option<String>,
    vin: Option<String>,
    battery_capacity_wh: Option<i64>,
    max_power_w: Option<i64>,
    lifecycle: String,
    state: String,
    is_suspended: bool,
    grid_export: String,
    charging_duration_capped: String,
    preferences: Option<Json<Value>>,
    test_charge: Option<Json<Value>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
    version: i64,
}

/// A stored name that is not one of the domain's values.
fn named<T>(what: &str, text: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, StoreError> {
    parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown device {what} {text:?}")))
}

impl TryFrom<DeviceRow> for Device {
    type Error = StoreError;

    fn try_from(row: DeviceRow) -> Result<Device, StoreError> {
        Ok(Device {
            kind: named("kind", &row.kind, DeviceKind::parse)?,
            provider: named("provider", &row.provider, Provider::parse)?,
            lifecycle: named("lifecycle", &row.lifecycle, Lifecycle::parse)?,
            state: named("state", &row.state, DeviceState::parse)?,
            grid_export: named("grid export", &row.grid_export, FlexSetting::parse)?,
            charging_duration_capped: named(
                "charging duration cap",
                &row.charging_duration_capped,
                FlexSetting::parse,
            )?,
            preferences: row.preferences.map(|doc| decode(doc.0)).transpose()?,
            test_charge: row.test_charge.map(|doc| decode(doc.0)).transpose()?,
            id: row.id,
            account_id: row.account_id,
            property_id: row.property_id,
            grant_id: row.grant_id,
            integration_device_id: row.integration_device_id,
            name: row.name,
            make: row.make,
            model: row.model,
            catalogue_id: row.catalogue_id,
            vin: row.vin,
            battery_capacity_wh: row.battery_capacity_wh,
            max_power_w: row.max_power_w,
            is_suspended: row.is_suspended,
            created_at: row.created_at,
            updated_at: row.updated_at,
            retired_at: row.retired_at,
            version: row.version,
        })
    }
}

/// The JSON documents of a device, as written.
struct DeviceDocuments {
    preferences: Option<Json<Value>>,
    test_charge: Option<Json<Value>>,
}

impl DeviceDocuments {
    fn of(d: &Device) -> Result<DeviceDocuments, StoreError> {
        Ok(DeviceDocuments {
            preferences: d.preferences.as_ref().map(encode).transpose()?.map(Json),
            test_charge: d.test_charge.as_ref().map(encode).transpose()?.map(Json),
        })
    }
}

const DEVICE_COLUMNS: &str = "id, account_id, property_id, kind, provider, grant_id, integration_device_id, name, make, model, \
     catalogue_id, vin, battery_capacity_wh, max_power_w, lifecycle, state, is_suspended, grid_export, \
     charging_duration_capped, preferences, test_charge, created_at, updated_at, retired_at, version";

fn devices(rows: Vec<DeviceRow>) -> Result<Vec<Device>, StoreError> {
    rows.into_iter().map(Device::try_from).collect()
}

/// Inserts a device as given (its `version` starts at 0). A second registration (not retired) of
/// the same vendor device is [`StoreError::Conflict`].
pub async fn insert_device(db: &Db, d: &Device) -> Result<(), StoreError> {
    let docs = DeviceDocuments::of(d)?;
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
    .bind(d.kind.as_str())
    .bind(d.provider.as_str())
    .bind(d.grant_id)
    .bind(&d.integration_device_id)
    .bind(&d.name)
    .bind(&d.make)
    .bind(&d.model)
    .bind(&d.catalogue_id)
    .bind(&d.vin)
    .bind(d.battery_capacity_wh)
    .bind(d.max_power_w)
    .bind(d.lifecycle.as_str())
    .bind(d.state.as_str())
    .bind(d.is_suspended)
    .bind(d.grid_export.as_str())
    .bind(d.charging_duration_capped.as_str())
    .bind(&docs.preferences)
    .bind(&docs.test_charge)
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
    let docs = DeviceDocuments::of(d)?;
    let changed = on_db!(db, |pool| {
        sqlx::query(
        "UPDATE devices SET lifecycle = $1, state = $2, is_suspended = $3, grid_export = $4, charging_duration_capped = $5, \
         preferences = $6, test_charge = $7, updated_at = $8, retired_at = $9, name = $10, vin = $11, version = version + 1 \
         WHERE id = $12 AND version = $13"
    )
    .bind(d.lifecycle.as_str())
    .bind(d.state.as_str())
    .bind(d.is_suspended)
    .bind(d.grid_export.as_str())
    .bind(d.charging_duration_capped.as_str())
    .bind(&docs.preferences)
    .bind(&docs.test_charge)
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
    let docs = devices
        .iter()
        .map(|d| DeviceDocuments::of(d).map(|docs| (d, docs)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut tx = db.begin().await?;
    for chunk in docs.chunks(500) {
        on_tx!(&mut tx, |conn| {
            let mut query =
                sqlx::QueryBuilder::new(format!("INSERT INTO devices ({DEVICE_COLUMNS}) "));
            query.push_values(chunk, |mut row, (d, docs)| {
                row.push_bind(&d.id)
                    .push_bind(d.account_id)
                    .push_bind(d.property_id)
                    .push_bind(d.kind.as_str())
                    .push_bind(d.provider.as_str())
                    .push_bind(d.grant_id)
                    .push_bind(&d.integration_device_id)
                    .push_bind(&d.name)
                    .push_bind(&d.make)
                    .push_bind(&d.model)
                    .push_bind(&d.catalogue_id)
                    .push_bind(&d.vin)
                    .push_bind(d.battery_capacity_wh)
                    .push_bind(d.max_power_w)
                    .push_bind(d.lifecycle.as_str())
                    .push_bind(d.state.as_str())
                    .push_bind(d.is_suspended)
                    .push_bind(d.grid_export.as_str())
                    .push_bind(d.charging_duration_capped.as_str())
                    .push_bind(&docs.preferences)
                    .push_bind(&docs.test_charge)
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
    on_db!(db, |pool| sqlx::query_as::<_, DeviceRow>(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await)?
    .map(Device::try_from)
    .transpose()
}

/// The account's devices, oldest first, retired ones included.
pub async fn devices_of_account(db: &Db, account_id: i64) -> Result<Vec<Device>, StoreError> {
    let sql = format!(
        "SELECT {DEVICE_COLUMNS} FROM devices WHERE account_id = $1 ORDER BY created_at, id"
    );
    devices(on_db!(db, |pool| sqlx::query_as::<_, DeviceRow>(&sql)
        .bind(account_id)
        .fetch_all(pool)
        .await)?)
}

/// The property's devices, oldest first, retired ones included.
pub async fn devices_of_property(db: &Db, property_id: i64) -> Result<Vec<Device>, StoreError> {
    let sql = format!(
        "SELECT {DEVICE_COLUMNS} FROM devices WHERE property_id = $1 ORDER BY created_at, id"
    );
    devices(on_db!(db, |pool| sqlx::query_as::<_, DeviceRow>(&sql)
        .bind(property_id)
        .fetch_all(pool)
        .await)?)
}

/// Every device that is not retired (for the control loop).
pub async fn active_devices(db: &Db) -> Result<Vec<Device>, StoreError> {
    let sql =
        format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE lifecycle <> 'RETIRED' ORDER BY id");
    devices(on_db!(db, |pool| sqlx::query_as::<_, DeviceRow>(&sql)
        .fetch_all(pool)
        .await)?)
}

/// The namespace of a provider's vendor device ids: OCPP and OCPP_WALLBOX share the charge point
/// identity, every other provider has its own. The unique index `devices_one_registration`
/// (migration 0013) spells the same rule in SQL.
pub fn device_namespace(provider: Provider) -> &'static str {
    if provider.connects_itself() {
        Provider::Ocpp.as_str()
    } else {
        provider.as_str()
    }
}

const NAMESPACE_SQL: &str =
    "(CASE WHEN provider IN ('OCPP', 'OCPP_WALLBOX') THEN 'OCPP' ELSE provider END)";

/// The registration (not retired) of this vendor device, on any account: a vendor device belongs
/// to one account at a time, which the database enforces (inserting a second is
/// [`StoreError::Conflict`]).
pub async fn live_device_by_integration_id(
    db: &Db,
    provider: Provider,
    integration_device_id: &str,
) -> Result<Option<Device>, StoreError> {
    let sql = format!(
        "SELECT {DEVICE_COLUMNS} FROM devices WHERE {NAMESPACE_SQL} = $1 AND integration_device_id = $2 \
         AND lifecycle <> 'RETIRED' ORDER BY created_at, id LIMIT 1"
    );
    on_db!(db, |pool| sqlx::query_as::<_, DeviceRow>(&sql)
        .bind(device_namespace(provider))
        .bind(integration_device_id)
        .fetch_optional(pool)
        .await)?
    .map(Device::try_from)
    .transpose()
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
