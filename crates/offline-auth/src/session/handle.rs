//! [`OfflineSession`]: the exported handle on an unlocked vault. Each call
//! passes the session's checks (`live.rs`) and goes to the file of its
//! concern.

use std::sync::Arc;

use super::grant_state::{self, Renewal};
use super::live::{Need, SessionCore};
use super::records;
use crate::engine::{self, VaultShared, VaultState};
use crate::error::{Result, VaultError};
use crate::events;
use crate::keys::VaultKeys;
use crate::records::KeyValue;
use crate::sync::{QueueSession, SyncQueue};
use crate::time::Reading;

/// An unlocked vault. Obtained from `PinVault::enroll` or an unlock; safe to
/// use from any thread.
#[derive(uniffi::Object)]
pub struct OfflineSession {
    core: SessionCore,
}

impl std::fmt::Debug for OfflineSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineSession").field("unlocked", &self.core.holds_keys()).finish_non_exhaustive()
    }
}

#[uniffi::export]
impl OfflineSession {
    /// The user the grant names (`sub`).
    ///
    /// # Errors
    /// `SessionLocked`.
    pub fn user_id(&self) -> Result<String, VaultError> {
        self.report("user_id", self.core.access(Need::Handle).map(|access| access.claims.sub.clone()))
    }

    /// End of the offline window (the grant's `exp`, seconds since the epoch).
    ///
    /// # Errors
    /// `SessionLocked`.
    pub fn expires_at(&self) -> Result<i64, VaultError> {
        self.report("expires_at", self.core.access(Need::Handle).map(|access| access.claims.exp))
    }

    /// Collections the grant allows writing.
    ///
    /// # Errors
    /// `SessionLocked`.
    pub fn scopes(&self) -> Result<Vec<String>, VaultError> {
        self.report("scopes", self.core.access(Need::Handle).map(|access| access.claims.scope.clone()))
    }

