import Foundation
import Network
import OfflineAuth
import OfflineAuthApple

/// The app's state. Every vault call runs on the serial `queue`, never the main
/// thread: PBKDF2 is slow and AppleKeystore blocks its thread during Face ID /
/// Touch ID. `vault` and `session` are touched only on `queue` (hence
/// `@unchecked Sendable`); the published properties only on the main queue.
final class VaultModel: ObservableObject, @unchecked Sendable {
    @Published var message = "Type your PIN"
    @Published var unlocked = false
    @Published var online = false
    @Published var pending: UInt64 = 0
    @Published var biometricsEnabled = false

    /// The reference sync server on the developer's Mac (simulator: loopback). Use HTTPS in a real app.
    static let server = URL(string: "http://127.0.0.1:8787")!

    private let queue = DispatchQueue(label: "offline-auth.vault")
    private let keystore = AppleKeystore()
    private let clock = AppleClock()
    private let monitor = NWPathMonitor()
    private var vault: PinVault?
    private var session: OfflineSession?

    init() {
        monitor.pathUpdateHandler = { [weak self] path in
            DispatchQueue.main.async { self?.online = path.status == .satisfied }
        }
        monitor.start(queue: DispatchQueue(label: "offline-auth.network"))
        if let jwks = UserDefaults.standard.string(forKey: "jwks") { run { try self.openVault(jwks: jwks) } }
    }

    /// The vault's own directory, excluded from iCloud and iTunes/Finder
    /// backups before any vault file exists: SQLite and the library create
    /// `vault.db`, `-wal`, `-shm`, `-lock` and `-enabling` beside each other,
    /// and a file created later in an excluded directory is not backed up
    /// either. Each file present is also marked, in case the directory lost
    /// its mark (a restore, a migration by an older version of the app).
    private static let vaultDirectory: URL = {
        let support = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        var dir = support.appendingPathComponent("offline-auth", isDirectory: true)
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        VaultModel.excludeFromBackup(&dir)
        return dir
    }()

    private static func excludeFromBackup(_ url: inout URL) {
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        try? url.setResourceValues(values)
    }

    /// The device id lives in the excluded directory, not in UserDefaults
    /// (which is backed up): a backup restored on another phone must not
    /// carry this device's id, or the backend would take it for this one.
    private var deviceId: String {
        var url = Self.vaultDirectory.appendingPathComponent("device-id")
        if let id = try? String(contentsOf: url, encoding: .utf8), !id.isEmpty { return id }
        // Earlier versions of this demo kept it in UserDefaults: move it once.
        let id = UserDefaults.standard.string(forKey: "deviceId") ?? UUID().uuidString
        try? id.write(to: url, atomically: true, encoding: .utf8)
        Self.excludeFromBackup(&url)
        UserDefaults.standard.removeObject(forKey: "deviceId")
        return id
    }

    private var vaultPath: String {
        let db = Self.vaultDirectory.appendingPathComponent("vault.db")
        let earlier = Self.vaultDirectory.deletingLastPathComponent().appendingPathComponent("vault.db")
        for suffix in ["", "-wal", "-shm", "-lock", "-enabling"] {
            // Earlier versions of this demo kept the vault one level up (closed here: move it with its log).
            try? FileManager.default.moveItem(atPath: earlier.path + suffix, toPath: db.path + suffix)
            var file = URL(fileURLWithPath: db.path + suffix)
            if FileManager.default.fileExists(atPath: file.path) { Self.excludeFromBackup(&file) }
        }
        return db.path
    }

