import Foundation
import XCTest
import OfflineAuth
import OfflineAuthBackend

/// Security events reach a listener written in Swift, with their fields and
/// no secret, on the thread that made the call. (A Swift listener cannot
/// throw: `onEvent` is not a throwing method.)
final class SecurityEventsTests: XCTestCase {
    var dir: TempDir!

    override func setUp() { dir = TempDir() }
    override func tearDown() { dir = nil }

    final class Recorder: SecurityEventListener, @unchecked Sendable {
        private let lock = NSLock()
        private var seen: [(SecurityEvent, Thread)] = []

        func onEvent(event: SecurityEvent) {
            lock.lock()
            defer { lock.unlock() }
            seen.append((event, Thread.current))
        }

        var events: [SecurityEvent] {
            lock.lock()
            defer { lock.unlock() }
            return seen.map { $0.0 }
        }

        var threads: [Thread] {
            lock.lock()
            defer { lock.unlock() }
            return seen.map { $0.1 }
        }
    }

    private func enrolled(maxFailedAttempts: UInt32 = 10) throws -> PinVault {
        let clock = FakeClock()
        let vault = try PinVault.openWithClock(path: dir.vaultPath, keystore: DictKeystore(), clock: clock,
                                               config: makeConfig(maxFailedAttempts: maxFailedAttempts))
        try vault.enroll(pin: pin, grant: try makeGrant(now: clock.current), syncKey: try generateSyncKey()).lock()
        return vault
    }

    func testWrongPinsALockoutAndAWipeReachASwiftListener() throws {
        let vault = try enrolled()
        let recorder = Recorder()
        vault.setSecurityEventListener(listener: recorder)
        for _ in 0..<4 {
            assertVaultError(try vault.unlock(pin: "000111")) { if case .WrongPin = $0 { return true }; return false }
        }
        try vault.wipe()

        XCTAssertEqual(recorder.events, [
            .wrongPin(attemptsRemaining: 9),
            .wrongPin(attemptsRemaining: 8),
            .wrongPin(attemptsRemaining: 7),
            .wrongPin(attemptsRemaining: 6),
            .lockedOut(failedAttempts: 4, retryAfterSecs: 30),
            .wiped(reason: .requested),
        ])
        if case .lockedOut(_, let retryAfterSecs) = recorder.events[4] {
            XCTAssertEqual(retryAfterSecs, 30)
        } else {
            XCTFail("the fifth event is the lockout")
        }
        XCTAssertTrue(recorder.threads.allSatisfy { $0 == Thread.current })
        for event in recorder.events {
            let shown = String(describing: event)
            XCTAssertFalse(shown.contains(pin) || shown.contains("000111"), shown)
        }
    }

    func testTheAttemptLimitReportsAnAutomaticWipe() throws {
        let vault = try enrolled(maxFailedAttempts: 2)
        let recorder = Recorder()
        vault.setSecurityEventListener(listener: recorder)
        assertVaultError(try vault.unlock(pin: "000111")) { $0 == .WrongPin(attemptsRemaining: 1) }
        assertVaultError(try vault.unlock(pin: "000111")) { $0 == .Wiped }
        XCTAssertEqual(recorder.events, [.wrongPin(attemptsRemaining: 1), .wiped(reason: .attemptLimit)])

        vault.clearSecurityEventListener()
        try vault.wipe()
        XCTAssertEqual(recorder.events.count, 2)
    }
}
