//! Statements: one per ledger per billing period. A statement is opened over the ledger's
//! transactions since the previous statement (so its opening balance is the previous closing
//! balance, 0 for the first) up to the ledger's last one, then closed when it is issued.

use chrono::{DateTime, NaiveDate, Utc};
use resiflex_domain::billing::{BillingPeriod, ReversalsAfterClose, StatementStatus, payment_due};
use resiflex_domain::money::Ledger;
use resiflex_store::Db;
use resiflex_store::accounts::Account;
use resiflex_store::billing::{self as store, Statement, StatementFigures, StatementQuery};

use crate::MoneyError;
use crate::ledger;

/// A statement with its figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementView {
    pub statement: Statement,
    pub figures: StatementFigures,
}

impl StatementView {
    /// Whether charges on it were reversed after it closed.
    pub fn reversals_after_close(&self) -> ReversalsAfterClose {
        ReversalsAfterClose::of(
            self.statement.status,
            self.figures.charge_count,
            self.figures.reversed_after_close,
        )
    }
}

/// The identifier of a ledger's statement for a period: `S-`, the ledger number's code and the
/// period's first day, e.g. `S-3F7K9Q2M1-20261101`. Unique, as a ledger has one statement a period.
pub fn identifier(ledger: &Ledger, period: BillingPeriod) -> String {
    let code = ledger.number.strip_prefix("L-").unwrap_or(&ledger.number);
    format!("S-{code}-{}", period.from.format("%Y%m%d"))
}

/// The idempotency key of a ledger's statement for `period`.
pub fn key(period: BillingPeriod) -> String {
    format!("statement:{}", period.from.format("%Y%m%d"))
}

/// Issues the account's statements for `period`, one per ledger that has any transactions (a
/// ledger never used has nothing to state). Returns how many were closed now (a rerun closes
/// none).
pub async fn issue(
    db: &Db,
    account: &Account,
    period: BillingPeriod,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<usize, MoneyError> {
    let mut closed = 0;
    for ledger in ledger::ledgers_of(db, account, now).await? {
        if ledger.last_sequence == 0 {
            continue;
        }
        let key = key(period);
        let opened = store::open_statement(
            db,
            ledger.id,
            &identifier(&ledger, period),
            period,
            &key,
            now,
        )
        .await?;
        if opened.status == StatementStatus::Open {
            store::close_statement(db, opened.id, now, today, payment_due(today)).await?;
            closed += 1;
        }
    }
    Ok(closed)
}

/// A statement with its figures.
pub async fn view(db: &Db, statement: Statement) -> Result<StatementView, MoneyError> {
    let figures = store::statement_figures(db, &statement).await?;
    Ok(StatementView { statement, figures })
}

/// A page of the statements on these ledgers, and how many match in all.
pub async fn list(
    db: &Db,
    query: &StatementQuery,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<Statement>), MoneyError> {
    let total = store::count_statements(db, query).await?;
    let page = store::statements(db, query, offset, limit).await?;
    Ok((total, page))
}

/// The statement with this id or identifier if it is on one of `ledgers`.
pub async fn find(
    db: &Db,
    ledgers: &[Ledger],
    id: Option<i64>,
    identifier: Option<&str>,
) -> Result<Statement, MoneyError> {
    let found = match (id, identifier) {
        (Some(id), _) => store::statement(db, id).await?,
        (None, Some(identifier)) => store::statement_by_identifier(db, identifier.trim()).await?,
        (None, None) => {
            return Err(MoneyError::Invalid(
                "give the bill's id or identifier".into(),
            ));
        }
    };
    found
        .filter(|s| ledgers.iter().any(|l| l.id == s.ledger_id))
        .ok_or(MoneyError::NotFound("bill"))
}
