#!/usr/bin/env bash
# Build the offline-auth library and generate its Kotlin, Swift and Python
# bindings with UniFFI in library mode.
#
# Usage:
#   bindings/generate.sh            build, regenerate the committed bindings, stage the native library
#   bindings/generate.sh --check    build, regenerate into a temp dir, fail (exit 1) if the committed
#                                   bindings differ from it (stale); changes nothing in the repo
#
# Outputs (all generated, committed; do not edit by hand):
#   bindings/kotlin/src/main/kotlin/dev/offlineauth/offline_auth.kt     (JVM)
#   bindings/android/src/main/kotlin/dev/offlineauth/offline_auth.kt    (Android: android = true)
#   bindings/swift/Sources/OfflineAuth/OfflineAuth.swift
#   bindings/swift/Sources/OfflineAuthFFI/{OfflineAuthFFI.h,module.modulemap}
#   bindings/python/offline_auth/{__init__.py,offline_auth.py}
# Staged (not committed): bindings/.native/liboffline_auth.so,
#   bindings/.native/stripped/liboffline_auth.so (for the jar) and
#   bindings/python/offline_auth/liboffline_auth.so (copies of the generating build)
#
# Library mode reads the ELF symbol table of the cdylib, so this generates from
# the unstripped debug build (target/debug/liboffline_auth.so). Strip only the
# copies you ship.
#
# Environment:
#   CARGO_BUILD_JOBS     passed through to cargo (set it to 1 on a shared 2-core machine)
#   CARGO_TARGET_DIR     default: <repo>/target
#   OFFLINE_AUTH_SKIP_BUILD=1   use the already-built library as is (no cargo build)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BINDINGS="$REPO_ROOT/bindings"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
LIB="$TARGET_DIR/debug/liboffline_auth.so"
BINDGEN="$TARGET_DIR/debug/uniffi-bindgen"

log() { printf '[generate] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

check=0
case "${1:-}" in
    "") ;;
    --check) check=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (use --check)" ;;
esac

# The generated directories, relative to bindings/. Each is entirely owned by
# this script: generation replaces it whole, --check compares it whole.
GENERATED_DIRS=(
    kotlin/src/main/kotlin/dev/offlineauth
    android/src/main/kotlin/dev/offlineauth
    swift/Sources/OfflineAuth
    swift/Sources/OfflineAuthFFI
    python/offline_auth
)

cd "$REPO_ROOT"

# Bindings from one UniFFI version only work with scaffolding from the same
# version: the CLI (own workspace, own Cargo.lock) must match the library.
lock_version() {
    awk '/^name = "uniffi"$/ { found = 1; next } found && /^version = / { gsub(/"/, "", $3); print $3; exit }' "$1"
}
lib_uniffi="$(lock_version Cargo.lock)"
cli_uniffi="$(lock_version uniffi-bindgen/Cargo.lock)"
if [[ -n "$lib_uniffi" && -n "$cli_uniffi" && "$lib_uniffi" != "$cli_uniffi" ]]; then
    die "uniffi $lib_uniffi in Cargo.lock but $cli_uniffi in uniffi-bindgen/Cargo.lock: pin uniffi = \"=$lib_uniffi\" in uniffi-bindgen/Cargo.toml"
fi

