//! Meter readings: interval readings a UTC day per row (see
//! `resiflex_domain::reading::DayBlock`) and register reads.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use resiflex_domain::reading::{
    DayBlock, IntervalLength, ReadingDirection, ReadingQuality, ReadingSource, RegisterRead,
};

use crate::{Db, StoreError, corrupt, on_db, on_tx};

/// Rows per multi-row statement (five parameters each).
const CHUNK: usize = 1_000;

/// Which day of which meter's readings a block holds; keys sort as the primary key is scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DayKey {
    pub meter_id: i64,
    pub direction: ReadingDirection,
    pub length: IntervalLength,
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
}

/// A stored day of interval readings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDay {
    pub key: DayKey,
    pub block: DayBlock,
}

#[derive(sqlx::FromRow)]
struct DayRow {
    meter_id: i64,
    direction: String,
    interval_s: i64,
    day: i64,
    slots: Vec<u8>,
}

impl TryFrom<DayRow> for StoredDay {
    type Error = StoreError;

    fn try_from(row: DayRow) -> Result<StoredDay, StoreError> {
        let length = corrupt(
            "interval length",
            IntervalLength::from_seconds(row.interval_s),
        )?;
        Ok(StoredDay {
            key: DayKey {
                meter_id: row.meter_id,
                direction: corrupt("reading direction", row.direction.parse())?,
                length,
                day: row.day,
            },
            block: corrupt("interval readings", DayBlock::decode(length, &row.slots))?,
        })
    }
}

/// Merges the blocks into what is stored, in one transaction: a reading replaces the one in its
/// slot, and slots the new blocks leave empty keep what they held. On PostgreSQL each meter's
/// readings are locked for the transaction, so two instances importing the same meter never
/// lose each other's readings. Returns the readings written.
pub async fn merge_days(db: &Db, blocks: Vec<(DayKey, DayBlock)>) -> Result<u64, StoreError> {
    // Blocks for the same day are merged first, later ones winning.
    let mut incoming: BTreeMap<DayKey, DayBlock> = BTreeMap::new();
    let mut written = 0u64;
    for (key, block) in blocks {
        written += block.count() as u64;
        match incoming.get_mut(&key) {
            Some(existing) => existing.merge(&block),
            None => {
                incoming.insert(key, block);
            }
        }
    }
    if incoming.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let mut groups: Vec<(i64, ReadingDirection, IntervalLength, i64, i64)> = Vec::new();
    for key in incoming.keys() {
        match groups.last_mut() {
            Some(group)
                if group.0 == key.meter_id && group.1 == key.direction && group.2 == key.length =>
            {
                group.4 = key.day;
            }
            _ => groups.push((key.meter_id, key.direction, key.length, key.day, key.day)),
        }
    }
    if let crate::Tx::Postgres(t) = &mut tx {
        let mut meters: Vec<i64> = groups.iter().map(|g| g.0).collect();
        meters.dedup();
        for meter in meters {
            sqlx::query("SELECT pg_advisory_xact_lock(21, ($1 % 2147483647)::int)")
                .bind(meter)
                .execute(&mut **t)
                .await?;
        }
    }
    for (meter_id, direction, length, first, last) in groups {
        let rows: Vec<DayRow> = on_tx!(&mut tx, |conn| sqlx::query_as(
            "SELECT meter_id, direction, CAST(interval_s AS BIGINT) AS interval_s, \
             CAST(day AS BIGINT) AS day, slots FROM interval_readings \
             WHERE meter_id = $1 AND direction = $2 AND interval_s = $3 AND day >= $4 AND day <= $5"
        )
        .bind(meter_id)
        .bind(direction.as_str())
        .bind(length.seconds())
        .bind(first)
        .bind(last)
        .fetch_all(conn)
        .await)?;
        for row in rows {
            let stored = StoredDay::try_from(row)?;
            if let Some(block) = incoming.get_mut(&stored.key) {
                let mut merged = stored.block;
                merged.merge(block);
                *block = merged;
            }
        }
    }
    let encoded: Vec<(DayKey, Vec<u8>)> = incoming
        .into_iter()
        .map(|(key, block)| (key, block.encode()))
        .collect();
    for chunk in encoded.chunks(CHUNK) {
        on_tx!(&mut tx, |conn| {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO interval_readings (meter_id, direction, interval_s, day, slots) ",
            );
            query.push_values(chunk, |mut row, (key, slots)| {
                row.push_bind(key.meter_id)
                    .push_bind(key.direction.as_str())
                    .push_bind(key.length.seconds() as i32)
                    .push_bind(key.day as i32)
                    .push_bind(slots.as_slice());
            });
            query.push(
                " ON CONFLICT (meter_id, direction, interval_s, day) DO UPDATE SET slots = excluded.slots",
            );
            query.build().execute(conn).await.map(|_| ())
        })?;
    }
    tx.commit().await?;
    Ok(written)
}

