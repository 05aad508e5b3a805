import Foundation
import XCTest
import OfflineAuth
import OfflineAuthBackend

/// Binding-layer tests for the Swift package (the crypto is tested in Rust).
final class OfflineAuthTests: XCTestCase {
    var dir: TempDir!

    override func setUp() { dir = TempDir() }
    override func tearDown() { dir = nil }

    // MARK: 1. A keystore written in Swift drives the full cycle

    func testSwiftKeystoreDrivesFullCycle() throws {
        let ks = DictKeystore()
        let vault = try PinVault.open(path: dir.vaultPath, keystore: ks, config: makeConfig())
        XCTAssertFalse(try vault.isEnrolled())

        let syncKey = try generateSyncKey()
        XCTAssertEqual(syncKey.count, 32)
        var session = try vault.enroll(pin: pin, grant: try makeGrant(), syncKey: syncKey)
        XCTAssertTrue(try vault.isEnrolled())
        XCTAssertEqual(try session.userId(), user)
        XCTAssertEqual(try session.scopes(), scopes)
        XCTAssertGreaterThan(try session.expiresAt(), nowSecs())

        XCTAssertEqual(try session.put(collection: "notes", key: "n1", value: Data("first note".utf8)), 1)
        XCTAssertEqual(try session.put(collection: "visits", key: "v1", value: Data([0, 1, 2])), 2)
        XCTAssertEqual(try session.delete(collection: "notes", key: "gone"), 3)
        session.lock()
        XCTAssertFalse(session.isUnlocked())

        session = try vault.unlock(pin: pin)
        XCTAssertEqual(try session.get(collection: "notes", key: "n1"), Data("first note".utf8))
        XCTAssertNil(try session.get(collection: "notes", key: "missing"))
        XCTAssertEqual(try session.keys(collection: "notes"), ["n1"])

        let queue = session.syncQueue()
        XCTAssertEqual(try queue.pendingCount(), 3)
        let batch = try XCTUnwrap(try queue.nextBatch(maxEntries: 100))
        XCTAssertEqual(batch.firstSeq, 1)
        XCTAssertEqual(batch.lastSeq, 3)
        XCTAssertEqual(batch.entryCount, 3)

        let verifier = try SyncVerifier(issuerKeys: [issuer.issuerKey()])
        let verified = try verifier.verify(batch: batch.bytes, syncKey: syncKey,
                                           cursor: SyncCursor(lastSeq: 0, lastMac: Data(count: 32)))
        XCTAssertEqual(verified.deviceId, device)
        XCTAssertEqual(verified.userId, user)
        XCTAssertEqual(verified.operations.map(\.key), ["n1", "v1", "gone"])
        XCTAssertNil(verified.operations[2].value)
        XCTAssertEqual(verified.operations.map(\.boots), [0, 0, 0])
        XCTAssertEqual(verified.cursor.lastSeq, 3)
        XCTAssertFalse(verified.receipt.isEmpty)

        // The backend answers with the receipt; only that deletes entries.
        try queue.acknowledge(receipt: verified.receipt)
        XCTAssertEqual(try queue.pendingCount(), 0)
        XCTAssertNil(try queue.nextBatch(maxEntries: 100))

        let status = try vault.status()
        XCTAssertTrue(status.enrolled)
        XCTAssertEqual(status.pendingEntries, 0)
        XCTAssertGreaterThan(ks.wraps, 0)
        XCTAssertGreaterThan(ks.unwraps, 0)
    }

