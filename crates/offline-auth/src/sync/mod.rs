//! The sync queue: what a device did offline, in a form the backend can prove.
//!
//! Every `put`/`delete` appends a `QueueEntry` (`offline_auth_proto::entry`)
//! whose MAC, keyed by the sync key `SK` the backend provisioned, chains it
//! to the entry before: `mac_n = HMAC-SHA256(SK, mac_{n-1} ‖ canonical(entry_n))`.
//! A batch carries the entries and the grants that covered them; the backend's
//! `SyncVerifier` (in `offline-auth-backend`) replays the chain from its stored cursor, so any
//! reordering, gap, replay or alteration breaks it.
//!
//! `queue.rs` is the exported [`SyncQueue`] (batches out, receipts in);
//! `rebase.rs` moves the pending entries after the backend's head when its
//! answer shows the queue parted from what it applied (a written-back
//! copy); `sealed_entry.rs` is how an entry is stored; `server_time.rs`
//! keeps the backend's time and holds back what it would refuse; `escrow.rs` seals
//! each entry also to the backend's escrow key, where a wipe cannot reach it. The queue reaches the
//! session that made it through [`QueueSession`], so it depends on the
//! engine only, not on the session.

mod escrow;
mod queue;
mod rebase;
mod sealed_entry;
pub(crate) mod server_time;

pub(crate) use escrow::escrow_entry;
pub(crate) use queue::QueueSession;
pub use queue::{SyncBatch, SyncQueue};
pub(crate) use sealed_entry::SealedEntry;
