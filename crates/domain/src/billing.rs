//! Billing: how an account's billing periods fall, what triggers a billing run, how the amounts of
//! a charge are rounded from exact costs, and the rules of a statement's life.
//!
//! A billing period is a run of whole local days: it starts on the options' `period_start_day` of a
//! month (the month's last day when the month is shorter) and lasts one or three months times the
//! multiplier. Periods are cut from month 0 (January of year 0), so quarterly periods start in
//! January, April, July and October and every second month starts in odd months.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::calendar::local_midnight;
use crate::money::Amounts;

/// A billing rule was broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BillingRuleError(pub String);

named_enum!(BillingRuleError;
    /// How long a billing period is (the API's `AccountBillingOptionsPeriodLength`).
    PeriodLength {
        Monthly = "MONTHLY",
        Quarterly = "QUARTERLY",
    }
);

named_enum!(BillingRuleError;
    /// How often a billing trigger fires (`BillingTriggerFrequency`).
    TriggerFrequency {
        Annually = "ANNUALLY",
        Daily = "DAILY",
        Monthly = "MONTHLY",
    }
);

named_enum!(BillingRuleError;
    /// What a billing trigger does (`BillingTriggerOperationType`).
    TriggerOperation {
        ChargeTarget = "CHARGE_TARGET",
        ChargeTargetAndIssueInvoice = "CHARGE_TARGET_AND_ISSUE_INVOICE",
        ChargeTargetAndIssueStatement = "CHARGE_TARGET_AND_ISSUE_STATEMENT",
        IssueInvoiceForTarget = "ISSUE_INVOICE_FOR_TARGET",
        IssueStatementForTarget = "ISSUE_STATEMENT_FOR_TARGET",
    }
);

impl TriggerOperation {
    /// Whether the run posts the period's charges.
    pub fn charges(self) -> bool {
        matches!(
            self,
            TriggerOperation::ChargeTarget
                | TriggerOperation::ChargeTargetAndIssueInvoice
                | TriggerOperation::ChargeTargetAndIssueStatement
        )
    }

    /// Whether the run issues a statement for the period (invoices are issued as statements too:
    /// this platform keeps one kind of billing document).
    pub fn issues_statement(self) -> bool {
        !matches!(self, TriggerOperation::ChargeTarget)
    }
}

named_enum!(BillingRuleError;
    /// What a billing trigger acts on (`BillingTriggerTargetType`).
    TriggerTarget {
        Account = "ACCOUNT",
        ChargingLedger = "CHARGING_LEDGER",
        Portfolio = "PORTFOLIO",
    }
);

named_enum!(BillingRuleError;
    /// A statement is OPEN while it may still change and CLOSED once issued.
    StatementStatus {
        Open = "OPEN",
        Closed = "CLOSED",
    }
);

named_enum!(BillingRuleError;
    /// Whether charges of a statement were reversed after it closed.
    ReversalsAfterClose {
        All = "ALL",
        None = "NONE",
        NotClosed = "NOT_CLOSED",
        Some = "SOME",
    }
);

impl ReversalsAfterClose {
    /// The answer for a statement of `status` holding `charges` charges of which `reversed` were
    /// reversed after it closed.
    pub fn of(status: StatementStatus, charges: i64, reversed: i64) -> ReversalsAfterClose {
        match status {
            StatementStatus::Open => ReversalsAfterClose::NotClosed,
            StatementStatus::Closed if reversed <= 0 => ReversalsAfterClose::None,
            StatementStatus::Closed if reversed >= charges => ReversalsAfterClose::All,
            StatementStatus::Closed => ReversalsAfterClose::Some,
        }
    }
}

/// Days between a statement's issue and its payment due date.
pub const PAYMENT_DUE_DAYS: u64 = 14;

/// How an account is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillingOptions {
    /// 1 to 31; a shorter month starts its period on its last day.
    pub period_start_day: u32,
    pub period_length: PeriodLength,
    /// 1 to 12: with MONTHLY, 2 bills every two months.
    pub multiplier: u32,
    /// Billed on a fixed day of a regular cycle (always, on this platform's billing runs).
    pub is_fixed: bool,
}

