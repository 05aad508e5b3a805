//! The endpoints. Storage is behind [`crate::store::Store`]; what is here is
//! the same whichever database the server runs on.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use offline_auth_backend::{
    generate_sync_key, jwks_from_issuer_keys, BackendError, VerifiedBatch, MAX_APPLIED_ENTRIES, MAX_BATCH_BYTES,
};
use offline_auth_proto::batch_reader::BatchReader;
use serde::Deserialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use crate::metrics::{clock_stretch_suspected, DbOp, Unavailable, Upload};
use crate::rate::RateLimits;
use crate::revoked::{judge_revoked, refuse_revoked, revocation};
use crate::store::{Applied, DeviceState, Enrolled};
use crate::{attest, directives};
use crate::{
    bad_request, body_or_error, now, require_content_type, unknown_device, ApiError, AppState, OFFLINE_WINDOW_SECS,
    SCOPES, USERS,
};

/// How many times an upload that keeps losing the race to other uploads of
/// the same device is verified again before the client is told to retry.
pub(crate) const MAX_VERIFY_ROUNDS: usize = 4;

#[derive(Deserialize)]
struct Credentials {
    user: String,
    password: String,
    device_id: String,
    /// `/renew` only: the device's renewal nonce, signed into the grant so
    /// the device may repair its time from it (docs/TIME.md).
    #[serde(default)]
    nonce: Option<String>,
    /// `/renew` only: the ids of the remote directives the device applied
    /// (`PinVault::applied_directives`), so they are no longer delivered.
    #[serde(default)]
    applied_directives: Vec<String>,
}

fn check_password(user: &str, password: &str) -> Result<(), ApiError> {
    let known = USERS.iter().find(|(name, _)| *name == user).map(|(_, pw)| *pw).unwrap_or("");
    let same = known.len() == password.len() && bool::from(known.as_bytes().ct_eq(password.as_bytes()));
    if same && !known.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown user or wrong password"))
    }
}

fn parse_credentials(body: &Bytes) -> Result<Credentials, ApiError> {
    let credentials: Credentials =
        serde_json::from_slice(body).map_err(|_| bad_request("expected JSON {user, password, device_id}"))?;
    if credentials.device_id.is_empty() || credentials.device_id.len() > 128 {
        return Err(bad_request("device_id must be 1 to 128 bytes"));
    }
    if credentials.nonce.as_ref().is_some_and(|n| n.is_empty() || n.len() > 128) {
        return Err(bad_request("nonce must be 1 to 128 bytes"));
    }
    directives::check_acknowledgements(&credentials.applied_directives)?;
    check_password(&credentials.user, &credentials.password)?;
    Ok(credentials)
}

/// Issues a grant whose `iat` is later than any this device got before
/// (devices take only a strictly newer grant as a renewal): `now`, or one
/// second after the last one if that was issued this very second. Returns
/// the grant and its `iat`, to store.
fn issue(
    state: &AppState,
    credentials: &Credentials,
    window_secs: i64,
    last_iat: i64,
) -> Result<(String, i64), BackendError> {
    let scopes: Vec<String> = SCOPES.iter().map(|s| s.to_string()).collect();
    let iat = now().max(last_iat.saturating_add(1));
    let grant = state.issuer.issue_renewal(
        &credentials.user,
        &credentials.device_id,
        &scopes,
        iat,
        iat.saturating_add(window_secs),
        credentials.nonce.clone(),
    )?;
    Ok((grant, iat))
}

