//! Trusted time against an attacker who controls the wall clock, restarts
//! the device and writes old copies of the file back (docs/TIME.md).
//!
//! Each test plays one attack with nothing but the public API, the app's
//! files and a clock the attacker sets, and prints its figure: the minutes
//! of offline access after the grant's `exp`, the seconds of backoff
//! skipped, the state writes per hour of reading. "Real time" below is what
//! the test's device clock would say if nobody touched it.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::*;
use offline_auth::{OfflineSession, PinVault, VaultError, DEFAULT_CLOCK_ROLLBACK_TOLERANCE_SECS};
use offline_auth_backend::SyncCursor;
use rusqlite::Connection;

const TOLERANCE: i64 = DEFAULT_CLOCK_ROLLBACK_TOLERANCE_SECS as i64;
const MINUTE: i64 = 60;

/// Enrols with a one-hour grant issued at `T0`; returns the vault, the
/// session and the grant.
fn enrol_for_an_hour(device: &Device) -> (Arc<PinVault>, Arc<OfflineSession>, String) {
    let vault = device.open();
    let grant = device.backend.grant_for(USER, DEVICE, T0, T0 + HOUR);
    let session = vault.enroll(PIN.into(), &grant, device.backend.sync_key.clone()).unwrap();
    session.put("visits", "v1", b"first".to_vec()).unwrap();
    (vault, session, grant)
}

/// A read and a write: what the attacker wants to keep doing.
fn use_data(session: &OfflineSession, n: i64) -> bool {
    session.get("visits", "v1").is_ok() && session.put("visits", &format!("late-{n}"), b"x".to_vec()).is_ok()
}

fn minutes_after(exp: i64, last_access: Option<i64>) -> f64 {
    last_access.map_or(0.0, |at| (at - exp).max(0) as f64 / 60.0)
}

#[test]
fn creep_inside_one_session_gains_nothing_past_the_tolerance() {
    let device = Device::new();
    let (_vault, session, _) = enrol_for_an_hour(&device);
    let exp = T0 + HOUR;
    let (mut real, mut last_access) = (T0, None);
    // Every 4 minutes of real time, set the wall clock back 4 minutes (less
    // than the tolerance each time), for three days.
    for step in 0..(3 * DAY / 240) {
        device.clock.advance(240);
        real += 240;
        device.clock.set(device.clock.now() - 240);
        if use_data(&session, step) {
            last_access = Some(real);
        }
    }
    let extra = minutes_after(exp, last_access);
    println!("creep inside one session: {extra:.1} min of access after exp (bound {} min)", TOLERANCE / MINUTE);
    assert!(last_access.is_some(), "the honest part of the window worked");
    assert!(extra * 60.0 <= TOLERANCE as f64);
    assert_eq!(session.get("visits", "v1"), Err(VaultError::ClockRollback));
}

