//! The attestation policy: our own rules over what a verified attestation
//! proved, as plain data (`Debug`, `Clone`, comparable) so a backend can log
//! the policy it runs with and show it to an operator.

use std::fmt;

/// How much a device proved at enrolment, weakest first, so
/// `Unattested < Software < TrustedEnvironment < StrongBox`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum EvidenceLevel {
    /// No evidence at all (`SoftwareKeystore`, the JVM and Python test
    /// keystores, a script).
    Unattested,
    /// An attestation made by the OS itself (emulators, rooted phones with a
    /// software keystore): it proves nothing about hardware.
    Software,
    /// A key in a trusted execution environment beside the main processor.
    TrustedEnvironment,
    /// A key in a separate secure element (StrongBox).
    #[cfg_attr(feature = "serde", serde(rename = "strongbox"))]
    StrongBox,
}

impl EvidenceLevel {
    /// A stable snake_case name, for storage, logs and answers.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unattested => "unattested",
            Self::Software => "software",
            Self::TrustedEnvironment => "trusted_environment",
            Self::StrongBox => "strongbox",
        }
    }
}

impl fmt::Display for EvidenceLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Production or development: which of the two presets a policy came from
/// (kept in the evidence summary, so an enrolment accepted under a
/// development policy is visible as such).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PolicyMode {
    /// Hardware only, verified boot, signed uploads.
    Production,
    /// Emulators and test keystores accepted, with a short window.
    Development,
}

impl PolicyMode {
    /// `"production"` or `"development"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Development => "development",
        }
    }
}

/// The longest offline window (seconds) granted per level; `None` refuses
/// that level outright.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LevelWindows {
    /// For a StrongBox key.
    pub strongbox: Option<i64>,
    /// For a TEE key.
    pub trusted_environment: Option<i64>,
    /// For a software attestation.
    pub software: Option<i64>,
    /// For no evidence at all.
    pub unattested: Option<i64>,
}

impl LevelWindows {
    /// No window for any level (every level refused): start here and give
    /// each accepted level its window with [`LevelWindows::with`].
    pub const fn refusing_all() -> Self {
        Self { strongbox: None, trusted_environment: None, software: None, unattested: None }
    }

    /// The same windows with `level`'s set to `secs` (`None` refuses it).
    #[must_use]
    pub const fn with(mut self, level: EvidenceLevel, secs: Option<i64>) -> Self {
        match level {
            EvidenceLevel::StrongBox => self.strongbox = secs,
            EvidenceLevel::TrustedEnvironment => self.trusted_environment = secs,
            EvidenceLevel::Software => self.software = secs,
            EvidenceLevel::Unattested => self.unattested = secs,
        }
        self
    }
}

/// 72 hours: the window a StrongBox device gets by default.
pub const STRONGBOX_WINDOW_SECS: i64 = 72 * 3600;
/// 24 hours: the window a TEE device gets by default.
pub const TEE_WINDOW_SECS: i64 = 24 * 3600;
/// 1 hour: what a development policy gives a software or unattested device.
pub const DEVELOPMENT_WINDOW_SECS: i64 = 3600;

/// What an enrolment must prove, and what it then gets.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AttestationPolicy {
    /// Which preset this policy started from.
    pub mode: PolicyMode,
    /// The weakest level accepted (below it: [`crate::attestation::EnrolmentRefusal::LevelRefused`]).
    pub min_level: EvidenceLevel,
    /// The offline window per level.
    pub windows: LevelWindows,
    /// Require verified boot state `Verified` and a locked bootloader.
    pub require_verified_boot: bool,
    /// If set, the attested app must have one of these package names.
    pub allowed_packages: Option<Vec<String>>,
    /// If set, the attested app must be signed by one of these certificates (SHA-256).
    pub allowed_signer_digests: Option<Vec<Vec<u8>>>,
    /// If set, the attested OS patch level (`YYYYMM`) must be at least this.
    pub min_os_patch_level: Option<u32>,
    /// Every upload must carry a valid signature by the attested key.
    pub require_signed_uploads: bool,
}

