//! Re-basing the queue after the backend's head, on the backend's word.
//!
//! A device whose files were written back with an older copy holds a queue
//! behind what the backend applied: its older entries are applied already,
//! its newer ones reuse seqs the backend applied to other edits. The
//! backend answers such a batch with a [`ChainPosition`], MACed with the
//! sync key like a receipt: it applied through `through_seq` (chain MAC
//! `head_mac`), the batch agreed with its chain through `common_seq`, and,
//! if the chains parted, the device's entry after that had `diverged_mac`.
//!
//! The device checks that the answer is about this queue (the MACs at
//! `common_seq` and after it are its own), drops the entries through
//! `common_seq` (applied), and moves the rest after the backend's head:
//! new seqs, re-chained from `head_mac` under the sync key, so the backend
//! verifies them as any other entries and applies each once. The edits the
//! backend applied after `common_seq` are the ones the copy lost; the
//! backend reports them. An answer for a head this queue already
//! acknowledged (a replay, or one overtaken by a receipt) changes nothing.

use offline_auth_proto::entry::QueueEntry;
use offline_auth_proto::receipt::ChainPosition;
use rusqlite::Transaction;

use super::escrow::{escrow_entry, grant_of};
use super::sealed_entry::SealedEntry;
use crate::crypto::{ct_eq, Mac32};
use crate::engine::{VaultShared, VaultState};
use crate::error::{Error, Result};
use crate::keys::VaultKeys;
use crate::storage::{EscrowRow, QueueRow};

/// Entries re-chained per step (bounds the memory a re-base holds).
const CHUNK: u32 = 512;

fn refused(reason: &str) -> Error {
    Error::ReceiptInvalid(reason.to_owned())
}

/// The chain MAC of this queue's entry `seq` (the acknowledged MAC for the
/// acknowledged seq), or `None` if the queue does not hold it.
fn mac_at(tx: &Transaction<'_>, keys: &VaultKeys, state: &VaultState, seq: u64) -> Result<Option<Mac32>> {
    let (acked_through, acked_mac) = state.acked();
    if seq == acked_through {
        return Ok(Some(acked_mac));
    }
    if seq < acked_through || seq > state.head_seq() {
        return Ok(None);
    }
    let row = QueueRow::get(tx, seq)?.ok_or(Error::Tampered)?;
    Ok(Some(QueueEntry::open(keys, seq, &row.body)?.mac))
}

/// Acts on a verified chain position for this device (see the module essay).
pub(super) fn apply(
    tx: &Transaction<'_>,
    vault: &VaultShared,
    keys: &VaultKeys,
    state: &mut VaultState,
    at: &ChainPosition,
) -> Result<()> {
    let (acked_through, acked_mac) = state.acked();
    let (through, common) = (at.through_seq, at.common_seq);
    if through <= acked_through {
        // A replay, or overtaken by a later receipt: nothing to re-base.
        if through == acked_through && !ct_eq(&at.head_mac, &acked_mac) {
            return Err(refused("the answer names another chain"));
        }
        return Ok(());
    }
    if common > through || common < acked_through {
        return Err(refused("the answer contradicts what the backend acknowledged"));
    }
    if !mac_at(tx, keys, state, common)?.is_some_and(|mac| ct_eq(&mac, &at.common_mac)) {
        return Err(refused("the answer names another chain"));
    }
    // The queue holds the backend's head itself: an ordinary receipt.
    if mac_at(tx, keys, state, through)?.is_some_and(|mac| ct_eq(&mac, &at.head_mac)) {
        return acknowledge_through(tx, keys, state, through, at.head_mac);
    }
    match at.diverged_mac {
        Some(theirs) => {
            let next = common.checked_add(1).ok_or(Error::Tampered)?;
            if !mac_at(tx, keys, state, next)?.is_some_and(|mac| ct_eq(&mac, &theirs)) {
                return Err(refused("the answer is about another queue"));
            }
            rebase(tx, (vault, keys), state, common, (through, at.head_mac))
        }
        // The batch ended where the chains still agreed: if that was this
        // queue's newest entry, it holds nothing the backend lacks.
        None if common == state.head_seq() => rebase(tx, (vault, keys), state, common, (through, at.head_mac)),
        // Otherwise what follows was not compared yet: acknowledge what was.
        None => acknowledge_through(tx, keys, state, common, at.common_mac),
    }
}

fn acknowledge_through(
    tx: &Transaction<'_>,
    keys: &VaultKeys,
    state: &mut VaultState,
    seq: u64,
    mac: Mac32,
) -> Result<()> {
    QueueRow::delete_through(tx, seq)?;
    EscrowRow::delete_through(tx, keys.vault_id(), seq)?;
    state.acknowledge(seq, mac);
    Ok(())
}

/// Drops the entries through `common` (applied) and moves the rest after
/// `through`, re-chained from its MAC under the sync key; their escrowed
/// copies move with them (sealed again for the new seqs and MACs).
fn rebase(
    tx: &Transaction<'_>,
    (vault, keys): (&VaultShared, &VaultKeys),
    state: &mut VaultState,
    common: u64,
    through: (u64, Mac32),
) -> Result<()> {
    let sync_key = state.sync_mac_key()?;
    let shift = through.0.checked_sub(common).ok_or(Error::Tampered)?;
    let old_mac = mac_at(tx, keys, state, common)?.ok_or(Error::Tampered)?;
    QueueRow::delete_through(tx, common)?;
    QueueRow::park_after(tx, common)?;
    EscrowRow::delete_through(tx, keys.vault_id(), common)?;
    EscrowRow::delete_after(tx, keys.vault_id(), common)?;
    let (mut old_prev, mut old_seq) = (old_mac, common);
    let (mut new_prev, mut new_seq) = (through.1, through.0);
    loop {
        let rows = QueueRow::take_parked(tx, CHUNK)?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let mut entry = QueueEntry::open(keys, row.seq, &row.body)?;
            // The stored chain must still verify before it is re-signed.
            old_seq = old_seq.checked_add(1).ok_or(Error::Tampered)?;
            if entry.body.seq != old_seq || !ct_eq(&entry.body.chain_mac(&sync_key, &old_prev)?, &entry.mac) {
                return Err(Error::Tampered);
            }
            old_prev = entry.mac;
            new_seq = entry.body.seq.checked_add(shift).ok_or(Error::Tampered)?;
            entry.body.seq = new_seq;
            entry.mac = entry.body.chain_mac(&sync_key, &new_prev)?;
            new_prev = entry.mac;
            QueueRow { seq: new_seq, body: entry.seal(keys)? }.append(tx)?;
            escrow_entry(tx, vault, keys.vault_id(), &entry, grant_of(state, &entry)?)?;
        }
    }
    if old_seq != state.head_seq() {
        return Err(Error::Tampered);
    }
    state.rebase(common, through, (new_seq, new_prev))
}