    func testSoftwareKeystoreBiometricsPinChangeAndWipe() throws {
        let sks = SoftwareKeystore()
        let vault = try PinVault.open(path: dir.vaultPath, keystore: sks.asPlatformKeystore(), config: makeConfig())
        try vault.enroll(pin: pin, grant: try makeGrant(), syncKey: try generateSyncKey()).enableBiometrics()
        XCTAssertTrue(try vault.status().biometricsEnabled)
        let bio = try vault.unlockWithBiometrics()
        XCTAssertEqual(try bio.userId(), user)
        try bio.disableBiometrics()
        assertVaultError(try vault.unlockWithBiometrics()) { $0 == .BiometricsUnavailable }

        try vault.changePin(oldPin: pin, newPin: "730514")
        assertVaultError(try vault.unlock(pin: pin)) { if case .WrongPin = $0 { return true }; return false }
        XCTAssertEqual(try vault.unlock(pin: "730514").userId(), user)
        XCTAssertGreaterThan(sks.keyCount(), 0)
        try vault.wipe()
        XCTAssertTrue(try vault.status().wiped)
        XCTAssertEqual(sks.keyCount(), 0)
    }

    func testSystemClockObjectWhereAClockIsExpected() throws {
        let vault = try PinVault.openWithClock(path: dir.vaultPath, keystore: SoftwareKeystore().asPlatformKeystore(),
                                               clock: SystemClock().asClock(), config: makeConfig())
        try vault.enroll(pin: pin, grant: try makeGrant(), syncKey: try generateSyncKey()).lock()
        XCTAssertEqual(try vault.unlock(pin: pin).userId(), user)
    }

    func testBackendHelpersJwksAndGrantRenewal() throws {
        let again = try GrantIssuer(kid: issuer.kid(), privateKey: issuer.privateKey())
        XCTAssertEqual(again.issuerKey(), issuer.issuerKey())
        let jwks = try jwksFromIssuerKeys(keys: [issuer.issuerKey()])
        XCTAssertTrue(jwks.contains(issuer.kid()))
        // The device reads the JWKS the backend publishes (its own IssuerKey type).
        XCTAssertEqual(try OfflineAuth.issuerKeysFromJwks(jwks: jwks), [issuer.issuerKey().toDevice()])

        let now = nowSecs()
        let grant = try again.issue(userId: user, deviceId: device, scopes: ["notes"], issuedAt: now - 60, expiresAt: now + 600)
        let info = try verifyGrant(grant: grant, issuerKeys: [issuer.issuerKey()])
        XCTAssertEqual(info, GrantInfo(kid: issuer.kid(), userId: user, deviceId: device, issuedAt: now - 60,
                                       expiresAt: now + 600, scopes: ["notes"], grantId: info.grantId))
        XCTAssertFalse(info.grantId.isEmpty)
        let other = try GrantIssuer.generate(kid: "other")
        assertBackendError(try verifyGrant(grant: grant, issuerKeys: [other.issuerKey()])) {
            if case .GrantInvalid = $0 { return true }; return false
        }

        let vault = try PinVault.open(path: dir.vaultPath, keystore: DictKeystore(), config: makeConfig())
        let session = try vault.enroll(pin: pin, grant: grant, syncKey: try generateSyncKey())
        XCTAssertEqual(try session.expiresAt(), now + 600)
        try session.renewGrant(grant: try issuer.issue(userId: user, deviceId: device, scopes: ["notes"], issuedAt: now, expiresAt: now + 7200))
        XCTAssertEqual(try session.expiresAt(), now + 7200)
        session.lock()
        let fresh = try issuer.issue(userId: user, deviceId: device, scopes: scopes, issuedAt: now + 1, expiresAt: now + 9000)
        let renewed = try vault.unlockWithGrant(pin: pin, grant: fresh)
        XCTAssertEqual(try renewed.expiresAt(), now + 9000)
        XCTAssertEqual(try renewed.scopes(), scopes)
    }

    // MARK: 2. Errors are Swift errors with their fields

