//! App Attest negative cases from our own test CA (`common::apple_ca`):
//! each object or assertion differs from an accepted one in one thing and
//! is refused with that thing's own `Refusal`. All verify at a fixed time
//! (2025-01-01), never today.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::common;

use std::time::{Duration, SystemTime};

use common::apple_ca::{self, AppleSpec, AAGUID_DEVELOPMENT, APP_ID};
use common::ca::{self, AT_SECS};
use offline_auth_attestation::apple::{verify_assertion, AppleEnvironment, AppleEvidence, ApplePolicy, AppleVerifier};
use offline_auth_attestation::{CborProblem, Refusal, RevokedSerials, TrustAnchors, MAX_ATTESTATION_OBJECT_LEN};

fn at() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(AT_SECS)
}

fn verifier() -> AppleVerifier {
    let root = ca::root_cert(3);
    AppleVerifier::new(TrustAnchors::from_der_certificates([root.as_slice()]).unwrap(), RevokedSerials::none())
}

fn policy() -> ApplePolicy {
    ApplePolicy::new(APP_ID, apple_ca::client_data_hash())
}

fn verify_bytes(object: &[u8]) -> Result<AppleEvidence, Refusal> {
    let (_, key_id) = apple_ca::device_point_and_key_id();
    verifier().verify_attestation(object, &key_id, at(), &policy())
}

fn verify_spec(spec: &AppleSpec) -> Result<AppleEvidence, Refusal> {
    verify_bytes(&apple_ca::attestation(spec))
}

#[test]
fn the_test_cas_app_attest_object_is_accepted_in_production() {
    let evidence = verify_spec(&AppleSpec::default()).unwrap();
    let (point, key_id) = apple_ca::device_point_and_key_id();
    assert_eq!(evidence.environment, AppleEnvironment::Production);
    assert_eq!(evidence.key_id, key_id);
    assert_eq!(evidence.public_key_point, point);
    assert_eq!(evidence.counter, 0);
    assert_eq!(evidence.receipt, vec![0x30, 0x00]);
}

#[test]
fn a_nonce_over_another_client_data_hash_is_refused() {
    let spec = AppleSpec { client_data_hash: vec![0x55; 32], ..AppleSpec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::NonceMismatch));
}

#[test]
fn a_leaf_without_the_nonce_extension_is_refused() {
    let spec = AppleSpec { no_nonce: true, ..AppleSpec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::MissingNonce));
}

#[test]
fn a_wrong_rp_id_is_refused() {
    let spec = AppleSpec { app_id: "ABCDE12345.org.example.other".to_owned(), ..AppleSpec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::AppIdMismatch));
}

#[test]
fn a_non_zero_attestation_counter_is_refused() {
    let spec = AppleSpec { counter: 3, ..AppleSpec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::AttestationCounterNotZero { counter: 3 }));
}

#[test]
fn a_development_aaguid_is_refused_by_a_production_policy_and_accepted_by_a_development_one() {
    let spec = AppleSpec { aaguid: AAGUID_DEVELOPMENT, ..AppleSpec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::DevelopmentEnvironment));
    let (_, key_id) = apple_ca::device_point_and_key_id();
    let dev = policy().allowing_development();
    let evidence = verifier().verify_attestation(&apple_ca::attestation(&spec), &key_id, at(), &dev).unwrap();
    assert_eq!(evidence.environment, AppleEnvironment::Development);
}

#[test]
fn an_aaguid_of_neither_environment_is_refused() {
    let spec = AppleSpec { aaguid: *b"fido2authentic8r", ..AppleSpec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::UnknownAaguid));
}

#[test]
fn a_credential_id_that_is_not_the_key_id_is_refused() {
    let spec = AppleSpec { credential_id: Some(vec![0x77; 32]), ..AppleSpec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::CredentialIdMismatch));
}

#[test]
fn a_key_id_that_is_not_the_attested_keys_digest_is_refused() {
    let object = apple_ca::attestation(&AppleSpec::default());
    assert_eq!(verifier().verify_attestation(&object, &[0x77; 32], at(), &policy()), Err(Refusal::KeyIdMismatch));
}

#[test]
fn a_chain_to_another_root_is_refused() {
    let spec = AppleSpec { root_seed: 9, root_name: "CN=Another Root".to_owned(), ..AppleSpec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::UntrustedRoot));
    // An impostor with the trusted root's name and another key.
    let impostor = AppleSpec { root_seed: 9, ..AppleSpec::default() };
    assert_eq!(verify_spec(&impostor), Err(Refusal::BadSignature));
}

