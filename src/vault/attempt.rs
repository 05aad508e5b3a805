//! PIN attempts: the one path every PIN check takes.
//!
//! 1. Keys the database says must go are deleted first (a failure stops here).
//! 2. Backoff is enforced from the stored attempt state.
//! 3. The keystore unwraps `DK`; the attempt state and PIN wrap are checked
//!    against their `DK`-keyed MAC, so edited counters are caught.
//! 4. The attempt is counted *and* `DK` is re-wrapped under a fresh keystore
//!    alias, in one durable transaction; then the old alias is deleted from
//!    the keystore. Only then is the PIN checked. A copy of the database
//!    taken before this attempt now names a key that no longer exists, so
//!    restoring old files cannot reset the counter.
//! 5. A right PIN resets the counter; a wrong one reports the attempts left,
//!    and the last allowed one wipes the vault.

use std::sync::Arc;

use zeroize::Zeroizing;

use super::keys::{new_alias, unwrap_vault_key, wrap_iterations, wrap_vault_key, DeviceSecret, VaultKeys};
use super::lifecycle::{purge_retired_keys, wipe_locked, wrap_with_new_key};
use super::{policy, VaultShared};
use crate::crypto::{ct_eq, SecretKey};
use crate::error::{Error, Result};
use crate::grant;
use crate::keystore::KeyProtection;
use crate::session::{OfflineSession, Renewal};
use crate::storage::{tables, VaultRow};

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

/// Seconds left before another attempt is allowed. A wall clock earlier than
/// the last failure counts as no time elapsed.
pub(super) fn retry_after(failed: u32, last_failure_at: i64, now: i64) -> u64 {
    let elapsed = u64::try_from(now.saturating_sub(last_failure_at)).unwrap_or(0);
    backoff_secs(failed).saturating_sub(elapsed)
}

/// A PIN proven right: the vault key, the device secret and the current row.
pub(super) struct Proven {
    pub(super) row: VaultRow,
    pub(super) vk: SecretKey,
    pub(super) dk: DeviceSecret,
}

/// Loads the enrolment or says why there is none.
pub(super) fn load_row(vault: &VaultShared) -> Result<VaultRow> {
    vault.db.read(|c| match VaultRow::load(c)? {
        Some(row) => Ok(row),
        None if tables::is_wiped(c)? => Err(Error::Wiped),
        None => Err(Error::NotEnrolled),
    })
}

/// Unwraps `DK` and checks the attempt state's MAC.
pub(super) fn unwrap_device_secret(vault: &VaultShared, row: &VaultRow) -> Result<DeviceSecret> {
    let dk = DeviceSecret::from_vec(vault.keystore.unwrap(
        row.device_alias.clone(),
        KeyProtection::Device,
        row.device_wrap.clone(),
    )?)?;
    let mac =
        dk.attempts_mac(&row.vault_id, &row.device_alias, row.failed_attempts, row.last_failure_at, &row.pin_wrap)?;
    if !ct_eq(&mac, &row.attempts_mac) {
        return Err(Error::Tampered);
    }
    Ok(dk)
}

/// Writes a new attempt state (and, with `rotate`, a new device key alias);
/// the old alias is retired in the same transaction and deleted afterwards.
fn store_attempts(
    vault: &VaultShared,
    row: &VaultRow,
    dk: &DeviceSecret,
    failed_attempts: u32,
    last_failure_at: i64,
    pin_wrap: Option<Vec<u8>>,
    rotate: bool,
) -> Result<VaultRow> {
    let mut next = row.clone();
    if rotate {
        next.device_alias = new_alias(&row.vault_id, "device")?;
        next.device_wrap = wrap_with_new_key(vault, &next.device_alias, KeyProtection::Device, &dk.to_vec())?;
    }
    next.failed_attempts = failed_attempts;
    next.last_failure_at = last_failure_at;
    if let Some(pin_wrap) = pin_wrap {
        next.pin_wrap = pin_wrap;
    }
    next.attempts_mac =
        dk.attempts_mac(&next.vault_id, &next.device_alias, failed_attempts, last_failure_at, &next.pin_wrap)?.to_vec();
    let written = vault.db.write(|tx| {
        if !next.replace_attempts(tx, &row.device_alias)? {
            return Err(Error::InvalidInput("the vault changed during the attempt; try again".into()));
        }
        VaultRow::store_pin_wrap(tx, &next.pin_wrap)?;
        if rotate {
            tables::retire_key(tx, &row.device_alias)?;
            tables::forget_retired_key(tx, &next.device_alias)?;
        }
        Ok(())
    });
    if let Err(error) = written {
        if rotate {
            vault.keystore.delete_key(next.device_alias.clone()).ok();
        }
        return Err(error);
    }
    Ok(next)
}

