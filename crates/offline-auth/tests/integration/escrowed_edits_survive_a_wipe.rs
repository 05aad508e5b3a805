//! Escrowed edits (issue 25, section 1): every queued edit is also sealed to
//! the backend's escrow key and kept where no wipe reaches, so a salvage
//! after ten wrong PINs, a lost device key or a wipe delivers every edit
//! made before, each applied once; a thief with the files reads and forges
//! nothing; a replayed salvage, or escrow rows written back after their
//! receipt, apply nothing.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use offline_auth::{
    KeyProtection, KeystoreError, PinVault, PlatformKeystore, SoftwareKeystore, VaultConfig, VaultError,
};
use offline_auth_backend::{
    generate_escrow_key, AppliedEntry, BackendError, RejectReason, SalvageOpener, StaticEscrowKeys, SyncCursor,
    VerifiedBatch,
};
use offline_auth_proto::entry::{EntryBody, Operation, QueueEntry};
use offline_auth_proto::escrow::{seal_entry, EscrowPlace, EscrowPublicKey};
use offline_auth_proto::grant::{verify_signature, GrantPolicy, TrustedIssuers};

/// A value no other byte of the files would contain by chance.
const SECRET_VALUE: &[u8] = b"gate code 7731 behind the blue door";

/// A keystore whose device key can be lost (lock screen removed).
#[derive(Default)]
struct LosableKeystore {
    inner: Arc<SoftwareKeystore>,
    lost: AtomicBool,
}

impl PlatformKeystore for LosableKeystore {
    fn wrap(&self, alias: String, protection: KeyProtection, plaintext: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        self.inner.wrap(alias, protection, plaintext)
    }
    fn unwrap(&self, alias: String, protection: KeyProtection, wrapped: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        if protection == KeyProtection::Device && self.lost.load(Ordering::SeqCst) {
            return Err(KeystoreError::KeyInvalidated);
        }
        self.inner.unwrap(alias, protection, wrapped)
    }
    fn delete_key(&self, alias: String) -> Result<(), KeystoreError> {
        self.inner.delete_key(alias)
    }
}

/// The backend of these tests: the verifier, its escrow key, the device's cursor.
struct EscrowBackend {
    opener: SalvageOpener,
    public: EscrowPublicKey,
    signed_key: String,
    cursor: SyncCursor,
}

impl EscrowBackend {
    fn new(backend: &Backend) -> Self {
        let (line, public) = generate_escrow_key("escrow-2026").unwrap();
        let keys = Arc::new(StaticEscrowKeys::from_text(&line).unwrap());
        let signed_key = backend.issuer.sign_escrow_key(&public, T0).unwrap();
        Self { opener: SalvageOpener::new(backend.verifier(), keys), public, signed_key, cursor: SyncCursor::initial() }
    }

    fn config(&self, backend: &Backend) -> VaultConfig {
        backend.config().with_escrow_key(self.signed_key.clone())
    }

    /// Verifies `upload` from the stored cursor and, if it verifies, applies
    /// it (stores the new cursor), as a server does.
    fn salvage(&mut self, backend: &Backend, upload: &[u8]) -> Result<VerifiedBatch, BackendError> {
        let verified = self.opener.verify(upload, &backend.sync_key, &self.cursor, &[])?;
        self.cursor = verified.cursor.clone();
        Ok(verified)
    }
}

/// A device with an escrow key configured, enrolled, with `edits` puts made.
fn escrowing_device<K: PlatformKeystore + 'static>(
    device: &Device<K>,
    escrow: &EscrowBackend,
    edits: u32,
) -> Arc<PinVault> {
    let vault = device.open_with(escrow.config(&device.backend)).unwrap();
    let grant = device.backend.grant(device.clock.now(), 7);
    let session = vault.enroll(PIN.into(), &grant, device.backend.sync_key.clone()).unwrap();
    for i in 0..edits {
        session.put("visits", &format!("v{i}"), SECRET_VALUE.to_vec()).unwrap();
    }
    session.delete("visits", "v0").unwrap();
    vault
}

/// The keys written, in order, by a verified batch's operations.
fn keys_of(verified: &VerifiedBatch) -> Vec<(String, bool)> {
    verified.operations.iter().map(|op| (op.key.clone(), op.value.is_some())).collect()
}

fn every_edit(edits: u32) -> Vec<(String, bool)> {
    let mut all: Vec<(String, bool)> = (0..edits).map(|i| (format!("v{i}"), true)).collect();
    all.push(("v0".into(), false));
    all
}

/// Salvages everything escrowed, then forgets what the backend holds.
fn salvage_everything(vault: &PinVault, escrow: &mut EscrowBackend, backend: &Backend) -> VerifiedBatch {
    let upload = vault.salvage(100).unwrap().unwrap();
    let verified = escrow.salvage(backend, &upload.bytes).unwrap();
    vault.forget_salvaged(upload.enrolment, verified.cursor.last_seq).unwrap();
    verified
}

