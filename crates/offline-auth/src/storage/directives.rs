//! The directives table: every remote directive the vault accepted, by
//! `jti`, with its `iat`, its action and how far it got.
//!
//! - `pending`: the intent is recorded, the action not finished (a wipe
//!   waiting for the queue, or one cut short by a kill or a failing
//!   keystore); `vault/directive.rs` finishes it at the next open or the
//!   next delivery.
//! - `done`: applied. For `lock_until_renewal`, the lock is in force.
//! - `lifted`: a lock that a renewal issued at or after it has lifted.
//!
//! Like the escrow table, no wipe clears it: a directive applied before a
//! wipe stays applied (its `jti` and `iat` still refuse a replay) after a
//! new enrolment. Unauthenticated: the file's owner can delete rows; what
//! that gains is written in docs/THREAT_MODEL.md.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::tables::execute;
use crate::error::{Error, Result};
use crate::events::DirectiveAction;

/// How far a directive got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Recorded, not finished.
    Pending,
    /// Applied (a lock: in force).
    Done,
    /// A lock lifted by a later renewal.
    Lifted,
}

impl Progress {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Lifted => "lifted",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        match text {
            "pending" => Ok(Self::Pending),
            "done" => Ok(Self::Done),
            "lifted" => Ok(Self::Lifted),
            _ => Err(Error::Tampered),
        }
    }
}

fn action_str(action: DirectiveAction) -> &'static str {
    match action {
        DirectiveAction::Wipe => "wipe",
        DirectiveAction::LockUntilRenewal => "lock_until_renewal",
        DirectiveAction::BiometricsOff => "biometrics_off",
    }
}

fn parse_action(text: &str) -> Result<DirectiveAction> {
    match text {
        "wipe" => Ok(DirectiveAction::Wipe),
        "lock_until_renewal" => Ok(DirectiveAction::LockUntilRenewal),
        "biometrics_off" => Ok(DirectiveAction::BiometricsOff),
        _ => Err(Error::Tampered),
    }
}

/// A directive as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DirectiveRow {
    /// Its id.
    pub(crate) jti: String,
    /// The backend's time it was issued.
    pub(crate) iat: i64,
    /// What it says.
    pub(crate) action: DirectiveAction,
    /// How far it got.
    pub(crate) progress: Progress,
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, i64, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn typed((jti, iat, action, progress): (String, i64, String, String)) -> Result<DirectiveRow> {
    Ok(DirectiveRow { jti, iat, action: parse_action(&action)?, progress: Progress::parse(&progress)? })
}

impl DirectiveRow {
    /// The row of `jti`, if the vault saw it.
    pub(crate) fn get(conn: &Connection, jti: &str) -> Result<Option<Self>> {
        let mut stmt = conn.prepare_cached("SELECT jti, iat, action, state FROM directives WHERE jti = ?1")?;
        stmt.query_row([jti], from_row).optional()?.map(typed).transpose()
    }

    /// The newest `iat` of any directive recorded.
    pub(crate) fn last_iat(conn: &Connection) -> Result<Option<i64>> {
        let mut stmt = conn.prepare_cached("SELECT max(iat) FROM directives")?;
        Ok(stmt.query_row([], |r| r.get(0))?)
    }

    /// Records the row (its intent, or its outcome when applying it is the
    /// recording itself).
    pub(crate) fn insert(&self, tx: &Transaction<'_>) -> Result<()> {
        execute(
            tx,
            "INSERT INTO directives (jti, iat, action, state) VALUES (?1, ?2, ?3, ?4)",
            params![self.jti, self.iat, action_str(self.action), self.progress.as_str()],
        )?;
        Ok(())
    }

    /// Marks `jti` applied.
    pub(crate) fn mark_done(tx: &Transaction<'_>, jti: &str) -> Result<()> {
        execute(tx, "UPDATE directives SET state = 'done' WHERE jti = ?1 AND state = 'pending'", [jti])?;
        Ok(())
    }

    /// The directives recorded and not finished, oldest first (at most `limit`).
    pub(crate) fn pending(conn: &Connection, limit: u32) -> Result<Vec<Self>> {
        let mut stmt = conn.prepare_cached(
            "SELECT jti, iat, action, state FROM directives WHERE state = 'pending' ORDER BY iat, jti LIMIT ?1",
        )?;
        let rows = stmt.query_map([i64::from(limit)], from_row)?;
        rows.map(|row| typed(row?)).collect()
    }

    /// The ids of the directives applied, newest first (at most `limit`):
    /// what the device acknowledges to the backend.
    pub(crate) fn applied_ids(conn: &Connection, limit: u32) -> Result<Vec<String>> {
        let mut stmt = conn.prepare_cached(
            "SELECT jti FROM directives WHERE state IN ('done', 'lifted') ORDER BY iat DESC, jti LIMIT ?1",
        )?;
        let rows = stmt.query_map([i64::from(limit)], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// The `iat` of the newest lock in force, if any.
pub(crate) fn lock_in_force(conn: &Connection) -> Result<Option<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT max(iat) FROM directives WHERE action = 'lock_until_renewal' AND state IN ('pending', 'done')",
    )?;
    Ok(stmt.query_row([], |r| r.get(0))?)
}

/// Lifts the locks issued at or before `grant_iat` (a grant the backend
/// issued then or later, now installed); returns how many.
pub(crate) fn lift_locks(tx: &Transaction<'_>, grant_iat: i64) -> Result<usize> {
    Ok(execute(
        tx,
        "UPDATE directives SET state = 'lifted'
         WHERE action = 'lock_until_renewal' AND state IN ('pending', 'done') AND iat <= ?1",
        [grant_iat],
    )?)
}

/// Queue entries pending by the stored bounds that have no escrowed copy
/// for `enrolment`: what a wipe now would lose.
pub(crate) fn unescrowed_pending(conn: &Connection, enrolment: &[u8]) -> Result<u64> {
    let (acked, head) = super::tables::queue_bounds(conn)?.unwrap_or((0, i64::MAX));
    let mut stmt = conn.prepare_cached(
        "SELECT count(*) FROM queue AS q WHERE q.seq > ?1 AND q.seq <= ?2
         AND NOT EXISTS (SELECT 1 FROM escrow AS e WHERE e.enrolment = ?3 AND e.seq = q.seq)",
    )?;
    let count: i64 = stmt.query_row(params![acked, head, enrolment], |r| r.get(0))?;
    u64::try_from(count).map_err(|_| Error::Tampered)
}