#[test]
fn an_expired_leaf_is_refused() {
    // 2023-11-14 to 2023-11-17: three days, long before the verifier's time.
    let spec = AppleSpec { leaf_validity: (1_700_000_000, 1_700_259_200), ..AppleSpec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::NotValidAtTime { index: 0 }));
}

#[test]
fn another_attestation_format_is_refused() {
    let spec = AppleSpec { fmt: "packed".to_owned(), ..AppleSpec::default() };
    assert_eq!(verify_spec(&spec), Err(Refusal::UnsupportedAttestationFormat));
}

#[test]
fn every_truncation_of_an_attestation_object_is_refused_without_a_panic() {
    let object = apple_ca::attestation(&AppleSpec::default());
    for len in 0..object.len() {
        assert_eq!(
            verify_bytes(&object[..len]).err(),
            Some(Refusal::MalformedAttestationObject { problem: CborProblem::Truncated }),
            "prefix of {len} bytes"
        );
    }
    let mut trailing = object.clone();
    trailing.push(0);
    assert_eq!(
        verify_bytes(&trailing).err(),
        Some(Refusal::MalformedAttestationObject { problem: CborProblem::TrailingBytes })
    );
}

#[test]
fn an_oversized_attestation_object_is_refused_before_decoding() {
    let huge = vec![0xa0; MAX_ATTESTATION_OBJECT_LEN + 1];
    assert_eq!(
        verify_bytes(&huge).err(),
        Some(Refusal::AttestationObjectTooLarge {
            len: MAX_ATTESTATION_OBJECT_LEN + 1,
            max: MAX_ATTESTATION_OBJECT_LEN
        })
    );
}

/// `{"fmt": "apple-appattest", "attStmt": {"x5c": <x5c>, "receipt": h''}, "authData": <auth_data>}`
/// with the two values given as raw CBOR.
fn object_with(x5c: &[u8], auth_data: &[u8]) -> Vec<u8> {
    let mut o = vec![0xa3, 0x63];
    o.extend_from_slice(b"fmt");
    o.push(0x6f);
    o.extend_from_slice(b"apple-appattest");
    o.push(0x67);
    o.extend_from_slice(b"attStmt");
    o.extend_from_slice(&[0xa2, 0x63]);
    o.extend_from_slice(b"x5c");
    o.extend_from_slice(x5c);
    o.push(0x67);
    o.extend_from_slice(b"receipt");
    o.push(0x40);
    o.push(0x68);
    o.extend_from_slice(b"authData");
    o.extend_from_slice(auth_data);
    o
}

#[test]
fn huge_declared_lengths_are_refused_by_type() {
    // authData declares 2^64 - 1 bytes: the input ends first.
    let bytes = object_with(&[0x80], &[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]);
    assert_eq!(
        verify_bytes(&bytes).err(),
        Some(Refusal::MalformedAttestationObject { problem: CborProblem::Truncated })
    );
    // x5c declares 2^64 - 1 certificates: refused from the count, before any room is made.
    let bytes = object_with(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], &[0x40]);
    assert_eq!(verify_bytes(&bytes).err(), Some(Refusal::MalformedAttestationObject { problem: CborProblem::Shape }));
    // The top-level map declares 2^64 - 1 entries.
    let bytes = [0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x63, b'f', b'm', b't'];
    assert_eq!(
        verify_bytes(&bytes).err(),
        Some(Refusal::MalformedAttestationObject { problem: CborProblem::Truncated })
    );
}

#[test]
fn deep_nesting_is_refused_as_too_deep() {
    // An x5c entry that is 10 000 nested arrays instead of a byte string.
    let mut x5c = vec![0x81; 10_001];
    x5c.push(0x00);
    let bytes = object_with(&x5c, &[0x40]);
    assert_eq!(verify_bytes(&bytes).err(), Some(Refusal::MalformedAttestationObject { problem: CborProblem::TooDeep }));
    // Nesting where a map belongs is the wrong shape at once.
    let bytes = vec![0x81; 10_000];
    assert_eq!(verify_bytes(&bytes).err(), Some(Refusal::MalformedAttestationObject { problem: CborProblem::Shape }));
}