#[test]
fn a_salvage_after_ten_wrong_pins_delivers_every_edit_made_before() {
    let device = Device::new();
    let mut escrow = EscrowBackend::new(&device.backend);
    let vault = escrowing_device(&device, &escrow, 5);
    for _ in 0..9 {
        device.clock.advance(3600);
        assert!(matches!(vault.unlock("000001".into()), Err(VaultError::WrongPin { .. })));
    }
    device.clock.advance(3600);
    assert_eq!(vault.unlock("000001".into()).err(), Some(VaultError::Wiped));

    let verified = salvage_everything(&vault, &mut escrow, &device.backend);
    assert_eq!(keys_of(&verified), every_edit(5));
    assert_eq!(verified.user_id, USER);
    assert_eq!(vault.escrowed_count().unwrap(), 0, "the answer clears the escrow");
    assert_eq!(vault.salvage(100).unwrap(), None);
}

#[test]
fn a_salvage_after_device_key_lost_delivers_every_edit_made_before() {
    let device = Device::with_keystore(Arc::new(LosableKeystore::default()));
    let mut escrow = EscrowBackend::new(&device.backend);
    let vault = escrowing_device(&device, &escrow, 3);
    device.keystore.lost.store(true, Ordering::SeqCst);
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::DeviceKeyLost));

    let verified = salvage_everything(&vault, &mut escrow, &device.backend);
    assert_eq!(keys_of(&verified), every_edit(3));
}

#[test]
fn a_salvage_after_a_wipe_delivers_every_edit_made_before() {
    let device = Device::new();
    let mut escrow = EscrowBackend::new(&device.backend);
    let vault = escrowing_device(&device, &escrow, 4);
    vault.wipe().unwrap();
    // A new handle on the file (the app restarted) salvages just the same.
    drop(vault);
    let vault = device.open_with(escrow.config(&device.backend)).unwrap();
    assert!(!vault.is_enrolled().unwrap());
    assert_eq!(vault.escrowed_count().unwrap(), 5);

    let verified = salvage_everything(&vault, &mut escrow, &device.backend);
    assert_eq!(keys_of(&verified), every_edit(4));
}

#[test]
fn a_salvage_in_parts_delivers_every_edit_once_in_order() {
    let device = Device::new();
    let mut escrow = EscrowBackend::new(&device.backend);
    let vault = escrowing_device(&device, &escrow, 6);
    vault.wipe().unwrap();
    let mut delivered = Vec::new();
    while let Some(upload) = vault.salvage(2).unwrap() {
        assert!(upload.entry_count <= 2);
        let verified = escrow.salvage(&device.backend, &upload.bytes).unwrap();
        delivered.extend(keys_of(&verified));
        vault.forget_salvaged(upload.enrolment, verified.cursor.last_seq).unwrap();
    }
    assert_eq!(delivered, every_edit(6));
}

#[test]
fn a_thief_with_the_files_reads_no_escrowed_value() {
    let device = Device::new();
    let escrow = EscrowBackend::new(&device.backend);
    let vault = escrowing_device(&device, &escrow, 3);
    vault.wipe().unwrap();
    assert_eq!(vault.escrowed_count().unwrap(), 4, "the escrow outlived the wipe");
    drop(vault);
    for file in std::fs::read_dir(device.dir.path()).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        assert!(!bytes.windows(SECRET_VALUE.len()).any(|w| w == SECRET_VALUE), "a value is readable in the files");
        assert!(!bytes.windows(6).any(|w| w == b"visits"), "a collection name is readable in the files");
    }
}

#[test]
fn a_modified_escrow_row_is_refused_by_the_backend() {
    let device = Device::new();
    let mut escrow = EscrowBackend::new(&device.backend);
    let vault = escrowing_device(&device, &escrow, 2);
    vault.wipe().unwrap();
    {
        let db = rusqlite::Connection::open(device.path()).unwrap();
        let mut blob: Vec<u8> = db.query_row("SELECT blob FROM escrow WHERE seq = 2", [], |r| r.get(0)).unwrap();
        *blob.last_mut().unwrap() ^= 0x01;
        db.execute("UPDATE escrow SET blob = ?1 WHERE seq = 2", [blob]).unwrap();
    }
    let upload = vault.salvage(100).unwrap().unwrap();
    match escrow.salvage(&device.backend, &upload.bytes) {
        Err(BackendError::BatchRejected { kind: RejectReason::ChainBroken, .. }) => {}
        other => panic!("a modified row was not refused: {other:?}"),
    }
    assert_eq!(escrow.cursor, SyncCursor::initial(), "nothing was applied");
}

