#!/usr/bin/env bash
# Cross-language FFI figures: the calls benches/calls.rs times from Rust
# (a trivial method, a 256-byte get, a 100-field form read and written in
# one crossing and in 100), timed through the generated bindings from Python
# (benches/ffi_python.py), Kotlin/JVM (benches/ffi_jvm, JNA) and Swift
# (benches/ffi_swift, `swift run -c release`; on Linux in the Swift chroot of
# scripts/tooling/swift-chroot.sh, which needs root), every language loading
# the RELEASE-profile device library.
#
#   bash crates/offline-auth/benches/ffi_compare.sh [WORK_DIR]
#
# Writes WORK_DIR/ffi-python.txt, ffi-jvm.txt and ffi-swift.txt (one `ffi_<lang>
# name_ns=…` line each; compare.sh reads them beside the Rust figures) and
# prints them. A language whose toolchain is missing is skipped with a
# message, never faked.
# Needs cargo and python3; the JVM figures need mvn and java.
set -euo pipefail
cd "$(dirname "$0")/../../.."
WORK="${1:-$(mktemp -d)}"
mkdir -p "$WORK"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
RELEASE="$TARGET_DIR/release"
step() { printf '\n== %s ==\n' "$1" >&2; }

step "release-profile libraries"
nice cargo build --locked --release --lib -p offline-auth >&2
nice cargo build --locked --release --lib -p offline-auth-backend --features ffi >&2

step "Python→Rust (platforms/python bindings, release libraries staged in their place)"
# generate.sh stages the dev-profile libraries (library mode reads their
# metadata); the figures load the release-profile ones instead.
if bash platforms/python/generate.sh >&2; then
  cp "$RELEASE/liboffline_auth.so" platforms/python/offline-auth/offline_auth/
  cp "$RELEASE/liboffline_auth_backend.so" platforms/python/offline-auth-backend/offline_auth_backend/
  python3 crates/offline-auth/benches/ffi_python.py | tee "$WORK/ffi-python.txt" || echo "python figures failed" >&2
else
  echo "python bindings not generated: no Python figures" >&2
fi

step "Kotlin/JVM→Rust (JNA, -Djna.library.path holding the release device library)"
# Only the device library comes from the release build: the backend (which
# only issues the grant here) loads from its jar, whose bindings were made
# from the dev build (the release backend library lacks one symbol they
# register).
mkdir -p "$WORK/jna"
ln -sf "$RELEASE/liboffline_auth.so" "$WORK/jna/liboffline_auth.so"
if command -v mvn >/dev/null && command -v java >/dev/null; then
  BENCH_POM=crates/offline-auth/benches/ffi_jvm/pom.xml
  if mvn -B -q -ntp -f platforms/jvm/pom.xml install -DskipTests >&2 \
     && mvn -B -q -ntp -f "$BENCH_POM" package >&2 \
     && mvn -B -q -ntp -f "$BENCH_POM" dependency:build-classpath -Dmdep.outputFile="$WORK/jvm-cp.txt" >&2; then
    java -Djna.library.path="$WORK/jna" -Djna.nosys=true -Xms128m -Xmx128m \
      -cp "crates/offline-auth/benches/ffi_jvm/target/classes:$(cat "$WORK/jvm-cp.txt")" FfiBenchKt \
      | tee "$WORK/ffi-jvm.txt" || echo "JVM figures failed" >&2
  else
    echo "JVM artifacts or the bench did not build: no Kotlin figures" >&2
  fi
else
  echo "mvn/java not on PATH: no Kotlin figures" >&2
fi

step "Swift→Rust (platforms/apple bindings, release device library via OFFLINE_AUTH_LIB_DIR)"
# The backend is no Swift product: the grant, JWKS and sync key come from the
# Python backend package generated above. Linux only (on macOS the package
# links the XCFramework).
SW=crates/offline-auth/benches/ffi_swift
if [[ "$(uname -s)" == Linux && $(id -u) == 0 ]] && python3 - "$WORK" <<'PY' >&2
import sys, time
sys.path[0:0] = ["platforms/python/offline-auth-backend"]
import offline_auth_backend as backend
issuer = backend.GrantIssuer.generate("issuer-1")
now = int(time.time())
for name, text in (("jwks", backend.jwks_from_issuer_keys([issuer.issuer_key()])),
                   ("grant", issuer.issue("amira", "tablet-42", ["inspections"], now, now + 86_400)),
                   ("sync-key", backend.generate_sync_key().hex())):
    open(f"{sys.argv[1]}/swift-{name}.txt", "w").write(text)
PY
then
  bash platforms/apple/generate.sh --device-only >&2
  rm -rf "$SW/.native" && mkdir -p "$SW/.native"
  cp "$RELEASE/liboffline_auth.so" "$SW/.native/"
  # The vault on tmpfs, like the Rust and Python figures (fsync-free: the
  # write rows measure the calls, not the disk).
  bash scripts/tooling/swift-chroot.sh ensure >&2
  shm="$(bash scripts/tooling/swift-chroot.sh path)/dev/shm"
  mountpoint -q "$shm" || mount -t tmpfs -o size=256m tmpfs "$shm"
  bash scripts/tooling/swift-chroot.sh run "$SW" env OFFLINE_AUTH_LIB_DIR="/repo/$SW/.native" \
      swift run -c release FfiBench "$(cat "$WORK/swift-jwks.txt")" "$(cat "$WORK/swift-grant.txt")" \
      "$(cat "$WORK/swift-sync-key.txt")" /dev/shm/offline-auth-ffi-bench \
    | grep '^ffi_swift ' | tee "$WORK/ffi-swift.txt" || echo "Swift figures failed" >&2
  umount "$shm" || true
else
  echo "no Swift figures: they need Linux, root (the Swift chroot) and the Python backend package" >&2
fi
