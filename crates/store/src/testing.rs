//! Fresh databases for tests. With `TEST_DATABASE_URL` set to a PostgreSQL URL, every [`TestDb`] is a new
//! schema in that database; otherwise it is a new SQLite file in a temporary folder. Either way it is
//! migrated and empty, so tests never see each other's rows.

#![allow(clippy::expect_used, clippy::panic)] // Test support: failing loudly is the point.

use rand::Rng as _;
use resiflex_domain::device::Provider;

use crate::secrets::{KeyRing, MasterKey};
use crate::{Db, DbOptions};

/// The master key every test database's secrets are sealed with (give it to a server under test as
/// its `RESIFLEX_MASTER_KEY`).
pub const TEST_MASTER_KEY: &str = "cmVzaWZsZXgtdGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGU";

/// The key ring of [`TEST_MASTER_KEY`].
pub fn test_keys() -> KeyRing {
    KeyRing::new(
        MasterKey::from_text(TEST_MASTER_KEY).expect("the test master key is 32 bytes"),
        Vec::new(),
    )
}

/// A migrated, empty database that lives as long as this value.
#[derive(Debug)]
pub struct TestDb {
    pub db: Db,
    /// The URL the server under test should be given.
    pub url: String,
    /// The options that open this database again (they carry the PostgreSQL schema).
    pub options: DbOptions,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// Creates and migrates a fresh database. Panics on failure: it is for tests only.
    pub async fn new() -> TestDb {
        let suffix: u64 = rand::rng().random();
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
        {
            Some(base) => {
                let schema = format!("test_{suffix:016x}");
                let admin = Db::connect(
                    &base,
                    &DbOptions {
                        max_connections: 1,
                        ..DbOptions::default()
                    },
                )
                .await
                .expect("connect to TEST_DATABASE_URL");
                crate::on_db!(&admin, |pool| sqlx::query(&format!(
                    "CREATE SCHEMA {schema}"
                ))
                .execute(pool)
                .await
                .expect("create test schema")
                .rows_affected());
                admin.close().await;
                let options = DbOptions {
                    max_connections: 8,
                    pg_schema: Some(schema),
                    ..DbOptions::default()
                };
                let db = Db::connect(&base, &options)
                    .await
                    .expect("connect to the test schema")
                    .with_secret_keys(test_keys());
                db.migrate().await.expect("migrate");
                TestDb {
                    db,
                    url: base,
                    options,
                    _dir: None,
                }
            }
            None => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let url = format!(
                    "sqlite://{}",
                    dir.path().join(format!("test-{suffix:016x}.db")).display()
                );
                let options = DbOptions::default();
                let db = Db::connect(&url, &options)
                    .await
                    .expect("open SQLite")
                    .with_secret_keys(test_keys());
                db.migrate().await.expect("migrate");
                TestDb {
                    db,
                    url,
                    options,
                    _dir: Some(dir),
                }
            }
        }
    }

    /// Opens a second, independent pool on the same database, as a restarted server would.
    pub async fn reopen(&self) -> Db {
        let db = Db::connect(&self.url, &self.options)
            .await
            .expect("reopen")
            .with_secret_keys(test_keys());
        db.migrate().await.expect("migrations are idempotent");
        db
    }
}

/// An organisation with one customer account and its property in London.
#[derive(Debug, Clone)]
pub struct Household {
    pub organisation_id: i64,
    pub account_id: i64,
    pub account_number: String,
    pub property_id: i64,
}

