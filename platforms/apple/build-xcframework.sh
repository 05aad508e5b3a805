#!/usr/bin/env bash
# Build OfflineAuthFFI.xcframework for Apple platforms (run on macOS with Xcode
# and rustup; it cannot run on the Linux CI machine).
#
#   bindings/swift/build-xcframework.sh [--zip]
#
# Produces bindings/swift/OfflineAuthFFI.xcframework, which Package.swift uses
# as the `OfflineAuthFFI` binary target on Apple platforms, with three slices:
#   ios-arm64                    iPhone/iPad devices      (aarch64-apple-ios)
#   ios-arm64_x86_64-simulator   simulator on Apple silicon and Intel Macs
#                                (aarch64-apple-ios-sim + x86_64-apple-ios, lipo'd)
#   macos-arm64_x86_64           macOS, for `swift test` on a Mac
#                                (aarch64-apple-darwin + x86_64-apple-darwin, lipo'd)
# Each slice is the static library liboffline_auth.a (crate-type staticlib)
# plus Headers/OfflineAuthFFI/{OfflineAuthFFI.h,module.modulemap}. The header
# is the committed, generated one (bindings/generate.sh); the modulemap sits in
# a subdirectory named after the module so that it cannot collide with another
# XCFramework's module.modulemap in the same build.
#
# With --zip it also writes OfflineAuthFFI.xcframework.zip and prints the
# SwiftPM checksum, for a `.binaryTarget(name:url:checksum:)` in a release.
#
# Environment:
#   IPHONEOS_DEPLOYMENT_TARGET   default 15.0 (matches Package.swift)
#   MACOSX_DEPLOYMENT_TARGET     default 12.0 (matches Package.swift)
#   CARGO_PROFILE                default release
set -euo pipefail

SWIFT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SWIFT_DIR/../.." && pwd)"
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
case "${1:-}" in
    "") ;;
    --zip) zip=1 ;;
    *) die "unknown argument: $1 (use --zip)" ;;
esac

[[ "$(uname -s)" == Darwin ]] || die "needs macOS with Xcode (xcodebuild, lipo); on Linux use the SwiftPM package with liboffline_auth.so"
command -v xcodebuild >/dev/null || die "xcodebuild not found: install Xcode and run xcode-select"
command -v cargo >/dev/null || die "cargo not found"
[[ -f "$HEADER" ]] || die "$HEADER missing: run bindings/generate.sh (on Linux or macOS) first"

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
    cargo build --lib --profile "$PROFILE" --target "$t" --target-dir "$TARGET_DIR"
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

if [[ $zip == 1 ]]; then
    rm -f "$OUT.zip"
    (cd "$SWIFT_DIR" && ditto -c -k --sequesterRsrc --keepParent "$(basename "$OUT")" "$(basename "$OUT").zip")
    log "wrote $OUT.zip"
    (cd "$SWIFT_DIR" && swift package compute-checksum "$(basename "$OUT").zip")
fi
