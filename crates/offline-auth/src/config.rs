//! Vault configuration: the app's choices, with safe defaults and floors.

use crate::crypto::MIN_PBKDF2_ITERATIONS;
use offline_auth_proto::escrow::EscrowPublicKey;
use offline_auth_proto::escrow_key::verify_escrow_key;

use crate::error::{Error, Result};
use crate::grant::{GrantPolicy, IssuerKey, TrustedIssuers, MAX_CLAIM_LEN};

/// Default limit of consecutive wrong PINs before the vault wipes itself
/// (NIST SP 800-63B-4 draft: at most 100; we pick 10 for short PINs).
pub const DEFAULT_MAX_FAILED_ATTEMPTS: u32 = 10;
/// Default PBKDF2-HMAC-SHA256 iterations (OWASP 2023), also the floor.
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = MIN_PBKDF2_ITERATIONS;
/// Default minimum PIN length.
pub const DEFAULT_MIN_PIN_LENGTH: u32 = 6;
/// The shortest minimum PIN length an app may configure.
pub const MIN_PIN_LENGTH_FLOOR: u32 = 4;
/// Default idle timeout of a session.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 300;
/// Default tolerance for a wall clock earlier than the trusted time.
pub const DEFAULT_CLOCK_ROLLBACK_TOLERANCE_SECS: u64 = 300;
/// How old, in trusted time, a keystore epoch may grow while a session is
/// open: a call after that moves the device key to a new alias, so a copy of
/// the files taken during the session names a deleted key soon after
/// (docs/TIME.md, "Keystore epochs and restored copies").
pub const DEVICE_KEY_ROTATION_SECS: u64 = 300;
/// Default tolerance for a grant issued slightly in the future.
pub const DEFAULT_GRANT_CLOCK_SKEW_SECS: u64 = 60;
/// Highest PBKDF2 iteration count accepted (a typo guard: ~10 s on a phone).
pub const MAX_PBKDF2_ITERATIONS: u32 = 100_000_000;

/// How a vault behaves. Build one with [`VaultConfig::new`] and the `with_*`
/// methods in Rust (new fields may come: the struct is `#[non_exhaustive]`);
/// the foreign languages get the same defaults as default arguments.
///
/// ```
/// # use offline_auth::VaultConfig;
/// let config = VaultConfig::new("tablet-42", vec![]).with_max_failed_attempts(5).with_grant_audience("field-app");
/// assert_eq!((config.max_failed_attempts, config.pbkdf2_iterations), (5, 600_000));
/// ```
///
/// A struct expression would break when a field is added, so it does not compile:
///
/// ```compile_fail,E0639
/// let config = offline_auth::VaultConfig {
///     device_id: "tablet-42".into(),
///     issuer_keys: vec![],
///     max_failed_attempts: 10,
///     pbkdf2_iterations: 600_000,
///     min_pin_length: 6,
///     idle_timeout_secs: 300,
///     clock_rollback_tolerance_secs: 300,
///     grant_clock_skew_secs: 60,
///     grant_issuer: None,
///     grant_audience: None,
///     escrow_key: None,
/// };
/// ```
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
#[non_exhaustive]
pub struct VaultConfig {
    /// This device's id, as the backend puts it in the grant's `dev` claim.
    pub device_id: String,
    /// Public keys trusted to sign grants (several during a rotation).
    pub issuer_keys: Vec<IssuerKey>,
    /// Consecutive wrong PINs before the vault wipes itself (1..=100).
    #[uniffi(default = 10)]
    pub max_failed_attempts: u32,
    /// PBKDF2 iterations for new PIN wraps (≥ 600 000). Raising it re-wraps at
    /// the next PIN unlock.
    #[uniffi(default = 600000)]
    pub pbkdf2_iterations: u32,
    /// Minimum PIN length (≥ 4).
    #[uniffi(default = 6)]
    pub min_pin_length: u32,
    /// A session locks after this long without a call.
    #[uniffi(default = 300)]
    pub idle_timeout_secs: u64,
    /// How far the wall clock may fall behind the trusted time.
    #[uniffi(default = 300)]
    pub clock_rollback_tolerance_secs: u64,
    /// How far in the future a grant's `iat` (or `nbf`) may be.
    #[uniffi(default = 60)]
    pub grant_clock_skew_secs: u64,
    /// When set, grants must carry this issuer (`iss`).
    #[uniffi(default = None)]
    pub grant_issuer: Option<String>,
    /// When set, grants must name this audience (`aud`).
    #[uniffi(default = None)]
    pub grant_audience: Option<String>,
    /// The backend's escrow key, as the issuer signs it (a compact JWS typed
    /// `escrow-key+jwt`, signed by one of `issuer_keys`). When set, every
    /// queued edit is also sealed to it and kept where a wipe does not reach,
    /// so `PinVault::salvage` can deliver it after the vault's keys are lost.
    /// When `None`, nothing is escrowed and a wipe loses unsynced edits.
    #[uniffi(default = None)]
    pub escrow_key: Option<String>,
}

