//! `PinVault`: enrolment, unlock by PIN or biometrics, lockout, PIN change, wipe.
//!
//! The exported [`PinVault`] (`handle.rs`) is a thin handle over the
//! engine's `VaultShared`, which the sessions and queues it hands out share.
//! The work lives in `lifecycle.rs` (enrol, wipe), `status.rs` (status and
//! backoff), `attempt.rs` (every PIN attempt: counted durably, rotated
//! keystore key, backoff, wipe at the limit), `biometric.rs`, `policy.rs`
//! (which PINs are accepted), `renewal.rs` (renewal nonces), `salvage.rs`
//! (the escrowed entries, delivered without any key) and `directive.rs`
//! (remote directives: verified, recorded, then applied). Locks are described in `engine/mod.rs`.

mod asynchronous;
mod attempt;
mod biometric;
mod directive;
mod handle;
mod lifecycle;
mod policy;
mod renewal;
mod salvage;
mod status;

pub use directive::DirectiveOutcome;
pub use handle::PinVault;
pub use salvage::SalvageUpload;
pub use status::VaultStatus;
