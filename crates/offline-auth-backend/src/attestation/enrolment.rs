//! Enrolment evidence, verified under the policy: parse and check in
//! `offline-auth-attestation`, decide here (the level's window, whether the
//! key can sign uploads).

use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use offline_auth_attestation::android::{AndroidEvidence, AndroidPolicy, AndroidVerifier, VerifiedBootState};
use offline_auth_attestation::apple::{ApplePolicy, AppleVerifier};
use offline_auth_attestation::{RevokedSerials, TrustAnchors, MAX_CERTIFICATE_LEN, MAX_CHAIN_LEN};
use offline_auth_proto::crypto::random_bytes;
use sha2::{Digest, Sha256};

use super::policy::{AttestationPolicy, EvidenceLevel, PolicyMode};
use super::refusal::EnrolmentRefusal;
use super::upload::UploadKey;
use crate::error::Result;

/// Bytes in a challenge from [`generate_challenge`].
pub const CHALLENGE_LEN: usize = 32;

/// How long a challenge may be used after it was issued: five minutes,
/// time for a phone to generate and attest a key on a slow secure element.
pub const CHALLENGE_TTL_SECS: i64 = 300;

/// Largest App Attest attestation object accepted (Apple's are about 5 KiB).
const MAX_APPLE_OBJECT_LEN: usize = 64 * 1024;

/// Longest App Attest key id accepted, base64 (Apple's: 44 characters for
/// a 32-byte SHA-256).
const MAX_APPLE_KEY_ID_LEN: usize = 128;

/// The level an accepted App Attest key gets: a Secure Enclave key on a
/// genuine Apple device, treated like a TEE key (App Attest says nothing
/// about patch level or a jailbreak; decision 0012).
pub const APP_ATTEST_LEVEL: EvidenceLevel = EvidenceLevel::TrustedEnvironment;

/// What App Attest evidence is checked against: Apple's root and the App ID.
#[derive(Clone, Debug)]
struct AppleConfig {
    verifier: AppleVerifier,
    app_id: String,
}

/// A fresh single-use challenge from the operating system's RNG.
///
/// # Errors
/// `Internal` if the operating system's RNG fails.
#[cfg_attr(feature = "ffi", uniffi::export)]
pub fn generate_challenge() -> Result<Vec<u8>> {
    Ok(random_bytes(CHALLENGE_LEN)?)
}

/// What a device sends at enrolment (the device SDK's `AttestationEvidence`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Evidence {
    /// Android Key Attestation: DER certificates, leaf first.
    AndroidKeyAttestation {
        /// The chain.
        chain: Vec<Vec<u8>>,
    },
    /// Apple App Attest: the key id and the CBOR attestation object.
    AppleAppAttest {
        /// The App Attest key id (base64 of the credential id).
        key_id: String,
        /// The attestation object.
        attestation_object: Vec<u8>,
    },
    /// No evidence (a software keystore).
    None,
}

impl Evidence {
    /// The kind's stable name, as the reference server's JSON spells it.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::AndroidKeyAttestation { .. } => "android_key_attestation",
            Self::AppleAppAttest { .. } => "apple_app_attest",
            Self::None => "none",
        }
    }
}

/// What an accepted enrolment proved and what it gets: the summary a
/// backend stores per device and logs (public data only).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct EnrolmentSummary {
    /// The evidence's kind ([`Evidence::kind`]).
    pub kind: &'static str,
    /// What it proved.
    pub level: EvidenceLevel,
    /// The policy preset it was accepted under.
    pub mode: PolicyMode,
    /// The offline window to grant, seconds.
    pub window_secs: i64,
    /// OS patch level `YYYYMM`, if attested.
    pub os_patch_level: Option<u64>,
    /// Verified boot state (`verified`, `self_signed`, `unverified`,
    /// `failed`) and whether the bootloader is locked, if attested.
    pub boot_state: Option<&'static str>,
    /// Whether the bootloader was locked, if attested.
    pub device_locked: Option<bool>,
    /// The attested app: package names, comma-separated.
    pub app_id: Option<String>,
    /// The key that signs this device's uploads, if it can.
    pub upload_key: Option<UploadKey>,
}

