//! Escrowed edits on the reference server: `GET /escrow-key` (the signed
//! escrow public key devices configure) and `POST /salvage?device_id=…`
//! (a wiped device's escrowed entries, `PinVault::salvage`).
//!
//! The escrow private keys come from a [`StaticEscrowKeys`] (a file or an
//! environment variable, `main.rs`); without them both endpoints answer 404
//! and devices escrow nothing. A salvage is verified like an upload, by the
//! backend's [`SalvageOpener`] (which reuses the `SyncVerifier`): from the
//! stored cursor, applied in the same transaction that advances it, what
//! the cursor already covers counted as duplicates. The answer is the
//! cursor's seq, `acknowledged_seq`: the device deletes its escrowed rows
//! through it (`PinVault::forget_salvaged`). It carries no secret and needs
//! none: replaying a salvage, or rows written back, applies nothing.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use offline_auth_backend::{
    BackendError, EscrowKeyProvider, GrantIssuer, SalvageOpener, StaticEscrowKeys, SyncVerifier, VerifiedBatch,
    MAX_APPLIED_ENTRIES,
};
use offline_auth_proto::salvage::{SalvageReader, MAX_SALVAGE_BYTES};
use serde_json::{json, Value};

use crate::handlers::{other_tenant, DeviceQuery, MAX_VERIFY_ROUNDS};
use crate::metrics::{DbOp, Unavailable};
use crate::store::{Applied, DeviceState};
use crate::{bad_request, require_content_type, unknown_device, ApiError, AppState};

/// The server's escrow: the opener and the signed key devices configure.
pub(crate) struct Escrow {
    opener: Arc<SalvageOpener>,
    signed_key: String,
}

impl Escrow {
    /// The escrow of `keys`; devices are given the last key (the newest in
    /// a rotation), the others still open what was sealed to them.
    pub(crate) fn new(
        issuer: &GrantIssuer,
        verifier: Arc<SyncVerifier>,
        keys: StaticEscrowKeys,
        now: i64,
    ) -> Result<Self, BackendError> {
        let newest = keys
            .public_keys()?
            .pop()
            .ok_or_else(|| BackendError::InvalidInput { reason: "no escrow key given".into() })?;
        let signed_key = issuer.sign_escrow_key(&newest, now)?;
        let keys: Arc<dyn EscrowKeyProvider> = Arc::new(keys);
        Ok(Self { opener: Arc::new(SalvageOpener::new(verifier, keys)), signed_key })
    }
}

fn escrow_of(state: &AppState) -> Result<&Escrow, ApiError> {
    state
        .escrow
        .get()
        .map(AsRef::as_ref)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "this server holds no escrow key"))
}

/// `GET /escrow-key` → `{"escrow_key": JWS}`.
pub(crate) async fn escrow_key(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"escrow_key": escrow_of(&state)?.signed_key})))
}

/// `POST /salvage?device_id=…` with the upload bytes
/// (`application/octet-stream`) → `{acknowledged_seq, applied, duplicates}`.
pub(crate) async fn salvage(
    State(state): State<Arc<AppState>>,
    query: Result<Query<DeviceQuery>, QueryRejection>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|_| bad_request("expected ?device_id=…"))?;
    let device_id = query.device_id.as_str();
    require_content_type(&headers, "application/octet-stream")?;
    let escrow = escrow_of(&state)?;
    let body = axum::body::to_bytes(body, MAX_SALVAGE_BYTES)
        .await
        .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "the upload exceeds the size limit"))?;
    // Tenancy before anything is opened: an upload is for the device that made it.
    let mut reader = SalvageReader::open(&body).map_err(|e| ApiError::from(BackendError::from(e)))?;
    if reader.device_id != device_id {
        return Err(other_tenant(device_id, "the upload is for another device"));
    }
    let span = match reader.next_entry() {
        Ok(Some(entry)) => (entry.seq, reader.count as usize),
        _ => (0, 0), // unreadable: the opener refuses it
    };
    let mut from =
        state.metrics.time_db(DbOp::Device, state.store.device(device_id)).await?.ok_or_else(unknown_device)?;
    for _ in 0..MAX_VERIFY_ROUNDS {
        let verified = verify(&state, escrow, device_id, &body, &from, span).await?;
        if verified.operations.is_empty() {
            return Ok(answer(device_id, &verified));
        }
        match state.metrics.time_db(DbOp::Apply, state.store.apply(device_id, &from, &verified)).await? {
            Applied::Done => return Ok(answer(device_id, &verified)),
            Applied::Moved(now) => from = now,
            Applied::Gone => return Err(unknown_device()),
        }
    }
    Err(ApiError::retry_later(Unavailable::Contention, "concurrent uploads of this device; retry"))
}

/// Opens and verifies off the async workers, shown the applied entries the
/// upload overlaps (at most one row per entry).
async fn verify(
    state: &AppState,
    escrow: &Escrow,
    device_id: &str,
    body: &axum::body::Bytes,
    from: &DeviceState,
    (first_seq, entries): (u64, usize),
) -> Result<VerifiedBatch, ApiError> {
    let cursor_seq = from.cursor.last_seq;
    let applied = if first_seq >= 1 && first_seq <= cursor_seq {
        let start = first_seq - 1;
        let end = cursor_seq.min(start.saturating_add(entries.min(MAX_APPLIED_ENTRIES - 1) as u64));
        state.metrics.time_db(DbOp::Applied, state.store.applied(device_id, start, end)).await?
    } else {
        Vec::new()
    };
    let (opener, body) = (escrow.opener.clone(), body.clone());
    let (key, cursor) = (from.sync_key.clone(), from.cursor.clone());
    let started = Instant::now();
    let span = tracing::Span::current();
    let verified = tokio::task::spawn_blocking(move || span.in_scope(|| opener.verify(&body, &key, &cursor, &applied)))
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "verification failed"))?;
    state.metrics.verified_in(started);
    let verified = match verified {
        Err(BackendError::Diverged { lost_from, lost_through, lost_count, .. }) => {
            tracing::warn!(device_id, lost_count, lost_from, lost_through, "salvage diverged");
            return Err(ApiError::new(StatusCode::CONFLICT, "the escrowed entries part from the chain applied"));
        }
        other => other.inspect_err(|error| {
            if let BackendError::BatchRejected { kind, .. } = error {
                tracing::warn!(device_id, reason = kind.as_str(), "salvage rejected");
            }
        })?,
    };
    if verified.device_id != device_id || verified.user_id != from.user_id {
        return Err(other_tenant(device_id, "the upload is for another device or user"));
    }
    Ok(verified)
}

fn answer(device_id: &str, verified: &VerifiedBatch) -> Response {
    tracing::info!(
        device_id,
        applied = verified.operations.len(),
        duplicates = verified.duplicates,
        acknowledged_seq = verified.cursor.last_seq,
        "salvage answered"
    );
    Json(json!({
        "acknowledged_seq": verified.cursor.last_seq,
        "applied": verified.operations.len(),
        "duplicates": verified.duplicates,
    }))
    .into_response()
}
