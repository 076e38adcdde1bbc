//! What the vendor requires before ResiFlex can control the device being onboarded: the wizard's
//! `TeslaRegistrationFailed`, `TeslaModifyScopes`, `TeslaSetupVirtualKey`, `UserActionRequired`,
//! `WaitForLiveIntegration` and `Retry` steps. The vendor is asked once the device is known
//! ([`check`]); a step the customer completes is confirmed by asking the vendor again
//! ([`confirm`]), never on the client's word; the vendor's own activation is polled
//! ([`poll_activation`]).

use resiflex_domain::wizard::{Requirement, StepKind};
use resiflex_providers::Grant;
use resiflex_store::devices as store;

use crate::onboarding::{Journey, OnboardingError, Outcome};
use crate::{Devices, grants};

fn internal(err: impl std::fmt::Display) -> OnboardingError {
    OnboardingError::Internal(err.to_string())
}

/// The vendor device the journey is about (the chosen one, or the one re-authenticated) with
/// the journey's grant; `None` while there is none yet.
async fn device_and_grant(
    devices: &Devices,
    journey: &Journey,
) -> Outcome<Option<(String, Grant)>> {
    let catalogue = resiflex_domain::catalogue::Catalogue::get().map_err(internal)?;
    let wizard = &journey.wizard;
    let Some(grant_id) = wizard.grant_id else {
        return Ok(None);
    };
    let remote_id = match &wizard.reauthenticate_device {
        Some(device_id) => store::device_by_id(&devices.db, device_id)
            .await
            .map_err(internal)?
            .map(|d| d.integration_device_id),
        None => wizard.chosen_device(catalogue).map(|d| d.remote_id.clone()),
    };
    let Some(remote_id) = remote_id else {
        return Ok(None);
    };
    let Some(grant) = grants::grant(&devices.db, grant_id).await? else {
        return Ok(None);
    };
    Ok(Some((remote_id, grant)))
}

/// What the vendor requires now for the journey's device.
async fn ask(devices: &Devices, journey: &Journey) -> Outcome<Option<Vec<Requirement>>> {
    let Some((remote_id, grant)) = device_and_grant(devices, journey).await? else {
        return Ok(None);
    };
    let name = journey
        .wizard
        .provider
        .ok_or(OnboardingError::ProviderUnavailable)?;
    let provider = devices
        .providers
        .get(name)
        .ok_or(OnboardingError::ProviderUnavailable)?;
    match provider
        .requirements(&grant, &remote_id, devices.clock.now())
        .await
    {
        Ok(pending) => Ok(Some(pending)),
        Err(err) => {
            tracing::warn!(provider = %name, error = %err, "asking the vendor what it requires failed");
            Err(OnboardingError::RetryLater)
        }
    }
}

/// Asks the vendor what it requires for the device, once it is known. When the vendor does not
/// answer, the wizard shows `Retry`. Returns whether anything changed.
pub async fn check(devices: &Devices, journey: &mut Journey) -> Outcome<bool> {
    if journey.wizard.requirements.is_some() || journey.wizard.retry.is_some() {
        return Ok(false);
    }
    match ask(devices, journey).await {
        Ok(Some(pending)) => {
            journey.wizard.fulfilled.clear();
            journey.wizard.requirements = Some(pending);
            Ok(true)
        }
        Ok(None) => Ok(false),
        Err(OnboardingError::RetryLater) => {
            journey.wizard.retry =
                Some("The vendor could not be reached to check the device.".to_owned());
            Ok(true)
        }
        Err(err) => Err(err),
    }
}

/// `completeRetryForSmartFlexOnboarding`: asks the vendor again; still no answer is
/// [`OnboardingError::RetryLater`].
pub async fn retry(devices: &Devices, journey: &mut Journey) -> Outcome<()> {
    match ask(devices, journey).await? {
        Some(pending) => {
            journey.wizard.retry = None;
            journey.wizard.fulfilled.clear();
            journey.wizard.requirements = Some(pending);
            Ok(())
        }
        None => Err(OnboardingError::RetryLater),
    }
}

