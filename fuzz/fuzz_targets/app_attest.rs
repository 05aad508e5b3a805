//! Fuzzes the App Attest attestation object parser and verifier:
//! `AppleVerifier::verify_attestation` on fuzzed bytes (the bounded CBOR
//! decoding, the authenticator data, the x5c certificates and the nonce
//! extension). Validation runs against no anchor at a fixed time, so any
//! input must be refused; a panic or an accepted object is a crash.
//! The corpus starts well from the real object in
//! `crates/offline-auth-attestation/tests/data/apple`.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use offline_auth_attestation::apple::{ApplePolicy, AppleVerifier};
use offline_auth_attestation::{RevokedSerials, TrustAnchors};

fuzz_target!(|data: &[u8]| {
    let verifier = AppleVerifier::new(TrustAnchors::default(), RevokedSerials::none());
    let policy =
        ApplePolicy::new("6MURL8TA57.de.vincent-haupert.apple-appattest-poc", vec![0u8; 32]).allowing_development();
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_611_446_400);
    let key_id = data.get(..32).unwrap_or(&[0u8; 32]);
    let refused = verifier.verify_attestation(data, key_id, at, &policy);
    assert!(refused.is_err(), "a fuzzed attestation object was accepted without any anchor");
});
