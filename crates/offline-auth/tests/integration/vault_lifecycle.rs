//! PIN vault lifecycle: enrol, unlock, reopen, attempt limits, stolen files,
//! PIN change and PIN policy.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::sync::atomic::Ordering;

use common::*;
use offline_auth::{PinVault, SoftwareKeystore, VaultError};
use offline_auth_backend::SyncCursor;

fn record_bodies(device: &Device) -> Vec<(Vec<u8>, Vec<u8>)> {
    let conn = rusqlite::Connection::open(device.path()).unwrap();
    let mut stmt = conn.prepare("SELECT location, body FROM records ORDER BY location").unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

/// Test 1: enrol → unlock → put/get → lock → reopen the file → unlock → data intact.
#[test]
fn enrol_unlock_lock_reopen_keeps_data() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    assert!(vault.is_enrolled().unwrap());
    assert_eq!(session.user_id().unwrap(), USER);
    assert_eq!(session.scopes().unwrap(), ["visits", "notes"]);
    session.put("visits", "v1", b"pump station 4: ok".to_vec()).unwrap();
    session.put("notes", "n1", vec![]).unwrap();
    session.lock();
    assert_eq!(session.get("visits", "v1"), Err(VaultError::SessionLocked));
    assert!(!session.is_unlocked());

    let session = vault.unlock(PIN.into()).unwrap();
    assert_eq!(session.get("visits", "v1").unwrap().unwrap(), b"pump station 4: ok");
    session.lock();
    drop((session, vault));

    let vault = device.open();
    assert!(vault.is_enrolled().unwrap());
    let session = vault.unlock(PIN.into()).unwrap();
    assert_eq!(session.get("visits", "v1").unwrap().unwrap(), b"pump station 4: ok");
    assert_eq!(session.get("notes", "n1").unwrap().unwrap(), b"");
    assert_eq!(session.get("visits", "missing").unwrap(), None);
    assert_eq!(session.keys("visits").unwrap(), ["v1"]);
    assert_eq!(vault.status().unwrap().pending_entries, 2);
}

#[test]
fn enrol_twice_is_refused_and_idle_sessions_lock() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    let again = vault.enroll("730264".into(), &device.backend.grant(T0, 7), device.backend.sync_key.clone());
    assert_eq!(again.err(), Some(VaultError::AlreadyEnrolled));
    device.clock.advance(301);
    assert_eq!(session.get("visits", "v1"), Err(VaultError::SessionLocked));
}

/// Test 2: wrong PINs count down, survive reopening and a failure between
/// count and check, back off, and wipe at the limit; a copy of the file
/// taken before the wipe is useless afterwards.
#[test]
fn wrong_pins_count_down_back_off_and_wipe() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.put("visits", "v1", b"secret visit".to_vec()).unwrap();
    drop(session);

    for remaining in [9, 8, 7] {
        assert_eq!(vault.unlock("000001".into()).err(), Some(VaultError::WrongPin { attempts_remaining: remaining }));
    }
    // The count is durable: a new handle on the file sees it.
    drop(vault);
    let vault = device.open();
    assert_eq!(vault.status().unwrap().failed_attempts, 3);

    // The attempt is stored before the PIN is judged: a keystore failure
    // after the count (as if the process died there) still leaves it counted.
    device.keystore.fail_delete.store(true, Ordering::SeqCst);
    assert!(matches!(vault.unlock(PIN.into()), Err(VaultError::Keystore { .. })));
    device.keystore.fail_delete.store(false, Ordering::SeqCst);
    drop(vault);
    let vault = device.open();
    let status = vault.status().unwrap();
    assert_eq!(status.failed_attempts, 4);
    assert_eq!(status.attempts_remaining, 6);

    // Four failures: back off 30 s, told both by status and the error.
    assert_eq!(status.retry_after_secs, 30);
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::LockedOut { retry_after_secs: 30 }));
    device.clock.advance(10);
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::LockedOut { retry_after_secs: 20 }));
    assert_eq!(vault.status().unwrap().failed_attempts, 4, "a refused attempt is not counted");

    // Keep a byte-for-byte copy of the database as it is now (closed, so
    // SQLite has checkpointed its write-ahead log into the file).
    drop(vault);
    assert!(!device.dir.path().join("vault.db-wal").exists());
    let copy = std::fs::read(device.path()).unwrap();
    let vault = device.open();

    for remaining in (1..=5).rev() {
        device.clock.advance(3600);
        assert_eq!(vault.unlock("000001".into()).err(), Some(VaultError::WrongPin { attempts_remaining: remaining }));
    }
    assert_eq!(vault.status().unwrap().pending_entries, 1, "apps can warn: unsynced edits exist");
    device.clock.advance(3600);
    assert_eq!(vault.unlock("000001".into()).err(), Some(VaultError::Wiped));
    assert_eq!(device.keystore.inner.key_count(), 0, "the keystore keys are deleted");
    let status = vault.status().unwrap();
    assert!(status.wiped && !status.enrolled);
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::Wiped));
    drop(vault);

    // The old copy names keystore keys that no longer exist: the device key is lost for it.
    assert!(!device.dir.path().join("vault.db-wal").exists());
    std::fs::write(device.path(), copy).unwrap();
    let vault = device.open();
    assert!(vault.is_enrolled().unwrap());
    device.clock.advance(3600);
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::DeviceKeyLost));
}