    func testWrongPinAndLockoutCarryTheirFields() throws {
        let clock = FakeClock()
        let vault = try PinVault.openWithClock(path: dir.vaultPath, keystore: DictKeystore(), clock: clock, config: makeConfig())
        try vault.enroll(pin: pin, grant: try makeGrant(now: clock.current), syncKey: try generateSyncKey()).lock()

        var remaining: [UInt32] = []
        for _ in 0..<4 {
            do {
                _ = try vault.unlock(pin: "000111")
                XCTFail("wrong PIN accepted")
            } catch VaultError.WrongPin(let attemptsRemaining) {
                remaining.append(attemptsRemaining)
            }
        }
        XCTAssertEqual(remaining, [9, 8, 7, 6])

        do {
            _ = try vault.unlock(pin: pin)
            XCTFail("expected LockedOut")
        } catch VaultError.LockedOut(let retryAfterSecs) {
            XCTAssertEqual(retryAfterSecs, 30)
        }
        let status = try vault.status()
        XCTAssertEqual(status.failedAttempts, 4)
        XCTAssertEqual(status.attemptsRemaining, 6)
        XCTAssertEqual(status.retryAfterSecs, 30)

        clock.advance(31)
        XCTAssertEqual(try vault.unlock(pin: pin).userId(), user)
        XCTAssertEqual(try vault.status().failedAttempts, 0)
    }

    func testAttemptLimitWipes() throws {
        let vault = try PinVault.openWithClock(path: dir.vaultPath, keystore: DictKeystore(), clock: FakeClock(),
                                               config: makeConfig(maxFailedAttempts: 2))
        try vault.enroll(pin: pin, grant: try makeGrant(), syncKey: try generateSyncKey()).lock()
        assertVaultError(try vault.unlock(pin: "000111")) { $0 == .WrongPin(attemptsRemaining: 1) }
        assertVaultError(try vault.unlock(pin: "000111")) { $0 == .Wiped }
        assertVaultError(try vault.unlock(pin: pin)) { $0 == .Wiped }
    }

    func testOtherVariantsAreTyped() throws {
        let vault = try PinVault.open(path: dir.vaultPath, keystore: DictKeystore(), config: makeConfig())
        assertVaultError(try vault.unlock(pin: pin)) { $0 == .NotEnrolled }
        assertVaultError(try vault.enroll(pin: "123456", grant: try makeGrant(), syncKey: try generateSyncKey())) {
            if case .WeakPin(let reason) = $0 { return !reason.isEmpty }; return false
        }
        assertVaultError(try vault.enroll(pin: pin, grant: "not.a.grant", syncKey: try generateSyncKey())) {
            if case .GrantInvalid(let reason) = $0 { return !reason.isEmpty }; return false
        }
        assertVaultError(try vault.enroll(pin: pin, grant: try makeGrant(device: "another-device"), syncKey: try generateSyncKey())) {
            if case .GrantInvalid = $0 { return true }; return false
        }
        let now = nowSecs()
        let expired = try issuer.issue(userId: user, deviceId: device, scopes: ["notes"], issuedAt: now - 7200, expiresAt: now - 3600)
        assertVaultError(try vault.enroll(pin: pin, grant: expired, syncKey: try generateSyncKey())) { $0 == .GrantExpired }

        let session = try vault.enroll(pin: pin, grant: try makeGrant(), syncKey: try generateSyncKey())
        assertVaultError(try vault.enroll(pin: pin, grant: try makeGrant(), syncKey: try generateSyncKey())) { $0 == .AlreadyEnrolled }
        assertVaultError(try session.put(collection: "not-in-scope", key: "k", value: Data([1]))) {
            if case .InvalidInput(let reason) = $0 { return !reason.isEmpty }; return false
        }
        session.lock()
        assertVaultError(try session.put(collection: "notes", key: "k", value: Data([1]))) { $0 == .SessionLocked }

        // A directory is not a database.
        assertVaultError(try PinVault.open(path: dir.url.path, keystore: DictKeystore(), config: makeConfig())) {
            if case .Storage(let reason) = $0 { return !reason.isEmpty }; return false
        }
        // LocalizedError: a description fit for logs.
        XCTAssertFalse(VaultError.WrongPin(attemptsRemaining: 3).localizedDescription.isEmpty)
    }