/// Verifies enrolment evidence against the roots and revoked serials it
/// holds, under its policy, at the time and for the challenge it is given.
#[derive(Clone, Debug)]
pub struct EnrolmentVerifier {
    android: AndroidVerifier,
    apple: Option<AppleConfig>,
    policy: AttestationPolicy,
}

impl EnrolmentVerifier {
    /// A verifier trusting `anchors` (Google's roots, or the operator's
    /// list), refusing `revoked` serials (the status list), deciding by
    /// `policy`. Build a new one when the roots or the list change.
    pub fn new(anchors: TrustAnchors, revoked: RevokedSerials, policy: AttestationPolicy) -> Self {
        Self { android: AndroidVerifier::new(anchors, revoked), apple: None, policy }
    }

    /// Also accepts Apple App Attest evidence: chains to `anchors` (Apple's
    /// App Attestation Root CA, or a test root) for `app_id` (team id, a
    /// dot, bundle id). Keys from Apple's development environment are
    /// accepted only under a development policy. Without this, App Attest
    /// evidence is refused as [`EnrolmentRefusal::UnsupportedEvidence`].
    #[must_use]
    pub fn with_apple_app_attest(mut self, anchors: TrustAnchors, app_id: impl Into<String>) -> Self {
        let verifier = AppleVerifier::new(anchors, RevokedSerials::none());
        self.apple = Some(AppleConfig { verifier, app_id: app_id.into() });
        self
    }

    /// The policy it decides by.
    pub fn policy(&self) -> &AttestationPolicy {
        &self.policy
    }

    /// Verifies `evidence` made for `challenge` (the one the caller issued
    /// and has just taken, once) at time `at`.
    ///
    /// # Errors
    /// The [`EnrolmentRefusal`] naming the first failed check.
    pub fn verify(
        &self,
        evidence: &Evidence,
        challenge: &[u8],
        at: SystemTime,
    ) -> std::result::Result<EnrolmentSummary, EnrolmentRefusal> {
        let summary = match evidence {
            Evidence::None => self.summary(evidence, EvidenceLevel::Unattested, None, None, None, None, None)?,
            Evidence::AndroidKeyAttestation { chain } => {
                if chain.is_empty()
                    || chain.len() > MAX_CHAIN_LEN
                    || chain.iter().any(|c| c.len() > MAX_CERTIFICATE_LEN)
                {
                    return Err(EnrolmentRefusal::MalformedEvidence { reason: "certificate chain size" });
                }
                let verified = self
                    .android
                    .verify(chain, at, &self.android_policy(challenge))
                    .map_err(EnrolmentRefusal::Attestation)?;
                self.android_summary(evidence, &verified)?
            }
            Evidence::AppleAppAttest { key_id, attestation_object } => {
                if key_id.is_empty() || attestation_object.is_empty() || attestation_object.len() > MAX_APPLE_OBJECT_LEN
                {
                    return Err(EnrolmentRefusal::MalformedEvidence { reason: "App Attest object size" });
                }
                self.apple_summary(evidence, key_id, attestation_object, challenge, at)?
            }
        };
        if self.policy.require_signed_uploads && summary.upload_key.is_none() {
            return Err(EnrolmentRefusal::KeyCannotSignUploads);
        }
        Ok(summary)
    }

    fn android_policy(&self, challenge: &[u8]) -> AndroidPolicy {
        use offline_auth_attestation::android::SecurityLevel;
        let min = match self.policy.min_level {
            EvidenceLevel::StrongBox => SecurityLevel::StrongBox,
            EvidenceLevel::TrustedEnvironment => SecurityLevel::TrustedEnvironment,
            EvidenceLevel::Software | EvidenceLevel::Unattested => SecurityLevel::Software,
        };
        let mut policy = AndroidPolicy::new(challenge.to_vec()).with_min_security_level(min);
        if !self.policy.require_verified_boot {
            policy = policy.allowing_unverified_boot();
        }
        if let Some(packages) = &self.policy.allowed_packages {
            policy = policy.with_allowed_packages(packages.iter().cloned());
        }
        if let Some(digests) = &self.policy.allowed_signer_digests {
            policy = policy.with_allowed_signer_digests(digests.iter().cloned());
        }
        if let Some(patch) = self.policy.min_os_patch_level {
            policy = policy.with_min_os_patch_level(patch);
        }
        policy
    }

