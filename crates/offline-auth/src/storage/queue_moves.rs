//! Moving queue rows to new seqs, for a queue re-based after the backend's
//! head (`sync/rebase.rs`).
//!
//! The new seqs of a re-based run overlap the old ones (every entry moves
//! up by the same shift), so the run is first parked under negated seqs,
//! which no live row uses, then taken back a chunk at a time in seq order
//! and written under its new seqs: memory stays bounded by the chunk, and
//! the whole move is one transaction, so a crash leaves the old queue.

use rusqlite::{params, Transaction};

use super::tables::{execute, to_i64, to_u64, QueueRow};
use crate::error::{Error, Result};

impl QueueRow {
    /// Parks every entry with seq greater than `after` under its negated seq.
    pub(crate) fn park_after(tx: &Transaction<'_>, after: u64) -> Result<()> {
        execute(tx, "UPDATE queue SET seq = -seq WHERE seq > ?1", params![to_i64(after)?])?;
        Ok(())
    }

    /// Takes (reads and deletes) up to `limit` parked entries, lowest
    /// original seq first, with their original seqs.
    pub(crate) fn take_parked(tx: &Transaction<'_>, limit: u32) -> Result<Vec<Self>> {
        let rows = {
            let mut stmt = tx.prepare_cached("SELECT seq, body FROM queue WHERE seq < 0 ORDER BY seq DESC LIMIT ?1")?;
            let rows =
                stmt.query_map(params![i64::from(limit)], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        let mut taken = Vec::with_capacity(rows.len());
        for (parked, body) in rows {
            execute(tx, "DELETE FROM queue WHERE seq = ?1", params![parked])?;
            let seq = to_u64(parked.checked_neg().ok_or(Error::Tampered)?)?;
            taken.push(Self { seq, body });
        }
        Ok(taken)
    }
}
