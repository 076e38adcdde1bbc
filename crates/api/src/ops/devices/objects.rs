//! The `SmartFlexDeviceInterface` and the object of each kind of device.

use super::*;
use crate::ops::onboarding::ElectricVehicleVariant;
use resiflex_domain::catalogue::Catalogue;

/// A device registered for smart control.
// Several fields share a type, which the lint mistakes for repeated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface)]
#[graphql(
    name = "SmartFlexDeviceInterface",
    field(
        name = "id",
        ty = "ID",
        desc = "The registration's id; registering the device again gives a new one."
    ),
    field(name = "name", ty = "String", desc = "The device's name."),
    field(
        name = "device_type",
        ty = "KrakenFlexDeviceTypes",
        desc = "The kind of device."
    ),
    field(
        name = "provider",
        ty = "ProviderChoices",
        desc = "The integration the device is controlled through."
    ),
    field(
        name = "integration_device_id",
        ty = "String",
        desc = "The provider's id for the device."
    ),
    field(
        name = "property_id",
        ty = "Option<ID>",
        desc = "The property the device is at."
    ),
    field(
        name = "status",
        ty = "SmartFlexDeviceStatusInterface",
        desc = "Where the device is in its life cycle and what it is doing."
    ),
    field(
        name = "alerts",
        ty = "Vec<SmartFlexDeviceAlert>",
        desc = "Messages about the device, newest first."
    ),
    field(
        name = "preferences",
        ty = "Option<SmartFlexDevicePreferences>",
        desc = "What the customer asked of the device."
    ),
    field(
        name = "preference_setting",
        ty = "Option<FlexDevicePreferenceSetting>",
        desc = "The preferences the device accepts."
    ),
    field(
        name = "re_authentication_state",
        ty = "DeviceReAuthentication",
        desc = "Whether the device could be authorised again with its vendor."
    )
)]
pub enum SmartFlexDeviceInterface {
    SmartFlexVehicle(SmartFlexVehicle),
    SmartFlexChargePoint(SmartFlexChargePoint),
    SmartFlexHeatPump(SmartFlexHeatPump),
    SmartFlexBattery(SmartFlexBattery),
    SmartFlexInverter(SmartFlexInverter),
    SmartFlexDevice(SmartFlexDevice),
}

impl SmartFlexDeviceInterface {
    /// The object of the device's kind.
    pub(crate) fn from_view(view: Arc<DeviceView>) -> SmartFlexDeviceInterface {
        match view.device.kind {
            DeviceKind::ElectricVehicle => SmartFlexVehicle(view).into(),
            DeviceKind::ChargePoint => SmartFlexChargePoint(view).into(),
            DeviceKind::HeatPump => SmartFlexHeatPump(view).into(),
            DeviceKind::Battery => SmartFlexBattery(view).into(),
            DeviceKind::Inverter => SmartFlexInverter(view).into(),
            DeviceKind::Thermostat => SmartFlexDevice(view).into(),
        }
    }
}

