//! Upload signatures: the device's attested key signs
//! [`upload_signature_message`] for each batch; the backend checks it with
//! the key it stored at enrolment. A copy of the sync key alone can no
//! longer upload: the attested key never leaves the device's hardware.
//!
//! On Apple devices the "signature" is an App Attest assertion over the
//! same message, carrying a counter that must rise with every upload:
//! [`verify_upload_signature`] returns that counter and the backend stores
//! it (compare-and-set) before it acts on the upload, so one assertion is
//! accepted once, on any instance.

use offline_auth_attestation::apple::verify_assertion;
use offline_auth_attestation::Refusal;
use offline_auth_proto::upload_signature::upload_signature_message;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;

use super::refusal::UploadRefusal;

/// Largest DER ECDSA P-256 signature (SEQUENCE of two INTEGERs of up to 33 bytes).
const MAX_SIGNATURE_LEN: usize = 72;

/// The key a device signs uploads with, as stored at enrolment.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum UploadKey {
    /// An EC P-256 key (DER `SubjectPublicKeyInfo`): Android Keystore's
    /// attested key; signatures are DER ECDSA with SHA-256
    /// (`SHA256withECDSA`) over the upload message.
    EcdsaP256 {
        /// The key, DER `SubjectPublicKeyInfo`.
        spki_der: Vec<u8>,
    },
    /// An Apple App Attest key: uploads carry an assertion (CBOR, as
    /// `generateAssertion` returns it) over the upload message.
    AppleAppAttest {
        /// The attested key, an uncompressed SEC1 P-256 point.
        public_key: Vec<u8>,
        /// The App ID (team id, a dot, bundle id) the assertions must name.
        app_id: String,
        /// The last counter accepted (0 after the attestation).
        counter: u32,
    },
}

impl std::fmt::Debug for UploadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::EcdsaP256 { spki_der } => write!(f, "EcdsaP256({} bytes)", spki_der.len()),
            Self::AppleAppAttest { public_key, app_id, counter } => {
                write!(f, "AppleAppAttest({} bytes, {app_id}, counter {counter})", public_key.len())
            }
        }
    }
}

impl UploadKey {
    /// An upload key from an attested key's SPKI, if it is one the backend
    /// checks signatures of (EC P-256).
    pub fn from_spki(spki_der: &[u8]) -> Option<Self> {
        VerifyingKey::from_public_key_der(spki_der).ok().map(|_| Self::EcdsaP256 { spki_der: spki_der.to_vec() })
    }

    /// The kind's stable name, as stored.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::EcdsaP256 { .. } => "ecdsa_p256",
            Self::AppleAppAttest { .. } => "apple_app_attest",
        }
    }

    /// The key's bytes, as stored.
    pub fn key_bytes(&self) -> &[u8] {
        match self {
            Self::EcdsaP256 { spki_der } => spki_der,
            Self::AppleAppAttest { public_key, .. } => public_key,
        }
    }

    /// The key back from what was stored ([`UploadKey::kind`],
    /// [`UploadKey::key_bytes`]); an App Attest key also needs the stored
    /// App ID and counter ([`UploadKey::from_stored_app_attest`]).
    pub fn from_stored(kind: &str, key: &[u8]) -> Option<Self> {
        match kind {
            "ecdsa_p256" => Self::from_spki(key),
            _ => None,
        }
    }

    /// An App Attest key back from what was stored: the point, the App ID
    /// (the evidence summary's `app_id`) and the last counter accepted.
    pub fn from_stored_app_attest(key: &[u8], app_id: &str, counter: u32) -> Option<Self> {
        VerifyingKey::from_sec1_bytes(key).ok().map(|_| Self::AppleAppAttest {
            public_key: key.to_vec(),
            app_id: app_id.to_owned(),
            counter,
        })
    }
}

