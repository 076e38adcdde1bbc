//! Ledgers and transactions: `AccountType.ledgers`, `balance`, `overdueBalance` and `transactions`,
//! `LedgerType`, and the `TransactionType` interface with its `Charge`, `Credit`, `Payment` and
//! `Refund` nodes.

use async_graphql::{Context, Enum, ID, Interface, Object, SimpleObject};
use resiflex_domain::money::{Ledger, LedgerKind, Transaction, TransactionKind};
use resiflex_money::ledger;
use resiflex_store::accounts::Account;
use resiflex_store::ledgers::{self, DocumentSpan, ReadTransaction, Selection, TransactionQuery};

use super::payments::types::RepaymentRequestType;
use super::{minor_int, money_error};
use crate::connection::{NamedConnection, PageArgs, encode_cursor, named_connection};
use crate::connection_names;
use crate::enums::{TransactionTypeFilter, TransactionsOrderBy};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::api;
use crate::scalars::{Date, DateTime, Decimal};

connection_names!(
    TransactionNames,
    "TransactionConnectionTypeConnection",
    "TransactionConnectionTypeEdge"
);

connection_names!(
    RepaymentRequestNames,
    "RepaymentRequestConnectionTypeConnection",
    "RepaymentRequestConnectionTypeEdge"
);
connection_names!(
    RefundRequestNames,
    "RefundRequestConnectionTypeConnection",
    "RefundRequestConnectionTypeEdge"
);

/// The transactions connection.
pub type TransactionConnection = NamedConnection<TransactionInterface, TransactionNames>;

fn ledger_error(err: resiflex_money::MoneyError) -> KrakenError {
    money_error(err, ErrorCode::LedgerUnauthorized, ErrorCode::InvalidLedger)
}

/// The account's ledgers, main first (opened on first use).
pub async fn ledgers_of(ctx: &Context<'_>, account: &Account) -> ApiResult<Vec<Ledger>> {
    let api = api(ctx)?;
    ledger::ledgers_of(&api.db, account, api.clock.now())
        .await
        .map_err(ledger_error)
}

/// `AccountType.ledgers(ledgerNumber, includeDebtLedgers)`: this platform keeps no separate debt
/// ledgers, so `includeDebtLedgers` changes nothing.
pub async fn account_ledgers(
    ctx: &Context<'_>,
    account: &Account,
    ledger_number: Option<String>,
) -> ApiResult<Vec<LedgerType>> {
    let ledgers = ledgers_of(ctx, account).await?;
    Ok(ledgers
        .into_iter()
        .filter(|l| {
            ledger_number
                .as_deref()
                .is_none_or(|n| l.number.eq_ignore_ascii_case(n.trim()))
        })
        .map(|ledger| LedgerType {
            ledger,
            account_number: account.number.clone(),
        })
        .collect())
}

/// `AccountType.balance(includeAllLedgers)`: positive when the customer is in credit.
pub async fn account_balance(
    ctx: &Context<'_>,
    account: &Account,
    include_all_ledgers: bool,
) -> ApiResult<i32> {
    let ledgers = ledgers_of(ctx, account).await?;
    minor_int(ledger::balance(&ledgers, include_all_ledgers))
}

/// `AccountType.overdueBalance`: what the customer has owed for longer than the payment terms.
pub async fn account_overdue_balance(ctx: &Context<'_>, account: &Account) -> ApiResult<i32> {
    let api = api(ctx)?;
    let ledgers = ledgers_of(ctx, account).await?;
    let today = api.clock.now().date_naive();
    let overdue = ledger::overdue_balance(&api.db, &ledgers, today)
        .await
        .map_err(ledger_error)?;
    minor_int(overdue)
}

/// The arguments of a transactions connection.
#[derive(Debug, Clone, Default)]
pub struct TransactionArgs {
    pub transaction_types: Vec<TransactionTypeFilter>,
    pub transaction_types_excluded: Vec<TransactionTypeFilter>,
    pub from_date: Option<Date>,
    pub to_date: Option<Date>,
    pub order_by: Option<TransactionsOrderBy>,
    pub offset: Option<i32>,
    pub page: PageArgs,
}

