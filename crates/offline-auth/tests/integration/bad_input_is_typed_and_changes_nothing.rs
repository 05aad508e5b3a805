//! Every public call that gets bad input returns a typed error (`VaultError`
//! on the device, `BackendError` on the backend) and leaves stored data exactly as it was.
//!
//! "Exactly as it was" is checked by reading every table through a separate
//! `rusqlite` connection (and the keystore's key count) before and after,
//! or, for files the SDK must not touch at all, by comparing the bytes of
//! every file in the directory. The last test collects the errors of all
//! these paths and checks that none shows the PIN or a record's plaintext.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::*;
use offline_auth::{
    IssuerKey, OfflineSession, PinVault, VaultConfig, VaultError, MAX_BATCH_BYTES, MAX_COLLECTION_LEN, MAX_KEY_LEN,
    MAX_VALUE_LEN,
};
use offline_auth_backend::{BackendError, GrantIssuer, RejectReason, SyncCursor, SyncVerifier};
use rusqlite::types::Value;
use rusqlite::Connection;

/// A record value that must never show up in an error.
const SECRET_VALUE: &[u8] = b"PLAINTEXT: patient 4411 allergic to penicillin";
/// A wrong PIN the tests type; must never show up in an error either.
const WRONG_PIN: &str = "730264";

/// Every row of every table, read through a connection of our own, plus the
/// number of keys in the keystore.
#[derive(Debug, PartialEq)]
struct Stored {
    tables: Vec<(String, Vec<Vec<Value>>)>,
    keystore_keys: u64,
}

fn stored(device: &Device) -> Stored {
    let tables = all_rows(&device.path());
    assert!(
        tables.len() >= 5,
        "the vault's tables exist: {:?}",
        tables.iter().map(|(name, _)| name).collect::<Vec<_>>()
    );
    Stored { tables, keystore_keys: device.keystore.inner.key_count() }
}

/// Name → bytes of every file in `dir`.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (entry.file_name().to_string_lossy().into_owned(), std::fs::read(entry.path()).unwrap())
        })
        .collect()
}

fn is_invalid_input<T: std::fmt::Debug>(result: Result<T, VaultError>, what: &str) {
    assert!(matches!(result, Err(VaultError::InvalidInput { .. })), "{what}: {result:?}");
}

fn is_backend_invalid_input<T: std::fmt::Debug>(result: Result<T, BackendError>, what: &str) {
    assert!(matches!(result, Err(BackendError::InvalidInput { .. })), "{what}: {result:?}");
}

fn is_storage<T: std::fmt::Debug>(result: Result<T, VaultError>, what: &str) -> String {
    match result {
        Err(VaultError::Storage { reason }) => reason,
        other => panic!("{what}: expected a Storage error, got {other:?}"),
    }
}

/// An enrolled device holding one record.
fn enrolled_with_data() -> (Device, Arc<PinVault>, Arc<OfflineSession>) {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.put("visits", "v1", SECRET_VALUE.to_vec()).unwrap();
    (device, vault, session)
}

