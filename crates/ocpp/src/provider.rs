//! The `DeviceProvider` backed by connected charge points, its enrolment, and what happens when a
//! charger connects (capability probe, profiles asserted again).
//!
//! A grant's subject is the charge point identity; the device behind it is the charger itself.
//! Plans reach a charger as one charging profile per plan version ([`PlanDelivery::Schedule`]):
//! the charger follows the profile by itself, so a plan needs no command at each of its
//! boundaries. Commands become charging profiles:
//!
//! - `Schedule` (the plan): an absolute profile whose periods follow the plan's windows (nothing
//!   outside them), as a `TxProfile` while a transaction runs, otherwise a `TxDefaultProfile` for
//!   the next one, checked with `GetCompositeSchedule`. A new plan version replaces the profile:
//!   same id, same stack level. A car plugged in without a transaction that the plan charges
//!   gets a `RemoteStartTransaction` (the transaction then follows the default profile).
//! - `Start` (a customer's boost) / `SetPowerLimit`: one limit from now on (full power for a
//!   boost), the same way; `Start` without a transaction also asks for a
//!   `RemoteStartTransaction` when a car is plugged in.
//! - `Stop` (suspend, cancel of a boost, de-authorisation): ResiFlex's profiles are cleared, so
//!   the charger is back to charging as it would without ResiFlex.
//! - A limit of 0 (`SetPowerLimit` or `Start` at 0 W): a profile of 0 the same way, or for
//!   chargers that mishandle 0 a `RemoteStopTransaction` (or the minimum current).
//! - `TestCharge`: full power for ten minutes, then 0.
//!
//! A purpose the charger refuses is recorded and the next one tried (`TxProfile`, then
//! `TxDefaultProfile`, then `ChargePointMaxProfile`); a charger that refuses 0 is held at the
//! minimum current from then on. Installing a profile removes ResiFlex's profiles that would
//! override or cap it. Receipts are kept by idempotency key, and every profile has a fixed id, so a
//! repeated command never installs a second profile.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::RngCore as _;
use resiflex_providers::{
    Command, CommandReceipt, DeviceProvider, Enrolment, EnrolmentDetails, Grant, PlanDelivery,
    ProviderError, Rating, RemoteDevice, Telemetry,
};
use resiflex_store::StoreError;
use resiflex_store::ocpp::{self as store, ChargePoint, InstalledProfile};
use rust_ocpp::v1_6::messages::change_configuration::{
    ChangeConfigurationRequest, ChangeConfigurationResponse,
};
use rust_ocpp::v1_6::messages::clear_charging_profile::{
    ClearChargingProfileRequest, ClearChargingProfileResponse,
};
use rust_ocpp::v1_6::messages::get_composite_schedule::{
    GetCompositeScheduleRequest, GetCompositeScheduleResponse,
};
use rust_ocpp::v1_6::messages::get_configuration::{
    GetConfigurationRequest, GetConfigurationResponse,
};
use rust_ocpp::v1_6::messages::remote_start_transaction::{
    RemoteStartTransactionRequest, RemoteStartTransactionResponse,
};
use rust_ocpp::v1_6::messages::remote_stop_transaction::{
    RemoteStopTransactionRequest, RemoteStopTransactionResponse,
};
use rust_ocpp::v1_6::messages::set_charging_profile::{
    SetChargingProfileRequest, SetChargingProfileResponse,
};
use rust_ocpp::v1_6::messages::trigger_message::{TriggerMessageRequest, TriggerMessageResponse};
use rust_ocpp::v1_6::types::{
    ChargingProfile, ChargingProfileStatus, GetCompositeScheduleStatus, MessageTrigger,
    RemoteStartStopStatus,
};

use crate::profiles::{self, Capabilities, Limits, Plan, Purpose, Quirks, Rated, ZeroLimit};
use crate::rpc::ErrorCode;
use crate::station::{self, CallFailure, Station};
use crate::{CentralSystem, Inner, auth};

/// The configuration keys asked for when a charger connects.
const PROBED_KEYS: [&str; 5] = [
    "ChargingScheduleAllowedChargingRateUnit",
    "ChargeProfileMaxStackLevel",
    "ChargingScheduleMaxPeriods",
    "ConnectorPhaseRotation",
    "NumberOfConnectors",
];

