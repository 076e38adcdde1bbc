//! Stored fleets for the end-to-end re-planning benchmark: an organisation, one account on a
//! day-ahead tariff, and its devices with readings, inserted in bulk.
//!
//! - [`Fleet::Ev`]: every device a plugged-in car, all on one property.
//! - [`Fleet::Mixed`]: homes of every kind, one property each, in a repeating pattern of ten
//!   homes: one with a car, a heat pump and a battery behind one connection (planned jointly),
//!   five with a car, two with a heat pump, one with a battery and one with a hybrid inverter with
//!   solar panels and a battery (twelve devices).
//!
//! [`account`] is the benchmarks' customer, shared with `bench readings`.

use anyhow::Context as _;
use chrono::{DateTime, Duration as TimeDelta, Utc};
use resiflex_domain::device::{DeviceKind, Provider};
use resiflex_domain::tariff::{self, Tariff};
use resiflex_providers::{Connection, Telemetry};
use resiflex_store::Db;
use resiflex_store::devices::{self as store, Device};

/// Which fleet to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Fleet {
    /// Plugged-in cars only.
    Ev,
    /// Cars, heat pumps, batteries and inverters, some sharing a home.
    Mixed,
}

/// The kinds of the homes of one repetition of the mixed pattern.
const PATTERN: [&[DeviceKind]; 10] = [
    &[
        DeviceKind::ElectricVehicle,
        DeviceKind::HeatPump,
        DeviceKind::Battery,
    ],
    &[DeviceKind::ElectricVehicle],
    &[DeviceKind::ElectricVehicle],
    &[DeviceKind::ElectricVehicle],
    &[DeviceKind::ElectricVehicle],
    &[DeviceKind::ElectricVehicle],
    &[DeviceKind::HeatPump],
    &[DeviceKind::HeatPump],
    &[DeviceKind::Battery],
    &[DeviceKind::Inverter],
];

/// A small deterministic generator (xorshift), so every run stores the same fleet.
pub(crate) struct Draw(u64);

impl Draw {
    /// A generator from `seed` (xorshift never leaves zero, so zero starts elsewhere).
    pub(crate) fn new(seed: u64) -> Draw {
        Draw(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `[from, from + span)` in steps of 0.1.
    fn tenths(&mut self, from: f64, span: u64) -> f64 {
        from + (self.next() % (span * 10)) as f64 / 10.0
    }
}

/// The benchmarks' customer: an organisation, one account in London and its first property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchAccount {
    pub account_id: i64,
    pub property_id: i64,
}

/// Stores the benchmarks' organisation and customer account (with its first property).
pub async fn account(db: &Db, now: DateTime<Utc>) -> anyhow::Result<BenchAccount> {
    use resiflex_store::accounts::{self, NewAddress, NewShellAccount};
    use resiflex_store::identity::{self, NewUser};
    let org = identity::create_organisation(db, "Bench", "RESIFLEX_LIVE", "bench", now).await?;
    let account = accounts::create_shell_account(
        db,
        &NewShellAccount {
            organisation_id: org.id,
            status: "ACTIVE",
            account_type: "DOMESTIC",
            brand_code: "RESIFLEX_LIVE",
            user: NewUser {
                email: "bench@example.com",
                given_name: "Bench",
                family_name: "Mark",
                preferred_name: None,
                mobile: None,
                password_hash: None,
            },
            address: NewAddress {
                country: "GB",
                time_zone: "Europe/London",
                ..NewAddress::default()
            },
            reference: None,
        },
        now,
    )
    .await?
    .account;
    let first_property = accounts::properties_of_account(db, account.id)
        .await?
        .into_iter()
        .next()
        .context("the account has no property")?;
    Ok(BenchAccount {
        account_id: account.id,
        property_id: first_property.id,
    })
}

/// Stores `count` devices of `fleet`.
pub async fn seed(db: &Db, fleet: Fleet, count: usize) -> anyhow::Result<()> {
    use resiflex_store::accounts;
    let now = Utc::now();
    let BenchAccount {
        account_id,
        property_id: first_property_id,
    } = account(db, now).await?;
    let tariff = Tariff {
        code: "BENCH-AGILE".into(),
        name: "Bench day-ahead".into(),
        currency: "GBP".into(),
        time_zone: "Europe/London".into(),
        slot_minutes: 30,
    };
    let today = now.date_naive();
    let rates = tariff::generate_day_ahead(&tariff, today - TimeDelta::days(1), 4, 7)
        .map_err(|e| anyhow::anyhow!("generating prices: {e}"))?;
    let imported = resiflex_store::tariffs::import_rates(db, &tariff, None, &rates, now).await?;
    resiflex_store::tariffs::assign_tariff_to_account(
        db,
        account_id,
        imported.tariff.id,
        now - TimeDelta::days(1),
        now,
    )
    .await?;
    // Which kind goes to which property.
    let mut homes: Vec<(i64, DeviceKind)> = Vec::with_capacity(count);
    match fleet {
        Fleet::Ev => {
            homes.extend((0..count).map(|_| (first_property_id, DeviceKind::ElectricVehicle)))
        }
        Fleet::Mixed => {
            let per_pattern: usize = PATTERN.iter().map(|home| home.len()).sum();
            let properties = (count * PATTERN.len()).div_ceil(per_pattern);
            let mut ids = vec![first_property_id];
            ids.extend(
                accounts::add_properties(
                    db,
                    account_id,
                    properties.saturating_sub(1),
                    "GB",
                    "Europe/London",
                    now,
                )
                .await?,
            );
            'homes: for (index, property) in ids.iter().enumerate() {
                for kind in PATTERN[index % PATTERN.len()] {
                    if homes.len() == count {
                        break 'homes;
                    }
                    homes.push((*property, *kind));
                }
            }
        }
    }
    let mut draw = Draw(0x9E37_79B9_7F4A_7C15);
    let mut devices = Vec::with_capacity(count);
    let mut readings = Vec::with_capacity(count);
    for (index, (property_id, kind)) in homes.into_iter().enumerate() {
        let id = format!("bench-{index:07}");
        let (device, reading) = device(&id, account_id, property_id, kind, &mut draw, now)?;
        devices.push(device);
        readings.push((id, reading));
    }
    for chunk in devices.chunks(10_000) {
        store::insert_devices(db, chunk).await?;
    }
    for chunk in readings.chunks(10_000) {
        resiflex_store::telemetry::save_latest_many(db, chunk).await?;
    }
    Ok(())
}

