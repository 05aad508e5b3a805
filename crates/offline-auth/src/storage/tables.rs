//! Typed rows and the SQL that reads and writes them. No crypto here: every
//! blob arrives sealed and leaves sealed.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::error::{Error, Result};
use crate::time::FailureMark;

/// The single row describing the enrolment.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct VaultRow {
    /// Random public id of this enrolment; binds every sealed blob to it.
    pub(crate) vault_id: Vec<u8>,
    /// Keystore alias of the key that wraps the device secret.
    pub(crate) device_alias: String,
    /// The device secret wrapped by the keystore.
    pub(crate) device_wrap: Vec<u8>,
    /// Consecutive failed PIN attempts.
    pub(crate) failed_attempts: u32,
    /// Wall-clock time of the last failure (informational: backoff runs on
    /// `failure_mark`).
    pub(crate) last_failure_at: i64,
    /// Where on the boot clock the last failure was (backoff counts from it).
    pub(crate) failure_mark: Option<FailureMark>,
    /// Bumped with every device key rotation; the state is bound to it.
    pub(crate) key_epoch: u64,
    /// MAC over the attempt state under a key derived from the device secret.
    pub(crate) attempts_mac: Vec<u8>,
    /// MAC binding the sealed state to this device alias and epoch (`None`
    /// only for a row written by the first release, until its next attempt).
    pub(crate) state_mac: Option<Vec<u8>>,
    /// The vault key sealed under the PIN-and-device key.
    pub(crate) pin_wrap: Vec<u8>,
    /// Keystore alias and blob of the biometric copy of the vault key.
    pub(crate) bio: Option<(String, Vec<u8>)>,
    /// The session state sealed under the vault key.
    pub(crate) state: Vec<u8>,
}

impl std::fmt::Debug for VaultRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultRow")
            .field("failed_attempts", &self.failed_attempts)
            .field("biometrics", &self.bio.is_some())
            .finish_non_exhaustive()
    }
}

/// `execute` through SQLite's statement cache: the hot path (a write is
/// four to six statements) does not recompile its SQL on every call.
pub(super) fn execute(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// `query_row` through the statement cache.
fn query_row<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

fn to_u32(value: i64) -> Result<u32> {
    u32::try_from(value).map_err(|_| Error::Tampered)
}

pub(super) fn to_u64(value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| Error::Tampered)
}

pub(super) fn to_i64(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::InvalidInput("sequence number out of range".into()))
}

