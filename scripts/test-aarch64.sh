#!/usr/bin/env bash
# The Linux aarch64 packages, tested on this x86-64 machine under qemu-user
# (Debian's qemu-user: user-mode emulation, one aarch64 process on the host's
# kernel):
#
#   1. the aarch64 wheels (manylinux_2_17_aarch64, from
#      scripts/build-release-natives.sh) installed for an aarch64 CPython, which
#      runs the binding tests (platforms/python/tests: a subset, see
#      PYTEST_SUBSET; OFFLINE_AUTH_AARCH64_TESTS=all for every one) against them;
#   2. the release jars (platforms/jvm/build-release-jars.sh) loaded by an
#      aarch64 JVM, which runs the jar smoke test (platforms/jvm/jar-smoke):
#      JNA finds linux-aarch64/ in each jar.
#
#   scripts/test-aarch64.sh setup            prerequisites (network: apt, pip, rustup); scripts/test.sh's setup
#   scripts/test-aarch64.sh setup-toolchain  only what building the aarch64 natives needs
#   scripts/test-aarch64.sh run              the tests (no network)
#
# The aarch64 CPython and JVM are Debian's arm64 packages, unpacked (dpkg -x)
# into a tree under the cargo target dir, which qemu-aarch64 -L uses as the
# root for the dynamic loader and libraries; nothing of arm64 is installed on
# the host (apt-get download needs the arm64 package lists: setup adds the
# architecture). The pure-Python test requirements and cryptography's aarch64
# wheel come from the host's pip (--platform, --target). Both are rebuilt
# only when this script's package lists change.
#
# Environment: CARGO_TARGET_DIR; OFFLINE_AUTH_RELEASE_JARS_BUILT=1 when the
# jars were just built (scripts/test.sh's jvm-release section), else this
# builds them (build-release-jars.sh, which builds the natives).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
mkdir -p "$TARGET_DIR"
TARGET_DIR="$(cd "$TARGET_DIR" && pwd)"
PY_DIR="$REPO_ROOT/platforms/python"
JVM_DIR="$REPO_ROOT/platforms/jvm"
SYSROOT="$TARGET_DIR/aarch64-sysroot"
NATIVES="${OFFLINE_AUTH_NATIVES_DIR:-$TARGET_DIR/release-natives}"

# Debian arm64 packages of the tree: CPython 3.11 with ctypes (libffi), and the
# headless JRE with the C++ runtime it links.
DEBS=(libc6 libgcc-s1 libstdc++6 zlib1g libexpat1 libffi8
      python3.11-minimal libpython3.11-minimal libpython3.11-stdlib
      openjdk-17-jre-headless)
# The binding tests run under emulation about 15 times slower than natively
# (all of platforms/python/tests: 20 s native, over 5 minutes here). The
# subset keeps every kind of crossing of the aarch64 library's ABI: each
# foreign trait called from Rust (keystore, attestor, signer, logger,
# listener), async calls, Rust threads calling into Python, every error type
# and its fields, records, byte and string buffers, both libraries together;
# it leaves out the suites that repeat those crossings many times over (the
# 100 000-call leak test, the attempt-limit and clock scenarios of
# test_offline_auth.py and test_security_events.py), which run natively in the
# python and python-wheel sections against the same Python code.
# OFFLINE_AUTH_AARCH64_TESTS=all runs the whole suite (60 tests passed so).
PYTEST_SUBSET=(test_backend.py test_error_messages.py test_records_redact_values.py test_readme_example.py
               test_async_calls.py test_attestation_verifier.py test_attestor.py test_escrowed_edits.py
               test_logs_reach_the_apps_logger.py test_remote_directives.py test_revoked_device_uploads.py
               test_offline_auth.py::test_full_cycle_with_python_keystore
               test_offline_auth.py::test_session_and_vault_from_many_threads)
PYTHON=(qemu-aarch64 -L "$SYSROOT/root" "$SYSROOT/root/usr/bin/python3.11")
JAVA=(qemu-aarch64 -L "$SYSROOT/root" "$SYSROOT/root/usr/lib/jvm/java-17-openjdk-arm64/bin/java")

