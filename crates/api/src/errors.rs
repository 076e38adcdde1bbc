//! The one registry of Kraken error codes. Resolvers never write a code as a string: they name an
//! [`ErrorCode`], and [`KrakenError`] turns it into the `errors[].extensions` every Kraken client reads
//! (`errorType`, `errorCode`, `errorDescription`).

use async_graphql::{ErrorExtensionValues, ServerError, Value};

/// The category Kraken puts an error in (`extensions.errorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    Validation,
    Authorization,
    NotFound,
    Application,
    ServiceAvailability,
}

impl ErrorType {
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorType::Validation => "VALIDATION",
            ErrorType::Authorization => "AUTHORIZATION",
            ErrorType::NotFound => "NOT_FOUND",
            ErrorType::Application => "APPLICATION",
            ErrorType::ServiceAvailability => "SERVICE_AVAILABILITY",
        }
    }
}

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = ($code:literal, $kind:ident, $description:literal), )*) => {
        /// Every error code the API can answer with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as clients see it, for example `KT-CT-1111`.
            pub const fn code(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            pub const fn error_type(self) -> ErrorType {
                match self { $(ErrorCode::$variant => ErrorType::$kind,)* }
            }

            /// The standing description of the code (`extensions.errorDescription`).
            pub const fn description(self) -> &'static str {
                match self { $(ErrorCode::$variant => $description,)* }
            }

            pub fn from_code(code: &str) -> Option<ErrorCode> {
                match code { $($code => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

error_codes! {
    // Authentication and request level.
    Unauthorized = ("KT-CT-1111", Authorization, "You are not allowed to perform this operation."),
    AuthorizationHeaderMissing = ("KT-CT-1112", Authorization, "The 'Authorization' header was not provided."),
    DisabledField = ("KT-CT-1113", Authorization, "A disabled GraphQL field was requested."),
    TokenExpiredKraken = ("KT-CT-1120", Authorization, "The Kraken token has expired."),
    TokenExpired = ("KT-CT-1124", Authorization, "The signature of the token has expired."),
    PreSignedKeyAdminUnauthorized = ("KT-CT-1128", Authorization, "You are not allowed to manage keys for this user."),
    PreSignedKeyInvalid = ("KT-CT-1129", Authorization, "The pre-signed key could not be invalidated."),
    RefreshTokenInvalidateUnauthorized = ("KT-CT-1130", Authorization, "You are not allowed to invalidate this refresh token."),
    PreSignedKeyUnauthorized = ("KT-CT-1131", Authorization, "You are not allowed to create pre-signed keys."),
    RefreshTokenExpired = ("KT-CT-1134", Validation, "The refresh token has expired."),
    RefreshTokenInvalid = ("KT-CT-1135", Validation, "The refresh token is not valid."),
    InvalidCredentials = ("KT-CT-1138", Validation, "The email address or password is not correct."),
    AuthenticationFailed = ("KT-CT-1139", Authorization, "Authentication failed: the key or token was rejected."),
    DetailsMismatch = ("KT-CT-1145", Authorization, "The account or user details do not match."),
    QueryTooComplex = ("KT-CT-1188", Validation, "The query is more complex than a single request may be."),
    TooManyNodes = ("KT-CT-1189", Validation, "The query could return more nodes than a single request may."),
    TooManyRequests = ("KT-CT-1199", ServiceAvailability, "Too many requests: slow down and try again later."),
    PaginationRequired = ("KT-CT-1201", Validation, "This field must be paginated with `first` or `last`."),
    InvalidInput = ("KT-CT-1605", Validation, "The input is not valid."),
    DateTimeWithoutOffset = ("KT-CT-1609", Validation, "A date and time must include a time zone offset."),
    // Accounts.
    AccountUnauthorized = ("KT-CT-4177", Authorization, "You are not allowed to access this account."),
    PropertyUnauthorized = ("KT-CT-6622", Authorization, "You are not allowed to access this property."),
    // Money: ledgers, bills, payments, repayments, instructions and schedules.
    NoActivePaymentSchedule = ("KT-CT-3815", NotFound, "The account has no active payment schedule."),
    LedgerIdAndNumber = ("KT-CT-3820", Validation, "Give either the ledger id or the ledger number, not both."),
    LedgerIdOrNumberMissing = ("KT-CT-3821", Validation, "Give the ledger id or the ledger number."),
    LedgerUnauthorized = ("KT-CT-3822", Authorization, "You are not allowed to access this ledger."),
    PaymentAccessUnauthorized = ("KT-CT-3823", Authorization, "You are not allowed to access this payment information."),
    BillUnauthorized = ("KT-CT-3824", Authorization, "You are not allowed to access this bill."),
    SwitchScheduleAccountNotFound = ("KT-CT-3921", NotFound, "The account was not found."),
    SwitchScheduleNoLedger = ("KT-CT-3922", NotFound, "The account has no such ledger."),
    ScheduleUnexpected = ("KT-CT-3947", Application, "The payment schedule could not be changed."),
    ScheduleUnauthorized = ("KT-CT-3923", Authorization, "You are not allowed to change this payment schedule."),
    PaymentUnauthorized = ("KT-CT-3924", Authorization, "You are not allowed to act on this payment."),
    RepaymentUnauthorized = ("KT-CT-3926", Authorization, "You are not allowed to act on this repayment or payment instruction."),
    InvalidAmount = ("KT-CT-3927", Validation, "The amount is not valid."),
    IdempotencyKeyUsed = ("KT-CT-3928", Validation, "The idempotency key was already used for a different request."),
    PaymentNotRefundable = ("KT-CT-3929", Application, "The payment cannot be refunded in its current state."),
    RepaymentRequestNotFound = ("KT-CT-3930", NotFound, "The repayment or refund request does not exist."),
    RepaymentRequestNotCancellable = ("KT-CT-3931", Application, "The repayment or refund request cannot be cancelled."),
    CollectPaymentInvalid = ("KT-CT-3932", Validation, "The payment data is not valid."),
    RefundLargerThanPayment = ("KT-CT-3933", Validation, "The refund is larger than the payment."),
    RepaymentAlreadyApproved = ("KT-CT-3934", Application, "The repayment request has already been approved."),
    RepaymentCannotBePaid = ("KT-CT-3935", Application, "The repayment request cannot be paid."),
    PaymentNotEligibleForRefund = ("KT-CT-3937", Application, "The payment is not eligible for a refund."),
    PartialRefundNotAllowed = ("KT-CT-3938", Validation, "A partial refund of this payment is not allowed."),
    DirectDebitInvalid = ("KT-CT-3940", Validation, "The direct debit details are not valid."),
    ScheduleInvalid = ("KT-CT-3941", Validation, "The payment schedule data is not valid."),
    InvalidLedger = ("KT-CT-3943", Validation, "The ledger is not valid."),
    RepaymentNotFound = ("KT-CT-3944", NotFound, "The account repayment does not exist."),
    DirectDebitSetUpFailed = ("KT-CT-3948", Application, "The direct debit instruction could not be set up."),
    ReasonTooLong = ("KT-CT-3950", Validation, "The reason is too long."),
    PaymentCancellationFailed = ("KT-CT-3954", Application, "The payment could not be cancelled."),
    PaymentNotCancellable = ("KT-CT-3955", Application, "The payment cannot be cancelled."),
    PaymentTemporaryError = ("KT-CT-3956", ServiceAvailability, "A temporary error occurred; try again."),
    NoCollectionMethod = ("KT-CT-3957", Application, "The ledger has no way to collect the payment."),
    RepaymentApprovalUnauthorized = ("KT-CT-3959", Authorization, "You are not allowed to approve this repayment."),
    InvalidPaymentDay = ("KT-CT-3960", Validation, "The payment day is not valid."),
    ScheduleTiedToPlan = ("KT-CT-3961", Application, "A schedule tied to a payment plan cannot be changed."),
    ScheduleNothingToChange = ("KT-CT-3962", Validation, "No new value was given for the payment schedule."),
    AmendPaymentsNotAllowed = ("KT-CT-3970", Application, "This account cannot amend payments."),
    RepaymentNotApprovable = ("KT-CT-3973", Application, "The repayment request is not in a state that can be approved."),
    InvalidLedgerIdentifier = ("KT-CT-3979", Validation, "The ledger identifier is not valid."),
    RecordPaymentsTooMany = ("KT-CT-3988", Validation, "Too many payments were given in one request."),
    CancelRepaymentUnauthorized = ("KT-CT-4231", Authorization, "You are not allowed to cancel this repayment request."),
    BillNotIssued = ("KT-CT-9705", Application, "The billing document has not been issued yet."),
    BillingTriggerNotSupplementary = ("KT-CT-9709", Validation, "Billing trigger configurations exist only for supplementary ledgers."),
    // SmartFlex.
    DeviceNotFound = ("KT-CT-4301", NotFound, "No such device was found for the given account."),
    FlexDeviceNotFound = ("KT-CT-4313", NotFound, "The flexible device could not be found."),
    ProviderUnavailable = ("KT-CT-4314", Application, "The device provider's details could not be obtained."),
    SerializerValidation = ("KT-CT-4321", Validation, "The input did not pass validation."),
    PlannedDispatchesUnavailable = ("KT-CT-4340", Application, "The planned dispatches could not be fetched."),
    CompletedDispatchesUnavailable = ("KT-CT-4341", Application, "The completed dispatches could not be fetched."),
    SupportedDeviceArgument = ("KT-CT-4342", Validation, "Give exactly one of `deviceType` or `supportedDeviceType`."),
    DeauthenticationFailed = ("KT-CT-4350", Application, "The device could not be de-authenticated."),
    DeauthenticationNotAllowed = ("KT-CT-4352", Application, "The device cannot be de-authenticated at the moment."),
    BoostCancelFailed = ("KT-CT-4354", Application, "The boost charge could not be cancelled."),
    TestChargeFailed = ("KT-CT-4355", Application, "The test charge could not be triggered."),
    BoostNotPossible = ("KT-CT-4356", Application, "A boost charge cannot be performed at the moment."),
    BoostFailed = ("KT-CT-4357", Application, "The boost charge could not be triggered."),
    SuspendFailed = ("KT-CT-4358", Application, "Smart control of the device could not be suspended."),
    ResumeFailed = ("KT-CT-4359", Application, "Smart control of the device could not be resumed."),
    TestChargeNotReady = ("KT-CT-4362", Application, "The device is not ready for a test charge."),
    WizardNotFound = ("KT-CT-4371", NotFound, "The onboarding wizard ID is not valid."),
    WizardConcurrentUpdate = ("KT-CT-4372", Application, "Another update of this onboarding wizard is in progress."),
    PreferencesFailed = ("KT-CT-4374", Validation, "The device preferences could not be set."),
    StepParameters = ("KT-CT-4375", Validation, "The parameters for this onboarding step are missing or wrong."),
    StepRetryLater = ("KT-CT-4376", Application, "The onboarding step could not be completed; try again later."),
    StepNotFound = ("KT-CT-4377", Validation, "The onboarding step ID is not valid."),
    StepInputInvalid = ("KT-CT-4378", Validation, "The input or the step ID is not valid."),
    VehicleNotReadyForTest = ("KT-CT-4379", Application, "The vehicle is not ready for a test charge."),
    ChargingSessionsUnavailable = ("KT-CT-4382", Application, "The charging sessions could not be fetched."),
    ReauthenticationUnsupported = ("KT-CT-4385", Validation, "Re-authentication is not supported for this device."),
    GridExportFailed = ("KT-CT-4386", Application, "The grid export setting could not be updated."),
    ControllerNotFound = ("KT-CT-4387", NotFound, "The device's controller could not be found."),
    ChargingDurationCapFailed = ("KT-CT-4389", Application, "The charging duration cap could not be updated."),
    DevicePreferenceFailed = ("KT-CT-4390", Application, "The device preference could not be updated."),
    WizardCancelled = ("KT-CT-4391", Validation, "The onboarding wizard has been cancelled."),
    // Smart meter telemetry.
    TelemetryArgumentsTogether = ("KT-GB-4040", Validation, "`start`, `end` and `grouping` must be given together."),
    TelemetryEndBeforeStart = ("KT-GB-4041", Validation, "`end` must be after `start`."),
    SmartMeterNotFound = ("KT-GB-4050", NotFound, "The smart meter could not be found."),
    // Heat-pump controllers.
    HeatPumpInvalidData = ("OE-0315", Validation, "The data given for the heat pump operation is not valid."),
    HeatPumpZoneDisplayName = ("OE-0321", Validation, "The zone display names could not be updated."),
    // Last resort.
    Internal = ("KT-CT-7899", Application, "An internal error occurred."),
}

/// An error as the API reports it (deliberately not `Display`, so that `?` in a resolver goes through
/// the conversion below and keeps the extensions): a code from the registry, a message for people, and any extra
/// extension keys (such as `boostChargeRefusalReasons`).
#[derive(Debug, Clone)]
pub struct KrakenError {
    pub code: ErrorCode,
    pub message: String,
    pub extra: Vec<(&'static str, Value)>,
}

impl KrakenError {
    /// An error whose message is the code's standing description.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            message: code.description().to_owned(),
            extra: Vec::new(),
        }
    }

    pub fn with_message(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            extra: Vec::new(),
        }
    }

    /// Adds an extension key beside the three standard ones.
    pub fn extension(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.extra.push((key, value.into()));
        self
    }

    /// An unexpected failure: the details go to the log, the client sees only KT-CT-7899.
    pub fn internal(context: &str, err: &dyn std::fmt::Display) -> Self {
        tracing::error!(context, error = %err, "internal error");
        Self::new(ErrorCode::Internal)
    }

    fn extensions(&self) -> ErrorExtensionValues {
        let mut ext = ErrorExtensionValues::default();
        set_code(&mut ext, self.code);
        for (key, value) in &self.extra {
            ext.set(*key, value.clone());
        }
        ext
    }

    /// The error as a request-level [`ServerError`] (no path), for failures outside resolvers.
    pub fn into_server_error(self) -> ServerError {
        let mut err = ServerError::new(self.message.clone(), None);
        err.extensions = Some(self.extensions());
        err
    }
}

impl From<KrakenError> for async_graphql::Error {
    fn from(err: KrakenError) -> Self {
        let extensions = err.extensions();
        async_graphql::Error {
            message: err.message,
            source: None,
            extensions: Some(extensions),
        }
    }
}

fn set_code(ext: &mut ErrorExtensionValues, code: ErrorCode) {
    ext.set("errorType", code.error_type().as_str());
    ext.set("errorCode", code.code());
    ext.set("errorDescription", code.description());
}

/// Gives every error in a response the Kraken extensions. Errors raised by resolvers already carry
/// them; errors from parsing and validating the document, or from coercing input values, are input
/// problems and become KT-CT-1605.
pub fn normalise_errors(errors: &mut [ServerError]) {
    for err in errors {
        let ext = err
            .extensions
            .get_or_insert_with(ErrorExtensionValues::default);
        if ext.get("errorCode").is_none() {
            set_code(ext, ErrorCode::InvalidInput);
        }
    }
}

/// The code carried by an error, if any (used for metrics).
pub fn code_of(err: &ServerError) -> Option<&str> {
    match err.extensions.as_ref()?.get("errorCode")? {
        Value::String(code) => Some(code.as_str()),
        _ => None,
    }
}

pub type ApiResult<T> = Result<T, KrakenError>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.code()), "duplicate {}", code.code());
            // Kraken core codes, the GB ones (smart meter telemetry), and the backend's for
            // heat-pump controllers.
            let (family, number) = code.code().rsplit_once('-').unwrap_or_default();
            assert!(
                matches!(family, "KT-CT" | "KT-GB" | "OE"),
                "{}",
                code.code()
            );
            assert!(number.len() == 4 && number.chars().all(|c| c.is_ascii_digit()));
            assert_eq!(ErrorCode::from_code(code.code()), Some(*code));
            assert!(!code.description().is_empty());
        }
    }

    #[test]
    fn a_kraken_error_carries_the_three_extensions() {
        let err: async_graphql::Error = KrakenError::new(ErrorCode::BoostFailed)
            .extension("boostChargeRefusalReasons", "BC_DEVICE_SUSPENDED")
            .into();
        let ext = err.extensions.unwrap();
        assert_eq!(ext.get("errorCode"), Some(&Value::from("KT-CT-4357")));
        assert_eq!(ext.get("errorType"), Some(&Value::from("APPLICATION")));
        assert_eq!(
            ext.get("boostChargeRefusalReasons"),
            Some(&Value::from("BC_DEVICE_SUSPENDED"))
        );
        assert!(ext.get("errorDescription").is_some());
    }

    #[test]
    fn uncoded_errors_become_invalid_input() {
        let mut errors = vec![ServerError::new("Unknown field", None)];
        normalise_errors(&mut errors);
        assert_eq!(code_of(&errors[0]), Some("KT-CT-1605"));
    }
}
