//! The reference sync server: what a backend does with offline-auth, in one
//! small file. axum on loopback, state in SQLite.
//!
//! - `POST /enroll` `{user, password, device_id}` → `{grant, sync_key, jwks}`:
//!   after a (toy) password check, issues an offline grant and provisions the
//!   device's sync key.
//! - `POST /sync?device_id=…` with the raw batch bytes
//!   (`Content-Type: application/octet-stream`) → `{receipt, acknowledged_seq,
//!   applied, duplicates}`: verifies with `SyncVerifier` from the stored
//!   cursor, outside any database lock, then applies the operations and
//!   stores the new cursor in one transaction, so a replayed batch is applied
//!   once. Uploads of one device are serialised; different devices' run in
//!   parallel. `receipt` (base64url) is what the device acknowledges with.
//! - `POST /renew` `{user, password, device_id}` → `{grant}`.
//! - `GET /records` with HTTP Basic credentials → that user's records, for
//!   the demo and the tests.
//!
//! Every error, whatever its status, is `{"error": reason}` and changes nothing.
//! This is a reference, not a product: passwords are compared in clear from
//! a fixed table (real servers use their own authentication).

#[path = "local.rs"]
mod local;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
pub use local::LocalServer;
use offline_auth_backend::{
    generate_sync_key, jwks_from_issuer_keys, BackendError, GrantIssuer, RejectReason, SyncCursor, SyncVerifier,
    MAX_BATCH_BYTES,
};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

/// Collections a grant allows.
pub const SCOPES: [&str; 2] = ["inspections", "notes"];
/// Length of the offline window a grant gives.
pub const OFFLINE_WINDOW_SECS: i64 = 3 * 24 * 3600;
/// The demo's users and their passwords.
pub const USERS: [(&str, &str); 2] = [("amira", "correct horse battery"), ("jonas", "staple tuna")];
/// Largest JSON body accepted.
const MAX_JSON_BYTES: usize = 16 * 1024;

/// What the handlers share.
pub struct AppState {
    db: Mutex<Connection>,
    issuer: Arc<GrantIssuer>,
    verifier: Arc<SyncVerifier>,
    /// One lock per device: its uploads run one at a time.
    uploads: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// A 4xx answer with a reason.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(error: rusqlite::Error) -> Self {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("database: {error}"))
    }
}

impl From<BackendError> for ApiError {
    fn from(error: BackendError) -> Self {
        let status = match &error {
            BackendError::BatchRejected { kind: RejectReason::TooLarge, .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BackendError::Internal { .. } | BackendError::Signer { .. } | BackendError::Clock { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError(status, error.to_string())
    }
}

fn bad_request(reason: &str) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, reason.to_owned())
}

impl AppState {
    /// Opens (or creates) the server's database; the issuer key is created
    /// once and kept there, so a restarted server honours its own grants.
    pub fn open(path: &PathBuf) -> Result<Arc<Self>, Box<dyn std::error::Error>> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS issuer (id INTEGER PRIMARY KEY CHECK (id = 1), kid TEXT NOT NULL, private_key BLOB NOT NULL);
             CREATE TABLE IF NOT EXISTS devices (device_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, sync_key BLOB NOT NULL,
                                                 cursor_seq INTEGER NOT NULL, cursor_mac BLOB NOT NULL,
                                                 last_iat INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE IF NOT EXISTS records (user_id TEXT NOT NULL, collection TEXT NOT NULL, key TEXT NOT NULL,
                                                 value BLOB NOT NULL, seq INTEGER NOT NULL, device_id TEXT NOT NULL,
                                                 PRIMARY KEY (user_id, collection, key));",
        )?;
        // Databases from before `last_iat` get the column.
        let has_last_iat: bool =
            conn.query_row("SELECT count(*) FROM pragma_table_info('devices') WHERE name = 'last_iat'", [], |r| {
                r.get::<_, i64>(0).map(|n| n == 1)
            })?;
        if !has_last_iat {
            conn.execute_batch("ALTER TABLE devices ADD COLUMN last_iat INTEGER NOT NULL DEFAULT 0")?;
        }
        let stored: Option<(String, Vec<u8>)> =
            conn.query_row("SELECT kid, private_key FROM issuer", [], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
        let issuer = match stored {
            Some((kid, key)) => GrantIssuer::new(kid, key)?,
            None => {
                let issuer = GrantIssuer::generate("reference-server-1".into())?;
                conn.execute(
                    "INSERT INTO issuer (id, kid, private_key) VALUES (1, ?1, ?2)",
                    params![issuer.kid(), issuer.private_key()?],
                )?;
                issuer
            }
        };
        let verifier = SyncVerifier::new(vec![issuer.issuer_key()])?;
        Ok(Arc::new(Self { db: Mutex::new(conn), issuer, verifier, uploads: Mutex::new(HashMap::new()) }))
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The lock that serialises `device_id`'s uploads.
    fn upload_lock(&self, device_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.uploads.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        locks.entry(device_id.to_owned()).or_default().clone()
    }
}

/// The routes, with body limits checked before any parsing.
pub fn router(state: Arc<AppState>) -> Router {
    let json_routes = Router::new()
        .route("/enroll", post(enroll))
        .route("/renew", post(renew))
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES));
    let sync = Router::new().route("/sync", post(sync)).layer(DefaultBodyLimit::max(MAX_BATCH_BYTES));
    Router::new()
        .merge(json_routes)
        .merge(sync)
        .route("/records", get(records))
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such endpoint".into()) })
        .method_not_allowed_fallback(|| async {
            ApiError(StatusCode::METHOD_NOT_ALLOWED, "method not allowed on this endpoint".into())
        })
        .with_state(state)
}

