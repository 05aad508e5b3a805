//! An enable's biometric key survives everything the vault does while its
//! prompt is up (issue 23, item 5), with a keystore that creates the key
//! *before* the prompt, as Android does.
//!
//! Purges skip biometric aliases while an enable is in progress. The check
//! used `try_lock` on the same file whose shared lock the enabling thread
//! held: on one handle that silently upgraded (and then released) the
//! handle's own lock and answered "no", so a PIN unlock, a wrong PIN or a
//! `lock()` on another thread of the same `PinVault` deleted the key the
//! prompt was using, and biometrics failed at the first use. Now a handle
//! counts its own enables and asks the file only about other handles and
//! processes.
#![allow(clippy::unwrap_used, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use common::*;
use offline_auth::{KeyProtection, KeystoreError, PinVault, PlatformKeystore, SoftwareKeystore, VaultError};

type Prompt = Arc<dyn Fn() + Send + Sync>;

/// Creates the key (and wraps) first, then shows the prompt: Android's order.
#[derive(Default)]
struct KeyFirstKeystore {
    inner: Arc<SoftwareKeystore>,
    prompt: Mutex<Option<Prompt>>,
    /// The alias of the last biometric key created.
    last_biometric: Mutex<Option<String>>,
}

impl PlatformKeystore for KeyFirstKeystore {
    fn wrap(&self, alias: String, protection: KeyProtection, plaintext: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        let wrapped = self.inner.wrap(alias.clone(), protection, plaintext)?;
        if protection == KeyProtection::Biometric {
            *self.last_biometric.lock().unwrap() = Some(alias);
            let prompt = self.prompt.lock().unwrap().clone();
            if let Some(prompt) = prompt {
                prompt();
            }
        }
        Ok(wrapped)
    }
    fn unwrap(&self, alias: String, protection: KeyProtection, wrapped: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        self.inner.unwrap(alias, protection, wrapped)
    }
    fn delete_key(&self, alias: String) -> Result<(), KeystoreError> {
        self.inner.delete_key(alias)
    }
}

/// An enrolled vault on a key-first keystore, and a second handle on its file.
fn enrolled() -> (Device, Arc<KeyFirstKeystore>, Arc<PinVault>, Arc<PinVault>) {
    let device = Device::new();
    let keystore = Arc::new(KeyFirstKeystore { inner: SoftwareKeystore::new(), ..Default::default() });
    let open = || {
        PinVault::open_with_clock(device.path_str(), keystore.clone(), device.clock.clone(), device.backend.config())
            .unwrap()
    };
    let (vault, other_handle) = (open(), open());
    let grant = device.backend.grant(device.clock.now(), 7);
    vault.enroll(PIN.into(), &grant, device.backend.sync_key.clone()).unwrap().lock();
    (device, keystore, vault, other_handle)
}

/// Starts `enable_biometrics` on its own thread, from a session of `vault`,
/// and returns once its prompt is up (the key exists), with the sender that
/// ends the prompt and the enable's thread.
fn enable_with_the_prompt_up(
    keystore: &KeyFirstKeystore,
    vault: &PinVault,
) -> (String, mpsc::Sender<()>, thread::JoinHandle<Result<(), VaultError>>) {
    let (shown_tx, shown_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (shown_tx, release_rx) = (Mutex::new(shown_tx), Mutex::new(release_rx));
    *keystore.prompt.lock().unwrap() = Some(Arc::new(move || {
        shown_tx.lock().unwrap().send(()).ok();
        release_rx.lock().unwrap().recv().ok();
    }));
    let session = vault.unlock(PIN.into()).unwrap();
    let enabling = thread::spawn(move || session.enable_biometrics());
    shown_rx.recv().unwrap();
    *keystore.prompt.lock().unwrap() = None;
    let alias = keystore.last_biometric.lock().unwrap().clone().unwrap();
    assert!(keystore.inner.contains_key(&alias), "the key exists while the prompt is up");
    (alias, release_tx, enabling)
}

/// Ends the prompt and checks the enable kept its key and biometrics work.
fn biometrics_work(
    keystore: &KeyFirstKeystore,
    vault: &PinVault,
    alias: &str,
    release: &mpsc::Sender<()>,
    enabling: thread::JoinHandle<Result<(), VaultError>>,
) {
    release.send(()).unwrap();
    enabling.join().unwrap().unwrap();
    assert!(vault.status().unwrap().biometrics_enabled);
    assert!(keystore.inner.contains_key(alias), "the prompt's key was deleted");
    vault.unlock_with_biometrics().unwrap().lock();
    assert_eq!(keystore.inner.key_count(), 2, "one device key, one biometric key");
}

#[test]
fn a_pin_unlock_wrong_pin_or_lock_on_another_thread_of_the_same_handle_keeps_the_prompts_key() {
    let (_device, keystore, vault, _other) = enrolled();
    let (alias, release, enabling) = enable_with_the_prompt_up(&keystore, &vault);
    // Each purges retired keys under the gate, on this same handle.
    assert!(matches!(vault.unlock("730264".into()), Err(VaultError::WrongPin { .. })));
    assert!(keystore.inner.contains_key(&alias), "a wrong PIN deleted the prompt's key");
    let session = vault.unlock(PIN.into()).unwrap();
    assert!(keystore.inner.contains_key(&alias), "a PIN unlock deleted the prompt's key");
    session.lock();
    assert!(keystore.inner.contains_key(&alias), "lock() deleted the prompt's key");
    biometrics_work(&keystore, &vault, &alias, &release, enabling);
}

#[test]
fn a_pin_unlock_or_lock_on_another_handle_of_the_process_keeps_the_prompts_key() {
    let (_device, keystore, vault, other) = enrolled();
    let (alias, release, enabling) = enable_with_the_prompt_up(&keystore, &vault);
    let session = other.unlock(PIN.into()).unwrap();
    session.lock();
    assert!(keystore.inner.contains_key(&alias), "the other handle deleted the prompt's key");
    biometrics_work(&keystore, &vault, &alias, &release, enabling);
}

#[test]
fn once_the_enable_is_over_the_handle_purges_biometric_keys_again() {
    // The count goes back to zero and the file lock is released: a later
    // replacement's old key is deleted by the purge, on either handle.
    let (_device, keystore, vault, other) = enrolled();
    let (alias, release, enabling) = enable_with_the_prompt_up(&keystore, &vault);
    biometrics_work(&keystore, &vault, &alias, &release, enabling);
    let session = other.unlock(PIN.into()).unwrap();
    session.enable_biometrics().unwrap();
    assert!(!keystore.inner.contains_key(&alias), "the replaced key was kept");
    assert_eq!(keystore.inner.key_count(), 2);
    session.lock();
    vault.unlock_with_biometrics().unwrap().lock();
}
