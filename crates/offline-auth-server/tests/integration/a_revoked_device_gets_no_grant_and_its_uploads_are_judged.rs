//! Revocation through the admin endpoint: the endpoint is off without a
//! token and wants the token; a revoked device gets no renewal and no
//! enrolment; its upload is refused with a typed reason (403
//! `device_revoked`, counted in `/metrics`), what it sent is reported (seqs
//! and count), and the policy decides whether its edits stamped before the
//! revocation are applied. With PostgreSQL (OFFLINE_AUTH_PG_URL), a
//! revocation made through one instance holds on another.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::common;

use std::time::Duration;

use common::{admin_post, pg_url, post, run_id, server_records, Answer, Device, Instance, Rng, USERS};
use serde_json::{json, Value};

const TOKEN: &str = "test-admin-token-0123456789abcdef";

/// `POST /admin/devices/{id}/revoke` with `token` (if any).
fn revoke(addr: &str, device: &str, token: Option<&str>) -> Answer {
    admin_post(
        addr,
        &format!("/admin/devices/{device}/revoke"),
        &json!({"reason": "reported stolen"}).to_string(),
        token,
    )
}

fn credentials(device: &Device) -> Vec<u8> {
    json!({"user": device.user.0, "password": device.user.1, "device_id": device.id}).to_string().into_bytes()
}

fn metric(addr: &str, line_start: &str) -> u64 {
    let mut response = ureq::get(&format!("{addr}/metrics")).call().unwrap();
    let text = response.body_mut().read_to_string().unwrap();
    text.lines().find(|l| l.starts_with(line_start)).and_then(|l| l.rsplit(' ').next()).unwrap().parse().unwrap()
}

fn assert_revoked(answer: &Answer, what: &str) {
    assert_eq!(answer.status, 403, "{what}: {answer:?}");
    assert_eq!(answer.body["revoked"]["reason"], "reported stolen", "{what}");
    assert!(answer.body["server_time"].is_i64(), "{what}");
}

#[test]
fn the_admin_endpoint_is_off_without_a_token_and_refuses_a_wrong_one() {
    let dir = tempfile::tempdir().unwrap();
    let off = Instance::sqlite(&dir.path().join("off.db"));
    let device = Device::enroll(&off.addr, "dev-off", USERS[0]);
    assert_eq!(revoke(&off.addr, &device.id, Some(TOKEN)).status, 404, "no token configured: no endpoint");

    let db = dir.path().join("on.db");
    let on = Instance::spawn_with(&[db.to_str().unwrap(), "127.0.0.1:0"], &[("OFFLINE_AUTH_ADMIN_TOKEN", TOKEN)]);
    let device = Device::enroll(&on.addr, "dev-on", USERS[0]);
    assert_eq!(revoke(&on.addr, &device.id, None).status, 401);
    assert_eq!(revoke(&on.addr, &device.id, Some("test-admin-token-0123456789abcdeX")).status, 401);
    assert_eq!(revoke(&on.addr, &device.id, Some("short")).status, 401);
    assert_eq!(revoke(&on.addr, "never-enrolled", Some(TOKEN)).status, 404);
    // Nothing was revoked by any of those.
    let renewed = post(&on.addr, "/renew", "application/json", &credentials(&device)).unwrap();
    assert_eq!(renewed.status, 200, "{renewed:?}");
}

/// Edits before the revocation, the revocation, edits after, one upload.
fn revoke_then_upload(addr: &str, admin_addr: &str, device: &mut Device) -> Answer {
    let mut rng = Rng(7);
    device.edit(3, &mut rng);
    // Entry times are whole seconds: the revocation comes a second later.
    std::thread::sleep(Duration::from_millis(1_100));
    let revoked = revoke(admin_addr, &device.id, Some(TOKEN));
    assert_eq!(revoked.status, 200, "{revoked:?}");
    std::thread::sleep(Duration::from_millis(1_100));
    device.edit(2, &mut rng);

    assert_revoked(&post(addr, "/renew", "application/json", &credentials(device)).unwrap(), "renewal");
    assert_revoked(&post(addr, "/enroll", "application/json", &credentials(device)).unwrap(), "enrolment");
    let batch = device.queue.next_batch(100).unwrap().unwrap();
    let answer = post(addr, &device.sync_path(), "application/octet-stream", &batch.bytes).unwrap();
    assert_revoked(&answer, "upload");
    assert_eq!(answer.body["refused"]["through_seq"], json!(5), "what it sent is reported: {answer:?}");
    answer
}

#[test]
fn a_revoked_devices_edits_after_the_revocation_are_refused_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let server = Instance::spawn_with(&[db.to_str().unwrap(), "127.0.0.1:0"], &[("OFFLINE_AUTH_ADMIN_TOKEN", TOKEN)]);
    let mut device = Device::enroll(&server.addr, "dev-refuse", USERS[0]);
    let answer = revoke_then_upload(&server.addr, &server.addr, &mut device);
    // Default policy: nothing applied, all five reported, kept on the device.
    assert_eq!(answer.body["applied"], json!(0));
    assert_eq!(answer.body["refused"], json!({"from_seq": 1, "through_seq": 5, "count": 5}));
    assert_eq!(device.queue.pending_count().unwrap(), 5);
    assert!(server_records(&server.addr, USERS[0], "dev-refuse").is_empty());
    assert_eq!(metric(&server.addr, "offline_auth_upload_refusals_total{reason=\"device_revoked\"}"), 1);
}

#[test]
fn with_the_policy_the_edits_queued_before_the_revocation_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let server = Instance::spawn_with(
        &[db.to_str().unwrap(), "127.0.0.1:0"],
        &[("OFFLINE_AUTH_ADMIN_TOKEN", TOKEN), ("OFFLINE_AUTH_APPLY_EDITS_QUEUED_BEFORE_REVOCATION", "true")],
    );
    let mut device = Device::enroll(&server.addr, "dev-apply", USERS[0]);
    let answer = revoke_then_upload(&server.addr, &server.addr, &mut device);
    assert_eq!(answer.body["applied"], json!(3), "{answer:?}");
    assert_eq!(answer.body["refused"], json!({"from_seq": 4, "through_seq": 5, "count": 2}));
    // The receipt covers what was applied: the device keeps the rest.
    device.acknowledge(&answer);
    assert_eq!(device.queue.pending_count().unwrap(), 2);
    let applied: Vec<Value> = server_records(&server.addr, USERS[0], "dev-apply");
    assert!(!applied.is_empty() && applied.len() <= 3, "{applied:?}");
}

#[test]
fn a_revocation_through_one_instance_holds_on_another() {
    let Some(url) = pg_url("a_revocation_through_one_instance_holds_on_another") else { return };
    let env = [("OFFLINE_AUTH_ADMIN_TOKEN", TOKEN)];
    let (a, b) = (
        Instance::spawn_with(&["--postgres", &url, "127.0.0.1:0"], &env),
        Instance::spawn_with(&["--postgres", &url, "127.0.0.1:0"], &env),
    );
    let mut device = Device::enroll(&a.addr, &format!("revoked-{}", run_id()), USERS[1]);
    // Revoked through A; renewal, enrolment and upload refused by B.
    let answer = revoke_then_upload(&b.addr, &a.addr, &mut device);
    assert_eq!(answer.body["refused"]["count"], json!(5));
    // And the other way round: A refuses as well.
    let batch = device.queue.next_batch(100).unwrap().unwrap();
    assert_revoked(&post(&a.addr, &device.sync_path(), "application/octet-stream", &batch.bytes).unwrap(), "A");
}
