//! Configuration: one typed struct, layered. Defaults, then a TOML file (`--config`), then environment
//! variables, then command-line flags; each layer overrides the one before.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context as _;
use resiflex_api::{HttpConfig, QueryLimits};
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8000";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://resiflex.db";

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    #[default]
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `resiflex=debug,sqlx=warn`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            level: "info".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: DEFAULT_DATABASE_URL.to_owned(),
            max_connections: 16,
        }
    }
}

/// The OCPP central system's timing (`[ocpp]`).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct OcppSettings {
    /// The heartbeat interval given to charge points at boot, in seconds; a charger silent for
    /// twice as long counts as offline.
    pub heartbeat_interval_secs: u32,
    /// How long one attempt of a call to a charge point waits for its answer, in seconds.
    pub call_timeout_secs: u64,
    /// How many times a call is sent before it fails (each attempt under a new message id).
    pub call_attempts: u32,
    /// The meter value sample interval asked of charge points at boot, in seconds (0 leaves
    /// theirs alone).
    pub meter_value_interval_secs: u32,
    /// The largest WebSocket message (and frame) accepted from a charge point, in bytes; a
    /// larger one closes the connection with code 1009 (message too big).
    pub max_message_bytes: usize,
}

impl Default for OcppSettings {
    fn default() -> Self {
        Self {
            heartbeat_interval_secs: 300,
            call_timeout_secs: 30,
            call_attempts: 3,
            meter_value_interval_secs: 60,
            max_message_bytes: 256 * 1024,
        }
    }
}

impl OcppSettings {
    /// The central system's configuration for a server reached at `public_url`.
    pub fn central_system(&self, public_url: &str) -> resiflex_ocpp::OcppConfig {
        let mut config = resiflex_ocpp::OcppConfig::new(public_url);
        config.heartbeat_interval_secs = self.heartbeat_interval_secs;
        config.call_timeout = std::time::Duration::from_secs(self.call_timeout_secs);
        config.call_attempts = self.call_attempts;
        config.meter_value_interval_secs = self.meter_value_interval_secs;
        config.max_message_bytes = self.max_message_bytes;
        config
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.heartbeat_interval_secs > 0,
            "ocpp.heartbeat_interval_secs must be above 0"
        );
        anyhow::ensure!(
            self.call_timeout_secs > 0,
            "ocpp.call_timeout_secs must be above 0"
        );
        anyhow::ensure!(
            (1..=10).contains(&self.call_attempts),
            "ocpp.call_attempts must be between 1 and 10"
        );
        anyhow::ensure!(
            (1024..=16 * 1024 * 1024).contains(&self.max_message_bytes),
            "ocpp.max_message_bytes must be between 1024 and 16777216"
        );
        Ok(())
    }
}

/// Master keys given in the environment (`RESIFLEX_MASTER_KEY`): comma-separated, the current one
/// first. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKeys(pub String);

impl std::fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKeys(***)")
    }
}

/// Where the master key that seals the stored secrets comes from (`[secrets]`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    /// The key file (default: `resiflex-master.key` beside the SQLite database, else in the working
    /// folder), created with owner-only permissions on first start.
    pub key_file: Option<std::path::PathBuf>,
    /// Keys from the environment (`RESIFLEX_MASTER_KEY`); they take the place of the key file.
    #[serde(skip)]
    pub master_key: Option<MasterKeys>,
}

/// Everything the server can be configured with.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    /// The URL clients reach this server at (behind a proxy, the proxy's); used in redirect URIs.
    /// Default: `http://` and the listening address.
    pub public_url: Option<String>,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub http: HttpConfig,
    pub limits: QueryLimits,
    pub control: resiflex_control::ControlConfig,
    pub ocpp: OcppSettings,
    pub secrets: SecretsConfig,
    /// Sign-in throttling and the password pool (`[sign_in]`).
    pub sign_in: resiflex_credentials::SignInSettings,
    /// How many times faster than real time the server's clock runs (`--clock-speed`; 1 is real
    /// time). The control loop ticks this many times more often in wall time, so the same clock time
    /// passes between ticks. Set on the command line only.
    #[serde(skip)]
    pub clock_speed: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8000)),
            public_url: None,
            database: DatabaseConfig::default(),
            log: LogConfig::default(),
            http: HttpConfig::default(),
            limits: QueryLimits::default(),
            control: resiflex_control::ControlConfig::default(),
            ocpp: OcppSettings::default(),
            secrets: SecretsConfig::default(),
            sign_in: resiflex_credentials::SignInSettings::default(),
            clock_speed: 1.0,
        }
    }
}

