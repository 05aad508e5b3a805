// The access-group decisions of AppleKeystore that need no Apple framework:
// what is cached of the app's access group, and how a key made by 0.1.0
// (before every key named a group) is found and moved. Plain Swift, compiled
// and unit-tested on Linux too (Tests/OfflineAuthAppleTests).
import Foundation
import OfflineAuth

/// The app's keychain access group, found once per process — **a success
/// only**. A failed probe (for example before the first unlock after a
/// reboot, when the keychain refuses every item) is not kept: the next call
/// probes again, instead of failing for the rest of the process.
public final class AccessGroupCache: @unchecked Sendable {
    private let lock = NSLock()
    private var group: String?

    public init() {}

    /// The cached group, or `probe()`'s answer, cached only if it succeeds.
    public func get(probe: () throws -> String) throws -> String {
        lock.lock(); defer { lock.unlock() }
        if let group { return group }
        let found = try probe()
        group = found
        return found
    }
}

extension KeychainQueries {
    /// The query of a key as 0.1.0 made it: the same tag, **no access group**
    /// (the system put it in the app's default group). Used once, when the
    /// query with the group finds nothing, to find and move such a key.
    public static func legacyKey(tag: Data, returnRef: Bool) -> [KeychainAttribute] {
        key(tag: tag, accessGroup: "", returnRef: returnRef).filter {
            if case .accessGroup = $0 { return false }
            return true
        }
    }

    /// The attributes `SecItemUpdate` sets on a 0.1.0 key to move it into `accessGroup`.
    public static func moveToGroup(_ accessGroup: String) -> [KeychainAttribute] {
        [.accessGroup(accessGroup)]
    }
}

/// What `findKey` does after the query in the access group answered.
public enum KeyLookupStep: Equatable, Sendable {
    /// Found in the group: use it.
    case use
    /// Not in the group: look once without the group (a key of 0.1.0).
    case lookWithoutGroup
    /// Found without the group: move it into the group, then use it (if the
    /// move is refused, use it where it is: it is still this app's key).
    case moveThenUse
    /// Not found either way.
    case notFound

    /// The step after the lookup in the group found (`true`) or not (`false`),
    /// and, if it ran, after the lookup without the group.
    public static func next(foundInGroup: Bool, foundWithoutGroup: Bool?) -> KeyLookupStep {
        if foundInGroup { return .use }
        guard let foundWithoutGroup else { return .lookWithoutGroup }
        return foundWithoutGroup ? .moveThenUse : .notFound
    }
}