/// A meter's stored days in one direction from `first_day` to `last_day` (inclusive), of every
/// interval length, by length and day.
pub async fn days(
    db: &Db,
    meter_id: i64,
    direction: ReadingDirection,
    first_day: i64,
    last_day: i64,
) -> Result<Vec<StoredDay>, StoreError> {
    let rows: Vec<DayRow> = on_db!(db, |pool| sqlx::query_as(
        "SELECT meter_id, direction, CAST(interval_s AS BIGINT) AS interval_s, \
         CAST(day AS BIGINT) AS day, slots FROM interval_readings \
         WHERE meter_id = $1 AND direction = $2 AND day >= $3 AND day <= $4 \
         ORDER BY interval_s, day"
    )
    .bind(meter_id)
    .bind(direction.as_str())
    .bind(first_day)
    .bind(last_day)
    .fetch_all(pool)
    .await)?;
    rows.into_iter().map(StoredDay::try_from).collect()
}

#[derive(sqlx::FromRow)]
struct RegisterRow {
    register_id: String,
    read_at: DateTime<Utc>,
    value_milli: i64,
    quality: String,
    source: String,
}

impl TryFrom<RegisterRow> for RegisterRead {
    type Error = StoreError;

    fn try_from(row: RegisterRow) -> Result<RegisterRead, StoreError> {
        let quality: ReadingQuality = corrupt("reading quality", row.quality.parse())?;
        let source: ReadingSource = corrupt("reading source", row.source.parse())?;
        corrupt(
            "register read",
            RegisterRead::new(
                &row.register_id,
                row.read_at,
                row.value_milli,
                quality,
                source,
            ),
        )
    }
}

/// Saves register reads of a meter in one transaction; a read at the same instant on the same
/// register replaces the one stored.
pub async fn save_register_reads(
    db: &Db,
    meter_id: i64,
    reads: &[RegisterRead],
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    for chunk in reads.chunks(CHUNK) {
        on_tx!(&mut tx, |conn| {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO register_readings (meter_id, register_id, read_at, value_milli, quality, source) ",
            );
            query.push_values(chunk, |mut row, read| {
                row.push_bind(meter_id)
                    .push_bind(read.register_id.as_str())
                    .push_bind(read.read_at)
                    .push_bind(read.milli)
                    .push_bind(read.quality.as_str())
                    .push_bind(read.source.as_str());
            });
            query.push(
                " ON CONFLICT (meter_id, register_id, read_at) DO UPDATE SET \
                 value_milli = excluded.value_milli, quality = excluded.quality, source = excluded.source",
            );
            query.build().execute(conn).await.map(|_| ())
        })?;
    }
    tx.commit().await
}

/// A meter's register reads in `[from, to)`, on one register or all, newest first, at most `limit`.
pub async fn register_reads(
    db: &Db,
    meter_id: i64,
    register_id: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<RegisterRead>, StoreError> {
    let rows: Vec<RegisterRow> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT register_id, read_at, value_milli, quality, source FROM register_readings \
         WHERE meter_id = $1 AND ($2 IS NULL OR register_id = $2) AND read_at >= $3 AND read_at < $4 \
         ORDER BY read_at DESC, register_id LIMIT $5"
    )
    .bind(meter_id)
    .bind(register_id)
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(pool)
    .await
    })?;
    rows.into_iter().map(RegisterRead::try_from).collect()
}

/// The stored days of many meters in one direction from `first_day` to `last_day` (inclusive),
/// by meter, each meter's by length and day: what [`days`] answers for each.
pub async fn days_of_meters(
    db: &Db,
    meter_ids: &[i64],
    direction: ReadingDirection,
    first_day: i64,
    last_day: i64,
) -> Result<std::collections::HashMap<i64, Vec<StoredDay>>, StoreError> {
    let mut out: std::collections::HashMap<i64, Vec<StoredDay>> = Default::default();
    for chunk in meter_ids.chunks(CHUNK) {
        let rows: Vec<DayRow> = on_db!(db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT meter_id, direction, CAST(interval_s AS BIGINT) AS interval_s, \
                 CAST(day AS BIGINT) AS day, slots FROM interval_readings WHERE direction = ",
            );
            query.push_bind(direction.as_str());
            query.push(" AND day >= ").push_bind(first_day);
            query.push(" AND day <= ").push_bind(last_day);
            query.push(" AND meter_id IN (");
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(") ORDER BY meter_id, interval_s, day");
            query.build_query_as().fetch_all(pool).await
        })?;
        for row in rows {
            let day = StoredDay::try_from(row)?;
            out.entry(day.key.meter_id).or_default().push(day);
        }
    }
    Ok(out)
}
