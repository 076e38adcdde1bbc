//! `eligibleDeviceTypes`: the kinds of device an account may connect.

use async_graphql::Context;
use resiflex_domain::AccountStatus as DomainStatus;
use resiflex_domain::catalogue::Catalogue;
use resiflex_store::accounts;

use super::{catalogue, kraken_device_type};
use crate::auth::access::account_for;
use crate::auth::authorise;
use crate::enums::KrakenFlexDeviceTypes;
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::api;

/// The Kraken device types with at least one generally available model, each once.
fn live_device_types(catalogue: &Catalogue) -> Vec<KrakenFlexDeviceTypes> {
    let mut types = Vec::new();
    for kind in catalogue.live_kinds() {
        let device_type = kraken_device_type(kind);
        if !types.contains(&device_type) {
            types.push(device_type);
        }
    }
    types
}

pub(super) async fn run(
    ctx: &Context<'_>,
    account_number: String,
    property_id: Option<i32>,
) -> ApiResult<Vec<KrakenFlexDeviceTypes>> {
    let caller = authorise(ctx).await?;
    let api = api(ctx)?;
    let account = account_for(api, &caller, &account_number, ErrorCode::Unauthorized).await?;
    if let Some(property_id) = property_id {
        let property = accounts::property_by_id(&api.db, i64::from(property_id))
            .await
            .map_err(|err| KrakenError::internal("catalogue property", &err))?;
        if property.is_none_or(|property| property.account_id != account.id) {
            return Err(KrakenError::with_message(
                ErrorCode::InvalidInput,
                format!("The account has no property {property_id}."),
            ));
        }
    }
    if DomainStatus::parse(&account.status) != Some(DomainStatus::Active) {
        return Ok(Vec::new());
    }
    Ok(live_device_types(catalogue()?))
}

#[cfg(test)]
mod tests {
    use super::super::tests::c;
    use super::*;

    #[test]
    fn the_live_device_types_are_the_catalogued_kinds() {
        assert_eq!(
            live_device_types(c()),
            vec![
                KrakenFlexDeviceTypes::ElectricVehicles,
                KrakenFlexDeviceTypes::HeatPumps,
                KrakenFlexDeviceTypes::Batteries,
                KrakenFlexDeviceTypes::Inverters,
                KrakenFlexDeviceTypes::Thermostats,
            ]
        );
    }
}
