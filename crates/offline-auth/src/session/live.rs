//! The core of a session: its in-memory state and the checks every call
//! passes (unlocked, same wipe epoch, the engine's clock check, the offline
//! window for data calls), the storing of what it learnt about time, and
//! the keystore epoch it keeps young.
//!
//! An open session moves the device key to a new alias once its epoch is
//! [`DEVICE_KEY_ROTATION_SECS`] old in trusted time (at the first call after
//! that, once the time is stored). A copy of the files taken during the
//! session then names a deleted key: written back after a reboot, it can
//! no longer rewind the time by more than that interval (docs/TIME.md).
//!
//! The session's mutex is held only to check and update its in-memory
//! state; it is never held while calling the database, the keystore or the
//! clock. The keys are shared as `Arc<VaultKeys>` so a call in flight keeps
//! them alive until it finishes, and they are zeroized when the last
//! reference goes.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::config::DEVICE_KEY_ROTATION_SECS;
use crate::engine::{self, offline_window, LastUse, VaultShared, VaultState};
use crate::error::{Error, Result};
use crate::grant::GrantClaims;
use crate::keys::VaultKeys;
use crate::time::{Reading, TimeState};

/// What an unlocked session knows in memory.
struct Live {
    keys: Arc<VaultKeys>,
    /// Claims of the grant in force (shared with each call's `Access`
    /// rather than copied: every call takes them).
    claims: Arc<GrantClaims>,
    /// The vault's time as this session sees it (every call observes it).
    time: TimeState,
    /// The time as last stored: `time` is stored again once it has moved a
    /// minute (or rebooted, or caught a rollback) beyond this.
    stored_time: TimeState,
    /// The last call, for the idle timeout.
    last_used: LastUse,
    /// The vault's wipe epoch when the session started.
    epoch: u64,
    /// Trusted time when this session last saw the device key move (its
    /// unlock, or its own rotation): the key moves again
    /// `DEVICE_KEY_ROTATION_SECS` later.
    key_moved_at: i64,
}

/// Trusted seconds before a rotation that did not happen (gate busy,
/// keystore failure) is tried again.
const ROTATION_RETRY_SECS: i64 = 30;

/// Which checks a call needs besides "unlocked and not idle".
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Reading or writing records: the grant must be in force and the clock sane.
    Data,
    /// Metadata, renewal, biometrics and sync: allowed after expiry or a
    /// rollback, so the app can go online and recover.
    Handle,
}

/// What a call may use once the checks passed.
pub(crate) struct Access {
    /// The vault key and its subkeys.
    pub(crate) keys: Arc<VaultKeys>,
    /// Claims of the grant in force.
    pub(crate) claims: Arc<GrantClaims>,
    /// The session's time at the start of the call (already observed).
    pub(crate) time: TimeState,
}

/// An unlocked vault (until it locks): what `OfflineSession` wraps.
pub(crate) struct SessionCore {
    vault: Arc<VaultShared>,
    live: Mutex<Option<Live>>,
}

impl SessionCore {
    /// A session over `state` as just stored, with its last use at `reading`.
    pub(crate) fn new(vault: Arc<VaultShared>, keys: VaultKeys, state: &VaultState, reading: &Reading) -> Result<Self> {
        let claims = state.current_grant()?.claims.clone();
        let live = Live {
            keys: Arc::new(keys),
            claims: Arc::new(claims),
            time: state.time().clone(),
            stored_time: state.time().clone(),
            last_used: LastUse::at(reading),
            epoch: vault.wipe_epoch(),
            key_moved_at: state.time().trusted(),
        };
        Ok(Self { vault, live: Mutex::new(Some(live)) })
    }

    /// The vault this session belongs to.
    pub(crate) fn vault(&self) -> &VaultShared {
        &self.vault
    }

    /// Whether the session still holds its keys (it may be idle; see [`SessionCore::access`]).
    pub(crate) fn holds_keys(&self) -> bool {
        self.lock_live().is_some()
    }

    fn lock_live(&self) -> MutexGuard<'_, Option<Live>> {
        // Live is replaced whole, never left half-updated, so a poisoned
        // mutex still holds a consistent value.
        self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ends the session now: the time is stored one last time and the
    /// device key moves to a new keystore alias.
    pub(crate) fn lock(&self) {
        let live = self.lock_live().take();
        if let Some(mut live) = live {
            // Best effort: a reboot now loses no time the session saw.
            if let Ok(reading) = self.vault.reading() {
                self.vault.check_clock(&mut live.time, &reading, None).ok();
                if live.time != live.stored_time {
                    self.store_time(&live.keys, &live.time).ok();
                }
            }
            self.end_epoch(&live);
        }
    }

