//! Security events: every kind is reported where it happens, once, with its
//! fields and without a secret, on the caller's thread once the vault's
//! locks are released; a listener can neither deadlock nor break the vault.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Weak};
use std::thread::{self, ThreadId};
use std::time::Duration;

use common::{Device, DAY, PIN};
use offline_auth::{
    BiometricLoss, PinVault, SecurityEvent, SecurityEventListener, VaultConfig, VaultError, WipeReason,
};

const WRONG: &str = "000111";

/// Keeps every event with the thread it arrived on.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(SecurityEvent, ThreadId)>>,
}

impl SecurityEventListener for Recorder {
    fn on_event(&self, event: SecurityEvent) {
        self.seen.lock().unwrap().push((event, thread::current().id()));
    }
}

impl Recorder {
    fn on(vault: &PinVault) -> Arc<Self> {
        let recorder = Arc::new(Self::default());
        vault.set_security_event_listener(recorder.clone());
        recorder
    }
    /// The events so far (taken: the next call sees only newer ones).
    fn take(&self) -> Vec<SecurityEvent> {
        let events: Vec<_> = self.seen.lock().unwrap().drain(..).map(|(event, _)| event).collect();
        for event in &events {
            assert_no_secret(event);
        }
        events
    }
}

/// Neither form of the event shows a PIN tried in these tests.
fn assert_no_secret(event: &SecurityEvent) {
    for shown in [format!("{event:?}"), event.to_string()] {
        for pin in [PIN, WRONG] {
            assert!(!shown.contains(pin), "{shown} shows a PIN");
        }
    }
}

/// An enrolled device with its session locked and a recorder listening.
fn locked_with_recorder() -> (Device, Arc<PinVault>, Arc<Recorder>) {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.lock();
    let recorder = Recorder::on(&vault);
    (device, vault, recorder)
}

fn config_with_attempts(device: &Device, max_failed_attempts: u32) -> VaultConfig {
    device.backend.config().with_max_failed_attempts(max_failed_attempts)
}

#[test]
fn a_wrong_pin_reports_attempts_left_and_no_secret() {
    let (_device, vault, recorder) = locked_with_recorder();

    assert_eq!(vault.unlock(WRONG.into()).err(), Some(VaultError::WrongPin { attempts_remaining: 9 }));
    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(seen, vec![(SecurityEvent::WrongPin { attempts_remaining: 9 }, thread::current().id())]);
    recorder.take();

    // A right PIN, a status and a lock report nothing.
    vault.unlock(PIN.into()).unwrap().lock();
    vault.status().unwrap();
    assert_eq!(recorder.take(), vec![]);
}

#[test]
fn the_fourth_wrong_pin_starts_a_lockout_and_refused_attempts_report_nothing() {
    let (device, vault, recorder) = locked_with_recorder();

    for _ in 0..4 {
        assert!(matches!(vault.unlock(WRONG.into()), Err(VaultError::WrongPin { .. })));
    }
    assert_eq!(
        recorder.take(),
        vec![
            SecurityEvent::WrongPin { attempts_remaining: 9 },
            SecurityEvent::WrongPin { attempts_remaining: 8 },
            SecurityEvent::WrongPin { attempts_remaining: 7 },
            SecurityEvent::WrongPin { attempts_remaining: 6 },
            SecurityEvent::LockedOut { failed_attempts: 4, retry_after_secs: 30 },
        ]
    );
    // Refused during the wait: no attempt counted, no event.
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::LockedOut { retry_after_secs: 30 }));
    assert_eq!(recorder.take(), vec![]);

    // A reboot restarts the wait in full, durably: that is a new lockout.
    device.clock.reboot(60);
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::LockedOut { retry_after_secs: 30 }));
    assert_eq!(recorder.take(), vec![SecurityEvent::LockedOut { failed_attempts: 4, retry_after_secs: 30 }]);
}

