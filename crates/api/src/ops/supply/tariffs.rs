//! The tariff an agreement puts a meter point on, as supplier apps read it: the `TariffType`
//! interface (`... on TariffType { displayName fullName productCode tariffCode standingCharge }`)
//! implemented by `StandardTariff`, `DayNightTariff`, `HalfHourlyTariff` and `GasTariffType`.
//! Prices are `Float` minor units (pence): unit rates per kWh and standing charges per day, with
//! VAT, and their `preVat...` twins without.

use async_graphql::{Context, ID, Interface, Object, SimpleObject};
use resiflex_domain::product::{Fuel, TariffKind, Vat, as_number};
use resiflex_domain::tariff::Micros;
use resiflex_energy::products::{self as energy, TariffAt};
use resiflex_store::products::StoredProduct;

use crate::errors::{ApiResult, KrakenError};
use crate::ops::api;
use crate::scalars::DateTime;

/// The most half-hourly rates a `HalfHourlyTariff` lists (two days).
const MAX_UNIT_RATES: i64 = 96;

/// What every tariff object shares.
#[derive(Clone)]
pub struct TariffCommon {
    pub product: StoredProduct,
    pub at: TariffAt,
}

impl TariffCommon {
    fn vat(&self) -> Vat {
        self.at.tariff.tariff.vat
    }

    fn with_vat(&self, value: Option<Micros>) -> Option<f64> {
        value.map(|v| as_number(self.vat().include(v)))
    }

    fn before_vat(value: Option<Micros>) -> Option<f64> {
        value.map(as_number)
    }
}

/// An `#[Object]` for a tariff kind: the fields every tariff has, then its own.
macro_rules! tariff_object {
    ($ty:ident, $name:literal, { $($own:tt)* }) => {
        #[Object(name = $name)]
        impl $ty {
            async fn id(&self) -> ID {
                ID(self.0.at.tariff.id.to_string())
            }
            /// The product's short name.
            async fn display_name(&self) -> &str {
                &self.0.product.product.display_name
            }
            async fn full_name(&self) -> &str {
                &self.0.product.product.full_name
            }
            async fn description(&self) -> &str {
                &self.0.product.product.description
            }
            async fn product_code(&self) -> &str {
                self.0.product.product.code.as_str()
            }
            /// `E-1R-<product>-<region>`.
            async fn tariff_code(&self) -> String {
                self.0.at.tariff.tariff.code.to_string()
            }
            /// Pence per day, VAT included.
            async fn standing_charge(&self) -> Option<f64> {
                self.0.with_vat(self.0.at.standing)
            }
            async fn pre_vat_standing_charge(&self) -> Option<f64> {
                TariffCommon::before_vat(self.0.at.standing)
            }
            /// Whether the tariff pays for exported energy.
            async fn is_export(&self) -> bool {
                self.0.product.product.direction == resiflex_domain::product::Direction::Export
            }
            $($own)*
        }
    };
}

/// One rate of a tariff.
pub struct StandardTariff(pub TariffCommon);
/// A day rate and a night rate.
pub struct DayNightTariff(pub TariffCommon);
/// A rate per half-hour.
pub struct HalfHourlyTariff(pub TariffCommon);
/// A gas tariff.
pub struct GasTariffType(pub TariffCommon);

/// A tariff of any kind.
// Several fields share a type, which clippy takes for a repeated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface)]
#[graphql(
    name = "TariffType",
    field(name = "id", ty = "ID"),
    field(name = "display_name", ty = "&str"),
    field(name = "full_name", ty = "&str"),
    field(name = "description", ty = "&str"),
    field(name = "product_code", ty = "&str"),
    field(name = "tariff_code", ty = "String"),
    field(name = "standing_charge", ty = "Option<f64>"),
    field(name = "pre_vat_standing_charge", ty = "Option<f64>"),
    field(name = "is_export", ty = "bool")
)]
pub enum TariffInterface {
    StandardTariff(StandardTariff),
    DayNightTariff(DayNightTariff),
    HalfHourlyTariff(HalfHourlyTariff),
    GasTariffType(GasTariffType),
}

