//! `GET /healthz` says the process answers, whatever the database's state;
//! `GET /readyz` says the database answers with every migration applied,
//! and is 503 with `Retry-After` (and a JSON reason) when it does not:
//! here a schema the build does not expect (a table renamed from outside),
//! and ready again once it is put back. Against PostgreSQL too when
//! OFFLINE_AUTH_PG_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::common;

use std::time::Duration;

use offline_auth_server::LocalServer;
use serde_json::Value;

/// GETs `addr{path}`: status, `Retry-After`, JSON body.
fn get(addr: &str, path: &str) -> (u16, Option<String>, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut response = agent.get(&format!("{addr}{path}")).call().unwrap();
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = response.body_mut().read_to_string().unwrap();
    (response.status().as_u16(), retry_after, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn readyz_follows_the_schema_and_healthz_only_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let server = LocalServer::start(&db).unwrap();
    let addr = server.url("");
    assert_eq!(get(&addr, "/healthz"), (200, None, serde_json::json!({"status": "up"})));
    assert_eq!(get(&addr, "/readyz"), (200, None, serde_json::json!({"status": "ready"})));

    let outside = rusqlite::Connection::open(&db).unwrap();
    outside.execute_batch("ALTER TABLE receipts RENAME TO receipts_elsewhere").unwrap();
    let (status, retry_after, body) = get(&addr, "/readyz");
    assert_eq!((status, retry_after.as_deref()), (503, Some("1")), "{body}");
    assert!(body["error"].as_str().unwrap().starts_with("not ready"), "{body}");
    assert_eq!(get(&addr, "/healthz").0, 200, "the process is up although the database is not ready");

    outside.execute_batch("ALTER TABLE receipts_elsewhere RENAME TO receipts").unwrap();
    assert_eq!(get(&addr, "/readyz").0, 200);
    server.stop().unwrap();
}

#[cfg(feature = "postgres")]
#[test]
fn readyz_is_ready_on_a_migrated_postgres() {
    let Some(url) = common::pg_url("readyz_is_ready_on_a_migrated_postgres") else { return };
    let instance = common::Instance::postgres(&url);
    assert_eq!(get(&instance.addr, "/readyz"), (200, None, serde_json::json!({"status": "ready"})));
    assert_eq!(get(&instance.addr, "/healthz").0, 200);
}
