//! Devices: what kind they are, and the two state machines every device goes through. The life cycle
//! (`SmartFlexDeviceLifecycleStatus`) says where the registration is; the state
//! (`SmartFlexDeviceState`) says what the device is doing for the customer right now.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The kind of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DeviceKind {
    ElectricVehicle,
    ChargePoint,
    HeatPump,
    Battery,
    Inverter,
    Thermostat,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 6] = [
        DeviceKind::ElectricVehicle,
        DeviceKind::ChargePoint,
        DeviceKind::HeatPump,
        DeviceKind::Battery,
        DeviceKind::Inverter,
        DeviceKind::Thermostat,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            DeviceKind::ElectricVehicle => "ELECTRIC_VEHICLE",
            DeviceKind::ChargePoint => "CHARGE_POINT",
            DeviceKind::HeatPump => "HEAT_PUMP",
            DeviceKind::Battery => "BATTERY",
            DeviceKind::Inverter => "INVERTER",
            DeviceKind::Thermostat => "THERMOSTAT",
        }
    }

    pub fn parse(text: &str) -> Option<DeviceKind> {
        DeviceKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    /// Kraken's `KrakenFlexDeviceTypes` value: vehicles and chargers both count as
    /// `ELECTRIC_VEHICLES`.
    pub const fn kraken_device_type(self) -> &'static str {
        match self {
            DeviceKind::ElectricVehicle | DeviceKind::ChargePoint => "ELECTRIC_VEHICLES",
            DeviceKind::HeatPump => "HEAT_PUMPS",
            DeviceKind::Battery => "BATTERIES",
            DeviceKind::Inverter => "INVERTERS",
            DeviceKind::Thermostat => "THERMOSTATS",
        }
    }

    /// Whether onboarding proves control with a test charge.
    pub const fn needs_test_charge(self) -> bool {
        matches!(self, DeviceKind::ElectricVehicle | DeviceKind::ChargePoint)
    }

    /// Whether export to the grid applies, and its setting for a new device (`FlexGridExportStatus`):
    /// batteries and inverters can export (off until the customer allows it), others cannot.
    pub const fn default_grid_export(self) -> FlexSetting {
        match self {
            DeviceKind::Battery | DeviceKind::Inverter => FlexSetting::Disabled,
            _ => FlexSetting::NotApplicable,
        }
    }

    /// Whether a cap on charging duration applies, and its setting for a new device
    /// (`FlexIsChargingDurationCapped`).
    pub const fn default_charging_duration_capped(self) -> FlexSetting {
        if self.charges_vehicle() || self.stores_energy() {
            FlexSetting::Disabled
        } else {
            FlexSetting::NotApplicable
        }
    }

    /// Whether the device charges a vehicle (and so has charging preferences, boosts and sessions).
    pub const fn charges_vehicle(self) -> bool {
        matches!(self, DeviceKind::ElectricVehicle | DeviceKind::ChargePoint)
    }

    /// Whether the device heats or cools a home (and so is planned against a comfort band).
    pub const fn heats(self) -> bool {
        matches!(self, DeviceKind::HeatPump | DeviceKind::Thermostat)
    }

    /// Whether the device is (or may hold) a home battery that charges and discharges.
    pub const fn stores_energy(self) -> bool {
        matches!(self, DeviceKind::Battery | DeviceKind::Inverter)
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! machine {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The Kraken enum value.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|value| value.as_str() == text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A test charge that was started: when, the provider's id for the command, and the device's
/// import meter at the start (the charge passes once the meter moves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestChargeStart {
    pub started_at: DateTime<Utc>,
    pub command_id: String,
    pub meter_at_start_wh: Option<i64>,
}

machine! {
    /// A setting a device may not have: export to the grid (`FlexGridExportStatus`) and the cap on
    /// charging duration (`FlexIsChargingDurationCapped`) share these values.
    FlexSetting {
        Disabled = "DISABLED",
        Enabled = "ENABLED",
        NotApplicable = "NOT_APPLICABLE",
    }
}

/// Calls the macro `$then` with every integration ResiFlex knows (Kraken's `ProviderChoices`), each
/// as `/// description` and `Variant = "VALUE",`: the one list both [`Provider`] and the API's enum
/// are made from.
#[macro_export]
macro_rules! with_providers {
    ($then:ident) => {
        $then! {
            /// BYD vehicles, through BYD's cloud.
            Byd = "BYD",
            /// Daikin heat pumps, through Daikin's cloud.
            Daikin = "DAIKIN",
            /// Daikin heat pumps, through Daikin's separate LCM integration.
            DaikinLcm = "DAIKIN_LCM",
            /// ecobee smart thermostats, through the ecobee API.
            Ecobee = "ECOBEE",
            /// ecobee smart thermostats, through the newer ecobee integration.
            EcobeeV2 = "ECOBEE_V2",
            /// Energizer-branded home energy devices, through the vendor's cloud.
            Energizer = "ENERGIZER",
            /// Vehicles and other devices reached through Enode, an aggregator for many brands (see EnodeVendors).
            Enode = "ENODE",
            /// Enphase solar microinverters and batteries, through the Enphase cloud.
            Enphase = "ENPHASE",
            /// Ford vehicles, through Ford's connected-car cloud.
            Ford = "FORD",
            /// GivEnergy home batteries and inverters, through the GivEnergy cloud.
            Givenergy = "GIVENERGY",
            /// Huawei solar inverters and batteries, through Huawei's solar cloud.
            Huawei = "HUAWEI",
            /// Huawei solar inverters and batteries, through the newer Huawei integration.
            HuaweiV2 = "HUAWEI_V2",
            /// Hypervolt home chargers, through the Hypervolt cloud.
            Hypervolt = "HYPERVOLT",
            /// Indra home chargers, through the Indra cloud.
            Indra = "INDRA",
            /// Vehicles and chargers reached through Jedlix, a smart charging aggregator.
            Jedlix = "JEDLIX",
            /// Vehicles and chargers reached through the newer Jedlix integration.
            JedlixV2 = "JEDLIX_V2",
            /// Mercedes-Benz vehicles, through Mercedes' connected-car cloud.
            Mercedes = "MERCEDES",
            /// myenergi chargers and diverters such as the zappi, through the myenergi cloud.
            Myenergi = "MYENERGI",
            /// myenergi devices, through the newer myenergi integration.
            MyenergiV2 = "MYENERGI_V2",
            /// Nature Remo smart-home hubs, used in Japan to control appliances such as air conditioners.
            Nature = "NATURE",
            /// Nissan vehicles, through Nissan's connected-car cloud.
            Nissan = "NISSAN",
            /// Any charger that connects directly to our back office over the Open Charge Point Protocol.
            Ocpp = "OCPP",
            /// Wallbox chargers connected over OCPP, with handling specific to Wallbox.
            OcppWallbox = "OCPP_WALLBOX",
            /// Devices connected through Octopus Energy's own integration.
            OctopusEnergy = "OCTOPUS_ENERGY",
            /// Ohme home chargers, through the Ohme cloud.
            Ohme = "OHME",
            /// Ohme home chargers, through the newer Ohme integration.
            OhmeV2 = "OHME_V2",
            /// Sensi smart thermostats, through the Sensi cloud.
            Sensi = "SENSI",
            /// Sensi smart thermostats, through the newer Sensi integration.
            SensiV2 = "SENSI_V2",
            /// Vehicles reached through Smartcar, an aggregator of many car makers' APIs.
            Smartcar = "SMARTCAR",
            /// Devices linked through SmartFlex Connect, the platform's own connection service.
            SmartflexConnect = "SMARTFLEX_CONNECT",
            /// Devices linked through the Smart Pear integration.
            SmartPear = "SMART_PEAR",
            /// SolarEdge inverters and batteries, through the SolarEdge cloud.
            Solaredge = "SOLAREDGE",
            /// Tesla vehicles, through Tesla's API.
            Tesla = "TESLA",
            /// Tesla vehicles, through the newer Tesla integration.
            TeslaV2 = "TESLA_V2",
            /// Volkswagen vehicles, through Volkswagen's connected-car cloud.
            Volkswagen = "VOLKSWAGEN",
            /// Amazon smart thermostats, reached through the VP thermostat partner integration.
            VpAmazon = "VP_AMAZON",
            /// Honeywell thermostats on the Total Connect Comfort platform, reached through the VP thermostat partner integration.
            VpHoneywellCc = "VP_HONEYWELL_CC",
            /// Honeywell Home (Resideo) thermostats, reached through the VP thermostat partner integration.
            VpHoneywellRes = "VP_HONEYWELL_RES",
            /// Google Nest thermostats, reached through the VP thermostat partner integration.
            VpNest = "VP_NEST",
        }
    };
}

macro_rules! provider_machine {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)+) => {
        machine! {
            /// The integration a device is controlled through (`ProviderChoices`).
            Provider {
                $($(#[$doc])* $variant = $text,)+
            }
        }
    };
}

with_providers!(provider_machine);

impl Provider {
    /// Whether devices of this integration connect to ResiFlex themselves (OCPP charge points)
    /// instead of being reached through a vendor's cloud.
    pub const fn connects_itself(self) -> bool {
        matches!(self, Provider::Ocpp | Provider::OcppWallbox)
    }
}

machine! {
    /// Where a device's registration is.
    Lifecycle {
        Onboarding = "ONBOARDING",
        OnboardingTestInProgress = "ONBOARDING_TEST_IN_PROGRESS",
        FailedOnboardingTest = "FAILED_ONBOARDING_TEST",
        PendingLive = "PENDING_LIVE",
        Live = "LIVE",
        Retired = "RETIRED",
    }
}

machine! {
    /// What a device is doing for the customer.
    DeviceState {
        AuthenticationPending = "AUTHENTICATION_PENDING",
        AuthenticationFailed = "AUTHENTICATION_FAILED",
        AuthenticationComplete = "AUTHENTICATION_COMPLETE",
        TestChargeInProgress = "TEST_CHARGE_IN_PROGRESS",
        TestChargeFailed = "TEST_CHARGE_FAILED",
        TestChargeNotAvailable = "TEST_CHARGE_NOT_AVAILABLE",
        SetupComplete = "SETUP_COMPLETE",
        SmartControlCapable = "SMART_CONTROL_CAPABLE",
        SmartControlInProgress = "SMART_CONTROL_IN_PROGRESS",
        Boosting = "BOOSTING",
        SmartControlOff = "SMART_CONTROL_OFF",
        SmartControlNotAvailable = "SMART_CONTROL_NOT_AVAILABLE",
        LostConnection = "LOST_CONNECTION",
        Retired = "RETIRED",
    }
}

/// A refused change of life cycle or state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a device cannot go from {from} to {to}")]
pub struct DeviceTransitionError {
    pub from: &'static str,
    pub to: &'static str,
}

impl Lifecycle {
    /// The life-cycle steps allowed from here. Retiring is allowed from everywhere but retired.
    pub const fn next(self) -> &'static [Lifecycle] {
        use Lifecycle::*;
        match self {
            Onboarding => &[OnboardingTestInProgress, PendingLive, Retired],
            OnboardingTestInProgress => &[PendingLive, FailedOnboardingTest, Retired],
            FailedOnboardingTest => &[OnboardingTestInProgress, Retired],
            PendingLive => &[Live, Retired],
            Live => &[Retired],
            Retired => &[],
        }
    }

    pub fn transition(self, to: Lifecycle) -> Result<Lifecycle, DeviceTransitionError> {
        if self.next().contains(&to) {
            Ok(to)
        } else {
            Err(DeviceTransitionError {
                from: self.as_str(),
                to: to.as_str(),
            })
        }
    }
}

