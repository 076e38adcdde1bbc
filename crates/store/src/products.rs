//! Energy products, their tariffs and the tariffs' charges.
//!
//! A product is saved whole: its own fields, and for each tariff it lists the tariff's fields and
//! every charge, which replace the tariff's stored charges (tariffs it does not list are kept).
//! Charges are exact whole millionths before VAT; times are UTC instants.

use chrono::{DateTime, Utc};
use resiflex_domain::product::{
    Charge, ChargeKind, Direction, PaymentMethod, Product, ProductAvailability, ProductCode,
    ProductTariff, TariffCode, TariffKind, Vat,
};
use resiflex_domain::tariff::{Micros, Rate};

use crate::{Db, StoreError, corrupt, on_db, on_tx};

/// A stored product.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProduct {
    pub id: i64,
    pub organisation_id: Option<i64>,
    pub product: Product,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A stored product tariff.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProductTariff {
    pub id: i64,
    pub product_id: i64,
    pub tariff: ProductTariff,
    /// A dynamic tariff's rate table.
    pub rates_tariff_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: i64,
    organisation_id: Option<i64>,
    code: String,
    display_name: String,
    full_name: String,
    description: String,
    availability: String,
    brand: String,
    direction: String,
    is_green: bool,
    is_variable: bool,
    is_tracker: bool,
    is_prepay: bool,
    is_business: bool,
    term_months: Option<i64>,
    available_from: DateTime<Utc>,
    available_to: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const PRODUCT_COLUMNS: &str = "id, organisation_id, code, display_name, full_name, description, availability, brand, direction, is_green, is_variable, is_tracker, is_prepay, is_business, term_months, available_from, available_to, created_at, updated_at";

impl TryFrom<ProductRow> for StoredProduct {
    type Error = StoreError;

    fn try_from(row: ProductRow) -> Result<StoredProduct, StoreError> {
        Ok(StoredProduct {
            id: row.id,
            organisation_id: row.organisation_id,
            product: Product {
                code: corrupt("product code", ProductCode::parse(&row.code))?,
                display_name: row.display_name,
                full_name: row.full_name,
                description: row.description,
                availability: corrupt(
                    "product availability",
                    row.availability.parse::<ProductAvailability>(),
                )?,
                brand: row.brand,
                direction: corrupt("product direction", row.direction.parse::<Direction>())?,
                is_green: row.is_green,
                is_variable: row.is_variable,
                is_tracker: row.is_tracker,
                is_prepay: row.is_prepay,
                is_business: row.is_business,
                term_months: row.term_months.and_then(|t| u32::try_from(t).ok()),
                available_from: row.available_from,
                available_to: row.available_to,
            },
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TariffRow {
    id: i64,
    product_id: i64,
    code: String,
    payment_method: String,
    kind: String,
    vat_basis_points: i64,
    rates_tariff_id: Option<i64>,
    rates_tariff_code: Option<String>,
}

const TARIFF_COLUMNS: &str = "pt.id, pt.product_id, pt.code, pt.payment_method, pt.kind, pt.vat_basis_points, pt.rates_tariff_id, t.code AS rates_tariff_code";
const TARIFF_FROM: &str = "product_tariffs pt LEFT JOIN tariffs t ON t.id = pt.rates_tariff_id";

impl TryFrom<TariffRow> for StoredProductTariff {
    type Error = StoreError;

    fn try_from(row: TariffRow) -> Result<StoredProductTariff, StoreError> {
        let vat = u32::try_from(row.vat_basis_points)
            .map_err(|e| e.to_string())
            .and_then(|v| Vat::new(v).map_err(|e| e.to_string()));
        Ok(StoredProductTariff {
            id: row.id,
            product_id: row.product_id,
            tariff: ProductTariff {
                code: corrupt("tariff code", TariffCode::parse(&row.code))?,
                kind: corrupt("tariff kind", row.kind.parse::<TariffKind>())?,
                payment_method: corrupt(
                    "payment method",
                    row.payment_method.parse::<PaymentMethod>(),
                )?,
                vat: corrupt("VAT", vat)?,
                rates_tariff: row.rates_tariff_code,
            },
            rates_tariff_id: row.rates_tariff_id,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ChargeRow {
    kind: String,
    valid_from: DateTime<Utc>,
    valid_to: Option<DateTime<Utc>>,
    value_micros: i64,
}

impl TryFrom<ChargeRow> for Charge {
    type Error = StoreError;

    fn try_from(row: ChargeRow) -> Result<Charge, StoreError> {
        Ok(Charge {
            kind: corrupt("charge kind", row.kind.parse::<ChargeKind>())?,
            valid_from: row.valid_from,
            valid_to: row.valid_to,
            value_exc_vat: Micros(row.value_micros),
        })
    }
}

/// A tariff to save with a product, and all its charges.
#[derive(Debug, Clone, PartialEq)]
pub struct TariffToSave {
    pub tariff: ProductTariff,
    pub charges: Vec<Charge>,
}

/// What [`save_product`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedProduct {
    pub product: StoredProduct,
    pub created: bool,
    pub tariffs: usize,
    pub charges: usize,
}

/// Creates or updates the product, owned by `owner` (`None`: the operator), and saves each of
/// `tariffs` with its charges, in one transaction. An organisation may change only its own
/// products ([`StoreError::Conflict`] otherwise); a dynamic tariff's rate table must exist
/// ([`StoreError::NotFound`]).
pub async fn save_product(
    db: &Db,
    owner: Option<i64>,
    product: &Product,
    tariffs: &[TariffToSave],
    now: DateTime<Utc>,
) -> Result<SavedProduct, StoreError> {
    let mut tx = db.begin().await?;
    let existing: Option<(i64, Option<i64>)> = on_tx!(&mut tx, |conn| sqlx::query_as(
        "SELECT id, organisation_id FROM products WHERE code = $1"
    )
    .bind(product.code.as_str())
    .fetch_optional(conn)
    .await)?;
    if let Some((_, stored_owner)) = existing
        && owner.is_some()
        && stored_owner != owner
    {
        return Err(StoreError::Conflict);
    }
    let sql = format!(
        "INSERT INTO products (code, organisation_id, display_name, full_name, description, availability, brand, direction, \
         is_green, is_variable, is_tracker, is_prepay, is_business, term_months, available_from, available_to, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) \
         ON CONFLICT (code) DO UPDATE SET display_name = excluded.display_name, full_name = excluded.full_name, \
         description = excluded.description, availability = excluded.availability, brand = excluded.brand, \
         direction = excluded.direction, is_green = excluded.is_green, is_variable = excluded.is_variable, \
         is_tracker = excluded.is_tracker, is_prepay = excluded.is_prepay, is_business = excluded.is_business, \
         term_months = excluded.term_months, available_from = excluded.available_from, \
         available_to = excluded.available_to, updated_at = excluded.updated_at \
         RETURNING {PRODUCT_COLUMNS}"
    );
    let row: ProductRow = on_tx!(&mut tx, |conn| sqlx::query_as(&sql)
        .bind(product.code.as_str())
        .bind(owner)
        .bind(&product.display_name)
        .bind(&product.full_name)
        .bind(&product.description)
        .bind(product.availability.as_str())
        .bind(&product.brand)
        .bind(product.direction.as_str())
        .bind(product.is_green)
        .bind(product.is_variable)
        .bind(product.is_tracker)
        .bind(product.is_prepay)
        .bind(product.is_business)
        .bind(product.term_months.map(i64::from))
        .bind(product.available_from)
        .bind(product.available_to)
        .bind(now)
        .fetch_one(conn)
        .await)?;
    let stored = StoredProduct::try_from(row)?;
    let mut charges = 0;
    for to_save in tariffs {
        let tariff = &to_save.tariff;
        let rates_tariff_id: Option<i64> = match &tariff.rates_tariff {
            Some(code) => Some(
                on_tx!(&mut tx, |conn| sqlx::query_scalar(
                    "SELECT id FROM tariffs WHERE code = $1"
                )
                .bind(code)
                .fetch_optional(conn)
                .await)?
                .ok_or(StoreError::NotFound)?,
            ),
            None => None,
        };
        let code = tariff.code.to_string();
        let id: i64 = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar(
            "INSERT INTO product_tariffs (product_id, code, fuel, region, payment_method, kind, vat_basis_points, rates_tariff_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (code, payment_method) DO UPDATE SET kind = excluded.kind, \
             vat_basis_points = excluded.vat_basis_points, rates_tariff_id = excluded.rates_tariff_id \
             RETURNING id"
        )
        .bind(stored.id)
        .bind(&code)
        .bind(tariff.code.fuel.as_str())
        .bind(tariff.code.region.key())
        .bind(tariff.payment_method.as_str())
        .bind(tariff.kind.as_str())
        .bind(i64::from(tariff.vat.0))
        .bind(rates_tariff_id)
        .fetch_one(conn)
        .await
        })?;
        on_tx!(&mut tx, |conn| sqlx::query(
            "DELETE FROM tariff_charges WHERE product_tariff_id = $1"
        )
        .bind(id)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        for charge in &to_save.charges {
            on_tx!(&mut tx, |conn| {
                sqlx::query(
                "INSERT INTO tariff_charges (product_tariff_id, kind, valid_from, valid_to, value_micros) \
                 VALUES ($1, $2, $3, $4, $5)"
            )
            .bind(id)
            .bind(charge.kind.as_str())
            .bind(charge.valid_from)
            .bind(charge.valid_to)
            .bind(charge.value_exc_vat.0)
            .execute(conn)
            .await
            .map(|done| done.rows_affected())
            })?;
            charges += 1;
        }
    }
    tx.commit().await?;
    Ok(SavedProduct {
        created: existing.is_none(),
        product: stored,
        tariffs: tariffs.len(),
        charges,
    })
}

pub async fn product_by_code(db: &Db, code: &str) -> Result<Option<StoredProduct>, StoreError> {
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE code = $1");
    let row: Option<ProductRow> = on_db!(db, |pool| sqlx::query_as(&sql)
        .bind(code)
        .fetch_optional(pool)
        .await)?;
    row.map(StoredProduct::try_from).transpose()
}

/// Which products to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProductFilter {
    pub is_variable: Option<bool>,
    pub is_green: Option<bool>,
    pub is_tracker: Option<bool>,
    pub is_prepay: Option<bool>,
    pub is_business: Option<bool>,
}

/// One page of the products open to everyone at `at`, by code, and how many there are in all.
pub async fn available_products(
    db: &Db,
    at: DateTime<Utc>,
    filter: ProductFilter,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<StoredProduct>), StoreError> {
    const WHERE: &str = "availability = 'EVERYONE' AND available_from <= $1 \
        AND (available_to IS NULL OR available_to > $1) \
        AND ($2 IS NULL OR is_variable = $2) AND ($3 IS NULL OR is_green = $3) \
        AND ($4 IS NULL OR is_tracker = $4) AND ($5 IS NULL OR is_prepay = $5) \
        AND ($6 IS NULL OR is_business = $6)";
    let count_sql = format!("SELECT COUNT(*) FROM products WHERE {WHERE}");
    let page_sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE {WHERE} ORDER BY code LIMIT $7 OFFSET $8"
    );
    let count: i64 = on_db!(db, |pool| sqlx::query_scalar(&count_sql)
        .bind(at)
        .bind(filter.is_variable)
        .bind(filter.is_green)
        .bind(filter.is_tracker)
        .bind(filter.is_prepay)
        .bind(filter.is_business)
        .fetch_one(pool)
        .await)?;
    let rows: Vec<ProductRow> = on_db!(db, |pool| sqlx::query_as(&page_sql)
        .bind(at)
        .bind(filter.is_variable)
        .bind(filter.is_green)
        .bind(filter.is_tracker)
        .bind(filter.is_prepay)
        .bind(filter.is_business)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await)?;
    let products = rows
        .into_iter()
        .map(StoredProduct::try_from)
        .collect::<Result<_, _>>()?;
    Ok((count, products))
}

/// The product's tariffs, by code and payment method.
pub async fn tariffs_of_product(
    db: &Db,
    product_id: i64,
) -> Result<Vec<StoredProductTariff>, StoreError> {
    let sql = format!(
        "SELECT {TARIFF_COLUMNS} FROM {TARIFF_FROM} WHERE pt.product_id = $1 ORDER BY pt.code, pt.payment_method"
    );
    let rows: Vec<TariffRow> = on_db!(db, |pool| sqlx::query_as(&sql)
        .bind(product_id)
        .fetch_all(pool)
        .await)?;
    rows.into_iter()
        .map(StoredProductTariff::try_from)
        .collect()
}

pub async fn product_by_id(db: &Db, id: i64) -> Result<Option<StoredProduct>, StoreError> {
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1");
    let row: Option<ProductRow> = on_db!(db, |pool| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await)?;
    row.map(StoredProduct::try_from).transpose()
}

pub async fn product_tariff(db: &Db, id: i64) -> Result<Option<StoredProductTariff>, StoreError> {
    let sql = format!("SELECT {TARIFF_COLUMNS} FROM {TARIFF_FROM} WHERE pt.id = $1");
    let row: Option<TariffRow> = on_db!(db, |pool| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await)?;
    row.map(StoredProductTariff::try_from).transpose()
}

/// The tariffs (one per payment method) with this code.
pub async fn tariffs_by_code(db: &Db, code: &str) -> Result<Vec<StoredProductTariff>, StoreError> {
    let sql = format!(
        "SELECT {TARIFF_COLUMNS} FROM {TARIFF_FROM} WHERE pt.code = $1 ORDER BY pt.payment_method"
    );
    let rows: Vec<TariffRow> = on_db!(db, |pool| sqlx::query_as(&sql)
        .bind(code)
        .fetch_all(pool)
        .await)?;
    rows.into_iter()
        .map(StoredProductTariff::try_from)
        .collect()
}

/// The tariff's charges that apply at `at`, one per kind at most.
pub async fn charges_at(
    db: &Db,
    product_tariff_id: i64,
    at: DateTime<Utc>,
) -> Result<Vec<Charge>, StoreError> {
    let rows: Vec<ChargeRow> = on_db!(db, |pool| sqlx::query_as(
        "SELECT kind, valid_from, valid_to, value_micros FROM tariff_charges \
         WHERE product_tariff_id = $1 AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2) \
         ORDER BY kind"
    )
    .bind(product_tariff_id)
    .bind(at)
    .fetch_all(pool)
    .await)?;
    rows.into_iter().map(Charge::try_from).collect()
}

/// The tariff's charges of every kind that overlap `[from, to)`, by kind and start.
pub async fn charges_between(
    db: &Db,
    product_tariff_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Charge>, StoreError> {
    let rows: Vec<ChargeRow> = on_db!(db, |pool| sqlx::query_as(
        "SELECT kind, valid_from, valid_to, value_micros FROM tariff_charges \
         WHERE product_tariff_id = $1 AND valid_from < $2 AND (valid_to IS NULL OR valid_to > $3) \
         ORDER BY kind, valid_from"
    )
    .bind(product_tariff_id)
    .bind(to)
    .bind(from)
    .fetch_all(pool)
    .await)?;
    rows.into_iter().map(Charge::try_from).collect()
}

/// One page (newest first) of the `kind` charges of the tariffs `ids` that overlap
/// `[from, to)` (`None`: without that end), each with its tariff's id, and how many there are.
pub async fn charges_page(
    db: &Db,
    ids: &[i64],
    kind: ChargeKind,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<(i64, Charge)>), StoreError> {
    // At most one tariff per payment method: two ids.
    let (first, second) = match ids {
        [] => return Ok((0, Vec::new())),
        [one] => (*one, *one),
        [one, two, ..] => (*one, *two),
    };
    const WHERE: &str = "product_tariff_id IN ($1, $2) AND kind = $3 \
        AND ($4 IS NULL OR valid_to IS NULL OR valid_to > $4) AND ($5 IS NULL OR valid_from < $5)";
    let count: i64 = on_db!(db, |pool| sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM tariff_charges WHERE {WHERE}"
    ))
    .bind(first)
    .bind(second)
    .bind(kind.as_str())
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await)?;
    #[derive(sqlx::FromRow)]
    struct Row {
        product_tariff_id: i64,
        #[sqlx(flatten)]
        charge: ChargeRow,
    }
    let rows: Vec<Row> = on_db!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT product_tariff_id, kind, valid_from, valid_to, value_micros FROM tariff_charges \
         WHERE {WHERE} ORDER BY valid_from DESC, product_tariff_id LIMIT $6 OFFSET $7"
    ))
    .bind(first)
    .bind(second)
    .bind(kind.as_str())
    .bind(from)
    .bind(to)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
    })?;
    let charges = rows
        .into_iter()
        .map(|row| Ok((row.product_tariff_id, Charge::try_from(row.charge)?)))
        .collect::<Result<_, StoreError>>()?;
    Ok((count, charges))
}