/// Completes a step the customer fulfils at the vendor: only when the vendor no longer requires
/// what the step asked for. Otherwise [`OnboardingError::NotConfirmed`].
pub async fn confirm(devices: &Devices, journey: &mut Journey, step: StepKind) -> Outcome<()> {
    let asked = journey.wizard.requirements_of(step);
    if asked.is_empty() {
        return Err(OnboardingError::StepParameters(
            "This step has nothing to confirm.".to_owned(),
        ));
    }
    let pending = ask(devices, journey)
        .await?
        .ok_or(OnboardingError::RetryLater)?;
    let done: Vec<Requirement> = asked
        .iter()
        .copied()
        .filter(|r| !pending.contains(r))
        .collect();
    journey.wizard.confirm(&done);
    if done.len() < asked.len() {
        let missing: Vec<&str> = asked
            .iter()
            .filter(|r| pending.contains(r))
            .map(|r| r.description())
            .collect();
        return Err(OnboardingError::NotConfirmed(format!(
            "The vendor does not confirm this yet. {}",
            missing.join(" ")
        )));
    }
    Ok(())
}

/// `WaitForLiveIntegration`: whether the vendor has switched the integration on. A vendor that
/// does not answer is asked again at the next read.
pub async fn poll_activation(devices: &Devices, journey: &mut Journey) -> Outcome<bool> {
    match ask(devices, journey).await {
        Ok(Some(pending)) if !pending.contains(&Requirement::Activation) => {
            journey.wizard.confirm(&[Requirement::Activation]);
            Ok(true)
        }
        Ok(_) | Err(OnboardingError::RetryLater) => Ok(false),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use resiflex_domain::catalogue::{Catalogue, IntegrationStatus};
    use resiflex_domain::device::{DeviceKind, Provider};
    use resiflex_domain::wizard::{FoundDevice, NO_CHARGER, Wizard};
    use resiflex_domain::{ManualClock, SharedClock};
    use resiflex_providers::simulator::{Fault, SimDeviceSpec, SimulatorProvider};
    use resiflex_providers::{DeviceProvider, ProviderRegistry};
    use resiflex_store::testing::{TestDb, household};
    use resiflex_store::wizards::WizardRow;

    use super::*;
    use crate::NoReaction;

    /// A Tesla journey past `AuthFlow`, with the simulated vendor behind it.
    async fn journey() -> (TestDb, Devices, Arc<SimulatorProvider>, Journey, String) {
        let test = TestDb::new().await;
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        let home = household(&test.db, "kim@example.com", now).await;
        let sim = Arc::new(SimulatorProvider::new("TESLA", 7));
        let code = sim.approve(
            "kim",
            vec![SimDeviceSpec::vehicle("Tesla", "Model 3", 57_500, 11_000)],
            now,
        );
        let granted = sim.complete_authorization(&code, now).await.unwrap();
        let remote = sim.devices(&granted, now).await.unwrap().remove(0);
        let stored = store::insert_grant(
            &test.db,
            home.account_id,
            Provider::Tesla,
            &granted.subject,
            &granted.secret,
            now,
        )
        .await
        .unwrap();
        let mut registry = ProviderRegistry::default();
        registry.register(Provider::Tesla, sim.clone());
        let clock: SharedClock = Arc::new(ManualClock::new(now));
        let devices = Devices {
            db: test.db.clone(),
            providers: Arc::new(registry),
            clock,
            after_change: Arc::new(NoReaction),
        };
        let catalogue = Catalogue::get().unwrap();
        let car = catalogue
            .entries(DeviceKind::ElectricVehicle)
            .into_iter()
            .find(|e| {
                e.make() == "Tesla"
                    && e.integration_status() == IntegrationStatus::GenerallyAvailable
            })
            .unwrap();
        let mut wizard = Wizard::default();
        wizard
            .answer_step(StepKind::SelectDeviceType, "ELECTRIC_VEHICLES", catalogue)
            .unwrap();
        wizard
            .answer_step(StepKind::SelectVehicleMake, car.make(), catalogue)
            .unwrap();
        wizard
            .answer_step(StepKind::SelectVehicleVariant, car.id(), catalogue)
            .unwrap();
        wizard
            .answer_step(StepKind::SelectChargePointMake, NO_CHARGER, catalogue)
            .unwrap();
        wizard.provider = Some(Provider::Tesla);
        wizard.grant_id = Some(stored.id);
        wizard.found_devices.push(FoundDevice {
            remote_id: remote.remote_id.clone(),
            kind: DeviceKind::ElectricVehicle,
            make: remote.make,
            model: remote.model,
            vin: remote.vin,
        });
        let row = WizardRow {
            id: "w-1".into(),
            account_id: home.account_id,
            property_id: home.property_id,
            oauth_state: Some("st".into()),
            state: wizard.clone(),
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let journey = Journey { row, wizard };
        (test, devices, sim, journey, remote.remote_id)
    }

    #[tokio::test]
    async fn a_requirement_is_met_only_when_the_vendor_says_so() {
        let (_test, devices, sim, mut journey, car) = journey().await;
        let catalogue = Catalogue::get().unwrap();
        let now = devices.clock.now();
        sim.require("kim", &car, Requirement::VirtualKey, now)
            .unwrap();
        assert_eq!(
            journey.wizard.current(catalogue),
            Some(StepKind::WaitForTransition)
        );
        assert!(check(&devices, &mut journey).await.unwrap());
        assert_eq!(
            journey.wizard.current(catalogue),
            Some(StepKind::TeslaSetupVirtualKey)
        );
        let refused = confirm(&devices, &mut journey, StepKind::TeslaSetupVirtualKey).await;
        assert!(matches!(refused, Err(OnboardingError::NotConfirmed(_))));
        assert!(matches!(
            confirm(&devices, &mut journey, StepKind::UserActionRequired).await,
            Err(OnboardingError::StepParameters(_))
        ));
        sim.fulfil(&car, Requirement::VirtualKey).unwrap();
        confirm(&devices, &mut journey, StepKind::TeslaSetupVirtualKey)
            .await
            .unwrap();
        assert_eq!(
            journey.wizard.current(catalogue),
            Some(StepKind::UserInputRequired)
        );
    }

    #[tokio::test]
    async fn an_unreachable_vendor_is_retried_and_activation_is_polled() {
        let (_test, devices, sim, mut journey, car) = journey().await;
        let catalogue = Catalogue::get().unwrap();
        let now = devices.clock.now();
        sim.set_fault("kim", &car, Fault::Offline, now).unwrap();
        assert!(check(&devices, &mut journey).await.unwrap());
        assert_eq!(journey.wizard.current(catalogue), Some(StepKind::Retry));
        assert!(
            !check(&devices, &mut journey).await.unwrap(),
            "no new check"
        );
        assert!(matches!(
            retry(&devices, &mut journey).await,
            Err(OnboardingError::RetryLater)
        ));
        sim.clear_fault("kim", &car, Fault::Offline).unwrap();
        sim.require(
            "kim",
            &car,
            Requirement::Activation,
            now + chrono::Duration::minutes(1),
        )
        .unwrap();
        retry(&devices, &mut journey).await.unwrap();
        assert_eq!(
            journey.wizard.current(catalogue),
            Some(StepKind::WaitForLiveIntegration)
        );
        assert!(!poll_activation(&devices, &mut journey).await.unwrap());
        assert!(
            sim.fulfil(&car, Requirement::Activation).is_err(),
            "the vendor activates by itself"
        );
        let later = now + chrono::Duration::minutes(2);
        let clock: SharedClock = Arc::new(ManualClock::new(later));
        let devices = Devices { clock, ..devices };
        assert!(poll_activation(&devices, &mut journey).await.unwrap());
        assert_eq!(
            journey.wizard.current(catalogue),
            Some(StepKind::UserInputRequired)
        );
    }
}
