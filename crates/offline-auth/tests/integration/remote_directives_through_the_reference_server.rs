//! Remote directives end to end through the reference server: the operator
//! queues one (`POST /admin/devices/{id}/directives`), the answers to the
//! device's sync and renewal deliver it, the device applies it, and the
//! server stops delivering it once the device acknowledges it in a request
//! that proves it is the device (a batch that verifies, the password); an
//! acknowledgement riding on a request that proves nothing is ignored. A
//! revoked tablet is wiped at its next contact, its edits uploaded first.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use common::{TestClock, TestKeystore};
use offline_auth::{issuer_keys_from_jwks, DirectiveAction, OfflineSession, PinVault, VaultConfig, VaultError};
use offline_auth_server::{Admin, Limits, LocalServer, RevocationPolicy};
use serde_json::{json, Value};

const USER: &str = "amira";
const PASSWORD: &str = "correct horse battery";
const DEVICE: &str = "tablet-0042";
const PIN: &str = "482915";
const TOKEN: &str = "test-admin-token-0123456789abcdef";

fn credentials(password: &str, applied: &[String]) -> Vec<u8> {
    json!({"user": USER, "password": password, "device_id": DEVICE, "applied_directives": applied})
        .to_string()
        .into_bytes()
}

/// An admin call with the bearer token.
fn admin(server: &LocalServer, path: &str, body: Value) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut response = agent
        .post(&server.url(path))
        .header("Content-Type", "application/json")
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send(body.to_string().as_bytes())
        .unwrap();
    let text = response.body_mut().read_to_string().unwrap();
    (response.status().as_u16(), serde_json::from_str(&text).unwrap())
}

fn directives(answer: &Value) -> Vec<String> {
    let list = answer["directives"].as_array().unwrap_or_else(|| panic!("no directives in {answer}"));
    list.iter().map(|d| d.as_str().unwrap().to_owned()).collect()
}

/// A server with its admin endpoint, and a vault enrolled through it.
fn enrolled(dir: &tempfile::TempDir) -> (LocalServer, Arc<PinVault>, Arc<OfflineSession>) {
    let policy = RevocationPolicy::default().with_edits_queued_before(true);
    let server = LocalServer::start_admin(
        &dir.path().join("server.db"),
        Limits::default(),
        Admin::new(Some(TOKEN.into()), policy).unwrap(),
    )
    .unwrap();
    let (status, enrolment) = server.post_json("/enroll", &credentials(PASSWORD, &[])).unwrap();
    assert_eq!(status, 200, "{enrolment}");
    let clock = TestClock::new(enrolment["server_time"].as_i64().unwrap());
    let issuer_keys = issuer_keys_from_jwks(&enrolment["jwks"].to_string()).unwrap();
    let path = dir.path().join("vault.db").to_string_lossy().into_owned();
    let vault =
        PinVault::open_with_clock(path, TestKeystore::new(), clock, VaultConfig::new(DEVICE, issuer_keys)).unwrap();
    let sync_key = hex::decode(enrolment["sync_key"].as_str().unwrap()).unwrap();
    let session = vault.enroll(PIN.into(), enrolment["grant"].as_str().unwrap(), sync_key).unwrap();
    (server, vault, session)
}

/// One edit uploaded with `applied` acknowledged; the answer (receipt acknowledged).
fn sync_one_edit(server: &LocalServer, session: &Arc<OfflineSession>, key: &str, applied: &[String]) -> Value {
    session.put("inspections", key, b"seal ok".to_vec()).unwrap();
    let queue = session.clone().sync_queue();
    let batch = queue.next_batch(100).unwrap().unwrap();
    let path = format!("/sync?device_id={DEVICE}&applied={}", applied.join(","));
    let (status, answer) = server.post_batch(&path, &batch.bytes).unwrap();
    assert_eq!(status, 200, "{answer}");
    let receipt = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(answer["receipt"].as_str().unwrap()).unwrap();
    queue.acknowledge(receipt).unwrap();
    answer
}

