import Foundation
import XCTest
import OfflineAuth
import OfflineAuthBackend

/// Its unwrap (inside the PIN attempt) waits until a ticker task has ticked
/// `needed` times; if it never does, the unwrap fails and so does the unlock.
final class TickGatedKeystore: DictKeystore {
    let ticks = DispatchSemaphore(value: 0)
    let needed: Int
    private let gateLock = NSLock()
    private var isGated = false

    init(needed: Int) { self.needed = needed }

    var gated: Bool {
        get { gateLock.lock(); defer { gateLock.unlock() }; return isGated }
        set { gateLock.lock(); isGated = newValue; gateLock.unlock() }
    }

    override func unwrap(alias: String, protection: KeyProtection, wrapped: Data) throws -> Data {
        if gated {
            for _ in 0..<needed where ticks.wait(timeout: .now() + 120) == .timedOut {
                throw KeystoreError.Failed(reason: "the ticker never ticked")
            }
        }
        return try super.unwrap(alias: alias, protection: protection, wrapped: wrapped)
    }
}

/// Counts ticks, safely across tasks.
final class TickCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func tick() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

/// The `async` forms (UniFFI async exports) run the blocking call on a thread
/// of its own: other tasks keep running while the vault works.
final class AsyncCallsTests: XCTestCase {
    var dir: TempDir!

    override func setUp() { dir = TempDir() }
    override func tearDown() { dir = nil }

    func testUnlockAsyncLetsATickerRunWhileItIsPending() async throws {
        let keystore = TickGatedKeystore(needed: 3)
        let vault = try PinVault.open(path: dir.vaultPath, keystore: keystore, config: makeConfig())
        try vault.enroll(pin: pin, grant: try makeGrant(), syncKey: try generateSyncKey()).lock()
        keystore.gated = true

        let counter = TickCounter()
        let unlocking = Task { try await vault.unlockAsync(pin: pin) }
        let ticker = Task {
            while !Task.isCancelled {
                counter.tick()
                keystore.ticks.signal()
                try? await Task.sleep(nanoseconds: 1_000_000)
            }
        }
        let session = try await unlocking.value
        ticker.cancel()
        XCTAssertEqual(try session.userId(), user)
        XCTAssertGreaterThanOrEqual(counter.value, 3)
    }

    func testAsyncFormsReturnAndThrowWhatTheBlockingFormsDo() async throws {
        let vault = try PinVault.open(path: dir.vaultPath, keystore: DictKeystore(), config: makeConfig())
        do {
            _ = try await vault.unlockAsync(pin: pin)
            XCTFail("expected NotEnrolled")
        } catch VaultError.NotEnrolled {}
        let session = try await vault.enrollAsync(pin: pin, grant: try makeGrant(), syncKey: try generateSyncKey())
        try await session.enableBiometricsAsync()
        session.lock()
        try await vault.unlockWithBiometricsAsync().lock()
        try await vault.changePinAsync(oldPin: pin, newPin: "739164")
        do {
            _ = try await vault.unlockAsync(pin: pin)
            XCTFail("old PIN accepted")
        } catch VaultError.WrongPin(let attemptsRemaining) {
            XCTAssertEqual(attemptsRemaining, 9)
        }
        try await vault.unlockAsync(pin: "739164").lock()
        try await vault.wipeAsync()
        XCTAssertFalse(try vault.isEnrolled())
    }
}
