//! The `resiflex` command: serve the API, migrate the database, print the schema, run benchmarks.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use resiflex::config::{Config, LogFormat, Overrides};
use resiflex::server::{
    Server, connect_database, open_database, server_clock, shutdown_signal, system_clock,
};
use resiflex::{admin, bench, prices, telemetry};

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
        /// Start with a demo household (organisation, account, four simulated devices, a dynamic
        /// tariff) and print its credentials; a second start reuses it.
        #[arg(long)]
        demo: bool,
        /// Run the server's clock N times faster than real time (above 0, at most 10000) [default: 1].
        #[arg(long, value_name = "N", value_parser = parse_clock_speed)]
        clock_speed: Option<f64>,
        /// Start the server's clock at this instant, RFC 3339 with an offset [default: now].
        #[arg(long, value_name = "DATETIME", value_parser = parse_clock_start)]
        clock_start: Option<chrono::DateTime<chrono::Utc>>,
        /// Require this bearer token on /metrics (`http.metrics_token`).
        #[arg(long, env = "RESIFLEX_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
    },
    /// Create the database if needed and apply all migrations.
    Migrate {
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Partner organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Account users.
    #[command(subcommand)]
    User(UserCommand),
    /// Accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Tariff unit rates: import from CSV, generate sandbox day-ahead prices.
    #[command(subcommand)]
    Prices(PricesCommand),
    /// Tariffs of accounts.
    #[command(subcommand)]
    Tariff(TariffCommand),
    /// Energy products and their tariffs, standing charges and unit rates.
    #[command(subcommand)]
    Product(ProductCommand),
    /// A property's meter points and their meters.
    #[command(subcommand, name = "meter-point")]
    MeterPoint(MeterPointCommand),
    /// Agreements: a meter point on a product's tariff for a period.
    #[command(subcommand)]
    Agreement(AgreementCommand),
    /// Meter readings: import a meter's interval readings or register reads.
    #[command(subcommand)]
    Readings(ReadingsCommand),
    /// Ledgers: check that every balance is the sum of its transactions.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Payments: the collection run of direct debits and repayments.
    #[command(subcommand)]
    Payments(PaymentsCommand),
    /// Billing: charge every ended billing period and issue its statements.
    #[command(subcommand)]
    Billing(BillingCommand),
    /// Grid zones: capacity shared by the devices of many homes, planned jointly.
    #[command(subcommand)]
    Zone(ZoneCommand),
    /// A property's forecast (outdoor temperature, solar production, household load) for the
    /// plans of heat pumps, batteries and inverters.
    #[command(subcommand)]
    Forecast(ForecastCommand),
    /// The master key that encrypts the secrets stored in the database.
    #[command(subcommand)]
    Secrets(SecretsCommand),
}

