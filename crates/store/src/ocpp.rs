//! The OCPP central system's records: enrolled charge points (identity, password hash, what they
//! reported at boot, their capabilities and quirks), transactions with the numbers ResiFlex gave
//! them, the charging profiles ResiFlex keeps installed, and command receipts by idempotency key.
//! Capabilities, quirks and profiles are JSON whose shape the OCPP crate owns.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

use crate::{Db, StoreError, on_db};

/// An enrolled charge point.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ChargePoint {
    /// The charge point identity (the last segment of its WebSocket URL).
    pub id: String,
    /// Its password's salted Argon2id hash (PHC string); rows from before are an unsalted SHA-256
    /// in hex, replaced on the charger's next successful sign-in.
    pub password_hash: String,
    /// The `ProviderChoices` value it was enrolled under (`OCPP`, `OCPP_WALLBOX`).
    pub provider: String,
    /// The onboarding that issued it, so that asking again returns the same charger.
    pub enrolment_key: Option<String>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    pub firmware_version: Option<String>,
    /// When a BootNotification of this charger was last accepted.
    pub boot_accepted_at: Option<DateTime<Utc>>,
    pub capabilities: Value,
    pub quirks: Value,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const CHARGE_POINT_COLUMNS: &str = "id, password_hash, provider, enrolment_key, vendor, model, serial_number, \
     firmware_version, boot_accepted_at, capabilities, quirks, created_at, revoked_at";

/// Enrols a charge point. An identity or enrolment key that exists already is [`StoreError::Conflict`].
pub async fn insert_charge_point(db: &Db, cp: &ChargePoint) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO ocpp_charge_points (id, password_hash, provider, enrolment_key, vendor, model, serial_number, \
             firmware_version, boot_accepted_at, capabilities, quirks, created_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&cp.id)
        .bind(&cp.password_hash)
        .bind(&cp.provider)
        .bind(&cp.enrolment_key)
        .bind(&cp.vendor)
        .bind(&cp.model)
        .bind(&cp.serial_number)
        .bind(&cp.firmware_version)
        .bind(cp.boot_accepted_at)
        .bind(&cp.capabilities)
        .bind(&cp.quirks)
        .bind(cp.created_at)
        .bind(cp.revoked_at)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(())
}

pub async fn charge_point(db: &Db, id: &str) -> Result<Option<ChargePoint>, StoreError> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, ChargePoint>(&format!(
            "SELECT {CHARGE_POINT_COLUMNS} FROM ocpp_charge_points WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await
    })?)
}

pub async fn charge_point_by_enrolment(
    db: &Db,
    enrolment_key: &str,
) -> Result<Option<ChargePoint>, StoreError> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, ChargePoint>(&format!(
            "SELECT {CHARGE_POINT_COLUMNS} FROM ocpp_charge_points WHERE enrolment_key = $1"
        ))
        .bind(enrolment_key)
        .fetch_optional(pool)
        .await
    })?)
}

/// What the charger said about itself in an accepted BootNotification.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BootRecord {
    pub vendor: String,
    pub model: String,
    pub serial_number: Option<String>,
    pub firmware_version: Option<String>,
}

