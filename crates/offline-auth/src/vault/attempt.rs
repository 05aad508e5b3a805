//! PIN attempts: the one path every PIN check takes.
//!
//! 0. Input that cannot be the PIN (outside the shape stored when the PIN
//!    was set: length, characters, control characters such as a trailing
//!    NUL) is refused as `MalformedPin` before the gate is taken, anything
//!    is counted or the keystore is called.
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
//!    and the last allowed one wipes the vault. Each outcome is recorded as
//!    a security event (`WrongPin`, `LockedOut`, `Wiped`) once its counter
//!    or wipe is committed.

use std::sync::Arc;

use zeroize::Zeroizing;

use super::lifecycle::wipe_locked;
use super::policy::{self, PinShape};
use super::status::{backoff_secs, retry_after};
use crate::crypto::SecretKey;
use crate::engine::{purge_retired_keys, rewrite_attempts, unwrap_device_secret, Attempts, GateGuard, VaultShared};
use crate::error::{Error, Result};
use crate::events::{SecurityEvent, WipeReason};
use crate::grant;
use crate::keys::{unwrap_vault_key, wrap_iterations, wrap_vault_key, DeviceSecret, VaultKeys};
use crate::session::{OfflineSession, Renewal};
use crate::storage::{pin_shape, tables, VaultRow};
use crate::time::FailureMark;

/// A PIN proven right: the vault key, the device secret and the current row.
pub(super) struct Proven {
    pub(super) row: VaultRow,
    pub(super) vk: SecretKey,
    pub(super) dk: DeviceSecret,
}

impl Proven {
    /// The session keys, bound to the row's epoch.
    pub(super) fn keys(self) -> Result<VaultKeys> {
        let binding = self.dk.state_binding(&self.row.vault_id)?;
        VaultKeys::new(&self.row.vault_id, self.vk, binding, self.row.key_epoch)
    }
}

/// Loads the enrolment or says why there is none.
pub(super) fn load_row(vault: &VaultShared) -> Result<VaultRow> {
    vault.db.read(|c| match VaultRow::load(c)? {
        Some(row) => Ok(row),
        None if tables::is_wiped(c)? => Err(Error::Wiped),
        None => Err(Error::NotEnrolled),
    })
}

/// The shape the enrolled PIN has (see `policy`); `NotEnrolled` or `Wiped`
/// when there is no enrolment. Reads the database only.
fn stored_shape(vault: &VaultShared) -> Result<PinShape> {
    let stored = vault.db.read(|c| match VaultRow::load(c)? {
        Some(_) => pin_shape::load(c),
        None if tables::is_wiped(c)? => Err(Error::Wiped),
        None => Err(Error::NotEnrolled),
    })?;
    stored.map_or(Ok(PinShape::LEGACY), PinShape::from_stored)
}

/// Refuses input that cannot be the enrolled PIN, before anything is counted.
fn admit_pin(vault: &VaultShared, pin: &str) -> Result<PinShape> {
    let shape = stored_shape(vault)?;
    shape.admit(pin)?;
    Ok(shape)
}

/// Counts an attempt, then checks `pin`.
pub(super) fn prove_pin(vault: &VaultShared, gate: &GateGuard<'_>, pin: &[u8]) -> Result<Proven> {
    purge_retired_keys(vault, gate)?;
    let reading = vault.reading()?;
    let row = load_row(vault)?;
    // The attempt state is authenticated before it decides anything, so an
    // edited counter is `Tampered`, never a wipe or a lockout.
    let dk = unwrap_device_secret(vault, &row)?;
    let max = vault.config.max_failed_attempts;
    if row.failed_attempts >= max {
        wipe_locked(vault, gate, WipeReason::AttemptLimit)?;
        return Err(Error::Wiped);
    }
    match retry_after(&row, &reading)? {
        Some(0) => {}
        Some(wait) => return Err(Error::LockedOut { retry_after_secs: wait }),
        None => {
            // Rebooted since the failure: the wait restarts in full from now.
            let restart = Attempts { mark: Some(FailureMark::at(&reading)), ..Attempts::of(&row) };
            rewrite_attempts(vault, gate, &row, &dk, restart, None, false)?;
            let retry_after_secs = backoff_secs(row.failed_attempts);
            vault.events.emit(SecurityEvent::LockedOut { failed_attempts: row.failed_attempts, retry_after_secs });
            return Err(Error::LockedOut { retry_after_secs });
        }
    }
    let failed = row.failed_attempts.saturating_add(1);
    let counted = Attempts { failed, last_failure_at: reading.wall, mark: Some(FailureMark::at(&reading)) };
    // Counted and rotated durably; the old device key is gone before the PIN is judged.
    let counted = rewrite_attempts(vault, gate, &row, &dk, counted, None, true)?;

    match unwrap_vault_key(&counted.pin_wrap, &dk, pin, &counted.vault_id)? {
        Some(vk) => {
            let row = rewrite_attempts(vault, gate, &counted, &dk, Attempts::NONE, None, false)?;
            Ok(Proven { row, vk, dk })
        }
        None if failed >= max => {
            wipe_locked(vault, gate, WipeReason::AttemptLimit)?;
            Err(Error::Wiped)
        }
        None => {
            let attempts_remaining = max - failed;
            vault.events.emit(SecurityEvent::WrongPin { attempts_remaining });
            let retry_after_secs = backoff_secs(failed);
            if retry_after_secs > 0 {
                vault.events.emit(SecurityEvent::LockedOut { failed_attempts: failed, retry_after_secs });
            }
            Err(Error::WrongPin { attempts_remaining })
        }
    }
}

