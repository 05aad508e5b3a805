import Foundation
import XCTest
import OfflineAuth
// The backend's module, generated for these tests only (not a product of the
// package): it issues the grants and sync keys and verifies the batches, as a
// real backend would. Its IssuerKey and GrantPolicy are separate generated
// types from the device's: write OfflineAuth.IssuerKey / OfflineAuthBackend.IssuerKey.
import OfflineAuthBackend

let device = "device-1"
let user = "alice"
let pin = "482915"
let scopes = ["notes", "visits"]
/// A fixed wall-clock time (2025-06-15) for tests that must not depend on today's date.
let fixedNow: Int64 = 1_750_000_000

/// The backend's IssuerKey as the device's, field by field (a real app reads JWKS).
extension OfflineAuthBackend.IssuerKey {
    func toDevice() -> OfflineAuth.IssuerKey { OfflineAuth.IssuerKey(kid: kid, publicKey: publicKey) }
}

/// The backend's signing key, shared by all tests.
let issuer: GrantIssuer = try! GrantIssuer.generate(kid: "test-kid-1")

func nowSecs() -> Int64 { Int64(Date().timeIntervalSince1970) }

func makeGrant(user u: String = user, device d: String = device, scopes s: [String] = scopes,
               now: Int64 = nowSecs(), validFor: Int64 = 3600) throws -> String {
    try issuer.issue(userId: u, deviceId: d, scopes: s, issuedAt: now - 60, expiresAt: now + validFor)
}

func makeConfig(deviceId: String = device, issuerKeys: [OfflineAuth.IssuerKey] = [issuer.issuerKey().toDevice()],
                maxFailedAttempts: UInt32 = 10) -> VaultConfig {
    VaultConfig(deviceId: deviceId, issuerKeys: issuerKeys, maxFailedAttempts: maxFailedAttempts)
}

/// A fresh directory per test, removed afterwards.
final class TempDir {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("offline-auth-swift-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    var vaultPath: String { url.appendingPathComponent("vault.db").path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A PlatformKeystore written in Swift: a dictionary of opaque handles per
/// alias (on Apple platforms the same shape wraps with Secure Enclave keys).
class DictKeystore: PlatformKeystore, @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [String: [Data: (KeyProtection, Data)]] = [:]
    private(set) var wraps = 0
    private(set) var unwraps = 0

    func wrap(alias: String, protection: KeyProtection, plaintext: Data) throws -> Data {
        lock.lock(); defer { lock.unlock() }
        wraps += 1
        var handle = Data(count: 16)
        for i in 0..<16 { handle[i] = UInt8.random(in: 0...255) }
        keys[alias, default: [:]][handle] = (protection, plaintext)
        return handle
    }

    func unwrap(alias: String, protection: KeyProtection, wrapped: Data) throws -> Data {
        lock.lock(); defer { lock.unlock() }
        unwraps += 1
        guard let entries = keys[alias] else { throw KeystoreError.KeyNotFound }
        guard let (p, plaintext) = entries[wrapped], p == protection else { throw KeystoreError.UnwrapFailed }
        return plaintext
    }

    func deleteKey(alias: String) throws {
        lock.lock(); defer { lock.unlock() }
        keys.removeValue(forKey: alias)
    }
}

/// A settable clock written in Swift, with the three readings of `Clock`: the
/// wall clock (`current`, which the user may set with `setWall`), the boot id
/// and the time elapsed since that boot. `advance` moves real time (wall and
/// elapsed together); `reboot` starts a new boot (new id, elapsed restarting
/// near 0). Elapsed time never moves on its own. `bootIdOverride` and
/// `elapsedBackMillis` let a test report bad readings.
/// Also the backend verifier's ServerClock (its wall clock only), so that vault
/// and verifier can run on one fake time.
final class FakeClock: Clock, ServerClock, @unchecked Sendable {
    private let lock = NSLock()
    private var now: Int64
    private var bootNumber = 0
    private var elapsed: UInt64 = 60_000
    var fail = false
    var bootIdOverride: String?
    var elapsedBackMillis: UInt64 = 0

    init(now: Int64 = nowSecs()) { self.now = now }

    /// The wall clock, in seconds since the epoch.
    var current: Int64 { lock.lock(); defer { lock.unlock() }; return now }

    func nowUnixSecs() throws -> Int64 {
        lock.lock(); defer { lock.unlock() }
        if fail { throw ClockError.Unavailable(reason: "no time today") }
        return now
    }

    func bootId() throws -> String {
        lock.lock(); defer { lock.unlock() }
        if fail { throw ClockError.Unavailable(reason: "no boot today") }
        return bootIdOverride ?? "fake-boot-\(bootNumber)"
    }

    func elapsedSinceBootMillis() throws -> UInt64 {
        lock.lock(); defer { lock.unlock() }
        if fail { throw ClockError.Unavailable(reason: "no time today") }
        return elapsed - min(elapsed, elapsedBackMillis)
    }

    /// Real time passes: the wall clock and the elapsed time move together.
    func advance(_ secs: Int64) {
        lock.lock(); defer { lock.unlock() }
        now += secs
        elapsed += UInt64(secs) * 1000
    }

    /// The user sets the wall clock (nothing else moves).
    func setWall(_ secs: Int64) {
        lock.lock(); defer { lock.unlock() }
        now = secs
    }

    /// The device restarts: a new boot id, elapsed time restarts near 0; the wall clock keeps going.
    func reboot(downSecs: Int64 = 30) {
        lock.lock(); defer { lock.unlock() }
        bootNumber += 1
        elapsed = 5_000
        now += downSecs
    }
}

/// Asserts that `body` throws a VaultError matching `matches`.
func assertVaultError<T>(_ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line,
                         _ matches: (VaultError) -> Bool) {
    do {
        _ = try body()
        XCTFail("expected a VaultError, got success", file: file, line: line)
    } catch let error as VaultError {
        XCTAssertTrue(matches(error), "unexpected \(error)", file: file, line: line)
    } catch {
        XCTFail("expected a VaultError, got \(type(of: error)): \(error)", file: file, line: line)
    }
}

/// Asserts that `body` throws a BackendError (the backend module's errors) matching `matches`.
func assertBackendError<T>(_ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line,
                           _ matches: (BackendError) -> Bool) {
    do {
        _ = try body()
        XCTFail("expected a BackendError, got success", file: file, line: line)
    } catch let error as BackendError {
        XCTAssertTrue(matches(error), "unexpected \(error)", file: file, line: line)
    } catch {
        XCTFail("expected a BackendError, got \(type(of: error)): \(error)", file: file, line: line)
    }
}

/// Resident set size of this process (Linux: /proc; elsewhere nil).
func rssBytes() -> Int? {
    #if os(Linux)
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        if fields.count >= 2, let kib = Int(fields[1]) { return kib * 1024 }
    }
    return nil
    #else
    return nil
    #endif
}
