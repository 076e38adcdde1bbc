//! Ledgers and their append-only transactions (see `resiflex_domain::money`).
//!
//! [`post`] is the only way money moves: in one database transaction it locks the ledgers
//! touched, skips postings whose idempotency key the ledger has seen, appends the rest with their
//! sequence and running balance, and moves each ledger's balance by exactly what was appended.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use resiflex_domain::money::{
    Amounts, Ledger, LedgerKind, NewTransaction, Transaction, TransactionKind, TransactionReason,
};

use crate::{Db, StoreError, Tx, corrupt, on_db, on_tx};

/// Rows per multi-row statement.
const CHUNK: usize = 500;

const LEDGER_COLUMNS: &str = "id, account_id, number, kind, currency, balance, last_sequence";

const TRANSACTION_COLUMNS: &str = "t.id, t.ledger_id, t.sequence, t.kind, t.reason, t.posted_date, \
     t.created_at, t.net, t.tax, t.gross, l.currency, t.title, t.note, t.reverses, t.balance_after, \
     t.consumption_milli, t.imported, t.idempotency_key, t.fingerprint";

/// The signed effect of a transaction row on its ledger's balance, in SQL.
const EFFECT_SQL: &str = "CASE WHEN kind IN ('CREDIT', 'PAYMENT') THEN gross ELSE -gross END";

#[derive(sqlx::FromRow)]
struct LedgerRow {
    id: i64,
    account_id: i64,
    number: String,
    kind: String,
    currency: String,
    balance: i64,
    last_sequence: i64,
}

impl TryFrom<LedgerRow> for Ledger {
    type Error = StoreError;

