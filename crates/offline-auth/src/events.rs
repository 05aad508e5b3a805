//! Security events: what the vault reports to the app as it happens (wrong
//! PINs, lockouts, wipes, clock rollbacks, tampering, lost biometric keys),
//! through the [`SecurityEventListener`] foreign trait.
//!
//! # When and where a listener is called
//! The code that detects an event *records* it ([`EventSink::emit`]) once
//! the change it reports is durably committed. Recorded events wait in a
//! per-thread list until the exported call that recorded them is about to
//! return, with every lock, gate and transaction it took already released;
//! only then are they delivered ([`deliver`]), in the order they happened,
//! on that call's thread (for an `_async` call, the worker thread it runs
//! on). A listener may therefore call back into the vault, its sessions and
//! queues, including `unlock` or `wipe`, without deadlocking.
//!
//! A listener cannot change the outcome of the call that reports to it: its
//! method is infallible, and a panic in it (which is how UniFFI reports an
//! exception thrown by a Kotlin, Swift or Python listener) is caught and
//! dropped here. No lock is held while it runs, so nothing is poisoned.
//!
//! No event carries a PIN, a key, plaintext or record contents: only counts,
//! durations, the reason for a wipe, the operation that found tampering and
//! why biometric unlock was turned off.

use std::cell::RefCell;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{Error, Result, VaultError};

/// Something security-relevant that happened to a vault. Carries no secret.
///
/// Delivered to the [`SecurityEventListener`] of the `PinVault` handle that
/// the call went through (sessions and sync queues report to the listener of
/// the vault they came from), once per occurrence, after the change it
/// reports is committed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
#[non_exhaustive]
pub enum SecurityEvent {
    /// A wrong PIN was entered (to `unlock`, `unlock_with_grant` or
    /// `change_pin`); the attempt is counted. Not sent for the attempt that
    /// reaches the limit: that one is a [`SecurityEvent::Wiped`].
    WrongPin {
        /// Wrong PINs left before the vault wipes itself.
        attempts_remaining: u32,
    },
    /// A lockout started: the wrong PIN just counted (or a reboot, which
    /// restarts the wait) makes the next attempt wait.
    LockedOut {
        /// Consecutive wrong PINs so far.
        failed_attempts: u32,
        /// Seconds before the next PIN attempt is accepted.
        retry_after_secs: u64,
    },
    /// The enrolment was destroyed: keystore keys, wraps, records and queue.
    Wiped {
        /// Why.
        reason: WipeReason,
    },
    /// The clock was caught going back beyond the tolerance (wall clock
    /// behind trusted time, or elapsed time since boot running backwards):
    /// offline access is locked until an online renewal. Sent when the lock
    /// is set, not for every call it refuses afterwards.
    ClockRollback,
    /// Stored data failed authentication (it was modified, moved, replaced
    /// or truncated); the call returned `Tampered`.
    Tampered {
        /// The call that found it (`unlock`, `get`, `next_batch`, …).
        operation: String,
    },
    /// Biometric unlock was turned off because the platform invalidated or
    /// lost its key; the PIN still works.
    BiometricsInvalidated {
        /// What the platform did to the key.
        reason: BiometricLoss,
    },
    /// A remote directive from the backend, verified and new, was applied
    /// (`PinVault::apply_directive`). A wipe is also reported as
    /// [`SecurityEvent::Wiped`].
    DirectiveApplied {
        /// What it did.
        action: DirectiveAction,
        /// Its id (`jti`), to acknowledge to the backend.
        jti: String,
    },
}

/// What a remote directive tells the vault to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
#[non_exhaustive]
pub enum DirectiveAction {
    /// Wipe the vault, once no pending edit can be lost by it.
    Wipe,
    /// Refuse offline unlock until an online renewal issued after it.
    LockUntilRenewal,
    /// Turn biometric unlock off (delete its key).
    BiometricsOff,
}

impl DirectiveAction {
    /// The action of a verified directive, or `None` for one this version of
    /// the library does not know (the wire format may grow: it is refused as
    /// invalid, never guessed at).
    pub(crate) fn from_wire(action: offline_auth_proto::directive::DirectiveAction) -> Option<Self> {
        use offline_auth_proto::directive::DirectiveAction as Wire;
        match action {
            Wire::Wipe => Some(Self::Wipe),
            Wire::LockUntilRenewal => Some(Self::LockUntilRenewal),
            Wire::BiometricsOff => Some(Self::BiometricsOff),
            _ => None,
        }
    }
}

/// Why a vault was wiped.
///
/// Like every public enum that will grow, it is `#[non_exhaustive]`: a match
/// outside this crate needs a `_` arm, so a new reason is not a breaking
/// change.
///
/// ```compile_fail,E0004
/// fn label(reason: offline_auth::WipeReason) -> &'static str {
///     match reason {
///         offline_auth::WipeReason::Requested => "requested",
///         offline_auth::WipeReason::AttemptLimit => "attempt limit",
///         offline_auth::WipeReason::RemoteDirective => "remote directive",
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
#[non_exhaustive]
pub enum WipeReason {
    /// The app called `wipe`.
    Requested,
    /// Too many wrong PINs: the attempt limit was reached.
    AttemptLimit,
    /// A remote directive from the backend said so.
    RemoteDirective,
}

