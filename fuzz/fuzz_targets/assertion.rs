//! Fuzzes the App Attest assertion parser and verifier: `verify_assertion`
//! on fuzzed bytes (the bounded CBOR decoding, the authenticator data, the
//! DER signature) with a fixed public key. Nothing may panic; a fuzzed
//! assertion that verifies (it would need the key's signature) is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offline_auth_attestation::apple::verify_assertion;

/// The public key of the real App Attest vector (an uncompressed P-256
/// point), so signatures are checked against a genuine key.
const POINT: [u8; 65] = [
    0x04, 0x88, 0xc0, 0x34, 0xa1, 0x90, 0xaa, 0x7d, 0xbc, 0x5a, 0x06, 0x15, 0x01, 0xc6, 0x54, 0x28, 0x03, 0x94, 0x25,
    0x82, 0x19, 0x8b, 0x3f, 0x1c, 0xc5, 0x46, 0x73, 0xca, 0x3b, 0x9a, 0xd2, 0x0b, 0x41, 0x52, 0x82, 0x67, 0xa5, 0x4f,
    0x5f, 0xdb, 0xa0, 0x46, 0x9f, 0xaf, 0xb4, 0x6b, 0xb6, 0x99, 0x0a, 0x39, 0x6b, 0xf0, 0x4f, 0x94, 0xa4, 0x9d, 0x43,
    0x20, 0xc8, 0x1c, 0x7a, 0xb2, 0x40, 0xa3, 0x98,
];

fuzz_target!(|data: &[u8]| {
    let app_id = "6MURL8TA57.de.vincent-haupert.apple-appattest-poc";
    // The real assertion's client data: a fuzzed assertion never matches it.
    let accepted = verify_assertion(data, b"wurzelpfropf", &POINT, app_id, 1);
    assert!(accepted.is_err(), "a fuzzed assertion verified under the real key");
});