    /// Moves the device key to a new alias after this session ended; if the
    /// keystore refuses (a device key tied to an unlocked screen), the next
    /// call does it (`engine/epoch_deferral.rs`). An earlier refused one is
    /// retried first.
    fn end_epoch(&self, live: &Live) {
        engine::end_deferred_epoch(&self.vault);
        if live.epoch == self.vault.wipe_epoch() {
            engine::end_epoch_on_lock(&self.vault, live.keys.vault_id());
        }
    }

    /// Checks that the session may serve a call and returns what it needs.
    /// Every call goes through the engine's clock check; the time is stored
    /// once it is due.
    pub(crate) fn access(&self, need: Need) -> Result<Access> {
        // Read the clocks before taking the lock: they may be foreign callbacks.
        let reading = self.vault.reading()?;
        let epoch = self.vault.wipe_epoch();

        let mut guard = self.lock_live();
        let Some(live) = guard.as_mut() else {
            return Err(Error::SessionLocked);
        };
        if live.epoch != epoch {
            *guard = None;
            return Err(Error::Wiped);
        }
        let checked = self.vault.check_clock(&mut live.time, &reading, Some(&mut live.last_used));
        if matches!(checked, Err(Error::SessionLocked)) {
            if let Some(live) = guard.take() {
                drop(guard);
                self.end_epoch(&live);
            }
            return Err(Error::SessionLocked);
        }
        let rotation_due = live.time.trusted().saturating_sub(live.key_moved_at) >= rotation_secs();
        if rotation_due {
            // Claimed here, so the session's other threads do not rotate too.
            live.key_moved_at = live.time.trusted();
        }
        let to_store = (rotation_due || live.time.due_for_storage(&live.stored_time))
            .then(|| (live.keys.clone(), live.time.clone()));
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
        if rotation_due {
            // After the store: the new epoch starts with the latest time.
            match engine::advance_epoch(&self.vault, access.keys.vault_id()) {
                Ok(true) => {}
                Err(error @ (Error::Tampered | Error::Wiped | Error::NotEnrolled)) if need == Need::Data => {
                    return self.fail(error);
                }
                Ok(false) | Err(_) => self.retry_rotation_soon(),
            }
        }
        if need == Need::Data {
            // A rollback the check caught is in `access.time`'s lock.
            offline_window(&access.time, access.claims.exp)?;
        }
        Ok(access)
    }

    /// A rotation did not happen: try again `ROTATION_RETRY_SECS` from now.
    fn retry_rotation_soon(&self) {
        if let Some(live) = self.lock_live().as_mut() {
            live.key_moved_at = live.time.trusted().saturating_sub(rotation_secs()).saturating_add(ROTATION_RETRY_SECS);
        }
    }

    /// Stores what this session learnt about time, merged with what is stored.
    fn store_time(&self, keys: &VaultKeys, time: &TimeState) -> Result<()> {
        let (was_locked, state) = self.vault.db.write(|tx| {
            let mut state = VaultState::load(tx, keys)?;
            let was_locked = state.time().rollback_locked();
            state.merge_time(time);
            state.store(tx, keys)?;
            Ok((was_locked, state))
        })?;
        self.vault.report_rollback(was_locked, &state);
        self.observe(&state);
        Ok(())
    }

    /// Records what a committed write learnt: time and grant in force.
    pub(crate) fn observe(&self, state: &VaultState) {
        let claims = state.current_grant().ok().map(|g| g.claims.clone());
        if let Some(live) = self.lock_live().as_mut() {
            // The stored time already holds this session's (it was merged
            // in before storing), and only a renewal may lower it.
            live.time = state.time().clone();
            live.stored_time = state.time().clone();
            if let Some(claims) = claims {
                live.claims = Arc::new(claims);
            }
        }
    }

    /// Turns a storage-level "the enrolment is gone" into a locked session.
    pub(crate) fn fail<T>(&self, error: Error) -> Result<T> {
        if matches!(error, Error::Wiped | Error::NotEnrolled) {
            self.lock_live().take();
            return Err(Error::Wiped);
        }
        Err(error)
    }
}

fn rotation_secs() -> i64 {
    i64::try_from(DEVICE_KEY_ROTATION_SECS).unwrap_or(i64::MAX)
}