/// Counts an attempt, then checks `pin`. The caller holds the attempt gate.
pub(super) fn prove_pin(vault: &VaultShared, pin: &[u8]) -> Result<Proven> {
    purge_retired_keys(vault)?;
    let row = load_row(vault)?;
    // The attempt state is authenticated before it decides anything, so an
    // edited counter is `Tampered`, never a wipe or a lockout.
    let dk = unwrap_device_secret(vault, &row)?;
    let max = vault.config.max_failed_attempts;
    if row.failed_attempts >= max {
        wipe_locked(vault)?;
        return Err(Error::Wiped);
    }
    let now = vault.now()?;
    let wait = retry_after(row.failed_attempts, row.last_failure_at, now);
    if wait > 0 {
        return Err(Error::LockedOut { retry_after_secs: wait });
    }
    let failed = row.failed_attempts.saturating_add(1);
    let counted = store_attempts(vault, &row, &dk, failed, now.max(row.last_failure_at), None, true)?;
    // The old device key must be gone before the PIN is judged.
    purge_retired_keys(vault)?;

    match unwrap_vault_key(&counted.pin_wrap, &dk, pin, &counted.vault_id)? {
        Some(vk) => {
            let row = store_attempts(vault, &counted, &dk, 0, 0, None, false)?;
            Ok(Proven { row, vk, dk })
        }
        None if failed >= max => {
            wipe_locked(vault)?;
            Err(Error::Wiped)
        }
        None => Err(Error::WrongPin { attempts_remaining: max - failed }),
    }
}

pub(super) fn unlock(
    vault: &Arc<VaultShared>,
    pin: String,
    grant_token: Option<String>,
) -> Result<Arc<OfflineSession>> {
    let pin = Zeroizing::new(pin);
    // A malformed grant is rejected before an attempt is spent.
    let renewal = match grant_token {
        Some(token) => Some(Renewal { claims: grant::verify_signature(&token, &vault.issuers)?, token }),
        None => None,
    };
    let proven = {
        let _gate = vault.gate();
        let proven = prove_pin(vault, pin.as_bytes())?;
        raise_kdf_cost(vault, &proven, pin.as_bytes());
        proven
    };
    let keys = VaultKeys::new(&proven.row.vault_id, proven.vk)?;
    OfflineSession::resume(vault.clone(), keys, renewal)
}

/// Re-wraps with the configured iteration count if the stored one is lower.
/// Best effort: the old wrap stays valid if this fails.
fn raise_kdf_cost(vault: &VaultShared, proven: &Proven, pin: &[u8]) {
    let target = vault.config.pbkdf2_iterations;
    if wrap_iterations(&proven.row.pin_wrap).is_ok_and(|stored| stored < target) {
        if let Ok(pin_wrap) = wrap_vault_key(&proven.vk, &proven.dk, pin, &proven.row.vault_id, target) {
            store_attempts(vault, &proven.row, &proven.dk, 0, 0, Some(pin_wrap), false).ok();
        }
    }
}

pub(super) fn change_pin(vault: &VaultShared, old_pin: String, new_pin: String) -> Result<()> {
    let (old_pin, new_pin) = (Zeroizing::new(old_pin), Zeroizing::new(new_pin));
    policy::check(&new_pin, vault.config.min_pin_length)?;
    let _gate = vault.gate();
    let proven = prove_pin(vault, old_pin.as_bytes())?;
    let pin_wrap = wrap_vault_key(
        &proven.vk,
        &proven.dk,
        new_pin.as_bytes(),
        &proven.row.vault_id,
        vault.config.pbkdf2_iterations,
    )?;
    store_attempts(vault, &proven.row, &proven.dk, 0, 0, Some(pin_wrap), false)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_counts_down() {
        assert_eq!(backoff_secs(3), 0);
        assert!(backoff_secs(4) < backoff_secs(5) && backoff_secs(5) < backoff_secs(6));
        assert_eq!(retry_after(4, 1_000, 1_010), 20);
        assert_eq!(retry_after(4, 1_000, 1_100), 0);
        assert_eq!(retry_after(4, 1_000, 900), 30, "a clock behind the last failure waits the full time");
    }
}