    fn try_from(row: LedgerRow) -> Result<Ledger, StoreError> {
        Ok(Ledger {
            id: row.id,
            account_id: row.account_id,
            number: row.number,
            kind: corrupt("ledger kind", row.kind.parse())?,
            currency: row.currency,
            balance: row.balance,
            last_sequence: row.last_sequence,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TransactionRow {
    id: i64,
    ledger_id: i64,
    sequence: i64,
    kind: String,
    reason: String,
    posted_date: NaiveDate,
    created_at: DateTime<Utc>,
    net: i64,
    tax: i64,
    gross: i64,
    currency: String,
    title: String,
    note: Option<String>,
    reverses: Option<i64>,
    balance_after: i64,
    consumption_milli: Option<i64>,
    imported: bool,
    idempotency_key: String,
    fingerprint: String,
}

impl TransactionRow {
    fn into_transaction(self) -> Result<(Transaction, String, String), StoreError> {
        let kind: TransactionKind = corrupt("transaction kind", self.kind.parse())?;
        let reason: TransactionReason = corrupt("transaction reason", self.reason.parse())?;
        Ok((
            Transaction {
                id: self.id,
                ledger_id: self.ledger_id,
                sequence: self.sequence,
                kind,
                reason,
                posted_date: self.posted_date,
                created_at: self.created_at,
                amounts: Amounts {
                    net: self.net,
                    tax: self.tax,
                    gross: self.gross,
                },
                currency: self.currency,
                title: self.title,
                note: self.note,
                reverses: self.reverses,
                balance_after: self.balance_after,
                consumption_milli: self.consumption_milli,
                imported: self.imported,
            },
            self.idempotency_key,
            self.fingerprint,
        ))
    }
}

/// The ledger number of an account's ledger: `L-`, the account number's eight characters, and a
/// digit for the kind, so it never collides and needs no lookup.
pub fn ledger_number(account_number: &str, kind: LedgerKind) -> String {
    let code = account_number.strip_prefix("A-").unwrap_or(account_number);
    let digit = match kind {
        LedgerKind::Main => 1,
        LedgerKind::Charging => 2,
    };
    format!("L-{code}{digit}")
}

/// The account's ledgers (main first), opening any it does not have yet.
pub async fn ensure_ledgers(
    db: &Db,
    account_id: i64,
    account_number: &str,
    currency: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Ledger>, StoreError> {
    let existing = ledgers_of_account(db, account_id).await?;
    if existing.len() == LedgerKind::ALL.len() {
        return Ok(existing);
    }
    for kind in LedgerKind::ALL {
        on_db!(db, |pool| {
            sqlx::query(
            "INSERT INTO ledgers (account_id, number, kind, currency, balance, last_sequence, created_at) \
             VALUES ($1, $2, $3, $4, 0, 0, $5) ON CONFLICT (account_id, kind) DO NOTHING"
        )
        .bind(account_id)
        .bind(ledger_number(account_number, *kind))
        .bind(kind.as_str())
        .bind(currency)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())
        })?;
    }
    ledgers_of_account(db, account_id).await
}

/// Opens, in one statement, every ledger these accounts (id, number, currency) do not have yet.
pub async fn ensure_ledgers_of_accounts(
    db: &Db,
    accounts: &[(i64, &str, &str)],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let rows: Vec<(i64, String, LedgerKind, &str)> = accounts
        .iter()
        .flat_map(|(id, number, currency)| {
            LedgerKind::ALL
                .iter()
                .map(move |kind| (*id, ledger_number(number, *kind), *kind, *currency))
        })
        .collect();
    for chunk in rows.chunks(CHUNK) {
        on_db!(db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO ledgers (account_id, number, kind, currency, balance, last_sequence, created_at) ",
            );
            query.push_values(chunk, |mut row, (id, number, kind, currency)| {
                row.push_bind(*id)
                    .push_bind(number.as_str())
                    .push_bind(kind.as_str())
                    .push_bind(*currency)
                    .push_bind(0i64)
                    .push_bind(0i64)
                    .push_bind(now);
            });
            query.push(" ON CONFLICT (account_id, kind) DO NOTHING");
            query.build().execute(pool).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// The account's ledgers, main first.
pub async fn ledgers_of_account(db: &Db, account_id: i64) -> Result<Vec<Ledger>, StoreError> {
    let rows: Vec<LedgerRow> = on_db!(db, |pool| sqlx::query_as(&format!(
        "SELECT {LEDGER_COLUMNS} FROM ledgers WHERE account_id = $1 ORDER BY id"
    ))
    .bind(account_id)
    .fetch_all(pool)
    .await)?;
    let mut ledgers: Vec<Ledger> = rows
        .into_iter()
        .map(Ledger::try_from)
        .collect::<Result<_, _>>()?;
    ledgers.sort_by_key(|l| l.kind);
    Ok(ledgers)
}

/// The ledgers of many accounts, by account, main first.
pub async fn ledgers_of_accounts(
    db: &Db,
    account_ids: &[i64],
) -> Result<HashMap<i64, Vec<Ledger>>, StoreError> {
    let mut out: HashMap<i64, Vec<Ledger>> = HashMap::new();
    for chunk in account_ids.chunks(CHUNK) {
        let rows: Vec<LedgerRow> = on_db!(db, |pool| {
            let mut query = sqlx::QueryBuilder::new(format!(
                "SELECT {LEDGER_COLUMNS} FROM ledgers WHERE account_id IN ("
            ));
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(")");
            query.build_query_as().fetch_all(pool).await
        })?;
        for row in rows {
            let ledger = Ledger::try_from(row)?;
            out.entry(ledger.account_id).or_default().push(ledger);
        }
    }
    for ledgers in out.values_mut() {
        ledgers.sort_by_key(|l| l.kind);
    }
    Ok(out)
}

/// One ledger by id.
pub async fn ledger(db: &Db, id: i64) -> Result<Option<Ledger>, StoreError> {
    let row: Option<LedgerRow> = on_db!(db, |pool| sqlx::query_as(&format!(
        "SELECT {LEDGER_COLUMNS} FROM ledgers WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    row.map(Ledger::try_from).transpose()
}

/// What became of one posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// Appended now.
    New(Transaction),
    /// The ledger already had this idempotency key for the same request: the first result.
    Replayed(Transaction),
    /// The key was used before for a different request; nothing was posted.
    KeyReused,
    /// The transaction to reverse is not on this ledger or is reversed already.
    NotReversible,
}

impl Posted {
    /// The transaction, posted now or before.
    pub fn transaction(&self) -> Option<&Transaction> {
        match self {
            Posted::New(t) | Posted::Replayed(t) => Some(t),
            Posted::KeyReused | Posted::NotReversible => None,
        }
    }
}

/// Posts transactions (checked by the caller) to ledgers in one database transaction; the
/// results come in the order given.
pub async fn post(
    db: &Db,
    postings: &[(i64, NewTransaction)],
    now: DateTime<Utc>,
) -> Result<Vec<Posted>, StoreError> {
    if postings.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = db.begin().await?;
    let posted = post_in(&mut tx, postings, now).await?;
    tx.commit().await?;
    Ok(posted)
}

/// [`post`] inside a transaction the caller commits, for writes that must land together with
/// other rows (a payment's status and its ledger entry).
pub async fn post_in(
    tx: &mut Tx,
    postings: &[(i64, NewTransaction)],
    now: DateTime<Utc>,
) -> Result<Vec<Posted>, StoreError> {
    let mut ledger_ids: Vec<i64> = postings.iter().map(|(id, _)| *id).collect();
    ledger_ids.sort_unstable();
    ledger_ids.dedup();
    // Lock the ledgers (PostgreSQL; SQLite's write lock is already held) and read where they are.
    let mut state: HashMap<i64, (i64, i64, String)> = HashMap::new();
    let lock = if matches!(tx, Tx::Postgres(_)) {
        " FOR UPDATE"
    } else {
        ""
    };
    for chunk in ledger_ids.chunks(CHUNK) {
        let rows: Vec<LedgerRow> = on_tx!(&mut *tx, |conn| {
            let mut query = sqlx::QueryBuilder::new(format!(
                "SELECT {LEDGER_COLUMNS} FROM ledgers WHERE id IN ("
            ));
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(") ORDER BY id").push(lock);
            query.build_query_as().fetch_all(conn).await
        })?;
        for row in rows {
            state.insert(row.id, (row.balance, row.last_sequence, row.currency));
        }
    }
    // Idempotency keys each ledger has already seen, and the transactions to be reversed.
    let mut seen: HashMap<(i64, String), (Transaction, String)> = HashMap::new();
    for chunk in postings.chunks(CHUNK) {
        let rows: Vec<TransactionRow> = on_tx!(&mut *tx, |conn| {
            let mut query = sqlx::QueryBuilder::new(format!(
                "SELECT {TRANSACTION_COLUMNS} FROM ledger_transactions t JOIN ledgers l ON l.id = t.ledger_id \
                 WHERE (t.ledger_id, t.idempotency_key) IN ("
            ));
            let mut list = query.separated(", ");
            for (ledger, new) in chunk {
                list.push("(");
                list.push_bind_unseparated(*ledger);
                list.push_unseparated(", ");
                list.push_bind_unseparated(new.idempotency_key.as_str());
                list.push_unseparated(")");
            }
            query.push(")");
            query.build_query_as().fetch_all(conn).await
        })?;
        for row in rows {
            let (transaction, key, fingerprint) = row.into_transaction()?;
            seen.insert((transaction.ledger_id, key), (transaction, fingerprint));
        }
    }
    let reversed: Vec<i64> = postings.iter().filter_map(|(_, n)| n.reverses).collect();
    let mut reversible: HashMap<i64, i64> = HashMap::new();
    for chunk in reversed.chunks(CHUNK) {
        let rows: Vec<(i64, i64)> = on_tx!(&mut *tx, |conn| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT t.id, t.ledger_id FROM ledger_transactions t WHERE t.id IN (",
            );
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(
                ") AND NOT EXISTS (SELECT 1 FROM ledger_transactions r WHERE r.reverses = t.id)",
            );
            query.build_query_as().fetch_all(conn).await
        })?;
        reversible.extend(rows);
    }

    enum Plan {
        Insert(usize),
        Done(Posted),
        SameAs(usize),
    }
    let mut plans = Vec::with_capacity(postings.len());
    let mut inserts: Vec<(i64, &NewTransaction, i64, i64)> = Vec::new();
    let mut in_batch: HashMap<(i64, &str), (usize, String)> = HashMap::new();
    for (index, (ledger, new)) in postings.iter().enumerate() {
        let fingerprint = new.fingerprint();
        if let Some((existing, stored)) = seen.get(&(*ledger, new.idempotency_key.clone())) {
            plans.push(Plan::Done(if *stored == fingerprint {
                Posted::Replayed(existing.clone())
            } else {
                Posted::KeyReused
            }));
            continue;
        }
        if let Some((first, stored)) = in_batch.get(&(*ledger, new.idempotency_key.as_str())) {
            plans.push(if *stored == fingerprint {
                Plan::SameAs(*first)
            } else {
                Plan::Done(Posted::KeyReused)
            });
            continue;
        }
        if let Some(target) = new.reverses
            && reversible.remove(&target) != Some(*ledger)
        {
            plans.push(Plan::Done(Posted::NotReversible));
            continue;
        }
        let Some((balance, sequence, _)) = state.get_mut(ledger) else {
            return Err(StoreError::NotFound);
        };
        *balance = balance
            .checked_add(new.effect())
            .ok_or_else(|| StoreError::Corrupt("a ledger balance would overflow".into()))?;
        *sequence += 1;
        in_batch.insert(
            (*ledger, new.idempotency_key.as_str()),
            (index, fingerprint),
        );
        plans.push(Plan::Insert(inserts.len()));
        inserts.push((*ledger, new, *sequence, *balance));
    }

    let mut ids: HashMap<(i64, i64), i64> = HashMap::new();
    for chunk in inserts.chunks(CHUNK) {
        let rows: Vec<(i64, i64, i64)> = on_tx!(&mut *tx, |conn| {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO ledger_transactions (ledger_id, sequence, kind, reason, posted_date, created_at, \
                 net, tax, gross, title, note, reverses, balance_after, consumption_milli, imported, \
                 idempotency_key, fingerprint) ",
            );
            query.push_values(chunk, |mut row, (ledger, new, sequence, balance)| {
                row.push_bind(*ledger)
                    .push_bind(*sequence)
                    .push_bind(new.kind.as_str())
                    .push_bind(new.reason.as_str())
                    .push_bind(new.posted_date)
                    .push_bind(now)
                    .push_bind(new.amounts.net)
                    .push_bind(new.amounts.tax)
                    .push_bind(new.amounts.gross)
                    .push_bind(new.title.as_str())
                    .push_bind(new.note.as_deref())
                    .push_bind(new.reverses)
                    .push_bind(*balance)
                    .push_bind(new.consumption_milli)
                    .push_bind(new.imported)
                    .push_bind(new.idempotency_key.as_str())
                    .push_bind(new.fingerprint());
            });
            query.push(" RETURNING id, ledger_id, sequence");
            query.build_query_as().fetch_all(conn).await
        })?;
        for (id, ledger, sequence) in rows {
            ids.insert((ledger, sequence), id);
        }
    }
    let moved: Vec<(i64, i64, i64)> = state
        .iter()
        .map(|(id, (balance, sequence, _))| (*id, *balance, *sequence))
        .collect();
    for chunk in moved.chunks(CHUNK) {
        on_tx!(&mut *tx, |conn| {
            let mut query = sqlx::QueryBuilder::new("WITH v (id, balance, last_sequence) AS (");
            query.push_values(chunk, |mut row, (id, balance, sequence)| {
                row.push_bind(*id).push_bind(*balance).push_bind(*sequence);
            });
            query.push(
                ") UPDATE ledgers SET balance = v.balance, last_sequence = v.last_sequence \
                 FROM v WHERE ledgers.id = v.id AND ledgers.last_sequence <> v.last_sequence",
            );
            query.build().execute(conn).await.map(|_| ())
        })?;
    }

    let mut out: Vec<Posted> = Vec::with_capacity(postings.len());
    for plan in plans {
        let posted = match plan {
            Plan::Done(posted) => posted,
            Plan::SameAs(first) => match &out[first] {
                Posted::New(t) | Posted::Replayed(t) => Posted::Replayed(t.clone()),
                other => other.clone(),
            },
            Plan::Insert(i) => {
                let (ledger, new, sequence, balance) = inserts[i];
                let id = ids
                    .get(&(ledger, sequence))
                    .copied()
                    .ok_or(StoreError::NotFound)?;
                let currency = state.get(&ledger).map(|s| s.2.clone()).unwrap_or_default();
                Posted::New(Transaction {
                    id,
                    ledger_id: ledger,
                    sequence,
                    kind: new.kind,
                    reason: new.reason,
                    posted_date: new.posted_date,
                    created_at: now,
                    amounts: new.amounts,
                    currency,
                    title: new.title.clone(),
                    note: new.note.clone(),
                    reverses: new.reverses,
                    balance_after: balance,
                    consumption_milli: new.consumption_milli,
                    imported: new.imported,
                })
            }
        };
        out.push(posted);
    }
    Ok(out)
}

/// Which of a ledger's transactions to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionQuery {
    pub ledger_ids: Vec<i64>,
    /// Only these kinds (empty: every kind).
    pub kinds: Vec<TransactionKind>,
    /// Only these reasons (empty: every reason).
    pub reasons: Vec<TransactionReason>,
    /// Leave these reasons out.
    pub reasons_excluded: Vec<TransactionReason>,
    /// Only transactions matching at least one of these (empty: no such filter).
    pub any_of: Vec<Selection>,
    /// Leave out transactions matching any of these.
    pub none_of: Vec<Selection>,
    /// Only transactions after this sequence of their ledger (a statement's open part).
    pub after_sequence: Option<i64>,
    /// Only transactions up to this sequence of their ledger.
    pub up_to_sequence: Option<i64>,
    pub from_date: Option<NaiveDate>,
    pub to_date: Option<NaiveDate>,
    pub newest_first: bool,
}

/// A class of transactions, as the API filters them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Gas or electricity charges (consumption and standing charges).
    EnergyCharges,
    /// Water charges: this platform supplies none, so nothing matches.
    WaterCharges,
    /// Brought in from another system, of this kind.
    Imported(TransactionKind),
    /// Not yet on any issued statement or invoice.
    Unissued,
}

impl Selection {
    /// The SQL condition on `t` (a `ledger_transactions` row); constant text, never user input.
    fn sql(self) -> &'static str {
        match self {
            Selection::EnergyCharges => {
                "(t.kind = 'CHARGE' AND t.reason IN ('ELECTRICITY_CONSUMPTION', 'ELECTRICITY_STANDING_CHARGE', \
                 'GAS_CONSUMPTION', 'GAS_STANDING_CHARGE'))"
            }
            Selection::WaterCharges => "(1 = 0)",
            Selection::Imported(TransactionKind::Charge) => {
                "(t.imported = TRUE AND t.kind = 'CHARGE')"
            }
            Selection::Imported(TransactionKind::Credit) => {
                "(t.imported = TRUE AND t.kind = 'CREDIT')"
            }
            Selection::Imported(TransactionKind::Payment) => {
                "(t.imported = TRUE AND t.kind = 'PAYMENT')"
            }
            Selection::Imported(TransactionKind::Refund) => {
                "(t.imported = TRUE AND t.kind = 'REFUND')"
            }
            Selection::Unissued => {
                "NOT EXISTS (SELECT 1 FROM statements s WHERE s.ledger_id = t.ledger_id \
                 AND s.issued_at IS NOT NULL AND t.sequence > s.opening_sequence \
                 AND t.sequence <= s.closing_sequence)"
            }
        }
    }
}

/// A transaction as read back, with whether a later one reversed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadTransaction {
    pub transaction: Transaction,
    pub reversed: bool,
}

fn push_filters<'a, DB: sqlx::Database>(
    query: &mut sqlx::QueryBuilder<'a, DB>,
    filter: &'a TransactionQuery,
) where
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    NaiveDate: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    query.push(" WHERE t.ledger_id IN (");
    let mut list = query.separated(", ");
    for id in &filter.ledger_ids {
        list.push_bind(*id);
    }
    query.push(")");
    let lists: [(&str, Vec<&'a str>); 3] = [
        (
            " AND t.kind IN (",
            filter.kinds.iter().map(|k| k.as_str()).collect(),
        ),
        (
            " AND t.reason IN (",
            filter.reasons.iter().map(|r| r.as_str()).collect(),
        ),
        (
            " AND t.reason NOT IN (",
            filter.reasons_excluded.iter().map(|r| r.as_str()).collect(),
        ),
    ];
    for (clause, values) in lists {
        if values.is_empty() {
            continue;
        }
        query.push(clause);
        let mut list = query.separated(", ");
        for value in values {
            list.push_bind(value);
        }
        query.push(")");
    }
    if !filter.any_of.is_empty() {
        let any: Vec<&str> = filter.any_of.iter().map(|s| s.sql()).collect();
        query.push(" AND (").push(any.join(" OR ")).push(")");
    }
    for selection in &filter.none_of {
        query.push(" AND NOT ").push(selection.sql());
    }
    if let Some(after) = filter.after_sequence {
        query.push(" AND t.sequence > ").push_bind(after);
    }
    if let Some(up_to) = filter.up_to_sequence {
        query.push(" AND t.sequence <= ").push_bind(up_to);
    }
    if let Some(from) = filter.from_date {
        query.push(" AND t.posted_date >= ").push_bind(from);
    }
    if let Some(to) = filter.to_date {
        query.push(" AND t.posted_date <= ").push_bind(to);
    }
}

/// How many transactions match.
pub async fn count_transactions(db: &Db, filter: &TransactionQuery) -> Result<i64, StoreError> {
    if filter.ledger_ids.is_empty() {
        return Ok(0);
    }
    on_db!(db, |pool| {
        let mut query = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM ledger_transactions t");
        push_filters(&mut query, filter);
        query
            .build_query_scalar::<i64>()
            .fetch_one(pool)
            .await
            .map_err(StoreError::from)
    })
}

/// A page of the matching transactions: `offset` rows skipped, at most `limit`, ordered by posted
/// date (then by when they were posted).
pub async fn transactions(
    db: &Db,
    filter: &TransactionQuery,
    offset: i64,
    limit: i64,
) -> Result<Vec<ReadTransaction>, StoreError> {
    if filter.ledger_ids.is_empty() || limit <= 0 {
        return Ok(Vec::new());
    }
    let order = if filter.newest_first {
        " ORDER BY t.posted_date DESC, t.id DESC"
    } else {
        " ORDER BY t.posted_date, t.id"
    };
    let rows: Vec<(TransactionRow, bool)> = on_db!(db, |pool| {
        let mut query = sqlx::QueryBuilder::new(format!(
            "SELECT {TRANSACTION_COLUMNS}, EXISTS (SELECT 1 FROM ledger_transactions r WHERE r.reverses = t.id) AS reversed \
             FROM ledger_transactions t JOIN ledgers l ON l.id = t.ledger_id"
        ));
        push_filters(&mut query, filter);
        query.push(order);
        query.push(" LIMIT ").push_bind(limit);
        query.push(" OFFSET ").push_bind(offset);
        query
            .build()
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)
            .and_then(|rows| {
                rows.iter()
                    .map(|row| {
                        use sqlx::{FromRow, Row};
                        Ok((
                            TransactionRow::from_row(row)?,
                            row.try_get::<bool, _>("reversed")?,
                        ))
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
                    .map_err(StoreError::from)
            })
    })?;
    rows.into_iter()
        .map(|(row, reversed)| {
            let (transaction, _, _) = row.into_transaction()?;
            Ok(ReadTransaction {
                transaction,
                reversed,
            })
        })
        .collect()
}

/// One transaction by id.
pub async fn transaction(db: &Db, id: i64) -> Result<Option<Transaction>, StoreError> {
    let row: Option<TransactionRow> = on_db!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT {TRANSACTION_COLUMNS} FROM ledger_transactions t JOIN ledgers l ON l.id = t.ledger_id WHERE t.id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
    })?;
    row.map(|r| r.into_transaction().map(|(t, _, _)| t))
        .transpose()
}

