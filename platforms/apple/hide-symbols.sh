#!/usr/bin/env bash
# Post-processes liboffline_auth.a so that it exports only the UniFFI C ABI
# (uniffi_offline_auth_* and ffi_offline_auth_*): every other global symbol,
# above all the 284 sqlite3_* functions of the bundled SQLite (rusqlite's
# `bundled` feature), Rust's std and compiler_builtins, becomes local. An app
# that also links another SQLite (the system's, SQLCipher, GRDB, another Rust
# SDK) then links without duplicate symbols, and each library keeps using its
# own SQLite.
#
#   platforms/apple/hide-symbols.sh IN.a OUT.a [ARCH]
#
# How: the whole archive is partially linked into one relocatable object
# (internal references are resolved there, so hiding them afterwards is safe),
# then every defined global outside the UniFFI ABI is localized, and the
# object is archived again.
#   Linux (GNU binutils): ld -r --whole-archive, then
#                         objcopy --keep-global-symbols=<the UniFFI symbols>
#   macOS (Xcode's ld):   ld -r -arch ARCH -force_load IN.a -exported_symbols_list
#                         (one architecture per call: run it on each target's
#                         archive before lipo; ARCH as `lipo -archs` prints it,
#                         e.g. arm64, x86_64)
# Used by scripts/check-sqlite-symbols.sh (Linux, in CI) and
# platforms/apple/build-xcframework.sh (macOS). The macOS branch cannot run on
# this repository's Linux CI; the macOS workflow (.github/workflows/apple.yml)
# runs it.
set -euo pipefail

log() { printf '[hide-symbols] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $# -ge 2 ]] || die "usage: hide-symbols.sh IN.a OUT.a [ARCH]"
in="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
out="$2"
arch="${3:-}"
[[ -f "$in" ]] || die "$in not found"

# The exported C ABI: UniFFI's scaffolding functions of this crate.
ABI_REGEX='^_?(uniffi_offline_auth_|ffi_offline_auth_)'

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

nm_defined() { nm -g --defined-only "$@"; }

case "$(uname -s)" in
Linux)
    # The BFD format is named explicitly: otherwise binutils offers each object
    # to its LTO plugins, and an LLVM plugin older than rustc's LLVM aborts on
    # the bitcode rustc embeds (.llvmbc), which is dropped here as well.
    fmt="$(ld --print-output-format)"
    nm_defined() { nm --target="$fmt" -g --defined-only "$@"; }
    ld -r --whole-archive "$in" -o "$work/combined.o"
    nm_defined "$work/combined.o" | awk '{ print $NF }' | grep -E "$ABI_REGEX" | sort -u > "$work/keep.txt"
    [[ -s "$work/keep.txt" ]] || die "no UniFFI symbols in $in"
    objcopy -I "$fmt" -O "$fmt" --remove-section=.llvmbc --remove-section=.llvmcmd \
        --keep-global-symbols="$work/keep.txt" "$work/combined.o" "$work/hidden.o"
    ;;
Darwin)
    [[ -n "$arch" ]] || die "on macOS give the architecture (arm64 or x86_64)"
    printf '%s\n' '_uniffi_offline_auth_*' '_ffi_offline_auth_*' > "$work/keep.txt"
    xcrun ld -r -arch "$arch" -exported_symbols_list "$work/keep.txt" -force_load "$in" -o "$work/hidden.o"
    ;;
*)
    die "unsupported host $(uname -s)"
    ;;
esac

# Nothing but the ABI may stay global and defined.
leaked="$(nm_defined "$work/hidden.o" | awk 'NF >= 3 { print $NF }' | grep -Ev "$ABI_REGEX" || true)"
[[ -z "$leaked" ]] || die "symbols still exported: $(head -5 <<<"$leaked" | tr '\n' ' ')"
kept="$(nm_defined "$work/hidden.o" | awk 'NF >= 3' | wc -l)"

rm -f "$out"
ar rcs "$out" "$work/hidden.o"
log "wrote $out ($kept exported symbols, all UniFFI)"
