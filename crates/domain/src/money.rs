//! An account's money: ledgers of append-only transactions, all in integer minor units.
//!
//! Signs follow the customer's side: a ledger's balance is positive when the supplier owes the
//! customer (credit) and negative when the customer owes the supplier (debt). A transaction's
//! amounts are never negative; its [`TransactionKind`] gives the direction ([`TransactionKind::sign`]).
//! Nothing is ever changed or removed: a mistake is put right by a new transaction that reverses
//! the first ([`NewTransaction::reversal_of`]).

use chrono::NaiveDate;

/// A money rule was broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MoneyRuleError(pub String);

named_enum!(MoneyRuleError;
    /// What a ledger is for. Every account has a main ledger (energy) and a charging ledger
    /// (public charging and other non-energy charges).
    LedgerKind {
        Main = "MAIN",
        Charging = "CHARGING",
    }
);

impl LedgerKind {
    /// The name shown to customers.
    pub fn display_name(self) -> &'static str {
        match self {
            LedgerKind::Main => "Main ledger",
            LedgerKind::Charging => "Charging ledger",
        }
    }

    /// The `ledgerType` code the API shows.
    pub fn code(self) -> &'static str {
        match self {
            LedgerKind::Main => "MAIN_LEDGER",
            LedgerKind::Charging => "CHARGING_LEDGER",
        }
    }
}

named_enum!(MoneyRuleError;
    /// The four kinds of ledger entry.
    TransactionKind {
        /// Energy, standing or other charges: the customer owes more.
        Charge = "CHARGE",
        /// Rewards, goodwill, export and reversed charges: the customer owes less.
        Credit = "CREDIT",
        /// Money from the customer.
        Payment = "PAYMENT",
        /// Money back to the customer (a repayment), or a payment that bounced.
        Refund = "REFUND",
    }
);

impl TransactionKind {
    /// +1 when the entry raises the customer's balance, −1 when it lowers it.
    pub fn sign(self) -> i64 {
        match self {
            TransactionKind::Credit | TransactionKind::Payment => 1,
            TransactionKind::Charge | TransactionKind::Refund => -1,
        }
    }

    /// The kind that undoes this one.
    pub fn reversed(self) -> TransactionKind {
        match self {
            TransactionKind::Charge => TransactionKind::Credit,
            TransactionKind::Credit => TransactionKind::Charge,
            TransactionKind::Payment => TransactionKind::Refund,
            TransactionKind::Refund => TransactionKind::Payment,
        }
    }
}

named_enum!(MoneyRuleError;
    /// Why a transaction was posted.
    TransactionReason {
        ElectricityConsumption = "ELECTRICITY_CONSUMPTION",
        ElectricityStandingCharge = "ELECTRICITY_STANDING_CHARGE",
        GasConsumption = "GAS_CONSUMPTION",
        GasStandingCharge = "GAS_STANDING_CHARGE",
        /// Paid for exported electricity.
        ElectricityExport = "ELECTRICITY_EXPORT",
        /// A SmartFlex reward for energy moved to cheaper, cleaner hours.
        FlexReward = "FLEX_REWARD",
        /// A goodwill gesture or manual adjustment by the organisation.
        Goodwill = "GOODWILL",
        /// A charge or credit brought in from another system.
        Imported = "IMPORTED",
        /// A payment taken from the customer.
        Payment = "PAYMENT",
        /// Money sent back to the customer.
        Repayment = "REPAYMENT",
        /// A payment refunded to the customer.
        PaymentRefund = "PAYMENT_REFUND",
        /// Undoes an earlier transaction (a bounced payment, a re-billed charge).
        Reversal = "REVERSAL",
    }
);

impl TransactionReason {
    /// Gas or electricity charges (the `ENERGY_CHARGES` filter).
    pub fn is_energy(self) -> bool {
        matches!(
            self,
            TransactionReason::ElectricityConsumption
                | TransactionReason::ElectricityStandingCharge
                | TransactionReason::GasConsumption
                | TransactionReason::GasStandingCharge
        )
    }
}