/// A ledger whose stored figures disagree with its transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discrepancy {
    pub ledger_id: i64,
    pub number: String,
    pub stored_balance: i64,
    pub sum_of_transactions: i64,
    pub stored_last_sequence: i64,
    pub transactions: i64,
    /// Transactions whose `balance_after` is not the running sum up to them.
    pub broken_running_balances: i64,
}

/// What a verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    pub ledgers: u64,
    pub transactions: u64,
    pub discrepancies: Vec<Discrepancy>,
}

/// Checks every ledger, `batch` ledgers at a time (memory stays flat): its stored balance is the
/// sum of its transactions, its sequence has no gaps, and every running balance is the sum up to it.
pub async fn verify(db: &Db, batch: i64) -> Result<Verification, StoreError> {
    let batch = batch.max(1);
    let mut report = Verification::default();
    let mut after = 0i64;
    loop {
        type Row = (i64, String, i64, i64, i64, i64, i64, i64);
        let rows: Vec<Row> = on_db!(db, |pool| {
            sqlx::query_as(&format!(
            "WITH page AS (SELECT id, number, balance, last_sequence FROM ledgers WHERE id > $1 ORDER BY id LIMIT $2), \
             running AS ( \
                 SELECT ledger_id, sequence, balance_after, \
                        SUM({EFFECT_SQL}) OVER (PARTITION BY ledger_id ORDER BY sequence) AS running, \
                        {EFFECT_SQL} AS effect \
                 FROM ledger_transactions WHERE ledger_id IN (SELECT id FROM page)) \
             SELECT p.id, p.number, p.balance, p.last_sequence, \
                    CAST(COALESCE(SUM(r.effect), 0) AS BIGINT), COUNT(r.ledger_id), \
                    CAST(COALESCE(MAX(r.sequence), 0) AS BIGINT), \
                    CAST(COALESCE(SUM(CASE WHEN r.running <> r.balance_after THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM page p LEFT JOIN running r ON r.ledger_id = p.id \
             GROUP BY p.id, p.number, p.balance, p.last_sequence ORDER BY p.id"
        ))
        .bind(after)
        .bind(batch)
        .fetch_all(pool)
        .await
        })?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.0;
        for (id, number, balance, last_sequence, sum, count, max_sequence, broken) in rows {
            report.ledgers += 1;
            report.transactions += u64::try_from(count).unwrap_or(0);
            if balance != sum || last_sequence != count || max_sequence != count || broken != 0 {
                report.discrepancies.push(Discrepancy {
                    ledger_id: id,
                    number,
                    stored_balance: balance,
                    sum_of_transactions: sum,
                    stored_last_sequence: last_sequence,
                    transactions: count,
                    broken_running_balances: broken,
                });
            }
        }
    }
    Ok(report)
}

