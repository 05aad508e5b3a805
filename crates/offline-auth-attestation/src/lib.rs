#![doc = include_str!("../README.md")]
//!
//! # Shape
//! Three places per platform, each tested alone (see the module essays):
//! 1. **parse** — Android: [`android::key_description`] and the bounded
//!    certificate decoding in [`android::chain`]; Apple: the bounded CBOR of
//!    the attestation object and assertion, the authenticator data and the
//!    nonce extension in [`apple`]. Sizes checked before anything is
//!    decoded, RustCrypto `der`/`x509-cert` types, `ciborium` into typed
//!    structs, no panics.
//! 2. **chain** — shared by both (`path`): no serial in the given
//!    [`RevokedSerials`], then `rustls-webpki` path validation to the given
//!    [`TrustAnchors`] at the given time, with RustCrypto signature
//!    algorithms (`signatures`).
//! 3. **policy** — [`android::policy`], [`apple::ApplePolicy`]: plain data a
//!    backend can log; the challenge (Android) or nonce and App ID (Apple),
//!    security levels or environment, boot state, app identity, patch level.
//!
//! The verifier reads no global, no clock and no network: its roots, its
//! revocation set, the time and the policy are arguments, as in Google's
//! `android/keyattestation` `Verifier.kt`. Every refusal is one variant of
//! [`Refusal`].
#![forbid(unsafe_code)]

pub mod android;
pub mod apple;
mod levels;
mod limits;
mod path;
mod refusal;
mod signatures;
mod trust;

pub use limits::{MAX_ASSERTION_LEN, MAX_ATTESTATION_OBJECT_LEN, MAX_CBOR_DEPTH, MAX_CERTIFICATE_LEN, MAX_CHAIN_LEN};
pub use refusal::{CborProblem, Refusal, WhichLevel};
pub use trust::{RevokedSerials, StatusListError, TrustAnchorError, TrustAnchors, MAX_STATUS_LIST_LEN};
