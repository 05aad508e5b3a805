//! Several handles, threads and processes on one vault file never lose the
//! vault: key rotations and key purges are serialised across all of them.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

mod common;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};
use std::thread;

use common::*;
use offline_auth::VaultError;

/// Outcomes a racing unlock may have besides success: none lose the vault.
fn acceptable(outcome: &Result<(), VaultError>) -> bool {
    match outcome {
        Ok(()) => true,
        // Another handle's attempt won the race for this row: try again.
        Err(VaultError::InvalidInput { reason }) => reason.contains("changed during the attempt"),
        Err(VaultError::WrongPin { .. } | VaultError::LockedOut { .. }) => true,
        Err(_) => false,
    }
}

#[test]
fn many_handles_and_threads_with_a_slow_keystore_never_brick_the_vault() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.put("visits", "v1", b"kept".to_vec()).unwrap();
    session.enable_biometrics().unwrap();
    session.lock();
    drop(vault);
    device.keystore.max_wrap_delay_ms.store(5, Ordering::SeqCst);
    let (trials, handles, threads_per_handle) = (200, 3, 2);
    let mut bricked = 0;
    for trial in 0..trials {
        let vaults: Vec<_> = (0..handles).map(|_| device.open()).collect();
        let barrier = Arc::new(Barrier::new(handles * threads_per_handle));
        let workers: Vec<_> = (0..handles * threads_per_handle)
            .map(|i| {
                let (vault, barrier) = (vaults[i % handles].clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    // One PIN attempt per trial (PBKDF2 is slow); biometric
                    // unlocks and locks rotate the device key too.
                    let outcome = if i == 0 && trial % 4 == 0 {
                        vault.unlock(PIN.into()).map(|s| s.lock())
                    } else {
                        vault.unlock_with_biometrics().map(|s| s.lock())
                    };
                    assert!(acceptable(&outcome), "trial {trial}, worker {i}: {outcome:?}");
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        let check = device.open().unlock_with_biometrics().and_then(|s| s.get("visits", "v1"));
        if check != Ok(Some(b"kept".to_vec())) {
            bricked += 1;
            println!("trial {trial}: {check:?}");
        }
    }
    println!("{trials} trials of {handles} handles x {threads_per_handle} threads: {bricked} bricked vaults");
    assert_eq!(bricked, 0);
    assert_eq!(device.open().unlock(PIN.into()).unwrap().get("visits", "v1").unwrap().unwrap(), b"kept");
}

#[test]
fn the_attempt_limit_holds_across_racing_handles() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.lock();
    drop(vault);
    device.keystore.max_wrap_delay_ms.store(5, Ordering::SeqCst);
    let handles: Vec<_> = (0..3).map(|_| device.open()).collect();
    let barrier = Arc::new(Barrier::new(3));
    // Three handles guess at once, in rounds, until the vault stops answering.
    let workers: Vec<_> = handles
        .iter()
        .map(|vault| {
            let (vault, barrier, clock) = (vault.clone(), barrier.clone(), device.clock.clone());
            thread::spawn(move || {
                let mut wrong = 0;
                for _ in 0..6 {
                    barrier.wait();
                    match vault.unlock("000000".into()) {
                        Err(VaultError::WrongPin { .. }) => wrong += 1,
                        // The limit was reached (by this attempt or an earlier one).
                        Err(VaultError::Wiped) => {}
                        Err(VaultError::LockedOut { retry_after_secs }) => clock.advance(retry_after_secs as i64),
                        Err(VaultError::NotEnrolled) | Err(VaultError::InvalidInput { .. }) => {}
                        other => panic!("{other:?}"),
                    }
                }
                wrong
            })
        })
        .collect();
    let answered: u32 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    // Nine wrong PINs are answered `WrongPin`; the tenth wipes the vault.
    let status = device.open().status().unwrap();
    println!("racing handles: {answered} wrong PINs answered before the limit of 10, then {status:?}");
    assert!(answered <= 9);
    assert!(status.wiped || status.failed_attempts == answered);
}

// ---------------------------------------------------------------------------
// Several processes on one file.

/// A keystore shared by processes, as the platform's is: keys live in a JSON
/// file (alias → key), read and rewritten under an exclusive file lock on
/// every call. Key creation is slow on purpose (the window in which a
/// careless purge by another process would delete a key not yet recorded).
struct SharedFileKeystore {
    path: std::path::PathBuf,
}

impl SharedFileKeystore {
    fn with_keys<T>(&self, f: impl FnOnce(&mut std::collections::BTreeMap<String, String>) -> T) -> T {
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path.with_extension("lock"))
            .unwrap();
        lock.lock().unwrap();
        let mut keys = std::fs::read(&self.path).map(|b| serde_json::from_slice(&b).unwrap()).unwrap_or_default();
        let out = f(&mut keys);
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(&keys).unwrap()).unwrap();
        std::fs::rename(&tmp, &self.path).unwrap();
        lock.unlock().unwrap();
        out
    }
}

