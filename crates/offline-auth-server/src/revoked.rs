//! What the server does for a revoked device (`Revocation`, made through
//! the admin endpoint, `admin.rs`): no grant, and each upload judged by the
//! revocation policy. The revocation is read from the store on every
//! request, so one made through any instance holds on all; a renewal that
//! read it a moment before the revocation committed still gets its grant
//! (the grant then counts as issued before the revocation).

use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use offline_auth_backend::{Revocation, VerifiedBatch};
use serde_json::{json, Value};

use crate::metrics::{DbOp, Unavailable};
use crate::store::{Applied, DeviceState};
use crate::{unknown_device, ApiError, AppState};

/// The device's revocation, if any (read from the store on every request,
/// so one made through another instance holds here).
pub(crate) async fn revocation(state: &AppState, device_id: &str) -> Result<Option<Revocation>, ApiError> {
    Ok(state.metrics.time_db(DbOp::Revocation, state.store.revocation(device_id)).await?)
}

/// 403 `device_revoked` for a grant asked for a revoked device.
pub(crate) async fn refuse_revoked(state: &AppState, device_id: &str) -> Result<(), ApiError> {
    match revocation(state, device_id).await? {
        Some(revoked) => {
            tracing::warn!(device_id, reason = "device_revoked", "grant refused");
            Err(ApiError::revoked(&revoked, json!({})))
        }
        None => Ok(()),
    }
}

/// A revoked device's verified upload: what the policy admits is applied
/// (and acknowledged), the rest refused, reported in the answer and the
/// log, and kept on the device.
pub(crate) async fn judge_revoked(
    state: &AppState,
    device_id: &str,
    from: &DeviceState,
    revoked: &Revocation,
    verified: VerifiedBatch,
) -> Result<Option<Response>, ApiError> {
    let judged = revoked.judge(verified, &from.sync_key, state.admin.policy)?;
    let Some(refused) = judged.refused else {
        return Ok(None); // every edit admitted: applied like any upload
    };
    let mut applied = json!({"applied": 0});
    if let Some(admitted) = judged.admitted {
        match state.metrics.time_db(DbOp::Apply, state.store.apply(device_id, from, &admitted)).await? {
            Applied::Done => {}
            // Raced by another upload: the device sends again and is judged again.
            Applied::Moved(_) => {
                return Err(ApiError::retry_later(Unavailable::Contention, "concurrent uploads of this device; retry"))
            }
            Applied::Gone => return Err(unknown_device()),
        }
        applied = json!({
            "applied": admitted.operations.len(),
            "acknowledged_seq": admitted.cursor.last_seq,
            "receipt": URL_SAFE_NO_PAD.encode(&admitted.receipt),
        });
    }
    if let Value::Object(fields) = &mut applied {
        let refused = json!({"from_seq": refused.from_seq, "through_seq": refused.through_seq, "count": refused.count});
        fields.insert("refused".into(), refused);
    }
    tracing::warn!(
        device_id,
        reason = "device_revoked",
        refused_from = refused.from_seq,
        refused_through = refused.through_seq,
        refused_count = refused.count,
        "sync refused after revocation"
    );
    Err(ApiError::revoked(revoked, applied))
}
