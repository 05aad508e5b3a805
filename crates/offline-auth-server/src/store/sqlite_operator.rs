//! The operator's page's rows in SQLite (`Store::note_contact`,
//! `note_refusal`, `device_summaries`): a device's last upload and its
//! hourly refusal counts, kept beside the device (never for an unknown id).

use std::collections::HashMap;

use offline_auth_backend::Revocation;
use rusqlite::{params, Connection};

use super::contract::{Contact, DeviceSummary, REFUSALS_KEPT_SECS};

/// The tables, created at open (on an older database too).
pub(super) const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS device_activity (device_id TEXT PRIMARY KEY, last_contact INTEGER NOT NULL,
                                                 newest_entry INTEGER, boots INTEGER, boots_before INTEGER,
                                                 stretch_at INTEGER);
     CREATE TABLE IF NOT EXISTS device_refusals (device_id TEXT NOT NULL, reason TEXT NOT NULL, hour INTEGER NOT NULL,
                                                 count INTEGER NOT NULL, PRIMARY KEY (device_id, reason, hour));";

pub(super) fn note_contact(conn: &Connection, contact: &Contact<'_>) -> rusqlite::Result<()> {
    let (time, boots) = match contact.newest {
        Some((time, boots)) => (Some(time), boots.map(i64::from)),
        None => (None, None),
    };
    let stretch_at = contact.stretched.then_some(contact.at);
    conn.execute(
        "INSERT INTO device_activity (device_id, last_contact, newest_entry, boots, boots_before, stretch_at)
         SELECT ?1, ?2, ?3, ?4, NULL, ?5 WHERE EXISTS (SELECT 1 FROM devices WHERE device_id = ?1)
         ON CONFLICT (device_id) DO UPDATE SET last_contact = excluded.last_contact,
             newest_entry = coalesce(excluded.newest_entry, device_activity.newest_entry),
             boots_before = CASE WHEN excluded.boots IS NULL THEN device_activity.boots_before
                                 ELSE device_activity.boots END,
             boots = coalesce(excluded.boots, device_activity.boots),
             stretch_at = coalesce(excluded.stretch_at, device_activity.stretch_at)",
        params![contact.device_id, contact.at, time, boots, stretch_at],
    )?;
    Ok(())
}

pub(super) fn note_refusal(conn: &Connection, device_id: &str, reason: &str, at: i64) -> rusqlite::Result<()> {
    let hour = at - at.rem_euclid(3600);
    conn.execute(
        "INSERT INTO device_refusals (device_id, reason, hour, count)
         SELECT ?1, ?2, ?3, 1 WHERE EXISTS (SELECT 1 FROM devices WHERE device_id = ?1)
         ON CONFLICT (device_id, reason, hour) DO UPDATE SET count = device_refusals.count + 1",
        params![device_id, reason, hour],
    )?;
    conn.execute(
        "DELETE FROM device_refusals WHERE device_id = ?1 AND hour < ?2",
        params![device_id, at.saturating_sub(REFUSALS_KEPT_SECS)],
    )?;
    Ok(())
}

pub(super) fn device_summaries(conn: &Connection, since: i64, limit: u32) -> rusqlite::Result<Vec<DeviceSummary>> {
    let mut statement = conn.prepare(
        "SELECT d.device_id, d.user_id, d.cursor_seq, a.last_contact, a.newest_entry, a.boots, a.boots_before,
                a.stretch_at, e.level, r.reason, r.revoked_at
         FROM devices d LEFT JOIN device_activity a ON a.device_id = d.device_id
              LEFT JOIN device_evidence e ON e.device_id = d.device_id
              LEFT JOIN revocations r ON r.device_id = d.device_id
         ORDER BY d.device_id LIMIT ?1",
    )?;
    let mut devices = statement
        .query_map([limit], |r| {
            let device_id: String = r.get(0)?;
            let reason: Option<String> = r.get(9)?;
            let revoked_at: Option<i64> = r.get(10)?;
            let revoked =
                reason.zip(revoked_at).map(|(reason, at)| Revocation { device_id: device_id.clone(), reason, at });
            Ok(DeviceSummary {
                user_id: r.get(1)?,
                acknowledged_seq: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                last_contact: r.get(3)?,
                newest_entry: r.get(4)?,
                boots: r.get(5)?,
                boots_before: r.get(6)?,
                stretch_at: r.get(7)?,
                level: r.get(8)?,
                revoked,
                refusals: Vec::new(),
                device_id,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut statement = conn.prepare(
        "SELECT device_id, reason, sum(count) FROM device_refusals
         WHERE hour >= ?1 - ?1 % 3600 AND device_id IN (SELECT device_id FROM devices ORDER BY device_id LIMIT ?2)
         GROUP BY device_id, reason ORDER BY device_id, reason",
    )?;
    let mut refusals: HashMap<String, Vec<(String, u64)>> = HashMap::new();
    let rows = statement.query_map(params![since, limit], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
    })?;
    for row in rows {
        let (device_id, reason, count) = row?;
        refusals.entry(device_id).or_default().push((reason, u64::try_from(count).unwrap_or(0)));
    }
    for device in &mut devices {
        device.refusals = refusals.remove(&device.device_id).unwrap_or_default();
    }
    Ok(devices)
}
