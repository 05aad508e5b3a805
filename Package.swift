// swift-tools-version:5.9
//
// offline-auth as a Swift package, added by URL:
//
//   .package(url: "https://github.com/offline-auth/offline-auth", exact: "0.2.0")
//   products: OfflineAuth (the SDK), OfflineAuthApple (AppleKeystore, AppleClock)
//
// Release mode (the default): the C library comes as the zipped XCFramework
// at `releaseURL`, verified by SwiftPM against `releaseChecksum`. Both
// constants are written by platforms/apple/release.sh from the workspace
// version in Cargo.toml; the Swift sources UniFFI generates
// (platforms/apple/Sources/OfflineAuth) are committed only on the release
// tag that script prepares, never on a branch.
//
// Local mode (development): OFFLINE_AUTH_LOCAL=1 uses the XCFramework built
// by platforms/apple/build-xcframework.sh in platforms/apple/ (or the one at
// $OFFLINE_AUTH_XCFRAMEWORK, relative to this folder), after generation:
//
//   platforms/apple/build-xcframework.sh && OFFLINE_AUTH_LOCAL=1 swift build
//
// Linux has no XCFramework: there the FFI module is the system-library
// module of platforms/apple (liboffline_auth.so from generate.sh, in
// $OFFLINE_AUTH_LIB_DIR, default platforms/apple/.native). The package's
// tests live in platforms/apple/Package.swift.
import Foundation
import PackageDescription

let releaseVersion = "0.2.0"
let releaseURL = "https://github.com/offline-auth/offline-auth/releases/download/v0.2.0/OfflineAuthFFI.xcframework.zip"
let releaseChecksum = "0000000000000000000000000000000000000000000000000000000000000000"

let apple = "platforms/apple"
let useLocalBinary = Context.environment["OFFLINE_AUTH_LOCAL"] == "1"

#if os(Linux)
let nativeLibDir = Context.environment["OFFLINE_AUTH_LIB_DIR"]
    ?? (Context.packageDirectory + "/" + apple + "/.native")
let ffiTarget: Target = .systemLibrary(name: "OfflineAuthFFI", path: apple + "/Sources/OfflineAuthFFI")
let ffiLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(["-L", nativeLibDir, "-Xlinker", "-rpath", "-Xlinker", nativeLibDir]),
]
#else
let ffiTarget: Target = useLocalBinary
    ? .binaryTarget(
        name: "OfflineAuthFFI",
        path: Context.environment["OFFLINE_AUTH_XCFRAMEWORK"] ?? (apple + "/OfflineAuthFFI.xcframework")
    )
    : .binaryTarget(name: "OfflineAuthFFI", url: releaseURL, checksum: releaseChecksum)
let ffiLinkerSettings: [LinkerSetting] = []
#endif

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
        .library(name: "OfflineAuthApple", targets: ["OfflineAuthApple"]),
    ],
    targets: [
        ffiTarget,
        .target(
            name: "OfflineAuth",
            dependencies: ["OfflineAuthFFI"],
            path: apple + "/Sources/OfflineAuth",
            linkerSettings: ffiLinkerSettings
        ),
        .target(
            name: "OfflineAuthApple",
            dependencies: ["OfflineAuth"],
            path: apple + "/Sources/OfflineAuthApple",
            exclude: appleAdapterExcluded,
            resources: appleAdapterResources
        ),
    ]
)
