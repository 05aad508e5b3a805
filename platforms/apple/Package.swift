// swift-tools-version:5.9
//
// offline-auth for Swift: the UniFFI-generated module `OfflineAuth` over the
// C module `OfflineAuthFFI` (the generated FFI header), and the Apple adapter
// `OfflineAuthApple` (AppleKeystore, AppleClock).
//
// Sources/OfflineAuth/ and Sources/OfflineAuthFFI/ are generated, never
// committed (.gitignore): generate.sh (tools/generate-bindings.sh) writes
// them, and stages the library it generated from in .native/, together with
// the test-only backend module (below). scripts/test.sh runs it before
// `swift test`; build-xcframework.sh generates the device module on a Mac.
//
// Apple platforms: `OfflineAuthFFI` is the XCFramework built by
// build-xcframework.sh (static libraries for iOS device, iOS simulator and
// macOS, each with the header and modulemap). The release package that
// build-xcframework.sh assembles in dist/ replaces `path:` with `url:` +
// `checksum:` of the zipped XCFramework.
//
// Linux: `OfflineAuthFFI` is a system-library module whose modulemap links
// liboffline_auth.so; the library is found in $OFFLINE_AUTH_LIB_DIR, default
// .native/ in this folder (the copy of the debug build the bindings were
// generated from), through -L and an rpath, so `swift test` needs no
// LD_LIBRARY_PATH. The -L/-rpath flags are `unsafeFlags`, which SwiftPM
// accepts only in a root package or a local (path) dependency: fine for this
// repo's tests and demos; apps consume the Apple (XCFramework) variant.
import Foundation
import PackageDescription

// Where the libraries the bindings were generated from are staged (generate.sh).
let nativeLibDir = Context.environment["OFFLINE_AUTH_LIB_DIR"]
    ?? (Context.packageDirectory + "/.native")
let linkNative: [LinkerSetting] = [
    .unsafeFlags(["-L", nativeLibDir, "-Xlinker", "-rpath", "-Xlinker", nativeLibDir]),
]

#if os(Linux)
let ffiTarget: Target = .systemLibrary(
    name: "OfflineAuthFFI",
    path: "Sources/OfflineAuthFFI"
)
let swiftLinkerSettings: [LinkerSetting] = linkNative
#else
let ffiTarget: Target = .binaryTarget(
    name: "OfflineAuthFFI",
    path: "OfflineAuthFFI.xcframework"
)
let swiftLinkerSettings: [LinkerSetting] = []
#endif

// Test support, not a product, so no app can import it: the backend library's
// Swift module (crate offline-auth-backend, which has no Swift product), to
// issue grants and verify batches in the tests. generate.sh writes it to
// Tests/Backend/ and stages liboffline_auth_backend in .native/, linked from
// there on every platform. The tests exist only once it has been generated
// (a checkout used as a plain dependency, e.g. by an app in Xcode, has no
// Tests/Backend/ and so no test targets).
let backendSources = Context.packageDirectory + "/Tests/Backend/Sources"
let testTargets: [Target] =
    FileManager.default.fileExists(atPath: backendSources + "/OfflineAuthBackend/OfflineAuthBackend.swift")
    ? [
        .systemLibrary(
            name: "OfflineAuthBackendFFI",
            path: "Tests/Backend/Sources/OfflineAuthBackendFFI"
        ),
        .target(
            name: "OfflineAuthBackend",
            dependencies: ["OfflineAuthBackendFFI"],
            path: "Tests/Backend/Sources/OfflineAuthBackend",
            linkerSettings: linkNative
        ),
        .testTarget(
            name: "OfflineAuthTests",
            dependencies: ["OfflineAuth", "OfflineAuthBackend"],
            path: "Tests/OfflineAuthTests"
        ),
    ]
    : []

// The adapter's tests need no backend: the platform-independent decisions of
// AppleKeystore (KeystorePolicy.swift), and AppleKeystore on an iOS
// simulator's Keychain (empty elsewhere; the macOS workflow runs them there
// after removing Tests/Backend, whose library is built for the Mac only).
let adapterTestTargets: [Target] = [
    .testTarget(
        name: "OfflineAuthAppleTests",
        dependencies: ["OfflineAuth", "OfflineAuthApple"],
        path: "Tests/OfflineAuthAppleTests"
    ),
    .testTarget(
        name: "OfflineAuthAppleKeychainTests",
        dependencies: ["OfflineAuth", "OfflineAuthApple"],
        path: "Tests/OfflineAuthAppleKeychainTests"
    ),
]

// AppleClock reads the boot time (kern.boottime, mach_continuous_time): a
// required-reason API, declared in the adapter's privacy manifest for the
// app's privacy report. Apple platforms only: on Linux, where the adapter
// compiles to nothing, a resource in it drops the package's other test
// targets from `swift test` (SwiftPM 6.0), so the file is excluded there.
#if os(Linux)
let appleAdapterResources: [Resource] = []
let appleAdapterExcluded = ["PrivacyInfo.xcprivacy"]
#else
let appleAdapterResources: [Resource] = [.copy("PrivacyInfo.xcprivacy")]
let appleAdapterExcluded: [String] = []
#endif

let package = Package(
    name: "OfflineAuth",
    platforms: [
        .iOS(.v15),
        .macOS(.v12),
    ],
    products: [
        .library(name: "OfflineAuth", targets: ["OfflineAuth"]),
        // AppleKeystore (Secure Enclave/Keychain PlatformKeystore) and AppleClock
        // (boot time + continuous time Clock); empty on Linux.
        .library(name: "OfflineAuthApple", targets: ["OfflineAuthApple"]),
    ],
    targets: [
        ffiTarget,
        .target(
            name: "OfflineAuth",
            dependencies: ["OfflineAuthFFI"],
            path: "Sources/OfflineAuth",
            linkerSettings: swiftLinkerSettings
        ),
        .target(
            name: "OfflineAuthApple",
            dependencies: ["OfflineAuth"],
            path: "Sources/OfflineAuthApple",
            exclude: appleAdapterExcluded,
            resources: appleAdapterResources
        ),
    ] + testTargets + adapterTestTargets
)