    /// Runs `work` off the main thread, then refreshes the published state.
    private func run(_ work: @escaping () throws -> Void) {
        queue.async {
            var text: String?
            do { try work() } catch { text = Self.describe(error) }
            let status = try? self.vault?.status()
            let pending = (try? self.session?.syncQueue().pendingCount()) ?? status?.pendingEntries ?? 0
            let unlocked = self.session?.isUnlocked() ?? false
            DispatchQueue.main.async {
                if let text { self.message = text }
                self.unlocked = unlocked
                self.pending = pending
                self.biometricsEnabled = status?.biometricsEnabled ?? false
            }
        }
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case VaultError.WrongPin(let left): return "Wrong PIN: \(left) attempts left before this device forgets your data."
        case VaultError.LockedOut(let secs): return "Too many wrong PINs: wait \(secs) s."
        case VaultError.WeakPin(let reason): return "Choose another PIN: \(reason)."
        case VaultError.MalformedPin(let reason): return "That cannot be your PIN (\(reason)); no attempt was counted."
        case VaultError.BiometricsInvalidated: return "Face ID / Touch ID changed: use your PIN, then turn biometrics on again."
        case VaultError.DeviceKeyLost:
            return "The passcode was removed or the keychain reset: this vault can no longer be opened. "
                + "It was wiped; set a passcode, connect, then type a new PIN to sign in online."
        case VaultError.UserCancelled: return "Cancelled."
        case VaultError.GrantExpired: return "Offline access has expired: connect to renew."
        case VaultError.ReceiptInvalid: return "The server's answer did not verify: your edits stay queued."
        default: return "Error: \(error)"
        }
    }

    private func openVault(jwks: String) throws {
        // One vault per model: close the previous one (its SQLite handle) first.
        closeVault()
        let config = VaultConfig(deviceId: deviceId, issuerKeys: try issuerKeysFromJwks(jwks: jwks))
        // AppleClock: the device's boot time and time since boot, so trusted time
        // survives app restarts (the library's default counts each process as a boot).
        vault = try PinVault.openWithClock(path: vaultPath, keystore: keystore, clock: clock, config: config)
    }

    func submit(pin: String) {
        run {
            if let vault = self.vault, try vault.isEnrolled() {
                self.session = try self.wipingIfDeviceKeyLost { try vault.unlock(pin: pin) }
            } else {
                try self.enrollOnline(pin: pin)
            }
        }
    }

    func unlockWithBiometrics() {
        run { self.session = try self.wipingIfDeviceKeyLost { try self.vault?.unlockWithBiometrics() } }
    }

    /// `DeviceKeyLost`: neither PIN nor Face ID can open this vault again (the
    /// passcode was removed, which deletes the device key). Sync what an open
    /// session still holds, wipe, and rethrow so the message asks for a new
    /// online sign-in.
    private func wipingIfDeviceKeyLost<T>(_ unlock: () throws -> T) throws -> T {
        do {
            return try unlock()
        } catch VaultError.DeviceKeyLost {
            if session != nil { try? syncPending() } // fails harmlessly offline
            session?.lock()
            session = nil
            try vault?.wipe()
            throw VaultError.DeviceKeyLost
        }
    }

    func enableBiometrics() { run { try self.session?.enableBiometrics() } }
    func lock() { run { self.session?.lock(); self.session = nil } }

    /// Locks and releases the vault (its SQLite handle and keystore); the next
    /// `openVault` opens it again. Called on `queue` only (or from deinit).
    private func closeVault() {
        session?.lock()
        session = nil
        vault = nil // the last reference: UniFFI frees the Rust object
    }

    // No closure on `queue` holds the model any more once deinit runs.
    deinit { closeVault() }

    func save(station: String, note: String) {
        run { _ = try self.session?.put(collection: "inspections", key: station, value: Data(note.utf8)) }
    }

    func sync() { run { try self.syncPending() } }

    /// One batch to the server and its receipt back (on `queue` only).
    private func syncPending() throws {
        guard let queue = session?.syncQueue(), let batch = try queue.nextBatch(maxEntries: 100) else { return }
        let answer = try Self.post("/sync?device_id=\(deviceId)", body: batch.bytes)
        // Only the server's receipt (base64url, no padding; MACed with the
        // sync key) deletes queued edits: a forged one is ReceiptInvalid.
        guard let text = answer["receipt"] as? String, let receipt = Self.base64URLBytes(text) else {
            throw URLError(.badServerResponse)
        }
        try queue.acknowledge(receipt: receipt)
    }

    private func enrollOnline(pin: String) throws {
        let body = try JSONSerialization.data(withJSONObject: [
            "user": "amira", "password": "correct horse battery", "device_id": deviceId,
        ])
        let answer = try Self.post("/enroll", body: body, json: true)
        guard let grant = answer["grant"] as? String, let keyHex = answer["sync_key"] as? String, let jwks = answer["jwks"] else {
            throw URLError(.badServerResponse)
        }
        let jwksText = String(decoding: try JSONSerialization.data(withJSONObject: jwks), as: UTF8.self)
        UserDefaults.standard.set(jwksText, forKey: "jwks")
        try openVault(jwks: jwksText)
        var key = Data()
        var i = keyHex.startIndex
        while i < keyHex.endIndex {
            let j = keyHex.index(i, offsetBy: 2)
            key.append(UInt8(keyHex[i..<j], radix: 16) ?? 0)
            i = j
        }
        session = try vault!.enroll(pin: pin, grant: grant, syncKey: key)
    }

    /// base64url without padding, as the server sends the receipt.
    private static func base64URLBytes(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }

    /// Blocking POST (called on `queue` only).
    private static func post(_ path: String, body: Data, json: Bool = false) throws -> [String: Any] {
        var request = URLRequest(url: URL(string: path, relativeTo: server)!, timeoutInterval: 30)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue(json ? "application/json" : "application/octet-stream", forHTTPHeaderField: "content-type")
        let done = DispatchSemaphore(value: 0)
        final class Box: @unchecked Sendable { var result: Result<[String: Any], Error> = .failure(URLError(.unknown)) }
        let box = Box() // written before signal(), read after wait()
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error { box.result = .failure(error) } else if (response as? HTTPURLResponse)?.statusCode != 200 {
                box.result = .failure(URLError(.badServerResponse))
            } else {
                box.result = Result { (try JSONSerialization.jsonObject(with: data ?? Data()) as? [String: Any]) ?? [:] }
            }
            done.signal()
        }.resume()
        done.wait()
        return try box.result.get()
    }
}
