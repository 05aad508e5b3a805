//! Time: a clock set back is caught, forward moves expire the window, and
//! renewal reopens it.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use common::*;
use offline_auth::VaultError;

#[test]
fn rollback_beyond_tolerance_locks_until_renewal() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.put("visits", "v1", b"a".to_vec()).unwrap();
    session.lock();

    // Back by 4 minutes: within the 5-minute tolerance.
    device.clock.set(T0 - 240);
    vault.unlock(PIN.into()).unwrap().lock();
    // Back by 10 minutes: caught.
    device.clock.set(T0 - 600);
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::ClockRollback));
    assert_eq!(vault.status().unwrap().failed_attempts, 0, "the PIN was right");
    // Putting the clock right again does not lift the lock: it is persisted.
    device.clock.set(T0 + 60);
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::ClockRollback));
    drop(vault);
    let vault = device.open();
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::ClockRollback));
    assert!(matches!(vault.unlock_with_biometrics(), Err(VaultError::BiometricsUnavailable)));

    // An online renewal lifts it.
    let session = vault.unlock_with_grant(PIN.into(), &device.backend.grant(T0 + 60, 7)).unwrap();
    assert_eq!(session.get("visits", "v1").unwrap().unwrap(), b"a");
    session.lock();
    vault.unlock(PIN.into()).unwrap();
}

#[test]
fn rollback_during_a_session_is_caught_and_persisted() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    device.clock.set(T0 + 2 * HOUR);
    session.put("visits", "v1", b"a".to_vec()).unwrap();
    device.clock.set(T0 + HOUR);
    assert_eq!(session.put("visits", "v2", b"b".to_vec()), Err(VaultError::ClockRollback));
    assert_eq!(session.get("visits", "v1"), Err(VaultError::ClockRollback));
    device.clock.set(T0 + 3 * HOUR);
    assert_eq!(session.get("visits", "v1"), Err(VaultError::ClockRollback), "stays locked");
    // Sync still works, so the device can go online and recover.
    assert_eq!(session.clone().sync_queue().pending_count().unwrap(), 1);
    session.lock();
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::ClockRollback));
}

#[test]
fn forward_is_fine_and_trusted_time_only_grows() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    device.clock.advance(3 * DAY);
    session.lock();
    let session = vault.unlock(PIN.into()).unwrap();
    session.put("visits", "v1", b"a".to_vec()).unwrap();
    // Back to two days after enrolment: more than the tolerance behind the trusted time.
    device.clock.set(T0 + 2 * DAY);
    assert_eq!(session.get("visits", "v1"), Err(VaultError::ClockRollback));
}

#[test]
fn an_expired_grant_never_yields_a_session() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.put("visits", "v1", b"a".to_vec()).unwrap();
    assert_eq!(session.expires_at().unwrap(), T0 + 7 * DAY);

    // The window ends while the session is open (wall clock only: the
    // monotonic clock stays, so the idle timeout does not interfere).
    device.clock.set(T0 + 7 * DAY);
    assert_eq!(session.put("visits", "v2", b"b".to_vec()), Err(VaultError::GrantExpired));
    assert_eq!(session.get("visits", "v1"), Err(VaultError::GrantExpired));
    session.lock();

    device.clock.advance(HOUR);
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::GrantExpired));
    assert_eq!(vault.status().unwrap().failed_attempts, 0, "the PIN was still proven");
    // Turning the clock back into the window is a rollback, not a way in.
    device.clock.set(T0 + DAY);
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::ClockRollback));

    // A renewal signed before the old one is refused; a fresh one works.
    device.clock.set(T0 + 7 * DAY + 2 * HOUR);
    let stale = device.backend.grant(T0 - DAY, 30);
    assert!(matches!(vault.unlock_with_grant(PIN.into(), &stale), Err(VaultError::GrantInvalid { .. })));
    let fresh = device.backend.grant(T0 + 7 * DAY + 2 * HOUR, 7);
    let session = vault.unlock_with_grant(PIN.into(), &fresh).unwrap();
    assert_eq!(session.get("visits", "v1").unwrap().unwrap(), b"a");
}

#[test]
fn renew_grant_in_a_session_extends_the_window() {
    let device = Device::new();
    let (_vault, session) = device.enrolled();
    device.clock.set(T0 + 6 * DAY);
    session.renew_grant(&device.backend.grant(device.clock.now(), 7)).unwrap();
    assert_eq!(session.expires_at().unwrap(), T0 + 13 * DAY);
    device.clock.set(T0 + 8 * DAY);
    session.put("visits", "v1", b"a".to_vec()).unwrap();

    let other_user = device.backend.grant_for("someone-else", DEVICE, device.clock.now(), device.clock.now() + DAY);
    assert!(matches!(session.renew_grant(&other_user), Err(VaultError::GrantInvalid { .. })));
    let other_device = device.backend.grant_for(USER, "device-2", device.clock.now(), device.clock.now() + DAY);
    assert!(matches!(session.renew_grant(&other_device), Err(VaultError::GrantInvalid { .. })));
    assert_eq!(session.expires_at().unwrap(), T0 + 13 * DAY);
}
