//! The engine: the vault's shared internals and the sealed state, with the
//! invariants that hold them together. Everything above it (records, sync,
//! sessions, the vault handle) changes the state only through the methods
//! here.
//!
//! - `shared.rs`: [`VaultShared`], what a vault's handles share (database,
//!   keystore, clock, configuration, gate, wipe epoch, record index).
//! - `state.rs`: [`VaultState`] and its invariant-keeping changes (queue
//!   head, record digest, acknowledged positions, grants, trusted time);
//!   `stored_state.rs`: its sealed, versioned, epoch-bound stored form.
//! - `clock_check.rs`: the one clock check (idle timeout, rollback rule,
//!   trusted time) and the offline-window decision.
//! - `record_index.rs`: the in-memory index of record versions, verified
//!   against the state's digest.
//! - `gate.rs`: the attempt gate; `epoch.rs`: keystore epochs and the
//!   attempt state; `epoch_deferral.rs`: a lock-time epoch end the keystore
//!   refused, done at the next call; `keystore_keys.rs`: keys under fresh aliases and their
//!   purge; `biometric_key.rs`: the biometric wrap.
//!
//! # Locks
//! - The gate serialises PIN attempts, enrolment, PIN changes, biometric
//!   changes, key rotations, wipes and key purges, across threads, handles
//!   and processes. It is held while the keystore is called.
//! - The database mutex (inside [`crate::storage::Db`]) is held only for
//!   one transaction and never while calling the keystore or the clock.
//! - The record index is locked only inside a database transaction or read.
//!
//! So a keystore callback may call `status()` or any session method, but
//! must not call `unlock`, `enroll`, `change_pin` or `wipe` on the same vault.

mod biometric_key;
mod clock_check;
mod epoch;
mod epoch_deferral;
mod gate;
mod keystore_keys;
mod record_index;
mod shared;
mod state;
mod stored_state;

pub(crate) use biometric_key::{
    check_proven_wrap as check_proven_biometric_wrap, disable_for_session as disable_biometrics_for_session,
    disable_under_gate as disable_biometrics_under_gate, enable as enable_biometrics,
    judge_loss as judge_biometric_loss, keystore_wrap as biometric_keystore_wrap,
};
pub(crate) use clock_check::{offline_window, LastUse};
pub(crate) use epoch::{advance as advance_epoch, rewrite as rewrite_attempts, unwrap_device_secret, Attempts};
pub(crate) use epoch_deferral::{end_deferred as end_deferred_epoch, end_on_lock_or_defer as end_epoch_on_lock};
pub(crate) use gate::GateGuard;
pub(crate) use keystore_keys::{purge_retired_keys, wrap_with_new_key};
pub(crate) use record_index::RecordVersions;
pub(crate) use shared::VaultShared;
pub(crate) use state::VaultState;