pub async fn record_boot(
    db: &Db,
    id: &str,
    boot: &BootRecord,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let done = on_db!(db, |pool| {
        sqlx::query(
            "UPDATE ocpp_charge_points SET vendor = $1, model = $2, serial_number = $3, firmware_version = $4, \
             boot_accepted_at = $5 WHERE id = $6",
        )
        .bind(&boot.vendor)
        .bind(&boot.model)
        .bind(&boot.serial_number)
        .bind(&boot.firmware_version)
        .bind(at)
        .bind(id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    found(done)
}

pub async fn set_capabilities(db: &Db, id: &str, capabilities: &Value) -> Result<(), StoreError> {
    let done = on_db!(db, |pool| {
        sqlx::query("UPDATE ocpp_charge_points SET capabilities = $1 WHERE id = $2")
            .bind(Json(capabilities))
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })?;
    found(done)
}

pub async fn set_quirks(db: &Db, id: &str, quirks: &Value) -> Result<(), StoreError> {
    let done = on_db!(db, |pool| {
        sqlx::query("UPDATE ocpp_charge_points SET quirks = $1 WHERE id = $2")
            .bind(Json(quirks))
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })?;
    found(done)
}

/// What a charge point is rated for: the most current per phase, and its phases.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rating {
    pub amperes: Option<f64>,
    pub phases: Option<i64>,
}

/// Records what the charge point is rated for (from the catalogue entry it was onboarded as).
pub async fn set_rating(db: &Db, id: &str, rating: Rating) -> Result<(), StoreError> {
    let done = on_db!(db, |pool| {
        sqlx::query(
            "UPDATE ocpp_charge_points SET rated_amperes = $1, rated_phases = $2 WHERE id = $3",
        )
        .bind(rating.amperes)
        .bind(rating.phases)
        .bind(id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    found(done)
}

/// What the charge point is rated for; nothing known when it was never rated.
pub async fn rating(db: &Db, id: &str) -> Result<Rating, StoreError> {
    let row: Option<(Option<f64>, Option<i64>)> = on_db!(db, |pool| {
        sqlx::query_as("SELECT rated_amperes, rated_phases FROM ocpp_charge_points WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await
    })?;
    Ok(
        row.map_or_else(Rating::default, |(amperes, phases)| Rating {
            amperes,
            phases,
        }),
    )
}

/// Replaces a charge point's password hash if it is still `old_hash` (a legacy hash upgraded after
/// a successful sign-in; a concurrent change wins). Answers whether it was replaced.
pub async fn upgrade_password_hash(
    db: &Db,
    id: &str,
    old_hash: &str,
    new_hash: &str,
) -> Result<bool, StoreError> {
    let done = on_db!(db, |pool| {
        sqlx::query(
            "UPDATE ocpp_charge_points SET password_hash = $1 WHERE id = $2 AND password_hash = $3",
        )
        .bind(new_hash)
        .bind(id)
        .bind(old_hash)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(done > 0)
}

/// Revokes a charge point: its password stops working.
pub async fn revoke_charge_point(db: &Db, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "UPDATE ocpp_charge_points SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(())
}

fn found(done: u64) -> Result<(), StoreError> {
    if done == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// A charging transaction.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Transaction {
    pub id: i64,
    pub charge_point_id: String,
    pub connector_id: i64,
    pub id_tag: String,
    pub meter_start_wh: i64,
    pub started_at: DateTime<Utc>,
    pub meter_stop_wh: Option<i64>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub stop_reason: Option<String>,
}

const TRANSACTION_COLUMNS: &str = "id, charge_point_id, connector_id, id_tag, meter_start_wh, started_at, \
     meter_stop_wh, stopped_at, stop_reason";

/// Starts a transaction and returns it with its number. The same start sent again (same charger,
/// connector and start time) returns the transaction recorded the first time.
pub async fn start_transaction(
    db: &Db,
    charge_point_id: &str,
    connector_id: i64,
    id_tag: &str,
    meter_start_wh: i64,
    started_at: DateTime<Utc>,
) -> Result<Transaction, StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO ocpp_transactions (charge_point_id, connector_id, id_tag, meter_start_wh, started_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (charge_point_id, connector_id, started_at) DO NOTHING",
        )
        .bind(charge_point_id)
        .bind(connector_id)
        .bind(id_tag)
        .bind(meter_start_wh)
        .bind(started_at)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, Transaction>(&format!(
            "SELECT {TRANSACTION_COLUMNS} FROM ocpp_transactions \
             WHERE charge_point_id = $1 AND connector_id = $2 AND started_at = $3"
        ))
        .bind(charge_point_id)
        .bind(connector_id)
        .bind(started_at)
        .fetch_one(pool)
        .await
    })?)
}

/// Ends a transaction of this charger; a transaction already ended keeps its first end.
pub async fn stop_transaction(
    db: &Db,
    charge_point_id: &str,
    id: i64,
    meter_stop_wh: i64,
    stopped_at: DateTime<Utc>,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "UPDATE ocpp_transactions SET meter_stop_wh = $1, stopped_at = $2, stop_reason = $3 \
             WHERE id = $4 AND charge_point_id = $5 AND stopped_at IS NULL",
        )
        .bind(meter_stop_wh)
        .bind(stopped_at)
        .bind(reason)
        .bind(id)
        .bind(charge_point_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// The charger's transactions that have not ended, oldest first.
pub async fn open_transactions(
    db: &Db,
    charge_point_id: &str,
) -> Result<Vec<Transaction>, StoreError> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, Transaction>(&format!(
            "SELECT {TRANSACTION_COLUMNS} FROM ocpp_transactions \
             WHERE charge_point_id = $1 AND stopped_at IS NULL ORDER BY id"
        ))
        .bind(charge_point_id)
        .fetch_all(pool)
        .await
    })?)
}

pub async fn transaction(db: &Db, id: i64) -> Result<Option<Transaction>, StoreError> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, Transaction>(&format!(
            "SELECT {TRANSACTION_COLUMNS} FROM ocpp_transactions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await
    })?)
}

