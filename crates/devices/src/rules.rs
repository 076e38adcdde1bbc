//! The rules of a customer's commands: pure functions of a device's machines and latest reading
//! that say whether a boost or a test charge may start, and why not.
//!
//! Boost refusals are checked in this order and reported as one value
//! (`boostChargeRefusalReasons`): BC_DEVICE_NOT_YET_LIVE (still onboarding), BC_DEVICE_RETIRED,
//! BC_DEVICE_SUSPENDED, BC_DEVICE_DISCONNECTED (unplugged, offline, or no reading yet),
//! BC_DEVICE_NOT_AT_HOME, BC_BOOST_CHARGE_IN_PROGRESS, BC_DEVICE_FULLY_CHARGED (at or above the
//! device's own charge limit, or 100 %). Test-charge refusals go the same way
//! (`testChargeRefusalReasons`).

use resiflex_domain::device::{DeviceKind, DeviceState, Lifecycle};
use resiflex_domain::telemetry::{Connection, Telemetry};

/// Why a boost cannot start, as clients compare it (`extensions.boostChargeRefusalReasons`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoostRefusal {
    NotYetLive,
    Retired,
    Suspended,
    Disconnected,
    NotAtHome,
    InProgress,
    FullyCharged,
}

impl BoostRefusal {
    pub const fn as_str(self) -> &'static str {
        match self {
            BoostRefusal::NotYetLive => "BC_DEVICE_NOT_YET_LIVE",
            BoostRefusal::Retired => "BC_DEVICE_RETIRED",
            BoostRefusal::Suspended => "BC_DEVICE_SUSPENDED",
            BoostRefusal::Disconnected => "BC_DEVICE_DISCONNECTED",
            BoostRefusal::NotAtHome => "BC_DEVICE_NOT_AT_HOME",
            BoostRefusal::InProgress => "BC_BOOST_CHARGE_IN_PROGRESS",
            BoostRefusal::FullyCharged => "BC_DEVICE_FULLY_CHARGED",
        }
    }

    pub const fn message(self) -> &'static str {
        match self {
            BoostRefusal::NotYetLive => "The device has not finished onboarding.",
            BoostRefusal::Retired => "The device has been retired.",
            BoostRefusal::Suspended => "Smart control of the device is suspended.",
            BoostRefusal::Disconnected => "The device is unplugged or not reachable.",
            BoostRefusal::NotAtHome => "The vehicle is not at home.",
            BoostRefusal::InProgress => "A boost charge is already in progress.",
            BoostRefusal::FullyCharged => "The battery is already charged to its limit.",
        }
    }
}

/// A state of charge at or above this far below the limit counts as full (readings are rounded).
const FULL_TOLERANCE_PCT: f64 = 0.05;

/// The first reason, in the documented order, why a vehicle or charger cannot boost now.
pub fn boost_refusal(
    lifecycle: Lifecycle,
    state: DeviceState,
    suspended: bool,
    telemetry: Option<&Telemetry>,
) -> Option<BoostRefusal> {
    match lifecycle {
        Lifecycle::Live => {}
        Lifecycle::Retired => return Some(BoostRefusal::Retired),
        _ => return Some(BoostRefusal::NotYetLive),
    }
    if suspended || state == DeviceState::SmartControlOff {
        return Some(BoostRefusal::Suspended);
    }
    let Some(t) = telemetry else {
        return Some(BoostRefusal::Disconnected);
    };
    if t.connection == Connection::Offline
        || t.plugged_in == Some(false)
        || state == DeviceState::LostConnection
    {
        return Some(BoostRefusal::Disconnected);
    }
    if t.at_home == Some(false) {
        return Some(BoostRefusal::NotAtHome);
    }
    if state == DeviceState::Boosting {
        return Some(BoostRefusal::InProgress);
    }
    let limit = t
        .soc_limit_pct
        .filter(|l| l.is_finite())
        .map_or(100.0, |l| l.min(100.0));
    if t.state_of_charge_pct
        .is_some_and(|soc| soc >= limit - FULL_TOLERANCE_PCT)
    {
        return Some(BoostRefusal::FullyCharged);
    }
    None
}

