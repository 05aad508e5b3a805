//! End to end against the reference sync server: enrol over HTTP,
//! go offline (server stopped), edit, come back (server restarted), sync,
//! compare, replay; and every bad request answered 4xx with nothing applied.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use offline_auth_server as server;

use std::path::Path;
use std::sync::Arc;

use offline_auth::{issuer_keys_from_jwks, OfflineSession, PinVault, SoftwareKeystore, VaultConfig};
use serde_json::{json, Value};
use server::LocalServer;

const USER: &str = "amira";
const PASSWORD: &str = "correct horse battery";
const DEVICE: &str = "tablet-0042";
const PIN: &str = "482915";

fn start(db: &Path) -> LocalServer {
    LocalServer::start(db).unwrap()
}

fn post(server: &LocalServer, path: &str, body: &[u8]) -> (u16, Value) {
    if path.starts_with("/sync") {
        server.post_batch(path, body).unwrap()
    } else {
        server.post_json(path, body).unwrap()
    }
}

fn records(server: &LocalServer) -> Value {
    let (status, records) = server.get_as("/records", USER, PASSWORD).unwrap();
    assert_eq!(status, 200, "{records}");
    records
}

fn receipt(answer: &Value) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(answer["receipt"].as_str().unwrap()).unwrap()
}

fn credentials(device: &str) -> Vec<u8> {
    json!({"user": USER, "password": PASSWORD, "device_id": device}).to_string().into_bytes()
}

fn device_records(session: &Arc<OfflineSession>) -> Value {
    let mut all = Vec::new();
    for collection in server::SCOPES {
        for key in session.keys(collection).unwrap() {
            let value = session.get(collection, &key).unwrap().unwrap();
            all.push(json!({"collection": collection, "key": key, "value": String::from_utf8(value).unwrap()}));
        }
    }
    Value::Array(all)
}

#[test]
fn enrol_go_offline_edit_come_back_sync_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let server_db = dir.path().join("server.db");
    let server = start(&server_db);

    // Online: enrol through HTTP.
    let (status, enrolment) = post(&server, "/enroll", &credentials(DEVICE));
    assert_eq!(status, 200, "{enrolment}");
    let issuer_keys = issuer_keys_from_jwks(&enrolment["jwks"].to_string()).unwrap();
    let sync_key = hex::decode(enrolment["sync_key"].as_str().unwrap()).unwrap();
    let vault_path = dir.path().join("vault.db").to_string_lossy().into_owned();
    let vault = PinVault::open(vault_path, SoftwareKeystore::new(), VaultConfig::new(DEVICE, issuer_keys)).unwrap();
    let session = vault.enroll(PIN.into(), enrolment["grant"].as_str().unwrap(), sync_key).unwrap();
    session.lock();

    // Offline: the server is gone.
    server.stop().unwrap();
    let session = vault.unlock(PIN.into()).unwrap();
    session.put("inspections", "station-4", b"seal ok".to_vec()).unwrap();
    session.put("inspections", "station-5", b"valve leaking".to_vec()).unwrap();
    session.put("notes", "todo", b"order valve kit".to_vec()).unwrap();
    session.delete("notes", "todo").unwrap();
    session.put("inspections", "station-4", b"seal replaced".to_vec()).unwrap();

    // Back online: same server state, restarted.
    let server = start(&server_db);
    let queue = session.clone().sync_queue();
    let mut sent = Vec::new();
    while let Some(batch) = queue.next_batch(2).unwrap() {
        let (status, answer) = post(&server, &format!("/sync?device_id={DEVICE}"), &batch.bytes);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["acknowledged_seq"], batch.last_seq);
        queue.acknowledge(receipt(&answer)).unwrap();
        sent.push(batch);
    }
    assert_eq!(sent.len(), 3);
    assert_eq!(queue.pending_count().unwrap(), 0);
    let on_server = records(&server);
    assert_eq!(on_server, device_records(&session));
    assert_eq!(on_server.as_array().unwrap().len(), 2);

    // A replayed batch is applied once.
    let (status, answer) = post(&server, &format!("/sync?device_id={DEVICE}"), &sent[0].bytes);
    assert_eq!(status, 200);
    assert_eq!((answer["applied"].as_u64(), answer["duplicates"].as_u64()), (Some(0), Some(2)));
    assert_eq!(records(&server), on_server);

    // Renewal extends the offline window.
    let before = session.expires_at().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (status, renewed) = post(&server, "/renew", &credentials(DEVICE));
    assert_eq!(status, 200, "{renewed}");
    session.renew_grant(renewed["grant"].as_str().unwrap()).unwrap();
    assert!(session.expires_at().unwrap() > before);
    server.stop().unwrap();
}

