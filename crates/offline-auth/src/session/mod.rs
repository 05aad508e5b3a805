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

use crate::clock::{went_back, BootId, Reading, TimeState};
use crate::error::{Error, Result, VaultError};
use crate::grant::GrantClaims;
use crate::storage::{tables, VaultRow};
use crate::sync::SyncQueue;
use crate::vault::{VaultKeys, VaultShared, VaultState};

/// What an unlocked session knows in memory.
struct Live {
    keys: Arc<VaultKeys>,
    /// Claims of the grant in force.
    claims: GrantClaims,
    /// The vault's time as this session sees it (every call observes it).
    time: TimeState,
    /// The time as last stored: `time` is stored again once it has moved a
    /// minute (or rebooted, or caught a rollback) beyond this.
    stored_time: TimeState,
    /// Boot and elapsed time of the last call, for the idle timeout.
    last_used: (BootId, u64),
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
    /// The session's time at the start of the call (already observed).
    pub(crate) time: TimeState,
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
    /// The time is stored one last time, and the device key moves to a new
    /// keystore alias (three keystore calls), so files copied while the
    /// session was open are stale.
    pub fn lock(&self) {
        let live = self.lock_live().take();
        if let Some(mut live) = live {
            // Best effort: a reboot now loses no time the session saw.
            if let Ok(reading) = self.vault.reading() {
                live.time.observe(&reading, self.vault.config.clock_rollback_tolerance_secs).ok();
                if live.time != live.stored_time {
                    self.store_time(&live.keys, &live.time).ok();
                }
            }
            self.end_epoch(&live);
        }
    }

    /// Whether the session is still unlocked (neither locked, idle too long, nor wiped).
    pub fn is_unlocked(&self) -> bool {
        self.access(Need::Handle).is_ok()
    }
}

impl OfflineSession {
    fn new(vault: Arc<VaultShared>, keys: VaultKeys, state: &VaultState, reading: &Reading) -> Result<Arc<Self>> {
        let claims = state.current_grant()?.claims.clone();
        let live = Live {
            keys: Arc::new(keys),
            claims,
            time: state.time.clone(),
            stored_time: state.time.clone(),
            last_used: (reading.boot, reading.elapsed_ms),
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

    /// Moves the device key to a new alias after this session ended (best
    /// effort: the next unlock rotates it anyway).
    fn end_epoch(&self, live: &Live) {
        if live.epoch == self.vault.wipe_epoch() {
            crate::vault::end_epoch_on_lock(&self.vault, live.keys.vault_id()).ok();
        }
    }

    /// The access for queue operations (allowed after expiry or rollback).
    pub(crate) fn handle_access(&self) -> Result<Access> {
        self.access(Need::Handle)
    }

    /// Checks that the session may serve a call and returns what it needs.
    /// Every call observes the clocks; the time is stored once it is due.
    fn access(&self, need: Need) -> Result<Access> {
        // Read the clocks before taking the lock: they may be foreign callbacks.
        let reading = self.vault.reading()?;
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
        let (last_boot, last_ms) = live.last_used;
        if last_boot != reading.boot || reading.elapsed_ms.saturating_sub(last_ms) > idle_ms {
            if let Some(live) = guard.take() {
                drop(guard);
                self.end_epoch(&live);
            }
            return Err(Error::SessionLocked);
        }
        let observed = if went_back(reading.elapsed_ms, last_ms) {
            // Elapsed time since boot went backwards between two calls (by
            // more than threads racing to the lock explain): the clock is
            // lying, which is a rollback (and stored as one).
            live.time.rollback_locked = true;
            Err(Error::ClockRollback)
        } else {
            live.time.observe(&reading, tolerance)
        };
        live.last_used.1 = last_ms.max(reading.elapsed_ms);
        let to_store = live.time.due_for_storage(&live.stored_time).then(|| (live.keys.clone(), live.time.clone()));
        let access = Access { keys: live.keys.clone(), claims: live.claims.clone(), time: live.time.clone() };
        drop(guard);

        if let Some((keys, time)) = to_store {
            // A failed store is retried at the next call, and the in-memory
            // time holds meanwhile; a data call does not go on over a
            // tampered or vanished state.
            if let Err(error) = self.store_time(&keys, &time) {
                if need == Need::Data && matches!(error, Error::Tampered | Error::Wiped | Error::NotEnrolled) {
                    return self.fail(error);
                }
            }
        }
        if need == Need::Data {
            observed?;
            if access.time.trusted >= access.claims.exp {
                return Err(Error::GrantExpired);
            }
        }
        Ok(access)
    }

    /// Stores what this session learnt about time, merged with what is stored.
    fn store_time(&self, keys: &VaultKeys, time: &TimeState) -> Result<()> {
        let state = self.vault.db.write(|tx| {
            let mut state = load_state(tx, keys)?;
            state.time.merge(time);
            store_state(tx, keys, &state)?;
            Ok(state)
        })?;
        self.observe(&state);
        Ok(())
    }

    /// Records what a committed write learnt: time and grant in force.
    fn observe(&self, state: &VaultState) {
        let claims = state.current_grant().ok().map(|g| g.claims.clone());
        if let Some(live) = self.lock_live().as_mut() {
            // The stored time already holds this session's (it was merged
            // in before storing), and only a renewal may lower it.
            live.time = state.time.clone();
            live.stored_time = state.time.clone();
            if let Some(claims) = claims {
                live.claims = claims;
            }
        }
    }

    /// Turns a storage-level "the enrolment is gone" into a locked session.
    fn fail<T>(&self, error: Error) -> Result<T> {
        if matches!(error, Error::Wiped | Error::NotEnrolled) {
            self.lock_live().take();
            return Err(Error::Wiped);
        }
        Err(error)
    }
}

/// Loads and opens the sealed state of the enrolment these keys belong to,
/// checking that it is bound to the current keystore epoch.
pub(crate) fn load_state(conn: &rusqlite::Connection, keys: &VaultKeys) -> Result<VaultState> {
    let row = VaultRow::load(conn)?.ok_or(Error::Wiped)?;
    keys.check_binding(&row)?;
    VaultState::open(keys, &row.state)
}

/// Seals and stores the state in the transaction, bound to the current epoch.
pub(crate) fn store_state(tx: &rusqlite::Transaction<'_>, keys: &VaultKeys, state: &VaultState) -> Result<()> {
    // Only the row's identity and epoch, not its blobs: this runs on every write.
    let (vault_id, device_alias, key_epoch) = VaultRow::epoch(tx)?.ok_or(Error::Wiped)?;
    if vault_id != keys.vault_id() {
        return Err(Error::Wiped);
    }
    let sealed = state.seal(keys)?;
    tables::set_queue_bounds(tx, state.acked_through, state.head_seq)?;
    VaultRow::store_state(tx, &sealed, &keys.bind(&device_alias, key_epoch, &sealed))
}
