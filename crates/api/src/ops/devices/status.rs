//! What a device is doing: the status objects of each kind.

use super::*;

/// A reading of a number at a time.
#[derive(SimpleObject, Debug, Clone)]
pub struct DecimalReading {
    pub value: Decimal,
    pub timestamp: DateTime,
}

/// The charge limit set on the vehicle or charger itself.
#[derive(SimpleObject, Debug, Clone)]
pub struct StateOfChargeLimit {
    /// The highest state of charge the device will charge to, in percent.
    pub upper_soc_limit: i32,
    /// When the limit was read.
    pub timestamp: DateTime,
    /// Whether a target in the device's preferences is above the limit, so cannot be reached.
    pub is_limit_violated: bool,
}

/// A temperature measured in one zone.
#[derive(SimpleObject, Debug, Clone)]
pub struct ZoneTemperature {
    pub zone: ZoneType,
    /// Degrees Celsius.
    pub temperature: Decimal,
    pub timestamp: DateTime,
}

/// The status every device has.
#[derive(Interface)]
#[graphql(
    name = "SmartFlexDeviceStatusInterface",
    field(
        name = "current",
        ty = "SmartFlexDeviceLifecycleStatus",
        desc = "Where the device's registration is in its life cycle."
    ),
    field(
        name = "current_state",
        ty = "SmartFlexDeviceState",
        desc = "What the device is doing for the customer now."
    ),
    field(
        name = "is_suspended",
        ty = "bool",
        desc = "Whether smart control of the device is suspended."
    )
)]
pub enum SmartFlexDeviceStatusInterface {
    SmartFlexVehicleStatus(SmartFlexVehicleStatus),
    SmartFlexChargePointStatus(SmartFlexChargePointStatus),
    SmartFlexHeatPumpStatus(SmartFlexHeatPumpStatus),
    SmartFlexDeviceStatus(SmartFlexDeviceStatus),
}