/// ResiFlex's connected charge points, as one device provider.
#[derive(Debug)]
pub struct OcppProvider {
    central: CentralSystem,
    name: String,
}

fn store_error(err: StoreError) -> ProviderError {
    tracing::error!(error = %err, "OCPP storage failed");
    ProviderError::Unreachable
}

fn call_error(failure: CallFailure) -> ProviderError {
    match failure {
        CallFailure::NotConnected | CallFailure::Timeout => ProviderError::Unreachable,
        CallFailure::Refused(error) => ProviderError::Refused(error.to_string()),
        CallFailure::Malformed(text) => ProviderError::Refused(text),
    }
}

/// A charger as a command finds it.
struct Target {
    station: Arc<Station>,
    row: ChargePoint,
    capabilities: Capabilities,
    quirks: Quirks,
    rated: Rated,
    connector: u32,
    transaction: Option<i32>,
    plugged_in: Option<bool>,
}

/// How an attempt to install a profile ended.
enum Installed {
    Accepted(ChargingProfile),
    Refused,
}

impl OcppProvider {
    pub(crate) fn new(central: CentralSystem, name: &str) -> OcppProvider {
        OcppProvider {
            central,
            name: name.to_owned(),
        }
    }

    fn inner(&self) -> &Arc<Inner> {
        self.central.inner()
    }

    /// The charger behind a grant, if it is still enrolled.
    async fn charger(&self, grant: &Grant, remote_id: &str) -> Result<ChargePoint, ProviderError> {
        if remote_id != grant.subject {
            return Err(ProviderError::UnknownDevice(remote_id.to_owned()));
        }
        store::charge_point(&self.inner().db, &grant.subject)
            .await
            .map_err(store_error)?
            .filter(|row| row.revoked_at.is_none())
            .ok_or(ProviderError::AuthorisationExpired)
    }

    async fn target(&self, row: ChargePoint) -> Result<Target, ProviderError> {
        let station = self
            .inner()
            .known_station(&row.id)
            .filter(|s| s.is_connected())
            .ok_or(ProviderError::Unreachable)?;
        let reported = station.reported();
        let connector = station::main_connector(&reported);
        let capabilities: Capabilities =
            serde_json::from_value(row.capabilities.clone()).unwrap_or_default();
        let mut capabilities = capabilities;
        if reported.three_phases_seen {
            capabilities.phases = capabilities.phases.max(3);
        }
        let quirks: Quirks = serde_json::from_value(row.quirks.clone()).unwrap_or_default();
        let rating = store::rating(&self.inner().db, &row.id)
            .await
            .map_err(store_error)?;
        let rated = Rated {
            amperes: rating.amperes,
            phases: rating.phases.and_then(|p| u8::try_from(p).ok()),
        };
        Ok(Target {
            rated,
            transaction: reported.transactions.get(&connector).copied(),
            plugged_in: reported
                .connectors
                .get(&connector)
                .and_then(|c| station::plugged_in(&c.status)),
            station,
            row,
            capabilities,
            quirks,
            connector,
        })
    }

    async fn save_quirks(&self, target: &Target) {
        let quirks = serde_json::to_value(&target.quirks).unwrap_or_default();
        if let Err(err) = store::set_quirks(&self.inner().db, &target.row.id, &quirks).await {
            tracing::error!(charge_point = %target.row.id, error = %err, "saving quirks failed");
        }
    }