/// Empty and oversized collections, keys and values, collections outside
/// the grant, and impossible queue requests: `InvalidInput`, nothing stored,
/// nothing queued. The limits are exactly the exported constants.
#[test]
fn bad_names_values_and_queue_requests_are_invalid_input_and_change_nothing() {
    let (device, _vault, session) = enrolled_with_data();
    let before = stored(&device);
    let long_collection = "c".repeat(MAX_COLLECTION_LEN + 1);
    let long_key = "k".repeat(MAX_KEY_LEN + 1);
    // 65 two-byte characters: 130 bytes, over the 128-byte limit.
    let wide_collection = "é".repeat(MAX_COLLECTION_LEN / 2 + 1);
    let bad_names = [
        (String::new(), "v1".to_string()),
        (long_collection.clone(), "v1".into()),
        (wide_collection, "v1".into()),
        ("visits".into(), String::new()),
        ("visits".into(), long_key),
    ];
    for (collection, key) in &bad_names {
        let what = format!("({} bytes, {} bytes)", collection.len(), key.len());
        is_invalid_input(session.get(collection, key), &format!("get {what}"));
        is_invalid_input(session.put(collection, key, b"x".to_vec()), &format!("put {what}"));
        is_invalid_input(session.delete(collection, key), &format!("delete {what}"));
    }
    for collection in [String::new(), long_collection] {
        is_invalid_input(session.keys(&collection), &format!("keys of {} bytes", collection.len()));
    }
    let oversized: Vec<u8> = SECRET_VALUE.iter().copied().cycle().take(MAX_VALUE_LEN + 1).collect();
    is_invalid_input(session.put("visits", "v2", oversized), "value one byte over the limit");
    is_invalid_input(session.put("payroll", "p1", b"x".to_vec()), "collection outside the grant");
    is_invalid_input(session.delete("payroll", "p1"), "delete outside the grant");
    let queue = session.clone().sync_queue();
    is_invalid_input(queue.next_batch(0), "a batch of zero entries");
    let forged = queue.acknowledge(b"OASR not a receipt from the backend".to_vec());
    assert!(matches!(forged, Err(VaultError::ReceiptInvalid { .. })), "{forged:?}");

    assert_eq!(stored(&device), before, "no bad call changed the database or the keystore");
    assert!(session.is_unlocked());
    assert_eq!(queue.pending_count().unwrap(), 1);
    assert_eq!(session.get("visits", "v1").unwrap().unwrap(), SECRET_VALUE);

    // Exactly at the limits is fine.
    let key = "k".repeat(MAX_KEY_LEN);
    let value = vec![7; MAX_VALUE_LEN];
    assert_eq!(session.put("visits", &key, value.clone()).unwrap(), 2);
    assert_eq!(session.get("visits", &key).unwrap(), Some(value));
    assert_eq!(session.get(&"c".repeat(MAX_COLLECTION_LEN), "k").unwrap(), None);
    assert_eq!(session.keys(&"c".repeat(MAX_COLLECTION_LEN)).unwrap(), Vec::<String>::new());
}

/// Malformed grants at enrolment: `GrantInvalid`, and the vault stays empty —
/// no row, no keystore key, no attempt — until a good grant arrives.
#[test]
fn malformed_grants_are_refused_at_enrolment_and_nothing_is_stored() {
    let device = Device::new();
    let vault = device.open();
    let before = stored(&device);
    let good = device.backend.grant(T0, 7);
    let parts: Vec<&str> = good.split('.').collect();
    assert_eq!(parts.len(), 3);
    let other_issuer = GrantIssuer::generate("k1").unwrap();
    let forged = other_issuer.issue(USER, DEVICE, &["visits".to_owned()], T0, T0 + DAY).unwrap();
    let cases = [
        String::new(),
        "garbage".into(),
        "..".into(),
        good[..good.len() - 1].to_string(),
        format!("{good}x"),
        format!("{good}.x"),
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.{}.{}", parts[0], parts[1], forged.rsplit('.').next().unwrap()),
        format!("{}.e30.{}", parts[0], parts[2]),
        forged,
        good.replace('.', "\u{0}."),
        "ü.ü.ü".into(),
        "a".repeat(100_000),
    ];
    for grant in cases {
        let shown: String = grant.chars().take(30).collect();
        let result = vault.enroll(PIN.into(), &grant, device.backend.sync_key.clone());
        assert!(matches!(result, Err(VaultError::GrantInvalid { .. })), "{shown:?}: {result:?}");
        assert!(!vault.is_enrolled().unwrap());
        assert_eq!(stored(&device), before, "{shown:?} left something behind");
    }
    assert_eq!(device.keystore.calls.load(Ordering::SeqCst), 0, "a bad grant never reaches the keystore");
    vault.enroll(PIN.into(), &good, device.backend.sync_key.clone()).unwrap();
}

