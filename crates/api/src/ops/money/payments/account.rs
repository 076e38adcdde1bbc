//! The payment fields of `AccountType`: `payments`, `repayments`, `maximumRefund`,
//! `canRequestRefund`, `requestRefundEligibility`, `directDebitInstructions`, `paymentMethods`
//! and `paymentSchedules`.

use async_graphql::Context;
use resiflex_domain::payments::PaymentStatus;
use resiflex_money::payments as money;
use resiflex_store::accounts::Account;
use resiflex_store::payments as store;

use super::types::*;
use super::{ledger_for, payment_error, today};
use crate::connection::{NamedConnection, PageArgs, named_connection};
use crate::connection_names;
use crate::enums::{
    AccountPaymentStatusOptions, AccountRepaymentStatusOptions, DirectDebitInstructionStatus,
    PaymentInstructionStatus, PaymentReasonOptions, PaymentScheduleReasonOptions,
};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::api;
use crate::scalars::Date;

connection_names!(
    PaymentNames,
    "AccountPaymentConnectionTypeConnection",
    "AccountPaymentConnectionTypeEdge"
);
connection_names!(
    RepaymentNames,
    "AccountRepaymentConnectionTypeConnection",
    "AccountRepaymentConnectionTypeEdge"
);
connection_names!(
    InstructionNames,
    "DirectDebitInstructionConnectionTypeConnection",
    "DirectDebitInstructionConnectionTypeEdge"
);
connection_names!(
    MethodNames,
    "PaymentInstructionConnectionTypeConnection",
    "PaymentInstructionConnectionTypeEdge"
);
connection_names!(
    ScheduleNames,
    "PaymentScheduleConnectionTypeConnection",
    "PaymentScheduleConnectionTypeEdge"
);

/// The connections of the payment fields.
pub type PaymentConnection = NamedConnection<AccountPaymentType, PaymentNames>;
pub type RepaymentConnection = NamedConnection<AccountRepaymentType, RepaymentNames>;
pub type InstructionConnection = NamedConnection<DirectDebitInstructionType, InstructionNames>;
pub type MethodConnection = NamedConnection<PaymentInstructionType, MethodNames>;
pub type ScheduleConnection = NamedConnection<PaymentScheduleType, ScheduleNames>;
pub use super::types::{MaximumRefundType, RequestRefundEligibilityType};

fn internal(err: resiflex_store::StoreError) -> KrakenError {
    KrakenError::internal("payments", &err)
}

fn page<
    N: async_graphql::OutputType,
    Names: async_graphql::connection::ConnectionNameType + async_graphql::connection::EdgeNameType,
>(
    items: Vec<N>,
    page: &PageArgs,
) -> ApiResult<NamedConnection<N, Names>> {
    let total = items.len();
    let window = page.window(total)?;
    let nodes = items
        .into_iter()
        .skip(window.offset)
        .take(window.limit)
        .collect();
    Ok(named_connection(window, total, nodes))
}

/// The payment filters of `AccountType.payments`.
pub struct PaymentFilter {
    pub ledger_number: Option<String>,
    pub status: Option<AccountPaymentStatusOptions>,
    pub reason: Option<PaymentReasonOptions>,
    pub include_promises: bool,
}

/// `AccountType.payments`: newest first; REQUESTED payments only when asked for by `status`.
pub async fn payments(
    ctx: &Context<'_>,
    account: &Account,
    filter: PaymentFilter,
    args: PageArgs,
) -> ApiResult<NamedConnection<AccountPaymentType, PaymentNames>> {
    let db = &api(ctx)?.db;
    let ledger_id = match filter.ledger_number.as_deref() {
        Some(n) => Some(
            ledger_for(ctx, account, Some(n), ErrorCode::InvalidLedger)
                .await?
                .id,
        ),
        None => None,
    };
    let items = store::payments_of_account(db, account.id)
        .await
        .map_err(internal)?
        .into_iter()
        .filter(|p| ledger_id.is_none_or(|id| p.ledger_id == id))
        .filter(|p| match filter.status {
            Some(s) => p.status.as_str() == s.as_str(),
            None => p.status != PaymentStatus::Requested,
        })
        .filter(|p| {
            filter
                .reason
                .is_none_or(|r| p.reason.as_str() == r.as_str())
        })
        .filter(|p| {
            filter.include_promises
                || !matches!(
                    p.status,
                    PaymentStatus::Promised | PaymentStatus::PromiseBroken
                )
        })
        .map(AccountPaymentType)
        .collect();
    page(items, &args)
}

/// `AccountType.repayments(statuses)`, newest first.
pub async fn repayments(
    ctx: &Context<'_>,
    account: &Account,
    statuses: Option<Vec<AccountRepaymentStatusOptions>>,
    args: PageArgs,
) -> ApiResult<NamedConnection<AccountRepaymentType, RepaymentNames>> {
    let db = &api(ctx)?.db;
    let payments = store::payments_of_account(db, account.id)
        .await
        .map_err(internal)?;
    let items = store::repayments_of_account(db, account.id)
        .await
        .map_err(internal)?
        .into_iter()
        .filter(|r| {
            statuses
                .as_ref()
                .is_none_or(|s| s.is_empty() || s.iter().any(|s| s.as_str() == r.status.as_str()))
        })
        .map(|r| {
            let uuid = r
                .payment_id
                .and_then(|id| payments.iter().find(|p| p.id == id))
                .map(|p| p.uuid.clone());
            AccountRepaymentType(r, uuid)
        })
        .collect();
    page(items, &args)
}

