//! One module per group of operations, each going the same way: typed input, authorise, call the
//! domain and storage, map to the Kraken payload or error. Each module also says which error codes its
//! operations can answer with, for the `possibleErrors` query.

pub mod accounts;
pub mod auth;
pub mod catalogue;
pub mod control;
pub mod devices;
pub mod dispatches;
pub mod heat_pumps;
pub mod measurements;
pub mod meta;
pub mod money;
pub mod onboarding;
pub mod preferences;
pub mod products;
pub mod sessions;
pub mod supply;
pub mod tariffs;
pub mod values;

use async_graphql::Context;

use crate::context::ApiContext;
use crate::errors::{ApiResult, ErrorCode, KrakenError};

/// The server's context, as every resolver needs it.
pub(crate) fn api<'a>(ctx: &Context<'a>) -> ApiResult<&'a ApiContext> {
    ctx.data::<ApiContext>()
        .map_err(|_| KrakenError::new(ErrorCode::Internal))
}

/// Whether an operation is a query or a mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    Query,
    Mutation,
}

/// The error codes one operation can answer with, beside the authentication codes every protected
/// operation shares.
#[derive(Debug, Clone, Copy)]
pub struct OperationErrors {
    pub name: &'static str,
    pub kind: OperationKind,
    pub codes: &'static [ErrorCode],
    /// Whether the operation needs a signed-in caller.
    pub protected: bool,
}

/// An operation that needs a signed-in caller.
pub(crate) const fn protected(
    name: &'static str,
    kind: OperationKind,
    codes: &'static [ErrorCode],
) -> OperationErrors {
    OperationErrors {
        name,
        kind,
        codes,
        protected: true,
    }
}

/// A mutation that needs a signed-in caller.
pub(crate) const fn protected_mutation(
    name: &'static str,
    codes: &'static [ErrorCode],
) -> OperationErrors {
    protected(name, OperationKind::Mutation, codes)
}

/// Every operation of the schema with its possible errors.
pub fn operation_errors() -> Vec<OperationErrors> {
    [
        meta::ERRORS,
        auth::ERRORS,
        accounts::ERRORS,
        catalogue::ERRORS,
        onboarding::ERRORS,
        devices::ERRORS,
        dispatches::ERRORS,
        preferences::ERRORS,
        sessions::ERRORS,
        control::ERRORS,
        tariffs::ERRORS,
        products::ERRORS,
        supply::mutations::ERRORS,
        measurements::ERRORS,
        heat_pumps::ERRORS,
        money::bills::ERRORS,
        money::payments::ERRORS,
    ]
    .concat()
}
