//! The SmartFlex onboarding wizard: `startSmartFlexOnboarding` (also `startSmartFlexOnboardingWizard`),
//! `smartFlexOnboardingWizard(s)`, the step mutations, `cancelSmartFlexOnboarding` and
//! `startReAuthentication`.
//!
//! The journey itself is the pure state machine `resiflex_domain::wizard::Wizard`; this module stores
//! it (with optimistic versions: a concurrent update is KT-CT-4372), talks to the provider at the
//! `AuthFlow` and `TestCharge` steps, registers the device, and maps everything to Kraken's types.
//! What the vendor requires before the device can be controlled (`TeslaRegistrationFailed`,
//! `TeslaModifyScopes`, `TeslaSetupVirtualKey`, `UserActionRequired`, `WaitForLiveIntegration`,
//! `Retry`) is asked of the vendor and confirmed by it (`resiflex_devices::requirements`): a step
//! the customer completes moves only once the vendor reports it done (KT-CT-4376 until then).
//! `backendScreen` renders the current step as a server-driven screen (`screen`).
//! Every read re-evaluates the steps that wait for the outside world (`WaitForTransition`, the
//! registration), so a wizard interrupted by a restart carries on when it is next fetched.

use async_graphql::{Context, ID, InputObject, Interface, Object, SimpleObject};
use resiflex_domain::catalogue::Catalogue;
use resiflex_domain::device::{DeviceKind, Lifecycle};
use resiflex_domain::wizard::{
    ListOption, Requirement, StepKind, TestOutcome, TestProgress, Wizard, WizardError,
    WizardStatus, valid_vin,
};
use resiflex_store::devices::{self as store};

use super::{OperationErrors, OperationKind, api, protected as op};
use crate::auth::access::{account_for, may_see_account};
use crate::auth::{Caller, authorise};
use crate::context::ApiContext;
use crate::enums::{KrakenFlexDeviceTypes, SelectIntegrationChoices, TestChargeErrorType};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use resiflex_devices::onboarding::{self as journey, Journey, OnboardingError};

mod cancel_smart_flex_onboarding;
mod complete_auth_flow_for_smart_flex_onboarding;
mod complete_retry_for_smart_flex_onboarding;
mod complete_tesla_registration_failed_for_smart_flex_onboarding;
mod complete_tesla_setup_virtual_key_for_smart_flex_onboarding;
mod complete_user_action_for_smart_flex_onboarding;
mod complete_user_input_required_for_smart_flex_onboarding;
mod inputs;
mod screen;
mod select_from_list_for_smart_flex_onboarding;
mod select_vehicle_or_charge_point_for_smart_flex_onboarding;
mod smart_flex_onboarding_wizard;
mod smart_flex_onboarding_wizards;
mod start_re_authentication;
mod start_smart_flex_onboarding;
mod start_smart_flex_onboarding_wizard;
mod start_test_charge_for_smart_flex_onboarding;
mod types;

pub use inputs::*;
pub use screen::*;
pub use types::*;

/// Registers the wizard's types that no field returns: the `SelectFromList` interface.
pub fn register_types<Q, M, S>(
    builder: async_graphql::SchemaBuilder<Q, M, S>,
) -> async_graphql::SchemaBuilder<Q, M, S> {
    builder.register_output_type::<SelectFromList>()
}

const STEP_CODES: &[ErrorCode] = &[
    ErrorCode::WizardNotFound,
    ErrorCode::WizardConcurrentUpdate,
    ErrorCode::StepParameters,
    ErrorCode::StepRetryLater,
    ErrorCode::StepNotFound,
    ErrorCode::StepInputInvalid,
    ErrorCode::WizardCancelled,
    ErrorCode::Internal,
];

