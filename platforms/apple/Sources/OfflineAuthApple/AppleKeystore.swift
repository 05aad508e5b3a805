// AppleKeystore: PlatformKeystore on the Secure Enclave and the Keychain.
//
// NOT COMPILED IN THIS REPOSITORY'S LINUX CI: everything is behind
// `#if canImport(Security)`, so on Linux this file compiles to nothing; its
// decisions (blob, domain state, queries, error mapping) are in
// KeystorePolicy.swift, which is compiled and tested on Linux too. The macOS
// workflow (.github/workflows/apple.yml) builds it and runs its simulator tests. It was
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
/// Blob: see `WrappedBlob` (KeystorePolicy.swift). For `Biometric` keys it
/// records `LAContext.evaluatedPolicyDomainState` at wrap time; when unwrap
/// fails, the state read then is compared with it, so a changed Face ID /
/// Touch ID set is reported as `KeyInvalidated` whatever error the enclave
/// gave (the core then turns biometrics off), and no enrolment or no passcode
/// as well. Errors are mapped by `KeystoreErrorMapping`: key creation only
/// ever fails with `Failed`.
///
/// Access group: every key and query names one `kSecAttrAccessGroup`,
/// by default the app's own private group (`<App ID prefix>.<bundle id>`),
/// never a group shared with other apps or extensions of the team. Pass
/// `accessGroup:` to share the keys on purpose (e.g. with an app extension
/// that opens the same vault): the group must be in the app's
/// keychain-access-groups entitlement.
///
/// Removing the device passcode makes the system delete these keys: the
/// vault can then no longer be opened (`KeyNotFound`) and its data, including
/// edits not yet synced, is lost (platforms/apple/README.md).
///
/// Secure Enclave required: the iOS simulator and Macs without one fail with
/// `KeystoreError.Failed` at the first `wrap`.
public final class AppleKeystore: PlatformKeystore, Sendable {
    static let algorithm: SecKeyAlgorithm = .eciesEncryptionCofactorVariableIVX963SHA256AESGCM

    private let tagPrefix: String
    private let promptReason: String
    private let accessGroup: String?

    /// - Parameters:
    ///   - tagPrefix: prefix of the Keychain application tags of this app's keys.
    ///   - promptReason: the text of the biometric prompt at unlock.
    ///   - accessGroup: the keychain access group of the keys; nil (default):
    ///     the app's own private group, found at the first call.
    public init(
        tagPrefix: String = "dev.offlineauth.key.", promptReason: String = "Unlock your offline data",
        accessGroup: String? = nil
    ) {
        self.tagPrefix = tagPrefix
        self.promptReason = promptReason
        self.accessGroup = accessGroup
    }

    public func wrap(alias: String, protection: KeyProtection, plaintext: Data) throws -> Data {
        try Self.validate(alias: alias)
        guard !plaintext.isEmpty, plaintext.count <= 1024 else { throw KeystoreError.Failed(reason: "plaintext must be 1 to 1024 bytes") }
        let group = try resolvedAccessGroup()
        var created = false
        let privateKey: SecKey
        if let existing = try findKey(alias: alias, group: group, context: nil, protection: protection) {
            privateKey = existing
        } else {
            privateKey = try createKey(alias: alias, group: group, protection: protection)
            created = true
        }
        do {
            guard let publicKey = SecKeyCopyPublicKey(privateKey),
                  SecKeyIsAlgorithmSupported(publicKey, .encrypt, Self.algorithm) else {
                throw KeystoreError.Failed(reason: "ECIES not supported by this key")
            }
            var error: Unmanaged<CFError>?
            guard let sealed = SecKeyCreateEncryptedData(publicKey, Self.algorithm, plaintext as CFData, &error) as Data? else {
                throw KeystoreErrorMapping.map(Self.platformError(error?.takeRetainedValue()), step: .encrypt, protection: protection)
            }
            let now = protection == .biometric ? Self.readDomainState() : (state: nil, source: nil, enrolled: nil)
            return WrappedBlob(protection: protection, domainState: now.state, sealed: sealed,
                               domainStateSource: now.source).encode()
        } catch {
            // A key this call created must not outlive its failure (the core forgets the alias).
            if created { try? deleteKey(alias: alias) }
            throw error
        }
    }

