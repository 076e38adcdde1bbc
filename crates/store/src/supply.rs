//! Meter points, meters and agreements (see `resiflex_domain::supply` for their rules).

use chrono::{DateTime, Utc};
use resiflex_domain::product::{Direction, Fuel, PaymentMethod};
use resiflex_domain::supply::{Meter, MeterPoint, Period, SmartDeviceId, place_agreement};

use crate::{Db, StoreError, corrupt, on_db, on_tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMeterPoint {
    pub id: i64,
    pub property_id: i64,
    pub point: MeterPoint,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMeter {
    pub id: i64,
    pub meter_point_id: i64,
    pub meter: Meter,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAgreement {
    pub id: i64,
    pub meter_point_id: i64,
    pub product_tariff_id: i64,
    pub tariff_code: String,
    pub payment_method: PaymentMethod,
    pub period: Period,
}

#[derive(sqlx::FromRow)]
struct PointRow {
    id: i64,
    property_id: i64,
    fuel: String,
    identifier: String,
    direction: String,
}

impl TryFrom<PointRow> for StoredMeterPoint {
    type Error = StoreError;

    fn try_from(row: PointRow) -> Result<StoredMeterPoint, StoreError> {
        let fuel: Fuel = corrupt("fuel", row.fuel.parse())?;
        let direction: Direction = corrupt("direction", row.direction.parse())?;
        Ok(StoredMeterPoint {
            id: row.id,
            property_id: row.property_id,
            point: corrupt(
                "meter point",
                MeterPoint::new(fuel, &row.identifier, direction),
            )?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct MeterRow {
    id: i64,
    meter_point_id: i64,
    serial_number: String,
    smart_device_id: Option<String>,
    active_from: DateTime<Utc>,
    active_to: Option<DateTime<Utc>>,
}

impl TryFrom<MeterRow> for StoredMeter {
    type Error = StoreError;

    fn try_from(row: MeterRow) -> Result<StoredMeter, StoreError> {
        let active = corrupt("meter period", Period::new(row.active_from, row.active_to))?;
        Ok(StoredMeter {
            id: row.id,
            meter_point_id: row.meter_point_id,
            meter: corrupt(
                "meter",
                Meter::new(&row.serial_number, row.smart_device_id.as_deref(), active),
            )?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct AgreementRow {
    id: i64,
    meter_point_id: i64,
    product_tariff_id: i64,
    code: String,
    payment_method: String,
    valid_from: DateTime<Utc>,
    valid_to: Option<DateTime<Utc>>,
}

impl TryFrom<AgreementRow> for StoredAgreement {
    type Error = StoreError;

    fn try_from(row: AgreementRow) -> Result<StoredAgreement, StoreError> {
        Ok(StoredAgreement {
            id: row.id,
            meter_point_id: row.meter_point_id,
            product_tariff_id: row.product_tariff_id,
            tariff_code: row.code,
            payment_method: corrupt("payment method", row.payment_method.parse())?,
            period: corrupt(
                "agreement period",
                Period::new(row.valid_from, row.valid_to),
            )?,
        })
    }
}

/// Adds the meter point to the property, or finds it there, and saves `meters` on it (a meter
/// already there by serial number gets the new device id and period). A meter point of another
/// property is [`StoreError::Conflict`].
pub async fn save_meter_point(
    db: &Db,
    property_id: i64,
    point: &MeterPoint,
    meters: &[Meter],
    now: DateTime<Utc>,
) -> Result<StoredMeterPoint, StoreError> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |conn| sqlx::query(
        "INSERT INTO meter_points (property_id, fuel, identifier, direction, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (fuel, identifier) DO NOTHING"
    )
    .bind(property_id)
    .bind(point.fuel.as_str())
    .bind(point.id.as_str())
    .bind(point.direction.as_str())
    .bind(now)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))?;
    let row: PointRow = on_tx!(&mut tx, |conn| sqlx::query_as(
        "SELECT id, property_id, fuel, identifier, direction FROM meter_points \
         WHERE fuel = $1 AND identifier = $2"
    )
    .bind(point.fuel.as_str())
    .bind(point.id.as_str())
    .fetch_one(conn)
    .await)?;
    let stored = StoredMeterPoint::try_from(row)?;
    if stored.property_id != property_id || stored.point.direction != point.direction {
        return Err(StoreError::Conflict);
    }
    for meter in meters {
        on_tx!(&mut tx, |conn| {
            sqlx::query(
            "INSERT INTO meters (meter_point_id, serial_number, smart_device_id, active_from, active_to) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (meter_point_id, serial_number) DO UPDATE SET \
             smart_device_id = excluded.smart_device_id, active_from = excluded.active_from, \
             active_to = excluded.active_to"
        )
        .bind(stored.id)
        .bind(&meter.serial_number)
        .bind(meter.smart_device_id.as_ref().map(SmartDeviceId::as_str))
        .bind(meter.active.from)
        .bind(meter.active.to)
        .execute(conn)
        .await
        .map(|done| done.rows_affected())
        })?;
    }
    tx.commit().await?;
    Ok(stored)
}

pub async fn meter_point(
    db: &Db,
    fuel: Fuel,
    identifier: &str,
) -> Result<Option<StoredMeterPoint>, StoreError> {
    let row: Option<PointRow> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, property_id, fuel, identifier, direction FROM meter_points \
         WHERE fuel = $1 AND identifier = $2"
    )
    .bind(fuel.as_str())
    .bind(identifier)
    .fetch_optional(pool)
    .await)?;
    row.map(StoredMeterPoint::try_from).transpose()
}

/// The meter points of a property, by fuel and identifier.
pub async fn meter_points_of_property(
    db: &Db,
    property_id: i64,
) -> Result<Vec<StoredMeterPoint>, StoreError> {
    let rows: Vec<PointRow> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, property_id, fuel, identifier, direction FROM meter_points \
         WHERE property_id = $1 ORDER BY fuel, identifier"
    )
    .bind(property_id)
    .fetch_all(pool)
    .await)?;
    rows.into_iter().map(StoredMeterPoint::try_from).collect()
}

/// A meter point's meters, oldest first.
pub async fn meters_of(db: &Db, meter_point_id: i64) -> Result<Vec<StoredMeter>, StoreError> {
    let rows: Vec<MeterRow> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT id, meter_point_id, serial_number, smart_device_id, active_from, active_to FROM meters \
         WHERE meter_point_id = $1 ORDER BY active_from, serial_number"
    )
    .bind(meter_point_id)
    .fetch_all(pool)
    .await
    })?;
    rows.into_iter().map(StoredMeter::try_from).collect()
}

/// The meter point a meter is on.
async fn point_of(db: &Db, meter: &StoredMeter) -> Result<StoredMeterPoint, StoreError> {
    let point: Option<PointRow> = on_db!(db, |pool| sqlx::query_as(
        "SELECT id, property_id, fuel, identifier, direction FROM meter_points WHERE id = $1"
    )
    .bind(meter.meter_point_id)
    .fetch_optional(pool)
    .await)?;
    let point =
        point.ok_or_else(|| StoreError::Corrupt("a meter without its meter point".into()))?;
    StoredMeterPoint::try_from(point)
}

/// The meter with this smart device id, with its meter point.
pub async fn meter_by_smart_device_id(
    db: &Db,
    device_id: &str,
) -> Result<Option<(StoredMeterPoint, StoredMeter)>, StoreError> {
    let row: Option<MeterRow> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT id, meter_point_id, serial_number, smart_device_id, active_from, active_to FROM meters \
         WHERE smart_device_id = $1 ORDER BY active_from DESC LIMIT 1"
    )
    .bind(device_id)
    .fetch_optional(pool)
    .await
    })?;
    let Some(row) = row else {
        return Ok(None);
    };
    let meter = StoredMeter::try_from(row)?;
    Ok(Some((point_of(db, &meter).await?, meter)))
}