#[test]
fn reaching_the_attempt_limit_reports_an_automatic_wipe_after_it_is_committed() {
    let device = Device::new();
    let vault = device.open_with(config_with_attempts(&device, 2)).unwrap();
    vault.enroll(PIN.into(), &device.backend.grant(device.clock.now(), 7), device.backend.sync_key.clone()).unwrap();
    // The listener looks at the vault when told: the wipe is already there.
    let status_at_event = Arc::new(Mutex::new(Vec::new()));
    let listener = Arc::new(StatusProbe { vault: Arc::downgrade(&vault), seen: status_at_event.clone() });
    vault.set_security_event_listener(listener);

    assert_eq!(vault.unlock(WRONG.into()).err(), Some(VaultError::WrongPin { attempts_remaining: 1 }));
    assert_eq!(vault.unlock(WRONG.into()).err(), Some(VaultError::Wiped));
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::Wiped), "no second wipe event");
    let seen = status_at_event.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            (SecurityEvent::WrongPin { attempts_remaining: 1 }, false),
            (SecurityEvent::Wiped { reason: WipeReason::AttemptLimit }, true),
        ]
    );
}

/// Records each event with whether `status()` (called from inside the
/// listener) already shows the vault wiped.
struct StatusProbe {
    vault: Weak<PinVault>,
    seen: Arc<Mutex<Vec<(SecurityEvent, bool)>>>,
}

impl SecurityEventListener for StatusProbe {
    fn on_event(&self, event: SecurityEvent) {
        let wiped = self.vault.upgrade().unwrap().status().unwrap().wiped;
        self.seen.lock().unwrap().push((event, wiped));
    }
}

#[test]
fn an_explicit_wipe_is_reported_once() {
    let device = Device::new();
    let (vault, _session) = device.enrolled();
    let recorder = Recorder::on(&vault);
    vault.wipe().unwrap();
    vault.wipe().unwrap();
    assert_eq!(recorder.take(), vec![SecurityEvent::Wiped { reason: WipeReason::Requested }]);
}

#[test]
fn a_clock_set_back_in_a_session_reports_one_rollback() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    let recorder = Recorder::on(&vault);
    session.put("visits", "v1", b"seal ok".to_vec()).unwrap();

    device.clock.set(device.clock.now() - DAY);
    assert_eq!(session.get("visits", "v1"), Err(VaultError::ClockRollback));
    assert_eq!(recorder.take(), vec![SecurityEvent::ClockRollback]);
    // Every later refusal, and an unlock under the lock, is the same rollback.
    assert_eq!(session.get("visits", "v1"), Err(VaultError::ClockRollback));
    session.lock();
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::ClockRollback));
    assert_eq!(recorder.take(), vec![]);
}

#[test]
fn a_clock_set_back_between_sessions_is_reported_by_the_unlock() {
    let (device, vault, recorder) = locked_with_recorder();
    device.clock.set(device.clock.now() - DAY);
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::ClockRollback));
    assert_eq!(recorder.take(), vec![SecurityEvent::ClockRollback]);
}

#[test]
fn tampered_records_report_the_operation_that_found_them() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.put("visits", "v1", b"seal ok".to_vec()).unwrap();
    let recorder = Recorder::on(&vault);

    let db = rusqlite::Connection::open(device.path()).unwrap();
    let mut body: Vec<u8> = db.query_row("SELECT body FROM records", [], |r| r.get(0)).unwrap();
    let last = body.len() - 1;
    body[last] ^= 1;
    db.execute("UPDATE records SET body = ?1", [&body]).unwrap();

    assert_eq!(session.get("visits", "v1"), Err(VaultError::Tampered));
    let events = recorder.take();
    assert_eq!(events, vec![SecurityEvent::Tampered { operation: "get".into() }]);
    assert!(!format!("{events:?}").contains("seal ok"), "no record contents");
}

/// Enables biometrics, lets the keystore break the biometric key (`flag`),
/// and unlocks with biometrics twice: the events and whether they stay on.
fn break_biometrics(flag: impl Fn(&common::TestKeystore) -> &AtomicBool) -> (Vec<SecurityEvent>, bool) {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.enable_biometrics().unwrap();
    let recorder = Recorder::on(&vault);
    flag(&device.keystore).store(true, Ordering::SeqCst);
    assert_eq!(vault.unlock_with_biometrics().err(), Some(VaultError::BiometricsInvalidated));
    assert_eq!(vault.unlock_with_biometrics().err(), Some(VaultError::BiometricsUnavailable));
    (recorder.take(), vault.status().unwrap().biometrics_enabled)
}

