// The field-worker story in Swift: enrol online, offline wrong PIN and unlock,
// edits, sync to the reference server, check what the server holds.
// Usage: SwiftDemo SERVER_URL WORK_DIR   (demos/swift/run.sh passes both)
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OfflineAuth

func fail(_ what: String) -> Never {
    FileHandle.standardError.write("DEMO FAILED: \(what)\n".data(using: .utf8)!)
    exit(1)
}

func expect(_ condition: Bool, _ what: String) { if !condition { fail(what) } }

/// A blocking HTTP call (the story is sequential); returns status and JSON.
func http(_ method: String, _ url: String, body: Data, contentType: String,
          basicAuth: (user: String, password: String)? = nil) -> (Int, Any?) {
    var request = URLRequest(url: URL(string: url)!, timeoutInterval: 30)
    request.httpMethod = method
    request.httpBody = body
    request.setValue(contentType, forHTTPHeaderField: "content-type")
    if let basicAuth {
        let token = Data("\(basicAuth.user):\(basicAuth.password)".utf8).base64EncodedString()
        request.setValue("Basic \(token)", forHTTPHeaderField: "authorization")
    }
    final class Box: @unchecked Sendable { var value: (Int, Any?) = (0, nil) } // written before signal, read after wait
    let done = DispatchSemaphore(value: 0)
    let result = Box()
    URLSession.shared.dataTask(with: request) { data, response, error in
        if let error { FileHandle.standardError.write("HTTP error: \(error)\n".data(using: .utf8)!) }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        result.value = (status, data.flatMap { try? JSONSerialization.jsonObject(with: $0) })
        done.signal()
    }.resume()
    done.wait()
    return result.value
}

func hexBytes(_ hex: String) -> Data {
    var out = Data()
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        out.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return out
}

/// base64url without padding, as the server sends the receipt.
func base64URLBytes(_ text: String) -> Data? {
    var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
    return Data(base64Encoded: base64)
}

let args = CommandLine.arguments
guard args.count == 3 else { fail("usage: SwiftDemo SERVER_URL WORK_DIR") }
let server = args[1]
let workDir = URL(fileURLWithPath: args[2])
try! FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
let deviceId = "swift-demo-" + UUID().uuidString.prefix(8).lowercased()
let pin = "482915"

