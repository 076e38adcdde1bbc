//! Wiring: open and migrate the database, load the server's secrets, build the schema and the HTTP
//! application, then serve until asked to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use resiflex_api::auth::tokens::TokenKeys;
use resiflex_api::{ApiContext, AppState, Metrics};
use resiflex_domain::{SharedClock, SystemClock};
use resiflex_store::{Db, DbOptions};
use tokio::net::TcpListener;

use crate::config::Config;

/// Opens the database named in the configuration, brings its schema up to date, and gives it the
/// master key with every stored secret sealed under it: the database of the operator commands.
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let db = connect_database(config).await?;
    let db = db.with_secret_keys(crate::secrets::key_ring(config)?);
    crate::secrets::prepare(&db).await?;
    Ok(db)
}

/// Opens the database named in the configuration and brings its schema up to date, without the
/// master key: for a database handed to [`Server::with_database`], which adds the key and seals the
/// stored secrets itself, once.
pub async fn connect_database(config: &Config) -> anyhow::Result<Db> {
    let options = DbOptions {
        max_connections: config.database.max_connections,
        ..DbOptions::default()
    };
    let db = Db::connect(&config.database.url, &options)
        .await
        .with_context(|| {
            format!(
                "opening the database {}",
                resiflex_store::redact_url(&config.database.url)
            )
        })?;
    db.migrate().await.context("migrating the database")?;
    Ok(db)
}

/// A server bound to its port and ready to run.
pub struct Server {
    /// The simulated vendor clouds (sandbox mode), for scenario tests and the demo.
    pub sandbox: Arc<crate::providers::Sandbox>,
    /// The OCPP central system: the charge points connected to this server.
    pub ocpp: resiflex_ocpp::CentralSystem,
    listener: TcpListener,
    /// `/metrics` on its own listener, when `http.metrics_listen` is set.
    metrics: Option<(TcpListener, axum::Router)>,
    transport: crate::transport::Transport,
    control: Option<resiflex_control::ControlLoop>,
    /// Wall time between control ticks: the configured tick, shortened by the clock's speed.
    control_period: Duration,
    app: axum::Router,
    db: Db,
}

/// The wall time between control ticks for a tick of `tick_seconds` on a clock running `speed` times
/// faster than real time, so that the same clock time passes between ticks.
pub fn control_period(tick_seconds: u64, speed: f64) -> Duration {
    let seconds = tick_seconds.max(1) as f64;
    let speed = resiflex_domain::clock::validate_speed(speed).unwrap_or(1.0);
    Duration::try_from_secs_f64(seconds / speed).unwrap_or(Duration::from_secs(seconds as u64))
}

impl Server {
    /// Opens everything the server needs and binds the listening socket.
    pub async fn build(config: &Config, clock: SharedClock) -> anyhow::Result<Server> {
        let db = connect_database(config).await?;
        Self::with_database(config, db, clock).await
    }

