// swift-tools-version:5.9
// Swift→Rust call overhead through the generated bindings (platforms/apple),
// the same calls as benches/calls.rs and ffi_python.py. Run by
// ../ffi_compare.sh (in the Swift chroot on Linux, `swift run -c release`),
// which stages the release-profile library in OFFLINE_AUTH_LIB_DIR.
import PackageDescription

let package = Package(
    name: "FfiBench",
    dependencies: [.package(path: "../../../../platforms/apple")],
    targets: [
        .executableTarget(
            name: "FfiBench",
            dependencies: [.product(name: "OfflineAuth", package: "apple")],
            path: "Sources/FfiBench"
        ),
    ]
)
