//! The verifier's unit tests (kept beside it, out of its file).
use super::*;
use crate::clock::FixedServerClock;
use crate::GrantIssuer;
use offline_auth_proto::batch::{Batch, BatchV1, BatchWire, MAGIC};
use offline_auth_proto::entry::{EntryBody, EntryV1, Operation, QueueEntry};

const T: i64 = 1_000_000;

struct Fixture {
    verifier: Arc<SyncVerifier>,
    issuer_key: IssuerKey,
    token: String,
    jti: String,
    sync_key: SecretKey,
}

fn fixture() -> Fixture {
    let issuer = GrantIssuer::generate("k").unwrap();
    let token = issuer.issue("u", "d", &["visits".to_owned()], T, T + 3600).unwrap();
    let verifier = SyncVerifier::new(vec![issuer.issuer_key()]).unwrap();
    let jti = grant::verify_signature(&token, &verifier.issuers, &GrantPolicy::default()).unwrap().jti;
    Fixture { verifier, issuer_key: issuer.issuer_key(), token, jti, sync_key: SecretKey::generate().unwrap() }
}

/// A chain of entries with the given boot counts (`None`: first-release entries).
fn chain(fx: &Fixture, boots: &[Option<u32>]) -> Vec<QueueEntry> {
    let key = MacKey::new(&fx.sync_key);
    let mut prev = [0u8; 32];
    (1u64..)
        .zip(boots)
        .map(|(seq, boots)| {
            let op = Operation::Put { collection: "visits".into(), key: format!("k{seq}"), value: vec![1] };
            let body = EntryBody { seq, grant_id: fx.jti.clone(), time: T + 10, boots: *boots, op };
            let mac = body.chain_mac(&key, &prev).unwrap();
            prev = mac;
            QueueEntry { body, mac }
        })
        .collect()
}

fn verify<'a>(fx: &Fixture, bytes: &'a [u8]) -> Result<VerifiedBatchRef<'a>> {
    fx.verifier.verify_batch(bytes, &fx.sync_key.to_vec(), &SyncCursor::initial(), &[])
}

#[test]
fn a_first_release_batch_still_verifies() {
    let fx = fixture();
    let entries = chain(&fx, &[None, None]).iter().map(|e| EntryV1::of(e).unwrap()).collect();
    let wire = BatchWire::V1(BatchV1 { device_id: "d".into(), grants: vec![fx.token.clone()], entries });
    let mut bytes = MAGIC.to_vec();
    bytes.extend(postcard::to_stdvec(&wire).unwrap());
    let verified = verify(&fx, &bytes).unwrap();
    assert_eq!(verified.operations.iter().map(|o| o.boots).collect::<Vec<_>>(), [None, None]);
}

#[test]
fn a_queue_written_across_an_upgrade_verifies_with_each_entry_in_its_format() {
    let fx = fixture();
    let entries = chain(&fx, &[None, Some(3)]);
    let bytes = Batch { device_id: "d".into(), grants: vec![fx.token.clone()], entries }.to_bytes().unwrap();
    let verified = verify(&fx, &bytes).unwrap();
    assert_eq!(verified.operations.iter().map(|o| o.boots).collect::<Vec<_>>(), [None, Some(3)]);
}

#[test]
fn entries_stamped_after_the_servers_time_are_refused() {
    let fx = fixture();
    let entries = chain(&fx, &[Some(0)]);
    let bytes = Batch { device_id: "d".into(), grants: vec![fx.token.clone()], entries }.to_bytes().unwrap();
    let key = || fx.sync_key.to_vec().to_vec();
    // The entries are stamped T + 10; the server allows its own time plus 60 s.
    for (server_now, accepted) in [(T - 50, true), (T - 51, false), (T + 3_000, true)] {
        let verifier =
            SyncVerifier::with_clock(vec![fx.issuer_key.clone()], Arc::new(FixedServerClock(server_now))).unwrap();
        let outcome = verifier.verify_batch(&bytes, &key(), &SyncCursor::initial(), &[]);
        assert_eq!(outcome.is_ok(), accepted, "server at T{:+}: {outcome:?}", server_now - T);
    }
}

#[test]
fn the_boot_count_is_covered_by_the_mac() {
    let fx = fixture();
    let mut entries = chain(&fx, &[Some(1), Some(1)]);
    if let Some(last) = entries.last_mut() {
        last.body.boots = Some(0);
    }
    let bytes = Batch { device_id: "d".into(), grants: vec![fx.token.clone()], entries }.to_bytes().unwrap();
    assert!(matches!(verify(&fx, &bytes), Err(Error::BatchRejected { kind: RejectReason::ChainBroken, .. })));
}