/// Sync keys that are not 32 bytes: `InvalidInput` at enrolment (nothing
/// stored) and at the backend's verifier, as are cursors with a bad MAC.
#[test]
fn wrong_length_sync_keys_are_invalid_input() {
    let device = Device::new();
    let vault = device.open();
    let before = stored(&device);
    for len in [0, 16, 31, 33, 64] {
        let result = vault.enroll(PIN.into(), &device.backend.grant(T0, 7), vec![0x5a; len]);
        is_invalid_input(result, &format!("{len}-byte sync key"));
        assert_eq!(stored(&device), before);
    }
    let session = vault.enroll(PIN.into(), &device.backend.grant(T0, 7), device.backend.sync_key.clone()).unwrap();
    session.put("visits", "v1", SECRET_VALUE.to_vec()).unwrap();
    let batch = session.clone().sync_queue().next_batch(10).unwrap().unwrap();
    let verifier = device.backend.verifier();
    for len in [0, 31, 33] {
        let result = verifier.verify(&batch.bytes, &vec![0x5a; len], &SyncCursor::initial());
        is_backend_invalid_input(result, &format!("verifier with a {len}-byte sync key"));
    }
    for len in [0, 31, 33] {
        let cursor = SyncCursor { last_seq: 0, last_mac: vec![0; len] };
        let result = verifier.verify(&batch.bytes, &device.backend.sync_key, &cursor);
        is_backend_invalid_input(result, &format!("cursor with a {len}-byte MAC"));
    }
    let verified = verifier.verify(&batch.bytes, &device.backend.sync_key, &SyncCursor::initial()).unwrap();
    assert_eq!(verified.operations.len(), 1);
}

/// Bad configuration — issuer keys of the wrong length or weak, no or
/// duplicate issuers, PBKDF2 below 600 000, other out-of-range values — is
/// `InvalidInput` before the database is opened: an existing vault file is
/// byte-for-byte unchanged and no new file is created. The backend's
/// constructors refuse wrong-length keys too.
#[test]
fn bad_configuration_and_backend_keys_are_invalid_input_before_any_file_is_touched() {
    let (device, vault, session) = enrolled_with_data();
    drop((vault, session));
    let good = device.backend.config();
    let key = device.backend.issuer.issuer_key();
    let with_keys = |keys: Vec<IssuerKey>| VaultConfig::new(good.device_id.clone(), keys);
    let public = |bytes: Vec<u8>| IssuerKey { kid: "k1".into(), public_key: bytes };
    let mut identity = vec![0; 32];
    identity[0] = 1;
    let cases = [
        ("31-byte issuer key", with_keys(vec![public(key.public_key[..31].to_vec())])),
        ("33-byte issuer key", with_keys(vec![public([key.public_key.clone(), vec![0]].concat())])),
        ("empty issuer key", with_keys(vec![public(vec![])])),
        ("weak (identity) issuer key", with_keys(vec![public(identity)])),
        ("no issuer keys", with_keys(vec![])),
        ("duplicate kid", with_keys(vec![key.clone(), key.clone()])),
        ("empty kid", with_keys(vec![IssuerKey { kid: String::new(), ..key.clone() }])),
        ("pbkdf2 599 999", good.clone().with_pbkdf2_iterations(599_999)),
        ("pbkdf2 0", good.clone().with_pbkdf2_iterations(0)),
        ("pbkdf2 u32::MAX", good.clone().with_pbkdf2_iterations(u32::MAX)),
        ("0 attempts", good.clone().with_max_failed_attempts(0)),
        ("101 attempts", good.clone().with_max_failed_attempts(101)),
        ("3-digit PINs", good.clone().with_min_pin_length(3)),
        ("no idle timeout", good.clone().with_idle_timeout_secs(0)),
        ("empty device id", VaultConfig::new(String::new(), good.issuer_keys.clone())),
        ("oversized device id", VaultConfig::new("d".repeat(257), good.issuer_keys.clone())),
    ];
    let before = files(device.dir.path());
    let fresh = device.dir.path().join("fresh.db").to_string_lossy().into_owned();
    for (what, config) in cases {
        is_invalid_input(device.open_with(config.clone()), what);
        let opened = PinVault::open_with_clock(fresh.clone(), device.keystore.clone(), device.clock.clone(), config);
        is_invalid_input(opened, what);
        assert_eq!(files(device.dir.path()), before, "{what} touched the directory");
    }
    is_invalid_input(
        PinVault::open_with_clock(String::new(), device.keystore.clone(), device.clock.clone(), good.clone()),
        "empty path",
    );
    let unlocked = device.open_with(good).unwrap().unlock(PIN.into()).unwrap();
    assert_eq!(unlocked.get("visits", "v1").unwrap().unwrap(), SECRET_VALUE);

    for len in [0, 31, 33, 64] {
        is_backend_invalid_input(GrantIssuer::new("k1", vec![7; len]), &format!("{len}-byte issuer private key"));
    }
    is_backend_invalid_input(GrantIssuer::new("", vec![7; 32]), "issuer with an empty kid");
    assert!(GrantIssuer::new("k1", vec![7; 32]).is_ok());
    is_backend_invalid_input(SyncVerifier::new(vec![]), "verifier without keys");
    is_backend_invalid_input(SyncVerifier::new(vec![public(vec![9; 31])]), "verifier with a 31-byte key");
}