    /// Sends one profile under one purpose; on success records it and removes ResiFlex's profiles
    /// that would override or cap it. A refusal of a plan with a limit of 0 is tried once more
    /// with the minimum current instead (and remembered).
    async fn install_one(
        &self,
        target: &mut Target,
        plan: &Plan,
        purpose: Purpose,
    ) -> Result<Installed, ProviderError> {
        if purpose == Purpose::TxProfile && target.transaction.is_none() {
            return Ok(Installed::Refused);
        }
        let policy = self.inner().config.call_policy();
        let mut limits = Limits::of(&target.capabilities, &target.quirks, target.rated);
        let zero_limit = target.quirks.zero_limit;
        loop {
            let profile = profiles::build(
                plan,
                purpose,
                limits,
                target.capabilities.max_stack_level,
                target.capabilities.max_periods,
                target.transaction,
            );
            let connector = if purpose == Purpose::ChargePointMaxProfile {
                0
            } else {
                i32::try_from(target.connector).unwrap_or(1)
            };
            let request = SetChargingProfileRequest {
                connector_id: connector,
                cs_charging_profiles: profile.clone(),
            };
            let answer: Result<SetChargingProfileResponse, CallFailure> = target
                .station
                .call_typed("SetChargingProfile", &request, policy)
                .await;
            let accepted = match answer {
                Ok(SetChargingProfileResponse { status }) => {
                    status == ChargingProfileStatus::Accepted
                }
                Err(CallFailure::Refused(error))
                    if matches!(
                        error.code,
                        ErrorCode::NotSupported | ErrorCode::NotImplemented
                    ) =>
                {
                    false
                }
                Err(failure) => return Err(call_error(failure)),
            };
            if accepted {
                self.record(target, purpose, connector, &profile).await;
                return Ok(Installed::Accepted(profile));
            }
            if plan.has_zero() && !limits.avoid_zero {
                tracing::info!(charge_point = %target.row.id, "a limit of 0 was refused; trying the minimum current");
                limits.avoid_zero = true;
                target.quirks.zero_limit = ZeroLimit::Minimum;
                continue;
            }
            tracing::info!(charge_point = %target.row.id, purpose = purpose.as_str(), "the charger refused the profile purpose");
            // The minimum was refused too: the refusal was about the purpose, not about 0.
            target.quirks.zero_limit = zero_limit;
            if !target.quirks.rejected_purposes.contains(&purpose) {
                target.quirks.rejected_purposes.push(purpose);
            }
            self.save_quirks(target).await;
            return Ok(Installed::Refused);
        }
    }

    /// Records an installed profile and clears the others of ResiFlex's that would override
    /// (`TxProfile`) or cap (`ChargePointMaxProfile`) it.
    async fn record(
        &self,
        target: &Target,
        purpose: Purpose,
        connector: i32,
        profile: &ChargingProfile,
    ) {
        let db = &self.inner().db;
        let now = self.inner().clock.now();
        let saved = InstalledProfile {
            charge_point_id: target.row.id.clone(),
            slot: purpose.as_str().to_owned(),
            connector_id: i64::from(connector),
            profile: serde_json::to_value(profile).unwrap_or_default(),
            sent_at: now,
        };
        if let Err(err) = store::save_profile(db, &saved).await {
            tracing::error!(charge_point = %target.row.id, error = %err, "recording a profile failed");
        }
        self.save_quirks(target).await;
        let installed = store::profiles(db, &target.row.id)
            .await
            .unwrap_or_default();
        for other in installed {
            let Some(slot) = Purpose::parse(&other.slot) else {
                continue;
            };
            if slot == purpose || slot == Purpose::TxDefaultProfile {
                continue;
            }
            self.clear(target, slot).await;
        }
    }

    /// Removes one of ResiFlex's profiles from the charger and from the record.
    async fn clear(&self, target: &Target, slot: Purpose) {
        let request = ClearChargingProfileRequest {
            id: Some(slot.profile_id()),
            connector_id: None,
            charging_profile_purpose: None,
            stack_level: None,
        };
        let answer: Result<ClearChargingProfileResponse, CallFailure> = target
            .station
            .call_typed(
                "ClearChargingProfile",
                &request,
                self.inner().config.call_policy(),
            )
            .await;
        if let Err(err) = answer {
            tracing::info!(charge_point = %target.row.id, slot = slot.as_str(), error = %err, "clearing a profile failed");
            return;
        }
        if let Err(err) =
            store::delete_profile(&self.inner().db, &target.row.id, slot.as_str()).await
        {
            tracing::error!(charge_point = %target.row.id, error = %err, "forgetting a profile failed");
        }
    }

