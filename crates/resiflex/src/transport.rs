//! Serving HTTP connections: HTTP/1.1 through hyper with a header read timeout (a client that trickles
//! its headers, or holds a keep-alive connection idle, is cut off), a cap on the connections open at
//! once from one client address, WebSocket upgrades (OCPP), and a graceful stop that lets requests in
//! flight finish.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub struct Transport {
    /// How long a client may take to send a request's headers, or leave a connection idle.
    pub header_read_timeout: Duration,
    /// Connections open at once from one address (0: no limit).
    pub max_connections_per_address: usize,
}

impl Transport {
    pub fn from_config(http: &resiflex_api::HttpConfig) -> Transport {
        Transport {
            header_read_timeout: Duration::from_secs(http.header_read_timeout_secs.max(1)),
            max_connections_per_address: http.max_connections_per_address,
        }
    }
}

/// Counts the open connections of each client address.
#[derive(Debug, Clone)]
pub struct ConnectionLimiter {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Admitted {
    limiter: ConnectionLimiter,
    ip: IpAddr,
}

impl ConnectionLimiter {
    /// A limiter of `max` connections per address (0: no limit).
    pub fn new(max: usize) -> ConnectionLimiter {
        ConnectionLimiter {
            max,
            open: Arc::default(),
        }
    }

    /// Admits a connection from `ip`, or refuses it when that address has `max` open already.
    pub fn admit(&self, ip: IpAddr) -> Option<Admitted> {
        let ip = ip.to_canonical();
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_insert(0);
        if self.max > 0 && *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Admitted {
            limiter: self.clone(),
            ip,
        })
    }

    /// The connections open from `ip`.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&ip.to_canonical()).copied().unwrap_or(0)
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self
            .limiter
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Resolves once the stop flag is raised (or its sender is gone).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting, lets every
/// connection finish the request it is serving, and returns once all are closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    transport: Transport,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let limiter = ConnectionLimiter::new(transport.max_connections_per_address);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(transport.header_read_timeout);
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(admitted) = limiter.admit(remote.ip()) else {
            metrics::counter!("resiflex_http_connections_refused_total", "reason" => "per_address_limit")
                .increment(1);
            tracing::debug!(client = %remote.ip(), "refused a connection: too many from this address");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let http = http.clone();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let _admitted = admitted;
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(remote));
                    app.clone().oneshot(request)
                });
            let connection = http
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(err) = result {
                        tracing::debug!(client = %remote.ip(), error = %err, "connection ended with an error");
                    }
                }
                () = stopped(&mut stopping) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    drop(listener);
    let _ = stop.send(true);
    drop(stopping);
    // Every connection task holds a receiver; all are gone once the last connection closed.
    stop.closed().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_counts_per_address_and_frees_places() {
        let limiter = ConnectionLimiter::new(2);
        let one: IpAddr = "127.0.0.1".parse().unwrap();
        let two: IpAddr = "127.0.0.2".parse().unwrap();
        let a = limiter.admit(one).unwrap();
        let b = limiter.admit(one).unwrap();
        assert!(limiter.admit(one).is_none(), "the third from one address");
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert!(
            limiter.admit(mapped).is_none(),
            "the same address over IPv6"
        );
        let c = limiter.admit(two).unwrap();
        assert_eq!(limiter.open_from(one), 2);
        drop(a);
        assert_eq!(limiter.open_from(one), 1);
        let d = limiter.admit(one).unwrap();
        drop((b, c, d));
        assert_eq!(limiter.open_from(one), 0);
        assert_eq!(limiter.open_from(two), 0);
        let unlimited = ConnectionLimiter::new(0);
        let many: Vec<_> = (0..1000).filter_map(|_| unlimited.admit(one)).collect();
        assert_eq!(many.len(), 1000);
    }
}