    /// The value stored under `(collection, key)`, if any.
    ///
    /// # Errors
    /// `SessionLocked`, `GrantExpired`, `ClockRollback`, `InvalidInput`,
    /// `Tampered` (the row was modified or moved), `Storage`.
    pub fn get(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, VaultError> {
        self.report("get", records::get(&self.core, collection, key))
    }

    /// Stores `value` under `(collection, key)` and queues the edit for sync,
    /// in one durable transaction. Returns the edit's queue seq.
    ///
    /// # Errors
    /// `SessionLocked`, `GrantExpired`, `ClockRollback`, `InvalidInput`
    /// (empty or oversized names or value, collection outside the grant's
    /// scope), `Tampered`, `Storage`.
    pub fn put(&self, collection: &str, key: &str, value: Vec<u8>) -> Result<u64, VaultError> {
        self.report("put", records::put(&self.core, collection, key, value))
    }

    /// Deletes `(collection, key)` and queues the deletion (also when no
    /// record exists locally: the backend may hold one). Returns its seq.
    ///
    /// # Errors
    /// As [`OfflineSession::put`].
    pub fn delete(&self, collection: &str, key: &str) -> Result<u64, VaultError> {
        self.report("delete", records::delete(&self.core, collection, key))
    }

    /// The keys stored in `collection`, sorted.
    ///
    /// # Errors
    /// As [`OfflineSession::get`].
    pub fn keys(&self, collection: &str) -> Result<Vec<String>, VaultError> {
        self.report("keys", records::keys(&self.core, collection))
    }

    /// The values stored under `keys` in `collection`, in the order asked
    /// (`None` where no record exists): one call, one database read, for a
    /// screen that shows several records.
    ///
    /// At most [`MAX_BULK_RECORDS`](crate::MAX_BULK_RECORDS) keys per call,
    /// and [`MAX_BULK_BYTES`](crate::MAX_BULK_BYTES) of keys and values.
    ///
    /// # Errors
    /// As [`OfflineSession::get`]; `InvalidInput` for too many keys, or
    /// values adding up to more than the byte limit (then nothing is returned).
    pub fn get_many(&self, collection: &str, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, VaultError> {
        self.report("get_many", records::get_many(&self.core, collection, keys))
    }

    /// Stores every record of `records` in `collection` and queues each edit
    /// for sync, all in one durable transaction: all are written or none.
    /// Returns the last edit's queue seq (the edits get consecutive seqs, in
    /// the order given).
    ///
    /// Every argument is checked before anything is written: 1 to
    /// [`MAX_BULK_RECORDS`](crate::MAX_BULK_RECORDS) records, at most
    /// [`MAX_BULK_BYTES`](crate::MAX_BULK_BYTES) of keys and values, names and
    /// values within the limits of [`OfflineSession::put`], no key twice.
    ///
    /// # Errors
    /// As [`OfflineSession::put`]; `InvalidInput` for the limits above.
    pub fn put_many(&self, collection: &str, records: Vec<KeyValue>) -> Result<u64, VaultError> {
        self.report("put_many", records::put_many(&self.core, collection, records))
    }

    /// Every record of `collection` with its value, sorted by key: one call
    /// for a screen that lists a collection.
    ///
    /// # Errors
    /// As [`OfflineSession::get`]; `InvalidInput` if the collection holds
    /// more than [`MAX_BULK_RECORDS`](crate::MAX_BULK_RECORDS) records or
    /// [`MAX_BULK_BYTES`](crate::MAX_BULK_BYTES) of keys and values (then use
    /// [`OfflineSession::keys`] and [`OfflineSession::get_many`]).
    pub fn entries(&self, collection: &str) -> Result<Vec<KeyValue>, VaultError> {
        self.report("entries", records::entries(&self.core, collection))
    }

    /// Wraps the vault key under a new biometric keystore key, so
    /// `PinVault::unlock_with_biometrics` works. Replaces any earlier one.
    ///
    /// # Errors
    /// `SessionLocked`, `Keystore`, `Storage`, `Wiped`; `Tampered` if the
    /// stored biometric wrap it replaces is not one this vault wrote (its
    /// key is not deleted).
    pub fn enable_biometrics(&self) -> Result<(), VaultError> {
        let enabled = self
            .core
            .access(Need::Handle)
            .and_then(|access| engine::enable_biometrics(self.core.vault(), &access.keys));
        self.report("enable_biometrics", enabled)
    }

    /// [`OfflineSession::enable_biometrics`] off the caller's thread (the
    /// platform may show its biometric prompt). Cancelling does not stop it.
    ///
    /// # Errors
    /// As [`OfflineSession::enable_biometrics`].
    pub async fn enable_biometrics_async(self: Arc<Self>) -> Result<(), VaultError> {
        crate::offload::run(move || self.enable_biometrics()).await
    }

    /// Removes the biometric wrap and deletes its keystore key.
    ///
    /// # Errors
    /// `SessionLocked`, `Keystore`, `Storage`; `Tampered` if the stored
    /// biometric alias or wrap was edited (nothing changed, no key deleted).
    pub fn disable_biometrics(&self) -> Result<(), VaultError> {
        let disabled =
            self.core.access(Need::Handle).and_then(|_| engine::disable_biometrics_for_session(self.core.vault()));
        self.report("disable_biometrics", disabled)
    }

    /// Installs a fresh grant from the backend (online renewal): extends the
    /// offline window and lifts a clock-rollback lock.
    ///
    /// # Errors
    /// `SessionLocked`, `GrantInvalid` (bad signature, unknown `kid`, another
    /// device or user, older than the grant in force), `GrantExpired`, `Storage`.
    pub fn renew_grant(&self, grant: &str) -> Result<(), VaultError> {
        self.report("renew_grant", grant_state::renew(&self.core, grant.to_owned()))
    }

    /// A nonce to send with a renewal request (`/renew`), for the backend to
    /// sign into the grant. Installed (by [`OfflineSession::renew_grant`] or
    /// `PinVault::unlock_with_grant`) in this boot within
    /// [`FRESH_RENEWAL_MAX_SECS`](crate::FRESH_RENEWAL_MAX_SECS) of making
    /// it, such a grant proves its `iat` fresh and repairs the trusted time
    /// (a clock once set far ahead no longer shortens the window). Each
    /// nonce repairs once. Nothing is stored: the nonce carries its own
    /// authenticated record.
    ///
    /// # Errors
    /// `SessionLocked`, `ClockUnavailable`.
    pub fn renewal_nonce(&self) -> Result<String, VaultError> {
        self.report("renewal_nonce", grant_state::renewal_nonce(&self.core))
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
        self.core.lock();
        events::deliver();
    }

    /// Whether the session is still unlocked (neither locked, idle too long, nor wiped).
    pub fn is_unlocked(&self) -> bool {
        self.report("is_unlocked", self.core.access(Need::Handle)).is_ok()
    }
}

impl OfflineSession {
    /// The end of an exported call: its events delivered, its error converted.
    fn report<T>(&self, operation: &'static str, result: Result<T>) -> Result<T, VaultError> {
        self.core.vault().events.report(operation, result)
    }

    /// The session of a fresh enrolment (its state was just stored).
    pub(crate) fn start(
        vault: Arc<VaultShared>,
        keys: VaultKeys,
        state: &VaultState,
        reading: &Reading,
    ) -> Result<Arc<Self>> {
        Ok(Arc::new(Self { core: SessionCore::new(vault, keys, state, reading)? }))
    }

    /// A session after an unlock: checks (and persists) time and grant,
    /// installing `renewal` first if given.
    pub(crate) fn resume(vault: Arc<VaultShared>, keys: VaultKeys, renewal: Option<Renewal>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self { core: grant_state::resume(vault, keys, renewal)? }))
    }
}

impl QueueSession for OfflineSession {
    fn vault(&self) -> &VaultShared {
        self.core.vault()
    }

    fn queue_keys(&self) -> Result<Arc<VaultKeys>> {
        Ok(self.core.access(Need::Handle)?.keys)
    }
}
