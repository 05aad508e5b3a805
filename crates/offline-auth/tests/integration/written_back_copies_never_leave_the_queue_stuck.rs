//! A vault's files written back with a copy taken while a session was open,
//! after the device went on editing and syncing (issue 23, item 2): the
//! copy's queue is behind what the backend applied, and the edits made
//! after the write-back reuse seqs the backend already applied. The
//! backend's answer (a chain position MACed with the sync key) makes the
//! device re-base them after its head, so each is applied exactly once,
//! none is lost, and the backend reports the range the copy lost.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::*;
use offline_auth::{KeyValue, OfflineSession, PinVault, VaultError};
use offline_auth_backend::{AppliedEntry, BackendError, SyncCursor, SyncVerifier, MAX_APPLIED_ENTRIES};

/// What the backend applied at one seq.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Applied {
    key: String,
    value: Option<Vec<u8>>,
    mac: Vec<u8>,
}

/// The backend: its cursor, every entry it applied with its MAC, and the
/// divergences it reported.
struct Server {
    verifier: Arc<SyncVerifier>,
    sync_key: Vec<u8>,
    cursor: SyncCursor,
    applied: BTreeMap<u64, Applied>,
    /// (lost_from, lost_through, lost_count) of each divergence reported.
    reported: Vec<(u64, u64, u64)>,
}

impl Server {
    fn new(device: &Device) -> Self {
        Self {
            verifier: device.backend.verifier(),
            sync_key: device.backend.sync_key.clone(),
            cursor: SyncCursor::initial(),
            applied: BTreeMap::new(),
            reported: Vec::new(),
        }
    }

    /// The applied entries a batch starting at `first_seq` overlaps.
    fn overlapped(&self, first_seq: u64) -> Vec<AppliedEntry> {
        self.applied
            .range(first_seq.saturating_sub(1)..=self.cursor.last_seq)
            .take(MAX_APPLIED_ENTRIES)
            .map(|(seq, a)| AppliedEntry { seq: *seq, mac: a.mac.clone() })
            .collect()
    }

    /// Verifies and applies an upload; the answer for the device.
    fn upload(&mut self, bytes: Vec<u8>, first_seq: u64) -> Result<Vec<u8>, BackendError> {
        let applied = self.overlapped(first_seq);
        let verified = match self.verifier.verify_with_chain(&bytes, &self.sync_key, &self.cursor, &applied) {
            Ok(verified) => verified,
            Err(BackendError::Diverged { lost_from, lost_through, lost_count, answer }) => {
                self.reported.push((lost_from, lost_through, lost_count));
                return Ok(answer);
            }
            Err(error) => return Err(error),
        };
        for op in verified.operations {
            let applied = Applied { key: op.key.to_owned(), value: op.value.map(<[u8]>::to_vec), mac: op.mac.to_vec() };
            assert!(self.applied.insert(op.seq, applied).is_none(), "seq {} applied twice", op.seq);
        }
        self.cursor = verified.cursor;
        Ok(verified.receipt)
    }

    /// How many times the edit `key` = `value` was applied.
    fn times_applied(&self, key: &str, value: &[u8]) -> usize {
        self.applied.values().filter(|a| a.key == key && a.value.as_deref() == Some(value)).count()
    }
}

/// Sends batches and hands every answer to the queue until it is empty
/// (bounded: a queue still not empty after 20 rounds is stuck).
fn sync_all(session: &Arc<OfflineSession>, server: &mut Server) {
    sync_all_by(session, server, 3);
}

/// [`sync_all`] with batches of at most `max` entries.
fn sync_all_by(session: &Arc<OfflineSession>, server: &mut Server, max: u32) {
    let queue = session.clone().sync_queue();
    for _ in 0..20 {
        let Some(batch) = queue.next_batch(max).unwrap() else {
            return;
        };
        let answer = server.upload(batch.bytes, batch.first_seq).unwrap();
        queue.acknowledge(answer).unwrap();
    }
    panic!("the queue is stuck: {} entries still pending", queue.pending_count().unwrap());
}

fn files(path: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm"].iter().map(|suffix| PathBuf::from(format!("{}{suffix}", path.display()))).collect()
}

/// The vault's files as they are now (db, -wal, -shm), read while it is open.
fn copy_files(path: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    files(path).into_iter().map(|file| (file.clone(), std::fs::read(&file).ok())).collect()
}

/// Writes the copy back over the vault's files.
fn write_back(copy: &[(PathBuf, Option<Vec<u8>>)]) {
    for (file, bytes) in copy {
        match bytes {
            Some(bytes) => std::fs::write(file, bytes).unwrap(),
            None => {
                let _ = std::fs::remove_file(file);
            }
        }
    }
}

fn put(session: &OfflineSession, key: &str, value: &str) {
    session.put("visits", key, value.as_bytes().to_vec()).unwrap();
}

