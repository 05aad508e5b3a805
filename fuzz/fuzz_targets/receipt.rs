//! Fuzzes the receipt parser: `Answer::verify` (receipts and chain
//! positions) on fuzzed bytes. The MAC is checked before the body is
//! decoded, so odd first bytes get the rest sealed as a body (the `OASR`
//! magic and a valid tag under the fixed sync key) to reach the postcard
//! decoder; even first bytes go in raw. Nothing may panic; a raw input
//! that verifies (it would need the sync key's MAC) is a crash, and a
//! sealed body that decodes must come back the same through `to_bytes`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use offline_auth_proto::crypto::{MacKey, SecretKey};
use offline_auth_proto::receipt::Answer;

const MAGIC: &[u8] = b"OASR";
const DOMAIN: &[u8] = b"offline-auth/receipt/1";

fn key() -> &'static MacKey {
    static KEY: OnceLock<MacKey> = OnceLock::new();
    KEY.get_or_init(|| MacKey::new(&SecretKey::from_slice(&[0x42; 32]).expect("a 32-byte key")))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
        assert!(Answer::verify(rest, key()).is_err(), "an unsealed fuzzed receipt verified");
        return;
    }
    let tag = key().mac(&[DOMAIN, rest]);
    let sealed = [MAGIC, rest, &tag].concat();
    if let Ok(answer) = Answer::verify(&sealed, key()) {
        let again = match &answer {
            Answer::Applied(receipt) => receipt.to_bytes(key()),
            Answer::Position(position) => position.to_bytes(key()),
            // `Answer` is non-exhaustive: a kind added later has its own test.
            _ => return,
        }
        .expect("a decoded answer encodes");
        assert_eq!(Answer::verify(&again, key()).ok(), Some(answer), "a receipt changed through to_bytes");
    }
});
