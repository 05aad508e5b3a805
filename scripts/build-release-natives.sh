#!/usr/bin/env bash
# The release natives of every package, built once: both UniFFI libraries
# (crate offline-auth, and offline-auth-backend with its ffi feature) in the
# release profile for Linux x86-64 and Linux aarch64, staged under JNA's
# resource prefixes for the jars:
#
#   $OUT/wheels/                                  the four manylinux_2_17 wheels
#   $OUT/jna/offline-auth/linux-x86-64/liboffline_auth.so
#   $OUT/jna/offline-auth/linux-aarch64/liboffline_auth.so
#   $OUT/jna/offline-auth-backend/linux-x86-64/liboffline_auth_backend.so
#   $OUT/jna/offline-auth-backend/linux-aarch64/liboffline_auth_backend.so
#
#   scripts/build-release-natives.sh [--from DIR]...
#
# The one build is platforms/python/build-wheel.sh --no-test for both targets
# (maturin --release --zig: linked by zig against glibc 2.17, debug info
# stripped, auditwheel-checked); the libraries are taken out of those wheels,
# so the jars and the wheels carry the same files, and the python-wheel
# section's maturin run finds cargo's work done.
#
# --from DIR: natives built on other hosts (the hosted release workflow:
# darwin-aarch64/, darwin-x86-64/, win32-x86-64/), in the same
# <module>/<jna-prefix>/<file> layout, copied into $OUT/jna after a check of
# their names and formats.
#
# Checked for every Linux library staged, failing the script otherwise: its ELF
# machine is its prefix's CPU; it has no debug info; it needs no GLIBC_ symbol
# version above 2.17 (objdump -T, as build-wheel.sh); it exports its crate's
# UniFFI functions.
#
# Environment: OFFLINE_AUTH_NATIVES_DIR (default <target dir>/release-natives),
# CARGO_TARGET_DIR, CARGO_BUILD_JOBS. Needs the aarch64 Rust target (rustup
# target add aarch64-unknown-linux-gnu) and Debian's binutils-aarch64-linux-gnu
# (scripts/test.sh's setup installs both).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
OUT="${OFFLINE_AUTH_NATIVES_DIR:-$TARGET_DIR/release-natives}"
MAX_GLIBC=2.17
MODULES=(offline-auth offline-auth-backend)

log() { printf '[release-natives] %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

from=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --from) from+=("${2:?--from needs a directory}"); shift ;;
        *) die "unknown argument: $1 (use [--from DIR]...)" ;;
    esac
    shift
done

# Rust target -> JNA resource prefix, and the ELF machine readelf names.
declare -A PREFIX=([x86_64-unknown-linux-gnu]=linux-x86-64 [aarch64-unknown-linux-gnu]=linux-aarch64)
declare -A MACHINE=([linux-x86-64]='Advanced Micro Devices X86-64' [linux-aarch64]='AArch64')

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
rm -rf "$OUT/jna"
mkdir -p "$OUT/wheels" "$OUT/jna"

TARGETS=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu)
targets=()
for target in "${TARGETS[@]}"; do targets+=(--target "$target"); done
log "one release build: build-wheel.sh --no-test ${targets[*]}"
bash "$REPO_ROOT/platforms/python/build-wheel.sh" --no-test "${targets[@]}" "$OUT/wheels"

for target in "${TARGETS[@]}"; do
    prefix="${PREFIX[$target]}"
    for module in "${MODULES[@]}"; do
        package="${module//-/_}"
        lib="lib$package.so"
        wheel="$(ls "$OUT/wheels/$package"-*"_${target%%-*}.whl")"
        mkdir -p "$OUT/jna/$module/$prefix"
        unzip -p "$wheel" "$package/_uniffi/$lib" > "$OUT/jna/$module/$prefix/$lib" ||
            die "$(basename "$wheel") has no $package/_uniffi/$lib"
        staged="$OUT/jna/$module/$prefix/$lib"
        machine="$(readelf -h "$staged" | sed -n 's/^ *Machine: *//p')"
        [[ "$machine" == "${MACHINE[$prefix]}" ]] || die "$staged: machine '$machine', not ${MACHINE[$prefix]}"
        if grep -q '\.debug_info' <<<"$(readelf -S "$staged")"; then die "$staged still has debug info"; fi
        newest="$(objdump -T "$staged" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/^GLIBC_//' | sort -u -V | tail -n 1)"
        [[ "$(printf '%s\n%s\n' "$newest" "$MAX_GLIBC" | sort -V | tail -n 1)" == "$MAX_GLIBC" ]] ||
            die "$staged needs GLIBC_$newest, more than $MAX_GLIBC"
        exported="$(objdump -T "$staged" | grep -c " uniffi_${package}_fn_" || true)"
        [[ "$exported" -gt 0 ]] || die "$staged exports no uniffi_${package}_fn_ function"
        log "ok   $module/$prefix/$lib: $machine, stripped, GLIBC_$newest at most, $exported UniFFI functions ($(du -h "$staged" | cut -f1))"
    done
done

# Natives from the hosted runners: JNA's names for macOS and Windows.
declare -A HOSTED=([darwin-aarch64]=dylib [darwin-x86-64]=dylib [win32-x86-64]=dll)
for dir in "${from[@]}"; do
    for module in "${MODULES[@]}"; do
        package="${module//-/_}"
        for prefix in darwin-aarch64 darwin-x86-64 win32-x86-64; do
            ext="${HOSTED[$prefix]}"
            if [[ $ext == dll ]]; then file="$package.dll"; else file="lib$package.dylib"; fi
            src="$dir/$module/$prefix/$file"
            [[ -f "$src" ]] || continue
            case "$ext" in
                dylib) [[ "$(head -c 4 "$src" | od -An -tx1 | tr -d ' ')" == cffaedfe ]] || die "$src is not a 64-bit Mach-O" ;;
                dll) [[ "$(head -c 2 "$src")" == MZ ]] || die "$src is not a PE file" ;;
            esac
            mkdir -p "$OUT/jna/$module/$prefix"
            cp "$src" "$OUT/jna/$module/$prefix/$file"
            log "ok   $module/$prefix/$file (from $dir)"
        done
    done
done

log "staged in $OUT/jna: $(cd "$OUT/jna/offline-auth" && ls | tr '\n' ' ')"
