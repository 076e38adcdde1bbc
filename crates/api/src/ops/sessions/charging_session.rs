//! The charging session objects `chargingSessions` lists: `SmartFlexChargingSession` and
//! `PublicChargingSession`, the `DeviceChargingSession` interface over them, and the energy, money
//! and problem types they answer with.

use std::sync::Arc;

use async_graphql::{Interface, Object, SimpleObject, Union};
use chrono::Utc;
use resiflex_domain::plan::{DispatchAction, DispatchKind, PlanDispatch};
use resiflex_store::sessions::{ChargingSessionRecord, problem_kind};
use rust_decimal::Decimal as RustDecimal;
use serde::Deserialize;

use crate::enums::{
    EnergyUnit, PreferencesTargetType, SmartFlexChargingErrorCause,
    SmartFlexChargingTruncationCause, SmartFlexChargingType,
};
use crate::ops::dispatches::SmartFlexDispatch;
pub use crate::ops::values::Energy;
use crate::scalars::{DateTime, Decimal};

/// An amount of money in minor units (such as pence).
#[derive(SimpleObject, Debug, Clone)]
pub struct Money {
    pub amount: i64,
    pub currency: String,
}

/// A charging session's problem: an error, or a cut to the level it could reach.
#[derive(Union, Debug, Clone)]
pub enum SmartFlexChargingProblem {
    SmartFlexChargingError(SmartFlexChargingError),
    SmartFlexChargingTruncation(SmartFlexChargingTruncation),
}

/// Why the session did not deliver what was planned.
#[derive(SimpleObject, Debug, Clone)]
pub struct SmartFlexChargingError {
    pub cause: SmartFlexChargingErrorCause,
}

/// The level the session could reach was cut.
#[derive(SimpleObject, Debug, Clone)]
pub struct SmartFlexChargingTruncation {
    pub truncation_cause: SmartFlexChargingTruncationCause,
    /// What the session's first plan expected to reach, percent.
    pub original_achievable_state_of_charge: Option<i32>,
    /// What it could reach in the end, percent.
    pub achievable_state_of_charge: Option<i32>,
}

fn percent(value: Option<f64>) -> Option<i32> {
    value
        .filter(|v| v.is_finite())
        .map(|v| v.round().clamp(-100.0, 100.0) as i32)
}

/// A session as stored, shared by its GraphQL objects.
#[derive(Debug)]
struct SessionView(ChargingSessionRecord);

impl SessionView {
    fn energy_added(&self) -> Energy {
        Energy {
            value: Some(Decimal(
                RustDecimal::new(self.0.energy_added_wh, 3)
                    .round_dp(2)
                    .normalize(),
            )),
            unit: EnergyUnit::KilowattHour,
        }
    }

    fn cost(&self) -> Option<Money> {
        Some(Money {
            amount: self.0.cost_minor?,
            currency: self.0.currency.clone()?,
        })
    }

    fn state_of_charge_change(&self) -> Option<i32> {
        let (start, end) = (self.0.start_soc_pct?, self.0.final_soc_pct?);
        percent(Some(end - start))
    }
}

