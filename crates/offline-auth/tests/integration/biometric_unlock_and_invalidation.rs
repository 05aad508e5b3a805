//! Biometric unlock through the keystore's `Biometric` protection: enable,
//! unlock, cancel, invalidation or loss of the key turning biometrics off
//! while the PIN works.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::sync::atomic::Ordering;

use common::*;
use offline_auth::VaultError;

#[test]
fn enable_then_unlock_with_biometrics() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    assert_eq!(vault.unlock_with_biometrics().err(), Some(VaultError::BiometricsUnavailable));
    session.put("visits", "v1", b"bio".to_vec()).unwrap();
    session.enable_biometrics().unwrap();
    assert!(vault.status().unwrap().biometrics_enabled);
    session.lock();

    let session = vault.unlock_with_biometrics().unwrap();
    assert_eq!(session.get("visits", "v1").unwrap().unwrap(), b"bio");

    // Re-enabling replaces the key: exactly one device and one biometric key remain.
    session.enable_biometrics().unwrap();
    assert_eq!(device.keystore.inner.key_count(), 2);
    session.disable_biometrics().unwrap();
    assert_eq!(device.keystore.inner.key_count(), 1);
    assert_eq!(vault.unlock_with_biometrics().err(), Some(VaultError::BiometricsUnavailable));
}

#[test]
fn a_biometric_unlock_resets_failed_pins() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.enable_biometrics().unwrap();
    session.lock();
    vault.unlock("000001".into()).unwrap_err();
    assert_eq!(vault.status().unwrap().failed_attempts, 1);
    vault.unlock_with_biometrics().unwrap();
    assert_eq!(vault.status().unwrap().failed_attempts, 0);
}

#[test]
fn invalidated_key_turns_biometrics_off_and_the_pin_still_works() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.enable_biometrics().unwrap();
    session.lock();
    device.keystore.bio_invalidated.store(true, Ordering::SeqCst);
    assert_eq!(vault.unlock_with_biometrics().err(), Some(VaultError::BiometricsInvalidated));
    assert!(!vault.status().unwrap().biometrics_enabled);
    assert_eq!(device.keystore.inner.key_count(), 1, "the invalidated key is deleted");
    assert_eq!(vault.unlock_with_biometrics().err(), Some(VaultError::BiometricsUnavailable));
    vault.unlock(PIN.into()).unwrap();
}

#[test]
fn a_lost_biometric_key_turns_biometrics_off_and_the_pin_still_works() {
    // The lock screen or passcode was removed: the platform deleted the key.
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.enable_biometrics().unwrap();
    session.lock();
    device.keystore.bio_lost.store(true, Ordering::SeqCst);
    assert_eq!(vault.unlock_with_biometrics().err(), Some(VaultError::BiometricsInvalidated));
    let status = vault.status().unwrap();
    assert!(!status.biometrics_enabled);
    assert_eq!(status.failed_attempts, 0, "a missing key counts no PIN attempt");
    assert_eq!(device.keystore.inner.key_count(), 1, "only the device key is left");
    assert_eq!(vault.unlock_with_biometrics().err(), Some(VaultError::BiometricsUnavailable));
    vault.unlock(PIN.into()).unwrap();
}

#[test]
fn an_edited_biometric_alias_is_tampering_and_turns_nothing_off() {
    // The row's alias is not authenticated by the row; its tag is. A forged
    // alias of the right shape, whose key the keystore cannot find, must not
    // pass for a key the platform lost.
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.enable_biometrics().unwrap();
    session.lock();
    let db = rusqlite::Connection::open(device.path()).unwrap();
    let alias: String = db.query_row("SELECT bio_alias FROM vault", [], |r| r.get(0)).unwrap();
    let (base, tag) = alias.rsplit_once('.').unwrap();
    let forged_tag: String = tag.chars().map(|c| if c == '0' { '1' } else { '0' }).collect();
    for forged in [format!("{base}.{forged_tag}"), base.to_owned()] {
        db.execute("UPDATE vault SET bio_alias = ?1", [&forged]).unwrap();
        let before = all_rows(&device.path());
        let err = vault.unlock_with_biometrics().err().unwrap();
        assert!(matches!(err, VaultError::Tampered | VaultError::Keystore { .. }), "{forged}: {err:?}");
        assert!(all_rows(&device.path()) == before, "{forged}: the failed unlock changed the database");
    }
    db.execute("UPDATE vault SET bio_alias = ?1", [&alias]).unwrap();
    assert!(vault.status().unwrap().biometrics_enabled);
    vault.unlock_with_biometrics().unwrap();
}

#[test]
fn user_cancel_is_typed_and_counts_no_attempt() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.enable_biometrics().unwrap();
    session.lock();
    vault.unlock("000001".into()).unwrap_err();
    device.keystore.bio_cancel.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        assert_eq!(vault.unlock_with_biometrics().err(), Some(VaultError::UserCancelled));
    }
    let status = vault.status().unwrap();
    assert_eq!(status.failed_attempts, 1);
    assert!(status.biometrics_enabled, "a cancel does not turn biometrics off");
    device.keystore.bio_cancel.store(false, Ordering::SeqCst);
    vault.unlock_with_biometrics().unwrap();
}

#[test]
fn biometric_unlock_obeys_the_grant_and_the_clock() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.enable_biometrics().unwrap();
    session.lock();
    device.clock.set(T0 - HOUR);
    assert_eq!(vault.unlock_with_biometrics().err(), Some(VaultError::ClockRollback));
    device.clock.set(T0 + 8 * DAY);
    assert_eq!(vault.unlock_with_biometrics().err(), Some(VaultError::ClockRollback), "still locked until renewal");
}
