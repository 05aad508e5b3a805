//! The stored shape of the vault's PIN (minimum length, character set) in
//! the `meta` table, as two integers the vault layer interprets. Written
//! with the enrolment and every PIN change, read before any PIN attempt,
//! so it needs no key: an edit can only refuse input early (as deleting the
//! file could) or let through input that is then counted as before.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::error::Result;

const MIN_CHARS: &str = "pin_min_chars";
const CHARSET: &str = "pin_charset";

/// Stores `(min_chars, charset)`, replacing what was there.
pub(crate) fn store(tx: &Transaction<'_>, (min_chars, charset): (i64, i64)) -> Result<()> {
    let sql = "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    tx.execute(sql, params![MIN_CHARS, min_chars])?;
    tx.execute(sql, params![CHARSET, charset])?;
    Ok(())
}

/// The stored `(min_chars, charset)`; `None` for a vault enrolled before
/// shapes were stored (or with half of it missing).
pub(crate) fn load(conn: &Connection) -> Result<Option<(i64, i64)>> {
    let get = |key: &str| -> Result<Option<i64>> {
        Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    };
    Ok(get(MIN_CHARS)?.zip(get(CHARSET)?))
}

/// Forgets the shape (with the enrolment it described).
pub(crate) fn forget(tx: &Transaction<'_>) -> Result<()> {
    tx.execute("DELETE FROM meta WHERE key IN (?1, ?2)", params![MIN_CHARS, CHARSET])?;
    Ok(())
}
