//! offline-auth's wire formats and cryptography, shared by the device SDK
//! (`offline-auth`) and the backend (`offline-auth-backend`) so that the two
//! can never disagree on a byte.
//!
//! - [`grant`]: the offline grant, an Ed25519 compact JWS (`typ`
//!   `offline-grant+jwt`): parsing with bounded sizes, signature checks
//!   against trusted issuer keys, the device-side window check, signing.
//! - [`entry`]: a queue entry's canonical form and its MAC chain.
//! - [`batch`] and [`batch_reader`]: the upload format, written by the
//!   device and read by the backend as it is verified, without copies.
//! - [`receipt`]: the backend's MACed word that it applied a device's
//!   entries through a seq.
//! - [`escrow`], [`escrow_key`] and [`salvage`]: entries sealed to the
//!   backend's escrow key (HPKE), the issuer-signed escrow key, and the
//!   upload that delivers escrowed entries after a wipe.
//! - [`upload_signature`]: the domain-separated message a device's attested
//!   key signs for each upload.
//! - [`jwks`]: issuer keys as a JWKS document, both ways.
//! - [`limits`]: every size limit, checked before anything is allocated.
//! - [`crypto`]: the only code that calls AES-GCM, HMAC, HKDF, PBKDF2 and
//!   the RNG (versioned sealed envelopes, constant-time comparison).
//!
//! No I/O, no SQLite, no FFI. The formats are specified in the project's
//! `docs/BATCH_FORMAT.md`; every one is versioned.
#![forbid(unsafe_code)]

pub mod batch;
pub mod batch_reader;
pub mod crypto;
pub mod directive;
pub mod entry;
mod error;
pub mod escrow;
pub mod escrow_key;
pub mod grant;
pub mod jwks;
pub mod limits;
pub mod receipt;
pub mod salvage;
pub mod upload_signature;

pub use error::{ProtoError, Result};
pub use grant::{GrantPolicy, IssuerKey, GRANT_TYP};