#[test]
fn creep_across_sessions_gains_nothing_past_the_tolerance() {
    let device = Device::new();
    let (vault, session, _) = enrol_for_an_hour(&device);
    session.enable_biometrics().unwrap();
    session.lock();
    drop(vault);
    let exp = T0 + HOUR;
    let (mut real, mut last_access, mut refused) = (T0, None, 0);
    // Short sessions, each in a fresh process: the wall clock set back 4
    // minutes before every unlock, 4 minutes of real time between them.
    for step in 0..(3 * HOUR / 240) {
        device.clock.advance(240);
        real += 240;
        device.clock.set(device.clock.now() - 240);
        let vault = device.open();
        match vault.unlock_with_biometrics() {
            Ok(session) => {
                if use_data(&session, step) {
                    last_access = Some(real);
                }
                session.lock();
            }
            Err(VaultError::ClockRollback | VaultError::GrantExpired) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    let extra = minutes_after(exp, last_access);
    println!("creep across sessions: {extra:.1} min of access after exp, {refused} unlocks refused");
    assert!(last_access.is_some());
    assert!(extra * 60.0 <= TOLERANCE as f64);
}

#[test]
fn a_rollback_after_read_only_sessions_is_caught() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.put("visits", "v1", b"first".to_vec()).unwrap();
    session.enable_biometrics().unwrap();
    session.lock();
    drop(vault);
    let mut opened_while_behind = 0;
    // Reads only, ten minutes apart, each unlock with the wall clock 50
    // minutes (ten times the tolerance) behind real time.
    for round in 0..10 {
        device.clock.advance(10 * MINUTE);
        let vault = device.open();
        if round > 0 {
            device.clock.set(device.clock.now() - 50 * MINUTE);
        }
        match vault.unlock_with_biometrics() {
            Ok(session) => {
                if round > 0 {
                    opened_while_behind += 1;
                }
                assert_eq!(session.get("visits", "v1").unwrap().unwrap(), b"first");
                session.lock();
            }
            Err(VaultError::ClockRollback) => {}
            Err(other) => panic!("round {round}: unexpected {other:?}"),
        }
        if round > 0 {
            device.clock.set(device.clock.now() + 50 * MINUTE);
        }
    }
    println!("read-only sessions with the clock 50 min back: {opened_while_behind} opened of 9");
    assert_eq!(opened_while_behind, 0);
    // The lock is persisted: the clock put right does not lift it.
    assert_eq!(device.open().unlock_with_biometrics().err(), Some(VaultError::ClockRollback));
}

#[test]
fn the_grant_in_force_presented_again_does_not_lift_a_rollback_lock() {
    let device = Device::new();
    let (vault, session, grant) = enrol_for_an_hour(&device);
    // Four minutes on (inside the idle timeout), the clock two minutes before enrolment.
    device.clock.advance(4 * MINUTE);
    device.clock.set(T0 - 2 * MINUTE);
    assert_eq!(session.get("visits", "v1"), Err(VaultError::ClockRollback));
    // The clock put right again; the lock holds until a newer grant, on
    // every path: the session's renewal and an unlock with a grant.
    device.clock.set(T0 + 4 * MINUTE);
    assert_eq!(session.renew_grant(&grant), Err(VaultError::ClockRollback));
    assert_eq!(session.get("visits", "v1"), Err(VaultError::ClockRollback));
    session.lock();
    assert_eq!(vault.unlock_with_grant(PIN.into(), &grant).err(), Some(VaultError::ClockRollback));
    // Not strictly newer: the same iat under another jti, or an older one.
    let same_iat = device.backend.grant_for(USER, DEVICE, T0, T0 + 2 * HOUR);
    let older = device.backend.grant_for(USER, DEVICE, T0 - HOUR, T0 + 2 * HOUR);
    for (what, grant) in [("same iat", same_iat), ("older", older)] {
        let refused = vault.unlock_with_grant(PIN.into(), &grant);
        assert!(matches!(refused, Err(VaultError::GrantInvalid { .. })), "{what}: {refused:?}");
    }
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::ClockRollback));
    // A strictly newer grant does.
    let newer = device.backend.grant_for(USER, DEVICE, T0 + 5 * MINUTE, T0 + 2 * HOUR);
    let session = vault.unlock_with_grant(PIN.into(), &newer).unwrap();
    assert_eq!(session.get("visits", "v1").unwrap().unwrap(), b"first");
}

#[test]
fn a_withheld_grant_presented_late_does_not_rewind_time() {
    let device = Device::new();
    let (vault, session, _) = enrol_for_an_hour(&device);
    // The attacker fetched a newer grant early and keeps it.
    let kept = device.backend.grant_for(USER, DEVICE, T0 + MINUTE, T0 + 2 * HOUR);
    session.lock();
    device.clock.advance(3 * HOUR);
    // Three hours later, with the wall clock at the kept grant's iat.
    device.clock.set(T0 + MINUTE);
    let outcome = vault.unlock_with_grant(PIN.into(), &kept);
    assert_eq!(outcome.err(), Some(VaultError::GrantExpired), "real time is past the kept grant's exp");
}

#[test]
fn backoff_waits_cannot_be_skipped_by_moving_the_clock_forward() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.lock();
    let (mut waited, mut expected, mut refused_after_jump) = (0u64, 0u64, 0);
    for attempt in 1..=9u32 {
        // Before every attempt, the wall clock jumps an hour ahead.
        device.clock.set(device.clock.now() + HOUR);
        match vault.unlock("000000".into()) {
            Err(VaultError::WrongPin { .. }) => {}
            Err(VaultError::LockedOut { retry_after_secs }) => {
                refused_after_jump += 1;
                expected += retry_after_secs;
                assert_eq!(vault.status().unwrap().retry_after_secs, retry_after_secs);
                device.clock.advance(retry_after_secs as i64);
                waited += retry_after_secs;
                assert!(matches!(vault.unlock("000000".into()), Err(VaultError::WrongPin { .. })), "{attempt}");
            }
            other => panic!("attempt {attempt}: {other:?}"),
        }
    }
    let full: u64 = [30, 60, 300, 900, 3600].iter().sum();
    let skipped = full.saturating_sub(waited);
    println!("backoff with the clock jumped 1 h before each attempt: {waited} s waited of {full}, {skipped} s skipped");
    assert_eq!((expected, skipped, refused_after_jump), (full, 0, 5));
}

