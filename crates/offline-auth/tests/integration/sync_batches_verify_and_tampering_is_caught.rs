//! The sync queue and the backend's verifier: seq +1, batches that verify,
//! and every way a batch can be replayed, reordered, cut or altered is
//! caught.
//!
//! The batch is decoded here with the documented format (magic `OASB`, then
//! postcard of `V2 { device_id, grants, entries }`, each entry tagged with its
//! own version, `V2 { body, mac }`), independently of the crate's own types,
//! so the test also pins the wire format.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use crate::common;

use common::wire::*;
use common::*;
use offline_auth::{OfflineSession, VaultError};
use offline_auth_backend::{BackendError, SyncCursor, SyncVerifier, VerifiedBatch, VerifiedBatchRef};
use std::sync::Arc;

fn verifier(device: &Device) -> Arc<SyncVerifier> {
    device.backend.verifier()
}

fn verify(device: &Device, bytes: &[u8], cursor: SyncCursor) -> Result<VerifiedBatch, BackendError> {
    verifier(device).verify(bytes, &device.backend.sync_key, &cursor).map(VerifiedBatchRef::into_owned)
}

fn three_edits(session: &Arc<OfflineSession>) {
    assert_eq!(session.put("visits", "v1", b"first".to_vec()).unwrap(), 1);
    assert_eq!(session.put("notes", "n1", b"second".to_vec()).unwrap(), 2);
    assert_eq!(session.delete("visits", "v1").unwrap(), 3);
}

fn assert_rejected<T: std::fmt::Debug>(result: Result<T, BackendError>, what: &str) {
    assert!(matches!(result, Err(BackendError::BatchRejected { .. })), "{what}: {result:?}");
}

#[test]
fn edits_become_a_batch_that_verifies() {
    let device = Device::new();
    let (_vault, session) = device.enrolled();
    three_edits(&session);
    let queue = session.clone().sync_queue();
    assert_eq!(queue.pending_count().unwrap(), 3);
    let batch = queue.next_batch(100).unwrap().unwrap();
    assert_eq!((batch.first_seq, batch.last_seq, batch.entry_count), (1, 3, 3));

    let verified = verify(&device, &batch.bytes, SyncCursor::initial()).unwrap();
    assert_eq!(verified.device_id, DEVICE);
    assert_eq!(verified.user_id, USER);
    assert_eq!(verified.duplicates, 0);
    let ops: Vec<_> =
        verified.operations.iter().map(|o| (o.seq, o.collection.as_str(), o.key.as_str(), o.value.clone())).collect();
    assert_eq!(
        ops,
        [
            (1, "visits", "v1", Some(b"first".to_vec())),
            (2, "notes", "n1", Some(b"second".to_vec())),
            (3, "visits", "v1", None)
        ]
    );
    assert_eq!(verified.cursor.last_seq, 3);
    let mut decoded = decode(&batch.bytes);
    assert_eq!(verified.cursor.last_mac, entries(&mut decoded)[2].mac.to_vec());
    // The MAC is exactly the documented construction.
    let e = &entries(&mut decoded)[0];
    assert_eq!(chain_mac(&device.backend.sync_key, &[0; 32], &e.body), e.mac);
}

#[test]
fn replays_are_reported_as_duplicates_and_not_reapplied() {
    let device = Device::new();
    let (_vault, session) = device.enrolled();
    three_edits(&session);
    let queue = session.clone().sync_queue();
    let batch = queue.next_batch(2).unwrap().unwrap();
    assert_eq!(batch.last_seq, 2);
    let first = verify(&device, &batch.bytes, SyncCursor::initial()).unwrap();
    let replay = verify(&device, &batch.bytes, first.cursor.clone()).unwrap();
    assert!(replay.operations.is_empty());
    assert_eq!(replay.duplicates, 2);
    assert_eq!(replay.cursor, first.cursor);

    // Not acknowledged (say the reply was lost): the next batch repeats 1..2 and adds 3.
    let again = queue.next_batch(100).unwrap().unwrap();
    assert_eq!((again.first_seq, again.last_seq), (1, 3));
    let second = verify(&device, &again.bytes, first.cursor.clone()).unwrap();
    assert_eq!(second.duplicates, 2);
    assert_eq!(second.operations.iter().map(|o| o.seq).collect::<Vec<_>>(), [3]);

    // An old entry altered inside a replayed batch is refused, though it would never be applied.
    let mut altered = decode(&again.bytes);
    if let Op::Put { value, .. } = &mut entries(&mut altered)[1].body.op {
        value[0] ^= 1;
    }
    assert_rejected(verify(&device, &encode(&altered), second.cursor.clone()), "altered replayed entry");
    assert_eq!(verify(&device, &again.bytes, second.cursor.clone()).unwrap().duplicates, 3);

    // A replay that does not match what was applied at the cursor is refused.
    let forged = SyncCursor { last_seq: 2, last_mac: vec![9; 32] };
    assert_rejected(verify(&device, &again.bytes, forged), "cursor MAC mismatch");
}

