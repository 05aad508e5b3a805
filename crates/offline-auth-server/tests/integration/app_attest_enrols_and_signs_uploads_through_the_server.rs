//! Apple App Attest through the reference server (issue 24): enrolment with
//! an attestation object from the tests' own App Attest CA
//! (the attestation crate's `tests/common/apple_ca.rs`), then uploads carrying assertions whose counter
//! must rise. The verifier's clock is fixed (never today's date: CI also
//! runs a year ahead).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::apple_ca;
use crate::ca;
use crate::common;

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use offline_auth::{
    enrolment_evidence, issuer_keys_from_jwks, AttestationEvidence, AttestorError, OfflineSession, PinVault,
    PlatformAttestor, SoftwareKeystore, SyncQueue, VaultConfig,
};
use offline_auth_backend::attestation::{AttestationPolicy, EnrolmentVerifier, RevokedSerials, TrustAnchors};
use offline_auth_backend::{BackendError, ServerClock};
use offline_auth_proto::upload_signature::UPLOAD_SIGNATURE_HEADER;
use offline_auth_server::{AppState, Attestation, Limits, LocalServer};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const USER: (&str, &str) = ("amira", "correct horse battery");

struct FixedClock(AtomicI64);

impl ServerClock for FixedClock {
    fn now_unix_secs(&self) -> Result<i64, BackendError> {
        Ok(self.0.load(Ordering::SeqCst))
    }
}

/// An App Attest device backed by the test CA: it attests its key with
/// `clientDataHash` = SHA-256 of the server's challenge, in `aaguid`'s
/// environment, and answers each `sign` with an assertion whose counter is
/// one more than the last, as `generateAssertion` does.
struct TestAppAttest {
    aaguid: [u8; 16],
    counter: AtomicU32,
}

impl TestAppAttest {
    fn production() -> Arc<Self> {
        Arc::new(Self { aaguid: apple_ca::AAGUID_PRODUCTION, counter: AtomicU32::new(0) })
    }
}

impl PlatformAttestor for TestAppAttest {
    fn attest(&self, challenge: Vec<u8>) -> Result<AttestationEvidence, AttestorError> {
        let spec = apple_ca::AppleSpec {
            client_data_hash: Sha256::digest(&challenge).to_vec(),
            aaguid: self.aaguid,
            ..apple_ca::AppleSpec::default()
        };
        let (_, key_id) = apple_ca::device_point_and_key_id();
        Ok(AttestationEvidence::AppleAppAttest {
            key_id: STANDARD.encode(key_id),
            attestation_object: apple_ca::attestation(&spec),
        })
    }

    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, AttestorError> {
        let counter = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(apple_ca::assertion(&apple_ca::device_key(), &message, apple_ca::APP_ID, counter))
    }
}

/// A server under `policy` trusting the test CA's root for Android and,
/// with `app_id`, for App Attest; its clock at the CA's fixed time.
fn server(policy: AttestationPolicy, app_id: Option<&str>) -> (LocalServer, tempfile::TempDir) {
    let root = ca::root_cert(apple_ca::AppleSpec::default().root_seed);
    let anchors = || TrustAnchors::from_der_certificates([root.as_slice()]).unwrap();
    let mut verifier = EnrolmentVerifier::new(anchors(), RevokedSerials::none(), policy);
    if let Some(app_id) = app_id {
        verifier = verifier.with_apple_app_attest(anchors(), app_id);
    }
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock(AtomicI64::new(ca::AT_SECS as i64)));
    let attestation = Arc::new(Attestation::new(verifier, clock));
    let state = AppState::open_with(&dir.path().join("server.db"), Some(attestation)).unwrap();
    (LocalServer::start_state(state, Limits::default()).unwrap(), dir)
}

fn credentials(device_id: &str) -> Value {
    json!({"user": USER.0, "password": USER.1, "device_id": device_id})
}

/// `POST /challenge`, then `POST /enroll` with the evidence `attestor` makes for it.
fn enroll(server: &LocalServer, device_id: &str, attestor: Arc<dyn PlatformAttestor>) -> (u16, Value) {
    let (status, answer) = server.post_json("/challenge", credentials(device_id).to_string().as_bytes()).unwrap();
    assert_eq!(status, 200, "{answer}");
    let challenge = URL_SAFE_NO_PAD.decode(answer["challenge"].as_str().unwrap()).unwrap();
    let AttestationEvidence::AppleAppAttest { key_id, attestation_object } =
        enrolment_evidence(attestor, challenge.clone()).unwrap()
    else {
        panic!("not App Attest evidence");
    };
    let mut body = credentials(device_id);
    body["challenge"] = json!(URL_SAFE_NO_PAD.encode(&challenge));
    body["evidence"] = json!({"kind": "apple_app_attest", "key_id": key_id, "attestation_object": STANDARD.encode(attestation_object)});
    server.post_json("/enroll", body.to_string().as_bytes()).unwrap()
}

/// The grant's `exp - iat`.
fn grant_window(answer: &Value) -> i64 {
    let payload = answer["grant"].as_str().unwrap().split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap()
}

