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
//! reader could see. Cost: one pass over the records per process, then a
//! hash lookup per record read; about 100 bytes of memory per record.

use std::collections::HashMap;

use rusqlite::Connection;

use super::load_state;
use crate::crypto::Mac32;
use crate::error::{Error, Result};
use crate::records::RecordBody;
use crate::storage::RecordRow;
use crate::vault::{VaultKeys, VaultShared, VaultState};

/// Versions of the live records of one enrolment, by collection tag and row key.
pub(crate) struct RecordIndex {
    vault_id: Vec<u8>,
    by_collection: HashMap<Mac32, HashMap<Mac32, u64>>,
}

/// `digest += term` over 256-bit little-endian numbers.
pub(crate) fn digest_add(digest: &mut [u8; 32], term: &[u8; 32]) {
    let mut carry = 0u16;
    for (d, t) in digest.iter_mut().zip(term) {
        let sum = u16::from(*d) + u16::from(*t) + carry;
        *d = sum.to_le_bytes()[0];
        carry = sum >> 8;
    }
}

/// `digest -= term` over 256-bit little-endian numbers.
pub(crate) fn digest_sub(digest: &mut [u8; 32], term: &[u8; 32]) {
    let mut borrow = 0i16;
    for (d, t) in digest.iter_mut().zip(term) {
        let diff = i16::from(*d) - i16::from(*t) - borrow;
        borrow = i16::from(diff < 0);
        *d = diff.rem_euclid(256).to_le_bytes()[0];
    }
}

fn mac32(bytes: &[u8]) -> Result<Mac32> {
    bytes.try_into().map_err(|_| Error::Tampered)
}

impl RecordIndex {
    /// Opens every record and checks the set against the state's digest.
    fn build(conn: &Connection, keys: &VaultKeys, state: &VaultState) -> Result<Self> {
        let mut digest = [0u8; 32];
        let mut count = 0u64;
        let mut by_collection: HashMap<Mac32, HashMap<Mac32, u64>> = HashMap::new();
        RecordRow::for_each(conn, |row| {
            let body = RecordBody::open(keys, &row)?;
            let location = mac32(&row.location)?;
            digest_add(&mut digest, &keys.record_version_tag(&location, body.version));
            count += 1;
            by_collection.entry(mac32(&row.collection)?).or_default().insert(location, body.version);
            Ok(())
        })?;
        if count != state.record_count || !crate::crypto::ct_eq(&digest, &state.records_digest) {
            return Err(Error::Tampered);
        }
        Ok(Self { vault_id: keys.vault_id().to_vec(), by_collection })
    }

    /// The version of the record at `location` in `collection`, if it exists.
    pub(crate) fn version(&self, collection: &Mac32, location: &Mac32) -> Option<u64> {
        self.by_collection.get(collection).and_then(|records| records.get(location)).copied()
    }

    /// Whether `found` (row key → version) is exactly `collection`'s records.
    pub(crate) fn collection_is(&self, collection: &Mac32, found: &HashMap<Mac32, u64>) -> bool {
        match self.by_collection.get(collection) {
            Some(records) => records == found,
            None => found.is_empty(),
        }
    }

    /// Records a committed write (`Some(version)`) or delete (`None`).
    pub(crate) fn record(&mut self, collection: Mac32, location: Mac32, version: Option<u64>) {
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

/// Checks what a read found against the index, rebuilding the index from
/// `conn` if it is missing, belongs to another enrolment, or disagrees.
///
/// Call with the database lock held (inside `Db::read`/`Db::write`).
pub(crate) fn check(
    vault: &VaultShared,
    conn: &Connection,
    keys: &VaultKeys,
    agrees: impl Fn(&RecordIndex) -> bool,
) -> Result<()> {
    let mut guard = vault.record_index();
    if guard.as_ref().is_some_and(|index| index.vault_id == keys.vault_id() && agrees(index)) {
        return Ok(());
    }
    let state = load_state(conn, keys)?;
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
pub(crate) fn note_write(
    vault: &VaultShared,
    keys: &VaultKeys,
    collection: Mac32,
    location: Mac32,
    version: Option<u64>,
) {
    if let Some(index) = vault.record_index().as_mut().filter(|index| index.vault_id == keys.vault_id()) {
        index.record(collection, location, version);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_then_sub_is_identity_with_carries() {
        let mut digest = [0xff; 32];
        let term = [0x01; 32];
        digest_add(&mut digest, &term);
        assert_ne!(digest, [0xff; 32]);
        digest_sub(&mut digest, &term);
        assert_eq!(digest, [0xff; 32]);
        let mut zero = [0u8; 32];
        digest_sub(&mut zero, &[0x02; 32]);
        digest_add(&mut zero, &[0x02; 32]);
        assert_eq!(zero, [0; 32]);
    }

    #[test]
    fn addition_is_order_independent() {
        let (a, b) = ([3u8; 32], [250u8; 32]);
        let (mut x, mut y) = ([7u8; 32], [7u8; 32]);
        digest_add(&mut x, &a);
        digest_add(&mut x, &b);
        digest_add(&mut y, &b);
        digest_add(&mut y, &a);
        assert_eq!(x, y);
    }
}
