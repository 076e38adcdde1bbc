//! Bills: `AccountType.bills`, `AccountType.bill`, the `BillInterface` with its `StatementType`,
//! their attachments (short-lived signed links to the PDF), and the account's `billingOptions`
//! and `billingTriggerConfiguration`. The rules live in `resiflex_money::billing` and
//! `resiflex_money::documents`; the document route is [`download`].

pub mod download;
pub mod triggers;

use async_graphql::{Context, ID, Interface, Object, SimpleObject};
use chrono::Datelike;
use resiflex_domain::billing::{StatementStatus, TriggerFrequency};
use resiflex_domain::money::Ledger;
use resiflex_money::billing::{self, statements};
use resiflex_money::documents::link::{self, Format};
use resiflex_store::accounts::Account;
use resiflex_store::billing::{Statement, StatementOrder, StatementQuery};

use super::ledgers::{TransactionArgs, TransactionConnection, ledgers_of, transactions_connection};
use super::{minor_int, money_error};
use crate::auth::access::may_see_account;
use crate::auth::authorise;
use crate::connection::{NamedConnection, PageArgs, encode_cursor, named_connection};
use crate::connection_names;
use crate::enums::{
    AccountBillingOptionsPeriodLength, BillTypeEnum, BillingTriggerFrequency,
    BillingTriggerOperationType, BillingTriggerTargetType, BillsOrderBy,
    StatementReversalsAfterClose,
};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::api;
use crate::scalars::{Date, DateTime};

connection_names!(
    BillNames,
    "BillConnectionTypeConnection",
    "BillConnectionTypeEdge"
);
connection_names!(
    AttachmentNames,
    "BillingAttachmentConnectionTypeConnection",
    "BillingAttachmentConnectionTypeEdge"
);

/// The error codes of the bill operations (the `AccountType` fields answer KT-CT-3824 for a
/// bill the caller may not see and KT-CT-9705 for a document of an open statement).
pub const ERRORS: &[crate::ops::OperationErrors] = &[crate::ops::protected(
    "billingTriggerConfigurations",
    crate::ops::OperationKind::Query,
    &[ErrorCode::AccountUnauthorized, ErrorCode::InvalidInput],
)];

/// The bills connection.
pub type BillConnection = NamedConnection<BillInterface, BillNames>;
/// A bill's attachments.
pub type AttachmentConnection = NamedConnection<BillingAttachmentType, AttachmentNames>;

fn bill_error(err: resiflex_money::MoneyError) -> KrakenError {
    money_error(err, ErrorCode::BillUnauthorized, ErrorCode::InvalidInput)
}

/// A value of a domain enum as the API enum of the same spelling.
fn api_enum<T: std::str::FromStr>(text: &str) -> ApiResult<T> {
    text.parse()
        .map_err(|_| KrakenError::with_message(ErrorCode::Internal, "an unknown stored value"))
}

/// Refuses with KT-CT-3824 unless the caller may see the account's bills.
async fn check_access(ctx: &Context<'_>, account: &Account) -> ApiResult<()> {
    let caller = authorise(ctx).await?;
    if may_see_account(api(ctx)?, &caller, account).await? {
        Ok(())
    } else {
        Err(KrakenError::new(ErrorCode::BillUnauthorized))
    }
}

/// The account's ledgers, or the one numbered `ledger_number`.
async fn ledgers_for(
    ctx: &Context<'_>,
    account: &Account,
    ledger_number: Option<&str>,
) -> ApiResult<Vec<Ledger>> {
    let ledgers = ledgers_of(ctx, account).await?;
    match ledger_number {
        None => Ok(ledgers),
        Some(number) => {
            let found: Vec<Ledger> = ledgers
                .into_iter()
                .filter(|l| l.number.eq_ignore_ascii_case(number.trim()))
                .collect();
            if found.is_empty() {
                return Err(KrakenError::with_message(
                    ErrorCode::InvalidLedgerIdentifier,
                    format!("The account has no ledger {number:?}."),
                ));
            }
            Ok(found)
        }
    }
}

