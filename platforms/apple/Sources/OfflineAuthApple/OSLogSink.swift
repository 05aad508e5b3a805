// OSLogSink: the library's log records in the unified logging system.
//
// NOT COMPILED IN THIS REPOSITORY'S CI: like AppleClock it is behind
// `#if canImport(os)` (Apple platforms only), so on Linux this file compiles
// to nothing. Written against Apple's documentation of `Logger`
// (os, iOS 14+ / macOS 11+); build it on a Mac before relying on it.
#if canImport(os)
import OfflineAuth
import os

/// A `LogSink` that writes each record to `Logger(subsystem: "dev.offlineauth",
/// category: target)`: security events at `.info` (a wrong PIN) and
/// `.default` (warnings: a lockout, a wipe, a clock rollback, tampering).
///
/// ```swift
/// try setLogSink(sink: OSLogSink(), level: .info)   // once, at launch
/// ```
///
/// The text names no PIN, key, grant or record value, so it is logged as
/// `.public` (readable in Console without a profile).
public final class OSLogSink: LogSink, @unchecked Sendable {
    private let subsystem: String

    public init(subsystem: String = "dev.offlineauth") {
        self.subsystem = subsystem
    }

    public func log(level: LogLevel, target: String, message: String) {
        let logger = Logger(subsystem: subsystem, category: target)
        switch level {
        case .error: logger.error("\(message, privacy: .public)")
        case .warn: logger.warning("\(message, privacy: .public)")
        case .info: logger.info("\(message, privacy: .public)")
        case .debug: logger.debug("\(message, privacy: .public)")
        case .trace: logger.trace("\(message, privacy: .public)")
        }
    }
}
#endif
