//! The levels an attestation reports, shared by the Android key
//! description, the policy and the refusals (a module of their own, so the
//! refusals need not import the parser).

use der::Enumerated;

/// Where a key lives or where the attestation was made, weakest first, so
/// `Software < TrustedEnvironment < StrongBox`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Enumerated)]
#[repr(u32)]
pub enum SecurityLevel {
    /// The Android OS itself: no hardware protection.
    Software = 0,
    /// A trusted execution environment (TEE) beside the main processor.
    TrustedEnvironment = 1,
    /// A separate secure element (StrongBox).
    StrongBox = 2,
}

/// The verified boot state from the root of trust.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Enumerated)]
#[repr(u32)]
pub enum VerifiedBootState {
    /// Booted an image signed by the manufacturer's key.
    Verified = 0,
    /// Booted an image signed by a user-installed key.
    SelfSigned = 1,
    /// Booted with verification off (unlocked bootloader).
    Unverified = 2,
    /// Verification failed.
    Failed = 3,
}
