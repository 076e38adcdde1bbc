//! `smartFlexOnboardingWizard`.

use super::*;

/// One wizard (KT-CT-4371 when it does not exist or is not the caller's).
pub(super) async fn run(ctx: &Context<'_>, wizard_id: ID) -> ApiResult<SmartFlexOnboardingWizard> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let loaded = journey::advance(&api.devices, load(api, &caller, &wizard_id).await?)
        .await
        .map_err(onboarding_error)?;
    SmartFlexOnboardingWizard::build(api, loaded).await
}