/// Enrols, syncs `synced` edits, makes `pending` more, copies the files
/// with the session open, then makes and syncs `after_copy` more edits and
/// is killed (dropped without `lock()`). Returns the copy.
fn run_until_the_copy_is_stale(
    device: &Device,
    server: &mut Server,
    synced: usize,
    pending: usize,
    after_copy: usize,
) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let (vault, session) = device.enrolled();
    for i in 0..synced {
        put(&session, &format!("before-{i}"), "v");
    }
    sync_all(&session, server);
    for i in 0..pending {
        put(&session, &format!("in-copy-{i}"), "v");
    }
    let copy = copy_files(&device.path());
    for i in 0..after_copy {
        device.clock.advance(10);
        put(&session, &format!("after-copy-{i}"), "v");
    }
    sync_all(&session, server);
    drop((session, vault)); // killed: no lock()
    copy
}

fn unlock(device: &Device) -> (Arc<PinVault>, Arc<OfflineSession>) {
    let vault = device.open();
    let session = vault.unlock(PIN.into()).unwrap();
    (vault, session)
}

#[test]
fn every_edit_made_after_a_written_back_copy_is_applied_exactly_once() {
    let device = Device::new();
    let mut server = Server::new(&device);
    // Seqs 1-2 synced, 3 pending in the copy, 4-8 applied after it.
    let copy = run_until_the_copy_is_stale(&device, &mut server, 2, 1, 5);
    assert_eq!(server.cursor.last_seq, 8);

    write_back(&copy);
    device.clock.advance(60);
    let (_vault, session) = unlock(&device);
    let new_edits: Vec<(String, String)> = (0..4).map(|i| (format!("new-{i}"), format!("value-{i}"))).collect();
    for (key, value) in &new_edits {
        put(&session, key, value);
    }
    sync_all(&session, &mut server);

    for (key, value) in &new_edits {
        assert_eq!(server.times_applied(key, value.as_bytes()), 1, "{key} must be applied exactly once");
    }
    // The copy's own pending edit (seq 3) was applied before the kill, once.
    assert_eq!(server.times_applied("in-copy-0", b"v"), 1);
    for i in 0..5 {
        assert_eq!(server.times_applied(&format!("after-copy-{i}"), b"v"), 1);
    }
    // The backend saw the queue part after seq 3: seqs 4-8 are the ones the copy lost.
    assert_eq!(server.reported, [(4, 8, 5)]);
    // The re-based edits follow the backend's head: 9-12.
    assert_eq!(server.applied.keys().copied().collect::<Vec<_>>(), (1..=12).collect::<Vec<_>>());
    assert_eq!(session.clone().sync_queue().pending_count().unwrap(), 0);
}

#[test]
fn a_written_back_copy_with_nothing_pending_catches_up_and_its_next_edits_apply_once() {
    let device = Device::new();
    let mut server = Server::new(&device);
    // The copy has every edit acknowledged; 3-6 are applied after it.
    let copy = run_until_the_copy_is_stale(&device, &mut server, 2, 0, 4);
    write_back(&copy);
    let (_vault, session) = unlock(&device);
    put(&session, "new-0", "x");
    put(&session, "new-1", "y");
    sync_all(&session, &mut server);
    assert_eq!(server.times_applied("new-0", b"x"), 1);
    assert_eq!(server.times_applied("new-1", b"y"), 1);
    assert_eq!(server.reported, [(3, 6, 4)]);
    assert_eq!(server.applied.len(), 8);
}

#[test]
fn a_re_base_longer_than_one_step_moves_every_edit_once_in_order() {
    let device = Device::new();
    let mut server = Server::new(&device);
    let copy = run_until_the_copy_is_stale(&device, &mut server, 1, 2, 2);
    write_back(&copy);
    let (_vault, session) = unlock(&device);
    // 1,200 new edits: more than two of the re-base's 512-entry steps.
    for round in 0..2 {
        let records = (0..600)
            .map(|i| KeyValue { key: format!("bulk-{round}-{i}"), value: format!("v{round}-{i}").into_bytes() })
            .collect::<Vec<_>>();
        session.put_many("visits", records).unwrap();
    }
    sync_all_by(&session, &mut server, 500);
    assert_eq!(server.reported, [(4, 5, 2)]);
    assert_eq!(server.applied.len(), 5 + 1_200);
    let order: Vec<&str> = server.applied.values().skip(5).map(|a| a.key.as_str()).collect();
    let expected: Vec<String> = (0..2).flat_map(|r| (0..600).map(move |i| format!("bulk-{r}-{i}"))).collect();
    assert_eq!(order, expected, "re-based in the order they were made");
}

