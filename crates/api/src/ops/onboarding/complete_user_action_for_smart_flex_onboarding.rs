//! `completeUserActionForSmartFlexOnboarding`.

use super::*;

/// Completes a `UserActionRequired` step. ResiFlex's journeys have none today, so any step id is
/// refused (KT-CT-4377) or, for another step type, KT-CT-4375.
pub(super) async fn run(ctx: &Context<'_>, input: StepInput) -> ApiResult<WizardPayload> {
    let (_loaded, _step) = for_step(ctx, &input.wizard_id, &input.step_id).await?;
    Err(KrakenError::with_message(
        ErrorCode::StepParameters,
        "This step needs no user action.",
    ))
}
