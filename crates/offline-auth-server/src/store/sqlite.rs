//! The default store: one SQLite file behind one connection, for one server
//! process. Its transactions are serialised by the connection's mutex, so
//! the state re-checked in [`Store::apply`] cannot change under it.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use offline_auth_backend::{AppliedEntry, Revocation, SyncCursor, VerifiedBatch};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::contract::{
    first_applied_seq, net_effect, Applied, ChallengeTaken, Contact, DeviceEvidence, DeviceState, DeviceSummary,
    Enrolled, IssueGrant, Record, Store, StoreError, StoreFuture,
};

/// The server's state in one SQLite file.
pub struct SqliteStore {
    db: Mutex<Connection>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        match error {
            rusqlite::Error::SqliteFailure(e, _)
                if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
            {
                StoreError::Unavailable(error.to_string())
            }
            _ => StoreError::Failed(error.to_string()),
        }
    }
}

fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    conn.query_row("SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2", params![table, column], |r| {
        r.get::<_, i64>(0).map(|n| n == 1)
    })
}

impl SqliteStore {
    /// Opens (or creates) the database at `path` and brings its schema up to date.
    ///
    /// # Errors
    /// Whatever SQLite reports.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Overwrite what is deleted or replaced (a key rewrapped under the
        // KEK must not survive in a free page of the file).
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS issuer (id INTEGER PRIMARY KEY CHECK (id = 1), kid TEXT NOT NULL, private_key BLOB NOT NULL);
             CREATE TABLE IF NOT EXISTS devices (device_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, sync_key BLOB NOT NULL,
                                                 cursor_seq INTEGER NOT NULL, cursor_mac BLOB NOT NULL,
                                                 last_iat INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE IF NOT EXISTS records (user_id TEXT NOT NULL, collection TEXT NOT NULL, key TEXT NOT NULL,
                                                 value BLOB NOT NULL, seq INTEGER NOT NULL, device_id TEXT NOT NULL,
                                                 PRIMARY KEY (user_id, collection, key));
             CREATE TABLE IF NOT EXISTS receipts (id INTEGER PRIMARY KEY, device_id TEXT NOT NULL, from_seq INTEGER NOT NULL,
                                                  through_seq INTEGER NOT NULL, applied INTEGER NOT NULL,
                                                  head_mac BLOB NOT NULL, issued_at INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS applied_chain (device_id TEXT NOT NULL, seq INTEGER NOT NULL, mac BLOB NOT NULL,
                                                       PRIMARY KEY (device_id, seq));
             CREATE TABLE IF NOT EXISTS revocations (device_id TEXT PRIMARY KEY, reason TEXT NOT NULL,
                                                     revoked_at INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS challenges (challenge BLOB PRIMARY KEY, device_id TEXT NOT NULL,
                                                    expires_at INTEGER NOT NULL, used_at INTEGER);
             CREATE INDEX IF NOT EXISTS challenges_by_expiry ON challenges (expires_at);
             CREATE TABLE IF NOT EXISTS device_evidence (device_id TEXT PRIMARY KEY, kind TEXT NOT NULL, level TEXT NOT NULL,
                                                         policy TEXT NOT NULL, window_secs INTEGER NOT NULL,
                                                         os_patch_level INTEGER, boot_state TEXT, device_locked INTEGER,
                                                         app_id TEXT, key_kind TEXT, upload_key BLOB,
                                                         enrolled_at INTEGER NOT NULL, app_attest_counter INTEGER);
             CREATE TABLE IF NOT EXISTS directives (id INTEGER PRIMARY KEY, device_id TEXT NOT NULL, jti TEXT NOT NULL UNIQUE,
                                                    iat INTEGER NOT NULL, action TEXT NOT NULL, token TEXT NOT NULL,
                                                    acknowledged_at INTEGER);
             CREATE INDEX IF NOT EXISTS directives_pending ON directives (device_id, iat, id) WHERE acknowledged_at IS NULL;",
        )?;
        conn.execute_batch(super::sqlite_operator::SCHEMA)?;
        // Databases from earlier releases get the newer columns.
        if !has_column(&conn, "devices", "last_iat")? {
            conn.execute_batch("ALTER TABLE devices ADD COLUMN last_iat INTEGER NOT NULL DEFAULT 0")?;
        }
        if !has_column(&conn, "devices", "grant_token")? {
            conn.execute_batch("ALTER TABLE devices ADD COLUMN grant_token TEXT")?;
        }
        if !has_column(&conn, "device_evidence", "app_attest_counter")? {
            conn.execute_batch("ALTER TABLE device_evidence ADD COLUMN app_attest_counter INTEGER")?;
        }
        Ok(Self { db: Mutex::new(conn) })
    }

    pub(super) fn db(&self) -> MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn device_in(tx: &Connection, device_id: &str) -> rusqlite::Result<Option<DeviceState>> {
    tx.query_row(
        "SELECT user_id, sync_key, cursor_seq, cursor_mac FROM devices WHERE device_id = ?1",
        [device_id],
        |r| {
            let last_seq: i64 = r.get(2)?;
            Ok(DeviceState {
                user_id: r.get(0)?,
                sync_key: r.get(1)?,
                cursor: SyncCursor { last_seq: last_seq as u64, last_mac: r.get(3)? },
            })
        },
    )
    .optional()
}

fn owner_in(tx: &Connection, device_id: &str) -> rusqlite::Result<Option<(String, i64)>> {
    tx.query_row("SELECT user_id, last_iat FROM devices WHERE device_id = ?1", [device_id], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .optional()
}

fn revocation_in(tx: &Connection, device_id: &str) -> rusqlite::Result<Option<Revocation>> {
    tx.query_row("SELECT reason, revoked_at FROM revocations WHERE device_id = ?1", [device_id], |r| {
        Ok(Revocation { device_id: device_id.to_owned(), reason: r.get(0)?, at: r.get(1)? })
    })
    .optional()
}

fn apply_in(tx: &Transaction<'_>, device_id: &str, user_id: &str, batch: &VerifiedBatch) -> rusqlite::Result<()> {
    let effect = net_effect(&batch.operations);
    for (collection, key, value, seq) in &effect.puts {
        tx.execute(
            "INSERT OR REPLACE INTO records (user_id, collection, key, value, seq, device_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![user_id, collection, key, value, *seq as i64, device_id],
        )?;
    }
    for (collection, key) in &effect.deletes {
        tx.execute(
            "DELETE FROM records WHERE user_id = ?1 AND collection = ?2 AND key = ?3",
            params![user_id, collection, key],
        )?;
    }
    for op in &batch.operations {
        tx.execute(
            "INSERT INTO applied_chain (device_id, seq, mac) VALUES (?1, ?2, ?3)",
            params![device_id, op.seq as i64, &op.mac[..]],
        )?;
    }
    tx.execute(
        "UPDATE devices SET cursor_seq = ?1, cursor_mac = ?2 WHERE device_id = ?3",
        params![batch.cursor.last_seq as i64, batch.cursor.last_mac, device_id],
    )?;
    tx.execute(
        "INSERT INTO receipts (device_id, from_seq, through_seq, applied, head_mac, issued_at)
         VALUES (?1, ?2, ?3, ?4, ?5, strftime('%s', 'now'))",
        params![
            device_id,
            first_applied_seq(batch) as i64,
            batch.cursor.last_seq as i64,
            batch.operations.len() as i64,
            batch.cursor.last_mac
        ],
    )?;
    Ok(())
}

/// Challenges that expired more than this long ago are dropped when a new
/// one is stored (until then a replay is told `Used`/`Expired`, not `Unknown`).
const PURGE_AFTER_SECS: i64 = 24 * 3600;

/// Replaces the device's evidence summary (or drops it: `None`).
fn put_evidence(tx: &Transaction<'_>, device_id: &str, evidence: Option<&DeviceEvidence>) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM device_evidence WHERE device_id = ?1", [device_id])?;
    let Some(e) = evidence else { return Ok(()) };
    let (key_kind, key) = e.upload_key.clone().unzip();
    tx.execute(
        "INSERT INTO device_evidence (device_id, kind, level, policy, window_secs, os_patch_level, boot_state,
                                      device_locked, app_id, key_kind, upload_key, app_attest_counter, enrolled_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, strftime('%s', 'now'))",
        params![
            device_id,
            e.kind,
            e.level,
            e.policy,
            e.window_secs,
            e.os_patch_level,
            e.boot_state,
            e.device_locked,
            e.app_id,
            key_kind,
            key,
            e.app_attest_counter
        ],
    )?;
    Ok(())
}

impl Store for SqliteStore {
    fn issuer_key(&self, candidate: (String, Vec<u8>)) -> StoreFuture<'_, (String, Vec<u8>)> {
        Box::pin(async move {
            let db = self.db();
            db.execute(
                "INSERT OR IGNORE INTO issuer (id, kid, private_key) VALUES (1, ?1, ?2)",
                params![candidate.0, candidate.1],
            )?;
            Ok(db.query_row("SELECT kid, private_key FROM issuer WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))?)
        })
    }

    fn enroll<'a>(
        &'a self,
        device_id: &'a str,
        user: &'a str,
        sync_key: &'a [u8],
        evidence: Option<&'a DeviceEvidence>,
        issue: IssueGrant<'a>,
    ) -> StoreFuture<'a, Enrolled> {
        Box::pin(async move {
            let mut db = self.db();
            let tx = db.transaction()?;
            let owner = owner_in(&tx, device_id)?;
            if owner.as_ref().is_some_and(|(owner, _)| owner != user) {
                return Ok(Enrolled::OtherUser);
            }
            let (grant, iat) = issue(owner.map_or(0, |(_, last)| last)).map_err(StoreError::Backend)?;
            // Re-enrolment (after a wipe) starts a new chain with a new key.
            tx.execute("DELETE FROM applied_chain WHERE device_id = ?1", [device_id])?;
            tx.execute(
                "INSERT OR REPLACE INTO devices (device_id, user_id, sync_key, cursor_seq, cursor_mac, last_iat, grant_token)
                 VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6)",
                params![device_id, user, sync_key, vec![0u8; 32], iat, grant],
            )?;
            put_evidence(&tx, device_id, evidence)?;
            tx.commit()?;
            Ok(Enrolled::Issued(grant))
        })
    }

