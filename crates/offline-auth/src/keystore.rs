//! The platform keystore: the hardware half of every key.
//!
//! The vault never holds a key that could be brute-forced from the app's files
//! alone. The device secret `DK` is only ever stored wrapped by a key that the
//! platform keeps in hardware and will not export (Android Keystore/StrongBox,
//! Apple Secure Enclave/Keychain); the biometric copy of the vault key is
//! wrapped by a key the platform releases only after strong biometric
//! authentication. Kotlin and Swift implement [`PlatformKeystore`]; Rust calls
//! it through UniFFI.
//!
//! # Locks held while calling out
//! The vault never holds its database lock while it calls the keystore, so an
//! implementation may call `PinVault::status` (or any session method) from
//! inside `wrap`/`unwrap`/`delete_key`. A PIN attempt does hold the vault's
//! attempt gate, so a keystore callback must not itself call `unlock`,
//! `enroll`, `change_pin` or `wipe` on the same vault.
//!
//! # Aliases
//! Aliases are chosen by the vault (`offline-auth.<vault id>.<purpose>.<random>`)
//! and are unique per key; the device alias changes at every PIN attempt so
//! that an old copy of the database refers to a key that no longer exists.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

use crate::crypto::{open, seal, Aad, AadKind, Sealed, SecretKey};

/// How the platform must protect the key behind an alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
#[non_exhaustive]
pub enum KeyProtection {
    /// Usable by this app on this device without user presence
    /// (Android: `AndroidKeyStore`, StrongBox when available,
    /// `setUnlockedDeviceRequired`; Apple: Secure Enclave, `WhenPasscodeSetThisDeviceOnly`).
    Device,
    /// Released only after strong biometric authentication of the current
    /// biometric set (Android: `BIOMETRIC_STRONG`, timeout 0,
    /// `setInvalidatedByBiometricEnrollment(true)`, `CryptoObject`;
    /// Apple: `SecAccessControl` `.biometryCurrentSet`).
    Biometric,
}

/// Errors a [`PlatformKeystore`] reports.
///
/// Its `Display` text is exported to the bindings, as for `VaultError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
#[non_exhaustive]
pub enum KeystoreError {
    /// The key was permanently invalidated: for a biometric key, biometrics
    /// were re-enrolled; for a device key, the lock screen or passcode was
    /// removed (the vault then reports `VaultError::DeviceKeyLost`, never a
    /// biometric error). Only for a permanent loss: a transient failure
    /// (device locked, hardware busy) is `Failed`.
    #[error("the key was invalidated by the platform")]
    KeyInvalidated,
    /// The user cancelled the authentication prompt.
    #[error("the user cancelled authentication")]
    UserCancelled,
    /// No key exists under the alias (deleted, or another device). For a
    /// device key the vault reports `VaultError::DeviceKeyLost`.
    #[error("no key under this alias")]
    KeyNotFound,
    /// The wrapped bytes were rejected (corrupted, or wrapped by another key).
    #[error("the wrapped bytes were rejected")]
    UnwrapFailed,
    /// Any other platform failure.
    #[error("{reason}")]
    Failed {
        /// The platform's description, without key material.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KeystoreError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        KeystoreError::Failed { reason: format!("keystore callback failed: {}", error.reason) }
    }
}

/// The platform's non-exportable key store, implemented in Kotlin or Swift.
///
/// `wrap` creates the key under `alias` if it does not exist yet. Every method
/// may be called from any thread.
#[uniffi::export(with_foreign)]
pub trait PlatformKeystore: Send + Sync {
    /// Encrypts `plaintext` under the key named `alias` (created with
    /// `protection` if missing) and returns an opaque blob.
    ///
    /// # Errors
    /// A [`KeystoreError`] describing the platform failure.
    fn wrap(&self, alias: String, protection: KeyProtection, plaintext: Vec<u8>) -> Result<Vec<u8>, KeystoreError>;

    /// Decrypts a blob made by [`PlatformKeystore::wrap`] under the same alias.
    /// For [`KeyProtection::Biometric`] this shows the platform's biometric prompt.
    ///
    /// # Errors
    /// [`KeystoreError::KeyInvalidated`], [`KeystoreError::UserCancelled`],
    /// [`KeystoreError::KeyNotFound`], [`KeystoreError::UnwrapFailed`] or another failure.
    ///
    /// The contract the vault relies on, per protection: for
    /// [`KeyProtection::Device`], `KeyNotFound` and `KeyInvalidated` mean the
    /// key is gone for good and the vault answers `VaultError::DeviceKeyLost`
    /// (sync, wipe, enrol again online); for [`KeyProtection::Biometric`] they
    /// turn biometric unlock off and the PIN goes on working. An adapter must
    /// therefore report a failure that may pass (a locked device, a busy
    /// secure element, an unclassified platform exception) as `Failed`, never
    /// as one of those two.
    fn unwrap(&self, alias: String, protection: KeyProtection, wrapped: Vec<u8>) -> Result<Vec<u8>, KeystoreError>;

    /// Deletes the key named `alias`. Deleting a missing key succeeds.
    ///
    /// # Errors
    /// A [`KeystoreError`] if the platform could not delete the key.
    fn delete_key(&self, alias: String) -> Result<(), KeystoreError>;
}

