//! `POST /salvage` end to end, through the real binary configured from the
//! environment (`OFFLINE_AUTH_ESCROW_KEYS`): a device that escrowed its
//! edits is wiped; its salvage applies the edits its receipt did not cover,
//! each once; the same upload sent again applies nothing; an altered one
//! is refused; a server without escrow keys has no escrow endpoints.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{post, server_records, PIN, USERS};
use offline_auth::{issuer_keys_from_jwks, PinVault, SoftwareKeystore, VaultConfig};
use offline_auth_backend::generate_escrow_key;
use offline_auth_server::LocalServer;
use serde_json::{json, Value};

/// The server binary with escrow keys from the environment.
struct Server(Child, String);

impl Server {
    fn start(db: &std::path::Path, escrow_keys: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_offline-auth-server"))
            .args([db.to_str().unwrap(), "127.0.0.1:0"])
            .env("OFFLINE_AUTH_ESCROW_KEYS", escrow_keys)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("server said {line:?}"));
        Self(child, addr.to_owned())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(url: &str) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut response = agent.get(url).call().unwrap();
    let text = response.body_mut().read_to_string().unwrap();
    (response.status().as_u16(), serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn a_salvage_after_a_wipe_applies_each_unacknowledged_edit_once() {
    let dir = tempfile::tempdir().unwrap();
    let (old, _) = generate_escrow_key("escrow-old").unwrap();
    let (new, public) = generate_escrow_key("escrow-new").unwrap();
    let server = Server::start(&dir.path().join("server.db"), &format!("{},{}", *old, *new));
    let addr = server.1.as_str();

    let (status, key) = get(&format!("{addr}/escrow-key"));
    assert_eq!(status, 200, "{key}");
    let signed_key = key["escrow_key"].as_str().unwrap().to_owned();

    let user = USERS[0];
    let credentials = json!({"user": user.0, "password": user.1, "device_id": "salvage-1"}).to_string();
    let enrolment = post(addr, "/enroll", "application/json", credentials.as_bytes()).unwrap().body;
    let issuer_keys = issuer_keys_from_jwks(&enrolment["jwks"].to_string()).unwrap();
    let config = VaultConfig::new("salvage-1", issuer_keys).with_escrow_key(signed_key);
    let path = dir.path().join("vault.db").to_string_lossy().into_owned();
    let vault = PinVault::open(path, SoftwareKeystore::new(), config).unwrap();
    let sync_key = hex::decode(enrolment["sync_key"].as_str().unwrap()).unwrap();
    let session = vault.enroll(PIN.into(), enrolment["grant"].as_str().unwrap(), sync_key).unwrap();
    for i in 1..=3 {
        session.put("inspections", &format!("salvage-1/k{i}"), format!("value {i}").into_bytes()).unwrap();
    }

    // The first edit syncs as usual: its receipt clears its escrowed copy.
    let queue = session.clone().sync_queue();
    let batch = queue.next_batch(1).unwrap().unwrap();
    let synced = post(addr, "/sync?device_id=salvage-1", "application/octet-stream", &batch.bytes).unwrap();
    assert_eq!(synced.status, 200, "{:?}", synced.body);
    let receipt = base64_decode(synced.body["receipt"].as_str().unwrap());
    queue.acknowledge(receipt).unwrap();
    assert_eq!(vault.escrowed_count().unwrap(), 2);

    vault.wipe().unwrap();
    let upload = vault.salvage(100).unwrap().unwrap();
    assert_eq!((upload.first_seq, upload.last_seq), (2, 3));
    let answer = post(addr, "/salvage?device_id=salvage-1", "application/octet-stream", &upload.bytes).unwrap();
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!((answer.body["applied"].as_u64(), answer.body["acknowledged_seq"].as_u64()), (Some(2), Some(3)));
    vault.forget_salvaged(upload.enrolment, answer.body["acknowledged_seq"].as_u64().unwrap()).unwrap();
    assert_eq!(vault.escrowed_count().unwrap(), 0);

    let replay = post(addr, "/salvage?device_id=salvage-1", "application/octet-stream", &upload.bytes).unwrap();
    assert_eq!(replay.status, 200, "{:?}", replay.body);
    assert_eq!((replay.body["applied"].as_u64(), replay.body["duplicates"].as_u64()), (Some(0), Some(2)));

    let mut altered = upload.bytes.clone();
    *altered.last_mut().unwrap() ^= 1;
    let refused = post(addr, "/salvage?device_id=salvage-1", "application/octet-stream", &altered).unwrap();
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    let other = post(addr, "/salvage?device_id=salvage-2", "application/octet-stream", &upload.bytes).unwrap();
    assert_eq!(other.status, 403, "{:?}", other.body);

    let records = server_records(addr, user, "salvage-1/");
    let values: Vec<&str> = records.iter().map(|r| r["value"].as_str().unwrap()).collect();
    assert_eq!(values, ["value 1", "value 2", "value 3"], "every edit, each once");
    assert_eq!(public.kid, "escrow-new", "devices are given the last key");
}

#[test]
fn a_server_without_escrow_keys_has_no_escrow_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("server.db")).unwrap();
    let (status, _) = get(&server.url("/escrow-key"));
    assert_eq!(status, 404);
    let (status, _) = server.post_batch("/salvage?device_id=d", b"OASV\x01").unwrap();
    assert_eq!(status, 404);
    server.stop().unwrap();
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).unwrap()
}
