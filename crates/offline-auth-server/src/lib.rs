//! The reference sync server: what a backend does with offline-auth, small
//! enough to read. axum on loopback; state in SQLite (the default, one
//! process) or PostgreSQL (the `postgres` feature: several stateless
//! instances share one database).
//!
//! - `POST /challenge` `{user, password, device_id}` → `{challenge,
//!   expires_at}` when attestation is on ([`attest`]): single-use, short-lived.
//! - `POST /enroll` `{user, password, device_id}` → `{grant, sync_key, jwks}`:
//!   after a (toy) password check, issues an offline grant and provisions the
//!   device's sync key. With attestation on it also carries `challenge` and
//!   `evidence`, verified under the policy, which sets the grant's window.
//! - `POST /sync?device_id=…` with the raw batch bytes
//!   (`Content-Type: application/octet-stream`) → `{receipt, acknowledged_seq,
//!   applied, duplicates}`: verifies with `SyncVerifier` from the stored
//!   cursor, outside any transaction, then in one transaction locks the
//!   device, checks that its cursor is still the one verified from, applies
//!   the operations, advances the cursor and records the receipt. If another
//!   upload (perhaps on another instance) moved the cursor meanwhile, the
//!   batch is verified again from the new cursor: what it adds is applied,
//!   what it overlaps is not, and a batch that adds nothing is answered with
//!   the current receipt. `receipt` (base64url) is what the device
//!   acknowledges with.
//! - `POST /renew` `{user, password, device_id, nonce?}` → `{grant}`: the
//!   device's renewal nonce, if sent, is signed into the grant (a fresh
//!   renewal, docs/TIME.md).
//! - `POST /admin/devices/{id}/revoke` `{reason}` with the admin bearer
//!   token → `{device_id, reason, at}` ([`admin`]; off without a token): no
//!   grant is issued for the device any more, and its uploads are judged
//!   by the revocation policy (403 `device_revoked` for what is refused).
//!
//! Every answer, success or error, carries `server_time` (seconds since the
//! epoch), for the device's `PinVault::note_server_time`.
//! - `GET /records` with HTTP Basic credentials → that user's records, for
//!   the demo and the tests.
//! - `GET /healthz` → `{"status": "up"}`: the process answers.
//! - `GET /readyz` → `{"status": "ready"}` when the database answers and
//!   every migration is applied; 503 with `Retry-After` otherwise.
//! - `GET /.well-known/jwks.json` → the issuer's public keys (a JWKS, the
//!   one key the server holds), cacheable for [`JWKS_MAX_AGE_SECS`].
//! - `GET /escrow-key` → `{escrow_key}`: the escrow public key signed by
//!   the issuer, for `VaultConfig::escrow_key` (404 without escrow keys).
//! - `POST /salvage?device_id=…` with a salvage upload (`PinVault::salvage`)
//!   → `{acknowledged_seq, applied, duplicates}`: the escrowed entries of a
//!   wiped device, verified and applied like `/sync` (same body limits),
//!   each once (`salvage.rs`).
//! - `GET /metrics` → the counters and histograms of [`metrics`] in the
//!   Prometheus text format (no credentials: counts only, see DEPLOYMENT.md).
//!
//! Logs are `tracing` events ([`logs`]): a span per request with its id
//! (`x-request-id`), the backend's `verify_batch` spans, an event per refusal.
//!
//! Tenancy: a device belongs to the user it was enrolled for. A batch whose
//! grants name another user or device than the one it is uploaded for is
//! refused (403), as is renewing another user's device.
//!
//! Strangers: every body is read whole before its handler runs, bounded in
//! size, time and memory, and nothing is kept per device id; connections
//! are capped and must send their request heads in time ([`limits`] has
//! every limit, its default and the memory bound; [`serve_with`] sets them).
//!
//! Every error, whatever its status, is `{"error": reason, "server_time": …}` (a
//! revoked device's also `revoked` and what was applied or refused) and
//! changes nothing (but the edits a revocation policy admits); a database that cannot be reached is 503 with `Retry-After`.
//! This is a reference, not a product: passwords are compared in clear from
//! a fixed table (real servers use their own authentication).

