#!/usr/bin/env bash
# Build the library, check the generated bindings are current, and run the
# Kotlin (Maven), Swift (SwiftPM in a Debian trixie chroot) and Python (pytest)
# binding tests. Installs what is missing (Maven/JDK/pytest/debootstrap via the
# ordinary package clients, Maven dependencies, the Swift chroot).
#
#   bindings/test-all.sh [--rust] [--regenerate] [--only kotlin|swift|python]
#
#   --rust         also run the Rust test suite (cargo test) first
#   --regenerate   regenerate the bindings (bindings/generate.sh) instead of
#                  failing when they are stale (--check, the default and CI's mode)
#   --only LANG    run one language's tests (repeatable)
#
# Every section runs even if an earlier one failed; the script exits non-zero
# if any failed and ends with one line: "bindings: N passed, N failed".
# Needs root for the Swift chroot (mount, chroot).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BINDINGS="$REPO_ROOT/bindings"
LOG_DIR="$(mktemp -d)"
trap 'rm -rf "$LOG_DIR"' EXIT

run_rust=0
gen_mode=--check
only=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rust) run_rust=1 ;;
        --regenerate) gen_mode="" ;;
        --only) shift; only+=("${1:?--only needs a language}") ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
wanted() { [[ ${#only[@]} -eq 0 ]] || [[ " ${only[*]} " == *" $1 "* ]]; }

total_passed=0
total_failed=0
failed_sections=()
timings=()

banner() {
    printf '\n==================================================================\n'
    printf '== %s\n' "$*"
    printf '==================================================================\n'
}

# section NAME COUNT_FN COMMAND...: runs COMMAND with its output shown and
# logged; COUNT_FN reads the log and prints "passed failed".
section() {
    local name="$1" counter="$2"; shift 2
    local log="$LOG_DIR/$name.log" rc=0 start secs counts passed failed
    banner "$name"
    start=$(date +%s)
    "$@" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
    secs=$(( $(date +%s) - start ))
    counts="$("$counter" "$log" 2>/dev/null || true)"
    passed="${counts%% *}"; failed="${counts##* }"
    [[ "$passed" =~ ^[0-9]+$ ]] || passed=0
    [[ "$failed" =~ ^[0-9]+$ ]] || failed=0
    if [[ $rc -ne 0 && $failed -eq 0 ]]; then failed=1; fi  # e.g. a build error: no test counts
    total_passed=$(( total_passed + passed ))
    total_failed=$(( total_failed + failed ))
    timings+=("$(printf '%-8s %4d s  %s passed, %s failed  (exit %d)' "$name" "$secs" "$passed" "$failed" "$rc")")
    if [[ $rc -ne 0 ]]; then
        failed_sections+=("$name")
        printf '== %s: FAILED (exit %d) after %d s\n' "$name" "$rc" "$secs"
    else
        printf '== %s: OK after %d s\n' "$name" "$secs"
    fi
}

# --- counters: "passed failed" from each runner's closing lines ---
count_none() { echo "0 0"; }
count_cargo() {  # sums "test result: ok. N passed; M failed"
    awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
         END { print p + 0, f + 0 }' "$1"
}
count_surefire() {  # the last "Tests run: N, Failures: F, Errors: E, Skipped: S" (the Results total)
    grep -E 'Tests run: [0-9]+, Failures: [0-9]+, Errors: [0-9]+, Skipped: [0-9]+$' "$1" | tail -n 1 |
        sed -E 's/.*Tests run: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+), Skipped: ([0-9]+).*/\1 \2 \3 \4/' |
        awk '{ print $1 - $2 - $3 - $4, $2 + $3 }'
}
count_xctest() {  # "Executed N tests, with F failures" of the 'All tests' suite (the last one)
    grep -E 'Executed [0-9]+ tests?, with [0-9]+ failures?' "$1" | tail -n 1 |
        sed -E 's/.*Executed ([0-9]+) tests?, with ([0-9]+) failures?.*/\1 \2/' | awk '{ print $1 - $2, $2 }'
}
count_pytest() {  # the closing "N passed, M failed, K error(s)" line
    grep -E '^(=+ )?[0-9]+ (passed|failed|errors?)' "$1" | tail -n 1 |
        awk '{ for (i = 2; i <= NF; i++) { w = $i; gsub(/[^a-z]/, "", w); n = $(i-1) + 0
                   if (w == "passed") p += n; else if (w == "failed" || w == "error" || w == "errors") f += n } }
             END { print p + 0, f + 0 }'
}

# --- prerequisites (a fresh machine installs them here) ---
apt_updated=0
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if [[ $apt_updated -eq 0 ]]; then apt-get update; apt_updated=1; fi
    apt-get install -y --no-install-recommends "$@"
}
prerequisites() {
    # (Runs where `set -e` is suspended: every step checks its own status.)
    command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; return 1; }
    cargo --version || return 1
    if wanted kotlin; then
        command -v javac >/dev/null || apt_install openjdk-17-jdk-headless || return 1
        command -v mvn >/dev/null || apt_install maven || return 1
        java -version 2>&1 | head -n 1
        mvn -v 2>/dev/null | head -n 1
    fi
    if wanted python; then
        command -v python3 >/dev/null || apt_install python3 python3-pip || return 1
        if ! python3 -m pytest --version >/dev/null 2>&1; then
            python3 -m pip install pytest || python3 -m pip install --break-system-packages pytest || return 1
        fi
        python3 -m pytest --version || return 1
    fi
    if wanted swift; then
        "$BINDINGS/swift-chroot.sh" ensure || return 1
    fi
    bash -n "$BINDINGS/generate.sh" "$BINDINGS/swift-chroot.sh" "$BINDINGS/swift/build-xcframework.sh" "$0" || return 1
    echo "prerequisites ready"
}

cd "$REPO_ROOT"
overall_start=$(date +%s)

section setup count_none prerequisites

if [[ $run_rust -eq 1 ]]; then
    section rust count_cargo cargo test
fi

# Builds the library + uniffi-bindgen, checks (or rewrites) the committed
# bindings, and stages the .so the tests load.
section generate count_none "$BINDINGS/generate.sh" ${gen_mode:+"$gen_mode"}

if wanted kotlin; then
    # verify = compile, test, package; then the jar is used from plain Java outside Maven.
    section kotlin count_surefire bash -c 'cd "$1/kotlin" && timeout 1200 mvn -B -ntp verify && timeout 300 jar-smoke/jar-smoke.sh --no-build' _ "$BINDINGS"
fi
if wanted swift; then
    section swift count_xctest timeout 1800 "$BINDINGS/swift-chroot.sh" run bindings/swift \
        swift test --disable-swift-testing
fi
if wanted python; then
    section python count_pytest bash -c 'cd "$1/python" && timeout 900 python3 -m pytest -p no:cacheprovider -q -s' _ "$BINDINGS"
    # The wheel (stripped library inside), installed in a fresh venv and imported.
    section wheel count_none bash -c 'timeout 600 "$1/python/build-wheel.sh" "$2"' _ "$BINDINGS" "$LOG_DIR/wheel"
fi

banner "summary ($(( $(date +%s) - overall_start )) s)"
printf '%s\n' "${timings[@]}"
if [[ ${#failed_sections[@]} -gt 0 ]]; then
    echo "FAILED sections: ${failed_sections[*]}"
fi
echo "bindings: $total_passed passed, $total_failed failed"
[[ ${#failed_sections[@]} -eq 0 ]]