/// The credentials of a JSON request (`/enroll`, `/renew`), checked.
fn json_credentials(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Credentials, ApiError> {
    require_content_type(headers, "application/json")?;
    parse_credentials(&body_or_error(body)?)
}

/// `POST /challenge`: a single-use challenge for an attested enrolment.
pub(crate) async fn challenge(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let credentials = json_credentials(&headers, body)?;
    refuse_revoked(&state, &credentials.device_id).await?;
    Ok(Json(attest::challenge(&state, &credentials.device_id).await?))
}

pub(crate) async fn enroll(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    require_content_type(&headers, "application/json")?;
    let body = body_or_error(body)?;
    let credentials = parse_credentials(&body)?;
    refuse_revoked(&state, &credentials.device_id).await?;
    // With attestation on: the challenge taken, the evidence verified, the
    // window its level gets (refused here, before anything is stored).
    let evidence = attest::enrolment(&state, &credentials.device_id, &body).await?;
    let window = evidence.as_ref().map_or(OFFLINE_WINDOW_SECS, |e| e.window_secs);
    let sync_key = generate_sync_key()?;
    let issue_for = |last_iat| issue(&state, &credentials, window, last_iat);
    let enrolled =
        state.store.enroll(&credentials.device_id, &credentials.user, &sync_key, evidence.as_ref(), &issue_for);
    let grant = match state.metrics.time_db(DbOp::Enroll, enrolled).await? {
        Enrolled::Issued(grant) => grant,
        Enrolled::OtherUser => return Err(ApiError::new(StatusCode::CONFLICT, "device is enrolled for another user")),
    };
    let jwks: Value = serde_json::from_str(&jwks_from_issuer_keys(&[state.issuer.issuer_key()])?)
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "jwks"))?;
    let attestation = evidence.map(|e| json!({"level": e.level, "window_secs": e.window_secs}));
    let answer = match attestation {
        Some(attestation) => json!({"grant": grant, "sync_key": hex::encode(&sync_key), "jwks": jwks,
                                    "server_time": now(), "attestation": attestation}),
        None => json!({"grant": grant, "sync_key": hex::encode(&sync_key), "jwks": jwks, "server_time": now()}),
    };
    Ok(Json(answer))
}

pub(crate) async fn renew(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let credentials = json_credentials(&headers, body)?;
    // The password proves the device's owner: its acknowledgements count,
    // and its directives ride on the answer, a refusal included.
    let device_id = credentials.device_id.as_str();
    let directives = directives::exchange(&state, device_id, &credentials.applied_directives).await?;
    if let Err(refused) = refuse_revoked(&state, device_id).await {
        return Err(refused.with_directives(directives));
    }
    // The window the device's attested level gets (read before the renewal's
    // transaction; a re-enrolment in between changes the device's sync key,
    // not what its owner may renew).
    let window = attest::window_for(&state, &credentials.device_id, OFFLINE_WINDOW_SECS).await?;
    let issue_for = |last_iat| issue(&state, &credentials, window, last_iat);
    let renewed = state.store.renew(&credentials.device_id, &credentials.user, &issue_for);
    match state.metrics.time_db(DbOp::Renew, renewed).await? {
        Some(grant) => Ok(Json(json!({"grant": grant, "server_time": now(), "directives": directives}))),
        None => Err(ApiError::new(StatusCode::FORBIDDEN, "device is not enrolled for this user")),
    }
}

#[derive(Deserialize)]
pub(crate) struct DeviceQuery {
    pub(crate) device_id: String,
    /// `/sync` only: ids of the remote directives the device applied,
    /// comma-separated; counted only if the batch verifies.
    #[serde(default)]
    pub(crate) applied: Option<String>,
}

/// What verifying an upload gave: a batch to apply, or the answer to a
/// device whose queue parted from the chain already applied.
enum Verified {
    Batch(VerifiedBatch),
    Diverged(Json<Value>),
}

