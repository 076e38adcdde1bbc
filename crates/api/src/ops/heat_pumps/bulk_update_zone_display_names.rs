//! `heatPumpBulkUpdateZoneDisplayNames`: renames zones as the controller shows them.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use resiflex_devices::heat_pump::{self, HeatPumpError};

use super::types::Zone;
use super::{answer, change_error, controller_for};
use crate::errors::{ErrorCode, KrakenError};

/// The most zones one request renames.
const MAX_UPDATES: usize = 8;

/// A zone and its new name.
#[derive(InputObject, Debug, Clone)]
pub struct SetZoneDisplayNameParameters {
    pub zone_code: Zone,
    /// 1 to 40 characters once trimmed.
    pub new_display_name: String,
}

/// The transaction of one zone's rename.
#[derive(SimpleObject, Debug, Clone)]
pub struct ZoneDisplayNameUpdates {
    pub zone_code: Zone,
    pub transaction_id: ID,
}

/// The renames the heat pump accepted.
#[derive(SimpleObject, Debug, Clone)]
pub struct BulkUpdateZoneDisplayNames {
    pub transaction_ids: Vec<ZoneDisplayNameUpdates>,
}

#[derive(Default)]
pub struct BulkUpdateZoneDisplayNamesMutation;

#[Object]
impl BulkUpdateZoneDisplayNamesMutation {
    /// Renames zones, each as a transaction of its own. Every name is checked before any is
    /// sent: an empty or over-long name, a zone named twice, an unknown zone or more than eight
    /// updates is OE-0321 and renames nothing.
    async fn heat_pump_bulk_update_zone_display_names(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        euid: ID,
        updates: Vec<SetZoneDisplayNameParameters>,
    ) -> Option<BulkUpdateZoneDisplayNames> {
        answer(
            ctx,
            async {
                let (api, pump) = controller_for(ctx, &account_number, &euid).await?;
                if updates.is_empty() || updates.len() > MAX_UPDATES {
                    return Err(refused(format!("Give 1 to {MAX_UPDATES} zones to rename.")));
                }
                let mut renames = Vec::with_capacity(updates.len());
                for update in updates {
                    let zone = update.zone_code.into();
                    if renames.iter().any(|(z, _)| *z == zone) {
                        return Err(refused(format!(
                            "{} is named twice.",
                            code(update.zone_code)
                        )));
                    }
                    renames.push((zone, update.new_display_name));
                }
                let accepted =
                    heat_pump::rename_zones(&api.devices, &pump.device, &renames, api.clock.now())
                        .await
                        .map_err(|(zone, err)| match err {
                            HeatPumpError::Invalid(why) => {
                                refused(format!("{}: {why}.", code(zone.into())))
                            }
                            other => change_error(other),
                        })?;
                Ok(Some(BulkUpdateZoneDisplayNames {
                    transaction_ids: accepted
                        .into_iter()
                        .map(|(zone, done)| ZoneDisplayNameUpdates {
                            zone_code: zone.into(),
                            transaction_id: ID(done.transaction_id.to_string()),
                        })
                        .collect(),
                }))
            }
            .await,
        )
    }
}

/// The zone's name in the schema (`ZONE_1`).
fn code(zone: Zone) -> String {
    async_graphql::InputType::to_value(&zone).to_string()
}

fn refused(message: String) -> KrakenError {
    KrakenError::with_message(ErrorCode::HeatPumpZoneDisplayName, message)
}