#[path = "local.rs"]
mod local;

pub mod admin;
pub mod attest;
mod directives;
mod error;
mod handlers;
pub mod kek;
pub mod limits;
mod listen;
pub mod logs;
pub mod metrics;
mod operator;
mod operator_html;
mod probes;
mod rate;
mod revoked;
mod salvage;
pub mod store;
mod stretch;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

pub use admin::Admin;
pub use attest::Attestation;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;
pub use error::ApiError;
pub(crate) use error::{bad_request, unknown_device};
pub use limits::{Limits, Rate};
#[doc(hidden)]
pub use listen::Probe;
pub use local::LocalServer;
pub use metrics::Metrics;
pub use offline_auth_backend::RevocationPolicy;
use offline_auth_backend::{GrantIssuer, StaticEscrowKeys, SyncVerifier, MAX_BATCH_BYTES};
use store::Store;

/// Collections a grant allows.
pub const SCOPES: [&str; 2] = ["inspections", "notes"];
/// Length of the offline window a grant gives.
pub const OFFLINE_WINDOW_SECS: i64 = 3 * 24 * 3600;
/// The demo's users and their passwords.
pub const USERS: [(&str, &str); 2] = [("amira", "correct horse battery"), ("jonas", "staple tuna")];
/// Largest JSON body accepted.
const MAX_JSON_BYTES: usize = 16 * 1024;
/// Largest enrolment body accepted: room for an attestation chain
/// (Android's are 3 to 5 certificates of up to about 1.5 KiB, base64).
const MAX_ENROLL_BYTES: usize = 32 * 1024;
/// How long a client may cache `/.well-known/jwks.json` (`Cache-Control:
/// max-age`): during a rotation, publish the new key at least this long
/// before signing with it; a key dropped from the set stays trusted by
/// caches for up to this long (DEPLOYMENT.md, "Issuer key rotation").
pub const JWKS_MAX_AGE_SECS: u64 = 3600;
/// Seconds a client is told to wait (`Retry-After`) when the database is unavailable.
pub const RETRY_AFTER_SECS: u64 = 1;

/// What the handlers share.
pub struct AppState {
    store: Arc<dyn Store>,
    issuer: Arc<GrantIssuer>,
    verifier: Arc<SyncVerifier>,
    metrics: Arc<Metrics>,
    /// The admin endpoint's token (off without one) and the revocation policy.
    admin: Admin,
    /// The escrow keys and the salvage opener, once set ([`AppState::set_escrow_keys`]).
    escrow: std::sync::OnceLock<Arc<salvage::Escrow>>,
    /// Attested enrolment and signed uploads (`None`: off, the grants get
    /// [`OFFLINE_WINDOW_SECS`] and uploads are not signed).
    attestation: Option<Arc<Attestation>>,
    // Nothing per device: uploads of one device may run at once (on this
    // instance or several); the store's row lock and cursor re-check apply
    // each edit once. A map of per-device locks here would grow with every
    // device id a stranger names (issue 26).
}

