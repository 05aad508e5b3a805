//! Attested enrolment and signed uploads for the bindings (`ffi`, which
//! turns on `attestation`): a JVM or Python backend verifies Android Key
//! Attestation and App Attest at enrolment, and the device signature of each
//! upload, with the Rust verifier (issue 24).
//!
//! The records mirror the Rust types with the bindings' conventions of
//! `ffi.rs`: `i64` for numbers (a patch level, an App Attest counter), a
//! `String` for each stable name. The refusals stay typed: one exception
//! class per [`EnrolmentRefusal`] and [`UploadRefusal`] variant, and an
//! attestation refusal carries the stable name of its reason
//! (`attestation_challenge_mismatch`, …) beside its text. The verifier's
//! world is its arguments, as in Rust: DER roots, revoked serials (or
//! Google's status list), the policy, and the time of each verification.

use std::sync::Arc;
use std::time::SystemTime;

use offline_auth_attestation::{RevokedSerials, TrustAnchors};

use crate::attestation::{self as core, EvidenceLevel, LevelWindows, PolicyMode, UploadRefusal};
use crate::error::{BackendError, Result};

/// What an enrolment must prove and what it then gets (Rust's
/// `AttestationPolicy`, as plain data). Start from
/// [`attestation_policy_production`] or [`attestation_policy_development`]
/// and change fields (Kotlin `copy`, Python attributes).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct AttestationPolicy {
    /// Which preset the policy started from (kept in each summary).
    pub mode: PolicyMode,
    /// The weakest level accepted.
    pub min_level: EvidenceLevel,
    /// The longest offline window per level, seconds; `None` refuses the level.
    pub windows: LevelWindows,
    /// Require verified boot and a locked bootloader.
    pub require_verified_boot: bool,
    /// If set, the attested app must have one of these package names.
    pub allowed_packages: Option<Vec<String>>,
    /// If set, the attested app must be signed by one of these certificates (SHA-256).
    pub allowed_signer_digests: Option<Vec<Vec<u8>>>,
    /// If set, the attested OS patch level (`YYYYMM`) must be at least this.
    pub min_os_patch_level: Option<i64>,
    /// Every upload must carry a valid signature by the attested key.
    pub require_signed_uploads: bool,
}

impl From<core::AttestationPolicy> for AttestationPolicy {
    fn from(p: core::AttestationPolicy) -> Self {
        Self {
            mode: p.mode,
            min_level: p.min_level,
            windows: p.windows,
            require_verified_boot: p.require_verified_boot,
            allowed_packages: p.allowed_packages,
            allowed_signer_digests: p.allowed_signer_digests,
            min_os_patch_level: p.min_os_patch_level.map(i64::from),
            require_signed_uploads: p.require_signed_uploads,
        }
    }
}

impl TryFrom<AttestationPolicy> for core::AttestationPolicy {
    type Error = BackendError;
    fn try_from(p: AttestationPolicy) -> Result<Self> {
        let min_os_patch_level = p
            .min_os_patch_level
            .map(|level| u32::try_from(level).map_err(|_| BackendError::invalid("min_os_patch_level must be YYYYMM")))
            .transpose()?;
        Ok(Self {
            mode: p.mode,
            min_level: p.min_level,
            windows: p.windows,
            require_verified_boot: p.require_verified_boot,
            allowed_packages: p.allowed_packages,
            allowed_signer_digests: p.allowed_signer_digests,
            min_os_patch_level,
            require_signed_uploads: p.require_signed_uploads,
        })
    }
}

/// The production preset: TEE or StrongBox, verified boot, StrongBox 72 h
/// and TEE 24 h, software and unattested devices refused, uploads signed.
#[uniffi::export]
pub fn attestation_policy_production() -> AttestationPolicy {
    core::AttestationPolicy::production().into()
}

/// The development preset: every level, unlocked bootloaders, software and
/// unattested devices for one hour, unsigned uploads accepted.
#[uniffi::export]
pub fn attestation_policy_development() -> AttestationPolicy {
    core::AttestationPolicy::development().into()
}

