//! One session shared by 8 threads that write and read
//! while another thread unlocks (right and wrong PINs) and locks its own
//! sessions, with a keystore whose every callback calls back into the vault
//! (`status()`) and into the shared session (`get`), as the
//! `PlatformKeystore` docs allow.
//!
//! Proves: no deadlock (a watchdog fails the test instead of hanging), no
//! lost or duplicated write (seqs are exactly 1..=N, every value reads back,
//! the queue holds N entries and the backend's `SyncVerifier` accepts all N
//! in order), and no read ever sees a value that was not written.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Barrier, OnceLock, Weak};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use offline_auth::{OfflineSession, PinVault, VaultError};
use offline_auth_backend::SyncCursor;

const WORKERS: usize = 8;
/// Each writer makes at least this many puts, and keeps going until the
/// unlocking thread is done, so the two really overlap ...
const PUTS_PER_WORKER: usize = 25;
/// ... but never more than this many.
const MAX_PUTS_PER_WORKER: usize = 500;
/// Each round is a PIN unlock (one PBKDF2); rounds 0 and 2 also try a wrong PIN.
const UNLOCK_ROUNDS: usize = 4;
/// Far above the few seconds the work takes: only a deadlock gets here.
const WATCHDOG: Duration = Duration::from_secs(120);

fn worker_key(worker: usize, i: usize) -> String {
    format!("w{worker}-{i:03}")
}

fn worker_value(worker: usize, i: usize) -> Vec<u8> {
    format!("worker {worker}, visit {i}: meter read").into_bytes()
}

/// One write as the app made it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Write {
    seq: u64,
    collection: &'static str,
    key: String,
    value: Vec<u8>,
}

/// Runs `work` on its own thread and waits at most [`WATCHDOG`] for it.
fn with_watchdog<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let result = work();
        done.send(result).ok();
    });
    match finished.recv_timeout(WATCHDOG) {
        Ok(result) => result,
        Err(RecvTimeoutError::Timeout) => panic!("deadlock: the threads made no progress in {WATCHDOG:?}"),
        Err(RecvTimeoutError::Disconnected) => panic!("a thread panicked (its message is printed above)"),
    }
}

/// Joins every handle, re-raising the first panic.
fn join_all<T>(handles: Vec<thread::JoinHandle<T>>) -> Vec<T> {
    handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
}

/// A writer: puts its own keys, reads each back at once, peeks at another
/// worker's keys (absent or exactly right) and lists the collection.
fn worker(session: &OfflineSession, me: usize, unlocks_done: &AtomicBool) -> Vec<Write> {
    let neighbour = (me + 1) % WORKERS;
    let mut writes = Vec::with_capacity(PUTS_PER_WORKER);
    for i in 0..MAX_PUTS_PER_WORKER {
        if i >= PUTS_PER_WORKER && unlocks_done.load(Ordering::SeqCst) {
            break;
        }
        let (key, value) = (worker_key(me, i), worker_value(me, i));
        let seq = session.put("visits", &key, value.clone()).unwrap();
        assert_eq!(session.get("visits", &key).unwrap(), Some(value.clone()), "read-your-write");
        writes.push(Write { seq, collection: "visits", key, value });

        let theirs = session.get("visits", &worker_key(neighbour, i)).unwrap();
        assert!(theirs.is_none() || theirs == Some(worker_value(neighbour, i)), "w{me} read {theirs:?}");
        if i % 5 == 4 {
            let listed = session.keys("visits").unwrap();
            for mine in &writes {
                assert!(listed.contains(&mine.key), "{} missing from keys()", mine.key);
            }
            for key in &listed {
                assert!(key.starts_with('w') && key.len() == 6, "keys() listed {key:?}");
            }
        }
    }
    writes
}

/// The other thread: unlocks with the PIN (after a wrong one, in some
/// rounds), writes through its own session, locks it, and checks it is locked.
fn unlocker(vault: &PinVault) -> Vec<Write> {
    let mut writes = Vec::new();
    for round in 0..UNLOCK_ROUNDS {
        if round % 2 == 0 {
            assert!(matches!(vault.unlock("730264".into()), Err(VaultError::WrongPin { .. })));
        }
        let session = vault.unlock(PIN.into()).unwrap();
        let (key, value) = (format!("unlock-{round}"), format!("written by unlock round {round}").into_bytes());
        let seq = session.put("notes", &key, value.clone()).unwrap();
        assert_eq!(session.get("notes", &key).unwrap(), Some(value.clone()));
        session.lock();
        assert_eq!(session.get("notes", &key), Err(VaultError::SessionLocked));
        assert_eq!(session.put("notes", "late", vec![1]), Err(VaultError::SessionLocked));
        writes.push(Write { seq, collection: "notes", key, value });
    }
    writes
}

