//! What a vault looks like from the outside, and how long a locked-out PIN
//! entry must wait (the backoff, counted on the boot clock).

use crate::engine::VaultShared;
use crate::error::Result;
use crate::storage::{tables, VaultRow};
use crate::time::Reading;

/// What a vault looks like from the outside, without unlocking it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
#[non_exhaustive]
pub struct VaultStatus {
    /// An enrolment exists.
    pub enrolled: bool,
    /// The vault was wiped (attempt limit or `wipe`) and not enrolled since.
    pub wiped: bool,
    /// Consecutive wrong PINs so far.
    pub failed_attempts: u32,
    /// Wrong PINs left before the vault wipes itself.
    pub attempts_remaining: u32,
    /// Seconds until the next PIN attempt is accepted (0 = now).
    pub retry_after_secs: u64,
    /// Biometric unlock is enabled.
    pub biometrics_enabled: bool,
    /// Edits not yet acknowledged by the backend. They are lost if the vault
    /// is wiped: warn the user before the last attempts.
    pub pending_entries: u64,
}

/// Seconds to wait after `failed` consecutive failures: none for the first
/// three, then 30 s, 1 min, 5 min, 15 min, and 1 h from the eighth on.
pub(super) fn backoff_secs(failed: u32) -> u64 {
    match failed {
        0..=3 => 0,
        4 => 30,
        5 => 60,
        6 => 300,
        7 => 900,
        _ => 3600,
    }
}

/// Seconds left before another attempt is allowed, counted on the boot
/// clock from the last failure. `None`: the wait must restart in full (a
/// reboot since the failure, or a row without a mark).
pub(super) fn retry_after(row: &VaultRow, reading: &Reading) -> Result<Option<u64>> {
    let wait = backoff_secs(row.failed_attempts);
    if wait == 0 {
        return Ok(Some(0));
    }
    match row.failure_mark {
        Some(mark) => mark.remaining(wait, reading),
        None => Ok(None),
    }
}

/// Enrolment, attempts, lockout and biometrics, without unlocking. First
/// does a lock-time key rotation the keystore refused, if one is pending.
pub(super) fn status(vault: &VaultShared) -> Result<VaultStatus> {
    crate::engine::end_deferred_epoch(vault);
    let (row, wiped, pending_entries) =
        vault.db.read(|c| Ok((VaultRow::load(c)?, tables::is_wiped(c)?, tables::pending_queue_rows(c)?)))?;
    let max = vault.config.max_failed_attempts;
    let reading = vault.reading()?;
    Ok(match row {
        Some(row) => VaultStatus {
            enrolled: true,
            wiped: false,
            failed_attempts: row.failed_attempts,
            attempts_remaining: max.saturating_sub(row.failed_attempts),
            // Unknown (a reboot, a clock gone back): the whole wait.
            retry_after_secs: retry_after(&row, &reading)
                .ok()
                .flatten()
                .unwrap_or_else(|| backoff_secs(row.failed_attempts)),
            biometrics_enabled: row.bio.is_some(),
            pending_entries,
        },
        None => VaultStatus {
            enrolled: false,
            wiped,
            failed_attempts: 0,
            attempts_remaining: max,
            retry_after_secs: 0,
            biometrics_enabled: false,
            pending_entries,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows() {
        assert_eq!(backoff_secs(3), 0);
        assert!(backoff_secs(4) < backoff_secs(5) && backoff_secs(5) < backoff_secs(6));
        assert_eq!(backoff_secs(100), 3600);
    }
}
