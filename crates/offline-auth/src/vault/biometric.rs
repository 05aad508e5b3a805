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
    let Some((alias, stored)) = row.bio.clone() else {
        return Err(Error::BiometricsUnavailable);
    };
    let wrap = engine::biometric_keystore_wrap(&stored).to_vec();
    let vk = match vault.keystore.unwrap(alias.clone(), KeyProtection::Biometric, wrap) {
        Ok(bytes) => SecretKey::from_vec(bytes).map_err(|_| Error::Tampered)?,
        // New biometrics enrolled, or the key is gone (lock screen or
        // passcode removed, keystore cleared): biometric unlock cannot work
        // again, so it is turned off and the PIN goes on working — once the
        // stored alias and wrap prove to be ones this vault wrote (the row
        // does not authenticate them; an edited one is tampering and
        // changes nothing, and deletes no key).
        Err(KeystoreError::KeyInvalidated) => {
            return Err(engine::judge_biometric_loss(vault, &alias, &stored, BiometricLoss::Invalidated))
        }
        Err(KeystoreError::KeyNotFound) => {
            return Err(engine::judge_biometric_loss(vault, &alias, &stored, BiometricLoss::KeyMissing))
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
        engine::check_proven_biometric_wrap(vault, &dk, &row)?;
        rewrite_attempts(vault, &gate, &row, &dk, Attempts::NONE, None, true)?;
        keys
    };
    OfflineSession::resume(vault.clone(), keys, None)
}
