//! Hazmat: the only place that calls AES-GCM, HMAC, HKDF, PBKDF2, HPKE and the RNG.
//! AES-GCM, HKDF and PBKDF2 are the `device` feature (on by default; the
//! backend turns it off); HPKE is in both builds (the device seals to the
//! escrow key, the backend opens).
//!
//! The device SDK and the backend go through the small, typed functions here
//! so that nonce handling, key sizes, associated data and constant-time
//! comparison are decided once. They are public for those two crates; an
//! application needs none of them.

#[cfg(feature = "device")]
mod aead;
mod hpke;
#[cfg(feature = "device")]
mod kdf;
mod keys;
mod mac;
#[cfg(feature = "device")]
mod nonce;

#[cfg(feature = "device")]
pub use aead::{open, seal, Aad, AadKind, Sealed, SessionAead};
pub use hpke::{hpke_generate, hpke_open, hpke_public_key, hpke_seal, HpkeKeyPair, HPKE_KEY_LEN};
#[cfg(feature = "device")]
pub use kdf::{derive_key, pbkdf2_hmac_sha256, pin_key, MIN_PBKDF2_ITERATIONS};
pub use keys::{random_array, random_bytes, SecretKey};
pub use mac::{ct_eq, ct_eq_mac, hmac_sha256, Mac32, MacKey};