/// Drains the queue batch by batch through the backend's verifier.
fn drain(session: &Arc<OfflineSession>, device: &Device) -> Vec<offline_auth_backend::SyncOperation> {
    let queue = session.clone().sync_queue();
    let verifier = device.backend.verifier();
    let mut cursor = SyncCursor::initial();
    let mut operations = Vec::new();
    while let Some(batch) = queue.next_batch(37).unwrap() {
        let verified = verifier.verify(&batch.bytes, &device.backend.sync_key, &cursor).unwrap();
        assert_eq!(verified.duplicates, 0);
        assert_eq!(verified.operations.len(), batch.entry_count as usize);
        operations.extend(verified.operations.iter().map(|op| op.to_owned_operation()));
        cursor = verified.cursor;
        queue.acknowledge(verified.receipt).unwrap();
    }
    assert_eq!(queue.pending_count().unwrap(), 0);
    operations
}

/// What the keystore callback saw.
#[derive(Default)]
struct CallbackLog {
    status_ok: AtomicU64,
    session_ok: AtomicU64,
    failures: AtomicU64,
}

#[test]
fn eight_threads_share_a_session_while_another_unlocks_and_locks() {
    let started = Instant::now();
    let (n, callbacks, unlock_seqs, last_visit) = with_watchdog(|| {
        let device = Device::new();
        let (vault, session) = device.enrolled();
        // Something for the keystore callback to read; worker 0 writes it again.
        let first_seq = session.put("visits", &worker_key(0, 0), worker_value(0, 0)).unwrap();
        let first = Write { seq: first_seq, collection: "visits", key: worker_key(0, 0), value: worker_value(0, 0) };

        // Every keystore call (each unlock makes several) calls back into the
        // vault and the shared session while the SDK is mid-unlock.
        let log = Arc::new(CallbackLog::default());
        let target: Arc<OnceLock<(Weak<PinVault>, Weak<OfflineSession>)>> = Arc::new(OnceLock::new());
        {
            let (log, target) = (log.clone(), target.clone());
            *device.keystore.on_call.lock().unwrap() = Some(Box::new(move || {
                let Some((vault, session)) = target.get() else { return };
                if let Some(vault) = vault.upgrade() {
                    match vault.status() {
                        Ok(status) if status.enrolled => log.status_ok.fetch_add(1, Ordering::SeqCst),
                        _ => log.failures.fetch_add(1, Ordering::SeqCst),
                    };
                }
                if let Some(session) = session.upgrade() {
                    match session.get("visits", "w0-000") {
                        Ok(Some(value)) if value == worker_value(0, 0) => log.session_ok.fetch_add(1, Ordering::SeqCst),
                        _ => log.failures.fetch_add(1, Ordering::SeqCst),
                    };
                }
            }));
        }
        target.set((Arc::downgrade(&vault), Arc::downgrade(&session))).ok().unwrap();

        let start = Arc::new(Barrier::new(WORKERS + 1));
        let unlocks_done = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..WORKERS)
            .map(|me| {
                let (session, start, done) = (session.clone(), start.clone(), unlocks_done.clone());
                thread::spawn(move || {
                    start.wait();
                    worker(&session, me, &done)
                })
            })
            .collect();
        let unlocking = {
            let (vault, start, done) = (vault.clone(), start.clone(), unlocks_done.clone());
            thread::spawn(move || {
                start.wait();
                let writes = unlocker(&vault);
                done.store(true, Ordering::SeqCst);
                writes
            })
        };
        let mut writes = vec![first];
        writes.extend(join_all(workers).into_iter().flatten());
        writes.extend(join_all(vec![unlocking]).into_iter().flatten());
        let n = writes.len();

        // No lost write, no duplicate seq: the seqs handed out are exactly 1..=n.
        let mut seqs: Vec<u64> = writes.iter().map(|w| w.seq).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=n as u64).collect::<Vec<_>>(), "every put got its own seq, without gaps");
        assert!(session.is_unlocked(), "the shared session survived the other thread's locks");
        for w in &writes {
            assert_eq!(session.get(w.collection, &w.key).unwrap().as_ref(), Some(&w.value), "{}", w.key);
        }
        let mut visit_keys: Vec<String> =
            writes.iter().filter(|w| w.collection == "visits").map(|w| w.key.clone()).collect();
        visit_keys.sort();
        visit_keys.dedup();
        assert_eq!(session.keys("visits").unwrap(), visit_keys);
        let notes: Vec<String> = (0..UNLOCK_ROUNDS).map(|r| format!("unlock-{r}")).collect();
        assert_eq!(session.keys("notes").unwrap(), notes);
        let queue = session.clone().sync_queue();
        assert_eq!(queue.pending_count().unwrap(), n as u64);
        assert_eq!(vault.status().unwrap().failed_attempts, 0);

        // The backend accepts the whole queue, in seq order, exactly once.
        let operations = drain(&session, &device);
        let op_seqs: Vec<u64> = operations.iter().map(|op| op.seq).collect();
        assert_eq!(op_seqs, (1..=n as u64).collect::<Vec<_>>(), "seqs 1..=N without gap, in order");
        let by_seq: BTreeMap<u64, &Write> = writes.iter().map(|w| (w.seq, w)).collect();
        for op in &operations {
            let w = by_seq[&op.seq];
            assert_eq!((op.collection.as_str(), &op.key, op.value.as_ref()), (w.collection, &w.key, Some(&w.value)));
        }
        let callbacks = (
            log.status_ok.load(Ordering::SeqCst),
            log.session_ok.load(Ordering::SeqCst),
            log.failures.load(Ordering::SeqCst),
        );
        let unlock_seqs: Vec<u64> = writes.iter().filter(|w| w.collection == "notes").map(|w| w.seq).collect();
        let last_visit = writes.iter().filter(|w| w.collection == "visits").map(|w| w.seq).max().unwrap();
        (n, callbacks, unlock_seqs, last_visit)
    });
    let (status_ok, session_ok, failures) = callbacks;
    println!(
        "{n} writes from {} threads (the unlocking thread's got seqs {unlock_seqs:?}); \
         keystore callbacks: {status_ok} status(), {session_ok} session.get(), {failures} failed; {:.1} s",
        WORKERS + 1,
        started.elapsed().as_secs_f64()
    );
    assert!(n > WORKERS * PUTS_PER_WORKER + UNLOCK_ROUNDS);
    assert!(
        unlock_seqs.iter().all(|seq| *seq < last_visit),
        "the writers were still writing while the other thread unlocked and locked"
    );
    assert_eq!(failures, 0, "every callback into the vault succeeded");
    // Each unlock unwraps, wraps and deletes at least once.
    assert!(status_ok >= 3 * UNLOCK_ROUNDS as u64, "{status_ok} callbacks");
    assert_eq!(status_ok, session_ok);
}

