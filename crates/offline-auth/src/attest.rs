//! The platform attestor: the hardware's word about itself, at enrolment and
//! on every upload.
//!
//! The backend cannot see whether a device's keys are in hardware; the
//! platform can prove it. At enrolment the app asks the server for a
//! challenge, passes it to [`PlatformAttestor::attest`] and sends the
//! [`AttestationEvidence`] with its enrolment request; the backend verifies
//! it and sets the offline window by what it proves. On every upload
//! [`SyncQueue::next_signed_batch`] has the same attested key sign the
//! upload message (`offline_auth_proto::upload_signature`), so a copy of the
//! sync key alone can no longer upload.
//!
//! Kotlin and Swift implement [`PlatformAttestor`] (the Android adapter: an
//! EC P-256 key in the Android Keystore with `setAttestationChallenge`,
//! StrongBox when the device key is there, `SHA256withECDSA`; the Apple
//! adapter: `DCAppAttestService`); [`NoAttestor`] is what `SoftwareKeystore`
//! and the test keystores have: no evidence, no signature. The core holds
//! no platform detail: evidence is opaque bytes it passes on.
//!
//! # Locks held while calling out
//! None: `next_signed_batch` builds the batch (taking and releasing the
//! vault's database lock) before it calls `sign`, so an attestor may call
//! any vault or session method; it must not call `next_signed_batch` on the
//! same queue from inside `sign` (it would only recurse).

use std::sync::Arc;

use offline_auth_proto::batch_reader::BatchReader;
use offline_auth_proto::upload_signature::upload_signature_message;

use crate::error::VaultError;
use crate::sync::{SyncBatch, SyncQueue};

/// Shortest and longest challenge accepted from a server.
const CHALLENGE_LEN: std::ops::RangeInclusive<usize> = 16..=128;

/// What the platform proves about its key at enrolment.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
#[non_exhaustive]
pub enum AttestationEvidence {
    /// Android Key Attestation: the attested key's certificate chain, DER,
    /// leaf first (`KeyStore.getCertificateChain`).
    AndroidKeyAttestation {
        /// The chain.
        chain: Vec<Vec<u8>>,
    },
    /// Apple App Attest: `DCAppAttestService.attestKey`'s key id and
    /// attestation object (its `clientDataHash` is SHA-256 of the challenge).
    AppleAppAttest {
        /// The key id.
        key_id: String,
        /// The CBOR attestation object.
        attestation_object: Vec<u8>,
    },
    /// No evidence: a software keystore. The backend's policy decides what
    /// that gets (refused in production).
    None,
}

/// Errors a [`PlatformAttestor`] reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
#[non_exhaustive]
pub enum AttestorError {
    /// This platform (or this attestor) cannot attest or sign: the upload
    /// goes unsigned and the backend's policy decides.
    #[error("attestation is not supported here")]
    NotSupported,
    /// The attested key is gone (app data cleared, key invalidated): enrol
    /// again.
    #[error("the attested key is gone")]
    KeyGone,
    /// Any other platform failure, without key material.
    #[error("{reason}")]
    Failed {
        /// The platform's description.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for AttestorError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        AttestorError::Failed { reason: format!("attestor callback failed: {}", error.reason) }
    }
}

/// The platform's attested key, implemented in Kotlin or Swift.
#[uniffi::export(with_foreign)]
pub trait PlatformAttestor: Send + Sync {
    /// Creates (or replaces) the attested key for `challenge` and returns
    /// the platform's evidence for it. Costs a key generation in the secure
    /// element (`platforms/README.md` has what each call costs).
    ///
    /// # Errors
    /// [`AttestorError::NotSupported`] or a failure.
    fn attest(&self, challenge: Vec<u8>) -> Result<AttestationEvidence, AttestorError>;

    /// Signs `message` with the attested key: Android DER ECDSA P-256 with
    /// SHA-256 (`SHA256withECDSA`); Apple an App Attest assertion whose
    /// `clientDataHash` is SHA-256 of `message`.
    ///
    /// # Errors
    /// [`AttestorError::NotSupported`] (no attested key: the upload goes
    /// unsigned), [`AttestorError::KeyGone`] or a failure.
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, AttestorError>;
}