/// The key a device signs uploads with, as stored at enrolment.
#[derive(Clone, PartialEq, Eq, uniffi::Enum)]
pub enum UploadKey {
    /// An EC P-256 key (DER `SubjectPublicKeyInfo`), Android's attested key.
    EcdsaP256 {
        /// The key, DER `SubjectPublicKeyInfo`.
        spki_der: Vec<u8>,
    },
    /// An Apple App Attest key; uploads carry assertions.
    AppleAppAttest {
        /// The attested key, an uncompressed SEC1 P-256 point.
        public_key: Vec<u8>,
        /// The App ID (team id, a dot, bundle id).
        app_id: String,
        /// The last assertion counter accepted (0 after the attestation).
        counter: i64,
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

impl From<&core::UploadKey> for UploadKey {
    fn from(key: &core::UploadKey) -> Self {
        match key {
            core::UploadKey::EcdsaP256 { spki_der } => Self::EcdsaP256 { spki_der: spki_der.clone() },
            core::UploadKey::AppleAppAttest { public_key, app_id, counter } => Self::AppleAppAttest {
                public_key: public_key.clone(),
                app_id: app_id.clone(),
                counter: i64::from(*counter),
            },
        }
    }
}

impl TryFrom<&UploadKey> for core::UploadKey {
    /// A stored key the backend cannot read is no attested key, as in Rust
    /// (a key that does not parse, a counter outside `0..2^32`).
    type Error = UploadRefusal;
    fn try_from(key: &UploadKey) -> Result<Self, UploadRefusal> {
        match key {
            UploadKey::EcdsaP256 { spki_der } => Self::from_spki(spki_der),
            UploadKey::AppleAppAttest { public_key, app_id, counter } => u32::try_from(*counter)
                .ok()
                .and_then(|counter| Self::from_stored_app_attest(public_key, app_id, counter)),
        }
        .ok_or(UploadRefusal::NoAttestedKey)
    }
}

/// What an accepted enrolment proved and what it gets: store it per device.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct EnrolmentSummary {
    /// The evidence's kind: `android_key_attestation`, `apple_app_attest` or `none`.
    pub kind: String,
    /// What it proved.
    pub level: EvidenceLevel,
    /// The policy preset it was accepted under.
    pub mode: PolicyMode,
    /// The offline window to grant, seconds.
    pub window_secs: i64,
    /// OS patch level `YYYYMM`, if attested.
    pub os_patch_level: Option<i64>,
    /// `verified`, `self_signed`, `unverified` or `failed`, if attested.
    pub boot_state: Option<String>,
    /// Whether the bootloader was locked, if attested.
    pub device_locked: Option<bool>,
    /// The attested app's package names, comma-separated (or the App ID).
    pub app_id: Option<String>,
    /// The key that signs this device's uploads, if it can.
    pub upload_key: Option<UploadKey>,
}

impl From<core::EnrolmentSummary> for EnrolmentSummary {
    fn from(s: core::EnrolmentSummary) -> Self {
        Self {
            kind: s.kind.to_owned(),
            level: s.level,
            mode: s.mode,
            window_secs: s.window_secs,
            // A patch level is YYYYMM(DD); one past i64 is no patch level.
            os_patch_level: s.os_patch_level.and_then(|level| i64::try_from(level).ok()),
            boot_state: s.boot_state.map(str::to_owned),
            device_locked: s.device_locked,
            app_id: s.app_id,
            upload_key: s.upload_key.as_ref().map(UploadKey::from),
        }
    }
}

/// Why an enrolment was refused: one exception class per reason (Rust's
/// `EnrolmentRefusal`). The challenge variants are the caller's to raise
/// (it stores the challenges); the verifier raises the others.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum EnrolmentRefusal {
    /// The challenge was never issued.
    #[error("unknown challenge")]
    ChallengeUnknown,
    /// The challenge has expired.
    #[error("the challenge has expired")]
    ChallengeExpired,
    /// The challenge was already used.
    #[error("the challenge was already used")]
    ChallengeReused,
    /// The policy gives this level no window.
    #[error("attestation level {level} is refused by the policy")]
    LevelRefused {
        /// What the device proved.
        level: EvidenceLevel,
    },
    /// The attestation did not verify.
    #[error("attestation refused ({reason}): {detail}")]
    Attestation {
        /// The stable name of the reason, e.g. `attestation_challenge_mismatch`.
        reason: String,
        /// The verifier's text, fit for logs.
        detail: String,
    },
    /// Evidence of a kind this verifier does not check.
    #[error("evidence of kind {kind} is not supported")]
    UnsupportedEvidence {
        /// The kind's name.
        kind: String,
    },
    /// The evidence is not what its kind requires.
    #[error("malformed evidence: {reason}")]
    MalformedEvidence {
        /// Why.
        reason: String,
    },
    /// Signed uploads are required but the attested key cannot sign them.
    #[error("the attested key cannot sign uploads")]
    KeyCannotSignUploads,
}