/// The arguments of `AccountType.bills`.
#[derive(Debug, Clone, Default)]
pub struct BillsArgs {
    pub include_bills_without_pdf: bool,
    pub include_open_statements: bool,
    pub include_held_statements: bool,
    pub include_historic_statements: bool,
    pub only_current_email: bool,
    pub ledger_number: Option<String>,
    pub from_date: Option<Date>,
    pub to_date: Option<Date>,
    pub issued_from_date: Option<Date>,
    pub issued_to_date: Option<Date>,
    pub order_by: Option<BillsOrderBy>,
    pub offset: Option<i32>,
    pub page: PageArgs,
}

impl BillsArgs {
    /// The page arguments with `offset` folded in.
    fn page(&self) -> ApiResult<PageArgs> {
        let mut page = self.page.clone();
        match self.offset {
            Some(n) if n < 0 => Err(KrakenError::with_message(
                ErrorCode::InvalidInput,
                "`offset` must not be negative",
            )),
            Some(n) if n > 0 && page.after.is_none() => {
                page.after = Some(encode_cursor(usize::try_from(n - 1).unwrap_or(0)));
                Ok(page)
            }
            _ => Ok(page),
        }
    }

    fn check_range(from: Option<Date>, to: Option<Date>, what: &str) -> ApiResult<()> {
        if let (Some(from), Some(to)) = (from, to)
            && to.0 < from.0
        {
            return Err(KrakenError::with_message(
                ErrorCode::InvalidInput,
                format!("`{what}To…` must not be before `{what}From…`"),
            ));
        }
        Ok(())
    }
}

/// `AccountType.bills(...)`. Every statement has its documents (they are made on request), so
/// `includeBillsWithoutPDF` changes nothing; none are imported from before, so
/// `includeHistoricStatements` neither; statements go to the account's billing e-mail as it is,
/// so `onlyCurrentEmail` neither.
pub async fn account_bills(
    ctx: &Context<'_>,
    account: &Account,
    args: BillsArgs,
) -> ApiResult<BillConnection> {
    check_access(ctx, account).await?;
    BillsArgs::check_range(args.from_date, args.to_date, "date")?;
    BillsArgs::check_range(args.issued_from_date, args.issued_to_date, "issued")?;
    let ledgers = ledgers_for(ctx, account, args.ledger_number.as_deref()).await?;
    let query = StatementQuery {
        ledger_ids: ledgers.iter().map(|l| l.id).collect(),
        include_open: args.include_open_statements,
        include_held: args.include_held_statements,
        from_date: args.from_date.map(|d| d.0),
        to_date: args.to_date.map(|d| d.0),
        issued_from: args.issued_from_date.map(|d| d.0),
        issued_to: args.issued_to_date.map(|d| d.0),
        order: match args.order_by.unwrap_or(BillsOrderBy::FromDateDesc) {
            BillsOrderBy::FromDateDesc => StatementOrder::FromDateDesc,
            BillsOrderBy::IssuedDateDesc => StatementOrder::IssuedDateDesc,
        },
    };
    let db = &api(ctx)?.db;
    let total = resiflex_store::billing::count_statements(db, &query)
        .await
        .map_err(|e| KrakenError::internal("bills", &e))?;
    let total = usize::try_from(total).unwrap_or(0);
    let window = args.page()?.window(total)?;
    let (_, page) = statements::list(
        db,
        &query,
        i64::try_from(window.offset).unwrap_or(i64::MAX),
        i64::try_from(window.limit).unwrap_or(0),
    )
    .await
    .map_err(bill_error)?;
    let mut nodes = Vec::with_capacity(page.len());
    for statement in page {
        nodes.push(BillInterface::StatementType(
            StatementType::load(ctx, account, statement).await?,
        ));
    }
    Ok(named_connection(window, total, nodes))
}

