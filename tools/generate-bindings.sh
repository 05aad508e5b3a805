#!/usr/bin/env bash
# Build one UniFFI library of this repository and write its bindings for one
# language. The platform builds call this at build time (Maven's
# generate-sources phase, Gradle, the test runner before `swift test` and
# pytest); nothing it writes is committed.
#
# Usage:
#   tools/generate-bindings.sh LANG OUT_DIR [options]
#
#   LANG     kotlin | swift | python
#   OUT_DIR  where the bindings go (created if missing):
#     kotlin  a Kotlin source root: OUT_DIR/<package path>/<module>.kt
#     swift   a SwiftPM package root: OUT_DIR/Sources/<Module>/<Module>.swift and
#             OUT_DIR/Sources/<FFIModule>/{<FFIModule>.h,module.modulemap}
#             (the modulemap links the shared library, for Linux; Apple
#             platforms use the XCFramework of platforms/apple/build-xcframework.sh)
#     python  the package directory: OUT_DIR/<module>.py and an __init__.py
#             re-exporting it
#
# Options:
#   --crate NAME      cargo package whose cdylib to generate from (default: offline-auth,
#                     the device SDK; offline-auth-backend needs --features ffi); the
#                     library is lib<NAME with - as _>.so
#   (every option also takes the form --option=VALUE)
#   --features LIST   cargo features for that library build (offline-auth-backend: ffi)
#   --config FILE     extra uniffi-bindgen config, merged over the crate's own
#                     uniffi.toml (e.g. platforms/android/uniffi-android.toml)
#   --lib-dir DIR     where to stage a copy of the library the bindings were generated
#                     from (default: OUT_DIR for python, where the module loads it;
#                     OUT_DIR/.native for swift and kotlin)
#   --strip           strip debug info from that copy (for a jar or a wheel)
#   --no-lib          stage no library (only the bindings)
#
# Environment:
#   CARGO_BUILD_JOBS            passed through to cargo (1 on a shared 2-core machine)
#   CARGO_TARGET_DIR            default: <repo>/target
#   OFFLINE_AUTH_SKIP_BUILD=1   use the already-built library and bindgen as they are
#   OFFLINE_AUTH_PREBUILT_LIBS=1
#                               use the library a workspace build of the caller has just
#                               written to the target directory (with at least the
#                               features asked for); still build the bindgen.
#                               scripts/test.sh sets it after one `cargo build
#                               --workspace --all-targets` that the Rust tests share,
#                               instead of a build per crate with its own features
#
# Library mode reads the metadata UniFFI puts in the cdylib's symbol table, so
# the bindings come from the unstripped dev-profile build; only staged copies
# may be stripped. uniffi-bindgen runs from the cargo workspace root, where
# `cargo metadata` finds the crate and its uniffi.toml. Files are replaced
# only when their content changed, so incremental builds (Kotlin, SwiftPM)
# stay incremental.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
# UniFFI's CLI: the `uniffi-bindgen` binary of crates/offline-auth-proto
# (feature uniffi-cli), from the workspace's lock file, so the same UniFFI as
# the libraries. It is the binary maturin runs for the Python wheels, built
# from the same source. Built in the workspace's `bindgen` profile (unoptimised:
# a build tool). Library mode reads either library with it.
BINDGEN="$TARGET_DIR/bindgen/uniffi-bindgen"
# Gives every foreign exception the Rust error's message (see its docstring).
ERROR_MESSAGES="$REPO_ROOT/tools/error-messages.py"
# Kotlin: JNA gets the call status by address, not as a Structure (issue 16).
JNA_CALL_STATUS="$REPO_ROOT/tools/jna-call-status.py"
# Kotlin: RustBuffer.ByValue in per-thread native slots, fields set directly (issue 28).
JNA_RUST_BUFFER="$REPO_ROOT/tools/jna-rust-buffer.py"

log() { printf '[generate-bindings] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

lang="" out="" crate="offline-auth" features="" config="" lib_dir="" strip=0 stage_lib=1
positional=()
while [[ $# -gt 0 ]]; do
    # --opt VALUE and --opt=VALUE alike (Maven passes one token; an empty
    # --features= means no features).
    case "$1" in
        --*=*) opt="${1%%=*}"; val="${1#*=}"; shift; set -- "$opt" "$val" "$@" ;;
    esac
    case "$1" in
        --crate) crate="${2:?--crate needs a package name}"; shift ;;
        --features) features="${2-}"; shift ;;
        --config) config="${2:?--config needs a file}"; shift ;;
        --lib-dir) lib_dir="${2:?--lib-dir needs a directory}"; shift ;;
        --strip) strip=1 ;;
        --no-lib) stage_lib=0 ;;
        -h|--help) usage; exit 0 ;;
        -*) die "unknown option: $1" ;;
        *) positional+=("$1") ;;
    esac
    shift
