//! `completeTeslaRegistrationFailedForSmartFlexOnboarding`.

use super::*;

/// Answers `TeslaRegistrationFailed` (the current step, or an earlier answer to change it).
pub(super) async fn run(
    ctx: &Context<'_>,
    input: CompleteTeslaRegistrationFailedInput,
) -> ApiResult<WizardPayload> {
    let api = api(ctx)?;
    let (mut loaded, step) = for_step(ctx, &input.wizard_id, &input.step_id).await?;
    if step != StepKind::TeslaRegistrationFailed {
        return Err(KrakenError::with_message(
            ErrorCode::StepParameters,
            "This step is not a failed Tesla registration.",
        ));
    }
    loaded
        .wizard
        .decide_scopes(input.modify_scopes_selected, catalogue()?)
        .map_err(wizard_error)?;
    save_and_respond(api, loaded).await
}