/// `AccountType.bill(id, identifier, billType, ledgerNumber)`: one of the account's bills.
pub async fn account_bill(
    ctx: &Context<'_>,
    account: &Account,
    id: Option<ID>,
    identifier: Option<String>,
    bill_type: Option<BillTypeEnum>,
    ledger_number: Option<String>,
) -> ApiResult<BillInterface> {
    check_access(ctx, account).await?;
    if bill_type.is_some_and(|t| t != BillTypeEnum::Statement) {
        return Err(KrakenError::with_message(
            ErrorCode::BillUnauthorized,
            "The bill was not found.",
        ));
    }
    let ledgers = ledgers_for(ctx, account, ledger_number.as_deref()).await?;
    let id = match id {
        Some(id) => Some(id.0.trim().parse::<i64>().map_err(|_| {
            KrakenError::with_message(ErrorCode::BillUnauthorized, "The bill was not found.")
        })?),
        None => None,
    };
    let statement = statements::find(&api(ctx)?.db, &ledgers, id, identifier.as_deref())
        .await
        .map_err(bill_error)?;
    Ok(BillInterface::StatementType(
        StatementType::load(ctx, account, statement).await?,
    ))
}

/// Totals of a statement's charges or credits, minor units.
#[derive(SimpleObject, Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementTotalType {
    pub net_total: i32,
    pub tax_total: i32,
    pub gross_total: i32,
}

impl StatementTotalType {
    fn of(amounts: resiflex_domain::money::Amounts) -> ApiResult<StatementTotalType> {
        Ok(StatementTotalType {
            net_total: minor_int(amounts.net)?,
            tax_total: minor_int(amounts.tax)?,
            gross_total: minor_int(amounts.gross)?,
        })
    }
}

/// A file of a bill.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct BillingAttachmentType {
    pub filename: String,
    /// A link that works for about an hour: redirect to it, never store it.
    pub temporary_url: String,
    pub temporary_url_expires_at: DateTime,
}

/// A statement: every entry on one ledger over one period.
pub struct StatementType {
    account_number: String,
    view: statements::StatementView,
}

impl StatementType {
    async fn load(
        ctx: &Context<'_>,
        account: &Account,
        statement: Statement,
    ) -> ApiResult<StatementType> {
        let view = statements::view(&api(ctx)?.db, statement)
            .await
            .map_err(bill_error)?;
        Ok(StatementType {
            account_number: account.number.clone(),
            view,
        })
    }

    fn statement(&self) -> &Statement {
        &self.view.statement
    }

    /// A signed link to the document in `format`; KT-CT-9705 while the statement is open.
    async fn link(&self, ctx: &Context<'_>, format: Format) -> ApiResult<BillingAttachmentType> {
        let s = self.statement();
        if s.status != StatementStatus::Closed {
            return Err(KrakenError::new(ErrorCode::BillNotIssued));
        }
        let api = api(ctx)?;
        let signed = link::link(&api.db, s.id, format, api.clock.now())
            .await
            .map_err(bill_error)?;
        Ok(BillingAttachmentType {
            filename: format!("{}.{}", s.identifier, format.as_str()),
            temporary_url: format!("{}{}", api.public_url, signed.path),
            temporary_url_expires_at: DateTime(signed.expires_at),
        })
    }
}

#[Object(name = "StatementType")]
impl StatementType {
    async fn id(&self) -> ID {
        ID(self.statement().id.to_string())
    }

    /// The statement's reference, e.g. `S-3F7K9Q2M1-20261101`.
    async fn identifier(&self) -> &str {
        &self.statement().identifier
    }

    async fn bill_type(&self) -> BillTypeEnum {
        BillTypeEnum::Statement
    }

    /// The first day of the period covered.
    async fn from_date(&self) -> Date {
        Date(self.statement().period.from)
    }

    /// The last day of the period covered.
    async fn to_date(&self) -> Date {
        Date(self.statement().period.to)
    }

    async fn issued_date(&self) -> Option<Date> {
        self.statement().issued_date.map(Date)
    }