/// Why a test charge cannot start (`extensions.testChargeRefusalReasons`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestChargeRefusal {
    Live,
    Retired,
    OnboardingInProgress,
    Suspended,
    Disconnected,
    AlreadyCharging,
    AwayFromHome,
    LocationMissing,
}

impl TestChargeRefusal {
    pub const fn as_str(self) -> &'static str {
        match self {
            TestChargeRefusal::Live => "TC_DEVICE_LIVE",
            TestChargeRefusal::Retired => "TC_DEVICE_RETIRED",
            TestChargeRefusal::OnboardingInProgress => "TC_DEVICE_ONBOARDING_IN_PROGRESS",
            TestChargeRefusal::Suspended => "TC_DEVICE_SUSPENDED",
            TestChargeRefusal::Disconnected => "TC_DEVICE_DISCONNECTED",
            TestChargeRefusal::AlreadyCharging => "TC_DEVICE_ALREADY_CHARGING",
            TestChargeRefusal::AwayFromHome => "TC_DEVICE_AWAY_FROM_HOME",
            TestChargeRefusal::LocationMissing => "TC_DEVICE_LOCATION_MISSING",
        }
    }

    pub const fn message(self) -> &'static str {
        match self {
            TestChargeRefusal::Live => "The device is already live and needs no test charge.",
            TestChargeRefusal::Retired => "The device has been retired.",
            TestChargeRefusal::OnboardingInProgress => "A test charge is already running.",
            TestChargeRefusal::Suspended => "Smart control of the device is suspended.",
            TestChargeRefusal::Disconnected => "The device is unplugged or not reachable.",
            TestChargeRefusal::AlreadyCharging => "The device is already charging.",
            TestChargeRefusal::AwayFromHome => "The vehicle is not at home.",
            TestChargeRefusal::LocationMissing => "The vehicle has not reported where it is.",
        }
    }
}

/// The first reason why a test charge cannot start now. A device whose authorisation is not
/// complete is not refused here but is "not ready" (KT-CT-4362), see [`test_charge_ready`].
pub fn test_charge_refusal(
    kind: DeviceKind,
    lifecycle: Lifecycle,
    state: DeviceState,
    suspended: bool,
    telemetry: Option<&Telemetry>,
) -> Option<TestChargeRefusal> {
    match lifecycle {
        Lifecycle::Live | Lifecycle::PendingLive => return Some(TestChargeRefusal::Live),
        Lifecycle::Retired => return Some(TestChargeRefusal::Retired),
        Lifecycle::OnboardingTestInProgress => {
            return Some(TestChargeRefusal::OnboardingInProgress);
        }
        Lifecycle::Onboarding | Lifecycle::FailedOnboardingTest => {}
    }
    if suspended {
        return Some(TestChargeRefusal::Suspended);
    }
    if !test_charge_ready(state) {
        return None;
    }
    reading_refusal(kind, telemetry)
}

/// The readiness rule of a test charge: why the device's latest reading (or its lack) does not let
/// a test charge start: not reachable or unplugged, already charging, away from home, or a vehicle
/// that has not said where it is. The wizard's test charge step and `triggerTestCharge` both ask it.
pub fn reading_refusal(
    kind: DeviceKind,
    telemetry: Option<&Telemetry>,
) -> Option<TestChargeRefusal> {
    let Some(t) = telemetry else {
        return Some(TestChargeRefusal::Disconnected);
    };
    if t.connection == Connection::Offline || t.plugged_in == Some(false) {
        return Some(TestChargeRefusal::Disconnected);
    }
    if t.active {
        return Some(TestChargeRefusal::AlreadyCharging);
    }
    match (kind, t.at_home) {
        (_, Some(false)) => Some(TestChargeRefusal::AwayFromHome),
        (DeviceKind::ElectricVehicle, None) => Some(TestChargeRefusal::LocationMissing),
        _ => None,
    }
}

