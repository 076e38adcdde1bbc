//! What one billing period of one account comes to: each agreement's consumption (or export)
//! priced from its readings, each agreement's standing charge, and the SmartFlex reward.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use resiflex_domain::billing::{BillingPeriod, amounts_from_nano, flex_reward};
use resiflex_domain::calendar::Granularity;
use resiflex_domain::money::{Amounts, TransactionKind, TransactionReason};
use resiflex_domain::product::{Direction, Fuel};
use resiflex_domain::reading::{ReadingDirection, ReadingQuality};
use resiflex_energy::EnergyError;
use resiflex_energy::readings::measurements::{
    Filter, Frequency, PreloadedDays, QualityFilter, Window, measurements_of,
};
use resiflex_energy::readings::pricing::{PriceCache, Pricing};
use resiflex_energy::supply::{Supply, supply_of_property};
use resiflex_store::Db;
use resiflex_store::accounts::{self, Account};
use resiflex_store::billing as store;
use resiflex_store::supply::StoredAgreement;

use crate::MoneyError;

/// Which part of an agreement's period a charge is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Energy taken (a charge) or exported (a credit), priced from readings.
    Energy,
    /// The standing charge over the days of the period.
    Standing,
    /// The SmartFlex reward for the period.
    Flex,
}

impl Part {
    fn code(self) -> &'static str {
        match self {
            Part::Energy => "energy",
            Part::Standing => "standing",
            Part::Flex => "flex",
        }
    }
}

/// One amount a period comes to, before it is posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodCharge {
    pub agreement_id: Option<i64>,
    pub part: Part,
    pub kind: TransactionKind,
    pub reason: TransactionReason,
    pub amounts: Amounts,
    /// Thousandths of a kWh (consumption, export, or flexed energy).
    pub consumption_milli: Option<i64>,
    /// Whether any reading behind it was an estimate.
    pub estimated: bool,
    pub title: String,
}

impl PeriodCharge {
    /// What `billed_periods` calls it.
    pub fn subject(&self) -> String {
        match self.agreement_id {
            Some(id) => format!("agreement:{id}:{}", self.part.code()),
            None => self.part.code().to_owned(),
        }
    }

    /// The idempotency key of revision `revision` of this charge in `period`.
    pub fn key(&self, period: BillingPeriod, revision: i32) -> String {
        format!(
            "bill:{}:{}:r{revision}",
            self.subject(),
            period.from.format("%Y%m%d")
        )
    }
}

fn energy_error(err: EnergyError) -> MoneyError {
    match err {
        EnergyError::Store(err) => MoneyError::Store(err),
        other => MoneyError::State(other.to_string()),
    }
}

/// The time zone of a property, UTC when it does not parse.
pub fn zone_of(time_zone: &str) -> Tz {
    time_zone.parse().unwrap_or(Tz::UTC)
}

/// Where an agreement is: its property, zone and supply.
struct Place<'a> {
    property_id: i64,
    zone: Tz,
    supply: &'a Supply,
}

fn fuel_name(fuel: Fuel) -> &'static str {
    match fuel {
        Fuel::Electricity => "Electricity",
        Fuel::Gas => "Gas",
    }
}

fn period_text(period: BillingPeriod) -> String {
    format!("{} to {}", period.from, period.to)
}

/// The part of `[from, to)` the agreement is in force, if any.
fn overlap(
    agreement: &StoredAgreement,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let a = agreement.period.from.max(from);
    let b = agreement.period.to.map_or(to, |end| end.min(to));
    (b > a).then_some((a, b))
}

/// The energy part of an agreement over `[from, to)`: consumption on an import point, export on
/// an export point (a credit, when the agreement prices export).
async fn energy_charge(
    db: &Db,
    place: &Place<'_>,
    agreement: &StoredAgreement,
    period: BillingPeriod,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    prices: &mut PriceCache,
    days: Option<&PreloadedDays>,
) -> Result<Option<PeriodCharge>, MoneyError> {
    let point = &place.supply.point.point;
    let export = point.direction == Direction::Export;
    if export && point.fuel == Fuel::Gas {
        return Ok(None);
    }
    let filter = Filter {
        fuel: point.fuel,
        direction: if export {
            ReadingDirection::Generation
        } else {
            ReadingDirection::Consumption
        },
        frequency: Frequency::Buckets(Granularity::Day),
        quality: QualityFilter::Combined,
        market_supply_point_id: Some(point.id.as_str().to_owned()),
        device_id: None,
        register_id: None,
        meter_serial: None,
    };
    let window = Window {
        from,
        to,
        zone: place.zone,
    };
    let found = measurements_of(
        db,
        place.property_id,
        vec![place.supply.clone()],
        &filter,
        &window,
        Some(prices),
        days,
    )
    .await
    .map_err(energy_error)?;
    let (mut exc, mut inc, mut kwh_milli, mut estimated) = (0i128, 0i128, 0i64, false);
    for m in &found {
        estimated |= m.quality == ReadingQuality::Estimate;
        if let Some(cost) = m.statistics.as_ref().and_then(|s| s.energy) {
            exc += cost.exc_vat_nano;
            inc += cost.inc_vat_nano;
            kwh_milli += cost.kwh_milli;
        }
    }
    if found.is_empty() || (kwh_milli == 0 && exc == 0) {
        return Ok(None);
    }
    let (kind, reason, what) = match (point.fuel, export) {
        (Fuel::Electricity, true) => (
            TransactionKind::Credit,
            TransactionReason::ElectricityExport,
            "Electricity export",
        ),
        (Fuel::Electricity, false) => (
            TransactionKind::Charge,
            TransactionReason::ElectricityConsumption,
            "Electricity consumption",
        ),
        (Fuel::Gas, _) => (
            TransactionKind::Charge,
            TransactionReason::GasConsumption,
            "Gas consumption",
        ),
    };
    let note = if estimated { " (estimated)" } else { "" };
    Ok(Some(PeriodCharge {
        agreement_id: Some(agreement.id),
        part: Part::Energy,
        kind,
        reason,
        amounts: amounts_from_nano(exc, inc),
        consumption_milli: Some(kwh_milli),
        estimated,
        title: format!("{what}, {}{note}", period_text(period)),
    }))
}

