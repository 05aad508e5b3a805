// AppleKeystore: PlatformKeystore on the Secure Enclave and the Keychain.
//
// NOT COMPILED IN THIS REPOSITORY'S CI: everything is behind
// `#if canImport(Security)`, so on Linux this file compiles to nothing. It was
// written and reviewed against Apple's documentation for SecKeyCreateRandomKey,
// SecAccessControlCreateWithFlags, SecKeyCreateEncryptedData/DecryptedData and
// SecKeyAlgorithm.eciesEncryptionCofactorVariableIVX963SHA256AESGCM; build and
// test it on a Mac and a device before relying on it (platforms/apple/README.md).
#if canImport(Security)
import Foundation
import Security
#if canImport(LocalAuthentication)
import LocalAuthentication
#endif
import OfflineAuth

/// `PlatformKeystore` on Apple platforms.
///
/// Each alias names one **Secure Enclave P-256 private key**, a permanent
/// Keychain item (`kSecAttrApplicationTag` = `tagPrefix + alias`) that never
/// leaves the enclave, created with `SecAccessControl`:
/// - `Device`: `kSecAttrAccessibleWhenPasscodeSetThisDeviceOnly` + `.privateKeyUsage`
///   (usable while the device is unlocked and has a passcode; never in backups or
///   on another device; deleted by the system if the passcode is removed);
/// - `Biometric`: the same + `.biometryCurrentSet` (Face ID / Touch ID of the
///   *current* enrolment: adding or removing a finger or face invalidates it).
///
/// `wrap` encrypts to the key's public half with ECIES
/// (`.eciesEncryptionCofactorVariableIVX963SHA256AESGCM`: ephemeral P-256 ECDH,
/// X9.63 KDF with SHA-256, AES-GCM), which needs no user presence, so turning
/// biometrics on shows no prompt. `unwrap` decrypts inside the enclave; for
/// `Biometric` keys the system shows the Face ID / Touch ID prompt and **blocks
/// the calling thread** until it finishes: call the vault from a background
/// task, never the main thread (refused with `KeystoreError.Failed`).
///
/// Blob (version 1): `0x01`, protection (`0x01` Device, `0x02` Biometric), then
/// the ECIES output (65-byte ephemeral public key ‖ ciphertext ‖ 16-byte tag).
///
/// Secure Enclave required: the iOS simulator and Macs without one fail with
/// `KeystoreError.Failed` at the first `wrap`.
public final class AppleKeystore: PlatformKeystore, Sendable {
    static let algorithm: SecKeyAlgorithm = .eciesEncryptionCofactorVariableIVX963SHA256AESGCM
    static let version: UInt8 = 0x01

    private let tagPrefix: String
    private let promptReason: String

    /// - Parameters:
    ///   - tagPrefix: prefix of the Keychain application tags of this app's keys.
    ///   - promptReason: the text of the biometric prompt at unlock.
    public init(tagPrefix: String = "dev.offlineauth.key.", promptReason: String = "Unlock your offline data") {
        self.tagPrefix = tagPrefix
        self.promptReason = promptReason
    }

    public func wrap(alias: String, protection: KeyProtection, plaintext: Data) throws -> Data {
        try Self.validate(alias: alias)
        guard !plaintext.isEmpty, plaintext.count <= 1024 else { throw KeystoreError.Failed(reason: "plaintext must be 1 to 1024 bytes") }
        let privateKey = try findKey(alias: alias, context: nil) ?? createKey(alias: alias, protection: protection)
        guard let publicKey = SecKeyCopyPublicKey(privateKey),
              SecKeyIsAlgorithmSupported(publicKey, .encrypt, Self.algorithm) else {
            throw KeystoreError.Failed(reason: "ECIES not supported by this key")
        }
        var error: Unmanaged<CFError>?
        guard let sealed = SecKeyCreateEncryptedData(publicKey, Self.algorithm, plaintext as CFData, &error) as Data? else {
            throw Self.map(error?.takeRetainedValue(), protection: protection)
        }
        return Data([Self.version, Self.byte(protection)]) + sealed
    }

    public func unwrap(alias: String, protection: KeyProtection, wrapped: Data) throws -> Data {
        try Self.validate(alias: alias)
        guard wrapped.count > 2 + 65 + 16, wrapped[wrapped.startIndex] == Self.version,
              wrapped[wrapped.startIndex + 1] == Self.byte(protection) else {
            throw KeystoreError.UnwrapFailed
        }
        var context: AnyObject? = nil
        if protection == .biometric {
            if Thread.isMainThread {
                throw KeystoreError.Failed(reason: "biometric unlock called on the main thread: call the vault from a background task")
            }
            #if canImport(LocalAuthentication)
            let la = LAContext()
            la.localizedReason = promptReason
            context = la
            #endif
        }
        guard let privateKey = try findKey(alias: alias, context: context) else { throw KeystoreError.KeyNotFound }
        var error: Unmanaged<CFError>?
        // For a Biometric key this shows Face ID / Touch ID and blocks until it is done.
        guard let plaintext = SecKeyCreateDecryptedData(privateKey, Self.algorithm, wrapped.dropFirst(2) as CFData, &error) as Data? else {
            throw Self.map(error?.takeRetainedValue(), protection: protection, decrypting: true)
        }
        return plaintext
    }

