//! Planned dispatches: `flexPlannedDispatches` (a device's coming dispatches, in time order), the
//! deprecated account-wide `plannedDispatches`, and `smartFlexDevicePlan`, a ResiFlex addition that
//! shows the current plan itself: why it was made, its goal, and the rates and carbon intensity it
//! was made with.

use async_graphql::{Context, Object, SimpleObject};
use chrono::Utc;
use resiflex_domain::plan::{DispatchKind, PlanDispatch};
use resiflex_domain::tariff::{Micros, Rate};
use resiflex_store::devices as store_devices;
use resiflex_store::plans::{self, PlanRecord};
use rust_decimal::Decimal as RustDecimal;

use super::devices::device_for;
use super::{OperationErrors, OperationKind, api, protected as op};
use crate::auth::access::account_for;
use crate::auth::authorise;
use crate::enums::{HeatPumpActivity, SmartFlexChargingType};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::tariffs::TariffRate;
use crate::scalars::{DateTime, Decimal};

pub const ERRORS: &[OperationErrors] = &[
    op(
        "flexPlannedDispatches",
        OperationKind::Query,
        &[
            ErrorCode::DeviceNotFound,
            ErrorCode::PlannedDispatchesUnavailable,
        ],
    ),
    op(
        "plannedDispatches",
        OperationKind::Query,
        &[
            ErrorCode::Unauthorized,
            ErrorCode::PlannedDispatchesUnavailable,
        ],
    ),
    op(
        "smartFlexDevicePlan",
        OperationKind::Query,
        &[
            ErrorCode::DeviceNotFound,
            ErrorCode::PlannedDispatchesUnavailable,
        ],
    ),
];

fn unavailable(err: resiflex_store::StoreError) -> KrakenError {
    tracing::error!(error = %err, "planned dispatches could not be read");
    KrakenError::new(ErrorCode::PlannedDispatchesUnavailable)
}

/// kWh with three decimals, from Wh.
fn kwh(wh: i64) -> Decimal {
    Decimal(RustDecimal::new(wh, 3).normalize())
}

fn charging_type(kind: DispatchKind) -> SmartFlexChargingType {
    match kind {
        DispatchKind::Smart => SmartFlexChargingType::Smart,
        DispatchKind::Boost => SmartFlexChargingType::Boost,
        DispatchKind::Test => SmartFlexChargingType::Test,
    }
}

/// One planned stretch of a device's work: charging a car or a battery, discharging a battery,
/// heating or cooling a home.
#[derive(SimpleObject, Clone)]
#[graphql(name = "SmartFlexDispatch")]
pub struct SmartFlexDispatch {
    pub start: DateTime,
    pub end: DateTime,
    #[graphql(name = "type")]
    pub kind: SmartFlexChargingType,
    /// The energy the dispatch is expected to draw, kWh (negative: a battery feeding the home
    /// or the grid).
    pub energy_added_kwh: Option<Decimal>,
    /// ResiFlex: what the device does, `CHARGE`, `DISCHARGE`, `HEAT` or `COOL`.
    pub action: String,
    /// ResiFlex: the power asked of the device, kW (negative while discharging).
    pub power_kw: Decimal,
    /// ResiFlex: heat pumps and thermostats, the temperature held during the dispatch.
    pub setpoint_in_celsius: Option<f64>,
    /// ResiFlex: heat pumps and thermostats, why they run (pre-heating or to the schedule).
    pub heat_pump_activity: Option<HeatPumpActivity>,
}

pub(crate) fn activity(activity: resiflex_domain::heat::HeatPumpActivity) -> HeatPumpActivity {
    use resiflex_domain::heat::HeatPumpActivity as Domain;
    match activity {
        Domain::Pending => HeatPumpActivity::Pending,
        Domain::PreHeating => HeatPumpActivity::PreHeating,
        Domain::ScheduledHeating => HeatPumpActivity::ScheduledHeating,
        Domain::PreCooling => HeatPumpActivity::PreCooling,
        Domain::ScheduledCooling => HeatPumpActivity::ScheduledCooling,
    }
}

impl From<&PlanDispatch> for SmartFlexDispatch {
    fn from(dispatch: &PlanDispatch) -> Self {
        SmartFlexDispatch {
            start: DateTime(dispatch.start),
            end: DateTime(dispatch.end),
            kind: charging_type(dispatch.kind),
            energy_added_kwh: Some(kwh(dispatch.energy_wh)),
            action: dispatch.action.as_str().to_owned(),
            power_kw: kwh(dispatch.power_w),
            setpoint_in_celsius: dispatch.setpoint_c,
            heat_pump_activity: dispatch.activity.map(activity),
        }
    }
}