/// One stored device of `kind` with its latest reading.
fn device(
    id: &str,
    account_id: i64,
    property_id: i64,
    kind: DeviceKind,
    draw: &mut Draw,
    now: DateTime<Utc>,
) -> anyhow::Result<(Device, Telemetry)> {
    let base = Telemetry {
        connection: Connection::Online,
        plugged_in: None,
        at_home: None,
        state_of_charge_pct: None,
        ..Telemetry::vehicle_at_home(now, 0.0)
    };
    let (provider, capacity, power, reading) = match kind {
        DeviceKind::ElectricVehicle | DeviceKind::ChargePoint => {
            let capacity = [40_000, 57_500, 77_000, 100_000][(draw.next() % 4) as usize];
            let power = [3_700, 7_400, 11_000][(draw.next() % 3) as usize];
            let soc = draw.tenths(10.0, 60);
            let reading = Telemetry {
                connection: Connection::Online,
                soc_limit_pct: Some(100.0),
                ..Telemetry::vehicle_at_home(now, soc)
            };
            (Provider::Tesla, Some(capacity), power, reading)
        }
        DeviceKind::HeatPump | DeviceKind::Thermostat => {
            let reading = Telemetry {
                indoor_temperature_c: Some(draw.tenths(19.0, 2)),
                outdoor_temperature_c: Some(draw.tenths(2.0, 8)),
                target_temperature_c: Some(20.0),
                ..base
            };
            (
                Provider::Daikin,
                None,
                [2_000, 3_000, 4_000][(draw.next() % 3) as usize],
                reading,
            )
        }
        DeviceKind::Battery => {
            let reading = Telemetry {
                state_of_charge_pct: Some(draw.tenths(20.0, 60)),
                ..base
            };
            (Provider::TeslaV2, Some(13_500), 5_000, reading)
        }
        DeviceKind::Inverter => {
            let reading = Telemetry {
                state_of_charge_pct: Some(draw.tenths(20.0, 60)),
                solar_power_w: Some((draw.next() % 4_000) as i64),
                site_consumption_w: Some(300 + (draw.next() % 700) as i64),
                ..base
            };
            (Provider::Givenergy, Some(9_500), 5_000, reading)
        }
    };
    let device = Device {
        name: format!("Bench {}", kind.as_str()),
        make: "Bench".into(),
        model: kind.as_str().into(),
        battery_capacity_wh: capacity,
        max_power_w: Some(power),
        ..Device::live(
            id,
            (account_id, property_id),
            kind,
            provider,
            format!("remote-{id}"),
            now,
        )
    };
    Ok((device, reading))
}

/// A benchmark's database: `database`, or a new SQLite file in a temporary folder (kept while the
/// returned folder lives), migrated.
pub async fn open_database(
    database: Option<String>,
) -> anyhow::Result<(resiflex_store::Db, tempfile::TempDir)> {
    use anyhow::Context as _;
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let url =
        database.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let db = resiflex_store::Db::connect(&url, &resiflex_store::DbOptions::default())
        .await
        .with_context(|| format!("opening {}", resiflex_store::redact_url(&url)))?;
    db.migrate().await.context("migrating")?;
    Ok((db, dir))
}
