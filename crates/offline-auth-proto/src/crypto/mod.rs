//! Hazmat: the only place that calls AES-GCM, HMAC, HKDF, PBKDF2, HPKE and the RNG.
//!
//! The device SDK and the backend go through the small, typed functions here
//! so that nonce handling, key sizes, associated data and constant-time
//! comparison are decided once. They are public for those two crates; an
//! application needs none of them.

mod aead;
mod hpke;
mod kdf;
mod keys;
mod mac;
mod nonce;

pub use aead::{open, seal, Aad, AadKind, Sealed, SessionAead};
pub use hpke::{hpke_generate, hpke_open, hpke_public_key, hpke_seal, HpkeKeyPair, HPKE_KEY_LEN};
pub use kdf::{derive_key, pbkdf2_hmac_sha256, pin_key, MIN_PBKDF2_ITERATIONS};
pub use keys::{random_array, random_bytes, SecretKey};
pub use mac::{ct_eq, hmac_sha256, Mac32, MacKey};
