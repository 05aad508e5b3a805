//! The PostgreSQL store: several stateless server instances share one
//! database. Correctness across instances comes from the device row lock
//! (`SELECT … FOR UPDATE`) and the cursor re-check under it, never from
//! anything held in one process.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use offline_auth_backend::{AppliedEntry, Revocation, SyncCursor, VerifiedBatch};
use tokio_postgres::{NoTls, Row};

use super::postgres_evidence as evidence;

use super::contract::{
    first_applied_seq, net_effect, Applied, ChallengeTaken, Contact, DeviceEvidence, DeviceState, DeviceSummary,
    Enrolled, IssueGrant, Record, Store, StoreError, StoreFuture,
};

/// The schema migrations, in order: (version, SQL). Each is applied once,
/// in one transaction with its row in `schema_migrations`.
/// Each version is applied if its own row is missing, whatever the highest
/// one applied.
pub const MIGRATIONS: [(i32, &str); 7] = [
    (1, include_str!("../../migrations/0001_initial.sql")),
    (2, include_str!("../../migrations/0002_applied_chain.sql")),
    (3, include_str!("../../migrations/0003_attestation.sql")),
    (4, include_str!("../../migrations/0004_revocation.sql")),
    (5, include_str!("../../migrations/0005_app_attest_counter.sql")),
    (6, include_str!("../../migrations/0006_directives.sql")),
    (7, include_str!("../../migrations/0007_operator_page.sql")),
];

/// Key of the advisory lock under which instances starting together migrate one at a time.
const MIGRATION_LOCK: i64 = 0x6f61_5f6d_6967; // "oa_mig"

/// Connections per instance.
pub const POOL_SIZE: usize = 16;

/// How long a request waits for a connection (or to make one) before it
/// is answered 503: a database that is down fails requests quickly.
const POOL_TIMEOUT: Duration = Duration::from_secs(2);

/// The server's state in PostgreSQL, through a pool of connections.
pub struct PgStore {
    pub(super) pool: Pool,
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        // No SQLSTATE: the connection broke or could not be made. Classes
        // 08 (connection), 40 (rollback: serialisation, deadlock), 53
        // (resources) and 57 (operator intervention: shutdown) are worth a retry.
        let transient = match error.code() {
            None => true,
            Some(state) => ["08", "40", "53", "57"].iter().any(|class| state.code().starts_with(class)),
        };
        if transient || error.is_closed() {
            StoreError::Unavailable(error.to_string())
        } else {
            StoreError::Failed(error.to_string())
        }
    }
}