/// Verifies `body` from `from` off the async workers, shown the applied
/// entries it overlaps (`span`: its first seq and declared entry count;
/// at most one row per entry is read); refuses a batch whose grants name
/// another device or user than the one it is uploaded for.
async fn verify(
    state: &AppState,
    device_id: &str,
    body: &Bytes,
    from: &DeviceState,
    span: (u64, usize),
) -> Result<Verified, ApiError> {
    let ((first_seq, entries), cursor_seq) = (span, from.cursor.last_seq);
    let applied = if first_seq >= 1 && first_seq <= cursor_seq {
        let start = first_seq - 1;
        let rows = entries.min(MAX_APPLIED_ENTRIES - 1) as u64;
        let end = cursor_seq.min(start.saturating_add(rows));
        state.metrics.time_db(DbOp::Applied, state.store.applied(device_id, start, end)).await?
    } else {
        Vec::new()
    };
    let verifier = state.verifier.clone();
    // `Bytes` is shared, not copied; the operations are copied out of it
    // once (`into_owned`) to outlive the blocking task.
    let (bytes, key, cursor) = (body.clone(), from.sync_key.clone(), from.cursor.clone());
    let started = Instant::now();
    // The backend's `verify_batch` span, under this request's span.
    let span = tracing::Span::current();
    let verified = tokio::task::spawn_blocking(move || {
        span.in_scope(|| verifier.verify_with_chain(&bytes, &key, &cursor, &applied).map(|v| v.into_owned()))
    })
    .await
    .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "verification failed"))?;
    state.metrics.verified_in(started);
    let verified = match verified {
        Err(BackendError::Diverged { lost_from, lost_through, lost_count, answer }) => {
            // For the operator: edits the device's written-back files lost.
            tracing::warn!(device_id, lost_count, lost_from, lost_through, "sync diverged");
            return Ok(Verified::Diverged(Json(json!({
                "receipt": URL_SAFE_NO_PAD.encode(&answer),
                "acknowledged_seq": lost_through,
                "applied": 0,
                "duplicates": 0,
                "diverged": {"lost_from": lost_from, "lost_through": lost_through, "lost_count": lost_count},
                "server_time": now(),
            }))));
        }
        other => other.inspect_err(|error| {
            if let BackendError::BatchRejected { kind, .. } = error {
                tracing::warn!(device_id, reason = kind.as_str(), "sync rejected");
            }
        })?,
    };
    if verified.device_id != device_id || verified.user_id != from.user_id {
        return Err(other_tenant(device_id, "the batch is for another device or user"));
    }
    Ok(Verified::Batch(verified))
}

/// The answer to a verified upload, carrying its outcome for `/metrics`
/// and the device's pending remote directives.
fn answer(device_id: &str, verified: &VerifiedBatch, directives: &[String]) -> Response {
    let outcome = if verified.operations.is_empty() {
        Upload::Duplicate { duplicates: verified.duplicates }
    } else {
        let stretched = clock_stretch_suspected(&verified.operations);
        if stretched {
            // The sign docs/TIME.md promises: a device restarting again and
            // again while its entry times stand still.
            let mut boots = verified.operations.iter().filter_map(|op| op.boots);
            let (first, last) = (boots.clone().next(), boots.next_back());
            tracing::warn!(device_id, ?first, ?last, "boot count climbing while entry times barely move");
        }
        let newest = verified.operations.last().map(|op| {
            let boots = verified.operations.iter().rev().find_map(|op| op.boots);
            (op.time, boots)
        });
        Upload::Applied {
            entries: verified.operations.len() as u64,
            duplicates: verified.duplicates,
            stretched,
            newest,
        }
    };
    tracing::info!(
        device_id,
        applied = verified.operations.len(),
        duplicates = verified.duplicates,
        acknowledged_seq = verified.cursor.last_seq,
        "sync answered"
    );
    let mut response = Json(json!({
        "receipt": URL_SAFE_NO_PAD.encode(&verified.receipt),
        "acknowledged_seq": verified.cursor.last_seq,
        "applied": verified.operations.len(),
        "duplicates": verified.duplicates,
        "server_time": now(),
        "directives": directives,
    }))
    .into_response();
    response.extensions_mut().insert(outcome);
    response
}

