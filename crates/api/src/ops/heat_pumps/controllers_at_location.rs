//! `heatPumpControllersAtLocation`: the heat-pump controllers at one of the account's properties.

use async_graphql::{Context, ID, Object, SimpleObject};
use resiflex_devices::heat_pump;

use super::{answer, api, authorise, store_error};
use crate::auth::access::account_for;
use crate::errors::ErrorCode;
use crate::scalars::DateTime;

/// A controller, by its EUID.
#[derive(SimpleObject, Debug, Clone)]
pub struct Controller {
    pub euid: ID,
}

/// Where a controller is installed.
#[derive(SimpleObject, Debug, Clone)]
pub struct ControllerLocation {
    pub property_id: ID,
}

/// A controller installed at a property, with the heat pump it drives.
#[derive(SimpleObject, Debug, Clone)]
pub struct ControllerAtLocation {
    pub controller: Controller,
    pub heat_pump_model: String,
    pub location: ControllerLocation,
    /// When the heat pump was added.
    pub provisioned_at: Option<DateTime>,
}

#[derive(Default)]
pub struct ControllersAtLocationQuery;

#[Object]
impl ControllersAtLocationQuery {
    /// The heat-pump controllers at one of the account's properties (`propertyId` as a string
    /// or a number). A property that is not the account's has none.
    async fn heat_pump_controllers_at_location(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        property_id: ID,
    ) -> Option<Vec<ControllerAtLocation>> {
        answer(
            ctx,
            async {
                let caller = authorise(ctx).await?;
                let api = api(ctx)?;
                let account =
                    account_for(api, &caller, &account_number, ErrorCode::Unauthorized).await?;
                let Ok(property_id) = property_id.trim().parse::<i64>() else {
                    return Ok(Some(Vec::new()));
                };
                let found = heat_pump::controllers_at_property(
                    &api.db,
                    account.id,
                    property_id,
                    api.clock.now(),
                )
                .await
                .map_err(store_error)?;
                Ok(Some(
                    found
                        .into_iter()
                        .map(|pump| ControllerAtLocation {
                            controller: Controller {
                                euid: ID(pump.controller.euid),
                            },
                            heat_pump_model: pump.device.model.clone(),
                            location: ControllerLocation {
                                property_id: ID(pump.device.property_id.to_string()),
                            },
                            provisioned_at: Some(DateTime(pump.device.created_at)),
                        })
                        .collect(),
                ))
            }
            .await,
        )
    }
}