/// The attestor of a software keystore: no evidence, no signature.
#[derive(Debug, Default, uniffi::Object)]
pub struct NoAttestor;

#[uniffi::export]
impl NoAttestor {
    /// The attestor that proves nothing.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self)
    }

    /// This attestor as the trait object `enrolment_evidence` and
    /// `next_signed_batch` take (as `SoftwareKeystore::as_platform_keystore`).
    pub fn as_platform_attestor(self: Arc<Self>) -> Arc<dyn PlatformAttestor> {
        self
    }
}

impl PlatformAttestor for NoAttestor {
    fn attest(&self, _challenge: Vec<u8>) -> Result<AttestationEvidence, AttestorError> {
        Ok(AttestationEvidence::None)
    }

    fn sign(&self, _message: Vec<u8>) -> Result<Vec<u8>, AttestorError> {
        Err(AttestorError::NotSupported)
    }
}

/// A batch and its device signature.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
#[non_exhaustive]
pub struct SignedBatch {
    /// The batch, as `next_batch` gives it.
    pub batch: SyncBatch,
    /// The attested key's signature over the upload message, or `None` when
    /// the attestor has no key (send the upload unsigned). The reference
    /// server takes it base64 in the `X-Offline-Auth-Signature` header.
    pub signature: Option<Vec<u8>>,
}

fn attestor_error(error: AttestorError) -> VaultError {
    VaultError::Keystore { reason: format!("attestor: {error}") }
}

/// The evidence for an enrolment against the server's `challenge`.
///
/// # Errors
/// `InvalidInput` if the challenge is not 16 to 128 bytes; `Keystore`
/// (prefixed `attestor:`) if the platform fails.
#[uniffi::export]
pub fn enrolment_evidence(
    attestor: Arc<dyn PlatformAttestor>,
    challenge: Vec<u8>,
) -> Result<AttestationEvidence, VaultError> {
    if !CHALLENGE_LEN.contains(&challenge.len()) {
        return Err(VaultError::InvalidInput { reason: "the challenge must be 16 to 128 bytes".into() });
    }
    match attestor.attest(challenge) {
        Ok(evidence) => Ok(evidence),
        Err(AttestorError::NotSupported) => Ok(AttestationEvidence::None),
        Err(error) => Err(attestor_error(error)),
    }
}

/// The message the attested key signs for `batch` (device id from its
/// header, its seq range, SHA-256 of its bytes; `docs/BATCH_FORMAT.md`).
///
/// # Errors
/// `InvalidInput` if the bytes are not a batch.
#[uniffi::export]
pub fn upload_message(batch: &SyncBatch) -> Result<Vec<u8>, VaultError> {
    let reader =
        BatchReader::open(&batch.bytes).map_err(|_| VaultError::InvalidInput { reason: "not a sync batch".into() })?;
    Ok(upload_signature_message(reader.device_id, batch.first_seq, batch.last_seq, &batch.bytes))
}

#[uniffi::export]
impl SyncQueue {
    /// [`SyncQueue::next_batch`], signed by `attestor`'s attested key.
    ///
    /// # Errors
    /// Those of `next_batch`; `Keystore` (prefixed `attestor:`) if the
    /// platform fails to sign (other than having no key).
    pub fn next_signed_batch(
        &self,
        max_entries: u32,
        attestor: Arc<dyn PlatformAttestor>,
    ) -> Result<Option<SignedBatch>, VaultError> {
        let Some(batch) = self.next_batch(max_entries)? else {
            return Ok(None);
        };
        let message = upload_message(&batch)?;
        let signature = match attestor.sign(message) {
            Ok(signature) => Some(signature),
            Err(AttestorError::NotSupported) => None,
            Err(error) => return Err(attestor_error(error)),
        };
        Ok(Some(SignedBatch { batch, signature }))
    }
}
