//! The platform's clocks: the [`Clock`] trait apps and tests implement, the
//! error it reports, and [`SystemClock`], the operating system's clocks.
//!
//! A clock tells three things: the wall clock (user-settable), an identity
//! of the current boot, and the time elapsed since that boot (counting deep
//! sleep), which no user setting moves. What the vault makes of them, the
//! time it trusts, is in `time.rs`; `docs/TIME.md` states the model.

use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// Errors a [`Clock`] reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
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
///
/// Platform sources: Android `Settings.Global.BOOT_COUNT` and
/// `SystemClock.elapsedRealtime()`; Apple `kern.boottime` and
/// `mach_continuous_time()`; Linux `/proc/sys/kernel/random/boot_id` and
/// `CLOCK_BOOTTIME`.
#[uniffi::export(with_foreign)]
pub trait Clock: Send + Sync {
    /// Wall-clock time in whole seconds since the Unix epoch (user-settable).
    ///
    /// # Errors
    /// [`ClockError::Unavailable`] when the platform cannot tell.
    fn now_unix_secs(&self) -> Result<i64, ClockError>;

    /// An identifier of the current boot of the device (1 to 256 bytes): the
    /// same for every process until the device restarts, different after.
    ///
    /// # Errors
    /// [`ClockError::Unavailable`] when the platform cannot tell.
    fn boot_id(&self) -> Result<String, ClockError>;

    /// Milliseconds since the device booted, counting deep sleep. Never goes
    /// backwards within one boot and cannot be set by the user.
    ///
    /// # Errors
    /// [`ClockError::Unavailable`] when the platform cannot tell.
    fn elapsed_since_boot_millis(&self) -> Result<u64, ClockError>;
}

/// The operating system's clocks.
///
/// On Linux and Android: `/proc/sys/kernel/random/boot_id` and
/// `CLOCK_BOOTTIME`. Elsewhere the library cannot read a boot identity
/// without platform code, so each process counts as a boot of its own and
/// elapsed time is the process's monotonic clock: weaker (every app restart
/// then counts as a reboot), never unsafe. Apple apps pass the platform
/// adapter's clock instead.
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

impl Clock for SystemClock {
    fn now_unix_secs(&self) -> Result<i64, ClockError> {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| ClockError::Unavailable { reason: "system time is before 1970".into() })?;
        i64::try_from(since.as_secs())
            .map_err(|_| ClockError::Unavailable { reason: "system time out of range".into() })
    }

    fn boot_id(&self) -> Result<String, ClockError> {
        system::boot_id()
    }

    fn elapsed_since_boot_millis(&self) -> Result<u64, ClockError> {
        system::elapsed_since_boot_millis()
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod system {
    use std::fs;

    use super::{ClockError, OnceLock};

    pub(super) fn boot_id() -> Result<String, ClockError> {
        // A process never outlives the boot it started in.
        static BOOT_ID: OnceLock<Result<String, ClockError>> = OnceLock::new();
        BOOT_ID
            .get_or_init(|| {
                fs::read_to_string("/proc/sys/kernel/random/boot_id")
                    .map(|id| id.trim().to_owned())
                    .map_err(|_| ClockError::Unavailable { reason: "cannot read the boot id".into() })
            })
            .clone()
    }

    pub(super) fn elapsed_since_boot_millis() -> Result<u64, ClockError> {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
        let secs = u64::try_from(now.tv_sec).map_err(|_| ClockError::Unavailable { reason: "boot time".into() })?;
        let nanos = u64::try_from(now.tv_nsec).map_err(|_| ClockError::Unavailable { reason: "boot time".into() })?;
        Ok(secs.saturating_mul(1000).saturating_add(nanos / 1_000_000))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod system {
    use std::time::Instant;

    use super::{ClockError, OnceLock};

    fn process_start() -> &'static (String, Instant) {
        static START: OnceLock<(String, Instant)> = OnceLock::new();
        START.get_or_init(|| {
            let nonce: [u8; 16] = crate::crypto::random_array().unwrap_or_default();
            (format!("process-{}", hex::encode(nonce)), Instant::now())
        })
    }

    pub(super) fn boot_id() -> Result<String, ClockError> {
        Ok(process_start().0.clone())
    }

    pub(super) fn elapsed_since_boot_millis() -> Result<u64, ClockError> {
        Ok(u64::try_from(process_start().1.elapsed().as_millis()).unwrap_or(u64::MAX))
    }
}
