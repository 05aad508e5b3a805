//! Real attestations from real devices (Google's `android/keyattestation`
//! test data, kept with its provenance and licence in
//! `crates/offline-auth-attestation/tests/data/android/`) enrol through the
//! server's own code path: `/enroll` with the chain, the challenge taken
//! from the store, the verifier with Google's built-in roots, its clock set
//! inside each chain's validity (never today's date).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use der::Decode;
use offline_auth_backend::attestation::{AttestationPolicy, EnrolmentVerifier, RevokedSerials};
use offline_auth_backend::FixedServerClock;
use offline_auth_server::store::sqlite::SqliteStore;
use offline_auth_server::store::Store;
use offline_auth_server::{attest, AppState, Attestation, Limits, LocalServer};
use serde_json::{json, Value};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../offline-auth-attestation/tests/data/android")
}

fn pem_chain(name: &str) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(data_dir().join(format!("{name}.pem"))).unwrap();
    let mut out = Vec::new();
    let mut body = None::<String>;
    for line in text.lines().map(str::trim) {
        match line {
            "-----BEGIN CERTIFICATE-----" => body = Some(String::new()),
            "-----END CERTIFICATE-----" => out.push(STANDARD.decode(body.take().unwrap()).unwrap()),
            line => {
                if let Some(b) = body.as_mut() {
                    b.push_str(line);
                }
            }
        }
    }
    out
}

/// One hour after the latest notBefore of the chain, Unix seconds.
fn time_inside(chain: &[Vec<u8>]) -> i64 {
    let latest = chain
        .iter()
        .map(|der| {
            x509_cert::Certificate::from_der(der).unwrap().tbs_certificate().validity().not_before.to_unix_duration()
        })
        .max()
        .unwrap();
    latest.as_secs() as i64 + 3600
}

/// (vector, level the server stores, window it grants, whether its key signs uploads)
const VECTORS: &[(&str, &str, i64, bool)] = &[
    ("akita_sdk34_TEE_EC_NONE", "trusted_environment", 24 * 3600, true),
    ("blueline_sdk28_SB_RSA_NONE", "strongbox", 72 * 3600, false),
    ("caiman_sdk36_SB_EC_RKP", "strongbox", 72 * 3600, true),
    ("tegu_sdk36_SB_EC_2026_ROOT", "strongbox", 72 * 3600, true),
];

#[test]
fn real_google_chains_verify_through_the_servers_enrolment_at_a_fixed_time() {
    for (name, level, window, signs) in VECTORS {
        let chain = pem_chain(name);
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(data_dir().join(format!("{name}.json"))).unwrap()).unwrap();
        let challenge = STANDARD.decode(expected["attestationChallenge"].as_str().unwrap()).unwrap();
        let at = time_inside(&chain);
        // Development: two of these phones are unlocked development devices.
        let anchors = attest::anchors_from_roots_json(attest::GOOGLE_ROOTS_JSON.as_bytes()).unwrap();
        let verifier = EnrolmentVerifier::new(anchors, RevokedSerials::none(), AttestationPolicy::development());
        let attestation = Arc::new(Attestation::new(verifier, Arc::new(FixedServerClock(at))));
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("server.db")).unwrap());
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let state = runtime.block_on(AppState::with_store_and_attestation(store.clone(), Some(attestation))).unwrap();
        // The phone answered this challenge: as if /challenge had issued it.
        runtime.block_on(store.put_challenge(name, &challenge, at + 300, at)).unwrap();
        let server = LocalServer::start_state(state, Limits::default()).unwrap();
        let body = json!({
            "user": "amira", "password": "correct horse battery", "device_id": name,
            "challenge": URL_SAFE_NO_PAD.encode(&challenge),
            "evidence": {"kind": "android_key_attestation", "chain": chain.iter().map(|c| STANDARD.encode(c)).collect::<Vec<_>>()},
        });
        let (status, answer) = server.post_json("/enroll", body.to_string().as_bytes()).unwrap();
        assert_eq!(status, 200, "{name}: {answer}");
        assert_eq!(answer["attestation"], json!({"level": level, "window_secs": window}), "{name}");
        let stored = runtime.block_on(store.device_evidence(name)).unwrap().unwrap();
        assert_eq!(stored.upload_key.is_some(), *signs, "{name}");
        assert!(stored.app_id.is_some() && stored.os_patch_level.is_some() && stored.boot_state.is_some(), "{name}");
        server.stop().unwrap();
    }
}

#[test]
fn a_real_chain_under_a_revoked_intermediate_or_an_unknown_root_is_refused() {
    let name = "caiman_sdk36_SB_EC_RKP";
    let chain = pem_chain(name);
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(time_inside(&chain) as u64);
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(data_dir().join(format!("{name}.json"))).unwrap()).unwrap();
    let challenge = STANDARD.decode(expected["attestationChallenge"].as_str().unwrap()).unwrap();
    let evidence = offline_auth_backend::attestation::Evidence::AndroidKeyAttestation { chain: chain.clone() };
    let anchors = || attest::anchors_from_roots_json(attest::GOOGLE_ROOTS_JSON.as_bytes()).unwrap();
    // The production policy takes this locked StrongBox phone.
    let production = EnrolmentVerifier::new(anchors(), RevokedSerials::none(), AttestationPolicy::production());
    assert_eq!(production.verify(&evidence, &challenge, at).unwrap().window_secs, 72 * 3600);
    // Its intermediate's serial on the status list: refused.
    let serial =
        x509_cert::Certificate::from_der(&chain[1]).unwrap().tbs_certificate().serial_number().as_bytes().to_vec();
    let list = json!({"entries": {hex::encode(&serial): {"status": "REVOKED"}}}).to_string();
    let revoked = attest::revoked_from_status_list(list.as_bytes()).unwrap();
    let refused = EnrolmentVerifier::new(anchors(), revoked, AttestationPolicy::production());
    assert_eq!(refused.verify(&evidence, &challenge, at).unwrap_err().as_str(), "attestation_revoked");
    // An operator who removed Google's RSA root (keeping only the ECDSA
    // P-384 root, the last certificate of tegu's chain): refused.
    let ecdsa_root = pem_chain("tegu_sdk36_SB_EC_2026_ROOT").pop().unwrap();
    let other =
        offline_auth_backend::attestation::TrustAnchors::from_der_certificates([ecdsa_root.as_slice()]).unwrap();
    let untrusting = EnrolmentVerifier::new(other, RevokedSerials::none(), AttestationPolicy::production());
    assert_eq!(untrusting.verify(&evidence, &challenge, at).unwrap_err().as_str(), "attestation_untrusted_root");
}
