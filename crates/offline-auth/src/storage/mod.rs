//! SQLite storage: opening, schema versions, and the one connection.
//!
//! Durability: WAL with `synchronous=FULL`, so a committed transaction
//! survives a power cut, and `fullfsync` on Apple, where `fsync` alone does
//! not reach the platter. `secure_delete` overwrites deleted content, so
//! wiped wraps and acknowledged queue entries do not linger in free pages.
//!
//! Safety of foreign files: before writing anything we read the header. A
//! file with another `application_id`, or with tables but no id, is refused
//! as not ours; a schema newer than this build is refused. Both leave the file
//! byte-for-byte untouched (no journal-mode switch, no migration).
//!
//! Concurrency: one connection behind a mutex. Every caller takes the lock
//! for one short transaction and never calls out to the platform while
//! holding it.

pub(crate) mod directives;
mod escrow;
pub(crate) mod pin_shape;
mod queue_moves;
mod record_reader;
pub(crate) mod server_time;
pub(crate) mod tables;

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub(crate) use escrow::EscrowRow;
pub(crate) use record_reader::RecordReader;
pub(crate) use tables::{QueueRow, RecordRow, VaultRow};

use crate::error::{Error, Result};

/// `PRAGMA application_id` of our files: "OAUT".
const APPLICATION_ID: i32 = 0x4F41_5554;

/// Forward-only migrations; entry `n` takes the schema from `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1
    "CREATE TABLE meta (
         key   TEXT PRIMARY KEY NOT NULL,
         value INTEGER NOT NULL
     ) STRICT;
     CREATE TABLE vault (
         id              INTEGER PRIMARY KEY CHECK (id = 1),
         vault_id        BLOB NOT NULL,
         device_alias    TEXT NOT NULL,
         device_wrap     BLOB NOT NULL,
         failed_attempts INTEGER NOT NULL,
         last_failure_at INTEGER NOT NULL,
         attempts_mac    BLOB NOT NULL,
         pin_wrap        BLOB NOT NULL,
         bio_alias       TEXT,
         bio_wrap        BLOB,
         state           BLOB NOT NULL
     ) STRICT;
     CREATE TABLE retired_keys (
         alias TEXT PRIMARY KEY NOT NULL
     ) STRICT;
     CREATE TABLE records (
         location   BLOB PRIMARY KEY NOT NULL,
         collection BLOB NOT NULL,
         body       BLOB NOT NULL
     ) STRICT, WITHOUT ROWID;
     CREATE INDEX records_by_collection ON records (collection);
     CREATE TABLE queue (
         seq  INTEGER PRIMARY KEY NOT NULL,
         body BLOB NOT NULL
     ) STRICT;",
    // 1 -> 2: the keystore epoch (bumped with every device key rotation),
    // the state's binding to it, and the backoff mark on the boot clock.
    // A row migrated from 1 has no binding (NULL) until its next attempt.
    "ALTER TABLE vault ADD COLUMN key_epoch INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE vault ADD COLUMN state_mac BLOB;
     ALTER TABLE vault ADD COLUMN failure_mark BLOB;",
    // 2 -> 3: escrowed entries (`escrow.rs`), sealed to the backend's
    // escrow key, by enrolment and seq, `id` in the order written. No wipe
    // deletes them.
    "CREATE TABLE escrow (
         id        INTEGER PRIMARY KEY,
         enrolment BLOB NOT NULL,
         seq       INTEGER NOT NULL,
         blob      BLOB NOT NULL,
         UNIQUE (enrolment, seq)
     ) STRICT;",
    // 3 -> 4: remote directives (`directives.rs`), by jti: the intent
    // recorded before the action, the outcome after. No wipe deletes them.
    "CREATE TABLE directives (
         jti    TEXT PRIMARY KEY NOT NULL,
         iat    INTEGER NOT NULL,
         action TEXT NOT NULL CHECK (action IN ('wipe', 'lock_until_renewal', 'biometrics_off')),
         state  TEXT NOT NULL CHECK (state IN ('pending', 'done', 'lifted'))
     ) STRICT, WITHOUT ROWID;",
    // 4 -> 5: fewer pages per durable write (issue 28). The pending queue
    // bounds move from two `meta` rows into the vault row, beside the sealed
    // state they follow (`VaultRow::store_state`; NULL until stored). The
    // records are keyed by (collection tag, row key), which lists a
    // collection without the `records_by_collection` index that every new
    // record also had to write (same columns, same order).
    "ALTER TABLE vault ADD COLUMN queue_acked INTEGER;
     ALTER TABLE vault ADD COLUMN queue_head INTEGER;
     UPDATE vault SET queue_acked = (SELECT value FROM meta WHERE key = 'queue_acked'),
                      queue_head = (SELECT value FROM meta WHERE key = 'queue_head');
     DELETE FROM meta WHERE key IN ('queue_acked', 'queue_head');
     CREATE TABLE records_5 (
         location   BLOB NOT NULL,
         collection BLOB NOT NULL,
         body       BLOB NOT NULL,
         PRIMARY KEY (collection, location)
     ) STRICT, WITHOUT ROWID;
     INSERT INTO records_5 (location, collection, body) SELECT location, collection, body FROM records;
     DROP TABLE records;
     ALTER TABLE records_5 RENAME TO records;",
];

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The vault's database.
pub(crate) struct Db {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    /// Opens (creating if missing) the database at `path`, refusing files
    /// that are not ours or are newer than this build.
    pub(crate) fn open(path: &str) -> Result<Self> {
        if path.is_empty() {
            return Err(Error::InvalidInput("the database path is empty".into()));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let version = check_ours(&conn)?;
        configure(&conn)?;
        migrate(&mut conn, version)?;
        Ok(Self { conn: Mutex::new(conn) })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // SQLite rolls back an unfinished transaction when a panic unwinds
        // through `Transaction::drop`, so a poisoned connection is consistent.
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the connection for reads.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&self.lock())
    }