/// Threads read the real clock before they take the session's lock, so their
/// readings reach it out of order: that is not a clock going backwards.
#[test]
fn threads_racing_on_the_real_clock_never_see_a_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new();
    let vault = PinVault::open_with_clock(
        dir.path().join("vault.db").to_string_lossy().into_owned(),
        offline_auth::SoftwareKeystore::new(),
        offline_auth::SystemClock::new(),
        backend.config(),
    )
    .unwrap();
    let now = offline_auth::Clock::now_unix_secs(offline_auth::SystemClock::new().as_ref()).unwrap();
    let session = vault.enroll(PIN.into(), &backend.grant(now, 1), backend.sync_key.clone()).unwrap();
    let failures: u32 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|t| {
                let session = session.clone();
                scope.spawn(move || {
                    let mut failures = 0;
                    for i in 0..100 {
                        let outcome = if i % 2 == 0 {
                            session.put("visits", &format!("t{t}-{i}"), vec![1]).map(|_| ())
                        } else {
                            session.get("visits", &format!("t{t}-{}", i - 1)).map(|_| ())
                        };
                        if outcome.is_err() {
                            failures += 1;
                        }
                    }
                    failures
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert_eq!(failures, 0);
    assert!(session.get("visits", "t0-0").is_ok());
}