done
[[ ${#positional[@]} -eq 2 ]] || { usage >&2; exit 2; }
lang="${positional[0]}"
out="${positional[1]}"
case "$lang" in kotlin|swift|python) ;; *) die "unknown language: $lang (kotlin, swift or python)" ;; esac
mkdir -p "$out"
out="$(cd "$out" && pwd)"
if [[ -n "$config" ]]; then
    [[ -f "$config" ]] || die "config file not found: $config"
    config="$(cd "$(dirname "$config")" && pwd)/$(basename "$config")"
fi
if [[ -z "$lib_dir" ]]; then
    case "$lang" in python) lib_dir="$out" ;; *) lib_dir="$out/.native" ;; esac
fi

libname="${crate//-/_}"
case "$(uname -s)" in
    Darwin) libfile="lib$libname.dylib" ;;
    *) libfile="lib$libname.so" ;;
esac
LIB="$TARGET_DIR/debug/$libfile"

cd "$REPO_ROOT"

if [[ "${OFFLINE_AUTH_SKIP_BUILD:-0}" != 1 ]]; then
    if [[ "${OFFLINE_AUTH_PREBUILT_LIBS:-0}" == 1 ]]; then
        log "using $LIB of the caller's workspace build (OFFLINE_AUTH_PREBUILT_LIBS=1)"
    else
        log "cargo build -p $crate${features:+ --features $features} (library, dev profile: unstripped, as library mode needs)"
        cargo build --locked --lib -p "$crate" ${features:+--features "$features"} --target-dir "$TARGET_DIR"
    fi
    log "cargo build --profile bindgen --bin uniffi-bindgen --features uniffi-cli (crates/offline-auth-proto)"
    cargo build --locked --profile bindgen --bin uniffi-bindgen --features uniffi-cli --target-dir "$TARGET_DIR"
fi
[[ -f "$LIB" ]] || die "$LIB not found (is $crate a cdylib crate of this workspace?)"
[[ -x "$BINDGEN" ]] || die "$BINDGEN not found"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A private copy taken right after the build: the bindings and the staged
# library come from one and the same build even if another cargo run
# rewrites target/debug meanwhile.
cp "$LIB" "$work/$libfile"
LIB="$work/$libfile"
raw="$work/raw"
stage="$work/stage"
mkdir -p "$stage"

"$BINDGEN" generate --library "$LIB" --crate "$libname" --language "$lang" --out-dir "$raw" --no-format \
    ${config:+--config "$config"} >/dev/null
[[ -n "$(find "$raw" -type f 2>/dev/null | head -n 1)" ]] ||
    die "no bindings in $libfile: was it built without its UniFFI feature? (offline-auth-backend needs --features ffi)"

# install_file SRC DEST: copy unless DEST already has the same bytes (keeps its mtime).
install_file() {
    if [[ -f "$2" ]] && cmp -s "$1" "$2"; then return 0; fi
    mkdir -p "$(dirname "$2")"
    cp "$1" "$2.tmp.$$"
    mv -f "$2.tmp.$$" "$2"
}
# sync_dir SRC DEST: DEST ends up with exactly SRC's files (those unchanged keep their mtime).
sync_dir() {
    local f rel
    mkdir -p "$2"
    (cd "$1" && find . -type f) | while read -r rel; do install_file "$1/$rel" "$2/$rel"; done
    (cd "$2" && find . -type f) | while read -r rel; do [[ -f "$1/$rel" ]] || rm -f "$2/$rel"; done
    find "$2" -mindepth 1 -type d -empty -delete
}

