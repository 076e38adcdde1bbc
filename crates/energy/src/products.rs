//! Products and tariffs: saved from one document (the command line and the organisation mutation
//! send the same one), listed, looked up, and their charges and rates read page by page the way
//! the public REST API pages them (newest first, with and without VAT).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use resiflex_domain::product::{
    Charge, ChargeKind, Direction, Fuel, PaymentMethod, Product, ProductAvailability, ProductCode,
    ProductError, ProductTariff, Region, TariffCode, TariffKind, Vat, validate_charges,
};
use resiflex_domain::tariff::Micros;
use resiflex_store::products::{
    self as store, ProductFilter, SavedProduct, StoredProduct, StoredProductTariff, TariffToSave,
};
use resiflex_store::{Db, StoreError, tariffs};
use serde::Deserialize;

/// The most tariffs one product document may carry (14 regions, 2 payment methods, 3 kinds and
/// a gas tariff each).
pub const MAX_TARIFFS: usize = 112;
/// The most charges one tariff may carry.
pub const MAX_CHARGES: usize = 2_000;
/// The default and the largest page of a list.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
pub const MAX_PAGE_SIZE: u32 = 1_500;

#[derive(Debug, thiserror::Error)]
pub enum EnergyError {
    /// The request is wrong; the message says how.
    #[error("{0}")]
    Invalid(String),
    #[error("not found")]
    NotFound,
    /// The product (or rate table) belongs to another organisation.
    #[error("the product belongs to another organisation")]
    NotOwner,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ProductError> for EnergyError {
    fn from(err: ProductError) -> EnergyError {
        EnergyError::Invalid(err.0)
    }
}

fn invalid<T>(message: impl Into<String>) -> Result<T, EnergyError> {
    Err(EnergyError::Invalid(message.into()))
}

fn default_availability() -> String {
    ProductAvailability::Everyone.as_str().to_owned()
}

fn default_direction() -> String {
    Direction::Import.as_str().to_owned()
}

fn default_fuel() -> String {
    Fuel::Electricity.as_str().to_owned()
}

fn default_payment_method() -> String {
    PaymentMethod::DirectDebitMonthly.as_str().to_owned()
}

fn default_vat() -> u32 {
    500
}

/// A product with its tariffs, as the command line reads it from JSON and the organisation
/// mutation receives it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductDocument {
    pub code: String,
    pub display_name: String,
    pub full_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_availability")]
    pub availability: String,
    pub brand: String,
    #[serde(default = "default_direction")]
    pub direction: String,
    #[serde(default)]
    pub is_green: bool,
    #[serde(default)]
    pub is_variable: bool,
    #[serde(default)]
    pub is_tracker: bool,
    #[serde(default)]
    pub is_prepay: bool,
    #[serde(default)]
    pub is_business: bool,
    /// Months; none for a product without a fixed term.
    #[serde(default)]
    pub term: Option<u32>,
    pub available_from: DateTime<Utc>,
    #[serde(default)]
    pub available_to: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tariffs: Vec<TariffDocument>,
}

/// One tariff of a [`ProductDocument`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TariffDocument {
    #[serde(default = "default_fuel")]
    pub fuel: String,
    /// `SINGLE_RATE`, `DAY_NIGHT` or `DYNAMIC`.
    pub kind: String,
    /// `C` or `_C`.
    pub region: String,
    #[serde(default = "default_payment_method")]
    pub payment_method: String,
    #[serde(default = "default_vat")]
    pub vat_basis_points: u32,
    /// A dynamic tariff's rate table: the code its half-hourly rates are imported under.
    #[serde(default)]
    pub rates_tariff: Option<String>,
    #[serde(default)]
    pub charges: Vec<ChargeDocument>,
}

/// One charge of a [`TariffDocument`], before VAT.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChargeDocument {
    /// `STANDING` (per day), `STANDARD`, `DAY` or `NIGHT` (per kWh).
    pub kind: String,
    pub valid_from: DateTime<Utc>,
    #[serde(default)]
    pub valid_to: Option<DateTime<Utc>>,
    /// Minor units, a plain decimal with at most six places (`"24.57"`).
    pub value_exc_vat: String,
}

