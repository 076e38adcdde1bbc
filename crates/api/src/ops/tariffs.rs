//! Tariffs: `importTariffRates`, `assignTariff` and `tariffRates` for organisations, and
//! `propertyTariff` for the account's user or organisation.
//!
//! Rates travel as `Decimal` (minor units per kWh; carbon intensity in gCO2/kWh) and are stored exactly as
//! whole millionths; a value with more than six decimal places is refused rather than rounded.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::Duration;
use resiflex_domain::tariff::{self, Micros, Rate, Tariff};
use resiflex_store::accounts;
use resiflex_store::tariffs::{self, StoredTariff};
use rust_decimal::Decimal as RustDecimal;

use super::{OperationErrors, OperationKind, api, protected as op};
use crate::auth::access::account_for;
use crate::auth::authorise;
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::scalars::{DateTime, Decimal};

pub const ERRORS: &[OperationErrors] = &[
    op(
        "importTariffRates",
        OperationKind::Mutation,
        &[ErrorCode::InvalidInput],
    ),
    op(
        "assignTariff",
        OperationKind::Mutation,
        &[ErrorCode::InvalidInput],
    ),
    op(
        "tariffRates",
        OperationKind::Query,
        &[ErrorCode::InvalidInput],
    ),
    op("propertyTariff", OperationKind::Query, &[]),
];

/// The most rates one import may carry (a year of half-hours is 17,568).
const MAX_RATES: usize = 40_000;
/// The longest window `tariffRates` answers for.
const MAX_WINDOW_DAYS: i64 = 31;

fn internal(err: resiflex_store::StoreError) -> KrakenError {
    KrakenError::internal("tariffs", &err)
}

fn invalid(message: impl Into<String>) -> KrakenError {
    KrakenError::with_message(ErrorCode::InvalidInput, message)
}

fn micros(value: Decimal, field: &str, index: usize) -> ApiResult<Micros> {
    Micros::parse(&value.0.to_string()).map_err(|e| invalid(format!("rates[{index}].{field}: {e}")))
}

fn decimal(value: Micros) -> Decimal {
    Decimal(RustDecimal::new(value.0, 6).normalize())
}

/// A rate table: the slot-by-slot prices of a dynamic tariff, as imported (sold as a product's
/// tariff through `saveEnergyProduct`).
pub struct RateTableType(pub StoredTariff);

#[Object(name = "RateTableType")]
impl RateTableType {
    async fn code(&self) -> &str {
        &self.0.code
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// ISO 4217; rates are in its minor unit per kWh.
    async fn currency(&self) -> &str {
        &self.0.currency
    }

    /// The IANA time zone the tariff's days follow.
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }

    /// 30 or 15.
    async fn slot_minutes(&self) -> i64 {
        self.0.slot_minutes
    }
}

/// The price of one slot.
#[derive(SimpleObject)]
#[graphql(name = "TariffRate")]
pub struct TariffRate {
    pub valid_from: DateTime,
    pub valid_to: DateTime,
    /// Minor units (such as pence) per kWh imported; may be negative.
    pub unit_rate: Decimal,
    /// Minor units per kWh exported.
    pub export_rate: Option<Decimal>,
    /// gCO2 per kWh.
    pub carbon_intensity: Option<Decimal>,
}

impl From<Rate> for TariffRate {
    fn from(rate: Rate) -> Self {
        TariffRate {
            valid_from: DateTime(rate.valid_from),
            valid_to: DateTime(rate.valid_to),
            unit_rate: decimal(rate.import_minor_per_kwh),
            export_rate: rate.export_minor_per_kwh.map(decimal),
            carbon_intensity: rate.carbon_g_per_kwh.map(decimal),
        }
    }
}

#[derive(InputObject, Debug)]
pub struct TariffRateInput {
    pub valid_from: DateTime,
    pub valid_to: DateTime,
    pub unit_rate: Decimal,
    pub export_rate: Option<Decimal>,
    pub carbon_intensity: Option<Decimal>,
}

