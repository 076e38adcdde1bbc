//! `completedDispatches`: an account's dispatches whose slot has ended, with the energy the meter
//! showed over each.

use async_graphql::Context;
use resiflex_domain::plan::DispatchKind;
use resiflex_store::sessions::{self, CompletedDispatch};

use crate::auth::access::account_for;
use crate::auth::authorise;
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::api;
use crate::ops::dispatches::{UpsideDispatchMetaType, UpsideDispatchType};

/// How many stored completed dispatches an account shows (before adjacent ones are merged).
const DISPATCH_LIMIT: i64 = 1_000;

/// Merges a device's touching stretches of the same kind, location and direction (a battery's
/// charge and its discharge stay apart); `rows` oldest first.
fn merged(rows: Vec<CompletedDispatch>) -> Vec<CompletedDispatch> {
    let mut out: Vec<CompletedDispatch> = Vec::new();
    for row in rows {
        match out.last_mut() {
            Some(last)
                if last.device_id == row.device_id
                    && last.end_at == row.start_at
                    && last.kind == row.kind
                    && last.location == row.location
                    && (last.energy_wh < 0) == (row.energy_wh < 0) =>
            {
                last.end_at = row.end_at;
                last.energy_wh += row.energy_wh;
            }
            _ => out.push(row),
        }
    }
    out
}

fn dispatches_unavailable(err: resiflex_store::StoreError) -> KrakenError {
    tracing::error!(error = %err, "completed dispatches could not be read");
    KrakenError::new(ErrorCode::CompletedDispatchesUnavailable)
}

pub(super) async fn run(
    ctx: &Context<'_>,
    account_number: String,
) -> ApiResult<Vec<UpsideDispatchType>> {
    let caller = authorise(ctx).await?;
    let api = api(ctx)?;
    let account = account_for(api, &caller, &account_number, ErrorCode::Unauthorized).await?;
    let mut rows = sessions::completed_dispatches_of_account(&api.db, account.id, DISPATCH_LIMIT)
        .await
        .map_err(dispatches_unavailable)?;
    rows.sort_by(|a, b| (&a.device_id, a.start_at).cmp(&(&b.device_id, b.start_at)));
    let mut shown: Vec<UpsideDispatchType> = merged(rows)
        .into_iter()
        .map(|row| UpsideDispatchType {
            start: row.start_at,
            end: row.end_at,
            delta_wh: -row.energy_wh,
            meta: UpsideDispatchMetaType {
                source: DispatchKind::parse(&row.kind).map(|kind| kind.source().to_owned()),
                location: Some(row.location),
            },
        })
        .collect();
    shown.sort_by_key(|d| std::cmp::Reverse(d.start));
    Ok(shown)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::{Duration, TimeZone, Utc};

    use super::*;

    fn row(minute: i64, length: i64, kind: &str, wh: i64) -> CompletedDispatch {
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 1, 0, 0).unwrap() + Duration::minutes(minute);
        CompletedDispatch {
            device_id: "d".into(),
            start_at: t,
            end_at: t + Duration::minutes(length),
            kind: kind.into(),
            energy_wh: wh,
            location: "AT_HOME".into(),
            plan_version: 1,
            recorded_at: t,
        }
    }

    #[test]
    fn touching_stretches_of_the_same_source_are_merged() {
        let merged = merged(vec![
            row(0, 30, "SMART", 3_000),
            row(30, 30, "SMART", 3_370),
            row(60, 30, "BOOST", 1_000),
            row(120, 30, "BOOST", 1_000),
        ]);
        assert_eq!(merged.len(), 3);
        assert_eq!(merged[0].energy_wh, 6_370);
        assert_eq!(merged[0].end_at - merged[0].start_at, Duration::hours(1));
    }
}