#[test]
fn a_reboot_restarts_the_backoff_wait_in_full() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.lock();
    for _ in 0..4 {
        assert!(matches!(vault.unlock("000000".into()), Err(VaultError::WrongPin { .. })));
    }
    device.clock.advance(20);
    assert_eq!(vault.status().unwrap().retry_after_secs, 10);
    device.clock.reboot(5);
    assert_eq!(vault.status().unwrap().retry_after_secs, 30, "a new boot cannot tell how long it waited");
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::LockedOut { retry_after_secs: 30 }));
    device.clock.advance(29);
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::LockedOut { retry_after_secs: 1 }));
    device.clock.advance(1);
    vault.unlock(PIN.into()).unwrap();
}

/// The boots field of every operation the backend verifies.
fn verified_boots(device: &Device, session: &Arc<OfflineSession>) -> Vec<Option<u32>> {
    let batch = session.clone().sync_queue().next_batch(1000).unwrap().unwrap();
    let verifier = device.backend.verifier();
    let verified = verifier.verify(&batch.bytes, &device.backend.sync_key, &SyncCursor::initial()).unwrap();
    verified.operations.iter().map(|op| op.boots).collect()
}

#[test]
fn each_reboot_gains_at_most_its_own_duration_and_a_minute_and_is_counted() {
    let device = Device::new();
    let (vault, session, _) = enrol_for_an_hour(&device);
    session.enable_biometrics().unwrap();
    session.lock();
    drop(vault);
    let exp = T0 + HOUR;
    let reboot_secs = 60;
    let (mut real, mut last_access, mut reboots, mut n) = (T0, None, 0i64, 0);
    let mut reboots_before_last_access = 0;
    // Read every 30 s for 4 minutes, then restart the device (60 s) and set
    // the wall clock back to what it showed before the restart, so the
    // restart's minute never happened as far as the wall clock says; for
    // three hours. (Setting it back further is caught: the floor the vault
    // stored is ahead of it by more than the tolerance.)
    while real < T0 + 3 * HOUR {
        let vault = device.open();
        if let Ok(session) = vault.unlock_with_biometrics() {
            for _ in 0..8 {
                n += 1;
                if use_data(&session, n) {
                    last_access = Some(real);
                    reboots_before_last_access = reboots;
                }
                device.clock.advance(30);
                real += 30;
            }
            session.lock();
        } else {
            device.clock.advance(4 * MINUTE);
            real += 4 * MINUTE;
        }
        let wall_before = device.clock.now();
        device.clock.reboot(reboot_secs);
        real += reboot_secs;
        reboots += 1;
        device.clock.set(wall_before);
    }
    let extra = minutes_after(exp, last_access);
    // Each restart loses at most its own duration and the minute the
    // anchor may lag behind the last call.
    let bound = (reboots_before_last_access as f64) * (reboot_secs + MINUTE) as f64 / 60.0;
    println!(
        "reboot every 5 min: {extra:.1} min of access after exp, {reboots_before_last_access} reboots before the \
         last access (bound {bound:.0} min)"
    );
    assert!(extra <= bound);

    // The backend sees the reboots: boots grow along the queue.
    device.clock.set(real);
    let vault = device.open();
    let session =
        vault.unlock_with_grant(PIN.into(), &device.backend.grant_for(USER, DEVICE, real, real + HOUR)).unwrap();
    session.put("visits", "after", b"y".to_vec()).unwrap();
    let boots = verified_boots(&device, &session);
    assert_eq!(boots.first(), Some(&Some(0)), "the enrolment's boot");
    assert!(boots.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(boots.last().copied().flatten(), Some(u32::try_from(reboots).unwrap()));
}

/// The state cells of the vault row (sealed state and its binding).
fn state_cells(device: &Device) -> (Vec<u8>, Vec<u8>) {
    let db = Connection::open(device.path()).unwrap();
    db.query_row("SELECT state, state_mac FROM vault", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap()
}

fn write_state_cells(device: &Device, (state, mac): &(Vec<u8>, Vec<u8>)) {
    let db = Connection::open(device.path()).unwrap();
    db.execute("UPDATE vault SET state = ?1, state_mac = ?2", (state, mac)).unwrap();
}

fn record_rows(device: &Device) -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let db = Connection::open(device.path()).unwrap();
    let mut stmt = db.prepare("SELECT location, collection, body FROM records").unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

fn write_record_rows(device: &Device, rows: &[(Vec<u8>, Vec<u8>, Vec<u8>)]) {
    let db = Connection::open(device.path()).unwrap();
    for (location, collection, body) in rows {
        db.execute(
            "INSERT OR REPLACE INTO records (location, collection, body) VALUES (?1, ?2, ?3)",
            (location, collection, body),
        )
        .unwrap();
    }
}

#[test]
fn an_older_state_row_written_back_after_an_unlock_is_tampered() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.put("visits", "v1", b"first".to_vec()).unwrap();
    session.lock();
    let before_lock = state_cells(&device);

    // The rollback lock is set and stored; then the older state comes back.
    let session = vault.unlock(PIN.into()).unwrap();
    device.clock.set(T0 - HOUR);
    assert_eq!(session.get("visits", "v1"), Err(VaultError::ClockRollback));
    session.lock();
    device.clock.set(T0 + MINUTE);
    write_state_cells(&device, &before_lock);
    assert_eq!(device.open().unlock(PIN.into()).err(), Some(VaultError::Tampered));

    // Written back under an open session: its next call says so.
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.lock();
    let old = state_cells(&device);
    let session = vault.unlock(PIN.into()).unwrap();
    write_state_cells(&device, &old);
    assert_eq!(session.put("visits", "v2", b"x".to_vec()), Err(VaultError::Tampered));
}

#[test]
fn an_older_record_row_with_its_older_state_row_is_tampered() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.put("visits", "v1", b"old value".to_vec()).unwrap();
    session.lock();
    let (old_state, old_records) = (state_cells(&device), record_rows(&device));
    let session = vault.unlock(PIN.into()).unwrap();
    session.put("visits", "v1", b"new value".to_vec()).unwrap();
    session.lock();

    write_state_cells(&device, &old_state);
    write_record_rows(&device, &old_records);
    let outcome = device.open().unlock(PIN.into()).and_then(|s| s.get("visits", "v1"));
    assert_eq!(outcome, Err(VaultError::Tampered), "never the old value");
}

