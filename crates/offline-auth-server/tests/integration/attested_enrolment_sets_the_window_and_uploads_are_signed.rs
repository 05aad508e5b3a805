//! Attested enrolment end to end (issue 24): a server with an attestation
//! policy, a device SDK with a test attestor whose chains come from the
//! tests' own CA (`common/ca.rs`), and the verifier's clock fixed
//! (never today's date: CI also runs a year ahead).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::ca;
use crate::common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use offline_auth::{
    enrolment_evidence, issuer_keys_from_jwks, AttestationEvidence, AttestorError, NoAttestor, OfflineSession,
    PinVault, PlatformAttestor, SoftwareKeystore, SyncQueue, VaultConfig,
};
use offline_auth_attestation::android::SecurityLevel;
use offline_auth_backend::attestation::{AttestationPolicy, EnrolmentVerifier, RevokedSerials, TrustAnchors};
use offline_auth_backend::{BackendError, ServerClock};
use offline_auth_server::{AppState, Attestation, Limits, LocalServer};
use p256::ecdsa::signature::Signer;
use serde_json::{json, Value};

const USER: (&str, &str) = ("amira", "correct horse battery");

/// A clock the test moves.
struct TestClock(AtomicI64);

impl ServerClock for TestClock {
    fn now_unix_secs(&self) -> Result<i64, BackendError> {
        Ok(self.0.load(Ordering::SeqCst))
    }
}

/// A platform attestor backed by the test CA: its chains attest the CA's
/// leaf key at `level` for the challenge given, and it signs with that key.
struct TestAttestor {
    level: SecurityLevel,
}

