//! Queue entries: canonical form, MAC chain, sealed storage form.

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::crypto::{AadKind, Mac32, MacKey};
use crate::error::{Error, Result};
use crate::vault::VaultKeys;

/// Domain separation of the MAC input.
const MAC_DOMAIN: &[u8] = b"offline-auth/queue-entry/1";

/// What an entry did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Operation {
    Put { collection: String, key: String, value: Vec<u8> },
    Delete { collection: String, key: String },
}

impl Operation {
    pub(crate) fn collection(&self) -> &str {
        match self {
            Operation::Put { collection, .. } | Operation::Delete { collection, .. } => collection,
        }
    }
}

/// The MAC-covered part of an entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EntryBody {
    pub(crate) seq: u64,
    /// `jti` of the grant in force when the edit was made.
    pub(crate) grant_id: String,
    /// Trusted time of the edit (seconds since the epoch).
    pub(crate) time: i64,
    pub(crate) op: Operation,
}

/// An entry with its chain MAC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct QueueEntry {
    pub(crate) body: EntryBody,
    pub(crate) mac: Mac32,
}

#[derive(Serialize, Deserialize)]
enum EntryWire {
    V1(QueueEntry),
}

impl EntryBody {
    /// `HMAC-SHA256(SK, prev_mac ‖ domain ‖ postcard(self))`, with `sync_key`
    /// keyed once by the caller (`MacKey::new(&SK)`) for a whole batch.
    pub(crate) fn chain_mac(&self, sync_key: &MacKey, prev_mac: &Mac32) -> Result<Mac32> {
        let mut body = postcard::to_stdvec(self).map_err(|_| Error::Encoding)?;
        let mac = sync_key.mac(&[prev_mac, MAC_DOMAIN, &body]);
        body.zeroize();
        Ok(mac)
    }
}

impl QueueEntry {
    /// Seals the entry for the queue table (location = its seq).
    pub(crate) fn seal(&self, keys: &VaultKeys) -> Result<Vec<u8>> {
        let mut bytes = postcard::to_stdvec(&EntryWire::V1(self.clone())).map_err(|_| Error::Encoding)?;
        let sealed = keys.seal(AadKind::QueueEntry, &self.body.seq.to_be_bytes(), &bytes);
        bytes.zeroize();
        sealed
    }

    /// Opens the sealed entry stored under `seq`.
    pub(crate) fn open(keys: &VaultKeys, seq: u64, sealed: &[u8]) -> Result<Self> {
        let bytes = keys.open(AadKind::QueueEntry, &seq.to_be_bytes(), sealed)?;
        match postcard::from_bytes::<EntryWire>(&bytes) {
            Ok(EntryWire::V1(entry)) if entry.body.seq == seq => Ok(entry),
            _ => Err(Error::Tampered),
        }
    }
}
