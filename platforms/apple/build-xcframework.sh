#!/usr/bin/env bash
# Release script of the Swift package (run on macOS with Xcode and rustup; it
# cannot run on the Linux CI machine): generates the Swift bindings, builds
# OfflineAuthFFI.xcframework and assembles the package to publish.
#
#   platforms/apple/build-xcframework.sh [--dynamic] [--zip [--url URL]]
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
#    Static (default): each slice is the static library liboffline_auth.a
#    (crate-type staticlib) plus Headers/OfflineAuthFFI/{OfflineAuthFFI.h,
#    module.modulemap}; the modulemap sits in a subdirectory named after the
#    module so that it cannot collide with another XCFramework's
#    module.modulemap in the same build. Every per-target archive goes
#    through hide-symbols.sh before lipo: only the UniFFI C ABI stays
#    exported, the bundled SQLite (sqlite3_*) and Rust's std become local, so
#    an app may link another SQLite too (scripts/check-sqlite-symbols.sh).
#    --dynamic: each slice is OfflineAuthFFI.framework, the cdylib
#    (liboffline_auth.dylib, which exports only the UniFFI ABI) renamed, with
#    install name @rpath/OfflineAuthFFI.framework/OfflineAuthFFI, its headers
#    and a framework modulemap (macOS: the versioned bundle layout).
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
# The one version (Cargo.toml [workspace.package]), for the frameworks' Info.plist.
VERSION="$(awk '/^\[/ { t = ($0 == "[workspace.package]"); next } t && $1 == "version" { gsub(/"/, "", $3); print $3; exit }' "$REPO_ROOT/Cargo.toml")"

export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-15.0}"
export MACOSX_DEPLOYMENT_TARGET="${MACOSX_DEPLOYMENT_TARGET:-12.0}"

log() { printf '[xcframework] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

zip=0
url=""
dynamic=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --zip) zip=1 ;;
        --url) url="${2:?--url needs the address of the zip}"; shift ;;
        --dynamic) dynamic=1 ;;
        *) die "unknown argument: $1 (use [--dynamic] [--zip [--url URL]])" ;;
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

lib() { printf '%s/%s/%s/%s' "$TARGET_DIR" "$1" "$profile_dir" "$2"; }
arch_of() { case "$1" in aarch64-*) echo arm64 ;; x86_64-*) echo x86_64 ;; esac; }

# One slice's binary from one or more targets (lipo'd when more than one).
slice_static() { # DIR TARGET...
    local dir="$1"; shift
    local parts=() t
    for t in "$@"; do
        bash "$SWIFT_DIR/hide-symbols.sh" "$(lib "$t" "$LIBNAME")" "$work/$t-hidden.a" "$(arch_of "$t")"
        parts+=("$work/$t-hidden.a")
    done
    mkdir -p "$dir"
    lipo -create "${parts[@]}" -output "$dir/$LIBNAME"
    # Debug info is not needed in the shipped archive (the bindings are already generated).
    strip -S -x "$dir/$LIBNAME" 2>/dev/null || log "warning: could not strip $dir (kept as is)"
}

slice_dynamic() { # DIR PLATFORM(ios|macos) TARGET...
    local dir="$1" platform="$2"; shift 2
    local parts=() t fw="$dir/OfflineAuthFFI.framework"
    for t in "$@"; do parts+=("$(lib "$t" liboffline_auth.dylib)"); done
    local root="$fw"
    if [[ "$platform" == macos ]]; then root="$fw/Versions/A"; fi
    mkdir -p "$root/Headers" "$root/Modules"
    lipo -create "${parts[@]}" -output "$root/OfflineAuthFFI"
    install_name_tool -id "@rpath/OfflineAuthFFI.framework/OfflineAuthFFI" "$root/OfflineAuthFFI"
    strip -S -x "$root/OfflineAuthFFI" 2>/dev/null || true
    cp "$HEADER" "$root/Headers/OfflineAuthFFI.h"
    printf 'framework module OfflineAuthFFI {\n    umbrella header "OfflineAuthFFI.h"\n    export *\n}\n' \
        > "$root/Modules/module.modulemap"
    local plist_dir="$root"
    if [[ "$platform" == macos ]]; then mkdir -p "$root/Resources"; plist_dir="$root/Resources"; fi
    cat > "$plist_dir/Info.plist" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
    <key>CFBundleExecutable</key><string>OfflineAuthFFI</string>
    <key>CFBundleIdentifier</key><string>dev.offlineauth.OfflineAuthFFI</string>
    <key>CFBundleName</key><string>OfflineAuthFFI</string>
    <key>CFBundlePackageType</key><string>FMWK</string>
    <key>CFBundleShortVersionString</key><string>$VERSION</string>
    <key>CFBundleVersion</key><string>$VERSION</string>
    <key>MinimumOSVersion</key><string>$IPHONEOS_DEPLOYMENT_TARGET</string>
</dict>
</plist>
PLIST
    if [[ "$platform" == macos ]]; then
        ln -sfn A "$fw/Versions/Current"
        local link
        for link in OfflineAuthFFI Headers Modules Resources; do ln -sfn "Versions/Current/$link" "$fw/$link"; done
    fi
}

rm -rf "$OUT"
if [[ $dynamic == 1 ]]; then
    slice_dynamic "$work/ios" ios aarch64-apple-ios
    slice_dynamic "$work/ios-sim" ios aarch64-apple-ios-sim x86_64-apple-ios
    slice_dynamic "$work/macos" macos aarch64-apple-darwin x86_64-apple-darwin
    xcodebuild -create-xcframework \
        -framework "$work/ios/OfflineAuthFFI.framework" \
        -framework "$work/ios-sim/OfflineAuthFFI.framework" \
        -framework "$work/macos/OfflineAuthFFI.framework" \
        -output "$OUT"
else
    slice_static "$work/ios" aarch64-apple-ios
    slice_static "$work/ios-sim" aarch64-apple-ios-sim x86_64-apple-ios
    slice_static "$work/macos" aarch64-apple-darwin x86_64-apple-darwin
    xcodebuild -create-xcframework \
        -library "$work/ios/$LIBNAME" -headers "$headers" \
        -library "$work/ios-sim/$LIBNAME" -headers "$headers" \
        -library "$work/macos/$LIBNAME" -headers "$headers" \
        -output "$OUT"
fi
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