impl PlatformAttestor for TestAttestor {
    fn attest(&self, challenge: Vec<u8>) -> Result<AttestationEvidence, AttestorError> {
        let spec = ca::Spec { challenge, level: self.level, ..ca::Spec::default() };
        Ok(AttestationEvidence::AndroidKeyAttestation { chain: ca::chain(&spec) })
    }

    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, AttestorError> {
        let signature: p256::ecdsa::Signature = ca::leaf_key().sign(&message);
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

struct Server {
    server: LocalServer,
    clock: Arc<TestClock>,
    _dir: tempfile::TempDir,
}

/// A server trusting the test CA's root under `policy`, its clock at the CA's fixed time.
fn server(policy: AttestationPolicy) -> Server {
    let root = ca::root_cert(ca::Spec::default().root_seed);
    let anchors = TrustAnchors::from_der_certificates([root.as_slice()]).unwrap();
    server_with(EnrolmentVerifier::new(anchors, RevokedSerials::none(), policy), ca::AT_SECS as i64)
}

fn server_with(verifier: EnrolmentVerifier, at: i64) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(TestClock(AtomicI64::new(at)));
    let attestation = Arc::new(Attestation::new(verifier, clock.clone()));
    let state = AppState::open_with(&dir.path().join("server.db"), Some(attestation)).unwrap();
    Server { server: LocalServer::start_state(state, Limits::default()).unwrap(), clock, _dir: dir }
}

fn credentials(device_id: &str) -> Value {
    json!({"user": USER.0, "password": USER.1, "device_id": device_id})
}

/// `POST /challenge`: the challenge's bytes.
fn challenge(server: &LocalServer, device_id: &str) -> Vec<u8> {
    let (status, answer) = server.post_json("/challenge", credentials(device_id).to_string().as_bytes()).unwrap();
    assert_eq!(status, 200, "{answer}");
    URL_SAFE_NO_PAD.decode(answer["challenge"].as_str().unwrap()).unwrap()
}

fn evidence_json(evidence: &AttestationEvidence) -> Value {
    match evidence {
        AttestationEvidence::AndroidKeyAttestation { chain } => {
            json!({"kind": "android_key_attestation", "chain": chain.iter().map(|c| STANDARD.encode(c)).collect::<Vec<_>>()})
        }
        AttestationEvidence::AppleAppAttest { key_id, attestation_object } => {
            json!({"kind": "apple_app_attest", "key_id": key_id, "attestation_object": STANDARD.encode(attestation_object)})
        }
        AttestationEvidence::None => json!({"kind": "none"}),
        &_ => todo!(),
    }
}

/// `POST /enroll` with `challenge` and the evidence `attestor` makes for it.
fn enroll_with(
    server: &LocalServer,
    device_id: &str,
    challenge: &[u8],
    attestor: Arc<dyn PlatformAttestor>,
) -> (u16, Value) {
    let evidence = enrolment_evidence(attestor, challenge.to_vec()).unwrap();
    let mut body = credentials(device_id);
    body["challenge"] = json!(URL_SAFE_NO_PAD.encode(challenge));
    body["evidence"] = evidence_json(&evidence);
    server.post_json("/enroll", body.to_string().as_bytes()).unwrap()
}

/// The grant's `exp - iat`.
fn grant_window(answer: &Value) -> i64 {
    let payload = answer["grant"].as_str().unwrap().split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap()
}

/// A real device vault enrolled with the answer, with `edits` edits queued.
fn device(device_id: &str, answer: &Value, edits: u32) -> (Arc<OfflineSession>, Arc<SyncQueue>, tempfile::TempDir) {
    let keys = issuer_keys_from_jwks(&answer["jwks"].to_string()).unwrap();
    let sync_key = hex::decode(answer["sync_key"].as_str().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db").to_string_lossy().into_owned();
    let vault = PinVault::open(path, SoftwareKeystore::new(), VaultConfig::new(device_id, keys)).unwrap();
    let session = vault.enroll(common::PIN.into(), answer["grant"].as_str().unwrap(), sync_key).unwrap();
    for i in 0..edits {
        session.put("inspections", &format!("{device_id}/k{i}"), b"v".to_vec()).unwrap();
    }
    let queue = session.clone().sync_queue();
    (session, queue, dir)
}

#[test]
fn a_software_enrolment_is_refused_under_the_production_policy() {
    let s = server(AttestationPolicy::production());
    let c = challenge(&s.server, "soft-1");
    let (status, answer) = enroll_with(&s.server, "soft-1", &c, NoAttestor::new());
    assert_eq!((status, answer["error"].as_str()), (403, Some("level_refused")), "{answer}");
    // A software-level attestation (an emulator's) is refused too.
    let c = challenge(&s.server, "soft-2");
    let emulator = Arc::new(TestAttestor { level: SecurityLevel::Software });
    let (status, answer) = enroll_with(&s.server, "soft-2", &c, emulator);
    assert_eq!((status, answer["error"].as_str()), (403, Some("attestation_security_level_too_low")), "{answer}");
}

#[test]
fn a_software_enrolment_gets_a_short_window_under_the_development_policy() {
    let s = server(AttestationPolicy::development());
    let c = challenge(&s.server, "soft-dev");
    let (status, answer) = enroll_with(&s.server, "soft-dev", &c, NoAttestor::new());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["attestation"]["level"], "unattested");
    assert_eq!(grant_window(&answer), 3600);
}

#[test]
fn a_tee_device_gets_a_shorter_window_than_a_strongbox_device() {
    let s = server(AttestationPolicy::production());
    let mut windows = Vec::new();
    for (id, level) in [("tee-1", SecurityLevel::TrustedEnvironment), ("sb-1", SecurityLevel::StrongBox)] {
        let c = challenge(&s.server, id);
        let (status, answer) = enroll_with(&s.server, id, &c, Arc::new(TestAttestor { level }));
        assert_eq!(status, 200, "{answer}");
        windows.push((answer["attestation"]["level"].as_str().unwrap().to_owned(), grant_window(&answer)));
    }
    assert_eq!(windows, [("trusted_environment".to_owned(), 24 * 3600), ("strongbox".to_owned(), 72 * 3600)]);
    // A renewal keeps the window of the device's level.
    let (status, renewed) = s.server.post_json("/renew", credentials("tee-1").to_string().as_bytes()).unwrap();
    assert_eq!(status, 200, "{renewed}");
    assert_eq!(grant_window(&renewed), 24 * 3600);
}

#[test]
fn a_replayed_challenge_is_refused() {
    let s = server(AttestationPolicy::production());
    let attestor = Arc::new(TestAttestor { level: SecurityLevel::StrongBox });
    let c = challenge(&s.server, "replay-1");
    assert_eq!(enroll_with(&s.server, "replay-1", &c, attestor.clone()).0, 200);
    let (status, answer) = enroll_with(&s.server, "replay-1", &c, attestor.clone());
    assert_eq!((status, answer["error"].as_str()), (403, Some("challenge_reused")), "{answer}");
    // Issued for another device, or never issued: unknown.
    let other = challenge(&s.server, "replay-2");
    let (status, answer) = enroll_with(&s.server, "replay-1", &other, attestor.clone());
    assert_eq!((status, answer["error"].as_str()), (403, Some("challenge_unknown")), "{answer}");
    let (status, answer) = enroll_with(&s.server, "replay-1", &[7u8; 32], attestor);
    assert_eq!((status, answer["error"].as_str()), (403, Some("challenge_unknown")), "{answer}");
    // Counted by reason on /metrics.
    let metrics = ureq::get(&s.server.url("/metrics")).call().unwrap().body_mut().read_to_string().unwrap();
    for (reason, count) in [("challenge_reused", 1), ("challenge_unknown", 2)] {
        let line = format!("offline_auth_enrolment_refusals_total{{reason=\"{reason}\"}} {count}");
        assert!(metrics.lines().any(|l| l == line), "{line}: {metrics}");
    }
}

#[test]
fn an_expired_challenge_is_refused() {
    let s = server(AttestationPolicy::production());
    let c = challenge(&s.server, "late-1");
    s.clock.0.fetch_add(offline_auth_backend::attestation::CHALLENGE_TTL_SECS, Ordering::SeqCst);
    let (status, answer) =
        enroll_with(&s.server, "late-1", &c, Arc::new(TestAttestor { level: SecurityLevel::StrongBox }));
    assert_eq!((status, answer["error"].as_str()), (403, Some("challenge_expired")), "{answer}");
}

#[test]
fn an_upload_without_a_valid_device_signature_is_refused_and_a_signed_one_is_applied() {
    let s = server(AttestationPolicy::production());
    let attestor = Arc::new(TestAttestor { level: SecurityLevel::StrongBox });
    let c = challenge(&s.server, "signer-1");
    let (status, answer) = enroll_with(&s.server, "signer-1", &c, attestor.clone());
    assert_eq!(status, 200, "{answer}");
    let (_session, queue, _dir) = device("signer-1", &answer, 3);
    let signed = queue.next_signed_batch(100, attestor.clone()).unwrap().unwrap();
    let signature = STANDARD.encode(signed.signature.clone().unwrap());
    let path = "/sync?device_id=signer-1";
    let header = offline_auth_proto::upload_signature::UPLOAD_SIGNATURE_HEADER;

    // No signature: what a copy of the sync key alone can send.
    let (status, refused) = s.server.post_batch(path, &signed.batch.bytes).unwrap();
    assert_eq!((status, refused["error"].as_str()), (403, Some("signature_missing")), "{refused}");
    // A signature made for other bytes (the first byte of the DER changed,
    // then a valid signature by another key).
    let mut wrong = signed.signature.clone().unwrap();
    let last = wrong.len() - 1;
    wrong[last] ^= 1;
    let (status, refused) =
        s.server.post_batch_with(path, &signed.batch.bytes, &[(header, &STANDARD.encode(&wrong))]).unwrap();
    assert_eq!((status, refused["error"].as_str()), (403, Some("signature_invalid")), "{refused}");
    let stranger = p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap();
    let message = offline_auth::upload_message(&signed.batch).unwrap();
    let theirs: p256::ecdsa::Signature = stranger.sign(&message);
    let (status, refused) = s
        .server
        .post_batch_with(path, &signed.batch.bytes, &[(header, &STANDARD.encode(theirs.to_der().as_bytes()))])
        .unwrap();
    assert_eq!((status, refused["error"].as_str()), (403, Some("signature_invalid")), "{refused}");
    assert_eq!(s.server.get_as("/records", USER.0, USER.1).unwrap().1.as_array().unwrap().len(), 0);

    // Signed by the attested key: applied.
    let (status, applied) = s.server.post_batch_with(path, &signed.batch.bytes, &[(header, &signature)]).unwrap();
    assert_eq!((status, applied["applied"].as_u64()), (200, Some(3)), "{applied}");
    queue.acknowledge(URL_SAFE_NO_PAD.decode(applied["receipt"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(queue.pending_count().unwrap(), 0);

    // Each refusal was counted under its reason.
    let metrics = ureq::get(&s.server.url("/metrics")).call().unwrap().body_mut().read_to_string().unwrap();
    for (reason, count) in [("signature_missing", 1), ("signature_invalid", 2)] {
        let line = format!("reason=\"{reason}\"}} {count}");
        assert!(metrics.lines().any(|l| l.contains("refus") && l.ends_with(&line)), "{reason}: {metrics}");
    }
}

#[test]
fn a_device_enrolled_before_attestation_was_on_cannot_renew_under_production() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let plain = LocalServer::start(&db).unwrap();
    let (status, _) = plain.post_json("/enroll", credentials("old-1").to_string().as_bytes()).unwrap();
    assert_eq!(status, 200);
    plain.stop().unwrap();
    let root = ca::root_cert(ca::Spec::default().root_seed);
    let anchors = TrustAnchors::from_der_certificates([root.as_slice()]).unwrap();
    let verifier = EnrolmentVerifier::new(anchors, RevokedSerials::none(), AttestationPolicy::production());
    let clock = Arc::new(TestClock(AtomicI64::new(ca::AT_SECS as i64)));
    let state = AppState::open_with(&db, Some(Arc::new(Attestation::new(verifier, clock)))).unwrap();
    let strict = LocalServer::start_state(state, Limits::default()).unwrap();
    let (status, answer) = strict.post_json("/renew", credentials("old-1").to_string().as_bytes()).unwrap();
    assert_eq!((status, answer["error"].as_str()), (403, Some("level_refused")), "{answer}");
}