    pub async fn with_database(
        config: &Config,
        db: Db,
        clock: SharedClock,
    ) -> anyhow::Result<Server> {
        let db = db.with_secret_keys(crate::secrets::key_ring(config)?);
        crate::secrets::prepare(&db).await?;
        let signing_key = resiflex_store::secrets::get_or_create(
            &db,
            resiflex_store::secrets::TOKEN_SIGNING_KEY,
            clock.now(),
        )
        .await
        .context("loading the token-signing key")?;
        let tokens = TokenKeys::from_secret(signing_key.as_bytes());
        let address_key = resiflex_store::secrets::get_or_create(
            &db,
            resiflex_credentials::ADDRESS_KEY_SECRET,
            clock.now(),
        )
        .await
        .context("loading the sign-in address key")?;
        let sign_in = Arc::new(resiflex_credentials::SignInGuard::new(
            &config.sign_in,
            address_key.as_bytes(),
        ));
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let metrics_listener = match config.http.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("listening for /metrics on {addr}"))?,
            ),
            None => None,
        };
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", listener.local_addr().unwrap_or(config.listen)))
            .trim_end_matches('/')
            .to_owned();
        let (mut providers, sandbox) = crate::providers::registry(&db, &public_url).await?;
        let ocpp = resiflex_ocpp::CentralSystem::new(
            db.clone(),
            clock.clone(),
            config.ocpp.central_system(&public_url),
            sign_in.clone(),
        );
        crate::providers::register_ocpp(&mut providers, &ocpp);
        let providers = Arc::new(providers);
        let control = config.control.enabled.then(|| {
            resiflex_control::ControlLoop::new(
                db.clone(),
                providers.clone(),
                clock.clone(),
                config.control,
            )
        });
        let clock_for_http = clock.clone();
        let public_url_for_http = public_url.clone();
        let devices = resiflex_devices::Devices {
            db: db.clone(),
            providers: providers.clone(),
            clock: clock.clone(),
            after_change: Arc::new(resiflex_control::Replanner {
                db: db.clone(),
                providers: providers.clone(),
                config: config.control,
            }),
        };
        let schema = resiflex_api::schema::build(
            ApiContext {
                db: db.clone(),
                devices,
                clock,
                tokens,
                sign_in,
                providers,
                public_url,
                control: config.control,
            },
            config.limits,
        );
        let state = AppState {
            executor: Arc::new(schema),
            db: db.clone(),
            metrics: Metrics::global(),
            config: Arc::new(config.http.clone()),
            sandbox: Some(sandbox.clone()),
            clock: clock_for_http,
            public_url: public_url_for_http,
        };
        let metrics = metrics_listener
            .map(|listener| (listener, resiflex_api::http::metrics_router(state.clone())));
        Ok(Server {
            sandbox,
            control,
            control_period: control_period(config.control.tick_seconds, config.clock_speed),
            listener,
            metrics,
            transport: crate::transport::Transport::from_config(&config.http),
            app: resiflex_api::router(state).merge(ocpp.router()),
            ocpp,
            db,
        })
    }

    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Where `/metrics` is served when it has its own listener.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// The server's database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Serves until `shutdown` completes; requests in flight are finished, then the pool is closed.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.local_addr()?;
        tracing::info!(%addr, backend = self.db.backend().as_str(), "serving the GraphQL API at http://{addr}/v1/graphql/");
        let (stop_control, control_stopped) = tokio::sync::watch::channel(false);
        let period = self.control_period;
        let control = self
            .control
            .map(|control| control.spawn_every(period, control_stopped));
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let stopped = move || {
            let mut stopping = stopping.clone();
            async move {
                let _ = stopping.wait_for(|stop| *stop).await;
            }
        };
        let metrics = self.metrics.map(|(listener, router)| {
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(%addr, "serving /metrics at http://{addr}/metrics");
            }
            tokio::spawn(crate::transport::serve(
                listener,
                router,
                self.transport,
                stopped(),
            ))
        });
        let main = crate::transport::serve(self.listener, self.app, self.transport, stopped());
        let signal = async move {
            shutdown.await;
            let _ = stop.send(true);
        };
        tokio::join!(main, signal);
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
        // The control loop finishes its tick, then the pool closes.
        let _ = stop_control.send(true);
        if let Some(control) = control {
            let _ = control.await;
        }
        self.db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled, so a signal that arrives while the server is still starting (or between
/// its first answer and its first poll of the shutdown future) stops it gracefully instead of killing it.
/// Must be called inside the runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            let interrupt = async {
                match interrupt {
                    Ok(mut stream) => {
                        stream.recv().await;
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "cannot listen for SIGINT");
                        std::future::pending::<()>().await;
                    }
                }
            };
            let terminate = async {
                match terminate {
                    Ok(mut stream) => {
                        stream.recv().await;
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "cannot listen for SIGTERM");
                        std::future::pending::<()>().await;
                    }
                }
            };
            tokio::select! {
                () = interrupt => tracing::info!("SIGINT received: finishing requests in flight"),
                () = terminate => tracing::info!("SIGTERM received: finishing requests in flight"),
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("Ctrl-C received: finishing requests in flight");
    }
}

/// The server's clock for `serve`: the `wall` clock, or a scaled one when a speed or a start is
/// given (at `config.clock_speed`). A scaled clock continues where the last scaled run's clock has
/// got to by now (its mapping is kept in the database), so a restart never moves it back; an
/// explicit `start` (`--clock-start`) sets it anew. Either way the new mapping is saved.
pub async fn server_clock(
    db: &Db,
    config: &Config,
    speed: Option<f64>,
    start: Option<chrono::DateTime<chrono::Utc>>,
    wall: SharedClock,
) -> anyhow::Result<SharedClock> {
    if speed.is_none() && start.is_none() {
        return Ok(wall);
    }
    let wall_now = wall.now();
    let saved = resiflex_store::clock::anchor(db)
        .await
        .context("reading the saved clock")?;
    let begin = resiflex_domain::clock::resume_at(saved.as_ref(), start, wall_now);
    let clock = resiflex_domain::ScaledClock::new(begin, config.clock_speed)?;
    resiflex_store::clock::save_anchor(
        db,
        &resiflex_domain::clock::ClockAnchor {
            clock_at: begin,
            wall_at: wall_now,
            speed: clock.speed(),
        },
    )
    .await
    .context("saving the clock")?;
    let resumed = saved.is_some() && start.is_none();
    tracing::info!(start = %begin, speed = clock.speed(), resumed, "the server's clock is scaled");
    Ok(Arc::new(clock))
}

/// The default clock for a real server.
pub fn system_clock() -> SharedClock {
    Arc::new(SystemClock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_clock_ticks_more_often_in_wall_time() {
        assert_eq!(control_period(30, 1.0), Duration::from_secs(30));
        assert_eq!(control_period(30, 600.0), Duration::from_millis(50));
        assert_eq!(control_period(30, 0.5), Duration::from_secs(60));
        assert_eq!(
            control_period(0, 1.0),
            Duration::from_secs(1),
            "at least a second of clock time"
        );
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(control_period(30, bad), Duration::from_secs(30), "{bad}");
        }
    }
}
