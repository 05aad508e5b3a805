//! The reference sync server: what a backend does with offline-auth, in one
//! small file. axum on loopback, state in SQLite.
//!
//! - `POST /enroll` `{user, password, device_id}` → `{grant, sync_key, jwks}`:
//!   after a (toy) password check, issues an offline grant and provisions the
//!   device's sync key.
//! - `POST /sync?device_id=…` with the raw batch bytes → `{acknowledged_seq,
//!   applied, duplicates}`: verifies with `SyncVerifier` from the stored
//!   cursor, applies the operations and stores the new cursor in one
//!   transaction, so a replayed batch is applied once.
//! - `POST /renew` `{user, password, device_id}` → `{grant}`.
//! - `GET /records?user=…` → the user's records, for the demo and the tests.
//!
//! Errors are 4xx with `{"error": reason}` and change nothing.
//! This is a reference, not a product: passwords are compared in clear from
//! a fixed table (real servers use their own authentication).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use offline_auth::{
    generate_sync_key, jwks_from_issuer_keys, GrantIssuer, SyncCursor, SyncVerifier, VaultError, MAX_BATCH_BYTES,
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

impl From<VaultError> for ApiError {
    fn from(error: VaultError) -> Self {
        ApiError(StatusCode::UNPROCESSABLE_ENTITY, error.to_string())
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
                                                 cursor_seq INTEGER NOT NULL, cursor_mac BLOB NOT NULL);
             CREATE TABLE IF NOT EXISTS records (user_id TEXT NOT NULL, collection TEXT NOT NULL, key TEXT NOT NULL,
                                                 value BLOB NOT NULL, seq INTEGER NOT NULL, device_id TEXT NOT NULL,
                                                 PRIMARY KEY (user_id, collection, key));",
        )?;
        let stored: Option<(String, Vec<u8>)> =
            conn.query_row("SELECT kid, private_key FROM issuer", [], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
        let issuer = match stored {
            Some((kid, key)) => GrantIssuer::new(kid, key)?,
            None => {
                let issuer = GrantIssuer::generate("reference-server-1".into())?;
                conn.execute(
                    "INSERT INTO issuer (id, kid, private_key) VALUES (1, ?1, ?2)",
                    params![issuer.kid(), issuer.private_key()],
                )?;
                issuer
            }
        };
        let verifier = SyncVerifier::new(vec![issuer.issuer_key()])?;
        Ok(Arc::new(Self { db: Mutex::new(conn), issuer, verifier }))
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The routes, with body limits checked before any parsing.
pub fn router(state: Arc<AppState>) -> Router {
    let json_routes = Router::new()
        .route("/enroll", post(enroll))
        .route("/renew", post(renew))
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES));
    let sync = Router::new().route("/sync", post(sync)).layer(DefaultBodyLimit::max(MAX_BATCH_BYTES));
    Router::new().merge(json_routes).merge(sync).route("/records", get(records)).with_state(state)
}

/// A server running on a free loopback port in a thread of its own, with a
/// small blocking client: what the story and the tests talk to.
pub struct LocalServer {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<std::io::Result<()>>,
}

impl LocalServer {
    /// Starts a server on `127.0.0.1:0` with its state in `db`.
    pub fn start(db: &PathBuf) -> Result<Self, Box<dyn std::error::Error>> {
        let state = AppState::open(db)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (bound_tx, bound_rx) = std::sync::mpsc::channel();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let thread = std::thread::spawn(move || {
            let shutdown = async {
                stopped.await.ok();
            };
            let addr = SocketAddr::from(([127, 0, 0, 1], 0));
            runtime.block_on(serve(
                state,
                addr,
                move |a| {
                    // The receiver only goes away if start() already gave up.
                    let _ = bound_tx.send(a);
                },
                shutdown,
            ))
        });
        let addr = bound_rx.recv_timeout(std::time::Duration::from_secs(30))?;
        Ok(Self { addr, stop, thread })
    }

