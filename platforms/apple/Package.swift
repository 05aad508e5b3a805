// swift-tools-version:5.9
//
// offline-auth for Swift: the UniFFI-generated module `OfflineAuth` over the
// C module `OfflineAuthFFI` (the generated FFI header), and the Apple adapter
// `OfflineAuthApple` (AppleKeystore, AppleClock).
//
// Sources/OfflineAuth/ and Sources/OfflineAuthFFI/ are generated, never
// committed (.gitignore): `tools/generate-bindings.sh swift platforms/apple`
// writes them, and stages the library it generated from in .native/.
// scripts/test.sh runs it before `swift test`; build-xcframework.sh runs it
// on a Mac.
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
import PackageDescription

#if os(Linux)
let nativeLibDir = Context.environment["OFFLINE_AUTH_LIB_DIR"]
    ?? (Context.packageDirectory + "/.native")

let ffiTarget: Target = .systemLibrary(
    name: "OfflineAuthFFI",
    path: "Sources/OfflineAuthFFI"
)
let swiftLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(["-L", nativeLibDir, "-Xlinker", "-rpath", "-Xlinker", nativeLibDir]),
]
#else
let ffiTarget: Target = .binaryTarget(
    name: "OfflineAuthFFI",
    path: "OfflineAuthFFI.xcframework"
)
let swiftLinkerSettings: [LinkerSetting] = []
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
            path: "Sources/OfflineAuthApple"
        ),
        .testTarget(
            name: "OfflineAuthTests",
            dependencies: ["OfflineAuth"],
            path: "Tests/OfflineAuthTests"
        ),
    ]
)
