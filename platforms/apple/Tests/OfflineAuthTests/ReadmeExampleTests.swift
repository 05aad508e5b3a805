import Foundation
import XCTest
import OfflineAuthBackend
// readme:start
import OfflineAuth

/// keystore: AppleKeystore() (product OfflineAuthApple) on a device; dir: Application Support.
func openVault(keystore: PlatformKeystore, jwks: String, dir: URL) throws -> PinVault {
    let config = VaultConfig(deviceId: "tablet-42", issuerKeys: try issuerKeysFromJwks(jwks: jwks))
    return try PinVault.open(path: dir.appendingPathComponent("vault.db").path, keystore: keystore, config: config)
}

func recordInspection(vault: PinVault, pin: String) async throws {
    let session = try await vault.unlockAsync(pin: pin)   // the PIN's KDF runs off the caller's thread
    defer { session.lock() }
    _ = try session.put(collection: "inspections", key: "station-4", value: Data("seal ok".utf8))
}
// readme:end

/// The README's Swift example, as written, on a keystore in Swift (the
/// Secure Enclave exists only on Apple devices).
final class ReadmeExampleTests: XCTestCase {
    func testTheReadmeExampleUnlocksAndQueuesTheEdit() async throws {
        let dir = TempDir()
        let jwks = try jwksFromIssuerKeys(keys: [issuer.issuerKey()])
        let grant = try issuer.issue(userId: user, deviceId: "tablet-42", scopes: ["inspections"],
                                     issuedAt: nowSecs() - 60, expiresAt: nowSecs() + 3600)
        let vault = try openVault(keystore: DictKeystore(), jwks: jwks, dir: dir.url)
        try vault.enroll(pin: pin, grant: grant, syncKey: try generateSyncKey()).lock()

        try await recordInspection(vault: vault, pin: pin)

        XCTAssertEqual(try vault.status().pendingEntries, 1)
        let session = try vault.unlock(pin: pin)
        XCTAssertEqual(try session.get(collection: "inspections", key: "station-4"), Data("seal ok".utf8))
    }
}