#[test]
fn a_right_pin_resets_the_count() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.lock();
    vault.unlock("000001".into()).unwrap_err();
    vault.unlock(PIN.into()).unwrap();
    assert_eq!(vault.status().unwrap().failed_attempts, 0);
    assert_eq!(vault.unlock("000001".into()).err(), Some(VaultError::WrongPin { attempts_remaining: 9 }));
}

#[test]
fn wipe_deletes_keys_and_ends_sessions() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.enable_biometrics().unwrap();
    assert_eq!(device.keystore.inner.key_count(), 2);
    vault.wipe().unwrap();
    assert_eq!(device.keystore.inner.key_count(), 0);
    assert_eq!(session.get("visits", "v1"), Err(VaultError::Wiped));
    assert_eq!(session.get("visits", "v1"), Err(VaultError::SessionLocked));
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::Wiped));
    // A new online enrolment brings the vault back.
    let session = vault.enroll(PIN.into(), &device.backend.grant(T0, 7), device.backend.sync_key.clone()).unwrap();
    assert_eq!(session.keys("visits").unwrap(), Vec::<String>::new());
    assert!(!vault.status().unwrap().wiped);
}

/// Test 3: the files on another device (another keystore) give nothing.
#[test]
fn stolen_files_reveal_nothing_without_the_keystore() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.put("visits", "site-alpha", b"gate code 7731".to_vec()).unwrap();
    session.lock();
    drop((session, vault));

    let bytes = std::fs::read(device.path()).unwrap();
    for needle in [&b"gate code 7731"[..], b"site-alpha", b"visits", PIN.as_bytes(), USER.as_bytes()] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{:?} is in the file",
            String::from_utf8_lossy(needle)
        );
    }

    let thief = tempfile::tempdir().unwrap();
    let stolen = thief.path().join("vault.db");
    std::fs::write(&stolen, &bytes).unwrap();
    let other_device = SoftwareKeystore::new();
    let vault = PinVault::open_with_clock(
        stolen.to_string_lossy().into_owned(),
        other_device.clone(),
        device.clock.clone(),
        device.backend.config(),
    )
    .unwrap();
    let error = vault.unlock(PIN.into()).unwrap_err();
    assert_eq!(error, VaultError::DeviceKeyLost, "another device's keystore has no key for this file");
    let shown = format!("{error:?} {error}");
    assert!(!shown.contains("7731") && !shown.contains(PIN) && !shown.contains("site-alpha"), "{shown}");
    assert_eq!(other_device.key_count(), 0);
}

