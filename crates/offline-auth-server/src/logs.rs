//! Logs: `tracing` events and spans, a request id per request, and the
//! subscriber the binary installs (text, or JSON lines with `--log-json`
//! or `OFFLINE_AUTH_LOG=json`; the level from `RUST_LOG`, `info` if unset).
//!
//! Every request gets an `x-request-id`: the client's if it sent a short
//! printable one, else the next number of this process. It is set on the
//! request (so the `request` span of tower-http's `TraceLayer` names it)
//! and returned on the answer (so a client's report can be found in the
//! logs). The span names the method and the path, never the query or a
//! header's value: the query carries only the device id, which the
//! handlers' own events name, and no header is worth the risk of a
//! credential (`Authorization`) in a log line.
//!
//! What is never logged, here or in the backend crate's spans: a key, a
//! MAC or its input, a grant token, a record value, a password.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnRequest, DefaultOnResponse, MakeSpan, TraceLayer};
use tracing::Level;

/// The request id header, read from the client and set on the answer.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id taken from a client (longer ones are replaced).
const MAX_CLIENT_REQUEST_ID: usize = 64;

static NEXT_REQUEST_ID: AtomicU64 = AtomicU64::new(1);

/// Gives the request an id (the client's, if short and printable) and
/// returns it on the answer.
pub(crate) async fn request_id(mut request: Request<Body>, next: Next) -> Response {
    let given = request
        .headers()
        .get(&REQUEST_ID)
        .filter(|v| v.len() <= MAX_CLIENT_REQUEST_ID && v.as_bytes().iter().all(|b| b.is_ascii_graphic()))
        .cloned();
    let id = given.unwrap_or_else(|| HeaderValue::from(NEXT_REQUEST_ID.fetch_add(1, Ordering::Relaxed)));
    request.headers_mut().insert(REQUEST_ID, id.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

/// The `request` span: method, path and request id (no query, no header).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> tracing::Span {
        let id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
        tracing::info_span!("request", method = %request.method(), path = request.uri().path(), request_id = id)
    }
}

/// tower-http's trace layer with [`RequestSpan`]: an event as each request
/// starts and as its answer is made (status and latency).
pub(crate) fn trace_layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan> {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        .on_request(DefaultOnRequest::new().level(Level::DEBUG))
        .on_response(DefaultOnResponse::new().level(Level::INFO))
}

/// Whether the binary's logs are JSON lines: its `--log-json` flag, or
/// `OFFLINE_AUTH_LOG=json`.
pub fn wants_json(flag: bool) -> bool {
    flag || std::env::var("OFFLINE_AUTH_LOG").is_ok_and(|v| v.eq_ignore_ascii_case("json"))
}

/// Installs the process's subscriber: to stderr, as text or JSON lines,
/// filtered by `RUST_LOG` (`info` if unset or unreadable).
///
/// # Errors
/// A subscriber was already installed.
pub fn init_logging(json: bool) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().with_current_span(true).with_span_list(true).try_init()
    } else {
        builder.with_ansi(false).try_init()
    }
}
