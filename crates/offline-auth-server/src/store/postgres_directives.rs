//! [`Directives`] for PostgreSQL (migration 0006): one row per queued
//! directive, delivered by every instance until its device acknowledges it.

use super::contract::{Directives, QueuedDirective, StoreFuture, MAX_DELIVERED_DIRECTIVES};
use super::postgres::PgStore;

impl Directives for PgStore {
    fn queue_directive<'a>(&'a self, directive: &'a QueuedDirective) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            // Only for a device that exists, in one statement.
            let inserted = client
                .execute(
                    "INSERT INTO directives (device_id, jti, iat, action, token)
                     SELECT $1::TEXT, $2::TEXT, $3::BIGINT, $4::TEXT, $5::TEXT
                     WHERE EXISTS (SELECT 1 FROM devices WHERE device_id = $1)",
                    &[&directive.device_id, &directive.jti, &directive.iat, &directive.action, &directive.token],
                )
                .await?;
            Ok(inserted == 1)
        })
    }

    fn pending_directives<'a>(&'a self, device_id: &'a str) -> StoreFuture<'a, Vec<String>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let rows = client
                .query(
                    "SELECT token FROM directives WHERE device_id = $1 AND acknowledged_at IS NULL
                     ORDER BY iat, id LIMIT $2",
                    &[&device_id, &i64::from(MAX_DELIVERED_DIRECTIVES)],
                )
                .await?;
            rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
        })
    }

    fn acknowledge_directives<'a>(&'a self, device_id: &'a str, jtis: &'a [String], at: i64) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let acknowledged = client
                .execute(
                    "UPDATE directives SET acknowledged_at = $3
                     WHERE device_id = $1 AND jti = ANY($2) AND acknowledged_at IS NULL",
                    &[&device_id, &jtis, &at],
                )
                .await?;
            Ok(acknowledged)
        })
    }
}