/// A charging profile ResiFlex keeps installed on a charger.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct InstalledProfile {
    pub charge_point_id: String,
    /// Which of ResiFlex's profiles this is (its purpose, as the OCPP crate names it).
    pub slot: String,
    pub connector_id: i64,
    pub profile: Value,
    pub sent_at: DateTime<Utc>,
}

/// Records the profile installed in a slot, replacing the one before.
pub async fn save_profile(db: &Db, p: &InstalledProfile) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO ocpp_profiles (charge_point_id, slot, connector_id, profile, sent_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (charge_point_id, slot) DO UPDATE SET connector_id = excluded.connector_id, \
             profile = excluded.profile, sent_at = excluded.sent_at",
        )
        .bind(&p.charge_point_id)
        .bind(&p.slot)
        .bind(p.connector_id)
        .bind(&p.profile)
        .bind(p.sent_at)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(())
}

pub async fn delete_profile(db: &Db, charge_point_id: &str, slot: &str) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query("DELETE FROM ocpp_profiles WHERE charge_point_id = $1 AND slot = $2")
            .bind(charge_point_id)
            .bind(slot)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(())
}

pub async fn profiles(db: &Db, charge_point_id: &str) -> Result<Vec<InstalledProfile>, StoreError> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, InstalledProfile>(
            "SELECT charge_point_id, slot, connector_id, profile, sent_at FROM ocpp_profiles \
             WHERE charge_point_id = $1 ORDER BY slot",
        )
        .bind(charge_point_id)
        .fetch_all(pool)
        .await
    })?)
}

/// The receipt of a command carried out earlier with this idempotency key.
pub async fn command_receipt(
    db: &Db,
    charge_point_id: &str,
    idempotency_key: &str,
) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, (String, DateTime<Utc>)>(
            "SELECT command_id, accepted_at FROM ocpp_commands WHERE charge_point_id = $1 AND idempotency_key = $2",
        )
        .bind(charge_point_id)
        .bind(idempotency_key)
        .fetch_optional(pool)
        .await
    })?)
}

