//! The real App Attest vector (`tests/data/apple`, iOS 14.4, development
//! environment) against Apple's real App Attest root: the attestation
//! verifies with its evidence, its assertion verifies with the key the
//! attestation gave, and each is refused when one input changes. Verified
//! at a fixed time inside the leaf's three days, never today.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::common;

use std::time::{Duration, SystemTime};

use offline_auth_attestation::apple::{verify_assertion, AppleEnvironment, ApplePolicy, AppleVerifier};
use offline_auth_attestation::{Refusal, RevokedSerials, TrustAnchors};
use sha2::{Digest, Sha256};

/// 2021-01-24T00:00:00Z: inside the leaf's validity (2021-01-22 12:13:35 to 2021-01-25 12:13:35).
const AT_SECS: u64 = 1_611_446_400;
/// 2021-01-26T12:13:35Z: a day after the leaf expired.
const AFTER_SECS: u64 = 1_611_663_215;

struct Vector {
    attestation: Vec<u8>,
    key_id: Vec<u8>,
    client_data_hash: Vec<u8>,
    app_id: String,
    spki: Vec<u8>,
    assertion: Vec<u8>,
    assertion_client_data: Vec<u8>,
    assertion_counter: u32,
}

fn data(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/apple").join(name)
}

fn vector() -> Vector {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("ios-14.4.json")).unwrap()).unwrap();
    let att = &json["attestation"];
    let asr = &json["assertion"];
    let s = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
    let spki_pem = s(&att["publicKey"]);
    Vector {
        attestation: common::b64(&s(&att["attestationBase64"])),
        key_id: common::b64(&s(&att["keyIdBase64"])),
        client_data_hash: common::b64(&s(&att["clientDataHashSha256Base64"])),
        app_id: format!("{}.{}", s(&att["teamIdentifier"]), s(&att["bundleIdentifier"])),
        spki: common::b64(&spki_pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>()),
        assertion: common::b64(&s(&asr["assertionBase64"])),
        assertion_client_data: common::b64(&s(&asr["clientDataBase64"])),
        assertion_counter: u32::try_from(asr["counter"].as_u64().unwrap()).unwrap(),
    }
}

fn apple_anchors() -> TrustAnchors {
    let pem = std::fs::read_to_string(data("Apple_App_Attestation_Root_CA.pem")).unwrap();
    let roots = common::pem_certs(&pem);
    assert_eq!(roots.len(), 1);
    TrustAnchors::from_der_certificates(roots.iter().map(Vec::as_slice)).unwrap()
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn verifier() -> AppleVerifier {
    AppleVerifier::new(apple_anchors(), RevokedSerials::none())
}

#[test]
fn the_real_app_attest_object_verifies_with_its_evidence() {
    let v = vector();
    let policy = ApplePolicy::new(v.app_id.clone(), v.client_data_hash.clone()).allowing_development();
    let evidence = verifier().verify_attestation(&v.attestation, &v.key_id, at(AT_SECS), &policy).unwrap();
    assert_eq!(evidence.environment, AppleEnvironment::Development);
    assert_eq!(evidence.key_id, v.key_id);
    assert_eq!(evidence.counter, 0);
    assert_eq!(evidence.public_key_spki, v.spki, "the key the source recorded");
    assert_eq!(evidence.public_key_point.len(), 65);
    assert_eq!(Sha256::digest(&evidence.public_key_point).to_vec(), v.key_id);
    assert!(evidence.receipt.len() > 1000, "Apple's receipt is kept for the backend");
}

#[test]
fn the_real_development_key_is_refused_by_a_production_policy() {
    let v = vector();
    let policy = ApplePolicy::new(v.app_id.clone(), v.client_data_hash.clone());
    assert_eq!(
        verifier().verify_attestation(&v.attestation, &v.key_id, at(AT_SECS), &policy),
        Err(Refusal::DevelopmentEnvironment)
    );
}

#[test]
fn the_real_object_is_refused_after_its_leaf_expired_and_under_another_root() {
    let v = vector();
    let policy = ApplePolicy::new(v.app_id.clone(), v.client_data_hash.clone()).allowing_development();
    assert_eq!(
        verifier().verify_attestation(&v.attestation, &v.key_id, at(AFTER_SECS), &policy),
        Err(Refusal::NotValidAtTime { index: 0 })
    );
    let google = AppleVerifier::new(common::google_anchors(), RevokedSerials::none());
    assert_eq!(google.verify_attestation(&v.attestation, &v.key_id, at(AT_SECS), &policy), Err(Refusal::UntrustedRoot));
}

#[test]
fn the_real_object_is_refused_for_another_challenge_app_or_key_id() {
    let v = vector();
    let other_hash = Sha256::digest(b"another challenge").to_vec();
    let policy = |app: &str, hash: &[u8]| ApplePolicy::new(app, hash.to_vec()).allowing_development();
    let verify = |key_id: &[u8], p: &ApplePolicy| verifier().verify_attestation(&v.attestation, key_id, at(AT_SECS), p);
    assert_eq!(verify(&v.key_id, &policy(&v.app_id, &other_hash)), Err(Refusal::NonceMismatch));
    assert_eq!(
        verify(&v.key_id, &policy("6MURL8TA57.org.example.other", &v.client_data_hash)),
        Err(Refusal::AppIdMismatch)
    );
    assert_eq!(verify(&[0u8; 32], &policy(&v.app_id, &v.client_data_hash)), Err(Refusal::KeyIdMismatch));
}

fn point_of(v: &Vector) -> Vec<u8> {
    let policy = ApplePolicy::new(v.app_id.clone(), v.client_data_hash.clone()).allowing_development();
    verifier().verify_attestation(&v.attestation, &v.key_id, at(AT_SECS), &policy).unwrap().public_key_point
}

#[test]
fn the_real_assertion_verifies_with_the_attested_key_and_raises_the_counter() {
    let v = vector();
    let point = point_of(&v);
    let counter = verify_assertion(&v.assertion, &v.assertion_client_data, &point, &v.app_id, 0).unwrap();
    assert_eq!(counter, v.assertion_counter);
    assert_eq!(counter, 1);
}

#[test]
fn the_real_assertion_replayed_or_over_other_data_is_refused() {
    let v = vector();
    let point = point_of(&v);
    assert_eq!(
        verify_assertion(&v.assertion, &v.assertion_client_data, &point, &v.app_id, 1),
        Err(Refusal::AssertionReplayed { counter: 1 })
    );
    assert_eq!(
        verify_assertion(&v.assertion, &v.assertion_client_data, &point, &v.app_id, 5),
        Err(Refusal::CounterWentBack { counter: 1, last: 5 })
    );
    assert_eq!(
        verify_assertion(&v.assertion, b"wurzelpfropf2", &point, &v.app_id, 0),
        Err(Refusal::BadAssertionSignature)
    );
    assert_eq!(
        verify_assertion(&v.assertion, &v.assertion_client_data, &point, "6MURL8TA57.org.example.other", 0),
        Err(Refusal::AppIdMismatch)
    );
}
