#!/usr/bin/env bash
# Proves scripts/check-aar.sh can fail: builds a fake AAR around two tiny x86_64
# shared libraries, one linked for 16 KB pages and one for 4 KB pages, and
# asserts the check accepts the good AAR and rejects the bad one, a missing ABI,
# a missing proguard.txt and a manifest without USE_BIOMETRIC.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v gcc >/dev/null || { sudo apt-get install -y -qq gcc >/dev/null 2>&1 || apt-get install -y -qq gcc >/dev/null; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo 'int offline_auth_probe(void) { return 1; }' > "$work/lib.c"
gcc -shared -fPIC -o "$work/good.so" "$work/lib.c" -Wl,-z,max-page-size=16384
gcc -shared -fPIC -o "$work/bad.so" "$work/lib.c" -Wl,-z,max-page-size=4096

make_aar() { # <dir> <so>
    mkdir -p "$1"
    echo 'not empty' > "$1/classes.jar"
    printf '<manifest package="dev.offlineauth.android">\n<uses-permission android:name="android.permission.USE_BIOMETRIC"/>\n</manifest>\n' > "$1/AndroidManifest.xml"
    cp "$here/../platforms/android/consumer-rules.pro" "$1/proguard.txt"
    for abi in arm64-v8a armeabi-v7a x86_64 x86; do
        mkdir -p "$1/jni/$abi"; cp "$2" "$1/jni/$abi/liboffline_auth.so"
    done
}
expect() { # <ok|fail> <what> <args...>
    local want=$1 what=$2; shift 2
    if bash "$here/check-aar.sh" "$@" >"$work/out" 2>&1; then got=ok; else got=fail; fi
    if [ "$got" != "$want" ]; then echo "FAIL: $what: expected $want, got $got"; cat "$work/out"; exit 1; fi
    echo "ok: $what ($want)"
}

make_aar "$work/good" "$work/good.so"
(cd "$work/good" && python3 -c 'import zipfile,os,sys
z=zipfile.ZipFile(sys.argv[1],"w")
for r,_,fs in os.walk("."):
    for f in fs: z.write(os.path.join(r,f))' "$work/good.aar")
expect ok "16 KB-aligned AAR (zip)" "$work/good.aar"
expect ok "16 KB-aligned AAR (folder) plus a good extra .so" "$work/good" "$work/good.so"
expect fail "an extra 4 KB-aligned .so" "$work/good" "$work/bad.so"
expect fail "4 KB-aligned .so alone" --so-only "$work/bad.so"
make_aar "$work/bad" "$work/bad.so"
expect fail "AAR with 4 KB-aligned libraries" "$work/bad"
cp -r "$work/good" "$work/noabi"; rm -r "$work/noabi/jni/armeabi-v7a"
expect fail "AAR without armeabi-v7a" "$work/noabi"
cp -r "$work/good" "$work/norules"; rm "$work/norules/proguard.txt"
expect fail "AAR without proguard.txt" "$work/norules"
cp -r "$work/good" "$work/noperm"; echo '<manifest/>' > "$work/noperm/AndroidManifest.xml"
expect fail "AAR whose manifest lacks USE_BIOMETRIC" "$work/noperm"
cp -r "$work/good" "$work/nox86"; rm -r "$work/nox86/jni/x86"
expect fail "AAR without x86 (JNA ships libjnidispatch.so for it)" "$work/nox86"
cp -r "$work/good" "$work/badother"; cp "$work/bad.so" "$work/badother/jni/arm64-v8a/libother.so"
expect fail "AAR with another 4 KB-aligned .so beside ours" "$work/badother"
zip_dir() { (cd "$1" && python3 -c 'import zipfile,os,sys
z=zipfile.ZipFile(sys.argv[1],"w")
for r,_,fs in os.walk("."):
    for f in fs: z.write(os.path.join(r,f))' "$2"); }
# A dependency AAR shaped as JNA's: jni/<abi>/libjnidispatch.so.
for variant in good bad; do
    mkdir -p "$work/jna-$variant/jni/x86" "$work/jna-$variant/jni/arm64-v8a"
    cp "$work/$variant.so" "$work/jna-$variant/jni/x86/libjnidispatch.so"
    cp "$work/good.so" "$work/jna-$variant/jni/arm64-v8a/libjnidispatch.so"
    zip_dir "$work/jna-$variant" "$work/jna-$variant.aar"
done
expect ok "a 16 KB-aligned dependency AAR whose ABIs we all ship" "$work/good" "$work/jna-good.aar"
mkdir -p "$work/jna-legacy/jni/mips"; cp "$work/good.so" "$work/jna-legacy/jni/mips/libjnidispatch.so"
zip_dir "$work/jna-legacy" "$work/jna-legacy.aar"
expect ok "a dependency AAR with an ABI no minSdk 28 device uses (mips)" "$work/good" "$work/jna-legacy.aar"
expect fail "a dependency AAR with a 4 KB-aligned libjnidispatch.so" "$work/good" "$work/jna-bad.aar"
mkdir -p "$work/jna-extra/jni/riscv64"; cp "$work/good.so" "$work/jna-extra/jni/riscv64/libjnidispatch.so"
zip_dir "$work/jna-extra" "$work/jna-extra.aar"
expect fail "a dependency AAR with an ABI we do not ship (riscv64)" "$work/good" "$work/jna-extra.aar"
echo "check-aar self-test passed"
