//! `saveEnergyProduct`: an organisation creates or updates one of its products with its tariffs
//! and their charges, the same document `resiflex product save` reads. The rules are in
//! `resiflex_energy::products`; this module maps GraphQL onto them.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use resiflex_energy::EnergyError;
use resiflex_energy::products::{self as energy, ChargeDocument, ProductDocument, TariffDocument};
use resiflex_store::products::StoredProduct;

use super::{OperationErrors, OperationKind, api, protected as op};
use crate::auth::authorise;
use crate::enums::{BrandChoices, ProductAvailability};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::scalars::{DateTime, Decimal};

pub const ERRORS: &[OperationErrors] = &[op(
    "saveEnergyProduct",
    OperationKind::Mutation,
    &[ErrorCode::InvalidInput],
)];

/// One charge of a tariff, before VAT: `STANDING` (minor units per day), `STANDARD`, `DAY` or
/// `NIGHT` (minor units per kWh).
#[derive(InputObject, Debug)]
pub struct EnergyProductChargeInput {
    pub kind: String,
    pub valid_from: DateTime,
    /// None: without end.
    pub valid_to: Option<DateTime>,
    pub value_exc_vat: Decimal,
}

/// One tariff of a product: its fuel (`ELECTRICITY` or `GAS`), kind (`SINGLE_RATE`, `DAY_NIGHT`
/// or `DYNAMIC`), region (GSP group `A` to `P`, or `_A`), payment method (`DIRECT_DEBIT_MONTHLY`
/// or `VARYING`), VAT in basis points, a dynamic tariff's rate table (the code its half-hourly
/// rates are imported under with `importTariffRates`), and every charge, which replace the
/// tariff's stored ones.
#[derive(InputObject, Debug)]
pub struct EnergyProductTariffInput {
    #[graphql(default_with = "\"ELECTRICITY\".to_owned()")]
    pub fuel: String,
    pub kind: String,
    pub region: String,
    #[graphql(default_with = "\"DIRECT_DEBIT_MONTHLY\".to_owned()")]
    pub payment_method: String,
    #[graphql(default = 500)]
    pub vat_basis_points: i32,
    pub rates_tariff: Option<String>,
    #[graphql(default)]
    pub charges: Vec<EnergyProductChargeInput>,
}

#[derive(InputObject, Debug)]
pub struct EnergyProductInput {
    /// Upper-case letters, digits and single hyphens, such as `AGILE-24-10-01`.
    pub code: String,
    pub display_name: String,
    pub full_name: String,
    #[graphql(default)]
    pub description: String,
    #[graphql(default_with = "ProductAvailability::Everyone")]
    pub availability: ProductAvailability,
    #[graphql(default_with = "BrandChoices::ResiflexLive")]
    pub brand: BrandChoices,
    /// `IMPORT` or `EXPORT`.
    #[graphql(default_with = "\"IMPORT\".to_owned()")]
    pub direction: String,
    #[graphql(default)]
    pub is_green: bool,
    #[graphql(default)]
    pub is_variable: bool,
    #[graphql(default)]
    pub is_tracker: bool,
    #[graphql(default)]
    pub is_prepay: bool,
    #[graphql(default)]
    pub is_business: bool,
    /// A fixed term in months.
    pub term: Option<i32>,
    pub available_from: DateTime,
    pub available_to: Option<DateTime>,
    #[graphql(default)]
    pub tariffs: Vec<EnergyProductTariffInput>,
}

fn invalid(message: impl Into<String>) -> KrakenError {
    KrakenError::with_message(ErrorCode::InvalidInput, message)
}

