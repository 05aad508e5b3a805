// Prints one line for compare.sh:
// `ffi_swift is_unlocked_ns=… get_256B_ns=… read_100_one_call_ns=… …`.
// Arguments: JWKS, a grant for device "tablet-42", the sync key in hex, a
// scratch directory on tmpfs, as the Rust and Python figures use (the backend is not a Swift product: ffi_compare.sh
// issues these with the Python backend package).
import Foundation
import OfflineAuth

/// A keystore in Swift (the binding's foreign trait): opaque random handles.
final class DictKeystore: PlatformKeystore, @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [String: [Data: (KeyProtection, Data)]] = [:]

    func wrap(alias: String, protection: KeyProtection, plaintext: Data) throws -> Data {
        lock.lock(); defer { lock.unlock() }
        let handle = Data((0..<16).map { _ in UInt8.random(in: 0...255) })
        keys[alias, default: [:]][handle] = (protection, plaintext)
        return handle
    }

    func unwrap(alias: String, protection: KeyProtection, wrapped: Data) throws -> Data {
        lock.lock(); defer { lock.unlock() }
        guard let (p, plaintext) = keys[alias]?[wrapped], p == protection else { throw KeystoreError.UnwrapFailed }
        return plaintext
    }

    func deleteKey(alias: String) throws {
        lock.lock(); defer { lock.unlock() }
        keys.removeValue(forKey: alias)
    }
}

/// Best of 5 repeats, per call, in nanoseconds.
func bestNs(_ number: Int, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<5 {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<number { try body() }
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / Double(number))
    }
    return best
}

func hexBytes(_ hex: String) -> Data {
    var out = Data()
    var index = hex.startIndex
    while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
        out.append(UInt8(hex[index..<next], radix: 16) ?? 0)
        index = next
    }
    return out
}

let args = CommandLine.arguments
guard args.count == 5 else {
    FileHandle.standardError.write(Data("usage: FfiBench JWKS GRANT SYNC_KEY_HEX DIR\n".utf8))
    exit(2)
}
try FileManager.default.createDirectory(atPath: args[4], withIntermediateDirectories: true)
let config = VaultConfig(deviceId: "tablet-42", issuerKeys: try issuerKeysFromJwks(jwks: args[1]))
let vault = try PinVault.open(path: args[4] + "/vault.db", keystore: DictKeystore(), config: config)
let session = try vault.enroll(pin: "482915", grant: args[2], syncKey: hexBytes(args[3]))
let value = Data((0..<256).map { UInt8(($0 * 131 + 7) % 256) })
_ = try session.put(collection: "inspections", key: "station-00000", value: value)
let stored = try session.get(collection: "inspections", key: "station-00000")
precondition(stored == value)

let trivial = bestNs(100_000) { _ = session.isUnlocked() }
let get = try bestNs(20_000) { _ = try session.get(collection: "inspections", key: "station-00000") }
let form = (0..<100).map { i in
    KeyValue(key: String(format: "field-%03d", i), value: Data((0..<64).map { UInt8((i + $0) % 256) }))
}
let formKeys = form.map(\.key)
_ = try session.putMany(collection: "inspections", records: form)
let readOne = try bestNs(200) { _ = try session.getMany(collection: "inspections", keys: formKeys) }
let read100 = try bestNs(200) { for k in formKeys { _ = try session.get(collection: "inspections", key: k) } }
let writeOne = try bestNs(20) { _ = try session.putMany(collection: "inspections", records: form) }
let write100 = try bestNs(2) { for kv in form { _ = try session.put(collection: "inspections", key: kv.key, value: kv.value) } }
session.lock()

print(String(format: "ffi_swift is_unlocked_ns=%.1f get_256B_ns=%.1f read_100_one_call_ns=%.1f read_100_calls_ns=%.1f "
             + "write_100_one_call_ns=%.1f write_100_calls_ns=%.1f",
             trivial, get, readOne, read100, writeOne, write100))