impl ProductDocument {
    /// The product and its tariffs, every rule checked; the first broken one is the error.
    pub fn validate(&self) -> Result<(Product, Vec<TariffToSave>), EnergyError> {
        let code = ProductCode::parse(&self.code)?;
        let product = Product {
            code: code.clone(),
            display_name: self.display_name.trim().to_owned(),
            full_name: self.full_name.trim().to_owned(),
            description: self.description.trim().to_owned(),
            availability: self.availability.parse()?,
            brand: self.brand.trim().to_owned(),
            direction: self.direction.parse()?,
            is_green: self.is_green,
            is_variable: self.is_variable,
            is_tracker: self.is_tracker,
            is_prepay: self.is_prepay,
            is_business: self.is_business,
            term_months: self.term,
            available_from: self.available_from,
            available_to: self.available_to,
        };
        product.validate()?;
        if self.tariffs.len() > MAX_TARIFFS {
            return invalid(format!("a product has at most {MAX_TARIFFS} tariffs"));
        }
        let mut tariffs: Vec<TariffToSave> = Vec::with_capacity(self.tariffs.len());
        for (i, doc) in self.tariffs.iter().enumerate() {
            let at = |e: EnergyError| match e {
                EnergyError::Invalid(m) => EnergyError::Invalid(format!("tariffs[{i}]: {m}")),
                other => other,
            };
            let tariff = doc.validate(&code).map_err(at)?;
            if tariffs.iter().any(|t| {
                t.tariff.code == tariff.tariff.code
                    && t.tariff.payment_method == tariff.tariff.payment_method
            }) {
                return invalid(format!(
                    "tariffs[{i}]: {} {} is listed twice",
                    tariff.tariff.code,
                    tariff.tariff.payment_method.as_str()
                ));
            }
            tariffs.push(tariff);
        }
        Ok((product, tariffs))
    }
}

impl TariffDocument {
    fn validate(&self, product: &ProductCode) -> Result<TariffToSave, EnergyError> {
        let fuel: Fuel = self.fuel.parse()?;
        let kind: TariffKind = self.kind.parse()?;
        if fuel == Fuel::Gas && kind != TariffKind::SingleRate {
            return invalid("a gas tariff has a single rate");
        }
        let region = Region::parse(&self.region)?;
        let rates_tariff = self
            .rates_tariff
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        match (kind, rates_tariff) {
            (TariffKind::Dynamic, None) => {
                return invalid("a dynamic tariff needs ratesTariff, the rate table of its prices");
            }
            (TariffKind::SingleRate | TariffKind::DayNight, Some(_)) => {
                return invalid("only a dynamic tariff has a rate table");
            }
            _ => {}
        }
        if self.charges.len() > MAX_CHARGES {
            return invalid(format!("a tariff has at most {MAX_CHARGES} charges"));
        }
        let charges = self
            .charges
            .iter()
            .enumerate()
            .map(|(j, c)| {
                Ok(Charge {
                    kind: c
                        .kind
                        .parse()
                        .map_err(|e: ProductError| format!("charges[{j}].kind: {e}"))?,
                    valid_from: c.valid_from,
                    valid_to: c.valid_to,
                    value_exc_vat: Micros::parse(&c.value_exc_vat)
                        .map_err(|e| format!("charges[{j}].valueExcVat: {e}"))?,
                })
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(EnergyError::Invalid)?;
        validate_charges(kind, &charges)?;
        Ok(TariffToSave {
            tariff: ProductTariff {
                code: TariffCode::new(fuel, kind, product, region),
                kind,
                payment_method: self.payment_method.parse()?,
                vat: Vat::new(self.vat_basis_points)?,
                rates_tariff: rates_tariff.map(str::to_owned),
            },
            charges,
        })
    }
}

/// Creates or updates a product and its tariffs, for the organisation `owner` (`None`: the
/// operator). An organisation changes only its own products and links only its own rate tables
/// or the operator's.
pub async fn save(
    db: &Db,
    owner: Option<i64>,
    document: &ProductDocument,
    now: DateTime<Utc>,
) -> Result<SavedProduct, EnergyError> {
    let (product, tariffs) = document.validate()?;
    for tariff in &tariffs {
        if let Some(code) = &tariff.tariff.rates_tariff {
            let stored = tariffs::tariff_by_code(db, code)
                .await?
                .ok_or_else(|| EnergyError::Invalid(format!("no rate table {code:?}")))?;
            if owner.is_some() && stored.organisation_id.is_some_and(|o| Some(o) != owner) {
                return Err(EnergyError::NotOwner);
            }
        }
    }
    store::save_product(db, owner, &product, &tariffs, now)
        .await
        .map_err(|e| match e {
            StoreError::Conflict => EnergyError::NotOwner,
            StoreError::NotFound => EnergyError::Invalid("a rate table does not exist".into()),
            other => EnergyError::Store(other),
        })
}

/// A page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// How many items the whole list has.
    pub count: i64,
    pub items: Vec<T>,
    /// 1-based.
    pub page: u32,
    pub page_size: u32,
}

impl<T> Page<T> {
    pub fn has_next(&self) -> bool {
        i64::from(self.page) * i64::from(self.page_size) < self.count
    }

