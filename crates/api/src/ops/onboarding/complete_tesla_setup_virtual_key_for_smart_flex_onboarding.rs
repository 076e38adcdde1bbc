//! `completeTeslaSetupVirtualKeyForSmartFlexOnboarding`.

use super::*;

/// Completes `TeslaSetupVirtualKey` once the vendor reports the key paired (KT-CT-4376 until then).
pub(super) async fn run(
    ctx: &Context<'_>,
    input: CompleteSmartFlexOnboardingStepInput,
) -> ApiResult<WizardPayload> {
    let api = api(ctx)?;
    let (mut loaded, step) = for_step(ctx, &input.wizard_id, &input.step_id).await?;
    ensure_current(
        &loaded,
        step,
        &[StepKind::TeslaSetupVirtualKey],
        "the virtual key set-up",
    )?;
    resiflex_devices::requirements::confirm(&api.devices, &mut loaded, step)
        .await
        .map_err(onboarding_error)?;
    save_and_respond(api, loaded).await
}
