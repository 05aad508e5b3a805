// The README's iOS example. scripts/check-readme-examples.py keeps the README's
// block identical to the region below, which is this whole file: it compiles
// as a file of its own (the tests of ReadmeExampleTests.swift call it).
// readme:start
import Foundation
import OfflineAuth

/// On a device: keystore AppleKeystore(), clock AppleClock() (product OfflineAuthApple); dir: Application Support.
func openVault(keystore: PlatformKeystore, clock: Clock, jwks: String, dir: URL) throws -> PinVault {
    let config = VaultConfig(deviceId: "tablet-42", issuerKeys: try issuerKeysFromJwks(jwks: jwks))
    return try PinVault.openWithClock(path: dir.appendingPathComponent("vault.db").path, keystore: keystore,
                                      clock: clock, config: config)   // AppleClock: the device's boot, not the process's
}

func recordInspection(vault: PinVault, pin: String) async throws {
    let session = try await vault.unlockAsync(pin: pin)   // the PIN's KDF runs off the caller's thread
    defer { session.lock() }
    _ = try session.put(collection: "inspections", key: "station-4", value: Data("seal ok".utf8))
}
// readme:end
