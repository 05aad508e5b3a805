//! Biometric unlock: a second wrap of the vault key, by a keystore key the
//! platform releases only after strong biometric authentication.
//!
//! The PIN path is untouched by anything here. If the platform reports the
//! biometric key invalidated (new fingerprint or face enrolled), biometric
//! unlock is turned off and the app falls back to the PIN.

use std::sync::Arc;

use super::attempt::load_row;
use super::epoch::{self, unwrap_device_secret, Attempts};
use super::keys::{new_alias, VaultKeys};
use super::lifecycle::{purge_retired_keys, wrap_with_new_key};
use super::state::VaultState;
use super::{GateGuard, VaultShared};
use crate::crypto::SecretKey;
use crate::error::{Error, Result};
use crate::keystore::{KeyProtection, KeystoreError};
use crate::session::OfflineSession;
use crate::storage::{tables, VaultRow};

/// Unlocks with the biometric key, then starts a new keystore epoch (as a
/// PIN attempt does) and forgets failed PIN attempts: a strong biometric
/// proves the owner as well as the PIN. Four keystore calls: the biometric
/// unwrap, and the device key's unwrap, rotation and deletion.
pub(super) fn unlock(vault: &Arc<VaultShared>) -> Result<Arc<OfflineSession>> {
    let row = load_row(vault)?;
    let Some((alias, wrap)) = row.bio.clone() else {
        return Err(Error::BiometricsUnavailable);
    };
    let vk = match vault.keystore.unwrap(alias, KeyProtection::Biometric, wrap) {
        Ok(bytes) => SecretKey::from_vec(bytes).map_err(|_| Error::Tampered)?,
        Err(KeystoreError::KeyInvalidated) => {
            disable(vault, &vault.gate()?)?;
            return Err(Error::BiometricsInvalidated);
        }
        Err(KeystoreError::UserCancelled) => return Err(Error::UserCancelled),
        Err(other) => return Err(other.into()),
    };
    let keys = {
        let gate = vault.gate()?;
        let row = load_row(vault)?;
        let dk = unwrap_device_secret(vault, &row)?;
        let keys = VaultKeys::new(&row.vault_id, vk, dk.state_binding(&row.vault_id)?, row.key_epoch)?;
        // A wrong key cannot open the state: that proves the biometric wrap is ours.
        VaultState::open(&keys, &row.state)?;
        epoch::rewrite(vault, &gate, &row, &dk, Attempts::NONE, None, true)?;
        keys
    };
    OfflineSession::resume(vault.clone(), keys, None)
}

/// Wraps the vault key under a new biometric keystore key.
pub(crate) fn enable(vault: &VaultShared, keys: &VaultKeys) -> Result<()> {
    // The gate keeps a concurrent PIN attempt's purge away from the alias
    // reserved below until the row adopts it.
    let gate = vault.gate()?;
    let alias = new_alias(keys.vault_id(), "biometric")?;
    let wrap = wrap_with_new_key(vault, &gate, &alias, KeyProtection::Biometric, &keys.vk().to_vec())?;
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
    if let Err(error) = stored {
        vault.keystore.delete_key(alias).ok();
        return Err(error);
    }
    purge_retired_keys(vault, &gate)
}

/// `OfflineSession::disable_biometrics`.
pub(crate) fn disable_for_session(vault: &VaultShared) -> Result<()> {
    disable(vault, &vault.gate()?)
}

/// Removes the biometric wrap and deletes its keystore key.
fn disable(vault: &VaultShared, gate: &GateGuard<'_>) -> Result<()> {
    vault.db.write(|tx| {
        if let Some(VaultRow { bio: Some((alias, _)), .. }) = VaultRow::load(tx)? {
            tables::retire_key(tx, &alias)?;
            VaultRow::store_bio(tx, None)?;
        }
        Ok(())
    })?;
    purge_retired_keys(vault, gate)
}