/// Values given on the command line or in the environment; `None` leaves the layer below in force.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub database_url: Option<String>,
    pub log_format: Option<LogFormat>,
    pub clock_speed: Option<f64>,
    /// The bearer token `/metrics` requires (`RESIFLEX_METRICS_TOKEN`).
    pub metrics_token: Option<String>,
    /// Master keys (`RESIFLEX_MASTER_KEY`).
    pub master_key: Option<String>,
}

impl Config {
    /// Reads the file (if any) over the defaults, then applies the overrides.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> anyhow::Result<Config> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("reading the configuration file {}", path.display())
                })?;
                toml::from_str(&text)
                    .with_context(|| format!("parsing the configuration file {}", path.display()))?
            }
            None => Config::default(),
        };
        if let Some(listen) = overrides.listen {
            config.listen = listen;
        }
        if let Some(url) = overrides.database_url {
            config.database.url = url;
        }
        if let Some(format) = overrides.log_format {
            config.log.format = format;
        }
        if let Some(speed) = overrides.clock_speed {
            config.clock_speed = resiflex_domain::clock::validate_speed(speed)?;
        }
        if let Some(keys) = overrides.master_key.filter(|k| !k.trim().is_empty()) {
            config.secrets.master_key = Some(MasterKeys(keys));
        }
        if let Some(token) = overrides.metrics_token {
            config.http.metrics_token = Some(resiflex_api::http::MetricsToken::new(token));
        }
        config.ocpp.validate()?;
        if let Some(setting) = config.limits.problem() {
            anyhow::bail!("{setting} must be above 0");
        }
        validate_http(&config.http)?;
        config.sign_in.validate().map_err(anyhow::Error::msg)?;
        Ok(config)
    }
}

