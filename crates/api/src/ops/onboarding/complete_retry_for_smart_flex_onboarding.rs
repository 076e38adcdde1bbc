//! `completeRetryForSmartFlexOnboarding`.

use super::*;

/// Completes `Retry` by asking the vendor again; while it still does not answer, KT-CT-4376.
pub(super) async fn run(
    ctx: &Context<'_>,
    input: CompleteSmartFlexOnboardingStepInput,
) -> ApiResult<WizardPayload> {
    let api = api(ctx)?;
    let (mut loaded, step) = for_step(ctx, &input.wizard_id, &input.step_id).await?;
    ensure_current(&loaded, step, &[StepKind::Retry], "a retry")?;
    resiflex_devices::requirements::retry(&api.devices, &mut loaded)
        .await
        .map_err(onboarding_error)?;
    save_and_respond(api, loaded).await
}
