//! `lock()` moves the device key to a new alias. On Android 15+ the device
//! key is tied to an unlocked screen, so a session locked as the screen goes
//! off finds the keystore refusing: the rotation is then done at the next
//! call (`status()` or another `lock()`), not skipped.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use offline_auth::{KeyProtection, KeystoreError, PlatformKeystore, SoftwareKeystore};

/// A keystore whose device keys are unusable while the screen is locked, as
/// `setUnlockedDeviceRequired` keys are (a transient `Failed`).
#[derive(Default)]
struct ScreenLockKeystore {
    inner: Arc<SoftwareKeystore>,
    screen_locked: AtomicBool,
}

impl ScreenLockKeystore {
    fn check(&self, protection: KeyProtection) -> Result<(), KeystoreError> {
        if protection == KeyProtection::Device && self.screen_locked.load(Ordering::SeqCst) {
            return Err(KeystoreError::Failed { reason: "device locked".into() });
        }
        Ok(())
    }
}

impl PlatformKeystore for ScreenLockKeystore {
    fn wrap(&self, alias: String, protection: KeyProtection, plaintext: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        self.check(protection)?;
        self.inner.wrap(alias, protection, plaintext)
    }
    fn unwrap(&self, alias: String, protection: KeyProtection, wrapped: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        self.check(protection)?;
        self.inner.unwrap(alias, protection, wrapped)
    }
    fn delete_key(&self, alias: String) -> Result<(), KeystoreError> {
        self.inner.delete_key(alias)
    }
}

type Phone = Device<ScreenLockKeystore>;

fn phone() -> Phone {
    Device::with_keystore(Arc::new(ScreenLockKeystore { inner: SoftwareKeystore::new(), ..Default::default() }))
}

/// What the tests read on top of [`Device`].
trait DeviceAlias {
    fn device_alias(&self) -> String;
}

impl DeviceAlias for Phone {
    /// The device alias the file names now.
    fn device_alias(&self) -> String {
        let db = rusqlite::Connection::open(self.dir.path().join("vault.db")).unwrap();
        db.query_row("SELECT device_alias FROM vault", [], |row| row.get(0)).unwrap()
    }
}

#[test]
fn a_rotation_refused_at_lock_is_done_at_the_next_status_call() {
    let phone = phone();
    let vault = phone.open();
    let session =
        vault.enroll(PIN.into(), &phone.backend.grant(phone.clock.now(), 7), phone.backend.sync_key.clone()).unwrap();
    let during_session = phone.device_alias();

    phone.keystore.screen_locked.store(true, Ordering::SeqCst);
    session.lock();
    assert_eq!(phone.device_alias(), during_session, "the keystore refused: nothing rotated yet");
    vault.status().unwrap();
    assert_eq!(phone.device_alias(), during_session, "still refused while the screen is locked");

    phone.keystore.screen_locked.store(false, Ordering::SeqCst);
    vault.status().unwrap();
    let after = phone.device_alias();
    assert_ne!(after, during_session, "the deferred rotation ran at the next call");
    assert!(!phone.keystore.inner.contains_key(&during_session), "a copy taken in the session names a deleted key");
    assert_eq!(phone.keystore.inner.key_count(), 1);

    // Done once: a later call does not rotate again, and the PIN still works.
    vault.status().unwrap();
    assert_eq!(phone.device_alias(), after);
    vault.unlock(PIN.into()).unwrap();
}

#[test]
fn a_deferred_rotation_is_settled_by_the_next_unlock_and_not_repeated() {
    let phone = phone();
    let vault = phone.open();
    let session =
        vault.enroll(PIN.into(), &phone.backend.grant(phone.clock.now(), 7), phone.backend.sync_key.clone()).unwrap();
    phone.keystore.screen_locked.store(true, Ordering::SeqCst);
    session.lock();
    phone.keystore.screen_locked.store(false, Ordering::SeqCst);

    let session = vault.unlock(PIN.into()).unwrap();
    let after_unlock = phone.device_alias();
    vault.status().unwrap();
    assert_eq!(phone.device_alias(), after_unlock, "the unlock rotated the key: nothing left to defer");

    // The next lock rotates as usual.
    session.lock();
    assert_ne!(phone.device_alias(), after_unlock);
    assert_eq!(phone.keystore.inner.key_count(), 1);
}