    pub fn has_previous(&self) -> bool {
        self.page > 1
    }
}

/// Which page of how many: `page` from 1, `page_size` from 1 to [`MAX_PAGE_SIZE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: u32,
    pub page_size: u32,
}

impl Paging {
    pub fn new(page: Option<u32>, page_size: Option<u32>) -> Result<Paging, EnergyError> {
        Paging::up_to(page, page_size, MAX_PAGE_SIZE)
    }

    /// Like [`Paging::new`] for a list whose pages may hold up to `max` items.
    pub fn up_to(
        page: Option<u32>,
        page_size: Option<u32>,
        max: u32,
    ) -> Result<Paging, EnergyError> {
        let page = page.unwrap_or(1);
        let page_size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if page == 0 {
            return invalid("page starts at 1");
        }
        if page_size == 0 || page_size > max {
            return invalid(format!("page_size must be between 1 and {max}"));
        }
        Ok(Paging { page, page_size })
    }

    /// This page of a list held whole.
    pub fn slice<T>(self, all: Vec<T>) -> Result<Page<T>, EnergyError> {
        let count = all.len() as i64;
        let offset = usize::try_from(self.offset()).unwrap_or(usize::MAX);
        let items = all
            .into_iter()
            .skip(offset)
            .take(self.page_size as usize)
            .collect();
        self.page(count, items)
    }

    fn offset(self) -> i64 {
        (i64::from(self.page) - 1) * i64::from(self.page_size)
    }

    /// The page, or [`EnergyError::NotFound`] for a page past the last (the first page of an
    /// empty list exists).
    fn page<T>(self, count: i64, items: Vec<T>) -> Result<Page<T>, EnergyError> {
        if self.page > 1 && self.offset() >= count {
            return Err(EnergyError::NotFound);
        }
        Ok(Page {
            count,
            items,
            page: self.page,
            page_size: self.page_size,
        })
    }
}

/// The products open to everyone at `at`.
pub async fn list(
    db: &Db,
    at: DateTime<Utc>,
    filter: ProductFilter,
    paging: Paging,
) -> Result<Page<StoredProduct>, EnergyError> {
    let (count, products) =
        store::available_products(db, at, filter, paging.offset(), i64::from(paging.page_size))
            .await?;
    paging.page(count, products)
}

/// A tariff with the charges that apply at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct TariffAt {
    pub tariff: StoredProductTariff,
    pub standing: Option<Micros>,
    /// The single rate, or the day rate of a day/night tariff, or a dynamic tariff's rate at
    /// that instant.
    pub unit: Option<Micros>,
    pub night: Option<Micros>,
}

/// A product and its tariffs as they are at `at`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductDetail {
    pub product: StoredProduct,
    pub tariffs: Vec<TariffAt>,
}