/// Files that are not ours — another app's SQLite database (with tables, or
/// with another application id), a SQLite file that only looks like ours,
/// non-SQLite bytes — are `Storage` errors and stay byte-for-byte untouched,
/// with no journal or WAL file left behind.
#[test]
fn foreign_and_non_sqlite_files_are_storage_errors_and_stay_untouched() {
    let device = Device::new();
    let path = device.path();
    let sqlite = |setup: &str| {
        std::fs::remove_file(&path).ok();
        let db = Connection::open(&path).unwrap();
        db.execute_batch(setup).unwrap();
        drop(db);
        std::fs::read(&path).unwrap()
    };
    let cases = [
        ("another app's database", sqlite("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('hi');")),
        ("another application id", sqlite("PRAGMA application_id = 305419896;")),
        ("our table names without our id", sqlite("CREATE TABLE vault (id INTEGER); CREATE TABLE records (x);")),
        ("a schema version without tables", sqlite("PRAGMA user_version = 1;")),
        (
            "a WAL database of another app",
            sqlite("PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);"),
        ),
        ("4 KiB of 0x42", vec![0x42; 4096]),
        ("a text file", b"name,visit\nworker-7,pump station 4\n".to_vec()),
        ("a SQLite header and garbage", [b"SQLite format 3\0".as_slice(), &[0xA5; 4080]].concat()),
    ];
    for (what, bytes) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let before = files(device.dir.path());
        assert_eq!(before.len(), 1, "{what}: only the file itself");
        let reason = is_storage(device.try_open(), what);
        assert!(!reason.is_empty());
        assert_eq!(files(device.dir.path()), before, "{what} was modified");
    }
}

/// A newer schema (a higher `user_version` in our file) is a `Storage` error
/// that leaves the file untouched; put back, the vault opens with its data.
#[test]
fn a_newer_schema_is_a_storage_error_and_stays_untouched() {
    let (device, vault, session) = enrolled_with_data();
    drop((vault, session));
    let version: i64 = {
        let db = Connection::open(device.path()).unwrap();
        let version = db.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        db.pragma_update(None, "user_version", version + 1).unwrap();
        version
    };
    assert!(version >= 1);
    let before = files(device.dir.path());
    let reason = is_storage(device.try_open(), "newer schema");
    assert!(reason.contains("newer"), "{reason}");
    assert_eq!(files(device.dir.path()), before, "the newer file was modified");

    Connection::open(device.path()).unwrap().pragma_update(None, "user_version", version).unwrap();
    let session = device.open().unlock(PIN.into()).unwrap();
    assert_eq!(session.get("visits", "v1").unwrap().unwrap(), SECRET_VALUE);
}

