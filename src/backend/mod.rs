//! The backend's half: issuing offline grants and verifying uploaded batches.
//!
//! Servers link the same crate (from Rust, or through the JVM and Python
//! bindings) so the device and the backend can never disagree on the grant
//! format, the batch format or the MAC chain. Neither type keeps state
//! between calls: the verifier's only state is the per-device cursor the
//! caller stores, so any number of backend instances can run it.

mod issuer;
mod jwks;
mod verifier;

pub use issuer::{GrantIssuer, IssuerOptions};
pub use jwks::{issuer_keys_from_jwks, jwks_from_issuer_keys, verify_grant, GrantInfo};
pub use verifier::SyncVerifier;

use crate::crypto::random_bytes;
use crate::error::VaultError;

/// A fresh 32-byte sync key from the operating system's RNG, for the backend
/// to provision at enrolment and keep per device (it verifies the device's
/// MAC chain with it).
///
/// # Errors
/// `Storage` if the operating system's RNG fails.
#[uniffi::export]
pub fn generate_sync_key() -> Result<Vec<u8>, VaultError> {
    Ok(random_bytes(32)?)
}
