//! A lock-time epoch end the keystore refused, done at the next call.
//!
//! `lock()` moves the device key to a new alias (`epoch.rs`, `end_on_lock`),
//! so that files copied while the session was open name a deleted key. On
//! Android 15+ the device key is tied to an unlocked device
//! (`setUnlockedDeviceRequired`): an app that locks its session when the
//! screen turns off finds the key unusable at that moment, and the rotation
//! fails. It is not skipped: the handle remembers it, and the next
//! `PinVault::status` or session `lock()` on that handle tries again (a PIN
//! or biometric unlock rotates the key itself, which settles it too). Kept in
//! memory only: a process that dies first leaves it to the next unlock, as
//! before.

use super::epoch::end_on_lock;
use super::shared::{DeferredEpochEnd, VaultShared};
use crate::storage::VaultRow;

/// Ends the epoch of `vault_id` now, or, if the keystore refuses, remembers
/// to do it at the next call.
pub(crate) fn end_on_lock_or_defer(vault: &VaultShared, vault_id: &[u8]) {
    if end_on_lock(vault, vault_id).is_err() {
        let key_epoch = vault.db.read(VaultRow::load).ok().flatten().map(|row| row.key_epoch);
        vault.set_deferred_epoch_end(Some(DeferredEpochEnd { vault_id: vault_id.to_vec(), key_epoch }));
    }
}

/// Does a deferred epoch end, unless the key moved since (an unlock rotated
/// it) or the vault now holds another enrolment. Refused again: kept for the
/// next call. Never fails the caller.
pub(crate) fn end_deferred(vault: &VaultShared) {
    let Some(deferred) = vault.set_deferred_epoch_end(None) else {
        return;
    };
    match vault.db.read(VaultRow::load) {
        Ok(Some(row)) if row.vault_id == deferred.vault_id && deferred.key_epoch.is_none_or(|e| e == row.key_epoch) => {
            end_on_lock_or_defer(vault, &deferred.vault_id);
        }
        // Rotated since, wiped, or another enrolment: nothing left to end.
        Ok(_) => {}
        Err(_) => {
            vault.set_deferred_epoch_end(Some(deferred));
        }
    }
}