do {
    // SoftwareKeystore: in memory, NOT hardware-backed (a demo on Linux has no
    // Secure Enclave). On iOS the app uses AppleKeystore (OfflineAuthApple).
    let keystore = SoftwareKeystore()
    print("Keystore: SoftwareKeystore, in memory -- NOT HARDWARE-BACKED (demo only).")
    print("1. Amira signs in online at the depot (\(server)), device \(deviceId).")
    let credentials = try JSONSerialization.data(withJSONObject: [
        "user": "amira", "password": "correct horse battery", "device_id": deviceId,
    ])
    let (status, answer) = http("POST", server + "/enroll", body: credentials, contentType: "application/json")
    guard status == 200, let enrolment = answer as? [String: Any],
          let grant = enrolment["grant"] as? String, let syncKeyHex = enrolment["sync_key"] as? String,
          let jwks = enrolment["jwks"] else { fail("enrol: HTTP \(status)") }
    let jwksText = String(data: try JSONSerialization.data(withJSONObject: jwks), encoding: .utf8)!
    let config = VaultConfig(deviceId: deviceId, issuerKeys: try issuerKeysFromJwks(jwks: jwksText))
    let vault = try PinVault.open(path: workDir.appendingPathComponent("vault.db").path,
                                  keystore: keystore.asPlatformKeystore(), config: config)
    do {
        _ = try vault.enroll(pin: "111111", grant: grant, syncKey: hexBytes(syncKeyHex))
        fail("a trivial PIN was accepted")
    } catch VaultError.WeakPin(let reason) {
        print("   PIN 111111 refused: \(reason)")
    }
    let first = try vault.enroll(pin: pin, grant: grant, syncKey: hexBytes(syncKeyHex))
    print("   Enrolled; offline window ends at unix time \(try first.expiresAt()), scopes \(try first.scopes()).")
    first.lock()

    print("2. Offline: a wrong PIN, then the right one.")
    do {
        _ = try vault.unlock(pin: "135790")
        fail("a wrong PIN unlocked the vault")
    } catch VaultError.WrongPin(let attemptsRemaining) {
        print("   Wrong PIN: \(attemptsRemaining) attempts left before the vault wipes itself.")
        expect(attemptsRemaining == 9, "attempts remaining")
    }
    let session = try vault.unlock(pin: pin)
    print("   Unlocked as \(try session.userId()); failed attempts back to \(try vault.status().failedAttempts).")

    print("3. Edits, each durable and queued:")
    for (key, value) in [("station-7", "meter read 18 442"), ("station-8", "fence repaired")] {
        print("   put inspections/\(key) -> seq \(try session.put(collection: "inspections", key: key, value: Data(value.utf8)))")
    }
    print("   put notes/call -> seq \(try session.put(collection: "notes", key: "call", value: Data("call the depot".utf8)))")
    print("   delete notes/call -> seq \(try session.delete(collection: "notes", key: "call"))")

    print("4. Back online: sync.")
    let queue = session.syncQueue()
    guard let batch = try queue.nextBatch(maxEntries: 100) else { fail("no batch") }
    print("   \(batch.entryCount) edits in the batch.")
    var tampered = batch.bytes
    tampered[tampered.startIndex + tampered.count / 2] ^= 1
    let syncURL = server + "/sync?device_id=" + deviceId
    let (badStatus, _) = http("POST", syncURL, body: tampered, contentType: "application/octet-stream")
    print("   First, a copy with one flipped byte: HTTP \(badStatus).")
    expect((400..<500).contains(badStatus), "a tampered batch is refused")
    let (syncStatus, syncAnswer) = http("POST", syncURL, body: batch.bytes, contentType: "application/octet-stream")
    guard syncStatus == 200, let sync = syncAnswer as? [String: Any],
          let acknowledged = (sync["acknowledged_seq"] as? NSNumber)?.uint64Value,
          let receiptText = sync["receipt"] as? String, let receipt = base64URLBytes(receiptText) else {
        fail("sync: HTTP \(syncStatus)")
    }
    print("   Server verified the chain: applied \(sync["applied"] ?? "?"), acknowledged seq \(acknowledged).")
    expect(acknowledged == batch.lastSeq, "acknowledged seq")
    // The server's receipt, MACed with the sync key: the only thing that lets
    // the device delete what it sent. A forged one deletes nothing.
    var forged = receipt
    forged[forged.startIndex + forged.count / 2] ^= 1
    do {
        try queue.acknowledge(receipt: forged)
        fail("a forged receipt was accepted")
    } catch VaultError.ReceiptInvalid(let reason) {
        print("   A receipt with one flipped byte: refused (\(reason)); still \(try queue.pendingCount()) edits queued.")
        expect(try queue.pendingCount() == UInt64(batch.entryCount), "a forged receipt deleted nothing")
    }
    try queue.acknowledge(receipt: receipt)
    print("   The server's receipt (\(receipt.count) bytes) verified: the queue is empty.")
    expect(try queue.pendingCount() == 0, "queue empty after acknowledge")

    print("5. The server now holds:")
    let (_, recordsAnswer) = http("GET", server + "/records?user=amira", body: Data(), contentType: "application/json",
                                  basicAuth: ("amira", "correct horse battery"))
    let records = (recordsAnswer as? [[String: Any]]) ?? []
    for record in records { print("     \(record["collection"] ?? "")/\(record["key"] ?? "") = \(record["value"] ?? "")") }
    let keys = Set(records.map { "\($0["collection"] ?? "")/\($0["key"] ?? "")" })
    expect(keys.contains("inspections/station-7") && keys.contains("inspections/station-8"), "both inspections reached the server")
    expect(!keys.contains("notes/call"), "the deleted note is gone on the server")
    session.lock()
    print("   Session locked.")
    print("swift-demo: story complete.")
} catch {
    fail("unexpected error: \(error)")
}