/// Unlocks with the PIN (installing `grant_token` first, if given).
pub(super) fn unlock(
    vault: &Arc<VaultShared>,
    pin: String,
    grant_token: Option<String>,
) -> Result<Arc<OfflineSession>> {
    let pin = Zeroizing::new(pin);
    // Malformed input and a malformed grant are rejected before an attempt is spent.
    admit_pin(vault, &pin)?;
    let renewal = match grant_token {
        Some(token) => Some(Renewal {
            claims: grant::verify_signature(&token, &vault.issuers, &vault.config.grant_policy())?,
            token,
        }),
        None => None,
    };
    let proven = {
        let gate = vault.gate()?;
        let mut proven = prove_pin(vault, &gate, pin.as_bytes())?;
        raise_kdf_cost(vault, &gate, &mut proven, pin.as_bytes());
        proven
    };
    OfflineSession::resume(vault.clone(), proven.keys()?, renewal)
}

/// Re-wraps with the configured iteration count if the stored one is lower.
/// Best effort: the old wrap stays valid if this fails.
fn raise_kdf_cost(vault: &VaultShared, gate: &GateGuard<'_>, proven: &mut Proven, pin: &[u8]) {
    let target = vault.config.pbkdf2_iterations;
    if wrap_iterations(&proven.row.pin_wrap).is_ok_and(|stored| stored < target) {
        if let Ok(pin_wrap) = wrap_vault_key(&proven.vk, &proven.dk, pin, &proven.row.vault_id, target) {
            let rewritten =
                rewrite_attempts(vault, gate, &proven.row, &proven.dk, Attempts::NONE, Some(pin_wrap), false);
            if let Ok(row) = rewritten {
                proven.row = row;
            }
        }
    }
}

/// Changes the PIN: counts as an attempt, then re-wraps the vault key and
/// stores the new PIN's shape.
pub(super) fn change_pin(vault: &VaultShared, old_pin: String, new_pin: String) -> Result<()> {
    let (old_pin, new_pin) = (Zeroizing::new(old_pin), Zeroizing::new(new_pin));
    let old_shape = admit_pin(vault, &old_pin)?;
    policy::check(&new_pin, vault.config.min_pin_length)?;
    let new_shape = PinShape::current(vault.config.min_pin_length);
    let gate = vault.gate()?;
    let proven = prove_pin(vault, &gate, old_pin.as_bytes())?;
    let pin_wrap = wrap_vault_key(
        &proven.vk,
        &proven.dk,
        new_pin.as_bytes(),
        &proven.row.vault_id,
        vault.config.pbkdf2_iterations,
    )?;
    // Widened first, narrowed after: a crash in between leaves a shape that
    // admits both the old and the new PIN, whichever the wrap holds.
    vault.db.write(|tx| pin_shape::store(tx, old_shape.union(new_shape).to_stored()))?;
    rewrite_attempts(vault, &gate, &proven.row, &proven.dk, Attempts::NONE, Some(pin_wrap), false)?;
    vault.db.write(|tx| pin_shape::store(tx, new_shape.to_stored()))?;
    Ok(())
}
