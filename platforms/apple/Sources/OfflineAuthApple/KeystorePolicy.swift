// The decisions of AppleKeystore that need no Apple framework: the wrapped
// blob's layout, the comparison of the biometric domain state, which
// attributes every Keychain query carries, and how platform errors become
// KeystoreError. Plain Swift, so it compiles and is unit-tested on Linux
// (Tests/OfflineAuthAppleTests); AppleKeystore.swift only translates between
// these values and the Security / LocalAuthentication APIs.
import Foundation
import OfflineAuth

/// Where a platform error came from.
public enum KeystoreStep: Sendable {
    /// SecAccessControlCreateWithFlags / SecKeyCreateRandomKey.
    case createKey
    /// SecItemCopyMatching for an existing key.
    case findKey
    /// SecKeyCreateEncryptedData (public key, no prompt).
    case encrypt
    /// SecKeyCreateDecryptedData (in the enclave; the biometric prompt for Biometric keys).
    case decrypt
    /// SecItemDelete.
    case deleteKey
}

/// The error domains AppleKeystore sees, by their codes (the values of the
/// Security, LocalAuthentication and CryptoTokenKit constants).
public enum PlatformError: Equatable, Sendable {
    /// NSOSStatusErrorDomain / a bare OSStatus.
    case osStatus(Int)
    /// LAErrorDomain (LAError.Code raw values).
    case localAuthentication(Int)
    /// CryptoTokenKit's TKErrorDomain (TKError.Code raw values).
    case cryptoTokenKit(Int)
    /// Any other domain.
    case other(domain: String, code: Int)

    /// Classifies an NSError / CFError by its domain (NSOSStatusErrorDomain,
    /// LAErrorDomain, TKErrorDomain: their string values, so that this file
    /// needs neither framework).
    public static func from(domain: String, code: Int) -> PlatformError {
        switch domain {
        case "NSOSStatusErrorDomain": return .osStatus(code)
        case "com.apple.LocalAuthentication": return .localAuthentication(code)
        case "CryptoTokenKit": return .cryptoTokenKit(code)
        default: return .other(domain: domain, code: code)
        }
    }

    // OSStatus values (Security/SecBase.h).
    static let errSecItemNotFound = -25300
    static let errSecUserCanceled = -128
    static let errSecAuthFailed = -25293
    static let errSecInteractionNotAllowed = -25308
    static let errSecDecode = -26275
    static let errSecParam = -50
    static let errSecMissingEntitlement = -34018
    // LAError.Code raw values.
    static let laAuthenticationFailed = -1
    static let laUserCancel = -2
    static let laUserFallback = -3
    static let laSystemCancel = -4
    static let laPasscodeNotSet = -5
    static let laBiometryNotAvailable = -6
    static let laBiometryNotEnrolled = -7
    static let laBiometryLockout = -8
    static let laAppCancel = -9
    // TKError.Code raw values.
    static let tkCorruptedData = -3
    static let tkCanceledByUser = -4
    static let tkAuthenticationFailed = -5
    static let tkObjectNotFound = -6
}

/// Which LocalAuthentication API read a biometric domain state. States of
/// two APIs are not comparable: a blob recorded with one and checked with the
/// other (after an update to iOS 18) proves nothing either way.
public enum DomainStateSource: UInt8, Equatable, Sendable {
    /// `LAContext.evaluatedPolicyDomainState` (deprecated in iOS 18 / macOS 15).
    case evaluatedPolicyDomainState = 1
    /// `LAContext.domainState.biometry.stateHash` (iOS 18 / macOS 15 and later).
    case biometryStateHash = 2
}

/// What the biometric domain state says about the enrolment a Biometric key was bound to.
public enum DomainStateCheck: Equatable, Sendable {
    /// The same Face ID / Touch ID set as when the blob was wrapped.
    case unchanged
    /// Fingers or faces were added or removed since: the `.biometryCurrentSet` key is gone for good.
    case changed
    /// No biometrics are enrolled any more: the key is gone for good.
    case notEnrolled
    /// Not known (a blob without a recorded state, or the state cannot be read now, e.g. lockout).
    case unknown

    /// Compares the state recorded at wrap time with the one read now.
    /// `currentlyEnrolled == false` means LocalAuthentication reported
    /// `biometryNotEnrolled` (or `passcodeNotSet`) when the state was read.
    /// States read by different APIs (`recordedSource` ≠ `currentSource`)
    /// are `unknown`, never `changed`.
    public static func compare(
        recorded: Data?, current: Data?, currentlyEnrolled: Bool?,
        recordedSource: DomainStateSource? = nil, currentSource: DomainStateSource? = nil
    ) -> DomainStateCheck {
        if currentlyEnrolled == false { return .notEnrolled }
        guard let recorded, let current else { return .unknown }
        if let recordedSource, let currentSource, recordedSource != currentSource { return .unknown }
        return constantTimeEqual(recorded, current) ? .unchanged : .changed
    }

    static func constantTimeEqual(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for (x, y) in zip(a, b) { diff |= x ^ y }
        return diff == 0
    }
}