/// The server's time, seconds since the epoch: carried by every JSON answer
/// as `server_time`.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl AppState {
    /// Opens (or creates) the server's SQLite database; the issuer key is
    /// created once and kept there, so a restarted server honours its own grants.
    /// Keys are kept in plain bytes (no KEK: see [`store::sealed::SealedStore`]
    /// for keys at rest); a key wrapped under a KEK is refused, not misread.
    ///
    /// # Errors
    /// The database's, or the issuer's.
    pub fn open(path: &Path) -> Result<Arc<Self>, Box<dyn std::error::Error>> {
        Self::open_with(path, None)
    }

    /// [`AppState::open`] with `attestation` on.
    ///
    /// # Errors
    /// The database's, or the issuer's.
    pub fn open_with(
        path: &Path,
        attestation: Option<Arc<Attestation>>,
    ) -> Result<Arc<Self>, Box<dyn std::error::Error>> {
        let rows = Arc::new(store::sqlite::SqliteStore::open(path)?);
        let store = Arc::new(store::sealed::SealedStore::new(rows, None));
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        runtime.block_on(Self::with_store_and_attestation(store, attestation))
    }

    /// Connects to PostgreSQL at `url` (migrating its schema); every
    /// instance given the same database shares one issuer key and all state.
    ///
    /// # Errors
    /// The database's, or the issuer's.
    #[cfg(feature = "postgres")]
    pub async fn open_postgres(url: &str) -> Result<Arc<Self>, Box<dyn std::error::Error>> {
        let rows = Arc::new(store::postgres::PgStore::connect(url).await?);
        Self::with_store(Arc::new(store::sealed::SealedStore::new(rows, None))).await
    }

    /// The state over `store`: its issuer key, stored now if it has none.
    ///
    /// # Errors
    /// The store's, or the issuer's.
    pub async fn with_store(store: Arc<dyn Store>) -> Result<Arc<Self>, Box<dyn std::error::Error>> {
        Self::with_store_and_attestation(store, None).await
    }

    /// The state over `store` with `attestation` (`None`: off).
    ///
    /// # Errors
    /// The store's, or the issuer's.
    pub async fn with_store_and_attestation(
        store: Arc<dyn Store>,
        attestation: Option<Arc<Attestation>>,
    ) -> Result<Arc<Self>, Box<dyn std::error::Error>> {
        let candidate = GrantIssuer::generate("reference-server-1")?;
        let (kid, key) = store.issuer_key((candidate.kid(), candidate.private_key()?)).await?;
        let issuer = GrantIssuer::new(&kid, key)?;
        let verifier = SyncVerifier::new(vec![issuer.issuer_key()])?;
        let (escrow, metrics) = (std::sync::OnceLock::new(), Arc::new(Metrics::new()));
        Ok(Arc::new(Self { store, issuer, verifier, metrics, admin: Admin::default(), escrow, attestation }))
    }

    /// The same state with the admin endpoint and revocation policy of `admin`.
    pub fn with_admin(self: &Arc<Self>, admin: Admin) -> Arc<Self> {
        Arc::new(Self {
            store: self.store.clone(),
            issuer: self.issuer.clone(),
            verifier: self.verifier.clone(),
            metrics: self.metrics.clone(),
            admin,
            escrow: self.escrow.clone(),
            attestation: self.attestation.clone(),
        })
    }

    /// Turns on escrowed edits with the escrow private `keys` (devices are
    /// given the last one, signed by the issuer at `now`). Once per state.
    ///
    /// # Errors
    /// A key that is not an X25519 key, a signer failure, or keys set already.
    pub fn set_escrow_keys(&self, keys: StaticEscrowKeys, now: i64) -> Result<(), Box<dyn std::error::Error>> {
        let escrow = salvage::Escrow::new(&self.issuer, self.verifier.clone(), keys, now)?;
        self.escrow.set(Arc::new(escrow)).map_err(|_| "the escrow keys are set already".into())
    }
}

/// The routes with the default [`Limits`].
pub fn router(state: Arc<AppState>) -> Router {
    router_with(state, &Limits::default())
}

/// The routes; every body is read whole, bounded in size, time and memory
/// (the [`limits`] module), before its handler runs.
pub fn router_with(state: Arc<AppState>, limits: &Limits) -> Router {
    router_and_probe(state, limits).0
}

