//! `resiflex serve --demo`: a ready-made household to watch smart control on. A demo organisation, an
//! account whose user signs in with a password or a personal API key, and on its property four
//! simulated devices, registered exactly as the onboarding wizard registers them: an electric vehicle
//! plugged in at 40 % (the default preference asks for 80 % by 07:30), a charge point, a heat pump and
//! a home battery. The property is on a dynamic tariff whose day-ahead prices are generated for today
//! and the next days by the server's clock, and topped up while the demo runs.
//!
//! The account has money to show as well (see [`money`]): the last complete month billed from the
//! smart meter's readings, its statement issued on the 1st, and a direct debit collecting a fixed
//! amount on the 1st of every month.
//!
//! Everything is idempotent: a second start on the same database finds and reuses all of it. The
//! demo's secrets are kept in the server's secret store, so every start prints the same credentials;
//! their hashes are put back in place if someone changed them.

pub mod money;

use std::time::Duration as StdDuration;

use anyhow::{Context as _, anyhow, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use resiflex_api::auth::credentials::{self, LIVE_KEY_PREFIX};
use resiflex_api::enums::{AccountTypeChoices, BrandChoices};
use resiflex_api::sandbox::{self, SandboxConsent as _};
use resiflex_devices::registration::{self, NewDevice};
use resiflex_domain::catalogue::Catalogue;
use resiflex_domain::device::{Lifecycle, Provider};
use resiflex_domain::wizard::FoundDevice;
use resiflex_domain::{AccountStatus, Country, SharedClock};
use resiflex_providers::DeviceProvider;
use resiflex_providers::simulator::SimDeviceSpec;
use resiflex_store::accounts::{self, NewAddress, NewShellAccount};
use resiflex_store::identity::{self, NewUser};
use resiflex_store::{Db, devices, secrets, tariffs};
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::prices::{self, TariffOptions};
use crate::providers::Sandbox;
use crate::server::Server;

/// The demo user's email.
pub const EMAIL: &str = "demo@example.com";
/// The demo organisation's name.
pub const ORGANISATION_NAME: &str = "ResiFlex Demo Energy";
/// The dynamic tariff the demo property is on.
pub const TARIFF_CODE: &str = "RESIFLEX-DEMO-AGILE";
const TARIFF_NAME: &str = "ResiFlex Demo Agile";
/// The product the demo tariff's rates are sold as (public at `/v1/products/`).
pub const PRODUCT_CODE: &str = "RESIFLEX-AGILE-26-01-01";
/// The demo product's region (GSP group `_C`, London).
const PRODUCT_REGION: char = 'C';
/// The demo property's electricity meter point and its smart meter.
pub const MPAN: &str = "1200023305967";
pub const METER_SERIAL: &str = "21L4380212";
const SMART_DEVICE_ID: &str = "00-1A-2B-FF-FF-3C-4D-5E";
const PRICE_SEED: u64 = 1;
/// The household's base load on the smart meter follows this seed.
const METER_SEED: u64 = 7;
/// The demo's smart meter readings and prices reach back at least this many days, and always to
/// the 1st of the month before the current one (see [`money::history_start`]).
pub const READINGS_HISTORY_DAYS: u32 = 3;
const BRAND: BrandChoices = BrandChoices::ResiflexLive;
/// The organisation's reference for the demo account, which makes creating it idempotent.
const REFERENCE: (&str, &str) = ("resiflex-demo", "demo-household");
/// The login at the simulated vendors that holds the demo devices.
const VENDOR_LOGIN: &str = "resiflex-demo";
const COUNTRY: &str = "GB";

const ORGANISATION_KEY_SECRET: &str = "demo_organisation_secret_key";
const API_KEY_SECRET: &str = "demo_api_key";
const PASSWORD_SECRET: &str = "demo_password";

/// How often, in the server's clock time, the tariff's horizon is checked.
const TOP_UP_EVERY_MINUTES: u64 = 15;

/// One demo device: the catalogue entry, the simulated vendor behind it, and how its simulation
/// differs from the entry's defaults.
struct DemoDevice {
    catalogue_id: &'static str,
    provider: Provider,
    initial_soc_pct: Option<f64>,
}

const DEVICES: [DemoDevice; 4] = [
    // At home and plugged in (no daily routine), at a realistic state of charge.
    DemoDevice {
        catalogue_id: "ev-tesla-model-3-rwd-2021",
        provider: Provider::Tesla,
        initial_soc_pct: Some(40.0),
    },
    DemoDevice {
        catalogue_id: "cp-myenergi-zappi-v2-7kw",
        provider: Provider::Myenergi,
        initial_soc_pct: None,
    },
    DemoDevice {
        catalogue_id: "hp-daikin-altherma-3-r-8kw",
        provider: Provider::Daikin,
        initial_soc_pct: None,
    },
    DemoDevice {
        catalogue_id: "bat-tesla-powerwall-2",
        provider: Provider::TeslaV2,
        initial_soc_pct: Some(30.0),
    },
];

/// What a person or a script needs to use the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub account_number: String,
    pub email: String,
    pub password: String,
    pub api_key: String,
    pub organisation_secret_key: String,
}