/// `AccountType.maximumRefund(ledgerNumber)`.
pub async fn maximum_refund(
    ctx: &Context<'_>,
    account: &Account,
    ledger_number: Option<String>,
) -> ApiResult<MaximumRefundType> {
    let ledger = ledger_for(
        ctx,
        account,
        ledger_number.as_deref(),
        ErrorCode::InvalidLedger,
    )
    .await?;
    let day = today(ctx, account).await?;
    let max = money::maximum_refund(&api(ctx)?.db, &ledger, day)
        .await
        .map_err(|e| payment_error(e, ErrorCode::InvalidLedger, ErrorCode::InvalidLedger))?;
    MaximumRefundType::from_domain(max)
}

/// `AccountType.requestRefundEligibility(ledgerNumber)`.
pub async fn refund_eligibility(
    ctx: &Context<'_>,
    account: &Account,
    ledger_number: Option<String>,
) -> ApiResult<RequestRefundEligibilityType> {
    let max = maximum_refund(ctx, account, ledger_number).await?;
    Ok(if max.amount > 0 {
        RequestRefundEligibilityType {
            can_request_refund: true,
            reason: None,
        }
    } else {
        RequestRefundEligibilityType {
            can_request_refund: false,
            reason: Some("The ledger has no credit beyond the recommended balance.".into()),
        }
    })
}

/// `AccountType.directDebitInstructions(statuses)` and `paymentMethods(statuses)`: statuses as
/// their names.
async fn instructions(
    ctx: &Context<'_>,
    account: &Account,
    statuses: Option<Vec<&'static str>>,
) -> ApiResult<Vec<store::Instruction>> {
    Ok(store::instructions_of_account(&api(ctx)?.db, account.id)
        .await
        .map_err(internal)?
        .into_iter()
        .filter(|i| {
            statuses
                .as_ref()
                .is_none_or(|s| s.is_empty() || s.contains(&i.status.as_str()))
        })
        .collect())
}

/// `AccountType.directDebitInstructions(statuses)`.
pub async fn direct_debit_instructions(
    ctx: &Context<'_>,
    account: &Account,
    statuses: Option<Vec<DirectDebitInstructionStatus>>,
    args: PageArgs,
) -> ApiResult<NamedConnection<DirectDebitInstructionType, InstructionNames>> {
    let statuses = statuses.map(|s| s.into_iter().map(|s| s.as_str()).collect());
    let items = instructions(ctx, account, statuses).await?;
    page(
        items.into_iter().map(DirectDebitInstructionType).collect(),
        &args,
    )
}

/// `AccountType.paymentMethods(statuses)`.
pub async fn payment_methods(
    ctx: &Context<'_>,
    account: &Account,
    statuses: Option<Vec<PaymentInstructionStatus>>,
    args: PageArgs,
) -> ApiResult<NamedConnection<PaymentInstructionType, MethodNames>> {
    let statuses = statuses.map(|s| s.into_iter().map(|s| s.as_str()).collect());
    let items = instructions(ctx, account, statuses).await?;
    page(
        items.into_iter().map(PaymentInstructionType).collect(),
        &args,
    )
}

/// The filters of `AccountType.paymentSchedules`.
pub struct ScheduleFilter {
    pub active_on_date: Option<Date>,
    pub active: Option<bool>,
    pub ledger_number: Option<String>,
    pub reason: Option<PaymentScheduleReasonOptions>,
}

/// `AccountType.paymentSchedules(...)`, newest first.
pub async fn payment_schedules(
    ctx: &Context<'_>,
    account: &Account,
    filter: ScheduleFilter,
    args: PageArgs,
) -> ApiResult<NamedConnection<PaymentScheduleType, ScheduleNames>> {
    let db = &api(ctx)?.db;
    let day = today(ctx, account).await?;
    let ledgers = resiflex_store::ledgers::ledgers_of_account(db, account.id)
        .await
        .map_err(internal)?;
    let items = store::schedules_of_account(db, account.id)
        .await
        .map_err(internal)?
        .into_iter()
        .filter(|s| s.valid_to != Some(s.valid_from))
        .filter(|s| {
            filter
                .active_on_date
                .as_ref()
                .is_none_or(|d| s.in_force_on(d.0))
        })
        .filter(|s| filter.active.is_none_or(|a| s.in_force_on(day) == a))
        .filter(|s| {
            filter
                .reason
                .is_none_or(|r| s.reason.as_str() == r.as_str())
        })
        .filter_map(|s| {
            let number = ledgers.iter().find(|l| l.id == s.ledger_id)?.number.clone();
            Some(PaymentScheduleType(s, number))
        })
        .filter(|s| {
            filter
                .ledger_number
                .as_deref()
                .is_none_or(|n| s.1.eq_ignore_ascii_case(n.trim()))
        })
        .collect();
    page(items, &args)
}