#[test]
fn a_copy_taken_while_unlocked_is_stale_once_the_session_locks() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.put("visits", "v1", b"first".to_vec()).unwrap();
    let during = state_cells(&device);
    device.clock.set(T0 - HOUR);
    assert_eq!(session.get("visits", "v1"), Err(VaultError::ClockRollback));
    session.lock();
    // The lock moved the device key: the copy from the open epoch is stale.
    write_state_cells(&device, &during);
    device.clock.set(T0 + MINUTE);
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::Tampered));
}

#[test]
fn keystore_calls_per_unlock_and_lock() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.enable_biometrics().unwrap();
    let calls = || device.keystore.calls.load(Ordering::SeqCst);
    let before = calls();
    session.lock();
    let lock = calls() - before;
    let before = calls();
    let session = vault.unlock(PIN.into()).unwrap();
    let pin_unlock = calls() - before;
    session.lock();
    let before = calls();
    vault.unlock_with_biometrics().unwrap();
    let bio_unlock = calls() - before;
    println!("keystore calls: PIN unlock {pin_unlock}, biometric unlock {bio_unlock}, lock {lock}");
    assert_eq!((pin_unlock, bio_unlock, lock), (3, 4, 3));
}

#[test]
fn an_hour_of_reading_stores_the_time_about_once_a_minute() {
    let device = Device::new();
    let (_vault, session) = device.enrolled();
    session.put("visits", "v1", b"first".to_vec()).unwrap();
    let mut last = state_cells(&device);
    let mut writes = 0;
    // One read every 10 s for an hour.
    for _ in 0..360 {
        device.clock.advance(10);
        session.get("visits", "v1").unwrap();
        let now = state_cells(&device);
        if now != last {
            writes += 1;
            last = now;
        }
    }
    println!("an hour of reading (360 reads): {writes} state writes");
    assert!((55..=61).contains(&writes), "{writes}");
}

