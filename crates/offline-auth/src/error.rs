//! Errors: one internal enum for the crate's plumbing, one public enum for users.
//!
//! Internal code returns [`Error`], which keeps the source errors (`#[from]`).
//! Everything that crosses the public API is converted once, in
//! `From<Error> for VaultError`, which is also where we make sure no message
//! carries a PIN, a key or plaintext: only fixed texts, counts and the
//! messages of SQLite and the platform keystore (neither of which sees our
//! secrets in clear: SQL parameters are never echoed, and the keystore only
//! knows its own errors).

use crate::keystore::KeystoreError;

/// Every way an offline-auth call can fail, as seen by the app.
///
/// No variant carries a PIN, a key or stored plaintext.
///
/// The `Display` text below is exported to every binding, so a foreign
/// exception carries it (Kotlin `message`, Swift `localizedDescription`,
/// Python `str(e)`); the typed fields stay readable beside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
#[non_exhaustive]
pub enum VaultError {
    /// No enrolment in this vault: sign in online and call `enroll`.
    #[error("the vault is not enrolled")]
    NotEnrolled,
    /// `enroll` on a vault that already holds an enrolment: `wipe` it first.
    #[error("the vault is already enrolled")]
    AlreadyEnrolled,
    /// The PIN does not meet the policy (length, repetition, sequence, blocklist).
    #[error("PIN rejected by policy: {reason}")]
    WeakPin {
        /// Which rule the PIN broke, fit to show the user.
        reason: String,
    },
    /// The input cannot be this vault's PIN: its length or characters are
    /// outside the policy the PIN was set under (empty, too short or long,
    /// control characters, emoji). Nothing was counted, no key was touched:
    /// let the user correct the input.
    #[error("not a possible PIN for this vault ({reason}); no attempt was counted")]
    MalformedPin {
        /// Which rule the input broke, fit to show the user.
        reason: String,
    },
    /// The PIN was wrong; the attempt has been counted.
    #[error("wrong PIN; {attempts_remaining} attempts remaining before the vault is wiped")]
    WrongPin {
        /// Attempts left before the vault wipes itself.
        attempts_remaining: u32,
    },
    /// Too many recent failures: wait before the next attempt.
    #[error("too many wrong PINs; try again in {retry_after_secs} s")]
    LockedOut {
        /// Seconds to wait before another PIN attempt is accepted.
        retry_after_secs: u64,
    },
    /// The vault was wiped (attempt limit or `wipe`): enrol again online.
    #[error("the vault has been wiped; sign in online to enrol again")]
    Wiped,
    /// The offline grant is malformed, badly signed, or not for this device/user.
    #[error("offline grant rejected: {reason}")]
    GrantInvalid {
        /// Why the grant was rejected.
        reason: String,
    },
    /// The offline window has ended: go online and renew the grant.
    #[error("the offline grant has expired; go online to renew it")]
    GrantExpired,
    /// The device clock went back beyond the tolerance: offline access stays
    /// locked until the next online renewal.
    #[error("the device clock moved backwards; go online to renew the grant")]
    ClockRollback,
    /// Stored data failed authentication: it was modified, moved or replaced.
    #[error("stored data failed authentication")]
    Tampered,
    /// Biometric unlock is not enabled for this vault.
    #[error("biometric unlock is not enabled")]
    BiometricsUnavailable,
    /// The platform invalidated the biometric key (e.g. new fingerprint
    /// enrolled); biometric unlock is now off and the PIN still works.
    #[error("the biometric key was invalidated; unlock with the PIN and enable biometrics again")]
    BiometricsInvalidated,
    /// The user cancelled the platform's authentication prompt. No attempt was counted.
    #[error("the user cancelled authentication")]
    UserCancelled,
    /// The device key is missing or permanently invalidated (the lock screen
    /// or passcode was removed, the keystore was cleared, or the file is a
    /// copy from another device or an earlier epoch). Neither the PIN nor
    /// biometrics can open this vault again; nothing was changed or counted.
    /// The app syncs what it can, then calls `wipe` and enrols again online.
    #[error("the device key is gone (lock screen removed or keystore cleared); sync what can be synced, then wipe the vault and enrol again online")]
    DeviceKeyLost,
    /// The platform keystore failed.
    #[error("platform keystore error: {reason}")]
    Keystore {
        /// The keystore's own description of the failure.
        reason: String,
    },
    /// The platform clock callback failed.
    #[error("clock unavailable: {reason}")]
    ClockUnavailable {
        /// The clock's own description of the failure.
        reason: String,
    },
    /// The session was locked (by `lock` or the idle timeout), or its vault
    /// was wiped (the first call after a wipe says `Wiped`, later ones this).
    #[error("the session is locked; unlock again")]
    SessionLocked,
    /// The database could not be read or written, or is not ours.
    #[error("storage error: {reason}")]
    Storage {
        /// What went wrong with the database.
        reason: String,
    },
    /// An argument was rejected (empty or oversized id, wrong key length, …).
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// Which argument and why.
        reason: String,
    },
    /// A receipt from the backend did not verify or does not match this
    /// vault's queue; nothing was deleted.
    #[error("receipt invalid: {reason}")]
    ReceiptInvalid {
        /// Why the receipt was refused.
        reason: String,
    },
    /// The oldest pending edit is stamped after the backend's time (as last
    /// noted with `PinVault::note_server_time`): the device's clock ran
    /// ahead, and the backend refuses edits from its future. Nothing is
    /// lost: the edit waits until the backend's clock reaches it. Tell the
    /// user to set the clock right; a fresh renewal repairs the time of
    /// later edits.
    #[error(
        "the device's clock is {ahead_secs} s ahead of the backend's; pending edits upload in {retry_after_secs} s"
    )]
    ClockAhead {
        /// How far the oldest pending edit's time is ahead of the backend's.
        ahead_secs: u64,
        /// Seconds until the backend's clock accepts it.
        retry_after_secs: u64,
    },
    /// A remote directive was refused: malformed, not signed by a trusted
    /// issuer, or not typed as a directive. Nothing was changed.
    #[error("remote directive rejected: {reason}")]
    DirectiveInvalid {
        /// Which rule it broke.
        reason: String,
    },
    /// A remote directive names another device. Nothing was changed.
    #[error("the remote directive is for another device")]
    DirectiveForAnotherDevice,
    /// A remote directive already applied here (same `jti`). Nothing was changed.
    #[error("the remote directive was already applied")]
    DirectiveReplayed,
    /// A remote directive issued before the last one applied here. Nothing
    /// was changed.
    #[error("the remote directive is older than the last one applied")]
    DirectiveOutdated,
    /// A remote directive locked offline access: unlock online with a grant
    /// the backend issued after it (`unlock_with_grant`).
    #[error("offline access is locked by the backend; go online to renew the grant")]
    LockedUntilRenewal,
}