#[derive(Debug, Subcommand)]
enum ForecastCommand {
    /// Import a forecast for every property of an account from a CSV file (header: at and any of
    /// outdoor_temperature, solar_power, base_load).
    Import {
        #[arg(long)]
        account: String,
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Debug, Subcommand)]
enum SecretsCommand {
    /// Re-encrypt every stored secret under a new master key. With a key file, a new key is
    /// generated (the old one stays readable in the file until every secret is re-encrypted); with
    /// RESIFLEX_MASTER_KEY, put the new key first and the old one after it, run this, then drop the
    /// old one. Stop the servers first.
    RotateKey {
        #[command(flatten)]
        database: DatabaseArg,
        /// A TOML configuration file (for `[secrets] key_file`).
        #[arg(long, env = "RESIFLEX_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Print a new random master key (for RESIFLEX_MASTER_KEY or a key file).
    GenerateKey,
}

/// The master keys given in the environment; read here only, never printed.
fn master_key_env() -> Option<String> {
    std::env::var("RESIFLEX_MASTER_KEY").ok()
}

#[derive(Debug, Subcommand)]
enum ZoneCommand {
    /// Create a grid zone, or change its capacity.
    Set {
        #[arg(long)]
        code: String,
        /// The power all the zone's planned devices may draw together, kW.
        #[arg(long)]
        capacity_kw: f64,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Put every property of an account in a grid zone.
    Assign {
        #[arg(long)]
        account: String,
        #[arg(long)]
        zone: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Debug, clap::Args)]
struct NewTariffArgs {
    /// The IANA time zone of a tariff this command creates [default: Europe/London].
    #[arg(long)]
    time_zone: Option<String>,
    /// The slot length (30 or 15) of a tariff this command creates [default: 30].
    #[arg(long)]
    slot_minutes: Option<u32>,
}

impl From<NewTariffArgs> for prices::TariffOptions {
    fn from(args: NewTariffArgs) -> Self {
        prices::TariffOptions {
            name: None,
            time_zone: args.time_zone,
            slot_minutes: args.slot_minutes,
        }
    }
}

#[derive(Debug, Subcommand)]
enum PricesCommand {
    /// Import unit rates from a CSV file (header: valid_from,valid_to,unit_rate[,export_rate][,carbon_intensity]).
    Import {
        #[arg(long)]
        tariff: String,
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        new_tariff: NewTariffArgs,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Generate realistic day-ahead rates (deterministic for a seed) and store them.
    Generate {
        #[arg(long)]
        tariff: String,
        /// The first local day, YYYY-MM-DD.
        #[arg(long)]
        from: chrono::NaiveDate,
        #[arg(long)]
        days: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[command(flatten)]
        new_tariff: NewTariffArgs,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Debug, Subcommand)]
enum ProductCommand {
    /// Create or update a product and its tariffs from a JSON document (code, displayName,
    /// fullName, brand, availableFrom, the flags, and tariffs with their kind, region, payment
    /// method, VAT, rate table and charges; see the README).
    Save {
        #[arg(long)]
        file: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// A product and its tariffs' prices now.
    Show {
        code: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Debug, Subcommand)]
enum MeterPointCommand {
    /// Add a meter point with its meters to a property of an account, or update its meters, from
    /// a JSON document (`mpan` or `mprn`, `direction`, `meters` with `serialNumber`,
    /// `smartDeviceId`, `activeFrom`, `activeTo`).
    Save {
        #[arg(long)]
        account: String,
        /// The property (default: the account's first).
        #[arg(long)]
        property: Option<i64>,
        #[arg(long)]
        file: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Debug, Subcommand)]
enum AgreementCommand {
    /// Put a meter point on a tariff from an instant; the open-ended agreement in force then ends.
    Add {
        /// An electricity meter point.
        #[arg(long, conflicts_with = "mprn", required_unless_present = "mprn")]
        mpan: Option<String>,
        /// A gas meter point.
        #[arg(long)]
        mprn: Option<String>,
        /// The tariff code (`E-1R-...-C`).
        #[arg(long)]
        tariff: String,
        #[arg(long, default_value = "DIRECT_DEBIT_MONTHLY")]
        payment_method: String,
        /// RFC 3339 with an offset.
        #[arg(long)]
        from: chrono::DateTime<chrono::Utc>,
        #[arg(long)]
        to: Option<chrono::DateTime<chrono::Utc>>,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Debug, Subcommand)]
enum ReadingsCommand {
    /// Import a meter's readings from a CSV file: interval readings (header: interval_start,
    /// interval_end and consumption and/or generation, optionally quality) or register reads
    /// (header: read_at, register, value). A bad row stores nothing and is named by its line.
    Import {
        /// The meter's serial number.
        #[arg(long)]
        meter: String,
        #[arg(long)]
        file: PathBuf,
        /// The meter point (MPAN or MPRN), when meters of two meter points share the serial.
        #[arg(long)]
        meter_point: Option<String>,
        /// The interval length of a file without an interval_end column.
        #[arg(long, value_name = "5|15|30")]
        interval_minutes: Option<u32>,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Debug, Subcommand)]
enum BillingCommand {
    /// Bill every account whose billing period ended before DATE: post each agreement's
    /// consumption and standing charges and the SmartFlex reward, re-bill estimates whose
    /// readings changed, and issue the statements. Safe to run again. Prints a JSON report and
    /// exits 1 when any account failed.
    Run {
        #[command(flatten)]
        database: DatabaseArg,
        /// The day of the run, YYYY-MM-DD [default: today, UTC].
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
    /// Show an account's billing period and trigger, or change them: the period (MONTHLY or
    /// QUARTERLY, from a start day, times a multiplier) cuts the statements; the trigger
    /// (DAILY, MONTHLY or ANNUALLY, every MULTIPLIER, on a start day and month) says when the
    /// billing run charges and issues them, and its operation what it does.
    Options {
        #[arg(long = "account")]
        account_number: String,
        #[arg(long, value_name = "MONTHLY|QUARTERLY")]
        period_length: Option<resiflex_domain::billing::PeriodLength>,
        #[arg(long, value_name = "1-31")]
        period_start_day: Option<u32>,
        #[arg(long, value_name = "1-12")]
        period_multiplier: Option<u32>,
        #[arg(long, value_name = "DAILY|MONTHLY|ANNUALLY")]
        trigger_frequency: Option<resiflex_domain::billing::TriggerFrequency>,
        #[arg(long, value_name = "N")]
        trigger_multiplier: Option<u32>,
        #[arg(long, value_name = "1-31")]
        trigger_start_day: Option<u32>,
        #[arg(long, value_name = "1-12")]
        trigger_start_month: Option<u32>,
        /// CHARGE_TARGET, CHARGE_TARGET_AND_ISSUE_STATEMENT, ISSUE_STATEMENT_FOR_TARGET, ...
        #[arg(long, value_name = "OPERATION")]
        trigger_operation: Option<resiflex_domain::billing::TriggerOperation>,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Set an organisation's SmartFlex reward, millionths of a minor unit per kWh flexed (0: none).
    FlexReward {
        #[arg(long = "organisation")]
        organisation_id: i64,
        #[arg(long)]
        micros_per_kwh: i64,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Debug, Subcommand)]
enum PaymentsCommand {
    /// Book, submit and advance the payments and repayments due (on each account's own date, or
    /// on `--date`), and present failed collections again. Prints a JSON report.
    Collect {
        #[command(flatten)]
        database: DatabaseArg,
        /// The date to collect on (YYYY-MM-DD), for every account.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
}

#[derive(Debug, Subcommand)]
enum LedgerCommand {
    /// Prove every ledger's stored balance equals the sum of its transactions, its transactions
    /// are numbered without gaps and every running balance is right. Prints a JSON report and
    /// exits 1 when any ledger disagrees.
    Verify {
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Debug, Subcommand)]
enum TariffCommand {
    /// Put every property of an account on a tariff, from now.
    Assign {
        #[arg(long)]
        account: String,
        #[arg(long)]
        tariff: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Create an organisation; prints its id and secret key (shown only once).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "RESIFLEX_LIVE")]
        brand_code: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Replace an organisation's secret key; the old key stops working.
    RotateKey {
        #[arg(long = "organisation", alias = "id")]
        organisation_id: i64,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Issue a new personal API key for a user; the previous one stops working.
    ApiKey {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Set a user's password, read from the first line of standard input.
    SetPassword {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Move an account to another status (for example DORMANT), if its life cycle allows it.
    SetStatus {
        #[arg(long)]
        number: String,
        #[arg(long)]
        status: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

fn parse_clock_speed(text: &str) -> Result<f64, String> {
    let speed: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    resiflex_domain::clock::validate_speed(speed).map_err(|err| err.to_string())
}

fn parse_clock_start(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|at| at.to_utc())
        .map_err(|_| {
            format!("{text:?} is not an RFC 3339 date and time with an offset, such as 2026-11-27T18:00:00Z")
        })
}

async fn database(arg: DatabaseArg) -> anyhow::Result<resiflex_store::Db> {
    let config = Config::load(
        None,
        Overrides {
            database_url: arg.url,
            master_key: master_key_env(),
            ..Overrides::default()
        },
    )?;
    open_database(&config).await
}

async fn print_json(result: anyhow::Result<serde_json::Value>) -> anyhow::Result<()> {
    println!("{}", result?);
    Ok(())
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Load benchmark of the HTTP/GraphQL path.
    Http(bench::HttpBenchArgs),
    /// Hostile GraphQL documents: latency per document and the server's memory.
    Hostile(bench::HostileBenchArgs),
    /// EV plans per second (one thread and all cores) and the end-to-end re-plan of stored devices.
    Planner(resiflex::bench_planner::PlannerBenchArgs),
    /// OCPP charge points held open: connections, messages per second, latency, memory.
    Ocpp(resiflex::bench_ocpp::OcppBenchArgs),
    /// The charge points of `bench ocpp`, run in a child process (credentials on standard input).
    #[command(hide = true)]
    OcppLoad(resiflex::bench_ocpp::OcppLoadArgs),
    /// Half-hourly readings imported per second from CSV files, and a year read back by month.
    Readings(resiflex::bench_readings::ReadingsBenchArgs),
    /// A monthly billing run over many accounts with a month of half-hourly readings each, and a
    /// verification of every ledger.
    Billing(resiflex::bench_billing::BillingBenchArgs),
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
            demo,
            clock_speed,
            clock_start,
            metrics_token,
        } => {
            let config = Config::load(
                config.as_deref(),
                Overrides {
                    listen,
                    database_url: database.url,
                    log_format,
                    clock_speed,
                    metrics_token,
                    master_key: master_key_env(),
                },
            )?;
            telemetry::init(&config.log);
            // Listening for signals starts before anything else, so a stop during start-up is graceful.
            let shutdown = shutdown_signal();
            let db = connect_database(&config).await?;
            let clock =
                server_clock(&db, &config, clock_speed, clock_start, system_clock()).await?;
            let server = Server::with_database(&config, db, clock.clone()).await?;
            if demo {
                resiflex::demo::serve(server, &config, clock, shutdown).await
            } else {
                server.run(shutdown).await
            }
        }
        Command::Migrate { database } => {
            let config = Config::load(
                None,
                Overrides {
                    database_url: database.url,
                    master_key: master_key_env(),
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
        Command::Org(OrgCommand::Create {
            name,
            brand_code,
            database: db,
        }) => {
            let db = database(db).await?;
            print_json(admin::create_organisation(&db, &name, &brand_code).await).await
        }
        Command::Org(OrgCommand::RotateKey {
            organisation_id,
            database: db,
        }) => {
            let db = database(db).await?;
            print_json(admin::rotate_organisation_key(&db, organisation_id).await).await
        }
        Command::User(UserCommand::ApiKey {
            email,
            database: db,
        }) => {
            let db = database(db).await?;
            print_json(admin::user_api_key(&db, &email).await).await
        }
        Command::User(UserCommand::SetPassword {
            email,
            database: db,
        }) => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("reading the password from standard input")?;
            let db = database(db).await?;
            print_json(
                admin::set_password(&db, &email, password.trim_end_matches(['\n', '\r'])).await,
            )
            .await
        }
        Command::Account(AccountCommand::SetStatus {
            number,
            status,
            database: db,
        }) => {
            let db = database(db).await?;
            print_json(admin::set_account_status(&db, &number, &status).await).await
        }
        Command::Forecast(ForecastCommand::Import {
            account,
            file,
            database: db,
        }) => {
            let csv = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let db = database(db).await?;
            print_json(resiflex::weather::import_csv(&db, &account, &csv).await).await
        }
        Command::Prices(PricesCommand::Import {
            tariff,
            file,
            new_tariff,
            database: db,
        }) => {
            let csv = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let db = database(db).await?;
            print_json(prices::import_csv(&db, &tariff, &csv, &new_tariff.into()).await).await
        }
        Command::Prices(PricesCommand::Generate {
            tariff,
            from,
            days,
            seed,
            new_tariff,
            database: db,
        }) => {
            let db = database(db).await?;
            print_json(prices::generate(&db, &tariff, from, days, seed, &new_tariff.into()).await)
                .await
        }
        Command::Product(ProductCommand::Save { file, database: db }) => {
            let json = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let db = database(db).await?;
            print_json(resiflex::products::save(&db, &json, chrono::Utc::now()).await).await
        }
        Command::Product(ProductCommand::Show { code, database: db }) => {
            let db = database(db).await?;
            print_json(resiflex::products::show(&db, &code, chrono::Utc::now()).await).await
        }
        Command::MeterPoint(MeterPointCommand::Save {
            account,
            property,
            file,
            database: db,
        }) => {
            let json = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let db = database(db).await?;
            print_json(
                resiflex::products::save_meter_point(
                    &db,
                    &account,
                    property,
                    &json,
                    chrono::Utc::now(),
                )
                .await,
            )
            .await
        }
        Command::Agreement(AgreementCommand::Add {
            mpan,
            mprn,
            tariff,
            payment_method,
            from,
            to,
            database: db,
        }) => {
            let (fuel, point) = match (mpan, mprn) {
                (Some(mpan), _) => (resiflex_domain::product::Fuel::Electricity, mpan),
                (None, Some(mprn)) => (resiflex_domain::product::Fuel::Gas, mprn),
                (None, None) => anyhow::bail!("give --mpan or --mprn"),
            };
            let db = database(db).await?;
            print_json(
                resiflex::products::add_agreement(
                    &db,
                    fuel,
                    &point,
                    &tariff,
                    &payment_method,
                    from,
                    to,
                    chrono::Utc::now(),
                )
                .await,
            )
            .await
        }
        Command::Billing(BillingCommand::Run { database: db, date }) => {
            let db = database(db).await?;
            let now = system_clock().now();
            let today = date.unwrap_or_else(|| now.date_naive());
            let (report, ok) = resiflex::billing::run(&db, today, now).await?;
            println!("{report}");
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Billing(BillingCommand::Options {
            account_number,
            period_length,
            period_start_day,
            period_multiplier,
            trigger_frequency,
            trigger_multiplier,
            trigger_start_day,
            trigger_start_month,
            trigger_operation,
            database: db,
        }) => {
            let db = database(db).await?;
            let change = resiflex::billing::OptionsChange {
                period_length,
                period_start_day,
                period_multiplier,
                trigger_frequency,
                trigger_multiplier,
                trigger_start_day,
                trigger_start_month,
                trigger_operation,
            };
            print_json(
                resiflex::billing::options(&db, &account_number, change, system_clock().now())
                    .await,
            )
            .await
        }
        Command::Billing(BillingCommand::FlexReward {
            organisation_id,
            micros_per_kwh,
            database: db,
        }) => {
            let db = database(db).await?;
            let now = system_clock().now();
            print_json(
                resiflex::billing::set_flex_reward(&db, organisation_id, micros_per_kwh, now).await,
            )
            .await
        }
        Command::Payments(PaymentsCommand::Collect { database: db, date }) => {
            let db = database(db).await?;
            let report = resiflex::payments::collect(&db, date, system_clock().now()).await?;
            println!("{report}");
            Ok(())
        }
        Command::Ledger(LedgerCommand::Verify { database: db }) => {
            let db = database(db).await?;
            let (report, ok) = resiflex::ledger::verify(&db).await?;
            println!("{report}");
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Readings(ReadingsCommand::Import {
            meter,
            file,
            meter_point,
            interval_minutes,
            database: db,
        }) => {
            let input = std::fs::File::open(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let db = database(db).await?;
            let target = resiflex::readings::ImportTarget {
                serial: &meter,
                meter_point: meter_point.as_deref(),
                interval_minutes,
            };
            print_json(
                resiflex::readings::import(&db, &target, std::io::BufReader::new(input)).await,
            )
            .await
        }
        Command::Tariff(TariffCommand::Assign {
            account,
            tariff,
            database: db,
        }) => {
            let db = database(db).await?;
            print_json(prices::assign(&db, &account, &tariff, chrono::Utc::now()).await).await
        }
        Command::Zone(ZoneCommand::Set {
            code,
            capacity_kw,
            database: db,
        }) => {
            let db = database(db).await?;
            print_json(prices::set_zone(&db, &code, capacity_kw).await).await
        }
        Command::Zone(ZoneCommand::Assign {
            account,
            zone,
            database: db,
        }) => {
            let db = database(db).await?;
            print_json(prices::assign_zone(&db, &account, &zone).await).await
        }
        Command::Secrets(SecretsCommand::RotateKey { database, config }) => {
            let config = Config::load(
                config.as_deref(),
                Overrides {
                    database_url: database.url,
                    master_key: master_key_env(),
                    ..Overrides::default()
                },
            )?;
            let db = open_database(&config).await?;
            print_json(resiflex::secrets::rotate(&config, db).await).await
        }
        Command::Secrets(SecretsCommand::GenerateKey) => {
            println!(
                "{}",
                resiflex_store::secrets::MasterKey::generate().to_text()
            );
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
        Command::Bench(BenchCommand::Hostile(args)) => {
            telemetry::init(&resiflex::config::LogConfig {
                level: "warn".into(),
                ..Default::default()
            });
            bench::hostile(args)
                .await
                .context("running the hostile-document benchmark")
        }
        Command::Bench(BenchCommand::Planner(args)) => {
            telemetry::init(&resiflex::config::LogConfig {
                level: "warn".into(),
                ..Default::default()
            });
            let result = resiflex::bench_planner::planner(args)
                .await
                .context("running the planner benchmark")?;
            println!("{}", serde_json::to_string(&result)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Ocpp(args)) => {
            telemetry::init(&resiflex::config::LogConfig {
                level: "warn".into(),
                ..Default::default()
            });
            let result = resiflex::bench_ocpp::ocpp(args)
                .await
                .context("running the OCPP benchmark")?;
            println!("{}", resiflex::bench_ocpp::summary(&result));
            println!("{}", serde_json::to_string(&result)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Billing(args)) => {
            telemetry::init(&resiflex::config::LogConfig {
                level: "warn".into(),
                ..Default::default()
            });
            let result = resiflex::bench_billing::billing(args)
                .await
                .context("running the billing benchmark")?;
            println!("{}", serde_json::to_string(&result)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Readings(args)) => {
            telemetry::init(&resiflex::config::LogConfig {
                level: "warn".into(),
                ..Default::default()
            });
            let result = resiflex::bench_readings::readings(args)
                .await
                .context("running the readings benchmark")?;
            println!("{}", serde_json::to_string(&result)?);
            Ok(())
        }
        Command::Bench(BenchCommand::OcppLoad(args)) => resiflex::bench_ocpp::ocpp_load(args)
            .await
            .context("running the OCPP load generator"),
    }
}
