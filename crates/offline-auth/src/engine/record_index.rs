//! The record set: which version of which record exists.
//!
//! Sealing a record to its row stops edits, moves and swaps, but not the
//! return of an older ciphertext of the same row, nor a deleted row. So the
//! sealed state also carries a digest of the whole record set: the sum
//! (mod 2^256) of a keyed PRF of `(row key, version)` over every live record,
//! and their count. The version is the seq of the queue entry that wrote it.
//!
//! Checking one record against a digest of all of them needs all of them,
//! so the first data call of a process opens every record once, checks the
//! digest and keeps the versions in memory ([`RecordIndex`]). From then on a
//! read checks the version it found against the index; a write checks the
//! version it replaces, then adjusts the digest in the same transaction and
//! the index after it. A mismatch rebuilds the index from the file (another
//! handle may have written) and only a mismatch against the rebuilt, verified
//! index is `Tampered`.
//!
//! The index is only touched with the database lock held (inside
//! `Db::read`/`Db::write`), so it never disagrees with what a concurrent
//! reader could see. The digest itself lives in the sealed state and
//! changes only through `VaultState::add_record`/`remove_record`. Cost: one pass over the records per process, then a
//! hash lookup per record read; about 100 bytes of memory per record.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;

use super::state::{digest_add, VaultState};
use crate::crypto::Mac32;
use crate::error::{Error, Result};
use crate::keys::VaultKeys;
use crate::records::RecordBody;
use crate::storage::RecordRow;

/// Record versions by row key, as the index and a listing hold them.
pub(crate) type RecordVersions = HashMap<Mac32, u64, BuildHasherDefault<PrfKeyHasher>>;

/// Hashes a 32-byte key by its first eight bytes. Every key in these maps is
/// a PRF output under a vault-key subkey (a row key or a collection tag of a
/// record that opened), so no one without the key can choose keys that
/// collide, and a keyed hash of them (SipHash, the default) would only cost
/// time on every read.
#[derive(Default)]
pub(crate) struct PrfKeyHasher(u64);

impl Hasher for PrfKeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        for (dst, src) in word.iter_mut().zip(bytes) {
            *dst = *src;
        }
        self.0 = self.0.rotate_left(17) ^ u64::from_le_bytes(word);
    }

    fn write_usize(&mut self, _length: usize) {
        // The length prefix of a `[u8; 32]` key: always 32, adds nothing.
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Versions of the live records of one enrolment, by collection tag and row key.
pub(crate) struct RecordIndex {
    vault_id: Vec<u8>,
    by_collection: HashMap<Mac32, RecordVersions, BuildHasherDefault<PrfKeyHasher>>,
}

fn mac32(bytes: &[u8]) -> Result<Mac32> {
    bytes.try_into().map_err(|_| Error::Tampered)
}

impl RecordIndex {
    /// Opens every record and checks the set against the state's digest.
    fn build(conn: &Connection, keys: &VaultKeys, state: &VaultState) -> Result<Self> {
        let mut digest = [0u8; 32];
        let mut count = 0u64;
        let mut by_collection: HashMap<Mac32, RecordVersions, _> = HashMap::default();
        RecordRow::for_each(conn, |row| {
            let body = RecordBody::open(keys, &row)?;
            let location = mac32(&row.location)?;
            digest_add(&mut digest, &keys.record_version_tag(&location, body.version));
            count += 1;
            by_collection.entry(mac32(&row.collection)?).or_default().insert(location, body.version);
            Ok(())
        })?;
        if !state.records_are(&digest, count) {
            return Err(Error::Tampered);
        }
        Ok(Self { vault_id: keys.vault_id().to_vec(), by_collection })
    }

    /// The version of the record at `location` in `collection`, if it exists.
    pub(crate) fn version(&self, collection: &Mac32, location: &Mac32) -> Option<u64> {
        self.by_collection.get(collection).and_then(|records| records.get(location)).copied()
    }

    /// Whether `found` (row key → version) is exactly `collection`'s records.
    pub(crate) fn collection_is(&self, collection: &Mac32, found: &RecordVersions) -> bool {
        match self.by_collection.get(collection) {
            Some(records) => records == found,
            None => found.is_empty(),
        }
    }

    /// Records a committed write (`Some(version)`) or delete (`None`).
    fn record(&mut self, collection: Mac32, location: Mac32, version: Option<u64>) {
        let records = self.by_collection.entry(collection).or_default();
        match version {
            Some(version) => {
                records.insert(location, version);
            }
            None => {
                records.remove(&location);
            }
        }
    }
}

/// The vault's record index, built on first use. Locked only inside a
/// database transaction or read, never the other way round.
#[derive(Default)]
pub(crate) struct RecordIndexCell(Mutex<Option<RecordIndex>>);

impl RecordIndexCell {
    fn lock(&self) -> MutexGuard<'_, Option<RecordIndex>> {
        // The index is replaced whole or updated by single inserts: a
        // poisoned one is still consistent (and a wrong one only triggers a
        // verified rebuild).
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks what a read found against the index, rebuilding the index from
    /// `conn` if it is missing, belongs to another enrolment, or disagrees.
    ///
    /// Call with the database lock held (inside `Db::read`/`Db::write`).
    pub(crate) fn check(
        &self,
        conn: &Connection,
        keys: &VaultKeys,
        agrees: impl Fn(&RecordIndex) -> bool,
    ) -> Result<()> {
        let mut guard = self.lock();
        if guard.as_ref().is_some_and(|index| index.vault_id == keys.vault_id() && agrees(index)) {
            return Ok(());
        }
        let state = VaultState::load(conn, keys)?;
        let index = RecordIndex::build(conn, keys, &state)?;
        let agreed = agrees(&index);
        *guard = Some(index);
        if agreed {
            Ok(())
        } else {
            Err(Error::Tampered)
        }
    }

    /// Notes a committed change in the index, if it is this enrolment's.
    pub(crate) fn note_write(&self, keys: &VaultKeys, collection: Mac32, location: Mac32, version: Option<u64>) {
        if let Some(index) = self.lock().as_mut().filter(|index| index.vault_id == keys.vault_id()) {
            index.record(collection, location, version);
        }
    }
}
