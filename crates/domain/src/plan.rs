//! Plans and what happens to devices: the vocabulary shared by the planner's callers, the store, the
//! control loop and the API.
//!
//! A *plan* is one version of what a device should draw and when. Plans are never changed once
//! made: a re-plan makes a new version, and the device's current plan is its newest version. Each
//! plan says why it was made ([`PlanTrigger`]) and what it was made with (the rates, the state of
//! charge, the goal), so that a customer can be shown why their car charges when it does.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What kind of charging a dispatch is (Kraken's `SmartFlexChargingType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DispatchKind {
    /// Planned by ResiFlex at the cheapest, cleanest times.
    Smart,
    /// Asked for by the customer: charge now at full power.
    Boost,
    /// The short charge that proves ResiFlex can control the device.
    Test,
}

impl DispatchKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            DispatchKind::Smart => "SMART",
            DispatchKind::Boost => "BOOST",
            DispatchKind::Test => "TEST",
        }
    }

    pub fn parse(text: &str) -> Option<DispatchKind> {
        match text {
            "SMART" => Some(DispatchKind::Smart),
            "BOOST" => Some(DispatchKind::Boost),
            "TEST" => Some(DispatchKind::Test),
            _ => None,
        }
    }

    /// The `meta.source` of a completed dispatch of this kind, as Kraken's clients expect it.
    pub const fn source(self) -> &'static str {
        match self {
            DispatchKind::Smart => "smart-charge",
            DispatchKind::Boost => "bump-charge",
            DispatchKind::Test => "test-charge",
        }
    }
}

/// What a device does during a dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DispatchAction {
    /// Draw power to charge a battery (a car's or a home battery).
    #[default]
    Charge,
    /// Feed a battery's energy to the home or the grid.
    Discharge,
    /// Run a heat pump or thermostat to heat.
    Heat,
    /// Run a heat pump or thermostat to cool.
    Cool,
}

impl DispatchAction {
    pub const fn as_str(self) -> &'static str {
        match self {
            DispatchAction::Charge => "CHARGE",
            DispatchAction::Discharge => "DISCHARGE",
            DispatchAction::Heat => "HEAT",
            DispatchAction::Cool => "COOL",
        }
    }
}

/// One planned stretch of a device's work.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanDispatch {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub kind: DispatchKind,
    /// The power asked of the device while the dispatch runs, W: negative while discharging.
    pub power_w: i64,
    /// The energy expected from the grid over the dispatch, Wh: negative while discharging.
    pub energy_wh: i64,
    #[serde(default)]
    pub action: DispatchAction,
    /// Heat pumps and thermostats: the set-point held during the dispatch, °C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setpoint_c: Option<f64>,
    /// Heat pumps and thermostats: why they run (pre-heating, or heating to the schedule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<crate::heat::HeatPumpActivity>,
}

/// Why a plan was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PlanTrigger {
    /// The device has no plan yet.
    FirstPlan,
    /// The tariff's rates changed (new day-ahead prices, a re-import).
    NewPrices,
    PluggedIn,
    Unplugged,
    /// The state of charge is further from what the plan expected than the tolerance.
    StateOfChargeChanged,
    PreferencesChanged,
    BoostStarted,
    BoostEnded,
    Suspended,
    Unsuspended,
    /// The device's state changed for another reason (connection lost or back, ...).
    StateChanged,
    /// The plan's ready-by time has passed; the next one applies.
    ReadyByPassed,
    /// The car's own charge limit, capacity or power changed.
    DeviceChanged,
    /// Another device in the same grid zone was re-planned, and the zone's capacity is shared anew.
    GridZone,
    /// The indoor temperature is further from what the plan expected than the tolerance.
    TemperatureChanged,
    /// The plan's horizon is running out (heat pumps and batteries plan a day ahead).
    HorizonReached,
    /// Another device of the same household was re-planned, and the household is planned anew.
    Household,
}

impl PlanTrigger {
    pub const fn as_str(self) -> &'static str {
        match self {
            PlanTrigger::FirstPlan => "FIRST_PLAN",
            PlanTrigger::NewPrices => "NEW_PRICES",
            PlanTrigger::PluggedIn => "PLUGGED_IN",
            PlanTrigger::Unplugged => "UNPLUGGED",
            PlanTrigger::StateOfChargeChanged => "STATE_OF_CHARGE_CHANGED",
            PlanTrigger::PreferencesChanged => "PREFERENCES_CHANGED",
            PlanTrigger::BoostStarted => "BOOST_STARTED",
            PlanTrigger::BoostEnded => "BOOST_ENDED",
            PlanTrigger::Suspended => "SUSPENDED",
            PlanTrigger::Unsuspended => "UNSUSPENDED",
            PlanTrigger::StateChanged => "STATE_CHANGED",
            PlanTrigger::ReadyByPassed => "READY_BY_PASSED",
            PlanTrigger::DeviceChanged => "DEVICE_CHANGED",
            PlanTrigger::GridZone => "GRID_ZONE",
            PlanTrigger::TemperatureChanged => "TEMPERATURE_CHANGED",
            PlanTrigger::HorizonReached => "HORIZON_REACHED",
            PlanTrigger::Household => "HOUSEHOLD",
        }
    }

    pub fn parse(text: &str) -> Option<PlanTrigger> {
        const ALL: [PlanTrigger; 17] = [
            PlanTrigger::FirstPlan,
            PlanTrigger::NewPrices,
            PlanTrigger::PluggedIn,
            PlanTrigger::Unplugged,
            PlanTrigger::StateOfChargeChanged,
            PlanTrigger::PreferencesChanged,
            PlanTrigger::BoostStarted,
            PlanTrigger::BoostEnded,
            PlanTrigger::Suspended,
            PlanTrigger::Unsuspended,
            PlanTrigger::StateChanged,
            PlanTrigger::ReadyByPassed,
            PlanTrigger::DeviceChanged,
            PlanTrigger::GridZone,
            PlanTrigger::TemperatureChanged,
            PlanTrigger::HorizonReached,
            PlanTrigger::Household,
        ];
        ALL.into_iter().find(|trigger| trigger.as_str() == text)
    }
}