/// Test 4: changing the PIN re-wraps the vault key only.
#[test]
fn change_pin_rewraps_without_reencrypting() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.put("visits", "v1", b"one".to_vec()).unwrap();
    session.put("notes", "n1", b"two".to_vec()).unwrap();
    session.lock();
    let before = record_bodies(&device);

    assert!(matches!(vault.change_pin(PIN.into(), "111111".into()), Err(VaultError::WeakPin { .. })));
    assert_eq!(vault.status().unwrap().failed_attempts, 0, "a weak new PIN costs no attempt");
    assert_eq!(
        vault.change_pin("000001".into(), "730264".into()).err(),
        Some(VaultError::WrongPin { attempts_remaining: 9 })
    );
    vault.change_pin(PIN.into(), "730264".into()).unwrap();

    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::WrongPin { attempts_remaining: 9 }));
    let session = vault.unlock("730264".into()).unwrap();
    assert_eq!(session.get("visits", "v1").unwrap().unwrap(), b"one");
    assert_eq!(record_bodies(&device), before, "record ciphertexts are untouched");
}

/// Test 11: the PIN policy refuses short and trivial PINs.
#[test]
fn weak_pins_are_refused_at_enrolment() {
    let device = Device::new();
    let vault = device.open();
    for pin in ["12345", "000000", "111111", "121212", "123456", "654321", "890123", "147258", "112233", "2580"] {
        let result = vault.enroll(pin.into(), &device.backend.grant(T0, 7), device.backend.sync_key.clone());
        match result {
            Err(VaultError::WeakPin { reason }) => assert!(!reason.contains(pin), "{reason}"),
            other => panic!("{pin}: {other:?}"),
        }
        assert!(!vault.is_enrolled().unwrap());
    }
    assert_eq!(device.keystore.inner.key_count(), 0, "no key is made for a refused PIN");
    vault.enroll("730264".into(), &device.backend.grant(T0, 7), device.backend.sync_key.clone()).unwrap();
}

#[test]
fn an_edited_attempt_counter_is_tampered_not_a_wipe_or_lockout() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    drop(session);
    let conn = rusqlite::Connection::open(device.path()).unwrap();
    for value in [10, 4] {
        conn.execute("UPDATE vault SET failed_attempts = ?1, last_failure_at = ?2", [value, T0]).unwrap();
        assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::Tampered), "counter set to {value}");
        assert!(vault.is_enrolled().unwrap());
    }
    conn.execute("UPDATE vault SET failed_attempts = 0, last_failure_at = 0", []).unwrap();
    vault.unlock(PIN.into()).unwrap();
}

/// A keystore that dies (panics) right after creating a key, as a process
/// killed between the keystore call and the database commit would.
struct DiesAfterWrap {
    inner: std::sync::Arc<SoftwareKeystore>,
    die: std::sync::atomic::AtomicBool,
}

impl offline_auth::PlatformKeystore for DiesAfterWrap {
    fn wrap(
        &self,
        alias: String,
        protection: offline_auth::KeyProtection,
        plaintext: Vec<u8>,
    ) -> Result<Vec<u8>, offline_auth::KeystoreError> {
        let wrapped = self.inner.wrap(alias, protection, plaintext);
        if self.die.swap(false, Ordering::SeqCst) {
            panic!("killed after the keystore created the key");
        }
        wrapped
    }
    fn unwrap(
        &self,
        alias: String,
        protection: offline_auth::KeyProtection,
        wrapped: Vec<u8>,
    ) -> Result<Vec<u8>, offline_auth::KeystoreError> {
        self.inner.unwrap(alias, protection, wrapped)
    }
    fn delete_key(&self, alias: String) -> Result<(), offline_auth::KeystoreError> {
        self.inner.delete_key(alias)
    }
}