/// Writes the fields every session object has, then the object's own.
macro_rules! session_object {
    ($(#[$doc:meta])* $ty:ident { $($extra:tt)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $ty(Arc<SessionView>);

        #[Object]
        impl $ty {
            /// When the vehicle was plugged in.
            async fn start(&self) -> Option<DateTime> {
                Some(DateTime(self.0.0.start_at))
            }

            /// When it was unplugged; null while the session goes on.
            async fn end(&self) -> Option<DateTime> {
                self.0.0.end_at.map(DateTime)
            }

            /// The energy imported in the session.
            async fn energy_added(&self) -> Option<Energy> {
                Some(self.0.energy_added())
            }

            /// What the energy cost at the tariff's rates.
            async fn cost(&self) -> Option<Money> {
                self.0.cost()
            }

            /// Percentage points gained (negative when the battery lost charge).
            async fn state_of_charge_change(&self) -> Option<i32> {
                self.0.state_of_charge_change()
            }

            /// The state of charge at the end (so far), percent.
            async fn state_of_charge_final(&self) -> Option<i32> {
                percent(self.0.0.final_soc_pct)
            }

            $($extra)*
        }
    };
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredDispatch {
    start: chrono::DateTime<Utc>,
    end: chrono::DateTime<Utc>,
    kind: DispatchKind,
    energy_wh: i64,
}

session_object! {
    /// A charging session at home under ResiFlex's control.
    SmartFlexChargingSession {
        /// SMART, or BOOST when the customer boosted in it.
        #[graphql(name = "type")]
        async fn kind(&self) -> SmartFlexChargingType {
            if self.0.0.session_type == "BOOST" {
                SmartFlexChargingType::Boost
            } else {
                SmartFlexChargingType::Smart
            }
        }

        async fn target_type(&self) -> PreferencesTargetType {
            self.0.0.target_type.parse().unwrap_or(PreferencesTargetType::AbsoluteStateOfCharge)
        }

        /// The dispatches of the session, with the energy each drew.
        async fn dispatches(&self) -> Vec<SmartFlexDispatch> {
            serde_json::from_value::<Vec<StoredDispatch>>(self.0.0.dispatches.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|d| {
                    let hours = (d.end - d.start).num_milliseconds() as f64 / 3.6e6;
                    SmartFlexDispatch::from(&PlanDispatch {
                        start: d.start,
                        end: d.end,
                        kind: d.kind,
                        power_w: if hours > 0.0 { (d.energy_wh as f64 / hours).round() as i64 } else { 0 },
                        energy_wh: d.energy_wh,
                        action: DispatchAction::Charge,
                        setpoint_c: None,
                        activity: None,
                    })
                })
                .collect()
        }

        /// What went wrong, if anything.
        async fn problems(&self) -> Option<SmartFlexChargingProblem> {
            let record = &self.0.0;
            let cause = record.problem_cause.as_deref()?;
            match record.problem_kind.as_deref()? {
                problem_kind::ERROR => Some(SmartFlexChargingProblem::SmartFlexChargingError(
                    SmartFlexChargingError { cause: cause.parse().ok()? },
                )),
                problem_kind::TRUNCATION => Some(SmartFlexChargingProblem::SmartFlexChargingTruncation(
                    SmartFlexChargingTruncation {
                        truncation_cause: cause.parse().ok()?,
                        original_achievable_state_of_charge: percent(record.original_achievable_soc_pct),
                        achievable_state_of_charge: percent(record.achievable_soc_pct),
                    },
                )),
                _ => None,
            }
        }
    }
}

session_object! {
    /// A charging session away from home, at a public charger.
    PublicChargingSession {
        /// Where the charger is, when known.
        async fn location(&self) -> Option<String> {
            None
        }

        /// The charge point operator's logo, when known.
        async fn operator_image_url(&self) -> Option<String> {
            None
        }
    }
}

/// A charging session of a vehicle or charger.
// Several fields share a type, which the lint mistakes for repeated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface, Debug, Clone)]
#[graphql(
    name = "DeviceChargingSession",
    field(
        name = "start",
        ty = "Option<DateTime>",
        desc = "When the vehicle was plugged in."
    ),
    field(
        name = "end",
        ty = "Option<DateTime>",
        desc = "When it was unplugged; null while the session goes on."
    ),
    field(
        name = "energy_added",
        ty = "Option<Energy>",
        desc = "The energy imported in the session."
    ),
    field(
        name = "cost",
        ty = "Option<Money>",
        desc = "What the energy cost at the tariff's rates."
    ),
    field(
        name = "state_of_charge_change",
        ty = "Option<i32>",
        desc = "Percentage points gained (negative when the battery lost charge)."
    ),
    field(
        name = "state_of_charge_final",
        ty = "Option<i32>",
        desc = "The state of charge at the end (so far), percent."
    )
)]
pub enum DeviceChargingSession {
    SmartFlexChargingSession(SmartFlexChargingSession),
    PublicChargingSession(PublicChargingSession),
}

impl DeviceChargingSession {
    pub(super) fn of(record: ChargingSessionRecord) -> DeviceChargingSession {
        let public = record.session_type == "PUBLIC";
        let view = Arc::new(SessionView(record));
        if public {
            PublicChargingSession(view).into()
        } else {
            SmartFlexChargingSession(view).into()
        }
    }
}
