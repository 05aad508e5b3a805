//! `OfflineSession`: what an unlock returns, and the only holder of the vault key.
//!
//! A session is a handle on an unlocked vault, bounded three ways: by the
//! server-signed grant (no data calls at or after its `exp`, measured in
//! trusted time), by the clock-rollback defence (a wall clock that moved back
//! beyond the tolerance locks offline access until an online renewal), and by
//! the idle timeout and [`OfflineSession::lock`] (after which every call
//! returns `SessionLocked` and the keys are zeroized).
//!
//! # Locks
//! The session's own mutex is held only to check and update its in-memory
//! state; it is never held while calling the database, the keystore or the
//! clock. The keys are shared as `Arc<VaultKeys>` so a call in flight keeps
//! them alive until it finishes, and they are zeroized when the last
//! reference goes.
//!
//! The work is split by concern: `grant_state.rs` (starting, resuming and
//! renewing against the stored state), `records.rs` (get, put, delete, keys)
//! and `record_index.rs` (the authenticated set of record versions).

mod grant_state;
mod record_index;
mod records;

use std::sync::{Arc, Mutex, MutexGuard};

pub(crate) use grant_state::Renewal;
pub(crate) use record_index::RecordIndex;

use crate::clock::{check_time, TimeCheck};
use crate::error::{Error, Result, VaultError};
use crate::grant::GrantClaims;
use crate::storage::VaultRow;
use crate::sync::SyncQueue;
use crate::vault::{VaultKeys, VaultShared, VaultState};

/// What an unlocked session knows in memory.
struct Live {
    keys: Arc<VaultKeys>,
    /// Claims of the grant in force.
    claims: GrantClaims,
    /// Latest trusted time seen by this session.
    trusted_time: i64,
    /// The clock was caught going back; only a renewal reopens data calls.
    rollback_locked: bool,
    /// Monotonic time of the last call, for the idle timeout.
    last_used_ms: u64,
    /// The vault's wipe epoch when the session started.
    epoch: u64,
}

/// Which checks a call needs besides "unlocked and not idle".
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Reading or writing records: the grant must be in force and the clock sane.
    Data,
    /// Metadata, renewal, biometrics and sync: allowed after expiry or a
    /// rollback, so the app can go online and recover.
    Handle,
}

/// What a call may use once the checks passed.
pub(crate) struct Access {
    pub(crate) keys: Arc<VaultKeys>,
    pub(crate) claims: GrantClaims,
    /// `max(wall clock, trusted time)` at the start of the call.
    pub(crate) now: i64,
}

/// An unlocked vault. Obtained from `PinVault::enroll` or an unlock; safe to
/// use from any thread.
#[derive(uniffi::Object)]
pub struct OfflineSession {
    vault: Arc<VaultShared>,
    live: Mutex<Option<Live>>,
}

impl std::fmt::Debug for OfflineSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineSession").field("unlocked", &self.lock_live().is_some()).finish_non_exhaustive()
    }
}

#[uniffi::export]
impl OfflineSession {
    /// The user the grant names (`sub`).
    ///
    /// # Errors
    /// `SessionLocked`.
    pub fn user_id(&self) -> Result<String, VaultError> {
        Ok(self.access(Need::Handle)?.claims.sub)
    }

    /// End of the offline window (the grant's `exp`, seconds since the epoch).
    ///
    /// # Errors
    /// `SessionLocked`.
    pub fn expires_at(&self) -> Result<i64, VaultError> {
        Ok(self.access(Need::Handle)?.claims.exp)
    }

    /// Collections the grant allows writing.
    ///
    /// # Errors
    /// `SessionLocked`.
    pub fn scopes(&self) -> Result<Vec<String>, VaultError> {
        Ok(self.access(Need::Handle)?.claims.scope)
    }

    /// The value stored under `(collection, key)`, if any.
    ///
    /// # Errors
    /// `SessionLocked`, `GrantExpired`, `ClockRollback`, `InvalidInput`,
    /// `Tampered` (the row was modified or moved), `Storage`.
    pub fn get(&self, collection: String, key: String) -> Result<Option<Vec<u8>>, VaultError> {
        Ok(records::get(self, &collection, &key)?)
    }

    /// Stores `value` under `(collection, key)` and queues the edit for sync,
    /// in one durable transaction. Returns the edit's queue seq.
    ///
    /// # Errors
    /// `SessionLocked`, `GrantExpired`, `ClockRollback`, `InvalidInput`
    /// (empty or oversized names or value, collection outside the grant's
    /// scope), `Tampered`, `Storage`.
    pub fn put(&self, collection: String, key: String, value: Vec<u8>) -> Result<u64, VaultError> {
        Ok(records::put(self, collection, key, value)?)
    }

    /// Deletes `(collection, key)` and queues the deletion (also when no
    /// record exists locally: the backend may hold one). Returns its seq.
    ///
    /// # Errors
    /// As [`OfflineSession::put`].
    pub fn delete(&self, collection: String, key: String) -> Result<u64, VaultError> {
        Ok(records::delete(self, collection, key)?)
    }

    /// The keys stored in `collection`, sorted.
    ///
    /// # Errors
    /// As [`OfflineSession::get`].
    pub fn keys(&self, collection: String) -> Result<Vec<String>, VaultError> {
        Ok(records::keys(self, &collection)?)
    }

    /// Wraps the vault key under a new biometric keystore key, so
    /// `PinVault::unlock_with_biometrics` works. Replaces any earlier one.
    ///
    /// # Errors
    /// `SessionLocked`, `Keystore`, `Storage`, `Wiped`.
    pub fn enable_biometrics(&self) -> Result<(), VaultError> {
        let access = self.access(Need::Handle)?;
        Ok(crate::vault::enable_biometrics(&self.vault, &access.keys)?)
    }

