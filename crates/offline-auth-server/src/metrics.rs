//! What the server counts, served at `GET /metrics` in the Prometheus text
//! format (OpenMetrics), for an operator's scraper.
//!
//! One [`Metrics`] per server state, with its own registry (no global one:
//! tests run servers side by side). Every label takes its value from a
//! fixed set named here or in `RejectReason::as_str`, and every labelled
//! series exists from the start at zero (so an alert on a rate sees it
//! before its first event). Nothing is labelled by device, user or address:
//! a stranger naming new device ids must not grow the registry.
//!
//! How the counts are taken: the handlers and `ApiError` put what an answer
//! means (an [`Upload`] outcome, a refusal's reason, an [`Unavailable`]
//! cause) in the response's extensions; [`observe_upload`] (around
//! `/sync`) and [`count_unavailable`] (around every route) read them, so
//! an answer made anywhere, the body reader's included, is counted once.
//! The connection cap's 503 is made before any route and counted by the
//! accept loop ([`Metrics::unavailable`]).
//!
//! `/metrics` needs no credentials (decision in DEPLOYMENT.md, "Metrics
//! and logs"): it shows counts and latencies of the whole server, no
//! device, user, key or value.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use offline_auth_backend::{RejectReason, SyncOperation};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::AppState;

/// The clock-stretching sign (docs/TIME.md): an upload whose new entries'
/// boot count rises by at least this much...
pub const STRETCH_MIN_BOOT_RISE: u32 = 3;
/// ...while their times advance by less than this many minutes per boot.
/// A restart takes a minute or two; an honest device that restarts often
/// is also in use between restarts.
pub const STRETCH_MAX_MINUTES_PER_BOOT: i64 = 10;

/// What an upload came to, as a response extension and a label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Upload {
    /// New entries applied (and `duplicates` replayed ones skipped).
    Applied { entries: u64, duplicates: u64, stretched: bool },
    /// Nothing new: a replay, or a race lost to an upload that applied it.
    Duplicate { duplicates: u64 },
    /// The device's queue parted from the applied chain; nothing applied.
    Diverged,
}

/// Why a request was answered 503, as a response extension and a label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Unavailable {
    /// The bodies budget (or an address's share of it) is spent.
    Budget,
    /// The connection cap was reached (counted by the accept loop).
    Connections,
    /// The database did not answer in time.
    Database,
    /// Uploads of one device kept moving its cursor under this one.
    Contention,
}

impl Unavailable {
    const ALL: [Self; 4] = [Self::Budget, Self::Connections, Self::Database, Self::Contention];

    fn as_str(self) -> &'static str {
        match self {
            Self::Budget => "budget",
            Self::Connections => "connections",
            Self::Database => "database",
            Self::Contention => "contention",
        }
    }
}

/// A refused upload's reason label, as a response extension: one of
/// `RejectReason::as_str` or the server's own [`SERVER_REFUSALS`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Refusal(pub &'static str);

/// Refusals the server makes itself (the backend's are `RejectReason`'s):
/// a batch for another device or user (403), a device the store does not
/// know (404), a request that is not an upload at all (400, 408, 415), an
/// upload of a revoked device (403, its edits after the revocation), and,
/// with attestation on, an upload without a valid device signature
/// (`UploadRefusal::as_str`: 403).
pub(crate) const SERVER_REFUSALS: [&str; 7] = [
    "other_tenant",
    "unknown_device",
    "bad_request",
    "device_revoked",
    "signature_missing",
    "no_attested_key",
    "signature_invalid",
];

/// The store calls that are timed, as a label.
#[derive(Clone, Copy, Debug)]
pub(crate) enum DbOp {
    Device,
    Applied,
    Apply,
    Enroll,
    Renew,
    Records,
    Ready,
    Revocation,
}

impl DbOp {
    const ALL: [Self; 8] = [
        Self::Device,
        Self::Applied,
        Self::Apply,
        Self::Enroll,
        Self::Renew,
        Self::Records,
        Self::Ready,
        Self::Revocation,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Device => "device",
            Self::Applied => "applied",
            Self::Apply => "apply",
            Self::Enroll => "enroll",
            Self::Renew => "renew",
            Self::Records => "records",
            Self::Ready => "ready",
            Self::Revocation => "revocation",
        }
    }
}