/// What happened to the biometric keystore key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
#[non_exhaustive]
pub enum BiometricLoss {
    /// The platform invalidated it (new fingerprint or face enrolled).
    Invalidated,
    /// The key is gone (lock screen or passcode removed, keystore cleared).
    KeyMissing,
}

impl fmt::Display for SecurityEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongPin { attempts_remaining } => {
                write!(f, "wrong PIN; {attempts_remaining} attempts remaining")
            }
            Self::LockedOut { failed_attempts, retry_after_secs } => {
                write!(f, "locked out after {failed_attempts} wrong PINs; retry in {retry_after_secs} s")
            }
            Self::Wiped { reason: WipeReason::Requested } => f.write_str("vault wiped on request"),
            Self::Wiped { reason: WipeReason::AttemptLimit } => f.write_str("vault wiped: too many wrong PINs"),
            Self::Wiped { reason: WipeReason::RemoteDirective } => f.write_str("vault wiped by a remote directive"),
            Self::ClockRollback => f.write_str("clock rollback detected; offline access locked until renewal"),
            Self::Tampered { operation } => write!(f, "stored data failed authentication in {operation}"),
            Self::BiometricsInvalidated { reason: BiometricLoss::Invalidated } => {
                f.write_str("biometric key invalidated by the platform; biometric unlock turned off")
            }
            Self::BiometricsInvalidated { reason: BiometricLoss::KeyMissing } => {
                f.write_str("biometric key missing from the keystore; biometric unlock turned off")
            }
            Self::DirectiveApplied { action, jti } => write!(f, "remote directive {jti} applied: {action:?}"),
        }
    }
}

/// Receives [`SecurityEvent`]s. Implemented by the app (Kotlin, Swift,
/// Python or Rust) and registered with `PinVault::set_security_event_listener`.
///
/// Called on the thread of the vault, session or queue call that detected
/// the event, just before that call returns and after it released its
/// locks; the listener may call the vault again. Keep it short (it delays
/// the call's return): hand the event to a queue or a logger. It cannot
/// fail the call: a panic or a foreign exception in it is caught and
/// ignored.
#[uniffi::export(with_foreign)]
pub trait SecurityEventListener: Send + Sync {
    /// One event. Infallible: throwing from it changes nothing.
    fn on_event(&self, event: SecurityEvent);
}

type Listener = Arc<dyn SecurityEventListener>;

/// A vault handle's listener, and where its events are recorded.
#[derive(Default)]
pub(crate) struct EventSink {
    listener: Mutex<Option<Listener>>,
}

thread_local! {
    /// Events recorded on this thread, with the listener each goes to,
    /// waiting for the end of the exported call.
    static PENDING: RefCell<Vec<(Option<Listener>, SecurityEvent)>> = const { RefCell::new(Vec::new()) };
}

impl EventSink {
    /// Sets (or, with `None`, removes) the listener.
    pub(crate) fn set_listener(&self, listener: Option<Listener>) {
        *self.listener.lock().unwrap_or_else(PoisonError::into_inner) = listener;
    }

    /// Records `event` for delivery at the end of the current exported call.
    /// Call it once the change the event reports is committed.
    pub(crate) fn emit(&self, event: SecurityEvent) {
        let listener = self.listener.lock().unwrap_or_else(PoisonError::into_inner).clone();
        PENDING.with(|pending| pending.borrow_mut().push((listener, event)));
    }

    /// The end of an exported call: a `Tampered` outcome is itself an event
    /// (of `operation`); then every event recorded on this thread is
    /// delivered, and the error converted for the app.
    pub(crate) fn report<T>(&self, operation: &'static str, result: Result<T>) -> Result<T, VaultError> {
        if matches!(result, Err(Error::Tampered)) {
            self.emit(SecurityEvent::Tampered { operation: operation.to_owned() });
        }
        deliver();
        result.map_err(VaultError::from)
    }
}

/// Delivers the events recorded on this thread, oldest first, to their
/// listeners (and to the `log` facade). Runs with no
/// lock held; the list is taken before any listener runs, so a listener that
/// calls the vault again delivers that call's events itself.
pub(crate) fn deliver() {
    loop {
        let events = PENDING.with(|pending| std::mem::take(&mut *pending.borrow_mut()));
        if events.is_empty() {
            return;
        }
        for (listener, event) in events {
            log_event(&event);
            if let Some(listener) = listener {
                // A panicking listener (or a throwing foreign one, which
                // UniFFI turns into a panic here) fails only itself.
                catch_unwind(AssertUnwindSafe(|| listener.on_event(event))).ok();
            }
        }
    }
}

/// The event on the `log` facade: target `offline_auth::security`, `warn`
/// for an attack or a loss, `info` for a routine wrong PIN (see
/// `diagnostics` for routing it to the app's logger).
fn log_event(event: &SecurityEvent) {
    let level = match event {
        SecurityEvent::WrongPin { .. } => log::Level::Info,
        _ => log::Level::Warn,
    };
    log::log!(target: "offline_auth::security", level, "{event}");
}