/// Platform error → KeystoreError, in one place.
///
/// - Creating a key never reports anything but `Failed`: no key existed yet,
///   so nothing can have been invalidated, whatever the key's protection.
/// - `KeyNotFound`: the key is gone (deleted, or removed by the system with
///   the passcode). The core turns biometrics off on it for the biometric alias.
/// - `KeyInvalidated` (Biometric keys): the domain state changed, or no
///   biometrics / no passcode are set any more — proven, never presumed: an
///   unknown state (nil during a Face ID lockout, a blob of another API) with
///   `errSecAuthFailed` is `Failed`.
/// - A user's Cancel (or the app's, the system's, the fallback button) and a
///   lockout never turn biometrics off, whatever the domain state says: they
///   are `UserCancelled` and `Failed`.
public enum KeystoreErrorMapping {
    /// Errors that say the user (or the system) stopped or refused the prompt
    /// now: nothing about the enrolment.
    public static func isCancelOrLockout(_ error: PlatformError) -> Bool {
        switch error {
        case .osStatus(let status): return status == PlatformError.errSecUserCanceled
        case .localAuthentication(let code):
            return [PlatformError.laUserCancel, PlatformError.laAppCancel, PlatformError.laSystemCancel,
                    PlatformError.laUserFallback, PlatformError.laBiometryLockout].contains(code)
        case .cryptoTokenKit(let code): return code == PlatformError.tkCanceledByUser
        case .other: return false
        }
    }

    public static func map(
        _ error: PlatformError?, step: KeystoreStep, protection: KeyProtection,
        domainState: DomainStateCheck = .unknown
    ) -> KeystoreError {
        guard let error else { return .Failed(reason: "unknown keychain error") }
        if step == .createKey {
            return .Failed(reason: "could not create the key (\(describe(error))): is a passcode set and a Secure Enclave present?")
        }
        let biometricDecrypt = step == .decrypt && protection == .biometric
        // A changed or emptied enrolment outranks whatever error the enclave reported
        // (CryptoTokenKit, errSecAuthFailed, ...): the key will never work again.
        // A Cancel or a lockout is never an invalidation, whatever the state reads.
        if biometricDecrypt, domainState == .changed || domainState == .notEnrolled, !isCancelOrLockout(error) {
            return .KeyInvalidated
        }
        switch error {
        case .osStatus(let status):
            switch status {
            case PlatformError.errSecItemNotFound: return .KeyNotFound
            case PlatformError.errSecUserCanceled: return .UserCancelled
            case PlatformError.errSecAuthFailed:
                // Not a proven invalidation (that was decided above): a failed or
                // locked-out Face ID reads the same; the user tries again or uses the PIN.
                return .Failed(reason: "keychain authentication failed")
            case PlatformError.errSecInteractionNotAllowed:
                return .Failed(reason: "keychain locked: the device must be unlocked")
            case PlatformError.errSecMissingEntitlement:
                return .Failed(reason: "the app is not entitled to the keychain access group")
            case PlatformError.errSecDecode, PlatformError.errSecParam:
                return step == .decrypt ? .UnwrapFailed : .Failed(reason: "keychain error \(status)")
            default:
                return .Failed(reason: "keychain error \(status)")
            }
        case .localAuthentication(let code):
            switch code {
            case PlatformError.laUserCancel, PlatformError.laAppCancel, PlatformError.laSystemCancel,
                 PlatformError.laUserFallback:
                return .UserCancelled
            case PlatformError.laBiometryLockout:
                return .Failed(reason: "biometrics locked out: unlock the device with its passcode first")
            case PlatformError.laBiometryNotEnrolled, PlatformError.laPasscodeNotSet:
                // The Biometric key is bound to an enrolment that no longer exists;
                // a Device key was deleted with the passcode.
                return protection == .biometric ? .KeyInvalidated : .KeyNotFound
            case PlatformError.laBiometryNotAvailable:
                return .Failed(reason: "biometrics unavailable on this device")
            default:
                return .Failed(reason: "authentication error \(code)")
            }
        case .cryptoTokenKit(let code):
            switch code {
            case PlatformError.tkCanceledByUser: return .UserCancelled
            case PlatformError.tkObjectNotFound: return .KeyNotFound
            case PlatformError.tkCorruptedData where step == .decrypt: return .UnwrapFailed
            default: return .Failed(reason: "secure enclave error \(code)")
            }
        case .other(let domain, let code):
            return step == .decrypt ? .UnwrapFailed : .Failed(reason: "keychain error \(domain) \(code)")
        }
    }

    static func describe(_ error: PlatformError) -> String {
        switch error {
        case .osStatus(let s): return "OSStatus \(s)"
        case .localAuthentication(let c): return "LocalAuthentication \(c)"
        case .cryptoTokenKit(let c): return "CryptoTokenKit \(c)"
        case .other(let d, let c): return "\(d) \(c)"
        }
    }
}