/// The demo, as found or created.
#[derive(Debug, Clone)]
pub struct Demo {
    pub credentials: Credentials,
    pub organisation_id: i64,
    pub account_id: i64,
    /// The demo household, with its smart meter.
    pub property_id: i64,
    /// The ids of the demo devices, in the order EV, charge point, heat pump, battery.
    pub device_ids: Vec<String>,
    /// The property's time zone, which the tariff follows.
    pub time_zone: String,
    /// The account's balance over all its ledgers at start, in pence (positive in credit).
    pub balance: i64,
}

/// The demo's secrets, generated once and kept in the server's secret store.
async fn demo_secrets(db: &Db, now: DateTime<Utc>) -> anyhow::Result<(String, String, String)> {
    let organisation_key = format!(
        "{LIVE_KEY_PREFIX}{}",
        secrets::get_or_create(db, ORGANISATION_KEY_SECRET, now).await?
    );
    let api_key = format!(
        "{LIVE_KEY_PREFIX}{}",
        secrets::get_or_create(db, API_KEY_SECRET, now).await?
    );
    // Twenty characters of 32 random bytes in base64: about 120 bits, short enough to type.
    let password: String = secrets::get_or_create(db, PASSWORD_SECRET, now)
        .await?
        .chars()
        .take(20)
        .collect();
    Ok((organisation_key, api_key, password))
}

/// The demo organisation: the one behind the demo account, else the one holding the demo key, else a
/// new one. Its secret key hash is set to the demo key's if it differs.
async fn organisation(db: &Db, key_hash: &str, now: DateTime<Utc>) -> anyhow::Result<i64> {
    let mut found = None;
    if let Some(user) = identity::user_by_email(db, EMAIL).await? {
        for account in accounts::accounts_of_user(db, user.id).await? {
            let demo = accounts::account_by_reference(
                db,
                account.organisation_id,
                REFERENCE.0,
                REFERENCE.1,
            )
            .await?;
            if demo.is_some_and(|demo| demo.id == account.id) {
                found = Some(account.organisation_id);
                break;
            }
        }
    }
    if found.is_none() {
        found = identity::organisation_by_key_hash(db, key_hash)
            .await?
            .map(|org| org.id);
    }
    let id = match found {
        Some(id) => id,
        None => {
            let org =
                identity::create_organisation(db, ORGANISATION_NAME, BRAND.as_str(), key_hash, now)
                    .await?;
            tracing::info!(organisation = org.id, "demo organisation created");
            org.id
        }
    };
    let holder = identity::organisation_by_key_hash(db, key_hash).await?;
    if holder.as_ref().map(|org| org.id) != Some(id) {
        if holder.is_some() {
            bail!("the demo organisation key belongs to another organisation");
        }
        identity::rotate_organisation_key(db, id, key_hash, now).await?;
    }
    Ok(id)
}

