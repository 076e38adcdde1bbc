//! The simulator through its public face: the provider trait and the scenario controls.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use resiflex_domain::device::DeviceKind;

use super::*;
use crate::{
    Command, Connection, DeviceProvider, Grant, ProviderError, RemoteDevice, ScheduleWindow,
    Telemetry,
};

const LOGIN: &str = "alice@example.com";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 6, 0, 0, 0).unwrap()
}

fn mins(minutes: i64) -> TimeDelta {
    TimeDelta::minutes(minutes)
}

fn car(soc: f64, limit: f64) -> SimDeviceSpec {
    SimDeviceSpec {
        initial_soc_pct: Some(soc),
        soc_limit_pct: Some(limit),
        ..SimDeviceSpec::vehicle("Tesla", "Model 3", 60_000, 7_400)
    }
}

async fn connect(sim: &SimulatorProvider, specs: Vec<SimDeviceSpec>) -> (Grant, Vec<RemoteDevice>) {
    let code = sim.approve(LOGIN, specs, t0());
    let grant = sim.complete_authorization(&code, t0()).await.unwrap();
    let devices = sim.devices(&grant, t0()).await.unwrap();
    (grant, devices)
}

async fn one(spec: SimDeviceSpec) -> (SimulatorProvider, Grant, String) {
    let sim = SimulatorProvider::new("TESLA", 42);
    let (grant, devices) = connect(&sim, vec![spec]).await;
    let id = devices[0].remote_id.clone();
    (sim, grant, id)
}

async fn read(sim: &SimulatorProvider, grant: &Grant, id: &str, at: DateTime<Utc>) -> Telemetry {
    sim.telemetry(grant, id, at).await.unwrap()
}

