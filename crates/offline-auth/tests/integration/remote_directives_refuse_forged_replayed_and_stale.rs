//! Remote directives (issue 25, section 3), the hostile side: a directive
//! that is forged, malformed, for another device, replayed or older than the
//! last applied is refused with its own typed error and changes nothing; a
//! new one is applied once and reported once.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::*;
use offline_auth::{DirectiveAction, PinVault, SecurityEvent, SecurityEventListener, VaultError};
use offline_auth_backend::GrantIssuer;
use offline_auth_proto::directive::DirectiveAction as Wire;

#[derive(Default)]
struct Recorder(Mutex<Vec<SecurityEvent>>);

impl SecurityEventListener for Recorder {
    fn on_event(&self, event: SecurityEvent) {
        self.0.lock().unwrap().push(event);
    }
}

impl Recorder {
    fn on(vault: &PinVault) -> Arc<Self> {
        let recorder = Arc::new(Self::default());
        vault.set_security_event_listener(recorder.clone());
        recorder
    }
    fn take(&self) -> Vec<SecurityEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// The vault file's rows, to prove a refusal changed nothing.
fn snapshot(device: &Device) -> Vec<(String, Vec<Vec<rusqlite::types::Value>>)> {
    all_rows(&device.path())
}

fn is_invalid(result: Result<offline_auth::DirectiveOutcome, VaultError>) -> bool {
    matches!(result, Err(VaultError::DirectiveInvalid { .. }))
}

#[test]
fn a_forged_directive_is_refused_and_changes_nothing() {
    let device = Device::new();
    let (vault, _session) = device.enrolled();
    let before = snapshot(&device);
    // Another key under the trusted kid: the signature does not verify.
    let forger = GrantIssuer::generate("k1").unwrap();
    let forged = forger.issue_directive(DEVICE, Wire::Wipe, T0).unwrap();
    assert!(is_invalid(vault.apply_directive(&forged)));
    // A genuine directive with one claim changed (lock → wipe).
    let genuine = device.backend.issuer.issue_directive(DEVICE, Wire::LockUntilRenewal, T0).unwrap();
    let parts: Vec<&str> = genuine.split('.').collect();
    let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let edited = URL_SAFE_NO_PAD.encode(claims.replace("lock_until_renewal", "wipe"));
    assert!(is_invalid(vault.apply_directive(&format!("{}.{edited}.{}", parts[0], parts[2]))));
    // A grant is not a directive, however well signed.
    assert!(is_invalid(vault.apply_directive(&device.backend.grant(T0, 7))));
    assert_eq!(snapshot(&device), before);
    assert!(vault.unlock(PIN.into()).is_ok(), "nothing was wiped or locked");
}

#[test]
fn a_malformed_directive_is_refused_and_changes_nothing() {
    let device = Device::new();
    let (vault, _session) = device.enrolled();
    let before = snapshot(&device);
    let genuine = device.backend.issuer.issue_directive(DEVICE, Wire::Wipe, T0).unwrap();
    let malformed = [
        String::new(),
        "not a jws".to_owned(),
        "a.b".to_owned(),
        "a.b.c.d".to_owned(),
        genuine[..genuine.len() - 3].to_owned(),
        format!("{genuine}.extra"),
        "x".repeat(64 * 1024),
        genuine.replacen('.', "!.", 1),
    ];
    for token in malformed {
        assert!(is_invalid(vault.apply_directive(&token)));
    }
    assert_eq!(snapshot(&device), before);
    assert!(vault.applied_directives().unwrap().is_empty());
}

#[test]
fn a_directive_for_another_device_is_refused_and_changes_nothing() {
    let device = Device::new();
    let (vault, _session) = device.enrolled();
    let before = snapshot(&device);
    let other = device.backend.issuer.issue_directive("device-2", Wire::Wipe, T0).unwrap();
    assert_eq!(vault.apply_directive(&other).err(), Some(VaultError::DirectiveForAnotherDevice));
    assert_eq!(snapshot(&device), before);
}

#[test]
fn a_replayed_directive_is_applied_once_and_reported_once() {
    let device = Device::new();
    let (vault, _session) = device.enrolled();
    let events = Recorder::on(&vault);
    let token = device.backend.issuer.issue_directive(DEVICE, Wire::BiometricsOff, T0).unwrap();
    let outcome = vault.apply_directive(&token).unwrap();
    assert_eq!((outcome.action, outcome.finished), (DirectiveAction::BiometricsOff, true));
    assert_eq!(
        events.take(),
        vec![SecurityEvent::DirectiveApplied { action: DirectiveAction::BiometricsOff, jti: outcome.jti.clone() }]
    );
    let before = snapshot(&device);
    assert_eq!(vault.apply_directive(&token).err(), Some(VaultError::DirectiveReplayed));
    // Reopened, and after a wipe and a new enrolment: still a replay.
    let vault = device.open();
    assert_eq!(vault.apply_directive(&token).err(), Some(VaultError::DirectiveReplayed));
    assert_eq!(snapshot(&device), before);
    vault.wipe().unwrap();
    vault.enroll(PIN.into(), &device.backend.grant(T0, 7), device.backend.sync_key.clone()).unwrap();
    assert_eq!(vault.apply_directive(&token).err(), Some(VaultError::DirectiveReplayed));
    assert!(events.take().is_empty(), "the replays reported nothing");
    assert_eq!(vault.applied_directives().unwrap(), vec![outcome.jti]);
}

#[test]
fn a_directive_older_than_the_last_applied_is_refused() {
    let device = Device::new();
    let (vault, _session) = device.enrolled();
    let issuer = &device.backend.issuer;
    // Issued first, withheld, then played after a later one.
    let older = issuer.issue_directive(DEVICE, Wire::LockUntilRenewal, T0 + 10).unwrap();
    let newer = issuer.issue_directive(DEVICE, Wire::BiometricsOff, T0 + 20).unwrap();
    vault.apply_directive(&newer).unwrap();
    let before = snapshot(&device);
    assert_eq!(vault.apply_directive(&older).err(), Some(VaultError::DirectiveOutdated));
    assert_eq!(snapshot(&device), before);
    assert!(vault.unlock(PIN.into()).is_ok(), "the withheld lock was not applied");
    // Issued in the same second as the last applied: still new.
    let same_second = issuer.issue_directive(DEVICE, Wire::BiometricsOff, T0 + 20).unwrap();
    assert!(vault.apply_directive(&same_second).unwrap().finished);
}