pub const ERRORS: &[OperationErrors] = &[
    op(
        "startSmartFlexOnboarding",
        OperationKind::Mutation,
        &[
            ErrorCode::SerializerValidation,
            ErrorCode::ReauthenticationUnsupported,
        ],
    ),
    op(
        "startSmartFlexOnboardingWizard",
        OperationKind::Mutation,
        &[ErrorCode::SerializerValidation],
    ),
    op(
        "startReAuthentication",
        OperationKind::Mutation,
        &[
            ErrorCode::SerializerValidation,
            ErrorCode::ReauthenticationUnsupported,
        ],
    ),
    op(
        "cancelSmartFlexOnboarding",
        OperationKind::Mutation,
        &[ErrorCode::WizardNotFound, ErrorCode::WizardConcurrentUpdate],
    ),
    op(
        "smartFlexOnboardingWizard",
        OperationKind::Query,
        &[ErrorCode::WizardNotFound],
    ),
    op(
        "smartFlexOnboardingWizards",
        OperationKind::Query,
        &[ErrorCode::SerializerValidation],
    ),
    op(
        "selectFromListForSmartFlexOnboarding",
        OperationKind::Mutation,
        STEP_CODES,
    ),
    op(
        "selectVehicleOrChargePointForSmartFlexOnboarding",
        OperationKind::Mutation,
        STEP_CODES,
    ),
    op(
        "completeAuthFlowForSmartFlexOnboarding",
        OperationKind::Mutation,
        STEP_CODES,
    ),
    op(
        "completeUserInputRequiredForSmartFlexOnboarding",
        OperationKind::Mutation,
        STEP_CODES,
    ),
    op(
        "completeUserActionForSmartFlexOnboarding",
        OperationKind::Mutation,
        STEP_CODES,
    ),
    op(
        "completeTeslaSetupVirtualKeyForSmartFlexOnboarding",
        OperationKind::Mutation,
        STEP_CODES,
    ),
    op(
        "completeTeslaRegistrationFailedForSmartFlexOnboarding",
        OperationKind::Mutation,
        STEP_CODES,
    ),
    op(
        "completeRetryForSmartFlexOnboarding",
        OperationKind::Mutation,
        STEP_CODES,
    ),
    op(
        "startTestChargeForSmartFlexOnboarding",
        OperationKind::Mutation,
        &[
            ErrorCode::WizardNotFound,
            ErrorCode::StepNotFound,
            ErrorCode::StepParameters,
            ErrorCode::VehicleNotReadyForTest,
            ErrorCode::StepRetryLater,
            ErrorCode::WizardCancelled,
        ],
    ),
];

fn catalogue() -> ApiResult<&'static Catalogue> {
    Catalogue::get().map_err(|err| KrakenError::internal("onboarding", &err))
}

fn internal(err: impl std::fmt::Display) -> KrakenError {
    KrakenError::internal("onboarding", &err)
}

/// The Kraken error of an onboarding step that did not go ahead.
fn onboarding_error(err: OnboardingError) -> KrakenError {
    match err {
        OnboardingError::ConcurrentUpdate => KrakenError::new(ErrorCode::WizardConcurrentUpdate),
        OnboardingError::StepParameters(message) => {
            KrakenError::with_message(ErrorCode::StepParameters, message)
        }
        OnboardingError::DeviceTaken => {
            KrakenError::with_message(ErrorCode::StepParameters, err.to_string())
        }
        OnboardingError::StepNotFound => KrakenError::new(ErrorCode::StepNotFound),
        OnboardingError::RetryLater => KrakenError::new(ErrorCode::StepRetryLater),
        OnboardingError::NotConfirmed(message) => {
            KrakenError::with_message(ErrorCode::StepRetryLater, message)
        }
        OnboardingError::ProviderUnavailable => KrakenError::new(ErrorCode::ProviderUnavailable),
        OnboardingError::NotReady { reason, message } => {
            let refused = KrakenError::with_message(ErrorCode::VehicleNotReadyForTest, message);
            match reason {
                Some(reason) => refused.extension("testChargeRefusalReasons", reason.as_str()),
                None => refused,
            }
        }
        OnboardingError::Store(err) => internal(err),
        OnboardingError::Internal(why) => internal(why),
    }
}

/// Loads a wizard the caller may see; anything else is KT-CT-4371.
async fn load(api: &ApiContext, caller: &Caller, wizard_id: &str) -> ApiResult<Journey> {
    let not_found = || KrakenError::new(ErrorCode::WizardNotFound);
    let row = resiflex_store::wizards::wizard_by_id(&api.db, wizard_id.trim())
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    let account = resiflex_store::accounts::account_by_id(&api.db, row.account_id)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    if !may_see_account(api, caller, &account).await? {
        return Err(not_found());
    }
    Ok(Journey::of(row))
}

fn step_id(wizard_id: &str, step: StepKind) -> String {
    format!("{wizard_id}:{}", step.name())
}

/// The step a client names: it must belong to this wizard (KT-CT-4377 otherwise).
fn parse_step(wizard_id: &str, step_id: &str) -> ApiResult<StepKind> {
    let unknown = || KrakenError::new(ErrorCode::StepNotFound);
    let (wizard, name) = step_id.trim().rsplit_once(':').ok_or_else(unknown)?;
    if wizard != wizard_id {
        return Err(unknown());
    }
    StepKind::named(name).ok_or_else(unknown)
}

