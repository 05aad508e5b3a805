//! The `Display` text of each public error is what every binding prints
//! (UniFFI exports it): it names the failure, carries the typed fields, and
//! never the PIN that was tried.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use common::*;
use offline_auth::{KeystoreError, VaultError};

#[test]
fn vault_errors_print_their_fields_and_not_the_pin() {
    let device = Device::new();
    let vault = device.open();
    let not_enrolled = vault.unlock(PIN.into()).unwrap_err();
    assert_eq!(not_enrolled.to_string(), "the vault is not enrolled");

    let (vault, session) = device.enrolled();
    session.lock();
    let wrong = vault.unlock("000111".into()).unwrap_err();
    assert_eq!(wrong, VaultError::WrongPin { attempts_remaining: 9 });
    assert_eq!(wrong.to_string(), "wrong PIN; 9 attempts remaining before the vault is wiped");
    assert!(!wrong.to_string().contains("000111"));
    assert!(!format!("{wrong:?}").contains("000111"));

    let weak = VaultError::WeakPin { reason: "too short".into() };
    assert_eq!(weak.to_string(), "PIN rejected by policy: too short");
    assert_eq!(VaultError::LockedOut { retry_after_secs: 30 }.to_string(), "too many wrong PINs; try again in 30 s");
}

#[test]
fn keystore_errors_print_their_reason() {
    assert_eq!(KeystoreError::KeyNotFound.to_string(), "no key under this alias");
    assert_eq!(KeystoreError::Failed { reason: "hardware unavailable".into() }.to_string(), "hardware unavailable");
}