pub async fn detail(db: &Db, code: &str, at: DateTime<Utc>) -> Result<ProductDetail, EnergyError> {
    let product = store::product_by_code(db, code)
        .await?
        .ok_or(EnergyError::NotFound)?;
    let mut tariffs = Vec::new();
    for tariff in store::tariffs_of_product(db, product.id).await? {
        tariffs.push(tariff_at(db, tariff, at).await?);
    }
    Ok(ProductDetail { product, tariffs })
}

/// The tariff with the charges that apply at `at`.
pub async fn tariff_at(
    db: &Db,
    tariff: StoredProductTariff,
    at: DateTime<Utc>,
) -> Result<TariffAt, EnergyError> {
    let charges = store::charges_at(db, tariff.id, at).await?;
    let of = |kind: ChargeKind| {
        charges
            .iter()
            .find(|c| c.kind == kind)
            .map(|c| c.value_exc_vat)
    };
    let unit = match (tariff.tariff.kind, tariff.rates_tariff_id) {
        (TariffKind::Dynamic, Some(rates)) => {
            let (_, rates) = store::rates_page(
                db,
                rates,
                Some(at),
                Some(at + chrono::Duration::seconds(1)),
                0,
                1,
            )
            .await?;
            rates.first().map(|r| r.import_minor_per_kwh)
        }
        (TariffKind::DayNight, _) => of(ChargeKind::Day),
        _ => of(ChargeKind::Standard),
    };
    Ok(TariffAt {
        standing: of(ChargeKind::Standing),
        unit,
        night: of(ChargeKind::Night),
        tariff,
    })
}

/// A product tariff (by id) with its product, as it is at `at`.
pub async fn product_tariff_at(
    db: &Db,
    product_tariff_id: i64,
    at: DateTime<Utc>,
) -> Result<(StoredProduct, TariffAt), EnergyError> {
    let tariff = store::product_tariff(db, product_tariff_id)
        .await?
        .ok_or(EnergyError::NotFound)?;
    let product = store::product_by_id(db, tariff.product_id)
        .await?
        .ok_or(EnergyError::NotFound)?;
    Ok((product, tariff_at(db, tariff, at).await?))
}

/// A dynamic tariff's half-hourly prices before VAT from `from` on, at most `limit`, in time
/// order (the rate table's own order).
pub async fn dynamic_rates(
    db: &Db,
    tariff: &StoredProductTariff,
    from: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<resiflex_domain::tariff::Rate>, EnergyError> {
    let Some(rates) = tariff.rates_tariff_id else {
        return Ok(Vec::new());
    };
    let end = from + chrono::Duration::days(4);
    let mut rates = tariffs::rates_between(db, rates, from, end).await?;
    rates.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(rates)
}

/// Which list of a tariff's prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceList {
    StandardUnitRates,
    DayUnitRates,
    NightUnitRates,
    StandingCharges,
}

/// One row of a price list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceRow {
    pub value_exc_vat: Micros,
    pub value_inc_vat: Micros,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
    /// `None` when the row applies to every payment method (a dynamic tariff's rates).
    pub payment_method: Option<PaymentMethod>,
}