impl TariffInterface {
    pub fn new(common: TariffCommon) -> TariffInterface {
        let tariff = &common.at.tariff.tariff;
        match (tariff.code.fuel, tariff.kind) {
            (Fuel::Gas, _) => TariffInterface::GasTariffType(GasTariffType(common)),
            (_, TariffKind::DayNight) => TariffInterface::DayNightTariff(DayNightTariff(common)),
            (_, TariffKind::Dynamic) => TariffInterface::HalfHourlyTariff(HalfHourlyTariff(common)),
            (_, TariffKind::SingleRate) => TariffInterface::StandardTariff(StandardTariff(common)),
        }
    }
}

/// The tariff `product_tariff_id` as it is now.
pub async fn tariff_now(ctx: &Context<'_>, product_tariff_id: i64) -> ApiResult<TariffCommon> {
    let api = api(ctx)?;
    let (product, at) = energy::product_tariff_at(&api.db, product_tariff_id, api.clock.now())
        .await
        .map_err(|e| KrakenError::internal("tariffs", &e))?;
    Ok(TariffCommon { product, at })
}

tariff_object!(StandardTariff, "StandardTariff", {
    /// Pence per kWh, VAT included.
    async fn unit_rate(&self) -> Option<f64> {
        self.0.with_vat(self.0.at.unit)
    }
    async fn pre_vat_unit_rate(&self) -> Option<f64> {
        TariffCommon::before_vat(self.0.at.unit)
    }
});

tariff_object!(GasTariffType, "GasTariffType", {
    /// Pence per kWh, VAT included.
    async fn unit_rate(&self) -> Option<f64> {
        self.0.with_vat(self.0.at.unit)
    }
    async fn pre_vat_unit_rate(&self) -> Option<f64> {
        TariffCommon::before_vat(self.0.at.unit)
    }
});

tariff_object!(DayNightTariff, "DayNightTariff", {
    /// Pence per kWh, VAT included.
    async fn day_rate(&self) -> Option<f64> {
        self.0.with_vat(self.0.at.unit)
    }
    async fn night_rate(&self) -> Option<f64> {
        self.0.with_vat(self.0.at.night)
    }
    async fn pre_vat_day_rate(&self) -> Option<f64> {
        TariffCommon::before_vat(self.0.at.unit)
    }
    async fn pre_vat_night_rate(&self) -> Option<f64> {
        TariffCommon::before_vat(self.0.at.night)
    }
});

/// One half-hour's price of a `HalfHourlyTariff`.
#[derive(SimpleObject)]
pub struct UnitRate {
    pub valid_from: DateTime,
    pub valid_to: DateTime,
    /// Pence per kWh, VAT included.
    pub value: f64,
    pub pre_vat_value: f64,
}

tariff_object!(HalfHourlyTariff, "HalfHourlyTariff", {
    /// The rates from the current half-hour on, as far as they are known (at most two days).
    async fn unit_rates(&self, ctx: &Context<'_>) -> ApiResult<Vec<UnitRate>> {
        let api = api(ctx)?;
        let vat = self.0.vat();
        let rates =
            energy::dynamic_rates(&api.db, &self.0.at.tariff, api.clock.now(), MAX_UNIT_RATES)
                .await
                .map_err(|e| KrakenError::internal("tariffs", &e))?;
        Ok(rates
            .into_iter()
            .map(|r| UnitRate {
                valid_from: DateTime(r.valid_from),
                valid_to: DateTime(r.valid_to),
                value: as_number(vat.include(r.import_minor_per_kwh)),
                pre_vat_value: as_number(r.import_minor_per_kwh),
            })
            .collect())
    }
});
