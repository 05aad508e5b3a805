//! A lost device key (the lock screen or passcode removed, the keystore
//! cleared) is `DeviceKeyLost`: never `BiometricsInvalidated`, whose text
//! says the PIN still works, and never a change to what is stored. The way
//! back is a wipe and a new enrolment online.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::sync::{Arc, Mutex};

use common::*;
use offline_auth::{KeyProtection, KeystoreError, PinVault, PlatformKeystore, SoftwareKeystore, VaultError};

/// A keystore that answers every unwrap of a `Device` key with the error it
/// is told to, as Android does once the lock screen is removed
/// (`KeyPermanentlyInvalidatedException`, which the adapter reports as
/// `KeyInvalidated`) and iOS does once the passcode is removed (the item is
/// deleted: `KeyNotFound`). Biometric keys keep working.
#[derive(Default)]
struct LosingKeystore {
    inner: Arc<SoftwareKeystore>,
    device_error: Mutex<Option<KeystoreError>>,
}

impl LosingKeystore {
    fn lose_device_key(&self, error: KeystoreError) {
        *self.device_error.lock().unwrap() = Some(error);
    }
}

impl PlatformKeystore for LosingKeystore {
    fn wrap(&self, alias: String, protection: KeyProtection, plaintext: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        self.inner.wrap(alias, protection, plaintext)
    }
    fn unwrap(&self, alias: String, protection: KeyProtection, wrapped: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        if protection == KeyProtection::Device {
            if let Some(error) = self.device_error.lock().unwrap().clone() {
                return Err(error);
            }
        }
        self.inner.unwrap(alias, protection, wrapped)
    }
    fn delete_key(&self, alias: String) -> Result<(), KeystoreError> {
        self.inner.delete_key(alias)
    }
}

type Phone = Device<LosingKeystore>;

fn phone() -> Phone {
    Device::with_keystore(Arc::new(LosingKeystore { inner: SoftwareKeystore::new(), ..Default::default() }))
}

/// What the tests do on top of [`Device`].
trait Enrolled {
    fn enrolled_with_biometrics(&self) -> Arc<PinVault>;
}

impl Enrolled for Phone {
    /// Enrolled, one record written, biometrics on, session locked.
    fn enrolled_with_biometrics(&self) -> Arc<PinVault> {
        let vault = self.open();
        let session =
            vault.enroll(PIN.into(), &self.backend.grant(self.clock.now(), 7), self.backend.sync_key.clone()).unwrap();
        session.put("visits", "v1", b"gate code".to_vec()).unwrap();
        session.enable_biometrics().unwrap();
        session.lock();
        vault
    }
}

/// Every row of every table, and the number of keystore keys.
type Stored = (Vec<(String, Vec<Vec<rusqlite::types::Value>>)>, u64);

/// What a lost device key must leave as it was: every row, every keystore key.
fn snapshot(phone: &Phone) -> Stored {
    (all_rows(&phone.path()), phone.keystore.inner.key_count())
}

fn device_key_lost_changes_nothing(error: KeystoreError) {
    let phone = phone();
    let vault = phone.enrolled_with_biometrics();
    let before = snapshot(&phone);
    phone.keystore.lose_device_key(error.clone());

    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::DeviceKeyLost), "PIN unlock after {error:?}");
    assert_eq!(vault.unlock("000001".into()).err(), Some(VaultError::DeviceKeyLost), "a wrong PIN is not judged");
    assert_eq!(
        vault.unlock_with_biometrics().err(),
        Some(VaultError::DeviceKeyLost),
        "a biometric unlock after {error:?} is not BiometricsInvalidated"
    );
    assert_eq!(
        vault.change_pin(PIN.into(), "951847".into()).err(),
        Some(VaultError::DeviceKeyLost),
        "change_pin after {error:?}"
    );

    let status = vault.status().unwrap();
    assert!(status.biometrics_enabled, "biometrics are not turned off: the device key is what was lost");
    assert_eq!(status.failed_attempts, 0, "no attempt was counted");
    assert_eq!(status.pending_entries, 1, "the app can still see what is unsynced");
    assert_eq!(snapshot(&phone), before, "nothing stored changed, no keystore key was deleted");
}

#[test]
fn an_invalidated_device_key_is_device_key_lost_not_biometrics_invalidated() {
    device_key_lost_changes_nothing(KeystoreError::KeyInvalidated);
}

#[test]
fn a_missing_device_key_is_device_key_lost() {
    device_key_lost_changes_nothing(KeystoreError::KeyNotFound);
}

/// A transient keystore failure on the device key stays a keystore error:
/// the app must not wipe a vault because the secure element was busy.
#[test]
fn a_transient_device_key_failure_is_not_device_key_lost() {
    let phone = phone();
    let vault = phone.enrolled_with_biometrics();
    phone.keystore.lose_device_key(KeystoreError::Failed { reason: "device locked".into() });
    assert!(matches!(vault.unlock(PIN.into()), Err(VaultError::Keystore { .. })));
    *phone.keystore.device_error.lock().unwrap() = None;
    vault.unlock(PIN.into()).unwrap();
}

#[test]
fn the_device_key_lost_message_says_sync_then_wipe_and_enrol_online() {
    let text = VaultError::DeviceKeyLost.to_string();
    for needed in ["device key", "sync", "wipe", "enrol again online"] {
        assert!(text.contains(needed), "{text:?} lacks {needed:?}");
    }
    assert!(!text.contains("PIN still works"), "{text}");
}

/// The way back: an open session can still sync what it holds, then a wipe
/// and a new online enrolment give a working vault (with a new device key).
#[test]
fn after_device_key_lost_a_wipe_and_a_new_enrolment_work() {
    let phone = phone();
    let vault = phone.open();
    let session =
        vault.enroll(PIN.into(), &phone.backend.grant(phone.clock.now(), 7), phone.backend.sync_key.clone()).unwrap();
    session.put("visits", "v1", b"unsynced".to_vec()).unwrap();
    phone.keystore.lose_device_key(KeystoreError::KeyInvalidated);

    // The session opened before the loss still reads and exports its queue.
    assert_eq!(session.get("visits", "v1").unwrap().unwrap(), b"unsynced");
    assert!(session.clone().sync_queue().next_batch(100).unwrap().is_some(), "the pending edits can still be sent");
    session.lock();
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::DeviceKeyLost));

    vault.wipe().unwrap();
    *phone.keystore.device_error.lock().unwrap() = None;
    let session =
        vault.enroll(PIN.into(), &phone.backend.grant(phone.clock.now(), 7), phone.backend.sync_key.clone()).unwrap();
    session.lock();
    vault.unlock(PIN.into()).unwrap();
}
