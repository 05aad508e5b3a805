// AppleClock: the Clock that apps on Apple platforms pass to PinVault.openWithClock.
//
// NOT COMPILED IN THIS REPOSITORY'S CI: like AppleKeystore it is behind
// `#if canImport(Security)` (Apple platforms only), so on Linux this file
// compiles to nothing. Written and reviewed against Apple's documentation and
// man pages for sysctlbyname(3) ("kern.bootsessionuuid", "kern.boottime"), mach_continuous_time() and
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
/// - **Boot id** (`BootIdentity`): `sysctlbyname("kern.bootsessionuuid")`, a
///   UUID drawn at each boot that setting the wall clock does not move:
///   `"apple-bootsession:<UUID>"`. Only if that sysctl cannot be read does it
///   fall back to the boot time, `sysctlbyname("kern.boottime")` rounded to
///   10 s (`"apple-boottime:<secs>"`), which **moves when the wall clock is
///   set** (the kernel keeps `boot time + time since boot = wall clock`), so
///   a later process would look like a new boot. Read once per `AppleClock`
///   (a process never outlives its boot). Whether sandboxed iOS apps may read
///   `kern.bootsessionuuid` is **to confirm on a device** (the simulator test
///   prints which source answered); the fallback keeps the old behaviour.
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
    /// Rounding of the fallback boot time, in seconds.
    public static let bootTimeRoundingSecs: Int64 = BootIdentity.bootTimeRoundingSecs

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
        let id = try BootIdentity.bootId(sessionUUID: Self.bootSessionUUID(), bootTime: Self.bootTime)
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

    /// `kern.bootsessionuuid` (a NUL-terminated UUID string), or nil if the
    /// sysctl is refused or answers nothing usable.
    static func bootSessionUUID() -> String? {
        var size = 0
        guard sysctlbyname("kern.bootsessionuuid", nil, &size, nil, 0) == 0, size > 0, size <= 128 else { return nil }
        var buffer = [CChar](repeating: 0, count: size)
        guard sysctlbyname("kern.bootsessionuuid", &buffer, &size, nil, 0) == 0 else { return nil }
        return String(cString: buffer)
    }

    /// The fallback boot id of a boot time (microseconds since the epoch).
    static func bootId(bootTime micros: Int64) -> String {
        BootIdentity.fromBootTime(micros: micros)
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
