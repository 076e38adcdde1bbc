//! `cancelSmartFlexOnboarding`.

use super::*;

/// Cancels a wizard. A device it already registered stays (use `deauthenticateFlexDevice`).
pub(super) async fn run(ctx: &Context<'_>, input: WizardInput) -> ApiResult<WizardPayload> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let loaded = load(api, &caller, &input.wizard_id).await?;
    if loaded.wizard.status == WizardStatus::Cancelled {
        return Err(KrakenError::new(ErrorCode::WizardCancelled));
    }
    let loaded = journey::cancel(&api.devices, loaded)
        .await
        .map_err(onboarding_error)?;
    Ok(WizardPayload {
        wizard: SmartFlexOnboardingWizard::build(api, loaded).await?,
    })
}
