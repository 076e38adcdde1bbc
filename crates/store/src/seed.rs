//! Bulk rows for benchmarks: many supplied accounts at once, each with one property, an
//! electricity import meter point and meter on a tariff, and days of interval readings. Each
//! batch is a handful of multi-row statements in one transaction, so a hundred thousand accounts
//! take seconds, not the hours one-by-one creation would.

use chrono::{DateTime, Utc};
use resiflex_domain::reading::DayBlock;

use crate::{Db, StoreError, on_tx};

/// One account to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedAccount {
    /// `A-` and eight characters, unique.
    pub number: String,
    /// The electricity import meter point's MPAN, unique.
    pub mpan: String,
    pub serial: String,
    /// The account's interval readings: (days since 1970-01-01, the day's block).
    pub days: Vec<(i64, DayBlock)>,
}

/// What every seeded account shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedCommon<'a> {
    pub organisation_id: i64,
    pub brand_code: &'a str,
    pub country: &'a str,
    pub time_zone: &'a str,
    pub postal_code: &'a str,
    pub product_tariff_id: i64,
    /// When the meter and the agreement start.
    pub supply_from: DateTime<Utc>,
}

/// Creates the accounts in one transaction; answers their ids in order.
pub async fn supplied_accounts(
    db: &Db,
    common: &SeedCommon<'_>,
    accounts: &[SeedAccount],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = db.begin().await?;
    let account_ids: Vec<(i64,)> = on_tx!(&mut tx, |conn| {
        let mut query = sqlx::QueryBuilder::new(
            "INSERT INTO accounts (number, organisation_id, status, account_type, brand_code, \
             billing_name, billing_country, created_at, updated_at) ",
        );
        query.push_values(accounts, |mut row, account| {
            row.push_bind(account.number.as_str())
                .push_bind(common.organisation_id)
                .push_bind("ACTIVE")
                .push_bind("DOMESTIC")
                .push_bind(common.brand_code)
                .push_bind(account.number.as_str())
                .push_bind(common.country)
                .push_bind(now)
                .push_bind(now);
        });
        query.push(" RETURNING id");
        query.build_query_as().fetch_all(conn).await
    })?;
    let mut ids: Vec<i64> = account_ids.into_iter().map(|(id,)| id).collect();
    ids.sort_unstable();
    let properties: Vec<(i64,)> = on_tx!(&mut tx, |conn| {
        let mut query = sqlx::QueryBuilder::new(
            "INSERT INTO properties (account_id, postal_code, country, time_zone, created_at) ",
        );
        query.push_values(&ids, |mut row, id| {
            row.push_bind(*id)
                .push_bind(common.postal_code)
                .push_bind(common.country)
                .push_bind(common.time_zone)
                .push_bind(now);
        });
        query.push(" RETURNING id");
        query.build_query_as().fetch_all(conn).await
    })?;
    let mut property_ids: Vec<i64> = properties.into_iter().map(|(id,)| id).collect();
    property_ids.sort_unstable();
    let points: Vec<(i64,)> = on_tx!(&mut tx, |conn| {
        let mut query = sqlx::QueryBuilder::new(
            "INSERT INTO meter_points (property_id, fuel, identifier, direction, created_at) ",
        );
        query.push_values(
            property_ids.iter().zip(accounts),
            |mut row, (property, account)| {
                row.push_bind(*property)
                    .push_bind("ELECTRICITY")
                    .push_bind(account.mpan.as_str())
                    .push_bind("IMPORT")
                    .push_bind(now);
            },
        );
        query.push(" RETURNING id");
        query.build_query_as().fetch_all(conn).await
    })?;
    let mut point_ids: Vec<i64> = points.into_iter().map(|(id,)| id).collect();
    point_ids.sort_unstable();
    let meters: Vec<(i64,)> = on_tx!(&mut tx, |conn| {
        let mut query = sqlx::QueryBuilder::new(
            "INSERT INTO meters (meter_point_id, serial_number, active_from) ",
        );
        query.push_values(
            point_ids.iter().zip(accounts),
            |mut row, (point, account)| {
                row.push_bind(*point)
                    .push_bind(account.serial.as_str())
                    .push_bind(common.supply_from);
            },
        );
        query.push(" RETURNING id");
        query.build_query_as().fetch_all(conn).await
    })?;
    let mut meter_ids: Vec<i64> = meters.into_iter().map(|(id,)| id).collect();
    meter_ids.sort_unstable();
    on_tx!(&mut tx, |conn| {
        let mut query = sqlx::QueryBuilder::new(
            "INSERT INTO agreements (meter_point_id, product_tariff_id, valid_from, created_at) ",
        );
        query.push_values(&point_ids, |mut row, point| {
            row.push_bind(*point)
                .push_bind(common.product_tariff_id)
                .push_bind(common.supply_from)
                .push_bind(now);
        });
        query.build().execute(conn).await.map(|_| ())
    })?;
    let days: Vec<(i64, i64, Vec<u8>, i64)> = meter_ids
        .iter()
        .zip(accounts)
        .flat_map(|(meter, account)| {
            account
                .days
                .iter()
                .map(move |(day, block)| (*meter, *day, block.encode(), block.length().seconds()))
        })
        .collect();
    for chunk in days.chunks(1_000) {
        on_tx!(&mut tx, |conn| {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO interval_readings (meter_id, direction, interval_s, day, slots) ",
            );
            query.push_values(chunk, |mut row, (meter, day, slots, seconds)| {
                row.push_bind(*meter)
                    .push_bind("CONSUMPTION")
                    .push_bind(*seconds as i32)
                    .push_bind(*day as i32)
                    .push_bind(slots.as_slice());
            });
            query.build().execute(conn).await.map(|_| ())
        })?;
    }
    tx.commit().await?;
    Ok(ids)
}
