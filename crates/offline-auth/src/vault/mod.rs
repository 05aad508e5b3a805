//! `PinVault`: enrolment, unlock by PIN or biometrics, lockout, PIN change, wipe.
//!
//! The exported [`PinVault`] is a thin handle over [`VaultShared`], which the
//! sessions and queues it hands out share. The work lives in three files:
//! `lifecycle.rs` (open, enrol, status, wipe), `attempt.rs` (every PIN
//! attempt: counted durably, rotated keystore key, backoff, wipe at the limit)
//! and `biometric.rs`.
//!
//! # Locks
//! - `VaultShared::gate` (`gate.rs`) serialises PIN attempts, enrolment, PIN
//!   changes, biometric changes, key rotations, wipes and key purges, across
//!   threads, handles and processes. It is held while the keystore is called.
//! - The database mutex (inside [`crate::storage::Db`]) is held only for
//!   one transaction and never while calling the keystore or the clock.
//!
//! So a keystore callback may call `status()` or any session method, but
//! must not call `unlock`, `enroll`, `change_pin` or `wipe` on the same vault.

mod attempt;
mod biometric;
mod epoch;
mod gate;
mod keys;
mod lifecycle;
mod policy;
mod state;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

pub(crate) use biometric::disable_for_session as disable_biometrics;
pub(crate) use biometric::enable as enable_biometrics;
pub(crate) use epoch::end_on_lock as end_epoch_on_lock;
pub(crate) use keys::VaultKeys;
pub(crate) use state::VaultState;

use crate::clock::{Clock, Reading, SystemClock};
use crate::config::VaultConfig;
use crate::error::{Result, VaultError};
use crate::grant::TrustedIssuers;
use crate::keystore::PlatformKeystore;
use crate::session::{OfflineSession, RecordIndex};
use crate::storage::Db;
use gate::{Gate, GateGuard};

/// What a vault looks like from the outside, without unlocking it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VaultStatus {
    /// An enrolment exists.
    pub enrolled: bool,
    /// The vault was wiped (attempt limit or `wipe`) and not enrolled since.
    pub wiped: bool,
    /// Consecutive wrong PINs so far.
    pub failed_attempts: u32,
    /// Wrong PINs left before the vault wipes itself.
    pub attempts_remaining: u32,
    /// Seconds until the next PIN attempt is accepted (0 = now).
    pub retry_after_secs: u64,
    /// Biometric unlock is enabled.
    pub biometrics_enabled: bool,
    /// Edits not yet acknowledged by the backend. They are lost if the vault
    /// is wiped: warn the user before the last attempts.
    pub pending_entries: u64,
}

/// Everything a vault's handles share.
pub(crate) struct VaultShared {
    pub(crate) db: Db,
    pub(crate) keystore: Arc<dyn PlatformKeystore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: VaultConfig,
    pub(crate) issuers: TrustedIssuers,
    gate: Gate,
    /// Bumped by every wipe; sessions opened before it stop working.
    wipe_epoch: AtomicU64,
    /// Versions of the live records, checked against the sealed state's
    /// digest (see `session/record_index.rs`). Locked only inside a database
    /// transaction or read, never the other way round.
    record_index: Mutex<Option<RecordIndex>>,
}

impl std::fmt::Debug for VaultShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultShared").field("device_id", &self.config.device_id).finish_non_exhaustive()
    }
}

impl VaultShared {
    fn gate(&self) -> Result<GateGuard<'_>> {
        self.gate.enter()
    }

    /// The gate if no one holds it.
    fn try_gate(&self) -> Option<GateGuard<'_>> {
        self.gate.try_enter()
    }

    /// One look at the clocks (wall, boot, elapsed since boot).
    pub(crate) fn reading(&self) -> Result<Reading> {
        Reading::take(self.clock.as_ref())
    }

    pub(crate) fn record_index(&self) -> MutexGuard<'_, Option<RecordIndex>> {
        // The index is replaced whole or updated by single inserts: a
        // poisoned one is still consistent (and a wrong one only triggers a
        // verified rebuild).
        self.record_index.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn wipe_epoch(&self) -> u64 {
        self.wipe_epoch.load(Ordering::SeqCst)
    }

    fn note_wipe(&self) {
        self.wipe_epoch.fetch_add(1, Ordering::SeqCst);
    }
}

/// The PIN-protected vault on this device.
///
/// Open it at app start with [`PinVault::open`]; enrol once at online sign-in;
/// afterwards unlock with the PIN (or biometrics) to get an
/// [`OfflineSession`]. Safe to use from any thread.
#[derive(Debug, uniffi::Object)]
pub struct PinVault {
    inner: Arc<VaultShared>,
}

#[uniffi::export]
impl PinVault {
    /// Opens (or creates) the vault database at `path`, using the platform
    /// `keystore` and the system clock.
    ///
    /// # Errors
    /// `InvalidInput` for a bad configuration; `Storage` for a file that is
    /// not ours, a newer schema, or I/O failure (the file is left untouched).
    #[uniffi::constructor]
    pub fn open(
        path: String,
        keystore: Arc<dyn PlatformKeystore>,
        config: VaultConfig,
    ) -> Result<Arc<Self>, VaultError> {
        Self::open_with_clock(path, keystore, SystemClock::new(), config)
    }