    /// Runs `f` in one immediate transaction, committed durably if `f`
    /// succeeds and rolled back otherwise.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Copies every committed page from the write-ahead log into the
    /// database and truncates the log to zero bytes, so that nothing deleted
    /// (with `secure_delete`, overwritten) lingers in the `-wal` file. Waits
    /// (up to the busy timeout) for readers of other connections; if one
    /// still holds an old snapshot, that is an error and the caller retries.
    pub(crate) fn checkpoint_truncate(&self) -> Result<()> {
        let conn = self.lock();
        let (busy, _, _): (i64, i64, i64) =
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        if busy != 0 {
            return Err(Error::InvalidInput("another connection kept the log busy; try again".into()));
        }
        Ok(())
    }
}

/// Reads the header without writing; returns the schema version (0 = new file).
fn check_ours(conn: &Connection) -> Result<i64> {
    let app_id: i32 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let objects: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))?;
    match app_id {
        0 if objects == 0 && version == 0 => Ok(0),
        APPLICATION_ID if version > SCHEMA_VERSION => {
            Err(Error::NewerSchema { found: version, supported: SCHEMA_VERSION })
        }
        APPLICATION_ID => Ok(version),
        _ => Err(Error::NotOurDatabase),
    }
}

fn configure(conn: &Connection) -> Result<()> {
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::InvalidInput(format!("the database cannot use WAL (journal mode {mode})")));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "trusted_schema", "OFF")?;
    conn.pragma_update(None, "cell_size_check", "ON")?;
    if cfg!(target_vendor = "apple") {
        conn.pragma_update(None, "fullfsync", "ON")?;
        conn.pragma_update(None, "checkpoint_fullfsync", "ON")?;
    }
    Ok(())
}

fn migrate(conn: &mut Connection, from: i64) -> Result<()> {
    let start = usize::try_from(from).map_err(|_| Error::NotOurDatabase)?;
    let Some(pending) = MIGRATIONS.get(start..) else {
        return Err(Error::NewerSchema { found: from, supported: SCHEMA_VERSION });
    };
    if pending.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    for sql in pending {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(dir: &tempfile::TempDir, name: &str) -> String {
        dir.path().join(name).to_string_lossy().into_owned()
    }

    #[test]
    fn new_file_gets_our_schema_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = temp_path(&dir, "v.db");
        Db::open(&path).unwrap();
        let db = Db::open(&path).unwrap();
        let version: i64 = db.read(|c| Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }

    #[test]
    fn foreign_sqlite_file_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = temp_path(&dir, "other.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('hi');").unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        assert!(matches!(Db::open(&path), Err(Error::NotOurDatabase)));
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert!(!dir.path().join("other.db-wal").exists());
    }

    #[test]
    fn newer_schema_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = temp_path(&dir, "v.db");
        drop(Db::open(&path).unwrap());
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        assert!(matches!(Db::open(&path), Err(Error::NewerSchema { .. })));
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn non_sqlite_file_is_an_error_and_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = temp_path(&dir, "junk.db");
        std::fs::write(&path, vec![0x42; 4096]).unwrap();
        assert!(Db::open(&path).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), vec![0x42; 4096]);
    }
}
