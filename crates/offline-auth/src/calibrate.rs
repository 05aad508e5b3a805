//! Per-device PBKDF2 cost: measure this device, pick the iteration count.
//!
//! The floor (600 000, OWASP 2023) is what every device can afford; a fast
//! phone can afford far more at the same unlock delay, and each extra
//! iteration is paid again by anyone guessing PINs. An app calls
//! [`calibrate_pbkdf2_iterations`] once (at enrolment), puts the answer in
//! `VaultConfig::pbkdf2_iterations`, and the vault uses it for new PIN wraps
//! (and raises older wraps at the next unlock). The count is stored with the
//! wrap (`PinWrap::V1 { iterations }`), so a later, different calibration
//! never locks anyone out.
//!
//! The measurement runs the very PBKDF2 code that unlock runs, takes the
//! fastest of a few timed runs (the device's capability, not a moment when
//! another app held the core), and never answers below the floor or above
//! [`MAX_PBKDF2_ITERATIONS`].

use std::time::{Duration, Instant};

use crate::config::MAX_PBKDF2_ITERATIONS;
use crate::crypto::{pbkdf2_hmac_sha256, MIN_PBKDF2_ITERATIONS};
use crate::error::{Error, VaultError};

/// A probe run is timed once it takes at least this long (timer resolution
/// and call overhead are then negligible).
const PROBE_MIN: Duration = Duration::from_millis(20);
/// The first probe's iteration count; doubled until a run reaches [`PROBE_MIN`].
const PROBE_START: u32 = 10_000;
/// Timed runs at the final probe count; the fastest one counts.
const PROBE_RUNS: u32 = 3;
/// Answers are rounded down to a multiple of this (before clamping).
const ROUND_TO: u64 = 1_000;

/// How many PBKDF2-HMAC-SHA256 iterations take about `target_millis` on this
/// device, clamped to the floor (600 000) and to [`MAX_PBKDF2_ITERATIONS`].
///
/// Takes roughly 0.1–0.3 s of one core. Pass the answer as
/// `VaultConfig::pbkdf2_iterations`; the unlock delay is then about
/// `target_millis` plus the keystore's own time. 0 or a tiny target gives the
/// floor; a huge one gives the maximum.
///
/// # Errors
/// Never in practice; `InvalidInput` only if the internal derivation refuses
/// its parameters.
#[uniffi::export]
pub fn calibrate_pbkdf2_iterations(target_millis: u32) -> Result<u32, VaultError> {
    let (iterations, elapsed) = measure()?;
    Ok(iterations_for(target_millis, iterations, elapsed))
}

/// Times PBKDF2 on this device: `(iterations, fastest elapsed)`.
fn measure() -> Result<(u32, Duration), Error> {
    let mut out = [0u8; 32];
    let mut iterations = PROBE_START;
    let mut elapsed = time_once(iterations, &mut out)?;
    // Grow the probe until it is long enough to time (at most ~10 doublings).
    while elapsed < PROBE_MIN && iterations < MAX_PBKDF2_ITERATIONS / 2 {
        iterations = iterations.saturating_mul(2);
        elapsed = time_once(iterations, &mut out)?;
    }
    for _ in 1..PROBE_RUNS {
        elapsed = elapsed.min(time_once(iterations, &mut out)?);
    }
    Ok((iterations, elapsed))
}

fn time_once(iterations: u32, out: &mut [u8; 32]) -> Result<Duration, Error> {
    // A fixed, public probe input: nothing secret is derived here.
    let start = Instant::now();
    pbkdf2_hmac_sha256(b"offline-auth/calibrate", b"offline-auth/calibrate/salt", iterations, out)?;
    let elapsed = start.elapsed();
    std::hint::black_box(&out);
    Ok(elapsed)
}

/// The iteration count for `target_millis`, given that `iterations` took
/// `elapsed`: proportional, rounded down to a multiple of 1 000, clamped to
/// `[MIN_PBKDF2_ITERATIONS, MAX_PBKDF2_ITERATIONS]`.
fn iterations_for(target_millis: u32, iterations: u32, elapsed: Duration) -> u32 {
    let elapsed_nanos = elapsed.as_nanos().max(1);
    let wanted = u128::from(iterations) * u128::from(target_millis) * 1_000_000 / elapsed_nanos;
    let rounded = wanted / u128::from(ROUND_TO) * u128::from(ROUND_TO);
    let clamped = rounded.clamp(u128::from(MIN_PBKDF2_ITERATIONS), u128::from(MAX_PBKDF2_ITERATIONS));
    u32::try_from(clamped).unwrap_or(MAX_PBKDF2_ITERATIONS)
}