/// Writes the three fields every status type has, then the type's own.
macro_rules! status_object {
    ($(#[$doc:meta])* $ty:ident { $($extra:tt)* }) => {
        $(#[$doc])*
        pub struct $ty(Arc<DeviceView>);

        #[Object]
        impl $ty {
            /// Where the device's registration is in its life cycle.
            async fn current(&self) -> Result<SmartFlexDeviceLifecycleStatus, KrakenError> {
                named("stored device lifecycle", self.0.device.lifecycle.as_str())
            }

            /// What the device is doing for the customer now.
            async fn current_state(&self) -> Result<SmartFlexDeviceState, KrakenError> {
                named("stored device state", self.0.device.state.as_str())
            }

            /// Whether smart control of the device is suspended.
            async fn is_suspended(&self) -> bool {
                self.0.device.is_suspended
            }

            $($extra)*
        }
    };
}

/// Writes a vehicle-or-charger status type.
macro_rules! charging_status {
    ($(#[$doc:meta])* $ty:ident) => {
        status_object! {
            $(#[$doc])*
            $ty {
                /// The latest state of charge, 0–100.
                async fn state_of_charge(&self) -> Option<DecimalReading> {
                    charging::state_of_charge(&self.0)
                }

                /// The latest power, in kW: positive while charging, negative while discharging.
                async fn active_power(&self) -> Option<DecimalReading> {
                    charging::active_power(&self.0)
                }

                /// The charge limit set on the device itself, when it reports one.
                async fn state_of_charge_limit(&self) -> Option<StateOfChargeLimit> {
                    charging::limit(&self.0)
                }

                /// Why the latest test charge failed: UNKNOWN after a failed test, NONE otherwise.
                async fn test_dispatch_failure_reason(
                    &self,
                ) -> Option<TestDispatchAssessmentFailureReason> {
                    Some(if self.0.device.state == DeviceState::TestChargeFailed {
                        TestDispatchAssessmentFailureReason::Unknown
                    } else {
                        TestDispatchAssessmentFailureReason::None
                    })
                }
            }
        }
    };
}

mod charging {
    use super::*;

    pub(super) fn state_of_charge(view: &DeviceView) -> Option<DecimalReading> {
        let telemetry = view.telemetry.as_ref()?;
        Some(DecimalReading {
            value: measured(telemetry.state_of_charge_pct?)?,
            timestamp: DateTime(telemetry.at),
        })
    }

    pub(super) fn active_power(view: &DeviceView) -> Option<DecimalReading> {
        let telemetry = view.telemetry.as_ref()?;
        Some(DecimalReading {
            value: thousandths(telemetry.power_w),
            timestamp: DateTime(telemetry.at),
        })
    }

    /// The limit, and whether any day's target is above it.
    pub(super) fn limit(view: &DeviceView) -> Option<StateOfChargeLimit> {
        let telemetry = view.telemetry.as_ref()?;
        let limit = telemetry.soc_limit_pct.filter(|l| l.is_finite())?;
        let violated = view
            .preferences
            .as_ref()
            .is_some_and(|p| p.schedules.iter().any(|entry| entry.max > limit));
        Some(StateOfChargeLimit {
            upper_soc_limit: limit.round().clamp(0.0, 100.0) as i32,
            timestamp: DateTime(telemetry.at),
            is_limit_violated: violated,
        })
    }
}

charging_status! {
    /// The status of an electric vehicle.
    SmartFlexVehicleStatus
}

charging_status! {
    /// The status of a vehicle charger.
    SmartFlexChargePointStatus
}

status_object! {
    /// The status of a heat pump.
    SmartFlexHeatPumpStatus {
        /// The mode the heat pump is in: off while suspended, otherwise its preferences' mode.
        async fn mode(&self) -> Option<HeatPumpMode> {
            heat_pump_mode(&self.0)
        }

        /// What the heat pump is doing now: the activity of the plan's dispatch in force while it
        /// runs (pre-heating, or heating to the schedule), PENDING while it rests.
        async fn activity(&self, ctx: &Context<'_>) -> Option<HeatPumpActivity> {
            let telemetry = self.0.telemetry.as_ref()?;
            let mode = heat_pump_mode(&self.0)?;
            if !telemetry.active || mode == HeatPumpMode::Off {
                return Some(HeatPumpActivity::Pending);
            }
            let planned = match crate::ops::api(ctx) {
                Ok(api) => resiflex_store::plans::current_plan(&api.db, &self.0.device.id)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|plan| {
                        plan.dispatches
                            .iter()
                            .find(|d| d.start <= telemetry.at && telemetry.at < d.end)
                            .and_then(|d| d.activity)
                    }),
                Err(_) => None,
            };
            Some(match (planned, mode) {
                (Some(activity), _) => crate::ops::dispatches::activity(activity),
                (None, HeatPumpMode::Cooling) => HeatPumpActivity::ScheduledCooling,
                (None, _) => HeatPumpActivity::ScheduledHeating,
            })
        }

        /// The latest temperature of each zone.
        async fn current_temperatures(&self) -> Vec<ZoneTemperature> {
            self.0
                .telemetry
                .as_ref()
                .and_then(|t| {
                    Some(ZoneTemperature {
                        zone: ZoneType::Climate,
                        temperature: measured(t.indoor_temperature_c?)?,
                        timestamp: DateTime(t.at),
                    })
                })
                .into_iter()
                .collect()
        }

        /// The temperature the heat pump is working towards, in degrees Celsius.
        async fn target_temperature(&self) -> Option<Decimal> {
            measured(self.0.telemetry.as_ref()?.target_temperature_c?)
        }
    }
}

pub(super) fn heat_pump_mode(view: &DeviceView) -> Option<HeatPumpMode> {
    if view.device.is_suspended || view.device.lifecycle == Lifecycle::Retired {
        return Some(HeatPumpMode::Off);
    }
    match view.preferences.as_ref()?.mode {
        PreferenceMode::Heat => Some(HeatPumpMode::Heating),
        PreferenceMode::Cool => Some(HeatPumpMode::Cooling),
        PreferenceMode::Charge => None,
    }
}

status_object! {
    /// The status of any other device.
    SmartFlexDeviceStatus {}
}

pub(super) fn status_of(view: &Arc<DeviceView>) -> SmartFlexDeviceStatusInterface {
    let view = Arc::clone(view);
    match view.device.kind {
        DeviceKind::ElectricVehicle => SmartFlexVehicleStatus(view).into(),
        DeviceKind::ChargePoint => SmartFlexChargePointStatus(view).into(),
        DeviceKind::HeatPump => SmartFlexHeatPumpStatus(view).into(),
        DeviceKind::Battery | DeviceKind::Inverter | DeviceKind::Thermostat => {
            SmartFlexDeviceStatus(view).into()
        }
    }
}
