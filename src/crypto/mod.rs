//! Hazmat: the only place that calls AES-GCM, HMAC, HKDF, PBKDF2 and the RNG.
//!
//! Everything else in the crate goes through the small, typed functions here
//! so that nonce handling, key sizes, associated data and constant-time
//! comparison are decided once. Nothing here is exported from the crate.

mod aead;
mod kdf;
mod keys;
mod mac;

pub(crate) use aead::{open, seal, Aad, AadKind, Sealed};
pub(crate) use kdf::{derive_key, pbkdf2_hmac_sha256, pin_key, MIN_PBKDF2_ITERATIONS};
pub(crate) use keys::{random_array, random_bytes, SecretKey};
pub(crate) use mac::{ct_eq, hmac_sha256, Mac32, MacKey};