impl offline_auth::PlatformKeystore for SharedFileKeystore {
    fn wrap(
        &self,
        alias: String,
        _: offline_auth::KeyProtection,
        plaintext: Vec<u8>,
    ) -> Result<Vec<u8>, offline_auth::KeystoreError> {
        let key = self.with_keys(|keys| {
            keys.entry(alias.clone())
                .or_insert_with(|| {
                    let mut key = [0u8; 32];
                    getrandom::fill(&mut key).unwrap();
                    hex::encode(key)
                })
                .clone()
        });
        // The key exists; the caller has not recorded its alias yet.
        thread::sleep(std::time::Duration::from_millis(3));
        let key = hex::decode(key).unwrap();
        Ok(plaintext.iter().zip(key.iter().cycle()).map(|(p, k)| p ^ k).collect())
    }
    fn unwrap(
        &self,
        alias: String,
        _: offline_auth::KeyProtection,
        wrapped: Vec<u8>,
    ) -> Result<Vec<u8>, offline_auth::KeystoreError> {
        let key = self.with_keys(|keys| keys.get(&alias).cloned()).ok_or(offline_auth::KeystoreError::KeyNotFound)?;
        let key = hex::decode(key).unwrap();
        Ok(wrapped.iter().zip(key.iter().cycle()).map(|(p, k)| p ^ k).collect())
    }
    fn delete_key(&self, alias: String) -> Result<(), offline_auth::KeystoreError> {
        self.with_keys(|keys| keys.remove(&alias));
        Ok(())
    }
}

const CHILD_ENV: &str = "OFFLINE_AUTH_HANDLES_CHILD";

fn open_shared(dir: &std::path::Path) -> Arc<offline_auth::PinVault> {
    let keystore = Arc::new(SharedFileKeystore { path: dir.join("keystore.json") });
    offline_auth::PinVault::open_with_clock(
        dir.join("vault.db").to_string_lossy().into_owned(),
        keystore,
        TestClock::new(T0),
        Backend::fixed().config(),
    )
    .unwrap()
}

/// Run by the parent in several processes at once: unlock and lock in a loop.
#[test]
#[ignore = "run as a child process by several_processes_on_one_file_never_brick_the_vault"]
fn handles_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let vault = open_shared(std::path::Path::new(&dir));
    for _ in 0..40 {
        match vault.unlock_with_biometrics() {
            Ok(session) => {
                assert_eq!(session.get("visits", "v1").unwrap().unwrap(), b"kept");
                session.lock();
            }
            Err(other) => panic!("{other:?}"),
        }
    }
}

#[test]
fn several_processes_on_one_file_never_brick_the_vault() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::fixed();
    {
        let vault = open_shared(dir.path());
        let session = vault.enroll(PIN.into(), &backend.grant(T0, 7), backend.sync_key.clone()).unwrap();
        session.put("visits", "v1", b"kept".to_vec()).unwrap();
        session.enable_biometrics().unwrap();
        session.lock();
    }
    // Four processes at once, each with its own handle.
    let running: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--ignored", "--exact", "handles_child"])
                .env(CHILD_ENV, dir.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let failed = running
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .filter(|out| !out.status.success())
        .inspect(|out| println!("{}", String::from_utf8_lossy(&out.stdout)))
        .count();
    let vault = open_shared(dir.path());
    let intact = vault.unlock(PIN.into()).and_then(|s| s.get("visits", "v1"));
    println!("4 processes x 40 biometric unlocks and locks: {failed} failed, vault intact: {}", intact.is_ok());
    assert_eq!(failed, 0);
    assert_eq!(intact, Ok(Some(b"kept".to_vec())));
}
