//! `SyncQueue`: the device side of sync.
//!
//! Entries stay stored (sealed under the vault key) until the backend's
//! receipt for them verifies (`acknowledge`). `next_batch` always starts
//! after the last acknowledged entry, so a batch lost, cut short or
//! unanswered in transit is simply sent again; the backend's cursor makes a
//! resend harmless. The device never deletes on its own idea of what it sent. Before a batch
//! leaves the device its chain is checked from the last acknowledged MAC, so
//! a tampered queue is reported here rather than by the backend.

use std::collections::BTreeSet;
use std::sync::Arc;

use offline_auth_proto::batch::Batch;
use offline_auth_proto::entry::QueueEntry;
use offline_auth_proto::limits::{MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, MAX_BATCH_GRANTS};
use offline_auth_proto::receipt::Answer;

use super::rebase;
use super::sealed_entry::SealedEntry;
use super::server_time;
use crate::crypto::ct_eq;
use crate::engine::{VaultShared, VaultState};
use crate::error::{Error, Result, VaultError};
use crate::keys::VaultKeys;
use crate::storage::{EscrowRow, QueueRow};

/// Room kept in a batch for its header and encoding overhead.
const BATCH_HEADROOM: usize = 64 * 1024;

/// A batch ready to upload.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
#[non_exhaustive]
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

/// What the queue needs from the session that made it (implemented by
/// `OfflineSession`): its vault, and its keys while it is unlocked.
pub(crate) trait QueueSession: Send + Sync + std::fmt::Debug {
    /// The vault the session belongs to.
    fn vault(&self) -> &VaultShared;
    /// The session's keys, after the checks of a metadata call (allowed
    /// after expiry or a rollback, so the app can sync and recover).
    fn queue_keys(&self) -> Result<Arc<VaultKeys>>;
}

/// The queue of edits made in a session, waiting for the backend.
#[derive(Debug, uniffi::Object)]
pub struct SyncQueue {
    session: Arc<dyn QueueSession>,
}

#[uniffi::export]
impl SyncQueue {
    /// Entries not yet acknowledged by the backend, as the sealed state
    /// counts them (rows written back or added to the file do not count).
    ///
    /// # Errors
    /// `SessionLocked`, `Tampered`, `Storage`.
    pub fn pending_count(&self) -> Result<u64, VaultError> {
        let count = self.session.queue_keys().and_then(|keys| {
            let state = self.session.vault().db.read(|c| VaultState::load(c, &keys))?;
            state.pending_entries()
        });
        self.report("pending_count", count)
    }

    /// The oldest unacknowledged entries (at most `max_entries`, and at most
    /// [`MAX_BATCH_BYTES`]) as a batch for the backend, or `None` when the
    /// queue is empty. Calling it again before `acknowledge` returns the same
    /// entries (plus newer ones that fit).
    ///
    /// Once the backend's time is known (`PinVault::note_server_time`), the
    /// batch holds only the leading entries the backend's clock will accept:
    /// entries stamped after its time (plus the skew) wait.
    ///
    /// # Errors
    /// `SessionLocked`, `InvalidInput` (`max_entries` is 0), `Tampered`
    /// (the stored chain does not verify), `Storage`; `ClockAhead` when the
    /// oldest pending entry is stamped after the backend's time (the
    /// device's clock ran ahead): it waits, with how long in the error.
    pub fn next_batch(&self, max_entries: u32) -> Result<Option<SyncBatch>, VaultError> {
        self.report("next_batch", self.build_batch(max_entries))
    }

    /// Deletes, durably, every entry the backend's `receipt` says it applied
    /// (the `receipt` of `VerifiedBatch`, as the server returned it), and
    /// their escrowed copies in the same transaction. A
    /// receipt for entries already deleted is harmless.
    ///
    /// The backend's answer to a queue that parted from what it applied
    /// (files written back with an older copy) goes here too: the entries
    /// it applied are deleted and the rest move after its head, with new
    /// seqs, re-chained, to be sent again; answering twice moves nothing.
    ///
    /// # Errors
    /// `ReceiptInvalid` (it does not verify with this vault's sync key, is
    /// for another device, names a seq never sent in a batch, or a chain
    /// or queue that is not this one's; nothing is deleted or moved),
    /// `SessionLocked`, `Tampered`, `Storage`.
    pub fn acknowledge(&self, receipt: Vec<u8>) -> Result<(), VaultError> {
        self.report("acknowledge", self.acknowledge_receipt(&receipt))
    }
}

impl SyncQueue {
    /// The end of an exported call: its events delivered, its error converted.
    fn report<T>(&self, operation: &'static str, result: Result<T>) -> Result<T, VaultError> {
        self.session.vault().events.report(operation, result)
    }

    /// The queue of `session`'s vault.
    pub(crate) fn new(session: Arc<dyn QueueSession>) -> Self {
        Self { session }
    }