/// The standing charge of an agreement over `[from, to)`.
async fn standing_charge(
    db: &Db,
    place: &Place<'_>,
    agreement: &StoredAgreement,
    period: BillingPeriod,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    prices: &mut PriceCache,
) -> Result<Option<PeriodCharge>, MoneyError> {
    let point = &place.supply.point.point;
    if point.direction == Direction::Export {
        return Ok(None);
    }
    let pricing = Pricing::load_cached(
        db,
        std::slice::from_ref(agreement),
        from,
        to,
        place.zone,
        prices,
    )
    .await
    .map_err(energy_error)?;
    let Some((exc, inc)) = pricing.standing(from, to) else {
        return Ok(None);
    };
    if exc == 0 && inc == 0 {
        return Ok(None);
    }
    let reason = match point.fuel {
        Fuel::Electricity => TransactionReason::ElectricityStandingCharge,
        Fuel::Gas => TransactionReason::GasStandingCharge,
    };
    Ok(Some(PeriodCharge {
        agreement_id: Some(agreement.id),
        part: Part::Standing,
        kind: TransactionKind::Charge,
        reason,
        amounts: amounts_from_nano(exc, inc),
        consumption_milli: None,
        estimated: false,
        title: format!(
            "{} standing charge, {}",
            fuel_name(point.fuel),
            period_text(period)
        ),
    }))
}

/// A meter point of one of an account's properties: the property, its time zone and the supply.
pub type PlacedSupply = (i64, Tz, Supply);

/// Every agreement of the account's properties, with where it is.
pub async fn supplies_of(db: &Db, account: &Account) -> Result<Vec<PlacedSupply>, MoneyError> {
    let mut out = Vec::new();
    for property in accounts::properties_of_account(db, account.id).await? {
        let zone = zone_of(&property.time_zone);
        for supply in supply_of_property(db, property.id)
            .await
            .map_err(energy_error)?
        {
            out.push((property.id, zone, supply));
        }
    }
    Ok(out)
}

/// What the account's agreements (its `supplies`) come to in `period` (energy and standing
/// charges), and the SmartFlex reward at `flex_micros_per_kwh`; tariff prices come from `prices`
/// where it holds them.
pub async fn period_charges(
    db: &Db,
    account: &Account,
    period: BillingPeriod,
    (account_zone, flex_micros_per_kwh): (Tz, i64),
    supplies: &[PlacedSupply],
    prices: &mut PriceCache,
    days: Option<&PreloadedDays>,
) -> Result<Vec<PeriodCharge>, MoneyError> {
    let mut charges = Vec::new();
    for (property_id, zone, supply) in supplies {
        let (property_id, zone) = (*property_id, *zone);
        let Some((from, to)) = period.instants(zone) else {
            continue;
        };
        let place = Place {
            property_id,
            zone,
            supply,
        };
        for agreement in &supply.agreements {
            let Some(span) = overlap(agreement, from, to) else {
                continue;
            };
            charges.extend(energy_charge(db, &place, agreement, period, span, prices, days).await?);
            charges.extend(standing_charge(db, &place, agreement, period, span, prices).await?);
        }
    }
    if flex_micros_per_kwh > 0
        && let Some((from, to)) = period.instants(account_zone)
    {
        let wh = store::flexed_energy_wh(db, account.id, from, to).await?;
        let reward = flex_reward(wh, flex_micros_per_kwh);
        if reward > 0 {
            charges.push(PeriodCharge {
                agreement_id: None,
                part: Part::Flex,
                kind: TransactionKind::Credit,
                reason: TransactionReason::FlexReward,
                amounts: Amounts::untaxed(reward),
                consumption_milli: Some(wh),
                estimated: false,
                title: format!("SmartFlex reward, {}", period_text(period)),
            });
        }
    }
    Ok(charges)
}

/// The energy part of one agreement in `period` as its readings stand now (for re-billing an
/// estimate); `None` when the agreement is gone or has no priced readings any more.
pub async fn agreement_energy(
    db: &Db,
    account: &Account,
    agreement_id: i64,
    period: BillingPeriod,
) -> Result<Option<PeriodCharge>, MoneyError> {
    for (property_id, zone, supply) in supplies_of(db, account).await? {
        let Some(agreement) = supply.agreements.iter().find(|a| a.id == agreement_id) else {
            continue;
        };
        let Some((from, to)) = period.instants(zone) else {
            return Ok(None);
        };
        let Some(span) = overlap(agreement, from, to) else {
            return Ok(None);
        };
        let place = Place {
            property_id,
            zone,
            supply: &supply,
        };
        let mut prices = PriceCache::default();
        return energy_charge(db, &place, agreement, period, span, &mut prices, None).await;
    }
    Ok(None)
}
