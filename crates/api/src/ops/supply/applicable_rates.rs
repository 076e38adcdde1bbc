//! `applicableRates` and `applicableStandingCharges`: the unit rates (pence per kWh) and standing
//! charges (pence per day) that apply to one of the account's meter points over a window, with
//! VAT, as battery planners page them when the REST rates are missing. `first` or `last` is
//! required (KT-CT-1201).

use async_graphql::{Context, Object, SimpleObject};
use chrono_tz::Tz;
use resiflex_domain::product::as_number;
use resiflex_energy::EnergyError;
use resiflex_energy::readings::applicable_prices;
use resiflex_energy::readings::pricing::PricePeriod;
use resiflex_store::accounts;

use crate::auth::access::account_for;
use crate::auth::authorise;
use crate::connection::{KrakenConnection, PageArgs, connection};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::api;
use crate::ops::measurements::DEFAULT_TIME_ZONE;
use crate::scalars::DateTime;

/// A price over a stretch of time.
#[derive(SimpleObject, Debug, Clone)]
pub struct ApplicableRate {
    /// Minor units with VAT: per kWh for a unit rate, per day for a standing charge.
    pub value: f64,
    /// The same before VAT.
    pub pre_vat_value: f64,
    pub valid_from: DateTime,
    pub valid_to: DateTime,
}

#[derive(Default)]
pub struct SupplyQuery;

#[allow(clippy::too_many_arguments)]
async fn prices(
    ctx: &Context<'_>,
    account_number: String,
    mpxn: String,
    start_at: DateTime,
    end_at: DateTime,
    page: PageArgs,
    standing: bool,
) -> ApiResult<KrakenConnection<ApplicableRate>> {
    if page.first.is_none() && page.last.is_none() {
        return Err(KrakenError::new(ErrorCode::PaginationRequired));
    }
    let caller = authorise(ctx).await?;
    let api = api(ctx)?;
    let account = account_for(
        api,
        &caller,
        &account_number,
        ErrorCode::AccountUnauthorized,
    )
    .await?;
    let properties = accounts::properties_of_account(&api.db, account.id)
        .await
        .map_err(|e| KrakenError::internal("applicable rates", &e))?;
    let zone: Tz = properties
        .first()
        .map_or(DEFAULT_TIME_ZONE, |p| p.time_zone.as_str())
        .parse()
        .unwrap_or(chrono_tz::Europe::London);
    let ids: Vec<i64> = properties.iter().map(|p| p.id).collect();
    let periods = applicable_prices(
        &api.db,
        &ids,
        mpxn.trim(),
        start_at.0,
        end_at.0,
        zone,
        standing,
    )
    .await
    .map_err(|err| match err {
        EnergyError::Invalid(message) => {
            KrakenError::with_message(ErrorCode::InvalidInput, message)
        }
        EnergyError::NotFound | EnergyError::NotOwner => KrakenError::with_message(
            ErrorCode::InvalidInput,
            format!("The account has no meter point {mpxn:?}."),
        ),
        EnergyError::Store(err) => KrakenError::internal("applicable rates", &err),
    })?;
    let window = page.window(periods.len())?;
    let nodes = periods
        .iter()
        .skip(window.offset)
        .take(window.limit)
        .map(|p: &PricePeriod| ApplicableRate {
            value: as_number(p.inc_vat),
            pre_vat_value: as_number(p.exc_vat),
            valid_from: DateTime(p.valid_from),
            valid_to: DateTime(p.valid_to),
        })
        .collect();
    Ok(connection(window, periods.len(), nodes))
}

#[Object]
impl SupplyQuery {
    /// The unit rates of the meter point `mpxn` (an MPAN or MPRN of the account) over
    /// `[startAt, endAt)`, pence per kWh with VAT, in time order.
    #[allow(clippy::too_many_arguments)]
    async fn applicable_rates(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        mpxn: String,
        start_at: DateTime,
        end_at: DateTime,
        first: Option<i32>,
        last: Option<i32>,
        before: Option<String>,
        after: Option<String>,
    ) -> ApiResult<KrakenConnection<ApplicableRate>> {
        let page = PageArgs {
            first,
            last,
            before,
            after,
        };
        prices(ctx, account_number, mpxn, start_at, end_at, page, false).await
    }

    /// The standing charges of the meter point over `[startAt, endAt)`, pence per day with VAT.
    #[allow(clippy::too_many_arguments)]
    async fn applicable_standing_charges(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        mpxn: String,
        start_at: DateTime,
        end_at: DateTime,
        first: Option<i32>,
        last: Option<i32>,
        before: Option<String>,
        after: Option<String>,
    ) -> ApiResult<KrakenConnection<ApplicableRate>> {
        let page = PageArgs {
            first,
            last,
            before,
            after,
        };
        prices(ctx, account_number, mpxn, start_at, end_at, page, true).await
    }
}
