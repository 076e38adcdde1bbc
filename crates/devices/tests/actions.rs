//! The device use cases against a real database and a provider whose answers the test decides.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use resiflex_devices::commands::{self, Outgoing, Retry, Sent};
use resiflex_devices::{DeviceError, Devices, NoReaction};
use resiflex_domain::command::{Command, CommandStatus};
use resiflex_domain::device::{DeviceState, Lifecycle, Provider};
use resiflex_domain::plan::DeviceEventKind;
use resiflex_domain::telemetry::Telemetry;
use resiflex_domain::{ManualClock, SharedClock};
use resiflex_providers::{
    CommandReceipt, DeviceProvider, Grant, ProviderError, ProviderRegistry, RemoteDevice,
};
use resiflex_store::devices::{self as store, Device};
use resiflex_store::testing::{GrantedVehicle, TestDb, granted_vehicle_fixture};
use resiflex_store::{events, telemetry};

/// A vendor whose answers the test sets, and which counts what it was asked.
#[derive(Debug, Default)]
struct Vendor {
    refuse_commands: Mutex<Option<ProviderError>>,
    refuse_deauthorize: Mutex<Option<ProviderError>>,
    sent: Mutex<Vec<(Command, String)>>,
}

#[async_trait::async_trait]
impl DeviceProvider for Vendor {
    async fn authorization_url(&self, _: &str, _: &str) -> Result<String, ProviderError> {
        Err(ProviderError::Unsupported("consent".into()))
    }

    async fn complete_authorization(
        &self,
        _: &str,
        _: DateTime<Utc>,
    ) -> Result<Grant, ProviderError> {
        Err(ProviderError::Unsupported("consent".into()))
    }

    async fn devices(
        &self,
        _: &Grant,
        _: DateTime<Utc>,
    ) -> Result<Vec<RemoteDevice>, ProviderError> {
        Ok(Vec::new())
    }

    async fn telemetry(
        &self,
        _: &Grant,
        _: &str,
        now: DateTime<Utc>,
    ) -> Result<Telemetry, ProviderError> {
        Ok(reading(now))
    }

