//! What a customer (or their supplier) does to a device: suspend and resume smart control, boost
//! and cancel, start a test charge, de-authenticate.
//!
//! Every action goes the same way: decide from the device's machines and latest reading whether it
//! can be met (a refusal is the action's [`DeviceError`]), check the move along the machines before
//! anything is sent, send the command through the one command path ([`crate::commands`]), then save
//! the device against concurrent changes, record what happened and let the planner react.

use resiflex_domain::command::Command;
use resiflex_domain::device::{DeviceState, FlexSetting, Lifecycle, TestChargeStart};
use resiflex_domain::plan::DeviceEventKind;
use resiflex_domain::preferences::Preferences;
use resiflex_domain::telemetry::Telemetry;
use resiflex_providers::CommandReceipt;
use resiflex_store::StoreError;
use resiflex_store::devices::{self as store, Device};

use crate::commands::{self, Outgoing, Retry, Sent};
use crate::rules::{self, test_charge_ready};
use crate::{DeviceError, Devices, Operation, grants, telemetry};

impl Devices {
    /// The device's latest reading (stored, or read once now).
    pub async fn latest_telemetry(
        &self,
        device: &Device,
    ) -> Result<Option<Telemetry>, DeviceError> {
        Ok(telemetry::latest(&self.db, &self.providers, device, self.clock.now()).await?)
    }

    /// Sends a customer's command to the device now; a failure is the action's error.
    async fn command(
        &self,
        op: Operation,
        device: &Device,
        command: Command,
    ) -> Result<CommandReceipt, DeviceError> {
        let link = grants::link(&self.db, &self.providers, device).await?;
        if let Err(why) = &link {
            return Err(DeviceError::Unavailable(*why));
        }
        let outgoing = Outgoing::direct(device, command);
        match commands::send(
            &self.db,
            &link,
            device,
            outgoing,
            Retry::Never,
            self.clock.now(),
        )
        .await?
        {
            Sent::Acknowledged(receipt) => Ok(receipt),
            Sent::Failed { error, .. } => Err(DeviceError::Provider(op, error)),
            // A direct command's key is sent again unless it was acknowledged.
            Sent::AlreadyDone => Err(DeviceError::Conflict(op)),
        }
    }