/// Makes the demo user's password and API key the demo's, if they are not already.
async fn user_credentials(
    db: &Db,
    user: &identity::AccountUser,
    password: &str,
    api_key_hash: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let stored = user.password_hash.clone();
    let attempt = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || {
        stored.is_some() && credentials::verify_password(&attempt, stored.as_deref())
    })
    .await?;
    if !matches {
        let password = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || credentials::hash_password(&password))
            .await?
            .map_err(|e| anyhow!("hashing the demo password: {e}"))?;
        identity::set_password_hash(db, user.id, &hash, now).await?;
    }
    let holder = identity::user_by_api_key_hash(db, api_key_hash).await?;
    if holder.map(|holder| holder.id) != Some(user.id) {
        identity::set_api_key(db, user.id, api_key_hash, now).await?;
    }
    Ok(())
}

/// The simulated device behind a demo device.
fn spec(catalogue: &Catalogue, device: &DemoDevice) -> anyhow::Result<SimDeviceSpec> {
    let entry = catalogue
        .entry(device.catalogue_id)
        .with_context(|| format!("the catalogue has no {}", device.catalogue_id))?;
    let mut spec = sandbox::device_spec(catalogue, entry);
    spec.initial_soc_pct = device.initial_soc_pct;
    Ok(spec)
}

/// Registers one demo device at the simulated vendor and on the property, the way the onboarding
/// wizard does: consent at the vendor, a grant, the device record, then the registration step.
async fn register(
    db: &Db,
    sandbox: &Sandbox,
    catalogue: &Catalogue,
    account: &accounts::Account,
    property_id: i64,
    device: &DemoDevice,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let spec = spec(catalogue, device)?;
    let kind = spec.kind;
    let simulator = sandbox
        .simulator(device.provider.as_str())
        .with_context(|| format!("no simulated cloud for {}", device.provider))?;
    let code = sandbox
        .approve(device.provider.as_str(), VENDOR_LOGIN, vec![spec], now)
        .await?;
    let grant = simulator.complete_authorization(&code, now).await?;
    let remote = simulator.devices(&grant, now).await?;
    let mut found = None;
    for candidate in remote.into_iter().filter(|d| d.kind == kind) {
        match devices::live_device_by_integration_id(db, device.provider, &candidate.remote_id)
            .await?
        {
            None => {
                found = Some(candidate);
                break;
            }
            Some(other) if other.account_id != account.id => {
                bail!(
                    "the simulated {} {} is registered on another account",
                    device.provider,
                    candidate.remote_id
                );
            }
            Some(_) => {}
        }
    }
    let remote = found.with_context(|| {
        format!(
            "the simulated {} login has no unregistered {}",
            device.provider,
            kind.as_str()
        )
    })?;
    let stored_grant = devices::insert_grant(
        db,
        account.id,
        device.provider,
        &grant.subject,
        &grant.secret,
        now,
    )
    .await?;
    let found = FoundDevice {
        remote_id: remote.remote_id,
        kind: remote.kind,
        make: remote.make,
        model: remote.model,
        vin: remote.vin,
    };
    let mut record = registration::device_record(
        catalogue,
        NewDevice {
            account_id: account.id,
            property_id,
            provider: device.provider,
            grant_id: Some(stored_grant.id),
            found: &found,
            entry: catalogue.entry(device.catalogue_id),
            vin: None,
        },
        now,
    );
    devices::insert_device(db, &record).await?;
    let reading =
        resiflex_devices::telemetry::read_through(db, simulator.as_ref(), &record, now).await?;
    registration::go_live(&mut record, reading.as_ref(), now)?;
    let record = devices::update_device(db, &record).await?;
    tracing::info!(device = %record.id, kind = kind.as_str(), provider = %device.provider, state = %record.state, "demo device registered");
    Ok(record.id)
}

