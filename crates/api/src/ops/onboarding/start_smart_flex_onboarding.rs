//! `startSmartFlexOnboarding`.

use super::*;

/// Starts onboarding a device at a property of the account.
pub(super) async fn run(
    ctx: &Context<'_>,
    input: StartSmartFlexOnboardingInput,
) -> ApiResult<WizardPayload> {
    start(ctx, input, Wizard::default()).await
}