    public func deleteKey(alias: String) throws {
        try Self.validate(alias: alias)
        let query: [CFString: Any] = [
            kSecClass: kSecClassKey,
            kSecAttrKeyType: kSecAttrKeyTypeECSECPrimeRandom,
            kSecAttrApplicationTag: tag(alias),
            kSecUseDataProtectionKeychain: true,
        ]
        let status = SecItemDelete(query as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw Self.map(status: status, protection: .device) }
    }

    // MARK: - Keys

    private func tag(_ alias: String) -> Data { Data((tagPrefix + alias).utf8) }

    private func findKey(alias: String, context: AnyObject?) throws -> SecKey? {
        var query: [CFString: Any] = [
            kSecClass: kSecClassKey,
            kSecAttrKeyType: kSecAttrKeyTypeECSECPrimeRandom,
            kSecAttrKeyClass: kSecAttrKeyClassPrivate,
            kSecAttrApplicationTag: tag(alias),
            kSecUseDataProtectionKeychain: true,
            kSecReturnRef: true,
        ]
        if let context { query[kSecUseAuthenticationContext] = context }
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            guard let item, CFGetTypeID(item) == SecKeyGetTypeID() else { throw KeystoreError.Failed(reason: "unexpected keychain item") }
            return (item as! SecKey) // swiftlint:disable:this force_cast (type checked above)
        case errSecItemNotFound:
            return nil
        default:
            throw Self.map(status: status, protection: .device)
        }
    }

    private func createKey(alias: String, protection: KeyProtection) throws -> SecKey {
        var flags: SecAccessControlCreateFlags = [.privateKeyUsage]
        if protection == .biometric { flags.insert(.biometryCurrentSet) }
        var error: Unmanaged<CFError>?
        guard let access = SecAccessControlCreateWithFlags(
            kCFAllocatorDefault, kSecAttrAccessibleWhenPasscodeSetThisDeviceOnly, flags, &error
        ) else {
            throw Self.map(error?.takeRetainedValue(), protection: protection)
        }
        let attributes: [CFString: Any] = [
            kSecAttrKeyType: kSecAttrKeyTypeECSECPrimeRandom,
            kSecAttrKeySizeInBits: 256,
            kSecAttrTokenID: kSecAttrTokenIDSecureEnclave,
            kSecUseDataProtectionKeychain: true,
            kSecPrivateKeyAttrs: [
                kSecAttrIsPermanent: true,
                kSecAttrApplicationTag: tag(alias),
                kSecAttrAccessControl: access,
            ] as [CFString: Any],
        ]
        guard let key = SecKeyCreateRandomKey(attributes as CFDictionary, &error) else {
            // errSecNotAvailable / -25293 etc. here: no Secure Enclave or no passcode set.
            throw Self.map(error?.takeRetainedValue(), protection: protection)
        }
        return key
    }

    // MARK: - Errors

    static func validate(alias: String) throws {
        guard !alias.isEmpty, alias.count <= 200,
              !alias.unicodeScalars.contains(where: { CharacterSet.whitespacesAndNewlines.union(.controlCharacters).contains($0) }) else {
            throw KeystoreError.Failed(reason: "invalid key alias")
        }
    }

    static func byte(_ protection: KeyProtection) -> UInt8 { protection == .device ? 0x01 : 0x02 }

    /// Keychain status codes → KeystoreError.
    static func map(status: OSStatus, protection: KeyProtection, decrypting: Bool = false) -> KeystoreError {
        switch status {
        case errSecItemNotFound:
            return .KeyNotFound
        case errSecUserCanceled:
            return .UserCancelled
        case errSecAuthFailed:
            // With `.biometryCurrentSet`, a changed biometric enrolment makes the key
            // permanently unusable and its use fails with errSecAuthFailed. A failed
            // match is retried inside the system prompt and does not end here.
            return protection == .biometric ? .KeyInvalidated : .Failed(reason: "keychain authentication failed")
        case errSecInteractionNotAllowed:
            return .Failed(reason: "keychain locked: the device must be unlocked")
        case errSecDecode where decrypting, errSecParam where decrypting:
            return .UnwrapFailed
        default:
            return .Failed(reason: "keychain error \(status)")
        }
    }

    /// CFErrors from SecKey* calls (OSStatus domain or LocalAuthentication domain) → KeystoreError.
    static func map(_ error: CFError?, protection: KeyProtection, decrypting: Bool = false) -> KeystoreError {
        guard let error else { return .Failed(reason: "unknown keychain error") }
        let domain = CFErrorGetDomain(error) as String
        let code = CFErrorGetCode(error)
        #if canImport(LocalAuthentication)
        if domain == LAErrorDomain, let la = LAError.Code(rawValue: code) {
            switch la {
            case .userCancel, .appCancel, .systemCancel, .userFallback:
                return .UserCancelled
            case .biometryLockout:
                return .Failed(reason: "biometrics locked out: unlock the device with its passcode first")
            case .biometryNotAvailable, .biometryNotEnrolled, .passcodeNotSet:
                return .Failed(reason: "biometrics unavailable on this device")
            default:
                return .Failed(reason: "authentication error \(code)")
            }
        }
        #endif
        if domain == (NSOSStatusErrorDomain as String) {
            return map(status: OSStatus(truncatingIfNeeded: code), protection: protection, decrypting: decrypting)
        }
        // CryptoTokenKit / other domains during decryption: treat as a rejected blob.
        return decrypting ? .UnwrapFailed : .Failed(reason: "keychain error \(domain) \(code)")
    }
}
#endif