/// Finds or creates everything the demo needs, by the server's clock time `now`.
pub async fn prepare(db: &Db, sandbox: &Sandbox, now: DateTime<Utc>) -> anyhow::Result<Demo> {
    let (organisation_key, api_key, password) = demo_secrets(db, now).await?;
    let organisation_id =
        organisation(db, &credentials::hash_secret(&organisation_key), now).await?;
    let country = Country::from_code(COUNTRY).context("the demo country")?;
    let shell = accounts::create_shell_account(
        db,
        &NewShellAccount {
            organisation_id,
            status: AccountStatus::Active.as_str(),
            account_type: AccountTypeChoices::Domestic.as_str(),
            brand_code: BRAND.as_str(),
            user: NewUser {
                email: EMAIL,
                given_name: "Ada",
                family_name: "Lovelace",
                preferred_name: None,
                mobile: None,
                password_hash: None,
            },
            address: NewAddress {
                street_address: Some("1 Demo Street"),
                locality: Some("London"),
                administrative_area: None,
                postal_code: Some("SW1A 1AA"),
                country: country.code,
                time_zone: country.default_time_zone,
            },
            reference: Some(REFERENCE),
        },
        now,
    )
    .await
    .context(
        "creating the demo account (is demo@example.com a customer of another organisation?)",
    )?;
    let account = shell.account;
    if shell.created {
        tracing::info!(account = %account.number, "demo account created");
    }
    let user = accounts::users_of_account(db, account.id)
        .await?
        .into_iter()
        .find(|user| user.email == EMAIL)
        .context("the demo account has no demo user")?;
    user_credentials(
        db,
        &user,
        &password,
        &credentials::hash_secret(&api_key),
        now,
    )
    .await?;
    let property = accounts::properties_of_account(db, account.id)
        .await?
        .into_iter()
        .next()
        .context("the demo account has no property")?;

    let catalogue = Catalogue::get()?;
    let registered = devices::devices_of_account(db, account.id).await?;
    let mut device_ids = Vec::new();
    for device in &DEVICES {
        let existing = registered.iter().find(|d| {
            d.provider == device.provider
                && d.catalogue_id.as_deref() == Some(device.catalogue_id)
                && d.lifecycle != Lifecycle::Retired
        });
        let id = match existing {
            Some(existing) => existing.id.clone(),
            None => register(db, sandbox, catalogue, &account, property.id, device, now)
                .await
                .with_context(|| format!("registering the demo {}", device.catalogue_id))?,
        };
        device_ids.push(id);
    }

    let zone: chrono_tz::Tz = property
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Europe::London);
    let today = now.with_timezone(&zone).date_naive();
    let history_from = money::history_start(today);
    let history_days = u32::try_from((today - history_from).num_days())
        .unwrap_or(READINGS_HISTORY_DAYS)
        .max(READINGS_HISTORY_DAYS);
    let options = TariffOptions {
        name: Some(TARIFF_NAME.to_owned()),
        time_zone: Some(property.time_zone.clone()),
        slot_minutes: None,
    };
    prices::top_up_day_ahead(
        db,
        TARIFF_CODE,
        &options,
        Some(organisation_id),
        PRICE_SEED,
        history_days,
        now,
    )
    .await
    .context("generating the demo prices")?;
    let on_sale_since = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    resiflex_energy::products::save_sandbox_product(
        db,
        Some(organisation_id),
        PRODUCT_CODE,
        TARIFF_CODE,
        PRODUCT_REGION,
        on_sale_since.min(now),
        now,
    )
    .await
    .map_err(|e| anyhow::anyhow!("the demo product: {e}"))?;
    supply(db, property.id, on_sale_since.min(now), now)
        .await
        .context("the demo's meter point")?;
    let readings_from = money::local_start(zone, history_from)
        .unwrap_or(now)
        .min(now - chrono::Duration::days(i64::from(READINGS_HISTORY_DAYS)));
    resiflex_energy::readings::sandbox::record_smart_meters(
        db,
        property.id,
        zone,
        readings_from,
        now,
        METER_SEED,
    )
    .await
    .map_err(|e| anyhow::anyhow!("the demo's smart meter readings: {e}"))?;
    let tariff = tariffs::tariff_by_code(db, TARIFF_CODE)
        .await?
        .context("the demo tariff")?;
    let on_tariff = tariffs::tariff_of_property(db, property.id, now).await?;
    if on_tariff.is_none_or(|current| current.tariff.id != tariff.id) {
        // From the start of the current slot.
        let first = tariffs::rates_between(db, tariff.id, now, now + chrono::Duration::minutes(1))
            .await?
            .first()
            .map_or(now, |rate| rate.valid_from);
        tariffs::assign_tariff_to_account(db, account.id, tariff.id, first, now).await?;
    }
    let money = money::prepare(db, &account, zone, now)
        .await
        .context("the demo's bills and payments")?;

    Ok(Demo {
        credentials: Credentials {
            account_number: account.number,
            email: EMAIL.to_owned(),
            password,
            api_key,
            organisation_secret_key: organisation_key,
        },
        organisation_id,
        account_id: account.id,
        property_id: property.id,
        device_ids,
        time_zone: property.time_zone,
        balance: money.balance,
    })
}

