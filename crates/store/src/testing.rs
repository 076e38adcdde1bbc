//! Fresh databases for tests. With `TEST_DATABASE_URL` set to a PostgreSQL URL, every [`TestDb`] is a new
//! schema in that database; otherwise it is a new SQLite file in a temporary folder. Either way it is
//! migrated and empty, so tests never see each other's rows.

#![allow(clippy::expect_used, clippy::panic)] // Test support: failing loudly is the point.

use rand::Rng as _;

use crate::{Db, DbOptions};

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
                    .expect("connect to the test schema");
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
                let db = Db::connect(&url, &options).await.expect("open SQLite");
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
        let db = Db::connect(&self.url, &self.options).await.expect("reopen");
        db.migrate().await.expect("migrations are idempotent");
        db
    }
}