impl Default for BillingOptions {
    fn default() -> BillingOptions {
        BillingOptions {
            period_start_day: 1,
            period_length: PeriodLength::Monthly,
            multiplier: 1,
            is_fixed: true,
        }
    }
}

/// A billing period: the local days `from ..= to` (so `to + 1` is the next period's start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BillingPeriod {
    pub from: NaiveDate,
    /// The last day, inclusive.
    pub to: NaiveDate,
}

impl BillingPeriod {
    /// The day after the last: the next period's first day.
    pub fn next_start(&self) -> NaiveDate {
        self.to.succ_opt().unwrap_or(self.to)
    }

    /// The period as instants: local midnight of its first day to local midnight after its last.
    pub fn instants(&self, zone: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        Some((
            local_midnight(self.from, zone)?,
            local_midnight(self.next_start(), zone)?,
        ))
    }
}

impl BillingOptions {
    /// Checks the day and multiplier.
    pub fn check(self) -> Result<BillingOptions, BillingRuleError> {
        if !(1..=31).contains(&self.period_start_day) {
            return Err(BillingRuleError(
                "the period start day is 1 to 31".to_owned(),
            ));
        }
        if !(1..=12).contains(&self.multiplier) {
            return Err(BillingRuleError(
                "the period length multiplier is 1 to 12".to_owned(),
            ));
        }
        Ok(self)
    }

    /// Months in one period.
    pub fn months(self) -> i64 {
        let base = match self.period_length {
            PeriodLength::Monthly => 1,
            PeriodLength::Quarterly => 3,
        };
        base * i64::from(self.multiplier.clamp(1, 12))
    }

    /// The billing period holding the local day `date`.
    pub fn period_containing(self, date: NaiveDate) -> Option<BillingPeriod> {
        MonthGrid {
            day: self.period_start_day,
            months: self.months(),
            offset: 0,
        }
        .containing(date)
    }

    /// The period before `period`.
    pub fn previous(self, period: BillingPeriod) -> Option<BillingPeriod> {
        self.period_containing(period.from.pred_opt()?)
    }

    /// The period after `period`.
    pub fn next(self, period: BillingPeriod) -> Option<BillingPeriod> {
        self.period_containing(period.next_start())
    }

    /// The latest period that has ended by `today` (its last day is before today).
    pub fn last_ended(self, today: NaiveDate) -> Option<BillingPeriod> {
        self.previous(self.period_containing(today)?)
    }
}

/// Runs of `months` months, each starting on `day` of its first month (the month's last day when
/// the month is shorter), cut from month `offset` of year 0.
#[derive(Debug, Clone, Copy)]
struct MonthGrid {
    day: u32,
    months: i64,
    offset: i64,
}

impl MonthGrid {
    /// The first day of the run that starts in month `index` (months since January of year 0).
    fn start_in(self, index: i64) -> Option<NaiveDate> {
        let year = i32::try_from(index.div_euclid(12)).ok()?;
        let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        let last = first
            .checked_add_months(chrono::Months::new(1))?
            .pred_opt()?;
        let day = self.day.clamp(1, 31).min(last.day());
        NaiveDate::from_ymd_opt(year, month, day)
    }

    /// The run holding `date`.
    fn containing(self, date: NaiveDate) -> Option<BillingPeriod> {
        let n = self.months.max(1);
        let index = i64::from(date.year()) * 12 + i64::from(date.month0());
        let mut start_index = (index - self.offset).div_euclid(n) * n + self.offset;
        if self.start_in(start_index)? > date {
            start_index -= n;
        }
        let from = self.start_in(start_index)?;
        let to = self.start_in(start_index + n)?.pred_opt()?;
        Some(BillingPeriod { from, to })
    }
}

