//! Escrowing queue entries: each entry, as the backend verifies it (body
//! and chain MAC), sealed with the grant that covers it to the backend's
//! escrow key (`offline_auth_proto::escrow`) and stored in the escrow table
//! (`storage/escrow.rs`), which no wipe clears and no device key opens.
//!
//! Written in the same transaction as the queue row, so the two never
//! disagree about what was queued; deleted in the same transaction as the
//! acknowledgement that covers it; written again with the new seqs when a
//! queue is re-based. Without an escrow key configured nothing is written.

use offline_auth_proto::entry::QueueEntry;
use offline_auth_proto::escrow::{seal_entry, EscrowPlace};
use rusqlite::Transaction;

use crate::engine::{VaultShared, VaultState};
use crate::error::{Error, Result};
use crate::storage::EscrowRow;

/// Seals `entry` (covered by the grant `grant`) for the enrolment
/// `enrolment` and stores it, if the vault has an escrow key.
pub(crate) fn escrow_entry(
    tx: &Transaction<'_>,
    vault: &VaultShared,
    enrolment: &[u8],
    entry: &QueueEntry,
    grant: &str,
) -> Result<()> {
    let Some(key) = &vault.escrow else {
        return Ok(());
    };
    let seq = entry.body.seq;
    let at = EscrowPlace { device_id: &vault.config.device_id, enrolment, seq };
    let blob = seal_entry(key, &at, entry, grant)?;
    EscrowRow { enrolment: enrolment.to_vec(), seq, blob }.put(tx)
}

/// The grant token `state` holds for the entry's `grant_id`.
pub(crate) fn grant_of<'a>(state: &'a VaultState, entry: &QueueEntry) -> Result<&'a str> {
    state
        .grants()
        .iter()
        .find(|grant| grant.claims.jti == entry.body.grant_id)
        .map(|grant| grant.token.as_str())
        .ok_or(Error::Tampered)
}
