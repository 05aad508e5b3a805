//! The device seam of attested enrolment (issue 24): what the SDK asks of a
//! `PlatformAttestor` and what it makes of the answers. The core holds no
//! platform detail: evidence passes through as given, and each batch is
//! signed over the message the proto crate defines.
#![allow(clippy::unwrap_used, clippy::panic)] // a panic is how a test fails

use crate::common;

use std::sync::{Arc, Mutex};

use common::Device;
use offline_auth::{
    enrolment_evidence, upload_message, AttestationEvidence, AttestorError, NoAttestor, PlatformAttestor, VaultError,
};
use offline_auth_proto::upload_signature::{upload_signature_message, UPLOAD_SIGNATURE_DOMAIN};

/// Records what it was asked; signs by echoing the message reversed.
#[derive(Default)]
struct Recording {
    challenges: Mutex<Vec<Vec<u8>>>,
    fail_with: Option<AttestorError>,
}

impl PlatformAttestor for Recording {
    fn attest(&self, challenge: Vec<u8>) -> Result<AttestationEvidence, AttestorError> {
        self.challenges.lock().unwrap().push(challenge.clone());
        Ok(AttestationEvidence::AndroidKeyAttestation { chain: vec![challenge] })
    }

    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, AttestorError> {
        if let Some(error) = &self.fail_with {
            return Err(error.clone());
        }
        Ok(message.into_iter().rev().collect())
    }
}

#[test]
fn a_software_keystore_gives_no_evidence_and_unsigned_batches() {
    let device = Device::new();
    let (_vault, session) = device.enrolled();
    session.put("visits", "a", b"1".to_vec()).unwrap();
    let attestor = NoAttestor::new();
    assert_eq!(enrolment_evidence(attestor.clone(), vec![7; 32]).unwrap(), AttestationEvidence::None);
    let signed = session.clone().sync_queue().next_signed_batch(10, attestor).unwrap().unwrap();
    assert_eq!(signed.signature, None);
    assert_eq!(Some(signed.batch), session.clone().sync_queue().next_batch(10).unwrap());
}

#[test]
fn each_batch_is_signed_over_its_device_range_and_bytes() {
    let device = Device::new();
    let (_vault, session) = device.enrolled();
    for key in ["a", "b", "c"] {
        session.put("visits", key, b"1".to_vec()).unwrap();
    }
    let attestor = Arc::new(Recording::default());
    let signed = session.clone().sync_queue().next_signed_batch(2, attestor).unwrap().unwrap();
    let batch = &signed.batch;
    let expected = upload_signature_message(common::DEVICE, batch.first_seq, batch.last_seq, &batch.bytes);
    assert_eq!((batch.first_seq, batch.last_seq), (1, 2));
    assert!(expected.starts_with(UPLOAD_SIGNATURE_DOMAIN));
    assert_eq!(upload_message(batch).unwrap(), expected);
    assert_eq!(signed.signature, Some(expected.into_iter().rev().collect()));
}

#[test]
fn the_challenge_passes_through_and_bad_challenges_or_failures_are_typed() {
    let attestor = Arc::new(Recording::default());
    let evidence = enrolment_evidence(attestor.clone(), vec![1; 32]).unwrap();
    assert_eq!(evidence, AttestationEvidence::AndroidKeyAttestation { chain: vec![vec![1; 32]] });
    for bad in [vec![], vec![1; 15], vec![1; 129]] {
        assert!(matches!(enrolment_evidence(attestor.clone(), bad), Err(VaultError::InvalidInput { .. })));
    }
    assert_eq!(attestor.challenges.lock().unwrap().len(), 1, "a refused challenge never reaches the platform");

    let device = Device::new();
    let (_vault, session) = device.enrolled();
    session.put("visits", "a", b"1".to_vec()).unwrap();
    let gone = Arc::new(Recording { fail_with: Some(AttestorError::KeyGone), ..Recording::default() });
    match session.clone().sync_queue().next_signed_batch(10, gone) {
        Err(VaultError::Keystore { reason }) => assert!(reason.starts_with("attestor:"), "{reason}"),
        other => panic!("expected an attestor error, got {other:?}"),
    }
    // Nothing was lost: the batch is still there to send.
    assert_eq!(session.clone().sync_queue().pending_count().unwrap(), 1);
}
