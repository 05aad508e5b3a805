// swift-tools-version:5.9
//
// swift-demo: the field-worker story in Swift against the reference sync
// server (run.sh starts it), on Linux (in the Debian chroot of
// bindings/swift-chroot.sh) and macOS. The iOS app sources in ios-app/ are not
// part of this package (they need Xcode and a device: see README.md).
import PackageDescription

let package = Package(
    name: "SwiftDemo",
    platforms: [.macOS(.v12)],
    dependencies: [
        .package(path: "../bindings/swift"),
    ],
    targets: [
        .executableTarget(
            name: "SwiftDemo",
            dependencies: [.product(name: "OfflineAuth", package: "swift")],
            path: "Sources/SwiftDemo"
        ),
    ]
)
