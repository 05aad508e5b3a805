//! Reading record rows by their row key without copying them: the hot path
//! of `get` and `get_many` (and of a write, which reads the version it
//! replaces). One prepared statement serves every row of a call, and each
//! row's collection tag and sealed body are lent to the caller straight from
//! SQLite's buffers, so a read allocates nothing here. No crypto: the caller
//! opens the body.

use rusqlite::{CachedStatement, Connection};

use crate::error::{Error, Result};

/// A prepared `SELECT` of one record row by its row key.
pub(crate) struct RecordReader<'c>(CachedStatement<'c>);

impl<'c> RecordReader<'c> {
    /// Prepares (or takes from the connection's cache) the statement.
    pub(crate) fn new(conn: &'c Connection) -> Result<Self> {
        Ok(Self(conn.prepare_cached("SELECT body FROM records WHERE collection = ?1 AND location = ?2")?))
    }

    /// Calls `f` with the sealed body of the row at `location` in the
    /// collection tagged `collection`, borrowed; `None` if there is no such
    /// row. A body that is not a blob (the table is STRICT, so only an edited
    /// file has one) is `Tampered`.
    pub(crate) fn read<T>(
        &mut self,
        collection: &[u8],
        location: &[u8],
        f: impl FnOnce(&[u8]) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut rows = self.0.query([collection, location])?;
        let Some(row) = rows.next()? else {
            return Ok(None);
        };
        let body = row.get_ref(0)?.as_blob().map_err(|_| Error::Tampered)?;
        f(body).map(Some)
    }
}
