//! `completeAuthFlowForSmartFlexOnboarding`.

use super::*;

/// Completes the vendor authorisation with the URI the vendor redirected to.
pub(super) async fn run(
    ctx: &Context<'_>,
    input: CompleteAuthFlowInput,
) -> ApiResult<WizardPayload> {
    let api = api(ctx)?;
    let (mut loaded, step) = for_step(ctx, &input.wizard_id, &input.step_id).await?;
    if step != StepKind::AuthFlow || loaded.wizard.current(catalogue()?) != Some(StepKind::AuthFlow)
    {
        return Err(if step == StepKind::AuthFlow {
            KrakenError::with_message(
                ErrorCode::StepParameters,
                "The authorisation is already complete.",
            )
        } else {
            KrakenError::with_message(
                ErrorCode::StepParameters,
                "This step is not an authorisation.",
            )
        });
    }
    journey::complete_auth(&api.devices, &mut loaded, &input.continuation_uri)
        .await
        .map_err(onboarding_error)?;
    save_and_respond(api, loaded).await
}