/// What the API calls the amounts of a transaction: before tax, tax, and with tax, all ≥ 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amounts {
    pub net: i64,
    pub tax: i64,
    pub gross: i64,
}

impl Amounts {
    /// Amounts with no tax (payments and repayments).
    pub fn untaxed(amount: i64) -> Amounts {
        Amounts {
            net: amount,
            tax: 0,
            gross: amount,
        }
    }

    /// Checks every part is ≥ 0 and `net + tax == gross`.
    pub fn check(self) -> Result<Amounts, MoneyRuleError> {
        if self.net < 0 || self.tax < 0 || self.gross < 0 {
            return Err(MoneyRuleError(
                "transaction amounts are never negative: the kind gives the direction".into(),
            ));
        }
        if self.net.checked_add(self.tax) != Some(self.gross) {
            return Err(MoneyRuleError(format!(
                "net {} plus tax {} is not gross {}",
                self.net, self.tax, self.gross
            )));
        }
        Ok(self)
    }
}

/// The largest single transaction: ten million major units. Anything larger is a mistake, and
/// keeping amounts this size leaves balances far from `i64` overflow.
pub const MAX_TRANSACTION_MINOR: i64 = 1_000_000_000;

/// A transaction to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransaction {
    pub kind: TransactionKind,
    pub reason: TransactionReason,
    pub posted_date: NaiveDate,
    pub amounts: Amounts,
    pub title: String,
    pub note: Option<String>,
    /// The transaction this one reverses.
    pub reverses: Option<i64>,
    /// Makes a retried write harmless: the same key on the same ledger posts once.
    pub idempotency_key: String,
    /// Thousandths of a kWh charged, for consumption charges.
    pub consumption_milli: Option<i64>,
    /// Whether it came from another system (the `IMPORTED_*` filters).
    pub imported: bool,
}

impl NewTransaction {
    /// Checks the amounts, title and key.
    pub fn check(&self) -> Result<(), MoneyRuleError> {
        self.amounts.check()?;
        if self.amounts.gross > MAX_TRANSACTION_MINOR {
            return Err(MoneyRuleError(format!(
                "{} minor units is more than one transaction may carry ({MAX_TRANSACTION_MINOR})",
                self.amounts.gross
            )));
        }
        if self.title.trim().is_empty() || self.title.chars().count() > 200 {
            return Err(MoneyRuleError(
                "a transaction needs a title of 1 to 200 characters".into(),
            ));
        }
        check_idempotency_key(&self.idempotency_key)
    }

    /// The change to the balance, in minor units.
    pub fn effect(&self) -> i64 {
        self.kind.sign() * self.amounts.gross
    }

    /// A transaction that undoes `original` (same amounts, opposite direction).
    pub fn reversal_of(
        original: &Transaction,
        posted_date: NaiveDate,
        idempotency_key: String,
    ) -> NewTransaction {
        NewTransaction {
            kind: original.kind.reversed(),
            reason: TransactionReason::Reversal,
            posted_date,
            amounts: original.amounts,
            title: format!("Reversal: {}", original.title),
            note: None,
            reverses: Some(original.id),
            idempotency_key,
            consumption_milli: original.consumption_milli.map(|c| -c),
            imported: false,
        }
    }

    /// A fingerprint of what is asked, so a key reused for a different request is caught.
    pub fn fingerprint(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{:?}",
            self.kind,
            self.reason,
            self.posted_date,
            self.amounts.net,
            self.amounts.tax,
            self.amounts.gross,
            self.title,
            self.reverses
        )
    }
}

/// An idempotency key is 1 to 100 printable characters.
pub fn check_idempotency_key(key: &str) -> Result<(), MoneyRuleError> {
    if key.is_empty() || key.len() > 100 || key.chars().any(|c| c.is_control()) {
        return Err(MoneyRuleError(
            "an idempotency key is 1 to 100 printable characters".into(),
        ));
    }
    Ok(())
}