const OUTCOMES: [&str; 6] = ["applied", "duplicate", "refused", "diverged", "unavailable", "failed"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabel {
    cause: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

/// 0.5 ms to about 8 s, doubling.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// The server's counters and histograms, and the registry that serves them.
pub struct Metrics {
    registry: Registry,
    uploads: Family<OutcomeLabel, Counter>,
    entries_applied: Counter,
    entries_duplicated: Counter,
    refusals: Family<ReasonLabel, Counter>,
    enrolment_refusals: Family<ReasonLabel, Counter>,
    unavailable: Family<CauseLabel, Counter>,
    clock_stretch: Counter,
    verification: Histogram,
    database: Family<OperationLabel, Histogram, fn() -> Histogram>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric registered, every labelled series at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("offline_auth");
        let uploads = Family::<OutcomeLabel, Counter>::default();
        for outcome in OUTCOMES {
            let _ = uploads.get_or_create(&OutcomeLabel { outcome });
        }
        let refusals = Family::<ReasonLabel, Counter>::default();
        for reason in RejectReason::ALL.iter().map(|r| r.as_str()).chain(SERVER_REFUSALS) {
            let _ = refusals.get_or_create(&ReasonLabel { reason });
        }
        let unavailable = Family::<CauseLabel, Counter>::default();
        for cause in Unavailable::ALL {
            let _ = unavailable.get_or_create(&CauseLabel { cause: cause.as_str() });
        }
        let database = Family::<OperationLabel, Histogram, fn() -> Histogram>::new_with_constructor(latency_buckets);
        for op in DbOp::ALL {
            let _ = database.get_or_create(&OperationLabel { operation: op.as_str() });
        }
        let (entries_applied, entries_duplicated, clock_stretch) = Default::default();
        let verification = latency_buckets();
        registry.register("uploads", "Uploads to /sync by outcome", uploads.clone());
        registry.register("entries_applied", "Entries applied from uploads", Counter::clone(&entries_applied));
        registry.register(
            "entries_duplicated",
            "Entries uploaded again (at or before the cursor), verified and skipped",
            Counter::clone(&entries_duplicated),
        );
        registry.register("upload_refusals", "Refused uploads by reason", refusals.clone());
        let enrolment_refusals = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "enrolment_refusals",
            "Refused attested enrolments by reason (EnrolmentRefusal::as_str)",
            enrolment_refusals.clone(),
        );
        registry.register("unavailable", "503 answers by cause", unavailable.clone());
        registry.register(
            "clock_stretch_suspected_uploads",
            "Uploads whose boot count rose while their entry times barely moved (docs/TIME.md)",
            Counter::clone(&clock_stretch),
        );
        registry.register(
            "verification_duration_seconds",
            "Time to verify one upload (MACs, grants, limits), off the async workers",
            verification.clone(),
        );
        registry.register("database_duration_seconds", "Time of each store call by operation", database.clone());
        Self {
            registry,
            uploads,
            entries_applied,
            entries_duplicated,
            refusals,
            enrolment_refusals,
            unavailable,
            clock_stretch,
            verification,
            database,
        }
    }

    /// The text a scraper reads.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String does not fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// Counts a 503 made before any route (the connection cap).
    /// An attested enrolment refused for `reason`.
    pub(crate) fn enrolment_refused(&self, reason: &'static str) {
        self.enrolment_refusals.get_or_create(&ReasonLabel { reason }).inc();
    }

    pub(crate) fn unavailable(&self, cause: Unavailable) {
        self.unavailable.get_or_create(&CauseLabel { cause: cause.as_str() }).inc();
    }

    /// Records one verification's duration.
    pub(crate) fn verified_in(&self, started: Instant) {
        self.verification.observe(started.elapsed().as_secs_f64());
    }

    /// Runs a store call, recording its duration.
    pub(crate) async fn time_db<T>(&self, op: DbOp, call: impl std::future::Future<Output = T>) -> T {
        let started = Instant::now();
        let result = call.await;
        self.database
            .get_or_create(&OperationLabel { operation: op.as_str() })
            .observe(started.elapsed().as_secs_f64());
        result
    }

    fn upload(&self, outcome: &'static str) {
        self.uploads.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    fn refused(&self, reason: &'static str) {
        self.refusals.get_or_create(&ReasonLabel { reason }).inc();
    }
}

/// Whether the new entries of one upload show the clock-stretching sign:
/// between the first and the last entry that carry a boot count, the count
/// rose by at least [`STRETCH_MIN_BOOT_RISE`] while the entry times
/// advanced by less than [`STRETCH_MAX_MINUTES_PER_BOOT`] minutes per boot.
pub fn clock_stretch_suspected(operations: &[SyncOperation]) -> bool {
    let mut booted = operations.iter().filter_map(|op| op.boots.map(|boots| (boots, op.time)));
    let Some((first_boots, first_time)) = booted.next() else { return false };
    let Some((last_boots, last_time)) = booted.next_back() else { return false };
    let rise = last_boots.saturating_sub(first_boots);
    let advanced = last_time.saturating_sub(first_time);
    rise >= STRETCH_MIN_BOOT_RISE && advanced < i64::from(rise).saturating_mul(STRETCH_MAX_MINUTES_PER_BOOT * 60)
}

/// `GET /metrics`.
pub(crate) async fn serve(State(state): State<Arc<AppState>>) -> Response {
    let mut response = state.metrics.encode().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// Around `/sync`: counts the upload by outcome, its entries, its refusal
/// reason and the clock-stretching sign, from what the answer carries.
pub(crate) async fn observe_upload(
    State(metrics): State<Arc<Metrics>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    match response.extensions().get::<Upload>() {
        Some(Upload::Applied { entries, duplicates, stretched }) => {
            metrics.upload("applied");
            metrics.entries_applied.inc_by(*entries);
            metrics.entries_duplicated.inc_by(*duplicates);
            if *stretched {
                metrics.clock_stretch.inc();
            }
        }
        Some(Upload::Duplicate { duplicates }) => {
            metrics.upload("duplicate");
            metrics.entries_duplicated.inc_by(*duplicates);
        }
        Some(Upload::Diverged) => metrics.upload("diverged"),
        None if status == StatusCode::SERVICE_UNAVAILABLE => metrics.upload("unavailable"),
        None if status.is_client_error() => {
            metrics.upload("refused");
            let reason = match response.extensions().get::<Refusal>() {
                Some(Refusal(reason)) => reason,
                None if status == StatusCode::PAYLOAD_TOO_LARGE => RejectReason::TooLarge.as_str(),
                None => "bad_request",
            };
            metrics.refused(reason);
        }
        None => metrics.upload("failed"),
    }
    response
}

/// Around every route: counts 503 answers by cause.
pub(crate) async fn count_unavailable(
    State(metrics): State<Arc<Metrics>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if let Some(cause) = response.extensions().get::<Unavailable>() {
        metrics.unavailable(*cause);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(boots: Option<u32>, time: i64) -> SyncOperation {
        SyncOperation::new(1, time, "g", "notes", "k", None, [0; 32]).with_boots(boots)
    }

    #[test]
    fn boots_climbing_while_time_stands_still_is_the_stretch_sign() {
        let t = 1_800_000_000;
        // Four restarts in five minutes.
        assert!(clock_stretch_suspected(&[op(Some(2), t), op(Some(4), t + 120), op(Some(6), t + 300)]));
        // Four restarts over a working day: honest.
        assert!(!clock_stretch_suspected(&[op(Some(2), t), op(Some(6), t + 8 * 3600)]));
        // Two restarts, however quick: under the threshold.
        assert!(!clock_stretch_suspected(&[op(Some(2), t), op(Some(4), t + 10)]));
        // No boot counts (first-release entries), or one entry: no sign.
        assert!(!clock_stretch_suspected(&[op(None, t), op(None, t + 1)]));
        assert!(!clock_stretch_suspected(&[op(Some(9), t)]));
    }
}
