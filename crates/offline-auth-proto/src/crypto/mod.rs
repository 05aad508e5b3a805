//! Hazmat: the only place that calls AES-GCM, HMAC, HKDF, PBKDF2 and the RNG.
//! AES-GCM, HKDF and PBKDF2 are the `device` feature (on by default; the
//! backend turns it off).
//!
//! The device SDK and the backend go through the small, typed functions here
//! so that nonce handling, key sizes, associated data and constant-time
//! comparison are decided once. They are public for those two crates; an
//! application needs none of them.

#[cfg(feature = "device")]
mod aead;
#[cfg(feature = "device")]
mod kdf;
mod keys;
mod mac;
#[cfg(feature = "device")]
mod nonce;

#[cfg(feature = "device")]
pub use aead::{open, seal, Aad, AadKind, Sealed, SessionAead};
#[cfg(feature = "device")]
pub use kdf::{derive_key, pbkdf2_hmac_sha256, pin_key, MIN_PBKDF2_ITERATIONS};
pub use keys::{random_array, random_bytes, SecretKey};
pub use mac::{ct_eq, hmac_sha256, Mac32, MacKey};
