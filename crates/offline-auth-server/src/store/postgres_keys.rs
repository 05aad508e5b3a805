//! [`KeyRows`] for PostgreSQL: the stored key rows as they are, for the
//! KEK layer's rewrap ([`super::sealed`]). Each replacement is one
//! compare-and-set statement, so instances rewrapping at once agree.

use super::contract::{KeyRows, StoreFuture};
use super::postgres::PgStore;

impl KeyRows for PgStore {
    fn replace_sync_key<'a>(&'a self, device_id: &'a str, from: &'a [u8], to: &'a [u8]) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let changed = client
                .execute(
                    "UPDATE devices SET sync_key = $3 WHERE device_id = $1 AND sync_key = $2",
                    &[&device_id, &from, &to],
                )
                .await?;
            Ok(changed == 1)
        })
    }

    fn replace_issuer_key<'a>(&'a self, from: &'a [u8], to: &'a [u8]) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let changed = client
                .execute("UPDATE issuer SET private_key = $2 WHERE id = 1 AND private_key = $1", &[&from, &to])
                .await?;
            Ok(changed == 1)
        })
    }

    fn sync_keys_after<'a>(&'a self, after: &'a str, limit: u32) -> StoreFuture<'a, Vec<(String, Vec<u8>)>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let rows = client
                .query(
                    "SELECT device_id, sync_key FROM devices WHERE device_id COLLATE \"C\" > $1 ORDER BY device_id COLLATE \"C\" LIMIT $2",
                    &[&after, &i64::from(limit)],
                )
                .await?;
            rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect()
        })
    }
}