/// One page (newest first) of a rate table's rates that overlap `[from, to)`, and how many there
/// are.
pub async fn rates_page(
    db: &Db,
    rates_tariff_id: i64,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<Rate>), StoreError> {
    const WHERE: &str =
        "tariff_id = $1 AND ($2 IS NULL OR valid_to > $2) AND ($3 IS NULL OR valid_from < $3)";
    let count: i64 = on_db!(db, |pool| sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM tariff_rates WHERE {WHERE}"
    ))
    .bind(rates_tariff_id)
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await)?;
    #[derive(sqlx::FromRow)]
    struct Row {
        valid_from: DateTime<Utc>,
        valid_to: DateTime<Utc>,
        import_micros: i64,
        export_micros: Option<i64>,
        carbon_micros: Option<i64>,
    }
    let rows: Vec<Row> = on_db!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT valid_from, valid_to, import_micros, export_micros, carbon_micros FROM tariff_rates \
         WHERE {WHERE} ORDER BY valid_from DESC LIMIT $4 OFFSET $5"
    ))
    .bind(rates_tariff_id)
    .bind(from)
    .bind(to)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
    })?;
    Ok((
        count,
        rows.into_iter()
            .map(|r| Rate {
                valid_from: r.valid_from,
                valid_to: r.valid_to,
                import_minor_per_kwh: Micros(r.import_micros),
                export_minor_per_kwh: r.export_micros.map(Micros),
                carbon_g_per_kwh: r.carbon_micros.map(Micros),
            })
            .collect(),
    ))
}