impl VaultConfig {
    /// A configuration with every default.
    pub fn new(device_id: impl Into<String>, issuer_keys: Vec<IssuerKey>) -> Self {
        Self {
            device_id: device_id.into(),
            issuer_keys,
            max_failed_attempts: DEFAULT_MAX_FAILED_ATTEMPTS,
            pbkdf2_iterations: DEFAULT_PBKDF2_ITERATIONS,
            min_pin_length: DEFAULT_MIN_PIN_LENGTH,
            idle_timeout_secs: DEFAULT_IDLE_TIMEOUT_SECS,
            clock_rollback_tolerance_secs: DEFAULT_CLOCK_ROLLBACK_TOLERANCE_SECS,
            grant_clock_skew_secs: DEFAULT_GRANT_CLOCK_SKEW_SECS,
            grant_issuer: None,
            grant_audience: None,
            escrow_key: None,
        }
    }

    /// With `max_failed_attempts` consecutive wrong PINs before the vault wipes itself.
    #[must_use]
    pub fn with_max_failed_attempts(mut self, attempts: u32) -> Self {
        self.max_failed_attempts = attempts;
        self
    }

    /// With `iterations` of PBKDF2 for new PIN wraps.
    #[must_use]
    pub fn with_pbkdf2_iterations(mut self, iterations: u32) -> Self {
        self.pbkdf2_iterations = iterations;
        self
    }

    /// With PINs of at least `length` characters.
    #[must_use]
    pub fn with_min_pin_length(mut self, length: u32) -> Self {
        self.min_pin_length = length;
        self
    }

    /// With sessions locking after `secs` without a call.
    #[must_use]
    pub fn with_idle_timeout_secs(mut self, secs: u64) -> Self {
        self.idle_timeout_secs = secs;
        self
    }

    /// With the wall clock allowed `secs` behind the trusted time.
    #[must_use]
    pub fn with_clock_rollback_tolerance_secs(mut self, secs: u64) -> Self {
        self.clock_rollback_tolerance_secs = secs;
        self
    }

    /// With grants accepted up to `secs` in the future.
    #[must_use]
    pub fn with_grant_clock_skew_secs(mut self, secs: u64) -> Self {
        self.grant_clock_skew_secs = secs;
        self
    }

    /// Demanding grants from this issuer (`iss`).
    #[must_use]
    pub fn with_grant_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.grant_issuer = Some(issuer.into());
        self
    }

    /// Demanding grants for this audience (`aud`).
    #[must_use]
    pub fn with_grant_audience(mut self, audience: impl Into<String>) -> Self {
        self.grant_audience = Some(audience.into());
        self
    }

    /// Escrowing every queued edit to this signed escrow key (`escrow-key+jwt`).
    #[must_use]
    pub fn with_escrow_key(mut self, escrow_key: impl Into<String>) -> Self {
        self.escrow_key = Some(escrow_key.into());
        self
    }

    /// What the device demands of a grant: typed, and the pinned `iss`/`aud`.
    pub(crate) fn grant_policy(&self) -> GrantPolicy {
        GrantPolicy { issuer: self.grant_issuer.clone(), audience: self.grant_audience.clone(), accept_untyped: false }
    }

    /// The escrow key, checked against the issuer keys (`None` when not configured).
    pub(crate) fn escrow_public_key(&self, issuers: &TrustedIssuers) -> Result<Option<EscrowPublicKey>> {
        self.escrow_key.as_deref().map(|token| Ok(verify_escrow_key(token, issuers)?)).transpose()
    }

    /// Checks every field and indexes the issuer keys.
    pub(crate) fn validate(&self) -> Result<TrustedIssuers> {
        if self.device_id.is_empty() || self.device_id.len() > MAX_CLAIM_LEN {
            return Err(Error::InvalidInput(format!("device_id must be 1 to {MAX_CLAIM_LEN} bytes")));
        }
        if !(1..=100).contains(&self.max_failed_attempts) {
            return Err(Error::InvalidInput("max_failed_attempts must be 1 to 100".into()));
        }
        if !(MIN_PBKDF2_ITERATIONS..=MAX_PBKDF2_ITERATIONS).contains(&self.pbkdf2_iterations) {
            return Err(Error::InvalidInput(format!(
                "pbkdf2_iterations must be {MIN_PBKDF2_ITERATIONS} to {MAX_PBKDF2_ITERATIONS}"
            )));
        }
        if !(MIN_PIN_LENGTH_FLOOR..=64).contains(&self.min_pin_length) {
            return Err(Error::InvalidInput(format!("min_pin_length must be {MIN_PIN_LENGTH_FLOOR} to 64")));
        }
        if self.idle_timeout_secs == 0 {
            return Err(Error::InvalidInput("idle_timeout_secs must be positive".into()));
        }
        Ok(TrustedIssuers::new(&self.issuer_keys)?)
    }
}
