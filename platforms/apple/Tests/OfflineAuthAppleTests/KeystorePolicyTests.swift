// The platform-independent decisions of AppleKeystore (KeystorePolicy.swift),
// run on Linux and on macOS. Each test names the defect of issue 17 it covers.
import Foundation
import OfflineAuth
@testable import OfflineAuthApple
import XCTest

final class KeystorePolicyTests: XCTestCase {
    private let state = Data(repeating: 0xA5, count: 32)
    private let sealed = Data(repeating: 0x42, count: 65 + 16 + 32)

    // MARK: item 11: key-creation errors

    func testKeyCreationErrorsAreFailedWhateverTheProtection() {
        let errors: [PlatformError] = [
            .osStatus(PlatformError.errSecAuthFailed), .osStatus(PlatformError.errSecItemNotFound),
            .osStatus(PlatformError.errSecUserCanceled), .localAuthentication(PlatformError.laBiometryNotEnrolled),
            .localAuthentication(PlatformError.laPasscodeNotSet), .cryptoTokenKit(PlatformError.tkObjectNotFound),
            .other(domain: "x", code: 1),
        ]
        for protection in [KeyProtection.device, .biometric] {
            for error in errors {
                for state in [DomainStateCheck.unknown, .changed, .notEnrolled, .unchanged] {
                    let mapped = KeystoreErrorMapping.map(error, step: .createKey, protection: protection, domainState: state)
                    guard case .Failed = mapped else {
                        return XCTFail("\(error) at creation (\(protection), \(state)) mapped to \(mapped)")
                    }
                }
            }
        }
    }

    // MARK: item 3: a changed biometric set is KeyInvalidated

    func testChangedDomainStateMakesAnyBiometricDecryptErrorKeyInvalidated() {
        let errors: [PlatformError] = [
            .cryptoTokenKit(PlatformError.tkAuthenticationFailed), .cryptoTokenKit(PlatformError.tkCorruptedData),
            .osStatus(PlatformError.errSecAuthFailed), .osStatus(PlatformError.errSecDecode),
            .other(domain: "CryptoTokenKit", code: -9),
        ]
        for error in errors {
            XCTAssertEqual(KeystoreErrorMapping.map(error, step: .decrypt, protection: .biometric, domainState: .changed),
                           .KeyInvalidated, "\(error)")
        }
    }

    func testUnchangedDomainStateKeepsAFailedAuthenticationTransient() {
        let mapped = KeystoreErrorMapping.map(.osStatus(PlatformError.errSecAuthFailed), step: .decrypt,
                                              protection: .biometric, domainState: .unchanged)
        guard case .Failed = mapped else { return XCTFail("mapped to \(mapped)") }
    }

    func testBiometryNotEnrolledAndPasscodeRemovedInvalidateTheBiometricKey() {
        for code in [PlatformError.laBiometryNotEnrolled, PlatformError.laPasscodeNotSet] {
            XCTAssertEqual(KeystoreErrorMapping.map(.localAuthentication(code), step: .decrypt, protection: .biometric),
                           .KeyInvalidated)
            XCTAssertEqual(KeystoreErrorMapping.map(.localAuthentication(code), step: .findKey, protection: .biometric),
                           .KeyInvalidated)
        }
        XCTAssertEqual(KeystoreErrorMapping.map(.osStatus(PlatformError.errSecItemNotFound), step: .decrypt,
                                                protection: .biometric, domainState: .notEnrolled), .KeyInvalidated)
    }

    func testPasscodeRemovedIsKeyNotFoundForTheDeviceKey() {
        XCTAssertEqual(KeystoreErrorMapping.map(.localAuthentication(PlatformError.laPasscodeNotSet), step: .decrypt,
                                                protection: .device), .KeyNotFound)
        XCTAssertEqual(KeystoreErrorMapping.map(.osStatus(PlatformError.errSecItemNotFound), step: .findKey,
                                                protection: .device), .KeyNotFound)
    }

    func testCancelAndCorruptBlobKeepTheirMeaning() {
        XCTAssertEqual(KeystoreErrorMapping.map(.localAuthentication(PlatformError.laUserCancel), step: .decrypt,
                                                protection: .biometric, domainState: .unchanged), .UserCancelled)
        XCTAssertEqual(KeystoreErrorMapping.map(.cryptoTokenKit(PlatformError.tkCorruptedData), step: .decrypt,
                                                protection: .device), .UnwrapFailed)
    }

