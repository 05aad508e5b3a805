//! Remote directives (issue 25, section 3), what they do: lock until an
//! online renewal issued after them, biometrics off (its key deleted), and
//! a wipe that loses no edit (it waits for the upload, or runs at once when
//! every pending edit is escrowed); a directive recorded and then cut short
//! (a kill at the seam, a failing keystore) is finished at the next open.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::*;
use offline_auth::{DirectiveAction, VaultError};
use offline_auth_backend::{generate_escrow_key, SalvageOpener, StaticEscrowKeys, SyncCursor};
use offline_auth_proto::directive::DirectiveAction as Wire;

#[test]
fn lock_until_renewal_refuses_offline_unlock_until_a_renewal_issued_after_it() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.enable_biometrics().unwrap();
    session.lock();
    let lock = device.backend.issuer.issue_directive(DEVICE, Wire::LockUntilRenewal, T0 + 60).unwrap();
    let outcome = vault.apply_directive(&lock).unwrap();
    assert_eq!((outcome.action, outcome.finished), (DirectiveAction::LockUntilRenewal, true));
    device.clock.advance(120);

    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::LockedUntilRenewal));
    assert_eq!(vault.unlock_with_biometrics().err(), Some(VaultError::LockedUntilRenewal));
    // A grant issued before the directive (withheld, played now) lifts nothing.
    let withheld = device.backend.grant(T0 + 30, 7);
    assert_eq!(vault.unlock_with_grant(PIN.into(), &withheld).err(), Some(VaultError::LockedUntilRenewal));
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::LockedUntilRenewal));
    // The online renewal after it does; then offline unlock works again.
    vault.unlock_with_grant(PIN.into(), &device.backend.grant(T0 + 90, 7)).unwrap().lock();
    vault.unlock(PIN.into()).unwrap().lock();
    assert!(vault.unlock_with_biometrics().is_ok());
    assert_eq!(vault.status().unwrap().failed_attempts, 0, "the refusals counted no wrong PIN");
}

#[test]
fn a_lock_is_lifted_by_renewing_an_open_session_with_a_later_grant() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    let lock = device.backend.issuer.issue_directive(DEVICE, Wire::LockUntilRenewal, T0 + 10).unwrap();
    vault.apply_directive(&lock).unwrap();
    device.clock.advance(60);
    session.renew_grant(&device.backend.grant(T0 + 20, 7)).unwrap();
    session.lock();
    assert!(vault.unlock(PIN.into()).is_ok());
}

#[test]
fn biometrics_off_turns_biometric_unlock_off_and_deletes_its_key() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.enable_biometrics().unwrap();
    let keys_before = device.keystore.inner.key_count();
    let off = device.backend.issuer.issue_directive(DEVICE, Wire::BiometricsOff, T0).unwrap();
    assert!(vault.apply_directive(&off).unwrap().finished);
    assert!(!vault.status().unwrap().biometrics_enabled);
    assert_eq!(device.keystore.inner.key_count(), keys_before - 1, "the biometric key is deleted");
    assert_eq!(vault.unlock_with_biometrics().err(), Some(VaultError::BiometricsUnavailable));
    assert!(vault.unlock(PIN.into()).is_ok(), "the PIN still works");
}

#[test]
fn a_wipe_recorded_before_a_kill_finishes_at_the_next_open() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    drop((session, vault));
    // What a kill right after the intent's commit leaves: the row, nothing done.
    let db = rusqlite::Connection::open(device.path()).unwrap();
    db.execute("INSERT INTO directives (jti, iat, action, state) VALUES ('j-kill', ?1, 'wipe', 'pending')", [T0])
        .unwrap();
    drop(db);
    assert!(device.keystore.inner.key_count() > 0);

    let vault = device.open();
    let status = vault.status().unwrap();
    assert!(status.wiped && !status.enrolled, "finished at open");
    assert_eq!(device.keystore.inner.key_count(), 0, "its keys are deleted");
    assert_eq!(vault.applied_directives().unwrap(), vec!["j-kill".to_owned()]);
    assert_eq!(vault.unlock(PIN.into()).err(), Some(VaultError::Wiped));
}

