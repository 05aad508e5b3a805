//! The policy: the third place, our own code over plain data. A policy is
//! a value a backend can build from its configuration, log with `{:?}` and
//! show; [`AndroidPolicy::check`] applies it to a decoded
//! [`KeyDescription`] and names the first rule that fails. The evidence a
//! backend stores per device ([`AndroidEvidence`]) is what passed.
//!
//! Which list a fact is read from: the key's own level decides. For a key
//! in a TEE or StrongBox the origin, root of trust and patch levels come
//! from `hardwareEnforced`; for a software key from `softwareEnforced`. The
//! attestation application id is always in `softwareEnforced` (the OS, not
//! the TEE, knows which app asked).

use subtle::ConstantTimeEq;

use super::key_description::{AuthorizationList, KeyDescription, KeyOrigin, SecurityLevel, VerifiedBootState};
use crate::refusal::{Refusal, WhichLevel};

/// What an Android attestation must show to be accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AndroidPolicy {
    /// The challenge the server issued for this enrolment (compared in constant time).
    pub challenge: Vec<u8>,
    /// The weakest level accepted, for both the attestation and the key.
    pub min_security_level: SecurityLevel,
    /// Require verified boot state `Verified` and a locked bootloader.
    pub require_verified_boot: bool,
    /// If set, at least one attested package name must be in this list.
    pub allowed_packages: Option<Vec<String>>,
    /// If set, at least one attested signing-certificate SHA-256 digest must be in this list.
    pub allowed_signer_digests: Option<Vec<Vec<u8>>>,
    /// If set, the OS patch level (`YYYYMM`) must be at least this.
    pub min_os_patch_level: Option<u32>,
}

impl AndroidPolicy {
    /// The strict default for `challenge`: hardware (TEE or StrongBox),
    /// verified boot with a locked bootloader, any app, any patch level.
    pub fn new(challenge: impl Into<Vec<u8>>) -> Self {
        Self {
            challenge: challenge.into(),
            min_security_level: SecurityLevel::TrustedEnvironment,
            require_verified_boot: true,
            allowed_packages: None,
            allowed_signer_digests: None,
            min_os_patch_level: None,
        }
    }

    /// Sets the weakest level accepted.
    #[must_use]
    pub fn with_min_security_level(mut self, level: SecurityLevel) -> Self {
        self.min_security_level = level;
        self
    }

    /// Accepts unverified boot and unlocked bootloaders (development devices).
    #[must_use]
    pub fn allowing_unverified_boot(mut self) -> Self {
        self.require_verified_boot = false;
        self
    }

    /// Accepts only these package names.
    #[must_use]
    pub fn with_allowed_packages<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.allowed_packages = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Accepts only apps signed by one of these certificates (SHA-256 digests).
    #[must_use]
    pub fn with_allowed_signer_digests(mut self, digests: impl IntoIterator<Item = Vec<u8>>) -> Self {
        self.allowed_signer_digests = Some(digests.into_iter().collect());
        self
    }

    /// Accepts only OS patch levels at or after `yyyymm`.
    #[must_use]
    pub fn with_min_os_patch_level(mut self, yyyymm: u32) -> Self {
        self.min_os_patch_level = Some(yyyymm);
        self
    }