impl From<core::EnrolmentRefusal> for EnrolmentRefusal {
    fn from(refusal: core::EnrolmentRefusal) -> Self {
        use core::EnrolmentRefusal as R;
        let name = refusal.as_str();
        match refusal {
            R::ChallengeUnknown => Self::ChallengeUnknown,
            R::ChallengeExpired => Self::ChallengeExpired,
            R::ChallengeReused => Self::ChallengeReused,
            R::LevelRefused { level } => Self::LevelRefused { level },
            R::Attestation(inner) => Self::Attestation { reason: name.to_owned(), detail: inner.to_string() },
            R::UnsupportedEvidence { kind } => Self::UnsupportedEvidence { kind: kind.to_owned() },
            R::MalformedEvidence { reason } => Self::MalformedEvidence { reason: reason.to_owned() },
            R::KeyCannotSignUploads => Self::KeyCannotSignUploads,
        }
    }
}

/// Verifies enrolment evidence against the roots and revoked serials it
/// was built with, under its policy. Build a new one when they change.
#[derive(Debug, uniffi::Object)]
pub struct EnrolmentVerifier {
    inner: core::EnrolmentVerifier,
}

fn anchors(roots: &[Vec<u8>]) -> Result<TrustAnchors> {
    TrustAnchors::from_der_certificates(roots.iter().map(Vec::as_slice))
        .map_err(|e| BackendError::invalid(e.to_string()))
}

#[uniffi::export]
impl EnrolmentVerifier {
    /// A verifier trusting the DER certificates `roots` (Google's RSA and
    /// ECDSA roots, or the operator's list), refusing the hex
    /// `revoked_serials`, deciding by `policy`.
    ///
    /// # Errors
    /// `InvalidInput` for a root that is not a DER certificate or a policy
    /// patch level outside `YYYYMM`.
    #[uniffi::constructor]
    pub fn new(roots: Vec<Vec<u8>>, revoked_serials: Vec<String>, policy: AttestationPolicy) -> Result<Arc<Self>> {
        let revoked = RevokedSerials::from_hex(revoked_serials.iter().map(String::as_str));
        Ok(Arc::new(Self { inner: core::EnrolmentVerifier::new(anchors(&roots)?, revoked, policy.try_into()?) }))
    }

    /// As `new`, with the revoked serials read from Google's attestation
    /// status list (its JSON, as the backend fetched and cached it).
    ///
    /// # Errors
    /// As `new`; `InvalidInput` for a status list too large or malformed.
    #[uniffi::constructor]
    pub fn with_status_list(
        roots: Vec<Vec<u8>>,
        status_list_json: Vec<u8>,
        policy: AttestationPolicy,
    ) -> Result<Arc<Self>> {
        let revoked = RevokedSerials::from_status_list_json(&status_list_json)
            .map_err(|e| BackendError::invalid(e.to_string()))?;
        Ok(Arc::new(Self { inner: core::EnrolmentVerifier::new(anchors(&roots)?, revoked, policy.try_into()?) }))
    }

