//! The one path a command takes to a device, for the control loop's plans and for the customer's
//! own commands (boost, suspend, test charge) alike.
//!
//! A command is written to the ledger under its idempotency key *before* the provider is called, and
//! the key is handed to the provider, so:
//! - a key is acted on once: after a crash between the call and the ledger update, sending the same
//!   key again gets the provider's first receipt without acting twice;
//! - a newer command abandons every unfinished older one of the device, so an old retry can never
//!   overtake what the device was asked since;
//! - a failed command is retried with exponential backoff (30 s, 1 min, 2 min, ... at most 15 min) up
//!   to [`Retry::Backoff`]'s attempts, or not at all ([`Retry::Never`], for a customer who is told at
//!   once); an expired authorisation is never retried. The first and the last failure are recorded
//!   as a COMMAND_FAILED (or AUTHORISATION_EXPIRED) event.
//!
//! Every command is held within the device's rating before it is written.

use chrono::{DateTime, Duration, Utc};
use resiflex_domain::command::{Command, CommandStatus};
use resiflex_domain::plan::DeviceEventKind;
use resiflex_providers::{CommandReceipt, ProviderError};
use resiflex_store::commands::{self, CommandRecord};
use resiflex_store::devices::Device;
use resiflex_store::{Db, StoreError, events};

use crate::grants::{Link, Unavailable};

/// Whether a failed command is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Given up at the first failure (the caller reports it).
    Never,
    /// Tried up to this many times in all, with backoff.
    Backoff { attempts: i64 },
}

/// What a command carries out and under which key.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub key: String,
    /// The plan version it carries out (`None` for a customer's direct command).
    pub plan_version: Option<i64>,
    /// The start of the stretch of the plan it carries out.
    pub segment_start: Option<DateTime<Utc>>,
    pub command: Command,
}

impl Outgoing {
    /// A customer's direct command. Its key names the device's row version, so the same request
    /// repeated before anything changed is the same command (acted on once), and the next command
    /// after the device was saved has a key of its own.
    pub fn direct(device: &Device, command: Command) -> Outgoing {
        Outgoing {
            key: format!(
                "{}:direct:{}:{}",
                device.id,
                device.version,
                command_name(&command)
            ),
            plan_version: None,
            segment_start: None,
            command,
        }
    }

    /// A change a customer asked for as a transaction of its own (a heat-pump controller's
    /// changes), keyed by the transaction id: every request is a command of its own.
    pub fn transaction(device: &Device, transaction_id: uuid::Uuid, command: Command) -> Outgoing {
        Outgoing {
            key: format!("{}:transaction:{transaction_id}", device.id),
            plan_version: None,
            segment_start: None,
            command,
        }
    }

    /// The command of a plan's segment, keyed `device:plan-version:segment-start`.
    pub fn planned(
        device_id: &str,
        version: i64,
        segment: DateTime<Utc>,
        command: Command,
    ) -> Outgoing {
        Outgoing {
            key: plan_key(device_id, version, segment),
            plan_version: Some(version),
            segment_start: Some(segment),
            command,
        }
    }
}

/// The key of a plan's command for one segment.
pub fn plan_key(device_id: &str, version: i64, segment: DateTime<Utc>) -> String {
    format!("{device_id}:{version}:{}", segment.timestamp_millis())
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Start { .. } => "start",
        Command::Stop => "stop",
        Command::SetPowerLimit { .. } => "power-limit",
        Command::Schedule { .. } => "schedule",
        Command::TestCharge => "test-charge",
        Command::SetTargetTemperature { .. } => "target-temperature",
        Command::SetHeatPumpMode { .. } => "heat-pump-mode",
        Command::SetZoneMode(_) => "zone-mode",
        Command::SetFlowTemperature(_) => "flow-temperature",
        Command::SetHushMode { .. } => "hush-mode",
        Command::SetZonePrimarySensor { .. } => "zone-primary-sensor",
        Command::SetZoneDisplayName { .. } => "zone-display-name",
        Command::SetExportLimit { .. } => "export-limit",
    }
}

/// What became of a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// The provider acknowledged it (now, or the first time this key was sent).
    Acknowledged(CommandReceipt),
    /// The key was already used and is finished or not yet due: nothing was sent.
    AlreadyDone,
    /// The provider refused it or could not be reached.
    Failed {
        error: ProviderError,
        will_retry: bool,
    },
}

fn backoff(attempts: i64) -> Duration {
    let seconds = 30_i64.saturating_mul(1_i64 << attempts.clamp(0, 10));
    Duration::seconds(seconds.min(15 * 60))
}

