//! A model test: any sequence of put / delete / sync with
//! or without acknowledge / lock / unlock / reopen keeps the sync queue a
//! gap-free MAC chain whose replay equals the stored records.
//!
//! The model is the list of every edit ever made, `history[seq - 1]`. After
//! each step the test (with an unlocked session) checks that:
//! - `put`/`delete` returned seq = previous + 1;
//! - `pending_count` = edits not yet acknowledged;
//! - the backend's applied operations, followed by those of a batch of every
//!   pending entry verified by `SyncVerifier` from the backend's cursor, are
//!   exactly `history` (no gap, no duplicate, nothing altered);
//! - replaying `history` gives exactly the stored records (`keys` and `get`);
//! - a locked session refuses every call with `SessionLocked` and changes nothing.
//!
//! Cases: 12 by default (unlocks cost a PBKDF2 each); `PROPTEST_CASES=N` for more.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use offline_auth::{OfflineSession, PinVault, VaultError};
use offline_auth_backend::{SyncCursor, SyncVerifier};
use proptest::prelude::*;

const COLLECTION: &str = "visits";

#[derive(Debug, Clone)]
enum Op {
    Put(u8, Vec<u8>),
    Delete(u8),
    /// Send a batch of at most `max` entries; acknowledge it or lose the ack.
    Sync {
        max: u32,
        ack: bool,
    },
    Lock,
    Unlock,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..6, proptest::collection::vec(any::<u8>(), 0..24)).prop_map(|(k, v)| Op::Put(k, v)),
        2 => (0u8..6).prop_map(Op::Delete),
        2 => (1u32..6, any::<bool>()).prop_map(|(max, ack)| Op::Sync { max, ack }),
        1 => Just(Op::Lock),
        1 => Just(Op::Unlock),
        1 => Just(Op::Reopen),
    ]
}

fn key(k: u8) -> String {
    format!("key-{k}")
}

/// One edit as the model knows it: (key, value or None for a delete).
type Edit = (String, Option<Vec<u8>>);

struct BackendModel {
    verifier: Arc<SyncVerifier>,
    cursor: SyncCursor,
    applied: Vec<(u64, Edit)>,
}

impl BackendModel {
    /// Verifies `bytes` from the stored cursor; returns the new operations and cursor.
    fn verify(&self, bytes: Vec<u8>, sync_key: &[u8]) -> (Vec<(u64, Edit)>, SyncCursor, Vec<u8>) {
        let verified = self.verifier.verify(&bytes, sync_key, &self.cursor).unwrap();
        let ops = verified
            .operations
            .into_iter()
            .map(|op| (op.seq, (op.key.to_owned(), op.value.map(<[u8]>::to_vec))))
            .collect();
        (ops, verified.cursor, verified.receipt)
    }
}

struct World {
    device: Device,
    vault: Arc<PinVault>,
    session: Arc<OfflineSession>,
    unlocked: bool,
    history: Vec<Edit>,
    acked: u64,
    backend: BackendModel,
}

impl World {
    fn new() -> Self {
        let device = Device::new();
        let (vault, session) = device.enrolled();
        let verifier = device.backend.verifier();
        let backend = BackendModel { verifier, cursor: SyncCursor::initial(), applied: Vec::new() };
        Self { device, vault, session, unlocked: true, history: Vec::new(), acked: 0, backend }
    }

