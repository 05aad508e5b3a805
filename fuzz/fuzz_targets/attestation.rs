//! Fuzzes the attestation parser: the bounded chain decoding and the key
//! description, through `offline-auth-attestation`'s public API. Even first
//! byte: the rest is one key description. Odd: the rest is a chain of
//! certificates, each prefixed by its length (2 bytes, big-endian), which is
//! then validated against no anchor at a fixed time, so it must be refused.
//! Any panic, or an accepted chain, is a crash.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use offline_auth_attestation::android::chain::{parse_chain, validate_chain};
use offline_auth_attestation::android::{AndroidPolicy, AndroidVerifier, KeyDescription};
use offline_auth_attestation::{Refusal, RevokedSerials, TrustAnchors};

fn split(mut rest: &[u8]) -> Vec<&[u8]> {
    let mut certs = Vec::new();
    // One more than the verifier's limit, so the count check is reached too.
    while certs.len() <= offline_auth_attestation::MAX_CHAIN_LEN {
        let [hi, lo, tail @ ..] = rest else { break };
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (cert, next) = tail.split_at(len);
        certs.push(cert);
        rest = next;
    }
    certs
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
        let _ = KeyDescription::from_der(rest);
        return;
    }
    let certs = split(rest);
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600);
    if let Ok(parsed) = parse_chain(&certs) {
        let _ = KeyDescription::from_der(parsed.key_description_der());
        let _ = parsed.leaf_spki_der();
        let refused = validate_chain(&parsed, &TrustAnchors::default(), &RevokedSerials::none(), at);
        assert!(refused.is_err(), "a chain validated without any anchor");
    }
    let verifier = AndroidVerifier::new(TrustAnchors::default(), RevokedSerials::none());
    let refusal: Result<_, Refusal> = verifier.verify(&certs, at, &AndroidPolicy::new(b"challenge".to_vec()));
    assert!(refusal.is_err(), "a fuzzed chain was accepted without any anchor");
});
