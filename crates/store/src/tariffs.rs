//! Tariffs, their unit rates and which tariff each property is on.
//!
//! Rates are stored exactly, as whole millionths ([`Micros`]): `import_micros` and `export_micros` in
//! millionths of a minor unit (such as a penny) per kWh, `carbon_micros` in millionths of a gCO2/kWh,
//! all `BIGINT` (`INTEGER` on SQLite). Times are UTC instants (TEXT on SQLite, TIMESTAMPTZ on PostgreSQL).

use chrono::{DateTime, Utc};
use resiflex_domain::tariff::{Micros, Rate, Tariff};

use crate::{Db, StoreError, Tx, on_db, on_tx};

/// A stored tariff.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredTariff {
    pub id: i64,
    pub code: String,
    /// The organisation that owns it; `None` for an operator's tariff.
    pub organisation_id: Option<i64>,
    pub name: String,
    pub currency: String,
    pub time_zone: String,
    pub slot_minutes: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl StoredTariff {
    /// The domain view of this tariff.
    pub fn tariff(&self) -> Tariff {
        Tariff {
            code: self.code.clone(),
            name: self.name.clone(),
            currency: self.currency.clone(),
            time_zone: self.time_zone.clone(),
            slot_minutes: u32::try_from(self.slot_minutes).unwrap_or(0),
        }
    }
}

const TARIFF_COLUMNS: &str = "t.id, t.code, t.organisation_id, t.name, t.currency, t.time_zone, t.slot_minutes, t.created_at, t.updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
struct RateRow {
    valid_from: DateTime<Utc>,
    valid_to: DateTime<Utc>,
    import_micros: i64,
    export_micros: Option<i64>,
    carbon_micros: Option<i64>,
}

impl From<RateRow> for Rate {
    fn from(row: RateRow) -> Rate {
        Rate {
            valid_from: row.valid_from,
            valid_to: row.valid_to,
            import_minor_per_kwh: Micros(row.import_micros),
            export_minor_per_kwh: row.export_micros.map(Micros),
            carbon_g_per_kwh: row.carbon_micros.map(Micros),
        }
    }
}

/// Creates a tariff; [`StoreError::Conflict`] if the code is taken.
pub async fn create_tariff(
    db: &Db,
    tariff: &Tariff,
    owner: Option<i64>,
    now: DateTime<Utc>,
) -> Result<StoredTariff, StoreError> {
    let mut tx = db.begin().await?;
    let created = insert_tariff(&mut tx, tariff, owner, now).await?;
    tx.commit().await?;
    created.ok_or(StoreError::Conflict)
}

/// Inserts the tariff unless its code exists; `None` when it did.
async fn insert_tariff(
    tx: &mut Tx,
    tariff: &Tariff,
    owner: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Option<StoredTariff>, StoreError> {
    let sql = format!(
        "INSERT INTO tariffs (code, name, currency, time_zone, slot_minutes, created_at, updated_at, organisation_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT (code) DO NOTHING RETURNING {}",
        TARIFF_COLUMNS.replace("t.", "")
    );
    Ok(on_tx!(tx, |conn| sqlx::query_as::<_, StoredTariff>(&sql)
        .bind(&tariff.code)
        .bind(&tariff.name)
        .bind(&tariff.currency)
        .bind(&tariff.time_zone)
        .bind(i64::from(tariff.slot_minutes))
        .bind(now)
        .bind(owner)
        .fetch_optional(conn)
        .await)?)
}

async fn tariff_by_code_tx(tx: &mut Tx, code: &str) -> Result<Option<StoredTariff>, StoreError> {
    let sql = format!("SELECT {TARIFF_COLUMNS} FROM tariffs t WHERE t.code = $1");
    Ok(on_tx!(tx, |conn| sqlx::query_as::<_, StoredTariff>(&sql)
        .bind(code)
        .fetch_optional(conn)
        .await)?)
}

pub async fn tariff_by_code(db: &Db, code: &str) -> Result<Option<StoredTariff>, StoreError> {
    let sql = format!("SELECT {TARIFF_COLUMNS} FROM tariffs t WHERE t.code = $1");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, StoredTariff>(&sql)
        .bind(code)
        .fetch_optional(pool)
        .await)?)
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct Imported {
    pub tariff: StoredTariff,
    /// Whether the import created the tariff.
    pub created: bool,
    pub imported: u64,
    /// How many earlier rates the import replaced.
    pub replaced: u64,
}