    /// App Attest: the client data hash is SHA-256 of the challenge alone,
    /// as the Android path binds the challenge alone (the challenge is
    /// stored bound to the device id, so it names the enrolment).
    fn apple_summary(
        &self,
        evidence: &Evidence,
        key_id: &str,
        attestation_object: &[u8],
        challenge: &[u8],
        at: SystemTime,
    ) -> std::result::Result<EnrolmentSummary, EnrolmentRefusal> {
        let Some(apple) = &self.apple else {
            return Err(EnrolmentRefusal::UnsupportedEvidence { kind: evidence.kind() });
        };
        let key_id = Some(key_id)
            .filter(|k| k.len() <= MAX_APPLE_KEY_ID_LEN)
            .and_then(|k| STANDARD.decode(k).ok())
            .ok_or(EnrolmentRefusal::MalformedEvidence { reason: "App Attest key id is not base64" })?;
        let mut policy = ApplePolicy::new(apple.app_id.clone(), Sha256::digest(challenge).to_vec());
        if self.policy.mode == PolicyMode::Development {
            policy = policy.allowing_development();
        }
        let verified = apple
            .verifier
            .verify_attestation(attestation_object, &key_id, at, &policy)
            .map_err(EnrolmentRefusal::Attestation)?;
        let key = UploadKey::from_stored_app_attest(&verified.public_key_point, &apple.app_id, verified.counter);
        self.summary(evidence, APP_ATTEST_LEVEL, None, None, None, Some(apple.app_id.clone()), key)
    }

    fn android_summary(
        &self,
        evidence: &Evidence,
        verified: &AndroidEvidence,
    ) -> std::result::Result<EnrolmentSummary, EnrolmentRefusal> {
        use offline_auth_attestation::android::SecurityLevel;
        // The weaker of where the attestation was made and where the key lives.
        let level = match verified.attestation_security_level.min(verified.keymint_security_level) {
            SecurityLevel::StrongBox => EvidenceLevel::StrongBox,
            SecurityLevel::TrustedEnvironment => EvidenceLevel::TrustedEnvironment,
            SecurityLevel::Software => EvidenceLevel::Software,
        };
        let boot = verified.verified_boot_state.map(|state| match state {
            VerifiedBootState::Verified => "verified",
            VerifiedBootState::SelfSigned => "self_signed",
            VerifiedBootState::Unverified => "unverified",
            VerifiedBootState::Failed => "failed",
        });
        let app = (!verified.package_names.is_empty()).then(|| verified.package_names.join(","));
        let key = UploadKey::from_spki(&verified.attested_key_spki);
        self.summary(evidence, level, verified.os_patch_level, boot, verified.device_locked, app, key)
    }

    #[allow(clippy::too_many_arguments)]
    fn summary(
        &self,
        evidence: &Evidence,
        level: EvidenceLevel,
        os_patch_level: Option<u64>,
        boot_state: Option<&'static str>,
        device_locked: Option<bool>,
        app_id: Option<String>,
        upload_key: Option<UploadKey>,
    ) -> std::result::Result<EnrolmentSummary, EnrolmentRefusal> {
        let window_secs = self.policy.window_secs(level).ok_or(EnrolmentRefusal::LevelRefused { level })?;
        Ok(EnrolmentSummary {
            kind: evidence.kind(),
            level,
            mode: self.policy.mode,
            window_secs,
            os_patch_level,
            boot_state,
            device_locked,
            app_id,
            upload_key,
        })
    }
}