fn validate_http(http: &HttpConfig) -> anyhow::Result<()> {
    anyhow::ensure!(
        http.header_read_timeout_secs > 0,
        "http.header_read_timeout_secs must be above 0"
    );
    anyhow::ensure!(
        http.body_read_timeout_secs > 0,
        "http.body_read_timeout_secs must be above 0"
    );
    anyhow::ensure!(
        http.metrics_token.as_ref().is_none_or(|t| !t.is_empty()),
        "http.metrics_token must not be empty"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_limits_must_be_positive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("limits.toml");
        std::fs::write(&path, "[limits]\nmax_tokens = 0\n").unwrap();
        let err = Config::load(Some(&path), Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("limits.max_tokens"), "{err}");
        std::fs::write(
            &path,
            "[limits]\nmax_aliases = 0\nmax_document_bytes = 2048\n",
        )
        .unwrap();
        let config = Config::load(Some(&path), Overrides::default()).unwrap();
        assert_eq!(config.limits.max_aliases, 0);
        assert_eq!(config.limits.max_document_bytes, 2048);
    }

    #[test]
    fn layers_override_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("resiflex.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\n[database]\nurl = \"sqlite://from-file.db\"\n[limits]\nmax_complexity = 50\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), Overrides::default()).unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.database.url, "sqlite://from-file.db");
        assert_eq!(config.limits.max_complexity, 50);
        assert_eq!(
            config.limits.max_nodes, 10_000,
            "unset keys keep their defaults"
        );

        let overrides = Overrides {
            database_url: Some("postgres://db/resiflex".into()),
            ..Overrides::default()
        };
        let config = Config::load(Some(&file), overrides).unwrap();
        assert_eq!(config.database.url, "postgres://db/resiflex");
        assert_eq!(config.listen.port(), 9000);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "listne = \"0.0.0.0:9000\"\n").unwrap();
        assert!(Config::load(Some(&file), Overrides::default()).is_err());
    }

    #[test]
    fn defaults_match_the_documentation() {
        let config = Config::default();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.database.url, DEFAULT_DATABASE_URL);
        assert_eq!(config.clock_speed, 1.0);
        let ocpp = config.ocpp.central_system("http://127.0.0.1:8000");
        assert_eq!(
            (
                ocpp.heartbeat_interval_secs,
                ocpp.call_timeout.as_secs(),
                ocpp.call_attempts,
                ocpp.meter_value_interval_secs
            ),
            (300, 30, 3, 60)
        );
    }

    #[test]
    fn ocpp_settings_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("resiflex.toml");
        std::fs::write(
            &file,
            "[ocpp]\nheartbeat_interval_secs = 120\ncall_timeout_secs = 10\ncall_attempts = 2\nmeter_value_interval_secs = 0\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), Overrides::default()).unwrap();
        let ocpp = config.ocpp.central_system("https://flex.example.com");
        assert_eq!(
            (
                ocpp.heartbeat_interval_secs,
                ocpp.call_timeout.as_secs(),
                ocpp.call_attempts,
                ocpp.meter_value_interval_secs
            ),
            (120, 10, 2, 0)
        );
        for bad in [
            "call_attempts = 0",
            "call_timeout_secs = 0",
            "heartbeat_interval_secs = 0",
            "call_attempts = 11",
            "retries = 3",
        ] {
            std::fs::write(&file, format!("[ocpp]\n{bad}\n")).unwrap();
            assert!(
                Config::load(Some(&file), Overrides::default()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_clock_speed_is_a_flag_only_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("resiflex.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:9000\"\n").unwrap();
        let config = Config::load(Some(&file), Overrides::default()).unwrap();
        assert_eq!(config.clock_speed, 1.0, "a file leaves the speed alone");
        let fast = Overrides {
            clock_speed: Some(600.0),
            ..Overrides::default()
        };
        assert_eq!(Config::load(None, fast).unwrap().clock_speed, 600.0);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e6] {
            let overrides = Overrides {
                clock_speed: Some(bad),
                ..Overrides::default()
            };
            assert!(Config::load(None, overrides).is_err(), "{bad}");
        }
        std::fs::write(&file, "clock_speed = 600\n").unwrap();
        assert!(
            Config::load(Some(&file), Overrides::default()).is_err(),
            "not a file setting"
        );
    }

    #[test]
    fn transport_and_secrets_settings_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("resiflex.toml");
        std::fs::write(
            &file,
            "[http]\nheader_read_timeout_secs = 5\nmax_connections_per_address = 8\nmetrics_listen = \"127.0.0.1:9100\"\nmetrics_token = \"t0ken\"\n[ocpp]\nmax_message_bytes = 65536\n[secrets]\nkey_file = \"/etc/resiflex/master.key\"\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), Overrides::default()).unwrap();
        assert_eq!(config.http.header_read_timeout_secs, 5);
        assert_eq!(config.http.max_connections_per_address, 8);
        assert_eq!(config.http.metrics_listen.unwrap().port(), 9100);
        assert!(config.http.metrics_token.as_ref().unwrap().matches("t0ken"));
        assert!(
            !format!("{config:?}").contains("t0ken"),
            "the token is never printed"
        );
        assert_eq!(
            config.ocpp.central_system("http://x").max_message_bytes,
            65536
        );
        assert_eq!(
            config.secrets.key_file.as_deref(),
            Some(Path::new("/etc/resiflex/master.key"))
        );
        let overrides = Overrides {
            master_key: Some("a-key-from-the-environment".into()),
            metrics_token: Some("from-env".into()),
            ..Overrides::default()
        };
        let config = Config::load(None, overrides).unwrap();
        assert!(config.secrets.master_key.is_some());
        assert!(config.http.metrics_token.unwrap().matches("from-env"));
        for bad in [
            "[http]\nheader_read_timeout_secs = 0",
            "[http]\nbody_read_timeout_secs = 0",
            "[http]\nmetrics_token = \"\"",
            "[ocpp]\nmax_message_bytes = 10",
            "[secrets]\nmaster_key = \"not-in-files\"",
        ] {
            std::fs::write(&file, bad).unwrap();
            assert!(
                Config::load(Some(&file), Overrides::default()).is_err(),
                "{bad}"
            );
        }
    }
}
