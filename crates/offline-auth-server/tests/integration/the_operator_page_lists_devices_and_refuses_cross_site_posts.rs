//! Issue 26 §4: the operator's page (`src/operator.rs`) over HTTP. The
//! browser test (`tests/browser/operator_page.py`, `scripts/test.sh
//! operator-page`) drives the same page in Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::common;

use common::{post, Device, Rng, USERS};
use offline_auth_server::{Admin, Limits, LocalServer, RevocationPolicy};

const TOKEN: &str = "operator-token-0123456789abcdef";
const EVIL: &str = "<script>alert(1)</script>";

/// An answer: status, headers we look at, body text.
struct Page {
    status: u16,
    cookie: Option<String>,
    location: Option<String>,
    text: String,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into()
}

fn read(mut response: ureq::http::Response<ureq::Body>) -> Page {
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (cookie, location) = (header("set-cookie"), header("location"));
    let status = response.status().as_u16();
    Page { status, cookie, location, text: response.body_mut().read_to_string().unwrap() }
}

fn get(server: &LocalServer, path: &str, cookie: Option<&str>) -> Page {
    let mut request = agent().get(&server.url(path));
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    read(request.call().unwrap())
}

/// A form post with these extra headers.
fn post_form(server: &LocalServer, path: &str, form: &str, headers: &[(&str, &str)]) -> Page {
    let mut request = agent().post(&server.url(path)).header("Content-Type", "application/x-www-form-urlencoded");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    read(request.send(form.as_bytes()).unwrap())
}

fn start(dir: &tempfile::TempDir, token: Option<&str>) -> LocalServer {
    let admin = Admin::new(token.map(str::to_owned), RevocationPolicy::default()).unwrap();
    LocalServer::start_admin(&dir.path().join("server.db"), Limits::default(), admin).unwrap()
}

/// Signs in; the session cookie (`name=value`).
fn sign_in(server: &LocalServer) -> String {
    let page = post_form(server, "/operator/login", &format!("token={TOKEN}"), &[]);
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/operator")));
    page.cookie.unwrap().split(';').next().unwrap().to_owned()
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_owned()
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[test]
fn without_an_admin_token_the_page_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, None);
    assert_eq!(get(&server, "/operator", None).status, 404);
    assert_eq!(post_form(&server, "/operator/login", "token=x", &[]).status, 404);
    server.stop().unwrap();
}

#[test]
fn signing_in_sets_a_strict_http_only_cookie_and_a_wrong_token_gets_none() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, Some(TOKEN));
    let page = get(&server, "/operator", None);
    assert_eq!(page.status, 200);
    assert!(page.text.contains("action=\"/operator/login\""), "{}", page.text);
    let wrong = post_form(&server, "/operator/login", "token=operator-token-0123456789abcdeX", &[]);
    assert_eq!((wrong.status, wrong.cookie), (401, None));

    let page = post_form(&server, "/operator/login", &format!("token={TOKEN}"), &[]);
    let cookie = page.cookie.unwrap();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/operator"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: no Secure flag: {cookie}");
    let tls = post_form(&server, "/operator/login", &format!("token={TOKEN}"), &[("X-Forwarded-Proto", "https")]);
    assert!(tls.cookie.unwrap().contains("; Secure"));

    // A forged or altered cookie is no session.
    let session = cookie.split(';').next().unwrap();
    let flipped = if session.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{flipped}", &session[..session.len() - 1]);
    assert!(get(&server, "/operator", Some(&forged)).text.contains("action=\"/operator/login\""));
    assert!(get(&server, "/operator", Some(session)).text.contains("id=\"devices\""));
    server.stop().unwrap();
}

#[test]
fn the_page_lists_devices_with_escaped_ids_and_their_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, Some(TOKEN));
    let addr = server.url("");
    let mut rng = Rng::seeded();
    let mut device = Device::enroll(&addr, "tablet-7", USERS[0]);
    let _evil = Device::enroll(&addr, EVIL, USERS[1]);
    device.edit(3, &mut rng);
    let batch = device.queue.next_batch(100).unwrap().unwrap().bytes;
    let answer = post(&addr, &device.sync_path(), "application/octet-stream", &batch).unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    // A refused upload of a known device (a batch of another device).
    let other = post(&addr, &format!("/sync?device_id={}", percent(EVIL)), "application/octet-stream", &batch).unwrap();
    assert_eq!(other.status, 403, "{other:?}");

    let cookie = sign_in(&server);
    let page = get(&server, "/operator", Some(&cookie));
    assert_eq!(page.status, 200);
    assert!(!page.text.contains(EVIL), "a device id is never markup: {}", page.text);
    assert!(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{}", page.text);
    assert!(page.text.contains("tablet-7") && page.text.contains(USERS[0].0) && page.text.contains(USERS[1].0));
    assert!(page.text.contains("other_tenant: 1"), "the refusal is listed by reason: {}", page.text);
    assert!(page.text.contains("<td>3</td>"), "tablet-7 acknowledged seq 3: {}", page.text);
    server.stop().unwrap();
}

