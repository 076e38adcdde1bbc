//! What readings cost: the unit rate and standing charge in force at each instant under a meter
//! point's agreements. Amounts are exact, in billionths of a minor unit (a quantity in
//! thousandths of a kWh times a price in millionths of a minor unit per kWh).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use resiflex_domain::calendar::local_midnight;
use resiflex_domain::product::{Charge, ChargeKind, TariffKind, Vat, day_night_rate};
use resiflex_domain::reading::ReadingDirection;
use resiflex_domain::supply::Period;
use resiflex_domain::tariff::{Micros, Rate};
use resiflex_store::Db;
use resiflex_store::products as product_store;
use resiflex_store::supply::StoredAgreement;
use resiflex_store::tariffs as tariff_store;

use crate::EnergyError;

/// Gas meters count m³; their energy is the volume times the volume correction (1.02264) and
/// the calorific value (39.2 MJ/m³), over 3.6 MJ per kWh.
pub const GAS_KWH_PER_M3_NUMERATOR: i128 = 102_264 * 392;
pub const GAS_KWH_PER_M3_DENOMINATOR: i128 = 100_000 * 36;

/// Thousandths of a m³ as thousandths of a kWh, rounded to the nearest.
pub fn gas_kwh_milli(litres: i64) -> i64 {
    let scaled = i128::from(litres) * GAS_KWH_PER_M3_NUMERATOR;
    i64::try_from((scaled + GAS_KWH_PER_M3_DENOMINATOR / 2) / GAS_KWH_PER_M3_DENOMINATOR)
        .unwrap_or(i64::MAX)
}

/// The price of a kWh at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitPrice {
    pub exc_vat: Micros,
    pub inc_vat: Micros,
    /// Which rate it is (standard, day or night); `None` for a dynamic tariff's rate.
    pub band: Option<ChargeKind>,
    /// gCO2 per kWh, where the rate table has it.
    pub carbon_g_per_kwh: Option<Micros>,
}

/// One agreement with the prices it needs over the window.
#[derive(Debug)]
struct Span {
    period: Period,
    kind: TariffKind,
    vat: Vat,
    charges: Arc<Vec<Charge>>,
    rates: Arc<Vec<Rate>>,
}

/// A tariff's prices over one window, as loaded once.
#[derive(Debug)]
struct TariffPrices {
    kind: TariffKind,
    vat: Vat,
    charges: Arc<Vec<Charge>>,
    rates: Arc<Vec<Rate>>,
}

/// Tariff prices already loaded, by tariff and window: a billing run pricing a hundred thousand
/// accounts on a handful of tariffs loads each tariff's month once.
#[derive(Debug, Default)]
pub struct PriceCache {
    loaded: HashMap<PricesKey, Option<Arc<TariffPrices>>>,
}

/// A product tariff and the window its prices were loaded for.
type PricesKey = (i64, DateTime<Utc>, DateTime<Utc>);

impl PriceCache {
    async fn prices(
        &mut self,
        db: &Db,
        product_tariff_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Option<Arc<TariffPrices>>, EnergyError> {
        if let Some(found) = self.loaded.get(&(product_tariff_id, from, to)) {
            return Ok(found.clone());
        }
        let prices = match product_store::product_tariff(db, product_tariff_id).await? {
            None => None,
            Some(tariff) => {
                let charges =
                    product_store::charges_between(db, product_tariff_id, from, to).await?;
                let rates = match tariff.rates_tariff_id {
                    Some(id) if tariff.tariff.kind == TariffKind::Dynamic => {
                        tariff_store::rates_between(db, id, from, to).await?
                    }
                    _ => Vec::new(),
                };
                Some(Arc::new(TariffPrices {
                    kind: tariff.tariff.kind,
                    vat: tariff.tariff.vat,
                    charges: Arc::new(charges),
                    rates: Arc::new(rates),
                }))
            }
        };
        // A long run must not grow without bound: windows differ little, so a full cache is
        // simply started again.
        if self.loaded.len() >= 4_096 {
            self.loaded.clear();
        }
        self.loaded
            .insert((product_tariff_id, from, to), prices.clone());
        Ok(prices)
    }
}

/// A meter point's prices over a window.
#[derive(Debug)]
pub struct Pricing {
    spans: Vec<Span>,
    zone: Tz,
}

impl Pricing {
    /// Loads the prices of `agreements` that apply in `[from, to)`.
    pub async fn load(
        db: &Db,
        agreements: &[StoredAgreement],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        zone: Tz,
    ) -> Result<Pricing, EnergyError> {
        Self::load_cached(db, agreements, from, to, zone, &mut PriceCache::default()).await
    }

