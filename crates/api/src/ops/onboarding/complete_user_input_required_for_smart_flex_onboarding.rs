//! `completeUserInputRequiredForSmartFlexOnboarding`.

use super::*;

/// Gives the details the `UserInputRequired` step asks for.
pub(super) async fn run(
    ctx: &Context<'_>,
    input: CompleteUserInputRequiredInput,
) -> ApiResult<WizardPayload> {
    let api = api(ctx)?;
    let (mut loaded, step) = for_step(ctx, &input.wizard_id, &input.step_id).await?;
    let catalogue = catalogue()?;
    let (path, current) = loaded.wizard.path(catalogue);
    if step != StepKind::UserInputRequired || !(current == Some(step) || path.contains(&step)) {
        return Err(KrakenError::new(ErrorCode::StepNotFound));
    }
    let mut vin = None;
    for item in &input.user_input {
        match item.key.trim() {
            "vin" => vin = Some(item.value.trim().to_ascii_uppercase()),
            other => {
                return Err(KrakenError::with_message(
                    ErrorCode::StepInputInvalid,
                    format!("{other:?} is not an input of this step."),
                ));
            }
        }
    }
    let vin = vin.ok_or_else(|| {
        KrakenError::with_message(ErrorCode::StepParameters, "The `vin` input is required.")
    })?;
    if !valid_vin(&vin) {
        return Err(KrakenError::with_message(
            ErrorCode::StepInputInvalid,
            "`vin` must be 17 letters and digits (no I, O or Q).",
        ));
    }
    if let Some(known) = loaded
        .wizard
        .chosen_device(catalogue)
        .and_then(|d| d.vin.clone())
        && known != vin
    {
        return Err(KrakenError::with_message(
            ErrorCode::StepInputInvalid,
            "`vin` does not match the vehicle the vendor reports.",
        ));
    }
    // Answering again rewinds the test charge.
    loaded.wizard.test = None;
    loaded.wizard.user_inputs.insert("vin".to_owned(), vin);
    save_and_respond(api, loaded).await
}
