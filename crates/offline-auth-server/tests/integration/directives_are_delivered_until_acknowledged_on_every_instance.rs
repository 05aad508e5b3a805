//! Remote directives through the server binary: the admin endpoint (the
//! revoke endpoint's token) queues one for an enrolled device; every sync
//! answer delivers it, to that device only, until a verified upload of
//! that device acknowledges its `jti`; an acknowledgement of an unknown id,
//! of another device's directive, or riding on a replayed batch changes
//! nothing. With PostgreSQL
//! (OFFLINE_AUTH_PG_URL), one queued through an instance is delivered by
//! another, and acknowledged through one it is no longer delivered by any.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::common;

use common::{admin_post, pg_url, post, run_id, Answer, Device, Instance, Rng, USERS};
use serde_json::{json, Value};

const TOKEN: &str = "test-admin-token-0123456789abcdef";

/// `POST /admin/devices/{device}/directives` with `token` (if any).
fn queue(addr: &str, device: &str, body: &str, token: Option<&str>) -> Answer {
    admin_post(addr, &format!("/admin/devices/{device}/directives"), body, token)
}

/// One edit uploaded to `addr` acknowledging `applied`; the directives delivered.
fn sync(addr: &str, device: &mut Device, applied: &[&str]) -> Vec<Value> {
    device.edit(1, &mut Rng(3));
    let batch = device.queue.next_batch(100).unwrap().unwrap();
    let path = format!("{}&applied={}", device.sync_path(), applied.join(","));
    let answer = post(addr, &path, "application/octet-stream", &batch.bytes).unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    device.acknowledge(&answer);
    answer.body["directives"].as_array().unwrap().clone()
}

#[test]
fn a_directive_is_delivered_to_its_device_until_it_acknowledges_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let server = Instance::spawn_with(&[db.to_str().unwrap(), "127.0.0.1:0"], &[("OFFLINE_AUTH_ADMIN_TOKEN", TOKEN)]);
    let mut device = Device::enroll(&server.addr, "dev-a", USERS[0]);
    let mut other = Device::enroll(&server.addr, "dev-b", USERS[0]);
    let wipe = r#"{"action": "wipe"}"#;
    assert_eq!(queue(&server.addr, &device.id, wipe, None).status, 401);
    assert_eq!(queue(&server.addr, &device.id, r#"{"action": "explode"}"#, Some(TOKEN)).status, 400);
    assert_eq!(queue(&server.addr, "never-enrolled", wipe, Some(TOKEN)).status, 404);
    assert!(sync(&server.addr, &mut device, &[]).is_empty(), "nothing queued yet");

    let queued = queue(&server.addr, &device.id, r#"{"action": "biometrics_off"}"#, Some(TOKEN));
    assert_eq!(queued.status, 200, "{queued:?}");
    assert_eq!(queued.body["action"], json!("biometrics_off"));
    let jti = queued.body["jti"].as_str().unwrap().to_owned();
    let other_jti = queue(&server.addr, &other.id, wipe, Some(TOKEN)).body["jti"].as_str().unwrap().to_owned();

    let delivered = sync(&server.addr, &mut device, &[]);
    assert_eq!(delivered.len(), 1);
    assert_eq!(sync(&server.addr, &mut other, &[]).len(), 1, "each device gets its own");
    // Unknown ids and another device's id acknowledge nothing.
    assert_eq!(sync(&server.addr, &mut device, &["0123", &other_jti]), delivered);
    assert_eq!(sync(&server.addr, &mut other, &[]).len(), 1);
    // A replayed batch (it verifies, and proves nothing) acknowledges nothing.
    device.edit(1, &mut Rng(5));
    let batch = device.queue.next_batch(100).unwrap().unwrap();
    let first = post(&server.addr, &device.sync_path(), "application/octet-stream", &batch.bytes).unwrap();
    device.acknowledge(&first);
    let path = format!("{}&applied={jti}", device.sync_path());
    let replayed = post(&server.addr, &path, "application/octet-stream", &batch.bytes).unwrap();
    assert_eq!((replayed.status, replayed.body["applied"].as_u64()), (200, Some(0)), "{replayed:?}");
    assert_eq!(replayed.body["directives"].as_array().unwrap(), &delivered);
    // Its own id on a new upload does.
    assert!(sync(&server.addr, &mut device, &[&jti]).is_empty());
    assert!(sync(&server.addr, &mut device, &[]).is_empty());
    // Malformed acknowledgements are refused before anything is read.
    let too_many = vec!["x"; 17].join(",");
    let batch = device.queue.next_batch(100).unwrap();
    let body = batch.map(|b| b.bytes).unwrap_or_default();
    let refused =
        post(&server.addr, &format!("{}&applied={too_many}", device.sync_path()), "application/octet-stream", &body)
            .unwrap();
    assert_eq!(refused.status, 400, "{refused:?}");
}

#[test]
fn a_directive_queued_through_one_instance_is_delivered_and_acknowledged_through_another() {
    let Some(url) = pg_url("a_directive_queued_through_one_instance_is_delivered_and_acknowledged_through_another")
    else {
        return;
    };
    let env = [("OFFLINE_AUTH_ADMIN_TOKEN", TOKEN)];
    let (a, b) = (
        Instance::spawn_with(&["--postgres", &url, "127.0.0.1:0"], &env),
        Instance::spawn_with(&["--postgres", &url, "127.0.0.1:0"], &env),
    );
    let mut device = Device::enroll(&a.addr, &format!("directed-{}", run_id()), USERS[1]);
    let queued = queue(&a.addr, &device.id, r#"{"action": "lock_until_renewal"}"#, Some(TOKEN));
    assert_eq!(queued.status, 200, "{queued:?}");
    let jti = queued.body["jti"].as_str().unwrap().to_owned();
    assert_eq!(sync(&b.addr, &mut device, &[]).len(), 1, "B delivers what A queued");
    assert!(sync(&b.addr, &mut device, &[&jti]).is_empty());
    assert!(sync(&a.addr, &mut device, &[]).is_empty(), "acknowledged through B, A stops too");
}
