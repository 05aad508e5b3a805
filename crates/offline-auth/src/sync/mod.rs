//! The sync queue: what a device did offline, in a form the backend can prove.
//!
//! Every `put`/`delete` appends a [`entry::QueueEntry`] whose MAC, keyed by
//! the sync key `SK` the backend provisioned, chains it to the entry before:
//! `mac_n = HMAC-SHA256(SK, mac_{n-1} ‖ canonical(entry_n))`. A batch carries
//! the entries and the grants that covered them; the backend's
//! `SyncVerifier` (in `offline-auth-backend`) replays the chain from its stored cursor, so any
//! reordering, gap, replay or alteration breaks it.

mod queue;
mod sealed_entry;

pub(crate) use offline_auth_proto::{batch, entry, receipt};
pub use queue::SyncQueue;
pub(crate) use sealed_entry::SealedEntry;

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