/// A clock that can be made to lie: each field overrides one reading.
struct LyingClock {
    honest: Arc<TestClock>,
    lie: std::sync::Mutex<Lie>,
}

#[derive(Clone, Copy, Debug)]
enum Lie {
    None,
    Throws,
    EmptyBootId,
    HugeBootId,
    WallBefore1970,
    WallAfter9999,
    ElapsedCenturies,
    ElapsedBackwards,
}

impl offline_auth::Clock for LyingClock {
    fn now_unix_secs(&self) -> Result<i64, offline_auth::ClockError> {
        match *self.lie.lock().unwrap() {
            Lie::Throws => Err(offline_auth::ClockError::Unavailable { reason: "no time".into() }),
            Lie::WallBefore1970 => Ok(-5),
            Lie::WallAfter9999 => Ok(i64::MAX),
            _ => self.honest.now_unix_secs(),
        }
    }
    fn boot_id(&self) -> Result<String, offline_auth::ClockError> {
        match *self.lie.lock().unwrap() {
            Lie::EmptyBootId => Ok(String::new()),
            Lie::HugeBootId => Ok("b".repeat(10_000)),
            _ => self.honest.boot_id(),
        }
    }
    fn elapsed_since_boot_millis(&self) -> Result<u64, offline_auth::ClockError> {
        let honest = self.honest.elapsed_since_boot_millis()?;
        match *self.lie.lock().unwrap() {
            Lie::ElapsedCenturies => Ok(u64::MAX),
            // Behind the last call (a minute and a half ago) by half a minute.
            Lie::ElapsedBackwards => Ok(honest - 90_000),
            _ => Ok(honest),
        }
    }
}

#[test]
fn a_clock_that_throws_or_lies_gets_a_typed_error_and_no_access() {
    for lie in [
        Lie::Throws,
        Lie::EmptyBootId,
        Lie::HugeBootId,
        Lie::WallBefore1970,
        Lie::WallAfter9999,
        Lie::ElapsedCenturies,
        Lie::ElapsedBackwards,
    ] {
        let device = Device::new();
        let clock = Arc::new(LyingClock { honest: device.clock.clone(), lie: std::sync::Mutex::new(Lie::None) });
        let vault = PinVault::open_with_clock(
            device.path_str(),
            device.keystore.clone(),
            clock.clone(),
            device.backend.config(),
        )
        .unwrap();
        let grant = device.backend.grant(T0, 7);
        let session = vault.enroll(PIN.into(), &grant, device.backend.sync_key.clone()).unwrap();
        session.put("visits", "v1", b"first".to_vec()).unwrap();
        device.clock.advance(MINUTE);
        let before = std::fs::read(device.path()).unwrap();
        *clock.lie.lock().unwrap() = lie;
        let expected: &[&str] = match lie {
            Lie::ElapsedBackwards => &["ClockRollback"],
            _ => &["ClockUnavailable"],
        };
        let name = |r: Result<(), VaultError>| match r {
            Ok(()) => "Ok".to_owned(),
            Err(e) => format!("{e:?}").split([' ', '{', '(']).next().unwrap().to_owned(),
        };
        for (what, outcome) in [
            ("get", session.get("visits", "v1").map(|_| ())),
            ("put", session.put("visits", "v2", b"x".to_vec()).map(|_| ())),
            ("keys", session.keys("visits").map(|_| ())),
        ] {
            assert!(expected.contains(&name(outcome).as_str()), "{lie:?}: {what}");
        }
        if !matches!(lie, Lie::ElapsedBackwards) {
            assert_eq!(std::fs::read(device.path()).unwrap(), before, "{lie:?}: stored data changed");
            session.lock();
            let unlocked = vault.unlock(PIN.into()).err();
            assert!(matches!(unlocked, Some(VaultError::ClockUnavailable { .. })), "{lie:?}: {unlocked:?}");
            assert!(matches!(vault.status(), Err(VaultError::ClockUnavailable { .. })), "{lie:?}: status");
            assert_eq!(vault.is_enrolled(), Ok(true));
        } else {
            // Time going backwards within a boot is a rollback, and it is stored.
            session.lock();
            *clock.lie.lock().unwrap() = Lie::None;
            assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::ClockRollback), "{lie:?}");
        }
        assert_eq!(clock.honest.now(), T0 + MINUTE);
    }
}