    /// The statement's PDF (and its HTML page), each a short-lived link.
    async fn attachments(
        &self,
        ctx: &Context<'_>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<AttachmentConnection> {
        let files = if self.statement().status == StatementStatus::Closed {
            vec![
                self.link(ctx, Format::Pdf).await?,
                self.link(ctx, Format::Html).await?,
            ]
        } else {
            Vec::new()
        };
        let page = PageArgs {
            first,
            last,
            before,
            after,
        };
        let total = files.len();
        let window = page.window(total)?;
        let nodes = files
            .into_iter()
            .skip(window.offset)
            .take(window.limit)
            .collect();
        Ok(named_connection(window, total, nodes))
    }

    /// A short-lived link to the PDF.
    #[graphql(deprecation = "Use `attachments`.")]
    async fn temporary_url(&self, ctx: &Context<'_>) -> ApiResult<String> {
        Ok(self.link(ctx, Format::Pdf).await?.temporary_url)
    }

    async fn reversals_after_close(&self) -> ApiResult<StatementReversalsAfterClose> {
        api_enum(self.view.reversals_after_close().as_str())
    }

    /// Minor units; positive when the customer was in credit.
    async fn opening_balance(&self) -> ApiResult<i32> {
        minor_int(self.statement().opening_balance)
    }

    /// Minor units: the opening balance plus the statement's transactions.
    async fn closing_balance(&self) -> ApiResult<i32> {
        minor_int(self.statement().closing_balance)
    }

    async fn total_charges(&self) -> ApiResult<StatementTotalType> {
        StatementTotalType::of(self.view.figures.charges)
    }

    async fn total_credits(&self) -> ApiResult<StatementTotalType> {
        StatementTotalType::of(self.view.figures.credits)
    }

    /// The transactions the statement covers, in posted order.
    async fn transactions(
        &self,
        ctx: &Context<'_>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<TransactionConnection> {
        let s = self.statement();
        let args = TransactionArgs {
            order_by: Some(crate::enums::TransactionsOrderBy::PostedDateAsc),
            page: PageArgs {
                first,
                last,
                before,
                after,
            },
            ..TransactionArgs::default()
        };
        let mut query = args.query(vec![s.ledger_id])?;
        query.after_sequence = Some(s.opening_sequence);
        query.up_to_sequence = Some(s.closing_sequence);
        transactions_connection(ctx, &self.account_number, query, &args).await
    }

    async fn payment_due_date(&self) -> Option<Date> {
        self.statement().payment_due_date.map(Date)
    }

    async fn consumption_start_date(&self) -> Date {
        Date(self.statement().period.from)
    }

    async fn consumption_end_date(&self) -> Date {
        Date(self.statement().period.to)
    }

    /// Whether it is the account's last statement (the account closed): never, on this platform.
    async fn is_final(&self) -> bool {
        false
    }

    /// `OPEN` or `CLOSED`.
    async fn status(&self) -> &'static str {
        self.statement().status.as_str()
    }

    async fn is_external_bill(&self) -> bool {
        false
    }
}

/// A bill of any kind; this platform issues statements.
// The derive's repeated `ty = ...` is not a duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface)]
#[graphql(
    name = "BillInterface",
    field(name = "id", ty = "ID"),
    field(name = "bill_type", ty = "BillTypeEnum"),
    field(name = "from_date", ty = "Date"),
    field(name = "to_date", ty = "Date"),
    field(name = "issued_date", ty = "Option<Date>"),
    field(
        name = "attachments",
        ty = "ApiResult<AttachmentConnection>",
        arg(name = "before", ty = "Option<String>"),
        arg(name = "after", ty = "Option<String>"),
        arg(name = "first", ty = "Option<i32>"),
        arg(name = "last", ty = "Option<i32>")
    ),
    field(
        name = "temporary_url",
        ty = "ApiResult<String>",
        deprecation = "Use `attachments`."
    ),
    field(
        name = "reversals_after_close",
        ty = "ApiResult<StatementReversalsAfterClose>"
    )
)]
pub enum BillInterface {
    StatementType(StatementType),
}

/// How the account is billed.
pub struct BillingOptionsType(pub billing::BillingView);

#[Object(name = "BillingOptionsType")]
impl BillingOptionsType {
    /// Day of the month the billing period starts.
    async fn period_start_day(&self) -> i32 {
        i32::try_from(self.0.billing.options.period_start_day).unwrap_or(1)
    }

