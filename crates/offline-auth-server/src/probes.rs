//! The endpoints that only read: the issuer's public keys for verifiers
//! and devices, and the liveness and readiness probes (moved out of
//! `handlers.rs`, which keeps the device's requests).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use offline_auth_backend::jwks_from_issuer_keys;
use serde_json::{json, Value};

use crate::metrics::{DbOp, Unavailable};
use crate::{ApiError, AppState, JWKS_MAX_AGE_SECS};

/// `GET /.well-known/jwks.json`: the issuer's public keys, for verifiers
/// and devices that fetch them instead of taking them from enrolment. The
/// reference holds one issuer key, so the set has one key; a server in the
/// middle of a rotation (DEPLOYMENT.md) serves both. Cached for at most
/// [`JWKS_MAX_AGE_SECS`], the least time between publishing a new key and
/// signing with it.
pub(crate) async fn jwks(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let jwks = jwks_from_issuer_keys(&[state.issuer.issuer_key()])?;
    let cache = format!("public, max-age={JWKS_MAX_AGE_SECS}");
    Ok(([(header::CONTENT_TYPE, "application/jwk-set+json".to_owned()), (header::CACHE_CONTROL, cache)], jwks)
        .into_response())
}

/// `GET /healthz`: the process is up and answering (nothing else is checked).
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({"status": "up"}))
}

/// `GET /readyz`: the database answers and every migration is applied;
/// 503 with `Retry-After` otherwise (the detail goes to the log, not the client).
pub(crate) async fn readyz(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    match state.metrics.time_db(DbOp::Ready, state.store.ready()).await {
        Ok(()) => Ok(Json(json!({"status": "ready"}))),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            Err(ApiError::retry_later(
                Unavailable::Database,
                "not ready: the database is unreachable or its migrations are not applied",
            ))
        }
    }
}