#[test]
fn a_row_sealed_by_a_thief_with_the_public_key_is_refused_by_the_backend() {
    let device = Device::new();
    let mut escrow = EscrowBackend::new(&device.backend);
    let vault = escrowing_device(&device, &escrow, 1);
    vault.wipe().unwrap();
    // The escrow key is public: a thief can seal an entry of their own,
    // but without the sync key its chain MAC is wrong.
    let enrolment: Vec<u8> = {
        let db = rusqlite::Connection::open(device.path()).unwrap();
        db.query_row("SELECT enrolment FROM escrow LIMIT 1", [], |r| r.get(0)).unwrap()
    };
    let grant = device.backend.grant(T0, 7);
    let issuers = TrustedIssuers::new(&[device.backend.issuer.issuer_key()]).unwrap();
    let jti = verify_signature(&grant, &issuers, &GrantPolicy::default()).unwrap().jti;
    let op = Operation::Put { collection: "visits".into(), key: "forged".into(), value: b"x".to_vec() };
    let forged = QueueEntry { body: EntryBody { seq: 3, grant_id: jti, time: T0, boots: Some(1), op }, mac: [1; 32] };
    let at = EscrowPlace { device_id: DEVICE, enrolment: &enrolment, seq: 3 };
    let blob = seal_entry(&escrow.public, &at, &forged, &grant).unwrap();
    {
        let db = rusqlite::Connection::open(device.path()).unwrap();
        db.execute("INSERT INTO escrow (enrolment, seq, blob) VALUES (?1, 3, ?2)", rusqlite::params![enrolment, blob])
            .unwrap();
    }
    let upload = vault.salvage(100).unwrap().unwrap();
    match escrow.salvage(&device.backend, &upload.bytes) {
        Err(BackendError::BatchRejected { kind: RejectReason::ChainBroken, .. }) => {}
        other => panic!("a forged row was not refused: {other:?}"),
    }
}

#[test]
fn a_replayed_salvage_applies_nothing() {
    let device = Device::new();
    let mut escrow = EscrowBackend::new(&device.backend);
    let vault = escrowing_device(&device, &escrow, 3);
    vault.wipe().unwrap();
    let upload = vault.salvage(100).unwrap().unwrap();
    let first = escrow.salvage(&device.backend, &upload.bytes).unwrap();
    assert_eq!(first.operations.len(), 4);
    let replay = escrow.salvage(&device.backend, &upload.bytes).unwrap();
    assert!(replay.operations.is_empty(), "a replay applied something");
    assert_eq!(replay.duplicates, 4);
    assert_eq!(replay.cursor, first.cursor);
}

#[test]
fn escrow_rows_written_back_after_their_receipt_are_not_applied_again() {
    let device = Device::new();
    let mut escrow = EscrowBackend::new(&device.backend);
    let vault = escrowing_device(&device, &escrow, 3);
    let written_before: Vec<(Vec<u8>, i64, Vec<u8>)> = {
        let db = rusqlite::Connection::open(device.path()).unwrap();
        let mut stmt = db.prepare("SELECT enrolment, seq, blob FROM escrow ORDER BY seq").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(written_before.len(), 4);

    // An ordinary sync: the receipt deletes the entries and their escrow.
    let session = vault.unlock(PIN.into()).unwrap();
    let queue = session.sync_queue();
    let batch = queue.next_batch(100).unwrap().unwrap();
    let verified = device.backend.verifier().verify(&batch.bytes, &device.backend.sync_key, &escrow.cursor).unwrap();
    assert_eq!(verified.operations.len(), 4);
    escrow.cursor = verified.cursor.clone();
    queue.acknowledge(verified.receipt).unwrap();
    assert_eq!(vault.escrowed_count().unwrap(), 0, "the receipt cleared the escrow in the same transaction");

    // The old rows written back, then the vault wiped and salvaged.
    vault.wipe().unwrap();
    {
        let db = rusqlite::Connection::open(device.path()).unwrap();
        for (enrolment, seq, blob) in &written_before {
            db.execute(
                "INSERT INTO escrow (enrolment, seq, blob) VALUES (?1, ?2, ?3)",
                rusqlite::params![enrolment, seq, blob],
            )
            .unwrap();
        }
    }
    let upload = vault.salvage(100).unwrap().unwrap();
    let again = escrow.salvage(&device.backend, &upload.bytes).unwrap();
    assert!(again.operations.is_empty(), "written-back rows were applied again");
    assert_eq!(again.duplicates, 4);
}

#[test]
fn without_an_escrow_key_nothing_is_escrowed_and_a_wipe_loses_unsynced_edits() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.put("visits", "v1", SECRET_VALUE.to_vec()).unwrap();
    assert_eq!(vault.escrowed_count().unwrap(), 0);
    vault.wipe().unwrap();
    assert_eq!(vault.salvage(100).unwrap(), None);
}