/// The filters of a `[TransactionTypeFilter]` argument: null, an empty list and null items all
/// mean no filter.
pub fn filters(list: Option<Vec<Option<TransactionTypeFilter>>>) -> Vec<TransactionTypeFilter> {
    list.into_iter().flatten().flatten().collect()
}

fn selection(filter: TransactionTypeFilter) -> Selection {
    match filter {
        TransactionTypeFilter::UnissuedTransactions => Selection::Unissued,
        TransactionTypeFilter::EnergyCharges => Selection::EnergyCharges,
        TransactionTypeFilter::WaterCharges => Selection::WaterCharges,
        TransactionTypeFilter::ImportedCharges => Selection::Imported(TransactionKind::Charge),
        TransactionTypeFilter::ImportedCredits => Selection::Imported(TransactionKind::Credit),
        TransactionTypeFilter::ImportedPayments => Selection::Imported(TransactionKind::Payment),
        TransactionTypeFilter::ImportedRepayments => Selection::Imported(TransactionKind::Refund),
    }
}

impl TransactionArgs {
    /// The store query for these arguments over `ledger_ids`.
    pub fn query(&self, ledger_ids: Vec<i64>) -> ApiResult<TransactionQuery> {
        if let (Some(from), Some(to)) = (self.from_date, self.to_date)
            && to.0 < from.0
        {
            return Err(KrakenError::with_message(
                ErrorCode::InvalidInput,
                "`toDate` must not be before `fromDate`",
            ));
        }
        Ok(TransactionQuery {
            ledger_ids,
            any_of: self
                .transaction_types
                .iter()
                .copied()
                .map(selection)
                .collect(),
            none_of: self
                .transaction_types_excluded
                .iter()
                .copied()
                .map(selection)
                .collect(),
            from_date: self.from_date.map(|d| d.0),
            to_date: self.to_date.map(|d| d.0),
            newest_first: self.order_by.unwrap_or(TransactionsOrderBy::PostedDateDesc)
                == TransactionsOrderBy::PostedDateDesc,
            ..TransactionQuery::default()
        })
    }

    /// The page arguments with `offset` folded in (an offset is a cursor of the row before it).
    fn page(&self) -> ApiResult<PageArgs> {
        let mut page = self.page.clone();
        match self.offset {
            Some(n) if n < 0 => {
                return Err(KrakenError::with_message(
                    ErrorCode::InvalidInput,
                    "`offset` must not be negative",
                ));
            }
            Some(n) if n > 0 && page.after.is_none() => {
                page.after = Some(encode_cursor(usize::try_from(n - 1).unwrap_or(0)));
            }
            _ => {}
        }
        Ok(page)
    }
}

/// One page of the transactions `query` selects, as a connection.
pub async fn transactions_connection(
    ctx: &Context<'_>,
    account_number: &str,
    query: TransactionQuery,
    args: &TransactionArgs,
) -> ApiResult<TransactionConnection> {
    let db = &api(ctx)?.db;
    let store = |e: resiflex_store::StoreError| KrakenError::internal("transactions", &e);
    let total = ledgers::count_transactions(db, &query)
        .await
        .map_err(store)?;
    let total = usize::try_from(total).unwrap_or(0);
    let window = args.page()?.window(total)?;
    let rows = ledgers::transactions(
        db,
        &query,
        i64::try_from(window.offset).unwrap_or(i64::MAX),
        i64::try_from(window.limit).unwrap_or(0),
    )
    .await
    .map_err(store)?;
    let nodes = transaction_nodes(ctx, account_number, rows).await?;
    Ok(named_connection(window, total, nodes))
}

/// The nodes of transactions read from one account's ledgers, with the billing document each is on.
pub async fn transaction_nodes(
    ctx: &Context<'_>,
    account_number: &str,
    rows: Vec<ReadTransaction>,
) -> ApiResult<Vec<TransactionInterface>> {
    let db = &api(ctx)?.db;
    let spans = match (
        rows.iter().map(|r| r.transaction.sequence).min(),
        rows.iter().map(|r| r.transaction.sequence).max(),
    ) {
        (Some(first), Some(last)) => {
            let mut ids: Vec<i64> = rows.iter().map(|r| r.transaction.ledger_id).collect();
            ids.sort_unstable();
            ids.dedup();
            ledgers::document_spans(db, &ids, first, last)
                .await
                .map_err(|e| KrakenError::internal("billing documents", &e))?
        }
        _ => Vec::new(),
    };
    rows.into_iter()
        .map(|row| {
            TransactionNode::new(account_number, row, &spans).map(TransactionNode::into_node)
        })
        .collect()
}

