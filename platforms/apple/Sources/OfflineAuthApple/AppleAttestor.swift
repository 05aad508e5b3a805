// AppleAttestor: PlatformAttestor on App Attest (DCAppAttestService).
//
// NOT COMPILED IN THIS REPOSITORY'S LINUX CI: everything is behind
// `#if canImport(DeviceCheck)`, so on Linux this file compiles to nothing
// (as AppleKeystore.swift). The macOS workflow builds it; App Attest itself
// runs only on a real iPhone or iPad (not the simulator, not a Mac). It was
// written against Apple's documentation for DCAppAttestService
// (generateKey, attestKey(_:clientDataHash:), generateAssertion(_:clientDataHash:)).
#if canImport(DeviceCheck) && canImport(CryptoKit)
import CryptoKit
import DeviceCheck
import Foundation
import OfflineAuth

/// `PlatformAttestor` on Apple platforms: an App Attest key, attested by
/// Apple, whose assertions sign every upload (issue 24).
///
/// - `attest(challenge:)`: `generateKey`, then `attestKey` with
///   `clientDataHash` = SHA-256 of the server's challenge; the key id is
///   kept in `UserDefaults` (it is not secret: the key never leaves the
///   Secure Enclave). The evidence is `.appleAppAttest(keyId:attestationObject:)`.
/// - `sign(message:)`: `generateAssertion` with `clientDataHash` = SHA-256
///   of the upload message; the assertion (CBOR: signature and
///   authenticator data with its counter) is what the backend checks.
///
/// Cost (Apple's documentation and published measurements; **not measured
/// here**): `attestKey` is a network round trip to Apple plus a Secure
/// Enclave key generation, hundreds of milliseconds to seconds, once per
/// enrolment (Apple rate-limits it: do not attest on every launch);
/// `generateAssertion` is a Secure Enclave signature, tens of milliseconds,
/// once per upload. Both block the calling thread here: call the queue from
/// a background task.
///
/// The backend's App Attest verifier is not in this release: under the
/// production policy an enrolment with this evidence is refused with
/// `unsupported_evidence` until it lands (docs/decisions/0012-attested-enrolment.md).
@available(iOS 14.0, macOS 11.0, tvOS 15.0, *)
public final class AppleAttestor: PlatformAttestor, @unchecked Sendable {
    private let defaults: UserDefaults
    private let keyIdKey: String

    /// - Parameters:
    ///   - defaults: where the App Attest key id is kept.
    ///   - keyIdKey: its key in `defaults`.
    public init(defaults: UserDefaults = .standard, keyIdKey: String = "dev.offlineauth.appattest.keyid") {
        self.defaults = defaults
        self.keyIdKey = keyIdKey
    }

    public func attest(challenge: Data) throws -> AttestationEvidence {
        let service = DCAppAttestService.shared
        guard service.isSupported else { throw AttestorError.NotSupported }
        let keyId: String = try Self.wait { done in service.generateKey(completionHandler: done) }
        let clientDataHash = Data(SHA256.hash(data: challenge))
        let object: Data = try Self.wait { done in
            service.attestKey(keyId, clientDataHash: clientDataHash, completionHandler: done)
        }
        defaults.set(keyId, forKey: keyIdKey)
        return .appleAppAttest(keyId: keyId, attestationObject: object)
    }

    public func sign(message: Data) throws -> Data {
        let service = DCAppAttestService.shared
        guard service.isSupported, let keyId = defaults.string(forKey: keyIdKey) else {
            throw AttestorError.NotSupported
        }
        let clientDataHash = Data(SHA256.hash(data: message))
        return try Self.wait { done in
            service.generateAssertion(keyId, clientDataHash: clientDataHash, completionHandler: done)
        }
    }

    /// Blocks until a DeviceCheck completion handler runs; maps its error.
    private static func wait<T>(_ start: (@escaping (T?, Error?) -> Void) -> Void) throws -> T {
        let done = DispatchSemaphore(value: 0)
        var value: T?
        var failure: Error?
        start { result, error in
            value = result
            failure = error
            done.signal()
        }
        done.wait()
        if let value { return value }
        if let error = failure as? DCError, error.code == .invalidKey {
            throw AttestorError.KeyGone
        }
        throw AttestorError.Failed(reason: "App Attest: \(failure.map { String(describing: $0) } ?? "no result")")
    }
}
#endif
