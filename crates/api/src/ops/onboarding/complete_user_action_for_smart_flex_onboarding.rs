//! `completeUserActionForSmartFlexOnboarding`.

use super::*;

/// Completes a `UserActionRequired` or `TeslaModifyScopes` step: only when the vendor confirms
/// that the customer did what it asks (KT-CT-4376 until then).
pub(super) async fn run(ctx: &Context<'_>, input: StepInput) -> ApiResult<WizardPayload> {
    let api = api(ctx)?;
    let (mut loaded, step) = for_step(ctx, &input.wizard_id, &input.step_id).await?;
    ensure_current(
        &loaded,
        step,
        &[StepKind::UserActionRequired, StepKind::TeslaModifyScopes],
        "a user action",
    )?;
    resiflex_devices::requirements::confirm(&api.devices, &mut loaded, step)
        .await
        .map_err(onboarding_error)?;
    save_and_respond(api, loaded).await
}
