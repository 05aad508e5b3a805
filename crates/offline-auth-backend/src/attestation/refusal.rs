//! Typed refusals of an enrolment and of an upload signature: one variant
//! per reason, a stable snake_case name each ([`EnrolmentRefusal::as_str`],
//! [`UploadRefusal::as_str`]) for answers, metric labels and logs. Public
//! data only: never a challenge, a key or a signature.

use offline_auth_attestation::Refusal;

use super::policy::EvidenceLevel;

/// Why an enrolment was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnrolmentRefusal {
    /// The challenge was never issued (or was purged long ago).
    #[error("unknown challenge")]
    ChallengeUnknown,
    /// The challenge was issued but has expired.
    #[error("the challenge has expired")]
    ChallengeExpired,
    /// The challenge was already used by an enrolment.
    #[error("the challenge was already used")]
    ChallengeReused,
    /// The policy gives this level no window (below its minimum, or no
    /// window configured): a software keystore under a production policy.
    #[error("attestation level {level} is refused by the policy")]
    LevelRefused {
        /// What the device proved.
        level: EvidenceLevel,
    },
    /// The attestation did not verify: the verifier's own reason.
    #[error("attestation refused: {0}")]
    Attestation(Refusal),
    /// The evidence is well-formed but of a kind this verifier does not
    /// check (Apple App Attest on a verifier not given an App ID).
    #[error("evidence of kind {kind} is not supported")]
    UnsupportedEvidence {
        /// The kind's name.
        kind: &'static str,
    },
    /// The evidence is not what its kind requires (no certificate, bad
    /// encoding); the detail is fit for logs.
    #[error("malformed evidence: {reason}")]
    MalformedEvidence {
        /// Why.
        reason: &'static str,
    },
    /// The policy requires signed uploads but the attested key cannot make
    /// the signatures the backend checks (not an EC P-256 key).
    #[error("the attested key cannot sign uploads")]
    KeyCannotSignUploads,
}

impl EnrolmentRefusal {
    /// A stable snake_case name: the enrolment refusal's, or for
    /// [`EnrolmentRefusal::Attestation`] the attestation refusal's, prefixed
    /// `attestation_`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ChallengeUnknown => "challenge_unknown",
            Self::ChallengeExpired => "challenge_expired",
            Self::ChallengeReused => "challenge_reused",
            Self::LevelRefused { .. } => "level_refused",
            Self::Attestation(refusal) => attestation_label(refusal),
            Self::UnsupportedEvidence { .. } => "unsupported_evidence",
            Self::MalformedEvidence { .. } => "malformed_evidence",
            Self::KeyCannotSignUploads => "key_cannot_sign_uploads",
        }
    }
}

/// With `serde`: `{"reason": as_str, "message": the text}` (the
/// attestation verifier's own refusal has no serde form of its own).
#[cfg(feature = "serde")]
impl serde::Serialize for EnrolmentRefusal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut fields = serializer.serialize_struct("EnrolmentRefusal", 2)?;
        fields.serialize_field("reason", self.as_str())?;
        fields.serialize_field("message", &self.to_string())?;
        fields.end()
    }
}

/// The stable name of an attestation verifier's refusal.
fn attestation_label(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::EmptyChain => "attestation_empty_chain",
        Refusal::ChainTooLong { .. } => "attestation_chain_too_long",
        Refusal::CertificateTooLarge { .. } => "attestation_certificate_too_large",
        Refusal::MalformedCertificate { .. } => "attestation_malformed_certificate",
        Refusal::DuplicateExtension { .. } => "attestation_duplicate_extension",
        Refusal::UnknownCriticalExtension { .. } => "attestation_unknown_critical_extension",
        Refusal::MissingKeyDescription => "attestation_missing_key_description",
        Refusal::KeyDescriptionNotInLeaf { .. } => "attestation_key_description_not_in_leaf",
        Refusal::MalformedKeyDescription => "attestation_malformed_key_description",
        Refusal::UnsupportedAlgorithm => "attestation_unsupported_algorithm",
        Refusal::BadSignature => "attestation_bad_signature",
        Refusal::NotValidAtTime { .. } => "attestation_not_valid_at_time",
        Refusal::NotACa => "attestation_not_a_ca",
        Refusal::UntrustedRoot => "attestation_untrusted_root",
        Refusal::PathRefused { .. } => "attestation_path_refused",
        Refusal::Revoked { .. } => "attestation_revoked",
        Refusal::ChallengeMismatch => "attestation_challenge_mismatch",
        Refusal::SecurityLevelTooLow { .. } => "attestation_security_level_too_low",
        Refusal::KeyNotGenerated => "attestation_key_not_generated",
        Refusal::BootNotVerified { .. } => "attestation_boot_not_verified",
        Refusal::BootloaderUnlocked => "attestation_bootloader_unlocked",
        Refusal::PackageNotAllowed => "attestation_package_not_allowed",
        Refusal::SignerNotAllowed => "attestation_signer_not_allowed",
        Refusal::PatchLevelTooOld { .. } => "attestation_patch_level_too_old",
        Refusal::MalformedAttestationObject { .. } => "attestation_malformed_attestation_object",
        Refusal::UnsupportedAttestationFormat => "attestation_unsupported_format",
        Refusal::MalformedAuthenticatorData => "attestation_malformed_authenticator_data",
        Refusal::MissingNonce => "attestation_missing_nonce",
        Refusal::MalformedNonce => "attestation_malformed_nonce",
        Refusal::UnsupportedKey => "attestation_unsupported_key",
        Refusal::NonceMismatch => "attestation_nonce_mismatch",
        Refusal::KeyIdMismatch => "attestation_key_id_mismatch",
        Refusal::CredentialIdMismatch => "attestation_credential_id_mismatch",
        Refusal::AppIdMismatch => "attestation_app_id_mismatch",
        Refusal::AttestationCounterNotZero { .. } => "attestation_counter_not_zero",
        Refusal::UnknownAaguid => "attestation_unknown_aaguid",
        Refusal::DevelopmentEnvironment => "attestation_development_environment",
        // `Refusal` is non-exhaustive: a reason added later is still named.
        _ => "attestation_refused",
    }
}

/// Why an upload's device signature was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "ffi", derive(uniffi::Error))]
#[cfg_attr(feature = "ffi", uniffi::export(Display))]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum UploadRefusal {
    /// The policy requires a signature and the upload has none.
    #[error("the upload is not signed by the device's attested key")]
    SignatureMissing,
    /// The policy requires a signature and the device enrolled without a
    /// key that can make one (an enrolment from before the policy).
    #[error("the device has no attested key to sign uploads with")]
    NoAttestedKey,
    /// The signature does not verify under the stored key for this message.
    #[error("the upload signature does not verify")]
    SignatureInvalid,
    /// An App Attest assertion whose counter did not rise above the last
    /// one accepted for the device: a replayed (or reordered) assertion.
    #[error("the upload's assertion counter did not increase")]
    AssertionReplayed,
}

impl UploadRefusal {
    /// Every refusal, for metric labels made in advance.
    pub const ALL: [Self; 4] =
        [Self::SignatureMissing, Self::NoAttestedKey, Self::SignatureInvalid, Self::AssertionReplayed];

    /// A stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SignatureMissing => "signature_missing",
            Self::NoAttestedKey => "no_attested_key",
            Self::SignatureInvalid => "signature_invalid",
            Self::AssertionReplayed => "assertion_replayed",
        }
    }
}
