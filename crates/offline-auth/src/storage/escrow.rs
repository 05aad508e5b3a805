//! The escrow table: queue entries sealed to the backend's escrow key
//! (`offline_auth_proto::escrow`), by enrolment id and seq.
//!
//! Unlike every other table, nothing here is sealed under a key of the
//! device, so losing the device key, the vault key or the PIN loses none of
//! it, and `clear_vault` (every wipe, and a new enrolment) leaves it alone.
//! A row goes only when the backend has the entry: with the acknowledgement
//! of the receipt that covers it (same transaction), or when the app tells
//! the vault what a salvage upload delivered. Deleting needs no secret (a
//! thief can delete rows anyway); what stops an edit applied twice is the
//! backend's cursor, not this table.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::tables::{execute, to_i64, to_u64};
use crate::error::Result;

/// An escrowed entry as stored.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct EscrowRow {
    /// The enrolment (vault id) the entry belongs to.
    pub(crate) enrolment: Vec<u8>,
    /// The entry's seq in that enrolment's queue.
    pub(crate) seq: u64,
    /// The sealed blob.
    pub(crate) blob: Vec<u8>,
}

impl EscrowRow {
    /// Stores the row, replacing one at the same place (a re-based entry).
    pub(crate) fn put(&self, tx: &Transaction<'_>) -> Result<()> {
        execute(
            tx,
            "INSERT OR REPLACE INTO escrow (enrolment, seq, blob) VALUES (?1, ?2, ?3)",
            params![self.enrolment, to_i64(self.seq)?, self.blob],
        )?;
        Ok(())
    }

    /// Deletes the rows of `enrolment` with seq ≤ `through`; returns how many.
    pub(crate) fn delete_through(tx: &Transaction<'_>, enrolment: &[u8], through: u64) -> Result<u64> {
        let through = i64::try_from(through).unwrap_or(i64::MAX);
        let deleted =
            execute(tx, "DELETE FROM escrow WHERE enrolment = ?1 AND seq <= ?2", params![enrolment, through])?;
        Ok(deleted as u64)
    }

    /// Deletes the rows of `enrolment` with seq > `after` (a re-based queue
    /// writes them again under their new seqs).
    pub(crate) fn delete_after(tx: &Transaction<'_>, enrolment: &[u8], after: u64) -> Result<()> {
        execute(tx, "DELETE FROM escrow WHERE enrolment = ?1 AND seq > ?2", params![enrolment, to_i64(after)?])?;
        Ok(())
    }

    /// The enrolment whose rows a salvage sends first: the one of the
    /// oldest row written (an earlier enrolment before a later one).
    pub(crate) fn first_enrolment(conn: &Connection) -> Result<Option<Vec<u8>>> {
        let mut stmt = conn.prepare_cached("SELECT enrolment FROM escrow ORDER BY id LIMIT 1")?;
        Ok(stmt.query_row([], |r| r.get(0)).optional()?)
    }

    /// Up to `limit` rows of `enrolment`, lowest seq first, at most
    /// `max_bytes` of blobs (at least one row if any).
    pub(crate) fn first_rows(conn: &Connection, enrolment: &[u8], limit: u32, max_bytes: usize) -> Result<Vec<Self>> {
        let mut stmt =
            conn.prepare_cached("SELECT seq, blob FROM escrow WHERE enrolment = ?1 ORDER BY seq LIMIT ?2")?;
        let mut rows = stmt.query(params![enrolment, i64::from(limit)])?;
        let (mut out, mut used) = (Vec::new(), 0usize);
        while let Some(row) = rows.next()? {
            let blob: Vec<u8> = row.get(1)?;
            used = used.saturating_add(blob.len());
            if used > max_bytes && !out.is_empty() {
                break;
            }
            out.push(Self { enrolment: enrolment.to_vec(), seq: to_u64(row.get(0)?)?, blob });
        }
        Ok(out)
    }

    /// Number of rows escrowed (every enrolment).
    pub(crate) fn count(conn: &Connection) -> Result<u64> {
        let mut stmt = conn.prepare_cached("SELECT count(*) FROM escrow")?;
        to_u64(stmt.query_row([], |r| r.get(0))?)
    }
}