log() { printf '[aarch64] %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

apt_updated=0
# What building the aarch64 natives needs: the Rust target, and binutils that
# read aarch64 ELF (strip); qemu-user for the tests.
setup_toolchain() {
    export DEBIAN_FRONTEND=noninteractive
    if ! command -v qemu-aarch64 >/dev/null || ! command -v aarch64-linux-gnu-strip >/dev/null; then
        timeout 300 apt-get update -qq; apt_updated=1
        timeout 600 apt-get install -y -qq --no-install-recommends qemu-user binutils-aarch64-linux-gnu
    fi
    command -v rustup >/dev/null || die "no rustup: add the Rust target aarch64-unknown-linux-gnu by hand"
    rustup target list --installed | grep -qx aarch64-unknown-linux-gnu ||
        timeout 600 rustup target add aarch64-unknown-linux-gnu
}

setup() {
    setup_toolchain
    local stamp
    stamp="$(printf '%s\n' "${DEBS[@]}"; cat "$PY_DIR/requirements-test.txt")"
    if [[ -f "$SYSROOT/stamp" && "$(cat "$SYSROOT/stamp")" == "$stamp" ]]; then
        log "aarch64 tree up to date: $SYSROOT"
        return 0
    fi
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        dpkg --add-architecture arm64; apt_updated=0
    fi
    [[ $apt_updated == 1 ]] || timeout 300 apt-get update -qq
    rm -rf "$SYSROOT"
    mkdir -p "$SYSROOT/root" "$SYSROOT/site"
    log "apt-get download ${DEBS[*]} (arm64)"
    # apt's download user cannot write into root's directories: fetch in a temporary one.
    local tmp
    tmp="$(mktemp -d)"; chmod 755 "$tmp"; chown _apt "$tmp" 2>/dev/null || true
    (cd "$tmp" && timeout 600 apt-get download -q "${DEBS[@]/%/:arm64}")
    local deb
    for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$SYSROOT/root"; done
    rm -rf "$tmp"
    log "pip: the test requirements for an aarch64 CPython 3.11"
    timeout 600 python3 -m pip install --quiet --disable-pip-version-check --target "$SYSROOT/site" \
        --platform manylinux2014_aarch64 --python-version 3.11 --implementation cp --only-binary=:all: \
        -r "$PY_DIR/requirements-test.txt"
    "${PYTHON[@]}" -c 'import platform, ctypes; assert platform.machine() == "aarch64"' || die "the aarch64 CPython does not run"
    "${JAVA[@]}" -version 2>&1 | head -n 1
    printf '%s\n' "$stamp" > "$SYSROOT/stamp"
    log "aarch64 tree ready: $SYSROOT"
}

run() {
    [[ -f "$SYSROOT/stamp" ]] || die "no aarch64 tree: run $0 setup first"
    if [[ "${OFFLINE_AUTH_RELEASE_JARS_BUILT:-0}" != 1 ]]; then
        timeout 1500 bash "$JVM_DIR/build-release-jars.sh"
    fi
    work="$(mktemp -d)"   # global: the EXIT trap reads it
    trap 'rm -rf "$work"' EXIT

    # 1. Python: the aarch64 wheels beside the test requirements, tests from outside the source tree.
    local wheels=("$NATIVES"/wheels/*_aarch64.whl)
    [[ ${#wheels[@]} -eq 2 && -f "${wheels[0]}" ]] || die "expected 2 aarch64 wheels in $NATIVES/wheels"
    python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$work/site" \
        --platform manylinux2014_aarch64 --python-version 3.11 --implementation cp --only-binary=:all: "${wheels[@]}"
    log "pytest under qemu-aarch64 ($(basename "${wheels[0]}"), $(basename "${wheels[1]}"))"
    (cd "$work" && PYTHONPATH="$work/site:$SYSROOT/site" PYTHONDONTWRITEBYTECODE=1 OFFLINE_AUTH_TEST_INSTALLED=1 \
        timeout 900 "${PYTHON[@]}" - <<'PY'
import platform, offline_auth, offline_auth_backend
assert platform.machine() == "aarch64", platform.machine()
for package in (offline_auth, offline_auth_backend):
    assert "/site/" in package.__file__, package.__file__
print("aarch64 CPython imports both wheels:", offline_auth.__file__, offline_auth_backend.__file__)
PY
    )
    local tests=()
    if [[ "${OFFLINE_AUTH_AARCH64_TESTS:-subset}" == all ]]; then
        tests=("$PY_DIR/tests")
    else
        tests=("${PYTEST_SUBSET[@]/#/$PY_DIR/tests/}")
    fi
    (cd "$work" && PYTHONPATH="$work/site:$SYSROOT/site" PYTHONDONTWRITEBYTECODE=1 OFFLINE_AUTH_TEST_INSTALLED=1 \
        timeout 900 "${PYTHON[@]}" -m pytest -p no:cacheprovider -q -c "$PY_DIR/pytest.ini" --rootdir "$PY_DIR" "${tests[@]}")

    # 2. JVM: the release jars, JNA and kotlin-stdlib, an aarch64 JVM.
    local version cp="" module jar
    version=$(python3 -c 'import xml.etree.ElementTree as E; print(E.parse("'"$JVM_DIR"'/pom.xml").getroot().findtext("{http://maven.apache.org/POM/4.0.0}version"))')
    for module in offline-auth offline-auth-backend; do
        jar="$JVM_DIR/$module/target/$module-$version.jar"
        # (The listing whole: grep -q would stop early and fail the pipeline through unzip's SIGPIPE.)
        grep -qx "linux-aarch64/lib${module//-/_}.so" <<<"$(unzip -Z1 "$jar")" || die "$jar has no linux-aarch64/lib${module//-/_}.so"
        cp="$cp$jar:"
    done
    (cd "$JVM_DIR" && timeout 300 mvn -B -q -ntp -o -f offline-auth-backend/pom.xml dependency:build-classpath \
        -Dmdep.includeScope=runtime -Dmdep.outputFile="$work/cp.txt" > "$work/mvn.log" 2>&1) ||
        { cat "$work/mvn.log" >&2; die "mvn dependency:build-classpath failed"; }
    cp="$cp$(cat "$work/cp.txt")"
    javac -d "$work/classes" -cp "$cp" "$JVM_DIR/jar-smoke/JarSmoke.java"
    log "jar smoke test under qemu-aarch64"
    # -XX:TieredStopAtLevel=1: the C1 compiler only (less to translate for a short run).
    (cd "$work" && timeout 600 "${JAVA[@]}" -XX:TieredStopAtLevel=1 -Djna.nosys=true \
        -cp "$work/classes:$cp" JarSmoke)
    "${JAVA[@]}" -XshowSettings:properties -version 2>&1 | grep -q 'os.arch = aarch64' || die "the JVM is not aarch64"
    log "aarch64: wheels and jars passed under qemu-user"
}

case "${1:-}" in
    setup) setup ;;
    setup-toolchain) setup_toolchain ;;
    run) run ;;
    *) echo "usage: $0 setup|setup-toolchain|run" >&2; exit 2 ;;
esac
