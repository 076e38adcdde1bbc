//! `devices`: the account's devices.

use super::*;

#[derive(Default)]
pub struct DevicesQuery;

#[Object]
impl DevicesQuery {
    /// The account's devices, oldest first, retired ones included; optionally only the one with this
    /// id, the one with this provider id, or those at this property. No match is an empty list.
    async fn devices(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        device_id: Option<String>,
        integration_device_id: Option<String>,
        property_id: Option<ID>,
    ) -> ApiResult<Vec<SmartFlexDeviceInterface>> {
        let caller = authorise(ctx).await?;
        let api = api(ctx)?;
        let account = account_for(api, &caller, &account_number, ErrorCode::Unauthorized).await?;
        let device_id = device_id.as_deref().map(str::trim);
        let integration_device_id = integration_device_id.as_deref().map(str::trim);
        // An id that is not a number matches no property.
        let property_id = property_id.as_ref().map(|id| id.trim().parse::<i64>().ok());
        let mut shown = Vec::new();
        for device in store::devices_of_account(&api.db, account.id)
            .await
            .map_err(store_error)?
        {
            let wanted = device_id.is_none_or(|id| device.id == id)
                && integration_device_id.is_none_or(|id| device.integration_device_id == id)
                && property_id.is_none_or(|p| p == Some(device.property_id));
            if wanted {
                shown.push(respond(api, device).await?);
            }
        }
        Ok(shown)
    }
}