/// Our own file, damaged on disk (each page in turn overwritten): whatever
/// the SDK reports is a typed error; it never panics, and a record it does
/// return is the one written.
#[test]
fn a_corrupted_file_gives_typed_errors_never_other_data() {
    let (device, vault, session) = enrolled_with_data();
    session.enable_biometrics().unwrap();
    drop((vault, session));
    let pristine = std::fs::read(device.path()).unwrap();
    // Each biometric unlock moves the device key to a new alias; here every
    // damaged copy must meet the keystore the pristine file was made with.
    device.keystore.keep_deleted_keys.store(true, Ordering::SeqCst);
    let pages = pristine.len() / 4096;
    assert!(pages >= 3, "{} bytes", pristine.len());
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for page in 1..pages {
        let mut damaged = pristine.clone();
        damaged[page * 4096..(page + 1) * 4096].fill(0xA5);
        std::fs::write(device.path(), &damaged).unwrap();
        let result = device.try_open().and_then(|vault| {
            let status = vault.status()?;
            assert!(
                status.enrolled && status.biometrics_enabled && status.failed_attempts == 0,
                "page {page}: {status:?}"
            );
            let session = vault.unlock_with_biometrics()?;
            let value = session.get("visits", "v1")?;
            assert_eq!(value.as_deref(), Some(SECRET_VALUE), "page {page}: the record read back differently");
            assert_eq!(session.keys("visits")?, ["v1"], "page {page}");
            Ok(())
        });
        let outcome = match result {
            Ok(()) => "read back intact".to_owned(),
            Err(error @ (VaultError::Storage { .. } | VaultError::Tampered)) => format!("{error}"),
            Err(other) => panic!("page {page}: unexpected {other:?}"),
        };
        *outcomes.entry(outcome).or_default() += 1;
        for suffix in ["-wal", "-shm"] {
            std::fs::remove_file(format!("{}{suffix}", device.path_str())).ok();
        }
    }
    println!("{} damaged pages: {outcomes:?}", pages - 1);
    assert!(outcomes.keys().any(|o| o != "read back intact"), "damage was noticed at least once");
    std::fs::write(device.path(), &pristine).unwrap();
    let session = device.open().unlock(PIN.into()).unwrap();
    assert_eq!(session.get("visits", "v1").unwrap().unwrap(), SECRET_VALUE);
}

/// A keystore whose every callback throws: each call that needs it returns
/// `Keystore` — the PIN is never judged (a wrong PIN is not `WrongPin`), no
/// attempt is counted, nothing is stored — and all works once it recovers.
#[test]
fn a_throwing_keystore_is_a_keystore_error_and_counts_no_attempt() {
    let (device, vault, session) = enrolled_with_data();
    session.enable_biometrics().unwrap();
    let before = stored(&device);
    device.keystore.fail_all.store(true, Ordering::SeqCst);

    let is_keystore = |result: Result<(), VaultError>, what: &str| {
        assert!(matches!(result, Err(VaultError::Keystore { .. })), "{what}: {result:?}");
    };
    is_keystore(vault.unlock(PIN.into()).map(drop), "unlock with the right PIN");
    is_keystore(vault.unlock(WRONG_PIN.into()).map(drop), "unlock with a wrong PIN");
    is_keystore(vault.change_pin(PIN.into(), "951847".into()), "change_pin");
    is_keystore(vault.unlock_with_biometrics().map(drop), "unlock_with_biometrics");
    is_keystore(session.enable_biometrics(), "enable_biometrics");
    assert_eq!(stored(&device), before, "nothing changed while the keystore failed");
    assert_eq!(vault.status().unwrap().failed_attempts, 0);
    assert!(session.is_unlocked());

    // Enrolling a second device through a failing keystore stores nothing.
    let other = Device::new();
    other.keystore.fail_all.store(true, Ordering::SeqCst);
    let other_vault = other.open();
    let empty = stored(&other);
    let result = other_vault.enroll(PIN.into(), &other.backend.grant(T0, 7), other.backend.sync_key.clone());
    is_keystore(result.map(drop), "enroll");
    assert!(!other_vault.is_enrolled().unwrap());
    assert_eq!(stored(&other), empty);

    device.keystore.fail_all.store(false, Ordering::SeqCst);
    let again = vault.unlock(PIN.into()).unwrap();
    assert_eq!(again.get("visits", "v1").unwrap().unwrap(), SECRET_VALUE);
    assert!(vault.unlock_with_biometrics().is_ok());
    assert_eq!(vault.status().unwrap().failed_attempts, 0);
}

/// A keystore that cannot delete keys: the attempt that rotated the device
/// key is counted (it was counted before the PIN would be checked), the PIN
/// is never judged while old keys linger, retries count nothing more, and
/// the right PIN works — and resets the count — once deletion works again.
#[test]
fn a_keystore_that_cannot_delete_blocks_unlock_without_counting_retries() {
    let (device, vault, _session) = enrolled_with_data();
    device.keystore.fail_delete.store(true, Ordering::SeqCst);
    for attempt in 0..3 {
        let result = vault.unlock(PIN.into());
        assert!(matches!(result, Err(VaultError::Keystore { .. })), "attempt {attempt}: {result:?}");
    }
    assert!(vault.status().unwrap().failed_attempts <= 1);
    device.keystore.fail_delete.store(false, Ordering::SeqCst);
    let session = vault.unlock(PIN.into()).unwrap();
    assert_eq!(session.get("visits", "v1").unwrap().unwrap(), SECRET_VALUE);
    assert_eq!(vault.status().unwrap().failed_attempts, 0);
}

