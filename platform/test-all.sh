#!/usr/bin/env bash
# platform/test-all.sh: every check of the platform adapters and demos.
#
#   1. android-adapter   platform/android: compile the Android bindings + AndroidKeystore
#                        against android-all (API 34), JVM unit tests, install the jar
#   2. android-app       kotlin-demo/android-app: compile check of the app's Kotlin sources
#   3. kotlin-demo       kotlin-demo/run.sh: the story on the JVM against the reference server
#   4. swift-demo        swift-demo/run.sh: the story in Swift (Linux: in the Debian chroot)
#   5. apple-target      bindings/swift: the OfflineAuthApple target resolves and builds
#                        (empty on Linux: AppleKeystore and AppleClock are behind `#if canImport(Security)`)
#
# Runs every step even after a failure; exits non-zero if any failed; the last
# line is "platform: N passed, N failed". Installs what it needs: Maven and a
# JDK from Debian if missing, the staged native library (bindings/generate.sh),
# the Swift chroot (bindings/swift-chroot.sh, needs root). Needs cargo.
# Logs: $PLATFORM_LOG_DIR (default target/platform-logs).
set -uo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT" || exit 1
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
LOGS="${PLATFORM_LOG_DIR:-$REPO_ROOT/target/platform-logs}"
mkdir -p "$LOGS"

passed=0
failed=0
failures=()

log() { printf '[platform] %s\n' "$*"; }

# step NAME COMMAND...: runs COMMAND with its output in $LOGS/NAME.log.
step() {
    local name="$1"; shift
    local start rc
    start=$(date +%s)
    log "$name: $*"
    "$@" >"$LOGS/$name.log" 2>&1
    rc=$?
    if [[ $rc -eq 0 ]]; then
        passed=$((passed + 1))
        log "$name: ok in $(( $(date +%s) - start )) s"
    else
        failed=$((failed + 1))
        failures+=("$name")
        log "$name: FAILED (exit $rc) in $(( $(date +%s) - start )) s; last lines of $LOGS/$name.log:"
        tail -n 25 "$LOGS/$name.log" | sed 's/^/    /'
    fi
}

ensure_tools() {
    local missing=()
    command -v mvn >/dev/null || missing+=(maven)
    command -v java >/dev/null && command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
    if [[ ${#missing[@]} -gt 0 ]]; then
        log "installing ${missing[*]} (apt-get)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" || return 1
    fi
    command -v cargo >/dev/null || { log "cargo is required (install Rust with rustup)"; return 1; }
    if [[ ! -f bindings/.native/stripped/liboffline_auth.so || ! -f bindings/.native/liboffline_auth.so ]]; then
        log "staging the native library (bindings/generate.sh)"
        bash bindings/generate.sh || return 1
    fi
}

start_all=$(date +%s)
step setup ensure_tools
step android-adapter mvn -B -ntp -f platform/android/pom.xml install
step android-app mvn -B -ntp -f kotlin-demo/android-app/compile-check/pom.xml compile
step kotlin-demo bash kotlin-demo/run.sh
step swift-demo bash swift-demo/run.sh
step apple-target bash bindings/swift-chroot.sh run bindings/swift swift build --target OfflineAuthApple

# Test counts from the Android unit tests, for the record.
grep -h "Tests run:" "$LOGS/android-adapter.log" 2>/dev/null | tail -n 1 | sed 's/^/[platform] android unit tests: /'
log "total $(( $(date +%s) - start_all )) s; logs in $LOGS"
[[ $failed -eq 0 ]] || log "failed: ${failures[*]}"
echo "platform: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