    async fn send(
        &self,
        _: &Grant,
        _: &str,
        command: &Command,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<CommandReceipt, ProviderError> {
        if let Some(err) = self.refuse_commands.lock().unwrap().clone() {
            return Err(err);
        }
        let mut sent = self.sent.lock().unwrap();
        sent.push((command.clone(), key.to_owned()));
        Ok(CommandReceipt {
            command_id: format!("receipt-{}", sent.len()),
            accepted_at: now,
        })
    }

    async fn deauthorize(&self, _: &Grant, _: DateTime<Utc>) -> Result<(), ProviderError> {
        match self.refuse_deauthorize.lock().unwrap().clone() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

fn reading(at: DateTime<Utc>) -> Telemetry {
    Telemetry {
        soc_limit_pct: Some(100.0),
        energy_imported_wh: 1_000,
        ..Telemetry::vehicle_at_home(at, 40.0)
    }
}

struct World {
    test: TestDb,
    vendor: Arc<Vendor>,
    devices: Devices,
    device: Device,
}

/// A live, plugged-in vehicle with a grant, at a vendor the test controls.
async fn world() -> World {
    let test = TestDb::new().await;
    let now = Utc::now();
    let device = granted_vehicle_fixture(
        &test.db,
        GrantedVehicle {
            email: "owner@example.com",
            device_id: "car",
            provider: Provider::Tesla,
            remote_id: "remote-car",
            subject: "sub",
            secret: "secret",
        },
        now,
    )
    .await;
    telemetry::save_latest(&test.db, &device.id, &reading(now))
        .await
        .unwrap();
    let vendor = Arc::new(Vendor::default());
    let mut registry = ProviderRegistry::default();
    registry.register(Provider::Tesla, vendor.clone());
    let clock: SharedClock = Arc::new(ManualClock::new(now));
    let devices = Devices {
        db: test.db.clone(),
        providers: Arc::new(registry),
        clock,
        after_change: Arc::new(NoReaction),
    };
    World {
        test,
        vendor,
        devices,
        device,
    }
}

#[tokio::test]
async fn a_vendor_that_will_not_give_up_the_grant_leaves_the_device_live() {
    let w = world().await;
    *w.vendor.refuse_deauthorize.lock().unwrap() = Some(ProviderError::Unreachable);
    let err = w
        .devices
        .deauthenticate(w.device.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, DeviceError::Release(_)), "{err:?}");
    let stored = store::device_by_id(&w.test.db, &w.device.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.lifecycle, Lifecycle::Live);
    assert!(
        store::live_grant(&w.test.db, w.device.grant_id.unwrap())
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_boost_goes_through_the_ledger_once() {
    let w = world().await;
    let boosted = w.devices.boost(w.device.clone()).await.unwrap();
    assert_eq!(boosted.state, DeviceState::Boosting);
    let sent = w.vendor.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let row = resiflex_store::commands::by_key(&w.test.db, &sent[0].1)
        .await
        .unwrap()
        .expect("the boost is in the ledger under the key the vendor saw");
    assert_eq!(row.status, CommandStatus::Sent);
    assert_eq!(row.plan_version, None);
    // The same request again, before anything changed, is the same command: not sent twice.
    let again = commands::send(
        &w.test.db,
        &resiflex_devices::grants::link(&w.test.db, &w.devices.providers, &w.device)
            .await
            .unwrap(),
        &w.device,
        Outgoing::direct(
            &w.device,
            Command::Start {
                power_limit_w: None,
            },
        ),
        Retry::Never,
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(matches!(again, Sent::Acknowledged(_)), "{again:?}");
    assert_eq!(w.vendor.sent.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_refused_customer_command_is_given_up_recorded_and_sent_again_when_asked_again() {
    let w = world().await;
    *w.vendor.refuse_commands.lock().unwrap() = Some(ProviderError::Refused("busy".into()));
    let err = w.devices.suspend(w.device.clone()).await.unwrap_err();
    assert!(matches!(err, DeviceError::Provider(..)), "{err:?}");
    let key = Outgoing::direct(&w.device, Command::Stop).key;
    let row = resiflex_store::commands::by_key(&w.test.db, &key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.status, row.attempts), (CommandStatus::Abandoned, 1));
    let recorded = events::between(
        &w.test.db,
        &w.device.id,
        Utc::now() - chrono::Duration::hours(1),
        Utc::now() + chrono::Duration::hours(1),
    )
    .await
    .unwrap();
    assert!(
        recorded
            .iter()
            .any(|e| e.kind == DeviceEventKind::CommandFailed),
        "{recorded:?}"
    );
    // The device did not change; asking again sends the same key once more.
    *w.vendor.refuse_commands.lock().unwrap() = None;
    let suspended = w.devices.suspend(w.device.clone()).await.unwrap();
    assert_eq!(suspended.state, DeviceState::SmartControlOff);
    let sent = w.vendor.sent.lock().unwrap().clone();
    assert_eq!(sent, vec![(Command::Stop, key)]);
}

#[tokio::test]
async fn a_customer_command_abandons_an_unfinished_plan_command() {
    let w = world().await;
    *w.vendor.refuse_commands.lock().unwrap() = Some(ProviderError::Unreachable);
    let now = Utc::now();
    let planned = Outgoing::planned(
        &w.device.id,
        1,
        now,
        Command::Start {
            power_limit_w: Some(7_000),
        },
    );
    let key = planned.key.clone();
    let first = commands::send(
        &w.test.db,
        &resiflex_devices::grants::link(&w.test.db, &w.devices.providers, &w.device)
            .await
            .unwrap(),
        &w.device,
        planned,
        Retry::Backoff { attempts: 6 },
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        first,
        Sent::Failed {
            error: ProviderError::Unreachable,
            will_retry: true
        }
    );
    *w.vendor.refuse_commands.lock().unwrap() = None;
    w.devices.suspend(w.device.clone()).await.unwrap();
    let row = resiflex_store::commands::by_key(&w.test.db, &key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.status,
        CommandStatus::Abandoned,
        "the plan's retry may not overtake the suspension"
    );
}
