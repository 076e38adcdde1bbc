//! `startSmartFlexOnboardingWizard`.

use super::*;

/// The same as `startSmartFlexOnboarding` (the name some guides use).
pub(super) async fn run(
    ctx: &Context<'_>,
    input: StartSmartFlexOnboardingInput,
) -> ApiResult<WizardPayload> {
    start(ctx, input, Wizard::default()).await
}