/// The body, or a JSON error (413 past the limit) instead of axum's text.
fn body_or_error(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| ApiError(rejection.status(), rejection.body_text()))
}

/// Refuses a body whose `Content-Type` is not `expected` (415).
fn require_content_type(headers: &HeaderMap, expected: &str) -> Result<(), ApiError> {
    let given = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = given.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(ApiError(StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("expected Content-Type: {expected}")))
    }
}

/// Serves on `addr` until `shutdown` resolves; reports the bound address.
pub async fn serve(
    state: Arc<AppState>,
    addr: SocketAddr,
    bound: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    bound(listener.local_addr()?);
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}

#[derive(Deserialize)]
struct Credentials {
    user: String,
    password: String,
    device_id: String,
}

fn check_password(user: &str, password: &str) -> Result<(), ApiError> {
    let known = USERS.iter().find(|(name, _)| *name == user).map(|(_, pw)| *pw).unwrap_or("");
    let same = known.len() == password.len() && bool::from(known.as_bytes().ct_eq(password.as_bytes()));
    if same && !known.is_empty() {
        Ok(())
    } else {
        Err(ApiError(StatusCode::UNAUTHORIZED, "unknown user or wrong password".into()))
    }
}

fn parse_credentials(body: &Bytes) -> Result<Credentials, ApiError> {
    let credentials: Credentials =
        serde_json::from_slice(body).map_err(|_| bad_request("expected JSON {user, password, device_id}"))?;
    if credentials.device_id.is_empty() || credentials.device_id.len() > 128 {
        return Err(bad_request("device_id must be 1 to 128 bytes"));
    }
    check_password(&credentials.user, &credentials.password)?;
    Ok(credentials)
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Issues a grant whose `iat` is later than any this device got before
/// (devices take only a strictly newer grant as a renewal): `now`, or one
/// second after the last one if that was issued this very second. Returns
/// the grant and its `iat`, to store.
fn issue(state: &AppState, credentials: &Credentials, last_iat: i64) -> Result<(String, i64), ApiError> {
    let scopes = SCOPES.iter().map(|s| s.to_string()).collect();
    let iat = now().max(last_iat.saturating_add(1));
    let grant = state.issuer.issue(
        credentials.user.clone(),
        credentials.device_id.clone(),
        scopes,
        iat,
        iat + OFFLINE_WINDOW_SECS,
    )?;
    Ok((grant, iat))
}

/// The credentials of a JSON request (`/enroll`, `/renew`), checked.
fn json_credentials(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Credentials, ApiError> {
    require_content_type(headers, "application/json")?;
    parse_credentials(&body_or_error(body)?)
}

/// The user a device is enrolled for, and the `iat` of its last grant.
fn device_owner(db: &Connection, device_id: &str) -> Result<Option<(String, i64)>, ApiError> {
    Ok(db
        .query_row("SELECT user_id, last_iat FROM devices WHERE device_id = ?1", [device_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

async fn enroll(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let credentials = json_credentials(&headers, body)?;
    let sync_key = generate_sync_key()?;
    let grant = {
        let db = state.db();
        let owner = device_owner(&db, &credentials.device_id)?;
        if owner.as_ref().is_some_and(|(owner, _)| *owner != credentials.user) {
            return Err(ApiError(StatusCode::CONFLICT, "device is enrolled for another user".into()));
        }
        let (grant, iat) = issue(&state, &credentials, owner.map_or(0, |(_, last)| last))?;
        // Re-enrolment (after a wipe) starts a new chain with a new key.
        db.execute(
            "INSERT OR REPLACE INTO devices (device_id, user_id, sync_key, cursor_seq, cursor_mac, last_iat)
             VALUES (?1, ?2, ?3, 0, ?4, ?5)",
            params![credentials.device_id, credentials.user, sync_key, vec![0u8; 32], iat],
        )?;
        grant
    };
    let jwks: Value = serde_json::from_str(&jwks_from_issuer_keys(vec![state.issuer.issuer_key()])?)
        .map_err(|_| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "jwks".into()))?;
    Ok(Json(json!({"grant": grant, "sync_key": hex::encode(&sync_key), "jwks": jwks})))
}

async fn renew(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let credentials = json_credentials(&headers, body)?;
    let db = state.db();
    let Some((_, last_iat)) =
        device_owner(&db, &credentials.device_id)?.filter(|(owner, _)| *owner == credentials.user)
    else {
        return Err(ApiError(StatusCode::FORBIDDEN, "device is not enrolled for this user".into()));
    };
    let (grant, iat) = issue(&state, &credentials, last_iat)?;
    db.execute("UPDATE devices SET last_iat = ?1 WHERE device_id = ?2", params![iat, credentials.device_id])?;
    Ok(Json(json!({"grant": grant})))
}

#[derive(Deserialize)]
struct DeviceQuery {
    device_id: String,
}

async fn sync(
    State(state): State<Arc<AppState>>,
    query: Result<Query<DeviceQuery>, QueryRejection>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|_| bad_request("expected ?device_id=…"))?;
    require_content_type(&headers, "application/octet-stream")?;
    // This device's uploads one at a time: the cursor read below is still
    // the stored one when the transaction commits. The body is read only
    // once the lock is held, so uploads flooding one device id hold one
    // batch in memory at a time, not one each.
    let upload_lock = state.upload_lock(&query.device_id);
    let _upload = upload_lock.lock().await;
    let body = axum::body::to_bytes(body, MAX_BATCH_BYTES)
        .await
        .map_err(|_| ApiError(StatusCode::PAYLOAD_TOO_LARGE, "the batch exceeds the size limit".into()))?;
    let device: Option<(String, Vec<u8>, i64, Vec<u8>)> = state
        .db()
        .query_row(
            "SELECT user_id, sync_key, cursor_seq, cursor_mac FROM devices WHERE device_id = ?1",
            [&query.device_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((user_id, sync_key, cursor_seq, cursor_mac)) = device else {
        return Err(ApiError(StatusCode::NOT_FOUND, "unknown device".into()));
    };
    let cursor = SyncCursor { last_seq: cursor_seq as u64, last_mac: cursor_mac };
    // Verified outside any database lock, off the async workers.
    let verifier = state.verifier.clone();
    let verified = tokio::task::spawn_blocking(move || verifier.verify(Vec::from(body), sync_key, cursor))
        .await
        .map_err(|_| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "verification failed".into()))??;
    if verified.device_id != query.device_id || verified.user_id != user_id {
        return Err(ApiError(StatusCode::FORBIDDEN, "the batch is for another device or user".into()));
    }
    {
        let mut db = state.db();
        let tx = db.transaction()?;
        for op in &verified.operations {
            match &op.value {
                Some(value) => tx.execute(
                    "INSERT OR REPLACE INTO records (user_id, collection, key, value, seq, device_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![user_id, op.collection, op.key, value, op.seq as i64, query.device_id],
                )?,
                None => tx.execute(
                    "DELETE FROM records WHERE user_id = ?1 AND collection = ?2 AND key = ?3",
                    params![user_id, op.collection, op.key],
                )?,
            };
        }
        tx.execute(
            "UPDATE devices SET cursor_seq = ?1, cursor_mac = ?2 WHERE device_id = ?3",
            params![verified.cursor.last_seq as i64, verified.cursor.last_mac, query.device_id],
        )?;
        tx.commit()?;
    }
    Ok(Json(json!({
        "receipt": URL_SAFE_NO_PAD.encode(&verified.receipt),
        "acknowledged_seq": verified.cursor.last_seq,
        "applied": verified.operations.len(),
        "duplicates": verified.duplicates,
    })))
}

/// `Authorization: Basic base64(user:password)`, checked like a sign-in.
fn basic_auth(headers: &HeaderMap) -> Result<String, ApiError> {
    let unauthorized = || ApiError(StatusCode::UNAUTHORIZED, "HTTP Basic credentials required".into());
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(unauthorized)?;
    let encoded = value.strip_prefix("Basic ").ok_or_else(unauthorized)?;
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| unauthorized())?;
    let text = String::from_utf8(decoded).map_err(|_| unauthorized())?;
    let (user, password) = text.split_once(':').ok_or_else(unauthorized)?;
    check_password(user, password)?;
    Ok(user.to_owned())
}

async fn records(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let user = basic_auth(&headers)?;
    let db = state.db();
    let mut stmt =
        db.prepare("SELECT collection, key, value FROM records WHERE user_id = ?1 ORDER BY collection, key")?;
    let rows = stmt.query_map([&user], |r| {
        let value: Vec<u8> = r.get(2)?;
        Ok(json!({"collection": r.get::<_, String>(0)?, "key": r.get::<_, String>(1)?,
                  "value": String::from_utf8_lossy(&value)}))
    })?;
    Ok(Json(Value::Array(rows.collect::<Result<_, _>>()?)))
}
