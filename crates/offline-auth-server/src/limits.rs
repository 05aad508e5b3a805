//! What a client that holds no credentials can cost the server, bounded.
//!
//! Anyone who can reach the port can open connections and start requests
//! before any credential is checked (a batch is verified only once it has
//! arrived). So, before any per-device lock or state:
//!
//! 1. **Connections.** At most [`Limits::max_connections`] are open; one
//!    more is answered `503` with `Retry-After` by a single non-blocking
//!    write and closed, without reading from it (`listen.rs`).
//! 2. **Headers and idle keep-alive.** A connection that has not sent a
//!    whole request head within [`Limits::header_read_timeout`] of being
//!    opened, or of its previous answer, is closed (hyper's header read
//!    timer, which also covers the wait between keep-alive requests).
//!    A request head may take at most [`MAX_READ_BUFFER_BYTES`].
//! 3. **Bodies.** Every body is read whole here before its handler runs:
//!    at most the route's size limit (past it, `413`; a larger
//!    `Content-Length` is read up to the limit but nothing is kept), within [`Limits::body_read_timeout`] in
//!    all, with no gap between two chunks longer than
//!    [`Limits::body_idle_timeout`] (`408` and closed otherwise).
//! 4. **Bodies in flight.** Past its first [`FREE_BODY_BYTES`] (bounded
//!    by the connection cap), what a body being read or handled holds comes
//!    from one budget of [`Limits::body_budget_bytes`], of which one client
//!    address may hold at most [`Limits::per_address_body_bytes`]; past
//!    either, the request is answered `503` with `Retry-After` and nothing
//!    is kept (the rest of the body is read and dropped, up to the size
//!    limit, so the client reads the answer). The budget is charged for the
//!    buffer's capacity as it grows with the bytes that actually arrive
//!    (not for what the `Content-Length` promises), and given back when the
//!    answer is made.
//!
//! Memory bound: bodies in flight hold at most the budget plus
//! `max_connections` × [`FREE_BODY_BYTES`], each copied once more while its
//! batch is verified; plus about 32 KiB per open connection (read buffer
//! and connection state). With the defaults: (128 + 64) MiB × 2 + 32 MiB.
//!
//! Nothing here is kept per device, and the per-address entries vanish
//! with the address's last body: memory for a stranger's requests is
//! bounded by the connection cap and the budget, not by how many device
//! ids or requests they send.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use offline_auth_backend::MAX_BATCH_BYTES;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ApiError;

/// Largest buffer hyper keeps for one connection's reads (a request head
/// must fit in it): with [`Limits::max_connections`], what stalled
/// connections can hold in read buffers.
pub const MAX_READ_BUFFER_BYTES: usize = 16 * 1024;

/// The first allocation for a body, before it has shown how long it is.
const FIRST_BODY_CHUNK: usize = 16 * 1024;

/// The part of each body's buffer that is not charged to the budget: small
/// bodies (every honest upload of a few entries, every JSON request) are
/// never refused for want of budget. What this lets bodies hold is bounded
/// by the connection cap: [`Limits::max_connections`] × 64 KiB.
pub const FREE_BODY_BYTES: usize = 64 * 1024;

/// The server's connection, timeout and memory limits (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once; more are answered 503 and closed.
    pub max_connections: u32,
    /// Time to send a request head, from the connection's start or its previous answer.
    pub header_read_timeout: Duration,
    /// Time to send a whole body.
    pub body_read_timeout: Duration,
    /// Longest silence between two chunks of a body.
    pub body_idle_timeout: Duration,
    /// Bytes all bodies in flight may hold together.
    pub body_budget_bytes: usize,
    /// Bytes the bodies in flight from one client address may hold.
    pub per_address_body_bytes: usize,
    /// After shutdown is asked for (SIGTERM, Ctrl-C): how long requests in
    /// flight are given to finish before the connections left are cut.
    pub drain_timeout: Duration,
    /// Requests one client address may make (`None`: no limit; `rate.rs`).
    pub address_rate: Option<Rate>,
    /// Uploads one known device may make (`None`: no limit; `rate.rs`).
    pub device_rate: Option<Rate>,
    /// Take the client address from the last `X-Forwarded-For` entry (set
    /// only behind a reverse proxy that appends it; `rate.rs`).
    pub address_from_forwarded_for: bool,
    /// Most buckets each rate limit keeps (addresses; devices): the memory
    /// bound of `rate.rs`, whatever a stranger names.
    pub rate_tracked_max: usize,
}