/// An in-memory keystore in software, for tests, demos, the JVM and backends.
///
/// **Not hardware-backed**: its keys live in this process's memory and vanish
/// with it, and anyone who can read the process can read them. It exists so the
/// SDK runs where no platform keystore exists; on a phone, use the Android or
/// Apple adapter. [`KeyProtection::Biometric`] is accepted but no prompt is shown.
#[derive(uniffi::Object)]
pub struct SoftwareKeystore {
    keys: Mutex<HashMap<String, (KeyProtection, SecretKey)>>,
}

impl std::fmt::Debug for SoftwareKeystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareKeystore").field("keys", &self.key_count()).finish_non_exhaustive()
    }
}

impl Default for SoftwareKeystore {
    fn default() -> Self {
        Self { keys: Mutex::new(HashMap::new()) }
    }
}

#[uniffi::export]
impl SoftwareKeystore {
    /// An empty in-memory keystore.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// This keystore as the trait object `PinVault::open` takes, without a
    /// round trip through the foreign language on every call.
    pub fn as_platform_keystore(self: Arc<Self>) -> Arc<dyn PlatformKeystore> {
        self
    }

    /// How many keys it holds (tests use it to check that wipes delete keys).
    pub fn key_count(&self) -> u64 {
        self.lock_keys().len() as u64
    }

    /// Whether a key exists under `alias`.
    pub fn contains_key(&self, alias: &str) -> bool {
        self.lock_keys().contains_key(alias)
    }
}

impl SoftwareKeystore {
    fn lock_keys(&self) -> std::sync::MutexGuard<'_, HashMap<String, (KeyProtection, SecretKey)>> {
        // A poisoned map still holds valid keys: a panic elsewhere cannot
        // leave a half-written entry because inserts are single operations.
        self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn key_for(&self, alias: &str, protection: KeyProtection) -> Result<SecretKey, KeystoreError> {
        match self.lock_keys().get(alias) {
            Some((stored, key)) if *stored == protection => Ok(key.clone()),
            Some(_) => Err(KeystoreError::UnwrapFailed),
            None => Err(KeystoreError::KeyNotFound),
        }
    }
}

fn software_aad(alias: &str) -> Aad {
    Aad::new(AadKind::SoftwareKeystore, b"software-keystore", alias.as_bytes())
}

impl PlatformKeystore for SoftwareKeystore {
    fn wrap(&self, alias: String, protection: KeyProtection, plaintext: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        let plaintext = Zeroizing::new(plaintext);
        let key = {
            let mut keys = self.lock_keys();
            if let Some((stored, key)) = keys.get(&alias) {
                if *stored != protection {
                    return Err(KeystoreError::Failed { reason: "alias exists with another protection".into() });
                }
                key.clone()
            } else {
                let key = SecretKey::generate().map_err(|e| KeystoreError::Failed { reason: e.to_string() })?;
                keys.insert(alias.clone(), (protection, key.clone()));
                key
            }
        };
        seal(&key, &software_aad(&alias), &plaintext)
            .and_then(|sealed| sealed.to_bytes())
            .map_err(|e| KeystoreError::Failed { reason: e.to_string() })
    }

    fn unwrap(&self, alias: String, protection: KeyProtection, wrapped: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        let key = self.key_for(&alias, protection)?;
        let sealed = Sealed::from_bytes(&wrapped).map_err(|_| KeystoreError::UnwrapFailed)?;
        let plaintext = open(&key, &software_aad(&alias), &sealed).map_err(|_| KeystoreError::UnwrapFailed)?;
        Ok(plaintext.to_vec())
    }

    fn delete_key(&self, alias: String) -> Result<(), KeystoreError> {
        self.lock_keys().remove(&alias);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unwrap_delete() {
        let ks = SoftwareKeystore::new();
        let blob = ks.wrap("a".into(), KeyProtection::Device, b"secret".to_vec()).unwrap();
        assert!(!blob.windows(6).any(|w| w == b"secret"));
        assert_eq!(ks.unwrap("a".into(), KeyProtection::Device, blob.clone()).unwrap(), b"secret");
        assert_eq!(ks.unwrap("b".into(), KeyProtection::Device, blob.clone()), Err(KeystoreError::KeyNotFound));
        assert_eq!(ks.unwrap("a".into(), KeyProtection::Biometric, blob.clone()), Err(KeystoreError::UnwrapFailed));
        ks.delete_key("a".into()).unwrap();
        assert_eq!(ks.unwrap("a".into(), KeyProtection::Device, blob), Err(KeystoreError::KeyNotFound));
        assert_eq!(ks.key_count(), 0);
    }

    #[test]
    fn another_instance_cannot_unwrap() {
        let a = SoftwareKeystore::new();
        let b = SoftwareKeystore::new();
        let blob = a.wrap("x".into(), KeyProtection::Device, vec![1; 32]).unwrap();
        b.wrap("x".into(), KeyProtection::Device, vec![2; 32]).unwrap();
        assert_eq!(b.unwrap("x".into(), KeyProtection::Device, blob), Err(KeystoreError::UnwrapFailed));
    }
}
