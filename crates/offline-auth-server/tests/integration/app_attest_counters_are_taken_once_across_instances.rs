//! App Attest counters in PostgreSQL (migration 0005): two instances on one
//! database given the same assertion at once accept it exactly once; the
//! compare-and-set of `device_evidence.app_attest_counter` decides. Both
//! instances verify at the test CA's fixed time (never today's date).
//! Skipped unless OFFLINE_AUTH_PG_URL is set (bash scripts/test-postgres.sh).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::apple_ca;
use crate::ca;
use crate::common;

use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use common::{pg_query, pg_url, run_id, USERS};
use offline_auth::{issuer_keys_from_jwks, PinVault, SoftwareKeystore, VaultConfig};
use offline_auth_backend::attestation::{AttestationPolicy, EnrolmentVerifier, RevokedSerials, TrustAnchors};
use offline_auth_backend::{BackendError, ServerClock};
use offline_auth_proto::upload_signature::UPLOAD_SIGNATURE_HEADER;
use offline_auth_server::store::postgres::PgStore;
use offline_auth_server::{AppState, Attestation, Limits, LocalServer};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

struct FixedClock;

impl ServerClock for FixedClock {
    fn now_unix_secs(&self) -> Result<i64, BackendError> {
        Ok(ca::AT_SECS as i64)
    }
}

/// An instance on `url` trusting the test CA for App Attest, production policy.
fn instance(runtime: &tokio::runtime::Runtime, url: &str) -> LocalServer {
    let root = ca::root_cert(apple_ca::AppleSpec::default().root_seed);
    let anchors = || TrustAnchors::from_der_certificates([root.as_slice()]).unwrap();
    let verifier = EnrolmentVerifier::new(anchors(), RevokedSerials::none(), AttestationPolicy::production())
        .with_apple_app_attest(anchors(), apple_ca::APP_ID);
    let attestation = Arc::new(Attestation::new(verifier, Arc::new(FixedClock)));
    let state = runtime.block_on(async {
        let store = Arc::new(PgStore::connect(url).await.unwrap());
        AppState::with_store_and_attestation(store, Some(attestation)).await.unwrap()
    });
    LocalServer::start_state(state, Limits::default()).unwrap()
}

fn credentials(device_id: &str) -> Value {
    json!({"user": USERS[0].0, "password": USERS[0].1, "device_id": device_id})
}

#[test]
fn one_assertion_sent_to_two_instances_at_once_is_applied_once() {
    let Some(url) = pg_url("one_assertion_sent_to_two_instances_at_once_is_applied_once") else { return };
    // Kept alive: the pools' connection tasks made while connecting run here.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (a, b) = (instance(&runtime, &url), instance(&runtime, &url));
    let device_id = format!("iphone-{}", run_id());

    // Enrolled through A with an App Attest object for A's challenge.
    let (status, answer) = a.post_json("/challenge", credentials(&device_id).to_string().as_bytes()).unwrap();
    assert_eq!(status, 200, "{answer}");
    let challenge = URL_SAFE_NO_PAD.decode(answer["challenge"].as_str().unwrap()).unwrap();
    let spec =
        apple_ca::AppleSpec { client_data_hash: Sha256::digest(&challenge).to_vec(), ..apple_ca::AppleSpec::default() };
    let (_, key_id) = apple_ca::device_point_and_key_id();
    let mut body = credentials(&device_id);
    body["challenge"] = json!(URL_SAFE_NO_PAD.encode(&challenge));
    body["evidence"] = json!({"kind": "apple_app_attest", "key_id": STANDARD.encode(key_id),
                              "attestation_object": STANDARD.encode(apple_ca::attestation(&spec))});
    let (status, answer) = a.post_json("/enroll", body.to_string().as_bytes()).unwrap();
    assert_eq!((status, answer["attestation"]["level"].as_str()), (200, Some("trusted_environment")), "{answer}");
    let rows = pg_query(&url, "SELECT app_attest_counter FROM device_evidence WHERE device_id = $1", &[&device_id]);
    assert_eq!(rows[0].get::<_, Option<i64>>(0), Some(0));

    // A real device's batches, each with an assertion with the next counter.
    let keys = issuer_keys_from_jwks(&answer["jwks"].to_string()).unwrap();
    let sync_key = hex::decode(answer["sync_key"].as_str().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db").to_string_lossy().into_owned();
    let vault = PinVault::open(path, SoftwareKeystore::new(), VaultConfig::new(&device_id, keys)).unwrap();
    let session = vault.enroll(common::PIN.into(), answer["grant"].as_str().unwrap(), sync_key).unwrap();
    let queue = session.clone().sync_queue();
    let sync = format!("/sync?device_id={device_id}");
    for round in 1..=4u32 {
        session.put("inspections", &format!("{device_id}/k{round}"), b"v".to_vec()).unwrap();
        let batch = queue.next_batch(100).unwrap().unwrap();
        let message = offline_auth::upload_message(&batch).unwrap();
        let assertion =
            STANDARD.encode(apple_ca::assertion(&apple_ca::device_key(), &message, apple_ca::APP_ID, round));
        let headers = [(UPLOAD_SIGNATURE_HEADER, assertion.as_str())];
        let (x, y) = std::thread::scope(|s| {
            let x = s.spawn(|| a.post_batch_with(&sync, &batch.bytes, &headers).unwrap());
            let y = s.spawn(|| b.post_batch_with(&sync, &batch.bytes, &headers).unwrap());
            (x.join().unwrap(), y.join().unwrap())
        });
        let mut statuses = [x.0, y.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 403], "round {round}: {x:?} {y:?}");
        let (accepted, refused) = if x.0 == 200 { (&x.1, &y.1) } else { (&y.1, &x.1) };
        assert_eq!(refused["error"], "assertion_replayed", "round {round}: {refused}");
        queue.acknowledge(URL_SAFE_NO_PAD.decode(accepted["receipt"].as_str().unwrap()).unwrap()).unwrap();
        let rows = pg_query(&url, "SELECT app_attest_counter FROM device_evidence WHERE device_id = $1", &[&device_id]);
        assert_eq!(rows[0].get::<_, Option<i64>>(0), Some(i64::from(round)), "round {round}");
    }
}