/// What a plan sets out to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PlanKind {
    /// Reach the customer's goal at the least cost (and carbon).
    Smart,
    /// Charge now at full power until the goal (the customer asked for a boost).
    Boost,
    /// Draw nothing: suspended, unplugged, away, or nothing to do.
    Idle,
}

impl PlanKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            PlanKind::Smart => "SMART",
            PlanKind::Boost => "BOOST",
            PlanKind::Idle => "IDLE",
        }
    }

    pub fn parse(text: &str) -> Option<PlanKind> {
        match text {
            "SMART" => Some(PlanKind::Smart),
            "BOOST" => Some(PlanKind::Boost),
            "IDLE" => Some(PlanKind::Idle),
            _ => None,
        }
    }
}

/// What happened to a device, as recorded for the history of its charging sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeviceEventKind {
    /// A new plan version was made (detail: version, trigger, achievable state of charge).
    PlanCreated,
    /// The customer suspended smart control.
    Suspended,
    /// The customer resumed smart control.
    Unsuspended,
    BoostStarted,
    /// The customer cancelled a boost.
    BoostCancelled,
    /// A boost reached its goal (or the device could take no more).
    BoostFinished,
    /// The device was de-authenticated and retired.
    Deauthenticated,
    /// The customer changed the device's preferences.
    PreferencesChanged,
    PluggedIn,
    Unplugged,
    /// The provider refused a command, or did not answer (detail: the error).
    CommandFailed,
    /// The provider said the customer must authorise again.
    AuthorisationExpired,
    /// Telemetry disagreed with what was asked (detail: what was asked, what was seen).
    Discrepancy,
    TestChargeStarted,
}

impl DeviceEventKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            DeviceEventKind::PlanCreated => "PLAN_CREATED",
            DeviceEventKind::Suspended => "SUSPENDED",
            DeviceEventKind::Unsuspended => "UNSUSPENDED",
            DeviceEventKind::BoostStarted => "BOOST_STARTED",
            DeviceEventKind::BoostCancelled => "BOOST_CANCELLED",
            DeviceEventKind::BoostFinished => "BOOST_FINISHED",
            DeviceEventKind::Deauthenticated => "DEAUTHENTICATED",
            DeviceEventKind::PreferencesChanged => "PREFERENCES_CHANGED",
            DeviceEventKind::PluggedIn => "PLUGGED_IN",
            DeviceEventKind::Unplugged => "UNPLUGGED",
            DeviceEventKind::CommandFailed => "COMMAND_FAILED",
            DeviceEventKind::AuthorisationExpired => "AUTHORISATION_EXPIRED",
            DeviceEventKind::Discrepancy => "DISCREPANCY",
            DeviceEventKind::TestChargeStarted => "TEST_CHARGE_STARTED",
        }
    }

    pub fn parse(text: &str) -> Option<DeviceEventKind> {
        const ALL: [DeviceEventKind; 14] = [
            DeviceEventKind::PlanCreated,
            DeviceEventKind::Suspended,
            DeviceEventKind::Unsuspended,
            DeviceEventKind::BoostStarted,
            DeviceEventKind::BoostCancelled,
            DeviceEventKind::BoostFinished,
            DeviceEventKind::Deauthenticated,
            DeviceEventKind::PreferencesChanged,
            DeviceEventKind::PluggedIn,
            DeviceEventKind::Unplugged,
            DeviceEventKind::CommandFailed,
            DeviceEventKind::AuthorisationExpired,
            DeviceEventKind::Discrepancy,
            DeviceEventKind::TestChargeStarted,
        ];
        ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back() {
        for kind in [DispatchKind::Smart, DispatchKind::Boost, DispatchKind::Test] {
            assert_eq!(DispatchKind::parse(kind.as_str()), Some(kind));
        }
        for kind in [PlanKind::Smart, PlanKind::Boost, PlanKind::Idle] {
            assert_eq!(PlanKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(
            PlanTrigger::parse("NEW_PRICES"),
            Some(PlanTrigger::NewPrices)
        );
        assert_eq!(
            DeviceEventKind::parse("BOOST_STARTED"),
            Some(DeviceEventKind::BoostStarted)
        );
        assert_eq!(DeviceEventKind::parse("nonsense"), None);
    }

    #[test]
    fn serde_names_match_the_stored_names() {
        let text = serde_json::to_string(&PlanTrigger::StateOfChargeChanged).unwrap_or_default();
        assert_eq!(text, "\"STATE_OF_CHARGE_CHANGED\"");
        let text =
            serde_json::to_string(&DeviceEventKind::AuthorisationExpired).unwrap_or_default();
        assert_eq!(text, "\"AUTHORISATION_EXPIRED\"");
    }
}