    /// Installs `plan` under the first purpose of the chain the charger accepts.
    async fn install(
        &self,
        target: &mut Target,
        plan: &Plan,
        preferred: &[Purpose],
        verify: bool,
    ) -> Result<Purpose, ProviderError> {
        for purpose in target.quirks.chain(preferred) {
            match self.install_one(target, plan, purpose).await? {
                Installed::Refused => {}
                Installed::Accepted(profile) => {
                    if !verify || self.verify(target, plan, &profile).await {
                        return Ok(purpose);
                    }
                    tracing::warn!(charge_point = %target.row.id, purpose = purpose.as_str(), "the charger's composite schedule does not follow the profile");
                    target.quirks.rejected_purposes.push(purpose);
                    self.save_quirks(target).await;
                }
            }
        }
        Err(ProviderError::Refused(
            "the charge point refused every charging profile ResiFlex can send".to_owned(),
        ))
    }

    /// Asks the charger for its composite schedule and checks that it follows the profile. A
    /// charger that cannot tell is believed.
    async fn verify(&self, target: &Target, plan: &Plan, profile: &ChargingProfile) -> bool {
        let unit = profile.charging_schedule.charging_rate_unit.clone();
        let request = GetCompositeScheduleRequest {
            connector_id: i32::try_from(target.connector).unwrap_or(1),
            duration: i32::try_from(plan.horizon_seconds()).unwrap_or(86_400),
            charging_rate_unit: Some(unit),
        };
        let answer: Result<GetCompositeScheduleResponse, CallFailure> = target
            .station
            .call_typed(
                "GetCompositeSchedule",
                &request,
                self.inner().config.call_policy(),
            )
            .await;
        match answer {
            Ok(GetCompositeScheduleResponse {
                status: GetCompositeScheduleStatus::Accepted,
                schedule_start,
                charging_schedule: Some(schedule),
                ..
            }) => {
                let start = schedule_start
                    .or(schedule.start_schedule)
                    .unwrap_or(plan.start);
                profiles::follows(profile, &schedule, start)
            }
            Ok(_) => true,
            Err(err) => {
                tracing::info!(charge_point = %target.row.id, error = %err, "the composite schedule could not be read");
                true
            }
        }
    }

    async fn remote_start(&self, target: &Target) -> Result<(), ProviderError> {
        let request = RemoteStartTransactionRequest {
            connector_id: Some(target.connector),
            id_tag: self.inner().config.id_tag.clone(),
            charging_profile: None,
        };
        let answer: RemoteStartTransactionResponse = target
            .station
            .call_typed(
                "RemoteStartTransaction",
                &request,
                self.inner().config.call_policy(),
            )
            .await
            .map_err(call_error)?;
        if answer.status != RemoteStartStopStatus::Accepted {
            tracing::info!(charge_point = %target.row.id, "the charger refused to start a transaction");
        }
        Ok(())
    }

    async fn remote_stop(&self, target: &Target, transaction_id: i32) -> Result<(), ProviderError> {
        let request = RemoteStopTransactionRequest { transaction_id };
        let answer: RemoteStopTransactionResponse = target
            .station
            .call_typed(
                "RemoteStopTransaction",
                &request,
                self.inner().config.call_policy(),
            )
            .await
            .map_err(call_error)?;
        if answer.status == RemoteStartStopStatus::Accepted {
            Ok(())
        } else {
            Err(ProviderError::Refused(
                "the charge point refused to stop the transaction".to_owned(),
            ))
        }
    }

    /// One limit from now on, for the running transaction or, without one, for the next.
    async fn hold(
        &self,
        target: &mut Target,
        plan: Plan,
        start_transaction: bool,
    ) -> Result<(), ProviderError> {
        if target.transaction.is_some() {
            self.install(
                target,
                &plan,
                &[Purpose::TxProfile, Purpose::TxDefaultProfile],
                false,
            )
            .await?;
        } else {
            self.install(target, &plan, &[Purpose::TxDefaultProfile], false)
                .await?;
            if start_transaction && target.plugged_in == Some(true) {
                self.remote_start(target).await?;
            }
        }
        Ok(())
    }

    /// Hands the charger back: every profile of ResiFlex's is cleared, so it charges as it would
    /// without ResiFlex (a suspended device, a cancelled boost).
    async fn release(&self, target: &Target) {
        for slot in [
            Purpose::TxProfile,
            Purpose::ChargePointMaxProfile,
            Purpose::TxDefaultProfile,
        ] {
            self.clear(target, slot).await;
        }
    }