/// The backend's verifier fed empty, garbage, truncated, extended, flipped,
/// oversized or entry-less batches: `BatchRejected` every time, while the
/// untouched batch verifies.
#[test]
fn sync_verifier_rejects_garbage_truncated_and_empty_batches() {
    let (device, _vault, session) = enrolled_with_data();
    session.put("notes", "n1", b"second edit".to_vec()).unwrap();
    session.delete("visits", "v1").unwrap();
    let batch = session.clone().sync_queue().next_batch(10).unwrap().unwrap().bytes;
    let verifier = device.backend.verifier();
    let verify = |bytes: Vec<u8>| {
        verifier.verify(&bytes, &device.backend.sync_key, &SyncCursor::initial()).map(|v| v.into_owned())
    };
    assert_eq!(verify(batch.clone()).unwrap().operations.len(), 3, "the untouched batch verifies");

    let mut garbage_seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut garbage = |len: usize| -> Vec<u8> {
        (0..len)
            .map(|_| {
                garbage_seed ^= garbage_seed << 13;
                garbage_seed ^= garbage_seed >> 7;
                garbage_seed ^= garbage_seed << 17;
                garbage_seed.to_le_bytes()[0]
            })
            .collect()
    };
    let mut device_id = vec![DEVICE.len() as u8];
    device_id.extend_from_slice(DEVICE.as_bytes());
    let no_entries = [b"OASB".as_slice(), &[0], &device_id, &[0], &[0]].concat();
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), vec![]),
        ("magic only".into(), b"OASB".to_vec()),
        ("a batch with no entries".into(), no_entries),
        ("wrong magic".into(), [b"OASC".as_slice(), &batch[4..]].concat()),
        ("a trailing byte".into(), [batch.as_slice(), &[0]].concat()),
        ("over the size limit".into(), vec![0; MAX_BATCH_BYTES + 1]),
        ("magic and garbage".into(), [b"OASB".as_slice(), &garbage(2000)].concat()),
    ];
    for len in [1, 16, 1000, 100_000] {
        cases.push((format!("{len} bytes of garbage"), garbage(len)));
    }
    for len in 0..batch.len() {
        cases.push((format!("truncated to {len} bytes"), batch[..len].to_vec()));
    }
    for i in 0..batch.len() {
        let mut flipped = batch.clone();
        flipped[i] ^= 0x01;
        cases.push((format!("byte {i} flipped"), flipped));
    }
    let tried = cases.len();
    for (what, bytes) in cases {
        let result = verify(bytes);
        assert!(matches!(result, Err(BackendError::BatchRejected { .. })), "{what}: {result:?}");
    }
    let result = verifier.verify(&batch, &[0x5b; 32], &SyncCursor::initial());
    assert!(
        matches!(result, Err(BackendError::BatchRejected { kind: RejectReason::ChainBroken, .. })),
        "another device's sync key: {result:?}"
    );
    println!("{tried} bad batches rejected");
}

