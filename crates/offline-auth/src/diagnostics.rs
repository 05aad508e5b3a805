//! The library's logs, routed to the app's logger: one call
//! ([`set_log_sink`]) hands every log record of this library at or above a
//! level to a [`LogSink`] the app implements (Logcat on Android, OSLog on
//! Apple, Python's `logging`; the platform packages ship those sinks).
//!
//! What is logged is what the `log` facade carries under the targets
//! `offline_auth` and `offline_auth::*`: today the security events (target
//! `offline_auth::security`, `info` for a wrong PIN, `warn` for the rest),
//! whose text names no PIN, key, grant, value or record key. Records of
//! other crates are never forwarded.
//!
//! A Rust app that installs its own `log` logger (env_logger, tracing's log
//! bridge, ...) gets the same records there and has no use for this module;
//! [`set_log_sink`] then reports [`LogSinkError::AnotherLoggerInstalled`]
//! rather than replacing the app's logger.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

/// How much of the library's logging reaches the sink: this level and the
/// more severe ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
#[non_exhaustive]
pub enum LogLevel {
    /// Failures the library reports to the app anyway.
    Error,
    /// Attacks and losses (clock rollback, tampering, a wipe, a lockout).
    Warn,
    /// Routine but notable (a wrong PIN).
    Info,
    /// Detail for debugging an integration.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    fn filter(self) -> log::LevelFilter {
        match self {
            Self::Error => log::LevelFilter::Error,
            Self::Warn => log::LevelFilter::Warn,
            Self::Info => log::LevelFilter::Info,
            Self::Debug => log::LevelFilter::Debug,
            Self::Trace => log::LevelFilter::Trace,
        }
    }

    fn of(level: log::Level) -> Self {
        match level {
            log::Level::Error => Self::Error,
            log::Level::Warn => Self::Warn,
            log::Level::Info => Self::Info,
            log::Level::Debug => Self::Debug,
            log::Level::Trace => Self::Trace,
        }
    }
}

/// Receives the library's log records. Implemented by the app (or by the
/// platform package's Logcat, OSLog or `logging` sink).
///
/// Called on the thread that logs, with no lock of the library held. Keep it
/// short and do not call the library from it: a record logged while the sink
/// runs on the same thread is dropped (no recursion). A panic or a foreign
/// exception in it is caught and ignored: logging never fails a call.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    /// One record: its level, its target (`offline_auth::security`, ...) and
    /// its text.
    fn log(&self, level: LogLevel, target: String, message: String);
}

/// Why [`set_log_sink`] did not route the library's logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
#[non_exhaustive]
pub enum LogSinkError {
    /// The process already has a `log` logger that is not this bridge (a
    /// Rust app's own): the library's records already go there.
    #[error("another logger is installed for the `log` facade; the library's records go to it")]
    AnotherLoggerInstalled,
}

/// Routes the library's log records at `level` and above to `sink`,
/// replacing the sink set before. Call it once at start-up (the platform
/// packages wrap it: `routeLogsToLogcat`, `OSLogSink`,
/// `route_logs_to_python_logging`).
///
/// # Errors
/// [`LogSinkError::AnotherLoggerInstalled`] if a `log` logger other than
/// this bridge is installed (then nothing changes).
#[uniffi::export]
pub fn set_log_sink(sink: Arc<dyn LogSink>, level: LogLevel) -> Result<(), LogSinkError> {
    if !bridge_installed() {
        return Err(LogSinkError::AnotherLoggerInstalled);
    }
    *BRIDGE.sink.write().unwrap_or_else(PoisonError::into_inner) = Some((sink, level.filter()));
    raise_max_level(level.filter());
    Ok(())
}

/// Stops routing the library's log records (the sink set before is
/// released). Harmless when none is set.
#[uniffi::export]
pub fn clear_log_sink() {
    *BRIDGE.sink.write().unwrap_or_else(PoisonError::into_inner) = None;
}