/// When a billing trigger fires: every `multiplier` days, months or years, on `start_day` (and,
/// yearly, in `start_month`). The days between two firings are the trigger's interval; on each
/// firing the trigger's operation acts on everything that ended before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriggerSchedule {
    pub frequency: TriggerFrequency,
    /// 1 to 31 days, or 1 to 12 months or years.
    pub multiplier: u32,
    /// 1 to 31 (monthly and yearly).
    pub start_day: u32,
    /// 1 to 12 (yearly).
    pub start_month: u32,
}

/// Days are counted from 1 January of year 1 for daily triggers every few days.
fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce())
}

impl TriggerSchedule {
    /// The schedule of a trigger of `frequency`, filling what it leaves unsaid from the billing
    /// options: a monthly trigger fires on each period's first day, every period's months; a
    /// yearly one on the period start day of January; a daily one every day.
    pub fn resolve(
        frequency: TriggerFrequency,
        multiplier: Option<u32>,
        start_day: Option<u32>,
        start_month: Option<u32>,
        options: BillingOptions,
    ) -> TriggerSchedule {
        let default_multiplier = match frequency {
            TriggerFrequency::Monthly => u32::try_from(options.months()).unwrap_or(1),
            TriggerFrequency::Daily | TriggerFrequency::Annually => 1,
        };
        TriggerSchedule {
            frequency,
            multiplier: multiplier.unwrap_or(default_multiplier),
            start_day: start_day.unwrap_or(options.period_start_day),
            start_month: start_month.unwrap_or(1),
        }
    }

    /// Checks the multiplier, day and month.
    pub fn check(self) -> Result<TriggerSchedule, BillingRuleError> {
        let most = match self.frequency {
            TriggerFrequency::Daily => 31,
            TriggerFrequency::Monthly | TriggerFrequency::Annually => 12,
        };
        if !(1..=most).contains(&self.multiplier) {
            return Err(BillingRuleError(format!(
                "a {} trigger's multiplier is 1 to {most}",
                self.frequency.as_str().to_lowercase()
            )));
        }
        if !(1..=31).contains(&self.start_day) {
            return Err(BillingRuleError(
                "the trigger's start day is 1 to 31".to_owned(),
            ));
        }
        if !(1..=12).contains(&self.start_month) {
            return Err(BillingRuleError(
                "the trigger's start month is 1 to 12".to_owned(),
            ));
        }
        Ok(self)
    }

    fn grid(self) -> Option<MonthGrid> {
        let multiplier = i64::from(self.multiplier.clamp(1, 12));
        match self.frequency {
            TriggerFrequency::Daily => None,
            TriggerFrequency::Monthly => Some(MonthGrid {
                day: self.start_day,
                months: multiplier,
                offset: 0,
            }),
            TriggerFrequency::Annually => Some(MonthGrid {
                day: self.start_day,
                months: 12 * multiplier,
                offset: i64::from(self.start_month.clamp(1, 12)) - 1,
            }),
        }
    }

    /// The trigger's interval holding `date`: from a firing to the day before the next.
    pub fn interval_containing(self, date: NaiveDate) -> Option<BillingPeriod> {
        match self.grid() {
            Some(grid) => grid.containing(date),
            None => {
                let n = i64::from(self.multiplier.clamp(1, 31));
                let start = day_number(date).div_euclid(n) * n;
                let from = date
                    .checked_sub_days(Days::new(u64::try_from(day_number(date) - start).ok()?))?;
                let to = from.checked_add_days(Days::new(u64::try_from(n - 1).ok()?))?;
                Some(BillingPeriod { from, to })
            }
        }
    }

    /// The last day on or before `today` the trigger fires on.
    pub fn last_firing(self, today: NaiveDate) -> Option<NaiveDate> {
        self.interval_containing(today).map(|i| i.from)
    }

    /// The first day on or after `date` the trigger fires on.
    pub fn next_firing(self, date: NaiveDate) -> Option<NaiveDate> {
        let interval = self.interval_containing(date)?;
        if interval.from == date {
            Some(date)
        } else {
            Some(interval.next_start())
        }
    }
}

