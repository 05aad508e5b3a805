//! [`Directives`] for SQLite: one row per queued directive (the table is
//! created with the others in `sqlite.rs`), delivered until its device
//! acknowledges it.

use rusqlite::params;

use super::contract::{Directives, QueuedDirective, StoreFuture, MAX_DELIVERED_DIRECTIVES};
use super::sqlite::SqliteStore;

impl Directives for SqliteStore {
    fn queue_directive<'a>(&'a self, directive: &'a QueuedDirective) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut db = self.db();
            let tx = db.transaction()?;
            let known: i64 =
                tx.query_row("SELECT count(*) FROM devices WHERE device_id = ?1", [&directive.device_id], |r| {
                    r.get(0)
                })?;
            if known == 0 {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO directives (device_id, jti, iat, action, token) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![directive.device_id, directive.jti, directive.iat, directive.action, directive.token],
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn pending_directives<'a>(&'a self, device_id: &'a str) -> StoreFuture<'a, Vec<String>> {
        Box::pin(async move {
            let db = self.db();
            let mut stmt = db.prepare_cached(
                "SELECT token FROM directives WHERE device_id = ?1 AND acknowledged_at IS NULL
                 ORDER BY iat, id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![device_id, i64::from(MAX_DELIVERED_DIRECTIVES)], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn acknowledge_directives<'a>(&'a self, device_id: &'a str, jtis: &'a [String], at: i64) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let mut db = self.db();
            let tx = db.transaction()?;
            let mut acknowledged = 0u64;
            for jti in jtis {
                acknowledged += tx.execute(
                    "UPDATE directives SET acknowledged_at = ?3
                     WHERE device_id = ?1 AND jti = ?2 AND acknowledged_at IS NULL",
                    params![device_id, jti, at],
                )? as u64;
            }
            tx.commit()?;
            Ok(acknowledged)
        })
    }
}