/// Checks that `step` is of a kind the mutation completes (KT-CT-4375 otherwise) and is the
/// wizard's current step (KT-CT-4377 otherwise).
fn ensure_current(
    loaded: &Journey,
    step: StepKind,
    kinds: &[StepKind],
    what: &str,
) -> ApiResult<()> {
    if !kinds.contains(&step) {
        return Err(KrakenError::with_message(
            ErrorCode::StepParameters,
            format!("This step is not {what}."),
        ));
    }
    if loaded.wizard.current(catalogue()?) != Some(step) {
        return Err(KrakenError::with_message(
            ErrorCode::StepNotFound,
            "This step is not the wizard's current one.",
        ));
    }
    Ok(())
}

/// Checks that a mutation may act on the wizard at all.
fn ensure_open(wizard: &Wizard) -> ApiResult<()> {
    match wizard.status {
        WizardStatus::Cancelled => Err(KrakenError::new(ErrorCode::WizardCancelled)),
        WizardStatus::Complete => Err(KrakenError::with_message(
            ErrorCode::StepNotFound,
            "The wizard is complete; it has no steps left.",
        )),
        WizardStatus::InProgress => Ok(()),
    }
}

fn wizard_error(err: WizardError) -> KrakenError {
    match err {
        WizardError::Cancelled => KrakenError::new(ErrorCode::WizardCancelled),
        WizardError::Complete | WizardError::UnknownStep(_) => {
            KrakenError::new(ErrorCode::StepNotFound)
        }
        WizardError::WrongStepType | WizardError::UnknownOption(_) | WizardError::NotRewindable => {
            KrakenError::with_message(ErrorCode::StepParameters, err.to_string())
        }
    }
}

fn redirect_uri(api: &ApiContext) -> String {
    format!("{}/sandbox/return", api.public_url)
}

// ---------------------------------------------------------------------------------------------
// Operations

/// Saves a journey a step changed, then answers as every step does.
async fn save_and_respond(api: &ApiContext, loaded: Journey) -> ApiResult<WizardPayload> {
    let saved = loaded.save(&api.devices).await.map_err(onboarding_error)?;
    respond(api, saved).await
}

async fn respond(api: &ApiContext, loaded: Journey) -> ApiResult<WizardPayload> {
    let loaded = journey::advance(&api.devices, loaded)
        .await
        .map_err(onboarding_error)?;
    Ok(WizardPayload {
        wizard: SmartFlexOnboardingWizard::build(api, loaded).await?,
    })
}

/// Starts a wizard for a property of the account.
async fn start(
    ctx: &Context<'_>,
    input: StartSmartFlexOnboardingInput,
    wizard: Wizard,
) -> ApiResult<WizardPayload> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let account = account_for(api, &caller, &input.account_number, ErrorCode::Unauthorized).await?;
    let property = resiflex_store::accounts::property_by_id(&api.db, i64::from(input.property_id))
        .await
        .map_err(internal)?
        .filter(|p| p.account_id == account.id)
        .ok_or_else(|| {
            KrakenError::with_message(
                ErrorCode::SerializerValidation,
                "`propertyId` is not a property of this account.",
            )
        })?;
    let loaded = journey::start(
        &api.devices,
        account.id,
        property.id,
        crate::auth::credentials::generate("st_"),
        wizard,
    )
    .await
    .map_err(onboarding_error)?;
    Ok(WizardPayload {
        wizard: SmartFlexOnboardingWizard::build(api, loaded).await?,
    })
}

/// Loads an open wizard for a step mutation and checks the step id.
async fn for_step(
    ctx: &Context<'_>,
    wizard_id: &ID,
    step_id: &ID,
) -> ApiResult<(Journey, StepKind)> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let loaded = load(api, &caller, wizard_id).await?;
    ensure_open(&loaded.wizard)?;
    let step = parse_step(&loaded.row.id, step_id)?;
    Ok((loaded, step))
}

#[derive(Default)]
pub struct OnboardingQuery;

#[Object]
impl OnboardingQuery {
    /// One wizard (KT-CT-4371 when it does not exist or is not the caller's).
    async fn smart_flex_onboarding_wizard(
        &self,
        ctx: &Context<'_>,
        wizard_id: ID,
    ) -> ApiResult<SmartFlexOnboardingWizard> {
        smart_flex_onboarding_wizard::run(ctx, wizard_id).await
    }