/// The runs of days to charge from `from` up to (not including) the firing `until`, oldest first:
/// the days are cut wherever a trigger interval or a billing period ends, so no charge straddles
/// a statement and each interval is charged whole. At most `limit` runs.
pub fn charge_runs(
    options: BillingOptions,
    schedule: TriggerSchedule,
    from: NaiveDate,
    until: NaiveDate,
    limit: usize,
) -> Vec<BillingPeriod> {
    let mut runs = Vec::new();
    let mut start = from;
    while start < until && runs.len() < limit {
        let (Some(period), Some(interval)) = (
            options.period_containing(start),
            schedule.interval_containing(start),
        ) else {
            break;
        };
        let to = period.to.min(interval.to);
        if to >= until {
            break;
        }
        let run = BillingPeriod { from: start, to };
        runs.push(run);
        start = run.next_start();
        if start == run.to {
            break;
        }
    }
    runs
}

/// The billing periods from the one holding `from` whose last day is before the firing `until`,
/// oldest first; at most `limit`.
pub fn periods_ended_by(
    options: BillingOptions,
    from: NaiveDate,
    until: NaiveDate,
    limit: usize,
) -> Vec<BillingPeriod> {
    let mut out = Vec::new();
    let mut period = options.period_containing(from);
    while let Some(p) = period {
        if p.to >= until || out.len() >= limit {
            break;
        }
        out.push(p);
        period = options.next(p);
    }
    out
}

/// Billionths of a minor unit, rounded to the nearest minor unit (halves away from zero).
pub fn round_nano(nano: i128) -> i64 {
    const NANO: i128 = 1_000_000_000;
    let rounded = if nano >= 0 {
        (nano + NANO / 2) / NANO
    } else {
        -((-nano + NANO / 2) / NANO)
    };
    i64::try_from(rounded).unwrap_or(if nano >= 0 { i64::MAX } else { i64::MIN })
}

/// The amounts of one charge from its exact cost before and with VAT (billionths of a minor
/// unit), rounded once: net is the cost before VAT, gross the cost with VAT, tax the difference.
pub fn amounts_from_nano(exc_vat_nano: i128, inc_vat_nano: i128) -> Amounts {
    let net = round_nano(exc_vat_nano.abs());
    let gross = round_nano(inc_vat_nano.abs()).max(net);
    Amounts {
        net,
        tax: gross - net,
        gross,
    }
}

/// A reward for flexed energy: `wh` watt-hours at `micros_per_kwh` millionths of a minor unit
/// per kWh, rounded to the nearest minor unit.
pub fn flex_reward(wh: i64, micros_per_kwh: i64) -> i64 {
    // Wh × µ/kWh = 10⁻⁹ minor units.
    round_nano(i128::from(wh.max(0)) * i128::from(micros_per_kwh.max(0)))
}

/// The day a statement issued on `issued` is to be paid by.
pub fn payment_due(issued: NaiveDate) -> NaiveDate {
    issued
        .checked_add_days(Days::new(PAYMENT_DUE_DAYS))
        .unwrap_or(issued)
}