    /// No power: a limit of 0, or for chargers that mishandle 0 the end of the transaction.
    async fn hold_zero(
        &self,
        target: &mut Target,
        now: DateTime<Utc>,
    ) -> Result<(), ProviderError> {
        if target.quirks.zero_limit == ZeroLimit::RemoteStop {
            if let Some(tx) = target.transaction {
                self.remote_stop(target, tx).await?;
            }
            for slot in [Purpose::TxProfile, Purpose::ChargePointMaxProfile] {
                self.clear(target, slot).await;
            }
            return Ok(());
        }
        self.hold(target, Plan::constant(now, Some(0)), false).await
    }

    async fn carry_out(
        &self,
        target: &mut Target,
        command: &Command,
        now: DateTime<Utc>,
    ) -> Result<(), ProviderError> {
        match command {
            Command::Start {
                power_limit_w: Some(w),
            } if *w <= 0 => self.hold_zero(target, now).await,
            Command::Start { power_limit_w } => {
                self.hold(target, Plan::constant(now, *power_limit_w), true)
                    .await
            }
            Command::SetPowerLimit { power_w } if *power_w <= 0 => {
                self.hold_zero(target, now).await
            }
            Command::SetPowerLimit { power_w } => {
                self.hold(target, Plan::constant(now, Some(*power_w)), false)
                    .await
            }
            Command::Stop => {
                self.release(target).await;
                Ok(())
            }
            Command::Schedule { windows } => {
                let plan = Plan::schedule(now, windows);
                let preferred: &[Purpose] = if target.transaction.is_some() {
                    &[Purpose::TxProfile, Purpose::TxDefaultProfile]
                } else {
                    &[Purpose::TxDefaultProfile]
                };
                self.install(target, &plan, preferred, true).await?;
                // A car waiting for authorisation would never start: start its transaction,
                // which then follows the default profile just installed.
                let charges = plan.periods.iter().any(|(_, w)| w.is_none_or(|w| w > 0));
                if target.transaction.is_none() && target.plugged_in == Some(true) && charges {
                    self.remote_start(target).await?;
                }
                Ok(())
            }
            Command::TestCharge => self.hold(target, Plan::test_charge(now), true).await,
            Command::SetTargetTemperature { .. }
            | Command::SetHeatPumpMode { .. }
            | Command::SetZoneMode(_)
            | Command::SetFlowTemperature(_)
            | Command::SetHushMode { .. }
            | Command::SetZonePrimarySensor { .. }
            | Command::SetZoneDisplayName { .. } => Err(ProviderError::Unsupported(
                "a charge point is not a heat pump".to_owned(),
            )),
            Command::SetExportLimit { .. } => Err(ProviderError::Unsupported(
                "a charge point does not feed the grid".to_owned(),
            )),
        }
    }
}

fn command_id() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    format!("ocpp-{}", hex::encode(bytes))
}

#[async_trait::async_trait]
impl DeviceProvider for OcppProvider {
    async fn authorization_url(
        &self,
        _state: &str,
        _redirect_uri: &str,
    ) -> Result<String, ProviderError> {
        Err(ProviderError::Unsupported(
            "OCPP charge points are enrolled, not authorised at a vendor".to_owned(),
        ))
    }

    async fn complete_authorization(
        &self,
        _code: &str,
        _now: DateTime<Utc>,
    ) -> Result<Grant, ProviderError> {
        Err(ProviderError::Unsupported(
            "OCPP charge points are enrolled, not authorised at a vendor".to_owned(),
        ))
    }

    async fn devices(
        &self,
        grant: &Grant,
        _now: DateTime<Utc>,
    ) -> Result<Vec<RemoteDevice>, ProviderError> {
        let row = self.charger(grant, &grant.subject).await?;
        if row.boot_accepted_at.is_none() {
            return Ok(Vec::new());
        }
        Ok(vec![RemoteDevice {
            remote_id: row.id.clone(),
            kind: resiflex_domain::device::DeviceKind::ChargePoint,
            make: row.vendor.clone().unwrap_or_default(),
            model: row.model.clone().unwrap_or_default(),
            vin: None,
            battery_capacity_wh: None,
            max_power_w: None,
        }])
    }

