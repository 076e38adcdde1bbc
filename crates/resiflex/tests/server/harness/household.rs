//! A household of simulated devices on a day-ahead tariff, driven by its own control loop: the
//! world the flexibility tests (heat pumps, batteries, a home's joint plan) start from.

use std::sync::Arc;

use chrono::Duration;
use resiflex_control::ControlLoop;
use resiflex_domain::Clock as _;
use resiflex_domain::device::{DeviceKind, Provider};
use resiflex_domain::tariff::{self, Tariff};
use resiflex_providers::simulator::SimDeviceSpec;
use resiflex_providers::{DeviceProvider, ProviderRegistry};
use resiflex_store::devices::{self as store, Device};

use super::TestApp;
use super::scenario::{open_account, organisation_auth, user_auth};

/// The day-ahead tariff every household is on.
pub const TARIFF_CODE: &str = "AGILE-HOME";

/// A household: its account, its user's token, its devices (in the order asked) and a control
/// loop over the server's simulated clouds.
pub struct Household {
    pub number: String,
    pub account_id: i64,
    pub property_id: i64,
    pub user: String,
    pub device_ids: Vec<String>,
    pub control: ControlLoop,
}

/// Opens an account for `email` at a new organisation and registers one simulated device per
/// `(provider, spec)` on its property, live and capable, with its kind's default preferences;
/// the property goes on a day-ahead tariff from yesterday for five days.
pub async fn household(
    app: &TestApp,
    email: &str,
    devices: &[(Provider, SimDeviceSpec)],
) -> Household {
    let db = &app.test_db.db;
    let now = app.clock.now();
    let org = organisation_auth(app, &format!("Org of {email}")).await;
    let number = open_account(app, &org, email).await;
    let account = resiflex_store::accounts::account_by_number(db, &number)
        .await
        .unwrap()
        .unwrap();
    let property = resiflex_store::accounts::properties_of_account(db, account.id)
        .await
        .unwrap()
        .remove(0);
    let user = user_auth(app, email).await;
    let mut registry = ProviderRegistry::default();
    let mut device_ids = Vec::new();
    for (index, (provider, spec)) in devices.iter().enumerate() {
        let cloud = app.sandbox.simulator(provider.as_str()).unwrap().clone();
        let login = format!("{email}-{index}");
        let code = cloud.simulator().approve(&login, vec![spec.clone()], now);
        let grant = cloud.complete_authorization(&code, now).await.unwrap();
        let remote = cloud.devices(&grant, now).await.unwrap().remove(0);
        let stored = store::insert_grant(
            db,
            account.id,
            *provider,
            &grant.subject,
            &grant.secret,
            now,
        )
        .await
        .unwrap();
        let kind = spec.kind;
        let device = Device {
            grant_id: Some(stored.id),
            name: format!("{kind} {index}"),
            make: remote.make,
            model: remote.model,
            battery_capacity_wh: remote.battery_capacity_wh,
            max_power_w: remote.max_power_w,
            ..Device::live(
                format!("{}-{index}", kind.as_str().to_ascii_lowercase()),
                (account.id, property.id),
                kind,
                *provider,
                remote.remote_id,
                now,
            )
        };
        store::insert_device(db, &device).await.unwrap();
        registry.register(*provider, cloud);
        device_ids.push(device.id);
    }
    let tariff = Tariff {
        code: TARIFF_CODE.into(),
        name: "Agile".into(),
        currency: "GBP".into(),
        time_zone: "Europe/London".into(),
        slot_minutes: 30,
    };
    let rates =
        tariff::generate_day_ahead(&tariff, now.date_naive() - Duration::days(1), 5, 11).unwrap();
    let imported = resiflex_store::tariffs::import_rates(db, &tariff, None, &rates, now)
        .await
        .unwrap();
    resiflex_store::tariffs::assign_tariff_to_account(
        db,
        account.id,
        imported.tariff.id,
        now - Duration::days(1),
        now,
    )
    .await
    .unwrap();
    let control = ControlLoop::new(
        db.clone(),
        Arc::new(registry),
        Arc::new(app.clock.clone()),
        app.config.control,
    );
    Household {
        number,
        account_id: account.id,
        property_id: property.id,
        user,
        device_ids,
        control,
    }
}

/// A simulated heat pump of `max_power_w` electrical power in a house starting at `indoor_c`.
pub fn heat_pump(max_power_w: i64, indoor_c: f64) -> (Provider, SimDeviceSpec) {
    (
        Provider::Daikin,
        SimDeviceSpec {
            max_power_w: Some(max_power_w),
            initial_indoor_c: Some(indoor_c),
            ..SimDeviceSpec::new(DeviceKind::HeatPump)
        },
    )
}

/// A simulated home battery of `capacity_wh` at `soc_pct`.
pub fn battery(capacity_wh: i64, soc_pct: f64) -> (Provider, SimDeviceSpec) {
    (
        Provider::TeslaV2,
        SimDeviceSpec {
            battery_capacity_wh: Some(capacity_wh),
            max_power_w: Some(5_000),
            initial_soc_pct: Some(soc_pct),
            ..SimDeviceSpec::new(DeviceKind::Battery)
        },
    )
}

/// A simulated car, always at home and plugged in, at `soc_pct`.
pub fn car(soc_pct: f64) -> (Provider, SimDeviceSpec) {
    (
        Provider::Tesla,
        SimDeviceSpec {
            initial_soc_pct: Some(soc_pct),
            ..SimDeviceSpec::vehicle("Tesla", "Model 3", 57_500, 7_400)
        },
    )
}

/// A device's stored plan in force.
pub async fn current_plan(app: &TestApp, device_id: &str) -> resiflex_store::plans::PlanRecord {
    resiflex_store::plans::current_plan(&app.test_db.db, device_id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{device_id} has no plan"))
}

/// The commands sent to a device, oldest first.
pub async fn commands(app: &TestApp, device_id: &str) -> Vec<resiflex_domain::command::Command> {
    let now = app.clock.now();
    resiflex_store::commands::between(
        &app.test_db.db,
        device_id,
        now - Duration::days(30),
        now + Duration::days(30),
    )
    .await
    .unwrap()
    .into_iter()
    .map(|c| c.command)
    .collect()
}