    func testContractVariantsExistAsSwiftErrorCases() {
        // ARCHITECTURE.md section 6 lists the first 16 "at least"; the others
        // were added since (BatchRejected left with the verifier for the
        // backend: BackendError.BatchRejected). This compiles only if each case exists.
        let variants: [VaultError] = [
            .NotEnrolled, .AlreadyEnrolled, .WeakPin(reason: "r"), .WrongPin(attemptsRemaining: 1),
            .LockedOut(retryAfterSecs: 2), .Wiped, .GrantInvalid(reason: "r"), .GrantExpired, .ClockRollback,
            .Tampered, .BiometricsUnavailable, .BiometricsInvalidated, .Keystore(reason: "r"), .SessionLocked,
            .Storage(reason: "r"), .InvalidInput(reason: "r"),
            .UserCancelled, .ClockUnavailable(reason: "r"), .ReceiptInvalid(reason: "r"),
            .MalformedPin(reason: "r"), .DeviceKeyLost, .ClockAhead(aheadSecs: 3, retryAfterSecs: 2),
            .DirectiveInvalid(reason: "r"), .DirectiveForAnotherDevice, .DirectiveReplayed, .DirectiveOutdated,
            .LockedUntilRenewal,
        ]
        XCTAssertEqual(Set(variants).count, 27)
        for variant in variants {
            let error: Error = variant
            XCTAssertFalse(error.localizedDescription.isEmpty)
        }
        // An exhaustive switch with no default: a variant added to the Rust
        // enum stops this from compiling until it is listed (and tested).
        func name(_ error: VaultError) -> String {
            switch error {
            case .NotEnrolled: return "NotEnrolled"
            case .AlreadyEnrolled: return "AlreadyEnrolled"
            case .WeakPin: return "WeakPin"
            case .WrongPin: return "WrongPin"
            case .LockedOut: return "LockedOut"
            case .Wiped: return "Wiped"
            case .GrantInvalid: return "GrantInvalid"
            case .GrantExpired: return "GrantExpired"
            case .ClockRollback: return "ClockRollback"
            case .Tampered: return "Tampered"
            case .BiometricsUnavailable: return "BiometricsUnavailable"
            case .BiometricsInvalidated: return "BiometricsInvalidated"
            case .UserCancelled: return "UserCancelled"
            case .DeviceKeyLost: return "DeviceKeyLost"
            case .Keystore: return "Keystore"
            case .ClockUnavailable: return "ClockUnavailable"
            case .SessionLocked: return "SessionLocked"
            case .Storage: return "Storage"
            case .InvalidInput: return "InvalidInput"
            case .ReceiptInvalid: return "ReceiptInvalid"
            case .MalformedPin: return "MalformedPin"
            case .ClockAhead: return "ClockAhead"
            case .DirectiveInvalid: return "DirectiveInvalid"
            case .DirectiveForAnotherDevice: return "DirectiveForAnotherDevice"
            case .DirectiveReplayed: return "DirectiveReplayed"
            case .DirectiveOutdated: return "DirectiveOutdated"
            case .LockedUntilRenewal: return "LockedUntilRenewal"
            }
        }
        XCTAssertEqual(Set(variants.map(name)).count, 27)
    }

    // MARK: 3. A callback that throws becomes VaultError.Keystore

    func testKeystoreThrowingAnyErrorBecomesKeystoreError() throws {
        struct SecureHardwareOnFire: Error {}
        final class Failing: DictKeystore, @unchecked Sendable {
            override func wrap(alias: String, protection: KeyProtection, plaintext: Data) throws -> Data {
                throw SecureHardwareOnFire()
            }
        }
        let vault = try PinVault.open(path: dir.vaultPath, keystore: Failing(), config: makeConfig())
        assertVaultError(try vault.enroll(pin: pin, grant: try makeGrant(), syncKey: try generateSyncKey())) {
            if case .Keystore(let reason) = $0 { return !reason.isEmpty }; return false
        }
        XCTAssertFalse(try vault.isEnrolled())
    }

