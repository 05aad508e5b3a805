//! No file edit may turn biometrics off or delete a key (issue 23, item 4).
//!
//! The row's biometric alias and wrap are not covered by the attempt MAC.
//! Before, when the keystore reported the biometric key invalidated, the
//! vault trusted them: an alias set to the device key's, or a `bio_wrap`
//! replaced by the `device_wrap`, turned biometrics off, and deleted a key
//! (the real biometric key, or the device key itself). Now every path that
//! turns biometrics off or deletes a key — the keystore's `KeyInvalidated`
//! and `KeyNotFound`, a session's `disable_biometrics`, and the replacement
//! in `enable_biometrics` — first authenticates the stored pair (the wrap's
//! MAC under a `DK` subkey covers the alias); an edited pair is `Tampered`
//! and changes nothing: same rows, same keystore keys, biometrics still on.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use offline_auth::VaultError;

/// The four columns the edits draw on.
struct Stored {
    device_alias: String,
    device_wrap: Vec<u8>,
    bio_alias: String,
    bio_wrap: Vec<u8>,
}

fn stored(device: &Device) -> Stored {
    let db = rusqlite::Connection::open(device.path()).unwrap();
    db.query_row("SELECT device_alias, device_wrap, bio_alias, bio_wrap FROM vault", [], |r| {
        Ok(Stored { device_alias: r.get(0)?, device_wrap: r.get(1)?, bio_alias: r.get(2)?, bio_wrap: r.get(3)? })
    })
    .unwrap()
}

fn set_bio(device: &Device, alias: &str, wrap: &[u8]) {
    let db = rusqlite::Connection::open(device.path()).unwrap();
    db.execute("UPDATE vault SET bio_alias = ?1, bio_wrap = ?2", rusqlite::params![alias, wrap]).unwrap();
}

/// Every edit of the biometric alias and wrap the attack suite tried, and more.
fn edits(s: &Stored) -> Vec<(&'static str, String, Vec<u8>)> {
    let (base, tag) = s.bio_alias.rsplit_once('.').unwrap();
    let forged_tag: String = tag.chars().map(|c| if c == '0' { '1' } else { '0' }).collect();
    let mut flipped_mac = s.bio_wrap.clone();
    flipped_mac[10] ^= 1;
    let mut flipped_wrap = s.bio_wrap.clone();
    *flipped_wrap.last_mut().unwrap() ^= 1;
    vec![
        ("the alias set to the device key's", s.device_alias.clone(), s.bio_wrap.clone()),
        ("the wrap replaced by the device wrap", s.bio_alias.clone(), s.device_wrap.clone()),
        ("both set to the device key's", s.device_alias.clone(), s.device_wrap.clone()),
        ("a forged alias tag", format!("{base}.{forged_tag}"), s.bio_wrap.clone()),
        ("the alias without its tag", base.to_owned(), s.bio_wrap.clone()),
        ("a flipped MAC byte", s.bio_alias.clone(), flipped_mac),
        ("a flipped byte of the keystore's blob", s.bio_alias.clone(), flipped_wrap),
        ("the wrap without its MAC", s.bio_alias.clone(), s.bio_wrap[8 + 32..].to_vec()),
    ]
}

fn enrolled_with_biometrics() -> (Device, std::sync::Arc<offline_auth::PinVault>, Stored) {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.enable_biometrics().unwrap();
    session.lock();
    let s = stored(&device);
    (device, vault, s)
}

fn keys_of(device: &Device, s: &Stored) -> (u64, bool, bool) {
    let ks = &device.keystore.inner;
    (ks.key_count(), ks.contains_key(&s.device_alias), ks.contains_key(&s.bio_alias))
}