#[test]
fn a_directive_cut_short_by_a_failing_keystore_finishes_at_the_next_open() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.enable_biometrics().unwrap();
    let keys_before = device.keystore.inner.key_count();
    device.keystore.fail_delete.store(true, Ordering::SeqCst);
    let off = device.backend.issuer.issue_directive(DEVICE, Wire::BiometricsOff, T0).unwrap();
    assert!(matches!(vault.apply_directive(&off), Err(VaultError::Keystore { .. })));
    assert!(vault.applied_directives().unwrap().is_empty(), "recorded, not done");
    assert_eq!(device.keystore.inner.key_count(), keys_before);

    device.keystore.fail_delete.store(false, Ordering::SeqCst);
    drop((session, vault));
    let vault = device.open();
    assert_eq!(vault.applied_directives().unwrap().len(), 1, "finished at open");
    assert_eq!(device.keystore.inner.key_count(), keys_before - 1);
    assert!(!vault.status().unwrap().biometrics_enabled);
    assert_eq!(vault.apply_directive(&off).err(), Some(VaultError::DirectiveReplayed));
}

#[test]
fn a_wipe_with_unescrowed_edits_waits_for_their_upload_and_loses_none() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    for i in 0..3 {
        session.put("visits", &format!("v{i}"), b"field work".to_vec()).unwrap();
    }
    let wipe = device.backend.issuer.issue_directive(DEVICE, Wire::Wipe, T0).unwrap();
    let outcome = vault.apply_directive(&wipe).unwrap();
    assert_eq!((outcome.action, outcome.finished), (DirectiveAction::Wipe, false));
    assert!(vault.status().unwrap().enrolled, "nothing is wiped while an edit would be lost");
    // Delivered again before the upload: still waiting, not a replay.
    assert!(!vault.apply_directive(&wipe).unwrap().finished);

    let (verifier, mut cursor, mut applied) = (device.backend.verifier(), SyncCursor::initial(), Vec::new());
    let queue = session.clone().sync_queue();
    while let Some(batch) = queue.next_batch(2).unwrap() {
        let verified = verifier.verify(&batch.bytes, &device.backend.sync_key, &cursor).unwrap().into_owned();
        applied.extend(verified.operations.iter().map(|op| op.key.clone()));
        cursor = verified.cursor;
        queue.acknowledge(verified.receipt).unwrap();
    }
    assert_eq!(applied, ["v0", "v1", "v2"]);
    assert!(vault.apply_directive(&wipe).unwrap().finished);
    let status = vault.status().unwrap();
    assert!(status.wiped && !status.enrolled);
    assert_eq!(vault.applied_directives().unwrap(), vec![outcome.jti]);
}

#[test]
fn a_wipe_with_escrowed_edits_runs_at_once_and_salvage_delivers_every_edit() {
    let device = Device::new();
    let (line, public) = generate_escrow_key("escrow-2026").unwrap();
    let signed_key = device.backend.issuer.sign_escrow_key(&public, T0).unwrap();
    let config = device.backend.config().with_escrow_key(signed_key);
    let vault = device.open_with(config).unwrap();
    let session = vault.enroll(PIN.into(), &device.backend.grant(T0, 7), device.backend.sync_key.clone()).unwrap();
    for i in 0..3 {
        session.put("visits", &format!("v{i}"), b"field work".to_vec()).unwrap();
    }
    let wipe = device.backend.issuer.issue_directive(DEVICE, Wire::Wipe, T0).unwrap();
    assert!(vault.apply_directive(&wipe).unwrap().finished, "every pending edit has an escrowed copy");
    assert!(vault.status().unwrap().wiped);
    assert_eq!(session.get("visits", "v0").err(), Some(VaultError::Wiped));

    let keys = Arc::new(StaticEscrowKeys::from_text(&line).unwrap());
    let opener = SalvageOpener::new(device.backend.verifier(), keys);
    let upload = vault.salvage(100).unwrap().unwrap();
    let verified = opener.verify(&upload.bytes, &device.backend.sync_key, &SyncCursor::initial(), &[]).unwrap();
    let delivered: Vec<String> = verified.operations.iter().map(|op| op.key.clone()).collect();
    assert_eq!(delivered, ["v0", "v1", "v2"]);
}
