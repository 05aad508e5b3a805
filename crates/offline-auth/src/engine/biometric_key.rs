//! The biometric wrap of the vault key: adding it (from an open session)
//! and removing it (from a session, or when the platform invalidated it).

use super::epoch::unwrap_device_secret;
use super::gate::GateGuard;
use super::keystore_keys::purge_retired_keys;
use super::shared::VaultShared;
use crate::error::{Error, Result};
use crate::events::{BiometricLoss, SecurityEvent};
use crate::keys::VaultKeys;
use crate::keystore::KeyProtection;
use crate::storage::{tables, VaultRow};

/// Wraps the vault key under a new biometric keystore key.
///
/// The platform shows its biometric prompt inside the keystore's `wrap`, and
/// the user may leave it up for minutes. The attempt gate is therefore *not*
/// held across that call: PIN attempts, PIN changes and wipes (from this or
/// another handle or process) go on meanwhile. That is safe because
/// - the new alias is reserved under the gate before the key exists, in the
///   "to delete" list as every new key is: a crash during the prompt leaves
///   it for a later purge, never an orphaned key;
/// - while the prompt is up this call holds the "enabling" lock, and purges
///   leave biometric aliases alone until no enable is in progress, so no
///   purge deletes the key the prompt is using;
/// - the wrap is of the vault key, which never changes for one enrolment (a
///   PIN change re-wraps the same key), and the row is re-checked under the
///   gate: if the vault was wiped or enrolled again meanwhile, the new key is
///   deleted and the call fails with `Wiped`;
/// - two enables at once each use their own alias; the later commit wins and
///   the other's key is retired and purged.
pub(crate) fn enable(vault: &VaultShared, keys: &VaultKeys) -> Result<()> {
    let (alias, enabling) = {
        let gate = vault.gate()?;
        let row = vault.db.read(VaultRow::load)?.ok_or(Error::Wiped)?;
        if row.vault_id != keys.vault_id() {
            return Err(Error::Wiped);
        }
        // The alias's tag needs DK.
        let alias = unwrap_device_secret(vault, &row)?.new_biometric_alias(keys.vault_id())?;
        let enabling = vault.begin_enabling(&gate)?;
        vault.db.write(|tx| tables::retire_key(tx, &alias))?;
        (alias, enabling)
    };
    let vk = keys.vk().to_vec();
    let wrap = match vault.keystore.wrap(alias.clone(), KeyProtection::Biometric, vk.to_vec()) {
        Ok(wrap) => wrap,
        Err(error) => {
            // A refused wrap made no key: nothing to delete later.
            vault.db.write(|tx| tables::forget_retired_key(tx, &alias)).ok();
            return Err(error.into());
        }
    };
    let gate = vault.gate()?;
    let stored = vault.db.write(|tx| {
        let row = VaultRow::load(tx)?.ok_or(Error::Wiped)?;
        if row.vault_id != keys.vault_id() {
            return Err(Error::Wiped);
        }
        if let Some((old, _)) = &row.bio {
            tables::retire_key(tx, old)?;
        }
        tables::forget_retired_key(tx, &alias)?;
        VaultRow::store_bio(tx, Some((&alias, &wrap)))
    });
    drop(enabling);
    if let Err(error) = stored {
        if vault.keystore.delete_key(alias.clone()).is_ok() {
            vault.db.write(|tx| tables::forget_retired_key(tx, &alias)).ok();
        }
        return Err(error);
    }
    purge_retired_keys(vault, &gate)
}

/// Removes the biometric wrap and deletes its keystore key, taking the gate.
pub(crate) fn disable_for_session(vault: &VaultShared) -> Result<()> {
    let gate = vault.gate()?;
    remove_wrap(vault, |_| true)?;
    purge_retired_keys(vault, &gate)
}

/// Removes the biometric wrap only if it is still the one under `alias`: the
/// platform lost or invalidated that key (`loss`), and a concurrent enable
/// may have replaced it with a working one since. A removal is reported as
/// a `BiometricsInvalidated` event once committed.
pub(crate) fn disable_lost(vault: &VaultShared, gate: &GateGuard<'_>, alias: &str, loss: BiometricLoss) -> Result<()> {
    if remove_wrap(vault, |current| current == alias)? {
        vault.events.emit(SecurityEvent::BiometricsInvalidated { reason: loss });
    }
    purge_retired_keys(vault, gate)
}

/// Removes the biometric wrap if its alias `matches`, retiring its key (the
/// caller purges it under the gate); whether it did.
fn remove_wrap(vault: &VaultShared, matches: impl Fn(&str) -> bool) -> Result<bool> {
    vault.db.write(|tx| {
        if let Some(VaultRow { bio: Some((alias, _)), .. }) = VaultRow::load(tx)? {
            if matches(&alias) {
                tables::retire_key(tx, &alias)?;
                VaultRow::store_bio(tx, None)?;
                return Ok(true);
            }
        }
        Ok(false)
    })
}
