// Which boot identity AppleClock reports, decided without any Apple framework
// (compiled and unit-tested on Linux too; AppleClock.swift reads the sysctls).
import Foundation

/// The boot id of `AppleClock`:
///
/// 1. `kern.bootsessionuuid`, a UUID the kernel draws at each boot:
///    `"apple-bootsession:<UUID>"`. Setting the wall clock does not change it.
/// 2. Only if it cannot be read (an OS or sandbox that refuses the sysctl, or
///    an answer that is not a UUID), `kern.boottime` rounded to 10 s:
///    `"apple-boottime:<secs>"`, which **moves when the wall clock is set**
///    (a later process then looks like a new boot: trusted time resumes from
///    what the vault stored, and backoff restarts in full).
///
/// The two ids have different prefixes, so a change of source looks like one
/// reboot, never like the same boot.
public enum BootIdentity {
    /// Rounding of the fallback boot time, in seconds.
    public static let bootTimeRoundingSecs: Int64 = 10

    /// The boot id from the session UUID if it is one, else from the boot
    /// time (`bootTime()`, microseconds since the epoch; may throw).
    public static func bootId(sessionUUID: String?, bootTime: () throws -> Int64) throws -> String {
        if let sessionUUID, let uuid = UUID(uuidString: sessionUUID.trimmingCharacters(in: .whitespacesAndNewlines)) {
            return "apple-bootsession:\(uuid.uuidString)"
        }
        return fromBootTime(micros: try bootTime())
    }

    /// The fallback id of a boot time (microseconds since the epoch, > 0).
    public static func fromBootTime(micros: Int64) -> String {
        let step = bootTimeRoundingSecs * 1_000_000
        let rounded = (micros + step / 2) / step * bootTimeRoundingSecs  // micros > 0: division rounds down
        return "apple-boottime:\(rounded)"
    }
}