    /// Saves a change to a device. `change` is applied to the device as read; if someone else saved
    /// the device meanwhile, it is read again and `change` applied once more (so the change is
    /// re-checked against the newer state). A second conflict is [`DeviceError::Conflict`].
    pub async fn save<F>(
        &self,
        op: Operation,
        device: Device,
        mut change: F,
    ) -> Result<Device, DeviceError>
    where
        F: FnMut(&mut Device) -> Result<(), DeviceError>,
    {
        let mut current = device;
        let mut retried = false;
        loop {
            let mut next = current.clone();
            change(&mut next)?;
            next.updated_at = self.clock.now();
            match store::update_device(&self.db, &next).await {
                Ok(saved) => return Ok(saved),
                Err(StoreError::Conflict) if !retried => {
                    retried = true;
                    current = store::device_by_id(&self.db, &current.id)
                        .await?
                        .ok_or(DeviceError::Gone)?;
                }
                Err(StoreError::Conflict) => return Err(DeviceError::Conflict(op)),
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// Records what was done to a device and lets the planner react at once, so planned dispatches
    /// show the change. The change itself is saved already: a failure here is logged, and the
    /// control loop's next pass catches up.
    pub async fn record_change(&self, device_id: &str, event: DeviceEventKind) {
        self.record_change_with(device_id, event, &serde_json::json!({}))
            .await;
    }

    /// [`Devices::record_change`] with what the event carries.
    pub async fn record_change_with(
        &self,
        device_id: &str,
        event: DeviceEventKind,
        detail: &serde_json::Value,
    ) {
        let now = self.clock.now();
        if let Err(err) = resiflex_store::events::add(&self.db, device_id, now, event, detail).await
        {
            tracing::error!(device = %device_id, error = %err, "the device event could not be recorded");
        }
        self.after_change.changed(device_id, now).await;
    }

    /// Suspends smart control: the device stops drawing power and is left alone until resumed.
    pub async fn suspend(&self, device: Device) -> Result<Device, DeviceError> {
        let op = Operation::Suspend;
        if device.is_suspended && device.state == DeviceState::SmartControlOff {
            return Ok(device);
        }
        check(op, device.state, DeviceState::SmartControlOff)?;
        self.command(op, &device, Command::Stop).await?;
        let saved = self
            .save(op, device, |d| {
                d.state = moved(op, d.state, DeviceState::SmartControlOff)?;
                d.is_suspended = true;
                Ok(())
            })
            .await?;
        self.record_change(&saved.id, DeviceEventKind::Suspended)
            .await;
        Ok(saved)
    }

    /// Resumes smart control: the device settles in the state its latest reading says.
    pub async fn resume(&self, device: Device) -> Result<Device, DeviceError> {
        let op = Operation::Resume;
        if device.lifecycle == Lifecycle::Retired {
            return Err(DeviceError::NotAllowed(
                op,
                "The device has been retired.".to_owned(),
            ));
        }
        if !device.is_suspended && device.state != DeviceState::SmartControlOff {
            return Ok(device);
        }
        let reading = self.latest_telemetry(&device).await?;
        let to = Telemetry::settled_state(reading.as_ref(), device.kind, false);
        let saved = self
            .save(op, device, |d| {
                d.state = moved(op, d.state, to)?;
                d.is_suspended = false;
                Ok(())
            })
            .await?;
        self.record_change(&saved.id, DeviceEventKind::Unsuspended)
            .await;
        Ok(saved)
    }

    /// Starts charging now at full power, ignoring the smart schedule (vehicles and chargers).
    pub async fn boost(&self, device: Device) -> Result<Device, DeviceError> {
        let op = Operation::Boost;
        if !device.kind.charges_vehicle() {
            return Err(DeviceError::CannotBoost(device.kind));
        }
        let reading = self.latest_telemetry(&device).await?;
        if let Some(reason) = rules::boost_refusal(
            device.lifecycle,
            device.state,
            device.is_suspended,
            reading.as_ref(),
        ) {
            return Err(DeviceError::BoostRefused(reason));
        }
        check(op, device.state, DeviceState::Boosting)?;
        self.command(
            op,
            &device,
            Command::Start {
                power_limit_w: None,
            },
        )
        .await?;
        let saved = self
            .save(op, device, |d| {
                d.state = moved(op, d.state, DeviceState::Boosting)?;
                Ok(())
            })
            .await?;
        self.record_change(&saved.id, DeviceEventKind::BoostStarted)
            .await;
        Ok(saved)
    }

    /// Stops a running boost; the device settles back under smart control.
    pub async fn cancel_boost(&self, device: Device) -> Result<Device, DeviceError> {
        let op = Operation::CancelBoost;
        if !device.kind.charges_vehicle() {
            return Err(DeviceError::CannotBoost(device.kind));
        }
        if device.state != DeviceState::Boosting {
            return Err(DeviceError::NotAllowed(
                op,
                "The device is not boosting, so there is no boost charge to cancel.".to_owned(),
            ));
        }
        self.command(op, &device, Command::Stop).await?;
        let reading = self.latest_telemetry(&device).await?;
        let to = Telemetry::settled_state(reading.as_ref(), device.kind, false);
        let saved = self
            .save(op, device, |d| {
                if d.state != DeviceState::Boosting {
                    // Someone else ended the boost meanwhile; it is over either way.
                    return Ok(());
                }
                d.state = moved(op, d.state, to)?;
                Ok(())
            })
            .await?;
        self.record_change(&saved.id, DeviceEventKind::BoostCancelled)
            .await;
        Ok(saved)
    }

    /// Starts the short charge that proves a vehicle or charger can be controlled (onboarding), when
    /// the rules allow it; `reading` is the device's latest reading (see [`Devices::latest_telemetry`]).
    pub async fn test_charge(&self, device: Device) -> Result<Device, DeviceError> {
        let op = Operation::TestCharge;
        if !device.kind.needs_test_charge() {
            return Err(DeviceError::NotAllowed(
                op,
                format!("A {} device needs no test charge.", device.kind),
            ));
        }
        let reading = self.latest_telemetry(&device).await?;
        if let Some(reason) = rules::test_charge_refusal(
            device.kind,
            device.lifecycle,
            device.state,
            device.is_suspended,
            reading.as_ref(),
        ) {
            return Err(DeviceError::TestChargeRefused(reason));
        }
        if !test_charge_ready(device.state) {
            return Err(DeviceError::NotAllowed(
                op,
                "The device's authorisation is not complete yet.".to_owned(),
            ));
        }
        let (saved, _) = self.start_test_charge(device, reading.as_ref()).await?;
        self.record_change(&saved.id, DeviceEventKind::TestChargeStarted)
            .await;
        Ok(saved)
    }

    /// Sends the test charge and moves the device to ONBOARDING_TEST_IN_PROGRESS and
    /// TEST_CHARGE_IN_PROGRESS, keeping when it started and the meter it started from. The caller
    /// has checked the rules (`triggerTestCharge` and the wizard's test-charge step both do).
    pub async fn start_test_charge(
        &self,
        device: Device,
        reading: Option<&Telemetry>,
    ) -> Result<(Device, TestChargeStart), DeviceError> {
        let op = Operation::TestCharge;
        device
            .lifecycle
            .transition(Lifecycle::OnboardingTestInProgress)
            .map_err(|err| DeviceError::refused(op, &err))?;
        check(op, device.state, DeviceState::TestChargeInProgress)?;
        let receipt = self.command(op, &device, Command::TestCharge).await?;
        let start = TestChargeStart {
            started_at: receipt.accepted_at,
            command_id: receipt.command_id,
            meter_at_start_wh: reading.map(|t| t.energy_imported_wh),
        };
        let saved = self
            .save(op, device, |d| {
                if d.lifecycle != Lifecycle::OnboardingTestInProgress {
                    d.lifecycle = d
                        .lifecycle
                        .transition(Lifecycle::OnboardingTestInProgress)
                        .map_err(|err| DeviceError::refused(op, &err))?;
                }
                d.state = moved(op, d.state, DeviceState::TestChargeInProgress)?;
                d.test_charge = Some(start.clone());
                Ok(())
            })
            .await?;
        Ok((saved, start))
    }

    /// Retires a device: it is no longer controlled, its history stays, and the vendor
    /// authorisation is given up when no other device uses it.
    pub async fn deauthenticate(&self, device: Device) -> Result<Device, DeviceError> {
        let op = Operation::Deauthenticate;
        if device.lifecycle == Lifecycle::Retired {
            return Err(DeviceError::NotAllowed(
                op,
                "The device has already been de-authenticated.".to_owned(),
            ));
        }
        device
            .lifecycle
            .transition(Lifecycle::Retired)
            .map_err(|err| DeviceError::refused(op, &err))?;
        check(op, device.state, DeviceState::Retired)?;
        if matches!(
            device.state,
            DeviceState::Boosting
                | DeviceState::SmartControlInProgress
                | DeviceState::TestChargeInProgress
        ) {
            // Whatever we started should not outlive our control. Best effort: the device is
            // retired whether or not it answers.
            if let Err(err) = self.command(op, &device, Command::Stop).await {
                tracing::warn!(device = %device.id, error = %err, "could not stop the device before retiring it");
            }
        }
        let now = self.clock.now();
        grants::release(&self.db, &self.providers, &device, now)
            .await
            .map_err(DeviceError::Release)?;
        let saved = self
            .save(op, device, |d| {
                if d.lifecycle != Lifecycle::Retired {
                    d.lifecycle = d
                        .lifecycle
                        .transition(Lifecycle::Retired)
                        .map_err(|err| DeviceError::refused(op, &err))?;
                }
                d.state = moved(op, d.state, DeviceState::Retired)?;
                d.retired_at = Some(now);
                Ok(())
            })
            .await?;
        self.record_change(&saved.id, DeviceEventKind::Deauthenticated)
            .await;
        Ok(saved)
    }
}

impl Devices {
    /// Replaces the device's preferences (checked by the caller against its kind).
    pub async fn set_preferences(
        &self,
        device: Device,
        preferences: Preferences,
    ) -> Result<Device, DeviceError> {
        let op = Operation::SetPreferences;
        let saved = self
            .save(op, device, |d| {
                not_retired(op, d)?;
                d.preferences = Some(preferences.clone());
                Ok(())
            })
            .await?;
        let detail = serde_json::to_value(&preferences).unwrap_or_default();
        self.record_change_with(&saved.id, DeviceEventKind::PreferencesChanged, &detail)
            .await;
        Ok(saved)
    }

    /// Lets a battery or inverter export to the grid, or stops it.
    pub async fn set_grid_export(
        &self,
        device: Device,
        enabled: bool,
    ) -> Result<Device, DeviceError> {
        let op = Operation::SetGridExport;
        self.save(op, device, |d| {
            not_retired(op, d)?;
            d.grid_export = switched(
                op,
                d.grid_export,
                enabled,
                "This device cannot export to the grid (its grid export is NOT_APPLICABLE).",
            )?;
            Ok(())
        })
        .await
    }

    /// Caps the length of the device's charging sessions, or lifts the cap.
    pub async fn set_charging_duration_cap(
        &self,
        device: Device,
        enabled: bool,
    ) -> Result<Device, DeviceError> {
        let op = Operation::SetChargingDurationCap;
        self.save(op, device, |d| {
            not_retired(op, d)?;
            d.charging_duration_capped = switched(
                op,
                d.charging_duration_capped,
                enabled,
                "This device has no charging duration cap (the setting is NOT_APPLICABLE).",
            )?;
            Ok(())
        })
        .await
    }
}

fn not_retired(op: Operation, device: &Device) -> Result<(), DeviceError> {
    if device.lifecycle == Lifecycle::Retired {
        Err(DeviceError::NotAllowed(
            op,
            "The device is retired.".to_owned(),
        ))
    } else {
        Ok(())
    }
}

/// A setting switched on or off, where the device has it.
fn switched(
    op: Operation,
    current: FlexSetting,
    enabled: bool,
    absent: &str,
) -> Result<FlexSetting, DeviceError> {
    match (current, enabled) {
        (FlexSetting::NotApplicable, _) => Err(DeviceError::NotAllowed(op, absent.to_owned())),
        (_, true) => Ok(FlexSetting::Enabled),
        (_, false) => Ok(FlexSetting::Disabled),
    }
}

/// Checks a move of the state machine before anything is sent.
fn check(op: Operation, from: DeviceState, to: DeviceState) -> Result<(), DeviceError> {
    moved(op, from, to).map(|_| ())
}

/// The state after a move the machine allows.
fn moved(op: Operation, from: DeviceState, to: DeviceState) -> Result<DeviceState, DeviceError> {
    from.transition(to)
        .map_err(|err| DeviceError::refused(op, &err))
}
