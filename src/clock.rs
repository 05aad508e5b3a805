//! Time: the wall clock we are told, and the latest time we have trusted.
//!
//! The offline window is only as good as the clock that measures it, and the
//! user can set the wall clock. So the vault keeps a *trusted time*: the
//! latest of every wall-clock reading it accepted and of the issue time of
//! every server-signed grant it installed, stored sealed under the vault key.
//! A wall clock earlier than the trusted time by more than the tolerance is a
//! rollback ([`crate::VaultError::ClockRollback`]). Idle timeouts use the
//! monotonic clock, which the user cannot set.

use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Errors a [`Clock`] reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum ClockError {
    /// The platform could not tell the time.
    #[error("{reason}")]
    Unavailable {
        /// The platform's description.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for ClockError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        ClockError::Unavailable { reason: format!("clock callback failed: {}", error.reason) }
    }
}

/// A source of time. Platforms and tests may supply their own.
#[uniffi::export(with_foreign)]
pub trait Clock: Send + Sync {
    /// Wall-clock time in whole seconds since the Unix epoch (user-settable).
    ///
    /// # Errors
    /// [`ClockError::Unavailable`] when the platform cannot tell.
    fn now_unix_secs(&self) -> Result<i64, ClockError>;

    /// A monotonic reading in milliseconds from an arbitrary origin; never
    /// goes backwards while the process lives (Android `elapsedRealtime`,
    /// Apple `ContinuousClock`).
    ///
    /// # Errors
    /// [`ClockError::Unavailable`] when the platform cannot tell.
    fn monotonic_millis(&self) -> Result<u64, ClockError>;
}

/// The operating system's clocks.
#[derive(Debug, Default, uniffi::Object)]
pub struct SystemClock;

#[uniffi::export]
impl SystemClock {
    /// The system clock as the trait object vaults take.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self)
    }

    /// This clock as a `Clock` handle, without a round trip through the foreign language.
    pub fn as_clock(self: Arc<Self>) -> Arc<dyn Clock> {
        self
    }
}

fn process_start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

impl Clock for SystemClock {
    fn now_unix_secs(&self) -> Result<i64, ClockError> {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| ClockError::Unavailable { reason: "system time is before 1970".into() })?;
        i64::try_from(since.as_secs())
            .map_err(|_| ClockError::Unavailable { reason: "system time out of range".into() })
    }

    fn monotonic_millis(&self) -> Result<u64, ClockError> {
        Ok(u64::try_from(process_start().elapsed().as_millis()).unwrap_or(u64::MAX))
    }
}

/// The outcome of comparing the wall clock with the trusted time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeCheck {
    /// The clock is acceptable; the new trusted time is `max(wall, trusted)`.
    Trusted(i64),
    /// The wall clock is earlier than the trusted time by more than the tolerance.
    RolledBack,
}

/// Compares a wall-clock reading with the last trusted time.
pub(crate) fn check_time(wall: i64, last_trusted: i64, tolerance_secs: u64) -> TimeCheck {
    let tolerance = i64::try_from(tolerance_secs).unwrap_or(i64::MAX);
    if wall.saturating_add(tolerance) < last_trusted {
        TimeCheck::RolledBack
    } else {
        TimeCheck::Trusted(wall.max(last_trusted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_and_small_drift_are_trusted() {
        assert_eq!(check_time(1_000, 900, 300), TimeCheck::Trusted(1_000));
        assert_eq!(check_time(800, 900, 300), TimeCheck::Trusted(900));
        assert_eq!(check_time(600, 900, 300), TimeCheck::Trusted(900));
    }

    #[test]
    fn rollback_beyond_tolerance_is_caught() {
        assert_eq!(check_time(599, 900, 300), TimeCheck::RolledBack);
        assert_eq!(check_time(i64::MIN, 0, u64::MAX), TimeCheck::RolledBack);
    }

    #[test]
    fn system_clock_is_sane() {
        let clock = SystemClock::new();
        assert!(clock.now_unix_secs().unwrap() > 1_700_000_000);
        let a = clock.monotonic_millis().unwrap();
        assert!(clock.monotonic_millis().unwrap() >= a);
    }
}
