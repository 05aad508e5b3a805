//! The accept loop: our own instead of `axum::serve`, which has no
//! connection cap and no header read timeout. Each connection is served by
//! hyper's HTTP/1 server with a header read timer (which also bounds the
//! idle wait between keep-alive requests) and a bounded read buffer; the
//! excess over the connection cap is answered and closed without a task
//! (the `limits` module has the whole list).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use crate::limits::{BodyBudget, Limits, MAX_READ_BUFFER_BYTES};
use crate::metrics::{Metrics, Unavailable};
use crate::rate::RateLimits;

/// What a connection over the cap is told before it is closed.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: 45\r\nConnection: close\r\n\r\n{\"error\":\"too many connections; retry later\"}";

/// Pause after a failed `accept` (out of file descriptors, say) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// A look at what a running server holds, for tests and figures.
#[doc(hidden)]
#[derive(Clone)]
pub struct Probe {
    open: Arc<AtomicUsize>,
    budget: Arc<BodyBudget>,
    metrics: Arc<Metrics>,
    rate: Arc<RateLimits>,
}

impl Probe {
    pub(crate) fn new(budget: Arc<BodyBudget>, metrics: Arc<Metrics>, rate: Arc<RateLimits>) -> Self {
        Self { open: Arc::new(AtomicUsize::new(0)), budget, metrics, rate }
    }

    /// Client addresses the per-address rate limit keeps a bucket for now.
    pub fn rate_tracked_addresses(&self) -> usize {
        self.rate.addresses.tracked()
    }

    /// Devices the per-device rate limit keeps a bucket for now.
    pub fn rate_tracked_devices(&self) -> usize {
        self.rate.devices.tracked()
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Client addresses holding part of the body budget now.
    pub fn addresses_holding_bodies(&self) -> usize {
        self.budget.addresses_holding()
    }

    /// Bodies being read, or held while their handler runs, now.
    pub fn bodies_in_flight(&self) -> usize {
        self.budget.bodies_in_flight()
    }
}

/// Serves `listener` until `shutdown` resolves, then closes the port and
/// waits, at most [`Limits::drain_timeout`], for the open connections to
/// finish (each told to close after its request in flight).
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    probe: Probe,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    let (stop, stopping) = watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_READ_BUFFER_BYTES)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => {
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refuse(stream);
            probe.metrics.unavailable(Unavailable::Connections);
            continue;
        };
        probe.open.fetch_add(1, Ordering::SeqCst);
        let (router, http, mut stopping, open) = (router.clone(), http.clone(), stopping.clone(), probe.open.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                tower_service::Service::call(&mut router.clone(), request)
            });
            let connection = http.serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = async { drop(stopping.wait_for(|stop| *stop).await) } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            open.fetch_sub(1, Ordering::SeqCst);
            drop(slot);
        });
    }
    // No new connection from here: the port is closed (a client is refused).
    drop(listener);
    let _ = stop.send(true);
    // Every slot back: every connection has finished; or the drain deadline
    // passed, and the connections left are cut when the runtime stops.
    let drained = tokio::time::timeout(limits.drain_timeout, slots.acquire_many(limits.max_connections)).await;
    if drained.is_err() {
        eprintln!(
            "drain deadline ({} s) passed: {} connection(s) cut",
            limits.drain_timeout.as_secs(),
            probe.open.load(Ordering::SeqCst)
        );
    }
}

/// Answers a connection over the cap with one non-blocking write, and closes it.
fn refuse(stream: TcpStream) {
    let _ = stream.try_write(OVER_CAPACITY);
}