impl VaultRow {
    /// The enrolment, if any.
    pub(crate) fn load(conn: &Connection) -> Result<Option<Self>> {
        let row = query_row(
            conn,
            "SELECT vault_id, device_alias, device_wrap, failed_attempts, last_failure_at,
                        attempts_mac, pin_wrap, bio_alias, bio_wrap, state,
                        key_epoch, state_mac, failure_mark
                 FROM vault WHERE id = 1",
            [],
            |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Vec<u8>>(5)?,
                    r.get::<_, Vec<u8>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<Vec<u8>>>(8)?,
                    r.get::<_, Vec<u8>>(9)?,
                    (r.get::<_, i64>(10)?, r.get::<_, Option<Vec<u8>>>(11)?, r.get::<_, Option<Vec<u8>>>(12)?),
                ))
            },
        )
        .optional()?;
        let Some((vault_id, device_alias, device_wrap, failed, last, mac, pin_wrap, bio_alias, bio_wrap, state, v2)) =
            row
        else {
            return Ok(None);
        };
        let (key_epoch, state_mac, failure_mark) = v2;
        let bio = match (bio_alias, bio_wrap) {
            (Some(alias), Some(wrap)) => Some((alias, wrap)),
            (None, None) => None,
            _ => return Err(Error::Tampered),
        };
        Ok(Some(Self {
            vault_id,
            device_alias,
            device_wrap,
            failed_attempts: to_u32(failed)?,
            last_failure_at: last,
            failure_mark: failure_mark.map(|bytes| mark_from_bytes(&bytes)).transpose()?,
            key_epoch: to_u64(key_epoch)?,
            attempts_mac: mac,
            state_mac,
            pin_wrap,
            bio,
            state,
        }))
    }

    /// Writes the whole row (enrolment).
    pub(crate) fn insert(&self, tx: &Transaction<'_>) -> Result<()> {
        let (bio_alias, bio_wrap) = match &self.bio {
            Some((alias, wrap)) => (Some(alias.as_str()), Some(wrap.as_slice())),
            None => (None, None),
        };
        execute(
            tx,
            "INSERT OR REPLACE INTO vault (id, vault_id, device_alias, device_wrap, failed_attempts,
                 last_failure_at, attempts_mac, pin_wrap, bio_alias, bio_wrap, state,
                 key_epoch, state_mac, failure_mark)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                self.vault_id,
                self.device_alias,
                self.device_wrap,
                i64::from(self.failed_attempts),
                self.last_failure_at,
                self.attempts_mac,
                self.pin_wrap,
                bio_alias,
                bio_wrap,
                self.state,
                to_i64(self.key_epoch)?,
                self.state_mac,
                self.failure_mark.as_ref().map(mark_to_bytes),
            ],
        )?;
        Ok(())
    }

    /// Rewrites the device key, epoch, attempt state, PIN wrap and state
    /// binding if the device alias is still `expected_alias`; returns whether
    /// it was (another attempt may have won).
    pub(crate) fn replace_attempts(&self, tx: &Transaction<'_>, expected_alias: &str) -> Result<bool> {
        let changed = execute(
            tx,
            "UPDATE vault SET device_alias = ?1, device_wrap = ?2, failed_attempts = ?3,
                 last_failure_at = ?4, attempts_mac = ?5, pin_wrap = ?6, key_epoch = ?7,
                 state_mac = ?8, failure_mark = ?9
             WHERE id = 1 AND device_alias = ?10",
            params![
                self.device_alias,
                self.device_wrap,
                i64::from(self.failed_attempts),
                self.last_failure_at,
                self.attempts_mac,
                self.pin_wrap,
                to_i64(self.key_epoch)?,
                self.state_mac,
                self.failure_mark.as_ref().map(mark_to_bytes),
                expected_alias
            ],
        )?;
        Ok(changed == 1)
    }

    /// Sets or clears the biometric wrap.
    pub(crate) fn store_bio(tx: &Transaction<'_>, bio: Option<(&str, &[u8])>) -> Result<()> {
        let (alias, wrap) = bio.unzip();
        expect_one(execute(tx, "UPDATE vault SET bio_alias = ?1, bio_wrap = ?2 WHERE id = 1", params![alias, wrap])?)
    }

    /// The enrolment's id, device key alias and key epoch (what the sealed
    /// state is bound to), if enrolled.
    pub(crate) fn epoch(conn: &Connection) -> Result<Option<(Vec<u8>, String, u64)>> {
        let row = query_row(conn, "SELECT vault_id, device_alias, key_epoch FROM vault WHERE id = 1", [], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
        })
        .optional()?;
        row.map(|(vault_id, alias, epoch)| Ok((vault_id, alias, to_u64(epoch)?))).transpose()
    }

    /// Rewrites the sealed session state and its binding, with the queue
    /// bounds `(acked, head]` it holds (see [`pending_queue_rows`]): one row,
    /// one page.
    pub(crate) fn store_state(tx: &Transaction<'_>, state: &[u8], state_mac: &[u8], bounds: (u64, u64)) -> Result<()> {
        let (acked, head) = (to_i64(bounds.0)?, to_i64(bounds.1)?);
        expect_one(execute(
            tx,
            "UPDATE vault SET state = ?1, state_mac = ?2, queue_acked = ?3, queue_head = ?4 WHERE id = 1",
            params![state, state_mac, acked, head],
        )?)
    }
}

/// Stored form of a [`FailureMark`]: boot (32 bytes) then elapsed ms (8, big-endian).
fn mark_to_bytes(mark: &FailureMark) -> Vec<u8> {
    let mut bytes = mark.boot.to_vec();
    bytes.extend_from_slice(&mark.elapsed_ms.to_be_bytes());
    bytes
}

fn mark_from_bytes(bytes: &[u8]) -> Result<FailureMark> {
    let (boot, elapsed) = bytes.split_at_checked(32).ok_or(Error::Tampered)?;
    Ok(FailureMark {
        boot: boot.try_into().map_err(|_| Error::Tampered)?,
        elapsed_ms: u64::from_be_bytes(elapsed.try_into().map_err(|_| Error::Tampered)?),
    })
}

fn expect_one(changed: usize) -> Result<()> {
    match changed {
        1 => Ok(()),
        _ => Err(Error::NotEnrolled),
    }
}

/// Whether the vault was wiped since its last enrolment.
pub(crate) fn is_wiped(conn: &Connection) -> Result<bool> {
    let value: Option<i64> =
        query_row(conn, "SELECT value FROM meta WHERE key = 'wiped'", [], |r| r.get(0)).optional()?;
    Ok(value == Some(1))
}

/// Deletes the enrolment, its records and queue; marks the vault wiped or not.
pub(crate) fn clear_vault(tx: &Transaction<'_>, mark_wiped: bool) -> Result<()> {
    tx.execute_batch("DELETE FROM vault; DELETE FROM records; DELETE FROM queue;")?;
    if mark_wiped {
        execute(tx, "INSERT OR REPLACE INTO meta (key, value) VALUES ('wiped', 1)", [])?;
    } else {
        execute(tx, "DELETE FROM meta WHERE key = 'wiped'", [])?;
    }
    Ok(())
}

/// The pending queue seqs `(acked, head]` as last stored beside the sealed
/// state, which is the authority on them, so `status()` can count them
/// without the vault key (and without counting rows written back or added).
/// `None` before this version first stored the state.
pub(crate) fn queue_bounds(conn: &Connection) -> Result<Option<(i64, i64)>> {
    let bounds = query_row(conn, "SELECT queue_acked, queue_head FROM vault WHERE id = 1", [], |r| {
        Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?))
    })
    .optional()?;
    Ok(match bounds {
        Some((Some(acked), Some(head))) => Some((acked, head)),
        _ => None,
    })
}

