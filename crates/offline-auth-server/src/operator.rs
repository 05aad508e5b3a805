//! The operator's page (issue 26 §4; docs/decisions/0016-operator-page.md):
//! `GET /operator` lists the devices (`operator_html.rs` renders it), a form
//! per device revokes it. Off, like the admin endpoint, without an admin
//! token (404).
//!
//! 1. **Sign-in.** `POST /operator/login` with the admin token in a form
//!    sets a session cookie: `v1.<expiry>.<nonce>.<mac>`, the MAC an
//!    HMAC-SHA256 under a key derived from the admin token, so any instance
//!    sharing the token accepts it and nothing is kept per session (a
//!    stranger's sign-ins cannot grow memory). `HttpOnly; SameSite=Strict;
//!    Path=/operator`, `Secure` when the request came through TLS
//!    (`X-Forwarded-Proto: https` from the proxy), valid [`SESSION_SECS`].
//!    Changing the admin token ends every session.
//! 2. **Cross-site posts refused.** Every form post (the sign-in
//!    included) is refused (403) when its `Sec-Fetch-Site` is not
//!    `same-origin` (or `none`) or its `Origin` is not this host; a post in
//!    a session must also carry the session's CSRF token (an HMAC of its
//!    nonce), compared in constant time.
//! 3. **Escaping.** Every device-supplied string (device ids, owners,
//!    revocation reasons) goes through maud's escaping; the page sends a
//!    Content-Security-Policy that runs no script at all.
//! 4. **Actions.** `POST /operator/devices/{id}/{action}`: [`Action`]
//!    names them; `revoke` today. A wipe action is one more variant and one
//!    more arm in [`act`] (the seam for the wipe branch).

use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::metrics::{DbOp, Upload};
use crate::operator_html as html;
use crate::store::Contact;
use crate::{now, AppState};

/// How long a sign-in lasts.
pub const SESSION_SECS: i64 = 8 * 3600;
/// Most devices the page lists (in id order).
pub const PAGE_DEVICES: u32 = 500;
/// The session cookie's name.
const COOKIE: &str = "offline_auth_operator";

/// What a device's row offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    /// `Revocation` through the same store call as the admin endpoint.
    Revoke,
    // Wipe (from the wipe branch) goes here.
}

impl Action {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "revoke" => Some(Self::Revoke),
            _ => None,
        }
    }
}

/// A signed-in operator's session: its nonce (hex) and CSRF token.
struct Session {
    csrf: String,
}

/// The key sessions are signed with, derived from the admin token (`None`: the page is off).
fn session_key(state: &AppState) -> Option<Zeroizing<Vec<u8>>> {
    let token = state.admin.token()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(token.as_bytes()).ok()?;
    mac.update(b"offline-auth operator session v1");
    Some(Zeroizing::new(mac.finalize().into_bytes().to_vec()))
}

fn sign(key: &[u8], text: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(text.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// A new session cookie's value, valid until `expires`.
fn new_cookie(key: &[u8], expires: i64) -> Option<String> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).ok()?;
    let body = format!("v1.{expires}.{}", hex::encode(nonce));
    Some(format!("{body}.{}", sign(key, &body)))
}

/// The session the request's cookie proves, if it is valid and unexpired.
fn session(key: &[u8], headers: &HeaderMap) -> Option<Session> {
    let cookies = headers.get_all(header::COOKIE).into_iter().filter_map(|v| v.to_str().ok());
    let value = cookies.flat_map(|v| v.split(';')).find_map(|c| c.trim().strip_prefix("offline_auth_operator="))?;
    let (body, mac) = value.rsplit_once('.')?;
    let expected = sign(key, body);
    if mac.len() != expected.len() || !bool::from(mac.as_bytes().ct_eq(expected.as_bytes())) {
        return None;
    }
    let mut parts = body.split('.');
    let (version, expires, nonce) = (parts.next()?, parts.next()?.parse::<i64>().ok()?, parts.next()?);
    (version == "v1" && expires > now()).then(|| Session { csrf: sign(key, &format!("csrf.{nonce}")) })
}

/// Whether a form post comes from another site (module doc, 2).
fn cross_site(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("?"));
    if let Some(site) = text("sec-fetch-site") {
        if site != "same-origin" && site != "none" {
            tracing::warn!(site, "operator page: cross-site post refused");
            return true;
        }
    }
    if let Some(origin) = text("origin") {
        let host = text("host").unwrap_or("");
        let origin_host = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
        if origin_host != Some(host) || host.is_empty() {
            tracing::warn!("operator page: post from another origin refused");
            return true;
        }
    }
    false
}

fn refuse_cross_site() -> Response {
    page(StatusCode::FORBIDDEN, html::message("Refused: a cross-site form post."))
}

