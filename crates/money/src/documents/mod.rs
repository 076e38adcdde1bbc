//! A statement's documents: the same content as readable HTML and as a PDF (A4, built-in
//! Helvetica), made on request from the ledger, so a document always shows what the statement
//! covers. Amounts are formatted from integer minor units, never through floats.
//!
//! [`link`] makes the short-lived signed links `attachments { temporaryUrl }` hands out.

pub mod html;
pub mod link;
pub mod pdf;

use chrono::NaiveDate;
use resiflex_domain::billing::{BillingPeriod, format_minor};
use resiflex_domain::money::{Amounts, TransactionKind};
use resiflex_store::ledgers::{self, TransactionQuery};
use resiflex_store::{Db, accounts};

use crate::MoneyError;
use crate::billing::statements;

/// The most transaction lines one document lists.
pub const MAX_LINES: i64 = 5_000;

/// One transaction as a document shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub date: NaiveDate,
    pub title: String,
    pub kind: TransactionKind,
    pub amounts: Amounts,
}

/// Everything a statement's document shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementDocument {
    pub identifier: String,
    pub account_number: String,
    pub billing_name: String,
    pub address: Vec<String>,
    pub ledger_name: String,
    pub ledger_number: String,
    pub currency: String,
    pub period: BillingPeriod,
    pub issued_date: Option<NaiveDate>,
    pub payment_due_date: Option<NaiveDate>,
    pub opening_balance: i64,
    pub closing_balance: i64,
    pub lines: Vec<Line>,
    pub charges: Amounts,
    pub credits: Amounts,
}

impl StatementDocument {
    /// The file name of its PDF.
    pub fn filename(&self) -> String {
        format!("{}.pdf", self.identifier)
    }

    /// An amount with its currency, e.g. `GBP 1,234.56`.
    pub fn money(&self, amount: i64) -> String {
        format!("{} {}", self.currency, format_minor(amount))
    }

    /// A balance as the customer reads it: in credit, or owed.
    pub fn balance(&self, balance: i64) -> String {
        match balance {
            0 => self.money(0),
            b if b > 0 => format!("{} in credit", self.money(b)),
            b => format!("{} owed", self.money(-b)),
        }
    }
}

/// The document of a statement.
pub async fn load(db: &Db, statement_id: i64) -> Result<StatementDocument, MoneyError> {
    let statement = resiflex_store::billing::statement(db, statement_id)
        .await?
        .ok_or(MoneyError::NotFound("bill"))?;
    let ledger = ledgers::ledger(db, statement.ledger_id)
        .await?
        .ok_or(MoneyError::NotFound("ledger"))?;
    let account = accounts::account_by_id(db, ledger.account_id)
        .await?
        .ok_or(MoneyError::NotFound("account"))?;
    let query = TransactionQuery {
        ledger_ids: vec![ledger.id],
        after_sequence: Some(statement.opening_sequence),
        up_to_sequence: Some(statement.closing_sequence),
        ..TransactionQuery::default()
    };
    let lines = ledgers::transactions(db, &query, 0, MAX_LINES)
        .await?
        .into_iter()
        .map(|t| Line {
            date: t.transaction.posted_date,
            title: t.transaction.title,
            kind: t.transaction.kind,
            amounts: t.transaction.amounts,
        })
        .collect();
    let view = statements::view(db, statement).await?;
    let s = view.statement;
    let address = [
        account.billing_street.as_deref(),
        account.billing_locality.as_deref(),
        account.billing_area.as_deref(),
        account.billing_postcode.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(str::trim)
    .filter(|l| !l.is_empty())
    .map(str::to_owned)
    .collect();
    Ok(StatementDocument {
        identifier: s.identifier,
        account_number: account.number,
        billing_name: account.billing_name,
        address,
        ledger_name: ledger.kind.display_name().to_owned(),
        ledger_number: ledger.number,
        currency: ledger.currency,
        period: s.period,
        issued_date: s.issued_date,
        payment_due_date: s.payment_due_date,
        opening_balance: s.opening_balance,
        closing_balance: s.closing_balance,
        lines,
        charges: view.figures.charges,
        credits: view.figures.credits,
    })
}

/// The sign a line moves the balance by, as a document prints it.
pub fn signed_gross(line: &Line) -> i64 {
    line.kind.sign() * line.amounts.gross
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A document with two lines, for the renderers' tests.
    pub fn sample() -> StatementDocument {
        let d = |day| NaiveDate::from_ymd_opt(2026, 11, day).unwrap_or_default();
        StatementDocument {
            identifier: "S-3F7K9Q2M1-20261101".into(),
            account_number: "A-3F7K9Q2M".into(),
            billing_name: "Ada <Lovelace> & Co".into(),
            address: vec!["1 Analytical Row".into(), "SW1A 1AA".into()],
            ledger_name: "Main ledger".into(),
            ledger_number: "L-3F7K9Q2M1".into(),
            currency: "GBP".into(),
            period: BillingPeriod {
                from: d(1),
                to: d(30),
            },
            issued_date: Some(d(30)),
            payment_due_date: NaiveDate::from_ymd_opt(2026, 12, 14),
            opening_balance: 0,
            closing_balance: -12_345,
            lines: vec![
                Line {
                    date: d(30),
                    title: "Electricity consumption, 2026-11-01 to 2026-11-30".into(),
                    kind: TransactionKind::Charge,
                    amounts: Amounts {
                        net: 12_000,
                        tax: 600,
                        gross: 12_600,
                    },
                },
                Line {
                    date: d(30),
                    title: "SmartFlex reward".into(),
                    kind: TransactionKind::Credit,
                    amounts: Amounts::untaxed(255),
                },
            ],
            charges: Amounts {
                net: 12_000,
                tax: 600,
                gross: 12_600,
            },
            credits: Amounts::untaxed(255),
        }
    }

    #[test]
    fn balances_read_as_credit_or_owed() {
        let doc = sample();
        assert_eq!(doc.balance(-12_345), "GBP 123.45 owed");
        assert_eq!(doc.balance(50), "GBP 0.50 in credit");
        assert_eq!(doc.filename(), "S-3F7K9Q2M1-20261101.pdf");
        assert_eq!(signed_gross(&doc.lines[0]), -12_600);
    }
}
