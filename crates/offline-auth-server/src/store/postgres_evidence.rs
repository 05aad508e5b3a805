//! The PostgreSQL store's attestation tables (migrations 0003 and 0005):
//! challenges taken once across every instance, each device's evidence
//! summary, and its App Attest counter raised by compare-and-set.

use deadpool_postgres::{Pool, Transaction};

use super::contract::{ChallengeTaken, DeviceEvidence, StoreError};

/// Challenges that expired more than this long ago are dropped when a new
/// one is stored (until then a replay is told `Used`/`Expired`, not `Unknown`).
const PURGE_AFTER_SECS: i64 = 24 * 3600;

pub(crate) async fn put_challenge(
    pool: &Pool,
    device_id: &str,
    challenge: &[u8],
    expires_at: i64,
    now: i64,
) -> Result<(), StoreError> {
    let client = pool.get().await?;
    client.execute("DELETE FROM challenges WHERE expires_at < $1", &[&now.saturating_sub(PURGE_AFTER_SECS)]).await?;
    client
        .execute(
            "INSERT INTO challenges (challenge, device_id, expires_at) VALUES ($1, $2, $3)",
            &[&challenge, &device_id, &expires_at],
        )
        .await?;
    Ok(())
}

pub(crate) async fn take_challenge(
    pool: &Pool,
    device_id: &str,
    challenge: &[u8],
    now: i64,
) -> Result<ChallengeTaken, StoreError> {
    let client = pool.get().await?;
    // One UPDATE: of instances taking the same challenge at once, exactly
    // one sees a row changed.
    let taken = client
        .execute(
            "UPDATE challenges SET used_at = $3
             WHERE challenge = $1 AND device_id = $2 AND used_at IS NULL AND expires_at > $3",
            &[&challenge, &device_id, &now],
        )
        .await?;
    if taken == 1 {
        return Ok(ChallengeTaken::Fresh);
    }
    let row = client
        .query_opt("SELECT used_at FROM challenges WHERE challenge = $1 AND device_id = $2", &[&challenge, &device_id])
        .await?;
    Ok(match row {
        None => ChallengeTaken::Unknown,
        Some(row) => match row.try_get::<_, Option<i64>>(0)? {
            Some(_) => ChallengeTaken::Used,
            None => ChallengeTaken::Expired,
        },
    })
}

pub(crate) async fn device_evidence(pool: &Pool, device_id: &str) -> Result<Option<DeviceEvidence>, StoreError> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT kind, level, policy, window_secs, os_patch_level, boot_state, device_locked, app_id,
                    key_kind, upload_key, app_attest_counter
             FROM device_evidence WHERE device_id = $1",
            &[&device_id],
        )
        .await?;
    let Some(r) = row else { return Ok(None) };
    let key_kind: Option<String> = r.try_get(8)?;
    let key: Option<Vec<u8>> = r.try_get(9)?;
    Ok(Some(DeviceEvidence {
        kind: r.try_get(0)?,
        level: r.try_get(1)?,
        policy: r.try_get(2)?,
        window_secs: r.try_get(3)?,
        os_patch_level: r.try_get(4)?,
        boot_state: r.try_get(5)?,
        device_locked: r.try_get(6)?,
        app_id: r.try_get(7)?,
        upload_key: key_kind.zip(key),
        app_attest_counter: r.try_get(10)?,
    }))
}

/// One UPDATE: of instances accepting assertions with the same counter at
/// once, exactly one sees a row changed.
pub(crate) async fn advance_app_attest_counter(pool: &Pool, device_id: &str, counter: i64) -> Result<bool, StoreError> {
    let client = pool.get().await?;
    let raised = client
        .execute(
            "UPDATE device_evidence SET app_attest_counter = $2
             WHERE device_id = $1 AND app_attest_counter < $2",
            &[&device_id, &counter],
        )
        .await?;
    Ok(raised == 1)
}

/// Stores `e` for `device_id` inside the enrolment's transaction (after the
/// old summary was deleted).
pub(crate) async fn insert(tx: &Transaction<'_>, device_id: &str, e: &DeviceEvidence) -> Result<(), StoreError> {
    let (key_kind, key) = e.upload_key.clone().unzip();
    tx.execute(
        "INSERT INTO device_evidence (device_id, kind, level, policy, window_secs, os_patch_level,
                                      boot_state, device_locked, app_id, key_kind, upload_key,
                                      app_attest_counter)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &device_id,
            &e.kind,
            &e.level,
            &e.policy,
            &e.window_secs,
            &e.os_patch_level,
            &e.boot_state,
            &e.device_locked,
            &e.app_id,
            &key_kind,
            &key,
            &e.app_attest_counter,
        ],
    )
    .await?;
    Ok(())
}