/// A token bucket's refill rate and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Tokens added a second (requests a second, on average).
    pub per_second: u32,
    /// The bucket's size: requests that may come at once after a quiet spell.
    pub burst: u32,
}

/// Per address: 100 requests a second, bursts of 2000 (a depot of a few
/// hundred devices behind one NAT, all syncing at the start of a shift).
pub const DEFAULT_ADDRESS_RATE: Rate = Rate { per_second: 100, burst: 2000 };
/// Per device: 10 uploads a second, bursts of 600. An honest device
/// uploads one batch at a time and waits for its answer; one catching up
/// after days offline sends batch after batch (a few a second at most).
pub const DEFAULT_DEVICE_RATE: Rate = Rate { per_second: 10, burst: 600 };

impl Default for Limits {
    /// 1024 connections; 10 s for a request head (and between keep-alive
    /// requests); 60 s for a body with no gap over 10 s (a 16 MiB batch
    /// needs about 280 kB/s); 128 MiB of bodies in flight, 32 MiB (two
    /// largest batches) from one address; 30 s to drain at shutdown;
    /// [`DEFAULT_ADDRESS_RATE`] and [`DEFAULT_DEVICE_RATE`], the peer's address.
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(60),
            body_idle_timeout: Duration::from_secs(10),
            body_budget_bytes: 8 * MAX_BATCH_BYTES,
            per_address_body_bytes: 2 * MAX_BATCH_BYTES,
            drain_timeout: Duration::from_secs(30),
            address_rate: Some(DEFAULT_ADDRESS_RATE),
            device_rate: Some(DEFAULT_DEVICE_RATE),
            address_from_forwarded_for: false,
            rate_tracked_max: 65_536,
        }
    }
}

/// The shared budget for bodies in flight, and what each address holds of it.
pub(crate) struct BodyBudget {
    total: Arc<Semaphore>,
    per_address_cap: usize,
    by_address: Mutex<HashMap<Option<IpAddr>, usize>>,
    reading: AtomicUsize,
}

impl BodyBudget {
    pub(crate) fn new(limits: &Limits) -> Arc<Self> {
        Arc::new(Self {
            total: Arc::new(Semaphore::new(limits.body_budget_bytes.min(Semaphore::MAX_PERMITS))),
            per_address_cap: limits.per_address_body_bytes,
            by_address: Mutex::new(HashMap::new()),
            reading: AtomicUsize::new(0),
        })
    }

    /// Addresses holding part of the budget now.
    pub(crate) fn addresses_holding(&self) -> usize {
        self.by_address.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    /// Bodies being read, or held while their handler runs, now.
    pub(crate) fn bodies_in_flight(&self) -> usize {
        self.reading.load(Ordering::SeqCst)
    }
}

/// One body's buffer capacity and its share of the budget (the capacity
/// past [`FREE_BODY_BYTES`]), given back on drop.
struct Share {
    budget: Arc<BodyBudget>,
    address: Option<IpAddr>,
    capacity: usize,
    charged: usize,
    permit: Option<OwnedSemaphorePermit>,
}

impl Share {
    fn new(budget: Arc<BodyBudget>, address: Option<IpAddr>) -> Self {
        budget.reading.fetch_add(1, Ordering::SeqCst);
        Self { budget, address, capacity: 0, charged: 0, permit: None }
    }

