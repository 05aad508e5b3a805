//! Through the reference server: `/renew` signs the device's nonce into the
//! grant, and every answer carries `server_time`. A device whose clock was
//! once set 30 days ahead gets its whole window back from one renewal, and
//! a device whose clock runs ahead learns it from the server's answer.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use common::{TestClock, TestKeystore, DAY};
use offline_auth::{issuer_keys_from_jwks, PinVault, VaultConfig, VaultError};
use offline_auth_server::{LocalServer, OFFLINE_WINDOW_SECS};
use serde_json::{json, Value};

const USER: &str = "amira";
const PASSWORD: &str = "correct horse battery";
const DEVICE: &str = "tablet-0042";
const PIN: &str = "482915";

fn credentials(nonce: Option<String>) -> Vec<u8> {
    json!({"user": USER, "password": PASSWORD, "device_id": DEVICE, "nonce": nonce}).to_string().into_bytes()
}

fn server_time(answer: &Value) -> i64 {
    answer["server_time"].as_i64().unwrap_or_else(|| panic!("no server_time in {answer}"))
}

#[test]
fn a_fresh_renewal_over_http_gives_back_the_window_and_the_answers_carry_the_servers_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("server.db")).unwrap();
    let (status, enrolment) = server.post_json("/enroll", &credentials(None)).unwrap();
    assert_eq!(status, 200, "{enrolment}");
    // The device's clock starts right: at the server's time.
    let clock = TestClock::new(server_time(&enrolment));
    let issuer_keys = issuer_keys_from_jwks(&enrolment["jwks"].to_string()).unwrap();
    let path = dir.path().join("vault.db").to_string_lossy().into_owned();
    let vault =
        PinVault::open_with_clock(path, TestKeystore::new(), clock.clone(), VaultConfig::new(DEVICE, issuer_keys))
            .unwrap();
    let sync_key = hex::decode(enrolment["sync_key"].as_str().unwrap()).unwrap();
    vault.enroll(PIN.into(), enrolment["grant"].as_str().unwrap(), sync_key).unwrap().lock();

    // The clock once 30 days ahead, then put right: the window is gone.
    let real = clock.now();
    clock.set(real + 30 * DAY);
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::GrantExpired));
    clock.set(real);
    assert!(vault.unlock(PIN.into()).is_err());

    // A renewal without a nonce repairs nothing.
    let (status, plain) = server.post_json("/renew", &credentials(None)).unwrap();
    assert_eq!(status, 200, "{plain}");
    let refused = vault.unlock_with_grant(PIN.into(), plain["grant"].as_str().unwrap());
    assert_eq!(refused.err(), Some(VaultError::GrantExpired));

    // With the device's nonce it does.
    let nonce = vault.renewal_nonce().unwrap();
    let (status, renewed) = server.post_json("/renew", &credentials(Some(nonce))).unwrap();
    assert_eq!(status, 200, "{renewed}");
    vault.note_server_time(server_time(&renewed)).unwrap();
    let session = vault.unlock_with_grant(PIN.into(), renewed["grant"].as_str().unwrap()).unwrap();
    assert!(session.expires_at().unwrap() >= real + OFFLINE_WINDOW_SECS);
    session.put("inspections", "station-4", b"seal ok".to_vec()).unwrap();

    // The edit is stamped right, so it uploads.
    let batch = session.clone().sync_queue().next_batch(100).unwrap().unwrap();
    let (status, answer) = server.post_batch(&format!("/sync?device_id={DEVICE}"), &batch.bytes).unwrap();
    assert_eq!((status, answer["applied"].as_u64()), (200, Some(1)), "{answer}");
    assert!((server_time(&answer) - clock.now()).abs() < 60, "the sync answer carries the server's time");

    // Errors carry it too.
    let (status, error) = server.post_json("/renew", b"{}").unwrap();
    assert_eq!(status, 400, "{error}");
    server_time(&error);
    server.stop().unwrap();
}