#[derive(InputObject, Debug)]
pub struct ImportTariffRatesInput {
    pub tariff_code: String,
    /// For a new tariff [default: the code].
    pub name: Option<String>,
    /// For a new tariff [default: Europe/London].
    pub time_zone: Option<String>,
    /// For a new tariff: 30 or 15 [default: 30].
    pub slot_minutes: Option<i32>,
    pub rates: Vec<TariffRateInput>,
}

#[derive(SimpleObject)]
pub struct ImportTariffRates {
    pub tariff: RateTableType,
    pub imported_count: i32,
}

#[derive(InputObject, Debug)]
pub struct AssignTariffInput {
    pub account_number: String,
    pub tariff_code: String,
}

#[derive(SimpleObject)]
pub struct AssignTariff {
    pub account_number: String,
    pub tariff: RateTableType,
    /// How many of the account's properties are now on the tariff.
    pub property_count: i32,
}

/// A property's current tariff.
#[derive(SimpleObject)]
#[graphql(name = "PropertyTariffType")]
pub struct PropertyTariff {
    pub tariff: RateTableType,
    /// When the property went on this tariff.
    pub valid_from: DateTime,
}

#[derive(Default)]
pub struct TariffsQuery;

#[Object]
impl TariffsQuery {
    /// The tariff's rates that overlap `[from, to)` (at most 31 days), in time order; none for an
    /// unknown tariff. Organisations only.
    async fn tariff_rates(
        &self,
        ctx: &Context<'_>,
        tariff_code: String,
        from: DateTime,
        to: DateTime,
    ) -> ApiResult<Vec<TariffRate>> {
        let caller = authorise(ctx).await?;
        let organisation_id = caller.as_organisation()?.id;
        if to.0 <= from.0 {
            return Err(invalid("`to` must be after `from`."));
        }
        if to.0 - from.0 > Duration::days(MAX_WINDOW_DAYS) {
            return Err(invalid(format!(
                "The window may be at most {MAX_WINDOW_DAYS} days long."
            )));
        }
        let db = &api(ctx)?.db;
        let Some(tariff) = tariffs::tariff_by_code(db, tariff_code.trim())
            .await
            .map_err(internal)?
            .filter(|t| {
                t.organisation_id
                    .is_none_or(|owner| owner == organisation_id)
            })
        else {
            return Ok(Vec::new());
        };
        let rates = tariffs::rates_between(db, tariff.id, from.0, to.0)
            .await
            .map_err(internal)?;
        Ok(rates.into_iter().map(TariffRate::from).collect())
    }

    /// The tariff a property of the account is on now, if any. For the account's user or organisation
    /// (KT-CT-1111 otherwise, also for a property of another account).
    async fn property_tariff(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        property_id: ID,
    ) -> ApiResult<Option<PropertyTariff>> {
        let caller = authorise(ctx).await?;
        let api = api(ctx)?;
        let account = account_for(api, &caller, &account_number, ErrorCode::Unauthorized).await?;
        let refused = || {
            KrakenError::with_message(
                ErrorCode::Unauthorized,
                format!(
                    "You are not allowed to access the property {:?}.",
                    property_id.0
                ),
            )
        };
        let id: i64 = property_id.0.trim().parse().map_err(|_| refused())?;
        let property = accounts::property_by_id(&api.db, id)
            .await
            .map_err(internal)?
            .filter(|p| p.account_id == account.id)
            .ok_or_else(refused)?;
        let current = tariffs::tariff_of_property(&api.db, property.id, api.clock.now())
            .await
            .map_err(internal)?;
        Ok(current.map(|c| PropertyTariff {
            tariff: RateTableType(c.tariff),
            valid_from: DateTime(c.valid_from),
        }))
    }
}

#[derive(Default)]
pub struct TariffsMutation;

