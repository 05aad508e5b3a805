import Foundation
import XCTest
import OfflineAuth
import OfflineAuthBackend

/// The library's logs reach a sink written in Swift (as `OSLogSink` of
/// OfflineAuthApple is on a device), at the level the app sets, with no
/// secret in them.
final class LogSinkTests: XCTestCase {
    final class Collect: LogSink, @unchecked Sendable {
        private let lock = NSLock()
        private var seen: [(LogLevel, String, String)] = []

        func log(level: LogLevel, target: String, message: String) {
            lock.lock()
            defer { lock.unlock() }
            seen.append((level, target, message))
        }

        var records: [(LogLevel, String, String)] {
            lock.lock()
            defer { lock.unlock() }
            return seen
        }
    }

    private func enrolledVault(in dir: TempDir) throws -> PinVault {
        let clock = FakeClock()
        let vault = try PinVault.openWithClock(path: dir.vaultPath, keystore: DictKeystore(), clock: clock,
                                               config: makeConfig())
        try vault.enroll(pin: pin, grant: try makeGrant(now: clock.current), syncKey: try generateSyncKey()).lock()
        return vault
    }

    func testSecurityEventsReachASwiftSinkWithoutThePin() throws {
        let dir = TempDir()
        let sink = Collect()
        try setLogSink(sink: sink, level: .info)
        defer { clearLogSink() }
        let vault = try enrolledVault(in: dir)

        assertVaultError(try vault.unlock(pin: "000111")) { if case .WrongPin = $0 { return true }; return false }
        try vault.wipe()

        let records = sink.records
        XCTAssertEqual(records.map { $0.0 }, [.info, .warn])
        XCTAssertEqual(records.map { $0.1 }, ["offline_auth::security", "offline_auth::security"])
        XCTAssertEqual(records.first?.2, "wrong PIN; 9 attempts remaining")
        for record in records {
            XCTAssertFalse(record.2.contains(pin) || record.2.contains("000111"), record.2)
        }
    }

    func testTheLevelFiltersAndClearingStops() throws {
        let dir = TempDir()
        let sink = Collect()
        try setLogSink(sink: sink, level: .warn)
        let vault = try enrolledVault(in: dir)
        assertVaultError(try vault.unlock(pin: "000111")) { if case .WrongPin = $0 { return true }; return false }
        XCTAssertTrue(sink.records.isEmpty, "a wrong PIN is info: below the sink's level")
        clearLogSink()
        try vault.wipe()
        XCTAssertTrue(sink.records.isEmpty, "no record after clearLogSink")
    }
}
