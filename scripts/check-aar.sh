#!/usr/bin/env bash
# Checks an Android library (AAR file, or the unpacked folder) for what apps need:
#   classes.jar, AndroidManifest.xml, proguard.txt (the consumer R8 rules) and
#   jni/<abi>/liboffline_auth.so for arm64-v8a, armeabi-v7a, x86_64 and x86;
# then checks that every ELF LOAD segment of every shared library in the AAR
# (every jni/*/*.so, not only ours), plus any .so given after it, is aligned
# to at least 16384 bytes, as Android 15+ devices with 16 KB pages require.
# A dependency AAR given after it (JNA's, whose libjnidispatch.so apps install
# beside ours) has every .so checked the same way, and each ABI it ships that
# an Android 9+ device can select must have our library too: an app would
# otherwise install JNA for an ABI we lack, and fail there with
# UnsatisfiedLinkError. (JNA 5.17.0 also ships armeabi, mips and mips64, which
# no device at our minSdk 28 uses: noted, not required.)
# Usage: scripts/check-aar.sh <aar-or-dir> [extra.so | dependency.aar ...]
#        scripts/check-aar.sh --so-only <lib.so> [...]   (alignment check only)
# Exits non-zero on the first kind of failure found, after listing all failures.
set -euo pipefail

MIN_ALIGN=16384
ABIS=(arm64-v8a armeabi-v7a x86_64 x86)
fail=0
problem() { echo "check-aar: $*" >&2; fail=1; }

# Largest power-of-two alignment every PT_LOAD segment of an ELF file declares (minimum
# over segments), read with python3 so no binutils for foreign architectures are needed.
load_alignment() {
    python3 - "$1" <<'PY'
import struct, sys
path = sys.argv[1]
with open(path, "rb") as f:
    data = f.read()
if data[:4] != b"\x7fELF":
    print("not-elf"); sys.exit(0)
cls, endian = data[4], data[5]
e = "<" if endian == 1 else ">"
if cls == 2:
    phoff, = struct.unpack_from(e + "Q", data, 0x20)
    phentsize, phnum = struct.unpack_from(e + "HH", data, 0x36)
else:
    phoff, = struct.unpack_from(e + "I", data, 0x1C)
    phentsize, phnum = struct.unpack_from(e + "HH", data, 0x2A)
aligns = []
for i in range(phnum):
    off = phoff + i * phentsize
    ptype, = struct.unpack_from(e + "I", data, off)
    if ptype != 1:  # PT_LOAD
        continue
    if cls == 2:
        align, = struct.unpack_from(e + "Q", data, off + 0x30)
    else:
        align, = struct.unpack_from(e + "I", data, off + 0x1C)
    aligns.append(align)
print(min(aligns) if aligns else "no-load")
PY
}

check_so() {
    local so=$1 align
    [ -f "$so" ] || { problem "missing shared library: $so"; return; }
    align=$(load_alignment "$so")
    case "$align" in
        not-elf) problem "$so is not an ELF file" ;;
        no-load) problem "$so has no LOAD segment" ;;
        *) if [ "$align" -lt "$MIN_ALIGN" ]; then
               problem "$so: LOAD segment alignment $align < $MIN_ALIGN (link with -z max-page-size=16384)"
           else
               echo "ok: $so LOAD alignment $align"
           fi ;;
    esac
}

[ $# -ge 1 ] || { echo "usage: $0 <aar-or-dir> [extra.so ...] | --so-only <lib.so>..." >&2; exit 2; }

if [ "$1" = "--so-only" ]; then
    shift
    for so in "$@"; do check_so "$so"; done
    exit $fail
fi

target=$1; shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -d "$target" ]; then
    dir=$target
elif [ -f "$target" ]; then
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$target" "$work" \
        || { echo "check-aar: $target is not a zip archive" >&2; exit 1; }
    dir=$work
else
    echo "check-aar: no such AAR or folder: $target" >&2; exit 1
fi

for f in classes.jar AndroidManifest.xml proguard.txt; do
    [ -s "$dir/$f" ] || problem "$f missing or empty"
done
if [ -s "$dir/AndroidManifest.xml" ] && ! grep -q 'android.permission.USE_BIOMETRIC' "$dir/AndroidManifest.xml"; then
    problem "AndroidManifest.xml does not declare USE_BIOMETRIC (apps would lose it on merge)"
fi
if [ -s "$dir/proguard.txt" ] && ! grep -q 'com.sun.jna' "$dir/proguard.txt"; then
    problem "proguard.txt has no JNA keep rules"
fi
for abi in "${ABIS[@]}"; do
    [ -f "$dir/jni/$abi/liboffline_auth.so" ] || problem "missing shared library: jni/$abi/liboffline_auth.so"
done
for so in "$dir"/jni/*/*.so; do
    [ -e "$so" ] && check_so "$so"
done
n=0
for extra in "$@"; do
    case "$extra" in
        *.aar)
            n=$((n + 1))
            dep="$work/dependency-$n"
            mkdir -p "$dep"
            python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$extra" "$dep" \
                || { problem "$extra is not a zip archive"; continue; }
            for so in "$dep"/jni/*/*.so; do
                [ -e "$so" ] || continue
                check_so "$so"
                abi=$(basename "$(dirname "$so")")
                case "$abi" in
                    # No Android 9+ (minSdk 28) device selects these: nothing of ours can be missing there.
                    armeabi|mips|mips64) echo "note: $(basename "$extra") also ships jni/$abi (no device at minSdk 28 uses it)" ;;
                    *) [ -f "$dir/jni/$abi/liboffline_auth.so" ] ||
                           problem "$(basename "$extra") ships jni/$abi/$(basename "$so") but the AAR has no jni/$abi/liboffline_auth.so" ;;
                esac
            done ;;
        *) check_so "$extra" ;;
    esac
done
[ $fail -eq 0 ] && echo "check-aar: $target is complete"
exit $fail