/// The one JSON line a script reads: `{"demo": {...}}`.
pub fn json_line(demo: &Demo, graphql_url: &str) -> serde_json::Value {
    let c = &demo.credentials;
    json!({"demo": {
        "accountNumber": c.account_number,
        "email": c.email,
        "password": c.password,
        "apiKey": c.api_key,
        "organisationSecretKey": c.organisation_secret_key,
        "graphqlUrl": graphql_url,
    }})
}

/// The block a person reads.
pub fn banner(demo: &Demo, graphql_url: &str, speed: f64, now: DateTime<Utc>) -> String {
    let c = &demo.credentials;
    let at = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    let (clock, token_life) = if speed == 1.0 {
        (format!("{at} (real time)"), "60 minutes".to_owned())
    } else {
        (
            format!("{at}, running {speed} times faster than real time"),
            format!(
                "60 minutes of the server's clock, {:.0} seconds of real time",
                3600.0 / speed
            ),
        )
    };
    format!(
        "\n\
         ResiFlex demo: an EV plugged in at 40 %, a charge point, a heat pump and a home battery,\n\
         on a dynamic tariff ({TARIFF_CODE}, sold as {PRODUCT_CODE}).\n\
         \n\
         \x20 GraphiQL           {graphql_url}\n\
         \x20 account            {account}\n\
         \x20 email              {email}\n\
         \x20 password           {password}\n\
         \x20 API key            {api_key}\n\
         \x20 organisation key   {org_key}\n\
         \x20 clock              {clock}\n\
         \x20 balance            {balance}\n\
         \x20 products (REST)    {rest_url}/v1/products/{PRODUCT_CODE}/\n\
         \n\
         Sign in with the API key and list the devices (a token lasts {token_life}):\n\
         \n\
         \x20 TOKEN=$(curl -s {graphql_url} -H 'content-type: application/json' \\\n\
         \x20   -d '{{\"query\": \"mutation {{ obtainKrakenToken(input: {{APIKey: \\\"{api_key}\\\"}}) {{ token }} }}\"}}' \\\n\
         \x20   | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"data\"][\"obtainKrakenToken\"][\"token\"])')\n\
         \x20 curl -s {graphql_url} -H 'content-type: application/json' -H \"Authorization: JWT $TOKEN\" \\\n\
         \x20   -d '{{\"query\": \"{{ devices(accountNumber: \\\"{account}\\\") {{ id name deviceType status {{ current currentState }} }} }}\"}}'\n",
        account = c.account_number,
        email = c.email,
        password = c.password,
        api_key = c.api_key,
        org_key = c.organisation_secret_key,
        balance = balance_text(demo.balance),
        rest_url = graphql_url
            .trim_end_matches('/')
            .trim_end_matches("/v1/graphql"),
    )
}

/// A balance as a person reads it: `£12.34 in credit` or `£12.34 owed`.
fn balance_text(pence: i64) -> String {
    let whole = pence.unsigned_abs();
    let side = if pence < 0 { "owed" } else { "in credit" };
    format!("£{}.{:02} {side}", whole / 100, whole % 100)
}