#[test]
fn a_replayed_or_forged_answer_re_bases_nothing() {
    let device = Device::new();
    let mut server = Server::new(&device);
    let copy = run_until_the_copy_is_stale(&device, &mut server, 1, 1, 3);
    write_back(&copy);
    let (_vault, session) = unlock(&device);
    put(&session, "new-0", "x");
    let queue = session.clone().sync_queue();
    let batch = queue.next_batch(10).unwrap().unwrap();
    let answer = server.upload(batch.bytes.clone(), batch.first_seq).unwrap();
    assert_eq!(server.reported.len(), 1, "the batch diverged");

    // The same answer under another key is not the backend's word.
    let forger = Server { sync_key: vec![0x77; 32], ..Server::new(&device) };
    let mut forged_server = Server { cursor: server.cursor.clone(), applied: server.applied.clone(), ..forger };
    let forged = forged_server.upload(batch.bytes, batch.first_seq);
    assert!(matches!(forged, Err(BackendError::BatchRejected { .. })), "{forged:?}");
    let mut flipped = answer.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert!(matches!(queue.acknowledge(flipped), Err(VaultError::ReceiptInvalid { .. })));
    assert_eq!(queue.next_batch(10).unwrap().unwrap().first_seq, batch.first_seq, "nothing moved");

    queue.acknowledge(answer.clone()).unwrap();
    let moved = queue.next_batch(10).unwrap().unwrap();
    // Replayed, before and after the re-based edit is applied: nothing moves again.
    queue.acknowledge(answer.clone()).unwrap();
    assert_eq!(queue.next_batch(10).unwrap().unwrap(), moved);
    let receipt = server.upload(moved.bytes, moved.first_seq).unwrap();
    queue.acknowledge(receipt).unwrap();
    queue.acknowledge(answer).unwrap();
    assert_eq!(queue.next_batch(10).unwrap(), None);
    assert_eq!(server.times_applied("new-0", b"x"), 1);
    assert_eq!(server.applied.len(), 6);
}

/// The same story against the reference server over loopback HTTP: the
/// server keeps each applied entry's MAC, answers the diverged batch with
/// the chain position (200, `diverged` with the lost range, nothing
/// applied), and the device's re-based edits then apply once.
#[test]
fn the_reference_server_re_bases_a_written_back_device_end_to_end() {
    use base64::Engine as _;
    use offline_auth::{issuer_keys_from_jwks, SoftwareKeystore, VaultConfig};
    use offline_auth_server::LocalServer;
    use serde_json::{json, Value};

    const DEVICE_ID: &str = "tablet-0042";
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("server.db")).unwrap();
    let sync_url = format!("/sync?device_id={DEVICE_ID}");
    let credentials = json!({"user": "amira", "password": "correct horse battery", "device_id": DEVICE_ID});
    let (status, enrolment) = server.post_json("/enroll", credentials.to_string().as_bytes()).unwrap();
    assert_eq!(status, 200, "{enrolment}");
    let config = VaultConfig::new(DEVICE_ID, issuer_keys_from_jwks(&enrolment["jwks"].to_string()).unwrap());
    let sync_key = hex::decode(enrolment["sync_key"].as_str().unwrap()).unwrap();
    let path = dir.path().join("vault.db");
    let keystore = SoftwareKeystore::new();
    let open = || PinVault::open(path.to_string_lossy().into_owned(), keystore.clone(), config.clone()).unwrap();
    let note = |session: &OfflineSession, key: &str, value: &str| {
        session.put("notes", key, value.as_bytes().to_vec()).unwrap();
    };
    // Sends everything pending; returns the `diverged` reports seen.
    let sync = |session: &Arc<OfflineSession>| -> Vec<Value> {
        let queue = session.clone().sync_queue();
        let mut diverged = Vec::new();
        for _ in 0..20 {
            let Some(batch) = queue.next_batch(3).unwrap() else {
                return diverged;
            };
            let (status, answer) = server.post_batch(&sync_url, &batch.bytes).unwrap();
            assert_eq!(status, 200, "{answer}");
            if !answer["diverged"].is_null() {
                assert_eq!(answer["applied"], 0);
                diverged.push(answer["diverged"].clone());
            }
            let receipt =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(answer["receipt"].as_str().unwrap()).unwrap();
            queue.acknowledge(receipt).unwrap();
        }
        panic!("the queue is stuck");
    };

    let vault = open();
    let session = vault.enroll(PIN.into(), enrolment["grant"].as_str().unwrap(), sync_key).unwrap();
    note(&session, "before-0", "a");
    note(&session, "before-1", "b");
    assert!(sync(&session).is_empty());
    note(&session, "in-copy", "c");
    let copy = copy_files(&path);
    for i in 0..3 {
        note(&session, &format!("after-copy-{i}"), "d");
    }
    assert!(sync(&session).is_empty());
    drop((session, vault)); // killed: no lock()

    write_back(&copy);
    let vault = open();
    let session = vault.unlock(PIN.into()).unwrap();
    for i in 0..4 {
        note(&session, &format!("new-{i}"), &format!("value-{i}"));
    }
    let diverged = sync(&session);
    assert_eq!(diverged, [json!({"lost_from": 4, "lost_through": 6, "lost_count": 3})]);
    assert_eq!(session.clone().sync_queue().pending_count().unwrap(), 0);

    let (status, records) = server.get_as("/records", "amira", "correct horse battery").unwrap();
    assert_eq!(status, 200, "{records}");
    let on_server: BTreeMap<String, String> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["key"].as_str().unwrap().to_owned(), r["value"].as_str().unwrap().to_owned()))
        .collect();
    for i in 0..4 {
        assert_eq!(on_server.get(&format!("new-{i}")), Some(&format!("value-{i}")));
    }
    assert_eq!(on_server.len(), 3 + 3 + 4, "{on_server:?}");
    server.stop().unwrap();
}
