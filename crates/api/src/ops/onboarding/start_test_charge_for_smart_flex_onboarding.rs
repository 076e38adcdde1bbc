//! `startTestChargeForSmartFlexOnboarding`.

use super::*;

/// Starts the test charge; fetch the wizard to follow it.
pub(super) async fn run(ctx: &Context<'_>, input: StepInput) -> ApiResult<WizardPayload> {
    let api = api(ctx)?;
    let (loaded, step) = for_step(ctx, &input.wizard_id, &input.step_id).await?;
    if step != StepKind::TestCharge {
        return Err(KrakenError::with_message(
            ErrorCode::StepParameters,
            "This step is not a test charge.",
        ));
    }
    let loaded = journey::start_test_charge(&api.devices, loaded)
        .await
        .map_err(onboarding_error)?;
    respond(api, loaded).await
}