    async fn period_length(&self) -> ApiResult<AccountBillingOptionsPeriodLength> {
        api_enum(self.0.billing.options.period_length.as_str())
    }

    /// With `MONTHLY`, 2 is every two months.
    async fn period_length_multiplier(&self) -> i32 {
        i32::try_from(self.0.billing.options.multiplier).unwrap_or(1)
    }

    /// Billed on a fixed day of a regular cycle.
    async fn is_fixed(&self) -> bool {
        self.0.billing.options.is_fixed
    }

    async fn current_billing_period_start_date(&self) -> Option<Date> {
        self.0.current.map(|p| Date(p.from))
    }

    /// The last day of the current period; none when billing is flexible.
    async fn current_billing_period_end_date(&self) -> Option<Date> {
        self.0
            .current
            .filter(|_| self.0.billing.options.is_fixed)
            .map(|p| Date(p.to))
    }

    /// The first day of the next period, when the billing run bills the current one.
    async fn next_billing_date(&self) -> Option<Date> {
        self.0
            .current
            .filter(|_| self.0.billing.options.is_fixed)
            .map(|p| Date(p.next_start()))
    }
}

/// One operation of a billing trigger and how often it runs.
pub struct BillingOperationFrequency(billing::BillingView);

#[Object(name = "BillingOperationFrequency")]
impl BillingOperationFrequency {
    async fn operation_type(&self) -> ApiResult<BillingTriggerOperationType> {
        api_enum(self.0.billing.trigger.operation.as_str())
    }

    async fn target_type(&self) -> ApiResult<BillingTriggerTargetType> {
        api_enum(self.0.billing.trigger.target.as_str())
    }

    async fn frequency(&self) -> ApiResult<BillingTriggerFrequency> {
        api_enum(self.0.billing.trigger.frequency.as_str())
    }

    /// Every how many days, months or years it runs.
    async fn multiplier(&self) -> i32 {
        i32::try_from(self.0.schedule().multiplier).unwrap_or(1)
    }

    /// The day of the month it runs on (1–31).
    async fn trigger_at_start_day(&self) -> i32 {
        i32::try_from(self.0.schedule().start_day).unwrap_or(1)
    }

    /// The month it runs in (1–12): a yearly trigger's month, otherwise the month of its next
    /// run.
    async fn trigger_at_start_month(&self) -> Option<i32> {
        let schedule = self.0.schedule();
        match schedule.frequency {
            TriggerFrequency::Annually => i32::try_from(schedule.start_month).ok(),
            TriggerFrequency::Daily | TriggerFrequency::Monthly => self
                .0
                .next_firing()
                .and_then(|d| i32::try_from(d.month()).ok()),
        }
    }
}

/// The billing trigger of an account.
pub struct BillingTriggerConfiguration(pub billing::BillingView);

#[Object(name = "BillingTriggerConfiguration")]
impl BillingTriggerConfiguration {
    /// When it was set; none while the defaults apply.
    async fn effective_from(&self) -> Option<DateTime> {
        self.0.billing.since.map(DateTime)
    }

    /// It never ends.
    async fn effective_to(&self) -> Option<DateTime> {
        None
    }

    async fn is_active(&self) -> bool {
        true
    }

    async fn target_type(&self) -> ApiResult<BillingTriggerTargetType> {
        api_enum(self.0.billing.trigger.target.as_str())
    }

    async fn operation_frequencies(&self) -> Vec<BillingOperationFrequency> {
        vec![BillingOperationFrequency(self.0)]
    }

    /// The day the current period's statement is to be issued: the trigger's first run after
    /// the period ends. None when the trigger issues no statements.
    async fn next_issue_date(&self) -> Option<Date> {
        self.0.next_issue_date().map(Date)
    }
}

/// The account's billing options and trigger with its current period.
pub async fn billing_view(ctx: &Context<'_>, account: &Account) -> ApiResult<billing::BillingView> {
    let api = api(ctx)?;
    billing::options_of(&api.db, account, api.clock.now())
        .await
        .map_err(bill_error)
}