#[test]
fn reordered_cut_or_altered_batches_are_rejected() {
    let device = Device::new();
    let (_vault, session) = device.enrolled();
    three_edits(&session);
    let batch = session.clone().sync_queue().next_batch(100).unwrap().unwrap();
    let original = decode(&batch.bytes);

    let mut reordered = original.clone();
    entries(&mut reordered).swap(0, 1);
    assert_rejected(verify(&device, &encode(&reordered), SyncCursor::initial()), "reordered");

    let mut cut = original.clone();
    entries(&mut cut).remove(1);
    assert_rejected(verify(&device, &encode(&cut), SyncCursor::initial()), "middle entry dropped");

    let mut renumbered = original.clone();
    entries(&mut renumbered).remove(1);
    entries(&mut renumbered)[1].body.seq = 2;
    assert_rejected(verify(&device, &encode(&renumbered), SyncCursor::initial()), "dropped and renumbered");

    let mut altered = original.clone();
    if let Op::Put { value, .. } = &mut entries(&mut altered)[0].body.op {
        value[0] ^= 1;
    }
    assert_rejected(verify(&device, &encode(&altered), SyncCursor::initial()), "value altered");

    let mut retimed = original.clone();
    entries(&mut retimed)[2].body.time += 1;
    assert_rejected(verify(&device, &encode(&retimed), SyncCursor::initial()), "time altered");

    let mut late_start = original.clone();
    entries(&mut late_start).remove(0);
    assert_rejected(verify(&device, &encode(&late_start), SyncCursor::initial()), "gap after the cursor");

    let wrong_key = verifier(&device).verify(&batch.bytes, &[0x11; 32], &SyncCursor::initial());
    assert_rejected(wrong_key, "another device's sync key");

    // Every single-byte flip anywhere in the batch is refused.
    for i in 0..batch.bytes.len() {
        let mut bytes = batch.bytes.clone();
        bytes[i] ^= 0x01;
        assert!(verify(&device, &bytes, SyncCursor::initial()).is_err(), "flip at byte {i} accepted");
    }
    for len in 0..batch.bytes.len() {
        assert!(verify(&device, &batch.bytes[..len], SyncCursor::initial()).is_err(), "truncated to {len}");
    }
}

#[test]
fn verifier_enforces_grant_window_and_scope_even_with_a_valid_chain() {
    let device = Device::new();
    let (_vault, session) = device.enrolled();
    session.put("visits", "v1", b"x".to_vec()).unwrap();
    let batch = session.clone().sync_queue().next_batch(100).unwrap().unwrap();
    let original = decode(&batch.bytes);
    let key = device.backend.sync_key.clone();

    // Someone holding the sync key re-MACs an edit outside the scope…
    let mut out_of_scope = original.clone();
    let entry = &mut entries(&mut out_of_scope)[0];
    entry.body.op = Op::Put { collection: "payroll".into(), key: "k".into(), value: vec![1] };
    entry.mac = chain_mac(&key, &[0; 32], &entry.body);
    assert_rejected(verify(&device, &encode(&out_of_scope), SyncCursor::initial()), "out of scope");

    // …or after the grant's end.
    let mut late = original.clone();
    let entry = &mut entries(&mut late)[0];
    entry.body.time = T0 + 8 * DAY;
    entry.mac = chain_mac(&key, &[0; 32], &entry.body);
    assert_rejected(verify(&device, &encode(&late), SyncCursor::initial()), "after exp");

    // A batch whose grant is for another device.
    let mut foreign = original.clone();
    let Batch { device_id, grants, .. } = &mut foreign;
    *device_id = "device-2".into();
    grants[0] = device.backend.grant_for(USER, "device-2", T0, T0 + DAY);
    assert_rejected(verify(&device, &encode(&foreign), SyncCursor::initial()), "grant for another device");

    // The same chain re-MACed correctly still verifies: the checks above were the cause.
    let mut fine = original.clone();
    let entry = &mut entries(&mut fine)[0];
    entry.mac = chain_mac(&key, &[0; 32], &entry.body);
    verify(&device, &encode(&fine), SyncCursor::initial()).unwrap();
}

