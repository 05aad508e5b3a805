//! The one error answer of every route ([`ApiError`]): a status and a
//! JSON body `{"error": reason, "server_time": …}`, with what `/metrics`
//! counts it under carried in the response's extensions; and the one
//! mapping from store and backend errors to it.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use offline_auth_backend::{BackendError, RejectReason, Revocation};
use serde_json::json;

use crate::metrics::{Refusal, Scope, Unavailable};
use crate::store::StoreError;
use crate::{now, RETRY_AFTER_SECS};

/// An error answer: status, reason, whether to tell the client to retry,
/// and whether to close the connection after it.
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) reason: String,
    /// `Retry-After` seconds, if the client should retry.
    pub(crate) retry_after: Option<u64>,
    /// For `/metrics`: the rate limit that refused it.
    pub(crate) throttled: Option<Scope>,
    pub(crate) close: bool,
    /// For `/metrics`: why a 503 was made, and a refused upload's reason.
    pub(crate) cause: Option<Unavailable>,
    pub(crate) refusal: Option<&'static str>,
    /// Fields added to the JSON answer beside `error` and `server_time`.
    pub(crate) extra: serde_json::Map<String, serde_json::Value>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        let extra = serde_json::Map::new();
        let (retry_after, throttled) = (None, None);
        Self { status, reason: reason.into(), retry_after, throttled, close: false, cause: None, refusal: None, extra }
    }

    /// 503 with `Retry-After`, counted under `cause`.
    pub(crate) fn retry_later(cause: Unavailable, reason: impl Into<String>) -> Self {
        Self {
            retry_after: Some(RETRY_AFTER_SECS),
            cause: Some(cause),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, reason)
        }
    }

    /// An upload refused by the server itself, counted under `label`
    /// (one of `metrics::SERVER_REFUSALS`).
    pub(crate) fn refused(status: StatusCode, label: &'static str, reason: impl Into<String>) -> Self {
        Self { refusal: Some(label), ..Self::new(status, reason) }
    }

    /// The refusal of a revoked device (403, `device_revoked`): its reason
    /// and time in the answer, and any `extra` fields (what an upload
    /// applied and refused).
    pub(crate) fn revoked(revocation: &Revocation, extra: serde_json::Value) -> Self {
        let mut error = Self::refused(StatusCode::FORBIDDEN, "device_revoked", "the device was revoked");
        error.extra.insert("revoked".into(), json!({"reason": revocation.reason, "at": revocation.at}));
        if let serde_json::Value::Object(fields) = extra {
            error.extra.extend(fields);
        }
        error
    }

    /// The device's remote directives added to the answer (`directives`).
    pub(crate) fn with_directives(mut self, directives: Vec<String>) -> Self {
        self.extra.insert("directives".into(), json!(directives));
        self
    }

    /// An answer after which the connection is closed (its request was not read whole).
    pub(crate) fn closing(status: StatusCode, reason: impl Into<String>) -> Self {
        Self { close: true, ..Self::new(status, reason) }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Every answer carries the server's time, so a device whose clock
        // runs ahead learns by how much (`PinVault::note_server_time`).
        let mut body = self.extra;
        body.insert("error".into(), json!(self.reason));
        body.insert("server_time".into(), json!(now()));
        let mut response = (self.status, Json(serde_json::Value::Object(body))).into_response();
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.close {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(cause);
        }
        if let Some(scope) = self.throttled {
            response.extensions_mut().insert(scope);
        }
        if let Some(label) = self.refusal {
            response.extensions_mut().insert(Refusal(label));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Backend(error) => error.into(),
            StoreError::Unavailable(_) => {
                Self::retry_later(Unavailable::Database, "the database is unavailable; retry later")
            }
            StoreError::Failed(why) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, format!("database: {why}")),
            StoreError::Key(error) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
        }
    }
}

impl From<BackendError> for ApiError {
    fn from(error: BackendError) -> Self {
        let status = match &error {
            BackendError::BatchRejected { kind: RejectReason::TooLarge, .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BackendError::DeviceRevoked { .. } => StatusCode::FORBIDDEN,
            BackendError::Internal { .. } | BackendError::Signer { .. } | BackendError::Clock { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let refusal = match &error {
            BackendError::BatchRejected { kind, .. } => Some(kind.as_str()),
            _ => None,
        };
        Self { refusal, ..Self::new(status, error.to_string()) }
    }
}

/// 404 for a device the store does not know (an upload refusal).
pub(crate) fn unknown_device() -> ApiError {
    ApiError::refused(StatusCode::NOT_FOUND, "unknown_device", "unknown device")
}

pub(crate) fn bad_request(reason: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, reason)
}