    func testKeystoreThrowingKeystoreErrorKeepsReason() throws {
        final class Failing: DictKeystore, @unchecked Sendable {
            override func wrap(alias: String, protection: KeyProtection, plaintext: Data) throws -> Data {
                throw KeystoreError.Failed(reason: "tpm busy")
            }
        }
        let vault = try PinVault.open(path: dir.vaultPath, keystore: Failing(), config: makeConfig())
        assertVaultError(try vault.enroll(pin: pin, grant: try makeGrant(), syncKey: try generateSyncKey())) {
            if case .Keystore(let reason) = $0 { return reason.contains("tpm busy") }; return false
        }
    }

    func testClockThrowingBecomesClockUnavailable() throws {
        let clock = FakeClock()
        let vault = try PinVault.openWithClock(path: dir.vaultPath, keystore: DictKeystore(), clock: clock, config: makeConfig())
        try vault.enroll(pin: pin, grant: try makeGrant(now: clock.current), syncKey: try generateSyncKey()).lock()
        clock.fail = true
        assertVaultError(try vault.unlock(pin: pin)) {
            if case .ClockUnavailable(let reason) = $0 { return !reason.isEmpty }; return false
        }
        clock.fail = false
        XCTAssertEqual(try vault.unlock(pin: pin).userId(), user)
    }

    func testBadClockReadingsAreUnavailableAndElapsedGoingBackIsRollback() throws {
        let clock = FakeClock()
        let vault = try PinVault.openWithClock(path: dir.vaultPath, keystore: DictKeystore(), clock: clock, config: makeConfig())
        try vault.enroll(pin: pin, grant: try makeGrant(now: clock.current), syncKey: try generateSyncKey()).lock()
        let unavailable: (VaultError) -> Bool = { if case .ClockUnavailable = $0 { return true }; return false }
        for bad in ["", String(repeating: "b", count: 257)] {
            clock.bootIdOverride = bad
            assertVaultError(try vault.unlock(pin: pin), unavailable)
        }
        clock.bootIdOverride = nil
        let wall = clock.current
        clock.setWall(-1)
        assertVaultError(try vault.unlock(pin: pin), unavailable)
        clock.setWall(wall)
        try vault.unlock(pin: pin).lock()
        // Elapsed time that goes back within one boot: the clock was tampered with.
        clock.elapsedBackMillis = 10_000
        assertVaultError(try vault.unlock(pin: pin)) { $0 == .ClockRollback }
    }

    func testWallClockHeldStillWhileTimePassesIsARollback() throws {
        // Every 240 s of real time (elapsed since boot) the wall clock is set
        // back 240 s: never more than the 300 s tolerance in one step, but
        // trusted time keeps pace with elapsed time, so it is caught.
        let clock = FakeClock()
        let wall = clock.current
        var real = wall
        let vault = try PinVault.openWithClock(path: dir.vaultPath, keystore: DictKeystore(), clock: clock, config: makeConfig())
        let session = try vault.enroll(pin: pin, grant: try makeGrant(now: wall), syncKey: try generateSyncKey())
        _ = try session.put(collection: "notes", key: "n1", value: Data("kept".utf8))
        var caughtAt: Int?
        for step in 1...3 {
            clock.advance(240)
            real += 240
            clock.setWall(clock.current - 240)
            XCTAssertEqual(clock.current, wall)
            do {
                let value = try session.get(collection: "notes", key: "n1")
                XCTAssertEqual(value, Data("kept".utf8))
            } catch VaultError.ClockRollback {
                caughtAt = step
                break
            }
        }
        XCTAssertNotNil(caughtAt, "a wall clock 720 s behind real time was accepted")
        assertVaultError(try session.get(collection: "notes", key: "n1")) { $0 == .ClockRollback }
        session.lock()
        // The lock is stored: a new unlock is refused too, until the clock is
        // right and a newer grant comes (online).
        assertVaultError(try vault.unlock(pin: pin)) { $0 == .ClockRollback }
        clock.setWall(real)
        assertVaultError(try vault.unlock(pin: pin)) { $0 == .ClockRollback }
        let renewed = try vault.unlockWithGrant(pin: pin, grant: try makeGrant(now: real + 1))
        XCTAssertEqual(try renewed.get(collection: "notes", key: "n1"), Data("kept".utf8))
    }

