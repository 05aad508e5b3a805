#!/usr/bin/env bash
# Release script of the Swift package (run on macOS with Xcode and rustup; it
# cannot run on the Linux CI machine): generates the Swift bindings, builds
# OfflineAuthFFI.xcframework and assembles the package to publish.
#
#   platforms/apple/build-xcframework.sh [--zip [--url URL]]
#
# 1. tools/generate-bindings.sh swift platforms/apple: Sources/OfflineAuth/
#    (the generated Swift module) and Sources/OfflineAuthFFI/ (its C header),
#    generated from the host's dev build (library mode), never committed.
# 2. platforms/apple/OfflineAuthFFI.xcframework, which Package.swift uses as
#    the `OfflineAuthFFI` binary target on Apple platforms, with three slices:
#      ios-arm64                    iPhone/iPad devices      (aarch64-apple-ios)
#      ios-arm64_x86_64-simulator   simulator on Apple silicon and Intel Macs
#                                   (aarch64-apple-ios-sim + x86_64-apple-ios, lipo'd)
#      macos-arm64_x86_64           macOS, for `swift test` on a Mac
#                                   (aarch64-apple-darwin + x86_64-apple-darwin, lipo'd)
#    Each slice is the static library liboffline_auth.a (crate-type staticlib)
#    plus Headers/OfflineAuthFFI/{OfflineAuthFFI.h,module.modulemap}; the
#    modulemap sits in a subdirectory named after the module so that it cannot
#    collide with another XCFramework's module.modulemap in the same build.
# 3. platforms/apple/dist/offline-auth-swift/: the package as published (its
#    own Package.swift, Apple platforms only, the generated Sources/OfflineAuth,
#    Sources/OfflineAuthApple, and the XCFramework, or with --url the URL and
#    checksum of the zip): the content of the release repository or tag that
#    apps add with SwiftPM.
#
# --zip also writes OfflineAuthFFI.xcframework.zip and prints its SwiftPM
# checksum; --url URL (with --zip) makes the published Package.swift fetch the
# zip from URL instead of carrying the XCFramework.
#
# Environment:
#   IPHONEOS_DEPLOYMENT_TARGET   default 15.0 (matches Package.swift)
#   MACOSX_DEPLOYMENT_TARGET     default 12.0 (matches Package.swift)
#   CARGO_PROFILE                default release
set -euo pipefail

SWIFT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SWIFT_DIR/../.." && pwd)"
CRATE=offline-auth
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
PROFILE="${CARGO_PROFILE:-release}"
OUT="$SWIFT_DIR/OfflineAuthFFI.xcframework"
HEADER="$SWIFT_DIR/Sources/OfflineAuthFFI/OfflineAuthFFI.h"
LIBNAME=liboffline_auth.a

export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-15.0}"
export MACOSX_DEPLOYMENT_TARGET="${MACOSX_DEPLOYMENT_TARGET:-12.0}"

log() { printf '[xcframework] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

zip=0
url=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --zip) zip=1 ;;
        --url) url="${2:?--url needs the address of the zip}"; shift ;;
        *) die "unknown argument: $1 (use --zip [--url URL])" ;;
    esac
    shift
done
[[ -z "$url" || $zip -eq 1 ]] || die "--url needs --zip"

[[ "$(uname -s)" == Darwin ]] || die "needs macOS with Xcode (xcodebuild, lipo); on Linux use the SwiftPM package with liboffline_auth.so"
command -v xcodebuild >/dev/null || die "xcodebuild not found: install Xcode and run xcode-select"
command -v cargo >/dev/null || die "cargo not found"

log "generating the Swift bindings (tools/generate-bindings.sh)"
bash "$REPO_ROOT/tools/generate-bindings.sh" swift "$SWIFT_DIR" --crate "$CRATE" --no-lib
[[ -f "$HEADER" ]] || die "$HEADER missing after generation"

# cargo's output directory name for a profile.
case "$PROFILE" in
    dev) profile_dir=debug ;;
    *) profile_dir="$PROFILE" ;;