#[test]
fn an_edited_biometric_alias_or_wrap_is_tampered_when_the_keystore_reports_the_key_invalidated_or_missing() {
    let (device, vault, s) = enrolled_with_biometrics();
    let modes: [(&str, &AtomicBool); 2] =
        [("KeyInvalidated", &device.keystore.bio_invalidated), ("KeyNotFound", &device.keystore.bio_lost)];
    for (mode, flag) in modes {
        for (what, alias, wrap) in edits(&s) {
            set_bio(&device, &alias, &wrap);
            flag.store(true, Ordering::SeqCst);
            let rows = all_rows(&device.path());
            let keys = keys_of(&device, &s);
            assert_eq!(keys, (2, true, true));
            let result = vault.unlock_with_biometrics();
            flag.store(false, Ordering::SeqCst);
            assert_eq!(result.err(), Some(VaultError::Tampered), "{mode}, {what}");
            assert!(all_rows(&device.path()) == rows, "{mode}, {what}: the database changed");
            assert_eq!(keys_of(&device, &s), keys, "{mode}, {what}: a keystore key was deleted");
            assert!(vault.status().unwrap().biometrics_enabled, "{mode}, {what}: biometrics turned off");
            set_bio(&device, &s.bio_alias, &s.bio_wrap);
        }
    }
    // The genuine pair still works, and the PIN.
    vault.unlock_with_biometrics().unwrap().lock();
    vault.unlock(PIN.into()).unwrap().lock();
    // And a genuine invalidation still turns biometrics off and deletes only its key.
    device.keystore.bio_invalidated.store(true, Ordering::SeqCst);
    assert_eq!(vault.unlock_with_biometrics().err(), Some(VaultError::BiometricsInvalidated));
    assert!(!vault.status().unwrap().biometrics_enabled);
    assert_eq!(device.keystore.inner.key_count(), 1, "only the device key is left");
    assert!(!device.keystore.inner.contains_key(&s.bio_alias));
    vault.unlock(PIN.into()).unwrap();
}

#[test]
fn disabling_or_replacing_an_edited_biometric_wrap_is_tampered_and_deletes_no_key() {
    let (device, vault, s) = enrolled_with_biometrics();
    for i in 0..edits(&s).len() {
        let session = vault.unlock(PIN.into()).unwrap();
        // The device alias rotates with every unlock: edit with the current one.
        let now = stored(&device);
        let (what, alias, wrap) = edits(&now).swap_remove(i);
        set_bio(&device, &alias, &wrap);
        let rows = all_rows(&device.path());
        let count = device.keystore.inner.key_count();
        assert_eq!(session.disable_biometrics().err(), Some(VaultError::Tampered), "disable, {what}");
        assert_eq!(session.enable_biometrics().err(), Some(VaultError::Tampered), "enable, {what}");
        assert!(all_rows(&device.path()) == rows, "{what}: the database changed");
        assert_eq!(device.keystore.inner.key_count(), count, "{what}: a key was deleted or left behind");
        assert!(device.keystore.inner.contains_key(&now.device_alias), "{what}: the device key was deleted");
        assert!(device.keystore.inner.contains_key(&s.bio_alias), "{what}: the biometric key was deleted");
        session.lock();
        set_bio(&device, &s.bio_alias, &s.bio_wrap);
    }
    vault.unlock_with_biometrics().unwrap().lock();
}

#[test]
fn a_wrap_stripped_of_its_mac_is_tampered_even_when_its_key_still_works() {
    // Aliases made since wraps carry a MAC say so in their tag: a wrap
    // without one beside such an alias is a downgrade, not an old vault.
    let (device, vault, s) = enrolled_with_biometrics();
    set_bio(&device, &s.bio_alias, &s.bio_wrap[8 + 32..]);
    let rows = all_rows(&device.path());
    assert_eq!(vault.unlock_with_biometrics().err(), Some(VaultError::Tampered));
    assert!(all_rows(&device.path()) == rows, "the database changed");
    assert_eq!(device.keystore.inner.key_count(), 2);
    set_bio(&device, &s.bio_alias, &s.bio_wrap);
    vault.unlock_with_biometrics().unwrap().lock();
}