/// The bridge between the `log` facade and the app's sink.
struct Bridge {
    sink: RwLock<Option<(Arc<dyn LogSink>, log::LevelFilter)>>,
}

static BRIDGE: Bridge = Bridge { sink: RwLock::new(None) };
/// Whether `log::set_logger` took the bridge (decided once per process).
static INSTALLED: OnceLock<bool> = OnceLock::new();

thread_local! {
    /// Set while this thread runs the sink: records logged meanwhile are dropped.
    static IN_SINK: Cell<bool> = const { Cell::new(false) };
}

fn bridge_installed() -> bool {
    *INSTALLED.get_or_init(|| log::set_logger(&BRIDGE).is_ok())
}

/// The facade's global maximum only ever rises here: lowering it would also
/// silence records a level filter of ours does not concern.
fn raise_max_level(filter: log::LevelFilter) {
    if filter > log::max_level() {
        log::set_max_level(filter);
    }
}

fn ours(target: &str) -> bool {
    target == "offline_auth" || target.starts_with("offline_auth::")
}

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        ours(metadata.target())
            && self
                .sink
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .is_some_and(|(_, filter)| metadata.level() <= *filter)
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) || IN_SINK.with(Cell::get) {
            return;
        }
        // The sink is cloned out, so that no lock is held while it runs.
        let Some((sink, _)) = self.sink.read().unwrap_or_else(PoisonError::into_inner).clone() else {
            return;
        };
        let level = LogLevel::of(record.level());
        let target = record.target().to_owned();
        let message = record.args().to_string();
        IN_SINK.with(|flag| flag.set(true));
        // A panicking sink (or a throwing foreign one, which UniFFI turns
        // into a panic here) fails only itself.
        catch_unwind(AssertUnwindSafe(|| sink.log(level, target, message))).ok();
        IN_SINK.with(|flag| flag.set(false));
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Collect(Mutex<Vec<(LogLevel, String, String)>>);

    impl LogSink for Collect {
        fn log(&self, level: LogLevel, target: String, message: String) {
            // A record logged from inside the sink is dropped, not recursed into.
            log::warn!(target: "offline_auth::security", "from inside the sink");
            self.0.lock().unwrap().push((level, target, message));
        }
    }

    struct Panicking;

    impl LogSink for Panicking {
        fn log(&self, _: LogLevel, _: String, _: String) {
            panic!("the app's sink failed");
        }
    }

    /// This test's records: other unit tests run on other threads meanwhile
    /// and log security events, which the process-wide sink also receives.
    const TARGET: &str = "offline_auth::diagnostics_test";

    fn mine(sink: &Collect) -> Vec<(LogLevel, String, String)> {
        sink.0.lock().unwrap().iter().filter(|(_, target, _)| target != "offline_auth::security").cloned().collect()
    }

    // One test: the bridge and its sink are process-wide.
    #[test]
    fn the_sink_gets_our_records_at_its_level_and_nothing_else() {
        let sink = Arc::new(Collect::default());
        set_log_sink(sink.clone(), LogLevel::Warn).unwrap();

        log::warn!(target: TARGET, "clock rollback detected");
        log::info!(target: TARGET, "wrong PIN; 9 attempts remaining");
        log::error!(target: "rusqlite", "another crate's record");
        log::error!(target: "offline_authority", "a crate whose name only starts like ours");

        assert_eq!(mine(&sink), vec![(LogLevel::Warn, TARGET.to_owned(), "clock rollback detected".to_owned())]);

        set_log_sink(sink.clone(), LogLevel::Info).unwrap();
        log::info!(target: TARGET, "wrong PIN; 8 attempts remaining");
        assert_eq!(mine(&sink).len(), 2);

        set_log_sink(Arc::new(Panicking), LogLevel::Info).unwrap();
        log::warn!(target: TARGET, "a panicking sink fails only itself");

        clear_log_sink();
        log::warn!(target: TARGET, "no sink: dropped");
        assert_eq!(mine(&sink).len(), 2);
    }
}
