//! The command ledger: every command sent to a device, under its idempotency key.
//!
//! A command is written here *before* the provider is called and marked sent after, so a crash in
//! between leaves a pending row that is sent again with the same key (which the provider answers
//! without acting twice), never a second command.

use chrono::{DateTime, Utc};
use resiflex_domain::command::{Command, CommandStatus};
use serde_json::Value;
use sqlx::types::Json;

use crate::documents::{Document, decode, encode};
use crate::{Db, StoreError, on_db};

/// One command in the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRecord {
    pub idempotency_key: String,
    pub device_id: String,
    /// The plan version it carries out (`None` for a customer's direct command).
    pub plan_version: Option<i64>,
    /// The start of the stretch of the plan it carries out.
    pub segment_start: Option<DateTime<Utc>>,
    pub command: Command,
    pub status: CommandStatus,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub receipt_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl Document for Command {
    const NAME: &'static str = "command";
}

/// A command as the database holds it.
#[derive(sqlx::FromRow)]
struct CommandRow {
    idempotency_key: String,
    device_id: String,
    plan_version: Option<i64>,
    segment_start: Option<DateTime<Utc>>,
    command: Json<Value>,
    status: String,
    attempts: i64,
    next_attempt_at: DateTime<Utc>,
    last_error: Option<String>,
    receipt_id: Option<String>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

impl TryFrom<CommandRow> for CommandRecord {
    type Error = StoreError;

