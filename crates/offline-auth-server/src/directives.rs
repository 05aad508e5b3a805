//! Remote directives on the wire (docs/decisions/0015-remote-directives.md):
//! the device's pending directives ride on every answer to its sync and
//! renewal (`directives`: compact JWS strings, oldest first) until it
//! acknowledges them, by `jti`, in a later request that proves it is the
//! device: a renewal (`applied_directives` beside the credentials) or an
//! upload whose batch verifies under its sync key and carries edits not
//! applied before (`?applied=jti,jti`; a replayed batch proves nothing).
//! An acknowledgement that arrives with a request that proves nothing is
//! ignored, so a stranger cannot stop a wipe from being delivered.

use axum::http::StatusCode;

use crate::metrics::DbOp;
use crate::store::MAX_DELIVERED_DIRECTIVES;
use crate::{bad_request, now, ApiError, AppState};

/// Longest `jti` acknowledged (the backend's are 32 hex digits).
const MAX_JTI_LEN: usize = 128;

/// Checks a device's acknowledgements: at most [`MAX_DELIVERED_DIRECTIVES`]
/// ids of 1 to [`MAX_JTI_LEN`] bytes.
pub(crate) fn check_acknowledgements(jtis: &[String]) -> Result<(), ApiError> {
    if jtis.len() > MAX_DELIVERED_DIRECTIVES as usize || jtis.iter().any(|j| j.is_empty() || j.len() > MAX_JTI_LEN) {
        return Err(bad_request("applied directives: at most 16 ids of 1 to 128 bytes"));
    }
    Ok(())
}

/// The ids of `?applied=a,b` (none when absent), checked.
pub(crate) fn parse_acknowledgements(query: Option<&str>) -> Result<Vec<String>, ApiError> {
    let jtis: Vec<String> = match query {
        None | Some("") => Vec::new(),
        Some(list) => list.split(',').take(MAX_DELIVERED_DIRECTIVES as usize + 1).map(str::to_owned).collect(),
    };
    check_acknowledgements(&jtis)?;
    Ok(jtis)
}

/// Marks what the device (proven) acknowledged, then returns what is still
/// pending for it.
pub(crate) async fn exchange(
    state: &AppState,
    device_id: &str,
    acknowledged: &[String],
) -> Result<Vec<String>, ApiError> {
    if !acknowledged.is_empty() {
        let marked = state.store.acknowledge_directives(device_id, acknowledged, now());
        let marked = state.metrics.time_db(DbOp::Directive, marked).await?;
        if marked > 0 {
            tracing::info!(device_id, acknowledged = marked, "directives acknowledged");
        }
    }
    Ok(state.metrics.time_db(DbOp::Directive, state.store.pending_directives(device_id)).await?)
}

/// What is pending for the device, for an answer that acknowledges nothing.
pub(crate) async fn pending(state: &AppState, device_id: &str) -> Result<Vec<String>, ApiError> {
    exchange(state, device_id, &[]).await
}

/// 404 for a directive queued for a device never enrolled.
pub(crate) fn unknown_device() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown device")
}
