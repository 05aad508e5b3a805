//! Keystore epochs: the device key moves to a fresh keystore alias on every
//! PIN attempt, biometric unlock and session lock, and every
//! `DEVICE_KEY_ROTATION_SECS` of trusted time while a session stays open;
//! the old key is deleted. The attempt state and the sealed state are MACed with the alias
//! and an epoch counter under `DK` subkeys, so a row (or just a state) copied
//! from an earlier epoch either names a key that no longer exists or fails
//! its MAC: `Tampered`.

use super::gate::GateGuard;
use super::keystore_keys::{purge_retired_keys, wrap_with_new_key};
use super::shared::VaultShared;
use crate::crypto::ct_eq;
use crate::error::{Error, Result};
use crate::keys::{new_alias, DeviceSecret};
use crate::keystore::{KeyProtection, KeystoreError};
use crate::storage::{tables, VaultRow};
use crate::time::FailureMark;

/// Unwraps `DK` and checks the row's attempt state and state binding.
///
/// A row the first release wrote has no state binding; it is accepted once,
/// on its own (first-release) attempt MAC, and the next rewrite binds it.
///
/// # Errors
/// `DeviceKeyLost` if the keystore has no usable key under the row's device
/// alias (`KeyNotFound`, `KeyInvalidated`): no PIN and no biometric can open
/// the vault again, so this is never reported as a biometric problem.
pub(crate) fn unwrap_device_secret(vault: &VaultShared, row: &VaultRow) -> Result<DeviceSecret> {
    let wrapped = vault
        .keystore
        .unwrap(row.device_alias.clone(), KeyProtection::Device, row.device_wrap.clone())
        .map_err(device_key_error)?;
    let dk = DeviceSecret::from_vec(wrapped)?;
    check_row(&dk, row)?;
    Ok(dk)
}

/// A keystore failure on the device key: a missing or permanently
/// invalidated key is `DeviceKeyLost`; anything else stays a keystore error
/// (transient failures, a cancelled prompt).
fn device_key_error(error: KeystoreError) -> Error {
    match error {
        KeystoreError::KeyNotFound | KeystoreError::KeyInvalidated => Error::DeviceKeyLost,
        other => other.into(),
    }
}

fn check_row(dk: &DeviceSecret, row: &VaultRow) -> Result<()> {
    let valid = match row.state_mac {
        Some(_) => ct_eq(&dk.attempts_mac(row)?, &row.attempts_mac) && dk.state_binding(&row.vault_id)?.verifies(row),
        None => {
            row.key_epoch == 0
                && row.failure_mark.is_none()
                && ct_eq(&dk.first_release_attempts_mac(row)?, &row.attempts_mac)
        }
    };
    if valid {
        Ok(())
    } else {
        Err(Error::Tampered)
    }
}

/// The attempt state to write with [`rewrite`].
pub(crate) struct Attempts {
    /// Consecutive wrong PINs.
    pub(crate) failed: u32,
    /// Wall-clock time of the last failure (informational).
    pub(crate) last_failure_at: i64,
    /// Where, on the boot clock, the last failure was (for the backoff).
    pub(crate) mark: Option<FailureMark>,
}

impl Attempts {
    /// No failures.
    pub(crate) const NONE: Self = Self { failed: 0, last_failure_at: 0, mark: None };

    /// The attempt state `row` holds.
    pub(crate) fn of(row: &VaultRow) -> Self {
        Self { failed: row.failed_attempts, last_failure_at: row.last_failure_at, mark: row.failure_mark }
    }
}

/// Writes a new attempt state (and a new PIN wrap, if given); with `rotate`,
/// moves `DK` to a new keystore alias and the next epoch. The sealed state,
/// as it is at commit time, is re-bound in the same transaction; the old
/// alias is retired there and deleted from the keystore before returning.
/// The caller has checked `row` with `dk`.
pub(crate) fn rewrite(
    vault: &VaultShared,
    gate: &GateGuard<'_>,
    row: &VaultRow,
    dk: &DeviceSecret,
    attempts: Attempts,
    pin_wrap: Option<Vec<u8>>,
    rotate: bool,
) -> Result<VaultRow> {
    let mut next = row.clone();
    if rotate {
        next.device_alias = new_alias(&row.vault_id, "device")?;
        next.device_wrap = wrap_with_new_key(vault, gate, &next.device_alias, KeyProtection::Device, &dk.to_vec())?;
        next.key_epoch = row.key_epoch.checked_add(1).ok_or(Error::Tampered)?;
    }
    next.failed_attempts = attempts.failed;
    next.last_failure_at = attempts.last_failure_at;
    next.failure_mark = attempts.mark;
    if let Some(pin_wrap) = pin_wrap {
        next.pin_wrap = pin_wrap;
    }
    let binding = dk.state_binding(&row.vault_id)?;
    let new_alias = next.device_alias.clone();
    let written = vault.db.write(|tx| {
        let current = VaultRow::load(tx)?.ok_or(Error::Wiped)?;
        if current.vault_id != row.vault_id || current.device_alias != row.device_alias {
            return Err(Error::InvalidInput("the vault changed during the attempt; try again".into()));
        }
        // A session may have rewritten the state since `row` was read: check
        // that it is still bound to this epoch, then bind it to the next.
        check_row(dk, &VaultRow { state: current.state.clone(), state_mac: current.state_mac.clone(), ..row.clone() })?;
        next.state = current.state;
        next.state_mac = Some(binding.mac(&next.device_alias, next.key_epoch, &next.state).to_vec());
        next.attempts_mac = dk.attempts_mac(&next)?.to_vec();
        if !next.replace_attempts(tx, &row.device_alias)? {
            return Err(Error::InvalidInput("the vault changed during the attempt; try again".into()));
        }
        if rotate {
            tables::retire_key(tx, &row.device_alias)?;
            tables::forget_retired_key(tx, &next.device_alias)?;
        }
        Ok(next)
    });
    match written {
        Ok(next) => {
            if rotate {
                purge_retired_keys(vault, gate)?;
            }
            Ok(next)
        }
        Err(error) => {
            if rotate {
                vault.keystore.delete_key(new_alias).ok();
            }
            Err(error)
        }
    }
}

/// Ends the current epoch when a session locks: `DK` moves to a new alias,
/// so files copied while the session was open are stale once it is locked.
/// Three keystore calls (unwrap, wrap under a new key, delete the old one).
///
/// Skipped if a PIN attempt, enrolment or wipe holds the gate (it rotates or
/// destroys the key itself), or if the vault now belongs to another
/// enrolment.
pub(crate) fn end_on_lock(vault: &VaultShared, vault_id: &[u8]) -> Result<()> {
    advance(vault, vault_id).map(|_| ())
}

/// Moves `DK` to a new alias and the next epoch while a session stays open
/// (see `DEVICE_KEY_ROTATION_SECS`), so a copy of the files taken during a
/// long session names a deleted key soon after it was taken. The same three
/// keystore calls as [`end_on_lock`]. `Ok(false)`: not moved now (the gate
/// is busy, or the vault belongs to another enrolment); try again later.
pub(crate) fn advance(vault: &VaultShared, vault_id: &[u8]) -> Result<bool> {
    let Some(gate) = vault.try_gate() else {
        return Ok(false);
    };
    let Some(row) = vault.db.read(VaultRow::load)? else {
        return Ok(false);
    };
    if row.vault_id != vault_id {
        return Ok(false);
    }
    let dk = unwrap_device_secret(vault, &row)?;
    rewrite(vault, &gate, &row, &dk, Attempts::of(&row), None, true).map(|_| true)
}
