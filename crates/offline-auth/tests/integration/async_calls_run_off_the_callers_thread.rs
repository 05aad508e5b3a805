//! The `_async` forms run their call on a thread of their own: the caller's
//! thread is free while the keystore (or the KDF) works, and cancelling the
//! future does not undo the call: a cancelled unlock has counted its attempt.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::future::Future;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Waker};

use common::*;
use offline_auth::VaultError;

/// A door the keystore callbacks wait at until the test opens it.
#[derive(Default)]
struct Door {
    open: Mutex<bool>,
    changed: Condvar,
    waiting: Mutex<u32>,
    arrived: Condvar,
}

impl Door {
    fn install(device: &Device) -> Arc<Door> {
        let door = Arc::new(Door::default());
        let at = door.clone();
        *device.keystore.on_call.lock().unwrap() = Some(Box::new(move || at.pass()));
        door
    }
    fn pass(&self) {
        *self.waiting.lock().unwrap() += 1;
        self.arrived.notify_all();
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.changed.wait(open).unwrap();
        }
    }
    fn wait_for_a_caller(&self) {
        let mut waiting = self.waiting.lock().unwrap();
        while *waiting == 0 {
            waiting = self.arrived.wait(waiting).unwrap();
        }
    }
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.changed.notify_all();
    }
}

#[test]
fn unlock_async_leaves_the_callers_thread_free_while_the_keystore_works() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.lock();
    let door = Door::install(&device);

    let mut unlocking = Box::pin(vault.clone().unlock_async(PIN.into()));
    let mut cx = Context::from_waker(Waker::noop());
    // The keystore is held shut, so the call cannot have finished: this poll
    // returning at all proves the caller's thread was not the one blocked.
    assert!(unlocking.as_mut().poll(&mut cx).is_pending());
    door.wait_for_a_caller();
    // The caller's thread still works the vault meanwhile.
    assert!(vault.is_enrolled().unwrap());
    assert!(unlocking.as_mut().poll(&mut cx).is_pending());

    door.open();
    let session = block_on(unlocking).unwrap();
    assert_eq!(session.user_id().unwrap(), USER);
}

#[test]
fn a_cancelled_unlock_has_still_counted_its_attempt() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.lock();
    let door = Door::install(&device);

    let mut unlocking = Box::pin(vault.clone().unlock_async("000111".into()));
    assert!(unlocking.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
    door.wait_for_a_caller();
    drop(unlocking); // cancelled while the attempt is under way
    door.open();

    // The next attempt waits for the cancelled one (attempts are serialised)
    // and sees its count.
    let next = vault.unlock("000222".into()).unwrap_err();
    assert_eq!(next, VaultError::WrongPin { attempts_remaining: 8 });
    assert_eq!(vault.status().unwrap().failed_attempts, 2);
}

#[test]
fn every_async_form_returns_what_its_blocking_twin_returns() {
    let device = Device::new();
    let vault = device.open();
    assert_eq!(block_on(vault.clone().unlock_async(PIN.into())).err(), Some(VaultError::NotEnrolled));
    let session = block_on(vault.clone().enroll_async(
        PIN.into(),
        device.backend.grant(device.clock.now(), 7),
        device.backend.sync_key.clone(),
    ))
    .unwrap();
    block_on(session.clone().enable_biometrics_async()).unwrap();
    session.lock();
    block_on(vault.clone().unlock_with_biometrics_async()).unwrap().lock();
    block_on(vault.clone().change_pin_async(PIN.into(), "739164".into())).unwrap();
    assert_eq!(
        block_on(vault.clone().unlock_async(PIN.into())).err(),
        Some(VaultError::WrongPin { attempts_remaining: 9 })
    );
    device.clock.advance(60); // a renewal must be newer than the grant in force
    let session =
        block_on(vault.clone().unlock_with_grant_async("739164".into(), device.backend.grant(device.clock.now(), 7)))
            .unwrap();
    assert_eq!(session.user_id().unwrap(), USER);
    block_on(vault.clone().wipe_async()).unwrap();
    assert!(!vault.is_enrolled().unwrap());
}