#[test]
fn bad_requests_get_4xx_and_apply_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("server.db"));
    let sync_url = format!("/sync?device_id={DEVICE}");

    assert_eq!(post(&server, "/enroll", b"{not json").0, 400);
    let wrong = json!({"user": USER, "password": "guess", "device_id": DEVICE}).to_string();
    assert_eq!(post(&server, "/enroll", wrong.as_bytes()).0, 401);
    assert_eq!(post(&server, "/enroll", &[b' '; 64 * 1024]).0, 413);
    assert_eq!(post(&server, "/renew", &credentials(DEVICE)).0, 403, "not enrolled yet");
    assert_eq!(post(&server, &sync_url, b"OASB").0, 404, "unknown device");

    let (_, enrolment) = post(&server, "/enroll", &credentials(DEVICE));
    let issuer_keys = issuer_keys_from_jwks(&enrolment["jwks"].to_string()).unwrap();
    let sync_key = hex::decode(enrolment["sync_key"].as_str().unwrap()).unwrap();
    let vault_path = dir.path().join("vault.db").to_string_lossy().into_owned();
    let vault = PinVault::open(vault_path, SoftwareKeystore::new(), VaultConfig::new(DEVICE, issuer_keys)).unwrap();
    let session = vault.enroll(PIN.into(), enrolment["grant"].as_str().unwrap(), sync_key).unwrap();
    session.put("inspections", "station-4", b"seal ok".to_vec()).unwrap();
    let batch = session.clone().sync_queue().next_batch(10).unwrap().unwrap();

    for (what, body) in [
        ("empty", Vec::new()),
        ("truncated", batch.bytes[..batch.bytes.len() / 2].to_vec()),
        ("bit-flipped", {
            let mut b = batch.bytes.clone();
            let i = b.len() - 5;
            b[i] ^= 0x20;
            b
        }),
        ("garbage", b"OASB\x00garbage".to_vec()),
    ] {
        let (status, answer) = post(&server, &sync_url, &body);
        assert!((400..500).contains(&status), "{what}: {status}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{what}: a reason is given");
    }
    // Another device's batch sent under this device id is refused (403)
    // from its header, before any MAC is computed.
    let (_, other) = post(&server, "/enroll", &credentials("tablet-0043"));
    assert!(other["sync_key"].is_string());
    let (status, answer) = post(&server, "/sync?device_id=tablet-0043", &batch.bytes);
    assert_eq!(status, 403, "{answer}");
    assert_eq!(records(&server), json!([]), "nothing was applied");

    // The genuine batch still goes through afterwards, once.
    assert_eq!(post(&server, &sync_url, &batch.bytes).1["applied"], 1);
    assert_eq!(post(&server, &sync_url, &batch.bytes).1["applied"], 0);
    assert_eq!(records(&server).as_array().unwrap().len(), 1);

    // Every error is JSON, whatever its status, and /records needs credentials.
    let json_error = |status: u16, answer: &Value, what: &str| {
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{what} ({status}): {answer}");
    };
    let (status, answer) = server.post_as(&sync_url, "text/plain", &batch.bytes).unwrap();
    assert_eq!(status, 415);
    json_error(status, &answer, "wrong content type");
    let (status, answer) = server.post_as("/enroll", "text/plain", &credentials(DEVICE)).unwrap();
    assert_eq!(status, 415);
    json_error(status, &answer, "JSON route, wrong content type");
    let (status, answer) = server.post_batch("/sync", &batch.bytes).unwrap();
    assert_eq!(status, 400);
    json_error(status, &answer, "no device_id");
    let (status, answer) = server.post_batch(&sync_url, &[0; offline_auth::MAX_BATCH_BYTES + 1]).unwrap();
    assert_eq!(status, 413);
    json_error(status, &answer, "batch over the limit");
    let (status, answer) = server.post_json("/enroll", &[b' '; 64 * 1024]).unwrap();
    assert_eq!(status, 413);
    json_error(status, &answer, "JSON over the limit");
    let (status, answer) = server.post_json("/nowhere", b"{}").unwrap();
    assert_eq!(status, 404);
    json_error(status, &answer, "unknown endpoint");
    for (user, password) in [(USER, "guess"), ("", "")] {
        let (status, answer) = server.get_as("/records", user, password).unwrap();
        assert_eq!(status, 401);
        json_error(status, &answer, "records without the right credentials");
    }
    server.stop().unwrap();
}
