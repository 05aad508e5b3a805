//! Server time: the backend refuses entries stamped after its own clock
//! (plus the skew, `RejectReason::FromTheFuture`). A device whose clock ran
//! ahead used to hand out the same refused batch forever, with nothing the
//! app could act on. It now keeps the backend's time from its answers
//! (`PinVault::note_server_time`), uploads what the backend will take, and
//! says `ClockAhead` — by how much, and when the rest will be taken.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::sync::Arc;

use common::*;
use offline_auth::VaultError;
use offline_auth_backend::{BackendError, FixedServerClock, RejectReason, SyncCursor, SyncVerifier};

/// The backend, its clock at `now`.
fn backend_at(device: &Device, now: i64) -> Arc<SyncVerifier> {
    SyncVerifier::with_clock(vec![device.backend.issuer.issuer_key()], Arc::new(FixedServerClock(now))).unwrap()
}

#[test]
fn a_device_a_day_ahead_of_the_backend_is_told_so_and_uploads_what_it_can() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.put("visits", "on-time", b"a".to_vec()).unwrap();
    // The user sets the clock a day ahead; the next edit is stamped then.
    device.clock.advance(60);
    let real = device.clock.now();
    device.clock.set(real + DAY);
    session.put("visits", "ahead", b"b".to_vec()).unwrap();
    device.clock.set(real);
    let queue = session.clone().sync_queue();
    let backend = backend_at(&device, real);

    // Today's refusal: the whole batch, for the entry from the future.
    let everything = queue.next_batch(100).unwrap().unwrap();
    assert_eq!(everything.entry_count, 2, "before the backend's time is known, the queue cannot tell");
    let refused = backend.verify(&everything.bytes, &device.backend.sync_key, &SyncCursor::initial());
    assert!(
        matches!(refused, Err(BackendError::BatchRejected { kind: RejectReason::FromTheFuture, .. })),
        "{refused:?}"
    );

    // The backend's answer carries its time; the device keeps it.
    vault.note_server_time(real).unwrap();
    let batch = queue.next_batch(100).unwrap().unwrap();
    assert_eq!((batch.first_seq, batch.entry_count), (1, 1), "only what the backend will take");
    let verified = backend.verify(&batch.bytes, &device.backend.sync_key, &SyncCursor::initial()).unwrap();
    queue.acknowledge(verified.receipt).unwrap();

    match queue.next_batch(100) {
        Err(VaultError::ClockAhead { ahead_secs, retry_after_secs }) => {
            println!("clock ahead by {ahead_secs} s; the rest uploads in {retry_after_secs} s");
            assert!((DAY as u64 - 5..=DAY as u64).contains(&ahead_secs), "{ahead_secs}");
            assert!(retry_after_secs <= ahead_secs && retry_after_secs + 600 >= ahead_secs);
        }
        other => panic!("expected ClockAhead, got {other:?}"),
    }
    assert_eq!(queue.pending_count().unwrap(), 1, "nothing is dropped: it waits");

    // A restarted app still knows (the backend's time is stored), and once
    // the backend's clock reaches the entry it uploads.
    drop((queue, session, vault));
    let vault = device.open();
    let session = vault.unlock_with_grant(PIN.into(), &device.backend.grant(real + 5, 7)).unwrap();
    let queue = session.clone().sync_queue();
    assert!(matches!(queue.next_batch(100), Err(VaultError::ClockAhead { .. })), "the stored time");
    session.lock();
    device.clock.advance(DAY);
    vault.note_server_time(device.clock.now()).unwrap();
    let session = vault.unlock_with_grant(PIN.into(), &device.backend.grant(device.clock.now() - 60, 7)).unwrap();
    let queue = session.clone().sync_queue();
    let batch = queue.next_batch(100).unwrap().unwrap();
    let backend = backend_at(&device, device.clock.now());
    backend.verify(&batch.bytes, &device.backend.sync_key, &verified.cursor).unwrap();
}

#[test]
fn a_server_time_out_of_range_is_invalid_input_and_stores_nothing() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    session.put("visits", "v", b"a".to_vec()).unwrap();
    for bad in [-1, i64::MAX, 253_402_300_800] {
        assert!(matches!(vault.note_server_time(bad), Err(VaultError::InvalidInput { .. })), "{bad}");
    }
    assert_eq!(session.sync_queue().next_batch(100).unwrap().unwrap().entry_count, 1);
}
