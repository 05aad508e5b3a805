// swift-tools-version:5.9
//
// The Swift demo: the field-worker story in Swift against the reference sync
// server (run.sh starts it), on Linux (in the Debian chroot of
// scripts/tooling/swift-chroot.sh) and macOS. It depends on the SDK the way an
// app does, as a SwiftPM package (here a path dependency on platforms/apple,
// whose generated sources run.sh writes first). The iOS app sources in
// ../ios-app are not part of this package (they need Xcode and a device:
// see ../README.md).
import PackageDescription

let package = Package(
    name: "SwiftDemo",
    platforms: [.macOS(.v12)],
    dependencies: [
        .package(path: "../../platforms/apple"),
    ],
    targets: [
        .executableTarget(
            name: "SwiftDemo",
            dependencies: [.product(name: "OfflineAuth", package: "apple")],
            path: "Sources/SwiftDemo"
        ),
    ]
)