    /// Grows the capacity to `capacity`, charging the budget for what is
    /// past the free part; refuses without waiting.
    fn grow_to(&mut self, capacity: usize) -> Result<(), ApiError> {
        let busy = || {
            ApiError::retry_later(
                crate::metrics::Unavailable::Budget,
                "the server is busy with other uploads; retry later",
            )
        };
        let more = capacity.saturating_sub(FREE_BODY_BYTES).saturating_sub(self.charged);
        if more > 0 {
            let count = u32::try_from(more).map_err(|_| busy())?;
            let permit = self.budget.total.clone().try_acquire_many_owned(count).map_err(|_| busy())?;
            let mut held = self.budget.by_address.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let mine = held.entry(self.address).or_insert(0);
            if mine.saturating_add(more) > self.budget.per_address_cap {
                if *mine == 0 {
                    held.remove(&self.address);
                }
                return Err(busy()); // the permit goes back as it drops
            }
            *mine += more;
            self.charged += more;
            match &mut self.permit {
                Some(permit_held) => permit_held.merge(permit),
                None => self.permit = Some(permit),
            }
        }
        self.capacity = capacity;
        Ok(())
    }

    /// Gives the charged part back (the body is dropped or refused).
    fn give_back(&mut self) {
        self.permit = None;
        if self.charged > 0 {
            let mut held = self.budget.by_address.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(mine) = held.get_mut(&self.address) {
                *mine = mine.saturating_sub(self.charged);
                if *mine == 0 {
                    held.remove(&self.address);
                }
            }
        }
        self.charged = 0;
        self.capacity = 0;
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        self.give_back();
        self.budget.reading.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How the bodies of one group of routes are read.
#[derive(Clone)]
pub(crate) struct BodyReader {
    pub(crate) budget: Arc<BodyBudget>,
    pub(crate) max_bytes: usize,
    pub(crate) total: Duration,
    pub(crate) idle: Duration,
}

/// Middleware: reads the request's body whole, bounded (module doc), then
/// runs the handler with it; the body's share of the budget is held until
/// the answer is made.
pub(crate) async fn read_body(State(reader): State<BodyReader>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let address = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    match reader.read(address, parts.headers.get(header::CONTENT_LENGTH), body).await {
        Ok((bytes, share)) => {
            let answer = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            drop(share);
            answer
        }
        Err(error) => error.into_response(),
    }
}

impl BodyReader {
    async fn read(
        &self,
        address: Option<IpAddr>,
        declared: Option<&header::HeaderValue>,
        mut body: Body,
    ) -> Result<(Bytes, Share), ApiError> {
        let too_large = || ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "the body exceeds the size limit");
        let declared = declared.and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        let mut share = Share::new(self.budget.clone(), address);
        let mut buffer: Vec<u8> = Vec::new();
        // Once refused (a `Content-Length` past the limit, or no room in the
        // budget), the rest is read but nothing is kept, up to the limit, so
        // that a client that writes its whole body before reading gets the
        // answer rather than a reset; the answer is sent then.
        let mut refused = declared.is_some_and(|n| n > self.max_bytes as u64).then(too_large);
        let mut discarded = 0usize;
        let deadline = tokio::time::Instant::now() + self.total;
        loop {
            let wait = (tokio::time::Instant::now() + self.idle).min(deadline);
            let frame = match tokio::time::timeout_at(wait, body.frame()).await {
                Err(_) => return Err(ApiError::closing(StatusCode::REQUEST_TIMEOUT, "the body was not sent in time")),
                Ok(None) => break,
                Ok(Some(Err(_))) => {
                    return Err(ApiError::closing(StatusCode::BAD_REQUEST, "the body could not be read"))
                }
                Ok(Some(Ok(frame))) => frame,
            };
            let Ok(data) = frame.into_data() else { continue };
            if let Some(error) = refused.take() {
                discarded = discarded.saturating_add(data.len());
                if discarded > self.max_bytes {
                    return Err(error);
                }
                refused = Some(error);
                continue;
            }
            let needed = buffer.len().checked_add(data.len()).filter(|n| *n <= self.max_bytes).ok_or_else(too_large)?;
            if needed > share.capacity {
                // Grow by doubling (to at most the limit), charged before allocating.
                let target = needed.max(share.capacity.saturating_mul(2)).max(FIRST_BODY_CHUNK).min(self.max_bytes);
                if let Err(error) = share.grow_to(target) {
                    (buffer, discarded, refused) = (Vec::new(), needed, Some(error));
                    share.give_back();
                    continue;
                }
                buffer.reserve_exact(target - buffer.len());
            }
            buffer.extend_from_slice(&data);
        }
        match refused {
            Some(error) => Err(error),
            None => Ok((Bytes::from(buffer), share)),
        }
    }
}