/// Keeps the demo tariff's prices at least a day and a half ahead of the server's clock, checking
/// every quarter of an hour of clock time, until `shutdown` changes or its sender goes.
pub fn spawn_price_top_up(
    db: Db,
    demo: &Demo,
    clock: SharedClock,
    speed: f64,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let options = TariffOptions {
        name: Some(TARIFF_NAME.to_owned()),
        time_zone: Some(demo.time_zone.clone()),
        slot_minutes: None,
    };
    let owner = Some(demo.organisation_id);
    let property_id = demo.property_id;
    let zone: chrono_tz::Tz = demo.time_zone.parse().unwrap_or(chrono_tz::Europe::London);
    let period = StdDuration::try_from_secs_f64((TOP_UP_EVERY_MINUTES * 60) as f64 / speed)
        .unwrap_or(StdDuration::from_secs(TOP_UP_EVERY_MINUTES * 60))
        .max(StdDuration::from_millis(500));
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(period) => {}
                _ = shutdown.changed() => break,
            }
            let now = clock.now();
            // The smart meter's readings of the half-hours just completed.
            if let Err(err) = resiflex_energy::readings::sandbox::record_smart_meters(
                &db,
                property_id,
                zone,
                now - chrono::Duration::hours(2),
                now,
                METER_SEED,
            )
            .await
            {
                tracing::warn!(error = %err, "recording the demo's smart meter failed");
            }
            match prices::top_up_day_ahead(&db, TARIFF_CODE, &options, owner, PRICE_SEED, 0, now)
                .await
            {
                Ok(0) => {}
                Ok(days) => tracing::info!(days, tariff = TARIFF_CODE, "demo prices topped up"),
                Err(err) => tracing::warn!(error = %err, "topping up the demo prices failed"),
            }
        }
    })
}

/// Prepares the demo on the built server, prints its credentials (a block for people on standard
/// error, one JSON line on standard output), then serves until `shutdown` completes while the demo's
/// prices are kept topped up.
pub async fn serve(
    server: Server,
    config: &Config,
    clock: SharedClock,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let demo = prepare(server.db(), &server.sandbox, clock.now())
        .await
        .context("preparing the demo")?;
    let base = match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", server.local_addr()?),
    };
    let graphql_url = format!("{base}/v1/graphql/");
    eprintln!(
        "{}",
        banner(&demo, &graphql_url, config.clock_speed, clock.now())
    );
    println!("{}", json_line(&demo, &graphql_url));
    let (stop, stopped) = watch::channel(false);
    let top_up = spawn_price_top_up(
        server.db().clone(),
        &demo,
        clock,
        config.clock_speed,
        stopped,
    );
    let served = server
        .run(async move {
            shutdown.await;
            let _ = stop.send(true);
        })
        .await;
    top_up.abort();
    let _ = top_up.await;
    served
}

/// The demo property's import meter point with its smart meter, on the demo product since
/// `since` (added once; a second run finds them).
async fn supply(
    db: &Db,
    property_id: i64,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    use resiflex_energy::supply::{self, MeterDocument, MeterPointDocument};
    let document = MeterPointDocument {
        mpan: Some(MPAN.to_owned()),
        mprn: None,
        direction: "IMPORT".to_owned(),
        meters: vec![MeterDocument {
            serial_number: METER_SERIAL.to_owned(),
            smart_device_id: Some(SMART_DEVICE_ID.to_owned()),
            active_from: since,
            active_to: None,
        }],
    };
    supply::save_meter_point(db, property_id, &document, now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let tariff = format!("E-1R-{PRODUCT_CODE}-{PRODUCT_REGION}");
    let on_it = supply::supply_of_property(db, property_id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .iter()
        .any(|s| s.agreements.iter().any(|a| a.tariff_code == tariff));
    if !on_it {
        supply::agree(
            db,
            None,
            resiflex_domain::product::Fuel::Electricity,
            MPAN,
            &tariff,
            resiflex_domain::product::PaymentMethod::DirectDebitMonthly,
            since,
            None,
            now,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use resiflex_domain::device::DeviceKind;

    #[test]
    fn the_demo_devices_are_in_the_catalogue_with_their_vendor() {
        let catalogue = Catalogue::get().unwrap();
        let kinds: Vec<DeviceKind> = DEVICES
            .iter()
            .map(|device| {
                let entry = catalogue.entry(device.catalogue_id).unwrap();
                assert!(
                    entry.supported_by(device.provider),
                    "{}",
                    device.catalogue_id
                );
                assert!(
                    crate::providers::simulated_providers().any(|p| p == device.provider),
                    "{} is simulated",
                    device.provider
                );
                spec(catalogue, device).unwrap().kind
            })
            .collect();
        assert_eq!(
            kinds,
            [
                DeviceKind::ElectricVehicle,
                DeviceKind::ChargePoint,
                DeviceKind::HeatPump,
                DeviceKind::Battery
            ]
        );
    }
}
