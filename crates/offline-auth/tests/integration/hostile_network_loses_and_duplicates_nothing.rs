//! A hostile network between the device and the backend: it cuts batches to
//! a shorter prefix and re-encodes them (a prefix is still a valid chain, no
//! key needed), drops uploads, drops the backend's answers, forges and
//! replays receipts. Because the device deletes only on a receipt that
//! verifies, no edit is lost and the backend applies each exactly once.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::collections::BTreeMap;

use common::wire::{decode, encode};
use common::*;
use offline_auth::VaultError;
use offline_auth_backend::{BackendError, SyncCursor, SyncVerifier};

/// The backend: its cursor for the device and every edit it applied.
struct Server {
    verifier: std::sync::Arc<SyncVerifier>,
    sync_key: Vec<u8>,
    cursor: SyncCursor,
    applied: BTreeMap<u64, (String, Option<Vec<u8>>)>,
}

impl Server {
    /// Verifies and applies an upload; returns the receipt (or the refusal).
    fn upload(&mut self, bytes: Vec<u8>) -> Result<Vec<u8>, BackendError> {
        let verified = self.verifier.verify(&bytes, &self.sync_key, &self.cursor)?;
        for op in verified.operations {
            assert!(
                self.applied.insert(op.seq, (op.key.to_owned(), op.value.map(<[u8]>::to_vec))).is_none(),
                "seq {} applied twice",
                op.seq
            );
        }
        self.cursor = verified.cursor;
        Ok(verified.receipt)
    }
}

/// A small deterministic generator (no test may depend on chance it cannot replay).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn a_hostile_proxy_loses_no_edit_and_none_is_applied_twice() {
    let device = Device::new();
    let (_vault, session) = device.enrolled();
    let queue = session.clone().sync_queue();
    let mut server = Server {
        verifier: device.backend.verifier(),
        sync_key: device.backend.sync_key.clone(),
        cursor: SyncCursor::initial(),
        applied: BTreeMap::new(),
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut written = BTreeMap::new();
    let mut old_receipts: Vec<Vec<u8>> = Vec::new();
    let mut tally: BTreeMap<&str, u32> = BTreeMap::new();
    for round in 0..300u64 {
        // The field worker keeps editing.
        for _ in 0..rng.below(3) {
            let key = format!("k{}", rng.below(40));
            let value = round.to_be_bytes().to_vec();
            let seq = session.put("visits", &key, value.clone()).unwrap();
            written.insert(seq, (key, Some(value)));
        }
        let Some(batch) = queue.next_batch(1 + rng.below(12) as u32).unwrap() else {
            continue;
        };
        let attack = ["cut", "drop upload", "drop answer", "forge", "replay receipt", "honest"][rng.below(6) as usize];
        *tally.entry(attack).or_default() += 1;
        let receipt = match attack {
            "cut" => {
                let mut cut = decode(&batch.bytes);
                let keep = 1 + rng.below(cut.entries.len() as u64) as usize;
                cut.entries.truncate(keep);
                server.upload(encode(&cut)).ok()
            }
            "drop upload" => None,
            "drop answer" => {
                server.upload(batch.bytes).unwrap();
                None
            }
            "forge" => {
                let mut receipt = server.upload(batch.bytes).unwrap();
                let i = rng.below(receipt.len() as u64) as usize;
                receipt[i] ^= 1 << rng.below(8);
                let refused = queue.acknowledge(receipt);
                assert!(matches!(refused, Err(VaultError::ReceiptInvalid { .. })), "{refused:?}");
                None
            }
            "replay receipt" => old_receipts.get(rng.below(old_receipts.len().max(1) as u64) as usize).cloned(),
            _ => server.upload(batch.bytes).ok(),
        };
        if let Some(receipt) = receipt {
            queue.acknowledge(receipt.clone()).unwrap();
            old_receipts.push(receipt);
        }
        // Nothing the backend has not applied is ever gone from the device.
        let deleted = written.len() as u64 - queue.pending_count().unwrap();
        assert!(
            deleted <= server.cursor.last_seq,
            "round {round}: {deleted} deleted, {} applied",
            server.cursor.last_seq
        );
    }
    // Back on an honest network: everything left arrives, once.
    while let Some(batch) = queue.next_batch(100).unwrap() {
        let receipt = server.upload(batch.bytes).unwrap();
        queue.acknowledge(receipt).unwrap();
    }
    let lost = written.keys().filter(|seq| !server.applied.contains_key(seq)).count();
    println!("hostile proxy, 300 rounds {tally:?}: {} edits written, {lost} lost, 0 applied twice", written.len());
    assert_eq!(lost, 0);
    assert_eq!(server.applied, written);
    assert_eq!(queue.pending_count().unwrap(), 0);
}
