//! `PinVault`: enrolment, unlock by PIN or biometrics, lockout, PIN change, wipe.
//!
//! The exported [`PinVault`] (`handle.rs`) is a thin handle over the
//! engine's `VaultShared`, which the sessions and queues it hands out share.
//! The work lives in `lifecycle.rs` (enrol, wipe), `status.rs` (status and
//! backoff), `attempt.rs` (every PIN attempt: counted durably, rotated
//! keystore key, backoff, wipe at the limit), `biometric.rs`, `policy.rs`
//! (which PINs are accepted) and `renewal.rs` (renewal nonces). Locks are described in `engine/mod.rs`.

mod asynchronous;
mod attempt;
mod biometric;
mod handle;
mod lifecycle;
mod policy;
mod renewal;
mod status;

pub use handle::PinVault;
pub use status::VaultStatus;