#[test]
fn a_key_created_just_before_a_crash_is_not_left_behind() {
    let device = Device::new();
    let keystore = std::sync::Arc::new(DiesAfterWrap {
        inner: SoftwareKeystore::new(),
        die: std::sync::atomic::AtomicBool::new(false),
    });
    let open = || {
        PinVault::open_with_clock(device.path_str(), keystore.clone(), device.clock.clone(), device.backend.config())
    };
    let vault = open().unwrap();
    vault
        .enroll(PIN.into(), &device.backend.grant(T0, 7), device.backend.sync_key.clone())
        .unwrap()
        .enable_biometrics()
        .unwrap();
    assert_eq!(keystore.inner.key_count(), 2);

    for attempt in ["unlock", "enable_biometrics"] {
        keystore.die.store(attempt == "unlock", Ordering::SeqCst);
        let vault = open().unwrap();
        let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let session = vault.unlock(PIN.into()).unwrap();
            keystore.die.store(true, Ordering::SeqCst);
            session.enable_biometrics().unwrap();
        }));
        assert!(died.is_err(), "{attempt}: the keystore should have died");
        drop(vault);
        // The next start cleans up: one device key and one biometric key remain.
        let vault = open().unwrap();
        vault.unlock(PIN.into()).unwrap();
        assert_eq!(keystore.inner.key_count(), 2, "{attempt}: an orphaned key was left behind");
    }
}

/// Every 16-byte window of `needle` that occurs in `haystack`.
fn remnants(haystack: &[u8], needle: &[u8]) -> usize {
    needle.windows(16).step_by(16).filter(|w| haystack.windows(16).any(|h| h == *w)).count()
}

#[test]
fn a_wipe_leaves_no_sealed_row_in_the_database_or_its_log() {
    use rusqlite::Connection;
    let device = Device::new();
    let (vault, session) = device.enrolled();
    for i in 0..20 {
        session.put("visits", &format!("v{i}"), vec![i; 300]).unwrap();
    }
    // Everything sealed that the vault stored: wraps, state, records, queue.
    let sealed: Vec<Vec<u8>> = {
        let db = Connection::open(device.path()).unwrap();
        let mut blobs: Vec<Vec<u8>> = db
            .query_row("SELECT device_wrap, pin_wrap, state FROM vault", [], |r| {
                Ok(vec![r.get(0)?, r.get(1)?, r.get(2)?])
            })
            .unwrap();
        for table in ["records", "queue"] {
            let mut stmt = db.prepare(&format!("SELECT body FROM {table}")).unwrap();
            blobs.extend(stmt.query_map([], |r| r.get::<_, Vec<u8>>(0)).unwrap().map(Result::unwrap));
        }
        blobs
    };
    assert!(sealed.len() > 40);
    vault.wipe().unwrap();
    let mut found = 0;
    for suffix in ["", "-wal", "-shm"] {
        let bytes = std::fs::read(format!("{}{suffix}", device.path_str())).unwrap_or_default();
        found += sealed.iter().map(|blob| remnants(&bytes, blob)).sum::<usize>();
    }
    println!("after a wipe: {found} sealed 16-byte blocks left in the database, -wal and -shm files");
    assert_eq!(found, 0);
    assert!(!device.open().is_enrolled().unwrap());
}

#[test]
fn status_counts_only_the_pending_entries_the_sealed_state_names() {
    use rusqlite::Connection;
    let device = Device::new();
    let (vault, session) = device.enrolled();
    for i in 0..3 {
        session.put("visits", &format!("v{i}"), b"x".to_vec()).unwrap();
    }
    let queue = session.clone().sync_queue();
    let acked: Vec<(i64, Vec<u8>)> = {
        let db = Connection::open(device.path()).unwrap();
        let mut stmt = db.prepare("SELECT seq, body FROM queue WHERE seq <= 2").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    let batch = queue.next_batch(2).unwrap().unwrap();
    let verified = device.backend.verifier().verify(&batch.bytes, &device.backend.sync_key, &SyncCursor::initial());
    queue.acknowledge(verified.unwrap().receipt).unwrap();
    assert_eq!((queue.pending_count().unwrap(), vault.status().unwrap().pending_entries), (1, 1));
    // The acknowledged rows written back, and a foreign row added.
    let db = Connection::open(device.path()).unwrap();
    for (seq, body) in &acked {
        db.execute("INSERT INTO queue (seq, body) VALUES (?1, ?2)", (seq, body)).unwrap();
    }
    db.execute("INSERT INTO queue (seq, body) VALUES (99, x'00')", []).unwrap();
    assert_eq!(queue.pending_count().unwrap(), 1);
    assert_eq!(vault.status().unwrap().pending_entries, 1);
}
