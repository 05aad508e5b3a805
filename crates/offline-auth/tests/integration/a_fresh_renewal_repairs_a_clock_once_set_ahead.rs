//! Fresh renewals (docs/TIME.md, "Fresh renewals"): a grant carrying a
//! nonce this device made, in this boot, at most `FRESH_RENEWAL_MAX_SECS`
//! ago, repairs the trusted time after the clock was once set far ahead;
//! anything short of that proof repairs nothing (the old rule: a renewal
//! never lowers the trusted time).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use common::*;
use offline_auth::{PinVault, VaultError, FRESH_RENEWAL_MAX_SECS};

/// The offline window of the renewed grants: 8 hours.
const WINDOW: i64 = 8 * HOUR;

/// A grant for this device issued at `iat` (the backend's time) for
/// [`WINDOW`], carrying `nonce`.
fn renewal(device: &Device, iat: i64, nonce: Option<String>) -> String {
    let scopes = vec!["visits".into(), "notes".into()];
    device.backend.issuer.issue_renewal(USER, DEVICE, &scopes, iat, iat + WINDOW, nonce).unwrap()
}

/// Enrols at real time `T0`, then the user sets the clock `ahead` and opens
/// the vault once, and puts it right again: the trusted time is `ahead` in
/// the future. Returns the vault and the real time now.
fn clock_once_set_ahead(device: &Device, ahead: i64) -> (std::sync::Arc<PinVault>, i64) {
    let (vault, session) = device.enrolled();
    session.put("visits", "v1", b"a".to_vec()).unwrap();
    session.lock();
    device.clock.advance(60);
    let real = device.clock.now();
    device.clock.set(real + ahead);
    // The PIN is right; the session opens or the 7-day grant is over.
    if let Ok(session) = vault.unlock(PIN.into()) {
        session.lock();
    }
    device.clock.set(real);
    (vault, real)
}

/// Minutes of the renewed window usable from `from` (real time), checked by
/// unlocking at whole minutes (the session is reopened each time, so the
/// idle timeout plays no part): the last one that opens and reads.
fn usable_minutes(device: &Device, vault: &PinVault, exp: i64) -> i64 {
    let mut usable = 0;
    let start = device.clock.now();
    for minute in [1, 60, 240, (exp - start) / 60 - 1, (exp - start) / 60] {
        let at = start + minute * 60;
        device.clock.advance(at - device.clock.now());
        match vault.unlock(PIN.into()) {
            Ok(session) => {
                assert_eq!(session.get("visits", "v1").unwrap().unwrap(), b"a");
                session.lock();
                usable = minute;
            }
            Err(VaultError::GrantExpired) => break,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    usable
}

#[test]
fn one_fresh_renewal_gives_back_the_full_window_after_the_clock_was_set_ahead() {
    for ahead in [HOUR, DAY, 30 * DAY] {
        let device = Device::new();
        let (vault, real) = clock_once_set_ahead(&device, ahead);
        assert!(vault.unlock(PIN.into()).is_err(), "{ahead} s ahead: locked (rollback or expired)");

        let nonce = vault.renewal_nonce().unwrap();
        device.clock.advance(2); // the round trip to the backend
        let iat = real + 2;
        let session = vault.unlock_with_grant(PIN.into(), &renewal(&device, iat, Some(nonce))).unwrap();
        session.put("visits", "v2", b"b".to_vec()).unwrap();
        session.lock();

        let usable = usable_minutes(&device, &vault, iat + WINDOW);
        println!("clock once {ahead} s ahead: {usable} of {} minutes usable after a fresh renewal", WINDOW / 60);
        assert_eq!(usable, WINDOW / 60 - 1, "{ahead} s ahead: the whole window but its last minute");
    }
}

#[test]
fn a_fresh_renewal_through_an_open_session_repairs_the_time_too() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.put("visits", "v1", b"a".to_vec()).unwrap();
    device.clock.advance(5);
    let real = device.clock.now();
    device.clock.set(real + DAY);
    session.get("visits", "v1").unwrap();
    device.clock.set(real);
    assert_eq!(session.get("visits", "v1"), Err(VaultError::ClockRollback));

    let nonce = session.renewal_nonce().unwrap();
    session.renew_grant(&renewal(&device, real, Some(nonce))).unwrap();
    assert_eq!(session.get("visits", "v1").unwrap().unwrap(), b"a");
    session.lock();
    assert_eq!(usable_minutes(&device, &vault, real + WINDOW), WINDOW / 60 - 1);
}

/// After the clock was once set a day ahead, a renewal with `nonce` (made
/// as the test says) is refused as expired: it repaired nothing.
fn repairs_nothing(device: &Device, vault: &PinVault, real: i64, nonce: Option<String>) {
    let grant = renewal(device, real, nonce);
    assert_eq!(vault.unlock_with_grant(PIN.into(), &grant).err(), Some(VaultError::GrantExpired));
}

#[test]
fn a_renewal_without_a_nonce_repairs_nothing() {
    let device = Device::new();
    let (vault, real) = clock_once_set_ahead(&device, DAY);
    repairs_nothing(&device, &vault, real, None);
}

#[test]
fn a_replayed_nonce_repairs_nothing() {
    let device = Device::new();
    let (vault, real) = clock_once_set_ahead(&device, DAY);
    let nonce = vault.renewal_nonce().unwrap();
    vault.unlock_with_grant(PIN.into(), &renewal(&device, real, Some(nonce.clone()))).unwrap().lock();
    // The clock is set ahead once more; a second grant with the same nonce,
    // still within the bound, is not fresh.
    device.clock.advance(10);
    let real = device.clock.now();
    device.clock.set(real + DAY);
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::GrantExpired));
    device.clock.set(real);
    repairs_nothing(&device, &vault, real, Some(nonce));
    // A new nonce does.
    let nonce = vault.renewal_nonce().unwrap();
    vault.unlock_with_grant(PIN.into(), &renewal(&device, real + 1, Some(nonce))).unwrap();
}