/// No error's `Display` or `Debug` — from any of the failure paths above —
/// contains the PIN, a wrong PIN that was typed, the sync key, or a record's
/// plaintext.
#[test]
fn errors_never_show_the_pin_the_sync_key_or_plaintext() {
    let (device, vault, session) = enrolled_with_data();
    // Device and backend errors, each as `Debug` and `Display`.
    let mut errors: Vec<String> = Vec::new();
    fn keep<E: std::fmt::Debug + std::fmt::Display>(errors: &mut Vec<String>, result: Result<(), E>) {
        match result {
            Err(error) => errors.push(format!("{error:?} {error}")),
            Ok(()) => panic!("expected an error"),
        }
    }

    keep(&mut errors, vault.unlock(WRONG_PIN.into()).map(drop));
    keep(&mut errors, vault.change_pin(PIN.into(), "111111".into()));
    keep(&mut errors, vault.change_pin(WRONG_PIN.into(), "951847".into()));
    keep(
        &mut errors,
        vault.enroll(PIN.into(), &device.backend.grant(T0, 7), device.backend.sync_key.clone()).map(drop),
    );
    let fresh = Device::new();
    keep(
        &mut errors,
        fresh.open().enroll(PIN.into(), &format!("{PIN}.{PIN}.{PIN}"), fresh.backend.sync_key.clone()).map(drop),
    );
    let oversized: Vec<u8> = SECRET_VALUE.iter().copied().cycle().take(MAX_VALUE_LEN + 1).collect();
    keep(&mut errors, session.put("visits", "v2", oversized).map(drop));
    keep(&mut errors, session.put("payroll", "v2", SECRET_VALUE.to_vec()).map(drop));
    keep(&mut errors, session.clone().sync_queue().acknowledge(SECRET_VALUE.to_vec()));

    // Tampered: flip a byte of the record's ciphertext.
    {
        let db = Connection::open(device.path()).unwrap();
        let body: Vec<u8> = db.query_row("SELECT body FROM records", [], |r| r.get(0)).unwrap();
        let mut flipped = body.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x01;
        db.execute("UPDATE records SET body = ?1", [&flipped]).unwrap();
        keep(&mut errors, session.get("visits", "v1").map(drop));
        db.execute("UPDATE records SET body = ?1", [&body]).unwrap();
    }
    // Keystore failures.
    device.keystore.fail_all.store(true, Ordering::SeqCst);
    keep(&mut errors, vault.unlock(PIN.into()).map(drop));
    device.keystore.fail_all.store(false, Ordering::SeqCst);
    // A batch rejected by the backend: its value is plaintext on the wire,
    // but the reason must not repeat it.
    let batch = session.clone().sync_queue().next_batch(10).unwrap().unwrap();
    let verifier = device.backend.verifier();
    let mut altered = batch.bytes.clone();
    let at = altered.windows(SECRET_VALUE.len()).position(|w| w == SECRET_VALUE).unwrap();
    altered[at] ^= 0x01;
    keep(&mut errors, verifier.verify(&altered, &device.backend.sync_key, &SyncCursor::initial()).map(drop));
    keep(&mut errors, verifier.verify(&batch.bytes, &[0x5a; 31], &SyncCursor::initial()).map(drop));
    // Session locked, lockout, wipe.
    session.lock();
    keep(&mut errors, session.get("visits", "v1").map(drop));
    for _ in 0..3 {
        keep(&mut errors, vault.unlock(WRONG_PIN.into()).map(drop));
    }
    keep(&mut errors, vault.unlock(WRONG_PIN.into()).map(drop)); // LockedOut: backoff after 4 failures
    keep(
        &mut errors,
        PinVault::open(device.path_str(), device.keystore.clone(), device.backend.config().with_pbkdf2_iterations(1))
            .map(drop),
    );
    vault.wipe().unwrap();
    keep(&mut errors, vault.unlock(PIN.into()).map(drop));

    // The sync key is 32 bytes of 0x5a: as hex, as a Debug list, as text.
    assert_eq!(device.backend.sync_key, [0x5a; 32]);
    let plaintext = String::from_utf8_lossy(SECRET_VALUE).into_owned();
    let mut seen = std::collections::BTreeSet::new();
    for shown in &errors {
        for needle in
            [PIN, WRONG_PIN, "951847", "111111", &plaintext, "penicillin", "5a5a5a5a", "90, 90, 90, 90", "ZZZZ"]
        {
            assert!(!shown.contains(needle), "{shown:?} contains {needle:?}");
        }
        seen.insert(shown.split([' ', '{']).next().unwrap().to_owned());
    }
    let expected = [
        "WrongPin",
        "WeakPin",
        "AlreadyEnrolled",
        "GrantInvalid",
        "InvalidInput",
        "Tampered",
        "Keystore",
        "BatchRejected",
        "SessionLocked",
        "LockedOut",
        "Wiped",
    ];
    for variant in expected {
        assert!(seen.contains(variant), "no {variant} among {seen:?}");
    }
    for shown in [format!("{vault:?}"), format!("{session:?}"), format!("{:?}", vault.status().unwrap())] {
        assert!(!shown.contains(PIN) && !shown.contains(&plaintext), "{shown}");
    }
}
