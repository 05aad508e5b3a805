//! Peak memory on hostile App Attest input: every hostile object is
//! refused having allocated a few KiB at most, whatever length or count it
//! declares (up to 2^64 - 1), because nothing is allocated for a declared
//! size: strings grow as their bytes are read, arrays are bounded before
//! room is made. Measured with a counting global allocator (`stats_alloc`),
//! so this binary holds one test: the harness's other threads stay idle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::alloc::System;
use std::time::{Duration, SystemTime};

use offline_auth_attestation::apple::{verify_assertion, ApplePolicy, AppleVerifier};
use offline_auth_attestation::{RevokedSerials, TrustAnchors};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Most bytes a refusal may allocate, all allocations added up (so an
/// upper bound of the peak).
const BUDGET: usize = 16 * 1024;

const HUGE: [u8; 8] = [0xff; 8];

fn prefixed(head: &[u8], tail: &[u8]) -> Vec<u8> {
    [head, tail].concat()
}

/// `{"fmt": "apple-appattest", "attStmt": {"x5c": <x5c>, "receipt": <receipt>}, "authData": <auth_data>}`
fn object_with(x5c: &[u8], receipt: &[u8], auth_data: &[u8]) -> Vec<u8> {
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
    o.extend_from_slice(receipt);
    o.push(0x68);
    o.extend_from_slice(b"authData");
    o.extend_from_slice(auth_data);
    o
}

#[test]
fn hostile_cbor_is_refused_before_allocating_for_its_declared_sizes() {
    let verifier = AppleVerifier::new(TrustAnchors::default(), RevokedSerials::none());
    let policy = ApplePolicy::new("ABCDE12345.org.example.fieldapp", vec![0u8; 32]);
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600);
    let hostile: Vec<(&str, Vec<u8>)> = vec![
        ("authData of 2^64-1 bytes", object_with(&[0x80], &[0x40], &prefixed(&[0x5b], &HUGE))),
        ("receipt of 2^64-1 bytes", object_with(&[0x80], &prefixed(&[0x5b], &HUGE), &[0x40])),
        ("x5c of 2^64-1 certificates", object_with(&prefixed(&[0x9b], &HUGE), &[0x40], &[0x40])),
        ("a certificate of 2^64-1 bytes", object_with(&prefixed(&[0x81, 0x5b], &HUGE), &[0x40], &[0x40])),
        ("fmt of 2^64-1 bytes", prefixed(&[0xa3, 0x63, b'f', b'm', b't', 0x7b], &HUGE)),
        ("a map of 2^64-1 entries", prefixed(&[0xbb], &HUGE)),
        (
            "indefinite byte string of huge chunks",
            object_with(&[0x80], &[0x5f, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], &[0x40]),
        ),
        ("10 000 nested arrays in x5c", object_with(&[0x81; 10_000], &[0x40], &[0x40])),
        ("10 000 tags", prefixed(&[0xc6; 10_000], &[0xa0])),
    ];
    for (what, bytes) in &hostile {
        let region = Region::new(GLOBAL);
        let result = verifier.verify_attestation(bytes, &[0u8; 32], at, &policy);
        let stats = region.change();
        assert!(result.is_err(), "{what} was accepted");
        let grown = usize::try_from(stats.bytes_reallocated).unwrap_or(0);
        println!("{what}: {:?}; {} bytes allocated, {grown} grown", result.err(), stats.bytes_allocated);
        assert!(
            stats.bytes_allocated + grown <= BUDGET,
            "{what}: {} bytes allocated for a {}-byte input",
            stats.bytes_allocated,
            bytes.len()
        );
    }
    let assertion = prefixed(&[0xa2, 0x69], b"signature").into_iter().chain([0x5b]).chain(HUGE).collect::<Vec<u8>>();
    let region = Region::new(GLOBAL);
    let result = verify_assertion(&assertion, b"client data", &[0x04; 65], "ABCDE12345.org.example.fieldapp", 0);
    let stats = region.change();
    assert!(result.is_err());
    assert!(stats.bytes_allocated <= BUDGET, "assertion: {} bytes allocated", stats.bytes_allocated);
}