/// Entries pending by the stored bounds (every entry, for a vault whose
/// state was never stored by this version).
pub(crate) fn pending_queue_rows(conn: &Connection) -> Result<u64> {
    match queue_bounds(conn)? {
        Some((acked, head)) => to_u64(query_row(
            conn,
            "SELECT count(*) FROM queue WHERE seq > ?1 AND seq <= ?2",
            params![acked, head],
            |r| r.get(0),
        )?),
        None => QueueRow::count(conn),
    }
}

/// Records a keystore alias that must be deleted.
pub(crate) fn retire_key(tx: &Transaction<'_>, alias: &str) -> Result<()> {
    execute(tx, "INSERT OR IGNORE INTO retired_keys (alias) VALUES (?1)", params![alias])?;
    Ok(())
}

/// Aliases waiting to be deleted from the keystore.
pub(crate) fn retired_keys(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT alias FROM retired_keys ORDER BY alias")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Forgets a retired alias once the keystore deleted it.
pub(crate) fn forget_retired_key(tx: &Transaction<'_>, alias: &str) -> Result<()> {
    execute(tx, "DELETE FROM retired_keys WHERE alias = ?1", params![alias])?;
    Ok(())
}

/// A stored record: blinded location and collection tag, sealed body.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RecordRow {
    pub(crate) location: Vec<u8>,
    pub(crate) collection: Vec<u8>,
    pub(crate) body: Vec<u8>,
}

impl RecordRow {
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self { location: r.get(0)?, collection: r.get(1)?, body: r.get(2)? })
    }

    /// Every record whose blinded collection is `collection`.
    pub(crate) fn in_collection(conn: &Connection, collection: &[u8]) -> Result<Vec<Self>> {
        let mut stmt = conn.prepare_cached("SELECT location, collection, body FROM records WHERE collection = ?1")?;
        let rows = stmt.query_map(params![collection], Self::from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Calls `f` on every record, one row at a time (no whole-table load).
    pub(crate) fn for_each(conn: &Connection, mut f: impl FnMut(Self) -> Result<()>) -> Result<()> {
        let mut stmt = conn.prepare_cached("SELECT location, collection, body FROM records")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            f(Self::from_row(row)?)?;
        }
        Ok(())
    }

    /// Inserts the record at its location, or replaces its body in place
    /// (`INSERT OR REPLACE` deleted and re-inserted the row, and before
    /// schema 5 its collection index entry too: one more page per write).
    pub(crate) fn upsert(&self, tx: &Transaction<'_>) -> Result<()> {
        execute(
            tx,
            "INSERT INTO records (location, collection, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (collection, location) DO UPDATE SET body = excluded.body",
            params![self.location, self.collection, self.body],
        )?;
        Ok(())
    }

    /// Deletes the record at `location` in the collection tagged
    /// `collection`; returns whether one existed.
    pub(crate) fn delete(tx: &Transaction<'_>, collection: &[u8], location: &[u8]) -> Result<bool> {
        let sql = "DELETE FROM records WHERE collection = ?1 AND location = ?2";
        Ok(execute(tx, sql, params![collection, location])? == 1)
    }
}

/// A sealed queue entry.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct QueueRow {
    pub(crate) seq: u64,
    pub(crate) body: Vec<u8>,
}

impl QueueRow {
    /// Appends an entry; a duplicate seq is an error.
    pub(crate) fn append(&self, tx: &Transaction<'_>) -> Result<()> {
        execute(tx, "INSERT INTO queue (seq, body) VALUES (?1, ?2)", params![to_i64(self.seq)?, self.body])?;
        Ok(())
    }

    /// The entry with `seq`, if stored.
    pub(crate) fn get(conn: &Connection, seq: u64) -> Result<Option<Self>> {
        let body =
            query_row(conn, "SELECT body FROM queue WHERE seq = ?1", params![to_i64(seq)?], |r| r.get(0)).optional()?;
        Ok(body.map(|body| Self { seq, body }))
    }

    /// Up to `limit` entries with seq greater than `after`, in order.
    pub(crate) fn after(conn: &Connection, after: u64, limit: u32) -> Result<Vec<Self>> {
        let mut stmt = conn.prepare_cached("SELECT seq, body FROM queue WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows = stmt.query_map(params![to_i64(after)?, i64::from(limit)], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        rows.map(|row| {
            let (seq, body) = row?;
            Ok(Self { seq: to_u64(seq)?, body })
        })
        .collect()
    }

    /// Number of entries stored.
    pub(crate) fn count(conn: &Connection) -> Result<u64> {
        to_u64(query_row(conn, "SELECT count(*) FROM queue", [], |r| r.get(0))?)
    }

    /// Deletes every entry with seq ≤ `through`.
    pub(crate) fn delete_through(tx: &Transaction<'_>, through: u64) -> Result<()> {
        execute(tx, "DELETE FROM queue WHERE seq <= ?1", params![to_i64(through)?])?;
        Ok(())
    }
}
