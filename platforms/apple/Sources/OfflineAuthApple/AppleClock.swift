// AppleClock: the Clock that apps on Apple platforms pass to PinVault.openWithClock.
//
// NOT COMPILED IN THIS REPOSITORY'S CI: like AppleKeystore it is behind
// `#if canImport(Security)` (Apple platforms only), so on Linux this file
// compiles to nothing. Written and reviewed against Apple's documentation and
// man pages for sysctlbyname(3) ("kern.boottime"), mach_continuous_time() and
// mach_timebase_info(); build and test it on a Mac and a device before
// relying on it (platforms/apple/README.md).
#if canImport(Security)
import Darwin
import Foundation
import OfflineAuth

/// `Clock` on Apple platforms: **pass it to `PinVault.openWithClock`**.
///
/// ```swift
/// let vault = try PinVault.openWithClock(path: path, keystore: AppleKeystore(),
///                                        clock: AppleClock(), config: config)
/// ```
///
/// Without it the vault uses the Rust library's `SystemClock`, which cannot
/// read a boot identity on Apple platforms and so counts every process as a
/// boot of its own: each launch of the app then restarts trusted time from
/// what the vault last stored, so the time the app was not running is not
/// counted against a wall clock set back meanwhile. This clock knows the
/// device's boot:
///
/// - **Boot id**: the boot time, `sysctlbyname("kern.boottime")` (a `timeval`),
///   rounded to 10 s: `"apple-boottime:<secs>"`. It is read once per
///   `AppleClock` (a process never outlives its boot). The kernel keeps
///   `boot time + time since boot = wall clock`, so **setting the wall clock
///   moves `kern.boottime`**: after such a change (by the user, or a time
///   update of more than a few seconds) the next process sees another boot id,
///   exactly as without this clock; the rounding absorbs small corrections.
///   (How far `kern.boottime` follows clock changes is **to confirm on a
///   device**; `kern.bootsessionuuid`, if an app may read it, would not move.)
/// - **Elapsed since boot**: `mach_continuous_time()` scaled by
///   `mach_timebase_info` to milliseconds. Unlike `mach_absolute_time()` it
///   keeps counting while the device sleeps, and no user setting moves it.
/// - **Wall clock**: `Date()` in whole seconds (user-settable).
///
/// Errors are `ClockError.Unavailable` (the vault reports
/// `VaultError.ClockUnavailable`). Cheap and thread-safe: the vault reads it at
/// every call.
///
/// Boot time and time-since-boot are among the APIs Apple asks apps to
/// declare in their privacy manifest (`PrivacyInfo.xcprivacy`, category
/// `NSPrivacyAccessedAPICategorySystemBootTime`): declare it with the reason
/// that fits measuring time elapsed between events within the app. The boot
/// id never leaves the device (the vault stores only its SHA-256; batches carry
/// only a count of boots).
public final class AppleClock: Clock, @unchecked Sendable {
    /// Rounding of the boot time, in seconds.
    public static let bootTimeRoundingSecs: Int64 = 10

    private let lock = NSLock()
    private var cachedBootId: String?

    public init() {}

    public func nowUnixSecs() throws -> Int64 {
        let secs = Date().timeIntervalSince1970.rounded(.down)
        guard secs.isFinite, secs > -9.2e18, secs < 9.2e18 else {
            throw ClockError.Unavailable(reason: "wall clock out of range")
        }
        return Int64(secs)
    }

    public func bootId() throws -> String {
        lock.lock(); defer { lock.unlock() }
        if let cachedBootId { return cachedBootId }
        let id = Self.bootId(bootTime: try Self.bootTime())
        cachedBootId = id
        return id
    }

    public func elapsedSinceBootMillis() throws -> UInt64 {
        let timebase = try Self.timebase()
        let ticks = mach_continuous_time()
        // ticks × numer / denom nanoseconds, without overflow in the product.
        let product = ticks.multipliedFullWidth(by: UInt64(timebase.numer))
        guard product.high < UInt64(timebase.denom) else {
            throw ClockError.Unavailable(reason: "mach_continuous_time out of range")
        }
        let nanos = UInt64(timebase.denom).dividingFullWidth(product).quotient
        return nanos / 1_000_000
    }

    // MARK: - Sources

    /// `kern.boottime`, in microseconds since the epoch.
    static func bootTime() throws -> Int64 {
        var boottime = timeval()
        var size = MemoryLayout<timeval>.size
        guard sysctlbyname("kern.boottime", &boottime, &size, nil, 0) == 0, size == MemoryLayout<timeval>.size else {
            throw ClockError.Unavailable(reason: "sysctl kern.boottime failed (errno \(errno))")
        }
        guard boottime.tv_sec > 0 else { throw ClockError.Unavailable(reason: "kern.boottime is not set") }
        return Int64(boottime.tv_sec) * 1_000_000 + Int64(boottime.tv_usec)
    }

    /// The boot id of a boot time (microseconds since the epoch), rounded to
    /// `bootTimeRoundingSecs`.
    static func bootId(bootTime micros: Int64) -> String {
        let step = bootTimeRoundingSecs * 1_000_000
        let rounded = (micros + step / 2) / step * bootTimeRoundingSecs  // micros > 0: division rounds down
        return "apple-boottime:\(rounded)"
    }

    private static let timebaseInfo: mach_timebase_info_data_t? = {
        var info = mach_timebase_info_data_t()
        guard mach_timebase_info(&info) == KERN_SUCCESS, info.numer > 0, info.denom > 0 else { return nil }
        return info
    }()

    static func timebase() throws -> mach_timebase_info_data_t {
        guard let info = timebaseInfo else { throw ClockError.Unavailable(reason: "mach_timebase_info failed") }
        return info
    }
}
#endif