/// Writes the fields every device object has, then the object's own.
///
/// Fields the interface declares return `Result<_, KrakenError>` spelled out: the `Object` derive only
/// recognises a fallible field by the name `Result`, and the interface calls the field methods directly.
macro_rules! device_object {
    ($(#[$doc:meta])* $ty:ident { $($extra:tt)* }) => {
        $(#[$doc])*
        pub struct $ty(Arc<DeviceView>);

        #[Object]
        impl $ty {
            /// The registration's id; registering the device again gives a new one.
            async fn id(&self) -> ID {
                ID(self.0.device.id.clone())
            }

            /// The device's name.
            async fn name(&self) -> String {
                self.0.device.name.clone()
            }

            /// The kind of device.
            async fn device_type(&self) -> Result<KrakenFlexDeviceTypes, KrakenError> {
                named("device type", self.0.device.kind.kraken_device_type())
            }

            /// The integration the device is controlled through.
            async fn provider(&self) -> Result<ProviderChoices, KrakenError> {
                provider_choice(self.0.device.provider)
            }

            /// The provider's id for the device.
            async fn integration_device_id(&self) -> String {
                self.0.device.integration_device_id.clone()
            }

            /// The property the device is at.
            async fn property_id(&self) -> Option<ID> {
                Some(ID(self.0.device.property_id.to_string()))
            }

            /// Where the device is in its life cycle and what it is doing.
            async fn status(&self) -> SmartFlexDeviceStatusInterface {
                status_of(&self.0)
            }

            /// Messages about the device, newest first.
            async fn alerts(&self, ctx: &Context<'_>) -> Result<Vec<SmartFlexDeviceAlert>, KrakenError> {
                let alerts = store::alerts_of_device(&api(ctx)?.db, &self.0.device.id, ALERT_LIMIT)
                    .await
                    .map_err(store_error)?;
                Ok(alerts
                    .into_iter()
                    .map(|alert| SmartFlexDeviceAlert {
                        message: alert.message,
                        published_at: DateTime(alert.published_at),
                    })
                    .collect())
            }

            /// What the customer asked of the device.
            async fn preferences(&self) -> Result<Option<SmartFlexDevicePreferences>, KrakenError> {
                preferences_of(&self.0).map(Some)
            }

            /// The preferences the device accepts.
            async fn preference_setting(&self) -> Option<FlexDevicePreferenceSetting> {
                setting_of(&self.0)
            }

            /// Whether the device could be authorised again with its vendor.
            async fn re_authentication_state(&self) -> DeviceReAuthentication {
                DeviceReAuthentication {
                    is_eligible: self.0.reauthenticable,
                }
            }

            $($extra)*
        }
    };
}

/// Writes an object for a device that charges a vehicle, with its own fields after the shared ones.
macro_rules! charging_device {
    ($(#[$doc:meta])* $ty:ident, $legacy:meta $(, { $($own:tt)* })?) => {
        device_object! {
            $(#[$doc])*
            $ty {
                $($($own)*)?

                async fn make(&self) -> String {
                    self.0.device.make.clone()
                }

                async fn model(&self) -> String {
                    self.0.device.model.clone()
                }

                /// The usable battery capacity, in kWh.
                async fn vehicle_battery_size(&self) -> Option<Decimal> {
                    self.0.device.battery_capacity_wh.map(thousandths)
                }

                /// The highest charging power, in kW.
                async fn charge_point_power_output(&self) -> Option<Decimal> {
                    self.0.device.max_power_w.map(thousandths)
                }

                /// The device's charging sessions, newest first; `after` (inclusive) and `before`
                /// bound their start times, which are the cursors.
                #[allow(clippy::too_many_arguments)]
                async fn charging_sessions(
                    &self,
                    ctx: &Context<'_>,
                    before: Option<DateTime>,
                    after: Option<DateTime>,
                    session_types: Option<Vec<Option<crate::enums::ChargingSessionType>>>,
                    first: Option<i32>,
                    last: Option<i32>,
                ) -> Result<Option<crate::ops::sessions::DeviceChargingSessionConnection>, KrakenError> {
                    let args = crate::ops::sessions::SessionArgs { before, after, session_types, first, last };
                    crate::ops::sessions::charging_sessions(ctx, &self.0.device, args).await.map(Some)
                }

                /// One weekday and one weekend target, derived from `preferences`.
                #[$legacy]
                async fn charging_preferences(&self) -> Option<SmartFlexVehicleChargingPreferences> {
                    legacy_charging_preferences(&self.0)
                }
            }
        }
    };
}

charging_device! {
    /// An electric vehicle controlled through the car maker's cloud.
    SmartFlexVehicle,
    graphql(deprecation = "Use `preferences` instead (since 2024-11-01)."),
    {
        /// The vehicle variant the customer chose when onboarding it: its make, model, model years
        /// and usable battery size (kWh). Null for a vehicle registered without a catalogue entry.
        async fn vehicle_variant(&self) -> Option<ElectricVehicleVariant> {
            vehicle_variant(&self.0.device)
        }

        /// The vehicle identification number the customer confirmed when onboarding it, as the
        /// car maker's app shows it. Null when the vendor did not give one.
        async fn vin(&self) -> Option<String> {
            self.0.device.vin.clone()
        }
    }
}

/// The catalogue variant a vehicle was registered as, sized as the device record is.
fn vehicle_variant(device: &Device) -> Option<ElectricVehicleVariant> {
    let id = device.catalogue_id.as_deref()?;
    let catalogue = match Catalogue::get() {
        Ok(catalogue) => catalogue,
        Err(err) => {
            tracing::warn!(error = %err, "the device catalogue could not be read");
            return None;
        }
    };
    let variant = catalogue.vehicle(id)?;
    Some(ElectricVehicleVariant {
        make: device.make.clone(),
        model: device.model.clone(),
        available_from: i32::from(variant.available_from),
        available_to: variant.available_to.map(i32::from),
        battery_size: device
            .battery_capacity_wh
            .map_or_else(|| thousandths(variant.battery().wh), thousandths),
    })
}

charging_device! {
    /// A vehicle charger.
    SmartFlexChargePoint,
    graphql()
}

device_object! {
    /// A heat pump.
    SmartFlexHeatPump {
        async fn make(&self) -> String {
            self.0.device.make.clone()
        }

        async fn model(&self) -> String {
            self.0.device.model.clone()
        }

        /// The heat pump's electrical power, in kW.
        async fn power_in_kw(&self) -> Option<Decimal> {
            self.0.device.max_power_w.map(thousandths)
        }

        /// What the heat pump serves.
        async fn zone_type(&self) -> Option<ZoneType> {
            Some(ZoneType::Climate)
        }
    }
}

device_object! {
    /// A home battery.
    SmartFlexBattery {
        async fn make(&self) -> String {
            self.0.device.make.clone()
        }

        async fn model(&self) -> String {
            self.0.device.model.clone()
        }
    }
}

device_object! {
    /// A solar or hybrid inverter.
    SmartFlexInverter {
        async fn make(&self) -> String {
            self.0.device.make.clone()
        }

        async fn model(&self) -> String {
            self.0.device.model.clone()
        }

        /// The site's power flows, from the latest reading.
        async fn telemetry(&self) -> Option<SmartFlexInverterTelemetry> {
            self.0.telemetry.as_ref().map(inverter_telemetry)
        }
    }
}

device_object! {
    /// Any other device, such as a thermostat.
    SmartFlexDevice {}
}
