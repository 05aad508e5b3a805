//! The operator's endpoints, with `Authorization: Bearer <token>`:
//! - `POST /admin/devices/{id}/revoke` `{"reason": "…"}` → `{device_id,
//!   reason, at, server_time}`;
//! - `POST /admin/devices/{id}/directives` `{"action": "wipe" |
//!   "lock_until_renewal" | "biometrics_off"}` → `{device_id, jti, action,
//!   iat, server_time}`: a remote directive signed with the issuer key and
//!   queued, delivered in the device's next answers (`directives.rs`).
//!
//! Off unless a token is configured (`--admin-token` /
//! `OFFLINE_AUTH_ADMIN_TOKEN`): without one the path answers 404 like any
//! unknown endpoint. The token is compared in constant time (its length is
//! not secret: it must be at least [`MIN_ADMIN_TOKEN_LEN`] bytes). The
//! revocation is stored once (the first reason and time stay) and holds on
//! every instance sharing the database: each reads it before it issues a
//! grant or applies an upload (`handlers.rs`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use offline_auth_backend::{Revocation, RevocationPolicy};
use offline_auth_proto::directive::DirectiveAction;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use crate::metrics::DbOp;
use crate::store::QueuedDirective;
use crate::{bad_request, body_or_error, now, require_content_type, ApiError, AppState};

/// Shortest admin token accepted (bytes): 128 bits of base64 or hex.
pub const MIN_ADMIN_TOKEN_LEN: usize = 22;

/// The operator's side of the server: the admin token (none: the endpoint
/// is off) and what a revocation does to queued edits.
#[derive(Clone, Default)]
pub struct Admin {
    token: Option<Arc<str>>,
    /// What happens to a revoked device's edits stamped before the revocation.
    pub policy: RevocationPolicy,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").field("enabled", &self.token.is_some()).field("policy", &self.policy).finish()
    }
}

impl Admin {
    /// The admin side with `token` (`None`: the endpoint is off) and `policy`.
    ///
    /// # Errors
    /// A token shorter than [`MIN_ADMIN_TOKEN_LEN`] bytes or with spaces.
    pub fn new(token: Option<String>, policy: RevocationPolicy) -> Result<Self, String> {
        if let Some(token) = &token {
            if token.len() < MIN_ADMIN_TOKEN_LEN || token.chars().any(char::is_whitespace) {
                return Err(format!("the admin token must be at least {MIN_ADMIN_TOKEN_LEN} bytes without spaces"));
            }
        }
        Ok(Self { token: token.map(Arc::from), policy })
    }

    /// The token (`None`: the admin endpoint and the operator's page are off).
    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Whether `given` is the admin token (compared in constant time); 404
    /// when the endpoint is off, 401 otherwise.
    pub(crate) fn check_token(&self, given: &[u8]) -> Result<(), ApiError> {
        let Some(token) = &self.token else {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "no such endpoint"));
        };
        let same = given.len() == token.len() && bool::from(given.ct_eq(token.as_bytes()));
        if same {
            Ok(())
        } else {
            tracing::warn!("admin request refused: missing or wrong token");
            Err(ApiError::new(StatusCode::UNAUTHORIZED, "admin bearer token required"))
        }
    }

    /// Whether `headers` carry the admin token as a bearer token.
    fn authorize(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("")
            .as_bytes();
        self.check_token(given)
    }
}

/// An admin request's JSON body, once its bearer token is checked (before
/// the body is parsed): `expected` is the 400's text for a body that is not
/// the `T` asked for.
fn admin_json<T: DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    expected: &str,
) -> Result<T, ApiError> {
    state.admin.authorize(headers)?;
    require_content_type(headers, "application/json")?;
    serde_json::from_slice(&body_or_error(body)?).map_err(|_| bad_request(expected))
}

#[derive(Deserialize)]
struct RevokeBody {
    reason: String,
}

/// `POST /admin/devices/{id}/revoke`.
pub(crate) async fn revoke(
    State(state): State<Arc<AppState>>,
    Path(device_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body: RevokeBody = admin_json(&state, &headers, body, "expected JSON {reason}")?;
    let stored = revoke_device(&state, device_id, body.reason).await?;
    Ok(Json(json!({"device_id": stored.device_id, "reason": stored.reason, "at": stored.at, "server_time": now()})))
}

/// Revokes `device_id` for `reason` now (the admin endpoint's and the
/// operator page's one path): the revocation in force, 404 for a device
/// never enrolled, 400 for a bad reason.
pub(crate) async fn revoke_device(state: &AppState, device_id: String, reason: String) -> Result<Revocation, ApiError> {
    let revocation = Revocation::new(device_id, reason, now()).map_err(|e| bad_request(&e.to_string()))?;
    let stored = state.metrics.time_db(DbOp::Revocation, state.store.revoke(&revocation)).await?;
    let Some(stored) = stored else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "unknown device"));
    };
    tracing::warn!(device_id = stored.device_id, at = stored.at, reason = stored.reason, "device revoked");
    Ok(stored)
}

#[derive(Deserialize)]
struct DirectiveBody {
    action: DirectiveAction,
}

/// The `jti` of a directive the issuer just signed.
fn jti_of(token: &str) -> Option<String> {
    let claims = URL_SAFE_NO_PAD.decode(token.split('.').nth(1)?).ok()?;
    let claims: Value = serde_json::from_slice(&claims).ok()?;
    claims.get("jti")?.as_str().map(str::to_owned)
}

/// `POST /admin/devices/{id}/directives`.
pub(crate) async fn directive(
    State(state): State<Arc<AppState>>,
    Path(device_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body: DirectiveBody =
        admin_json(&state, &headers, body, "expected JSON {action: wipe | lock_until_renewal | biometrics_off}")?;
    if device_id.is_empty() || device_id.len() > 128 {
        return Err(bad_request("device_id must be 1 to 128 bytes"));
    }
    let iat = now();
    let token = state.issuer.issue_directive(&device_id, body.action, iat)?;
    let jti = jti_of(&token).ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "directive"))?;
    let action = serde_json::to_value(body.action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "directive"))?;
    let queued = QueuedDirective { device_id, jti, iat, action, token };
    if !state.metrics.time_db(DbOp::Directive, state.store.queue_directive(&queued)).await? {
        return Err(crate::directives::unknown_device());
    }
    tracing::warn!(device_id = queued.device_id, jti = queued.jti, action = queued.action, "directive queued");
    Ok(Json(json!({"device_id": queued.device_id, "jti": queued.jti, "action": queued.action, "iat": iat,
                   "server_time": now()})))
}