if [[ "${OFFLINE_AUTH_SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build (library, dev profile: unstripped, needed by library mode)"
    cargo build --lib --target-dir "$TARGET_DIR"
    log "cargo build (uniffi-bindgen)"
    cargo build --locked --manifest-path uniffi-bindgen/Cargo.toml --target-dir "$TARGET_DIR"
fi
[[ -f "$LIB" ]] || die "$LIB not found"
[[ -x "$BINDGEN" ]] || die "$BINDGEN not found"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Work from a private copy taken right after the build: generation and the
# staged libraries then come from one and the same build, even if another
# cargo run rewrites target/debug meanwhile.
cp "$LIB" "$work/liboffline_auth.so"
LIB="$work/liboffline_auth.so"
raw="$work/raw"
stage="$work/stage"

# uniffi-bindgen finds uniffi.toml through `cargo metadata` of the current
# directory, so it must run from the repo root.
for lang in kotlin swift python; do
    "$BINDGEN" generate --library "$LIB" --language "$lang" --out-dir "$raw/$lang" --no-format >/dev/null
done
# Kotlin for Android: same package, `android = true` (see bindings/android/uniffi-android.toml).
"$BINDGEN" generate --library "$LIB" --language kotlin --out-dir "$raw/android" --no-format \
    --config "$BINDINGS/android/uniffi-android.toml" >/dev/null

# --- Lay the raw output out as the projects expect. ---
mkdir -p "$stage/kotlin/src/main/kotlin/dev/offlineauth" \
         "$stage/android/src/main/kotlin/dev/offlineauth" \
         "$stage/swift/Sources/OfflineAuth" \
         "$stage/swift/Sources/OfflineAuthFFI" \
         "$stage/python/offline_auth"

# Kotlin: one file, in the package set in uniffi.toml.
kt="$raw/kotlin/dev/offlineauth/offline_auth.kt"
[[ -f "$kt" ]] || die "expected $kt (check package_name in uniffi.toml)"
cp "$kt" "$stage/kotlin/src/main/kotlin/dev/offlineauth/offline_auth.kt"
akt="$raw/android/dev/offlineauth/offline_auth.kt"
[[ -f "$akt" ]] || die "expected $akt"
grep -q '^import android.os.Build' "$akt" || die "Android generation did not apply android = true (check bindings/android/uniffi-android.toml)"
cp "$akt" "$stage/android/src/main/kotlin/dev/offlineauth/offline_auth.kt"

# Swift: the Swift source, and the FFI header in a SwiftPM system-library
# target. UniFFI's own modulemap is meant for Apple frameworks (it `use`s
# Darwin and links nothing); the Linux package must link liboffline_auth.so,
# so the modulemap here says so. build-xcframework.sh writes the XCFramework's
# own modulemap (no link line: SwiftPM links the static library itself).
[[ -f "$raw/swift/OfflineAuth.swift" ]] || die "expected OfflineAuth.swift (check module_name in uniffi.toml)"
cp "$raw/swift/OfflineAuth.swift" "$stage/swift/Sources/OfflineAuth/OfflineAuth.swift"
cp "$raw/swift/OfflineAuthFFI.h" "$stage/swift/Sources/OfflineAuthFFI/OfflineAuthFFI.h"
cat > "$stage/swift/Sources/OfflineAuthFFI/module.modulemap" <<'EOF'
// Generated by bindings/generate.sh. Linux/SwiftPM system-library module for
// the UniFFI FFI header; links liboffline_auth.so (search path and rpath are
// set in Package.swift). Apple platforms use the XCFramework instead.
module OfflineAuthFFI {
    header "OfflineAuthFFI.h"
    link "offline_auth"
    export *
}
EOF

# Python: a package whose __init__ re-exports the generated module; the
# generated module loads liboffline_auth.so from its own directory.
cp "$raw/python/offline_auth.py" "$stage/python/offline_auth/offline_auth.py"
cat > "$stage/python/offline_auth/__init__.py" <<'EOF'
# Generated by bindings/generate.sh: re-exports the UniFFI-generated module.
# liboffline_auth.so must sit in this directory (generate.sh copies it here).
from .offline_auth import *  # noqa: F401,F403
from .offline_auth import __all__  # noqa: F401
EOF

if [[ $check == 1 ]]; then
    stale=0
    for d in "${GENERATED_DIRS[@]}"; do
        if ! diff -r -q -x '*.so' -x '__pycache__' "$stage/$d" "$BINDINGS/$d" >/dev/null 2>&1; then
            log "STALE: bindings/$d differs from freshly generated bindings:"
            diff -r -u -x '*.so' -x '__pycache__' "$BINDINGS/$d" "$stage/$d" | head -n 40 >&2 || true
            stale=1
        fi
    done
    if [[ $stale == 1 ]]; then
        die "committed bindings are stale: run bindings/generate.sh and commit the result"
    fi
    log "committed bindings are up to date"
else
    for d in "${GENERATED_DIRS[@]}"; do
        # Replace the directory's generated files, keeping build leftovers
        # (.so, __pycache__) that are not ours to delete here.
        mkdir -p "$BINDINGS/$d"
        find "$BINDINGS/$d" -mindepth 1 -maxdepth 1 ! -name '*.so' ! -name '__pycache__' -exec rm -rf {} +
        cp -R "$stage/$d/." "$BINDINGS/$d/"
    done
    log "bindings written under bindings/{kotlin,android,swift,python}"
fi

# Stage the library the bindings were generated from, so that every language
# tests exactly that build even if target/debug is rebuilt meanwhile:
#   bindings/.native/liboffline_auth.so               Swift (Package.swift)
#   bindings/.native/stripped/liboffline_auth.so      Kotlin (pom.xml puts it in the jar)
#   bindings/python/offline_auth/liboffline_auth.so   Python (loaded from the package dir)
# Done in both modes: these are build products, never committed. cp to a
# temp name + mv so a reader never sees a half-written file.
stage_lib() {
    mkdir -p "$(dirname "$1")"
    cp "$LIB" "$1.tmp.$$"
    mv -f "$1.tmp.$$" "$1"
}
stage_lib "$BINDINGS/.native/liboffline_auth.so"
stage_lib "$BINDINGS/python/offline_auth/liboffline_auth.so"
# The copy the jar ships: debug info stripped (~37 MB -> a few MB); the
# unstripped one stays for generation and for the Swift/Python tests.
mkdir -p "$BINDINGS/.native/stripped"
strip --strip-debug -o "$BINDINGS/.native/stripped/liboffline_auth.so.tmp.$$" "$LIB"
mv -f "$BINDINGS/.native/stripped/liboffline_auth.so.tmp.$$" "$BINDINGS/.native/stripped/liboffline_auth.so"
log "staged the library (copy of $TARGET_DIR/debug/liboffline_auth.so) -> bindings/.native/{,stripped/} and bindings/python/offline_auth/"
