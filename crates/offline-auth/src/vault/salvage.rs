//! Salvage: delivering the escrowed entries when the vault's keys are gone.
//!
//! Needs no PIN, no keystore and no enrolment: the escrowed rows
//! (`storage/escrow.rs`) are sealed to the backend's escrow key and read
//! as they are. [`salvage`] builds one upload (the oldest enrolment's rows,
//! lowest seq first, within the batch limits); the backend opens it, checks
//! each entry's chain MAC with the device's sync key from its cursor, and
//! applies what it has not applied before. The app then tells the vault
//! how far the backend got ([`forget_salvaged`]); that deletion needs no
//! secret and cannot make the backend apply anything twice.
//!
//! Salvage before enrolling again online: a new enrolment gets a new sync
//! key from the backend, and entries chained under the old one no longer
//! verify there.

use offline_auth_proto::escrow::MAX_ENROLMENT_LEN;
use offline_auth_proto::limits::MAX_BATCH_ENTRIES;
use offline_auth_proto::salvage::{write_salvage, MAX_SALVAGE_BYTES};

use crate::engine::VaultShared;
use crate::error::{Error, Result};
use crate::storage::EscrowRow;

/// Room kept in an upload for its header and encoding overhead.
const SALVAGE_HEADROOM: usize = 64 * 1024;

/// A salvage upload ready to send (`POST /salvage` on the reference server).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
#[non_exhaustive]
pub struct SalvageUpload {
    /// The versioned upload (`docs/BATCH_FORMAT.md`, "Salvage upload").
    pub bytes: Vec<u8>,
    /// The enrolment the entries belong to: pass it to `forget_salvaged`.
    pub enrolment: Vec<u8>,
    /// Seq of the first entry.
    pub first_seq: u64,
    /// Seq of the last entry.
    pub last_seq: u64,
    /// Number of entries.
    pub entry_count: u32,
}

/// The oldest escrowed entries (at most `max_entries`) as an upload, or
/// `None` when nothing is escrowed.
pub(super) fn salvage(vault: &VaultShared, max_entries: u32) -> Result<Option<SalvageUpload>> {
    if max_entries == 0 {
        return Err(Error::InvalidInput("max_entries must be at least 1".into()));
    }
    // Each entry carries its grant: a backlog that spans more grants than a
    // batch may carry (MAX_BATCH_GRANTS) is refused; ask for fewer entries.
    let limit = max_entries.min(MAX_BATCH_ENTRIES);
    let budget = MAX_SALVAGE_BYTES - SALVAGE_HEADROOM;
    let rows = vault.db.read(|c| {
        let Some(enrolment) = EscrowRow::first_enrolment(c)? else {
            return Ok(Vec::new());
        };
        EscrowRow::first_rows(c, &enrolment, limit, budget)
    })?;
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(None);
    };
    let (enrolment, first_seq, last_seq) = (first.enrolment.clone(), first.seq, last.seq);
    let entry_count = u32::try_from(rows.len()).map_err(|_| Error::Encoding)?;
    let entries: Vec<(u64, Vec<u8>)> = rows.into_iter().map(|row| (row.seq, row.blob)).collect();
    let bytes = write_salvage(&vault.config.device_id, &enrolment, &entries)?;
    Ok(Some(SalvageUpload { bytes, enrolment, first_seq, last_seq, entry_count }))
}

/// Deletes the escrowed entries of `enrolment` through `through_seq` (what
/// the backend answered it holds); returns how many were deleted.
pub(super) fn forget_salvaged(vault: &VaultShared, enrolment: &[u8], through_seq: u64) -> Result<u64> {
    if enrolment.is_empty() || enrolment.len() > MAX_ENROLMENT_LEN {
        return Err(Error::InvalidInput("not an enrolment id".into()));
    }
    vault.db.write(|tx| EscrowRow::delete_through(tx, enrolment, through_seq))
}

/// Entries escrowed, of every enrolment.
pub(super) fn escrowed_count(vault: &VaultShared) -> Result<u64> {
    vault.db.read(EscrowRow::count)
}
