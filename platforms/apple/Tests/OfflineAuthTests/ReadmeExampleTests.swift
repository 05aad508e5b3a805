import Foundation
import XCTest
import OfflineAuth
import OfflineAuthBackend

/// The README's Swift example, as written, on a keystore in Swift (the
/// Secure Enclave exists only on Apple devices).
final class ReadmeExampleTests: XCTestCase {
    func testTheReadmeExampleUnlocksAndQueuesTheEdit() async throws {
        let dir = TempDir()
        let jwks = try jwksFromIssuerKeys(keys: [issuer.issuerKey()])
        let grant = try issuer.issue(userId: user, deviceId: "tablet-42", scopes: ["inspections"],
                                     issuedAt: nowSecs() - 60, expiresAt: nowSecs() + 3600)
        let vault = try openVault(keystore: DictKeystore(), clock: SystemClock().asClock(), jwks: jwks, dir: dir.url)
        try vault.enroll(pin: pin, grant: grant, syncKey: try generateSyncKey()).lock()

        try await recordInspection(vault: vault, pin: pin)

        XCTAssertEqual(try vault.status().pendingEntries, 1)
        let session = try vault.unlock(pin: pin)
        XCTAssertEqual(try session.get(collection: "inspections", key: "station-4"), Data("seal ok".utf8))
    }
}