/// Extra facts about a dispatch.
#[derive(SimpleObject, Clone)]
#[graphql(name = "UpsideDispatchMetaType")]
pub struct UpsideDispatchMetaType {
    /// `smart-charge`, `bump-charge` or `test-charge`; set on planned dispatches.
    pub source: Option<String>,
    /// Where the device was (`AT_HOME`, `AWAY`); set on completed dispatches.
    pub location: Option<String>,
}

/// A dispatch in the account-wide form.
#[derive(Clone)]
pub struct UpsideDispatchType {
    pub start: chrono::DateTime<Utc>,
    pub end: chrono::DateTime<Utc>,
    /// kWh, import negative.
    pub delta_wh: i64,
    pub meta: UpsideDispatchMetaType,
}

#[Object(name = "UpsideDispatchType")]
impl UpsideDispatchType {
    async fn start(&self) -> DateTime {
        DateTime(self.start)
    }

    async fn end(&self) -> DateTime {
        DateTime(self.end)
    }

    /// The energy in kWh; import is negative.
    async fn delta(&self) -> Decimal {
        kwh(self.delta_wh)
    }

    async fn meta(&self) -> &UpsideDispatchMetaType {
        &self.meta
    }

    #[graphql(deprecation = "Use `start`.")]
    async fn start_dt(&self) -> DateTime {
        DateTime(self.start)
    }

    #[graphql(deprecation = "Use `end`.")]
    async fn end_dt(&self) -> DateTime {
        DateTime(self.end)
    }

    #[graphql(deprecation = "Use `delta`.")]
    async fn delta_kwh(&self) -> Decimal {
        kwh(self.delta_wh)
    }
}

/// A device's current plan.
pub struct SmartFlexDevicePlan(PlanRecord);

#[Object(name = "SmartFlexDevicePlan")]
impl SmartFlexDevicePlan {
    /// Plans are numbered per device from 1; a re-plan makes the next version.
    async fn version(&self) -> i64 {
        self.0.version
    }

    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    /// Why the plan was made: FIRST_PLAN, NEW_PRICES, PLUGGED_IN, UNPLUGGED,
    /// STATE_OF_CHARGE_CHANGED, PREFERENCES_CHANGED, BOOST_STARTED, BOOST_ENDED, SUSPENDED,
    /// UNSUSPENDED, STATE_CHANGED, READY_BY_PASSED or DEVICE_CHANGED.
    async fn trigger(&self) -> &str {
        self.0.trigger.as_str()
    }

    /// SMART, BOOST or IDLE (nothing to draw).
    async fn kind(&self) -> &str {
        self.0.kind.as_str()
    }

    /// How the plan turned out: TARGET_REACHED, ALREADY_AT_TARGET, NOT_ENOUGH_TIME,
    /// PRICE_HORIZON_TOO_SHORT, NO_PRICES, or why the device is idle (SUSPENDED, NOT_PLUGGED_IN,
    /// OFFLINE, NOT_LIVE, NO_PREFERENCES).
    async fn outcome(&self) -> &str {
        &self.0.outcome
    }

    async fn ready_by(&self) -> Option<DateTime> {
        self.0.ready_by.map(DateTime)
    }

    /// The state of charge when the plan was made, percent.
    async fn starting_state_of_charge(&self) -> Option<f64> {
        self.0.start_soc_pct
    }

    async fn target_state_of_charge(&self) -> Option<f64> {
        self.0.target_soc_pct
    }

    /// The state of charge the plan expects by `readyBy`.
    async fn achievable_state_of_charge(&self) -> Option<f64> {
        self.0.achievable_soc_pct
    }

    async fn target_reached(&self) -> bool {
        self.0.target_reached
    }

    /// Once charging has started the goal stays put until the customer changes it.
    async fn goal_locked(&self) -> bool {
        self.0.locked_goal
    }

    /// The expected cost of the planned energy, in minor units (such as pence).
    async fn expected_cost(&self) -> Decimal {
        Decimal(
            RustDecimal::new(self.0.cost_micros, 6)
                .round_dp(2)
                .normalize(),
        )
    }