impl AttestationPolicy {
    /// Hardware only: TEE or StrongBox, verified boot and a locked
    /// bootloader, StrongBox 72 h and TEE 24 h, software and unattested
    /// devices refused, every upload signed by the attested key.
    pub fn production() -> Self {
        Self {
            mode: PolicyMode::Production,
            min_level: EvidenceLevel::TrustedEnvironment,
            windows: LevelWindows {
                strongbox: Some(STRONGBOX_WINDOW_SECS),
                trusted_environment: Some(TEE_WINDOW_SECS),
                software: None,
                unattested: None,
            },
            require_verified_boot: true,
            allowed_packages: None,
            allowed_signer_digests: None,
            min_os_patch_level: None,
            require_signed_uploads: true,
        }
    }

    /// For emulators, development phones and test keystores: every level
    /// accepted, unlocked bootloaders too, software and unattested devices
    /// for [`DEVELOPMENT_WINDOW_SECS`] only; uploads signed when the device
    /// has an attested key, but unsigned ones accepted.
    pub fn development() -> Self {
        Self {
            mode: PolicyMode::Development,
            min_level: EvidenceLevel::Unattested,
            windows: LevelWindows {
                strongbox: Some(STRONGBOX_WINDOW_SECS),
                trusted_environment: Some(TEE_WINDOW_SECS),
                software: Some(DEVELOPMENT_WINDOW_SECS),
                unattested: Some(DEVELOPMENT_WINDOW_SECS),
            },
            require_verified_boot: false,
            allowed_packages: None,
            allowed_signer_digests: None,
            min_os_patch_level: None,
            require_signed_uploads: false,
        }
    }

    /// Sets the window per level.
    #[must_use]
    pub fn with_windows(mut self, windows: LevelWindows) -> Self {
        self.windows = windows;
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

    /// Whether uploads must be signed.
    #[must_use]
    pub fn with_signed_uploads(mut self, required: bool) -> Self {
        self.require_signed_uploads = required;
        self
    }

    /// The offline window for `level`, or `None` when the policy refuses it
    /// (below [`AttestationPolicy::min_level`] or without a window).
    pub fn window_secs(&self, level: EvidenceLevel) -> Option<i64> {
        if level < self.min_level {
            return None;
        }
        match level {
            EvidenceLevel::StrongBox => self.windows.strongbox,
            EvidenceLevel::TrustedEnvironment => self.windows.trusted_environment,
            EvidenceLevel::Software => self.windows.software,
            EvidenceLevel::Unattested => self.windows.unattested,
        }
        .filter(|secs| *secs > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_refuses_software_and_gives_tee_less_than_strongbox() {
        let policy = AttestationPolicy::production();
        assert_eq!(policy.window_secs(EvidenceLevel::Unattested), None);
        assert_eq!(policy.window_secs(EvidenceLevel::Software), None);
        let tee = policy.window_secs(EvidenceLevel::TrustedEnvironment).unwrap_or(0);
        let strongbox = policy.window_secs(EvidenceLevel::StrongBox).unwrap_or(0);
        assert!(0 < tee && tee < strongbox);
    }

    #[test]
    fn level_windows_are_built_level_by_level_from_refusing_all() {
        let windows = LevelWindows::refusing_all()
            .with(EvidenceLevel::StrongBox, Some(STRONGBOX_WINDOW_SECS))
            .with(EvidenceLevel::TrustedEnvironment, Some(TEE_WINDOW_SECS));
        assert_eq!(windows, AttestationPolicy::production().windows);
        let policy = AttestationPolicy::development().with_windows(windows.with(EvidenceLevel::StrongBox, None));
        assert_eq!(policy.window_secs(EvidenceLevel::StrongBox), None);
        assert_eq!(policy.window_secs(EvidenceLevel::Software), None);
    }

    #[test]
    fn development_gives_unattested_devices_a_short_window() {
        let policy = AttestationPolicy::development();
        assert_eq!(policy.window_secs(EvidenceLevel::Unattested), Some(DEVELOPMENT_WINDOW_SECS));
        assert!(policy.window_secs(EvidenceLevel::Unattested) < policy.window_secs(EvidenceLevel::TrustedEnvironment));
    }
}