#[test]
fn cross_site_posts_and_posts_without_the_csrf_token_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, Some(TOKEN));
    let _device = Device::enroll(&server.url(""), "tablet-9", USERS[0]);
    let cookie = sign_in(&server);
    let csrf = csrf_of(&get(&server, "/operator", Some(&cookie)).text);
    let path = "/operator/devices/tablet-9/revoke";
    let form = format!("csrf={csrf}&reason=lost");
    let host = server.url("").trim_start_matches("http://").to_owned();
    let own_origin = format!("http://{host}");

    let cross = [
        vec![("Cookie", cookie.as_str()), ("Origin", "http://evil.example")],
        vec![("Cookie", cookie.as_str()), ("Sec-Fetch-Site", "cross-site")],
        vec![("Cookie", cookie.as_str()), ("Sec-Fetch-Site", "same-site")],
        vec![("Cookie", cookie.as_str()), ("Origin", "null")],
    ];
    for headers in &cross {
        assert_eq!(post_form(&server, path, &form, headers).status, 403, "{headers:?}");
    }
    // The sign-in itself is refused cross-site (no login CSRF).
    let login = post_form(&server, "/operator/login", &format!("token={TOKEN}"), &[("Origin", "http://evil.example")]);
    assert_eq!((login.status, login.cookie), (403, None));
    // Same origin, but not this session's token, or no session.
    let no_token = post_form(&server, path, "csrf=00&reason=lost", &[("Cookie", &cookie), ("Origin", &own_origin)]);
    assert_eq!(no_token.status, 403);
    assert_eq!(post_form(&server, path, &form, &[("Origin", &own_origin)]).status, 401);
    let page = get(&server, "/operator", Some(&cookie));
    assert!(!page.text.contains("revoked "), "nothing was revoked: {}", page.text);

    // The operator's own form: revoked.
    let headers = [("Cookie", cookie.as_str()), ("Origin", own_origin.as_str()), ("Sec-Fetch-Site", "same-origin")];
    let done = post_form(&server, path, &form, &headers);
    assert_eq!((done.status, done.location.as_deref()), (303, Some("/operator")));
    let page = get(&server, "/operator", Some(&cookie));
    assert!(page.text.contains("revoked ") && page.text.contains(": lost"), "{}", page.text);
    server.stop().unwrap();
}

/// The same rows from PostgreSQL (migration 0007): contact, refusals by
/// reason, revocation through the page. Skipped without `OFFLINE_AUTH_PG_URL`
/// (`bash scripts/test-postgres.sh` sets it).
#[cfg(feature = "postgres")]
#[test]
fn the_page_reads_its_rows_from_postgres_too() {
    let Some(url) = common::pg_url("the_page_reads_its_rows_from_postgres_too") else { return };
    // Multi-threaded and kept to the end: the pool's first connections run on it.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let state = runtime.block_on(offline_auth_server::AppState::open_postgres(&url)).unwrap();
    let admin = Admin::new(Some(TOKEN.to_owned()), RevocationPolicy::default()).unwrap();
    let server = LocalServer::start_state(state.with_admin(admin), Limits::default()).unwrap();
    let addr = server.url("");
    // "!" sorts before the other tests' ids: within the page's first 500.
    let id = format!("!op-{}", common::run_id());
    let mut rng = Rng::seeded();
    let mut device = Device::enroll(&addr, &id, USERS[0]);
    device.edit(2, &mut rng);
    let batch = device.queue.next_batch(100).unwrap().unwrap().bytes;
    let path = format!("/sync?device_id={}", percent(&id));
    assert_eq!(post(&addr, &path, "application/octet-stream", &batch).unwrap().status, 200);
    // Refused twice: a batch that is not one.
    for _ in 0..2 {
        assert_eq!(post(&addr, &path, "application/octet-stream", b"junk").unwrap().status, 422);
    }
    let cookie = sign_in(&server);
    let page = get(&server, "/operator", Some(&cookie));
    let row = page.text.split("<tr").find(|row| row.contains(&id)).unwrap_or_else(|| panic!("{}", page.text));
    assert!(row.contains("malformed: 2") && row.contains("<td>2</td>"), "{row}");
    let csrf = csrf_of(&page.text);
    let own_origin = format!("http://{}", addr.trim_start_matches("http://"));
    let form = format!("csrf={csrf}&reason=lost");
    let done = post_form(
        &server,
        &format!("/operator/devices/{}/revoke", percent(&id)),
        &form,
        &[("Cookie", &cookie), ("Origin", &own_origin)],
    );
    assert_eq!(done.status, 303);
    let page = get(&server, "/operator", Some(&cookie));
    let row = page.text.split("<tr").find(|row| row.contains(&id)).unwrap();
    assert!(row.contains("revoked ") && row.contains(": lost"), "{row}");
    server.stop().unwrap();
    drop(runtime);
}