/// A ledger of an account.
pub struct LedgerType {
    pub ledger: Ledger,
    pub account_number: String,
}

impl LedgerType {
    /// One page of the ledger's repayment requests.
    async fn requests(
        &self,
        ctx: &Context<'_>,
        page: &PageArgs,
    ) -> ApiResult<(crate::connection::Window, usize, Vec<RepaymentRequestType>)> {
        let requests = resiflex_store::payments::requests_of_ledger(&api(ctx)?.db, self.ledger.id)
            .await
            .map_err(|e| KrakenError::internal("repayment requests", &e))?;
        let total = requests.len();
        let window = page.window(total)?;
        let nodes = requests
            .into_iter()
            .skip(window.offset)
            .take(window.limit)
            .map(RepaymentRequestType)
            .collect();
        Ok((window, total, nodes))
    }
}

#[Object(name = "LedgerType")]
impl LedgerType {
    /// The ledger number, for example `L-3F7K9Q2M1`: give it wherever a `ledgerNumber` is asked for.
    async fn number(&self) -> &str {
        &self.ledger.number
    }

    #[graphql(deprecation = "Use `number`.")]
    async fn id(&self) -> ID {
        ID(self.ledger.id.to_string())
    }

    async fn name(&self) -> &str {
        self.ledger.kind.display_name()
    }

    /// `MAIN_LEDGER` or `CHARGING_LEDGER`.
    async fn ledger_type(&self) -> &str {
        self.ledger.kind.code()
    }

    /// Minor units; positive when the customer is in credit.
    async fn balance(&self) -> ApiResult<i32> {
        minor_int(self.ledger.balance)
    }

    /// Minor units; positive when the customer owes money.
    async fn amount_owed_by_customer(&self) -> ApiResult<i32> {
        minor_int(self.ledger.amount_owed_by_customer())
    }

    /// Every ledger counts towards `AccountType.balance(includeAllLedgers: true)`.
    async fn affects_account_balance(&self) -> bool {
        true
    }

    async fn accepts_payments(&self) -> bool {
        true
    }

    async fn supports_statements(&self) -> bool {
        true
    }

    async fn supports_invoices(&self) -> bool {
        false
    }

    /// ISO 4217 code of the ledger's currency.
    async fn currency(&self) -> &str {
        &self.ledger.currency
    }

    /// The customer's requests for money back from this ledger, newest first.
    async fn repayment_requests(
        &self,
        ctx: &Context<'_>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<NamedConnection<RepaymentRequestType, RepaymentRequestNames>> {
        let page = PageArgs {
            first,
            last,
            before,
            after,
        };
        let (window, total, nodes) = self.requests(ctx, &page).await?;
        Ok(named_connection(window, total, nodes))
    }

    /// The same requests under their other name.
    async fn refund_requests(
        &self,
        ctx: &Context<'_>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<NamedConnection<RepaymentRequestType, RefundRequestNames>> {
        let page = PageArgs {
            first,
            last,
            before,
            after,
        };
        let (window, total, nodes) = self.requests(ctx, &page).await?;
        Ok(named_connection(window, total, nodes))
    }

    /// The ledger's transactions, newest first by default.
    #[allow(clippy::too_many_arguments)]
    async fn transactions(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] transaction_types: Option<Vec<Option<TransactionTypeFilter>>>,
        from_date: Option<Date>,
        to_date: Option<Date>,
        #[graphql(default_with = "Some(TransactionsOrderBy::PostedDateDesc)")] order_by: Option<
            TransactionsOrderBy,
        >,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<TransactionConnection> {
        let args = TransactionArgs {
            transaction_types: filters(transaction_types),
            from_date,
            to_date,
            order_by,
            page: PageArgs {
                first,
                last,
                before,
                after,
            },
            ..TransactionArgs::default()
        };
        let query = args.query(vec![self.ledger.id])?;
        transactions_connection(ctx, &self.account_number, query, &args).await
    }
}