/// The meters with this serial number, each with its meter point.
pub async fn meters_with_serial(
    db: &Db,
    serial: &str,
) -> Result<Vec<(StoredMeterPoint, StoredMeter)>, StoreError> {
    let rows: Vec<MeterRow> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT id, meter_point_id, serial_number, smart_device_id, active_from, active_to FROM meters \
         WHERE serial_number = $1 ORDER BY meter_point_id"
    )
    .bind(serial)
    .fetch_all(pool)
    .await
    })?;
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        let meter = StoredMeter::try_from(row)?;
        found.push((point_of(db, &meter).await?, meter));
    }
    Ok(found)
}

const AGREEMENT_SELECT: &str = "SELECT a.id, a.meter_point_id, a.product_tariff_id, pt.code, pt.payment_method, \
     a.valid_from, a.valid_to FROM agreements a JOIN product_tariffs pt ON pt.id = a.product_tariff_id";

/// A meter point's agreements, oldest first.
pub async fn agreements_of(
    db: &Db,
    meter_point_id: i64,
) -> Result<Vec<StoredAgreement>, StoreError> {
    let sql = format!("{AGREEMENT_SELECT} WHERE a.meter_point_id = $1 ORDER BY a.valid_from");
    let rows: Vec<AgreementRow> = on_db!(db, |pool| sqlx::query_as(&sql)
        .bind(meter_point_id)
        .fetch_all(pool)
        .await)?;
    rows.into_iter().map(StoredAgreement::try_from).collect()
}

/// What [`add_agreement`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgreementOutcome {
    Added {
        agreement: StoredAgreement,
        /// The open-ended agreement it ended at its start.
        ended: Option<i64>,
    },
    /// The rule it broke.
    Refused(String),
}