#[test]
fn acknowledge_is_durable_and_the_chain_continues_across_reopen() {
    let device = Device::new();
    let (vault, session) = device.enrolled();
    three_edits(&session);
    let queue = session.clone().sync_queue();
    let receipt = |through: u64, mac: Vec<u8>| {
        verifier(&device)
            .receipt(DEVICE, &device.backend.sync_key, &SyncCursor { last_seq: through, last_mac: mac })
            .unwrap()
    };
    let never_sent = queue.acknowledge(receipt(1, vec![7; 32]));
    assert!(matches!(never_sent, Err(VaultError::ReceiptInvalid { .. })), "never sent: {never_sent:?}");
    let batch = queue.next_batch(2).unwrap().unwrap();
    let verified = verify(&device, &batch.bytes, SyncCursor::initial()).unwrap();
    let not_batched = queue.acknowledge(receipt(3, vec![7; 32]));
    assert!(matches!(not_batched, Err(VaultError::ReceiptInvalid { .. })), "3 was not in a batch");
    let wrong_chain = queue.acknowledge(receipt(2, vec![7; 32]));
    assert!(matches!(wrong_chain, Err(VaultError::ReceiptInvalid { .. })), "another chain's MAC");
    assert_eq!(queue.pending_count().unwrap(), 3, "no refused receipt deleted anything");
    queue.acknowledge(verified.receipt.clone()).unwrap();
    queue.acknowledge(verified.receipt).unwrap();
    assert_eq!(queue.pending_count().unwrap(), 1);
    session.lock();
    assert_eq!(queue.pending_count(), Err(VaultError::SessionLocked));
    drop((queue, session, vault));

    let vault = device.open();
    assert_eq!(vault.status().unwrap().pending_entries, 1);
    let session = vault.unlock(PIN.into()).unwrap();
    assert_eq!(session.put("notes", "n2", b"after reopen".to_vec()).unwrap(), 4);
    let queue = session.clone().sync_queue();
    let batch = queue.next_batch(100).unwrap().unwrap();
    assert_eq!((batch.first_seq, batch.last_seq), (3, 4));
    let next = verify(&device, &batch.bytes, verified.cursor).unwrap();
    assert_eq!(next.operations.iter().map(|o| o.seq).collect::<Vec<_>>(), [3, 4]);
    queue.acknowledge(next.receipt).unwrap();
    assert_eq!(queue.next_batch(100).unwrap(), None);
    assert_eq!(queue.pending_count().unwrap(), 0);
    let conn = rusqlite::Connection::open(device.path()).unwrap();
    let rows: i64 = conn.query_row("SELECT count(*) FROM queue", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 0, "acknowledged entries are deleted");
}

#[test]
fn grants_travel_with_the_entries_they_cover() {
    let device = Device::new();
    let (_vault, session) = device.enrolled();
    session.put("visits", "v1", b"a".to_vec()).unwrap();
    device.clock.set(T0 + DAY);
    session.renew_grant(&device.backend.grant(T0 + DAY, 7)).unwrap();
    session.put("visits", "v2", b"b".to_vec()).unwrap();
    let queue = session.clone().sync_queue();
    let batch = queue.next_batch(100).unwrap().unwrap();
    let Batch { grants, entries, .. } = decode(&batch.bytes);
    assert_eq!(grants.len(), 2);
    assert_ne!(entries[0].body.grant_id, entries[1].body.grant_id);
    let verified = verify(&device, &batch.bytes, SyncCursor::initial()).unwrap();
    assert_eq!(verified.operations.len(), 2);
    queue.acknowledge(verified.receipt).unwrap();
    session.put("visits", "v3", b"c".to_vec()).unwrap();
    let Batch { grants, .. } = decode(&queue.next_batch(100).unwrap().unwrap().bytes);
    assert_eq!(grants.len(), 1, "the first grant is dropped once its entries are acknowledged");
}

/// The borrowing result a Rust backend gets and the owned one (what the
/// bindings return, built from it) agree on a batch a session wrote; the
/// borrowed names and values point inside the batch bytes (no copy); and an
/// entry altered in the middle is the same typed refusal from both, with no
/// operation returned (not even the good entry before it).
#[test]
fn borrowed_and_owned_results_agree_and_a_tampered_middle_entry_refuses_both() {
    let device = Device::new();
    let (_vault, session) = device.enrolled();
    three_edits(&session);
    assert_eq!(session.put("notes", "n2", b"fourth".to_vec()).unwrap(), 4);
    let batch = session.clone().sync_queue().next_batch(100).unwrap().unwrap();
    let verifier = verifier(&device);
    let key = &device.backend.sync_key;

    let borrowed = verifier.verify(&batch.bytes, key, &SyncCursor::initial()).unwrap();
    let owned = verify(&device, &batch.bytes, SyncCursor::initial()).unwrap();
    assert_eq!(borrowed.operations.len(), 4);
    assert_eq!(borrowed.clone().into_owned(), owned);
    let inside = |p: *const u8| batch.bytes.as_ptr_range().contains(&p);
    assert!(inside(borrowed.device_id.as_ptr()));
    for (op, copy) in borrowed.operations.iter().zip(&owned.operations) {
        assert_eq!(&op.to_owned_operation(), copy);
        assert!(inside(op.grant_id.as_ptr()) && inside(op.collection.as_ptr()) && inside(op.key.as_ptr()), "{op:?}");
        assert!(op.value.is_none_or(|v| inside(v.as_ptr())), "{op:?}");
    }

    let mut altered = batch.bytes.clone();
    let at = altered.windows(6).position(|w| w == b"second").unwrap();
    altered[at] ^= 0x20;
    let refused = verifier.verify(&altered, key, &SyncCursor::initial()).unwrap_err();
    assert_eq!(verify(&device, &altered, SyncCursor::initial()).unwrap_err(), refused);
    assert!(
        matches!(&refused, BackendError::BatchRejected { kind: offline_auth_backend::RejectReason::ChainBroken, reason }
            if reason.contains("seq 2")),
        "{refused:?}"
    );
}
