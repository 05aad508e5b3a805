//! [`KeyRows`] for SQLite: the stored key rows as they are, for the KEK
//! layer's rewrap ([`super::sealed`]).

use rusqlite::params;

use super::contract::{KeyRows, StoreFuture};
use super::sqlite::SqliteStore;

impl KeyRows for SqliteStore {
    fn replace_sync_key<'a>(&'a self, device_id: &'a str, from: &'a [u8], to: &'a [u8]) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let changed = self.db().execute(
                "UPDATE devices SET sync_key = ?3 WHERE device_id = ?1 AND sync_key = ?2",
                params![device_id, from, to],
            )?;
            Ok(changed == 1)
        })
    }

    fn replace_issuer_key<'a>(&'a self, from: &'a [u8], to: &'a [u8]) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let changed = self
                .db()
                .execute("UPDATE issuer SET private_key = ?2 WHERE id = 1 AND private_key = ?1", params![from, to])?;
            Ok(changed == 1)
        })
    }

    fn sync_keys_after<'a>(&'a self, after: &'a str, limit: u32) -> StoreFuture<'a, Vec<(String, Vec<u8>)>> {
        Box::pin(async move {
            let db = self.db();
            let mut stmt =
                db.prepare("SELECT device_id, sync_key FROM devices WHERE device_id > ?1 ORDER BY device_id LIMIT ?2")?;
            let rows = stmt.query_map(params![after, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}