#[test]
fn an_escrow_key_not_signed_by_a_trusted_issuer_is_refused() {
    let device = Device::new();
    let escrow = EscrowBackend::new(&device.backend);
    let stranger = Backend::new();
    let forged = stranger.issuer.sign_escrow_key(&escrow.public, T0).unwrap();
    let config = device.backend.config().with_escrow_key(forged);
    assert!(matches!(device.open_with(config), Err(VaultError::InvalidInput { .. })));
    assert!(device.open_with(escrow.config(&device.backend)).is_ok());
}

/// How the re-base test uploads a batch: the backend's answer for the device.
type Upload<'a> = dyn FnMut(&mut EscrowBackend, Vec<u8>, u64) -> Vec<u8> + 'a;

/// The vault's files (db, -wal, -shm) as they are now, read while it is open.
fn copy_files(device: &Device) -> Vec<(std::path::PathBuf, Option<Vec<u8>>)> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| std::path::PathBuf::from(format!("{}{suffix}", device.path().display())))
        .map(|file| (file.clone(), std::fs::read(&file).ok()))
        .collect()
}

#[test]
fn escrowed_copies_follow_a_re_based_queue_and_a_salvage_applies_each_edit_once() {
    let device = Device::new();
    let mut escrow = EscrowBackend::new(&device.backend);
    let verifier = device.backend.verifier();
    let mut applied: Vec<AppliedEntry> = Vec::new();
    let mut upload = |escrow: &mut EscrowBackend, bytes: Vec<u8>, first_seq: u64| -> Vec<u8> {
        let overlapped: Vec<AppliedEntry> =
            applied.iter().filter(|a| a.seq + 1 >= first_seq && a.seq <= escrow.cursor.last_seq).cloned().collect();
        match verifier.verify_with_chain(&bytes, &device.backend.sync_key, &escrow.cursor, &overlapped) {
            Ok(verified) => {
                applied.extend(verified.operations.iter().map(|op| AppliedEntry { seq: op.seq, mac: op.mac.to_vec() }));
                escrow.cursor = verified.cursor;
                verified.receipt
            }
            Err(BackendError::Diverged { answer, .. }) => answer,
            Err(error) => panic!("refused: {error:?}"),
        }
    };
    let vault = device.open_with(escrow.config(&device.backend)).unwrap();
    let session = vault.enroll(PIN.into(), &device.backend.grant(T0, 7), device.backend.sync_key.clone()).unwrap();
    let put = |key: &str| session.put("visits", key, b"v".to_vec()).unwrap();
    let sync = |escrow: &mut EscrowBackend, upload: &mut Upload<'_>| {
        let queue = session.clone().sync_queue();
        while let Some(batch) = queue.next_batch(10).unwrap() {
            queue.acknowledge(upload(escrow, batch.bytes, batch.first_seq)).unwrap();
        }
    };
    put("before-0");
    sync(&mut escrow, &mut upload);
    put("in-copy-0"); // seq 2, pending in the copy
    let copy = copy_files(&device);
    put("after-copy-0");
    put("after-copy-1"); // seqs 3-4, applied after the copy
    sync(&mut escrow, &mut upload);
    assert_eq!((escrow.cursor.last_seq, vault.escrowed_count().unwrap()), (4, 0));
    drop((session, vault));

    // The copy written back: its queue (and escrow) hold seq 2 again.
    for (file, bytes) in &copy {
        match bytes {
            Some(bytes) => std::fs::write(file, bytes).unwrap(),
            None => drop(std::fs::remove_file(file)),
        }
    }
    device.clock.advance(60);
    let vault = device.open_with(escrow.config(&device.backend)).unwrap();
    let session = vault.unlock(PIN.into()).unwrap();
    session.put("visits", "new-0", b"x".to_vec()).unwrap();
    session.put("visits", "new-1", b"y".to_vec()).unwrap();
    // One batch, answered with the backend's chain position: the queue
    // re-bases the new edits after the backend's head (seqs 5-6).
    let queue = session.clone().sync_queue();
    let batch = queue.next_batch(10).unwrap().unwrap();
    queue.acknowledge(upload(&mut escrow, batch.bytes, batch.first_seq)).unwrap();
    assert_eq!(escrow.cursor.last_seq, 4, "nothing was applied from the diverged batch");

    // Wiped before the re-based edits were sent: the salvage carries them
    // under their new seqs and MACs, and each is applied once.
    vault.wipe().unwrap();
    let upload = vault.salvage(100).unwrap().unwrap();
    assert_eq!((upload.first_seq, upload.last_seq), (5, 6));
    let verified = escrow.salvage(&device.backend, &upload.bytes).unwrap();
    assert_eq!(keys_of(&verified), [("new-0".to_owned(), true), ("new-1".to_owned(), true)]);
    assert_eq!(verified.duplicates, 0);
}