/// Puts the meter point on the product tariff for `period`, in one transaction that holds the
/// meter point, so two agreements added at once are placed one after the other.
pub async fn add_agreement(
    db: &Db,
    meter_point_id: i64,
    product_tariff_id: i64,
    period: Period,
    now: DateTime<Utc>,
) -> Result<AgreementOutcome, StoreError> {
    let mut tx = db.begin().await?;
    // Takes the meter point's row lock (PostgreSQL) or the write lock (SQLite) first.
    let held = on_tx!(&mut tx, |conn| sqlx::query(
        "UPDATE meter_points SET created_at = created_at WHERE id = $1"
    )
    .bind(meter_point_id)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))?;
    if held == 0 {
        return Err(StoreError::NotFound);
    }
    let rows: Vec<AgreementRow> = on_tx!(&mut tx, |conn| sqlx::query_as(&format!(
        "{AGREEMENT_SELECT} WHERE a.meter_point_id = $1 ORDER BY a.valid_from"
    ))
    .bind(meter_point_id)
    .fetch_all(conn)
    .await)?;
    let existing = rows
        .into_iter()
        .map(StoredAgreement::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let periods: Vec<(i64, Period)> = existing.iter().map(|a| (a.id, a.period)).collect();
    let ended = match place_agreement(&periods, &period) {
        Ok(ended) => ended,
        Err(refused) => return Ok(AgreementOutcome::Refused(refused.0)),
    };
    if let Some(id) = ended {
        on_tx!(&mut tx, |conn| sqlx::query(
            "UPDATE agreements SET valid_to = $1 WHERE id = $2"
        )
        .bind(period.from)
        .bind(id)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
    }
    let id: i64 = on_tx!(&mut tx, |conn| {
        sqlx::query_scalar(
        "INSERT INTO agreements (meter_point_id, product_tariff_id, valid_from, valid_to, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id"
    )
    .bind(meter_point_id)
    .bind(product_tariff_id)
    .bind(period.from)
    .bind(period.to)
    .bind(now)
    .fetch_one(conn)
    .await
    })?;
    let row: AgreementRow = on_tx!(&mut tx, |conn| sqlx::query_as(&format!(
        "{AGREEMENT_SELECT} WHERE a.id = $1"
    ))
    .bind(id)
    .fetch_one(conn)
    .await)?;
    tx.commit().await?;
    Ok(AgreementOutcome::Added {
        agreement: StoredAgreement::try_from(row)?,
        ended,
    })
}

/// Rows per `IN (...)` list of the bulk loaders.
const IN_CHUNK: usize = 1_000;

/// The meter points of many properties, as [`meter_points_of_property`] orders each property's.
pub async fn meter_points_of_properties(
    db: &Db,
    property_ids: &[i64],
) -> Result<Vec<StoredMeterPoint>, StoreError> {
    let mut out = Vec::new();
    for chunk in property_ids.chunks(IN_CHUNK) {
        let rows: Vec<PointRow> = on_db!(db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT id, property_id, fuel, identifier, direction FROM meter_points WHERE property_id IN (",
            );
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(") ORDER BY property_id, fuel, identifier");
            query.build_query_as().fetch_all(pool).await
        })?;
        for row in rows {
            out.push(StoredMeterPoint::try_from(row)?);
        }
    }
    Ok(out)
}

/// The meters of many meter points, each point's oldest first.
pub async fn meters_of_points(db: &Db, point_ids: &[i64]) -> Result<Vec<StoredMeter>, StoreError> {
    let mut out = Vec::new();
    for chunk in point_ids.chunks(IN_CHUNK) {
        let rows: Vec<MeterRow> = on_db!(db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT id, meter_point_id, serial_number, smart_device_id, active_from, active_to FROM meters \
                 WHERE meter_point_id IN (",
            );
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(") ORDER BY meter_point_id, active_from, serial_number");
            query.build_query_as().fetch_all(pool).await
        })?;
        for row in rows {
            out.push(StoredMeter::try_from(row)?);
        }
    }
    Ok(out)
}

/// The agreements of many meter points, each point's oldest first.
pub async fn agreements_of_points(
    db: &Db,
    point_ids: &[i64],
) -> Result<Vec<StoredAgreement>, StoreError> {
    let mut out = Vec::new();
    for chunk in point_ids.chunks(IN_CHUNK) {
        let rows: Vec<AgreementRow> = on_db!(db, |pool| {
            let mut query =
                sqlx::QueryBuilder::new(format!("{AGREEMENT_SELECT} WHERE a.meter_point_id IN ("));
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(") ORDER BY a.meter_point_id, a.valid_from");
            query.build_query_as().fetch_all(pool).await
        })?;
        for row in rows {
            out.push(StoredAgreement::try_from(row)?);
        }
    }
    Ok(out)
}
