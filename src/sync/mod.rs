//! The sync queue: what a device did offline, in a form the backend can prove.
//!
//! Every `put`/`delete` appends a [`entry::QueueEntry`] whose MAC, keyed by
//! the sync key `SK` the backend provisioned, chains it to the entry before:
//! `mac_n = HMAC-SHA256(SK, mac_{n-1} ‖ canonical(entry_n))`. A batch carries
//! the entries and the grants that covered them; the backend's
//! [`crate::SyncVerifier`] replays the chain from its stored cursor, so any
//! reordering, gap, replay or alteration breaks it.

pub(crate) mod batch;
pub(crate) mod batch_reader;
pub(crate) mod entry;
mod queue;
pub(crate) mod receipt;

pub use batch::{SyncBatch, SyncCursor, SyncOperation, VerifiedBatch};
pub use queue::SyncQueue;

/// Longest collection name (bytes).
pub const MAX_COLLECTION_LEN: usize = 128;
/// Longest record key (bytes).
pub const MAX_KEY_LEN: usize = 512;
/// Largest record value (bytes): records are small structured data.
pub const MAX_VALUE_LEN: usize = 64 * 1024;
/// Most entries in one batch.
pub const MAX_BATCH_ENTRIES: u32 = 10_000;
/// Largest batch (bytes), checked before parsing.
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;
/// Most grants in one batch (each renewal while edits wait adds one).
pub const MAX_BATCH_GRANTS: u32 = 64;