    /// Applies the policy to a decoded key description.
    ///
    /// # Errors
    /// The [`Refusal`] naming the first rule that fails, in this order:
    /// challenge, security levels, origin, boot, package, signer, patch level.
    pub fn check(&self, kd: &KeyDescription) -> Result<(), Refusal> {
        if !bool::from(self.challenge.as_slice().ct_eq(kd.attestation_challenge.as_slice())) {
            return Err(Refusal::ChallengeMismatch);
        }
        for (which, found) in
            [(WhichLevel::Attestation, kd.attestation_security_level), (WhichLevel::KeyMint, kd.keymint_security_level)]
        {
            if found < self.min_security_level {
                return Err(Refusal::SecurityLevelTooLow { which, found, required: self.min_security_level });
            }
        }
        let enforced = enforced_list(kd);
        if enforced.origin != Some(KeyOrigin::Generated) {
            return Err(Refusal::KeyNotGenerated);
        }
        if self.require_verified_boot {
            let root = enforced.root_of_trust.as_ref();
            let state = root.map(|r| r.verified_boot_state);
            if state != Some(VerifiedBootState::Verified) {
                return Err(Refusal::BootNotVerified { found: state });
            }
            if !root.is_some_and(|r| r.device_locked) {
                return Err(Refusal::BootloaderUnlocked);
            }
        }
        let app = kd.software_enforced.application_id.as_ref();
        if let Some(allowed) = &self.allowed_packages {
            let ok = app.is_some_and(|a| a.packages.iter().any(|p| allowed.contains(&p.name)));
            if !ok {
                return Err(Refusal::PackageNotAllowed);
            }
        }
        if let Some(allowed) = &self.allowed_signer_digests {
            let ok = app.is_some_and(|a| a.signature_digests.iter().any(|d| allowed.contains(d)));
            if !ok {
                return Err(Refusal::SignerNotAllowed);
            }
        }
        if let Some(required) = self.min_os_patch_level {
            let found = enforced.os_patch_level.and_then(|p| u32::try_from(p).ok());
            if found.is_none_or(|f| f < required) {
                return Err(Refusal::PatchLevelTooOld { found, required });
            }
        }
        Ok(())
    }
}

/// The authorization list enforced where the key lives.
fn enforced_list(kd: &KeyDescription) -> &AuthorizationList {
    if kd.keymint_security_level == SecurityLevel::Software {
        &kd.software_enforced
    } else {
        &kd.hardware_enforced
    }
}

/// What a verified attestation proved: the summary a backend stores per
/// device and logs. Public data only (no challenge).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AndroidEvidence {
    /// Where the attestation was made.
    pub attestation_security_level: SecurityLevel,
    /// Where the key lives.
    pub keymint_security_level: SecurityLevel,
    /// Attestation version.
    pub attestation_version: u64,
    /// Keymaster/KeyMint version.
    pub keymint_version: u64,
    /// OS version (`MMmmpp`).
    pub os_version: Option<u64>,
    /// OS patch level `YYYYMM`.
    pub os_patch_level: Option<u64>,
    /// Vendor patch level `YYYYMMDD`.
    pub vendor_patch_level: Option<u64>,
    /// Boot patch level `YYYYMMDD`.
    pub boot_patch_level: Option<u64>,
    /// Verified boot state, if a root of trust was attested.
    pub verified_boot_state: Option<VerifiedBootState>,
    /// Whether the bootloader is locked, if a root of trust was attested.
    pub device_locked: Option<bool>,
    /// The attested app's package names.
    pub package_names: Vec<String>,
    /// SHA-256 digests of the attested app's signing certificates.
    pub signer_digests: Vec<Vec<u8>>,
    /// The attested public key, DER `SubjectPublicKeyInfo`: the device's
    /// hardware identity, to check its later signatures with.
    pub attested_key_spki: Vec<u8>,
}

impl AndroidEvidence {
    pub(crate) fn new(kd: &KeyDescription, attested_key_spki: Vec<u8>) -> Self {
        let enforced = enforced_list(kd);
        let root = enforced.root_of_trust.as_ref();
        let app = kd.software_enforced.application_id.clone().unwrap_or_default();
        Self {
            attestation_security_level: kd.attestation_security_level,
            keymint_security_level: kd.keymint_security_level,
            attestation_version: kd.attestation_version,
            keymint_version: kd.keymint_version,
            os_version: enforced.os_version,
            os_patch_level: enforced.os_patch_level,
            vendor_patch_level: enforced.vendor_patch_level,
            boot_patch_level: enforced.boot_patch_level,
            verified_boot_state: root.map(|r| r.verified_boot_state),
            device_locked: root.map(|r| r.device_locked),
            package_names: app.packages.into_iter().map(|p| p.name).collect(),
            signer_digests: app.signature_digests,
            attested_key_spki,
        }
    }
}