pub(crate) async fn sync(
    State(state): State<Arc<AppState>>,
    query: Result<Query<DeviceQuery>, QueryRejection>,
    rate: Option<Extension<Arc<RateLimits>>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|_| bad_request("expected ?device_id=…"))?;
    let device_id = query.device_id.as_str();
    let acknowledged = directives::parse_acknowledgements(query.applied.as_deref())?;
    let mut delivered: Option<Vec<String>> = None;
    require_content_type(&headers, "application/octet-stream")?;
    // The body has already been read whole, bounded in size, time and
    // memory (`limits.rs`); no lock or state is taken for this device id:
    // a stranger naming it can neither hold it nor grow a map with it.
    let body = axum::body::to_bytes(body, MAX_BATCH_BYTES)
        .await
        .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "the batch exceeds the size limit"))?;
    let mut from =
        state.metrics.time_db(DbOp::Device, state.store.device(device_id)).await?.ok_or_else(unknown_device)?;
    // A device the store knows: its own rate limit (nothing kept for others).
    if let Some(Extension(rate)) = rate {
        rate.check_device(device_id)?;
    }
    // Tenancy, before any MAC is computed: a batch is uploaded for the
    // device that made it (and the grants' user is checked after verifying).
    let mut reader = BatchReader::open(&body).map_err(|e| ApiError::from(BackendError::from(e)))?;
    let claimed = reader.device_id;
    let span = match reader.next_entry() {
        Ok(Some(entry)) => (entry.seq, reader.entry_count),
        _ => (0, 0), // no entry, or unreadable: the verifier refuses it
    };
    if claimed != device_id {
        return Err(other_tenant(device_id, "the batch is for another device"));
    }
    let revoked = revocation(&state, device_id).await?;
    // With attestation on: signed by the device's attested key (before
    // any MAC is computed).
    attest::check_upload(&state, device_id, &headers, span, &body).await?;
    for _ in 0..MAX_VERIFY_ROUNDS {
        // Verified outside any transaction.
        let verified = match verify(&state, device_id, &body, &from, span).await? {
            Verified::Batch(verified) => verified,
            // The device re-bases on this answer; nothing is applied.
            Verified::Diverged(mut answer) => {
                let pending = directives::pending(&state, device_id).await?;
                if let Value::Object(fields) = &mut answer.0 {
                    fields.insert("directives".into(), json!(pending));
                }
                let mut response = answer.into_response();
                response.extensions_mut().insert(Upload::Diverged);
                return Ok(response);
            }
        };
        // The batch verified under the device's sync key and carries edits
        // not applied before (a replayed batch proves nothing): its
        // acknowledgements are the device's (taken once per request).
        let directives = match delivered.take() {
            Some(directives) => directives,
            None if verified.operations.is_empty() => directives::pending(&state, device_id).await?,
            None => directives::exchange(&state, device_id, &acknowledged).await?,
        };
        if let Some(revoked) = &revoked {
            if !verified.operations.is_empty() {
                let verified = verified.clone();
                let judged = judge_revoked(&state, device_id, &from, revoked, verified).await;
                if let Some(answer) = judged.map_err(|refused| refused.with_directives(directives.clone()))? {
                    return Ok(answer);
                }
            }
        }
        if verified.operations.is_empty() {
            // Nothing new (a replay, or a race lost to an upload that
            // applied all of it): the receipt for the cursor as found.
            return Ok(answer(device_id, &verified, &directives));
        }
        match state.metrics.time_db(DbOp::Apply, state.store.apply(device_id, &from, &verified)).await? {
            Applied::Done => return Ok(answer(device_id, &verified, &directives)),
            // Another upload moved the cursor (or the device re-enrolled)
            // between our read and the lock: verify again from there.
            Applied::Moved(now) => {
                from = now;
                delivered = Some(directives);
            }
            Applied::Gone => return Err(unknown_device()),
        }
    }
    Err(ApiError::retry_later(Unavailable::Contention, "concurrent uploads of this device; retry"))
}

/// 403 for a batch uploaded for another device or user than its own.
pub(crate) fn other_tenant(device_id: &str, reason: &str) -> ApiError {
    tracing::warn!(device_id, reason = "other_tenant", "sync rejected");
    ApiError::refused(StatusCode::FORBIDDEN, "other_tenant", reason)
}

/// `Authorization: Basic base64(user:password)`, checked like a sign-in.
fn basic_auth(headers: &HeaderMap) -> Result<String, ApiError> {
    let unauthorized = || ApiError::new(StatusCode::UNAUTHORIZED, "HTTP Basic credentials required");
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(unauthorized)?;
    let encoded = value.strip_prefix("Basic ").ok_or_else(unauthorized)?;
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| unauthorized())?;
    let text = String::from_utf8(decoded).map_err(|_| unauthorized())?;
    let (user, password) = text.split_once(':').ok_or_else(unauthorized)?;
    check_password(user, password)?;
    Ok(user.to_owned())
}

pub(crate) async fn records(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let user = basic_auth(&headers)?;
    let records = state.metrics.time_db(DbOp::Records, state.store.records(&user)).await?;
    Ok(Json(Value::Array(
        records
            .into_iter()
            .map(|r| json!({"collection": r.collection, "key": r.key, "value": String::from_utf8_lossy(&r.value)}))
            .collect(),
    )))
}
