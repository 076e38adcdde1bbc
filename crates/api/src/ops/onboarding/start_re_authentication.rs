//! `startReAuthentication`.

use super::*;

/// Starts a wizard that authorises an existing device again (after its vendor access was lost).
pub(super) async fn run(
    ctx: &Context<'_>,
    input: StartReAuthenticationInput,
) -> ApiResult<WizardPayload> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let account = account_for(api, &caller, &input.account_number, ErrorCode::Unauthorized).await?;
    let device = store::device_by_id(&api.db, input.device_id.trim())
        .await
        .map_err(internal)?
        .filter(|d| d.account_id == account.id)
        .ok_or_else(|| KrakenError::new(ErrorCode::DeviceNotFound))?;
    let supported = device.lifecycle != Lifecycle::Retired
        && api.providers.get(device.provider).is_some()
        && !device.provider.connects_itself();
    if !supported {
        return Err(KrakenError::new(ErrorCode::ReauthenticationUnsupported));
    }
    let input = StartSmartFlexOnboardingInput {
        account_number: input.account_number,
        property_id: input.property_id,
    };
    start(
        ctx,
        input,
        Wizard::reauthentication(&device.id, device.provider),
    )
    .await
}
