//! With the `serde` feature, the results a service stores or returns go
//! through JSON and come back equal: a verified batch from a real chain of
//! entries, its cursor and operations, a refusal and its reason, grant info,
//! and (with `attestation`) the policy and the refusals, named as `as_str`
//! names them. The times are fixed (a fixed server clock), never today's.
#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use offline_auth_backend::{
    verify_grant, BackendError, FixedServerClock, GrantInfo, GrantIssuer, RejectReason, SyncCursor, SyncVerifier,
    VerifiedBatch,
};
use offline_auth_proto::batch::Batch;
use offline_auth_proto::crypto::{MacKey, SecretKey};
use offline_auth_proto::entry::{EntryBody, Operation, QueueEntry};
use serde::de::DeserializeOwned;
use serde::Serialize;

const T: i64 = 1_800_000_000;

fn round_trip<V: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &V) -> String {
    let json = serde_json::to_string(value).unwrap();
    let back: V = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, value, "{json}");
    json
}

/// A batch of a put and a delete, MAC-chained under `sync_key`.
fn batch(issuer: &GrantIssuer, sync_key: &[u8]) -> (Vec<u8>, GrantInfo) {
    let token = issuer.issue("amira", "tablet-42", &["visits".to_owned()], T, T + 3600).unwrap();
    let info = verify_grant(&token, &[issuer.issuer_key()]).unwrap();
    let key = MacKey::new(&SecretKey::from_slice(sync_key).unwrap());
    let ops = [
        Operation::Put { collection: "visits".into(), key: "gate".into(), value: b"sealed".to_vec() },
        Operation::Delete { collection: "visits".into(), key: "old".into() },
    ];
    let mut prev = [0u8; 32];
    let entries = (1u64..)
        .zip(ops)
        .map(|(seq, op)| {
            let body = EntryBody { seq, grant_id: info.grant_id.clone(), time: T + 10, boots: Some(2), op };
            let mac = body.chain_mac(&key, &prev).unwrap();
            prev = mac;
            QueueEntry { body, mac }
        })
        .collect();
    (Batch { device_id: "tablet-42".into(), grants: vec![token], entries }.to_bytes().unwrap(), info)
}

#[test]
fn a_verified_batch_and_its_grant_info_round_trip_through_serde_json() {
    let issuer = GrantIssuer::generate("k1").unwrap();
    let sync_key = [7u8; 32];
    let (bytes, info) = batch(&issuer, &sync_key);
    let verifier = SyncVerifier::with_clock(vec![issuer.issuer_key()], Arc::new(FixedServerClock(T + 100))).unwrap();

    let borrowed = verifier.verify(&bytes, &sync_key, &SyncCursor::initial()).unwrap();
    let borrowed_json = serde_json::to_string(&borrowed).unwrap();
    let owned: VerifiedBatch = borrowed.into_owned();
    let json = round_trip(&owned);
    assert_eq!(json, borrowed_json, "the borrowing and the owned result serialize alike");
    assert_eq!(owned.operations.len(), 2);
    assert_eq!(owned.operations[1].value, None);
    round_trip(&owned.cursor);
    round_trip(&owned.operations[0]);
    round_trip(&info);
}

#[test]
fn refusals_round_trip_with_their_as_str_names() {
    for reason in RejectReason::ALL {
        assert_eq!(round_trip(&reason), format!("\"{}\"", reason.as_str()));
    }
    let issuer = GrantIssuer::generate("k1").unwrap();
    let (mut bytes, _) = batch(&issuer, &[7; 32]);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let verifier = SyncVerifier::with_clock(vec![issuer.issuer_key()], Arc::new(FixedServerClock(T + 100))).unwrap();
    let refused = verifier.verify(&bytes, &[7; 32], &SyncCursor::initial()).unwrap_err();
    assert!(matches!(refused, BackendError::BatchRejected { .. }), "{refused:?}");
    let json = round_trip(&refused);
    assert!(json.starts_with("{\"batch_rejected\":{\"kind\":\""), "{json}");
}

#[cfg(feature = "attestation")]
#[test]
fn the_attestation_policy_and_refusals_round_trip_with_their_names() {
    use offline_auth_backend::attestation::{
        AttestationPolicy, EnrolmentRefusal, EvidenceLevel, PolicyMode, UploadKey, UploadRefusal,
    };
    let policy = AttestationPolicy::production().with_allowed_packages(["com.example.field"]);
    round_trip(&policy);
    assert_eq!(round_trip(&EvidenceLevel::StrongBox), format!("\"{}\"", EvidenceLevel::StrongBox.as_str()));
    assert_eq!(round_trip(&PolicyMode::Development), "\"development\"");
    for refusal in UploadRefusal::ALL {
        assert_eq!(round_trip(&refusal), format!("\"{}\"", refusal.as_str()));
    }
    round_trip(&UploadKey::from_spki(&p256_spki()).unwrap());
    let refusal = EnrolmentRefusal::LevelRefused { level: EvidenceLevel::Software };
    let json = serde_json::to_value(&refusal).unwrap();
    assert_eq!(json["reason"], "level_refused");
    assert_eq!(json["message"], refusal.to_string());
}

#[cfg(feature = "attestation")]
fn p256_spki() -> Vec<u8> {
    use p256::ecdsa::SigningKey;
    use p256::pkcs8::EncodePublicKey;
    let key = SigningKey::from_slice(&[0x21; 32]).unwrap();
    key.verifying_key().to_public_key_der().unwrap().as_bytes().to_vec()
}