/// Minor units as text with two decimals and a thousands separator, exactly (no floats):
/// `-123456` is `-1,234.56`.
pub fn format_minor(amount: i64) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let magnitude = amount.unsigned_abs();
    let major = (magnitude / 100).to_string();
    let groups: Vec<&str> = major
        .as_bytes()
        .rchunks(3)
        .rev()
        .filter_map(|chunk| std::str::from_utf8(chunk).ok())
        .collect();
    let grouped = groups.join(",");
    format!("{sign}{grouped}.{:02}", magnitude % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    fn options(day: u32, length: PeriodLength, multiplier: u32) -> BillingOptions {
        BillingOptions {
            period_start_day: day,
            period_length: length,
            multiplier,
            is_fixed: true,
        }
    }

    #[test]
    fn monthly_periods_run_from_the_first_to_the_month_end() {
        let o = BillingOptions::default();
        let p = o
            .period_containing(d(2026, 2, 14))
            .unwrap_or(BillingPeriod {
                from: d(1, 1, 1),
                to: d(1, 1, 1),
            });
        assert_eq!((p.from, p.to), (d(2026, 2, 1), d(2026, 2, 28)));
        let leap = o.period_containing(d(2028, 2, 29));
        assert_eq!(leap.map(|p| p.to), Some(d(2028, 2, 29)));
        assert_eq!(
            o.last_ended(d(2026, 12, 1)),
            Some(BillingPeriod {
                from: d(2026, 11, 1),
                to: d(2026, 11, 30)
            })
        );
        assert_eq!(
            o.last_ended(d(2026, 1, 15)).map(|p| p.from),
            Some(d(2025, 12, 1)),
            "across the year end"
        );
    }

    #[test]
    fn a_late_start_day_falls_on_short_months_last_day() {
        let o = options(31, PeriodLength::Monthly, 1);
        let feb = o.period_containing(d(2026, 3, 10));
        assert_eq!(
            feb,
            Some(BillingPeriod {
                from: d(2026, 2, 28),
                to: d(2026, 3, 30)
            })
        );
        let march = o.period_containing(d(2026, 3, 31));
        assert_eq!(
            march.map(|p| (p.from, p.to)),
            Some((d(2026, 3, 31), d(2026, 4, 29)))
        );
        // Consecutive periods tile the calendar without gaps or overlaps.
        let mut p = o.period_containing(d(2025, 1, 5));
        for _ in 0..30 {
            let Some(current) = p else { break };
            let next = o.next(current);
            assert_eq!(next.map(|n| n.from), Some(current.next_start()));
            assert!(current.from <= current.to);
            p = next;
        }
    }

    #[test]
    fn quarterly_and_multiplied_periods() {
        let q = options(1, PeriodLength::Quarterly, 1);
        let p = q.period_containing(d(2026, 5, 20));
        assert_eq!(
            p.map(|p| (p.from, p.to)),
            Some((d(2026, 4, 1), d(2026, 6, 30)))
        );
        let p = q.period_containing(d(2026, 12, 31));
        assert_eq!(
            p.map(|p| (p.from, p.to)),
            Some((d(2026, 10, 1), d(2026, 12, 31)))
        );
        let q15 = options(15, PeriodLength::Quarterly, 1);
        let p = q15.period_containing(d(2026, 1, 3));
        assert_eq!(
            p.map(|p| (p.from, p.to)),
            Some((d(2025, 10, 15), d(2026, 1, 14)))
        );
        let two = options(1, PeriodLength::Monthly, 2);
        let p = two.period_containing(d(2026, 4, 2));
        assert_eq!(
            p.map(|p| (p.from, p.to)),
            Some((d(2026, 3, 1), d(2026, 4, 30)))
        );
        assert_eq!(q.months(), 3);
        assert_eq!(options(1, PeriodLength::Quarterly, 2).months(), 6);
    }

    #[test]
    fn periods_are_cut_at_local_midnight_also_across_dst() {
        let o = BillingOptions::default();
        let london: Tz = "Europe/London".parse().unwrap_or(Tz::UTC);
        // October 2026: the clocks go back on the 25th, so the month is 745 hours long.
        let october = o.period_containing(d(2026, 10, 10));
        let (from, to) = october.and_then(|p| p.instants(london)).unwrap_or_default();
        assert_eq!(from.to_rfc3339(), "2026-09-30T23:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-11-01T00:00:00+00:00");
        assert_eq!((to - from).num_hours(), 31 * 24 + 1);
        // March 2026: the clocks go forward on the 29th.
        let march = o.period_containing(d(2026, 3, 10));
        let (from, to) = march.and_then(|p| p.instants(london)).unwrap_or_default();
        assert_eq!((to - from).num_hours(), 31 * 24 - 1);
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap_or(Tz::UTC);
        let (from, _) = march.and_then(|p| p.instants(tokyo)).unwrap_or_default();
        assert_eq!(from.to_rfc3339(), "2026-02-28T15:00:00+00:00");
    }

    fn schedule(
        frequency: TriggerFrequency,
        multiplier: u32,
        day: u32,
        month: u32,
    ) -> TriggerSchedule {
        TriggerSchedule {
            frequency,
            multiplier,
            start_day: day,
            start_month: month,
        }
    }

    #[test]
    fn a_monthly_trigger_left_unsaid_follows_the_billing_periods() {
        let quarterly = options(15, PeriodLength::Quarterly, 1);
        let s = TriggerSchedule::resolve(TriggerFrequency::Monthly, None, None, None, quarterly);
        assert_eq!((s.multiplier, s.start_day), (3, 15));
        for date in [
            d(2026, 1, 14),
            d(2026, 1, 15),
            d(2026, 7, 31),
            d(2027, 2, 28),
        ] {
            assert_eq!(
                s.interval_containing(date),
                quarterly.period_containing(date),
                "{date}"
            );
        }
        let daily = TriggerSchedule::resolve(TriggerFrequency::Daily, None, None, None, quarterly);
        assert_eq!(daily.multiplier, 1);
        assert_eq!(daily.last_firing(d(2026, 12, 8)), Some(d(2026, 12, 8)));
        let yearly =
            TriggerSchedule::resolve(TriggerFrequency::Annually, None, None, None, quarterly);
        assert_eq!(yearly.last_firing(d(2026, 12, 8)), Some(d(2026, 1, 15)));
    }

    #[test]
    fn triggers_fire_on_their_days() {
        let weekly = schedule(TriggerFrequency::Daily, 7, 1, 1);
        let week = weekly.interval_containing(d(2026, 12, 8));
        let (from, to) = week.map(|w| (w.from, w.to)).unwrap_or_default();
        assert_eq!(to.signed_duration_since(from).num_days(), 6);
        assert!(from <= d(2026, 12, 8) && d(2026, 12, 8) <= to);
        assert_eq!(weekly.next_firing(from), Some(from));
        assert_eq!(
            weekly.next_firing(from.succ_opt().unwrap_or(from)),
            Some(to.succ_opt().unwrap_or(to))
        );
        // Every second month from the 10th, in odd months as billing periods are cut:
        // January, March, ..., November.
        let two = schedule(TriggerFrequency::Monthly, 2, 10, 1);
        assert_eq!(two.last_firing(d(2026, 12, 8)), Some(d(2026, 11, 10)));
        assert_eq!(two.next_firing(d(2026, 12, 8)), Some(d(2027, 1, 10)));
        // The UK tax year: 6 April.
        let april = schedule(TriggerFrequency::Annually, 1, 6, 4);
        assert_eq!(april.last_firing(d(2026, 12, 8)), Some(d(2026, 4, 6)));
        assert_eq!(april.last_firing(d(2026, 4, 5)), Some(d(2025, 4, 6)));
        assert_eq!(april.next_firing(d(2026, 4, 7)), Some(d(2027, 4, 6)));
        // Every second year from 31 January: the day holds in every year.
        let two_years = schedule(TriggerFrequency::Annually, 2, 31, 1);
        let i = two_years.interval_containing(d(2026, 12, 8));
        assert_eq!(
            i.map(|i| i.next_start().signed_duration_since(i.from).num_days()),
            Some(730)
        );
        assert!(schedule(TriggerFrequency::Daily, 31, 1, 1).check().is_ok());
        assert!(
            schedule(TriggerFrequency::Monthly, 13, 1, 1)
                .check()
                .is_err()
        );
        assert!(
            schedule(TriggerFrequency::Annually, 1, 1, 13)
                .check()
                .is_err()
        );
        assert!(
            schedule(TriggerFrequency::Monthly, 1, 0, 1)
                .check()
                .is_err()
        );
    }

    #[test]
    fn charge_runs_are_cut_by_triggers_and_periods() {
        let monthly = BillingOptions::default();
        let daily = schedule(TriggerFrequency::Daily, 1, 1, 1);
        let runs = charge_runs(monthly, daily, d(2026, 11, 28), d(2026, 12, 3), 100);
        let days: Vec<NaiveDate> = runs.iter().map(|r| r.from).collect();
        assert_eq!(
            days,
            vec![
                d(2026, 11, 28),
                d(2026, 11, 29),
                d(2026, 11, 30),
                d(2026, 12, 1),
                d(2026, 12, 2)
            ]
        );
        assert!(runs.iter().all(|r| r.from == r.to));
        // A yearly trigger over monthly periods charges month by month, all at once.
        let yearly = schedule(TriggerFrequency::Annually, 1, 1, 1);
        let runs = charge_runs(monthly, yearly, d(2026, 1, 1), d(2027, 1, 1), 100);
        assert_eq!(runs.len(), 12);
        assert_eq!(runs.last().map(|r| r.to), Some(d(2026, 12, 31)));
        // Monthly charges within quarterly periods.
        let quarterly = options(1, PeriodLength::Quarterly, 1);
        let month = schedule(TriggerFrequency::Monthly, 1, 1, 1);
        let runs = charge_runs(quarterly, month, d(2026, 10, 1), d(2026, 12, 1), 100);
        assert_eq!(runs.len(), 2);
        assert!(periods_ended_by(quarterly, d(2026, 10, 1), d(2026, 12, 1), 10).is_empty());
        assert_eq!(
            periods_ended_by(quarterly, d(2026, 10, 1), d(2027, 1, 1), 10).len(),
            1
        );
        // Runs tile the days without gaps, whatever the grids, and stop at the limit.
        let odd = options(20, PeriodLength::Monthly, 1);
        let every_ten = schedule(TriggerFrequency::Daily, 10, 1, 1);
        let runs = charge_runs(odd, every_ten, d(2026, 1, 5), d(2027, 1, 5), 1000);
        for pair in runs.windows(2) {
            if let [a, b] = pair {
                assert_eq!(a.next_start(), b.from);
            }
        }
        assert_eq!(runs.first().map(|r| r.from), Some(d(2026, 1, 5)));
        assert!(
            runs.iter()
                .all(|r| odd.period_containing(r.from) == odd.period_containing(r.to))
        );
        assert_eq!(
            charge_runs(odd, every_ten, d(2026, 1, 5), d(2027, 1, 5), 3).len(),
            3
        );
    }

    #[test]
    fn options_are_checked() {
        assert!(options(0, PeriodLength::Monthly, 1).check().is_err());
        assert!(options(32, PeriodLength::Monthly, 1).check().is_err());
        assert!(options(1, PeriodLength::Monthly, 0).check().is_err());
        assert!(options(28, PeriodLength::Quarterly, 4).check().is_ok());
    }

    #[test]
    fn amounts_round_once_and_split_vat() {
        // 10.5 kWh at 20p + 5 % VAT: 210p net, 220.5p gross → 221p.
        let a = amounts_from_nano(210_000_000_000, 220_500_000_000);
        assert_eq!((a.net, a.tax, a.gross), (210, 11, 221));
        assert!(a.check().is_ok());
        assert_eq!(round_nano(499_999_999), 0);
        assert_eq!(round_nano(500_000_000), 1);
        assert_eq!(round_nano(-500_000_000), -1);
        assert_eq!(flex_reward(12_500, 5_000_000), 63, "12.5 kWh at 5p");
    }

    #[test]
    fn reversals_after_close_follow_the_status() {
        use ReversalsAfterClose as R;
        assert_eq!(R::of(StatementStatus::Open, 3, 3), R::NotClosed);
        assert_eq!(R::of(StatementStatus::Closed, 3, 0), R::None);
        assert_eq!(R::of(StatementStatus::Closed, 0, 0), R::None);
        assert_eq!(R::of(StatementStatus::Closed, 3, 1), R::Some);
        assert_eq!(R::of(StatementStatus::Closed, 3, 3), R::All);
    }

    #[test]
    fn minor_units_format_exactly() {
        assert_eq!(format_minor(0), "0.00");
        assert_eq!(format_minor(5), "0.05");
        assert_eq!(format_minor(-123_456), "-1,234.56");
        assert_eq!(format_minor(100_000_000), "1,000,000.00");
        assert_eq!(format_minor(i64::MIN), "-92,233,720,368,547,758.08");
        assert_eq!(payment_due(d(2026, 12, 1)), d(2026, 12, 15));
    }
}