    /// [`Pricing::load`], taking each tariff's prices from `cache` when they were loaded before.
    pub async fn load_cached(
        db: &Db,
        agreements: &[StoredAgreement],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        zone: Tz,
        cache: &mut PriceCache,
    ) -> Result<Pricing, EnergyError> {
        let mut spans = Vec::new();
        for agreement in agreements {
            let window = Period { from, to: Some(to) };
            if !agreement.period.overlaps(&window) {
                continue;
            }
            let Some(prices) = cache
                .prices(db, agreement.product_tariff_id, from, to)
                .await?
            else {
                continue;
            };
            spans.push(Span {
                period: agreement.period,
                kind: prices.kind,
                vat: prices.vat,
                charges: Arc::clone(&prices.charges),
                rates: Arc::clone(&prices.rates),
            });
        }
        Ok(Pricing { spans, zone })
    }

    fn span(&self, at: DateTime<Utc>) -> Option<&Span> {
        self.spans.iter().find(|span| span.period.contains(at))
    }

    /// The unit price of energy flowing in `direction` at `at`: for generation, what an export
    /// tariff pays (a dynamic rate table's export rate where it has one).
    pub fn unit_price(&self, at: DateTime<Utc>, direction: ReadingDirection) -> Option<UnitPrice> {
        let span = self.span(at)?;
        let (exc_vat, band, carbon) = match span.kind {
            TariffKind::Dynamic => {
                let index = span.rates.partition_point(|rate| rate.valid_to <= at);
                let rate = span.rates.get(index).filter(|rate| rate.valid_from <= at)?;
                let price = match direction {
                    ReadingDirection::Generation => rate
                        .export_minor_per_kwh
                        .unwrap_or(rate.import_minor_per_kwh),
                    ReadingDirection::Consumption => rate.import_minor_per_kwh,
                };
                (price, None, rate.carbon_g_per_kwh)
            }
            TariffKind::SingleRate => (
                charge_at(&span.charges, ChargeKind::Standard, at)?,
                Some(ChargeKind::Standard),
                None,
            ),
            TariffKind::DayNight => {
                let band = day_night_rate(at.with_timezone(&self.zone).time());
                (charge_at(&span.charges, band, at)?, Some(band), None)
            }
        };
        Some(UnitPrice {
            exc_vat,
            inc_vat: span.vat.include(exc_vat),
            band,
            carbon_g_per_kwh: carbon,
        })
    }