fn router_and_probe(state: Arc<AppState>, limits: &Limits) -> (Router, Probe) {
    let metrics = state.metrics.clone();
    let budget = limits::BodyBudget::new(limits);
    let reader = |max_bytes| limits::BodyReader {
        budget: budget.clone(),
        max_bytes,
        total: limits.body_read_timeout,
        idle: limits.body_idle_timeout,
    };
    let enroll = Router::new()
        .route("/enroll", post(handlers::enroll))
        .layer(DefaultBodyLimit::max(MAX_ENROLL_BYTES))
        .route_layer(from_fn_with_state(reader(MAX_ENROLL_BYTES), limits::read_body));
    let json_routes = Router::new()
        .route("/challenge", post(handlers::challenge))
        .route("/renew", post(handlers::renew))
        .route("/admin/devices/{id}/revoke", post(admin::revoke))
        .route("/admin/devices/{id}/directives", post(admin::directive))
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        .route_layer(from_fn_with_state(reader(MAX_JSON_BYTES), limits::read_body));
    let sync = Router::new()
        .route("/sync", post(handlers::sync))
        .layer(DefaultBodyLimit::max(MAX_BATCH_BYTES))
        .route_layer(from_fn_with_state(reader(MAX_BATCH_BYTES), limits::read_body))
        .route_layer(from_fn_with_state(metrics.clone(), metrics::observe_upload))
        .route_layer(from_fn_with_state(state.clone(), operator::note_upload));
    // The operator's page (off without an admin token): its form posts are small.
    let operator = Router::new()
        .route("/operator", get(operator::show))
        .route("/operator/login", post(operator::login))
        .route("/operator/devices/{id}/{action}", post(operator::act))
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        .route_layer(from_fn_with_state(reader(MAX_JSON_BYTES), limits::read_body));
    // A salvage upload has a batch's size limit, and the same body limits.
    let salvage = Router::new()
        .route("/salvage", post(salvage::salvage))
        .layer(DefaultBodyLimit::max(offline_auth_proto::salvage::MAX_SALVAGE_BYTES))
        .route_layer(from_fn_with_state(reader(offline_auth_proto::salvage::MAX_SALVAGE_BYTES), limits::read_body));
    // Every route but the probes, the scrapers' and the JWKS: rate-limited per address.
    let rate = rate::RateLimits::new(limits);
    let limited = Router::new()
        .merge(enroll)
        .merge(json_routes)
        .merge(sync)
        .merge(salvage)
        .merge(operator)
        .route("/escrow-key", get(salvage::escrow_key))
        .route("/records", get(handlers::records))
        .route_layer(from_fn_with_state(rate.clone(), rate::per_address));
    let router = Router::new()
        .merge(limited)
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .route("/.well-known/jwks.json", get(probes::jwks))
        .route("/metrics", get(metrics::serve))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed on this endpoint")
        })
        .with_state(state)
        .layer(from_fn_with_state(metrics.clone(), metrics::count_unavailable))
        .layer(logs::trace_layer())
        .layer(axum::middleware::from_fn(logs::request_id));
    (router, Probe::new(budget, metrics, rate))
}

/// The body, or a JSON error (413 past the limit) instead of axum's text.
fn body_or_error(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))
}

/// Refuses a body whose `Content-Type` is not `expected` (415).
fn require_content_type(headers: &HeaderMap, expected: &str) -> Result<(), ApiError> {
    let given = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = given.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("expected Content-Type: {expected}")))
    }
}

/// Serves on `addr` with the default [`Limits`] until `shutdown` resolves;
/// reports the bound address.
///
/// # Errors
/// Binding or serving failed.
pub async fn serve(
    state: Arc<AppState>,
    addr: SocketAddr,
    bound: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(state, addr, Limits::default(), bound, shutdown).await
}

/// Serves on `addr` with `limits` until `shutdown` resolves, then closes
/// the port and lets the requests in flight finish (idle connections are
/// closed at once), for at most [`Limits::drain_timeout`]; reports the
/// bound address.
///
/// # Errors
/// Binding failed.
pub async fn serve_with(
    state: Arc<AppState>,
    addr: SocketAddr,
    limits: Limits,
    bound: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    bound(listener.local_addr()?);
    let (router, probe) = router_and_probe(state, &limits);
    listen::run(listener, router, &limits, probe, shutdown).await;
    Ok(())
}