#[Object]
impl TariffsMutation {
    /// Imports unit rates for a tariff, creating the tariff if the code is new. The rates must be one
    /// slot long each, on slot boundaries and not overlap; stored rates that overlap the imported span
    /// are replaced, all in one transaction. Organisations only.
    async fn import_tariff_rates(
        &self,
        ctx: &Context<'_>,
        input: ImportTariffRatesInput,
    ) -> ApiResult<ImportTariffRates> {
        let caller = authorise(ctx).await?;
        let organisation_id = caller.as_organisation()?.id;
        let api = api(ctx)?;
        if input.rates.is_empty() {
            return Err(invalid("Give at least one rate."));
        }
        if input.rates.len() > MAX_RATES {
            return Err(invalid(format!(
                "An import may carry at most {MAX_RATES} rates."
            )));
        }
        let code = input.tariff_code.trim();
        let tariff = match tariffs::tariff_by_code(&api.db, code)
            .await
            .map_err(internal)?
        {
            Some(stored) => stored.tariff(),
            None => {
                let slot_minutes = match input.slot_minutes {
                    None => 30,
                    Some(m) => {
                        u32::try_from(m).map_err(|_| invalid("`slotMinutes` must be 30 or 15."))?
                    }
                };
                let tariff = Tariff {
                    code: code.to_owned(),
                    name: input
                        .name
                        .as_deref()
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .unwrap_or(code)
                        .to_owned(),
                    currency: "GBP".into(),
                    time_zone: input
                        .time_zone
                        .as_deref()
                        .map(str::trim)
                        .unwrap_or("Europe/London")
                        .to_owned(),
                    slot_minutes,
                };
                tariff.validate().map_err(invalid)?;
                tariff
            }
        };
        let rates = input
            .rates
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Ok(Rate {
                    valid_from: r.valid_from.0,
                    valid_to: r.valid_to.0,
                    import_minor_per_kwh: micros(r.unit_rate, "unitRate", i)?,
                    export_minor_per_kwh: r
                        .export_rate
                        .map(|v| micros(v, "exportRate", i))
                        .transpose()?,
                    carbon_g_per_kwh: r
                        .carbon_intensity
                        .map(|v| micros(v, "carbonIntensity", i))
                        .transpose()?,
                })
            })
            .collect::<ApiResult<Vec<Rate>>>()?;
        tariff::validate_rates(tariff.slot_minutes, &rates)
            .map_err(|e| invalid(format!("rates[{}]: {}", e.index, e.reason)))?;
        let done = match tariffs::import_rates(
            &api.db,
            &tariff,
            Some(organisation_id),
            &rates,
            api.clock.now(),
        )
        .await
        {
            Ok(done) => done,
            Err(resiflex_store::StoreError::Conflict) => {
                return Err(KrakenError::with_message(
                    ErrorCode::Unauthorized,
                    format!("The tariff {code:?} belongs to someone else; choose another code."),
                ));
            }
            Err(err) => return Err(internal(err)),
        };
        Ok(ImportTariffRates {
            tariff: RateTableType(done.tariff),
            imported_count: i32::try_from(done.imported).unwrap_or(i32::MAX),
        })
    }

    /// Puts every property of one of the organisation's accounts on a tariff, from now. Organisations
    /// only; another organisation's account gets KT-CT-1111.
    async fn assign_tariff(
        &self,
        ctx: &Context<'_>,
        input: AssignTariffInput,
    ) -> ApiResult<AssignTariff> {
        let caller = authorise(ctx).await?;
        caller.as_organisation()?;
        let api = api(ctx)?;
        let account =
            account_for(api, &caller, &input.account_number, ErrorCode::Unauthorized).await?;
        let code = input.tariff_code.trim();
        let organisation_id = caller.as_organisation()?.id;
        let tariff = tariffs::tariff_by_code(&api.db, code)
            .await
            .map_err(internal)?
            .filter(|t| {
                t.organisation_id
                    .is_none_or(|owner| owner == organisation_id)
            })
            .ok_or_else(|| invalid(format!("There is no tariff {code:?}.")))?;
        let now = api.clock.now();
        let count = tariffs::assign_tariff_to_account(&api.db, account.id, tariff.id, now, now)
            .await
            .map_err(internal)?;
        Ok(AssignTariff {
            account_number: account.number,
            tariff: RateTableType(tariff),
            property_count: i32::try_from(count).unwrap_or(i32::MAX),
        })
    }
}