/// Internals the benchmarks in `benches/` time directly. Not part of the API:
/// only compiled with the `bench-internals` feature, hidden from the docs.
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod bench_internals {
    use crate::crypto::{AadKind, SecretKey};
    use crate::error::VaultError;
    use crate::keys::VaultKeys;

    /// PBKDF2-HMAC-SHA256 as the vault computes `PK` (any iteration count).
    ///
    /// # Errors
    /// `InvalidInput` for zero iterations.
    pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) -> Result<(), VaultError> {
        Ok(crate::crypto::pbkdf2_hmac_sha256(password, salt, iterations, out).map_err(crate::error::Error::from)?)
    }

    /// Seals and opens record bodies exactly as a session does (its
    /// `VaultKeys`: AES-256-GCM with the key schedule made once, random
    /// 96-bit nonce, record AAD, versioned envelope bytes).
    pub struct RecordSealer {
        keys: VaultKeys,
        location: [u8; 64],
    }

    impl RecordSealer {
        /// A sealer under a fresh random key.
        ///
        /// # Errors
        /// `Storage` if the RNG fails.
        pub fn new() -> Result<Self, VaultError> {
            let vk = SecretKey::generate().map_err(crate::error::Error::from)?;
            Ok(Self { keys: VaultKeys::unbound(b"bench-vault", vk)?, location: [7u8; 64] })
        }

        /// The stored bytes of `plaintext`.
        ///
        /// # Errors
        /// As the vault's own sealing.
        pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
            Ok(self.keys.seal(AadKind::Record, &self.location, plaintext)?)
        }

        /// The plaintext of stored bytes, in the buffer it was decrypted
        /// into, as `get` returns a value (`records::value_in_place`): one
        /// copy (ciphertext to plaintext), no second copy and no wipe of a
        /// buffer the caller now owns.
        ///
        /// # Errors
        /// `Tampered` if they do not authenticate.
        pub fn open(&self, bytes: &[u8]) -> Result<Vec<u8>, VaultError> {
            let mut plaintext = self.keys.open(AadKind::Record, &self.location, bytes)?;
            Ok(std::mem::take(&mut *plaintext))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportional_and_rounded_down() {
        // 100 000 iterations in 50 ms → 2 000 per ms → 1 200 ms is 2 400 000.
        assert_eq!(iterations_for(1_200, 100_000, Duration::from_millis(50)), 2_400_000);
        assert_eq!(iterations_for(1_000, 100_000, Duration::from_micros(49_999)), 2_000_000);
        assert_eq!(iterations_for(1_000, 1_234_567, Duration::from_millis(1_000)), 1_234_000);
    }

    #[test]
    fn never_below_the_floor_nor_above_the_maximum() {
        assert_eq!(iterations_for(0, 100_000, Duration::from_millis(50)), MIN_PBKDF2_ITERATIONS);
        assert_eq!(iterations_for(10, 100_000, Duration::from_millis(50)), MIN_PBKDF2_ITERATIONS);
        assert_eq!(iterations_for(u32::MAX, 100_000, Duration::from_millis(50)), MAX_PBKDF2_ITERATIONS);
        assert_eq!(iterations_for(1_000, 100_000, Duration::ZERO), MAX_PBKDF2_ITERATIONS);
    }

    #[test]
    fn calibration_on_this_device_is_within_bounds() {
        assert_eq!(calibrate_pbkdf2_iterations(0).unwrap(), MIN_PBKDF2_ITERATIONS);
        assert_eq!(calibrate_pbkdf2_iterations(u32::MAX).unwrap(), MAX_PBKDF2_ITERATIONS);
        let picked = calibrate_pbkdf2_iterations(500).unwrap();
        assert!((MIN_PBKDF2_ITERATIONS..=MAX_PBKDF2_ITERATIONS).contains(&picked));
        assert_eq!(picked % 1_000, 0);
    }

    #[test]
    fn the_answer_is_accepted_by_the_vault_config() {
        let public_key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key().to_bytes().to_vec();
        let issuer_key = crate::IssuerKey { kid: "issuer-1".into(), public_key };
        let mut config = crate::VaultConfig::new("device", vec![issuer_key]);
        config.pbkdf2_iterations = calibrate_pbkdf2_iterations(1).unwrap();
        assert!(config.validate().is_ok());
        config.pbkdf2_iterations = calibrate_pbkdf2_iterations(u32::MAX).unwrap();
        assert!(config.validate().is_ok());
    }
}