/// Security headers of every page: no script runs, no framing, no caching.
/// `Referrer-Policy: same-origin`, not `no-referrer`: under `no-referrer`
/// Chromium sends `Origin: null` with the page's own form posts, which
/// [`cross_site`] then refuses (the browser test found it).
fn page(status: StatusCode, body: maud::Markup) -> Response {
    let mut response = (status, axum::response::Html(body.into_string())).into_response();
    let headers = response.headers_mut();
    let csp = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

fn off() -> Response {
    crate::ApiError::new(StatusCode::NOT_FOUND, "no such endpoint").into_response()
}

/// `GET /operator`: the sign-in form, or the devices.
pub(crate) async fn show(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(key) = session_key(&state) else { return off() };
    let Some(session) = session(&key, &headers) else {
        return page(StatusCode::OK, html::login(None));
    };
    let since = now() - 24 * 3600;
    let listed = state.metrics.time_db(DbOp::Operator, state.store.device_summaries(since, PAGE_DEVICES)).await;
    match listed {
        Ok(devices) => page(StatusCode::OK, html::devices(&devices, &session.csrf, now(), PAGE_DEVICES)),
        Err(error) => crate::ApiError::from(error).into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct Login {
    token: String,
}

/// `POST /operator/login`: the admin token in, a session cookie out.
pub(crate) async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Form<Login>, FormRejection>,
) -> Response {
    let Some(key) = session_key(&state) else { return off() };
    if cross_site(&headers) {
        return refuse_cross_site();
    }
    let given = form.map(|Form(login)| Zeroizing::new(login.token)).unwrap_or_default();
    if state.admin.check_token(given.as_bytes()).is_err() {
        return page(StatusCode::UNAUTHORIZED, html::login(Some("Wrong token.")));
    }
    let Some(value) = new_cookie(&key, now() + SESSION_SECS) else {
        return crate::ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "no randomness").into_response();
    };
    let tls = headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let secure = if tls { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/operator; Max-Age={SESSION_SECS}{secure}");
    tracing::info!("operator signed in");
    let mut response = Redirect::to("/operator").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Deserialize)]
pub(crate) struct ActionForm {
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// `POST /operator/devices/{id}/{action}` in a session, with its CSRF token.
pub(crate) async fn act(
    State(state): State<Arc<AppState>>,
    Path((device_id, action)): Path<(String, String)>,
    headers: HeaderMap,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    let Some(key) = session_key(&state) else { return off() };
    if cross_site(&headers) {
        return refuse_cross_site();
    }
    let Some(session) = session(&key, &headers) else {
        return page(StatusCode::UNAUTHORIZED, html::login(Some("Sign in first.")));
    };
    let Ok(Form(form)) = form else {
        return page(StatusCode::BAD_REQUEST, html::message("Expected a form."));
    };
    let token_ok =
        form.csrf.len() == session.csrf.len() && bool::from(form.csrf.as_bytes().ct_eq(session.csrf.as_bytes()));
    if !token_ok {
        tracing::warn!("operator page: post without the session's CSRF token refused");
        return page(StatusCode::FORBIDDEN, html::message("Refused: the form's token is not this session's."));
    }
    let Some(action) = Action::parse(&action) else { return off() };
    let done = match action {
        Action::Revoke => crate::admin::revoke_device(&state, device_id, form.reason).await,
    };
    match done {
        Ok(_) => Redirect::to("/operator").into_response(),
        Err(error) => error.into_response(),
    }
}

/// Around `/sync`: notes a verified upload of a known device (last contact,
/// newest entry, boot trend) and a refused one (by reason) for the page.
/// Unknown ids and rate-limited requests are not noted (no write for them);
/// a failure to note is logged and changes nothing in the answer.
pub(crate) async fn note_upload(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let device_id = axum::extract::Query::<crate::handlers::DeviceQuery>::try_from_uri(request.uri())
        .map(|query| query.0.device_id)
        .ok();
    let response = next.run(request).await;
    let Some(device_id) = device_id else { return response };
    let at = now();
    let noted = match (response.extensions().get::<Upload>(), response.extensions().get::<crate::metrics::Refusal>()) {
        (Some(upload), _) => {
            let (newest, stretched) = match upload {
                Upload::Applied { newest, stretched, .. } => (*newest, *stretched),
                _ => (None, false),
            };
            let contact = Contact { device_id: &device_id, at, newest, stretched };
            state.metrics.time_db(DbOp::Operator, state.store.note_contact(&contact)).await
        }
        (None, Some(refusal)) if !matches!(refusal.0, "unknown_device" | "rate_limited") => {
            state.metrics.time_db(DbOp::Operator, state.store.note_refusal(&device_id, refusal.0, at)).await
        }
        _ => Ok(()),
    };
    if let Err(error) = noted {
        tracing::warn!(%error, "operator page: upload not noted");
    }
    response
}
