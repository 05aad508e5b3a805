import Foundation
import XCTest
import OfflineAuth
import OfflineAuthBackend

/// Every Swift error carries the Rust error's own text (its `Display`) as
/// `description`, `localizedDescription` and in string interpolation, and
/// keeps its typed associated values.
final class ErrorMessagesTests: XCTestCase {
    var dir: TempDir!

    override func setUp() { dir = TempDir() }
    override func tearDown() { dir = nil }

    func testVaultErrorsPrintTheRustMessageAndKeepTheirFields() throws {
        let clock = FakeClock()
        let vault = try PinVault.openWithClock(path: dir.vaultPath, keystore: DictKeystore(), clock: clock, config: makeConfig())
        do {
            _ = try vault.unlock(pin: pin)
            XCTFail("expected NotEnrolled")
        } catch let error as VaultError {
            XCTAssertEqual(error.description, "the vault is not enrolled")
            XCTAssertEqual(error.localizedDescription, "the vault is not enrolled")
            XCTAssertEqual("\(error)", "the vault is not enrolled")
        }

        try vault.enroll(pin: pin, grant: try makeGrant(now: clock.current), syncKey: try generateSyncKey()).lock()
        do {
            _ = try vault.unlock(pin: "000111")
            XCTFail("wrong PIN accepted")
        } catch let error as VaultError {
            guard case .WrongPin(let attemptsRemaining) = error else { return XCTFail("unexpected \(error)") }
            XCTAssertEqual(attemptsRemaining, 9)
            XCTAssertEqual(error.description, "wrong PIN; 9 attempts remaining before the vault is wiped")
            XCTAssertEqual(error.localizedDescription, error.description)
            XCTAssertFalse(error.description.contains("000111"))
        }
    }

    func testReasonIsBothAFieldAndPartOfTheMessage() throws {
        let vault = try PinVault.open(path: dir.vaultPath, keystore: DictKeystore(), config: makeConfig())
        do {
            _ = try vault.enroll(pin: "123456", grant: try makeGrant(), syncKey: try generateSyncKey())
            XCTFail("weak PIN accepted")
        } catch let error as VaultError {
            guard case .WeakPin(let reason) = error else { return XCTFail("unexpected \(error)") }
            XCTAssertFalse(reason.isEmpty)
            XCTAssertEqual(error.description, "PIN rejected by policy: \(reason)")
        }
    }

    func testKeystoreErrorsPrintTheRustMessage() {
        XCTAssertEqual(KeystoreError.KeyNotFound.description, "no key under this alias")
        XCTAssertEqual(KeystoreError.KeyInvalidated.description, "the key was invalidated by the platform")
        XCTAssertEqual((KeystoreError.KeyNotFound as Error).localizedDescription, "no key under this alias")
    }

    func testBackendErrorsPrintTheRustMessageAndKeepKindAndReason() throws {
        let verifier = try SyncVerifier(issuerKeys: [issuer.issuerKey()])
        do {
            _ = try verifier.verify(batch: Data("junk".utf8), syncKey: Data(count: 32),
                                    cursor: SyncCursor(lastSeq: 0, lastMac: Data(count: 32)))
            XCTFail("junk accepted")
        } catch let error as BackendError {
            guard case .BatchRejected(let kind, let reason) = error else { return XCTFail("unexpected \(error)") }
            XCTAssertEqual(kind, .malformed)
            XCTAssertEqual(error.description, "sync batch rejected (Malformed): \(reason)")
        }
    }
    /// A Swift keystore whose device key is gone, as iOS reports it after the
    /// passcode is removed (item deleted: `KeyNotFound`) and Android after
    /// the lock screen is removed (`KeyInvalidated`).
    final class LosingKeystore: DictKeystore, @unchecked Sendable {
        var deviceError: KeystoreError?
        override func unwrap(alias: String, protection: KeyProtection, wrapped: Data) throws -> Data {
            if protection == .device, let deviceError { throw deviceError }
            return try super.unwrap(alias: alias, protection: protection, wrapped: wrapped)
        }
    }

    func testALostDeviceKeyIsDeviceKeyLostNotBiometricsInvalidated() throws {
        for lost in [KeystoreError.KeyInvalidated, KeystoreError.KeyNotFound] {
            let dir = TempDir()
            let clock = FakeClock()
            let keystore = LosingKeystore()
            let vault = try PinVault.openWithClock(path: dir.vaultPath, keystore: keystore, clock: clock, config: makeConfig())
            let session = try vault.enroll(pin: pin, grant: try makeGrant(now: clock.current), syncKey: try generateSyncKey())
            try session.enableBiometrics()
            session.lock()

            keystore.deviceError = lost
            assertVaultError(try vault.unlock(pin: pin)) { if case .DeviceKeyLost = $0 { return true }; return false }
            assertVaultError(try vault.unlockWithBiometrics()) { if case .DeviceKeyLost = $0 { return true }; return false }
            let text = VaultError.DeviceKeyLost.localizedDescription
            XCTAssertTrue(text.contains("wipe") && text.contains("enrol again online"), text)
            let status = try vault.status()
            XCTAssertTrue(status.biometricsEnabled, "biometrics stay on after \(lost)")
            XCTAssertEqual(status.failedAttempts, 0)

            keystore.deviceError = nil
            try vault.unlock(pin: pin).lock()
        }
    }
}