#[test]
fn a_queued_directive_is_delivered_by_sync_applied_and_no_longer_delivered_once_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (server, vault, session) = enrolled(&dir);
    assert!(directives(&sync_one_edit(&server, &session, "station-1", &[])).is_empty());

    let (status, queued) =
        admin(&server, &format!("/admin/devices/{DEVICE}/directives"), json!({"action": "lock_until_renewal"}));
    assert_eq!(status, 200, "{queued}");
    let jti = queued["jti"].as_str().unwrap().to_owned();
    let (status, _) = admin(&server, "/admin/devices/never-enrolled/directives", json!({"action": "wipe"}));
    assert_eq!(status, 404);

    // Delivered with the next sync answer; applied.
    let delivered = directives(&sync_one_edit(&server, &session, "station-2", &[]));
    assert_eq!(delivered.len(), 1);
    let outcome = vault.apply_directive(&delivered[0].clone()).unwrap();
    assert_eq!(
        (outcome.jti.clone(), outcome.action, outcome.finished),
        (jti.clone(), DirectiveAction::LockUntilRenewal, true)
    );
    assert_eq!(vault.applied_directives().unwrap(), vec![jti.clone()]);

    // Acknowledgements that prove nothing are ignored: a batch that does not
    // verify, a wrong password.
    let (status, _) = server.post_batch(&format!("/sync?device_id={DEVICE}&applied={jti}"), b"not a batch").unwrap();
    assert!((400..500).contains(&status));
    let (status, _) = server.post_json("/renew", &credentials("wrong password", std::slice::from_ref(&jti))).unwrap();
    assert_eq!(status, 401);
    assert_eq!(directives(&sync_one_edit(&server, &session, "station-3", &[])), delivered, "still delivered");

    // Acknowledged by a verified upload: no longer delivered.
    let acknowledged = vault.applied_directives().unwrap();
    assert!(directives(&sync_one_edit(&server, &session, "station-4", &acknowledged)).is_empty());
    assert!(directives(&sync_one_edit(&server, &session, "station-5", &[])).is_empty());

    // The lock holds offline until a renewal issued after it.
    session.lock();
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::LockedUntilRenewal));
    let (status, renewed) = server.post_json("/renew", &credentials(PASSWORD, &acknowledged)).unwrap();
    assert_eq!(status, 200, "{renewed}");
    assert!(directives(&renewed).is_empty());
    vault.unlock_with_grant(PIN.into(), renewed["grant"].as_str().unwrap()).unwrap();
    server.stop().unwrap();
}

#[test]
fn a_revoked_tablet_is_wiped_at_its_next_contact_after_its_edits_are_uploaded() {
    let dir = tempfile::tempdir().unwrap();
    let (server, vault, session) = enrolled(&dir);
    sync_one_edit(&server, &session, "station-1", &[]);
    session.lock();

    // Reported stolen: revoked, and a wipe queued.
    let (status, _) = admin(&server, &format!("/admin/devices/{DEVICE}/revoke"), json!({"reason": "reported stolen"}));
    assert_eq!(status, 200);
    let (status, _) = admin(&server, &format!("/admin/devices/{DEVICE}/directives"), json!({"action": "wipe"}));
    assert_eq!(status, 200);

    // Its next contact: the renewal is refused, and the refusal carries the wipe.
    let (status, refused) = server.post_json("/renew", &credentials(PASSWORD, &[])).unwrap();
    assert_eq!((status, refused["error"].as_str()), (403, Some("the device was revoked")), "{refused}");
    let delivered = directives(&refused);
    assert_eq!(delivered.len(), 1);
    assert!(vault.apply_directive(&delivered[0].clone()).unwrap().finished, "nothing was pending");
    assert!(vault.status().unwrap().wiped);
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::Wiped));

    // Acknowledged with the next contact: no longer delivered.
    let (status, refused) =
        server.post_json("/renew", &credentials(PASSWORD, &vault.applied_directives().unwrap())).unwrap();
    assert_eq!(status, 403);
    assert!(directives(&refused).is_empty(), "{refused}");
    // The edit made before is on the server.
    let (status, records) = server.get_as("/records", USER, PASSWORD).unwrap();
    assert_eq!((status, records.as_array().unwrap().len()), (200, 1), "{records}");
    server.stop().unwrap();
}
