//! Biometric unlock: a second wrap of the vault key, by a keystore key the
//! platform releases only after strong biometric authentication. (Adding
//! and removing that wrap is the engine's: `engine/biometric_key.rs`.)
//!
//! The PIN path is untouched by anything here. If the platform reports the
//! biometric key invalidated (new fingerprint or face enrolled) or missing
//! (lock screen or passcode removed), biometric unlock is turned off and the
//! app falls back to the PIN.

use std::sync::Arc;

use super::attempt::load_row;
use crate::crypto::SecretKey;
use crate::engine::{self, rewrite_attempts, unwrap_device_secret, Attempts, VaultShared, VaultState};
use crate::error::{Error, Result};
use crate::events::BiometricLoss;
use crate::keys::VaultKeys;
use crate::keystore::{KeyProtection, KeystoreError};
use crate::session::OfflineSession;

/// Unlocks with the biometric key, then starts a new keystore epoch (as a
/// PIN attempt does) and forgets failed PIN attempts: a strong biometric
/// proves the owner as well as the PIN. Four keystore calls: the biometric
/// unwrap, and the device key's unwrap, rotation and deletion.
pub(super) fn unlock(vault: &Arc<VaultShared>) -> Result<Arc<OfflineSession>> {
    let row = load_row(vault)?;
    let Some((alias, wrap)) = row.bio.clone() else {
        return Err(Error::BiometricsUnavailable);
    };
    let vk = match vault.keystore.unwrap(alias.clone(), KeyProtection::Biometric, wrap) {
        Ok(bytes) => SecretKey::from_vec(bytes).map_err(|_| Error::Tampered)?,
        // New biometrics enrolled: biometric unlock cannot work again, so it
        // is turned off and the PIN goes on working.
        Err(KeystoreError::KeyInvalidated) => {
            engine::disable_lost_biometrics(vault, &vault.gate()?, &alias, BiometricLoss::Invalidated)?;
            return Err(Error::BiometricsInvalidated);
        }
        // The key is gone (lock screen or passcode removed, keystore cleared):
        // the same, once the alias proves to be one this vault made (the row
        // does not authenticate it; an edited alias is tampering, and changes
        // nothing).
        Err(KeystoreError::KeyNotFound) => return Err(lost_biometric_key(vault, &alias)),
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
        rewrite_attempts(vault, &gate, &row, &dk, Attempts::NONE, None, true)?;
        keys
    };
    OfflineSession::resume(vault.clone(), keys, None)
}

/// What a `KeyNotFound` for the biometric `alias` means, acted upon.
fn lost_biometric_key(vault: &Arc<VaultShared>, alias: &str) -> Error {
    judge_lost_biometric_key(vault, alias).unwrap_or_else(|error| error)
}

fn judge_lost_biometric_key(vault: &Arc<VaultShared>, alias: &str) -> Result<Error> {
    let gate = vault.gate()?;
    let row = load_row(vault)?;
    let dk = unwrap_device_secret(vault, &row)?;
    Ok(match dk.authenticates_biometric_alias(&row.vault_id, alias)? {
        Some(true) => {
            engine::disable_lost_biometrics(vault, &gate, alias, BiometricLoss::KeyMissing)?;
            Error::BiometricsInvalidated
        }
        Some(false) => Error::Tampered,
        // An alias of an earlier release carries no tag: report, change nothing.
        None => Error::Keystore(KeystoreError::KeyNotFound),
    })
}