/// The bytes `wrap` returns.
///
/// - version 1 (read only): `0x01`, protection, ECIES output;
/// - version 2 (read only): `0x02`, protection (`0x01` Device, `0x02`
///   Biometric), the length of the biometric domain state (0 to 64; 0 for
///   Device keys or when it could not be read), the state
///   (`evaluatedPolicyDomainState`), the ECIES output (65-byte ephemeral
///   public key ‖ ciphertext ‖ 16-byte tag);
/// - version 3: `0x03`, protection, the state's source (0 none, then
///   `DomainStateSource`), then as version 2 from the length on.
public struct WrappedBlob: Equatable, Sendable {
    public static let maxDomainState = 64
    static let eciesOverhead = 65 + 16

    public let protection: KeyProtection
    /// The biometric domain state when the blob was wrapped.
    public let domainState: Data?
    /// Which API read `domainState` (nil when there is none).
    public let domainStateSource: DomainStateSource?
    public let sealed: Data

    public init(
        protection: KeyProtection, domainState: Data?, sealed: Data,
        domainStateSource: DomainStateSource? = .evaluatedPolicyDomainState
    ) {
        self.protection = protection
        self.domainState = domainState.flatMap { $0.isEmpty || $0.count > Self.maxDomainState ? nil : $0 }
        self.domainStateSource = self.domainState == nil ? nil : domainStateSource
        self.sealed = sealed
    }

    static func byte(_ protection: KeyProtection) -> UInt8 { protection == .device ? 0x01 : 0x02 }

    public func encode() -> Data {
        let state = domainState ?? Data()
        return Data([0x03, Self.byte(protection), domainStateSource?.rawValue ?? 0, UInt8(state.count)]) + state + sealed
    }

    /// Parses `bytes`, which must have been wrapped for `protection`; nil when malformed.
    public static func decode(_ bytes: Data, protection: KeyProtection) -> WrappedBlob? {
        let b = [UInt8](bytes)
        guard b.count >= 2, b[1] == byte(protection) else { return nil }
        switch b[0] {
        case 0x01:
            let sealed = Data(b[2...])
            return sealed.count > eciesOverhead ? WrappedBlob(protection: protection, domainState: nil, sealed: sealed) : nil
        case 0x02, 0x03:
            // Version 2 states were all read by evaluatedPolicyDomainState.
            let v3 = b[0] == 0x03
            let start = v3 ? 4 : 3
            guard b.count >= start else { return nil }
            var source = DomainStateSource.evaluatedPolicyDomainState
            if v3 {
                guard b[2] == 0 || DomainStateSource(rawValue: b[2]) != nil else { return nil }
                source = DomainStateSource(rawValue: b[2]) ?? .evaluatedPolicyDomainState
            }
            let n = Int(b[start - 1])
            guard n <= maxDomainState, b.count > start + n + eciesOverhead else { return nil }
            if v3, (n == 0) != (b[2] == 0) { return nil }
            let state = n == 0 ? nil : Data(b[start..<(start + n)])
            return WrappedBlob(protection: protection, domainState: state, sealed: Data(b[(start + n)...]),
                               domainStateSource: source)
        default:
            return nil
        }
    }
}

/// The attributes a Keychain query or key-creation dictionary carries,
/// independent of the Security constants (AppleKeystore translates them).
public enum KeychainAttribute: Hashable, Sendable {
    case classKey
    case keyTypeECSECPrimeRandom
    case keyClassPrivate
    case applicationTag(Data)
    /// kSecAttrAccessGroup: on every query and every created key.
    case accessGroup(String)
    case dataProtectionKeychain
    case returnRef
}

public enum KeychainQueries {
    /// The query that finds (`returnRef`) or deletes one alias's key.
    public static func key(tag: Data, accessGroup: String, returnRef: Bool) -> [KeychainAttribute] {
        var q: [KeychainAttribute] = [
            .classKey, .keyTypeECSECPrimeRandom, .keyClassPrivate, .applicationTag(tag),
            .accessGroup(accessGroup), .dataProtectionKeychain,
        ]
        if returnRef { q.append(.returnRef) }
        return q
    }

    /// The top-level attributes of SecKeyCreateRandomKey (AppleKeystore adds
    /// the key size and the Secure Enclave token).
    public static func newKey(accessGroup: String) -> [KeychainAttribute] {
        [.keyTypeECSECPrimeRandom, .accessGroup(accessGroup), .dataProtectionKeychain]
    }

    /// Its kSecPrivateKeyAttrs (AppleKeystore adds kSecAttrIsPermanent and the access control).
    public static func newPrivateKey(tag: Data, accessGroup: String) -> [KeychainAttribute] {
        [.applicationTag(tag), .accessGroup(accessGroup)]
    }

    /// The app's own, private access group (`<App ID prefix>.<bundle identifier>`,
    /// the application-identifier every app has without declaring it), derived
    /// from the group a probe item was stored in (the app's default group, which
    /// may be a shared one: only its prefix is used). Nil when either part is unusable.
    public static func privateAccessGroup(probedGroup: String, bundleIdentifier: String?) -> String? {
        guard let bundleIdentifier, !bundleIdentifier.isEmpty,
              let dot = probedGroup.firstIndex(of: "."), dot != probedGroup.startIndex else { return nil }
        return String(probedGroup[..<dot]) + "." + bundleIdentifier
    }
}