    /// The standing charge accrued over `[from, to)`, before and with VAT, in billionths of a
    /// minor unit: each local day's charge in proportion to the part of the day covered, so a
    /// whole day is one charge also when it is 23 or 25 hours long.
    pub fn standing(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<(i128, i128)> {
        let mut total: Option<(i128, i128)> = None;
        let mut date = from.with_timezone(&self.zone).date_naive();
        loop {
            let start = local_midnight(date, self.zone)?;
            let next = date.succ_opt()?;
            let end = local_midnight(next, self.zone)?;
            if start >= to {
                break;
            }
            let (a, b) = (start.max(from), end.min(to));
            if b > a {
                let day = (end - start).num_seconds().max(1);
                let mut at = a;
                // Agreements can change within the day: charge each piece at its own price.
                while at < b {
                    let piece_end = self
                        .spans
                        .iter()
                        .filter_map(|s| s.period.to)
                        .chain(self.spans.iter().map(|s| s.period.from))
                        .filter(|t| *t > at && *t < b)
                        .min()
                        .unwrap_or(b);
                    if let Some(span) = self.span(at)
                        && let Some(charge) = charge_at(&span.charges, ChargeKind::Standing, at)
                    {
                        let seconds = i128::from((piece_end - at).num_seconds());
                        let nano = |micros: Micros| {
                            i128::from(micros.0) * 1_000 * seconds / i128::from(day)
                        };
                        let entry = total.get_or_insert((0, 0));
                        entry.0 += nano(charge);
                        entry.1 += nano(span.vat.include(charge));
                    }
                    at = piece_end;
                }
            }
            date = next;
            if end >= to {
                break;
            }
        }
        total
    }
}

/// A price over a stretch of time, before and with VAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PricePeriod {
    pub valid_from: DateTime<Utc>,
    pub valid_to: DateTime<Utc>,
    pub exc_vat: Micros,
    pub inc_vat: Micros,
}

impl Pricing {
    /// The unit rates (or, with `standing`, the standing charges) that apply over `[from, to)`,
    /// in time order: one period per price, cut where a charge, a rate, an agreement or a
    /// day/night band changes; stretches without a price are left out.
    pub fn periods(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        standing: bool,
    ) -> Vec<PricePeriod> {
        let mut cuts: Vec<DateTime<Utc>> = vec![from, to];
        let inside = |t: DateTime<Utc>| t > from && t < to;
        for span in &self.spans {
            cuts.push(span.period.from);
            cuts.extend(span.period.to);
            for charge in span.charges.iter() {
                cuts.push(charge.valid_from);
                cuts.extend(charge.valid_to);
            }
            if !standing {
                for rate in span.rates.iter() {
                    cuts.push(rate.valid_from);
                    cuts.push(rate.valid_to);
                }
                if span.kind == TariffKind::DayNight {
                    let mut date = from.with_timezone(&self.zone).date_naive();
                    let last = to.with_timezone(&self.zone).date_naive();
                    while date <= last {
                        for (h, m) in [
                            resiflex_domain::product::NIGHT_START,
                            resiflex_domain::product::NIGHT_END,
                        ] {
                            if let Some(local) = date.and_hms_opt(h, m, 0) {
                                use chrono::TimeZone;
                                if let Some(t) = self.zone.from_local_datetime(&local).earliest() {
                                    cuts.push(t.with_timezone(&Utc));
                                }
                            }
                        }
                        match date.succ_opt() {
                            Some(next) => date = next,
                            None => break,
                        }
                    }
                }
            }
        }
        cuts.retain(|t| *t == from || *t == to || inside(*t));
        cuts.sort();
        cuts.dedup();
        let mut out: Vec<PricePeriod> = Vec::new();
        for pair in cuts.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let Some(span) = self.span(a) else {
                continue;
            };
            let price = if standing {
                charge_at(&span.charges, ChargeKind::Standing, a).map(|c| (c, span.vat.include(c)))
            } else {
                self.unit_price(a, ReadingDirection::Consumption)
                    .map(|p| (p.exc_vat, p.inc_vat))
            };
            let Some((exc_vat, inc_vat)) = price else {
                continue;
            };
            let dynamic = span.kind == TariffKind::Dynamic && !standing;
            match out.last_mut() {
                Some(last)
                    if !dynamic
                        && last.valid_to == a
                        && last.exc_vat == exc_vat
                        && last.inc_vat == inc_vat =>
                {
                    last.valid_to = b;
                }
                _ => out.push(PricePeriod {
                    valid_from: a,
                    valid_to: b,
                    exc_vat,
                    inc_vat,
                }),
            }
        }
        out
    }
}

fn charge_at(charges: &[Charge], kind: ChargeKind, at: DateTime<Utc>) -> Option<Micros> {
    charges
        .iter()
        .find(|c| c.kind == kind && c.valid_from <= at && c.valid_to.is_none_or(|to| to > at))
        .map(|c| c.value_exc_vat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gas_volume_converts_to_energy() {
        // 1 m³ is 11.1354... kWh.
        assert_eq!(gas_kwh_milli(1_000), 11_135);
        assert_eq!(gas_kwh_milli(0), 0);
    }
}
