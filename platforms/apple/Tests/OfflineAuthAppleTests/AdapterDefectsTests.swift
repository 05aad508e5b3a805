// The Apple adapter defects of issue 23 (item 7), on the decisions that need
// no Apple framework (KeystorePolicy.swift, KeychainAccess.swift,
// BootIdentity.swift): run on Linux and on macOS.
import Foundation
import OfflineAuth
@testable import OfflineAuthApple
import XCTest

final class AdapterDefectsTests: XCTestCase {
    private let state = Data(repeating: 0xA5, count: 32)
    private let sealed = Data(repeating: 0x42, count: 65 + 16 + 32)

    // MARK: a Cancel or a lockout never turns biometrics off

    func testACancelOrALockoutIsNeverKeyInvalidatedWhateverTheDomainState() {
        let cancelsAndLockouts: [PlatformError] = [
            .localAuthentication(PlatformError.laUserCancel), .localAuthentication(PlatformError.laAppCancel),
            .localAuthentication(PlatformError.laSystemCancel), .localAuthentication(PlatformError.laUserFallback),
            .localAuthentication(PlatformError.laBiometryLockout), .osStatus(PlatformError.errSecUserCanceled),
            .cryptoTokenKit(PlatformError.tkCanceledByUser),
        ]
        for error in cancelsAndLockouts {
            for state in [DomainStateCheck.changed, .notEnrolled, .unknown, .unchanged] {
                let mapped = KeystoreErrorMapping.map(error, step: .decrypt, protection: .biometric, domainState: state)
                XCTAssertNotEqual(mapped, .KeyInvalidated, "\(error) with \(state)")
            }
            XCTAssertTrue(KeystoreErrorMapping.isCancelOrLockout(error), "\(error)")
        }
        XCTAssertEqual(KeystoreErrorMapping.map(.localAuthentication(PlatformError.laUserCancel), step: .decrypt,
                                                protection: .biometric, domainState: .changed), .UserCancelled)
    }

    func testAFailedAuthenticationDuringLockoutWithNoStateIsFailedNotKeyInvalidated() {
        // During a Face ID lockout the domain state reads nil: unknown.
        let mapped = KeystoreErrorMapping.map(.osStatus(PlatformError.errSecAuthFailed), step: .decrypt,
                                              protection: .biometric, domainState: .unknown)
        guard case .Failed = mapped else { return XCTFail("mapped to \(mapped)") }
        // A proven change still invalidates.
        XCTAssertEqual(KeystoreErrorMapping.map(.osStatus(PlatformError.errSecAuthFailed), step: .decrypt,
                                                protection: .biometric, domainState: .changed), .KeyInvalidated)
    }

    // MARK: the iOS 18 domain-state API, never compared with the deprecated one

    func testStatesOfDifferentApisAreUnknownNotChanged() {
        var other = state
        other[0] ^= 1
        XCTAssertEqual(DomainStateCheck.compare(recorded: state, current: other, currentlyEnrolled: true,
                                                recordedSource: .evaluatedPolicyDomainState, currentSource: .biometryStateHash),
                       .unknown)
        XCTAssertEqual(DomainStateCheck.compare(recorded: state, current: other, currentlyEnrolled: true,
                                                recordedSource: .biometryStateHash, currentSource: .biometryStateHash),
                       .changed)
    }

    func testTheBlobRecordsWhichApiReadTheState() throws {
        for source in [DomainStateSource.evaluatedPolicyDomainState, .biometryStateHash] {
            let blob = WrappedBlob(protection: .biometric, domainState: state, sealed: sealed, domainStateSource: source)
            let decoded = try XCTUnwrap(WrappedBlob.decode(blob.encode(), protection: .biometric))
            XCTAssertEqual(decoded.domainStateSource, source)
            XCTAssertEqual(decoded.domainState, state)
        }
        let none = WrappedBlob(protection: .device, domainState: nil, sealed: sealed, domainStateSource: nil)
        XCTAssertNil(try XCTUnwrap(WrappedBlob.decode(none.encode(), protection: .device)).domainStateSource)
        // Version 2 (0.2.0) states were read by evaluatedPolicyDomainState.
        let v2 = Data([0x02, 0x02, UInt8(state.count)]) + state + sealed
        XCTAssertEqual(try XCTUnwrap(WrappedBlob.decode(v2, protection: .biometric)).domainStateSource,
                       .evaluatedPolicyDomainState)
        // An unknown source byte is refused.
        XCTAssertNil(WrappedBlob.decode(Data([0x03, 0x02, 9, UInt8(state.count)]) + state + sealed, protection: .biometric))
    }

    // MARK: keys of 0.1.0 have no access group

    func testAKeyOf010IsLookedUpWithoutTheGroupOnceAndMoved() {
        let tag = Data("dev.offlineauth.key.device".utf8)
        let legacy = KeychainQueries.legacyKey(tag: tag, returnRef: true)
        XCTAssertFalse(legacy.contains { if case .accessGroup = $0 { return true } else { return false } })
        XCTAssertTrue(legacy.contains(.applicationTag(tag)) && legacy.contains(.returnRef))
        XCTAssertEqual(KeychainQueries.moveToGroup("TEAM.app"), [.accessGroup("TEAM.app")])
        XCTAssertEqual(KeyLookupStep.next(foundInGroup: true, foundWithoutGroup: nil), .use)
        XCTAssertEqual(KeyLookupStep.next(foundInGroup: false, foundWithoutGroup: nil), .lookWithoutGroup)
        XCTAssertEqual(KeyLookupStep.next(foundInGroup: false, foundWithoutGroup: true), .moveThenUse)
        XCTAssertEqual(KeyLookupStep.next(foundInGroup: false, foundWithoutGroup: false), .notFound)
    }

    // MARK: the access-group lookup caches only a success

    func testAFailedAccessGroupProbeIsNotCachedAndASuccessIs() throws {
        struct BeforeFirstUnlock: Error {}
        let cache = AccessGroupCache()
        var probes = 0
        XCTAssertThrowsError(try cache.get { probes += 1; throw BeforeFirstUnlock() })
        XCTAssertEqual(try cache.get { probes += 1; return "TEAM.app" }, "TEAM.app")
        XCTAssertEqual(try cache.get { probes += 1; return "TEAM.other" }, "TEAM.app")
        XCTAssertEqual(probes, 2)
    }

    // MARK: a boot identity that does not move with the clock

    func testTheBootIdIsTheBootSessionUuidAndFallsBackToTheBootTime() throws {
        let uuid = "3F2504E0-4F89-11D3-9A0C-0305E82C3301"
        var bootTimeReads = 0
        let bootTime: () throws -> Int64 = { bootTimeReads += 1; return 1_799_996_400_000_000 }
        XCTAssertEqual(try BootIdentity.bootId(sessionUUID: uuid, bootTime: bootTime), "apple-bootsession:\(uuid)")
        XCTAssertEqual(try BootIdentity.bootId(sessionUUID: uuid.lowercased() + "\n", bootTime: bootTime),
                       "apple-bootsession:\(uuid)")
        XCTAssertEqual(bootTimeReads, 0, "the clock-dependent boot time is not even read")
        for refused in [nil, "", "not-a-uuid"] {
            XCTAssertEqual(try BootIdentity.bootId(sessionUUID: refused, bootTime: bootTime), "apple-boottime:1799996400")
        }
        struct Refused: Error {}
        XCTAssertThrowsError(try BootIdentity.bootId(sessionUUID: nil, bootTime: { throw Refused() }))
    }
}