    public func unwrap(alias: String, protection: KeyProtection, wrapped: Data) throws -> Data {
        try Self.validate(alias: alias)
        guard let blob = WrappedBlob.decode(wrapped, protection: protection) else { throw KeystoreError.UnwrapFailed }
        let group = try resolvedAccessGroup()
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
        guard let privateKey = try findKey(alias: alias, group: group, context: context, protection: protection,
                                           recorded: blob, migrateLegacy: true) else {
            throw KeystoreError.KeyNotFound
        }
        var error: Unmanaged<CFError>?
        // For a Biometric key this shows Face ID / Touch ID and blocks until it is done.
        guard let plaintext = SecKeyCreateDecryptedData(privateKey, Self.algorithm, blob.sealed as CFData, &error) as Data? else {
            throw KeystoreErrorMapping.map(
                Self.platformError(error?.takeRetainedValue()), step: .decrypt, protection: protection,
                domainState: Self.domainStateCheck(protection: protection, recorded: blob)
            )
        }
        return plaintext
    }

    public func deleteKey(alias: String) throws {
        try Self.validate(alias: alias)
        let query = Self.dictionary(KeychainQueries.key(tag: tag(alias), accessGroup: try resolvedAccessGroup(), returnRef: false))
        var status = SecItemDelete(query as CFDictionary)
        if status == errSecItemNotFound {
            // A 0.1.0 key that was never moved (its move refused): delete it where it is.
            status = SecItemDelete(Self.dictionary(KeychainQueries.legacyKey(tag: tag(alias), returnRef: false)) as CFDictionary)
        }
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw KeystoreErrorMapping.map(.osStatus(Int(status)), step: .deleteKey, protection: .device)
        }
    }

    // MARK: - Keys

    private func tag(_ alias: String) -> Data { Data((tagPrefix + alias).utf8) }

    private func resolvedAccessGroup() throws -> String {
        if let accessGroup { return accessGroup }
        return try Self.appAccessGroup.get(probe: Self.probeAccessGroup)
    }

    /// The app's own access group, found once per process: only a success
    /// is kept (a probe refused before the first unlock is tried again).
    static let appAccessGroup = AccessGroupCache()

    /// Stores (or finds) a small probe item without naming a group: the system
    /// puts it in the app's default group, whose App ID prefix, with the bundle
    /// identifier, names the app's private group (KeychainQueries.privateAccessGroup).
    static func probeAccessGroup() throws -> String {
        let base: [CFString: Any] = [
            kSecClass: kSecClassGenericPassword,
            kSecAttrService: "dev.offlineauth.access-group-probe",
            kSecAttrAccount: "probe",
            kSecUseDataProtectionKeychain: true,
            kSecReturnAttributes: true,
        ]
        var add = base
        add[kSecAttrAccessible] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        var result: CFTypeRef?
        var status = SecItemAdd(add as CFDictionary, &result)
        if status == errSecDuplicateItem {
            status = SecItemCopyMatching(base as CFDictionary, &result)
        }
        guard status == errSecSuccess, let attributes = result as? [String: Any],
              let probed = attributes[kSecAttrAccessGroup as String] as? String,
              let group = KeychainQueries.privateAccessGroup(probedGroup: probed, bundleIdentifier: Bundle.main.bundleIdentifier)
        else {
            throw KeystoreError.Failed(reason: "could not determine the app's keychain access group (status \(status)): pass accessGroup")
        }
        return group
    }

    private func findKey(
        alias: String, group: String, context: AnyObject?, protection: KeyProtection, recorded: WrappedBlob? = nil,
        migrateLegacy: Bool = false
    ) throws -> SecKey? {
        var query = Self.dictionary(KeychainQueries.key(tag: tag(alias), accessGroup: group, returnRef: true))
        if let context { query[kSecUseAuthenticationContext] = context }
        var item: CFTypeRef?
        var status = SecItemCopyMatching(query as CFDictionary, &item)
        if status == errSecItemNotFound, migrateLegacy {
            // A key made by 0.1.0 has no access group: look once without it and move it
            // (unwrap only: a wrap that finds nothing creates a new key in the group).
            var legacy = Self.dictionary(KeychainQueries.legacyKey(tag: tag(alias), returnRef: true))
            if let context { legacy[kSecUseAuthenticationContext] = context }
            status = SecItemCopyMatching(legacy as CFDictionary, &item)
            if KeyLookupStep.next(foundInGroup: false, foundWithoutGroup: status == errSecSuccess) == .moveThenUse {
                let match = Self.dictionary(KeychainQueries.legacyKey(tag: tag(alias), returnRef: false))
                // Refused (e.g. a group the item class cannot move to): the key still works where it is.
                _ = SecItemUpdate(match as CFDictionary, Self.dictionary(KeychainQueries.moveToGroup(group)) as CFDictionary)
            }
        }
        switch status {
        case errSecSuccess:
            guard let item, CFGetTypeID(item) == SecKeyGetTypeID() else { throw KeystoreError.Failed(reason: "unexpected keychain item") }
            return (item as! SecKey) // swiftlint:disable:this force_cast (type checked above)
        case errSecItemNotFound:
            return nil
        default:
            throw KeystoreErrorMapping.map(
                .osStatus(Int(status)), step: .findKey, protection: protection,
                domainState: Self.domainStateCheck(protection: protection, recorded: recorded)
            )
        }
    }

    private func createKey(alias: String, group: String, protection: KeyProtection) throws -> SecKey {
        var flags: SecAccessControlCreateFlags = [.privateKeyUsage]
        if protection == .biometric { flags.insert(.biometryCurrentSet) }
        var error: Unmanaged<CFError>?
        guard let access = SecAccessControlCreateWithFlags(
            kCFAllocatorDefault, kSecAttrAccessibleWhenPasscodeSetThisDeviceOnly, flags, &error
        ) else {
            throw KeystoreErrorMapping.map(Self.platformError(error?.takeRetainedValue()), step: .createKey, protection: protection)
        }
        var privateAttributes = Self.dictionary(KeychainQueries.newPrivateKey(tag: tag(alias), accessGroup: group))
        privateAttributes[kSecAttrIsPermanent] = true
        privateAttributes[kSecAttrAccessControl] = access
        var attributes = Self.dictionary(KeychainQueries.newKey(accessGroup: group))
        attributes[kSecAttrKeySizeInBits] = 256
        attributes[kSecAttrTokenID] = kSecAttrTokenIDSecureEnclave
        attributes[kSecPrivateKeyAttrs] = privateAttributes
        guard let key = SecKeyCreateRandomKey(attributes as CFDictionary, &error) else {
            // No Secure Enclave, no passcode, a missing entitlement: always Failed.
            throw KeystoreErrorMapping.map(Self.platformError(error?.takeRetainedValue()), step: .createKey, protection: protection)
        }
        return key
    }

    static func dictionary(_ attributes: [KeychainAttribute]) -> [CFString: Any] {
        var d: [CFString: Any] = [:]
        for attribute in attributes {
            switch attribute {
            case .classKey: d[kSecClass] = kSecClassKey
            case .keyTypeECSECPrimeRandom: d[kSecAttrKeyType] = kSecAttrKeyTypeECSECPrimeRandom
            case .keyClassPrivate: d[kSecAttrKeyClass] = kSecAttrKeyClassPrivate
            case .applicationTag(let tag): d[kSecAttrApplicationTag] = tag
            case .accessGroup(let group): d[kSecAttrAccessGroup] = group
            case .dataProtectionKeychain: d[kSecUseDataProtectionKeychain] = true
            case .returnRef: d[kSecReturnRef] = true
            }
        }
        return d
    }

    // MARK: - Biometric domain state

    /// The current Face ID / Touch ID enrolment's domain state, which API
    /// read it (iOS 18 / macOS 15: `domainState.biometry.stateHash`; before:
    /// the deprecated `evaluatedPolicyDomainState`), and whether biometrics
    /// are enrolled at all (nil: cannot tell, e.g. lockout).
    static func readDomainState() -> (state: Data?, source: DomainStateSource?, enrolled: Bool?) {
        #if canImport(LocalAuthentication)
        let la = LAContext()
        var error: NSError?
        if la.canEvaluatePolicy(.deviceOwnerAuthenticationWithBiometrics, error: &error) {
            if #available(iOS 18.0, macOS 15.0, *) {
                return (la.domainState.biometry.stateHash, .biometryStateHash, true)
            }
            return (la.evaluatedPolicyDomainState, .evaluatedPolicyDomainState, true)
        }
        if let error, error.domain == LAErrorDomain,
           error.code == LAError.Code.biometryNotEnrolled.rawValue || error.code == LAError.Code.passcodeNotSet.rawValue {
            return (nil, nil, false)
        }
        #endif
        return (nil, nil, nil)
    }

    static func domainStateCheck(protection: KeyProtection, recorded: WrappedBlob?) -> DomainStateCheck {
        guard protection == .biometric else { return .unknown }
        let now = readDomainState()
        return DomainStateCheck.compare(
            recorded: recorded?.domainState, current: now.state, currentlyEnrolled: now.enrolled,
            recordedSource: recorded?.domainStateSource, currentSource: now.source
        )
    }

    // MARK: - Errors

    static func validate(alias: String) throws {
        guard !alias.isEmpty, alias.count <= 200,
              !alias.unicodeScalars.contains(where: { CharacterSet.whitespacesAndNewlines.union(.controlCharacters).contains($0) }) else {
            throw KeystoreError.Failed(reason: "invalid key alias")
        }
    }

    static func platformError(_ error: CFError?) -> PlatformError? {
        guard let error else { return nil }
        return PlatformError.from(domain: CFErrorGetDomain(error) as String, code: CFErrorGetCode(error))
    }
}
#endif
