//! The `resiflex` command: serve the API, migrate the database, print the schema, run benchmarks.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use resiflex::config::{Config, LogFormat, Overrides};
use resiflex::server::{Server, open_database, shutdown_signal, system_clock};
use resiflex::{bench, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "resiflex",
    version,
    about = "Residential flexibility platform speaking the Kraken SmartFlex GraphQL API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct DatabaseArg {
    /// Database URL: sqlite://FILE (created if missing) or postgres://...
    #[arg(long = "database", env = "RESIFLEX_DATABASE_URL")]
    url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the GraphQL API.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8000].
        #[arg(long, env = "RESIFLEX_LISTEN")]
        listen: Option<SocketAddr>,
        #[command(flatten)]
        database: DatabaseArg,
        /// A TOML configuration file; flags and environment variables override it.
        #[arg(long, env = "RESIFLEX_CONFIG")]
        config: Option<PathBuf>,
        /// Log format.
        #[arg(long, env = "RESIFLEX_LOG_FORMAT", value_enum)]
        log_format: Option<LogFormat>,
    },
    /// Create the database if needed and apply all migrations.
    Migrate {
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Load benchmark of the HTTP/GraphQL path.
    Http(bench::HttpBenchArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            listen,
            database,
            config,
            log_format,
        } => {
            let config = Config::load(
                config.as_deref(),
                Overrides {
                    listen,
                    database_url: database.url,
                    log_format,
                },
            )?;
            telemetry::init(&config.log);
            let server = Server::build(&config, system_clock()).await?;
            server.run(shutdown_signal()).await
        }
        Command::Migrate { database } => {
            let config = Config::load(
                None,
                Overrides {
                    database_url: database.url,
                    ..Overrides::default()
                },
            )?;
            telemetry::init(&config.log);
            let db = open_database(&config).await?;
            db.close().await;
            println!(
                "{}",
                serde_json::json!({"migrated": true, "backend": db.backend().as_str()})
            );
            Ok(())
        }
        Command::Schema => {
            print!("{}", resiflex_api::schema::sdl());
            Ok(())
        }
        Command::Bench(BenchCommand::Http(args)) => {
            telemetry::init(&resiflex::config::LogConfig {
                level: "warn".into(),
                ..Default::default()
            });
            bench::http(args)
                .await
                .context("running the HTTP benchmark")
        }
    }
}
