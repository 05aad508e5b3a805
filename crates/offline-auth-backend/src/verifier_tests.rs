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
    let issuer = GrantIssuer::generate("k".into()).unwrap();
    let token = issuer.issue("u".into(), "d".into(), vec!["visits".into()], T, T + 3600).unwrap();
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

fn verify(fx: &Fixture, bytes: &[u8]) -> Result<VerifiedBatch> {
    fx.verifier.verify_batch(bytes, fx.sync_key.to_vec().to_vec(), &SyncCursor::initial(), &[])
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
        let outcome = verifier.verify_batch(&bytes, key(), &SyncCursor::initial(), &[]);
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