impl From<PoolError> for StoreError {
    fn from(error: PoolError) -> Self {
        match error {
            PoolError::Backend(error) => error.into(),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db` or key=value form)
    /// and brings the schema up to date.
    ///
    /// # Errors
    /// A malformed URL, an unreachable database, or a failed migration.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url.parse()?;
        config.connect_timeout(POOL_TIMEOUT).application_name("offline-auth-server");
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .recycle_timeout(Some(POOL_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Failed(e.to_string()))?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations this database lacks, one instance at a time.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .await?;
        let applied: Vec<i32> =
            tx.query("SELECT version FROM schema_migrations", &[]).await?.iter().map(|row| row.get(0)).collect();
        for (version, sql) in MIGRATIONS {
            if applied.contains(&version) {
                continue;
            }
            tx.batch_execute(sql).await?;
            tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&version]).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

const REVOCATION_SQL: &str = "SELECT reason, revoked_at FROM revocations WHERE device_id = $1";

fn revocation_row(row: Option<Row>, device_id: &str) -> Result<Option<Revocation>, StoreError> {
    row.map(|row| Ok(Revocation { device_id: device_id.to_owned(), reason: row.try_get(0)?, at: row.try_get(1)? }))
        .transpose()
}

fn device_state(row: &Row) -> Result<DeviceState, StoreError> {
    let last_seq: i64 = row.try_get(2)?;
    Ok(DeviceState {
        user_id: row.try_get(0)?,
        sync_key: row.try_get(1)?,
        cursor: SyncCursor {
            last_seq: u64::try_from(last_seq).map_err(|_| StoreError::Failed("negative cursor".into()))?,
            last_mac: row.try_get(3)?,
        },
    })
}

fn as_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Failed("seq out of range".into()))
}

const SELECT_DEVICE: &str = "SELECT user_id, sync_key, cursor_seq, cursor_mac FROM devices WHERE device_id = $1";

impl Store for PgStore {
    fn issuer_key(&self, candidate: (String, Vec<u8>)) -> StoreFuture<'_, (String, Vec<u8>)> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            client
                .execute(
                    "INSERT INTO issuer (id, kid, private_key) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
                    &[&candidate.0, &candidate.1],
                )
                .await?;
            let row = client.query_one("SELECT kid, private_key FROM issuer WHERE id = 1", &[]).await?;
            Ok((row.try_get(0)?, row.try_get(1)?))
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
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            let zero_mac = vec![0u8; 32];
            // Insert-if-absent, then lock: concurrent enrolments of a new
            // device queue on the row like those of a known one.
            tx.execute(
                "INSERT INTO devices (device_id, user_id, sync_key, cursor_seq, cursor_mac)
                 VALUES ($1, $2, $3, 0, $4) ON CONFLICT (device_id) DO NOTHING",
                &[&device_id, &user, &sync_key, &zero_mac],
            )
            .await?;
            let row = tx
                .query_one("SELECT user_id, last_iat FROM devices WHERE device_id = $1 FOR UPDATE", &[&device_id])
                .await?;
            let (owner, last_iat): (String, i64) = (row.try_get(0)?, row.try_get(1)?);
            if owner != user {
                return Ok(Enrolled::OtherUser);
            }
            let (grant, iat) = issue(last_iat).map_err(StoreError::Backend)?;
            // Re-enrolment (after a wipe) starts a new chain with a new key.
            tx.execute("DELETE FROM applied_chain WHERE device_id = $1", &[&device_id]).await?;
            tx.execute(
                "UPDATE devices SET sync_key = $2, cursor_seq = 0, cursor_mac = $3, last_iat = $4, grant_token = $5,
                        enrolled_at = now(), synced_at = NULL
                 WHERE device_id = $1",
                &[&device_id, &sync_key, &zero_mac, &iat, &grant],
            )
            .await?;
            tx.execute("DELETE FROM device_evidence WHERE device_id = $1", &[&device_id]).await?;
            if let Some(e) = evidence {
                evidence::insert(&tx, device_id, e).await?;
            }
            tx.commit().await?;
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
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            let row = tx
                .query_opt("SELECT user_id, last_iat FROM devices WHERE device_id = $1 FOR UPDATE", &[&device_id])
                .await?;
            let Some(row) = row else { return Ok(None) };
            let (owner, last_iat): (String, i64) = (row.try_get(0)?, row.try_get(1)?);
            if owner != user {
                return Ok(None);
            }
            let (grant, iat) = issue(last_iat).map_err(StoreError::Backend)?;
            tx.execute(
                "UPDATE devices SET last_iat = $2, grant_token = $3 WHERE device_id = $1",
                &[&device_id, &iat, &grant],
            )
            .await?;
            tx.commit().await?;
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
        Box::pin(evidence::put_challenge(&self.pool, device_id, challenge, expires_at, now))
    }

    fn take_challenge<'a>(
        &'a self,
        device_id: &'a str,
        challenge: &'a [u8],
        now: i64,
    ) -> StoreFuture<'a, ChallengeTaken> {
        Box::pin(evidence::take_challenge(&self.pool, device_id, challenge, now))
    }

    fn device_evidence<'a>(&'a self, device_id: &'a str) -> StoreFuture<'a, Option<DeviceEvidence>> {
        Box::pin(evidence::device_evidence(&self.pool, device_id))
    }

    fn advance_app_attest_counter<'a>(&'a self, device_id: &'a str, counter: i64) -> StoreFuture<'a, bool> {
        Box::pin(evidence::advance_app_attest_counter(&self.pool, device_id, counter))
    }

    fn device<'a>(&'a self, device_id: &'a str) -> StoreFuture<'a, Option<DeviceState>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let statement = client.prepare_cached(SELECT_DEVICE).await?;
            client.query_opt(&statement, &[&device_id]).await?.as_ref().map(device_state).transpose()
        })
    }

    fn apply<'a>(
        &'a self,
        device_id: &'a str,
        verified_from: &'a DeviceState,
        batch: &'a VerifiedBatch,
    ) -> StoreFuture<'a, Applied> {
        Box::pin(async move {
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            let lock = tx.prepare_cached(&format!("{SELECT_DEVICE} FOR UPDATE")).await?;
            let Some(row) = tx.query_opt(&lock, &[&device_id]).await? else {
                return Ok(Applied::Gone);
            };
            let now = device_state(&row)?;
            if now != *verified_from {
                return Ok(Applied::Moved(now));
            }
            let effect = net_effect(&batch.operations);
            if !effect.puts.is_empty() {
                let collections: Vec<&str> = effect.puts.iter().map(|p| p.0).collect();
                let keys: Vec<&str> = effect.puts.iter().map(|p| p.1).collect();
                let values: Vec<&[u8]> = effect.puts.iter().map(|p| p.2).collect();
                let seqs = effect.puts.iter().map(|p| as_i64(p.3)).collect::<Result<Vec<i64>, _>>()?;
                let put = tx
                    .prepare_cached(
                        "INSERT INTO records (user_id, collection, key, value, seq, device_id)
                         SELECT $1, c, k, v, s, $6 FROM unnest($2::text[], $3::text[], $4::bytea[], $5::int8[]) AS t(c, k, v, s)
                         ON CONFLICT (user_id, collection, key)
                         DO UPDATE SET value = EXCLUDED.value, seq = EXCLUDED.seq, device_id = EXCLUDED.device_id",
                    )
                    .await?;
                tx.execute(&put, &[&now.user_id, &collections, &keys, &values, &seqs, &device_id]).await?;
            }
            if !effect.deletes.is_empty() {
                let collections: Vec<&str> = effect.deletes.iter().map(|d| d.0).collect();
                let keys: Vec<&str> = effect.deletes.iter().map(|d| d.1).collect();
                let delete = tx
                    .prepare_cached(
                        "DELETE FROM records WHERE user_id = $1
                         AND (collection, key) IN (SELECT * FROM unnest($2::text[], $3::text[]))",
                    )
                    .await?;
                tx.execute(&delete, &[&now.user_id, &collections, &keys]).await?;
            }
            let chain_seqs = batch.operations.iter().map(|op| as_i64(op.seq)).collect::<Result<Vec<i64>, _>>()?;
            let chain_macs: Vec<&[u8]> = batch.operations.iter().map(|op| op.mac.as_slice()).collect();
            let chain = tx
                .prepare_cached(
                    "INSERT INTO applied_chain (device_id, seq, mac)
                     SELECT $1, s, m FROM unnest($2::int8[], $3::bytea[]) AS t(s, m)",
                )
                .await?;
            tx.execute(&chain, &[&device_id, &chain_seqs, &chain_macs]).await?;
            let through = as_i64(batch.cursor.last_seq)?;
            let advance = tx
                .prepare_cached(
                    "UPDATE devices SET cursor_seq = $2, cursor_mac = $3, synced_at = now() WHERE device_id = $1",
                )
                .await?;
            tx.execute(&advance, &[&device_id, &through, &batch.cursor.last_mac]).await?;
            let receipt = tx
                .prepare_cached(
                    "INSERT INTO receipts (device_id, from_seq, through_seq, applied, head_mac) VALUES ($1, $2, $3, $4, $5)",
                )
                .await?;
            let applied = i32::try_from(batch.operations.len()).map_err(|_| StoreError::Failed("batch size".into()))?;
            let from_seq = as_i64(first_applied_seq(batch))?;
            tx.execute(&receipt, &[&device_id, &from_seq, &through, &applied, &batch.cursor.last_mac]).await?;
            tx.commit().await?;
            Ok(Applied::Done)
        })
    }

    fn applied<'a>(&'a self, device_id: &'a str, from: u64, through: u64) -> StoreFuture<'a, Vec<AppliedEntry>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let rows = client
                .query(
                    "SELECT seq, mac FROM applied_chain WHERE device_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq",
                    &[&device_id, &as_i64(from)?, &as_i64(through)?],
                )
                .await?;
            rows.iter()
                .map(|row| {
                    let seq: i64 = row.try_get(0)?;
                    let seq = u64::try_from(seq).map_err(|_| StoreError::Failed("negative seq".into()))?;
                    Ok(AppliedEntry { seq, mac: row.try_get(1)? })
                })
                .collect()
        })
    }

    fn records<'a>(&'a self, user: &'a str) -> StoreFuture<'a, Vec<Record>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let rows = client
                .query(
                    "SELECT collection, key, value FROM records WHERE user_id = $1
                     ORDER BY collection COLLATE \"C\", key COLLATE \"C\"",
                    &[&user],
                )
                .await?;
            rows.iter()
                .map(|r| Ok(Record { collection: r.try_get(0)?, key: r.try_get(1)?, value: r.try_get(2)? }))
                .collect()
        })
    }

    fn revoke<'a>(&'a self, revocation: &'a Revocation) -> StoreFuture<'a, Option<Revocation>> {
        Box::pin(async move {
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            let known = tx.query_opt("SELECT 1 FROM devices WHERE device_id = $1", &[&revocation.device_id]).await?;
            if known.is_none() {
                return Ok(None);
            }
            tx.execute(
                "INSERT INTO revocations (device_id, reason, revoked_at) VALUES ($1, $2, $3)
                 ON CONFLICT (device_id) DO NOTHING",
                &[&revocation.device_id, &revocation.reason, &revocation.at],
            )
            .await?;
            let stored =
                revocation_row(tx.query_opt(REVOCATION_SQL, &[&revocation.device_id]).await?, &revocation.device_id)?;
            tx.commit().await?;
            Ok(stored)
        })
    }

    fn revocation<'a>(&'a self, device_id: &'a str) -> StoreFuture<'a, Option<Revocation>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            revocation_row(client.query_opt(REVOCATION_SQL, &[&device_id]).await?, device_id)
        })
    }

    fn note_contact<'a>(&'a self, contact: &'a Contact<'a>) -> StoreFuture<'a, ()> {
        Box::pin(self.note_contact_row(contact))
    }

    fn note_refusal<'a>(&'a self, device_id: &'a str, reason: &'a str, at: i64) -> StoreFuture<'a, ()> {
        Box::pin(self.note_refusal_row(device_id, reason, at))
    }

    fn device_summaries(&self, since: i64, limit: u32) -> StoreFuture<'_, Vec<DeviceSummary>> {
        Box::pin(self.device_summary_rows(since, limit))
    }

    fn ready(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            // No table at all is an error here, which /readyz reports the same way.
            let applied: Vec<i32> = client
                .query("SELECT version FROM schema_migrations", &[])
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
            if MIGRATIONS.iter().all(|(version, _)| applied.contains(version)) {
                Ok(())
            } else {
                Err(StoreError::Unavailable("migrations are not applied".into()))
            }
        })
    }
}