/// A chain whose entries from seq `from` on write `tag`-prefixed keys: two
/// chains with different tags agree before `from` and part there.
fn forked_chain(fx: &Fixture, len: u64, from: u64, tag: &str) -> Vec<QueueEntry> {
    let key = MacKey::new(&fx.sync_key);
    let mut prev = [0u8; 32];
    (1..=len)
        .map(|seq| {
            let name = if seq < from { format!("k{seq}") } else { format!("{tag}{seq}") };
            let op = Operation::Put { collection: "visits".into(), key: name, value: vec![1] };
            let body = EntryBody { seq, grant_id: fx.jti.clone(), time: T + 10, boots: Some(0), op };
            let mac = body.chain_mac(&key, &prev).unwrap();
            prev = mac;
            QueueEntry { body, mac }
        })
        .collect()
}

fn applied_of(entries: &[QueueEntry]) -> Vec<AppliedEntry> {
    entries.iter().map(|e| AppliedEntry { seq: e.body.seq, mac: e.mac.to_vec() }).collect()
}

#[test]
fn a_queue_parting_from_the_applied_chain_is_diverged_with_the_lost_range() {
    let fx = fixture();
    let applied = forked_chain(&fx, 5, 3, "applied-");
    let cursor = SyncCursor { last_seq: 5, last_mac: applied[4].mac.to_vec() };
    let device = forked_chain(&fx, 4, 3, "device-");
    let batch = |entries: Vec<QueueEntry>| {
        Batch { device_id: "d".into(), grants: vec![fx.token.clone()], entries }.to_bytes().unwrap()
    };
    let key = || fx.sync_key.to_vec().to_vec();
    let verified = fx
        .verifier
        .verify_batch(&batch(device.clone()), &key(), &cursor, &applied_of(&applied))
        .map(VerifiedBatchRef::into_owned);
    let Err(Error::Diverged { lost_from, lost_through, lost_count, answer }) = verified else { panic!("{verified:?}") };
    assert_eq!((lost_from, lost_through, lost_count), (3, 5, 3));
    let position = match offline_auth_proto::receipt::Answer::verify(&answer, &MacKey::new(&fx.sync_key)).unwrap() {
        offline_auth_proto::receipt::Answer::Position(position) => position,
        other => panic!("{other:?}"),
    };
    assert_eq!((position.common_seq, position.common_mac), (2, applied[1].mac));
    assert_eq!(position.diverged_mac, Some(device[2].mac));

    // An entry altered on the path (no sync key) cannot claim a divergence.
    let mut altered = device.clone();
    altered[2].body.op = Operation::Put { collection: "visits".into(), key: "evil".into(), value: vec![2] };
    let refused = fx
        .verifier
        .verify_batch(&batch(altered), &key(), &cursor, &applied_of(&applied))
        .map(VerifiedBatchRef::into_owned);
    assert!(matches!(refused, Err(Error::BatchRejected { kind: RejectReason::ChainBroken, .. })), "{refused:?}");

    // Without the applied chain, the old refusal at the cursor stays.
    let plain = fx
        .verifier
        .verify_batch(&batch(forked_chain(&fx, 5, 3, "device-")), &key(), &cursor, &[])
        .map(VerifiedBatchRef::into_owned);
    assert!(matches!(plain, Err(Error::BatchRejected { kind: RejectReason::ChainBroken, .. })), "{plain:?}");

    // Applied entries that contradict the cursor, or lie past it, are the caller's error.
    let mut wrong = applied_of(&applied);
    wrong[4].mac = vec![0; 32];
    let refused =
        fx.verifier.verify_batch(&batch(device.clone()), &key(), &cursor, &wrong).map(VerifiedBatchRef::into_owned);
    assert!(matches!(refused, Err(Error::InvalidInput { .. })), "{refused:?}");
    let past = vec![AppliedEntry { seq: 6, mac: vec![0; 32] }];
    assert!(matches!(
        fx.verifier.verify_batch(&batch(device), &key(), &cursor, &past),
        Err(Error::InvalidInput { .. })
    ));
}