#[test]
fn a_nonce_from_before_a_reboot_repairs_nothing() {
    let device = Device::new();
    let (vault, _) = clock_once_set_ahead(&device, DAY);
    let nonce = vault.renewal_nonce().unwrap();
    device.clock.reboot(30);
    let real = device.clock.now();
    repairs_nothing(&device, &vault, real, Some(nonce));
}

#[test]
fn a_nonce_older_than_the_bound_repairs_nothing() {
    let device = Device::new();
    let (vault, _) = clock_once_set_ahead(&device, DAY);
    let nonce = vault.renewal_nonce().unwrap();
    // A grant fetched at once and withheld past the bound.
    let iat = device.clock.now();
    let grant = renewal(&device, iat, Some(nonce));
    device.clock.advance(i64::try_from(FRESH_RENEWAL_MAX_SECS).unwrap() + 1);
    assert_eq!(vault.unlock_with_grant(PIN.into(), &grant).err(), Some(VaultError::GrantExpired));
}

#[test]
fn a_grant_with_another_devices_nonce_repairs_nothing() {
    let device = Device::new();
    let (vault, real) = clock_once_set_ahead(&device, DAY);
    let other = Device::new();
    let (other_vault, _) = other.enrolled();
    let nonce = other_vault.renewal_nonce().unwrap();
    repairs_nothing(&device, &vault, real, Some(nonce));
}

#[test]
fn a_withheld_fresh_grant_gains_nothing() {
    // Honest clock; a fresh grant fetched now and presented 3 h later, clock
    // set back to its iat: refused as a rollback would be, no minute gained.
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.lock();
    device.clock.advance(5);
    let nonce = vault.renewal_nonce().unwrap();
    let iat = device.clock.now();
    let grant = device.backend.issuer.issue_renewal(
        USER,
        DEVICE,
        &["visits".to_owned()],
        iat,
        iat + 3 * HOUR + 60,
        Some(nonce),
    );
    device.clock.advance(3 * HOUR);
    device.clock.set(iat);
    let session = vault.unlock_with_grant(PIN.into(), &grant.unwrap()).unwrap();
    // Not fresh: the trusted time stays at real time (iat + 3 h), so one
    // minute of the window is left, not 3 h.
    device.clock.advance(61);
    device.clock.set(iat + 3 * HOUR + 61);
    assert_eq!(session.put("visits", "v", b"x".to_vec()), Err(VaultError::GrantExpired));
}

#[test]
fn the_async_nonce_is_as_fresh_as_the_blocking_one() {
    let device = Device::new();
    let (vault, real) = clock_once_set_ahead(&device, DAY);
    let nonce = block_on(vault.clone().renewal_nonce_async()).unwrap();
    let session = vault.unlock_with_grant(PIN.into(), &renewal(&device, real, Some(nonce))).unwrap();
    assert_eq!(session.get("visits", "v1").unwrap().unwrap(), b"a");
}
