//! `selectFromListForSmartFlexOnboarding`.

use super::*;

/// Answers a list step (the current one, or an earlier one to go back).
pub(super) async fn run(ctx: &Context<'_>, input: SelectFromListInput) -> ApiResult<WizardPayload> {
    let api = api(ctx)?;
    let (mut loaded, step) = for_step(ctx, &input.wizard_id, &input.step_id).await?;
    if !step.is_list() {
        return Err(KrakenError::with_message(
            ErrorCode::StepParameters,
            "This step is not answered from a list.",
        ));
    }
    loaded
        .wizard
        .answer_step(step, input.selected_option.trim(), catalogue()?)
        .map_err(wizard_error)?;
    journey::choose_provider(&api.devices, &mut loaded.wizard, catalogue()?);
    if matches!(
        step,
        StepKind::SelectSessionDevice | StepKind::SelectUserVehicle
    ) {
        journey::ensure_chosen_free(&api.devices, &loaded)
            .await
            .map_err(onboarding_error)?;
    }
    save_and_respond(api, loaded).await
}