/// Checks an upload's device signature.
///
/// `key` is the device's stored upload key (`None`: it enrolled without
/// one), `signature` the one sent with the upload (`None`: unsigned; an App
/// Attest assertion for an [`UploadKey::AppleAppAttest`]), `required` the
/// policy's `require_signed_uploads`. A signature that is sent is always
/// checked, even when none is required.
///
/// Returns `Some(counter)` for an accepted App Attest assertion: the caller
/// stores it in place of the key's counter, only if the stored one is still
/// lower (compare-and-set), before it acts on the upload, and refuses the
/// upload ([`UploadRefusal::AssertionReplayed`]) when another request got
/// there first. `None` otherwise.
///
/// # Errors
/// [`UploadRefusal::SignatureMissing`] or [`UploadRefusal::NoAttestedKey`]
/// when one is required and cannot be checked; [`UploadRefusal::SignatureInvalid`]
/// when it does not verify over this device's message for this batch;
/// [`UploadRefusal::AssertionReplayed`] when an assertion's counter did not
/// rise above the stored one.
pub fn verify_upload_signature(
    key: Option<&UploadKey>,
    signature: Option<&[u8]>,
    device_id: &str,
    first_seq: u64,
    last_seq: u64,
    batch: &[u8],
    required: bool,
) -> Result<Option<u32>, UploadRefusal> {
    let (key, signature) = match (key, signature) {
        (Some(key), Some(signature)) => (key, signature),
        (None, Some(_)) if required => return Err(UploadRefusal::NoAttestedKey),
        // A signature from a device the backend holds no key for proves
        // nothing; without a requirement it is ignored.
        (None, Some(_)) => return Ok(None),
        (Some(_), None) if required => return Err(UploadRefusal::SignatureMissing),
        (None, None) if required => return Err(UploadRefusal::NoAttestedKey),
        (_, None) => return Ok(None),
    };
    let message = upload_signature_message(device_id, first_seq, last_seq, batch);
    match key {
        UploadKey::EcdsaP256 { spki_der } => {
            if signature.len() > MAX_SIGNATURE_LEN {
                return Err(UploadRefusal::SignatureInvalid);
            }
            let key = VerifyingKey::from_public_key_der(spki_der).map_err(|_| UploadRefusal::NoAttestedKey)?;
            let signature = Signature::from_der(signature).map_err(|_| UploadRefusal::SignatureInvalid)?;
            key.verify(&message, &signature).map(|()| None).map_err(|_| UploadRefusal::SignatureInvalid)
        }
        // The assertion's own bound (`AssertionTooLarge`) is checked before it is decoded.
        UploadKey::AppleAppAttest { public_key, app_id, counter } => {
            match verify_assertion(signature, &message, public_key, app_id, *counter) {
                Ok(counter) => Ok(Some(counter)),
                Err(Refusal::AssertionReplayed { .. } | Refusal::CounterWentBack { .. }) => {
                    Err(UploadRefusal::AssertionReplayed)
                }
                Err(_) => Err(UploadRefusal::SignatureInvalid),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::SigningKey;
    use p256::pkcs8::EncodePublicKey;

    use super::*;

    fn key_and_signer() -> (UploadKey, SigningKey) {
        let signer = SigningKey::from_slice(&[0x21; 32]).unwrap_or_else(|_| unreachable!());
        let spki = signer.verifying_key().to_public_key_der().map(|d| d.as_bytes().to_vec()).unwrap_or_default();
        (UploadKey::from_spki(&spki).unwrap_or_else(|| unreachable!()), signer)
    }

    fn sign(signer: &SigningKey, device: &str, first: u64, last: u64, batch: &[u8]) -> Vec<u8> {
        let signature: Signature = signer.sign(&upload_signature_message(device, first, last, batch));
        signature.to_der().as_bytes().to_vec()
    }

    #[test]
    fn only_the_signature_over_this_devices_range_and_bytes_verifies() {
        let (key, signer) = key_and_signer();
        let good = sign(&signer, "dev-1", 1, 3, b"batch");
        let check = |sig: &[u8], device: &str, first: u64, last: u64, batch: &[u8]| {
            verify_upload_signature(Some(&key), Some(sig), device, first, last, batch, true)
        };
        assert_eq!(check(&good, "dev-1", 1, 3, b"batch"), Ok(None));
        assert_eq!(check(&good, "dev-2", 1, 3, b"batch"), Err(UploadRefusal::SignatureInvalid));
        assert_eq!(check(&good, "dev-1", 1, 4, b"batch"), Err(UploadRefusal::SignatureInvalid));
        assert_eq!(check(&good, "dev-1", 1, 3, b"batcH"), Err(UploadRefusal::SignatureInvalid));
        assert_eq!(check(&[0x30; 200], "dev-1", 1, 3, b"batch"), Err(UploadRefusal::SignatureInvalid));
        assert_eq!(check(b"", "dev-1", 1, 3, b"batch"), Err(UploadRefusal::SignatureInvalid));
    }

    #[test]
    fn a_missing_signature_is_refused_only_when_required() {
        let (key, _) = key_and_signer();
        let unsigned =
            |key: Option<&UploadKey>, required| verify_upload_signature(key, None, "d", 1, 1, b"b", required);
        assert_eq!(unsigned(Some(&key), true), Err(UploadRefusal::SignatureMissing));
        assert_eq!(unsigned(None, true), Err(UploadRefusal::NoAttestedKey));
        assert_eq!(unsigned(Some(&key), false), Ok(None));
        assert_eq!(unsigned(None, false), Ok(None));
    }

    #[test]
    fn a_stored_key_reads_back_and_an_rsa_or_garbage_key_signs_nothing() {
        let (key, _) = key_and_signer();
        assert_eq!(UploadKey::from_stored(key.kind(), key.key_bytes()), Some(key.clone()));
        assert_eq!(UploadKey::from_stored("rsa", key.key_bytes()), None);
        assert_eq!(UploadKey::from_spki(b"not a key"), None);
        assert!(!format!("{key:?}").contains(&format!("{:?}", key.key_bytes())));
    }
}