    fn renew<'a>(
        &'a self,
        device_id: &'a str,
        user: &'a str,
        issue: IssueGrant<'a>,
    ) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move {
            let mut db = self.db();
            let tx = db.transaction()?;
            let Some((_, last_iat)) = owner_in(&tx, device_id)?.filter(|(owner, _)| owner == user) else {
                return Ok(None);
            };
            let (grant, iat) = issue(last_iat).map_err(StoreError::Backend)?;
            tx.execute(
                "UPDATE devices SET last_iat = ?1, grant_token = ?2 WHERE device_id = ?3",
                params![iat, grant, device_id],
            )?;
            tx.commit()?;
            Ok(Some(grant))
        })
    }

    fn put_challenge<'a>(
        &'a self,
        device_id: &'a str,
        challenge: &'a [u8],
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let db = self.db();
            db.execute("DELETE FROM challenges WHERE expires_at < ?1", [now.saturating_sub(PURGE_AFTER_SECS)])?;
            db.execute(
                "INSERT INTO challenges (challenge, device_id, expires_at) VALUES (?1, ?2, ?3)",
                params![challenge, device_id, expires_at],
            )?;
            Ok(())
        })
    }

    fn take_challenge<'a>(
        &'a self,
        device_id: &'a str,
        challenge: &'a [u8],
        now: i64,
    ) -> StoreFuture<'a, ChallengeTaken> {
        Box::pin(async move {
            let db = self.db();
            let taken = db.execute(
                "UPDATE challenges SET used_at = ?3
                 WHERE challenge = ?1 AND device_id = ?2 AND used_at IS NULL AND expires_at > ?3",
                params![challenge, device_id, now],
            )?;
            if taken == 1 {
                return Ok(ChallengeTaken::Fresh);
            }
            let found: Option<Option<i64>> = db
                .query_row(
                    "SELECT used_at FROM challenges WHERE challenge = ?1 AND device_id = ?2",
                    params![challenge, device_id],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(match found {
                None => ChallengeTaken::Unknown,
                Some(Some(_)) => ChallengeTaken::Used,
                Some(None) => ChallengeTaken::Expired,
            })
        })
    }

    fn device_evidence<'a>(&'a self, device_id: &'a str) -> StoreFuture<'a, Option<DeviceEvidence>> {
        Box::pin(async move {
            let db = self.db();
            Ok(db
                .query_row(
                    "SELECT kind, level, policy, window_secs, os_patch_level, boot_state, device_locked, app_id,
                            key_kind, upload_key, app_attest_counter
                     FROM device_evidence WHERE device_id = ?1",
                    [device_id],
                    |r| {
                        let key_kind: Option<String> = r.get(8)?;
                        let key: Option<Vec<u8>> = r.get(9)?;
                        Ok(DeviceEvidence {
                            kind: r.get(0)?,
                            level: r.get(1)?,
                            policy: r.get(2)?,
                            window_secs: r.get(3)?,
                            os_patch_level: r.get(4)?,
                            boot_state: r.get(5)?,
                            device_locked: r.get(6)?,
                            app_id: r.get(7)?,
                            upload_key: key_kind.zip(key),
                            app_attest_counter: r.get(10)?,
                        })
                    },
                )
                .optional()?)
        })
    }

    fn advance_app_attest_counter<'a>(&'a self, device_id: &'a str, counter: i64) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let raised = self.db().execute(
                "UPDATE device_evidence SET app_attest_counter = ?2
                 WHERE device_id = ?1 AND app_attest_counter < ?2",
                params![device_id, counter],
            )?;
            Ok(raised == 1)
        })
    }

    fn device<'a>(&'a self, device_id: &'a str) -> StoreFuture<'a, Option<DeviceState>> {
        Box::pin(async move { Ok(device_in(&self.db(), device_id)?) })
    }

    fn apply<'a>(
        &'a self,
        device_id: &'a str,
        verified_from: &'a DeviceState,
        batch: &'a VerifiedBatch,
    ) -> StoreFuture<'a, Applied> {
        Box::pin(async move {
            let mut db = self.db();
            let tx = db.transaction()?;
            let Some(now) = device_in(&tx, device_id)? else {
                return Ok(Applied::Gone);
            };
            if now != *verified_from {
                return Ok(Applied::Moved(now));
            }
            apply_in(&tx, device_id, &now.user_id, batch)?;
            tx.commit()?;
            Ok(Applied::Done)
        })
    }

    fn applied<'a>(&'a self, device_id: &'a str, from: u64, through: u64) -> StoreFuture<'a, Vec<AppliedEntry>> {
        Box::pin(async move {
            let db = self.db();
            let mut stmt = db.prepare(
                "SELECT seq, mac FROM applied_chain WHERE device_id = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq",
            )?;
            let rows = stmt.query_map(params![device_id, from as i64, through as i64], |r| {
                Ok(AppliedEntry { seq: r.get::<_, i64>(0)? as u64, mac: r.get(1)? })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn records<'a>(&'a self, user: &'a str) -> StoreFuture<'a, Vec<Record>> {
        Box::pin(async move {
            let db = self.db();
            let mut stmt =
                db.prepare("SELECT collection, key, value FROM records WHERE user_id = ?1 ORDER BY collection, key")?;
            let rows =
                stmt.query_map([user], |r| Ok(Record { collection: r.get(0)?, key: r.get(1)?, value: r.get(2)? }))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn revoke<'a>(&'a self, revocation: &'a Revocation) -> StoreFuture<'a, Option<Revocation>> {
        Box::pin(async move {
            let mut db = self.db();
            let tx = db.transaction()?;
            if owner_in(&tx, &revocation.device_id)?.is_none() {
                return Ok(None);
            }
            tx.execute(
                "INSERT OR IGNORE INTO revocations (device_id, reason, revoked_at) VALUES (?1, ?2, ?3)",
                params![revocation.device_id, revocation.reason, revocation.at],
            )?;
            let stored = revocation_in(&tx, &revocation.device_id)?;
            tx.commit()?;
            Ok(stored)
        })
    }

    fn revocation<'a>(&'a self, device_id: &'a str) -> StoreFuture<'a, Option<Revocation>> {
        Box::pin(async move { Ok(revocation_in(&self.db(), device_id)?) })
    }

    fn note_contact<'a>(&'a self, contact: &'a Contact<'a>) -> StoreFuture<'a, ()> {
        Box::pin(async move { Ok(super::sqlite_operator::note_contact(&self.db(), contact)?) })
    }

    fn note_refusal<'a>(&'a self, device_id: &'a str, reason: &'a str, at: i64) -> StoreFuture<'a, ()> {
        Box::pin(async move { Ok(super::sqlite_operator::note_refusal(&self.db(), device_id, reason, at)?) })
    }

    fn device_summaries(&self, since: i64, limit: u32) -> StoreFuture<'_, Vec<DeviceSummary>> {
        Box::pin(async move { Ok(super::sqlite_operator::device_summaries(&self.db(), since, limit)?) })
    }

    fn ready(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let db = self.db();
            let tables: i64 = db.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'
                 AND name IN ('issuer', 'devices', 'records', 'receipts', 'applied_chain', 'revocations',
                              'challenges', 'device_evidence')",
                [],
                |r| r.get(0),
            )?;
            if tables == 8 && has_column(&db, "devices", "last_iat")? && has_column(&db, "devices", "grant_token")? {
                Ok(())
            } else {
                Err(StoreError::Unavailable("the schema is not the one this build expects".into()))
            }
        })
    }
}
