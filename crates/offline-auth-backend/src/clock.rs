//! The server's clock, which the verifier compares entry times against.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{BackendError, Result};

/// The time the verifier trusts: entries stamped later than this (plus the
/// skew) are refused. Servers use [`SystemServerClock`]; tests pass a fixed
/// time.
#[cfg_attr(feature = "ffi", uniffi::export(with_foreign))]
pub trait ServerClock: Send + Sync {
    /// Seconds since the Unix epoch.
    ///
    /// # Errors
    /// `Clock` if the time cannot be read.
    fn now_unix_secs(&self) -> Result<i64, BackendError>;
}

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemServerClock;

impl ServerClock for SystemServerClock {
    fn now_unix_secs(&self) -> Result<i64> {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| BackendError::Clock { reason: "the system clock is before 1970".into() })?;
        i64::try_from(since.as_secs())
            .map_err(|_| BackendError::Clock { reason: "the system clock is out of range".into() })
    }
}

/// A clock that always says the same time (Rust tests, replays of old
/// batches). Foreign code implements [`ServerClock`] itself.
#[derive(Debug, Clone, Copy)]
pub struct FixedServerClock(pub i64);

impl ServerClock for FixedServerClock {
    fn now_unix_secs(&self) -> Result<i64> {
        Ok(self.0)
    }
}