thread_local! {
    static NEXT_KEY: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A fresh idempotency key for each command a test sends (numbered per thread, so a test that
/// replays the same calls can start the numbering again with [`reset_keys`]).
fn key() -> String {
    NEXT_KEY.with(|next| {
        let key = next.get();
        next.set(key + 1);
        format!("test-{key}")
    })
}

fn reset_keys() {
    NEXT_KEY.with(|next| next.set(0));
}

async fn send(
    sim: &SimulatorProvider,
    grant: &Grant,
    id: &str,
    command: Command,
    at: DateTime<Utc>,
) {
    sim.send(grant, id, &command, &key(), at).await.unwrap();
}

fn soc(telemetry: &Telemetry) -> f64 {
    telemetry.state_of_charge_pct.unwrap()
}

#[tokio::test]
async fn authorisation_round_trip_with_one_time_codes() {
    let sim = SimulatorProvider::new("TESLA", 1);
    let url = sim
        .authorization_url("st&te=1", "https://app.example/cb?x=1")
        .await
        .unwrap();
    assert_eq!(
        url,
        "/sandbox/TESLA/authorize?state=st%26te%3D1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fx%3D1"
    );
    let url = SimulatorProvider::new("MYENERGI", 1)
        .with_base_url("https://rf.example/")
        .authorization_url("s", "r")
        .await
        .unwrap();
    assert_eq!(
        url,
        "https://rf.example/sandbox/MYENERGI/authorize?state=s&redirect_uri=r"
    );

    let code = sim.approve(LOGIN, vec![car(50.0, 100.0)], t0());
    let grant = sim.complete_authorization(&code, t0()).await.unwrap();
    assert_eq!(grant.subject, LOGIN);
    assert!(grant.secret.len() > 32);
    assert!(matches!(
        sim.complete_authorization(&code, t0()).await,
        Err(ProviderError::AuthorisationRefused(_))
    ));
    assert!(matches!(
        sim.complete_authorization("made-up", t0()).await,
        Err(ProviderError::AuthorisationRefused(_))
    ));

    let devices = sim.devices(&grant, t0()).await.unwrap();
    assert_eq!(devices.len(), 1);
    let vehicle = &devices[0];
    assert!(vehicle.remote_id.starts_with("sim-tesla-"));
    assert_eq!(
        (
            vehicle.kind,
            vehicle.battery_capacity_wh,
            vehicle.max_power_w
        ),
        (DeviceKind::ElectricVehicle, Some(60_000), Some(7_400))
    );
    let vin = vehicle.vin.clone().unwrap();
    assert!(
        vin.len() == 17 && vin.starts_with("5YJ") && !vin.contains(['I', 'O', 'Q']),
        "{vin}"
    );

    // A second consent for the same login gives a second grant to the same devices.
    let again = sim.approve(LOGIN, Vec::new(), t0());
    let second = sim.complete_authorization(&again, t0()).await.unwrap();
    assert_ne!(second.secret, grant.secret);
    assert_eq!(sim.devices(&second, t0()).await.unwrap(), devices);

    sim.deauthorize(&grant, t0()).await.unwrap();
    assert_eq!(
        sim.devices(&grant, t0()).await,
        Err(ProviderError::AuthorisationExpired)
    );
    assert_eq!(
        sim.telemetry(&grant, &vehicle.remote_id, t0()).await,
        Err(ProviderError::AuthorisationExpired)
    );
    assert!(sim.devices(&second, t0()).await.is_ok());
    let forged = Grant {
        subject: "mallory".into(),
        secret: second.secret.clone(),
    };
    assert_eq!(
        sim.devices(&forged, t0()).await,
        Err(ProviderError::AuthorisationExpired)
    );
    assert_eq!(
        sim.telemetry(&second, "sim-tesla-nope", t0()).await,
        Err(ProviderError::UnknownDevice("sim-tesla-nope".into()))
    );
}

#[tokio::test]
async fn ids_are_stable_and_reapproval_keeps_matching_devices() {
    let first = SimulatorProvider::new("ENODE", 5);
    let other_seed = SimulatorProvider::new("ENODE", 6);
    let specs = vec![car(50.0, 100.0), SimDeviceSpec::new(DeviceKind::HeatPump)];
    let (grant, devices) = connect(&first, specs.clone()).await;
    let (_, same) = connect(&other_seed, specs.clone()).await;
    let ids = |devices: &[RemoteDevice]| {
        devices
            .iter()
            .map(|device| device.remote_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&devices),
        ids(&same),
        "ids depend on provider, login and index only"
    );
    assert_ne!(devices[0].vin, same[0].vin, "VINs come from the seed");

    send(
        &first,
        &grant,
        &devices[0].remote_id,
        Command::Start {
            power_limit_w: None,
        },
        t0(),
    )
    .await;
    let later = t0() + mins(60);
    let before = read(&first, &grant, &devices[0].remote_id, later).await;
    let code = first.approve(
        LOGIN,
        vec![specs[0].clone(), SimDeviceSpec::new(DeviceKind::Battery)],
        later,
    );
    first.complete_authorization(&code, later).await.unwrap();
    let now_devices = first.devices(&grant, later).await.unwrap();
    assert_eq!(now_devices.len(), 2);
    assert_eq!(now_devices[0].remote_id, devices[0].remote_id);
    assert_eq!(now_devices[1].kind, DeviceKind::Battery);
    assert!(!ids(&devices).contains(&now_devices[1].remote_id));
    assert_eq!(
        read(&first, &grant, &devices[0].remote_id, later).await,
        before
    );
}

#[tokio::test]
async fn a_car_charges_from_forty_to_eighty_percent_in_the_expected_time_then_tapers() {
    let (sim, grant, id) = one(car(40.0, 100.0)).await;
    send(
        &sim,
        &grant,
        &id,
        Command::Start {
            power_limit_w: None,
        },
        t0(),
    )
    .await;
    let first = read(&sim, &grant, &id, t0() + mins(1)).await;
    assert_eq!(
        (first.power_w, first.active, first.plugged_in),
        (7_400, true, Some(true))
    );
    // 24 kWh at 7.4 kW and 90% efficiency: 3.60 h (plus a trickle of parked drain).
    let hours = 24_000.0 / (7_400.0 * 0.9);
    let before = read(&sim, &grant, &id, t0() + mins((hours * 60.0) as i64 - 5)).await;
    let after = read(&sim, &grant, &id, t0() + mins((hours * 60.0) as i64 + 5)).await;
    assert!(
        soc(&before) < 80.0 && soc(&before) > 78.5,
        "{}",
        soc(&before)
    );
    assert!(soc(&after) >= 80.0 && soc(&after) < 81.5, "{}", soc(&after));
    assert!(
        (before.energy_imported_wh - 26_244).abs() < 600,
        "{}",
        before.energy_imported_wh
    );
    assert!(
        after.power_w < 7_400 && after.power_w > 7_000,
        "{}",
        after.power_w
    );

    // 80 → 90% is 6 kWh, 0.9 h at full power, but the taper makes it take longer.
    let mut t = t0() + mins((hours * 60.0) as i64 + 5);
    let mut reading = after;
    while soc(&reading) < 90.0 {
        t += mins(1);
        reading = read(&sim, &grant, &id, t).await;
    }
    let took = (t - (t0() + mins((hours * 60.0) as i64))).num_minutes();
    assert!(took > 65, "{took} minutes");
    assert!(
        reading.power_w < 7_400 * 6 / 10 + 100 && reading.power_w > 7_400 * 6 / 10 - 200,
        "{}",
        reading.power_w
    );

    // Full, and then only the parked drain.
    let full = read(&sim, &grant, &id, t0() + TimeDelta::hours(12)).await;
    assert!(soc(&full) > 99.8, "{}", soc(&full));
    assert_eq!((full.power_w, full.active), (0, false));
}

#[tokio::test]
async fn charging_stops_at_the_limit_set_on_the_car() {
    let (sim, grant, id) = one(car(40.0, 70.0)).await;
    send(
        &sim,
        &grant,
        &id,
        Command::Start {
            power_limit_w: None,
        },
        t0(),
    )
    .await;
    let reading = read(&sim, &grant, &id, t0() + TimeDelta::hours(6)).await;
    assert!(
        soc(&reading) <= 70.0 && soc(&reading) > 69.9,
        "{}",
        soc(&reading)
    );
    assert_eq!(reading.soc_limit_pct, Some(70.0));
    assert_eq!(reading.power_w, 0);
    // It stays there (no top-ups from the parked drain) until told otherwise.
    let imported = reading.energy_imported_wh;
    let later = read(&sim, &grant, &id, t0() + TimeDelta::hours(20)).await;
    assert_eq!(later.energy_imported_wh, imported);
    // Raising the limit and starting again charges on.
    let t = t0() + TimeDelta::hours(20);
    sim.set_soc_limit(LOGIN, &id, 80.0, t).unwrap();
    send(
        &sim,
        &grant,
        &id,
        Command::Start {
            power_limit_w: Some(3_000),
        },
        t,
    )
    .await;
    let more = read(&sim, &grant, &id, t + mins(30)).await;
    assert_eq!(more.power_w, 3_000);
    assert!(soc(&more) > 70.0);
}

#[tokio::test]
async fn an_unplugged_car_does_not_charge() {
    let (sim, grant, id) = one(car(40.0, 100.0)).await;
    sim.set_plugged_in(LOGIN, &id, false, t0()).unwrap();
    send(
        &sim,
        &grant,
        &id,
        Command::Start {
            power_limit_w: None,
        },
        t0(),
    )
    .await;
    let reading = read(&sim, &grant, &id, t0() + TimeDelta::hours(3)).await;
    assert_eq!(
        (
            reading.power_w,
            reading.energy_imported_wh,
            reading.plugged_in
        ),
        (0, 0, Some(false))
    );
    assert!(soc(&reading) < 40.0);
    // The start waits for the plug.
    let t = t0() + TimeDelta::hours(3);
    sim.set_plugged_in(LOGIN, &id, true, t).unwrap();
    assert_eq!(read(&sim, &grant, &id, t + mins(5)).await.power_w, 7_400);
    // Leaving unplugs and ends the charge: coming back does not resume it.
    sim.set_at_home(LOGIN, &id, false, t + mins(10)).unwrap();
    let away = read(&sim, &grant, &id, t + mins(11)).await;
    assert_eq!(
        (away.power_w, away.at_home, away.plugged_in),
        (0, Some(false), Some(false))
    );
    sim.set_plugged_in(LOGIN, &id, true, t + mins(20)).unwrap();
    let back = read(&sim, &grant, &id, t + mins(21)).await;
    assert_eq!(
        (back.power_w, back.at_home, back.plugged_in),
        (0, Some(true), Some(true))
    );
}

#[tokio::test]
async fn a_schedule_window_is_followed_exactly() {
    let (sim, grant, id) = one(car(20.0, 100.0)).await;
    let start = t0() + TimeDelta::hours(2) + TimeDelta::seconds(20);
    let end = start + mins(60);
    let windows = vec![ScheduleWindow {
        start,
        end,
        power_w: 3_000,
        setpoint_c: None,
    }];
    send(&sim, &grant, &id, Command::Schedule { windows }, t0()).await;
    let second = TimeDelta::seconds(1);
    assert_eq!(read(&sim, &grant, &id, start - second).await.power_w, 0);
    assert_eq!(read(&sim, &grant, &id, start).await.power_w, 3_000);
    assert_eq!(read(&sim, &grant, &id, end - second).await.power_w, 3_000);
    let after = read(&sim, &grant, &id, end).await;
    assert_eq!(after.power_w, 0);
    assert!(
        (after.energy_imported_wh - 3_000).abs() <= 1,
        "{}",
        after.energy_imported_wh
    );
    let much_later = read(&sim, &grant, &id, end + TimeDelta::hours(5)).await;
    assert_eq!(much_later.energy_imported_wh, after.energy_imported_wh);
    // 2.7 kWh into a 60 kWh battery, less 12.5 W of parked drain since midnight.
    let drain = 12.5 * (end - t0()).num_seconds() as f64 / 3600.0;
    assert!(
        (soc(&after) - (20.0 + (2_700.0 - drain) / 600.0)).abs() < 0.001,
        "{}",
        soc(&after)
    );
}

#[tokio::test]
async fn a_test_charge_shows_power_then_stops() {
    let (sim, grant, id) = one(car(50.0, 100.0)).await;
    let t = t0() + mins(7) + TimeDelta::seconds(13);
    send(&sim, &grant, &id, Command::TestCharge, t).await;
    let during = read(&sim, &grant, &id, t + TimeDelta::seconds(30)).await;
    assert!(during.power_w > 0 && during.active);
    let after = read(&sim, &grant, &id, t + mins(3)).await;
    assert_eq!((after.power_w, after.active), (0, false));
    assert!(
        (after.energy_imported_wh - 7_400 * 2 / 60).abs() <= 1,
        "{}",
        after.energy_imported_wh
    );

    // Unplugged, a test charge shows nothing.
    sim.set_plugged_in(LOGIN, &id, false, t + mins(5)).unwrap();
    send(&sim, &grant, &id, Command::TestCharge, t + mins(5)).await;
    assert_eq!(read(&sim, &grant, &id, t + mins(6)).await.power_w, 0);
}

#[tokio::test]
async fn a_parked_car_drains_slowly_and_a_commuter_drives() {
    let (sim, grant, id) = one(car(50.0, 100.0)).await;
    let reading = read(&sim, &grant, &id, t0() + TimeDelta::days(10)).await;
    assert!((soc(&reading) - 45.0).abs() < 0.01, "{}", soc(&reading));

    let commuter = SimDeviceSpec {
        presence: Some(DailySchedule::commuter()),
        ..car(50.0, 100.0)
    };
    let (sim, grant, id) = one(commuter).await;
    let night = read(&sim, &grant, &id, t0() + TimeDelta::hours(3)).await;
    assert_eq!((night.plugged_in, night.at_home), (Some(true), Some(true)));
    let leaving = read(&sim, &grant, &id, t0() + mins(7 * 60 + 30)).await;
    assert_eq!(
        leaving.plugged_in,
        Some(false),
        "the routine's edges show at their instant"
    );
    let day = read(&sim, &grant, &id, t0() + TimeDelta::hours(12)).await;
    assert_eq!((day.plugged_in, day.at_home), (Some(false), Some(false)));
    assert!(soc(&day) < 47.0);
    let arriving = read(&sim, &grant, &id, t0() + TimeDelta::hours(18)).await;
    assert_eq!(arriving.plugged_in, Some(true));
    let evening = read(&sim, &grant, &id, t0() + TimeDelta::hours(19)).await;
    assert_eq!(
        (evening.plugged_in, evening.at_home),
        (Some(true), Some(true))
    );
    assert!(soc(&evening) < soc(&day));
}

#[tokio::test]
async fn a_heat_pump_warms_the_house_and_it_cools_when_off() {
    let spec = SimDeviceSpec {
        initial_indoor_c: Some(16.0),
        outdoor: Some(OutdoorProfile {
            mean_c: 5.0,
            daily_swing_c: 0.0,
        }),
        ..SimDeviceSpec::new(DeviceKind::HeatPump)
    };
    let (sim, grant, id) = one(spec).await;
    send(
        &sim,
        &grant,
        &id,
        Command::SetTargetTemperature { celsius: 21.0 },
        t0(),
    )
    .await;
    let start = read(&sim, &grant, &id, t0() + mins(1)).await;
    assert_eq!(
        (start.power_w, start.target_temperature_c),
        (3_000, Some(21.0))
    );
    let warm = read(&sim, &grant, &id, t0() + TimeDelta::hours(4)).await;
    let indoor = warm.indoor_temperature_c.unwrap();
    assert!((20.4..=21.6).contains(&indoor), "{indoor}");
    assert!(warm.energy_imported_wh > 3_000);

    let t = t0() + TimeDelta::hours(4);
    send(&sim, &grant, &id, Command::Stop, t).await;
    let cool = read(&sim, &grant, &id, t + TimeDelta::hours(6)).await;
    assert_eq!(cool.power_w, 0);
    let cooled = cool.indoor_temperature_c.unwrap();
    assert!(cooled < indoor - 2.0 && cooled > 5.0, "{cooled}");
    assert_eq!(
        cool.energy_imported_wh,
        read(&sim, &grant, &id, t).await.energy_imported_wh
    );
    let outdoor = cool.outdoor_temperature_c.unwrap();
    assert!((3.0..=7.0).contains(&outdoor), "{outdoor}");
}

#[tokio::test]
async fn batteries_chargers_and_inverters() {
    let sim = SimulatorProvider::new("GIVENERGY", 3);
    let charger_with_car = SimDeviceSpec {
        battery_capacity_wh: Some(40_000),
        ..SimDeviceSpec::new(DeviceKind::ChargePoint)
    };
    let inverter = SimDeviceSpec {
        battery_capacity_wh: Some(9_500),
        ..SimDeviceSpec::new(DeviceKind::Inverter)
    };
    let specs = vec![
        SimDeviceSpec::new(DeviceKind::Battery),
        charger_with_car,
        SimDeviceSpec::new(DeviceKind::ChargePoint),
        inverter,
        SimDeviceSpec::new(DeviceKind::Inverter),
    ];
    let (grant, devices) = connect(&sim, specs).await;
    let [battery, charger, bare_charger, hybrid, solar] =
        [0, 1, 2, 3, 4].map(|index| devices[index].remote_id.clone());

    let windows = vec![ScheduleWindow {
        start: t0() + mins(60),
        end: t0() + mins(120),
        power_w: -2_000,
        setpoint_c: None,
    }];
    send(&sim, &grant, &battery, Command::Schedule { windows }, t0()).await;
    let discharging = read(&sim, &grant, &battery, t0() + mins(90)).await;
    assert_eq!((discharging.power_w, discharging.active), (-2_000, true));
    let done = read(&sim, &grant, &battery, t0() + mins(180)).await;
    assert_eq!(
        (
            done.power_w,
            done.energy_imported_wh,
            done.energy_exported_wh
        ),
        (0, 0, 2_000)
    );
    assert!(
        (soc(&done) - (50.0 - 2_000.0 / 0.95 / 135.0)).abs() < 0.01,
        "{}",
        soc(&done)
    );

    let with_car = read(&sim, &grant, &charger, t0()).await;
    assert_eq!(
        (
            with_car.state_of_charge_pct,
            with_car.plugged_in,
            with_car.at_home
        ),
        (Some(50.0), Some(true), None)
    );
    let without = read(&sim, &grant, &bare_charger, t0()).await;
    assert_eq!(without.state_of_charge_pct, None);
    send(
        &sim,
        &grant,
        &bare_charger,
        Command::Start {
            power_limit_w: Some(6_000),
        },
        t0(),
    )
    .await;
    assert_eq!(
        read(&sim, &grant, &bare_charger, t0() + mins(10))
            .await
            .power_w,
        6_000
    );
    assert_eq!(devices[2].battery_capacity_wh, None);

    let night = read(&sim, &grant, &solar, t0() + TimeDelta::hours(2)).await;
    assert_eq!(night.solar_power_w, Some(0));
    assert_eq!(night.power_w, night.site_consumption_w.unwrap());
    let noon = read(&sim, &grant, &solar, t0() + TimeDelta::hours(12)).await;
    assert!(
        noon.solar_power_w.unwrap() >= 3_000 && noon.solar_power_w.unwrap() <= 5_000,
        "{noon:?}"
    );
    assert!(noon.power_w < 0 && noon.energy_exported_wh > 0);
    assert_eq!(
        noon.power_w,
        noon.site_consumption_w.unwrap() - noon.solar_power_w.unwrap()
    );
    assert!(matches!(
        sim.send(
            &grant,
            &solar,
            &Command::Start {
                power_limit_w: None
            },
            &key(),
            t0()
        )
        .await,
        Err(ProviderError::Unsupported(_))
    ));

    let t = t0() + TimeDelta::hours(20);
    send(
        &sim,
        &grant,
        &hybrid,
        Command::Start {
            power_limit_w: Some(2_500),
        },
        t,
    )
    .await;
    let evening = read(&sim, &grant, &hybrid, t + mins(30)).await;
    assert_eq!(evening.power_w, evening.site_consumption_w.unwrap() + 2_500);
    assert!(soc(&evening) > 50.0);
    assert!(matches!(
        sim.send(
            &grant,
            &battery,
            &Command::SetTargetTemperature { celsius: 20.0 },
            &key(),
            t
        )
        .await,
        Err(ProviderError::Unsupported(_))
    ));
}

#[tokio::test]
async fn faults_offline_refusing_ignoring_and_silent() {
    let (sim, grant, id) = one(car(40.0, 100.0)).await;
    let start = Command::Start {
        power_limit_w: None,
    };
    sim.set_fault(LOGIN, &id, Fault::Offline, t0() + mins(10))
        .unwrap();
    let offline = read(&sim, &grant, &id, t0() + mins(30)).await;
    assert_eq!(
        (offline.connection, offline.at),
        (Connection::Offline, t0() + mins(10))
    );
    assert_eq!(
        sim.send(&grant, &id, &start, &key(), t0() + mins(30)).await,
        Err(ProviderError::Unreachable)
    );
    sim.clear_fault(LOGIN, &id, Fault::Offline).unwrap();
    assert_eq!(
        read(&sim, &grant, &id, t0() + mins(31)).await.connection,
        Connection::Online
    );

    sim.set_fault(LOGIN, &id, Fault::RefuseCommands, t0())
        .unwrap();
    assert!(matches!(
        sim.send(&grant, &id, &start, &key(), t0() + mins(32)).await,
        Err(ProviderError::Refused(_))
    ));
    sim.clear_faults(LOGIN, &id).unwrap();

    sim.set_fault(LOGIN, &id, Fault::IgnoreCommands, t0())
        .unwrap();
    let receipt = sim
        .send(&grant, &id, &start, &key(), t0() + mins(33))
        .await
        .unwrap();
    assert_eq!(receipt.accepted_at, t0() + mins(33));
    let ignored = read(&sim, &grant, &id, t0() + mins(60)).await;
    assert_eq!(
        (ignored.power_w, ignored.active, ignored.energy_imported_wh),
        (0, false, 0)
    );
    sim.clear_fault(LOGIN, &id, Fault::IgnoreCommands).unwrap();
    let receipt_2 = sim
        .send(&grant, &id, &start, &key(), t0() + mins(61))
        .await
        .unwrap();
    assert_ne!(receipt.command_id, receipt_2.command_id);
    assert_eq!(
        read(&sim, &grant, &id, t0() + mins(62)).await.power_w,
        7_400
    );

    sim.set_fault(LOGIN, &id, Fault::NoTelemetry, t0()).unwrap();
    assert_eq!(
        sim.telemetry(&grant, &id, t0() + mins(63)).await,
        Err(ProviderError::Unreachable)
    );
    assert!(
        sim.send(&grant, &id, &Command::Stop, &key(), t0() + mins(63))
            .await
            .is_ok()
    );
    assert_eq!(
        sim.set_fault(LOGIN, "nope", Fault::Offline, t0()),
        Err(ProviderError::UnknownDevice("nope".into()))
    );
}

/// Drives a provider through a fixed script of commands, scenario changes and readings.
async fn script(
    sim: &SimulatorProvider,
    grant: &Grant,
    ids: &[String],
    from: DateTime<Utc>,
) -> Vec<Telemetry> {
    let mut readings = Vec::new();
    for step in 0..200i64 {
        let t = from + TimeDelta::seconds(step * 97 + step % 7);
        let id = &ids[(step as usize) % ids.len()];
        match step % 23 {
            0 => {
                let _ = sim
                    .send(
                        grant,
                        id,
                        &Command::Start {
                            power_limit_w: Some(4_000 + step),
                        },
                        &key(),
                        t,
                    )
                    .await;
            }
            5 => {
                let _ = sim.send(grant, id, &Command::TestCharge, &key(), t).await;
            }
            11 => {
                let windows = vec![ScheduleWindow {
                    start: t + mins(5),
                    end: t + mins(50),
                    power_w: 2_000,
                    setpoint_c: None,
                }];
                drop(
                    sim.send(grant, id, &Command::Schedule { windows }, &key(), t)
                        .await,
                );
            }
            13 => {
                let _ = sim.set_plugged_in(LOGIN, id, step % 2 == 0, t);
            }
            17 => {
                let _ = sim.send(grant, id, &Command::Stop, &key(), t).await;
            }
            _ => {}
        }
        for id in ids {
            readings.push(sim.telemetry(grant, id, t).await.unwrap());
        }
    }
    readings
}

fn mixed_devices() -> Vec<SimDeviceSpec> {
    vec![
        SimDeviceSpec {
            presence: Some(DailySchedule::commuter()),
            ..car(45.0, 90.0)
        },
        SimDeviceSpec::new(DeviceKind::HeatPump),
        SimDeviceSpec::new(DeviceKind::Battery),
        SimDeviceSpec {
            battery_capacity_wh: Some(5_000),
            ..SimDeviceSpec::new(DeviceKind::Inverter)
        },
        SimDeviceSpec::new(DeviceKind::ChargePoint),
    ]
}

#[tokio::test]
async fn the_same_seed_and_calls_give_the_same_world() {
    let start = t0() + TimeDelta::hours(6);
    let mut results = Vec::new();
    for _ in 0..2 {
        reset_keys();
        let sim = SimulatorProvider::new("TESLA", 99);
        let (grant, devices) = connect(&sim, mixed_devices()).await;
        let ids: Vec<String> = devices
            .iter()
            .map(|device| device.remote_id.clone())
            .collect();
        let readings = script(&sim, &grant, &ids, start).await;
        results.push((grant, devices, readings, sim.snapshot()));
    }
    assert_eq!(results[0], results[1]);
    let active = results[0].2.iter().filter(|reading| reading.active).count();
    assert!(
        active > 20,
        "the script should make things happen ({active})"
    );
}

#[tokio::test]
async fn a_restored_snapshot_carries_on_identically() {
    let sim = SimulatorProvider::new("TESLA", 7);
    let (grant, devices) = connect(&sim, mixed_devices()).await;
    let ids: Vec<String> = devices
        .iter()
        .map(|device| device.remote_id.clone())
        .collect();
    script(&sim, &grant, &ids, t0() + TimeDelta::hours(5)).await;
    sim.set_fault(LOGIN, &ids[1], Fault::Offline, t0() + TimeDelta::hours(11))
        .unwrap();
    let unused_code = sim.approve("bob", vec![car(10.0, 80.0)], t0());

    // Through JSON text, as a database would store it.
    let text = serde_json::to_string(&sim.snapshot()).unwrap();
    let restored =
        SimulatorProvider::restore("TESLA", 7, serde_json::from_str(&text).unwrap()).unwrap();
    assert_eq!(restored.snapshot(), sim.snapshot());

    let later = t0() + TimeDelta::hours(12);
    assert_eq!(
        script(&restored, &grant, &ids, later).await,
        script(&sim, &grant, &ids, later).await
    );
    let bob = restored
        .complete_authorization(&unused_code, later)
        .await
        .unwrap();
    assert_eq!(bob.subject, "bob");

    assert!(matches!(
        SimulatorProvider::restore("ENODE", 7, sim.snapshot()),
        Err(SnapshotError::Mismatch { .. })
    ));
    assert!(matches!(
        SimulatorProvider::restore("TESLA", 8, sim.snapshot()),
        Err(SnapshotError::Mismatch { .. })
    ));
    assert!(matches!(
        SimulatorProvider::restore("TESLA", 7, serde_json::json!({"logins": 3})),
        Err(SnapshotError::Unreadable(_))
    ));
    assert!(matches!(
        SimulatorProvider::restore("TESLA", 7, serde_json::json!({"format": 99})),
        Err(SnapshotError::UnknownFormat(99))
    ));
}

#[tokio::test]
async fn specs_read_from_json_with_defaults() {
    let spec: SimDeviceSpec = serde_json::from_value(serde_json::json!({
        "kind": "ElectricVehicle",
        "presence": {"arrive_minute": 1080, "leave_minute": 450}
    }))
    .unwrap();
    assert_eq!(spec.presence, Some(DailySchedule::commuter()));
    let (sim, grant, id) = one(spec).await;
    let device = &sim.devices(&grant, t0()).await.unwrap()[0];
    assert_eq!(
        (
            device.make.as_str(),
            device.model.as_str(),
            device.max_power_w
        ),
        ("Tesla", "Model 3", Some(7_400))
    );
    let reading = read(&sim, &grant, &id, t0()).await;
    assert_eq!(
        (reading.state_of_charge_pct, reading.soc_limit_pct),
        (Some(50.0), Some(100.0))
    );
    let fresh = SimulatorProvider::new("MYENERGI", 1);
    let (_, devices) = connect(&fresh, Vec::new()).await;
    assert_eq!(
        devices.iter().map(|device| device.kind).collect::<Vec<_>>(),
        vec![DeviceKind::ChargePoint]
    );
}

#[derive(Debug, Clone)]
enum Action {
    Command(Command),
    Plug(bool),
    Limit(f64),
    Wait(i64),
}

fn action() -> impl Strategy<Value = Action> {
    let window = (0i64..600, 1i64..240, -5_000i64..12_000)
        .prop_map(|(start, length, power_w)| (start, length, power_w));
    prop_oneof![
        (proptest::option::of(0i64..12_000))
            .prop_map(|power_limit_w| Action::Command(Command::Start { power_limit_w })),
        Just(Action::Command(Command::Stop)),
        Just(Action::Command(Command::TestCharge)),
        (0i64..12_000).prop_map(|power_w| Action::Command(Command::SetPowerLimit { power_w })),
        proptest::collection::vec(window, 0..4).prop_map(|windows| Action::Command(
            Command::Schedule {
                windows: windows
                    .into_iter()
                    .map(|(start, length, power_w)| ScheduleWindow {
                        start: t0() + mins(start),
                        end: t0() + mins(start + length),
                        power_w,
                        setpoint_c: None,
                    })
                    .collect()
            }
        )),
        any::<bool>().prop_map(Action::Plug),
        (0.0f64..100.0).prop_map(Action::Limit),
        (1i64..20_000).prop_map(Action::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn soc_stays_within_limits_and_meters_never_fall(
        actions in proptest::collection::vec(action(), 1..40),
        initial in 0.0f64..100.0,
        kind in 0usize..5,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let spec = match kind {
                0 => SimDeviceSpec { presence: Some(DailySchedule::commuter()), ..car(initial, 100.0) },
                1 => car(initial, 100.0),
                2 => SimDeviceSpec { battery_capacity_wh: Some(50_000), initial_soc_pct: Some(initial), ..SimDeviceSpec::new(DeviceKind::ChargePoint) },
                3 => SimDeviceSpec { initial_soc_pct: Some(initial), ..SimDeviceSpec::new(DeviceKind::Battery) },
                _ => SimDeviceSpec { battery_capacity_wh: Some(8_000), initial_soc_pct: Some(initial), ..SimDeviceSpec::new(DeviceKind::Inverter) },
            };
            let (sim, grant, id) = one(spec).await;
            let mut t = t0();
            let mut last = read(&sim, &grant, &id, t).await;
            for action in actions {
                match action {
                    Action::Command(command) => {
                let _ = sim.send(&grant, &id, &command, &key(), t).await;
            }
                    Action::Plug(plugged_in) => {
                let _ = sim.set_plugged_in(LOGIN, &id, plugged_in, t);
            }
                    Action::Limit(pct) => sim.set_soc_limit(LOGIN, &id, pct, t).unwrap(),
                    Action::Wait(seconds) => t += TimeDelta::seconds(seconds),
                }
                let reading = read(&sim, &grant, &id, t).await;
                let pct = soc(&reading);
                // Charging never passes the limit; lowering the limit below the charge drains nothing.
                let allowed = reading.soc_limit_pct.unwrap().max(soc(&last));
                prop_assert!((0.0..=allowed).contains(&pct), "{pct} outside [0, {allowed}]");
                prop_assert!(reading.energy_imported_wh >= last.energy_imported_wh);
                prop_assert!(reading.energy_exported_wh >= last.energy_exported_wh);
                last = reading;
            }
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn weeks_unread_are_caught_up() {
    let sim = SimulatorProvider::new("TESLA", 11);
    let (grant, devices) = connect(&sim, mixed_devices()).await;
    let later = t0() + TimeDelta::days(60);
    let mut readings = Vec::new();
    for device in &devices {
        readings.push(read(&sim, &grant, &device.remote_id, later).await);
    }
    let [vehicle, heat_pump, battery, inverter, charger] = readings.try_into().unwrap();
    // Nobody charged the commuter's car: 60 days of ~6 kWh trips empty it.
    assert_eq!(soc(&vehicle), 0.0);
    let indoor = heat_pump.indoor_temperature_c.unwrap();
    assert!((19.4..=20.6).contains(&indoor), "{indoor}");
    // About 2.25 kW of heat loss (20 °C in, 5 °C out) for 1,440 hours at a COP of about 3.2 (a
    // 42.5 °C flow on the weather curve): 1 MWh.
    assert!(
        (900_000..1_300_000).contains(&heat_pump.energy_imported_wh),
        "{}",
        heat_pump.energy_imported_wh
    );
    assert_eq!((soc(&battery), battery.energy_imported_wh), (50.0, 0));
    assert!(
        inverter.energy_exported_wh > 300_000 && inverter.energy_imported_wh > 300_000,
        "{inverter:?}"
    );
    assert_eq!(charger.energy_imported_wh, 0);
}

#[tokio::test]
async fn a_repeated_idempotency_key_is_carried_out_once() {
    let (sim, grant, id) = one(SimDeviceSpec::vehicle("Tesla", "Model 3", 60_000, 11_000)).await;
    let start = Command::Start {
        power_limit_w: None,
    };
    let first = sim.send(&grant, &id, &start, "same", t0()).await.unwrap();
    let again = sim
        .send(&grant, &id, &start, "same", t0() + mins(1))
        .await
        .unwrap();
    assert_eq!(first, again);
    let login = grant.subject.clone();
    assert_eq!(sim.commands_acknowledged(&login, &id).unwrap(), 1);
    sim.send(&grant, &id, &Command::Stop, "other", t0() + mins(2))
        .await
        .unwrap();
    assert_eq!(sim.commands_acknowledged(&login, &id).unwrap(), 2);
}

#[tokio::test]
async fn revoked_grants_expire_at_the_vendor() {
    let (sim, grant, id) = one(SimDeviceSpec::vehicle("Tesla", "Model 3", 60_000, 11_000)).await;
    sim.revoke_grants(&grant.subject);
    assert_eq!(
        sim.telemetry(&grant, &id, t0()).await,
        Err(ProviderError::AuthorisationExpired)
    );
}

#[tokio::test]
async fn the_forecast_is_what_the_world_then_does() {
    let (sim, grant, id) = one(SimDeviceSpec::new(DeviceKind::HeatPump)).await;
    let points = sim
        .forecast(&grant, &id, t0() + mins(10), t0() + mins(24 * 60), t0())
        .await
        .unwrap();
    // Half-hours from the one the start falls in, to the end.
    assert_eq!(points.len(), 48);
    assert_eq!(points[0].at, t0());
    assert!(points.windows(2).all(|w| w[1].at - w[0].at == mins(30)));
    // The outdoor temperature forecast for the middle of a half-hour is the one read then.
    for point in [&points[3], &points[30]] {
        let reading = read(&sim, &grant, &id, point.at + mins(15)).await;
        let read_c = reading.outdoor_temperature_c.unwrap();
        assert!(
            (point.outdoor_c.unwrap() - read_c).abs() < 0.05,
            "{point:?} vs {read_c}"
        );
    }
    // A heat pump's home has no panels of its own; the household's load is there all day.
    assert!(points.iter().all(|p| p.solar_w == Some(0.0)));
    assert!(
        points
            .iter()
            .all(|p| p.base_load_w.is_some_and(|w| w > 0.0))
    );
    // The same world forecasts the same again.
    let again = sim
        .forecast(&grant, &id, t0() + mins(10), t0() + mins(24 * 60), t0())
        .await
        .unwrap();
    assert_eq!(points, again);
}

#[tokio::test]
async fn an_inverter_forecasts_sun_by_day_only() {
    let (sim, grant, id) = one(SimDeviceSpec::new(DeviceKind::Inverter)).await;
    let points = sim
        .forecast(&grant, &id, t0(), t0() + mins(24 * 60), t0())
        .await
        .unwrap();
    let at = |hour: i64| points[(hour * 2) as usize].solar_w.unwrap();
    assert_eq!(at(2), 0.0);
    assert!(at(12) > 100.0, "{}", at(12));
    assert_eq!(at(22), 0.0);
    // A forecast is bounded whatever span is asked for.
    let long = sim
        .forecast(&grant, &id, t0(), t0() + mins(365 * 24 * 60), t0())
        .await
        .unwrap();
    assert_eq!(long.len(), 336);
}

#[tokio::test]
async fn hush_mode_caps_a_heat_pumps_power() {
    let spec = SimDeviceSpec {
        initial_indoor_c: Some(15.0),
        max_power_w: Some(3_000),
        ..SimDeviceSpec::new(DeviceKind::HeatPump)
    };
    let (sim, grant, id) = one(spec).await;
    send(
        &sim,
        &grant,
        &id,
        Command::Start {
            power_limit_w: None,
        },
        t0(),
    )
    .await;
    assert_eq!(read(&sim, &grant, &id, t0() + mins(1)).await.power_w, 3_000);
    send(
        &sim,
        &grant,
        &id,
        Command::SetHushMode { enabled: true },
        t0() + mins(1),
    )
    .await;
    assert_eq!(read(&sim, &grant, &id, t0() + mins(2)).await.power_w, 1_800);
    send(
        &sim,
        &grant,
        &id,
        Command::SetHushMode { enabled: false },
        t0() + mins(2),
    )
    .await;
    assert_eq!(read(&sim, &grant, &id, t0() + mins(3)).await.power_w, 3_000);
}

fn cold_house(mean_c: f64) -> SimDeviceSpec {
    SimDeviceSpec {
        initial_indoor_c: Some(15.0),
        outdoor: Some(OutdoorProfile {
            mean_c,
            daily_swing_c: 0.0,
        }),
        ..SimDeviceSpec::new(DeviceKind::HeatPump)
    }
}

/// Heat delivered per watt drawn, from a heat pump's reading.
fn cop_of(reading: &Telemetry) -> f64 {
    reading.heat_output_w.unwrap() as f64 / reading.power_w as f64
}

#[tokio::test]
async fn a_heat_pump_gives_less_heat_per_watt_in_the_cold_and_while_defrosting() {
    let mut cops = Vec::new();
    for mean in [14.0, 6.0, 0.0, -8.0] {
        let (sim, grant, id) = one(cold_house(mean)).await;
        let reading = read(&sim, &grant, &id, t0() + mins(5)).await;
        assert!(reading.active && reading.power_w > 0, "{reading:?}");
        assert!(reading.flow_temperature_c.unwrap() >= 30.0);
        cops.push(cop_of(&reading));
    }
    assert!(cops.windows(2).all(|w| w[0] > w[1]), "{cops:?}");
    assert!(cops.iter().all(|c| (1.0..=7.0).contains(c)), "{cops:?}");
    // A fixed, hotter flow costs efficiency.
    let (sim, grant, id) = one(cold_house(6.0)).await;
    let flow = resiflex_domain::heat::FlowTemperature {
        weather_compensation: false,
        flow_c: 55.0,
        ..Default::default()
    };
    send(&sim, &grant, &id, Command::SetFlowTemperature(flow), t0()).await;
    let reading = read(&sim, &grant, &id, t0() + mins(5)).await;
    assert_eq!(reading.flow_temperature_c, Some(55.0));
    assert!(
        cop_of(&reading) < cops[1],
        "{} vs {}",
        cop_of(&reading),
        cops[1]
    );
}

#[tokio::test]
async fn a_heat_pump_heats_to_a_windows_set_point() {
    let (sim, grant, id) = one(SimDeviceSpec {
        initial_indoor_c: Some(20.0),
        outdoor: Some(OutdoorProfile {
            mean_c: 5.0,
            daily_swing_c: 0.0,
        }),
        ..SimDeviceSpec::new(DeviceKind::HeatPump)
    })
    .await;
    let window = ScheduleWindow {
        start: t0(),
        end: t0() + mins(8 * 60),
        power_w: 3_000,
        setpoint_c: Some(22.0),
    };
    send(
        &sim,
        &grant,
        &id,
        Command::Schedule {
            windows: vec![window],
        },
        t0(),
    )
    .await;
    let reading = read(&sim, &grant, &id, t0() + mins(6 * 60)).await;
    let indoor = reading.indoor_temperature_c.unwrap();
    assert!(
        (21.5..=22.5).contains(&indoor),
        "heats to the window's 22 °C: {indoor}"
    );
}

#[tokio::test]
async fn devices_other_than_cars_are_known_by_their_serial_number() {
    let sim = SimulatorProvider::new("GIVENERGY", 3);
    let specs = vec![
        car(50.0, 100.0),
        SimDeviceSpec {
            make: "GivEnergy".into(),
            ..SimDeviceSpec::new(DeviceKind::Battery)
        },
        SimDeviceSpec {
            make: "ecobee".into(),
            ..SimDeviceSpec::new(DeviceKind::Thermostat)
        },
    ];
    let (_, devices) = connect(&sim, specs).await;
    let (label, vin) = super::identifier(&devices[0]);
    assert_eq!((label, Some(vin)), ("VIN", devices[0].vin.clone()));
    let (label, serial) = super::identifier(&devices[1]);
    assert_eq!(label, "Serial number");
    assert_eq!(serial, devices[1].remote_id);
    assert!(serial.starts_with("SA") && serial.len() == 12, "{serial}");
    assert!(
        devices[2].remote_id.starts_with("EB"),
        "{}",
        devices[2].remote_id
    );
    assert!(
        serial
            .chars()
            .all(|c| c.is_ascii_digit() || (c.is_ascii_uppercase() && !"IOQ".contains(c))),
        "{serial}"
    );
}

#[test]
fn a_login_keeps_the_password_of_its_first_sign_in() {
    use super::SignInError;
    let sim = SimulatorProvider::new("SENSI", 1);
    assert_eq!(sim.sign_in("eve", ""), Err(SignInError::Missing));
    let before = sim.session_ticket("eve", "state-1");
    assert_eq!(sim.sign_in("eve", "hunter2"), Ok(()));
    assert_eq!(sim.sign_in("eve", "hunter2"), Ok(()));
    assert_eq!(
        sim.sign_in("eve", "hunter3"),
        Err(SignInError::WrongPassword)
    );
    assert_eq!(sim.sign_in("bob", "other"), Ok(()), "logins are separate");
    let ticket = sim.session_ticket("eve", "state-1");
    assert_ne!(ticket, before, "the ticket depends on the password");
    assert_ne!(ticket, sim.session_ticket("eve", "state-2"));
    let restored =
        SimulatorProvider::restore("SENSI", 1, sim.snapshot()).expect("the world restores");
    assert_eq!(
        restored.sign_in("eve", "hunter3"),
        Err(SignInError::WrongPassword)
    );
}

#[test]
fn the_pairing_code_belongs_to_one_authorisation() {
    use super::SignInError;
    let sim = SimulatorProvider::new("ECOBEE", 1);
    let code = sim.pairing_code("state-1");
    assert_eq!(code.len(), 9, "{code}");
    assert_eq!(&code[4..5], "-");
    assert_eq!(sim.pairing_code("state-1"), code);
    assert_ne!(sim.pairing_code("state-2"), code);
    assert_eq!(
        sim.check_pairing_code("state-1", &code.to_lowercase().replace('-', " ")),
        Ok(())
    );
    assert_eq!(
        sim.check_pairing_code("state-2", &code),
        Err(SignInError::WrongCode)
    );
    assert_eq!(
        sim.check_pairing_code("state-1", " - "),
        Err(SignInError::Missing)
    );
}

#[test]
fn prepare_lists_the_devices_the_consent_will_keep() {
    let sim = SimulatorProvider::new("FORD", 2);
    let spec = SimDeviceSpec::vehicle("Ford", "Mustang Mach-E", 91_000, 11_000);
    let listed = sim.prepare("eve", vec![spec.clone()], t0());
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0]
            .vin
            .as_deref()
            .is_some_and(|vin| vin.starts_with("WF0"))
    );
    sim.approve("eve", vec![spec], t0());
    assert_eq!(sim.login_devices("eve"), Some(listed));
    let suggested = SimDeviceSpec::suggested("VP_NEST");
    assert_eq!(suggested[0].kind, DeviceKind::Thermostat);
    assert_eq!(suggested[0].make, "Google Nest");
}