    async fn telemetry(
        &self,
        grant: &Grant,
        remote_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Telemetry, ProviderError> {
        let row = self.charger(grant, remote_id).await?;
        let (reported, connected) = match self.inner().known_station(&row.id) {
            Some(station) => (station.reported(), station.is_connected()),
            None => (station::Reported::default(), false),
        };
        Ok(station::telemetry(
            &reported,
            connected,
            self.inner().config.heartbeat_interval_secs,
            now,
        ))
    }

    async fn send(
        &self,
        grant: &Grant,
        remote_id: &str,
        command: &Command,
        idempotency_key: &str,
        now: DateTime<Utc>,
    ) -> Result<CommandReceipt, ProviderError> {
        let row = self.charger(grant, remote_id).await?;
        let db = &self.inner().db;
        if let Some((command_id, accepted_at)) =
            store::command_receipt(db, &row.id, idempotency_key)
                .await
                .map_err(store_error)?
        {
            return Ok(CommandReceipt {
                command_id,
                accepted_at,
            });
        }
        let mut target = self.target(row).await?;
        self.carry_out(&mut target, command, now).await?;
        let (command_id, accepted_at) =
            store::save_command_receipt(db, &target.row.id, idempotency_key, &command_id(), now)
                .await
                .map_err(store_error)?;
        Ok(CommandReceipt {
            command_id,
            accepted_at,
        })
    }

    async fn deauthorize(&self, grant: &Grant, now: DateTime<Utc>) -> Result<(), ProviderError> {
        let row = self.charger(grant, &grant.subject).await?;
        if let Ok(target) = self.target(row.clone()).await {
            self.release(&target).await;
            target.station.kick();
        }
        store::revoke_charge_point(&self.inner().db, &row.id, now)
            .await
            .map_err(store_error)
    }

    fn enrolment(&self) -> Option<&dyn Enrolment> {
        Some(self)
    }

    /// A charger holds a whole plan as one charging profile.
    fn plan_delivery(&self) -> PlanDelivery {
        PlanDelivery::Schedule
    }
}

#[async_trait::async_trait]
impl Enrolment for OcppProvider {
    async fn enrol(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<EnrolmentDetails, ProviderError> {
        let db = &self.inner().db;
        let details = |row: &ChargePoint, password: Option<String>| EnrolmentDetails {
            websocket_url: self.inner().config.websocket_url(&row.id),
            device_id: row.id.clone(),
            password,
        };
        if let Some(row) = store::charge_point_by_enrolment(db, key)
            .await
            .map_err(store_error)?
        {
            return Ok(details(&row, None));
        }
        let password = auth::new_password();
        let password_hash = self
            .inner()
            .sign_in
            .pool
            .hash_password(password.clone())
            .await
            .map_err(|_| ProviderError::Unreachable)?;
        let row = ChargePoint {
            id: auth::new_identity(),
            password_hash,
            provider: self.name.clone(),
            enrolment_key: Some(key.to_owned()),
            vendor: None,
            model: None,
            serial_number: None,
            firmware_version: None,
            boot_accepted_at: None,
            capabilities: serde_json::to_value(Capabilities::default()).unwrap_or_default(),
            quirks: serde_json::to_value(Quirks::for_provider(&self.name)).unwrap_or_default(),
            created_at: now,
            revoked_at: None,
        };
        match store::insert_charge_point(db, &row).await {
            Ok(()) => Ok(details(&row, Some(password))),
            // Enrolled at the same moment by another request: that one issued the password.
            Err(StoreError::Conflict) => store::charge_point_by_enrolment(db, key)
                .await
                .map_err(store_error)?
                .map(|row| details(&row, None))
                .ok_or(ProviderError::Unreachable),
            Err(err) => Err(store_error(err)),
        }
    }

    async fn connected(
        &self,
        key: &str,
        _now: DateTime<Utc>,
    ) -> Result<Option<Grant>, ProviderError> {
        let row = store::charge_point_by_enrolment(&self.inner().db, key)
            .await
            .map_err(store_error)?;
        Ok(row
            .filter(|r| r.revoked_at.is_none() && r.boot_accepted_at.is_some())
            .map(|r| Grant {
                subject: r.id,
                secret: String::new(),
            }))
    }

    async fn rate(&self, key: &str, rating: Rating) -> Result<(), ProviderError> {
        let db = &self.inner().db;
        let Some(row) = store::charge_point_by_enrolment(db, key)
            .await
            .map_err(store_error)?
        else {
            return Err(ProviderError::UnknownDevice(key.to_owned()));
        };
        let rating = store::Rating {
            amperes: (rating.max_current_a.is_finite() && rating.max_current_a > 0.0)
                .then_some(rating.max_current_a),
            phases: Some(i64::from(rating.phases.clamp(1, 3))),
        };
        store::set_rating(db, &row.id, rating)
            .await
            .map_err(store_error)
    }
}

/// After a charger connects: probe its smart-charging capabilities, set its meter value interval,
/// assert ResiFlex's profiles again, and (after a reconnect without a boot) ask for its status and
/// meter values. Every step is best effort; a charger that does not answer is probed next time.
pub(crate) async fn settle(inner: Arc<Inner>, station: Arc<Station>, booted: bool) {
    let policy = inner.config.call_policy();
    let id = station.id.clone();
    let probe = GetConfigurationRequest {
        key: Some(PROBED_KEYS.iter().map(|k| (*k).to_owned()).collect()),
    };
    let answer: Result<GetConfigurationResponse, CallFailure> =
        station.call_typed("GetConfiguration", &probe, policy).await;
    match answer {
        Ok(configuration) => {
            let keys = configuration.configuration_key.unwrap_or_default();
            let capabilities = Capabilities::from_configuration(
                keys.iter()
                    .filter_map(|k| Some((k.key.as_str(), k.value.as_deref()?))),
            );
            tracing::info!(charge_point = %id, ?capabilities, "charge point probed");
            let value = serde_json::to_value(&capabilities).unwrap_or_default();
            if let Err(err) = store::set_capabilities(&inner.db, &id, &value).await {
                tracing::error!(charge_point = %id, error = %err, "saving capabilities failed");
            }
        }
        Err(CallFailure::NotConnected) => return,
        Err(err) => tracing::info!(charge_point = %id, error = %err, "the capability probe failed"),
    }
    if booted && inner.config.meter_value_interval_secs > 0 {
        let request = ChangeConfigurationRequest {
            key: "MeterValueSampleInterval".to_owned(),
            value: inner.config.meter_value_interval_secs.to_string(),
        };
        let answer: Result<ChangeConfigurationResponse, CallFailure> = station
            .call_typed("ChangeConfiguration", &request, policy)
            .await;
        if let Err(err) = answer {
            tracing::info!(charge_point = %id, error = %err, "setting the meter value interval failed");
        }
    }
    let open = station.reported().transactions;
    let installed = store::profiles(&inner.db, &id).await.unwrap_or_default();
    for saved in installed {
        let profile: Option<ChargingProfile> = serde_json::from_value(saved.profile.clone()).ok();
        let Some(profile) = profile else { continue };
        if let Some(tx) = profile.transaction_id
            && !open.values().any(|t| *t == tx)
        {
            // A transaction's own profile ends with the transaction.
            let _ = store::delete_profile(&inner.db, &id, &saved.slot).await;
            continue;
        }
        let request = SetChargingProfileRequest {
            connector_id: i32::try_from(saved.connector_id).unwrap_or(1),
            cs_charging_profiles: profile,
        };
        let answer: Result<SetChargingProfileResponse, CallFailure> = station
            .call_typed("SetChargingProfile", &request, policy)
            .await;
        match answer {
            Ok(SetChargingProfileResponse {
                status: ChargingProfileStatus::Accepted,
            }) => tracing::debug!(charge_point = %id, slot = %saved.slot, "profile asserted again"),
            Ok(_) => {
                tracing::warn!(charge_point = %id, slot = %saved.slot, "the charger refused a profile it had accepted before")
            }
            Err(err) => {
                tracing::info!(charge_point = %id, error = %err, "asserting a profile failed")
            }
        }
    }
    if !booted {
        for requested_message in [
            MessageTrigger::StatusNotification,
            MessageTrigger::MeterValues,
        ] {
            let request = TriggerMessageRequest {
                requested_message,
                connector_id: None,
            };
            let answer: Result<TriggerMessageResponse, CallFailure> =
                station.call_typed("TriggerMessage", &request, policy).await;
            if let Err(err) = answer {
                tracing::debug!(charge_point = %id, error = %err, "a trigger failed");
            }
        }
    }
}
