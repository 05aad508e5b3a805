//! The batch format the device uploads and the backend verifies.
//!
//! Bytes: the magic `OASB`, then postcard of `BatchWire` (an enum whose
//! variant index is the format version). Both versions hold the device id,
//! the grants (compact JWS) that cover the entries, and the entries with
//! their chain MACs, in seq order. Version 1 (the first release) has entries
//! without a boot count; version 2 tags each entry with its own format, so a
//! queue written before an upgrade travels with the entries written after.
//! Devices send version 2; the verifier reads both.

use serde::Serialize;

use super::entry::QueueEntry;
use crate::error::{Error, Result};

/// First bytes of every batch.
pub(crate) const MAGIC: &[u8; 4] = b"OASB";

/// A batch ready to upload.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncBatch {
    /// The versioned, self-describing batch to send to the backend.
    pub bytes: Vec<u8>,
    /// Seq of the first entry.
    pub first_seq: u64,
    /// Seq of the last entry: acknowledge this once the backend accepted it.
    pub last_seq: u64,
    /// Number of entries.
    pub entry_count: u32,
}

/// Where the backend is in a device's chain. Store it per device after each
/// accepted batch; start from [`SyncCursor::initial`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncCursor {
    /// Seq of the last entry applied (0 before the first).
    pub last_seq: u64,
    /// MAC of that entry (32 zero bytes before the first).
    pub last_mac: Vec<u8>,
}

impl SyncCursor {
    /// The cursor of a device that never synced.
    pub fn initial() -> Self {
        Self { last_seq: 0, last_mac: vec![0; 32] }
    }
}

/// One verified edit, ready to apply. Its `Debug` output omits the value.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncOperation {
    /// The entry's seq.
    pub seq: u64,
    /// When the device made the edit (its trusted time, seconds since the epoch).
    pub time: i64,
    /// `jti` of the grant in force.
    pub grant_id: String,
    /// Device boots since enrolment when the edit was made (`None` from
    /// devices on the first release). Boots that grow while `time` barely
    /// moves mean a device restarted to hold its clock back.
    pub boots: Option<u32>,
    /// Collection of the record.
    pub collection: String,
    /// Key of the record.
    pub key: String,
    /// The new value, or `None` for a delete.
    pub value: Option<Vec<u8>>,
}

impl std::fmt::Debug for SyncOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncOperation")
            .field("seq", &self.seq)
            .field("time", &self.time)
            .field("collection", &self.collection)
            .field("value", &self.value.as_ref().map(|v| format!("<{} bytes redacted>", v.len())))
            .finish_non_exhaustive()
    }
}

/// What the backend may apply, and the cursor to store afterwards.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VerifiedBatch {
    /// The device the batch came from (the grants' `dev`).
    pub device_id: String,
    /// The user who made the edits (the grants' `sub`).
    pub user_id: String,
    /// New operations, in order.
    pub operations: Vec<SyncOperation>,
    /// Entries already applied earlier (seq ≤ cursor), skipped.
    pub duplicates: u64,
    /// The cursor to store once the operations are applied.
    pub cursor: SyncCursor,
    /// The answer for the device once the operations and the cursor are
    /// committed: it passes these bytes to `SyncQueue::acknowledge`, which
    /// deletes exactly the entries applied (MACed with the sync key).
    pub receipt: Vec<u8>,
}

/// A batch, in the current (version 2) form, as the device writes it. The
/// verifier reads batches with `batch_reader.rs`, without building this.
#[derive(Serialize)]
pub(crate) struct Batch {
    pub(crate) device_id: String,
    pub(crate) grants: Vec<String>,
    pub(crate) entries: Vec<QueueEntry>,
}

/// A first-release batch (tests write one to prove it is still read).
#[cfg(test)]
#[derive(Serialize)]
pub(crate) struct BatchV1 {
    pub(crate) device_id: String,
    pub(crate) grants: Vec<String>,
    pub(crate) entries: Vec<super::entry::EntryV1>,
}

/// The versioned form of a batch (the variant index is the version).
#[cfg(test)]
#[derive(Serialize)]
pub(crate) enum BatchWire {
    V1(BatchV1),
}

impl Batch {
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut bytes = MAGIC.to_vec();
        postcard::to_io(&BatchWireRef::V2(self), &mut bytes).map_err(|_| Error::Encoding)?;
        Ok(bytes)
    }
}

/// The versioned form of a batch for serialisation without clones.
#[derive(Serialize)]
enum BatchWireRef<'a> {
    #[allow(dead_code)] // keeps the variant index of V2 at 1
    V1(()),
    V2(&'a Batch),
}