    /// Removes the biometric wrap and deletes its keystore key.
    ///
    /// # Errors
    /// `SessionLocked`, `Keystore`, `Storage`.
    pub fn disable_biometrics(&self) -> Result<(), VaultError> {
        self.access(Need::Handle)?;
        Ok(crate::vault::disable_biometrics(&self.vault)?)
    }

    /// Installs a fresh grant from the backend (online renewal): extends the
    /// offline window and lifts a clock-rollback lock.
    ///
    /// # Errors
    /// `SessionLocked`, `GrantInvalid` (bad signature, unknown `kid`, another
    /// device or user, older than the grant in force), `GrantExpired`, `Storage`.
    pub fn renew_grant(&self, grant: String) -> Result<(), VaultError> {
        Ok(grant_state::renew(self, grant)?)
    }

    /// The queue of edits waiting to be synced.
    pub fn sync_queue(self: Arc<Self>) -> Arc<SyncQueue> {
        Arc::new(SyncQueue::new(self))
    }

    /// Ends the session now: the keys are dropped and zeroized (once any
    /// call in flight returns) and every later call returns `SessionLocked`.
    pub fn lock(&self) {
        self.lock_live().take();
    }

    /// Whether the session is still unlocked (neither locked, idle too long, nor wiped).
    pub fn is_unlocked(&self) -> bool {
        self.access(Need::Handle).is_ok()
    }
}

impl OfflineSession {
    fn new(vault: Arc<VaultShared>, keys: VaultKeys, state: &VaultState, trusted_time: i64) -> Result<Arc<Self>> {
        let claims = state.current_grant()?.claims.clone();
        let live = Live {
            keys: Arc::new(keys),
            claims,
            trusted_time,
            rollback_locked: false,
            last_used_ms: vault.monotonic_millis()?,
            epoch: vault.wipe_epoch(),
        };
        Ok(Arc::new(Self { vault, live: Mutex::new(Some(live)) }))
    }

    pub(crate) fn vault(&self) -> &VaultShared {
        &self.vault
    }

    fn lock_live(&self) -> MutexGuard<'_, Option<Live>> {
        // Live is replaced whole, never left half-updated, so a poisoned
        // mutex still holds a consistent value.
        self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The access for queue operations (allowed after expiry or rollback).
    pub(crate) fn handle_access(&self) -> Result<Access> {
        self.access(Need::Handle)
    }

    /// Checks that the session may serve a call and returns what it needs.
    fn access(&self, need: Need) -> Result<Access> {
        // Read the clocks before taking the lock: they may be foreign callbacks.
        let mono = self.vault.monotonic_millis()?;
        let wall = if need == Need::Data { Some(self.vault.now()?) } else { None };
        let idle_ms = self.vault.config.idle_timeout_secs.saturating_mul(1000);
        let epoch = self.vault.wipe_epoch();
        let tolerance = self.vault.config.clock_rollback_tolerance_secs;

        let mut guard = self.lock_live();
        let Some(live) = guard.as_mut() else {
            return Err(Error::SessionLocked);
        };
        if live.epoch != epoch {
            *guard = None;
            return Err(Error::Wiped);
        }
        if mono.saturating_sub(live.last_used_ms) > idle_ms {
            *guard = None;
            return Err(Error::SessionLocked);
        }
        live.last_used_ms = live.last_used_ms.max(mono);
        if let Some(wall) = wall {
            if live.rollback_locked {
                return Err(Error::ClockRollback);
            }
            match check_time(wall, live.trusted_time, tolerance) {
                TimeCheck::Trusted(now) => live.trusted_time = now,
                TimeCheck::RolledBack => {
                    live.rollback_locked = true;
                    let keys = live.keys.clone();
                    drop(guard);
                    // Best effort: the in-memory lock holds regardless, and
                    // the next unlock repeats the check against stored time.
                    grant_state::persist_rollback(&self.vault, &keys).ok();
                    return Err(Error::ClockRollback);
                }
            }
            if live.trusted_time >= live.claims.exp {
                return Err(Error::GrantExpired);
            }
        }
        Ok(Access { keys: live.keys.clone(), claims: live.claims.clone(), now: live.trusted_time })
    }

    /// Records what a committed write learnt: trusted time and grant in force.
    fn observe(&self, state: &VaultState) {
        let claims = state.current_grant().ok().map(|g| g.claims.clone());
        if let Some(live) = self.lock_live().as_mut() {
            live.trusted_time = live.trusted_time.max(state.trusted_time);
            live.rollback_locked = state.rollback_locked;
            if let Some(claims) = claims {
                live.claims = claims;
            }
        }
    }

    /// Turns a storage-level "the enrolment is gone" into a locked session.
    fn fail<T>(&self, error: Error) -> Result<T> {
        if matches!(error, Error::Wiped | Error::NotEnrolled) {
            self.lock();
            return Err(Error::Wiped);
        }
        Err(error)
    }
}

/// Loads and opens the sealed state of the enrolment these keys belong to.
pub(crate) fn load_state(conn: &rusqlite::Connection, keys: &VaultKeys) -> Result<VaultState> {
    let row = VaultRow::load(conn)?.ok_or(Error::Wiped)?;
    if row.vault_id != keys.vault_id() {
        return Err(Error::Wiped);
    }
    VaultState::open(keys, &row.state)
}

/// Seals and stores the state in the transaction.
pub(crate) fn store_state(tx: &rusqlite::Transaction<'_>, keys: &VaultKeys, state: &VaultState) -> Result<()> {
    VaultRow::store_state(tx, &state.seal(keys)?)
}