/// A posted transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub id: i64,
    pub ledger_id: i64,
    /// Its place on the ledger: 1, 2, 3, … with no gaps.
    pub sequence: i64,
    pub kind: TransactionKind,
    pub reason: TransactionReason,
    pub posted_date: NaiveDate,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub amounts: Amounts,
    pub currency: String,
    pub title: String,
    pub note: Option<String>,
    pub reverses: Option<i64>,
    /// The ledger balance just after it.
    pub balance_after: i64,
    pub consumption_milli: Option<i64>,
    pub imported: bool,
}

impl Transaction {
    pub fn effect(&self) -> i64 {
        self.kind.sign() * self.amounts.gross
    }
}

/// A ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    pub id: i64,
    pub account_id: i64,
    /// `L-` and eight characters, for example `L-3F7K9Q2M`.
    pub number: String,
    pub kind: LedgerKind,
    pub currency: String,
    /// Positive: the customer is in credit.
    pub balance: i64,
    /// How many transactions it has.
    pub last_sequence: i64,
}

impl Ledger {
    /// Positive when the customer owes money.
    pub fn amount_owed_by_customer(&self) -> i64 {
        -self.balance
    }
}

/// The currency (ISO 4217) of an account billed in `country`.
pub fn currency_of_country(country: &str) -> &'static str {
    match country {
        "GB" => "GBP",
        "US" => "USD",
        "JP" => "JPY",
        "AU" => "AUD",
        "NZ" => "NZD",
        "CH" => "CHF",
        _ => "EUR",
    }
}

/// Splits a gross amount into net and tax at `vat_percent`, so that `net + tax == gross`.
pub fn split_gross(gross: i64, vat_percent: i64) -> Amounts {
    let net = (i128::from(gross) * 100 + i128::from(100 + vat_percent) / 2)
        / i128::from(100 + vat_percent);
    let net = i64::try_from(net).unwrap_or(gross);
    Amounts {
        net,
        tax: gross - net,
        gross,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(gross: i64) -> NewTransaction {
        NewTransaction {
            kind: TransactionKind::Charge,
            reason: TransactionReason::ElectricityConsumption,
            posted_date: NaiveDate::from_ymd_opt(2026, 1, 31).unwrap_or_default(),
            amounts: split_gross(gross, 5),
            title: "Electricity".into(),
            note: None,
            reverses: None,
            idempotency_key: "k".into(),
            consumption_milli: Some(100_000),
            imported: false,
        }
    }

    #[test]
    fn signs_follow_the_customer_side() {
        assert_eq!(charge(1050).effect(), -1050);
        let mut payment = charge(1050);
        payment.kind = TransactionKind::Payment;
        assert_eq!(payment.effect(), 1050);
        for kind in TransactionKind::ALL {
            assert_eq!(kind.sign(), -kind.reversed().sign());
            assert_eq!(kind.reversed().reversed(), *kind);
        }
    }

    #[test]
    fn gross_splits_exactly_into_net_and_tax() {
        for gross in [0, 1, 2, 20, 21, 105, 999, 123_457] {
            for vat in [0, 5, 20] {
                let a = split_gross(gross, vat);
                assert_eq!(a.net + a.tax, gross);
                assert!(a.check().is_ok());
            }
        }
        assert_eq!(split_gross(105, 5).net, 100);
        assert_eq!(split_gross(120, 20).tax, 20);
    }

    #[test]
    fn bad_amounts_titles_and_keys_are_refused() {
        let mut t = charge(100);
        t.amounts.gross = 99;
        assert!(t.check().is_err());
        let mut t = charge(100);
        t.amounts = Amounts {
            net: -1,
            tax: 0,
            gross: -1,
        };
        assert!(t.check().is_err());
        let mut t = charge(100);
        t.title = " ".into();
        assert!(t.check().is_err());
        let mut t = charge(100);
        t.idempotency_key = String::new();
        assert!(t.check().is_err());
        assert!(charge(MAX_TRANSACTION_MINOR + 1).check().is_err());
        assert!(charge(100).check().is_ok());
    }
}