impl EnergyProductInput {
    fn document(self) -> ApiResult<ProductDocument> {
        let count = |value: i32, field: &str| {
            u32::try_from(value).map_err(|_| invalid(format!("{field} must not be negative.")))
        };
        let tariffs = self
            .tariffs
            .into_iter()
            .map(|t| {
                Ok(TariffDocument {
                    fuel: t.fuel,
                    kind: t.kind,
                    region: t.region,
                    payment_method: t.payment_method,
                    vat_basis_points: count(t.vat_basis_points, "vatBasisPoints")?,
                    rates_tariff: t.rates_tariff,
                    charges: t
                        .charges
                        .into_iter()
                        .map(|c| ChargeDocument {
                            kind: c.kind,
                            valid_from: c.valid_from.0,
                            valid_to: c.valid_to.map(|t| t.0),
                            value_exc_vat: c.value_exc_vat.0.to_string(),
                        })
                        .collect(),
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(ProductDocument {
            code: self.code.trim().to_owned(),
            display_name: self.display_name,
            full_name: self.full_name,
            description: self.description,
            availability: self.availability.as_str().to_owned(),
            brand: self.brand.as_str().to_owned(),
            direction: self.direction,
            is_green: self.is_green,
            is_variable: self.is_variable,
            is_tracker: self.is_tracker,
            is_prepay: self.is_prepay,
            is_business: self.is_business,
            term: self.term.map(|t| count(t, "term")).transpose()?,
            available_from: self.available_from.0,
            available_to: self.available_to.map(|t| t.0),
            tariffs,
        })
    }
}

/// A product as sold.
pub struct EnergyProductType(StoredProduct, Vec<String>);

#[Object(name = "EnergyProductType")]
impl EnergyProductType {
    async fn code(&self) -> &str {
        self.0.product.code.as_str()
    }
    async fn display_name(&self) -> &str {
        &self.0.product.display_name
    }
    async fn full_name(&self) -> &str {
        &self.0.product.full_name
    }
    async fn description(&self) -> &str {
        &self.0.product.description
    }
    async fn availability(&self) -> ProductAvailability {
        match self.0.product.availability {
            resiflex_domain::product::ProductAvailability::Everyone => {
                ProductAvailability::Everyone
            }
            resiflex_domain::product::ProductAvailability::Restricted => {
                ProductAvailability::Restricted
            }
        }
    }
    async fn brand(&self) -> &str {
        &self.0.product.brand
    }
    /// `IMPORT` or `EXPORT`.
    async fn direction(&self) -> &'static str {
        self.0.product.direction.as_str()
    }
    async fn is_green(&self) -> bool {
        self.0.product.is_green
    }
    async fn is_variable(&self) -> bool {
        self.0.product.is_variable
    }
    async fn is_tracker(&self) -> bool {
        self.0.product.is_tracker
    }
    async fn is_prepay(&self) -> bool {
        self.0.product.is_prepay
    }
    async fn is_business(&self) -> bool {
        self.0.product.is_business
    }
    /// Months.
    async fn term(&self) -> Option<i32> {
        self.0
            .product
            .term_months
            .and_then(|t| i32::try_from(t).ok())
    }
    async fn available_from(&self) -> DateTime {
        DateTime(self.0.product.available_from)
    }
    async fn available_to(&self) -> Option<DateTime> {
        self.0.product.available_to.map(DateTime)
    }
    /// The codes of its tariffs (`E-1R-...-C`), one per fuel, register count and region.
    async fn tariff_codes(&self) -> &[String] {
        &self.1
    }
}

#[derive(SimpleObject)]
pub struct SaveEnergyProduct {
    pub product: EnergyProductType,
    /// Whether the product is new.
    pub created: bool,
    /// How many tariffs and charges the request saved.
    pub tariff_count: i32,
    pub charge_count: i32,
}

#[derive(Default)]
pub struct ProductsMutation;

#[Object]
impl ProductsMutation {
    /// Creates one of the organisation's products, or updates it: its fields, and for each tariff
    /// given its kind, VAT, rate table and every charge (tariffs not given are kept). Everything is
    /// checked before anything is stored (KT-CT-1605 names the first rule broken), and the whole
    /// product is saved in one transaction. Organisations only; another organisation's product
    /// or rate table is KT-CT-1111. Its prices are public at `/v1/products/{code}/`.
    async fn save_energy_product(
        &self,
        ctx: &Context<'_>,
        input: EnergyProductInput,
    ) -> ApiResult<SaveEnergyProduct> {
        let caller = authorise(ctx).await?;
        let organisation_id = caller.as_organisation()?.id;
        let api = api(ctx)?;
        let document = input.document()?;
        let saved = energy::save(&api.db, Some(organisation_id), &document, api.clock.now())
            .await
            .map_err(|e| match e {
                EnergyError::Invalid(message) => invalid(message),
                EnergyError::NotOwner | EnergyError::NotFound => KrakenError::with_message(
                    ErrorCode::Unauthorized,
                    format!(
                        "The product {:?} or its rate table belongs to another organisation.",
                        document.code
                    ),
                ),
                EnergyError::Store(err) => KrakenError::internal("products", &err),
            })?;
        let detail = energy::detail(&api.db, &document.code, api.clock.now())
            .await
            .map_err(|e| KrakenError::internal("products", &e))?;
        let mut codes: Vec<String> = detail
            .tariffs
            .iter()
            .map(|t| t.tariff.tariff.code.to_string())
            .collect();
        codes.dedup();
        Ok(SaveEnergyProduct {
            created: saved.created,
            tariff_count: i32::try_from(saved.tariffs).unwrap_or(i32::MAX),
            charge_count: i32::try_from(saved.charges).unwrap_or(i32::MAX),
            product: EnergyProductType(saved.product, codes),
        })
    }
}