    fn build_batch(&self, max_entries: u32) -> Result<Option<SyncBatch>> {
        if max_entries == 0 {
            return Err(Error::InvalidInput("max_entries must be at least 1".into()));
        }
        let limit = max_entries.min(MAX_BATCH_ENTRIES);
        let keys = &self.session.queue_keys()?;
        let vault = self.session.vault();
        let reading = vault.reading()?;
        vault.db.write(|tx| {
            let mut state = VaultState::load(tx, keys)?;
            let server_now = server_time::estimate(tx, &reading)?;
            let (acked_through, acked_mac) = state.acked();
            let rows = QueueRow::after(tx, acked_through, limit)?;
            if rows.is_empty() {
                // Stored entries are exactly (acked_through, head_seq]: an empty
                // queue with a head ahead of it lost its entries.
                if state.head_seq() != acked_through {
                    return Err(Error::Tampered);
                }
                return Ok(None);
            }
            let sync_key = state.sync_mac_key()?;
            let grants_len: usize = state.grants().iter().map(|g| g.token.len()).sum();
            let budget = MAX_BATCH_BYTES.saturating_sub(BATCH_HEADROOM + grants_len);
            let (mut prev_mac, mut expected_seq, mut used) = (acked_mac, acked_through, 0usize);
            let mut entries = Vec::with_capacity(rows.len());
            let mut used_ids: BTreeSet<String> = BTreeSet::new();
            for row in &rows {
                used = used.saturating_add(row.body.len());
                if used > budget && !entries.is_empty() {
                    break;
                }
                let entry = QueueEntry::open(keys, row.seq, &row.body)?;
                // A batch carries at most MAX_BATCH_GRANTS grants: the rest waits.
                if !used_ids.contains(&entry.body.grant_id) {
                    if used_ids.len() >= MAX_BATCH_GRANTS as usize {
                        break;
                    }
                    used_ids.insert(entry.body.grant_id.clone());
                }
                expected_seq = expected_seq.checked_add(1).ok_or(Error::Tampered)?;
                let mac = entry.body.chain_mac(&sync_key, &prev_mac)?;
                if entry.body.seq != expected_seq || !ct_eq(&mac, &entry.mac) {
                    return Err(Error::Tampered);
                }
                prev_mac = entry.mac;
                entries.push(entry);
            }
            // A batch that took every stored entry must end at the newest one
            // ever appended; otherwise entries were deleted from the end.
            let took_all = entries.len() == rows.len() && rows.len() < limit as usize;
            if took_all && expected_seq != state.head_seq() {
                return Err(Error::Tampered);
            }
            if let Some(server_now) = server_now {
                // Only what the backend's clock will take; `ClockAhead` if nothing.
                let skew = vault.config.grant_clock_skew_secs;
                let taken = server_time::acceptable(entries.iter().map(|e| e.body.time), server_now, skew)?;
                entries.truncate(taken);
                used_ids = entries.iter().map(|e| e.body.grant_id.clone()).collect();
            }
            let grants: Vec<String> =
                state.grants().iter().filter(|g| used_ids.contains(&g.claims.jti)).map(|g| g.token.clone()).collect();
            if grants.len() != used_ids.len() {
                return Err(Error::Tampered);
            }
            let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
                return Ok(None);
            };
            let (first_seq, last_seq) = (first.body.seq, last.body.seq);
            let entry_count = u32::try_from(entries.len()).map_err(|_| Error::Encoding)?;
            let bytes = Batch { device_id: vault.config.device_id.clone(), grants, entries }.to_bytes()?;
            state.note_batched(last_seq);
            state.store(tx, keys)?;
            Ok(Some(SyncBatch { bytes, first_seq, last_seq, entry_count }))
        })
    }

    fn acknowledge_receipt(&self, bytes: &[u8]) -> Result<()> {
        let keys = &self.session.queue_keys()?;
        let vault = self.session.vault();
        vault.db.write(|tx| {
            let mut state = VaultState::load(tx, keys)?;
            let receipt = match Answer::verify(bytes, &state.sync_mac_key()?)? {
                Answer::Applied(receipt) if receipt.device_id == vault.config.device_id => receipt,
                Answer::Position(at) if at.device_id == vault.config.device_id => {
                    rebase::apply(tx, vault, keys, &mut state, &at)?;
                    return state.store(tx, keys);
                }
                _ => return Err(Error::ReceiptInvalid("the receipt is for another device".into())),
            };
            let through_seq = receipt.through_seq;
            let (acked_through, acked_mac) = state.acked();
            if through_seq <= acked_through {
                if through_seq == acked_through && !ct_eq(&receipt.head_mac, &acked_mac) {
                    return Err(Error::ReceiptInvalid("the receipt names another chain".into()));
                }
                return Ok(());
            }
            if through_seq > state.batched_through() {
                return Err(Error::ReceiptInvalid(format!(
                    "seq {through_seq} was never sent: the last batched seq is {}",
                    state.batched_through()
                )));
            }
            let row = QueueRow::get(tx, through_seq)?.ok_or(Error::Tampered)?;
            let entry = QueueEntry::open(keys, through_seq, &row.body)?;
            if !ct_eq(&entry.mac, &receipt.head_mac) {
                return Err(Error::ReceiptInvalid("the receipt names another chain".into()));
            }
            QueueRow::delete_through(tx, through_seq)?;
            EscrowRow::delete_through(tx, keys.vault_id(), through_seq)?;
            state.acknowledge(through_seq, entry.mac);
            state.store(tx, keys)
        })
    }
}
