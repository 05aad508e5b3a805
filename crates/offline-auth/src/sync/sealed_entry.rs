//! A queue entry as the device stores it: sealed to its seq with the vault's keys.

use offline_auth_proto::crypto::AadKind;
use offline_auth_proto::entry::QueueEntry;
use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::keys::VaultKeys;

/// Sealing and opening of a queue entry for the queue table.
pub(crate) trait SealedEntry: Sized {
    /// Seals the entry for the queue table (location = its seq).
    fn seal(&self, keys: &VaultKeys) -> Result<Vec<u8>>;
    /// Opens the sealed entry stored under `seq`.
    fn open(keys: &VaultKeys, seq: u64, sealed: &[u8]) -> Result<Self>;
}

impl SealedEntry for QueueEntry {
    fn seal(&self, keys: &VaultKeys) -> Result<Vec<u8>> {
        let mut bytes = postcard::to_stdvec(self).map_err(|_| Error::Encoding)?;
        let sealed = keys.seal(AadKind::QueueEntry, &self.body.seq.to_be_bytes(), &bytes);
        bytes.zeroize();
        sealed
    }

    fn open(keys: &VaultKeys, seq: u64, sealed: &[u8]) -> Result<Self> {
        let bytes = keys.open(AadKind::QueueEntry, &seq.to_be_bytes(), sealed)?;
        match postcard::from_bytes::<QueueEntry>(&bytes) {
            Ok(entry) if entry.body.seq == seq => Ok(entry),
            _ => Err(Error::Tampered),
        }
    }
}