    fn apply(&mut self, op: &Op) {
        let before = self.history.len();
        match op {
            Op::Put(k, v) => {
                let result = self.session.put(COLLECTION, &key(*k), v.to_vec());
                if self.unlocked {
                    assert_eq!(result.unwrap(), before as u64 + 1, "seq is previous + 1");
                    self.history.push((key(*k), Some(v.clone())));
                } else {
                    assert_eq!(result, Err(VaultError::SessionLocked));
                }
            }
            Op::Delete(k) => {
                let result = self.session.delete(COLLECTION, &key(*k));
                if self.unlocked {
                    assert_eq!(result.unwrap(), before as u64 + 1, "seq is previous + 1");
                    self.history.push((key(*k), None));
                } else {
                    assert_eq!(result, Err(VaultError::SessionLocked));
                }
            }
            Op::Sync { max, ack } => {
                let queue = self.session.clone().sync_queue();
                let batch = queue.next_batch(*max);
                if !self.unlocked {
                    assert_eq!(batch, Err(VaultError::SessionLocked));
                    assert_eq!(queue.acknowledge(vec![1]), Err(VaultError::SessionLocked));
                    return;
                }
                let Some(batch) = batch.unwrap() else {
                    assert_eq!(self.acked, before as u64, "no batch while edits are pending");
                    return;
                };
                assert_eq!(batch.first_seq, self.acked + 1, "a batch starts after the last acknowledged seq");
                assert!(batch.entry_count <= *max);
                let (ops, cursor, receipt) = self.backend.verify(batch.bytes, &self.device.backend.sync_key);
                self.backend.applied.extend(ops);
                self.backend.cursor = cursor;
                if *ack {
                    // The receipt covers what the backend applied, which may
                    // be more than this batch (an earlier unacknowledged one).
                    queue.acknowledge(receipt).unwrap();
                    self.acked = self.backend.cursor.last_seq.max(self.acked);
                }
            }
            Op::Lock => {
                self.session.lock();
                self.unlocked = false;
            }
            Op::Unlock => {
                self.session.lock();
                self.session = self.vault.unlock(PIN.into()).unwrap();
                self.unlocked = true;
            }
            Op::Reopen => {
                self.session.lock();
                self.vault = self.device.open();
                assert_eq!(self.vault.status().unwrap().pending_entries, before as u64 - self.acked);
                self.session = self.vault.unlock(PIN.into()).unwrap();
                self.unlocked = true;
            }
        }
        assert_eq!(self.vault.status().unwrap().pending_entries, self.history.len() as u64 - self.acked);
        if self.unlocked {
            self.check();
        }
    }

    /// The invariant: backend-applied ops ++ verified queue == history, and replay(history) == records.
    fn check(&self) {
        let queue = self.session.clone().sync_queue();
        let pending = queue.pending_count().unwrap();
        assert_eq!(pending, self.history.len() as u64 - self.acked);
        let mut all: Vec<(u64, Edit)> = self.backend.applied.clone();
        if let Some(batch) = queue.next_batch(10_000).unwrap() {
            assert_eq!(u64::from(batch.entry_count), pending);
            assert_eq!(batch.last_seq, self.history.len() as u64);
            let (ops, _, _) = self.backend.verify(batch.bytes, &self.device.backend.sync_key);
            all.extend(ops);
        } else {
            assert_eq!(pending, 0);
        }
        let expected: Vec<(u64, Edit)> =
            self.history.iter().cloned().enumerate().map(|(i, edit)| (i as u64 + 1, edit)).collect();
        assert_eq!(all, expected, "applied ++ queued must be the gap-free history");

        let mut replay: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for (k, v) in &self.history {
            match v {
                Some(v) => replay.insert(k.clone(), v.clone()),
                None => replay.remove(k),
            };
        }
        assert_eq!(self.session.keys(COLLECTION).unwrap(), replay.keys().cloned().collect::<Vec<_>>());
        for k in 0..6 {
            assert_eq!(self.session.get(COLLECTION, &key(k)).unwrap(), replay.get(&key(k)).cloned());
        }
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(12)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn queue_stays_a_gap_free_chain_whose_replay_is_the_records(ops in proptest::collection::vec(op(), 1..40)) {
        let mut world = World::new();
        for op in &ops {
            world.apply(op);
        }
        // Whatever the last step, a fresh unlock sees the same state.
        world.apply(&Op::Reopen);
        println!("model: {} steps, {} edits, {} acknowledged", ops.len() + 1, world.history.len(), world.acked);
    }
}