/// Creates a [`Household`] for the customer `email` at `now`.
pub async fn household(db: &Db, email: &str, now: chrono::DateTime<chrono::Utc>) -> Household {
    use crate::accounts::{self, NewAddress, NewShellAccount};
    use crate::identity::{self, NewUser};
    let org = identity::create_organisation(db, "Fixture", "RESIFLEX_LIVE", email, now)
        .await
        .expect("organisation");
    let account = accounts::create_shell_account(
        db,
        &NewShellAccount {
            organisation_id: org.id,
            status: "ACTIVE",
            account_type: "DOMESTIC",
            brand_code: "RESIFLEX_LIVE",
            user: NewUser {
                email,
                given_name: "Test",
                family_name: "Driver",
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
    .await
    .expect("account")
    .account;
    let property = accounts::properties_of_account(db, account.id)
        .await
        .expect("properties")
        .remove(0);
    Household {
        organisation_id: org.id,
        account_id: account.id,
        account_number: account.number,
        property_id: property.id,
    }
}

/// A live, capable vehicle of the household (not stored yet): a 57.5 kWh car charging at 7.4 kW,
/// known to `provider` as `remote_id`. Change what a test needs with struct update syntax.
pub fn vehicle(
    home: &Household,
    device_id: &str,
    provider: Provider,
    remote_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::devices::Device {
    crate::devices::Device {
        name: "Tesla Model 3".into(),
        make: "Tesla".into(),
        model: "Model 3".into(),
        battery_capacity_wh: Some(57_500),
        max_power_w: Some(7_400),
        preferences: None,
        ..crate::devices::Device::live(
            device_id,
            (home.account_id, home.property_id),
            resiflex_domain::device::DeviceKind::ElectricVehicle,
            provider,
            remote_id,
            now,
        )
    }
}

/// A household with one stored vehicle: the smallest world that device rows can refer to.
pub async fn vehicle_fixture(db: &Db, email: &str, device_id: &str) -> crate::devices::Device {
    vehicle_fixture_at(
        db,
        email,
        device_id,
        Provider::Tesla,
        &format!("remote-{device_id}"),
    )
    .await
}

/// [`vehicle_fixture`] for a vehicle known to `provider` as `remote_id`.
pub async fn vehicle_fixture_at(
    db: &Db,
    email: &str,
    device_id: &str,
    provider: Provider,
    remote_id: &str,
) -> crate::devices::Device {
    let now = chrono::Utc::now();
    let home = household(db, email, now).await;
    let device = vehicle(&home, device_id, provider, remote_id, now);
    crate::devices::insert_device(db, &device)
        .await
        .expect("device");
    device
}

/// The vehicle and the vendor grant it is reached through (its subject and secret), for
/// [`granted_vehicle_fixture`].
pub struct GrantedVehicle<'a> {
    pub email: &'a str,
    pub device_id: &'a str,
    pub provider: Provider,
    pub remote_id: &'a str,
    pub subject: &'a str,
    pub secret: &'a str,
}

/// [`vehicle_fixture_at`] behind a vendor grant, the grant stored at `now`: the stored device,
/// read back with its grant.
pub async fn granted_vehicle_fixture(
    db: &Db,
    vehicle: GrantedVehicle<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::devices::Device {
    let GrantedVehicle {
        email,
        device_id,
        provider,
        remote_id,
        subject,
        secret,
    } = vehicle;
    let device = vehicle_fixture_at(db, email, device_id, provider, remote_id).await;
    let grant = crate::devices::insert_grant(db, device.account_id, provider, subject, secret, now)
        .await
        .expect("grant");
    crate::devices::set_device_grant(db, &device.id, grant.id, now)
        .await
        .expect("device on its grant");
    crate::devices::device_by_id(db, &device.id)
        .await
        .expect("device")
        .expect("device stored")
}

/// The text column of every row a raw query selects, with `binds` for `$1`, `$2`, ...: for tests
/// that look at what the database holds (a secret at rest, say) rather than what the store answers.
pub async fn raw_texts(db: &Db, sql: &str, binds: &[&str]) -> Vec<String> {
    crate::on_db!(db, |pool| {
        let mut query = sqlx::query_scalar::<_, String>(sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        query.fetch_all(pool).await
    })
    .expect("raw query")
}

/// Runs a raw statement with `binds`, as a database written by an older build would hold its rows;
/// answers how many rows it changed.
pub async fn raw_execute(db: &Db, sql: &str, binds: &[&str]) -> u64 {
    try_raw_execute(db, sql, binds)
        .await
        .expect("raw statement")
}

/// [`raw_execute`], answering the database's refusal instead of panicking on it.
pub async fn try_raw_execute(db: &Db, sql: &str, binds: &[&str]) -> Result<u64, sqlx::Error> {
    crate::on_db!(db, |pool| {
        let mut query = sqlx::query(sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        query.execute(pool).await.map(|done| done.rows_affected())
    })
}

/// How many rows a table of the SQLite database file at `path` holds (opened on its own, as an
/// operator would look at a demo database after the server stopped).
pub async fn count_rows_in_file(path: &std::path::Path, table: &str, filter: &str) -> i64 {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("database file");
    let count = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} {filter}"))
        .fetch_one(&pool)
        .await
        .expect("count");
    pool.close().await;
    count
}