/// `AccountType.transactions`: the main ledger's (or with `includeAllLedgers`, every ledger's, or
/// one ledger's by number) transactions.
pub async fn account_transactions(
    ctx: &Context<'_>,
    account: &Account,
    ledger_number: Option<String>,
    include_all_ledgers: bool,
    args: TransactionArgs,
) -> ApiResult<TransactionConnection> {
    let ledgers = ledgers_of(ctx, account).await?;
    let ids: Vec<i64> = match ledger_number.as_deref() {
        Some(number) => {
            let ledger = ledgers
                .iter()
                .find(|l| l.number.eq_ignore_ascii_case(number.trim()))
                .ok_or_else(|| {
                    KrakenError::with_message(
                        ErrorCode::InvalidLedgerIdentifier,
                        format!("The account has no ledger {number:?}."),
                    )
                })?;
            vec![ledger.id]
        }
        None => ledgers
            .iter()
            .filter(|l| include_all_ledgers || l.kind == LedgerKind::Main)
            .map(|l| l.id)
            .collect(),
    };
    let query = args.query(ids)?;
    transactions_connection(ctx, &account.number, query, &args).await
}

/// A transaction's amounts in minor units; payments and repayments fill only `net` (and `gross`).
#[derive(SimpleObject, Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionAmountType {
    pub net: i32,
    pub tax: i32,
    pub gross: i32,
}

/// How much a consumption charge was for.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct ConsumptionType {
    /// The quantity, exact to the thousandth.
    pub quantity: Decimal,
    pub unit: ConsumptionUnit,
}

/// The unit of a consumption figure.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumptionUnit {
    #[graphql(name = "kWh")]
    KWh,
}

/// The figures every transaction node shows, worked out once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionNode {
    transaction: Transaction,
    account_number: String,
    amounts: TransactionAmountType,
    balance_carried_forward: i32,
    reversed: bool,
    /// The newest billing document that includes it.
    document: Option<DocumentSpan>,
    issued: bool,
}

impl TransactionNode {
    fn new(account_number: &str, row: ReadTransaction, spans: &[DocumentSpan]) -> ApiResult<Self> {
        let t = row.transaction;
        let covering: Vec<&DocumentSpan> = spans.iter().filter(|s| s.covers(&t)).collect();
        Ok(TransactionNode {
            amounts: TransactionAmountType {
                net: minor_int(t.amounts.net)?,
                tax: minor_int(t.amounts.tax)?,
                gross: minor_int(t.amounts.gross)?,
            },
            balance_carried_forward: minor_int(t.balance_after)?,
            account_number: account_number.to_owned(),
            reversed: row.reversed,
            document: covering.first().map(|s| (*s).clone()),
            issued: covering.iter().any(|s| s.issued),
            transaction: t,
        })
    }

    fn into_node(self) -> TransactionInterface {
        match self.transaction.kind {
            TransactionKind::Charge => TransactionInterface::Charge(Charge(self)),
            TransactionKind::Credit => TransactionInterface::Credit(Credit(self)),
            TransactionKind::Payment => TransactionInterface::Payment(Payment(self)),
            TransactionKind::Refund => TransactionInterface::Refund(Refund(self)),
        }
    }
}