    func testRebootLocksTheSessionAndLaterEditsCarryTheBootCount() throws {
        let clock = FakeClock()
        let syncKey = try generateSyncKey()
        let vault = try PinVault.openWithClock(path: dir.vaultPath, keystore: DictKeystore(), clock: clock, config: makeConfig())
        let before = try vault.enroll(pin: pin, grant: try makeGrant(now: clock.current), syncKey: syncKey)
        _ = try before.put(collection: "notes", key: "before", value: Data([1]))
        clock.reboot()
        assertVaultError(try before.get(collection: "notes", key: "before")) { $0 == .SessionLocked }

        let session = try vault.unlock(pin: pin)
        _ = try session.put(collection: "notes", key: "after", value: Data([2]))
        let batch = try XCTUnwrap(try session.syncQueue().nextBatch(maxEntries: 100))
        let verified = try SyncVerifier(issuerKeys: [issuer.issuerKey()])
            .verify(batch: batch.bytes, syncKey: syncKey, cursor: SyncCursor(lastSeq: 0, lastMac: Data(count: 32)))
        XCTAssertEqual(verified.operations.map(\.key), ["before", "after"])
        XCTAssertEqual(verified.operations.map(\.boots), [0, 1])
    }

    // MARK: Receipts: only the backend's genuine receipt deletes queued edits

    func testForgedReceiptIsInvalidAndDeletesNothingThenTheGenuineOneDeletes() throws {
        // A fixed date on one fake clock for the vault and the verifier: no
        // step depends on today's date, and the verifier's "now" is at or
        // after the entries' time.
        let clock = FakeClock(now: fixedNow)
        let syncKey = try generateSyncKey()
        let vault = try PinVault.openWithClock(path: dir.vaultPath, keystore: DictKeystore(), clock: clock, config: makeConfig())
        let session = try vault.enroll(pin: pin, grant: try makeGrant(now: clock.current), syncKey: syncKey)
        _ = try session.put(collection: "notes", key: "n1", value: Data("one".utf8))
        _ = try session.put(collection: "visits", key: "v1", value: Data("two".utf8))
        let queue = session.syncQueue()
        let batch = try XCTUnwrap(try queue.nextBatch(maxEntries: 100))
        clock.advance(30) // the upload reaches the server a little later
        let initial = SyncCursor(lastSeq: 0, lastMac: Data(count: 32))

        // A server whose clock is an hour behind the entries refuses them.
        let behind = try SyncVerifier.withClock(issuerKeys: [issuer.issuerKey()], clock: FakeClock(now: fixedNow - 3600))
        assertBackendError(try behind.verify(batch: batch.bytes, syncKey: syncKey, cursor: initial)) {
            if case .BatchRejected = $0 { return true }; return false
        }

        let verifier = try SyncVerifier.withClock(issuerKeys: [issuer.issuerKey()], clock: clock)
        let verified = try verifier.verify(batch: batch.bytes, syncKey: syncKey, cursor: initial)
        XCTAssertEqual(verified.operations.count, 2)
        let receipt = verified.receipt
        // The receipt re-issued for the stored cursor is the same bytes.
        XCTAssertEqual(try verifier.receipt(deviceId: device, syncKey: syncKey, cursor: verified.cursor), receipt)

        var forged = receipt
        forged[forged.startIndex + forged.count / 2] ^= 1
        assertVaultError(try queue.acknowledge(receipt: forged)) {
            if case .ReceiptInvalid(let reason) = $0 { return !reason.isEmpty }; return false
        }
        XCTAssertEqual(try queue.pendingCount(), 2, "a forged receipt deleted entries")
        // Genuine receipts that are not this queue's: another sync key
        // (another enrolment), another device, a seq never sent; and no receipt at all.
        let refused: [Data] = [
            try verifier.receipt(deviceId: device, syncKey: try generateSyncKey(), cursor: verified.cursor),
            try verifier.receipt(deviceId: "another-device", syncKey: syncKey, cursor: verified.cursor),
            try verifier.receipt(deviceId: device, syncKey: syncKey,
                                 cursor: SyncCursor(lastSeq: 3, lastMac: verified.cursor.lastMac)),
            Data(),
        ]
        for bad in refused {
            assertVaultError(try queue.acknowledge(receipt: bad)) {
                if case .ReceiptInvalid = $0 { return true }; return false
            }
        }
        XCTAssertEqual(try queue.pendingCount(), 2)
        XCTAssertEqual(try vault.status().pendingEntries, 2)

        try queue.acknowledge(receipt: receipt)
        XCTAssertEqual(try queue.pendingCount(), 0)
        XCTAssertNil(try queue.nextBatch(maxEntries: 100))
        try queue.acknowledge(receipt: receipt) // again: harmless
        XCTAssertEqual(try queue.pendingCount(), 0)
    }

