//! The operator's page's rows in PostgreSQL (`Store::note_contact`,
//! `note_refusal`, `device_summaries`; migration 0007): a device's last
//! upload and its hourly refusal counts, never for an unknown id. Each
//! write is one statement, so instances noting at once agree.

use std::collections::HashMap;

use offline_auth_backend::Revocation;

use super::contract::{Contact, DeviceSummary, StoreError, REFUSALS_KEPT_SECS};
use super::postgres::PgStore;

impl PgStore {
    pub(super) async fn note_contact_row(&self, contact: &Contact<'_>) -> Result<(), StoreError> {
        let (time, boots) = match contact.newest {
            Some((time, boots)) => (Some(time), boots.map(i64::from)),
            None => (None, None),
        };
        let stretch_at = contact.stretched.then_some(contact.at);
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO device_activity (device_id, last_contact, newest_entry, boots, boots_before, stretch_at)
                 SELECT $1::TEXT, $2::BIGINT, $3::BIGINT, $4::BIGINT, NULL, $5::BIGINT
                 WHERE EXISTS (SELECT 1 FROM devices WHERE device_id = $1)
                 ON CONFLICT (device_id) DO UPDATE SET last_contact = excluded.last_contact,
                     newest_entry = coalesce(excluded.newest_entry, device_activity.newest_entry),
                     boots_before = CASE WHEN excluded.boots IS NULL THEN device_activity.boots_before
                                         ELSE device_activity.boots END,
                     boots = coalesce(excluded.boots, device_activity.boots),
                     stretch_at = coalesce(excluded.stretch_at, device_activity.stretch_at)",
                &[&contact.device_id, &contact.at, &time, &boots, &stretch_at],
            )
            .await?;
        Ok(())
    }

    pub(super) async fn note_refusal_row(&self, device_id: &str, reason: &str, at: i64) -> Result<(), StoreError> {
        let hour = at - at.rem_euclid(3600);
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO device_refusals (device_id, reason, hour, count)
                 SELECT $1::TEXT, $2::TEXT, $3::BIGINT, 1 WHERE EXISTS (SELECT 1 FROM devices WHERE device_id = $1)
                 ON CONFLICT (device_id, reason, hour) DO UPDATE SET count = device_refusals.count + 1",
                &[&device_id, &reason, &hour],
            )
            .await?;
        let oldest = at.saturating_sub(REFUSALS_KEPT_SECS);
        client
            .execute("DELETE FROM device_refusals WHERE device_id = $1 AND hour < $2", &[&device_id, &oldest])
            .await?;
        Ok(())
    }

    pub(super) async fn device_summary_rows(&self, since: i64, limit: u32) -> Result<Vec<DeviceSummary>, StoreError> {
        let client = self.pool.get().await?;
        let limit = i64::from(limit);
        let rows = client
            .query(
                "SELECT d.device_id, d.user_id, d.cursor_seq, a.last_contact, a.newest_entry, a.boots, a.boots_before,
                        a.stretch_at, e.level, r.reason, r.revoked_at
                 FROM devices d LEFT JOIN device_activity a ON a.device_id = d.device_id
                      LEFT JOIN device_evidence e ON e.device_id = d.device_id
                      LEFT JOIN revocations r ON r.device_id = d.device_id
                 ORDER BY d.device_id LIMIT $1",
                &[&limit],
            )
            .await?;
        let mut devices = Vec::with_capacity(rows.len());
        for row in rows {
            let device_id: String = row.try_get(0)?;
            let reason: Option<String> = row.try_get(9)?;
            let revoked_at: Option<i64> = row.try_get(10)?;
            let revoked =
                reason.zip(revoked_at).map(|(reason, at)| Revocation { device_id: device_id.clone(), reason, at });
            devices.push(DeviceSummary {
                user_id: row.try_get(1)?,
                acknowledged_seq: u64::try_from(row.try_get::<_, i64>(2)?).unwrap_or(0),
                last_contact: row.try_get(3)?,
                newest_entry: row.try_get(4)?,
                boots: row.try_get(5)?,
                boots_before: row.try_get(6)?,
                stretch_at: row.try_get(7)?,
                level: row.try_get(8)?,
                revoked,
                refusals: Vec::new(),
                device_id,
            });
        }
        let hour = since - since.rem_euclid(3600);
        let rows = client
            .query(
                "SELECT device_id, reason, sum(count)::BIGINT FROM device_refusals
                 WHERE hour >= $1 AND device_id IN (SELECT device_id FROM devices ORDER BY device_id LIMIT $2)
                 GROUP BY device_id, reason ORDER BY device_id, reason",
                &[&hour, &limit],
            )
            .await?;
        let mut refusals: HashMap<String, Vec<(String, u64)>> = HashMap::new();
        for row in rows {
            let count: i64 = row.try_get(2)?;
            refusals.entry(row.try_get(0)?).or_default().push((row.try_get(1)?, u64::try_from(count).unwrap_or(0)));
        }
        for device in &mut devices {
            device.refusals = refusals.remove(&device.device_id).unwrap_or_default();
        }
        Ok(devices)
    }
}
