//! The backend's half of offline-auth: issuing offline grants, publishing
//! the issuer keys, verifying the batches devices upload and answering with
//! receipts, and opening the escrowed entries a wiped device salvages
//! ([`SalvageOpener`]).
//!
//! Servers link this crate (from Rust, or from the JVM and Python through the
//! `ffi` feature's UniFFI bindings) so that the device and the backend share
//! one implementation of every format (`offline-auth-proto`). It has no
//! storage and no SQLite: the verifier's only state is the per-device
//! [`SyncCursor`] the caller stores, so any number of server instances can
//! run it side by side.
//!
//! ```
//! use offline_auth_backend::{generate_sync_key, jwks_from_issuer_keys, GrantIssuer};
//! # fn main() -> Result<(), offline_auth_backend::BackendError> {
//! let issuer = GrantIssuer::generate("2026-11")?;
//! let jwks = jwks_from_issuer_keys(&[issuer.issuer_key()])?; // publish it
//! let grant = issuer.issue("amira", "tablet-42", &["inspections".to_owned()], 1_800_000_000, 1_800_259_200)?;
//! let sync_key = generate_sync_key()?; // store it with the device
//! # let _ = (jwks, grant, sync_key); Ok(())
//! # }
//! ```
//!
//! # Types that grow
//! Results, errors, reasons and options are `#[non_exhaustive]`: a later
//! release may add a variant or a field without breaking a service. A
//! `match` needs a `_` arm, and options start from `Default`:
//!
//! ```compile_fail
//! # use offline_auth_backend::RejectReason;
//! fn label(reason: RejectReason) -> &'static str {
//!     match reason { // error: `_` not covered
//!         RejectReason::TooLarge | RejectReason::Malformed | RejectReason::GrantRejected => "input",
//!         RejectReason::SeqGap | RejectReason::ChainBroken | RejectReason::OutsideGrantWindow => "chain",
//!         RejectReason::FromTheFuture | RejectReason::OutOfScope | RejectReason::OverLimit => "policy",
//!     }
//! }
//! ```
//!
//! ```compile_fail
//! let options = offline_auth_backend::IssuerOptions { algorithm: "EdDSA".into(), issuer: None, audience: None };
//! ```
//!
//! ```
//! let options = offline_auth_backend::IssuerOptions::default().with_algorithm("Ed25519").with_issuer("https://auth.example");
//! assert_eq!((options.algorithm.as_str(), options.issuer.as_deref()), ("Ed25519", Some("https://auth.example")));
//! ```
#![forbid(unsafe_code)]

#[cfg(feature = "attestation")]
pub mod attestation;
mod chain;
mod clock;
mod cursor;
mod error;
mod escrow;
mod events;
#[cfg(feature = "ffi")]
mod ffi;
#[cfg(feature = "ffi")]
mod ffi_attestation;
#[cfg(feature = "ffi")]
mod ffi_escrow;
#[cfg(feature = "ffi")]
mod ffi_revocation;
mod issuer;
mod jwks;
mod revocation;
mod signer;
mod verifier;

pub use chain::MAX_APPLIED_ENTRIES;
pub use clock::{FixedServerClock, ServerClock, SystemServerClock};
pub use cursor::{AppliedEntry, SyncCursor, SyncOperation, SyncOperationRef, VerifiedBatch, VerifiedBatchRef};
pub use error::{BackendError, RejectReason, Result};
pub use escrow::{generate_escrow_key, EscrowKeyProvider, SalvageOpener, StaticEscrowKeys};
pub use issuer::{GrantIssuer, IssuerOptions};
pub use jwks::{issuer_keys_from_jwks, jwks_from_issuer_keys, verify_grant, GrantInfo};
pub use offline_auth_proto::escrow::EscrowPublicKey;
pub use offline_auth_proto::grant::{GrantPolicy, IssuerKey, GRANT_TYP};
pub use offline_auth_proto::limits::{
    MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, MAX_BATCH_GRANTS, MAX_COLLECTION_LEN, MAX_KEY_LEN, MAX_VALUE_LEN,
};
pub use revocation::{RefusedEdits, Revocation, RevocationPolicy, RevokedUpload, MAX_REVOCATION_REASON_LEN};
pub use signer::{Ed25519Signer, GrantSigner};
pub use verifier::{SyncVerifier, DEFAULT_GRANT_CLOCK_SKEW_SECS};

use offline_auth_proto::crypto::random_bytes;

/// A fresh 32-byte sync key from the operating system's RNG, for the backend
/// to provision at enrolment and keep per device (it verifies the device's
/// MAC chain with it).
///
/// # Errors
/// `Internal` if the operating system's RNG fails.
#[cfg_attr(feature = "ffi", uniffi::export)]
pub fn generate_sync_key() -> Result<Vec<u8>> {
    Ok(random_bytes(32)?)
}

#[cfg(feature = "ffi")]
uniffi::setup_scaffolding!();