case "$lang" in
kotlin)
    # One .kt per crate, under the package directories of `package_name`.
    mapfile -t kts < <(cd "$raw" && find . -name '*.kt' | sort)
    [[ ${#kts[@]} -ge 1 ]] || die "no Kotlin file generated"
    for f in "${kts[@]}"; do python3 "$ERROR_MESSAGES" kotlin "$raw/$f"; done
    for f in "${kts[@]}"; do python3 "$JNA_CALL_STATUS" "$raw/$f"; done
    for f in "${kts[@]}"; do python3 "$JNA_RUST_BUFFER" "$raw/$f"; done
    for f in "${kts[@]}"; do install_file "$raw/$f" "$out/$f"; done
    # Drop .kt files a previous generation left (a renamed package), nothing else.
    (cd "$out" && find . -name '*.kt' -not -path './.native/*') | while read -r f; do
        [[ -f "$raw/$f" ]] || rm -f "$out/$f"
    done
    if [[ -n "$config" ]] && grep -Eq '^[[:space:]]*android[[:space:]]*=[[:space:]]*true' "$config"; then
        for f in "${kts[@]}"; do
            grep -q '^import android.os.Build' "$raw/$f" || die "$f: android = true was not applied (check the [crates.$libname.bindings.kotlin] table of $config)"
        done
    fi
    log "Kotlin: ${kts[*]#./} -> $out"
    ;;
swift)
    mapfile -t swifts < <(cd "$raw" && find . -maxdepth 1 -name '*.swift' | sort)
    [[ ${#swifts[@]} -eq 1 ]] || die "expected one .swift file, got ${#swifts[@]}"
    module="$(basename "${swifts[0]}" .swift)"
    python3 "$ERROR_MESSAGES" swift "$raw/$module.swift"
    modmap="$(cd "$raw" && find . -maxdepth 1 -name '*.modulemap' | head -n 1)"
    [[ -n "$modmap" ]] || die "no modulemap generated (generate_module_map = true in uniffi.toml)"
    ffi_file="$(basename "$modmap" .modulemap)"
    ffi_module="$(sed -n 's/^[[:space:]]*\(framework \)\{0,1\}module[[:space:]]\{1,\}\([A-Za-z0-9_]\{1,\}\).*/\2/p' "$raw/$modmap" | head -n 1)"
    [[ -n "$ffi_module" ]] || die "no module name in $modmap"
    [[ -f "$raw/$ffi_file.h" ]] || die "expected $ffi_file.h"
    mkdir -p "$stage/swift" "$stage/ffi"
    cp "$raw/$module.swift" "$stage/swift/$module.swift"
    cp "$raw/$ffi_file.h" "$stage/ffi/$ffi_file.h"
    # UniFFI's own modulemap is meant for Apple frameworks (it links
    # nothing); the Linux SwiftPM system-library target must link the
    # shared library, so this one says so. build-xcframework.sh writes the
    # XCFramework's own modulemap (no link line: SwiftPM links the static
    # library itself).
    cat > "$stage/ffi/module.modulemap" <<EOF
// Generated by tools/generate-bindings.sh. Linux/SwiftPM system-library module
// for the UniFFI FFI header; links $libfile (search path and rpath are set in
// Package.swift). Apple platforms use the XCFramework instead.
module $ffi_module {
    header "$ffi_file.h"
    link "$libname"
    export *
}
EOF
    sync_dir "$stage/swift" "$out/Sources/$module"
    sync_dir "$stage/ffi" "$out/Sources/$ffi_module"
    log "Swift: Sources/$module (module $module) over Sources/$ffi_module -> $out"
    ;;
python)
    mapfile -t pys < <(cd "$raw" && find . -maxdepth 1 -name '*.py' | sort)
    [[ ${#pys[@]} -eq 1 ]] || die "expected one .py file, got ${#pys[@]}"
    module="$(basename "${pys[0]}" .py)"
    install_file "$raw/$module.py" "$out/$module.py"
    cat > "$stage/__init__.py" <<EOF
# Generated by tools/generate-bindings.sh: re-exports the UniFFI-generated
# module; $libfile sits in this directory, where the module loads it from.
from .$module import *  # noqa: F401,F403
from .$module import __all__  # noqa: F401
EOF
    install_file "$stage/__init__.py" "$out/__init__.py"
    log "Python: $module.py, __init__.py -> $out"
    ;;
esac

if [[ $stage_lib -eq 1 ]]; then
    staged="$LIB"
    if [[ $strip -eq 1 ]]; then
        staged="$work/stripped-$libfile"
        case "$(uname -s)" in
            Darwin) cp "$LIB" "$staged" && strip -S -x "$staged" ;;
            *) strip --strip-debug -o "$staged" "$LIB" ;;
        esac
    fi
    install_file "$staged" "$lib_dir/$libfile"
    log "staged $libfile$([[ $strip -eq 1 ]] && echo ' (debug info stripped)') -> $lib_dir"
fi