    /// The account's wizards, newest first, optionally for one property.
    async fn smart_flex_onboarding_wizards(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        property_id: Option<i32>,
    ) -> ApiResult<Vec<SmartFlexOnboardingWizard>> {
        smart_flex_onboarding_wizards::run(ctx, account_number, property_id).await
    }
}

#[derive(Default)]
pub struct OnboardingMutation;

#[Object]
impl OnboardingMutation {
    /// Starts onboarding a device at a property of the account.
    async fn start_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: StartSmartFlexOnboardingInput,
    ) -> ApiResult<WizardPayload> {
        start_smart_flex_onboarding::run(ctx, input).await
    }

    /// The same as `startSmartFlexOnboarding` (the name some guides use).
    async fn start_smart_flex_onboarding_wizard(
        &self,
        ctx: &Context<'_>,
        input: StartSmartFlexOnboardingInput,
    ) -> ApiResult<WizardPayload> {
        start_smart_flex_onboarding_wizard::run(ctx, input).await
    }

    /// Starts a wizard that authorises an existing device again (after its vendor access was lost).
    async fn start_re_authentication(
        &self,
        ctx: &Context<'_>,
        input: StartReAuthenticationInput,
    ) -> ApiResult<WizardPayload> {
        start_re_authentication::run(ctx, input).await
    }

    /// Cancels a wizard. A device it already registered stays (use `deauthenticateFlexDevice`).
    async fn cancel_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: WizardInput,
    ) -> ApiResult<WizardPayload> {
        cancel_smart_flex_onboarding::run(ctx, input).await
    }

    /// Answers a list step (the current one, or an earlier one to go back).
    async fn select_from_list_for_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: SelectFromListInput,
    ) -> ApiResult<WizardPayload> {
        select_from_list_for_smart_flex_onboarding::run(ctx, input).await
    }

    /// Chooses whether the vehicle or the charger is controlled.
    async fn select_vehicle_or_charge_point_for_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: SelectVehicleOrChargePointInput,
    ) -> ApiResult<WizardPayload> {
        select_vehicle_or_charge_point_for_smart_flex_onboarding::run(ctx, input).await
    }

    /// Completes the vendor authorisation with the URI the vendor redirected to.
    async fn complete_auth_flow_for_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: CompleteAuthFlowInput,
    ) -> ApiResult<WizardPayload> {
        complete_auth_flow_for_smart_flex_onboarding::run(ctx, input).await
    }

    /// Gives the details the `UserInputRequired` step asks for.
    async fn complete_user_input_required_for_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: CompleteUserInputRequiredInput,
    ) -> ApiResult<WizardPayload> {
        complete_user_input_required_for_smart_flex_onboarding::run(ctx, input).await
    }

    /// Completes a `UserActionRequired` or `TeslaModifyScopes` step once the vendor confirms the
    /// customer did what it asks (KT-CT-4376 until then).
    async fn complete_user_action_for_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: StepInput,
    ) -> ApiResult<WizardPayload> {
        complete_user_action_for_smart_flex_onboarding::run(ctx, input).await
    }

    /// Completes `TeslaSetupVirtualKey` once the vendor reports the virtual key paired with the
    /// vehicle (KT-CT-4376 until then).
    async fn complete_tesla_setup_virtual_key_for_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: CompleteSmartFlexOnboardingStepInput,
    ) -> ApiResult<WizardPayload> {
        complete_tesla_setup_virtual_key_for_smart_flex_onboarding::run(ctx, input).await
    }

    /// Answers `TeslaRegistrationFailed`: grant the missing permissions (`true`) or not.
    async fn complete_tesla_registration_failed_for_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: CompleteTeslaRegistrationFailedInput,
    ) -> ApiResult<WizardPayload> {
        complete_tesla_registration_failed_for_smart_flex_onboarding::run(ctx, input).await
    }

    /// Completes `Retry`: asks the vendor again (KT-CT-4376 while it still does not answer).
    #[graphql(deprecation = "The Retry step is no longer used by most journeys (2026-07-29).")]
    async fn complete_retry_for_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: CompleteSmartFlexOnboardingStepInput,
    ) -> ApiResult<WizardPayload> {
        complete_retry_for_smart_flex_onboarding::run(ctx, input).await
    }

    /// Starts the test charge; fetch the wizard to follow it.
    async fn start_test_charge_for_smart_flex_onboarding(
        &self,
        ctx: &Context<'_>,
        input: StepInput,
    ) -> ApiResult<WizardPayload> {
        start_test_charge_for_smart_flex_onboarding::run(ctx, input).await
    }
}
