//! Rate limits: a token bucket per client address and one per known device.
//!
//! 1. **Per address**, before anything else is done for a request (before
//!    its body is read): at most [`Limits::address_rate`] requests a second
//!    on average, with bursts of up to its burst. `/healthz`, `/readyz`,
//!    `/metrics` and the JWKS are not limited (probes and scrapers).
//! 2. **Per device**, for an upload of a device the store knows, after its
//!    row is read and before any MAC is computed: at most
//!    [`Limits::device_rate`]. Nothing is kept for a device id the store
//!    does not know (the upload is answered 404 before this).
//!
//! Past either: `429 Too Many Requests` with `Retry-After` (whole seconds
//! until a token is back) and a JSON error, counted in `/metrics`
//! (`offline_auth_rate_limited{scope}`). A refused request costs one map
//! look-up: its body is not read, and the connection is closed after the
//! answer.
//!
//! Memory bound: each map keeps at most [`Limits::rate_tracked_max`]
//! entries (65 536 by default), in two
//! generations of half that: when the current one is full, the previous
//! is dropped and the current becomes the previous; an entry used again is
//! moved back to the current one. A stranger who rotates addresses or
//! device ids therefore evicts the oldest entries (whose owners get a full
//! bucket back: a limit a flood can weaken, never memory it can grow). An
//! entry is about 100 bytes plus its key (a device id is at most
//! `MAX_CLAIM_LEN` bytes): a few MiB per map at most.
//!
//! Behind a reverse proxy every request comes from the proxy's address:
//! with [`Limits::address_from_forwarded_for`] the address is the last one
//! in `X-Forwarded-For` (the one the proxy itself appended; the ones before
//! it are the client's word), and the peer address otherwise.
//!
//! Why our own small map and not the `governor` crate: governor's keyed
//! limiter keeps a `DashMap` that grows with every key until its owner
//! calls `retain_recent`, so the bound would be ours to enforce anyway;
//! and it would add several crates (dashmap, quanta, nonzero_ext, ...) for
//! what is forty lines of arithmetic here.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::limits::{Limits, Rate};
use crate::metrics::Scope;
use crate::ApiError;

/// One key's bucket: tokens left, as of `at`.
#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key, bounded (module doc).
pub(crate) struct Buckets<K> {
    rate: Option<Rate>,
    cap: usize,
    generations: Mutex<(HashMap<K, Bucket>, HashMap<K, Bucket>)>,
}

impl<K: Hash + Eq> Buckets<K> {
    pub(crate) fn new(rate: Option<Rate>, cap: usize) -> Self {
        Self { rate, cap: cap.max(2), generations: Mutex::new((HashMap::new(), HashMap::new())) }
    }

    /// Takes a token for `key` at `now`: `Ok`, or the seconds until one is back.
    pub(crate) fn take<Q>(&self, key: &Q, now: Instant) -> Result<(), u64>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let Some(rate) = self.rate else { return Ok(()) };
        let (burst, per_sec) = (f64::from(rate.burst), f64::from(rate.per_second.max(1)));
        let mut guard = self.generations.lock().unwrap_or_else(PoisonError::into_inner);
        let (current, previous) = &mut *guard;
        let found = match current.get(key) {
            Some(bucket) => Some(*bucket),
            None => previous.remove(key),
        };
        let mut bucket = found.unwrap_or(Bucket { tokens: burst, at: now });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(burst);
        bucket.at = now;
        let answer = if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / per_sec).ceil().max(1.0) as u64)
        };
        if !current.contains_key(key) && current.len() >= self.cap / 2 {
            *previous = std::mem::take(current);
        }
        current.insert(key.to_owned(), bucket);
        answer
    }

    /// Entries kept now (both generations).
    pub(crate) fn tracked(&self) -> usize {
        let guard = self.generations.lock().unwrap_or_else(PoisonError::into_inner);
        guard.0.len() + guard.1.len()
    }
}

/// The server's rate limits: per address and per known device.
pub(crate) struct RateLimits {
    pub(crate) addresses: Buckets<IpAddr>,
    pub(crate) devices: Buckets<String>,
    forwarded_for: bool,
}