/// Sends `outgoing` to `device` through its provider, by the ledger's rules (see the module).
///
/// A key seen before is sent again only while unfinished: pending (the answer was lost), or failed
/// and due for its retry; a direct command that failed is sent again when the customer asks again.
/// An acknowledged direct command answers its first receipt.
/// `link` is the device's provider and grant, looked up by the caller ([`crate::grants::link`]); without
/// one the command fails as the provider would (no grant: the authorisation expired).
pub async fn send(
    db: &Db,
    link: &Result<Link, Unavailable>,
    device: &Device,
    outgoing: Outgoing,
    retry: Retry,
    now: DateTime<Utc>,
) -> Result<Sent, StoreError> {
    let command = outgoing.command.within(device.max_power_w);
    let fresh = CommandRecord {
        idempotency_key: outgoing.key.clone(),
        device_id: device.id.clone(),
        plan_version: outgoing.plan_version,
        segment_start: outgoing.segment_start,
        command: command.clone(),
        status: CommandStatus::Pending,
        attempts: 0,
        next_attempt_at: now,
        last_error: None,
        receipt_id: None,
        created_at: now,
        sent_at: None,
    };
    let row = commands::claim(db, &fresh).await?;
    let claimed_now = row == fresh;
    let direct = outgoing.plan_version.is_none();
    if !claimed_now {
        match row.status {
            CommandStatus::Pending => {}
            CommandStatus::Failed if row.next_attempt_at <= now || direct => {}
            CommandStatus::Abandoned if direct => {}
            CommandStatus::Sent => {
                return Ok(match (direct, &row.receipt_id, row.sent_at) {
                    (true, Some(id), Some(at)) => Sent::Acknowledged(CommandReceipt {
                        command_id: id.clone(),
                        accepted_at: at,
                    }),
                    _ => Sent::AlreadyDone,
                });
            }
            _ => return Ok(Sent::AlreadyDone),
        }
    }
    commands::abandon_unfinished(db, &device.id, &outgoing.key).await?;
    let key = outgoing.key.as_str();
    let result = match link {
        Ok(link) => {
            link.provider
                .send(
                    &link.grant,
                    &device.integration_device_id,
                    &command,
                    key,
                    now,
                )
                .await
        }
        Err(Unavailable::NoProvider) => Err(ProviderError::Unsupported(format!(
            "no provider {}",
            device.provider
        ))),
        Err(Unavailable::NoGrant | Unavailable::Revoked) => {
            Err(ProviderError::AuthorisationExpired)
        }
    };
    match result {
        Ok(receipt) => {
            commands::mark_sent(db, key, &receipt.command_id, now).await?;
            tracing::info!(device = %device.id, key, command = ?command, receipt = %receipt.command_id, "command sent");
            Ok(Sent::Acknowledged(receipt))
        }
        Err(error) => {
            let attempts = row.attempts + 1;
            let retry_at = match (retry, &error) {
                (
                    Retry::Backoff { attempts: most },
                    ProviderError::Unreachable | ProviderError::Refused(_),
                ) => (attempts < most).then(|| now + backoff(attempts - 1)),
                _ => None,
            };
            commands::mark_failed(db, key, &error.to_string(), retry_at, now).await?;
            if attempts == 1 || retry_at.is_none() {
                let kind = if error == ProviderError::AuthorisationExpired {
                    DeviceEventKind::AuthorisationExpired
                } else {
                    DeviceEventKind::CommandFailed
                };
                events::add(
                    db,
                    &device.id,
                    now,
                    kind,
                    &serde_json::json!({
                        "error": error.to_string(),
                        "command": command,
                        "attempts": attempts,
                        "willRetry": retry_at.is_some(),
                    }),
                )
                .await?;
            }
            tracing::warn!(device = %device.id, key, error = %error, attempts, retry = ?retry_at, "command failed");
            Ok(Sent::Failed {
                error,
                will_retry: retry_at.is_some(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use chrono::TimeZone;

    #[test]
    fn backoff_doubles_up_to_a_quarter_hour() {
        assert_eq!(backoff(0), Duration::seconds(30));
        assert_eq!(backoff(1), Duration::seconds(60));
        assert_eq!(backoff(3), Duration::seconds(240));
        assert_eq!(backoff(9), Duration::minutes(15));
    }

    #[test]
    fn keys_name_the_plan_version_and_segment() {
        let at = Utc.with_ymd_and_hms(2026, 1, 5, 22, 30, 0).unwrap();
        assert_eq!(
            plan_key("d", 3, at),
            format!("d:3:{}", at.timestamp_millis())
        );
    }
}