/// Records a command's receipt; the first receipt for a key wins and is returned.
pub async fn save_command_receipt(
    db: &Db,
    charge_point_id: &str,
    idempotency_key: &str,
    command_id: &str,
    accepted_at: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO ocpp_commands (charge_point_id, idempotency_key, command_id, accepted_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (charge_point_id, idempotency_key) DO NOTHING",
        )
        .bind(charge_point_id)
        .bind(idempotency_key)
        .bind(command_id)
        .bind(accepted_at)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    command_receipt(db, charge_point_id, idempotency_key)
        .await?
        .ok_or(StoreError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;
    use chrono::TimeZone;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, minute, 0).unwrap()
    }

    fn charger(id: &str) -> ChargePoint {
        ChargePoint {
            id: id.to_owned(),
            password_hash: "ab".repeat(32),
            provider: "OCPP".to_owned(),
            enrolment_key: Some(format!("wizard-{id}")),
            vendor: None,
            model: None,
            serial_number: None,
            firmware_version: None,
            boot_accepted_at: None,
            capabilities: serde_json::json!({}),
            quirks: serde_json::json!({}),
            created_at: at(0),
            revoked_at: None,
        }
    }

    #[tokio::test]
    async fn charge_points_transactions_profiles_and_receipts_round_trip() {
        let test = TestDb::new().await;
        let db = &test.db;
        insert_charge_point(db, &charger("CP-1")).await.unwrap();
        assert!(matches!(
            insert_charge_point(db, &charger("CP-1")).await,
            Err(StoreError::Conflict)
        ));
        let boot = BootRecord {
            vendor: "Wallbox".into(),
            model: "Pulsar".into(),
            serial_number: Some("S1".into()),
            firmware_version: None,
        };
        record_boot(db, "CP-1", &boot, at(1)).await.unwrap();
        set_quirks(db, "CP-1", &serde_json::json!({"zeroLimit": "remoteStop"}))
            .await
            .unwrap();
        let stored = charge_point_by_enrolment(db, "wizard-CP-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.vendor.as_deref(), Some("Wallbox"));
        assert_eq!(stored.boot_accepted_at, Some(at(1)));
        assert_eq!(stored.quirks["zeroLimit"], "remoteStop");

        let first = start_transaction(db, "CP-1", 1, "TAG", 100, at(2))
            .await
            .unwrap();
        let again = start_transaction(db, "CP-1", 1, "TAG", 100, at(2))
            .await
            .unwrap();
        assert_eq!(first.id, again.id, "a repeated start gets the same number");
        let second = start_transaction(db, "CP-1", 1, "TAG", 200, at(3))
            .await
            .unwrap();
        assert_ne!(first.id, second.id);
        stop_transaction(db, "CP-1", first.id, 150, at(4), Some("Remote"))
            .await
            .unwrap();
        let open = open_transactions(db, "CP-1").await.unwrap();
        assert_eq!(open.iter().map(|t| t.id).collect::<Vec<_>>(), [second.id]);

        let profile = InstalledProfile {
            charge_point_id: "CP-1".into(),
            slot: "TxDefaultProfile".into(),
            connector_id: 1,
            profile: serde_json::json!({"limit": 16}),
            sent_at: at(5),
        };
        save_profile(db, &profile).await.unwrap();
        save_profile(
            db,
            &InstalledProfile {
                profile: serde_json::json!({"limit": 0}),
                ..profile.clone()
            },
        )
        .await
        .unwrap();
        let installed = profiles(db, "CP-1").await.unwrap();
        assert_eq!(installed.len(), 1);
        assert_eq!(installed[0].profile["limit"], 0);
        delete_profile(db, "CP-1", "TxDefaultProfile")
            .await
            .unwrap();
        assert!(profiles(db, "CP-1").await.unwrap().is_empty());

        let receipt = save_command_receipt(db, "CP-1", "key", "cmd-1", at(6))
            .await
            .unwrap();
        let repeated = save_command_receipt(db, "CP-1", "key", "cmd-2", at(7))
            .await
            .unwrap();
        assert_eq!(receipt, repeated);
        assert_eq!(receipt.0, "cmd-1");

        revoke_charge_point(db, "CP-1", at(8)).await.unwrap();
        assert_eq!(
            charge_point(db, "CP-1").await.unwrap().unwrap().revoked_at,
            Some(at(8))
        );
    }
}
