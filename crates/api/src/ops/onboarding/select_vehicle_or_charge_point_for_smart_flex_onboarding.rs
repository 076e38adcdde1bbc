//! `selectVehicleOrChargePointForSmartFlexOnboarding`.

use super::*;

/// Chooses whether the vehicle or the charger is controlled.
pub(super) async fn run(
    ctx: &Context<'_>,
    input: SelectVehicleOrChargePointInput,
) -> ApiResult<WizardPayload> {
    let api = api(ctx)?;
    let (mut loaded, step) = for_step(ctx, &input.wizard_id, &input.step_id).await?;
    if step != StepKind::SelectVehicleOrChargePoint {
        return Err(KrakenError::with_message(
            ErrorCode::StepParameters,
            "This step is not a choice of integration.",
        ));
    }
    loaded
        .wizard
        .answer_step(step, input.selected_integration.as_str(), catalogue()?)
        .map_err(wizard_error)?;
    journey::choose_provider(&api.devices, &mut loaded.wizard, catalogue()?);
    save_and_respond(api, loaded).await
}