#[test]
fn a_repeated_or_unknown_key_is_refused() {
    let mut doubled = object_with(&[0x80], &[0x40]);
    doubled[0] = 0xa4;
    doubled.extend_from_slice(&[0x63, b'f', b'm', b't', 0x60]);
    assert_eq!(verify_bytes(&doubled).err(), Some(Refusal::MalformedAttestationObject { problem: CborProblem::Shape }));
    let mut unknown = object_with(&[0x80], &[0x40]);
    unknown[0] = 0xa4;
    unknown.extend_from_slice(&[0x63, b'x', b'y', b'z', 0x00]);
    assert_eq!(verify_bytes(&unknown).err(), Some(Refusal::MalformedAttestationObject { problem: CborProblem::Shape }));
}

// --- assertions ---

const CLIENT_DATA: &[u8] = b"upload batch 17, seq 1..40";

#[test]
fn an_assertion_by_the_attested_key_with_a_higher_counter_is_accepted() {
    let (point, _) = apple_ca::device_point_and_key_id();
    let assertion = apple_ca::assertion(&apple_ca::device_key(), CLIENT_DATA, APP_ID, 5);
    assert_eq!(verify_assertion(&assertion, CLIENT_DATA, &point, APP_ID, 4), Ok(5));
    assert_eq!(verify_assertion(&assertion, CLIENT_DATA, &point, APP_ID, 0), Ok(5));
}

#[test]
fn a_replayed_assertion_is_refused() {
    let (point, _) = apple_ca::device_point_and_key_id();
    let assertion = apple_ca::assertion(&apple_ca::device_key(), CLIENT_DATA, APP_ID, 5);
    let stored = verify_assertion(&assertion, CLIENT_DATA, &point, APP_ID, 4).unwrap();
    assert_eq!(
        verify_assertion(&assertion, CLIENT_DATA, &point, APP_ID, stored),
        Err(Refusal::AssertionReplayed { counter: 5 })
    );
}

#[test]
fn an_assertion_whose_counter_did_not_increase_is_refused() {
    let (point, _) = apple_ca::device_point_and_key_id();
    let assertion = apple_ca::assertion(&apple_ca::device_key(), CLIENT_DATA, APP_ID, 3);
    assert_eq!(
        verify_assertion(&assertion, CLIENT_DATA, &point, APP_ID, 5),
        Err(Refusal::CounterWentBack { counter: 3, last: 5 })
    );
}

#[test]
fn an_assertion_with_a_bad_signature_is_refused() {
    let (point, _) = apple_ca::device_point_and_key_id();
    let by_another_key = apple_ca::assertion(&ca::key(8), CLIENT_DATA, APP_ID, 5);
    assert_eq!(verify_assertion(&by_another_key, CLIENT_DATA, &point, APP_ID, 0), Err(Refusal::BadAssertionSignature));
    let genuine = apple_ca::assertion(&apple_ca::device_key(), CLIENT_DATA, APP_ID, 5);
    assert_eq!(
        verify_assertion(&genuine, b"upload batch 18, seq 1..40", &point, APP_ID, 0),
        Err(Refusal::BadAssertionSignature)
    );
}

#[test]
fn an_assertion_for_another_app_is_refused() {
    let (point, _) = apple_ca::device_point_and_key_id();
    let assertion = apple_ca::assertion(&apple_ca::device_key(), CLIENT_DATA, "ABCDE12345.org.example.other", 5);
    assert_eq!(verify_assertion(&assertion, CLIENT_DATA, &point, APP_ID, 0), Err(Refusal::AppIdMismatch));
}

#[test]
fn truncated_oversized_or_keyless_assertions_are_refused_without_a_panic() {
    let (point, _) = apple_ca::device_point_and_key_id();
    let assertion = apple_ca::assertion(&apple_ca::device_key(), CLIENT_DATA, APP_ID, 5);
    for len in 0..assertion.len() {
        assert_eq!(
            verify_assertion(&assertion[..len], CLIENT_DATA, &point, APP_ID, 0),
            Err(Refusal::MalformedAssertion { problem: CborProblem::Truncated }),
            "prefix of {len} bytes"
        );
    }
    let huge = vec![0xa0; offline_auth_attestation::MAX_ASSERTION_LEN + 1];
    assert!(matches!(verify_assertion(&huge, CLIENT_DATA, &point, APP_ID, 0), Err(Refusal::AssertionTooLarge { .. })));
    assert_eq!(verify_assertion(&assertion, CLIENT_DATA, &[0x04; 65], APP_ID, 0), Err(Refusal::UnsupportedKey));
}
