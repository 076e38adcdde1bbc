//! `smartFlexOnboardingWizards`.

use super::*;

/// The account's wizards, newest first, optionally for one property.
pub(super) async fn run(
    ctx: &Context<'_>,
    account_number: String,
    property_id: Option<i32>,
) -> ApiResult<Vec<SmartFlexOnboardingWizard>> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let account = account_for(api, &caller, &account_number, ErrorCode::Unauthorized).await?;
    let rows = resiflex_store::wizards::wizards_of_account(
        &api.db,
        account.id,
        property_id.map(i64::from),
    )
    .await
    .map_err(internal)?;
    let mut wizards = Vec::with_capacity(rows.len());
    for row in rows {
        let loaded = journey::advance(&api.devices, Journey::of(row))
            .await
            .map_err(onboarding_error)?;
        wizards.push(SmartFlexOnboardingWizard::build(api, loaded).await?);
    }
    Ok(wizards)
}