/// A real device vault enrolled with the answer.
fn device(device_id: &str, answer: &Value) -> (Arc<OfflineSession>, Arc<SyncQueue>, tempfile::TempDir) {
    let keys = issuer_keys_from_jwks(&answer["jwks"].to_string()).unwrap();
    let sync_key = hex::decode(answer["sync_key"].as_str().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db").to_string_lossy().into_owned();
    let vault = PinVault::open(path, SoftwareKeystore::new(), VaultConfig::new(device_id, keys)).unwrap();
    let session = vault.enroll(common::PIN.into(), answer["grant"].as_str().unwrap(), sync_key).unwrap();
    let queue = session.clone().sync_queue();
    (session, queue, dir)
}

#[test]
fn an_app_attest_enrolment_gets_the_tee_window_under_production() {
    let (s, _dir) = server(AttestationPolicy::production(), Some(apple_ca::APP_ID));
    let (status, answer) = enroll(&s, "iphone-1", TestAppAttest::production());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["attestation"]["level"], "trusted_environment", "{answer}");
    assert_eq!(grant_window(&answer), 24 * 3600);
    // A renewal keeps it.
    let (status, renewed) = s.post_json("/renew", credentials("iphone-1").to_string().as_bytes()).unwrap();
    assert_eq!((status, grant_window(&renewed)), (200, 24 * 3600), "{renewed}");
    // A development build's key is refused under production.
    let development = Arc::new(TestAppAttest { aaguid: apple_ca::AAGUID_DEVELOPMENT, counter: AtomicU32::new(0) });
    let (status, answer) = enroll(&s, "iphone-dev", development);
    assert_eq!((status, answer["error"].as_str()), (403, Some("attestation_development_environment")), "{answer}");
}

#[test]
fn app_attest_is_refused_for_another_app_id_or_without_one() {
    let (s, _dir) = server(AttestationPolicy::production(), Some("ZZZZZ99999.org.example.otherapp"));
    let (status, answer) = enroll(&s, "iphone-2", TestAppAttest::production());
    assert_eq!((status, answer["error"].as_str()), (403, Some("attestation_app_id_mismatch")), "{answer}");
    let (s, _dir) = server(AttestationPolicy::production(), None);
    let (status, answer) = enroll(&s, "iphone-3", TestAppAttest::production());
    assert_eq!((status, answer["error"].as_str()), (403, Some("unsupported_evidence")), "{answer}");
}

#[test]
fn a_replayed_assertion_is_refused_and_a_fresh_one_is_applied() {
    let (s, _dir) = server(AttestationPolicy::production(), Some(apple_ca::APP_ID));
    let attestor = TestAppAttest::production();
    let (status, answer) = enroll(&s, "iphone-4", attestor.clone());
    assert_eq!(status, 200, "{answer}");
    let (session, queue, _vault) = device("iphone-4", &answer);
    let path = "/sync?device_id=iphone-4";
    let post = |bytes: &[u8], assertion: &[u8]| {
        s.post_batch_with(path, bytes, &[(UPLOAD_SIGNATURE_HEADER, &STANDARD.encode(assertion))]).unwrap()
    };

    session.put("inspections", "iphone-4/k0", b"v".to_vec()).unwrap();
    session.put("inspections", "iphone-4/k1", b"v".to_vec()).unwrap();
    let first = queue.next_signed_batch(100, attestor.clone()).unwrap().unwrap();
    let assertion = first.signature.clone().unwrap();
    // Unsigned: refused under production.
    let (status, refused) = s.post_batch(path, &first.batch.bytes).unwrap();
    assert_eq!((status, refused["error"].as_str()), (403, Some("signature_missing")), "{refused}");
    // Assertion counter 1: applied.
    let (status, applied) = post(&first.batch.bytes, &assertion);
    assert_eq!((status, applied["applied"].as_u64()), (200, Some(2)), "{applied}");
    queue.acknowledge(URL_SAFE_NO_PAD.decode(applied["receipt"].as_str().unwrap()).unwrap()).unwrap();
    // The same assertion again (counter 1 again): refused before the batch is read.
    let (status, refused) = post(&first.batch.bytes, &assertion);
    assert_eq!((status, refused["error"].as_str()), (403, Some("assertion_replayed")), "{refused}");

    session.put("inspections", "iphone-4/k2", b"v".to_vec()).unwrap();
    let second = queue.next_signed_batch(100, attestor).unwrap().unwrap();
    // A valid assertion over the new batch, but with the spent counter 1: refused.
    let message = offline_auth::upload_message(&second.batch).unwrap();
    let stale = apple_ca::assertion(&apple_ca::device_key(), &message, apple_ca::APP_ID, 1);
    let (status, refused) = post(&second.batch.bytes, &stale);
    assert_eq!((status, refused["error"].as_str()), (403, Some("assertion_replayed")), "{refused}");
    // An assertion by another key: invalid.
    let stranger = ca::key(0x42);
    let theirs = apple_ca::assertion(&stranger, &message, apple_ca::APP_ID, 9);
    let (status, refused) = post(&second.batch.bytes, &theirs);
    assert_eq!((status, refused["error"].as_str()), (403, Some("signature_invalid")), "{refused}");
    // The fresh one (counter 2): applied.
    let (status, applied) = post(&second.batch.bytes, &second.signature.unwrap());
    assert_eq!((status, applied["applied"].as_u64()), (200, Some(1)), "{applied}");
    assert_eq!(s.get_as("/records", USER.0, USER.1).unwrap().1.as_array().unwrap().len(), 3);
}
