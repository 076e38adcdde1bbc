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
        }
    }
}

/// Values given on the command line or in the environment; `None` leaves the layer below in force.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub database_url: Option<String>,
    pub log_format: Option<LogFormat>,
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
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