#[test]
fn an_invalidated_biometric_key_is_reported_once_and_turns_biometrics_off() {
    let (events, still_on) = break_biometrics(|keystore| &keystore.bio_invalidated);
    assert_eq!(events, vec![SecurityEvent::BiometricsInvalidated { reason: BiometricLoss::Invalidated }]);
    assert!(!still_on);
}

#[test]
fn a_lost_biometric_key_is_reported_once_as_missing() {
    let (events, still_on) = break_biometrics(|keystore| &keystore.bio_lost);
    assert_eq!(events, vec![SecurityEvent::BiometricsInvalidated { reason: BiometricLoss::KeyMissing }]);
    assert!(!still_on);
}

/// On the lockout it is told of, wipes the vault from inside the listener:
/// that takes the attempt gate the reporting call held while counting.
struct WipeOnLockout {
    vault: Weak<PinVault>,
    seen: Mutex<Vec<SecurityEvent>>,
}

impl SecurityEventListener for WipeOnLockout {
    fn on_event(&self, event: SecurityEvent) {
        let lockout = matches!(event, SecurityEvent::LockedOut { .. });
        self.seen.lock().unwrap().push(event);
        if lockout {
            let vault = self.vault.upgrade().unwrap();
            vault.status().unwrap();
            vault.wipe().unwrap();
        }
    }
}

#[test]
fn a_listener_that_calls_back_into_the_vault_does_not_deadlock() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.lock();
    let listener = Arc::new(WipeOnLockout { vault: Arc::downgrade(&vault), seen: Mutex::new(Vec::new()) });
    vault.set_security_event_listener(listener.clone());

    // On another thread, so that a deadlock fails the test instead of hanging it.
    let (done, finished) = mpsc::channel();
    let worker_vault = vault.clone();
    thread::spawn(move || {
        let results: Vec<_> = (0..4).map(|_| worker_vault.unlock(WRONG.into()).err()).collect();
        done.send(results).unwrap();
    });
    let results = finished.recv_timeout(Duration::from_secs(300)).expect("the vault deadlocked");
    assert_eq!(results[3], Some(VaultError::WrongPin { attempts_remaining: 6 }), "the call's own result");
    assert_eq!(
        listener.seen.lock().unwrap()[3..],
        [
            SecurityEvent::WrongPin { attempts_remaining: 6 },
            SecurityEvent::LockedOut { failed_attempts: 4, retry_after_secs: 30 },
            SecurityEvent::Wiped { reason: WipeReason::Requested },
        ]
    );
    assert!(vault.status().unwrap().wiped);
}

#[test]
fn an_async_unlock_reports_on_its_worker_thread_before_its_future_resolves() {
    let (_device, vault, recorder) = locked_with_recorder();
    let outcome = common::block_on(vault.clone().unlock_async(WRONG.into()));
    assert_eq!(outcome.err(), Some(VaultError::WrongPin { attempts_remaining: 9 }));
    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "delivered before the result");
    assert_eq!(seen[0].0, SecurityEvent::WrongPin { attempts_remaining: 9 });
    assert_ne!(seen[0].1, thread::current().id(), "on the call's own thread, not the caller's");
}

struct Panicking;

impl SecurityEventListener for Panicking {
    fn on_event(&self, event: SecurityEvent) {
        panic!("listener failed on {event}");
    }
}

#[test]
fn a_panicking_listener_changes_no_result_and_poisons_nothing() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.lock();
    vault.set_security_event_listener(Arc::new(Panicking));

    assert_eq!(vault.unlock(WRONG.into()).err(), Some(VaultError::WrongPin { attempts_remaining: 9 }));
    let session = vault.unlock(PIN.into()).unwrap();
    session.put("visits", "v1", b"after".to_vec()).unwrap();
    session.lock();
    // The listener can be replaced and the next event arrives.
    let recorder = Recorder::on(&vault);
    assert!(vault.unlock(WRONG.into()).is_err());
    assert_eq!(recorder.take(), vec![SecurityEvent::WrongPin { attempts_remaining: 9 }]);
    vault.clear_security_event_listener();
    assert!(vault.unlock(WRONG.into()).is_err());
    assert_eq!(recorder.take(), vec![]);
}
