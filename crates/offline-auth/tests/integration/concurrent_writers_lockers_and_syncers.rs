//! Concurrency stress: writer threads `put` through one
//! shared session while a locker thread keeps locking it and unlocking a new
//! one, a syncer thread sends batches to a `SyncVerifier` and acknowledges
//! them, and a reader polls `PinVault::status`.
//!
//! Checked: no deadlock (everything finishes within a bound, or the test
//! fails), no lost or duplicated write (every `put` that returned a seq is
//! applied exactly once by the backend, with its value; seqs are exactly
//! `1..=head`), the records equal the replay of the operations in seq order,
//! and a `put` that failed with `SessionLocked` wrote nothing.
//!
//! Default (debug, the normal suite): 6 writers × 200 puts, 6 lock/unlock
//! cycles. Longer: `OFFLINE_AUTH_STRESS_WRITERS`, `OFFLINE_AUTH_STRESS_OPS`
//! (puts per writer), `OFFLINE_AUTH_STRESS_CYCLES`; run it with `--release`
//! too (see `docs/RELIABILITY.md`).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use offline_auth::{OfflineSession, VaultError};
use offline_auth_backend::{SyncCursor, SyncVerifier};

const COLLECTION: &str = "visits";
/// Longer than any healthy run by far; hitting it means a deadlock.
const DEADLOCK_BOUND: Duration = Duration::from_secs(300);

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The session the threads currently share.
struct Slot(Mutex<Arc<OfflineSession>>);

impl Slot {
    fn get(&self) -> Arc<OfflineSession> {
        self.0.lock().unwrap().clone()
    }
    fn replace(&self, new: Arc<OfflineSession>) -> Arc<OfflineSession> {
        std::mem::replace(&mut *self.0.lock().unwrap(), new)
    }
}

/// The backend: cursor and every applied operation by seq.
struct Backend {
    verifier: Arc<SyncVerifier>,
    sync_key: Vec<u8>,
    cursor: SyncCursor,
    applied: BTreeMap<u64, (String, Option<Vec<u8>>)>,
}

impl Backend {
    /// Verifies and applies; returns the receipt.
    fn apply(&mut self, bytes: Vec<u8>) -> Vec<u8> {
        let verified = self.verifier.verify(&bytes, &self.sync_key, &self.cursor).unwrap();
        for op in verified.operations {
            assert!(
                self.applied.insert(op.seq, (op.key.to_owned(), op.value.map(<[u8]>::to_vec))).is_none(),
                "seq {} applied twice",
                op.seq
            );
        }
        self.cursor = verified.cursor;
        verified.receipt
    }
}

#[derive(Debug, Default)]
struct Counters {
    puts: AtomicU64,
    locked_retries: AtomicU64,
    batches: AtomicU64,
    acks: AtomicU64,
    lock_cycles: AtomicU64,
    status_calls: AtomicU64,
}

