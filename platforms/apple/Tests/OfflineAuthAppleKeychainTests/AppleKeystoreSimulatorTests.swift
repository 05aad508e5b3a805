// AppleKeystore against the real Keychain of an iOS simulator, run by the
// macOS workflow (.github/workflows/apple.yml: xcodebuild test on an iOS
// Simulator destination). Compiled to nothing elsewhere (Linux, macOS
// `swift test`, whose unsigned test runner has no keychain entitlement).
//
// The simulator has no Secure Enclave, so what it covers is: the app's access
// group is found and used by every query; key creation fails as `Failed`
// (never KeyInvalidated, whatever the protection) and leaves no key behind;
// find/delete/unwrap of a missing key; malformed blobs. Wrap/unwrap round
// trips, rotation and biometric invalidation need a device with a Secure
// Enclave (platforms/apple/README.md, "Testing on devices").
#if os(iOS) && targetEnvironment(simulator)
import Foundation
import OfflineAuth
@testable import OfflineAuthApple
import XCTest

final class AppleKeystoreSimulatorTests: XCTestCase {
    private let keystore = AppleKeystore(tagPrefix: "dev.offlineauth.simtest.")

    func testAppAccessGroupIsFoundAndPrivate() throws {
        let group = try AppleKeystore.appAccessGroup.get(probe: AppleKeystore.probeAccessGroup)
        XCTAssertTrue(group.hasSuffix("." + (Bundle.main.bundleIdentifier ?? "?")), group)
    }

    /// Which boot identity a sandboxed app gets here: the log says whether
    /// `kern.bootsessionuuid` answered or the `kern.boottime` fallback did.
    func testBootIdComesFromTheBootSessionOrTheFallback() throws {
        let id = try AppleClock().bootId()
        print("AppleClock boot id source: \(id.hasPrefix("apple-bootsession:") ? "kern.bootsessionuuid" : "kern.boottime (fallback)")")
        XCTAssertTrue(id.hasPrefix("apple-bootsession:") || id.hasPrefix("apple-boottime:"), id)
    }

    func testKeyCreationWithoutSecureEnclaveIsFailedForBothProtections() throws {
        for protection in [KeyProtection.device, .biometric] {
            XCTAssertThrowsError(try keystore.wrap(alias: "create", protection: protection, plaintext: Data(repeating: 1, count: 32))) {
                guard case KeystoreError.Failed = $0 else { return XCTFail("\(protection): \($0)") }
            }
        }
        // Nothing was left behind: unwrap finds no key (Device: Biometric unwraps
        // refuse the main thread, where XCTest runs).
        for protection in [KeyProtection.device] {
            let blob = WrappedBlob(protection: protection, domainState: nil, sealed: Data(repeating: 7, count: 120)).encode()
            XCTAssertThrowsError(try keystore.unwrap(alias: "create", protection: protection, wrapped: blob)) {
                XCTAssertEqual($0 as? KeystoreError, .KeyNotFound)
            }
        }
    }

    func testDeletingAMissingKeySucceeds() throws {
        try keystore.deleteKey(alias: "never-created")
    }

    func testMalformedBlobIsUnwrapFailed() {
        XCTAssertThrowsError(try keystore.unwrap(alias: "x", protection: .device, wrapped: Data([0x02, 0x02, 0]))) {
            XCTAssertEqual($0 as? KeystoreError, .UnwrapFailed)
        }
    }
}
#endif
