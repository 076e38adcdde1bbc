//! `possibleErrors`: which error codes an operation can answer with, so clients can prepare for them
//! (Kraken's replacement for the deprecated per-payload `possibleErrors` field).

use async_graphql::{Context, InputObject, Object, SimpleObject};

use super::{OperationErrors, OperationKind};
use crate::enums::Enumerations;
use crate::errors::ErrorCode;

pub const ERRORS: &[OperationErrors] = &[
    OperationErrors {
        name: "possibleErrors",
        kind: OperationKind::Query,
        codes: &[ErrorCode::InvalidInput],
        protected: false,
    },
    OperationErrors {
        name: "enumerations",
        kind: OperationKind::Query,
        codes: &[],
        protected: false,
    },
];

/// The codes shared by every operation that needs a signed-in caller.
const AUTH_CODES: &[ErrorCode] = &[
    ErrorCode::Unauthorized,
    ErrorCode::AuthorizationHeaderMissing,
    ErrorCode::TokenExpired,
    ErrorCode::AuthenticationFailed,
];

/// Which operation to list the possible errors of.
#[derive(InputObject, Debug)]
#[graphql(name = "PossibleErrorsInputType")]
pub struct PossibleErrorsInput {
    /// The operation's root field name, for example `updateBoostCharge`.
    pub name: String,
    /// `query` or `mutation`.
    #[graphql(name = "type")]
    pub kind: String,
    /// Whether to include the authentication errors every protected operation can answer with.
    pub auth_errors: Option<bool>,
}

/// One error an operation may answer with.
#[derive(SimpleObject, Debug)]
#[graphql(name = "PossibleErrorType")]
pub struct PossibleError {
    /// The error code, for example `KT-CT-4357`.
    pub code: String,
    /// The error's category (`extensions.errorType`).
    #[graphql(name = "type")]
    pub error_type: String,
    /// What the error means.
    pub description: String,
    /// The message that accompanies it.
    pub message: String,
}

impl From<ErrorCode> for PossibleError {
    fn from(code: ErrorCode) -> Self {
        PossibleError {
            code: code.code().to_owned(),
            error_type: code.error_type().as_str().to_owned(),
            description: code.description().to_owned(),
            message: code.description().to_owned(),
        }
    }
}

#[derive(Default)]
pub struct MetaQuery;

#[Object]
impl MetaQuery {
    /// The errors an operation can answer with. Unknown operations have none.
    async fn possible_errors(
        &self,
        _ctx: &Context<'_>,
        input: PossibleErrorsInput,
    ) -> Vec<PossibleError> {
        let kind = match input.kind.to_ascii_lowercase().as_str() {
            "query" => OperationKind::Query,
            "mutation" => OperationKind::Mutation,
            _ => return Vec::new(),
        };
        let Some(op) = super::operation_errors()
            .into_iter()
            .find(|op| op.name == input.name && op.kind == kind)
        else {
            return Vec::new();
        };
        let mut codes: Vec<ErrorCode> = op.codes.to_vec();
        if op.protected && input.auth_errors.unwrap_or(true) {
            codes.extend(AUTH_CODES.iter().filter(|code| !op.codes.contains(code)));
        }
        codes.into_iter().map(PossibleError::from).collect()
    }

    /// Every enum of the schema with all its values, in schema order (a ResiFlex addition to the
    /// Kraken API: the same facts as introspection, typed).
    async fn enumerations(&self) -> Enumerations {
        Enumerations
    }
}
