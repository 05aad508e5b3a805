//! Fuzzes the batch parser and verifier: `SyncVerifier::verify` on fuzzed
//! bytes. Odd first bytes get the `OASB` magic prepended so most inputs
//! reach the postcard decoder and the checks behind it. Nothing may panic,
//! and a fuzzed batch can never verify (it would need the sync key's MACs
//! and an issuer's signature).
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use offline_auth_backend::{BackendError, GrantIssuer, SyncCursor, SyncVerifier};

fn verifier() -> &'static Arc<SyncVerifier> {
    static VERIFIER: OnceLock<Arc<SyncVerifier>> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let issuer = GrantIssuer::new("k1", vec![7; 32]).unwrap();
        SyncVerifier::new(vec![issuer.issuer_key()]).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let bytes = if mode % 2 == 1 { [b"OASB".as_slice(), rest].concat() } else { rest.to_vec() };
    let cursor = if mode & 2 == 0 { SyncCursor::initial() } else { SyncCursor { last_seq: 3, last_mac: vec![1; 32] } };
    match verifier().verify(&bytes, &[0x5a; 32], &cursor) {
        Ok(verified) => panic!("a fuzzed batch verified: {verified:?}"),
        Err(BackendError::BatchRejected { .. }) => {}
        Err(other) => panic!("unexpected error for a bad batch: {other:?}"),
    }
});