/// Sums of the given ledgers' transactions by ledger, up to and including `up_to` (a posted date),
/// for balances at a date.
pub async fn balances_on(
    db: &Db,
    ledger_ids: &[i64],
    up_to: NaiveDate,
) -> Result<BTreeMap<i64, i64>, StoreError> {
    let mut out = BTreeMap::new();
    for chunk in ledger_ids.chunks(CHUNK) {
        let rows: Vec<(i64, i64)> = on_db!(db, |pool| {
            let mut query = sqlx::QueryBuilder::new(format!(
                "SELECT ledger_id, CAST(SUM({EFFECT_SQL}) AS BIGINT) FROM ledger_transactions WHERE posted_date <= "
            ));
            query.push_bind(up_to);
            query.push(" AND ledger_id IN (");
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(") GROUP BY ledger_id");
            query.build_query_as().fetch_all(pool).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// Everything paid or credited to the given ledgers after `after` (a posted date), in minor units.
pub async fn money_in_after(
    db: &Db,
    ledger_ids: &[i64],
    after: NaiveDate,
) -> Result<i64, StoreError> {
    let mut total = 0i64;
    for chunk in ledger_ids.chunks(CHUNK) {
        let sum: Option<i64> = on_db!(db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT CAST(SUM(gross) AS BIGINT) FROM ledger_transactions \
                 WHERE kind IN ('CREDIT', 'PAYMENT') AND posted_date > ",
            );
            query.push_bind(after);
            query.push(" AND ledger_id IN (");
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(")");
            query.build_query_scalar().fetch_one(pool).await
        })?;
        total += sum.unwrap_or(0);
    }
    Ok(total)
}

/// Which ledger transactions a billing document covers (see the `statements` table).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DocumentSpan {
    pub id: i64,
    pub ledger_id: i64,
    pub identifier: String,
    pub opening_sequence: i64,
    pub closing_sequence: i64,
    pub held: bool,
    pub issued: bool,
}

impl DocumentSpan {
    pub fn covers(&self, transaction: &Transaction) -> bool {
        transaction.ledger_id == self.ledger_id
            && transaction.sequence > self.opening_sequence
            && transaction.sequence <= self.closing_sequence
    }
}

/// The billing documents of the given ledgers that cover any sequence in `first..=last`, newest
/// first, to say which document each of a page of transactions is on.
pub async fn document_spans(
    db: &Db,
    ledger_ids: &[i64],
    first: i64,
    last: i64,
) -> Result<Vec<DocumentSpan>, StoreError> {
    let mut out = Vec::new();
    for chunk in ledger_ids.chunks(CHUNK) {
        let rows: Vec<DocumentSpan> = on_db!(db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT id, ledger_id, identifier, opening_sequence, closing_sequence, held, \
                 (issued_at IS NOT NULL) AS issued FROM statements WHERE closing_sequence >= ",
            );
            query.push_bind(first);
            query.push(" AND opening_sequence < ").push_bind(last);
            query.push(" AND ledger_id IN (");
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(") ORDER BY id DESC");
            query.build_query_as().fetch_all(pool).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}