    /// Like [`PinVault::open`], with the platform's (or a test's) clock.
    ///
    /// # Errors
    /// As [`PinVault::open`].
    #[uniffi::constructor]
    pub fn open_with_clock(
        path: String,
        keystore: Arc<dyn PlatformKeystore>,
        clock: Arc<dyn Clock>,
        config: VaultConfig,
    ) -> Result<Arc<Self>, VaultError> {
        let issuers = config.validate()?;
        let db = Db::open(&path)?;
        let gate = Gate::open(&path)?;
        let inner = Arc::new(VaultShared {
            db,
            keystore,
            clock,
            config,
            issuers,
            gate,
            wipe_epoch: AtomicU64::new(0),
            record_index: Mutex::new(None),
        });
        // Keys left by a crash; skipped while another handle is in the gate.
        if let Some(gate) = inner.try_gate() {
            lifecycle::purge_retired_keys(&inner, &gate).ok();
        }
        Ok(Arc::new(Self { inner }))
    }

    /// Whether an enrolment exists.
    ///
    /// # Errors
    /// `Storage` if the database cannot be read.
    pub fn is_enrolled(&self) -> Result<bool, VaultError> {
        Ok(lifecycle::is_enrolled(&self.inner)?)
    }

    /// Enrols at online sign-in: sets the PIN, stores the server's `grant` and
    /// `sync_key` (32 bytes), and returns an open session.
    ///
    /// # Errors
    /// `AlreadyEnrolled`, `WeakPin`, `GrantInvalid`, `GrantExpired`,
    /// `InvalidInput` (sync key length), `Keystore`, `Storage`.
    pub fn enroll(&self, pin: String, grant: String, sync_key: Vec<u8>) -> Result<Arc<OfflineSession>, VaultError> {
        Ok(lifecycle::enroll(&self.inner, pin, grant, sync_key)?)
    }

    /// Unlocks with the PIN. The attempt is counted durably before the PIN
    /// is checked and forgotten only if it was right.
    ///
    /// # Errors
    /// `WrongPin`, `LockedOut`, `Wiped` (this attempt reached the limit),
    /// `NotEnrolled`, `GrantExpired` (the PIN was right but the offline window
    /// is over), `GrantInvalid`, `ClockRollback`, `Tampered`, `Keystore`, `Storage`.
    pub fn unlock(&self, pin: String) -> Result<Arc<OfflineSession>, VaultError> {
        Ok(attempt::unlock(&self.inner, pin, None)?)
    }

    /// Unlocks with the PIN while online, installing a fresh `grant` from the
    /// backend first. This is how an expired or rollback-locked vault gets
    /// its offline access back.
    ///
    /// # Errors
    /// As [`PinVault::unlock`]; `GrantInvalid` if the grant is for another
    /// user or device.
    pub fn unlock_with_grant(&self, pin: String, grant: String) -> Result<Arc<OfflineSession>, VaultError> {
        Ok(attempt::unlock(&self.inner, pin, Some(grant))?)
    }

    /// Unlocks through the platform's biometric prompt. Does not count PIN
    /// attempts; a success resets them.
    ///
    /// # Errors
    /// `BiometricsUnavailable`, `BiometricsInvalidated` (biometrics are now
    /// off; use the PIN), `UserCancelled`, `NotEnrolled`, `Wiped`, and the
    /// grant and clock errors of [`PinVault::unlock`].
    pub fn unlock_with_biometrics(&self) -> Result<Arc<OfflineSession>, VaultError> {
        Ok(biometric::unlock(&self.inner)?)
    }

    /// Changes the PIN. Counts as a PIN attempt; re-wraps the vault key only.
    ///
    /// # Errors
    /// `WeakPin` (nothing counted), and the errors of [`PinVault::unlock`].
    pub fn change_pin(&self, old_pin: String, new_pin: String) -> Result<(), VaultError> {
        Ok(attempt::change_pin(&self.inner, old_pin, new_pin)?)
    }

    /// Enrolment, attempts, lockout and biometrics, without unlocking.
    /// `retry_after_secs` counts on the boot clock; after a reboot it shows
    /// the whole wait again.
    ///
    /// # Errors
    /// `Storage` or `ClockUnavailable`.
    pub fn status(&self) -> Result<VaultStatus, VaultError> {
        Ok(lifecycle::status(&self.inner)?)
    }

    /// Destroys the enrolment: deletes the keystore keys, the wraps, the
    /// records and the queue (unsynced edits are lost). Open sessions stop
    /// working. Enrol again online to use the vault.
    ///
    /// No sealed row of the vault is left in the database or its `-wal`
    /// file: deleted content is overwritten and the log emptied.
    ///
    /// # Errors
    /// `Storage`; `Keystore` if a key could not be deleted (the database is
    /// wiped regardless and the deletion is retried at the next open);
    /// `InvalidInput` if another connection kept the log busy (the vault is
    /// wiped; call `wipe` again to empty the log).
    pub fn wipe(&self) -> Result<(), VaultError> {
        Ok(lifecycle::wipe(&self.inner)?)
    }
}