    fn try_from(row: CommandRow) -> Result<CommandRecord, StoreError> {
        Ok(CommandRecord {
            command: decode(row.command.0)?,
            status: CommandStatus::parse(&row.status).ok_or_else(|| {
                StoreError::Corrupt(format!("unknown command status {:?}", row.status))
            })?,
            idempotency_key: row.idempotency_key,
            device_id: row.device_id,
            plan_version: row.plan_version,
            segment_start: row.segment_start,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            last_error: row.last_error,
            receipt_id: row.receipt_id,
            created_at: row.created_at,
            sent_at: row.sent_at,
        })
    }
}

const COMMAND_COLUMNS: &str = "idempotency_key, device_id, plan_version, segment_start, command, status, \
     attempts, next_attempt_at, last_error, receipt_id, created_at, sent_at";

/// Writes a command as pending, or returns the row already written under the same key.
pub async fn claim(db: &Db, command: &CommandRecord) -> Result<CommandRecord, StoreError> {
    let doc = Json(encode(&command.command)?);
    let inserted = on_db!(db, |pool| {
        sqlx::query(&format!(
        "INSERT INTO device_commands ({COMMAND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (idempotency_key) DO NOTHING"
    ))
    .bind(&command.idempotency_key)
    .bind(&command.device_id)
    .bind(command.plan_version)
    .bind(command.segment_start)
    .bind(&doc)
    .bind(command.status.as_str())
    .bind(command.attempts)
    .bind(command.next_attempt_at)
    .bind(&command.last_error)
    .bind(&command.receipt_id)
    .bind(command.created_at)
    .bind(command.sent_at)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    if inserted == 1 {
        return Ok(command.clone());
    }
    by_key(db, &command.idempotency_key)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn by_key(db: &Db, key: &str) -> Result<Option<CommandRecord>, StoreError> {
    let sql = format!("SELECT {COMMAND_COLUMNS} FROM device_commands WHERE idempotency_key = $1");
    on_db!(db, |pool| sqlx::query_as::<_, CommandRow>(&sql)
        .bind(key)
        .fetch_optional(pool)
        .await)?
    .map(CommandRecord::try_from)
    .transpose()
}

/// Records the provider's acknowledgement.
pub async fn mark_sent(
    db: &Db,
    key: &str,
    receipt_id: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
        "UPDATE device_commands SET status = $2, receipt_id = $3, sent_at = $4, attempts = attempts + 1, \
         last_error = NULL WHERE idempotency_key = $1"
    )
    .bind(key)
    .bind(CommandStatus::Sent.as_str())
    .bind(receipt_id)
    .bind(at)
    .execute(pool)
    .await
    .map(|_| ())
    })?;
    Ok(())
}

/// Records a failed attempt and when to try again (or `ABANDONED` when `retry_at` is `None`).
pub async fn mark_failed(
    db: &Db,
    key: &str,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let status = if retry_at.is_some() {
        CommandStatus::Failed
    } else {
        CommandStatus::Abandoned
    };
    on_db!(db, |pool| sqlx::query(
        "UPDATE device_commands SET status = $2, last_error = $3, next_attempt_at = $4, \
         attempts = attempts + 1 WHERE idempotency_key = $1"
    )
    .bind(key)
    .bind(status.as_str())
    .bind(error)
    .bind(retry_at.unwrap_or(now))
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Gives up every unfinished command of the device except `keep` (a newer one replaced them).
pub async fn abandon_unfinished(db: &Db, device_id: &str, keep: &str) -> Result<u64, StoreError> {
    Ok(on_db!(db, |pool| sqlx::query(
        "UPDATE device_commands SET status = $3 WHERE device_id = $1 AND idempotency_key <> $2 \
         AND status IN ('PENDING', 'FAILED')"
    )
    .bind(device_id)
    .bind(keep)
    .bind(CommandStatus::Abandoned.as_str())
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?)
}

/// The device's newest command that the provider acknowledged.
pub async fn last_sent(db: &Db, device_id: &str) -> Result<Option<CommandRecord>, StoreError> {
    let sql = format!(
        "SELECT {COMMAND_COLUMNS} FROM device_commands WHERE device_id = $1 AND status = 'SENT' \
         ORDER BY sent_at DESC, created_at DESC LIMIT 1"
    );
    on_db!(db, |pool| sqlx::query_as::<_, CommandRow>(&sql)
        .bind(device_id)
        .fetch_optional(pool)
        .await)?
    .map(CommandRecord::try_from)
    .transpose()
}

/// The device's newest command of any status.
pub async fn last(db: &Db, device_id: &str) -> Result<Option<CommandRecord>, StoreError> {
    let sql = format!(
        "SELECT {COMMAND_COLUMNS} FROM device_commands WHERE device_id = $1 \
         ORDER BY created_at DESC LIMIT 1"
    );
    on_db!(db, |pool| sqlx::query_as::<_, CommandRow>(&sql)
        .bind(device_id)
        .fetch_optional(pool)
        .await)?
    .map(CommandRecord::try_from)
    .transpose()
}

/// The device's commands created in `[from, to)`, oldest first.
pub async fn between(
    db: &Db,
    device_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<CommandRecord>, StoreError> {
    let sql = format!(
        "SELECT {COMMAND_COLUMNS} FROM device_commands WHERE device_id = $1 AND created_at >= $2 \
         AND created_at < $3 ORDER BY created_at"
    );
    on_db!(db, |pool| sqlx::query_as::<_, CommandRow>(&sql)
        .bind(device_id)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await)?
    .into_iter()
    .map(CommandRecord::try_from)
    .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::testing::TestDb;
    use chrono::{Duration, TimeZone};

    async fn device(test: &TestDb) -> String {
        crate::testing::vehicle_fixture(&test.db, "commands@example.com", "device-1")
            .await
            .id
    }

    #[tokio::test]
    async fn a_command_is_claimed_once() {
        let test = TestDb::new().await;
        let id = device(&test).await;
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 22, 0, 0).unwrap();
        let command = CommandRecord {
            idempotency_key: format!("{id}:1:0"),
            device_id: id.clone(),
            plan_version: Some(1),
            segment_start: Some(t),
            command: Command::Stop,
            status: CommandStatus::Pending,
            attempts: 0,
            next_attempt_at: t,
            last_error: None,
            receipt_id: None,
            created_at: t,
            sent_at: None,
        };
        claim(&test.db, &command).await.unwrap();
        mark_failed(
            &test.db,
            &command.idempotency_key,
            "offline",
            Some(t + Duration::seconds(30)),
            t,
        )
        .await
        .unwrap();
        let again = claim(&test.db, &command).await.unwrap();
        assert_eq!(again.status, CommandStatus::Failed);
        assert_eq!(again.attempts, 1);
        assert!(last_sent(&test.db, &id).await.unwrap().is_none());
        mark_sent(
            &test.db,
            &command.idempotency_key,
            "r-1",
            t + Duration::seconds(31),
        )
        .await
        .unwrap();
        let sent = last_sent(&test.db, &id).await.unwrap().unwrap();
        assert_eq!(sent.receipt_id.as_deref(), Some("r-1"));
        assert_eq!(sent.attempts, 2);
        assert_eq!(
            last(&test.db, &id).await.unwrap().unwrap().idempotency_key,
            command.idempotency_key
        );
        assert_eq!(
            between(&test.db, &id, t, t + Duration::hours(1))
                .await
                .unwrap()
                .len(),
            1
        );
    }
}