/// Stores validated rates for the tariff, creating the tariff (owned by `owner`) first if its code is new;
/// an organisation importing into a tariff it does not own gets [`StoreError::Conflict`] (an existing
/// tariff keeps its own name, zone and slot length). In one transaction: every stored rate that overlaps
/// the span from the earliest new start to the latest new end is deleted, then the new rates are
/// inserted, so readers see either the old rates or the new ones.
pub async fn import_rates(
    db: &Db,
    tariff: &Tariff,
    owner: Option<i64>,
    rates: &[Rate],
    now: DateTime<Utc>,
) -> Result<Imported, StoreError> {
    let mut tx = db.begin().await?;
    let (stored, created) = match insert_tariff(&mut tx, tariff, owner, now).await? {
        Some(stored) => (stored, true),
        None => (
            tariff_by_code_tx(&mut tx, &tariff.code)
                .await?
                .ok_or(StoreError::NotFound)?,
            false,
        ),
    };
    // An organisation changes only its own tariffs; the operator (no owner) may change any.
    if owner.is_some() && stored.organisation_id != owner {
        return Err(StoreError::Conflict);
    }
    let mut replaced = 0;
    if let (Some(from), Some(to)) = (
        rates.iter().map(|r| r.valid_from).min(),
        rates.iter().map(|r| r.valid_to).max(),
    ) {
        replaced = on_tx!(&mut tx, |conn| {
            sqlx::query(
            "DELETE FROM tariff_rates WHERE tariff_id = $1 AND valid_from < $2 AND valid_to > $3"
        )
        .bind(stored.id)
        .bind(to)
        .bind(from)
        .execute(conn)
        .await
        .map(|done| done.rows_affected())
        })?;
    }
    let mut imported = 0;
    for rate in rates {
        imported += on_tx!(&mut tx, |conn| {
            sqlx::query(
            "INSERT INTO tariff_rates (tariff_id, valid_from, valid_to, import_micros, export_micros, carbon_micros) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(stored.id)
        .bind(rate.valid_from)
        .bind(rate.valid_to)
        .bind(rate.import_minor_per_kwh.0)
        .bind(rate.export_minor_per_kwh.map(|m| m.0))
        .bind(rate.carbon_g_per_kwh.map(|m| m.0))
        .execute(conn)
        .await
        .map(|done| done.rows_affected())
        })?;
    }
    on_tx!(&mut tx, |conn| sqlx::query(
        "UPDATE tariffs SET updated_at = $1 WHERE id = $2"
    )
    .bind(now)
    .bind(stored.id)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(Imported {
        tariff: stored,
        created,
        imported,
        replaced,
    })
}

/// The tariff's rates that overlap `[from, to)`, in time order.
pub async fn rates_between(
    db: &Db,
    tariff_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Rate>, StoreError> {
    let rows = on_db!(db, |pool| {
        sqlx::query_as::<_, RateRow>(
        "SELECT valid_from, valid_to, import_micros, export_micros, carbon_micros FROM tariff_rates \
         WHERE tariff_id = $1 AND valid_from < $2 AND valid_to > $3 ORDER BY valid_from"
    )
    .bind(tariff_id)
    .bind(to)
    .bind(from)
    .fetch_all(pool)
    .await
    })?;
    Ok(rows.into_iter().map(Rate::from).collect())
}

/// Puts every property of the account on the tariff from `valid_from` (replacing an assignment that
/// starts at the same instant). Returns how many properties were assigned.
pub async fn assign_tariff_to_account(
    db: &Db,
    account_id: i64,
    tariff_id: i64,
    valid_from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(on_db!(db, |pool| sqlx::query(
        "INSERT INTO property_tariffs (property_id, tariff_id, valid_from, created_at) \
         SELECT id, $2, $3, $4 FROM properties WHERE account_id = $1 \
         ON CONFLICT (property_id, valid_from) DO UPDATE SET tariff_id = excluded.tariff_id"
    )
    .bind(account_id)
    .bind(tariff_id)
    .bind(valid_from)
    .bind(now)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?)
}

/// A property's tariff at an instant, with the instant the assignment began.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyTariff {
    pub tariff: StoredTariff,
    pub valid_from: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct PropertyTariffRow {
    #[sqlx(flatten)]
    tariff: StoredTariff,
    assigned_from: DateTime<Utc>,
}

/// The tariff the property is on at `at`: the latest assignment that has begun by then.
pub async fn tariff_of_property(
    db: &Db,
    property_id: i64,
    at: DateTime<Utc>,
) -> Result<Option<PropertyTariff>, StoreError> {
    let sql = format!(
        "SELECT {TARIFF_COLUMNS}, pt.valid_from AS assigned_from FROM property_tariffs pt \
         JOIN tariffs t ON t.id = pt.tariff_id WHERE pt.property_id = $1 AND pt.valid_from <= $2 \
         ORDER BY pt.valid_from DESC LIMIT 1"
    );
    let row = on_db!(db, |pool| sqlx::query_as::<_, PropertyTariffRow>(&sql)
        .bind(property_id)
        .bind(at)
        .fetch_optional(pool)
        .await)?;
    Ok(row.map(|row| PropertyTariff {
        tariff: row.tariff,
        valid_from: row.assigned_from,
    }))
}

/// The tariff every property is on at `at`, by property id (properties without one are absent).
pub async fn property_tariffs_at(
    db: &Db,
    at: DateTime<Utc>,
) -> Result<std::collections::HashMap<i64, StoredTariff>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        property_id: i64,
        #[sqlx(flatten)]
        tariff: StoredTariff,
    }
    let sql = format!(
        "SELECT pt.property_id, {TARIFF_COLUMNS} FROM property_tariffs pt JOIN tariffs t ON t.id = pt.tariff_id \
         WHERE pt.valid_from <= $1 AND NOT EXISTS (SELECT 1 FROM property_tariffs later \
         WHERE later.property_id = pt.property_id AND later.valid_from <= $1 AND later.valid_from > pt.valid_from)"
    );
    let rows = on_db!(db, |pool| sqlx::query_as::<_, Row>(&sql)
        .bind(at)
        .fetch_all(pool)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|row| (row.property_id, row.tariff))
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::accounts::{self, NewAddress, NewShellAccount};
    use crate::identity::{self, NewUser};
    use crate::testing::TestDb;

    fn tariff(code: &str) -> Tariff {
        Tariff {
            code: code.into(),
            name: "Agile".into(),
            currency: "GBP".into(),
            time_zone: "Europe/London".into(),
            slot_minutes: 30,
        }
    }

    fn slots(start: DateTime<Utc>, count: i64, price: i64) -> Vec<Rate> {
        (0..count)
            .map(|i| Rate {
                valid_from: start + Duration::minutes(30 * i),
                valid_to: start + Duration::minutes(30 * (i + 1)),
                import_minor_per_kwh: Micros(price + i),
                export_minor_per_kwh: (i % 2 == 0).then_some(Micros(-5)),
                carbon_g_per_kwh: Some(Micros(123_456_789)),
            })
            .collect()
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 29, 0, 0, 0).single().unwrap()
    }

    #[tokio::test]
    async fn rates_round_trip_and_a_reimport_replaces_what_it_overlaps() {
        let test = TestDb::new().await;
        let now = Utc::now();
        let created = create_tariff(&test.db, &tariff("A"), None, now)
            .await
            .unwrap();
        assert!(matches!(
            create_tariff(&test.db, &tariff("A"), None, now).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(created.tariff(), tariff("A"));
        let first = import_rates(
            &test.db,
            &tariff("A"),
            None,
            &slots(t0(), 8, 10_000_000),
            now,
        )
        .await
        .unwrap();
        assert!(!first.created);
        assert_eq!(first.imported, 8);
        let read = rates_between(&test.db, created.id, t0(), t0() + Duration::hours(4))
            .await
            .unwrap();
        assert_eq!(read, slots(t0(), 8, 10_000_000));

        // Slots 2..5 again, at another price: they replace 2..5 and leave the rest.
        let again = import_rates(
            &test.db,
            &tariff("A"),
            None,
            &slots(t0() + Duration::hours(1), 4, -3_000_000),
            now,
        )
        .await
        .unwrap();
        assert_eq!((again.imported, again.replaced), (4, 4));
        let read = rates_between(&test.db, created.id, t0(), t0() + Duration::hours(4))
            .await
            .unwrap();
        assert_eq!(read.len(), 8);
        assert_eq!(read[1].import_minor_per_kwh, Micros(10_000_001));
        assert_eq!(read[2].import_minor_per_kwh, Micros(-3_000_000));
        assert_eq!(read[6].import_minor_per_kwh, Micros(10_000_006));

        // A window reads the rates that overlap it.
        let window = rates_between(
            &test.db,
            created.id,
            t0() + Duration::minutes(45),
            t0() + Duration::minutes(75),
        )
        .await
        .unwrap();
        assert_eq!(window.len(), 2);

        // A new code creates its tariff inside the import.
        let fresh = import_rates(&test.db, &tariff("B"), None, &slots(t0(), 1, 1), now)
            .await
            .unwrap();
        assert!(fresh.created);
        assert_eq!(
            tariff_by_code(&test.db, "B").await.unwrap().unwrap().id,
            fresh.tariff.id
        );
    }

    #[tokio::test]
    async fn a_tariff_is_assigned_to_every_property_of_an_account() {
        let test = TestDb::new().await;
        let now = Utc::now();
        let org = identity::create_organisation(&test.db, "one", "RESIFLEX_LIVE", "h", now)
            .await
            .unwrap();
        let account = accounts::create_shell_account(
            &test.db,
            &NewShellAccount {
                organisation_id: org.id,
                status: "ACTIVE",
                account_type: "DOMESTIC",
                brand_code: "RESIFLEX_LIVE",
                user: NewUser {
                    email: "ada@example.com",
                    given_name: "Ada",
                    family_name: "Lovelace",
                    preferred_name: None,
                    mobile: None,
                    password_hash: None,
                },
                address: NewAddress {
                    country: "GB",
                    time_zone: "Europe/London",
                    ..NewAddress::default()
                },
                reference: None,
            },
            now,
        )
        .await
        .unwrap()
        .account;
        let property = accounts::properties_of_account(&test.db, account.id)
            .await
            .unwrap()
            .remove(0);
        let a = create_tariff(&test.db, &tariff("A"), None, now)
            .await
            .unwrap();
        let b = create_tariff(&test.db, &tariff("B"), None, now)
            .await
            .unwrap();
        assert!(
            tariff_of_property(&test.db, property.id, now)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            assign_tariff_to_account(&test.db, account.id, a.id, t0(), now)
                .await
                .unwrap(),
            1
        );
        let later = t0() + Duration::days(1);
        assign_tariff_to_account(&test.db, account.id, b.id, later, now)
            .await
            .unwrap();
        let on = |at| tariff_of_property(&test.db, property.id, at);
        assert_eq!(on(t0()).await.unwrap().unwrap().tariff.code, "A");
        let current = on(later + Duration::hours(1)).await.unwrap().unwrap();
        assert_eq!(
            (current.tariff.code.as_str(), current.valid_from),
            ("B", later)
        );
        assert!(on(t0() - Duration::hours(1)).await.unwrap().is_none());
        // Re-assigning from the same instant replaces.
        assign_tariff_to_account(&test.db, account.id, a.id, later, now)
            .await
            .unwrap();
        assert_eq!(on(later).await.unwrap().unwrap().tariff.code, "A");
    }
}
