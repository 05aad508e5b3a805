//! The backend's time as last seen (`PinVault::note_server_time`), in the
//! `meta` table as four integers: the backend's time, and the device's wall
//! clock, boot (the first 8 bytes of its hash) and elapsed time when it was
//! noted. Unauthenticated on purpose: it only decides whether the queue
//! tells the app its clock is ahead (`sync/server_time.rs`); an edit can
//! hide that message or show it wrongly, and changes nothing the backend
//! accepts.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::error::Result;

const KEYS: [&str; 4] = ["server_time", "server_time_wall", "server_time_boot", "server_time_elapsed_ms"];

/// The backend's time and the device's clocks when it was noted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotedServerTime {
    /// The backend's time, seconds since the epoch.
    pub(crate) server: i64,
    /// The device's wall clock then.
    pub(crate) wall: i64,
    /// The first 8 bytes of the boot's hash, as an integer.
    pub(crate) boot: i64,
    /// Elapsed milliseconds since that boot.
    pub(crate) elapsed_ms: i64,
}

/// Stores `noted`, replacing what was there.
pub(crate) fn store(tx: &Transaction<'_>, noted: NotedServerTime) -> Result<()> {
    let sql = "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    for (key, value) in KEYS.iter().zip([noted.server, noted.wall, noted.boot, noted.elapsed_ms]) {
        tx.execute(sql, params![key, value])?;
    }
    Ok(())
}

/// What was stored, if all of it is there.
pub(crate) fn load(conn: &Connection) -> Result<Option<NotedServerTime>> {
    let get = |key: &str| -> Result<Option<i64>> {
        Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    };
    let [server, wall, boot, elapsed_ms] = KEYS;
    Ok(match (get(server)?, get(wall)?, get(boot)?, get(elapsed_ms)?) {
        (Some(server), Some(wall), Some(boot), Some(elapsed_ms)) => {
            Some(NotedServerTime { server, wall, boot, elapsed_ms })
        }
        _ => None,
    })
}