    // MARK: 4. Objects used from several tasks at once

    func testConcurrentTasksShareVaultAndSession() async throws {
        let ks = DictKeystore()
        let vault = try PinVault.open(path: dir.vaultPath, keystore: ks, config: makeConfig())
        let session = try vault.enroll(pin: pin, grant: try makeGrant(), syncKey: try generateSyncKey())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<8 {
                group.addTask {
                    for i in 0..<50 {
                        let key = "t\(n)-\(i)"
                        _ = try session.put(collection: "notes", key: key, value: Data(key.utf8))
                        let value = try session.get(collection: "notes", key: key)
                        XCTAssertEqual(value, Data(key.utf8))
                        _ = try vault.status()
                    }
                }
            }
            // Concurrent PIN unlocks call the Swift keystore from Rust on these tasks' threads.
            for _ in 0..<4 {
                group.addTask { XCTAssertEqual(try vault.unlock(pin: pin).userId(), user) }
            }
            try await group.waitForAll()
        }
        XCTAssertEqual(try session.keys(collection: "notes").count, 400)
        XCTAssertEqual(try session.syncQueue().pendingCount(), 400)
    }

    // MARK: 5. 100 000 calls do not grow memory without bound

    func test100kCallsDoNotLeak() throws {
        let vault = try PinVault.open(path: dir.vaultPath, keystore: SoftwareKeystore().asPlatformKeystore(), config: makeConfig())
        let session = try vault.enroll(pin: pin, grant: try makeGrant(), syncKey: try generateSyncKey())
        _ = try session.put(collection: "notes", key: "k", value: Data(repeating: 7, count: 256))

        // One iteration = 4 FFI calls: constructor, keyCount, free (deinit), get.
        func churn(_ iterations: Int) throws {
            for _ in 0..<iterations {
                do {
                    let ks = SoftwareKeystore()
                    _ = ks.keyCount()
                } // ks is released here: deinit frees the Rust object
                _ = try session.get(collection: "notes", key: "k")
            }
        }
        try churn(25_000) // warm-up
        let before = rssBytes()
        let start = Date()
        try churn(25_000) // 100 000 calls
        let secs = Date().timeIntervalSince(start)
        let after = rssBytes()
        if let before, let after {
            let growth = after - before
            print(String(format: "[memory] swift: 100000 FFI calls (25000 objects created and freed) in %.2f s (%.1f us/call); RSS %.1f MiB -> %.1f MiB (growth %.2f MiB)",
                         secs, secs * 1e6 / 100_000, Double(before) / 1048576, Double(after) / 1048576, Double(growth) / 1048576))
            XCTAssertLessThan(growth, 16 * 1024 * 1024)
        } else {
            print(String(format: "[memory] swift: 100000 FFI calls in %.2f s (RSS not measured on this platform)", secs))
        }
    }

    func testReleasedObjectsAreFreed() throws {
        #if os(Linux)
        func openFds() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0 }
        let sks = SoftwareKeystore()
        _ = try PinVault.open(path: dir.vaultPath, keystore: sks.asPlatformKeystore(), config: makeConfig()) // create the file
        let baseline = openFds()
        var held: [PinVault] = []
        for _ in 0..<300 {
            held.append(try PinVault.open(path: dir.vaultPath, keystore: sks.asPlatformKeystore(), config: makeConfig()))
        }
        let peak = openFds()
        held.removeAll() // ARC: deinit frees each Rust object, which closes its database
        let after = openFds()
        print("[free] swift: 300 vaults: open fds \(baseline) -> \(peak) -> \(after) after release")
        XCTAssertGreaterThan(peak, baseline + 100)
        XCTAssertLessThanOrEqual(after, baseline + 10)
        #endif
    }

    // MARK: Bad input: typed errors, never a crash

    func testBadInputGivesTypedErrors() throws {
        func isInvalidInput(_ e: VaultError) -> Bool { if case .InvalidInput = e { return true }; return false }
        func isBackendInvalidInput(_ e: BackendError) -> Bool { if case .InvalidInput = e { return true }; return false }
        assertBackendError(try GrantIssuer(kid: "kid", privateKey: Data(count: 31)), isBackendInvalidInput)
        assertBackendError(try GrantIssuer(kid: "", privateKey: Data(count: 32)), isBackendInvalidInput)
        assertVaultError(try PinVault.open(path: dir.vaultPath, keystore: DictKeystore(), config: makeConfig(deviceId: "")), isInvalidInput)
        assertVaultError(try PinVault.open(path: dir.vaultPath, keystore: DictKeystore(),
                                           config: makeConfig(issuerKeys: [OfflineAuth.IssuerKey(kid: "k", publicKey: Data(count: 5))])), isInvalidInput)
        assertVaultError(try PinVault.open(path: "", keystore: DictKeystore(), config: makeConfig())) { _ in true }

        let vault = try PinVault.open(path: dir.vaultPath, keystore: DictKeystore(), config: makeConfig())
        assertVaultError(try vault.enroll(pin: pin, grant: try makeGrant(), syncKey: Data(count: 31)), isInvalidInput)
        assertVaultError(try vault.enroll(pin: "", grant: try makeGrant(), syncKey: try generateSyncKey())) {
            if case .WeakPin = $0 { return true }; return false
        }
        assertVaultError(try vault.enroll(pin: pin, grant: "", syncKey: try generateSyncKey())) {
            if case .GrantInvalid = $0 { return true }; return false
        }
        assertVaultError(try vault.enroll(pin: pin, grant: String(repeating: "x", count: 1_000_000), syncKey: try generateSyncKey())) {
            if case .GrantInvalid = $0 { return true }; return false
        }

        let session = try vault.enroll(pin: pin, grant: try makeGrant(), syncKey: try generateSyncKey())
        assertVaultError(try session.put(collection: "", key: "k", value: Data([1])), isInvalidInput)
        assertVaultError(try session.put(collection: "notes", key: "", value: Data([1])), isInvalidInput)
        assertVaultError(try session.put(collection: "notes", key: "k", value: Data(count: 4 * 1024 * 1024)), isInvalidInput)
        assertVaultError(try session.put(collection: "notes", key: String(repeating: "k", count: 100_000), value: Data([1])), isInvalidInput)
        let verifier = try SyncVerifier(issuerKeys: [issuer.issuerKey()])
        assertBackendError(try verifier.verify(batch: Data("junk".utf8), syncKey: Data(count: 32),
                                             cursor: SyncCursor(lastSeq: 0, lastMac: Data(count: 32)))) {
            if case .BatchRejected = $0 { return true }; return false
        }
        // Swift's types rule out nil for every parameter at compile time.
        // ... and the session still works.
        _ = try session.put(collection: "notes", key: "k", value: Data([1]))
        XCTAssertEqual(try session.get(collection: "notes", key: "k"), Data([1]))
    }
}
