//! The offline-auth device SDK: sign in online once, then unlock with a PIN
//! (or biometrics) and keep working offline, without making the phone the
//! weakest link.
//!
//! - [`PinVault`]: enrolment, unlock by PIN or biometrics, attempts and
//!   lockout, PIN change, wipe. The PIN is mixed with a device secret that
//!   only the platform keystore ([`PlatformKeystore`]) can unwrap.
//! - [`OfflineSession`]: encrypted records, bounded by a server-signed grant
//!   and by trusted time.
//! - [`SyncQueue`]: the crash-safe, MAC-chained queue of offline edits, which
//!   only the backend's receipt acknowledges.
//!
//! The same API is exported to Kotlin, Swift and Python with UniFFI. The
//! repository's README has the install lines and examples for every
//! platform, and its `docs/` the design (`ARCHITECTURE.md`), the threat
//! model and the wire formats; the backend side is the
//! `offline-auth-backend` crate.
// Our own code never needs `unsafe`. (The FFI scaffolding UniFFI's macros
// generate carries its own spans and is not subject to this lint.)
#![forbid(unsafe_code)]

// The README's Rust examples run as doc tests. They are attached here only
// under `cfg(doctest)`: a packaged crate has no ../../../README.md.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExamples;

// Layers, each depending only on those above it in this list:
// platform and formats (error, events, diagnostics, clock, keystore, config, time, fresh, storage, keys,
// records) → engine (shared internals, sealed state, clock check) →
// session and sync → attest (the platform attestor, over sync) → vault → the
// exported API below.
mod attest;
mod calibrate;
mod clock;
mod config;
mod diagnostics;
mod engine;
mod error;
mod events;
mod ffi_types;
mod fresh;
mod keys;
mod keystore;
mod offload;
mod records;
mod session;
mod storage;
mod sync;
mod time;
mod vault;

// The formats and the cryptography live in offline-auth-proto; these
// aliases keep one spelling for them inside the crate.
use offline_auth_proto::{crypto, grant};

pub use attest::{
    enrolment_evidence, upload_message, AttestationEvidence, AttestorError, NoAttestor, PlatformAttestor, SignedBatch,
};
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub use calibrate::bench_internals;
pub use calibrate::calibrate_pbkdf2_iterations;
pub use clock::{Clock, ClockError, SystemClock};
pub use config::{
    VaultConfig, DEFAULT_CLOCK_ROLLBACK_TOLERANCE_SECS, DEFAULT_GRANT_CLOCK_SKEW_SECS, DEFAULT_IDLE_TIMEOUT_SECS,
    DEFAULT_MAX_FAILED_ATTEMPTS, DEFAULT_MIN_PIN_LENGTH, DEFAULT_PBKDF2_ITERATIONS, DEVICE_KEY_ROTATION_SECS,
    MAX_PBKDF2_ITERATIONS, MIN_PIN_LENGTH_FLOOR,
};
pub use diagnostics::{clear_log_sink, set_log_sink, LogLevel, LogSink, LogSinkError};
pub use error::VaultError;
pub use events::{BiometricLoss, DirectiveAction, SecurityEvent, SecurityEventListener, WipeReason};
pub use ffi_types::issuer_keys_from_jwks;
pub use fresh::FRESH_RENEWAL_MAX_SECS;
pub use keystore::{KeyProtection, KeystoreError, PlatformKeystore, SoftwareKeystore};
pub use offline_auth_proto::grant::{GrantPolicy, IssuerKey, GRANT_TYP};
pub use offline_auth_proto::limits::{
    MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, MAX_BATCH_GRANTS, MAX_COLLECTION_LEN, MAX_KEY_LEN, MAX_VALUE_LEN,
};
pub use records::{KeyValue, MAX_BULK_BYTES, MAX_BULK_RECORDS};
pub use session::OfflineSession;
pub use sync::{SyncBatch, SyncQueue};
pub use vault::{DirectiveOutcome, PinVault, SalvageUpload, VaultStatus};

uniffi::setup_scaffolding!();