/// The crate's internal error, converted to [`VaultError`] at the API edge.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("not enrolled")]
    NotEnrolled,
    #[error("already enrolled")]
    AlreadyEnrolled,
    #[error("weak PIN: {0}")]
    WeakPin(&'static str),
    #[error("malformed PIN: {0}")]
    MalformedPin(&'static str),
    #[error("wrong PIN")]
    WrongPin { attempts_remaining: u32 },
    #[error("locked out")]
    LockedOut { retry_after_secs: u64 },
    #[error("wiped")]
    Wiped,
    #[error("grant invalid: {0}")]
    GrantInvalid(String),
    #[error("grant expired")]
    GrantExpired,
    #[error("clock rollback")]
    ClockRollback,
    #[error("tampered")]
    Tampered,
    #[error("biometrics unavailable")]
    BiometricsUnavailable,
    #[error("biometrics invalidated")]
    BiometricsInvalidated,
    #[error("user cancelled")]
    UserCancelled,
    #[error("device key lost")]
    DeviceKeyLost,
    #[error("keystore: {0}")]
    Keystore(#[from] KeystoreError),
    #[error("clock: {0}")]
    Clock(#[from] crate::clock::ClockError),
    #[error("session locked")]
    SessionLocked,
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the file is not an offline-auth database")]
    NotOurDatabase,
    #[error("database schema {found} is newer than this library supports ({supported})")]
    NewerSchema { found: i64, supported: i64 },
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("receipt invalid: {0}")]
    ReceiptInvalid(String),
    #[error("clock {ahead_secs} s ahead of the backend's")]
    ClockAhead { ahead_secs: u64, retry_after_secs: u64 },
    #[error("directive invalid: {0}")]
    DirectiveInvalid(String),
    #[error("directive for another device")]
    DirectiveForAnotherDevice,
    #[error("directive replayed")]
    DirectiveReplayed,
    #[error("directive outdated")]
    DirectiveOutdated,
    #[error("locked until renewal")]
    LockedUntilRenewal,
    #[error("encoding failed")]
    Encoding,
    #[error("the operating system's random number generator failed")]
    Rng,
}

impl From<Error> for VaultError {
    fn from(error: Error) -> Self {
        match error {
            Error::NotEnrolled => VaultError::NotEnrolled,
            Error::AlreadyEnrolled => VaultError::AlreadyEnrolled,
            Error::WeakPin(reason) => VaultError::WeakPin { reason: reason.to_owned() },
            Error::MalformedPin(reason) => VaultError::MalformedPin { reason: reason.to_owned() },
            Error::WrongPin { attempts_remaining } => VaultError::WrongPin { attempts_remaining },
            Error::LockedOut { retry_after_secs } => VaultError::LockedOut { retry_after_secs },
            Error::Wiped => VaultError::Wiped,
            Error::GrantInvalid(reason) => VaultError::GrantInvalid { reason },
            Error::GrantExpired => VaultError::GrantExpired,
            Error::ClockRollback => VaultError::ClockRollback,
            Error::Tampered => VaultError::Tampered,
            Error::BiometricsUnavailable => VaultError::BiometricsUnavailable,
            Error::BiometricsInvalidated | Error::Keystore(KeystoreError::KeyInvalidated) => {
                VaultError::BiometricsInvalidated
            }
            Error::UserCancelled | Error::Keystore(KeystoreError::UserCancelled) => VaultError::UserCancelled,
            Error::DeviceKeyLost => VaultError::DeviceKeyLost,
            Error::Keystore(e) => VaultError::Keystore { reason: e.to_string() },
            Error::Clock(e) => VaultError::ClockUnavailable { reason: e.to_string() },
            Error::SessionLocked => VaultError::SessionLocked,
            Error::Sqlite(e) => VaultError::Storage { reason: storage_reason(&e) },
            e @ (Error::NotOurDatabase | Error::NewerSchema { .. }) => VaultError::Storage { reason: e.to_string() },
            Error::InvalidInput(reason) => VaultError::InvalidInput { reason },
            Error::ReceiptInvalid(reason) => VaultError::ReceiptInvalid { reason },
            Error::ClockAhead { ahead_secs, retry_after_secs } => {
                VaultError::ClockAhead { ahead_secs, retry_after_secs }
            }
            Error::DirectiveInvalid(reason) => VaultError::DirectiveInvalid { reason },
            Error::DirectiveForAnotherDevice => VaultError::DirectiveForAnotherDevice,
            Error::DirectiveReplayed => VaultError::DirectiveReplayed,
            Error::DirectiveOutdated => VaultError::DirectiveOutdated,
            Error::LockedUntilRenewal => VaultError::LockedUntilRenewal,
            e @ (Error::Encoding | Error::Rng) => VaultError::Storage { reason: e.to_string() },
        }
    }
}

/// SQLite's message without anything row-specific. We bind every value as a
/// parameter, so SQLite never sees our data in SQL text; its messages name
/// the failure ("database is locked", "file is not a database").
fn storage_reason(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(code, _) => code.to_string(),
        other => other.to_string(),
    }
}

impl From<offline_auth_proto::ProtoError> for Error {
    fn from(error: offline_auth_proto::ProtoError) -> Self {
        use offline_auth_proto::ProtoError as P;
        match error {
            P::InvalidInput(reason) => Error::InvalidInput(reason),
            P::Tampered => Error::Tampered,
            P::GrantInvalid(reason) => Error::GrantInvalid(reason),
            P::DirectiveInvalid(reason) => Error::DirectiveInvalid(reason),
            P::GrantExpired => Error::GrantExpired,
            // The device writes batches and never reads one.
            P::BatchRejected(_) => Error::Encoding,
            P::ReceiptInvalid(reason) => Error::ReceiptInvalid(reason),
            P::Encoding => Error::Encoding,
            P::Rng => Error::Rng,
            // `ProtoError` is non-exhaustive: a failure added later is at
            // worst a format the device could not write.
            _ => Error::Encoding,
        }
    }
}

/// Internal result alias.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