/// Whether the device's authorisation is complete, so a test charge may run.
pub fn test_charge_ready(state: DeviceState) -> bool {
    matches!(
        state,
        DeviceState::AuthenticationComplete
            | DeviceState::TestChargeNotAvailable
            | DeviceState::TestChargeFailed
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use chrono::{TimeZone, Utc};

    use super::*;

    fn reading() -> Telemetry {
        Telemetry {
            soc_limit_pct: Some(90.0),
            energy_imported_wh: 1_000,
            ..Telemetry::vehicle_at_home(Utc.with_ymd_and_hms(2026, 1, 1, 22, 0, 0).unwrap(), 50.0)
        }
    }

    fn boost(
        lifecycle: Lifecycle,
        state: DeviceState,
        suspended: bool,
        t: Option<Telemetry>,
    ) -> Option<&'static str> {
        boost_refusal(lifecycle, state, suspended, t.as_ref()).map(BoostRefusal::as_str)
    }

    #[test]
    fn a_plugged_in_vehicle_at_home_below_its_limit_may_boost() {
        let capable = DeviceState::SmartControlCapable;
        assert_eq!(
            boost(Lifecycle::Live, capable, false, Some(reading())),
            None
        );
        assert_eq!(
            boost(
                Lifecycle::Live,
                DeviceState::SmartControlInProgress,
                false,
                Some(reading())
            ),
            None
        );
    }

    #[test]
    fn boost_refusals_come_in_the_documented_order() {
        use DeviceState::*;
        let mut everything_wrong = reading();
        everything_wrong.plugged_in = Some(false);
        everything_wrong.at_home = Some(false);
        everything_wrong.state_of_charge_pct = Some(100.0);
        let cases = [
            (
                Lifecycle::Onboarding,
                AuthenticationComplete,
                true,
                "BC_DEVICE_NOT_YET_LIVE",
            ),
            (
                Lifecycle::PendingLive,
                SetupComplete,
                true,
                "BC_DEVICE_NOT_YET_LIVE",
            ),
            (Lifecycle::Retired, Retired, true, "BC_DEVICE_RETIRED"),
            (
                Lifecycle::Live,
                SmartControlOff,
                true,
                "BC_DEVICE_SUSPENDED",
            ),
            (Lifecycle::Live, Boosting, false, "BC_DEVICE_DISCONNECTED"),
        ];
        for (lifecycle, state, suspended, expected) in cases {
            assert_eq!(
                boost(lifecycle, state, suspended, Some(everything_wrong.clone())),
                Some(expected),
                "{lifecycle} {state}"
            );
        }
        let mut t = everything_wrong.clone();
        t.plugged_in = Some(true);
        assert_eq!(
            boost(Lifecycle::Live, Boosting, false, Some(t.clone())),
            Some("BC_DEVICE_NOT_AT_HOME")
        );
        t.at_home = Some(true);
        assert_eq!(
            boost(Lifecycle::Live, Boosting, false, Some(t.clone())),
            Some("BC_BOOST_CHARGE_IN_PROGRESS")
        );
        assert_eq!(
            boost(Lifecycle::Live, SmartControlCapable, false, Some(t)),
            Some("BC_DEVICE_FULLY_CHARGED")
        );
    }

    #[test]
    fn disconnection_covers_offline_unplugged_lost_and_unknown() {
        let live = Lifecycle::Live;
        let capable = DeviceState::SmartControlCapable;
        assert_eq!(
            boost(live, capable, false, None),
            Some("BC_DEVICE_DISCONNECTED")
        );
        let mut offline = reading();
        offline.connection = Connection::Offline;
        assert_eq!(
            boost(live, capable, false, Some(offline)),
            Some("BC_DEVICE_DISCONNECTED")
        );
        assert_eq!(
            boost(live, DeviceState::LostConnection, false, Some(reading())),
            Some("BC_DEVICE_DISCONNECTED")
        );
        // A flag alone (state not yet SMART_CONTROL_OFF) counts as suspended too.
        assert_eq!(
            boost(live, capable, true, Some(reading())),
            Some("BC_DEVICE_SUSPENDED")
        );
    }

    #[test]
    fn full_means_at_the_devices_own_limit_or_at_100() {
        let live = Lifecycle::Live;
        let capable = DeviceState::SmartControlCapable;
        let with = |soc: f64, limit: Option<f64>| {
            let mut t = reading();
            t.state_of_charge_pct = Some(soc);
            t.soc_limit_pct = limit;
            boost(live, capable, false, Some(t))
        };
        assert_eq!(with(90.0, Some(90.0)), Some("BC_DEVICE_FULLY_CHARGED"));
        assert_eq!(with(89.99, Some(90.0)), Some("BC_DEVICE_FULLY_CHARGED"));
        assert_eq!(with(89.0, Some(90.0)), None);
        assert_eq!(with(100.0, None), Some("BC_DEVICE_FULLY_CHARGED"));
        assert_eq!(with(99.0, None), None);
        assert_eq!(with(100.0, Some(120.0)), Some("BC_DEVICE_FULLY_CHARGED"));
    }

    #[test]
    fn test_charge_refusals_come_in_order() {
        use DeviceState::*;
        let ev = DeviceKind::ElectricVehicle;
        let refusal = |lifecycle, state, suspended, t: Option<Telemetry>| {
            test_charge_refusal(ev, lifecycle, state, suspended, t.as_ref())
                .map(TestChargeRefusal::as_str)
        };
        let ready = AuthenticationComplete;
        assert_eq!(
            refusal(Lifecycle::Onboarding, ready, false, Some(reading())),
            None
        );
        assert_eq!(
            refusal(
                Lifecycle::FailedOnboardingTest,
                TestChargeFailed,
                false,
                Some(reading())
            ),
            None
        );
        assert_eq!(
            refusal(Lifecycle::Live, SmartControlCapable, true, None),
            Some("TC_DEVICE_LIVE")
        );
        assert_eq!(
            refusal(Lifecycle::Retired, Retired, true, None),
            Some("TC_DEVICE_RETIRED")
        );
        assert_eq!(
            refusal(
                Lifecycle::OnboardingTestInProgress,
                TestChargeInProgress,
                true,
                None
            ),
            Some("TC_DEVICE_ONBOARDING_IN_PROGRESS")
        );
        assert_eq!(
            refusal(Lifecycle::Onboarding, ready, true, None),
            Some("TC_DEVICE_SUSPENDED")
        );
        // Not yet authorised: not a refusal but "not ready" (checked by the caller).
        assert_eq!(
            refusal(Lifecycle::Onboarding, AuthenticationPending, false, None),
            None
        );
        assert!(!test_charge_ready(AuthenticationPending));
        assert_eq!(
            refusal(Lifecycle::Onboarding, ready, false, None),
            Some("TC_DEVICE_DISCONNECTED")
        );
        let mut charging = reading();
        charging.active = true;
        assert_eq!(
            refusal(Lifecycle::Onboarding, ready, false, Some(charging)),
            Some("TC_DEVICE_ALREADY_CHARGING")
        );
        let mut away = reading();
        away.at_home = Some(false);
        away.plugged_in = None;
        assert_eq!(
            refusal(Lifecycle::Onboarding, ready, false, Some(away)),
            Some("TC_DEVICE_AWAY_FROM_HOME")
        );
        let mut unknown = reading();
        unknown.at_home = None;
        assert_eq!(
            refusal(Lifecycle::Onboarding, ready, false, Some(unknown.clone())),
            Some("TC_DEVICE_LOCATION_MISSING")
        );
        // Chargers do not report where they are: they are at home.
        assert_eq!(
            test_charge_refusal(
                DeviceKind::ChargePoint,
                Lifecycle::Onboarding,
                ready,
                false,
                Some(&unknown)
            ),
            None
        );
    }
}