    func testErrorDomainsAreClassified() {
        XCTAssertEqual(PlatformError.from(domain: "NSOSStatusErrorDomain", code: -25300), .osStatus(-25300))
        XCTAssertEqual(PlatformError.from(domain: "com.apple.LocalAuthentication", code: -7), .localAuthentication(-7))
        XCTAssertEqual(PlatformError.from(domain: "CryptoTokenKit", code: -9), .cryptoTokenKit(-9))
        XCTAssertEqual(PlatformError.from(domain: "Other", code: 3), .other(domain: "Other", code: 3))
    }

    func testDomainStateComparison() {
        var other = state
        other[0] ^= 1
        XCTAssertEqual(DomainStateCheck.compare(recorded: state, current: state, currentlyEnrolled: true), .unchanged)
        XCTAssertEqual(DomainStateCheck.compare(recorded: state, current: other, currentlyEnrolled: true), .changed)
        XCTAssertEqual(DomainStateCheck.compare(recorded: state, current: state.prefix(31), currentlyEnrolled: true), .changed)
        XCTAssertEqual(DomainStateCheck.compare(recorded: state, current: nil, currentlyEnrolled: false), .notEnrolled)
        XCTAssertEqual(DomainStateCheck.compare(recorded: nil, current: state, currentlyEnrolled: true), .unknown)
        XCTAssertEqual(DomainStateCheck.compare(recorded: state, current: nil, currentlyEnrolled: nil), .unknown)
    }

    // MARK: the blob keeps the domain state

    func testBlobRoundTripKeepsTheDomainState() throws {
        let blob = WrappedBlob(protection: .biometric, domainState: state, sealed: sealed)
        let decoded = try XCTUnwrap(WrappedBlob.decode(blob.encode(), protection: .biometric))
        XCTAssertEqual(decoded, blob)
        XCTAssertEqual(decoded.domainState, state)
    }

    func testBlobOfTheOtherProtectionOrTruncatedIsRejected() {
        let bytes = WrappedBlob(protection: .device, domainState: nil, sealed: sealed).encode()
        XCTAssertNotNil(WrappedBlob.decode(bytes, protection: .device))
        XCTAssertNil(WrappedBlob.decode(bytes, protection: .biometric))
        XCTAssertNil(WrappedBlob.decode(bytes.prefix(3 + 65 + 16), protection: .device))
        XCTAssertNil(WrappedBlob.decode(Data(), protection: .device))
        XCTAssertNil(WrappedBlob.decode(Data([0x02, 0x02, 200]) + sealed, protection: .biometric))
        XCTAssertNil(WrappedBlob.decode(Data([0x03, 0x01]) + sealed, protection: .device))
    }

    func testVersionOneBlobStillReadsWithoutADomainState() throws {
        let decoded = try XCTUnwrap(WrappedBlob.decode(Data([0x01, 0x02]) + sealed, protection: .biometric))
        XCTAssertNil(decoded.domainState)
        XCTAssertEqual(decoded.sealed, sealed)
    }

    // MARK: item 9: an explicit access group on every query

    func testEveryQueryAndNewKeyCarriesTheAccessGroup() {
        let tag = Data("dev.offlineauth.key.device".utf8)
        let queries = [
            KeychainQueries.key(tag: tag, accessGroup: "TEAM.app", returnRef: true),
            KeychainQueries.key(tag: tag, accessGroup: "TEAM.app", returnRef: false),
            KeychainQueries.newKey(accessGroup: "TEAM.app"),
            KeychainQueries.newPrivateKey(tag: tag, accessGroup: "TEAM.app"),
        ]
        for q in queries {
            XCTAssertEqual(q.filter { if case .accessGroup = $0 { return true } else { return false } },
                           [.accessGroup("TEAM.app")])
        }
        XCTAssertTrue(queries[0].contains(.applicationTag(tag)) && queries[1].contains(.applicationTag(tag)))
        XCTAssertTrue(queries[3].contains(.applicationTag(tag)))
    }

    func testPrivateAccessGroupIsTheAppIdentifierNotASharedGroup() {
        XCTAssertEqual(KeychainQueries.privateAccessGroup(probedGroup: "ABCDE12345.com.example.shared",
                                                          bundleIdentifier: "com.example.field"),
                       "ABCDE12345.com.example.field")
        XCTAssertNil(KeychainQueries.privateAccessGroup(probedGroup: "nodot", bundleIdentifier: "com.example.field"))
        XCTAssertNil(KeychainQueries.privateAccessGroup(probedGroup: "ABCDE12345.x", bundleIdentifier: nil))
    }
}