    /// Stops the server and waits for it to finish.
    pub fn stop(self) -> Result<(), Box<dyn std::error::Error>> {
        self.stop.send(()).map_err(|()| "the server had already stopped")?;
        self.thread.join().map_err(|_| "the server thread panicked")??;
        Ok(())
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// POSTs `body` to `path`; returns the status and the JSON answer.
    pub fn post(&self, path: &str, body: &[u8]) -> Result<(u16, Value), Box<dyn std::error::Error>> {
        let mut response = client().post(&self.url(path)).send(body)?;
        let text = response.body_mut().read_to_string()?;
        Ok((response.status().as_u16(), serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// GETs `path` and parses the JSON answer.
    pub fn get(&self, path: &str) -> Result<Value, Box<dyn std::error::Error>> {
        let mut response = client().get(&self.url(path)).call()?;
        Ok(serde_json::from_str(&response.body_mut().read_to_string()?)?)
    }
}

fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into()
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

fn issue(state: &AppState, credentials: &Credentials) -> Result<String, ApiError> {
    let scopes = SCOPES.iter().map(|s| s.to_string()).collect();
    let now = now();
    Ok(state.issuer.issue(
        credentials.user.clone(),
        credentials.device_id.clone(),
        scopes,
        now,
        now + OFFLINE_WINDOW_SECS,
    )?)
}

async fn enroll(State(state): State<Arc<AppState>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let credentials = parse_credentials(&body)?;
    let sync_key = generate_sync_key()?;
    let grant = issue(&state, &credentials)?;
    {
        let db = state.db();
        let owner: Option<String> = db
            .query_row("SELECT user_id FROM devices WHERE device_id = ?1", [&credentials.device_id], |r| r.get(0))
            .optional()?;
        if owner.is_some_and(|owner| owner != credentials.user) {
            return Err(ApiError(StatusCode::CONFLICT, "device is enrolled for another user".into()));
        }
        // Re-enrolment (after a wipe) starts a new chain with a new key.
        db.execute(
            "INSERT OR REPLACE INTO devices (device_id, user_id, sync_key, cursor_seq, cursor_mac) VALUES (?1, ?2, ?3, 0, ?4)",
            params![credentials.device_id, credentials.user, sync_key, vec![0u8; 32]],
        )?;
    }
    let jwks: Value = serde_json::from_str(&jwks_from_issuer_keys(vec![state.issuer.issuer_key()])?)
        .map_err(|_| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "jwks".into()))?;
    Ok(Json(json!({"grant": grant, "sync_key": hex::encode(&sync_key), "jwks": jwks})))
}

async fn renew(State(state): State<Arc<AppState>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let credentials = parse_credentials(&body)?;
    let owner: Option<String> = state
        .db()
        .query_row("SELECT user_id FROM devices WHERE device_id = ?1", [&credentials.device_id], |r| r.get(0))
        .optional()?;
    if owner.as_deref() != Some(credentials.user.as_str()) {
        return Err(ApiError(StatusCode::FORBIDDEN, "device is not enrolled for this user".into()));
    }
    Ok(Json(json!({"grant": issue(&state, &credentials)?})))
}

#[derive(Deserialize)]
struct DeviceQuery {
    device_id: String,
}

async fn sync(
    State(state): State<Arc<AppState>>,
    Query(query): Query<DeviceQuery>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut db = state.db();
    let tx = db.transaction()?;
    let device: Option<(String, Vec<u8>, i64, Vec<u8>)> = tx
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
    let verified = state.verifier.verify(body.to_vec(), sync_key, cursor)?;
    if verified.device_id != query.device_id || verified.user_id != user_id {
        return Err(ApiError(StatusCode::FORBIDDEN, "the batch is for another device or user".into()));
    }
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
    Ok(Json(json!({
        "acknowledged_seq": verified.cursor.last_seq,
        "applied": verified.operations.len(),
        "duplicates": verified.duplicates,
    })))
}

#[derive(Deserialize)]
struct UserQuery {
    user: String,
}

async fn records(State(state): State<Arc<AppState>>, Query(query): Query<UserQuery>) -> Result<Json<Value>, ApiError> {
    let db = state.db();
    let mut stmt =
        db.prepare("SELECT collection, key, value FROM records WHERE user_id = ?1 ORDER BY collection, key")?;
    let rows = stmt.query_map([&query.user], |r| {
        let value: Vec<u8> = r.get(2)?;
        Ok(json!({"collection": r.get::<_, String>(0)?, "key": r.get::<_, String>(1)?,
                  "value": String::from_utf8_lossy(&value)}))
    })?;
    Ok(Json(Value::Array(rows.collect::<Result<_, _>>()?)))
}
