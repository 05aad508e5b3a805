//! [`PinVault`]: the exported handle. Each call takes the vault's shared
//! internals to the file of its concern.

use std::sync::Arc;

use super::directive::{self, DirectiveOutcome};
use super::salvage::{self, SalvageUpload};
use super::status::{self, VaultStatus};
use super::{attempt, biometric, lifecycle, renewal};
use crate::clock::{Clock, SystemClock};
use crate::config::VaultConfig;
use crate::engine::{self, VaultShared};
use crate::error::VaultError;
use crate::events::SecurityEventListener;
use crate::keystore::PlatformKeystore;
use crate::session::OfflineSession;

/// The PIN-protected vault on this device.
///
/// Open it at app start with [`PinVault::open`]; enrol once at online sign-in;
/// afterwards unlock with the PIN (or biometrics) to get an
/// [`OfflineSession`]. Safe to use from any thread.
///
/// # Threads: which calls block
/// `enroll`, `unlock`, `unlock_with_grant` and `change_pin` run the PIN KDF
/// (hundreds of milliseconds or more, by design) and call the keystore;
/// `unlock_with_biometrics` waits for the platform's biometric prompt;
/// `wipe` deletes keystore keys and rewrites the database. Keep them off the
/// main (UI) thread: call their `_async` forms (Kotlin `suspend`, Swift
/// `async`, Python `asyncio`), which run the same call on a thread of their
/// own, or call them from a worker thread. `open`, `is_enrolled` and
/// `status` only read the database. On a session, `enable_biometrics` shows
/// the prompt (it has `enable_biometrics_async` too).
///
/// Cancelling an `_async` call does not stop it: a cancelled `unlock_async`
/// has still counted its attempt, a cancelled `wipe_async` still wipes.
///
/// Anything that takes the attempt gate (PIN attempts, enrolment, PIN
/// changes, wipes, key rotations) also waits while another handle or process
/// holds it. The biometric prompt of `enable_biometrics` does *not* hold the
/// gate, so PIN attempts and wipes go on while it is up. Record reads and
/// writes on an open session are one SQLite transaction each (`put` is a
/// durable commit): fast, but disk I/O.
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
        let inner = Arc::new(VaultShared::open(&path, keystore, clock, config)?);
        // Keys left by a crash, and directives a kill cut short (recorded,
        // not finished); skipped while another handle is in the gate.
        if let Some(gate) = inner.try_gate() {
            engine::purge_retired_keys(&inner, &gate).ok();
            directive::finish_pending(&inner, &gate).ok();
        }
        Ok(Arc::new(Self { inner }))
    }

    /// Whether an enrolment exists.
    ///
    /// # Errors
    /// `Storage` if the database cannot be read.
    pub fn is_enrolled(&self) -> Result<bool, VaultError> {
        self.inner.events.report("is_enrolled", lifecycle::is_enrolled(&self.inner))
    }

    /// Enrols at online sign-in: sets the PIN, stores the server's `grant` and
    /// `sync_key` (32 bytes), and returns an open session.
    ///
    /// # Errors
    /// `AlreadyEnrolled`, `WeakPin`, `GrantInvalid`, `GrantExpired`,
    /// `InvalidInput` (sync key length), `Keystore`, `Storage`.
    pub fn enroll(&self, pin: String, grant: &str, sync_key: Vec<u8>) -> Result<Arc<OfflineSession>, VaultError> {
        self.inner.events.report("enroll", lifecycle::enroll(&self.inner, pin, grant.to_owned(), sync_key))
    }

    /// Unlocks with the PIN. The attempt is counted durably before the PIN
    /// is checked and forgotten only if it was right.
    ///
    /// Input that cannot be the PIN (outside the length and characters the
    /// PIN was set under, or with a control character such as NUL) is
    /// refused first, with nothing counted.
    ///
    /// # Errors
    /// `MalformedPin` (nothing counted, no key touched), `WrongPin`,
    /// `LockedOut`, `Wiped` (this attempt reached the limit),
    /// `NotEnrolled`, `GrantExpired` (the PIN was right but the offline window
    /// is over), `GrantInvalid`, `ClockRollback`, `Tampered`, `Keystore`, `Storage`.
    pub fn unlock(&self, pin: String) -> Result<Arc<OfflineSession>, VaultError> {
        self.inner.events.report("unlock", attempt::unlock(&self.inner, pin, None))
    }

    /// Unlocks with the PIN while online, installing a fresh `grant` from the
    /// backend first. This is how an expired or rollback-locked vault gets
    /// its offline access back.
    ///
    /// # Errors
    /// As [`PinVault::unlock`]; `GrantInvalid` if the grant is for another
    /// user or device.
    pub fn unlock_with_grant(&self, pin: String, grant: &str) -> Result<Arc<OfflineSession>, VaultError> {
        self.inner.events.report("unlock_with_grant", attempt::unlock(&self.inner, pin, Some(grant.to_owned())))
    }

    /// A nonce to send with the renewal request that fetches the grant for
    /// [`PinVault::unlock_with_grant`]: the backend signs it into the grant,
    /// which then proves its `iat` fresh and repairs the trusted time, down
    /// as well as up, if installed in this boot within
    /// [`FRESH_RENEWAL_MAX_SECS`](crate::FRESH_RENEWAL_MAX_SECS) of this
    /// call (docs/TIME.md). Each nonce repairs once. Needs no PIN and
    /// counts no attempt; calls the keystore once.
    ///
    /// # Errors
    /// `NotEnrolled`, `Wiped`, `DeviceKeyLost`, `Keystore`, `Tampered`,
    /// `ClockUnavailable`, `Storage`.
    pub fn renewal_nonce(&self) -> Result<String, VaultError> {
        self.inner.events.report("renewal_nonce", renewal::renewal_nonce(&self.inner))
    }

    /// Keeps the backend's time, `server_time` (seconds since the epoch, the
    /// `server_time` field of its answers to enrolment, renewal and sync),
    /// with the device's clocks now. The sync queue then holds back the
    /// edits the backend would refuse as stamped in its future, and says
    /// `ClockAhead` instead of handing out a batch that is refused again
    /// and again. Needs no PIN; stored until the next call.
    ///
    /// # Errors
    /// `InvalidInput` (before 1970 or after 9999), `ClockUnavailable`, `Storage`.
    pub fn note_server_time(&self, server_time: i64) -> Result<(), VaultError> {
        self.inner.events.report("note_server_time", crate::sync::server_time::note(&self.inner, server_time))
    }

    /// Unlocks through the platform's biometric prompt. Does not count PIN
    /// attempts; a success resets them.
    ///
    /// # Errors
    /// `BiometricsUnavailable`, `BiometricsInvalidated` (biometrics are now
    /// off; use the PIN), `UserCancelled`, `NotEnrolled`, `Wiped`, and the
    /// grant and clock errors of [`PinVault::unlock`]; `Tampered` when the
    /// platform reports the key invalidated or missing but the stored alias
    /// or wrap was edited (biometrics stay on, no key is deleted).
    pub fn unlock_with_biometrics(&self) -> Result<Arc<OfflineSession>, VaultError> {
        self.inner.events.report("unlock_with_biometrics", biometric::unlock(&self.inner))
    }

    /// Changes the PIN. Counts as a PIN attempt; re-wraps the vault key only.
    ///
    /// # Errors
    /// `MalformedPin` for the old PIN and `WeakPin` for the new one (nothing
    /// counted), and the errors of [`PinVault::unlock`].
    pub fn change_pin(&self, old_pin: String, new_pin: String) -> Result<(), VaultError> {
        self.inner.events.report("change_pin", attempt::change_pin(&self.inner, old_pin, new_pin))
    }

    /// Enrolment, attempts, lockout and biometrics, without unlocking.
    /// `retry_after_secs` counts on the boot clock; after a reboot it shows
    /// the whole wait again.
    ///
    /// # Errors
    /// `Storage` or `ClockUnavailable`.
    pub fn status(&self) -> Result<VaultStatus, VaultError> {
        self.inner.events.report("status", status::status(&self.inner))
    }

    /// Destroys the enrolment: deletes the keystore keys, the wraps, the
    /// records and the queue. Open sessions stop working. Enrol again online
    /// to use the vault. Unsynced edits are lost unless the vault has an
    /// escrow key (`VaultConfig::escrow_key`): their escrowed copies, which
    /// only the backend can open, stay for [`PinVault::salvage`].
    ///
    /// No row sealed under a key of the device is left in the database or
    /// its `-wal` file: deleted content is overwritten and the log emptied.
    ///
    /// # Errors
    /// `Storage`; `Keystore` if a key could not be deleted (the database is
    /// wiped regardless and the deletion is retried at the next open);
    /// `InvalidInput` if another connection kept the log busy (the vault is
    /// wiped; call `wipe` again to empty the log).
    pub fn wipe(&self) -> Result<(), VaultError> {
        self.inner.events.report("wipe", lifecycle::wipe(&self.inner))
    }

    /// The oldest escrowed edits (at most `max_entries`) as an upload for
    /// the backend, or `None` when nothing is escrowed. Needs no PIN, no
    /// keystore and no enrolment: this is how edits reach the backend after
    /// a wipe (ten wrong PINs, `wipe`), a `DeviceKeyLost` or a forgotten PIN.
    /// Send it before enrolling again (a new enrolment gets a new sync key);
    /// then call [`PinVault::forget_salvaged`] with the backend's answer.
    ///
    /// # Errors
    /// `InvalidInput` (`max_entries` is 0), `Storage`.
    pub fn salvage(&self, max_entries: u32) -> Result<Option<SalvageUpload>, VaultError> {
        self.inner.events.report("salvage", salvage::salvage(&self.inner, max_entries))
    }

    /// Deletes the escrowed edits of `enrolment` (from a [`SalvageUpload`])
    /// through `through_seq`, the seq the backend answered it holds; returns
    /// how many were deleted. Needs no secret: deleting cannot make the
    /// backend apply anything twice, only keep it from getting the rest.
    /// Rows the backend can no longer verify (their enrolment was replaced
    /// there by a new one, with a new sync key) are dropped with
    /// `through_seq` = the largest seq.
    ///
    /// # Errors
    /// `InvalidInput` for an empty or oversized `enrolment`, `Storage`.
    pub fn forget_salvaged(&self, enrolment: Vec<u8>, through_seq: u64) -> Result<u64, VaultError> {
        self.inner.events.report("forget_salvaged", salvage::forget_salvaged(&self.inner, &enrolment, through_seq))
    }

    /// How many edits are escrowed (of every enrolment), waiting for a
    /// receipt or a salvage.
    ///
    /// # Errors
    /// `Storage`.
    pub fn escrowed_count(&self) -> Result<u64, VaultError> {
        self.inner.events.report("escrowed_count", salvage::escrowed_count(&self.inner))
    }

    /// Applies a remote directive from the backend (one of the `directives`
    /// of its answer to sync or renewal): verified with the issuer keys
    /// trusted for grants, refused if it is for another device, already
    /// applied, or older than the last applied; otherwise recorded first,
    /// then applied (a kill in between finishes it at the next `open`), and
    /// reported as a `DirectiveApplied` security event. Needs no PIN.
    ///
    /// `wipe` waits (`finished: false`) while a pending edit has no
    /// escrowed copy: upload the queue and hand the directive over again.
    /// `lock_until_renewal` refuses offline unlocks with `LockedUntilRenewal`
    /// until `unlock_with_grant` installs a grant issued after it; sessions
    /// already open stay open until locked. Acknowledge what
    /// [`PinVault::applied_directives`] lists in the next request.
    ///
    /// # Errors
    /// `DirectiveInvalid`, `DirectiveForAnotherDevice`, `DirectiveReplayed`,
    /// `DirectiveOutdated` (nothing changed); `Keystore`, `Storage` (the
    /// directive stays recorded and is finished later).
    pub fn apply_directive(&self, directive: &str) -> Result<DirectiveOutcome, VaultError> {
        self.inner.events.report("apply_directive", directive::apply(&self.inner, directive))
    }

    /// The ids (`jti`) of the remote directives applied, newest first (at
    /// most 16): send them with the next sync or renewal so the backend
    /// stops delivering them. Kept across wipes.
    ///
    /// # Errors
    /// `Storage`.
    pub fn applied_directives(&self) -> Result<Vec<String>, VaultError> {
        self.inner.events.report("applied_directives", directive::applied(&self.inner))
    }

    /// Sets the listener that receives this handle's [`SecurityEvent`]s
    /// (`crate::SecurityEvent`): those of its own calls and of the sessions
    /// and sync queues it hands out. Replaces any earlier listener. Other
    /// handles on the same file (and other processes) report to their own.
    ///
    /// The listener is called on the thread of the call that detected the
    /// event, after the change is committed and every lock released, just
    /// before that call returns; it may call the vault again. What it
    /// throws or panics is ignored: it cannot change the call's result.
    ///
    /// [`SecurityEvent`]: crate::SecurityEvent
    pub fn set_security_event_listener(&self, listener: Arc<dyn SecurityEventListener>) {
        self.inner.events.set_listener(Some(listener));
    }

    /// Removes the security-event listener: later events go nowhere (and,
    /// with the `log` feature, only to the log).
    pub fn clear_security_event_listener(&self) {
        self.inner.events.set_listener(None);
    }
}
