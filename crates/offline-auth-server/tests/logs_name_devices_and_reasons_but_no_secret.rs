//! What the server and the backend crate log, captured by a test
//! subscriber (every level, every span's fields, as JSON lines) over a run
//! with uploads (applied, replayed) and refusals (tampered, another
//! tenant's device, an unknown device): the lines name the device, the
//! seq range and each refusal's reason, and carry a request id; no byte of
//! the sync key, a MAC, the grant token, a record value or the password
//! appears in them, in hex, base64 or Rust's debug form.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use offline_auth::{issuer_keys_from_jwks, OfflineSession, PinVault, SoftwareKeystore, SyncQueue, VaultConfig};
use offline_auth_proto::batch_reader::BatchReader;
use offline_auth_server::{LocalServer, USERS};
use serde_json::{json, Value};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Enrolled {
    sync_key: Vec<u8>,
    grant: String,
    session: Arc<OfflineSession>,
    queue: Arc<SyncQueue>,
    _dir: tempfile::TempDir,
}

fn enroll(server: &LocalServer, id: &str, user: (&str, &str)) -> Enrolled {
    let credentials = json!({"user": user.0, "password": user.1, "device_id": id}).to_string();
    let (status, answer) = server.post_json("/enroll", credentials.as_bytes()).unwrap();
    assert_eq!(status, 200, "{answer}");
    let sync_key = hex::decode(answer["sync_key"].as_str().unwrap()).unwrap();
    let grant = answer["grant"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db").to_string_lossy().into_owned();
    let keys = issuer_keys_from_jwks(&answer["jwks"].to_string()).unwrap();
    let vault = PinVault::open(path, SoftwareKeystore::new(), VaultConfig::new(id, keys)).unwrap();
    let session = vault.enroll("482915".into(), &grant, sync_key.clone()).unwrap();
    let queue = session.clone().sync_queue();
    Enrolled { sync_key, grant, session, queue, _dir: dir }
}

/// Every form a secret could take in a log line.
fn forms(secret: &[u8]) -> Vec<String> {
    let mut forms = vec![
        hex::encode(secret),
        hex::encode_upper(secret),
        STANDARD.encode(secret),
        STANDARD_NO_PAD.encode(secret),
        URL_SAFE.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
        format!("{secret:?}"),
    ];
    if let Ok(text) = std::str::from_utf8(secret) {
        forms.push(text.to_owned());
    }
    forms
}

#[test]
fn logs_name_devices_and_reasons_but_no_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_current_span(true)
        .with_span_list(true)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(move || writer.clone())
        .init();

    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("server.db")).unwrap();
    let device = enroll(&server, "logs-tablet-7", USERS[0]);
    let other = enroll(&server, "logs-tablet-8", USERS[1]);
    let values = ["first confidential finding 4471", "second confidential finding 9382"];
    for (n, value) in values.iter().enumerate() {
        device.session.put("inspections", &format!("k{n}"), value.as_bytes().to_vec()).unwrap();
    }
    let batch = device.queue.next_batch(100).unwrap().unwrap().bytes;
    let sync = "/sync?device_id=logs-tablet-7";
    let (status, answer) = server.post_batch(sync, &batch).unwrap();
    assert_eq!((status, answer["applied"].as_u64()), (200, Some(2)), "{answer}");
    let (status, _) = server.post_batch(sync, &batch).unwrap();
    assert_eq!(status, 200);
    device.queue.acknowledge(URL_SAFE_NO_PAD.decode(answer["receipt"].as_str().unwrap()).unwrap()).unwrap();
    device.session.put("notes", "k3", b"third confidential finding 1290".to_vec()).unwrap();
    let next = device.queue.next_batch(100).unwrap().unwrap().bytes;
    let mut tampered = next.clone();
    *tampered.last_mut().unwrap() ^= 1;
    let (status, _) = server.post_batch(sync, &tampered).unwrap();
    assert_eq!(status, 422);
    let (status, _) = server.post_batch("/sync?device_id=logs-tablet-8", &next).unwrap();
    assert_eq!(status, 403);
    let (status, _) = server.post_batch("/sync?device_id=logs-nobody", &next).unwrap();
    assert_eq!(status, 404);
    server.stop().unwrap();

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let events = |message: &str| lines.iter().filter(move |l| l["fields"]["message"] == message).collect::<Vec<_>>();
    // What an operator needs is there.
    let rejected = events("batch rejected");
    assert_eq!(rejected.len(), 1, "{text}");
    assert_eq!(rejected[0]["fields"]["reason"], "chain_broken");
    assert_eq!(rejected[0]["span"]["device_id"], "logs-tablet-7");
    assert_eq!(rejected[0]["span"]["first_seq"], 3);
    assert!(rejected[0]["spans"][0]["request_id"].as_str().is_some_and(|id| !id.is_empty()), "{}", rejected[0]);
    let sync_rejected = events("sync rejected");
    let reasons: Vec<&str> = sync_rejected.iter().map(|e| e["fields"]["reason"].as_str().unwrap()).collect();
    assert!(reasons.contains(&"chain_broken") && reasons.contains(&"other_tenant"), "{text}");
    let answered = events("sync answered");
    assert_eq!(answered.len(), 2, "{text}");
    assert_eq!(
        (answered[0]["fields"]["applied"].as_u64(), answered[1]["fields"]["duplicates"].as_u64()),
        (Some(2), Some(2))
    );
    assert!(text.contains("\"last_seq\":2"), "no seq range in the verify_batch span: {text}");

    // No secret, in any form.
    let mut secrets: Vec<(String, Vec<u8>)> = vec![
        ("sync key".into(), device.sync_key.clone()),
        ("other sync key".into(), other.sync_key.clone()),
        ("grant token".into(), device.grant.clone().into_bytes()),
        ("password".into(), USERS[0].1.as_bytes().to_vec()),
    ];
    let signature = device.grant.rsplit('.').next().unwrap().as_bytes().to_vec();
    secrets.push(("grant signature".into(), signature));
    for value in values.iter().chain(&["third confidential finding 1290"]) {
        secrets.push((format!("value {value:?}"), value.as_bytes().to_vec()));
    }
    for bytes in [&batch, &next] {
        let mut reader = BatchReader::open(bytes).unwrap();
        while let Some(entry) = reader.next_entry().unwrap() {
            secrets.push((format!("MAC of seq {}", entry.seq), entry.mac.to_vec()));
        }
    }
    for (what, secret) in &secrets {
        for form in forms(secret) {
            assert!(!text.contains(&form), "the {what} is in the logs as {form:?}");
        }
    }
    assert!(lines.len() > 10, "too little captured to prove anything: {text}");
}
