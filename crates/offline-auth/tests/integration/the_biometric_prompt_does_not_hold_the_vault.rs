//! While the platform's biometric prompt is up for `enable_biometrics` (it
//! may stay up for minutes), every other vault call goes on: PIN attempts
//! and wipes are not queued behind the user. And what they did is respected
//! when the prompt returns.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::*;
use offline_auth::VaultError;

/// Holds the next biometric wrap until `release` is sent; `shown` tells that it started.
fn hold_the_prompt(device: &Device) -> (mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (shown_tx, shown_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let shown_tx = Mutex::new(shown_tx);
    *device.keystore.bio_prompt.lock().unwrap() = Some(Arc::new(move || {
        shown_tx.lock().unwrap().send(()).ok();
        release_rx.lock().unwrap().recv().ok();
    }));
    (shown_rx, release_tx)
}

/// Runs `call` on another thread and waits for it; a deadlock shows as a
/// failure (after a generous guard, not a timing claim) instead of a hung run.
fn completes<T: Send + 'static>(release: &mpsc::Sender<()>, call: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(call()).ok());
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(value) => value,
        Err(_) => {
            release.send(()).ok();
            panic!("the call waited for the biometric prompt");
        }
    }
}

/// An enrolled vault whose `enable_biometrics` runs on another thread and
/// waits in its prompt until `release` is sent.
#[allow(clippy::type_complexity)]
fn enable_with_the_prompt_held() -> (
    Device,
    Arc<offline_auth::PinVault>,
    Arc<offline_auth::OfflineSession>,
    mpsc::Sender<()>,
    thread::JoinHandle<Result<(), VaultError>>,
) {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    let (shown, release) = hold_the_prompt(&device);
    let enabling = {
        let session = Arc::clone(&session);
        thread::spawn(move || session.enable_biometrics())
    };
    shown.recv().unwrap();
    (device, vault, session, release, enabling)
}

#[test]
fn pin_attempts_go_on_while_the_enable_prompt_is_up() {
    let (device, vault, _session, release, enabling) = enable_with_the_prompt_held();

    let v = Arc::clone(&vault);
    let wrong = completes(&release, move || v.unlock("000001".into()).err());
    assert!(matches!(wrong, Some(VaultError::WrongPin { .. })), "{wrong:?}");
    let v = Arc::clone(&vault);
    completes(&release, move || v.unlock(PIN.into()).map(|_| ())).unwrap();

    release.send(()).unwrap();
    enabling.join().unwrap().unwrap();
    assert!(vault.status().unwrap().biometrics_enabled);
    vault.unlock_with_biometrics().unwrap();
    // One device key and one biometric key: nothing orphaned, nothing lost.
    assert_eq!(device.keystore.inner.key_count(), 2);
}

#[test]
fn a_wipe_during_the_enable_prompt_wins_and_leaves_no_key() {
    let (device, vault, _session, release, enabling) = enable_with_the_prompt_held();
    let v = Arc::clone(&vault);
    completes(&release, move || v.wipe()).unwrap();

    release.send(()).unwrap();
    let result = enabling.join().unwrap();
    assert!(result.is_err(), "enable after a wipe must fail: {result:?}");
    assert!(!vault.status().map(|s| s.biometrics_enabled).unwrap_or(false));
    assert_eq!(device.keystore.inner.key_count(), 0, "the key made for the prompt is deleted");
}

#[test]
fn two_enables_at_once_leave_exactly_one_biometric_key() {
    let (device, vault, session, release, first) = enable_with_the_prompt_held();
    // The second enable's prompt is not held.
    *device.keystore.bio_prompt.lock().unwrap() = None;
    let s = Arc::clone(&session);
    completes(&release, move || s.enable_biometrics()).unwrap();
    release.send(()).unwrap();
    first.join().unwrap().unwrap();
    session.lock();
    vault.unlock_with_biometrics().unwrap();
    assert_eq!(device.keystore.inner.key_count(), 2, "one device key, one biometric key");
}