/// Generates a transaction node type: the fields of `TransactionType`, then `$extra`.
macro_rules! transaction_node {
    ($(#[$doc:meta])* $name:ident, $graphql:literal, { $($extra:tt)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub TransactionNode);

        #[Object(name = $graphql)]
        impl $name {
            async fn id(&self) -> ID {
                ID(self.0.transaction.id.to_string())
            }

            async fn account_number(&self) -> String {
                self.0.account_number.clone()
            }

            async fn posted_date(&self) -> Date {
                Date(self.0.transaction.posted_date)
            }

            async fn created_at(&self) -> DateTime {
                DateTime(self.0.transaction.created_at)
            }

            async fn title(&self) -> String {
                self.0.transaction.title.clone()
            }

            /// Net, tax and gross, in minor units; the node type gives the direction.
            async fn amounts(&self) -> TransactionAmountType {
                self.0.amounts
            }

            #[graphql(deprecation = "Use `amounts`.")]
            async fn amount(&self) -> i32 {
                self.0.amounts.gross
            }

            /// The ledger balance just after this transaction, in minor units.
            async fn balance_carried_forward(&self) -> i32 {
                self.0.balance_carried_forward
            }

            /// The newest billing document that includes this transaction.
            async fn billing_document_identifier(&self) -> Option<ID> {
                self.0.document.as_ref().map(|d| ID(d.identifier.clone()))
            }

            #[graphql(deprecation = "Use `billingDocumentIdentifier`.")]
            async fn statement_id(&self) -> Option<ID> {
                self.0.document.as_ref().map(|d| ID(d.id.to_string()))
            }

            async fn has_statement(&self) -> bool {
                self.0.document.is_some()
            }

            /// Whether its statement is held for review rather than sent.
            async fn is_held(&self) -> bool {
                self.0.document.as_ref().is_some_and(|d| d.held)
            }

            /// Whether it has been on an issued billing document.
            async fn is_issued(&self) -> bool {
                self.0.issued
            }

            /// Whether a later transaction reversed it.
            async fn is_reversed(&self) -> bool {
                self.0.reversed
            }

            async fn note(&self) -> Option<String> {
                self.0.transaction.note.clone()
            }

            /// Why it was posted, for example `ELECTRICITY_CONSUMPTION` or `REVERSAL`.
            async fn reason_code(&self) -> Option<String> {
                Some(self.0.transaction.reason.as_str().to_owned())
            }

            #[graphql(deprecation = "Use `__typename`.")]
            async fn is_account_charge(&self) -> bool {
                self.0.transaction.kind == TransactionKind::Charge
            }

            #[graphql(deprecation = "Use `__typename`.")]
            async fn is_account_payment(&self) -> bool {
                self.0.transaction.kind == TransactionKind::Payment
            }

            #[graphql(deprecation = "Use `__typename`.")]
            async fn is_credit(&self) -> bool {
                self.0.transaction.kind == TransactionKind::Credit
            }

            $($extra)*
        }
    };
}

transaction_node!(
    /// A charge: energy, standing or other charges the customer owes.
    Charge, "Charge", {
        /// How much was used, for a consumption charge.
        async fn consumption(&self) -> Option<ConsumptionType> {
            self.0.transaction.consumption_milli.map(|milli| ConsumptionType {
                quantity: Decimal(rust_decimal::Decimal::new(milli, 3)),
                unit: ConsumptionUnit::KWh,
            })
        }
    }
);

transaction_node!(
    /// A credit: a reward, goodwill, export payment or reversed charge.
    Credit, "Credit", {}
);

transaction_node!(
    /// Money from the customer.
    Payment, "Payment", {}
);

transaction_node!(
    /// Money back to the customer.
    Refund, "Refund", {}
);

/// A ledger entry; the concrete type (`__typename`) gives its direction.
// The derive's repeated `ty = "String"` is not a duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface, Debug, Clone, PartialEq, Eq)]
#[graphql(
    name = "TransactionType",
    field(name = "id", ty = "ID"),
    field(name = "account_number", ty = "String"),
    field(name = "posted_date", ty = "Date"),
    field(name = "created_at", ty = "DateTime"),
    field(name = "title", ty = "String"),
    field(name = "amounts", ty = "TransactionAmountType"),
    field(name = "amount", ty = "i32", deprecation = "Use `amounts`."),
    field(name = "balance_carried_forward", ty = "i32"),
    field(name = "billing_document_identifier", ty = "Option<ID>"),
    field(
        name = "statement_id",
        ty = "Option<ID>",
        deprecation = "Use `billingDocumentIdentifier`."
    ),
    field(name = "has_statement", ty = "bool"),
    field(name = "is_held", ty = "bool"),
    field(name = "is_issued", ty = "bool"),
    field(name = "is_reversed", ty = "bool"),
    field(name = "note", ty = "Option<String>"),
    field(name = "reason_code", ty = "Option<String>"),
    field(
        name = "is_account_charge",
        ty = "bool",
        deprecation = "Use `__typename`."
    ),
    field(
        name = "is_account_payment",
        ty = "bool",
        deprecation = "Use `__typename`."
    ),
    field(name = "is_credit", ty = "bool", deprecation = "Use `__typename`.")
)]
pub enum TransactionInterface {
    Charge(Charge),
    Credit(Credit),
    Payment(Payment),
    Refund(Refund),
}