    /// A copy that also accepts Apple App Attest evidence chaining to
    /// `roots` (Apple's App Attestation Root CA) for `app_id` (team id, a
    /// dot, bundle id).
    ///
    /// # Errors
    /// `InvalidInput` for a root that is not a DER certificate.
    pub fn with_apple_app_attest(&self, roots: Vec<Vec<u8>>, app_id: String) -> Result<Arc<Self>> {
        Ok(Arc::new(Self { inner: self.inner.clone().with_apple_app_attest(anchors(&roots)?, app_id) }))
    }

    /// The policy it decides by.
    pub fn policy(&self) -> AttestationPolicy {
        self.inner.policy().clone().into()
    }

    /// Verifies `evidence` made for `challenge` (the one the caller issued
    /// and has just taken, once) at time `at`.
    ///
    /// # Errors
    /// The `EnrolmentRefusal` naming the first failed check.
    #[uniffi::method(name = "verify")]
    pub fn ffi_verify(
        &self,
        evidence: core::Evidence,
        challenge: Vec<u8>,
        at: SystemTime,
    ) -> Result<EnrolmentSummary, EnrolmentRefusal> {
        Ok(self.inner.verify(&evidence, &challenge, at)?.into())
    }
}

/// Checks an upload's device signature (Rust's `verify_upload_signature`):
/// `key` as stored at enrolment (`None`: none), `signature` as sent
/// (`None`: unsigned), `required` the policy's `require_signed_uploads`.
/// Returns the new counter of an accepted App Attest assertion, to store
/// (compare-and-set) before acting on the upload.
///
/// # Errors
/// The `UploadRefusal` naming why; a stored key that cannot be read is
/// `NoAttestedKey`, a negative seq `SignatureInvalid` (no device signs one).
#[uniffi::export(name = "verify_upload_signature")]
pub fn ffi_verify_upload_signature(
    key: Option<UploadKey>,
    signature: Option<Vec<u8>>,
    device_id: String,
    first_seq: i64,
    last_seq: i64,
    batch: Vec<u8>,
    required: bool,
) -> Result<Option<i64>, UploadRefusal> {
    let key = key.as_ref().map(core::UploadKey::try_from).transpose()?;
    let seq = |s: i64| u64::try_from(s).map_err(|_| UploadRefusal::SignatureInvalid);
    let (first_seq, last_seq) = (seq(first_seq)?, seq(last_seq)?);
    let counter = core::verify_upload_signature(
        key.as_ref(),
        signature.as_deref(),
        &device_id,
        first_seq,
        last_seq,
        &batch,
        required,
    )?;
    Ok(counter.map(i64::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_round_trips_through_the_bindings_form() {
        let rust =
            core::AttestationPolicy::production().with_min_os_patch_level(202_501).with_allowed_packages(["a.b"]);
        let ffi = AttestationPolicy::from(rust.clone());
        assert_eq!(ffi.min_os_patch_level, Some(202_501));
        assert_eq!(core::AttestationPolicy::try_from(ffi), Ok(rust));
        let mut bad = attestation_policy_development();
        bad.min_os_patch_level = Some(-1);
        assert!(matches!(core::AttestationPolicy::try_from(bad), Err(BackendError::InvalidInput { .. })));
    }

    #[test]
    fn an_unreadable_stored_key_or_negative_seq_is_refused_typed() {
        let garbage = UploadKey::EcdsaP256 { spki_der: b"not a key".to_vec() };
        let refused = ffi_verify_upload_signature(Some(garbage), Some(vec![0x30]), "d".into(), 1, 1, vec![], false);
        assert_eq!(refused, Err(UploadRefusal::NoAttestedKey));
        let refused = ffi_verify_upload_signature(None, None, "d".into(), -1, 1, vec![], true);
        assert_eq!(refused, Err(UploadRefusal::SignatureInvalid));
    }
}
