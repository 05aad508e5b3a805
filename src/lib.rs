#![doc = include_str!("../README.md")]
// Our own code never needs `unsafe`. (The FFI scaffolding UniFFI's macros
// generate carries its own spans and is not subject to this lint.)
#![forbid(unsafe_code)]

mod backend;
mod calibrate;
mod clock;
mod config;
mod crypto;
mod error;
mod grant;
mod keystore;
mod records;
mod session;
mod storage;
mod sync;
mod vault;

pub use backend::{
    generate_sync_key, issuer_keys_from_jwks, jwks_from_issuer_keys, verify_grant, GrantInfo, GrantIssuer,
    IssuerOptions, SyncVerifier,
};
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub use calibrate::bench_internals;
pub use calibrate::calibrate_pbkdf2_iterations;
pub use clock::{Clock, ClockError, SystemClock};
pub use config::{
    VaultConfig, DEFAULT_CLOCK_ROLLBACK_TOLERANCE_SECS, DEFAULT_GRANT_CLOCK_SKEW_SECS, DEFAULT_IDLE_TIMEOUT_SECS,
    DEFAULT_MAX_FAILED_ATTEMPTS, DEFAULT_MIN_PIN_LENGTH, DEFAULT_PBKDF2_ITERATIONS, MAX_PBKDF2_ITERATIONS,
    MIN_PIN_LENGTH_FLOOR,
};
pub use error::VaultError;
pub use grant::{GrantPolicy, IssuerKey, GRANT_TYP};
pub use keystore::{KeyProtection, KeystoreError, PlatformKeystore, SoftwareKeystore};
pub use session::OfflineSession;
pub use sync::{
    SyncBatch, SyncCursor, SyncOperation, SyncQueue, VerifiedBatch, MAX_BATCH_BYTES, MAX_BATCH_ENTRIES,
    MAX_BATCH_GRANTS, MAX_COLLECTION_LEN, MAX_KEY_LEN, MAX_VALUE_LEN,
};
pub use vault::{PinVault, VaultStatus};

uniffi::setup_scaffolding!();