/// The prices of `list` of the tariff `tariff_code` of the product `product_code` for `fuel`
/// that apply within `[from, to)`, newest first. An unknown product or tariff, a tariff of
/// another product or fuel, or a list the tariff does not have is [`EnergyError::NotFound`].
#[allow(clippy::too_many_arguments)]
pub async fn prices(
    db: &Db,
    product_code: &str,
    fuel: Fuel,
    tariff_code: &str,
    list: PriceList,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    paging: Paging,
) -> Result<Page<PriceRow>, EnergyError> {
    if to.is_some() && from.is_none() {
        return invalid("period_to needs period_from");
    }
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        return invalid("period_to must be after period_from");
    }
    let code = TariffCode::parse(tariff_code).map_err(|_| EnergyError::NotFound)?;
    if code.fuel != fuel || code.product.as_str() != product_code {
        return Err(EnergyError::NotFound);
    }
    let tariffs = store::tariffs_by_code(db, tariff_code).await?;
    let Some(first) = tariffs.first() else {
        return Err(EnergyError::NotFound);
    };
    let kind = first.tariff.kind;
    let charge = match (list, kind) {
        (PriceList::StandingCharges, _) => ChargeKind::Standing,
        (PriceList::StandardUnitRates, TariffKind::SingleRate) => ChargeKind::Standard,
        (PriceList::DayUnitRates, TariffKind::DayNight) => ChargeKind::Day,
        (PriceList::NightUnitRates, TariffKind::DayNight) => ChargeKind::Night,
        (PriceList::StandardUnitRates, TariffKind::Dynamic) => {
            let Some(rates) = first.rates_tariff_id else {
                return Err(EnergyError::NotFound);
            };
            let vat = first.tariff.vat;
            let (count, rates) = store::rates_page(
                db,
                rates,
                from,
                to,
                paging.offset(),
                i64::from(paging.page_size),
            )
            .await?;
            let rows = rates
                .into_iter()
                .map(|r| PriceRow {
                    value_exc_vat: r.import_minor_per_kwh,
                    value_inc_vat: vat.include(r.import_minor_per_kwh),
                    valid_from: Some(r.valid_from),
                    valid_to: Some(r.valid_to),
                    payment_method: None,
                })
                .collect();
            return paging.page(count, rows);
        }
        _ => return Err(EnergyError::NotFound),
    };
    let by_id: HashMap<i64, &StoredProductTariff> = tariffs.iter().map(|t| (t.id, t)).collect();
    let ids: Vec<i64> = tariffs.iter().map(|t| t.id).collect();
    let (count, charges) = store::charges_page(
        db,
        &ids,
        charge,
        from,
        to,
        paging.offset(),
        i64::from(paging.page_size),
    )
    .await?;
    let rows = charges
        .into_iter()
        .filter_map(|(id, c)| {
            let tariff = by_id.get(&id)?;
            Some(PriceRow {
                value_exc_vat: c.value_exc_vat,
                value_inc_vat: tariff.tariff.vat.include(c.value_exc_vat),
                valid_from: Some(c.valid_from),
                valid_to: c.valid_to,
                payment_method: Some(tariff.tariff.payment_method),
            })
        })
        .collect();
    paging.page(count, rows)
}

/// The sandbox's dynamic product: the day-ahead rate table `rates_tariff` sold in `region` on
/// both payment methods with a standing charge, created or brought up to date (idempotent).
pub async fn save_sandbox_product(
    db: &Db,
    owner: Option<i64>,
    product_code: &str,
    rates_tariff: &str,
    region: char,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<SavedProduct, EnergyError> {
    let tariff = |payment_method: PaymentMethod, standing: &str| TariffDocument {
        fuel: default_fuel(),
        kind: TariffKind::Dynamic.as_str().to_owned(),
        region: region.to_string(),
        payment_method: payment_method.as_str().to_owned(),
        vat_basis_points: default_vat(),
        rates_tariff: Some(rates_tariff.to_owned()),
        charges: vec![ChargeDocument {
            kind: ChargeKind::Standing.as_str().to_owned(),
            valid_from: since,
            valid_to: None,
            value_exc_vat: standing.to_owned(),
        }],
    };
    let document = ProductDocument {
        code: product_code.to_owned(),
        display_name: "ResiFlex Agile".into(),
        full_name: format!("ResiFlex Agile ({product_code})"),
        description: "Half-hourly prices that follow the day-ahead market, published the day before; flexible homes move their use to the cheapest, cleanest hours.".into(),
        availability: default_availability(),
        brand: "RESIFLEX_LIVE".into(),
        direction: default_direction(),
        is_green: true,
        is_variable: true,
        is_tracker: false,
        is_prepay: false,
        is_business: false,
        term: Some(12),
        available_from: since,
        available_to: None,
        tariffs: vec![
            tariff(PaymentMethod::DirectDebitMonthly, "45.0"),
            tariff(PaymentMethod::Varying, "47.25"),
        ],
    };
    save(db, owner, &document, now).await
}

#[cfg(test)]
mod tests;