#[test]
fn threads_put_sync_lock_and_unlock_without_deadlock_or_lost_writes() {
    let writers = env("OFFLINE_AUTH_STRESS_WRITERS", 6);
    let ops = env("OFFLINE_AUTH_STRESS_OPS", 200);
    let cycles = env("OFFLINE_AUTH_STRESS_CYCLES", 6);
    let device = Device::new();
    let (vault, session) = device.enrolled();
    let verifier = device.backend.verifier();
    let backend = Mutex::new(Backend {
        verifier,
        sync_key: device.backend.sync_key.clone(),
        cursor: SyncCursor::initial(),
        applied: BTreeMap::new(),
    });
    let slot = Slot(Mutex::new(session));
    let counters = Counters::default();
    let written: Mutex<Vec<(u64, String, Vec<u8>)>> = Mutex::new(Vec::new());
    let writers_done = AtomicBool::new(false);
    let started = Instant::now();

    let (done_tx, done_rx) = mpsc::channel();
    let work = || {
        std::thread::scope(|scope| {
            let writer_handles: Vec<_> = (0..writers)
                .map(|t| {
                    let (slot, counters, written) = (&slot, &counters, &written);
                    scope.spawn(move || {
                        for i in 0..ops {
                            let key = format!("t{t}-k{}", i % 16);
                            let value = format!("t{t}-i{i}").into_bytes();
                            loop {
                                match slot.get().put(COLLECTION, &key, value.clone()) {
                                    Ok(seq) => {
                                        written.lock().unwrap().push((seq, key, value));
                                        counters.puts.fetch_add(1, Ordering::Relaxed);
                                        break;
                                    }
                                    Err(VaultError::SessionLocked) => {
                                        counters.locked_retries.fetch_add(1, Ordering::Relaxed);
                                        std::thread::sleep(Duration::from_millis(1));
                                    }
                                    Err(e) => panic!("put failed: {e:?}"),
                                }
                            }
                        }
                    })
                })
                .collect();
            let locker = scope.spawn(|| {
                for c in 0..cycles {
                    std::thread::sleep(Duration::from_millis(30));
                    if c % 2 == 0 {
                        // New session first, then lock the old one under the writers' feet.
                        let new = vault.unlock(PIN.into()).unwrap();
                        slot.replace(new).lock();
                    } else {
                        // Lock first: writers see SessionLocked until the unlock lands.
                        slot.get().lock();
                        let new = vault.unlock(PIN.into()).unwrap();
                        slot.replace(new);
                    }
                    counters.lock_cycles.fetch_add(1, Ordering::Relaxed);
                }
            });
            let syncer = scope.spawn(|| {
                let mut max = 1;
                while !writers_done.load(Ordering::SeqCst) {
                    let queue = slot.get().sync_queue();
                    max = max % 40 + 7;
                    match queue.next_batch(max) {
                        Ok(Some(batch)) => {
                            counters.batches.fetch_add(1, Ordering::Relaxed);
                            let receipt = backend.lock().unwrap().apply(batch.bytes);
                            match queue.acknowledge(receipt) {
                                Ok(()) => {
                                    counters.acks.fetch_add(1, Ordering::Relaxed);
                                }
                                // The backend has it; the next batch resends it as duplicates.
                                Err(VaultError::SessionLocked) => {}
                                Err(e) => panic!("acknowledge failed: {e:?}"),
                            }
                        }
                        Ok(None) | Err(VaultError::SessionLocked) => std::thread::sleep(Duration::from_millis(2)),
                        Err(e) => panic!("next_batch failed: {e:?}"),
                    }
                }
            });
            let reader = scope.spawn(|| {
                while !writers_done.load(Ordering::SeqCst) {
                    let status = vault.status().unwrap();
                    assert!(status.enrolled && status.failed_attempts <= 1);
                    counters.status_calls.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
            for handle in writer_handles {
                handle.join().unwrap();
            }
            locker.join().unwrap();
            writers_done.store(true, Ordering::SeqCst);
            syncer.join().unwrap();
            reader.join().unwrap();
        });
    };
    std::thread::scope(|scope| {
        scope.spawn(|| {
            work();
            done_tx.send(()).unwrap();
        });
        match done_rx.recv_timeout(DEADLOCK_BOUND) {
            Ok(()) => {}
            Err(_) => {
                eprintln!("stress: no progress within {DEADLOCK_BOUND:?}: deadlock; counters {counters:?}");
                std::process::abort();
            }
        }
    });
    let elapsed = started.elapsed();

    // Drain what is left and check the invariants.
    let session = slot.get();
    let queue = session.clone().sync_queue();
    let mut backend = backend.into_inner().unwrap();
    if let Some(batch) = queue.next_batch(10_000).unwrap() {
        let receipt = backend.apply(batch.bytes);
        queue.acknowledge(receipt).unwrap();
    }
    assert_eq!(queue.pending_count().unwrap(), 0);
    let written = written.into_inner().unwrap();
    let total = writers * ops;
    assert_eq!(written.len() as u64, total, "every put returned once");
    let head = backend.applied.keys().next_back().copied().unwrap_or(0);
    assert_eq!(head, total, "no put was lost or invented");
    assert_eq!(backend.applied.len() as u64, head, "applied seqs are exactly 1..=head");
    for (seq, key, value) in &written {
        assert_eq!(backend.applied.get(seq), Some(&(key.clone(), Some(value.clone()))), "seq {seq}");
    }
    let mut replay: BTreeMap<&str, &Vec<u8>> = BTreeMap::new();
    for (key, value) in backend.applied.values() {
        replay.insert(key, value.as_ref().unwrap());
    }
    for (key, value) in &replay {
        assert_eq!(session.get(COLLECTION, key).unwrap().as_ref(), Some(*value), "{key}");
    }
    assert_eq!(session.keys(COLLECTION).unwrap().len(), replay.len());
    println!(
        "stress ({}): {writers} writers x {ops} puts = {} puts, {} SessionLocked retries, {} batches, {} acks, \
         {} lock/unlock cycles, {} status calls; {} ops in {:.1} s",
        if cfg!(debug_assertions) { "debug" } else { "release" },
        counters.puts.load(Ordering::Relaxed),
        counters.locked_retries.load(Ordering::Relaxed),
        counters.batches.load(Ordering::Relaxed),
        counters.acks.load(Ordering::Relaxed),
        counters.lock_cycles.load(Ordering::Relaxed),
        counters.status_calls.load(Ordering::Relaxed),
        counters.puts.load(Ordering::Relaxed)
            + counters.batches.load(Ordering::Relaxed)
            + counters.acks.load(Ordering::Relaxed)
            + counters.lock_cycles.load(Ordering::Relaxed) * 2
            + counters.status_calls.load(Ordering::Relaxed),
        elapsed.as_secs_f64()
    );
    assert_eq!(counters.lock_cycles.load(Ordering::Relaxed), cycles);
}