impl DeviceState {
    /// The states allowed from here.
    pub const fn next(self) -> &'static [DeviceState] {
        use DeviceState::*;
        match self {
            AuthenticationPending => &[AuthenticationComplete, AuthenticationFailed, Retired],
            AuthenticationFailed => &[AuthenticationPending, Retired],
            AuthenticationComplete => &[
                TestChargeInProgress,
                TestChargeNotAvailable,
                SetupComplete,
                Retired,
            ],
            TestChargeNotAvailable => &[TestChargeInProgress, Retired],
            TestChargeInProgress => &[TestChargeFailed, SetupComplete, Retired],
            TestChargeFailed => &[TestChargeInProgress, Retired],
            SetupComplete => &[
                SmartControlCapable,
                SmartControlNotAvailable,
                SmartControlOff,
                LostConnection,
                Retired,
            ],
            SmartControlCapable => &[
                SmartControlInProgress,
                Boosting,
                SmartControlOff,
                SmartControlNotAvailable,
                LostConnection,
                Retired,
            ],
            SmartControlInProgress => &[
                SmartControlCapable,
                Boosting,
                SmartControlOff,
                SmartControlNotAvailable,
                LostConnection,
                Retired,
            ],
            Boosting => &[
                SmartControlCapable,
                SmartControlInProgress,
                SmartControlOff,
                SmartControlNotAvailable,
                LostConnection,
                Retired,
            ],
            SmartControlOff => &[
                SmartControlCapable,
                SmartControlNotAvailable,
                LostConnection,
                Retired,
            ],
            SmartControlNotAvailable => &[
                SmartControlCapable,
                SmartControlInProgress,
                Boosting,
                SmartControlOff,
                LostConnection,
                Retired,
            ],
            LostConnection => &[
                SmartControlCapable,
                SmartControlNotAvailable,
                SmartControlOff,
                AuthenticationPending,
                Retired,
            ],
            Retired => &[],
        }
    }

    pub fn transition(self, to: DeviceState) -> Result<DeviceState, DeviceTransitionError> {
        if self == to || self.next().contains(&to) {
            Ok(to)
        } else {
            Err(DeviceTransitionError {
                from: self.as_str(),
                to: to.as_str(),
            })
        }
    }

    /// The state a set-up device settles in, from what its latest reading says: off when suspended,
    /// lost when its connection is down, not available when a vehicle is unplugged or away, capable
    /// otherwise (also when nothing is known yet).
    pub const fn settled(
        kind: DeviceKind,
        suspended: bool,
        online: Option<bool>,
        plugged_in: Option<bool>,
        at_home: Option<bool>,
    ) -> DeviceState {
        if suspended {
            DeviceState::SmartControlOff
        } else if matches!(online, Some(false)) {
            DeviceState::LostConnection
        } else if kind.charges_vehicle()
            && (matches!(plugged_in, Some(false)) || matches!(at_home, Some(false)))
        {
            DeviceState::SmartControlNotAvailable
        } else {
            DeviceState::SmartControlCapable
        }
    }

    /// Whether the device is set up and under (or available for) smart control.
    pub const fn is_operational(self) -> bool {
        use DeviceState::*;
        matches!(
            self,
            SmartControlCapable
                | SmartControlInProgress
                | Boosting
                | SmartControlOff
                | SmartControlNotAvailable
                | LostConnection
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lifecycle_pair_is_allowed_or_refused_as_listed() {
        use Lifecycle::*;
        let allowed = [
            (Onboarding, OnboardingTestInProgress),
            (Onboarding, PendingLive),
            (Onboarding, Retired),
            (OnboardingTestInProgress, PendingLive),
            (OnboardingTestInProgress, FailedOnboardingTest),
            (OnboardingTestInProgress, Retired),
            (FailedOnboardingTest, OnboardingTestInProgress),
            (FailedOnboardingTest, Retired),
            (PendingLive, Live),
            (PendingLive, Retired),
            (Live, Retired),
        ];
        for &from in Lifecycle::ALL {
            for &to in Lifecycle::ALL {
                assert_eq!(
                    from.transition(to).is_ok(),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn every_state_pair_is_allowed_or_refused_as_listed() {
        use DeviceState::*;
        let operational = [
            SmartControlCapable,
            SmartControlInProgress,
            Boosting,
            SmartControlOff,
            SmartControlNotAvailable,
        ];
        let mut allowed: Vec<(DeviceState, DeviceState)> = vec![
            (AuthenticationPending, AuthenticationComplete),
            (AuthenticationPending, AuthenticationFailed),
            (AuthenticationFailed, AuthenticationPending),
            (AuthenticationComplete, TestChargeInProgress),
            (AuthenticationComplete, TestChargeNotAvailable),
            (AuthenticationComplete, SetupComplete),
            (TestChargeNotAvailable, TestChargeInProgress),
            (TestChargeInProgress, TestChargeFailed),
            (TestChargeInProgress, SetupComplete),
            (TestChargeFailed, TestChargeInProgress),
            (SetupComplete, SmartControlCapable),
            (SetupComplete, SmartControlNotAvailable),
            (SetupComplete, SmartControlOff),
            (SetupComplete, LostConnection),
            (SmartControlCapable, SmartControlInProgress),
            (SmartControlCapable, Boosting),
            (SmartControlInProgress, Boosting),
            (SmartControlNotAvailable, SmartControlInProgress),
            (SmartControlNotAvailable, Boosting),
            (Boosting, SmartControlInProgress),
            (LostConnection, AuthenticationPending),
        ];
        for from in operational {
            for to in [
                SmartControlCapable,
                SmartControlOff,
                SmartControlNotAvailable,
                LostConnection,
            ] {
                if from != to && !(from == SmartControlOff && to == SmartControlOff) {
                    allowed.push((from, to));
                }
            }
        }
        allowed.push((LostConnection, SmartControlCapable));
        allowed.push((LostConnection, SmartControlNotAvailable));
        allowed.push((LostConnection, SmartControlOff));
        for &from in DeviceState::ALL {
            if from != Retired {
                allowed.push((from, Retired));
            }
        }
        for &from in DeviceState::ALL {
            for &to in DeviceState::ALL {
                let expected = from == to || allowed.contains(&(from, to));
                assert_eq!(from.transition(to).is_ok(), expected, "{from} -> {to}");
            }
        }
        assert!(Retired.next().is_empty());
    }

    #[test]
    fn names_round_trip_and_kinds_map_to_kraken_types() {
        for &state in DeviceState::ALL {
            assert_eq!(DeviceState::parse(state.as_str()), Some(state));
        }
        for kind in DeviceKind::ALL {
            assert_eq!(DeviceKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(
            DeviceKind::ChargePoint.kraken_device_type(),
            "ELECTRIC_VEHICLES"
        );
        assert!(
            DeviceKind::ElectricVehicle.needs_test_charge()
                && !DeviceKind::HeatPump.needs_test_charge()
        );
    }
}

#[cfg(test)]
mod settled_tests {
    use super::*;

    #[test]
    fn a_device_settles_by_what_its_reading_says() {
        let ev = DeviceKind::ElectricVehicle;
        assert_eq!(
            DeviceState::settled(ev, true, Some(true), Some(true), Some(true)),
            DeviceState::SmartControlOff
        );
        assert_eq!(
            DeviceState::settled(ev, false, Some(false), Some(true), Some(true)),
            DeviceState::LostConnection
        );
        assert_eq!(
            DeviceState::settled(ev, false, Some(true), Some(false), Some(true)),
            DeviceState::SmartControlNotAvailable
        );
        assert_eq!(
            DeviceState::settled(ev, false, Some(true), Some(true), Some(false)),
            DeviceState::SmartControlNotAvailable
        );
        assert_eq!(
            DeviceState::settled(ev, false, None, None, None),
            DeviceState::SmartControlCapable
        );
        let pump = DeviceKind::HeatPump;
        assert_eq!(
            DeviceState::settled(pump, false, Some(true), None, Some(false)),
            DeviceState::SmartControlCapable
        );
    }
}
