//! The backend's time, as its answers carry it, and what it tells the queue.
//!
//! The backend refuses entries stamped after its own clock plus the skew
//! (`RejectReason::FromTheFuture`): a device whose clock ran ahead would
//! upload the same refused batch again and again, and the app would never
//! learn why. So the app passes the `server_time` of every backend answer
//! to `PinVault::note_server_time`; the vault keeps it with the boot clock
//! reading it arrived at, and estimates the backend's time later as that
//! time plus the elapsed time since (in the same boot) or plus the wall
//! clock's move since (after a reboot). `next_batch` then leaves out the
//! entries the backend would refuse, and returns `ClockAhead` — by how much,
//! and in how long the backend will take them — when the first pending
//! entry is one of them. Entries are never re-stamped (the chain's MAC
//! covers their time): they wait, and nothing is dropped.

use crate::engine::VaultShared;
use crate::error::{Error, Result};
use crate::storage::server_time::{self, NotedServerTime};
use crate::time::Reading;

/// Wall-clock readings outside 1970..=9999 are garbage (as in `time.rs`).
const MAX_SERVER_SECS: i64 = 253_402_300_799;

fn boot_tag(reading: &Reading) -> i64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(reading.boot.get(..8).unwrap_or(&[0; 8]));
    i64::from_be_bytes(first)
}

/// `PinVault::note_server_time`: keeps the backend's `server_time`.
pub(crate) fn note(vault: &VaultShared, server: i64) -> Result<()> {
    if !(0..=MAX_SERVER_SECS).contains(&server) {
        return Err(Error::InvalidInput("server_time must be seconds since 1970, before year 10000".into()));
    }
    let reading = vault.reading()?;
    let elapsed_ms = i64::try_from(reading.elapsed_ms).unwrap_or(i64::MAX);
    let noted = NotedServerTime { server, wall: reading.wall, boot: boot_tag(&reading), elapsed_ms };
    vault.db.write(|tx| server_time::store(tx, noted))
}

/// The backend's time now, as last noted, if it was.
pub(crate) fn estimate(conn: &rusqlite::Connection, reading: &Reading) -> Result<Option<i64>> {
    let Some(noted) = server_time::load(conn)? else {
        return Ok(None);
    };
    let elapsed_ms = i64::try_from(reading.elapsed_ms).unwrap_or(i64::MAX);
    let since = if noted.boot == boot_tag(reading) && elapsed_ms >= noted.elapsed_ms {
        elapsed_ms.saturating_sub(noted.elapsed_ms) / 1000
    } else {
        reading.wall.saturating_sub(noted.wall).max(0)
    };
    Ok(Some(noted.server.saturating_add(since)))
}

/// How many of the entries stamped `times` (in queue order) the backend
/// will take at `server_now` with `skew_secs`: the leading ones not stamped
/// after its time. `ClockAhead` when not even the first.
pub(crate) fn acceptable(times: impl Iterator<Item = i64>, server_now: i64, skew_secs: u64) -> Result<usize> {
    let latest = server_now.saturating_add(i64::try_from(skew_secs).unwrap_or(i64::MAX));
    let mut taken = 0;
    for time in times {
        if time > latest {
            if taken == 0 {
                let ahead_secs = u64::try_from(time.saturating_sub(server_now)).unwrap_or(0);
                let retry_after_secs = u64::try_from(time.saturating_sub(latest)).unwrap_or(0);
                return Err(Error::ClockAhead { ahead_secs, retry_after_secs });
            }
            break;
        }
        taken += 1;
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leading_entries_the_backend_takes_and_the_wait_for_the_first_it_refuses() {
        assert_eq!(acceptable([100, 160, 500, 120].into_iter(), 100, 60).unwrap(), 2);
        match acceptable([1_000, 100].into_iter(), 100, 60) {
            Err(Error::ClockAhead { ahead_secs: 900, retry_after_secs: 840 }) => {}
            other => panic!("{other:?}"),
        }
    }
}