esac

TARGETS=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)

if command -v rustup >/dev/null; then
    rustup target add "${TARGETS[@]}"
fi

cd "$REPO_ROOT"
for t in "${TARGETS[@]}"; do
    log "cargo build --target $t ($PROFILE)"
    cargo build --locked --lib -p "$CRATE" --profile "$PROFILE" --target "$t" --target-dir "$TARGET_DIR"
    [[ -f "$TARGET_DIR/$t/$profile_dir/$LIBNAME" ]] || die "missing $TARGET_DIR/$t/$profile_dir/$LIBNAME"
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Headers, laid out as Headers/OfflineAuthFFI/ inside each slice.
headers="$work/headers"
mkdir -p "$headers/OfflineAuthFFI"
cp "$HEADER" "$headers/OfflineAuthFFI/OfflineAuthFFI.h"
cat > "$headers/OfflineAuthFFI/module.modulemap" <<'EOF'
module OfflineAuthFFI {
    header "OfflineAuthFFI.h"
    export *
}
EOF

lib() { printf '%s/%s/%s/%s' "$TARGET_DIR" "$1" "$profile_dir" "$LIBNAME"; }

mkdir -p "$work/ios" "$work/ios-sim" "$work/macos"
cp "$(lib aarch64-apple-ios)" "$work/ios/$LIBNAME"
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$work/ios-sim/$LIBNAME"
lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" -output "$work/macos/$LIBNAME"

# Debug info is not needed in the shipped archive (the bindings are already
# generated); strip it from the copies only.
for d in ios ios-sim macos; do
    strip -S -x "$work/$d/$LIBNAME" 2>/dev/null || log "warning: could not strip $d (kept as is)"
done

rm -rf "$OUT"
xcodebuild -create-xcframework \
    -library "$work/ios/$LIBNAME" -headers "$headers" \
    -library "$work/ios-sim/$LIBNAME" -headers "$headers" \
    -library "$work/macos/$LIBNAME" -headers "$headers" \
    -output "$OUT"
log "wrote $OUT"

checksum=""
if [[ $zip == 1 ]]; then
    rm -f "$OUT.zip"
    (cd "$SWIFT_DIR" && ditto -c -k --sequesterRsrc --keepParent "$(basename "$OUT")" "$(basename "$OUT").zip")
    log "wrote $OUT.zip"
    checksum="$(cd "$SWIFT_DIR" && swift package compute-checksum "$(basename "$OUT").zip")"
    echo "$checksum"
fi

# The package as published: Apple platforms only, generated sources included.
dist="$SWIFT_DIR/dist/offline-auth-swift"
rm -rf "$dist"
mkdir -p "$dist/Sources"
cp -R "$SWIFT_DIR/Sources/OfflineAuth" "$SWIFT_DIR/Sources/OfflineAuthApple" "$dist/Sources/"
if [[ -n "$url" ]]; then
    ffi_target=".binaryTarget(name: \"OfflineAuthFFI\", url: \"$url\", checksum: \"$checksum\")"
else
    cp -R "$OUT" "$dist/"
    ffi_target='.binaryTarget(name: "OfflineAuthFFI", path: "OfflineAuthFFI.xcframework")'
fi
cat > "$dist/Package.swift" <<EOF
// swift-tools-version:5.9
// offline-auth for iOS and macOS, assembled by platforms/apple/build-xcframework.sh.
import PackageDescription

let package = Package(
    name: "OfflineAuth",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "OfflineAuth", targets: ["OfflineAuth"]),
        .library(name: "OfflineAuthApple", targets: ["OfflineAuthApple"]),
    ],
    targets: [
        $ffi_target,
        .target(name: "OfflineAuth", dependencies: ["OfflineAuthFFI"], path: "Sources/OfflineAuth"),
        .target(name: "OfflineAuthApple", dependencies: ["OfflineAuth"], path: "Sources/OfflineAuthApple"),
    ]
)
EOF
log "assembled the release package in $dist"