#[test]
fn verified_operations_borrow_their_names_and_values_from_the_batch_bytes() {
    let fx = fixture();
    let entries = chain(&fx, &[Some(0), Some(1)]);
    let bytes = Batch { device_id: "d".into(), grants: vec![fx.token.clone()], entries }.to_bytes().unwrap();
    let verified = verify(&fx, &bytes).unwrap();
    let inside = |p: *const u8| bytes.as_ptr_range().contains(&p);
    assert!(inside(verified.device_id.as_ptr()));
    for op in &verified.operations {
        assert!(inside(op.grant_id.as_ptr()) && inside(op.collection.as_ptr()) && inside(op.key.as_ptr()));
        assert!(op.value.is_some_and(|v| inside(v.as_ptr())), "{op:?}");
    }
    let owned = verified.clone().into_owned();
    assert_eq!(owned.operations.len(), 2);
    for (op, copy) in verified.operations.iter().zip(&owned.operations) {
        assert_eq!(&op.to_owned_operation(), copy);
        assert_eq!((copy.key.as_str(), copy.value.as_deref()), (op.key, op.value));
    }
    assert_eq!((owned.device_id.as_str(), owned.cursor, owned.receipt), ("d", verified.cursor, verified.receipt));
}

/// A batch of five entries whose third was altered on the path (a byte of
/// its value): the MAC chain breaks there.
fn batch_with_a_tampered_middle_entry(fx: &Fixture) -> (Vec<u8>, Vec<u8>) {
    let key = MacKey::new(&fx.sync_key);
    let mut prev = [0u8; 32];
    let entries: Vec<QueueEntry> = (1u64..=5)
        .map(|seq| {
            let op = Operation::Put { collection: "visits".into(), key: format!("k{seq}"), value: vec![seq as u8; 40] };
            let body = EntryBody { seq, grant_id: fx.jti.clone(), time: T + 10, boots: Some(2), op };
            let mac = body.chain_mac(&key, &prev).unwrap();
            prev = mac;
            QueueEntry { body, mac }
        })
        .collect();
    let good = Batch { device_id: "d".into(), grants: vec![fx.token.clone()], entries }.to_bytes().unwrap();
    let mut bad = good.clone();
    let at = bad.windows(40).position(|w| w == [3u8; 40]).unwrap();
    bad[at + 7] ^= 0x01;
    (good, bad)
}

#[test]
fn a_tampered_middle_entry_is_one_typed_refusal_whether_borrowed_or_owned() {
    let fx = fixture();
    let (good, bad) = batch_with_a_tampered_middle_entry(&fx);
    let key = fx.sync_key.to_vec();
    let borrowed = verify(&fx, &good).unwrap();
    assert_eq!(borrowed.operations.len(), 5);
    assert_eq!(borrowed.clone().into_owned().operations.len(), 5);

    // Nothing is returned for the batch, not even the two good entries before
    // the altered one: the result is an error, from either API.
    let refused = fx.verifier.verify(&bad, &key, &SyncCursor::initial()).unwrap_err();
    let refused_owned =
        fx.verifier.verify(&bad, &key, &SyncCursor::initial()).map(VerifiedBatchRef::into_owned).unwrap_err();
    assert_eq!(refused, refused_owned);
    let Error::BatchRejected { kind: RejectReason::ChainBroken, ref reason } = refused else { panic!("{refused:?}") };
    assert!(reason.contains("seq 3"), "{reason}");
}

#[cfg(feature = "ffi")]
#[test]
fn the_bindings_result_is_the_borrowed_one_copied_and_refuses_alike() {
    let fx = fixture();
    let (good, bad) = batch_with_a_tampered_middle_entry(&fx);
    let key = fx.sync_key.to_vec().to_vec();
    let initial = crate::ffi::initial_sync_cursor;
    let borrowed = verify(&fx, &good).unwrap();
    let bound = fx.verifier.ffi_verify(good.clone(), key.clone(), initial()).unwrap();
    assert_eq!(bound, crate::ffi::VerifiedBatch::try_from(borrowed.clone()).unwrap());
    assert_eq!((bound.device_id.as_str(), bound.user_id.as_str()), (borrowed.device_id, borrowed.user_id.as_str()));
    for (op, copy) in borrowed.operations.iter().zip(&bound.operations) {
        assert_eq!((copy.seq, copy.key.as_str(), copy.value.as_deref()), (op.seq as i64, op.key, op.value));
        assert_eq!((copy.grant_id.as_str(), copy.mac.as_slice()), (op.grant_id, op.mac.as_slice()));
    }
    let refused = fx.verifier.ffi_verify(bad.clone(), key.clone(), initial()).unwrap_err();
    assert_eq!(refused, fx.verifier.verify(&bad, &key, &SyncCursor::initial()).unwrap_err());
}