    /// The rates (with carbon intensity) the plan was made with, from its creation to its
    /// ready-by time.
    async fn rates(&self, ctx: &Context<'_>) -> ApiResult<Vec<TariffRate>> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Stored {
            valid_from: chrono::DateTime<Utc>,
            valid_to: chrono::DateTime<Utc>,
            import_micros: i64,
            carbon_micros: Option<i64>,
        }
        let Some(id) = self.0.rate_set_id else {
            return Ok(Vec::new());
        };
        let api = api(ctx)?;
        let stored = plans::rate_set(&api.db, id).await.map_err(unavailable)?;
        let from = self.0.created_at;
        let to = self.0.ready_by.unwrap_or(from);
        Ok(stored
            .and_then(|json| serde_json::from_value::<Vec<Stored>>(json).ok())
            .unwrap_or_default()
            .into_iter()
            .filter(|rate| rate.valid_to > from && rate.valid_from < to)
            .map(|rate| {
                TariffRate::from(Rate {
                    valid_from: rate.valid_from,
                    valid_to: rate.valid_to,
                    import_minor_per_kwh: Micros(rate.import_micros),
                    export_minor_per_kwh: None,
                    carbon_g_per_kwh: rate.carbon_micros.map(Micros),
                })
            })
            .collect())
    }

    /// Every dispatch of the plan, past ones included.
    async fn dispatches(&self) -> Vec<SmartFlexDispatch> {
        self.0
            .dispatches
            .iter()
            .map(SmartFlexDispatch::from)
            .collect()
    }
}

/// The plan's dispatches that have not ended by `now`, in time order.
fn coming(plan: &PlanRecord, now: chrono::DateTime<Utc>) -> Vec<PlanDispatch> {
    let mut coming: Vec<PlanDispatch> = plan
        .dispatches
        .clone()
        .into_iter()
        .filter(|dispatch| dispatch.end > now)
        .collect();
    coming.sort_by_key(|dispatch| dispatch.start);
    coming
}

#[derive(Default)]
pub struct DispatchesQuery;

#[Object]
impl DispatchesQuery {
    /// The device's coming dispatches, in time order: what its current plan will draw, and when.
    async fn flex_planned_dispatches(
        &self,
        ctx: &Context<'_>,
        device_id: String,
    ) -> ApiResult<Vec<SmartFlexDispatch>> {
        let (api, device) = device_for(ctx, &device_id).await?;
        let plan = plans::current_plan(&api.db, &device.id)
            .await
            .map_err(unavailable)?;
        let now = api.clock.now();
        Ok(plan
            .map(|plan| {
                coming(&plan, now)
                    .iter()
                    .map(SmartFlexDispatch::from)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The coming dispatches of every device of the account, in time order.
    #[graphql(deprecation = "Use `flexPlannedDispatches`, which takes a device.")]
    async fn planned_dispatches(
        &self,
        ctx: &Context<'_>,
        account_number: String,
    ) -> ApiResult<Vec<UpsideDispatchType>> {
        let caller = authorise(ctx).await?;
        let api = api(ctx)?;
        let account = account_for(api, &caller, &account_number, ErrorCode::Unauthorized).await?;
        let now = api.clock.now();
        let mut all = Vec::new();
        for device in store_devices::devices_of_account(&api.db, account.id)
            .await
            .map_err(unavailable)?
        {
            if device.retired_at.is_some() {
                continue;
            }
            if let Some(plan) = plans::current_plan(&api.db, &device.id)
                .await
                .map_err(unavailable)?
            {
                all.extend(
                    coming(&plan, now)
                        .into_iter()
                        .map(|dispatch| UpsideDispatchType {
                            start: dispatch.start,
                            end: dispatch.end,
                            delta_wh: -dispatch.energy_wh,
                            meta: UpsideDispatchMetaType {
                                source: Some(dispatch.kind.source().to_owned()),
                                location: None,
                            },
                        }),
                );
            }
        }
        all.sort_by_key(|dispatch| dispatch.start);
        Ok(all)
    }

    /// The device's current plan: its goal, why it was made, and the rates it was made with.
    async fn smart_flex_device_plan(
        &self,
        ctx: &Context<'_>,
        device_id: String,
    ) -> ApiResult<Option<SmartFlexDevicePlan>> {
        let (api, device) = device_for(ctx, &device_id).await?;
        Ok(plans::current_plan(&api.db, &device.id)
            .await
            .map_err(unavailable)?
            .map(SmartFlexDevicePlan))
    }
}