impl RateLimits {
    pub(crate) fn new(limits: &Limits) -> Arc<Self> {
        Arc::new(Self {
            addresses: Buckets::new(limits.address_rate, limits.rate_tracked_max),
            devices: Buckets::new(limits.device_rate, limits.rate_tracked_max),
            forwarded_for: limits.address_from_forwarded_for,
        })
    }

    /// The client's address: the peer's, or the proxy's last `X-Forwarded-For` entry.
    fn address(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        if !self.forwarded_for {
            return peer;
        }
        let forwarded = headers.get_all("x-forwarded-for").iter().next_back().and_then(|v| v.to_str().ok());
        forwarded.and_then(|v| v.rsplit(',').next()).and_then(|v| v.trim().parse().ok()).or(peer)
    }

    /// An upload of a known device: 429 past its rate.
    pub(crate) fn check_device(&self, device_id: &str) -> Result<(), ApiError> {
        self.devices.take(device_id, Instant::now()).map_err(|secs| {
            tracing::warn!(device_id, reason = "rate_limited", "request refused");
            throttled(Scope::Device, secs)
        })
    }
}

/// 429 with `Retry-After: secs`; per address, the connection is closed
/// after it (the body was not read).
fn throttled(scope: Scope, secs: u64) -> ApiError {
    let reason = "too many requests; retry later";
    let mut error = match scope {
        Scope::Address => ApiError::closing(StatusCode::TOO_MANY_REQUESTS, reason),
        Scope::Device => ApiError::new(StatusCode::TOO_MANY_REQUESTS, reason),
    };
    error.retry_after = Some(secs);
    error.throttled = Some(scope);
    if scope == Scope::Device {
        error.refusal = Some("rate_limited");
    }
    error
}

/// Middleware: the per-address limit; hands the limits on to the handlers.
pub(crate) async fn per_address(State(rate): State<Arc<RateLimits>>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    if let Some(address) = rate.address(peer, request.headers()) {
        if let Err(secs) = rate.addresses.take(&address, Instant::now()) {
            tracing::warn!(reason = "rate_limited", "request refused for its address");
            return throttled(Scope::Address, secs).into_response();
        }
    }
    request.extensions_mut().insert(rate);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_bucket_refuses_past_its_burst_and_refills_at_its_rate() {
        let buckets = Buckets::<String>::new(Some(Rate { per_second: 2, burst: 3 }), 16);
        let t = Instant::now();
        assert_eq!((0..3).map(|_| buckets.take("a", t)).collect::<Vec<_>>(), vec![Ok(()); 3]);
        assert_eq!(buckets.take("a", t), Err(1));
        assert_eq!(buckets.take("b", t), Ok(()), "another key has its own bucket");
        assert_eq!(buckets.take("a", t + Duration::from_millis(500)), Ok(()));
    }

    #[test]
    fn rotating_keys_keeps_at_most_the_bound() {
        let buckets = Buckets::<String>::new(Some(Rate { per_second: 1, burst: 1 }), 100);
        let t = Instant::now();
        for i in 0..10_000 {
            let _ = buckets.take(format!("stranger-{i}").as_str(), t);
            assert!(buckets.tracked() <= 100);
        }
    }

    #[test]
    fn behind_a_proxy_the_address_is_the_last_forwarded_entry_and_never_the_clients_word() {
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        let proxied = RateLimits::new(&Limits { address_from_forwarded_for: true, ..Limits::default() });
        assert_eq!(proxied.address(Some(peer), &headers), Some("203.0.113.7".parse().unwrap()));
        headers.insert("x-forwarded-for", "not an address".parse().unwrap());
        assert_eq!(proxied.address(Some(peer), &headers), Some(peer));
        // Off (the default): the header is the client's word, ignored.
        let direct = RateLimits::new(&Limits::default());
        headers.insert("x-forwarded-for", "203.0.113.7".parse().unwrap());
        assert_eq!(direct.address(Some(peer), &headers), Some(peer));
    }

    #[test]
    fn no_rate_keeps_nothing() {
        let buckets = Buckets::<String>::new(None, 100);
        assert_eq!(buckets.take("a", Instant::now()), Ok(()));
        assert_eq!(buckets.tracked(), 0);
    }
}
